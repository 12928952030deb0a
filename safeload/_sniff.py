"""Format detection by content (magic bytes and a bounded structural probe), never by file extension.

Invariant: ``sniff`` only looks at bytes: it imports nothing named in them and parses at most a small,
bounded window. An unrecognised buffer is ``Format.UNKNOWN``, which scanners report, never "clean".
"""

from __future__ import annotations

import _compat_pickle
import codecs
import functools
import os
import re
import struct
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import ClassVar

__all__ = ["FIRST_OPCODES", "SAFETENSORS_MAX_HEADER", "Format", "breaks_before_import", "find_zip_end",
           "hdf5_offset", "looks_like_onnx", "looks_like_pickle", "looks_like_safetensors", "looks_like_text", "sniff",
           "tar_header_ok"]


class Format(str):
    """A detected format; its value is its name (``Format.PICKLE == "pickle"``, ``Format.PICKLE.value``).

    A ``str`` with named constants rather than an ``enum.StrEnum``: building the enum class cost about 0.23 ms of
    every process's first load (issue 15: fixed costs). Only the constants below are ever produced here.
    """

    __slots__ = ()

    PICKLE: ClassVar[Format]
    ZIP: ClassVar[Format]
    HDF5: ClassVar[Format]
    NUMPY: ClassVar[Format]
    GZIP: ClassVar[Format]
    BZIP2: ClassVar[Format]
    XZ: ClassVar[Format]
    LZMA: ClassVar[Format]
    ZLIB: ClassVar[Format]
    LZ4: ClassVar[Format]
    ZSTD: ClassVar[Format]
    ONNX: ClassVar[Format]
    TAR: ClassVar[Format]
    SEVEN_ZIP: ClassVar[Format]
    SAVED_MODEL: ClassVar[Format]
    LFS_POINTER: ClassVar[Format]
    SAFETENSORS: ClassVar[Format]
    TEXT: ClassVar[Format]
    EMPTY: ClassVar[Format]
    UNKNOWN: ClassVar[Format]

    @property
    def value(self) -> str:
        return str(self)


for _name, _value in (
    ("PICKLE", "pickle"),
    ("ZIP", "zip"),
    ("HDF5", "hdf5"),
    ("NUMPY", "npy"),
    ("GZIP", "gzip"),
    ("BZIP2", "bzip2"),
    ("XZ", "xz"),
    ("LZMA", "lzma"),
    ("ZLIB", "zlib"),
    ("LZ4", "lz4"),
    ("ZSTD", "zstd"),
    ("ONNX", "onnx"),
    ("TAR", "tar"),
    ("SEVEN_ZIP", "7z"),
    ("SAVED_MODEL", "savedmodel"),
    ("LFS_POINTER", "lfs-pointer"),
    ("SAFETENSORS", "safetensors"),
    ("TEXT", "text"),
    ("EMPTY", "empty"),
    ("UNKNOWN", "unknown"),
):
    setattr(Format, _name, Format(_value))


_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"  # a zstd frame; a skippable frame is 0x184D2A5? little-endian
_LFS = b"version https://git-lfs.github.com/spec/v1"
_PROBE_WINDOW = 64 * 1024
_PROBE_OPCODES = 16

# The pickle opcode table, by code byte. A stream starts with an empty stack and an empty memo, so its first
# opcode is one that consumes nothing from the stack and does not touch the memo (pickletools lists GET/PUT
# with an empty stack effect: GET reads the empty memo, PUT stores the missing stack top; the C unpickler fails
# on both). PERSID, EXT and NEXT_BUFFER stay in, although they need a persistent_load, a registered extension or
# out-of-band buffers: the set errs on the generous side.
# The rows are pickletools' opcode table, copied (importing pickletools unmarshals 86 kB of documentation: issue
# 15, fixed costs); tests/test_fixed_costs.py compares them with ``pickletools.opcodes`` of the running Python.
# Each row: code byte, name, argument size (pickletools' ``ArgumentDescriptor.n``: >= 0 a fixed size, else one of
# the markers below), argument name, whether the opcode takes something from the stack (``stack_before``).
_UP_TO_NEWLINE, _TAKEN_FROM_ARGUMENT1, _TAKEN_FROM_ARGUMENT4, _TAKEN_FROM_ARGUMENT4U, _TAKEN_FROM_ARGUMENT8U = (
    -1, -2, -3, -4, -5)
OPCODE_TABLE: tuple[tuple[int, str, int | None, str | None, bool], ...] = (
    (73, "INT", -1, "decimalnl_short", False), (74, "BININT", 4, "int4", False), (75, "BININT1", 1, "uint1", False),
    (77, "BININT2", 2, "uint2", False), (76, "LONG", -1, "decimalnl_long", False),
    (138, "LONG1", -2, "long1", False), (139, "LONG4", -3, "long4", False), (83, "STRING", -1, "stringnl", False),
    (84, "BINSTRING", -3, "string4", False), (85, "SHORT_BINSTRING", -2, "string1", False),
    (66, "BINBYTES", -4, "bytes4", False), (67, "SHORT_BINBYTES", -2, "bytes1", False),
    (142, "BINBYTES8", -5, "bytes8", False), (150, "BYTEARRAY8", -5, "bytearray8", False),
    (151, "NEXT_BUFFER", None, None, False), (152, "READONLY_BUFFER", None, None, True),
    (78, "NONE", None, None, False), (136, "NEWTRUE", None, None, False), (137, "NEWFALSE", None, None, False),
    (86, "UNICODE", -1, "unicodestringnl", False), (140, "SHORT_BINUNICODE", -2, "unicodestring1", False),
    (88, "BINUNICODE", -4, "unicodestring4", False), (141, "BINUNICODE8", -5, "unicodestring8", False),
    (70, "FLOAT", -1, "floatnl", False), (71, "BINFLOAT", 8, "float8", False), (93, "EMPTY_LIST", None, None, False),
    (97, "APPEND", None, None, True), (101, "APPENDS", None, None, True), (108, "LIST", None, None, True),
    (41, "EMPTY_TUPLE", None, None, False), (116, "TUPLE", None, None, True), (133, "TUPLE1", None, None, True),
    (134, "TUPLE2", None, None, True), (135, "TUPLE3", None, None, True), (125, "EMPTY_DICT", None, None, False),
    (100, "DICT", None, None, True), (115, "SETITEM", None, None, True), (117, "SETITEMS", None, None, True),
    (143, "EMPTY_SET", None, None, False), (144, "ADDITEMS", None, None, True), (145, "FROZENSET", None, None, True),
    (48, "POP", None, None, True), (50, "DUP", None, None, True), (40, "MARK", None, None, False),
    (49, "POP_MARK", None, None, True), (103, "GET", -1, "decimalnl_short", False),
    (104, "BINGET", 1, "uint1", False), (106, "LONG_BINGET", 4, "uint4", False),
    (112, "PUT", -1, "decimalnl_short", False), (113, "BINPUT", 1, "uint1", False),
    (114, "LONG_BINPUT", 4, "uint4", False), (148, "MEMOIZE", None, None, True), (130, "EXT1", 1, "uint1", False),
    (131, "EXT2", 2, "uint2", False), (132, "EXT4", 4, "int4", False),
    (99, "GLOBAL", -1, "stringnl_noescape_pair", False), (147, "STACK_GLOBAL", None, None, True),
    (82, "REDUCE", None, None, True), (98, "BUILD", None, None, True),
    (105, "INST", -1, "stringnl_noescape_pair", True), (111, "OBJ", None, None, True),
    (129, "NEWOBJ", None, None, True), (146, "NEWOBJ_EX", None, None, True), (128, "PROTO", 1, "uint1", False),
    (46, "STOP", None, None, True), (149, "FRAME", 8, "uint8", False),
    (80, "PERSID", -1, "stringnl_noescape", False), (81, "BINPERSID", None, None, True),
)


class _Op:
    __slots__ = ("arg_n", "arg_name", "name", "stack_before")

    def __init__(self, name: str, arg_n: int | None, arg_name: str | None, stack_before: bool) -> None:
        self.name, self.arg_n, self.arg_name, self.stack_before = name, arg_n, arg_name, stack_before


_OPCODES: dict[int, _Op] = {code: _Op(name, n, arg, pops) for code, name, n, arg, pops in OPCODE_TABLE}
_MEMO_OPS = frozenset(op.name for op in _OPCODES.values() if op.name.endswith(("GET", "PUT")) or
                      op.name == "MEMOIZE")
FIRST_OPCODES = frozenset(code for code, op in _OPCODES.items() if not op.stack_before and op.name not in _MEMO_OPS)
# Opcodes through which an unpickler calls something, or imports a name it takes from the stack or a registry:
# a stream that reached one before it broke has already run code under the real loader. GLOBAL (a name written
# in the stream) counts when its module exists here (see ``_importable``): importing a name that does not exist
# fails, and so does the stream, with nothing run.
_EFFECT_NAMES = frozenset({"STACK_GLOBAL", "INST", "OBJ", "REDUCE", "NEWOBJ", "NEWOBJ_EX", "BUILD",
                           "EXT1", "EXT2", "EXT4", "PERSID", "BINPERSID"})
_EFFECTS = frozenset(code for code, op in _OPCODES.items() if op.name in _EFFECT_NAMES)
_GLOBAL = ord("c")
# Opcodes that reach outside the stream (import a name, or hand a value to the loader's persistent_load): until
# one runs, nothing an unpickler does can have an effect outside the objects it builds. Here GLOBAL counts
# whatever module it names (the decision this serves must hold in any environment the file is loaded in).
_IMPORTS = frozenset(code for code, op in _OPCODES.items()
                     if op.name in {"GLOBAL", "STACK_GLOBAL", "INST", "EXT1", "EXT2", "EXT4", "PERSID", "BINPERSID"})
_WHITESPACE = frozenset(b" \t\n\v\f\r")
_HEX = frozenset(b"0123456789abcdefABCDEF")
_OCT = frozenset(b"01234567")
_DEC = frozenset(b"0123456789")
_MAX_PROTOCOL = 5
SAFETENSORS_MAX_HEADER = 100_000_000  # the safetensors crate's MAX_HEADER_SIZE
_JSON_WS = b" \t\n\r"


@functools.cache
def _control() -> re.Pattern[bytes]:
    """C0 controls (and DEL) that text never holds; tab, newline, form feed and carriage return are text.
    Compiled on first use (issue 15: fixed costs)."""
    return re.compile(rb"[\x00-\x08\x0b\x0e-\x1f\x7f]")


class _Stop(Exception):  # noqa: N818 - control flow of the probe
    """The probe cannot go on: ``end`` says whether the data ran out (a truncated stream) or was invalid."""

    def __init__(self, end: bool) -> None:
        super().__init__()
        self.end = end


class _Unseen(Exception):  # noqa: N818 - control flow of the probe
    """An argument runs past the probe window but fits in the data: valid as far as the probe can tell."""


def _strtol_stop(text: bytes) -> int:
    """Where C's ``strtol(text, &end, 0)`` stops: 0 when nothing converts (``end`` is then the start)."""
    i, n = 0, len(text)
    while i < n and text[i] in _WHITESPACE:
        i += 1
    if i < n and text[i] in b"+-":
        i += 1
    if i + 2 < n and text[i] == 0x30 and text[i + 1] in b"xX" and text[i + 2] in _HEX:
        i += 2
        digits = _HEX
    elif i < n and text[i] == 0x30:
        digits = _OCT
    else:
        digits = _DEC
    j = i
    while j < n and text[j] in digits:
        j += 1
    return j if j > i else 0


def _python_int(text: bytes, base: int) -> bool:
    """``PyLong_FromString(text, NULL, base)`` succeeds (Python's int() follows the same grammar)."""
    try:
        int(text.decode("latin-1"), base)
    except ValueError:
        return False
    return True


def _line_ok(name: str, line: bytes) -> bool:
    """Would the C or the pure-Python unpickler accept this newline-terminated argument (without its newline)?

    The C unpickler copies the line into a NUL-terminated buffer and parses it as a C string, so text after an
    embedded NUL is ignored; numbers are read with base 0 (``strtol``, then ``PyLong_FromString``; the pure-Python
    unpickler uses ``int(text, 0)``), so hex and octal forms such as ``0x1`` load although pickletools rejects
    them. Checks only ever err on accepting.
    """
    text = line.split(b"\0", 1)[0]
    if name in ("INT", "GET", "PUT"):
        if not line:
            return False
        # strtol stops at the NUL or the newline (an empty number converts to 0: ``end`` is then the start).
        if name == "INT" and _strtol_stop(text) == len(text):
            return True
        return _python_int(text, 0 if name == "INT" else 10)
    if name == "LONG":
        if not line:
            return False
        if line.endswith(b"L"):
            text = line[:-1].split(b"\0", 1)[0]
        return _python_int(text, 0)
    if name == "FLOAT":
        try:
            float(text.decode("latin-1"))
        except ValueError:
            return False
        return True
    if name == "STRING":
        return len(line) >= 2 and line[0] == line[-1] and line[:1] in (b"'", b'"')
    if name == "PERSID":
        return line.isascii()
    return True


def _probe(data: bytes | memoryview, window: bytes, limit: int = _PROBE_OPCODES,
           effects: frozenset[int] = _EFFECTS) -> tuple[int, bool, bool, bool]:
    """Walk opcode framing as CPython's C unpickler reads it, without building values, for ``limit`` opcodes.

    Returns ``(opcodes, reached_stop, reached_one_of_effects, ran_out_of_data)``. Raises :class:`_Unseen` when
    an argument runs past the window while the data still holds it. Arguments are only ever checked more
    leniently than the C unpickler checks them, so where this walk stops, the C unpickler has stopped too.
    """
    n = len(data)
    w = len(window)
    pos = 0
    count = 0
    effect = False

    def take(size: int) -> bytes:
        if pos + size > w:
            if pos + size <= n:
                raise _Unseen
            raise _Stop(end=True)
        return window[pos:pos + size]

    def line_at(at: int) -> tuple[bytes, int]:
        end = window.find(b"\n", at)
        if end < 0:
            if n > w:
                raise _Unseen
            # The C unpickler fails here; the pure-Python one (joblib's) takes the rest of the data as the line
            # and drops its last byte as if it were the newline, runs the opcode, then meets the end.
            return window[at:max(at, n - 1)], n
        return window[at:end], end + 1

    try:
        while count < limit:
            if pos >= w:
                if pos < n:
                    raise _Unseen
                raise _Stop(end=True)
            code = window[pos]
            op = _OPCODES.get(code)
            if op is None or (count == 0 and code not in FIRST_OPCODES):
                raise _Stop(end=False)
            pos += 1
            size = op.arg_n
            if size is not None:
                if size >= 0:
                    raw = take(size)
                    pos += size
                    if op.name == "PROTO" and raw[0] > _MAX_PROTOCOL:
                        raise _Stop(end=False)
                    if op.name == "FRAME" and int.from_bytes(raw, "little") > n - pos:
                        raise _Stop(end=False)
                elif size == _UP_TO_NEWLINE:
                    line, pos = line_at(pos)
                    if op.arg_name == "stringnl_noescape_pair":
                        second, pos = line_at(pos)
                        if not _utf8(line) or not _utf8(second):  # empty names: the pure-Python one takes them
                            raise _Stop(end=False)
                        if code == _GLOBAL and effects is _EFFECTS and _importable(line):
                            effect = True
                    elif not _line_ok(op.name, line):
                        raise _Stop(end=False)
                else:
                    width = {_TAKEN_FROM_ARGUMENT1: 1, _TAKEN_FROM_ARGUMENT4: 4,
                             _TAKEN_FROM_ARGUMENT4U: 4, _TAKEN_FROM_ARGUMENT8U: 8}[size]
                    length = int.from_bytes(take(width), "little",
                                            signed=size == _TAKEN_FROM_ARGUMENT4)
                    pos += width
                    if length < 0:
                        raise _Stop(end=False)
                    take(length)
                    pos += length
            count += 1
            effect = effect or code in effects
            if op.name == "STOP":
                return count, True, effect, False
    except _Stop as stop:
        return count, False, effect, stop.end
    return count, False, effect, False


@functools.cache
def _top_level_modules() -> frozenset[str]:
    """Top-level modules that exist in this environment: the standard library, Python 2 names the unpickler maps
    to Python 3 ones, and every module file or directory on ``sys.path`` (one directory listing each; nothing is
    imported, no finder is asked). A superset is the safe side: more streams then count as pickles."""
    names = set(sys.stdlib_module_names) | set(sys.builtin_module_names) | set(_compat_pickle.IMPORT_MAPPING)
    names.update(module for module, _name in _compat_pickle.NAME_MAPPING)
    import importlib.machinery  # here, not at import: it imports ``importlib`` and ``warnings`` (issue 15)

    suffixes = tuple(importlib.machinery.all_suffixes())
    for entry in sys.path:
        try:
            listing = os.listdir(entry or ".")
        except OSError:
            continue
        for filename in listing:
            if filename.endswith(suffixes) or "." not in filename:
                names.add(filename.split(".", 1)[0])
    return frozenset(names)


def _importable(module: bytes) -> bool:
    """The module a GLOBAL names exists here (so the C unpickler's import of it would run its top level)."""
    try:
        top = module.decode("utf-8").split(".", 1)[0]
    except UnicodeDecodeError:
        return False
    return top in sys.modules or top in _top_level_modules()


def _utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def looks_like_pickle(data: bytes | memoryview) -> bool:
    """True for a pickle of any protocol, as CPython's C unpickler reads it (PROTO not required).

    Never says "not a pickle" for a stream the C unpickler would load, or in which it would import or call
    something before failing: the first opcode may be any opcode that needs nothing on the stack (FRAME,
    EMPTY_SET, BINUNICODE8, INT with a hex argument, ...), and arguments are checked the way the C unpickler
    parses them. A stream that only pushes a few constants and then breaks is not a pickle: no loader can run
    anything from it.
    """
    if len(data) >= 2 and data[0] == 0x80:
        return data[1] <= _MAX_PROTOCOL
    if not data or data[0] not in FIRST_OPCODES:
        return False
    window = bytes(data[:_PROBE_WINDOW])
    try:
        count, stopped, effect, ran_out = _probe(data, window)
    except _Unseen:
        return True
    if stopped or count >= _PROBE_OPCODES or effect:
        return True
    # A valid prefix cut at the end of the data: a truncated pickle (the loader ran it up to the cut).
    return ran_out and count > 1


def breaks_before_import(data: bytes | memoryview) -> bool:
    """True only when CPython's C unpickler certainly fails on ``data`` before it imports a name or calls the
    loader's ``persistent_load``: then no loader can run anything from it, whatever a stricter parser made of it.

    False whenever that cannot be shown within the probe window (a complete stream included).
    """
    if not data:
        return True
    window = bytes(data[:_PROBE_WINDOW])
    try:
        count, stopped, imported, _ran_out = _probe(data, window, limit=len(window) + 1, effects=_IMPORTS)
    except _Unseen:
        return False
    return not stopped and not imported and count <= len(window)


def tar_header_ok(data: bytes | memoryview) -> bool:
    """The first 512 bytes are a tar header ``tarfile`` accepts: not all NUL, with a matching checksum.

    ``tarfile`` (which ``torch.load`` tries first on files that are not zips) needs no ``ustar`` magic: an old
    V7 header with a valid checksum is enough, and the first member's name may be any bytes at all.
    """
    if len(data) < 512:
        return False
    block = bytes(data[:512])
    if block.count(0) == 512:
        return False
    field = block[148:156]
    if field[0] in (0o200, 0o377):
        value = int.from_bytes(field[1:], "big")
        if field[0] == 0o377:
            value -= 256 ** 7
    else:
        try:
            value = int(field.split(b"\0", 1)[0].decode("ascii").strip() or "0", 8)
        except ValueError:
            return False
    unsigned = 256 + sum(block[:148]) + sum(block[156:])
    signed = 256 + sum(struct.unpack_from("148b8x356b", block))
    return value in (unsigned, signed)


_ONNX_MODEL_FIELDS = frozenset({1, 2, 3, 4, 5, 6, 7, 8, 14, 20, 25, 26})  # ModelProto field numbers


def looks_like_onnx(data: bytes | memoryview, name: str | None = None) -> bool:
    """An ONNX ModelProto (no magic bytes): its top-level protobuf fields parse, are all ModelProto fields, and
    include a graph (7) and an ir_version (1) or opset_import (8); a ``.onnx`` name relaxes the field order."""
    from safeload._protobuf import LENGTH, VARINT, Budget, ProtobufError, iter_fields

    if len(data) < 4 or (data[0] != 0x08 and not (name or "").lower().endswith(".onnx")):
        return False  # writers put ir_version (field 1, varint: 0x08) first
    seen: set[int] = set()
    try:
        for count, item in enumerate(iter_fields(data, 0, len(data), Budget(10_000))):
            if item.number not in _ONNX_MODEL_FIELDS or count > 4096:
                return False
            if (item.number == 7 and item.wire_type != LENGTH) or (item.number == 1 and item.wire_type != VARINT):
                return False
            seen.add(item.number)
    except ProtobufError:
        return False
    return 7 in seen and bool(seen & {1, 8})


def looks_like_safetensors(data: bytes | memoryview) -> bool:
    """A safetensors file as the crate reads it: an 8-byte little-endian header length, then a JSON object.

    Routes files, never validates them (``scanners.safetensors`` does). A length over the crate's limit still
    routes here when the eight length bytes are not text, so a hostile length gets a safetensors finding; a text
    file whose ninth byte is ``{`` (``{"abc": {...``) has an absurd "length" made of text and is not routed here.
    """
    if len(data) < 9:
        return False
    prefix = bytes(data[:8])
    head = bytes(data[8:8 + 72]).removeprefix(b"\xef\xbb\xbf").lstrip(_JSON_WS)  # a BOM: routed, then refused
    if not head.startswith(b"{") or head[1:].lstrip(_JSON_WS)[:1] not in (b'"', b"}", b""):
        return False
    return int.from_bytes(prefix, "little") <= SAFETENSORS_MAX_HEADER or not _texty(prefix)


def _texty(raw: bytes) -> bool:
    return _control().search(raw) is None


def looks_like_text(data: bytes | memoryview) -> bool:
    """The first 64 KiB are UTF-8 text (a BOM allowed) with no control characters but tab, newline, form feed and
    carriage return. Only a routing decision: the text scanner checks the whole file."""
    window = bytes(data[:_PROBE_WINDOW])
    if not window or _control().search(window) is not None:
        return False
    try:
        codecs.getincrementaldecoder("utf-8")().decode(window, final=len(window) == len(data))
    except UnicodeDecodeError:
        return False
    return True


def hdf5_offset(data: bytes | memoryview) -> int:
    """Offset of the HDF5 superblock signature (0, or a power of two from 512, as the HDF5 spec allows), or -1."""
    offset = 0
    while offset + 8 <= len(data):
        if bytes(data[offset:offset + 8]) == _HDF5_MAGIC:
            return offset
        offset = 512 if offset == 0 else offset * 2
    return -1


def find_zip_end(data: bytes | memoryview) -> int:
    """Offset of the zip end-of-central-directory record within the last 64 KiB + 22 bytes, or -1."""
    tail_start = max(0, len(data) - (65535 + 22))
    tail = bytes(data[tail_start:])
    idx = tail.rfind(b"PK\x05\x06")
    return -1 if idx < 0 else tail_start + idx


def sniff(data: bytes | memoryview, name: str | None = None, *, safetensors: bool = True) -> Format:
    """Detect the format of ``data``. ``name`` is a hint used only where the format has no magic (SavedModel).

    ``safetensors=False`` answers what the bytes are *besides* a safetensors file (``containers.routing``)."""
    if len(data) == 0:
        return Format.EMPTY
    head = bytes(data[:512])
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08", b"PK00PK\x03\x04")):
        return Format.ZIP
    if head.startswith(b"\x93NUMPY"):
        return Format.NUMPY
    if head.startswith(_LFS):
        return Format.LFS_POINTER
    if head.startswith(_ZSTD_MAGIC):  # "(" then 0xB5, which no pickle opcode is: never a pickle
        return Format.ZSTD
    # Before pickle: a header length of 128 reads as PROTO 0x80 0x00. Whether the same bytes also run as a pickle
    # is a second reading (``containers.routing``), scanned too.
    if safetensors and looks_like_safetensors(data):
        return Format.SAFETENSORS
    if looks_like_pickle(data):
        return Format.PICKLE
    if hdf5_offset(data) >= 0:
        return Format.HDF5
    if head.startswith(b"\x1f\x8b"):
        return Format.GZIP
    if head.startswith(b"BZh") and len(head) > 3 and head[3:4].isdigit():
        return Format.BZIP2
    if head.startswith(b"\xfd7zXZ\x00"):
        return Format.XZ
    if head.startswith(b"\x04\x22\x4d\x18"):
        return Format.LZ4
    if len(head) >= 8 and head[0] & 0xF0 == 0x50 and head[1:4] == b"\x2a\x4d\x18":
        return Format.ZSTD  # starts with a zstd skippable frame (checked after pickle: "P*M" could be PERSID)
    if head.startswith(b"7z\xbc\xaf\x27\x1c"):
        return Format.SEVEN_ZIP
    if len(head) >= 2 and head[0] == 0x78 and (head[0] * 256 + head[1]) % 31 == 0:
        return Format.ZLIB
    if head.startswith(b"ZF"):  # joblib < 0.10 zlib container
        return Format.ZLIB
    if len(head) >= 13 and head[0] == 0x5D and head[1:3] == b"\x00\x00":
        return Format.LZMA
    if tar_header_ok(data):
        return Format.TAR
    if name is not None and name.replace("\\", "/").rsplit("/", 1)[-1] in {"saved_model.pb", "keras_metadata.pb"}:
        return Format.SAVED_MODEL
    if looks_like_onnx(data, name):
        return Format.ONNX
    if find_zip_end(data) >= 0:
        return Format.ZIP  # data before the first local header (self-extracting style); zipfile accepts it
    if looks_like_text(data):  # last: protocol-0 pickles, pbtxt SavedModels and tar headers are text too
        return Format.TEXT
    return Format.UNKNOWN
