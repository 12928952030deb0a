"""Hash-collision floods (red team R12-2, ``engine/collisions.py``): distinct dict keys or set items sharing one hash at
load are counted per stream by both engines, and more than ``limits.max_key_collisions`` (128) on one hash is SL020.

Each flood here is harmless data: its only effect at load is the k**2/2 comparisons of building the container
(``tests/test_redteam_round12.py`` keeps the live twins: the plain load of 30000-60000 such keys takes more than
10 s). Every test runs each engine (``SAFELOAD_ENGINE``) and checks that the scan itself stays fast.
"""

from __future__ import annotations

import decimal
import fractions
import pickle
import random
import struct
import time
import uuid

import pytest

import safeload
from safeload.engine import native
from safeload.engine.collisions import call_hash, tuple_hash
from safeload.engine.values import Call, Global
from safeload.policy import Limits, Policy
from tests.pickle_terms import get, glob, lit, memo, newobj, reduce, stream, tup

M = (1 << 61) - 1
ENGINES = ["python", pytest.param("native", marks=pytest.mark.skipif(not native.AVAILABLE, reason="not compiled"))]


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("SAFELOAD_ENGINE", request.param)
    monkeypatch.setenv("SAFELOAD_CACHE", "0")
    return str(request.param)


def blocking(data: bytes, seconds: float = 10.0, policy: Policy | None = None) -> set[str]:
    """The rule ids of the scan's blocking findings; the scan must finish within ``seconds``."""
    started = time.perf_counter()
    result = safeload.scan(data, policy=policy) if policy is not None else safeload.scan(data)
    elapsed = time.perf_counter() - started
    assert elapsed < seconds, f"the scan took {elapsed:.1f} s"
    return {f.rule_id for f in result.blocking()}


def colliding(count: int, residue: int = 5) -> list[int]:
    """``count`` distinct ints above 2**61 hashing to ``residue``."""
    return [residue + i * M for i in range(1, count + 1)]


def items(values: list[int] | list[float]) -> bytes:
    return b"".join(lit(v) for v in values)


def pairs(values: list[int], value: bytes = b"N") -> bytes:
    return b"".join(lit(v) + value for v in values)


def plain_list(values: list[int]) -> bytes:
    return b"(" + items(values) + b"l"


def pair_list(values: list[int]) -> bytes:
    return b"(" + b"".join(tup(lit(v), lit(i)) for i, v in enumerate(values)) + b"l"


def colliding_small_pairs(count: int, target: int = 12345) -> list[tuple[int, int]]:
    """Distinct 2-tuples of ints below 2**61 whose tuple hash is ``target``: CPython's xxHash-based tuple hash is
    invertible in its last lane, so b is solved for each a (a quarter of the lanes are an int's hash)."""
    mask = (1 << 64) - 1
    p1, p2, p5 = 11400714785074694791, 14029467366897019727, 2870177450012600261
    acc2 = (((target - (2 ^ (p5 ^ 3527539))) & mask) * pow(p1, -1, 1 << 64)) & mask
    acc2 = ((acc2 >> 31) | (acc2 << 33)) & mask
    out: list[tuple[int, int]] = []
    a = 0
    while len(out) < count:
        a += 1
        acc1 = (p5 + a * p2) & mask
        acc1 = ((((acc1 << 31) | (acc1 >> 33)) & mask) * p1) & mask
        lane = ((acc2 - acc1) * pow(p2, -1, 1 << 64)) & mask
        b = lane - (1 << 64) if lane >> 63 else lane
        if -M < b < M and b != -1:
            out.append((a, b))
    return out


FLOODS = {
    # the containers the machine builds itself
    "dict-setitems": lambda v: stream(b"}(" + pairs(v) + b"u"),
    "dict-setitem": lambda v: stream(b"}" + b"".join(lit(x) + b"Ns" for x in v)),
    "dict-batches-of-one": lambda v: stream(b"}" + b"".join(b"(" + lit(x) + b"Nu" for x in v)),
    "dict-opcode": lambda v: stream(b"(" + pairs(v) + b"d"),
    "set-additems": lambda v: stream(b"\x8f(" + items(v) + b"\x90"),
    "frozenset": lambda v: stream(b"(" + items(v) + b"\x91"),
    "negative-ints": lambda v: stream(b"}(" + pairs([-x for x in v]) + b"u"),
    "tuple-keys": lambda v: stream(b"}(" + b"".join(tup(lit(x), lit("a")) + b"N" for x in v) + b"u"),
    "frozenset-keys": lambda v: stream(b"}(" + b"".join(b"(" + lit(x) + b"\x91N" for x in v) + b"u"),
    "nested": lambda v: stream(b"}(" + lit("a") + b"](}(" + pairs(v) + b"ueu"),
    "build-state": lambda v: stream(glob("collections.OrderedDict") + b")\x81}(" + pairs(v) + b"ub"),
    # dict subclasses filled by SETITEMS
    "ordereddict-setitems": lambda v: stream(reduce("collections.OrderedDict") + b"(" + pairs(v) + b"u"),
    "defaultdict-setitems": lambda v: stream(reduce("collections.defaultdict", b"N") + b"(" + pairs(v) + b"u"),
    # calls that hash their argument's items
    "dict-of-pairs": lambda v: stream(reduce("builtins.dict", pair_list(v))),
    "ordereddict-of-pairs": lambda v: stream(reduce("collections.OrderedDict", pair_list(v))),
    "counter-of-list": lambda v: stream(reduce("collections.Counter", plain_list(v))),
    "set-of-list": lambda v: stream(reduce("builtins.set", plain_list(v))),
    "frozenset-of-list": lambda v: stream(reduce("builtins.frozenset", plain_list(v))),
    "dict-fromkeys": lambda v: stream(reduce(reduce("builtins.getattr", glob("builtins.dict"), lit("fromkeys")),
                                             plain_list(v))),
}


@pytest.mark.parametrize("flood", sorted(FLOODS))
def test_a_flood_is_refused_in_each_engine(engine: str, flood: str) -> None:
    assert "SL020" in blocking(FLOODS[flood](colliding(2000)), seconds=5)


@pytest.mark.parametrize("flood", ["dict-setitems", "set-additems", "frozenset", "dict-of-pairs", "set-of-list"])
def test_one_hundred_colliding_keys_stay_clean(engine: str, flood: str) -> None:
    """The bound (128) is far above what real data has on one hash; 100 colliding keys are not refused."""
    assert "SL020" not in blocking(FLOODS[flood](colliding(100)))
    assert not blocking(FLOODS["dict-setitems"](colliding(100)))


def test_the_bound_is_a_setting(engine: str) -> None:
    data = FLOODS["dict-setitems"](colliding(100))
    assert "SL020" in blocking(data, policy=Policy(limits=Limits(max_key_collisions=50)))
    assert Limits().max_key_collisions == 128


def test_the_flood_of_the_red_team_is_refused_fast(engine: str) -> None:
    """60000 colliding keys (the round-12 file: minutes of k**2 to build, for the load and for the old scan)."""
    assert "SL020" in blocking(FLOODS["dict-setitems"](colliding(60000)), seconds=10)


@pytest.mark.parametrize("case", ["int", "str", "tuple", "big-int", "float", "frozenset"])
def test_many_distinct_keys_scan_clean_and_fast(engine: str, case: str) -> None:
    rng = random.Random(7)  # noqa: S311 (test data, not secrets)
    count = 200_000
    value: object = {
        "int": {i: i for i in range(count)},
        "str": {f"key{i}": i for i in range(count)},
        "tuple": {(i, i % 7, "x"): i for i in range(count)},
        "big-int": {rng.getrandbits(64) | (1 << 63): i for i in range(count)},
        "float": {i / 3: i for i in range(count)},
        "frozenset": {frozenset({i, -i - 3}) for i in range(count // 4)},
    }[case]
    data = pickle.dumps(value, protocol=4)
    started = time.perf_counter()
    pickle.loads(data)
    load = time.perf_counter() - started
    # generous: the pure-Python engine is ~10x a plain load on 2 shared cores; the point is no k**2
    assert not blocking(data, seconds=max(20.0, 60 * load))


def test_memo_reused_keys_count_once(engine: str) -> None:
    """The same key object (memo) in many containers, and equal keys written again, are one key, not many."""
    keys = colliding(100)
    memoised = b"}(" + b"".join(lit(x) + memo() + b"N" for x in keys) + b"u"
    reuse = b"".join(b"\x8f(" + b"".join(get(i) for i in range(100)) + b"\x90" for _ in range(20))
    assert not blocking(stream(b"(" + memoised + reuse + b"l"))
    rewritten = b"".join(b"}(" + pairs(keys) + b"u" for _ in range(20))
    assert not blocking(stream(b"(" + rewritten + b"l"))
    # memo reuse does not hide distinct keys: 100 + 100 others on the same hash in another container
    more = b"\x8f(" + items(colliding(200)[100:]) + b"\x90"
    assert "SL020" in blocking(stream(b"(" + memoised + more + b"l"))


def test_small_int_tuples_solved_for_one_hash_are_refused(engine: str) -> None:
    """Tuples of ints below 2**61 (each int hashes to itself) collide when the file solves the tuple hash."""
    solved = colliding_small_pairs(300)
    assert len({hash(p) for p in solved}) == 1
    data = stream(b"}(" + b"".join(tup(lit(a), lit(b)) + b"N" for a, b in solved) + b"u")
    assert "SL020" in blocking(data)


def test_floats_are_counted_with_the_ints_they_collide_with(engine: str) -> None:
    """0.5**61, 0.5**122, ... hash to 1 as 1 + M, 1 + 2M, ... do; floats equal to those ints are the same key."""
    floats = [0.5 ** (61 * j) for j in range(1, 18)]
    assert {hash(f) for f in floats} == {1}
    ints = colliding(120, residue=1)
    assert "SL020" in blocking(stream(b"}(" + pairs(ints) + b"".join(lit(f) + b"N" for f in floats) + b"u"))
    assert not blocking(stream(b"}(" + pairs(ints[:100]) + b"".join(lit(f) + b"N" for f in floats) + b"u"))
    equal_floats = [float(2 ** (61 * j)) for j in range(1, 16)]  # 2**61j == 1 + i*M: already counted as ints
    assert {hash(f) for f in equal_floats} == {1}
    assert not blocking(stream(b"}(" + pairs(ints[:110]) + b"".join(lit(f) + b"N" for f in equal_floats) + b"u"))


@pytest.mark.parametrize("kind", ["fraction", "fraction-pair", "uuid", "sympy-integer", "sympy-rational"])
def test_objects_are_counted_by_the_hash_the_load_computes(engine: str, kind: str) -> None:
    pytest.importorskip("sympy")
    term = {
        "fraction": lambda n: reduce("fractions.Fraction", lit(n)),
        "fraction-pair": lambda n: reduce("fractions.Fraction", lit(n * 3), lit(3)),
        "uuid": lambda n: newobj("uuid.UUID") + b"}" + lit("int") + lit(n) + b"sb",
        "sympy-integer": lambda n: newobj("sympy.core.numbers.Integer", lit(n)),
        "sympy-rational": lambda n: newobj("sympy.core.numbers.Rational", lit(n), lit(7)),
    }[kind]
    flood = stream(b"}(" + b"".join(term(x) + b"N" for x in colliding(300)) + b"u")
    assert "SL020" in blocking(flood)
    fine = stream(b"}(" + b"".join(term(x) + b"N" for x in colliding(100)) + b"u")
    assert "SL020" not in blocking(fine)
    ordinary = stream(b"}(" + b"".join(term(x) + b"N" for x in range(1, 1001)) + b"u")
    assert "SL020" not in blocking(ordinary)


def numpy_complex(value: complex) -> bytes:
    """``numpy._core.multiarray.scalar(numpy.dtype('c16') with its BUILD state, raw)``, as numpy pickles one."""
    dtype = reduce("numpy.dtype", lit("c16"), lit(False), lit(True)) + tup(
        lit(3), lit("<"), b"N", b"N", b"N", lit(-1), lit(-1), lit(0)) + b"b"
    raw = struct.pack("<dd", value.real, value.imag)
    return reduce("numpy._core.multiarray.scalar", dtype, b"C" + bytes([len(raw)]) + raw)


NUMERIC_TERMS = {
    # complex(h - 1000003*j, j) all hash to h: unbounded collisions from small numbers
    "complex": lambda j: reduce("builtins.complex", lit(float(12345 - 1000003 * j)), lit(float(j))),
    "numpy-complex": lambda j: numpy_complex(complex(12345 - 1000003 * j, j)),
    "decimal": lambda j: reduce("decimal.Decimal", lit(str(5 + j * M))),
    "tuple-of-fraction": lambda j: tup(reduce("fractions.Fraction", lit(5 + j * M)), lit("a")),
    "nested-tuple-of-integer": lambda j: tup(tup(newobj("sympy.core.numbers.Integer", lit(5 + j * M))), b"N"),
}


@pytest.mark.parametrize("kind", sorted(NUMERIC_TERMS))
def test_other_numeric_keys_are_counted_by_their_load_hash(engine: str, kind: str) -> None:
    pytest.importorskip("sympy")
    pytest.importorskip("numpy")
    term = NUMERIC_TERMS[kind]
    assert "SL020" in blocking(stream(b"}(" + b"".join(term(j) + b"N" for j in range(1, 300)) + b"u"))
    assert "SL020" not in blocking(stream(b"}(" + b"".join(term(j) + b"N" for j in range(1, 100)) + b"u"))


def test_sympy_expressions_are_bounded_per_class(engine: str) -> None:
    """Add(x, Integer(5 + i*M)) hash alike at load (Basic.__hash__ of the evaluated arguments), and their hash is not
    derived here: more than 2048 of one expression class as keys in a stream is refused, 300 are not."""
    pytest.importorskip("sympy")

    def term(j: int) -> bytes:
        return newobj("sympy.core.add.Add", newobj("sympy.core.symbol.Symbol", lit("x")),
                      newobj("sympy.core.numbers.Integer", lit(5 + j * M)))

    assert "SL020" in blocking(stream(b"}(" + b"".join(term(j) + b"N" for j in range(2100)) + b"u"), seconds=30)
    assert "SL020" not in blocking(stream(b"}(" + b"".join(term(j) + b"N" for j in range(300)) + b"u"))


def _call(owner: str, *args: object, state: object = None, kwargs: dict[str, object] | None = None) -> Call:
    from safeload.catalog.classify import classify_name

    g = Global(*owner.rsplit(".", 1), classify_name(owner), 0)
    call = Call(g, args, 0, kwargs)
    call.state = state
    return call


def test_derived_hashes_are_the_real_ones() -> None:
    """The hash counted for an object is the one its class computes at load (checked on the real objects)."""
    sympy = pytest.importorskip("sympy")
    rng = random.Random(3)  # noqa: S311 (test data, not secrets)
    for _ in range(300):
        p, q = rng.randrange(-2**70, 2**70), rng.choice([1, 2, 7, rng.randrange(1, 2**65), -5])
        found = call_hash(_call("fractions.Fraction", p, q))
        assert found is not None and found[1] == hash(fractions.Fraction(p, q))
        found = call_hash(_call("fractions.Fraction", f"{p}/{abs(q)}"))
        assert found is not None and found[1] == hash(fractions.Fraction(p, abs(q)))
        n = rng.getrandbits(128)
        found = call_hash(_call("uuid.UUID", state={"int": n}))
        assert found is not None and found[1] == hash(uuid.UUID(int=n))
        found = call_hash(_call("uuid.UUID", str(uuid.UUID(int=n))))
        assert found is not None and found[1] == hash(uuid.UUID(int=n))
        found = call_hash(_call("sympy.core.numbers.Integer", p))
        assert found is not None and found[1] == hash(sympy.Integer(p))
        found = call_hash(_call("sympy.core.numbers.Rational", p, q))
        assert found is not None and found[1] == hash(sympy.Rational(p, q))
        found = call_hash(_call("builtins.complex", p / 3, float(q)))
        assert found is not None and found[1] == hash(complex(p / 3, q))
        text = f"{p}.{rng.randrange(10**6):06d}E{rng.randrange(-400, 400)}"
        found = call_hash(_call("decimal.Decimal", text))
        assert found is not None and found[1] == hash(decimal.Decimal(text))
    found = call_hash(_call("sympy.core.numbers.Rational", 3, 6))
    assert found is not None and found[1] == hash(sympy.S.Half)
    assert call_hash(_call("fractions.Fraction", 1.5)) is None  # not derived: counted against its class
    numpy = pytest.importorskip("numpy")
    for code, value in [("f8", 0.1), ("f4", 1.5), ("c16", 3 - 4j), ("c8", 0.5 + 2j), ("i8", -7), ("u8", 2**64 - 5)]:
        scalar = numpy.dtype(code).type(value)
        dtype = _call("numpy.dtype", code, False, True, state=(3, "<", None, None, None, -1, -1, 0))
        found = call_hash(_call("numpy._core.multiarray.scalar", dtype, scalar.tobytes()))
        assert found is not None and found[1] == hash(scalar), code


def test_tuple_hash_is_cpythons() -> None:
    rng = random.Random(5)  # noqa: S311 (test data, not secrets)
    for _ in range(2000):
        value = tuple(rng.choice([rng.randrange(-2**63, 2**63), rng.random(), "x", None, -1, (1, 2), b"y"])
                      for _ in range(rng.randrange(0, 6)))
        assert tuple_hash([hash(item) for item in value]) == hash(value)


def test_objects_whose_hash_cannot_be_derived_are_bounded_per_class(engine: str) -> None:
    """Fractions of values computed at load: their hashes are unknown, so at most 16 x the bound of them per
    stream (2048); real files pickle Fraction(numerator, denominator) with plain ints."""
    term = reduce("fractions.Fraction", reduce("builtins.int", lit("7")))
    flood = stream(b"}(" + b"".join(term + lit(i) for i in range(2100)) + b"u")
    assert "SL020" in blocking(flood)
    fine = stream(b"}(" + b"".join(term + lit(i) for i in range(500)) + b"u")
    assert "SL020" not in blocking(fine)


def test_str_keys_are_not_counted(engine: str) -> None:
    """str hashes are SipHash with the loading process's random seed: a file cannot write colliding ones, and the
    scanner's seed is another. 300 000 str keys, and str keys beside colliding ints, do not count."""
    data = pickle.dumps({f"{i:x}": None for i in range(300_000)}, protocol=4)
    assert not blocking(data)
    mixed = stream(b"}(" + b"".join(lit(str(i)) + b"N" for i in range(5000)) + pairs(colliding(100)) + b"u")
    assert not blocking(mixed)


def test_ints_too_large_to_read_are_bounded(engine: str) -> None:
    """An int of more than 32768 bits is an opaque value to the machine (its hash is not computed): such keys count
    against one bound (16 x max_key_collisions per stream), here with the setting lowered to 8 (128 keys)."""
    policy = Policy(limits=Limits(max_key_collisions=8))
    huge = [5 + (1 << 33000) + i * M for i in range(140)]

    def key(value: int) -> bytes:
        raw = value.to_bytes((value.bit_length() + 8) // 8, "little", signed=True)
        return b"\x8b" + struct.pack("<i", len(raw)) + raw  # LONG4

    assert "SL020" in blocking(stream(b"}(" + b"".join(key(v) + b"N" for v in huge) + b"u"), policy=policy)
    assert "SL020" not in blocking(stream(b"}(" + b"".join(key(v) + b"N" for v in huge[:100]) + b"u"), policy=policy)
