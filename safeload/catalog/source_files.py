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
from collections.abc import Iterable, Iterator

__all__ = ["LOOKUP", "UNCACHEABLE", "FileStat", "record", "recording", "recording_files"]

# (real path, mtime_ns, size, ctime_ns, inode), as ``source_model.file_stat`` returns it: a same-size rewrite with
# its mtime put back (os.utime) still changes the ctime; a file renamed over it has another inode
FileStat = tuple[str, int, int, int, int]

#: Path prefix of a directory a module lookup depends on: (LOOKUP + path, mtime_ns or -1 when absent, -1, -1, -1).
LOOKUP = "\0lookup:"
#: An entry that makes the verdict never stored.
UNCACHEABLE: FileStat = ("\0uncacheable", -1, -1, -1, -1)

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
