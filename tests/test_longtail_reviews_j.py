"""Attacks on the long-tail reviews of issue 14, round 8 (fp-longtail-j): what freed optuna's study and sampler.

What changed, and what each test checks is still refused:

- ``source_tables.COMPILED_BASE_DICTS`` (``threading.local`` / ``_thread._local``): the C type's own dictionary
  is read (``__new__``, ``__getattribute__``, ``__setattr__``, ``__delattr__``, ``__doc__``, ``__module__``; checked
  against the interpreter), so a lookup of any other name goes on past it in the MRO, and its ``__new__`` is
  reviewed C code that runs the ``__init__`` found past it with the same arguments (in every other thread that
  reads the object). optuna's ``Study.__setstate__`` builds a ``threading.local`` subclass with no ``__init__``.
  A subclass (or a mixin after ``threading.local``) whose ``__init__`` has an effect, a ``__setstate__`` building
  such a subclass, and BUILD of a local subclass (``_local.__setattr__``/``__getattribute__`` stay unmodelled) are
  refused.
- ``optuna.samplers._tpe.parzen_estimator._ParzenEstimator`` (``reviewed.py``, INVOKE only, hash-bound to the two
  files read): a file calling it (its weights function is called) is refused, a weights callable the file places
  in the sampler's parameters is ranked by the engine (a denied one is refused), and the entry no longer applies
  to other file text.
- optuna's ``RDBStorage`` (its ``__setstate__`` creates a database engine and its tables) in a study's state stays
  refused.

Every attack payload touches a marker file: it runs under ``pickle.load`` (the ``*_is_live`` twin) and safeload
refuses it with the marker absent.
"""

from __future__ import annotations

import _thread
import copyreg
import pickle
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import safeload
from safeload.catalog.decide import catalogue_view, reviewed_files_hold
from safeload.catalog.entries import lookup
from safeload.catalog.source_tables import COMPILED_BASE_DICTS
from safeload.catalog.uses import Use
from tests.attacks import C, G, assemble
from tests.longtail_helpers import analysed, installed_version, refused
from tests.test_redteam_round2 import LibCase, _g, _live, _refused

needs_optuna = pytest.mark.skipif(installed_version("optuna") is None, reason="optuna not installed")
PARZEN = "optuna.samplers._tpe.parzen_estimator"


@pytest.fixture
def site(tmp_path: Path) -> Path:
    return tmp_path / "lib" / "python3.11" / "site-packages"


# --- threading.local: the C type's dictionary -------------------------------------------------------------------
def test_the_reviewed_local_type_dict_is_the_interpreters() -> None:
    assert threading.local is _thread._local
    assert _thread._local.__mro__ == (_thread._local, object)
    for name in ("threading.local", "_thread._local"):
        defines, reviewed, _note = COMPILED_BASE_DICTS[name]
        assert defines == frozenset(vars(_thread._local)), name
        assert reviewed <= defines


def test_object_new_of_a_local_subclass_raises() -> None:
    """Why ALLOC of a local subclass is inert: ``object.__new__`` (also through ``copyreg._reconstructor``)
    refuses, and ``_local.__new__`` refuses arguments when ``__init__`` is object's."""
    class L(threading.local):
        pass

    with pytest.raises(TypeError):
        object.__new__(L)
    with pytest.raises(TypeError):
        copyreg._reconstructor(L, object, None)  # type: ignore[attr-defined]
    with pytest.raises(TypeError):
        L(1)  # type: ignore[call-arg]


PLAIN_LOCAL = "import threading\nclass L(threading.local):\n    flag: bool = False\n"


@pytest.mark.parametrize("use", [Use.CALL, Use.NEW, Use.ALLOC])
def test_a_plain_local_subclass_is_inert_to_create(site: Path, use: Use) -> None:
    a = analysed(site, {"atk/__init__.py": "", "atk/m.py": PLAIN_LOCAL}, "atk.m", "L", use)
    found = a.verdict(use)
    assert found is not None and found.inert, found


@pytest.mark.parametrize("use", [Use.BUILD, Use.MUTATE])
def test_local_subclass_state_stays_unmodelled(site: Path, use: Use) -> None:
    a = analysed(site, {"atk/__init__.py": "", "atk/m.py": PLAIN_LOCAL}, "atk.m", "L", use)
    found = a.verdict(use)
    assert found is not None and not found.inert


_EVIL_INIT = """
import threading
class L(threading.local):
    def __init__(self, *args):
        open(MARKER, "w").close()
"""
_EVIL_MIXIN = """
import threading
class Evil:
    def __init__(self, *args):
        open(MARKER, "w").close()
class L(threading.local, Evil):
    pass
"""
_EVIL_STATE = """
import threading
class _Local(threading.local):
    def __init__(self):
        open(MARKER, "w").close()
class Holder:
    def __setstate__(self, state):
        self.__dict__.update(state)
        self._local = _Local()
"""


@pytest.mark.parametrize("source", [_EVIL_INIT, _EVIL_MIXIN], ids=["own-init", "mixin-init"])
@pytest.mark.parametrize("use", [Use.CALL, Use.NEW])
def test_a_local_subclass_init_is_analysed(site: Path, source: str, use: Use) -> None:
    """_local.__new__ keeps NEWOBJ's arguments for the __init__ it runs in other threads: NEW counts it too."""
    a = analysed(site, {"atk/__init__.py": "", "atk/m.py": source}, "atk.m", "L", use)
    found = a.verdict(use)
    assert found is not None and not found.inert
    assert "__init__" in found.reason


LOCAL_CASES = {
    "local-init-called": LibCase({"atk/__init__.py": "", "atk/m.py": _EVIL_INIT},
                                 lambda: b"\x80\x02" + _g("atk.m", "L") + b")R."),
    "local-mixin-init-called": LibCase({"atk/__init__.py": "", "atk/m.py": _EVIL_MIXIN},
                                       lambda: b"\x80\x02" + _g("atk.m", "L") + b")R."),
    "local-built-by-setstate": LibCase({"atk/__init__.py": "", "atk/m.py": _EVIL_STATE},
                                       lambda: b"\x80\x02" + _g("atk.m", "Holder") + b")\x81}U\x01aK\x01sb."),
}


@pytest.mark.parametrize("label", sorted(LOCAL_CASES))
def test_local_attack_is_live(tmp_path: Path, label: str) -> None:
    _live(tmp_path, LOCAL_CASES[label])


@pytest.mark.parametrize("label", sorted(LOCAL_CASES))
def test_local_attack_is_refused(tmp_path: Path, label: str) -> None:
    _refused(tmp_path, LOCAL_CASES[label])


# --- optuna: the Parzen estimator entry -------------------------------------------------------------------------
@needs_optuna
def test_parzen_estimator_entry_is_invoke_only_and_bound_to_the_files_read() -> None:
    entry = lookup(f"{PARZEN}._ParzenEstimator")
    assert entry is not None and entry.uses == Use.INVOKE
    assert {module for module, _ in entry.source_files} == {PARZEN, "optuna.samplers._tpe.probability_distributions"}
    assert reviewed_files_hold(entry.source_files), "optuna's parzen_estimator.py is not the text reviewed"
    assert catalogue_view(f"{PARZEN}._ParzenEstimator", Use.INVOKE) is True
    assert catalogue_view(f"{PARZEN}._ParzenEstimator", Use.CALL) is not True
    other = tuple((module, "0" * 64) for module, _ in entry.source_files)
    assert not reviewed_files_hold(other)


def _touch(marker: Path) -> C:
    """A bound ``Path(marker).touch``: called with the kernel count (mode) it creates the marker."""
    return C(G("builtins", "getattr"), (C(G("pathlib", "Path"), (str(marker),)), "touch"))


def _params(weights: object) -> C:
    return C(G(PARZEN, "_ParzenEstimatorParameters"), (1.0, True, True, weights, False))


def _parzen_called(marker: Path) -> bytes:
    """The file calls _ParzenEstimator({}, {}, parameters): it calls parameters.weights(0)."""
    return assemble(C(G(PARZEN, "_ParzenEstimator"), ({}, {}, _params(_touch(marker)))))


def _live_in_subprocess(data: bytes, tmp_path: Path, marker: Path) -> None:
    path = tmp_path / "payload.pkl"
    path.write_bytes(data)
    code = "import pickle, sys\ntry:\n    pickle.load(open(sys.argv[1], 'rb'))\nexcept Exception as e:\n    print(e)\n"
    done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=300,
                          check=False, cwd=tmp_path)
    assert marker.exists(), f"payload did not run under pickle.load: {done.stdout[-1000:]}{done.stderr[-2000:]}"


@needs_optuna
def test_calling_the_parzen_estimator_is_live(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    _live_in_subprocess(_parzen_called(marker), tmp_path, marker)


@needs_optuna
def test_calling_the_parzen_estimator_is_refused(tmp_path: Path) -> None:
    """The entry is INVOKE only: a file calling the class (with a weights function of its choice) is refused."""
    refused(_parzen_called(tmp_path / "marker"), tmp_path / "marker")


@needs_optuna
def test_a_denied_weights_function_beside_the_class_is_refused(tmp_path: Path) -> None:
    """The class held where code may call it, with parameters whose weights function is the file's: the engine
    ranks that callable itself (here a bound Path.touch: refused)."""
    marker = tmp_path / "marker"
    data = assemble({"_parzen_estimator_cls": G(PARZEN, "_ParzenEstimator"),
                     "_parzen_estimator_parameters": _params(_touch(marker))})
    refused(data, marker)
    data = assemble({"_parzen_estimator_cls": G(PARZEN, "_ParzenEstimator"),
                     "_parzen_estimator_parameters": _params(G("builtins", "exec"))})
    refused(data, marker)


# --- optuna: a study whose storage opens a database --------------------------------------------------------------
def _study_with_rdb(marker: Path) -> bytes:
    storage = C(G("copyreg", "_reconstructor"), (G("optuna.storages._rdb.storage", "RDBStorage"),
                                                 G("builtins", "object"), None),
                {"url": f"sqlite:///{marker}", "engine_kwargs": {}, "skip_compatibility_check": True,
                 "skip_table_creation": True, "heartbeat_interval": None, "grace_period": None,
                 "failed_trial_callback": None})
    return assemble(C(G("copyreg", "_reconstructor"), (G("optuna.study.study", "Study"), G("builtins", "object"),
                                                        None),
                      {"study_name": "x", "_study_id": 0, "_storage": storage, "_directions": []}))


@needs_optuna
def test_a_study_with_a_database_storage_is_live(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    _live_in_subprocess(_study_with_rdb(marker), tmp_path, marker)


@needs_optuna
def test_a_study_with_a_database_storage_is_refused(tmp_path: Path) -> None:
    refused(_study_with_rdb(tmp_path / "marker"), tmp_path / "marker")


@needs_optuna
def test_an_ordinary_study_and_sampler_load(tmp_path: Path) -> None:
    """The corpus files this round frees, built here: scanned safe and loaded by the safe loader."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=0))
    study.optimize(lambda t: (t.suggest_float("x", -2, 2) - 1.0) ** 2, n_trials=3)
    for obj in (study, study.sampler):
        data = pickle.dumps(obj)
        result = safeload.scan(data)
        assert result.is_safe(), [(f.rule_id, f.subject, f.message[:300]) for f in result.findings
                                  if f.severity >= safeload.Severity.MEDIUM]
        safeload.pickle_loads(data)
