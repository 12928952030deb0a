"""What the CLI and the fleet scan: ``Target`` (a path reported under labels, or a ready-made result) and the
helpers that build results without scanning (an unreadable file, a relabelled result).

Invariant: pure data; nothing here reads a file.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from safeload.findings import Finding, Location, ScanResult
from safeload.rules import get_rule

__all__ = ["Target", "error_result", "finding_for", "relabel"]


@dataclass(frozen=True)
class Target:
    """One thing to scan: ``path`` on disk, reported as each of ``labels``.

    ``walked`` marks files found by walking a directory (subject to the "obviously not a model" skip rule);
    ``result`` is a ready-made result (a refused link, an error) that is reported without scanning.
    """

    path: str
    labels: tuple[str, ...]
    walked: bool = False
    result: ScanResult | None = None


def finding_for(rule_id: str, message: str, label: str, subject: str | None = None) -> Finding:
    return Finding(rule_id=rule_id, severity=get_rule(rule_id).severity, message=message, subject=subject,
                   location=Location(path=label))


def error_result(label: str, message: str, rule_id: str = "SL007") -> ScanResult:
    """A result carrying one structural finding (I/O error by default) for ``label``."""
    return ScanResult(source=label, findings=(finding_for(rule_id, message, label),))


def relabel(result: ScanResult, label: str) -> ScanResult:
    """``result`` reported under ``label``: its source and every finding's location path are replaced."""
    if result.source == label:
        return result
    findings = tuple(dataclasses.replace(f, location=dataclasses.replace(f.location, path=label))
                     for f in result.findings)
    return dataclasses.replace(result, source=label, findings=findings)
