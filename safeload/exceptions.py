"""The exception hierarchy. Every error safeload raises is a ``SafeloadError``::

    SafeloadError
    +-- UnsafeModelError                 a scan found something at or above the threshold; carries .result
    |   +-- UnsafePickleError            also pickle.UnpicklingError (pickle, torch, joblib, numpy, dill loaders)
    |   +-- UnsafeKerasModelError        also ValueError (Keras / TensorFlow loaders)
    +-- PolicyError                      also ValueError: bad threshold, bad trust entry, hard-floor trust
    |   +-- ConfigError                  bad [tool.safeload] / SAFELOAD_* settings

Invariant: a refusal is raised *before* the real loader runs, and its leaves subclass the exception the
original loader raises on bad input, so ``except pickle.UnpicklingError`` around ``torch.load`` still catches it.
``SafeloadWarning`` is a ``UserWarning`` for things calling code should change.
"""

from __future__ import annotations

import pickle
from typing import TYPE_CHECKING

from safeload._text import clean
from safeload.severity import Severity

if TYPE_CHECKING:
    from safeload.findings import ScanResult

__all__ = [
    "ConfigError",
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
        lines = [f"safeload refused to {self.loader} {clean(self.result.source)}: "
                 f"{len(self.findings)} finding(s) at or above {self.threshold.name}. Nothing was loaded."]
        for finding in self.findings[:20]:
            lines.append(f"  - {finding.describe()}")
        if len(self.findings) > 20:
            lines.append(f"  ... and {len(self.findings) - 20} more (see err.result)")
        names = self.result.untrusted(self.threshold)
        if names:
            shown = ", ".join(repr(clean(n)) for n in names[:10])
            lines.append("If, and only if, you have reviewed the source of these names and trust the file's origin, "
                         f"allow them with trusted=[{shown}] (or safeload.trust([...]) / "
                         "`with safeload.trusted([...]):`).")
        elif any(not f.trustable for f in self.findings):
            lines.append("At least one finding cannot be trusted away (it runs code or commands, or the file could "
                         "not be fully parsed). Do not load this file; if it is your own, re-save it from a clean "
                         "environment (for tensors, prefer safetensors).")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return f"<p><b>UnsafeModelError</b>: load refused.</p>{self.result._repr_html_()}"

    def _repr_markdown_(self) -> str:
        return "**UnsafeModelError**: load refused.\n\n" + self.result._repr_markdown_()


class UnsafePickleError(UnsafeModelError, pickle.UnpicklingError):
    """Refusal from a pickle-based loader; also a ``pickle.UnpicklingError``."""


class UnsafeKerasModelError(UnsafeModelError, ValueError):
    """Refusal from a Keras or TensorFlow loader; also a ``ValueError``."""
