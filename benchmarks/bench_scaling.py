"""Scaling check: scan time and scan memory against file size, four sizes per case.

Run: ``.venv/bin/python benchmarks/bench_scaling.py [--quick]``. For each case the file doubles three times;
scan time should grow linearly (constant seconds per MB) and, for formats whose bulk is tensor/array payload,
scan memory should stay flat (payloads are skipped by length and never copied). Memory is the peak of Python
allocations during the scan (``tracemalloc``); the file itself is memory-mapped, not read.
"""

from __future__ import annotations

import argparse
import os
import pickle
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from _common import table

import safeload

os.environ.setdefault("SAFELOAD_CACHE", "0")  # measure the scan, not the scan cache (subprocesses inherit it)


def _dense(path: Path, scale: int) -> None:
    path.write_bytes(pickle.dumps([{"id": i, "name": f"n{i}", "v": i * 0.5} for i in range(scale * 12_500)], 4))


def _torch_zip(path: Path, scale: int) -> None:
    import torch

    torch.save({f"w{i}": torch.zeros(256, 1024) for i in range(scale * 8)}, path)  # 8 MB per unit


def _joblib_arrays(path: Path, scale: int) -> None:
    import joblib

    joblib.dump({f"a{i}": np.zeros((256, 1024), dtype=np.float32) for i in range(scale * 8)}, path)  # 8 MB per unit


CASES: dict[str, Callable[[Path, int], None]] = {"pickle opcode-dense": _dense, "torch zip": _torch_zip,
                                                  "joblib arrays": _joblib_arrays}


def measure(path: Path, runs: int) -> tuple[float, float]:
    safeload.scan(path)  # warm-up: imports and page cache
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        result = safeload.scan(path)
        times.append(time.perf_counter() - start)
        assert result.is_safe(), result.summary()
    tracemalloc.start()
    safeload.scan(path)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return statistics.median(times), peak / 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    opts = parser.parse_args()
    scales = [1, 2] if opts.quick else [2, 4, 8, 16]
    runs = 1 if opts.quick else 3
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for case, build in CASES.items():
            for scale in scales:
                path = Path(tmp) / f"{case.replace(' ', '_')}_{scale}.bin"
                build(path, scale)
                mb = path.stat().st_size / 1e6
                seconds, peak = measure(path, runs)
                rows.append([case, f"{mb:.1f}", seconds, f"{seconds / mb * 1000:.2f}", f"{peak:.1f}"])
                path.unlink()
    print(table(["case", "file MB", "scan s", "ms per MB", "scan peak MB (tracemalloc)"], rows))
    print(f"\n(median of {runs} runs; linear growth = constant ms per MB; quick={opts.quick})")


if __name__ == "__main__":
    main()
