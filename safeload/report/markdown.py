"""Markdown report for ``$GITHUB_STEP_SUMMARY``, pull-request comments and notebooks.

Every string from a scanned file goes through :func:`safeload._text.clean_markdown`: control characters are
shown as escapes, and pipes, backticks, brackets and angle brackets are backslash-escaped so a hostile name
can neither break the table nor inject links, HTML or code spans.
"""

from __future__ import annotations

from safeload._text import clean_markdown
from safeload.report import ReportInput, counts, shown_findings, status

__all__ = ["render_markdown"]

_ICONS = {"unsafe": ":x:", "safe": ":white_check_mark:", "skipped": ":warning:", "error": ":boom:"}


def render_markdown(report: ReportInput, *, title: str = "safeload scan") -> str:
    c = counts(report)
    lines = [
        f"## {title}",
        "",
        f"**{c['files']}** files scanned with fail-on **{report.threshold.label}**: "
        f"**{c['unsafe']}** unsafe, {c['safe']} safe, {c['skipped']} skipped (not a model), "
        f"{c['error']} errors.",
        "",
        "| status | file | formats | worst | findings |",
        "|---|---|---|---|---|",
    ]
    for result in report.results:
        state = status(result, report)
        worst = result.max_severity.name if result.max_severity is not None else "-"
        formats = clean_markdown(", ".join(result.formats)) or "-"
        lines.append(f"| {_ICONS[state]} {state} | {clean_markdown(result.source, 300)} | "
                     f"{formats} | {worst} | {len(result.findings)} |")
    detail = [(r, shown_findings(r)) for r in report.results]
    detail = [(r, fs) for r, fs in detail if fs]
    if detail:
        lines += ["", "### Findings", "", "| file | severity | rule | subject | detail | member | offset |",
                  "|---|---|---|---|---|---|---|"]
        for result, findings in detail:
            for f in findings:
                offset = "" if f.location.offset is None else str(f.location.offset)
                lines.append(
                    f"| {clean_markdown(result.source, 120)} | {f.severity.name} | "
                    f"{f.rule_id} {f.rule_name} | "
                    f"{clean_markdown(f.subject or '')} | {clean_markdown(f.message, 300)} | "
                    f"{clean_markdown(f.location.member or '')} | {offset} |")
    return "\n".join(lines) + "\n"
