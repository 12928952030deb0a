"""joblib: inline raw arrays (THREATS B15), compressed files (C11), old formats, limits, and the safe loader.

Every file is built here with the real joblib; payloads only touch ``marker.path``.
"""

from __future__ import annotations

import bz2
import io
import os
import pickle
import tracemalloc
import warnings
import zlib
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pytest

import safeload
from safeload import Limits, Policy, Severity, UnsafeModelError
from safeload.loaders.joblib import joblib_load

COMPRESSIONS: list[Any] = [3, ("zlib", 1), ("zlib", 9), ("gzip", 3), ("bz2", 3), ("lzma", 3), ("xz", 3), ("xz", 9)]
try:
    import lz4  # noqa: F401

    COMPRESSIONS += [("lz4", 3), ("lz4", 0 + 1)]
except ImportError:  # pragma: no cover - lz4 is a dev dependency
    pass


class Touch:
    """Unpickling it runs ``os.system(touch marker)``."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (self.command,))


def severities(result: safeload.ScanResult) -> dict[str, Severity]:
    return {f.rule_id: f.severity for f in result.findings}


def assert_refused(path: Path, marker: Any, rule: str = "SL101", level: Severity = Severity.CRITICAL,
                   **load_kwargs: Any) -> safeload.ScanResult:
    result = safeload.scan(path)
    assert result.max_severity == level, result.findings
    assert rule in severities(result), result.findings
    with pytest.raises(UnsafeModelError) as info:
        joblib_load(path, **load_kwargs)
    assert isinstance(info.value, pickle.UnpicklingError)
    with open(path, "rb") as handle, pytest.raises(UnsafeModelError):
        joblib_load(handle)
    assert not marker.exists()
    return result


def assert_clean(path: Path | bytes) -> safeload.ScanResult:
    result = safeload.scan(path)
    noisy = [f for f in result.findings if f.severity > Severity.INFO]
    assert not noisy, noisy
    return result


def sample_arrays() -> dict[str, Any]:
    rng = np.random.default_rng(0)
    return {
        "f8": rng.random((7, 5)),
        "fortran": np.asfortranarray(rng.random((4, 6)).astype(np.float32)),
        "big_endian": np.arange(10, dtype=">i4"),
        "bool": rng.random(9) > 0.5,
        "u1": np.arange(256, dtype=np.uint8),
        "f2": np.linspace(0, 1, 5, dtype=np.float16),
        "c16": np.array([1 + 2j, 3 - 4j]),
        "longdouble": np.array([1.5, 2.5], dtype=np.longdouble),
        "unicode": np.array(["alpha", "β", ""]),
        "bytes": np.array([b"ab", b"c"]),
        "void": np.zeros(3, dtype="V7"),
        "datetime": np.array(["2024-01-01", "2025-06-30"], dtype="M8[ns]"),
        "timedelta": np.array([1, 2], dtype="m8[s]"),
        "structured": np.zeros(3, dtype=[("a", "<f4"), ("b", "S3", (2,)), ("c", [("x", "<i2")])]),
        "subarray": np.zeros(2, dtype=("<f8", (2, 3))),
        "empty": np.zeros((0, 5)),
        "scalar0d": np.array(3.25),
        "objects": np.array([1, "two", None, (3,)], dtype=object),
        "scalar": np.float64(2.5),
        "nested": [np.ones(3), {"deep": np.arange(4)}],
    }


def assert_same(a: Any, b: Any) -> None:
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for key in a:
            assert_same(a[key], b[key])
    elif isinstance(a, list | tuple):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            assert_same(x, y)
    elif isinstance(a, np.ndarray):
        assert type(a) is type(b) or isinstance(b, np.memmap)
        assert a.dtype.newbyteorder("=") == b.dtype.newbyteorder("=") and a.shape == b.shape
        np.testing.assert_array_equal(a, b)
    else:
        assert a == b


# --- B15: a payload after the first inline array ------------------------------------------------------------
@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_b15_payload_after_inline_array(tmp_path: Path, marker: Any, protocol: int) -> None:
    path = tmp_path / "model.joblib"
    joblib.dump({"a_weights": np.ones(10), "z_payload": Touch(marker.shell)}, path, protocol=protocol)
    result = assert_refused(path, marker)
    assert any(f.rule_id == "SL301" for f in result.findings)


def test_b15_payload_after_many_arrays_and_object_array(tmp_path: Path, marker: Any) -> None:
    path = tmp_path / "model.joblib"
    obj = {"a": [np.random.default_rng(1).random((50, 50)) for _ in range(5)],
           "b": np.array([1, "x"], dtype=object), "c": np.ones((3, 3), order="F"), "z": Touch(marker.shell)}
    joblib.dump(obj, path)
    assert_refused(path, marker)


def test_payload_inside_object_array(tmp_path: Path, marker: Any) -> None:
    path = tmp_path / "model.joblib"
    joblib.dump({"w": np.ones(4), "objs": np.array([1, Touch(marker.shell)], dtype=object)}, path)
    assert_refused(path, marker)


def test_payload_in_nested_file_object_dump(marker: Any) -> None:
    buffer = io.BytesIO()
    joblib.dump([np.ones(5), Touch(marker.shell)], buffer)  # no tell() alignment issue: BytesIO is seekable
    buffer.seek(0)
    with pytest.raises(UnsafeModelError):
        joblib_load(buffer)
    assert safeload.scan(buffer.getvalue()).max_severity == Severity.CRITICAL
    assert not marker.exists()


# --- C11: compressed joblib -----------------------------------------------------------------------------------
@pytest.mark.parametrize("compress", COMPRESSIONS, ids=str)
def test_c11_compressed_payload(tmp_path: Path, marker: Any, compress: Any) -> None:
    path = tmp_path / "model.joblib"
    joblib.dump({"w": np.arange(1000.0), "z": Touch(marker.shell)}, path, compress=compress)
    result = assert_refused(path, marker)
    assert any(f.rule_id == "SL301" and "compressed" in f.message for f in result.findings)


@pytest.mark.parametrize("suffix", [".z", ".gz", ".bz2", ".xz", ".lzma"])
def test_c11_compression_chosen_by_extension(tmp_path: Path, marker: Any, suffix: str) -> None:
    path = tmp_path / f"model.pkl{suffix}"
    joblib.dump(Touch(marker.shell), path)
    assert_refused(path, marker)


@pytest.mark.parametrize("compress", [0, *COMPRESSIONS], ids=str)
def test_round_trip_every_dtype(tmp_path: Path, compress: Any) -> None:
    path = tmp_path / "arrays.joblib"
    obj = sample_arrays()
    joblib.dump(obj, path, compress=compress)
    assert_clean(path)
    loaded = joblib_load(path)
    assert_same(joblib.load(path), loaded)
    assert_same(obj, loaded)
    with open(path, "rb") as handle:
        assert_same(obj, joblib_load(handle))


def test_round_trip_unaligned_stream(tmp_path: Path) -> None:
    """A non-seekable target makes joblib skip the alignment padding (numpy_array_alignment_bytes=None)."""

    class Pipe(io.RawIOBase):
        def __init__(self) -> None:
            self.chunks: list[bytes] = []

        def writable(self) -> bool:
            return True

        def write(self, b: Any) -> int:
            self.chunks.append(bytes(b))
            return len(b)

        def tell(self) -> int:
            raise io.UnsupportedOperation("tell")

    sink = Pipe()
    obj = {"a": np.arange(12.0).reshape(3, 4), "b": np.ones(5, dtype=np.int16)}
    joblib.dump(obj, sink)
    data = b"".join(sink.chunks)
    assert_clean(data)
    assert_same(obj, joblib_load(io.BytesIO(data)))


def test_mmap_round_trip_keeps_real_filename(tmp_path: Path) -> None:
    path = tmp_path / "arrays.joblib"
    obj = {"a": np.arange(1000.0), "b": np.ones((20, 30), order="F", dtype=np.float32)}
    joblib.dump(obj, path)
    for mode in ("r", "c", "r+"):
        loaded = joblib_load(path, mmap_mode=mode)
        expected = joblib.load(path, mmap_mode=mode)
        assert isinstance(loaded["a"], np.memmap)
        assert loaded["a"].filename == expected["a"].filename == os.path.abspath(path)
        assert_same(expected, loaded)
        del loaded, expected


def test_mmap_with_compressed_file_warns_like_joblib(tmp_path: Path) -> None:
    path = tmp_path / "arrays.joblib"
    joblib.dump({"a": np.arange(10.0)}, path, compress=3)
    with pytest.warns(UserWarning, match="not compatible with compressed file"):
        loaded = joblib_load(path, mmap_mode="r")
    assert not isinstance(loaded["a"], np.memmap)
    with pytest.raises(ValueError, match="Native byte ordering"):
        joblib_load(path, mmap_mode="r", ensure_native_byte_order=True)


def test_pathlike_and_str_and_file_object(tmp_path: Path) -> None:
    path = tmp_path / "x.joblib"
    joblib.dump([1, np.ones(2)], path)
    assert_same(joblib_load(str(path)), joblib_load(path))
    with open(path, "rb") as handle:
        handle.read(3)  # joblib peeks from the current position of a buffered file
        handle.seek(0)
        assert_same([1, np.ones(2)], joblib_load(handle))


def test_bytesio_not_at_start_is_read_from_zero_like_joblib(marker: Any) -> None:
    buffer = io.BytesIO()
    joblib.dump(Touch(marker.shell), buffer)
    buffer.seek(5)  # joblib rewinds objects without peek() to 0: the scan must cover the same bytes
    with pytest.raises(UnsafeModelError):
        joblib_load(buffer)
    assert not marker.exists()


# --- limits, truncation, inconsistencies ------------------------------------------------------------------------
def _bz2_bomb(streams: int) -> bytes:
    """Concatenated bz2 streams of 900 kB of zeros each (bz2 readers, joblib's included, follow them all)."""
    one = bz2.compress(b"\0" * 900_000, 9)
    return one * streams


def test_decompression_bomb_is_a_finding_with_bounded_memory(tmp_path: Path, marker: Any) -> None:
    path = tmp_path / "bomb.joblib"
    path.write_bytes(_bz2_bomb(120))  # ~108 MB out of ~5 kB
    assert path.stat().st_size < 100_000
    tracemalloc.start()
    try:
        result = safeload.scan(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 48 << 20, peak
    assert severities(result).get("SL017") == Severity.HIGH
    with pytest.raises(UnsafeModelError):
        joblib_load(path)
    assert not marker.exists()


def test_decompressed_size_cap(tmp_path: Path) -> None:
    path = tmp_path / "big.joblib"
    joblib.dump(np.random.default_rng(0).random(300_000), path, compress=("gzip", 1))
    policy = Policy(limits=Limits(max_decompressed_bytes=1 << 20))
    result = safeload.scan(path, policy=policy)
    assert severities(result).get("SL016") == Severity.HIGH
    with pytest.raises(UnsafeModelError):
        joblib_load(path, policy=policy)


@pytest.mark.parametrize("compress", [0, 3, ("bz2", 3), ("xz", 3), ("gzip", 3)], ids=str)
def test_truncated_files_block(tmp_path: Path, compress: Any) -> None:
    path = tmp_path / "t.joblib"
    joblib.dump({"a": np.random.default_rng(0).random(5000), "b": [1, 2, 3]}, path, compress=compress)
    data = path.read_bytes()
    cut = tmp_path / "cut.joblib"
    cut.write_bytes(data[: len(data) // 2])
    result = safeload.scan(cut)
    assert result.max_severity is not None and result.max_severity >= Severity.HIGH
    assert {"SL002", "SL018"} & set(severities(result)), result.findings
    with pytest.raises(UnsafeModelError):
        joblib_load(cut)


def _wrapper_pickle(state: dict[str, Any], raw: bytes, tail: Any) -> bytes:
    """A hand-made joblib stream: NumpyArrayWrapper with ``state``, ``raw`` bytes, then ``tail`` pickled."""
    from joblib.numpy_pickle import NumpyArrayWrapper

    head = pickle.dumps(NumpyArrayWrapper.__new__(NumpyArrayWrapper), protocol=2)
    head = head[:-1]  # drop STOP
    head += pickle.dumps(state, protocol=2)[2:-1] + pickle.BUILD
    return head + raw + pickle.dumps(tail, protocol=2)[2:]


def test_hidden_opcodes_in_unaligned_raw_region_found_for_plain_pickle(tmp_path: Path, marker: Any) -> None:
    """joblib skips the raw bytes, ``pickle.load`` executes them: both readings are scanned."""
    payload = pickle.POP + pickle.dumps(Touch(marker.shell), protocol=2)[2:-1] + pickle.POP
    state = {"subclass": np.ndarray, "shape": (len(payload),), "order": "C", "dtype": np.dtype("u1"),
             "allow_mmap": False}
    data = _wrapper_pickle(state, payload, [1])
    path = tmp_path / "hidden.pkl"
    path.write_bytes(data)
    result = safeload.scan(path)
    assert result.max_severity == Severity.CRITICAL, result.findings
    with pytest.raises(UnsafeModelError):
        joblib_load(path)
    with pytest.raises(UnsafeModelError), open(path, "rb") as handle:
        safeload.pickle_load(handle)
    assert not marker.exists()


@pytest.mark.parametrize(("state", "rule"), [
    ({"shape": (10**9,), "dtype": np.dtype("f8"), "order": "C"}, "SL018"),
    ({"shape": (-1,), "dtype": np.dtype("f8"), "order": "C"}, "SL018"),
    ({"shape": "ten", "dtype": np.dtype("f8"), "order": "C"}, "SL002"),
    ({"shape": (3,), "dtype": "f8", "order": "C"}, "SL002"),
])
def test_inconsistent_wrapper_blocks(tmp_path: Path, state: dict[str, Any], rule: str) -> None:
    path = tmp_path / "bad.joblib"
    path.write_bytes(_wrapper_pickle({"subclass": np.ndarray, "allow_mmap": False, **state}, b"\0" * 24, [1]))
    result = safeload.scan(path)
    assert severities(result).get(rule) == Severity.HIGH, result.findings
    with pytest.raises(UnsafeModelError):
        joblib_load(path)


# --- joblib < 0.10 companion files ------------------------------------------------------------------------------
def _nd_wrapper_pickle(filename: str) -> bytes:
    from joblib.numpy_pickle_compat import NDArrayWrapper

    return pickle.dumps([NDArrayWrapper(filename, np.ndarray)], protocol=2)


def test_old_format_companion_payload_is_scanned(tmp_path: Path, marker: Any) -> None:
    path = tmp_path / "old.pkl"
    path.write_bytes(_nd_wrapper_pickle("old.pkl_01.npy"))
    np.save(tmp_path / "old.pkl_01.npy", np.array([1, Touch(marker.shell)], dtype=object), allow_pickle=True)
    result = safeload.scan(path)
    assert result.max_severity == Severity.CRITICAL
    with pytest.raises(UnsafeModelError):
        joblib_load(path)
    assert not marker.exists()


def test_old_format_clean_companion_loads(tmp_path: Path) -> None:
    path = tmp_path / "old.pkl"
    path.write_bytes(_nd_wrapper_pickle("old.pkl_01.npy"))
    np.save(tmp_path / "old.pkl_01.npy", np.arange(5))
    assert_clean(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        np.testing.assert_array_equal(joblib_load(path)[0], np.arange(5))


@pytest.mark.parametrize(("name", "rule"), [("../escape.npy", "SL102"), ("/etc/passwd", "SL102"),
                                            ("missing.npy", "SL007")])
def test_old_format_companion_outside_or_missing_blocks(tmp_path: Path, name: str, rule: str) -> None:
    path = tmp_path / "old.pkl"
    path.write_bytes(_nd_wrapper_pickle(name))
    result = safeload.scan(path)
    assert severities(result).get(rule) == Severity.HIGH, result.findings
    with pytest.raises(UnsafeModelError):
        joblib_load(path)
    assert severities(safeload.scan(path.read_bytes())).get(rule, Severity.HIGH) >= Severity.HIGH


def test_zf_container_with_payload(tmp_path: Path, marker: Any) -> None:
    """joblib < 0.10 compressed files: ``ZF`` + hex length + zlib stream."""
    data = pickle.dumps(Touch(marker.shell), protocol=2)
    path = tmp_path / "old.gz"
    path.write_bytes(b"ZF" + hex(len(data)).encode().ljust(19) + zlib.compress(data))
    result = safeload.scan(path)
    assert result.max_severity == Severity.CRITICAL
    with pytest.raises(UnsafeModelError):
        joblib_load(path)
    assert not marker.exists()


def test_wrapper_build_inside_a_frame_blocks(tmp_path: Path) -> None:
    """joblib commits the frame before the raw bytes; a BUILD mid-frame makes joblib and the scan disagree."""
    import struct

    state = {"subclass": np.ndarray, "shape": (0,), "order": "C", "dtype": np.dtype("f8"), "allow_mmap": False}
    body = _wrapper_pickle(state, b"", [1])[2:]
    framed = b"\x80\x04\x95" + struct.pack("<Q", len(body)) + body
    result = safeload.scan(framed)
    assert severities(result).get("SL113") == Severity.HIGH, result.findings
    path = tmp_path / "framed.joblib"
    path.write_bytes(framed)
    with pytest.raises(UnsafeModelError):
        joblib_load(path)


def test_hidden_opcodes_in_crafted_padding_found_for_plain_pickle(tmp_path: Path, marker: Any) -> None:
    """A padding-length byte that is also an opcode (0x8c: 140 bytes of 'padding') hides a payload from
    genops-style readers of the joblib layout; pickle.load executes it."""
    command = marker.shell.encode()
    assert len(command) < 120
    body = b"\x00" + b"cos\nsystem\n" + b"\x8c" + bytes([len(command)]) + command + b"\x85R0"
    padding = b"\x8c" + body.ljust(140, b"N")
    state = {"subclass": np.ndarray, "shape": (2,), "order": "C", "dtype": np.dtype("f8"), "allow_mmap": False,
             "numpy_array_alignment_bytes": 16}
    path = tmp_path / "padding.joblib"
    path.write_bytes(_wrapper_pickle(state, padding + b"\0" * 16, [1]))
    result = safeload.scan(path)
    assert result.max_severity == Severity.CRITICAL, result.findings
    with pytest.raises(UnsafeModelError):
        joblib_load(path)
    with pytest.raises(UnsafeModelError), open(path, "rb") as handle:
        safeload.pickle_load(handle)
    assert not marker.exists()


def test_under_the_import_hook(tmp_path: Path, marker: Any) -> None:
    """With joblib.load and numpy.load patched, the safe loaders still reach the real ones (no recursion),
    and joblib's own internal numpy.load of an old-format companion file goes through the scan too."""
    clean = tmp_path / "clean.joblib"
    joblib.dump({"w": np.arange(6.0), "n": [1, 2]}, clean, compress=3)
    evil = tmp_path / "evil.joblib"
    joblib.dump({"w": np.ones(3), "z": Touch(marker.shell)}, evil)
    old = tmp_path / "old.pkl"
    old.write_bytes(_nd_wrapper_pickle("old.pkl_01.npy"))
    np.save(tmp_path / "old.pkl_01.npy", np.arange(4))
    with safeload.patched(targets=["joblib", "numpy"]):
        assert joblib.load(clean)["n"] == [1, 2]
        assert safeload.joblib_load(clean)["n"] == [1, 2]
        with pytest.raises(UnsafeModelError):
            joblib.load(evil)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            np.testing.assert_array_equal(joblib.load(old)[0], np.arange(4))
        np.testing.assert_array_equal(np.load(tmp_path / "old.pkl_01.npy"), np.arange(4))
    assert not marker.exists()
