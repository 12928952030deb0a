"""The native engine: selection, fallback, the values it hands to the semantics, and hostile-input edges.

The differential equality with the Python engine is ``test_native_differential.py``; here are the properties
that are specific to the native representation (lazy values, identity and cycles, sparse memo, buffers).
"""

from __future__ import annotations

import json
import pickle
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import safeload
from safeload._context import ScanContext
from safeload.engine import native
from safeload.engine.walker import PickleWalker, engine_name, scan_pickle
from safeload.policy import Policy
from safeload.severity import Severity

needs_native = pytest.mark.skipif(not native.AVAILABLE, reason="the native engine was not compiled here")


def _s(text: str) -> bytes:
    raw = text.encode()
    return b"\x8c" + bytes([len(raw)]) + raw


def walk(data: bytes, engine: str, monkeypatch: pytest.MonkeyPatch) -> tuple[object, ScanContext]:
    monkeypatch.setenv("SAFELOAD_ENGINE", engine)
    ctx = ScanContext(Policy(), "<test>")
    results = scan_pickle(data, ctx)
    return results[0].value, ctx


# -- selection ------------------------------------------------------------------------------------------
@needs_native
def test_native_is_the_default_where_compiled() -> None:
    assert engine_name() == "native"
    result = safeload.scan(pickle.dumps({"a": [1, 2]}))
    assert result.engine == "native"
    assert result.to_dict()["engine"] == "native"


def test_python_engine_forced(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAFELOAD_ENGINE", "python")
    result = safeload.scan(pickle.dumps({"a": [1, 2]}))
    assert result.engine == "python"


def test_no_pickle_no_engine() -> None:
    assert safeload.scan(b"\x89HDF\r\n\x1a\n" + b"\0" * 100).engine == ""


def test_bad_engine_name_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAFELOAD_ENGINE", "fast")
    with pytest.raises(ValueError, match="SAFELOAD_ENGINE"):
        engine_name()


def test_fallback_without_the_extension(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(native, "AVAILABLE", False)
    assert engine_name() == "python"
    assert safeload.scan(pickle.dumps([1])).engine == "python"
    monkeypatch.setenv("SAFELOAD_ENGINE", "native")
    with pytest.raises(RuntimeError, match="not compiled"):
        engine_name()


def test_version_names_the_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    out = subprocess.run([sys.executable, "-m", "safeload", "--version"], capture_output=True, text=True,
                         check=True, env={"SAFELOAD_ENGINE": "python", "PATH": "/usr/bin:/bin"})
    assert "pickle engine: python" in out.stdout


def test_install_without_a_compiler_falls_back(tmp_path: Path) -> None:
    """``SAFELOAD_NO_NATIVE=1`` builds no extension (what a machine without a compiler gets): the package still
    imports and scans with the Python engine."""
    repo = Path(__file__).resolve().parents[1]
    code = ("import sys; sys.modules['safeload.engine._native'] = None\n"
            "import json, pickle, safeload\n"
            "r = safeload.scan(pickle.dumps([1, {'a': 2}]))\n"
            "print(json.dumps([r.engine, r.is_safe()]))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=repo)
    assert json.loads(out.stdout) == ["python", True]


# -- values the semantics get ----------------------------------------------------------------------------
@needs_native
def test_shared_and_cyclic_containers_keep_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    shared = [1, "x"]
    cyclic: list[object] = [shared]
    cyclic.append(cyclic)
    value = {"a": shared, "b": shared, "c": cyclic, "t": (shared, frozenset({1, "z"}))}
    data = pickle.dumps(value, protocol=4)
    got, _ = walk(data, "native", monkeypatch)
    assert isinstance(got, dict)
    assert got["a"] is got["b"] is got["t"][0] is got["c"][0]
    assert got["c"][1] is got["c"]
    assert got["t"][1] == frozenset({1, "z"})
    assert got["a"] == [1, "x"]


@needs_native
def test_dict_key_overwrites_follow_insertion_order(monkeypatch: pytest.MonkeyPatch) -> None:
    # {1: "a", True: "b", 1.0: "c"} keeps the first key object and the last value, as a real dict does.
    data = (b"\x80\x04}(K\x01" + _s("a") + b"\x88" + _s("b") + b"G" + struct.pack(">d", 1.0) + _s("c") + b"u.")
    native_value, _ = walk(data, "native", monkeypatch)
    python_value, _ = walk(data, "python", monkeypatch)
    assert native_value == python_value == {1: "c"}
    assert type(next(iter(native_value))) is int  # type: ignore[call-overload]


@needs_native
def test_mutation_after_a_call_reaches_the_escape_walk(monkeypatch: pytest.MonkeyPatch) -> None:
    """A list passed to a call and filled afterwards: the escape walk must see what was appended later."""
    data = (b"\x80\x04ccollections\ndefaultdict\n]q\x00\x85R0h\x00cposix\nsystem\na0N.")
    for engine in ("python", "native"):
        _, ctx = walk(data, engine, monkeypatch)
        hits = [f for f in ctx.findings if f.subject == "posix.system"]
        assert hits and max(f.severity for f in hits) >= Severity.HIGH, (engine, ctx.findings)


@needs_native
def test_deep_nesting_is_built_without_recursion(monkeypatch: pytest.MonkeyPatch) -> None:
    depth = 200_000
    data = b"\x80\x04" + b"]" * depth + b"a" * (depth - 1) + b"."
    value, ctx = walk(data, "native", monkeypatch)
    assert not [f for f in ctx.findings if f.severity >= Severity.MEDIUM]
    level = 0
    while isinstance(value, list) and value:
        value = value[0]
        level += 1
    assert level == depth - 1


@needs_native
def test_plain_root_is_not_built_for_the_escape_walk(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAFELOAD_ENGINE", "native")
    ctx = ScanContext(Policy(), "<test>")
    walker = PickleWalker(pickle.dumps([{"a": i} for i in range(1000)], protocol=4), ctx)
    res = walker.walk(0)
    assert isinstance(res, native.NativeResult)
    assert res.escape_root() is None
    assert res.root_int() is None
    assert res.value == [{"a": i} for i in range(1000)]


@needs_native
def test_sparse_and_exotic_memo_indices(monkeypatch: pytest.MonkeyPatch) -> None:
    streams = [
        b"\x80\x04K\x07r\xff\xff\xff\xffj\xff\xff\xff\xff\x86.",              # LONG_BINPUT/GET at 2**32-1
        b"\x80\x04K\x07r\x00\x00\x10\x00K\x08r\x00\x00\x00\x00j\x00\x00\x10\x00\x86.",  # sparse, then dense
        b"I5\np-3\ng-3\n\x86.",                                                  # negative text index
        b"I5\np99999999999999999999\ng99999999999999999999\n\x86.",                # beyond 64 bits
        b"I5\np1_0\ng10\n\x86.",                                                 # int() accepts underscores
        b"I5\np 4 \ng4\n\x86.",
    ]
    for data in streams:
        native_value, native_ctx = walk(data, "native", monkeypatch)
        python_value, python_ctx = walk(data, "python", monkeypatch)
        assert native_value == python_value, data
        assert [(f.rule_id, f.location.offset) for f in native_ctx.findings] == \
            [(f.rule_id, f.location.offset) for f in python_ctx.findings]


@needs_native
def test_memo_limit_and_marks_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAFELOAD_ENGINE", "native")
    from safeload.policy import Limits

    policy = Policy(limits=Limits(max_memo=10, max_marks=5))
    memo = b"\x80\x04" + b"K\x01\x94" * 20 + b"."
    marks = b"\x80\x04" + b"(" * 10 + b"."
    for data, rule in ((memo, "SL011"), (marks, "SL012")):
        result = safeload.scan(data, policy=policy)
        assert rule in {f.rule_id for f in result.findings}


@needs_native
def test_file_scan_releases_the_mapping(tmp_path: Path) -> None:
    path = tmp_path / "m.pkl"
    path.write_bytes(pickle.dumps([{"k": "v"}] * 3))
    with open(path, "rb") as handle:
        assert safeload.pickle_load(handle) == [{"k": "v"}] * 3   # mmap closed after the scan: no BufferError


@needs_native
@settings(max_examples=400, deadline=None, database=None)
@given(st.binary(max_size=24))
def test_utf8_check_agrees_with_python(raw: bytes) -> None:
    try:
        raw.decode("utf-8", "surrogatepass")
        expected = True
    except UnicodeDecodeError:
        expected = False
    assert native._native.utf8_valid(raw) is expected


@needs_native
@pytest.mark.parametrize("raw", [b"\xed\xa0\x80", b"\xed\xbf\xbf", b"\xe0\x9f\xbf", b"\xf0\x8f\xbf\xbf",
                                 b"\xf4\x90\x80\x80", b"\xc0\x80", b"\xc2", b"\xf5\x80\x80\x80", b"\xef\xbf\xbf",
                                 b"\xf4\x8f\xbf\xbf", b"a" * 9 + b"\xff"])
def test_utf8_edges(raw: bytes) -> None:
    try:
        raw.decode("utf-8", "surrogatepass")
        expected = True
    except UnicodeDecodeError:
        expected = False
    assert native._native.utf8_valid(raw) is expected


@pytest.mark.slow
def test_wheel_without_a_compiler_has_no_extension(tmp_path: Path) -> None:
    """Where no C compiler works, the build warns and produces a wheel without the extension (optional)."""
    import os
    import zipfile

    pytest.importorskip("setuptools")  # --no-build-isolation builds with the venv's setuptools
    repo = Path(__file__).resolve().parents[1]
    env = dict(os.environ, CC="/bin/false", CXX="/bin/false")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w",
                    str(tmp_path), str(repo)], check=True, env=env, capture_output=True, cwd=tmp_path)
    wheel = next(tmp_path.glob("safeload-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "safeload/engine/native.py" in names
    assert not [n for n in names if "_native." in n and not n.endswith(".c")]
