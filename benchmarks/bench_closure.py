"""Cost of the reviewed import closure table (``generated/closure.py``) at scan time, in fresh interpreters:
its size, its first import (paid once, with the source analysis), one lookup, and a cold scan of a pickle whose
vouched module is covered (pandas frame) beside one whose closure leaves (pandas plotting -> matplotlib, followed
and analysed), against ``pickle.loads`` of the covered one.

    python -m benchmarks.bench_closure
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path as _Path

sys.path.insert(0, str(_Path(__file__).resolve().parents[1]))  # run as a script by `python -m benchmarks`

from benchmarks._common import REPO, table

_TABLE = """
import json, time, importlib
import safeload.catalog.generated, safeload.catalog.source_locate  # paid anyway by the source analysis
t0 = time.perf_counter()
m = importlib.import_module('safeload.catalog.generated.closure')
t1 = time.perf_counter()
from safeload.catalog.closure import closure_covered
t2 = time.perf_counter()
closure_covered('pandas.core.frame')
t3 = time.perf_counter()
closure_covered('pandas.plotting._matplotlib.boxplot')
t4 = time.perf_counter()
print(json.dumps([len(m.LEAVES), len(m.OUTSIDE), (t1 - t0) * 1e3, (t3 - t2) * 1e3, (t4 - t3) * 1e3]))
"""

_SCAN = """
import json, time, pickle, copyreg
import safeload
safeload.scan(pickle.dumps({{'warm': 1}}))
data = {data!r}
t0 = time.perf_counter()
result = safeload.scan(data)
t1 = time.perf_counter()
print(json.dumps([(t1 - t0) * 1e3, result.is_safe()]))
"""

_PLAIN = """
import json, time, pickle
data = {data!r}
t0 = time.perf_counter()
pickle.loads(data)
t1 = time.perf_counter()
print(json.dumps([(t1 - t0) * 1e3, True]))
"""


def _run(code: str) -> list[float]:
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    parsed: list[float] = json.loads(out.stdout.strip().splitlines()[-1])
    return parsed


def _median(runs: list[list[float]], index: int) -> float:
    values = sorted(r[index] for r in runs)
    return values[len(values) // 2]


def main() -> None:
    size = (REPO / "safeload/catalog/generated/closure.py").stat().st_size
    runs = [_run(_TABLE) for _ in range(5)][1:]  # the first compiles the .pyc
    print(table(("leaving modules", "outside names", "file KiB", "import ms", "lookup ms (covered)",
                 "lookup ms (leaves)"),
                [(int(runs[0][0]), int(runs[0][1]), round(size / 1024, 1), _median(runs, 2), _median(runs, 3),
                  _median(runs, 4))]))
    frame = ("\x80\x02cpandas.core.frame\nDataFrame\nq\x00.").encode("latin-1")
    plotting = ("\x80\x02ccopyreg\n_reconstructor\n(cpandas.plotting._matplotlib.boxplot\nBoxPlot\ncbuiltins\n"
                "object\nNtR.").encode("latin-1")
    rows = []
    for label, data in (("pandas.core.frame.DataFrame (covered)", frame),
                        ("pandas.plotting._matplotlib (leaves)", plotting)):
        safe = [_run(_SCAN.format(data=data)) for _ in range(3)]
        plain = [_run(_PLAIN.format(data=frame)) for _ in range(3)] if label.endswith("(covered)") else None
        rows.append((label, _median(safe, 0), _median(plain, 0) if plain else "-", bool(safe[0][1])))
    print(table(("cold scan, fresh process", "safeload.scan ms", "pickle.loads ms", "is_safe"), rows))


if __name__ == "__main__":
    main()
