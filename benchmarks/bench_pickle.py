"""Pickle benchmark: the safe loaders against the plain ones on opcode-dense and array-heavy files.

Run: ``.venv/bin/python benchmarks/bench_pickle.py [--quick] [--runs N]``. Inputs are generated in a temp dir.
Cases (targets from issue 15 / BRIEF.md):

- ``opcode-dense``: a list of 1 M small dicts, ``pickle.dump`` (``pickle.load`` vs ``safeload.pickle_load``; <= 1.5);
- ``dataframe``: a pandas DataFrame with a 500 k-string object column, ``DataFrame.to_pickle``
  (``pd.read_pickle`` vs ``safeload.pickle_load``; <= 1.5). The column is made ``dtype=object`` explicitly:
  pandas 3 with pyarrow installed stores str columns as Arrow arrays, which is the ``dataframe-arrow`` case;
- ``tfidf``: a fitted scikit-learn ``TfidfVectorizer`` with a ~287 k-term vocabulary, ``joblib.dump``
  (``joblib.load`` vs ``safeload.joblib_load``; <= 1.3);
- ``array-heavy``: 100 x 1 MB float32 arrays (<= 1.05).

Per case: plain and safe load (medians of interleaved runs in this process: plain, safe, plain, safe, ...),
their ratio in wall and in CPU time, the scan alone with the native engine and with the pure-Python one
(``SAFELOAD_ENGINE``), the native scan's throughput in opcodes/s, peak RSS of a plain and a safe load in fresh
processes (target <= 1.15 on the dense list), and picklescan's scan time where it is installed. The scan cache is off
(``SAFELOAD_CACHE=0``): it would serve every safe load after the first from the cache.
"""

from __future__ import annotations

import argparse
import os
import pickle
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from _common import interleaved, peak_rss_mb, table

os.environ.setdefault("SAFELOAD_CACHE", "0")  # measure the scan, not the scan cache (subprocesses inherit it)
from _others import fmt, picklescan_seconds

import safeload


def make_inputs(folder: Path, quick: bool) -> dict[str, tuple[Path, str, str]]:
    """case -> (file, plain loader code, safe loader code); loader code is ``f(path)`` for the subprocesses."""
    n = 20_000 if quick else 1_000_000
    out: dict[str, tuple[Path, str, str]] = {}
    dense = [{"id": i, "name": f"item{i}", "score": i * 0.5, "tags": ("a", "b")} for i in range(n)]
    path = folder / "dense.pkl"
    path.write_bytes(pickle.dumps(dense, protocol=4))
    del dense
    out["opcode-dense"] = (path, "import pickle\nf = lambda p: pickle.load(open(p, 'rb'))",
                           "import safeload\nf = lambda p: safeload.pickle_load(open(p, 'rb'))")
    try:
        import pandas as pd

        rows = 10_000 if quick else 500_000
        names = [f"customer-{i:07d}" for i in range(rows)]
        frame = pd.DataFrame({"name": pd.Series(names, dtype=object), "value": np.arange(rows, dtype=np.float64)})
        path = folder / "frame.pkl"
        frame.to_pickle(path)
        out["dataframe"] = (path, "import pandas as pd\nf = pd.read_pickle",
                            "import safeload\nf = lambda p: safeload.pickle_load(open(p, 'rb'))")
        frame = pd.DataFrame({"name": names, "value": np.arange(rows, dtype=np.float64)})
        if frame["name"].dtype != object:  # pandas 3 with pyarrow: an Arrow string column
            path = folder / "frame_arrow.pkl"
            frame.to_pickle(path)
            out["dataframe-arrow"] = (path, "import pandas as pd\nf = pd.read_pickle",
                                      "import safeload\nf = lambda p: safeload.pickle_load(open(p, 'rb'))")
        del frame, names
    except ImportError:
        pass
    try:
        import joblib
        from sklearn.feature_extraction.text import TfidfVectorizer

        terms = 5_000 if quick else 287_000
        rng = np.random.default_rng(0)
        words = [f"w{i:06d}x" for i in range(terms)]
        order = rng.permutation(terms)
        docs = [" ".join(words[j] for j in order[k:k + 20]) for k in range(0, terms, 20)]
        vectorizer = TfidfVectorizer().fit(docs)
        path = folder / "tfidf.joblib"
        joblib.dump(vectorizer, path)
        out["tfidf"] = (path, "import joblib\nf = joblib.load", "import safeload\nf = safeload.joblib_load")
    except ImportError:
        pass
    arrays = {f"layer{i}": np.random.default_rng(i).standard_normal((256, 1024) if not quick else (16, 64),
                                                                      dtype=np.float32) for i in range(100)}
    path = folder / "arrays.pkl"
    path.write_bytes(pickle.dumps(arrays, protocol=4))
    out["array-heavy"] = (path, "import pickle\nf = lambda p: pickle.load(open(p, 'rb'))",
                          "import safeload\nf = lambda p: safeload.pickle_load(open(p, 'rb'))")
    return out


def loader(code: str) -> Callable[[Path], Any]:
    scope: dict[str, Any] = {}
    exec(code, scope)  # noqa: S102 - our own benchmark snippets
    fn: Callable[[Path], Any] = scope["f"]
    return fn


def interleaved_cpu(funcs: dict[str, Callable[[], object]], runs: int) -> dict[str, float]:
    """Like ``_common.interleaved``, in CPU seconds of this process (less sensitive to a shared machine)."""
    times: dict[str, list[float]] = {name: [] for name in funcs}
    for _ in range(runs):
        for name, func in funcs.items():
            start = time.process_time()
            func()
            times[name].append(time.process_time() - start)
    return {name: sorted(values)[len(values) // 2] for name, values in times.items()}


def scan_with(engine: str, path: Path) -> tuple[float, int, float]:
    """(wall seconds, opcodes, CPU seconds) of one scan with ``engine``."""
    old = os.environ.get("SAFELOAD_ENGINE")
    os.environ["SAFELOAD_ENGINE"] = engine
    try:
        cpu = time.process_time()
        start = time.perf_counter()
        result = safeload.scan(path)
        seconds = time.perf_counter() - start
        cpu = time.process_time() - cpu
    finally:
        if old is None:
            os.environ.pop("SAFELOAD_ENGINE", None)
        else:
            os.environ["SAFELOAD_ENGINE"] = old
    opcodes = sum(int(f.details.get("opcodes", 0)) for f in result.findings if f.rule_id == "SL100")
    return seconds, opcodes, cpu


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--runs", type=int, default=None)
    parser.add_argument("--no-python-engine", action="store_true", help="skip the (slow) pure-Python scan column")
    opts = parser.parse_args()
    runs = opts.runs or (2 if opts.quick else 7)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for case, (path, plain_code, safe_code) in make_inputs(Path(tmp), opts.quick).items():
            plain_fn, safe_fn = loader(plain_code), loader(safe_code)
            medians = interleaved({"plain": lambda p=path, f=plain_fn: f(p), "safe": lambda p=path, f=safe_fn: f(p),
                                   "scan": lambda p=path: safeload.scan(p)}, runs)
            cpu = interleaved_cpu({"plain": lambda p=path, f=plain_fn: f(p),
                                   "safe": lambda p=path, f=safe_fn: f(p)}, runs)
            native_scan = sorted(scan_with("native", path) for _ in range(3))[1]
            python_scan = (None if opts.no_python_engine else scan_with("python", path))
            rss_plain = peak_rss_mb(f"{plain_code}\nobj = f({str(path)!r})")
            rss_safe = peak_rss_mb(f"{safe_code}\nobj = f({str(path)!r})")
            mb = path.stat().st_size / 1e6
            rows.append([case, f"{mb:.1f}", medians["plain"], medians["safe"],
                         f"{medians['safe'] / medians['plain']:.2f}",
                         f"{cpu['plain']:.3f} / {cpu['safe']:.3f} = {cpu['safe'] / max(cpu['plain'], 1e-9):.2f}",
                         native_scan[0],
                         f"{native_scan[1] / native_scan[0] / 1e6:.0f} M "
                         f"({native_scan[1] / max(native_scan[2], 1e-9) / 1e6:.0f} M CPU)" if native_scan[1] else "-",
                         f"{python_scan[0]:.3f}" if python_scan else "-",
                         f"{rss_plain:.0f} / {rss_safe:.0f}", f"{rss_safe / rss_plain:.2f}",
                         fmt(picklescan_seconds(path), medians["scan"])])
    print(table(["case", "MB", "plain s", "safe s", "ratio", "CPU plain / safe s = ratio", "scan native s",
                 "opcodes/s (wall, CPU)", "scan python s",
                 "peak RSS plain/safe MB", "RSS ratio", "picklescan s"], rows))
    print(f"\n(medians of {runs} interleaved runs in one process; python {sys.version.split()[0]}; "
          f"quick={opts.quick}; load average {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
