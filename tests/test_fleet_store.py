"""The fleet result store (safeload/fleet/store.py) and its export: keys, resumability, concurrent writers, and
reports rendered from the database."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import safeload
from safeload.fleet.export import export, export_parquet
from safeload.fleet.store import Identity, ResultStore, StoreError, scanner_key
from safeload.policy import Policy
from tests.builders import call_pickle
from tests.conftest import Marker

ROOT = Path(__file__).resolve().parents[1]


def _results(marker: Marker) -> tuple[safeload.ScanResult, safeload.ScanResult]:
    bad = safeload.scan(call_pickle("os", "system", marker.shell), name="bad.pkl")
    good = safeload.scan(b"\x80\x04K\x01.", name="good.pkl")
    return bad, good


def test_put_done_and_what_makes_a_result_current(tmp_path: Path, marker: Marker) -> None:
    bad, good = _results(marker)
    key = scanner_key(Policy())
    ident = Identity(size=10, etag="abc", mtime="t1")
    with ResultStore(tmp_path / "scan.db") as store:
        store.put("s3://b/bad.pkl", ident, key, result=bad, error=None, bytes_fetched=10)
        store.put("s3://b/good.pkl", ident, key, result=good, error=None)
        store.put("s3://b/gone.pkl", ident, key, result=None, error="cannot read")
        hit = store.done("s3://b/bad.pkl", ident, key)
        assert hit is not None and hit.result is not None
        assert {f.rule_id for f in hit.result.findings} == {f.rule_id for f in bad.findings}
        assert hit.result.verdict(safeload.Severity.MEDIUM) is safeload.Verdict.UNSAFE
        assert store.done("s3://b/good.pkl", ident, key) is not None
        # another version of the object, another scanner or policy, an error row: scanned again
        assert store.done("s3://b/bad.pkl", Identity(size=11, etag="abc", mtime="t1"), key) is None
        assert store.done("s3://b/bad.pkl", Identity(size=10, etag="abd", mtime="t1"), key) is None
        assert store.done("s3://b/bad.pkl", Identity(size=10, etag="abc", mtime="t2"), key) is None
        assert store.done("s3://b/bad.pkl", ident, scanner_key(Policy(trusted=("numpy.core.multiarray._reconstruct",)))) is None
        assert store.done("s3://b/gone.pkl", ident, key) is None
        # an identity without a change token never matches (a size alone says nothing)
        store.put("s3://b/nosig.pkl", Identity(size=10), key, result=good, error=None)
        assert store.done("s3://b/nosig.pkl", Identity(size=10), key) is None
        # sha256 known on both sides decides
        store.put("s3://b/h.pkl", Identity(10, "e1", "t1", "aa" * 32), key, result=good, error=None)
        assert store.done("s3://b/h.pkl", Identity(10, "e2", "t2", "aa" * 32), key) is not None
        assert store.done("s3://b/h.pkl", Identity(10, "e1", "t1", "bb" * 32), key) is None
        # a re-delivered result replaces its row
        store.put("s3://b/bad.pkl", ident, key, result=bad, error=None)
        assert store.count() == 5
    assert not marker.exists()


def test_a_row_that_does_not_decode_is_missing_never_clean(tmp_path: Path, marker: Marker) -> None:
    bad, _ = _results(marker)
    key = scanner_key(Policy())
    ident = Identity(size=10, etag="abc")
    db = tmp_path / "scan.db"
    with ResultStore(db) as store:
        store.put("s3://b/bad.pkl", ident, key, result=bad, error=None)
    with sqlite3.connect(db) as raw:
        raw.execute("UPDATE results SET result = ? WHERE url = ?", ('{"findings": [[1, 2]]}', "s3://b/bad.pkl"))
    with ResultStore(db) as store:
        assert store.done("s3://b/bad.pkl", ident, key) is None
        assert list(store.rows()) == []


def test_not_a_database_and_another_schema_are_clear_errors(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not sqlite at all" * 100)
    with pytest.raises(StoreError, match="not a safeload result database"):
        ResultStore(junk)
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as raw:
        raw.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
        raw.execute("INSERT INTO meta VALUES ('schema', '99')")
    with pytest.raises(StoreError, match="schema 99"):
        ResultStore(other)


_WRITER = textwrap.dedent("""
    import sys
    from safeload.findings import ScanResult
    from safeload.fleet.store import Identity, ResultStore
    db, who, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    store = ResultStore(db)
    for i in range(count):
        # every URL is written by both processes: replacing rows under contention
        store.put(f"s3://b/{i:04d}.pkl", Identity(size=i, etag=who), "k", result=ScanResult(source="x"),
                  error=None, worker=who)
        store.put(f"s3://b/{who}-{i:04d}.pkl", Identity(size=i, etag=who), "k", result=ScanResult(source="x"),
                  error=None, worker=who)
    store.close()
    print("ok")
""")


def test_two_writer_processes_share_one_database(tmp_path: Path) -> None:
    db = tmp_path / "shared.db"
    ResultStore(db).close()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    count = 300
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, str(db), who, str(count)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env) for who in ("a", "b")]
    outs = [p.communicate(timeout=120) for p in procs]
    for proc, (out, err) in zip(procs, outs, strict=True):
        assert proc.returncode == 0, err
        assert out.strip() == "ok"
    with ResultStore(db) as store:
        rows = list(store.rows())
    urls = [r.url for r in rows]
    assert len(urls) == len(set(urls)) == 3 * count  # shared URLs once each, every private one present
    assert {r.worker for r in rows if "-" not in r.url.rsplit("/", 1)[-1]} <= {"a", "b"}
    assert sum(1 for r in rows if r.url.rsplit("/", 1)[-1].startswith("a-")) == count
    assert sum(1 for r in rows if r.url.rsplit("/", 1)[-1].startswith("b-")) == count
    with sqlite3.connect(db) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def _filled(tmp_path: Path, marker: Marker) -> Path:
    bad, good = _results(marker)
    key = scanner_key(Policy())
    db = tmp_path / "scan.db"
    with ResultStore(db) as store:
        store.put("s3://b/bad.pkl", Identity(10, "e", sha256="ab" * 32), key, result=bad, error=None)
        store.put("s3://b/good.pkl", Identity(5, "e"), key, result=good, error=None)
        store.put("s3://b/broken.pkl", Identity(5, "e"), key, result=None, error="ReadTimeoutError: gave up")
        store.put("s3://b/notes.txt", Identity(5, "e"), key, result=safeload.scan(b"just text\n"), error=None,
                  listed=True)
    return db


def test_export_renders_json_sarif_markdown_from_the_store(tmp_path: Path, marker: Marker) -> None:
    db = _filled(tmp_path, marker)
    data = json.loads(export(db, "json"))
    by_source = {r["source"]: r for r in data["results"]}
    assert by_source["s3://b/bad.pkl"]["verdict"] == "unsafe"
    assert by_source["s3://b/good.pkl"]["verdict"] == "safe"
    assert any(f["rule_id"] == "SL007" for f in by_source["s3://b/broken.pkl"]["findings"])
    assert any(f["rule_id"] == "SL101" for f in by_source["s3://b/bad.pkl"]["findings"])
    sarif = json.loads(export(db, "sarif"))
    rule_ids = {r["ruleId"] for r in sarif["runs"][0]["results"]}
    assert {"SL101", "SL007"} <= rule_ids
    markdown = export(db, "markdown")
    assert "s3://b/bad.pkl" in markdown and "SL101" in markdown
    assert "ReadTimeoutError" in markdown
    assert "skipped" in markdown and "s3://b/notes.txt" in markdown


def test_export_parquet(tmp_path: Path, marker: Marker) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    db = _filled(tmp_path, marker)
    out = tmp_path / "scan.parquet"
    assert export_parquet(db, out) == 4
    table = pq.read_table(out).to_pydict()
    verdicts = dict(zip(table["url"], table["verdict"], strict=True))
    assert verdicts == {"s3://b/bad.pkl": "unsafe", "s3://b/good.pkl": "safe", "s3://b/broken.pkl": "error",
                        "s3://b/notes.txt": "skipped"}
    assert "SL101" in dict(zip(table["url"], table["rules"], strict=True))["s3://b/bad.pkl"]
