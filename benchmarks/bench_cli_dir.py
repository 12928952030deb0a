"""Directory scan, end to end: ``safeload scan DIR`` against ``picklescan -p DIR`` (and ``modelscan -p DIR``).

Builds a directory of ~200 mixed model files (plain pickles of several sizes, joblib dumps, .npy arrays,
small torch checkpoints when torch is importable, a few malicious pickles) under ``benchmarks/_data/``, then
times each command as a fresh process (interpreter start-up and imports included: this is what CI pays),
and prints a side-by-side table of median wall times.

    .venv/bin/python benchmarks/bench_cli_dir.py            # 200 files, 5 runs each
    .venv/bin/python benchmarks/bench_cli_dir.py --quick    # 40 files, 1 run each, no modelscan (smoke test)

``safeload scan`` runs with ``--no-cache``; ``safeload scan, warm cache`` re-scans the unchanged directory with a
scan cache filled by one earlier run (issue 17: a hit hashes the file and reads one cached result).

picklescan and modelscan are optional (``pip install picklescan modelscan``); a missing one is reported.
modelscan imports TensorFlow at start-up (~10-20 s), so ``--quick`` leaves it out.
"""

from __future__ import annotations

import argparse
import os
import pickle
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DATA = HERE / "_data" / "cli_dir"


class _Payload:
    def __reduce__(self) -> tuple[object, ...]:
        return (os.system, ("true",))


def build(root: Path, count: int) -> dict[str, int]:
    """Write ``count`` files to ``root`` (replacing it); returns how many of each kind."""
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    kinds: dict[str, int] = {}
    try:
        import numpy as np
    except ImportError:
        np = None
    try:
        import joblib
    except ImportError:
        joblib = None
    try:
        import torch
    except ImportError:
        torch = None
    makers = ["pickle", "pickle-big", "joblib", "npy", "torch", "evil"]
    for i in range(count):
        kind = makers[i % len(makers)]
        if kind == "evil" and i % 24 != 5:
            kind = "pickle"
        if kind in {"joblib", "npy"} and np is None:
            kind = "pickle"
        if kind == "joblib" and joblib is None:
            kind = "pickle"
        if kind == "torch" and torch is None:
            kind = "pickle-big"
        sub = root / f"group{i % 8}"
        sub.mkdir(exist_ok=True)
        if kind == "pickle":
            (sub / f"m{i}.pkl").write_bytes(pickle.dumps({"layer": list(range(200)), "name": f"m{i}", "lr": 0.1}))
        elif kind == "pickle-big":
            data = {f"w{j}": [float(k) for k in range(500)] for j in range(40)}
            (sub / f"big{i}.pkl").write_bytes(pickle.dumps(data, protocol=4))
        elif kind == "joblib":
            assert joblib is not None
            assert np is not None
            joblib.dump({"coef": np.arange(20_000, dtype=np.float64), "classes": ["a", "b"]}, sub / f"est{i}.joblib")
        elif kind == "npy":
            assert np is not None
            np.save(sub / f"arr{i}.npy", np.arange(50_000, dtype=np.float32))
        elif kind == "torch":
            assert torch is not None
            state = {f"layer{j}.weight": torch.zeros(64, 64) for j in range(4)}
            torch.save(state, sub / f"ckpt{i}.pt")
        else:
            (sub / f"evil{i}.pkl").write_bytes(pickle.dumps(_Payload()))
        kinds[kind] = kinds.get(kind, 0) + 1
    return kinds


def _tool(name: str) -> str | None:
    local = Path(sys.executable).parent / name
    if local.exists():
        return str(local)
    return shutil.which(name)


def time_commands(commands: dict[str, list[str]], runs: int, env: dict[str, str]) -> dict[str, tuple[float, int]]:
    """Median wall time of ``runs`` fresh processes per command, interleaved (a, b, c, a, b, c, ...) so that a
    change in machine load hits every tool alike; with the last exit code of each."""
    times: dict[str, list[float]] = {label: [] for label in commands}
    codes: dict[str, int] = {}
    for _ in range(runs):
        for label, argv in commands.items():
            start = time.perf_counter()
            proc = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=False)
            times[label].append(time.perf_counter() - start)
            codes[label] = proc.returncode
    return {label: (statistics.median(values), codes[label]) for label, values in times.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="40 files, 1 run per tool, no modelscan")
    parser.add_argument("--files", type=int, default=None, help="number of files (default 200, 40 with --quick)")
    parser.add_argument("--runs", type=int, default=None, help="runs per tool (default 5, 1 with --quick)")
    args = parser.parse_args()
    count = args.files or (40 if args.quick else 200)
    runs = args.runs or (1 if args.quick else 5)
    jobs = max(2, min(4, os.cpu_count() or 1))

    kinds = build(DATA, count)
    size = sum(p.stat().st_size for p in DATA.rglob("*") if p.is_file())
    print(f"directory: {DATA} ({count} files, {size / 1e6:.1f} MB): "
          + ", ".join(f"{k}={v}" for k, v in sorted(kinds.items())))

    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    env.pop("CI", None)
    # A private scan cache for this run, warmed once: "warm cache" is a re-scan of the unchanged directory
    # (every hit still hashes each file's bytes); the other safeload rows scan everything (--no-cache).
    cache = tempfile.mkdtemp(prefix="safeload-bench-cache-")
    env["SAFELOAD_CACHE_DIR"] = cache
    safeload = [sys.executable, "-m", "safeload", "scan", "--no-progress", "-q", "--format", "json",
                "-o", os.devnull, str(DATA)]
    subprocess.run(safeload, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=False)
    cases: list[tuple[str, list[str] | None]] = [
        ("safeload scan", [*safeload, "--no-cache"]),
        ("safeload scan, warm cache", safeload),
        (f"safeload scan --jobs {jobs}", [*safeload, "--jobs", str(jobs), "--no-cache"]),
    ]
    picklescan = _tool("picklescan")
    cases.append(("picklescan -p", [picklescan, "-p", str(DATA)] if picklescan else None))
    modelscan = None if args.quick else _tool("modelscan")
    cases.append(("modelscan -p", [modelscan, "-p", str(DATA)] if modelscan else None))

    measured = time_commands({label: argv for label, argv in cases if argv is not None}, runs, env)
    baseline = measured["safeload scan"][0]
    rows: list[tuple[str, str, str, str]] = []
    for label, argv in cases:
        if argv is None:
            rows.append((label, "skipped (--quick)" if args.quick and "modelscan" in label else "not installed",
                         "", ""))
            continue
        median, code = measured[label]
        rows.append((label, f"{median:.3f}", f"{median / baseline:.2f}x", str(code)))
    print(f"\nmedian wall time of {runs} runs (fresh process each, imports included)\n")
    print(f"{'tool':<26} {'seconds':>13} {'vs safeload':>12} {'exit':>5}")
    for label, seconds, ratio, code in rows:
        print(f"{label:<26} {seconds:>13} {ratio:>12} {code:>5}")
    shutil.rmtree(cache, ignore_errors=True)
    print(f"\n(load average {os.getloadavg()[0]:.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
