"""atheris harness: coverage-guided fuzzing of safeload's parsers. See README.md for the commands.

    python tests/fuzz/fuzz_scan.py TARGET [libFuzzer options, e.g. -atheris_runs=100000 -timeout=10]

TARGET is one of: pickle (the engine, with the pure-Python unpickler differential), sniff, zip (torch zip
checkpoints and npz), npy, joblib (compressed and inline-array joblib files), protobuf (SavedModel
``saved_model.pb``), keras (``config.json``). Each starts from a seed corpus built here, at start-up.

A finding is: any exception out of the public API, an internal-error finding (SL005), or (pickle) a global
the real pure-Python unpickler would call that the scan does not report.
"""

from __future__ import annotations

import io
import json
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import atheris

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[2]))

import sl_corpus
import sl_oracle

with atheris.instrument_imports(include=["safeload"]):
    import safeload
    import safeload._protobuf
    import safeload._zip
    import safeload.scanners.compressed
    import safeload.scanners.joblib
    import safeload.scanners.keras
    import safeload.scanners.numpy
    import safeload.scanners.pickle
    import safeload.scanners.savedmodel
    import safeload.scanners.torch
    import safeload.scanners.zip  # scanners load lazily: import them here so they are instrumented
    from safeload._context import ScanContext
    from safeload._sniff import looks_like_pickle, sniff
    from safeload.catalog.classify import classify
    from safeload.policy import Limits, Policy
    from safeload.scanners.keras import scan_keras_config

POLICY = Policy(limits=Limits(max_seconds=20.0))


def _seeds_pickle() -> list[bytes]:
    return sl_corpus.benign_seeds() + sl_corpus.malicious_seeds()


def _seeds_zip() -> list[bytes]:
    import numpy as np
    import torch

    out = []
    for obj in ({"w": torch.ones(3)}, torch.nn.Linear(2, 2), [torch.zeros(2, dtype=torch.int8)]):
        buf = io.BytesIO()
        torch.save(obj, buf)
        out.append(buf.getvalue())
    buf = io.BytesIO()
    np.savez(buf, a=np.arange(4), b=np.array([{"x": 1}], dtype=object))
    out.append(buf.getvalue())
    return out


def _seeds_npy() -> list[bytes]:
    import numpy as np

    out = []
    for arr in (np.arange(6, dtype="<i4").reshape(2, 3), np.array(["a", "bc"]), np.array([1, None], dtype=object),
                np.zeros(2, dtype=[("a", "i4"), ("b", "f8", (2,))])):
        buf = io.BytesIO()
        np.save(buf, arr, allow_pickle=True)
        out.append(buf.getvalue())
    return out


def _seeds_joblib() -> list[bytes]:
    import joblib
    import numpy as np

    out = []
    for compress in (0, ("zlib", 3), ("gzip", 3), ("bz2", 3), ("xz", 3), ("lzma", 3)):
        buf = io.BytesIO()
        joblib.dump({"a": np.arange(10.0), "b": [np.ones(3, dtype=np.int8)], "c": "x"}, buf, compress=compress)
        out.append(buf.getvalue())
    return out


def _seeds_protobuf() -> list[bytes]:
    seeds = sorted(Path(__file__).parents[1].glob("data/**/saved_model.pb"))
    out = [p.read_bytes() for p in seeds[:4]]
    # A minimal SavedModel: meta_graphs { graph_def { node { name: "r" op: "ReadFile" } } }
    node = b"\x0a\x01r" + b"\x12\x08ReadFile"
    graph = b"\x0a" + bytes([len(node)]) + node
    meta = b"\x12" + bytes([len(graph)]) + graph
    out.append(b"\x08\x01" + b"\x12" + bytes([len(meta)]) + meta)
    return out


def _seeds_keras() -> list[bytes]:
    config = {"class_name": "Sequential", "config": {"name": "s", "layers": [
        {"module": "keras.layers", "class_name": "Dense", "config": {"units": 2, "activation": "relu",
                                                                      "kernel_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform", "config": {}}}},
        {"module": "keras.layers", "class_name": "Lambda", "config": {"function": {"class_name": "__lambda__",
                                                                                    "config": {"code": "4wEAAAAAAAAA"}}}}]}}
    return [json.dumps(config).encode()]


def _check_pickle_differential(data: bytes, result: Any) -> None:
    with sl_oracle.guarded():
        out = sl_oracle._load_all(sl_oracle.PY_RECORDER, data)
    subjects = {f.subject for f in result.findings}
    for module, name in set(map(tuple, out["called"])):
        cls = classify(module, name)
        if cls.kind in ("allowed", "argcheck") or not cls.full_name.isascii():
            continue
        if cls.full_name not in subjects:
            raise AssertionError(f"the real loader calls {cls.full_name}, the scan does not report it")


def _internal_errors(result: Any) -> None:
    bad = [f for f in result.findings if f.rule_id == "SL005"]
    if bad:
        raise AssertionError(f"internal error finding: {bad[0].message}")


def one_scan(name: str | None = None, differential: bool = False) -> Callable[[bytes], None]:
    def test(data: bytes) -> None:
        result = safeload.scan(data, policy=POLICY, name=name)
        _internal_errors(result)
        if differential:
            _check_pickle_differential(data, result)
    return test


def test_sniff(data: bytes) -> None:
    sniff(data)
    looks_like_pickle(data)
    looks_like_pickle(memoryview(data))


def test_keras(data: bytes) -> None:
    ctx = ScanContext(POLICY, "<fuzz>")
    scan_keras_config(data, ctx)
    _internal_errors(ctx.result())


TARGETS: dict[str, tuple[Callable[[], list[bytes]], Callable[[bytes], None]]] = {
    "pickle": (_seeds_pickle, one_scan(differential=True)),
    "sniff": (lambda: _seeds_pickle() + _seeds_zip() + _seeds_npy() + _seeds_joblib(), test_sniff),
    "zip": (_seeds_zip, one_scan()),
    "npy": (_seeds_npy, one_scan()),
    "joblib": (_seeds_joblib, one_scan()),
    "protobuf": (_seeds_protobuf, one_scan(name="saved_model.pb")),
    "keras": (_seeds_keras, test_keras),
}


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in TARGETS:
        sys.exit(f"usage: {sys.argv[0]} {{{','.join(TARGETS)}}} [libFuzzer options]")
    target = sys.argv.pop(1)
    seeds, test = TARGETS[target]
    corpus = Path(os.environ.get("FUZZ_CORPUS") or tempfile.mkdtemp(prefix=f"safeload-fuzz-{target}-"))
    corpus.mkdir(parents=True, exist_ok=True)
    for i, seed in enumerate(seeds()):
        (corpus / f"seed-{i:03d}").write_bytes(seed)
    sys.argv.append(str(corpus))
    atheris.Setup(sys.argv, test)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
