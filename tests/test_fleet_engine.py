"""safeload.scan_many and the fleet CLI on real servers on 127.0.0.1: moto's S3 server, an HTTP server with
Range support (with injected 503s and delays), and a Dask LocalCluster with two worker processes (one of them
killed mid-run). Malicious files carry harmless payloads (they would touch a marker file)."""

from __future__ import annotations

import io
import json
import os
import pickle
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import safeload
from safeload import Severity, Verdict
from safeload.fleet.engine import Batching, FleetResult, scan_many
from tests.builders import call_pickle
from tests.conftest import Marker
from tests.fleet_servers import S3Server, moto_server, range_server

pytest.importorskip("s3fs")
pytest.importorskip("moto")

ROOT = Path(__file__).resolve().parents[1]
GOOD = pickle.dumps({"weights": [1.0, 2.0], "name": "ok"}, protocol=4)


@pytest.fixture(scope="module")
def s3_server() -> Iterator[S3Server]:
    with moto_server() as server:
        yield server


@pytest.fixture
def s3(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> S3Server:
    for key, value in s3_server.env.items():
        monkeypatch.setenv(key, value)
    return s3_server


def _bucket(s3: S3Server, objects: dict[str, bytes]) -> str:
    name = f"b{uuid.uuid4().hex[:12]}"
    client = s3.client()
    client.create_bucket(Bucket=name)
    for key, body in objects.items():
        client.put_object(Bucket=name, Key=key, Body=body)
    return name


def _verdicts(found: list[FleetResult]) -> dict[str, str]:
    return {f.url: ("error" if f.status == "error" else f.result.verdict(Severity.MEDIUM).value) for f in found}


def test_import_safeload_imports_neither_dask_nor_fsspec() -> None:
    probe = ("import safeload, sys; safeload.scan_many; "
             "print(sorted(m for m in sys.modules if m.split('.')[0] in "
             "{'dask', 'distributed', 'fsspec', 's3fs', 'botocore', 'aiobotocore', 'boto3', 'pyarrow', 'aiohttp'}))")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFELOAD_")}
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=60,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_s3_prefix_verdicts_store_skips_unchanged_and_rescans_changed(s3: S3Server, tmp_path: Path,
                                                                      marker: Marker) -> None:
    bucket = _bucket(s3, {"models/bad.pkl": call_pickle("os", "system", marker.shell),
                          "models/good.pkl": GOOD, "models/sub/good2.pkl": GOOD,
                          "models/README.md": b"# notes\n", "other/ignored.pkl": GOOD})
    db = tmp_path / "scan.db"
    first = list(scan_many(f"s3://{bucket}/models/", results=db))
    assert _verdicts(first) == {f"s3://{bucket}/models/bad.pkl": "unsafe",
                                f"s3://{bucket}/models/good.pkl": "safe",
                                f"s3://{bucket}/models/sub/good2.pkl": "safe",
                                f"s3://{bucket}/models/README.md": "safe"}
    notes = next(f for f in first if f.url.endswith("README.md"))
    assert {x.rule_id for x in notes.result.findings} == {"SL810"}  # not a model: reports show it as skipped
    bad = next(f for f in first if f.url.endswith("bad.pkl"))
    assert "SL101" in {x.rule_id for x in bad.result.findings}
    assert {f.status for f in first} == {"scanned"} and all(f.identity.etag for f in first)

    second = list(scan_many(f"s3://{bucket}/models/", results=db))
    assert {f.status for f in second} == {"unchanged"}
    assert _verdicts(second) == _verdicts(first)

    s3.client().put_object(Bucket=bucket, Key="models/good.pkl", Body=call_pickle("os", "system", marker.shell))
    third = {f.url: f for f in scan_many(f"s3://{bucket}/models/", results=db)}
    assert third[f"s3://{bucket}/models/good.pkl"].status == "scanned"
    assert third[f"s3://{bucket}/models/good.pkl"].result.verdict(Severity.MEDIUM) is Verdict.UNSAFE
    assert {f.status for u, f in third.items() if not u.endswith("/good.pkl")} == {"unchanged"}
    with sqlite3.connect(db) as raw:
        assert raw.execute("SELECT COUNT(*) FROM results").fetchone()[0] == 4


def test_missing_bucket_and_missing_object_are_error_rows_not_a_failed_run(s3: S3Server, tmp_path: Path) -> None:
    bucket = _bucket(s3, {"ok.pkl": GOOD})
    found = list(scan_many([f"s3://nosuch{uuid.uuid4().hex[:8]}/x/", f"s3://{bucket}/missing.pkl",
                            f"s3://{bucket}/ok.pkl"], results=tmp_path / "scan.db"))
    statuses = [f.status for f in found]
    assert statuses.count("error") == 2 and statuses.count("scanned") == 1
    assert all(any(x.rule_id == "SL007" for x in f.result.findings) for f in found if f.status == "error")


def test_torch_zip_on_s3_is_scanned_by_ranges(s3: S3Server, tmp_path: Path, marker: Marker) -> None:
    torch = pytest.importorskip("torch")
    buffer = io.BytesIO()
    torch.save({"w": torch.zeros(2_000_000)}, buffer)  # 8 MB of tensor data never fetched
    evil = io.BytesIO()

    class Payload:
        def __reduce__(self) -> tuple[Any, ...]:
            return (os.system, (marker.shell,))

    torch.save({"w": torch.zeros(4), "x": Payload()}, evil)
    bucket = _bucket(s3, {"clean.pt": buffer.getvalue(), "evil.pt": evil.getvalue()})
    found = {f.url: f for f in scan_many(f"s3://{bucket}/")}
    clean = found[f"s3://{bucket}/clean.pt"]
    assert clean.result.verdict(Severity.MEDIUM) is Verdict.SAFE
    # a fixed cost (headers, the pickle, read-ahead windows), not a share of the 8 MB of tensor data
    assert clean.bytes_fetched is not None and clean.bytes_fetched < 400_000
    assert found[f"s3://{bucket}/evil.pt"].result.verdict(Severity.MEDIUM) is Verdict.UNSAFE


@pytest.mark.parametrize("batching", [None, Batching(max_files=8)], ids=["one-per-task", "batched"])
def test_http_transient_503_is_retried_and_a_dead_object_is_one_error_row(
        tmp_path: Path, marker: Marker, monkeypatch: pytest.MonkeyPatch, batching: Batching | None) -> None:
    monkeypatch.setattr("safeload.sources.remote._BACKOFF", 0.01)  # the same retries, shorter waits
    (tmp_path / "www").mkdir()
    (tmp_path / "www" / "flaky.pkl").write_bytes(call_pickle("os", "system", marker.shell))
    (tmp_path / "www" / "dead.pkl").write_bytes(GOOD)
    (tmp_path / "www" / "good.pkl").write_bytes(GOOD)
    (tmp_path / "www" / "reads.pkl").write_bytes(call_pickle("os", "system", marker.shell))
    with range_server(tmp_path / "www") as server:
        server.fail["flaky.pkl"] = 3
        server.fail["dead.pkl"] = 10_000
        server.fail_get["reads.pkl"] = 6  # more than one task's read retries: the engine re-submits the task
        found = list(scan_many([server.url("flaky.pkl"), server.url("dead.pkl"), server.url("good.pkl"),
                                server.url("reads.pkl")], retries=1, batching=batching))
        good_reads = [r for m, name, r in server.requests if name == "good.pkl" and m == "GET"]
        # the failure budget of dead.pkl: bounded (listing retries + task retries), never endless
        dead_requests = sum(1 for _, name, _ in server.requests if name == "dead.pkl")
    verdicts = _verdicts(found)
    assert verdicts == {server.url("flaky.pkl"): "unsafe", server.url("dead.pkl"): "error",
                        server.url("good.pkl"): "safe", server.url("reads.pkl"): "unsafe"}
    assert len(found) == 4
    assert next(f for f in found if f.url.endswith("reads.pkl")).attempts == 2
    assert len(good_reads) == 1  # a batch-mate's retry never scans good.pkl again
    assert dead_requests < 40


def test_process_pool_backend_matches_serial(tmp_path: Path, marker: Marker) -> None:
    root = tmp_path / "tree"
    root.mkdir()
    for i in range(12):
        (root / f"m{i}.pkl").write_bytes(call_pickle("os", "system", marker.shell) if i % 4 == 0 else GOOD)
    serial = _verdicts(list(scan_many([str(root)])))
    pooled = _verdicts(list(scan_many([str(root)], jobs=2)))
    assert serial == pooled and len(serial) == 12
    assert sum(v == "unsafe" for v in serial.values()) == 3


# -- Dask ----------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def dask_client() -> Iterator[Any]:
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address="127.0.0.1:0")
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


@pytest.mark.slow
def test_local_cluster_kill_a_worker_mid_run_nothing_lost_or_double_counted(
        dask_client: Any, tmp_path: Path, marker: Marker) -> None:
    www = tmp_path / "www"
    www.mkdir()
    names = [f"m{i:02d}.pkl" for i in range(24)]
    for i, name in enumerate(names):
        (www / name).write_bytes(call_pickle("os", "system", marker.shell) if i % 6 == 0 else GOOD)
    db = tmp_path / "scan.db"
    with range_server(www, delay=0.05) as server:
        pids = dask_client.run(os.getpid)
        found: list[FleetResult] = []
        killed = False
        in_flight_on_victim: tuple[str, ...] = ()
        for result in scan_many([server.url(n) for n in names], dask_client, results=db, max_in_flight=6,
                                batching=Batching(max_files=2)):
            found.append(result)
            if len(found) == 3 and not killed:
                address, victim = sorted(pids.items())[0]
                in_flight_on_victim = tuple(dask_client.processing().get(address, ()))
                os.kill(victim, signal.SIGKILL)
                killed = True
    assert killed and in_flight_on_victim  # the killed worker had tasks: they ran again elsewhere
    assert victim not in dask_client.run(os.getpid).values()
    urls = [f.url for f in found]
    assert len(urls) == len(set(urls)) == len(names)  # each object exactly once
    verdicts = _verdicts(found)
    assert {u for u, v in verdicts.items() if v == "unsafe"} == {server.url(n) for i, n in enumerate(names)
                                                                 if i % 6 == 0}
    assert all(v == "safe" for u, v in verdicts.items() if u not in {server.url(n) for n in names[::6]})
    with sqlite3.connect(db) as raw:
        assert raw.execute("SELECT COUNT(*), COUNT(DISTINCT url) FROM results").fetchone() == (24, 24)
    assert len({f.worker for f in found}) >= 2  # the work really was spread


@pytest.mark.slow
def test_scan_many_runs_on_the_default_client(dask_client: Any, tmp_path: Path) -> None:
    (tmp_path / "m.pkl").write_bytes(GOOD)
    (found,) = list(scan_many([str(tmp_path / "m.pkl")]))  # client=None: Dask's default client
    assert found.status == "scanned"
    assert int(found.worker.rsplit(":", 1)[1]) in dask_client.run(os.getpid).values()
    assert int(found.worker.rsplit(":", 1)[1]) != os.getpid()


@pytest.mark.slow
def test_killed_worker_without_dask_retries_batches_are_split_and_rescanned(tmp_path: Path, marker: Marker) -> None:
    """With Dask's own re-runs switched off, a killed worker fails its tasks (KilledWorker): safeload re-runs
    each object of a failed batch on its own, and every object still gets exactly one result."""
    distributed = pytest.importorskip("distributed")
    import dask

    www = tmp_path / "www"
    www.mkdir()
    names = [f"m{i:02d}.pkl" for i in range(16)]
    for i, name in enumerate(names):
        (www / name).write_bytes(call_pickle("os", "system", marker.shell) if i % 5 == 0 else GOOD)
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}), range_server(www, delay=0.05) as server:
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                           dashboard_address="127.0.0.1:0")
        client = distributed.Client(cluster)
        try:
            pids = client.run(os.getpid)
            found: list[FleetResult] = []
            for result in scan_many([server.url(n) for n in names], client, max_in_flight=4,
                                    batching=Batching(max_files=4)):
                found.append(result)
                if len(found) == 1:
                    address, victim = sorted(pids.items())[0]
                    busy = tuple(client.processing().get(address, ()))
                    os.kill(victim, signal.SIGKILL)
        finally:
            client.close()
            cluster.close()
    assert busy
    assert sorted(f.url for f in found) == sorted(server.url(n) for n in names)
    assert {f.status for f in found} == {"scanned"}
    assert any(f.attempts >= 2 for f in found)  # re-run by safeload, one object per task
    assert {f.url for f in found if f.result.verdict(Severity.MEDIUM) is Verdict.UNSAFE} == {
        server.url(n) for n in names[::5]}


def test_a_worker_with_another_safeload_gives_error_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "m.pkl").write_bytes(GOOD)
    # this process claims another safeload than the one that scans: the scan's verdict cannot stand for it
    monkeypatch.setattr("safeload.fleet.engine.scanner_code", lambda: "0.0.0:another-build")
    (found,) = list(scan_many([str(tmp_path / "m.pkl")]))
    assert found.status == "error"
    assert "install the same safeload on every worker" in (found.error or "")


def _sigint_default() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _cli(args: list[str], env: dict[str, str], **kw: Any) -> subprocess.Popen[str]:
    # The CLI starts with SIGINT at its default disposition, as from an interactive shell. An ignored signal stays
    # ignored across exec, and Python then installs no KeyboardInterrupt handler: a suite started as a background
    # job of a non-interactive shell (`.ci/run > log &`: bash ignores SIGINT in such jobs) ran every CLI it
    # started deaf to SIGINT, and the interrupt tests saw the run finish (exit 1) whatever the product did.
    return subprocess.Popen([sys.executable, "-m", "safeload", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=kw.get("cwd"),
                            preexec_fn=_sigint_default)  # noqa: PLW1509 - one signal call between fork and exec


def _interrupt(proc: subprocess.Popen[str], timeout: float = 30,
               signum: signal.Signals = signal.SIGINT) -> tuple[str, float]:
    """One SIGINT (or ``signum``) to the running CLI; its stderr and the seconds it took to exit."""
    assert proc.poll() is None, proc.communicate()
    status = Path(f"/proc/{proc.pid}/status")
    if status.exists():  # Linux: the CLI must not have inherited an ignored signal (see _cli)
        ignored = int(status.read_text().split("SigIgn:", 1)[1].split()[0], 16)
        assert not ignored & (1 << (signum - 1)), f"the CLI was started with {signum.name} ignored"
    sent = time.monotonic()
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=timeout)
    return err, time.monotonic() - sent


@pytest.mark.slow
def test_cli_bucket_scan_interrupt_and_resume_then_export_sarif(s3: S3Server, tmp_path: Path,
                                                                marker: Marker) -> None:
    count = 160  # ten tasks of 16 small objects: more than the 8 a 2-worker run keeps in flight
    objects = {f"models/m{i:03d}.pkl": (call_pickle("os", "system", marker.shell) if i == 7 else GOOD)
               for i in range(count)}
    bucket = _bucket(s3, objects)
    www = tmp_path / "www"
    www.mkdir()
    db = tmp_path / "scan.db"
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("SAFELOAD_")}, **s3.env,
           "PYTHONPATH": str(ROOT), "SAFELOAD_CACHE_DIR": str(tmp_path / "cache")}
    # moto answers fast: a slow HTTP mirror of the same files makes the first run long enough to interrupt. Small
    # objects are scanned 16 to a task (a task's rows arrive together) and an interrupted run finishes the tasks in
    # flight, never submitting more. Only the first task is fast: its rows are committed while the other seven
    # in flight still need seconds, so the interrupt lands before the tenth task is submitted. (With one delay
    # for every file all in-flight tasks ended together, and the interrupt could come after the whole run.)
    for key, body in objects.items():
        (www / key.split("/")[1]).write_bytes(body)
    with range_server(www, delay=0.25) as server:
        server.slow = {f"m{i:03d}.pkl": 0.0 for i in range(16)}
        urls = [server.url(key.split("/")[1]) for key in objects]
        proc = _cli(["scan", *urls, "--workers", "2", "--results", str(db), "-q"], env)
        deadline = time.monotonic() + 90
        rows = 0
        while time.monotonic() < deadline and proc.poll() is None:
            if db.exists():
                try:
                    with sqlite3.connect(db, timeout=5) as raw:
                        rows = raw.execute("SELECT COUNT(*) FROM results").fetchone()[0]
                except sqlite3.OperationalError:
                    rows = 0
            if rows >= 5:
                break
            time.sleep(0.1)
        err, _ = _interrupt(proc)
        assert proc.returncode == 2, err
        assert "interrupted" in err and "resume" in err
        with sqlite3.connect(db) as raw:
            kept = raw.execute("SELECT COUNT(*) FROM results WHERE error IS NULL").fetchone()[0]
        assert 16 <= kept <= count - 16

        server.delay = 0.0  # the resumed run need not be slow
        server.slow = {}
        resumed = _cli(["scan", *urls, "--results", str(db)], env)
        out, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 1, err  # one unsafe file, no errors
    assert f"{kept} unchanged" in err
    with sqlite3.connect(db) as raw:
        assert raw.execute("SELECT COUNT(*), COUNT(DISTINCT url) FROM results").fetchone() == (count, count)

    # the one-line bucket scan, then SARIF from the store
    bucket_db = tmp_path / "bucket.db"
    one = _cli(["scan", f"s3://{bucket}/models/", "--results", str(bucket_db), "-f", "json"], env)
    out, err = one.communicate(timeout=120)
    assert one.returncode == 1, err
    report = json.loads(out)
    unsafe = [r["source"] for r in report["results"] if r["verdict"] == "unsafe"]
    assert unsafe == [f"s3://{bucket}/models/m007.pkl"]
    export = _cli(["results", "export", "--results", str(bucket_db), "--format", "sarif", "-o",
                   str(tmp_path / "scan.sarif")], env)
    out, err = export.communicate(timeout=60)
    assert export.returncode == 0, err
    sarif = json.loads((tmp_path / "scan.sarif").read_text())
    hits = [r for r in sarif["runs"][0]["results"] if r["ruleId"] == "SL101"]
    assert len(hits) == 1
    assert "m007.pkl" in json.dumps(hits[0]["locations"])


def _rows(db: Path, sql: str) -> Any:
    if not db.exists():
        return None
    try:
        with sqlite3.connect(db, timeout=5) as raw:
            return raw.execute(sql).fetchone()
    except sqlite3.OperationalError:  # the schema is not there yet
        return None


def _good_files(tmp_path: Path, count: int) -> tuple[list[str], Path, dict[str, str]]:
    """``count`` clean pickles in ``tmp_path/www`` for a range server, and the CLI's environment."""
    names = [f"m{i:03d}.pkl" for i in range(count)]
    www = tmp_path / "www"
    www.mkdir()
    for name in names:
        (www / name).write_bytes(GOOD)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("SAFELOAD_")}, "PYTHONPATH": str(ROOT),
           "SAFELOAD_CACHE_DIR": str(tmp_path / "cache")}
    return names, www, env


def _keys(db: Path) -> tuple[list[str], str]:
    """The scanner keys the stored rows were written with, and this process's (a mismatch rescans them)."""
    from safeload.fleet.store import scanner_key

    with sqlite3.connect(db) as conn:
        stored = sorted({row[0] for row in conn.execute("SELECT scanner FROM results")})
    return stored, scanner_key(safeload.Policy())



@pytest.mark.slow
def test_cli_first_sigint_stops_a_run_at_any_point_and_leaves_it_resumable(tmp_path: Path) -> None:
    """One SIGINT, sent early (the run registered, the cluster starting), while the first task reads its first
    object, or mid-run (results committed, tasks in flight): every time the CLI stops promptly with exit 2 and
    "interrupted", marks the run interrupted, keeps only real results (no error row), and a re-run completes
    it, reusing each kept result."""
    count = 48  # three tasks of 16
    names, www, env = _good_files(tmp_path, count)
    with range_server(www) as server:
        urls = [server.url(n) for n in names]

        def first_get() -> bool:
            return any(m == "GET" for m, _, _ in list(server.requests))

        points: dict[str, tuple[dict[str, float], Callable[[Path], bool]]] = {
            # a run row exists: listing, or the LocalCluster starting at the first submission
            "early": ({}, lambda db: _rows(db, "SELECT COUNT(*) FROM runs") == (1,)),
            # a worker is reading m000.pkl (each request to it takes 1.5 s): the first task is running
            "first-task": ({"m000.pkl": 1.5}, lambda db: first_get()),
            # the first task's results are committed; the later tasks are slow (16 x 0.2 s per request)
            "mid-run": ({n: 0.2 for n in names[16:]},
                        lambda db: (_rows(db, "SELECT COUNT(*) FROM results") or (0,))[0] > 0),
        }
        for point, (slow, ready) in points.items():
            server.slow = slow
            server.requests.clear()
            db = tmp_path / f"{point}.db"
            proc = _cli(["scan", *urls, "--workers", "2", "--results", str(db), "-q"], env)
            deadline = time.monotonic() + 60
            while not ready(db) and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.02)
            err, took = _interrupt(proc)
            assert proc.returncode == 2, (point, err)
            assert "interrupted" in err and "resume" in err, (point, err)
            assert took < 20, (point, took)
            assert _rows(db, "SELECT COUNT(*), COUNT(finished), SUM(interrupted) FROM runs") == (1, 1, 1), point
            kept, errors = _rows(db, "SELECT COUNT(*), COUNT(error) FROM results")
            assert errors == 0, point
            assert kept < count, (point, kept)  # stopped, not run to the end
            if point == "first-task":
                assert kept == 0, kept
            if point == "mid-run":
                assert kept >= 1, kept

            server.slow = {}
            resumed = {f.url: f.status for f in scan_many(urls, results=db)}
            assert sorted(resumed) == sorted(urls), point
            assert list(resumed.values()).count("unchanged") == kept, (point, _keys(db))
            assert _rows(db, "SELECT COUNT(*), COUNT(error) FROM results") == (count, 0), point


def test_cli_sigterm_mid_run_stops_like_sigint_and_leaves_the_run_resumable(tmp_path: Path) -> None:
    """SIGTERM (a service manager, `timeout`, a CI cancellation) stops a fleet run as Ctrl-C does: exit 2,
    "interrupted", the run marked interrupted with its committed results kept, and the same command resumes."""
    count = 48
    names, www, env = _good_files(tmp_path, count)
    db = tmp_path / "term.db"
    with range_server(www) as server:
        urls = [server.url(n) for n in names]
        server.slow = {n: 0.2 for n in names[16:]}
        proc = _cli(["scan", *urls, "--workers", "2", "--results", str(db), "-q"], env)
        deadline = time.monotonic() + 60
        while not (_rows(db, "SELECT COUNT(*) FROM results") or (0,))[0] and proc.poll() is None \
                and time.monotonic() < deadline:
            time.sleep(0.02)
        err, took = _interrupt(proc, signum=signal.SIGTERM)
        assert proc.returncode == 2, err
        assert "interrupted" in err and "resume" in err, err
        assert took < 20, took
        assert _rows(db, "SELECT COUNT(*), COUNT(finished), SUM(interrupted) FROM runs") == (1, 1, 1)
        kept, errors = _rows(db, "SELECT COUNT(*), COUNT(error) FROM results")
        assert errors == 0 and 1 <= kept < count, kept
        server.slow = {}
        resumed = {f.url: f.status for f in scan_many(urls, results=db)}
        assert list(resumed.values()).count("unchanged") == kept, _keys(db)
        assert _rows(db, "SELECT COUNT(*), COUNT(error) FROM results") == (count, 0)


def test_terminate_as_interrupt_only_replaces_the_default_action() -> None:
    from safeload.fleet.engine import terminate_as_interrupt

    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    with terminate_as_interrupt(), pytest.raises(KeyboardInterrupt):
        signal.raise_signal(signal.SIGTERM)
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    seen: list[int] = []
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: seen.append(signum))
    try:
        with terminate_as_interrupt():
            signal.raise_signal(signal.SIGTERM)  # the installed handler runs, nothing is raised
        assert seen == [signal.SIGTERM]
    finally:
        signal.signal(signal.SIGTERM, previous)


_CLOSING = """
import os, signal, sys, threading, time
import distributed
from distributed.core import Status
from safeload.fleet.engine import scan_many

def interrupt_while_closing():
    # the embedded cluster, found through Dask's default client; one SIGINT as soon as it starts closing
    cluster = None
    while cluster is None:
        try:
            cluster = distributed.default_client().cluster
        except ValueError:
            time.sleep(0.002)
    while cluster.status not in (Status.closing, Status.closed):
        time.sleep(0.002)
    print("sigint", cluster.status.name, time.time(), flush=True)
    os.kill(os.getpid(), signal.SIGINT)

if __name__ == "__main__":  # the cluster's workers are spawned: they import this file
    threading.Thread(target=interrupt_while_closing, daemon=True).start()
    found = []
    try:
        for result in scan_many([sys.argv[1]], workers=2, results=sys.argv[2]):
            found.append(result)
    except KeyboardInterrupt:
        print("interrupted", len(found), flush=True)
"""


@pytest.mark.slow
def test_sigint_while_the_cluster_closes_finishes_the_close_then_interrupts(tmp_path: Path) -> None:
    """A SIGINT after the last result, while the embedded LocalCluster closes: the close is finished (then the
    interrupt is raised, the run marked interrupted), never cut short (a half-closed cluster held the exit for
    its own 10 s shutdown timeout)."""
    (tmp_path / "tree").mkdir()
    for i in range(4):
        (tmp_path / "tree" / f"m{i}.pkl").write_bytes(GOOD)
    db = tmp_path / "scan.db"
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("SAFELOAD_")}, "PYTHONPATH": str(ROOT),
           "SAFELOAD_CACHE_DIR": str(tmp_path / "cache")}
    script = tmp_path / "closing.py"  # a file, not -c: the cluster's spawned workers import __main__
    script.write_text(_CLOSING)
    proc = subprocess.run([sys.executable, str(script), str(tmp_path / "tree"), str(db)], capture_output=True,
                          text=True, env=env, timeout=120, check=False, preexec_fn=_sigint_default)
    ended = time.time()
    lines = dict(line.split(" ", 1) for line in proc.stdout.splitlines())
    assert proc.returncode == 0 and lines.get("interrupted") == "4", (proc.stdout, proc.stderr)
    status, sent = lines["sigint"].split()
    assert status == "closing"
    assert ended - float(sent) < 8, ended - float(sent)
    assert _rows(db, "SELECT COUNT(*), COUNT(finished), SUM(interrupted) FROM runs") == (1, 1, 1)
    assert _rows(db, "SELECT COUNT(*) FROM results") == (4,)


def test_cli_usage_errors(tmp_path: Path) -> None:
    from safeload.cli import main

    assert main(["scan", "x", "--rescan"]) == 2
    assert main(["scan", "x", "--workers", "0"]) == 2
    (tmp_path / "junk.db").write_bytes(b"junk" * 400)
    assert main(["results", "export", "--results", str(tmp_path / "junk.db")]) == 2
    assert main(["results", "export", "--results", str(tmp_path / "none.db")]) == 2
    assert safeload.scan_many is scan_many
