"""What every safe loader does: resolve the policy, scan the bytes, log an audit record, refuse or allow.

Integrity (``docs/integrity.md``) goes through the same door: every loader takes the keyword-only
``expected_sha256=``, ``signature=``, ``public_key=``, ``certificate=`` and ``integrity=`` arguments, turns them
into one :class:`~safeload.Integrity` with :func:`integrity_options` and passes it as ``integrity=`` to
:func:`guard_buffer` / :func:`guard_path` / :func:`guard_scan`. The configured lock and signature requirements
(``SAFELOAD_LOCK``, ``[tool.safeload] lock``, ...) apply here even when a loader passes nothing, so the import
hook and any new loader get them for free.

Invariants: the real loader is only called after ``guard`` returned; a refusal (findings, or a digest, lock or
signature that does not match) raises before any byte is handed over; the digest is computed over the very
buffer that was scanned; nothing is retried with a laxer setting; the audit record never contains unescaped
file data.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable

from safeload._context import ScanContext
from safeload._log import LazyLogger
from safeload._record import replace
from safeload._text import clean
from safeload.config import resolve_policy
from safeload.exceptions import IntegrityError, UnsafeModelError, UnsafePickleError
from safeload.findings import ScanResult
from safeload.integrity.options import Certificates, Integrity, PathArg, configured, integrity_options, session_needed
from safeload.policy import Policy
from safeload.scan import scan_buffer, scan_path
from safeload.severity import Severity

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from safeload.integrity.check import IntegrityInfo

__all__ = [
    "ORIGINALS",
    "Certificates",
    "Integrity",
    "PathArg",
    "audit",
    "decide",
    "decide_result",
    "guard_buffer",
    "guard_directory",
    "guard_path",
    "guard_scan",
    "integrity_options",
    "integrity_required",
    "policy_for",
    "real_loader",
    "verify_only",
]

logger = LazyLogger("safeload.loaders")

# The import hook records each real loader here before it patches it, so safe loaders always call the
# original and never their own wrapper (which would recurse).
ORIGINALS: dict[tuple[str, str], Any] = {}


def real_loader(module: str, attr: str) -> Any:
    """The unpatched ``module.attr`` (e.g. ``real_loader("torch", "load")``), even while the hook is installed."""
    original = ORIGINALS.get((module, attr))
    if original is not None:
        return original
    __import__(module)  # what importlib.import_module does, without importing importlib (issue 15)
    target: Any = sys.modules[module]
    for part in attr.split("."):
        target = getattr(target, part)
    while getattr(target, "_safeload_wrapper", False):
        target = target.__wrapped__
    return target


def policy_for(threshold: Severity | str | None, trusted: Iterable[str] | str | None,
               policy: Policy | None) -> Policy:
    return resolve_policy(threshold, trusted, policy)


def audit(result: ScanResult, policy: Policy, loader: str, allowed: bool,
          integrity: IntegrityInfo | None = None) -> None:
    """One structured log record per guarded load: INFO when allowed, WARNING when refused."""
    on_trust = [clean(f.subject, 200) for f in result.passed_on_trust(policy.threshold) if f.subject]
    failed = integrity is not None and integrity.failure is not None
    if not logger.isEnabledFor(20 if allowed and not on_trust and not failed else 30):  # logging.INFO / WARNING
        return  # the record would be dropped: skip building it (issue 15: no logging import, no regex compile)
    fields: dict[str, Any] = {
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
        "safeload_sha256": integrity.sha256 if integrity is not None else None,
        "safeload_integrity": _integrity_fields(integrity),
    }
    if integrity is not None and integrity.failure is not None:
        logger.warning("%s refused %s: %s check failed: %s", loader, fields["safeload_path"],
                       integrity.failure.check, clean(integrity.failure.reason, 500), extra=fields)
        return
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


def _integrity_fields(info: IntegrityInfo | None) -> dict[str, Any]:
    if info is None:  # nothing was required, hashed or looked up (the same fields as such a session records)
        return {"digest": False, "lock": False, "signature": False, "cached": False, "accepted": [], "failure": None}
    return {"digest": info.digest_checked, "lock": info.lock_checked, "signature": info.signature_checked,
            "cached": info.cached, "accepted": list(info.accepted),
            "failure": info.failure.check if info.failure is not None else None}


def decide_result(result: ScanResult, policy: Policy, loader: str, error: type[UnsafeModelError],
                  integrity: IntegrityInfo | None = None) -> ScanResult:
    """Audit, then refuse a failed integrity check (:class:`IntegrityError`) or a blocking finding (``error``)."""
    result = not_a_model_refused(result)
    if integrity is not None and integrity.failure is not None:
        audit(result, policy, loader, False, integrity)
        failure = integrity.failure
        raise IntegrityError(result, policy.threshold, loader, check=failure.check, reason=failure.reason,
                             expected=failure.expected, actual=failure.actual)
    allowed = not result.blocking(policy.threshold)
    audit(result, policy, loader, allowed, integrity)
    if not allowed:
        raise error(result, policy.threshold, loader)
    return result


def decide(ctx: ScanContext, policy: Policy, loader: str, error: type[UnsafeModelError]) -> ScanResult:
    """Turn a finished scan into an audit record, then a refusal (``error``) or the result."""
    return decide_result(ctx.result(), policy, loader, error)


def guard_scan(data: Any, label: str, policy: Policy, loader: str, scan: Callable[[ScanContext], None], *,
               error: type[UnsafeModelError] = UnsafePickleError, name: str | None = None,
               path: str | None = None, integrity: Integrity | None = None,
               allow_cache: bool = False) -> ScanResult:
    """Run ``scan`` over ``data`` with the integrity checks of ``integrity`` (and the configuration) around it.

    The digest is computed over ``data`` itself, in a thread, while ``scan`` runs; with ``allow_cache`` (only
    for scans that are exactly :func:`scan_buffer`) an earlier result for the same digest may stand in for it.
    """
    spec = configured(integrity)
    if not session_needed(spec, len(data), allow_cache=allow_cache):
        ctx = ScanContext(policy, label, path=path)
        scan(ctx)
        return decide_result(ctx.result(), policy, loader, error)
    from safeload.integrity.check import plan_for

    plan = plan_for(integrity, path=path, source=label, policy=policy, spec=spec)
    with plan.begin(data, name=name, allow_cache=allow_cache) as session:
        if session.cached is not None:
            result = session.cached
        else:
            ctx = ScanContext(policy, label, path=path)  # its clock times the scan alone, not the hashing
            scan(ctx)
            result = ctx.result()
        result, info = session.finish(result)
    return decide_result(result, policy, loader, error, info)


def not_a_model_refused(result: ScanResult) -> ScanResult:
    """A load of something that is no model at all (text, another model's raw data) is refused as unknown
    content (SL003), as before those facts existed: SL810/SL811 say "skipped" in reports, never "loadable".
    Applied in every loader's decision (after the scan cache, which keeps the scan's own facts)."""
    if result.formats or not result.findings:
        return result
    from safeload.rules import NOT_A_MODEL_FACTS, get_rule

    if not any(f.rule_id in NOT_A_MODEL_FACTS for f in result.findings):
        return result
    unknown = get_rule("SL003").severity
    findings = tuple(replace(f, rule_id="SL003", severity=unknown,
                             message=f"{f.message}; no loader reads it as a model")
                     if f.rule_id in NOT_A_MODEL_FACTS else f for f in result.findings)
    return replace(result, findings=findings)


def guard_buffer(data: Any, label: str, policy: Policy, loader: str, *,
                 error: type[UnsafeModelError] = UnsafePickleError, name: str | None = None,
                 path: str | None = None, integrity: Integrity | None = None) -> ScanResult:
    """Scan ``data``; raise ``error`` if anything reaches the policy threshold, :class:`IntegrityError` if a
    requested digest, lock or signature check fails; return the result otherwise."""
    return guard_scan(data, label, policy, loader, lambda ctx: scan_buffer(data, ctx, name=name), error=error,
                      name=name, path=path, integrity=integrity, allow_cache=True)


def guard_directory(label: str, policy: Policy, loader: str, scan: Callable[[ScanContext], None], *,
                    error: type[UnsafeModelError] = UnsafePickleError,
                    integrity: Integrity | None = None) -> ScanResult:
    """Scan a model directory with ``scan`` while its manifest digest and signature are checked in a thread."""
    from safeload.integrity.check import plan_for

    plan = plan_for(integrity, path=label, source=label, policy=policy)
    with plan.begin_directory(label) as session:
        ctx = ScanContext(policy, label, path=label)
        scan(ctx)
        result, info = session.finish(ctx.result())
    return decide_result(result, policy, loader, error, info)


def guard_path(path: str | os.PathLike[str], policy: Policy, loader: str, *,
               error: type[UnsafeModelError] = UnsafePickleError, integrity: Integrity | None = None) -> ScanResult:
    """Scan a file or directory by path (for loaders whose real API only takes a path, e.g. SavedModel)."""
    from pathlib import Path

    from safeload._source import view_of_file

    label = os.fspath(path)
    try:
        handle = None if os.path.isdir(label) else open(label, "rb")  # noqa: SIM115 - closed below
    except OSError:
        handle = None  # scan_path records the I/O error as a blocking finding (SL007)
    if handle is None:
        return guard_directory(label, policy, loader, lambda ctx: scan_path(Path(label), ctx), error=error,
                               integrity=integrity)
    with handle, view_of_file(handle) as view:
        return guard_buffer(view.data, label, policy, loader, error=error, name=os.path.basename(label),
                            path=label, integrity=integrity)


def integrity_required(integrity: Integrity | None) -> bool:
    """True when the call or the configuration asks for a digest, lock or signature check."""
    return configured(integrity).checks


def verify_only(path: str, policy: Policy, loader: str, *, integrity: Integrity | None,
                fmt: str, error: type[UnsafeModelError] = UnsafePickleError) -> ScanResult:
    """Integrity checks for a file whose format runs no code and is not scanned (``.safetensors``)."""
    from safeload._source import view_of_file

    with open(path, "rb") as handle, view_of_file(handle) as view:
        return guard_scan(view.data, path, policy, loader, lambda ctx: ctx.note_format(fmt), error=error,
                          name=os.path.basename(path), path=path, integrity=integrity)
