"""Cheaper scan-cache hits (issue 17's re-scan target) without a weaker cache.

A hit still proves the bytes are the bytes that were scanned: its key is a digest of the whole content computed
now, never ``stat`` data. What got cheaper: hints are read once per directory, a repeated hit in one process skips
the query and the row, and ``has_blake3`` is remembered. These tests attack exactly those shortcuts.
"""

from __future__ import annotations

import json
import os
import pickle
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from safeload import cli
from safeload.findings import Finding, ScanResult
from safeload.integrity import cache as scan_cache
from safeload.policy import Policy
from safeload.severity import Severity


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "cache"
    monkeypatch.setenv("SAFELOAD_CACHE_DIR", str(directory))
    return directory


def _scan(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = cli.main(["scan", "--format", "json", "--no-progress", *args])
    return code, json.loads(capsys.readouterr().out)


def _same_size_pair(marker: Path) -> tuple[bytes, bytes]:
    """A clean pickle and a ``posix.system`` one (harmless command) of exactly the same length."""
    evil_head = f"cposix\nsystem\n(Vtouch {marker} #".encode()
    evil_tail = b"\ntR."
    benign = pickle.dumps("x" * 200, protocol=2)
    pad = len(benign) - len(evil_head) - len(evil_tail)
    assert pad > 0
    evil = evil_head + b"y" * pad + evil_tail
    assert len(evil) == len(benign)
    return benign, evil


def test_same_size_rewrite_with_restored_times_is_scanned_again(tmp_path: Path, cache_dir: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    """The stat stamp (size, mtime, ctime, inode) is only a hint: a rewrite that keeps the size and puts the
    old times back must still be found, in the same process (hint batch and row memo warm) and a new one."""
    marker = tmp_path / "ran"
    models = tmp_path / "models"
    models.mkdir()
    benign, evil = _same_size_pair(marker)
    for i in range(6):
        (models / f"m{i}.pkl").write_bytes(benign if i else pickle.dumps([i]))
    target = models / "m3.pkl"
    _scan(capsys, str(models))
    code, second = _scan(capsys, str(models))
    assert code == 0
    row = next(r for r in second["results"] if r["source"].endswith("m3.pkl"))
    assert row["integrity"]["cached"] is True  # the clean bytes are served from the cache now
    before = os.stat(target)
    with open(target, "r+b") as handle:  # in place: same inode, same size
        handle.write(evil)
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert os.stat(target).st_size == before.st_size
    code, third = _scan(capsys, str(models))
    row = next(r for r in third["results"] if r["source"].endswith("m3.pkl"))
    assert code == 1
    assert row["integrity"]["cached"] is False
    assert any(f["subject"] == "posix.system" and f["severity"] == "critical" for f in row["findings"])
    assert not marker.exists()


def test_hints_of_a_directory_are_read_in_one_query(tmp_path: Path, cache_dir: Path) -> None:
    cache_dir.mkdir(mode=0o700)
    folder = tmp_path / "models"
    (folder / "sub").mkdir(parents=True)
    files = [folder / f"f{i}.bin" for i in range(10)]
    for f in [*files, folder / "sub" / "g.bin"]:
        f.write_bytes(b"abc")
    writer = scan_cache.ScanCache(cache_dir / "db.sqlite3")
    for i, f in enumerate(files):
        writer.set_hint(str(f), os.stat(f), 0.5 + i)
    writer.set_hint(str(folder / "sub" / "g.bin"), os.stat(folder / "sub" / "g.bin"), 9.0)
    writer.close()
    reader = scan_cache.ScanCache(cache_dir / "db.sqlite3")
    statements: list[str] = []
    reader._db.set_trace_callback(statements.append)
    got = [reader.hint(str(f), os.stat(f)) for f in files]
    assert got == [0.5 + i for i in range(10)]
    assert len([s for s in statements if "FROM hints" in s]) == 1
    assert reader._hints[str(folder)].keys() == {str(f) for f in files}  # the subdirectory's hint is not mixed in
    # A changed stamp is no hint, batch or not.
    files[0].write_bytes(b"abcd")
    assert reader.hint(str(files[0]), os.stat(files[0])) is None
    reader.close()


def test_a_directory_with_too_many_hints_is_looked_up_one_by_one(tmp_path: Path, cache_dir: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scan_cache, "_HINT_BATCH", 3)
    cache_dir.mkdir(mode=0o700)
    files = [tmp_path / f"f{i}.bin" for i in range(5)]
    cache = scan_cache.ScanCache(cache_dir / "db.sqlite3")
    for i, f in enumerate(files):
        f.write_bytes(b"x")
        cache.set_hint(str(f), os.stat(f), float(i))
    fresh = scan_cache.ScanCache(cache_dir / "db.sqlite3")
    assert [fresh.hint(str(f), os.stat(f)) for f in files] == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert str(tmp_path) not in fresh._hints
    cache.close()
    fresh.close()


def _result(source: str) -> ScanResult:
    return ScanResult(source=source, formats=("pickle",), bytes_scanned=10, findings=(
        Finding("SL100", Severity.INFO, "1 pickle stream(s)", details={"streams": 1}),))


def test_a_repeated_hit_skips_the_query_and_only_for_the_same_digest(tmp_path: Path, cache_dir: Path) -> None:
    cache_dir.mkdir(mode=0o700)
    cache = scan_cache.ScanCache(cache_dir / "db.sqlite3")
    policy = Policy()
    digest, other = "blake3:" + "1" * 64, "blake3:" + "2" * 64
    cache.put(digest, policy, "m.pkl", _result("a"))
    statements: list[str] = []
    cache._db.set_trace_callback(statements.append)
    hit = cache.get(digest, policy, "m.pkl", source="b", path="b")
    assert hit is not None and hit.source == "b" and hit.formats == ("pickle",)
    assert hit.findings[0].location.path == "b"
    assert not [s for s in statements if "FROM scans" in s]
    assert cache.get(other, policy, "m.pkl", source="b", path="b") is None  # other bytes: a query, a miss
    assert [s for s in statements if "FROM scans" in s]
    assert cache.get(digest, Policy(trusted=("collections.OrderedDict",)), "m.pkl", source="b", path="b") is None
    assert cache.get(digest, policy, "other-name.pkl", source="b", path="b") is None
    cache.close()


@pytest.mark.parametrize("severity", [-1, 5, 99])
def test_a_stored_severity_out_of_range_is_a_miss(tmp_path: Path, cache_dir: Path, severity: int) -> None:
    cache_dir.mkdir(mode=0o700)
    cache = scan_cache.ScanCache(cache_dir / "db.sqlite3")
    policy = Policy()
    digest = "blake3:" + "3" * 64
    text = json.dumps({"formats": ["pickle"], "bytes_scanned": 1, "duration": 0.1, "engine": "",
                       "findings": [["SL100", severity, "m", None, None, None, False, 1, {}]]})
    key = cache.key(digest, policy, None)
    cache._db.execute("INSERT INTO scans VALUES (?, ?, ?, ?)", (key, digest, text, time.time()))
    assert cache.get(digest, policy, None, source="s", path=None) is None
    assert cache._db.execute("SELECT COUNT(*) FROM scans WHERE key = ?", (key,)).fetchone()[0] == 0
    cache.close()


@pytest.mark.skipif(sys.platform != "linux", reason="file names that are not UTF-8 need a POSIX byte-name filesystem")
def test_a_file_name_that_is_not_utf8_is_scanned_every_time_without_a_crash(
        tmp_path: Path, cache_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Hints are keyed by path text; a name with undecodable bytes (surrogate escapes) cannot be stored in
    SQLite text: it gets no hint (it used to crash the scan in ``set_hint``) and is scanned each time."""
    models = tmp_path / "models"
    models.mkdir()
    name = os.fsdecode(b"a\xff.pkl")
    (models / name).write_bytes(pickle.dumps(list(range(5000))))
    (models / "b.pkl").write_bytes(b"cposix\nsystem\n(Vtrue\ntR.")
    for _ in range(2):
        code, report = _scan(capsys, str(models))
        assert code == 1
        by_name = {Path(r["source"]).name: r for r in report["results"]}
        assert by_name[name]["status"] == "safe"
        assert by_name["b.pkl"]["status"] == "unsafe"
