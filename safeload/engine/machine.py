"""The pickle machine: the opcode loop, with the stack, mark and memo discipline of CPython's unpickler.

Every opcode that only builds data (strings, numbers, containers, memo traffic) is executed here on plain
Python values. Every opcode with meaning beyond data — GLOBAL/STACK_GLOBAL/INST, REDUCE/NEWOBJ/OBJ, BUILD,
SETITEM/APPEND on objects, EXT, persistent ids — is handed to the semantic methods of the walker
(``engine/semantics.py``), which record facts and never run anything.

Security invariants:
- every stream in a buffer is walked; findings made before a parse error are kept and the error itself is
  a blocking finding (SL002); resource limits (opcodes, memo, stack, marks, time, nesting) are findings too;
- where the C and Python unpicklers could read the bytes differently (FRAME boundaries that split an
  opcode), the machine does not pick one reading: it reports the divergence (SL113) and blocks;
- text arguments (INT, LONG, FLOAT, GET, PUT) end at a NUL as in the C unpickler, INT accepts the bases the C
  unpickler's ``strtol(..., 0)`` accepts.
"""

from __future__ import annotations

import re
import struct

from safeload._context import LimitExceeded, ScanContext
from safeload._text import short_repr
from safeload.engine.values import Global, ParseError, StreamResult, U
from safeload.severity import Severity

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["Machine"]

_SMALL_BYTES = 1 << 16          # bytes up to this size are materialised; larger ones stay references
_CHECK_EVERY = 0xFFFF
_MAX_KEY_NODES = 10_000
_HASH_MODULUS = (1 << 61) - 1  # ints below it in absolute value hash to themselves (engine/collisions.py)
_UNIQUE_HASH_TYPES = frozenset({str, bytes, bool, type(None), int})


def may_collide(keys: list[Any] | tuple[Any, ...], key_types: set[type[Any]]) -> bool:
    """Whether ``keys`` (of types ``key_types``) must be counted by ``Machine._count_keys``: the fast test the
    opcode loops run on every batch of keys. str, bytes, bool, None and ints below ``2**61 - 1`` in absolute value
    never are (a file cannot make them share a hash, ``engine/collisions.py``)."""
    if not key_types <= _UNIQUE_HASH_TYPES:
        return True
    if int not in key_types:
        return False
    ints = keys if len(key_types) == 1 else [k for k in keys if type(k) is int]
    return min(ints) <= -_HASH_MODULUS or max(ints) >= _HASH_MODULUS


def key_may_collide(key: Any) -> bool:
    """``may_collide`` for one key."""
    kind = type(key)
    if kind is int:
        return not -_HASH_MODULUS < key < _HASH_MODULUS
    return kind not in _UNIQUE_HASH_TYPES


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


class Machine:
    """The opcode loop. Subclasses provide the semantic methods (``_push_global``, ``_call``, ``_build``,
    ``_mutate``, ``_hash_keys``, ``_flag``) and ``_finish_stream``."""

    data: Any
    ctx: ScanContext
    total_opcodes: int
    frame_end: int

    # -- the semantic interface (implemented by engine/semantics.py) ---------------------------------------
    def _flag(self, rule_id: str, message: str, *, severity: Severity | None = None, subject: str | None = None,
              offset: int | None = None, trustable: bool = False, **details: Any) -> None:
        raise NotImplementedError

    def _push_global(self, module: str, name: str, offset: int) -> Global:
        raise NotImplementedError

    def _call(self, func: Any, args: Any, offset: int, use: int = U.CALL, kwargs: Any = None) -> Any:
        raise NotImplementedError

    def _build(self, inst: Any, state: Any, offset: int, pos: int) -> int:
        raise NotImplementedError

    def _mutate(self, target: Any, how: str, offset: int, items: list[Any] | None = None) -> None:
        raise NotImplementedError

    def _hash_keys(self, keys: Any, how: str, depth: int = 0) -> None:
        raise NotImplementedError

    def _finish_stream(self, res: StreamResult) -> None:
        raise NotImplementedError

    # The native opcode loop (engine/native.py) when it runs: it replaces ``_walk``, nothing else.
    _native_walk: Any = None
    _result_type: type[StreamResult] = StreamResult
    _collisions: Any = None  # engine/collisions.py's CollisionCounter of the stream, made at its first key

    def _count_keys(self, keys: Any, how: str) -> None:
        """Count ``keys`` (dict keys or set items the load hashes) by the hash the load computes, before anything
        inserts them into a container of the engine's own: more than ``limits.max_key_collisions`` distinct ones
        on one hash in a stream raise ``LimitExceeded`` (SL020, ``engine/collisions.py``)."""
        counter = self._collisions
        if counter is None:
            from safeload.engine.collisions import CollisionCounter  # only streams with such keys need it

            counter = self._collisions = CollisionCounter(self.ctx.limits.max_key_collisions)
        counter.add(keys, how)

    def walk(self, pos: int) -> StreamResult:
        """Walk one stream starting at ``pos``. Findings go to the context; errors become findings."""
        res = self._result_type(start=pos, end=pos, complete=False)
        self._collisions = None
        try:
            if self._native_walk is None:
                self._walk(pos, res)
            else:
                self._native_walk(self, pos, res)
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
            self._finish_stream(res)
        return res

    def _walk(self, pos: int, res: StreamResult) -> None:
        """The opcode loop in Python (``engine/pyloop.py``; the native engine replaces it, nothing else)."""
        from safeload.engine.pyloop import walk  # only the Python engine needs it (issue 15: fixed costs)

        walk(self, pos, res)

    def _walk_failed(self, exc: Exception, start: int, pos: int, frame_end: int, n: int,  # noqa: PLR0917
                     res: StreamResult) -> None:
        """An opcode at ``start`` failed (``pos`` is how far it read): raise the ParseError it becomes."""
        if 0 <= frame_end < pos:  # the failing opcode crossed a FRAME end: the C unpickler reads it otherwise
            self._flag("SL113", f"an opcode crossing the end of the FRAME ending at {frame_end} does not parse",
                       offset=start, severity=Severity.CRITICAL)
        if isinstance(exc, ParseError):
            raise exc
        if start >= n:
            res.end = start
            raise ParseError("truncated: stream ended without STOP", start) from None
        raise ParseError(f"{type(exc).__name__}: {short_repr(str(exc), 120)}", start) from None


_strtol: re.Pattern[bytes] | None = None  # compiled on first use (issue 15: fixed costs)
_LONG_MIN, _LONG_MAX = -(1 << 63), (1 << 63) - 1


def c_string(line: bytes) -> bytes:
    """What C string functions see of a copied, NUL-terminated line: everything before the first NUL."""
    return line.split(b"\0", 1)[0]


def c_load_int(raw: bytes) -> int | bool:
    """``_pickle.c`` ``load_int`` on a line (``raw`` without its newline): ``strtol(s, &end, 0)`` must stop at the
    newline or a NUL (so ``010`` is octal 8 and ``0x1f`` hex), else ``PyLong_FromString(s, NULL, 0)`` (``0o17``,
    ``1_000``, trailing spaces); a 2-character line reading 0 or 1 is a bool (``00``/``01``). Raises ValueError."""
    global _strtol  # noqa: PLW0603 - the lazily compiled pattern
    if _strtol is None:
        _strtol = re.compile(rb"[ \t\n\v\f\r]*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)")
    match = _strtol.match(raw)
    if match is not None:
        end = match.end()
        if end == len(raw) or raw[end] == 0:
            digits = match.group(2)
            value = int(digits, 16) if digits[:2] in (b"0x", b"0X") else (
                int(digits, 8) if digits[:1] == b"0" else int(digits))
            value = -value if match.group(1) == b"-" else value
            if _LONG_MIN <= value <= _LONG_MAX:  # else strtol sets ERANGE: the fallback below decides
                return bool(value) if len(raw) == 2 and value in (0, 1) else value
    elif raw[:1] == b"\0":
        return False if len(raw) == 2 else 0  # no digits, but strtol's end pointer is on a NUL: success, 0
    text = c_string(raw + b"\n")
    return int(text.decode("ascii"), 0)


def _readline(data: Any, pos: int, start: int) -> bytes:
    end = data.find(b"\n", pos)
    if end < 0:
        # The C unpickler fails here, but the pure-Python one (joblib's) takes the rest of the data as the
        # line and drops its last byte as if it were the newline: read it the same way, so a global named
        # there is ranked; the stream then ends without STOP, a parse error.
        return bytes(data[pos:len(data) - 1])
    return bytes(data[pos:end])

