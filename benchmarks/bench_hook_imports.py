"""The import hook's cost on importing the libraries a service loads models with: pandas, mlflow, transformers.

Run: ``.venv/bin/python benchmarks/bench_hook_imports.py [--runs N] [--quick]``.

Each variant is a fresh interpreter (nothing cached in-process), the variants interleaved (plain, hooked,
plain, hooked, ...), medians of ``--runs`` interpreters each:

- ``import X``: the time of ``import X`` alone, plain, and with the hook installed first (``import
  safeload.auto``), which patches X's guarded functions as their modules are imported;
- ``total``: ``import safeload.auto`` plus ``import X`` against ``import X``: everything the hook adds to a
  service's start-up, including importing safeload and wrapt.

Goal: no measurable cost on ``import X`` (the difference within the run-to-run noise).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys

from _common import REPO, table

os.environ.setdefault("SAFELOAD_CACHE", "0")  # measure the scan, not the scan cache (subprocesses inherit it)

TIMED = ("import time; t0 = time.perf_counter(); {pre}t1 = time.perf_counter(); import {module}; "
         "t2 = time.perf_counter(); print(t2 - t1, t2 - t0)")
HOOK = "import safeload.auto; "


def _env(hooked: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFELOAD_")}
    env["PYTHONPATH"] = str(REPO)
    env["SAFELOAD_HOOK"] = "1" if hooked else "0"
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    return env


def _once(module: str, hooked: bool) -> tuple[float, float]:
    code = TIMED.format(pre=HOOK if hooked else "", module=module)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO,
                         env=_env(hooked))
    import_s, total_s = out.stdout.split()[-2:]
    return float(import_s), float(total_s)


def measure(module: str, runs: int) -> dict[str, float]:
    _once(module, False)  # warm the page cache once: the first import of a big package reads its files from disk
    samples: dict[str, list[float]] = {"plain": [], "hooked": [], "plain_total": [], "hooked_total": []}
    for _ in range(runs):
        for hooked in (False, True):
            import_s, total_s = _once(module, hooked)
            key = "hooked" if hooked else "plain"
            samples[key].append(import_s)
            samples[f"{key}_total"].append(total_s)
    return {k: statistics.median(v) for k, v in samples.items()}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=None, help="fresh interpreters per variant (default 11)")
    parser.add_argument("--quick", action="store_true", help="3 runs, pandas only: a smoke test")
    opts = parser.parse_args()
    runs = opts.runs or (3 if opts.quick else 11)
    modules = ["pandas"] if opts.quick else ["pandas", "mlflow", "transformers"]
    rows = []
    for module in modules:
        m = measure(module, runs)
        rows.append([f"import {module}", m["plain"] * 1e3, m["hooked"] * 1e3, m["hooked"] / m["plain"],
                     m["plain_total"] * 1e3, m["hooked_total"] * 1e3, m["hooked_total"] / m["plain_total"]])
    print(table(["module", "plain ms", "hooked ms", "ratio", "plain total ms", "hooked total ms", "total ratio"],
                rows))
    print(f"\nmedians of {runs} fresh interpreters per variant, interleaved; 'total' includes "
          "`import safeload.auto` (safeload and wrapt) in the hooked variant")
    return 0


if __name__ == "__main__":
    sys.exit(main())
