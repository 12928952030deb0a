"""The pure-Python opcode loop (``Machine._walk``): the reference engine, and the fallback where the native one
(``engine/_native.c``, which runs this loop in C) was not compiled. See ``engine/machine.py`` for the
invariants; this module only loads when the Python engine walks a stream.
"""

from __future__ import annotations

import codecs
import copyreg
import struct

from safeload._context import LimitExceeded
from safeload._text import short_repr
from safeload.engine.machine import (
    _CHECK_EVERY,
    _SMALL_BYTES,
    _check_keys,
    _readline,
    c_load_int,
    c_string,
    key_may_collide,
    may_collide,
)
from safeload.engine.values import BigBytes, Call, Global, Opaque, ParseError, U
from safeload.severity import Severity

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from safeload.engine.machine import Machine
    from safeload.engine.values import StreamResult

__all__ = ["walk"]


def walk(self: Machine, pos: int, res: StreamResult) -> None:
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
                    self._mutate(target, "APPENDS", start, items)
            elif op == 0x75:  # SETITEMS
                if not metastack:
                    raise ParseError("MARK not found", start)
                items = stack
                stack = metastack.pop()
                append = stack.append
                target = stack[-1]
                if type(target) is dict:
                    keys = items[::2]
                    key_types = set(map(type, keys))
                    if tuple in key_types:
                        _check_keys(keys)
                    if Call in key_types or tuple in key_types:
                        self._hash_keys(keys, "a dict key")
                    if may_collide(keys, key_types):
                        self._count_keys(keys, "dict keys")
                    try:
                        target.update(zip(keys, items[1::2], strict=False))
                    except TypeError as exc:
                        raise ParseError(f"unhashable dict key: {exc}", start) from None
                else:
                    self._mutate(target, "SETITEMS", start, items)
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
                append(self._call(cls_value, args, start, U.NEW))
            elif op == 0x92:  # NEWOBJ_EX
                kwargs = stack.pop()
                args = stack.pop()
                cls_value = stack.pop()
                append(self._call(cls_value, args, start, U.NEW, kwargs))
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
                    self._mutate(target, "APPEND", start, [value])
            elif op == 0x73:  # SETITEM
                value = stack.pop()
                key = stack.pop()
                target = stack[-1]
                if type(target) is dict:
                    key_type = type(key)
                    if key_type is tuple:
                        _check_keys((key,))
                    if key_type is Call or key_type is tuple:
                        self._hash_keys((key,), "a dict key")
                    if key_may_collide(key):
                        self._count_keys((key,), "dict keys")
                    try:
                        target[key] = value
                    except TypeError as exc:
                        raise ParseError(f"unhashable dict key: {exc}", start) from None
                else:
                    self._mutate(target, "SETITEM", start, [key, value])
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
                keys = items[::2]
                key_types = set(map(type, keys))
                if tuple in key_types:
                    _check_keys(keys)
                if Call in key_types or tuple in key_types:
                    self._hash_keys(keys, "a dict key")
                if may_collide(keys, key_types):
                    self._count_keys(keys, "dict keys")
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
                    item_types = set(map(type, items))
                    if tuple in item_types:
                        _check_keys(items)
                    if Call in item_types or tuple in item_types:
                        self._hash_keys(items, "a set item")
                    if may_collide(items, item_types):
                        self._count_keys(items, "set items")
                    try:
                        target.update(items)
                    except TypeError as exc:
                        raise ParseError(f"unhashable set item: {exc}", start) from None
                else:
                    self._mutate(target, "ADDITEMS", start, items)
            elif op == 0x91:  # FROZENSET
                if not metastack:
                    raise ParseError("MARK not found", start)
                items = stack
                stack = metastack.pop()
                append = stack.append
                item_types = set(map(type, items))
                if tuple in item_types:
                    _check_keys(items)
                if Call in item_types or tuple in item_types:
                    self._hash_keys(items, "a set item")
                if may_collide(items, item_types):
                    self._count_keys(items, "frozenset items")
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
                try:
                    append(c_load_int(raw_line))
                except ValueError:
                    raise ParseError(f"bad INT {short_repr(raw_line)}", start) from None
            elif op == 0x4C:  # LONG (text)
                line = _readline(data, pos, start)
                pos += len(line) + 1
                text = c_string(line[:-1] + b"\0" if line.endswith(b"L") else line + b"\n")
                try:
                    append(int(text.decode("ascii"), 0) if len(text) <= 10000 else Opaque("huge int"))
                except (ValueError, UnicodeDecodeError):
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
                    import warnings  # here: a first load without this path needs no ``warnings``

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
        self._walk_failed(exc, start, pos, frame_end, n, res)
