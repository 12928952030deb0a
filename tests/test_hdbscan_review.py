"""hdbscan 0.8.44 under review: a fitted ``HDBSCAN`` saved with joblib loads through ``safeload.joblib_load``.

What it took, and what each piece must still refuse (every attack carries a marker payload and asserts that it did
not run; the live twins show the same bytes run it under plain ``pickle.load``):

- ``joblib.memory.Memory`` (the estimator's ``memory`` parameter): ``deny.DENY_NARROWED`` lets exactly the NEW, BUILD
  and instance-called uses of this one name through the denial of ``joblib.memory``; the reviewed entry admits the
  state only as ``Memory(None)`` wrote it (the ``joblib_memory_state`` contract). A Memory called by the file, one
  with a location or a store backend, a state key that shadows a method, a value that is not plain data, the
  ``joblib.Memory`` alias and the module's other names stay refused;
- hdbscan_'s import-time ``Memory(None, verbose=0)`` (a default argument): ``IMPORT_TIME_CONSTANT_CALLS`` admits that
  call with those constants only; a location, a computed argument or a splat at import is refused;
- the compiled ``hdbscan.dist_metrics`` and four other Cython modules: binary-hash reviews of their imports, and
  entries for the distance metrics and ``newObj`` (modelled as ``obj.__new__(obj)``); ``PyFuncDistance`` (it calls a
  function from its state) is not admitted.
"""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path
from typing import Any

import pytest

import safeload
from safeload.catalog.source_tables import IMPORT_TIME_CONSTANT_CALLS
from tests.test_fp_families import _Reduce
from tests.test_redteam_round2 import LibCase, _live, _refused

hdbscan = pytest.importorskip("hdbscan")
joblib = pytest.importorskip("joblib")

from joblib.memory import Memory  # noqa: E402


def _touch(marker: Path) -> _Reduce:
    """Calling this at load creates the marker."""
    return _Reduce(exec, (f"open({str(marker)!r}, 'w').close()",))


def _memory(state: Any) -> bytes:
    """A Memory as joblib.dump writes one: NEWOBJ, then BUILD with ``state`` (pickled in line)."""
    inner = pickle.dumps(state, protocol=2)
    assert inner.startswith(b"\x80\x02") and inner.endswith(b".")
    return b"\x80\x02cjoblib.memory\nMemory\n)\x81" + inner[2:-1] + b"b."


def _plain_state() -> dict[str, Any]:
    return dict(Memory(None, verbose=0).__getstate__())


def _refused_bytes(data: bytes, tmp_path: Path) -> safeload.ScanResult:
    path = tmp_path / "attack.pkl"
    path.write_bytes(data)
    result = safeload.scan(path)
    assert not result.is_safe(), result.summary()
    with pytest.raises(safeload.UnsafeModelError):
        safeload.pickle_loads(data)
    with pytest.raises(safeload.UnsafeModelError):
        safeload.joblib_load(path)
    return result


# --- the real file ------------------------------------------------------------------------------------------------
def test_a_fitted_hdbscan_loads_and_predicts_like_the_original(tmp_path: Path) -> None:
    import numpy as np

    rng = np.random.default_rng(0)
    data = np.concatenate([rng.normal(0, 0.3, (40, 2)), rng.normal(4, 0.3, (40, 2))])
    model = hdbscan.HDBSCAN(min_cluster_size=5, prediction_data=True).fit(data)
    path = tmp_path / "hdbscan.joblib"
    joblib.dump(model, path)
    result = safeload.scan(path)
    assert result.is_safe(), result.summary()
    loaded = safeload.joblib_load(path)
    assert (loaded.labels_ == model.labels_).all()
    labels, _strengths = hdbscan.approximate_predict(loaded, data[:5])
    expected, _ = hdbscan.approximate_predict(model, data[:5])
    assert (labels == expected).all()
    assert loaded.memory.store_backend is None


def test_a_plain_memory_state_is_admitted() -> None:
    data = pickle.dumps(Memory(None, verbose=0), protocol=4)
    assert safeload.scan(data).is_safe()
    assert safeload.pickle_loads(data).store_backend is None


# --- joblib.memory.Memory: what stays refused ---------------------------------------------------------------------
def test_memory_called_by_the_file_is_refused_and_makes_no_directory(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    data = pickle.dumps(_Reduce(Memory, (str(cache),)), protocol=2)
    pickle.loads(data)  # live twin: the call creates the cache directory
    assert cache.exists()
    shutil.rmtree(cache)
    _refused_bytes(data, tmp_path)
    assert not cache.exists()


@pytest.mark.parametrize("key", ["location", "store_backend"])
def test_memory_state_with_a_location_or_backend_is_refused(tmp_path: Path, key: str) -> None:
    state = _plain_state()
    state[key] = str(tmp_path / "cache")
    result = _refused_bytes(_memory(state), tmp_path)
    assert any(f.rule_id == "SL115" and "not None" in f.message for f in result.blocking()), result.summary()


def test_a_real_store_backend_in_the_state_is_refused(tmp_path: Path) -> None:
    data = pickle.dumps(Memory(str(tmp_path / "cache"), verbose=0), protocol=4)
    _refused_bytes(data, tmp_path)


def test_a_state_key_shadowing_cache_is_refused_and_not_run(tmp_path: Path) -> None:
    """``memory.cache(f)`` is what an estimator calls on its Memory: a state entry ``cache`` would replace it."""
    marker = tmp_path / "marker"
    state = _plain_state()
    state["cache"] = _Reduce(getattr, (_touch(marker), "__class__"))
    data = _memory(state)
    result = _refused_bytes(data, tmp_path)
    assert not marker.exists()
    assert any("cache" in f.message for f in result.blocking()), result.summary()
    pickle.loads(data)  # live twin
    assert marker.exists()


def test_an_unknown_state_key_is_refused_by_the_contract(tmp_path: Path) -> None:
    state = _plain_state()
    state["eval"] = "plain text"
    result = _refused_bytes(_memory(state), tmp_path)
    assert [f.rule_id for f in result.blocking()] == ["SL115"], result.summary()


def test_a_payload_as_a_state_value_is_refused_and_not_run(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    state = _plain_state()
    state["backend_options"] = {"x": _touch(marker)}
    data = _memory(state)
    _refused_bytes(data, tmp_path)
    assert not marker.exists()
    pickle.loads(data)
    assert marker.exists()


@pytest.mark.parametrize("state", [[("depth", 3)], ("x", {"depth": 3})], ids=["list", "slots-pair"])
def test_a_state_that_is_not_a_plain_dict_is_refused(tmp_path: Path, state: Any) -> None:
    _refused_bytes(_memory(state), tmp_path)


@pytest.mark.parametrize("name", ["Memory", "MemorizedFunc", "NotMemorizedFunc", "register_store_backend"])
def test_the_module_alias_and_other_names_stay_denied(tmp_path: Path, name: str) -> None:
    module = "joblib" if name == "Memory" else "joblib.memory"
    data = b"\x80\x02c" + f"{module}\n{name}\n".encode() + b")\x81}b."
    _refused_bytes(data, tmp_path)


def test_an_attribute_path_through_memory_stays_denied(tmp_path: Path) -> None:
    data = b"\x80\x04\x8c\rjoblib.memory\x94\x8c\x0cMemory.cache\x94\x93\x94."
    _refused_bytes(data, tmp_path)


# --- the import-time constant call --------------------------------------------------------------------------------
_IMPORT_CALLS = {
    "reviewed-constants": ("from joblib import Memory\ndef fit(memory=Memory(None, verbose=0)):\n    return memory\n",
                           False),
    "location": ("from joblib import Memory\n_M = Memory(MARKER_DIR, verbose=0)\n", True),
    "computed-argument": ("import os\nfrom joblib import Memory\n_M = Memory(os.environ.get('X'), verbose=0)\n", True),
    "splat": ("from joblib import Memory\n_A = (None,)\n_M = Memory(*_A)\n", True),
    "unlisted-keyword": ("from joblib import Memory\n_M = Memory(None, backend='local')\n", True),
}


def _import_case(label: str) -> LibCase:
    body, _ = _IMPORT_CALLS[label]
    body = body.replace("MARKER_DIR", "MARKER")
    return LibCase({"hdbatk/__init__.py": "", "hdbatk/mod.py": body + "\nclass X:\n    pass\n"},
                   lambda: b"\x80\x02chdbatk.mod\nX\n)\x81}b.")


@pytest.mark.parametrize("label", sorted(label for label, (_, bad) in _IMPORT_CALLS.items() if bad))
def test_import_time_memory_calls_outside_the_review_are_refused(tmp_path: Path, label: str) -> None:
    _refused(tmp_path, _import_case(label))


@pytest.mark.slow
def test_an_import_time_memory_location_creates_the_directory_under_plain_pickle(tmp_path: Path) -> None:
    _live(tmp_path, _import_case("location"))


def test_the_reviewed_constant_call_is_admitted(tmp_path: Path) -> None:
    from safeload.catalog.uses import Use
    from tests.longtail_helpers import analysed

    body, _ = _IMPORT_CALLS["reviewed-constants"]
    result = analysed(tmp_path / "site-packages", {"hdbatk/__init__.py": "", "hdbatk/mod.py": body + "\nclass X:\n    pass\n"},
                      "hdbatk.mod", "X", Use.NEW | Use.BUILD, installed=True)
    assert result.import_effects.inert, result.import_effects.reason
    assert set(IMPORT_TIME_CONSTANT_CALLS) == {"joblib.memory.Memory", "joblib.Memory"}


# --- dist_metrics -------------------------------------------------------------------------------------------------
def test_a_metric_state_holding_a_payload_is_refused_and_not_run(tmp_path: Path) -> None:
    from hdbscan import dist_metrics

    marker = tmp_path / "marker"
    metric = dist_metrics.EuclideanDistance()
    _, args, state = metric.__reduce__()
    data = pickle.dumps(_Reduce(dist_metrics.newObj, args, (_touch(marker), state[1], state[2])), protocol=2)
    _refused_bytes(data, tmp_path)
    assert not marker.exists()


def test_pyfunc_distance_is_not_admitted(tmp_path: Path) -> None:
    from hdbscan import dist_metrics

    metric = dist_metrics.DistanceMetric.get_metric(len)
    _refused_bytes(pickle.dumps(metric, protocol=2), tmp_path)


def test_newobj_of_another_class_is_ranked_as_that_class(tmp_path: Path) -> None:
    """``newObj(cls)`` is ``cls.__new__(cls)``: given a class the catalogue does not admit for NEW, refused."""
    data = b"\x80\x02chdbscan.dist_metrics\nnewObj\ncsubprocess\nPopen\n\x85R."
    result = _refused_bytes(data, tmp_path)
    assert any(f.subject.startswith("subprocess") for f in result.blocking()), result.summary()


@pytest.mark.parametrize("data", [
    b"\x80\x02chdbscan.dist_metrics\nnewObj\nchdbscan.dist_metrics\nPyFuncDistance\n\x85R.",
    b"\x80\x04\x8c\x14hdbscan.dist_metrics\x8c\x19DistanceMetric.get_metric\x93cbuiltins\nlen\n\x85R.",
    b"\x80\x02chdbscan.dist_metrics\nMETRIC_MAPPING\n.",
], ids=["newobj-pyfunc", "get-metric-of-a-callable", "metric-mapping"])
def test_other_dist_metrics_names_and_paths_are_refused(tmp_path: Path, data: bytes) -> None:
    _refused_bytes(data, tmp_path)


def test_an_edited_dist_metrics_binary_is_not_the_reviewed_one(tmp_path: Path) -> None:
    """The compiled review is bound to the bytes read: a copy with one byte appended is not reviewed."""
    from safeload.catalog import source_tables as tables
    from safeload.catalog.source_imports import _compiled_import_reviewed
    from safeload.catalog.source_model import Resolver

    origin = Path(hdbscan.__file__).parent / "dist_metrics.cpython-311-x86_64-linux-gnu.so"
    if not origin.exists():
        pytest.skip("another build of hdbscan")
    resolver = Resolver([str(tmp_path)])
    assert _compiled_import_reviewed("hdbscan.dist_metrics", str(origin), resolver)
    copy = tmp_path / origin.name
    copy.write_bytes(origin.read_bytes() + b"\0")
    assert not _compiled_import_reviewed("hdbscan.dist_metrics", str(copy), resolver)
    assert all(review.startswith("hdbscan 0.8.44 ") for review in tables.REVIEWED_COMPILED_IMPORTS[
        "hdbscan.dist_metrics"].values())
