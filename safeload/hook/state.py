"""The import hook's state (one per process) and the :func:`status` snapshot of it.

Invariants: every field of :data:`STATE` is read and written under ``STATE.lock`` (an ``RLock``); nothing
here imports a framework or calls out while holding it; errors recorded from hooks are capped
(``MAX_ERRORS``) so a misbehaving import loop cannot grow memory without bound.
"""

from __future__ import annotations

import contextvars
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from safeload._log import get_logger
from safeload.hook.targets import TARGETS, Alias, Target
from safeload.severity import Severity

__all__ = [
    "MISSING",
    "STATE",
    "HookError",
    "HookStatus",
    "Patch",
    "Settings",
    "current_hook",
    "ensure_log_filter",
    "is_installed",
    "record_error",
    "skip",
    "status",
    "targets_of",
]

logger = get_logger("safeload.hook")

MISSING = object()
MAX_ERRORS = 100


@dataclass(frozen=True, slots=True)
class HookError:
    """A failure inside the hook (it was caught: the import that triggered it went on)."""

    target: str
    message: str
    when: float


@dataclass(frozen=True)
class HookStatus:
    """A snapshot of the hook: what is patched, what waits for an import, what was skipped and why.

    ``trusted`` holds the names ``install(trusted=...)`` passes to every hooked load; ``trusted_config`` the
    names each load also trusts from ``[tool.safeload] trusted`` and ``SAFELOAD_TRUSTED`` (as of this call).
    """

    installed: bool
    generation: int
    targets: tuple[str, ...] = ()
    threshold: str | None = None
    trusted: tuple[str, ...] = ()
    patched: tuple[str, ...] = ()
    pending: tuple[str, ...] = ()
    skipped: dict[str, str] = field(default_factory=dict)
    errors: tuple[HookError, ...] = ()
    unguarded: tuple[str, ...] = ()
    trusted_config: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "installed": self.installed, "generation": self.generation, "targets": list(self.targets),
            "threshold": self.threshold, "trusted": list(self.trusted),
            "trusted_config": list(self.trusted_config), "patched": list(self.patched),
            "pending": list(self.pending), "skipped": dict(self.skipped),
            "errors": [{"target": e.target, "message": e.message, "when": e.when} for e in self.errors],
            "unguarded": list(self.unguarded),
        }

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # IPython
        printer.text("HookStatus(...)" if cycle else str(self))

    def __str__(self) -> str:
        from safeload._text import clean

        lines = [f"safeload hook: {'installed' if self.installed else 'not installed'}"
                 f" (threshold {self.threshold or 'from config'})"]
        lines += [f"  trusted   {clean(name)} (install)" for name in self.trusted]
        lines += [f"  trusted   {clean(name)} (config)" for name in self.trusted_config]
        lines += [f"  patched   {name}" for name in self.patched]
        lines += [f"  pending   {name} (patched when imported)" for name in self.pending]
        lines += [f"  skipped   {name}: {reason}" for name, reason in self.skipped.items()]
        lines += [f"  error     {e.target}: {clean(e.message)}" for e in self.errors]
        lines += [f"  unguarded {clean(name)} (reference taken before install)" for name in self.unguarded]
        return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class Settings:
    """What ``install()`` was called with, resolved: passed to every wrapper it makes."""

    threshold: Severity | None
    trusted: tuple[str, ...]
    targets: tuple[str, ...]


@dataclass(slots=True)
class Patch:
    """One replaced attribute and what it replaced."""

    alias: Alias
    container: Any  # the module (or the object inside it) whose attribute was replaced
    original: Any
    wrapper: Any
    keys: tuple[tuple[str, str], ...]
    in_dict: bool = True  # False: the original came from the module's __getattr__ (restore by deleting ours)


@dataclass
class State:
    lock: threading.RLock = field(default_factory=threading.RLock)
    installed: bool = False
    generation: int = 0
    settings: Settings | None = None
    patches: dict[tuple[str, str], Patch] = field(default_factory=dict)
    wrappers: dict[tuple[int, str], Any] = field(default_factory=dict)  # (id(original), loader) -> wrapper
    registered: set[str] = field(default_factory=set)  # module names with a live wrapt registration
    pending: set[str] = field(default_factory=set)
    skipped: dict[str, str] = field(default_factory=dict)
    errors: list[HookError] = field(default_factory=list)
    unguarded: list[str] = field(default_factory=list)
    gates: dict[str, str | None] = field(default_factory=dict)  # target -> reason it is unsupported, or None


STATE = State()

# The alias a hooked call came through, for the audit record (``safeload_hook``) while the safe loader runs.
CURRENT: contextvars.ContextVar[str | None] = contextvars.ContextVar("safeload_hook", default=None)


def current_hook() -> str | None:
    """The patched alias (``"torch.load"``) the current load came through, or ``None`` for a direct call."""
    return CURRENT.get()


class _HookField(logging.Filter):
    """Adds ``safeload_hook`` (the alias, or None) to each ``safeload.loaders`` record (the audit record)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.safeload_hook = CURRENT.get()
        return True


def ensure_log_filter() -> None:
    audit_logger = logging.getLogger("safeload.loaders")
    if not any(isinstance(f, _HookField) for f in audit_logger.filters):
        audit_logger.addFilter(_HookField())


def targets_of(settings: Settings) -> list[Target]:
    return [TARGETS[name] for name in settings.targets]


def record_error(target: str, exc: BaseException | str) -> None:
    message = exc if isinstance(exc, str) else f"{type(exc).__name__}: {exc}"
    logger.warning("safeload hook: %s: %s (the import went on, unpatched)", target, message,
                   extra={"safeload_hook_target": target, "safeload_hook_error": message})
    with STATE.lock:
        if len(STATE.errors) < MAX_ERRORS:
            STATE.errors.append(HookError(target, message, time.time()))


def skip(alias: Alias, reason: str) -> None:
    """Record that ``alias`` is left alone (lock held); log each distinct reason once."""
    if alias.name not in STATE.skipped:
        logged = reason in STATE.skipped.values()
        STATE.skipped[alias.name] = reason
        if logged:
            return
        logger.warning("safeload hook: not patching %s: %s", alias.name, reason,
                       extra={"safeload_hook_target": alias.name, "safeload_hook_skipped": reason})


def is_installed() -> bool:
    """True between ``install()`` and ``uninstall()``."""
    with STATE.lock:
        return STATE.installed


def _config_trust() -> tuple[str, ...]:
    """Names every load trusts from ``[tool.safeload] trusted`` and ``SAFELOAD_TRUSTED`` (never raises)."""
    from safeload.config import load_config
    from safeload.exceptions import ConfigError

    names: list[str] = []
    try:
        names.extend(load_config().trusted)
    except ConfigError as exc:
        names.append(f"<configuration error: {exc}>")
    env = os.environ.get("SAFELOAD_TRUSTED", "")
    names.extend(part for part in (p.strip() for p in env.split(",")) if part)
    return tuple(dict.fromkeys(names))


def status() -> HookStatus:
    """What is patched, what waits for an import, what was skipped (and why), hook errors, trusted names."""
    trusted_config = _config_trust()
    with STATE.lock:
        settings = STATE.settings
        return HookStatus(
            installed=STATE.installed,
            generation=STATE.generation,
            targets=settings.targets if settings else (),
            threshold=settings.threshold.label if settings and settings.threshold is not None else None,
            trusted=settings.trusted if settings else (),
            patched=tuple(sorted(p.alias.name for p in STATE.patches.values())),
            pending=tuple(sorted(a.name for t in (targets_of(settings) if settings else ())
                                 for a in t.aliases if a.module in STATE.pending)),
            skipped=dict(STATE.skipped),
            errors=tuple(STATE.errors),
            unguarded=tuple(STATE.unguarded),
            trusted_config=trusted_config,
        )
