"""One verdict: ``safeload.scan``, ``safeload scan`` (CLI) and the safe loaders decide the same on the same bytes.

A corpus of benign files from real writers and of the container attacks (THREATS F1-F3, C16) goes through
``safeload.scan(path)``, the CLI's exit code and every safe loader with its real loader behind it. A loader's
verdict is whether safeload refused (``UnsafeModelError``) before the real loader ran; what the real loader then
does with a file not meant for it (raise, return something) does not count. The marker file must stay absent.
"""

from __future__ import annotations

import gzip
import io
import os
import pickle
import sys
import tarfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import safeload
from safeload.cli import main as cli_main

sys.path.insert(0, str(Path(__file__).parent))

from zipcraft import shifted_split, zip64_split

torch = pytest.importorskip("torch")
joblib = pytest.importorskip("joblib")

pytestmark = pytest.mark.torch


class Evil:
    def __init__(self, cmd: str) -> None:
        self.cmd = cmd

    def __reduce__(self) -> tuple[Any, ...]:
        return os.system, (self.cmd,)


def _npy(value: Any) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.asarray(value), allow_pickle=True)
    return buf.getvalue()


def _object_npy(evil: Any) -> bytes:
    arr = np.empty(1, dtype=object)
    arr[0] = evil
    return _npy(arr)


def _tar(members: list[tuple[str, bytes]], first: str | None = None) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, data in ([(first, b"")] if first else []) + members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def corpus(tmp_path: Path, cmd: str) -> dict[str, tuple[bytes, bool]]:
    """name -> (bytes, malicious)."""
    out: dict[str, tuple[bytes, bool]] = {}
    buf = io.BytesIO()
    torch.save({"w": torch.ones(2)}, buf)
    out["torch.pt"] = (buf.getvalue(), False)
    buf = io.BytesIO()
    np.savez(buf, a=np.arange(3))
    out["arrays.npz"] = (buf.getvalue(), False)
    out["array.npy"] = (_npy(np.eye(2)), False)
    out["plain.pkl"] = (pickle.dumps({"a": [1, 2]}), False)
    joblib.dump({"a": np.arange(4)}, tmp_path / "j.joblib")
    out["plain.joblib"] = ((tmp_path / "j.joblib").read_bytes(), False)
    joblib.dump({"a": np.arange(4)}, tmp_path / "jz.joblib", compress=3)
    out["compressed.joblib"] = ((tmp_path / "jz.joblib").read_bytes(), False)
    out["legacy.tar"] = (_tar([("storages", pickle.dumps(0) + pickle.dumps([])), ("tensors", pickle.dumps(0)),
                               ("pickle", pickle.dumps({"a": 1}))]), False)

    evil_pickle = pickle.dumps({"w": Evil(cmd)}, protocol=2)
    meta = [("archive/version", b"3\n"), ("archive/byteorder", b"little")]
    out["f1-frame-first.pt"] = (_torch_zip(pickle.dumps({"w": Evil(cmd)}, protocol=4)[2:]), True)
    out["f2-tar-polyglot.pt"] = (_tar([("storages", evil_pickle), ("tensors", pickle.dumps(0)),
                                       ("pickle", pickle.dumps({}))], first="N."), True)
    out["f3-npz-split.npz"] = (zip64_split([("a.npy", _npy([1, 2]))], [("a.npy", _object_npy(Evil(cmd)))]), True)
    out["f3-torch-shifted.pt"] = (shifted_split([("archive/data.pkl", evil_pickle), *meta],
                                                [("archive/data.pkl", pickle.dumps({"w": 1})), *meta]), True)
    out["c16-pickle-then-zip.pkl"] = (evil_pickle + out["arrays.npz"][0], True)
    out["gzip-then-zip.joblib"] = (gzip.compress(pickle.dumps({"a": 1})) + out["f3-npz-split.npz"][0], True)
    return out


def _torch_zip(data_pkl: bytes) -> bytes:
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("archive/data.pkl", data_pkl)
        zf.writestr("archive/version", b"3\n")
    return buf.getvalue()


LOADERS: dict[str, Callable[[Path], Any]] = {
    "torch_load": lambda p: safeload.torch_load(p, weights_only=False),
    "torch_load(file)": lambda p: safeload.torch_load(io.BytesIO(p.read_bytes()), weights_only=False),
    "numpy_load": lambda p: safeload.numpy_load(p, allow_pickle=True),
    "joblib_load": safeload.joblib_load,
    "pickle_load": lambda p: safeload.pickle_load(io.BytesIO(p.read_bytes())),
}


def _refused(load: Callable[[Path], Any], path: Path) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            result = load(path)
        except safeload.UnsafeModelError:
            return True
        except Exception:  # noqa: BLE001 - the real loader rejecting a file not meant for it is "not refused"
            return False
    close = getattr(result, "close", None)
    if callable(close):
        close()
    return False


def test_scan_cli_and_loaders_agree(tmp_path: Path, marker: Any) -> None:
    for name, (raw, malicious) in corpus(tmp_path, marker.shell).items():
        path = tmp_path / name
        path.write_bytes(raw)
        unsafe = safeload.scan(path).verdict().value == "unsafe"
        assert unsafe == malicious, (name, safeload.scan(path).summary())
        assert cli_main(["scan", str(path), "-q", "--format", "json", "-o", str(tmp_path / "r.json")]) == \
            (1 if unsafe else 0), name
        for loader, load in LOADERS.items():
            assert _refused(load, path) == unsafe, (name, loader)
        assert not marker.exists(), f"{name}: a payload ran"
