"""The benchmark suite runs end to end in --quick mode (a smoke test: no timing is asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCHES = sorted(p.stem.removeprefix("bench_") for p in (ROOT / "benchmarks").glob("bench_*.py"))


@pytest.mark.slow
@pytest.mark.parametrize("name", BENCHES)
def test_benchmark_runs_in_quick_mode(name: str) -> None:
    out = subprocess.run([sys.executable, "-m", "benchmarks", "--quick", name], cwd=ROOT, capture_output=True,
                         text=True, timeout=600, check=False)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert f"({name}: exit 0" in out.stdout
    body = [line for line in out.stdout.splitlines() if line.strip() and not line.startswith(("##", "("))]
    assert len(body) >= 3, out.stdout  # a header and at least two rows of results
