"""Severity levels shared by findings, thresholds, the CLI and SARIF.

Invariant: the order INFO < LOW < MEDIUM < HIGH < CRITICAL is total and is the only thing a threshold
compares; a finding blocks a load when its severity is at or above the threshold.
"""

from __future__ import annotations

import enum

__all__ = ["Severity"]


class Severity(enum.IntEnum):
    """How dangerous a finding is. Compare with ``>=`` against a threshold."""

    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @classmethod
    def parse(cls, value: Severity | str | int) -> Severity:
        """Accept a ``Severity``, a case-insensitive name (``"high"``) or its integer value."""
        if isinstance(value, Severity):
            return value
        if isinstance(value, bool):
            raise ValueError(f"not a severity: {value!r}")
        if isinstance(value, int):
            return cls(value)
        if isinstance(value, str):
            try:
                return cls[value.strip().upper()]
            except KeyError:
                pass
        names = ", ".join(level.name.lower() for level in cls)
        raise ValueError(f"not a severity: {value!r} (expected one of {names})")

    @property
    def label(self) -> str:
        return self.name.lower()

    @property
    def sarif_level(self) -> str:
        """SARIF ``level``: HIGH and CRITICAL are errors, MEDIUM warnings, the rest notes."""
        if self >= Severity.HIGH:
            return "error"
        if self == Severity.MEDIUM:
            return "warning"
        return "note"

    @property
    def security_severity(self) -> str:
        """GitHub's ``security-severity`` score (over 9.0 critical, 7.0-8.9 high, 4.0-6.9 medium)."""
        return {4: "9.5", 3: "8.0", 2: "5.5", 1: "3.0", 0: "0.0"}[int(self)]
