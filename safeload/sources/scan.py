"""Scan a remote object by ranges: the same scanners as for a local file, over a :class:`SparseSource`.

Security invariants:
- the scanners are the local ones (``safeload.scan.scan_buffer``), unchanged in what they decide;
- a scan whose pickle engine walked the source in place is accepted only if every byte never fetched lies in
  a range the engine's format hooks stepped over unread *in that scan* (an inline joblib array, a raw torch
  storage). Otherwise more is fetched and the scan runs again from scratch (its findings discarded), and after
  ``MAX_ATTEMPTS`` the whole object is fetched: a result never rests on bytes that were not read;
- an I/O error while fetching voids the scan: it is raised (``TransientError`` for retryable ones), never
  reported as a result, whatever a scanner made of it;
- nothing is loaded: a remote object is only ever scanned (loaders take local files only).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from typing import Any

from safeload._context import ScanContext
from safeload._log import get_logger
from safeload.findings import ScanResult
from safeload.policy import Policy
from safeload.sources.remote import RemoteObject, expand, open_object, stat_object
from safeload.sources.sparse import SparseSource

__all__ = ["MAX_ATTEMPTS", "RemoteScan", "scan_object", "scan_source", "scan_url"]

logger = get_logger(__name__)

MAX_ATTEMPTS = 4
_GROW = 256 << 10          # first extra fetch after a scan that needs more; x4 on every further attempt
_SMALL_HOLE = 64 << 10     # holes up to this size are fetched whole at once


@dataclasses.dataclass(frozen=True)
class RemoteScan:
    """A remote object's scan, with what it cost: ``bytes_fetched`` of ``size`` in ``requests`` ranges, sent in
    ``round_trips`` batches of concurrent requests."""

    result: ScanResult
    object: RemoteObject
    bytes_fetched: int
    requests: int
    attempts: int
    seconds: float
    round_trips: int = 0

    @property
    def fraction_read(self) -> float:
        return self.bytes_fetched / self.object.size if self.object.size else 1.0


def scan_source(source: SparseSource, policy: Policy, *, label: str, name: str | None) -> tuple[ScanResult, int]:
    """Scan ``source`` as :func:`safeload.scan` scans a file; returns the result and the attempts it took."""
    from safeload.scan import scan_buffer

    for attempt in range(1, MAX_ATTEMPTS + 2):
        source.reset_attempt()
        ctx = ScanContext(policy, label, path=None)
        scan_buffer(source, ctx, name=name)
        if source.failure is not None:
            raise source.failure
        missing = source.unexplained()
        if not missing:
            return ctx.result(), attempt
        logger.debug("%s: attempt %d read %d unfetched range(s); fetching more", label, attempt, len(missing))
        if attempt >= MAX_ATTEMPTS:
            source.require_all()
            continue
        grow = _GROW << (2 * (attempt - 1))
        first_start, first_end = missing[0]
        wanted = [(first_start, min(first_end, first_start + grow))]
        wanted += [(s, e) for s, e in missing[1:] if e - s <= _SMALL_HOLE]
        source.ensure_many(wanted)
    raise AssertionError("unreachable: the last attempt scans a complete object")  # pragma: no cover


def scan_object(obj: RemoteObject, policy: Policy, *, label: str | None = None, name: str | None = None,
                storage_options: Mapping[str, Any] | None = None, tmpdir: str | None = None) -> RemoteScan:
    """Scan one remote object by ranges. Raises OSError (``TransientError`` when retryable) on I/O failure."""
    started = time.monotonic()
    with open_object(obj, storage_options, tmpdir=tmpdir) as source:
        result, attempts = scan_source(source, policy, label=label or obj.url, name=name or obj.name)
        scanned = RemoteScan(result, obj, source.bytes_fetched, source.requests, attempts,
                             time.monotonic() - started, source.round_trips)
    logger.info("scanned %s: %s (%d of %d bytes read in %d requests)", scanned.result.source,
                result.verdict(policy.threshold).value, scanned.bytes_fetched, obj.size, scanned.requests,
                extra={"safeload_path": result.source, "safeload_bytes_fetched": scanned.bytes_fetched,
                       "safeload_size": obj.size})
    return scanned


def scan_url(url: str, policy: Policy, *, name: str | None = None,
             storage_options: Mapping[str, Any] | None = None) -> ScanResult:
    """``safeload.scan`` of a URL: one object, or every object under a prefix or matching a glob (each one's
    findings under its name relative to the URL, as for a directory). An unreadable URL is an SL007 result."""
    ctx = ScanContext(policy, url, path=None)
    try:
        if not url.lower().startswith(("http://", "https://")) and any(ch in url.split("://", 1)[1] for ch in "*?["):
            objects = list(expand(url, storage_options))
        else:
            try:
                objects = [stat_object(url, storage_options)]
            except IsADirectoryError:
                objects = list(expand(url, storage_options))
    except OSError as exc:
        ctx.add("SL007", f"cannot read {url}: {exc}")
        return ctx.result()
    if len(objects) == 1 and objects[0].url == url:
        try:
            return scan_object(objects[0], policy, label=url, name=name,
                               storage_options=storage_options).result
        except OSError as exc:
            ctx.add("SL007", f"cannot read {url}: {type(exc).__name__}: {exc}")
            return ctx.result()
    if not objects:
        ctx.add("SL007", f"nothing found at {url}")
        return ctx.result()
    base = url.rstrip("/") + "/"
    for obj in objects:
        rel = obj.url[len(base):] if obj.url.startswith(base) else obj.url
        try:
            one = scan_object(obj, policy, label=url, storage_options=storage_options).result
        except OSError as exc:
            ctx.add("SL007", f"cannot read {obj.url}: {type(exc).__name__}: {exc}", subject=rel)
            continue
        ctx.bytes_scanned += one.bytes_scanned
        for fmt in one.formats:
            ctx.note_format(fmt)
        for f in one.findings:
            member = rel if not f.location.member else f"{rel}!{f.location.member}"
            ctx.add(f.rule_id, f.message, severity=f.severity, subject=f.subject, offset=f.location.offset,
                    trustable=f.trustable, details=f.details, member=member)
    return ctx.result()
