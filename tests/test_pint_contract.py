"""Attacks on the pint 0.25 argument contract (issue 14: pickled pint quantities).

Reviewed (``catalog/reviewed.py``, ``PINT_ENTRIES``, ``PINT_REVIEWED_FILES``): ``pint._unpickle_quantity`` may be
called by REDUCE -- how ``PlainQuantity.__reduce__`` pickles a quantity -- only with the arguments the
``pint_quantity`` contract admits (``catalog/state_contracts.py``): the class ``PlainQuantity``, a plain int/float
or an ndarray numpy rebuilds with a numeric dtype in the same stream, and a ``UnitsContainer`` made in the stream
(no arguments, BUILD ``(udict, 1, builtins.float)``) whose ``udict`` holds identifier unit names and bounded
exponents; nothing the check read may change later in the stream. ``_unpickle`` hands every unit name to
``application_registry.parse_units`` and ``PlainQuantity.__new__`` parses a str units argument: both go through
pint's evaluator, which computes ``**`` on Python ints (``'9**9**9**9'`` hangs the load).

The entries are admitted with the import review of pint (``IMPORT_REVIEWS["pint"]``; dask's ``dask.sizeof`` plugins
are SL119's: tests/test_pint_import_review.py); the fixture ``admitted`` checks they are in place. Live twins run in a subprocess under the plain unpickler: a hang is asserted as a timeout,
a bomb is measured on a bounded stand-in. Both engines (Python and native) must report the same findings.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import safeload
from safeload.catalog import classify, reviewed
from safeload.catalog.reviewed import CLOSURE_BOUND, PINT_ENTRIES, REVIEWED
from safeload.catalog.source_reviews import module_digest
from safeload.catalog.state_contracts import (
    PINT_MAX_EXPONENT,
    PINT_MAX_UNITS,
    argument_declared,
    argument_refusal,
    argument_use,
)
from safeload.engine import native
from tests.pickle_terms import get, glob, lit, memo, newobj, reduce, stream, tup, u

pint = pytest.importorskip("pint")
np = pytest.importorskip("numpy")

sys.path.insert(0, str(Path(__file__).parent / "fuzz"))
import sl_native_diff  # noqa: E402

UNPICKLE = "pint._unpickle_quantity"
QUANTITY = "pint.facets.plain.quantity.PlainQuantity"
UC = "pint.util.UnitsContainer"
UDICT = "pint.util.udict"
BOMB = "9**9**9**9"
CONTRACT = f"{UNPICKLE} SL115"


@pytest.fixture
def admitted() -> None:
    """The pint entries are in the catalogue (admitted since the import review)."""
    assert all(reviewed._entries.get(name) is entry for name, entry in PINT_ENTRIES.items())
    classify.classify.cache_clear()


# --- building streams ------------------------------------------------------------------------------------------------
def udict(*pairs: tuple[bytes, bytes], at: int | None = None) -> bytes:
    """NEWOBJ udict() then SETITEMS (memoised at ``at`` when given)."""
    body = newobj(UDICT) + (memo() if at is not None else b"")
    if pairs:
        body += b"(" + b"".join(k + v for k, v in pairs) + b"u"
    return body


def units(names: bytes, *, at: int | None = None) -> bytes:
    """NEWOBJ UnitsContainer() and BUILD (names, 1, builtins.float), as pint writes it."""
    return newobj(UC) + (memo() if at is not None else b"") + tup(names, lit(1), glob("builtins.float")) + b"b"


def quantity(magnitude: bytes, unit: bytes, cls: str = QUANTITY) -> bytes:
    return reduce(UNPICKLE, glob(cls), magnitude, unit)


def meter() -> bytes:
    return units(udict((u("meter"), lit(1))))


def refused(data: bytes) -> list[str]:
    """Scan ``data`` (both engines must agree): the blocking findings, as ``subject rule``."""
    if native.AVAILABLE:
        assert not sl_native_diff.differences(data), sl_native_diff.differences(data)
    return [f"{f.subject} {f.rule_id}" for f in safeload.scan(data).blocking()]


def plain_run(data: bytes, tmp_path: Path, after: str = "", timeout: float = 60) -> dict[str, object] | None:
    """Load ``data`` with ``pickle.loads`` in a fresh interpreter (then run ``after`` on the result ``q``): what the
    script printed as JSON, or None when it did not finish within ``timeout`` seconds (a hang)."""
    path = tmp_path / "case.pkl"
    path.write_bytes(data)
    script = textwrap.dedent(f"""
        import json, pickle, sys, warnings
        warnings.simplefilter("ignore")
        out = {{}}
        try:
            q = pickle.loads(open({str(path)!r}, "rb").read())
            out["loaded"] = repr(type(q))
            {after}
        except BaseException as why:
            out["error"] = type(why).__name__
        print(json.dumps(out, default=str))
    """)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFELOAD_")}
    try:
        done = subprocess.run([sys.executable, "-c", script], env=env, timeout=timeout, check=False,
                              capture_output=True, text=True)
    except subprocess.TimeoutExpired:
        return None
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# --- what pint writes is admitted ----------------------------------------------------------------------------------
@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_real_quantities_are_admitted(admitted: None, protocol: int) -> None:
    ureg = pint.get_application_registry()
    for value in (ureg.Quantity(3.5, "meter / second"), ureg.Quantity(7, "kg * m ** 2 / s ** 2"),
                  ureg.Quantity(np.arange(3.0), "kg"), ureg.Quantity(np.arange(6, dtype=np.int32).reshape(2, 3), "N"),
                  ureg.Quantity(np.linspace(0, 1, 200_000), "km ** 0.5"),  # a large array: its bytes left in place
                  [ureg.Quantity(1.0, "m"), ureg.Quantity(2.0, "m")]):  # memo-reused class and unit names
        assert refused(pickle.dumps(value, protocol=protocol)) == [], (protocol, value)


def test_a_memo_reused_container_is_admitted(admitted: None) -> None:
    """Two quantities sharing one UnitsContainer (memo): read twice, unchanged."""
    data = stream(tup(quantity(lit(1.5), units(udict((u("meter"), lit(1))), at=0)), quantity(lit(2), get(0))))
    assert refused(data) == []


# --- attacks (live twins) ------------------------------------------------------------------------------------------
def test_str_units_hang_the_plain_load_and_are_refused(admitted: None, tmp_path: Path) -> None:
    """A str units argument: PlainQuantity.__new__ parses it with pint's evaluator."""
    data = stream(quantity(lit(1.0), u(BOMB)))
    assert plain_run(data, tmp_path, timeout=20) is None  # the plain load hangs (killed at the timeout)
    assert CONTRACT in refused(data)
    # the same str memo-reused from a place the catalogue admits it (a plain dict key)
    data = stream(tup(b"}" + u(BOMB) + memo() + lit(1) + b"s", quantity(lit(1.0), get(0))))
    assert CONTRACT in refused(data)


def test_a_str_in_the_container_hangs_the_plain_load_and_is_refused(admitted: None, tmp_path: Path) -> None:
    """_unpickle hands every key of the UnitsContainer to parse_units."""
    data = stream(quantity(lit(1.0), units(udict((u(BOMB), lit(1))))))
    assert plain_run(data, tmp_path, timeout=20) is None
    assert CONTRACT in refused(data)
    harmless = stream(quantity(lit(1.0), units(udict((u("2*3"), lit(1))))))
    assert plain_run(harmless, tmp_path)["error"] is not None  # type: ignore[index]  # parsed: a number, refused
    for name in ("2*3", "meter ", "métre", "m" * 65, "meter**2", "[length]", ""):
        assert CONTRACT in refused(stream(quantity(lit(1.0), units(udict((u(name), lit(1))))))), name


def test_a_container_changed_after_admission_is_refused(admitted: None, tmp_path: Path) -> None:
    """A quantity admitted, then its udict gains a name (SETITEM through the memo) or its container a new state
    (BUILD): a second quantity sharing the container parses the new name -- live, it hangs."""
    first = quantity(lit(1.0), units(udict((u("meter"), lit(1)), at=1), at=0))  # the container is memo 0
    setitem = stream(tup(first, get(1) + u(BOMB) + lit(1) + b"s" + b"0", quantity(lit(2.0), get(0))))
    assert plain_run(setitem, tmp_path, timeout=20) is None
    found = refused(setitem)
    assert f"{UDICT} SL115" in found  # the change itself
    assert CONTRACT in found  # and the second quantity
    rebuild = stream(tup(first, get(0) + tup(udict((u(BOMB), lit(1))), lit(1), glob("builtins.float")) + b"b0",
                         quantity(lit(2.0), get(0))))
    assert plain_run(rebuild, tmp_path, timeout=20) is None
    found = refused(rebuild)
    assert f"{UC} SL115" in found
    assert CONTRACT in found
    # the change alone (no second quantity): still refused, the admitted quantity holds the changed container
    assert f"{UDICT} SL115" in refused(stream(tup(first, get(1) + u(BOMB) + lit(1) + b"s" + b"0")))
    # a change by a call the catalogue admits elsewhere (operator.setitem): the udict is passed, which it is not
    # allowed to be
    found = refused(stream(tup(first, reduce("_operator.setitem", get(1), u(BOMB), lit(1)), quantity(lit(2.0),
                                                                                                     get(0)))))
    assert f"{UDICT} SL115" in found
    # a change before the quantity reads it is just how the container is filled: checked then
    late = stream(tup(units(udict((u("meter"), lit(1))), at=0) + b"0", quantity(lit(1.0), get(0))))
    assert refused(late) == []


def test_huge_exponents_are_refused(admitted: None, tmp_path: Path) -> None:
    """Conversions raise unit factors to the exponents: ``minute ** 65536`` on an int magnitude makes an int of
    ~390000 bits (a bounded stand-in for 10**9, which exhausts memory)."""
    data = stream(quantity(lit(2), units(udict((u("minute"), lit(1 << 16))))))
    ran = plain_run(data, tmp_path, after="out['bits'] = q.to_base_units().magnitude.bit_length()")
    assert ran is not None and int(ran["bits"]) > 300_000  # type: ignore[call-overload]
    assert CONTRACT in refused(data)
    for exponent in (PINT_MAX_EXPONENT + 1, -PINT_MAX_EXPONENT - 1, 10**100, float("inf"), float("nan"), 1e300,
                     True):
        assert CONTRACT in refused(stream(quantity(lit(2), units(udict((u("minute"), pickle.dumps(
            exponent, protocol=2)[2:-1])))))), exponent
    assert refused(stream(quantity(lit(2), units(udict((u("minute"), lit(PINT_MAX_EXPONENT))))))) == []
    many = udict(*((u(f"u{i}"), lit(1)) for i in range(PINT_MAX_UNITS + 1)))
    assert CONTRACT in refused(stream(quantity(lit(2), units(many))))


def test_str_and_other_magnitudes_are_refused(admitted: None, tmp_path: Path) -> None:
    """A str magnitude is stored as is (parsed by later operations); objects of other provenance run their own
    code; an object array holds anything."""
    data = stream(quantity(u(BOMB), meter()))
    ran = plain_run(data, tmp_path, after="out['magnitude'] = q.magnitude")
    assert ran is not None and ran["magnitude"] == BOMB  # the text is kept for later arithmetic to parse
    assert CONTRACT in refused(data)
    ureg = pint.get_application_registry()
    object_array = pickle.dumps(ureg.Quantity(np.array([1.0, 2.0], dtype=object), "m"), protocol=4)
    assert CONTRACT in refused(object_array)
    for label, magnitude in {
        "bytes": pickle.dumps(b"1", protocol=4)[2:-1], "bool": lit(True), "none": lit(None),
        "tuple": tup(u(BOMB)), "list": b"]" + u(BOMB) + b"a",
        "call": reduce("builtins.str", u(BOMB)), "float-call": reduce("builtins.float", u("1e3")),
        "decimal": reduce("decimal.Decimal", u("1")),
        "str-array": pickle.dumps(np.array(["a"]), protocol=4)[11:-1],
    }.items():
        assert CONTRACT in refused(stream(quantity(magnitude, meter()))), label


def test_other_classes_registries_and_opcodes_are_refused(admitted: None) -> None:
    """The class argument is ignored by _unpickle_quantity, but only what pint writes is admitted; the container
    and udict only as NEWOBJ with no arguments; _unpickle_quantity only by REDUCE."""
    for cls in ("pint.Quantity", "builtins.str", "pint.facets.plain.quantity.PlainUnit"):
        assert CONTRACT in refused(stream(quantity(lit(1.0), meter(), cls=cls))), cls
    # a partial binding the bad argument: the call is checked with the bound arguments
    partial = reduce(reduce("functools.partial", glob(UNPICKLE), glob(QUANTITY), lit(1.0)), u(BOMB))
    assert CONTRACT in refused(stream(partial))
    # the arity pint writes, no more, no less
    assert CONTRACT in refused(stream(reduce(UNPICKLE, glob(QUANTITY), lit(1.0))))
    assert CONTRACT in refused(stream(reduce(UNPICKLE, glob(QUANTITY), lit(1.0), meter(), meter())))
    # NEWOBJ of the function, REDUCE of the container or udict (UnitsContainer.__init__ / dict(...) with arguments)
    assert f"{UNPICKLE} SL115" in refused(stream(newobj(UNPICKLE, glob(QUANTITY), lit(1.0), meter())))
    assert f"{UC} SL115" in refused(stream(quantity(lit(1.0), reduce(UC, b"}" + u(BOMB) + lit(1) + b"s"))))
    assert f"{UDICT} SL115" in refused(stream(quantity(lit(1.0), units(reduce(UDICT, b"}" + u("m") + lit(1)
                                                                               + b"s")))))
    # containers made with arguments, by a helper, or with another state
    assert CONTRACT in refused(stream(quantity(lit(1.0), newobj(UC, u("m")) + tup(
        udict((u("meter"), lit(1))), lit(1), glob("builtins.float")) + b"b")))
    helper = reduce("copyreg.__newobj__", glob(UC)) + tup(udict((u("meter"), lit(1))), lit(1),
                                                          glob("builtins.float")) + b"b"
    assert CONTRACT in refused(stream(quantity(lit(1.0), helper)))
    for state in (tup(udict((u("meter"), lit(1))), lit(1), glob("decimal.Decimal")),
                  tup(udict((u("meter"), lit(1))), lit(2), glob("builtins.float")),
                  tup(b"}" + u("meter") + lit(1) + b"s", lit(1), glob("builtins.float")),
                  tup(udict((u("meter"), lit(1))), lit(1))):
        assert refused(stream(quantity(lit(1.0), newobj(UC) + state + b"b"))), state
    assert CONTRACT in refused(stream(quantity(lit(1.0), newobj(UC))))  # never given state
    # udict given BUILD state (setattr of its keys) or filled by something other than SETITEM(S)
    built = newobj(UDICT) + b"}" + u("x") + lit(1) + b"sb"
    assert refused(stream(quantity(lit(1.0), units(built))))
    # the other unpickle helpers are not admitted
    for name in ("pint._unpickle", "pint._unpickle_unit", "pint._unpickle_measurement"):
        assert any(line.startswith(name) for line in refused(stream(reduce(name, glob(QUANTITY), lit(1.0),
                                                                           meter())))), name


def test_the_classes_are_never_called(admitted: None) -> None:
    """PlainQuantity(str) parses the text; it is only referenced."""
    assert f"{QUANTITY} SL115" in refused(stream(reduce(QUANTITY, u(BOMB))))
    assert f"{QUANTITY} SL115" in refused(stream(newobj(QUANTITY, u(BOMB))))
    assert f"{QUANTITY} SL115" in refused(stream(reduce("functools.partial", glob(QUANTITY), u(BOMB))))


# --- the entries, the contract, the import -------------------------------------------------------------------------
def test_the_entries_are_admitted_and_pinned() -> None:
    """Admitted by the catalogue, bound to the text read and to pint's import closure (CLOSURE_BOUND)."""
    assert set(PINT_ENTRIES) <= set(REVIEWED) and "pint" in CLOSURE_BOUND
    files = {entry.source_files for entry in PINT_ENTRIES.values()}
    assert len(files) == 1
    for module, digest in files.pop():
        assert module_digest(module) == digest, module
    assert PINT_ENTRIES[UNPICKLE].arguments == ("pint_quantity", (QUANTITY,))
    assert argument_use("pint_quantity") == "call" and argument_use("sympy_new") == "new"
    assert argument_declared("pint_quantity") == frozenset({0, 2})
    assert argument_refusal("nope", (), (), None, lambda _v: None)[0] == "unknown argument contract 'nope'"
    ureg = pint.get_application_registry()
    assert refused(pickle.dumps(ureg.Quantity(3.5, "m / s"), protocol=4)) == []


def test_the_import_claims() -> None:
    """What the review note says about ``import pint``: no LazyRegistry method runs (the registry stays lazy),
    and with dask installed, dask.sizeof (whose import loads and calls dask.sizeof entry points) is imported."""
    script = textwrap.dedent("""
        import json, sys
        import pint
        print(json.dumps({"lazy": type(pint._DEFAULT_REGISTRY).__name__,
                          "state": sorted(pint._DEFAULT_REGISTRY.__dict__),
                          "dask_sizeof": "dask.sizeof" in sys.modules}))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["lazy"] == "LazyRegistry" and found["state"] == ["params"]
    try:
        import dask  # noqa: F401
    except ImportError:
        return
    assert found["dask_sizeof"]
