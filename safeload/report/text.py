"""Terminal report: rich ``Text`` objects when rich is installed (never markup strings), else plain lines.

Every string from a scanned file goes through :func:`safeload._text.clean` first, so ANSI escapes, carriage
returns and bidi overrides in a global or file name are shown as visible ``\\x1b`` escapes, never executed.
"""

from __future__ import annotations

import io

from safeload._text import clean
from safeload._walk import natural_key
from safeload.findings import Finding, ScanResult
from safeload.report import NOT_A_MODEL_RULES, ReportInput, counts, shown_findings, status
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
        ("      ", None),
        (f"{finding.severity.name:<8}", _STYLES[finding.severity]),
        (f" {finding.rule_id} {finding.rule_name}", "bold"),
    ]
    if finding.shown_subject:
        parts.append((f" {clean(finding.shown_subject, 160)}", "magenta"))
    if finding.count > 1:
        parts.append((f" (x{finding.count})", None))
    parts.append((f" - {clean(finding.message, 300)}", None))
    where = []
    if finding.location.member:
        where.append(f"member {clean(finding.location.member)}")
    if finding.location.offset is not None:
        where.append(f"byte {finding.location.offset}")
    if where:
        parts.append((f" [{', '.join(where)}]", "dim"))
    return parts


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _header_parts(result: ScanResult, report: ReportInput) -> list[tuple[str, str | None]]:
    state = status(result, report)
    formats = ", ".join(clean(f, 40) for f in result.formats) or "no format"
    shown = len(shown_findings(result))
    worst = result.max_severity
    label = worst.name if state == "unsafe" and worst is not None else state.upper()
    count = f"; {_plural(shown, 'finding')}" if shown else ""
    return [
        (f"  {label:<9}", _STATUS_STYLES[state] if state != "unsafe" else _STYLES[worst or Severity.HIGH]),
        (f" {clean(result.source, 400)}", "bold"),
        (f" ({formats}{count})", "dim"),
    ]


def summary_line(report: ReportInput) -> str:
    """``3 files: 1 unsafe, 1 safe, 1 skipped (not a model), 0 errors (fail-on: high)``."""
    c = counts(report)
    return (f"{_plural(c['files'], 'file')}: {c['unsafe']} unsafe, {c['safe']} safe, "
            f"{c['skipped']} skipped (not a model), {_plural(c['error'], 'error')} "
            f"(fail-on: {report.threshold.label})")


_LISTED = 20  # skipped/safe files named before "... and N more" (problems are always listed in full)


def _sorted(results: list[ScanResult]) -> list[ScanResult]:
    return sorted(results, key=lambda r: natural_key(r.source))


def _lines(report: ReportInput, verbose: bool, quiet: bool = False) -> list[list[tuple[str, str | None]]]:
    """Problems first (unsafe, worst first; then errors), then what was skipped, then a count of safe files."""
    groups: dict[str, list[ScanResult]] = {"unsafe": [], "error": [], "skipped": [], "safe": []}
    for result in report.results:
        groups[status(result, report)].append(result)
    unsafe = sorted(_sorted(groups["unsafe"]), key=lambda r: -(r.max_severity or Severity.INFO))
    lines: list[list[tuple[str, str | None]]] = []
    if unsafe:
        lines.append([(f"UNSAFE: {_plural(len(unsafe), 'file')}", "bold red")])
        for result in unsafe:
            lines.append(_header_parts(result, report))
            lines.extend(_finding_parts(f) for f in shown_findings(result, verbose=verbose))
            fixes = dict.fromkeys(f.fix for f in result.blocking(report.threshold) if f.fix)
            lines.extend([("      fix: ", "dim"), (fix, None)] for fix in fixes)
            names = result.untrusted(report.threshold)
            if names:
                lines.append([("      to trust after reviewing their source: ", "dim"),
                              (" ".join(f"--trust {clean(n)}" for n in names), None)])
    if groups["error"]:
        lines.append([(f"ERRORS: {_plural(len(groups['error']), 'file')} could not be read", "bold magenta")])
        for result in _sorted(groups["error"]):
            lines.append(_header_parts(result, report))
            lines.extend(_finding_parts(f) for f in shown_findings(result, verbose=verbose))
    if not quiet:
        skipped = _sorted(groups["skipped"])
        if skipped:
            lines.append([(f"SKIPPED (not a model): {_plural(len(skipped), 'file')}", "yellow")])
            for result in skipped if verbose else skipped[:_LISTED]:
                note = next((f.message for f in result.findings if f.rule_id in NOT_A_MODEL_RULES), "")
                lines.append([(f"  {clean(result.source, 400)}", None),
                              (f" - {clean(note, 120)}" if note else "", "dim")])
            if not verbose and len(skipped) > _LISTED:
                lines.append([(f"  ... and {len(skipped) - _LISTED} more (-v lists them)", "dim")])
        safe = _sorted(groups["safe"])
        if safe:
            lines.append([(f"SAFE: {_plural(len(safe), 'file')}", "bold green")])
            if verbose or len(report.results) <= _LISTED:
                for result in safe:
                    lines.append(_header_parts(result, report))
                    lines.extend(_finding_parts(f) for f in shown_findings(result, verbose=verbose))
    lines.append([(summary_line(report), "bold")])
    return lines


def render_text(report: ReportInput, *, color: bool = False, verbose: bool = False, quiet: bool = False,
                width: int = 120) -> str:
    """The human report. ``color`` adds ANSI styling (only ever from safeload's own styles); ``quiet`` shows
    only problems (unsafe files and errors) and the summary."""
    lines = _lines(report, verbose, quiet)
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
