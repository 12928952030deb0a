"""``safeload.pandas_read_pickle``: ``pandas.read_pickle`` after a static scan of exactly what it unpickles.

``pandas.read_pickle`` unpickles with the stdlib ``pickle`` (and, when that raises, pandas' compatibility
unpickler over the same handle, rewound to 0), which the import hook leaves alone by default; this loader is
what the hook puts in place of ``pandas.read_pickle``.

Security invariants:
- pandas itself resolves and opens the source (``pandas.io.common.get_handle``: URLs, ``storage_options``,
  the compression it infers from the name or is told, an HTTP ``Content-Encoding``), so what is scanned is
  what pandas reads; the real ``read_pickle`` always receives bytes that were scanned, with
  ``compression=None``;
- uncompressed: a local file is memory-mapped once, scanned, and that same handle is unpickled; a buffer is
  scanned from where pandas reads it (a buffer not at its start is loaded from a copy of the scanned bytes,
  since pandas' retry rewinds to 0);
- compressed (gzip, bz2, xz, zstd, zip, tar): pandas' own decompressing reader is drained in bounded reads into
  a temporary file under the same caps as every codec (SL016 size, SL017 ratio); that output is scanned and
  that same output is unpickled. A zip or tar archive is first scanned as an archive (member counts,
  decompression caps, contents) because pandas reads a zip member whole and walks a whole tar to list it;
- a refusal names the source the caller passed, never the temporary file, and is raised before pandas
  unpickles anything; ``pandas.read_pickle`` is called through :func:`real_loader`, never its patched name.
"""

from __future__ import annotations

import importlib
import io
import os
from collections.abc import Iterable
from typing import IO, Any

from safeload._context import LimitExceeded, ScanContext
from safeload._source import view_of_file
from safeload.exceptions import PolicyError, UnsafePickleError
from safeload.loaders._common import (
    Certificates,
    Integrity,
    PathArg,
    decide,
    guard_buffer,
    guard_scan,
    integrity_options,
    integrity_required,
    policy_for,
    real_loader,
)
from safeload.policy import Policy
from safeload.scanners.compressed import drop_pages, scan_decompressed, spool
from safeload.severity import Severity

__all__ = ["pandas_read_pickle"]

Threshold = Severity | str | None
Trusted = Iterable[str] | str | None

LOADER = "pandas.read_pickle"


def _label(source: Any) -> str:
    if isinstance(source, str | os.PathLike):
        return os.fspath(source)
    name = getattr(source, "name", None)
    return name if isinstance(name, str) else f"<{type(source).__name__}>"


def _local_size(source: Any) -> int | None:
    """Size of the compressed source when it can be told without reading it (for the ratio cap)."""
    if isinstance(source, str | os.PathLike):
        try:
            return os.stat(source).st_size
        except (OSError, ValueError):
            return None  # a URL or a remote path: only the size cap applies
    try:
        here = source.tell()
        end = source.seek(0, io.SEEK_END)
        source.seek(here)
        return int(end) - int(here)
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return None


# File objects whose fileno() maps the very bytes read() returns. Anything else (gzip.GzipFile, a decrypting
# wrapper, ...) may expose the fd of a *different* byte stream than it reads: it is read, not mapped.
_MAPPABLE = (io.BufferedReader, io.BufferedRandom, io.FileIO)


def _load_plain(handle: IO[bytes], label: str, path: str | None, policy: Policy, read_pickle: Any) -> Any:
    if isinstance(handle, io.BytesIO):
        # viewed in place, and the view released before anything propagates: pandas closes the BytesIO it made
        # for a URL, which fails while a view of it is alive (a refusal's traceback would keep one)
        start = handle.tell()
        whole = handle.getbuffer()
        window = whole[start:]
        try:
            guard_buffer(window, label, policy, LOADER, path=path)
        finally:
            window.release()
            whole.release()
        if start == 0:
            return read_pickle(handle, compression=None)
        return read_pickle(io.BytesIO(handle.getvalue()[start:]), compression=None)
    if type(handle) not in _MAPPABLE:
        content = handle.read()
        if not isinstance(content, bytes | bytearray):
            raise TypeError(f"expected a binary file, read() returned {type(content).__name__}")
        guard_buffer(content, label, policy, LOADER, path=path)
        return read_pickle(io.BytesIO(content), compression=None)
    with view_of_file(handle) as view:
        guard_buffer(view.data, label, policy, LOADER, path=path)
        if view.seekable and view.start == 0:
            return read_pickle(handle, compression=None)
        copy = io.BytesIO(bytes(view.data))  # exactly the scanned bytes, at position 0 for pandas' retry
    return read_pickle(copy, compression=None)


def _load_compressed(reader: IO[bytes], method: str, size: int | None, ctx: ScanContext, *, policy: Policy,
                     read_pickle: Any) -> Any:
    ctx.note_format(f"{method}-compressed")
    with spool(reader, method, size, policy.limits, on_limit=ctx.add_limit) as out:
        try:
            scan_decompressed(out, size or 0, ctx)
        except LimitExceeded as exc:
            ctx.add_limit(exc)
        decide(ctx, policy, LOADER, UnsafePickleError)
        if out.file is None:  # nothing came out, and the scan said so (SL003) without reaching the threshold
            return read_pickle(io.BytesIO(b""), compression=None)
        drop_pages(out.data)
        return read_pickle(out.file, compression=None)


def pandas_read_pickle(filepath_or_buffer: Any, compression: Any = "infer", storage_options: Any = None, *,
                       threshold: Threshold = None, trusted: Trusted = None, policy: Policy | None = None,
                       expected_sha256: str | None = None, signature: PathArg | None = None,
                       public_key: PathArg | None = None, certificate: Certificates | None = None,
                       integrity: Integrity | None = None) -> Any:
    """``pandas.read_pickle`` after a static scan. Same arguments and result; raises ``UnsafePickleError``.

    Args:
        filepath_or_buffer, compression, storage_options: as for ``pandas.read_pickle`` (every compression
            pandas infers or accepts, including ``"zstd"``, ``"zip"`` and ``"tar"``, and a dict with
            ``"method"`` and the decompressor's arguments).
        threshold, trusted, policy: safeload's policy for this call (see ``safeload.scan``).
        expected_sha256, signature, public_key, certificate, integrity: integrity checks of the file as stored
            (compressed bytes included), before pandas reads it (``docs/integrity.md``); they need a local file.

    Example:
        >>> frame = safeload.pandas_read_pickle("frame.pkl.zst")  # doctest: +SKIP
    """
    effective = policy_for(threshold, trusted, policy)
    checks = integrity_options(expected_sha256, signature, public_key, certificate, integrity)
    if integrity_required(checks):
        # Verify the stored bytes once, then let pandas read that same open file (never the name again).
        if not isinstance(filepath_or_buffer, str | os.PathLike) or not os.path.isfile(filepath_or_buffer):
            raise PolicyError("integrity checks (a pinned digest, lock or signature) need a local file path")
        label = os.fspath(filepath_or_buffer)
        with open(label, "rb") as handle:
            with view_of_file(handle) as view:
                guard_scan(view.data, label, effective, LOADER, lambda ctx: ctx.note_format("stored bytes"),
                           name=os.path.basename(label), path=label, integrity=checks)
            handle.seek(0)
            if compression == "infer":
                compression = importlib.import_module("pandas.io.common").infer_compression(label, "infer")
            return _read_pickle(handle, compression, storage_options, effective)
    return _read_pickle(filepath_or_buffer, compression, storage_options, effective)


def _read_pickle(filepath_or_buffer: Any, compression: Any, storage_options: Any, effective: Policy) -> Any:
    common = importlib.import_module("pandas.io.common")
    read_pickle = real_loader("pandas", "read_pickle")
    label = _label(filepath_or_buffer)
    path = label if isinstance(filepath_or_buffer, str | os.PathLike) else None
    method, args = common.get_compression_method(compression)
    method = common.infer_compression(filepath_or_buffer, method)  # pandas' own inference, from the name
    size = _local_size(filepath_or_buffer)
    with common.get_handle(filepath_or_buffer, "rb", compression=None, is_text=False,
                           storage_options=storage_options) as raw:
        transport = raw.compression.get("method")
        if transport is not None:
            # An HTTP server's Content-Encoding: pandas decodes that, and only that, whatever was asked.
            return _load_compressed(raw.handle, transport, None, ScanContext(effective, label, path=path),
                                    policy=effective, read_pickle=read_pickle)
        if method is None:
            return _load_plain(raw.handle, label, path, effective, read_pickle)
        ctx = ScanContext(effective, label, path=path)
        if method in ("zip", "tar"):
            from safeload.scan import scan_buffer

            with view_of_file(raw.handle) as view:
                scan_buffer(view.data, ctx)
            if ctx.result().blocking(effective.threshold):
                decide(ctx, effective, LOADER, UnsafePickleError)
        with common.get_handle(raw.handle, "rb", compression={"method": method, **args}, is_text=False) as inner:
            return _load_compressed(inner.handle, method, size, ctx, policy=effective, read_pickle=read_pickle)
