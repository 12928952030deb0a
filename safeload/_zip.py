"""A lenient, bounded zip reader for scanning: it accepts at least every archive PyTorch's reader (miniz) and
Python's ``zipfile`` accept, and finds members that either of them could read.

Security invariants:
- every data region any reader could treat as a member is returned: entries from the central directory this
  reader picks, from the central directories miniz (torch) and ``zipfile`` (numpy, Keras) pick by their own
  rules (``safeload.containers.miniz`` / ``zipfile_reader``: they can differ), every copy of a duplicated
  name, *and* entries found by walking local headers (hidden members, local names that differ from the
  central name, sizes or methods that disagree); each distinct region once, with every name and every reader
  it is known to;
- whatever a real reader would tolerate but a normal writer never produces (bad CRC-32, encryption or
  patch flags, name mismatches, spanned markers, data before the first header, members missing from the
  central directory) is reported as an SL203/SL204 finding; nothing here stops at the first oddity;
- stored members are returned as views of the caller's buffer (no copy); deflated members are inflated in
  bounded steps under ``max_decompressed_bytes`` and ``max_compression_ratio`` (SL016/SL017), and the
  member count is capped by ``max_members`` (SL015); hitting a cap is a blocking finding, never "clean".
"""

from __future__ import annotations

import bz2
import contextlib
import lzma
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from safeload._context import ScanContext
from safeload._source import unpack_at, window
from safeload.containers import miniz, zipfile_reader
from safeload.containers._zipfmt import Directory, DirectoryError
from safeload.severity import Severity

__all__ = ["ZipArchive", "ZipEntry", "open_archive"]

_LOCAL = b"PK\x03\x04"
_CENTRAL = b"PK\x01\x02"
_EOCD = b"PK\x05\x06"
_EOCD64 = b"PK\x06\x06"
_EOCD64_LOC = b"PK\x06\x07"
_DESCRIPTOR = b"PK\x07\x08"
_LOCAL_FMT = struct.Struct("<4sHHHHHIIIHH")
_CENTRAL_FMT = struct.Struct("<4sHHHHHHIIIHHHHHII")
_EOCD_FMT = struct.Struct("<4sHHHHIIH")
_EOCD64_FMT = struct.Struct("<4sQHHIIQQQQ")
_U64 = struct.Struct("<Q")
# Bytes prefetched at each local header of a remote archive: the data descriptor before it, the header, a name
# and extra field of usual size, and the member's first bytes (its magic number).
_HEADER_PREFETCH = 1024

STORED, DEFLATED, BZIP2, LZMA = 0, 8, 12, 14
_METHODS = {STORED: "stored", DEFLATED: "deflated", BZIP2: "bzip2", LZMA: "lzma"}
# Flag bits real writers set: 0x2/0x4 (deflate level), 0x8 (data descriptor), 0x800 (UTF-8 names).
_NORMAL_FLAGS = 0x0002 | 0x0004 | 0x0008 | 0x0800
_CHUNK = 1 << 20
# Ratio checks start once this much has been inflated: tiny members legitimately compress very well.
_RATIO_FLOOR = 1 << 20


class ZipLimit(Exception):  # noqa: N818 - control flow inside this module and its callers
    """A cap was hit while reading a member; the finding has already been recorded."""


@dataclass(slots=True)
class ZipEntry:
    """One data region some zip reader would return as a member, with every name it is known by."""

    names: list[str]
    header_offset: int
    data_offset: int
    compressed_size: int
    size: int
    method: int
    flags: int
    crc: int
    in_central: bool = False
    in_local_walk: bool = False
    readers: set[str] = field(default_factory=set)   # "lenient", "miniz", "zipfile", "local-walk"

    @property
    def name(self) -> str:
        return self.names[0]


@dataclass
class ZipArchive:
    """Entries of one archive over ``data`` (bytes, mmap or memoryview), in file order."""

    data: Any
    entries: list[ZipEntry] = field(default_factory=list)
    start: int = 0                   # offset of the first local header (data before it is a prefix)
    central_offset: int = -1         # where the central directory starts (-1: none found)
    inflated: int = 0                # bytes inflated so far, across members
    # The central directory each real reader reads (None: that reader refuses the archive, see ``view_errors``).
    views: dict[str, Directory | None] = field(default_factory=dict)
    view_errors: dict[str, str] = field(default_factory=dict)

    def __iter__(self) -> Iterator[ZipEntry]:
        return iter(self.entries)

    def view(self, entry: ZipEntry) -> memoryview:
        """The raw (possibly compressed) bytes of ``entry``, as a view of the archive buffer."""
        end = min(entry.data_offset + entry.compressed_size, len(self.data))
        return window(self.data, entry.data_offset, end)

    def head(self, entry: ZipEntry, count: int) -> bytes:
        """The first ``count`` uncompressed bytes (a small read: used to peek at magic numbers)."""
        if entry.method == STORED:
            end = min(entry.data_offset + min(count, entry.compressed_size), len(self.data))
            return bytes(self.data[entry.data_offset:end])
        with contextlib.suppress(zlib.error, OSError, EOFError, ValueError, lzma.LZMAError), self.view(entry) as raw:
            head: bytes = _decompressor(entry.method).decompress(bytes(raw[:_CHUNK]), count)
            return head[:count]
        return b""

    def read(self, entry: ZipEntry, ctx: ScanContext, label: str) -> bytes | memoryview:
        """The uncompressed bytes of ``entry``: a view for stored members, bounded inflation otherwise.

        Raises ``ZipLimit`` after recording SL016/SL017 when a cap is hit, and ``ValueError`` for data a
        reader could not decompress (the caller reports it).
        """
        if entry.method == STORED:
            return self.view(entry)
        if entry.method not in _METHODS:
            raise ValueError(f"compression method {entry.method} is not supported")
        limits = ctx.limits
        decomp = _decompressor(entry.method)
        out: list[bytes] = []
        produced = 0
        consumed = 0
        with self.view(entry) as raw:
            total = len(raw)
            pending = b""
            while True:
                if not pending and consumed < total and getattr(decomp, "needs_input", True):
                    pending = bytes(raw[consumed:consumed + _CHUNK])
                    consumed += len(pending)
                chunk = decomp.decompress(pending, _CHUNK)
                pending = getattr(decomp, "unconsumed_tail", b"")
                produced += len(chunk)
                self.inflated += len(chunk)
                out.append(chunk)
                if self.inflated > limits.max_decompressed_bytes:
                    ctx.add("SL016", f"{label}: more than {limits.max_decompressed_bytes} bytes once decompressed",
                            subject=label)
                    raise ZipLimit(label)
                used = max(consumed - len(pending), 1)
                if produced > _RATIO_FLOOR and produced / used > limits.max_compression_ratio:
                    ctx.add("SL017", f"{label}: compression ratio above {limits.max_compression_ratio:g}",
                            subject=label, details={"inflated": produced, "compressed": used})
                    raise ZipLimit(label)
                if getattr(decomp, "eof", False):
                    break
                if not chunk and not pending and consumed >= total:
                    break
        return b"".join(out)

    def check_crc(self, entry: ZipEntry, content: bytes | memoryview, ctx: ScanContext, label: str) -> None:
        if len(content) == entry.size and zlib.crc32(content) != entry.crc:
            ctx.add("SL203", f"{label}: CRC-32 does not match the data (torch's reader ignores this)",
                    subject=f"bad-crc:{label}")


def _decompressor(method: int) -> Any:
    if method == DEFLATED:
        return zlib.decompressobj(-15)
    if method == BZIP2:
        return bz2.BZ2Decompressor()
    if method == LZMA:
        return _ZipLzma()
    raise ValueError(f"compression method {method} is not supported")


class _ZipLzma:
    """zip's LZMA framing: 2 version bytes, a 2-byte properties size, the properties, then raw LZMA1."""

    def __init__(self) -> None:
        self._inner: Any = None
        self._header = b""
        self.eof = False

    def decompress(self, data: bytes, max_length: int = -1) -> bytes:
        if self._inner is None:
            self._header += data
            if len(self._header) < 4:
                return b""
            psize = struct.unpack_from("<H", self._header, 2)[0]
            if len(self._header) < 4 + psize:
                return b""
            filters = [lzma._decode_filter_properties(lzma.FILTER_LZMA1,  # type: ignore[attr-defined]
                                                      self._header[4:4 + psize])]
            self._inner = lzma.LZMADecompressor(lzma.FORMAT_RAW, filters=filters)
            data = self._header[4 + psize:]
        out: bytes = self._inner.decompress(data, max_length)
        self.eof = self._inner.eof
        return out



def _zip64_extra(extra: bytes, sizes: list[int], want: tuple[bool, ...]) -> None:
    """Replace the 0xFFFFFFFF fields in ``sizes`` (usize, csize, offset) from a zip64 extra field."""
    pos = 0
    while pos + 4 <= len(extra):
        tag, length = struct.unpack_from("<HH", extra, pos)
        body = extra[pos + 4:pos + 4 + length]
        if tag == 0x0001:
            at = 0
            for i, needed in enumerate(want):
                if needed and at + 8 <= len(body):
                    sizes[i] = struct.unpack_from("<Q", body, at)[0]
                    at += 8
            return
        pos += 4 + length


class _Reader:
    def __init__(self, data: Any, ctx: ScanContext) -> None:
        self.data = data
        self.n = len(data)
        self.ctx = ctx
        self.archive = ZipArchive(data)
        self.by_region: dict[tuple[int, int, int], ZipEntry] = {}
        self.by_header: dict[int, ZipEntry] = {}
        # Local headers already parsed for a central entry: (flags, method, crc, csize, usize, name, data offset).
        self.locals: dict[int, tuple[int, int, int, int, int, str, int]] = {}
        self.count = 0
        # Central records already turned into entries: (header, raw name, csize, usize, method).
        self.records: set[tuple[int, bytes, int, int, int]] = set()
        self.lenient_keys: list[tuple[int, bytes, int, int, int]] = []
        self.duplicates: set[str] = set()

    def anomaly(self, message: str, subject: str, severity: Severity | None = None, offset: int | None = None) -> None:
        self.ctx.add("SL203", message, subject=subject, severity=severity, offset=offset)

    def _count(self) -> bool:
        self.count += 1
        if self.count > self.ctx.limits.max_members:
            self.ctx.add("SL015", f"more than {self.ctx.limits.max_members} archive members; the rest was not scanned")
            return False
        return True

    def _add(self, name: str, header: int, data_offset: int, csize: int, usize: int,  # noqa: PLR0917 - header fields
             method: int, flags: int, crc: int, *, central: bool, reader: str) -> ZipEntry:
        key = (data_offset, csize, method)
        entry = self.by_region.get(key)
        if entry is None:
            entry = ZipEntry([name], header, data_offset, csize, usize, method, flags, crc)
            self.by_region[key] = entry
            self.archive.entries.append(entry)
        elif name not in entry.names:
            entry.names.append(name)
        if central:
            entry.in_central = True
        else:
            entry.in_local_walk = True
        entry.readers.add(reader)
        return entry

    # -- end of central directory ----------------------------------------------------------------------
    def eocd_candidates(self) -> Iterator[tuple[int, int, int, int]]:
        """``(eocd_offset, cd_offset_as_written, cd_size, entries)`` for each EOCD record, last first."""
        tail_start = max(0, self.n - (65535 + 22))
        tail = bytes(self.data[tail_start:])
        idx = len(tail)
        while (idx := tail.rfind(_EOCD, 0, idx)) >= 0:
            eocd = tail_start + idx
            if eocd + 22 > self.n:
                continue
            _sig, _d, _cd, _nd, total, cd_size, cd_off, _clen = unpack_at(_EOCD_FMT, self.data, eocd)
            if eocd >= 20 and bytes(self.data[eocd - 20:eocd - 16]) == _EOCD64_LOC:
                z64_at = unpack_at(_U64, self.data, eocd - 12)[0]
                for cand in (z64_at, eocd - 20 - 56):
                    if 0 <= cand <= self.n - 56 and bytes(self.data[cand:cand + 4]) == _EOCD64:
                        rec = unpack_at(_EOCD64_FMT, self.data, cand)
                        yield cand, rec[9], rec[8], rec[7]
                        break
            yield eocd, cd_off, cd_size, total

    def find_central(self) -> tuple[int, int, int, int] | None:
        """The last EOCD record whose central directory is where it says (after any prefix shift)."""
        first = None
        for cand in self.eocd_candidates():
            eocd, cd_off, cd_size, total = cand
            first = first or cand
            for shift in (eocd - cd_size - cd_off, 0):
                at = cd_off + shift
                if 0 <= at <= self.n - 4 and (bytes(self.data[at:at + 4]) == _CENTRAL or total == 0):
                    return cand
        return first

    # -- central directory -----------------------------------------------------------------------------
    def read_central(self) -> None:
        found = self.find_central()
        if found is None:
            return
        eocd, cd_off, cd_size, total = found
        # Bytes before the archive (self-extractor style): zipfile and miniz shift every offset by this much.
        concat = eocd - cd_size - cd_off
        if concat < 0 or bytes(self.data[cd_off + concat:cd_off + concat + 4]) != _CENTRAL:
            concat = 0
        if concat > 0:
            self.anomaly(f"{concat} bytes precede the archive; member offsets are shifted", "prefix", offset=0)
        pos = cd_off + concat
        self.archive.central_offset = pos
        self._prefetch(pos, cd_size, concat)
        seen = 0
        names: dict[str, int] = {}
        while pos + 46 <= self.n and bytes(self.data[pos:pos + 4]) == _CENTRAL:
            if not self._count():
                return
            (_sig, _vm, _vn, flags, method, _t, _dt, crc, csize, usize, nlen, xlen, clen, _disk, _ia, _ea,
             offset) = unpack_at(_CENTRAL_FMT, self.data, pos)
            name_raw = bytes(self.data[pos + 46:pos + 46 + nlen])
            extra = bytes(self.data[pos + 46 + nlen:pos + 46 + nlen + xlen])
            sizes = [usize, csize, offset]
            if 0xFFFFFFFF in sizes:
                _zip64_extra(extra, sizes, tuple(v == 0xFFFFFFFF for v in sizes))
            usize, csize, offset = sizes
            name = _decode_name(name_raw, flags)
            pos += 46 + nlen + xlen + clen
            seen += 1
            self._duplicate(name, names)
            self.lenient_keys.append((offset + concat, name_raw, csize, usize, method))
            self._record(name_raw, (name,), flags, method, crc, csize, usize, offset + concat, "lenient")
        if total not in (seen, 0xFFFF):
            self.anomaly(f"the end record says {total} members, the central directory holds {seen}",
                         "member-count")

    def _prefetch(self, pos: int, cd_size: int, concat: int) -> None:
        """A remote archive: fetch the central directory, then every local header it names, in two rounds of
        concurrent requests (instead of one small request per member as the readers come to them)."""
        prefetch = getattr(self.data, "prefetch", None)
        if prefetch is None:
            return
        prefetch([(pos, pos + max(cd_size, 46))])
        wanted: list[tuple[int, int]] = []
        limit = self.ctx.limits.max_members
        while pos + 46 <= self.n and len(wanted) < limit and bytes(self.data[pos:pos + 4]) == _CENTRAL:
            record = unpack_at(_CENTRAL_FMT, self.data, pos)
            offset = record[16] + concat
            if 0 <= offset < self.n:
                wanted.append((offset - 32, offset + _HEADER_PREFETCH))
            pos += 46 + record[10] + record[11] + record[12]
        prefetch(wanted)

    def read_views(self) -> None:
        """The central directories torch's miniz and Python's ``zipfile`` read, each by its own rules."""
        for reader, module in (("miniz", miniz), ("zipfile", zipfile_reader)):
            try:
                directory = module.read_directory(self.data, self.ctx.limits.max_members)
            except DirectoryError as exc:
                self.archive.views[reader] = None
                self.archive.view_errors[reader] = str(exc)
                continue
            self.archive.views[reader] = directory
            if directory.truncated:
                self.ctx.add("SL015", f"more than {self.ctx.limits.max_members} archive members; the rest was "
                             "not scanned")
            keys = [(e.header_offset, e.raw_name, e.compressed_size, e.size, e.method) for e in directory.entries]
            if keys == self.lenient_keys:
                # The same records in the same order as the directory already read (every real writer's file):
                # only the reader and any extra names it knows them by are new.
                for entry in directory.entries:
                    known = self.by_header.get(entry.header_offset)
                    if known is not None:
                        known.readers.add(reader)
                        if len(entry.names) > 1:
                            known.names.extend(n for n in entry.names if n not in known.names)
                continue
            names: dict[str, int] = {}
            for entry in directory.entries:
                self._duplicate(entry.names[0], names)
                if not self._record(entry.raw_name, entry.names, entry.flags, entry.method, entry.crc,
                                    entry.compressed_size, entry.size, entry.header_offset, reader):
                    return

    def _duplicate(self, name: str, names: dict[str, int]) -> None:
        lower = name.lower()
        names[lower] = names.get(lower, 0) + 1
        if names[lower] == 2 and lower not in self.duplicates:
            self.duplicates.add(lower)
            self.ctx.add("SL204", f"{name!r} appears more than once in the central directory; every copy is "
                         "scanned (torch and zipfile read the last)", subject=name)

    def _record(self, raw: bytes, names: tuple[str, ...], flags: int, method: int,  # noqa: PLR0917 - header fields
                crc: int, csize: int, usize: int, header: int, reader: str) -> bool:
        """Turn one central record into an entry (once, whichever directories list it); False at the cap."""
        key = (header, raw, csize, usize, method)
        if key in self.records:
            entry = self.by_header.get(header)
            if entry is not None:
                entry.readers.add(reader)
                if len(names) > 1 or names[0] not in entry.names:
                    entry.names.extend(n for n in names if n not in entry.names)
            return True
        if reader != "lenient" and not self._count():  # the lenient loop counts every record it reads
            return False
        self.records.add(key)
        self._central_entry(names, flags, method, crc, csize, usize, header, reader)
        return True

    def _central_entry(self, names: tuple[str, ...], flags: int, method: int,  # noqa: PLR0917 - header fields
                       crc: int, csize: int, usize: int, header: int, reader: str) -> None:
        name = names[0]
        self._check_flags(name, flags)
        if not (0 <= header <= self.n - 30) or bytes(self.data[header:header + 4]) != _LOCAL:
            self.anomaly(f"{name!r}: no local header at offset {header}", f"no-local-header:{name}",
                         severity=Severity.HIGH, offset=max(header, 0))
            return
        local = self.locals.get(header) or self._parse_local(header)
        lflags, lmethod, _lcrc, _lcsize, _lusize, local_name, data_offset = local
        self.locals[header] = local
        if data_offset + csize > self.n:
            self.ctx.add("SL018", f"{name!r}: {csize} bytes of data declared, {max(self.n - data_offset, 0)} "
                         "present", subject=name, offset=data_offset)
        entry = self._add(name, header, data_offset, csize, usize, method, flags, crc, central=True, reader=reader)
        entry.names.extend(n for n in names[1:] if n not in entry.names)
        self.by_header.setdefault(header, entry)
        if local_name != name:
            self.anomaly(f"local header names {local_name!r}, central directory names {name!r}; both are scanned",
                         f"name-mismatch:{name}", offset=header)
            if local_name not in entry.names:
                entry.names.append(local_name)
        if lmethod != method:
            self.anomaly(f"{name!r}: local header method {lmethod}, central directory method {method}",
                         f"method-mismatch:{name}", offset=header)
        if lflags != flags:
            self._check_flags(name, lflags)

    def _check_flags(self, name: str, flags: int) -> None:
        odd = flags & ~_NORMAL_FLAGS
        if odd:
            self.anomaly(f"{name!r}: unusual general-purpose flag bits 0x{odd:04x} (ignored by torch's reader)",
                         f"flags:{name}")

    # -- local header walk -----------------------------------------------------------------------------
    def walk_local(self) -> None:
        limit = self.archive.central_offset if self.archive.central_offset >= 0 else self.n
        pos = self._find(_LOCAL, 0, limit)
        if pos < 0:
            return
        self.archive.start = pos
        if pos > 0:
            head = bytes(self.data[:min(pos, 8)])
            if not (pos == 4 and head == _DESCRIPTOR):
                self.anomaly(f"{pos} bytes of data before the first local header", "prefix", offset=0)
            else:
                self.anomaly("the archive starts with the spanned-archive marker PK\\x07\\x08", "spanned-marker",
                             offset=0)
        while 0 <= pos <= self.n - 30:
            nxt = self._local_entry(pos, limit)
            if nxt is None or nxt <= pos:  # no progress: sizes from a corrupt header (already reported)
                break
            if nxt <= self.n - 4 and bytes(self.data[nxt:nxt + 4]) == _LOCAL:
                pos = nxt
                continue
            if nxt >= limit:
                break
            found = self._find(_LOCAL, nxt, limit)
            if found < 0:
                break
            if bytes(self.data[nxt:nxt + 4]) != _DESCRIPTOR:
                self.anomaly(f"{found - nxt} unexplained bytes between members at offset {nxt}", f"gap@{nxt}",
                             offset=nxt)
            pos = found

    def _find(self, needle: bytes, start: int, end: int) -> int:
        finder = getattr(self.data, "find", None)  # bytes and mmap search in place
        if finder is not None:
            return int(finder(needle, start, end))
        pos = start
        end = min(end, len(self.data))  # offsets come from the file (a zip64 EOCD can say 2**60): clamp
        while pos < end:  # memoryview: search in bounded chunks rather than copying the whole buffer
            chunk = bytes(self.data[pos:min(end, pos + _CHUNK + len(needle) - 1)])
            found = chunk.find(needle)
            if found >= 0:
                return pos + found
            pos += _CHUNK
        return -1

    def _parse_local(self, pos: int) -> tuple[int, int, int, int, int, str, int]:
        (_sig, _v, flags, method, _t, _d, crc, csize, usize, nlen, xlen) = unpack_at(_LOCAL_FMT, self.data, pos)
        name = _decode_name(bytes(self.data[pos + 30:pos + 30 + nlen]), flags)
        if csize == 0xFFFFFFFF or usize == 0xFFFFFFFF:
            sizes = [usize, csize, 0]
            _zip64_extra(bytes(self.data[pos + 30 + nlen:pos + 30 + nlen + xlen]), sizes, (True, True, False))
            usize, csize = sizes[0], sizes[1]
        return flags, method, crc, csize, usize, name, pos + 30 + nlen + xlen

    def _local_entry(self, pos: int, limit: int) -> int | None:
        local = self.locals.get(pos)
        flags, method, crc, csize, usize, name, data_offset = local if local else self._parse_local(pos)
        central = self.by_header.get(pos)
        if central is not None and flags & 0x8 and csize == 0:
            csize, usize, crc = central.compressed_size, central.size, central.crc
        if central is None:
            if flags & 0x8 and csize == 0:
                end = self._find(_DESCRIPTOR, data_offset, limit)
                csize = (end if end >= 0 else limit) - data_offset
            if not self._count():
                return None
            self.anomaly(f"{name!r} at offset {pos} has a local header but no central directory entry "
                         "(hidden member, scanned)", f"hidden:{name}@{pos}", offset=pos)
            self._check_flags(name, flags)
        entry = self._add(name, pos, data_offset, csize, usize, method, flags, crc, central=False,
                          reader="local-walk")
        if central is not None and entry is not central:
            self.anomaly(f"{central.name!r}: local header sizes or method disagree with the central directory; "
                         "both readings are scanned", f"size-mismatch:{central.name}", offset=pos)
        end = data_offset + csize
        if flags & 0x8:
            if bytes(self.data[end:end + 4]) == _DESCRIPTOR:
                end += 4
            end += 20 if usize >= 0xFFFFFFFF or csize >= 0xFFFFFFFF else 12
        return end


def _decode_name(raw: bytes, flags: int) -> str:
    if flags & 0x800:
        return raw.decode("utf-8", "replace")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp437")


def open_archive(data: Any, ctx: ScanContext) -> ZipArchive | None:
    """Read every member ``data`` holds; report structural findings into ``ctx``. None if it is no zip at all."""
    reader = _Reader(data, ctx)
    reader.read_central()
    if reader.count <= ctx.limits.max_members:
        reader.read_views()
    if reader.count <= ctx.limits.max_members:
        reader.walk_local()
    archive = reader.archive
    if not archive.entries and archive.central_offset < 0:
        return None
    archive.entries.sort(key=lambda e: (e.data_offset, not e.in_central))
    return archive
