"""Safe formats are safe (issue 14 item 3), measured on real files: ``safeload scan`` on a ``model.safetensors``,
the JSON/YAML/text files that sit next to models, a ``save_pretrained`` folder and a Trainer checkpoint.

Safetensors scans as SAFE (its header validated, ``scanners/safetensors.py``), config files are "skipped (not
a model)" (``scanners/text.py``), and none of them is ever UNSAFE. The controls make sure that recognising
them never becomes skipping by file name.
"""

from __future__ import annotations

import json
import pickle
import struct
from pathlib import Path
from typing import Any

import pytest

import safeload
from safeload import cli
from tests.attacks import G
from tests.corpus.cases import build, load_all
from tests.corpus.hf_cases import hf_model_folder, trainer_checkpoint_dir
from tests.corpus.runner import corpus_root

__all__ = ["corpus_root"]

CONFIG_FILES = ("config.json", "tokenizer.json", "tokenizer_config.json", "hparams.yaml", "vocab.txt", "README.md")


@pytest.fixture(scope="module")
def hf_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("transformers")
    import warnings

    root = tmp_path_factory.mktemp("hf")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        folder = hf_model_folder(root)
    (folder / "vocab.txt").write_text((root / "vocab.txt").read_text())
    return folder


@pytest.fixture(scope="module")
def checkpoint(corpus_root: Path) -> Path:
    pytest.importorskip("transformers")
    build(load_all()["hf-trainer-checkpoint"], corpus_root)
    return trainer_checkpoint_dir(corpus_root)


def scan_json(capsys: pytest.CaptureFixture[str], *paths: Path) -> tuple[int, dict[str, str]]:
    """Exit code and ``{file name: status}`` of ``safeload scan --format json`` (safe, unsafe, skipped, error)."""
    capsys.readouterr()
    code = cli.main(["scan", "--no-progress", "--format", "json", *map(str, paths)])
    report = json.loads(capsys.readouterr().out)
    return code, {Path(r["source"]).name: r["status"] for r in report["results"]}


def test_safetensors_file_scans_safe(hf_folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = hf_folder / "model.safetensors"
    assert safeload.scan(path).is_safe()
    assert scan_json(capsys, path) == (0, {"model.safetensors": "safe"})


@pytest.mark.parametrize("name", CONFIG_FILES)
def test_config_file_alone_is_skipped_not_a_model(hf_folder: Path, name: str,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert scan_json(capsys, hf_folder / name) == (0, {name: "skipped"})


def test_trainer_state_json_alone_is_skipped(checkpoint: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert scan_json(capsys, checkpoint / "trainer_state.json") == (0, {"trainer_state.json": "skipped"})


def test_model_folder_scan_is_never_unsafe(hf_folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, verdicts = scan_json(capsys, hf_folder)
    assert code == 0, verdicts
    assert set(verdicts) == {"model.safetensors", *CONFIG_FILES}
    assert "unsafe" not in verdicts.values()
    assert {verdicts[n] for n in CONFIG_FILES} == {"skipped"}


def test_model_folder_safetensors_is_safe_not_skipped(hf_folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert scan_json(capsys, hf_folder)[1]["model.safetensors"] == "safe"


def test_trainer_checkpoint_scan_passes(checkpoint: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, verdicts = scan_json(capsys, checkpoint)
    assert code == 0, verdicts
    assert {n: v for n, v in verdicts.items() if n.endswith((".bin", ".pt", ".pth"))} == {
        "training_args.bin": "safe", "optimizer.pt": "safe", "scheduler.pt": "safe", "rng_state.pth": "safe"}
    assert "unsafe" not in verdicts.values()


# --- controls: recognising a format must never mean trusting a file name --------------------------------------
def _evil_pickle() -> bytes:
    """``posix.system('true')`` as a pickle (never loaded here: the payload is only scanned)."""
    from tests.attacks import C, assemble

    return assemble(C(G("posix", "system"), ("true",)))


@pytest.mark.parametrize("name", ["config.json", "model.safetensors", "notes.txt", "hparams.yaml"])
def test_pickle_under_a_safe_name_is_still_unsafe(tmp_path: Path, name: str,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / name
    path.write_bytes(_evil_pickle())
    assert scan_json(capsys, path) == (1, {name: "unsafe"})
    assert scan_json(capsys, tmp_path)[0] == 1
    assert not safeload.scan(path).is_safe()


def _safetensors(header: dict[str, Any], data: bytes) -> bytes:
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + data


@pytest.mark.parametrize(("label", "blob"), [
    ("offsets-past-end", _safetensors({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, b"\0" * 8)),
    ("header-size-huge", struct.pack("<Q", 1 << 40) + b"{}"),
    ("truncated-header", struct.pack("<Q", 64) + b'{"w": {"dtype": "F32"'),
    ("overlapping", _safetensors({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                                  "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, b"\0" * 12)),
])
def test_broken_safetensors_is_never_safe(tmp_path: Path, label: str, blob: bytes) -> None:
    path = tmp_path / "model.safetensors"
    path.write_bytes(blob)
    assert not safeload.scan(path).is_safe(), label


def test_real_safetensors_header_is_what_the_library_writes(hf_folder: Path) -> None:
    """The fixture is a real safetensors file (so the xfails above measure the real format)."""
    from safetensors import safe_open

    data = (hf_folder / "model.safetensors").read_bytes()
    (size,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + size])
    with safe_open(str(hf_folder / "model.safetensors"), "np") as f:
        assert sorted(f.keys()) == sorted(k for k in header if k != "__metadata__")
    assert data[:1] != pickle.PROTO  # not a pickle in disguise
