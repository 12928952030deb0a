"""The exception hierarchy. Every error safeload raises is a ``SafeloadError``::

    SafeloadError
    +-- UnsafeModelError                 a scan found something at or above the threshold; carries .result
    |   +-- UnsafePickleError            also pickle.UnpicklingError (pickle, torch, joblib, numpy, dill loaders)
    |   +-- UnsafeKerasModelError        also ValueError (Keras / TensorFlow loaders)
    |   +-- IntegrityError               the bytes are not the pinned ones: digest, lock or signature mismatch
    +-- PolicyError                      also ValueError: bad threshold, bad trust entry, hard-floor trust
    |   +-- ConfigError                  bad [tool.safeload] / SAFELOAD_* settings

Invariant: a refusal is raised *before* the real loader runs, and its leaves subclass the exception the
original loader raises on bad input, so ``except pickle.UnpicklingError`` around ``torch.load`` still catches it.
``SafeloadWarning`` is a ``UserWarning`` for things calling code should change.
"""

from __future__ import annotations

TYPE_CHECKING = False  # ``typing`` itself costs milliseconds: keep it out of ``import safeload``

# ``_pickle.UnpicklingError`` is ``pickle.UnpicklingError`` (pickle.py re-exports it); importing the C module
# keeps ``pickle`` (and its ``re``) out of ``import safeload``.
try:
    from _pickle import UnpicklingError as _UnpicklingError
except ImportError:  # pragma: no cover - interpreters without the C accelerator
    from pickle import UnpicklingError as _UnpicklingError

if TYPE_CHECKING:
    from safeload.findings import ScanResult
    from safeload.severity import Severity


def clean(text: object, limit: int = 200) -> str:
    from safeload._text import clean as _clean  # imported on first refusal: keeps re and html out of the import

    return _clean(text, limit)


def clean_markdown(text: object, limit: int = 200) -> str:
    from safeload._text import clean_markdown as _clean_markdown

    return _clean_markdown(text, limit)

__all__ = [
    "ConfigError",
    "IntegrityError",
    "PolicyError",
    "SafeloadError",
    "SafeloadWarning",
    "UnsafeKerasModelError",
    "UnsafeModelError",
    "UnsafePickleError",
]


class SafeloadError(Exception):
    """Base class of every safeload error."""


class SafeloadWarning(UserWarning):
    """Something the calling code should change (a lax override took effect, a partly understood format)."""


class PolicyError(SafeloadError, ValueError):
    """A threshold, trust entry or policy is invalid (for example trusting ``os.system``)."""


class ConfigError(PolicyError):
    """A configuration file or ``SAFELOAD_*`` environment variable is invalid."""


class UnsafeModelError(SafeloadError):
    """The scan found findings at or above the threshold; nothing was loaded.

    ``result`` is the full :class:`~safeload.ScanResult`; ``findings`` the blocking ones; ``threshold`` the level
    that was applied. ``str(err)`` names each offending item and how to trust it after review.
    """

    def __init__(self, result: ScanResult, threshold: Severity, loader: str = "load") -> None:
        self.result = result
        self.threshold = threshold
        self.loader = loader
        self.findings = result.blocking(threshold)
        super().__init__(self._message())

    def _message(self) -> str:
        count = len(self.findings)
        lines = [f"safeload refused to {self.loader} {clean(self.result.source)}: {count} "
                 f"finding{'s' if count != 1 else ''} at or above {self.threshold.name}. Nothing was loaded."]
        for finding in self.findings[:20]:
            lines.extend(f"  {line}" for line in finding.explain())
        if count > 20:
            lines.append(f"  ... and {count - 20} more (see err.result)")
        fixes = self.fixes()
        if fixes:
            lines.append("How to fix:")
            lines.extend(f"  - {fix}" for fix in fixes)
        trust = self.trust_hint()
        if trust:
            lines.append(trust)
        return "\n".join(lines)

    def fixes(self) -> list[str]:
        """What fixes the blocking findings, one line per distinct fix (rule ids first)."""
        by_fix: dict[str, list[str]] = {}
        for finding in self.findings:
            if finding.fix:
                by_fix.setdefault(finding.fix, [])
                if finding.rule_id not in by_fix[finding.fix]:
                    by_fix[finding.fix].append(finding.rule_id)
        return [f"{', '.join(rules)}: {fix}" for fix, rules in by_fix.items()]

    def trust_hint(self) -> str:
        names = self.result.untrusted(self.threshold)
        if names:
            shown = ", ".join(repr(clean(n)) for n in names[:10])
            return ("If, and only if, you have reviewed the source of these names and trust the file's origin, "
                    f"allow them with trusted=[{shown}] (or safeload.trust([...]) / "
                    "`with safeload.trusted([...]):`).")
        if any(not f.trustable for f in self.findings):
            return ("At least one finding cannot be trusted away (it runs code or commands, or the file could not "
                    "be fully parsed).")
        return ""

    def _repr_html_(self) -> str:
        from html import escape

        fixes = "".join(f"<li>{escape(fix)}</li>" for fix in self.fixes())
        trust = self.trust_hint()
        return (f"<p><b>UnsafeModelError</b>: load refused.</p>{self.result._repr_html_(self.threshold)}"
                + (f"<p><b>How to fix</b></p><ul>{fixes}</ul>" if fixes else "")
                + (f"<p>{escape(trust)}</p>" if trust else ""))

    def _repr_markdown_(self) -> str:
        fixes = "".join(f"\n- {clean_markdown(fix, 600)}" for fix in self.fixes())
        trust = self.trust_hint()
        return ("**UnsafeModelError**: load refused.\n\n" + self.result._repr_markdown_(self.threshold)
                + (f"\n\n**How to fix**{fixes}" if fixes else "") + (f"\n\n{clean_markdown(trust, 1200)}" if trust
                                                                          else ""))


class UnsafePickleError(UnsafeModelError, _UnpicklingError):
    """Refusal from a pickle-based loader; also a ``pickle.UnpicklingError``."""


class UnsafeKerasModelError(UnsafeModelError, ValueError):
    """Refusal from a Keras or TensorFlow loader; also a ``ValueError``."""


class IntegrityError(UnsafeModelError):
    """The bytes are not the ones that were pinned: a digest, lock-file or signature check failed.

    Raised before anything is loaded. ``check`` names the check (``"sha256"``, ``"lock"``, ``"signature"``),
    ``reason`` says what failed, ``expected`` and ``actual`` are the digests compared (hex, or None when there
    was nothing to compare, e.g. a file missing from the lock). ``result`` is the scan of the same bytes.

    .. versionadded:: 0.2
    """

    def __init__(self, result: ScanResult, threshold: Severity, loader: str = "load", *, check: str,
                 reason: str, expected: str | None = None, actual: str | None = None) -> None:
        self.check = check
        self.reason = reason
        self.expected = expected
        self.actual = actual
        super().__init__(result, threshold, loader)

    def _message(self) -> str:
        lines = [f"safeload refused to {self.loader} {clean(self.result.source)}: {self.check} check failed: "
                 f"{clean(self.reason, 1000)}. Nothing was loaded."]
        if self.expected is not None or self.actual is not None:
            lines.append(f"  expected {self.check}: {clean(self.expected or '(none)')}")
            lines.append(f"  actual   {self.check}: {clean(self.actual or '(none)')}")
        lines.append("The file is not the one that was pinned, locked or signed. If it changed on purpose, review it, "
                     "then update the pin (expected_sha256=...), re-run `safeload lock`, or re-sign it.")
        return "\n".join(lines)
