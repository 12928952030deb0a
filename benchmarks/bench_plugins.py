"""Cost of the import-time plugin check (SL119, ``catalog/plugins.py``) in fresh interpreters, as a service pays
it once: reading the installed entry points (every ``entry_points.txt`` on ``sys.path``), the check for a module
that reaches no owner (numpy: free), and the first load of a pickle naming torch, safe beside plain, alternating.

    python -m benchmarks.bench_plugins [--pairs N]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path as _Path

sys.path.insert(0, str(_Path(__file__).resolve().parents[1]))  # run as a script by `python -m benchmarks`

from benchmarks._common import REPO, table

_READ = """
import json, time, sys, os
import safeload.catalog.plugins as p
t0 = time.perf_counter()
found = p.declared('torch.backends')
t1 = time.perf_counter()
p.plugins_reached('numpy.core.multiarray')
t2 = time.perf_counter()
p.declared('torch.backends')
t3 = time.perf_counter()
def has_entry_points(entry, name):
    return (name.endswith(('.dist-info', '.egg-info'))
            and os.path.exists(os.path.join(entry, name, 'entry_points.txt')))
entries = [e or '.' for e in sys.path if os.path.isdir(e or '.')]
files = sum(1 for e in entries for n in os.listdir(e) if has_entry_points(e, n))
print(json.dumps([(t1 - t0) * 1e3, (t2 - t1) * 1e3, (t3 - t2) * 1e3, files, len(found)]))
"""

_FIRST_LOAD = """
import json, time
t0 = time.perf_counter(); c0 = time.process_time()
import {module}
{module}.{call}({data!r})
t1 = time.perf_counter(); c1 = time.process_time()
print(json.dumps([(t1 - t0) * 1e3, (c1 - c0) * 1e3]))
"""


def _run(code: str) -> list[float]:
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    parsed: list[float] = json.loads(out.stdout.strip().splitlines()[-1])
    return parsed


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="one pair (the smoke test)")
    args = parser.parse_args()
    if args.quick:
        args.pairs = 1
    reads = [_run(_READ) for _ in range(args.pairs + 1)][1:]  # the first run compiles bytecode
    print(table(("entry_points.txt files", "declared here", "first read ms", "numpy module check ms",
                 "cached read ms"),
                [(int(reads[0][3]), int(reads[0][4]), round(_median([r[0] for r in reads]), 2),
                  round(_median([r[1] for r in reads]), 3), round(_median([r[2] for r in reads]), 3))]))
    data = b"\x80\x02ctorch\nfloat32\n."
    safe: list[list[float]] = []
    plain: list[list[float]] = []
    for _ in range(args.pairs):  # alternating: a load-average drift hits both sides alike
        plain.append(_run(_FIRST_LOAD.format(module="pickle", call="loads", data=data)))
        safe.append(_run(_FIRST_LOAD.format(module="safeload", call="pickle_loads", data=data)))
    rows = []
    for index, what in ((0, "wall ms"), (1, "CPU ms")):
        s, p = _median([r[index] for r in safe]), _median([r[index] for r in plain])
        rows.append((f"first load of torch.float32, {what}", round(p, 1), round(s, 1), round(s / p, 3)))
    print(table(("fresh process", "pickle.loads", "safeload.pickle_loads", "safe/plain"), rows))


if __name__ == "__main__":
    main()
