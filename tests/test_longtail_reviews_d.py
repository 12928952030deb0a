"""Attacks on the long-tail reviews of issue 14, round 5 (fp-longtail-d): pyod's numba import, skopt's PyYAML.

What was reviewed, and what each test checks is still refused:

- the numba 0.68.1 / llvmlite 0.50.0 import vouch (``reviewed.IMPORT_REVIEWS``): it covers the modules
  ``import numba`` loads and nothing else (``IMPORT_NOT_COVERED`` is checked against the installed package), and
  that import writes nothing (checked with an audit hook in a fresh interpreter);
- the bare ``@njit`` decorator (``source_tables.IMPORT_TIME_DECORATORS``): ``@njit(cache=True)`` (writes the
  cache directory at decoration), a call ``njit(f)`` and a decorator merely named ``njit`` are still
  analysed, and refused;
- the PyYAML 6.0.4 import vouch: only the import (every module of the package loads on ``import yaml``);
  ``yaml.load``/``unsafe_load`` called by a pickle stay refused, and a module defining a ``YAMLObject`` subclass
  with a tag (its metaclass registers a constructor in yaml's loaders) is not an inert import;
- numba's unpickle helpers (``numba.core.serialize``: what UMAP's pickles hold) stay refused: they hand bytes
  from the file to ``cloudpickle.loads`` and call a class the file names;
- a pickle may not call numba's decorators, and pyod estimators' state is still checked.

Nothing analysed is ever imported (``sys.modules`` unchanged); every payload would touch a marker file.
"""

from __future__ import annotations

import pickle
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest

import safeload
from safeload.catalog import source_analysis as sa
from safeload.catalog import source_tables as tables
from safeload.catalog.decide import catalogue_view
from safeload.catalog.reviewed import IMPORT_NOT_COVERED, IMPORT_REVIEWS, import_not_covered
from safeload.catalog.source_analysis import Analysis, analyse
from safeload.catalog.uses import Use
from tests.attacks import C, G, assemble
from tests.longtail_helpers import assert_vouch_is_what_the_import_loads, measure_import


def _version(dist: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return None


needs_numba = pytest.mark.skipif(_version("numba") is None, reason="numba not installed")


def analysed(site: Path, source: str, qualname: str, uses: Use) -> Analysis:
    """Analyse ``atk.m.qualname`` written in a fake site-packages in front of the real one."""
    marker = site.parent / "marker"
    (site / "atk").mkdir(exist_ok=True)
    (site / "atk" / "__init__.py").write_text("")
    (site / "atk" / "m.py").write_text(textwrap.dedent(source).replace("MARKER", repr(str(marker))))
    paths = sysconfig.get_paths()
    before = set(sys.modules)
    result = analyse("atk.m", qualname, uses, search_path=[str(site), paths["stdlib"], paths["purelib"]],
                     catalog=catalogue_view)
    assert {m for m in set(sys.modules) - before if not m.startswith("safeload.")} == set()
    assert not marker.exists()
    sa.clear_cache()
    return result


# --- the vouch ----------------------------------------------------------------------------------------------------
@needs_numba
def test_the_reviewed_versions_are_the_installed_ones() -> None:
    """The reviews name the versions read; another version must be read again before it is vouched for."""
    for package, dist in (("numba", "numba"), ("llvmlite", "llvmlite"), ("yaml", "PyYAML")):
        assert IMPORT_REVIEWS[package].startswith(f"{dist} {_version(dist)} "), package


@needs_numba
def test_import_not_covered_lists_every_module_import_numba_does_not_load(tmp_path: Path) -> None:
    """Every numba/llvmlite module ``import numba`` leaves unloaded is outside the vouch, and the vouch still covers
    what it loads."""
    unread = measure_import(tmp_path, "import numba, yaml", ("numba", "llvmlite", "yaml"), ignore=("ctypes",)).unloaded
    assert unread["yaml"] == [] and IMPORT_NOT_COVERED["yaml"] == frozenset()
    for package in ("numba", "llvmlite"):
        assert_vouch_is_what_the_import_loads(package, unread[package])
    for loaded in ("numba", "numba.core.config", "numba.core.decorators", "numba.core.serialize",
                   "llvmlite.binding.ffi"):
        assert not import_not_covered(loaded)
        assert catalogue_view(loaded, Use.IMPORT) is True
    assert catalogue_view("numba.cuda", Use.IMPORT) is None
    assert catalogue_view("numba.pycc.cc", Use.IMPORT) is None
    assert catalogue_view("numbax", Use.IMPORT) is not True


@needs_numba
def test_importing_numba_pyyaml_pyod_skopt_writes_nothing(tmp_path: Path) -> None:
    """What the review claims, measured: no file opened for writing, no directory made, no process, no socket
    (llvmlite's ctypes load of its own shared object aside)."""
    pytest.importorskip("pyod")
    pytest.importorskip("skopt")
    run = measure_import(tmp_path, """
        import numba, yaml
        import pyod.models.iforest, pyod.models.knn, pyod.models.lof
        import skopt.space.space
    """, env={"NUMBA_CACHE_DIR": str(tmp_path / "numba-cache")}, ignore=("ctypes",))
    assert run.effects == []
    assert run.left_behind == []


# --- the bare @njit decorator ------------------------------------------------------------------------------------
@needs_numba
def test_bare_njit_at_import_is_inert(site: Path) -> None:
    a = analysed(site, """
        from numba import njit
        @njit
        def helper(x):
            return x + 1
        class Plain:
            pass
    """, "Plain", Use.NEW)
    assert a.import_effects.inert, a.import_effects.reason


@needs_numba
@pytest.mark.parametrize("source", [
    # cache=True: the Dispatcher's cache locator creates the cache directory and test-writes a file into it
    "from numba import njit\n@njit(cache=True)\ndef helper(x):\n    return x\n",
    # a signature compiles at import
    "from numba import njit\n@njit('int64(int64)')\ndef helper(x):\n    return x\n",
    # (`@njit()` and other constant-option forms are reviewed since round 7: tests/test_longtail_reviews_h.py)
    # called, not applied as a decorator: jit's body is analysed (and is not inert)
    "from numba import njit\ndef helper(x):\n    return x\nfast = njit(helper, cache=True)\n",
    # numba's other decorators are not reviewed
    "from numba import jit\n@jit\ndef helper(x):\n    return x\n",
    "from numba import vectorize\n@vectorize\ndef helper(x):\n    return x\n",
    # the bare form, but what is decorated is evaluated as usual
    "from numba import njit\n@njit\n@(lambda f: open(MARKER, 'w') and f)\ndef helper(x):\n    return x\n",
], ids=["cache", "signature", "called", "jit", "vectorize", "stacked"])
def test_other_numba_decorations_are_analysed(site: Path, source: str) -> None:
    a = analysed(site, source + "class Plain:\n    pass\n", "Plain", Use.NEW)
    assert not a.import_effects.inert


def test_a_decorator_merely_named_njit_is_analysed(site: Path) -> None:
    a = analysed(site, """
        def njit(f):
            open(MARKER, 'w')
            return f
        @njit
        def helper(x):
            return x
        class Plain:
            pass
    """, "Plain", Use.NEW)
    assert not a.import_effects.inert
    assert "numba.core.decorators.njit" in tables.IMPORT_TIME_DECORATORS


@needs_numba
def test_a_module_outside_the_numba_review_is_analysed(site: Path) -> None:
    """numba.cuda is not loaded by ``import numba``: importing it is judged by the analysis, not the vouch."""
    a = analysed(site, "import numba.cuda\nclass Plain:\n    pass\n", "Plain", Use.NEW)
    assert not a.import_effects.inert
    assert "numba.cuda" in a.import_effects.reason


# --- the real engine ---------------------------------------------------------------------------------------------
def _payload(marker: Path) -> C:
    """Calling this at load would create the marker."""
    return C(G("builtins", "exec"), (f"open({str(marker)!r}, 'w').close()",))


def refused(data: bytes, marker: Path) -> None:
    result = safeload.scan(data)
    assert not result.is_safe()
    with pytest.raises(safeload.UnsafeModelError):
        safeload.pickle_loads(data)
    assert not marker.exists()


@needs_numba
def test_a_file_may_not_call_numba_decorators(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    for module, name in (("numba.core.decorators", "njit"), ("numba", "njit"), ("numba", "jit")):
        refused(assemble(C(G(module, name), (_payload(marker),))), marker)
        refused(assemble(C(G(module, name), (G("os", "system"),))), marker)


@needs_numba
def test_numba_unpickle_helpers_stay_refused(tmp_path: Path) -> None:
    """numba.core.serialize: _unpickle__CustomPickled runs cloudpickle.loads on bytes from the file (a pickle
    inside the pickle, never scanned), and custom_rebuild calls ``cls._rebuild(**states)`` for a class the file
    names. UMAP's pickles hold both (its numba-compiled distance functions): they stay refused."""
    marker = tmp_path / "marker"
    inner = pickle.dumps(pickle.loads(assemble(C(G("builtins", "tuple"), (["x", "y"],)))), protocol=4)
    evil_inner = assemble((_payload(marker), {}))
    for blob in (inner, evil_inner):
        refused(assemble(C(G("numba.core.serialize", "_unpickle__CustomPickled"), (blob,))), marker)
    custom = C(G("numba.core.serialize", "_CustomPickled"), (G("os", "system"), {"command": "x"}))
    refused(assemble(C(G("numba.core.serialize", "custom_rebuild"), (custom,))), marker)
    # the other unpickle helpers: a nested cloudpickle.loads, a file-chosen class's _rebuild, and pickle.loads aliases
    refused(assemble(C(G("numba.core.serialize", "_numba_unpickle"), (0, evil_inner, b"h"))), marker)
    refused(assemble(C(G("numba.core.serialize", "_rebuild_reduction"), (G("builtins", "str"), 1))), marker)
    refused(assemble(C(G("numba.core.serialize", "loads"), (evil_inner,))), marker)
    refused(assemble(C(G("numba.core.config", "reload_config"), ())), marker)


def test_pyod_estimators_load_and_their_state_is_checked(tmp_path: Path) -> None:
    pytest.importorskip("pyod")
    pytest.importorskip("numba")
    import numpy as np
    from pyod.models.knn import KNN  # type: ignore[import-untyped]

    model = KNN(n_neighbors=3).fit(np.random.default_rng(0).normal(size=(20, 2)))
    data = pickle.dumps(model, protocol=4)
    assert safeload.scan(data).is_safe(), safeload.scan(data).summary()
    assert np.array_equal(safeload.pickle_loads(data).labels_, model.labels_)
    marker = tmp_path / "marker"
    state = C(G("copyreg", "_reconstructor"), (G("pyod.models.knn", "KNN"), G("builtins", "object"), None),
              {"n_neighbors": _payload(marker)})
    refused(assemble(state), marker)
    # calling a jitted function compiles it for the file's argument types: the bare-@njit review is for import
    # only, so the call is refused (the decorator is unknown to the function analysis)
    call = assemble(C(G("pyod.utils.stat_models", "_pairwise_distances_no_broadcast_helper"), (1, 2)))
    refused(call, marker)
    assert "njit" in safeload.scan(call).summary()


# --- PyYAML ------------------------------------------------------------------------------------------------------
def test_skopt_imports_are_inert_with_pyyaml_reviewed() -> None:
    """The vouch's purpose: skopt.space.space imports yaml; the rest of skopt's import is analysed as before."""
    pytest.importorskip("skopt")
    sa.clear_cache()
    a = analyse("skopt.space.space", "Real", Use.NEW | Use.BUILD, catalog=catalogue_view)
    assert a.import_effects.inert, a.import_effects.reason


def test_a_yaml_object_subclass_with_a_tag_is_not_an_inert_import(site: Path) -> None:
    """YAMLObjectMetaclass registers a tagged subclass's from_yaml in yaml's loaders at class creation: a
    module doing that changes what yaml.load builds (the vouch covers yaml's own classes, not its users')."""
    pytest.importorskip("yaml")
    a = analysed(site, """
        import yaml
        class Evil(yaml.YAMLObject):
            yaml_tag = '!evil'
            @classmethod
            def from_yaml(cls, loader, node):
                open(MARKER, 'w')
        class Plain:
            pass
    """, "Plain", Use.NEW)
    assert not a.import_effects.inert
    untagged = analysed(site, "import yaml\nclass Plain:\n    pass\n", "Plain", Use.NEW)
    assert untagged.import_effects.inert, untagged.import_effects.reason


def test_a_file_may_not_call_yaml_loaders(tmp_path: Path) -> None:
    pytest.importorskip("yaml")
    marker = tmp_path / "marker"
    doc = f"!!python/object/apply:builtins.exec [\"open({str(marker)!r}, 'w').close()\"]"
    for name in ("load", "unsafe_load", "full_load", "safe_load", "load_all"):
        refused(assemble(C(G("yaml", name), (doc,))), marker)
    refused(assemble(C(G("yaml", "load"), (doc, G("yaml", "UnsafeLoader")))), marker)
    # registering a constructor writes yaml's class-level tables: every later yaml.load in the process would run it
    for name in ("add_constructor", "add_multi_constructor", "add_representer"):
        refused(assemble(C(G("yaml", name), ("!x", G("builtins", "str")))), marker)
    refused(assemble(C(G("yaml.loader", "Loader.add_constructor"), ("!x", G("builtins", "str")))), marker)


# --- scikit-survival: the bindings its reviewed statements read --------------------------------------------------
def _real_def(module_file: str, name: str) -> str:
    import ast

    path = Path(sysconfig.get_paths()["purelib"], module_file)
    if not path.exists():
        pytest.skip(f"{module_file} not installed")
    node = next(n for n in ast.parse(path.read_text()).body
                if isinstance(n, ast.FunctionDef | ast.ClassDef) and n.name == name)
    return ast.unparse(node)


def _fake_sksurv(site: Path, init: str) -> Analysis:
    (site / "sksurv").mkdir(exist_ok=True)
    (site / "sksurv" / "__init__.py").write_text(init.replace("MARKER", repr(str(site.parent / "marker"))))
    (site / "sksurv" / "m.py").write_text("class Plain:\n    pass\n")
    paths = sysconfig.get_paths()
    before = set(sys.modules)
    result = analyse("sksurv.m", "Plain", Use.NEW, search_path=[str(site), paths["stdlib"], paths["purelib"]],
                     catalog=catalogue_view)
    assert {m for m in set(sys.modules) - before if not m.startswith("safeload.")} == set()
    assert not (site.parent / "marker").exists()
    sa.clear_cache()
    return result


def test_patch_pipeline_call_is_skipped_only_while_its_def_is_the_reviewed_one(site: Path) -> None:
    """Main's binding rule: ``patch_pipeline()`` is skipped only while the def it calls is reviewed word for word
    (keyed by hash in REVIEWED_IMPORT_STATEMENTS['sksurv']); an edited def makes the call analysed again."""
    real = _real_def("sksurv/__init__.py", "patch_pipeline")
    head = "from sklearn.pipeline import Pipeline\n"
    control = _fake_sksurv(site, head + real + "\npatch_pipeline()\n")
    assert control.import_effects.inert, control.import_effects.reason
    evil = real.replace("Pipeline._predict_risk_score = _predict_risk_score",
                        "Pipeline._predict_risk_score = _predict_risk_score\n    open(MARKER, 'w')")
    assert evil != real
    assert not _fake_sksurv(site, head + evil + "\npatch_pipeline()\n").import_effects.inert
    # rebinding the reviewed name after the def: the call reads another binding
    rebound = head + real + "\ndef patch_pipeline():\n    open(MARKER, 'w')\npatch_pipeline()\n"
    assert not _fake_sksurv(site, rebound).import_effects.inert


def test_ipcridge_class_is_keyed_by_its_text() -> None:
    import hashlib

    text = _real_def("sksurv/linear_model/aft.py", "IPCRidge")
    key = "sha256:" + hashlib.sha256(text.encode()).hexdigest()
    assert key in tables.REVIEW_PINS["sksurv.linear_model.aft"]
    assert "sha256:" + hashlib.sha256(_real_def("sksurv/__init__.py", "patch_pipeline").encode()).hexdigest() \
        in tables.REVIEW_PINS["sksurv"]


# --- scikit-optimize kernels (reviewed.py entries) ---------------------------------------------------------------
_SKOPT_K = "skopt.learning.gaussian_process.kernels"


def _kernel(name: str, state: object) -> C:
    return C(G("copyreg", "_reconstructor"), (G(_SKOPT_K, name), G("builtins", "object"), None), state)


def test_skopt_kernel_round_trip_and_abuse(tmp_path: Path) -> None:
    pytest.importorskip("skopt")
    import numpy as np
    from skopt.learning.gaussian_process.kernels import ConstantKernel, Matern  # type: ignore[import-untyped]

    kernel = ConstantKernel(2.0) * Matern(length_scale=1.5, nu=2.5)
    data = pickle.dumps(kernel, protocol=4)
    assert safeload.scan(data).is_safe(), safeload.scan(data).summary()
    X = np.arange(6.0).reshape(3, 2)
    assert np.allclose(safeload.pickle_loads(data)(X), kernel(X))
    marker = tmp_path / "marker"
    # the file may not call the classes (the entry permits NEW/BUILD only), even with harmless arguments
    refused(assemble(C(G(_SKOPT_K, "Matern"), (1.0,))), marker)
    refused(assemble(C(G(_SKOPT_K, "Sum"), (G("os", "system"), G("os", "system")))), marker)
    # a composite kernel calls k1/k2: a dangerous value there is ranked on its own
    refused(assemble(_kernel("Sum", {"k1": G("os", "system"), "k2": G("os", "system")})), marker)
    refused(assemble(_kernel("Product", {"k1": _payload(marker), "k2": 1})), marker)
    # slot state (setattr: may assign __class__) is not the reviewed dict state
    refused(assemble(_kernel("Matern", (None, {"__class__": G("subprocess", "Popen")}))), marker)
    refused(assemble(_kernel("WhiteKernel", (None, {"noise_level": 1.0}))), marker)


def test_unreviewed_skopt_kernels_are_not_covered() -> None:
    """The entry names five classes; HammingKernel (its own __call__) and the others are analysed, never
    catalogued by prefix."""
    from safeload.catalog.reviewed import REVIEWED

    for name in ("HammingKernel", "RBF", "Kernel", "DotProduct"):
        assert f"{_SKOPT_K}.{name}" not in REVIEWED
    assert not any(n.startswith("skopt.") and n.split(".")[-2] != "kernels" for n in REVIEWED)
