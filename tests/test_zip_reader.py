"""The lenient zip reader and the by-content zip scanner, on archives built here with ``zipfile`` and patches."""

from __future__ import annotations

import io
import mmap
import os
import pickle
import struct
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

import safeload
from safeload import Limits, Policy, Severity
from safeload._context import ScanContext
from safeload._zip import STORED, open_archive
from safeload.scanners.zip import scan_torchscript_code, scan_zip


class Evil:
    def __init__(self, cmd: str) -> None:
        self.cmd = cmd

    def __reduce__(self) -> tuple[Any, ...]:
        return os.system, (self.cmd,)


def make_zip(members: list[tuple[str, bytes]], compression: int = zipfile.ZIP_STORED, **kw: Any) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression, **kw) as zf:
        for name, data in members:
            zf.writestr(name, data)
    return buf.getvalue()


def rules(result: safeload.ScanResult) -> set[str]:
    return {f.rule_id for f in result.findings}


def ctx() -> ScanContext:
    return ScanContext(Policy(), "<test>")


def assert_refused(raw: bytes, marker: Any, severity: Severity) -> safeload.ScanResult:
    """Scan severity as expected, ``torch_load`` refuses the same bytes, and the payload never ran."""
    result = safeload.scan(raw)
    assert result.max_severity == severity, result.summary(Severity.LOW)
    pytest.importorskip("torch")
    with pytest.raises(safeload.UnsafeModelError):
        safeload.torch_load(io.BytesIO(raw), weights_only=False)
    assert not marker.exists()
    return result


def test_bytes_memoryview_and_mmap_give_the_same_members(tmp_path: Path) -> None:
    raw = make_zip([("a/data.pkl", pickle.dumps({"x": 1})), ("a/big", b"\0" * 100_000)])
    path = tmp_path / "z.zip"
    path.write_bytes(raw)
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
        for data in (raw, memoryview(raw), mapped):
            archive = open_archive(data, ctx())
            assert archive is not None
            assert [e.name for e in archive] == ["a/data.pkl", "a/big"]
            big = archive.entries[1]
            assert big.method == STORED
            content = archive.read(big, ctx(), "a/big")
            assert isinstance(content, memoryview)  # a view of the caller's buffer, not a copy
            assert len(content) == 100_000
            content.release()


def test_deflated_pickle_member_is_scanned(marker: Any) -> None:
    raw = make_zip([("payload.bin", pickle.dumps(Evil(marker.shell)))], zipfile.ZIP_DEFLATED)
    assert_refused(raw, marker, Severity.CRITICAL)


@pytest.mark.parametrize("compression", [zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
def test_other_zipfile_methods_are_scanned(marker: Any, compression: int) -> None:
    raw = make_zip([("payload.bin", pickle.dumps(Evil(marker.shell)))], compression)
    assert_refused(raw, marker, Severity.CRITICAL)


def test_non_model_members_are_not_findings() -> None:
    raw = make_zip([("config.json", b'{"a": 1}'), ("version", b"3\n"), ("README.txt", b"hello"),
                    ("byteorder", b"little"), ("weights.raw", bytes(range(256)) * 10)])
    result = safeload.scan(raw)
    assert result.max_severity == Severity.INFO, result.summary(Severity.LOW)


def test_unsupported_method_blocks() -> None:
    raw = bytearray(make_zip([("data.pkl", pickle.dumps(1))]))
    struct.pack_into("<H", raw, 8, 99)                       # local header
    struct.pack_into("<H", raw, raw.find(b"PK\x01\x02") + 10, 99)  # central directory
    result = safeload.scan(bytes(raw))
    assert result.max_severity == Severity.HIGH
    assert "SL203" in rules(result)


def test_compression_ratio_cap() -> None:
    raw = make_zip([("zeros.pkl", b"\0" * (8 << 20))], zipfile.ZIP_DEFLATED)
    result = safeload.scan(raw, policy=Policy(limits=Limits(max_compression_ratio=50)))
    assert "SL017" in {f.rule_id for f in result.blocking()}


def test_decompressed_size_cap() -> None:
    raw = make_zip([("a.pkl", os.urandom(3 << 20))], zipfile.ZIP_DEFLATED)
    result = safeload.scan(raw, policy=Policy(limits=Limits(max_decompressed_bytes=1 << 20)))
    assert "SL016" in {f.rule_id for f in result.blocking()}


def test_member_count_cap() -> None:
    raw = make_zip([(f"m{i}.txt", b"x") for i in range(20)])
    result = safeload.scan(raw, policy=Policy(limits=Limits(max_members=5)))
    assert "SL015" in {f.rule_id for f in result.blocking()}


class _Unseekable(io.RawIOBase):
    def __init__(self) -> None:
        self.buf = io.BytesIO()

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        return self.buf.write(b)


def test_data_descriptors(marker: Any) -> None:
    sink = _Unseekable()
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a/data.pkl", pickle.dumps(Evil(marker.shell)))
        zf.writestr("a/b.txt", b"text")
    raw = sink.buf.getvalue()
    assert struct.unpack_from("<H", raw, 6)[0] & 0x8
    result = assert_refused(raw, marker, Severity.CRITICAL)
    assert "SL203" not in rules(result)


def test_zip64_members(marker: Any) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf, zf.open("data.pkl", "w", force_zip64=True) as fh:
        fh.write(pickle.dumps(Evil(marker.shell)))
    assert_refused(buf.getvalue(), marker, Severity.CRITICAL)


def test_member_missing_from_central_directory(marker: Any) -> None:
    raw = make_zip([("a.txt", b"hello")])
    hidden = make_zip([("hidden.pkl", pickle.dumps(Evil(marker.shell)))])
    hidden_local = hidden[:hidden.find(b"PK\x01\x02")]
    cd = raw.find(b"PK\x01\x02")
    data = bytearray(raw[:cd] + hidden_local + raw[cd:])
    eocd = data.rfind(b"PK\x05\x06")
    struct.pack_into("<I", data, eocd + 16, cd + len(hidden_local))
    assert zipfile.ZipFile(io.BytesIO(bytes(data))).namelist() == ["a.txt"]
    result = assert_refused(bytes(data), marker, Severity.CRITICAL)
    assert any(f.rule_id == "SL203" and "hidden" in f.message for f in result.findings)


def test_data_before_the_archive() -> None:
    raw = b"#!/bin/sh\nexit 0\n" + make_zip([("x.txt", b"x")])
    assert zipfile.ZipFile(io.BytesIO(raw)).read("x.txt") == b"x"
    result = safeload.scan(raw)
    assert "SL203" in {f.rule_id for f in result.blocking()}


def test_nested_zip(marker: Any) -> None:
    inner = make_zip([("data.pkl", pickle.dumps(Evil(marker.shell)))])
    result = assert_refused(make_zip([("inner.zip", inner)]), marker, Severity.CRITICAL)
    assert any(f.location.member and f.location.member.startswith("inner.zip!") for f in result.blocking())


def test_zip_nesting_is_bounded() -> None:
    data = make_zip([("x.txt", b"x")])
    for i in range(12):
        data = make_zip([(f"level{i}.zip", data)])
    result = safeload.scan(data)
    assert "SL013" in {f.rule_id for f in result.blocking()}


def test_truncated_archive_is_not_clean() -> None:
    raw = make_zip([("data.pkl", pickle.dumps(list(range(1000))))])
    result = safeload.scan(raw[: len(raw) // 2])
    assert result.blocking()


def test_garbage_after_zip_magic_is_not_clean() -> None:
    result = safeload.scan(b"PK\x03\x04" + b"\xff" * 40)
    assert result.blocking()


def test_case_insensitive_duplicates_are_reported(marker: Any) -> None:
    raw = make_zip([("a/data.pkl", pickle.dumps(1)), ("a/DATA.pkl", pickle.dumps(Evil(marker.shell)))])
    result = assert_refused(raw, marker, Severity.CRITICAL)
    assert {"SL204", "SL101"} <= rules(result)


# --- torch storages -------------------------------------------------------------------------------------------
torch = pytest.importorskip("torch")


def test_referenced_storages_are_skipped_unread(marker: Any) -> None:
    payload = pickle.dumps(Evil(marker.shell))
    buf = io.BytesIO()
    torch.save({"t": torch.frombuffer(bytearray(payload), dtype=torch.uint8)}, buf)
    # torch reads the storage as raw bytes, so its pickle-like content is not a finding.
    result = safeload.scan(buf.getvalue())
    assert result.max_severity == Severity.INFO, result.summary(Severity.LOW)
    loaded = safeload.torch_load(io.BytesIO(buf.getvalue()))
    assert bytes(loaded["t"].numpy()) == payload
    assert not marker.exists()


def test_unreferenced_storage_member_is_scanned(marker: Any) -> None:
    buf = io.BytesIO()
    torch.save({"t": torch.ones(2)}, buf)
    with zipfile.ZipFile(buf, "a") as zf:
        prefix = zf.namelist()[0].split("/")[0]
        zf.writestr(f"{prefix}/data/99", pickle.dumps(Evil(marker.shell)))
    assert_refused(buf.getvalue(), marker, Severity.CRITICAL)


def test_referenced_storage_holding_npy_is_scanned(marker: Any) -> None:
    np = pytest.importorskip("numpy")
    pytest.importorskip("safeload.scanners.numpy")
    npy = io.BytesIO()
    np.save(npy, np.array([Evil(marker.shell)], dtype=object), allow_pickle=True)
    buf = io.BytesIO()
    torch.save({"t": torch.frombuffer(bytearray(npy.getvalue()), dtype=torch.uint8)}, buf)
    assert_refused(buf.getvalue(), marker, Severity.CRITICAL)


# --- keras hand-off -------------------------------------------------------------------------------------------
def test_keras_config_handoff(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[bytes] = []
    module = type(sys)("safeload.scanners.keras")
    module.scan_keras_config = lambda data, c: seen.append(data)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "safeload.scanners.keras", module)
    raw = make_zip([("metadata.json", b"{}"), ("config.json", b'{"class_name": "Sequential"}')])
    scan_zip(raw, c := ctx())
    assert seen == [b'{"class_name": "Sequential"}']
    assert not [f for f in c.findings if f.severity > Severity.INFO]


def test_keras_config_handoff_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "safeload.scanners.keras", None)
    raw = make_zip([("metadata.json", b"{}"), ("config.json", b"{}")])
    result = safeload.scan(raw)
    assert "SL005" in {f.rule_id for f in result.blocking()}


# --- TorchScript code ranking -----------------------------------------------------------------------------------
_CODE = '''class M(Module):
  def forward(self: __torch__.M, x: Tensor) -> Tensor:
    torch.save(x, "/tmp/out")
    return x
  def __setstate__(self: __torch__.M, state: Tuple[Tensor, bool]) -> NoneType:
    self.w = (state)[0]
    _0 = (self).helper()
    return None
  def helper(self: __torch__.M) -> Tensor:
    return torch.from_file("/etc/passwd", None, 10)
  def custom(self: __torch__.M) -> Tensor:
    return torch.ops.mylib.run(self.w)
'''


def test_torchscript_code_ranking() -> None:
    c = ctx()
    scan_torchscript_code(_CODE, "archive/code/__torch__.py", c)
    by_subject = {f.subject: f for f in c.findings if f.rule_id == "SL202"}
    assert by_subject["torch.save"].severity == Severity.HIGH        # runs when the model runs
    assert by_subject["torch.from_file"].severity == Severity.CRITICAL  # reached from __setstate__
    assert by_subject["torch.ops.mylib.run"].severity == Severity.HIGH


def test_mutated_torch_archives_never_crash_the_scanner() -> None:
    import random

    buf = io.BytesIO()
    torch.save({"w": torch.ones(3), "n": [1, 2]}, buf)
    raw = buf.getvalue()
    rng = random.Random(1234)  # noqa: S311 - reproducible mutations, not cryptography
    for _ in range(300):
        data = bytearray(raw)
        for _ in range(rng.randint(1, 8)):
            pos = rng.randrange(len(data))
            data[pos] = rng.randrange(256)
        if rng.random() < 0.2:
            data = data[: rng.randrange(len(data))]
        result = safeload.scan(bytes(data))
        assert "SL005" not in rules(result), result.summary(Severity.LOW)
