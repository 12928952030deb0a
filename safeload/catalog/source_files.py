"""Which installed source files the source analyses of one scan rest on.

Invariant: every analysis ``source_analysis.analyse`` returns (computed, or served from its in-memory cache)
reports the files it read to the innermost ``recording_files`` block of the calling context, so a verdict kept
beyond this process (the scan cache, ``integrity/cache.py``) can be revalidated against exactly those files. The
SL117 shadow check (``catalog/shadow.py``) reports the directories its answer depends on the same way, as
``LOOKUP``-prefixed entries (present or absent, with their mtime), or ``UNCACHEABLE`` when the answer this process
gave holds only because the module was already imported (red team R4-2).
Light on purpose: the scan cache imports it without loading the source analysis.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
from collections.abc import Iterable, Iterator, Sequence

__all__ = ["LOOKUP", "UNCACHEABLE", "FileStat", "PathStamps", "path_stamps", "record", "recording", "recording_files"]

# (real path, mtime_ns, size, ctime_ns, inode), as ``source_model.file_stat`` returns it: a same-size rewrite with
# its mtime put back (os.utime) still changes the ctime; a file renamed over it has another inode
FileStat = tuple[str, int, int, int, int]

#: Path prefix of a directory a module lookup depends on: (LOOKUP + path, mtime_ns or -1 when absent, -1, -1, -1).
LOOKUP = "\0lookup:"
#: An entry that makes the verdict never stored.
UNCACHEABLE: FileStat = ("\0uncacheable", -1, -1, -1, -1)
#: (entry, mtime_ns, size) per ``sys.path`` entry: what the path-keyed caches of the catalogue are stamped with
PathStamps = tuple[tuple[str, int, int], ...]

_recorder: contextvars.ContextVar[set[FileStat] | None] = contextvars.ContextVar("safeload_source_files",
                                                                                  default=None)


@contextlib.contextmanager
def recording_files() -> Iterator[set[FileStat]]:
    """Collect the source files every analysis in this block rests on; a nested block passes its files on to the
    enclosing one."""
    files: set[FileStat] = set()
    token = _recorder.set(files)
    try:
        yield files
    finally:
        _recorder.reset(token)
        outer = _recorder.get()
        if outer is not None:
            outer |= files


def record(files: Iterable[FileStat]) -> None:
    """Report files an analysis rests on to the current ``recording_files`` block (if any)."""
    seen = _recorder.get()
    if seen is not None:
        seen.update(files)


def recording() -> bool:
    """Whether a ``recording_files`` block is active (a verdict may outlive this process)."""
    return _recorder.get() is not None


def path_stamps(entries: Sequence[str]) -> PathStamps:
    """``(entry, mtime_ns, size)`` of each path entry, ``(entry, -1, -1)`` when it cannot be read. Installing or
    removing a distribution adds or removes a directory in one (its package and ``.dist-info``), rewriting a zip
    archive changes its mtime or size: answers cached under these stamps are recomputed after an install in the
    same process. The one stamp every path-keyed cache of the catalogue uses."""
    stamps = []
    for entry in entries:
        try:
            info = os.stat(entry or os.curdir)
            stamps.append((entry, info.st_mtime_ns, info.st_size))
        except OSError:
            stamps.append((entry, -1, -1))
    return tuple(stamps)
