"""Integrity benchmark: hashing throughput, pinned-digest loads, and the scan cache on an unchanged directory.

Run: ``.venv/bin/python benchmarks/bench_integrity.py [--quick] [--runs N]``. Prints:

1. raw hashing speed (GB/s, wall and CPU) of hashlib's sha256 against the alternatives, on an in-memory buffer
   and on the memory-mapped 500 MB torch file (target: >= 1 GB/s);
2. ``torch.load`` vs ``safeload.torch_load`` vs ``safeload.torch_load(expected_sha256=...)`` (sha256) vs a load
   checked against a ``safeload.lock`` (BLAKE3 when installed) on a ~500 MB state_dict (zip), and ``joblib.load``
   vs the same on ~200 MB of arrays (target: pinned <= 1.05x plain), interleaved in one process, medians; plus
   the same pinned load in fresh processes;
3. re-scanning an unchanged 200-file directory (``benchmarks/bench_cli_dir.py``'s builder) with and without
   the scan cache, in process and as fresh ``safeload scan`` processes (target: >= 10x faster with the cache).
"""

from __future__ import annotations

import argparse
import hashlib
import mmap
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from _common import interleaved, table  # noqa: E402

import safeload  # noqa: E402

REPO = HERE.parent


def rate(size: int, func: Callable[[], object], runs: int) -> tuple[float, float]:
    """(wall GB/s, CPU GB/s), best of ``runs`` (throughput: the least disturbed run on a shared machine)."""
    walls, cpus = [], []
    for _ in range(runs):
        cpu, start = time.process_time(), time.perf_counter()
        func()
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    return size / min(walls) / 1e9, size / max(min(cpus), 1e-9) / 1e9


def bench_hashing(buffer_mb: int, torch_file: Path | None, runs: int) -> list[list[object]]:
    data = os.urandom(buffer_mb << 20)
    rows: list[list[object]] = []
    cases: dict[str, Callable[[bytes], object]] = {
        "hashlib sha256 (OpenSSL, no SHA-NI here)": lambda d: hashlib.sha256(d).digest(),
        "hashlib sha512": lambda d: hashlib.sha512(d).digest(),
        "hashlib sha1 (not for integrity)": lambda d: hashlib.sha1(d).digest(),  # noqa: S324 - measured only
        "hashlib blake2b": lambda d: hashlib.blake2b(d).digest(),
    }
    try:
        import blake3

        cases["blake3, 1 thread"] = lambda d: blake3.blake3(d).digest()
        cases["blake3, all cores"] = lambda d: blake3.blake3(d, max_threads=blake3.blake3.AUTO).digest()
    except ImportError:
        pass
    for name, func in cases.items():
        wall, cpu = rate(len(data), lambda f=func: f(data), runs)  # type: ignore[misc]
        rows.append([name, f"{buffer_mb} MiB in memory", wall, cpu])
    if torch_file is not None:
        with open(torch_file, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
            from safeload.integrity.digest import hash_buffer

            wall, cpu = rate(len(mapped), lambda: hash_buffer(mapped), runs)
            rows.append(["safeload hash_buffer (sha256 of the mmap)", f"{torch_file.stat().st_size / 1e6:.0f} MB "
                         "file, page cache", wall, cpu])
    return rows


def make_torch(directory: Path, size_mb: int) -> Path:
    import torch

    tensors, cols = 100, 1280
    rows = max(1, size_mb * (1 << 20) // (4 * tensors) // cols)
    generator = torch.Generator().manual_seed(0)
    state = {f"layer{i}.weight": torch.randn(rows, cols, generator=generator) for i in range(tensors)}
    path = directory / "state_zip.pt"
    torch.save(state, path)
    return path


def make_joblib(directory: Path, quick: bool) -> Path:
    import joblib
    import numpy as np

    rows = 64 if quick else 8192
    rng = np.random.default_rng(0)
    arrays = {f"layer{i}": rng.standard_normal((rows, 256)) for i in range(12)}
    path = directory / "arrays.joblib"
    joblib.dump(arrays, path)
    return path


def bench_loads(torch_file: Path, joblib_file: Path, runs: int) -> list[list[object]]:
    import joblib
    import torch

    from safeload import cli

    torch_sha = hashlib.sha256(torch_file.read_bytes()).hexdigest()
    joblib_sha = hashlib.sha256(joblib_file.read_bytes()).hexdigest()
    lock = torch_file.parent / "safeload.lock"
    cli.main(["lock", "--lock", str(lock), str(torch_file), str(joblib_file)])  # BLAKE3 too when installed
    locked = safeload.Integrity(lock=str(lock))
    rows: list[list[object]] = []
    cases = [
        ("torch zip", torch_file, {
            "plain": lambda: torch.load(torch_file, weights_only=True),
            "safe": lambda: safeload.torch_load(torch_file, weights_only=True),
            "pinned": lambda: safeload.torch_load(torch_file, weights_only=True, expected_sha256=torch_sha),
            "locked": lambda: safeload.torch_load(torch_file, weights_only=True, integrity=locked),
        }),
        ("joblib arrays", joblib_file, {
            "plain": lambda: joblib.load(joblib_file),
            "safe": lambda: safeload.joblib_load(joblib_file),
            "pinned": lambda: safeload.joblib_load(joblib_file, expected_sha256=joblib_sha),
            "locked": lambda: safeload.joblib_load(joblib_file, integrity=locked),
        }),
    ]
    for name, path, funcs in cases:
        for func in funcs.values():  # warm the page cache and every code path
            func()
        medians = interleaved(funcs, runs)
        size = path.stat().st_size / 1e6
        rows.append([f"{name}, {size:.0f} MB", medians["plain"], medians["safe"], medians["pinned"],
                     medians["locked"], medians["safe"] / medians["plain"], medians["pinned"] / medians["plain"],
                     medians["locked"] / medians["plain"], "<= 1.05"])
    return rows


_FRESH = """
import sys, time
start = time.perf_counter()
kind, path, digest = sys.argv[1], sys.argv[2], sys.argv[3]
if kind == "plain":
    import torch
    torch.load(path, weights_only=True)
else:
    import safeload
    safeload.torch_load(path, weights_only=True, **({{"expected_sha256": digest}} if kind == "pinned" else {{}}))
print(time.perf_counter() - start)
"""


def bench_fresh(torch_file: Path, runs: int, env: dict[str, str]) -> list[object]:
    digest = hashlib.sha256(torch_file.read_bytes()).hexdigest()
    code = _FRESH.format()
    times: dict[str, list[float]] = {"plain": [], "safe": [], "pinned": []}
    for _ in range(runs):
        for kind, values in times.items():
            out = subprocess.run([sys.executable, "-c", code, kind, str(torch_file), digest], capture_output=True,
                                 text=True, check=True, env=env, cwd=REPO)
            values.append(float(out.stdout.strip().splitlines()[-1]))
    med = {k: statistics.median(v) for k, v in times.items()}
    return [f"torch zip, {torch_file.stat().st_size / 1e6:.0f} MB, fresh process (import + load)", med["plain"],
            med["safe"], med["pinned"], "-", med["safe"] / med["plain"], med["pinned"] / med["plain"], "-",
            "<= 1.05"]


def bench_cache(count: int, runs: int, env: dict[str, str], quick: bool) -> list[list[object]]:
    from bench_cli_dir import build

    from safeload.cli import _collect, run_scans
    from safeload.config import resolve_policy

    rows: list[list[object]] = []
    with tempfile.TemporaryDirectory(prefix="safeload-bench-cache-") as tmp:
        root = Path(tmp) / "models"
        build(root, count)
        cache_dir = Path(tmp) / "cache"
        os.environ["SAFELOAD_CACHE_DIR"] = str(cache_dir)
        env = {**env, "SAFELOAD_CACHE_DIR": str(cache_dir)}
        import argparse as _argparse

        plan = _collect(_argparse.Namespace(paths=[str(root)], hf_cache=None, hf_endpoint=None))
        policy = resolve_policy()
        run_scans(plan.targets, policy, jobs=1, want_digest=False, use_cache=True)  # fill the cache
        medians = interleaved({
            "no cache": lambda: run_scans(plan.targets, policy, jobs=1, want_digest=False, use_cache=False),
            "cache": lambda: run_scans(plan.targets, policy, jobs=1, want_digest=False, use_cache=True),
        }, runs)
        rows.append([f"{len(plan.targets)} files, in process (scan only)", medians["no cache"], medians["cache"],
                     medians["no cache"] / medians["cache"], ">= 10"])
        cpu: dict[str, list[float]] = {"no cache": [], "cache": []}
        for _ in range(runs):  # CPU time: what the load average does not inflate
            for label, use in (("no cache", False), ("cache", True)):
                start = time.process_time()
                run_scans(plan.targets, policy, jobs=1, want_digest=False, use_cache=use)
                cpu[label].append(time.process_time() - start)
        cpu_med = {k: statistics.median(v) for k, v in cpu.items()}
        rows.append([f"{len(plan.targets)} files, in process, CPU time", cpu_med["no cache"], cpu_med["cache"],
                     cpu_med["no cache"] / cpu_med["cache"], ">= 10"])
        base = [sys.executable, "-m", "safeload", "scan", "-q", "--no-progress", "--format", "json",
                "-o", os.devnull, str(root)]
        fresh: dict[str, list[float]] = {"no cache": [], "cache": []}
        for _ in range(max(1, runs // 2) if not quick else 1):
            for label, argv in (("no cache", [*base, "--no-cache"]), ("cache", base)):
                start = time.perf_counter()
                subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=False)
                fresh[label].append(time.perf_counter() - start)
        med = {k: statistics.median(v) for k, v in fresh.items()}
        rows.append([f"{len(plan.targets)} files, fresh `safeload scan` process", med["no cache"], med["cache"],
                     med["no cache"] / med["cache"], ">= 10"])
        shutil.rmtree(cache_dir, ignore_errors=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small inputs, few runs: a smoke test")
    parser.add_argument("--runs", type=int, default=None, help="runs per measurement (default 7, quick 2)")
    parser.add_argument("--size-mb", type=int, default=None, help="torch file size (default 500, quick 4)")
    parser.add_argument("--files", type=int, default=None, help="directory size for the cache (default 200)")
    parser.add_argument("--cache-only", action="store_true", help="only the re-scan of an unchanged directory")
    args = parser.parse_args()
    runs = args.runs or (2 if args.quick else 7)
    size = args.size_mb or (4 if args.quick else 500)
    count = args.files or (30 if args.quick else 200)
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("SAFELOAD_LOCK", None)
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"safeload {safeload.__version__}, {runs} runs; load average {load} on {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory(prefix="safeload-bench-integrity-") as tmp:
        if args.cache_only:
            print(table(["re-scan of an unchanged directory", "no cache s", "cache s", "speed-up", "target"],
                        bench_cache(count, runs, env, args.quick)))
            return
        torch_file = make_torch(Path(tmp), size)
        joblib_file = make_joblib(Path(tmp), args.quick)
        print()
        print(table(["hash", "input", "GB/s wall", "GB/s CPU"],
                    bench_hashing(16 if args.quick else 256, torch_file, max(2, runs // 2))))
        print()
        rows = bench_loads(torch_file, joblib_file, runs)
        rows.append(bench_fresh(torch_file, max(1, runs // 2), env))
        print(table(["case", "plain s", "safe s", "pinned s", "locked s", "safe/plain", "pinned/plain",
                     "locked/plain", "target"], rows))
    print()
    print(table(["re-scan of an unchanged directory", "no cache s", "cache s", "speed-up", "target"],
                bench_cache(count, runs, env, args.quick)))
    print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
