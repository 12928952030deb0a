"""Compressed streams (zlib, gzip, bz2, lzma/xz, lz4, zstd, joblib's old ``ZF`` container), detected by content.

joblib's compressors write standard streams, and ``joblib.load`` decompresses the whole stream before it
unpickles (THREATS C11; section 4): a compressed pickle is still a pickle and must be scanned as one.

Security invariants:
- the stream is decompressed incrementally, in bounded chunks, into an anonymous temporary file that is then
  memory-mapped for scanning: memory stays bounded whatever the output size, and the output is capped by
  ``limits.max_decompressed_bytes`` (SL016) and, beyond a small floor, ``limits.max_compression_ratio``
  (SL017); a decompression bomb is a finding, never an out-of-memory;
- concatenated streams are followed the way the standard library's file readers (which joblib uses) follow
  them; bytes after the last stream that are not a stream are ignored by those readers and are reported;
- zstd (``pandas.to_pickle(compression="zstd")``, read by pandas through ``zstandard``, whose reader goes on
  across frames) is walked frame by frame and block by block first, in bounded steps, so a truncated frame is
  an error (``zstandard`` itself reports one as a short, clean end) and bytes after the last frame are
  reported; each frame is then decompressed through ``zstandard``'s stream reader in bounded reads;
- truncated or corrupt compressed data is a blocking finding (SL002), and whatever was decompressed before
  the error is still scanned (a payload can sit in the first block);
- the decompressed bytes are handed to ``scan_buffer``: routing is by content again, never by extension.
"""

from __future__ import annotations

import bz2
import contextlib
import io
import lzma
import mmap
import tempfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from safeload._context import LimitExceeded, ScanContext
from safeload._sniff import Format, sniff

__all__ = ["Decompressed", "decompress", "detect", "drop_pages", "scan_compressed", "scan_decompressed", "spool"]

_CHUNK_IN = 1 << 20            # compressed bytes fed per step
_CHUNK_OUT = 8 << 20           # decompressed bytes produced per step (bounded memory)
_RATIO_FLOOR = 64 << 20        # ratios only matter once the output is large enough to hurt
_DROP_EVERY = 32 << 20         # unmap consumed pages of mapped input this often
_ZF_PREFIX = b"ZF"
_ZF_HEADER = 2 + 19            # "ZF" + hex(2**64) length, left-justified (joblib < 0.10)


@dataclass
class Decompressed:
    """Result of :func:`decompress`: ``data`` maps the output (empty bytes when there is none)."""

    data: Any
    size: int
    method: str
    complete: bool
    error: str | None = None
    trailing: int = 0
    limited: bool = False
    file: IO[bytes] | None = None  # the temporary file holding the output (rewound), for loaders


def detect(data: Any) -> str | None:
    """The compression method of ``data`` by magic bytes (``zf`` for joblib's old container), or None."""
    head = bytes(data[:8])
    if head.startswith(_ZF_PREFIX):
        return "zf"
    fmt = sniff(data, safetensors=False)  # compression magic wins here: a gzip header can also read as safetensors
    return {Format.GZIP: "gzip", Format.BZIP2: "bz2", Format.XZ: "xz", Format.LZMA: "lzma",
            Format.ZLIB: "zlib", Format.LZ4: "lz4", Format.ZSTD: "zstd"}.get(fmt)


class _Stream:
    """One decompressor step function over one stream; ``eof`` and ``unused`` as in the stdlib objects."""

    def __init__(self, method: str) -> None:
        self.method = method
        self._zlib = method in ("zlib", "zf", "gzip")
        self._obj: Any
        if method in ("zlib", "zf"):
            self._obj = zlib.decompressobj(zlib.MAX_WBITS)
        elif method == "gzip":
            self._obj = zlib.decompressobj(zlib.MAX_WBITS | 16)
        elif method == "bz2":
            self._obj = bz2.BZ2Decompressor()
        elif method in ("xz", "lzma"):
            self._obj = lzma.LZMADecompressor(lzma.FORMAT_AUTO)
        elif method == "lz4":
            import lz4.frame

            self._obj = lz4.frame.LZ4FrameDecompressor()
        else:  # pragma: no cover - callers pass detect()'s values
            raise ValueError(method)

    def feed(self, chunk: bytes, max_length: int) -> bytes:
        obj = self._obj
        if self._zlib:
            out: bytes = obj.decompress(obj.unconsumed_tail + chunk if chunk else obj.unconsumed_tail, max_length)
            return out
        result: bytes = obj.decompress(chunk, max_length=max_length)
        return result

    def pending_input(self) -> bool:
        """True when the decompressor holds input it has not turned into output yet."""
        obj = self._obj
        if self._zlib:
            return bool(obj.unconsumed_tail)
        return not getattr(obj, "needs_input", True)

    @property
    def eof(self) -> bool:
        return bool(self._obj.eof)

    @property
    def unused(self) -> bytes:
        return bytes(self._obj.unused_data or b"")


def _errors(method: str) -> tuple[type[BaseException], ...]:
    """The exceptions a corrupt ``method`` stream raises. The optional ``lz4``/``zstandard`` packages are imported
    only for their own streams (red team R6-2: a gzip read imported both)."""
    errors: list[type[BaseException]] = [zlib.error, OSError, EOFError, lzma.LZMAError, ValueError]
    if method == "lz4":
        errors.append(RuntimeError)  # lz4 raises RuntimeError on corrupt frames
    if method == "zstd":
        with contextlib.suppress(ImportError):
            import zstandard

            errors.append(zstandard.ZstdError)
    return tuple(errors)


_ZSTD_FRAME = 0xFD2FB528
_ZSTD_BLOCK_MAX = 128 * 1024  # a zstd block never decompresses to more (ZSTD_BLOCKSIZE_MAX)


class _ZstdError(ValueError):
    """The zstd frame structure is malformed or truncated."""


def _zstd_frame_end(view: memoryview, pos: int, n: int, budget: list[int]) -> tuple[int, bool]:
    """End offset of the zstd frame at ``pos`` (walking its block headers) and whether it is a skippable frame.

    Raises :class:`_ZstdError` for a frame that is malformed or runs past ``n``; ``budget[0]`` counts blocks
    left (LimitExceeded when spent), so a file of millions of empty blocks cannot keep the walk busy.
    """
    magic = int.from_bytes(view[pos:pos + 4], "little") if pos + 4 <= n else -1
    if magic != _ZSTD_FRAME and magic & 0xFFFFFFF0 != 0x184D2A50:
        raise _ZstdError(f"no zstd frame at offset {pos}")
    if pos + 8 > n:
        raise _ZstdError(f"truncated zstd frame header at offset {pos}")
    if magic & 0xFFFFFFF0 == 0x184D2A50:  # skippable frame: 4-byte size, then user data no reader outputs
        end = pos + 8 + int.from_bytes(view[pos + 4:pos + 8], "little")
        if end > n:
            raise _ZstdError(f"truncated zstd skippable frame at offset {pos}")
        return end, True
    descriptor = view[pos + 4]
    if descriptor & 0x08:
        raise _ZstdError(f"reserved bit set in the zstd frame header at offset {pos}")
    single_segment = (descriptor >> 5) & 1
    content_size_bytes = (single_segment, 2, 4, 8)[descriptor >> 6]
    p = pos + 5 + (0 if single_segment else 1) + (0, 1, 2, 4)[descriptor & 3] + content_size_bytes
    while True:
        budget[0] -= 1
        if budget[0] < 0:
            raise LimitExceeded("SL016", "zstd data has more blocks than its output cap allows")
        if p + 3 > n:
            raise _ZstdError(f"truncated zstd frame (block header past the end, frame at offset {pos})")
        header = int.from_bytes(view[p:p + 3], "little")
        block_type, size = (header >> 1) & 3, header >> 3
        if block_type == 3:
            raise _ZstdError(f"reserved zstd block type at offset {p}")
        p += 3 + (1 if block_type == 1 else size)
        if p > n:
            raise _ZstdError(f"truncated zstd frame (block past the end, frame at offset {pos})")
        if header & 1:  # last block
            break
    p += 4 if descriptor & 0x04 else 0  # content checksum
    if p > n:
        raise _ZstdError(f"truncated zstd frame (checksum past the end, frame at offset {pos})")
    return p, False


class _Window(io.RawIOBase):
    """A read-only file over ``view[start:end]`` that counts what the decompressor has pulled."""

    def __init__(self, view: memoryview, start: int, end: int) -> None:
        super().__init__()
        self._view, self.pos, self._end = view, start, end

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        stop = self._end if size is None or size < 0 else min(self._end, self.pos + size)
        chunk = bytes(self._view[self.pos:stop])
        self.pos = stop
        return chunk


def _decompress_zstd(data: Any, view: memoryview, n: int, limits: Any,
                     emit: Callable[[bytes, int], None]) -> tuple[bool, str | None, int]:
    """Every frame of a zstd stream through ``emit``; returns ``(complete, error, trailing)``."""
    import zstandard

    budget = [4 * int(limits.max_decompressed_bytes) // _ZSTD_BLOCK_MAX + 10_000]
    dctx = zstandard.ZstdDecompressor()
    pos = 0
    frames = 0
    while pos < n:
        try:
            end, skippable = _zstd_frame_end(view, pos, n, budget)
        except _ZstdError as exc:
            if frames and str(exc).startswith("no zstd frame"):
                return True, None, n - pos  # not a further frame: zstandard's reader fails only if it gets there
            # decompress what there is (a payload can sit in the first block), then report the error
            _drain(dctx, view, pos, n, emit)
            return False, f"corrupt zstd data after {frames} frame(s): {exc}", 0
        frames += 1
        if not skippable:
            _drain(dctx, view, pos, end, emit)
        drop_pages(data, pos)
        pos = end
    return True, None, 0


def _drain(dctx: Any, view: memoryview, start: int, end: int, emit: Callable[[bytes, int], None]) -> None:
    window = _Window(view, start, end)
    reader = dctx.stream_reader(window, read_size=_CHUNK_IN, closefd=False)
    while True:
        out = reader.read(_CHUNK_OUT)
        if not out:
            return
        emit(out, window.pos)


# Read on across streams by the stdlib's readers (DecompressReader; gzip.GzipFile follows every gzip member, and
# pandas, gzip.open and most callers read .gz files through it). Scanning every member is the superset: joblib
# itself reads one zlib/gzip stream, and its loader loads from this output (unpickling stops at the first STOP).
_MULTI_STREAM = frozenset({"bz2", "xz", "lzma", "lz4", "gzip"})


@contextlib.contextmanager
def decompress(data: Any, method: str, limits: Any, *,
               on_limit: Callable[[LimitExceeded], None] | None = None) -> Iterator[Decompressed]:
    """Decompress ``data`` (bytes-like or mmap) with ``method`` into a temporary, memory-mapped file.

    Follows the stdlib's readers: bz2/lzma/xz/lz4/gzip files may hold several concatenated streams (bytes
    after the last one that are not a stream are ignored by those readers); zlib and the old ``ZF``
    container hold one stream. Stops at the size cap or the ratio
    cap (reported through ``on_limit``, or raised when it is None). The yielded ``data`` is valid inside the
    ``with`` block only.
    """
    view = memoryview(data)  # released below: the caller may close an mmap under it
    n = len(view)
    start = 0
    if method == "zf":
        start = _ZF_HEADER
        if bytes(view[start:start + 1]) == b" ":  # joblib <= 0.8.4 wrote one more space
            start += 1
    errors = _errors(method)
    total = 0
    complete = False
    error: str | None = None
    trailing = 0
    limited = False
    with tempfile.TemporaryFile(prefix="safeload-") as sink:
        capped = _Capped(sink, method, limits)

        def emit(out: bytes, consumed: int) -> None:
            nonlocal total
            capped.write(out, consumed)
            total = capped.total

        pos = start
        dropped = 0
        stream = _Stream(method) if method != "zstd" else None
        stream_start = pos
        try:
            if method == "zstd":
                complete, error, trailing = _decompress_zstd(data, view, n, limits, emit)
            while stream is not None:
                chunk = bytes(view[pos:pos + _CHUNK_IN])
                pos += len(chunk)
                if pos - dropped >= _DROP_EVERY:
                    drop_pages(data, stream_start if method in _MULTI_STREAM else pos - _CHUNK_IN)
                    dropped = pos
                try:
                    out = stream.feed(chunk, _CHUNK_OUT)
                except errors:
                    if stream_start > start and total and method in _MULTI_STREAM:
                        # Not a further stream: the stdlib readers stop here and ignore the rest.
                        trailing = n - stream_start
                        complete = True
                        break
                    raise
                emit(out, pos - start)
                while out and not stream.eof and stream.pending_input():
                    out = stream.feed(b"", _CHUNK_OUT)
                    emit(out, pos - start)
                if stream.eof:
                    end = pos - len(stream.unused)
                    if end >= n:
                        complete = True
                        break
                    if method not in _MULTI_STREAM:
                        trailing = n - end
                        complete = True
                        break
                    pos = stream_start = end
                    stream = _Stream(method)
                    continue
                if not chunk and not stream.pending_input():
                    error = f"truncated {method} stream: it ends after {total} decompressed bytes"
                    break
        except LimitExceeded as exc:
            if on_limit is None:
                raise
            on_limit(exc)
            error = str(exc)
            limited = True
        except errors as exc:
            error = f"corrupt {method} stream after {total} decompressed bytes: {type(exc).__name__}: {exc}"
        view.release()
        drop_pages(data)  # the compressed input was read once; do not keep its pages mapped
        with _mapped(sink, method, complete=complete, error=error, trailing=trailing, limited=limited) as result:
            yield result


class _Capped:
    """Writes decompressed chunks to ``sink`` while the size cap (SL016) and ratio cap (SL017) hold."""

    def __init__(self, sink: IO[bytes], method: str, limits: Any) -> None:
        self.sink, self.method, self.total = sink, method, 0
        self.max_out = int(limits.max_decompressed_bytes)
        self.ratio = float(limits.max_compression_ratio)

    def write(self, out: bytes, consumed: int | None) -> None:
        """``consumed``: compressed bytes read so far (None when unknown: only the size cap applies)."""
        if not out:
            return
        self.total += len(out)
        if self.total > self.max_out:
            raise LimitExceeded("SL016", f"{self.method} data decompresses to more than {self.max_out} bytes")
        if consumed is not None and self.total > _RATIO_FLOOR and self.total > self.ratio * max(consumed, 1):
            raise LimitExceeded("SL017", f"{self.method} compression ratio above {self.ratio:g}:1 "
                                f"({self.total} bytes out of {consumed})")
        self.sink.write(out)


@contextlib.contextmanager
def _mapped(sink: IO[bytes], method: str, *, complete: bool, error: str | None, trailing: int,
            limited: bool) -> Iterator[Decompressed]:
    sink.flush()
    if sink.tell() == 0:
        yield Decompressed(b"", 0, method, complete, error, trailing, limited)
        return
    mapped = mmap.mmap(sink.fileno(), 0, access=mmap.ACCESS_READ)
    sink.seek(0)
    try:
        yield Decompressed(mapped, len(mapped), method, complete and error is None, error, trailing, limited, sink)
    finally:
        mapped.close()


@contextlib.contextmanager
def spool(reader: IO[bytes], method: str, compressed_size: int | None, limits: Any, *,
          on_limit: Callable[[LimitExceeded], None] | None = None) -> Iterator[Decompressed]:
    """Read a decompressing file object (a library's own reader: ``gzip.GzipFile``, ``zstandard``'s, ...) to
    its end, in bounded reads, into a temporary memory-mapped file, under the same caps as :func:`decompress`.

    For loaders that must decompress exactly as their library does (``pandas.read_pickle``): the library's
    reader produces the bytes, safeload scans that output, and the library loads from the same output. The
    ratio cap applies when ``compressed_size`` is known. A read error ends the output with ``error`` set
    (what was read before it is kept for the scan).
    """
    errors: tuple[type[BaseException], ...] = (*_errors(method), EOFError)
    complete = False
    error: str | None = None
    limited = False
    with tempfile.TemporaryFile(prefix="safeload-") as sink:
        capped = _Capped(sink, method, limits)
        try:
            while True:
                chunk = reader.read(_CHUNK_OUT)
                if not chunk:
                    complete = True
                    break
                capped.write(chunk, compressed_size)
        except LimitExceeded as exc:
            if on_limit is None:
                raise
            on_limit(exc)
            error = str(exc)
            limited = True
        except errors as exc:
            error = f"corrupt {method} data after {capped.total} decompressed bytes: {type(exc).__name__}: {exc}"
        with _mapped(sink, method, complete=complete, error=error, trailing=0, limited=limited) as result:
            yield result


def drop_pages(data: Any, upto: int | None = None) -> None:
    """Unmap the resident pages of a read-only file mapping we are done reading (they stay in the page cache).

    Memory-mapped input counts toward the process's resident size once touched; a loader that goes on to
    build large objects should not also hold the pages of bytes it has finished scanning.
    """
    if isinstance(data, mmap.mmap) and hasattr(mmap, "MADV_DONTNEED"):
        with contextlib.suppress(OSError, ValueError):
            if upto is None:
                data.madvise(mmap.MADV_DONTNEED)
            elif upto >= mmap.PAGESIZE:
                data.madvise(mmap.MADV_DONTNEED, 0, upto - upto % mmap.PAGESIZE)


def _zf_header_error(data: Any) -> str | None:
    header = bytes(data[2:_ZF_HEADER]).strip()
    try:
        int(header, 16)
    except ValueError:
        return f"joblib ZF container with an unreadable length field {header[:19]!r}"
    return None


def scan_compressed(data: Any, ctx: ScanContext) -> None:
    """Registry entry point: decompress (capped) and scan what comes out, by content."""
    method = detect(data)
    if method is None:
        ctx.add("SL002", "compressed data of an unknown kind")
        return
    if method == "lz4":
        try:
            import lz4.frame  # noqa: F401
        except ImportError:
            ctx.add("SL002", "lz4 data, but the lz4 package is not installed: cannot decompress to scan it")
            return
    if method == "zstd":
        try:
            import zstandard  # noqa: F401 - the reader pandas uses for .zst files
        except ImportError:
            ctx.add("SL002", "zstd data, but the zstandard package is not installed: cannot decompress to scan it")
            return
    ctx.note_format(f"{method}-compressed")
    if method == "zf":
        problem = _zf_header_error(data)
        if problem is not None:
            ctx.add("SL002", problem, offset=0)
            return
    with decompress(data, method, ctx.limits, on_limit=ctx.add_limit) as out:
        scan_decompressed(out, len(data), ctx)


def scan_decompressed(out: Decompressed, compressed_size: int, ctx: ScanContext) -> None:
    """Report on a finished :func:`decompress` and scan its output by content (also used by loaders that
    load from the decompressed copy, so the bytes that run are the bytes that were scanned)."""
    from safeload.scan import scan_buffer

    method = out.method
    ctx.add("SL301", f"{method}-compressed stream: {compressed_size} bytes decompress to {out.size}",
            details={"compression": method, "compressed": compressed_size, "decompressed": out.size})
    if out.error is not None and not out.limited:
        ctx.add("SL002", out.error)
    if out.trailing:
        ctx.add("SL108", f"{out.trailing} bytes after the {method} stream are not compressed data "
                "(the decompressing readers never reach them)")
    if out.size:
        with ctx.inside(f"<decompressed {method}>", nested=True):
            scan_buffer(out.data, ctx)
    elif out.error is None:
        ctx.add("SL003", f"the {method} stream is empty: no model to scan or load")
