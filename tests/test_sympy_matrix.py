"""Attacks on the sympy 1.14 matrix contracts (issue 14: ``sympy/matrix.pkl``).

Reviewed (``catalog/reviewed.py``, ``SYMPY_MATRIX_REVIEWED_FILES``): a ``Matrix`` pickles as NEWOBJ of
``MutableDenseMatrix`` with no argument, then BUILD ``{rows, cols, _rep}``; ``_rep`` is REDUCE of ``DomainMatrix`` with
``(dict of row dicts, (rows, cols), ExpressionRawDomain())``. Admitted only under the contracts
(``catalog/state_contracts.py``): no argument to the matrix or the domain (``sympy_matrix``, ``sympy_domain``), the
BUILD state exactly ``rows``/``cols``/``_rep`` with ``_rep`` an admitted DomainMatrix of that shape
(``sympy_matrix_state``), and the DomainMatrix's rows plain int keys in range to objects the ``sympy_new`` contract
admitted, a bounded shape, the admitted domain, a bounded stream of SDM work (``sympy_matrix_rep``); its row dicts are
checked again when the stream ends.

Live twins: ``at load`` attacks create their marker under ``pickle.loads``; ``after load`` attacks create it when the
loaded matrix is simplified (``Matrix.simplify`` sympifies every entry non-strictly: a str entry reaches
``parse_expr``). Each is refused by the scan (both engines agree: ``refused``), and the safe loader raises without
creating the marker.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import safeload
from safeload.catalog.classify import classify_name
from safeload.catalog.reviewed import REVIEWED
from safeload.catalog.uses import Use
from tests.pickle_terms import get, glob, lit, memo, newobj, newobj_ex, reduce, stream, tup, u
from tests.test_sympy_contract import ADD, SYM, code, plain_load, refused

sympy = pytest.importorskip("sympy")

MAT = "sympy.matrices.dense.MutableDenseMatrix"
DM = "sympy.polys.matrices.domainmatrix.DomainMatrix"
EXRAW = "sympy.polys.domains.expressionrawdomain.ExpressionRawDomain"


def dct(*items: bytes) -> bytes:
    """A literal dict: EMPTY_DICT MARK items SETITEMS."""
    return b"}(" + b"".join(items) + b"u"


def lst(*items: bytes) -> bytes:
    return b"](" + b"".join(items) + b"e"


def rep(rows: bytes, shape: tuple[int, int] = (1, 1), domain: bytes | None = None) -> bytes:
    """REDUCE of DomainMatrix as DomainMatrix.__reduce__ writes it."""
    return reduce(DM, rows, tup(lit(shape[0]), lit(shape[1])), newobj(EXRAW) if domain is None else domain)


def matrix(rows: bytes, shape: tuple[int, int] = (1, 1), domain: bytes | None = None, *, extra: bytes = b"",
           the_rep: bytes | None = None) -> bytes:
    """NEWOBJ of MutableDenseMatrix, BUILD {rows, cols, _rep} (+ ``extra`` items), as object.__reduce_ex__ writes."""
    body = the_rep if the_rep is not None else rep(rows, shape, domain)
    return newobj(MAT) + dct(u("rows"), lit(shape[0]), u("cols"), lit(shape[1]), u("_rep"), body, extra) + b"b"


X = newobj(SYM, u("x"))


def dict_method(name: str) -> bytes:
    """STACK_GLOBAL of ``builtins`` ``dict.<name>`` (protocol 4 resolves the dotted name)."""
    return u("builtins") + u(f"dict.{name}") + b"\x93"


def one_entry(value: bytes) -> bytes:
    return matrix(dct(lit(0), dct(lit(0), value)))


def safe_load_refuses(data: bytes) -> bool:
    """The safe loader raises on ``data`` (and so never hands back an object to simplify)."""
    try:
        safeload.pickle_loads(data)
    except safeload.UnsafeModelError:
        return True
    return False


def all_refused(cases: dict[str, tuple[bytes, Path]]) -> dict[str, list[str]]:
    """Each case is refused by the scan (both engines) and by the safe loader, its marker never made; the reasons."""
    reasons = {}
    for label, (data, marker) in cases.items():
        reasons[label] = refused(data)
        assert reasons[label], label
        assert safe_load_refuses(data), label
        assert not marker.exists(), label
    return reasons


def cases_of(tmp_path: Path, builders: dict[str, Callable[[str], bytes]]) -> dict[str, tuple[bytes, Path]]:
    out = {}
    for label, build in builders.items():
        marker = tmp_path / f"marker-{label}"
        out[label] = (stream(build(code(marker))), marker)
    return out


# --- what sympy writes is admitted ----------------------------------------------------------------------------------
@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_real_matrices_are_admitted_and_load(protocol: int) -> None:
    x, y = sympy.symbols("x y")
    matrices = [sympy.Matrix([[x, 1], [0, y]]), sympy.Matrix([[sympy.sin(x) ** 2, sympy.Rational(1, 3)],
                                                             [sympy.exp(y), x * y - 1]]),
                sympy.Matrix(3, 3, lambda i, j: x ** i + y * j), sympy.eye(3) * x, sympy.Matrix([[x, y, x + y]]).T]
    for value in matrices:
        data = pickle.dumps(value, protocol=protocol)
        assert refused(data) == [], (value, protocol)
        loaded = safeload.pickle_loads(data)
        assert sympy.srepr(loaded) == sympy.srepr(value)
        assert type(loaded) is type(value)


def test_a_symbol_name_in_a_matrix_is_never_parsed(tmp_path: Path) -> None:
    """The claim behind admitting Symbol entries: neither the load nor simplify() parses a Symbol's name."""
    cases = cases_of(tmp_path, {"name": lambda c: one_entry(newobj(SYM, u(c)))})
    assert plain_load(cases, tmp_path, simplify=True) == {"name": False}
    data, marker = cases["name"]
    assert refused(data) == []
    safeload.pickle_loads(data).simplify()
    assert not marker.exists()


# --- attacks live at load -------------------------------------------------------------------------------------------
def at_load_attacks() -> dict[str, Callable[[str], bytes]]:
    x = X
    return {
        # Matrix(...) with an argument converts it: a list of lists is sympified non-strictly -> parse_expr
        "newobj-with-rows": lambda c: newobj(MAT, lst(lst(u(c)))),
        "newobj-ex-with-rows": lambda c: newobj_ex(MAT, (lst(lst(u(c))),), {}),
        "reduce-matrix": lambda c: reduce(MAT, lst(lst(u(c)))),
        "copyreg-newobj-matrix": lambda c: reduce("copyreg.__newobj__", glob(MAT), lst(lst(u(c)))),
        "alias-matrix": lambda c: newobj("sympy.Matrix", lst(lst(u(c)))),
        # SETITEM on an admitted matrix: MutableRepMatrix.__setitem__ sympifies the value (_setitem)
        "setitem-on-matrix": lambda c: one_entry(x) + tup(lit(0), lit(0)) + u(c) + b"s",
        # the same through the bound method, reached by getattr
        "getattr-setitem": lambda c: reduce(reduce("builtins.getattr", one_entry(x), u("__setitem__")),
                                            tup(lit(0), lit(0)), u(c)),
    }


def test_attacks_at_load_are_live_and_refused(tmp_path: Path) -> None:
    cases = cases_of(tmp_path, at_load_attacks())
    assert plain_load(cases, tmp_path, simplify=False) == dict.fromkeys(cases, True), "an attack is not live"
    reasons = all_refused(cases)
    assert f"{MAT} SL115" in reasons["newobj-with-rows"]  # the sympy_matrix contract: no argument
    assert f"{MAT} SL115" in reasons["newobj-ex-with-rows"]
    assert f"{MAT} SL101" in reasons["reduce-matrix"]  # calling it stays denied (DENY_NARROWED keeps CALL)
    assert f"{MAT} SL115" in reasons["copyreg-newobj-matrix"]
    assert "sympy.Matrix SL101" in reasons["alias-matrix"]  # the review is for the dotted name, not its aliases
    assert f"{MAT} SL115" in reasons["setitem-on-matrix"]  # MUTATE is not admitted


# --- attacks live after the load: what the admitted matrix would hold -----------------------------------------------
def after_load_attacks() -> dict[str, Callable[[str], bytes]]:
    x = X
    return {
        "str-entry": lambda c: one_entry(u(c)),
        "tuple-entry": lambda c: one_entry(tup(u(c))),
        "str-from-call-entry": lambda c: one_entry(reduce("builtins.str", u(c))),
        # a str memo-reused after being a Symbol's name (the name is admitted; the str as an entry is not)
        "memo-str-entry": lambda c: tup(newobj(SYM, u(c) + memo()), one_entry(get(0))),
        # the row dict changed after the REDUCE, through a memo reference (plain dicts are not watched: the rows
        # are checked again when the stream ends)
        "row-setitem-after": lambda c: tup(matrix(dct(lit(0), dct(lit(0), x) + memo()), (1, 2)),
                                           get(0) + lit(1) + u(c) + b"s"),
        "row-setitems-after": lambda c: tup(matrix(dct(lit(0), dct(lit(0), x) + memo()), (1, 2)),
                                            get(0) + b"(" + lit(1) + u(c) + b"u"),
        # the row dict changed after the REDUCE by a call (the walk does not model what a call does to a dict)
        "row-operator-setitem": lambda c: tup(matrix(dct(lit(0), dct(lit(0), x) + memo()), (1, 2)),
                                              reduce("operator.setitem", get(0), lit(1), u(c))),
        "row-dict-update": lambda c: tup(matrix(dct(lit(0), dct(lit(0), x) + memo()), (1, 2)),
                                         reduce(dict_method("update"), get(0), dct(lit(1), u(c)))),
        "row-dict-setitem": lambda c: tup(matrix(dct(lit(0), dct(lit(0), x) + memo()), (1, 2)),
                                          reduce(dict_method("__setitem__"), get(0), lit(1), u(c))),
        "row-dict-setdefault": lambda c: tup(matrix(dct(lit(0), dct(lit(0), x) + memo()), (1, 2)),
                                             reduce(dict_method("setdefault"), get(0), lit(1), u(c))),
        # a dense (DDM) list of lists: stored as is, like the dict form
        "dense-rows": lambda c: matrix(lst(lst(u(c)))),
    }


def test_attacks_after_load_are_live_and_refused(tmp_path: Path) -> None:
    cases = cases_of(tmp_path, after_load_attacks())
    assert plain_load(cases, tmp_path, simplify=False) == dict.fromkeys(cases, False), "runs at load: misfiled"
    assert plain_load(cases, tmp_path, simplify=True) == dict.fromkeys(cases, True), "an attack is not live"
    reasons = all_refused(cases)
    by_call = {"row-operator-setitem": "operator.setitem", "row-dict-update": "builtins.dict.update",
               "row-dict-setitem": "builtins.dict.__setitem__", "row-dict-setdefault": "builtins.dict.setdefault"}
    for label in cases:
        if label in by_call:  # the mutating call is not admitted at all
            assert any(reason.startswith(by_call[label] + " ") for reason in reasons[label]), label
        else:
            assert f"{DM} SL115" in reasons[label], label


# --- shapes, keys, domains, nesting, state: refused (no live twin needed: each is checked to be refused for its
# own reason) ---------------------------------------------------------------------------------------------------------
def test_shapes_are_bounded() -> None:
    from safeload.catalog.state_contracts import SYMPY_MATRIX_MAX_CELLS

    assert refused(stream(matrix(dct(), (1024, 1024)))) == []  # 2**20 cells: the bound
    started = time.perf_counter()
    assert safeload.pickle_loads(stream(matrix(dct(), (1024, 1024)))).shape == (1024, 1024)
    assert time.perf_counter() - started < 5
    for shape in ((10**9, 10**9), (SYMPY_MATRIX_MAX_CELLS + 1, 1), (1, SYMPY_MATRIX_MAX_CELLS + 1), (0, 10**18),
                  (-1, 5), (2**40, 0), (1 << 20000, 1 << 20000)):
        assert f"{DM} SL115" in refused(stream(matrix(dct(), shape))), shape
    # the shape not a tuple of two plain ints
    for bad in (lst(lit(1), lit(1)), tup(lit(1)), tup(lit(1), lit(1), lit(1)), tup(lit(1.0), lit(1)),
                tup(lit(True), lit(1)), tup(newobj("sympy.core.numbers.Integer", lit(1)), lit(1))):
        body = newobj(MAT) + dct(u("rows"), lit(1), u("cols"), lit(1), u("_rep"),
                                 reduce(DM, dct(), bad, newobj(EXRAW))) + b"b"
        assert f"{DM} SL115" in refused(stream(body))


def test_keys_must_be_plain_ints_in_range() -> None:
    for label, rows in {
        "symbol row key": dct(X, dct(lit(0), X)),
        "str row key": dct(u("0"), dct(lit(0), X)),
        "bool row key": dct(lit(True), dct(lit(0), X)),
        "row out of range": dct(lit(1), dct(lit(0), X)),
        "negative row": dct(lit(-1), dct(lit(0), X)),
        "float column": dct(lit(0), dct(lit(0.0), X)),
        "integer-object column": dct(lit(0), dct(newobj("sympy.core.numbers.Integer", lit(0)), X)),
        "column out of range": dct(lit(0), dct(lit(1), X)),
        "a huge row key": dct(lit(1 << 20000), dct(lit(0), X)),
        "a huge column key": dct(lit(0), dct(lit(-(1 << 20000)), X)),
        "row a list": dct(lit(0), lst(X)),
        "row a tuple": dct(lit(0), tup(X)),
        "row built by dict()": dct(lit(0), reduce("builtins.dict", lst(tup(lit(0), X)))),
        "rows built by dict()": reduce("builtins.dict", lst(tup(lit(0), dct(lit(0), X)))),
        "rows a set": b"\x8f(" + lit(0) + b"\x90",
    }.items():
        assert f"{DM} SL115" in refused(stream(matrix(rows))), label


def test_the_domain_is_the_admitted_exraw() -> None:
    rows = dct(lit(0), dct(lit(0), X))
    for label, domain in {
        "a symbol": X,
        "the class": glob(EXRAW),
        "the module's EXRAW": glob("sympy.polys.domains.expressionrawdomain.EXRAW"),
        "called": reduce(EXRAW),
        "with arguments": newobj(EXRAW, lit(1)),
        "with keywords": newobj_ex(EXRAW, (), {"a": lit(1)}),
        "an integer ring": newobj("sympy.polys.domains.integerring.IntegerRing"),
        "an expression domain": newobj("sympy.polys.domains.expressiondomain.ExpressionDomain"),
        "given state": newobj(EXRAW) + dct(u("dtype"), glob("builtins.str")) + b"b",
        "a None": lit(None),
    }.items():
        assert refused(stream(matrix(rows, domain=domain))), label
    # the same domain object shared by two matrices (memo): admitted
    shared = newobj(EXRAW) + memo()
    body = tup(matrix(rows, domain=shared), matrix(dct(lit(0), dct(lit(0), newobj(SYM, u("y")))), domain=get(0)))
    assert refused(stream(body)) == []


def test_nested_and_foreign_objects() -> None:
    rows = dct(lit(0), dct(lit(0), X))
    inner = matrix(rows)
    for label, body in {
        "a matrix as an entry": one_entry(inner),
        "a DomainMatrix as an entry": one_entry(rep(rows)),
        "the domain as an entry": one_entry(newobj(EXRAW)),
        "a list entry": one_entry(lst(X)),
        "an int entry": one_entry(lit(1)),
        "a None entry": one_entry(lit(None)),
        "a refused sympy object as an entry": one_entry(newobj("sympy.functions.elementary.trigonometric.sin",
                                                               u("x"))),
        "a matrix in a sum": newobj(ADD, X, inner),
        "a DomainMatrix in a sum": newobj(ADD, X, rep(rows)),
        "the matrix passed to str()": reduce("builtins.str", inner),
        "the DomainMatrix passed to str()": reduce("builtins.str", rep(rows)),
        "the matrix compared (max)": reduce("builtins.max", inner, tup(u("x"))),
        "the matrix as a dict key": dct(inner, lit(1)),
        "the determinant at load": reduce(reduce("builtins.getattr", inner, u("det"))),
        "simplify at load": reduce(reduce("builtins.getattr", inner, u("simplify"))),
        "a DomainMatrix instantiated (NEWOBJ)": newobj(DM, rows, tup(lit(1), lit(1)), newobj(EXRAW)),
        # functools.partial(DomainMatrix, fmt="dense") as pickle writes a partial (NEWOBJ + BUILD), then called
        "a DomainMatrix with fmt=": reduce(glob("functools.partial") + tup(glob(DM)) + b"\x81"
                                           + tup(glob(DM), b")", dct(u("fmt"), u("dense")), lit(None)) + b"b",
                                           rows, tup(lit(1), lit(1)), newobj(EXRAW)),
        "a DomainMatrix with four arguments": reduce(DM, rows, tup(lit(1), lit(1)), newobj(EXRAW), lit(None)),
    }.items():
        assert refused(stream(body)), label


def test_the_build_state() -> None:
    rows = dct(lit(0), dct(lit(0), X))
    state_cases = {
        "an extra key": matrix(rows, extra=u("det") + X),
        "a dunder key": matrix(rows, extra=u("__class__") + glob(MAT)),
        "rows not the shape": newobj(MAT) + dct(u("rows"), lit(2), u("cols"), lit(1), u("_rep"), rep(rows)) + b"b",
        "a missing key": newobj(MAT) + dct(u("rows"), lit(1), u("_rep"), rep(rows)) + b"b",
        "_rep a refused DomainMatrix": matrix(rows, the_rep=rep(dct(lit(0), dct(lit(0), u("x"))))),
        "_rep a matrix": matrix(rows, the_rep=matrix(rows)),
        "_rep a dict": matrix(rows, the_rep=rows),
        "_rep a DomainMatrix made by NEWOBJ": matrix(rows, the_rep=newobj(DM, rows, tup(lit(1), lit(1)),
                                                                           newobj(EXRAW))),
        "a slot state": newobj(MAT) + tup(dct(u("rows"), lit(1), u("cols"), lit(1), u("_rep"), rep(rows)),
                                          dct(u("_rep"), X)) + b"b",
        "built twice, the second bad": matrix(rows) + dct(u("rows"), lit(1), u("cols"), lit(1), u("_rep"), X) + b"b",
        "a computed key": newobj(MAT) + dct(u("rows"), lit(1), u("cols"), lit(1),
                                            reduce("builtins.str", u("_rep")), rep(rows)) + b"b",
        "BUILD on the DomainMatrix": matrix(rows, the_rep=rep(rows) + dct(u("domain"), X) + b"b"),
        "SETITEM on the DomainMatrix": matrix(rows, the_rep=rep(rows) + tup(lit(0), lit(0)) + X + b"s"),
        "BUILD on a Symbol entry": one_entry(newobj(SYM, u("x")) + dct(u("name"), u("y")) + b"b"),
        "APPEND on the matrix": one_entry(X) + X + b"a",
    }
    for label, body in state_cases.items():
        assert refused(stream(body)), label


# --- work at load ----------------------------------------------------------------------------------------------------
def shared_rows_flood(calls: int) -> bytes:
    """A 1024-key row dict, shared by all 1024 rows of a 1024 x 1024 DomainMatrix (a 2**20-key SDM walk), and
    ``calls`` DomainMatrix REDUCEs of that same memo-reused dict of rows: a few bytes a call, 2**20 comparisons each."""
    row = dct(*(lit(c) + get(0) for c in range(1024)))
    rows = dct(*(lit(r) + get(1) for r in range(1024)))
    first = X + memo() + row + memo() + rows + memo() + newobj(EXRAW) + memo()
    call = glob(DM) + tup(get(2), tup(lit(1024), lit(1024)), get(3)) + b"R"
    return stream(lst(first, *([call] * calls)))


@pytest.mark.slow  # the live twin runs 10 s
def test_a_flood_of_shared_rows_hangs_the_plain_load_and_is_refused(tmp_path: Path) -> None:
    data = shared_rows_flood(4000)  # ~70 KB; 4000 * 2**20 key comparisons under the plain loader
    path = tmp_path / "flood.pkl"
    path.write_bytes(data)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFELOAD_")}
    with pytest.raises(subprocess.TimeoutExpired):  # the live twin: the plain load does not finish in 10 s
        subprocess.run([sys.executable, "-c", f"import pickle; pickle.load(open({str(path)!r}, 'rb'))"], env=env,
                       timeout=10, check=False, capture_output=True)
    started = time.perf_counter()
    assert f"{DM} SL115" in refused(data)
    assert time.perf_counter() - started < 30  # both engines, refused calls charged: the scan does not walk 4000x


def test_the_work_bound_admits_a_few_large_matrices() -> None:
    """Three 2**20-key walks fit the 2**22 budget; the fourth does not (the bound counts shared dicts per use)."""
    assert refused(shared_rows_flood(3)) == []
    assert f"{DM} SL115" in refused(shared_rows_flood(4))


# --- the entries ----------------------------------------------------------------------------------------------------
def test_the_entries_are_conditional() -> None:
    expected = {MAT: (Use.NEW | Use.BUILD, "sympy_matrix"), DM: (Use.CALL | Use.CALL_INSTANCE, "sympy_matrix_rep"),
                EXRAW: (Use.NEW, "sympy_domain")}
    for name, (uses, contract) in expected.items():
        entry = REVIEWED[name]
        assert entry.uses == uses, name
        assert entry.arguments is not None and entry.arguments[0] == contract, name
        assert entry.source_files, name
        assert not entry.uses & (Use.PASSED | Use.HASH | Use.MUTATE), name
        assert classify_name(name).kind == "allowed", name
    assert REVIEWED[MAT].build_state == ("sympy_matrix_state", ())
    assert sympy.__version__ == "1.14.0"


def test_the_contract_functions() -> None:
    from safeload.catalog.state_contracts import SYMPY_MATRIX_MAX_WORK, argument_recheck, argument_refusal, refusal

    entry, domain = object(), type("Domain", (), {"state": None, "items": None})()

    def admitted(value: object, contract: str | None = None) -> tuple[int, int, int] | None:
        if contract == "sympy_new" and value is entry:
            return (0, 1, 1)
        if contract == "sympy_domain" and value is domain:
            return (0, 0, 0)
        return None

    rows = {0: {0: entry, 1: entry}, 1: {1: entry}}
    read: list[object] = []
    assert argument_refusal("sympy_matrix_rep", (), (rows, (2, 2), domain), None, admitted, read=read) == (
        None, (0, 6, 6))
    assert read == [rows[0], rows[1], domain]
    assert argument_recheck("sympy_matrix_rep", (rows, (2, 2), domain), read, admitted) is None
    rows[1][0] = "code"
    assert argument_recheck("sympy_matrix_rep", (rows, (2, 2), domain), read, admitted) is not None
    del rows[1][0]
    assert argument_refusal("sympy_matrix_rep", (), (rows, (2, 2), entry), None, admitted)[0] is not None
    assert argument_refusal("sympy_matrix_rep", (), (rows, (2, 2), domain), {"fmt": "dense"}, admitted)[0] is not None
    assert argument_refusal("sympy_matrix_rep", (), (rows, (2, 2), domain), None, admitted,
                            spent=SYMPY_MATRIX_MAX_WORK - 3)[0] is not None
    assert argument_refusal("sympy_matrix", (), (), None, admitted) == (None, (0, 0, 0))
    assert argument_refusal("sympy_matrix", (), ([[1]],), None, admitted)[0] is not None
    # the BUILD state contract needs the provenance query
    assert refusal("sympy_matrix_state", (), {"rows": 1, "cols": 1, "_rep": entry}) is not None


def test_a_huge_int_in_a_refused_call_is_a_finding_not_a_scanner_error() -> None:
    """Found attacking the shape bound: a file's int beyond CPython's int-to-str limit (4300 digits) in a refused
    call's arguments made the finding's text raise (``_text.short_repr``); the scan reported SL005 instead of the
    refusal. Now the refusal itself is reported."""
    result = safeload.scan(stream(reduce("os.system", lit(1 << 20000))))
    assert [f.rule_id for f in result.blocking()] == ["SL101"]
    assert f"{DM} SL115" in refused(stream(matrix(dct(), (1 << 20000, 1))))


def test_the_entries_are_bound_to_the_files_read() -> None:
    """The matrix entries hold only while the 13 modules the review read are installed with that text."""
    from safeload.catalog.decide import reviewed_files_hold
    from safeload.catalog.reviewed import SYMPY_MATRIX_REVIEWED_FILES

    modules = {module for module, _digest in SYMPY_MATRIX_REVIEWED_FILES}
    assert {"sympy.matrices.dense", "sympy.matrices.repmatrix", "sympy.polys.matrices.domainmatrix",
            "sympy.polys.matrices.sdm", "sympy.polys.domains.expressionrawdomain"} <= modules
    for name in (MAT, DM, EXRAW):
        assert REVIEWED[name].source_files == SYMPY_MATRIX_REVIEWED_FILES
    assert reviewed_files_hold(SYMPY_MATRIX_REVIEWED_FILES)
    edited = (("sympy.polys.matrices.sdm", "0" * 64), *SYMPY_MATRIX_REVIEWED_FILES[1:])
    assert not reviewed_files_hold(edited)
