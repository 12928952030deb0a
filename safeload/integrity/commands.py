"""The integrity side of the CLI: ``safeload lock``, ``safeload verify`` and ``safeload scan --locked``.

Invariants: ``lock`` records exactly the targets ``scan`` would visit (the same walk), with the digest of the
bytes that were scanned; ``verify`` and ``--locked`` report every file that is missing, added or changed and
never stop at the first; a finding is accepted by the lock only for its entry's digest, only if it is
trustable (the hard floor never is), and only when ``--accept-findings`` was given at lock time.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from safeload._targets import Target
from safeload._text import clean
from safeload._version import __version__
from safeload.config import Config
from safeload.findings import Finding, Location, ScanResult
from safeload.integrity.cache import code_fingerprint
from safeload.integrity.check import accept_findings
from safeload.integrity.digest import file_digests, has_blake3
from safeload.integrity.lockfile import DEFAULT_NAME, Accepted, LockEntry, Lockfile, new_lock, read_lock
from safeload.integrity.manifest import directory_manifest
from safeload.integrity.signing import (
    SignatureFailure,
    SignatureSpec,
    file_identifier,
    needed_algorithm,
    signed_manifest,
    verify_directory,
)
from safeload.rules import get_rule
from safeload.severity import Severity

__all__ = ["apply_lock", "lock_command", "verify_command"]

Scanned = list[tuple[Target, ScanResult, str | None]]


def _finding(rule_id: str, message: str, path: str, subject: str | None = None) -> Finding:
    return Finding(rule_id=rule_id, severity=get_rule(rule_id).severity, message=message, subject=subject,
                   location=Location(path, None, None), trustable=False)


def _summary(result: ScanResult, threshold: Severity) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for f in result.findings:
        counts[f.severity.label] = counts.get(f.severity.label, 0) + 1
    return {"max_severity": result.max_severity.label if result.max_severity is not None else None,
            "counts": counts, "threshold": threshold.label,
            "blocking": [f"{f.rule_id} {f.subject or ''}".strip() for f in result.blocking(threshold)]}


def default_lock_path(value: str | None) -> str:
    return value or DEFAULT_NAME


# -- safeload lock --------------------------------------------------------------------------------------------
def lock_command(args: argparse.Namespace, config: Config, scanned: Scanned) -> int:
    """Write the lock from finished scans (the CLI collected and scanned the targets as ``scan`` does)."""
    from safeload.cli import EXIT_ERROR, EXIT_FINDINGS, EXIT_OK, _not_a_model

    location = default_lock_path(args.lock)
    lock = new_lock(location, [], {"name": "safeload", "version": __version__, "catalogue": code_fingerprint()})
    lock.roots = tuple(lock.relative(p) for p in args.paths)
    threshold = config.fail_on
    errors, refused = 0, []
    for target, result, digest in scanned:
        if target.result is not None or any(f.rule_id == "SL007" for f in result.findings) or not target.path:
            errors += 1
            sys.stderr.write(f"safeload: cannot lock {clean(target.labels[0])}: not readable\n")
            continue
        key = lock.relative(target.path)
        # Walked files that are plainly not models are locked (a directory load reads them) but, as in
        # ``scan``, their "unknown format" finding is not a refusal to report.
        blocking = () if target.walked and _not_a_model(result, target.path) else result.blocking(threshold)
        accepted: tuple[Accepted, ...] = ()
        if args.accept_findings and blocking:
            untrustable = [f for f in blocking if not f.trustable]
            if untrustable:
                refused.append(key)
                sys.stderr.write(f"safeload: {clean(key)}: cannot accept {len(untrustable)} finding(s) that can "
                                 "never be trusted (hard floor or unparseable): "
                                 + ", ".join(f"{f.rule_id} {clean(f.subject or '')}" for f in untrustable[:5]) + "\n")
            else:
                accepted = tuple(Accepted(f.rule_id, f.subject, f.location.member) for f in blocking)
        elif blocking:
            refused.append(key)
        if os.path.isdir(target.path):
            try:
                manifest = directory_manifest(target.path)
            except (OSError, ValueError) as exc:
                errors += 1
                sys.stderr.write(f"safeload: cannot lock {clean(key)}: {clean(str(exc))}\n")
                continue
            entry = LockEntry(path=key, kind="directory", sha256=manifest.sha256, size=manifest.size,
                              formats=result.formats, safeload_version=__version__,
                              catalogue_version=code_fingerprint(), findings=_summary(result, threshold),
                              accepted=accepted, files=manifest.to_dict())
        else:
            # Both digests from one read; a file that changed since its scan is not locked.
            digests, size = file_digests(target.path, ("sha256", "blake3") if has_blake3() else ("sha256",))
            if digest is not None and digests["sha256"] != digest:
                errors += 1
                sys.stderr.write(f"safeload: {clean(key)} changed while it was being locked; not locked\n")
                continue
            entry = LockEntry(path=key, kind="file", sha256=digests["sha256"], size=size,
                              formats=result.formats, safeload_version=__version__,
                              catalogue_version=code_fingerprint(), findings=_summary(result, threshold),
                              accepted=accepted, blake3=digests.get("blake3"))
        lock.entries[key] = entry
    try:
        written = lock.write(location)
    except OSError as exc:
        sys.stderr.write(f"safeload: cannot write {clean(location)}: {clean(exc.strerror or str(exc))}\n")
        return EXIT_ERROR
    sys.stderr.write(f"safeload: wrote {len(lock.entries)} entries to {clean(str(written))}\n")
    if errors:
        return EXIT_ERROR
    if refused:
        sys.stderr.write(f"safeload: {len(refused)} locked file(s) would still be refused on load: "
                         + ", ".join(clean(r) for r in refused[:10]) + " (review them; --accept-findings records "
                         "their trustable findings as accepted for this exact digest)\n")
        return EXIT_FINDINGS
    return EXIT_OK


# -- safeload scan --locked -----------------------------------------------------------------------------------
def apply_lock(scanned: Scanned, lock: Lockfile, roots: Sequence[str]) -> tuple[Scanned, list[ScanResult]]:
    """Compare finished scans with the lock: changed and added files get a finding, accepted findings are
    downgraded for matching digests, and locked files under ``roots`` that were not seen come back as results."""
    out: Scanned = []
    seen: set[str] = set()
    for target, scan_result, digest in scanned:
        if target.result is not None or not target.path:
            out.append((target, scan_result, digest))
            continue
        key = lock.relative(target.path)
        seen.add(key)
        entry = lock.entries.get(key)
        if entry is None:
            extra = _finding("SL702", f"{key} is not in {lock.location}", scan_result.source)
            checked = dataclasses.replace(scan_result, findings=(*scan_result.findings, extra))
        elif digest is None or entry.sha256 != digest:
            extra = _finding("SL701", f"{key} changed since it was locked (expected sha256 {entry.sha256}, "
                                      f"actual {digest})", scan_result.source, subject=key)
            checked = dataclasses.replace(scan_result, findings=(*scan_result.findings, extra))
        else:
            checked, _ = accept_findings(scan_result, {(a.rule_id, a.subject, a.member) for a in entry.accepted})
        out.append((target, checked, digest))
    missing: list[ScanResult] = []
    for root in roots:
        for entry in lock.under(root):
            if entry.path not in seen:
                seen.add(entry.path)
                label = str(lock.base / entry.path)
                shown = os.path.relpath(label) if not os.path.isabs(root) else label
                missing.append(ScanResult(source=shown, findings=(
                    _finding("SL703", f"{entry.path} is in {lock.location} but missing", shown),)))
    return out, missing


# -- safeload verify ------------------------------------------------------------------------------------------
def _verify_lock(lock: Lockfile, scope: Sequence[str]) -> list[dict[str, Any]]:
    from safeload.cli import _walk

    problems: list[dict[str, Any]] = []
    entries = {e.path: e for root in scope for e in lock.under(root)} if scope else dict(lock.entries)
    for key, entry in sorted(entries.items()):
        full = lock.base / key
        if not full.exists():
            problems.append({"status": "missing", "path": key, "expected": entry.sha256, "actual": None})
            continue
        try:
            if entry.kind == "directory":
                actual = directory_manifest(full).sha256 if full.is_dir() else None
            else:
                actual = file_digests(full)[0]["sha256"] if full.is_file() else None
        except (OSError, ValueError) as exc:  # unreadable, or a manifest that cannot pin (a link to a directory)
            problems.append({"status": "error", "path": key, "expected": entry.sha256, "actual": str(exc)})
            continue
        if actual != entry.sha256:
            problems.append({"status": "changed", "path": key, "expected": entry.sha256, "actual": actual})
    for root in scope or lock.roots:
        start = lock.base / root if not os.path.isabs(root) else Path(root)
        if start.is_file() or (start / "saved_model.pb").is_file() or (start / "saved_model.pbtxt").is_file():
            candidates = [str(start)]
        elif start.is_dir():
            candidates = [t.path for t in _walk(start)]
        else:
            continue
        for path in candidates:
            key = lock.relative(path)
            if key not in lock.entries:
                problems.append({"status": "added", "path": key, "expected": None, "actual": None})
    return problems


def _verify_signature(args: argparse.Namespace) -> list[dict[str, Any]]:
    spec = SignatureSpec(signature=args.signature, public_key=args.public_key,
                         certificate=tuple(args.certificate or ()), identity=args.identity,
                         oidc_issuer=args.oidc_issuer, trust_config=args.trust_config)
    problems: list[dict[str, Any]] = []
    for model in args.paths:
        try:
            if os.path.isdir(model):
                verify_directory(spec, model)
                continue
            signed = signed_manifest(spec)
            identifier = file_identifier(signed, spec, model)
            algorithm = needed_algorithm(signed, identifier)
            actual = file_digests(model, (algorithm,))[0][algorithm]
            expected = signed.items[identifier][1]
            if actual != expected:
                problems.append({"status": "signature", "path": model, "expected": expected, "actual": actual})
        except (SignatureFailure, OSError) as exc:
            problems.append({"status": "signature", "path": model, "expected": None, "actual": str(exc)})
    return problems


def verify_command(args: argparse.Namespace) -> int:
    from safeload.cli import EXIT_ERROR, EXIT_FINDINGS, EXIT_OK, UsageError

    problems: list[dict[str, Any]] = []
    checked: list[str] = []
    if args.signature:
        if not args.paths:
            raise UsageError("safeload verify --signature SIG needs the model path(s) it signs")
        problems += _verify_signature(args)
        checked.append(f"signature {args.signature}")
    if not args.signature or args.lock:
        location = default_lock_path(args.lock)
        try:
            lock = read_lock(location)
        except ValueError as exc:
            sys.stderr.write(f"safeload: {clean(str(exc), 2000)}\n")
            return EXIT_ERROR
        problems += _verify_lock(lock, [] if args.signature else [lock.relative(p) for p in args.paths])
        checked.append(f"lock {location}")
    if args.format == "json":
        sys.stdout.write(json.dumps({"checked": checked, "ok": not problems, "problems": problems}, indent=2,
                                    ensure_ascii=True) + "\n")
    else:
        for problem in problems:
            detail = ""
            if problem["expected"] or problem["actual"]:
                detail = f" (expected {problem['expected'] or '-'}, actual {problem['actual'] or '-'})"
            sys.stdout.write(f"{problem['status'].upper():9} {clean(problem['path'])}{clean(detail, 2000)}\n")
        if not problems:
            sys.stdout.write(f"OK: {'; '.join(checked)}\n")
    if any(p["status"] == "error" for p in problems):
        return EXIT_ERROR
    return EXIT_FINDINGS if problems else EXIT_OK
