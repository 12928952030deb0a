"""Terminal report: rich ``Text`` objects when rich is installed (never markup strings), else plain lines.

Every string from a scanned file goes through :func:`safeload._text.clean` first, so ANSI escapes, carriage
returns and bidi overrides in a global or file name are shown as visible ``\\x1b`` escapes, never executed.
"""

from __future__ import annotations

import io

from safeload._text import clean
from safeload.findings import Finding, ScanResult
from safeload.report import ReportInput, counts, shown_findings, status
from safeload.severity import Severity

__all__ = ["render_text", "summary_line"]

_STYLES = {
    Severity.CRITICAL: "bold white on red",
    Severity.HIGH: "bold red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}
_STATUS_STYLES = {"unsafe": "bold red", "safe": "bold green", "skipped": "yellow", "error": "bold magenta"}


def _finding_parts(finding: Finding) -> list[tuple[str, str | None]]:
    """(text, style) pieces of one finding line; every piece is already cleaned."""
    parts: list[tuple[str, str | None]] = [
        ("  ", None),
        (f"{finding.severity.name:<8}", _STYLES[finding.severity]),
        (f" {finding.rule_id} {finding.rule_name}", "bold"),
    ]
    if finding.subject:
        parts.append((f" {clean(finding.subject)}", "magenta"))
    if finding.count > 1:
        parts.append((f" (x{finding.count})", None))
    parts.append((f" - {clean(finding.message, 300)}", None))
    where = []
    if finding.location.member:
        where.append(f"member {clean(finding.location.member)}")
    if finding.location.offset is not None:
        where.append(f"offset {finding.location.offset}")
    if where:
        parts.append((f" [{', '.join(where)}]", "dim"))
    return parts


def _header_parts(result: ScanResult, report: ReportInput) -> list[tuple[str, str | None]]:
    state = status(result, report)
    formats = ", ".join(clean(f, 40) for f in result.formats) or "no format"
    return [
        (f"{state.upper():<8}", _STATUS_STYLES[state]),
        (f" {clean(result.source, 400)}", "bold"),
        (f" ({formats}; {len(result.findings)} findings)", "dim"),
    ]


def summary_line(report: ReportInput) -> str:
    """``3 files: 1 unsafe, 1 safe, 1 skipped, 0 errors (fail-on: high)``."""
    c = counts(report)
    return (f"{c['files']} file{'s' if c['files'] != 1 else ''}: {c['unsafe']} unsafe, {c['safe']} safe, "
            f"{c['skipped']} skipped (not a model), {c['error']} error{'s' if c['error'] != 1 else ''} "
            f"(fail-on: {report.threshold.label})")


def _lines(report: ReportInput, verbose: bool) -> list[list[tuple[str, str | None]]]:
    lines: list[list[tuple[str, str | None]]] = []
    for result in report.results:
        lines.append(_header_parts(result, report))
        lines.extend(_finding_parts(f) for f in shown_findings(result, verbose=verbose))
        if status(result, report) == "unsafe":
            names = result.untrusted(report.threshold)
            if names:
                lines.append([("  to trust after reviewing their source: ", "dim"),
                              (" ".join(f"--trust {clean(n)}" for n in names), None)])
    lines.append([(summary_line(report), "bold")])
    return lines


def render_text(report: ReportInput, *, color: bool = False, verbose: bool = False, width: int = 120) -> str:
    """The human report. ``color`` adds ANSI styling (only ever from safeload's own styles)."""
    lines = _lines(report, verbose)
    try:
        from rich.console import Console
        from rich.text import Text
    except ImportError:
        return "\n".join("".join(text for text, _ in line) for line in lines) + "\n"
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=color, no_color=not color,
                      color_system="standard" if color else None, width=width, highlight=False,
                      markup=False, emoji=False, soft_wrap=True)
    for line in lines:
        text = Text()
        for piece, style in line:
            text.append(piece, style=style or "")
        console.print(text)
    return buffer.getvalue()
