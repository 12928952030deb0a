"""joblib benchmark: safeload.joblib_load / joblib.load on a large RandomForest and a dict of large arrays.

Run: ``.venv/bin/python benchmarks/bench_joblib.py [--quick] [--runs N]``. Inputs (~200 MB each, dumped
uncompressed and with ``compress=3``) are generated in a temporary directory and deleted afterwards.
Prints, per case: plain load and safe load (interleaved, median of ``--runs``), their ratio (target <= 1.10),
safeload's scan-only time, picklescan's scan time on the same file, and the peak RSS of a fresh process
doing the plain load vs the safe load (target <= 1.1x).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import joblib
import numpy as np
from _common import interleaved, peak_rss_mb, table

import safeload

os.environ.setdefault("SAFELOAD_CACHE", "0")  # measure the scan, not the scan cache (subprocesses inherit it)


def make_forest(quick: bool) -> object:
    from sklearn.datasets import make_classification
    from sklearn.ensemble import RandomForestClassifier

    samples, trees = (4_000, 10) if quick else (60_000, 120)
    x, y = make_classification(samples, 20, n_informative=10, flip_y=0.3, random_state=0)
    return RandomForestClassifier(trees, n_jobs=-1, random_state=0).fit(x, y)


def make_arrays(quick: bool) -> dict[str, np.ndarray]:
    rows = 64 if quick else 8192
    rng = np.random.default_rng(0)
    return {f"layer{i}": rng.standard_normal((rows, 256)) for i in range(12)} | {
        "int_table": np.arange(rows * 256 * 2, dtype=np.int64).reshape(-1, 256),
        "fortran": np.asfortranarray(rng.standard_normal((rows, 256)).astype(np.float32)),
    }


def picklescan_time(path: Path, runs: int) -> float | None:
    try:
        from picklescan.scanner import scan_file_path
    except ImportError:
        return None
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        scan_file_path(str(path))
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def modelscan_time(path: Path, runs: int) -> float | None:
    """modelscan's scan time (its TensorFlow-heavy import excluded). Like picklescan it stops at the
    first inline array (THREATS B15): it reports a parse error, not the rest of the pickle."""
    try:
        from modelscan.modelscan import ModelScan
    except ImportError:
        return None
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        ModelScan().scan(str(path))
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def scan_time(path: Path, runs: int) -> tuple[float, str]:
    times = []
    verdict = ""
    for _ in range(runs):
        start = time.perf_counter()
        result = safeload.scan(path)
        times.append(time.perf_counter() - start)
        verdict = result.verdict().value
    return statistics.median(times), verdict


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small inputs, for CI smoke runs")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-memory", action="store_true", help="skip the fresh-process peak RSS runs")
    parser.add_argument("--modelscan", action="store_true", help="also time modelscan (imports TensorFlow)")
    args = parser.parse_args()
    runs = max(1, args.runs)
    rows = []
    with tempfile.TemporaryDirectory(prefix="safeload-bench-") as tmp:
        folder = Path(tmp)
        objects = {"random-forest": make_forest(args.quick), "large-arrays": make_arrays(args.quick)}
        cases: dict[str, Path] = {}
        for name, obj in objects.items():
            for compress in (0, 3):
                path = folder / f"{name}-c{compress}.joblib"
                joblib.dump(obj, path, compress=compress)
                cases[f"{name} {'zlib-3' if compress else 'raw'}"] = path
        objects.clear()
        for label, path in cases.items():
            size_mb = path.stat().st_size / 2**20
            joblib.load(path)  # warm the page cache and both code paths before timing
            safeload.joblib_load(path)
            medians = interleaved({"plain": lambda p=path: joblib.load(p),
                                   "safe": lambda p=path: safeload.joblib_load(p)}, runs)
            scan, verdict = scan_time(path, runs)
            ps = picklescan_time(path, runs)
            ms = modelscan_time(path, runs) if args.modelscan else None
            if args.no_memory:
                rss_plain = rss_safe = float("nan")
            else:
                rss_plain = peak_rss_mb(f"import joblib\nobj = joblib.load({str(path)!r})")
                rss_safe = peak_rss_mb(f"import joblib, safeload\nobj = safeload.joblib_load({str(path)!r})")
            rows.append([label, f"{size_mb:.0f}", medians["plain"], medians["safe"],
                         medians["safe"] / medians["plain"], f"{scan:.4f}", verdict,
                         "n/a" if ps is None else f"{ps:.4f}", "n/a" if ms is None else f"{ms:.4f}",
                         f"{rss_plain:.0f}", f"{rss_safe:.0f}",
                         f"{rss_safe / rss_plain:.3f}" if not args.no_memory else "n/a"])
    print(table(["case", "MB", "joblib.load s", "joblib_load s", "ratio", "scan s", "verdict", "picklescan s",
                 "modelscan s", "RSS plain MB", "RSS safe MB", "RSS ratio"], rows))
    print(f"(medians of {runs} interleaved runs; targets: ratio <= 1.10, RSS ratio <= 1.10, scan < picklescan)")


if __name__ == "__main__":
    main()
