"""Cost of the generated catalogue shards at scan time: first import of each shard in a fresh interpreter
(what a scan pays the first time it meets a name of that package), and one lookup after it.

    python -m benchmarks.bench_catalog_shards [--quick]

``--quick`` (the test suite's smoke run) starts two interpreters per shard instead of five: the first compiles,
the second is the one reported.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path as _Path

sys.path.insert(0, str(_Path(__file__).resolve().parents[1]))  # run as a script by `python -m benchmarks`

from benchmarks._common import REPO, table

_CODE = """
import json, time, importlib
import safeload.catalog.generated, safeload.catalog.entries  # the package and lookup code, paid once anyway
t0 = time.perf_counter()
m = importlib.import_module('safeload.catalog.generated.{shard}')
t1 = time.perf_counter()
n = len(getattr(m, 'ENTRIES', {{}})) + len(getattr(m, 'DENY_ENTRIES', {{}})) + len(getattr(m, 'ALIASES', {{}}))
t2 = time.perf_counter()
safeload.catalog.entries.lookup('{probe}')
t3 = time.perf_counter()
print(json.dumps([n, (t1 - t0) * 1e3, (t3 - t2) * 1e3]))
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="two interpreters per shard: a smoke test")
    opts = parser.parse_args()
    shards = sorted(p.stem for p in (REPO / "safeload/catalog/generated").glob("*.py") if p.stem != "__init__")
    rows = []
    for shard in shards:
        probe = shard.removeprefix("deny_").replace("stdlib", "collections") + ".X"
        runs = []
        for _ in range(2 if opts.quick else 5):  # the first compiles the .pyc; the rest are what an install pays
            out = subprocess.run([sys.executable, "-c", _CODE.format(shard=shard, probe=probe)], cwd=REPO,
                                 capture_output=True, text=True, check=True)
            runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
        warm = sorted(runs[1:], key=lambda r: r[1])[len(runs[1:]) // 2]
        rows.append((shard, warm[0], warm[1], warm[2]))
    print(table(("shard", "entries", "import ms (median, .pyc cached)", "first lookup ms"), rows))


if __name__ == "__main__":
    main()
