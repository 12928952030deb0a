"""numpy ``.npy``/``.npz``: object arrays with payloads (THREATS C12), header parsing, numpy's own test data.

Every file is built here with the real numpy; payloads only touch ``marker.path``.
"""

from __future__ import annotations

import io
import os
import pickle
import struct
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import safeload
from safeload import Severity, UnsafeModelError
from safeload.loaders.numpy import numpy_load


class Touch:
    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (self.command,))


def rules(result: safeload.ScanResult) -> dict[str, Severity]:
    return {f.rule_id: f.severity for f in result.findings}


def assert_clean(source: Any) -> safeload.ScanResult:
    result = safeload.scan(source)
    noisy = [f for f in result.findings if f.severity > Severity.INFO]
    assert not noisy, noisy
    return result


# --- C12: object-dtype .npy with a __reduce__ payload --------------------------------------------------------
@pytest.mark.parametrize("allow_pickle", [True, False])
def test_c12_object_npy_payload(tmp_path: Path, marker: Any, allow_pickle: bool) -> None:
    path = tmp_path / "evil.npy"
    np.save(path, np.array([1, Touch(marker.shell)], dtype=object), allow_pickle=True)
    result = safeload.scan(path)
    assert rules(result)["SL302"] == Severity.INFO
    assert result.max_severity == Severity.CRITICAL
    with pytest.raises(UnsafeModelError) as info:
        numpy_load(path, allow_pickle=allow_pickle)
    assert isinstance(info.value, pickle.UnpicklingError)
    with open(path, "rb") as handle, pytest.raises(UnsafeModelError):
        numpy_load(handle, allow_pickle=True)
    assert not marker.exists()


def test_c12_structured_dtype_with_object_field(tmp_path: Path, marker: Any) -> None:
    path = tmp_path / "evil.npy"
    arr = np.zeros(2, dtype=[("w", "<f8"), ("o", "O")])
    arr["o"][1] = Touch(marker.shell)
    np.save(path, arr, allow_pickle=True)
    assert safeload.scan(path).max_severity == Severity.CRITICAL
    with pytest.raises(UnsafeModelError):
        numpy_load(path, allow_pickle=True)
    assert not marker.exists()


def test_c13_extension_does_not_matter(tmp_path: Path, marker: Any) -> None:
    path = tmp_path / "weights.safetensors"
    np.save(tmp_path / "x.npy", np.array([Touch(marker.shell)], dtype=object), allow_pickle=True)
    path.write_bytes((tmp_path / "x.npy").read_bytes())
    assert safeload.scan(path).max_severity == Severity.CRITICAL
    with pytest.raises(UnsafeModelError):
        numpy_load(path, allow_pickle=True)
    assert not marker.exists()


def test_pickle_file_through_numpy_load(tmp_path: Path, marker: Any) -> None:
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps(Touch(marker.shell)))
    with pytest.raises(UnsafeModelError):
        numpy_load(path, allow_pickle=True)
    assert not marker.exists()
    path.write_bytes(pickle.dumps({"a": [1, 2]}))
    assert numpy_load(path, allow_pickle=True) == {"a": [1, 2]}
    with pytest.raises(ValueError, match="allow_pickle"):
        numpy_load(path)


# --- round trips -------------------------------------------------------------------------------------------
ARRAYS = {
    "f8": np.random.default_rng(0).random((5, 4)),
    "fortran": np.asfortranarray(np.arange(12, dtype=">i8").reshape(3, 4)),
    "unicode": np.array(["a", "βγ"]),
    "structured": np.zeros(3, dtype=[("a", "<f4"), ("b", "S3", (2,))]),
    "datetime": np.array(["2020-01-01"], dtype="M8[D]"),
    "empty": np.zeros((0, 3)),
    "scalar": np.array(2.5),
    "bool": np.array([True, False]),
    "complex": np.array([1j], dtype=np.complex64),
}


@pytest.mark.parametrize("name", sorted(ARRAYS))
@pytest.mark.parametrize("version", [None, (1, 0), (2, 0), (3, 0)])
def test_numeric_round_trip(tmp_path: Path, name: str, version: tuple[int, int] | None) -> None:
    arr = ARRAYS[name]
    path = tmp_path / "a.npy"
    with open(path, "wb") as handle:
        np.lib.format.write_array(handle, arr, version=version)
    result = assert_clean(path)
    assert "npy" in result.formats
    loaded = numpy_load(path)
    assert loaded.dtype == arr.dtype
    np.testing.assert_array_equal(loaded, arr)
    with open(path, "rb") as handle:
        np.testing.assert_array_equal(numpy_load(handle), arr)


def test_object_round_trip_and_mmap(tmp_path: Path) -> None:
    path = tmp_path / "o.npy"
    np.save(path, np.array([1, "two", None, {"k": [3]}], dtype=object), allow_pickle=True)
    assert_clean(path)
    assert numpy_load(path, allow_pickle=True)[3] == {"k": [3]}
    with pytest.raises(ValueError, match="allow_pickle"):
        numpy_load(path)
    numeric = tmp_path / "n.npy"
    np.save(numeric, np.arange(100.0))
    for source in (numeric, str(numeric)):
        for mode in ("r", "c", "r+"):
            mapped = numpy_load(source, mmap_mode=mode)
            assert isinstance(mapped, np.memmap)
            assert mapped.filename == np.load(source, mmap_mode=mode).filename  # the real path, not /proc
            assert str(mapped.filename) == os.path.abspath(numeric)
            np.testing.assert_array_equal(mapped, np.arange(100.0))
            del mapped


def test_npz_round_trip_and_payload(tmp_path: Path, marker: Any) -> None:
    path = tmp_path / "a.npz"
    np.savez_compressed(path, w=np.arange(10), o=np.array([1, "x"], dtype=object))
    assert_clean(path)
    with numpy_load(path, allow_pickle=True) as data:
        np.testing.assert_array_equal(data["w"], np.arange(10))
        assert list(data["o"]) == [1, "x"]
    data = numpy_load(path)
    data.close()
    assert data.fid is None
    evil = tmp_path / "evil.npz"
    np.savez(evil, w=np.ones(3), o=np.array([Touch(marker.shell)], dtype=object))
    assert safeload.scan(evil).max_severity == Severity.CRITICAL
    with pytest.raises(UnsafeModelError):
        numpy_load(evil, allow_pickle=True)
    assert not marker.exists()


# --- malformed headers and truncation ---------------------------------------------------------------------
def _npy(header: str, version: tuple[int, int] = (1, 0), body: bytes = b"") -> bytes:
    raw = header.encode("latin1")
    fmt = "<H" if version == (1, 0) else "<I"
    return b"\x93NUMPY" + bytes(version) + struct.pack(fmt, len(raw)) + raw + body


@pytest.mark.parametrize("data", [
    _npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2,)"),
    _npy("[1, 2]"),
    _npy("{'descr': '<f8', 'fortran_order': False}"),
    _npy("{'descr': '<f8', 'fortran_order': 0, 'shape': (2,)}"),
    _npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2.5,)}"),
    _npy("{'descr': '<f8', 'fortran_order': False, 'shape': (-1,)}"),
    _npy("{'descr': 'nonsense', 'fortran_order': False, 'shape': (2,)}"),
    _npy("{'descr': '<f8', 'fortran_order': False, 'shape': __import__('os')}"),
    _npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2,)}", version=(9, 0)),
    b"\x93NUMPY\x01\x00\xff\xff{'descr'",
    b"\x93NUMPY\x02\x00" + struct.pack("<I", 1 << 30) + b"{",
], ids=["unterminated", "not-a-dict", "missing-key", "bad-fortran", "float-shape", "negative-shape",
        "unknown-dtype", "call-in-header", "bad-version", "truncated-header", "huge-header"])
def test_malformed_header_blocks(tmp_path: Path, data: bytes) -> None:
    result = safeload.scan(data)
    assert rules(result).get("SL303") == Severity.HIGH, result.findings
    path = tmp_path / "bad.npy"
    path.write_bytes(data)
    with pytest.raises(UnsafeModelError):
        numpy_load(path)


def test_truncated_numeric_data_blocks(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    np.save(buffer, np.arange(1000.0))
    data = buffer.getvalue()[:-100]
    assert rules(safeload.scan(data)).get("SL018") == Severity.HIGH
    path = tmp_path / "cut.npy"
    path.write_bytes(data)
    with pytest.raises(UnsafeModelError):
        numpy_load(path)


def test_py2_header_with_long_suffix() -> None:
    data = _npy("{'descr': '<i8', 'fortran_order': False, 'shape': (2L,), }", body=b"\0" * 16)
    assert_clean(data)
    with pytest.warns(UserWarning, match="Python 2"):
        np.testing.assert_array_equal(numpy_load(io.BytesIO(data)), [0, 0])


def test_numeric_scan_reads_only_the_header(tmp_path: Path) -> None:
    path = tmp_path / "big.npy"
    arr = np.lib.format.open_memmap(path, mode="w+", dtype=np.float64, shape=(4096, 4096))
    del arr
    result = assert_clean(path)
    assert result.duration < 0.5


# --- numpy's own test data -----------------------------------------------------------------------------------
DATA_DIR = Path(np.__file__).parent / "lib" / "tests" / "data"


@pytest.mark.parametrize("name", sorted(p.name for p in DATA_DIR.iterdir()) if DATA_DIR.is_dir() else [])
def test_numpy_shipped_test_data(name: str) -> None:
    path = DATA_DIR / name
    assert_clean(path)
    # py2 object arrays need encoding='latin1' in numpy.load itself; pass numpy's own arguments.
    kwargs: dict[str, Any] = {"allow_pickle": True, "encoding": "latin1" if name.startswith("py2") else "ASCII"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # numpy's "created on Python 2" header note
        expected = np.load(path, **kwargs)
        got = numpy_load(path, **kwargs)
    if name.endswith(".npz"):
        with expected, got:
            assert sorted(expected.files) == sorted(got.files)
            for key in expected.files:
                np.testing.assert_array_equal(expected[key], got[key])
    else:
        assert expected.dtype == got.dtype
        np.testing.assert_array_equal(expected, got)


JOBLIB_DATA = Path(__import__("joblib").__file__).parent / "test" / "data"


@pytest.mark.parametrize("name", sorted(p.name for p in JOBLIB_DATA.glob("*.npy")) if JOBLIB_DATA.is_dir() else [])
def test_joblib_companion_npy_files(name: str) -> None:
    path = JOBLIB_DATA / name
    assert_clean(path)
    np.testing.assert_array_equal(np.load(path, allow_pickle=True), numpy_load(path, allow_pickle=True))
