"""Resource limits of the pickle engine: each one is a blocking finding with its own rule, reached in bounded
time and memory (THREATS B16, BRIEF "Reliability and security").

Inputs that could crash or hang the interpreter if a bound regressed (hash bombs, deep tuples) are scanned
in a child process with a timeout, so a regression fails one test instead of killing the session.
"""

from __future__ import annotations

import pickle
import struct
import subprocess
import sys
import time
import tracemalloc
import zlib
from collections.abc import Callable
from typing import Any

import pytest

import safeload
from safeload.findings import ScanResult
from safeload.policy import Limits, Policy
from safeload.severity import Severity

MB = 1 << 20


def measured(data: bytes, *, trace: bool = True, **limits: Any) -> tuple[ScanResult, float, int]:
    """Scan ``data`` under ``limits``: the result, the CPU seconds it took (process time: another process on
    the same cores, such as a second pytest-xdist worker, cannot inflate it), and the peak traced memory (bytes) of a
    second scan under ``tracemalloc`` (timed apart, since tracing slows every allocation down; ``trace=False``
    skips it for the opcode floods, whose memory is bounded by the stack and memo limits anyway)."""
    policy = Policy(limits=Limits(**limits)) if limits else None
    started = time.process_time()
    result = safeload.scan(data, policy=policy)
    elapsed = time.process_time() - started
    if not trace:
        return result, elapsed, 0
    tracemalloc.start()
    try:
        safeload.scan(data, policy=policy)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, elapsed, peak


def rules(result: ScanResult) -> set[str]:
    return {f.rule_id for f in result.findings}


def assert_blocks_with(result: ScanResult, rule_id: str) -> None:
    assert rule_id in rules(result), result.findings
    finding = next(f for f in result.findings if f.rule_id == rule_id)
    assert finding.severity >= Severity.HIGH
    assert result.verdict("high") == "unsafe"


def scan_in_child(data: bytes, timeout: float = 60) -> set[str]:
    """Rules found when a fresh interpreter scans ``data`` (a crash or a hang fails the test, not the run)."""
    code = ("import sys, safeload; r = safeload.scan(sys.stdin.buffer.read()); "
            "print(' '.join(sorted({f.rule_id for f in r.findings})))")
    proc = subprocess.run([sys.executable, "-c", code], input=data, capture_output=True, timeout=timeout,
                          check=False)
    assert proc.returncode == 0, f"scanner died with {proc.returncode}: {proc.stderr[-2000:]!r}"
    return set(proc.stdout.decode().split())


# -- opcode, memo, stack and mark limits ---------------------------------------------------------------------
def test_opcode_flood_is_sl010() -> None:
    data = b"\x80\x02" + b"N0" * 500_000 + b"N."
    result, elapsed, _peak = measured(data, trace=False, max_opcodes=100_000)
    assert_blocks_with(result, "SL010")
    assert elapsed < 5


def test_opcode_limit_counts_across_streams() -> None:
    stream = b"\x80\x02" + b"N0" * 40_000 + b"N."
    result, _elapsed, _peak = measured(stream * 4, trace=False, max_opcodes=100_000)
    assert_blocks_with(result, "SL010")


def test_memo_flood_is_sl011() -> None:
    data = b"\x80\x04N" + b"\x94" * 200_000 + b"."
    result, elapsed, peak = measured(data, max_memo=10_000)
    assert_blocks_with(result, "SL011")
    assert elapsed < 5
    assert peak < 20 * MB


def test_long_binput_flood_is_sl011() -> None:
    data = b"\x80\x02N" + b"".join(b"r" + struct.pack("<I", i) for i in range(20_000)) + b"."
    result, _elapsed, _peak = measured(data, max_memo=10_000)
    assert_blocks_with(result, "SL011")


@pytest.mark.parametrize("data", [
    b"\x80\x02Nr\xff\xff\xff\xff.",          # LONG_BINPUT 0xffffffff: the C unpickler sizes its memo array by it
    b"Np4294967295\n.",                      # text PUT
    b"Np99999999999999999999999\n.",
])
def test_huge_memo_index_is_sl011_without_allocation(data: bytes) -> None:
    result, elapsed, peak = measured(data)
    assert_blocks_with(result, "SL011")
    assert elapsed < 1
    assert peak < 5 * MB


def test_stack_flood_is_sl012() -> None:
    data = b"\x80\x02" + b"N" * 300_000 + b"."
    result, elapsed, _peak = measured(data, trace=False, max_stack=50_000)
    assert_blocks_with(result, "SL012")
    assert elapsed < 5


def test_mark_flood_is_sl012() -> None:
    result, elapsed, _peak = measured(b"\x80\x02" + b"(" * 200_000 + b".", trace=False)
    assert_blocks_with(result, "SL012")
    assert elapsed < 5


def test_ten_thousand_nested_marks() -> None:
    data = b"\x80\x02" + b"(" * 10_000 + b"t" * 10_000 + b"."
    result, elapsed, _peak = measured(data, trace=False)
    assert result.verdict("medium") == "safe", result.findings  # real, if odd, data: a 10 000-deep tuple
    assert elapsed < 2
    limited, _elapsed, _peak = measured(data, trace=False, max_marks=1_000)
    assert_blocks_with(limited, "SL012")


def test_ten_thousand_nested_lists() -> None:
    data = b"\x80\x02" + b"]" * 10_000 + b"a" * 9_999 + b"."
    result, elapsed, _peak = measured(data)
    assert not rules(result) & {"SL002", "SL005"}, result.findings
    assert elapsed < 2
    assert pickle.loads(data) is not None  # the real loader takes it too


def test_deep_nesting_with_a_payload_inside_is_reported() -> None:
    data = b"\x80\x02" + b"]" * 10_000 + b"cos\nsystem\nX\x02\x00\x00\x00id\x85R" + b"a" * 10_000 + b"."
    result, _elapsed, _peak = measured(data)
    assert "os.system" in {f.subject for f in result.findings}


# -- expansion and hashing bombs (THREATS B16) -------------------------------------------------------------------
def test_billion_laughs_dup_get_is_bounded() -> None:
    body = b"".join(b"(h%ch%cl" % (i, i) + b"q" + bytes([i + 1]) for i in range(200))
    data = b"\x80\x02]q\x00" + body + b"."
    result, elapsed, peak = measured(data)
    assert not rules(result) & {"SL002", "SL005"}, result.findings
    assert elapsed < 1
    assert peak < 5 * MB


def test_billion_laughs_dup_is_bounded() -> None:
    data = b"\x80\x02N" + b"2\x86" * 300 + b"."   # DUP, TUPLE2: a tuple DAG with 2**300 leaves
    result, elapsed, peak = measured(data)
    assert not rules(result) & {"SL002", "SL005"}, result.findings
    assert elapsed < 1
    assert peak < 5 * MB


def test_cyclic_memo_is_bounded() -> None:
    result, elapsed, _peak = measured(b"\x80\x02]\x94g0\na.")  # a list that contains itself (FK#196)
    assert not rules(result) & {"SL002", "SL005"}, result.findings
    assert elapsed < 1


def test_cyclic_structures_as_call_arguments() -> None:
    data = b"\x80\x02cos\nsystem\n]\x94g0\na\x85R."
    result, _elapsed, _peak = measured(data)
    assert "os.system" in {f.subject for f in result.findings}


@pytest.mark.parametrize("data", [
    # A tuple DAG with 2**100 leaves used as a dict key: hashing it never ends (exponential).
    b"\x80\x02}N" + b"2\x86" * 100 + b"Ns.",
    b"\x80\x02}(N" + b"2\x86" * 100 + b"Nu.",
    b"\x80\x02(N" + b"2\x86" * 100 + b"Nd.",
    b"\x80\x02\x8f(N" + b"2\x86" * 100 + b"\x90.",
    b"\x80\x04(N" + b"2\x86" * 100 + b"\x91.",
    # A 1 000 000-deep tuple used as a dict key: hashing recurses in C (a segfault, not a RecursionError).
    b"\x80\x02}N" + b"\x85" * 1_000_000 + b"Ns.",
], ids=["setitem", "setitems", "dict", "additems", "frozenset", "deep-tuple-key"])
def test_hash_bombs_are_reported_not_hung(data: bytes) -> None:
    found = scan_in_child(data, timeout=60)
    assert "SL012" in found, found


# -- nested payloads, time -----------------------------------------------------------------------------------------
def _nest(inner: bytes, depth: int) -> bytes:
    for _ in range(depth):
        inner = b"\x80\x02cpickle\nloads\nB" + struct.pack("<I", len(inner)) + inner + b"\x85R."
    return inner


def test_deep_embedded_pickles_are_sl013() -> None:
    payload = b"\x80\x02cbuiltins\nlen\n)R."
    result, elapsed, _peak = measured(_nest(payload, 12))
    assert_blocks_with(result, "SL013")
    assert elapsed < 2
    shallow, _elapsed, _peak = measured(_nest(b"\x80\x02cos\nsystem\nX\x02\x00\x00\x00id\x85R.", 5))
    assert "os.system" in {f.subject for f in shallow.findings}
    assert "SL013" not in rules(shallow)


def test_nesting_limit_is_configurable() -> None:
    result, _elapsed, _peak = measured(_nest(b"\x80\x02N.", 3), max_nesting=2)
    assert_blocks_with(result, "SL013")


def test_scan_time_limit_is_sl014() -> None:
    data = b"\x80\x02" + b"N0" * 400_000 + b"N."
    result, elapsed, _peak = measured(data, trace=False, max_seconds=1e-6)
    assert_blocks_with(result, "SL014")
    assert elapsed < 5


# -- absurd lengths ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("data", [
    b"\x80\x04\x8e" + struct.pack("<Q", 1 << 60) + b".",          # BINBYTES8
    b"\x80\x05\x96" + struct.pack("<Q", 1 << 60) + b".",          # BYTEARRAY8
    b"\x80\x04\x8d" + struct.pack("<Q", 1 << 60) + b".",          # BINUNICODE8
    b"\x80\x03B" + struct.pack("<I", 0xFFFFFFFF) + b".",          # BINBYTES
    b"\x80\x02X" + struct.pack("<I", 0xFFFFFFFF) + b".",          # BINUNICODE
    b"\x80\x02T" + struct.pack("<i", 0x7FFFFFFF) + b".",          # BINSTRING
    b"\x80\x02T" + struct.pack("<i", -5) + b".",
    b"\x80\x02\x8b" + struct.pack("<i", 0x7FFFFFFF) + b".",       # LONG4
    b"\x80\x04\x95" + struct.pack("<Q", 1 << 63) + b"N.",         # FRAME
    b"\x80\x04\x95" + struct.pack("<Q", (1 << 64) - 1) + b"N.",
], ids=["binbytes8", "bytearray8", "binunicode8", "binbytes", "binunicode", "binstring", "binstring-negative",
        "long4", "frame", "frame-max"])
def test_absurd_lengths_are_findings_without_allocation(data: bytes) -> None:
    result, elapsed, peak = measured(data)
    assert result.verdict("high") == "unsafe", result.findings
    assert not rules(result) & {"SL005"}
    assert elapsed < 1
    assert peak < 5 * MB


def test_huge_text_arguments_are_bounded() -> None:
    data = b"I" + b"9" * 5_000_000 + b"\n."
    result, elapsed, peak = measured(data)
    assert not rules(result) & {"SL005"}
    assert elapsed < 5
    assert peak < 100 * MB


# -- decoders the engine runs to follow payloads ---------------------------------------------------------------------
def _call(func: bytes, arg: bytes) -> bytes:
    return func + b"B" + struct.pack("<I", len(arg)) + arg + b"\x85R"


@pytest.mark.parametrize("module_name", [b"zlib\ndecompress", b"gzip\ndecompress", b"bz2\ndecompress",
                                         b"lzma\ndecompress"])
def test_decompression_inside_a_pickle_is_capped(module_name: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    import bz2
    import gzip
    import lzma

    from safeload.engine import semantics as engine

    monkeypatch.setattr(engine, "_MAX_DECODED", 2 * MB)
    zeros = bytes(64 * MB)
    compress: dict[bytes, Callable[[bytes], bytes]] = {
        b"zlib\ndecompress": zlib.compress, b"gzip\ndecompress": gzip.compress,
        b"bz2\ndecompress": bz2.compress, b"lzma\ndecompress": lzma.compress}
    bomb = compress[module_name](zeros)
    data = b"\x80\x02cpickle\nloads\n" + _call(b"c" + module_name + b"\n", bomb) + b"\x85R."
    result, _elapsed, peak = measured(data)
    assert not rules(result) & {"SL005"}, result.findings
    assert peak < 24 * MB, f"decoding {module_name!r} took {peak / MB:.0f} MB"


def test_codecs_decode_with_a_compression_codec_is_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    from safeload.engine import semantics as engine

    monkeypatch.setattr(engine, "_MAX_DECODED", 2 * MB)
    bomb = zlib.compress(bytes(64 * MB))
    data = (b"\x80\x02cpickle\nloads\nccodecs\ndecode\nB" + struct.pack("<I", len(bomb)) + bomb
            + b"X\x04\x00\x00\x00zlib\x86R\x85R.")
    result, _elapsed, peak = measured(data)
    assert not rules(result) & {"SL005"}, result.findings
    assert peak < 24 * MB, f"codecs.decode(..., 'zlib') took {peak / MB:.0f} MB"


def test_many_decompressions_share_one_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    from safeload.engine import semantics as engine

    monkeypatch.setattr(engine, "_MAX_DECODED", 2 * MB)
    bomb = zlib.compress(bytes(2 * MB))
    # One bomb in the memo, decoded 50 times, each output memoized: the total must be bounded.
    calls = b"".join(b"czlib\ndecompress\nh\x00\x85R\x940" for _ in range(50))
    data = b"\x80\x04B" + struct.pack("<I", len(bomb)) + bomb + b"q\x000" + calls + b"N."
    result, _elapsed, peak = measured(data)
    assert not rules(result) & {"SL005"}, result.findings
    assert peak < 40 * MB, f"50 decodes held {peak / MB:.0f} MB"


# -- truncation --------------------------------------------------------------------------------------------------------
def _real_pickles() -> list[bytes]:
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression().fit(np.array([[0.0], [1.0], [2.0], [3.0]]), np.array([0, 0, 1, 1]))
    values = [{"a": [1, 2.5, "x", b"y", None], "b": (True, 2**70)}, np.arange(6, dtype=np.int16), model]
    return [pickle.dumps(v, protocol=p) for v in values for p in (0, 2, 4, 5)]


def test_truncation_at_every_offset_never_passes() -> None:
    for data in _real_pickles():
        full = safeload.scan(data)
        assert full.verdict("medium") == "safe", full.findings
        for cut in range(len(data)):
            result = safeload.scan(data[:cut])
            assert not rules(result) & {"SL005"}, (cut, result.findings)
            assert result.verdict("medium") == "unsafe", (data[:cut][-40:], result.findings)


def test_bytes_after_stop_are_reported() -> None:
    data = pickle.dumps({"a": 1}, protocol=4)
    result = safeload.scan(data + b"\xff\xfe\xfd")
    assert "SL108" in rules(result)


# -- configuration -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "value", "data", "rule_id"), [
    ("MAX_OPCODES", "100000", b"\x80\x02" + b"N0" * 100_000 + b"N.", "SL010"),
    ("MAX_MEMO", "1000", b"\x80\x04N" + b"\x94" * 70_000 + b".", "SL011"),
    ("MAX_NESTING", "1", _nest(b"\x80\x02N.", 2), "SL013"),
])
def test_limits_from_environment(monkeypatch: pytest.MonkeyPatch, name: str, value: str, data: bytes,
                                 rule_id: str) -> None:
    monkeypatch.setenv(f"SAFELOAD_{name}", value)
    assert rule_id in rules(safeload.scan(data))


def test_every_limit_has_its_own_rule() -> None:
    from safeload.rules import RULES

    for rule_id in ("SL010", "SL011", "SL012", "SL013", "SL014", "SL015", "SL016", "SL017", "SL018"):
        assert RULES[rule_id].severity >= Severity.HIGH
        assert RULES[rule_id].name.startswith("limit-")
