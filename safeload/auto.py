"""``import safeload.auto``: install the import hook first thing in a service (the ``ddtrace.auto`` idea).

Put it before any framework import (first line of the entry point, or at interpreter start through
``safeload run -- CMD``, whose ``sitecustomize`` imports this module), so no module can take a reference to
``torch.load`` and friends before they are patched.

Configuration (read once, at import):

- ``SAFELOAD_HOOK``: unset or truthy (``1/true/yes/on``) installs; falsy (``0/false/no/off``) does not.
  Without the variable, ``hook = false`` in ``[tool.safeload]`` also turns it off. An invalid value installs
  anyway (failing closed) and logs a warning.
- ``SAFELOAD_HOOK_TARGETS``: comma-separated targets (default: ``default``, i.e. every framework but the
  stdlib ``pickle`` module; ``default,pickle`` adds it).
- ``SAFELOAD_LOG_LEVEL``: when set, a stderr handler is attached to the ``safeload`` logger at that level, with
  the structured ``safeload_*`` fields appended as JSON. When unset, no handler is added (the application's
  logging configuration decides); ``log_level`` in ``[tool.safeload]`` is for the CLI and is not used here.
- ``SAFELOAD_THRESHOLD``, ``SAFELOAD_TRUSTED`` and ``[tool.safeload]`` apply to each load, as for direct
  calls.

Invariant: importing this module never raises and imports no ML framework.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from typing import Any

from safeload._log import get_logger
from safeload.config import Config, load_config
from safeload.exceptions import ConfigError

__all__ = ["StructuredFormatter", "activate"]

logger = get_logger("safeload.hook")

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class StructuredFormatter(logging.Formatter):
    """``time level logger message {"safeload_...": ...}``: the ``safeload_*`` fields as one JSON object."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        fields = {k: v for k, v in record.__dict__.items()
                  if k.startswith("safeload_") and k not in _STANDARD}
        if fields:
            text += " " + json.dumps(fields, default=str, sort_keys=True)
        return text


def _configure_logging(level_name: str) -> None:
    root = logging.getLogger("safeload")
    if any(getattr(h, "_safeload_auto", False) for h in root.handlers):
        return
    try:
        level = logging.getLevelName(level_name.strip().upper())
        if not isinstance(level, int):
            raise ValueError(level_name)
    except ValueError:
        sys.stderr.write(f"safeload: SAFELOAD_LOG_LEVEL={level_name!r} is not a log level; using WARNING\n")
        level = logging.WARNING
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(StructuredFormatter())
    handler._safeload_auto = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)


def _read_config() -> tuple[Config | None, str | None]:
    try:
        return load_config(), None
    except ConfigError as exc:
        return None, str(exc)


def _enabled(config: Config | None) -> bool:
    if config is None:
        return True  # unreadable configuration: fail closed
    if "hook" in config.sources:  # said explicitly, in the environment or in [tool.safeload]
        return config.hook
    return True


def activate(environ: dict[str, str] | None = None) -> bool:
    """What importing this module does; returns whether the hook is installed afterwards. Never raises."""
    env = os.environ if environ is None else environ
    try:
        config, problem = _read_config()
        level = env.get("SAFELOAD_LOG_LEVEL")  # only the environment: a service's logging is its own business
        if level:
            _configure_logging(level)
        if problem is not None:
            sys.stderr.write(f"safeload: invalid configuration ({problem}); installing the import hook anyway\n")
            logger.warning("safeload.auto: invalid configuration (%s); installing the hook with defaults",
                           problem)
        if not _enabled(config):
            logger.info("safeload.auto: hook disabled (SAFELOAD_HOOK or [tool.safeload] hook)")
            return False
        from safeload import hook

        targets: Any = env.get("SAFELOAD_HOOK_TARGETS") or None
        try:
            hook.install(targets=targets)
        except ValueError as exc:
            logger.warning("safeload.auto: %s; installing the default targets", exc)
            hook.install()
        return hook.is_installed()
    except Exception as exc:  # noqa: BLE001 - importing safeload.auto must never break the program
        logger.warning("safeload.auto: the import hook could not be installed: %s: %s",
                       type(exc).__name__, exc)
        sys.stderr.write(f"safeload: import hook NOT active: {type(exc).__name__}: {exc}\n")
        return False


activate()
