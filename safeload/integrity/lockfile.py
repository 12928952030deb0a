"""``safeload.lock``: the files a project may load, pinned by sha256, like pip's ``--require-hashes``.

The format is JSON (schema in ``docs/integrity.md``): Python reads and writes it with the standard library
alone (TOML would need a writer dependency), its canonical form (sorted keys, two-space indent, one entry per
path) diffs well in review, and a hand edit that breaks it is a parse error rather than a silent change::

    {
      "lock_version": 1,
      "generated_by": {"name": "safeload", "version": "0.1.0", "catalogue": "<fingerprint>"},
      "roots": ["models"],
      "entries": [
        {"path": "models/net.pt", "kind": "file", "sha256": "...", "size": 1234, "formats": ["zip", "torch"],
         "safeload_version": "0.1.0", "catalogue_version": "<fingerprint>",
         "findings": {"max_severity": "medium", "counts": {"medium": 1}, "blocking": ["SL102 mypkg.Net"]},
         "accepted": [{"rule_id": "SL102", "subject": "mypkg.Net", "member": "net/data.pkl"}]}
      ]
    }

Invariants: entry paths are relative to the lock file's directory (POSIX separators); a lock that does not
parse, has an unknown ``lock_version`` or a malformed entry is an error, never an empty lock; ``accepted``
findings apply to the one digest of their entry and to nothing else.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from safeload.exceptions import ConfigError
from safeload.integrity.digest import normalize_sha256

__all__ = ["DEFAULT_NAME", "LOCK_VERSION", "Accepted", "LockEntry", "Lockfile", "read_lock"]

LOCK_VERSION = 1
DEFAULT_NAME = "safeload.lock"


@dataclass(frozen=True, slots=True)
class Accepted:
    """A finding reviewed and accepted for one exact file (matched on rule, subject and archive member)."""

    rule_id: str
    subject: str | None = None
    member: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"rule_id": self.rule_id, "subject": self.subject, "member": self.member}


@dataclass(frozen=True)
class LockEntry:
    path: str
    kind: str  # "file" or "directory"
    sha256: str  # the file's sha256, or the canonical manifest digest of a directory
    size: int
    formats: tuple[str, ...] = ()
    safeload_version: str = ""
    catalogue_version: str = ""
    findings: Mapping[str, Any] = field(default_factory=dict)
    accepted: tuple[Accepted, ...] = ()
    files: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # directories: rel path -> entry
    blake3: str | None = None  # files: BLAKE3 of the same bytes, when the blake3 module was there at lock time

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "path": self.path, "kind": self.kind, "sha256": self.sha256, "size": self.size,
            "formats": list(self.formats), "safeload_version": self.safeload_version,
            "catalogue_version": self.catalogue_version, "findings": dict(self.findings),
            "accepted": [a.to_dict() for a in self.accepted],
        }
        if self.kind == "directory":
            out["files"] = {k: dict(v) for k, v in sorted(self.files.items())}
        if self.blake3 is not None:
            out["blake3"] = self.blake3
        return out


def resolve_parent(path: str | os.PathLike[str]) -> str:
    """``path`` made absolute with the symbolic links of its directories resolved, but not its own name."""
    absolute = os.path.abspath(path)
    parent, name = os.path.split(absolute)
    return os.path.join(os.path.realpath(parent), name) if name else os.path.realpath(absolute)


def _fail(where: str, message: str) -> ConfigError:
    return ConfigError(f"{where}: invalid safeload lock: {message}")


def _entry(raw: Any, where: str) -> LockEntry:
    if not isinstance(raw, dict):
        raise _fail(where, "an entry is not an object")
    try:
        path, kind, digest, size = raw["path"], raw["kind"], raw["sha256"], raw["size"]
    except KeyError as exc:
        raise _fail(where, f"entry without {exc.args[0]!r}") from exc
    if not isinstance(path, str) or not path or kind not in {"file", "directory"}:
        raise _fail(where, f"bad path or kind in entry {path!r}")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise _fail(where, f"bad size in entry {path!r}")
    blake3 = raw.get("blake3")
    try:
        digest = normalize_sha256(digest)
        blake3 = None if blake3 is None else normalize_sha256(blake3)  # the same 64-hex-digit shape
    except ValueError as exc:
        raise _fail(where, f"entry {path!r}: {exc}") from exc
    accepted = []
    for item in raw.get("accepted", []):
        if not isinstance(item, dict) or not isinstance(item.get("rule_id"), str):
            raise _fail(where, f"bad accepted finding in entry {path!r}")
        subject, member = item.get("subject"), item.get("member")
        if not isinstance(subject, str | None) or not isinstance(member, str | None):
            raise _fail(where, f"bad accepted finding in entry {path!r}")
        accepted.append(Accepted(item["rule_id"], subject, member))
    files = raw.get("files", {})
    if not isinstance(files, dict):
        raise _fail(where, f"bad files in entry {path!r}")
    formats = raw.get("formats", [])
    if not isinstance(formats, list) or not all(isinstance(f, str) for f in formats):
        raise _fail(where, f"bad formats in entry {path!r}")
    return LockEntry(path=path, kind=kind, sha256=digest, size=size, formats=tuple(formats),
                     safeload_version=str(raw.get("safeload_version", "")),
                     catalogue_version=str(raw.get("catalogue_version", "")),
                     findings=dict(raw.get("findings", {})), accepted=tuple(accepted), files=dict(files),
                     blake3=blake3)


@dataclass
class Lockfile:
    """A parsed lock: its own location (entry paths are relative to its directory), roots and entries."""

    location: Path
    entries: dict[str, LockEntry] = field(default_factory=dict)
    roots: tuple[str, ...] = ()
    generated_by: Mapping[str, Any] = field(default_factory=dict)

    @property
    def base(self) -> Path:
        return self.location.parent

    def relative(self, path: str | os.PathLike[str]) -> str:
        """The key a path has in this lock: relative to the lock's directory, POSIX separators.

        Symbolic links in the *directories* are resolved; the last component is not, so a link named like a
        locked file does not inherit the entry of the file it points to (``a.pt -> b.pt`` is looked up as
        ``a.pt``, and its content must match ``a.pt``'s digest).
        """
        return Path(os.path.relpath(resolve_parent(path), os.path.realpath(self.base))).as_posix()

    def entry_for(self, path: str | os.PathLike[str]) -> LockEntry | None:
        return self.entries.get(self.relative(path))

    def with_digest(self, sha256: str) -> list[LockEntry]:
        return [e for e in self.entries.values() if e.sha256 == sha256]

    def under(self, path: str | os.PathLike[str]) -> list[LockEntry]:
        """Entries at or below ``path``."""
        key = self.relative(path)
        if key == ".":
            return list(self.entries.values())
        return [e for k, e in self.entries.items() if k == key or k.startswith(key + "/")]

    def to_dict(self) -> dict[str, Any]:
        return {
            "lock_version": LOCK_VERSION,
            "generated_by": dict(self.generated_by),
            "roots": list(self.roots),
            "entries": [self.entries[k].to_dict() for k in sorted(self.entries)],
        }

    def write(self, path: str | os.PathLike[str] | None = None) -> Path:
        import json

        target = Path(path) if path is not None else self.location
        text = json.dumps(self.to_dict(), indent=2, sort_keys=True, ensure_ascii=True) + "\n"
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_text(text, encoding="ascii")
        os.replace(tmp, target)  # readers see the old lock or the new one, never half of one
        return target


def parse_lock(text: str, location: Path) -> Lockfile:
    import json

    where = str(location)
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise _fail(where, f"not JSON ({type(exc).__name__}: {str(exc)[:200]})") from exc
    if not isinstance(document, dict):
        raise _fail(where, "the top level is not an object")
    version = document.get("lock_version")
    if version != LOCK_VERSION:
        raise _fail(where, f"lock_version {version!r} is not supported (this safeload reads {LOCK_VERSION})")
    raw_entries = document.get("entries")
    if not isinstance(raw_entries, list):
        raise _fail(where, "'entries' is not a list")
    entries: dict[str, LockEntry] = {}
    for raw in raw_entries:
        entry = _entry(raw, where)
        if entry.path in entries:
            raise _fail(where, f"duplicate entry {entry.path!r}")
        entries[entry.path] = entry
    roots = document.get("roots", [])
    if not isinstance(roots, list) or not all(isinstance(r, str) for r in roots):
        raise _fail(where, "'roots' is not a list of paths")
    generated = document.get("generated_by", {})
    return Lockfile(location=location, entries=entries, roots=tuple(roots),
                    generated_by=generated if isinstance(generated, dict) else {})


@functools.lru_cache(maxsize=8)
def _read_cached(path: str, stamp: tuple[int, int, int, int]) -> Lockfile:
    with open(path, encoding="utf-8") as handle:
        return parse_lock(handle.read(), Path(path))


def read_lock(path: str | os.PathLike[str]) -> Lockfile:
    """Read and validate a lock file (parsed once per version of the file; a changed lock is re-read)."""
    location = os.path.abspath(path)
    try:
        info = os.stat(location)
    except OSError as exc:
        raise ConfigError(f"cannot read lock file {location}: {exc.strerror or exc}") from exc
    try:
        return _read_cached(location, (info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns))
    except OSError as exc:
        raise ConfigError(f"cannot read lock file {location}: {exc.strerror or exc}") from exc


def new_lock(location: str | os.PathLike[str], roots: Iterable[str], generated_by: Mapping[str, Any]) -> Lockfile:
    return Lockfile(location=Path(os.path.abspath(location)), roots=tuple(roots), generated_by=dict(generated_by))
