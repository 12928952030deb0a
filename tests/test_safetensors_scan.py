"""safetensors files: every file the real writers produce scans clean; every header the real crate rejects is SL801.

The oracle is the installed ``safetensors`` library itself (``safetensors.deserialize`` runs the Rust crate's
header checks): hostile headers are asserted to be rejected by it too, and hypothesis compares the two verdicts
on generated and mutated headers. Polyglots (bytes that are safetensors and also run as a pickle) get both
readings scanned.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import pickle
import pickletools
import struct
import time
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import safeload
from safeload._sniff import Format, sniff
from safeload.scanners.safetensors import DTYPE_BITS, MAX_VALUES, SafetensorsError, read_header
from safeload.severity import Severity

safetensors = pytest.importorskip("safetensors")
st_numpy = pytest.importorskip("safetensors.numpy")


def _pack(header: bytes | str, data: bytes = b"", n: int | None = None) -> bytes:
    raw = header.encode() if isinstance(header, str) else header
    return struct.pack("<Q", len(raw) if n is None else n) + raw + data


def _crate_accepts(buf: bytes) -> bool:
    try:
        safetensors.deserialize(buf)
    except Exception:  # noqa: BLE001 - SafetensorError, or a panic surfaced as an exception: both "rejects"
        return False
    return True


def _ours_accepts(buf: bytes) -> bool:
    try:
        read_header(buf)
    except SafetensorsError:
        return False
    return True


def _problems(result: safeload.ScanResult) -> list[str]:
    return [f.rule_id for f in result.findings if f.severity > Severity.INFO]


def _assert_clean(buf: bytes, tensors: int) -> None:
    result = safeload.scan(buf)
    assert _problems(result) == [], result.findings
    assert result.formats == ("safetensors",)
    facts = [f for f in result.findings if f.rule_id == "SL001"]
    assert facts and facts[0].details["tensors"] == tensors


# -- real files from the real writers ------------------------------------------------------------------------
_NUMPY_DTYPES = [np.bool_, np.uint8, np.int8, np.int16, np.uint16, np.float16, np.int32, np.uint32, np.float32,
                 np.float64, np.int64, np.uint64, np.complex64]


def test_numpy_writer_every_dtype_empty_scalar_and_metadata() -> None:
    rng = np.random.default_rng(0)
    tensors: dict[str, np.ndarray] = {}
    for dtype in _NUMPY_DTYPES:
        name = np.dtype(dtype).name
        tensors[name] = (rng.standard_normal((3, 5)) * 10).astype(dtype)
        tensors[f"{name}_empty"] = np.zeros((0, 4), dtype=dtype)
        tensors[f"{name}_scalar"] = np.array(1, dtype=dtype)
    buf = st_numpy.save(tensors, metadata={"format": "np", "note": "é ✓ \"quoted\""})
    _assert_clean(buf, len(tensors))
    assert read_header(buf).metadata == {"format": "np", "note": "é ✓ \"quoted\""}
    assert _crate_accepts(buf)


def test_torch_writer_every_dtype(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    st_torch = pytest.importorskip("safetensors.torch")
    dtypes = [torch.bool, torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64, torch.float16,
              torch.bfloat16, torch.float32, torch.float64, torch.complex64, torch.float8_e4m3fn, torch.float8_e5m2,
              torch.uint16, torch.uint32, torch.uint64]
    dtypes += [d for d in (getattr(torch, "float8_e8m0fnu", None),) if d is not None]
    tensors = {}
    for dtype in dtypes:
        name = str(dtype).removeprefix("torch.")
        tensors[name] = torch.zeros((2, 3)).to(dtype)
        tensors[f"{name}_empty"] = torch.zeros((0,)).to(dtype)
    tensors["shared_view_copy"] = torch.arange(12, dtype=torch.float32).reshape(3, 4)[1:].contiguous()
    path = tmp_path / "model.safetensors"
    st_torch.save_file(tensors, str(path), metadata={"format": "pt"})
    result = safeload.scan(path)
    assert _problems(result) == [], result.findings
    assert result.formats == ("safetensors",)
    assert set(read_header(path.read_bytes()).tensors) == set(tensors)
    loaded = st_torch.load_file(str(path))  # the real loader agrees
    assert set(loaded) == set(tensors)


def test_empty_file_of_tensors_and_header_length_128_is_not_a_pickle() -> None:
    _assert_clean(st_numpy.save({}), 0)
    # A header of exactly 128 bytes starts with 0x80 0x00: pickle's PROTO opcode. It is routed as safetensors, and
    # the pickle reading breaks before importing anything, so it is not scanned as a (broken) pickle.
    header = json.dumps({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}).encode()
    header += b" " * (128 - len(header))
    buf = _pack(header, b"\0" * 4)
    assert buf[:2] == b"\x80\x00" and _crate_accepts(buf)
    assert sniff(buf) is Format.SAFETENSORS
    _assert_clean(buf, 1)


def test_sharded_checkpoint_folder_scans_clean(tmp_path: Path) -> None:
    for i in range(3):
        st_numpy.save_file({f"layer{i}.w": np.ones((4, 4), np.float32)}, str(tmp_path / f"model-0000{i + 1}.safetensors"))
    index = {"metadata": {"total_size": 192}, "weight_map": {f"layer{i}.w": f"model-0000{i + 1}.safetensors"
                                                             for i in range(3)}}
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps(index))
    result = safeload.scan(tmp_path)
    assert _problems(result) == [], result.findings
    assert [f.rule_id for f in result.findings].count("SL001") == 3


# -- hostile headers: SL801, and the crate rejects them too --------------------------------------------------
_VALID = {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}


def _tensor(dtype: Any = "F32", shape: Any = (2,), offsets: Any = (0, 8)) -> dict[str, Any]:
    return {"dtype": dtype, "shape": list(shape) if isinstance(shape, tuple) else shape,
            "data_offsets": list(offsets) if isinstance(offsets, tuple) else offsets}


HOSTILE: dict[str, bytes] = {
    "truncated header": _pack(b'{"a":{}}', n=400),
    "huge header length": _pack(b"{}", n=1 << 40),
    "header over the 100 MB cap": _pack(b"{}", n=100_000_001),
    "length bytes only": struct.pack("<Q", 2) + b"{",
    "overlap": _pack(json.dumps({"a": _tensor(), "b": _tensor(offsets=(4, 12))}), b"\0" * 12),
    "gap": _pack(json.dumps({"a": _tensor(offsets=(0, 8)), "b": _tensor(offsets=(12, 20))}), b"\0" * 20),
    "gap at start": _pack(json.dumps({"a": _tensor(offsets=(4, 12))}), b"\0" * 12),
    "out of bounds": _pack(json.dumps({"a": _tensor(shape=(4,), offsets=(0, 16))}), b"\0" * 8),
    "trailing garbage": _pack(json.dumps(_VALID), b"\0" * 8 + b"PK\x03\x04 extra"),
    "size mismatch": _pack(json.dumps({"a": _tensor(shape=(3,), offsets=(0, 8))}), b"\0" * 8),
    "end before begin": _pack(json.dumps({"a": _tensor(shape=(0,), offsets=(0, 0)),
                                          "b": _tensor(shape=(0,), offsets=(8, 0))}), b"\0" * 8),
    "bad dtype": _pack(json.dumps({"a": _tensor(dtype="F31")}), b"\0" * 8),
    "lower-case dtype": _pack(json.dumps({"a": _tensor(dtype="f32")}), b"\0" * 8),
    "negative shape": _pack(json.dumps({"a": _tensor(shape=(-2,))}), b"\0" * 8),
    "minus zero in shape": _pack(b'{"a":{"dtype":"F32","shape":[-0,2],"data_offsets":[0,0]}}'),
    "float shape": _pack(b'{"a":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}}', b"\0" * 8),
    "bool shape": _pack(b'{"a":{"dtype":"F32","shape":[true],"data_offsets":[0,4]}}', b"\0" * 4),
    "shape beyond u64": _pack(b'{"a":{"dtype":"F32","shape":[18446744073709551616],"data_offsets":[0,8]}}',
                              b"\0" * 8),
    "shape overflow": _pack(b'{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}}'),
    "sub-byte dtype not byte aligned": _pack(b'{"a":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}}', b"\0" * 2),
    "three offsets": _pack(b'{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8,8]}}', b"\0" * 8),
    "non-object JSON (array)": _pack(b"[]"),
    "non-object JSON (string)": _pack(b'"{}"', n=4),
    "tensor info is a number": _pack(b'{"a":1}'),
    "missing field": _pack(b'{"a":{"dtype":"F32","shape":[2]}}'),
    "duplicate field": _pack(b'{"a":{"dtype":"F32","dtype":"F32","shape":[2],"data_offsets":[0,8]}}', b"\0" * 8),
    "duplicate __metadata__": _pack(b'{"__metadata__":{"a":"b"},"__metadata__":{"a":"c"}}'),
    "metadata value not a string": _pack(b'{"__metadata__":{"a":1}}'),
    "metadata is a list": _pack(b'{"__metadata__":[["a","b"]]}'),
    "NaN": _pack(b'{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":NaN}}', b"\0" * 8),
    "Infinity": _pack(b'{"__metadata__":{},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":-Infinity}}',
                      b"\0" * 8),
    "number out of f64 range": _pack(b'{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1e999}}', b"\0" * 8),
    "huge integer literal": _pack(b'{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":' + b"9" * 5000 + b"}}",
                                  b"\0" * 8),
    "deep nesting (128)": _pack(b'{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":' + b"[" * 126 + b"]" * 126
                                + b"}}", b"\0" * 8),
    "deep nesting (100k)": _pack(b'{"x":' + b"[" * 100_000 + b"]" * 100_000 + b"}"),
    "lone surrogate": _pack(b'{"__metadata__":{"x":"\\ud800"}}'),
    "control character in a string": _pack(b'{"__metadata__":{"a":"\x01"}}'),
    "BOM": _pack(b'\xef\xbb\xbf{}'),
    "invalid UTF-8": _pack(b'{"__metadata__":{"x":"\xff"}}'),
    "NUL padding": _pack(b"{}\x00\x00"),
    "vertical tab is not JSON whitespace": _pack(b'{\x0b"__metadata__":{}}'),
    "dtype map with a value": _pack(b'{"a":{"dtype":{"F32":1},"shape":[1],"data_offsets":[0,4]}}', b"\0" * 4),
    "array form with 4 items": _pack(b'{"a":["F32",[1],[0,4],1]}', b"\0" * 4),
    "last duplicate tensor wins (bad)": _pack(
        b'{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"a":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}',
        b"\0" * 12),
}

# Odd but accepted by the crate (0.8): they must scan clean, not be "fixed" into refusals.
ODD_VALID: dict[str, bytes] = {
    "leading and trailing whitespace": _pack(b' \t\n{"__metadata__":null}\r\n  '),
    "array form tensor info": _pack(b'{"a":["F32",[2],[0,8]]}', b"\0" * 8),
    "dtype as a unit-variant map": _pack(b'{"a":{"dtype":{"F32":null},"shape":[2],"data_offsets":[0,8]}}', b"\0" * 8),
    "unknown fields ignored": _pack(b'{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":[[{"y":null}]]}}',
                                    b"\0" * 8),
    "nesting of 127": _pack(b'{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":' + b"[" * 125 + b"]" * 125
                            + b"}}", b"\0" * 8),
    "repeated tensor name (last wins)": _pack(
        b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}',
        b"\0" * 8),
    "repeated metadata key": _pack(b'{"__metadata__":{"a":"1","a":"2"}}'),
    "escaped __metadata__ key": _pack(b'{"\\u005f_metadata__":{"a":"b"}}'),
    "offsets out of order": _pack(b'{"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},'
                                  b'"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', b"\0" * 8),
    "zero-size tensors sharing an offset": _pack(b'{"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},'
                                                 b'"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', b"\0" * 4),
    "F4 pairs": _pack(b'{"a":{"dtype":"F4","shape":[2,2],"data_offsets":[0,2]}}', b"\0" * 2),
    "u64 max dimension times zero": _pack(b'{"a":{"dtype":"F32","shape":[18446744073709551615,0],'
                                          b'"data_offsets":[0,0]}}'),
    "duplicate unknown field": _pack(b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1,"x":2}}', b"\0" * 4),
    "surrogate pair": _pack(b'{"__metadata__":{"x":"\\ud83d\\ude00"}}'),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_header_is_refused_like_the_crate(name: str) -> None:
    buf = HOSTILE[name]
    assert not _crate_accepts(buf), "the oracle accepts this: the case is not hostile"
    started = time.monotonic()
    result = safeload.scan(buf, name="model.safetensors")
    assert time.monotonic() - started < 10
    # Bytes whose header does not even open a JSON object are not routed as safetensors: unknown content.
    expected = "SL003" if name.startswith(("non-object JSON", "vertical tab")) else "SL801"
    assert expected in _problems(result), result.findings
    assert "SL005" not in _problems(result)
    assert not result.is_safe()


@pytest.mark.parametrize("name", sorted(ODD_VALID))
def test_odd_but_valid_header_is_clean(name: str) -> None:
    buf = ODD_VALID[name]
    assert _crate_accepts(buf)
    assert _ours_accepts(buf)
    assert _problems(safeload.scan(buf)) == []


def test_every_truncation_of_a_real_file_fails_closed() -> None:
    buf = st_numpy.save({"w": np.arange(6, dtype=np.float32), "b": np.ones(2, np.int64)}, metadata={"k": "v"})
    for cut in range(len(buf)):
        result = safeload.scan(buf[:cut])
        assert not result.is_safe(), (cut, result.findings)
        assert "SL005" not in _problems(result)
        assert _ours_accepts(buf[:cut]) == _crate_accepts(buf[:cut])


def test_value_budget_fails_closed_without_parsing() -> None:
    header = b'{"__metadata__":{"a":"' + b"[" * (MAX_VALUES + 1) + b'"}}'
    buf = _pack(header)
    assert _crate_accepts(buf)  # a legal (if absurd) header: the refusal is safeload's bound, and it says so
    result = safeload.scan(buf)
    assert any(f.rule_id == "SL801" and "too complex" in f.message for f in result.findings)


def test_dtype_table_matches_the_installed_crate() -> None:
    try:
        safetensors.deserialize(_pack(b'{"a":{"dtype":"NOPE","shape":[],"data_offsets":[0,0]}}'))
    except Exception as exc:  # noqa: BLE001 - the crate's message lists its variants
        listed = set(__import__("re").findall(r"`(\w+)`", str(exc))) - {"NOPE"}
    assert listed == set(DTYPE_BITS)
    for dtype, bits in DTYPE_BITS.items():
        count = 8  # a whole number of bytes for every dtype
        good = _pack(json.dumps({"a": _tensor(dtype, (count,), (0, count * bits // 8))}), b"\0" * (count * bits // 8))
        assert _crate_accepts(good) and _ours_accepts(good), dtype


# -- polyglots: safetensors that is also a pickle ----------------------------------------------------------------
def test_safetensors_whose_prefix_runs_as_a_pickle_is_scanned_both_ways(marker: Any) -> None:
    # Header length 0x0A63: bytes "c\n\0\0\0\0\0\0" are pickle's GLOBAL with an empty module line; the name line
    # runs into the JSON up to a raw newline (JSON whitespace). The crate accepts the file; the pure-Python
    # unpickler (joblib's) gets as far as importing a name from it. Both readings must be scanned.
    n = 0x0A63
    head = b'{"__metadata__":{"a":"b"}\n'
    header = head + b" " * (n - len(head) - 1) + b"}"
    buf = _pack(header)
    assert _crate_accepts(buf)
    assert buf[:2] == b"c\n"
    result = safeload.scan(buf)
    assert "pickle" in result.formats and "safetensors" in result.formats
    assert "SL206" in _problems(result)
    assert not result.is_safe()
    with pytest.raises(ValueError, match="Empty module name"):  # the unpickler got as far as an import
        pickle._Unpickler(io.BytesIO(buf)).load()  # joblib's base class


class _Payload:
    def __init__(self, cmd: str) -> None:
        self.cmd = cmd

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (self.cmd,))


def test_gzip_whose_header_looks_like_safetensors_is_scanned_as_gzip_too(tmp_path: Path, marker: Any) -> None:
    # gzip's XFL and OS bytes (8, 9) set to '{"': the length bytes read 559903, so the file is routed as safetensors.
    # joblib.load reads it by its gzip magic and unpickles what it decompresses to: that reading must be scanned.
    raw = bytearray(gzip.compress(pickle.dumps(_Payload(marker.shell)), mtime=0))
    raw[8:10] = b'{"'
    path = tmp_path / "model.joblib"
    path.write_bytes(bytes(raw))
    assert sniff(bytes(raw)) is Format.SAFETENSORS
    result = safeload.scan(path)
    assert {"SL801", "SL206", "SL101"} <= set(_problems(result)), result.findings
    joblib = pytest.importorskip("joblib")
    with pytest.raises(safeload.UnsafeModelError):
        safeload.joblib_load(str(path))
    assert callable(joblib.load)


def _pickle_that_looks_like_safetensors(cmd: str) -> bytes:
    """BINUNICODE whose 4-byte length and first bytes make "X\\x05\\0\\0\\0\\0\\0\\0" + '{"': a header length of
    1368 then a JSON object, to the sniffer; POP; then a protocol-2 pickle calling ``os.system``."""
    crafted = b"X" + struct.pack("<I", 5) + b'\0\0\0{"' + b"0" + pickle.dumps(_Payload(cmd), protocol=2)[2:]
    pickletools.dis(crafted, out=io.StringIO())  # a well-formed pickle (raises otherwise; never loaded here)
    return crafted


def test_pickle_routed_as_safetensors_is_still_scanned_as_a_pickle(tmp_path: Path, marker: Any) -> None:
    crafted = _pickle_that_looks_like_safetensors(marker.shell)
    assert sniff(crafted) is Format.SAFETENSORS
    result = safeload.scan(crafted)
    assert {"SL801", "SL101"} <= set(_problems(result)), result.findings
    with pytest.raises(safeload.UnsafeModelError):
        safeload.pickle_load(io.BytesIO(crafted))
    # inside a torch zip, under a name no loader unpickles by, it is scanned as the pickle it is
    torch_zip = tmp_path / "model.pt"
    with zipfile.ZipFile(torch_zip, "w") as archive:
        archive.writestr("archive/data.pkl", pickle.dumps({"w": 1}, protocol=2))
        archive.writestr("archive/extra/blob", crafted)
    assert "SL101" in _problems(safeload.scan(torch_zip))


def test_header_length_376_is_a_zlib_magic_but_not_a_stream() -> None:
    header = json.dumps({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}).encode()
    buf = _pack(header + b" " * (376 - len(header)), b"\0" * 4)
    assert buf[:2] == b"x\x01" and _crate_accepts(buf)
    _assert_clean(buf, 1)


# -- fuzz: never a crash, a hang or an internal error ------------------------------------------------------------
_SEED = st_numpy.save({"w": np.arange(4, dtype=np.float32), "i": np.zeros((2, 0), np.int8)}, metadata={"f": "np"})


def _json_value(depth: int = 2) -> st.SearchStrategy[Any]:
    leaves = st.one_of(st.none(), st.booleans(), st.integers(-3, 2**64 + 2), st.floats(allow_nan=False,
                       allow_infinity=False), st.text(max_size=6), st.sampled_from(sorted(DTYPE_BITS)))
    return st.recursive(leaves, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                        st.dictionaries(st.text(max_size=4), inner, max_size=3)),
                        max_leaves=8)


@st.composite
def _headers(draw: st.DrawFn) -> bytes:
    """Plausible headers: consistent tensors with occasional corruption of one field, or raw mutations."""
    tensors: dict[str, Any] = {}
    offset = 0
    for i in range(draw(st.integers(0, 4))):
        dtype = draw(st.sampled_from(sorted(DTYPE_BITS)))
        shape = draw(st.lists(st.integers(0, 4), max_size=3))
        count = int(np.prod(shape)) if shape else 1
        size = count * DTYPE_BITS[dtype] // 8
        info: Any = _tensor(dtype, tuple(shape), (offset, offset + size))
        if draw(st.integers(0, 5)) == 0:
            info[draw(st.sampled_from(["dtype", "shape", "data_offsets", "extra"]))] = draw(_json_value())
        if draw(st.integers(0, 7)) == 0:
            info = [info.get("dtype"), info.get("shape"), info.get("data_offsets")]
        tensors[f"t{i}"] = info
        offset += size
    if draw(st.booleans()):
        tensors["__metadata__"] = draw(st.one_of(st.none(), st.dictionaries(st.text(max_size=3), st.text(max_size=3),
                                                                           max_size=2), _json_value()))
    header = json.dumps(tensors).encode()
    header += b" " * draw(st.integers(0, 8))
    data = b"\0" * (offset + draw(st.sampled_from([0, 0, 0, 1, -1])))
    buf = bytearray(_pack(header, data if len(data) >= 0 else b""))
    for _ in range(draw(st.integers(0, 2))):
        if len(buf) > 8:
            at = draw(st.integers(8, len(buf) - 1))
            buf[at] = draw(st.integers(0, 255))
    return bytes(buf)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_headers())
def test_differential_against_the_crate(buf: bytes) -> None:
    assert _ours_accepts(buf) == _crate_accepts(buf), buf[:300]


def _key(name: str, escaped: bool) -> str:
    return '"' + ("".join(f"\\u{ord(c):04x}" for c in name) if escaped else name) + '"'


@st.composite
def _repeated_keys(draw: st.DrawFn) -> bytes:
    """Headers written by hand, with repeated keys (tensors, __metadata__, info fields), some of them escaped."""
    pairs = []
    offset = 0
    for i in range(draw(st.integers(0, 3))):
        name = draw(st.sampled_from([f"t{i}", "t0", "__metadata__", "dtype"]))
        fields = [("dtype", '"U8"'), ("shape", f"[{4}]"), ("data_offsets", f"[{offset},{offset + 4}]")]
        fields += draw(st.lists(st.sampled_from([("dtype", '"U8"'), ("shape", "[4]"), ("x", "1"), ("x", "2")]),
                                max_size=2))
        fields = draw(st.permutations(fields))
        body = ",".join(f"{_key(k, draw(st.integers(0, 9)) == 0)}:{v}" for k, v in fields)
        pairs.append(f"{_key(name, draw(st.integers(0, 9)) == 0)}:{{{body}}}")
        offset += 4 if name != "__metadata__" else 0
    for _ in range(draw(st.integers(0, 2))):
        pairs.insert(draw(st.integers(0, len(pairs))), f'{_key("__metadata__", draw(st.integers(0, 9)) == 0)}:{{"k":"v"}}')
    total = draw(st.sampled_from([offset, 4, 8, 12]))
    return _pack("{" + ",".join(pairs) + "}", b"\0" * total)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_repeated_keys())
def test_repeated_keys_like_the_crate(buf: bytes) -> None:
    assert _ours_accepts(buf) == _crate_accepts(buf), buf[:300]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=64), st.integers(0, len(_SEED)), st.integers(0, 2**64 - 1))
def test_mutated_files_never_crash_or_hang(junk: bytes, at: int, length: int) -> None:
    for buf in (_SEED[:at] + junk + _SEED[at + len(junk):], struct.pack("<Q", length) + _SEED[8:],
                struct.pack("<Q", length % 300) + b"{" + junk):
        started = time.monotonic()
        result = safeload.scan(buf)
        assert time.monotonic() - started < 5
        assert "SL005" not in [f.rule_id for f in result.findings], result.findings
        if "safetensors" in result.formats and result.is_safe():
            assert _crate_accepts(buf)
