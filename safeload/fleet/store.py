"""The resumable result store of fleet scans: one SQLite database (``--results scan.db``), no server.

A row per scanned URL (or local path) holds its latest result, keyed by what makes it current:
- the object's identity: size, ETag (or generation), mtime, and its sha256 where the store or the scan knew it;
  a local file's also has its ctime, inode and device (``local``), which a user cannot set back: a row without
  them (written by schema 1) never matches a local file;
- the scanner's identity: safeload's version, the fingerprint of its code, catalogue and installed
  distributions (``scanner_code``), and the policy (``safeload.integrity.cache.policy_fingerprint``).
A re-run skips every URL whose stored row matches both (an interrupted run resumes where it stopped; a changed
object, a new safeload or another policy is scanned again). Error rows never count as done.

Invariants:
- results are stored as JSON and rebuilt field by field (``safeload.integrity.cache``'s codec): nothing read
  from the database is unpickled or executed; a row that does not parse is treated as missing;
- writes are committed transactions of at most a few hundred rows or one second of results (``engine``): a
  crash loses at most those (scanned again on the next run; a SIGINT flushes them), and a re-delivered
  result (a task Dask re-ran after a worker died) replaces the row for its URL, never adds one;
- several writer processes may share a database: WAL journal, a busy timeout, and bounded retries on
  ``database is locked``.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import sqlite3
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from safeload._version import __version__
from safeload.findings import ScanResult
from safeload.policy import Policy

__all__ = ["Identity", "ResultStore", "StoreError", "StoredRow", "scanner_code", "scanner_key"]

_SCHEMA = 2  # 2: the ``local`` column (ctime, inode, device of a local file); a schema 1 file is migrated
_RETRIES = 8
_BUSY_MS = 30_000


@dataclass(frozen=True)
class Identity:
    """What identifies one version of an object. Fields the store did not report are None."""

    size: int | None = None
    etag: str | None = None
    mtime: str | None = None
    sha256: str | None = None
    local: str | None = None  # a local file's "ctime_ns:inode:device"

    def key(self) -> str:
        return json.dumps([self.size, self.etag, self.mtime, self.sha256, self.local])

    def matches(self, stored: Identity) -> bool:
        """Same object: every field known on both sides agrees, and the size and a change token are known; a
        local file's ctime, inode and device must be stored and equal."""
        if self.size is None or stored.size != self.size:
            return False
        if (self.local is not None or stored.local is not None) and self.local != stored.local:
            return False
        if self.sha256 and stored.sha256:
            return self.sha256 == stored.sha256
        token = (self.etag, self.mtime)
        return any(token) and token == (stored.etag, stored.mtime)


@functools.lru_cache(maxsize=1)
def scanner_code() -> str:
    """safeload's version, a fingerprint of its code and catalogue files, and the set of installed distributions
    (names and versions: source analysis reads installed libraries). The same on every process of one
    installation, whatever its ``sys.path`` order or working directory (unlike the scan cache's key, which
    also hashes path entries), so a client and its workers can compare it."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256(__version__.encode())
    digest.update(sys.version.encode())
    installed: set[str] = set()
    for entry in sys.path:
        try:
            installed.update(n for n in os.listdir(entry or os.curdir) if n.endswith(".dist-info"))
        except OSError:
            continue
    digest.update("\0".join(sorted(installed)).encode("utf-8", "surrogateescape"))
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.suffix in {".py", ".txt", ".json"} and "__pycache__" not in path.parts:
            digest.update(path.relative_to(root).as_posix().encode("utf-8", "surrogateescape") + b"\0")
            digest.update(path.read_bytes())
    return f"{__version__}:{digest.hexdigest()[:32]}"


def scanner_key(policy: Policy) -> str:
    """safeload's version, code and catalogue fingerprint, and the policy: a change in any rescans."""
    from safeload.integrity.cache import policy_fingerprint

    return f"{scanner_code()}:{policy_fingerprint(policy)}"


@dataclass(frozen=True)
class StoredRow:
    url: str
    identity: Identity
    scanner: str
    error: str | None
    result: ScanResult | None
    bytes_fetched: int | None
    requests: int | None
    seconds: float
    worker: str
    finished: float
    run_id: str
    listed: bool = False


class StoreError(ValueError):
    """The file is not a result database this safeload can use (not SQLite, another schema)."""


class ResultStore:
    """One connection to a result database (one per process; thread-safe through a lock)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        if self.path.parent and not self.path.parent.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=_BUSY_MS / 1000, isolation_level=None,
                                   check_same_thread=False)
        self._lock = threading.Lock()
        try:
            self._retry(self._setup)
            schema = self._retry(lambda: self._db.execute(
                "SELECT value FROM meta WHERE key = 'schema'").fetchone())
        except sqlite3.DatabaseError as exc:
            self.close()
            raise StoreError(f"{self.path}: not a safeload result database ({exc})") from exc
        if schema is not None and schema[0] == "1":
            try:
                self._retry(self._migrate_1)
            except sqlite3.DatabaseError as exc:
                self.close()
                raise StoreError(f"{self.path}: cannot migrate the result database ({exc})") from exc
            schema = (str(_SCHEMA),)
        if schema is None or schema[0] != str(_SCHEMA):
            self.close()
            raise StoreError(f"{self.path}: result database schema {schema[0] if schema else '?'}, this "
                             f"safeload uses {_SCHEMA}: use a new file")

    def _setup(self) -> None:
        self._db.execute(f"PRAGMA busy_timeout={_BUSY_MS}")
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
        self._db.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (str(_SCHEMA),))
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS results (url TEXT PRIMARY KEY, size INTEGER, etag TEXT, mtime TEXT, "
            "sha256 TEXT, scanner TEXT NOT NULL, error TEXT, result TEXT, bytes_fetched INTEGER, "
            "requests INTEGER, seconds REAL NOT NULL, worker TEXT NOT NULL, finished REAL NOT NULL, "
            "run_id TEXT NOT NULL, listed INTEGER NOT NULL DEFAULT 0, local TEXT)")
        self._db.execute("CREATE TABLE IF NOT EXISTS runs (run_id TEXT PRIMARY KEY, started REAL NOT NULL, "
                         "finished REAL, planned INTEGER, done INTEGER, interrupted INTEGER, args TEXT)")

    def _migrate_1(self) -> None:
        """Schema 1 -> 2: add the ``local`` column. Old rows keep it NULL, so no local file ever matches one (they
        are scanned again); rows of remote objects stay valid."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            columns = {r[1] for r in self._db.execute("PRAGMA table_info(results)").fetchall()}
            if "local" not in columns:
                self._db.execute("ALTER TABLE results ADD COLUMN local TEXT")
            self._db.execute("UPDATE meta SET value = ? WHERE key = 'schema'", (str(_SCHEMA),))
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _retry(self, func: Any, *args: Any) -> Any:
        for attempt in range(_RETRIES):
            try:
                with self._lock:
                    return func(*args)
            except sqlite3.OperationalError as exc:
                text = str(exc)
                if ("locked" not in text and "busy" not in text) or attempt == _RETRIES - 1:
                    raise
                time.sleep(0.02 * (2 ** attempt))
        return None  # pragma: no cover

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self._db.close()

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- runs ------------------------------------------------------------------------------------------------
    def begin_run(self, run_id: str, planned: int, args: str) -> None:
        self._retry(lambda: self._db.execute("INSERT OR REPLACE INTO runs VALUES (?, ?, NULL, ?, 0, 0, ?)",
                                             (run_id, time.time(), planned, args)))

    def end_run(self, run_id: str, done: int, interrupted: bool) -> None:
        self._retry(lambda: self._db.execute("UPDATE runs SET finished = ?, done = ?, interrupted = ? "
                                             "WHERE run_id = ?", (time.time(), done, int(interrupted), run_id)))

    # -- results ---------------------------------------------------------------------------------------------
    def put(self, url: str, identity: Identity, scanner: str, *, result: ScanResult | None, error: str | None,
            bytes_fetched: int | None = None, requests: int | None = None, seconds: float = 0.0,
            worker: str = "", run_id: str = "", listed: bool = False) -> None:
        """Store the latest result for ``url`` (replacing any earlier one), committed at once."""
        self.put_rows([self.row(url, identity, scanner, result=result, error=error, bytes_fetched=bytes_fetched,
                                requests=requests, seconds=seconds, worker=worker, run_id=run_id, listed=listed)])

    @staticmethod
    def row(url: str, identity: Identity, scanner: str, *, result: ScanResult | None, error: str | None,
            bytes_fetched: int | None = None, requests: int | None = None, seconds: float = 0.0,
            worker: str = "", run_id: str = "", listed: bool = False) -> tuple[Any, ...]:
        """A row for :meth:`put_rows`."""
        from safeload.integrity.cache import _encode

        encoded = _encode(result) if result is not None else None
        return (url, identity.size, identity.etag, identity.mtime, identity.sha256, scanner, error, encoded,
                bytes_fetched, requests, seconds, worker, time.time(), run_id, int(listed), identity.local)

    def put_rows(self, rows: list[tuple[Any, ...]]) -> None:
        """Store many rows in one committed transaction (all or none of them)."""
        if not rows:
            return

        def write() -> None:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany(
                    "INSERT OR REPLACE INTO results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

        self._retry(write)

    def done(self, url: str, identity: Identity, scanner: str) -> StoredRow | None:
        """The stored result when it is current for this object and this scanner (never an error row)."""
        row = self.get(url)
        if row is None or row.error is not None or row.result is None or row.scanner != scanner:
            return None
        return row if identity.matches(row.identity) else None

    def get(self, url: str) -> StoredRow | None:
        found = self._retry(lambda: self._db.execute(
            "SELECT * FROM results WHERE url = ?", (url,)).fetchone())
        return _row(found) if found is not None else None

    def rows(self, urls: Iterable[str] | None = None) -> Iterator[StoredRow]:
        """Every stored row (in URL order), or those of ``urls`` (in that order, missing ones skipped)."""
        if urls is None:
            fetched = self._retry(lambda: self._db.execute("SELECT * FROM results ORDER BY url").fetchall())
            for raw in fetched:
                row = _row(raw)
                if row is not None:
                    yield row
            return
        for url in urls:
            row = self.get(url)
            if row is not None:
                yield row

    def count(self) -> int:
        found = self._retry(lambda: self._db.execute("SELECT COUNT(*) FROM results").fetchone())
        return int(found[0])


def _row(raw: tuple[Any, ...]) -> StoredRow | None:
    from safeload.integrity.cache import _decode

    (url, size, etag, mtime, sha256, scanner, error, encoded, fetched, requests, seconds, worker, finished,
     run_id, listed, local) = raw
    result = None
    if encoded is not None:
        try:
            result = _decode(encoded, url, url)
        except Exception:  # noqa: BLE001 - a row that does not parse is missing, whatever it holds
            return None
    return StoredRow(url, Identity(size, etag, mtime, sha256, local), scanner, error, result, fetched, requests,
                     float(seconds), worker, float(finished), run_id, bool(listed))
