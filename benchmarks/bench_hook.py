"""The import hook's overhead: a hooked ``torch.load`` vs the plain one vs ``safeload.torch_load``, and the
time of ``import torch`` with and without the hook installed.

Run: ``.venv/bin/python benchmarks/bench_hook.py`` (a ~500 MB float32 state_dict in the zip format, written to
a temp dir and deleted afterwards) or ``--quick`` for a small smoke run. Load times are medians of ``--runs``
rounds in one process, in a random order each round (target: hooked / plain <= 1.03; hooked /
safeload.torch_load ~ 1.00: the wrapper adds one function call, also measured per call on a tiny file).
``import torch`` times are medians of ``--imports`` fresh interpreters each, interleaved (the hook patches
torch.load and torch.serialization.load as torch is imported).
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._common import table  # noqa: E402

os.environ.setdefault("SAFELOAD_CACHE", "0")  # measure the scan, not the scan cache (subprocesses inherit it)

IMPORT_PLAIN = "import time; t = time.perf_counter(); import torch; print(time.perf_counter() - t)"
IMPORT_HOOKED = ("import safeload; safeload.install(); import time; t = time.perf_counter(); import torch; "
                 "print(time.perf_counter() - t)")
STARTUP_AUTO = "import time; t = time.perf_counter(); import safeload.auto; print(time.perf_counter() - t)"


def import_times(count: int) -> dict[str, float]:
    """Median seconds of ``import torch`` in fresh interpreters, plain and hooked (interleaved)."""
    samples: dict[str, list[float]] = {"plain": [], "hooked": [], "auto": []}
    env_path = str(ROOT)
    for _ in range(count):
        for name, code in (("plain", IMPORT_PLAIN), ("hooked", IMPORT_HOOKED), ("auto", STARTUP_AUTO)):
            out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                                 cwd=ROOT, env={"PYTHONPATH": env_path, "PATH": "/usr/bin:/bin"})
            samples[name].append(float(out.stdout.strip().splitlines()[-1]))
    return {name: statistics.median(values) for name, values in samples.items()}


def shuffled(funcs: dict[str, Callable[[], object]], runs: int) -> dict[str, float]:
    """Median seconds of each function over ``runs`` rounds, in a new random order every round (the machine's
    page cache and allocator state then favour no variant)."""
    times: dict[str, list[float]] = {name: [] for name in funcs}
    rng = random.Random(0)
    for _ in range(runs):
        order = list(funcs)
        rng.shuffle(order)
        for name in order:
            gc.collect()
            start = time.perf_counter()
            funcs[name]()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def per_call_us(func: Callable[[], object], calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        func()
    return (time.perf_counter() - start) / calls * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small file, few runs: a smoke test")
    parser.add_argument("--size-mb", type=int, default=None, help="state_dict size (default 500, quick 2)")
    parser.add_argument("--runs", type=int, default=None, help="load runs per variant (default 11, quick 3)")
    parser.add_argument("--imports", type=int, default=None,
                        help="fresh interpreters per variant (default 7, quick 1)")
    opts = parser.parse_args()
    size = opts.size_mb or (2 if opts.quick else 500)
    runs = opts.runs or (3 if opts.quick else 11)
    imports = opts.imports or (1 if opts.quick else 7)

    times = import_times(imports)
    print(table(["import torch (fresh interpreter)", "median s"],
                [["plain", times["plain"]], ["with safeload.install() first", times["hooked"]],
                 ["hooked / plain", times["hooked"] / times["plain"]],
                 ["import safeload.auto itself", times["auto"]]]))
    print()

    import torch

    import safeload

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "state.pt"
        tensors = 100
        cols = 1280
        rows = max(1, size * (1 << 20) // (4 * tensors * cols))
        generator = torch.Generator().manual_seed(0)
        torch.save({f"layer{i}.weight": torch.randn(rows, cols, generator=generator) for i in range(tensors)}, path)
        actual_mb = path.stat().st_size / (1 << 20)
        plain = torch.load
        safeload.install()
        hooked = torch.load
        assert getattr(hooked, "_safeload_wrapper", False), "the hook did not patch torch.load"

        def run(fn: object) -> object:
            result = fn(path, map_location="cpu")  # type: ignore[operator]
            del result
            gc.collect()
            return None

        for fn in (plain, hooked, safeload.torch_load):  # warm the page cache and the lazy imports
            run(fn)
        medians = shuffled({"plain": lambda: run(plain), "hooked": lambda: run(hooked),
                            "safe": lambda: run(safeload.torch_load)}, runs)
        tiny = Path(tmp) / "tiny.pt"
        torch.save({"w": torch.ones(4)}, tiny)
        blocks = 2 if opts.quick else 30  # the smoke run still alternates which variant goes first
        samples: dict[str, list[float]] = {"hooked": [], "safe": []}
        variants = [("hooked", hooked), ("safe", safeload.torch_load)]
        for block in range(blocks):  # alternate which goes first; keep the best block of each
            for name, f in variants if block % 2 else variants[::-1]:
                samples[name].append(per_call_us(lambda f=f: f(tiny), 50))  # type: ignore[misc]
        micro = {name: min(values) for name, values in samples.items()}
        safeload.uninstall()
    print(table([f"torch zip state_dict, {actual_mb:.0f} MB, {runs} runs", "median s", "ratio to plain"],
                [["torch.load (plain)", medians["plain"], 1.0],
                 ["torch.load (hooked)", medians["hooked"], medians["hooked"] / medians["plain"]],
                 ["safeload.torch_load", medians["safe"], medians["safe"] / medians["plain"]],
                 ["hooked / safeload.torch_load", "", medians["hooked"] / medians["safe"]]]))
    print()
    print(table(["tiny file, per call (best block of 50)", "microseconds"],
                [["torch.load (hooked)", micro["hooked"]], ["safeload.torch_load", micro["safe"]],
                 ["wrapper cost", micro["hooked"] - micro["safe"]]]))
    if opts.quick:
        print("\n(--quick: a smoke run; the numbers mean nothing)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
