"""Report renderers: pure functions from a list of :class:`~safeload.ScanResult` (plus a threshold) to text.

Formats: ``text`` (rich when installed, plain otherwise), ``json`` (versioned schema,
``docs/json-schema.md``), ``sarif`` (SARIF 2.1.0 for code-scanning dashboards) and ``markdown``
(for ``$GITHUB_STEP_SUMMARY``).

Invariant: renderers read nothing but their arguments (no file system, no clock, no environment), and every
string that came from a scanned file (names, globals, member paths, messages) is escaped for the medium it is
written to: control characters for terminals, HTML and Markdown metacharacters, SARIF message syntax.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

from safeload.findings import Finding, ScanResult
from safeload.rules import NOT_A_MODEL_FACTS, RULES, SKIPPED_RULES
from safeload.severity import Severity

__all__ = [
    "FORMATS",
    "NOT_A_MODEL_RULES",
    "UNSCANNABLE_RULES",
    "ReportInput",
    "counts",
    "fails",
    "render",
    "shown_findings",
    "status",
]

FORMATS = ("text", "json", "sarif", "markdown")

# Which rules mean "could not be read to the end" (fail closed whatever --fail-on says) and "not a model" is a
# property of the rule (``safeload.rules``); these views are kept for the renderers. SL007 (I/O) is exit 2.
UNSCANNABLE_RULES = frozenset(rule_id for rule_id, rule in RULES.items() if rule.unreadable)
NOT_A_MODEL_RULES = frozenset(rule_id for rule_id, rule in RULES.items() if rule.not_a_model)


@dataclass(frozen=True)
class ReportInput:
    """What every renderer receives.

    ``results`` in input order; ``threshold`` the ``--fail-on`` level that decides verdicts; ``skipped`` the
    sources not scanned because their content is not a model (reported, never counted as clean); ``digests``
    maps a result's ``source`` to the file's sha256 (SARIF fingerprints, JSON); ``root`` is the directory
    SARIF URIs are made relative to (``%SRCROOT%``); ``lock`` the lock file a ``--locked`` run compared with.
    """

    results: Sequence[ScanResult]
    threshold: Severity = Severity.MEDIUM
    skipped: Collection[str] = ()
    digests: Mapping[str, str] = field(default_factory=dict)
    root: str | None = None
    lock: str | None = None


def fails(result: ScanResult, threshold: Severity) -> bool:
    """True if ``result`` should fail the run: a finding at or above ``threshold``, or an unscannable file."""
    return bool(result.blocking(threshold)) or any(f.rule_id in UNSCANNABLE_RULES for f in result.findings)


def render(fmt: str, report: ReportInput, *, color: bool = False, verbose: bool = False, quiet: bool = False) -> str:
    """Render ``report`` in ``fmt`` (one of :data:`FORMATS`)."""
    if fmt == "json":
        from safeload.report.json import render_json

        return render_json(report)
    if fmt == "sarif":
        from safeload.report.sarif import render_sarif

        return render_sarif(report)
    if fmt == "markdown":
        from safeload.report.markdown import render_markdown

        return render_markdown(report)
    if fmt == "text":
        from safeload.report.text import render_text

        return render_text(report, color=color, verbose=verbose, quiet=quiet)
    raise ValueError(f"unknown report format {fmt!r} (expected one of {', '.join(FORMATS)})")


def status(result: ScanResult, report: ReportInput) -> str:
    """One word per file: ``error`` (unreadable), ``skipped`` (not a model), ``unsafe`` or ``safe``.

    A file whose only problems say it is not a model (a Git LFS pointer, an empty file) is skipped, never
    unsafe: reports and SARIF must not raise alerts for a checkout without ``git lfs pull``."""
    if any(f.rule_id == "SL007" for f in result.findings):
        return "error"
    if result.source in report.skipped:
        return "skipped"
    problems = [f for f in result.findings if f.severity >= report.threshold or f.rule_id in UNSCANNABLE_RULES]
    if problems and all(f.rule_id in SKIPPED_RULES for f in problems):
        return "skipped"
    if fails(result, report.threshold):
        return "unsafe"
    if any(f.rule_id in NOT_A_MODEL_RULES and (f.rule_id not in NOT_A_MODEL_FACTS or not result.formats)
           for f in result.findings):
        return "skipped"  # an LFS pointer, text, unknown content below the threshold: reported, never "safe"
    return "safe"


def counts(report: ReportInput) -> dict[str, int]:
    """How many files ended in each status, plus the total."""
    out = {"files": len(report.results), "safe": 0, "unsafe": 0, "skipped": 0, "error": 0}
    for result in report.results:
        out[status(result, report)] += 1
    return out


def shown_findings(result: ScanResult, *, verbose: bool = False) -> list[Finding]:
    """Findings worth showing, most severe first: everything above INFO (INFO too when ``verbose``)."""
    keep = [f for f in result.findings if verbose or f.severity > Severity.INFO]
    return sorted(keep, key=lambda f: (-f.severity, f.rule_id))
