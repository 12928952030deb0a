"""Random access to a remote object's bytes: byte ranges fetched on demand into a sparse local file.

A :class:`SparseSource` stands where a scanner would otherwise get a whole buffer (an mmap of a local file). It
supports what the container scanners use: ``len()``, ``data[i]``, ``data[a:b]`` (bytes), ``find``/``rfind`` over
a window, plus :meth:`window` (a buffer view of a range) and :meth:`prefetch` (many ranges in one round trip).
Each of these first fetches the bytes it returns. Fetched bytes are written into an unlinked sparse temporary
file that is memory-mapped once, so memory stays bounded (the page cache holds what was fetched, ranges never
fetched cost nothing) and the pickle engine can walk the map in place.

Security invariants:
- the source has no buffer protocol: a scanner can only see bytes through a method that fetched them first
  (a forgotten ``memoryview(data)`` or ``struct.unpack_from(fmt, data)`` raises ``TypeError``, which the scan
  turns into a blocking finding, never into a read of bytes that were not fetched);
- the one exception is :meth:`engine_buffer`, the whole map handed to the pickle engine, which walks it
  sequentially. Handing it out marks the source *exposed*; the engine's format hooks report every range they
  step over unread (:meth:`note_jump`). A scan of an exposed source is accepted only when every byte still
  unfetched lies inside a range the engine stepped over in that very scan (``sources.scan`` checks this and
  otherwise fetches more and scans again, finally the whole object);
- a server that ignores ``Range`` and answers with the whole object is detected (length check): the object is
  then complete, never mistaken for the requested range.
"""

from __future__ import annotations

import bisect
import contextlib
import mmap
import os
import tempfile
from collections.abc import Callable, Iterable, Sequence
from typing import Any

__all__ = ["Fetch", "RangeSet", "SparseSource"]

# fetch(ranges) -> the bytes of each [start, end) range, in order.
Fetch = Callable[[Sequence[tuple[int, int]]], Sequence[bytes]]

MIN_READ = 8 << 10           # the smallest range worth a request: scattered headers cost one small read each
PIECE = 8 << 20              # a large range is fetched in pieces of this size (bounded memory per request)
BATCH_BYTES = 32 << 20       # at most this much is held in memory by one batch of concurrent requests
# Fetched after every range the engine steps over (the pickle resumes there). Small: a joblib file with N inline
# arrays pays it N times (at 64 KB, 210 arrays of 1 MB cost 6.3% of the file; at 8 KB, 0.8%); a pickle that
# goes on longer is fetched on demand by the next attempt (``sources.scan``).
JUMP_READAHEAD = MIN_READ
FIND_WINDOW = 64 << 10       # find/rfind fetch and search this much at a time


class RangeSet:
    """Disjoint, sorted half-open ranges with merge-on-add (fetched bytes, engine jumps)."""

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []

    def add(self, start: int, end: int) -> None:
        if end <= start:
            return
        i = bisect.bisect_left(self.ends, start)
        j = bisect.bisect_right(self.starts, end)
        if i < j:
            start = min(start, self.starts[i])
            end = max(end, self.ends[j - 1])
        self.starts[i:j] = [start]
        self.ends[i:j] = [end]

    def missing(self, start: int, end: int) -> list[tuple[int, int]]:
        """The parts of [start, end) not covered."""
        gaps: list[tuple[int, int]] = []
        pos = start
        i = bisect.bisect_right(self.ends, start)
        while pos < end:
            if i >= len(self.starts) or self.starts[i] >= end:
                gaps.append((pos, end))
                break
            if self.starts[i] > pos:
                gaps.append((pos, self.starts[i]))
            pos = max(pos, self.ends[i])
            i += 1
        return gaps

    def covers(self, start: int, end: int) -> bool:
        return not self.missing(start, end)

    def total(self) -> int:
        return sum(e - s for s, e in zip(self.starts, self.ends, strict=True))

    def __iter__(self) -> Any:
        return iter(zip(self.starts, self.ends, strict=True))

    def __len__(self) -> int:
        return len(self.starts)


class _EngineMap(mmap.mmap):
    """The map handed to the pickle engine. Python-level reads (format hooks) fetch first, like the source."""

    source: SparseSource

    def __getitem__(self, key: Any) -> Any:
        self.source._ensure_key(key)
        return super().__getitem__(key)

    def find(self, sub: Any, start: int | None = None, end: int | None = None) -> int:
        """Search forwards, fetching one window at a time: a hit early in a long range fetches little."""
        a, b = _bounds(len(self), start, end)
        overlap = max(len(sub) - 1, 0)
        pos = a
        while True:
            stop = min(b, pos + FIND_WINDOW + overlap)
            self.source.ensure(pos, stop)
            found = super().find(sub, pos, stop)
            if found >= 0 or stop >= b:
                return found
            pos = stop - overlap

    def rfind(self, sub: Any, start: int | None = None, end: int | None = None) -> int:
        """Search backwards, fetching one window at a time."""
        a, b = _bounds(len(self), start, end)
        overlap = max(len(sub) - 1, 0)
        stop = b
        while True:
            pos = max(a, stop - FIND_WINDOW - overlap)
            self.source.ensure(pos, stop)
            found = super().rfind(sub, pos, stop)
            if found >= 0 or pos <= a:
                return found
            stop = pos + overlap

    # The same helpers as the source (``safeload._source``): hooks reach the source through the engine's data.
    def window(self, start: int, end: int) -> memoryview:
        return self.source.window(start, end)

    def engine_buffer(self) -> _EngineMap:
        self.source.exposed = True
        return self

    def note_jump(self, start: int, end: int) -> None:
        self.source.note_jump(start, end)

    def require_all(self) -> None:
        self.source.require_all()


def _bounds(size: int, start: int | None, end: int | None) -> tuple[int, int]:
    a, b, _ = slice(start, end).indices(size)
    return a, max(a, b)


class SparseSource:
    """One remote object of ``size`` bytes, read through ``fetch``. Use as a context manager (or ``close()``)."""

    is_range_source = True

    def __init__(self, size: int, fetch: Fetch, *, label: str = "<remote>", tmpdir: str | None = None,
                 min_read: int = MIN_READ) -> None:
        if size < 0:
            raise ValueError("negative size")
        self.size = size
        self.label = label
        self._fetch = fetch
        self._min_read = max(1, min_read)
        self._have = RangeSet()
        self.jumps = RangeSet()
        self.exposed = False
        self.bytes_fetched = 0
        self.requests = 0
        self.round_trips = 0  # batches of concurrent requests: what latency costs
        self.failure: BaseException | None = None
        self._file = tempfile.TemporaryFile(dir=tmpdir)  # noqa: SIM115 - closed in close()
        self._map: _EngineMap | None = None
        if size:
            os.ftruncate(self._file.fileno(), size)  # sparse: no block is allocated until written
            self._map = _EngineMap(self._file.fileno(), size, access=mmap.ACCESS_READ)
            self._map.source = self

    # -- lifecycle ----------------------------------------------------------------------------------------
    def close(self) -> None:
        if self._map is not None:
            with contextlib.suppress(BufferError):  # a view still held by a caller: the GC unmaps it later
                self._map.close()
            self._map = None
        self._file.close()

    def __enter__(self) -> SparseSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- fetching -----------------------------------------------------------------------------------------
    @property
    def complete(self) -> bool:
        return self._have.covers(0, self.size)

    @property
    def fetched(self) -> RangeSet:
        return self._have

    def ensure(self, start: int, end: int) -> None:
        """Make [start, end) (clamped to the object) readable; small gaps are widened to ``min_read``."""
        start, end = max(0, start), min(self.size, end)
        if end <= start or self._have.covers(start, end):
            return
        self.ensure_many([(start, end)])

    def ensure_many(self, ranges: Iterable[tuple[int, int]]) -> None:
        gaps: list[tuple[int, int]] = []
        for first, last in ranges:
            start, end = max(0, first), min(self.size, last)
            if end <= start:
                continue
            wide_end = min(self.size, max(end, start + self._min_read))
            gaps.extend(self._have.missing(start, wide_end))
        if gaps:
            self._fetch_gaps(_merge(gaps))

    def prefetch(self, ranges: Iterable[tuple[int, int]]) -> None:
        """Fetch many small ranges exactly (not widened) at once: concurrent requests where the backend can."""
        gaps: list[tuple[int, int]] = []
        for first, last in ranges:
            start, end = max(0, first), min(self.size, last)
            if end > start:
                gaps.extend(self._have.missing(start, end))
        if gaps:
            self._fetch_gaps(_merge(gaps))

    def require_all(self) -> None:
        self.ensure(0, self.size)

    def _fetch_gaps(self, gaps: list[tuple[int, int]]) -> None:
        pieces = [(s, min(e, s + PIECE)) for a, b in gaps for s, e in _split(a, b, PIECE)]
        batch: list[tuple[int, int]] = []
        held = 0
        for piece in pieces:
            if batch and held + piece[1] - piece[0] > BATCH_BYTES:
                self._fetch_batch(batch)
                batch, held = [], 0
            batch.append(piece)
            held += piece[1] - piece[0]
        if batch:
            self._fetch_batch(batch)

    def _fetch_batch(self, batch: list[tuple[int, int]]) -> None:
        try:
            blobs = self._fetch(batch)
        except Exception as exc:
            self.failure = exc  # the scan's result is void: the caller re-raises this, never reports "clean"
            raise
        self.requests += len(batch)
        self.round_trips += 1
        if len(blobs) != len(batch):
            raise OSError(f"{self.label}: {len(batch)} ranges asked, {len(blobs)} answered")
        fd = self._file.fileno()
        for (start, end), blob in zip(batch, blobs, strict=True):
            self.bytes_fetched += len(blob)
            if len(blob) == end - start:
                os.pwrite(fd, blob, start)
                self._have.add(start, end)
            elif len(blob) == self.size and (start, end) != (0, self.size):
                # The server ignored Range and sent the whole object: keep it (nothing else is missing now).
                os.pwrite(fd, blob, 0)
                self._have.add(0, self.size)
            else:
                raise OSError(f"{self.label}: asked for bytes {start}-{end - 1}, got {len(blob)} bytes "
                              "(the object changed, or the server mangles ranges)")

    # -- reading (what scanners use) ----------------------------------------------------------------------
    def __len__(self) -> int:
        return self.size

    def _ensure_key(self, key: Any) -> None:
        if isinstance(key, slice):
            a, b, step = key.indices(self.size)
            if step == 1:
                self.ensure(a, b)
            elif step > 0:
                self.ensure(a, max(a, b))
            else:
                self.ensure(max(b, 0), a + 1)
        else:
            i = int(key)
            i = i + self.size if i < 0 else i
            if 0 <= i < self.size:
                self.ensure(i, i + 1)

    def __getitem__(self, key: Any) -> Any:
        self._ensure_key(key)
        if self._map is None:
            return b""[key]
        return mmap.mmap.__getitem__(self._map, key)

    def read_at(self, offset: int, count: int) -> bytes:
        data: bytes = self[offset:offset + count]
        return data

    def find(self, sub: Any, start: int | None = None, end: int | None = None) -> int:
        if self._map is None:
            return b"".find(sub)
        return self._map.find(sub, start, end)

    def rfind(self, sub: Any, start: int | None = None, end: int | None = None) -> int:
        if self._map is None:
            return b"".rfind(sub)
        return self._map.rfind(sub, start, end)

    def window(self, start: int, end: int) -> memoryview:
        """A buffer view of [start, end) (clamped), fetched first."""
        start, end = max(0, start), max(0, min(self.size, end))
        if self._map is None or end <= start:
            return memoryview(b"")
        self.ensure(start, end)
        return memoryview(self._map)[start:end]

    # -- the pickle engine ------------------------------------------------------------------------------------
    def engine_buffer(self) -> Any:
        """The whole map, for the pickle engine to walk in place; marks the source exposed (see module doc)."""
        self.exposed = True
        return self._map if self._map is not None else b""

    def note_jump(self, start: int, end: int) -> None:
        """The engine stepped over [start, end) without reading it (an inline array, a raw storage)."""
        start, end = max(0, start), min(self.size, end)
        self.jumps.add(start, end)
        self.ensure(end, end + JUMP_READAHEAD)

    def reset_attempt(self) -> None:
        self.jumps = RangeSet()
        self.exposed = False

    def unexplained(self) -> list[tuple[int, int]]:
        """Unfetched ranges the engine may have read: empty when the scan saw only fetched bytes."""
        if not self.exposed:
            return []
        holes = self._have.missing(0, self.size)
        out: list[tuple[int, int]] = []
        for start, end in holes:
            out.extend(self.jumps_missing(start, end))
        return out

    def jumps_missing(self, start: int, end: int) -> list[tuple[int, int]]:
        return self.jumps.missing(start, end)


def _split(start: int, end: int, size: int) -> list[tuple[int, int]]:
    return [(s, min(end, s + size)) for s in range(start, end, size)]


def _merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for start, end in sorted(ranges):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out
