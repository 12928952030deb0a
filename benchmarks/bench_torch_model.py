"""A torch full-model pickle (``torch.save(model)``): safeload.torch_load / torch.load(weights_only=False).

Run: ``.venv/bin/python benchmarks/bench_torch_model.py [--quick]``. The model is built from torch.nn layers
only (so it scans clean without trust), saved in a temp dir, and loaded interleaved with both loaders.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import interleaved, peak_rss_mb, table
from _others import fickling_seconds, fmt, picklescan_seconds

import safeload

os.environ.setdefault("SAFELOAD_CACHE", "0")  # measure the scan, not the scan cache (subprocesses inherit it)


def build(path: Path, quick: bool) -> None:
    import torch

    width, depth = (64, 2) if quick else (1024, 12)
    layer = torch.nn.TransformerEncoderLayer(d_model=width, nhead=8, dim_feedforward=width * 4, batch_first=True)
    model = torch.nn.Sequential(torch.nn.Embedding(1000, width), torch.nn.TransformerEncoder(layer, depth),
                                torch.nn.LayerNorm(width), torch.nn.Linear(width, 10))
    torch.save(model, path)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    opts = parser.parse_args()
    runs = 2 if opts.quick else 7
    import torch

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.pt"
        build(path, opts.quick)
        assert safeload.scan(path).is_safe()
        medians = interleaved({
            "plain": lambda: torch.load(path, weights_only=False),
            "safe": lambda: safeload.torch_load(path, weights_only=False),
            "scan": lambda: safeload.scan(path),
        }, runs)
        args = f"{str(path)!r}, weights_only=False"
        rss_plain = peak_rss_mb(f"import torch\nm = torch.load({args})")
        rss_safe = peak_rss_mb(f"import safeload\nm = safeload.torch_load({args})")
        mb = path.stat().st_size / 1e6
        row = [f"{mb:.1f}", medians["plain"], medians["safe"], f"{medians['safe'] / medians['plain']:.3f}",
               medians["scan"], f"{rss_plain:.0f} / {rss_safe:.0f}", f"{rss_safe / rss_plain:.3f}",
               fmt(picklescan_seconds(path), medians["scan"]), fmt(fickling_seconds(path), medians["scan"])]
    print(table(["MB", "torch.load s", "safe s", "ratio", "scan s", "peak RSS plain/safe MB", "RSS ratio",
                 "picklescan s", "fickling s"], [row]))
    print(f"\n(torch full-model pickle, weights_only=False; medians of {runs} interleaved runs; quick={opts.quick})")


if __name__ == "__main__":
    main()
