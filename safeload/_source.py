"""Turn a path, an open binary file or bytes into one read-only buffer, opened exactly once.

Invariant: the buffer is the bytes the loader will get. For a path we open the file once, map it, and the
loader receives that same open file object; nothing re-opens the path between scan and load.

Scanners also run over a remote object (``safeload.sources.sparse.SparseSource``), which fetches byte ranges
on demand and deliberately has no buffer protocol. The few buffer-level accesses scanners need go through the
helpers below (``window``, ``unpack_at``, ``engine_input``, ``skipped``, ``require_all``): on a local buffer they
are what the code did before (a memoryview, ``unpack_from``, nothing); on a remote source they fetch first, or
tell the source what the pickle engine stepped over unread.
"""

from __future__ import annotations

import io
import os
import struct

from safeload._record import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    import mmap
    from typing import IO, Any

__all__ = ["Buffer", "BufferFile", "SourceView", "describe", "engine_input", "is_remote", "require_all", "skipped",
           "unpack_at", "view_of_file", "window"]

if TYPE_CHECKING:
    Buffer = bytes | bytearray | memoryview | mmap.mmap
else:  # mmap is imported when a file is mapped (issue 15: fixed costs)
    Buffer = bytes | bytearray | memoryview


def is_remote(data: Any) -> bool:
    """True for a source that fetches its bytes on demand (``safeload.sources``)."""
    return getattr(data, "is_range_source", False) is True


def window(data: Any, start: int, end: int) -> memoryview:
    """A buffer view of ``data[start:end]`` (clamped), without copying; a remote source fetches it first."""
    fetch = getattr(data, "window", None)
    if fetch is not None:
        view: memoryview = fetch(start, end)
        return view
    return memoryview(data)[start:end]


def unpack_at(fmt: struct.Struct, data: Any, pos: int) -> tuple[Any, ...]:
    """``fmt.unpack_from(data, pos)``; raises ``struct.error`` when fewer than ``fmt.size`` bytes are there."""
    fetch = getattr(data, "window", None)
    if fetch is None:
        return fmt.unpack_from(data, pos)
    if pos < 0:
        raise struct.error(f"offset {pos} out of range")
    return fmt.unpack_from(fetch(pos, pos + fmt.size))


def engine_input(data: Any) -> Any:
    """What to hand the pickle engine for a whole buffer: the buffer itself, or a remote source's map."""
    hand_out = getattr(data, "engine_buffer", None)
    return hand_out() if hand_out is not None else data


def skipped(data: Any, start: int, end: int) -> None:
    """A format hook stepped over ``data[start:end]`` without reading it (no-op for local buffers)."""
    note = getattr(data, "note_jump", None)
    if note is not None:
        note(start, end)


def require_all(data: Any) -> None:
    """The next reader reads the whole buffer as it likes: a remote source fetches everything first."""
    fetch_all = getattr(data, "require_all", None)
    if fetch_all is not None:
        fetch_all()


class SourceView(Record):
    """``data`` holds the bytes from ``start`` to the end of ``file`` (or the given bytes)."""

    _FIELDS = ("data", "start", "length", "seekable")
    __slots__ = ("data", "length", "seekable", "start")

    def __init__(self, data: Any, start: int, length: int, seekable: bool = True) -> None:
        self.data = data
        self.start = start
        self.length = length
        self.seekable = seekable


def describe(source: object) -> str:
    if isinstance(source, str | os.PathLike):
        return os.fspath(source)
    name = getattr(source, "name", None)
    if isinstance(name, str):
        return name
    return "<bytes>" if isinstance(source, bytes | bytearray | memoryview) else f"<{type(source).__name__}>"


class view_of_file:  # noqa: N801 - called like the function it was: ``with view_of_file(handle) as view``
    """Map (or read) ``handle`` from its current position to the end; restore the position afterwards.

    Seekable regular files are memory-mapped (no copy); BytesIO is viewed in place; anything else is read.
    Non-seekable streams are read whole: the caller must then load from the returned bytes.

    Only a plain file object (``io.FileIO`` or a buffered reader over one) is mapped through its descriptor:
    a wrapper's ``fileno()`` may name another stream than the one it reads (``gzip.GzipFile`` reports the
    compressed file), so wrappers are read through ``read()``, exactly as the loader will read them.

    A class rather than a ``contextlib.contextmanager`` generator: the first safe load does not import
    ``contextlib`` (issue 15: fixed costs).
    """

    __slots__ = ("_handle", "_mapped", "_restore", "_start", "_views")

    def __init__(self, handle: IO[bytes]) -> None:
        self._handle = handle
        self._start = 0
        self._views: tuple[memoryview, ...] = ()
        self._mapped: mmap.mmap | None = None
        self._restore = False

    def __enter__(self) -> SourceView:
        handle = self._handle
        try:
            start = handle.tell()
            seekable = handle.seekable()
        except (OSError, AttributeError, ValueError):
            start, seekable = 0, False
        self._start = start
        if isinstance(handle, io.BytesIO):
            buffer = handle.getbuffer()
            window = buffer[start:]
            self._views = (window, buffer)
            return SourceView(window, start, len(buffer) - start)
        if seekable and _plain_file(handle):
            try:
                fd = handle.fileno()
                if os.fstat(fd).st_size > 0:
                    import mmap  # a file to map (issue 15: a load of bytes does not import it)

                    self._mapped = mmap.mmap(fd, 0, access=mmap.ACCESS_READ)
            except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
                self._mapped = None
        mapped = self._mapped
        if mapped is not None:
            self._restore = True
            try:
                data: Any = mapped if start == 0 else mapped[start:]
                return SourceView(data, start, len(mapped) - start)
            except BaseException:
                self.__exit__(None, None, None)
                raise
        content = handle.read()
        if not isinstance(content, bytes | bytearray):
            raise TypeError(f"expected a binary file, read() returned {type(content).__name__}")
        self._restore = seekable
        try:
            return SourceView(bytes(content), start, len(content), seekable)
        except BaseException:
            self.__exit__(None, None, None)
            raise

    def __exit__(self, *exc_info: object) -> None:
        # Release both views even when a refusal is propagating (its traceback keeps this object alive):
        # a BytesIO with a live export cannot be closed or resized by the caller afterwards.
        views, self._views = self._views, ()
        for view in views:
            try:  # noqa: SIM105 - no contextlib on the first load's path (issue 15)
                view.release()
            except BufferError:
                pass
        if self._restore:
            self._restore = False
            try:
                self._handle.seek(self._start)
            finally:
                mapped, self._mapped = self._mapped, None
                if mapped is not None:
                    mapped.close()


def _plain_file(handle: Any) -> bool:
    """A file object whose descriptor is the very bytes it reads: FileIO, or a buffered reader/random over one."""
    if isinstance(handle, io.FileIO):
        return True
    return isinstance(handle, io.BufferedReader | io.BufferedRandom) and isinstance(handle.raw, io.FileIO)


class BufferFile(io.RawIOBase):
    """A read-only, seekable file over a buffer (bytes, mmap, memoryview) that copies only what is read.

    For parsers that want a file object (h5py, tarfile, zipfile) over bytes already mapped for the scan.
    """

    def __init__(self, data: Any) -> None:
        super().__init__()
        self._remote = data if getattr(data, "window", None) is not None else None
        self._view = memoryview(b"") if self._remote is not None else memoryview(data).cast("B")
        self._size = len(data) if self._remote is not None else len(self._view)
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: Any) -> int:
        target = memoryview(buffer).cast("B")
        if self._remote is not None:
            chunk = self._remote.window(self._pos, self._pos + len(target))
        else:
            chunk = self._view[self._pos:self._pos + len(target)]
        target[:len(chunk)] = chunk
        self._pos += len(chunk)
        return len(chunk)

    def close(self) -> None:
        if not self.closed:
            self._view.release()
        super().close()
