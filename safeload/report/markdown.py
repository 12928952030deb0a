"""Markdown report for ``$GITHUB_STEP_SUMMARY``, pull-request comments and notebooks.

Every string from a scanned file goes through :func:`safeload._text.clean_markdown`: control characters are
shown as escapes, and pipes, backticks, brackets and angle brackets are backslash-escaped so a hostile name
can neither break the table nor inject links, HTML or code spans.
"""

from __future__ import annotations

from safeload._text import clean_markdown
from safeload._walk import natural_key
from safeload.findings import ScanResult
from safeload.report import ReportInput, counts, shown_findings, status
from safeload.rules import get_rule

__all__ = ["render_markdown"]

_ICONS = {"unsafe": ":x:", "safe": ":white_check_mark:", "skipped": ":warning:", "error": ":boom:"}


_LISTED = 50  # skipped files named before "... and N more"; unsafe files and errors are always listed


def render_markdown(report: ReportInput, *, title: str = "safeload scan") -> str:
    """A summary a reviewer reads top to bottom: counts, then every problem with its findings, then what was
    skipped; safe files are only counted (a 1,000-file repository does not become a 1,000-row table)."""
    c = counts(report)
    lines = [
        f"## {title}",
        "",
        f"**{c['files']}** files scanned with fail-on **{report.threshold.label}**: "
        f"**{c['unsafe']}** unsafe, {c['safe']} safe, {c['skipped']} skipped (not a model), "
        f"{c['error']} errors.",
    ]
    by_state: dict[str, list[ScanResult]] = {"unsafe": [], "error": [], "skipped": [], "safe": []}
    for result in report.results:
        by_state[status(result, report)].append(result)
    problems = sorted(by_state["unsafe"], key=lambda r: (-(r.max_severity or 0), natural_key(r.source)))
    problems += sorted(by_state["error"], key=lambda r: natural_key(r.source))
    if problems:
        lines += ["", "| status | file | formats | worst | findings |", "|---|---|---|---|---|"]
        for result in problems:
            state = status(result, report)
            worst = result.max_severity.name if result.max_severity is not None else "-"
            formats = clean_markdown(", ".join(result.formats)) or "-"
            lines.append(f"| {_ICONS[state]} {state} | {clean_markdown(result.source, 300)} | "
                         f"{formats} | {worst} | {len(shown_findings(result))} |")
        lines += ["", "### Findings", "", "| file | severity | rule | subject | detail | where |",
                  "|---|---|---|---|---|---|"]
        for result in problems:
            for f in shown_findings(result):
                lines.append(
                    f"| {clean_markdown(result.source, 120)} | {f.severity.name} | "
                    f"[{f.rule_id}]({get_rule(f.rule_id).help_uri}) {f.rule_name} | "
                    f"{clean_markdown(f.shown_subject or '', 160)} | {clean_markdown(f.message, 300)} | "
                    f"{clean_markdown(f.location.human(), 200)} |")
    skipped = sorted(by_state["skipped"], key=lambda r: natural_key(r.source))
    if skipped:
        lines += ["", f"<details><summary>{len(skipped)} skipped (not a model)</summary>", ""]
        lines += [f"- {clean_markdown(r.source, 300)}" for r in skipped[:_LISTED]]
        if len(skipped) > _LISTED:
            lines.append(f"- ... and {len(skipped) - _LISTED} more")
        lines += ["", "</details>"]
    return "\n".join(lines) + "\n"
