"""Assemble zip archives byte by byte, at test time, so that different zip readers can be made to disagree.

``Layout`` places local members and then one or more central directories and end records exactly where a
test asks; nothing here reads or runs the payloads it places (they are plain bytes given by the test).
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

__all__ = ["Layout", "Local", "count_split", "shifted_split", "zip64_split"]


@dataclass
class Local:
    """One local header plus data, written at ``offset`` once placed."""

    name: str
    data: bytes
    offset: int = -1
    flags: int = 0

    @property
    def crc(self) -> int:
        return zlib.crc32(self.data)


@dataclass
class Layout:
    """A growing archive: ``add`` members, ``directory`` central directories, then end records."""

    out: bytearray = field(default_factory=bytearray)
    base: int = 0          # where ``out`` will start in the final file (for layouts nested in a member)

    @property
    def here(self) -> int:
        return self.base + len(self.out)

    def raw(self, data: bytes) -> int:
        at = self.here
        self.out += data
        return at

    def add(self, name: str, data: bytes, *, flags: int = 0) -> Local:
        local = Local(name, data, self.here, flags)
        raw = name.encode()
        self.out += struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, flags, 0, 0, 0x21, local.crc, len(data),
                                len(data), len(raw), 0) + raw + data
        return local

    def directory(self, members: list[Local], *, names: list[str] | None = None, shift: int = 0,
                  extra: bytes = b"") -> tuple[int, int, int]:
        """Write a central directory for ``members`` (offsets stored minus ``shift``); return ``(offset, size,
        count)``."""
        at = self.here
        for i, m in enumerate(members):
            raw = (names[i] if names else m.name).encode()
            self.out += struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, m.flags, 0, 0, 0x21, m.crc,
                                    len(m.data), len(m.data), len(raw), len(extra), 0, 0, 0, 0,
                                    m.offset - shift) + raw + extra
        return at, self.here - at, len(members)

    def zip64_record(self, cd: tuple[int, int, int]) -> int:
        at = self.here
        offset, size, count = cd
        self.out += struct.pack("<4sQHHIIQQQQ", b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, size, offset)
        return at

    def locator(self, record: int, disks: int = 1) -> int:
        at = self.here
        self.out += struct.pack("<4sIQI", b"PK\x06\x07", 0, record, disks)
        return at

    def end(self, cd: tuple[int, int, int], *, zip64: bool = False, comment: bytes = b"") -> int:
        at = self.here
        offset, size, count = cd
        if zip64:
            count16, size32, offset32 = 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF
        else:
            count16, size32, offset32 = count, size, offset
        self.out += struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, count16, count16, size32, offset32,
                                len(comment)) + comment
        return at

    def bytes(self) -> bytes:
        return bytes(self.out)


Members = list[tuple[str, bytes]]


def zip64_split(first: Members, second: Members) -> bytes:
    """Two archives in one file. torch's miniz follows the zip64 locator to the *first* central directory;
    Python's zipfile (numpy, Keras) reads the zip64 end record at ``end - 76`` and so the *second*. Each
    directory's members are stored just before it, so the second set lies past the first directory, where a
    local-header walk that stops at the first directory never looks."""
    out = Layout()
    first_cd = out.directory([out.add(n, d) for n, d in first])
    first_record = out.zip64_record(first_cd)
    second_cd = out.directory([out.add(n, d) for n, d in second])
    out.zip64_record(second_cd)
    out.locator(first_record)
    out.end(second_cd, zip64=True)
    return out.bytes()


def count_split(members: Members, hidden: Members) -> bytes:
    """One central directory holding ``members + hidden``, with an end record that counts only ``members``:
    miniz parses exactly that many records, zipfile parses records until the directory size is used up."""
    out = Layout()
    locals_ = [out.add(n, d) for n, d in members + hidden]
    offset, size, _count = out.directory(locals_)
    out.end((offset, size, len(members)))
    return out.bytes()


def shifted_split(miniz_members: Members, zipfile_members: Members, *, pad: bytes = b"\0" * 512) -> bytes:
    """No zip64 at all. The end record's offset field points at a directory miniz reads as written; zipfile
    reads the directory just before the end record and shifts every member offset by the difference (as it
    does for data in front of an archive). miniz's members are stored *inside* the stored data of a member
    zipfile lists, so a local-header walk that skips member data never sees them. Both directories hold the
    same number of records (miniz takes the count from the end record)."""
    assert len(miniz_members) == len(zipfile_members)
    out = Layout()
    out.add("archive/pad", pad)                     # listed by miniz only: zipfile's offsets start after it
    shared = [out.add(n, d) for n, d in zipfile_members]
    blob_name = "archive/blob"
    inner = Layout(base=out.here + 30 + len(blob_name))
    inner.raw(b"not a zip: ")                        # the blob's content does not sniff as an archive either
    hidden = [inner.add(n, d) for n, d in miniz_members]
    blob = out.add(blob_name, inner.bytes())
    mz_offset, mz_size, _ = out.directory([*hidden, Local("archive/pad", pad, 0)])
    shift = mz_size                                  # zipfile's concat: its directory follows miniz's
    zf_cd = out.directory([*shared, blob], shift=shift)
    assert mz_size <= zf_cd[1], "miniz's directory must fit in the size the end record gives"
    out.end((mz_offset, zf_cd[1], zf_cd[2]))
    return out.bytes()
