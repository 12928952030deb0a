"""A bounded reader of an Arrow IPC *stream*'s message headers: what polars pickles a DataFrame/Series as.

polars 2.1.0 pickles ``DataFrame`` and ``Series`` as the bytes of ``DataFrame::serialize_into_writer`` (polars-core
``serde/df.rs``; a Series is a one-column frame): an Arrow IPC stream whose schema carries polars' own metadata.
Loading hands the bytes to the compiled reader, which builds columns from the schema. Two schema features make that
load run more than the reader: an Arrow extension type (field metadata ``ARROW:extension:name``) is looked up among
the extension types registered in the process and, when one is, polars calls its Python class's
``ext_from_params`` (verified on 2.1.0: a registered ``BaseExtension`` subclass's classmethod runs at
``pickle.load``); ``POLARS_EXTENSION_TYPE`` is the name of polars' Object columns (Python objects behind raw
pointers). This module proves a state holds neither: it reads every message header of the stream, checks every
field (recursively) against the Arrow types polars writes, every metadata key against the keys polars writes, and
every record/dictionary batch for absent compression and buffers inside their body. Anything it does not know,
anything truncated or out of bounds, refuses.

Invariant: pure reading of ``bytes`` with explicit bounds; a visit budget bounds the walk (flatbuffer offsets may
be shared, so a walk may meet a table many times); nothing is imported, decoded as code or executed.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable

__all__ = ["ALLOWED_TYPES", "IpcRefusedError", "check_stream"]

_MAX_BYTES = 1 << 31        # far above any pickled frame; a bytes state larger than this is refused
_MAX_DEPTH = 64             # nesting of List/Struct children
_MAX_VISITS = 1 << 12       # fields, metadata pairs and buffers visited: this many, plus per header byte
_VISITS_PER_BYTE = 2        # a field costs about 10 visits and takes at least 40 header bytes
_MAX_MESSAGES = 1 << 16
_CONTINUATION = 0xFFFFFFFF

#: Arrow ``Type`` union members polars 2.1.0 writes (``CompatLevel::newest()``), by their union tag (Schema.fbs):
#: Null, Int (8-128 bits), FloatingPoint, Bool, Decimal, Date, Time, Timestamp, Struct_, FixedSizeList (Array),
#: Duration, LargeBinary, LargeUtf8, LargeList, BinaryView, Utf8View. Others (Union, Map, Interval, RunEndEncoded,
#: the list views, FixedSizeBinary, the 32-bit offset types) are refused: polars never writes them.
ALLOWED_TYPES: dict[int, str] = {
    1: "Null", 2: "Int", 3: "FloatingPoint", 6: "Bool", 7: "Decimal", 8: "Date", 9: "Time", 10: "Timestamp",
    13: "Struct_", 16: "FixedSizeList", 18: "Duration", 19: "LargeBinary", 20: "LargeUtf8", 21: "LargeList",
    23: "BinaryView", 24: "Utf8View",
}
_SCHEMA, _DICTIONARY_BATCH, _RECORD_BATCH = 1, 2, 3


class IpcRefusedError(ValueError):
    """Why a byte string is not a stream this reader proves data-only."""


class _Reader:
    """Flatbuffer tables inside one message's metadata (``buf``), every read bounds-checked."""

    def __init__(self, buf: bytes | memoryview, budget: list[int]) -> None:
        self.buf = buf
        self.budget = budget

    def spend(self) -> None:
        self.budget[0] -= 1
        if self.budget[0] < 0:
            raise IpcRefusedError("the stream's headers are larger than any polars writes")

    def u(self, fmt: str, pos: int) -> int:
        size = struct.calcsize(fmt)
        if pos < 0 or pos + size > len(self.buf):
            raise IpcRefusedError("a header offset points outside its message")
        value: int = struct.unpack_from(fmt, self.buf, pos)[0]
        return value

    def root(self) -> int:
        return self._deref(0)

    def _deref(self, pos: int) -> int:
        """The position a uoffset at ``pos`` points to."""
        target = pos + self.u("<I", pos)
        if target >= len(self.buf):
            raise IpcRefusedError("a header offset points outside its message")
        return target

    def field_pos(self, table: int, index: int) -> int | None:
        """Where field ``index`` of the table at ``table`` is stored, or None when absent."""
        self.spend()
        vtable = table - self.u("<i", table)
        vt_size = self.u("<H", vtable)
        if vt_size < 4 or vt_size % 2:
            raise IpcRefusedError("a header table is malformed")
        slot = 4 + 2 * index
        if slot + 2 > vt_size:
            return None
        offset = self.u("<H", vtable + slot)
        return table + offset if offset else None

    def scalar(self, table: int, index: int, fmt: str, default: int = 0) -> int:
        pos = self.field_pos(table, index)
        return default if pos is None else self.u(fmt, pos)

    def table(self, table: int, index: int) -> int | None:
        pos = self.field_pos(table, index)
        return None if pos is None else self._deref(pos)

    def vector(self, table: int, index: int) -> tuple[int, int] | None:
        """(position of the first element, length) of a vector field."""
        start = self.table(table, index)
        if start is None:
            return None
        length = self.u("<I", start)
        if length > len(self.buf):
            raise IpcRefusedError("a header vector is longer than its message")
        return start + 4, length

    def tables(self, table: int, index: int) -> Iterable[int]:
        found = self.vector(table, index)
        if found is None:
            return
        first, length = found
        for i in range(length):
            self.spend()
            yield self._deref(first + 4 * i)

    def string(self, table: int, index: int) -> str | None:
        start = self.table(table, index)
        if start is None:
            return None
        length = self.u("<I", start)
        end = start + 4 + length
        if end > len(self.buf):
            raise IpcRefusedError("a header string runs past its message")
        try:
            return bytes(self.buf[start + 4:end]).decode("utf-8")
        except UnicodeDecodeError:
            raise IpcRefusedError("a header string is not UTF-8") from None

    def metadata_keys(self, table: int, index: int) -> list[str]:
        keys: list[str] = []
        for pair in self.tables(table, index):
            key = self.string(pair, 0)
            if key is None:
                raise IpcRefusedError("a metadata entry has no key")
            self.string(pair, 1)  # bounds-checked; the value is polars' data
            keys.append(key)
        return keys


def _short(text: str) -> str:
    return repr(text if len(text) <= 60 else text[:57] + "...")


def _check_field(r: _Reader, field: int, depth: int, field_keys: frozenset[str]) -> None:
    if depth > _MAX_DEPTH:
        raise IpcRefusedError("fields are nested deeper than polars writes")
    r.string(field, 0)  # name
    for key in r.metadata_keys(field, 6):
        if key not in field_keys:
            raise IpcRefusedError(f"a field carries the metadata key {_short(key)}"
                             + (" (an Arrow extension type: polars calls the Python class registered under its "
                                "name, or builds an Object column)" if key.startswith("ARROW:extension") else
                                ", which polars does not write"))
    type_tag = r.scalar(field, 2, "<B")
    if type_tag not in ALLOWED_TYPES:
        raise IpcRefusedError(f"a field has the Arrow type tag {type_tag}, which polars does not write")
    if r.table(field, 3) is None:
        raise IpcRefusedError("a field has no type table")
    dictionary = r.table(field, 4)
    if dictionary is not None and r.table(dictionary, 1) is None:
        raise IpcRefusedError("a dictionary-encoded field has no index type")
    children = list(r.tables(field, 5))
    nested = ALLOWED_TYPES[type_tag] in {"Struct_", "FixedSizeList", "LargeList"}
    if not nested and children:
        raise IpcRefusedError(f"a {ALLOWED_TYPES[type_tag]} field has children")
    if ALLOWED_TYPES[type_tag] in {"FixedSizeList", "LargeList"} and len(children) != 1:
        raise IpcRefusedError("a list field does not have exactly one child")
    for child in children:
        _check_field(r, child, depth + 1, field_keys)


def _check_batch(r: _Reader, batch: int, body_length: int) -> None:
    if r.field_pos(batch, 3) is not None:
        raise IpcRefusedError("a record batch is compressed (polars writes none)")
    if r.scalar(batch, 0, "<q") < 0:
        raise IpcRefusedError("a record batch has a negative length")
    found = r.vector(batch, 2)
    if found is None:
        return
    first, count = found
    for i in range(count):  # struct Buffer { offset: long; length: long }
        r.spend()
        offset, length = r.u("<q", first + 16 * i), r.u("<q", first + 16 * i + 8)
        if offset < 0 or length < 0 or offset + length > body_length:
            raise IpcRefusedError("a record batch buffer lies outside its body")
    nodes = r.vector(batch, 1)
    if nodes is not None and nodes[0] + 16 * nodes[1] > len(r.buf):
        raise IpcRefusedError("a record batch's field nodes run past its message")


def check_stream(data: bytes | memoryview, schema_keys: frozenset[str], field_keys: frozenset[str]) -> None:
    """Raise :class:`IpcRefusedError` unless ``data`` is an Arrow IPC stream whose schema uses only the types of
    :data:`ALLOWED_TYPES`, only ``schema_keys`` as schema metadata and ``field_keys`` as field metadata, followed
    only by uncompressed record and dictionary batches whose buffers lie in their bodies, ending at the data's end
    (after an optional end-of-stream marker)."""
    if type(data) not in (bytes, memoryview):
        raise IpcRefusedError("the state is not a bytes object")
    if type(data) is memoryview and (data.ndim != 1 or data.itemsize != 1):
        raise IpcRefusedError("the state is not a flat byte buffer")
    if len(data) > _MAX_BYTES:
        raise IpcRefusedError("the state is larger than this reader reads")
    budget = [_MAX_VISITS]
    pos = 0
    messages = 0
    while True:
        if pos == len(data) and messages:
            return
        if pos + 8 > len(data):
            raise IpcRefusedError("the stream is truncated" if messages else "the state is not an Arrow IPC stream")
        marker, size = struct.unpack_from("<Ii", data, pos)
        if marker != _CONTINUATION:
            raise IpcRefusedError("the state is not an Arrow IPC stream (no continuation marker)"
                             if not messages else "a message does not start with a continuation marker")
        pos += 8
        if size == 0:
            if pos != len(data) or not messages:
                raise IpcRefusedError("bytes follow the end-of-stream marker" if messages
                                      else "the stream has no schema")
            return
        if size < 0 or pos + size > len(data):
            raise IpcRefusedError("a message header runs past the end of the state")
        messages += 1
        if messages > _MAX_MESSAGES:
            raise IpcRefusedError("the stream has more messages than this reader reads")
        budget[0] += _VISITS_PER_BYTE * size  # linear in the header bytes read: shared offsets cannot multiply it
        r = _Reader(data[pos:pos + size], budget)
        pos += size
        message = r.root()
        if r.field_pos(message, 4) is not None:
            raise IpcRefusedError("a message carries custom metadata (polars writes none)")
        kind = r.scalar(message, 1, "<B")
        header = r.table(message, 2)
        body_length = r.scalar(message, 3, "<q")
        if header is None or body_length < 0 or pos + body_length > len(data):
            raise IpcRefusedError("a message has no header or its body runs past the end of the state")
        if messages == 1:
            if kind != _SCHEMA:
                raise IpcRefusedError("the stream does not start with a schema")
            if body_length:  # a reader that does not skip it would read the next message from inside it
                raise IpcRefusedError("the schema message has a body (polars writes none)")
            for key in r.metadata_keys(header, 2):
                if key not in schema_keys:
                    raise IpcRefusedError(f"the schema carries the metadata key {_short(key)}, which polars does not "
                                     "write")
            fields = list(r.tables(header, 1))
            for field in fields:
                _check_field(r, field, 0, field_keys)
        elif kind == _RECORD_BATCH:
            _check_batch(r, header, body_length)
        elif kind == _DICTIONARY_BATCH:
            data_batch = r.table(header, 1)
            if data_batch is None:
                raise IpcRefusedError("a dictionary batch has no data")
            _check_batch(r, data_batch, body_length)
        else:
            raise IpcRefusedError(f"a message of kind {kind} follows the schema (polars writes record and dictionary "
                             "batches only)")
        pos += body_length
