"""Walking directory trees for scanning: every entry is either yielded or reported, never silently absent.

Invariant: a directory that cannot be listed, or an entry that cannot be inspected, is a ``WalkError`` in the
output (callers turn it into SL007, an I/O error that fails the scan), never a gap. Links to directories are
not followed (they are yielded as links for the caller to judge). Order is natural (``m2`` before ``m10``) and
stable, so reports list files the way people number them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = ["WalkError", "natural_key", "walk_files"]

_DIGITS = re.compile(r"(\d+)")


def natural_key(text: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key: digit runs compare as numbers (``model2`` < ``model10``), the rest as text."""
    return tuple((0, int(part)) if part.isdigit() else (1, part) for part in _DIGITS.split(text) if part)


@dataclass(frozen=True)
class WalkError:
    """A path that could not be listed or inspected, and why."""

    path: str
    reason: str


def walk_files(root: Path, *, unit_dir: Callable[[str, list[str]], bool] | None = None,
               skip_names: frozenset[str] = frozenset()) -> Iterator[Path | WalkError]:
    """Regular files and links below ``root`` (natural order), and a ``WalkError`` for anything unreadable.

    ``unit_dir(folder, filenames)`` marks a directory the caller handles as one unit (a SavedModel): it is
    yielded itself and not entered; ``skip_names`` are directory names never entered (``.git``).
    """
    errors: list[WalkError] = []

    def on_error(exc: OSError) -> None:
        errors.append(WalkError(str(exc.filename or root), exc.strerror or str(exc)))

    for folder, dirnames, filenames in os.walk(root, onerror=on_error, followlinks=False):
        yield from errors
        errors.clear()
        if unit_dir is not None and Path(folder) != root and unit_dir(folder, filenames):
            dirnames[:] = []
            yield Path(folder)
            continue
        links = [d for d in dirnames if os.path.islink(os.path.join(folder, d))]
        dirnames[:] = sorted((d for d in dirnames if d not in skip_names and d not in links), key=natural_key)
        for name in sorted([*filenames, *links], key=natural_key):
            yield Path(folder) / name
    yield from errors
