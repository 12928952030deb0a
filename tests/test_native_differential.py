"""Differential tests: the native engine (``engine/_native.c``) against the pure-Python reference engine.

For every input both engines run (``SAFELOAD_ENGINE=python`` and ``native``) through ``safeload.scan`` and
through ``scan_pickle``; any difference in findings (rule, severity, subject, member, offset, count, message)
or in the stream results (start, end, complete, protocol, opcodes, persistent ids, globals seen, value) fails.
Inputs: the fuzz seed corpus and its mutations, the tricky streams of ``test_differential_pickle.py``,
hypothesis-generated streams (random values in every protocol, opcode soups, mutations), the fuzz
regressions, and every pickle buffer the rest of the test suite walked (``test_suite_corpus``, run last).
"""

from __future__ import annotations

import os
import pickle
import random
import struct
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safeload.engine import native

FUZZ_DIR = Path(__file__).parent / "fuzz"
sys.path.insert(0, str(FUZZ_DIR))
sys.path.insert(0, str(FUZZ_DIR.parent))

import sl_corpus  # noqa: E402
import sl_native_diff  # noqa: E402
from test_differential_pickle import TRICKY, _random_value  # noqa: E402

pytestmark = pytest.mark.skipif(not native.AVAILABLE, reason="the native engine was not compiled here")

SETTINGS = settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "300")), deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow], derandomize=not os.environ.get("FUZZ_RANDOM"))

SEEDS = sl_corpus.benign_seeds() + sl_corpus.malicious_seeds() + list(TRICKY.values())


def assert_same(data: bytes) -> None:
    diffs = sl_native_diff.differences(data)
    assert not diffs, (data[:300], diffs)
    sl_native_diff.COMPARED.add(sl_native_diff.digest(data))


@pytest.mark.parametrize("index", range(len(SEEDS)))
def test_seed_corpus(index: int) -> None:
    assert_same(SEEDS[index])


@pytest.mark.slow
def test_mutated_corpus() -> None:
    rng = random.Random(15)  # noqa: S311 - a reproducible corpus, not a secret
    for _ in range(int(os.environ.get("NATIVE_MUTATIONS", "3000"))):
        assert_same(sl_corpus.mutate(rng.choice(SEEDS), rng, SEEDS))


def test_fuzz_regressions() -> None:
    for path in sorted((FUZZ_DIR / "regressions").iterdir()):
        assert_same(path.read_bytes())


def test_generated_values_in_every_protocol() -> None:
    rng = random.Random(16)  # noqa: S311
    for _ in range(300):
        assert_same(pickle.dumps(_random_value(rng), protocol=rng.randrange(6)))


_OPS = [b"(", b"0", b"1", b"2", b"t", b"l", b"d", b"e", b"u", b"a", b"s", b"R", b"b", b"\x81", b"\x92", b"\x93",
        b"\x94", b"\x85", b"\x86", b"\x87", b")", b"]", b"}", b"\x8f", b"\x90", b"\x91", b"N", b"\x88", b"\x89",
        b".", b"h\x00", b"h\x01", b"q\x00", b"q\x01", b"j\x00\x00\x00\x00", b"r\x01\x00\x00\x00", b"g0\n", b"p1\n",
        b"K\x07", b"M\x01\x02", b"J\xff\xff\xff\xff", b"G" + struct.pack(">d", float("nan")), b"G\x3f\xf0" + b"\0" * 6,
        b"\x8c\x02os", b"\x8c\x06system", b"\x8c\x01a", b"X\x01\x00\x00\x00b", b"C\x02\x00\x01", b"U\x01c",
        b"\x8a\x09" + b"\xff" * 9, b"\x8a\x02\x00\x80", b"I01\n", b"I00\n", b"I-7\n", b"I0x1f\n", b"L12L\n", b"F1e3\n",
        b"S'x'\n", b"Vy\n", b"cbuiltins\nstr\n", b"cos\nsystem\n", b"cnumpy\ndtype\n", b"ccollections\nOrderedDict\n",
        b"\x95\x05\x00\x00\x00\x00\x00\x00\x00", b"\x80\x04", b"\x80\x02", b"Q", b"Pp\n", b"\x82\x01", b"\x97", b"\x98",
        b"\x8c\x03\xed\xa0\x80", b"\x8c\x02\xc3\x28", b"i__builtin__\nlist\n", b"o"]


@SETTINGS
@given(st.lists(st.sampled_from(_OPS), min_size=1, max_size=40))
def test_opcode_soups(ops: list[bytes]) -> None:
    assert_same(b"".join(ops))


@SETTINGS
@given(st.binary(max_size=200))
def test_random_bytes_after_proto(raw: bytes) -> None:
    assert_same(b"\x80\x04" + raw)


@SETTINGS
@given(st.integers(min_value=0, max_value=len(SEEDS) - 1), st.integers(min_value=0, max_value=2**32))
def test_hypothesis_mutations(index: int, seed: int) -> None:
    rng = random.Random(seed)  # noqa: S311
    assert_same(sl_corpus.mutate(SEEDS[index], rng, SEEDS))


def test_suite_corpus() -> None:
    """Every pickle buffer the rest of the suite walked (recorded by tests/conftest.py), plus the saved buffers
    in ``SAFELOAD_NATIVE_CORPUS`` (a saved corpus) and ``SAFELOAD_SUITE_CORPUS`` (those of every xdist worker of
    the run before: ``.ci/run`` runs this test in its own invocation after the suite). Moved to the end of the
    run by conftest.

    A recorded buffer this file's tests already compared in full (``assert_same``: the seeds, mutations and
    hypothesis streams, about 4400 buffers) is not compared again: the comparison would be the same function of
    the same bytes in the same state (those tests use no fixture but the autouse ones, ``conftest.clean_environ``)
    and the test that made it asserted it found no difference. Nested streams inside them, which a comparison
    reaches only through the outer findings, and every buffer of the other tests are still replayed."""
    buffers = {key: data for key, data in sl_native_diff.RECORDED.items() if key not in sl_native_diff.COMPARED}
    for folder in sl_native_diff.SAVED_CORPORA:
        for path in sorted(Path(folder).glob("*.pkl")):
            data = path.read_bytes()
            buffers.setdefault(sl_native_diff.digest(data), data)
    if sl_native_diff.SUITE_CORPUS:  # the run before saved its buffers there: an empty folder is a broken hand-over
        assert buffers, f"no buffer in SAFELOAD_SUITE_CORPUS={sl_native_diff.SUITE_CORPUS}"
    elif not buffers and not sl_native_diff.RECORDED:
        pytest.skip("no other test ran in this session: nothing was recorded")
    failures = []
    for data in buffers.values():
        diffs = sl_native_diff.differences(data)
        if diffs:
            failures.append((data[:200], diffs))
    assert not failures, failures[:5]


_TEXT_NUMBERS = [b"0", b"7", b"-7", b"10", b"-1", b"010", b"0x1f", b"0X1F", b"0o17", b"00", b"01", b" 1", b"+1", b"-0",
                 b"1\0junk", b"\0", b"\0\0", b"", b" ", b"1_000", b" 5 ", b"99999999999999999999", b"999999999999999999",
                 b"-999999999999999999", b"9223372036854775807", b"9223372036854775808", b"08", b"1e3", b"\xff"]


@pytest.mark.parametrize("text", _TEXT_NUMBERS)
def test_text_numbers(text: bytes) -> None:
    for op in (b"I", b"L", b"F", b"p", b"g"):
        body = b"K\x05" if op in (b"p", b"g") else b""
        tail = text + (b"L" if op == b"L" and text[-1:] != b"L" else b"")
        assert_same(body + op + tail + b"\n" + (b"g0\n" if op == b"p" else b"") + b".")
