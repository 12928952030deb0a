"""Zip record layouts and the facts a zip reader's view of an archive consists of (shared by the reader models).

Invariant: plain data; offsets are positions in the scanned buffer exactly as the modelled reader will seek them.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import NamedTuple

__all__ = ["CENTRAL", "CENTRAL_FMT", "EOCD", "EOCD64", "EOCD64_FMT", "EOCD64_LOCATOR", "EOCD_FMT", "LOCAL",
           "LOCATOR_FMT", "CentralEntry", "Directory", "DirectoryError", "u16", "u32", "u64"]

LOCAL = b"PK\x03\x04"
CENTRAL = b"PK\x01\x02"
EOCD = b"PK\x05\x06"
EOCD64 = b"PK\x06\x06"
EOCD64_LOCATOR = b"PK\x06\x07"
CENTRAL_FMT = struct.Struct("<4sHHHHHHIIIHHHHHII")   # 46 bytes
EOCD_FMT = struct.Struct("<4sHHHHIIH")               # 22 bytes
EOCD64_FMT = struct.Struct("<4sQHHIIQQQQ")           # 56 bytes
LOCATOR_FMT = struct.Struct("<4sIQI")                # 20 bytes


def u16(data: bytes, at: int) -> int:
    return int.from_bytes(data[at:at + 2], "little")


def u32(data: bytes, at: int) -> int:
    return int.from_bytes(data[at:at + 4], "little")


def u64(data: bytes, at: int) -> int:
    return int.from_bytes(data[at:at + 8], "little")


class DirectoryError(ValueError):
    """The modelled reader refuses to open the archive: its loader fails, and nothing of that reading runs."""


class CentralEntry(NamedTuple):
    """One central-directory record as a reader interprets it.

    ``names`` are the names the reader finds this member under (zipfile: the decoded name cut at a NUL, and on
    newer Pythons the Info-ZIP Unicode Path name); ``raw_name`` is the name as stored. ``header_offset`` is
    where the reader looks for the local header (zipfile adds its prefix shift, miniz does not).
    """

    position: int          # 0-based order in the directory
    raw_name: bytes
    names: tuple[str, ...]
    flags: int
    method: int
    crc: int
    compressed_size: int
    size: int
    header_offset: int
    record_offset: int


@dataclass(frozen=True, slots=True)
class Directory:
    """The central directory one reader reads: where, from which end records, and its entries in order."""

    reader: str
    eocd: int
    zip64_record: int          # -1 when the reader uses no zip64 end record
    offset: int
    size: int
    entries: tuple[CentralEntry, ...]
    truncated: bool = False    # more entries than the scan's member limit
