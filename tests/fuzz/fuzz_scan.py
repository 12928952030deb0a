"""atheris harness: coverage-guided fuzzing of safeload's parsers. See README.md for the commands.

    python tests/fuzz/fuzz_scan.py TARGET [libFuzzer options, e.g. -atheris_runs=100000 -timeout=10]

TARGET is one of: pickle (the engine, with the pure-Python unpickler differential), sniff, zip (torch zip
checkpoints and npz), containers (archives built so zip readers disagree, tar/pickle polyglots), zipmodels
(the zipfile reader model against ``zipfile.ZipFile``), npy, joblib (compressed and inline-array joblib
files), protobuf (SavedModel ``saved_model.pb``), keras (``config.json``). Each starts from a seed corpus
built here, at start-up.

A finding is: any exception out of the public API, an internal-error finding (SL005), or (pickle) a global
the real pure-Python unpickler would call that the scan does not report.
"""

from __future__ import annotations

import contextlib
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
    import safeload.containers.archives
    import safeload.containers.miniz
    import safeload.containers.routing
    import safeload.containers.torch
    import safeload.containers.zipfile_reader
    import safeload.scanners.compressed
    import safeload.scanners.joblib
    import safeload.scanners.keras
    import safeload.scanners.numpy
    import safeload.scanners.pickle
    import safeload.scanners.savedmodel
    import safeload.scanners.torch
    import safeload.scanners.zip  # scanners load lazily: import them here so they are instrumented
    from safeload._context import ScanContext
    from safeload._sniff import breaks_before_import, looks_like_pickle, sniff
    from safeload.catalog.classify import classify
    from safeload.containers import miniz, zipfile_reader
    from safeload.containers._zipfmt import DirectoryError
    from safeload.policy import Limits, Policy
    from safeload.scanners.keras import scan_keras_config

POLICY = Policy(limits=Limits(max_seconds=20.0))


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
    breaks_before_import(data)


def test_zip_models(data: bytes) -> None:
    """The zipfile model lists exactly what zipfile.ZipFile lists (or both refuse); miniz's never raises."""
    import tempfile
    import zipfile

    with tempfile.TemporaryFile() as handle:
        handle.write(data)
        handle.seek(0)
        try:
            with zipfile.ZipFile(handle) as zf:
                real = [(i.filename, i.header_offset, i.compress_size, i.file_size) for i in zf.infolist()]
        except (zipfile.BadZipFile, NotImplementedError, UnicodeDecodeError, OSError, EOFError):
            real = None
    try:
        model = [(e.names[0], e.header_offset, e.compressed_size, e.size)
                 for e in zipfile_reader.read_directory(data, 100_000).entries]
    except DirectoryError:
        model = None
    if real != model:
        raise AssertionError(f"zipfile model differs: real {real!r:.200} model {model!r:.200}")
    with contextlib.suppress(DirectoryError):
        miniz.read_directory(data, 100_000)


def test_keras(data: bytes) -> None:
    ctx = ScanContext(POLICY, "<fuzz>")
    scan_keras_config(data, ctx)
    _internal_errors(ctx.result())


def test_native(data: bytes) -> None:
    """Both pickle engines agree (findings and stream results); see sl_native_diff.py."""
    import sl_native_diff

    diffs = sl_native_diff.differences(data)
    if diffs:
        raise AssertionError(f"python and native engines differ: {diffs}")


TARGETS: dict[str, tuple[Callable[[], list[bytes]], Callable[[bytes], None]]] = {
    "native": (lambda: sl_corpus.benign_seeds() + sl_corpus.malicious_seeds(), test_native),
    "pickle": (lambda: sl_corpus.benign_seeds() + sl_corpus.malicious_seeds(), one_scan(differential=True)),
    "sniff": (lambda: sl_corpus.benign_seeds() + sl_corpus.zip_seeds() + sl_corpus.npy_seeds()
              + sl_corpus.joblib_seeds(), test_sniff),
    "zip": (sl_corpus.zip_seeds, one_scan()),
    "containers": (lambda: sl_corpus.zip_seeds() + sl_corpus.container_seeds(), one_scan()),
    "zipmodels": (lambda: sl_corpus.zip_seeds() + sl_corpus.container_seeds(), test_zip_models),
    "npy": (sl_corpus.npy_seeds, one_scan()),
    "joblib": (sl_corpus.joblib_seeds, one_scan()),
    "protobuf": (sl_corpus.protobuf_seeds, one_scan(name="saved_model.pb")),
    "pbtxt": (sl_corpus.pbtxt_seeds, one_scan(name="saved_model.pbtxt")),
    "keras": (sl_corpus.keras_seeds, test_keras),
}


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in TARGETS:
        sys.exit(f"usage: {sys.argv[0]} {{{','.join(TARGETS)}}} [libFuzzer options]")
    target = sys.argv.pop(1)
    seeds, test = TARGETS[target]
    if target == "pickle":
        # The pure-Python unpickler of the differential pre-allocates BYTEARRAY8 lengths (a 20-byte input
        # asks for gigabytes): cap the address space so that is a MemoryError, not a libFuzzer OOM.
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (6 << 30, 6 << 30))
    corpus = Path(os.environ.get("FUZZ_CORPUS") or tempfile.mkdtemp(prefix=f"safeload-fuzz-{target}-"))
    corpus.mkdir(parents=True, exist_ok=True)
    for i, seed in enumerate(seeds()):
        (corpus / f"seed-{i:03d}").write_bytes(seed)
    sys.argv.append(str(corpus))
    atheris.Setup(sys.argv, test)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
