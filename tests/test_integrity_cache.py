"""The scan cache: keyed by content, never serving a result for other bytes, safe under concurrent processes."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import pickle
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import safeload
from safeload import cli
from safeload.integrity import cache as scan_cache
from safeload.policy import Policy
from tests.builders import call_pickle
from tests.conftest import Marker

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh cache for this test (the session-wide one would already know these files)."""
    directory = tmp_path / "cache"
    monkeypatch.setenv("SAFELOAD_CACHE_DIR", str(directory))
    return directory


def _dir(root: Path, count: int = 12) -> Path:
    root.mkdir()
    for i in range(count):
        (root / f"m{i}.pkl").write_bytes(pickle.dumps({"i": i, "w": list(range(50))}))
    return root


def _json_scan(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = cli.main(["scan", "--format", "json", *args])
    return code, json.loads(capsys.readouterr().out)


def test_second_scan_is_served_from_the_cache(tmp_path: Path, cache_dir: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    models = _dir(tmp_path / "models")
    code1, first = _json_scan(capsys, str(models))
    code2, second = _json_scan(capsys, str(models))
    assert code1 == code2 == 0
    assert not any(r["integrity"]["cached"] for r in first["results"])
    assert all(r["integrity"]["cached"] for r in second["results"])
    for a, b in zip(first["results"], second["results"], strict=True):
        for key in ("source", "status", "formats", "findings", "sha256", "bytes_scanned"):
            assert a[key] == b[key]
    assert (cache_dir / "scan-cache.sqlite3").is_file()


def test_no_cache_flag_and_env(tmp_path: Path, cache_dir: Path, capsys: pytest.CaptureFixture[str],
                               monkeypatch: pytest.MonkeyPatch) -> None:
    models = _dir(tmp_path / "models", 3)
    _json_scan(capsys, str(models))
    _, report = _json_scan(capsys, "--no-cache", str(models))
    assert not any(r["integrity"]["cached"] for r in report["results"])
    monkeypatch.setenv("SAFELOAD_CACHE", "0")
    _, report = _json_scan(capsys, str(models))
    assert not any(r["integrity"]["cached"] for r in report["results"])


def test_never_serves_a_result_for_different_bytes(tmp_path: Path, cache_dir: Path, marker: Marker,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    models = tmp_path / "models"
    models.mkdir()
    target = models / "model.pkl"
    evil = call_pickle("os", "system", marker.shell)
    clean = pickle.dumps("x" * 8, protocol=4)
    target.write_bytes(clean)
    stamp = target.stat()
    assert _json_scan(capsys, str(models))[0] == 0
    assert _json_scan(capsys, str(models))[1]["results"][0]["integrity"]["cached"] is True
    target.write_bytes(evil)  # new bytes under the same name, with the old timestamps put back
    os.utime(target, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    code, report = _json_scan(capsys, str(models))
    assert code == 1
    assert report["results"][0]["integrity"]["cached"] is False
    assert any(f["rule_id"] == "SL101" for f in report["results"][0]["findings"])
    with pytest.raises(safeload.UnsafeModelError), open(target, "rb") as handle:
        safeload.pickle_load(handle)


def test_a_result_under_another_digest_or_malformed_is_never_served(tmp_path: Path, cache_dir: Path,
                                                                    marker: Marker) -> None:
    cache = scan_cache.open_cache()
    assert cache is not None
    policy = Policy()
    evil = call_pickle("os", "system", marker.shell)
    clean_result = safeload.scan(pickle.dumps(1))
    evil_sha = hashlib.sha256(evil).hexdigest()
    key = cache.key(evil_sha, policy, None)
    db = sqlite3.connect(cache.path)
    # A row whose recorded digest is not the one looked up (a collision in the key, a bad write): ignored.
    db.execute("INSERT OR REPLACE INTO scans VALUES (?, ?, ?, 0)",
               (key, "0" * 64, scan_cache._encode(clean_result)))
    db.commit()
    assert cache.get(evil_sha, policy, None, source="x", path=None) is None
    # A row that does not parse: a miss, and it is deleted.
    db.execute("INSERT OR REPLACE INTO scans VALUES (?, ?, ?, 0)", (key, evil_sha, "{not json"))
    db.commit()
    assert cache.get(evil_sha, policy, None, source="x", path=None) is None
    assert db.execute("SELECT COUNT(*) FROM scans WHERE key = ?", (key,)).fetchone()[0] == 0
    db.close()


def test_policy_and_code_are_part_of_the_key(tmp_path: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    models = tmp_path / "models"
    models.mkdir()
    (models / "crc.pkl").write_bytes(call_pickle("zlib", "crc32", b"abc"))
    assert _json_scan(capsys, "--trust", "zlib.crc32", str(models))[0] == 0
    assert _json_scan(capsys, "--trust", "zlib.crc32", str(models))[1]["results"][0]["integrity"]["cached"]
    code, report = _json_scan(capsys, str(models))  # same bytes, no trust: not the trusted result
    assert code == 1
    assert report["results"][0]["integrity"]["cached"] is False
    monkeypatch.setattr(scan_cache, "code_fingerprint", lambda: "another safeload build")
    assert _json_scan(capsys, str(models))[1]["results"][0]["integrity"]["cached"] is False


def test_a_shared_cache_directory_is_not_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              caplog: pytest.LogCaptureFixture) -> None:
    directory = tmp_path / "shared"
    directory.mkdir()
    directory.chmod(0o777)
    monkeypatch.setenv("SAFELOAD_CACHE_DIR", str(directory))
    scan_cache._OPEN.clear()
    with caplog.at_level(logging.WARNING, logger="safeload.integrity.cache"):
        assert scan_cache.open_cache() is None
    assert "not private" in caplog.text
    assert not (directory / "scan-cache.sqlite3").exists()


def test_slow_scans_are_skipped_on_load_fast_ones_are_not_hashed(tmp_path: Path, cache_dir: Path,
                                                                 caplog: pytest.LogCaptureFixture,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    # The reference engine keeps this scan clearly slower than hashing (the native one is close to it on 2 busy
    # cores, which made the cache decision depend on load).
    monkeypatch.setenv("SAFELOAD_ENGINE", "python")
    dense = tmp_path / "dense.pkl"
    dense.write_bytes(pickle.dumps([[i, -i] for i in range(340_000)], protocol=4))  # > 4 MiB, opcode-dense
    assert dense.stat().st_size > 4 << 20
    with caplog.at_level(logging.INFO, logger="safeload.loaders"):
        for _ in range(2):
            with open(dense, "rb") as handle:
                assert len(safeload.pickle_load(handle)) == 340_000
    first, second = [r for r in caplog.records if r.name == "safeload.loaders"][-2:]
    assert first.safeload_integrity["cached"] is False  # type: ignore[attr-defined]
    assert second.safeload_integrity["cached"] is True  # type: ignore[attr-defined]
    # The cache key is the sha256, or BLAKE3 when installed and no sha256 is needed otherwise.
    from safeload.integrity.digest import has_blake3

    expected = None if has_blake3() else hashlib.sha256(dense.read_bytes()).hexdigest()
    assert second.safeload_sha256 == expected  # type: ignore[attr-defined]
    # A large file whose scan is cheap (a numeric .npy: header only) is never hashed for the cache.
    np = pytest.importorskip("numpy")
    arrays = tmp_path / "big.npy"
    np.save(arrays, np.arange(1_500_000, dtype=np.float32))
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="safeload.loaders"):
        for _ in range(2):
            assert safeload.numpy_load(arrays)[-1] == 1_499_999
    records = [r for r in caplog.records if r.name == "safeload.loaders"]
    assert [r.safeload_sha256 for r in records] == [None, None]  # type: ignore[attr-defined]


_WORKER = """
import json, sys
from safeload import cli
codes = [cli.main(["scan", "--format", "json", "-o", sys.argv[2] + str(i), sys.argv[1]]) for i in range(3)]
print(json.dumps(codes))
"""


@pytest.mark.slow
def test_two_processes_share_the_cache(tmp_path: Path, cache_dir: Path, marker: Marker) -> None:
    models = _dir(tmp_path / "models", 80)
    (models / "evil.pkl").write_bytes(call_pickle("os", "system", marker.shell))
    env = dict(os.environ)
    procs = [subprocess.Popen([sys.executable, "-c", _WORKER, str(models), str(tmp_path / f"out{n}_")],
                              cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for n in range(2)]
    outputs = [p.communicate(timeout=600) for p in procs]
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
        assert json.loads(out.strip().splitlines()[-1]) == [1, 1, 1]
        assert "Traceback" not in err and "locked" not in err
    reports = [json.loads((tmp_path / f"out{n}_{i}").read_text()) for n in range(2) for i in range(3)]
    shape = [[(r["source"], r["status"], r["sha256"], [f["rule_id"] for f in r["findings"]]) for r in rep["results"]]
             for rep in reports]
    assert all(s == shape[0] for s in shape)
    assert all(r["integrity"]["cached"] for r in reports[-1]["results"])
    db = sqlite3.connect(cache_dir / "scan-cache.sqlite3")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("SELECT COUNT(*) FROM scans").fetchone()[0] == 81
    db.close()
