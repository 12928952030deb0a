"""What every safe loader does: resolve the policy, scan the bytes, log an audit record, refuse or allow.

Invariants: the real loader is only called after ``guard`` returned; a refusal raises before any byte is
handed over; nothing is retried with a laxer setting; the audit record never contains unescaped file data.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import time
from collections.abc import Iterable, Iterator
from typing import IO, Any

from safeload._context import ScanContext
from safeload._text import clean
from safeload.config import resolve_policy
from safeload.exceptions import UnsafeModelError, UnsafePickleError
from safeload.findings import ScanResult
from safeload.policy import Policy
from safeload.scan import scan_buffer, scan_path
from safeload.severity import Severity

__all__ = ["ORIGINALS", "audit", "decide", "guard_buffer", "guard_path", "open_binary", "policy_for", "real_loader"]

logger = logging.getLogger("safeload.loaders")

# The import hook records each real loader here before it patches it, so safe loaders always call the
# original and never their own wrapper (which would recurse).
ORIGINALS: dict[tuple[str, str], Any] = {}


def real_loader(module: str, attr: str) -> Any:
    """The unpatched ``module.attr`` (e.g. ``real_loader("torch", "load")``), even while the hook is installed."""
    original = ORIGINALS.get((module, attr))
    if original is not None:
        return original
    target: Any = importlib.import_module(module)
    for part in attr.split("."):
        target = getattr(target, part)
    while getattr(target, "_safeload_wrapper", False):
        target = target.__wrapped__
    return target


def policy_for(threshold: Severity | str | None, trusted: Iterable[str] | str | None,
               policy: Policy | None) -> Policy:
    return resolve_policy(threshold, trusted, policy)


def audit(result: ScanResult, policy: Policy, loader: str, allowed: bool) -> None:
    """One structured log record per guarded load: INFO when allowed, WARNING when refused."""
    on_trust = [clean(f.subject, 200) for f in result.passed_on_trust(policy.threshold) if f.subject]
    fields: dict[str, object] = {
        "safeload_loader": loader,
        "safeload_path": clean(result.source, 500),
        "safeload_formats": list(result.formats),
        "safeload_verdict": ("allowed on trust" if on_trust else "allowed") if allowed else "refused",
        "safeload_trusted": on_trust,
        "safeload_threshold": policy.threshold.label,
        "safeload_findings": len(result.findings),
        "safeload_blocking": [f.rule_id for f in result.blocking(policy.threshold)],
        "safeload_max_severity": result.max_severity.label if result.max_severity is not None else None,
        "safeload_scan_seconds": round(result.duration, 6),
        "safeload_bytes": result.bytes_scanned,
    }
    if allowed and on_trust:
        logger.warning("%s allowed %s only because the policy trusts %s", loader, fields["safeload_path"],
                       ", ".join(on_trust), extra=fields)
    elif allowed:
        logger.info("%s allowed %s (%s, %d findings, %.3f s)", loader, fields["safeload_path"],
                    ",".join(result.formats), len(result.findings), result.duration, extra=fields)
    else:
        logger.warning("%s refused %s: %s", loader, fields["safeload_path"],
                       ", ".join(f"{f.rule_id} {clean(f.subject or '')}" for f in result.blocking(policy.threshold)),
                       extra=fields)


def decide(ctx: ScanContext, policy: Policy, loader: str, error: type[UnsafeModelError]) -> ScanResult:
    """Turn a finished scan into an audit record, then a refusal (``error``) or the result."""
    result = ctx.result()
    allowed = not result.blocking(policy.threshold)
    audit(result, policy, loader, allowed)
    if not allowed:
        raise error(result, policy.threshold, loader)
    return result


def guard_buffer(data: Any, label: str, policy: Policy, loader: str, *,
                 error: type[UnsafeModelError] = UnsafePickleError, name: str | None = None,
                 path: str | None = None) -> ScanResult:
    """Scan ``data``; raise ``error`` if anything reaches the policy threshold; return the result otherwise."""
    started = time.monotonic()
    ctx = ScanContext(policy, label, path=path)
    scan_buffer(data, ctx, name=name)
    ctx.started = started
    return decide(ctx, policy, loader, error)


def guard_path(path: str | os.PathLike[str], policy: Policy, loader: str, *,
               error: type[UnsafeModelError] = UnsafePickleError) -> ScanResult:
    """Scan a file or directory by path (for loaders whose real API only takes a path, e.g. SavedModel)."""
    from pathlib import Path

    label = os.fspath(path)
    ctx = ScanContext(policy, label, path=label)
    scan_path(Path(label), ctx)
    return decide(ctx, policy, loader, error)


@contextlib.contextmanager
def open_binary(source: Any) -> Iterator[tuple[IO[bytes], str, bool]]:
    """Yield ``(handle, label, opened_here)``: a path is opened once here; a file object is used as is."""
    if isinstance(source, str | os.PathLike):
        label = os.fspath(source)
        with open(label, "rb") as handle:
            yield handle, label, True
        return
    if not hasattr(source, "read"):
        raise TypeError(f"expected a path or a binary file object, got {type(source).__name__}")
    name = getattr(source, "name", None)
    yield source, name if isinstance(name, str) else f"<{type(source).__name__}>", False
