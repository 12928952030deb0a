"""Run every benchmark (or the named ones) and print their tables one after another.

Usage: ``.venv/bin/python -m benchmarks [--quick] [pickle torch joblib keras hook cli_dir ...]``.
Each benchmark generates its own inputs in a temporary directory, runs the plain and the safe loader
interleaved in the same process, and prints medians and ratios. ``--quick`` uses small inputs (the test suite
runs it as a smoke test; its timings mean nothing).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--quick", action="store_true", help="small inputs: a smoke test, not a measurement")
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    opts = parser.parse_args()
    available = sorted(p.stem.removeprefix("bench_") for p in HERE.glob("bench_*.py"))
    names = opts.names or available
    unknown = sorted(set(names) - set(available))
    if unknown:
        parser.error(f"unknown benchmarks {unknown}; available: {available}")
    failed = []
    for name in names:
        print(f"\n## {name}\n", flush=True)
        start = time.perf_counter()
        cmd = [sys.executable, str(HERE / f"bench_{name}.py")] + (["--quick"] if opts.quick else [])
        code = subprocess.run(cmd, cwd=HERE.parent, check=False).returncode
        print(f"\n({name}: exit {code}, {time.perf_counter() - start:.1f} s)", flush=True)
        if code:
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
