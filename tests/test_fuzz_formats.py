"""Property tests (hypothesis) for the non-pickle parsers, and replay of the inputs fuzzing found.

On mutated real files (torch zip checkpoints and npz, .npy, joblib files with every compressor, a
SavedModel protobuf, a Keras config, archives built to make zip readers disagree, tar/pickle polyglots):
``safeload.scan`` never raises, never reports an internal error (SL005) and finishes within a per-input
bound. The container routing is checked against the real readers: the ``zipfile`` model against
``zipfile.ZipFile`` and the miniz model against torch's ``PyTorchFileReader`` on mutated archives, and the
pickle sniffer against CPython's C unpickler (run by ``tests/fuzz/sl_oracle.py`` in a capped subprocess).
``tests/fuzz/regressions/`` holds the inputs atheris found (hangs, crashes); each is replayed in a child
process with a timeout.
"""

from __future__ import annotations

import base64
import io
import json
import random
import subprocess
import sys
import tempfile
import time
import warnings
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import safeload
from safeload._context import ScanContext
from safeload._sniff import breaks_before_import, looks_like_pickle
from safeload.containers import miniz, zipfile_reader
from safeload.containers._zipfmt import DirectoryError
from safeload.policy import Policy
from safeload.scanners.keras import scan_keras_config

FUZZ = Path(__file__).parent / "fuzz"
sys.path.insert(0, str(FUZZ))

import sl_corpus  # noqa: E402

PER_INPUT_SECONDS = 5.0
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow],
                    derandomize=True, database=None)


def _seeds(name: str) -> list[bytes]:
    try:
        return list(getattr(sl_corpus, f"{name}_seeds")())
    except ImportError as exc:
        pytest.skip(f"{name} seeds need {exc.name}")


def scan_checked(data: bytes, name: str | None = None) -> None:
    started = time.process_time()  # CPU seconds: a second pytest-xdist worker on the same cores cannot inflate them
    result = safeload.scan(data, name=name)
    elapsed = time.process_time() - started
    assert elapsed < PER_INPUT_SECONDS, f"scan took {elapsed:.1f} s"
    internal = [f.message for f in result.findings if f.rule_id == "SL005"]
    assert not internal, internal


@pytest.mark.parametrize(("kind", "name"), [("zip", None), ("npy", None), ("joblib", None),
                                            ("protobuf", "saved_model.pb"), ("pbtxt", "saved_model.pbtxt")])
@SETTINGS
@given(pick=st.integers(min_value=0), rng=st.randoms(use_true_random=False))
def test_mutated_files_never_raise(kind: str, name: str | None, pick: int, rng: random.Random) -> None:
    seeds = _seeds(kind)
    data = sl_corpus.mutate(seeds[pick % len(seeds)], rng, seeds)
    scan_checked(data, name)


@SETTINGS
@given(rng=st.randoms(use_true_random=False))
def test_mutated_keras_configs_never_raise(rng: random.Random) -> None:
    data = sl_corpus.mutate(_seeds("keras")[0], rng)
    ctx = ScanContext(Policy(), "<fuzz>")
    scan_keras_config(data, ctx)
    assert not [f for f in ctx.findings if f.rule_id == "SL005"]


@SETTINGS
@given(st.binary(max_size=4096), st.sampled_from([None, "saved_model.pb", "keras_metadata.pb",
                                                                     "saved_model.pbtxt"]))
def test_random_bytes_with_name_hints_never_raise(data: bytes, name: str | None) -> None:
    scan_checked(data, name)


@pytest.mark.parametrize("path", sorted((FUZZ / "regressions").glob("*.bin")), ids=lambda p: p.stem)
def test_fuzz_regressions_finish(path: Path) -> None:
    code = ("import sys, safeload; r = safeload.scan(sys.stdin.buffer.read()); "
            "sys.exit(3 if any(f.rule_id == 'SL005' for f in r.findings) else 0)")
    proc = subprocess.run([sys.executable, "-c", code], input=path.read_bytes(), capture_output=True,
                          timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_zip_local_header_walk_always_moves_forward() -> None:
    # atheris: a data-descriptor member with no central entry, past the central directory offset, got a
    # negative size; the local-header walk then returned to the same offset until the member limit (SL015)
    # stopped it: 100 000 iterations for 2 KB.
    data = (FUZZ / "regressions" / "zip-local-walk-no-progress.bin").read_bytes()
    started = time.process_time()
    result = safeload.scan(data)
    assert "SL015" not in {f.rule_id for f in result.findings}
    assert time.process_time() - started < 2


# --- container routing ------------------------------------------------------------------------------------
def _archives() -> list[bytes]:
    return _seeds("zip") + _seeds("container")


@SETTINGS
@given(pick=st.integers(min_value=0), rng=st.randoms(use_true_random=False))
def test_mutated_containers_never_raise(pick: int, rng: random.Random) -> None:
    seeds = _archives()
    data = sl_corpus.mutate(seeds[pick % len(seeds)], rng, seeds, tokens=sl_corpus.ARCHIVE_TOKENS)
    scan_checked(data)


def _zipfile_listing(data: bytes) -> list[tuple[str, int, int, int]] | None:
    """What ``zipfile.ZipFile`` lists, reading a real file (a BytesIO raises on negative seeks where a file
    descriptor gives the OSError zipfile expects)."""
    with tempfile.TemporaryFile() as handle:
        handle.write(data)
        handle.seek(0)
        try:
            with zipfile.ZipFile(handle) as zf:
                return [(i.filename, i.header_offset, i.compress_size, i.file_size) for i in zf.infolist()]
        except (zipfile.BadZipFile, NotImplementedError, UnicodeDecodeError, OSError, EOFError):
            return None


@SETTINGS
@given(pick=st.integers(min_value=0), rng=st.randoms(use_true_random=False))
def test_zipfile_model_matches_zipfile(pick: int, rng: random.Random) -> None:
    seeds = _archives()
    data = sl_corpus.mutate(seeds[pick % len(seeds)], rng, seeds, tokens=sl_corpus.ARCHIVE_TOKENS)
    real = _zipfile_listing(data)
    try:
        model = zipfile_reader.read_directory(data, 100_000)
    except DirectoryError:
        assert real is None, f"zipfile opens what the model refuses: {data[-200:]!r}"
        return
    assert real == [(e.names[0], e.header_offset, e.compressed_size, e.size) for e in model.entries]


@SETTINGS
@given(pick=st.integers(min_value=0), rng=st.randoms(use_true_random=False))
def test_miniz_model_matches_torch(pick: int, rng: random.Random) -> None:
    torch = pytest.importorskip("torch")
    seeds = _archives()
    data = sl_corpus.mutate(seeds[pick % len(seeds)], rng, seeds, tokens=sl_corpus.ARCHIVE_TOKENS)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            records = torch._C.PyTorchFileReader(io.BytesIO(data)).get_all_records()
    except (RuntimeError, ValueError):
        records = None
    try:
        model = miniz.read_directory(data, 100_000)
    except DirectoryError:
        assert records is None, f"torch opens what the model refuses: {data[-200:]!r}"
        return
    if records is not None:
        prefix = model.entries[0].raw_name.split(b"/")[0] + b"/"
        assert sorted(records) == sorted(e.names[-1][len(prefix):] for e in model.entries)


def test_sniffer_never_misses_what_the_c_unpickler_runs() -> None:
    """On mutated pickles (F1 openings included): a stream the C unpickler loads whole, calls something in, or
    imports an existing module from, sniffs as a pickle; one it resolves any name in is never said to break
    before importing anything."""
    rng = random.Random(20270101)  # noqa: S311 - a reproducible corpus, not a secret
    seeds = sl_corpus.opening_seeds() + sl_corpus.malicious_seeds() + sl_corpus.benign_seeds(heavy=False)
    inputs = list(seeds) + [sl_corpus.mutate(rng.choice(seeds), rng, seeds) for _ in range(1500)]
    proc = subprocess.run([sys.executable, str(FUZZ / "sl_oracle.py")], capture_output=True, text=True,
                          input="".join(base64.b64encode(b).decode() + "\n" for b in inputs), timeout=300,
                          check=False)
    outs = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(outs) == len(inputs), proc.stderr[-3000:]
    for data, out in zip(inputs, outs, strict=True):
        c = out["c"]
        imports = [module for module, _name in c["globals"] if module.split(".")[0] in sys.modules]
        if c["streams"] or c["called"] or imports:
            assert looks_like_pickle(data), f"the C unpickler runs {data[:120]!r}, the sniffer skips it"
        if c["globals"]:
            assert not breaks_before_import(data), f"the C unpickler imports from {data[:120]!r}"
