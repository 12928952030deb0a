"""Contracts: what calling a modelled name does at load time, as data the engine interprets.

Most allowlisted names need no contract: their entry (``catalog/entries.py``) says which uses are permitted and
which arguments calling them invokes. A contract is needed where the *result* or the *effect on the arguments*
decides safety: ``getattr(X, "attr")`` returns the name ``X.attr``; ``copyreg.__newobj__(cls, *args)`` runs
``cls.__new__``; ``functools.partial(f, ...)`` makes an object that calls ``f``; ``_reconstruct(subtype, ...)``
allocates a ``subtype``; decoders return bytes the engine follows into nested loaders.

A contract describes only the ``CALL`` use (the file calling the name). Every other use of the same name is
governed by its allow or deny entry like any other name.

Sources (read, not guessed): CPython 3.11 ``Lib/copyreg.py``, ``Modules/_functoolsmodule.c`` (``partial_setstate``),
``Lib/pickle.py`` ``load_build``; numpy 2.x ``numpy/_core/multiarray`` ``_reconstruct`` (``ndarray.__new__``) and
``numpy/ma/core.py`` ``_mareconstruct``; torch 2.13 ``torch/_tensor.py`` ``_rebuild_from_type(_v2)``; dill 0.4
``dill/_dill.py`` ``_create_array``/``_load_type``; Cython's generated ``__pyx_unpickle_<Class>``.

Invariant: data only; nothing here imports or calls a modelled name.
"""

from __future__ import annotations

import enum

from safeload._record import FrozenRecord

__all__ = ["CONTRACTS", "OTHER_VERSIONS", "TRANSFORMS", "Behaviour", "Contract", "contract_for"]

# Pure data transforms the engine evaluates itself (bounded) to follow obfuscated payloads into nested loaders.
TRANSFORMS: frozenset[str] = frozenset(
    """
    zlib.decompress gzip.decompress bz2.decompress lzma.decompress base64.b64decode base64.b32decode
    base64.b16decode base64.b85decode base64.a85decode base64.decodebytes binascii.a2b_base64 binascii.unhexlify
    binascii.a2b_hex codecs.decode _codecs.decode io.BytesIO _io.BytesIO builtins.bytes.fromhex
    """.split()
)


class Behaviour(enum.Enum):
    GETATTR = "getattr"                  # getattr(obj, name): the attribute ``obj.name`` is the result
    IMPORT_MODULE = "import-module"      # import_module(name) / __import__(name): the module is the result
    RESOLVE_NAME = "resolve-name"        # pkgutil.resolve_name("mod:attr"): the named object is the result
    UFUNC = "ufunc"                      # numpy _ufunc_reconstruct(module, name): imports ``module.name``
    PARTIAL = "partial"                  # functools.partial(func, *args, **kw): an object that calls ``func``
    NEWOBJ = "newobj"                    # copyreg.__newobj__(cls, *args): cls.__new__(cls, *args)
    NEWOBJ_EX = "newobj-ex"              # copyreg.__newobj_ex__(cls, args, kwargs)
    RECONSTRUCTOR = "reconstructor"      # copyreg._reconstructor(cls, base, state)
    SUBTYPE_ALLOC = "subtype-alloc"      # numpy _reconstruct(subtype, shape, dtype): ndarray.__new__(subtype, ...)
    MA_RECONSTRUCT = "ma-reconstruct"    # numpy.ma _mareconstruct(subtype, baseclass, baseshape, basetype)
    REBUILD_FROM_TYPE = "rebuild-from-type"  # torch _rebuild_from_type(_v2)(func, new_type, args, state)
    CREATE_ARRAY = "create-array"        # dill _create_array(f, args, state, npdict): f(*args)
    LOAD_TYPE = "load-type"              # dill _load_type(name): a type from ``types`` by name
    TYPE = "type"                        # builtins.type(obj) or type(name, bases, dict)
    PYX_UNPICKLE = "pyx-unpickle"        # Cython __pyx_unpickle_X(type, checksum, state): X.__new__(type) + state
    DECODE = "decode"                    # a pure decoder (zlib, base64, ...): its bytes are followed


class Contract(FrozenRecord):
    """How the engine models a call: its behaviour, and a note for reviewers."""

    _FIELDS = ("behaviour", "note")
    __slots__ = ("behaviour", "note")
    behaviour: Behaviour
    note: str

    def __init__(self, behaviour: Behaviour, note: str = "") -> None:
        object.__setattr__(self, "behaviour", behaviour)
        object.__setattr__(self, "note", note)


def _same(names: str, behaviour: Behaviour, note: str = "") -> dict[str, Contract]:
    contract = Contract(behaviour, note)
    return {name: contract for name in names.split()}


CONTRACTS: dict[str, Contract] = {
    **_same("builtins.getattr", Behaviour.GETATTR, "returns the attribute; ranked as the dotted name it reaches"),
    **_same("importlib.import_module importlib.__import__ builtins.__import__", Behaviour.IMPORT_MODULE,
            "returns the module named by its argument"),
    **_same("pkgutil.resolve_name", Behaviour.RESOLVE_NAME, "returns the object named by its argument"),
    **_same("numpy.core._ufunc_reconstruct numpy._core._ufunc_reconstruct", Behaviour.UFUNC,
            "imports module and returns getattr(module, name); numpy pickles ufuncs as ('numpy', name)"),
    **_same("functools.partial", Behaviour.PARTIAL, "the partial calls func(*args, *call_args) when invoked; "
            "__setstate__((func, args, kwds, dict)) replaces all of them"),
    **_same("copyreg.__newobj__", Behaviour.NEWOBJ, "cls.__new__(cls, *args)"),
    **_same("sklearn.neighbors._kd_tree.newObj sklearn.neighbors._ball_tree.newObj "
            "sklearn.metrics._dist_metrics.newObj", Behaviour.NEWOBJ,
            "scikit-learn's Cython helper: def newObj(obj): return obj.__new__(obj)"),
    **_same("hdbscan.dist_metrics.newObj", Behaviour.NEWOBJ,
            "hdbscan 0.8.44's Cython helper (dist_metrics.pyx): def newObj(obj): return obj.__new__(obj)"),
    **_same("copyreg.__newobj_ex__", Behaviour.NEWOBJ_EX, "cls.__new__(cls, *args, **kwargs)"),
    **_same("copyreg._reconstructor", Behaviour.RECONSTRUCTOR,
            "object.__new__(cls) if base is object, else base.__new__(cls, state) and base.__init__(obj, state)"),
    **_same("numpy.core.multiarray._reconstruct numpy._core.multiarray._reconstruct numpy.core._internal._reconstruct",
            Behaviour.SUBTYPE_ALLOC,
            "ndarray.__new__(subtype, shape, dtype): allocates a subtype without calling it"),
    **_same("numpy.ma.core._mareconstruct", Behaviour.MA_RECONSTRUCT,
            "ndarray.__new__(baseclass, ...) then subtype.__new__(subtype, data, mask=..., dtype=...)"),
    **_same("torch._tensor._rebuild_from_type_v2 torch._tensor._rebuild_from_type", Behaviour.REBUILD_FROM_TYPE,
            "func(*args), then as_subclass(new_type) and new_type.__setstate__(state) or __dict__ update"),
    **_same("dill._dill._create_array", Behaviour.CREATE_ARRAY, "f(*args), then __setstate__(state)"),
    **_same("dill._dill._load_type", Behaviour.LOAD_TYPE, "returns a type from the types module by name"),
    **_same("builtins.type", Behaviour.TYPE, "type(obj) returns obj's class; type(name, bases, dict) makes one"),
    **{name: Contract(Behaviour.DECODE, "a pure decoder the engine runs itself, bounded") for name in TRANSFORMS},
}

# Names other versions of their package define (files written there still name them; the contract keeps the
# engine modelling them instead of treating them as unknown): numpy 2.0-2.3 defined _ufunc_reconstruct in _core.
OTHER_VERSIONS: frozenset[str] = frozenset({"numpy._core._ufunc_reconstruct"})

_PYX = Contract(Behaviour.PYX_UNPICKLE, "Cython: X.__new__(type) then X's generated __setstate_cython__")


def contract_for(name: str) -> Contract | None:
    """The contract for the dotted ``name``; Cython's ``module.__pyx_unpickle_X`` share one."""
    found = CONTRACTS.get(name)
    if found is not None:
        return found
    if name.rpartition(".")[2].startswith("__pyx_unpickle_"):
        return _PYX
    return None
