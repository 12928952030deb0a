"""Keras / TensorFlow benchmark: safeload.keras_load / keras.saving.load_model on a ~100 MB model (.keras and
.h5), and safeload.tf_saved_model_load / tf.saved_model.load on the same model exported as a SavedModel.

Run: ``.venv/bin/python benchmarks/bench_keras.py [--quick] [--runs N]``. The model (one 5000x5000 Dense layer,
~100 MB of float32 weights) is built and saved in a temporary directory that is deleted afterwards. Prints, per
format: plain and safe load (interleaved, median of ``--runs``, default 5), their ratio (target <= 1.05), and
safeload's scan-only time alone and as a share of the plain load (the stable measure of the overhead).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras
import numpy as np
import tensorflow as tf
from _common import interleaved, table

import safeload

os.environ.setdefault("SAFELOAD_CACHE", "0")  # measure the scan, not the scan cache (subprocesses inherit it)


def build(width: int) -> keras.Model:
    model = keras.Sequential([keras.Input((width,)), keras.layers.Dense(width, activation="relu"),
                              keras.layers.Dense(10)])
    model.compile(optimizer="sgd", loss=keras.losses.MeanSquaredError())
    return model


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--runs", type=int, default=5)
    opts = parser.parse_args()
    width = 256 if opts.quick else 5000
    runs = max(opts.runs, 1 if opts.quick else 3)
    x = np.ones((2, width), dtype=np.float32)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-keras-") as tmp:
        root = Path(tmp)
        model = build(width)
        model(x)
        paths = {"keras": root / "m.keras", "h5": root / "m.h5", "savedmodel": root / "sm"}
        model.save(paths["keras"])
        model.save(paths["h5"])
        model.export(str(paths["savedmodel"]), verbose=False)
        expected = np.asarray(model(x))
        for fmt, path in paths.items():
            if fmt == "savedmodel":
                plain = lambda p=path: tf.saved_model.load(str(p))  # noqa: E731
                safe = lambda p=path: safeload.tf_saved_model_load(p)  # noqa: E731
                check = safe()
                np.testing.assert_allclose(np.asarray(check.serve(x)), expected, rtol=1e-5)
                size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
            else:
                plain = lambda p=path: keras.saving.load_model(p)  # noqa: E731
                safe = lambda p=path: safeload.keras_load(p)  # noqa: E731
                np.testing.assert_allclose(np.asarray(safe()(x)), expected, rtol=1e-5)
                size = path.stat().st_size
            plain()  # warm caches (file pages, TF kernels) for both sides
            medians = interleaved({"plain": plain, "safe": safe}, runs)
            scans = []
            for _ in range(runs):
                start = time.perf_counter()
                result = safeload.scan(path)
                scans.append(time.perf_counter() - start)
                assert result.is_safe(), result.findings
            scans.sort()
            scan = scans[len(scans) // 2]
            rows.append((fmt, f"{size / 1e6:.1f}", medians["plain"], medians["safe"],
                         medians["safe"] / medians["plain"], scan, f"{100 * scan / medians['plain']:.1f}%"))
            tf.keras.backend.clear_session()
    print(table(("format", "MB", "plain s", "safe s", "ratio (<=1.05)", "scan s", "scan/plain"), rows))
    print("\nThe safe loader adds the scan (last columns) and a symlink; the rest of the ratio is run-to-run noise.")
    print(f"\nruns={runs} (median), keras {keras.__version__}, tensorflow {tf.__version__}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
