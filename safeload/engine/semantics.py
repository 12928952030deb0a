"""What the load does at each semantic opcode: globals, calls, BUILD, mutations — as facts, never as effects.

The opcode loop (``engine/machine.py``) calls these methods with symbolic values. They record, for every name,
the uses the load makes of it (``engine/facts.py``), interpret the contracts of modelled callables
(``catalog/contracts.py``: ``getattr``, ``functools.partial``, ``copyreg`` helpers, numpy/torch rebuilders,
decoders), follow bytes handed to nested loaders into a nested scan, and report structural problems (SL109,
SL111, SL113, ...). Whether a name's uses are acceptable is decided afterwards by ``catalog/decide.py``.

Security invariants:
- nothing named in the stream is imported, looked up or called; the only callables run on stream data are
  pure decoders (zlib, base64, ...) with output caps, to follow obfuscated payloads;
- a value that reaches code which may call it — an argument outside a position a contract declares, BUILD
  state, items stored into an object, the loaded object — is kept for the end-of-stream escape walk, so a name
  allowed only to be referenced is never silently passed to something that calls it;
- ``functools.partial`` is tracked through ``__setstate__``: BUILD replaces its function, and the new function
  is what calling the partial runs; its keywords are passed on and ranked as called (the function may keep them
  as attributes), its instance dict is ranked like BUILD attribute state.
"""

from __future__ import annotations

import codecs
import contextlib
import sys
from collections.abc import Callable

from safeload._context import LimitExceeded, ScanContext
from safeload._text import short_repr
from safeload.catalog.classify import classify
from safeload.catalog.contracts import Behaviour
from safeload.catalog.legacy import ARGUMENT_FROM, NESTED_ARGUMENT, RESULT_CLASS
from safeload.catalog.mappings import (
    CONTAINER_ATTRIBUTES,
    EMPTY_DICT_DUNDERS,
    ITEMS_ARE_ATTRIBUTES,
    MAPPING_CLASSES,
    NOT_MAPPING_RESULTS,
    TEXT_DUNDERS,
)
from safeload.catalog.uses import Use
from safeload.engine.facts import Escape, FactTable, U
from safeload.engine.machine import may_collide
from safeload.engine.values import BigBytes, Call, Global, Opaque, ParseError, PlainList
from safeload.severity import Severity

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from safeload.catalog.contracts import Contract
    from safeload.catalog.state_contracts import Admitted

__all__ = ["BUILD_HOOKS", "BuildHook", "Semantics"]

_MAX_DECODED = 256 << 20        # cap on what the engine will decode itself to follow a payload
_TENSOR_BUILDERS = ("torch._utils._rebuild", "torch._tensor._rebuild", "torch.storage.", "torch.nn.parameter.")
_BUILTIN_TYPES = frozenset(f"builtins.{n}" for n in
                           "str bytes bytearray int float complex bool list dict tuple set frozenset".split())
_CODE_TYPE_NAMES = frozenset({"CodeType", "FunctionType", "LambdaType", "MethodType", "CellType", "ModuleType",
                              "BuiltinFunctionType", "BuiltinMethodType", "FrameType", "GeneratorType"})
_OBJECT = "builtins.object"
#: builtins that run a codec the file names (``_check_codec``)
_TEXT_CONVERTERS = frozenset({"builtins.bytes", "builtins.bytearray", "builtins.str"})
#: decoders that run a codec the file names (``_decoder_codec_admitted``)
_CODEC_DECODERS = frozenset({"codecs.decode", "_codecs.decode"})


def _builtin_type(full: str) -> bool:
    """``builtins.<name>`` naming a type (a non-heap base copyreg may name), never a function or an attribute."""
    import builtins

    head, _, name = full.partition(".")
    return head == "builtins" and "." not in name and isinstance(getattr(builtins, name, None), type)
_NOT_INVOKED = (str, bytes, int, float, bool, type(None), BigBytes)
_DICT_BUILDERS = frozenset({"builtins.dict", "collections.OrderedDict"})  # build a dict of exactly their items
# Catalogued callables whose result dict.update accepts as a mapping (keys()) or as an iterable of pairs: given as
# BUILD state to a __setstate__ doing self.__dict__.update(state) (torch's Optimizer and Module), their items become
# attributes the engine cannot read (red team R4-1)
_UPDATE_SOURCES = frozenset({
    "builtins.list", "builtins.tuple", "builtins.zip", "builtins.reversed", "builtins.enumerate", "builtins.iter",
    "builtins.map", "builtins.filter", "builtins.sorted", "collections.deque", "collections.UserList",
    "collections.UserDict", "collections.ChainMap", "types.MappingProxyType"})
_MAKES_INSTANCES = Use.NEW | Use.ALLOC | Use.BUILD  # an entry with one of these is a class
# Callables that hash the items of their first argument (``items``) or the first item of each of its pairs
# (``pairs``; ``defaultdict``: of its second argument): their keys are counted by the hash the load computes before
# the call is modelled (red team R12-2, engine/collisions.py).
_HASHING_CALLS = {"builtins.set": "items", "builtins.frozenset": "items", "collections.Counter": "items",
                  "builtins.dict.fromkeys": "items", "collections.OrderedDict.fromkeys": "items",
                  "builtins.dict": "pairs", "collections.OrderedDict": "pairs", "collections.defaultdict": "pairs"}

# BUILD hooks: formats that write raw data right after a BUILD (joblib's NumpyArrayWrapper) register a
# function here that returns the offset where the pickle stream resumes.
if TYPE_CHECKING:
    BuildHook = Callable[[Any, Call, Any, int], int]
else:  # no ``typing`` at run time (issue 15: fixed costs)
    BuildHook = Callable
BUILD_HOOKS: dict[str, BuildHook] = {}
_LAZY_BUILD_HOOK_MODULES = {
    "joblib.numpy_pickle.NumpyArrayWrapper": "safeload.scanners.joblib",
    "joblib.numpy_pickle.ZNDArrayWrapper": "safeload.scanners.joblib",
    "joblib.numpy_pickle_compat.ZNDArrayWrapper": "safeload.scanners.joblib",
    "joblib.numpy_pickle_compat.NDArrayWrapper": "safeload.scanners.joblib",
    "joblib.numpy_pickle.NDArrayWrapper": "safeload.scanners.joblib",  # the name joblib < 0.10 pickled
}


def _build_hook(name: str) -> BuildHook | None:
    hook = BUILD_HOOKS.get(name)
    if hook is None and name in _LAZY_BUILD_HOOK_MODULES:
        import importlib

        importlib.import_module(_LAZY_BUILD_HOOK_MODULES[name])  # safeload's own module, not the file's
        hook = BUILD_HOOKS.get(name)
    return hook


def _state_kind(state: Any) -> str:
    """How ``load_build`` applies ``state`` without ``__setstate__``: dict update, setattr per slot, or neither."""
    if type(state) is dict:
        return "dict"
    if type(state) is tuple and len(state) == 2 and (state[0] is None or type(state[0]) is dict) \
            and type(state[1]) is dict:
        return "slots"
    return "other"


class _HashedKey:
    """A state key as a dict key of the engine's own (an engine value such as a :class:`Call` or a
    ``PlainList`` may be unhashable or compare by identity: two equal literal keys still collapse)."""

    __slots__ = ("key",)

    def __init__(self, key: Any) -> None:
        self.key = key

    def __hash__(self) -> int:
        return hash(self.key) if type(self.key) in _NOT_INVOKED else id(self.key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _HashedKey) and (self.key is other.key or (
            type(self.key) in _NOT_INVOKED and type(self.key) is type(other.key) and self.key == other.key))


def _as_dict(pairs: list[Any]) -> dict[Any, Any]:
    """The engine's view of ``dict(pairs)`` (keys wrapped in :class:`_HashedKey`)."""
    return {_HashedKey(k): v for k, v in pairs}


def _key(key: Any) -> Any:
    return key.key if type(key) is _HashedKey else key


def _key_text(key: Any) -> str:
    key = _key(key)
    return key if type(key) is str else _describe(key)


def _is_partial(inst: Call) -> bool:
    """Whether BUILD runs ``partial.__setstate__`` on ``inst``: a partial the contract modelled, or an instance of
    ``functools.partial`` a helper made (``copyreg.__newobj__(functools.partial, f)``, ``_reconstructor``)."""
    if inst.partial_func is not None:
        return True
    contract = inst.owner.cls.contract if inst.owner is not None else None
    return contract is not None and contract.behaviour is Behaviour.PARTIAL


def _describe(value: Any) -> str:
    if isinstance(value, Global):
        return value.full
    if isinstance(value, Call):
        return f"an object built by {value.func_name or 'a call'}"
    return short_repr(value, 60)


def _text_encoded(args: tuple[Any, ...]) -> bytes | None:
    """The bytes ``_codecs.encode(text, encoding="utf-8", errors="strict")`` returns, for the text codecs a
    pickler uses (latin-1: protocols 0-2 write bytes so; utf-8, the default; ascii), looked up the way
    ``codecs.lookup`` normalises the name; None for any other codec or error handler (the bytes are not read:
    red team R8-2, a latin-1 reading of ``_codecs.encode(text, "utf-8")`` showed the scanner other bytes)."""
    import encodings
    from encodings.aliases import aliases

    if not args or len(args) > 3 or type(args[0]) is not str:
        return None
    encoding = args[1] if len(args) > 1 else "utf-8"
    errors = args[2] if len(args) > 2 else "strict"
    if type(encoding) is not str or errors != "strict":
        return None
    norm = encodings.normalize_encoding(encoding.lower().replace(" ", "_").replace("-", "_"))
    codec = aliases.get(norm) or aliases.get(norm.replace(".", "_")) or norm
    if codec not in ("latin_1", "utf_8", "ascii"):
        return None
    try:
        return args[0].encode(codec)
    except UnicodeEncodeError:
        return None  # the loader raises here: nothing is loaded


def _literal_arguments(call: Call) -> bool:
    """``call`` was made with a str or bytes literal and at most an int literal (``re._compile(pattern, flags)``),
    no keywords, and nothing stored into the result since (no BUILD state, no items, not a partial)."""
    args = call.args
    return (type(args) is tuple and 1 <= len(args) <= 2 and type(args[0]) in (str, bytes)
            and (len(args) == 1 or type(args[1]) is int) and call.kwargs is None and call.state is None
            and call.items is None and call.partial_func is None)


def _decoder_errors() -> tuple[type[BaseException], ...]:
    """What a bounded decoder raises on bad input; ``zlib.error`` and ``lzma.LZMAError`` once their modules are
    loaded (only then can they be raised; the decoders import them: issue 15, fixed costs)."""
    zlib, lzma = sys.modules.get("zlib"), sys.modules.get("lzma")
    return (ValueError, TypeError, OSError, EOFError, LookupError, *((zlib.error,) if zlib is not None else ()),
            *((lzma.LZMAError,) if lzma is not None else ()))


class Semantics:
    """The semantic half of :class:`~safeload.engine.walker.PickleWalker` (see the module docstring)."""

    data: Any
    ctx: ScanContext
    facts: FactTable
    frame_end: int
    use_build_hooks: bool = True
    _count_keys: Callable[[Any, str], None]  # Machine._count_keys (engine/collisions.py)

    def _init_semantics(self) -> None:
        self.facts = FactTable()
        self._calls: list[Call] = []
        self._escapes: list[Escape] = []
        self._sensitive = False
        self._decoded_bytes = 0
        self._allocated = 0  # bytes the sized allocators of this stream were asked for (``_check_allocation``)
        # id -> (object, record): objects made by instantiations an argument contract admitted (entry.arguments),
        # and per contract the sum of their costs
        self._contract_made: dict[int, tuple[Call, tuple[int, int, int], str]] = {}
        self._contract_spent: dict[str, int] = {}
        # id -> (object, contract): objects made earlier whose state an admitted argument contract read (a pint
        # UnitsContainer, its udict, an ndarray and its dtype); any later BUILD or SETITEM(S)/APPEND(S) on one of
        # them would change what was admitted
        self._contract_read: dict[int, tuple[Any, str]] = {}
        # admitted calls whose contract keeps plain dicts the walk does not watch (sympy's DomainMatrix keeps its
        # row dicts): (name, contract, arguments, what it read, offset), checked again when the stream ends
        self._contract_recheck: list[tuple[Global, str, tuple[Any, ...], list[Any], int]] = []

    # -- findings --------------------------------------------------------------------------------------
    def _flag(self, rule_id: str, message: str, *, severity: Severity | None = None, subject: str | None = None,
              offset: int | None = None, trustable: bool = False, **details: Any) -> None:
        self.ctx.add(rule_id, message, severity=severity, subject=subject, offset=offset, trustable=trustable,
                     details=details or None)

    # -- names ----------------------------------------------------------------------------------------
    def _push_global(self, module: str, name: str, offset: int, *, bound: bool = False) -> Global:
        g = Global(module, name, classify(module, name), offset)
        facts = self.facts.record(g, U.IMPORT)
        if bound:
            facts.bound = True
        else:
            facts.unbound = True
        if not g.cls.permitted.value & U.INVOKE:
            self._sensitive = True
        return g

    def _derived(self, module: str, name: str, offset: int, how: str, *, bound: bool = False) -> Global:
        """A name the load reaches through a modelled call (``getattr(numpy, "log1p")`` is ``numpy.log1p``);
        ``bound``: a method bound to an instance the load built (``Owner.attr``)."""
        g = self._push_global(module, name, offset, bound=bound)
        self.facts.names[g.full].how.setdefault(U.IMPORT, how)
        return g

    def _use(self, value: Any, use: int, how: str) -> None:
        """Record ``use`` on a name, or on the class behind an object (for instance uses)."""
        kind = type(value)
        if kind is Global:
            self.facts.record(value, use, how)
        elif kind is Call and value.owner is not None:
            self.facts.record(value.owner, use, how)

    def _new_instance(self, result: Call, owner: Global | None) -> None:
        result.owner = owner
        if owner is None or not owner.cls.permitted.value & U.PASSED:
            self._sensitive = True

    def _invoke(self, value: Any, how: str, depth: int = 0) -> None:
        """``value`` is called by code the load runs (or may run later), with arguments we do not see."""
        kind = type(value)
        if kind is Global:
            self.facts.record(value, U.INVOKE, how)
        elif kind is Call:
            if value.partial_func is not None:
                self._invoke(value.partial_func, f"as the function of a functools.partial called {how}", depth + 1)
            elif value.owner is not None:
                self.facts.record(value.owner, U.CALL_INSTANCE, how)
            else:
                level = Severity.CRITICAL if value.danger is not None and value.danger >= Severity.HIGH \
                    else Severity.MEDIUM
                self._flag("SL111", f"an object produced at load time by {value.func_name or 'a call'} is called "
                           f"({how})", severity=level, subject=f"{value.func_name or '?'}(...)()",
                           offset=value.offset)
        elif kind is Opaque:
            level = value.danger if value.danger is not None else Severity.MEDIUM
            self._flag("SL111", f"a value only known at load time ({value.what}) is called ({how})",
                       severity=max(level, Severity.HIGH) if value.what.startswith("EXT") else level,
                       subject=value.what)
        elif depth < 4 and kind in (list, tuple, set, frozenset):
            for item in value:
                self._invoke(item, how, depth + 1)
        elif depth < 4 and kind is dict:
            for item in value.values():
                self._invoke(item, how, depth + 1)
        elif kind is PlainList and value.built is not None:  # the list it stands for (else plain scalars only)
            self._invoke(value.built, how, depth)

    # -- calls ----------------------------------------------------------------------------------------
    def _call(self, func: Any, args: Any, offset: int, use: int = U.CALL, kwargs: Any = None) -> Any:
        """The load calls ``func(*args, **kwargs)`` (``use`` CALL) or ``func.__new__(func, *args)`` (NEW)."""
        if type(args) is not tuple:
            args = self._argument_tuple(args, offset)
        if kwargs is not None and type(kwargs) is not dict:
            self._flag("SL111", f"keyword arguments only known at load time ({_describe(kwargs)})",
                       severity=Severity.MEDIUM, subject="NEWOBJ_EX", offset=offset)
            kwargs = {"<keywords>": kwargs}
        result = Call(func, args, offset, kwargs)
        self._calls.append(result)
        kind = type(func)
        if kind is Global:
            if func.full in _HASHING_CALLS:
                self._count_call_keys(func.full, args)
            facts = self.facts.record(func, use, "called by the file" if use == U.CALL else "instantiated (NEWOBJ)")
            if facts.call_args is None:
                facts.call_args = args
            cls = func.cls
            self._new_instance(result, func)
            if cls.entry is not None and cls.entry.arguments is not None:
                self._argument_contract(func, cls.entry.arguments, args, kwargs, use=use, offset=offset,
                                        result=result)
            arg_tuple = args if type(args) is tuple else ()
            self._check_allocation(func.full, arg_tuple, kwargs, offset)
            if func.full in _TEXT_CONVERTERS:
                self._check_codec(func.full, arg_tuple, kwargs, offset)
            contract = cls.contract
            modelled = contract is not None and (use == U.CALL or contract.behaviour is Behaviour.PARTIAL)
            if contract is not None and modelled:
                special = self._apply_contract(func, contract, arg_tuple, kwargs=kwargs, offset=offset, result=result)
                if special is not None:
                    return special
            if cls.nested is not None:
                self._follow_nested(func.full, arg_tuple, offset)
            sources = ARGUMENT_FROM.get(func.full) or ARGUMENT_FROM.get(cls.full_name)
            if sources is not None:
                self._check_argument_sources(func.full, sources, arg_tuple, offset)
            if cls.entry is not None and cls.entry.invokes and not modelled:  # a contract models its own call
                self._invoke_positions(func, cls.entry.invokes, arg_tuple, kwargs)
            if cls.severity is not None and cls.severity >= Severity.HIGH and cls.kind != "allowed":
                result.danger = cls.severity
            return result
        if kind is Call:
            if func.partial_func is not None:
                inner_args = (func.partial_args if type(func.partial_args) is tuple else ()) + (
                    args if type(args) is tuple else ())
                return self._call(func.partial_func, inner_args, offset,
                                  kwargs=self._partial_call_keywords(func.partial_kwargs, kwargs))
            if func.owner is not None:
                self.facts.record(func.owner, U.CALL_INSTANCE, "an object it built is called by the file")
                return result
            danger = func.danger
            producer = func.func_name or "an earlier call"
            level = Severity.CRITICAL if danger is not None and danger >= Severity.HIGH else Severity.MEDIUM
            self._flag("SL111", f"calls an object produced at load time by {producer}", severity=level,
                       subject=f"{producer}(...)()", offset=offset)
            result.danger = level
            return result
        if kind is Opaque:
            level = func.danger if func.danger is not None else Severity.MEDIUM
            if level < Severity.HIGH and func.what.startswith("EXT"):
                level = Severity.HIGH
            self._flag("SL111", f"calls a value only known at load time ({func.what})", severity=level,
                       subject=func.what, offset=offset)
            result.danger = level
            return result
        raise ParseError(f"{type(func).__name__} object is not callable", offset)

    def _check_allocation(self, name: str, args: tuple[Any, ...], kwargs: Any, offset: int) -> None:
        """An allowed constructor told by the file how much to allocate (``numpy.ones((100000, 100000))``,
        ``bytearray(1 << 36)``, ``list(range(1 << 34))``: red team R12-5) is refused (SL018) above
        ``allocation.allocation_bound`` of this stream, one call or the sum of all (many calls each under the
        bound allocate as much as one above it); sizes only known at load are left to the other rules."""
        from safeload.engine.allocation import requested_bytes

        self._charge_allocation(name, requested_bytes(name, args, kwargs), offset)

    def _charge_allocation(self, name: str, wanted: int | None, offset: int) -> None:
        """Add ``wanted`` bytes (None: no estimate) to what this stream's allocations ask for; SL018 above the
        bound (see ``_check_allocation``)."""
        from safeload.engine.allocation import allocation_bound

        if wanted is None:
            return
        fixed_cap = self.ctx.limits.max_allocation_bytes
        bound = allocation_bound(len(self.data), fixed_cap)
        why = f"limits.max_allocation_bytes ({fixed_cap}) plus 16 times its size"
        before, self._allocated = self._allocated, self._allocated + wanted
        if wanted > bound:
            asked = f"about {wanted} bytes" if wanted < 1 << 62 else "a size too large to compute at load (a " \
                "number of more than 4300 digits, or items of no known size)"
            self._flag("SL018", f"{name} is asked to allocate {asked}, more than the {bound} bytes a "
                       f"stream of {len(self.data)} bytes may ask for ({why})", subject=name, offset=offset)
        elif before <= bound < self._allocated:
            self._flag("SL018", f"{name} brings what this stream's allocator calls ask for to about "
                       f"{self._allocated} bytes, more than the {bound} bytes a stream of {len(self.data)} bytes "
                       f"may ask for ({why})", subject=name, offset=offset)

    def _decoder_codec_admitted(self, name: str, args: tuple[Any, ...], kwargs: Any, offset: int) -> bool:
        """``codecs.decode(data, encoding, errors)`` runs the codec the file names, in the loader and in
        ``_run_decoder``: only ``state_contracts.decoder_codec``'s, with the standard error handlers (R12-6)."""
        from safeload.catalog.state_contracts import decoder_codec

        given = dict(kwargs) if type(kwargs) is dict else {}
        encoding = args[1] if len(args) > 1 else given.get("encoding", "utf-8")
        errors = args[2] if len(args) > 2 else given.get("errors", "strict")
        if decoder_codec(encoding) and errors in ("strict", "ignore", "replace"):
            return True
        self._flag("SL115", f"{name} with the codec {short_repr(encoding)} (errors {short_repr(errors)}): only "
                   "the pickler text codecs and hex, base64, zlib and bz2 are admitted (a codec runs at load; idna "
                   "takes quadratic time)", severity=Severity.HIGH, subject=name, offset=offset, trustable=True)
        return False

    def _check_codec(self, name: str, args: tuple[Any, ...], kwargs: Any, offset: int) -> None:
        """``bytes(text, encoding)``, ``bytearray(text, encoding)``, ``str(data, encoding)`` run the codec the file
        names (red team R12-6: punycode and idna are quadratic pure Python, 18 KB of text ~5 s): only the codecs
        picklers write (``state_contracts.pickler_codec``) are admitted (the catalogue cannot say it: an argument
        contract on these builtins would make every ``str(x)`` in analysed source conditional)."""
        from safeload.catalog.state_contracts import pickler_codec

        given = dict(kwargs) if type(kwargs) is dict else {}
        encoding = args[1] if len(args) > 1 else given.get("encoding")
        errors = args[2] if len(args) > 2 else given.get("errors")
        if (encoding is None and errors is None) or (pickler_codec(encoding if encoding is not None else "utf-8")
                                                     and errors in (None, "strict")):
            return
        self._flag("SL115", f"{name} with the codec {short_repr(encoding)} (errors {short_repr(errors)}): only "
                   "latin-1, utf-8 and ascii with strict errors, as picklers write them, are admitted (a codec "
                   "runs at load; punycode and idna take quadratic time)", severity=Severity.HIGH, subject=name,
                   offset=offset, trustable=True)

    def _argument_contract(self, g: Global, contract: tuple[str, tuple[str, ...]], args: Any, kwargs: Any, *,
                           use: int, offset: int, result: Call) -> None:
        """A class whose ``__new__`` (given by NEWOBJ/NEWOBJ_EX), or a function whose call (REDUCE), is reviewed
        inert only for the arguments a named contract admits (``catalog/state_contracts.argument_refusal``: sympy's
        classes parse a str argument as Python code, pint's ``_unpickle_quantity`` parses unit names). An admitted
        object is remembered (with the contract's bound) as an argument the same contract admits, and the objects
        the check read are held to the state it read (``_contract_changed``); a refused one is flagged and its
        object is not remembered."""
        from safeload.catalog.state_contracts import argument_rechecked, argument_refusal, argument_use

        expected = argument_use(contract[0])
        read: list[Any] = []
        record = (0, 0, 0)
        reason: str | None
        if expected == "new" and use != U.NEW:
            reason = "it is called (REDUCE), not instantiated by NEWOBJ/NEWOBJ_EX as its pickles are"
        elif expected == "call" and use != U.CALL:
            reason = "it is instantiated (NEWOBJ), not called by REDUCE as its pickles are"
        else:
            name = contract[0]
            reason, record = argument_refusal(name, contract[1], args if type(args) is tuple else (args,),
                                              kwargs, self._admitted_under(name),
                                              spent=self._contract_spent.get(name, 0), read=read)
        if record[2]:
            # what the check (or, admitted, the load) went through: a refused call's check is charged too, so
            # a stream of refused calls cannot make the scan walk the same large dicts again and again
            self._contract_spent[contract[0]] = self._contract_spent.get(contract[0], 0) + record[2]
        if reason is None:
            self._contract_made[id(result)] = (result, record, contract[0])
            for value in read:
                self._contract_read[id(value)] = (value, contract[0])
            if argument_rechecked(contract[0]):
                self._contract_recheck.append((g, contract[0], args if type(args) is tuple else (args,), read,
                                               offset))
            return
        how = "instantiated" if expected != "call" else "called"
        self._flag("SL115", f"allowed to be {how} with the arguments the {contract[0]!r} contract admits; "
                   f"here {reason}", severity=Severity.HIGH, subject=g.full, offset=offset, trustable=True)

    def _admitted_under(self, asking: str) -> Admitted:
        """The provenance query argument contracts get (``state_contracts.Admitted``): the record kept for an
        object an admitted instantiation or call under ``contract`` (by default ``asking``) made in this stream,
        by identity; None for anything else."""
        made = self._contract_made

        def admitted(value: Any, contract: str | None = None, /) -> tuple[int, int, int] | None:
            found = made.get(id(value)) if type(value) is Call else None
            wanted = asking if contract is None else contract
            return found[1] if found is not None and found[0] is value and found[2] == wanted else None

        return admitted

    def _recheck_contracts(self) -> None:
        """When the stream ends: the admitted calls that keep plain dicts (which SETITEM(S) through a memo
        reference can change after the call without the walk noticing) are checked again on what they kept."""
        if not self._contract_recheck:
            return  # (state_contracts, and typing with it, stay unimported: issue 15's fixed costs)
        from safeload.catalog.state_contracts import argument_recheck

        pending, self._contract_recheck = self._contract_recheck, []
        seen: set[tuple[int, int]] = set()
        for g, contract, args, read, offset in pending:
            reason = argument_recheck(contract, args, read, self._admitted_under(contract), seen)
            if reason is not None:
                self._flag("SL115", f"called with the arguments the {contract!r} contract admits; when the stream "
                           f"ends {reason}", severity=Severity.HIGH, subject=g.full, offset=offset, trustable=True)

    def _contract_changed(self, target: Any, how: str, offset: int) -> None:
        """``target`` is given state or items after an argument contract admitted a call that read it: the object
        the admitted call holds is no longer the one checked (a udict gaining a unit name to parse later)."""
        found = self._contract_read.get(id(target))
        if found is None or found[0] is not target:
            return
        owner = target.owner.full if type(target) is Call and target.owner is not None else "an object"
        self._flag("SL115", f"{how} changes {owner} after the {found[1]!r} argument contract admitted a call that "
                   "read it", severity=Severity.HIGH, subject=owner, offset=offset, trustable=True)

    def _check_argument_sources(self, name: str, sources: dict[int, frozenset[str]], args: tuple[Any, ...],
                                offset: int) -> None:
        """A reviewed reconstructor runs methods of these arguments: each must be None or an object one of the
        named reconstructors built in this file (``legacy.ARGUMENT_FROM``)."""
        for position, allowed in sources.items():
            value = args[position] if position < len(args) else None
            if value is None:
                continue
            owner = value.owner if type(value) is Call else None
            if owner is None or owner.full not in allowed:
                self._flag("SL115", f"argument {position} must be built by {' or '.join(sorted(allowed))}; here it "
                           f"is {_describe(value)}", severity=Severity.MEDIUM, subject=name, offset=offset,
                           trustable=True)

    def _argument_tuple(self, args: Any, offset: int) -> tuple[Any, ...]:
        """The C unpickler requires a tuple of arguments; pickle.py (joblib's unpickler) calls ``func(*args)``
        with any iterable. Read the arguments the way the lenient reader would, and say so."""
        kind = type(args)
        self._flag("SL114", f"call arguments are a {kind.__name__}, not a tuple (the C unpickler refuses this; "
                   "the pure-Python unpickler joblib uses iterates it)", offset=offset)
        if kind in (list, set, frozenset, str, bytes):
            return tuple(args)
        if kind is dict:
            return tuple(args)
        if kind in (Call, Opaque, Global):
            self._flag("SL111", f"call arguments only known at load time ({_describe(args)})",
                       severity=Severity.MEDIUM, subject="<arguments>", offset=offset)
            return (args,)
        return ()

    def _invoke_positions(self, func: Global, invokes: tuple[int | str, ...], args: tuple[Any, ...],
                          kwargs: Any) -> None:
        for position in invokes:
            if isinstance(position, int):
                if position < len(args):
                    self._invoke(args[position], f"by {func.full} (argument {position})")
            elif type(kwargs) is dict and position in kwargs:
                self._invoke(kwargs[position], f"by {func.full} ({position}=)")

    def _apply_contract(self, g: Global, contract: Contract, args: tuple[Any, ...], *, kwargs: Any, offset: int,
                        result: Call) -> Any:
        """Model a contracted call. Returns a replacement result (a derived name), or None to keep ``result``."""
        behaviour = contract.behaviour
        name = g.full

        def instantiate(cls_value: Any, use: int, how: str, made: Call | None = result) -> None:
            self._instantiate(cls_value, use, how, offset=offset, result=made, helper=name)

        if behaviour is Behaviour.GETATTR:
            return self._getattr(args, offset, result)
        if behaviour is Behaviour.PARTIAL:
            if args:
                result.partial_func = args[0]
                result.partial_args = args[1:]
                self._invoke(args[0], "as the function of a functools.partial, run whenever the partial is called")
                self._partial_keywords(kwargs, offset)
            return None
        if behaviour in (Behaviour.NEWOBJ, Behaviour.NEWOBJ_EX):
            if not args:
                return None
            instantiate(args[0], U.NEW, f"instantiated by {name}")
            return None
        if behaviour is Behaviour.RECONSTRUCTOR:
            if len(args) >= 2 and type(args[1]) is Global and args[1].full != _OBJECT:
                self.facts.record(args[1], U.CALL, f"its __new__ and __init__ are called by {name} (as the base)")
                if not _builtin_type(args[1].full):
                    # base.__new__(cls, state) decides what object comes back, so the instance of cls the rest
                    # of the scan judges may be something else. copyreg names the first non-heap base: object
                    # or a builtin type in every file pickle writes.
                    self._flag("SL111", f"{name} uses {args[1].full} as the base: its __new__ decides which object "
                               "the load builds (pickle names object or a builtin type there)",
                               severity=Severity.MEDIUM, subject=args[1].full, offset=offset)
            elif len(args) >= 2 and type(args[1]) is not Global:
                self._flag("SL111", f"{name} calls a base class only known at load time ({_describe(args[1])})",
                           severity=Severity.MEDIUM, subject=name, offset=offset)
            if not args:
                return None
            instantiate(args[0], U.ALLOC, f"allocated by {name}")
            return None
        if behaviour is Behaviour.SUBTYPE_ALLOC:
            if not args:
                return None
            instantiate(args[0], U.ALLOC, f"allocated as an array subtype by {name}")
            return None
        if behaviour is Behaviour.MA_RECONSTRUCT:
            if len(args) >= 2:
                instantiate(args[1], U.ALLOC, f"allocated as the base class by {name}", None)
            if not args:
                return None
            instantiate(args[0], U.NEW, f"instantiated by {name}")
            return None
        if behaviour is Behaviour.REBUILD_FROM_TYPE:
            if args:
                inner = args[2] if len(args) > 2 and type(args[2]) is tuple else ()
                self._call(args[0], inner, offset)
            if len(args) > 1:
                instantiate(args[1], U.NEW | U.BUILD, f"rebuilt as a tensor subclass by {name}")
                if len(args) > 3:
                    self._escapes.append((args[3], f"in the state given by {name}", False))
            return None
        if behaviour is Behaviour.CREATE_ARRAY:
            if args:
                inner = args[1] if len(args) > 1 and type(args[1]) is tuple else ()
                made = self._call(args[0], inner, offset)
                if type(made) is Call:
                    self._new_instance(result, made.owner)
            return None
        if behaviour is Behaviour.PYX_UNPICKLE:
            module, _, attr = name.rpartition(".")
            base = self._derived(module, attr.removeprefix("__pyx_unpickle_"), offset, f"rebuilt by {name}")
            self.facts.record(base, U.ALLOC | U.BUILD, f"rebuilt by {name}")
            if args:
                instantiate(args[0], U.ALLOC | U.BUILD, f"rebuilt by {name}")
            if len(args) > 2:
                self._escapes.append((args[2], f"in the state given by {name}", False))
                if args[2] is not None and args and type(args[0]) is Global:
                    # the generated __pyx_unpickle_X__set_state applies a state argument as BUILD would: a class
                    # whose BUILD is admitted under a condition is held to it here too
                    self._conditioned_state(args[0], args[2], offset)
            return None
        if behaviour is Behaviour.UFUNC:
            if (len(args) == 2 and isinstance(args[0], str) and isinstance(args[1], str)
                    and (args[0] == "numpy" or args[0].startswith("numpy."))
                    and args[1].isidentifier() and not args[1].startswith("_")):
                return self._derived(args[0], args[1], offset, f"imported by {name}")
            target = ".".join(a for a in args if isinstance(a, str)) or "a computed name"
            self._flag("SL110", f"{name} imports and returns {target}", subject=f"{name}({target})", offset=offset)
            result.danger = Severity.CRITICAL
            return None
        if behaviour is Behaviour.LOAD_TYPE:
            if args and isinstance(args[0], str) and args[0] not in _CODE_TYPE_NAMES:
                return None
            self._flag("SL106", f"dill rebuilds the code-related type {short_repr(args[:1])}",
                       subject=f"{name}({short_repr(args[:1])})", offset=offset)
            return None
        if behaviour is Behaviour.TYPE:
            if len(args) == 3:
                self._flag("SL104", "builtins.type(name, bases, dict) creates a class at load time",
                           severity=Severity.MEDIUM, subject="builtins.type", offset=offset, trustable=True)
            self._new_instance(result, None)
            return None
        if behaviour is Behaviour.DECODE:
            if name in _CODEC_DECODERS and not self._decoder_codec_admitted(name, args, kwargs, offset):
                result.data = None
                return None
            # keyword arguments (a functools.partial's) change what the decoder returns: not read (R8-4)
            result.data = None if kwargs else self._decode(name, args)
            return None
        if behaviour in (Behaviour.IMPORT_MODULE, Behaviour.RESOLVE_NAME):
            if not args or not isinstance(args[0], str):
                self._flag("SL110", f"{name} with a name computed at load time", subject=name, offset=offset)
                result.danger = Severity.CRITICAL
                return None
            target = args[0]
            if behaviour is Behaviour.IMPORT_MODULE:
                derived = self._derived(target, "", offset, f"imported by {name}")
                result.danger = max(g.cls.severity or Severity.HIGH, derived.cls.severity or Severity.MEDIUM)
                return derived
            if ":" in target or "." in target:
                mod, _, attr = target.partition(":") if ":" in target else target.rpartition(".")
                return self._derived(mod, attr, offset, f"resolved by {name}")
            return None
        return None

    def _instantiate(self, cls_value: Any, use: int, how: str, *, offset: int, result: Call | None,
                     helper: str) -> None:
        """A modelled helper creates an instance of ``cls_value`` (NEW or ALLOC); ``result`` is that instance."""
        if type(cls_value) is Global:
            self.facts.record(cls_value, use, how)
            entry = cls_value.cls.entry
            if entry is not None and entry.arguments is not None:
                self._flag("SL115", f"allowed to be instantiated by NEWOBJ/NEWOBJ_EX only, with the arguments the "
                           f"{entry.arguments[0]!r} contract admits; here it is {how}", severity=Severity.HIGH,
                           subject=cls_value.full, offset=offset, trustable=True)
            if result is not None:
                self._new_instance(result, cls_value)
            return
        self._flag("SL111", f"{helper} instantiates a value only known at load time ({_describe(cls_value)})",
                   severity=Severity.MEDIUM, subject=helper, offset=offset)
        if result is not None:
            self._new_instance(result, None)

    def _getattr(self, args: tuple[Any, ...], offset: int, result: Call) -> Any:
        if len(args) >= 2 and isinstance(args[1], str):
            obj, attr = args[0], args[1]
            if attr.startswith("__"):
                self._flag("SL110", f"getattr reaches the dunder attribute {attr!r}",
                           subject=f"builtins.getattr(..., {attr!r})", offset=offset)
                result.danger = Severity.CRITICAL
                return result
            if type(obj) is Global:
                # A name reached through another: ranked as itself (getattr(import_module("os"), "system") is
                # os.system; getattr(builtins.str, "lower") is builtins.str.lower, a method on plain data).
                return self._derived(obj.module, f"{obj.name}.{attr}" if obj.name else attr, offset,
                                     f"reached by getattr({obj.full}, {attr!r})")
            if type(obj) is Call and obj.owner is not None and obj.owner.full in RESULT_CLASS \
                    and _literal_arguments(obj):
                # A method of an object whose class the call fixes (re._compile(<literal>, <int>) is a re.Pattern):
                # ranked as that class's method (re.Pattern.search), the object kept as its receiver for the
                # argument contracts that admit it (the pattern it matches with)
                self.facts.record(obj.owner, U.PASSED, f"its method {attr!r} is bound by getattr")
                module, _, cls_name = RESULT_CLASS[obj.owner.full].rpartition(".")
                bound = self._derived(module, f"{cls_name}.{attr}", offset,
                                      f"a method bound by getattr(<{obj.owner.full} object>, {attr!r})", bound=True)
                bound.receiver = obj
                return bound
            if type(obj) is Call and obj.owner is not None and obj.owner.name:
                # A bound method of an object the load built (torch keeps lazy modules' hooks this way): ranked
                # as the method of its class, ``Owner.attr``, whatever runs it later; the object is passed to it.
                owner = obj.owner
                self.facts.record(owner, U.PASSED, f"its method {attr!r} is bound by getattr")
                return self._derived(owner.module, f"{owner.name}.{attr}", offset,
                                     f"a method bound by getattr(<{owner.full} object>, {attr!r})", bound=True)
            self._flag("SL111", f"getattr({attr!r}) on an object built at load time", severity=Severity.MEDIUM,
                       subject=f"builtins.getattr(<object>, {attr!r})", offset=offset)
            result.danger = Severity.MEDIUM
            return result
        self._flag("SL110", "getattr with an attribute name computed at load time", subject="builtins.getattr",
                   offset=offset)
        result.danger = Severity.CRITICAL
        return result

    # -- nested payloads -------------------------------------------------------------------------------
    def _payload(self, value: Any) -> bytes | bytearray | memoryview | None:
        if isinstance(value, bytes | bytearray):
            return value
        if isinstance(value, BigBytes):
            return memoryview(self.data)[value.start:value.start + value.length]
        if isinstance(value, Call) and value.data is not None:
            return value.data
        if isinstance(value, Call) and value.func_name in {"_codecs.encode", "codecs.encode"} and not value.kwargs \
                and isinstance(value.args, tuple):
            return _text_encoded(value.args)  # how protocols 0-2 pickle bytes: _codecs.encode(text, "latin1")
        return None

    def _scan_nested(self, payload: bytes | bytearray | memoryview, label: str, offset: int) -> None:
        from safeload.scan import scan_buffer  # the dispatcher imports the engine

        with self.ctx.inside(f"{label}@{offset}", nested=True):
            scan_buffer(payload, self.ctx)

    def _follow_nested(self, name: str, args: tuple[Any, ...], offset: int) -> None:
        position = NESTED_ARGUMENT.get(name)
        for value in (args[:2] if position is None else args[position:position + 1]):
            payload = self._payload(value)
            if payload is not None and len(payload) > 0:
                self._scan_nested(payload, name, offset)
                return
        self._flag("SL103", f"{name} loads data only known at load time; it could not be scanned",
                   subject=name, offset=offset)

    def _decode(self, name: str, args: tuple[Any, ...]) -> bytes | bytearray | memoryview | None:
        if not args:
            return None
        raw = self._payload(args[0])
        if raw is None and isinstance(args[0], str) and name in {"builtins.bytes.fromhex", "base64.b64decode",
                                                                 "codecs.decode", "_codecs.decode"}:
            raw = args[0].encode("latin-1", "replace")
        if raw is None:
            return None
        try:
            out = self._run_decoder(name, raw, args)
        except _decoder_errors():
            return None
        if out is not None:
            self._decoded_bytes += len(out)
            if self._decoded_bytes > _MAX_DECODED:  # one budget for every decode in the buffer
                raise LimitExceeded("SL016", f"payloads decoded while scanning exceed {_MAX_DECODED} bytes")
        return out

    def _run_decoder(self, name: str, raw: bytes | bytearray | memoryview,
                     args: tuple[Any, ...]) -> bytes | bytearray | memoryview | None:
        if name in {"io.BytesIO", "_io.BytesIO"}:
            return raw
        import binascii
        import zlib

        if name == "zlib.decompress":  # zlib.decompress(data, wbits, bufsize): wbits picks the framing (R8-4)
            wbits = args[1] if len(args) > 1 else zlib.MAX_WBITS
            return zlib.decompressobj(wbits).decompress(bytes(raw), _MAX_DECODED) if type(wbits) is int else None
        if name == "gzip.decompress":
            return zlib.decompressobj(31).decompress(bytes(raw), _MAX_DECODED)  # bounded, unlike gzip's
        if name == "bz2.decompress":
            import bz2  # the decoders' modules load with the first payload that needs them (issue 15)

            return bz2.BZ2Decompressor().decompress(bytes(raw), _MAX_DECODED)
        if name == "lzma.decompress":
            import lzma

            if len(args) > 1 and args[1] != lzma.FORMAT_AUTO:  # another format (and its filters): not read (R8-4)
                return None
            return lzma.LZMADecompressor().decompress(bytes(raw), _MAX_DECODED)
        if name.startswith("base64."):
            import base64

            # their options (altchars, casefold, map01, foldspaces, adobe, ignorechars, validate) change the
            # bytes: run the pure stdlib decoder with them, plain values only (R8-4)
            options: list[Any] = []
            for option in args[1:4]:
                if option is None or type(option) is str or type(option) is bool:
                    options.append(option)
                    continue
                given = self._payload(option)  # bytes, as written (protocols 0-2: _codecs.encode)
                if given is None:
                    return None
                options.append(bytes(given))
            if len(args) > 4:
                return None
            decoder = {"base64.b64decode": base64.b64decode, "base64.decodebytes": base64.decodebytes,
                       "base64.b32decode": base64.b32decode, "base64.b16decode": base64.b16decode,
                       "base64.b85decode": base64.b85decode, "base64.a85decode": base64.a85decode}.get(name)
            if decoder is None:
                return None
            plain: bytes = decoder(bytes(raw), *options)
            return plain
        if name == "binascii.a2b_base64":
            return binascii.a2b_base64(bytes(raw))
        if name in {"binascii.unhexlify", "binascii.a2b_hex", "builtins.bytes.fromhex"}:
            return binascii.unhexlify(bytes(raw).strip())
        if name in {"codecs.decode", "_codecs.decode"} and len(args) > 1 and isinstance(args[1], str):
            codec = codecs.lookup(args[1]).name
            if codec in {"zlib", "bz2"}:  # compression codecs: decode with the bounded decompressors
                return self._run_decoder("zlib.decompress" if codec == "zlib" else "bz2.decompress", raw, args[:1])
            decoded = codecs.decode(bytes(raw), args[1])
            return decoded if isinstance(decoded, bytes) else None
        return None

    # -- state and mutation ------------------------------------------------------------------------------
    def _mutate(self, target: Any, how: str, offset: int, items: list[Any] | None = None) -> None:
        kind = type(target)
        if self._contract_read:
            self._contract_changed(target, how, offset)
        if kind is bytes or kind is BigBytes:
            # BYTEARRAY8 makes a mutable bytearray (read here as bytes): SETITEM(S) rewrites it in place, so a
            # nested loader handed it later reads other bytes than the ones scanned (red team R8-3). No pickler
            # writes into bytes.
            self._flag("SL114", f"{how} writes into a bytes or bytearray value: a nested payload read from it "
                       "would not be the bytes scanned", severity=Severity.MEDIUM, subject=f"{how} on bytes",
                       offset=offset)
            return
        if kind is Global:
            self._flag("SL109", f"{how} on {target.full}: the file modifies an imported object",
                       subject=target.full, offset=offset)
            return
        if kind is not Call:
            return
        if items and (how.startswith("SETITEM") or how == "ADDITEMS"):
            keys = items[::2] if how.startswith("SETITEM") else items
            if may_collide(keys, set(map(type, keys))):
                self._count_keys(keys, f"keys stored by {how}")
        if (target.func_name or "").startswith(_TENSOR_BUILDERS):
            # Writing into a tensor or storage while unpickling: no checkpoint does it, and it is how
            # CVE-2026-24747 corrupted the heap under weights_only (THREATS D2).
            self._flag("SL114", f"{how} writes into a tensor or storage rebuilt by {target.func_name}",
                       severity=Severity.MEDIUM, subject=f"{how} on {target.func_name}", offset=offset)
        if target.owner is not None:
            self.facts.record(target.owner, U.MUTATE, f"{how} stores values into it")
            entry = target.owner.cls.entry
            if entry is not None and entry.mutate_ops and how not in entry.mutate_ops:
                self._flag("SL115", f"allowed to be mutated by {'/'.join(entry.mutate_ops)} only; here {how} "
                           "looks its method up on the object", severity=Severity.MEDIUM,
                           subject=target.owner.full, offset=offset, trustable=True)
            if items:
                if how.startswith("SETITEM"):
                    self._hash_keys(items[::2], f"a key stored by {how}")
                    if target.owner.full in ITEMS_ARE_ATTRIBUTES:
                        self._item_attributes(target.owner.full, how, items, offset)
                elif how == "ADDITEMS":
                    self._hash_keys(items, "an item added by ADDITEMS")
        else:
            self._flag("SL111", f"{how} on an object produced at load time by {target.func_name or 'a call'}",
                       severity=Severity.MEDIUM, subject=f"{how} on {target.func_name or '?'}", offset=offset)
        if items:
            if target.items is None:
                target.items = []
            target.items.append(items)
            self._escapes.append((items, f"stored into an object built by {target.func_name or 'a call'}",
                                  False))

    def _count_call_keys(self, name: str, args: tuple[Any, ...]) -> None:
        """``name`` (one of ``_HASHING_CALLS``) hashes the items of its argument, or the first of each pair in it:
        count them as dict keys or set items are counted (``Machine._count_keys``)."""
        position = 1 if name == "collections.defaultdict" else 0
        source = args[position] if len(args) > position else None
        if type(source) is dict:
            keys: list[Any] = list(source)
        elif type(source) in (list, tuple, set, frozenset):
            keys = list(source or ())
            if _HASHING_CALLS[name] == "pairs":
                keys = [pair[0] for pair in keys if type(pair) in (list, tuple) and len(pair) == 2]
        else:
            return
        if may_collide(keys, set(map(type, keys))):
            self._count_keys(keys, f"keys {name} hashes")

    def _pairs_dict(self, pairs: list[Any], how: str) -> dict[Any, Any]:
        """``_as_dict(pairs)`` once the keys are counted: the engine's dict hashes them as the load does."""
        keys = [pair[0] for pair in pairs]
        if may_collide(keys, set(map(type, keys))):
            self._count_keys(keys, how)
        return _as_dict(pairs)

    def _item_attributes(self, owner: str, how: str, items: list[Any], offset: int) -> None:
        """Items of a dict subclass whose ``__getattr__`` serves them as attributes: a key named like a protocol
        method (or computed at load time) is refused, as in BUILD state -- numpy's instance lookup of
        ``__array_interface__`` reaches ``__getattr__``. Objects stored are not ranked as called: only code that
        calls a method the dict lacks reaches them, and a class whose ``__getattr__``/``__getattribute__`` does so
        for an attribute object is refused CALL_INSTANCE by the source analysis."""
        for key in items[::2]:
            if type(key) is not str:
                self._flag("SL110", f"{how} on {owner} stores an item under a key computed at load time "
                           f"({_describe(key)}): its __getattr__ serves items as attributes",
                           subject=f"{how} on {owner}", offset=offset)
            elif key.startswith("__") and key.endswith("__"):
                self._flag("SL110", f"{how} on {owner} stores {key}: its __getattr__ serves items as attributes, "
                           "and numpy looks __array_interface__ up on the instance", subject=f"{how} on {owner}",
                           offset=offset)

    def _hash_keys(self, keys: Any, how: str, depth: int = 0) -> None:
        """Dict keys and set items are hashed and compared: objects among them run their class's code."""
        for key in keys:
            kind = type(key)
            if kind is Call:
                if key.owner is not None:
                    self.facts.record(key.owner, U.HASH, how)
                else:
                    self._flag("SL111", f"an object produced at load time is hashed ({how})",
                               severity=Severity.MEDIUM, subject=f"{key.func_name or '?'}(...)")
            elif kind is tuple and depth < 32:
                self._hash_keys(key, how, depth + 1)

    def _state_summary_ok(self, inst: Any) -> bool:
        """Whether BUILD state for ``inst`` may hold :data:`~safeload.engine.values.PlainList` stand-ins (the
        native engine asks before building the state). Every rule here treats one as its list; a format's BUILD
        hook reads the state as the format does, so it gets exact lists."""
        if not self.use_build_hooks or type(inst) is not Call or inst.owner is None:
            return True
        name = inst.owner.full
        return name not in BUILD_HOOKS and name not in _LAZY_BUILD_HOOK_MODULES

    def _build(self, inst: Any, state: Any, offset: int, pos: int) -> int:
        kind = type(inst)
        if self._contract_read:
            self._contract_changed(inst, "BUILD", offset)
        if kind is Global:
            self._flag("SL109", f"BUILD sets state on the imported object {inst.full}",
                       subject=inst.full, offset=offset)
            return pos
        if kind is not Call:
            return pos
        inst.state = state
        if inst.owner is not None:
            from safeload.engine.allocation import state_bytes

            # ndarray.__setstate__ allocates the shape its state names before reading an object array's list
            self._charge_allocation(inst.owner.full, state_bytes(state), offset)
        if type(state) is tuple and state and _is_partial(inst):
            self._partial_setstate(inst, state, offset)
        if inst.owner is not None:
            self.facts.record(inst.owner, U.BUILD, "given state by BUILD")
            self.facts.names[inst.owner.full].build_kinds.add(_state_kind(state))
            self._check_applied_state(inst, state, offset)
        else:
            self._flag("SL111", f"BUILD gives state to an object produced at load time by "
                       f"{inst.func_name or 'a call'}", severity=Severity.MEDIUM,
                       subject=f"BUILD on {inst.func_name or '?'}", offset=offset)
        entry = inst.owner.cls.entry if inst.owner is not None else None
        if inst.owner is not None:
            self._conditioned_state(inst.owner, state, offset)
        if entry is not None and entry.state_uses and type(state) is dict:
            state = self._declared_state(inst.owner, entry.state_uses, state)
        if type(state) not in _NOT_INVOKED:
            self._escapes.append((state, f"in the state of an object built by {inst.func_name or 'a call'}",
                                  False))
        if self.use_build_hooks:
            # Chosen by the class the object *is* (however it was made: REDUCE, NEWOBJ, copyreg helpers), as
            # joblib's unpickler dispatches on isinstance, never by the callee's name.
            name = inst.owner.full if inst.owner is not None else None
            if name is not None:
                hook = _build_hook(name)
                if hook is not None:
                    return hook(self, inst, state, pos)
        return pos

    def _conditioned_state(self, owner: Global, state: Any, offset: int) -> None:
        """The condition ``owner``'s entry puts on the state it is given: a dict-only entry checks the state's shape
        first; a contract then reads the state (of any type when the entry is not dict-only: torch.ScriptObject's
        (payload, class name), a Cython pipe's (name, attributes))."""
        entry = owner.cls.entry
        if entry is None:
            return
        shape_ok = not entry.build_dict_only or self._refused_state(owner, entry.build_refuses, state, offset)
        if shape_ok and entry.build_state is not None:
            self._state_contract(owner, entry.build_state, state, offset)

    def _check_applied_state(self, inst: Call, state: Any, offset: int) -> None:
        """Read the state as CPython's ``load_build`` applies it to a class without ``__setstate__``: ``state`` (or
        the first of a 2-tuple) is written into ``__dict__``, the second of a 2-tuple is set with ``setattr``, each
        only when it is a dict (``PyDict_Check``) -- and it is one whether the file wrote it as a literal or built
        it with a call (``builtins.dict([...])``, ``OrderedDict`` + SETITEMS). A dict a call builds is read when its
        items are literal; any other computed value that may be a dict there is refused (SL110): its keys could
        name a dunder attribute and its values shadow methods, and neither can be read."""
        owner = inst.owner.full if inst.owner is not None else "?"
        where = f"BUILD state of {owner}"
        if type(state) in (list, tuple) and state and all(type(p) in (list, tuple) and len(p) == 2 for p in state):
            # a reviewed __setstate__ doing self.__dict__.update(state) (torch's Module and Optimizer) applies pairs
            self._attributes_may_be_called(owner, where, self._pairs_dict(list(state), where), offset,
                                           f"BUILD on {inst.func_name or '?'}")
        elif type(state) in (list, tuple) and state and all(
                (type(p) in (list, tuple) and len(p) == 2) or self._may_be_pair(p) for p in state):
            # pairs some of which are computed: dict.update takes any 2-item iterable as a pair (an item that cannot
            # be one makes it raise, and the __setstate__ with it)
            self._flag("SL110", f"{where} is a sequence of pairs some of which are computed at load time "
                       f"({', '.join(_describe(p) for p in state if self._may_be_pair(p))[:120]}): a "
                       "__setstate__ doing __dict__.update(state) sets attributes whose names and values cannot be "
                       "read", subject=f"BUILD on {inst.func_name or '?'}", offset=offset)
        elif type(state) is Call and state.func_name in _UPDATE_SOURCES:
            self._flag("SL110", f"{where} is built by {state.func_name}, computed at load time: a __setstate__ doing "
                       "__dict__.update(state) takes it as a mapping or a sequence of pairs and sets attributes whose "
                       "names and values cannot be read", subject=f"BUILD on {inst.func_name or '?'}", offset=offset)
        first, second = state if type(state) is tuple and len(state) == 2 else (state, None)
        for value, slot in ((first, False), (second, True)):
            if value is None:
                continue
            layer = value if type(value) is dict else self._computed_dict(value)
            if layer is None:
                if type(value) in (Call, Global, Opaque) and not self._not_a_dict(value):
                    self._flag("SL110", f"{where} {'sets slot state from' if slot else 'is'} {_describe(value)}, "
                               "computed at load time: a dict there is applied as attributes whose names and "
                               "values cannot be read", subject=f"BUILD on {inst.func_name or '?'}", offset=offset)
                return  # load_build stops at a value that is not a dict ("state is not a dictionary")
            if slot:
                self._check_slot_state(inst, layer, offset)
            self._attributes_may_be_called(owner, where, layer, offset, f"BUILD on {inst.func_name or '?'}")

    def _computed_dict(self, value: Any) -> dict[Any, Any] | None:
        """The items of ``builtins.dict(...)``/``collections.OrderedDict(...)`` (plus what SETITEMS stored in it)
        when every pair is written in the file; None for anything else."""
        if type(value) is not Call or (value.state is not None and value.state is not value):
            return None
        if value.func_name not in _DICT_BUILDERS:
            entry = value.owner.cls.entry if value.owner is not None else None
            if value.args != () or value.kwargs is not None or value.owner is None or (
                    entry is not None and not entry.uses & _MAKES_INSTANCES):
                return None
            # a class allocated without arguments (NEWOBJ, cls()): a dict subclass holds what SETITEMS stored
            # (statsmodels' Bunch, whose __dict__ is itself, is given itself as state)
        args = value.args if type(value.args) is tuple else None
        if args is None or len(args) > 1 or type(value.kwargs) not in (type(None), dict):
            return None
        pairs: list[tuple[Any, Any]] = []
        if args:
            source = args[0]
            if type(source) is dict:
                pairs.extend(source.items())
            elif type(source) in (list, tuple) and all(type(p) in (list, tuple) and len(p) == 2 for p in source):
                pairs.extend((p[0], p[1]) for p in source)
            else:
                return None
        if type(value.kwargs) is dict:
            pairs.extend(value.kwargs.items())
        for items in value.items or ():
            if type(items) is not list or len(items) % 2:
                return None
            pairs.extend(zip(items[::2], items[1::2], strict=True))
        return self._pairs_dict(pairs, f"keys of a dict {value.func_name or 'a call'} builds")

    @staticmethod
    def _may_be_pair(value: Any) -> bool:
        """Whether a computed item of a pair sequence may be a 2-item iterable at load time: a name or opaque value,
        a sequence or mapping container (``_UPDATE_SOURCES``), an object whose BUILD state ends with a list (numpy's
        object arrays: two items are a pair), or an object of a class outside the catalogue. An object of another
        catalogued class (a dtype, a numeric array) is taken for no pair."""
        if type(value) in (Global, Opaque):
            return True
        if type(value) is not Call or value.partial_func is not None:
            return False
        if value.func_name in _UPDATE_SOURCES:
            return True
        if value.func_name in NOT_MAPPING_RESULTS:
            return False  # a numeric array over raw bytes: its items are numbers (its rows, at most, numbers)
        if type(value.state) is tuple and value.state and type(value.state[-1]) in (list, PlainList):
            return True  # an object array (numpy pickles its items as a list in its state): two items are a pair
        entry = value.owner.cls.entry if value.owner is not None else None
        return not (entry is not None and entry.origin in {"reviewed", "generated"}
                    and bool(entry.uses & _MAKES_INSTANCES))

    def _not_a_dict(self, value: Any) -> bool:
        """True when ``value`` cannot be a dict at load time: decoded bytes, or an object of a catalogued class
        (uses NEW/ALLOC/BUILD) that is not a ``dict`` subclass (``catalog.mappings.MAPPING_CLASSES``)."""
        if self._payload(value) is not None or (type(value) is Call and value.func_name in NOT_MAPPING_RESULTS):
            return True
        if type(value) is not Call or value.owner is None or value.partial_func is not None:
            return False
        entry = value.owner.cls.entry
        return (entry is not None and entry.origin in {"reviewed", "generated"}
                and bool(entry.uses & _MAKES_INSTANCES) and value.owner.full not in MAPPING_CLASSES)

    def _partial_setstate(self, inst: Call, state: tuple[Any, ...], offset: int) -> None:
        """``partial.__setstate__((func, args, kwds, dict))`` replaces what calling the partial runs: ``func`` is
        called with ``args`` and ``kwds``, and ``dict`` becomes the partial's instance dict (its attributes)."""
        inst.partial_func = state[0]
        inst.partial_args = state[1] if len(state) > 1 else ()
        inst.partial_kwargs = state[2] if len(state) > 2 else None
        self._invoke(state[0], "as the function a BUILD puts into a functools.partial through partial.__setstate__")
        # the arguments reach the function whoever calls the partial: objects there are call arguments
        for index in (1, 2):
            if len(state) > index and type(state[index]) not in _NOT_INVOKED:
                self._escapes.append((state[index], "passed by a functools.partial to its function (from "
                                      "partial.__setstate__)", True))
        self._partial_keywords(inst.partial_kwargs, offset)
        instance_dict = state[3] if len(state) > 3 else None
        if type(instance_dict) is dict:
            self._attributes_may_be_called("functools.partial", "instance dict of a functools.partial", instance_dict,
                                           offset, "BUILD on functools.partial")
        elif instance_dict is not None:
            # partial.__setstate__ stores any object as the instance dict; a pickled partial always has a dict
            self._flag("SL111", f"partial.__setstate__ sets the partial's instance dict to "
                       f"{_describe(instance_dict)}, not a plain dict", severity=Severity.MEDIUM,
                       subject="BUILD on functools.partial", offset=offset)

    def _partial_keywords(self, keywords: Any, offset: int) -> None:
        """Keyword arguments a partial hands its function: the function may keep them as attributes of what it
        builds (``argparse.Namespace(keys=obj)``, then ``dict(ns)`` calls ``ns.keys()``) or call them, so each
        value is ranked as called (CALL_INSTANCE of an object's class) and a dunder keyword holding anything but
        plain data is refused, as for BUILD attribute state."""
        if keywords is None:
            return
        if type(keywords) is not dict:
            if type(keywords) in (Call, Opaque, Global):
                self._flag("SL111", f"a functools.partial gets keyword arguments only known at load time "
                           f"({_describe(keywords)})", severity=Severity.MEDIUM, subject="functools.partial",
                           offset=offset)
            return
        for key, value in keywords.items():
            if type(value) in _NOT_INVOKED:
                continue
            if type(key) in (Call, Opaque, Global) or (isinstance(key, str) and key.startswith("__")
                                                      and key.endswith("__")):
                self._flag("SL110", f"a functools.partial passes {_describe(value)} to its function as keyword "
                           f"argument {_describe(key)}: an attribute named like a protocol method (or a name only "
                           "known at load time) is looked up and called by the load or by later code",
                           subject="functools.partial keywords", offset=offset)
                continue
            self._invoke(value, f"as keyword argument {short_repr(key, 40)} a functools.partial passes to its "
                         "function (which may keep it as an attribute and call it)")

    @staticmethod
    def _partial_call_keywords(bound: Any, given: Any) -> Any:
        """The keyword arguments calling a partial passes its function: its own, updated by the call's (``given``
        is already a dict or None)."""
        if given is None or bound is None:
            return bound if given is None else given
        return {**(bound if type(bound) is dict else {"<keywords>": bound}), **given}

    def _check_slot_state(self, inst: Call, slots: dict[Any, Any], offset: int) -> None:
        """Slot state is applied with ``setattr``: ``__class__`` there swaps the object's class, so later BUILDs
        and mutations would run another class's code than the one recorded."""
        dunders = [_key_text(key) for key in slots if not isinstance(_key(key), str) or _key(key).startswith("__")]
        if dunders:
            self._flag("SL110", f"BUILD slot state sets {', '.join(sorted(dunders)[:3])} on an object built by "
                       f"{inst.func_name or 'a call'} (setattr of a dunder attribute: __class__ swaps its class, "
                       "so later BUILDs and mutations run another class's code)",
                       subject=f"BUILD on {inst.func_name or '?'}", offset=offset)

    def _attributes_may_be_called(self, owner: str, where: str, layer: dict[Any, Any], offset: int,
                                  subject: str) -> None:
        """State applied as attributes can shadow methods: ``Optimizer.__setstate__`` calls
        ``self._patch_step_function()``, ``rv_generic.__setstate__`` ``self._attach_methods()``, ``dict(x)`` calls
        ``x.keys()``, and BUILD itself calls an instance-dict ``__setstate__``. So an object set as an attribute is
        an object the load may call (CALL_INSTANCE of its class). A key named like a protocol method is refused
        whatever its value (text in ``__doc__`` and the like excepted: ``catalog.mappings.TEXT_DUNDERS``): numpy
        reads ``__array_interface__`` from the instance (plain data there chooses the address numpy reads and
        writes), and a key computed at load time may equal one. Names there are already
        INVOKEd by the escape walk."""
        for raw_key, value in layer.items():
            key = _key(raw_key)
            if type(key) is not str:
                self._flag("SL110", f"{where} sets an attribute whose name is computed at load time "
                           f"({_describe(key)}): it may name a protocol method", subject=subject, offset=offset)
            elif key.startswith("__") and key.endswith("__") and not (
                    key in TEXT_DUNDERS and (value is None or type(value) is str)) and not (
                    key in EMPTY_DICT_DUNDERS and type(value) is dict and not value):
                self._flag("SL110", f"{where} sets {key} to {_describe(value)}: an attribute named like a protocol "
                           "method is looked up on the instance by the load or by later code (numpy reads "
                           "__array_interface__ there)", subject=subject, offset=offset)
            elif type(value) is Call and value.partial_func is None and value.owner is not None:
                self.facts.record(value.owner, U.CALL_INSTANCE,
                                  f"set as attribute {short_repr(key, 40)} of {owner} ({where}: an attribute "
                                  "can shadow a method the object's code calls)")
                if key in CONTAINER_ATTRIBUTES:
                    self.facts.record(value.owner, U.PASSED,
                                      f"set as attribute {key} of {owner}, which its load-time code uses as a "
                                      "container (`in`, iteration, item access)")

    def _refused_state(self, owner: Global, keys: tuple[str, ...], state: Any, offset: int) -> bool:
        """A reviewed class whose ``__setstate__`` runs other code when its dict state holds one of ``keys``
        (statsmodels' ModelData re-evaluates a formula): BUILD is admitted only with a dict state without them.
        True when the state passed (a dict with literal string keys and none of ``keys``)."""
        if type(state) is not dict:
            self._flag("SL115", f"allowed to be given a plain dict state only; here BUILD gives it "
                       f"{_describe(state)}", severity=Severity.MEDIUM, subject=owner.full, offset=offset,
                       trustable=True)
            return False
        entry = owner.cls.entry
        if (keys or (entry is not None and entry.build_state)) and any(type(k) is not str for k in state):
            # a key the load computes (builtins.str('restore_model_spec')) equals a refused one at load time
            self._flag("SL115", "allowed to be given a dict state with literal string keys only; here a key is "
                       "computed at load time", severity=Severity.MEDIUM, subject=owner.full, offset=offset,
                       trustable=True)
            return False
        present = sorted(k for k in keys if k in state)
        if present:
            self._flag("SL115", f"allowed to be given state without {', '.join(map(repr, keys))}; here the state "
                       f"holds {', '.join(map(repr, present))}, which makes its __setstate__ run code the review "
                       "does not cover", severity=Severity.MEDIUM, subject=owner.full, offset=offset,
                       trustable=True)
            return False
        return True

    def _state_contract(self, owner: Global, contract: tuple[str, tuple[str, ...]], state: Any,
                        offset: int) -> None:
        """A class whose ``__setstate__`` is reviewed inert only for states a named contract admits
        (``catalog/state_contracts.py``: scipy's distributions exec their ``_parse_arg_template``)."""
        from safeload.catalog.state_contracts import refusal

        view = self._state_bytes(state)
        try:
            reason = refusal(contract[0], contract[1], view, self._admitted_under(contract[0]))
        finally:
            if type(view) is memoryview:
                with contextlib.suppress(BufferError):  # a view of the file's buffer is not kept
                    view.release()
        if reason is not None:
            self._flag("SL115", f"allowed to be given a BUILD state the {contract[0]!r} contract admits; here "
                       f"{reason}", severity=Severity.MEDIUM, subject=owner.full, offset=offset, trustable=True)

    def _state_bytes(self, state: Any) -> Any:
        """A bytes state as the load sees it, for a state contract: a large bytes literal (left in place as
        :class:`BigBytes`) as a read-only view of the file's bytes, and ``_codecs.encode(text, 'latin1')`` -- how
        protocols 0-2 pickle bytes -- as the bytes that call returns (only that exact form: a string of code points
        below 256, the latin-1 codec named as pickle names it, no keywords). Any other state is returned as is."""
        if type(state) is BigBytes:
            return memoryview(self.data)[state.start:state.start + state.length].toreadonly()
        if (type(state) is Call and state.func is state.owner and state.owner is not None
                and state.owner.full in {"_codecs.encode", "codecs.encode"} and not state.kwargs
                and type(state.args) is tuple and len(state.args) == 2 and type(state.args[0]) is str
                and state.args[1] in {"latin1", "latin-1"} and type(state.args[1]) is str):
            try:
                return state.args[0].encode("latin-1")
            except UnicodeEncodeError:
                return state
        return state

    def _declared_state(self, owner: Global, state_uses: tuple[tuple[str, Any], ...],
                        state: dict[Any, Any]) -> dict[Any, Any]:
        """Record the declared use of names under declared state keys; return the rest of the state."""
        rest = dict(state)
        for key, use in state_uses:
            value = rest.get(key)
            if type(value) is Global:
                self.facts.record(value, use.value, f"as the {key!r} of {owner.full}, which only uses it that way")
                del rest[key]
        return rest

    # -- end of stream -----------------------------------------------------------------------------------
    def _trace_escapes(self, root: Any) -> None:
        """The end-of-stream escape walk (``engine/facts.py``), when its result can matter."""
        from safeload.engine.facts import trace_escapes

        if not self._sensitive:
            return
        roots: list[Escape] = []
        for call in self._calls:
            func = call.func
            if type(func) is Global and func.cls.entry is not None and func.cls.entry.arguments is not None:
                # an instantiation under an argument contract (entry.arguments): the contract checks every
                # argument (admitting only objects its own admitted instantiations made, which the class's reviewed
                # __new__ uses) or flags the instantiation; its arguments are not handed to other code (no PASSED)
                continue
            args = call.args if type(call.args) is tuple else ()
            declared = self._declared_positions(func)
            callee = func.full if type(func) is Global else _describe(func)
            for index, value in enumerate(args):
                if index in declared:
                    continue
                roots.append((value, f"passed to {callee} (argument {index})", True))
            if type(call.kwargs) is dict:
                roots.extend((value, f"passed to {callee} ({key}=)", True) for key, value in call.kwargs.items())
        roots.extend(self._escapes)
        # An embedded payload's result is handed to the code that loaded it (spaCy's unpickle_doc unpacks it and
        # dict.update()s the hooks from it): its objects are passed values, their protocol methods may run.
        nested = self.ctx.depth > 0
        roots.append((root, "returned to the loader of this embedded payload" if nested else "in the loaded object",
                      nested))
        trace_escapes(roots, self.facts.record, self.ctx.check_time)

    @staticmethod
    def _declared_positions(func: Any) -> frozenset[int]:
        """Argument positions whose use a contract records itself (the class a helper instantiates, the arguments
        an argument contract reads whole and holds to what it read)."""
        if type(func) is Global and func.cls.entry is not None and func.cls.entry.arguments is not None:
            from safeload.catalog.state_contracts import argument_declared

            return argument_declared(func.cls.entry.arguments[0])
        if type(func) is not Global or func.cls.contract is None:
            return frozenset()
        behaviour = func.cls.contract.behaviour
        if behaviour in (Behaviour.NEWOBJ, Behaviour.NEWOBJ_EX, Behaviour.SUBTYPE_ALLOC, Behaviour.PYX_UNPICKLE,
                         Behaviour.GETATTR):
            return frozenset({0})
        if behaviour in (Behaviour.RECONSTRUCTOR, Behaviour.MA_RECONSTRUCT):
            return frozenset({0, 1})
        if behaviour is Behaviour.REBUILD_FROM_TYPE:
            return frozenset({0, 1})
        if behaviour is Behaviour.CREATE_ARRAY:
            return frozenset({0})
        if behaviour is Behaviour.PARTIAL:
            return frozenset({0})
        return frozenset()
