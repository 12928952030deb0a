"""A small, bounded reader for the protobuf wire format (enough to walk ``saved_model.pb`` without TF).

Invariants: this module never imports ``google.protobuf`` or TensorFlow; it reads bytes only. Every length
is checked against the enclosing message before it is used, varints are at most 10 bytes, nesting is capped
by the caller's ``depth`` and the total number of fields visited by a :class:`Budget`. Anything malformed
raises :class:`ProtobufError` (never ``IndexError``/``struct.error``), so callers see one catchable type.
Length-delimited payloads are returned as ``(start, end)`` offsets into the original buffer: nothing is
copied unless the caller asks for the bytes or the text.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple

__all__ = [
    "FIXED32",
    "FIXED64",
    "LENGTH",
    "VARINT",
    "Budget",
    "Field",
    "ProtobufError",
    "iter_fields",
    "read_varint",
    "text",
]

VARINT, FIXED64, LENGTH, START_GROUP, END_GROUP, FIXED32 = 0, 1, 2, 3, 4, 5
_MAX_GROUP_DEPTH = 64


class ProtobufError(ValueError):
    """The bytes are not a well-formed protobuf message (or exceed a resource bound)."""


@dataclass
class Budget:
    """Total work allowed for one parse: each field visited costs one unit."""

    remaining: int = 50_000_000

    def spend(self, units: int = 1) -> None:
        self.remaining -= units
        if self.remaining < 0:
            raise ProtobufError("protobuf message has too many fields (work limit reached)")


class Field(NamedTuple):
    """One field: ``value`` is the integer of a VARINT/FIXED32/FIXED64 field (a LENGTH field's size);
    ``start``/``end`` bound a LENGTH payload; ``offset`` is where the field's key starts."""

    number: int
    wire_type: int
    value: int
    start: int
    end: int
    offset: int


def read_varint(data: Any, pos: int, end: int) -> tuple[int, int]:
    """Decode a varint at ``pos`` (before ``end``); return ``(value, new_pos)``."""
    if pos < end:
        first = data[pos]
        if first < 0x80:
            return first, pos + 1
    result = 0
    shift = 0
    for i in range(10):
        if pos + i >= end:
            raise ProtobufError(f"truncated varint at offset {pos}")
        byte = data[pos + i]
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            if i == 9 and byte > 1:
                raise ProtobufError(f"varint overflows 64 bits at offset {pos}")
            return result, pos + i + 1
        shift += 7
    raise ProtobufError(f"varint longer than 10 bytes at offset {pos}")


def _skip_group(data: Any, pos: int, end: int, number: int, budget: Budget) -> int:
    """Skip a (deprecated) group started with field ``number``; return the position after its END_GROUP."""
    stack = [number]
    while stack:
        if len(stack) > _MAX_GROUP_DEPTH:
            raise ProtobufError("protobuf groups nested too deep")
        budget.spend()
        key_pos = pos
        key, pos = read_varint(data, pos, end)
        num, wire = key >> 3, key & 7
        if num == 0:
            raise ProtobufError(f"field number 0 at offset {key_pos}")
        if wire == VARINT:
            _value, pos = read_varint(data, pos, end)
        elif wire == FIXED64:
            pos += 8
        elif wire == FIXED32:
            pos += 4
        elif wire == LENGTH:
            size, pos = read_varint(data, pos, end)
            pos += size
        elif wire == START_GROUP:
            stack.append(num)
        elif wire == END_GROUP:
            if stack.pop() != num:
                raise ProtobufError(f"mismatched end of group at offset {key_pos}")
        else:
            raise ProtobufError(f"invalid wire type {wire} at offset {key_pos}")
        if pos > end:
            raise ProtobufError(f"field at offset {key_pos} runs past the end of its message")
    return pos


def iter_fields(data: Any, start: int, end: int, budget: Budget) -> Iterator[Field]:
    """Yield the fields of the message stored in ``data[start:end]``, in order (groups are skipped)."""
    if start < 0 or end > len(data) or start > end:
        raise ProtobufError(f"message bounds {start}..{end} outside the buffer")
    pos = start
    while pos < end:
        budget.remaining -= 1
        if budget.remaining < 0:
            budget.spend(0)
        key_pos = pos
        key = data[pos]
        if key < 0x80:
            pos += 1
        else:
            key, pos = read_varint(data, pos, end)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise ProtobufError(f"field number 0 at offset {key_pos}")
        if wire == VARINT:
            value, pos = read_varint(data, pos, end)
            yield Field(number, wire, value, pos, pos, key_pos)
        elif wire == LENGTH:
            size, pos = read_varint(data, pos, end)
            if size > end - pos:
                raise ProtobufError(f"length {size} at offset {key_pos} runs past the end of its message")
            yield Field(number, wire, size, pos, pos + size, key_pos)
            pos += size
        elif wire == FIXED64:
            if pos + 8 > end:
                raise ProtobufError(f"truncated 64-bit field at offset {key_pos}")
            value = int.from_bytes(data[pos:pos + 8], "little")
            yield Field(number, wire, value, pos, pos + 8, key_pos)
            pos += 8
        elif wire == FIXED32:
            if pos + 4 > end:
                raise ProtobufError(f"truncated 32-bit field at offset {key_pos}")
            value = int.from_bytes(data[pos:pos + 4], "little")
            yield Field(number, wire, value, pos, pos + 4, key_pos)
            pos += 4
        elif wire == START_GROUP:
            pos = _skip_group(data, pos, end, number, budget)
        elif wire == END_GROUP:
            raise ProtobufError(f"end of group without a start at offset {key_pos}")
        else:
            raise ProtobufError(f"invalid wire type {wire} at offset {key_pos}")


def text(data: Any, item: Field, limit: int = 1 << 20) -> str:
    """The UTF-8 text of a LENGTH field (invalid UTF-8 is replaced; longer than ``limit`` is an error)."""
    if item.wire_type != LENGTH:
        raise ProtobufError(f"field {item.number} at offset {item.offset} is not length-delimited")
    if item.end - item.start > limit:
        raise ProtobufError(f"string field at offset {item.offset} is longer than {limit} bytes")
    return bytes(data[item.start:item.end]).decode("utf-8", "replace")
