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

from safeload._record import replace
from safeload.catalog.entries import Entry, parse_uses
from safeload.catalog.uses import Use

__all__ = ["HF_CONFIGS", "HF_CONFIG_MACHINERY", "REVIEWED", "XARRAY_REVIEWED_FILES", "XARRAY_SLOTS"]

# CALL_INSTANCE in these: the instances (for a function, its results) are not callable, so code that calls one
# (an attribute set by BUILD shadowing a method) fails instead of running anything. tests/test_catalog_reviewed.py
# checks every class given these uses has no __call__; a callable class gets its own uses.
DATA = "CALL NEW ALLOC INVOKE BUILD MUTATE HASH PASSED CALL_INSTANCE"
VALUE = "CALL NEW ALLOC INVOKE BUILD HASH PASSED CALL_INSTANCE"
PURE = "CALL INVOKE PASSED HASH"  # a pure function's result may be one of its arguments (numpy.max of objects)
ALLOC_ONLY = "ALLOC BUILD HASH PASSED CALL_INSTANCE"

_entries: dict[str, Entry] = {}


def _group(names: str, uses: str, note: str, invokes: tuple[int | str, ...] = (),
           state_uses: tuple[tuple[str, str], ...] = (), *, build_refuses: tuple[str, ...] = (),
           build_dict_only: bool = False, mutate_ops: tuple[str, ...] = (),
           source_files: tuple[tuple[str, str], ...] = (),
           build_state: tuple[str, tuple[str, ...]] | None = None,
           arguments: tuple[str, tuple[str, ...]] | None = None) -> None:
    entry = Entry(parse_uses(uses), invokes, note,
                  state_uses=tuple((key, parse_uses(use)) for key, use in state_uses), build_refuses=build_refuses,
                  build_dict_only=build_dict_only or bool(build_refuses), mutate_ops=mutate_ops,
                  source_files=source_files, build_state=build_state, arguments=arguments)
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
       "uuid.UUID ipaddress.IPv4Address ipaddress.IPv6Address",
       VALUE, "value types rebuilt from their fields")
_group("fractions.Fraction", VALUE,
       "a value type rebuilt from its fields: Fraction.__reduce__ is (Fraction, (numerator, denominator)) (str(self) "
       "before Python 3.12); Fraction.__new__ of a str with an exponent computes 10**exp, of a Decimal or an object "
       "its as_integer_ratio, without bound (red team R12-4): admitted only under the fraction_value argument "
       "contract (catalog/state_contracts.py), called by REDUCE with plain ints or 'p'/'p/q' text",
       arguments=("fraction_value", ()))
_group("copyreg._reconstructor copyreg.__newobj__ copyreg.__newobj_ex__ dill._dill._create_array",
       "INVOKE", "modelled by their contracts when the file calls them (catalog/contracts.py); invoked by other "
       "code they only do what their arguments (which are ranked themselves) make them do")
_group("functools.partial", DATA + " CALL_INSTANCE",
       "modelled by its contract: the partial's function (also after __setstate__) is invoked", invokes=(0,))
_group("_codecs.encode codecs.encode", PURE,
       "str -> bytes (how protocols 0-2 pickle bytes: _codecs.encode(text, 'latin1')); the codec is whatever the "
       "file names, and punycode/idna encode in quadratic pure Python (red team R12-6): admitted only under the "
       "text_encode argument contract (catalog/state_contracts.py): a str and latin-1, utf-8 or ascii",
       arguments=("text_encode", ()))
_group("array.array", DATA, "typed array of numbers")
_group("array._array_reconstructor", PURE, "rebuilds an array from its typecode and machine bytes")
_group("argparse.Namespace types.SimpleNamespace", DATA, "attribute bags")
_group("types.MappingProxyType", "CALL NEW INVOKE PASSED", "read-only view of a mapping")
_group("pathlib.Path pathlib.PosixPath pathlib.WindowsPath pathlib.PurePath pathlib.PurePosixPath "
       "pathlib.PureWindowsPath", VALUE,
       "path values: construction joins strings and touches no file (file methods are denied by name)")
_group("re._compile re.compile sre_compile.compile", PURE, "compile a regular expression")
# Red team round 13: names the generated effect scan admitted as "pure computation on its arguments" that a load
# must not call. R13-5: CPython's re engine backtracks (re.match("(a+)+$", "a" * 40 + "b") runs for hours, a 70-byte
# pickle) and re.sub's template multiplies its text: the file chooses pattern and text; a pickled pattern is
# re._compile(pattern, flags), which only compiles. R13-8: copyreg.add_extension/remove_extension/
# clear_extension_cache/pickle/constructor change the process's pickling registries (an EXT code the file registers
# resolves to any global in every later unpickling in the process); enum.global_enum writes an enum's members into
# its module's namespace; uuid.getnode/uuid1 run `ip link`/`ifconfig` (uuid._get_command_stdout, through the
# _GETTERS list the effect scan does not follow) when the _uuid extension has no generate_time_safe. Named or
# passed (as values), never called or invoked.
_group("re.match re.fullmatch re.search re.sub re.subn re.split re.findall re.finditer "
       "copyreg.add_extension copyreg.remove_extension copyreg.clear_extension_cache copyreg.pickle "
       "copyreg.constructor enum.global_enum uuid.getnode uuid.uuid1", "PASSED HASH",
       "not called by a load (red team R13-5, R13-8): backtracking regex matching, process-wide registries, "
       "environment-dependent commands")
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
# CPython 3.11-3.13 Modules/_randommodule.c: the compiled base of random.Random (whose Python layer, random.py, the
# source analysis reads: __init__ -> seed -> super().seed, __setstate__ -> setstate -> super().setstate, gauss ->
# self.random()). The type defines tp_new (PyType_GenericNew, 3.11; random_new: generic alloc + random_init, 3.12+),
# tp_init (random_init), the methods below and nothing else: no tp_call, tp_hash, tp_getattro/tp_setattro
# (generic), tp_dealloc (frees the object), __reduce__ or __setstate__ (random.Random defines those in Python).
_group("_random.Random", DATA,
       "CPython 3.11.7 _randommodule.c: a Mersenne Twister state (625 C words). Construction seeds it: random_init "
       "refuses keywords and more than one argument, then random_seed: None seeds from os.urandom (falls back to "
       "the time and pid), an int (int.__abs__, never the subclass's) is taken bit by bit, any other value is "
       "hashed (its __hash__: the argument's PASSED use). No callable is stored, nothing opened, imported or run")
_group("_random.Random.seed _random.Random.setstate _random.Random.getstate _random.Random.random "
       "_random.Random.getrandbits", "CALL INVOKE PASSED HASH",
       "CPython 3.11.7 _randommodule.c methods of the Mersenne Twister state: seed(n) as at construction; setstate "
       "takes a tuple of 625 ints (PyLong_AsUnsignedLong of the 624 words: exact ints only, else TypeError; "
       "PyLong_AsLong of the position, an int's __index__) and copies them into the C state; getstate builds that "
       "tuple; random() returns a float from two 32-bit outputs; getrandbits(k) an int of k bits. Only the object's "
       "C state is read or written; a non-Random receiver raises TypeError")
# random.Random (pickled as (Random, (), (3, 625 ints, gauss_next)) by its __reduce__): river keeps one per model
# as _rng. The analysis reads the BUILD path (__setstate__ -> setstate) as inert but stops in seed() at
# _sha512(a).digest() (a method of a C hash object): reviewed, bound to the hash of CPython 3.11.7's random.py.
_group("random.Random", "CALL NEW ALLOC BUILD HASH PASSED CALL_INSTANCE",
       "CPython 3.11.7 random.py (base _random.Random, reviewed above; metaclass type). Random(x=None): __init__ runs "
       "self.seed(x): version 2 seeds from a str/bytes/bytearray through sha512 of its bytes (a str argument's "
       "encode()), refuses any other type than None/int/float (TypeError), then _random.Random.seed (C); "
       "gauss_next = None. BUILD: __setstate__(state) -> setstate: state[0] must be 3 or 2 (else ValueError with the "
       "version %s-formatted), the tuple is unpacked into version, the 625-int internal state (version 2: each "
       "% 2**32) and gauss_next (stored as given), and _random.Random.setstate copies the ints into the C state; "
       "no callable of the state is called. No __getattr__/__getattribute__/__setattr__/__del__/__call__ (calling an "
       "instance raises), __hash__/__eq__ are object's. __init_subclass__ only runs when a subclass is defined. The "
       "generator methods (random, gauss, choice, ...) are not part of the load. The state is compared (version == "
       "3: its __eq__), %s-formatted and converted in C (PyLong_AsLong of the position: its __index__): admitted "
       "only as getstate writes it, (int, tuple of ints, None or float), state_contracts 'random_state' (red team "
       "R8-5)",
       source_files=(("random", "b931a2d452db89ab9e1f79d59b66ce194dbd6748049cfe44699726da52b9c956"),),
       build_state=("random_state", ()))
_group("zoneinfo.ZoneInfo", VALUE,
       "ZoneInfo(key) reads the named IANA zone from the tz database (keys are validated: no absolute or '..' "
       "paths); a read of system time-zone data, nothing else")

# --- river ---------------------------------------------------------------------------------------------------------
# river 0.26.1's compiled VectorDict (river._river_rust, its import reviewed by SHA-256 in
# source_tables.REVIEWED_COMPILED_IMPORTS): what LogisticRegression/LinearRegression pickles hold as weights.
_group("river._river_rust.vectordict.VectorDict", "CALL PASSED CALL_INSTANCE",
       "river 0.26.1 rust_src/vectordict.rs (PyO3, read upstream): VectorDict(data=None, default_factory=None, "
       "mask=None, copy=False), which its __reduce__ gives back, keeps a dict (data copied with dict.copy() or "
       "referenced; another type raises ValueError), stores default_factory (called only when an unmasked missing key "
       "is read: invoked), and with a mask calls set(mask) when copying (iterates the mask). No __setstate__ (the "
       "pickle calls it with its data), no __call__ (calling an instance raises), no I/O",
       invokes=(1, "default_factory"))

# --- numpy -------------------------------------------------------------------------------------------------------
for _core in ("numpy.core", "numpy._core"):
    _group(f"{_core}.multiarray.scalar", PURE, "a numpy scalar from its dtype and raw bytes")
    _group(f"{_core}.multiarray.ndarray {_core}.multiarray.dtype", DATA, "arrays and dtypes")
    _group(f"{_core}.numeric._frombuffer", PURE, "an array over a bytes buffer")
    _group(f"{_core}.records.recarray {_core}.records.record", DATA, "record arrays")
    _group(f"{_core}.numerictypes.float64", VALUE, "a scalar type")
# numpy 2.4 functions long-tail library code calls (optuna's TPE sampler, river's losses), not reached by the
# generated catalogue's harvest: PURE, like the generated numpy.sum/numpy.exp (CALL and INVOKE). Each is numeric
# array code: fromnumeric.any/all (_wrapreduction_any_all: logical_or/and.reduce), function_base.linspace
# (asanyarray of start/stop, arange, multiply, add: a new array), multiarray.where/concatenate (C: elementwise
# selection or nonzero; joins arrays along an axis). Their array_function_dispatch wrappers look up
# __array_function__ on the arguments' types (a file's object's own methods are the engine's to rank, as for
# numpy.sum). No I/O, no imports.
_group("numpy.any numpy._core.fromnumeric.any numpy.all numpy._core.fromnumeric.all numpy.linspace "
       "numpy._core.function_base.linspace numpy.where numpy._core.multiarray.where numpy.concatenate "
       "numpy._core.multiarray.concatenate", PURE,
       "numpy 2.4.6 array computations (any/all reductions, linspace, where, concatenate): pure numeric code")
_group("numpy.isfinite numpy._core.isfinite numpy._core.umath.isfinite", PURE,
       "numpy 2.4.6 ufunc: elementwise finiteness test (C loops), like the generated numpy ufunc entries")
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
_group("numpy.asarray numpy.array", PURE,
       "numpy 2 array constructors (C, _multiarray_umath): build an array from the data; an argument's __array__, "
       "__array_interface__, sequence protocol or like=.__array_function__ are its PASSED uses")

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
# scikit-optimize 0.10.2 (read with scikit-learn 1.9.1): a fitted GaussianProcessRegressor holds skopt's kernel
# subclasses, each `class K(skopt Kernel, sklearn K)`. skopt's Kernel(sk_Kernel) only overrides __add__/__radd__/
# __mul__/__rmul__/__pow__ (to build skopt's Sum/Product/Exponentiation) and each class adds gradient_x: neither
# is called by sklearn's __call__, which the instance call runs. Importing skopt (analysed inert with PyYAML's
# import review: tests/test_longtail_reviews_d.py).
_group("skopt.learning.gaussian_process.kernels.ConstantKernel skopt.learning.gaussian_process.kernels.Matern "
       "skopt.learning.gaussian_process.kernels.Product skopt.learning.gaussian_process.kernels.Sum "
       "skopt.learning.gaussian_process.kernels.WhiteKernel",
       "NEW ALLOC BUILD PASSED CALL_INSTANCE",
       "scikit-optimize 0.10.2 learning/gaussian_process/kernels.py: NEWOBJ and dict-state BUILD as for scikit-learn's "
       "kernels (no __new__, __setstate__, __getattr__, __setattr__, __del__ or __init_subclass__ in the MRO: the "
       "state updates __dict__). The instance call is scikit-learn 1.9.1's K.__call__ (numpy/scipy arithmetic on X, "
       "Y and the hyperparameters in the state; Sum/Product call self.k1/self.k2, whose own uses the engine checks "
       "as values set by BUILD); skopt's overrides (operators, gradient_x) are not reached from it. Not called by "
       "the file (CALL/INVOKE not permitted) and given dict state only",
       build_dict_only=True)

# kmodes 0.12.2: KPrototypes stores its numeric dissimilarity function (default util/dissim.py euclidean_dissim) as
# num_dissim; predict calls it on the centroids (file state) and the user's rows. The source analysis stops at
# np.isnan (a ufunc the generated catalogue permits for INVOKE only) and the .any() of its result.
_group("kmodes.util.dissim.euclidean_dissim", "INVOKE PASSED HASH",
       "kmodes 0.12.2 util/dissim.py: `if np.isnan(a).any() or np.isnan(b).any(): raise ValueError(...)`, then "
       "`return np.sum((a - b) ** 2, axis=1)`: numpy ufuncs and a reduction over its two arguments (their "
       "arithmetic protocol is their PASSED use); extra keywords ignored. No I/O, import or call of an argument. "
       "Not CALL: a file choosing the arguments could broadcast (N,1) against (1,M) into an N*M allocation")

# optuna 5.0.0 TPESampler (round 8, fp-longtail-j): the sampler's state holds the class it builds its Parzen
# estimators with (`_parzen_estimator_cls`), so a load of a study or a sampler holds the class where code may call it.
_group("optuna.samplers._tpe.parzen_estimator._ParzenEstimator", "INVOKE",
       "optuna 5.0.0 samplers/_tpe/parzen_estimator.py (and probability_distributions.py, whose _Batched* "
       "NamedTuples and _MixtureOfProductDistribution it builds): _ParzenEstimator(observations, search_space, "
       "parameters, predetermined_weights=None) checks parameters.prior_weight, stacks the observations with "
       "np.array, calls parameters.weights(n) unless weights are given (the _ParzenEstimatorParameters field: in a "
       "file, a callable the engine ranks INVOKE itself, e.g. TPESampler's default_weights, analysed inert), checks "
       "the weights with numpy, and builds batched truncated-normal/categorical kernels from each distribution's "
       "low/high/step/log/choices attributes (numpy arithmetic, np.log, np.clip, argsort). No __del__, no I/O, no "
       "import, no other call of an argument. Only INVOKE (the class held in TPESampler's state): no file calls it",
       source_files=(("optuna.samplers._tpe.parzen_estimator",
                      "e528d4b8da02925fc9373f6154944d99dd9d4cd43a52d97cdea396a26b67489b"),
                     ("optuna.samplers._tpe.probability_distributions",
                      "b9e0da11ae9e452ab0a34a602028be1634848b877dfd9c0b9545193441f57c89")))

# --- pure decoders (also modelled: the engine follows their output into nested loaders) -----------------------------
_group("zlib.decompress gzip.decompress bz2.decompress lzma.decompress base64.b64decode base64.b32decode "
       "base64.b16decode base64.b85decode base64.a85decode base64.decodebytes binascii.a2b_base64 binascii.unhexlify "
       "binascii.a2b_hex codecs.decode _codecs.decode builtins.bytes.fromhex", PURE, "bytes in, bytes out")
_group("io.BytesIO _io.BytesIO", DATA, "an in-memory byte buffer")


def _results_are_data(names: str) -> None:
    """Functions whose result is new data, never one of their arguments: calling the result fails."""
    for name in names.split():
        entry = _entries[name]
        # every other field kept (red team R12-6: a rebuilt Entry dropped an argument contract)
        _entries[name] = replace(entry, uses=entry.uses | Use.CALL_INSTANCE)

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
        _entries[name] = replace(entry, uses=entry.uses & ~Use.CALL_INSTANCE)


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

# --- issue 14 families, reviewed per use (read from the installed source; versions in each note) ---------------
# spaCy 3.8.18: its pickles rebuild Doc/Vocab through compiled reconstructors (Cython; the .pyx sources are shipped
# beside the .so in site-packages and were read there). spaCy's Python classes (spacy.lookups.Lookups, the lexical
# attribute functions) are analysed from source once its import is reviewed (IMPORT_REVIEWS below).
_group("spacy.tokens.doc.unpickle_doc", "CALL PASSED HASH CALL_INSTANCE",
       "spaCy 3.8.18 tokens/doc.pyx (read in the shipped .pyx): unpickle_doc(vocab, hooks_and_data, bytes_data) runs "
       "srsly.pickle_loads(hooks_and_data) (cloudpickle.loads = pickle.loads: the engine scans those bytes as a "
       "nested pickle, legacy.NESTED_ARGUMENT, and they must unpack to (user_data, doc_hooks, span_hooks, "
       "token_hooks)), then Doc(vocab, user_data=user_data) (vocab is a typed `Vocab` parameter: TypeError for "
       "anything else) and Doc.from_bytes(bytes_data, exclude=['user_data']): srsly.msgpack_loads (msgpack with "
       "srsly's numpy decoder: np.frombuffer with a dtype from the data, which refuses object dtypes), adds the "
       "strings to the vocab, builds lexemes with vocab.get (runs the vocab's lex_attr_getters on the token texts), "
       "fills the token array and spans (Doc.from_dict). The hooks dicts are stored in doc.user_hooks and called "
       "later by Doc/Span/Token properties (user code): the nested scan treats them as escaped (INVOKE). No I/O.")
_group("spacy.vocab.unpickle_vocab", "CALL PASSED HASH CALL_INSTANCE",
       "spaCy 3.8.18 vocab.pyx (read in the shipped .pyx): unpickle_vocab(sstore, vectors, morphology, "
       "_unused_object, lex_attr_getters, lookups, get_noun_chunks) makes Vocab() and assigns the arguments to its "
       "typed attributes (strings: StringStore, morphology: Morphology, vectors/lookups/get_noun_chunks: objects), "
       "and lex_attr_getters = srsly.pickle_loads(lex_attr_getters): a nested pickle (cloudpickle.loads = "
       "pickle.loads) the engine scans with the same rules (legacy.NESTED_ARGUMENT position 4); a function "
       "pickled by value there (cloudpickle's _make_function, code objects) is refused by that scan. The getters are "
       "called at load by Vocab.get when a Doc's lexemes are built (escaped: INVOKE in the nested scan); "
       "get_noun_chunks is only stored and called by Doc.noun_chunks (user code): invoked.", invokes=(6,))
_group("spacy.vectors.unpickle_vectors", "CALL PASSED HASH CALL_INSTANCE",
       "spaCy 3.8.18 vectors.pyx (read in the shipped .pyx): Vectors().from_bytes(bytes_data): util.from_bytes "
       "decodes msgpack (srsly; numpy arrays by np.frombuffer, no object dtype) and calls its own setters: "
       "StringStore.from_bytes (a JSON list of strings), key2row.update (a dict of ints), the weights "
       "(xp.asarray of the decoded array, then to_ops with thinc's current ops), _set_cfg (srsly.json_loads: mode "
       "must be a Mode value, else ValueError; ints and strings into typed fields). No I/O, no call of a value from "
       "the file.")
_group("spacy.morphology.unpickle_morphology", "CALL PASSED HASH CALL_INSTANCE",
       "spaCy 3.8.18 morphology.pyx (read in the shipped .pyx): unpickle_morphology(strings, tags) makes "
       "Morphology(strings) (a typed StringStore parameter: TypeError otherwise) and calls morphology.add(tag) for "
       "each tag: a str is parsed as UD FEATS (string splitting), a dict is normalised (sorted key/value strings), "
       "anything else only warns; the strings are interned in the StringStore and the analysis stored in a PreshMap. "
       "No I/O, no call of a value from the file.")
_group("spacy.strings.StringStore", "CALL PASSED HASH CALL_INSTANCE",
       "spaCy 3.8.18 strings.pyx (read in the shipped .pyx): __reduce__ is (StringStore, (list(self),)); "
       "__init__(strings=None, freeze=False) allocates a cymem Pool and a PreshMap and calls add(s) for each item: "
       "a str or bytes is hashed (murmurhash) and interned, anything else raises TypeError (E017). Not callable; "
       "no I/O.")
_group("spacy.lang.lex_attrs.is_punct spacy.lang.lex_attrs.is_ascii spacy.lang.lex_attrs.like_num "
       "spacy.lang.lex_attrs.is_bracket spacy.lang.lex_attrs.is_quote spacy.lang.lex_attrs.is_left_punct "
       "spacy.lang.lex_attrs.is_right_punct spacy.lang.lex_attrs.is_currency spacy.lang.lex_attrs.like_email "
       "spacy.lang.lex_attrs.like_url spacy.lang.lex_attrs.word_shape spacy.lang.lex_attrs.lower "
       "spacy.lang.lex_attrs.prefix spacy.lang.lex_attrs.suffix spacy.lang.lex_attrs.is_alpha "
       "spacy.lang.lex_attrs.is_digit spacy.lang.lex_attrs.is_lower spacy.lang.lex_attrs.is_space "
       "spacy.lang.lex_attrs.is_title spacy.lang.lex_attrs.is_upper spacy.lang.lex_attrs.is_stop "
       "spacy.lang.lex_attrs.get_lang spacy.lang.en.lex_attrs.like_num spacy.util._get_attr_unless_lookup",
       "INVOKE PASSED HASH",
       "spaCy 3.8.18 lang/lex_attrs.py, lang/en/lex_attrs.py, util.py: the lexical attribute getters a Vocab keeps in "
       "lex_attr_getters (pickled by srsly.pickle_dumps inside the vocab's state). Vocab.get calls each with a "
       "token's text (a str) when it builds a lexeme: str methods (lower, isalpha, isdigit, istitle, ...), "
       "slicing, membership in the module's own constant sets, unicodedata.category of each character "
       "(is_punct, is_currency), the module's compiled email regex's match (like_email), a TLD-set and "
       "character-class test (like_url), a shape string (word_shape); is_stop(string, stops) and "
       "get_lang(text, lang) take their second argument from the functools.partial that holds them (a set, a "
       "str: membership test, returned); _get_attr_unless_lookup(default_func, lookups, string) returns a "
       "table entry or calls default_func (the partial's first argument: one of these getters, itself checked "
       "where the file names it). No I/O.",
       source_files=(("spacy.lang.lex_attrs", "a20128d553a876047ae4159cec52d658c04c10dca3ba4f5320c43541e791ac5b"),
                     ("spacy.lang.en.lex_attrs", "85b0e2715c280ce716c1a0d77efed5f10ee8d7e749589f616d3c81e1b8c61fd7"),
                     ("spacy.util", "91f5f0aed96ed1a122f9549195fd4a958b1f7ebe7469e62a3dc458548bd871ae")))
_group("spacy.lang.en.syntax_iterators.noun_chunks", "INVOKE PASSED HASH",
       "spaCy 3.8.18 lang/en/syntax_iterators.py: a generator over a Doc or Span (reads doc.has_annotation, "
       "vocab.strings.add of its own label strings, token pos/dep/head/left_edge; raises ValueError E029 without a "
       "dependency parse). A pickled Vocab holds it as get_noun_chunks (unpickle_vocab only stores it); it runs "
       "only when user code reads Doc.noun_chunks, on that Doc. Never called at load.",
       source_files=(("spacy.lang.en.syntax_iterators",
                      "fec16be447d2a0d727000f457293f569614ce9e06ac96372bca1dda3feb4bd3f"),))

#: The spaCy release the compiled entries below were read in: Cython modules cannot be hashed as source
#: (``source_reviews.module_digest`` reads .py files), so each is bound to spacy/about.py, which names the release
#: (``__version__ = "3.8.18"``): another spaCy release (or an edited about.py) turns these entries back into unknown
#: names. The Python ones are bound to their own files too.
_SPACY_RELEASE = ("spacy.about", "c797f5b7a4e9bd9bacbb597e26298a3a2002fef564ed272d358c947a5fb87320")
_SPACY_LANGUAGE_FILES = (("spacy.language", "8114dbe8e89ba1b3c278480b22c3792a57822292fe746575b2373eb60e1b095b"),
                         ("spacy.lang.en", "d6c9a7944a72280c6d5f1c32db3d518c5515b54c548b7c9fa3ed757039eb75b0"),
                         _SPACY_RELEASE)
_CONFECTION_FILES = (("confection._config", "4e45ff0914a0aa76783bc444ea0597244ea8a67eea8a29f75bf31ce2c6fe3164"),)

#: spaCy 3.8.18's English tokenizer patterns (spacy.lang.en defaults through spacy.lang.tokenizer_exceptions and
#: punctuation, as spacy.blank("en") compiles them): slot -> the bound method, the flags and the sha256 of the pattern
#: text (UTF-8). Read by introspection of the installed spaCy (``spacy.blank("en").tokenizer.<slot>.__self__``: its
#: pattern and flags) and recomputed by tests/test_spacy_pipeline.py, which fails when they differ; token_match is
#: None for English (None is the only value admitted there).
SPACY_EN_TOKENIZER_PATTERNS: tuple[str, ...] = (
    "prefix_search search 32 7aea2cc4f6485aee9e58e1e3fc210071f264803a679d7a972135b8c59ba7bdd5",
    "suffix_search search 32 dd56f4c42b61ebcd5a0a3225517eb380c9454f6cb3d240e7d8c470b47c9c19e0",
    "infix_finditer finditer 32 b63cbb601f9759784870f088ca561d38b31b859289b9de15ac5ba278b02aae1d",
    "url_match match 32 7adb1342672774f94ffb32ef3bc6eb2f7a5a803ab8c51920bba19c34fd9cec14",
)
_group("spacy.tokenizer.Tokenizer", "CALL PASSED CALL_INSTANCE",
       "spaCy 3.8.18 tokenizer.pyx (read in the shipped .pyx): __reduce__ is (Tokenizer, (vocab, rules, prefix_search, "
       "suffix_search, infix_finditer, token_match, url_match)), no state. __init__ allocates a cymem Pool and "
       "PreshMaps, stores the five callables through their property setters (each reloads the special cases: empty "
       "until rules are loaded), makes a PhraseMatcher over the vocab and loads every special case: "
       "_validate_special_case (intify_attrs; the ORTH texts must join to the string, only ORTH/NORM allowed, else "
       "ValueError), vocab.make_fused_token (lexemes through the vocab's reviewed getters), then find_prefix/"
       "find_infix/find_suffix (the stored callables called with the string) and _tokenize_affixes (token_match, "
       "url_match) for the PhraseMatcher. __call__(text) runs the same callables on slices of the text. No I/O, "
       "nothing imported or evaluated. The callables run at load on the file's strings: admitted only under the "
       "spacy_tokenizer argument contract (catalog/state_contracts.py): the vocab an unpickle_vocab call made, a "
       "bounded plain ORTH/NORM rules table, and each callable None or the reviewed method of a pattern compiled "
       "from spaCy's own English pattern text (SPACY_EN_TOKENIZER_PATTERNS: a file's own regex could backtrack "
       "exponentially on its own strings at load). Instances are callable (nlp(text) calls the tokenizer): what "
       "they call is exactly what the contract admitted.",
       arguments=("spacy_tokenizer", SPACY_EN_TOKENIZER_PATTERNS), source_files=(_SPACY_RELEASE,))
_group("re.Pattern.search re.Pattern.match re.Pattern.finditer", "",
       "CPython 3.11 Modules/_sre/sre.c: the matching methods of a compiled pattern (string, pos, endpos): they read "
       "the string's buffer and return a Match, None or an iterator of Matches; nothing else is called. A method "
       "bound by getattr to re._compile(<literal>, <int>) is ranked under these names (legacy.RESULT_CLASS). No use "
       "is admitted here (the name may only be imported): matching runs in time the pattern decides (catastrophic "
       "backtracking), so the only admission is the spacy_tokenizer contract's, which checks the pattern text "
       "against a reviewed digest and records the use itself")
_group("spacy.pipeline.pipe.Pipe", "ALLOC BUILD",
       "spaCy 3.8.18 pipeline/pipe.pyx/.pxd: `cdef class Pipe` with one cdef field (`public str name`), no "
       "__cinit__/__dealloc__. Cython's generated auto-pickle: __reduce_cython__ is (__pyx_unpickle_Pipe, (type(self), "
       "0x82a3537 checksum, None), (self.name, self.__dict__)); __pyx_unpickle_Pipe(type, checksum, state) checks the "
       "checksum (PickleError otherwise) and returns Pipe.__new__(type) (tp_new: a subtype of Pipe, else TypeError), "
       "and __setstate_cython__ (BUILD, or a state argument) sets name = state[0] (str or None, else TypeError) and "
       "updates the instance dict from state[1]. ALLOC and BUILD here are that rule's; the class allocated is judged "
       "by its own entry (its state under its own contract). A bare Pipe has no state to admit (spacy_pipe_state "
       "with no scorer refuses every state given to a Pipe instance)",
       build_state=("spacy_pipe_state", ()), source_files=(_SPACY_RELEASE,))
_group("spacy.pipeline.sentencizer.Sentencizer", "ALLOC BUILD PASSED CALL_INSTANCE",
       "spaCy 3.8.18 pipeline/sentencizer.pyx: a Python class over the cdef Pipe (instance dict), no __new__, "
       "__setstate__ (Pipe's generated one), __getattr__ or __del__. Rebuilt by __pyx_unpickle_Pipe and given "
       "(name, {punct_chars, overwrite, scorer}); admitted only under the spacy_pipe_state contract (exactly those "
       "keys: a set of str, a bool, and scorer exactly spaCy's senter_score). __call__(doc) (nlp(text) calls each "
       "component) runs predict: `token.text in self.punct_chars` and sentence-start flags written into the Doc's "
       "C array (set_annotations reads self.overwrite); errors go to the error handler the Language holds (reviewed "
       "there). score() calls self.scorer. No I/O at load or in __call__ (to_disk/from_disk are user calls)",
       build_state=("spacy_pipe_state", ("spacy.pipeline.senter.senter_score",)), source_files=(_SPACY_RELEASE,))
_group("spacy.pipeline.senter.senter_score", "INVOKE",
       "spaCy 3.8.18 pipeline/senter.pyx (compiled, read in the shipped .pyx): senter_score(examples, **kwargs) copies "
       "kwargs, sets has_annotation to a local function reading doc.has_annotation('SENT_START') and returns "
       "Scorer.score_spans(examples, 'sents', **kwargs): iterates the examples and compares span boundaries "
       "(spacy/scorer.py: PRFScore arithmetic on the examples' aligned spans). A Sentencizer keeps it as scorer and "
       "calls it from score(examples) (user code); never called at load. No I/O", source_files=(_SPACY_RELEASE,))
_group("confection._config.Config", "NEW ALLOC BUILD MUTATE PASSED CALL_INSTANCE",
       "confection 1.3.4 _config.py: `class Config(dict)` with no __new__, __setitem__, __getattr__, __setstate__, "
       "__del__, __hash__, __eq__ or __call__ (calling an instance raises TypeError). Pickled as NEWOBJ (dict.__new__,"
       " no __init__; protocols 0-1: copyreg._reconstructor(Config, dict, items), i.e. dict.__new__ and dict.__init__ "
       "with the items), SETITEMS of its sections (dict.__setitem__) and BUILD of its instance dict, admitted only "
       "under the confection_config_state contract (is_interpolated a bool, section_order a list of str: the "
       "attributes __init__ sets). Its values are the file's and are ranked by the engine like any stored value; spaCy"
       " resolves registry references in a config (@scorers, @tokenizers...) only in nlp.from_config/registry.resolve,"
       " never when a pickled Language is loaded or called. Importing confection._config: confection is reviewed "
       "territory (catalog/_gen/closure.THIRD_PARTY_REVIEWED, round 8) and spaCy's import loads it anyway",
       mutate_ops=("SETITEM", "SETITEMS"), build_state=("confection_config_state", ()), source_files=_CONFECTION_FILES)
_group("spacy.lang.en.English", "NEW ALLOC BUILD PASSED CALL_INSTANCE",
       "spaCy 3.8.18 language.py, lang/en/__init__.py: English(Language) defines only lang and Defaults; Language "
       "has no __new__, __setstate__, __reduce__, __getattr__, __setattr__ or __del__, so a pickle is NEWOBJ "
       "(object.__new__, no __init__; protocols 0-1: copyreg._reconstructor(English, object, None), the same "
       "object.__new__) and BUILD writes the state into the instance dict. Language.__init_subclass__ "
       "ran when spacy.lang.en was imported (the import review): it sets English.default_config from spaCy's own "
       "DEFAULT_CONFIG merged with English.Defaults.config (no file input; the load never reads it). The state is "
       "what nlp(text) calls (tokenizer, every component, default_error_handler) and any key shadows a method: "
       "admitted only under the spacy_language_state contract (exactly Language.__init__'s 13 keys, each value made "
       "in this stream by the reviewed name: catalog/state_contracts.py). Instances are callable (__call__ "
       "tokenizes and runs the components the contract admitted)",
       build_state=("spacy_language_state", ()), source_files=_SPACY_LANGUAGE_FILES)


# nltk's own classes are analysed from source once its import is reviewed (IMPORT_REVIEWS below); these are the
# ones the analysis cannot follow (explicit base-class __init__ calls into collections, class-level values built
# by nltk.redos.compile, bound methods), reviewed for exactly the uses an ordinary file makes of them.
_group("nltk.probability.FreqDist", "CALL NEW ALLOC INVOKE MUTATE HASH PASSED CALL_INSTANCE",
       "nltk 3.10.4 probability.py: a collections.Counter subclass. Counter.__reduce__ pickles (cls, (dict(self),)) "
       "with no state; FreqDist.__init__(samples) runs Counter.__init__ -> FreqDist.update -> Counter.update, which "
       "copies a mapping with dict.update or counts an iterable's elements (their own __hash__/__eq__: PASSED uses "
       "of those values), then sets self._N = None; __setitem__/__delitem__/update/setdefault reset _N and defer to "
       "dict. Unhashable (a dict); no __call__, __getattr__, __setstate__ or __del__. No BUILD: the file gives none")
_group("nltk.probability.ConditionalFreqDist", "CALL NEW ALLOC INVOKE MUTATE HASH PASSED CALL_INSTANCE",
       "nltk 3.10.4 probability.py: a collections.defaultdict subclass whose __reduce__ is (cls, (), None, None, "
       "items): the file calls it with no argument and SETITEMS its FreqDists (dict.__setitem__, not overridden). "
       "__init__(cond_samples) sets default_factory to nltk's own FreqDist (never a value from the file) and counts "
       "(condition, sample) pairs it iterates. No BUILD: slot state would setattr default_factory (called on a "
       "missing key), so a file giving it state is refused")
_group("nltk.tokenize.punkt.PunktToken", "INVOKE",
       "nltk 3.10.4 tokenize/punkt.py: the token class PunktSentenceTokenizer keeps as its _Token attribute and "
       "calls on text at tokenize time. PunktToken(tok, **params) (a __slots__ class) stores tok, tok.lower() with "
       "numbers replaced by its class-level redos pattern, tok.endswith('.'), and setattr()s the keyword params the "
       "tokenizer passes (slot names); no I/O, nothing else called")
_group("nltk.stem.snowball.EnglishStemmer.stem", "INVOKE",
       "nltk 3.10.4 stem/snowball.py: SnowballStemmer.__init__ keeps self.stem = self.stemmer.stem, so the file "
       "holds the bound method of its EnglishStemmer. stem(word) lower-cases the word, checks the stopword set, "
       "and rewrites suffixes with str methods, its class's suffix tuples and self._r1r2_standard (string slicing): "
       "nothing but string computation on the word. The instance's own state is ranked on its own (an attribute "
       "set by BUILD that shadows a method is ranked as called)")
_group("regex._regex_core.RegexFlag", "CALL INVOKE HASH PASSED",
       "regex 2026.11.19 _regex_core.py: an enum.IntFlag of the regex flags (nltk pickles RegexpTokenizer._flags as "
       "one): RegexFlag(value) looks a member up or composes a flag value (enum machinery); __repr__ formats member "
       "names, __str__ is object.__str__. No other methods")

_group("statsmodels.base.data.ModelData", "NEW ALLOC BUILD HASH PASSED CALL_INSTANCE",
       "statsmodels 0.15.0 base/data.py: the model's data holder (every fitted model keeps one as .data). No "
       "__new__, __del__, __call__ or __getattr__. __setstate__(d) is self.__dict__.update(d), except that with "
       "'restore_model_spec' in d (a model made from a formula) it first re-evaluates d['formula'] with "
       "FormulaManager.get_matrices in a captured frame (formula terms are Python expressions: code chosen by the "
       "file), so BUILD is admitted only with a plain dict state without that key",
       build_refuses=("restore_model_spec",))

_group("statsmodels.tsa.statespace.sarimax.SARIMAXResultsWrapper", "NEW ALLOC BUILD HASH PASSED CALL_INSTANCE",
       "statsmodels 0.15.0 tsa/statespace/sarimax.py, mlemodel.py (MLEResultsWrapper) and base/wrapper.py "
       "(ResultsWrapper); pmdarima 2.1.1 keeps one as ARIMA.arima_res_. No __new__, __del__, __call__ or "
       "__getattr__; __setstate__(d) is self.__dict__.update(d). CALL_INSTANCE (code holding it calls its methods "
       "by name): a name the class defines is found first (ResultsWrapper.__getattribute__ returns "
       "object.__getattribute__(self, name) when that succeeds): its own methods save/load/remove_data/__dir__ and "
       "the forwarding wrappers populate_wrapper set for cov_params/conf_int/predict/forecast/impulse_responses "
       "(call that method of SARIMAXResults on self._results, then results.model.data.wrap_output(obj, how) with "
       "`how` from _wrap_methods); any other name is forwarded: getattr(self._results, name), then "
       "results.model.data.wrap_output(obj, how) with `how` from _wrap_attrs. Both tables are class constants "
       "(strings 'columns', 'cov', 'rows', 'dates', 'ynames'), so BUILD is admitted only with a plain dict state "
       "that does not shadow them (a state `_wrap_attrs` would hand wrap_output, and its truth test and == "
       "comparisons, objects chosen by the file). Everything else the forwarding reaches is the state's own "
       "objects: _results, its model and the model's data are attributes set by BUILD, each ranked as called by "
       "the engine (CALL_INSTANCE of its class: ModelData/PandasData are reviewed for it), so a method looked up "
       "on them is their class's own",
       build_refuses=("_wrap_attrs", "_wrap_methods"),
       source_files=(("statsmodels.base.wrapper", "060b8d3904bb5aa34de99cd03f48f24b13a234c366f96416f01bea90f22f22a9"),
                     ("statsmodels.tsa.statespace.mlemodel",
                      "be4a8d89eabcc507bce1d17380cefb5130547ce2df6db250ac8550dd34b065ca"),
                     ("statsmodels.tsa.statespace.sarimax",
                      "ee8be16f023fa47fcd6ce21ae8957286d94b764e3f20898d4fa5a25a3ce8f5d4")))

_group("scipy.optimize._optimize.OptimizeResult", "NEW ALLOC MUTATE HASH PASSED CALL_INSTANCE",
       "scipy 1.17.1 optimize/_optimize.py and _lib/_util.py _RichResult: a dict subclass (statsmodels keeps one as "
       "_mle_retvals) rebuilt by NEWOBJ + SETITEMS; it overrides no __new__/__init__/__setitem__, and its "
       "__getattr__ returns self[name]. So SETITEMS is dict's C store, but APPENDS/ADDITEMS would look up "
       "extend/append/add through __getattr__ and call an item the file stored: only SETITEMS/SETITEM are "
       "admitted. __repr__ formats the items. Unhashable; no __call__ (calling an instance raises)",
       mutate_ops=("SETITEMS", "SETITEM"))
_group("statsmodels.genmod.families.varfuncs.VarianceFunction", "NEW ALLOC BUILD HASH PASSED CALL_INSTANCE",
       "statsmodels 0.15.0 genmod/families/varfuncs.py: the constant variance function a GLM family keeps as "
       ".variance (statsmodels calls it on the mean). Plain class, no __init__/__setstate__/__getattr__; "
       "__call__(mu) is np.ones(np.asarray(mu).shape, np.float64), deriv(mu) np.zeros_like: array math only")

# statsmodels' compiled state-space kernels (Cython: the source analysis cannot read the .so; reviewed from the
# .pyx.in templates shipped next to them, one class per dtype prefix s/d/c/z).
_SM_SS = "statsmodels.tsa.statespace"
_group(" ".join(f"{_SM_SS}.{module}.{prefix}{cls}" for module, cls in (
    ("_representation", "Statespace"), ("_kalman_filter", "KalmanFilter"), ("_kalman_smoother", "KalmanSmoother"),
    ("_simulation_smoother", "SimulationSmoother"), ("_initialization", "Initialization")) for prefix in "sdcz"),
    "CALL INVOKE BUILD HASH PASSED",
    "statsmodels 0.15.0 tsa/statespace/_{representation,kalman_filter,kalman_smoother,simulation_smoother,"
    "initialization}.pyx.in: cdef classes whose __reduce__ is (cls, init args, state dict). __init__ takes typed "
    "arguments only (typed memoryviews of the prefix's dtype, ints, floats, and the matching cdef Statespace/"
    "KalmanFilter/KalmanSmoother instances: Cython checks each type, anything else raises TypeError) and allocates "
    "work arrays; __setstate__ assigns state[key] to typed cdef attributes (memoryviews and numbers). No object-"
    "typed attribute holds a callable, no __dealloc__/__getattr__. statsmodels keeps the classes in its "
    "prefix maps (called by its own code with its own arrays); __call__ (filter/smoother runs) is not admitted")
_group(f"{_SM_SS}.initialization.Initialization", "NEW ALLOC BUILD HASH PASSED CALL_INSTANCE",
       "statsmodels 0.15.0 tsa/statespace/initialization.py: a plain class (no __new__/__setstate__/__getattr__/"
       "__setattr__/__del__; dict state goes into __dict__). statsmodels calls it as model.initialization(...): "
       "__call__ fills initial state mean and covariance arrays with numpy (eye, zeros, linalg.solve, "
       "solve_discrete_lyapunov on the model's matrices) and calls its block Initializations (objects in its "
       "state, ranked on their own); __setitem__ (not admitted) sets block types")
_group(f"{_SM_SS}.kalman_smoother.SmootherResults", "NEW ALLOC BUILD INVOKE HASH PASSED CALL_INSTANCE",
       "statsmodels 0.15.0 tsa/statespace/kalman_smoother.py and kalman_filter.py FilterResults, representation.py "
       "FrozenRepresentation: a results snapshot. The class is kept as the smoother's results_class and called "
       "by statsmodels with its own KalmanSmoother: __init__ sets the listed attributes to None and copies the "
       "model's dimensions, matrices (.copy()) and option flags. No __new__/__setstate__/__getattr__/__del__/"
       "__call__ (calling an instance raises); dict state goes into __dict__")
_group(f"{_SM_SS}.simulation_smoother.SimulationSmoothResults", "INVOKE",
       "statsmodels 0.15.0 tsa/statespace/simulation_smoother.py: kept as simulation_smooth_results_class and called "
       "by statsmodels with its own model and Cython simulation smoother: __init__ (behind deprecate_kwarg, a "
       "keyword rename) stores them, a numpy Generator from check_random_state(rng), and option flags")

_group("transformers.tokenization_utils_tokenizers.TokenizersBackend "
       "transformers.models.bert.tokenization_bert.BertTokenizer", "NEW ALLOC BUILD PASSED",
       "transformers 5.24.0 tokenization_utils_tokenizers.py / tokenization_utils_base.py: a pickled fast tokenizer "
       "is NEWOBJ + BUILD with the instance __dict__ (the Rust tokenizers.Tokenizer under _tokenizer, special tokens, "
       "init kwargs: each ranked on its own). No class of the MRO (BertTokenizer, TokenizersBackend, "
       "PreTrainedTokenizerBase, PushToHubMixin) defines __new__, __setstate__, __getattribute__ or __del__. BUILD "
       "looks __setstate__ up: PreTrainedTokenizerBase.__getattr__('__setstate__') is neither a special-token name "
       "(SPECIAL_TOKENS_ATTRIBUTES, *_id, *_ids) nor extra_special_tokens, is in no class's vars, so it raises "
       "AttributeError; CPython's load_build then writes a dict state into __dict__ directly, running no code. "
       "Slot state would go through PreTrainedTokenizerBase.__setattr__ (converts ids with the tokenizer): only "
       "dict state is admitted. Calling the classes (from_pretrained machinery, file I/O) is denied",
       build_dict_only=True)

#: Hugging Face configs a pickled full model keeps as ``.config`` (transformers 5.24.0): (class under
#: ``transformers.models``, sha256 of its ``configuration_*.py``). Produced by introspecting the installed classes,
#: not typed from memory: ``tests/test_hf_full_models.py::test_the_config_table_is_what_introspection_finds``
#: recomputes every fact the note below states (MRO, the dunders each class defines, ``attribute_map`` keys, the
#: file digests, and those of the shared machinery in ``HF_CONFIG_MACHINERY``) and fails on any other release or a
#: local edit.
HF_CONFIG_MACHINERY: tuple[tuple[str, str], ...] = (
    ("transformers.configuration_utils", "3b358ad7c828be489376bc79ec05dc1ec81af0154bb50aaec30a39fe83de1e81"),
    ("transformers.integrations.heterogeneity.configuration_utils",
     "219b6bdda0fa44b28ad3ef4c77d271367996bc84b03365e467974a82fce4c5dd"),
    ("transformers.modeling_rope_utils", "2563c5391dd01aeebed93f253c07a62cc0941f8137e3cd0c6e95646694d0b0f9"),
)
HF_CONFIGS: tuple[tuple[str, str], ...] = (
    ("bert.configuration_bert.BertConfig", "7571591482cb348896e46789f272325cab38a0225b12c1c65a5d4dbbdcdf913b"),
    ("gpt2.configuration_gpt2.GPT2Config", "f3523d6f14043b56dc235bef3445b3d1beec5b1336460a5599223f85fa1ac995"),
    ("llama.configuration_llama.LlamaConfig", "049f7a130f0701d15fc1c130db44535ef24fd4660fe9373c40904e963077e5b1"),
    ("distilbert.configuration_distilbert.DistilBertConfig",
     "5a5af5321e1315512f9da58c5d682fb79b059e14adc586c9fa79a3049272807b"),
    ("roberta.configuration_roberta.RobertaConfig", "c1023a65f7322c2bc6f4473b4387fefea0352415170edd11d902db1ccf8fc512"),
    ("t5.configuration_t5.T5Config", "eb02286f74ce1b9498b42c3f6de55cb3d33b85973853330db4c7421f05f4ea4a"),
    ("mistral.configuration_mistral.MistralConfig", "fee84e78b9025aa792d31cdc01d20a6ad7d2d7a5de2cd22a26e8c51f67e7554f"),
    ("qwen2.configuration_qwen2.Qwen2Config", "ed455fd63d9f6eb17026537421347be6471fc6b84387aecb9e9a03162c004d11"),
    ("bart.configuration_bart.BartConfig", "b3d618cb87e310f6b674686e19babfe6cd7c4e871265d0de4ead7a9b2928e7e3"),
    ("vit.configuration_vit.ViTConfig", "0ec851794e2692154466915ecd7344ab77f42b8c1ca7832078bfe9e5af5e506c"),
    ("whisper.configuration_whisper.WhisperConfig", "0b801baaa0bfe0cd527fc4f4712fdc5e517883e20b801eeb8aad2556c4c29b48"),
)
_HF_CONFIG_NOTE = (
    "transformers 5.24.0 configuration_utils.py and the models' configuration_*.py (digests in HF_CONFIGS): the "
    "config a pickled full model keeps as .config is NEWOBJ (object.__new__: the MRO of each is the class, "
    "PreTrainedConfig, PushToHubMixin, RotaryEmbeddingConfigMixin, HeterogeneousConfigMixin, object, metaclass "
    "type; none defines __new__, __setstate__, __getattr__, __del__, __call__, __reduce__/__reduce_ex__ or "
    "__getstate__; the model classes define only the dataclass __init__/__eq__/__hash__, the @strict "
    "__setattr__ and sometimes __post_init__) + BUILD with the instance __dict__. BUILD looks __dict__ and "
    "__setstate__ up through PreTrainedConfig.__getattribute__ (maps the name through attribute_map, read from "
    "the instance dict first, else the class's library dict: no dunder key in any class's map) and "
    "HeterogeneousConfigMixin.__getattribute__ (reads _heterogeneity_spec from the instance dict: absent on the "
    "fresh object), then object.__getattribute__ raises AttributeError, so load_build writes a dict state into "
    "__dict__ directly (the @strict/dataclass __setattr__ validators and __post_init__ are bypassed). A state "
    "holding 'attribute_map' or '_heterogeneity_spec' would steer those two hooks on a later BUILD or attribute "
    "read (a '__setstate__' alias to save_pretrained, a file object's __contains__): refused. Slot state would "
    "run the validating __setattr__: only dict state is admitted. Calling the classes is not permitted")
for _config, _digest in HF_CONFIGS:  # each entry holds only while its file and the machinery hash as read
    _group(f"transformers.models.{_config}", "NEW BUILD CALL_INSTANCE", _HF_CONFIG_NOTE,
           build_refuses=("attribute_map", "_heterogeneity_spec"),
           source_files=((f"transformers.models.{_config.rsplit('.', 1)[0]}", _digest), *HF_CONFIG_MACHINERY))

_group("scipy.stats._discrete_distns.poisson_gen._entropy", "INVOKE",
       "scipy 1.17.1 stats/_distn_infrastructure.py: rv_discrete._attach_methods keeps vecentropy = "
       "numpy.vectorize(self._entropy), so a pickled frozen distribution holds this bound method (poisson_gen "
       "inherits rv_discrete._entropy). _entropy(*args) returns stats.entropy(self.pk) or sums entr(self._pmf(x)) "
       "over the support with _expect (numeric); methods it calls on the instance are its class's (an attribute "
       "set by BUILD that shadows one is ranked as called)")

# scikit-survival 0.28.0: a fitted CoxPHSurvivalAnalysis keeps a BreslowEstimator (analysed from source) whose
# cum_baseline_hazard_ and baseline_survival_ are StepFunctions. The source analysis stops at StepFunction.__call__,
# which computes with numpy on numpy results (np.isfinite(x).all(), array indexing): reviewed here, bound to the
# hash of sksurv/functions.py (any other text sends the name back to the analysis).
_group("sksurv.functions.StepFunction", "NEW ALLOC BUILD HASH PASSED CALL_INSTANCE",
       "scikit-survival 0.28.0 sksurv/functions.py (imports numpy and sklearn.utils.validation only): a plain class "
       "(base object, metaclass type; no __new__, __init_subclass__, __setstate__, __getattr__, __getattribute__, "
       "__setattr__, descriptors other than the read-only `domain` property, __del__ or __reduce__), so NEWOBJ is "
       "object.__new__ and a dict state updates __dict__ without running code (slot state is not admitted). "
       "__eq__ without __hash__ makes instances unhashable (hashing raises TypeError). __call__(x) is numpy on its "
       "argument and the state's x/y/a/b/_domain: atleast_1d, isfinite(...).all(), min/max comparisons with the "
       "domain (an f-string with :f in the ValueError message), clip, searchsorted, fancy indexing, a * y[i] + b; "
       "__repr__ formats x/y/a/b with !r. Nothing is imported, opened or called beyond numpy on those values (state "
       "values of other classes are ranked on their own). Calling the class (__init__: check_consistent_length, "
       "float() of the domain) is not admitted: pickles NEWOBJ it",
       build_dict_only=True,
       source_files=(("sksurv.functions", "7b48d5aa712dc87a08eea8e7d7c8070f6a114c2a0e380de2ea9f74b4380c58ab"),))

_group("torch._C.TensorBase", "HASH",
       "torch 2.13: the compiled base of torch.Tensor. TensorBase defines no __subclasshook__ and its metaclass "
       "torch._C._TensorMeta only __init__ (source_tables.KNOWN_METACLASSES), so isinstance(x, torch.Tensor) "
       "(nn.Module.__setattr__, Parameter's metaclass) is type's own check. Referenced, never called or rebuilt")

#: TorchBind classes whose C++ ``__setstate__`` a pickled ``torch.ScriptObject`` may select (torch 2.13.0+cpu: the
#: registered classes with a ``__setstate__`` are listed by ``torch._C._jit_get_custom_class_schemas()``; these are
#: the quantization ones ``torch.ao`` builds). Not admitted: ``mkldnn.ConvOpContext`` (no corpus need) and
#: ``aten.OpaqueObject`` (a string state for torch.compile's opaque Python objects).
TORCHBIND_SETSTATE_REVIEWED = (
    "__torch__.torch.classes.quantized.LinearPackedParamsBase",
    "__torch__.torch.classes.quantized.Conv2dPackedParamsBase",
    "__torch__.torch.classes.quantized.Conv3dPackedParamsBase",
    "__torch__.torch.classes.quantized.EmbeddingPackedParamsBase",
    "__torch__.torch.classes.rnn.CellParamsBase",
    "__torch__.torch.classes.sparse.LinearPackedParamsBase",
)
_group("torch.ScriptObject", "NEW BUILD CALL_INSTANCE",
       "torch 2.13.0: how torch.save pickles a TorchBind object (a quantized model's packed weights): "
       "copyreg.__newobj__(torch.ScriptObject) -- pybind11's __new__, which allocates an empty holder -- then BUILD "
       "with (payload, qualified class name). ScriptObject.__setstate__ (C++) looks the name up among the "
       "registered TorchBind classes (an unknown one raises), creates an object of that class and calls its C++ "
       "__setstate__ with the payload cast to the schema's types (tuples of tensors, ints, floats, strings: a "
       "value of another type raises 'Unable to cast'). The name selects native code, so BUILD is admitted only "
       "with a 2-tuple whose name is a literal among TORCHBIND_SETSTATE_REVIEWED, whose __setstate__ unpack and "
       "re-pack weights (aten/src/ATen/native/quantized: register_linear_params, register_conv_params, "
       "register_embedding_params, the RNN CellParamsBase; ao_sparse: LinearPackedParamsBase): tensor compute, "
       "no I/O. Verified on torch 2.13.0+cpu: an unregistered name and a class without __setstate__ raise; the "
       "payload may hold only plain data, tensors torch rebuilds and nested ScriptObjects (the C++ cast runs "
       "__index__/__iter__... of anything else: red team R7-3). ScriptObject defines no __call__ "
       "(calling an instance raises TypeError): the engine's instance-called use, set by the module attribute "
       "that holds it (LinearPackedParams._packed_params), runs nothing",
       build_state=("torchbind_state", TORCHBIND_SETSTATE_REVIEWED))

# joblib 1.6.0 memory.py, the Memory an estimator keeps as its `memory` parameter (hdbscan 0.8.44's default is
# Memory(None, verbose=0)). deny.py denies the module whole; DENY_NARROWED lets exactly these uses through.
_group("joblib.memory.Memory", "NEW BUILD CALL_INSTANCE",
       "joblib 1.6.0: Memory and its base Logger define no __new__, __setstate__, __reduce__, __getattr__, "
       "__setattr__ or __del__: copyreg.__newobj__ allocates it and BUILD updates its __dict__ (what joblib.dump "
       "writes: Memory.__getstate__ is the __dict__ with timestamp None). The state is admitted only without a store "
       "backend or location (the joblib_memory_state contract: Memory(None), whose cache(f) returns "
       "NotMemorizedFunc(f) and touches no disk) and with only the attributes __getstate__ writes, as plain data. "
       "No __call__: calling an instance raises TypeError",
       build_state=("joblib_memory_state", ()))
# hdbscan 0.8.44 dist_metrics.pyx (Cython; the .pyx is shipped beside the binary, whose import is reviewed in
# source_tables.REVIEWED_COMPILED_IMPORTS): DistanceMetric.__reduce__ is (newObj, (cls,), (p, vec, mat)); newObj(obj)
# is obj.__new__(obj) (modelled by the newobj contract: a NEW use of the class the file names); __cinit__ allocates
# 1-element arrays; __setstate__ stores p (a C double), vec and mat (typed np.ndarray attributes: anything else
# raises TypeError) and takes their data pointers. PyFuncDistance (stores and later calls a function from the state)
# is not admitted.
_group("hdbscan.dist_metrics.newObj", "INVOKE", "modelled by the newobj contract when called: obj.__new__(obj)")
_group(" ".join(f"hdbscan.dist_metrics.{kind}Distance" for kind in (
    "Arccos BrayCurtis Canberra Chebyshev Dice Euclidean Hamming Haversine Jaccard Kulsinski Mahalanobis Manhattan "
    "Matching Minkowski RogersTanimoto RussellRao SEuclidean SokalMichener SokalSneath WMinkowski").split())
    + " hdbscan.dist_metrics.DistanceMetric",
    DATA, "hdbscan 0.8.44 distance metrics (Cython): __cinit__ allocates parameter arrays, __init__ stores numeric "
    "parameters, __setstate__ restores p and two typed ndarrays; no __call__")
#: polars 2.1.0: the modules the DataFrame/Series review read. polars/__init__ (its import: THIRD_PARTY_REVIEWED
#: in catalog/_gen/closure.py), polars/_plr.py (picks the compiled runtime and refuses one whose version is not
#: 2.1.0, so the pin also binds the Rust reader reviewed), the classes' own modules.
POLARS_REVIEWED_FILES = (
    ("polars", "c7272f5353f1d8d80184be4607f3f5975efce0ddd8a4c1d91354b2aac12b12a1"),
    ("polars._plr", "4a5fae6d1499e6bad08ea1513fe48f804183a0035b820992f6bece9d51b252ea"),
    ("polars._cpu_check", "54cdaf87454a4c8aa95cb0778339b6332aab51509d2a12dde0ec52c5ff84a4cb"),
    ("polars.dataframe.frame", "7d7fbc5bebc1eacb5ca92a8145ad68be4bd84b0c6340e02c014b4b9c2574f9ee"),
    ("polars.series.series", "8fff4b04a1afe96e31cb19bf7fe6854ac2660d2dec157ee8fdc7ad17675bcdb4"),
)
#: The metadata keys polars 2.1.0 writes into a pickled frame's Arrow schema: the column flags (JSON list of u32)
#: on the schema, the categorical/enum descriptions on a field. Any other key (above all ARROW:extension:*) refuses.
POLARS_IPC_KEYS = ("schema:_PL_FLAGS", "field:_PL_CATEGORICAL2", "field:_PL_ENUM_VALUES2")
_group("polars.dataframe.frame.DataFrame polars.series.series.Series", "NEW ALLOC BUILD",
       "polars 2.1.0 (polars-runtime-32 2.1.0): pickle writes copyreg.__newobj__/NEWOBJ of the class with no "
       "arguments (protocols 0-1: copyreg._reconstructor(cls, object, None)), i.e. object.__new__: neither class "
       "defines __new__; Series' metaclass _Meta defines only a class "
       "__getattr__ for removed attributes; no __init_subclass__, __del__, __call__, __getattribute__ or "
       "__setattr__; __hash__ is None) then BUILD with bytes. DataFrame.__setstate__(state) runs "
       "self.deserialize(BytesIO(state)) -> PyDataFrame.deserialize_binary (Rust, polars-python "
       "dataframe/serde.rs): DataFrame::deserialize_from_reader (polars-core serde/df.rs) reads an Arrow IPC "
       "stream (read_stream_metadata + StreamReader), builds columns from the schema and sets the column "
       "statistics flags parsed as JSON Vec<u32> from the schema metadata _PL_FLAGS. Series.__setstate__ builds "
       "an empty Series() (no file input) and calls PySeries.__setstate__ (polars-python series/general.rs), which "
       "extracts bytes (PyBackedBytes: bytes/bytearray only, no protocol call) and reads the same stream as a "
       "one-column frame (Series::deserialize_from_reader). What can run besides the reader: an Arrow extension "
       "type (field metadata ARROW:extension:name) whose name is registered in the process makes polars call "
       "that Python class's ext_from_params (verified on 2.1.0 with a marker: it runs at pickle.load), and "
       "POLARS_EXTENSION_TYPE is the Object dtype's extension (Python objects behind pointers). Categorical/enum "
       "fields carry _PL_CATEGORICAL2/_PL_ENUM_VALUES2 (category names, registered in polars' own category "
       "registry: data). So BUILD is admitted only under the polars_ipc contract: a literal bytes state that "
       "catalog/arrow_ipc.py reads whole as an IPC stream of the Arrow types polars writes, with only the "
       "metadata keys POLARS_IPC_KEYS (no extension type), no compression, buffers inside their bodies. "
       "Importing polars: reviewed in THIRD_PARTY_REVIEWED (sets os.environ['_RJEM_MALLOC_CONF'] for its own "
       "jemalloc, CPU feature check, Rust runtime init; no file, process or socket). Calling the classes (their "
       "__init__ converts arbitrary Python data, calling its methods) is not admitted. LazyFrame is not "
       "admitted: its state is a serialized plan that may hold cloudpickled Python UDFs",
       build_state=("polars_ipc", POLARS_IPC_KEYS), source_files=POLARS_REVIEWED_FILES)

#: xarray 2026.9.0: the modules defining the classes of the MRO of DataArray, Dataset, Variable and IndexVariable
#: (sha256 of each file). The entries below hold only while every one hashes as read.
XARRAY_REVIEWED_FILES = (
    ("xarray.computation.arithmetic", "5aadc161b6082b10758f9f627879ad235d930b363eab7fc8620e7cb2a76337ff"),
    ("xarray.computation.ops", "9007a24b0c5d17f14c49a8dc7b4eb60f159f05dbf5e2597afd85bda78883c26d"),
    ("xarray.core._aggregations", "480414dd235fb141d154f1a1f836a6f87574d3ec588054191f41fe4da81c3db8"),
    ("xarray.core._typed_ops", "77d04de324babd11f1cb94b9a17cdd8a05fdf5e52cf738051bc8768365b4d7d3"),
    ("xarray.core.common", "e4893c3e7ea6f15edef1f21d3e757cbceb616c92b5d25f70014d60afa530a2f8"),
    ("xarray.core.dataarray", "2d628b5531a89373c39e04659b10b4c5c31d5e620b60c3554677eb230379bd02"),
    ("xarray.core.dataset", "63cdf55d55a3e79a6cb4fb96b6ffb814123280e02e4b40c4628d9140222d08dc"),
    ("xarray.core.variable", "788cac36d57306ae40309df19e3f72c25ca2a4c12f186adc59cd525bcabcb5c6"),
    ("xarray.namedarray._aggregations", "bb2f254ccff613da90b18eab9ca8821709be58137d1db216ce51a4287db9ec29"),
    ("xarray.namedarray.core", "c4a383edfd5a2eb08aec4f34df79d47e59eb1b483ed3851843ceae0875011dcf"),
)
#: class -> the slots a pickled object's state may set (``slot_state`` contract; ``none:<slot>`` only to None).
#: Not admitted: ``_cache`` (DataArray/Dataset keep their accessor objects there: ``da.plot``, ``da.str`` return
#: what it holds, so a file's object would be called by ordinary use) and ``__weakref__`` (read-only).
XARRAY_SLOTS: dict[str, tuple[str, ...]] = {
    "xarray.core.dataarray.DataArray": ("_close", "_coords", "_indexes", "_name", "_variable", "none:_close"),
    "xarray.core.dataset.Dataset": ("_attrs", "_close", "_coord_names", "_dims", "_encoding", "_indexes",
                                    "_variables", "none:_close"),
    "xarray.core.variable.Variable": ("_attrs", "_data", "_dims", "_encoding"),
    "xarray.core.variable.IndexVariable": ("_attrs", "_data", "_dims", "_encoding"),
}
_XARRAY_NOTE = (
    "xarray 2026.9.0 (files in XARRAY_REVIEWED_FILES; the facts below are recomputed by introspection in "
    "tests/test_xarray_reviews.py): pickle writes copyreg.__reduce_ex__'s default for a class with __slots__: "
    "NEWOBJ of the class with no arguments, then BUILD with (None, {slot: value}). No class of the MRO defines "
    "__new__, __setstate__, __getattribute__, __del__, __call__ or __set_name__ users; metaclass type (Dataset: "
    "abc.ABCMeta through collections.abc.Mapping, whose __new__/__call__ do not run for NEWOBJ), so NEWOBJ is "
    "object.__new__. The whole MRO is slotted (no __dict__). BUILD looks __setstate__ up: DataArray and Dataset "
    "inherit AttrAccessMixin.__getattr__, which for '__setstate__' and '__dict__' skips its attribute sources and "
    "raises AttributeError at once (Variable has no __getattr__), so load_build setattr()s each slot: "
    "AttrAccessMixin.__setattr__ (DataArray, Dataset) is object.__setattr__ with a reworded AttributeError; every "
    "admitted name is a member descriptor of the class (no property of the same name anywhere in the MRO), so the "
    "value is stored and nothing runs. The slot names are restricted by the slot_state contract (a property "
    "such as Variable.data has a setter that converts the value; _cache holds accessor objects that ordinary use "
    "calls; _close must be None: close() calls it). The values are ranked on their own by the engine (attributes "
    "as possibly called). The class-creation hooks (AttrAccessMixin, IncludeNumpySameMethods, NamedArray) are "
    "reviewed in source_tables. No __call__: calling an instance raises TypeError. Calling the classes, hashing "
    "or passing instances to code that runs their protocol methods (array computations) is not admitted")
for _name, _slots in XARRAY_SLOTS.items():
    _group(_name, "NEW BUILD CALL_INSTANCE", _XARRAY_NOTE, build_state=("slot_state", _slots),
           source_files=XARRAY_REVIEWED_FILES)

#: sympy 1.14.0: the modules the expression review read (the classes' own, sympify, the Basic/Expr protocol, the
#: decorators and singleton metaclass their methods go through). The entries hold only with exactly this text.
SYMPY_REVIEWED_FILES = (
    ("sympy.core.basic", "23366fb3b88870cbd5f3f6ad85d3819c8bc1609837f2486e3b67c026d77bb931"),
    ("sympy.core.expr", "1d1ff1ce1eb6ef714199d7cd6e8806ce45a8a9a23f93f09e20e9e99b2cf00ab4"),
    ("sympy.core.symbol", "d31c20c53ed97e13e3abcee0970d8242ae4cb4810ef833ab0285eeedb1f0585a"),
    ("sympy.core.numbers", "584912d4927da2ffa7e215efc70ac7d4d3e290d9720428cb379bfe8ce671becc"),
    ("sympy.core.add", "4dd770b22719151e3212d5539199a4cc5b67f677409617da77bbc98840abea8e"),
    ("sympy.core.mul", "ae30a2c8eab1320513591f2c01c9a29517d02eea7dc2ff088fbb3b2487d49153"),
    ("sympy.core.power", "14949845fd12de9935246915cb791d5964043619a95667be3dff524b645ce921"),
    ("sympy.core.operations", "ff08e1317f8c0fa73250d28273d2bf431cb1a5e1b85907a1772a68d05a7be863"),
    ("sympy.core.function", "cb4bc47576940fcb613f75dab1956492882a5ce181d1cb362677c711ae033634"),
    ("sympy.core.relational", "86d6c64f4bafce8603d3b43afe1753d220c3b27b343432366a69745bc9ad0203"),
    ("sympy.core.sympify", "d6f5a1787e3af47a88087ac00cc63f9384f878342518e44d8c487b45ee166e61"),
    ("sympy.core.singleton", "d947a36bc189fb4f9cbc1ce5a8fc0bf6107d78eb63ac915757a9a40d93b5069e"),
    ("sympy.core.decorators", "34ede87bbc883b8abee95bf2daf4e92004bc18623e2478c438419e02ff7bbe86"),
    ("sympy.functions.elementary.trigonometric", "6f6984d92a4d8f42d933701c8a95b416b8edbab022f68ce28cadcf86ac9f09b3"),
    ("sympy.functions.elementary.exponential", "1a80e55013dc9a946361e85164ea281746c84922bfa31a49964a9a13f28d4de4"),
)
#: sympy 1.14.0 core/assumptions.py ``_assume_defined``: the keywords Symbol.__getnewargs_ex__ can write
#: (``_assumptions_orig``, bools after ``Symbol._sanitize``)
SYMPY_ASSUMPTIONS = tuple(
    "algebraic antihermitian commutative complex composite even extended_negative extended_nonnegative "
    "extended_nonpositive extended_nonzero extended_positive extended_real finite hermitian imaginary infinite "
    "integer irrational negative noninteger nonnegative nonpositive nonzero odd polar positive prime rational real "
    "transcendental zero".split())
_SYMPY_USES = "NEW HASH"
_SYMPY_NOTE = (
    "sympy 1.14.0, issue 14 (pickled expressions). How they are pickled: Basic.__reduce_ex__ refuses protocols < 2 "
    "and returns object.__reduce_ex__(protocol), i.e. copyreg's reduce_newobj: NEWOBJ (NEWOBJ_EX when "
    "__getnewargs_ex__ gives keywords) of the class with Basic.__getnewargs__ = self.args, Integer/Rational's "
    "(p,)/(p, q), Symbol.__getnewargs_ex__ ((name,), _assumptions_orig); __getstate__ is None (no BUILD; Basic's and "
    "Symbol's __setstate__ setattr every key, so BUILD stays refused). The danger: Application.__new__ (every "
    "Function: sin, exp) runs non-strict sympify on each argument and Rational.__new__ on a non-int p; "
    "sympify(str) reaches parse_expr, which evals Python (the only parse_expr call in sympy/core, "
    "core/sympify.py:507); a tuple goes through Tuple(*a), whose items are sympified non-strictly. Non-str values do "
    "not get there: an object with __sympy__ True is returned as is; Add/Mul (AssocOp.__new__), Pow.__new__ and "
    "Equality.__new__ use strict _sympify; Symbol.__new__ only stores the name (isinstance(name, str), Expr.__new__, "
    "obj.name = name; the lru cache hashes it) and Symbol._sanitize bool()s the assumption values, "
    "_canonical_assumptions builds a StdFactKB of them; Integer.__new__ int()s its argument, Rational.__new__ takes "
    "ints as they are; the singletons' __new__ takes no argument (AtomicExpr.__new__); the Basic/Expr operators "
    "and comparisons sympify the other operand strictly (__sympifyit, sympify_return, Rational.__eq__), but strict "
    "sympify converts a tuple or dict by Tuple(*t)/Dict(*d.items()), which sympify their items NON-strictly: "
    "x < ('code',) parses the str (red team R10-1: builtins.max called by builtins.map on a Symbol and such a "
    "tuple), so instances are not admitted as arguments of other calls (no PASSED; the arguments of an "
    "instantiation the contract admitted are not handed on: engine/semantics.py). Hashed (dict key, set item): "
    "Basic.__hash__ is hash((class name,) + _hashable_content()), Integer's hash(p); Basic.__eq__ with a non-Basic "
    "runs only external converters and _sympy_, Rational/Integer.__eq__ _sympify the other key, which has the same "
    "hash: an equal-hash tuple holds no str but the class name (str hashes are salted per process). Evaluation "
    "(AssocOp.flatten, Pow, sin.eval, exp.eval, is_eq for Equality) computes with the numbers in the arguments; "
    "constructor postprocessors are keyed on matrix/quantum/vector argument classes, none of which these make. "
    "So NEWOBJ/NEWOBJ_EX is admitted only under the sympy_new argument contract (catalog/state_contracts.py): "
    "positional arguments are objects made by instantiations the same contract admitted in this stream (Add, Mul, "
    "Pow, sin, exp, Equality), plain ints (Integer, Rational), one plain str name (Symbol, with bool assumption "
    "keywords) or none (the singletons); with a bound on the bits of the numbers the evaluation can compute (Pow "
    "of numbers raises them at load: Integer(9)**Integer(10**9) would hang it). Any str, bytes, container, call "
    "result of another name, memo value of other provenance, REDUCE of the class or instantiation by a helper "
    "(copyreg.__newobj__) is refused. The import of sympy is vouched (IMPORT_REVIEWED: Basic.__init_subclass__ "
    "prepares each class's assumptions at class creation, i.e. at import; NEWOBJ makes no class). Instances are not "
    "callable by the file (Symbol.__call__ builds Function(name)(*args), which sympifies non-strictly)")
_group("sympy.core.add.Add sympy.core.mul.Mul", _SYMPY_USES, _SYMPY_NOTE,
       arguments=("sympy_new", ("args:basic", "arity:*")),
       source_files=SYMPY_REVIEWED_FILES)
# red team R10-2: evaluating exp/sin of a sum works per term (~0.1 ms a slot), Equality's is_eq about size**2.8
_group("sympy.functions.elementary.trigonometric.sin sympy.functions.elementary.exponential.exp", _SYMPY_USES,
       _SYMPY_NOTE, arguments=("sympy_new", ("args:basic", "arity:1", "cost:100")),
       source_files=SYMPY_REVIEWED_FILES)
_group("sympy.core.power.Pow", _SYMPY_USES, _SYMPY_NOTE, arguments=("sympy_new", ("args:basic", "arity:2", "pow")),
       source_files=SYMPY_REVIEWED_FILES)
_group("sympy.core.relational.Equality", _SYMPY_USES, _SYMPY_NOTE,
       arguments=("sympy_new", ("args:basic", "arity:2", "cost:square")),
       source_files=SYMPY_REVIEWED_FILES)
_group("sympy.core.numbers.Integer", _SYMPY_USES, _SYMPY_NOTE, arguments=("sympy_new", ("args:int", "arity:1")),
       source_files=SYMPY_REVIEWED_FILES)
_group("sympy.core.numbers.Rational", _SYMPY_USES, _SYMPY_NOTE, arguments=("sympy_new", ("args:int", "arity:1-2")),
       source_files=SYMPY_REVIEWED_FILES)
_group("sympy.core.numbers.Zero sympy.core.numbers.One sympy.core.numbers.NegativeOne", _SYMPY_USES, _SYMPY_NOTE,
       arguments=("sympy_new", ("arity:0", "bits:2")), source_files=SYMPY_REVIEWED_FILES)
_group("sympy.core.numbers.Half", _SYMPY_USES, _SYMPY_NOTE, arguments=("sympy_new", ("arity:0", "bits:3")),
       source_files=SYMPY_REVIEWED_FILES)
_group("sympy.core.symbol.Symbol", _SYMPY_USES, _SYMPY_NOTE,
       arguments=("sympy_new", ("args:name", "arity:1", *(f"kw:{name}" for name in SYMPY_ASSUMPTIONS))),
       source_files=SYMPY_REVIEWED_FILES)

#: sympy 1.14.0: the modules the matrix review read (the classes' own and their bases', the decorator on the
#: domain classes). The entries hold only with exactly this text. A matrix's entries are admitted by the
#: expression entries, which hold only with theirs (SYMPY_REVIEWED_FILES).
SYMPY_MATRIX_REVIEWED_FILES = (
    ("sympy.matrices.dense", "1d33cd30a6e2d8cd16d271c898db4789bf49339542f2c8bdf6574bfc5ca52b04"),
    ("sympy.matrices.repmatrix", "776be77bda8d9f572eedd41b09d91fb4c3da740f3b7af18c6a813b2e4c5a6171"),
    ("sympy.matrices.matrixbase", "b27a6ff990458be091b5f33063d96e9124cfa442d55e6245d7a1a7f313d5df22"),
    ("sympy.printing.defaults", "622b4b7c845f147f25b4d775f18e98b4182ae47dad7b4c052a51ee20ee1cbe8f"),
    ("sympy.polys.matrices.domainmatrix", "32f8d647343894acd7dab0a5f2646da6221749eeb8d7fc7a38cad3afc8ac70f0"),
    ("sympy.polys.matrices.sdm", "6dbd9f20ee362a3c89b84b8c064883167fea2c95630f882c460599e863a64c7c"),
    ("sympy.polys.domains.expressionrawdomain", "7176ab0f68d78bdec518d8aa3620ea4255f483beb8116d8cd4f11baef7889a76"),
    ("sympy.polys.domains.field", "7d1d25eb0648bf4d94309e6b8a810ff75d23194562571dfc11dc2d26e257e6f8"),
    ("sympy.polys.domains.ring", "a7ae94d97e7c69c4872c7c4e4d4e9a259d1499d72ed6a8862140ed57c889083d"),
    ("sympy.polys.domains.characteristiczero", "bc76115173eb7c9cc317cc2b77529216a1bc5b3c1f2133ff7b0780f921cf5580"),
    ("sympy.polys.domains.simpledomain", "fcaf99cfc3a97f9d39af77874ab6cf0259c68864a363f3b80b06b839378e4a86"),
    ("sympy.polys.domains.domain", "6a3f473a9f7c1b69b6e704734838f8956ce844b1b25c3b2e7afcd271d1e357aa"),
    ("sympy.utilities.decorator", "35a6413420dd3211b8ff77ac10e2d909b55072396dbe2de5acc2110aa7b07d1e"),
)
_SYMPY_MATRIX_NOTE = (
    "sympy 1.14.0, issue 14 (pickled matrices). How a Matrix pickles: MutableDenseMatrix (sympy.Matrix) defines no "
    "__reduce__/__getstate__/__getnewargs__ (its MRO: DenseMatrix, MutableRepMatrix, RepMatrix, MatrixBase, "
    "Printable, object), so object.__reduce_ex__ writes NEWOBJ with () and BUILD with its __dict__ {rows, cols, "
    "_rep} (set by MutableRepMatrix._fromrep, repmatrix.py:586-590). NEWOBJ runs MutableRepMatrix.__new__ -> "
    "cls._new() -> _handle_creation_inputs() with no argument: rows = cols = 0, flat_list = [] (matrixbase.py:4012), "
    "then an empty DomainMatrix (repmatrix.py:184-221); any argument is converted (sympify, a callable called per "
    "cell, __array__), so exactly none is admitted (contract sympy_matrix). BUILD: no __setstate__, __getattr__ or "
    "__setattr__ in the MRO, so load_build writes the dict into __dict__ (contract sympy_matrix_state: exactly "
    "rows, cols, _rep; _rep the DomainMatrix an admitted REDUCE made; rows/cols its shape). _rep pickles by "
    "DomainMatrix.__reduce__ (domainmatrix.py:180): (DomainMatrix, (dict(rep), rep.shape, rep.domain)) for the "
    "sparse SDM every explicit matrix of expressions has (a dense DDM would write a list of lists: not admitted). "
    "REDUCE calls DomainMatrix.__new__ (no __init__): a dict goes to SDM(rows, shape, domain) (sdm.py:78-86: "
    "dict.__init__ copies the outer dict, m, n = shape, 0 <= r < m for each row key, 0 <= c < n for each column "
    "key of each row dict; the entries are stored, never read), rep.fmt is 'sparse' so no DFM conversion, and "
    "from_rep stores rep, shape, domain. Nothing computes with the entries at load (no sympify, no domain "
    "conversion, no determinant or simplification); they are read later by the matrix's operations through the "
    "domain: ExpressionRawDomain (EXRAW) uses them as they are (from_sympy/to_sympy return them; new() would "
    "sympify, which is why entries must be objects the sympy_new contract admitted, never a str or container). "
    "The domain pickles as NEWOBJ of ExpressionRawDomain with () and no state (empty __dict__); its __new__ is "
    "object.__new__ (the MRO Field, Ring, CharacteristicZero, SimpleDomain, Domain defines none; Domain.__init__ "
    "is not run by NEWOBJ); @public only appends the name to the module's __all__ (decorator.py) and returns the "
    "class. So: DomainMatrix is admitted only when called (REDUCE) under the sympy_matrix_rep contract "
    "(catalog/state_contracts.py): a plain dict of int row keys in range to plain dicts of int column keys in "
    "range to objects the sympy_new contract admitted in this stream, a plain (int, int) shape of at most 2^20 "
    "cells, and the ExpressionRawDomain() an admitted NEWOBJ made; the row dicts are checked again when the stream "
    "ends (SETITEM through a memo reference after the call would change the matrix); a stream's SDM key walks are "
    "bounded (2^22). None of the three is PASSED or HASH: their objects are not handed to other calls, and code "
    "calling the classes (the source analysis) is not admitted. A DomainMatrix may be called as an instance "
    "(CALL_INSTANCE: the engine counts an object set as an attribute by BUILD, here _rep, as one the load may "
    "call): DomainMatrix defines no __call__ (MRO DomainMatrix, object), so calling one raises TypeError")
_group("sympy.polys.domains.expressionrawdomain.ExpressionRawDomain", "NEW", _SYMPY_MATRIX_NOTE,
       arguments=("sympy_domain", ()), source_files=SYMPY_MATRIX_REVIEWED_FILES)
_group("sympy.polys.matrices.domainmatrix.DomainMatrix", "CALL CALL_INSTANCE", _SYMPY_MATRIX_NOTE,
       arguments=("sympy_matrix_rep", ()), source_files=SYMPY_MATRIX_REVIEWED_FILES)
_group("sympy.matrices.dense.MutableDenseMatrix", "NEW BUILD", _SYMPY_MATRIX_NOTE,
       arguments=("sympy_matrix", ()), build_state=("sympy_matrix_state", ()), build_dict_only=True,
       source_files=SYMPY_MATRIX_REVIEWED_FILES)

#: pint 0.25.3: the modules the quantity review read. The entries below hold only with exactly this text.
PINT_REVIEWED_FILES = (
    ("pint", "896c8431ffbf7a0c79459fe533c7db2788d0ec0d40f345d61216794d5f1c10d5"),
    ("pint.util", "9aba63c3d8efe84ffb4aa7a1a2692f336b5a26197d5488527e686678478ca707"),
    ("pint.registry", "95f06888fb9f3352f1fef70a4857f10443a6f8a344dd4f5c6372d4cfdb2f583a"),
    ("pint.facets.plain.quantity", "1dcdafe666d4e7f22d99457b4b808123e9f2cefe3110b7859d0c4d495185161f"),
    ("pint.facets.plain.registry", "295c166ec02b0066c5e660e3d1f608621c91ddbb5e89fedc6696305f04ed1f2a"),
    ("pint.facets.nonmultiplicative.registry", "904019b6a50d6712370a7ee77d8b1f929af21678fcb2ece66d6fb56735b4b13d"),
    ("pint.pint_eval", "f8b1e567daf589c2c2d446cd7db97567afd150dbad423488e5b04bf95d96e0ed"),
    ("pint.compat", "dc52ad1ca739176523bfe30fe5c38ac714f3d43c8511ee084e30859bd2f9cf21"),
)
_PINT_NOTE = (
    "pint 0.25.3, issue 14 (pickled quantities). How they are pickled: PlainQuantity.__reduce__ returns "
    "(pint._unpickle_quantity, (PlainQuantity, self.magnitude, self._units)); the UnitsContainer (__slots__ _d, "
    "_hash, _one, _non_int_type; no __reduce__, __getstate__ returns (self._d, self._one, self._non_int_type)) goes "
    "by NEWOBJ with no arguments (object.__new__: __init__ does not run) and BUILD of that tuple "
    "(UnitsContainer.__setstate__ assigns the three slots and _hash = None); its udict (a dict subclass adding only "
    "__missing__ and copy) by NEWOBJ with no arguments and SETITEM(S) of unit name -> exponent. "
    "_unpickle_quantity(cls, *args) ignores cls and calls _unpickle(application_registry.Quantity, *args), which "
    "for every UnitsContainer among args runs application_registry.parse_units(name) for each key -- "
    "_parse_units_as_container: ParserHelper.from_string(name), i.e. string_preprocessor, tokenize and "
    "pint_eval's build_eval_tree().evaluate, which computes + - * / ** on the numbers in the text (red team round "
    "3: '9**9**9**9' hangs the load), then get_name (a registry look-up by prefix/suffix, defining a prefixed unit "
    "in the registry) -- and returns Quantity(magnitude, units): PlainQuantity.__new__ with units a "
    "UnitsContainer stores them as they are and the magnitude through compat._to_magnitude (a str is stored, and "
    "parsed by later operations; a list/tuple goes through np.asarray; dict, bool and None raise); is_upcast_type "
    "compares the magnitude's type with its table (an import_module only for xarray/pandas/dask types). The first "
    "use of application_registry (a LazyRegistry until then) turns it into UnitRegistry() (its __class__ "
    "assignment) and loads pint's own default_en.txt and constants_en.txt (installed data; no cache folder). So "
    "_unpickle_quantity is admitted only under the pint_quantity argument contract (catalog/state_contracts.py): "
    "exactly (PlainQuantity, magnitude, units), the magnitude a plain int or float or an ndarray numpy's "
    "_reconstruct made in the same stream with a numeric dtype and raw bytes (no object array), the units a "
    "UnitsContainer made in the stream with no arguments whose BUILD state is (udict, 1, builtins.float) and whose "
    "udict (no arguments, no BUILD) holds at most 32 ASCII identifier names (a single NAME token for the evaluator: "
    "nothing is computed) with int or float exponents of at most 1024 in absolute value; the objects the check "
    "read may not be changed later in the stream (BUILD, SETITEM(S)). PlainQuantity is only referenced (never "
    "called: Quantity(str) parses the text); UnitsContainer and udict may only be made with no arguments, given "
    "state and filled as above.")
#: pint 0.25.3 entries (issue 14), admitted with the import review of pint (IMPORT_REVIEWS["pint"]: 64 modules, and
#: the 26 dask modules pint.compat's ``from dask.base import ...`` loads when dask is installed, dask.sizeof's
#: entry-point plugins being SL119's like torch's: catalog/plugins.py). They hold only while the installed files hash
#: as read (``source_files``) and, being ``CLOSURE_BOUND``, while pint's import closure stays inside reviewed
#: territory where the scan runs (babel, uncertainties, cytoolz, cityhash/xxhash/mmh3 absent). ``import pint`` runs
#: no LazyRegistry method (measured: pint._DEFAULT_REGISTRY stays a LazyRegistry holding only 'params'; the source
#: analysis over-approximates ``ApplicationRegistry(_DEFAULT_REGISTRY)`` as running the stored object's protocol
#: methods, hence its SL104 before this review).
PINT_ENTRIES: dict[str, Entry] = {
    "pint._unpickle_quantity": Entry(parse_uses("CALL"), (), _PINT_NOTE, source_files=PINT_REVIEWED_FILES,
                                     arguments=("pint_quantity", ("pint.facets.plain.quantity.PlainQuantity",))),
    "pint.facets.plain.quantity.PlainQuantity": Entry(parse_uses("REF"), (), _PINT_NOTE,
                                                      source_files=PINT_REVIEWED_FILES),
    "pint.util.UnitsContainer": Entry(parse_uses("NEW BUILD"), (), _PINT_NOTE, source_files=PINT_REVIEWED_FILES),
    "pint.util.udict": Entry(parse_uses("NEW MUTATE"), (), _PINT_NOTE, mutate_ops=("SETITEM", "SETITEMS"),
                             source_files=PINT_REVIEWED_FILES),
}
_entries.update(PINT_ENTRIES)

#: Top-level packages whose hash-bound entries (``source_files``) also hold only while the import closure of the
#: name's module stays inside reviewed territory where the scan runs (``catalog/closure.closure_covered``, declared
#: entry points aside: those are SL119's): the review read that closure, and an optional dependency installed later
#: (pint imports babel and uncertainties when present) is code it did not read. Otherwise the name is decided like
#: one outside the catalogue.
CLOSURE_BOUND: frozenset[str] = frozenset({"pint"})

REVIEWED: Mapping[str, Entry] = _entries


def _reviewed_instance_calls() -> frozenset[str]:
    import os  # os.path, not pathlib: this runs at import, on a first load's path (issue 15: fixed costs)

    with open(os.path.join(os.path.dirname(__file__), "instance_calls_reviewed.txt"), encoding="utf-8") as handle:
        text = handle.read()
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

#: Package imports reviewed one by one: the package's top-level code and that of every module its import loads,
#: read in the installed version named in the note, together with the third-party packages it imports eagerly (a
#: vouch covers what a vouched module imports: red team R2-1). Each note says what the import does; a vouch never
#: covers the classes and functions, which are still analysed (or catalogued) per use.
IMPORT_REVIEWS: Mapping[str, str] = {
    "spacy": (
        "spaCy 3.8.18 (153 of its modules load on `import spacy`; read for issue 14, pickled Doc/Vocab objects): "
        "spacy/__init__ calls errors.setup_default_warnings() (warnings.filterwarnings with spaCy's own messages, "
        "read through the ErrorsWithCodes metaclass, whose __getattribute__ only prefixes the code: "
        "\"[W036] ...\"), imports thinc.api, its pipeline/language/vocab/tokens/cli packages and rebuilds its "
        "pydantic config schemas (model_rebuild with its own Language/Vocab/Example classes); spacy.util creates "
        "the 'spacy' logger with a StreamHandler to stderr (logging configuration) and catalogue registries "
        "(entry points are read only when a registry is queried, never at import); spacy.language reads its own "
        "package file default_config.cfg and parses it with confection (no interpolation of code); spacy.cli "
        "builds typer apps and registers commands (none runs); spacy.registrations only defines "
        "populate_registry (called lazily); the compiled modules (.pyx shipped beside the .so: attrs, symbols, "
        "strings, vocab, morphology, lexeme, tokenizer, tokens/*, vectors, pipeline/*, matcher/*...) define "
        "classes and constant tables. Third-party imports (eager, covered by this vouch with the default "
        "non-strict closure, not reviewed one by one: under SAFELOAD_STRICT_IMPORTS they need their own reviews): "
        "thinc 8.3.14, srsly 2.5.6, confection, catalogue, wasabi, weasel, cymem, preshed, murmurhash, blis, "
        "pydantic/pydantic_core, typer/click/shellingham, rich, jinja2/markupsafe, requests/urllib3/idna/certifi/"
        "charset_normalizer, httpx, h5py (thinc.compat), dill, pygments, opt_einsum, zstandard, torch (reviewed), "
        "numpy (reviewed), packaging, tqdm, cython, typing_extensions. Measured with an audit hook "
        "(tests/test_spacy_reviews.py), every effect is a fixed environment probe: h5py's import calls "
        "platform.uname(), which runs `uname -p` once; dill.session calls tempfile.gettempdir(), which creates and "
        "deletes a probe file in the temp directory; urllib3.util.connection._has_ipv6 binds a socket to ::1 port "
        "0 and closes it (no connection, no traffic); torch dlopens its own libraries. No other file written, no "
        "other process, no connection. Also read: spacy.lang.en (what spacy.blank('en') and English pickles "
        "import; 7 modules): word lists, regex strings, tokenizer-exception dicts, LEX_ATTRS/SYNTAX_ITERATORS "
        "tables of its own functions, class EnglishDefaults and class English(Language), whose creation runs "
        "Language.__init_subclass__ (DEFAULT_CONFIG.merge of the class' own Defaults.config: dict copies), and "
        "@English.factory('lemmatizer', ...) (registers make_lemmatizer in spaCy's factory registry and "
        "records its meta; nothing runs). The other spacy.lang.<code> packages are not covered (the analysis "
        "judges them)."),
    "nltk": (
        "nltk 3.10.4 (252 modules load on `import nltk`): nltk/__init__.py reads its own VERSION file through "
        "nltk.pathsec.open_package_resource (contained in the package directory), replaces subprocess.PIPE/Popen "
        "only when the subprocess module lacks them (never on CPython), star-imports its subpackages, builds "
        "LazyModule placeholders for app/chat/corpus/draw/toolbox (nothing imported until an attribute is read), "
        "imports nltk.downloader, whose module-level Downloader() only computes a default directory (os.path.exists "
        "and os.stat of the nltk_data candidates; no network, no write), and imports tkinter nowhere at top level "
        "(only inside the GUI functions). nltk.data builds its search path from NLTK_DATA, ~ and sys.prefix "
        "(strings only); nltk.decorators filters sys.path while importing inspect/keyword/unicodedata and restores "
        "it; its eval of generated wrappers runs only when @decorator-made decorators are applied, which no nltk "
        "module does at import; every other module defines classes, functions, regexes compiled by nltk.redos "
        "(regex with a ReDoS pattern check), nltk.corpus LazyCorpusLoader placeholders (no corpus read until used), "
        "registries (jsontags, deprecated wrappers). Third-party imports: numpy, scipy, sklearn (reviewed), regex "
        "and defusedxml (below); nltk.test is never imported."),
    "regex": (
        "regex 2026.11.19: regex/__init__ re-exports regex._main, which imports the compiled matcher regex._regex "
        "(the package's own C extension) and regex._regex_core (flag enum, parser classes, tables), sets "
        "_regex_core.DEFAULT_VERSION, creates its pattern caches and compiles the empty pattern to learn the "
        "Pattern/Match types. No I/O."),
    "defusedxml": (
        "defusedxml 0.7.1: defines hardened parser classes; defusedxml.ElementTree imports the pure-Python "
        "xml.etree.ElementTree by popping it (and _elementtree) from sys.modules, importing it afresh and "
        "restoring both entries (CPython's test.support.import_fresh_module pattern). No I/O."),
    "numba": (
        "numba 0.68.1 (153 of its modules load on `import numba`; read for pyod 3.6.7, whose pyod.utils.stat_models "
        "does `from numba import njit`): numba/__init__.py checks the Python, NumPy and llvmlite versions (raises "
        "ImportError), reads its own versioneer JSON string, imports its own compiled helpers (_helperlib, _dynfunc, "
        "_devicearray, typeconv, ufunc._internal, runtime._nrt_python: C extensions shipped in the package), "
        "numba.core.config builds its settings from NUMBA_* environment variables and, when PyYAML is installed, a "
        "`.numba_config.yaml` in the current directory read with yaml.safe_load (settings only: debug dumps, "
        "threading layer, cache directory; no code), `check_jit_execution()` asks llvmlite whether JIT memory can be "
        "executed, `_try_enable_svml()` asks LLVM to load the system's libsvml.so if present (environment), and the "
        "typing/lowering modules fill numba's own registries with decorated functions. Measured with an audit hook "
        "(tests/test_longtail_reviews_d.py): no file written, no process, no socket; dlopen of llvmlite's own "
        "libllvmlite.so; reads /proc/cpuinfo. Compiling (first call of a jitted function) and `cache=True` (writes "
        "__pycache__ index files at decoration) are not part of the import: `@njit` with arguments stays analysed "
        "(source_tables.IMPORT_TIME_DECORATORS reviews the bare form only); numba.core.serialize's unpickle helpers "
        "call cloudpickle.loads and stay denied (SL104: umap)."),
    "llvmlite": (
        "llvmlite 0.50.0 (imported by numba): llvmlite.binding.ffi loads the package's own libllvmlite.so with ctypes "
        "and declares its C signatures; the other modules define wrapper classes and initialise LLVM's native "
        "target. No file written, no process, no network."),
    "yaml": (
        "PyYAML 6.0.4 (18 modules, all loaded by `import yaml`; read for scikit-optimize 0.10.2, whose skopt.space."
        "space imports it): defines the scanner/parser/composer/constructor/resolver/emitter classes, fills their "
        "class-level registries (add_constructor/add_representer/add_implicit_resolver on its own classes, with its "
        "own functions and compiled regexes), YAMLObjectMetaclass registers a subclass only when it has a yaml_tag "
        "(YAMLObject's is None), and `from .cyaml import *` (under try/except ImportError) imports the compiled "
        "libyaml binding yaml._yaml (the package's own Cython extension) and subclasses its CParser/CEmitter. No file "
        "read or written, no process, no network (audit hook: nothing). The vouch is for the import only: yaml.load "
        "and friends called by a pickle are analysed per use (and refused: constructing python/object tags imports "
        "and calls by name)."),
    "narwhals": (
        "narwhals 2.29.0 (58 of its modules load on `import narwhals.stable.v2`; read for river 0.26.1, whose "
        "river.utils.dataframe imports it, so every river import does): the top levels define classes and protocols, "
        "TypeVars, Enum/auto members, typing aliases, cast()ed guards, metaclasses (dtypes.DTypeClass: __repr__ and "
        "a __new__ that only defaults __slots__; _DatetimeMeta/_DurationMeta), decorators applied at import that "
        "return the function (unstable) or set a docstring (inherit_doc: inspect.getdoc of narwhals' own classes) or "
        "wrap it (deprecate_native_namespace, functools.cache/lru_cache); constants (dt.datetime(1970, 1, 1)); "
        "narwhals/__init__ defines a module __getattr__ (only __version__, read from the installed metadata). "
        "Backends (pandas, polars, pyarrow, dask, duckdb, ibis, pyspark) are never imported at import: "
        "narwhals.dependencies reads sys.modules at call time; plugin entry points are discovered and loaded only "
        "by _find_plugin at call time (not a load: a pickle calling it stays refused). Third-party imports: none "
        "(stdlib only). Audit hook (tests/test_longtail_reviews_e.py): no file written, no process, no socket."),
    "sqlalchemy": (
        "SQLAlchemy 2.1.9 (80 modules load on `import sqlalchemy`; read for river 0.26.1, whose river.stream.iter_sql "
        "imports it unconditionally, so most river imports do): the top levels define the SQL expression, type, "
        "engine, pool and event classes, TypeVars, enum members, operator tables (cast(), attrgetter), compiled "
        "regexes, immutabledict constants, singleton instances of its own types (NullType(), Integer(), "
        "_FunctionGenerator()...), fill its own registries (register_function, coercions' role-to-impl table, "
        "event registrars), setattr()s its own enum members on CompoundSelect, and set the 'sqlalchemy' logger to "
        "WARNING when its level is NOTSET (logging configuration). `__go(locals())` in sqlalchemy/__init__ and "
        "sqlalchemy.sql imports the modules sqlalchemy registered for util.preloaded (its own names; those listed "
        "loaded above). sqlalchemy.dialects builds PluginLoader registries: dialect entry points are loaded only "
        "when create_engine asks for one (not a load). Its own Cython modules (engine._processors_cy, _result_cy, "
        "_row_cy, _util_cy, sql._cache_key_cy, sql._util_cy) are compiled from the .py files beside them. "
        "Third-party imports: typing_extensions (reviewed). Audit hook (tests/test_longtail_reviews_e.py): no file "
        "written, no process, no socket. No database driver, ORM or dialect module is imported."),
    # Lead's decision (round 8, reversing round 5): the two imports below run fixed commands and write fixed
    # per-user cache locations, nothing chosen by the scanned file; accepted as environment set-up, like urllib3's
    # loopback probe (_gen/closure.THIRD_PARTY_REVIEWED). Measured with an audit hook in a fresh process with an
    # empty HOME (tests/test_h5py_matplotlib_reviews.py).
    "h5py": (
        "h5py 3.14.0 (40 modules load on `import h5py`; read for tslearn 0.10.0, whose tslearn.bases.bases does "
        "`try: import h5py`, and spaCy through thinc.compat): h5py/__init__ imports its compiled modules (_errors, "
        "_conv, h5, h5a...h5z, h5pl, _objects, _proxy, _selector, utils, defs, _npystrings: Cython extensions of "
        "the package, linked to the bundled libhdf5), compares the HDF5 runtime and build versions (a warning), "
        "calls _errors.silence_errors() (HDF5's error-stack printing off), _conv.register_converters() (registers "
        "h5py's own numpy<->HDF5 type converters with HDF5) and atexit.register(_conv.unregister_converters) (one "
        "exit hook of its own), h5z._register_lzf() (registers its bundled LZF filter with HDF5); _hl/* define "
        "the File/Group/Dataset/... classes and the file-driver registry. The one effect outside the process: "
        "a compiled module indexes platform.uname() (its processor field: platform.processor()), which runs "
        "`uname -p` once in a subprocess (a fixed command, no argument from anywhere). No file opened for writing, "
        "no directory made, "
        "no socket (audit hook). Third-party imports: numpy (reviewed). The files h5py opens are opened by File() "
        "calls, never at import; h5py.tests, h5py.ipy_completer and h5py._hl.dims are not loaded and not covered."),
    "matplotlib": (
        "matplotlib 3.11.2 (96 of its modules load on `import matplotlib.pyplot`, with matplotlib.backends."
        "backend_agg that pyplot's automatic backend selection picks on a headless machine; read for pyod 3.6.7 "
        "(pyod.models.copod/ecod import matplotlib.pyplot) and pmdarima 2.1.1): matplotlib/__init__ checks its "
        "dependencies' versions, reads its rc files: the package's own mpl-data/matplotlibrc, then the first of "
        "./matplotlibrc (the current directory), $MATPLOTLIBRC, $MPLCONFIGDIR or ~/.config/matplotlib/matplotlibrc "
        "(key: value lines checked by rcsetup's fixed validators; strings, numbers, colours; no code, no import: "
        "a `backend` line only records the name, measured: a `backend: module://x` in the current directory does "
        "not import x at `import matplotlib.pyplot`; `axes.formatter.use_locale: True` makes the import call "
        "locale.setlocale(LC_ALL, '') from the environment's locale), takes MPLBACKEND into rcParams (a name, not "
        "imported at import), and creates its configuration directory ($MPLCONFIGDIR or ~/.config/matplotlib; "
        "when not writable, a tempfile.mkdtemp('matplotlib-') directory removed by an atexit hook). "
        "matplotlib.font_manager builds fontManager: it reads the cached font list "
        "~/.cache/matplotlib/fontlist-v3.11.0.json (json with an object_hook that accepts only FontManager and "
        "FontEntry records) and, when absent or stale, creates ~/.cache/matplotlib, runs `fc-list --help` and "
        "`fc-list --format=%{file}\\n` (fixed commands) to list the system fonts and writes the json under a "
        "`.matplotlib-lock` file, then registers os.register_at_fork(cache_clear); matplotlib.pyplot defines the "
        "state-machine functions and, when rcParams['backend_fallback'] and an interactive backend is named, asks "
        "cbook._get_running_interactive_framework() (sys.modules look-ups; on Linux a connection attempt to the "
        "$DISPLAY/$WAYLAND_DISPLAY server) and resets the backend to automatic; no backend module is imported by "
        "the import itself. Every other module defines classes (artists, transforms, scales, projections "
        "registering their own classes, colormaps built from its own _cm data), docstring interpolation "
        "(_docstring), rcsetup validators and cbook helpers; the compiled modules (_c_internal_utils, _path, "
        "_image, ft2font, _backend_agg) are the package's own extensions. Third-party imports: numpy and packaging "
        "(reviewed), PIL, dateutil, six (THIRD_PARTY_REVIEWED), pyparsing, cycler, kiwisolver, fontTools and "
        "mpl_toolkits.mplot3d (THIRD_PARTY_REVIEWED, read with this review). The directories and the fc-list "
        "processes are fixed per-user locations and commands, nothing taken from a scanned file: accepted as "
        "environment set-up (lead, round 8). Not covered: the other backends (imported by name when a figure is "
        "made or matplotlib.use/switch_backend is called), animation, sphinxext, testing, tests, pylab..."),
    "pmdarima": (
        "pmdarima 2.1.1 (61 of its modules load on `import pmdarima, pmdarima.pipeline`; read for pickled ARIMA "
        "models and pipelines): pmdarima/__init__ reads its own distribution's version (importlib.metadata), reads "
        "the __PMDARIMA_SETUP__ build flag (unset outside its setup.py), imports its subpackages, warns on Python < "
        "3.6 or a 32-bit build and deletes its private names (_sys, _os...); __check_build imports its compiled "
        "_check_build (defines check_build) and raises a build-error ImportError when that fails; the compiled "
        "arima._arima, utils._array and preprocessing.exog._fourier (the package's own Cython extensions, .pyx "
        "not shipped; imported in a scratch process: they import numpy and define the C_* functions only); "
        "arima.arima/utils.array inspect.signature(sklearn's check_array) to pick a keyword name; arima.auto "
        "formats its docstrings; arima._context builds its context singleton; datasets._base imports tarfile and "
        "urllib3 (urllib3's import makes the ::1 loopback probe, THIRD_PARTY_REVIEWED) and builds "
        "`http = urllib3.PoolManager()` (an empty pool manager: no connection until a dataset loader is called); "
        "utils.visualization calls get_compatible_pyplot(backend=os.environ.get('PMD_MPL_BACKEND'), "
        "debug=PMDARIMA_MPL_DEBUG=='true'): matplotlib.get_backend(), which with no backend configured resolves "
        "one as pyplot.switch_backend does (on a headless machine matplotlib.backends.backend_agg; with a display, "
        "the first of the macosx/qtagg/gtk4agg/gtk3agg/tkagg/wxagg backends whose toolkit imports: the GUI toolkit "
        "installed in the environment, no window is opened), then, only when PMD_MPL_BACKEND is set, "
        "matplotlib.use(<that value>) (switch_backend imports the backend it names: an environment setting, like "
        "MPLBACKEND), a line to stderr when PMDARIMA_MPL_DEBUG=true, and `from matplotlib import pyplot` (the "
        "matplotlib review above). A `backend` line in a ./matplotlibrc is not imported by this call (measured: "
        "get_backend returns the configured name). compat/* pick pandas/statsmodels/sklearn version shims. "
        "Third-party imports: numpy, scipy, pandas, sklearn, statsmodels, joblib, packaging, matplotlib "
        "(reviewed), urllib3 (THIRD_PARTY_REVIEWED). Audit hook in a fresh process with an empty HOME "
        "(tests/test_h5py_matplotlib_reviews.py): nothing beyond matplotlib's cache/config directories and fc-list "
        "runs, urllib3's loopback probe and the putenv calls of the reviewed packages it imports; no connection. "
        "Not covered: the tests packages, _build_utils (setup helpers: subprocess, distutils) and compat.pytest."),
    "pint": (
        "pint 0.25.3 (64 of its modules load on `import pint`; read for issue 14, pickled quantities): pint/__init__ "
        "reads its own distribution's version (importlib.metadata), builds _DEFAULT_REGISTRY = LazyRegistry() (stores "
        "its arguments; the UnitRegistry and its definition files are made on first use, i.e. when a quantity is "
        "loaded: pint's own default_en.txt/constants_en.txt through importlib.resources, no cache folder unless "
        "one is asked for) and application_registry = ApplicationRegistry(_DEFAULT_REGISTRY) (stores it; no method "
        "of the LazyRegistry runs, measured). pint.compat tries babel and uncertainties (imported when installed: "
        "outside territory, the closure records them), imports numpy and scipy (vouched), asks "
        "find_spec('dask') and, when found, imports dask.base (the 26 dask modules of "
        "_gen/closure.THIRD_PARTY_REVIEWED['dask'], whose dask.sizeof loads and calls every installed dask.sizeof "
        "entry point: catalog/plugins.py, SL119 per declared plugin), and defines a lazy dask.array proxy "
        "(import_module('dask.array') only when an attribute is read); _test_array_function_protocol() calls "
        "numpy once. pint.facets.numpy.numpy_func fills pint's own implementation tables (HANDLED_FUNCTIONS, "
        "HANDLED_UFUNCS) with closures over numpy function names; pint.delegates build flexparser parser classes "
        "(flexcache/flexparser: THIRD_PARTY_REVIEWED); pint.facets.plain.registry imports platformdirs "
        "(user_cache_path is computed only for cache_folder=':auto:'); pint.delegates.formatter registers its "
        "formatter instances in its own REGISTERED_FORMATTERS dict; pint.util adds a NullHandler to the 'pint' "
        "logger; the other modules define classes (RegistryMeta is a metaclass whose __call__ runs when a registry "
        "is made, never at import), functions, regexes and constants. Third-party imports: numpy, scipy, typing_"
        "extensions, packaging (vouched), dask, toolz, tlz, importlib_metadata, zipp, tblib, psutil, yaml, jinja2, "
        "markupsafe, cloudpickle, platformdirs, flexcache, flexparser (THIRD_PARTY_REVIEWED or vouched). Audit hook "
        "in a fresh process with an empty HOME and working directory (tests/test_pint_import_review.py): "
        "`import pint` and loading both corpus quantities write nothing, start no process, open no socket and "
        "leave the environment unchanged (numpy's OPENBLAS_MAIN_FREE putenv/unsetenv pair only). Not covered: "
        "pint.definitions, pint.matplotlib, pint.pint_convert, pint.testing, pint.testsuite."),
    "xarray": (
        "xarray 2026.9.0 (105 of its modules load on `import xarray`; read for pickled DataArray/Dataset objects): "
        "the top levels define classes (slotted mixins whose __init_subclass__ hooks are reviewed in source_tables: "
        "AttrAccessMixin checks __slots__, IncludeNumpySameMethods sets item/searchsorted wrappers, NamedArray "
        "checks _new), functions, typing aliases and TypeVars, option defaults (core.options.OPTIONS, a dict), "
        "method factories called at import that only build closures (nputils._create_method, ops wrappers, "
        "cftimeindex._field_accessor properties, the plot decorators _plot1d/_plot2d and deprecation decorators "
        "that wrap with functools.wraps and read inspect.signature), ufunc wrapper instances (xarray.ufuncs: "
        "getattr(np, name) of numpy's own ufuncs), the backends' registry of its own entrypoint classes "
        "(BACKEND_ENTRYPOINTS: a dict of names to classes), a module-level FILE_CACHE (LRUCache, empty) and "
        "SerializableLock/threading locks, accessors registered on its own classes, and reads the installed "
        "numpy and xarray versions (importlib.metadata). Entry points (xarray.backends, xarray.chunkmanagers) are "
        "read only when list_engines()/list_chunkmanagers() are called (open_dataset, chunk(), compute()), never "
        "at import or by a load of the admitted classes. Optional libraries (dask, scipy, netCDF4, h5netcdf, zarr, "
        "cftime, bottleneck, numbagg, matplotlib, pint, sparse, cupy) are imported inside functions or under "
        "try/except ImportError; `import xarray` imports none of them (measured with dask, scipy, h5py and "
        "matplotlib installed). Third-party imports: numpy, pandas, packaging (reviewed). Audit hook in a fresh "
        "process (tests/test_xarray_reviews.py): two METADATA files read, no file written, no process, no socket. "
        "xarray.testing (public API, imported by xarray/__init__) defines assertion helpers; xarray.tests and "
        "xarray.testing.strategies (hypothesis) are not loaded and not covered."),
}

#: numba 0.68.1: the modules and packages `import numba` does not load (computed from the installed package; checked
#: by tests/test_longtail_reviews_d.py). They are outside the numba vouch: the analysis judges their top level.
NUMBA_NOT_LOADED = (
    "numba.__main__ numba.cext numba.cloudpickle.cloudpickle_fast numba.core.annotations.pretty_annotate "
    "numba.core.boxing numba.core.ccallback numba.core.datamodel.testing numba.core.inline_closurecall "
    "numba.core.optional numba.core.runtime.context numba.core.typing.arraydecl numba.core.typing.bufproto "
    "numba.core.typing.cffi_utils numba.core.typing.cmathdecl numba.core.typing.collections "
    "numba.core.typing.ctypes_utils numba.core.typing.dictdecl numba.core.typing.enumdecl "
    "numba.core.typing.listdecl numba.core.typing.mathdecl numba.core.typing.setdecl numba.core.unsafe.bytes "
    "numba.core.unsafe.nrt numba.core.unsafe.refcount numba.cpython._binomial numba.cpython.charseq "
    "numba.cpython.cmathimpl numba.cpython.enumimpl numba.cpython.hashing numba.cpython.heapq "
    "numba.cpython.iterators numba.cpython.listobj numba.cpython.mathimpl numba.cpython.numbers "
    "numba.cpython.printimpl numba.cpython.randomimpl numba.cpython.rangeobj numba.cpython.setobj "
    "numba.cpython.slicing numba.cpython.tupleobj numba.cpython.unicode numba.cpython.unicode_support "
    "numba.cpython.unsafe.numbers numba.cuda numba.experimental.function_type numba.experimental.jitclass.base "
    "numba.experimental.structref numba.misc.POST numba.misc.cffiimpl numba.misc.dump_style numba.misc.findlib "
    "numba.misc.gdb_hook numba.misc.gdb_print_extension numba.misc.help numba.misc.literal numba.misc.memoryutils "
    "numba.misc.mergesort numba.misc.numba_entry numba.misc.numba_gdbinfo numba.misc.numba_sysinfo "
    "numba.misc.quicksort numba.misc.timsort numba.mviewbuf numba.np.arraymath numba.np.arrayobj "
    "numba.np.extensions numba.np.linalg numba.np.math numba.np.npdatetime numba.np.npyfuncs numba.np.npyimpl "
    "numba.np.polynomial numba.np.random numba.np.types.datetime_registry numba.np.ufunc._num_threads "
    "numba.np.ufunc.omppool numba.np.ufunc.tbbpool numba.np.ufunc.workqueue numba.np.unsafe numba.pycc "
    "numba.runtests numba.scripts numba.testing numba.tests numba.typed.dictimpl numba.typed.dictobject "
    "numba.typed.listobject numba.typed.setobject numba.typed.typeddict numba.typed.typedlist "
    "numba.typed.typedobjectutils numba.typed.typedset numba.types "
)

#: Modules of an import-reviewed package that the review did not read (they are not loaded by ``import pkg``):
#: the vouch does not cover them (nor their submodules), so the source analysis judges their top level (and
#: what it imports) as for any package. ``nltk.book`` prints and reads corpora at import, ``nltk.app``/``draw``
#: import tkinter, ``nltk.twitter`` its API client. tests/test_fp_families.py checks the lists against the
#: installed packages: every module ``import pkg`` does not load is listed.
IMPORT_NOT_COVERED: Mapping[str, frozenset[str]] = {
    # spaCy 3.8.18: every module or package `import spacy, spacy.lang.en` does not load (other languages, tests...)
    "spacy": frozenset(
        "spacy.__main__ spacy.cli.project.remote_storage spacy.lang.af spacy.lang.am spacy.lang.ar "
        "spacy.lang.az spacy.lang.bg spacy.lang.bn spacy.lang.bo spacy.lang.ca spacy.lang.cs spacy.lang.da "
        "spacy.lang.de spacy.lang.dsb spacy.lang.el spacy.lang.en.examples spacy.lang.es spacy.lang.et spacy.lang.eu "
        "spacy.lang.fa spacy.lang.fi spacy.lang.fo spacy.lang.fr spacy.lang.ga spacy.lang.gd spacy.lang.grc "
        "spacy.lang.gu spacy.lang.he spacy.lang.hi spacy.lang.hr spacy.lang.hsb spacy.lang.ht spacy.lang.hu "
        "spacy.lang.hy spacy.lang.id spacy.lang.is spacy.lang.it spacy.lang.ja spacy.lang.kmr spacy.lang.kn "
        "spacy.lang.ko spacy.lang.ky spacy.lang.la spacy.lang.lb spacy.lang.lg spacy.lang.lij spacy.lang.lt "
        "spacy.lang.lv spacy.lang.mk spacy.lang.ml spacy.lang.mr spacy.lang.ms spacy.lang.nb spacy.lang.ne "
        "spacy.lang.nl spacy.lang.nn spacy.lang.pl spacy.lang.pt spacy.lang.ro spacy.lang.ru spacy.lang.sa "
        "spacy.lang.si spacy.lang.sk spacy.lang.sl spacy.lang.sq spacy.lang.sr spacy.lang.sv spacy.lang.ta "
        "spacy.lang.te spacy.lang.th spacy.lang.ti spacy.lang.tl spacy.lang.tn spacy.lang.tr spacy.lang.tt "
        "spacy.lang.uk spacy.lang.ur spacy.lang.vi spacy.lang.xx.examples spacy.lang.yo spacy.lang.zh "
        "spacy.pipeline._parser_internals._state spacy.pipeline.factories spacy.pipeline.legacy "
        "spacy.pipeline.multitask spacy.tests spacy.tokens.graph".split()),
    "nltk": frozenset(
        "nltk.app nltk.book nltk.chat nltk.classify.svm nltk.cli nltk.compat nltk.corpus.europarl_raw "
        "nltk.corpus.reader.markdown nltk.csvsec nltk.draw nltk.huggingface nltk.inference.nonmonotonic "
        "nltk.langnames nltk.misc.sort nltk.parse.generate nltk.parse.stanford nltk.sem.chat80 "
        "nltk.sem.cooper_storage nltk.sem.drt_glue_demo nltk.sem.hole nltk.sentiment nltk.tbl.api nltk.tbl.demo "
        "nltk.test nltk.tgrep nltk.tokenize.nist nltk.tokenize.stanford nltk.treeprettyprinter "
        "nltk.treetransforms nltk.twitter".split()),
    "regex": frozenset(),
    "defusedxml": frozenset(
        "defusedxml.cElementTree defusedxml.expatbuilder defusedxml.expatreader defusedxml.lxml defusedxml.minidom "
        "defusedxml.pulldom defusedxml.sax defusedxml.xmlrpc".split()),
    # numba 0.68.1 / llvmlite 0.50.0: every module (or package) `import numba` does not load
    "numba": frozenset(NUMBA_NOT_LOADED.split()),
    "llvmlite": frozenset("llvmlite.binding.libllvmlite llvmlite.tests".split()),
    "yaml": frozenset(),
    # SQLAlchemy 2.1.9: every module or package `import sqlalchemy` does not load (dialects, ORM, ext, testing...)
    "sqlalchemy": frozenset(
        "sqlalchemy.connectors sqlalchemy.dialects._typing sqlalchemy.dialects.mssql sqlalchemy.dialects.mysql "
        "sqlalchemy.dialects.oracle sqlalchemy.dialects.postgresql sqlalchemy.dialects.sqlite "
        "sqlalchemy.engine.strategies sqlalchemy.events sqlalchemy.ext sqlalchemy.future sqlalchemy.orm "
        "sqlalchemy.sql._orm_types sqlalchemy.testing sqlalchemy.util._has_cython sqlalchemy.util.cython "
        "sqlalchemy.util.tool_support".split()),
    # h5py 3.14.0: the modules `import h5py` does not load
    "h5py": frozenset("h5py._hl.dims h5py.ipy_completer h5py.tests".split()),
    # matplotlib 3.11.2: the modules and packages `import matplotlib.pyplot` (with the Agg backend) does not load
    "matplotlib": frozenset(
        "matplotlib._animation_data matplotlib._internal_utils matplotlib._qhull matplotlib._tri "
        "matplotlib._type1font matplotlib.animation matplotlib.backends._backend_gtk "
        "matplotlib.backends._backend_pdf_ps matplotlib.backends._backend_tk matplotlib.backends._tkagg "
        "matplotlib.backends.backend_cairo matplotlib.backends.backend_gtk3 matplotlib.backends.backend_gtk3agg "
        "matplotlib.backends.backend_gtk3cairo matplotlib.backends.backend_gtk4 matplotlib.backends.backend_gtk4agg "
        "matplotlib.backends.backend_gtk4cairo matplotlib.backends.backend_macosx matplotlib.backends.backend_mixed "
        "matplotlib.backends.backend_nbagg matplotlib.backends.backend_pdf matplotlib.backends.backend_pgf "
        "matplotlib.backends.backend_ps matplotlib.backends.backend_qt matplotlib.backends.backend_qt5 "
        "matplotlib.backends.backend_qt5agg matplotlib.backends.backend_qt5cairo matplotlib.backends.backend_qtagg "
        "matplotlib.backends.backend_qtcairo matplotlib.backends.backend_svg matplotlib.backends.backend_template "
        "matplotlib.backends.backend_tkagg matplotlib.backends.backend_tkcairo matplotlib.backends.backend_webagg "
        "matplotlib.backends.backend_webagg_core matplotlib.backends.backend_wx matplotlib.backends.backend_wxagg "
        "matplotlib.backends.backend_wxcairo matplotlib.backends.qt_compat matplotlib.backends.qt_editor "
        "matplotlib.patheffects matplotlib.pylab matplotlib.sankey "
        "matplotlib.sphinxext matplotlib.style.core matplotlib.testing matplotlib.tests matplotlib.typing".split()),
    # pmdarima 2.1.1: the modules and packages `import pmdarima, pmdarima.pipeline` does not load
    "pmdarima": frozenset(
        "pmdarima.__check_build.tests pmdarima._build_utils pmdarima.arima.tests pmdarima.compat.pytest "
        "pmdarima.compat.tests pmdarima.datasets.tests pmdarima.model_selection.tests "
        "pmdarima.preprocessing.endog.tests pmdarima.preprocessing.exog.tests pmdarima.tests "
        "pmdarima.utils.tests".split()),
    # pint 0.25.3: the modules and packages `import pint` does not load
    "pint": frozenset("pint.definitions pint.matplotlib pint.pint_convert pint.testing pint.testsuite".split()),
    # xarray 2026.9.0: the modules and packages `import xarray` does not load
    "xarray": frozenset(
        "xarray.computation.fit xarray.computation.nanops xarray.computation.rolling xarray.computation.rolling_exp "
        "xarray.computation.weighted xarray.convert xarray.core.dask_array_expr xarray.core.missing "
        "xarray.core.resample xarray.namedarray._array_api xarray.namedarray.dtypes xarray.static "
        "xarray.testing.strategies xarray.tests xarray.typing xarray.util.generate_aggregations "
        "xarray.util.generate_ops".split()),
    # narwhals 2.29.0: the backend packages and modules `import narwhals.stable.v2` does not load
    "narwhals": frozenset(
        "narwhals._arrow narwhals._dask narwhals._duckdb narwhals._duration narwhals._ibis narwhals._interchange "
        "narwhals._namespace narwhals._pandas_like narwhals._polars narwhals._spark_like narwhals._sql "
        "narwhals.compliant narwhals.group_by narwhals.sql narwhals.stable.v1._namespace "
        "narwhals.stable.v2._namespace narwhals.testing narwhals.this narwhals.utils".split()),
}


def import_not_covered(module: str) -> bool:
    """True when ``module`` belongs to an import-reviewed package but lies outside what its review read."""
    skipped = IMPORT_NOT_COVERED.get(module.split(".", 1)[0])
    if not skipped:
        return False
    parts = module.split(".")
    return any(".".join(parts[:i]) in skipped for i in range(2, len(parts) + 1))


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
    "typing_extensions threadpoolctl packaging smart_open rich cython Cython cloudpickle tqdm sklearn_compat".split()
) | frozenset(IMPORT_REVIEWS)
