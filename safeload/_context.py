"""ScanContext: what one scan carries through every scanner (policy, limits, location, findings).

Invariants: findings are aggregated by (rule, subject, member) so a million identical REDUCEs make one
finding with a count; nesting depth and wall time are bounded by the policy's limits; a scanner reports
problems through ``add`` and never by returning "clean".
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from safeload.findings import Finding, Location, ScanResult
from safeload.policy import Limits, Policy
from safeload.severity import Severity

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["LimitExceeded", "ScanContext"]


class _Inside:
    """The ``with`` block of :meth:`ScanContext.inside` (a class: no ``contextlib`` on the first load's path)."""

    __slots__ = ("_ctx", "_member", "_nested")

    def __init__(self, ctx: ScanContext, member: str, nested: bool) -> None:
        self._ctx, self._member, self._nested = ctx, member, nested

    def __enter__(self) -> None:
        ctx = self._ctx
        ctx._members.append(self._member)
        ctx.depth += 1 if self._nested else 0

    def __exit__(self, *exc_info: object) -> None:
        ctx = self._ctx
        ctx._members.pop()
        ctx.depth -= 1 if self._nested else 0


class LimitExceeded(Exception):  # noqa: N818 - internal control flow, never escapes the scan
    """Raised inside scanners when a resource limit is hit; the scan driver turns it into a finding."""

    def __init__(self, rule_id: str, message: str) -> None:
        super().__init__(message)
        self.rule_id = rule_id


class ScanContext:
    """Mutable state of one scan. Create one per top-level ``scan`` call."""

    def __init__(self, policy: Policy, source: str, path: str | None = None) -> None:
        self.policy = policy
        self.limits: Limits = policy.limits
        self.source = source
        self.path = path
        self.depth = 0
        self._members: list[str] = []
        self._formats: dict[str, None] = {}
        self._findings: dict[tuple[str, str | None, str | None], Finding] = {}
        self.started = time.monotonic()
        self.deadline = self.started + self.limits.max_seconds
        self.bytes_scanned = 0
        self.engines: set[str] = set()  # pickle engines that walked streams in this scan (native, python)

    # -- location ---------------------------------------------------------------------------------------
    @property
    def member(self) -> str | None:
        return "!".join(self._members) if self._members else None

    def inside(self, member: str, *, nested: bool = False) -> _Inside:
        """Scan ``member`` (an archive member or an embedded payload) in the ``with`` block. ``nested`` counts
        toward max_nesting."""
        if nested and self.depth + 1 > self.limits.max_nesting:
            raise LimitExceeded("SL013", f"embedded payloads nested more than {self.limits.max_nesting} deep")
        return _Inside(self, member, nested)

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise LimitExceeded("SL014", f"scan exceeded {self.limits.max_seconds:g} s")

    # -- results ----------------------------------------------------------------------------------------
    def note_format(self, name: str) -> None:
        self._formats.setdefault(name, None)

    def is_trusted(self, name: str) -> bool:
        return self.policy.is_trusted(name)

    def add(self, rule_id: str, message: str, *, severity: Severity | None = None, subject: str | None = None,
            offset: int | None = None, trustable: bool = False, details: Mapping[str, Any] | None = None,
            member: str | None = None) -> None:
        """Record a finding (aggregated with an identical earlier one: count goes up, severity is the max).

        This is the one place trust applies: a finding whose rule is trustable, that the scanner did not mark
        untrustable (``trustable=False`` for the hard floor), about a subject the policy trusts, is recorded as
        SL112 with the rule and severity it would have had.
        """
        if severity is None or trustable:
            from safeload.rules import get_rule  # the rule table loads when a finding needs it (issue 15)

            rule = get_rule(rule_id)
            level = severity if severity is not None else rule.severity
            trustable = trustable and rule.trustable
        else:
            level = severity  # stated by the caller (SL100 on every pickle): no rule table needed
        if trustable and subject and level > Severity.INFO and self.policy.is_trusted(subject):
            would = {"would_be": rule_id, "would_be_severity": level.label}
            self.add("SL112", f"{subject} trusted by policy (would be {rule_id} {level.name}: {message})",
                     subject=subject, offset=offset, details={**(details or {}), **would}, member=member)
            return
        where = member if member is not None else self.member
        key = (rule_id, subject, where)
        previous = self._findings.get(key)
        if previous is not None:
            self._findings[key] = Finding(
                rule_id=rule_id, severity=max(level, previous.severity), message=previous.message,
                subject=subject, location=previous.location, trustable=previous.trustable and trustable,
                count=previous.count + 1, details=previous.details)
            return
        self._findings[key] = Finding(
            rule_id=rule_id, severity=level, message=message, subject=subject,
            location=Location(self.path, where, offset), trustable=trustable, details=dict(details or {}))

    def add_limit(self, exc: LimitExceeded, offset: int | None = None) -> None:
        self.add(exc.rule_id, str(exc), offset=offset)

    @property
    def findings(self) -> tuple[Finding, ...]:
        return tuple(self._findings.values())

    def result(self) -> ScanResult:
        return ScanResult(source=self.source, findings=self.findings, formats=tuple(self._formats),
                          bytes_scanned=self.bytes_scanned, duration=time.monotonic() - self.started,
                          threshold=self.policy.threshold, engine="+".join(sorted(self.engines)))
