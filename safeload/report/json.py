"""JSON report, schema version 1 (documented in ``docs/json-schema.md``).

Values from scanned files are kept verbatim (the report is machine-readable and lossless) and made safe by
the encoding: ``ensure_ascii`` writes every control and non-ASCII character as a ``\\uXXXX`` escape, so the
bytes of the report never carry an ANSI sequence or a bidi override. Consumers that render these strings
must escape them for their own medium.
"""

from __future__ import annotations

import json
from typing import Any

from safeload._version import __version__
from safeload.report import ReportInput, counts, fails, status
from safeload.severity import Severity

__all__ = ["SCHEMA_VERSION", "render_json", "report_dict"]

SCHEMA_VERSION = 1
_LOCK_RULES = frozenset({"SL701", "SL702", "SL703"})


def report_dict(report: ReportInput) -> dict[str, Any]:
    """The report as plain JSON-ready data."""
    results = []
    worst: Severity | None = None
    for result in report.results:
        entry = result.to_dict(report.threshold)
        entry["status"] = status(result, report)
        entry["verdict"] = "unsafe" if fails(result, report.threshold) else "safe"
        integrity = result.integrity or {}
        entry["sha256"] = report.digests.get(result.source) or integrity.get("sha256")
        entry["integrity"] = {
            "digest_checked": bool(integrity.get("digest_checked", False)),
            "lock_checked": bool(integrity.get("lock_checked", False)) or any(
                f.rule_id in _LOCK_RULES for f in result.findings),
            "signature_checked": bool(integrity.get("signature_checked", False)),
            "cached": bool(integrity.get("cached", False)),
            "failure": integrity.get("failure"),
        }
        results.append(entry)
        if result.max_severity is not None and (worst is None or result.max_severity > worst):
            worst = result.max_severity
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "safeload", "version": __version__},
        "fail_on": report.threshold.label,
        **({"lock": report.lock} if report.lock is not None else {}),
        "summary": {**counts(report), "max_severity": worst.label if worst is not None else None},
        "results": results,
    }


def render_json(report: ReportInput) -> str:
    return json.dumps(report_dict(report), indent=2, ensure_ascii=True, sort_keys=False) + "\n"
