"""safetensors validation: ``safeload.scan`` of a ~500 MB file against the crate's own header read.

Run: ``.venv/bin/python benchmarks/bench_safetensors.py [--quick] [--runs N]``. Builds two files with
``safetensors.numpy.save_file`` (~500 MB each: 290 tensors like a 7-layer transformer shard, and 6,000 small
tensors, the header-heavy case) and times, interleaved, medians:

- ``safe_open`` + ``keys()`` (the crate maps the file and parses and validates the header) against
  ``safeload.scan`` (opens, maps, sniffs and validates the header the same way, never reading the data);
- ``safetensors.numpy.load_file`` (reads every tensor) against ``safeload.scan`` followed by it: the overhead a
  guarded load of the file pays (target: <= 1.03x).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from _common import interleaved, table  # noqa: E402

os.environ.setdefault("SAFELOAD_CACHE", "0")  # measure the scan, not the scan cache

import numpy as np  # noqa: E402
from safetensors import safe_open  # noqa: E402
from safetensors.numpy import load_file, save_file  # noqa: E402

import safeload  # noqa: E402


def build(folder: Path, total_mb: int) -> dict[str, Path]:
    rng = np.random.default_rng(0)
    files: dict[str, Path] = {}
    layers = {}
    per_layer = max(1, total_mb // 7)
    for layer in range(7):
        for i in range(40):
            shape = (max(1, per_layer * 1024 * 1024 // (4 * 40 * 512)), 512)
            layers[f"model.layers.{layer}.block{i}.weight"] = rng.standard_normal(shape, dtype=np.float32)
    layers["lm_head.weight"] = np.zeros((64, 512), np.float16)
    files["290 tensors"] = folder / "shard.safetensors"
    save_file(layers, str(files["290 tensors"]), metadata={"format": "pt"})
    small = {f"t{i}": rng.standard_normal((max(1, total_mb * 1024 * 1024 // (4 * 6000 * 64)), 64), dtype=np.float32)
             for i in range(6000)}
    files["6,000 tensors"] = folder / "many.safetensors"
    save_file(small, str(files["6,000 tensors"]))
    return files


def header_read(path: Path) -> None:
    with safe_open(str(path), framework="numpy") as handle:
        list(handle.keys())


def scan(path: Path) -> None:
    result = safeload.scan(path)
    assert result.is_safe(), result.findings


def guarded_load(path: Path) -> object:
    scan(path)
    return load_file(str(path))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--runs", type=int, default=7)
    opts = parser.parse_args()
    total_mb = 8 if opts.quick else 500
    runs = 3 if opts.quick else opts.runs
    rows: list[list[object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        files = build(Path(tmp), total_mb)
        for label, path in files.items():
            size_mb = path.stat().st_size / 1e6
            t = interleaved({"crate": lambda p=path: header_read(p), "scan": lambda p=path: scan(p)}, runs * 3)
            rows.append([f"{label}, {size_mb:.0f} MB: header", f"safe_open+keys {t['crate'] * 1e3:.2f} ms",
                         f"safeload.scan {t['scan'] * 1e3:.2f} ms", f"{t['scan'] / t['crate']:.2f}x"])
            t = interleaved({"load": lambda p=path: load_file(str(p)),
                             "safe": lambda p=path: guarded_load(p)}, runs)
            rows.append([f"{label}, {size_mb:.0f} MB: load", f"load_file {t['load'] * 1e3:.0f} ms",
                         f"scan + load_file {t['safe'] * 1e3:.0f} ms", f"{t['safe'] / t['load']:.3f}x"])
    print(table(["case", "plain", "safe", "safe/plain"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
