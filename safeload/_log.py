"""Loggers that do not import :mod:`logging` until something could receive a record (issue 15: fixed costs).

``logging`` costs more to import than the rest of a first safe load. The package logger ``safeload`` carries a
``NullHandler`` (the library prints nothing unless the application configures logging), so while ``logging``
has never been imported by anyone, no handler exists that could receive a record: the record would be dropped.
:class:`LazyLogger` drops it without importing ``logging``; once ``logging`` is in ``sys.modules`` (the
application, pytest or any library imported it) every call goes to the real logger, NullHandler installed.

Invariant: a record is dropped here only when the real logger would have dropped it too.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    import logging
    from typing import Any

__all__ = ["LazyLogger", "get_logger", "install_null_handler"]


def install_null_handler() -> None:
    """Give the ``safeload`` logger its library ``NullHandler`` (once)."""
    import logging

    package = logging.getLogger("safeload")
    if not any(type(handler) is logging.NullHandler for handler in package.handlers):
        package.addHandler(logging.NullHandler())


def get_logger(name: str) -> logging.Logger:
    """The real logger ``name``, for modules that import ``logging`` anyway (the hook, the CLI)."""
    import logging

    install_null_handler()
    return logging.getLogger(name)


class LazyLogger:
    """The subset of ``logging.Logger`` safeload's scan path uses, resolved on the first call that can matter."""

    __slots__ = ("_logger", "name")

    def __init__(self, name: str) -> None:
        self.name = name
        self._logger: logging.Logger | None = None

    def _real(self) -> logging.Logger | None:
        if self._logger is None:
            if "logging" not in sys.modules:
                return None
            self._logger = get_logger(self.name)
        return self._logger

    def _emit(self, method: str, msg: object, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        real = self._real()
        if real is not None:
            kwargs["stacklevel"] = kwargs.get("stacklevel", 1) + 2  # the caller's line, not this module's
            getattr(real, method)(msg, *args, **kwargs)

    def debug(self, msg: object, *args: Any, **kwargs: Any) -> None:
        self._emit("debug", msg, args, kwargs)

    def info(self, msg: object, *args: Any, **kwargs: Any) -> None:
        self._emit("info", msg, args, kwargs)

    def warning(self, msg: object, *args: Any, **kwargs: Any) -> None:
        self._emit("warning", msg, args, kwargs)

    def error(self, msg: object, *args: Any, **kwargs: Any) -> None:
        self._emit("error", msg, args, kwargs)

    def exception(self, msg: object, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("exc_info", True)
        self._emit("error", msg, args, kwargs)

    def isEnabledFor(self, level: int) -> bool:  # noqa: N802 - logging's spelling
        real = self._real()
        return real is not None and real.isEnabledFor(level)
