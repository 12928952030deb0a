"""SARIF 2.1.0 report for GitHub code scanning and other SARIF viewers.

One SARIF rule per catalogue entry (stable ids), results with ``level`` from the severity, a repo-relative
``artifactLocation`` (``uriBaseId: %SRCROOT%``), the byte offset in ``region.byteOffset`` (plus
``startLine: 1``, which GitHub needs to place an alert; model files have no lines), and
``partialFingerprints`` computed from (rule, file sha256, subject, member) so alerts stay the same across
runs and renames.

Escaping: message text is plain text in which ``[`` and ``]`` start embedded links (SARIF 3.11.6), so strings
from the file are cleaned of control characters and their backslashes and brackets are escaped.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

from safeload._text import clean
from safeload._version import __version__
from safeload.findings import Finding, ScanResult
from safeload.report import ReportInput, fails, shown_findings, status
from safeload.rules import RULES, Rule
from safeload.severity import Severity

__all__ = ["SARIF_SCHEMA", "render_sarif", "sarif_dict", "sarif_text"]

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_INFO_URI = "https://github.com/safeload/safeload"
_RULE_IDS = list(RULES)


def sarif_text(text: object, limit: int = 500) -> str:
    """Plain SARIF message text: controls escaped, and ``\\``, ``[`` and ``]`` escaped (no embedded links)."""
    value = clean(text, limit)
    return value.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")


def _rule(rule: Rule) -> dict[str, Any]:
    tags = ["security", "model-file", *rule.formats]
    return {
        "id": rule.id,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": rule.rationale},
        "helpUri": rule.help_uri,
        "help": {"text": f"{rule.summary} {rule.rationale}"},
        "defaultConfiguration": {"level": rule.severity.sarif_level},
        "properties": {
            "tags": list(dict.fromkeys(tags)),
            "precision": "high",
            "problem.severity": (rule.severity.sarif_level if rule.severity > Severity.INFO
                                 else "recommendation"),
            "security-severity": rule.severity.security_severity,
        },
    }


def _artifact_uri(source: str, root: str | None) -> dict[str, Any]:
    """A repo-relative URI under %SRCROOT% when ``source`` is a path below ``root``; else an absolute URI."""
    if "://" in source:  # hf://owner/repo@rev/path
        return {"uri": quote(source, safe=":/@")}
    base = Path(root if root is not None else os.curdir).absolute()
    path = Path(source)
    absolute = path if path.is_absolute() else base / path
    normal = Path(os.path.normpath(absolute))
    try:
        relative = normal.relative_to(Path(os.path.normpath(base)))
    except ValueError:
        return {"uri": normal.as_uri()}
    posix = PurePosixPath(*relative.parts).as_posix() if relative.parts else "."
    return {"uri": quote(posixpath.normpath(posix), safe="/"), "uriBaseId": "%SRCROOT%"}


def _fingerprint(finding: Finding, result: ScanResult, digest: str | None) -> str:
    identity = digest if digest is not None else f"path:{result.source}"
    material = "\x00".join([finding.rule_id, identity, finding.subject or "", finding.location.member or ""])
    return hashlib.sha256(material.encode("utf-8", "surrogatepass")).hexdigest()


def _result(finding: Finding, result: ScanResult, report: ReportInput) -> dict[str, Any]:
    region: dict[str, Any] = {"startLine": 1}
    if finding.location.offset is not None and finding.location.offset >= 0:
        region["byteOffset"] = finding.location.offset
    subject = f" {sarif_text(finding.subject, 200)}" if finding.subject else ""
    member = f" (in {sarif_text(finding.location.member, 200)})" if finding.location.member else ""
    properties: dict[str, Any] = {
        "severity": finding.severity.label,
        "security-severity": finding.severity.security_severity,
        "blocking": finding.severity >= report.threshold,
        "count": finding.count,
        "trustable": finding.trustable,
    }
    if finding.subject:
        properties["subject"] = clean(finding.subject, 300)
    if finding.location.member:
        properties["member"] = clean(finding.location.member, 300)
    if result.formats:
        properties["formats"] = [clean(f, 40) for f in result.formats]
    digest = report.digests.get(result.source) or (result.integrity or {}).get("sha256")
    if digest:
        properties["sha256"] = digest
    if result.integrity is not None:
        properties["integrity"] = {k: bool(result.integrity.get(k)) for k in
                                   ("digest_checked", "lock_checked", "signature_checked", "cached")}
    return {
        "ruleId": finding.rule_id,
        "ruleIndex": _RULE_IDS.index(finding.rule_id),
        "level": finding.severity.sarif_level,
        "message": {"text": f"{finding.rule_name}:{subject}{member} - {sarif_text(finding.message)}"},
        "locations": [{
            "physicalLocation": {
                "artifactLocation": _artifact_uri(result.source, report.root),
                "region": region,
            },
        }],
        "partialFingerprints": {
            "safeloadFinding/v1": _fingerprint(finding, result, digest),
        },
        "properties": properties,
    }


def sarif_dict(report: ReportInput) -> dict[str, Any]:
    results: list[dict[str, Any]] = []
    notifications: list[dict[str, Any]] = []
    for result in report.results:
        if status(result, report) == "skipped":
            continue
        results.extend(_result(f, result, report) for f in shown_findings(result) if f.rule_id in RULES)
        if status(result, report) == "error":
            notifications.append({
                "level": "error",
                "message": {"text": f"cannot scan {sarif_text(result.source)}"},
                "locations": [{"physicalLocation": {
                    "artifactLocation": _artifact_uri(result.source, report.root)}}],
            })
    invocation: dict[str, Any] = {
        "executionSuccessful": not notifications,
        "properties": {"fail-on": report.threshold.label,
                       "failed": any(fails(r, report.threshold) for r in report.results),
                       **({"lock": report.lock} if report.lock is not None else {})},
    }
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "safeload",
                "version": __version__,
                "semanticVersion": __version__,
                "informationUri": _INFO_URI,
                "rules": [_rule(rule) for rule in RULES.values()],
            }},
            "originalUriBaseIds": {"%SRCROOT%": {"description": {"text": "The directory scanned from."}}},
            "invocations": [invocation],
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    }


def render_sarif(report: ReportInput) -> str:
    return json.dumps(sarif_dict(report), indent=2, ensure_ascii=True) + "\n"
