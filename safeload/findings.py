"""Findings and scan results: the structured output of every scanner.

Invariant: a ``ScanResult`` is immutable and self-contained; its verdict is a pure function of its findings
and a threshold, so the same result gives the same answer in a loader, the CLI and a report. Anything from
the scanned file is stored raw here and escaped only when rendered.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping

from safeload._record import DataclassRecord
from safeload._text import clean, clean_html, clean_markdown
from safeload.severity import Severity

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["Finding", "Location", "ScanResult", "Verdict"]


class Verdict(enum.StrEnum):
    SAFE = "safe"
    UNSAFE = "unsafe"


# The three public types were dataclasses; they are hand-written records now (issue 15: a dataclass costs
# milliseconds to create, and ``dataclasses`` imports ``inspect``), and still answer ``dataclasses.replace``,
# ``fields`` and ``asdict`` (``safeload._record.DataclassRecord``).
class Location(DataclassRecord):
    """Where a finding was seen: the file, the member inside an archive (``a/b.pkl``, nested with ``!``),
    and the byte offset within that member (or the file when there is no member)."""

    _FIELDS = ("path", "member", "offset")
    __slots__ = ("member", "offset", "path")
    _DEFAULTS = {"path": None, "member": None, "offset": None}

    path: str | None
    member: str | None
    offset: int | None

    def __init__(self, path: str | None = None, member: str | None = None, offset: int | None = None) -> None:
        object.__setattr__(self, "path", path)
        object.__setattr__(self, "member", member)
        object.__setattr__(self, "offset", offset)

    def __str__(self) -> str:
        text = self.path or "<bytes>"
        if self.member:
            text += f"!{self.member}"
        if self.offset is not None:
            text += f"@{self.offset}"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "member": self.member, "offset": self.offset}

    def human(self) -> str:
        """``model.pt, member archive/data.pkl, byte 505 of that member`` (unescaped)."""
        parts = [self.path or "<bytes>"]
        if self.member:
            parts.append(f"member {self.member}")
        if self.offset is not None:
            parts.append(f"byte {self.offset}" + (" of that member" if self.member else ""))
        return ", ".join(parts)


class Finding(DataclassRecord):
    """One observation. ``subject`` is the global, op or layer involved (raw, unescaped).

    ``trustable`` is true when the finding would go away if the user trusted ``subject`` by name
    (``trusted=[subject]``); it is false for the hard floor and for structural problems.
    ``count`` aggregates identical findings (same rule and subject) within one scan.
    """

    _FIELDS = ("rule_id", "severity", "message", "subject", "location", "trustable", "count", "details")
    # ``details`` is neither compared nor hashed
    _COMPARE = ("rule_id", "severity", "message", "subject", "location", "trustable", "count")
    __slots__ = ("count", "details", "location", "message", "rule_id", "severity", "subject", "trustable")
    _DEFAULTS = {"subject": None, "trustable": False, "count": 1}
    _FACTORIES = {"location": Location, "details": dict}

    rule_id: str
    severity: Severity
    message: str
    subject: str | None
    location: Location
    trustable: bool
    count: int
    details: Mapping[str, Any]

    def __init__(self, rule_id: str, severity: Severity, message: str, subject: str | None = None,  # noqa: PLR0917
                 location: Location | None = None, trustable: bool = False, count: int = 1,
                 details: Mapping[str, Any] | None = None) -> None:
        setter = object.__setattr__
        setter(self, "rule_id", rule_id)
        setter(self, "severity", severity)
        setter(self, "message", message)
        setter(self, "subject", subject)
        setter(self, "location", Location() if location is None else location)
        setter(self, "trustable", trustable)
        setter(self, "count", count)
        setter(self, "details", {} if details is None else details)

    @property
    def rule_name(self) -> str:
        from safeload.rules import get_rule

        return get_rule(self.rule_id).name

    @property
    def shown_subject(self) -> str | None:
        """What the finding is about, as a reviewer wants it: the call with its arguments when known
        (``posix.system('touch /tmp/x')``), else the subject. Unescaped."""
        call = self.details.get("call")
        return call if isinstance(call, str) else self.subject

    @property
    def fix(self) -> str:
        from safeload.rules import fix_for

        return fix_for(self.rule_id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "rule": self.rule_name,
            "severity": self.severity.label,
            "message": self.message,
            "subject": self.subject,
            "location": self.location.to_dict(),
            "trustable": self.trustable,
            "count": self.count,
            "details": {str(k): _jsonable(v) for k, v in self.details.items()},
        }

    def describe(self) -> str:
        """One escaped line for terminals and logs."""
        subject = f" {clean(self.shown_subject or '', 160)}" if self.shown_subject else ""
        times = f" (x{self.count})" if self.count > 1 else ""
        return (f"[{self.severity.name}] {self.rule_id} {self.rule_name}:{subject}{times} - "
                f"{clean(self.message, 300)} ({clean(self.location.human(), 300)})")

    def explain(self) -> list[str]:
        """Escaped lines for a refusal: the subject, what it does, where, and the rule's documentation."""
        from safeload.rules import get_rule

        subject = clean(self.shown_subject or "", 200) or "(no subject)"
        times = f" (x{self.count})" if self.count > 1 else ""
        return [f"{self.severity.name} {self.rule_id} {self.rule_name}: {subject}{times}",
                f"    {clean(self.message, 400)}",
                f"    in {clean(self.location.human(), 300)} - {get_rule(self.rule_id).help_uri}"]


def _jsonable(value: Any) -> Any:
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value[:50]]
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in list(value.items())[:50]}
    return str(value)


class ScanResult(DataclassRecord):
    """Everything one scan found. ``source`` names what was scanned (a path, or ``<bytes>``).

    ``threshold`` is the level the scan's policy applied (call argument, configuration or default): the verdict
    methods use it unless given another, so ``scan(p, threshold="high").is_safe()`` answers like
    ``torch_load(p, threshold="high")`` would.
    """

    _FIELDS = ("source", "findings", "formats", "bytes_scanned", "duration", "threshold", "integrity", "engine")
    __slots__ = (
        "__weakref__",
        "bytes_scanned",
        "duration",
        "engine",
        "findings",
        "formats",
        "integrity",
        "source",
        "threshold",
    )
    _COMPARE = ("source", "findings", "formats", "bytes_scanned", "duration", "threshold", "engine")
    _DEFAULTS = {"findings": (), "formats": (), "bytes_scanned": 0, "duration": 0.0, "threshold": Severity.MEDIUM,
                 "integrity": None, "engine": ""}

    source: str
    findings: tuple[Finding, ...]
    formats: tuple[str, ...]
    bytes_scanned: int
    duration: float
    threshold: Severity
    # What the integrity layer did (sha256, which checks ran; ``docs/integrity.md``), when it ran.
    integrity: Mapping[str, Any] | None
    engine: str  # the pickle engine that ran: "native", "python" ("" when no pickle was walked)

    def __init__(self, source: str, findings: tuple[Finding, ...] = (), formats: tuple[str, ...] = (),  # noqa: PLR0917
                 bytes_scanned: int = 0, duration: float = 0.0, threshold: Severity = Severity.MEDIUM,
                 integrity: Mapping[str, Any] | None = None, engine: str = "") -> None:
        setter = object.__setattr__
        setter(self, "source", source)
        setter(self, "findings", findings)
        setter(self, "formats", formats)
        setter(self, "bytes_scanned", bytes_scanned)
        setter(self, "duration", duration)
        setter(self, "threshold", threshold)
        setter(self, "integrity", integrity)
        setter(self, "engine", engine)

    def _level(self, threshold: Severity | str | None) -> Severity:
        return self.threshold if threshold is None else Severity.parse(threshold)

    @property
    def max_severity(self) -> Severity | None:
        return max((f.severity for f in self.findings), default=None)

    def blocking(self, threshold: Severity | str | None = None) -> tuple[Finding, ...]:
        """The findings at or above ``threshold`` (default: the scan's own), most severe first."""
        level = self._level(threshold)
        hits = [f for f in self.findings if f.severity >= level]
        return tuple(sorted(hits, key=lambda f: -f.severity))

    def verdict(self, threshold: Severity | str | None = None) -> Verdict:
        return Verdict.UNSAFE if self.blocking(threshold) else Verdict.SAFE

    def is_safe(self, threshold: Severity | str | None = None) -> bool:
        return self.verdict(threshold) is Verdict.SAFE

    def passed_on_trust(self, threshold: Severity | str | None = None) -> tuple[Finding, ...]:
        """SL112 findings that would have blocked at ``threshold``: the load passed only because of trust."""
        level = self._level(threshold)
        return tuple(f for f in self.findings if f.rule_id == "SL112"
                     and Severity.parse(str(f.details.get("would_be_severity", "info"))) >= level)

    def untrusted(self, threshold: Severity | str | None = None) -> list[str]:
        """Names that would have to be trusted for the load to pass, in the form ``trusted=`` accepts.

        Empty when some blocking finding cannot be trusted away (hard floor or a structural problem).
        Review the source of every name before passing this list back.
        """
        blocking = self.blocking(threshold)
        if any(not f.trustable or not f.subject for f in blocking):
            return []
        return sorted({f.subject for f in blocking if f.subject})

    def merged_with(self, other: ScanResult) -> ScanResult:
        return ScanResult(
            source=self.source,
            findings=self.findings + other.findings,
            formats=tuple(dict.fromkeys(self.formats + other.formats)),
            bytes_scanned=self.bytes_scanned + other.bytes_scanned,
            duration=self.duration + other.duration,
            threshold=self.threshold,
            engine="+".join(sorted({e for e in (self.engine, other.engine) if e})) if self.engine != other.engine
            else self.engine,
        )

    def to_dict(self, threshold: Severity | str | None = None) -> dict[str, Any]:
        return {
            "source": self.source,
            "verdict": self.verdict(threshold).value,
            "threshold": self._level(threshold).label,
            "passed_on_trust": [f.subject for f in self.passed_on_trust(threshold)],
            "max_severity": self.max_severity.label if self.max_severity is not None else None,
            "formats": list(self.formats),
            "bytes_scanned": self.bytes_scanned,
            "duration_seconds": round(self.duration, 6),
            "engine": self.engine,
            "findings": [f.to_dict() for f in sorted(self.findings, key=lambda f: -f.severity)],
            **({"integrity": dict(self.integrity)} if self.integrity is not None else {}),
        }

    def summary(self, threshold: Severity | str | None = None) -> str:
        """A few escaped lines: verdict, then the blocking findings."""
        verdict = self.verdict(threshold)
        lines = [f"{clean(self.source)}: {verdict.value.upper()} "
                 f"({', '.join(self.formats) or 'no format'}; {len(self.findings)} findings)"]
        lines += [f"  {f.describe()}" for f in self.blocking(threshold)]
        return "\n".join(lines)

    def __repr__(self) -> str:
        worst = self.max_severity.name if self.max_severity is not None else "none"
        return (f"<ScanResult {clean(self.source, 80)!s} {self.verdict().value} formats={list(self.formats)} "
                f"findings={len(self.findings)} max={worst}>")

    # Jupyter renders these; every cell is escaped.
    def _repr_html_(self, threshold: Severity | str | None = None) -> str:
        from safeload.rules import get_rule

        verdict = self.verdict(threshold)
        colour = "#b00020" if verdict is Verdict.UNSAFE else "#1b7f3b"
        rows = "".join(
            f"<tr><td>{f.severity.name}</td><td><a href='{clean_html(get_rule(f.rule_id).help_uri)}'>{f.rule_id}</a> "
            f"{f.rule_name}</td><td>{clean_html(f.shown_subject or '')}</td>"
            f"<td>{clean_html(f.message, 300)}</td><td>{clean_html(str(f.location))}</td></tr>"
            for f in sorted(self.findings, key=lambda f: -f.severity)
        )
        return (f"<div><b>{clean_html(self.source)}</b> "
                f"<span style='color:{colour};font-weight:bold'>{verdict.value.upper()}</span> "
                f"({clean_html(', '.join(self.formats))})"
                "<table><thead><tr><th>severity</th><th>rule</th><th>subject</th><th>detail</th>"
                f"<th>location</th></tr></thead><tbody>{rows}</tbody></table></div>")

    def _repr_markdown_(self, threshold: Severity | str | None = None) -> str:
        lines = [f"**{clean_markdown(self.source)}**: {self.verdict(threshold).value.upper()}", "",
                 "| severity | rule | subject | detail | location |", "|---|---|---|---|---|"]
        lines += [
            f"| {f.severity.name} | {f.rule_id} {f.rule_name} | {clean_markdown(f.subject or '')} | "
            f"{clean_markdown(f.message, 300)} | {clean_markdown(str(f.location))} |"
            for f in sorted(self.findings, key=lambda f: -f.severity)
        ]
        return "\n".join(lines)


def worst(findings: Iterable[Finding]) -> Severity | None:
    return max((f.severity for f in findings), default=None)
