"""Differential tests: the scan against what CPython's unpicklers really resolve and call.

The reference is ``tests/fuzz/sl_oracle.py``, run in a subprocess (memory and time capped): the C and the
pure-Python unpickler load each input with a ``find_class`` that records ``(module, name)`` and returns an
inert stand-in, so we learn which globals the real loader would import and which it would call, without
importing or calling any of them (an audit hook fences the run as well).

Property checked for every input:
- every global the real loader *calls* that is not on the allowlist is a finding (same subject) at MEDIUM
  or above: a payload the loader reaches is never missed;
- every global it only *resolves* (imports) is a finding, or the scan already blocks at the default
  threshold (a stream that breaks inside a GLOBAL line makes the pure-Python unpickler import a truncated
  name and stop; bytes that no pickle parser gets far in are SL003: import-only divergences, documented in
  docs/hardening.md).
Arguments decide for ``getattr``/``partial``-style names (``argcheck``), which the stand-ins cannot show, so
those are left to the regression tests.
"""

from __future__ import annotations

import base64
import copyreg
import json
import pickle
import random
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import safeload
from safeload.catalog.classify import classify
from safeload.findings import ScanResult
from safeload.severity import Severity

FUZZ_DIR = Path(__file__).parent / "fuzz"
sys.path.insert(0, str(FUZZ_DIR))

import sl_corpus  # noqa: E402
import sl_oracle  # noqa: E402


def run_oracle(inputs: list[bytes], *ext: str) -> list[dict[str, Any]]:
    proc = subprocess.run(
        [sys.executable, str(FUZZ_DIR / "sl_oracle.py"), *ext],
        input="".join(base64.b64encode(b).decode() + "\n" for b in inputs),
        capture_output=True, text=True, timeout=300, check=False,
    )
    outs = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(outs) == len(inputs), proc.stderr[-3000:]
    for out in outs:
        assert "violation" not in out, f"the oracle sandbox saw {out['violation']}: {proc.stderr[-2000:]}"
    return outs


def problems(data: bytes, out: dict[str, Any], result: ScanResult) -> list[str]:
    """What the real loader resolved or called that the scan did not report."""
    by_subject: dict[str | None, Severity] = {}
    for f in result.findings:
        by_subject[f.subject] = max(f.severity, by_subject.get(f.subject, Severity.INFO))
    top = max((f.severity for f in result.findings), default=Severity.INFO)
    trailing = any(f.rule_id == "SL108" for f in result.findings)
    # An opcode straddling a FRAME end is CRITICAL: the engine reads on linearly and cannot name what the C
    # unpickler's other reading calls (see FRAME_LINE_STRADDLES), but it blocks at every threshold.
    straddle = any(f.rule_id == "SL113" and f.severity >= Severity.CRITICAL for f in result.findings)
    resolved, called = sl_oracle.summarize(out)
    found = []
    for module, name in sorted(resolved):
        cls = classify(module, name)
        if cls.kind in ("allowed", "argcheck") or not all(p.isidentifier() and p.isascii()
                                                           for p in cls.full_name.split(".")):
            # Names no module or attribute can have: the sniffing probe (pickletools) escape-decodes GLOBAL and
            # INST operands and reads them as ASCII, the loaders read UTF-8 as is; such a stream without PROTO
            # is SL003 (blocking at the default threshold), and nothing real resolves from such a name.
            continue
        seen = by_subject.get(cls.full_name)
        if (module, name) in called:
            if (seen is None or seen < Severity.MEDIUM) and not straddle:
                found.append(f"called {cls.full_name} ({cls.kind}) not reported: {data[:200]!r}")
        elif seen is None and top < Severity.MEDIUM and not trailing:
            # (A later stream that breaks before any call is reported as trailing bytes, SL108: a loader
            # that reads on imports what it names and stops.)
            found.append(f"imported {cls.full_name} ({cls.kind}) not reported, not blocking: {data[:200]!r}")
    return found


def check_all(inputs: list[bytes], *ext: str) -> None:
    outs = run_oracle(inputs, *ext)
    failures: list[str] = []
    for data, out in zip(inputs, outs, strict=True):
        result = safeload.scan(data)
        assert not [f for f in result.findings if f.rule_id == "SL005"], (data, result.findings)
        failures += problems(data, out, result)
    assert not failures, "\n".join(failures[:20])


def _s(text: str) -> bytes:
    raw = text.encode()
    return b"\x8c" + bytes([len(raw)]) + raw


def _frame(body: bytes) -> bytes:
    return b"\x95" + struct.pack("<Q", len(body)) + body


TRICKY: dict[str, bytes] = {
    # B3: STACK_GLOBAL operands from the memo, decoys left on the literal trail.
    "stack_global_memo": (b"\x80\x04" + _s("os") + b"q\x02\x30" + _s("system") + b"q\x03\x30" + _s("torch")
                          + b"q\x00\x30" + _s("LongStorage") + b"q\x01\x30h\x02h\x03\x93" + _s("id") + b"\x85R."),
    "stack_global_memoize": (b"\x80\x04" + _s("subprocess") + b"\x94\x30" + _s("check_output") + b"\x94\x30"
                             + b"h\x00h\x01\x93]" + _s("id") + b"a\x85R."),
    "stack_global_long_get": (b"\x80\x04" + _s("posix") + b"r\x10\x00\x00\x00" + _s("system")
                              + b"r\x11\x00\x00\x00\x30\x30j\x10\x00\x00\x00j\x11\x00\x00\x00\x93" + _s("id") + b"\x85R."),
    # B5: protocol-0 STRING operands, no PROTO; escapes and both quote styles.
    "string_operands": b"S'os'\nS'system'\n\x93S'ls'\n\x85R.",
    "string_escapes": b"S'\\x6fs'\nS\"sys\\x74em\"\n\x93S'ls'\n\x85R.",
    "unicode_escapes": b"V\\u006fs\nVsyst\\u0065m\n\x93Vid\n\x85R.",
    "binstring_operands": b"\x80\x02U\x02osU\x06system\x93U\x02id\x85R.",
    # B1/B2: INST and OBJ (+POP), including the py2 module name.
    "inst": b"(S'print(1)'\ni__builtin__\nexec\n.",
    "inst_pop": b"(S'id'\niposix\nsystem\n0N.",
    "obj_pop": b"\x80\x04(" + _s("smtplib") + _s("SMTP") + b"\x93" + _s("127.0.0.1") + b"o0N.",
    "obj_global": b"(cos\nsystem\nS'id'\no.",
    "newobj_ex": b"\x80\x04" + _s("subprocess") + _s("Popen") + b"\x93]" + _s("id") + b"a\x85}\x92.",
    # FRAMEs: nested payload inside frames, several frames, an opcode straddling a frame end.
    "framed": b"\x80\x04" + _frame(_s("os") + _s("system") + b"\x93" + _s("id") + b"\x85R.") ,
    "two_frames": (b"\x80\x04" + _frame(_s("os") + _s("system") + b"\x93") + _frame(_s("id") + b"\x85R.")),
    "straddle": b"\x80\x04\x95\x03\x00\x00\x00\x00\x00\x00\x00" + _s("os") + _s("system") + b"\x93" + _s("id") + b"\x85R.",
    "zero_frame": b"\x80\x04\x95" + b"\x00" * 8 + _s("os") + _s("system") + b"\x93" + _s("id") + b"\x85R.",
    "frame_overrun": b"\x80\x05\x95\xff\x00\x00\x00\x00\x00\x00\x00" + _s("os") + _s("system") + b"\x93"
                     + _s("id") + b"\x85R.",
    # Several streams per buffer (B13), PROTO mid-stream, errors after the payload (B10).
    "second_stream": pickle.dumps([1, 2]) + b"cposix\nsystem\n(S'id'\ntR.",
    "third_stream": pickle.dumps(1) + pickle.dumps(2, protocol=0) + b"\x80\x02cos\nsystem\nX\x02\x00\x00\x00id\x85R.",
    "proto_mid_stream": b"\x80\x02]\x80\x04" + _s("os") + _s("system") + b"\x93" + _s("id") + b"\x85Ra.",
    "broken_after_payload": b"\x80\x02cos\nsystem\nX\x02\x00\x00\x00id\x85R\xff\xff",
    "broken_after_payload_proto0": b"cos\nsystem\n(S'id'\ntR\xff\xff",
    "broken_after_inst_proto0": b"(S'print(1)'\ni__builtin__\nexec\n\xff",
    "broken_after_stack_global_proto0": b"S'os'\nS'system'\n\x93S'id'\n\x85R\x00",
    # The pure-Python unpickler (joblib's) reads a last line without its newline and drops its last byte.
    "inst_line_cut_at_eof": b"(S'id'\niposix\nsystemX",
    "global_line_cut_at_eof": b"\x80\x02(X\x02\x00\x00\x00idcposix\nsystemX",
    "after_stop_garbage": b"\x80\x02cos\nsystem\nX\x02\x00\x00\x00id\x85R.\xff\xfe",
    # The C unpickler stops reading INT/LONG/FLOAT/GET/PUT arguments at a NUL byte (strtol and friends).
    "int_nul_suffix": b"I1\x00junk\n0cos\nsystem\n(S'id'\ntR.",
    "int_empty_nul": b"I\x00junk\n0cos\nsystem\n(S'id'\ntR.",
    "long_nul_suffix": b"L5\x00junk\n0cos\nsystem\n(S'id'\ntR.",
    "float_nul_suffix": b"F1.5\x00junk\n0cos\nsystem\n(S'id'\ntR.",
    "get_put_nul_suffix": b"cos\nsystem\np0\x00x\n0g0\x00y\n(S'id'\ntR.",
    "nul_suffix_then_third_stream": b"K\x01.I2\x00\x00O8\n.\x80\x02cos\nsystem\nX\x02\x00\x00\x00id\x85R.",
    # Dotted names, py2 names, computed names.
    "dotted_name": b"\x80\x04" + _s("pathlib") + _s("os.system") + b"\x93" + _s("id") + b"\x85R.",
    "py2_name": b"c__builtin__\neval\n(S'1'\ntR.",
    "copy_reg": b"ccopy_reg\n_reconstructor\n(cposix\nsystem\nc__builtin__\nobject\nNtR.",
    "get_name_from_call": (b"\x80\x04" + _s("builtins") + _s("str") + b"\x93" + _s("lower") + b"\x85R"
                           + _s("OS") + b"\x85R" + _s("system") + b"\x93."),
    "nested_pickle": b"\x80\x02cpickle\nloads\nC\x14cos\nsystem\n(S'id'\ntR.\x85R.",
    # NEXT_BUFFER / READONLY_BUFFER and persistent ids around a payload.
    "next_buffer": b"\x80\x05\x97\x98\x30cos\nsystem\nX\x02\x00\x00\x00id\x85R.",
    "persid": b"Pkey\n0cos\nsystem\n(S'id'\ntR.",
    "binpersid": b"\x80\x02X\x01\x00\x00\x00kQ0cos\nsystem\nX\x02\x00\x00\x00id\x85R.",
}


def test_tricky_streams_match_the_real_unpicklers() -> None:
    check_all(list(TRICKY.values()))


@pytest.mark.parametrize("name", sorted(TRICKY))
def test_tricky_stream_blocks(name: str) -> None:
    # Each of these reaches a dangerous global in at least one real unpickler (or is a FRAME divergence).
    result = safeload.scan(TRICKY[name])
    assert result.verdict("medium") == "unsafe", result.findings


# A text line that crosses a FRAME end: the C unpickler reading a file (pickle.load, torch.load) refills its
# buffer with file.readline() and drops the frame's tail of the line; a linear reader keeps it. The scanner
# sees "xos.system" (MEDIUM), the loader calls os.system.
FRAME_LINE_STRADDLES = {
    "global_module_line": b"\x80\x04\x95\x02" + b"\x00" * 7 + b"cxos\nsystem\n(S'id'\ntR.",
    # The line is invalid UTF-8 only in its in-frame part: the engine fails, the C unpickler reads on.
    "global_line_bad_utf8_in_frame": b"\x80\x04\x95\x03" + b"\x00" * 7 + b"c\x8dxos\nsystem\n(S'id'\ntR.",
    "unicode_operand": (b"\x80\x04\x95\x02" + b"\x00" * 7 + b"Vxos\n" + _s("system") + b"\x93" + _s("id")
                        + b"\x85R."),
}


@pytest.mark.parametrize("name", sorted(FRAME_LINE_STRADDLES))
def test_frame_straddling_a_text_line_blocks_at_every_threshold(name: str) -> None:
    data = FRAME_LINE_STRADDLES[name]
    (out,) = run_oracle([data])
    assert ("os", "system") in sl_oracle.summarize(out)[1]  # the C unpickler (file input) calls os.system
    result = safeload.scan(data)
    assert result.verdict("critical") == "unsafe", result.findings


def test_ext_opcodes_resolve_like_the_registry() -> None:
    targets = {0x4A: ("posix", "system"), 0x1234: ("os", "system"), 0x7FFFFFF0: ("builtins", "exec")}
    streams = [b"\x80\x02" + op + code.to_bytes(width, "little") + b"X\x02\x00\x00\x00id\x85R."
               for op, width, code in ((b"\x82", 1, 0x4A), (b"\x83", 2, 0x1234), (b"\x84", 4, 0x7FFFFFF0))]
    outs = run_oracle(streams, *(f"--ext={m}:{n}:{code}" for code, (m, n) in targets.items()))
    for stream, out, target in zip(streams, outs, targets.values(), strict=True):
        _resolved, called = sl_oracle.summarize(out)
        assert target in called  # the victim process resolves the code...
        result = safeload.scan(stream)  # ...this one has no registration: the scan ranks EXT itself
        assert {"SL107", "SL111"} <= {f.rule_id for f in result.findings}
        assert result.max_severity is not None
        assert result.max_severity >= Severity.HIGH
    # Where this process has the registration, the scan names the global it maps to.
    copyreg.add_extension("posix", "system", 0x4A)
    try:
        result = safeload.scan(streams[0])
        assert "posix.system" in {f.subject for f in result.findings}
    finally:
        copyreg.remove_extension("posix", "system", 0x4A)


def test_mutated_corpus_matches_the_real_unpicklers() -> None:
    rng = random.Random(20261122)  # noqa: S311 - a reproducible corpus, not a secret
    benign = sl_corpus.benign_seeds()
    malicious = sl_corpus.malicious_seeds() + list(TRICKY.values())
    corpus = benign + malicious
    inputs = list(corpus)
    for _ in range(2500):
        seed = rng.choice(malicious if rng.random() < 0.6 else benign)
        inputs.append(sl_corpus.mutate(seed, rng, corpus))
    check_all(inputs)


def _random_value(rng: random.Random, depth: int = 0) -> Any:
    kinds = ["int", "big", "float", "str", "bytes", "none", "bool"]
    if depth < 4:
        kinds += ["list", "tuple", "dict", "set", "frozenset", "bytearray"]
    kind = rng.choice(kinds)
    if kind == "int":
        return rng.randint(-(2**31), 2**31)
    if kind == "big":
        return rng.randint(-(2**200), 2**200)
    if kind == "float":
        return rng.random() * 10 ** rng.randint(-300, 300)
    if kind == "str":
        return "".join(chr(rng.choice([rng.randint(32, 126), rng.randint(0x80, 0x10FFFF)])) for _ in range(rng.randint(0, 20))).encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    if kind == "bytes":
        return rng.randbytes(rng.randint(0, 300))
    if kind == "bytearray":
        return bytearray(rng.randbytes(rng.randint(0, 30)))
    if kind == "none":
        return None
    if kind == "bool":
        return rng.random() < 0.5
    items = [_random_value(rng, depth + 1) for _ in range(rng.randint(0, 5))]
    if kind == "list":
        return items
    if kind == "tuple":
        return tuple(items)
    hashable = [i for i in items if isinstance(i, int | str | bytes | float | tuple | frozenset) and _hashable(i)]
    if kind == "dict":
        return {k: _random_value(rng, depth + 1) for k in hashable}
    if kind == "set":
        return set(hashable)
    return frozenset(hashable)


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def test_generated_plain_data_is_clean_in_every_protocol() -> None:
    rng = random.Random(7)  # noqa: S311 - a reproducible corpus, not a secret
    inputs = [pickle.dumps(_random_value(rng), protocol=rng.randrange(6)) for _ in range(400)]
    outs = run_oracle(inputs)
    for data, out in zip(inputs, outs, strict=True):
        resolved, _called = sl_oracle.summarize(out)
        assert out["c"]["error"] is None and out["py"]["error"] is None
        assert all(classify(m, n).kind == "allowed" for m, n in resolved), resolved
        result = safeload.scan(data)
        assert result.verdict("low") == "safe", (data[:120], result.findings)


# --- text INT / LONG arguments read exactly as the C unpickler reads them (red-team finding: '010' is octal) ----
_TEXT_ALPHABET = b"0123456789xXoObB+-_ Lab\x00"


@settings(max_examples=400, deadline=None)
@given(st.binary(min_size=0, max_size=8).map(lambda b: bytes(_TEXT_ALPHABET[x % len(_TEXT_ALPHABET)] for x in b)),
       st.sampled_from([b"I", b"L"]))
def test_text_int_and_long_match_the_c_unpickler(text: bytes, opcode: bytes) -> None:
    import pickle as std_pickle

    from safeload._context import ScanContext
    from safeload.engine.walker import PickleWalker
    from safeload.policy import Policy

    data = b"(" + opcode + text + b"\nt."
    try:
        expected: object = std_pickle.loads(data)
    except Exception:  # noqa: BLE001 - any refusal of the C unpickler
        expected = "error"
    ctx = ScanContext(Policy(), "<text-int>")
    res = PickleWalker(data, ctx).walk(0)
    got: object = res.value if res.complete else "error"
    assert got == expected and type(got) is type(expected), (data, got, expected)
