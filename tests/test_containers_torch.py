"""``torch.load``'s own procedure against safeload (THREATS F1, F2): it unpickles ``data.pkl`` by name whatever its
first byte, and it tries ``tarfile`` before the pickle at offset 0.

Every malicious file is built here, proven to run its payload under the real ``torch.load`` (a proof file, not
the marker), then refused by ``safeload.scan`` and ``safeload.torch_load`` with the marker left absent; benign
controls load exactly as torch loads them.
"""

from __future__ import annotations

import contextlib
import io
import os
import pickle
import struct
import tarfile
import warnings
import zipfile
from pathlib import Path
from typing import Any

import pytest

import safeload
from safeload import Severity

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.torch


class Evil:
    def __init__(self, cmd: str) -> None:
        self.cmd = cmd

    def __reduce__(self) -> tuple[Any, ...]:
        return os.system, (self.cmd,)


def _body(cmd: str) -> bytes:
    return pickle.dumps({"w": Evil(cmd)}, protocol=2)


# Openings the C unpickler accepts that the sniffer used to call "not a pickle" (F1), each followed by a payload.
OPENINGS: dict[str, Any] = {
    "frame-without-proto": lambda cmd: pickle.dumps({"w": Evil(cmd)}, protocol=4)[2:],
    "empty-set": lambda cmd: b"\x8f0" + _body(cmd),
    "binunicode8": lambda cmd: b"\x8d" + struct.pack("<Q", 1) + b"a0" + _body(cmd),
    "int-hex": lambda cmd: b"I0x1\n0" + _body(cmd),
    "long-hex": lambda cmd: b"L0x1L\n0" + _body(cmd),
    "int-octal": lambda cmd: b"I010\n0" + _body(cmd),
    "int-nul": lambda cmd: b"I1\x00ignored\n0" + _body(cmd),
}


def torch_zip(data_pkl: bytes, *, name: str = "archive/data.pkl") -> bytes:
    prefix = name.split("/", maxsplit=1)[0]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(name, data_pkl)
        zf.writestr(f"{prefix}/version", b"3\n")
        zf.writestr(f"{prefix}/byteorder", b"little")
    return buf.getvalue()


def runs_under_torch(raw: bytes, proof: Path, path: Path | None = None) -> bool:
    with warnings.catch_warnings(), contextlib.suppress(Exception):  # the payload runs before any later failure
        warnings.simplefilter("ignore")
        torch.load(path if path is not None else io.BytesIO(raw), weights_only=False)
    return proof.exists()


def assert_refused(raw: bytes, tmp_path: Path, marker: Any, *, at_least: Severity = Severity.HIGH) -> None:
    path = tmp_path / "model.pt"
    path.write_bytes(raw)
    result = safeload.scan(path)
    assert result.max_severity is not None and result.max_severity >= at_least, result.summary(Severity.LOW)
    for source in (path, io.BytesIO(raw)):
        for weights_only in (False, True):
            with pytest.raises(safeload.UnsafeModelError):
                safeload.torch_load(source, weights_only=weights_only)
    assert not marker.exists()


# --- F1: torch.load unpickles data.pkl by name ------------------------------------------------------------
@pytest.mark.parametrize("opening", sorted(OPENINGS))
def test_data_pkl_is_walked_whatever_its_first_opcode(tmp_path: Path, marker: Any, opening: str) -> None:
    build = OPENINGS[opening]
    proof = tmp_path / "proof"
    assert runs_under_torch(torch_zip(build(f"touch {proof}")), proof), "torch.load did not run the payload"
    assert_refused(torch_zip(build(marker.shell)), tmp_path, marker, at_least=Severity.CRITICAL)


@pytest.mark.parametrize("name", ["archive/DATA.PKL", "Archive/Data.Pkl"])
def test_data_pkl_matched_case_insensitively(tmp_path: Path, marker: Any, name: str) -> None:
    build = OPENINGS["frame-without-proto"]
    proof = tmp_path / "proof"
    assert runs_under_torch(torch_zip(build(f"touch {proof}"), name=name), proof)
    assert_refused(torch_zip(build(marker.shell), name=name), tmp_path, marker, at_least=Severity.CRITICAL)


def test_data_pkl_that_is_not_a_pickle_is_only_noted() -> None:
    result = safeload.scan(torch_zip(b"just some text, not a pickle"))
    assert result.max_severity <= Severity.INFO, result.summary(Severity.LOW)
    assert any(f.rule_id == "SL207" and (f.subject or "").startswith("data:") for f in result.findings)


def test_legacy_first_pickle_with_frame_first(tmp_path: Path, marker: Any) -> None:
    build = OPENINGS["frame-without-proto"]
    proof = tmp_path / "proof"
    assert runs_under_torch(build(f"touch {proof}"), proof)
    assert_refused(build(marker.shell), tmp_path, marker, at_least=Severity.CRITICAL)


# --- F2: torch.load tries tarfile first ----------------------------------------------------------------------
def legacy_tar(members: list[tuple[str, bytes]], *, first: str | None = None, v7: bool = False,
               kinds: dict[str, bytes] | None = None) -> bytes:
    """A tar in torch's legacy layout. ``first``: an extra first member (its *name* may be a pickle); ``v7``:
    no ustar magic (tarfile still reads it); ``kinds``: member name -> tar type flag."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        entries = ([(first, b"")] if first is not None else []) + members
        for name, data in entries:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            if kinds and name in kinds:
                info.type = kinds[name]
            tar.addfile(info, io.BytesIO(data))
    raw = bytearray(buf.getvalue())
    if v7:
        for at in range(0, len(raw) - 512, 512):
            block = raw[at:at + 512]
            if block[257:262] == b"ustar":
                block[257:265] = bytes(8)
                block[148:156] = b" " * 8
                block[148:156] = b"%06o\0 " % (sum(block))
                raw[at:at + 512] = block
    return bytes(raw)


def legacy_members(storages: bytes) -> list[tuple[str, bytes]]:
    return [("storages", storages), ("tensors", pickle.dumps(0, protocol=2)),
            ("pickle", pickle.dumps({"a": 1}, protocol=2))]


@pytest.mark.parametrize(("first", "v7"), [("N.", False), ("K\x01.", False), (None, True)])
def test_tar_polyglot_is_scanned_as_tar_and_pickle(tmp_path: Path, marker: Any, first: str | None,
                                                   v7: bool) -> None:
    proof = tmp_path / "proof"
    proof_raw = legacy_tar(legacy_members(pickle.dumps(Evil(f"touch {proof}"), protocol=2)), first=first, v7=v7)
    proof_path = tmp_path / "proof.pt"
    proof_path.write_bytes(proof_raw)
    assert runs_under_torch(proof_raw, proof, proof_path), "torch.load did not run the tar payload"

    raw = legacy_tar(legacy_members(pickle.dumps(Evil(marker.shell), protocol=2)), first=first, v7=v7)
    if first is not None:
        assert pickle.loads(raw) is not None or first == "N."  # offset 0 really is a pickle
    result = safeload.scan(raw)
    assert "tar" in result.formats, result.summary(Severity.LOW)
    assert any(f.rule_id == "SL101" and "storages" in (f.location.member or "") for f in result.findings)
    assert_refused(raw, tmp_path, marker, at_least=Severity.CRITICAL)


def test_tar_member_of_unknown_type_is_scanned(tmp_path: Path, marker: Any) -> None:
    members = [("storages", pickle.dumps(0, protocol=2) + pickle.dumps([], protocol=2)),
               ("tensors", pickle.dumps(0, protocol=2)), ("pickle", pickle.dumps(Evil(marker.shell), protocol=2))]
    raw = legacy_tar(members, kinds={"pickle": b"Z"})   # tarfile hands out unknown types as regular files
    assert_refused(raw, tmp_path, marker, at_least=Severity.CRITICAL)


def test_tar_record_that_is_a_link_is_ambiguous() -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in [("storages", pickle.dumps(0) + pickle.dumps([])), ("tensors", pickle.dumps(0)),
                           ("other", pickle.dumps({"a": 1}))]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("pickle")
        link.type = tarfile.SYMTYPE
        link.linkname = "other"
        tar.addfile(link)
    result = safeload.scan(buf.getvalue())
    assert any(f.rule_id == "SL208" for f in result.findings), result.summary(Severity.LOW)


def test_benign_legacy_tar_loads_like_torch(tmp_path: Path) -> None:
    members = [("storages", pickle.dumps(0, protocol=2) + pickle.dumps([], protocol=2)),
               ("tensors", pickle.dumps(0, protocol=2)), ("pickle", pickle.dumps({"a": [1, 2]}, protocol=2))]
    path = tmp_path / "legacy.tar"
    path.write_bytes(legacy_tar(members))
    assert safeload.scan(path).max_severity <= Severity.INFO
    assert safeload.torch_load(path, weights_only=False) == torch.load(path, weights_only=False) == {"a": [1, 2]}
