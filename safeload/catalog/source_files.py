"""Which installed source files the source analyses of one scan rest on.

Invariant: every analysis ``source_analysis.analyse`` returns (computed, or served from its in-memory cache)
reports the files it read to the innermost ``recording_files`` block of the calling context, so a verdict kept
beyond this process (the scan cache, ``integrity/cache.py``) can be revalidated against exactly those files.
Light on purpose: the scan cache imports it without loading the source analysis.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterable, Iterator

__all__ = ["FileStat", "record", "recording_files"]

# (real path, mtime_ns, size, ctime_ns, inode), as ``source_model.file_stat`` returns it: a same-size rewrite with
# its mtime put back (os.utime) still changes the ctime; a file renamed over it has another inode
FileStat = tuple[str, int, int, int, int]

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
