"""Format detection by content (magic bytes and a bounded structural probe), never by file extension.

Invariant: ``sniff`` only looks at bytes: it imports nothing named in them and parses at most a small,
bounded window. An unrecognised buffer is ``Format.UNKNOWN``, which scanners report, never "clean".
"""

from __future__ import annotations

import enum
import io
import pickletools
import re
import warnings

__all__ = ["Format", "also_formats", "find_zip_end", "hdf5_offset", "looks_like_onnx", "looks_like_pickle", "sniff"]


class Format(enum.StrEnum):
    PICKLE = "pickle"
    ZIP = "zip"
    HDF5 = "hdf5"
    NUMPY = "npy"
    GZIP = "gzip"
    BZIP2 = "bzip2"
    XZ = "xz"
    LZMA = "lzma"
    ZLIB = "zlib"
    LZ4 = "lz4"
    ZSTD = "zstd"
    ONNX = "onnx"
    TAR = "tar"
    SEVEN_ZIP = "7z"
    SAVED_MODEL = "savedmodel"
    LFS_POINTER = "lfs-pointer"
    EMPTY = "empty"
    UNKNOWN = "unknown"


_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"  # a zstd frame; a skippable frame is 0x184D2A5? little-endian
_LFS = b"version https://git-lfs.github.com/spec/v1"
_PROBE_WINDOW = 64 * 1024
_PROBE_OPCODES = 16
# First opcodes a protocol 0/1 pickle can start with (everything a pickler writes first).
_PICKLE_START = set(b"(c]})NILFSVldKJMGUTXiPBCg\x88\x89\x8a\x8b\x8c\x93.")
# Opcodes that call: a stream that reaches one before it breaks has already run code.
_CALLING = frozenset({"INST", "OBJ", "REDUCE", "NEWOBJ", "NEWOBJ_EX"})
_NUL_SUFFIX = re.compile(rb"([ILFgp][-+.0-9A-Za-z]*)\x00[^\n]*\n")


def looks_like_pickle(data: bytes | memoryview) -> bool:
    """True for a pickle of any protocol, including protocol 0/1 streams with no PROTO opcode."""
    if len(data) >= 2 and data[0] == 0x80:
        return data[1] <= 5
    if not data or data[0] not in _PICKLE_START:
        return False
    window = bytes(data[:_PROBE_WINDOW])
    count = 0
    called = False
    stream = io.BytesIO(window)
    try:
        for opcode, _arg, _pos in pickletools.genops(stream):
            count += 1
            called = called or opcode.name in _CALLING
            if opcode.name == "STOP" or count >= _PROBE_OPCODES:
                return True
    except DeprecationWarning:
        # Warnings raised as errors (-W error) on a bad escape in a text opcode: probe again with it silenced.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return looks_like_pickle(data)
    except (ValueError, UnicodeDecodeError, IndexError, KeyError, OverflowError):
        # A stream cut by the probe window is fine if it parsed a fair number of opcodes first. So is one
        # that called something before it broke (the loader ran the call, then failed: B10), and a valid
        # prefix cut at the end of the data (the pure-Python unpickler reads a last line without newline).
        if called or (count and stream.tell() >= len(window) and len(data) <= _PROBE_WINDOW):
            return True
        if count < _PROBE_OPCODES // 2 and b"\0" in window:
            # The C unpickler stops INT/LONG/FLOAT/GET/PUT arguments at a NUL (strtol), pickletools does not:
            # probe again with what follows such a NUL on its line removed.
            lenient = _NUL_SUFFIX.sub(lambda m: m.group(1) + (b"0\n" if len(m.group(1)) == 1 else b"\n"), window)
            if lenient != window:
                return looks_like_pickle(lenient)
        return count >= _PROBE_OPCODES // 2 and len(data) > _PROBE_WINDOW
    return False


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


def hdf5_offset(data: bytes | memoryview) -> int:
    """Offset of the HDF5 superblock signature (0, or a power of two from 512, as the HDF5 spec allows), or -1."""
    offset = 0
    while offset + 8 <= len(data):
        if bytes(data[offset:offset + 8]) == _HDF5_MAGIC:
            return offset
        offset = 512 if offset == 0 else offset * 2
    return -1


def also_formats(data: bytes | memoryview, primary: Format) -> list[Format]:
    """Other formats the same bytes are valid as (polyglots): each must be scanned too.

    A pickle with a zip appended (pickle.load reads the front, zip readers the back, THREATS C16), and an
    HDF5 file whose user block holds another format (h5py finds the superblock at 512, 1024, ...).
    """
    extra: list[Format] = []
    if primary is not Format.ZIP and find_zip_end(data) >= 0:
        extra.append(Format.ZIP)
    if primary is not Format.HDF5 and hdf5_offset(data) >= 0:
        extra.append(Format.HDF5)
    return extra


def find_zip_end(data: bytes | memoryview) -> int:
    """Offset of the zip end-of-central-directory record within the last 64 KiB + 22 bytes, or -1."""
    tail_start = max(0, len(data) - (65535 + 22))
    tail = bytes(data[tail_start:])
    idx = tail.rfind(b"PK\x05\x06")
    return -1 if idx < 0 else tail_start + idx


def sniff(data: bytes | memoryview, name: str | None = None) -> Format:
    """Detect the format of ``data``. ``name`` is a hint used only where the format has no magic (SavedModel)."""
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
    if len(data) >= 262 and bytes(data[257:262]) == b"ustar":
        return Format.TAR
    if name is not None and name.replace("\\", "/").rsplit("/", 1)[-1] in {"saved_model.pb", "keras_metadata.pb"}:
        return Format.SAVED_MODEL
    if looks_like_onnx(data, name):
        return Format.ONNX
    if find_zip_end(data) >= 0:
        return Format.ZIP  # data before the first local header (self-extracting style); zipfile accepts it
    return Format.UNKNOWN
