"""Byte sources for scans: remote objects behind fsspec URLs, read by ranges (``s3://``, ``gs://``, ``az://``,
``http(s)://``, ``hf://``; ``file://`` is a local path).

- ``sparse.SparseSource``: random access with lazy, bounded fetching; what scanners see of a remote object;
- ``remote``: fsspec glue (identify, list, read ranges, retry transient errors);
- ``scan``: the scan of one object (or a prefix) over a sparse source.

Nothing here is imported by ``import safeload``; fsspec and its backends are imported only when a URL is scanned.
A remote object is only ever scanned, never handed to a loader.
"""

from __future__ import annotations

from urllib.parse import unquote, urlparse

__all__ = ["file_url_path", "is_url"]


def is_url(text: object) -> bool:
    """True for a URL ``safeload.scan`` reads through fsspec (``file://`` excluded: see ``file_url_path``)."""
    from safeload.sources.remote import is_remote_url

    return is_remote_url(text)


def file_url_path(text: object) -> str | None:
    """The local path of a ``file://`` URL, else None."""
    if not isinstance(text, str) or not text.lower().startswith("file://"):
        return None
    parsed = urlparse(text)
    if parsed.netloc not in ("", "localhost"):
        raise ValueError(f"not a local file URL: {text!r}")
    return unquote(parsed.path)
