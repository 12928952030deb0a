"""Property tests (hypothesis) for the non-pickle parsers, and replay of the inputs fuzzing found.

On mutated real files (torch zip checkpoints and npz, .npy, joblib files with every compressor, a
SavedModel protobuf, a Keras config): ``safeload.scan`` never raises, never reports an internal error
(SL005) and finishes within a per-input bound. ``tests/fuzz/regressions/`` holds the inputs atheris found
(hangs, crashes); each is replayed in a child process with a timeout.
"""

from __future__ import annotations

import random
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import safeload
from safeload._context import ScanContext
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
    started = time.monotonic()
    result = safeload.scan(data, name=name)
    elapsed = time.monotonic() - started
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
    started = time.monotonic()
    result = safeload.scan(data)
    assert "SL015" not in {f.rule_id for f in result.findings}
    assert time.monotonic() - started < 2
