"""The pickle analysis engine: a streaming symbolic pickle machine.

It walks a pickle stream opcode by opcode with the same stack, mark and memo discipline as CPython's
unpickler, but every value it builds is symbolic: strings, numbers and containers are plain data, and
every importable name is a :class:`Global` *record* holding two strings. It then ranks each global by the
catalogue and by how it is used (called, instantiated, mutated, only referenced), looks at call arguments
where that decides what the call can reach (``getattr``, ``functools.partial``, ``_ufunc_reconstruct``,
import primitives), and scans bytes handed to nested loaders (``pickle.loads``, ``torch.load``, ...).

Security invariants:
- nothing named in the stream is ever imported, looked up or called; the only callables the engine runs on
  stream data are pure decoders (zlib, base64, ...) with output caps, to follow obfuscated payloads;
- every stream in a buffer is walked; findings made before a parse error are kept and the error itself is
  a blocking finding (SL002); resource limits (opcodes, memo, stack, marks, time, nesting) are findings too;
- where the C and Python unpicklers could read the bytes differently (FRAME boundaries that split an
  opcode), the engine does not pick one reading: it reports the divergence (SL113) and blocks.
"""

from __future__ import annotations

import base64
import binascii
import bz2
import codecs
import copyreg
import lzma
import struct
import warnings
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from safeload._context import LimitExceeded, ScanContext
from safeload._sniff import looks_like_pickle
from safeload._text import short_repr
from safeload.catalog.classify import Classification, classify
from safeload.severity import Severity

__all__ = ["BUILD_HOOKS", "TORCH_LEGACY_MAGIC", "Call", "Global", "Opaque", "PickleWalker", "StreamResult",
           "scan_pickle", "walk_stream"]

TORCH_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_SMALL_BYTES = 1 << 16          # bytes up to this size are materialised; larger ones stay references
_MAX_DECODED = 256 << 20        # cap on what the engine will decode itself to follow a payload
_CHECK_EVERY = 0xFFFF
_TENSOR_BUILDERS = ("torch._utils._rebuild", "torch._tensor._rebuild", "torch.storage.", "torch.nn.parameter.")

_BUILTIN_TYPES = frozenset(f"builtins.{n}" for n in
                           "str bytes bytearray int float complex bool list dict tuple set frozenset".split())
_CODE_TYPE_NAMES = frozenset({"CodeType", "FunctionType", "LambdaType", "MethodType", "CellType", "ModuleType",
                              "BuiltinFunctionType", "BuiltinMethodType", "FrameType", "GeneratorType"})


class ParseError(Exception):
    """The stream is malformed at ``offset`` (the real unpickler would raise here too)."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


class Global:
    """A name the stream imports. ``full`` is the dotted name; ``cls`` its classification."""

    __slots__ = ("called", "cls", "full", "module", "name", "offset")

    def __init__(self, module: str, name: str, cls: Classification, offset: int) -> None:
        self.module = module
        self.name = name
        self.cls = cls
        self.full = cls.full_name
        self.offset = offset
        self.called = False

    def __repr__(self) -> str:
        return f"<global {self.full}>"


class Call:
    """The result of calling something at load time. ``func`` is what was called; ``args`` its arguments."""

    __slots__ = ("args", "builtin_method", "danger", "data", "func", "offset", "partial_of", "state")

    def __init__(self, func: Any, args: Any, offset: int) -> None:
        self.func = func
        self.args = args
        self.offset = offset
        self.state: Any = None
        self.data: bytes | bytearray | memoryview | None = None  # decoded bytes, for transforms and BytesIO
        self.partial_of: Any = None
        self.builtin_method = False
        self.danger: Severity | None = None            # severity of what produced this object

    @property
    def func_name(self) -> str | None:
        return self.func.full if isinstance(self.func, Global) else None

    def __repr__(self) -> str:
        return f"<call {self.func_name or '?'}>"


class Opaque:
    """A value only known at load time (persistent ids, out-of-band buffers, EXT codes, computed names)."""

    __slots__ = ("danger", "what")

    def __init__(self, what: str, danger: Severity | None = None) -> None:
        self.what = what
        self.danger = danger

    def __repr__(self) -> str:
        return f"<{self.what}>"


@dataclass(frozen=True, slots=True)
class BigBytes:
    """A large bytes value left in place: ``start``/``length`` index the buffer being walked."""

    start: int
    length: int


@dataclass(slots=True)
class StreamResult:
    """One pickle stream: where it started and ended, whether it reached STOP, and what it returned."""

    start: int
    end: int
    complete: bool
    protocol: int = 0
    opcodes: int = 0
    value: Any = None
    persistent_ids: list[Any] = field(default_factory=list)
    globals_seen: set[str] = field(default_factory=set)


# BUILD hooks: formats that write raw data right after a BUILD (joblib's NumpyArrayWrapper) register a
# function here that returns the offset where the pickle stream resumes.
BuildHook = Callable[["PickleWalker", Call, Any, int], int]
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


_MAX_KEY_NODES = 10_000


def _check_keys(keys: list[Any] | tuple[Any, ...]) -> None:
    """Refuse dict keys and set items whose hash would walk more than ``_MAX_KEY_NODES`` tuple elements.

    Tuples do not cache their hash: a DUP/TUPLE2 chain builds a DAG with 2**100 leaves in 200 bytes and
    hashing it never ends, and a 1 000 000-deep tuple overflows the C stack (THREATS B16). Sizes are summed
    over the DAG with a memo by id, so this costs O(distinct tuples) however large the tree.
    """
    for root in keys:
        if type(root) is not tuple:
            continue
        sizes: dict[int, int] = {}
        todo: list[tuple[Any, ...]] = [root]
        while todo:
            if len(todo) > _MAX_KEY_NODES:
                raise LimitExceeded("SL012", f"a dict key or set item nests more than {_MAX_KEY_NODES} tuples")
            node = todo[-1]
            if id(node) in sizes:
                todo.pop()
                continue
            missing = [c for c in node if type(c) is tuple and id(c) not in sizes]
            if missing:
                todo.extend(missing)
                continue
            todo.pop()
            size = 1 + sum(sizes[id(c)] if type(c) is tuple else 1 for c in node)
            if size > _MAX_KEY_NODES:
                raise LimitExceeded("SL012", f"a dict key or set item holds more than {_MAX_KEY_NODES} values "
                                    "(hashing it would not finish)")
            sizes[id(node)] = size


class PickleWalker:
    """Walks pickle streams in ``data`` and reports into ``ctx``. One walker per buffer."""

    def __init__(self, data: bytes | bytearray | Any, ctx: ScanContext) -> None:
        if isinstance(data, memoryview):
            data = data.tobytes()
        self.data = data
        self.ctx = ctx
        self.total_opcodes = 0
        self._unknown: dict[str, list[Any]] = {}     # full name -> [called, offset, trustable]
        self._argcheck_pending: list[Global] = []
        self._decoded_bytes = 0

    # ------------------------------------------------------------------------------------------------
    # findings
    def _flag(self, rule_id: str, message: str, *, severity: Severity | None = None, subject: str | None = None,
              offset: int | None = None, trustable: bool = False, **details: Any) -> None:
        self.ctx.add(rule_id, message, severity=severity, subject=subject, offset=offset, trustable=trustable,
                     details=details or None)

    def _flag_classified(self, g: Global, severity: Severity | None = None, why: str = "") -> None:
        cls = g.cls
        level = severity if severity is not None else cls.severity
        rule_id = cls.rule_id or "SL101"
        if not cls.floor and rule_id not in {"SL110", "SL106"} and self.ctx.is_trusted(g.full):
            self._flag("SL112", f"{g.full} trusted by policy (would be {level.name if level else '?'})",
                       subject=g.full, offset=g.offset)
            return
        message = f"{g.full}: {cls.reason}{why}"
        self._flag(rule_id, message, severity=level, subject=g.full, offset=g.offset,
                   trustable=not cls.floor and rule_id not in {"SL110", "SL106"})

    def _push_global(self, module: str, name: str, offset: int) -> Global:
        g = Global(module, name, classify(module, name), offset)
        kind = g.cls.kind
        if kind in ("denied", "dynamic"):
            self._flag_classified(g)
        elif kind == "unknown":
            entry = self._unknown.get(g.full)
            if entry is None:
                self._unknown[g.full] = [False, offset]
        elif kind == "argcheck":
            self._argcheck_pending.append(g)
        return g

    def _finish_globals(self) -> None:
        for g in self._argcheck_pending:
            if not g.called and g.cls.severity is not None:
                self._flag_classified(g, why=" (referenced, not called: passed on to other code)")
        self._argcheck_pending.clear()
        for full, (called, offset) in self._unknown.items():
            if self.ctx.is_trusted(full):
                self._flag("SL112", f"{full} trusted by policy", subject=full, offset=offset)
            elif called:
                self._flag("SL104", f"{full} is called at load time and is not on the allowlist",
                           subject=full, offset=offset, trustable=True)
            else:
                self._flag("SL105", f"{full} is imported (its module's top-level code runs) but not called",
                           subject=full, offset=offset, trustable=True)
        self._unknown.clear()

    # ------------------------------------------------------------------------------------------------
    # calls and mutations
    def _payload(self, value: Any) -> bytes | bytearray | memoryview | None:
        if isinstance(value, bytes | bytearray):
            return value
        if isinstance(value, BigBytes):
            return memoryview(self.data)[value.start:value.start + value.length]
        if isinstance(value, Call) and value.data is not None:
            return value.data
        if (isinstance(value, Call) and value.func_name in {"_codecs.encode", "codecs.encode"}
                and isinstance(value.args, tuple) and value.args and isinstance(value.args[0], str)):
            return value.args[0].encode("latin-1", "replace")  # how protocols 0-2 pickle bytes
        if isinstance(value, str):
            return None
        return None

    def _scan_nested(self, payload: bytes | bytearray | memoryview, label: str, offset: int) -> None:
        from safeload.scan import scan_buffer  # the dispatcher imports this module

        with self.ctx.inside(f"{label}@{offset}", nested=True):
            scan_buffer(payload, self.ctx)

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
            if name in {"io.BytesIO", "_io.BytesIO"}:
                return raw
            if name == "zlib.decompress":
                out = zlib.decompressobj().decompress(bytes(raw), _MAX_DECODED)
            elif name == "gzip.decompress":
                out = zlib.decompressobj(31).decompress(bytes(raw), _MAX_DECODED)  # bounded, unlike gzip's
            elif name == "bz2.decompress":
                out = bz2.BZ2Decompressor().decompress(bytes(raw), _MAX_DECODED)
            elif name == "lzma.decompress":
                out = lzma.LZMADecompressor().decompress(bytes(raw), _MAX_DECODED)
            elif name in {"base64.b64decode", "base64.decodebytes", "binascii.a2b_base64"}:
                out = base64.b64decode(bytes(raw))
            elif name == "base64.b32decode":
                out = base64.b32decode(bytes(raw))
            elif name == "base64.b16decode":
                out = base64.b16decode(bytes(raw))
            elif name == "base64.b85decode":
                out = base64.b85decode(bytes(raw))
            elif name == "base64.a85decode":
                out = base64.a85decode(bytes(raw))
            elif name in {"binascii.unhexlify", "binascii.a2b_hex", "builtins.bytes.fromhex"}:
                out = binascii.unhexlify(bytes(raw).strip())
            elif name in {"codecs.decode", "_codecs.decode"} and len(args) > 1 and isinstance(args[1], str):
                codec = codecs.lookup(args[1]).name
                if codec in {"zlib", "bz2"}:  # compression codecs: decode with the bounded decompressors
                    return self._decode("zlib.decompress" if codec == "zlib" else "bz2.decompress", args[:1])
                decoded = codecs.decode(bytes(raw), args[1])
                out = decoded if isinstance(decoded, bytes) else None  # type: ignore[assignment]
            else:
                return None
        except (ValueError, TypeError, zlib.error, OSError, EOFError, LookupError, lzma.LZMAError):
            return None
        if out is not None:
            self._decoded_bytes += len(out)
            if self._decoded_bytes > _MAX_DECODED:  # one budget for every decode in the buffer
                raise LimitExceeded("SL016", f"payloads decoded while scanning exceed {_MAX_DECODED} bytes")
        return out

    def _call(self, func: Any, args: Any, offset: int, kwargs: Any = None) -> Any:
        result = Call(func, args, offset)
        if isinstance(func, Global):
            func.called = True
            entry = self._unknown.get(func.full)
            if entry is not None:
                entry[0] = True
            arg_tuple = args if isinstance(args, tuple) else ()
            special = self._call_global(func, arg_tuple, offset, result)
            if special is not None:
                return special
            if func.cls.severity is not None and func.cls.severity >= Severity.HIGH:
                result.danger = func.cls.severity
            return result
        if isinstance(func, Call):
            if func.partial_of is not None:
                return self._call(func.partial_of, args, offset, kwargs)
            if func.builtin_method:
                return result
            danger = func.danger
            producer = func.func_name or "an earlier call"
            level = Severity.CRITICAL if danger is not None and danger >= Severity.HIGH else Severity.MEDIUM
            self._flag("SL111", f"calls an object produced at load time by {producer}", severity=level,
                       subject=f"{producer}(...)()", offset=offset)
            result.danger = level
            return result
        if isinstance(func, Opaque):
            level = func.danger if func.danger is not None else Severity.MEDIUM
            if level < Severity.HIGH and func.what.startswith("EXT"):
                level = Severity.HIGH
            self._flag("SL111", f"calls a value only known at load time ({func.what})", severity=level,
                       subject=func.what, offset=offset)
            result.danger = level
            return result
        raise ParseError(f"{type(func).__name__} object is not callable", offset)

    def _derived_global(self, module: str, name: str, offset: int) -> Global:
        return self._push_global(module, name, offset)

    def _call_global(self, g: Global, args: tuple[Any, ...], offset: int, result: Call) -> Any:
        """Argument-aware handling. Returns a replacement result, or None to keep ``result``."""
        name = g.full
        cls = g.cls
        if name == "builtins.getattr":
            return self._call_getattr(g, args, offset, result)
        if name in {"copyreg._reconstructor", "copyreg.__newobj__", "copyreg.__newobj_ex__"}:
            if args and isinstance(args[0], Global):
                inner = self._call(args[0], args[1:], offset)
                return inner
            if args and not isinstance(args[0], Global):
                self._flag("SL111", f"{name} instantiates a value only known at load time",
                           severity=Severity.MEDIUM, subject=name, offset=offset)
            return None
        if name == "dill._dill._create_array":
            # dill's numpy array rebuild: f(*args) then __setstate__(state); f is ranked as a global itself.
            if args and isinstance(args[0], Global) and len(args) > 1:
                return self._call(args[0], args[1], offset)
            return None
        if name == "functools.partial":
            if args:
                result.partial_of = args[0]
            return result
        if name == "builtins.type":
            if len(args) == 3:
                self._flag("SL104", "builtins.type(name, bases, dict) creates a class at load time",
                           severity=Severity.MEDIUM, subject="builtins.type", offset=offset, trustable=True)
            return None
        if name in {"numpy.core._ufunc_reconstruct", "numpy._core._ufunc_reconstruct"}:
            if (len(args) == 2 and isinstance(args[0], str) and isinstance(args[1], str)
                    and (args[0] == "numpy" or args[0].startswith("numpy."))
                    and args[1].isidentifier() and not args[1].startswith("_")):
                return self._derived_global(args[0], args[1], offset)
            target = ".".join(a for a in args if isinstance(a, str)) or "a computed name"
            self._flag("SL110", f"{name} imports and returns {target}", subject=f"{name}({target})", offset=offset)
            result.danger = Severity.CRITICAL
            return None
        if name == "dill._dill._load_type":
            if args and isinstance(args[0], str) and args[0] not in _CODE_TYPE_NAMES:
                return None
            self._flag("SL106", f"dill rebuilds the code-related type {short_repr(args[:1])}",
                       subject=f"{name}({short_repr(args[:1])})", offset=offset)
            return None
        if cls.reason == "transform":
            result.data = self._decode(name, args)
            return None
        if cls.nested is not None:
            self._follow_nested(name, args, offset)
            return None
        if cls.kind == "denied" and args and isinstance(args[0], str):
            # Import primitives: what they return is named by their argument; rank that name too.
            target = args[0]
            if name.startswith(("importlib.import_module", "importlib.__import__", "builtins.__import__")):
                derived = self._derived_global(target, "", offset)
                result.danger = max(cls.severity or Severity.HIGH, derived.cls.severity or Severity.MEDIUM)
                return derived
            if name == "pkgutil.resolve_name" and (":" in target or "." in target):
                mod, _, attr = target.partition(":") if ":" in target else target.rpartition(".")
                return self._derived_global(mod, attr, offset)
        return None

    def _call_getattr(self, g: Global, args: tuple[Any, ...], offset: int, result: Call) -> Any:
        if len(args) >= 2 and isinstance(args[1], str):
            obj, attr = args[0], args[1]
            dunder = attr.startswith("__")
            if isinstance(obj, Global) and not dunder:
                if obj.full in _BUILTIN_TYPES and not attr.startswith("_"):
                    result.builtin_method = True  # str.lower, dict.get, ...: inert
                    return result
                derived = self._derived_global(obj.module, f"{obj.name}.{attr}" if obj.name else attr, offset)
                return derived
            if dunder:
                self._flag("SL110", f"getattr reaches the dunder attribute {attr!r}",
                           subject=f"builtins.getattr(..., {attr!r})", offset=offset)
                result.danger = Severity.CRITICAL
                return result
            self._flag("SL111", f"getattr({attr!r}) on an object built at load time", severity=Severity.MEDIUM,
                       subject=f"builtins.getattr(<object>, {attr!r})", offset=offset, trustable=False)
            result.danger = Severity.MEDIUM
            return result
        self._flag("SL110", "getattr with an attribute name computed at load time", subject="builtins.getattr",
                   offset=offset)
        result.danger = Severity.CRITICAL
        return result

    def _follow_nested(self, name: str, args: tuple[Any, ...], offset: int) -> None:
        for value in args[:2]:
            payload = self._payload(value)
            if payload is not None and len(payload) > 0:
                self._scan_nested(payload, name, offset)
                return
        self._flag("SL103", f"{name} loads data only known at load time; it could not be scanned",
                   subject=name, offset=offset)

    def _mutate(self, target: Any, how: str, offset: int) -> None:
        if isinstance(target, Global):
            self._flag("SL109", f"{how} on {target.full}: the file modifies an imported object",
                       subject=target.full, offset=offset)
        elif isinstance(target, Call) and (target.func_name or "").startswith(_TENSOR_BUILDERS):
            # Writing into a tensor or storage while unpickling: no checkpoint does it, and it is how
            # CVE-2026-24747 corrupted the heap under weights_only (THREATS D2).
            self._flag("SL114", f"{how} writes into a tensor or storage rebuilt by {target.func_name}",
                       severity=Severity.MEDIUM, subject=f"{how} on {target.func_name}", offset=offset)

    def _build(self, inst: Any, state: Any, offset: int, pos: int) -> int:
        if isinstance(inst, Global):
            self._flag("SL109", f"BUILD sets state on the imported object {inst.full}",
                       subject=inst.full, offset=offset)
            return pos
        if isinstance(inst, Call):
            inst.state = state
            name = inst.func_name
            if name is not None:
                hook = _build_hook(name)
                if hook is not None:
                    return hook(self, inst, state, pos)
        return pos

    # ------------------------------------------------------------------------------------------------
    def walk(self, pos: int) -> StreamResult:
        """Walk one stream starting at ``pos``. Findings go to the context; errors become findings."""
        res = StreamResult(start=pos, end=pos, complete=False)
        try:
            self._walk(pos, res)
        except ParseError as exc:
            res.end = exc.offset
            self._flag("SL002", f"pickle stream starting at {res.start} is malformed at offset {exc.offset}: {exc}",
                       offset=exc.offset)
        except LimitExceeded as exc:
            self.ctx.add_limit(exc, offset=res.end)
        except (IndexError, KeyError, struct.error, ValueError, TypeError, UnicodeDecodeError, OverflowError,
                RecursionError, MemoryError) as exc:
            self._flag("SL002", f"pickle stream starting at {res.start} is malformed near offset {res.end}: "
                       f"{type(exc).__name__}: {short_repr(str(exc), 120)}", offset=res.end)
        finally:
            self.total_opcodes += res.opcodes
            self._finish_globals()
        return res

    def _walk(self, pos: int, res: StreamResult) -> None:
        data = self.data
        n = len(data)
        ctx = self.ctx
        limits = ctx.limits
        max_memo = limits.max_memo
        max_marks = limits.max_marks
        unpack = struct.unpack_from
        stack: list[Any] = []
        metastack: list[list[Any]] = []
        memo: dict[int, Any] = {}
        append = stack.append
        frame_end = -1
        check_every = _CHECK_EVERY
        count = 0
        budget = limits.max_opcodes - self.total_opcodes
        start = pos

        # No closures over pos/stack here: cell variables would slow every opcode down.
        try:
            while True:  # the end of the data shows up as IndexError on data[pos] (handled below)
                start = pos
                if frame_end >= 0:
                    if start > frame_end:
                        # CRITICAL: reading a file, the C unpickler drops a straddling text line's in-frame part
                        # (`cx|os\nsystem\n` is os.system to it, xos.system here): it can hide any call.
                        self._flag("SL113", f"an opcode straddles the end of the FRAME ending at {frame_end}",
                                   offset=start, severity=Severity.CRITICAL)
                        frame_end = -1
                    elif start == frame_end:
                        frame_end = -1
                op = data[pos]
                pos += 1
                count += 1
                if not count & check_every:
                    res.end = start
                    res.opcodes = count
                    if count > budget:
                        raise LimitExceeded("SL010", f"more than {limits.max_opcodes} opcodes")
                    if len(stack) > limits.max_stack:
                        raise LimitExceeded("SL012", f"stack deeper than {limits.max_stack}")
                    if len(memo) > max_memo:
                        raise LimitExceeded("SL011", f"memo larger than {max_memo} entries")
                    ctx.check_time()

                # Ordered by how often real pickles use them. Stack underflow raises IndexError, which the
                # handler below turns into a parse error; the memo size is checked with the other limits.
                if op == 0x68:  # BINGET
                    append(memo[data[pos]])
                    pos += 1
                elif op == 0x94:  # MEMOIZE
                    memo[len(memo)] = stack[-1]
                elif op == 0x71:  # BINPUT
                    memo[data[pos]] = stack[-1]
                    pos += 1
                elif op == 0x8C:  # SHORT_BINUNICODE
                    k = data[pos]
                    pos += 1
                    if pos + k > n:
                        raise ParseError("truncated argument", start)
                    append(str(data[pos:pos + k], "utf-8", "surrogatepass"))
                    pos += k
                elif op == 0x4B:  # BININT1
                    append(data[pos])
                    pos += 1
                elif op == 0x28:  # MARK
                    metastack.append(stack)
                    if len(metastack) > max_marks:
                        raise LimitExceeded("SL012", f"more than {max_marks} nested MARKs")
                    stack = []
                    append = stack.append
                elif op == 0x65:  # APPENDS
                    if not metastack:
                        raise ParseError("MARK not found", start)
                    items = stack
                    stack = metastack.pop()
                    append = stack.append
                    target = stack[-1]
                    if type(target) is list:
                        target.extend(items)
                    else:
                        self._mutate(target, "APPENDS", start)
                elif op == 0x75:  # SETITEMS
                    if not metastack:
                        raise ParseError("MARK not found", start)
                    items = stack
                    stack = metastack.pop()
                    append = stack.append
                    target = stack[-1]
                    if type(target) is dict:
                        if tuple in map(type, items):
                            _check_keys(items[::2])
                        try:
                            target.update(zip(items[::2], items[1::2], strict=False))
                        except TypeError as exc:
                            raise ParseError(f"unhashable dict key: {exc}", start) from None
                    else:
                        self._mutate(target, "SETITEMS", start)
                elif op == 0x5D:  # EMPTY_LIST
                    append([])
                elif op == 0x7D:  # EMPTY_DICT
                    append({})
                elif op == 0x29:  # EMPTY_TUPLE
                    append(())
                elif op == 0x85:  # TUPLE1
                    stack[-1] = (stack[-1],)
                elif op == 0x86:  # TUPLE2
                    b = stack.pop()
                    stack[-1] = (stack[-1], b)
                elif op == 0x87:  # TUPLE3
                    c = stack.pop()
                    b = stack.pop()
                    stack[-1] = (stack[-1], b, c)
                elif op == 0x4A:  # BININT
                    append(unpack("<i", data, pos)[0])
                    pos += 4
                elif op == 0x4D:  # BININT2
                    append(unpack("<H", data, pos)[0])
                    pos += 2
                elif op == 0x47:  # BINFLOAT
                    append(unpack(">d", data, pos)[0])
                    pos += 8
                elif op == 0x4E:  # NONE
                    append(None)
                elif op == 0x88:  # NEWTRUE
                    append(True)
                elif op == 0x89:  # NEWFALSE
                    append(False)
                elif op == 0x52:  # REDUCE
                    args = stack.pop()
                    stack[-1] = self._call(stack[-1], args, start)
                elif op == 0x62:  # BUILD
                    state = stack.pop()
                    self.frame_end = frame_end  # BUILD hooks check that raw data starts after the frame
                    resumed = self._build(stack[-1], state, start, pos)
                    if resumed != pos:  # a hook skipped raw data written after a committed frame
                        frame_end = -1
                    pos = resumed
                elif op == 0x81:  # NEWOBJ
                    args = stack.pop()
                    cls_value = stack.pop()
                    append(self._call(cls_value, args, start))
                elif op == 0x92:  # NEWOBJ_EX
                    kwargs = stack.pop()
                    args = stack.pop()
                    cls_value = stack.pop()
                    append(self._call(cls_value, args, start, kwargs))
                elif op == 0x93:  # STACK_GLOBAL
                    name = stack.pop()
                    module = stack.pop()
                    if type(module) is str and type(name) is str:
                        g = self._push_global(module, name, start)
                        res.globals_seen.add(g.full)
                        append(g)
                    elif isinstance(module, Call | Opaque | Global) or isinstance(name, Call | Opaque | Global):
                        shown = f"{short_repr(module)} {short_repr(name)}"
                        self._flag("SL110", f"STACK_GLOBAL with a name computed at load time ({shown})",
                                   subject=f"<computed global {shown}>", offset=start)
                        append(Opaque("computed global", Severity.CRITICAL))
                    else:
                        raise ParseError("STACK_GLOBAL requires str operands", start)
                elif op == 0x63:  # GLOBAL
                    mline = _readline(data, pos, start)
                    pos += len(mline) + 1
                    nline = _readline(data, pos, start)
                    pos += len(nline) + 1
                    g = self._push_global(mline.decode("utf-8"), nline.decode("utf-8"), start)
                    res.globals_seen.add(g.full)
                    append(g)
                elif op == 0x58:  # BINUNICODE
                    k = unpack("<I", data, pos)[0]
                    pos += 4
                    if pos + k > n:
                        raise ParseError("truncated argument", start)
                    append(str(data[pos:pos + k], "utf-8", "surrogatepass"))
                    pos += k
                elif op in (0x43, 0x42, 0x8E, 0x96):  # SHORT_BINBYTES, BINBYTES, BINBYTES8, BYTEARRAY8
                    if op == 0x43:
                        k = data[pos]
                        pos += 1
                    elif op == 0x42:
                        k = unpack("<I", data, pos)[0]
                        pos += 4
                    else:
                        k = unpack("<Q", data, pos)[0]
                        pos += 8
                    if pos + k > n:
                        raise ParseError(f"truncated: a {k}-byte payload runs past the end of the data", start)
                    append(bytes(data[pos:pos + k]) if k <= _SMALL_BYTES else BigBytes(pos, k))
                    pos += k
                elif op == 0x72:  # LONG_BINPUT
                    if not stack:
                        raise ParseError("PUT on an empty stack", start)
                    idx = unpack("<I", data, pos)[0]
                    if idx > max_memo:  # the C unpickler sizes its memo array by the index: 32 GB for 2**32
                        self._flag("SL011", f"memo index {idx} beyond the limit of {max_memo}", offset=start)
                    memo[idx] = stack[-1]
                    pos += 4
                    if len(memo) > max_memo:
                        raise LimitExceeded("SL011", f"memo larger than {max_memo} entries")
                elif op == 0x6A:  # LONG_BINGET
                    idx = unpack("<I", data, pos)[0]
                    if idx not in memo:
                        raise ParseError(f"memo index {idx} not found", start)
                    append(memo[idx])
                    pos += 4
                elif op == 0x30:  # POP
                    if stack:
                        stack.pop()
                    else:
                        if not metastack:
                            raise ParseError("MARK not found", start)
                        stack = metastack.pop()
                        append = stack.append
                elif op == 0x31:  # POP_MARK
                    if not metastack:
                        raise ParseError("MARK not found", start)
                    stack = metastack.pop()
                    append = stack.append
                elif op == 0x32:  # DUP
                    append(stack[-1])
                elif op == 0x61:  # APPEND
                    value = stack.pop()
                    target = stack[-1]
                    if type(target) is list:
                        target.append(value)
                    else:
                        self._mutate(target, "APPEND", start)
                elif op == 0x73:  # SETITEM
                    value = stack.pop()
                    key = stack.pop()
                    target = stack[-1]
                    if type(target) is dict:
                        if type(key) is tuple:
                            _check_keys((key,))
                        try:
                            target[key] = value
                        except TypeError as exc:
                            raise ParseError(f"unhashable dict key: {exc}", start) from None
                    else:
                        self._mutate(target, "SETITEM", start)
                elif op == 0x74:  # TUPLE
                    if not metastack:
                        raise ParseError("MARK not found", start)
                    items = stack
                    stack = metastack.pop()
                    append = stack.append
                    append(tuple(items))
                elif op == 0x6C:  # LIST
                    if not metastack:
                        raise ParseError("MARK not found", start)
                    items = stack
                    stack = metastack.pop()
                    append = stack.append
                    append(items)
                elif op == 0x64:  # DICT
                    if not metastack:
                        raise ParseError("MARK not found", start)
                    items = stack
                    stack = metastack.pop()
                    append = stack.append
                    if tuple in map(type, items):
                        _check_keys(items[::2])
                    try:
                        append({items[i]: items[i + 1] for i in range(0, len(items) - 1, 2)})
                    except TypeError as exc:
                        raise ParseError(f"unhashable dict key: {exc}", start) from None
                elif op == 0x8F:  # EMPTY_SET
                    append(set())
                elif op == 0x90:  # ADDITEMS
                    if not metastack:
                        raise ParseError("MARK not found", start)
                    items = stack
                    stack = metastack.pop()
                    append = stack.append
                    target = stack[-1]
                    if type(target) is set:
                        if tuple in map(type, items):
                            _check_keys(items)
                        try:
                            target.update(items)
                        except TypeError as exc:
                            raise ParseError(f"unhashable set item: {exc}", start) from None
                    else:
                        self._mutate(target, "ADDITEMS", start)
                elif op == 0x91:  # FROZENSET
                    if not metastack:
                        raise ParseError("MARK not found", start)
                    items = stack
                    stack = metastack.pop()
                    append = stack.append
                    if tuple in map(type, items):
                        _check_keys(items)
                    try:
                        append(frozenset(items))
                    except TypeError as exc:
                        raise ParseError(f"unhashable set item: {exc}", start) from None
                elif op == 0x95:  # FRAME
                    flen = unpack("<Q", data, pos)[0]
                    pos += 8
                    if frame_end >= 0 and start < frame_end:
                        self._flag("SL113", "a FRAME starts inside the previous frame", offset=start)
                    if pos + flen > n:
                        # The C unpickler stops here, but the pure-Python one (joblib's) reads on through the
                        # short frame and runs what follows: report the divergence and keep walking.
                        self._flag("SL113", f"FRAME of {flen} bytes runs past the end of the data", offset=start)
                        flen = n - pos
                    frame_end = pos + flen if flen else -1
                elif op == 0x80:  # PROTO
                    proto = data[pos]
                    pos += 1
                    if proto > 5:
                        raise ParseError(f"unsupported pickle protocol {proto}", start)
                    if start != res.start:
                        self._flag("SL114", "PROTO opcode in the middle of a stream", offset=start)
                    res.protocol = proto
                elif op == 0x2E:  # STOP
                    if len(memo) > max_memo:
                        raise LimitExceeded("SL011", f"memo larger than {max_memo} entries")
                    res.value = stack.pop() if stack else None
                    res.end = pos
                    res.complete = True
                    res.opcodes = count
                    if frame_end >= 0 and pos != frame_end:
                        self._flag("SL113", "STOP before the end of the current FRAME", offset=start)
                    return
                elif op == 0x8D:  # BINUNICODE8
                    k = unpack("<Q", data, pos)[0]
                    pos += 8
                    if pos + k > n:
                        raise ParseError("truncated argument", start)
                    append(str(data[pos:pos + k], "utf-8", "surrogatepass") if k <= _SMALL_BYTES * 16
                           else Opaque("huge string"))
                    pos += k
                elif op in (0x55, 0x54):  # SHORT_BINSTRING, BINSTRING (py2 str)
                    if op == 0x55:
                        k = data[pos]
                        pos += 1
                    else:
                        k = unpack("<i", data, pos)[0]
                        pos += 4
                        if k < 0:
                            raise ParseError("BINSTRING pickle has negative byte count", start)
                    if pos + k > n:
                        raise ParseError("truncated argument", start)
                    append(str(data[pos:pos + k], "latin-1"))
                    pos += k
                elif op == 0x8A:  # LONG1
                    k = data[pos]
                    pos += 1
                    if pos + k > n:
                        raise ParseError("truncated argument", start)
                    append(int.from_bytes(data[pos:pos + k], "little", signed=True))
                    pos += k
                elif op == 0x8B:  # LONG4
                    k = unpack("<i", data, pos)[0]
                    pos += 4
                    if k < 0:
                        raise ParseError("LONG pickle has negative byte count", start)
                    if pos + k > n:
                        raise ParseError("truncated argument", start)
                    big = k > 4096  # an absurd integer: its value cannot matter, its conversion would cost
                    append(Opaque("huge int") if big else int.from_bytes(data[pos:pos + k], "little", signed=True))
                    pos += k
                elif op == 0x69:  # INST
                    mline = _readline(data, pos, start)
                    pos += len(mline) + 1
                    nline = _readline(data, pos, start)
                    pos += len(nline) + 1
                    if not metastack:
                        raise ParseError("MARK not found", start)
                    args_list = stack
                    stack = metastack.pop()
                    append = stack.append
                    g = self._push_global(mline.decode("utf-8"), nline.decode("utf-8"), start)
                    res.globals_seen.add(g.full)
                    append(self._call(g, tuple(args_list), start))
                elif op == 0x6F:  # OBJ
                    if not metastack:
                        raise ParseError("MARK not found", start)
                    args_list = stack
                    stack = metastack.pop()
                    append = stack.append
                    if not args_list:
                        raise ParseError("OBJ without a class", start)
                    append(self._call(args_list[0], tuple(args_list[1:]), start))
                elif op in (0x82, 0x83, 0x84):  # EXT1, EXT2, EXT4
                    width = {0x82: 1, 0x83: 2, 0x84: 4}[op]
                    if pos + width > n:
                        raise ParseError("truncated argument", start)
                    code = int.from_bytes(data[pos:pos + width], "little")
                    pos += width
                    registered = copyreg._inverted_registry.get(code)  # type: ignore[attr-defined]
                    if registered is not None:
                        g = self._push_global(registered[0], registered[1], start)
                        self._flag("SL107", f"EXT code {code} resolves to {g.full} in this process",
                                   subject=f"EXT{code}", offset=start)
                        append(g)
                    else:
                        self._flag("SL107", f"EXT code {code}: resolved by the loading process's copyreg registry",
                                   subject=f"EXT{code}", offset=start)
                        append(Opaque(f"EXT code {code}"))
                elif op == 0x51:  # BINPERSID
                    pid = stack.pop()
                    res.persistent_ids.append(pid)
                    # torch's legacy persistent_load returns the class of a ("module", cls, ...) id.
                    is_module = type(pid) is tuple and len(pid) > 1 and pid[0] == "module"
                    append(pid[1] if is_module and isinstance(pid[1], Global) else Opaque("persistent id"))
                elif op == 0x50:  # PERSID
                    line = _readline(data, pos, start)
                    pos += len(line) + 1
                    pid_text = line.decode("ascii")
                    res.persistent_ids.append(pid_text)
                    append(Opaque("persistent id"))
                elif op in (0x67, 0x70):  # GET, PUT (text)
                    line = _readline(data, pos, start)
                    pos += len(line) + 1
                    try:
                        idx = int(line.split(b"\0", 1)[0])
                    except ValueError:
                        raise ParseError(f"bad memo index {short_repr(line)}", start) from None
                    if op == 0x67:
                        if idx not in memo:
                            raise ParseError(f"memo index {idx} not found", start)
                        append(memo[idx])
                    else:
                        if not stack:
                            raise ParseError("PUT on an empty stack", start)
                        if idx > max_memo:
                            self._flag("SL011", f"memo index {idx} beyond the limit of {max_memo}", offset=start)
                        memo[idx] = stack[-1]
                        if len(memo) > max_memo:
                            raise LimitExceeded("SL011", f"memo larger than {max_memo} entries")
                elif op == 0x49:  # INT
                    raw_line = _readline(data, pos, start)
                    pos += len(raw_line) + 1
                    line = raw_line.split(b"\0", 1)[0].strip()  # the C unpickler stops at a NUL (strtol)
                    if not line and b"\0" in raw_line:
                        line = b"0"  # strtol("") is 0 and the NUL ends it: the C unpickler reads 0
                    if line == b"00":
                        append(False)
                    elif line == b"01":
                        append(True)
                    else:
                        try:
                            append(int(line, 0) if line[:2].lower() in (b"0x", b"0o", b"0b") else int(line))
                        except ValueError:
                            raise ParseError(f"bad INT {short_repr(line)}", start) from None
                elif op == 0x4C:  # LONG (text)
                    line = _readline(data, pos, start)
                    pos += len(line) + 1
                    text = line.split(b"\0", 1)[0].strip().rstrip(b"L")
                    try:
                        append(int(text) if len(text) <= 10000 else Opaque("huge int"))
                    except ValueError:
                        raise ParseError(f"bad LONG {short_repr(line)}", start) from None
                elif op == 0x46:  # FLOAT (text)
                    line = _readline(data, pos, start)
                    pos += len(line) + 1
                    try:
                        append(float(line.split(b"\0", 1)[0]))
                    except ValueError:
                        raise ParseError(f"bad FLOAT {short_repr(line)}", start) from None
                elif op == 0x53:  # STRING (quoted, escaped)
                    line = _readline(data, pos, start)
                    pos += len(line) + 1
                    text = line.rstrip()
                    if len(text) < 2 or text[0] != text[-1] or text[:1] not in (b"'", b'"'):
                        raise ParseError("the STRING opcode argument must be quoted", start)
                    try:
                        raw = codecs.escape_decode(text[1:-1])[0]
                    except ValueError:
                        raise ParseError("bad escape in STRING", start) from None
                    except DeprecationWarning:  # invalid escape under -W error: decode as the loader would
                        with warnings.catch_warnings():
                            warnings.simplefilter("ignore", DeprecationWarning)
                            raw = codecs.escape_decode(text[1:-1])[0]
                    append(raw.decode("latin-1"))
                elif op == 0x56:  # UNICODE (raw-unicode-escape)
                    line = _readline(data, pos, start)
                    pos += len(line) + 1
                    append(line.decode("raw-unicode-escape"))
                elif op == 0x97:  # NEXT_BUFFER
                    self._flag("SL114", "NEXT_BUFFER: out-of-band data the loader must supply", offset=start)
                    append(Opaque("out-of-band buffer"))
                elif op == 0x98:  # READONLY_BUFFER
                    if not stack:
                        raise ParseError("READONLY_BUFFER on an empty stack", start)
                else:
                    raise ParseError(f"invalid opcode 0x{op:02x}", start)

        except LimitExceeded:
            raise
        except (ParseError, IndexError, KeyError, struct.error, ValueError, TypeError, UnicodeDecodeError,
                OverflowError, AttributeError) as exc:
            if 0 <= frame_end < pos:  # the failing opcode crossed a FRAME end: the C unpickler reads it otherwise
                self._flag("SL113", f"an opcode crossing the end of the FRAME ending at {frame_end} does not parse",
                           offset=start, severity=Severity.CRITICAL)
            if isinstance(exc, ParseError):
                raise
            if start >= n:
                res.end = start
                raise ParseError("truncated: stream ended without STOP", start) from None
            raise ParseError(f"{type(exc).__name__}: {short_repr(str(exc), 120)}", start) from None


def _readline(data: Any, pos: int, start: int) -> bytes:
    end = data.find(b"\n", pos)
    if end < 0:
        # The C unpickler fails here, but the pure-Python one (joblib's) takes the rest of the data as the
        # line and drops its last byte as if it were the newline: read it the same way, so a global named
        # there is ranked; the stream then ends without STOP, a parse error.
        return bytes(data[pos:len(data) - 1])
    return bytes(data[pos:end])


def walk_stream(data: Any, pos: int, ctx: ScanContext) -> StreamResult:
    """Walk exactly one stream at ``pos`` (for container scanners that know their layout)."""
    return PickleWalker(data, ctx).walk(pos)


def scan_pickle(data: Any, ctx: ScanContext, *, start: int = 0) -> list[StreamResult]:
    """Scan every pickle stream in ``data`` from ``start``: the first, and each later one that follows STOP.

    Bytes after the last stream that do not look like a pickle are reported as trailing data (SL108).
    A first stream whose value is torch's legacy magic number hands over to the torch legacy scanner.
    """
    ctx.note_format("pickle")
    walker = PickleWalker(data, ctx)
    n = len(walker.data)
    results: list[StreamResult] = []
    pos = start
    while pos < n:
        if results and not looks_like_pickle(memoryview(walker.data)[pos:pos + 65536]):
            ctx.add("SL108", f"{n - pos} bytes after the last pickle stream are not a pickle", offset=pos)
            break
        res = walker.walk(pos)
        results.append(res)
        if len(results) == 1 and res.complete and res.value == TORCH_LEGACY_MAGIC and type(res.value) is int:
            from safeload.scanners import torch as torch_scanner

            torch_scanner.continue_legacy(walker, res, ctx)
            break
        if not res.complete or res.end <= pos:
            break
        pos = res.end
    if results:
        first = results[0]
        ctx.add("SL100", f"{len(results)} pickle stream(s), protocol {first.protocol}, "
                f"{walker.total_opcodes} opcodes", offset=start,
                details={"streams": len(results), "protocol": first.protocol, "opcodes": walker.total_opcodes})
    return results


def scan_pickle_buffer(data: Any, ctx: ScanContext) -> None:
    """Registry entry point for buffers sniffed as pickle."""
    scan_pickle(data, ctx)
