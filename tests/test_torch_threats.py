"""THREATS.md rows against ``safeload.torch_load``: every file is built here, every payload only touches the
marker file, and every test checks the scan severity, the refusal and that the payload never ran."""

from __future__ import annotations

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

MAGIC = 0x1950A86A20F9469CFC6C


class Evil:
    """``os.system(cmd)`` at unpickling time."""

    def __init__(self, cmd: str) -> None:
        self.cmd = cmd

    def __reduce__(self) -> tuple[Any, ...]:
        return os.system, (self.cmd,)


def reduce_pickle(module: str, name: str, args: tuple[Any, ...], protocol: int = 2) -> bytes:
    """A pickle calling ``module.name(*args)``, for callables that cannot be pickled by reference here."""
    head = b"\x80\x02" if protocol >= 2 else b""
    body = pickle.dumps(args, protocol=protocol)
    body = body[2:-1] if protocol >= 2 else body[:-1]
    return head + b"c" + module.encode() + b"\n" + name.encode() + b"\n" + body + b"R."


def torch_zip(members: list[tuple[str, bytes]], *, compress: int = zipfile.ZIP_STORED) -> bytes:
    """A torch-style archive with the given members (plus version/byteorder), written with zipfile."""
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # zipfile warns about duplicate names
        with zipfile.ZipFile(buf, "w", compress) as zf:
            for name, data in members:
                zf.writestr(name, data)
            zf.writestr("archive/version", b"3\n")
            zf.writestr("archive/byteorder", b"little")
    return buf.getvalue()


def patch_local_header(raw: bytes, name: bytes, *, new_name: bytes | None = None, flags: int = 0) -> bytes:
    """Rename ``name`` in its local header only, or OR ``flags`` into that header's flag bits."""
    data = bytearray(raw)
    pos = data.find(b"PK\x03\x04" + b"", 0)
    while pos >= 0:
        nlen = struct.unpack_from("<H", data, pos + 26)[0]
        if bytes(data[pos + 30:pos + 30 + nlen]) == name:
            if new_name is not None:
                assert len(new_name) == nlen
                data[pos + 30:pos + 30 + nlen] = new_name
            if flags:
                struct.pack_into("<H", data, pos + 6, struct.unpack_from("<H", data, pos + 6)[0] | flags)
            return bytes(data)
        pos = data.find(b"PK\x03\x04", pos + 4)
    raise AssertionError(f"{name!r} not found")


def assert_refused(source: Path | bytes, marker: Any, severity: Severity, *, rules: set[str] = frozenset(),
                   **load_kwargs: Any) -> safeload.ScanResult:
    """The scan reaches ``severity``, ``torch_load`` refuses (with weights_only=False too) and nothing ran."""
    result = safeload.scan(source)
    assert result.max_severity == severity, result.summary(Severity.LOW)
    assert rules <= {f.rule_id for f in result.findings}, result.summary(Severity.INFO)
    target = io.BytesIO(source) if isinstance(source, bytes) else source
    for weights_only in (False, True):
        if isinstance(target, io.BytesIO):
            target.seek(0)
        with pytest.raises(safeload.UnsafeModelError) as info:
            safeload.torch_load(target, weights_only=weights_only, **load_kwargs)
        assert isinstance(info.value, pickle.UnpicklingError)
    assert not marker.exists()
    return result


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


# --- A4: torch-internal exec gadgets --------------------------------------------------------------------
@pytest.mark.parametrize(("module", "name", "severity"), [
    ("torch.utils.collect_env", "run", Severity.CRITICAL),
    ("torch.utils.collect_env", "run_and_read_all", Severity.CRITICAL),
    ("torch._dynamo.guards", "GuardBuilder.get", Severity.CRITICAL),
    ("torch.fx.experimental.symbolic_shapes", "ShapeEnv.evaluate_guards_expression", Severity.CRITICAL),
    ("torch.jit.unsupported_tensor_ops", "execWrapper", Severity.CRITICAL),
    ("torch.utils.bottleneck.__main__", "run_cprofile", Severity.CRITICAL),
    ("torch._inductor.codecache", "compile_file", Severity.CRITICAL),
    ("torch.serialization", "load", Severity.HIGH),
    ("torch.utils._config_module", "ConfigModule.load_config", Severity.HIGH),
    ("torch.utils.data.datapipes.utils.decoder", "basichandlers", Severity.HIGH),
])
def test_a4_torch_gadgets(tmp_path: Path, marker: Any, module: str, name: str, severity: Severity) -> None:
    payload = reduce_pickle(module, name, (marker.shell,))
    path = write(tmp_path, "gadget.pt", torch_zip([("archive/data.pkl", payload)]))
    assert_refused(path, marker, severity)


def test_a4_gadget_hidden_in_real_checkpoint(tmp_path: Path, marker: Any) -> None:
    path = tmp_path / "m.pt"
    torch.save({"w": torch.ones(3), "hook": Evil(marker.shell)}, path)
    assert_refused(path, marker, Severity.CRITICAL, rules={"SL101"})


# --- B13: payload in a later stream: torch's legacy loader unpickles five stacked pickles ------------------
def _legacy(streams: dict[str, Any]) -> bytes:
    parts = {"magic": MAGIC, "protocol": 1001, "sys_info": {"protocol_version": 1001}, "main": [1, 2],
             "keys": []}
    parts.update(streams)
    return b"".join(v if isinstance(v, bytes) else pickle.dumps(v, protocol=2) for v in parts.values())


@pytest.mark.parametrize("slot", ["sys_info", "main", "keys"])
def test_b13_payload_in_later_legacy_stream(tmp_path: Path, marker: Any, slot: str) -> None:
    path = write(tmp_path, "stacked.pt", _legacy({slot: pickle.dumps(Evil(marker.shell), protocol=2)}))
    assert_refused(path, marker, Severity.CRITICAL)


def test_b13_benign_then_malicious_pickle(tmp_path: Path, marker: Any) -> None:
    data = pickle.dumps([1, 2, 3]) + pickle.dumps(Evil(marker.shell))
    assert_refused(write(tmp_path, "two.pt", data), marker, Severity.CRITICAL)


# --- C2 / B14: pickle members under other names and protocols ------------------------------------------------
@pytest.mark.parametrize("member", ["archive/data.txt", "archive/notes.txt", "weights.bin", "archive/extra/x"])
@pytest.mark.parametrize("protocol", [0, 1, 2, 5])
def test_c2_pickle_member_with_other_name(tmp_path: Path, marker: Any, member: str, protocol: int) -> None:
    benign = torch_zip([("archive/data.pkl", pickle.dumps({"a": 1}, protocol=2))])
    data = torch_zip([("archive/data.pkl", pickle.dumps({"a": 1}, protocol=2)),
                      (member, pickle.dumps(Evil(marker.shell), protocol=protocol))])
    assert safeload.scan(benign).max_severity == Severity.INFO
    assert_refused(write(tmp_path, "m.pt", data), marker, Severity.CRITICAL)


def test_hidden_protocol0_pickle_named_notes_txt(tmp_path: Path, marker: Any) -> None:
    payload = pickle.dumps(Evil(marker.shell), protocol=0)
    assert not payload.startswith(b"\x80")
    path = tmp_path / "m.pt"
    torch.save({"w": torch.ones(2)}, path)
    with zipfile.ZipFile(path, "a") as zf:
        zf.writestr("m/notes.txt", payload)
    assert_refused(path, marker, Severity.CRITICAL)


# --- C3 / C4 / C5 / C8: zip structures torch's reader accepts ---------------------------------------------------
def test_c3_local_name_differs_from_central(tmp_path: Path, marker: Any) -> None:
    raw = torch_zip([("archive/data.pkl", pickle.dumps(Evil(marker.shell), protocol=2))])
    patched = patch_local_header(raw, b"archive/data.pkl", new_name=b"archive/datap.kl")
    with pytest.raises(zipfile.BadZipFile):
        zipfile.ZipFile(io.BytesIO(patched)).read("archive/data.pkl")
    assert_refused(write(tmp_path, "m.pt", patched), marker, Severity.CRITICAL, rules={"SL203", "SL101"})


@pytest.mark.parametrize("flag", [0x1, 0x20, 0x40])
def test_c4_flag_bits(tmp_path: Path, marker: Any, flag: int) -> None:
    raw = torch_zip([("archive/data.pkl", pickle.dumps(Evil(marker.shell), protocol=2))])
    patched = patch_local_header(raw, b"archive/data.pkl", flags=flag)
    assert_refused(write(tmp_path, "m.pt", patched), marker, Severity.CRITICAL, rules={"SL203", "SL101"})


def test_c5_bad_crc(tmp_path: Path, marker: Any) -> None:
    raw = torch_zip([("archive/data.pkl", pickle.dumps(Evil(marker.shell + " && echo 456"), protocol=2))])
    patched = raw.replace(b"echo 456", b"echo 123")
    with pytest.raises(zipfile.BadZipFile, match="CRC"):
        zipfile.ZipFile(io.BytesIO(patched)).read("archive/data.pkl")
    result = assert_refused(write(tmp_path, "m.pt", patched), marker, Severity.CRITICAL, rules={"SL203"})
    assert any("CRC" in f.message for f in result.findings)


def test_c8_corrupt_member_before_data_pkl(tmp_path: Path, marker: Any) -> None:
    raw = torch_zip([("archive/aaa", b"junk"), ("archive/data.pkl", pickle.dumps(Evil(marker.shell), protocol=2))])
    patched = bytearray(patch_local_header(raw, b"archive/aaa", flags=0x1))
    central = patched.find(b"PK\x01\x02")  # first central entry (archive/aaa): unsupported method 99
    struct.pack_into("<H", patched, central + 10, 99)
    assert_refused(write(tmp_path, "m.pt", bytes(patched)), marker, Severity.CRITICAL, rules={"SL203", "SL101"})


# --- C9: duplicate names ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("malicious_first", [True, False])
def test_c9_duplicate_data_pkl(tmp_path: Path, marker: Any, malicious_first: bool) -> None:
    evil = ("archive/data.pkl", pickle.dumps(Evil(marker.shell), protocol=2))
    benign = ("archive/data.pkl", pickle.dumps({"a": 1}, protocol=2))
    members = [evil, benign] if malicious_first else [benign, evil]
    assert_refused(write(tmp_path, "m.pt", torch_zip(members)), marker, Severity.CRITICAL, rules={"SL204"})


# --- C10: spanned marker at the start ---------------------------------------------------------------------------
def shift_zip(raw: bytes, prefix: bytes) -> bytes:
    """Prepend ``prefix`` and move every recorded offset by its length (absolute offsets stay valid)."""
    data = bytearray(prefix + raw)
    shift = len(prefix)
    eocd = data.rfind(b"PK\x05\x06")
    cd_off = struct.unpack_from("<I", data, eocd + 16)[0]
    struct.pack_into("<I", data, eocd + 16, cd_off + shift)
    pos = cd_off + shift
    while data[pos:pos + 4] == b"PK\x01\x02":
        nlen, xlen, clen = struct.unpack_from("<HHH", data, pos + 28)
        struct.pack_into("<I", data, pos + 42, struct.unpack_from("<I", data, pos + 42)[0] + shift)
        pos += 46 + nlen + xlen + clen
    return bytes(data)


def test_c10_spanned_marker(tmp_path: Path, marker: Any) -> None:
    raw = shift_zip(torch_zip([("archive/data.pkl", pickle.dumps(Evil(marker.shell), protocol=2))]), b"PK\x07\x08")
    assert zipfile.ZipFile(io.BytesIO(raw)).read("archive/data.pkl")  # zipfile still opens it
    assert_refused(write(tmp_path, "m.pt", raw), marker, Severity.CRITICAL, rules={"SL203"})


# --- C6 / C7 / C15 / C16: legacy path tricks --------------------------------------------------------------------
def test_c6_plain_pickle_with_torch_extension(tmp_path: Path, marker: Any) -> None:
    path = write(tmp_path, "m.pt", pickle.dumps(Evil(marker.shell)))
    assert_refused(path, marker, Severity.CRITICAL)


def test_c7_magic_number_from_eval(tmp_path: Path, marker: Any) -> None:
    magic = reduce_pickle("builtins", "eval", ("0x1950A86A20F9469CFC6C",))
    data = _legacy({"magic": magic, "keys": pickle.dumps(Evil(marker.shell), protocol=2)})
    result = assert_refused(write(tmp_path, "m.pt", data), marker, Severity.CRITICAL)
    subjects = {f.subject for f in result.blocking()}
    assert {"builtins.eval", "posix.system"} <= subjects or {"builtins.eval", "os.system"} <= subjects


def test_c15_legacy_torch_save_of_payload(tmp_path: Path, marker: Any) -> None:
    path = tmp_path / "m.pt"
    torch.save({"w": torch.ones(4), "x": Evil(marker.shell)}, path, _use_new_zipfile_serialization=False)
    assert_refused(path, marker, Severity.CRITICAL)


def test_c15_payload_after_legacy_storages(tmp_path: Path, marker: Any) -> None:
    buf = io.BytesIO()
    torch.save({"w": torch.ones(4)}, buf, _use_new_zipfile_serialization=False)
    data = buf.getvalue() + pickle.dumps(Evil(marker.shell))
    assert_refused(write(tmp_path, "m.pt", data), marker, Severity.CRITICAL)


def test_c16_pickle_prepended_to_zip(tmp_path: Path, marker: Any) -> None:
    zipped = io.BytesIO()
    torch.save({"w": torch.ones(2)}, zipped)
    data = pickle.dumps(Evil(marker.shell)) + zipped.getvalue()
    assert_refused(write(tmp_path, "m.pt", data), marker, Severity.CRITICAL, rules={"SL206"})


# --- C14: legacy tar format -------------------------------------------------------------------------------------
def legacy_tar(pickle_member: bytes) -> bytes:
    buf = io.BytesIO()
    members = {"sys_info": pickle.dumps({"protocol_version": 1001}, protocol=2), "pickle": pickle_member,
               "storages": pickle.dumps(0, protocol=2) + pickle.dumps([], protocol=2),
               "tensors": pickle.dumps(0, protocol=2)}
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_c14_legacy_tar(tmp_path: Path, marker: Any) -> None:
    path = write(tmp_path, "m.tar", legacy_tar(pickle.dumps(Evil(marker.shell), protocol=2)))
    assert_refused(path, marker, Severity.CRITICAL, rules={"SL207"})


def test_c14_benign_legacy_tar_loads_like_torch(tmp_path: Path) -> None:
    path = write(tmp_path, "m.tar", legacy_tar(pickle.dumps({"a": [1, 2]}, protocol=2)))
    assert safeload.scan(path).max_severity == Severity.INFO
    assert safeload.torch_load(path, weights_only=False) == torch.load(path, weights_only=False) == {"a": [1, 2]}


def test_c14_payload_in_tar_storages_record(tmp_path: Path, marker: Any) -> None:
    raw = legacy_tar(pickle.dumps({"a": 1}, protocol=2))
    evil = pickle.dumps(Evil(marker.shell), protocol=2)
    buf = io.BytesIO()
    with tarfile.open(fileobj=io.BytesIO(raw)) as src, tarfile.open(fileobj=buf, mode="w") as dst:
        for info in src.getmembers():
            data = src.extractfile(info).read()  # type: ignore[union-attr]
            if info.name == "storages":
                data = pickle.dumps(0, protocol=2) + evil
            info.size = len(data)
            dst.addfile(info, io.BytesIO(data))
    assert_refused(write(tmp_path, "m.tar", buf.getvalue()), marker, Severity.CRITICAL)


# --- case-insensitive names -------------------------------------------------------------------------------------
def test_uppercase_data_pkl(tmp_path: Path, marker: Any) -> None:
    path = write(tmp_path, "m.pt", torch_zip([("archive/DATA.PKL", pickle.dumps(Evil(marker.shell), protocol=2))]))
    assert_refused(path, marker, Severity.CRITICAL)


def test_uppercase_benign_archive_skips_storages(tmp_path: Path) -> None:
    buf = io.BytesIO()
    torch.save({"w": torch.ones(3)}, buf)
    renamed = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as src, zipfile.ZipFile(renamed, "w") as dst:
        for info in src.infolist():
            dst.writestr(info.filename.replace("data.pkl", "DATA.PKL"), src.read(info))
    result = safeload.scan(renamed.getvalue())
    assert result.max_severity == Severity.INFO
    assert torch.equal(safeload.torch_load(io.BytesIO(renamed.getvalue()))["w"], torch.ones(3))


# --- nested torch pickles ---------------------------------------------------------------------------------------
def test_load_from_bytes_payload_is_scanned(tmp_path: Path, marker: Any) -> None:
    inner = io.BytesIO()
    torch.save(Evil(marker.shell), inner, _use_new_zipfile_serialization=False)
    outer = reduce_pickle("torch.storage", "_load_from_bytes", (inner.getvalue(),))
    result = assert_refused(write(tmp_path, "m.pt", outer), marker, Severity.CRITICAL)
    assert any(f.location.member and "_load_from_bytes" in f.location.member for f in result.blocking())


# --- D1: TorchScript -------------------------------------------------------------------------------------------
class _Saver(torch.nn.Module):
    def __init__(self, target: str) -> None:
        super().__init__()
        self.w = torch.ones(2)
        self.target = target

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.w

    @torch.jit.export
    def __getstate__(self) -> tuple[torch.Tensor, str, bool]:
        return (self.w, self.target, self.training)

    @torch.jit.export
    def __setstate__(self, state: tuple[torch.Tensor, str, bool]) -> None:
        self.w = state[0]
        self.target = state[1]
        self.training = state[2]
        torch.save(self.w, self.target)


def test_d1_torchscript_setstate_side_effect(tmp_path: Path, marker: Any) -> None:
    path = tmp_path / "ts.pt"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.save(torch.jit.script(_Saver(str(marker.path))), path)
    with zipfile.ZipFile(path) as zf:
        assert any(n.endswith("constants.pkl") for n in zf.namelist())
    result = assert_refused(path, marker, Severity.CRITICAL, rules={"SL201", "SL202"})
    assert any(f.rule_id == "SL202" and f.severity == Severity.CRITICAL for f in result.findings)
    # Even a threshold that would admit plain TorchScript refuses the side effect.
    with pytest.raises(safeload.UnsafeModelError):
        safeload.torch_load(path, weights_only=False, threshold="critical")
    assert not marker.exists()


def test_d1_constants_pkl_only(tmp_path: Path, marker: Any) -> None:
    data = torch_zip([("archive/data.pkl", pickle.dumps({"a": 1}, protocol=2)),
                      ("archive/constants.pkl", pickle.dumps((), protocol=2))])
    assert_refused(write(tmp_path, "m.pt", data), marker, Severity.HIGH, rules={"SL201"})


# --- D6: never fall back to a less safe load --------------------------------------------------------------------
def test_d6_no_fallback(tmp_path: Path, marker: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from safeload.loaders import _common

    calls: list[dict[str, Any]] = []
    real = torch.load

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setitem(_common.ORIGINALS, ("torch", "load"), counting)
    path = tmp_path / "m.pt"
    torch.save({"w": torch.ones(2), "ns": Opaque()}, path)
    trusted = [f"{__name__}.Opaque"]
    # torch's weights_only unpickler rejects the (trusted, benign) class: the error surfaces, no retry happens.
    with pytest.raises(pickle.UnpicklingError, match="Weights only load failed"):
        safeload.torch_load(path, weights_only=True, trusted=trusted)
    assert calls == [{"weights_only": True}]
    # The application pattern "retry with weights_only=False" still gets a scanned load: a payload is refused.
    evil = tmp_path / "evil.pt"
    torch.save({"w": torch.ones(2), "x": Evil(marker.shell)}, evil)
    for weights_only in (True, False):
        with pytest.raises(safeload.UnsafeModelError):
            safeload.torch_load(evil, weights_only=weights_only)
    assert len(calls) == 1
    assert not marker.exists()


class Opaque:
    pass


@pytest.mark.parametrize("protocol", [2, 4])
def test_load_from_bytes_payload_in_any_protocol(marker: Any, protocol: int) -> None:
    inner = io.BytesIO()
    torch.save(Evil(marker.shell), inner)
    outer = reduce_pickle("torch.storage", "_load_from_bytes", (inner.getvalue(),), protocol=protocol)
    assert_refused(outer, marker, Severity.CRITICAL)


def test_load_from_bytes_with_computed_bytes_is_blocked(marker: Any) -> None:
    outer = b"\x80\x02ctorch.storage\n_load_from_bytes\nctorch\nget_bytes\n)R\x85R."
    result = safeload.scan(outer)
    assert result.max_severity is not None and result.max_severity >= Severity.HIGH
    assert "SL103" in {f.rule_id for f in result.blocking()}
