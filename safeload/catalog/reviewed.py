"""Hand-reviewed allowlist entries: each group says which uses a load may make of its names, and why.

These take precedence over the generated shards. The vocabulary is ``catalog.uses.Use``; ``IMPORT`` and ``REF``
are implied. A group's note is its review: what running the name with arguments the file chooses does.

Use sets, named once:
- ``DATA``: a data type: calling it, allocating it, giving it state, mutating, hashing and passing its instances
  only build values (its methods touch nothing outside the object).
- ``VALUE``: an immutable value type (scalars, dtypes, devices): called or hashed, no BUILD/MUTATE.
- ``PURE``: a function whose call computes a value from its arguments and touches nothing else (its result is a
  library value: it may be passed on and hashed).
- ``ALLOC_ONLY``: may be allocated by a rebuild helper and given state, never called (see the deny entry of
  the same name for what calling it does).
"""

from __future__ import annotations

from collections.abc import Mapping

from safeload.catalog.entries import Entry, parse_uses
from safeload.catalog.uses import Use

__all__ = ["REVIEWED"]

# CALL_INSTANCE in these: the instances (for a function, its results) are not callable, so code that calls one
# (an attribute set by BUILD shadowing a method) fails instead of running anything. tests/test_catalog_reviewed.py
# checks every class given these uses has no __call__; a callable class gets its own uses.
DATA = "CALL NEW ALLOC INVOKE BUILD MUTATE HASH PASSED CALL_INSTANCE"
VALUE = "CALL NEW ALLOC INVOKE BUILD HASH PASSED CALL_INSTANCE"
PURE = "CALL INVOKE PASSED HASH"  # a pure function's result may be one of its arguments (numpy.max of objects)
ALLOC_ONLY = "ALLOC BUILD HASH PASSED CALL_INSTANCE"

_entries: dict[str, Entry] = {}


def _group(names: str, uses: str, note: str, invokes: tuple[int | str, ...] = (),
           state_uses: tuple[tuple[str, str], ...] = ()) -> None:
    entry = Entry(parse_uses(uses), invokes, note,
                  state_uses=tuple((key, parse_uses(use)) for key, use in state_uses))
    for name in names.split():
        if name in _entries:
            raise ValueError(f"{name} is reviewed twice")
        _entries[name] = entry


# --- Python builtins and the standard library ----------------------------------------------------------------
_group("builtins.int builtins.float builtins.complex builtins.bool builtins.str builtins.bytes builtins.bytearray "
       "builtins.list builtins.dict builtins.tuple builtins.set builtins.frozenset builtins.slice builtins.range "
       "builtins.object",
       DATA, "builtin types: construction from values; protocol methods of instances passed in are PASSED uses")
_group("builtins.NotImplemented builtins.Ellipsis", "INVOKE HASH", "singletons; calling one fails")
_group("builtins.reversed builtins.enumerate builtins.zip", "CALL NEW INVOKE PASSED",
       "lazy iterators over their arguments (the arguments' own iteration methods are PASSED uses)")
_group("builtins.Exception builtins.BaseException builtins.ValueError builtins.TypeError builtins.KeyError "
       "builtins.IndexError builtins.RuntimeError builtins.AttributeError builtins.NotImplementedError "
       "builtins.AssertionError builtins.ArithmeticError builtins.ZeroDivisionError builtins.OverflowError "
       "builtins.LookupError builtins.UserWarning builtins.Warning builtins.DeprecationWarning "
       "builtins.FutureWarning builtins.StopIteration",
       DATA, "exception classes: store their arguments")
_group("collections.OrderedDict collections.Counter collections.deque collections.ChainMap collections.UserDict "
       "collections.UserList collections.UserString",
       DATA, "containers: store what they are given, call none of it")
_group("collections.defaultdict", DATA,
       "a dict whose default_factory is called on a missing key, at load (str.format_map) or later",
       invokes=(0, "default_factory"))
_group("datetime.datetime datetime.date datetime.time datetime.timedelta datetime.timezone decimal.Decimal "
       "fractions.Fraction uuid.UUID ipaddress.IPv4Address ipaddress.IPv6Address",
       VALUE, "value types rebuilt from their fields")
_group("copyreg._reconstructor copyreg.__newobj__ copyreg.__newobj_ex__ dill._dill._create_array",
       "INVOKE", "modelled by their contracts when the file calls them (catalog/contracts.py); invoked by other "
       "code they only do what their arguments (which are ranked themselves) make them do")
_group("functools.partial", DATA + " CALL_INSTANCE",
       "modelled by its contract: the partial's function (also after __setstate__) is invoked", invokes=(0,))
_group("_codecs.encode codecs.encode", PURE, "str -> bytes (how protocols 0-2 pickle bytes)")
_group("array.array", DATA, "typed array of numbers")
_group("array._array_reconstructor", PURE, "rebuilds an array from its typecode and machine bytes")
_group("argparse.Namespace types.SimpleNamespace", DATA, "attribute bags")
_group("types.MappingProxyType", "CALL NEW INVOKE PASSED", "read-only view of a mapping")
_group("pathlib.Path pathlib.PosixPath pathlib.WindowsPath pathlib.PurePath pathlib.PurePosixPath "
       "pathlib.PureWindowsPath", VALUE,
       "path values: construction joins strings and touches no file (file methods are denied by name)")
_group("re._compile re.compile sre_compile.compile", PURE, "compile a regular expression")
_group("re.Pattern typing.Any typing.Union typing.Optional typing.List typing.Dict typing.Tuple numbers.Number "
       "math.inf math.nan", "INVOKE HASH", "typing objects and constants: calling one builds a type or fails")
_group("enum.Enum enum.IntEnum enum.Flag enum.IntFlag", "CALL INVOKE HASH PASSED",
       "Enum(value) looks a member up")
_group("string.Template calendar.Calendar", DATA, "plain classes storing their arguments")
_group("builtins.hash", PURE,
       "hash(x) returns an int from type(x).__hash__ (the argument's own protocol method, ranked as its PASSED/HASH "
       "use); gensim 4.4 stores it as Word2Vec/Doc2Vec/FastText.hashfxn and calls it on seed strings")
_group("pytz._p pytz._UTC pytz.tzinfo.unpickler", PURE,
       "pytz 2026.x unpicklers of its tzinfo objects (pytz/__init__.py _p, _UTC; tzinfo.py unpickler): "
       "pytz.timezone(zone) for a name in pytz's own all_timezones_set only (anything else raises "
       "UnknownTimeZoneError; open_resource refuses '..' and separators), reading that zone's tz file from pytz's "
       "package data (or PYTZ_TZDATADIR), then picks the matching (utcoffset, dst, tzname) entry; importing pytz "
       "defines classes and lazy zone lists (filled on first use). A read of time-zone data, like zoneinfo.ZoneInfo")
_group("zoneinfo.ZoneInfo", VALUE,
       "ZoneInfo(key) reads the named IANA zone from the tz database (keys are validated: no absolute or '..' "
       "paths); a read of system time-zone data, nothing else")

# --- numpy -------------------------------------------------------------------------------------------------------
for _core in ("numpy.core", "numpy._core"):
    _group(f"{_core}.multiarray.scalar", PURE, "a numpy scalar from its dtype and raw bytes")
    _group(f"{_core}.multiarray.ndarray {_core}.multiarray.dtype", DATA, "arrays and dtypes")
    _group(f"{_core}.numeric._frombuffer", PURE, "an array over a bytes buffer")
    _group(f"{_core}.records.recarray {_core}.records.record", DATA, "record arrays")
    _group(f"{_core}.numerictypes.float64", VALUE, "a scalar type")
_group("numpy.ndarray numpy.dtype numpy.matrix numpy.matrixlib.defmatrix.matrix numpy.recarray numpy.record "
       "numpy.ma.core.MaskedArray numpy.ma.MaskedArray numpy.ma.core.MaskedConstant numpy.rec.recarray",
       DATA, "arrays: __array_finalize__/__setstate__ copy attributes and buffers")
_group("numpy.core._internal._reconstruct", "INVOKE PASSED HASH",
       "the name numpy < 1.x pickles for the array rebuild helper (modelled like _reconstruct when called)")
_group("numpy.memmap numpy._core.memmap.memmap", ALLOC_ONLY,
       "allocated by _reconstruct as an array subtype (memmap.__array_finalize__ copies attributes); calling "
       "it opens or creates a file and is denied")
_group("numpy.random._pickle.__randomstate_ctor numpy.random._pickle.__generator_ctor", PURE + " BUILD",
       "RandomState/Generator(bit_generator_ctor(name)); the ctor argument is called",
       invokes=(1, "bit_generator_ctor"))
_group("numpy.random._pickle.__bit_generator_ctor", PURE + " BUILD",
       "bit_generator() when given a class, else a lookup in numpy's own table", invokes=(0, "bit_generator"))
_group("numpy.random.__RandomState_ctor", PURE + " BUILD", "numpy < 1.17 RandomState helper")
_group("numpy.random.mtrand.RandomState numpy.random._generator.Generator numpy.random._mt19937.MT19937 "
       "numpy.random._pcg64.PCG64 numpy.random._pcg64.PCG64DXSM numpy.random._philox.Philox "
       "numpy.random._sfc64.SFC64 numpy.random.bit_generator.SeedSequence "
       "numpy.random.bit_generator.SeedlessSeedSequence",
       DATA, "random states: __setstate__ restores the generator state")
_group("numpy.random.mtrand._rand", "HASH PASSED", "the module's global RandomState, referenced")
_group("numpy.bool_ numpy.int8 numpy.int16 numpy.int32 numpy.int64 numpy.uint8 numpy.uint16 numpy.uint32 "
       "numpy.uint64 numpy.float16 numpy.float32 numpy.float64 numpy.longdouble numpy.complex64 numpy.complex128 "
       "numpy.str_ numpy.bytes_ numpy.object_ numpy.void numpy.datetime64 numpy.timedelta64 numpy.intc "
       "numpy.uintc numpy.longlong numpy.ulonglong numpy.half numpy.single numpy.double numpy.bool numpy.int_",
       VALUE, "numpy scalar types")
_group("numpy.dtypes.Float64DType numpy.dtypes.Float32DType numpy.dtypes.Int64DType numpy.dtypes.Int32DType "
       "numpy.dtypes.ObjectDType numpy.dtypes.BoolDType numpy.dtypes.StrDType numpy.dtypes.UInt8DType",
       VALUE, "dtype classes")
_group(" ".join(f"numpy.{n}" for n in (
    "log log1p log2 log10 exp expm1 exp2 sqrt cbrt square abs absolute fabs negative reciprocal sign floor ceil "
    "rint trunc round around clip sin cos tan arcsin arccos arctan sinh cosh tanh arcsinh arccosh arctanh "
    "add subtract multiply divide true_divide power maximum minimum mean median sum std var nanmean nanmedian "
    "argmax argmin amax amin max min").split()),
    PURE, "ufuncs and reductions pickled by reference (FunctionTransformer(numpy.log1p)): array math")

# --- PyTorch -----------------------------------------------------------------------------------------------------
_STORAGES = ("Storage UntypedStorage TypedStorage ByteStorage CharStorage ShortStorage IntStorage LongStorage "
             "HalfStorage FloatStorage DoubleStorage BoolStorage BFloat16Storage ComplexFloatStorage "
             "ComplexDoubleStorage QUInt8Storage QInt8Storage QInt32Storage QUInt4x2Storage QUInt2x4Storage")
_group(" ".join(f"torch.{n}" for n in _STORAGES.split()) + " torch.storage.TypedStorage torch.storage.UntypedStorage",
       VALUE,
       "storage classes: named in persistent ids; calling one allocates memory")
_group(" ".join(f"torch.{n}" for n in (
    "float32 float float64 double float16 half bfloat16 complex32 chalf complex64 cfloat complex128 cdouble "
    "uint8 int8 int16 short int32 int int64 long bool quint8 qint8 qint32 quint4x2 quint2x4 "
    "float8_e4m3fn float8_e5m2 float8_e4m3fnuz float8_e5m2fnuz float8_e8m0fnu float4_e2m1fn_x2 uint16 uint32 "
    "uint64 uint1 uint2 uint3 uint4 uint5 uint6 uint7 int1 int2 int3 int4 int5 int6 int7 bits8 bits16 bits1x8 "
    "bits2x4 bits4x2 strided sparse_coo sparse_csr sparse_csc sparse_bsr sparse_bsc _mkldnn contiguous_format "
    "channels_last channels_last_3d preserve_format per_tensor_affine per_tensor_symmetric per_channel_affine "
    "per_channel_symmetric per_channel_affine_float_qparams").split()),
    "INVOKE HASH", "dtype, layout, memory-format and qscheme objects: values (not callable)")
_group("torch.layout torch.memory_format torch.qscheme", "INVOKE HASH", "types of the objects above")
_group(" ".join(f"torch._utils.{n}" for n in (
    "_rebuild_tensor _rebuild_tensor_v2 _rebuild_tensor_v3 _rebuild_parameter _rebuild_parameter_with_state "
    "_rebuild_qtensor _rebuild_sparse_tensor _rebuild_meta_tensor_no_storage _rebuild_wrapper_subclass "
    "_rebuild_device_tensor_from_numpy _rebuild_device_tensor_from_cpu_tensor _rebuild_nested_tensor "
    "_rebuild_xla_tensor").split()),
    PURE + " BUILD", "tensor rebuilders: a tensor over a storage; hooks are stored, not called (torch's own "
    "weights_only allowlist)")
_group(" ".join(f"torch.nn.functional.{n}" for n in (
    "relu relu6 gelu silu mish tanh sigmoid hardtanh hardswish hardsigmoid elu selu celu leaky_relu prelu rrelu "
    "glu logsigmoid softplus softsign softshrink hardshrink tanhshrink threshold softmax softmin log_softmax "
    "gumbel_softmax normalize linear bilinear dropout layer_norm group_norm batch_norm instance_norm rms_norm "
    "cross_entropy nll_loss mse_loss l1_loss smooth_l1_loss huber_loss binary_cross_entropy "
    "binary_cross_entropy_with_logits kl_div cosine_similarity pad interpolate conv1d conv2d conv3d "
    "max_pool1d max_pool2d avg_pool1d avg_pool2d adaptive_avg_pool1d adaptive_avg_pool2d one_hot embedding"
).split()) + " " + " ".join(f"torch.{n}" for n in (
    "relu tanh sigmoid exp log abs sin cos sqrt rsqrt erf softmax log_softmax add mul sub div matmul mean sum "
    "clamp square neg reciprocal sign floor ceil round").split()) + " " + " ".join(
    f"torch.nn.init.{n}_" for n in ("uniform normal constant ones zeros xavier_uniform xavier_normal "
                                    "kaiming_uniform kaiming_normal trunc_normal orthogonal").split()),
    PURE, "tensor math stored as module attributes (TransformerEncoderLayer(activation=F.gelu))")
_group("torch.Size torch.device torch.Tensor torch.nn.parameter.Parameter torch.nn.parameter.Buffer "
       "torch.nn.parameter.UninitializedParameter torch.FloatTensor torch.DoubleTensor torch.HalfTensor "
       "torch.BFloat16Tensor torch.ByteTensor torch.CharTensor torch.ShortTensor torch.IntTensor "
       "torch.LongTensor torch.BoolTensor torch.return_types.max torch.return_types.min "
       "torch.autograd.grad_mode.no_grad torch.nn.modules.module._IncompatibleKeys torch.torch_version.TorchVersion "
       "torch.amp.grad_scaler.GradScaler torch.cuda.amp.grad_scaler.GradScaler "
       "torch.optim.optimizer._RequiredParameter",
       DATA, "tensor types and small torch value classes")
_group("torch._tensor._rebuild_from_type torch._tensor._rebuild_from_type_v2", "INVOKE PASSED HASH",
       "modelled by their contract when called (func(*args) is invoked; new_type is instantiated)")
_group("torch.serialization._get_layout", PURE, "looks a layout up in torch's own table")
_group("torch.optim.lr_scheduler.LambdaLR torch.optim.lr_scheduler.MultiplicativeLR", DATA + " CALL_INSTANCE",
       "LR schedulers whose constructor runs step(), which calls lr_lambda(epoch)", invokes=(1, "lr_lambda"))
_group("torch.optim.lr_scheduler.CyclicLR", DATA + " CALL_INSTANCE",
       "a scheduler whose scale_fn is called on every step", invokes=("scale_fn",))

_group("torch.nn.modules.rnn.RNNBase torch.nn.modules.rnn.RNN torch.nn.modules.rnn.LSTM torch.nn.modules.rnn.GRU",
       DATA + " CALL_INSTANCE", "recurrent layers: RNNBase.__setstate__ (torch 2.13 nn/modules/rnn.py) restores the "
       "weight names with getattr on its own attribute names and flattens parameters (cuDNN only for CUDA "
       "tensors): inert; calling an instance is forward")
_group("torch.optim.Adafactor torch.optim.Muon torch.optim.adadelta.Adadelta torch.optim.adagrad.Adagrad "
       "torch.optim.adam.Adam torch.optim.adamax.Adamax torch.optim.adamw.AdamW torch.optim.asgd.ASGD "
       "torch.optim.lbfgs.LBFGS torch.optim.nadam.NAdam torch.optim.optimizer.Optimizer torch.optim.radam.RAdam "
       "torch.optim.rmsprop.RMSprop torch.optim.rprop.Rprop torch.optim.sgd.SGD torch.optim.sparse_adam.SparseAdam",
       DATA, "optimizers: Optimizer.__setstate__ (torch 2.13 optim/optimizer.py) updates __dict__, fills missing "
       "hook dicts and defaults, and wraps the class's own step with the profiler hook once: no I/O; param "
       "groups and state are tensors and numbers (anything else in them is ranked on its own)")
_LAZY = ("batchnorm.LazyBatchNorm1d batchnorm.LazyBatchNorm2d batchnorm.LazyBatchNorm3d conv.LazyConv1d "
         "conv.LazyConv2d "
         "conv.LazyConv3d conv.LazyConvTranspose1d conv.LazyConvTranspose2d conv.LazyConvTranspose3d "
         "instancenorm.LazyInstanceNorm1d instancenorm.LazyInstanceNorm2d instancenorm.LazyInstanceNorm3d "
         "linear.LazyLinear")
_group(" ".join(f"torch.nn.modules.{c}.{m}" for c in _LAZY.split() for m in ("_infer_parameters", "_lazy_load_hook")),
       "INVOKE", "LazyModuleMixin's hooks, kept as bound methods in the module's hook dicts: infer parameter "
       "shapes from the first input / reshape a loaded state dict (torch 2.13 nn/modules/lazy.py); no I/O")

# --- classical ML --------------------------------------------------------------------------------------------------
_group("joblib.numpy_pickle.NumpyArrayWrapper joblib.numpy_pickle_compat.NDArrayWrapper "
       "joblib.numpy_pickle_compat.ZNDArrayWrapper joblib.numpy_pickle.ZNDArrayWrapper "
       "joblib.numpy_pickle.NDArrayWrapper",
       DATA, "joblib's array placeholders; their BUILD is followed by the engine's joblib hook; the array "
       "subclass in their state is only allocated (numpy._reconstruct(subclass, (0,), 'b'), joblib 1.6 "
       "numpy_pickle.py NumpyArrayWrapper.read)", state_uses=(("subclass", "ALLOC BUILD"),))
_group("joblib._store_backends.FileSystemStoreBackend", "NEW ALLOC BUILD HASH",
       "a cache backend object (Pipeline(memory=...)): rebuilt inert; its methods do file I/O only when used")
_group("scipy.sparse._csr.csr_matrix scipy.sparse._csc.csc_matrix scipy.sparse._coo.coo_matrix "
       "scipy.sparse._lil.lil_matrix scipy.sparse._dok.dok_matrix scipy.sparse._bsr.bsr_matrix "
       "scipy.sparse._dia.dia_matrix scipy.sparse._csr.csr_array scipy.sparse._csc.csc_array "
       "scipy.sparse._coo.coo_array scipy.sparse.csr.csr_matrix scipy.sparse.csc.csc_matrix "
       "scipy.sparse.coo.coo_matrix scipy.interpolate._bsplines.BSpline",
       DATA, "sparse matrices and splines: arrays of numbers")
_group("pandas.core.frame.DataFrame pandas.core.series.Series pandas.core.indexes.base.Index "
       "pandas.core.indexes.range.RangeIndex pandas.core.internals.managers.BlockManager "
       "pandas.core.internals.managers.SingleBlockManager pandas.core.indexes.multi.MultiIndex "
       "pandas._libs.tslibs.timestamps.Timestamp pandas.core.arrays.categorical.Categorical "
       "pandas.core.dtypes.dtypes.CategoricalDtype pandas._libs.internals.BlockPlacement "
       "pandas.core.indexes.datetimes.DatetimeIndex pandas.DataFrame pandas.Series pandas.Index pandas.RangeIndex "
       "pandas.MultiIndex pandas.Categorical pandas.CategoricalIndex pandas.DatetimeIndex pandas.TimedeltaIndex "
       "pandas.PeriodIndex pandas.IntervalIndex pandas.CategoricalDtype pandas.DatetimeTZDtype pandas.PeriodDtype "
       "pandas.IntervalDtype pandas.StringDtype pandas.Int64Dtype pandas.Int32Dtype pandas.Float64Dtype "
       "pandas.BooleanDtype pandas.Timestamp pandas.Timedelta pandas.Period pandas.Interval "
       "pandas._libs.tslibs.period.Period pandas._libs.tslibs.timedeltas.Timedelta pandas._libs.interval.Interval "
       "pandas._libs.properties.CachedProperty pandas._libs.arrays.NDArrayBacked",
       DATA, "pandas containers, indexes and dtypes: values and arrays")
_group("pandas.core.indexes.base._new_Index pandas.core.indexes.datetimes._new_DatetimeIndex "
       "pandas.core.indexes.interval._new_IntervalIndex pandas.core.indexes.period._new_PeriodIndex "
       "pandas.core.indexes.timedeltas._new_TimedeltaIndex",
       PURE, "cls.__new__(cls, **d) / cls._simple_new / cls.from_arrays for the index class given",
       invokes=(0,))
_group("pandas.NA pandas._libs.missing.NA", "INVOKE HASH PASSED",
       "the NA singleton (an NAType instance): calling it raises TypeError")
_group("pandas.core.internals.blocks.new_block pandas._libs.internals._unpickle_block "
       "pandas._libs.tslibs.timestamps._unpickle_timestamp pandas._libs.tslibs.timedeltas._timedelta_unpickle "
       "pandas._libs.tslibs.nattype._nat_unpickle",
       PURE, "pandas' own reconstructors: a block or scalar from values")
_group("sklearn.cluster._birch._CFNode sklearn.cluster._birch._CFSubcluster "
       "sklearn.cluster._bisect_k_means._BisectingTree "
       "sklearn.gaussian_process._gpc._BinaryGaussianProcessClassifierLaplace "
       "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper sklearn.metrics._scorer._PassthroughScorer "
       "sklearn.metrics._scorer._Scorer sklearn.metrics._scorer._MultimetricScorer "
       "sklearn.metrics._scorer._CurveScorer sklearn.calibration._CalibratedClassifier "
       "sklearn.calibration._SigmoidCalibration sklearn.tree._tree.Tree sklearn.neighbors._kd_tree.KDTree "
       "sklearn.neighbors._ball_tree.BallTree",
       DATA, "scikit-learn's private helper classes that fitted estimators hold")
_group("sklearn.neighbors._kd_tree.newObj sklearn.neighbors._ball_tree.newObj sklearn.metrics._dist_metrics.newObj",
       "INVOKE",
       "modelled by the newobj contract when called: obj.__new__(obj)")
_group("sklearn.preprocessing._function_transformer._identity", PURE, "returns its argument")
_group("sklearn.feature_selection._univariate_selection.f_classif "
       "sklearn.feature_selection._univariate_selection.f_regression "
       "sklearn.feature_selection._univariate_selection.r_regression "
       "sklearn.feature_selection._univariate_selection.chi2 "
       "sklearn.feature_selection._mutual_info.mutual_info_classif "
       "sklearn.feature_selection._mutual_info.mutual_info_regression "
       "sklearn.cluster._kmeans._kmeans_single_lloyd sklearn.cluster._kmeans._kmeans_single_elkan",
       PURE, "default score functions and k-means kernels estimators store as parameters: array statistics")
_group("scipy._lib.array_api_compat.numpy._aliases.asarray", PURE,
       "scipy's array-API shim over numpy.asarray (BSpline stores it as its namespace's asarray)")
# Cython extension types of scikit-learn that fitted estimators hold (compiled: the source analysis cannot read
# them; reviewed from the .pyx sources of scikit-learn 1.9): loss functions and distance metrics are numeric
# kernels whose __cinit__/__init__ store parameters, whose __reduce__ is (cls, (parameters,)) and whose
# __setstate__ restores arrays. PyFuncDistance stores a user function: that function is ranked on its own
# (it sits in the state, so it is INVOKEd).
_group(" ".join(f"sklearn._loss._loss.{n}" for n in (
    "CyAbsoluteError CyExponentialLoss CyHalfBinomialLoss CyHalfGammaLoss CyHalfMultinomialLoss CyHalfPoissonLoss "
    "CyHalfSquaredError CyHalfTweedieLoss CyHalfTweedieLossIdentity CyHuberLoss CyLossFunction CyPinballLoss"
).split()) + " " + " ".join(f"sklearn.linear_model._sgd_fast.{n}" for n in (
    "Classification EpsilonInsensitive Hinge ModifiedHuber Regression SquaredEpsilonInsensitive SquaredHinge"
).split()), DATA, "scikit-learn loss functions (Cython): parameters only")
_group(" ".join(f"sklearn.metrics._dist_metrics.{kind}Distance{bits}" for bits in ("32", "64") for kind in (
    "BrayCurtis Canberra Chebyshev Dice Euclidean Hamming Haversine Jaccard Kulsinski Mahalanobis Manhattan "
    "Matching Minkowski PyFunc RogersTanimoto RussellRao SEuclidean SokalMichener SokalSneath").split())
    + " sklearn.metrics._dist_metrics.DistanceMetric sklearn.metrics._dist_metrics.DistanceMetric32"
    " sklearn.metrics._dist_metrics.DistanceMetric64",
    DATA, "scikit-learn distance metrics (Cython): __cinit__ allocates parameter arrays, __setstate__ restores them")
_group("xgboost.core.Booster xgboost.sklearn.XGBClassifier xgboost.sklearn.XGBRegressor xgboost.sklearn.XGBRanker "
       "lightgbm.basic.Booster lightgbm.sklearn.LGBMClassifier lightgbm.sklearn.LGBMRegressor "
       "lightgbm.sklearn.LGBMRanker catboost.core.CatBoostClassifier catboost.core.CatBoostRegressor "
       "catboost.core.CatBoost",
       DATA, "boosters: __setstate__ hands the model bytes to the library's own model parser")

# shapely 2.2 (geometry values): Geometry.__reduce__ is (shapely.io.from_wkb, (wkb bytes,)) and STRtree.__reduce__ is
# (STRtree, (geometries,)). Importing shapely (read): binds GEOS version constants from the compiled shapely.lib,
# a Windows-only DLL directory lookup, setup_signal_checks() (enables Ctrl-C checks in the GEOS loops with the main
# thread's id), registers the Geometry subclasses; no I/O.
_group("shapely.io.from_wkb", PURE,
       "shapely 2.2 io.py: on_invalid must be a scalar option name ('raise'/'warn'/'ignore'/'fix', a dict lookup), "
       "the argument becomes an object array, then the compiled ufunc lib.from_wkb runs GEOS's WKB reader on each "
       "bytes/str element (anything else raises TypeError): bytes in, Geometry values out. No file, import or call")
_group("shapely.strtree.STRtree", "CALL PASSED HASH CALL_INSTANCE",
       "shapely 2.2 strtree.py: __init__ copies the geometries into an object array (np.array(geoms, dtype=object); "
       "the elements' sequence protocol is their PASSED use) and builds the compiled lib.STRtree over it "
       "(src/strtree.c STRtree_new: 'Oi' arguments, each element must be a Geometry or None, inserted into a GEOS "
       "STRtree; no Python callbacks); no __call__")
# pint 0.25 quantities: PlainQuantity.__reduce__ is (pint._unpickle_quantity, (PlainQuantity, magnitude, units)).
# Importing pint (read): binds registry classes, probes installed optional packages (find_spec('dask'), guarded
# imports of babel/uncertainties/numpy/scipy), reads its distribution version, builds the lazy application
# registry (LazyRegistry.__init__ stores its parameters only), logging and regex tables; no I/O.
_group("pint._unpickle_quantity", PURE,
       "pint 0.25 __init__.py: ignores its first argument; for a UnitsContainer argument, parse_units(name) of each "
       "unit name on the application registry (first use builds the default UnitRegistry from pint's own "
       "default_en.txt/constants_en.txt package data, no cache folder; unit strings go through pint's tokenizer "
       "and its own expression evaluator, never Python eval; unknown names raise), then "
       "application_registry.Quantity(magnitude, units): the magnitude is stored (lists/tuples through "
       "np.asarray; a str would be parsed by the same unit parser) with the units container")
_group("pint.facets.plain.quantity.PlainQuantity", "INVOKE PASSED HASH",
       "pint 0.25: the class object pickled as _unpickle_quantity's first argument, which ignores it. Called "
       "(facets/plain/quantity.py __new__): binds the application registry; a str value or str units go through "
       "pint's unit parser (its tokenizer and evaluator, never Python eval); a Quantity value is copied or "
       "converted with the registry's unit arithmetic; any other magnitude is stored (lists/tuples through "
       "np.asarray; the value's own protocol methods are its PASSED uses); no __init__, __del__ or __call__")
_group("pint.util.UnitsContainer", "NEW ALLOC BUILD HASH PASSED CALL_INSTANCE",
       "pint 0.25 util.py: a read-only mapping of unit names to exponents (slots _d, _hash, _one, _non_int_type); "
       "__setstate__ unpacks (udict, one, non_int_type) into the slots; __hash__ hashes frozenset(_d.items()); "
       "_non_int_type is a class the file gives (a value in state, ranked on its own) and is only called by unit "
       "arithmetic after the load; no __call__, no __del__")
_group("pint.util.udict", "NEW ALLOC MUTATE HASH PASSED CALL_INSTANCE",
       "pint 0.25 util.py: a dict subclass whose __missing__ returns 0 (SETITEMS is dict's C code; unhashable)")
# igraph 1.0.0: Graph.__reduce__ is (Graph, (n, edge list, directed, graph/vertex/edge attribute dicts), __dict__).
# Importing igraph (read): loads the compiled core igraph._igraph, binds its Python-side methods and layout aliases
# onto its own Graph class, and Configuration.instance() reads the user's ~/.igraphrc with configparser when it
# exists (the environment's own configuration, no write); plotting backends are imported lazily.
_group("igraph.Graph", "CALL BUILD PASSED CALL_INSTANCE",
       "igraph 1.0.0 __init__.py Graph.__init__ with positional arguments only (a REDUCE call; the raw-pointer "
       "'__ptr' keyword is not reachable, and INVOKE through functools.partial is not permitted): numpy edge arrays "
       "become memoryviews, GraphBase.__init__(n, edges, directed) (C: builds the igraph_t from integers), then "
       "self[key] = value, self.vs[key] = value, self.es[key] = value store attribute values (C attribute tables; "
       "the values' sequence protocol is their PASSED use). BUILD: no __setstate__, __setattr__ or __getattr__ "
       "in the MRO (GraphBase defines only __new__ and its C dealloc), so the dict state updates __dict__; no "
       "__call__; __hash__ is None")

# --- pure decoders (also modelled: the engine follows their output into nested loaders) -----------------------------
_group("zlib.decompress gzip.decompress bz2.decompress lzma.decompress base64.b64decode base64.b32decode "
       "base64.b16decode base64.b85decode base64.a85decode base64.decodebytes binascii.a2b_base64 binascii.unhexlify "
       "binascii.a2b_hex codecs.decode _codecs.decode builtins.bytes.fromhex", PURE, "bytes in, bytes out")
_group("io.BytesIO _io.BytesIO", DATA, "an in-memory byte buffer")


def _results_are_data(names: str) -> None:
    """Functions whose result is new data, never one of their arguments: calling the result fails."""
    for name in names.split():
        entry = _entries[name]
        _entries[name] = Entry(entry.uses | Use.CALL_INSTANCE, entry.invokes, entry.note, entry.origin,
                               entry.state_uses)

_LOSSES = ("AbsoluteError ExponentialLoss HalfBinomialLoss HalfBinomialLossArrayAPI HalfGammaLoss HalfMultinomialLoss "
           "HalfMultinomialLossArrayAPI HalfPoissonLoss HalfPoissonLossArrayAPI HalfSquaredError HalfTweedieLoss "
           "HalfTweedieLossIdentity HuberLoss PinballLoss")
_group(" ".join(f"sklearn._loss.loss.{name}" for name in _LOSSES.split()), DATA,
       "scikit-learn 1.9.1 _loss/loss.py: __init__ stores the Cython closs and link; BaseLoss.__call__(y_true, "
       "raw_prediction, ...) averages self.loss(...) over arrays (an attribute a file shadows is itself an object "
       "set by BUILD, which the engine ranks as called)")

_group("torch.nn.utils.spectral_norm.SpectralNorm torch.nn.utils.spectral_norm.SpectralNormLoadStateDictPreHook "
       "torch.nn.utils.spectral_norm.SpectralNormStateDictHook",
       "CALL INVOKE NEW ALLOC BUILD MUTATE HASH PASSED CALL_INSTANCE",
       "torch 2.13 nn/utils/spectral_norm.py: module hooks. SpectralNorm.__call__(module, inputs) sets the normalised "
       "weight on the module it is given (tensor ops); the state-dict hooks read and write the metadata dicts they "
       "are given through self.fn (an object set by BUILD, itself ranked as called)")


def _instances_are_callable(names: str) -> None:
    """Classes in a data group whose instances are callable (or whose call returns its argument): calling one
    runs code the file chooses, so they are not permitted CALL_INSTANCE."""
    for name in names.split():
        entry = _entries[name]
        _entries[name] = Entry(entry.uses & ~Use.CALL_INSTANCE, entry.invokes, entry.note, entry.origin,
                               entry.state_uses)


# numpy.object_(x) returns x itself; no_grad() wraps the function it is called on. (scikit-learn's scorers keep
# CALL_INSTANCE: __call__(estimator, X, y) scores the estimator it is given with the score function in its state,
# which the escape walk INVOKEs as any name in state.)
_instances_are_callable("numpy.object_ torch.autograd.grad_mode.no_grad")

_results_are_data(
    "zlib.decompress gzip.decompress bz2.decompress lzma.decompress base64.b64decode base64.b32decode "
    "base64.b16decode base64.b85decode base64.a85decode base64.decodebytes binascii.a2b_base64 binascii.unhexlify "
    "binascii.a2b_hex codecs.decode _codecs.decode _codecs.encode codecs.encode builtins.bytes.fromhex "
    "numpy._core.multiarray.scalar numpy.core.multiarray.scalar numpy._core.numeric._frombuffer "
    "numpy.core.numeric._frombuffer re.compile re._compile sre_compile.compile array._array_reconstructor "
    "numpy.random.__RandomState_ctor numpy.random._pickle.__bit_generator_ctor numpy.random._pickle.__generator_ctor "
    "numpy.random._pickle.__randomstate_ctor pandas._libs.internals._unpickle_block "
    "pandas._libs.tslibs.nattype._nat_unpickle pandas._libs.tslibs.timedeltas._timedelta_unpickle "
    "pandas._libs.tslibs.timestamps._unpickle_timestamp pandas.core.indexes.base._new_Index "
    "pandas.core.indexes.datetimes._new_DatetimeIndex pandas.core.indexes.interval._new_IntervalIndex "
    "pandas.core.indexes.period._new_PeriodIndex pandas.core.indexes.timedeltas._new_TimedeltaIndex "
    "pandas.core.internals.blocks.new_block torch._utils._rebuild_tensor torch._utils._rebuild_tensor_v2 "
    "torch._utils._rebuild_tensor_v3 torch._utils._rebuild_parameter torch._utils._rebuild_parameter_with_state "
    "torch._utils._rebuild_qtensor torch._utils._rebuild_sparse_tensor torch._utils._rebuild_nested_tensor "
    "torch._utils._rebuild_meta_tensor_no_storage torch._utils._rebuild_device_tensor_from_cpu_tensor "
    "torch._utils._rebuild_device_tensor_from_numpy torch.serialization._get_layout "
    "pytz._p pytz._UTC pytz.tzinfo.unpickler builtins.hash shapely.io.from_wkb")

REVIEWED: Mapping[str, Entry] = _entries


def _reviewed_instance_calls() -> frozenset[str]:
    from pathlib import Path

    text = (Path(__file__).with_name("instance_calls_reviewed.txt")).read_text(encoding="utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))


# Generated names whose instances (for a function: whose results) code may call without running anything the
# file chooses: functions whose result is new data, never one of their arguments, and the classes reviewed in
# instance_calls_reviewed.txt. Their generated entries gain CALL_INSTANCE (catalog/entries.py lookup).
RESULTS_ARE_DATA: frozenset[str] = _reviewed_instance_calls() | frozenset((
    "pyarrow.lib._restore_array pyarrow.lib.type_for_alias pyarrow.lib.py_buffer pyarrow.lib.schema "
    "pyarrow.lib.decimal128 pyarrow.lib.scalar pyarrow.lib.timestamp "
    "pyarrow.lib.field pyarrow.lib.chunked_array pyarrow.lib.table pyarrow.lib._reconstruct_record_batch "
    "pyarrow.lib._reconstruct_table pyarrow.lib.list_ pyarrow.lib.struct pyarrow.lib.dictionary "
    "zoneinfo.ZoneInfo._unpickle pandas._libs.arrays.__pyx_unpickle_NDArrayBacked "
    "pandas._libs.interval.__pyx_unpickle_IntervalMixin pandas._libs.sparse.IntIndex "
    "pandas._libs.sparse.BlockIndex pandas._libs.missing.NAType pandas._libs.tslibs.offsets._unpickle "
    "pandas.core.arrays.string_.StringDtype pandas.core.dtypes.dtypes.DatetimeTZDtype "
    "datetime.timezone").split())

# Installed packages whose *import* (the top-level code of the package and its modules) was reviewed as
# benign: importing them defines classes and functions, registers plugins, reads their own package data, and
# touches nothing else. The source analysis still reads the code of every class and function it is asked about.
IMPORT_REVIEWED: frozenset[str] = frozenset(
    "numpy scipy pandas pyarrow sklearn torch transformers tokenizers accelerate huggingface_hub safetensors "
    "statsmodels gensim networkx joblib lightgbm xgboost catboost keras tensorflow tf_keras sympy "
    # dependencies the packages above import eagerly (a vouch covers its own package only): typing_extensions is
    # the typing backport (defines classes; its TYPE_CHECKING re-export makes it unreadable to the analysis);
    # threadpoolctl (imported by sklearn) defines classes and sets the KMP_DUPLICATE_LIB_OK default
    # packaging 26.4 (imported by accelerate, transformers): version/specifier/marker parsing, its top level builds
    # regexes and constants; smart_open 9.0.2 (imported by gensim): registers its compressors and transports (each
    # transport module imports its optional client library inside try/except) and reads the locale's encoding
    # rich 15.0.0 (imported by accelerate.utils.rich): defines classes, records os.getcwd(); cython / Cython 3.3.1
    # (imported by scipy._lib._testutils): the compiler runs only under __main__, an import re-exports
    # Cython.Shadow's pure-Python stand-ins
    # cloudpickle 3.1.3 (imported by hyperopt.utils): its top level builds weakref tables, a threading.Lock, opcode
    # and builtin-type tables, a platform.python_implementation() probe, and aliases pickle.load/loads (calling
    # those stays denied: the vouch is for the import only)
    # tqdm 4.70.1 (imported by hyperopt): defines classes, a class-level threading.RLock (TqdmDefaultWriteLock),
    # sys.platform probes, a guarded colorama import on Windows, reads its own distribution's version; its gui
    # and notebook front-ends import matplotlib/ipywidgets only inside functions
    # sklearn_compat 0.1.6 (imported by imblearn): scikit-learn version shims; its top level compares scikit-learn's
    # version and binds either local copies or scikit-learn's own functions; platform.machine() only for
    # scikit-learn < 1.5; no I/O (its sys.modules reads are inside functions)
    "typing_extensions threadpoolctl packaging smart_open rich cython Cython cloudpickle tqdm sklearn_compat".split())
