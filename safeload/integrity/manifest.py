"""The canonical manifest of a model directory (SavedModel, Keras directory, a Hugging Face snapshot).

A directory has no bytes of its own, so its digest is the sha256 of a canonical text listing every entry below
it, one JSON array per line ``[kind, path, size, sha256, link target]``, sorted by relative POSIX path::

    safeload-manifest/1
    ["file","assets/vocab.txt",1234,"<sha256>",""]
    ["link","tokenizer.json",2211,"<sha256 of the target's content>","../../blobs/<blob>"]

Invariants:
- every regular file is hashed in full; a symbolic link is recorded with its target *and* the content it
  points to (a Hugging Face snapshot is links to blobs, and a loader reads through them), so a link that moves
  or a target that changes both change the digest; a link to a directory is refused (its content could change
  unseen), a dangling link is recorded as such; other entries (FIFOs, sockets, devices) are recorded by kind and
  never opened; only version-control directories (``.git``, ``.hg``, ``.svn``) are left out;
- JSON with ``ensure_ascii`` makes the text unambiguous for any file name (newlines, separators, non-UTF-8
  names through surrogate escapes), so two different trees never share a manifest text;
- the walk is bounded (``max_entries``); exceeding it raises instead of returning a partial manifest.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from safeload.integrity.digest import file_digests

__all__ = ["HEADER", "SKIP_DIRS", "Manifest", "ManifestEntry", "directory_manifest"]

HEADER = "safeload-manifest/1"
SKIP_DIRS = frozenset({".git", ".hg", ".svn"})
MAX_ENTRIES = 1_000_000


@dataclass(frozen=True, slots=True)
class ManifestEntry:
    """``kind`` is ``file``, ``link`` or ``other``; ``value`` the sha256 of the content (a file, or what a link
    points to; ``""`` for a dangling link or another kind); ``target`` a link's target."""

    kind: str
    path: str
    size: int
    value: str
    target: str = ""

    def line(self) -> str:
        import json

        return json.dumps([self.kind, self.path, self.size, self.value, self.target], ensure_ascii=True,
                          separators=(",", ":"))


@dataclass(frozen=True)
class Manifest:
    entries: tuple[ManifestEntry, ...]

    def text(self) -> str:
        return "\n".join([HEADER, *(e.line() for e in self.entries)]) + "\n"

    @property
    def sha256(self) -> str:
        import hashlib

        return hashlib.sha256(self.text().encode("ascii")).hexdigest()

    @property
    def size(self) -> int:
        return sum(e.size for e in self.entries if e.kind == "file")

    def files(self) -> dict[str, ManifestEntry]:
        return {e.path: e for e in self.entries}

    def to_dict(self) -> dict[str, Any]:
        return {e.path: {"kind": e.kind, "size": e.size, "value": e.value, "target": e.target}
                for e in self.entries}


def _walk(root: Path) -> Iterator[tuple[str, str]]:
    """(relative POSIX path, absolute path) of every entry below ``root`` except VCS directories."""
    for folder, dirnames, filenames in os.walk(root, followlinks=False):
        keep = []
        for name in dirnames:
            full = os.path.join(folder, name)
            if os.path.islink(full):
                filenames.append(name)  # a link to a directory is an entry, never a directory to walk
            elif name not in SKIP_DIRS:
                keep.append(name)
        dirnames[:] = sorted(keep)
        for name in filenames:
            full = os.path.join(folder, name)
            yield Path(os.path.relpath(full, root)).as_posix(), full


def directory_manifest(root: str | os.PathLike[str], *, max_entries: int = MAX_ENTRIES) -> Manifest:
    """Hash every file below ``root`` (sequentially, one read each) and return the canonical manifest."""
    base = Path(root)
    entries: list[ManifestEntry] = []
    for rel, full in _walk(base):
        if len(entries) >= max_entries:
            raise ValueError(f"{root}: more than {max_entries} entries; refusing a partial manifest")
        info = os.lstat(full)
        if stat.S_ISLNK(info.st_mode):
            target = os.readlink(full)
            try:
                pointed = os.stat(full)
            except OSError:
                entries.append(ManifestEntry("link", rel, 0, "", target))  # dangling
                continue
            if stat.S_ISDIR(pointed.st_mode):
                raise ValueError(f"{rel} links to a directory, whose content a manifest cannot pin")
            if stat.S_ISREG(pointed.st_mode):
                digests, size = file_digests(full)
                entries.append(ManifestEntry("link", rel, size, digests["sha256"], target))
            else:
                entries.append(ManifestEntry("link", rel, 0, "", target))
        elif stat.S_ISREG(info.st_mode):
            digests, size = file_digests(full)
            entries.append(ManifestEntry("file", rel, size, digests["sha256"]))
        else:
            entries.append(ManifestEntry("other", rel, 0, ""))
    entries.sort(key=lambda e: e.path)
    return Manifest(tuple(entries))
