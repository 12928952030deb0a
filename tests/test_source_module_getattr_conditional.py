"""A module ``__getattr__`` (PEP 562) defined under a condition (numpy 2.4 defines its hook in the else branch of
``if __NUMPY_SETUP__:``), ``source_effects.Effects.module_getattr``.

Rule: one plain def of ``__getattr__``, possibly conditional, is analysed like an unconditional one (specialised to
the looked-up name when it is a constant): either it is bound and runs as analysed, or the module has no hook and
the lookup raises AttributeError. Two defs, a decorated def, or one in a branch read as dead stay refused. A
computed name (``hasattr(np, name)`` with ``name`` a parameter) runs the whole hook: numpy's imports
``numpy.testing`` for some names, so it stays refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from safeload.catalog.uses import Use
from tests.test_redteam_round2 import LibCase, _live, _refused
from tests.test_source_analysis import Env, env

__all__ = ["env"]

_LAZY = ("SETUP = False\nif SETUP:\n    pass\nelse:\n    def __getattr__(attr):\n        if attr == 'special':\n"
         "            open(MARKER, 'w').close()\n        raise AttributeError(attr)\n")


def _verdict(env: Env, lib: str, user: str) -> tuple[bool, str]:
    env.write({"condlib/__init__.py": lib, "pkg/__init__.py": "", "pkg/m.py": user + "\nclass X:\n    pass\n"})
    verdict = env.run("pkg.m", "X", Use.REF | Use.IMPORT).import_effects
    return verdict.inert, verdict.reason


INERT = {
    "hasattr-of-another-name": "import condlib as lib\nOK = hasattr(lib, 'other')\n",
    "bound-name": "import condlib as lib\nv = lib.SETUP\n",
}

NOT_INERT = {
    "hasattr-of-the-name-that-writes": ("import condlib as lib\nOK = hasattr(lib, 'special')\n", _LAZY),
    "attribute-of-the-name-that-writes": ("import condlib as lib\ntry:\n    lib.special\nexcept AttributeError:\n    pass\n",
                                          _LAZY),
    "computed-name": ("import condlib as lib\ndef f(n):\n    return hasattr(lib, n)\nv = f('x')\n", _LAZY),
    "two-conditional-defs": ("import condlib as lib\nOK = hasattr(lib, 'other')\n",
                             "import os\nif os.sep == '/':\n    def __getattr__(a):\n        raise AttributeError(a)\n"
                             "else:\n    def __getattr__(a):\n        open(MARKER, 'w').close()\n"),
    "def-in-a-dead-branch": ("import condlib as lib\nOK = hasattr(lib, 'other')\n",
                             "if False:\n    def __getattr__(a):\n        raise AttributeError(a)\n"),
    "decorated-hook": ("import condlib as lib\nOK = hasattr(lib, 'other')\n",
                       "import functools\nif True:\n    @functools.lru_cache\n    def __getattr__(a):\n"
                       "        raise AttributeError(a)\n"),
}


@pytest.mark.parametrize("label", sorted(INERT))
def test_conditional_hook_for_a_name_it_rejects_is_inert(env: Env, label: str) -> None:
    inert, reason = _verdict(env, _LAZY, INERT[label])
    assert inert, reason


@pytest.mark.parametrize("label", sorted(NOT_INERT))
def test_conditional_hook_that_may_run_code_is_not_inert(env: Env, label: str) -> None:
    user, lib = NOT_INERT[label]
    inert, reason = _verdict(env, lib, user)
    assert not inert, reason


CASE = LibCase({"condlib/__init__.py": _LAZY, "condga/__init__.py": "",
                "condga/mod.py": NOT_INERT["hasattr-of-the-name-that-writes"][0] + "\nclass X:\n    pass\n"},
               lambda: b"\x80\x02ccondga.mod\nX\n.")


@pytest.mark.slow
def test_conditional_hook_payload_is_live(tmp_path: Path) -> None:
    _live(tmp_path, CASE)


@pytest.mark.slow
def test_conditional_hook_payload_is_refused(tmp_path: Path) -> None:
    _refused(tmp_path, CASE)
