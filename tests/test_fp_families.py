"""Issue 14's families freed by reviewed entries (round 4), and attacks on each reviewed mechanism.

Each review admits exactly the uses an ordinary file makes of a name (``catalog/reviewed.py``: nltk, regex,
statsmodels, spaCy, Hugging Face...) or vouches for a package's import (``IMPORT_REVIEWS``). Every attack abuses
the same name or mechanism with a harmless payload (touching a marker file under ``tmp_path``), and asserts the
refusal *at that name* (not only somewhere in the file), that the safe loader raises, and that the marker is
absent; where the payload is live under the real loader, the test shows that too (after the safe attempt).
"""

from __future__ import annotations

import copyreg
import functools
import importlib.util
import operator
import pickle
import sys
import sysconfig
import textwrap
import types
from pathlib import Path
from typing import Any

import pytest

import safeload
from safeload.catalog import source_analysis as sa
from safeload.catalog.decide import catalogue_view
from safeload.catalog.reviewed import IMPORT_REVIEWED, IMPORT_REVIEWS, REVIEWED
from safeload.catalog.uses import Use


def _installed(*names: str) -> pytest.MarkDecorator:
    missing = [n for n in names if importlib.util.find_spec(n) is None]
    return pytest.mark.skipif(bool(missing), reason=f"not installed: {', '.join(missing)}")


class _Reduce:
    """Pickles as ``fn(*args)`` (then BUILD ``state`` when given): a hand-made reduce, as an attacker writes it."""

    def __init__(self, fn: Any, args: tuple[Any, ...], state: Any = None) -> None:
        self.fn, self.args, self.state = fn, args, state

    def __reduce__(self) -> tuple[Any, ...]:
        return (self.fn, self.args) if self.state is None else (self.fn, self.args, self.state)


def _refused_at(data: bytes, tmp_path: Path, subject: str, rule: str | None = None) -> safeload.ScanResult:
    """Scan ``data``: refused with a blocking finding on ``subject`` (and ``rule``); the safe loader raises."""
    path = tmp_path / "attack.pkl"
    path.write_bytes(data)
    result = safeload.scan(path)
    assert not result.is_safe()
    hits = [f for f in result.blocking() if f.subject == subject and (rule is None or f.rule_id == rule)]
    assert hits, result.summary()
    with pytest.raises(safeload.UnsafeModelError):
        safeload.pickle_loads(data)
    return result


_RECONSTRUCTOR: Any = copyreg.__dict__["_reconstructor"]  # how pickle protocol 2 rebuilds a plain object


def _touch(marker: Path) -> functools.partial[None]:
    return functools.partial(Path.touch, marker)


# --- the reviews themselves ---------------------------------------------------------------------------------------
def test_every_import_review_names_a_version_and_is_vouched() -> None:
    for package, note in IMPORT_REVIEWS.items():
        assert package in IMPORT_REVIEWED
        assert any(ch.isdigit() for ch in note.split(":", 1)[0]), f"{package}: no version in the review"


def test_an_import_review_covers_that_top_level_package_only() -> None:
    assert catalogue_view("nltk.probability", Use.IMPORT) is True
    for name in ("nltkx", "nltk_evil.m", "evil.nltk", "regexx"):
        assert catalogue_view(name, Use.IMPORT) is not True


# --- nltk ---------------------------------------------------------------------------------------------------------


def _analyse(site: Path, source: str, qualname: str, uses: Use) -> sa.Analysis:
    """Analyse ``atk.m.<qualname>`` (written under ``site``) with the real catalogue and the installed packages."""
    pkg = site / "atk"
    pkg.mkdir(exist_ok=True)
    (pkg / "__init__.py").write_text("")
    marker = site.parent / "marker"
    (pkg / "m.py").write_text(textwrap.dedent(source).replace("MARKER", repr(str(marker))))
    paths = sysconfig.get_paths()
    before = set(sys.modules)
    result = sa.analyse("atk.m", qualname, uses, search_path=[str(site), paths["stdlib"], paths["purelib"]],
                        catalog=catalogue_view)
    assert {m for m in set(sys.modules) - before if not m.startswith("safeload.")} == set()
    assert not marker.exists()
    sa.clear_cache()
    return result


@pytest.mark.parametrize(("package", "importing", "decorator"), [
    ("nltk", "from nltk.jsontags import register_tag as deco", "@deco"),
    ("statsmodels", "from statsmodels.tools.docstring_helpers import Appender", "@Appender('more doc')"),
    ("statsmodels", "from statsmodels.compat.pandas import Appender", "@Appender('more doc')"),
])
def test_reviewed_decorators_do_not_hide_the_class_s_own_setstate(site: Path, package: str, importing: str,
                                                                  decorator: str) -> None:
    if importlib.util.find_spec(package) is None:
        pytest.skip(f"not installed: {package}")
    a = _analyse(site, f"""
        {importing}

        {decorator}
        class Tagged:
            json_tag = "atk.Tagged"

            def __setstate__(self, state):
                open(MARKER, "w").close()
    """, "Tagged", Use.NEW | Use.BUILD)
    build = a.verdict(Use.BUILD)
    assert build is not None and not build.inert
    new = a.verdict(Use.NEW)
    assert new is not None
    assert new.inert, new.reason  # the decorator itself is reviewed: only __setstate__ blocks


@_installed("nltk")
def test_conditional_freqdist_given_state_is_refused(tmp_path: Path) -> None:
    """Slot state would setattr default_factory, which a missing key then calls: BUILD is not reviewed."""
    from nltk.probability import ConditionalFreqDist  # type: ignore[import-untyped]

    marker = tmp_path / "marker"
    cfd = _Reduce(ConditionalFreqDist, (), (None, {"default_factory": _touch(marker)}))
    data = pickle.dumps(_Reduce(operator.getitem, (cfd, "missing")), protocol=2)
    _refused_at(data, tmp_path, "nltk.probability.ConditionalFreqDist", "SL115")
    assert not marker.exists()
    pickle.loads(data)  # the live check: the real loader runs the payload
    assert marker.exists()


@_installed("nltk")
def test_freqdist_given_state_is_refused(tmp_path: Path) -> None:
    from nltk.probability import FreqDist

    marker = tmp_path / "marker"
    data = pickle.dumps(_Reduce(FreqDist, ({"a": 1},), {"update": _touch(marker)}), protocol=2)
    _refused_at(data, tmp_path, "nltk.probability.FreqDist", "SL115")
    assert not marker.exists()


@_installed("nltk")
def test_stem_called_by_the_file_with_its_own_self_is_refused(tmp_path: Path) -> None:
    """The bound method is reviewed for other code calling it; the file calling the function with a self it built
    (whose _r1r2_standard would be the payload) is not that use."""
    from nltk.stem.snowball import EnglishStemmer  # type: ignore[import-untyped]

    marker = tmp_path / "marker"
    fake = _Reduce(types.SimpleNamespace, (), {"stopwords": frozenset(), "_r1r2_standard": _touch(marker)})
    data = pickle.dumps(_Reduce(EnglishStemmer.stem, (fake, "running")), protocol=2)
    _refused_at(data, tmp_path, "nltk.stem.snowball.EnglishStemmer.stem", "SL115")
    assert not marker.exists()


@_installed("nltk")
def test_punkt_token_called_by_the_file_is_refused(tmp_path: Path) -> None:
    """PunktToken is reviewed for nltk's tokenizer calling it on text; the file calling it with a value of its
    own (whose lower() would run) is not that use."""
    from nltk.tokenize.punkt import PunktToken  # type: ignore[import-untyped]

    marker = tmp_path / "marker"
    data = pickle.dumps(_Reduce(PunktToken, ("tok.",), None), protocol=2)
    _refused_at(data, tmp_path, "nltk.tokenize.punkt.PunktToken", "SL115")
    assert not marker.exists()


@_installed("nltk")
def test_nltk_test_modules_stay_denied(tmp_path: Path) -> None:
    """The import review does not lift the deny table for a name the file gives (nltk.test is a test package)."""
    marker = tmp_path / "marker"
    data = b"cnltk.test.childes_fixt\nsetup_module\n)R."
    path = tmp_path / "attack.pkl"
    path.write_bytes(data)
    result = safeload.scan(path)
    assert any(f.subject == "nltk.test.childes_fixt.setup_module" for f in result.blocking()), result.summary()
    with pytest.raises(safeload.UnsafeModelError):
        safeload.pickle_loads(data)
    assert not marker.exists()


def test_reviewed_entries_of_this_round_permit_no_build_where_state_is_a_lever() -> None:
    for name in ("nltk.probability.ConditionalFreqDist", "nltk.probability.FreqDist"):
        assert not REVIEWED[name].permits(Use.BUILD)
    for name in ("nltk.stem.snowball.EnglishStemmer.stem", "nltk.tokenize.punkt.PunktToken"):
        assert not REVIEWED[name].permits(Use.CALL)


# --- statsmodels ----------------------------------------------------------------------------------------------------
def _load_nested(data: bytes) -> Any:
    """The real loader a few frames deep, as ``statsmodels.api.load`` calls it (the formula's eval_env looks up the
    caller's frames)."""
    def outer() -> Any:
        return inner()

    def inner() -> Any:
        return pickle.loads(data)

    return outer()


@_installed("statsmodels", "pandas")
def test_model_data_restoring_a_formula_is_refused(tmp_path: Path) -> None:
    """ModelData.__setstate__ re-evaluates the pickled formula when 'restore_model_spec' is in its state: formula
    terms are Python expressions, so the file runs code. BUILD is reviewed only without that key."""
    import pandas as pd
    from statsmodels.base.data import ModelData  # type: ignore[import-untyped]

    marker = tmp_path / "marker"
    state = {"restore_model_spec": True, "formula": f"y ~ I(__import__('pathlib').Path({str(marker)!r}).touch() or x)",
             "frame": pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [1.0, 2.0, 3.5]})}
    data = pickle.dumps(_Reduce(_RECONSTRUCTOR, (ModelData, object, None), state), protocol=2)
    _refused_at(data, tmp_path, "statsmodels.base.data.ModelData", "SL115")
    assert not marker.exists()
    _load_nested(data)
    assert marker.exists()  # live under the real loader


@_installed("statsmodels")
def test_model_data_given_slot_state_is_refused(tmp_path: Path) -> None:
    from statsmodels.base.data import ModelData

    marker = tmp_path / "marker"
    data = pickle.dumps(_Reduce(_RECONSTRUCTOR, (ModelData, object, None),
                                (None, {"orig_endog": _touch(marker)})), protocol=2)
    _refused_at(data, tmp_path, "statsmodels.base.data.ModelData", "SL115")
    assert not marker.exists()


@_installed("scipy")
def test_optimize_result_appends_is_refused(tmp_path: Path) -> None:
    """OptimizeResult.__getattr__ serves attributes from its items: APPENDS looks ``extend``/``append`` up and calls
    the item the file stored under that key. Only SETITEMS is reviewed."""
    from scipy.optimize import OptimizeResult

    marker = tmp_path / "marker"
    res = OptimizeResult(append=_touch(marker))
    data = pickle.dumps(res, protocol=2)
    # then APPENDS onto it: no ``extend`` item, so the unpickler calls ``append(0o644)`` -> Path.touch(marker, mode)
    attack = data[:-1] + b"(M\xa4\x01e."
    _refused_at(attack, tmp_path, "scipy.optimize._optimize.OptimizeResult", "SL115")
    assert not marker.exists()
    pickle.loads(attack)
    assert marker.exists()


@_installed("statsmodels")
def test_reviewed_getattribute_does_not_cover_a_subclass_s_own_code(site: Path) -> None:
    a = _analyse(site, """
        from statsmodels.base.wrapper import ResultsWrapper

        class OwnSetstate(ResultsWrapper):
            def __setstate__(self, state):
                open(MARKER, "w").close()

        class ClassLevelResults(ResultsWrapper):
            @property
            def _results(self):
                open(MARKER, "w").close()

        class OwnGetattribute(ResultsWrapper):
            def __getattribute__(self, name):
                open(MARKER, "w").close()

        class Plain(ResultsWrapper):
            pass
    """, "Plain", Use.NEW | Use.BUILD)
    build = a.verdict(Use.BUILD)
    assert build is not None
    assert build.inert, build.reason  # ResultsWrapper.__setstate__ is self.__dict__.update(state)
    for name in ("OwnSetstate", "ClassLevelResults", "OwnGetattribute"):
        b = _analyse(site, (site / "atk" / "m.py").read_text(), name, Use.BUILD).verdict(Use.BUILD)
        assert b is not None
        assert not b.inert, name


@_installed("statsmodels")
def test_deprecate_kwarg_does_not_hide_the_method_body(site: Path) -> None:
    a = _analyse(site, """
        from statsmodels.compat.pandas import deprecate_kwarg

        class Renamed:
            @deprecate_kwarg("seed", "rng")
            def __init__(self, rng=None):
                open(MARKER, "w").close()
    """, "Renamed", Use.CALL)
    call = a.verdict(Use.CALL)
    assert call is not None
    assert not call.inert


@_installed("statsmodels")
@pytest.mark.parametrize("name", [
    "statsmodels.tsa.statespace.simulation_smoother.SimulationSmoothResults",
    "statsmodels.tsa.statespace.kalman_smoother.SmootherResults",
])
def test_results_classes_called_by_the_file_are_refused(tmp_path: Path, name: str) -> None:
    """Reviewed for statsmodels calling them with its own model; the file calling one with a value of its own
    (whose attributes and .copy() would run) is not that use."""
    module, _, attr = name.rpartition(".")
    cls = getattr(importlib.import_module(module), attr)
    marker = tmp_path / "marker"
    fake = _Reduce(types.SimpleNamespace, (), {"copy": _touch(marker)})
    data = pickle.dumps(_Reduce(cls, (fake, fake)), protocol=2)
    _refused_at(data, tmp_path, name, "SL115")
    assert not marker.exists()


@_installed("statsmodels", "numpy")
def test_compiled_kalman_filter_called_as_an_instance_is_refused(tmp_path: Path) -> None:
    """The Cython kernels are reviewed to be built and given state, not run: an instance set as an attribute by
    BUILD (which code may call: __call__ runs the filter) is refused."""
    import numpy as np
    from statsmodels.tsa.statespace._initialization import dInitialization  # type: ignore[import-untyped]

    marker = tmp_path / "marker"
    init = dInitialization(1, np.zeros(1), np.eye(1, order="F"))
    holder = _Reduce(types.SimpleNamespace, (), {"initialization": init, "hook": _touch(marker)})
    data = pickle.dumps(holder, protocol=2)
    _refused_at(data, tmp_path, "statsmodels.tsa.statespace._initialization.dInitialization", "SL115")
    assert not marker.exists()


@_installed("statsmodels")
def test_initialization_setitem_is_refused(tmp_path: Path) -> None:
    """Initialization.__setitem__ (set a block's type) is not reviewed: SETITEMS onto one is refused."""
    from statsmodels.tsa.statespace.initialization import Initialization  # type: ignore[import-untyped]

    marker = tmp_path / "marker"
    data = pickle.dumps(_Reduce(_RECONSTRUCTOR, (Initialization, object, None), {"k_states": 1}), protocol=2)
    attack = data[:-1] + b"(K\x00X\x05\x00\x00\x00knownu."
    _refused_at(attack, tmp_path, "statsmodels.tsa.statespace.initialization.Initialization", "SL115")
    assert not marker.exists()


# --- Hugging Face tokenizers ------------------------------------------------------------------------------------------
_TOKENIZERS = ("transformers.tokenization_utils_tokenizers.TokenizersBackend",
               "transformers.models.bert.tokenization_bert.BertTokenizer")


@_installed("transformers", "tokenizers")
@pytest.mark.parametrize("name", _TOKENIZERS)
def test_tokenizer_given_slot_state_is_refused(tmp_path: Path, name: str) -> None:
    """Slot state is applied with setattr: PreTrainedTokenizerBase.__setattr__ converts *_id values with the
    tokenizer (here a stand-in whose method would be the payload). Only dict state is reviewed."""
    module, _, attr = name.rpartition(".")
    cls = getattr(importlib.import_module(module), attr)
    marker = tmp_path / "marker"
    fake = _Reduce(types.SimpleNamespace, (), {"convert_ids_to_tokens": _touch(marker)})
    data = pickle.dumps(_Reduce(_RECONSTRUCTOR, (cls, object, None),
                                (None, {"_tokenizer": fake, "bos_token_id": 0})), protocol=2)
    _refused_at(data, tmp_path, name, "SL115")
    assert not marker.exists()


@_installed("transformers", "tokenizers")
@pytest.mark.parametrize("name", _TOKENIZERS)
def test_tokenizer_called_by_the_file_is_refused(tmp_path: Path, name: str) -> None:
    """Constructing a tokenizer reads vocabulary files and may download: calling it stays denied."""
    module, _, attr = name.rpartition(".")
    cls = getattr(importlib.import_module(module), attr)
    marker = tmp_path / "marker"
    data = pickle.dumps(_Reduce(cls, (str(marker),)), protocol=2)
    path = tmp_path / "attack.pkl"
    path.write_bytes(data)
    result = safeload.scan(path)
    assert any(f.subject == name for f in result.blocking()), result.summary()
    with pytest.raises(safeload.UnsafeModelError):
        safeload.pickle_loads(data)
    assert not marker.exists()


def test_build_dict_only_entries_are_flagged_for_non_dict_state() -> None:
    for name in (*_TOKENIZERS, "statsmodels.base.data.ModelData"):
        assert REVIEWED[name].build_dict_only


# --- scipy ------------------------------------------------------------------------------------------------------------
@_installed("scipy")
def test_entropy_called_by_the_file_with_its_own_self_is_refused(tmp_path: Path) -> None:
    """The bound method is reviewed for numpy.vectorize calling it on shape parameters; the file calling the
    function with a self of its own (whose _pmf/_ppf would be the payload) is not that use."""
    marker = tmp_path / "marker"
    fake = _Reduce(types.SimpleNamespace, (), {"pk": None, "_get_support": _touch(marker)})
    args = pickle.dumps((fake, 3.0), protocol=2)[2:-1]  # the argument tuple, without PROTO and STOP
    # GLOBAL by the name the engine gives the bound method (pickling the function itself names rv_discrete's)
    data = b"\x80\x02cscipy.stats._discrete_distns\npoisson_gen._entropy\n" + args + b"R."
    _refused_at(data, tmp_path, "scipy.stats._discrete_distns.poisson_gen._entropy", "SL115")
    assert not marker.exists()


# --- torch pieces the source analysis now follows (towards nn.Module subclasses from source) -------------------------
@_installed("torch")
def test_torch_reviews_match_the_installed_torch() -> None:
    """PLAIN_CHECK_METACLASSES, KNOWN_METACLASSES, the TensorBase entry and STAR_EXPORTS_NO_BUILTINS are claims
    about compiled torch objects: check them against the installed torch (tests may import; scans never do)."""
    import builtins

    import torch

    from safeload.catalog import source_tables as tables

    meta = type(torch.Tensor)
    assert f"{meta.__module__}.{meta.__qualname__}" == "torch._C._TensorMeta"
    assert set(vars(meta)) <= {"__init__", "__doc__", "__module__"}
    assert "torch._C._TensorMeta" in tables.PLAIN_CHECK_METACLASSES
    assert "__subclasshook__" not in vars(torch._C.TensorBase)
    public = {n for n in dir(torch._C) if not n.startswith("_")} if not hasattr(torch._C, "__all__") else set(
        torch._C.__all__)
    assert not public & set(vars(builtins))
    assert "abc.ABCMeta" not in tables.PLAIN_CHECK_METACLASSES  # its check runs __subclasshook__


def test_a_module_getattr_does_not_serve_the_module_s_own_globals(site: Path) -> None:
    """LOAD_GLOBAL looks in the module's globals, then builtins: a module __getattr__ never runs for them. It
    still serves attribute lookups from outside (``import m; m.name``)."""
    a = _analyse(site, """
        def __getattr__(name):
            open(MARKER, "w").close()

        class Plain:
            def __setstate__(self, state):
                if isinstance(state, dict):
                    self.__dict__.update(state)
    """, "Plain", Use.BUILD)
    build = a.verdict(Use.BUILD)
    assert build is not None
    assert build.inert, build.reason
    (site / "atk" / "n.py").write_text(textwrap.dedent("""
        import atk.m

        class Outside:
            def __setstate__(self, state):
                atk.m.served_by_getattr(state)
    """))
    outside = sa.analyse("atk.n", "Outside", Use.BUILD, catalog=catalogue_view,
                         search_path=[str(site), sysconfig.get_paths()["stdlib"]])
    sa.clear_cache()
    verdict = outside.verdict(Use.BUILD)
    assert verdict is not None
    assert not verdict.inert


def test_super_instancecheck_through_abcmeta_is_still_analysed(site: Path) -> None:
    """Only reviewed compiled metaclasses count as type's check: ABCMeta's runs __subclasshook__."""
    a = _analyse(site, """
        import abc

        class Meta(abc.ABCMeta):
            def __instancecheck__(cls, instance):
                return super().__instancecheck__(instance)

        class Hooked(metaclass=Meta):
            @classmethod
            def __subclasshook__(cls, other):
                open(MARKER, "w").close()
                return NotImplemented

        class User:
            def __setstate__(self, state):
                if isinstance(state, Hooked):
                    pass
    """, "User", Use.BUILD)
    build = a.verdict(Use.BUILD)
    assert build is not None
    assert not build.inert


# --- what an import review covers ------------------------------------------------------------------------------------
_LOADED = """
import importlib, json, pkgutil, sys
before = set(sys.modules)
import nltk
loaded = set(sys.modules) - before
out = {}
for pkg in PACKAGES:
    mod = importlib.import_module(pkg)
    names = {pkg} | {m.name for m in pkgutil.walk_packages(mod.__path__, pkg + ".", onerror=lambda n: None)}
    out[pkg] = sorted(names - loaded)
print(json.dumps(out))
"""


@_installed("nltk", "regex", "defusedxml")
def test_import_not_covered_lists_every_module_import_nltk_does_not_load() -> None:
    """The nltk review read what ``import nltk`` loads (nltk, regex, defusedxml modules); every other module of
    those packages must be outside the vouch, so a new nltk version's extra modules are judged by the analysis."""
    import json
    import subprocess

    from safeload.catalog.reviewed import IMPORT_NOT_COVERED, import_not_covered

    packages = ["nltk", "regex", "defusedxml"]
    code = _LOADED.replace("PACKAGES", repr(packages))
    run = subprocess.run([sys.executable, "-W", "ignore", "-c", code], capture_output=True, text=True, check=True,
                         timeout=300)
    unread = json.loads(run.stdout.strip().splitlines()[-1])
    for package in packages:
        assert set(IMPORT_NOT_COVERED[package]) <= set(unread[package]) | {
            m for m in IMPORT_NOT_COVERED[package] if any(u.startswith(m + ".") for u in unread[package])}
        missing = [m for m in unread[package] if not import_not_covered(m)]
        assert not missing, f"{package}: modules the review did not read are vouched: {missing}"
    assert not import_not_covered("nltk.probability") and not import_not_covered("nltk")


@_installed("nltk")
def test_a_module_outside_the_nltk_review_is_analysed_not_vouched(tmp_path: Path) -> None:
    """nltk.book prints and reads corpora when imported: the vouch does not cover it, so naming it is refused."""
    assert catalogue_view("nltk.book", Use.IMPORT) is None
    assert catalogue_view("nltk.app.wordnet_app", Use.IMPORT) is None
    marker = tmp_path / "marker"
    data = b"cnltk.book\ntexts\n)R."
    _refused_at(data, tmp_path, "nltk.book.texts", "SL104")
    assert not marker.exists()


@_installed("statsmodels", "pandas")
def test_model_data_refused_key_computed_at_load_is_refused(tmp_path: Path) -> None:
    """The refused state key spelled as a call result (builtins.str('restore_model_spec')) is the same key at
    load time: a dict state whose keys are not all literal strings is refused for ModelData."""
    import pandas as pd
    from statsmodels.base.data import ModelData

    marker = tmp_path / "marker"
    state = {_Reduce(str, ("restore_model_spec",)): True,
             "formula": f"y ~ I(__import__('pathlib').Path({str(marker)!r}).touch() or x)",
             "frame": pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [1.0, 2.0, 3.5]})}
    data = pickle.dumps(_Reduce(_RECONSTRUCTOR, (ModelData, object, None), state), protocol=2)
    _refused_at(data, tmp_path, "statsmodels.base.data.ModelData", "SL115")
    assert not marker.exists()
    _load_nested(data)
    assert marker.exists()  # live under the real loader
