"""Which installed source files the source analyses of one scan rest on.

Invariant: every analysis ``source_analysis.analyse`` returns (computed, or served from its in-memory cache)
reports the files it read to the innermost ``recording_files`` block of the calling context, so a verdict kept
beyond this process (the scan cache, ``integrity/cache.py``) can be revalidated against exactly those files. The
SL117 shadow check (``catalog/shadow.py``) reports the directories its answer depends on the same way, as
``LOOKUP``-prefixed entries (present or absent, with their mtime), or ``UNCACHEABLE`` when the answer this process
gave holds only because the module was already imported (red team R4-2).

``one_view()`` scopes the decisions of one stream: inside it, each path is stat'ed and resolved once (a decision
re-reads the same files ~11 times: the caches revalidate on every lookup). The files one stream's names are
decided on are then those of one moment, as they would be if the reads were instant; a read that must see the disk
again (the second stat of "rewritten while read") passes ``fresh=True``. Outside a view every call reads the disk.
Light on purpose: the scan cache imports it without loading the source analysis.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
from collections.abc import Iterable, Iterator, Sequence

__all__ = ["LOOKUP", "UNCACHEABLE", "FileStat", "PathStamps", "checked_in_view", "one_view", "path_stamps",
           "realpath", "record", "recording", "recording_files", "stat"]

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


class _View:
    """The reads of one ``one_view`` block: a path's stat result (or the OSError it raised), its real path."""

    __slots__ = ("checked", "real", "stats")

    def __init__(self) -> None:
        self.stats: dict[str, os.stat_result | OSError] = {}
        self.real: dict[str, str] = {}
        self.checked: set[object] = set()


_view: contextvars.ContextVar[_View | None] = contextvars.ContextVar("safeload_fs_view", default=None)


@contextlib.contextmanager
def one_view() -> Iterator[None]:
    """Read each path once in this block (a nested block shares the outer one's reads)."""
    if _view.get() is not None:
        yield
        return
    token = _view.set(_View())
    try:
        yield
    finally:
        _view.reset(token)


def stat(path: str, *, fresh: bool = False) -> os.stat_result:
    """``os.stat(path)``, read once per ``one_view`` block unless ``fresh``."""
    view = None if fresh else _view.get()
    if view is None:
        return os.stat(path)
    hit = view.stats.get(path)
    if hit is None:
        try:
            hit = os.stat(path)
        except OSError as exc:
            hit = exc
        view.stats[path] = hit
    if isinstance(hit, OSError):
        raise OSError(hit.errno, hit.strerror, hit.filename)
    return hit


def checked_in_view(key: object) -> bool:
    """Whether the cache ``key`` names was revalidated earlier in this ``one_view`` block (then its stamps,
    read once per block, cannot have changed); marks it. Always False outside a block."""
    view = _view.get()
    if view is None:
        return False
    if key in view.checked:
        return True
    view.checked.add(key)
    return False


def realpath(path: str) -> str:
    """``os.path.realpath(path)``, resolved once per ``one_view`` block."""
    view = _view.get()
    if view is None:
        return os.path.realpath(path)
    hit = view.real.get(path)
    if hit is None:
        hit = view.real[path] = os.path.realpath(path)
    return hit


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
            info = stat(entry or os.curdir)
            stamps.append((entry, info.st_mtime_ns, info.st_size))
        except OSError:
            stamps.append((entry, -1, -1))
    return tuple(stamps)
