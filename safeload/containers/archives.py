"""Where the zip readers that may open one file disagree: facts for the "ambiguous archive" rule (SL208).

``torch.load`` reads a zip through miniz, ``numpy.load`` and Keras through ``zipfile``, safeload's scanner
through its own lenient reader. No real writer produces an archive they read differently, so every
disagreement is reported (and every reading is scanned as well, by ``safeload._zip``):

- ``directories``: miniz and ``zipfile`` read different member sets (two central directories, a record count
  that disagrees with the directory size, a prefix shift only one of them applies), for a file both may open
  (one that starts with ``PK\\x03\\x04``);
- ``zip64-locator``: a zip64 locator that points elsewhere than ``end - 76`` (miniz follows the locator,
  CPython 3.11 reads ``end - 76``, newer CPythons follow the locator);
- ``end-records``: more than one end record in the region readers search, outside every member's data;
- ``after-end``: a local header after the end record;
- ``overlap``: central records whose local header and data overlap another member or a central directory;
- ``outside``: a member a reader would read from before the start of the scanned bytes.

Invariant: facts only, from bytes and the readers' directories; searches are bounded (the end-record window,
the bytes after the end record); nothing is decompressed here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from safeload.containers._zipfmt import EOCD, EOCD64_LOCATOR, LOCAL, Directory, u64

__all__ = ["Ambiguity", "Region", "find_ambiguities"]

# miniz searches back 4 KiB at a time until 64 KiB + 22 bytes are covered; zipfile 64 KiB + 22 bytes.
_END_WINDOW = 0xFFFF + 22 + 4096
_MAX_LISTED = 4


@dataclass(frozen=True, slots=True)
class Ambiguity:
    kind: str
    message: str
    offset: int | None = None


@dataclass(frozen=True, slots=True)
class Region:
    """A member some central directory lists: its local header at ``start``, its data ending at ``end``."""

    start: int
    data_start: int
    end: int
    name: str


def _listed(names: Sequence[str]) -> str:
    shown = ", ".join(repr(n) for n in sorted(names)[:_MAX_LISTED])
    return shown + (f" and {len(names) - _MAX_LISTED} more" if len(names) > _MAX_LISTED else "")


def _differ(mz: Directory, zf: Directory) -> Ambiguity | None:
    def key(d: Directory) -> list[tuple[bytes, int, int, int]]:
        return sorted((e.raw_name, e.header_offset, e.compressed_size, e.method) for e in d.entries)

    a, b = key(mz), key(zf)
    if a == b:
        return None
    only_mz = [f"{k[0].decode('utf-8', 'replace')}@{k[1]}" for k in a if k not in b]
    only_zf = [f"{k[0].decode('utf-8', 'replace')}@{k[1]}" for k in b if k not in a]
    parts = []
    if only_mz:
        parts.append(f"torch.load (miniz) reads {_listed(only_mz)}, which numpy.load and Keras (zipfile) do not")
    if only_zf:
        parts.append(f"numpy.load and Keras (zipfile) read {_listed(only_zf)}, which torch.load (miniz) does not")
    if not parts:
        parts.append("the two readers list the same members a different number of times")
    return Ambiguity("directories", "; ".join(parts) + f" (central directories at {mz.offset} and {zf.offset}); "
                     "every reading is scanned", zf.offset)


def _locator(data: Any, eocd: int) -> Ambiguity | None:
    if eocd < 20 or bytes(data[eocd - 20:eocd - 16]) != EOCD64_LOCATOR:
        return None
    target = u64(bytes(data[eocd - 12:eocd - 4]), 0)
    if target == eocd - 76:
        return None
    return Ambiguity("zip64-locator", f"the zip64 locator points at offset {target}, but zipfile reads the zip64 "
                     f"end record at {eocd - 76}: torch and numpy/Keras can see different archives", eocd - 20)


def _end_records(data: Any, chosen: set[int], regions: Sequence[Region],
                 directories: Sequence[Directory]) -> Ambiguity | None:
    n = len(data)
    start = max(0, n - _END_WINDOW)
    tail = bytes(data[start:])
    covered = [(r.data_start, r.end) for r in regions] + [(d.offset, d.offset + d.size) for d in directories]
    idx = len(tail)
    while (idx := tail.rfind(EOCD, 0, idx)) >= 0:
        at = start + idx
        if n - at >= 22 and at not in chosen and not any(lo <= at < hi for lo, hi in covered):
            return Ambiguity("end-records", f"a second end-of-central-directory record at offset {at}, outside "
                             "every member: readers that pick another end record see another archive", at)
    return None


def _after_end(data: Any, eocd: int) -> Ambiguity | None:
    finder = getattr(data, "find", None)
    at = finder(LOCAL, eocd + 22) if finder is not None else bytes(data[eocd + 22:]).find(LOCAL)
    if at is None or at < 0:
        return None
    if finder is None:
        at += eocd + 22
    return Ambiguity("after-end", f"a local file header at offset {at}, after the end-of-central-directory "
                     "record: no writer puts members there", int(at))


def _overlaps(regions: Sequence[Region], directories: Sequence[Directory]) -> Ambiguity | None:
    spans = sorted({(r.start, r.end, r.name) for r in regions})
    reach, owner = -1, ""
    previous: tuple[int, int] | None = None
    for start, end, name in spans:
        if start < reach and (start, end) != previous:
            return Ambiguity("overlap", f"member {name!r} at offset {start} overlaps member {owner!r}: one byte "
                             "range read as two members", start)
        if end > reach:
            reach, owner = end, name
        previous = (start, end)
    for d in directories:
        for start, end, name in spans:
            if start < d.offset + d.size and d.offset < end:
                return Ambiguity("overlap", f"member {name!r} overlaps the central directory {d.reader} reads "
                                 f"at offset {d.offset}", start)
    return None


def find_ambiguities(data: Any, views: Mapping[str, Directory | None],
                     regions: Sequence[Region]) -> list[Ambiguity]:
    """Every way the readers that may open ``data`` can see different archives (empty for real writers' files).

    ``views`` are the miniz and zipfile directories (None where that reader refuses the archive); ``regions``
    the members listed by any central directory, with their data extents.
    """
    found: list[Ambiguity] = []
    directories = [d for d in views.values() if d is not None]
    mz, zf = views.get("miniz"), views.get("zipfile")
    if mz is not None and zf is not None and bytes(data[:4]) == LOCAL:
        found.extend(a for a in [_differ(mz, zf)] if a)
    ends = {d.eocd for d in directories}
    for eocd in sorted(ends):
        found.extend(a for a in [_locator(data, eocd)] if a)
    if directories:
        found.extend(a for a in [_end_records(data, ends, regions, directories),
                                 _after_end(data, max(ends)), _overlaps(regions, directories)] if a)
    for d in directories:
        outside = [e.names[0] for e in d.entries if e.header_offset < 0]
        if outside:
            found.append(Ambiguity("outside", f"{d.reader} would read {_listed(outside)} from before the start of "
                                   "the scanned bytes", 0))
    return found
