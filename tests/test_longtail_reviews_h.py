"""Attacks on the long-tail reviews of issue 14, round 7 (lt-h: tslearn, pyod, pmdarima).

What was reviewed, and what each test checks is still refused:

- numba 0.68.1's ``@njit(option=<constant>, ...)`` at import (``source_tables.IMPORT_TIME_DECORATOR_FACTORIES``):
  with no positional argument and only reviewed option keywords, each a plain constant (``cache`` only false),
  the factory builds the bare decorator's wrapper, so applying it (``@njit(nogil=True)`` on a def, or
  ``njit(nogil=True)(f)`` on a function of installed source inside a function the import runs: tslearn 0.10.0's
  metric modules) builds a ``Dispatcher`` and compiles nothing. ``cache=True`` (writes the cache directory at
  decoration), a signature (compiles at import), an unreviewed keyword (``_target``, ``pipeline_class``,
  ``locals``, ``argtypes``), a ``**`` splat, a computed option value, the call shape on something that is not a
  function of installed source, the call shape outside import (a load calling it), and a factory merely named
  ``njit`` stay analysed, and refused.
- the build-guard flag (``try: __PKG_SETUP__ except NameError: __PKG_SETUP__ = False`` directly followed by
  ``if __PKG_SETUP__:``, pmdarima 2.1.1's ``__init__``): the guarded body never runs on import unless the
  interpreter's builtins bind the name, so only the ``else`` clause is analysed. A guard the module binds
  elsewhere, one not directly followed by the ``if``, or another handler value stays analysed both ways.

Nothing analysed is ever imported (``sys.modules`` unchanged, ``tests/longtail_helpers.analysed``); every payload
would touch a marker file, and every engine test asserts it did not.
"""

from __future__ import annotations

import sys
import textwrap
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest

from safeload.catalog import source_analysis as sa
from safeload.catalog import source_tables as tables
from safeload.catalog.uses import Use
from tests.attacks import C, G, assemble
from tests.longtail_helpers import analysed, payload, refused


def _version(dist: str) -> str | None:
    try:
        return version(dist)
    except PackageNotFoundError:
        return None


needs_numba = pytest.mark.skipif(_version("numba") is None, reason="numba not installed")


def _module(site: Path, source: str, qualname: str = "Plain", uses: Use = Use.NEW) -> sa.Analysis:
    return analysed(site, {"atkh/__init__.py": "", "atkh/m.py": source}, "atkh.m", qualname, uses, installed=True)


# --- @njit(option=<constant>) ------------------------------------------------------------------------------------
def test_the_factory_review_names_the_installed_numba_version() -> None:
    assert _version("numba") in (None, "0.68.1")
    assert set(tables.IMPORT_TIME_DECORATOR_FACTORIES) == {"numba.core.decorators.njit"}
    assert tables.IMPORT_TIME_DECORATOR_FACTORIES["numba.core.decorators.njit"]["cache"] is True


@needs_numba
@pytest.mark.parametrize("decorator", [
    "@njit()", "@njit(nogil=True)", "@njit(fastmath=True)", "@njit(parallel=True, fastmath=True)",
    "@njit(nogil=True, fastmath=True)", "@njit(cache=False)", "@numba.njit(parallel=True)",
])
def test_njit_with_constant_options_at_import_is_inert(site: Path, decorator: str) -> None:
    """The forms tslearn 0.10.0 and pyod 3.6.7 apply at import."""
    a = _module(site, f"import numba\nfrom numba import njit\n{decorator}\ndef helper(x):\n    return x + 1\n"
                      "class Plain:\n    pass\n")
    assert a.import_effects.inert, a.import_effects.reason


@needs_numba
def test_njit_options_applied_to_a_local_def_at_import_is_inert(site: Path) -> None:
    """tslearn/metrics/_masks.py: a function the import calls returns ``njit(nogil=True)(local_def)``."""
    a = _module(site, """
        from numba import njit

        def make(flag):
            def generic(x):
                return x + 1
            if flag:
                return njit(nogil=True)(generic)
            return generic

        def top(x):
            return x

        fast = make(True)
        fast_top = njit(fastmath=True)(top)

        class Plain:
            pass
    """)
    assert a.import_effects.inert, a.import_effects.reason


@needs_numba
@pytest.mark.parametrize("source", [
    # cache=True: the Dispatcher's cache locator creates the cache directory and test-writes a file into it
    "@njit(cache=True)\ndef helper(x):\n    return x\n",
    "@njit(nogil=True, cache=True)\ndef helper(x):\n    return x\n",
    "@njit(cache=1)\ndef helper(x):\n    return x\n",
    # a signature compiles at import
    "@njit('int64(int64)', nogil=True)\ndef helper(x):\n    return x\n",
    # keywords outside the review: another target's dispatcher, a compiler pipeline, deprecated arguments
    "@njit(_target='cuda')\ndef helper(x):\n    return x\n",
    "@njit(pipeline_class=None)\ndef helper(x):\n    return x\n",
    "@njit(argtypes=None)\ndef helper(x):\n    return x\n",
    # option values that are not plain constants: a splat, a name, a call that runs code
    "OPTS = {'cache': True}\n@njit(**OPTS)\ndef helper(x):\n    return x\n",
    "CACHE = True\n@njit(cache=CACHE)\ndef helper(x):\n    return x\n",
    "@njit(nogil=open(MARKER, 'w'))\ndef helper(x):\n    return x\n",
    # the call shape on something that is not a plain function of installed source
    "fast = njit(nogil=True)(lambda x: open(MARKER, 'w'))\n",
    "class K:\n    pass\nfast = njit(nogil=True)(K)\n",
    "def make(f):\n    return njit(nogil=True)(f)\nfast = make(print)\n",
    "def helper(x):\n    return x\nfast = njit(cache=True)(helper)\n",
    # the jitted function called at import: compiled and run
    "def helper(x):\n    return x\nfast = njit(nogil=True)(helper)\nfast(1)\n",
    "def make():\n    def g(x):\n        return x\n    f = njit(nogil=True)(g)\n    return f(1)\nv = make()\n",
    # what is decorated is still evaluated
    "@njit(nogil=True)\n@(lambda f: open(MARKER, 'w') and f)\ndef helper(x):\n    return x\n",
], ids=["cache", "cache-with-others", "cache-int", "signature", "target", "pipeline", "argtypes", "splat",
        "name-value", "call-value", "lambda", "class", "parameter", "call-cache", "called", "called-local",
        "stacked"])
def test_other_njit_applications_are_analysed(site: Path, source: str) -> None:
    a = _module(site, "from numba import njit\n" + source + "class Plain:\n    pass\n")
    assert not a.import_effects.inert


def test_a_factory_merely_named_njit_is_analysed(site: Path) -> None:
    a = analysed(site, {"atkh/__init__.py": "", "atkh/m.py": """
        def njit(**options):
            open(MARKER, 'w')
            return lambda f: f
        @njit(nogil=True)
        def helper(x):
            return x
        fast = njit(nogil=True)(helper)
        class Plain:
            pass
    """}, "atkh.m", "Plain", Use.NEW)
    assert not a.import_effects.inert


@needs_numba
def test_njit_applied_at_load_time_is_analysed(site: Path) -> None:
    """The call shape is reviewed for import only: a ``__setstate__`` that builds a dispatcher is analysed."""
    a = _module(site, """
        from numba import njit

        def helper(x):
            return x

        class Plain:
            def __setstate__(self, state):
                self.fast = njit(nogil=True)(helper)
    """, uses=Use.NEW | Use.BUILD)
    assert a.import_effects.inert, a.import_effects.reason
    build = a.verdict(Use.BUILD)
    assert build is not None and not build.inert


@needs_numba
def test_a_file_may_not_call_njit_with_options(tmp_path: Path) -> None:
    """A pickle calling ``njit(nogil=True)`` then the result with its own callable (or the factory with a
    payload) is refused: the review is about source applying it at import, never about a file calling it."""
    marker = tmp_path / "marker"
    refused(assemble(C(G("numba.core.decorators", "njit"), (payload(marker),))), marker)
    refused(assemble(C(G("numba", "njit"), (G("os", "system"),))), marker)
    refused(assemble(C(C(G("numba", "njit"), ()), (payload(marker),))), marker)


# --- the build-guard flag -------------------------------------------------------------------------------------------
_GUARD = """
    import sys
    try:
        __ATKH_SETUP__
    except NameError:
        __ATKH_SETUP__ = False
    if __ATKH_SETUP__:
        sys.stderr.write("partial import")
        open(MARKER, "w").close()
    else:
        X = 1
        del __ATKH_SETUP__
    class Plain:
        pass
"""


def _guarded(site: Path, source: str) -> sa.Analysis:
    return analysed(site, {"atkh/__init__.py": source, "atkh/m.py": "class Plain:\n    pass\n"}, "atkh.m",
                    "Plain", Use.NEW)


def test_a_build_guard_branch_is_not_analysed(site: Path) -> None:
    """pmdarima 2.1.1 __init__.py: the build-time branch (a write to stderr) never runs on import."""
    a = _guarded(site, _GUARD)
    assert a.import_effects.inert, a.import_effects.reason
    negated = _GUARD.replace("if __ATKH_SETUP__:", "if not __ATKH_SETUP__:").replace(
        'sys.stderr.write("partial import")\n        open(MARKER, "w").close()', "X = 1").replace(
        "X = 1\n        del __ATKH_SETUP__", 'open(MARKER, "w").close()')
    assert "if not __ATKH_SETUP__:" in negated and negated.count("open(MARKER") == 1
    assert _guarded(site, negated).import_effects.inert


@pytest.mark.parametrize("edit", [
    # the flag bound before the guard: the try body succeeds, the flag is whatever that binding says
    ("import sys\n", "import sys\n__ATKH_SETUP__ = True\n"),
    ("import sys\n", "import sys\nfrom atkh.other import *\n"),
    ("import sys\n", "import sys\nfrom atkh.other import flag as __ATKH_SETUP__\n"),
    # a statement between the guard and the if
    ("if __ATKH_SETUP__:", "__ATKH_SETUP__ = True\nif __ATKH_SETUP__:"),
    ("if __ATKH_SETUP__:", "Y = 2\nif __ATKH_SETUP__:"),
    # another handler, another value
    ("except NameError:", "except Exception:"),
    ("__ATKH_SETUP__ = False\nif", "__ATKH_SETUP__ = True\nif"),
    ("__ATKH_SETUP__ = False\nif", "__ATKH_SETUP__ = 0\nif"),
    ("__ATKH_SETUP__ = False\nif", "__ATKH_SETUP__ = False\nelse:\n    pass\nif"),
    # NameError rebound, the flag written by a function (global), the flag a builtin name
    ("import sys\n", "import sys\nNameError = KeyError\n"),
    ("class Plain:", "def f():\n    global __ATKH_SETUP__\n    __ATKH_SETUP__ = True\nclass Plain:"),
    ("__ATKH_SETUP__", "__build_class__"),
    ("__ATKH_SETUP__", "__name__"),
], ids=["bound-before", "star-before", "alias-before", "rebound-between", "statement-between", "other-handler",
        "true", "zero", "else-clause", "nameerror-rebound", "global", "builtin-name", "preset-name"])
def test_other_guard_shapes_analyse_both_branches(site: Path, edit: tuple[str, str]) -> None:
    source = textwrap.dedent(_GUARD)
    old, new = edit
    assert old in source
    source = source.replace(old, new)
    files = {"atkh/__init__.py": source, "atkh/m.py": "class Plain:\n    pass\n", "atkh/other.py": "flag = True\n"}
    a = analysed(site, files, "atkh.m", "Plain", Use.NEW)
    assert not a.import_effects.inert


def test_a_guard_the_interpreter_builtins_bind_is_analysed(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """While a setup script has ``builtins.__ATKH_SETUP__ = True``, the build branch runs on import."""
    import builtins

    monkeypatch.setattr(builtins, "__ATKH_SETUP__", True, raising=False)
    assert not _guarded(site, _GUARD).import_effects.inert


_LIVE_GUARD = _GUARD.replace("if __ATKH_SETUP__:", "__ATKH_SETUP__ = True\n    if __ATKH_SETUP__:")


def test_a_guard_rebound_before_its_if_is_live_and_refused(tmp_path: Path) -> None:
    """The flag set to True between the guard and the ``if``: importing the package runs the build branch (the
    marker) under pickle.load; safeload refuses the file naming its class and the marker stays absent."""
    from tests.test_redteam_round2 import LibCase, _live, _refused

    case = LibCase({"atkh/__init__.py": _LIVE_GUARD},
                   lambda: b"\x80\x02catkh\nPlain\n)\x81}U\x01aK\x01sb.")
    _live(tmp_path / "live", case)
    _refused(tmp_path / "safe", case)


def test_nothing_was_imported() -> None:
    assert "atkh" not in sys.modules
