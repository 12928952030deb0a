"""Operators on class objects at import (xarray's ``BasicIndexerType = int | np.integer | slice``).

``C | D`` on classes runs ``type(C).__or__`` (or, when the right operand's metaclass derives from the left's and
overrides it, ``type(D).__ror__`` first): ``type``'s C method builds a ``types.UnionType``. The rule: an operator
(binary, unary, comparison) on a class read from source is inert when its metaclass is ``type``, a known metaclass
that leaves the operator to ``type``, or a source metaclass that defines none of the operator's methods; otherwise
the import is not inert. A typing alias holding classes (``T = A | B``, then ``T | None``) is a builtin value only
when each class is a builtin, a reviewed compiled class (``source_tables.PLAIN_COMPILED_CLASSES``: static,
immutable extension types whose metaclass is ``type``) or a source class whose metaclass methods are ``type``'s.
Unit cases use the synthetic environment of ``tests/test_source_analysis``; the end-to-end cases install a small
library whose metaclass writes a marker: live under ``pickle.load``, refused by safeload with no marker."""

from __future__ import annotations

import sys
import sysconfig
from pathlib import Path

import pytest

from safeload.catalog.decide import catalogue_view
from safeload.catalog.source_analysis import analyse
from safeload.catalog.source_tables import PLAIN_COMPILED_CLASSES
from safeload.catalog.uses import Use
from tests.test_redteam_round2 import LibCase, _live, _refused
from tests.test_source_analysis import Env, env

__all__ = ["env"]


def _meta(method: str, expr: str, extra: str = "") -> str:
    return (f"class M(type):\n    def {method}(cls, *a):\n        open(MARKER, 'w').close()\n        return cls\n"
            f"    __hash__ = type.__hash__\n{extra}class C(metaclass=M):\n    pass\nT = {expr}\n")


NOT_INERT = {
    "metaclass-or": _meta("__or__", "C | int"),
    "metaclass-ror-right-operand": _meta("__ror__", "int | C"),
    "metaclass-or-inherited-by-a-subclass": _meta("__or__", "D | None", "").replace(
        "T = D | None", "class D(C):\n    pass\nT = D | None"),
    "metaclass-eq": _meta("__eq__", "C == int"),
    "metaclass-invert": _meta("__invert__", "~C"),
    "metaclass-bool": _meta("__bool__", "not C"),
    "metaclass-or-of-a-base-metaclass": _meta("__or__", "C | int").replace(
        "class C(metaclass=M)", "class N(M):\n    pass\nclass C(metaclass=N)"),
    "alias-of-a-metaclass-class-then-or": _meta("__hash__", "0").replace("    __hash__ = type.__hash__\n", "")
    + "import typing\nU = typing.Union[C, int]\nV = U | None\n",
    "augmented-assignment": _meta("__ror__", "1").replace("T = 1\n", "T = 1\nT |= C\n"),
    "unknown-metaclass": "import abcx\nclass C(metaclass=abcx.Meta):\n    pass\nT = C | int\n",
}

INERT = {
    "builtins": "T = int | str | None\nU = T | bytes\n",
    "source-classes-without-metaclass": "class A:\n    pass\nclass B(A):\n    pass\nT = A | B | None\nU = T | int\n",
    "metaclass-without-operators": "class M(type):\n    def __call__(cls):\n        return 1\n"
                                   "class C(metaclass=M):\n    pass\nT = C | int\nU = T | None\n",
    "abc-metaclass": "import abc\nclass C(metaclass=abc.ABCMeta):\n    pass\nT = C | int\n",
}


@pytest.mark.parametrize("label", sorted(NOT_INERT))
def test_operator_on_a_class_whose_metaclass_defines_it_is_not_inert(env: Env, label: str) -> None:
    inert, reason = env.import_verdict(NOT_INERT[label])
    assert not inert, reason
    assert "pkg.m" in reason, reason


@pytest.mark.parametrize("label", sorted(INERT))
def test_operator_on_plain_classes_is_inert(env: Env, label: str) -> None:
    inert, reason = env.import_verdict(INERT[label])
    assert inert, reason


def _with_numpy(env: Env) -> list[str]:
    return [*env.path, sysconfig.get_paths()["purelib"]]


def test_union_of_reviewed_numpy_classes_is_inert(env: Env) -> None:
    """xarray 2026.9 core/indexing.py:53-54, with the installed numpy (its import is vouched by the catalogue)."""
    pytest.importorskip("numpy")
    source = ("import numpy as np\nfrom typing import Any\nBasicIndexerType = int | np.integer | slice\n"
              "OuterIndexerType = BasicIndexerType | np.ndarray[Any, np.dtype[np.integer]]\n")
    env.write({"pkg/__init__.py": "", "pkg/m.py": source + "class X:\n    pass\n"})
    verdict = analyse("pkg.m", "X", Use.REF | Use.IMPORT, catalog=catalogue_view,
                      search_path=_with_numpy(env)).import_effects
    assert not env.marker.exists()
    assert verdict.inert, verdict.reason


def test_union_with_an_unreviewed_compiled_name_is_not_inert(env: Env) -> None:
    pytest.importorskip("numpy")
    source = "import numpy as np\nT = int | np.float64\nU = T | None\n"  # np.float64: not in the table
    env.write({"pkg/__init__.py": "", "pkg/m.py": source + "class X:\n    pass\n"})
    verdict = analyse("pkg.m", "X", Use.REF | Use.IMPORT, catalog=catalogue_view,
                      search_path=_with_numpy(env)).import_effects
    assert not env.marker.exists()
    assert not verdict.inert and "pkg.m.T" in verdict.reason, verdict.reason


def test_plain_compiled_classes_match_the_installed_numpy() -> None:
    """The review behind PLAIN_COMPILED_CLASSES: each is a static immutable type with metaclass type (or
    numpy's compiled _DTypeMeta, whose only dunders are __init__/__new__/__doc__)."""
    np = pytest.importorskip("numpy")
    immutable, heap = 1 << 8, 1 << 9
    names = {n.rpartition(".")[2] for n in PLAIN_COMPILED_CLASSES}
    for name in names:
        cls = getattr(np, name)
        assert isinstance(cls, type), name
        assert cls.__flags__ & immutable and not cls.__flags__ & heap, name
        meta = type(cls)
        assert meta is type or {k for k in vars(meta) if k.startswith("__")} <= {"__doc__", "__init__", "__new__"}, (
            name, meta)
        assert meta is type or meta.__mro__[1:] == (type, object), (name, meta)
    assert {f"numpy.{n}" for n in names} <= PLAIN_COMPILED_CLASSES


# --- end to end ---------------------------------------------------------------------------------------------

def _lib(source: str) -> LibCase:
    return LibCase({"clsop/__init__.py": "", "clsop/mod.py": source + "class X:\n    pass\n"},
                   lambda: b"\x80\x02cclsop.mod\nX\n.")


E2E = {label: _lib(NOT_INERT[label]) for label in ("metaclass-or", "metaclass-ror-right-operand", "metaclass-eq")}


@pytest.mark.slow
@pytest.mark.parametrize("label", sorted(E2E))
def test_metaclass_operator_payload_is_live(tmp_path: Path, label: str) -> None:
    _live(tmp_path, E2E[label])


@pytest.mark.slow
@pytest.mark.parametrize("label", sorted(E2E))
def test_metaclass_operator_payload_is_refused(tmp_path: Path, label: str) -> None:
    _refused(tmp_path, E2E[label])


assert sys.version_info >= (3, 10)  # the | operator on classes


def test_getattr_of_a_reviewed_compiled_class_is_library_data(env: Env) -> None:
    """xarray 2026.9 computation/ops.py _values_method_wrapper: ``getattr(np.ndarray, name).__doc__``."""
    pytest.importorskip("numpy")
    source = ("import numpy as np\ndef wrap(name):\n    def func(self):\n        return name\n"
              "    func.__doc__ = getattr(np.ndarray, name).__doc__\n    return func\nw = wrap('item')\n")
    env.write({"pkg/__init__.py": "", "pkg/m.py": source + "class X:\n    pass\n"})
    verdict = analyse("pkg.m", "X", Use.REF | Use.IMPORT, catalog=catalogue_view,
                      search_path=_with_numpy(env)).import_effects
    assert verdict.inert, verdict.reason


def test_getattr_of_a_source_class_dunder_of_the_result_is_not_inert(env: Env) -> None:
    source = ("class M(type):\n    def __getattr__(cls, n):\n        open(MARKER, 'w').close()\n        return 1\n"
              "class C(metaclass=M):\n    pass\ndef wrap(name):\n    def func(self):\n        return name\n"
              "    func.__doc__ = getattr(C, name).__doc__\n    return func\nw = wrap('item')\n")
    inert, reason = env.import_verdict(source)
    assert not inert, reason


def test_calling_an_attribute_of_a_reviewed_compiled_class_is_not_inert(env: Env) -> None:
    """getattr(np.ndarray, name) is library data to read, never a callee (ndarray.tofile writes a file)."""
    pytest.importorskip("numpy")
    source = "import numpy as np\ndef f(n):\n    return getattr(np.ndarray, n)(1, 'x')\nf('tofile')\n"
    env.write({"pkg/__init__.py": "", "pkg/m.py": source + "class X:\n    pass\n"})
    verdict = analyse("pkg.m", "X", Use.REF | Use.IMPORT, catalog=catalogue_view,
                      search_path=_with_numpy(env)).import_effects
    assert not verdict.inert, verdict.reason


# Found attacking this rule (fixed in session 6): a class object reached through a function's result or a container
# was not followed, so its metaclass operator was not checked. What the library chose and reads back out of a
# display, a local list, a conditional or a function's result is now ``_LIB_VALUE`` carrying the objects it may be.
THROUGH_RESULTS = {
    "class-returned-by-a-function": _meta("__or__", "f() | int", "").replace("T = f() | int", "def f():\n"
                                                                            "    return C\nT = f() | int"),
    "class-in-a-list": _meta("__or__", "[C][0] | int"),
    "class-in-a-local-list": _meta("__or__", "g()", "").replace("T = g()", "def g():\n    x = [C]\n"
                                                                         "    return x[0] | int\nT = g()"),
    "class-from-a-conditional": _meta("__or__", "(C if len('a') else None) | int"),
    "class-from-an-or": _meta("__or__", "(None or C) | int"),
    "class-in-a-tuple-subscripted": _meta("__class_getitem__", "(C,)[0][int]").replace(
        "class M(type):\n    def __class_getitem__", "class M(type):\n    def __getitem__"),
}


@pytest.mark.parametrize("label", sorted(THROUGH_RESULTS))
def test_metaclass_operator_through_a_result_is_not_inert(env: Env, label: str) -> None:
    inert, reason = env.import_verdict(THROUGH_RESULTS[label])
    assert not inert and "pkg.m.M" in reason, reason  # for the metaclass's operator, not another reason


def test_data_through_results_keeps_the_module_inert(env: Env) -> None:
    """Ints and strings read back out of containers and results combine as data."""
    inert, reason = env.import_verdict("def f():\n    return 1\nT = [1, 2][0] | f() | (3 if len('a') else 4)\n"
                                       "U = ('a',)[0] + 'b'\n")
    assert inert, reason
