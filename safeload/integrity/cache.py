"""A local scan cache keyed by content: an unchanged file is not scanned twice.

Where: ``$SAFELOAD_CACHE_DIR``, else ``$XDG_CACHE_HOME/safeload``, else ``~/.cache/safeload`` (``%LOCALAPPDATA%``
on Windows, ``~/Library/Caches`` on macOS), one SQLite database in WAL mode, safe for concurrent processes.
Off with ``SAFELOAD_CACHE=0``, ``[tool.safeload] cache = false`` or ``safeload scan --no-cache``.

Invariants:
- a cached result is served only for the same bytes: the key is the file's sha256 (or, when no sha256 is needed
  otherwise and the ``blake3`` module is installed, its BLAKE3: ``blake3:<hex>``), computed over the bytes being
  scanned and never taken from metadata, together with safeload's version, a fingerprint of safeload's own code and
  catalogue, and everything in the policy that changes findings (trusted names, limits), and the file-name hint;
- the cache only ever skips a *scan*. Digest, lock and signature checks always run on the bytes in hand;
- cached results are stored as JSON and rebuilt field by field: nothing from the database is unpickled or
  executed. An entry that does not parse is deleted and counts as a miss; any database error is a miss too;
- the database is private: the directory is created 0700, and a directory or database owned by another user or
  writable by group/others is not used (another local user could otherwise plant "clean" verdicts);
- ``stat`` data of the scanned file is used only to decide whether a lookup is *worth hashing for* (``hint``),
  never to serve one;
- a result whose verdict rests on the source analysis of installed library code stores the identity (path, size,
  mtime_ns, ctime_ns, inode, device) of every source file that analysis read and of the directories holding
  them, and is served only while every one is unchanged (ctime cannot be set back by a user): an edited,
  reinstalled or shadowed module is a miss. ``code_fingerprint`` alone sees installed libraries only through
  their ``*.dist-info`` names, which a PYTHONPATH package, an editable install or a same-version reinstall keep.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import json
import os
import sqlite3
import stat
import sys
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from safeload._log import LazyLogger
from safeload._version import __version__
from safeload.catalog.source_files import LOOKUP, UNCACHEABLE, FileStat
from safeload.findings import Finding, Location, ScanResult
from safeload.policy import Policy
from safeload.severity import Severity

__all__ = ["ScanCache", "cache_dir", "code_fingerprint", "open_cache"]

logger = LazyLogger(__name__)

MAX_ENTRIES = 200_000
_SCHEMA = 1
_TRANSIENT = frozenset({"SL005", "SL014"})
# Findings that depend on the files beside the scanned one (SL811: named by an ONNX model in the folder), not
# on its bytes: a result holding one is never stored.
_CONTEXTUAL = frozenset({"SL811"})
_RETRIES = 5
_MEMO_ROWS = 4096  # result texts kept per connection (at most _MEMO_ROWS * _MEMO_TEXT characters)
_MEMO_TEXT = 16_384
_HINT_BATCH = 4096  # hints read in one query for a directory
_HINT_DIRS = 64  # directories whose hints are kept
# Hashing speed per core, measured on a CPU without SHA extensions (benchmarks/bench_integrity.py): a lookup
# (hashing the whole file) must cost clearly less than the scan it skips.
HASH_BYTES_PER_SECOND = {"sha256": 0.35e9, "blake3": 3.0e9}


@functools.lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """sha256 over safeload's own code and data files and the installed distributions (``*.dist-info`` names
    carry name and version): any change to a scanner, the catalogue, or a library whose installed source a
    scan may read changes it."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256(__version__.encode())
    digest.update(sys.version.encode())
    for entry in sys.path:
        try:
            names = sorted(n for n in os.listdir(entry) if n.endswith((".dist-info", ".egg-info")))
        except OSError:
            continue
        digest.update("\0".join([entry, *names]).encode("utf-8", "surrogateescape"))
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.suffix in {".py", ".txt", ".json"} and "__pycache__" not in path.parts:
            digest.update(path.relative_to(root).as_posix().encode("utf-8", "surrogateescape") + b"\0")
            digest.update(path.read_bytes())
    return digest.hexdigest()[:32]


def cache_dir(environ: dict[str, str] | os._Environ[str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    explicit = env.get("SAFELOAD_CACHE_DIR")
    if explicit:
        return Path(explicit)
    if sys.platform == "win32":
        base = env.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / "safeload" / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "safeload"
    xdg = env.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "safeload"


def _private(path: Path) -> bool:
    """Owned by us and not writable by group or others (POSIX); always true where there is no getuid."""
    if not hasattr(os, "getuid"):
        return True
    info = path.stat()
    return info.st_uid == os.getuid() and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


_LAST_POLICY: list[tuple[Policy, tuple[str, ...], str, bool | tuple[str, ...]]] = []


def policy_fingerprint(policy: Policy) -> str:
    trusted = policy.all_trusted()
    strict = _strict_imports_in_effect()
    if strict:  # which reviewed conditional imports may run here (``catalog/closure_conditions.py``)
        from safeload.catalog.closure_conditions import conditions_in_effect

        strict_key: bool | tuple[str, ...] = ("strict", *conditions_in_effect())
    else:
        strict_key = False
    last = _LAST_POLICY[0] if _LAST_POLICY else None
    if last is not None and last[0] is policy and last[1] == trusted and last[3] == strict_key:
        return last[2]  # the same (immutable) policy object and trust in effect: skip hashing the Policy
    value = _policy_fingerprint(policy, trusted, strict_key)
    _LAST_POLICY[:] = [(policy, trusted, value, strict_key)]
    return value


def _strict_imports_in_effect() -> bool:
    """The R2-1 closure check's mode (on unless ``SAFELOAD_STRICT_IMPORTS=0``) as the source analysis applies it:
    its module reads the variable once, at import; before that import the variable is what it will read. A
    verdict reached without the check is never served to a process that runs with it."""
    analysis = sys.modules.get("safeload.catalog.source_imports")
    if analysis is not None:
        return bool(getattr(analysis, "STRICT_IMPORTS", True))
    return os.environ.get("SAFELOAD_STRICT_IMPORTS", "").strip() != "0"


@functools.lru_cache(maxsize=64)
def _policy_fingerprint(policy: Policy, trusted: tuple[str, ...], strict_imports: bool | tuple[str, ...]) -> str:
    # Every field of the policy (threshold, limits, source analysis, ... and any added later) by its repr,
    # trusted names with the process-wide and scoped trust in effect, and the import closure check's mode.
    material = json.dumps({**{f.name: repr(getattr(policy, f.name)) for f in dataclasses.fields(policy)},
                           "trusted": sorted(set(trusted)),
                           "strict_imports": list(strict_imports) if isinstance(strict_imports, tuple)
                           else strict_imports}, sort_keys=True)
    return hashlib.sha256(material.encode()).hexdigest()[:32]


Identity = tuple[str, int, int, int, int, int]  # (path, size, mtime_ns, ctime_ns, inode, device)


def _identity(path: str, info: os.stat_result | None) -> Identity:
    if info is None:  # absent: creating it (a search path entry) may shadow what was analysed
        return (path, -1, -1, -1, -1, -1)
    return (path, info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino, info.st_dev)


def _stat(path: str) -> os.stat_result | None:
    try:
        return os.stat(path)
    except (OSError, ValueError):
        return None


def source_identities(files: Iterable[FileStat]) -> list[Identity] | None:
    """The identities to store for the source files a scan's analyses read (as they read them: real path,
    mtime_ns, size), for their directories (a module or package added beside one may shadow it) and for the
    ``sys.path`` entries the analyses searched (a package added to an earlier entry shadows a later one); None
    when a file cannot be read or already differs from what the analysis read (changed during the scan)."""
    out: dict[str, Identity] = {}
    for path, mtime, size, ctime, inode in sorted(files):
        if path == UNCACHEABLE[0]:
            return None
        if path.startswith(LOOKUP):  # a directory a module lookup (SL117) depends on, present or absent
            where = path[len(LOOKUP):]
            info = _stat(where)
            if (info.st_mtime_ns if info is not None else -1) != mtime:
                return None
            out[where] = _identity(where, info)
            continue
        info = _stat(path)
        if info is None or (info.st_mtime_ns, info.st_size, info.st_ctime_ns, info.st_ino) != (mtime, size, ctime,
                                                                                                inode):
            return None
        out[path] = _identity(path, info)
        folder = os.path.dirname(path)
        if folder not in out:
            out[folder] = _identity(folder, _stat(folder))
    if out:
        for entry in sys.path:
            where = os.path.abspath(entry or os.curdir)
            if where not in out:
                out[where] = _identity(where, _stat(where))
        out[_SEARCH_PATH] = (_search_path(), 0, 0, 0, 0, 0)  # an entry inserted since may shadow a module read
    return list(out.values())


_SEARCH_PATH = "\0sys.path"


def _search_path() -> str:
    return "\0".join([_SEARCH_PATH, *(os.path.abspath(e or os.curdir) for e in sys.path)])


def _unchanged(sources: object) -> bool:
    """Every stored source identity still holds (a malformed list raises ValueError: a bad entry)."""
    if not isinstance(sources, list):
        raise ValueError("malformed cached sources")
    for entry in sources:
        if not isinstance(entry, list) or len(entry) != 6 or not isinstance(entry[0], str):
            raise ValueError("malformed cached source")
        if entry[0].startswith(_SEARCH_PATH):
            if entry[0] != _search_path():
                return False
        elif list(_identity(entry[0], _stat(entry[0]))) != entry:
            return False
    return True


def _encode(result: ScanResult, sources: Iterable[Identity] = ()) -> str:
    return json.dumps({
        "sources": list(sources),
        "formats": list(result.formats), "bytes_scanned": result.bytes_scanned, "duration": result.duration,
        "engine": result.engine,
        "findings": [[f.rule_id, int(f.severity), f.message, f.subject, f.location.member, f.location.offset,
                      f.trustable, f.count, f.to_dict()["details"]] for f in result.findings],
    }, ensure_ascii=True)


_SEVERITIES = tuple(Severity)  # by value (0..4)


def _decode(text: str, source: str, path: str | None, threshold: Severity = Severity.MEDIUM) -> ScanResult | None:
    """The stored result, or None when a source file its verdict rests on changed; raises on a malformed entry
    (one without ``sources`` too: never served without the check)."""
    data = json.loads(text)
    if not _unchanged(data["sources"]):
        return None
    findings = []
    for rule_id, severity, message, subject, member, offset, trustable, count, details in data["findings"]:
        if not isinstance(rule_id, str) or not isinstance(message, str) or not isinstance(details, dict):
            raise ValueError("malformed cached finding")
        level = int(severity)
        if not 0 <= level < len(_SEVERITIES):
            raise ValueError("malformed cached severity")
        findings.append(Finding(rule_id=rule_id, severity=_SEVERITIES[level], message=message,
                                subject=subject if isinstance(subject, str) else None,
                                location=Location(path, member if isinstance(member, str) else None,
                                                  offset if isinstance(offset, int) else None),
                                trustable=bool(trustable), count=int(count), details=details))
    engine = data.get("engine", "")
    return ScanResult(source=source, findings=tuple(findings), formats=tuple(str(f) for f in data["formats"]),
                      bytes_scanned=int(data["bytes_scanned"]), duration=float(data["duration"]), threshold=threshold,
                      engine=engine if isinstance(engine, str) else "")


class ScanCache:
    """One connection to the cache database (per process; not shared across threads)."""

    def __init__(self, path: Path, max_entries: int = MAX_ENTRIES) -> None:
        self.path = path
        self.max_entries = max_entries
        self._db = sqlite3.connect(path, timeout=10.0, isolation_level=None, check_same_thread=False)
        self._lock = threading.Lock()
        self._writes = 0
        # Hints of recently seen directories, read in one query per directory (only ever decide whether to hash).
        self._hints: dict[str, dict[str, tuple[str, float]]] = {}
        # Results this process already read or wrote, by key: the key is a digest of the bytes, so an entry
        # never goes stale; it spares the query and the JSON of a repeated hit (bounded, oldest dropped).
        self._rows: dict[str, str] = {}
        self._retry(self._setup)

    def _setup(self) -> None:
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
        self._db.execute("CREATE TABLE IF NOT EXISTS scans (key TEXT PRIMARY KEY, sha256 TEXT NOT NULL, "
                         "result TEXT NOT NULL, used REAL NOT NULL)")
        self._db.execute("CREATE INDEX IF NOT EXISTS scans_used ON scans(used)")
        self._db.execute("CREATE TABLE IF NOT EXISTS hints (path TEXT PRIMARY KEY, stamp TEXT NOT NULL, "
                         "scan_seconds REAL NOT NULL)")
        self._db.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (str(_SCHEMA),))

    def _retry(self, func: Any, *args: Any) -> Any:
        for attempt in range(_RETRIES):
            try:
                with self._lock:  # one connection per process, shared by the threads that load models
                    return func(*args)
            except sqlite3.OperationalError as exc:
                if ("locked" not in str(exc) and "busy" not in str(exc)) or attempt == _RETRIES - 1:
                    raise
                time.sleep(0.05 * (attempt + 1))
        return None

    @staticmethod
    def key(digest: str, policy: Policy, name: str | None) -> str:
        material = "\0".join([digest, __version__, code_fingerprint(), policy_fingerprint(policy), name or ""])
        return hashlib.sha256(material.encode("utf-8", "surrogateescape")).hexdigest()

    def get(self, digest: str, policy: Policy, name: str | None, *, source: str,
            path: str | None) -> ScanResult | None:
        """The stored result for these bytes (``digest``: sha256 hex, or ``blake3:<hex>``), or None."""
        key = self.key(digest, policy, name)
        known = self._rows.get(key)
        if known is not None:
            with contextlib.suppress(Exception):  # parsed or written by this process: it parses again
                return _decode(known, source, path, policy.threshold)
            self._rows.pop(key, None)
        try:
            row = self._retry(lambda: self._db.execute(
                "SELECT sha256, result, used FROM scans WHERE key = ?", (key,)).fetchone())
            if row is None or row[0] != digest:
                return None
            result = _decode(row[1], source, path, policy.threshold)
            if result is None:
                return None  # library source changed since: scan again (its put replaces the row)
            now = time.time()
            if now - float(row[2]) > 3600:  # eviction order only needs hour precision: spare the writes
                self._retry(lambda: self._db.execute("UPDATE scans SET used = ? WHERE key = ?", (now, key)))
        except Exception as exc:  # noqa: BLE001 - any bad row (even a RecursionError from nesting) is a miss
            logger.info("scan cache: ignoring entry %s: %s", key[:12], type(exc).__name__)
            with contextlib.suppress(sqlite3.Error):
                self._retry(lambda: self._db.execute("DELETE FROM scans WHERE key = ?", (key,)))
            return None
        self._remember(key, row[1])
        return result

    def _remember(self, key: str, text: str) -> None:
        if len(text) > _MEMO_TEXT:
            return  # a result with many findings: read it from the database each time
        with self._lock:  # threads share the connection and these memos
            if len(self._rows) >= _MEMO_ROWS:
                del self._rows[next(iter(self._rows))]
            self._rows[key] = text

    def put(self, digest: str, policy: Policy, name: str | None, result: ScanResult,
            sources: Iterable[FileStat] = ()) -> None:
        """Store ``result``; ``sources``: the library source files the scan's source analyses read."""
        if any(f.rule_id in _TRANSIENT or f.rule_id in _CONTEXTUAL for f in result.findings):
            return  # a scan cut short by its time limit or an internal error may not recur: never replay it
        identities = source_identities(sources)
        if identities is None:
            return  # a source file changed (or vanished) while it was analysed: the verdict may not hold
        key = self.key(digest, policy, name)
        try:
            text = _encode(result, identities)
            self._retry(lambda: self._db.execute("INSERT OR REPLACE INTO scans VALUES (?, ?, ?, ?)",
                                                 (key, digest, text, time.time())))
            self._remember(key, text)
            self._writes += 1
            if self._writes % 256 == 1:
                self._retry(self._prune)
        except sqlite3.Error as exc:
            logger.info("scan cache: cannot store a result: %s", exc)

    def _prune(self) -> None:
        count = self._db.execute("SELECT COUNT(*) FROM scans").fetchone()[0]
        if count > self.max_entries:
            self._db.execute("DELETE FROM scans WHERE key IN (SELECT key FROM scans ORDER BY used LIMIT ?)",
                             (count - self.max_entries + self.max_entries // 10,))

    # -- hints: is a lookup worth hashing the file for? ---------------------------------------------------
    @staticmethod
    def stamp(info: os.stat_result) -> str:
        return f"{info.st_dev}:{info.st_ino}:{info.st_size}:{info.st_mtime_ns}:{info.st_ctime_ns}"

    def hint(self, path: str, info: os.stat_result) -> float | None:
        """The scan time recorded for this unchanged file (same stamp), or None.

        The hints of a file's directory are read together, once: a directory scan asks for each of its files.
        A hint another process changes meanwhile is missed until the next run; hints only decide whether a file
        is worth hashing for a lookup, never what is served, so a stale one costs time, not correctness."""
        folder = os.path.dirname(path)
        rows = self._hints.get(folder)
        try:
            if rows is None:
                rows = self._hints_of(folder)
            row = rows.get(path) if rows is not None else self._retry(lambda: self._db.execute(
                "SELECT stamp, scan_seconds FROM hints WHERE path = ?", (path,)).fetchone())
        except (sqlite3.Error, UnicodeError):  # a path that is not UTF-8 (surrogate escapes) has no hint
            return None
        if row is None or row[0] != self.stamp(info):
            return None
        return float(row[1])

    def _hints_of(self, folder: str) -> dict[str, tuple[str, float]] | None:
        """Every hint directly in ``folder``, in one range query on the primary key; None for a directory with
        more than ``_HINT_BATCH`` hints below it (looked up one by one)."""
        low = folder.rstrip("/" + os.sep) + os.sep
        high = low[:-1] + chr(ord(os.sep) + 1)
        fetched = self._retry(lambda: self._db.execute(
            "SELECT path, stamp, scan_seconds FROM hints WHERE path >= ? AND path < ? LIMIT ?",
            (low, high, _HINT_BATCH + 1)).fetchall())
        if len(fetched) > _HINT_BATCH:
            return None
        rows = {p: (stamp, float(seconds)) for p, stamp, seconds in fetched if os.path.dirname(p) == folder}
        with self._lock:
            if len(self._hints) >= _HINT_DIRS:
                del self._hints[next(iter(self._hints))]
            self._hints[folder] = rows
        return rows

    def set_hint(self, path: str, info: os.stat_result, scan_seconds: float) -> None:
        stamp = self.stamp(info)
        rows = self._hints.get(os.path.dirname(path))
        if rows is not None:
            with self._lock:
                rows[path] = (stamp, scan_seconds)
        try:
            self._retry(lambda: self._db.execute("INSERT OR REPLACE INTO hints VALUES (?, ?, ?)",
                                                 (path, stamp, scan_seconds)))
        except (sqlite3.Error, UnicodeError) as exc:
            logger.info("scan cache: cannot store a hint: %s", type(exc).__name__)

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self._db.close()


def worth_hashing(size: int, scan_seconds: float, algorithm: str = "sha256") -> bool:
    """True when the recorded scan took clearly longer than hashing the file (and a lookup) would."""
    return scan_seconds > 1.5 * size / HASH_BYTES_PER_SECOND[algorithm] + 0.00015


_OPEN: dict[str, ScanCache] = {}
_BY_ENV: dict[tuple[int, str | None, str | None], ScanCache] = {}


def open_cache(environ: dict[str, str] | os._Environ[str] | None = None) -> ScanCache | None:
    """The process's cache connection, or None when the cache directory cannot be used safely."""
    env = os.environ if environ is None else environ
    fast = (os.getpid(), env.get("SAFELOAD_CACHE_DIR"), env.get("XDG_CACHE_HOME"))
    hit = _BY_ENV.get(fast)
    if hit is not None:
        return hit
    directory = cache_dir(environ)
    path = directory / "scan-cache.sqlite3"
    cached = _OPEN.get(f"{os.getpid()}:{path}")
    if cached is not None:
        _BY_ENV[fast] = cached
        return cached
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not _private(directory):
            logger.warning("scan cache disabled: %s is not private to this user", directory)
            return None
        if path.exists() and not _private(path):
            logger.warning("scan cache disabled: %s is not private to this user", path)
            return None
        cache = ScanCache(path)
        if hasattr(os, "chmod"):
            with contextlib.suppress(OSError):
                os.chmod(path, 0o600)
    except (OSError, sqlite3.Error) as exc:
        logger.info("scan cache unavailable (%s): scanning without it", exc)
        return None
    _OPEN[f"{os.getpid()}:{path}"] = cache  # a connection is never shared with a forked child
    _BY_ENV[fast] = cache
    return cache
