"""Which catalogued classes are ``dict`` subclasses, and which of them serve their items as attributes.

The engine reads BUILD state as CPython's ``load_build`` applies it (``engine/semantics.py``): a value there is
written into the object's ``__dict__`` (or set with ``setattr``) only when it is a dict (``PyDict_Check``, which
accepts subclasses). Security invariant: an object of a class listed here may be a dict at load time, so the engine
never treats one it cannot read as inert state; an object of any other *catalogued* class cannot be one. A class
outside the catalogue is never assumed not to be a dict.
"""

from __future__ import annotations

__all__ = [
    "CONTAINER_ATTRIBUTES",
    "EMPTY_DICT_DUNDERS",
    "ITEMS_ARE_ATTRIBUTES",
    "MAPPING_CLASSES",
    "NOT_MAPPING_RESULTS",
    "TEXT_DUNDERS",
]

#: Catalogued classes (reviewed or generated entries permitting NEW, ALLOC or BUILD) that are ``dict`` subclasses,
#: listed by importing every such class in the development environment and testing ``issubclass(cls, dict)``
#: (numpy 2, pandas 3, scipy 1.17, scikit-learn 1.8, torch 2.13, transformers, nltk).
MAPPING_CLASSES: frozenset[str] = frozenset("""
builtins.dict collections.Counter collections.OrderedDict collections.defaultdict enum._EnumDict
nltk.probability.ConditionalFreqDist nltk.probability.FreqDist numpy._typing._dtype_like._DTypeDict
numpy._typing._dtype_like._DTypeDictBase pandas._libs.tslibs.strptime.TimeRE
pandas.core.frame._DuplicateColumnRecorder pandas.core.interchange.dataframe_protocol.CategoricalDescription
pandas.core.interchange.dataframe_protocol.ColumnBuffers
pandas.core.tools.datetimes.FulldatetimeDict pandas.core.tools.datetimes.YearMonthDayDict
scipy.optimize._optimize.OptimizeResult scipy.sparse._dok._dok_base scipy.sparse._dok.dok_array
scipy.sparse._dok.dok_matrix sklearn.utils._bunch.Bunch sklearn.utils._encode._NaNCounter sklearn.utils._encode._nandict
torch._utils._Block torch._utils._Frame torch._utils._Segment torch._utils._Snapshot torch._utils._TraceEntry
torch.nn.attention.flex_attention.FlexKernelOptions torch.nn.attention.flex_attention._KernelOptionsWithInternals
torch.optim.lr_scheduler._SchedulePhase transformers.utils.generic.ModelOutput
transformers.utils.generic.TransformersKwargs
""".split())

#: Dict subclasses whose items are also attributes: scipy's OptimizeResult (``_RichResult.__getattr__`` returns
#: ``self[name]``), scikit-learn's Bunch (``__getattr__`` returns ``self[key]``), transformers' ModelOutput
#: (``__setitem__`` also ``setattr``s the key). What SETITEMS stores in one is read as BUILD state is: a key named
#: like a protocol method is refused (numpy looks ``__array_interface__`` up on the instance, reaching
#: ``__getattr__``).
ITEMS_ARE_ATTRIBUTES: frozenset[str] = frozenset(
    "scipy.optimize._optimize.OptimizeResult sklearn.utils._bunch.Bunch transformers.utils.generic.ModelOutput".split())

#: Dunder attributes real objects keep in their instance dict as text (scipy's rv_generic and statsmodels' result
#: wrappers set ``self.__doc__``): admitted in BUILD state when the value is a ``str`` or ``None`` written in the
#: file. Code reads them as text only (help, inspect, repr); every other dunder key is refused whatever its value.
TEXT_DUNDERS: frozenset[str] = frozenset({"__doc__", "__module__", "__name__", "__qualname__"})

#: Catalogued functions whose result is never a dict (numpy's array rebuilders): given as BUILD state, their result
#: goes to the class's own ``__setstate__`` (scipy's Rotation), never into ``__dict__``.
NOT_MAPPING_RESULTS: frozenset[str] = frozenset({"numpy._core.numeric._frombuffer", "numpy.core.numeric._frombuffer"})

#: Dunder-named instance attributes a library keeps as a cache dict, admitted in BUILD state when the value is an
#: empty dict literal (networkx 3 graphs pickle ``__networkx_cache__ = {}``); no protocol looks the name up.
EMPTY_DICT_DUNDERS: frozenset[str] = frozenset({"__networkx_cache__"})

#: Instance attributes whose value the owner's own load-time code uses as a container: torch 2.13's
#: ``Module.__setstate__`` assigns each missing hook dict through ``Module.__setattr__``, which runs ``name in``
#: on ``_parameters``, ``_modules`` and ``_buffers`` (and ``Module.__getattr__``/``register_parameter`` do the
#: same, with ``[]``), and ``name not in _non_persistent_buffers_set``. An object BUILD sets under one of these
#: names has its protocol methods run by the load, so it is ranked as passed to a call (PASSED: ``__contains__``,
#: ``__iter__``, ``__getitem__``... analysed), not only as an attribute that may be called. Applied to every
#: class: it only adds a use.
CONTAINER_ATTRIBUTES: frozenset[str] = frozenset({"_parameters", "_buffers", "_modules", "_non_persistent_buffers_set"})
