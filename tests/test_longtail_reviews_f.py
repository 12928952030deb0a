"""Attacks on the long-tail reviews of issue 14, round 6 (fp-longtail-f): xarray's public ``xarray.testing``.

What was reviewed, and what each test checks is still refused:

- ``xarray.testing`` and ``xarray.testing.assertions`` (``source_tables.LIBRARY_MODULES_NAMED_LIKE_TESTS``):
  ``xarray/__init__.py`` imports the package unconditionally (it is public API, in ``__all__``), so a load that
  imports xarray imports it. The entry only lifts the *name* rule (a test package is never library code): the two
  modules' top level is analysed like any other module, so a module of that name with an import effect is
  refused, and the review holds for the exact files read (their sha256 is checked against the installed ones).
  ``xarray.testing.strategies`` (hypothesis strategies, not imported by ``import xarray``) and every other
  test-named module of xarray stay denied by name.
- the narwhals 2.29.0 import vouch (``reviewed.IMPORT_REVIEWS``, what scikit-survival imports): it covers the
  modules ``import narwhals, narwhals.stable.v1, narwhals.stable.v2`` loads and nothing else
  (``IMPORT_NOT_COVERED`` is checked against the installed package), and that import writes nothing and imports
  no third-party package (an audit hook in a fresh interpreter). ``narwhals.this`` (prints at import) and
  ``narwhals.testing`` stay refused, and narwhals' functions called by a pickle are still analysed per use (a
  decorator factory applied to a file's callable is refused).
- scikit-survival 0.28.0 (frees ``rsf.joblib``): the compiled ``_coxnet``, ``_criterion`` and ``_coxph_loss``
  (``source_tables.REVIEWED_COMPILED_IMPORTS``, by binary hash: their functions stay names a file may not call);
  ``ensemble/forest.py``'s ``BaseForest.__sklearn_tags__ = _sklearn_tags_patch`` and the class-body
  ``_parameter_constraints.pop('splitter')`` (``REVIEWED_IMPORT_STATEMENTS`` with their premise and pins): the same
  statements resting on another binding (a local class with a ``__setattr__``, a dict subclass whose ``pop`` runs
  code) are analysed and refused, and live under ``pickle.load``;
- the source analysis reads ``OTHER_TABLE.keys()/values()/items()/copy()`` at import when ``OTHER_TABLE`` is a
  builtin display bound once in another module (``boosting.py``'s ``frozenset(LOSS_FUNCTIONS.keys())``): the same
  call on an instance of a dict subclass, on a name rebound there, a mutating or element-comparing method on it
  (``pop``, ``get``, ``index``) stays refused.

Every attack payload touches a marker file: it runs under ``pickle.load`` (the ``*_is_live`` twin) and safeload
refuses it with the marker absent.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import pickle
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from safeload.catalog import source_tables as tables
from safeload.catalog.decide import catalogue_view
from safeload.catalog.reviewed import IMPORT_REVIEWS, import_not_covered
from safeload.catalog.uses import Use
from tests.attacks import C, G, assemble
from tests.longtail_helpers import assert_vouch_is_what_the_import_loads, measure_import
from tests.test_fp_families import _Reduce, _refused_at
from tests.test_redteam_round2 import _SAFE, LibCase, _g, _install, _live, _refused, _run


def _version(dist: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return None


needs_xarray = pytest.mark.skipif(_version("xarray") is None, reason="xarray not installed")
needs_narwhals = pytest.mark.skipif(_version("narwhals") is None, reason="narwhals not installed")


def _imported(module: str, name: str) -> bytes:
    return b"\x80\x02" + _g(module, name) + b"."


def _newobj(module: str, cls: str) -> bytes:
    """``cls.__new__(cls)`` then BUILD ``{'a': 1}``."""
    return b"\x80\x02" + _g(module, cls) + b")\x81}U\x01aK\x01sb."


# --- xarray.testing: the name rule is lifted, the analysis is not -------------------------------------------------
_XARRAY_INIT = "from xarray import testing\n\nclass X:\n    pass\n"

ATTACKS: dict[str, LibCase] = {
    # a package named xarray whose testing package writes at import: analysed, refused
    "xarray-testing-effect-at-import": LibCase({
        "xarray/__init__.py": _XARRAY_INIT,
        "xarray/testing/__init__.py": "from xarray.testing.assertions import assert_equal\n",
        "xarray/testing/assertions.py": "open(MARKER, 'w').close()\n\ndef assert_equal(a, b):\n    pass\n",
    }, lambda: _imported("xarray", "X")),
    "xarray-testing-init-effect": LibCase({
        "xarray/__init__.py": _XARRAY_INIT,
        "xarray/testing/__init__.py": "open(MARKER, 'w').close()\n",
    }, lambda: _newobj("xarray", "X")),
    # the decorator xarray applies at import is analysed: one that runs the payload when applied is refused
    "xarray-testing-decorator-runs": LibCase({
        "xarray/__init__.py": _XARRAY_INIT,
        "xarray/testing/__init__.py": "from xarray.testing.assertions import assert_equal\n",
        "xarray/testing/assertions.py": """
        def ensure_warnings(func):
            open(MARKER, "w").close()
            return func

        @ensure_warnings
        def assert_equal(a, b):
            pass
        """,
    }, lambda: _imported("xarray", "X")),
    # xarray.testing.strategies is not reviewed: importing it is still denied by name, whatever it holds
    "xarray-testing-strategies-denied": LibCase({
        "xarray/__init__.py": "from xarray.testing import strategies\n\nclass X:\n    pass\n",
        "xarray/testing/__init__.py": "",
        "xarray/testing/strategies.py": "open(MARKER, 'w').close()\n",
    }, lambda: _imported("xarray", "X")),
    # sksurv.ensemble.forest's reviewed statements on other bindings than the ones read
    "sksurv-tags-patch-on-a-local-class": LibCase({
        "sksurv/__init__.py": "", "sksurv/ensemble/__init__.py": "",
        "sksurv/ensemble/forest.py": """
        class _Meta(type):
            def __setattr__(cls, name, value):
                open(MARKER, "w").close()
                type.__setattr__(cls, name, value)

        class BaseForest(metaclass=_Meta):
            pass

        def _sklearn_tags_patch(self):
            return None

        BaseForest.__sklearn_tags__ = _sklearn_tags_patch

        class RandomSurvivalForest:
            pass
        """}, lambda: _imported("sksurv.ensemble.forest", "RandomSurvivalForest")),
    "sksurv-constraints-pop-on-a-dict-subclass": LibCase({
        "sksurv/__init__.py": "", "sksurv/ensemble/__init__.py": "",
        "sksurv/ensemble/forest.py": """
        class _Constraints(dict):
            def pop(self, key):
                open(MARKER, "w").close()

        class RandomSurvivalForest:
            _parameter_constraints = _Constraints()
            _parameter_constraints.pop('splitter')
        """}, lambda: _imported("sksurv.ensemble.forest", "RandomSurvivalForest")),
    # boosting.py's constraint display reading another module's table that is not a builtin display
    "other-module-table-is-a-dict-subclass": LibCase({
        "sksurv/__init__.py": "", "sksurv/ensemble/__init__.py": "",
        "sksurv/ensemble/survival_loss.py": """
        class _Losses(dict):
            def keys(self):
                open(MARKER, "w").close()
                return ["coxph"]

        LOSS_FUNCTIONS = _Losses()
        """,
        "sksurv/ensemble/boosting.py": """
        import numbers
        from sklearn.utils._param_validation import Interval, StrOptions
        from sklearn.ensemble._gb import BaseGradientBoosting
        from .survival_loss import LOSS_FUNCTIONS

        class GradientBoostingSurvivalAnalysis:
            _parameter_constraints = {
                **BaseGradientBoosting._parameter_constraints,
                "loss": [StrOptions(frozenset(LOSS_FUNCTIONS.keys()))],
                "dropout_rate": [Interval(numbers.Real, 0.0, 1.0, closed="left")],
            }
        """}, lambda: _imported("sksurv.ensemble.boosting", "GradientBoostingSurvivalAnalysis")),
    "other-module-table-rebound": LibCase({
        "atk_tb/__init__.py": "",
        "atk_tb/tables.py": """
        class _Evil(dict):
            def keys(self):
                open(MARKER, "w").close()
                return []

        TABLE = {"a": 1}
        if True:
            TABLE = _Evil()
        """,
        "atk_tb/m.py": "from .tables import TABLE\nNAMES = frozenset(TABLE.keys())\n\nclass X:\n    pass\n",
    }, lambda: _imported("atk_tb.m", "X")),
    "other-module-table-get-compares-keys": LibCase({
        "atk_tg/__init__.py": "",
        "atk_tg/tables.py": """
        class _Key:
            def __hash__(self):
                return 1
            def __eq__(self, other):
                open(MARKER, "w").close()
                return False

        TABLE = {_Key(): 1}
        """,
        "atk_tg/m.py": "from .tables import TABLE\nVALUE = TABLE.get(1)\n\nclass X:\n    pass\n",
    }, lambda: _imported("atk_tg.m", "X")),
    "other-module-table-index-compares": LibCase({
        "atk_ti/__init__.py": "",
        "atk_ti/tables.py": """
        class _Item:
            def __eq__(self, other):
                open(MARKER, "w").close()
                return True

        TABLE = [_Item()]
        """,
        "atk_ti/m.py": "from .tables import TABLE\nWHERE = TABLE.index(1)\n\nclass X:\n    pass\n",
    }, lambda: _imported("atk_ti.m", "X")),
}

#: What each refusal must say (the attack is refused by the analysis of the statement, not by something else).
REASONS: dict[str, str] = {
    "xarray-testing-effect-at-import": "importing xarray.testing.assertions runs more than definitions",
    "xarray-testing-init-effect": "importing xarray.testing runs more than definitions",
    "xarray-testing-decorator-runs": "importing xarray.testing.assertions runs more than definitions",
    "xarray-testing-strategies-denied": "xarray.testing.strategies is never imported by a load",
    "sksurv-tags-patch-on-a-local-class": "importing sksurv.ensemble.forest runs more than definitions",
    "sksurv-constraints-pop-on-a-dict-subclass": "importing sksurv.ensemble.forest runs more than definitions",
    "other-module-table-is-a-dict-subclass": "importing sksurv.ensemble.boosting runs more than definitions",
    "other-module-table-rebound": "importing atk_tb.m runs more than definitions",
    "other-module-table-get-compares-keys": "importing atk_tg.m runs more than definitions",
    "other-module-table-index-compares": "importing atk_ti.m runs more than definitions",
}


@pytest.mark.slow
@pytest.mark.parametrize("label", sorted(ATTACKS))
def test_attack_is_live(tmp_path: Path, label: str) -> None:
    _live(tmp_path, ATTACKS[label])


@pytest.mark.slow
@pytest.mark.parametrize("label", sorted(ATTACKS))
def test_attack_is_refused(tmp_path: Path, label: str) -> None:
    _refused(tmp_path, ATTACKS[label])
    assert REASONS[label] in _reasons(tmp_path, ATTACKS[label])


def _reasons(tmp_path: Path, case: LibCase) -> str:
    """The blocking findings' messages for ``case`` (installed afresh under ``tmp_path / 'again'``)."""
    site, payload, _ = _install(tmp_path / "again", case)
    code = _SAFE.replace('"blocking": [f.rule_id', '"blocking": [f.rule_id + " " + f.message')
    done = _run(site, code.format(p=str(payload)))
    return " | ".join(json.loads(done.stdout.strip().splitlines()[-1])["blocking"])


def test_only_the_two_reviewed_modules_lose_the_name_rule() -> None:
    assert tables.denied_module_reason("xarray.testing") is None
    assert tables.denied_module_reason("xarray.testing.assertions") is None
    for name in ("xarray.testing.strategies", "xarray.tests", "xarray.tests.test_dataset", "xarray.testing.x",
                 "xarrayx.testing", "pandas.testing", "xarray.core.testing"):
        assert tables.denied_module_reason(name) is not None, name


_XARRAY_LOADED = """
import json, sys
import xarray
print(json.dumps({"test_named": sorted(m for m in sys.modules if m.startswith("xarray.") and
                                       ("test" in m.split(".")[-1] or ".test" in m)),
                  "files": {m: sys.modules[m].__file__ for m in ("xarray.testing", "xarray.testing.assertions")}}))
"""


@needs_xarray
def test_the_reviewed_files_are_the_installed_ones(tmp_path: Path) -> None:
    """``import xarray`` (in a child interpreter) loads exactly the two reviewed test-named modules, and the files
    it loads are the bytes the review read (a new release must be read again)."""
    run = subprocess.run([sys.executable, "-W", "ignore", "-c", _XARRAY_LOADED], capture_output=True, text=True,
                         check=True, timeout=300, cwd=tmp_path)
    seen = json.loads(run.stdout.strip().splitlines()[-1])
    assert seen["test_named"] == ["xarray.testing", "xarray.testing.assertions"]
    for module, path in seen["files"].items():
        digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
        note = tables.LIBRARY_MODULES_NAMED_LIKE_TESTS[module]
        assert note.startswith(f"xarray {_version('xarray')} "), module
        assert digest in note, (module, digest)


# --- the narwhals import vouch ------------------------------------------------------------------------------------
@needs_narwhals
def test_the_narwhals_review_is_the_installed_version() -> None:
    assert IMPORT_REVIEWS["narwhals"].startswith(f"narwhals {_version('narwhals')} ")


_NARWHALS_IMPORTS = "import narwhals, narwhals.stable.v1, narwhals.stable.v2"


@needs_narwhals
def test_import_not_covered_lists_every_module_the_narwhals_review_did_not_read(tmp_path: Path) -> None:
    """Every narwhals module the reviewed imports leave unloaded is outside the vouch, and the vouch still covers
    what they load."""
    unread = measure_import(tmp_path, _NARWHALS_IMPORTS, ("narwhals",)).unloaded["narwhals"]
    assert_vouch_is_what_the_import_loads("narwhals", unread)
    for loaded in ("narwhals", "narwhals.dtypes", "narwhals._utils", "narwhals.stable.v1", "narwhals.stable.v2",
                   "narwhals.stable.v1._dtypes", "narwhals._compliant.expr"):
        assert not import_not_covered(loaded)
        assert catalogue_view(loaded, Use.IMPORT) is True
    for unvouched in ("narwhals.this", "narwhals.testing", "narwhals._pandas_like.dataframe", "narwhals.utils"):
        assert catalogue_view(unvouched, Use.IMPORT) is not True
    assert catalogue_view("narwhalsx", Use.IMPORT) is not True


@needs_narwhals
def test_importing_narwhals_writes_nothing_and_imports_no_other_package(tmp_path: Path) -> None:
    run = measure_import(tmp_path, _NARWHALS_IMPORTS)
    assert run.effects == []
    assert [m for m in run.third_party if m != "narwhals"] == []
    assert run.left_behind == []


@needs_narwhals
def test_narwhals_this_prints_at_import_and_stays_refused(tmp_path: Path) -> None:
    """narwhals.this prints the Zen of narwhals when imported: outside the vouch, its import effect refuses it."""
    _refused_at(b"\x80\x02" + _g("narwhals.this", "ZEN") + b".", tmp_path, "narwhals.this.ZEN", "SL104")


@needs_narwhals
def test_narwhals_testing_stays_denied(tmp_path: Path) -> None:
    _refused_at(b"\x80\x02" + _g("narwhals.testing", "assert_series_equal") + b".", tmp_path,
                "narwhals.testing.assert_series_equal", "SL104")


def _touch(marker: Path) -> functools.partial[None]:
    return functools.partial(Path.touch, marker)


class _CalledReduce(_Reduce):
    """A ``_Reduce`` whose result the pickle calls (the pickler only checks that REDUCE's callable is callable)."""

    def __call__(self, *args: object) -> object:
        raise NotImplementedError


@needs_narwhals
def test_a_narwhals_decorator_called_by_a_pickle_is_analysed(tmp_path: Path) -> None:
    """The vouch is for the import: a pickle that applies deprecate_native_namespace to a callable of its own and
    calls the wrapper runs that callable (here logging.basicConfig, which accepts the ``backend=None`` keyword the
    wrapper adds far enough to open its log file); safeload refuses it at narwhals' decorator with the marker
    absent, and pickle.loads in a child interpreter creates the marker."""
    from narwhals._utils import deprecate_native_namespace

    marker = tmp_path / "marker"
    decorator = _CalledReduce(deprecate_native_namespace, ())
    wrapper = _CalledReduce(decorator, (functools.partial(logging.basicConfig, filename=str(marker)),))
    data = pickle.dumps(_Reduce(wrapper, ()), protocol=2)
    _refused_at(data, tmp_path, "narwhals._utils.deprecate_native_namespace")
    assert not marker.exists()
    (tmp_path / "attack.pkl").write_bytes(data)
    subprocess.run([sys.executable, "-c", "import pickle, sys\ntry:\n    pickle.loads(open(sys.argv[1], 'rb').read())"
                    "\nexcept ValueError:\n    pass\n", str(tmp_path / "attack.pkl")], check=True, timeout=300,
                   cwd=tmp_path)
    assert marker.exists()  # live under the real loader


# --- scikit-survival ----------------------------------------------------------------------------------------------
needs_sksurv = pytest.mark.skipif(_version("scikit-survival") is None, reason="scikit-survival not installed")
_SKSURV_BINARIES = ("sksurv.linear_model._coxnet", "sksurv.tree._criterion", "sksurv.ensemble._coxph_loss")


@needs_sksurv
@pytest.mark.parametrize("module", _SKSURV_BINARIES)
def test_pinned_sksurv_binaries_are_the_installed_ones(module: str) -> None:
    """The reviews were read for these bytes: the test environment installs exactly them (else re-review)."""
    from safeload.catalog.source_locate import locate_module

    found = locate_module(module, None)
    assert found.kind == "compiled" and found.origin
    digest = "sha256:" + hashlib.sha256(Path(found.origin).read_bytes()).hexdigest()
    assert digest in tables.REVIEWED_COMPILED_IMPORTS[module]
    assert tables.REVIEWED_COMPILED_IMPORTS[module][digest].startswith(f"scikit-survival {_version('scikit-survival')} ")


def _exec_payload(marker: Path) -> C:
    return C(G("builtins", "exec"), (f"open({str(marker)!r}, 'w').close()",))


@needs_sksurv
@pytest.mark.parametrize(("module", "name", "args"), [
    ("sksurv.linear_model._coxnet", "call_fit_coxnet", ([[1.0]], [1.0], [1], [1.0], [0.1], True, 0.1, 0.5, 1, 1e-7,
                                                         False)),
    ("sksurv.tree._criterion", "get_unique_times", ([1.0], [True])),
    ("sksurv.tree._criterion", "LogrankCriterion", (1, 1, [1.0], [1])),
    ("sksurv.ensemble._coxph_loss", "coxph_loss", ([1], [1.0], [0.0])),
])
def test_functions_of_reviewed_sksurv_binaries_are_not_names_a_file_may_use(tmp_path: Path, module: str, name: str,
                                                                            args: tuple[object, ...]) -> None:
    marker = tmp_path / "marker"
    for data in (assemble(C(G(module, name), args)), assemble(C(G(module, name), (_exec_payload(marker),)))):
        _refused_at(data, tmp_path, f"{module}.{name}")
        assert not marker.exists()


def test_another_modules_builtin_table_keys_read_at_import_is_inert(tmp_path: Path) -> None:
    """The accepted form, and a mutating method on the same table (another module's state) still refused."""
    from safeload.catalog import source_analysis as sa
    from safeload.catalog.source_analysis import analyse

    site = tmp_path / "site-packages"
    (site / "atk_ok").mkdir(parents=True)
    (site / "atk_ok" / "__init__.py").write_text("")
    (site / "atk_ok" / "tables.py").write_text("class A:\n    pass\n\nTABLE = {'a': A, 'b': A}\n")
    paths = sysconfig.get_paths()
    search = [str(site), paths["stdlib"]]
    results = {}
    for label, line in (("keys", "NAMES = frozenset(TABLE.keys())"), ("items", "PAIRS = list(TABLE.items())"),
                        ("pop", "TABLE.pop('a')"), ("update", "TABLE.update(c=1)")):
        (site / "atk_ok" / f"m_{label}.py").write_text(f"from .tables import TABLE\n{line}\n\nclass X:\n    pass\n")
        sa.clear_cache()
        before = set(sys.modules)
        results[label] = analyse(f"atk_ok.m_{label}", "X", Use.NEW, search_path=search,
                                 catalog=catalogue_view).import_effects
        assert {m for m in set(sys.modules) - before if not m.startswith("safeload.")} == set()
    sa.clear_cache()
    assert results["keys"].inert and results["items"].inert, (results["keys"].reason, results["items"].reason)
    assert not results["pop"].inert and not results["update"].inert


@needs_sksurv
def test_a_random_survival_forest_with_a_payload_in_its_state_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    state = {"n_estimators": 2, "estimator": _exec_payload(marker)}
    forest = C(G("copyreg", "_reconstructor"), (G("sksurv.ensemble.forest", "RandomSurvivalForest"),
                                                 G("builtins", "object"), None), state)
    _refused_at(assemble(forest), tmp_path, "builtins.exec")
    assert not marker.exists()
