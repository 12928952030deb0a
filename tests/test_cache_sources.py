"""The scan cache revalidates the library source a cached verdict rests on (R3-5), and the fleet store identifies a
local file by ctime, inode and device as well as size and mtime (R3-7).

A verdict that rests on the source analysis of a module outside the catalogue is served from the cache only while
every file that analysis read, the directories holding them and the ``sys.path`` entries searched are unchanged.
The payloads are harmless (they touch a marker file); nothing here loads them, and the tests check they never ran.
"""

from __future__ import annotations

import importlib
import json
import os
import sqlite3
import sys
from pathlib import Path

import pytest

from safeload.catalog.source_analysis import clear_cache
from safeload.findings import ScanResult
from safeload.fleet.items import local_identity
from safeload.fleet.store import Identity, ResultStore
from safeload.integrity import cache as scan_cache
from safeload.policy import Policy
from safeload.scan import scan_checked
from tests.conftest import Marker

BENIGN = "class X:\n    pass\n"


@pytest.fixture
def library(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A package outside the catalogue on ``sys.path`` (after an empty entry) and a pickle that uses it."""
    monkeypatch.setenv("SAFELOAD_CACHE_DIR", str(tmp_path / "cache"))
    early = tmp_path / "early"
    early.mkdir()
    site = tmp_path / "lib" / "site-packages"
    (site / "slcachepkg").mkdir(parents=True)
    (site / "slcachepkg" / "__init__.py").write_text("")
    (site / "slcachepkg" / "m.py").write_text(BENIGN)
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.syspath_prepend(str(early))
    model = tmp_path / "model.pkl"
    model.write_bytes(b"\x80\x02cslcachepkg.m\nX\n)R.")
    return model, site / "slcachepkg"


def _new_process() -> None:
    """Forget this process's in-memory analyses (they revalidate the files they read, not directories): the next
    scan sees what a new process would, so only the persistent cache decides what is served."""
    clear_cache()
    importlib.invalidate_caches()  # the path finder's memory of entries that did not exist


def _scan(model: Path) -> ScanResult:
    return scan_checked(str(model), Policy(), want_digest=True, cache_default=True)


def _cached(result: ScanResult) -> bool:
    assert result.integrity is not None
    return bool(result.integrity["cached"])


def _stored_sources(tmp_path: Path) -> list[list[object]]:
    with sqlite3.connect(tmp_path / "cache" / "scan-cache.sqlite3") as db:
        rows: list[list[list[object]]] = [json.loads(text)["sources"]
                                          for (text,) in db.execute("SELECT result FROM scans")]
    assert len(rows) == 1
    return rows[0]


def _malicious(marker: Marker) -> str:
    return f"{marker.python}\n\n{BENIGN}"


def test_verdict_is_served_while_its_sources_are_unchanged(library: tuple[Path, Path], tmp_path: Path) -> None:
    model, package = library
    first = _scan(model)
    assert not first.blocking(first.threshold), first.findings
    assert any(f.rule_id == "SL116" for f in first.findings)  # rests on the source analysis
    second = _scan(model)
    assert _cached(second)
    assert second.findings == first.findings
    stored = {entry[0] for entry in _stored_sources(tmp_path)}
    assert {str(package / "m.py"), str(package / "__init__.py"), str(package), str(tmp_path / "early")} <= stored


def test_same_size_rewrite_with_mtime_put_back_is_a_miss(library: tuple[Path, Path], tmp_path: Path) -> None:
    """Same size, mtime put back with os.utime: only the ctime tells (in this process too: the in-memory
    analysis cache and parse cache compare it as well)."""
    model, package = library
    marker = Marker(tmp_path / "MARKER")
    module = package / "m.py"
    payload = _malicious(marker)
    module.write_text(BENIGN + "#" * (len(payload) - len(BENIGN)))
    assert module.stat().st_size == len(payload)
    assert not _scan(model).blocking(Policy().threshold)
    assert _cached(_scan(model))
    before = os.stat(module)
    module.write_text(payload)
    os.utime(module, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (module.stat().st_size, module.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    result = _scan(model)
    assert not _cached(result)
    assert result.blocking(result.threshold)
    assert not marker.path.exists()


def test_module_replaced_by_rename_is_a_miss(library: tuple[Path, Path], tmp_path: Path) -> None:
    model, package = library
    marker = Marker(tmp_path / "MARKER")
    assert not _scan(model).blocking(Policy().threshold)
    fresh = tmp_path / "m.py.new"
    fresh.write_text(_malicious(marker))
    os.replace(fresh, package / "m.py")  # editors and pip write a new file and rename it over the old one
    result = _scan(model)
    assert not _cached(result)
    assert result.blocking(result.threshold)
    assert not marker.path.exists()


def test_package_shadowing_the_module_is_a_miss(library: tuple[Path, Path], tmp_path: Path) -> None:
    """A ``m/`` package beside ``m.py`` wins the import; m.py itself is unchanged."""
    model, package = library
    marker = Marker(tmp_path / "MARKER")
    assert not _scan(model).blocking(Policy().threshold)
    (package / "m").mkdir()
    (package / "m" / "__init__.py").write_text(_malicious(marker))
    _new_process()
    result = _scan(model)
    assert not _cached(result)
    assert result.blocking(result.threshold)
    assert not marker.path.exists()


def test_package_on_an_earlier_path_entry_is_a_miss(library: tuple[Path, Path], tmp_path: Path) -> None:
    """A package of the same name added to an earlier ``sys.path`` entry shadows the analysed one."""
    model, _ = library
    marker = Marker(tmp_path / "MARKER")
    assert not _scan(model).blocking(Policy().threshold)
    shadow = tmp_path / "early" / "slcachepkg"
    shadow.mkdir()
    (shadow / "__init__.py").write_text("")
    (shadow / "m.py").write_text(_malicious(marker))
    _new_process()
    result = _scan(model)
    assert not _cached(result)
    assert result.blocking(result.threshold)
    assert not marker.path.exists()


def test_missing_path_entry_created_later_is_a_miss(library: tuple[Path, Path], tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    model, _ = library
    marker = Marker(tmp_path / "MARKER")
    absent = tmp_path / "absent"
    monkeypatch.syspath_prepend(str(absent))
    assert not _scan(model).blocking(Policy().threshold)
    assert _cached(_scan(model))
    (absent / "slcachepkg").mkdir(parents=True)
    (absent / "slcachepkg" / "__init__.py").write_text(marker.python + "\n")
    (absent / "slcachepkg" / "m.py").write_text(BENIGN)
    _new_process()
    result = _scan(model)
    assert not _cached(result)
    assert result.blocking(result.threshold)
    assert not marker.path.exists()


def test_path_entry_inserted_in_the_process_is_a_miss(library: tuple[Path, Path], tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """``sys.path.insert`` after a scan: the new entry shadows the analysed package, in this process too (the
    in-memory analysis cache is keyed by the path searched)."""
    model, _ = library
    marker = Marker(tmp_path / "MARKER")
    assert not _scan(model).blocking(Policy().threshold)
    assert _cached(_scan(model))
    inserted = tmp_path / "inserted"
    (inserted / "slcachepkg").mkdir(parents=True)
    (inserted / "slcachepkg" / "__init__.py").write_text(marker.python + "\n")
    (inserted / "slcachepkg" / "m.py").write_text(BENIGN)
    monkeypatch.syspath_prepend(str(inserted))
    result = _scan(model)
    assert not _cached(result)
    assert result.blocking(result.threshold)
    assert not marker.path.exists()


def test_result_without_source_analysis_stores_no_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAFELOAD_CACHE_DIR", str(tmp_path / "cache"))
    model = tmp_path / "plain.pkl"
    model.write_bytes(b"\x80\x02}q\x00X\x01\x00\x00\x00aK\x01s.")
    assert not _cached(_scan(model))
    assert _cached(_scan(model))
    assert _stored_sources(tmp_path) == []


def test_entry_without_sources_is_never_served(tmp_path: Path) -> None:
    """A row in the old format (no ``sources``) is malformed: deleted, a miss."""
    cache = scan_cache.ScanCache(tmp_path / "c.sqlite3")
    policy = Policy()
    result = ScanResult(source="x", findings=(), formats=("pickle",), bytes_scanned=3, duration=0.1)
    digest = "0" * 64
    cache.put(digest, policy, None, result)
    key = cache.key(digest, policy, None)
    text = json.loads(cache._db.execute("SELECT result FROM scans WHERE key = ?", (key,)).fetchone()[0])
    del text["sources"]
    cache._db.execute("UPDATE scans SET result = ? WHERE key = ?", (json.dumps(text), key))
    fresh = scan_cache.ScanCache(tmp_path / "c.sqlite3")  # no per-connection memo of the good row
    assert fresh.get(digest, policy, None, source="x", path=None) is None
    assert fresh._db.execute("SELECT COUNT(*) FROM scans").fetchone()[0] == 0
    cache.close()
    fresh.close()


def test_source_changed_during_the_scan_is_not_stored(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(BENIGN)
    info = os.stat(module)
    now = (str(module), info.st_mtime_ns, info.st_size, info.st_ctime_ns, info.st_ino)
    assert scan_cache.source_identities([now])
    seen = (str(module), info.st_mtime_ns, info.st_size, info.st_ctime_ns - 1, info.st_ino)  # read before a change
    assert scan_cache.source_identities([seen]) is None
    assert scan_cache.source_identities([(str(tmp_path / "gone.py"), 1, 1, 1, 1)]) is None


# --- R3-7: the fleet store ------------------------------------------------------------------------------------

def test_local_identity_changes_with_ctime(tmp_path: Path) -> None:
    path = tmp_path / "model.pkl"
    path.write_bytes(b"a" * 16)
    before = os.stat(path)
    first = local_identity(str(path))
    path.write_bytes(b"b" * 16)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    second = local_identity(str(path))
    assert (first.size, first.mtime) == (second.size, second.mtime)
    assert first.local != second.local
    assert not second.matches(first)


_SCHEMA_1 = ("CREATE TABLE results (url TEXT PRIMARY KEY, size INTEGER, etag TEXT, mtime TEXT, sha256 TEXT, "
             "scanner TEXT NOT NULL, error TEXT, result TEXT, bytes_fetched INTEGER, requests INTEGER, "
             "seconds REAL NOT NULL, worker TEXT NOT NULL, finished REAL NOT NULL, run_id TEXT NOT NULL, "
             "listed INTEGER NOT NULL DEFAULT 0)")


def test_schema_1_store_is_migrated_and_its_local_rows_never_match(tmp_path: Path) -> None:
    path = tmp_path / "model.pkl"
    path.write_bytes(b"\x80\x02K\x01.")
    identity = local_identity(str(path))
    encoded = scan_cache._encode(ScanResult(source=str(path), findings=(), formats=("pickle",), bytes_scanned=5,
                                            duration=0.0))
    db_path = tmp_path / "scan.db"
    with sqlite3.connect(db_path) as db:
        db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
        db.execute("INSERT INTO meta VALUES ('schema', '1')")
        db.execute(_SCHEMA_1)
        db.execute("INSERT INTO results VALUES (?, ?, NULL, ?, NULL, 'S', NULL, ?, NULL, NULL, 0, 'w', 0, 'r', 1)",
                   (str(path), identity.size, identity.mtime, encoded))
        db.execute("INSERT INTO results VALUES ('s3://b/k', 5, 'etag1', NULL, NULL, 'S', NULL, ?, NULL, NULL, 0, "
                   "'w', 0, 'r', 1)", (encoded,))
    with ResultStore(db_path) as store:
        assert store.done(str(path), identity, "S") is None  # no ctime/inode/device stored: scanned again
        assert store.done("s3://b/k", Identity(5, "etag1"), "S") is not None  # remote rows stay valid
        store.put(str(path), identity, "S", result=scan_cache._decode(encoded, str(path), str(path)), error=None)
        assert store.done(str(path), identity, "S") is not None
    with ResultStore(db_path) as again:  # migrated once: opens as schema 2
        assert again.done(str(path), identity, "S") is not None
    assert sys.modules.get("slcachepkg") is None
