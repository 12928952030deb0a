"""Source analysis cost: cold (parse and analyse) and warm (cache hit, files re-stat'ed) per class.

Run: ``.venv/bin/python benchmarks/bench_source_analysis.py [--quick]``. Cold runs clear the in-process cache
first; warm runs analyse the same name again. The tiny class is a synthetic package under a temporary
directory; the real classes are whatever of transformers/networkx/statsmodels is installed. Nothing analysed is
imported (the benchmark asserts it).
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

from _common import table

from safeload.catalog import source_analysis as sa
from safeload.catalog.source_locate import library_roots, locate_module
from safeload.catalog.uses import Use

os.environ.setdefault("SAFELOAD_CACHE", "0")  # measure the scan, not the scan cache (subprocesses inherit it)

USES = Use.IMPORT | Use.NEW | Use.BUILD | Use.CALL | Use.HASH

CASES = [
    ("transformers.training_args", "TrainingArguments"),
    ("transformers.trainer_utils", "IntervalStrategy"),
    ("networkx.classes.graph", "Graph"),
    ("statsmodels.regression.linear_model", "RegressionResults"),
    ("transformers.models.llama.modeling_llama", "LlamaForCausalLM"),  # nn.Module BUILD through the reviews
]


def _time(module: str, qualname: str, search_path: list[str] | None, runs: int) -> tuple[float, float]:
    cold, warm = [], []
    for _ in range(runs):
        sa.clear_cache()
        start = time.perf_counter()
        sa.analyse(module, qualname, USES, search_path=search_path)
        cold.append(time.perf_counter() - start)
        start = time.perf_counter()
        for _ in range(20):
            sa.analyse(module, qualname, USES, search_path=search_path)
        warm.append((time.perf_counter() - start) / 20)
    return statistics.median(cold), statistics.median(warm)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    opts = parser.parse_args()
    runs = 1 if opts.quick else 5
    library_roots()
    before = set(sys.modules)
    rows: list[list[object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp) / "site-packages"
        (site / "tiny").mkdir(parents=True)
        (site / "tiny" / "__init__.py").write_text("")
        (site / "tiny" / "m.py").write_text("class Tiny:\n    def __init__(self, a):\n        self.a = a\n")
        cold, warm = _time("tiny.m", "Tiny", [str(site), *sys.path], runs)
        rows.append(["tiny.m.Tiny (synthetic)", cold * 1000, warm * 1e6])
    for module, qualname in CASES:
        if locate_module(module).kind == "missing":
            rows.append([f"{module}.{qualname}", "not installed", "-"])
            continue
        cold, warm = _time(module, qualname, None, runs)
        rows.append([f"{module}.{qualname}", cold * 1000, warm * 1e6])
    if locate_module("transformers.trainer_utils").kind != "missing":
        # a second name from the same package: parsed files and import verdicts are shared in-process
        times = []
        for _ in range(runs):
            sa.clear_cache()
            sa.analyse("transformers.training_args", "TrainingArguments", USES)
            start = time.perf_counter()
            sa.analyse("transformers.trainer_utils", "SchedulerType", USES)
            times.append(time.perf_counter() - start)
        rows.append(["  SchedulerType right after TrainingArguments", statistics.median(times) * 1000, "-"])
    leaked = {m.split(".")[0] for m in set(sys.modules) - before} & {"tiny", "transformers", "networkx",
                                                                     "statsmodels"}
    if leaked:
        print(f"analysed code was imported: {leaked}", file=sys.stderr)
        return 1
    print(table(["class (uses: IMPORT NEW BUILD CALL HASH)", "cold ms", "warm us"], rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
