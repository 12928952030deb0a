"""Zip archives that different readers read differently (THREATS F3), and the reader models behind them.

``safeload.containers.miniz`` and ``zipfile_reader`` model how torch's miniz and Python's ``zipfile`` find an
archive's members. The models are checked against the real readers (``zipfile.ZipFile`` and torch's own
``PyTorchFileReader``) on archives from real writers and on archives built here to make the readers disagree.
Then each disagreement is attacked through ``safeload.scan`` and the safe loaders with the real loaders behind
them: the payload lives only in the directory one reader sees. Every malicious file is refused, the marker
file stays absent, and the same construction with a proof payload shows the real loader does run it; benign
zip64 archives written by torch, numpy and ``zipfile`` stay clean and load as the real loaders load them.
"""

from __future__ import annotations

import io
import os
import pickle
import struct
import sys
import warnings
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import safeload
from safeload import Severity
from safeload.containers import miniz, zipfile_reader
from safeload.containers._zipfmt import DirectoryError

sys.path.insert(0, str(Path(__file__).parent))

from zipcraft import Layout, count_split, shifted_split, zip64_split


class Evil:
    def __init__(self, cmd: str) -> None:
        self.cmd = cmd

    def __reduce__(self) -> tuple[Any, ...]:
        return os.system, (self.cmd,)


def sl208(result: safeload.ScanResult) -> set[str]:
    return {(f.subject or "").rpartition(":")[2] for f in result.findings if f.rule_id == "SL208"}


TORCH_META = [("archive/version", b"3\n"), ("archive/byteorder", b"little")]


def torch_members(payload: bytes) -> list[tuple[str, bytes]]:
    return [("archive/data.pkl", payload), *TORCH_META]


def npz_members(array: Any) -> list[tuple[str, bytes]]:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.asarray(array), allow_pickle=True)
    return [("a.npy", buf.getvalue())]


def object_array_npy(evil: Any) -> bytes:
    """An .npy object array whose pickle carries ``evil`` (numpy.load(allow_pickle=True) unpickles it)."""
    arr = np.empty(1, dtype=object)
    arr[0] = evil
    buf = io.BytesIO()
    np.lib.format.write_array(buf, arr, allow_pickle=True)
    return buf.getvalue()


# --- the reader models against the real readers -----------------------------------------------------------
def _real_writer_archives(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    buf = io.BytesIO()
    np.savez(buf, a=np.arange(3))
    out["npz"] = buf.getvalue()
    with monkeypatch.context() as patch:
        patch.setattr(zipfile, "ZIP_FILECOUNT_LIMIT", 1)  # zipfile then writes zip64 end records for 2 members
        buf = io.BytesIO()
        np.savez(buf, a=np.arange(3), b=np.ones(2))
        out["npz-zip64"] = buf.getvalue()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        with zf.open("archive/data.pkl", "w", force_zip64=True) as member:
            member.write(pickle.dumps({"a": 1}))
        zf.writestr("archive/version", "3\n")
        zf.comment = b"a comment"
    out["zipfile-zip64-entries-comment"] = buf.getvalue()
    torch = pytest.importorskip("torch")
    buf = io.BytesIO()
    torch.save({"w": torch.arange(4)}, buf)
    out["torch"] = buf.getvalue()
    return out


def _crafted_archives() -> dict[str, bytes]:
    ok = pickle.dumps({"a": 1}, protocol=2)
    other = pickle.dumps({"a": 2}, protocol=2)
    out = {
        "zip64-split": zip64_split(torch_members(ok), torch_members(other)),
        "count-split": count_split(torch_members(ok), [("archive/extra.pkl", other)]),
        "shifted-split": shifted_split(torch_members(other), torch_members(ok)),
    }
    layout = Layout()
    members = [layout.add(n, d) for n, d in torch_members(ok)]
    cd = layout.directory(members)
    layout.end(cd)
    base = layout.bytes()
    out["junk-after-end"] = base + b"\xaa" * 66_000          # no reader searches back this far
    out["end-in-comment-too-short"] = base[:-2] + struct.pack("<H", 30) + b"x" * 10 + b"PK\x05\x06" + b"y" * 16
    nul = Layout()
    member = nul.add("archive/data.pkl\0junk", ok)
    nul.end(nul.directory([member, nul.add("archive/version", b"3\n")]))
    out["nul-in-name"] = nul.bytes()
    return out


def test_models_match_the_real_readers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    torch = pytest.importorskip("torch")
    archives = {**_real_writer_archives(tmp_path, monkeypatch), **_crafted_archives()}
    for label, raw in archives.items():
        try:
            model = zipfile_reader.read_directory(raw, 1000)
        except DirectoryError:
            with pytest.raises((zipfile.BadZipFile, NotImplementedError, UnicodeDecodeError)):
                zipfile.ZipFile(io.BytesIO(raw))
        else:
            real = zipfile.ZipFile(io.BytesIO(raw)).infolist()
            assert [(i.filename, i.header_offset, i.compress_size, i.file_size) for i in real] == \
                [(e.names[0], e.header_offset, e.compressed_size, e.size) for e in model.entries], label
        try:
            mz = miniz.read_directory(raw, 1000)
        except DirectoryError:
            with pytest.raises((RuntimeError, ValueError)):  # ValueError: miniz seeks to a negative offset
                torch._C.PyTorchFileReader(io.BytesIO(raw))
            continue
        if b"/" not in mz.entries[0].raw_name or not any(e.raw_name.endswith(b"/version") for e in mz.entries):
            continue  # torch needs its archive prefix and a version record before it lists anything
        prefix = mz.entries[0].raw_name.split(b"/")[0] + b"/"
        records = torch._C.PyTorchFileReader(io.BytesIO(raw)).get_all_records()
        assert sorted(records) == sorted(e.names[-1][len(prefix):] for e in mz.entries), label


def test_miniz_follows_the_locator_and_zipfile_reads_end_minus_76() -> None:
    raw = zip64_split(torch_members(b"first"), torch_members(b"second"))
    mz = miniz.read_directory(raw, 100)
    zf = zipfile_reader.read_directory(raw, 100)
    assert next(raw[e.header_offset + 30 + len(e.raw_name):][:5] for e in mz.entries) == b"first"
    assert next(raw[e.header_offset + 30 + len(e.raw_name):][:6] for e in zf.entries) == b"second"
    assert mz.zip64_record != zf.zip64_record


def test_lookup_rules() -> None:
    layout = Layout()
    members = [layout.add("archive/DATA.PKL", b"upper"), layout.add("config.json\0x", b"{}"),
               layout.add("config.json", b"[]")]
    layout.end(layout.directory(members))
    raw = layout.bytes()
    mz = miniz.read_directory(raw, 10)
    zf = zipfile_reader.read_directory(raw, 10)
    assert [e.raw_name for e in miniz.lookup(mz, b"archive/data.pkl")] == [b"archive/DATA.PKL"]
    found = zipfile_reader.lookup(zf, "config.json")
    assert found is not None and found.raw_name == b"config.json"  # the last record of a name wins
    assert zipfile.ZipFile(io.BytesIO(raw)).read("config.json") == b"[]"


def test_unicode_path_extra_field_is_a_name_newer_pythons_use() -> None:
    raw_name = b"weights.bin"
    alias = b"config.json"
    extra = struct.pack("<HHBI", 0x7075, 5 + len(alias), 1, zlib.crc32(raw_name)) + alias
    layout = Layout()
    member = layout.add("weights.bin", b'{"class_name": "x"}')
    layout.end(layout.directory([member], extra=extra))
    zf = zipfile_reader.read_directory(layout.bytes(), 10)
    assert zf.entries[0].names == ("weights.bin", "config.json")


# --- ambiguity ---------------------------------------------------------------------------------------------
def test_real_writer_archives_are_not_ambiguous(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for label, raw in _real_writer_archives(tmp_path, monkeypatch).items():
        result = safeload.scan(raw)
        assert not sl208(result), (label, result.summary(Severity.INFO))
        assert result.max_severity <= Severity.INFO, (label, result.summary(Severity.INFO))


@pytest.mark.parametrize(("kind", "expected"), [
    ("zip64-split", {"directories", "zip64-locator"}),
    ("count-split", {"directories"}),
    ("shifted-split", {"directories", "overlap"}),
])
def test_disagreeing_archives_are_ambiguous(kind: str, expected: set[str]) -> None:
    raw = _crafted_archives()[kind]
    result = safeload.scan(raw)
    assert expected <= sl208(result), result.summary(Severity.INFO)
    assert result.verdict(Severity.HIGH).value == "unsafe"


def test_local_header_after_the_end_record_is_ambiguous() -> None:
    layout = Layout()
    members = [layout.add(n, d) for n, d in torch_members(pickle.dumps(1))]
    layout.end(layout.directory(members))
    hidden = Layout(base=len(layout.out))
    hidden.add("archive/data.pkl", pickle.dumps(Evil("true")))
    result = safeload.scan(layout.bytes() + hidden.bytes())
    assert "after-end" in sl208(result), result.summary(Severity.INFO)


def test_second_end_record_outside_members_is_ambiguous() -> None:
    layout = Layout()
    members = [layout.add(n, d) for n, d in torch_members(pickle.dumps(1))]
    cd = layout.directory(members)
    layout.end(cd)           # a dangling first end record
    layout.end(cd)           # the one every reader picks
    result = safeload.scan(layout.bytes())
    assert "end-records" in sl208(result), result.summary(Severity.INFO)


def test_nested_stored_zip_is_not_ambiguous() -> None:
    inner = Layout()
    inner.end(inner.directory([inner.add("x.npy", npz_members([1, 2])[0][1])]))
    outer = Layout()
    members = [outer.add("inner.npz", inner.bytes()), outer.add("archive/version", b"3\n")]
    outer.end(outer.directory(members))
    result = safeload.scan(outer.bytes())
    assert not sl208(result), result.summary(Severity.INFO)


# --- F3 end to end: torch (miniz's directory) ------------------------------------------------------------------
@pytest.mark.torch
@pytest.mark.parametrize("split", ["zip64", "shifted"])
def test_torch_payload_only_in_miniz_directory(tmp_path: Path, marker: Any, split: str) -> None:
    torch = pytest.importorskip("torch")

    def build(cmd: str) -> bytes:
        evil = torch_members(pickle.dumps({"w": Evil(cmd)}, protocol=2))
        ok = torch_members(pickle.dumps({"w": 1}, protocol=2))
        return zip64_split(evil, ok) if split == "zip64" else shifted_split(evil, ok)

    proof = tmp_path / "proof"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert zipfile.ZipFile(io.BytesIO(build(f"touch {proof}"))).read("archive/data.pkl") == \
            pickle.dumps({"w": 1}, protocol=2)          # zipfile sees only the benign pickle
        torch.load(io.BytesIO(build(f"touch {proof}")), weights_only=False)
    assert proof.exists(), "torch.load did not run the payload: the file does not test what it claims"

    raw = build(marker.shell)
    path = tmp_path / "split.pt"
    path.write_bytes(raw)
    result = safeload.scan(path)
    assert result.max_severity == Severity.CRITICAL, result.summary(Severity.LOW)
    assert "directories" in sl208(result)
    for source in (path, io.BytesIO(raw)):
        with pytest.raises(safeload.UnsafeModelError):
            safeload.torch_load(source, weights_only=False)
    assert not marker.exists()


@pytest.mark.torch
def test_torch_benign_zip64_loads_like_torch(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    path = tmp_path / "ok.pt"
    torch.save({"w": torch.arange(6.0).reshape(2, 3), "n": 3}, path)
    assert b"PK\x06\x06" in path.read_bytes()   # torch always writes zip64 end records
    assert safeload.scan(path).max_severity <= Severity.INFO
    got = safeload.torch_load(path)
    want = torch.load(path)
    assert got.keys() == want.keys() and torch.equal(got["w"], want["w"]) and got["n"] == want["n"]


# --- F3 end to end: numpy (zipfile's directory) -------------------------------------------------------------
@pytest.mark.parametrize("split", ["zip64", "count"])
def test_npz_object_array_only_in_zipfile_directory(tmp_path: Path, marker: Any, split: str) -> None:
    def build(cmd: str) -> bytes:
        evil = [("a.npy", object_array_npy(Evil(cmd)))]
        ok = npz_members([1, 2, 3])
        return zip64_split(ok, evil) if split == "zip64" else count_split(ok, evil)

    proof = tmp_path / "proof"
    with np.load(io.BytesIO(build(f"touch {proof}")), allow_pickle=True) as npz:
        npz["a"]
    assert proof.exists(), "numpy.load did not run the payload"
    assert [e.raw_name for e in miniz.read_directory(build("true"), 10).entries] == [b"a.npy"]

    path = tmp_path / "split.npz"
    path.write_bytes(build(marker.shell))
    result = safeload.scan(path)
    assert result.max_severity == Severity.CRITICAL, result.summary(Severity.LOW)
    assert "directories" in sl208(result)
    with pytest.raises(safeload.UnsafeModelError):
        safeload.numpy_load(path, allow_pickle=True)
    assert not marker.exists()


def test_npz_benign_zip64_loads_like_numpy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "ok.npz"
    with monkeypatch.context() as patch:
        patch.setattr(zipfile, "ZIP_FILECOUNT_LIMIT", 1)
        np.savez(path, a=np.arange(5), b=np.eye(2))
    raw = path.read_bytes()
    assert b"PK\x06\x06" in raw and b"PK\x06\x07" in raw
    assert safeload.scan(path).max_severity <= Severity.INFO
    with safeload.numpy_load(path) as got, np.load(path) as want:
        assert got.files == want.files
        for key in want.files:
            assert np.array_equal(got[key], want[key])
