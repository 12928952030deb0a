"""Hand-reviewed methods: what each does when a load runs it, read from the installed source.

Keys are ``module.Class.method`` where the method is *defined* (a reviewed base method covers every subclass
that inherits it). A note starting with ``NOT INERT`` records a method reviewed and found unsafe for the use.
The generator consults this table before the pluggable ``inert.method_verdict`` hook and the effect scan.
"""

from __future__ import annotations

__all__ = ["BUILD_STATE_CONTRACTS", "REVIEWED_METHODS"]

REVIEWED_METHODS: dict[str, str] = {}

#: ``__setstate__`` methods reviewed inert only for a BUILD state that satisfies a named contract
#: (``safeload/catalog/state_contracts.py`` checks it at scan time; ``_gen/state_contracts.py`` records the data
#: the check compares with, read statically from the installed source). A class whose BUILD runs one of these
#: gets the contract in its generated entry (``BUILD_STATE`` in the shard).
BUILD_STATE_CONTRACTS: dict[str, str] = {
    "scipy.stats._distn_infrastructure.rv_generic.__setstate__": "scipy_argparser",
}

REVIEWED_METHODS |= {
    "sklearn.base.BaseEstimator.__setstate__":
        "pops _sklearn_version and warns on a mismatch, then object.__setstate__ / __dict__.update: inert",
    "torch.nn.modules.module.Module.__setstate__":
        "__dict__.update(state), then fills missing hook dicts with empty OrderedDicts/sets: inert",
    "torch.nn.modules.module.Module.__getattr__":
        "looks the name up in _parameters, _buffers, _modules of __dict__, else AttributeError: inert",
    "torch.nn.modules.module.Module.__setattr__":
        "routes the value into _parameters/_modules/_buffers or __dict__ (type checks, the process's own "
        "registration hooks); calls nothing from the file: inert",
}

# pandas
REVIEWED_METHODS |= {
    "pandas.core.generic.NDFrame.__setstate__":
        "assigns _mgr, _attrs, Flags(**flags) and the other state keys with object.__setattr__: inert",
    "pandas.core.generic.NDFrame.__getattr__":
        "returns a column of the frame's own data for identifier names, else object.__getattribute__: inert",
    "pandas.core.generic.NDFrame.__setattr__":
        "object.__setattr__, or assigns a column of the frame's own data (warns on new list-like names): inert",
}

_NP_SCALARS = ("bool", "bool_", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float16",
               "float32", "float64", "longdouble", "complex64", "complex128", "clongdouble", "str_", "bytes_",
               "object_", "void", "datetime64", "timedelta64", "intc", "uintc", "longlong", "ulonglong")
_NP_DTYPES = ("BoolDType", "Int8DType", "Int16DType", "Int32DType", "Int64DType", "UInt8DType", "UInt16DType",
              "UInt32DType", "UInt64DType", "Float16DType", "Float32DType", "Float64DType", "LongDoubleDType",
              "Complex64DType", "Complex128DType", "CLongDoubleDType", "StrDType", "BytesDType", "ObjectDType",
              "VoidDType", "DateTime64DType", "TimeDelta64DType", "StringDType", "IntDType", "UIntDType",
              "LongDType", "ULongDType", "LongLongDType", "ULongLongDType", "ByteDType", "UByteDType",
              "ShortDType", "UShortDType")
_BITGENS = ("numpy.random._mt19937.MT19937", "numpy.random._pcg64.PCG64", "numpy.random._pcg64.PCG64DXSM",
            "numpy.random._philox.Philox", "numpy.random._sfc64.SFC64")
_OFFSETS = ("Day", "Hour", "Minute", "Second", "Milli", "Micro", "Nano", "BusinessDay", "BusinessHour",
            "CustomBusinessDay", "CustomBusinessHour", "MonthEnd", "MonthBegin", "BusinessMonthEnd",
            "BusinessMonthBegin", "SemiMonthEnd", "SemiMonthBegin", "QuarterEnd", "QuarterBegin",
            "BQuarterEnd", "BQuarterBegin", "YearEnd", "YearBegin", "BYearEnd", "BYearBegin", "Week",
            "WeekOfMonth", "LastWeekOfMonth", "FY5253", "FY5253Quarter", "Easter", "DateOffset",
            "RelativeDeltaOffset", "Tick", "BaseOffset", "BusinessMixin", "YearOffset", "QuarterOffset",
            "MonthOffset", "SingleConstructorOffset", "CustomBusinessMonthEnd", "CustomBusinessMonthBegin",
            "HalfYearBegin", "HalfYearEnd", "BHalfYearBegin", "BHalfYearEnd")

# numpy (C)
REVIEWED_METHODS |= {
    "numpy.dtype.__new__": "parses a dtype spec (type code, scalar type, field list, subarray shape) with "
                           "align/copy flags; no I/O",
    "numpy.dtype.__setstate__": "sets byte order, subarray, names, fields, item size, alignment and flags "
                                "from a tuple, with checks; no I/O",
    "numpy.ndarray.__new__": "allocates an array of a shape and dtype, optionally viewing a buffer object; no I/O",
    "numpy.ndarray.__setstate__": "sets shape, dtype and order and copies the data from bytes (or stores the "
                                  "already-loaded objects of an object array); no I/O",
    "numpy.ndarray.__array_finalize__": "C no-op hook",
    "numpy.ma.MaskedArray.__setstate__": "ndarray.__setstate__ of data and mask, then the fill_value setter "
                                         "(converts a value to the dtype): inert",
    "numpy.matrix.__array_finalize__": "reshapes a view to 2-D from its own shape: inert",
    "numpy.memmap.__array_finalize__": "copies _mmap/filename/offset/mode attributes from the parent array "
                                       "(None for an allocated one); opens nothing",
    "numpy.rec.recarray.__array_finalize__": "converts its own dtype to a record dtype: inert",
    "numpy.rec.recarray.__getattribute__": "field access by name on its own dtype: inert",
    "numpy.rec.recarray.__setattr__": "sets an attribute or writes into its own field: inert",
    "numpy.random.bit_generator.BitGenerator.__setstate__": "sets the state dict through the `state` setter, "
                                                          "which checks the generator name and array shapes",
    "numpy.random.bit_generator.SeedSequence.__new__": "Cython allocation: inert",
    "numpy.random.bit_generator.SeedSequence.__setstate__": "Cython __setstate_cython__: assigns entropy, "
                                                            "spawn_key, pool_size, n_children_spawned",
    "numpy.random.mtrand.RandomState.__setstate__": "set_state() of the legacy tuple or dict: checks and copies",
    "numpy.random._generator.Generator.__setstate__": "sets the bit generator's state (checked): inert",
} | {f"numpy.{t}.__new__": "builds a numpy scalar from a number, string or bytes; no I/O" for t in _NP_SCALARS} \
  | {f"numpy.{t}.{m}": "numeric hash / comparison" for t in _NP_SCALARS for m in ("__hash__", "__eq__")} \
  | {f"numpy.dtypes.{t}.__new__": "as numpy.dtype.__new__" for t in _NP_DTYPES} \
  | {f"{b}.{m}": "Cython allocation / seeding (a seed from the file or OS entropy); no I/O"
     for b in _BITGENS for m in ("__new__", "__init__")}

# pandas (Cython) and pandas Python __setstate__ methods
REVIEWED_METHODS |= {
    "pandas._libs.arrays.NDArrayBacked.__setstate__": "assigns _ndarray and _dtype (and a dict of attributes)",
    "pandas._libs.internals.BlockManager.__new__": "Cython allocation storing blocks and axes: inert",
    "pandas._libs.internals.BlockPlacement.__new__": "Cython allocation of a slice/array placement: inert",
    "pandas._libs.interval.IntervalMixin.__setstate__": "Cython: assigns left, right, closed: inert",
    "pandas._libs.sparse.IntIndex.__new__": "Cython allocation: inert",
    "pandas._libs.sparse.IntIndex.__init__": "stores length and an index array, checks it: inert",
    "pandas._libs.sparse.BlockIndex.__new__": "Cython allocation: inert",
    "pandas._libs.sparse.BlockIndex.__init__": "stores length, block locations and lengths, checks: inert",
    "pandas.Interval.__new__": "Cython allocation: inert",
    "pandas.Interval.__init__": "stores left, right, closed after checks: inert",
    "pandas.Period.__new__": "parses an ordinal/string and a frequency into a Period: inert",
    "pandas.Timestamp.__new__": "parses numbers/strings and a tzinfo into a Timestamp: inert",
    "pandas.Timedelta.__new__": "parses a number/string and a unit: inert",
    "pandas.Categorical.__setstate__": "renames legacy keys and assigns codes/dtype through NDArrayBacked: inert",
    "pandas.CategoricalDtype.__setstate__": "assigns _categories and _ordered: inert",
    "pandas.DatetimeTZDtype.__setstate__": "assigns _tz and _unit (tz from state, already loaded): inert",
    "pandas.IntervalDtype.__setstate__": "assigns _subtype and _closed: inert",
    "pandas.PeriodDtype.__setstate__": "assigns the frequency: inert",
    "pandas.arrays.SparseArray.__setstate__": "assigns sparse values, index and dtype: inert",
    "pandas.arrays.ArrowExtensionArray.__setstate__": "rebuilds _pa_array with pyarrow.chunked_array from the "
                                                      "state's arrays: inert",
    "pandas.core.internals.managers.SingleBlockManager.__setstate__":
        "rebuilds the block with new_block(values, placement, ndim) and the axes: inert",
    "pandas.core.internals.managers.BlockManager.__setstate__":
        "rebuilds blocks with new_block(values, placement, ndim) and the axes: inert",
} | {f"pandas._libs.tslibs.offsets.{o}.{m}": "Cython date offset: stores n, normalize and the offset's "
     "parameters (weekday, month, holidays...) after checks; no I/O"
     for o in _OFFSETS for m in ("__new__", "__init__", "__setstate__")}

# stdlib (C) and builtins
REVIEWED_METHODS |= {
    "collections.OrderedDict.__init__": "C: updates from a mapping or pairs: inert",
    "collections.OrderedDict.__setitem__": "C: dict insert plus its linked list: inert",
    "collections.defaultdict.__init__": "C: stores default_factory (called later on a missing key: invokes 0)",
    "collections.defaultdict.__getattribute__": "C: the generic attribute lookup",
    "collections.deque.__new__": "C allocation", "collections.deque.__init__": "C: extends from an iterable",
    "collections.deque.__setitem__": "C: item assignment", "collections.deque.append": "C: append",
    "collections.deque.extend": "C: extend", "collections.deque.__getattribute__": "C: generic attribute lookup",
    "datetime.date.__new__": "C: ints or pickled bytes, range-checked",
    "datetime.datetime.__new__": "C: ints or pickled bytes and a tzinfo, range-checked",
    "datetime.time.__new__": "C: ints or pickled bytes and a tzinfo, range-checked",
    "datetime.timedelta.__new__": "C: numbers, normalised", "datetime.timezone.__new__": "C: offset and name",
    "decimal.Decimal.__new__": "C: parses a number or string", "decimal.Context.__new__": "C allocation",
    "decimal.Context.__init__": "C: precision, rounding, exponents, trap and flag lists",
    "functools.partial.__new__": "C: stores func, args, keywords (a later call invokes func: invokes 0)",
    "functools.partial.__setstate__": "C: replaces func, args, keywords, __dict__ from the state tuple; the "
                                      "engine treats state[0] as invoked",
    "functools.partial.__getattribute__": "C: the generic attribute lookup",
    "array.array.__new__": "C: a typecode and an initializer (list, str, bytes)",
    "types.SimpleNamespace.__new__": "C allocation", "types.SimpleNamespace.__init__": "C: keyword attributes",
    "types.SimpleNamespace.__getattribute__": "C: generic", "types.SimpleNamespace.__setattr__": "C: generic",
    "uuid.UUID.__setstate__": "object.__setattr__ of int and is_safe: inert",
    "zoneinfo.ZoneInfo.__new__": "C: validates the key (normalized relative path, no traversal) and reads that "
                                 "time-zone file from TZPATH or the tzdata package (environment data)",
}

# scientific and ML libraries
REVIEWED_METHODS |= {
    "scipy.stats._distn_infrastructure.rv_generic.__setstate__":
        "scipy 1.17.1 stats/_distn_infrastructure.py: self.__dict__.update(state), then _attach_methods -> "
        "_attach_argparser_methods, which runs exec(self._parse_arg_template): text from the state. Inert only "
        "under the BUILD state contract 'scipy_argparser' (BUILD_STATE_CONTRACTS): a plain dict state whose "
        "_parse_arg_template is exactly scipy's parse_arg_template filled with identifier shapes and the "
        "locscale strings _construct_argparser uses (the exec then defines three argument parsers only)",
    "scipy.stats._distn_infrastructure.rv_discrete.__new__": "picks rv_sample when `values` is given; object new",
    "scipy.sparse._coo.coo_matrix.__setstate__": "renames a legacy key and __dict__.update: inert",
    "scipy.spatial._ckdtree.cKDTree.__new__": "Cython allocation", "scipy.spatial._ckdtree.cKDTree.__setstate__":
        "Cython: assigns the tree arrays and rebuilds node pointers from them (checked sizes)",
    "scipy.spatial.transform._rotation.Rotation.__setstate__": "assigns quaternions/backend from the state",
    "sklearn.tree._tree.Tree.__new__": "Cython allocation with n_features, n_classes, n_outputs",
    "sklearn.tree._tree.Tree.__setstate__": "Cython: checks node and value arrays' dtype/shape, copies them",
    "sklearn.metrics._dist_metrics.DistanceMetric64.__setstate__": "Cython: assigns p, vec, mat arrays",
    "sklearn.neighbors._kd_tree.BinaryTree64.__setstate__": "Cython: assigns data/index/node arrays and the "
                                                            "distance metric, checks shapes",
    "sklearn.neighbors._ball_tree.BinaryTree64.__setstate__": "as the KD tree's",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor.__setstate__":
        "__dict__.update, then casts the nodes array to the predictor dtype: inert",
    "sklearn.isotonic.IsotonicRegression.__setstate__": "__dict__.update, then rebuilds the interpolating "
                                                        "function from its own arrays (scipy interp1d): inert",
    "sklearn.linear_model._passive_aggressive.PassiveAggressiveClassifier.__new__":
        "deprecation wrapper around object.__new__ (warns): inert",
    "sklearn.linear_model._passive_aggressive.PassiveAggressiveRegressor.__new__":
        "deprecation wrapper around object.__new__ (warns): inert",
    "sklearn.impute._iterative._ImputerTriplet.__new__": "namedtuple __new__ (tuple.__new__): inert",
    "xgboost.core.Booster.__setstate__": "creates a booster and parses the model from the state's bytes in "
                                         "memory (libxgboost's parser; no file, no network)",
    "xgboost.core.Booster.__del__": "frees the native handle it created (None when never built)",
    "lightgbm.basic.Booster.__setstate__": "parses the model string in memory (LGBM_BoosterLoadModelFromString)",
    "lightgbm.basic.Booster.__del__": "frees its network and the handle it created; AttributeError otherwise",
    "tokenizers.Tokenizer.__new__": "Rust allocation with a model", "tokenizers.Tokenizer.__setstate__":
        "deserialises the tokenizer JSON in memory (Rust); no I/O",
    "tokenizers.Encoding.__new__": "Rust allocation", "tokenizers.Encoding.__setstate__": "deserialises JSON",
    "tokenizers.models.Model.__new__": "Rust allocation", "tokenizers.models.Model.__setstate__":
        "deserialises the model JSON in memory (Rust)", "tokenizers.models.Unigram.__new__": "Rust: vocab list",
    "tokenizers.models.BPE.__new__": "Rust: vocab and merges in memory (files only through from_file)",
    "tokenizers.models.WordPiece.__new__": "Rust: vocab in memory", "tokenizers.models.WordLevel.__new__":
        "Rust: vocab in memory",
    "torch.Size.__new__": "a tuple of ints", "torch.device.__new__": "parses a device type and index",
    "torch.nn.modules.conv._ConvNd.__setstate__": "Module.__setstate__, then a default padding_mode",
    "torch.nn.modules.upsampling.Upsample.__setstate__": "Module.__setstate__, then a default "
                                                         "recompute_scale_factor",
    "torch.nn.modules.activation.Softmax.__setstate__": "Module.__setstate__, then a default dim",
    "torch.nn.modules.activation.Softmin.__setstate__": "Module.__setstate__, then a default dim",
    "torch.nn.modules.activation.LogSoftmax.__setstate__": "Module.__setstate__, then a default dim",
    "torch.nn.modules.activation.MultiheadAttention.__setstate__": "sets a default _qkv_same_embed_dim, then "
                                                                   "Module.__setstate__",
    "torch.nn.modules.transformer.TransformerEncoderLayer.__setstate__": "Module.__setstate__, then a default "
                                                                         "activation (F.relu)",
    "torch.nn.modules.transformer.TransformerDecoderLayer.__setstate__": "Module.__setstate__, then a default "
                                                                         "activation (F.relu)",
    "torch.nn.modules.module._WrappedHook.__setstate__": "stores hook and a weakref to the module (the hook "
                                                         "is a callable from the file: the engine checks it)",
    "torch.utils.hooks.RemovableHandle.__setstate__": "stores id and weak references to the hook dicts",
    "transformers.configuration_utils.PreTrainedConfig.__getattribute__": "maps attribute_map aliases, then "
                                                                          "object.__getattribute__",
    "transformers.configuration_utils.PreTrainedConfig.__setattr__": "maps attribute_map aliases, then "
                                                                     "object.__setattr__",
    "transformers.tokenization_utils_base.BatchEncoding.__setstate__": "assigns data, encodings and n_sequences",
}
