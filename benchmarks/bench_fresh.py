"""One-time costs a service pays: every measurement here runs in a new interpreter.

Run: ``.venv/bin/python benchmarks/bench_fresh.py [--quick] [--pairs N]``. Cases:

- ``torch zip, fresh process``: a ~500 MB float32 state_dict (``--quick``: 4 MB). Each pair runs one process
  with ``torch.load(path, weights_only=True)`` and one with ``import safeload; safeload.torch_load(...)``
  (``import torch`` is outside the timed part of both; ``import safeload`` is inside the safe one: a service
  pays it), alternating which goes first. Reported: median of the per-pair ratios (target <= 1.02) and the
  ratio of the best runs.
- ``first safe load, tiny pickle``: in a fresh process after ``import safeload``, the first
  ``safeload.pickle_loads`` of a 30-byte pickle minus ``pickle.loads`` of it (target <= 3 ms).
- ``first load, safe vs plain``: side by side in alternating fresh processes, what a program pays for its first
  load of a tiny pickle: ``import pickle; pickle.loads(data)`` against ``import safeload;
  safeload.pickle_loads(data)`` (both timed from before their import), CPU and wall, and the difference: the
  fixed cost safeload adds to the plain load.
- ``import safeload``: wall and CPU time of ``import safeload`` in a fresh interpreter (target <= 10 ms), and
  how many modules it adds to ``sys.modules``.

The first-load and import cases run twice: in an empty working directory, and in the repository, whose
``pyproject.toml`` names safeload as its package but has no ``[tool.safeload]`` table, so the configuration
lookup reads it without parsing it (round 6: ``tomllib`` cost a service started from its project directory
~27 ms on a quiet machine). CPU time (``time.process_time``) is the figure to compare on a loaded machine.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, table

os.environ.setdefault("SAFELOAD_CACHE", "0")  # measure the scan, not the scan cache (subprocesses inherit it)


def fresh(code: str, cwd: Path = REPO) -> dict[str, float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFELOAD_")}
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=cwd, env=env)
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


TORCH_PLAIN = """
import json, time, torch
t = time.perf_counter()
torch.load({path!r}, weights_only=True)
print(json.dumps({{"s": time.perf_counter() - t}}))
"""
TORCH_SAFE = """
import json, time, torch
t = time.perf_counter()
import safeload
safeload.torch_load({path!r}, weights_only=True)
print(json.dumps({{"s": time.perf_counter() - t}}))
"""
FIRST_LOAD = """
import json, pickle, time
import safeload
data = pickle.dumps({"a": [1, 2.5, "x"]})
c = time.process_time(); t = time.perf_counter(); safeload.pickle_loads(data)
first, first_cpu = time.perf_counter() - t, time.process_time() - c
t = time.perf_counter(); safeload.pickle_loads(data); second = time.perf_counter() - t
t = time.perf_counter(); pickle.loads(data); plain = time.perf_counter() - t
print(json.dumps({"first": first, "first_cpu": first_cpu, "second": second, "plain": plain}))
"""
# The same tiny pickle, written into the code as a literal: neither process imports pickle before the timed part.
TINY = pickle.dumps({"a": [1, 2.5, "x"]})
FIRST_PLAIN = """
import json, time
c = time.process_time(); t = time.perf_counter()
import pickle
value = pickle.loads({data!r})
wall, cpu = time.perf_counter() - t, time.process_time() - c
print(json.dumps({{"wall": wall, "cpu": cpu, "ok": value == {{"a": [1, 2.5, "x"]}}}}))
"""
FIRST_SAFE = """
import json, time
c = time.process_time(); t = time.perf_counter()
import safeload
value = safeload.pickle_loads({data!r})
wall, cpu = time.perf_counter() - t, time.process_time() - c
print(json.dumps({{"wall": wall, "cpu": cpu, "ok": value == {{"a": [1, 2.5, "x"]}}}}))
"""
IMPORT = """
import json, sys, time
before = len(sys.modules)
c = time.process_time(); t = time.perf_counter()
import safeload
wall, cpu = time.perf_counter() - t, time.process_time() - c
modules = len(sys.modules) - before
import pickle
data = pickle.dumps({"a": [1, 2.5, "x"]})
c = time.process_time()
safeload.pickle_loads(data)
print(json.dumps({"wall": wall, "cpu": cpu, "first_cpu": time.process_time() - c, "modules": modules}))
"""


def first_load_side_by_side(where: str, cwd: Path, pairs: int) -> list[object]:
    """Alternating fresh processes: the first plain load (with ``import pickle``) and the first safe load (with
    ``import safeload``); medians of CPU and wall, and the median of the per-pair CPU differences."""
    plain: list[dict[str, float]] = []
    safe: list[dict[str, float]] = []
    for i in range(pairs):
        for which in (("plain", "safe") if i % 2 == 0 else ("safe", "plain")):
            got = fresh((FIRST_PLAIN if which == "plain" else FIRST_SAFE).format(data=TINY), cwd)
            if not got["ok"]:
                raise RuntimeError(f"the {which} load returned the wrong value")
            (plain if which == "plain" else safe).append(got)
    extra = statistics.median(s["cpu"] - p["cpu"] for p, s in zip(plain, safe, strict=True))
    cpu_plain, cpu_safe = (statistics.median(r["cpu"] for r in runs) for runs in (plain, safe))
    wall_plain, wall_safe = (statistics.median(r["wall"] for r in runs) for runs in (plain, safe))
    return [f"first load of a tiny pickle, safe vs plain ({where})", wall_plain, wall_safe,
            f"CPU {cpu_plain * 1e3:.2f} / {cpu_safe * 1e3:.2f} ms (x{cpu_safe / cpu_plain:.1f}); safeload adds "
            f"{extra * 1e3:.2f} ms CPU, {(wall_safe - wall_plain) * 1e3:.2f} ms wall",
            "adds <= 3 ms"]


def make_torch_file(folder: Path, size_mb: int) -> Path:
    code = (f"import torch\ng = torch.Generator().manual_seed(0)\n"
            f"rows = max(1, {size_mb} * (1 << 20) // (4 * 100 * 1280))\n"
            f"torch.save({{f'layer{{i}}.weight': torch.randn(rows, 1280, generator=g) for i in range(100)}}, "
            f"{str(folder / 'state.pt')!r})\nprint('{{}}')")
    fresh(code)
    return folder / "state.pt"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--pairs", type=int, default=None)
    parser.add_argument("--fixed-only", action="store_true", help="only the fixed-cost cases (no torch file)")
    opts = parser.parse_args()
    pairs = opts.pairs or (2 if opts.quick else 7)
    # An installed package has its bytecode compiled (pip does it); a source checkout may not (and
    # PYTHONDONTWRITEBYTECODE stops the interpreter from writing it): compile it so imports are measured, not
    # compilation.
    import compileall

    compileall.compile_dir(str(REPO / "safeload"), quiet=1)
    rows = []
    try:
        import torch  # noqa: F401

        have_torch = True
    except ImportError:
        have_torch = False
    if have_torch and not opts.fixed_only:
        with tempfile.TemporaryDirectory() as tmp:
            path = make_torch_file(Path(tmp), 4 if opts.quick else 500)
            plain_times, safe_times, ratios = [], [], []
            for i in range(pairs):
                order = ("plain", "safe") if i % 2 == 0 else ("safe", "plain")
                got = {}
                for which in order:
                    code = (TORCH_PLAIN if which == "plain" else TORCH_SAFE).format(path=str(path))
                    got[which] = fresh(code)["s"]
                plain_times.append(got["plain"])
                safe_times.append(got["safe"])
                ratios.append(got["safe"] / got["plain"])
            mb = path.stat().st_size / 1e6
            rows.append([f"torch zip {mb:.0f} MB, fresh process", statistics.median(plain_times),
                         statistics.median(safe_times),
                         f"median of pairs {statistics.median(ratios):.3f}; "
                         f"best {min(safe_times) / min(plain_times):.3f}",
                         "<= 1.02"])
    with tempfile.TemporaryDirectory(prefix="safeload-bench-cwd-") as empty:
        for where, cwd in (("empty cwd", Path(empty)), ("repo cwd", REPO)):
            # --quick (a smoke run) starts ``pairs`` interpreters per case, not 5 or 3 more for steadier medians
            rows.append(first_load_side_by_side(where, cwd, pairs if opts.quick else pairs + 5))
            first = [fresh(FIRST_LOAD, cwd) for _ in range(pairs if opts.quick else pairs + 3)]
            fixed = statistics.median(f["first"] - f["plain"] for f in first)
            rows.append([f"first safe load, tiny pickle (fixed cost; {where})",
                         statistics.median(f["plain"] for f in first), statistics.median(f["first"] for f in first),
                         f"fixed cost {fixed * 1e3:.2f} ms wall, "
                         f"{statistics.median(f['first_cpu'] for f in first) * 1e3:.2f} ms CPU "
                         f"(second load {statistics.median(f['second'] for f in first) * 1e3:.2f} ms)",
                         "<= 3 ms"])
            imports = [fresh(IMPORT, cwd) for _ in range(pairs if opts.quick else pairs + 5)]
            rows.append([f"import safeload ({where})", "-", statistics.median(i["wall"] for i in imports),
                         f"wall {statistics.median(i['wall'] for i in imports) * 1e3:.1f} ms, "
                         f"CPU {statistics.median(i['cpu'] for i in imports) * 1e3:.1f} ms, "
                         f"{statistics.median(i['modules'] for i in imports):.0f} modules; first safe load "
                         f"CPU {statistics.median(i['first_cpu'] for i in imports) * 1e3:.1f} ms",
                         "<= 10 ms; <= 3 ms"])
    print(table(["case", "plain s", "safe s", "result", "target"], rows))
    print(f"\n(fresh interpreter per run, {pairs} alternating pairs, medians; python {sys.version.split()[0]}; "
          f"quick={opts.quick}; load average {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
