"""Fleet scans (issue 18): bytes read by a ranged remote scan against a full download, and files/s for many
small files single process vs ``--jobs 2`` vs a Dask LocalCluster of 2 workers.

Run: ``.venv/bin/python benchmarks/bench_fleet.py [--quick] [--big-mb N]``.

Part 1 serves each file from an HTTP server with Range support on 127.0.0.1 (``tests/fleet_servers.py``) and
from moto's S3 server, and compares ``safeload.scan_many`` (ranged reads) with downloading the whole object and
scanning the local copy. Loopback moves bytes far faster than a real network, so a modelled time for a link
of 1 Gbit/s with 25 ms per request (sequential, the worst case) is printed next to the measured one.
Part 2 scans a directory of small mixed files through the CLI in each mode (wall time, interpreter and
cluster start included) and through ``scan_many`` on an already running cluster (per-task cost only).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import pickle
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import REPO, table

from safeload.fleet.engine import scan_many
from tests.fleet_servers import moto_server, range_server

LINK_BYTES_PER_S = 125e6  # 1 Gbit/s
REQUEST_S = 0.025         # time to first byte of one ranged GET (S3 in-region is 10-30 ms)


def _torch_zip(path: Path, mb: int) -> None:
    import torch

    torch.save({f"layer{i}.weight": torch.zeros(256, 1024) for i in range(max(1, mb))}, path)  # 1 MB each


def _joblib_arrays(path: Path, mb: int) -> None:
    import joblib
    import numpy as np

    joblib.dump({"coef": [np.zeros((256, 1024), dtype=np.float32) for _ in range(max(1, mb))],
                 "meta": {"name": "model", "classes": list(range(10))}}, path)


def _download_then_scan(fs: Any, url: str, tmp: Path) -> tuple[float, float]:
    import safeload

    start = time.perf_counter()
    local = tmp / "download.bin"
    fs.get_file(url, str(local))
    downloaded = time.perf_counter() - start
    result = safeload.scan(local)
    total = time.perf_counter() - start
    assert result.is_safe(), result.summary()
    local.unlink()
    return downloaded, total


def _ranged(url: str) -> tuple[float, int, int, int, int]:
    from safeload.config import resolve_policy
    from safeload.sources.scan import scan_object

    start = time.perf_counter()
    scanned = scan_object(url_object(url), resolve_policy(None, None, None))
    seconds = time.perf_counter() - start
    assert scanned.result.is_safe(), scanned.result.summary()
    return seconds, scanned.bytes_fetched, scanned.requests, scanned.round_trips, scanned.object.size


def url_object(url: str) -> Any:
    from safeload.sources.remote import stat_object

    return stat_object(url)


def part_remote(tmp: Path, big_mb: int, schemes: tuple[str, ...] = ("http", "s3")) -> None:
    import fsspec

    www = tmp / "www"
    www.mkdir()
    cases = {"torch zip": ("model.pt", _torch_zip), "joblib inline arrays": ("model.joblib", _joblib_arrays)}
    for name, build in cases.values():
        build(www / name, big_mb)
    rows = []
    with contextlib.ExitStack() as stack:
        server = stack.enter_context(range_server(www))
        if "s3" in schemes:
            s3 = stack.enter_context(moto_server())
            os.environ.update(s3.env)
            client = s3.client()
            client.create_bucket(Bucket="bench")
            for name, _ in cases.values():
                client.upload_file(str(www / name), "bench", name)
        for label, (name, _) in cases.items():
            targets = [("http", server.url(name), fsspec.filesystem("http"))]
            if "s3" in schemes:
                targets.append(("s3", f"s3://bench/{name}", fsspec.filesystem("s3", skip_instance_cache=True)))
            for scheme, url, fs in targets:
                _ranged(url)  # warm-up: imports, connection pools, page cache
                seconds, fetched, requests, trips, size = _ranged(url)
                downloaded, download_scan = _download_then_scan(fs, url, tmp)
                model_ranged = trips * REQUEST_S + fetched / LINK_BYTES_PER_S
                model_full = REQUEST_S + size / LINK_BYTES_PER_S + (download_scan - downloaded)
                rows.append([f"{label} ({scheme})", f"{size / 1e6:.0f}", f"{fetched / 1e3:.0f}",
                             f"{100 * fetched / size:.3f}%", f"{requests}/{trips}", seconds, download_scan,
                             f"{download_scan / seconds:.1f}x", f"{model_ranged:.2f}", f"{model_full:.2f}"])
    print(table(["file", "MB", "KB read", "read/size", "ranges/round trips", "ranged scan s",
                 "download+scan s", "speed-up", "model ranged s", "model download+scan s"], rows))
    print(f"\n(model: {LINK_BYTES_PER_S * 8 / 1e9:.0f} Gbit/s, {REQUEST_S * 1000:.0f} ms per round trip; the "
          "ranges of one round trip go out concurrently. moto serves each ranged GET of a large object slowly "
          "(it is a test server): its 'ranged scan s' measures moto, not S3)")


# -- many small files ----------------------------------------------------------------------------------------
def _small_files(root: Path, count: int) -> None:
    import joblib
    import numpy as np
    import torch

    class Evil:
        def __reduce__(self) -> tuple[Any, ...]:
            return (os.system, ("touch /nonexistent/never-run",))  # never loaded: a scan target only

    evil = pickle.dumps(Evil(), protocol=4)
    for i in range(count):
        kind = i % 20
        if kind < 8:
            (root / f"f{i:05d}.pkl").write_bytes(pickle.dumps({"w": [float(j) for j in range(64)], "i": i}, 4))
        elif kind < 10:
            (root / f"f{i:05d}.pkl").write_bytes(evil)
        elif kind < 14:
            np.save(root / f"f{i:05d}.npy", np.arange(256, dtype=np.float32))
        elif kind < 17:
            torch.save({"w": torch.zeros(16, 16), "b": torch.zeros(16)}, root / f"f{i:05d}.pt")
        elif kind < 19:
            joblib.dump({"coef": np.zeros(32), "n": i}, root / f"f{i:05d}.joblib")
        else:
            (root / f"f{i:05d}.md").write_text(f"notes {i}\n")


def _cli(args: list[str], cache: Path) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFELOAD_")}
    env["SAFELOAD_CACHE_DIR"] = str(cache)
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "safeload", "scan", *args, "-q", "--no-progress"], cwd=REPO,
                          env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    assert proc.returncode == 1, proc.stderr[-2000:]  # the malicious files are found; nothing else fails
    return seconds


@contextlib.contextmanager
def _cluster(workers: int) -> Iterator[Any]:
    import distributed

    dist: Any = distributed
    # the dashboard on a free loopback port: never a clash with another cluster, never on a public interface
    cluster = dist.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                dashboard_address="127.0.0.1:0", silence_logs=40)
    client = dist.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def part_many(tmp: Path, count: int) -> None:
    root = tmp / "many"
    root.mkdir()
    _small_files(root, count)
    cache = tmp / "cache"
    rows = []
    single = _cli([str(root), "--no-cache"], cache)
    jobs2 = _cli([str(root), "--no-cache", "-j", "2"], cache)
    cluster = _cli([str(root), "--workers", "2"], cache)
    rows.append(["CLI single process", single, f"{count / single:.0f}"])
    rows.append(["CLI --jobs 2", jobs2, f"{count / jobs2:.0f}"])
    rows.append(["CLI --workers 2 (LocalCluster, start included)", cluster, f"{count / cluster:.0f}"])
    start = time.perf_counter()
    serial = list(scan_many([str(root)]))
    in_process = time.perf_counter() - start
    with _cluster(2) as client:
        list(scan_many([str(root)], client, max_in_flight=8))  # warm the workers' imports
        start = time.perf_counter()
        dask_found = list(scan_many([str(root)], client))
        on_cluster = time.perf_counter() - start
    assert len(serial) == len(dask_found) == count
    unsafe = sum(1 for f in dask_found if not f.result.is_safe())
    rows.append(["scan_many in process", in_process, f"{count / in_process:.0f}"])
    rows.append(["scan_many on a running 2-worker LocalCluster", on_cluster, f"{count / on_cluster:.0f}"])
    print(table(["mode", "seconds", "files/s"], rows))
    print(f"\n({count} files: pickle, malicious pickle, .npy, torch zip, joblib, text; {unsafe} not safe; "
          f"per-file cost in process {1000 * in_process / count:.2f} ms, on the cluster "
          f"{1000 * on_cluster / count:.2f} ms of wall per file with 2 workers; {os.cpu_count()} cores)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--big-mb", type=int, default=200, help="size of the remote torch and joblib files")
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--part", choices=("all", "remote", "many"), default="all")
    parser.add_argument("--http-only", action="store_true", help="remote objects over HTTP only (no moto)")
    opts = parser.parse_args()
    big_mb = 4 if opts.quick else opts.big_mb
    count = 60 if opts.quick else opts.files
    with tempfile.TemporaryDirectory() as tmp:
        if opts.part in {"all", "remote"}:
            print("### remote objects: ranged scan vs download + scan\n")
            part_remote(Path(tmp), big_mb, ("http",) if opts.http_only else ("http", "s3"))
        if opts.part in {"all", "many"}:
            print("\n### many small files\n")
            part_many(Path(tmp), count)
    print(f"\n(quick={opts.quick})")


if __name__ == "__main__":
    main()
