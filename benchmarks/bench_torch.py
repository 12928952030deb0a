"""torch.load vs safeload.torch_load on a large float32 state_dict, zip and legacy formats.

Run: ``.venv/bin/python benchmarks/bench_torch.py`` (about 500 MB per file, written to a temp dir and deleted
afterwards) or ``--quick`` for a small smoke run. In one process, interleaved, median of ``--runs`` runs:

- load time, ``torch.load`` vs ``safeload.torch_load``, for ``weights_only=True`` and ``False``
  (targets: ratio <= 1.03 for zip, <= 1.05 for legacy);
- scan-only time (``safeload.scan``) next to picklescan's ``scan_file_path`` and modelscan (if installed);
- peak RSS of a plain and a safe load, each in a fresh subprocess (``ru_maxrss``; target <= 1.1x).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

import safeload  # noqa: E402

os.environ.setdefault("SAFELOAD_CACHE", "0")  # measure the scan, not the scan cache (subprocesses inherit it)


def make_files(directory: Path, size_mb: int) -> dict[str, Path]:
    """A float32 state_dict of about ``size_mb`` MB (100 tensors), saved as zip and as legacy."""
    tensors = 100
    per = size_mb * (1 << 20) // (4 * tensors)
    cols = 1280
    rows = max(1, per // cols)
    generator = torch.Generator().manual_seed(0)
    state = {f"layer{i}.weight": torch.randn(rows, cols, generator=generator) for i in range(tensors)}
    files = {"zip": directory / "state_zip.pt", "legacy": directory / "state_legacy.pt"}
    torch.save(state, files["zip"])
    torch.save(state, files["legacy"], _use_new_zipfile_serialization=False)
    return files


def timed(fn: Callable[[], Any]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) for one call; the result is dropped before returning."""
    gc.collect()
    cpu = time.process_time()
    start = time.perf_counter()
    result = fn()
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu
    del result
    return elapsed, cpu


Pair = tuple[float, float, float, float]  # plain wall, safe wall, plain cpu, safe cpu (medians)


def bench_loads(files: dict[str, Path], runs: int) -> dict[tuple[str, bool], Pair]:
    out: dict[tuple[str, bool], Pair] = {}
    cases = [(fmt, wo) for fmt in files for wo in (True, False)]
    plain: dict[tuple[str, bool], list[tuple[float, float]]] = {c: [] for c in cases}
    safe: dict[tuple[str, bool], list[tuple[float, float]]] = {c: [] for c in cases}
    for fmt, wo in cases:  # warm the page cache and both code paths
        timed(lambda f=files[fmt], w=wo: torch.load(f, weights_only=w))
        timed(lambda f=files[fmt], w=wo: safeload.torch_load(f, weights_only=w))
    for run in range(runs):
        for case in cases:
            path, wo = files[case[0]], case[1]
            pair = [("plain", lambda p=path, w=wo: torch.load(p, weights_only=w)),
                    ("safe", lambda p=path, w=wo: safeload.torch_load(p, weights_only=w))]
            if run % 2:
                pair.reverse()  # alternate the order so neither side always runs on a warmer cache
            for label, fn in pair:
                (plain if label == "plain" else safe)[case].append(timed(fn))
    for case in cases:
        out[case] = (statistics.median(w for w, _ in plain[case]), statistics.median(w for w, _ in safe[case]),
                     statistics.median(c for _, c in plain[case]), statistics.median(c for _, c in safe[case]))
    return out


def bench_scans(files: dict[str, Path], runs: int) -> dict[str, dict[str, float | None]]:
    from picklescan.scanner import scan_file_path

    try:
        from modelscan.modelscan import ModelScan
    except ImportError:
        ModelScan = None  # noqa: N806 - optional competitor
    out: dict[str, dict[str, float | None]] = {}
    for fmt, path in files.items():
        times: dict[str, list[float]] = {"safeload": [], "picklescan": [], "modelscan": []}
        for _ in range(runs):
            times["safeload"].append(timed(lambda p=path: safeload.scan(p))[0])
            times["picklescan"].append(timed(lambda p=path: scan_file_path(str(p)))[0])
            if ModelScan is not None:
                times["modelscan"].append(timed(lambda p=path: ModelScan().scan(str(p)))[0])
        out[fmt] = {k: statistics.median(v) if v else None for k, v in times.items()}
    return out


_RSS_CHILD = """
import json, resource, sys
sys.path.insert(0, {root!r})
import torch, safeload
load = torch.load if {plain} else safeload.torch_load
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
obj = load({path!r}, weights_only={wo})
print(json.dumps([before, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss]))
"""


# ru_maxrss survives fork and exec: a child forked from this (large) process would start at our peak. A
# small launcher process forks the measured child instead, so the child starts from a few MB.
_LAUNCHER = "import subprocess, sys; sys.exit(subprocess.run([sys.executable, '-c', sys.argv[1]]).returncode)"


def peak_rss(path: Path, *, plain: bool, wo: bool) -> tuple[int, int]:
    code = _RSS_CHILD.format(root=str(ROOT), plain=plain, path=str(path), wo=wo)
    proc = subprocess.run([sys.executable, "-c", _LAUNCHER, code], capture_output=True, text=True, check=True)
    before, after = json.loads(proc.stdout.strip().splitlines()[-1])
    return int(before), int(after)


def bench_memory(files: dict[str, Path], runs: int) -> dict[tuple[str, bool], tuple[float, float, float, float]]:
    out: dict[tuple[str, bool], tuple[float, float, float, float]] = {}
    for fmt, path in files.items():
        for wo in (True, False):
            plain = [peak_rss(path, plain=True, wo=wo) for _ in range(runs)]
            safe = [peak_rss(path, plain=False, wo=wo) for _ in range(runs)]
            out[(fmt, wo)] = (statistics.median(a for _, a in plain), statistics.median(a for _, a in safe),
                              statistics.median(a - b for b, a in plain), statistics.median(a - b for b, a in safe))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="small files (~4 MB), 3 runs, one peak-memory child per case: a smoke test")
    parser.add_argument("--size-mb", type=int, default=None, help="state_dict size (default 500, quick 4)")
    parser.add_argument("--runs", type=int, default=None, help="runs per measurement (default 7, quick 3)")
    parser.add_argument("--no-memory", action="store_true", help="skip the subprocess peak-memory runs")
    args = parser.parse_args()
    size = args.size_mb or (4 if args.quick else 500)
    runs = max(3, args.runs or (3 if args.quick else 7))
    with tempfile.TemporaryDirectory(prefix="safeload-bench-") as tmp:
        files = make_files(Path(tmp), size)
        sizes = {fmt: p.stat().st_size / 1e6 for fmt, p in files.items()}
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
        print(f"torch {torch.__version__}, safeload {safeload.__version__}, {runs} runs, medians; "
              "files: " + ", ".join(f"{fmt} {mb:.0f} MB" for fmt, mb in sizes.items())
              + f"; load average {load} on {os.cpu_count()} CPUs")
        loads = bench_loads(files, runs)
        scans = bench_scans(files, runs)
        # each peak-memory run is a fresh interpreter importing torch: the smoke run starts one per case
        memory = None if args.no_memory else bench_memory(files, 1 if args.quick else runs)

    target = {"zip": 1.03, "legacy": 1.05}
    print()
    print("| format | weights_only | torch.load s | safeload.torch_load s | ratio | target | "
          "torch.load CPU s | safeload CPU s | CPU ratio |")
    print("|---|---|---|---|---|---|---|---|---|")
    for (fmt, wo), (plain, safe, plain_cpu, safe_cpu) in loads.items():
        ratio = safe / plain
        print(f"| {fmt} | {wo} | {plain:.4f} | {safe:.4f} | {ratio:.3f} | <= {target[fmt]} "
              f"{'ok' if ratio <= target[fmt] else 'MISSED'} | {plain_cpu:.4f} | {safe_cpu:.4f} | "
              f"{safe_cpu / plain_cpu:.3f} |")
    print()
    print("| format | safeload.scan s | picklescan s | modelscan s |")
    print("|---|---|---|---|")
    for fmt, row in scans.items():
        cells = [f"{row[k]:.4f}" if row[k] is not None else "n/a" for k in ("safeload", "picklescan", "modelscan")]
        print(f"| {fmt} | " + " | ".join(cells) + " |")
    if memory is not None:
        print()
        print("| format | weights_only | peak RSS plain MB | peak RSS safe MB | ratio | load delta plain MB | "
              "load delta safe MB |")
        print("|---|---|---|---|---|---|---|")
        for (fmt, wo), (plain, safe, dplain, dsafe) in memory.items():
            print(f"| {fmt} | {wo} | {plain / 1024:.0f} | {safe / 1024:.0f} | {safe / plain:.3f} | "
                  f"{dplain / 1024:.0f} | {dsafe / 1024:.0f} |")


if __name__ == "__main__":
    main()
