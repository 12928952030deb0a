"""Zero false positives on real scikit-learn models (THREATS section 3): scan clean, load equal, predict equal.

Also the test data joblib ships in ``joblib/test/data``: every file the real ``joblib.load`` can load here
must scan clean and load identically through ``safeload.joblib_load``.
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.calibration import CalibratedClassifierCV
from sklearn.cluster import KMeans
from sklearn.compose import ColumnTransformer
from sklearn.datasets import make_classification
from sklearn.decomposition import PCA, TruncatedSVD
from sklearn.ensemble import (
    GradientBoostingClassifier,
    HistGradientBoostingClassifier,
    IsolationForest,
    RandomForestClassifier,
)
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.naive_bayes import MultinomialNB
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import FeatureUnion, Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, MinMaxScaler, OneHotEncoder, StandardScaler
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier

import safeload
from safeload import Severity
from safeload.loaders.joblib import joblib_load

X, Y = make_classification(150, 6, random_state=0)
TEXTS = ["the cat sat", "the dog ran", "a cat ran", "dogs and cats"] * 8
TY = [0, 1, 0, 1] * 8


def _frame() -> Any:
    pd = pytest.importorskip("pandas")
    return pd.DataFrame({"num": np.arange(150.0), "cat": pd.Categorical(["a", "b", "c"] * 50)})


def _models() -> dict[str, Any]:
    return {
        "logistic": lambda: (LogisticRegression().fit(X, Y), X),
        "scaler_svc": lambda: (make_pipeline(StandardScaler(), SVC(random_state=0)).fit(X, Y), X),
        "tfidf_nb": lambda: (make_pipeline(TfidfVectorizer(), MultinomialNB()).fit(TEXTS, TY), TEXTS),
        "random_forest": lambda: (RandomForestClassifier(15, random_state=0).fit(X, Y), X),
        "gradient_boosting": lambda: (GradientBoostingClassifier(n_estimators=10, random_state=0).fit(X, Y), X),
        "hist_gradient_boosting": lambda: (HistGradientBoostingClassifier(max_iter=10).fit(X, Y), X),
        "isolation_forest": lambda: (IsolationForest(n_estimators=10, random_state=0).fit(X), X),
        "kmeans": lambda: (KMeans(3, n_init=2, random_state=0).fit(X), X),
        "knn_kdtree": lambda: (KNeighborsClassifier(algorithm="kd_tree").fit(X, Y), X),
        "knn_balltree": lambda: (KNeighborsClassifier(algorithm="ball_tree").fit(X, Y), X),
        "function_transformer": lambda: (make_pipeline(FunctionTransformer(np.log1p), LogisticRegression())
                                         .fit(np.abs(X), Y), np.abs(X)),
        "feature_union": lambda: (make_pipeline(FeatureUnion([("pca", PCA(2)), ("mm", MinMaxScaler())]),
                                                LogisticRegression()).fit(X, Y), X),
        "grid_search": lambda: (GridSearchCV(LogisticRegression(), {"C": [0.1, 1.0]}, cv=2).fit(X, Y), X),
        "calibrated": lambda: (CalibratedClassifierCV(DecisionTreeClassifier(random_state=0), cv=2)
                               .fit(X, Y), X),
        "mlp": lambda: (MLPClassifier((5,), max_iter=300, random_state=0).fit(X, Y), X),
        "svd_sparse": lambda: (TruncatedSVD(2, random_state=0).fit(sp.csr_matrix(X)), sp.csr_matrix(X)),
        "column_transformer": lambda: (
            Pipeline([("ct", ColumnTransformer([("num", StandardScaler(), ["num"]),
                                                ("cat", OneHotEncoder(handle_unknown="ignore"), ["cat"])])),
                      ("lr", LogisticRegression())]).fit(_frame(), Y), _frame()),
    }


def _predict(model: Any, data: Any) -> Any:
    for method in ("predict_proba", "predict", "transform", "score_samples"):
        if hasattr(model, method):
            return getattr(model, method)(data)
    raise AssertionError(f"no prediction method on {model!r}")


def _assert_clean(path: Path) -> None:
    result = safeload.scan(path)
    noisy = [f for f in result.findings if f.severity > Severity.INFO]
    assert not noisy, noisy


@pytest.mark.parametrize("name", sorted(_models()))
@pytest.mark.parametrize("compress", [0, 3])
def test_sklearn_model_round_trip(tmp_path: Path, name: str, compress: int) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence warnings from tiny fits are not under test
        model, data = _models()[name]()
    path = tmp_path / f"{name}.joblib"
    joblib.dump(model, path, compress=compress)
    _assert_clean(path)
    loaded = joblib_load(path)
    assert type(loaded) is type(model)
    expected = _predict(model, data)
    got = _predict(loaded, data)
    np.testing.assert_array_equal(np.asarray(expected), np.asarray(got))
    if not compress:
        mapped = joblib_load(path, mmap_mode="r")
        np.testing.assert_array_equal(np.asarray(expected), np.asarray(_predict(mapped, data)))


def test_scipy_pandas_numpy_random_state(tmp_path: Path) -> None:
    pd = pytest.importorskip("pandas")
    obj = {
        "sparse": [sp.csr_matrix(X), sp.csc_array(X), sp.coo_matrix(X), sp.lil_matrix(X[:5]), sp.dok_matrix(X[:5]),
                   sp.bsr_matrix(X), sp.dia_matrix(np.eye(3))],
        "random": [np.random.default_rng(0), np.random.RandomState(1), np.random.Generator(np.random.Philox(2)),
                   np.random.SFC64(3), np.random.MT19937(4), np.random.SeedSequence(5)],
        "pandas": [pd.DataFrame({"a": [1.0, 2.0], "s": ["x", "y"]}), pd.Series([1, 2], index=["a", "b"]),
                   pd.Categorical(["x", "y"]), pd.MultiIndex.from_tuples([(1, "a"), (2, "b")]),
                   pd.Timestamp("2020-01-01"), pd.Timedelta("1D"), pd.Period("2020-01"), pd.Interval(0, 1),
                   pd.array([1, None], dtype="Int64"), pd.Series(pd.date_range("2020", periods=3, tz="UTC"))],
    }
    for compress in (0, 3):
        path = tmp_path / f"misc{compress}.joblib"
        joblib.dump(obj, path, compress=compress)
        _assert_clean(path)
        loaded = joblib_load(path)
        assert loaded["random"][0].random() == np.random.default_rng(0).random()
        assert (loaded["sparse"][0] != obj["sparse"][0]).nnz == 0
        assert loaded["pandas"][0].equals(obj["pandas"][0])


# --- joblib's own test data ---------------------------------------------------------------------------------
DATA_DIR = Path(os.path.dirname(joblib.__file__)) / "test" / "data"


def _joblib_data_files() -> list[str]:
    if not DATA_DIR.is_dir():
        return []
    return sorted(p.name for p in DATA_DIR.iterdir() if p.is_file() and not p.name.endswith((".py", ".pyc")))


def _exclusion(name: str) -> str | None:
    """Why a shipped file is not loaded by joblib_load here (it is still scanned, where that applies)."""
    if re.search(r"_py27_", name):
        return "written by Python 2: joblib.load itself refuses it under Python 3"
    if name.endswith(".npy"):
        return "a joblib < 0.10 companion .npy: numpy.load reads it (tested in test_numpy_scan.py)"
    if name.endswith(".npy.z"):
        return "raw array bytes of a ZNDArrayWrapper: only loadable through its main file (which is tested)"
    return None


@pytest.mark.parametrize("name", _joblib_data_files())
def test_joblib_shipped_test_data(name: str) -> None:
    path = DATA_DIR / name
    reason = _exclusion(name)
    if reason is None or "Python 2" in reason:
        _assert_clean(path)  # py2 files scan clean too; only loading them fails, in joblib
    if reason is not None:
        pytest.skip(reason)
    for mmap_mode in (None, "r"):
        with warnings.catch_warnings(record=True):
            warnings.simplefilter("always")
            expected = joblib.load(path, mmap_mode=mmap_mode)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            got = joblib_load(path, mmap_mode=mmap_mode)
        assert all(issubclass(w.category, DeprecationWarning | UserWarning) for w in caught)
        assert len(got) == len(expected)
        for a, b in zip(expected, got, strict=True):
            if isinstance(a, np.ndarray):
                assert type(a) is type(b)
                assert a.dtype == b.dtype
                np.testing.assert_array_equal(a, b)
            else:
                assert a == b


@pytest.mark.parametrize("library", ["lightgbm", "xgboost"])
def test_gradient_boosting_library_wrappers(tmp_path: Path, library: str) -> None:
    lib = pytest.importorskip(library)
    if library == "lightgbm":
        model = lib.LGBMClassifier(n_estimators=5, verbose=-1).fit(X, Y)
    else:
        model = lib.XGBClassifier(n_estimators=5).fit(X, Y)
    for compress in (0, 3):
        path = tmp_path / f"{library}{compress}.joblib"
        joblib.dump(model, path, compress=compress)
        _assert_clean(path)
        np.testing.assert_array_equal(model.predict_proba(X), joblib_load(path).predict_proba(X))
