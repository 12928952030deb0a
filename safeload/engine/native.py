"""The native engine's Python side: what the C opcode loop (``_native.c``) hands back to Python.

``_native.c`` runs ``Machine._walk`` in C on a compact representation of plain data and calls the walker's
semantic methods (``_call``, ``_build``, ``_flag``) with exact Python values. Every rare or subtle path --
protocol-0 text arguments, EXT codes, persistent ids, globals, and dict/set/list operations on anything that
is not a plain native container with plain keys -- comes here, to functions that do exactly what the
corresponding branch of ``engine/machine.py`` does. ``tests/test_native_differential.py`` keeps the two
engines equal (findings and stream results).

Security invariants:
- nothing here imports, looks up or calls anything named in the data (the semantics do the recording);
- a helper raises what the Python loop raises at the same opcode (``ParseError`` with the same offset, or
  the same built-in exception), so errors become the same findings.
"""

from __future__ import annotations

import codecs
import copyreg
import struct

from safeload._context import LimitExceeded
from safeload._text import short_repr
from safeload.engine.machine import _check_keys, c_load_int, c_string, key_may_collide, may_collide
from safeload.engine.values import BigBytes, Call, Global, Opaque, ParseError, StreamResult, U
from safeload.severity import Severity

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from safeload.engine.machine import Machine

try:
    from safeload.engine import _native  # type: ignore[attr-defined]
except ImportError:  # no compiler where safeload was installed: the Python engine runs
    _native = None

__all__ = ["AVAILABLE", "NativeResult", "walk"]

AVAILABLE = _native is not None

CRITICAL = Severity.CRITICAL
U_NEW = U.NEW


_VALUE_SLOT: Any = StreamResult.__dict__["value"]  # the dataclass slot behind StreamResult.value


class NativeResult(StreamResult):
    """A :class:`StreamResult` whose ``value`` is built from the native representation on first access."""

    __slots__ = ("_walk",)

    def __init__(self, start: int, end: int, complete: bool) -> None:
        self._walk: Any = None
        super().__init__(start=start, end=end, complete=complete)

    @property
    def value(self) -> Any:
        walk_ = self._walk
        if walk_ is not None and walk_.has_root:
            _VALUE_SLOT.__set__(self, walk_.root())  # raises (every time) if it cannot be built
            self._walk = None
        return _VALUE_SLOT.__get__(self, StreamResult)

    @value.setter
    def value(self, value: Any) -> None:
        self._walk = None
        _VALUE_SLOT.__set__(self, value)

    def escape_root(self) -> Any:
        """The value for the end-of-stream escape walk: ``None`` when it is plain data (no name or object
        anywhere in it, so the walk could find nothing), without building it."""
        walk_ = self._walk
        if walk_ is not None and walk_.root_is_plain():
            return None
        return self.value

    def root_int(self) -> int | None:
        """The value when it is an int, without building a container value."""
        walk_ = self._walk
        if walk_ is not None:
            found: int | None = walk_.root_int()
            return found
        value = self.value
        return value if type(value) is int else None


def trace_escapes(roots: Any, record: Any, check: Any) -> None:
    """``engine/facts.py``'s ``trace_escapes`` in C (same order, same seen-sets, same check cadence)."""
    if _native is None:
        raise RuntimeError("the native engine is not compiled")
    _native.trace_escapes(list(roots), record, check, Global, Call, U.INVOKE, U.PASSED)


# -- the walk ------------------------------------------------------------------------------------------
_PARSE_FAILURES = (ParseError, IndexError, KeyError, struct.error, ValueError, TypeError, UnicodeDecodeError,
                   OverflowError, AttributeError)


def walk(machine: Machine, pos: int, res: StreamResult) -> None:
    """``Machine._walk`` natively: same findings, limits, errors and stream result."""
    if _native is None:
        raise RuntimeError("the native engine is not compiled")
    ctx = machine.ctx
    limits = ctx.limits
    run = _native.Walk(machine, machine.data, res, pos, limits.max_opcodes - machine.total_opcodes,
                       limits.max_opcodes, limits.max_memo, limits.max_marks, limits.max_stack, ctx.check_time)
    if isinstance(res, NativeResult):
        res._walk = run
    try:
        run.run()
    except LimitExceeded:
        raise
    except _PARSE_FAILURES as exc:
        machine._walk_failed(exc, run.start, run.pos, run.frame_end, len(machine.data), res)


# -- helpers called from C: each is the matching branch of engine/machine.py -----------------------------
def raise_data_error(data: Any, pos: int, fmt: str) -> None:
    """Raise what ``data[pos]`` (fmt empty) or ``struct.unpack_from(fmt, data, pos)`` raises."""
    if fmt:
        struct.unpack_from(fmt, data, pos)
    else:
        data[pos]


def setitems(m: Machine, target: Any, items: list[Any], start: int) -> None:
    if type(target) is dict:
        keys = items[::2]
        key_types = set(map(type, keys))
        if tuple in key_types:
            _check_keys(keys)
        if Call in key_types or tuple in key_types:
            m._hash_keys(keys, "a dict key")
        if may_collide(keys, key_types):
            m._count_keys(keys, "dict keys")
        try:
            target.update(zip(keys, items[1::2], strict=False))
        except TypeError as exc:
            raise ParseError(f"unhashable dict key: {exc}", start) from None
    else:
        m._mutate(target, "SETITEMS", start, items)


def setitem(m: Machine, target: Any, key: Any, value: Any, start: int) -> None:
    if type(target) is dict:
        key_type = type(key)
        if key_type is tuple:
            _check_keys((key,))
        if key_type is Call or key_type is tuple:
            m._hash_keys((key,), "a dict key")
        if key_may_collide(key):
            m._count_keys((key,), "dict keys")
        try:
            target[key] = value
        except TypeError as exc:
            raise ParseError(f"unhashable dict key: {exc}", start) from None
    else:
        m._mutate(target, "SETITEM", start, [key, value])


def appends(m: Machine, target: Any, items: list[Any], start: int) -> None:
    if type(target) is list:
        target.extend(items)
    else:
        m._mutate(target, "APPENDS", start, items)


def append(m: Machine, target: Any, value: Any, start: int) -> None:
    if type(target) is list:
        target.append(value)
    else:
        m._mutate(target, "APPEND", start, [value])


def additems(m: Machine, target: Any, items: list[Any], start: int) -> None:
    if type(target) is set:
        item_types = set(map(type, items))
        if tuple in item_types:
            _check_keys(items)
        if Call in item_types or tuple in item_types:
            m._hash_keys(items, "a set item")
        if may_collide(items, item_types):
            m._count_keys(items, "set items")
        try:
            target.update(items)
        except TypeError as exc:
            raise ParseError(f"unhashable set item: {exc}", start) from None
    else:
        m._mutate(target, "ADDITEMS", start, items)


def make_dict(m: Machine, items: list[Any], start: int) -> dict[Any, Any]:
    keys = items[::2]
    key_types = set(map(type, keys))
    if tuple in key_types:
        _check_keys(keys)
    if Call in key_types or tuple in key_types:
        m._hash_keys(keys, "a dict key")
    if may_collide(keys, key_types):
        m._count_keys(keys, "dict keys")
    try:
        return {items[i]: items[i + 1] for i in range(0, len(items) - 1, 2)}
    except TypeError as exc:
        raise ParseError(f"unhashable dict key: {exc}", start) from None


def make_frozenset(m: Machine, items: list[Any], start: int) -> frozenset[Any]:
    item_types = set(map(type, items))
    if tuple in item_types:
        _check_keys(items)
    if Call in item_types or tuple in item_types:
        m._hash_keys(items, "a set item")
    if may_collide(items, item_types):
        m._count_keys(items, "frozenset items")
    try:
        return frozenset(items)
    except TypeError as exc:
        raise ParseError(f"unhashable set item: {exc}", start) from None


def global_(m: Machine, mline: bytes, nline: bytes, start: int, res: StreamResult) -> Global:
    g = m._push_global(mline.decode("utf-8"), nline.decode("utf-8"), start)
    res.globals_seen.add(g.full)
    return g


def inst(m: Machine, mline: bytes, nline: bytes, args: tuple[Any, ...], start: int,  # noqa: PLR0917
         res: StreamResult) -> Any:
    g = m._push_global(mline.decode("utf-8"), nline.decode("utf-8"), start)
    res.globals_seen.add(g.full)
    return m._call(g, args, start)


def stack_global(m: Machine, module: Any, name: Any, start: int, res: StreamResult) -> Any:
    if type(module) is str and type(name) is str:
        g = m._push_global(module, name, start)
        res.globals_seen.add(g.full)
        return g
    if isinstance(module, Call | Opaque | Global) or isinstance(name, Call | Opaque | Global):
        shown = f"{short_repr(module)} {short_repr(name)}"
        m._flag("SL110", f"STACK_GLOBAL with a name computed at load time ({shown})",
                subject=f"<computed global {shown}>", offset=start)
        return Opaque("computed global", Severity.CRITICAL)
    raise ParseError("STACK_GLOBAL requires str operands", start)


def ext(m: Machine, code: int, start: int) -> Any:
    registered = copyreg._inverted_registry.get(code)  # type: ignore[attr-defined]
    if registered is not None:
        g = m._push_global(registered[0], registered[1], start)
        m._flag("SL107", f"EXT code {code} resolves to {g.full} in this process", subject=f"EXT{code}", offset=start)
        return g
    m._flag("SL107", f"EXT code {code}: resolved by the loading process's copyreg registry", subject=f"EXT{code}",
            offset=start)
    return Opaque(f"EXT code {code}")


def binpersid(m: Machine, pid: Any, res: StreamResult) -> Any:
    res.persistent_ids.append(pid)
    is_module = type(pid) is tuple and len(pid) > 1 and pid[0] == "module"
    return pid[1] if is_module and isinstance(pid[1], Global) else Opaque("persistent id")


def persid(m: Machine, line: bytes, start: int, res: StreamResult) -> Any:
    pid_text = line.decode("ascii")
    res.persistent_ids.append(pid_text)
    return Opaque("persistent id")


def next_buffer(m: Machine, start: int) -> Any:
    m._flag("SL114", "NEXT_BUFFER: out-of-band data the loader must supply", offset=start)
    return Opaque("out-of-band buffer")


def text_index(line: bytes, start: int) -> int:
    try:
        return int(line.split(b"\0", 1)[0])
    except ValueError:
        raise ParseError(f"bad memo index {short_repr(line)}", start) from None


def text_int(raw_line: bytes, start: int) -> int | bool:
    try:
        return c_load_int(raw_line)
    except ValueError:
        raise ParseError(f"bad INT {short_repr(raw_line)}", start) from None


def text_long(line: bytes, start: int) -> Any:
    text = c_string(line[:-1] + b"\0" if line.endswith(b"L") else line + b"\n")
    try:
        return int(text.decode("ascii"), 0) if len(text) <= 10000 else Opaque("huge int")
    except (ValueError, UnicodeDecodeError):
        raise ParseError(f"bad LONG {short_repr(line)}", start) from None


def text_float(line: bytes, start: int) -> float:
    try:
        return float(line.split(b"\0", 1)[0])
    except ValueError:
        raise ParseError(f"bad FLOAT {short_repr(line)}", start) from None


def text_string(line: bytes, start: int) -> str:
    text = line.rstrip()
    if len(text) < 2 or text[0] != text[-1] or text[:1] not in (b"'", b'"'):
        raise ParseError("the STRING opcode argument must be quoted", start)
    try:
        raw = codecs.escape_decode(text[1:-1])[0]
    except ValueError:
        raise ParseError("bad escape in STRING", start) from None
    except DeprecationWarning:  # invalid escape under -W error: decode as the loader would
        import warnings  # here: a first load without this path needs no ``warnings`` (issue 15)

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            raw = codecs.escape_decode(text[1:-1])[0]
    return str(raw.decode("latin-1"))


def text_unicode(line: bytes, start: int) -> str:
    return line.decode("raw-unicode-escape")


def big_bytes(pos: int, length: int) -> BigBytes:
    return BigBytes(pos, length)


def opaque(what: str) -> Opaque:
    return Opaque(what)


def long_from_bytes(raw: bytes) -> int:
    return int.from_bytes(raw, "little", signed=True)


if _native is not None:
    import sys

    _native.configure(sys.modules[__name__])
