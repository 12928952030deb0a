"""Assemble zip archives byte by byte, at test time, so that different zip readers can be made to disagree.

``Layout`` places local members and then one or more central directories and end records exactly where a
test asks; nothing here reads or runs the payloads it places (they are plain bytes given by the test).
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

__all__ = ["Layout", "Local"]


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

    def raw(self, data: bytes) -> int:
        at = len(self.out)
        self.out += data
        return at

    def add(self, name: str, data: bytes, *, flags: int = 0) -> Local:
        local = Local(name, data, len(self.out), flags)
        raw = name.encode()
        self.out += struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, flags, 0, 0, 0x21, local.crc, len(data),
                                len(data), len(raw), 0) + raw + data
        return local

    def directory(self, members: list[Local], *, names: list[str] | None = None) -> tuple[int, int, int]:
        """Write a central directory for ``members``; return ``(offset, size, count)``."""
        at = len(self.out)
        for i, m in enumerate(members):
            raw = (names[i] if names else m.name).encode()
            self.out += struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, m.flags, 0, 0, 0x21, m.crc,
                                    len(m.data), len(m.data), len(raw), 0, 0, 0, 0, 0, m.offset) + raw
        return at, len(self.out) - at, len(members)

    def zip64_record(self, cd: tuple[int, int, int]) -> int:
        at = len(self.out)
        offset, size, count = cd
        self.out += struct.pack("<4sQHHIIQQQQ", b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, size, offset)
        return at

    def locator(self, record: int, disks: int = 1) -> int:
        at = len(self.out)
        self.out += struct.pack("<4sIQI", b"PK\x06\x07", 0, record, disks)
        return at

    def end(self, cd: tuple[int, int, int], *, zip64: bool = False, comment: bytes = b"") -> int:
        at = len(self.out)
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
