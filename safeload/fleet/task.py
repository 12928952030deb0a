"""The work of one fleet task: scan one object, on whatever process runs it (a Dask worker, a pool process, or
the caller's own).

Security invariants:
- the object is only scanned (a remote one by ranges, ``safeload.sources.scan``; a local one as
  ``safeload.scan`` scans a file): nothing is loaded, imported or executed;
- a result is returned only for the version of the object the listing described: the object is described again
  after its scan, and if its size, ETag or mtime changed meanwhile the scan is void (``TransientError``: the
  caller scans it again under its new identity). A result stored under an identity is never one of another
  version's bytes, except for a change that keeps size, ETag and mtime (see ``docs/scale.md``);
- a transient I/O error is raised by ``scan_item`` (``TransientError``), and is an outcome marked ``transient``
  from ``scan_batch``, so that the caller may retry; any other failure is an error outcome (the file is
  reported as unreadable, exit 2), never a clean result.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import time
from collections.abc import Mapping, Sequence
from typing import Any

from safeload.fleet.items import UNIT_DIR, Item, Outcome, local_identity
from safeload.fleet.store import Identity, scanner_code
from safeload.integrity.options import Integrity
from safeload.policy import Policy
from safeload.sources.remote import TransientError, is_transient

__all__ = ["scan_batch", "scan_item", "worker_name"]

_NO_CACHE = Integrity(cache=False)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _same(listed: Identity, now: Identity) -> bool:
    return (listed.size, listed.etag, listed.mtime, listed.local) == (now.size, now.etag, now.mtime, now.local)


def scan_batch(items: Sequence[Item], policy: Policy, storage_options: Mapping[str, Any] | None = None
               ) -> list[Outcome]:
    """One outcome per item, in order; a transient failure is an outcome marked ``transient`` (retried by the
    caller on its own), so one slow or flaky object never makes its batch-mates scan again."""
    code = scanner_code()
    out: list[Outcome] = []
    for item in items:
        try:
            out.append(dataclasses.replace(scan_item(item, policy, storage_options), scanner=code))
        except TransientError as exc:
            out.append(Outcome(item.url, item.identity, None, str(exc), worker=worker_name(), listed=item.listed,
                               transient=True, scanner=code))
    return out


def scan_item(item: Item, policy: Policy, storage_options: Mapping[str, Any] | None = None) -> Outcome:
    """Scan ``item``; raises :class:`TransientError` when a retry may succeed."""
    started = time.monotonic()
    try:
        if item.remote is not None:
            return _scan_remote(item, policy, storage_options, started)
        return _scan_local(item, policy, started)
    except TransientError:
        raise
    except Exception as exc:
        if is_transient(exc):
            raise TransientError(f"{item.url}: {type(exc).__name__}: {exc}") from exc
        return Outcome(item.url, item.identity, None, f"{type(exc).__name__}: {exc}",
                       seconds=time.monotonic() - started, worker=worker_name(), listed=item.listed)


def _scan_remote(item: Item, policy: Policy, storage_options: Mapping[str, Any] | None,
                 started: float) -> Outcome:
    from safeload.sources.remote import stat_object
    from safeload.sources.scan import scan_object

    if item.remote is None:  # pragma: no cover - scan_item checked
        raise ValueError("not a remote item")
    scanned = scan_object(item.remote, policy, label=item.url, storage_options=storage_options)
    now = stat_object(item.remote.url, storage_options)
    if not _same(item.identity, Identity(now.size, now.etag, now.mtime, now.sha256)):
        raise TransientError(f"{item.url} changed while it was scanned")
    return Outcome(item.url, item.identity, scanned.result, None, bytes_fetched=scanned.bytes_fetched,
                   requests=scanned.requests, seconds=time.monotonic() - started, worker=worker_name(),
                   listed=item.listed)


def _scan_local(item: Item, policy: Policy, started: float) -> Outcome:
    from safeload.scan import scan_checked

    if item.path is None:  # pragma: no cover - scan_item checked
        raise ValueError("not a local item")
    result = scan_checked(item.path, policy, integrity=_NO_CACHE, raise_on_failure=False)
    if item.identity == UNIT_DIR:  # a SavedModel directory: never reused, nothing to compare
        return Outcome(item.url, item.identity, result, None, seconds=time.monotonic() - started,
                       worker=worker_name(), listed=item.listed)
    try:
        now = local_identity(item.path)
    except OSError as exc:
        raise TransientError(f"{item.url} vanished while it was scanned: {exc}") from exc
    if not _same(item.identity, now):
        raise TransientError(f"{item.url} changed while it was scanned")
    return Outcome(item.url, item.identity, result, None, bytes_fetched=item.identity.size,
                   seconds=time.monotonic() - started, worker=worker_name(), listed=item.listed)
