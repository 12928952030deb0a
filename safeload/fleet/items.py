"""What a fleet scan works on: the objects named by its inputs (URLs, prefixes, globs, local paths), each with
the identity that keys its stored result, and the outcome of scanning one of them.

Invariants:
- every input yields at least one thing: objects, or an error outcome for an input that cannot be listed (a
  missing bucket, an unreadable directory). An input is never silently absent from a run;
- listing is lazy (a generator): a huge prefix is consumed as the scan goes, never held in memory whole;
- nothing here reads an object's content.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from safeload._log import get_logger
from safeload.findings import ScanResult
from safeload.fleet.store import Identity
from safeload.sources.remote import RemoteObject

__all__ = ["UNIT_DIR", "Item", "Outcome", "expand_inputs", "local_identity", "refresh"]

_SKIP_DIRS = frozenset({".git", ".hg", ".svn"})
logger = get_logger(__name__)


# A SavedModel or Keras directory has no identity cheap enough to trust (its mtime does not change when a file
# inside is rewritten): it never matches a stored row, so it is scanned on every run.
UNIT_DIR = Identity()


@dataclass(frozen=True)
class Item:
    """One object to scan. ``url`` keys the store and labels the report (a local file: its absolute path).

    ``remote`` is set for a remote object, ``path`` for a local file; ``listed`` marks objects found by listing
    a prefix, glob or directory (the CLI's "obviously not a model" skip rule applies to those only).
    """

    url: str
    identity: Identity
    remote: RemoteObject | None = None
    path: str | None = None
    listed: bool = False


@dataclass(frozen=True)
class Outcome:
    """What a worker returns for one item: a result, or an error (``result`` None). Built on the worker."""

    url: str
    identity: Identity
    result: ScanResult | None
    error: str | None
    bytes_fetched: int | None = None
    requests: int | None = None
    seconds: float = 0.0
    worker: str = ""
    listed: bool = False
    transient: bool = False  # the error may go away: the caller retries the object
    scanner: str = ""        # the worker's safeload version and code fingerprint (``store.scanner_code``)


def local_identity(path: str) -> Identity:
    """Size and mtime (ns) of a local file, from one ``stat``."""
    info = os.stat(path)
    return Identity(size=info.st_size, mtime=str(info.st_mtime_ns))


def _remote_item(obj: RemoteObject, listed: bool) -> Item:
    return Item(obj.url, Identity(obj.size, obj.etag, obj.mtime, obj.sha256), remote=obj, listed=listed)


def _unit_dir(folder: str, filenames: list[str]) -> bool:
    """A SavedModel or Keras directory: scanned as one unit, as the CLI does."""
    from safeload.containers.keras import is_keras_dir

    return "saved_model.pb" in filenames or "saved_model.pbtxt" in filenames or is_keras_dir(Path(folder))


def _local_items(raw: str) -> Iterator[Item | Outcome]:
    from safeload._walk import WalkError, walk_files

    root = os.path.abspath(raw)
    try:
        info = os.stat(root)
    except OSError as exc:
        yield Outcome(root, Identity(), None, f"cannot read {raw}: {exc.strerror or exc}")
        return
    if stat.S_ISREG(info.st_mode):
        yield Item(root, Identity(size=info.st_size, mtime=str(info.st_mtime_ns)), path=root)
        return
    if not stat.S_ISDIR(info.st_mode):
        yield Outcome(root, Identity(), None, f"not a regular file or directory: {raw}")
        return
    if _unit_dir(root, os.listdir(root)):
        yield Item(root, UNIT_DIR, path=root)
        return
    for entry in walk_files(Path(root), unit_dir=_unit_dir, skip_names=_SKIP_DIRS):
        if isinstance(entry, WalkError):
            yield Outcome(entry.path, Identity(), None, f"cannot list or read: {entry.reason}", listed=True)
            continue
        path = str(entry)
        try:
            found = os.lstat(path)
            target = os.stat(path) if stat.S_ISLNK(found.st_mode) else found
        except OSError as exc:  # a dangling link, a file gone since it was listed
            yield Outcome(path, Identity(), None, f"cannot read: {exc.strerror or exc}", listed=True)
            continue
        if stat.S_ISDIR(found.st_mode):
            yield Item(path, UNIT_DIR, path=path, listed=True)  # walk_files yields only unit directories
        elif stat.S_ISREG(target.st_mode):
            # a link to a file is scanned (the loader would follow it), under the identity of its target
            yield Item(path, Identity(size=target.st_size, mtime=str(target.st_mtime_ns)), path=path, listed=True)
        elif stat.S_ISDIR(target.st_mode):
            logger.warning("link to a directory, not followed: %s", path)
        else:  # FIFOs, sockets, devices: opening one could block
            yield Outcome(path, Identity(), None, "not a regular file; not scanned", listed=True)


def expand_inputs(inputs: Iterable[str], storage_options: Mapping[str, Any] | None = None
                  ) -> Iterator[Item | Outcome]:
    """The objects every input names, in input order (a prefix or a directory: sorted), lazily."""
    from safeload.sources import file_url_path, is_url

    for raw in inputs:
        local = file_url_path(raw) if isinstance(raw, str) else None
        if local is not None or not is_url(raw):
            yield from _local_items(local if local is not None else os.fspath(raw))
            continue
        yield from _remote_items(raw, storage_options)


def _remote_items(url: str, storage_options: Mapping[str, Any] | None) -> Iterator[Item | Outcome]:
    from safeload.sources.remote import expand

    count = 0
    try:
        for obj in expand(url, storage_options):
            count += 1
            yield _remote_item(obj, listed=obj.url != url)
    except ImportError as exc:
        yield Outcome(url, Identity(), None, str(exc))
        return
    except OSError as exc:
        yield Outcome(url, Identity(), None, f"cannot list {url}: {exc}")
        return
    if count == 0:
        yield Outcome(url, Identity(), None, f"nothing found at {url}")


def refresh(item: Item, storage_options: Mapping[str, Any] | None = None) -> Item:
    """``item`` described again (before a retry: it may have changed). Raises OSError when it is gone."""
    if item.remote is not None:
        from safeload.sources.remote import stat_object

        obj = stat_object(item.remote.url, storage_options)
        return Item(item.url, Identity(obj.size, obj.etag, obj.mtime, obj.sha256), remote=obj, listed=item.listed)
    if item.path is None:  # pragma: no cover - every item is remote or local
        raise ValueError("an item without a source")
    if item.identity == UNIT_DIR:
        return item
    return Item(item.url, local_identity(item.path), path=item.path, listed=item.listed)
