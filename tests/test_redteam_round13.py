"""Red team round 13 (rt13): the allocation bound (R12-5's ``engine/allocation.py``) and last session's admissions.

Every attack is live: the plain loader (``pickle.load`` / ``torch.load`` in a fresh interpreter whose address space
is capped at 1 GiB) fails with MemoryError (or torch's allocator error), or does not finish within 10 s; scanned or
loaded through safeload it is refused before anything is allocated. Both engines must agree (``refused``).
"""

from __future__ import annotations

import io
import os
import pickle
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import safeload
from tests.pickle_terms import glob, lit, newobj, reduce, stream, tup, u
from tests.test_sympy_contract import refused

np = pytest.importorskip("numpy")

_N = 100000
_LIVE_TIMEOUT = 10


def _range(n: int) -> bytes:
    return reduce("builtins.range", lit(n))


def _dtype(spec: bytes) -> bytes:
    return reduce("numpy.dtype", spec)


def _live(data: bytes, tmp_path: Path, *, imports: str = "numpy", loader: str = "pickle.load(f)") -> str:
    """What the plain loader does with ``data`` under a 1 GiB address-space cap: MEMORY (MemoryError, or torch's
    allocator refusing), TIMEOUT (still running after 10 s), LOADED or the exception's name."""
    path = tmp_path / "attack.bin"
    path.write_bytes(data)
    script = (f"import pickle, resource\nimport {imports}\n"
              "resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))\n"
              f"try:\n    with open({str(path)!r}, 'rb') as f:\n        {loader}\n    print('LOADED')\n"
              "except MemoryError:\n    print('MEMORY')\n"
              "except RuntimeError as e:\n    print('MEMORY' if \"can't allocate memory\" in str(e) else 'RuntimeError')\n"
              "except Exception as e:\n    print(type(e).__name__)\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFELOAD_")}
    try:
        done = subprocess.run([sys.executable, "-c", script], env=env, timeout=_LIVE_TIMEOUT, check=False,
                              capture_output=True, text=True)
    except subprocess.TimeoutExpired:
        return "TIMEOUT"
    return done.stdout.strip() or done.stderr.strip()[-200:]


def _sl018(data: bytes) -> bool:
    return any(item.endswith(" SL018") for item in refused(data))


# --- R13-1: allocators the estimate missed or underestimated -------------------------------------------------------
# engine/allocation.py estimated sizes from literal ints only, numpy element sizes from one literal dtype text, and
# iterables only as a bare range(n) argument of a listed container. Each of these scanned clean (SAFE, nothing
# blocking) and exhausts a 1 GiB address space at load:
# - numbers the load computes: int(float("1e10")), int() of a float numpy scalar (protocol 2 writes its raw bytes as
#   _codecs.encode(text, "latin1"), which the estimate did not read), a torch.Size as the shape;
# - dtypes: a subarray ("(1024,)f8", ("f8", (1024,))), comma-separated fields, ("V", 4096), a dict with itemsize,
#   a scalar type by name (numpy.clongdouble: 32 bytes) all counted 8 bytes an element;
# - numpy.identity(n, dtype): the dtype read as the M of eye (no estimate); numpy.matlib.repmat; numpy.void(n);
#   numpy.ma.core._mareconstruct (MaskedArray's reconstructor: data and mask of the shape);
# - torch typed storages other than Byte/Float/Int/Double/Long, TypedStorage, the legacy tensor types
#   (LongTensor, DoubleTensor, ...);
# - lazy iterables over a range: dict(zip(range(n), range(n))), list(map(abs, range(n))), list(reversed(...)),
#   bytearray(map(bool, range(n))), collections.deque(map(abs, range(2**60)), 0) (CPU, no memory), and
#   list(map(list, map(range, range(2**17)))) (quadratic: 2**33 items from a 17-bit int).
# Fixed in engine/allocation.py (``_number``, ``_dtype_size``, ``_iterated``, the new estimates; a lazy iterable
# handed to any callable but another lazy wrapper counts as consumed).
def _allocation_attacks() -> dict[str, tuple[bytes, str]]:
    """label -> (pickle, modules the live twin imports before the cap)."""
    raw = struct.pack("<d", 1e10).decode("latin-1")  # as protocol 2 writes a float64 scalar's bytes
    f8_1e10 = reduce("numpy._core.multiarray.scalar", _dtype(lit("f8") + lit(False) + lit(True)),
                     reduce("_codecs.encode", lit(raw), lit("latin1")))
    size = reduce("torch.Size", tup(lit(_N), lit(_N)))
    nested = reduce("builtins.map", glob("builtins.list"), reduce("builtins.map", glob("builtins.range"),
                                                                  _range(1 << 17)))
    return {
        "int-of-float": (stream(reduce("numpy.ones", reduce("builtins.int", reduce("builtins.float",
                                                                                   lit("1e10"))))), "numpy"),
        "int-of-float-scalar": (stream(reduce("numpy.ones", reduce("builtins.int", f8_1e10))), "numpy"),
        "numpy-shape-torch-size": (stream(reduce("numpy.ones", size)), "numpy, torch"),
        "torch-tensor-of-size": (stream(reduce("torch.Tensor", size)), "torch"),
        "torch-half-storage": (stream(reduce("torch.HalfStorage", lit(1 << 36))), "torch"),
        "torch-typed-storage": (stream(reduce("torch.storage.TypedStorage", lit(1 << 36))), "torch"),
        "torch-long-tensor": (stream(reduce("torch.LongTensor", lit(_N), lit(_N))), "torch"),
        "identity-with-dtype": (stream(reduce("numpy.identity", lit(40000), lit("f8"))), "numpy"),
        "repmat": (stream(reduce("numpy.matlib.repmat", lit(1.0), lit(_N), lit(_N))), "numpy, numpy.matlib"),
        "void": (stream(reduce("numpy.void", lit((1 << 31) - 1))), "numpy"),
        "mareconstruct": (stream(reduce("numpy.ma.core._mareconstruct", glob("numpy.ma.core.MaskedArray"),
                                        glob("numpy.ndarray"), tup(lit(_N), lit(_N)), lit(b"b"))), "numpy"),
        "subarray-text": (stream(reduce("numpy.ones", lit(1 << 20), lit("(1024,)f8"))), "numpy"),
        "subarray-tuple": (stream(newobj("numpy.ndarray", lit(1 << 20), _dtype(tup(lit("f8"), tup(lit(1024)))))),
                           "numpy"),
        "fields-text": (stream(reduce("numpy.ones", lit(1 << 24), lit(",".join(["f8"] * 16)))), "numpy"),
        "void-tuple": (stream(reduce("numpy.ones", lit(1 << 20), _dtype(tup(lit("V"), lit(4096))))), "numpy"),
        "dtype-dict": (stream(reduce("numpy.ones", lit(1 << 20), _dtype(
            b"}(" + u("names") + b"](" + u("a") + b"e" + u("formats") + b"](" + u("f8") + b"e" + u("itemsize")
            + lit(4096) + b"u"))), "numpy"),
        "scalar-type-by-name": (stream(reduce("numpy.ones", lit(1 << 26), glob("numpy.clongdouble"))), "numpy"),
        "dict-zip": (stream(reduce("builtins.dict", reduce("builtins.zip", _range(1 << 34), _range(1 << 34)))),
                     "numpy"),
        "list-map": (stream(reduce("builtins.list", reduce("builtins.map", glob("builtins.abs"), _range(1 << 34)))),
                     "numpy"),
        "list-reversed": (stream(reduce("builtins.list", reduce("builtins.reversed", _range(1 << 34)))), "numpy"),
        "list-map-list": (stream(reduce("builtins.list", nested)), "numpy"),
    }


# the two whose live twin runs out of time rather than memory (bytearray grows, deque(maxlen=0) keeps nothing)
_SLOW_ALLOCATIONS = {
    "bytearray-map-bool": stream(reduce("builtins.bytearray", reduce("builtins.map", glob("builtins.bool"),
                                                                     _range(1 << 34)))),
    "deque-map-maxlen-0": stream(reduce("collections.deque", reduce("builtins.map", glob("builtins.abs"),
                                                                    _range(1 << 60)), lit(0))),
}
_TORCH_LIVE = {"numpy-shape-torch-size", "torch-tensor-of-size", "torch-half-storage", "torch-typed-storage",
               "torch-long-tensor"}


@pytest.mark.parametrize("label", sorted(set(_allocation_attacks()) - _TORCH_LIVE))
def test_r13_1_allocation_estimates(tmp_path: Path, label: str) -> None:
    data, imports = _allocation_attacks()[label]
    assert _live(data, tmp_path, imports=imports) == "MEMORY", "the plain load did not run out of memory"
    assert _sl018(data)
    with pytest.raises(safeload.UnsafeModelError):
        safeload.pickle_loads(data)


@pytest.mark.slow  # each live twin imports torch (~2 s)
@pytest.mark.parametrize("label", sorted(_TORCH_LIVE))
def test_r13_1_allocation_estimates_torch(tmp_path: Path, label: str) -> None:
    pytest.importorskip("torch")
    data, imports = _allocation_attacks()[label]
    assert _live(data, tmp_path, imports=imports) == "MEMORY", "the plain load did not run out of memory"
    assert _sl018(data)


@pytest.mark.slow  # the live twins run 10 s each
@pytest.mark.parametrize("label", sorted(_SLOW_ALLOCATIONS))
def test_r13_1_lazy_iterables_consumed_at_load(tmp_path: Path, label: str) -> None:
    data = _SLOW_ALLOCATIONS[label]
    assert _live(data, tmp_path) in ("TIMEOUT", "MEMORY"), "the plain load finished within 10 s"
    assert _sl018(data)


def test_r13_1_lazy_iterables_refused_without_running() -> None:
    """The slow twins' refusals, for the default (not slow) run."""
    for label, data in _SLOW_ALLOCATIONS.items():
        assert _sl018(data), label


def test_r13_1_ordinary_values_stay_admitted() -> None:
    """Small computed sizes, small lazy iterables, real pickles of structured, subarray, object, masked and
    void arrays, numpy float scalars, Decimals and ranges still load."""
    value = {
        "structured": np.zeros(3, dtype=[("a", "f8"), ("b", "i4", (3,))]),
        "subarray": np.zeros(4, dtype=("f8", (16,))),
        "object": np.array([1, "x", None], dtype=object),
        "masked": np.ma.masked_array([1.0, 2.0, 3.0], mask=[False, True, False]),
        "void": np.void(b"abcd"),
        "scalar": np.float64(1e10),
        "range": range(1 << 60),
        "clongdouble": np.ones(4, dtype=np.clongdouble),
    }
    for protocol in (2, 4, 5):
        loaded = safeload.pickle_loads(pickle.dumps(value, protocol=protocol))
        assert np.array_equal(loaded["structured"], value["structured"])
        assert loaded["object"].tolist() == [1, "x", None]
        assert loaded["masked"].mask.tolist() == [False, True, False]
        assert loaded["scalar"] == 1e10 and loaded["range"] == range(1 << 60)
    small = [
        stream(reduce("builtins.dict", reduce("builtins.zip", _range(10), _range(10)))),
        stream(reduce("builtins.list", reduce("builtins.map", glob("builtins.abs"), _range(100)))),
        stream(reduce("numpy.ones", reduce("builtins.int", reduce("builtins.float", lit("1e3"))))),
        stream(reduce("numpy.identity", lit(10), lit("f8"))),
        stream(reduce("builtins.list", reduce("builtins.map", glob("builtins.int"), _range(10)))),
    ]
    for data in small:
        assert not _sl018(data)
    assert safeload.pickle_loads(small[0]) == dict(zip(range(10), range(10), strict=True))


# --- R13-2: int() of a Decimal computes 10**exponent ------------------------------------------------------------------
# decimal.Decimal is admitted as a value ("1e300000000" is a cheap Decimal), and so is builtins.int; int(Decimal(...))
# computes the integer 10**300000000 (a 30-byte pickle, minutes of CPU, 125 MB). numpy integer types call int() too.
# Fraction(Decimal) was refused by R12-4's contract; int(Decimal) was not. Fixed: the int makers are charged what the
# conversion makes, and a Decimal beyond 4300 digits (Python's own limit for int() of text) is refused (SL018).
def _decimal_attacks() -> dict[str, bytes]:
    huge = reduce("decimal.Decimal", lit("1e300000000"))
    return {
        "int": stream(reduce("builtins.int", huge)),
        "int-newobj": stream(newobj("builtins.int", huge)),
        "numpy-int64": stream(reduce("numpy.int64", huge)),
        "int-of-digit-tuple": stream(reduce("builtins.int", reduce("decimal.Decimal",
                                                                   tup(lit(0), tup(lit(1)), lit(300000000))))),
    }


@pytest.mark.slow  # the live twins run 10 s each
@pytest.mark.parametrize("label", sorted(_decimal_attacks()))
def test_r13_2_int_of_a_huge_decimal(tmp_path: Path, label: str) -> None:
    data = _decimal_attacks()[label]
    assert _live(data, tmp_path, imports="numpy, decimal") == "TIMEOUT", "the plain load finished within 10 s"
    assert _sl018(data)


def test_r13_2_decimals_refused_and_ordinary_ones_load() -> None:
    import decimal

    for label, data in _decimal_attacks().items():
        assert _sl018(data), label
    assert safeload.pickle_loads(stream(reduce("builtins.int", reduce("decimal.Decimal", lit("12345"))))) == 12345
    honest = [decimal.Decimal("1e300000000"), decimal.Decimal("3.14159")]  # the values themselves are cheap
    assert safeload.pickle_loads(pickle.dumps(honest, protocol=4)) == honest


# --- R13-3: an object ndarray's BUILD state names the shape numpy allocates --------------------------------------
# _reconstruct(ndarray, (0,), b"b") then BUILD (1, shape, dtype("O8"), False, [items]): ndarray.__setstate__
# allocates the whole shape (8 bytes an element) before it compares the list's length with it. (100000, 100000)
# with a one-item list: 80 GB, scanned clean. Raw-bytes state must match the shape (numpy raises first). Fixed:
# ``allocation.state_bytes`` charges the shape of such state at BUILD.
def _object_array_state(shape: bytes, items: bytes) -> bytes:
    rebuilt = reduce("numpy._core.multiarray._reconstruct", glob("numpy.ndarray"), tup(lit(0)), lit(b"b"))
    dtype = _dtype(lit("O8") + lit(False) + lit(True)) + tup(lit(3), lit("|"), lit(None), lit(None), lit(None),
                                                             lit(-1), lit(-1), lit(63)) + b"b"
    return stream(rebuilt + tup(lit(1), shape, dtype, lit(False), items) + b"b")


def test_r13_3_object_array_state_with_a_huge_shape(tmp_path: Path) -> None:
    data = _object_array_state(tup(lit(_N), lit(_N)), b"](" + lit(1) + b"e")
    assert _live(data, tmp_path) == "MEMORY", "the plain load did not run out of memory"
    assert _sl018(data)
    with pytest.raises(safeload.UnsafeModelError):
        safeload.pickle_loads(data)
    honest = _object_array_state(tup(lit(2)), b"](" + lit(1) + u("x") + b"e")
    assert safeload.pickle_loads(honest).tolist() == [1, "x"]


# --- R13-4: a legacy torch file's storages are allocated as the pickle declares them ------------------------------
# torch.load's legacy path (non-zip files) makes torch.UntypedStorage(numel * element_size) from each persistent id
# ('storage', type, key, location, numel, None) while unpickling the main pickle, and reads the storage records
# afterwards: a 400-byte file declaring 2**30 floats asks for 4 GiB, with weights_only=True too. The scan checked
# that each record fits the file, never the declared numel. Fixed (scanners/torch.py): the declared bytes are
# bounded like any allocation (SL018) and must be what the record holds. (The zip format is safe: torch compares
# the record size before allocating.)
def _legacy_with_declared_numel(numel: int) -> bytes:
    torch = pytest.importorskip("torch")
    buffer = io.BytesIO()
    torch.save(torch.zeros(4), buffer, _use_new_zipfile_serialization=False)
    data = buffer.getvalue()
    at = data.index(b"X\x03\x00\x00\x00cpuq\x04K\x04") + len(b"X\x03\x00\x00\x00cpuq\x04")
    return data[:at] + b"J" + numel.to_bytes(4, "little") + data[at + 2:]


@pytest.mark.slow  # the live twins import torch
@pytest.mark.parametrize("weights_only", [True, False])
def test_r13_4_legacy_storage_declared_size(tmp_path: Path, weights_only: bool) -> None:
    data = _legacy_with_declared_numel(1 << 30)
    loader = f"import torch; torch.load(f, weights_only={weights_only})"
    assert _live(data, tmp_path, imports="torch", loader=loader) == "MEMORY"
    assert any(f.rule_id == "SL018" for f in safeload.scan(data).findings)
    path = tmp_path / "legacy.pt"
    path.write_bytes(data)
    with pytest.raises(safeload.UnsafeModelError):
        safeload.torch_load(path, weights_only=weights_only)


def test_r13_4_legacy_files_still_load(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    assert any(f.rule_id == "SL018" for f in safeload.scan(_legacy_with_declared_numel(1 << 30)).findings)
    assert any(f.rule_id == "SL018" for f in safeload.scan(_legacy_with_declared_numel(5)).findings)  # mismatch
    base = torch.arange(12.0)
    value = {"w": base, "view": base[2:6], "b": torch.ones(3, dtype=torch.float16)}
    path = tmp_path / "legacy.pt"
    torch.save(value, path, _use_new_zipfile_serialization=False)
    loaded = safeload.torch_load(path)
    assert torch.equal(loaded["w"], base) and torch.equal(loaded["view"], base[2:6])
    buffer = io.BytesIO()
    torch.save(value, buffer)
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as archive:
        assert any(name.endswith("data.pkl") for name in archive.namelist())


# --- R13-5: a regular expression matched at load -------------------------------------------------------------------
# re.match, re.fullmatch, re.search, re.sub, ... were admitted for CALL by the generated effect scan ("pure
# computation on its arguments"): re.match("(a+)+$", "a" * 40 + "b") backtracks for hours (a 70-byte pickle).
# Fixed: a reviewed entry (reviewed.py) admits them as values only, never called or invoked (SL115); a pickled
# pattern (re._compile) still loads.
def _regex_attacks() -> dict[str, bytes]:
    text = lit("a" * 40 + "b")
    return {
        "match": stream(reduce("re.match", lit("(a+)+$"), text)),
        "fullmatch": stream(reduce("re.fullmatch", lit("(a|aa)+"), lit("a" * 60 + "b"))),
        "search": stream(reduce("re.search", lit("(a+)+$"), text)),
        "map-match": stream(reduce("builtins.list", reduce("builtins.map", glob("re.match"),
                                                           b"](" + lit("(a+)+$") + b"e", b"](" + text + b"e"))),
    }


@pytest.mark.slow  # the live twins run 10 s each
@pytest.mark.parametrize("label", sorted(_regex_attacks()))
def test_r13_5_backtracking_regex(tmp_path: Path, label: str) -> None:
    data = _regex_attacks()[label]
    assert _live(data, tmp_path) == "TIMEOUT", "the plain load finished within 10 s"
    assert any(item.startswith("re.") and item.endswith(" SL115") for item in refused(data))


def test_r13_5_regex_refused_and_patterns_load() -> None:
    import re

    for label, data in _regex_attacks().items():
        assert any(item.startswith("re.") and item.endswith(" SL115") for item in refused(data)), label
    pattern = re.compile("ab+c", re.IGNORECASE)
    assert safeload.pickle_loads(pickle.dumps(pattern, protocol=4)) == pattern


# --- R13-6: numpy's digit strings sized by an int ------------------------------------------------------------------
# numpy.binary_repr(num, width) and numpy.base_repr(number, base, padding) pad with zeros to the width the file
# gives: binary_repr(1, 2**31) is a 2 GiB str. Fixed: estimated like the other allocators (SL018).
def test_r13_6_padded_digit_strings(tmp_path: Path) -> None:
    for data in (stream(reduce("numpy.binary_repr", lit(1), lit(1 << 31))),
                 stream(reduce("numpy.base_repr", lit(1), lit(2), lit(1 << 34)))):
        assert _live(data, tmp_path) == "MEMORY", "the plain load did not run out of memory"
        assert _sl018(data)
    assert safeload.pickle_loads(stream(reduce("numpy.binary_repr", lit(5), lit(8)))) == "00000101"


# --- R13-7: admitted iterables other than range -------------------------------------------------------------------
# list(ipaddress.ip_network("::/0")) iterates 2**128 addresses; list(numpy.ndindex(100000, 100000)) makes 10**10
# tuples; collections.deque(ip_network("::/0"), 0) keeps nothing and never ends. The networks and ndindex are
# admitted (values), and the consumers only read range(n). Fixed: ``allocation._iterated`` counts them.
def _iterable_attacks() -> dict[str, bytes]:
    network = reduce("ipaddress.ip_network", lit("::/0"))
    return {
        "list-network": stream(reduce("builtins.list", network)),
        "deque-network": stream(reduce("collections.deque", network, lit(0))),
        "list-ndindex": stream(reduce("builtins.list", reduce("numpy.ndindex", lit(_N), lit(_N)))),
    }


@pytest.mark.slow  # the live twins run 10 s each
@pytest.mark.parametrize("label", sorted(_iterable_attacks()))
def test_r13_7_iterating_admitted_values(tmp_path: Path, label: str) -> None:
    data = _iterable_attacks()[label]
    assert _live(data, tmp_path, imports="numpy, ipaddress") in ("TIMEOUT", "MEMORY"), "the plain load finished"
    assert _sl018(data)


def test_r13_7_small_networks_load() -> None:
    import ipaddress

    for label, data in _iterable_attacks().items():
        assert _sl018(data), label
    small = stream(reduce("builtins.list", reduce("ipaddress.ip_network", lit("10.0.0.0/30"))))
    assert safeload.pickle_loads(small) == list(ipaddress.ip_network("10.0.0.0/30"))
    network = ipaddress.ip_network("::/0")
    assert safeload.pickle_loads(pickle.dumps(network, protocol=4)) == network


# --- R13-8: calls that change the process, admitted as "pure computation" --------------------------------------------
# copyreg.add_extension(module, name, code) was admitted for CALL: a file loaded once registers an EXT code for any
# global (here pathlib.Path.touch), and every later unpickling in the process resolves that code -- a 30-byte
# EXT2 pickle then runs it. copyreg.remove_extension/clear_extension_cache/pickle/constructor and enum.global_enum
# change process-wide state too; uuid.getnode/uuid1 run `ip link` when _uuid has no generate_time_safe. Fixed:
# reviewed entries admit them as values only (SL115 when called).
def test_r13_8_registering_an_extension_code(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    code = 0x7FF3
    first = stream(reduce("copyreg.add_extension", lit("pathlib"), lit("Path.touch"), lit(code)))
    later = stream(b"\x83" + code.to_bytes(2, "little") + tup(reduce("pathlib.Path", lit(str(marker)))) + b"R")
    script = ("import pickle, sys\n"
              f"pickle.loads({first!r})\n"
              f"pickle.loads({later!r})\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFELOAD_")}
    subprocess.run([sys.executable, "-c", script], env=env, timeout=_LIVE_TIMEOUT, check=True)
    assert marker.exists(), "the live twin: the registered code did not resolve in the later load"
    marker.unlink()
    assert "copyreg.add_extension SL115" in refused(first)
    with pytest.raises(safeload.UnsafeModelError):
        safeload.pickle_loads(first)
    import copyreg

    assert (code not in copyreg._inverted_registry), "the refused load registered the code"  # type: ignore[attr-defined]
    assert not marker.exists()


@pytest.mark.parametrize("name", ["copyreg.remove_extension", "copyreg.clear_extension_cache", "copyreg.pickle",
                                  "copyreg.constructor", "enum.global_enum", "uuid.getnode", "uuid.uuid1"])
def test_r13_8_process_changing_calls_refused(name: str) -> None:
    assert f"{name} SL115" in refused(stream(reduce(name)))


def test_r13_8_values_of_these_modules_still_load() -> None:
    import uuid

    value = [uuid.uuid1(), uuid.uuid4(), 3 + 4j]
    assert safeload.pickle_loads(pickle.dumps(value, protocol=2)) == value


# --- already refused (regression) ---------------------------------------------------------------------------------
def _already_refused() -> dict[str, bytes]:
    rng = _range(1 << 34)
    huge = reduce("decimal.Decimal", lit("1e300000000"))
    return {
        "numpy.tile": stream(reduce("numpy.tile", lit(1.0), tup(lit(_N), lit(_N)))),
        "numpy.repeat": stream(reduce("numpy.repeat", lit(1.0), lit(_N * _N))),
        "numpy.broadcast_to": stream(reduce("numpy.broadcast_to", lit(1.0), tup(lit(_N), lit(_N)))),
        "numpy.resize": stream(reduce("numpy.resize", lit(1.0), tup(lit(_N), lit(_N)))),
        "numpy.empty_like-shape": stream(reduce("numpy.empty_like", reduce("numpy.ones", lit(1)), lit(None),
                                                lit("C"), lit(True), tup(lit(_N), lit(_N)))),
        "numpy.frombuffer-count": stream(reduce("numpy.frombuffer", lit(b"x"), lit("u1"), lit(1 << 36))),
        "as_strided": stream(reduce("numpy.lib._stride_tricks_impl.as_strided", reduce("numpy.ones", lit(2)),
                                    tup(lit(_N)), tup(lit(1 << 20)))),
        "operator.mul-str": stream(reduce("operator.mul", lit("x"), lit(1 << 36))),
        "str.__mul__": stream(reduce("builtins.str.__mul__", lit("x"), lit(1 << 36))),
        "str.zfill": stream(reduce("builtins.str.zfill", lit("x"), lit(1 << 36))),
        "numpy.char.center": stream(reduce("numpy.char.center", lit("x"), lit(1 << 33))),
        "itertools.repeat": stream(reduce("builtins.list", reduce("itertools.repeat", lit(0), lit(1 << 34)))),
        "builtins.pow": stream(reduce("builtins.pow", lit(10), lit(10**9))),
        "math.factorial": stream(reduce("math.factorial", lit(10**7))),
        "builtins.sum": stream(reduce("builtins.sum", rng)),
        "builtins.all": stream(reduce("builtins.all", reduce("builtins.range", lit(1), lit(1 << 60)))),
        "builtins.sorted": stream(reduce("builtins.sorted", rng)),
        "builtins.len": stream(reduce("numpy.ones", reduce("builtins.len", rng))),
        "torch.empty": stream(reduce("torch.empty", lit(_N), lit(_N))),
        "scipy.sparse.random": stream(reduce("scipy.sparse.random", lit(_N), lit(_N), lit(1.0))),
        "numpy.memmap-newobj": stream(newobj("numpy.memmap", tup(lit(_N), lit(_N)))),
        "round-decimal": stream(reduce("builtins.round", huge)),
        "fraction-decimal": stream(reduce("fractions.Fraction", huge)),
        "numpy.testing.measure": stream(reduce("numpy.testing.measure", lit("print(1)"))),
        "numpy.testing-dotted": stream(u("numpy") + u("testing.measure") + b"\x93" + tup(lit("print(1)")) + b"R"),
        "xarray.testing.assert_equal": stream(reduce("xarray.testing.assert_equal", lit(1), lit(1))),
    }


@pytest.mark.parametrize("label", sorted(_already_refused()))
def test_r13_already_refused(label: str) -> None:
    assert refused(_already_refused()[label])


def _pint_quantity_body() -> bytes:
    """A pint quantity as pickle writes it (protocol 4, FRAME removed so opcodes can follow), without STOP: memo 12
    is the udict, 11 the UnitsContainer, 20 the quantity."""
    pint = pytest.importorskip("pint")
    data = pickle.dumps(pint.get_application_registry().Quantity(3.0, "meter / second"), protocol=4)
    assert data[2:3] == b"\x95"
    return data[:2] + data[11:-1]


def test_r13_pint_memo_reuse_already_refused() -> None:
    """Memo reuse around the pint_quantity contract: a unit added to the udict after the quantity was admitted, a
    BUILD giving the quantity a str ``_units`` (parse_units' evaluator on first use) or ``_magnitude``, a BUILD on the
    container; the honest stream loads."""
    body = _pint_quantity_body()
    assert not refused(body + b".")
    probes = {
        "setitem-after": body + b"h\x0c" + u("meter ** 2") + lit(1) + b"s0h\x14.",
        "build-units": body + b"h\x14}" + u("_units") + u("meter * 9 ** 9 ** 9") + b"sb.",
        "build-magnitude": body + b"h\x14}" + u("_magnitude") + u("1+1") + b"sb.",
        "build-container": body + b"h\x0b}b0h\x14.",
    }
    for label, data in probes.items():
        assert refused(data), label


def test_r13_npy_header_shape_already_refused(tmp_path: Path) -> None:
    """A .npy header naming a (100000, 100000) float64 shape over 32 bytes of data: numpy.load allocates the whole
    array before reading (MemoryError under the cap); safeload's header check refuses it (SL018)."""
    buffer = io.BytesIO()
    np.save(buffer, np.zeros(4))
    data = buffer.getvalue()
    end = data.index(b"\n") + 1
    header = data[10:end]
    wide = header.replace(b"(4,)", b"(100000, 100000)").rstrip(b" \n")
    path = tmp_path / "big.npy"
    path.write_bytes(data[:10] + wide + b" " * (len(header) - len(wide) - 1) + b"\n" + data[end:])
    assert _live(b"", tmp_path, loader=f"numpy.load({str(path)!r})") == "MEMORY"
    assert any(f.rule_id == "SL018" for f in safeload.scan(path.read_bytes()).findings)
    with pytest.raises(safeload.UnsafeModelError):
        safeload.numpy_load(path)
