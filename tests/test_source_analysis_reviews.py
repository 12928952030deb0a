"""The source analysis' reviewed exceptions found by the false-positive corpus, and attacks on each.

- import-time environment probes (``importlib.metadata.version``, ``os.environ.get``) are judged by their review
  (``source_tables.BENIGN_CALLS``) at import only: anywhere a file's values can reach, the catalogue's denial wins;
- reviewed ``__init_subclass__`` hooks (``source_tables.REVIEWED_SUBCLASS_HOOKS``: scikit-learn's metadata
  requests and set_output) neither run unanalysed code of the subclass nor hide another hook in the MRO;
- ``from m import *`` of a module without ``__all__`` follows that module's own star imports.

Nothing is ever imported (``sys.modules`` unchanged) and the marker file stays absent.
"""

from __future__ import annotations

import sys
import sysconfig
import textwrap
from pathlib import Path

from safeload.catalog import source_analysis as sa
from safeload.catalog import source_tables as tables
from safeload.catalog.decide import catalogue_view
from safeload.catalog.source_analysis import Analysis, analyse
from safeload.catalog.uses import Use


def run(site: Path, source: str, qualname: str, uses: Use, *, installed: bool = False) -> Analysis:
    """Analyse ``atk.m.<qualname>`` with the real catalogue; ``installed`` adds the real site-packages."""
    pkg = site / "atk"
    pkg.mkdir(exist_ok=True)
    (pkg / "__init__.py").write_text("")
    marker = site.parent / "marker"
    (pkg / "m.py").write_text(textwrap.dedent(source).replace("MARKER", repr(str(marker))))
    paths = sysconfig.get_paths()
    search = [str(site), paths["stdlib"], *([paths["purelib"]] if installed else [])]
    before = set(sys.modules)
    result = analyse("atk.m", qualname, uses, search_path=search, catalog=catalogue_view)
    assert {m for m in set(sys.modules) - before if not m.startswith("safeload.")} == set()  # shards load lazily
    assert not marker.exists()
    sa.clear_cache()
    return result


def verdict(a: Analysis, use: Use) -> sa.UseVerdict:
    found = a.verdict(use)
    assert found is not None
    return found


# --- import-time environment probes ------------------------------------------------------------------------
def test_the_catalogue_denies_the_probes_a_file_could_call() -> None:
    assert catalogue_view("importlib.metadata.version", Use.CALL) is False
    assert catalogue_view("os.environ.get", Use.CALL) is False
    assert "importlib.metadata.version" in tables.BENIGN_CALLS


def test_version_probe_at_import_is_inert(site: Path) -> None:
    a = run(site, """
        import os
        from importlib.metadata import version
        __version__ = version("atk")
        DEBUG = os.environ.get("ATK_DEBUG")
        class Plain:
            pass
    """, "Plain", Use.NEW | Use.BUILD)
    assert a.import_effects.inert, a.import_effects.reason
    assert verdict(a, Use.BUILD).inert


def test_probe_with_a_value_from_the_file_still_denied(site: Path) -> None:
    a = run(site, """
        import importlib.metadata
        class Probe:
            def __setstate__(self, state):
                self.version = importlib.metadata.version(state["dist"])
    """, "Probe", Use.BUILD)
    assert a.import_effects.inert
    assert not verdict(a, Use.BUILD).inert and "denied by the catalogue" in verdict(a, Use.BUILD).reason


def test_unreviewed_import_time_calls_still_count(site: Path) -> None:
    a = run(site, """
        import os
        from importlib.metadata import version
        __version__ = version("atk")
        os.system("touch " + MARKER)
        class Plain:
            pass
    """, "Plain", Use.NEW)
    assert not a.import_effects.inert and "os.system" in a.import_effects.reason


def test_reviewed_probe_does_not_cover_its_callable_arguments(site: Path) -> None:
    assert catalogue_view("functools.reduce", Use.CALL) is False and "functools.reduce" in tables.BENIGN_CALLS
    a = run(site, """
        import os
        import functools
        DONE = functools.reduce(lambda acc, cmd: os.system(cmd), ["touch " + MARKER], 0)
        class Plain:
            pass
    """, "Plain", Use.NEW)
    assert not a.import_effects.inert


# --- reviewed __init_subclass__ hooks ------------------------------------------------------------------------
def test_reviewed_hooks_set_no_name_a_load_runs() -> None:
    runs_at_load = set(tables.PROTOCOL_METHODS) | tables.DATA_METHODS
    for owner, (sets, reads, note) in tables.REVIEWED_SUBCLASS_HOOKS.items():
        assert note and owner.count(".") >= 2
        plain = {n for n in sets if not n.startswith("=")}
        assert not any(n.startswith("__") or n in runs_at_load for n in plain), owner
        assert all(n.lstrip("=") in reads and not n.startswith("=_") for n in sets - plain), owner


def test_third_party_estimator_is_analysed_inert(site: Path) -> None:
    a = run(site, """
        from sklearn.base import BaseEstimator, TransformerMixin
        class Scaler(TransformerMixin, BaseEstimator):
            def __init__(self, factor=2.0):
                self.factor = factor
            def fit(self, X, y=None):
                return self
            def transform(self, X):
                return X * self.factor
    """, "Scaler", Use.NEW | Use.BUILD, installed=True)
    assert a.import_effects.inert, a.import_effects.reason
    assert verdict(a, Use.NEW).inert and verdict(a, Use.BUILD).inert, a


def test_subclass_overriding_what_the_hook_calls_is_analysed(site: Path) -> None:
    a = run(site, """
        from sklearn.base import BaseEstimator
        class Sneaky(BaseEstimator):
            @classmethod
            def _get_class_level_metadata_request_values(cls, method_name, method=None):
                open(MARKER, "w").close()
                return {}
    """, "Sneaky", Use.NEW | Use.BUILD, installed=True)
    assert not a.import_effects.inert and "open" in a.import_effects.reason


def test_another_hook_after_the_reviewed_one_is_still_run(site: Path) -> None:
    a = run(site, """
        import os
        from sklearn.base import BaseEstimator
        def _restore(self, state):
            os.system(state)
        class Mixin:
            def __init_subclass__(cls, **kw):
                super().__init_subclass__(**kw)
                cls.__setstate__ = _restore
        class Est(BaseEstimator, Mixin):
            pass
    """, "Est", Use.NEW | Use.BUILD, installed=True)
    assert not verdict(a, Use.BUILD).inert and "__init_subclass__" in verdict(a, Use.BUILD).reason


def test_a_local_class_named_like_a_reviewed_owner_is_not_reviewed(site: Path) -> None:
    a = run(site, """
        import os
        class _MetadataRequester:
            def __init_subclass__(cls, **kw):
                cls.__setstate__ = lambda self, s: os.system(s)
        class Est(_MetadataRequester):
            pass
    """, "Est", Use.BUILD)
    assert not verdict(a, Use.BUILD).inert


# --- star imports through modules without __all__ -------------------------------------------------------------
def test_nested_star_import_that_does_not_export_the_name(site: Path) -> None:
    (site / "outer_a.py").write_text("from inner_a import *\n")
    (site / "inner_a.py").write_text("__all__ = ['Other']\nclass Other:\n    pass\n")
    a = run(site, """
        class Thing:
            pass
        from outer_a import *
    """, "Thing", Use.BUILD)
    assert verdict(a, Use.BUILD).inert


def test_nested_star_import_that_rebinds_the_name(site: Path) -> None:
    (site / "outer_b.py").write_text("from inner_b import *\n")
    (site / "inner_b.py").write_text("import os\nclass Thing:\n    def __setstate__(self, s):\n        os.system(s)\n")
    a = run(site, """
        class Thing:
            pass
        from outer_b import *
    """, "Thing", Use.BUILD)
    assert not verdict(a, Use.BUILD).inert and "import *" in verdict(a, Use.BUILD).reason


def test_star_import_cycle_is_not_readable(site: Path) -> None:
    (site / "cyc_a.py").write_text("from cyc_b import *\n")
    (site / "cyc_b.py").write_text("from cyc_a import *\n")
    a = run(site, """
        class Thing:
            pass
        from cyc_a import *
    """, "Thing", Use.BUILD)
    assert not verdict(a, Use.BUILD).inert
