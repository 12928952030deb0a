"""Decorators applied at import that only wrap the function (xarray's ``deprecate_dims``, ``partial(deprecate_dims,
old_name=...)``), ``source_imports.wrapper_problem``.

Rule: applying a decorator read from source to a plain function (the def itself, or what a decorator below it that
returns its argument unaltered, or only wraps it, hands on) is inert at import when the decorator body (for a
factory ``@f(...)``: the local def it returns; the factory call itself is analysed as a call) is a docstring, local
defs and ``return <local def>``, where each local def is undecorated or decorated with ``functools.wraps(<param>)``
only, has constant or name defaults and unevaluated annotations. ``functools.partial(deco, k=<const>)`` applies
``deco`` the same way. The wrapper's body runs only when the function is called, which stays refused (the function
analysis refuses calls of functions so decorated). Anything else (calling the argument, a computed default or an
evaluated annotation, a ``wraps`` that is not functools', a class argument, a table-reviewed decorator below that
may return another object, a factory with effects) is not inert."""

from __future__ import annotations

from pathlib import Path

import pytest

from safeload.catalog.uses import Use
from tests.test_redteam_round2 import LibCase, _live, _refused
from tests.test_source_analysis import Env, env

__all__ = ["env"]

_WRAP = '''
import functools
from functools import wraps
def deco(func, old_name="dims"):
    """doc"""
    @wraps(func)
    def wrapper(*args, **kwargs):
        open(MARKER, "w").close()
        return func(*args, **kwargs)
    return wrapper
def factory(flag):
    def decorator(func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            return func(*args, **kwargs)
        return wrapper
    return decorator
def ident(f):
    return f
'''

INERT = {
    "bare-wrapper": _WRAP + "@deco\ndef f():\n    pass\n",
    "method-in-a-class-body": _WRAP + "class K:\n    @deco\n    def m(self):\n        pass\n",
    "partial-with-constant-keywords": _WRAP + "@functools.partial(deco, old_name='dimensions')\ndef f():\n    pass\n",
    "factory-returning-a-wrapper": _WRAP + "@factory(True)\ndef f():\n    pass\n",
    "stacked-over-identity-and-wrapper": _WRAP + "@deco\n@ident\n@factory(1)\ndef f():\n    pass\n",
}

_TOUCH = "def f():\n    open(MARKER, 'w').close()\n"
NOT_INERT = {
    "calls-its-argument": "import functools\ndef deco(func):\n    func()\n    @functools.wraps(func)\n"
                          "    def w():\n        return func()\n    return w\n@deco\n" + _TOUCH,
    "default-calls-the-argument": "import functools\ndef deco(func):\n    @functools.wraps(func)\n"
                                  "    def w(x=func()):\n        return x\n    return w\n@deco\n" + _TOUCH,
    "annotation-calls-the-argument": "def deco(func):\n    def w(x: func()):\n        return x\n    return w\n"
                                     "@deco\n" + _TOUCH,
    "a-source-wraps": "def wraps(f):\n    f()\n    return lambda g: g\ndef deco(func):\n    @wraps(func)\n"
                      "    def w():\n        return 1\n    return w\n@deco\n" + _TOUCH,
    "factory-with-effects": "import functools\ndef factory(n):\n    open(MARKER, 'w').close()\n"
                            "    def deco(func):\n        @functools.wraps(func)\n        def w():\n"
                            "            return func()\n        return w\n    return deco\n@factory(1)\n"
                            "def f():\n    pass\n",
    "partial-keyword-that-calls": "import functools\ndef deco(func, go=False):\n    if go:\n        func()\n"
                                  "    @functools.wraps(func)\n    def w():\n        return func()\n    return w\n"
                                  "@functools.partial(deco, go=True)\n" + _TOUCH,
    "class-argument": _WRAP + "@deco\nclass C:\n    pass\n",
    "over-lru-cache": _WRAP + "@deco\n@functools.lru_cache\ndef f():\n    pass\n",
    "wraps-another-object": "import functools\nclass O:\n    def __getattr__(self, n):\n"
                            "        open(MARKER, 'w').close()\n        return ''\n"
                            "def deco(func):\n    @functools.wraps(O())\n    def w():\n        return 1\n    return w\n"
                            "@deco\ndef f():\n    pass\n",
    "decorator-registers-the-wrapper": "import functools\nREG = []\ndef deco(func):\n"
                                       "    @functools.wraps(func)\n    def w():\n        return func()\n"
                                       "    REG.append(w)\n    return w\n@deco\ndef f():\n    pass\n",
}


@pytest.mark.parametrize("label", sorted(INERT))
def test_wrapping_decorator_application_is_inert(env: Env, label: str) -> None:
    inert, reason = env.import_verdict(INERT[label])
    assert inert, reason


@pytest.mark.parametrize("label", sorted(NOT_INERT))
def test_decorator_doing_more_than_wrapping_is_not_inert(env: Env, label: str) -> None:
    inert, reason = env.import_verdict(NOT_INERT[label])
    assert not inert, reason
    assert "pkg.m" in reason, reason


def test_calling_a_wrapped_function_stays_refused(env: Env) -> None:
    """The import rule does not vouch for the wrapper's body: a load calling the function is still refused."""
    env.write({"pkg/__init__.py": "", "pkg/m.py": INERT["bare-wrapper"]})
    result = env.run("pkg.m", "f", Use.CALL | Use.IMPORT)
    assert result.import_effects.inert, result.import_effects.reason
    call = result.verdict(Use.CALL)
    assert call is not None and not call.inert, call


# --- end to end: the decorator calls the decorated function at decoration -------------------------------------

def _lib(source: str) -> LibCase:
    return LibCase({"wrapdeco/__init__.py": "", "wrapdeco/mod.py": source + "\nclass X:\n    pass\n"},
                   lambda: b"\x80\x02cwrapdeco.mod\nX\n.")


E2E = {label: _lib(NOT_INERT[label]) for label in ("calls-its-argument", "default-calls-the-argument",
                                                   "partial-keyword-that-calls", "wraps-another-object")}


@pytest.mark.slow
@pytest.mark.parametrize("label", sorted(E2E))
def test_decorator_payload_is_live(tmp_path: Path, label: str) -> None:
    _live(tmp_path, E2E[label])


@pytest.mark.slow
@pytest.mark.parametrize("label", sorted(E2E))
def test_decorator_payload_is_refused(tmp_path: Path, label: str) -> None:
    _refused(tmp_path, E2E[label])
