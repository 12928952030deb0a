"""Attacks on the source-analysis mechanisms added for the long-tail corpus (issue 14, round 4).

Each mechanism frees ordinary files; each attack below is the same mechanism carrying a harmless marker payload
(touching ``MARKER``): it runs under ``pickle.load`` (the ``*_is_live`` twin) and safeload refuses it with the
marker absent.

- call-through decorators (``source_tables.CALL_THROUGH_DECORATORS``): the decorated body is analysed as the
  code that runs; a wrapper without ``__get__`` (networkx ``_dispatchable``) counts only on ``__new__``; an
  installed networkx backend plugin turns the review off;
- ``contextlib.contextmanager`` applied at import builds a wrapper only: calling and entering it is analysed;
- library modules named like tests (``LIBRARY_MODULES_NAMED_LIKE_TESTS``) are analysed, not trusted;
- ``types.ModuleType`` is the builtin module type: subclasses' own code is analysed, BUILD is not modelled;
- ``pkg.sub`` after ``import pkg.sub`` is the submodule only when the package binds nothing under ``sub``;
- ``functools.partialmethod`` at import is benign, a hook bound to one is not followed;
- ``TYPE_CHECKING = False`` at the top reads like typing's constant; any other binding does not.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from safeload.catalog import source_analysis as sa
from safeload.catalog.decide import catalogue_view
from safeload.catalog.source_analysis import BuildState, analyse
from safeload.catalog.source_locate import declares_entry_points, library_roots
from safeload.catalog.uses import Use
from tests.test_redteam_round2 import LibCase, _called, _g, _install, _live, _refused


def _newobj(module: str, cls: str) -> bytes:
    """``cls.__new__(cls)`` (NEWOBJ, how protocol 2+ pickles instances) then BUILD ``{'a': 1}``."""
    return b"\x80\x02" + _g(module, cls) + b")\x81}U\x01aK\x01sb."


def _imported(module: str, name: str) -> bytes:
    return b"\x80\x02" + _g(module, name) + b"."


ATTACKS: dict[str, LibCase] = {
    # a call-through decorator does not hide the body: the body is what runs
    "dispatchable-new-body-runs": LibCase({"atk_dn/__init__.py": "", "atk_dn/m.py": """
    import networkx as nx
    class X:
        @nx._dispatchable(name="atk_dn_new", graphs=None)
        def __new__(cls, *args, **kwargs):
            open(MARKER, "w").close()
            return object.__new__(cls)
    """}, lambda: _newobj("atk_dn.m", "X")),
    # _dispatchable has no __get__: on an ordinary method the wrapper gets the caller's arguments, not self
    "dispatchable-on-a-bound-method": LibCase({"atk_db/__init__.py": "", "atk_db/m.py": """
    import networkx as nx
    class X:
        @nx._dispatchable(name="atk_db_setstate", graphs=None)
        def __setstate__(*args):
            open(MARKER, "w").close()
    """}, lambda: _newobj("atk_db.m", "X")),
    "deprecated-method-body-runs": LibCase({"atk_dm/__init__.py": "", "atk_dm/m.py": """
    from sklearn.utils import deprecated
    class X:
        @deprecated("gone")
        def __setstate__(self, state):
            open(MARKER, "w").close()
    """}, lambda: _newobj("atk_dm.m", "X")),
    "deprecated-class-new-runs": LibCase({"atk_dc/__init__.py": "", "atk_dc/m.py": """
    from sklearn.utils import deprecated
    @deprecated("gone")
    class X:
        def __new__(cls, *args):
            open(MARKER, "w").close()
            return object.__new__(cls)
    """}, lambda: _newobj("atk_dc.m", "X")),
    # contextmanager at import is only a wrapper; entering it runs the generator
    "contextmanager-entered-at-import": LibCase({"atk_cm/__init__.py": "", "atk_cm/m.py": """
    import contextlib
    @contextlib.contextmanager
    def opened():
        open(MARKER, "w").close()
        yield
    with opened():
        pass
    class X:
        pass
    """}, lambda: _imported("atk_cm.m", "X")),
    "contextmanager-called-at-load": LibCase({"atk_cl/__init__.py": "", "atk_cl/m.py": """
    import contextlib
    class X:
        @contextlib.contextmanager
        def _guard(self):
            yield
        def __setstate__(self, state):
            with self._guard():
                open(MARKER, "w").close()
    """}, lambda: _newobj("atk_cl.m", "X")),
    # a module with a reviewed name is analysed like any other: a fake skopt.benchmarks with effects is refused
    "named-like-tests-still-analysed": LibCase({"skopt/__init__.py": "from . import benchmarks\n\n"
                                                "class X:\n    pass\n",
                                                "skopt/benchmarks.py": "open(MARKER, 'w').close()\n"},
                                               lambda: _imported("skopt", "X")),
    # a ModuleType subclass' own __init__ is analysed when it runs at import
    "module-subclass-init-at-import": LibCase({"atk_mi/__init__.py": "", "atk_mi/m.py": """
    import types
    class _Lazy(types.ModuleType):
        def __init__(self, name):
            super().__init__(name)
            open(MARKER, "w").close()
    _lazy = _Lazy("x")
    class X:
        pass
    """}, lambda: _imported("atk_mi.m", "X")),
    # the package rebinds the submodule's name after importing it: `import pkg.sub` then finds pkg.sub already in
    # sys.modules and does not set the attribute again, so pkg.sub is the package's object
    "package-rebinds-submodule-name": LibCase({"atk_rb/__init__.py": """
    from . import base as _real
    class _Shadow:
        class Base:
            def __setstate__(self, state):
                open(MARKER, "w").close()
    base = _Shadow
    """, "atk_rb/base.py": "class Base:\n    pass\n", "atk_rb/m.py": """
    import atk_rb.base
    class X(atk_rb.base.Base):
        pass
    """}, lambda: _newobj("atk_rb.m", "X")),
    # types.ModuleType subclasses are readable now: swapping a module's class for one must still be refused
    "module-class-swap-through-alias": LibCase({"atk_ma/__init__.py": """
    import sys, types
    class X:
        pass
    class _Mod(types.ModuleType):
        @property
        def X(self):
            open(MARKER, "w").close()
            return X
    _me = sys.modules[__name__]
    _me.__class__ = _Mod
    """}, lambda: _imported("atk_ma", "X")),
    "module-getattr-set-through-sys-modules": LibCase({"atk_mg2/__init__.py": """
    import sys
    def _hook(name):
        open(MARKER, "w").close()
        raise AttributeError(name)
    sys.modules[__name__].__getattr__ = _hook
    """}, lambda: _imported("atk_mg2", "X")),
    # a binding wrapper over staticmethod passes self on: the body gets the instance where the model saw the state
    "deprecated-over-staticmethod": LibCase({"atk_ds/__init__.py": "", "atk_ds/m.py": """
    from sklearn.utils import deprecated
    class X:
        def items(self):
            open(MARKER, "w").close()
            return []
        @deprecated("gone")
        @staticmethod
        def __setstate__(*args):
            args[0].items()
    """}, lambda: _newobj("atk_ds.m", "X")),
    # pkg.sub read *before* the module's `import pkg.sub`: the package's __getattr__ runs
    "submodule-read-before-its-import": LibCase({"atk_so/__init__.py": """
    def __getattr__(name):
        open(MARKER, "w").close()
        raise AttributeError(name)
    """, "atk_so/sub.py": "class Base:\n    pass\n", "atk_so/m.py": """
    import atk_so
    class X(atk_so.sub.Base):
        pass
    import atk_so.sub
    """}, lambda: _imported("atk_so.m", "X")),
    "init-bound-to-partialmethod": LibCase({"atk_pi2/__init__.py": "", "atk_pi2/m.py": """
    import functools
    def _impl(self, value, path):
        open(path, "w").close()
    class X:
        __init__ = functools.partialmethod(_impl, path=MARKER)
    """}, lambda: _called("atk_pi2.m", "X")),
    "type-checking-false-then-rebound": LibCase({"atk_tc/__init__.py": "", "atk_tc/m.py": """
    TYPE_CHECKING = False
    TYPE_CHECKING = 1
    if TYPE_CHECKING:
        open(MARKER, "w").close()
    class X:
        pass
    """}, lambda: _imported("atk_tc.m", "X")),
    "type-checking-true-constant": LibCase({"atk_tt/__init__.py": "", "atk_tt/m.py": """
    TYPE_CHECKING = True
    if TYPE_CHECKING:
        open(MARKER, "w").close()
    class X:
        pass
    """}, lambda: _imported("atk_tt.m", "X")),
    "type-checking-false-read-before": LibCase({"atk_tb/__init__.py": "", "atk_tb/m.py": """
    import builtins
    TYPE_CHECKING = getattr(builtins, "True")
    if TYPE_CHECKING:
        open(MARKER, "w").close()
    TYPE_CHECKING = False
    class X:
        pass
    """}, lambda: _imported("atk_tb.m", "X")),
}


@pytest.mark.slow
@pytest.mark.parametrize("label", sorted(ATTACKS))
def test_attack_is_live(tmp_path: Path, label: str) -> None:
    _live(tmp_path, ATTACKS[label])


@pytest.mark.slow
@pytest.mark.parametrize("label", sorted(ATTACKS))
def test_attack_is_refused(tmp_path: Path, label: str) -> None:
    _refused(tmp_path, ATTACKS[label])


# --- the benign side of each mechanism: what frees the corpus files -------------------------------------------

@pytest.fixture
def fresh() -> Iterator[None]:
    library_roots()
    sa.clear_cache()
    yield
    sa.clear_cache()


def _site(tmp_path: Path, files: dict[str, str]) -> list[str]:
    case = LibCase(files, lambda: b".")
    site, _payload, marker = _install(tmp_path, case)
    assert not marker.exists()
    return [str(site), *sys.path]


def _vouching(prefix: str) -> Callable[[str, Use], bool | None]:
    """The real catalogue, plus an import vouch for the test package (as networkx's own modules have one), so
    that a verdict shows the call-through rule itself rather than the package's import."""
    def catalog(name: str, use: Use) -> bool | None:
        if use is Use.IMPORT and name.split(".", 1)[0] == prefix:
            return True
        return catalogue_view(name, use)
    return catalog


_CALL_THROUGH = {"ct/__init__.py": "", "ct/m.py": """
import networkx as nx
from sklearn.utils import deprecated

class GoodNew:
    @nx._dispatchable(name="ct_good_new", graphs=None, returns_graph=True)
    def __new__(cls, *args, **kwargs):
        return object.__new__(cls)

class EvilNew:
    @nx._dispatchable(name="ct_evil_new", graphs=None)
    def __new__(cls, *args, **kwargs):
        open(MARKER, "w").close()
        return object.__new__(cls)

class BoundMethod:
    @nx._dispatchable(name="ct_bound", graphs=None)
    def __setstate__(self, state):
        self.state = state

@deprecated("old")
class GoodDeprecated:
    @deprecated("old")
    def __setstate__(self, state):
        self.state = state

class EvilDeprecated:
    @deprecated("old")
    def __setstate__(self, state):
        open(MARKER, "w").close()

class BareDeprecated:
    @deprecated
    def __setstate__(self, state):
        self.state = state
"""}


@pytest.mark.parametrize(("name", "expected"), [
    ("GoodNew", (Use.NEW, True, "")),
    ("EvilNew", (Use.NEW, False, "open")),
    ("BoundMethod", (Use.BUILD, False, "_dispatchable")),
    ("GoodDeprecated", (Use.NEW | Use.BUILD, True, "")),
    ("EvilDeprecated", (Use.BUILD, False, "open")),
    ("BareDeprecated", (Use.BUILD, False, "deprecated")),
])
def test_call_through_decorators(fresh: None, tmp_path: Path, name: str, expected: tuple[Use, bool, str]) -> None:
    use, inert, because = expected
    path = _site(tmp_path, _CALL_THROUGH)
    result = analyse("ct.m", name, use, catalog=_vouching("ct"), search_path=path, build_state=BuildState.DICT)
    assert result.import_effects.inert, result.import_effects
    verdicts = [result.verdict(u) for u in Use if u & use]
    assert all(v is not None for v in verdicts)
    assert all(v.inert for v in verdicts if v is not None) is inert, verdicts
    if not inert:
        assert any(because in v.reason for v in verdicts if v is not None and not v.inert), verdicts
    assert "ct" not in sys.modules and not (tmp_path / "MARKER").exists()


def test_a_networkx_backend_plugin_turns_call_through_off(fresh: None, tmp_path: Path) -> None:
    site = tmp_path / "plugins"
    dist = site / "nx_fake_backend-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: nx-fake-backend\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[networkx.backends]\nfake = nx_fake_backend:Backend\n")
    path = [str(site), *sys.path]
    assert declares_entry_points("networkx.backends", path, frozenset({"nx_loopback"}))
    assert not declares_entry_points("networkx.backends", sys.path, frozenset({"nx_loopback"}))
    with_plugin = analyse("networkx.classes.graph", "Graph", Use.NEW, catalog=catalogue_view, search_path=path)
    verdict = with_plugin.verdict(Use.NEW)
    assert verdict is not None and not verdict.inert
    assert "_dispatchable" in verdict.reason
    without = analyse("networkx.classes.graph", "Graph", Use.NEW, catalog=catalogue_view)
    assert without.inert, without


def test_module_subclass_build_is_not_modelled(fresh: None, tmp_path: Path) -> None:
    path = _site(tmp_path, {"ok_ms/__init__.py": "", "ok_ms/m.py": """
    import types
    class Lazy(types.ModuleType):
        def __init__(self, name):
            super().__init__(name)
            self._name = name
    """})
    result = analyse("ok_ms.m", "Lazy", Use.CALL | Use.BUILD, catalog=catalogue_view, search_path=path)
    call, build = result.verdict(Use.CALL), result.verdict(Use.BUILD)
    assert call is not None and call.inert, call
    assert build is not None and not build.inert and "module." in build.reason, build


def test_imported_submodule_beats_the_package_getattr(fresh: None, tmp_path: Path) -> None:
    path = _site(tmp_path, {"ok_sm/__init__.py": """
    def __getattr__(name):
        raise AttributeError(name)
    """, "ok_sm/base.py": "class Base:\n    pass\n", "ok_sm/m.py": """
    import ok_sm.base
    class X(ok_sm.base.Base):
        pass
    """, "ok_sm/n.py": """
    import ok_sm
    class X(ok_sm.base.Base):
        pass
    """})
    assert analyse("ok_sm.m", "X", Use.NEW | Use.BUILD, catalog=catalogue_view, search_path=path,
                   build_state=BuildState.DICT).inert
    # without `import ok_sm.base` the attribute may come from the package's __getattr__
    assert not analyse("ok_sm.n", "X", Use.NEW | Use.BUILD, catalog=catalogue_view, search_path=path,
                       build_state=BuildState.DICT).inert


def test_type_checking_false_guard_is_typing_like(fresh: None, tmp_path: Path) -> None:
    path = _site(tmp_path, {"ok_tc/__init__.py": "", "ok_tc/version.py": """
    TYPE_CHECKING = False
    if TYPE_CHECKING:
        from typing import Tuple
        VERSION_TUPLE = Tuple[int, ...]
    else:
        VERSION_TUPLE = object
    version = "1.0"
    """})
    assert analyse("ok_tc.version", "version", Use.REF, catalog=catalogue_view, search_path=path
                   ).import_effects.inert
