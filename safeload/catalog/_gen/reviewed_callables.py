"""Hand-reviewed callables: compiled functions (no bytecode to scan) and the arguments callables invoke.

``REVIEWED_CALLABLES``: name -> what calling it with arguments from the file does (read from the installed
source or the extension's documented behaviour). ``"type:<module>.<Type>"`` keys review every callable
*instance* of that type (numpy ufuncs). A note starting with ``NOT INERT`` records a refusal.
``REVIEWED_INVOKES``: name -> the argument positions and keywords the callable calls (overrides the bytecode
analysis, which cannot see into compiled code or through stored callables).
"""

from __future__ import annotations

__all__ = ["REVIEWED_CALLABLES", "REVIEWED_INVOKES"]

_ARROW = "pyarrow.lib (Cython): builds an Arrow type, buffer, array or table from in-memory values; no I/O"
_PANDAS_LIBS = "pandas._libs (Cython): rebuilds a value from plain numbers, strings and arrays; no I/O"

REVIEWED_CALLABLES: dict[str, str] = {
    "type:numpy.ufunc": "numpy ufuncs compute elementwise on their array arguments; no I/O, no imports",
    "_codecs.encode": "encodes a str with a codec looked up by name in the encodings package (stdlib); pure",
    "codecs.encode": "as _codecs.encode",
    "numpy._core.multiarray._reconstruct": "allocates an empty array of the given ndarray subtype "
                                           "(runs its __array_finalize__, reviewed with the subtype)",
    "numpy.core.multiarray._reconstruct": "as numpy._core.multiarray._reconstruct",
    "numpy._core.multiarray.scalar": "builds a numpy scalar from a dtype and its raw bytes (object dtype: "
                                     "the already-loaded object); no I/O",
    "numpy.core.multiarray.scalar": "as numpy._core.multiarray.scalar",
    "numpy._core.multiarray._frombuffer": "wraps bytes as an array; no I/O",
    "pyarrow.lib._restore_array": _ARROW,
    "pyarrow.lib.type_for_alias": _ARROW,
    "pyarrow.lib.py_buffer": _ARROW,
    "pyarrow.lib.schema": _ARROW,
    "pyarrow.lib.field": _ARROW,
    "pyarrow.lib.list_": _ARROW,
    "pyarrow.lib.large_list": _ARROW,
    "pyarrow.lib.struct": _ARROW,
    "pyarrow.lib.timestamp": _ARROW,
    "pyarrow.lib.decimal128": _ARROW,
    "pyarrow.lib.decimal256": _ARROW,
    "pyarrow.lib.dictionary": _ARROW,
    "pyarrow.lib.chunked_array": _ARROW,
    "pyarrow.lib.scalar": _ARROW,
    "pyarrow.lib.map_": _ARROW,
    "pyarrow.lib.duration": _ARROW,
    "pyarrow.lib.time32": _ARROW,
    "pyarrow.lib.time64": _ARROW,
    "pyarrow.lib.fixed_size_list": _ARROW,
    "pyarrow.lib._reconstruct_table": _ARROW,
    "pyarrow.lib._reconstruct_record_batch": _ARROW,
    "pyarrow.lib.table": _ARROW,
    "pyarrow.lib.record_batch": _ARROW,
    "pandas._libs.internals._unpickle_block": _PANDAS_LIBS + " (a Block from values, placement, ndim)",
    "pandas._libs.tslibs.nattype._nat_unpickle": _PANDAS_LIBS + " (returns the NaT singleton)",
    "pandas._libs.tslibs.nattype.__nat_unpickle": _PANDAS_LIBS + " (returns the NaT singleton)",
    "pandas._libs.tslibs.timedeltas._timedelta_unpickle": _PANDAS_LIBS + " (a Timedelta from an int and unit)",
    "pandas._libs.tslibs.timestamps._unpickle_timestamp": _PANDAS_LIBS + " (a Timestamp from ints and a tzinfo)",
    "zoneinfo.ZoneInfo._unpickle": "C: returns the cached zone for a key validated as a normalized relative "
                                   "path (no traversal), reading that time-zone file from TZPATH or the tzdata "
                                   "package (environment data)",
    "array._array_reconstructor": "C: rebuilds an array from a typecode, a machine format code and bytes",
    "builtins.abs": "calls the argument's __abs__ (an object the file built, checked on its own)",
    "builtins.max": "compares items; calls `key` when given (invokes key)",
    "builtins.min": "compares items; calls `key` when given (invokes key)",
    "builtins.getattr": "NOT INERT: attribute access by a name from the file; the engine checks its arguments",
    "torch._C._nn.gelu": "tensor math (ATen kernel)",
    "torch._utils._rebuild_tensor_v2": "a tensor view over a storage with size/stride; sets requires_grad and "
                                       "backward hooks from the file (an OrderedDict, checked by the engine)",
}

REVIEWED_INVOKES: dict[str, tuple[int | str, ...]] = {
    "collections.defaultdict": (0, "default_factory"),
    "functools.partial": (0,),
    "numpy.random._pickle.__randomstate_ctor": (1, "bit_generator_ctor"),
    "numpy.random._pickle.__generator_ctor": (1, "bit_generator_ctor"),
    "numpy.random._pickle.__bit_generator_ctor": (0, "bit_generator"),
    "torch.optim.lr_scheduler.LambdaLR": (1, "lr_lambda"),
    "torch.optim.lr_scheduler.MultiplicativeLR": (1, "lr_lambda"),
    "torch._tensor._rebuild_from_type_v2": (0, "func"),
    "torch._tensor._rebuild_from_type": (0, "func"),
    "copyreg._reconstructor": (0, 1, "cls", "base"),
    "copyreg.__newobj__": (0, "cls"),
    "copyreg.__newobj_ex__": (0, "cls"),
    "numpy._core.multiarray._reconstruct": (0,),
    "numpy.core.multiarray._reconstruct": (0,),
    "builtins.map": (0,),
    "builtins.filter": (0,),
    "builtins.sorted": ("key",),
    "builtins.max": ("key",),
    "builtins.min": ("key",),
}
