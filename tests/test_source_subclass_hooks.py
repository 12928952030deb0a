"""``__init_subclass__`` hooks that hand the class being created to a helper (xarray's
``IncludeNumpySameMethods.__init_subclass__`` -> ``inject_numpy_same(cls)`` -> ``setattr(cls, name, wrapper)``).

Rule: at import, a module function called from a hook with the class being created as a positional argument is
analysed with that parameter bound to the class (``source_effects.Effects.call_ref``, ``cls_params``); setting an
attribute of that class (``cls.x = v``, ``setattr(cls, name, v)``) runs ``type(cls).__setattr__``, inert only when
it is ``type``'s (a metaclass read from source that defines ``__setattr__``, or one not known, is refused: before
this change ``cls.x = v`` in a hook was accepted without looking at the metaclass). Any other effect of the helper
(I/O, calling the class or its methods) is reported. Instance uses of a class so altered stay refused
(``source_analysis._altered``: the hook passes or sets ``cls``); ``getattr(np.ndarray, name)`` in the wrapper is
covered in tests/test_source_class_operators.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from safeload.catalog.uses import Use
from tests.test_redteam_round2 import LibCase, _live, _refused
from tests.test_source_analysis import Env, env

__all__ = ["env"]

_INJECT = ("NAMES = ['item', 'searchsorted']\ndef wrap(name):\n    def func(self):\n        return name\n"
           "    func.__name__ = name\n    return func\ndef inject(cls):\n    for name in NAMES:\n"
           "        setattr(cls, name, wrap(name))\n")
_META_SETATTR = "class M(type):\n    def __setattr__(cls, n, v):\n        open(MARKER, 'w').close()\n"

INERT = {
    "helper-sets-wrappers": _INJECT + "class B:\n    def __init_subclass__(cls, **kw):\n"
                            "        super().__init_subclass__(**kw)\n        inject(cls)\nclass C(B):\n    pass\n",
    "hook-validates": "class B:\n    def __init_subclass__(cls, **kw):\n        if cls.__name__ == 'x':\n"
                      "            raise TypeError('no')\n        super().__init_subclass__(**kw)\n"
                      "class C(B):\n    pass\n",
    "hook-assigns-a-constant": "class B:\n    def __init_subclass__(cls, **kw):\n        cls.tag = 'b'\n"
                               "class C(B):\n    pass\n",
}

NOT_INERT = {
    "helper-does-io": "def helper(cls):\n    open(MARKER, 'w').close()\nclass B:\n"
                      "    def __init_subclass__(cls, **kw):\n        helper(cls)\nclass C(B):\n    pass\n",
    "helper-calls-a-classmethod": "def helper(cls):\n    cls.run()\nclass B:\n    def __init_subclass__(cls, **kw):\n"
                                  "        helper(cls)\nclass C(B):\n    @classmethod\n    def run(cls):\n"
                                  "        open(MARKER, 'w').close()\n",
    "helper-instantiates-the-class": "def helper(cls):\n    cls()\nclass B:\n    def __init_subclass__(cls, **kw):\n"
                                     "        helper(cls)\nclass C(B):\n    def __init__(self):\n"
                                     "        open(MARKER, 'w').close()\n",
    "helper-setattr-under-a-metaclass-setattr": _INJECT + _META_SETATTR + "class B(metaclass=M):\n"
                                                "    def __init_subclass__(cls, **kw):\n        inject(cls)\n"
                                                "class C(B):\n    pass\n",
    "hook-assigns-under-a-metaclass-setattr": _META_SETATTR + "class B(metaclass=M):\n"
                                              "    def __init_subclass__(cls, **kw):\n        cls.x = 1\n"
                                              "class C(B):\n    pass\n",
    "helper-sets-another-object": "def helper(a, cls):\n    setattr(a, 'x', 1)\nclass B:\n"
                                  "    def __init_subclass__(cls, **kw):\n        helper(cls.__mro__, cls)\n"
                                  "class C(B):\n    pass\n",
}


@pytest.mark.parametrize("label", sorted(INERT))
def test_hook_that_only_sets_or_validates_is_inert(env: Env, label: str) -> None:
    inert, reason = env.import_verdict(INERT[label])
    assert inert, reason


@pytest.mark.parametrize("label", sorted(NOT_INERT))
def test_hook_with_effects_is_not_inert(env: Env, label: str) -> None:
    inert, reason = env.import_verdict(NOT_INERT[label])
    assert not inert, reason
    assert "__init_subclass__" in reason, reason


def test_instance_use_of_a_class_altered_by_its_hook_stays_refused(env: Env) -> None:
    env.write({"pkg/__init__.py": "", "pkg/m.py": INERT["helper-sets-wrappers"]})
    result = env.run("pkg.m", "C", Use.CALL | Use.IMPORT)
    assert result.import_effects.inert, result.import_effects.reason
    call = result.verdict(Use.CALL)
    assert call is not None and not call.inert, call


def _lib(source: str) -> LibCase:
    return LibCase({"subhook/__init__.py": "", "subhook/mod.py": source + "\nclass X:\n    pass\n"},
                   lambda: b"\x80\x02csubhook.mod\nX\n.")


E2E = {label: _lib(NOT_INERT[label]) for label in ("helper-does-io", "helper-setattr-under-a-metaclass-setattr",
                                                   "hook-assigns-under-a-metaclass-setattr")}


@pytest.mark.slow
@pytest.mark.parametrize("label", sorted(E2E))
def test_subclass_hook_payload_is_live(tmp_path: Path, label: str) -> None:
    _live(tmp_path, E2E[label])


@pytest.mark.slow
@pytest.mark.parametrize("label", sorted(E2E))
def test_subclass_hook_payload_is_refused(tmp_path: Path, label: str) -> None:
    _refused(tmp_path, E2E[label])


# --- found attacking the hook rule: a classmethod run at import that stores on cls ------------------------------

_SETUP = ("def evil(self, state):\n    open(MARKER, 'w').close()\nclass K:\n    @classmethod\n    def setup(cls):\n"
          "        cls.__setstate__ = evil\n")


def test_classmethod_storing_on_cls_at_import_alters_the_class(env: Env) -> None:
    """Before: the import was inert (cls.x = v in an import-time frame) and BUILD of K read K's source (no
    __setstate__), while the class held evil as __setstate__: the payload ran under safeload."""
    env.write({"pkg/__init__.py": "", "pkg/m.py": _SETUP + "K.setup()\n"})
    result = env.run("pkg.m", "K", Use.BUILD | Use.IMPORT)
    build = result.verdict(Use.BUILD)
    assert build is not None and not build.inert and "modified" in build.reason, build


def test_classmethod_that_only_returns_keeps_the_class(env: Env) -> None:
    env.write({"pkg/__init__.py": "", "pkg/m.py": "class K:\n    @classmethod\n    def make(cls):\n"
                                                  "        return 1\nv = K.make()\n"})
    result = env.run("pkg.m", "K", Use.BUILD | Use.IMPORT)
    build = result.verdict(Use.BUILD)
    assert build is not None and build.inert, build



def test_classmethod_storing_on_cls_called_from_another_module(env: Env) -> None:
    """``pkg/__init__.py`` runs ``K.setup()`` (importing pkg.m runs the package first): the import of pkg.m is not
    inert (the classmethod's store on ``cls`` is read in the package's top level), so nothing of pkg.m is admitted,
    whatever K's own source says about BUILD (end to end, with a live twin, below)."""
    env.write({"pkg/__init__.py": "from pkg.m import K\nK.setup()\n", "pkg/m.py": _SETUP})
    result = env.run("pkg.m", "K", Use.BUILD | Use.IMPORT)
    assert not result.import_effects.inert and "K.setup" in result.import_effects.reason, result.import_effects


OTHER_MODULE_CASE = LibCase({"clso/__init__.py": "from clso.mod import K\nK.setup()\n", "clso/mod.py": _SETUP},
                            lambda: b"\x80\x02cclso.mod\nK\n)\x81}b.")


@pytest.mark.slow
def test_classmethod_setstate_from_another_module_is_live(tmp_path: Path) -> None:
    _live(tmp_path, OTHER_MODULE_CASE)


def test_classmethod_setstate_from_another_module_is_refused(tmp_path: Path) -> None:
    _refused(tmp_path, OTHER_MODULE_CASE)


SETUP_CASE = LibCase({"clsm/__init__.py": "", "clsm/mod.py": _SETUP + "K.setup()\n"},
                     lambda: b"\x80\x02cclsm.mod\nK\n)\x81}b.")


@pytest.mark.slow
def test_classmethod_setstate_payload_is_live(tmp_path: Path) -> None:
    _live(tmp_path, SETUP_CASE)


@pytest.mark.slow
def test_classmethod_setstate_payload_is_refused(tmp_path: Path) -> None:
    _refused(tmp_path, SETUP_CASE)
