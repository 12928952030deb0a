"""Attacks on the sympy 1.14 argument contract (issue 14: pickled sympy expressions).

Reviewed (``catalog/reviewed.py``, ``SYMPY_REVIEWED_FILES``): Add, Mul, Pow, sin, exp, Equality, Integer, Rational,
Zero, One, NegativeOne, Half and Symbol may be instantiated by NEWOBJ/NEWOBJ_EX -- how ``Basic.__reduce_ex__``
pickles them -- only with the arguments the ``sympy_new`` contract admits (``catalog/state_contracts.py``): objects
made by admitted instantiations in the same stream, plain ints for the numbers, one plain str name (and bool
assumption keywords) for Symbol, nothing for the singletons, and a bound on the numbers the evaluation computes.
``Application.__new__`` (sin, exp) and ``Rational.__new__`` sympify their arguments non-strictly: a str (or a tuple
holding one) reaches ``parse_expr``, which evals Python.

Every attack here is live: loaded by the plain unpickler (in a subprocess) it creates its marker file; scanned,
it is refused and the marker is absent. Both engines (Python and native) must report the same findings.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

import safeload
from safeload.catalog.classify import classify_name
from safeload.catalog.decide import catalogue_view
from safeload.catalog.reviewed import REVIEWED, SYMPY_ASSUMPTIONS
from safeload.catalog.uses import Use
from safeload.engine import native
from tests.pickle_terms import get, glob, lit, memo, newobj, newobj_ex, reduce, stream, tup, u

sympy = pytest.importorskip("sympy")

sys.path.insert(0, str(Path(__file__).parent / "fuzz"))
import sl_native_diff  # noqa: E402

ADMITTED = ("sympy.core.add.Add sympy.core.mul.Mul sympy.core.power.Pow sympy.core.relational.Equality "
            "sympy.core.numbers.Integer sympy.core.numbers.Rational sympy.core.numbers.Zero sympy.core.numbers.One "
            "sympy.core.numbers.NegativeOne sympy.core.numbers.Half sympy.core.symbol.Symbol "
            "sympy.functions.elementary.trigonometric.sin sympy.functions.elementary.exponential.exp").split()


SYM = "sympy.core.symbol.Symbol"
SIN = "sympy.functions.elementary.trigonometric.sin"
EXP = "sympy.functions.elementary.exponential.exp"
INT = "sympy.core.numbers.Integer"
POW = "sympy.core.power.Pow"
MUL = "sympy.core.mul.Mul"
ADD = "sympy.core.add.Add"


def code(marker: Path) -> str:
    return f"__import__('pathlib').Path({str(marker)!r}).touch()"


# --- running the plain loader --------------------------------------------------------------------------------------
def plain_load(cases: dict[str, tuple[bytes, Path]], tmp_path: Path, *, simplify: bool = False) -> dict[str, bool]:
    """Load every case with ``pickle.loads`` in one fresh interpreter (then ``.simplify()`` what it loaded when
    ``simplify``: what a user does next with a matrix); which markers were created."""
    files = {}
    for label, (data, marker) in cases.items():
        path = tmp_path / f"{label}.pkl"
        path.write_bytes(data)
        files[label] = (str(path), str(marker))
    script = textwrap.dedent("""
        import json, pickle, sys, warnings
        warnings.simplefilter("ignore")
        simplify = sys.argv[2] == "1"
        for label, (path, marker) in json.loads(sys.argv[1]).items():
            try:
                loaded = pickle.loads(open(path, "rb").read())
                if simplify:
                    for item in (loaded if isinstance(loaded, tuple) else (loaded,)):
                        if hasattr(item, "simplify"):
                            item.simplify()
            except BaseException:
                pass
    """)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFELOAD_")}
    subprocess.run([sys.executable, "-c", script, json.dumps(files), "1" if simplify else "0"], env=env, timeout=300,
                   check=False, capture_output=True)
    ran = {}
    for label, (_data, marker) in cases.items():
        ran[label] = marker.exists()
        if marker.exists():
            marker.unlink()
    return ran


def refused(data: bytes) -> list[str]:
    """Scan ``data`` (both engines must agree): the blocking findings, as ``subject rule``."""
    if native.AVAILABLE:
        assert not sl_native_diff.differences(data), sl_native_diff.differences(data)
    result = safeload.scan(data)
    return [f"{f.subject} {f.rule_id}" for f in result.blocking()]


# --- the attacks ----------------------------------------------------------------------------------------------------
def attacks(tmp_path: Path) -> dict[str, tuple[bytes, Path]]:
    """Label -> (pickle, marker): each creates its marker under the plain unpickler."""
    out: dict[str, tuple[bytes, Path]] = {}

    def add(label: str, build: Callable[[str], bytes]) -> None:
        marker = tmp_path / f"marker-{label}"
        out[label] = (stream(build(code(marker))), marker)

    x = newobj(SYM, u("x"))
    # a str argument: Application.__new__ sympifies it (parse_expr -> eval)
    add("sin-str", lambda c: newobj(SIN, u(c)))
    add("exp-str", lambda c: newobj(EXP, u(c)))
    # the str nested in a tuple: sympify(tuple) -> Tuple(*a) sympifies each item
    add("sin-tuple-str", lambda c: newobj(SIN, tup(u(c))))
    # the same str first used as a Symbol's name (admitted: never parsed), then memo-reused as sin's argument
    add("sin-memo-str", lambda c: newobj(ADD, newobj(SYM, u(c) + memo()), newobj(SIN, get(0))))
    # a str produced by a call of another (allowed) name
    add("sin-str-from-call", lambda c: newobj(SIN, reduce("builtins.str", u(c))))
    # NEWOBJ_EX: the positional str still reaches sympify (evaluate=False is read after it)
    add("sin-newobj-ex-kwargs", lambda c: newobj_ex(SIN, (u(c),), {"evaluate": lit(False)}))
    # REDUCE of the class instead of NEWOBJ
    add("sin-reduce", lambda c: reduce(SIN, u(c)))
    # instantiated by a helper: copyreg.__newobj__(sin, code) is sin.__new__(sin, code)
    add("sin-copyreg-newobj", lambda c: reduce("copyreg.__newobj__", glob(SIN), u(c)))
    # the class reached through getattr (a derived name): the same entry, the same contract
    add("sin-via-getattr", lambda c: newobj(reduce("builtins.getattr", glob("sympy.functions.elementary.trigonometric"),
                                                   u("sin")), u(c)))
    # a re-export of the class (sympy.sin is trigonometric.sin): not the reviewed name
    add("sin-alias", lambda c: newobj("sympy.sin", u(c)))
    # a Function subclass nobody reviewed
    add("cos-str", lambda c: newobj("sympy.functions.elementary.trigonometric.cos", u(c)))
    # Rational sympifies a non-int p non-strictly: a tuple holding the str
    add("rational-tuple-str", lambda c: newobj("sympy.core.numbers.Rational", tup(u(c))))
    # a str inside Add's arguments, behind an admitted object (Add evaluates its own args strictly; sin does not)
    add("add-then-sin-str", lambda c: newobj(ADD, x, newobj(SIN, u(c))))
    # BUILD state on an admitted Symbol holding a payload object (Symbol.__setstate__ setattrs it)
    add("symbol-build-state", lambda c: newobj(SYM, u("x")) + b"}(" + u("_mhash") + newobj(SIN, u(c)) + b"ub")
    # methods of an admitted object, reached through getattr: Basic.subs sympifies non-strictly, .func is the class
    add("symbol-subs", lambda c: reduce(reduce("builtins.getattr", x, u("subs")), u("x"), u(c)))
    add("sin-func", lambda c: reduce(reduce("builtins.getattr", newobj(SIN, x), u("func")), u(c)))
    # an admitted name read back out of the Symbol and parsed by another name
    add("sympify-symbol-name", lambda c: reduce("sympy.core.sympify.sympify",
                                                reduce("builtins.getattr", newobj(SYM, u(c)), u("name"))))
    add("sin-str-of-symbol", lambda c: newobj(SIN, reduce("builtins.str", newobj(SYM, u(c)))))
    return out


def test_every_attack_is_live_and_refused(tmp_path: Path) -> None:
    cases = attacks(tmp_path)
    ran = plain_load(cases, tmp_path)
    assert ran == dict.fromkeys(cases, True), "an attack does not run under the plain unpickler"
    for label, (data, marker) in cases.items():
        assert refused(data), label
        assert not marker.exists(), label


def test_each_attack_is_refused_for_its_own_reason(tmp_path: Path) -> None:
    cases = {label: data for label, (data, _m) in attacks(tmp_path).items()}
    reasons = {label: refused(data) for label, data in cases.items()}
    contract = "SL115"
    assert f"{SIN} {contract}" in reasons["sin-str"]
    assert f"{EXP} {contract}" in reasons["exp-str"]
    assert f"{SIN} {contract}" in reasons["sin-tuple-str"]
    assert f"{SIN} {contract}" in reasons["sin-memo-str"]
    assert f"{SYM} {contract}" not in reasons["sin-memo-str"]  # the name itself is admitted
    assert f"{SIN} {contract}" in reasons["sin-str-from-call"]
    assert f"{SIN} {contract}" in reasons["sin-newobj-ex-kwargs"]
    assert f"{SIN} SL101" in reasons["sin-reduce"]  # calling it stays denied (DENY_NARROWED keeps CALL)
    assert f"{SIN} {contract}" in reasons["sin-copyreg-newobj"]
    assert f"{SIN} {contract}" in reasons["sin-via-getattr"]
    assert "sympy.sin SL101" in reasons["sin-alias"]  # the narrowing is for the reviewed name only, not its aliases
    assert "sympy.functions.elementary.trigonometric.cos SL101" in reasons["cos-str"]
    assert f"sympy.core.numbers.Rational {contract}" in reasons["rational-tuple-str"]
    assert f"{SIN} {contract}" in reasons["add-then-sin-str"]
    assert f"{ADD} {contract}" in reasons["add-then-sin-str"]  # an argument made by a refused instantiation
    assert f"{SYM} SL115" in reasons["symbol-build-state"]  # BUILD is not admitted
    assert f"{SYM}.subs SL104" in reasons["symbol-subs"]  # a bound method: analysed, not admitted
    assert f"{SIN}.func SL104" in reasons["sin-func"]
    assert "sympy.core.sympify.sympify SL101" in reasons["sympify-symbol-name"]
    assert f"{SIN} SL115" in reasons["sin-str-of-symbol"]


def test_a_symbol_name_is_never_parsed(tmp_path: Path) -> None:
    """The claim behind admitting str names: Symbol(code) and sin(Symbol(code)) store the text, run nothing."""
    marker = tmp_path / "marker-name"
    data = stream(newobj(ADD, newobj(SIN, newobj(SYM, u(code(marker)))), newobj(EXP, newobj(SYM, u("y")))))
    assert plain_load({"name": (data, marker)}, tmp_path) == {"name": False}
    assert refused(data) == []


def test_assumption_keywords(tmp_path: Path) -> None:
    """Symbol('x', real=True) pickles as NEWOBJ_EX with its assumptions: bool values of the known keywords only."""
    real = sympy.Symbol("x", real=True, positive=True)
    assert refused(pickle.dumps(real, protocol=4)) == []
    assert refused(pickle.dumps(sympy.sin(real) + 1, protocol=5)) == []
    for kwargs in ({"real": lit(1)}, {"real": u("yes")}, {"nonsense": lit(True)}, {"real": newobj(SYM, u("y"))}):
        assert f"{SYM} SL115" in refused(stream(newobj_ex(SYM, (u("x"),), kwargs))), kwargs
    # keywords on a class that takes none: refused, whatever the value
    assert f"{SIN} SL115" in refused(stream(newobj_ex(SIN, (newobj(SYM, u("x")),), {"evaluate": lit(False)})))
    from sympy.core.assumptions import _assume_defined

    assert set(SYMPY_ASSUMPTIONS) == set(_assume_defined)


def test_other_argument_kinds_are_refused() -> None:
    x = newobj(SYM, u("x"))
    bad = {
        "float to sin": newobj(SIN, lit(1.5)),
        "None to sin": newobj(SIN, lit(None)),
        "int to Add": newobj(ADD, x, lit(1)),
        "bytes to sin": newobj(SIN, b"C\x01a"),
        "list to sin": newobj(SIN, b"](" + x + b"e"),
        "dict to sin": newobj(SIN, b"}(" + u("a") + x + b"u"),
        "the class itself to sin": newobj(SIN, glob(SYM)),
        "a str to Integer": newobj(INT, u("12")),
        "a bool to Integer": newobj(INT, lit(True)),
        "an object to Integer": newobj(INT, newobj(INT, lit(3))),
        "two names to Symbol": newobj(SYM, u("x"), u("y")),
        "an int name": newobj(SYM, lit(3)),
        "arguments to a singleton": newobj("sympy.core.numbers.One", lit(1)),
        "one argument to Pow": newobj(POW, x),
        "an allocated Symbol to sin": newobj(SIN, reduce("copyreg._reconstructor", glob(SYM), glob("builtins.object"),
                                                         lit(None))),
        "a persistent id to sin": newobj(SIN, u("pid") + b"Q"),
    }
    for label, body in bad.items():
        assert refused(stream(body)), label


def test_powers_of_numbers_are_bounded() -> None:
    """Pow evaluates numbers at load (Integer(9)**Integer(10**9) hangs it): refused by the bound, never run here."""
    two = newobj(INT, lit(2))
    assert refused(stream(newobj(POW, two, newobj(INT, lit(100))))) == []
    assert refused(stream(newobj(POW, newobj(SYM, u("x")), newobj(INT, lit(10**30))))) == []  # symbolic
    assert f"{POW} SL115" in refused(stream(newobj(POW, newobj(INT, lit(9)), newobj(INT, lit(10**9)))))
    # nested powers: (2**64)**64 ... and a product doubled through memo references
    nested = two
    for _ in range(6):
        nested = newobj(POW, nested, newobj(INT, lit(64)))
    assert f"{POW} SL115" in refused(stream(nested))
    doubled = newobj(MUL, newobj(POW, two, newobj("sympy.core.numbers.Half")) + memo(), get(0))
    for level in range(1, 40):
        doubled = newobj(MUL, doubled + memo(), get(level))
    assert f"{MUL} SL115" in refused(stream(doubled))
    # an exponent computed by a sum stays bounded by its parts
    exponent = newobj(ADD, newobj(INT, lit(10**6)), newobj(INT, lit(10**6)))
    assert f"{POW} SL115" in refused(stream(newobj(POW, newobj(INT, lit(3)), exponent)))


def test_real_expressions_are_admitted() -> None:
    x, y = sympy.symbols("x y")
    for expr in (sympy.sin(x) ** 2 + sympy.Rational(1, 3) * sympy.exp(y) - sympy.sqrt(x * y), sympy.Eq(x + y, 3),
                 sympy.Integer(0), sympy.Integer(-1), x ** -2 * y / 7, sympy.Eq(sympy.exp(2 * x), sympy.sin(y) - 1)):
        for protocol in (2, 4, 5):
            assert refused(pickle.dumps(expr, protocol=protocol)) == [], (expr, protocol)


def test_the_entries_are_conditional() -> None:
    """The contract binds the NEW use only: nothing else is admitted, and the source analysis (code that calls the
    classes with its own arguments) does not count them as allowed."""
    for name in ADMITTED:
        entry = REVIEWED[name]
        assert entry.arguments is not None and entry.arguments[0] == "sympy_new", name
        assert entry.uses == Use.NEW | Use.HASH, name  # not PASSED: red team R10-1 (test_redteam_round10.py)
        assert entry.source_files, name
        found = classify_name(name)
        assert found.kind == "allowed", name
        assert not found.permitted & (Use.CALL | Use.INVOKE | Use.BUILD | Use.CALL_INSTANCE), name
        assert catalogue_view(name, Use.NEW) is None and catalogue_view(name, Use.CALL) is not True, name
    assert sympy.__version__ == "1.14.0"


def test_the_contract_function() -> None:
    """``argument_refusal`` on its own: unknown contracts refuse; objects count only through ``admitted``."""
    from safeload.catalog.state_contracts import SYMPY_MAX_BITS, SYMPY_MAX_WORK, argument_refusal

    def none(_value: object) -> tuple[int, int, int] | None:
        return None

    def made(bits: int, size: int = 1) -> Callable[[object], tuple[int, int, int]]:
        return lambda _value: (bits, size, size)

    assert argument_refusal("nonesuch", (), (), None, none)[0] == "unknown argument contract 'nonesuch'"
    basic = ("args:basic", "arity:2", "pow")
    assert argument_refusal("sympy_new", basic, (object(), object()), None, none)[0] is not None
    assert argument_refusal("sympy_new", basic, (1, 2), None, made(0)) == (None, (1, 3, 3))  # bare symbols: 0 + 0 + 1
    # an exponent not made by an integer class: the root of the base's numbers is charged (red team R11-1)
    assert argument_refusal("sympy_new", basic, (1, 2), None, made(3)) == (None, ((3 << 3) + 3 + 1, 3 + 8 * 3, 3 + 8 * 3))
    assert argument_refusal("sympy_new", basic, (1, 2), None, made(18))[0] is not None
    one = ("args:int", "arity:1")
    assert argument_refusal("sympy_new", one, (1 << SYMPY_MAX_BITS,), None, none)[0] is not None
    assert argument_refusal("sympy_new", one, (5,), None, none) == (None, (4, 1, 1))
    assert argument_refusal("sympy_new", one, (5,), {}, none) == (None, (4, 1, 1))
    assert argument_refusal("sympy_new", one, (5,), {"a": True}, none)[0] is not None
    assert argument_refusal("sympy_new", one, (5,), None, none, spent=SYMPY_MAX_WORK)[0] is not None  # the stream's budget
    assert argument_refusal("sympy_new", ("args:name", "arity:1", "kw:real"), ("x",), {"real": True}, none) == (
        None, (0, 1, 1))
    assert argument_refusal("sympy_new", ("arity:0", "bits:3"), (), None, none) == (None, (3, 1, 1))
    assert argument_refusal("sympy_new", ("args:basic", "arity:*"), (1,) * 3, None, made(0, 1 << 21))[0] is not None
    # a node's whole charge is what the stream's budget consumes: Equality its size squared, exp/sin 100 a slot
    eq = ("args:basic", "arity:2", "cost:square")
    assert argument_refusal("sympy_new", eq, (1, 2), None, made(0, 100)) == (None, (2, 201, 201 * 201))
    assert argument_refusal("sympy_new", eq, (1, 2), None, made(0, 200))[0] is not None  # 401**2 > 2**16
    fn = ("args:basic", "arity:1", "cost:100")
    assert argument_refusal("sympy_new", fn, (1,), None, made(0, 9)) == (None, (1, 10, 1000))
    assert argument_refusal("sympy_new", fn, (1,), None, made(0, 9), spent=SYMPY_MAX_WORK - 999)[0] is not None


def test_evaluation_work_is_bounded() -> None:
    """A chain of nested sums is flattened again at every level (quadratic), a memo-shared sum copied at every
    use: the stream's total tree size is bounded."""
    chain = newobj(SYM, u("x0"))
    for i in range(1, 3000):
        chain = newobj(ADD, chain, newobj(SYM, u(f"x{i}")))
    assert f"{ADD} SL115" in refused(stream(chain))
    shared = newobj(ADD, *(newobj(SYM, u(f"x{i}")) for i in range(2000))) + memo()
    assert refused(stream(shared)) == []
    assert f"{ADD} SL115" in refused(stream(newobj(ADD, shared, *(get(0) for _ in range(2500)))))
