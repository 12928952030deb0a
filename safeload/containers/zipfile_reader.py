"""How CPython's ``zipfile`` (``numpy.load`` on ``.npz``, Keras on ``.keras``) finds an archive's members.

From ``_EndRecData``, ``_EndRecData64`` and ``ZipFile._RealGetContents`` (CPython 3.11):

- the end record is the last 22 bytes when they are one with an empty comment; otherwise the *last*
  ``PK\\x05\\x06`` in the final 64 KiB + 22 bytes, and the archive is refused if fewer than 22 bytes follow it;
- if the 20 bytes before it are a zip64 locator, the zip64 end record is read at ``end - 76`` (*not* where the
  locator points: CPython assumes no extensible data) and used when its signature matches;
- the central directory is read at ``end - cd size`` (``- 76`` with zip64): ``concat = end - size - offset``
  shifts every member offset, so data in front of the archive is tolerated; records are parsed while fewer than
  ``cd size`` bytes were consumed, whatever the entry count says;
- a name is UTF-8 when flag 0x800 is set, cp437 otherwise, and cut at its first NUL (``ZipInfo``); Python 3.12+
  also takes the Info-ZIP Unicode Path extra field (0x7075) as the name when its CRC matches. Lookups by name
  are exact and the *last* record of a name wins.

Invariant: every read is bounds-checked against the buffer and the record loop is bounded by ``limit``.
"""

from __future__ import annotations

import zlib
from typing import Any

from safeload._source import unpack_at
from safeload.containers._zipfmt import (
    CENTRAL,
    CENTRAL_FMT,
    EOCD,
    EOCD64,
    EOCD64_LOCATOR,
    CentralEntry,
    Directory,
    DirectoryError,
    u16,
    u32,
    u64,
)

__all__ = ["find_end", "lookup", "read_directory"]

_MAX_EXTRACT_VERSION = 63
_U32 = 0xFFFFFFFF


def find_end(data: Any) -> int:
    """Offset of the end record ``zipfile`` uses, or -1 (``_EndRecData``)."""
    size = len(data)
    if size < 22:
        return -1
    last = bytes(data[size - 22:])
    if last[:4] == EOCD and last[-2:] == b"\0\0":
        return size - 22
    start = max(size - (1 << 16) - 22, 0)
    idx = bytes(data[start:]).rfind(EOCD)
    if idx < 0 or size - (start + idx) < 22:
        return -1
    return start + idx


def _names(raw: bytes, flags: int, extra: bytes) -> tuple[str, ...]:
    """The names ``zipfile`` finds this record under (decode, cut at NUL; 3.12+ Unicode Path extra field)."""
    text = raw.decode("utf-8") if flags & 0x800 else raw.decode("cp437")
    names = [text.split("\0", 1)[0]]
    pos = 0
    while len(extra) - pos >= 4:
        field_id, length = u16(extra, pos), u16(extra, pos + 2)
        body = extra[pos + 4:pos + 4 + length]
        if field_id == 0x7075 and len(body) >= 5 and body[0] == 1 and u32(body, 1) == zlib.crc32(raw):
            try:
                alias = body[5:].decode("utf-8").split("\0", 1)[0]
            except UnicodeDecodeError:
                alias = ""
            if alias and alias not in names:
                names.append(alias)
        pos += 4 + length
    return tuple(names)


def _zip64_extra(extra: bytes, usize: int, csize: int, header: int) -> tuple[int, int, int]:
    """``ZipInfo._decodeExtra``: 0xFFFFFFFF fields from the 0x0001 extra field."""
    pos = 0
    while len(extra) - pos >= 4:
        field_id, length = u16(extra, pos), u16(extra, pos + 2)
        if length + 4 > len(extra) - pos:
            raise DirectoryError(f"corrupt extra field {field_id:04x}")
        if field_id == 1:
            body = extra[pos + 4:pos + 4 + length]
            at = 0
            values = [usize, csize, header]
            for i, value in enumerate(values):
                if value == _U32 or (i == 0 and value == 0xFFFF_FFFF_FFFF_FFFF):
                    if len(body) - at < 8:
                        raise DirectoryError("corrupt zip64 extra field")
                    values[i] = u64(body, at)
                    at += 8
            usize, csize, header = values
        pos += 4 + length
    return usize, csize, header


def read_directory(data: Any, limit: int) -> Directory:
    """The central directory ``zipfile.ZipFile`` reads; raises :class:`DirectoryError` where it raises."""
    eocd = find_end(data)
    if eocd < 0:
        raise DirectoryError("no end of central directory record")
    rec = bytes(data[eocd:eocd + 22])
    cd_size, cd_offset = u32(rec, 12), u32(rec, 16)
    record = -1
    if eocd >= 20 and bytes(data[eocd - 20:eocd - 16]) == EOCD64_LOCATOR:
        locator = bytes(data[eocd - 20:eocd])
        if u32(locator, 4) != 0 or u32(locator, 16) > 1:
            raise DirectoryError("multi-disk archive")
        at = eocd - 76
        if at < 0:
            raise DirectoryError("zip64 end record before the start of the file")
        z64 = bytes(data[at:at + 56])
        if z64[:4] == EOCD64:
            record = at
            cd_size, cd_offset = u64(z64, 40), u64(z64, 48)
    concat = eocd - cd_size - cd_offset - (76 if record >= 0 else 0)
    start = cd_offset + concat
    if start < 0:
        raise DirectoryError("bad offset for the central directory")
    end = min(start + cd_size, len(data))  # zipfile reads at most cd_size bytes, and only what the file holds
    entries: list[CentralEntry] = []
    pos = start
    truncated = False
    while pos - start < cd_size:
        if len(entries) >= limit:
            truncated = True
            break
        if pos + 46 > end:
            raise DirectoryError("truncated central directory")
        (sig, _made, needed, flags, method, _time, _date, crc, csize, usize, name_len, extra_len, comment_len,
         _disk, _internal, _external, header) = unpack_at(CENTRAL_FMT, data, pos)
        if sig != CENTRAL:
            raise DirectoryError("bad magic number for the central directory")
        raw_name = bytes(data[pos + 46:min(pos + 46 + name_len, end)])
        extra = bytes(data[min(pos + 46 + name_len, end):min(pos + 46 + name_len + extra_len, end)])
        try:
            names = _names(raw_name, flags, extra)
        except UnicodeDecodeError as exc:
            raise DirectoryError(f"undecodable name: {exc}") from None
        if needed & 0xFF > _MAX_EXTRACT_VERSION:  # zipfile reads the low byte as the version
            raise DirectoryError("unsupported zip version")
        usize, csize, header = _zip64_extra(extra, usize, csize, header)
        entries.append(CentralEntry(len(entries), raw_name, names, flags, method, crc, csize, usize,
                                    header + concat, pos))
        pos += 46 + name_len + extra_len + comment_len
    return Directory("zipfile", eocd, record, start, cd_size, tuple(entries), truncated)


def lookup(directory: Directory, name: str) -> CentralEntry | None:
    """The entry ``ZipFile.open(name)`` reads: the last one listed under exactly that name."""
    found = None
    for entry in directory.entries:
        if name in entry.names:
            found = entry
    return found
