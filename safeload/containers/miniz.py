"""How miniz 3.0.2 (``torch.load``, ``torch.jit.load``: ``PyTorchFileReader``) finds an archive's members.

From ``mz_zip_reader_locate_header_sig`` and ``mz_zip_reader_read_central_dir`` (pytorch third_party/miniz-3.0.2):

- the end record is the *last* ``PK\\x05\\x06`` with at least 22 bytes after it, searched backwards in 4 KiB
  steps (4093 bytes apart) until about 64 KiB + 22 bytes from the end have been covered; a step that would
  start below offset 4093 wraps around in C's unsigned arithmetic and fails, so in a file longer than 4 KiB
  the first bytes are never searched; the comment length is never checked;
- a zip64 locator is looked for 20 bytes before it (only when the end record is at offset >= 76); the zip64 end
  record is read *where the locator points* (an offset past ``size - 56`` refuses the archive) and used if its
  signature matches; its values then replace the 32-bit ones unconditionally;
- the central directory is read at its recorded offset, never shifted for data in front of the archive, and
  exactly ``total entries`` records are parsed (bytes after them inside ``cd size`` are ignored);
- names are raw bytes; lookups (``mz_zip_reader_locate_file`` with flags 0) compare full names ASCII
  case-insensitively through a binary search of the sorted directory, so with duplicates any copy may win;
  torch's record *listing* (``getAllRecords``, which decides TorchScript) cuts names at a NUL;
- torch builds miniz with ``MINIZ_DISABLE_ZIP_READER_CRC32_CHECKS``: CRC-32 is never checked.

Invariant: every read is bounds-checked against the buffer and the entry loop is bounded by ``limit``.
"""

from __future__ import annotations

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

_CHUNK = 4096
_U32 = 0xFFFFFFFF


def find_end(data: Any) -> int:
    """Offset of the end record miniz uses, or -1 (``mz_zip_reader_locate_header_sig``)."""
    size = len(data)
    if size < 22:
        return -1
    cur = max(size - _CHUNK, 0)
    while True:
        chunk = bytes(data[cur:cur + min(_CHUNK, size - cur)])
        i = len(chunk) - 4
        while i >= 0:
            i = chunk.rfind(EOCD, 0, i + 4)
            if i < 0:
                break
            if size - (cur + i) >= 22:
                return cur + i
            i -= 1
        if cur == 0 or size - cur >= 0xFFFF + 22:
            return -1
        if cur < _CHUNK - 3:
            # ``MZ_MAX(cur - (sizeof(buf) - 3), 0)`` is computed unsigned in C: below 4093 it wraps, the next
            # read is at a negative offset and fails, so miniz never searches the first bytes of the file.
            return -1
        cur -= _CHUNK - 3


def _zip64_extra(extra: bytes, sizes: list[int]) -> None:
    """``mz_zip_file_stat_internal``: replace 0xFFFFFFFF sizes/offset from the 0x0001 extra field, strictly."""
    pos = 0
    while len(extra) - pos >= 4:
        field_id, length = u16(extra, pos), u16(extra, pos + 2)
        if length + 4 > len(extra) - pos:
            raise DirectoryError("corrupt extra field")
        if field_id == 1:
            body = extra[pos + 4:pos + 4 + length]
            at = 0
            for i in range(3):  # uncompressed size, compressed size, local header offset
                if sizes[i] == _U32:
                    if len(body) - at < 8:
                        raise DirectoryError("short zip64 extra field")
                    sizes[i] = u64(body, at)
                    at += 8
            return
        pos += 4 + length
    if len(extra) - pos:
        raise DirectoryError("corrupt extra field")


def read_directory(data: Any, limit: int) -> Directory:
    """The central directory miniz reads; raises :class:`DirectoryError` where ``mz_zip_reader_init`` fails."""
    size = len(data)
    eocd = find_end(data)
    if eocd < 0:
        raise DirectoryError("no end of central directory record")
    rec = bytes(data[eocd:eocd + 22])
    total, on_disk = u16(rec, 10), u16(rec, 8)
    this_disk, cd_disk = u16(rec, 4), u16(rec, 6)
    cd_size, cd_offset = u32(rec, 12), u32(rec, 16)
    record = -1
    if eocd >= 76:
        locator = bytes(data[eocd - 20:eocd])
        if locator[:4] == EOCD64_LOCATOR:
            at = u64(locator, 8)
            if at > size - 56:
                raise DirectoryError("zip64 locator points past the end")
            z64 = bytes(data[at:at + 56])
            if z64[:4] == EOCD64:
                record = at
                if u64(z64, 4) < 44:
                    raise DirectoryError("zip64 end record too small")
                if u32(locator, 16) != 1:
                    raise DirectoryError("multi-disk zip64")
                total64, on_disk64, size64 = u64(z64, 32), u64(z64, 24), u64(z64, 40)
                if total64 > _U32 or on_disk64 > _U32 or size64 > _U32:
                    raise DirectoryError("zip64 counts beyond miniz's limits")
                total, on_disk, cd_size = total64, on_disk64, size64
                this_disk, cd_disk, cd_offset = u32(z64, 16), u32(z64, 20), u64(z64, 48)
    if total != on_disk:
        raise DirectoryError("multi-disk archive")
    if (this_disk | cd_disk) and (this_disk != 1 or cd_disk != 1):
        raise DirectoryError("multi-disk archive")
    if cd_size < total * 46 or cd_offset + cd_size > size:
        raise DirectoryError("central directory out of bounds")
    entries: list[CentralEntry] = []
    pos, remaining = cd_offset, cd_size
    truncated = False
    for index in range(total):
        if index >= limit:
            truncated = True
            break
        if remaining < 46 or pos + 46 > size:
            raise DirectoryError(f"bad central record {index}")
        (sig, _made, _need, flags, method, _time, _date, crc, csize, usize, name_len, extra_len, comment_len,
         disk, _internal, _external, header) = unpack_at(CENTRAL_FMT, data, pos)
        if sig != CENTRAL:
            raise DirectoryError(f"bad central record {index}")
        raw_name = bytes(data[pos + 46:pos + 46 + name_len])
        extra = bytes(data[pos + 46 + name_len:pos + 46 + name_len + extra_len])
        sizes = [usize, csize, header]
        if max(sizes) == _U32 and extra:
            try:
                _zip64_extra(extra, sizes)
            except DirectoryError:
                sizes = [usize, csize, header]  # mz_zip_reader_file_stat fails: this entry cannot be read
        usize, csize, header = sizes
        if _U32 not in (csize, usize) and ((method == 0 and usize != csize) or (usize and not csize)):
            raise DirectoryError(f"inconsistent sizes in central record {index}")
        if disk == 0xFFFF or (disk not in (this_disk, 1)):
            raise DirectoryError("multi-disk entry")
        if csize != _U32 and header + 30 + csize > size:
            raise DirectoryError(f"entry {index} runs past the end")
        if flags & 0x2000:
            raise DirectoryError("masked local directory")
        record_size = 46 + name_len + extra_len + comment_len
        if record_size > remaining:
            raise DirectoryError(f"central record {index} runs past the directory")
        name = raw_name.decode("utf-8", "replace")
        # ``getAllRecords`` copies names into a C string: a NUL cuts the name torch lists (TorchScript detection).
        listed = name.split("\0", 1)[0]
        names = (name,) if listed == name else (name, listed)
        entries.append(CentralEntry(index, raw_name, names, flags, method, crc, csize, usize, header, pos))
        pos += record_size
        remaining -= record_size
    return Directory("miniz", eocd, record, cd_offset, cd_size, tuple(entries), truncated)


def _fold(raw: bytes) -> bytes:
    """MZ_TOLOWER on every byte: ASCII letters only."""
    return raw.lower()


def lookup(directory: Directory, raw_name: bytes) -> list[CentralEntry]:
    """Every entry ``mz_zip_reader_locate_file(name, flags=0)`` may return (its binary search picks one)."""
    want = _fold(raw_name)
    return [e for e in directory.entries if _fold(e.raw_name) == want]
