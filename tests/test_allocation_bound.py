"""R12-5: an allowed constructor asked by the file for more memory than it could plausibly hold is refused (SL018).

``engine/allocation.py`` estimates the bytes a call allocates from its literal arguments; above 1 GiB plus 16
times the stream's size the scan reports SL018 (HIGH) in both engines, and the safe loader refuses before anything
is allocated. Small calls and real files (numpy arrays, bytearrays, lists) still load.
"""

from __future__ import annotations

import pickle

import pytest

import safeload
from safeload.engine import native
from safeload.engine.allocation import FIXED_CAP, allocation_bound, requested_bytes
from tests.pickle_terms import glob, lit, newobj, reduce, stream, tup

ENGINES = ["python", *(["native"] if native.AVAILABLE else [])]
_BIG = tup(lit(100000), lit(100000))


def _attacks() -> dict[str, tuple[str, bytes]]:
    """label -> (the callable SL018 names, a pickle asking it for tens of GiB)."""
    rng = reduce("builtins.range", lit(1 << 34))
    return {
        "numpy.ones": ("numpy.ones", stream(reduce("numpy.ones", _BIG))),
        "numpy.full": ("numpy.full", stream(reduce("numpy.full", _BIG, lit(1.0)))),
        "matlib.zeros": ("numpy.matlib.zeros", stream(reduce("numpy.matlib.zeros", _BIG))),
        "matlib.empty": ("numpy.matlib.empty", stream(reduce("numpy.matlib.empty", _BIG))),
        "matlib.rand": ("numpy.matlib.rand", stream(reduce("numpy.matlib.rand", lit(100000), lit(100000)))),
        "ndarray-newobj": ("numpy.ndarray", stream(newobj("numpy.ndarray", _BIG))),
        "ndarray-call": ("numpy.ndarray", stream(reduce("numpy.ndarray", _BIG))),
        "ndarray-wide-dtype": ("numpy.ndarray", stream(reduce("numpy.ndarray", tup(lit(1000)), lit("V10000000")))),
        "recarray": ("numpy.recarray", stream(newobj("numpy.recarray", _BIG))),
        "_reconstruct": ("numpy._core.multiarray._reconstruct",
                         stream(reduce("numpy._core.multiarray._reconstruct", glob("numpy.ndarray"), _BIG,
                                       lit(b"b")))),
        "_reconstruct-numpy1": ("numpy.core.multiarray._reconstruct",
                                stream(reduce("numpy.core.multiarray._reconstruct", glob("numpy.ndarray"), _BIG,
                                              lit(b"b")))),
        "linspace": ("numpy.linspace", stream(reduce("numpy.linspace", lit(0), lit(1), lit(1 << 32)))),
        "eye": ("numpy.eye", stream(reduce("numpy.eye", lit(100000)))),
        "identity": ("numpy.identity", stream(reduce("numpy.identity", lit(100000)))),
        "tri": ("numpy.tri", stream(reduce("numpy.tri", lit(100000)))),
        "indices": ("numpy.indices", stream(reduce("numpy.indices", _BIG))),
        "numpy.array-range": ("numpy.array", stream(reduce("numpy.array", rng))),
        "bytearray": ("builtins.bytearray", stream(reduce("builtins.bytearray", lit(1 << 36)))),
        "bytearray-newobj": ("builtins.bytearray", stream(newobj("builtins.bytearray", lit(1 << 36)))),
        "bytes": ("builtins.bytes", stream(reduce("builtins.bytes", lit(1 << 36)))),
        "list-range": ("builtins.list", stream(reduce("builtins.list", rng))),
        "tuple-range": ("builtins.tuple", stream(reduce("builtins.tuple", rng))),
        "set-range": ("builtins.set", stream(reduce("builtins.set", rng))),
        "frozenset-range": ("builtins.frozenset", stream(reduce("builtins.frozenset", rng))),
        "deque-range": ("collections.deque", stream(reduce("collections.deque", rng))),
        "array-range": ("array.array", stream(reduce("array.array", lit("b"), rng))),
        "torch.Tensor": ("torch.Tensor", stream(reduce("torch.Tensor", lit(100000), lit(100000)))),
        "torch.UntypedStorage": ("torch.UntypedStorage", stream(reduce("torch.UntypedStorage", lit(1 << 36)))),
        "ones-int-text": ("numpy.ones", stream(reduce("numpy.ones", tup(reduce("builtins.int", lit("100000")),
                                                                         reduce("builtins.int", lit("100000")))))),
        "list-range-int-text": ("builtins.list", stream(reduce("builtins.list", reduce(
            "builtins.range", reduce("builtins.int", lit(str(1 << 34))))))),
        "lil_matrix": ("scipy.sparse._lil.lil_matrix",
                       stream(reduce("scipy.sparse._lil.lil_matrix", tup(lit(1 << 30), lit(3))))),
    }


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("label", sorted(_attacks()))
def test_allocation_above_the_bound_is_refused(monkeypatch: pytest.MonkeyPatch, engine: str, label: str) -> None:
    monkeypatch.setenv("SAFELOAD_ENGINE", engine)
    name, data = _attacks()[label]
    result = safeload.scan(data)
    assert not result.is_safe()
    assert any(f.rule_id == "SL018" and f.subject == name and f.severity >= safeload.Severity.HIGH
               for f in result.findings), [(f.rule_id, f.subject) for f in result.findings]
    with pytest.raises(safeload.UnsafeModelError):  # refused before the loader runs: no MemoryError, no allocation
        safeload.pickle_loads(data)


@pytest.mark.parametrize("engine", ENGINES)
def test_small_allocations_are_admitted(monkeypatch: pytest.MonkeyPatch, engine: str) -> None:
    monkeypatch.setenv("SAFELOAD_ENGINE", engine)
    pytest.importorskip("numpy")
    small = [
        stream(reduce("numpy.ones", tup(lit(10), lit(10)))),
        stream(reduce("numpy.full", tup(lit(3),), lit(2.0))),
        stream(reduce("numpy.eye", lit(100))),
        stream(newobj("numpy.ndarray", tup(lit(3), lit(3)))),
        stream(reduce("builtins.bytearray", lit(100))),
        stream(reduce("builtins.list", reduce("builtins.range", lit(10)))),
        stream(reduce("builtins.range", lit(1 << 60))),  # range is lazy: nothing is allocated
    ]
    for data in small:
        assert not any(f.rule_id == "SL018" for f in safeload.scan(data).findings), data
    assert safeload.pickle_loads(small[5]) == list(range(10))
    assert safeload.pickle_loads(small[4]) == bytearray(100)


@pytest.mark.parametrize("engine", ENGINES)
def test_real_files_still_load(monkeypatch: pytest.MonkeyPatch, engine: str) -> None:
    np = pytest.importorskip("numpy")
    monkeypatch.setenv("SAFELOAD_ENGINE", engine)
    array = np.arange(1 << 20, dtype=np.float64).reshape(1024, 1024)  # 8 MiB, rebuilt by _reconstruct + BUILD
    value = {"array": array, "bytes": bytearray(b"x" * 5000), "list": list(range(10)), "set": set(range(50))}
    for protocol in (2, 4, 5):
        loaded = safeload.pickle_loads(pickle.dumps(value, protocol=protocol))
        assert np.array_equal(loaded["array"], array)
        assert loaded["bytes"] == value["bytes"] and loaded["list"] == value["list"] and loaded["set"] == value["set"]


class _NumpyDims:
    """Reduces to ``numpy.ones`` with numpy integer scalars as the dimensions (``scalar(dtype("i8"), raw)``)."""

    def __reduce__(self) -> tuple[object, ...]:
        import numpy as np

        return (np.ones, ((np.int64(100000), np.int64(100000)),))


@pytest.mark.parametrize("engine", ENGINES)
def test_numpy_scalar_dimensions_are_read(monkeypatch: pytest.MonkeyPatch, engine: str) -> None:
    """A dimension pickled as a numpy scalar is read from its raw bytes (the larger byte order: errs high)."""
    pytest.importorskip("numpy")
    monkeypatch.setenv("SAFELOAD_ENGINE", engine)
    data = pickle.dumps(_NumpyDims(), protocol=4)
    result = safeload.scan(data)
    assert any(f.rule_id == "SL018" and f.subject == "numpy.ones" for f in result.findings)
    with pytest.raises(safeload.UnsafeModelError):
        safeload.pickle_loads(data)


@pytest.mark.parametrize("engine", ENGINES)
def test_many_calls_under_the_bound_add_up(monkeypatch: pytest.MonkeyPatch, engine: str) -> None:
    """Four 512 MiB numpy.ones calls in one list: each under the bound, 2 GiB together."""
    monkeypatch.setenv("SAFELOAD_ENGINE", engine)
    one = reduce("numpy.ones", tup(lit(1 << 13), lit(1 << 13)))
    assert not any(f.rule_id == "SL018" for f in safeload.scan(stream(one)).findings)
    data = stream(b"(" + one * 4 + b"l")
    result = safeload.scan(data)
    assert [f.subject for f in result.findings if f.rule_id == "SL018"] == ["numpy.ones"]
    with pytest.raises(safeload.UnsafeModelError):
        safeload.pickle_loads(data)


def test_the_bound_grows_with_the_stream() -> None:
    """A big stream may ask for proportionally more; the estimate reads literals only (None otherwise)."""
    assert allocation_bound(0) == FIXED_CAP
    assert allocation_bound(1 << 30) == FIXED_CAP + 16 * (1 << 30)
    assert requested_bytes("numpy.ones", ((100000, 100000),), None) == 8 * 10**10
    assert requested_bytes("numpy.ones", ((10, 10),), {"dtype": "complex128"}) == 1600
    assert requested_bytes("numpy.ndarray", ((10,), "U100"), None) == 4000
    assert requested_bytes("builtins.bytearray", (b"abc",), None) is None  # bytes given: the file carries them
    assert requested_bytes("numpy.ones", ((10, object()),), None) is None  # a size only known at load
    assert requested_bytes("numpy.save", ((10**12,),), None) is None       # not an allocator


@pytest.mark.parametrize("engine", ENGINES)
def test_the_fixed_part_is_a_limit(monkeypatch: pytest.MonkeyPatch, engine: str) -> None:
    """``limits.max_allocation_bytes`` (policy, config file or ``SAFELOAD_MAX_ALLOCATION_BYTES``) sets the fixed part:
    a service with little memory lowers it, one that rebuilds big arrays from small files raises it."""
    np = pytest.importorskip("numpy")
    monkeypatch.setenv("SAFELOAD_ENGINE", engine)
    eight_mib = stream(reduce("numpy.ones", tup(lit(1024), lit(1024))))
    assert not any(f.rule_id == "SL018" for f in safeload.scan(eight_mib).findings)
    small = safeload.Policy(limits=safeload.Limits(max_allocation_bytes=1 << 20))
    result = safeload.scan(eight_mib, policy=small)
    assert [f.subject for f in result.findings if f.rule_id == "SL018"] == ["numpy.ones"]
    assert "limits.max_allocation_bytes (1048576)" in next(f.message for f in result.findings if f.rule_id == "SL018")
    with pytest.raises(safeload.UnsafeModelError):
        safeload.pickle_loads(eight_mib, policy=small)
    monkeypatch.setenv("SAFELOAD_MAX_ALLOCATION_BYTES", str(1 << 20))
    with pytest.raises(safeload.UnsafeModelError):
        safeload.pickle_loads(eight_mib)
    # raised: two 1.5 GiB requests (3 GiB together) pass a 4 GiB limit and are refused by the default one
    big = stream(b"(" + reduce("numpy.ones", tup(lit(3 << 14), lit(1 << 12))) * 2 + b"l")
    monkeypatch.delenv("SAFELOAD_MAX_ALLOCATION_BYTES")
    assert any(f.rule_id == "SL018" for f in safeload.scan(big).findings)
    roomy = safeload.Policy(limits=safeload.Limits(max_allocation_bytes=4 << 30))
    assert not any(f.rule_id == "SL018" for f in safeload.scan(big, policy=roomy).findings)
    assert np.array_equal(safeload.pickle_loads(eight_mib), np.ones((1024, 1024)))
