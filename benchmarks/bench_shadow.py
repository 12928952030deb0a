"""Cost of the shadow check (catalog/shadow.py, SL117) on a scan: torch and scikit-learn pickles.

Run: ``.venv/bin/python benchmarks/bench_shadow.py [--quick]``. The model files are written by a subprocess, so
this process has not imported torch/sklearn/numpy and every name's module is really located (the scan-only CLI
case; a loader that already imported the framework skips the look-up through ``sys.modules``). Columns: the scan
with the check disabled, with it cold (cache cleared before each scan) and warm (cached, directories re-stat'ed).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ["SAFELOAD_CACHE"] = "0"

from _common import interleaved, table

import safeload
from safeload.catalog import decide, shadow

_WRITE = """
import sys, pickle, torch, numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
torch.save(torch.nn.Sequential(torch.nn.Linear(8, 4), torch.nn.ReLU()).state_dict(), sys.argv[1])
X = np.random.default_rng(0).normal(size=(40, 3)); y = (X[:, 0] > 0).astype(int)
with open(sys.argv[2], "wb") as fh:
    pickle.dump(make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y), fh)
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    runs = 5 if parser.parse_args().quick else 30
    with tempfile.TemporaryDirectory() as tmp:
        files = {"torch state_dict": Path(tmp) / "m.pt", "sklearn pipeline": Path(tmp) / "m.pkl"}
        subprocess.run([sys.executable, "-c", _WRITE, *map(str, files.values())], check=True)
        checked = decide._shadowed
        rows = []
        for label, path in files.items():
            def off(p: Path = path) -> None:
                decide._shadowed = lambda *a: False
                try:
                    safeload.scan(p)
                finally:
                    decide._shadowed = checked

            def cold(p: Path = path) -> None:
                shadow.clear_cache()
                safeload.scan(p)

            def warm(p: Path = path) -> None:
                safeload.scan(p)

            assert safeload.scan(path).is_safe(), label
            times = interleaved({"off": off, "cold": cold, "warm": warm}, runs)
            rows.append((label, times["off"] * 1e3, times["cold"] * 1e3, times["warm"] * 1e3,
                         times["warm"] / times["off"]))
        assert not {"torch", "sklearn", "numpy"} & set(sys.modules), "the benchmark must not import the frameworks"
        print(table(["file", "no check ms", "cold ms", "warm ms", "warm/no check"], rows))


if __name__ == "__main__":
    main()
