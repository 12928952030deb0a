"""Pickle benchmark: safe_pickle_load / pickle.load on an opcode-dense and an array-heavy pickle.

Run: ``.venv/bin/python benchmarks/bench_pickle.py [--quick]``. Inputs are generated in a temp dir.
Prints, per case: plain load, safe load, their ratio (targets: opcode-dense <= 2.0, array-heavy <= 1.05),
safeload's scan-only time and throughput, peak memory of a plain and a safe load (fresh processes), and the
scan time of picklescan and fickling on the same file where they are installed (ratio to safeload's scan).
"""

from __future__ import annotations

import argparse
import pickle
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from _common import interleaved, peak_rss_mb, table
from _others import fickling_seconds, fmt, picklescan_seconds

import safeload


def make_inputs(folder: Path, quick: bool) -> dict[str, Path]:
    n = 20_000 if quick else 1_000_000
    dense = [{"id": i, "name": f"item{i}", "score": i * 0.5, "tags": ("a", "b")} for i in range(n)]
    arrays = {f"layer{i}": np.random.default_rng(i).standard_normal((256, 1024) if not quick else (16, 64),
                                                                      dtype=np.float32) for i in range(100)}
    paths = {"opcode-dense": folder / "dense.pkl", "array-heavy": folder / "arrays.pkl"}
    paths["opcode-dense"].write_bytes(pickle.dumps(dense, protocol=4))
    paths["array-heavy"].write_bytes(pickle.dumps(arrays, protocol=4))
    return paths


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--runs", type=int, default=None)
    opts = parser.parse_args()
    runs = opts.runs or (2 if opts.quick else 5)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for case, path in make_inputs(Path(tmp), opts.quick).items():
            def plain(p: Path = path) -> object:
                with open(p, "rb") as f:
                    return pickle.load(f)

            def safe(p: Path = path) -> object:
                with open(p, "rb") as f:
                    return safeload.pickle_load(f)

            def scan_only(p: Path = path) -> object:
                return safeload.scan(p)

            medians = interleaved({"plain": plain, "safe": safe, "scan": scan_only}, runs)
            rss_plain = peak_rss_mb(f"import pickle\nobj = pickle.load(open({str(path)!r}, 'rb'))")
            rss_safe = peak_rss_mb(f"import safeload\nobj = safeload.pickle_load(open({str(path)!r}, 'rb'))")
            mb = path.stat().st_size / 1e6
            rows.append([case, f"{mb:.1f}", medians["plain"], medians["safe"],
                         f"{medians['safe'] / medians['plain']:.2f}", medians["scan"],
                         f"{mb / medians['scan']:.0f}", f"{rss_plain:.0f} / {rss_safe:.0f}",
                         f"{rss_safe / rss_plain:.2f}",
                         fmt(picklescan_seconds(path), medians["scan"]), fmt(fickling_seconds(path), medians["scan"])])
    print(table(["case", "MB", "pickle.load s", "safe s", "ratio", "scan s", "scan MB/s", "peak RSS plain/safe MB",
                 "RSS ratio", "picklescan s", "fickling s"], rows))
    print(f"\n(medians of {runs} interleaved runs; python {sys.version.split()[0]}; quick={opts.quick})")


if __name__ == "__main__":
    main()
