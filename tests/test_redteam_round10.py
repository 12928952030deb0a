"""Red team round 10 (rt10): attacks on this session's changes (the sympy argument contract, the star-import
readings, the lighter first load).

Every attack is live: the plain loader (``pickle.loads`` in a fresh interpreter, or a real import) creates its
marker file; scanned or loaded through safeload it is refused and the marker is absent.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.pickle_terms import glob, lit, newobj, reduce, stream, tup, u
from tests.test_sympy_contract import INT, SYM, code, plain_load, refused

pytest.importorskip("sympy")


def lst(*items: bytes) -> bytes:
    return b"](" + b"".join(items) + b"e"


# --- R10-1: an admitted sympy object passed on to a call that compares it -------------------------------------------
# The entries admitted PASSED on the premise that the Basic/Expr operators sympify strictly. Strict _sympify of a
# tuple (or dict) is the converter Tuple(*t) (Dict(*d.items())), whose items are sympified NON-strictly: a str item
# reaches parse_expr (eval). builtins.max (allowed to be INVOKEd) compares its arguments; builtins.map calls it with
# one item of each list: max(Symbol('x'), (code,)) -> tuple > Symbol -> Symbol.__lt__(tuple) -> StrictLessThan ->
# _sympify(tuple) -> Tuple(code) -> sympify(code) -> eval.
def passed_attacks(tmp_path: Path) -> dict[str, tuple[bytes, Path]]:
    out: dict[str, tuple[bytes, Path]] = {}
    x = newobj(SYM, u("x"))
    three = newobj(INT, lit(3))

    def add(label: str, build: object) -> None:
        marker = tmp_path / f"marker-{label}"
        out[label] = (stream(build(code(marker))), marker)  # type: ignore[operator]

    add("map-max-symbol", lambda c: reduce("builtins.list", reduce("builtins.map", glob("builtins.max"), lst(x),
                                                                    lst(tup(u(c))))))
    add("map-max-integer", lambda c: reduce("builtins.list", reduce("builtins.map", glob("builtins.max"), lst(three),
                                                                     lst(tup(u(c))))))
    add("map-max-dict", lambda c: reduce("builtins.list", reduce("builtins.map", glob("builtins.max"), lst(x),
                                                                  lst(b"}(" + u("a") + u(c) + b"u"))))
    add("map-partial-max", lambda c: reduce("builtins.list", reduce(
        "builtins.map", reduce("functools.partial", glob("builtins.max"), x), lst(tup(u(c))))))
    # the partial's arguments set by partial.__setstate__ (BUILD), not by its call
    add("map-partial-build", lambda c: reduce("builtins.list", reduce(
        "builtins.map",
        glob("functools.partial") + tup(glob("builtins.max")) + b"\x81"
        + tup(glob("builtins.max"), tup(x), b"}", lit(None)) + b"b",
        lst(tup(u(c))))))
    add("dict-of-map-max", lambda c: reduce("builtins.dict", reduce("builtins.map", glob("builtins.max"), lst(x),
                                                                     lst(tup(u(c))))))
    return out


def test_r10_1_sympy_object_passed_to_a_comparison(tmp_path: Path) -> None:
    cases = passed_attacks(tmp_path)
    assert plain_load(cases, tmp_path) == dict.fromkeys(cases, True), "an attack does not run under the plain loader"
    for label, (data, marker) in cases.items():
        assert refused(data), label
        assert not marker.exists(), label


# --- R10-2: Equality's evaluation is superlinear in its operands' size ---------------------------------------------
# Equality.__new__ evaluates is_eq(lhs, rhs) at load: for symbolic operands it reaches dif.as_numer_denom(), which
# for a sum of n terms with distinct denominators builds n products of n-1 factors (and more: measured 1 s at
# n=250, 3.5 s at 500, 25 s at 1000, ~n**2.8). Eq(1/x0 + ... + 1/x4999, 0) is a 109 KB pickle of ~15000 argument
# slots, far inside the contract's work bound (2**22): admitted, its load runs for the better part of an hour.
def reciprocal_sum_equation(n: int) -> bytes:
    import pickle

    import sympy

    terms = [sympy.Pow(sympy.Symbol(f"x{i}"), sympy.S.NegativeOne) for i in range(n)]
    return pickle.dumps(sympy.Equality(sympy.Add(*terms), sympy.S.Zero, evaluate=False), protocol=4)


@pytest.mark.slow  # the live twin runs 20 s
def test_r10_2_equality_evaluation_is_bounded(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    data = reciprocal_sum_equation(2000)
    path = tmp_path / "equation.pkl"
    path.write_bytes(data)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFELOAD_")}
    with pytest.raises(subprocess.TimeoutExpired):  # the live twin: the plain load does not finish in 20 s
        subprocess.run([sys.executable, "-c", f"import pickle; pickle.load(open({str(path)!r}, 'rb'))"], env=env,
                       timeout=20, check=False, capture_output=True)
    assert refused(data)


def test_r10_2_the_largest_admitted_equation_loads_in_a_moment() -> None:
    """Fixed by charging Equality its operand size squared (and exp/sin 100 a slot) against the stream's 2**16
    budget: 80 reciprocal terms (243 slots) are admitted and load in well under a second; 90 are refused."""
    import time

    import safeload

    started = time.perf_counter()
    assert safeload.pickle_loads(reciprocal_sum_equation(80)) is not None
    assert time.perf_counter() - started < 5
    assert refused(reciprocal_sum_equation(90))


def test_r10_2_exp_of_a_shared_large_sum_is_bounded() -> None:
    """exp of a sum is ~0.1 ms a slot at load: a 700-slot sum under exp is refused (charged 100 a slot)."""
    import pickle

    import sympy

    big = sympy.Add(*[sympy.Symbol(f"y{i}") for i in range(700)])
    assert refused(pickle.dumps(sympy.exp(big, evaluate=False), protocol=4))
    small = sympy.Add(*[sympy.Symbol(f"y{i}") for i in range(100)])
    assert not refused(pickle.dumps(sympy.exp(small, evaluate=False), protocol=4))


# --- R10-3: a shadow of a module a declared (trusted) plugin imports ------------------------------------------------
# SL117 reads torch's static closure (plugins=False since f3ceb18; with plugins=True the walk reads torch's modules
# and still never follows an entry point): the plugin's own imports are never walked.
# The user trusts the installed plugin (its init imports an installed, benign helper); a file of the helper's name in
# the working directory runs when torch's import loads the plugin.
def test_r10_3_shadow_of_a_trusted_plugins_import(tmp_path: Path) -> None:
    from tests.test_import_time_plugins import _LOAD, _PLUGIN, _SHADOW_TWIN, _run, _site

    pytest.importorskip("torch")
    plugin_marker = tmp_path / "MARKER"
    files = {rel: text.replace("MARKER", repr(str(plugin_marker))) for rel, text in _PLUGIN.items()}
    files["rt8p/__init__.py"] = "import rt10helper\n\n\ndef init():\n    rt10helper.hello()\n"
    files["rt10helper.py"] = "def hello():\n    pass\n"
    site = _site(tmp_path / "site", files)
    shadow_marker = tmp_path / "SHADOW"
    (tmp_path / "rt10helper.py").write_text(f"open({str(shadow_marker)!r}, 'w').close()\n\n\ndef hello():\n"
                                            "    pass\n")
    data = b"\x80\x02ctorch\nfloat32\n."
    result = _run(site, _LOAD.format(data=data, trusted=["rt8p.*"]), tmp_path)
    assert not shadow_marker.exists(), "the shadowing module ran under safeload"
    assert result["loaded"] is False, result
    _run(site, _SHADOW_TWIN.format(data=data), tmp_path)  # live twin: torch loads the plugin, which imports it
    assert shadow_marker.exists()


# --- R10-4: a star import and a later binding in one try body, an exception between them ---------------------------
# The star-before-conditional fix (0816db2) reads the later binding when both are statements of one block ("whenever
# the binding runs, so did the star import"). In a try body an exception between them (caught by the handler) skips
# the binding: the name is what the star import bound.
_TRY_BLOCK = """
    try:
        from atks.evil import *
        import atks_not_installed_r10
        def helper(x):
            return [x]
    except ImportError:
        pass
"""


def test_r10_4_star_then_binding_in_one_try_body(tmp_path: Path) -> None:
    import textwrap

    from tests.test_redteam_round2 import LibCase, _live, _refused
    from tests.test_star_exports import _EVIL, _IMPL

    user = """
    from atks import api

    class Holder:
        def __setstate__(self, state):
            self.value = api.helper(state)
"""
    case = LibCase({"atks/__init__.py": "", "atks/impl.py": _IMPL, "atks/evil.py": _EVIL,
                    "atks/api.py": textwrap.dedent(_TRY_BLOCK), "atks/user.py": textwrap.dedent(user)},
                   lambda: b"\x80\x02catks.user\nHolder\n)\x81K\x01b.")
    _live(tmp_path / "live", case)
    _refused(tmp_path / "safe", case)
