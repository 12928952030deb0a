"""The long tail: models and objects from libraries outside issue 14's table, saved the way their docs say
(``joblib.dump`` for scikit-learn-style estimators, ``pickle`` otherwise, the library's own pickle-based ``dump``
where it has one). Small data, fixed seeds, nothing downloaded."""

from __future__ import annotations

import pickle
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from tests.corpus.cases import LONG_TAIL, Artifact, attrs_equal, calls_equal, group

RNG = np.random.RandomState(0)
X = RNG.rand(60, 4)
Y = (X[:, 0] + 0.3 * X[:, 1] > 0.6).astype(int)
Y_REG = X @ np.array([1.0, -2.0, 0.5, 0.0])
SERIES = np.cumsum(RNG.normal(size=60)) + 20.0


def _frame() -> Any:
    import pandas as pd

    return pd.DataFrame({"num": X[:, 0], "cat": np.array(["a", "b", "c"])[RNG.randint(0, 3, 60)],
                         "cat2": np.array(["x", "y"])[Y]})


def _save(directory: Path, label: str, obj: Any, how: str, check: Any = None) -> Artifact:
    path = directory / label
    if how == "joblib":
        import joblib

        joblib.dump(obj, path)
    else:
        path.write_bytes(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))
    return Artifact(path, how, check=check)


def _predict(method: str = "predict", data: Any = None) -> Callable[[Any, Any], None]:
    probe = X[:5] if data is None else data
    return calls_equal(lambda m: getattr(m, method)(probe))


def _all(directory: Path, how: str, objects: dict[str, tuple[Any, Any]]) -> dict[str, Artifact]:
    return {label: _save(directory, label, obj, how, check) for label, (obj, check) in objects.items()}


@group("category_encoders", family=LONG_TAIL, library="category_encoders",
       labels=("target.joblib", "onehot.joblib", "binary.joblib", "woe.joblib", "ordinal.joblib"))
def build_category_encoders(directory: Path) -> dict[str, Artifact]:
    import category_encoders as ce

    frame = _frame()[["cat", "cat2"]]
    fitted = {"target.joblib": ce.TargetEncoder(), "onehot.joblib": ce.OneHotEncoder(),
              "binary.joblib": ce.BinaryEncoder(), "woe.joblib": ce.WOEEncoder(), "ordinal.joblib": ce.OrdinalEncoder()}
    return _all(directory, "joblib", {k: (v.fit(frame, Y), _predict("transform", frame.head()))
                                      for k, v in fitted.items()})


@group("imbalanced-learn", family=LONG_TAIL, library="imblearn",
       labels=("smote-pipeline.joblib", "balanced-rf.joblib", "undersampler.joblib"))
def build_imblearn(directory: Path) -> dict[str, Artifact]:
    from imblearn.ensemble import BalancedRandomForestClassifier
    from imblearn.over_sampling import SMOTE
    from imblearn.pipeline import make_pipeline
    from imblearn.under_sampling import RandomUnderSampler
    from sklearn.linear_model import LogisticRegression

    return _all(directory, "joblib", {
        "smote-pipeline.joblib": (make_pipeline(SMOTE(random_state=0), LogisticRegression()).fit(X, Y), _predict()),
        "balanced-rf.joblib": (BalancedRandomForestClassifier(n_estimators=5, random_state=0).fit(X, Y), _predict()),
        "undersampler.joblib": (RandomUnderSampler(random_state=0).fit(X, Y), attrs_equal("sampling_strategy_")),
    })


@group("umap-learn", family=LONG_TAIL, library="umap", labels=("umap.pkl",), slow=True)
def build_umap(directory: Path) -> dict[str, Artifact]:
    import umap

    model = umap.UMAP(n_neighbors=5, n_components=2, n_epochs=20, random_state=0).fit(X)
    return {"umap.pkl": _save(directory, "umap.pkl", model, "pickle", attrs_equal("embedding_"))}


@group("hdbscan", family=LONG_TAIL, library="hdbscan", labels=("hdbscan.joblib",))
def build_hdbscan(directory: Path) -> dict[str, Artifact]:
    import hdbscan

    model = hdbscan.HDBSCAN(min_cluster_size=5, prediction_data=True).fit(X)
    return {"hdbscan.joblib": _save(directory, "hdbscan.joblib", model, "joblib", attrs_equal("labels_"))}


@group("optuna", family=LONG_TAIL, library="optuna",
       labels=("study.pkl", "frozen-trial.pkl", "tpe-sampler.pkl", "best-params.pkl"))
def build_optuna(directory: Path) -> dict[str, Artifact]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=0), study_name="corpus")
    study.optimize(_objective, n_trials=4)
    return _all(directory, "pickle", {
        "study.pkl": (study, calls_equal(lambda s: s.best_params)),  # optuna's FAQ: pickle or joblib the study
        "frozen-trial.pkl": (study.best_trial, None),
        "tpe-sampler.pkl": (study.sampler, attrs_equal("_n_startup_trials")),
        "best-params.pkl": (study.best_params, None),
    })


def _objective(trial: Any) -> float:
    x = trial.suggest_float("x", -2, 2)
    return (x - 1.0) ** 2


@group("pyod", family=LONG_TAIL, library="pyod",
       labels=("iforest.joblib", "lof.joblib", "knn.joblib", "ecod.joblib", "copod.joblib"))
def build_pyod(directory: Path) -> dict[str, Artifact]:
    from pyod.models.copod import COPOD
    from pyod.models.ecod import ECOD
    from pyod.models.iforest import IForest
    from pyod.models.knn import KNN
    from pyod.models.lof import LOF

    models = {"iforest.joblib": IForest(n_estimators=10, random_state=0), "lof.joblib": LOF(n_neighbors=5),
              "knn.joblib": KNN(n_neighbors=5), "ecod.joblib": ECOD(), "copod.joblib": COPOD()}
    return _all(directory, "joblib", {k: (m.fit(X), attrs_equal("decision_scores_")) for k, m in models.items()})


@group("river", family=LONG_TAIL, library="river",
       labels=("logreg-pipeline.pkl", "hoeffding-tree.pkl", "kmeans.pkl", "stats.pkl"))
def build_river(directory: Path) -> dict[str, Artifact]:
    from river import cluster, linear_model, preprocessing, stats, tree

    rows = [({f"x{j}": float(v) for j, v in enumerate(x)}, bool(y)) for x, y in zip(X, Y, strict=True)]
    pipe = preprocessing.StandardScaler() | linear_model.LogisticRegression()
    ht = tree.HoeffdingTreeClassifier()
    km = cluster.KMeans(n_clusters=2, seed=0)
    mean = stats.Mean()
    for x, y in rows:
        pipe.learn_one(x, y)
        ht.learn_one(x, y)
        km.learn_one(x)
        mean.update(x["x0"])
    probe = rows[0][0]
    return _all(directory, "pickle", {
        "logreg-pipeline.pkl": (pipe, calls_equal(lambda m: m.predict_proba_one(probe))),
        "hoeffding-tree.pkl": (ht, calls_equal(lambda m: m.predict_one(probe))),
        "kmeans.pkl": (km, calls_equal(lambda m: m.predict_one(probe))),
        "stats.pkl": (mean, calls_equal(lambda m: m.get())),
    })


@group("scikit-optimize", family=LONG_TAIL, library="skopt", labels=("gp-result.pkl", "optimizer.pkl"))
def build_skopt(directory: Path) -> dict[str, Artifact]:
    import skopt

    res = skopt.gp_minimize(_skopt_objective, [(-2.0, 2.0)], n_calls=5, n_initial_points=3, random_state=0)
    path = directory / "gp-result.pkl"
    skopt.dump(res, path, store_objective=False)  # skopt's documented way (joblib underneath)
    opt = skopt.Optimizer([(-2.0, 2.0)], random_state=0)
    opt.tell([[0.5]], [0.25])
    return {"gp-result.pkl": Artifact(path, "joblib", check=attrs_equal("x", "fun", "x_iters")),
            "optimizer.pkl": _save(directory, "optimizer.pkl", opt, "joblib", attrs_equal("Xi", "yi"))}


def _skopt_objective(x: list[float]) -> float:
    return (x[0] - 1.0) ** 2


@group("xgboost", family=LONG_TAIL, library="xgboost",
       labels=("xgb-classifier.pkl", "xgb-regressor.joblib", "booster.pkl"))
def build_xgboost(directory: Path) -> dict[str, Artifact]:
    import xgboost as xgb

    clf = xgb.XGBClassifier(n_estimators=3, max_depth=2, n_jobs=1).fit(X, Y)
    reg = xgb.XGBRegressor(n_estimators=3, max_depth=2, n_jobs=1).fit(X, Y_REG)
    booster = xgb.train({"max_depth": 2, "nthread": 1}, xgb.DMatrix(X, label=Y_REG), num_boost_round=2)
    return {"xgb-classifier.pkl": _save(directory, "xgb-classifier.pkl", clf, "pickle", _predict("predict_proba")),
            "xgb-regressor.joblib": _save(directory, "xgb-regressor.joblib", reg, "joblib", _predict()),
            "booster.pkl": _save(directory, "booster.pkl", booster, "pickle",
                                 calls_equal(lambda b: b.predict(xgb.DMatrix(X[:5]))))}


@group("catboost", family=LONG_TAIL, library="catboost", labels=("catboost-classifier.pkl", "catboost-regressor.joblib"))
def build_catboost(directory: Path) -> dict[str, Artifact]:
    from catboost import CatBoostClassifier, CatBoostRegressor

    kw = {"iterations": 3, "depth": 2, "verbose": False, "thread_count": 1, "allow_writing_files": False}
    return {"catboost-classifier.pkl": _save(directory, "catboost-classifier.pkl",
                                             CatBoostClassifier(**kw).fit(X, Y), "pickle", _predict("predict_proba")),
            "catboost-regressor.joblib": _save(directory, "catboost-regressor.joblib",
                                               CatBoostRegressor(**kw).fit(X, Y_REG), "joblib", _predict())}


@group("lightgbm", family=LONG_TAIL, library="lightgbm", labels=("lgbm-classifier.joblib", "booster.pkl"))
def build_lightgbm(directory: Path) -> dict[str, Artifact]:
    import lightgbm as lgb

    clf = lgb.LGBMClassifier(n_estimators=3, num_leaves=4, min_child_samples=5, verbose=-1, n_jobs=1).fit(X, Y)
    booster = lgb.train({"num_leaves": 4, "verbose": -1, "min_data_in_leaf": 5, "num_threads": 1},
                        lgb.Dataset(X, Y_REG), num_boost_round=2)
    return {"lgbm-classifier.joblib": _save(directory, "lgbm-classifier.joblib", clf, "joblib", _predict()),
            "booster.pkl": _save(directory, "booster.pkl", booster, "pickle", _predict())}


@group("polars", family=LONG_TAIL, library="polars", labels=("dataframe.pkl", "series.pkl", "lazyframe.pkl"))
def build_polars(directory: Path) -> dict[str, Artifact]:
    import polars as pl

    frame = pl.DataFrame({"i": [1, 2, 3], "s": ["a", None, "c"], "t": [1.5, 2.5, None],
                          "c": pl.Series(["x", "y", "x"], dtype=pl.Categorical)})
    return _all(directory, "pickle", {
        "dataframe.pkl": (frame, calls_equal(lambda f: f.to_dicts())),
        "series.pkl": (frame["s"], calls_equal(lambda s: s.to_list())),
        "lazyframe.pkl": (frame.lazy().filter(pl.col("i") > 1), calls_equal(lambda f: f.collect().to_dicts())),
    })


@group("shapely", family=LONG_TAIL, library="shapely", labels=("point.pkl", "polygon.pkl", "multi.pkl",
                                                                "strtree.pkl"))
def build_shapely(directory: Path) -> dict[str, Artifact]:
    from shapely import STRtree
    from shapely.geometry import MultiLineString, Point, Polygon

    poly = Polygon([(0, 0), (1, 0), (1, 1), (0, 1)])
    wkt = calls_equal(lambda g: g.wkt)
    return _all(directory, "pickle", {
        "point.pkl": (Point(1.5, 2.5), wkt), "polygon.pkl": (poly, wkt),
        "multi.pkl": (MultiLineString([[(0, 0), (1, 1)], [(2, 2), (3, 3)]]), wkt),
        "strtree.pkl": (STRtree([poly, Point(5, 5)]), calls_equal(lambda t: t.query(Point(0.5, 0.5)).tolist())),
    })


@group("pmdarima", family=LONG_TAIL, library="pmdarima", labels=("arima.pkl", "pipeline.joblib"))
def build_pmdarima(directory: Path) -> dict[str, Artifact]:
    from pmdarima import ARIMA
    from pmdarima.pipeline import Pipeline
    from pmdarima.preprocessing import BoxCoxEndogTransformer

    arima = ARIMA(order=(1, 0, 0), suppress_warnings=True).fit(SERIES)
    pipe = Pipeline([("boxcox", BoxCoxEndogTransformer()),
                     ("arima", ARIMA(order=(1, 0, 0), suppress_warnings=True))]).fit(SERIES)
    forecast = calls_equal(lambda m: m.predict(n_periods=3))
    return {"arima.pkl": _save(directory, "arima.pkl", arima, "pickle", forecast),
            "pipeline.joblib": _save(directory, "pipeline.joblib", pipe, "joblib", forecast)}


@group("hyperopt", family=LONG_TAIL, library="hyperopt", labels=("trials.pkl",))
def build_hyperopt(directory: Path) -> dict[str, Artifact]:
    from hyperopt import STATUS_OK, Trials, fmin, hp, tpe

    trials = Trials()
    fmin(lambda x: {"loss": (x - 1.0) ** 2, "status": STATUS_OK}, hp.uniform("x", -2, 2), algo=tpe.suggest,
         max_evals=4, trials=trials, rstate=np.random.default_rng(0), show_progressbar=False)
    return {"trials.pkl": _save(directory, "trials.pkl", trials, "pickle", calls_equal(lambda t: t.losses()))}


@group("mlxtend", family=LONG_TAIL, library="mlxtend",
       labels=("stacking.joblib", "transaction-encoder.pkl", "frequent-itemsets.pkl"))
def build_mlxtend(directory: Path) -> dict[str, Artifact]:
    import pandas as pd
    from mlxtend.classifier import StackingClassifier
    from mlxtend.frequent_patterns import apriori
    from mlxtend.preprocessing import TransactionEncoder
    from sklearn.linear_model import LogisticRegression
    from sklearn.tree import DecisionTreeClassifier

    stack = StackingClassifier([DecisionTreeClassifier(max_depth=2), LogisticRegression()],
                               meta_classifier=LogisticRegression()).fit(X, Y)
    baskets = [["milk", "bread"], ["bread", "eggs"], ["milk", "bread", "eggs"], ["milk"]]
    enc = TransactionEncoder().fit(baskets)
    items = apriori(pd.DataFrame(enc.transform(baskets), columns=enc.columns_), min_support=0.5, use_colnames=True)
    return {"stacking.joblib": _save(directory, "stacking.joblib", stack, "joblib", _predict()),
            "transaction-encoder.pkl": _save(directory, "transaction-encoder.pkl", enc, "pickle",
                                             attrs_equal("columns_")),
            "frequent-itemsets.pkl": _save(directory, "frequent-itemsets.pkl", items, "pickle",
                                           calls_equal(lambda f: f.to_dict()))}


@group("feature-engine", family=LONG_TAIL, library="feature_engine",
       labels=("imputer.joblib", "rare-label.joblib", "onehot.joblib", "pipeline.joblib"))
def build_feature_engine(directory: Path) -> dict[str, Artifact]:
    from feature_engine.encoding import OneHotEncoder, RareLabelEncoder
    from feature_engine.imputation import MeanMedianImputer
    from sklearn.pipeline import Pipeline

    frame = _frame()
    frame.loc[3, "num"] = np.nan
    probe = frame.head()
    fitted = {
        "imputer.joblib": MeanMedianImputer(variables=["num"]).fit(frame),
        "rare-label.joblib": RareLabelEncoder(tol=0.2, n_categories=2, variables=["cat"]).fit(frame),
        "onehot.joblib": OneHotEncoder(variables=["cat", "cat2"]).fit(frame),
        "pipeline.joblib": Pipeline([("impute", MeanMedianImputer(variables=["num"])),
                                     ("ohe", OneHotEncoder(variables=["cat"]))]).fit(frame),
    }

    def transformed(model: Any) -> Any:
        with warnings.catch_warnings():  # feature-engine 1.9 calls DataFrame.drop(inplace=True): Pandas4Warning
            warnings.simplefilter("ignore")
            return model.transform(probe).to_dict()

    return _all(directory, "joblib", {k: (v, calls_equal(transformed)) for k, v in fitted.items()})


@group("kmodes", family=LONG_TAIL, library="kmodes", labels=("kmodes.joblib", "kprototypes.joblib"))
def build_kmodes(directory: Path) -> dict[str, Artifact]:
    from kmodes.kmodes import KModes
    from kmodes.kprototypes import KPrototypes

    cats = np.array(["a", "b", "c"])[RNG.randint(0, 3, (30, 2))]
    mixed = np.column_stack([X[:30, 0], cats[:, 0]]).astype(object)
    mixed[:, 0] = mixed[:, 0].astype(float)
    return _all(directory, "joblib", {
        "kmodes.joblib": (KModes(n_clusters=2, n_init=1, random_state=0).fit(cats), attrs_equal("labels_")),
        "kprototypes.joblib": (KPrototypes(n_clusters=2, n_init=1, random_state=0).fit(mixed, categorical=[1]),
                               attrs_equal("labels_")),
    })


@group("hmmlearn", family=LONG_TAIL, library="hmmlearn", labels=("gaussian-hmm.pkl", "categorical-hmm.pkl"))
def build_hmmlearn(directory: Path) -> dict[str, Artifact]:
    from hmmlearn import hmm

    gauss = hmm.GaussianHMM(n_components=2, n_iter=5, random_state=0).fit(SERIES.reshape(-1, 1))
    cat = hmm.CategoricalHMM(n_components=2, n_iter=5, random_state=0).fit(Y.reshape(-1, 1))
    return _all(directory, "pickle", {
        "gaussian-hmm.pkl": (gauss, calls_equal(lambda m: m.predict(SERIES[:10].reshape(-1, 1)))),
        "categorical-hmm.pkl": (cat, calls_equal(lambda m: m.predict(Y[:10].reshape(-1, 1)))),
    })


@group("xarray", family=LONG_TAIL, library="xarray", labels=("dataarray.pkl", "dataset.pkl"))
def build_xarray(directory: Path) -> dict[str, Artifact]:
    import pandas as pd
    import xarray as xr

    da = xr.DataArray(X[:5, :2], dims=("time", "feature"),
                      coords={"time": pd.date_range("2020", periods=5), "feature": ["a", "b"]}, attrs={"units": "m"})
    ds = xr.Dataset({"v": da, "w": ("time", np.arange(5))})
    return _all(directory, "pickle", {"dataarray.pkl": (da, calls_equal(lambda d: d.to_dict())),
                                      "dataset.pkl": (ds, calls_equal(lambda d: d.to_dict()))})


@group("pint", family=LONG_TAIL, library="pint", labels=("quantity.pkl", "quantity-array.pkl"))
def build_pint(directory: Path) -> dict[str, Artifact]:
    import pint

    ureg = pint.get_application_registry()  # pint pickles quantities against the application registry
    text = calls_equal(str)
    return _all(directory, "pickle", {"quantity.pkl": (ureg.Quantity(3.5, "meter / second"), text),
                                      "quantity-array.pkl": (ureg.Quantity(np.arange(3.0), "kg"), text)})


@group("scikit-survival", family=LONG_TAIL, library="sksurv", labels=("coxph.joblib", "rsf.joblib"))
def build_sksurv(directory: Path) -> dict[str, Artifact]:
    from sksurv.ensemble import RandomSurvivalForest
    from sksurv.linear_model import CoxPHSurvivalAnalysis
    from sksurv.util import Surv

    y = Surv.from_arrays(event=Y.astype(bool), time=1.0 + 10 * X[:, 3])
    return _all(directory, "joblib", {
        "coxph.joblib": (CoxPHSurvivalAnalysis(alpha=0.1).fit(X, y), _predict()),
        "rsf.joblib": (RandomSurvivalForest(n_estimators=3, max_depth=2, random_state=0).fit(X, y), _predict()),
    })


@group("tslearn", family=LONG_TAIL, library="tslearn", labels=("ts-kmeans.pkl", "scaler.pkl"), slow=True)
def build_tslearn(directory: Path) -> dict[str, Artifact]:
    from tslearn.clustering import TimeSeriesKMeans
    from tslearn.preprocessing import TimeSeriesScalerMeanVariance

    series = SERIES[:48].reshape(6, 8, 1)
    return _all(directory, "pickle", {
        "ts-kmeans.pkl": (TimeSeriesKMeans(n_clusters=2, max_iter=3, random_state=0).fit(series),
                          attrs_equal("labels_")),
        "scaler.pkl": (TimeSeriesScalerMeanVariance().fit(series), calls_equal(lambda s: s.transform(series))),
    })


@group("ruptures", family=LONG_TAIL, library="ruptures", labels=("pelt.pkl", "binseg.pkl"))
def build_ruptures(directory: Path) -> dict[str, Artifact]:
    import ruptures as rpt

    signal = np.concatenate([np.zeros(20), np.ones(20) * 5]) + RNG.normal(0, 0.1, 40)
    return _all(directory, "pickle", {
        "pelt.pkl": (rpt.Pelt(model="rbf").fit(signal), calls_equal(lambda m: m.predict(pen=3))),
        "binseg.pkl": (rpt.Binseg(model="l2").fit(signal), calls_equal(lambda m: m.predict(n_bkps=1))),
    })


@group("igraph", family=LONG_TAIL, library="igraph", labels=("graph.pkl",))
def build_igraph(directory: Path) -> dict[str, Artifact]:
    import igraph as ig

    g = ig.Graph.Famous("Zachary")
    g.vs["name"] = [f"v{i}" for i in range(g.vcount())]
    g.es["weight"] = [1.0] * g.ecount()
    return {"graph.pkl": _save(directory, "graph.pkl", g, "pickle",
                               calls_equal(lambda h: (h.get_edgelist(), h.vs["name"])))}


@group("networkx", family=LONG_TAIL, library="networkx",
       labels=("graph.pkl", "digraph.pkl", "multigraph.pkl", "karate.gpickle"))
def build_networkx(directory: Path) -> dict[str, Artifact]:
    import networkx as nx

    g = nx.karate_club_graph()
    dg = nx.DiGraph([(1, 2, {"weight": 0.5}), (2, 3, {"weight": 1.5})])
    mg = nx.MultiGraph([("a", "b"), ("a", "b"), ("b", "c")])
    edges = calls_equal(lambda h: sorted(h.edges(data=True), key=repr))
    return _all(directory, "pickle", {"graph.pkl": (nx.path_graph(4), edges), "digraph.pkl": (dg, edges),
                                      "multigraph.pkl": (mg, edges), "karate.gpickle": (g, edges)})


@group("sympy", family=LONG_TAIL, library="sympy", labels=("expression.pkl", "matrix.pkl", "equation.pkl"))
def build_sympy(directory: Path) -> dict[str, Artifact]:
    import sympy as sp

    x, y = sp.symbols("x y")
    expr = sp.sin(x) ** 2 + sp.Rational(1, 3) * sp.exp(y) - sp.sqrt(x * y)
    return _all(directory, "pickle", {
        "expression.pkl": (expr, calls_equal(sp.srepr)),
        "matrix.pkl": (sp.Matrix([[x, 1], [0, y]]), calls_equal(sp.srepr)),
        "equation.pkl": (sp.Eq(x + y, 3), calls_equal(sp.srepr)),
    })
