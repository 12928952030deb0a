"""Classical ML libraries: scikit-learn, scipy.sparse, pandas, xgboost, lightgbm, catboost, joblib wrappers."""

from __future__ import annotations

from safeload.catalog._types import PrefixRule

EXACT: frozenset[str] = frozenset(
    """
    joblib.numpy_pickle.NumpyArrayWrapper joblib.numpy_pickle_compat.NDArrayWrapper
    joblib.numpy_pickle_compat.ZNDArrayWrapper joblib.numpy_pickle.ZNDArrayWrapper
    joblib.numpy_pickle.NDArrayWrapper joblib._store_backends.FileSystemStoreBackend
    scipy.sparse._csr.csr_matrix scipy.sparse._csc.csc_matrix scipy.sparse._coo.coo_matrix
    scipy.sparse._lil.lil_matrix scipy.sparse._dok.dok_matrix scipy.sparse._bsr.bsr_matrix
    scipy.sparse._dia.dia_matrix scipy.sparse._csr.csr_array scipy.sparse._csc.csc_array
    scipy.sparse._coo.coo_array scipy.sparse.csr.csr_matrix scipy.sparse.csc.csc_matrix
    scipy.sparse.coo.coo_matrix
    pandas.core.frame.DataFrame pandas.core.series.Series pandas.core.indexes.base.Index
    pandas.core.indexes.range.RangeIndex pandas.core.indexes.base._new_Index pandas.core.internals.managers.BlockManager
    pandas.core.internals.managers.SingleBlockManager pandas.core.internals.blocks.new_block
    pandas._libs.internals._unpickle_block pandas.core.indexes.multi.MultiIndex pandas._libs.tslibs.timestamps.Timestamp
    pandas._libs.tslibs.timestamps._unpickle_timestamp pandas.core.arrays.categorical.Categorical
    pandas.core.dtypes.dtypes.CategoricalDtype pandas._libs.internals.BlockPlacement
    pandas.core.indexes.datetimes.DatetimeIndex pandas.core.indexes.datetimes._new_DatetimeIndex
    pandas.core.indexes.interval._new_IntervalIndex pandas.core.indexes.period._new_PeriodIndex
    sklearn.cluster._birch._CFNode sklearn.cluster._birch._CFSubcluster
    sklearn.cluster._bisect_k_means._BisectingTree
    sklearn.gaussian_process._gpc._BinaryGaussianProcessClassifierLaplace scipy.interpolate._bsplines.BSpline
    xgboost.core.Booster xgboost.sklearn.XGBClassifier xgboost.sklearn.XGBRegressor xgboost.sklearn.XGBRanker
    lightgbm.basic.Booster lightgbm.sklearn.LGBMClassifier lightgbm.sklearn.LGBMRegressor lightgbm.sklearn.LGBMRanker
    catboost.core.CatBoostClassifier catboost.core.CatBoostRegressor catboost.core.CatBoost
    """.split()
) | frozenset(
    # scikit-learn's private helper classes that fitted estimators hold (a leading underscore defeats
    # the class-name prefix rule), and the Cython ``newObj(cls)`` helpers that rebuild its binary trees
    # and distance metrics (``cls`` is ranked on its own by the engine).
    """
    sklearn.ensemble._hist_gradient_boosting.binning._BinMapper
    sklearn.metrics._scorer._PassthroughScorer sklearn.metrics._scorer._Scorer
    sklearn.metrics._scorer._PredictScorer sklearn.metrics._scorer._ProbaScorer
    sklearn.metrics._scorer._ThresholdScorer sklearn.metrics._scorer._MultimetricScorer
    sklearn.metrics._scorer._CurveScorer
    sklearn.calibration._CalibratedClassifier sklearn.calibration._SigmoidCalibration
    sklearn.neighbors._kd_tree.newObj sklearn.neighbors._ball_tree.newObj sklearn.metrics._dist_metrics.newObj
    sklearn.neighbors._binary_tree.newObj
    sklearn.preprocessing._function_transformer._identity
    """.split()
) | frozenset(
    # pandas objects models commonly carry (feature frames, categorical encoders, date features).
    """
    pandas.DataFrame pandas.Series pandas.Index pandas.RangeIndex pandas.MultiIndex pandas.Categorical
    pandas.CategoricalIndex pandas.DatetimeIndex pandas.TimedeltaIndex pandas.PeriodIndex pandas.IntervalIndex
    pandas.CategoricalDtype pandas.DatetimeTZDtype pandas.PeriodDtype pandas.IntervalDtype pandas.StringDtype
    pandas.Int64Dtype pandas.Int32Dtype pandas.Float64Dtype pandas.BooleanDtype
    pandas.Timestamp pandas.Timedelta pandas.Period pandas.Interval
    pandas._libs.arrays.__pyx_unpickle_NDArrayBacked pandas._libs.tslibs.timedeltas._timedelta_unpickle
    pandas._libs.tslibs.nattype.__nat_unpickle pandas._libs.tslibs.period.Period
    pandas._libs.tslibs.timestamps.Timestamp pandas._libs.tslibs.timedeltas.Timedelta
    pandas._libs.interval.Interval pandas._libs.properties.CachedProperty
    """.split()
)

PREFIXES: tuple[PrefixRule, ...] = (
    PrefixRule(
        "sklearn.",
        exclude=("sklearn.datasets.", "sklearn.utils._testing", "sklearn.utils.estimator_checks",
                 "sklearn.externals.", "sklearn.experimental.", "sklearn.utils._show_versions"),
    ),
    PrefixRule("scipy.sparse."),
    PrefixRule("scipy.stats._distn_infrastructure."),
    PrefixRule("pandas.core.", exclude=("pandas.core.computation.",)),
    PrefixRule("pandas.arrays."),
    PrefixRule("pandas._libs.tslibs.offsets."),
    PrefixRule("pandas._libs.tslibs.dtypes."),
    PrefixRule("xgboost.sklearn."),
    PrefixRule("lightgbm.sklearn."),
    PrefixRule("catboost.core."),
)

# sklearn's tree structure is rebuilt from a NEWOBJ on the Cython class; its methods are all inert.
CLASS_EXTRAS: frozenset[str] = frozenset({"sklearn.tree._tree.Tree", "sklearn.neighbors._kd_tree.KDTree",
                                          "sklearn.neighbors._ball_tree.BallTree"})
