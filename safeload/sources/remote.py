"""fsspec URLs as scan sources: identify an object, list a prefix or a glob, and read byte ranges.

``fsspec`` and its backends (``s3fs``, ``gcsfs``, ``adlfs``, ``aiohttp`` for http) are imported here, lazily,
only when a URL is scanned (extras ``safeload[s3]``, ``[gcs]``, ``[azure]``, ``[remote]``). Credentials and
endpoints come from each backend's usual configuration (``AWS_*`` variables, ``AWS_ENDPOINT_URL``,
``~/.aws``, ``GOOGLE_APPLICATION_CREDENTIALS``, ...) or from ``storage_options``.

Invariants: an object is read only by byte ranges of the size its listing or ``info`` reported (a range that
comes back with another length is an error, see ``sparse.SparseSource``); transient I/O errors (timeouts,
connection resets, HTTP 429/5xx) are retried a bounded number of times with backoff, other errors are raised.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from safeload._log import get_logger
from safeload.sources.sparse import SparseSource

__all__ = ["REMOTE_SCHEMES", "ListingError", "RemoteObject", "TransientError", "expand", "filesystem",
           "is_remote_url", "is_transient", "open_object", "stat_object"]

logger = get_logger(__name__)

# Schemes scanned by ranges through fsspec. ``file://`` is a local path (scanned as one, mapped in place).
REMOTE_SCHEMES = frozenset({"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "adl", "http", "https", "hf",
                            "memory"})
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://")
_GLOB = re.compile(r"[*?\[]")
RETRIES = 4
_BACKOFF = 0.2


class TransientError(OSError):
    """An I/O error worth retrying elsewhere or later (the fleet engine retries the task)."""


class ListingError(OSError):
    """A prefix or glob could not be listed."""


@dataclass(frozen=True)
class RemoteObject:
    """One object as its store describes it. ``version`` is the store's change token (ETag, generation...)."""

    url: str
    size: int
    etag: str | None = None
    mtime: str | None = None
    sha256: str | None = None

    @property
    def name(self) -> str:
        return self.url.rstrip("/").rsplit("/", 1)[-1]


def scheme_of(text: str) -> str | None:
    match = _SCHEME.match(text)
    return match.group(1).lower() if match else None


def is_remote_url(text: object) -> bool:
    return isinstance(text, str) and scheme_of(text) in REMOTE_SCHEMES


def filesystem(url: str, storage_options: Mapping[str, Any] | None = None) -> tuple[Any, str]:
    """``(fs, path)`` for ``url`` (fsspec imported here)."""
    try:
        from fsspec.core import url_to_fs
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise ImportError("scanning URLs needs fsspec: pip install 'safeload[remote]' (or [s3], [gcs], [azure])"
                          ) from exc
    fs, path = url_to_fs(url, **dict(storage_options or {}))
    return fs, path


def _status(exc: BaseException) -> int | None:
    for attr in ("status", "status_code", "code"):
        value = getattr(exc, attr, None)
        if isinstance(value, int):
            return value
    response = getattr(exc, "response", None)
    if isinstance(response, Mapping):
        meta = response.get("ResponseMetadata", {})
        code = meta.get("HTTPStatusCode") if isinstance(meta, Mapping) else None
        if isinstance(code, int):
            return code
    return None


def is_transient(exc: BaseException, _depth: int = 0) -> bool:
    """Timeouts, dropped connections and throttling/server errors: worth another try."""
    if isinstance(exc, TransientError | TimeoutError | ConnectionError):
        return True
    if isinstance(exc, FileNotFoundError | PermissionError | IsADirectoryError | NotADirectoryError):
        # fsspec's HTTP backend reports any failed HEAD-then-GET as FileNotFoundError, the 503 as its cause
        cause = exc.__cause__
        return cause is not None and _depth < 4 and is_transient(cause, _depth + 1)
    status = _status(exc)
    if status is not None:
        return status == 429 or status >= 500
    name = type(exc).__name__
    return name in {"ClientConnectionError", "ServerDisconnectedError", "ClientOSError", "ClientPayloadError",
                    "EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError",
                    "ResponseStreamingError", "IncompleteReadError", "ServerTimeoutError"}


def _retrying(what: str, func: Any, *args: Any, **kwargs: Any) -> Any:
    for attempt in range(RETRIES + 1):
        try:
            return func(*args, **kwargs)
        except Exception as exc:
            if not is_transient(exc):
                raise
            if attempt == RETRIES:
                raise TransientError(f"{what}: {type(exc).__name__}: {exc}") from exc
            logger.info("%s: %s, retrying", what, type(exc).__name__)
            time.sleep(_BACKOFF * (2 ** attempt))
    raise AssertionError("unreachable")  # pragma: no cover


def _join(fs: Any, path: str) -> str:
    """The URL of ``path`` on ``fs`` (fsspec strips the protocol from listed paths)."""
    unstrip = getattr(fs, "unstrip_protocol", None)
    if unstrip is not None:
        return str(unstrip(path))
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    return f"{protocol}://{path}"


def _object(fs: Any, path: str, info: Mapping[str, Any]) -> RemoteObject:
    url = str(info.get("url") or _join(fs, path))
    etag = info.get("ETag") or info.get("etag") or info.get("generation") or info.get("VersionId")
    mtime = info.get("LastModified") or info.get("Last-Modified") or info.get("mtime") or info.get("updated") \
        or info.get("last_modified")
    sha = info.get("ChecksumSHA256") or info.get("sha256")
    lfs = info.get("lfs")
    if sha is None and isinstance(lfs, Mapping):
        sha = lfs.get("sha256") or lfs.get("oid")
    size = info.get("size")
    if not isinstance(size, int) or size < 0:
        raise OSError(f"{url}: the store reports no size")
    return RemoteObject(url=url, size=size, etag=str(etag).strip('"') if etag else None,
                        mtime=str(mtime) if mtime else None, sha256=str(sha) if sha else None)


def stat_object(url: str, storage_options: Mapping[str, Any] | None = None) -> RemoteObject:
    """Describe one object (size, ETag, mtime); raises FileNotFoundError, IsADirectoryError or OSError."""
    fs, path = filesystem(url, storage_options)
    invalidate = getattr(fs, "invalidate_cache", None)
    if invalidate is not None:
        invalidate(path)
    info = _retrying(f"info {url}", fs.info, path)
    if info.get("type") == "directory":
        raise IsADirectoryError(url)
    return _with_url(_object(fs, path, info), url)


def expand(url: str, storage_options: Mapping[str, Any] | None = None) -> Iterator[RemoteObject]:
    """Every object a URL names: itself, everything below a prefix, or what a glob matches (sorted).

    Raises :class:`ListingError` when nothing can be listed (an unreachable store, a missing bucket).
    """
    fs, path = filesystem(url, storage_options)
    # fsspec caches listings per filesystem instance: a re-run in the same process must see changed objects.
    invalidate = getattr(fs, "invalidate_cache", None)
    if invalidate is not None:
        invalidate()
    try:
        if _GLOB.search(path):
            found = _retrying(f"glob {url}", fs.glob, path, detail=True)
        else:
            info = _retrying(f"info {url}", fs.info, path)
            if info.get("type") != "directory":
                yield _with_url(_object(fs, path, info), url)
                return
            found = _retrying(f"list {url}", fs.find, path, detail=True)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise ListingError(f"cannot list {url}: {exc}") from exc
    except Exception as exc:
        raise ListingError(f"cannot list {url}: {type(exc).__name__}: {exc}") from exc
    for name in sorted(found):
        info = found[name]
        if info.get("type") == "directory":
            continue
        yield _object(fs, name, info)


def _with_url(obj: RemoteObject, url: str) -> RemoteObject:
    return RemoteObject(url, obj.size, obj.etag, obj.mtime, obj.sha256)


class _Fetcher:
    """Byte ranges of one object through fsspec, concurrent where the backend is async."""

    def __init__(self, fs: Any, path: str, label: str) -> None:
        self.fs = fs
        self.path = path
        self.label = label

    def __call__(self, ranges: Sequence[tuple[int, int]]) -> list[bytes]:
        if len(ranges) == 1:
            start, end = ranges[0]
            blob = _retrying(f"read {self.label}", self.fs.cat_file, self.path, start=start, end=end)
            return [bytes(blob)]
        blobs = _retrying(f"read {self.label}", self.fs.cat_ranges, [self.path] * len(ranges),
                          [r[0] for r in ranges], [r[1] for r in ranges], on_error="raise")
        return [bytes(b) for b in blobs]


def open_object(obj: RemoteObject | str, storage_options: Mapping[str, Any] | None = None, *,
                tmpdir: str | None = None) -> SparseSource:
    """A :class:`SparseSource` over one object (nothing is read until a scanner asks)."""
    if isinstance(obj, str):
        obj = stat_object(obj, storage_options)
    fs, path = filesystem(obj.url, storage_options)
    return SparseSource(obj.size, _Fetcher(fs, path, obj.url), label=obj.url, tmpdir=tmpdir)
