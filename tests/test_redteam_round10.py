"""Red team round 10 (rt10): attacks on this session's changes (the sympy argument contract, the star-import
readings, the lighter first load).

Every attack is live: the plain loader (``pickle.loads`` in a fresh interpreter, or a real import) creates its
marker file; scanned or loaded through safeload it is refused and the marker is absent.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_sympy_contract import (
    INT,
    SYM,
    code,
    glob,
    lit,
    newobj,
    plain_load,
    reduce,
    refused,
    stream,
    tup,
    u,
)

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
