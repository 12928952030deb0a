"""Property tests (hypothesis) for the pickle engine and format sniffing.

Properties, on random bytes, on mutated real pickles (``tests/fuzz/sl_corpus.py``: plain data, numpy arrays,
scikit-learn models across protocols 0-5, and malicious streams) and on streams generated opcode by opcode:
- ``safeload.scan(bytes)`` never raises and never reports an internal error (SL005): every problem is a
  finding;
- it finishes within a per-input time bound;
- a mutated malicious pickle is never reported clean while the real (pure-Python) unpickler would still
  call a global outside the allowlist. The reference is ``sl_oracle``'s recording unpickler: ``find_class``
  returns inert stand-ins, so nothing named in the data is imported or called.

Bounded: ``max_examples`` and ``deadline`` keep the whole file well under 60 s.
"""

from __future__ import annotations

import os
import random
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import safeload
from safeload._sniff import Format, looks_like_pickle, sniff
from safeload.catalog.classify import classify
from safeload.findings import ScanResult
from safeload.severity import Severity

sys.path.insert(0, str(Path(__file__).parent / "fuzz"))

import sl_corpus
import sl_oracle

PER_INPUT_SECONDS = 2.0
# Long runs: FUZZ_EXAMPLES=200000 FUZZ_RANDOM=1 pytest tests/test_fuzz_pickle.py (see tests/fuzz/README.md).
SETTINGS = settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "300")), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow], derandomize=not os.environ.get("FUZZ_RANDOM"),
                    database=None)

BENIGN = sl_corpus.benign_seeds()
MALICIOUS = sl_corpus.malicious_seeds()
CORPUS = BENIGN + MALICIOUS


def scan_checked(data: bytes) -> ScanResult:
    started = time.process_time()  # CPU seconds: a second pytest-xdist worker on the same cores cannot inflate them
    result = safeload.scan(data)
    elapsed = time.process_time() - started
    assert elapsed < PER_INPUT_SECONDS, f"scan took {elapsed:.2f} s on {data[:100]!r}"
    internal = [f for f in result.findings if f.rule_id == "SL005"]
    assert not internal, (data[:200], internal)
    return result


def assert_reaches_are_reported(data: bytes, result: ScanResult) -> None:
    """Every non-allowlisted global the pure-Python unpickler would call is a finding at MEDIUM or above."""
    with sl_oracle.guarded():  # in-process: the pure-Python unpickler only (its memo is a dict, not an array)
        out = {"c": {"globals": [], "called": []}, "py": sl_oracle._load_all(sl_oracle.PY_RECORDER, data)}
    _resolved, called = sl_oracle.summarize(out)
    levels = {f.subject: f.severity for f in result.findings}
    for module, name in called:
        cls = classify(module, name)
        if cls.kind in ("allowed", "argcheck") or not all(p.isidentifier() and p.isascii()
                                                           for p in cls.full_name.split(".")):
            continue  # names nothing real can have: see test_differential_pickle.problems
        level = levels.get(cls.full_name)
        assert level is not None, f"{cls.full_name} called by the real loader, not reported: {data[:200]!r}"
        assert level >= Severity.MEDIUM


@SETTINGS
@given(st.binary(max_size=2048))
def test_random_bytes_never_raise(data: bytes) -> None:
    scan_checked(data)
    fmt = sniff(data)
    assert isinstance(fmt, Format)
    assert isinstance(looks_like_pickle(data), bool)


@SETTINGS
@given(st.sampled_from(CORPUS), st.randoms(use_true_random=False))
def test_mutated_pickles_never_raise_and_never_hide_a_reached_payload(seed: bytes, rng: random.Random) -> None:
    data = sl_corpus.mutate(seed, rng, CORPUS)
    result = scan_checked(data)
    assert_reaches_are_reported(data, result)


@SETTINGS
@given(st.sampled_from(MALICIOUS), st.randoms(use_true_random=False))
def test_mutated_malicious_pickles_are_not_clean_while_the_payload_is_reachable(seed: bytes,
                                                                                rng: random.Random) -> None:
    data = sl_corpus.mutate(seed, rng, CORPUS)
    result = scan_checked(data)
    assert_reaches_are_reported(data, result)


# Opcode snippets: enough grammar that generated streams get deep into the machine.
_SNIPPETS = [b"(", b"t", b"l", b"d", b"e", b"u", b"a", b"s", b"0", b"1", b"2", b"R", b"b", b"\x81", b"\x92",
             b"\x93", b"\x94", b"]", b"}", b")", b"N", b"\x88", b"\x85", b"\x86", b"\x87", b"K\x01", b"M\x01\x02",
             b"J\xff\xff\xff\xff", b"h\x00", b"h\x01", b"q\x00", b"q\x01", b"g0\n", b"p1\n", b"j\x00\x00\x00\x00",
             b"r\x01\x00\x00\x00", b"\x8c\x02os", b"\x8c\x06system", b"\x8c\x05numpy", b"\x8c\x07ndarray",
             b"S'os'\n", b"Vsystem\n", b"U\x03abc", b"C\x02\x00\x01", b"\x8f", b"\x90", b"\x91", b"o", b"i",
             b"cos\nsystem\n", b"cbuiltins\ngetattr\n", b"ccollections\nOrderedDict\n", b"\x82\x01", b"\x97",
             b"\x98", b"Pp\n", b"Q", b"I1\n", b"L5L\n", b"F1.5\n", b"G?\xf0\x00\x00\x00\x00\x00\x00",
             b"\x8a\x01\x05", b"\x95\x05\x00\x00\x00\x00\x00\x00\x00", b"\x80\x04", b"."]


@SETTINGS
@given(st.lists(st.sampled_from(_SNIPPETS), max_size=60), st.sampled_from([b"", b"\x80\x02", b"\x80\x05"]))
def test_generated_opcode_streams(snippets: list[bytes], head: bytes) -> None:
    data = head + b"".join(snippets)
    result = scan_checked(data)
    assert_reaches_are_reported(data, result)


@pytest.mark.parametrize("data", [
    b"S'\\h'\n.",
    b"S'\\h'\n0cos\nsystem\n(S'id'\ntR.",
    b"(S'\\q'\nS'x'\ncos\nsystem\n(S'id'\ntR.",
])
def test_invalid_string_escapes_under_warnings_as_errors(data: bytes) -> None:
    # pytest runs with warnings as errors: escape_decode's DeprecationWarning must not escape or abort.
    result = scan_checked(data)
    if b"system" in data:
        assert "os.system" in {f.subject for f in result.findings}


def test_truncations_of_a_real_pickle_never_pass() -> None:
    # Every prefix of a malicious stream either reports the payload or blocks; none raises.
    for seed in MALICIOUS[:6]:
        for cut in range(len(seed)):
            result = scan_checked(seed[:cut])
            assert cut == 0 or result.verdict("medium") == "unsafe", (seed[:cut], result.findings)
