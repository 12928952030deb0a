"""Issue 15, fixed costs: ``import safeload`` and a first safe load stay light, without changing behaviour.

Each import check runs in a fresh interpreter (``sys.modules`` of the test process is full of everything). The
lazy public names resolve to the very objects their modules define; the lazy logger drops a record only where
the library's NullHandler would have; the config pre-check never skips a file that could hold ``[tool.safeload]``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import pickle
import subprocess
import sys
from collections import OrderedDict
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import safeload
from safeload._log import LazyLogger
from safeload.catalog.uses import Use
from safeload.config import _may_name_safeload, find_config_file, load_config
from safeload.exceptions import ConfigError
from safeload.severity import Severity

ROOT = Path(__file__).resolve().parents[1]

# What ``import safeload`` used to pull in (issue 15's profile) and must not again: each is milliseconds.
NOT_AT_IMPORT = ("logging", "tomllib", "typing", "dataclasses", "inspect", "re", "enum", "pickle", "json", "html",
                 "pathlib", "threading", "sqlite3", "bz2", "lzma", "base64", "tarfile", "hashlib", "datetime",
                 "urllib", "torch", "numpy", "tensorflow", "keras", "joblib", "safeload.findings", "safeload.policy",
                 "safeload.config", "safeload.scan", "safeload.catalog", "safeload.engine", "safeload.integrity")
# What a first safe load of a plain pickle must not need (cwd without a pyproject.toml).
NOT_AT_FIRST_LOAD = ("logging", "tomllib", "json", "html", "sqlite3", "bz2", "lzma", "base64", "tarfile",
                     "datetime", "safeload.integrity.lockfile", "safeload.integrity.signing",
                     "safeload.integrity.manifest", "safeload.integrity.cache", "safeload._walk",
                     "safeload.containers.torch", "torch", "numpy",
                     # perf-first: each of these cost 1-15 ms of CPU at the first load (dataclasses: inspect, ast,
                     # dis, tokenize; pathlib: urllib.parse, ipaddress; pickletools: 86 kB of bytecode)
                     "dataclasses", "inspect", "ast", "dis", "tokenize", "typing", "pathlib", "urllib", "ipaddress",
                     "pickletools", "threading", "copy", "mmap", "zlib", "binascii", "hashlib", "importlib.util")
# perf-fixed: a pickle naming no global reaches neither (the lazy public names, safeload's own module lookups and
# the rare warnings no longer go through them); one naming a global still does (the catalogue's source lookups).
NOT_AT_PLAIN_LOAD = (*NOT_AT_FIRST_LOAD, "importlib", "warnings")
# session 4: a clean load with no digest, lock or signature required and too small for the scan cache opens no
# integrity session; the rule table loads with the first finding that needs it; context managers are classes and
# the scoped-trust ContextVar is created by the first ``trusted()``.
NOT_AT_CLEAN_PLAIN_LOAD = ("contextlib", "contextvars", "safeload.rules", "safeload.integrity.check",
                           "safeload.integrity.digest", "safeload.catalog")
# fixedcost: a stream that names no global and calls nothing needs neither the semantics nor the catalogue
# (StreamWalker switches to PickleWalker at its first semantic step), nor the denylist (nothing is trusted), nor the
# Keras directory helpers; with the native engine, not the Python opcode loop either (engine/pyloop.py).
NOT_BEFORE_A_GLOBAL = ("safeload.engine.semantics", "safeload.engine.pickle_walker", "safeload.engine.facts",
                       "safeload.catalog.decide", "safeload.catalog.classify", "safeload.catalog.contracts",
                       "safeload.catalog.entries", "safeload.catalog.legacy", "safeload.catalog.mappings",
                       "safeload.catalog.deny", "safeload.catalog.uses", "safeload.containers.keras")
# Modules a first safe load of a small pickle adds to ``sys.modules`` after ``import safeload`` (cwd without a
# pyproject.toml): 27 with the native engine (26 of them safeload's own); 35 before session 4, 46 before
# fixedcost, 51 before perf-fixed, 142 before perf-first.
MAX_FIRST_LOAD_MODULES = 28
MAX_GLOBAL_LOAD_MODULES = 60  # the same with a pickle naming collections.OrderedDict: 59 (64 allowed before)
MAX_IMPORT_MODULES = 20  # 17 today: the package, _version, exceptions and _pickle's stdlib dependencies


def _fresh(code: str, cwd: Path) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFELOAD_")}
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=cwd,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    out: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    out["stderr"] = proc.stderr
    return out


def _loaded(modules: object, names: tuple[str, ...]) -> list[str]:
    assert isinstance(modules, list)
    return sorted({name for name in names for m in modules if m == name or m.startswith(name + ".")})


def test_import_safeload_pulls_in_no_heavy_module(tmp_path: Path) -> None:
    got = _fresh("import sys\nbefore = set(sys.modules)\nimport safeload\n"
                 "new = sorted(set(sys.modules) - before)\nimport json\nprint(json.dumps({'new': new}))", tmp_path)
    assert _loaded(got["new"], NOT_AT_IMPORT) == []
    assert isinstance(got["new"], list)
    assert [m for m in got["new"] if m.startswith("safeload")] == ["safeload", "safeload._stdlib_imports",
                                                                   "safeload._version", "safeload.exceptions"]


def test_import_safeload_module_count_is_bounded(tmp_path: Path) -> None:
    got = _fresh("import sys\nbefore = set(sys.modules)\nimport safeload\n"
                 "new = sorted(set(sys.modules) - before)\nimport json\nprint(json.dumps({'new': new}))", tmp_path)
    assert isinstance(got["new"], list)
    assert len(got["new"]) <= MAX_IMPORT_MODULES, got["new"]


def test_first_safe_load_of_a_pickle_needs_no_optional_module(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    code = (
        "import sys, pickle\nat_startup = set(sys.modules)\nimport safeload\n"
        "value = safeload.pickle_loads(pickle.dumps({'a': [1, 2.5, 'x']}))\n"
        f"evil = b'cposix\\nsystem\\n(Vtouch {marker}\\ntR.'\n"
        "try:\n    safeload.pickle_loads(evil)\n    refused = False\n"
        "except safeload.UnsafePickleError:\n    refused = True\n"
        "mods = sorted(set(sys.modules) - at_startup)\nimport json\n"  # not what site's .pth files import
        "print(json.dumps({'value': value, 'refused': refused, 'mods': mods}))")
    got = _fresh(code, tmp_path)
    assert got["value"] == {"a": [1, 2.5, "x"]}
    assert got["refused"] is True
    assert not marker.exists()
    assert _loaded(got["mods"], NOT_AT_PLAIN_LOAD) == []
    assert got["stderr"] == ""  # the refusal's audit record went nowhere: logging was never configured


def test_lazy_public_names_are_the_defining_modules_objects() -> None:
    import importlib

    for name in safeload.__all__:
        value = getattr(safeload, name)
        target = safeload._LAZY.get(name)
        if target is not None:
            module, _, attr = target.partition(":")
            assert value is getattr(importlib.import_module(module), attr or name), name
    assert safeload.Severity is Severity
    from safeload import Policy, ScanResult, pickle_load, scan  # noqa: F401 - from-imports resolve too

    assert callable(scan)
    with pytest.raises(AttributeError):
        _ = safeload.no_such_name


def test_scan_stays_the_function_when_its_submodule_is_imported(tmp_path: Path) -> None:
    code = ("import types, json, safeload\nimport safeload.scan\nimport safeload.loaders._common\n"
            "print(json.dumps({'function': isinstance(safeload.scan, types.FunctionType),"
            " 'name': safeload.scan.__name__, 'module': safeload.scan.__module__}))")
    got = _fresh(code, tmp_path)
    assert (got["function"], got["name"], got["module"]) == (True, "scan", "safeload.scan")
    got = _fresh("import safeload.scan, json, types, safeload\n"
                 "print(json.dumps({'function': isinstance(safeload.scan, types.FunctionType)}))", tmp_path)
    assert got["function"] is True


def test_unsafe_pickle_error_is_still_an_unpickling_error() -> None:
    assert issubclass(safeload.UnsafePickleError, pickle.UnpicklingError)
    assert issubclass(safeload.UnsafeKerasModelError, ValueError)


# -- the lazy logger --------------------------------------------------------------------------------------
def test_lazy_logger_reaches_handlers_once_logging_is_loaded(caplog: pytest.LogCaptureFixture) -> None:
    log = LazyLogger("safeload.test_fixed_costs")
    with caplog.at_level(logging.INFO, logger="safeload"):
        log.info("hello %s", "world")
        log.warning("careful")
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            log.exception("failed")
        assert log.isEnabledFor(logging.INFO)
        assert not log.isEnabledFor(logging.DEBUG)
    records = [(r.levelno, r.getMessage(), r.funcName) for r in caplog.records]
    assert (logging.INFO, "hello world", "test_lazy_logger_reaches_handlers_once_logging_is_loaded") in records
    assert (logging.WARNING, "careful", "test_lazy_logger_reaches_handlers_once_logging_is_loaded") in records
    failed = next(r for r in caplog.records if r.getMessage() == "failed")
    assert failed.levelno == logging.ERROR and failed.exc_info is not None
    nulls = [h for h in logging.getLogger("safeload").handlers if type(h) is logging.NullHandler]
    assert len(nulls) == 1


def test_records_print_once_the_application_configures_logging(tmp_path: Path) -> None:
    code = ("import logging, sys, json\nimport safeload\n"
            "logging.basicConfig(level=logging.INFO, stream=sys.stderr, format='%(levelname)s %(name)s %(message)s')\n"
            "try:\n    safeload.pickle_loads(b'cposix\\nsystem\\n(Vtrue\\ntR.')\nexcept safeload.UnsafeModelError:\n"
            "    pass\nprint(json.dumps({}))")
    got = _fresh(code, tmp_path)
    assert "WARNING safeload.loaders" in str(got["stderr"])


# -- the configuration pre-check -----------------------------------------------------------------------------
@pytest.mark.parametrize("text", [
    '[tool.safeload]\nthreshold = "high"\n',
    '[tool."safeload"]\nthreshold = "high"\n',
    "[tool.'safeload']\nthreshold = 'high'\n",
    'tool.safeload.threshold = "high"\n',
    'tool = { safeload = { threshold = "high" } }\n',
    '[tool."safe\\u006Coad"]\nthreshold = "high"\n',  # the key spelled with an escape: no "safeload" bytes
    '[tool."\\u0073afeload"]\nthreshold = "high"\n',
])
def test_every_spelling_of_the_table_is_read(tmp_path: Path, text: str) -> None:
    (tmp_path / "pyproject.toml").write_text(text, encoding="utf-8")
    assert _may_name_safeload(text.encode())
    assert find_config_file(tmp_path) == tmp_path / "pyproject.toml"
    assert load_config(start=str(tmp_path), environ={}).threshold is Severity.HIGH


def test_a_pyproject_in_another_encoding_is_an_error_not_ignored(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_bytes('[tool.safeload]\nthreshold = "high"\n'.encode("utf-16"))
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(start=str(tmp_path), environ={})


def test_a_pyproject_without_safeload_is_not_parsed(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "demo"\n[tool.ruff]\nline-length = 99\n')
    code = ("import sys, json\nfrom safeload.config import load_config\nconfig = load_config(environ={})\n"
            "print(json.dumps({'tomllib': 'tomllib' in sys.modules, 'threshold': config.threshold.label}))")
    got = _fresh(code, tmp_path)
    assert (got["tomllib"], got["threshold"]) == (False, "medium")
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "demo"\n[tool.safeload]\nthreshold = "low"\n')
    got = _fresh(code, tmp_path)
    assert (got["tomllib"], got["threshold"]) == (True, "low")


# -- hand-written records behave like the dataclasses they replace ------------------------------------------
def test_records_behave_like_their_dataclasses() -> None:
    import copy
    import dataclasses

    from safeload._source import SourceView
    from safeload.catalog.classify import Classification
    from safeload.catalog.contracts import Behaviour, Contract
    from safeload.engine.values import BigBytes
    from safeload.integrity.check import Failure, IntegrityInfo, Plan
    from safeload.integrity.options import Integrity
    from safeload.policy import Policy
    from safeload.rules import get_rule

    @dataclasses.dataclass(frozen=True)
    class Failure2:
        check: str
        reason: str
        expected: str | None = None
        actual: str | None = None

    a, b = Failure("lock", "gone"), Failure("lock", "gone", None, None)
    assert a == b and hash(a) == hash(b) and a != Failure("lock", "other")
    assert repr(a) == repr(Failure2("lock", "gone")).replace("Failure2", "Failure").replace(
        "test_records_behave_like_their_dataclasses.<locals>.", "")
    assert a != Failure2("lock", "gone")  # another class is never equal, as between dataclasses
    for frozen in (a, BigBytes(1, 2), Contract(Behaviour.DECODE), Classification("unknown", "x.y"),
                   IntegrityInfo(sha256="0" * 64), get_rule("SL001")):
        with pytest.raises(AttributeError):
            frozen.__setattr__("kind", "allowed")
        with pytest.raises(AttributeError):
            frozen.__delattr__(frozen._FIELDS[0])
        assert copy.copy(frozen) == frozen and copy.deepcopy(frozen) == frozen
        assert pickle.loads(pickle.dumps(frozen)) == frozen
        assert hash(copy.copy(frozen)) == hash(frozen)
        assert sorted(frozen.__slots__) == sorted(frozen._FIELDS)
    assert Classification("unknown", "x.y") == Classification("unknown", "x.y", deny_uses=Use(0))
    plan = Plan(Integrity(), None, "<bytes>", Policy())
    assert plan.signatures == [] and plan.failures == [] and plan.signatures is not Plan(
        Integrity(), None, "<bytes>", Policy()).signatures  # a fresh list each, as default_factory gave
    with pytest.raises(TypeError):
        hash(plan)
    view = SourceView(b"abc", 0, 3)
    view.start = 1  # mutable, as before
    assert view == SourceView(b"abc", 1, 3)
    assert repr(view) == "SourceView(data=b'abc', start=1, length=3, seekable=True)"


@st.composite
def _spelled_key(draw: st.DrawFn) -> str:
    """``safeload`` as a TOML key: bare, literal-quoted, or basic-quoted with any mix of escapes."""
    style = draw(st.sampled_from(["bare", "literal", "basic"]))
    if style == "bare":
        return "safeload"
    if style == "literal":
        return "'safeload'"
    parts = []
    for char in "safeload":
        form = draw(st.sampled_from(["plain", "u", "U"]))
        parts.append(char if form == "plain" else f"\\u{ord(char):04x}" if form == "u" else f"\\U{ord(char):08X}")
    return '"' + "".join(parts) + '"'


def _spelled_tool(draw: st.DrawFn) -> str:
    return draw(st.sampled_from(["tool", '"tool"', "'tool'", '"\\u0074ool"', '"t\\u006Fol"']))


_WS = st.sampled_from(["", " ", "\t", "  ", " \t "])


@settings(max_examples=300, deadline=None)
@given(key=_spelled_key(), tool=st.composite(_spelled_tool)(), ws=st.tuples(_WS, _WS, _WS, _WS),
       layout=st.sampled_from(["table", "array", "sub", "dotted", "inline", "super", "super-array", "super-dotted"]),
       noise=st.sampled_from(["", '[project]\nname = "safeload"\n', '[project.scripts]\nsafeload = "x:y"\n',
                              "# [tool]\n", '[tool.ruff]\nline-length = 99\n']))
def test_the_pre_check_never_skips_a_document_with_the_table(key: str, tool: str, ws: tuple[str, str, str, str],
                                                             layout: str, noise: str) -> None:
    import tomllib

    a, b, c, d = ws
    dotted = f"{a}{tool}{b}.{c}{key}{d}"
    text = {"table": f'[{dotted}]\nthreshold = "high"\n',
            "array": f'[[{dotted}]]\nthreshold = "high"\n',
            "sub": f'[{dotted}.limits]\nmax_opcodes = 5\n',
            "dotted": f'{dotted}.threshold = "high"\n',
            "inline": f'{a}{tool}{b}={c}{{ {key}{d}= {{ threshold = "high" }} }}\n',
            "super": f'[{a}{tool}{b}]\n{key}{d}= {{ threshold = "high" }}\n',
            "super-array": f'[[{a}{tool}{b}]]\n{key}{d}.threshold = "high"\n',
            "super-dotted": f'[{a}{tool}{b}]\n{c}{key}{d}.threshold = "high"\n'}[layout]
    noisy = text + noise if layout in ("dotted", "inline") else noise + text  # root keys precede the headers
    try:
        document = tomllib.loads(noisy)
        text = noisy
    except tomllib.TOMLDecodeError:  # the noise redefines ``tool`` (``[tool.ruff]`` after ``[[tool]]``...)
        document = tomllib.loads(text)
    tool_value = document["tool"]
    assert "safeload" in (tool_value[0] if isinstance(tool_value, list) else tool_value)
    assert _may_name_safeload(text.encode("utf-8"))


@settings(max_examples=400, deadline=None)
@given(parts=st.lists(st.sampled_from([
    "[tool]\n", "[tool.x]\n", "[ tool ]\n", "[[tool]]\n", "[project]\n", "[project.scripts]\n", "['tool']\n",
    'name = "safeload"\n', 'safeload = "a:b"\n', "safeload.a = 1\n", "'safeload' = 2\n", "tool.y = 3\n",
    "tool.safeload.z = 4\n", "tool = { safeload = 5 }\n", "tool = { x = 6 }\n", "x = { tool = { safeload = 7 } }\n",
    "[tool . safeload]\n", "[tool.'safeload'.k]\n", 'q = """\n[tool]\n"""\n', "# tool.safeload\n",
    "[a.tool]\n", "[x]\n", 'k = "a\\"b\\\\"\n', '"t\\u006Fol" = { safeload = 8 }\n',
    '[tool."safe\\u006Coad"]\n', '["tool"]\n', "tool . 'safeload' = 9\n", '"\\u0073afeload" = 10\n']),
    max_size=6))
def test_the_pre_check_agrees_with_tomllib_on_mixed_documents(parts: list[str]) -> None:
    """Whenever tomllib reads a ``tool.safeload`` key out of a document, the pre-check did not skip it."""
    import tomllib

    text = "".join(parts)
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return
    tool_value = document.get("tool", {})
    tables = tool_value if isinstance(tool_value, list) else [tool_value]
    if any(isinstance(table, dict) and "safeload" in table for table in tables):
        assert _may_name_safeload(text.encode("utf-8")), text


def test_a_pyproject_that_names_the_package_but_has_no_table_is_not_parsed(tmp_path: Path) -> None:
    """Issue 15: a project's own ``pyproject.toml`` (this repository's) names ``safeload`` as its package, its
    scripts and its extras, never as a ``tool`` table: no ``tomllib`` at the first load from that directory."""
    data = (ROOT / "pyproject.toml").read_bytes()
    assert b"safeload" in data and b"[tool." in data
    assert "safeload" not in __import__("tomllib").loads(data.decode()).get("tool", {})
    assert not _may_name_safeload(data)
    (tmp_path / "pyproject.toml").write_bytes(data)
    code = ("import sys, json\nfrom safeload.config import load_config\nconfig = load_config(environ={})\n"
            "print(json.dumps({'tomllib': 'tomllib' in sys.modules, 'threshold': config.threshold.label}))")
    got = _fresh(code, tmp_path)
    assert (got["tomllib"], got["threshold"]) == (False, "medium")
    for table in ('[tool]\nsafeload = { threshold = "low" }\n', '[tool . "safeload"]\nthreshold = "low"\n',
                  'tool.safeload.threshold = "low"\n'):
        # a root-level dotted key must precede the first table header
        text = table + data.decode() if table.startswith("tool.") else data.decode() + "\n" + table
        (tmp_path / "pyproject.toml").write_text(text)
        got = _fresh(code, tmp_path)
        assert (got["tomllib"], got["threshold"]) == (True, "low"), table


# -- perf-first: the first safe load's module set, and the records that replaced the public dataclasses --------
_FIRST_LOAD = ("import sys, pickle\nimport safeload\nbefore = set(sys.modules)\n"
               "value = safeload.pickle_loads(pickle.dumps({'a': [1, 2.5, 'x']}))\n"
               "new = sorted(set(sys.modules) - before)\nimport json\n"
               "print(json.dumps({'value': value, 'new': new}))")


def test_first_safe_load_module_set_is_bounded(tmp_path: Path) -> None:
    got = _fresh(_FIRST_LOAD, tmp_path)
    assert got["value"] == {"a": [1, 2.5, "x"]}
    assert _loaded(got["new"], (*NOT_AT_PLAIN_LOAD, *NOT_BEFORE_A_GLOBAL, *NOT_AT_CLEAN_PLAIN_LOAD)) == []
    from safeload.engine import native

    assert native.AVAILABLE is ("safeload.engine.pyloop" not in got["new"])
    assert isinstance(got["new"], list)
    assert len(got["new"]) <= MAX_FIRST_LOAD_MODULES, got["new"]


def test_first_safe_load_of_a_file_object_stays_light(tmp_path: Path) -> None:
    """``pickle_load`` of an open file maps it (mmap) but needs nothing else the bytes path does not."""
    (tmp_path / "x.pkl").write_bytes(pickle.dumps([1, 2, 3]))
    marker = tmp_path / "ran"
    (tmp_path / "evil.pkl").write_bytes(f"cposix\nsystem\n(Vtouch {marker}\ntR.".encode())
    code = ("import sys, pickle\nimport safeload\nbefore = set(sys.modules)\n"
            "with open('x.pkl', 'rb') as f:\n    value = safeload.pickle_load(f)\n"
            "new = sorted(set(sys.modules) - before)\n"
            "try:\n    safeload.pickle_load(open('evil.pkl', 'rb'))\n    refused = False\n"
            "except safeload.UnsafePickleError:\n    refused = True\n"
            "import json\nprint(json.dumps({'value': value, 'new': new, 'refused': refused}))")
    got = _fresh(code, tmp_path)
    assert got["value"] == [1, 2, 3] and got["refused"] is True
    assert not marker.exists()
    assert _loaded(got["new"], tuple(m for m in NOT_AT_FIRST_LOAD if m != "mmap")) == []
    assert isinstance(got["new"], list) and len(got["new"]) <= MAX_FIRST_LOAD_MODULES + 1


def _reference_dataclasses() -> dict[str, type]:
    """The public types as the dataclasses they were before perf-first (field specs copied from ``main``)."""
    import dataclasses
    from collections.abc import Mapping
    from typing import Any

    from safeload.catalog.deny import ANY_USE
    from safeload.findings import Location
    from safeload.policy import Limits

    field = dataclasses.field

    @dataclasses.dataclass(frozen=True, slots=True)
    class LocationRef:
        path: str | None = None
        member: str | None = None
        offset: int | None = None

    @dataclasses.dataclass(frozen=True, slots=True)
    class FindingRef:
        rule_id: str
        severity: Severity
        message: str
        subject: str | None = None
        location: Location = field(default_factory=Location)  # noqa: RUF009 - the original's spec
        trustable: bool = False
        count: int = 1
        details: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @dataclasses.dataclass(frozen=True)
    class ScanResultRef:
        source: str
        findings: tuple[Any, ...] = ()
        formats: tuple[str, ...] = ()
        bytes_scanned: int = 0
        duration: float = 0.0
        threshold: Severity = Severity.MEDIUM
        integrity: Mapping[str, Any] | None = field(default=None, compare=False)
        engine: str = ""

    @dataclasses.dataclass(frozen=True, slots=True)
    class LimitsRef:
        max_opcodes: int = 200_000_000
        max_memo: int = 20_000_000
        max_stack: int = 20_000_000
        max_marks: int = 100_000
        max_nesting: int = 8
        max_seconds: float = 900.0
        max_members: int = 100_000
        max_decompressed_bytes: int = 16 * 1024**3
        max_compression_ratio: float = 2000.0
        max_allocation_bytes: int = 1 << 30  # added since (R12-5's bound as a setting)
        max_key_collisions: int = 128

    @dataclasses.dataclass(frozen=True, slots=True)
    class PolicyRef:
        threshold: Severity = Severity.MEDIUM
        trusted: tuple[str, ...] = ()
        limits: Limits = field(default_factory=Limits)  # noqa: RUF009 - the original's spec
        analyse_source: bool = True

    @dataclasses.dataclass(frozen=True)
    class IntegrityRef:
        expected_sha256: str | None = None
        signature: str | None = None
        public_key: str | None = None
        certificate: tuple[str, ...] = ()
        identity: str | None = None
        oidc_issuer: str | None = None
        trust_config: str | None = None
        lock: str | None = None
        require_signature: bool = False
        cache: bool | None = None
        sources: tuple[str, ...] = field(default=(), compare=False)

    @dataclasses.dataclass(frozen=True)
    class ConfigRef:
        threshold: Severity = Severity.MEDIUM
        trusted: tuple[str, ...] = ()
        limits: Limits = field(default_factory=Limits)  # noqa: RUF009 - the original's spec
        fail_on: Severity = Severity.MEDIUM
        format: str = "text"
        progress: bool = True
        hook: bool = False
        log_level: str | None = None
        lock: str | None = None
        require_signature: bool = False
        public_key: str | None = None
        certificate: tuple[str, ...] = ()
        sigstore_identity: str | None = None
        sigstore_issuer: str | None = None
        trust_config: str | None = None
        cache: bool = True
        sources: Mapping[str, str] = field(default_factory=dict)
        trusted_libraries: tuple[str, ...] = ()

    @dataclasses.dataclass(frozen=True, slots=True)
    class DenyEntryRef:
        severity: Severity
        rule_id: str
        reason: str
        floor: bool = False
        nested: str | None = None
        uses: Use = ANY_USE

    @dataclasses.dataclass(frozen=True, slots=True)
    class EntryRef:
        uses: Use
        invokes: tuple[int | str, ...] = ()
        note: str = ""
        origin: str = "reviewed"
        state_uses: tuple[tuple[str, Use], ...] = ()
        build_refuses: tuple[str, ...] = ()
        build_dict_only: bool = False
        mutate_ops: tuple[str, ...] = ()
        build_state: tuple[str, tuple[str, ...]] | None = None
        source_files: tuple[tuple[str, str], ...] = ()
        arguments: tuple[str, tuple[str, ...]] | None = None  # session 4 (sympy argument contract)

    return {"safeload.findings.Location": LocationRef, "safeload.findings.Finding": FindingRef,
            "safeload.findings.ScanResult": ScanResultRef, "safeload.policy.Limits": LimitsRef,
            "safeload.policy.Policy": PolicyRef, "safeload.integrity.options.Integrity": IntegrityRef,
            "safeload.config.Config": ConfigRef, "safeload.catalog.deny.DenyEntry": DenyEntryRef,
            "safeload.catalog.entries.Entry": EntryRef}


def _spec(cls: type) -> list[tuple[object, ...]]:
    import dataclasses

    return [(f.name, f.default, f.default_factory, f.init, f.repr, f.compare, bool(f.hash) if f.hash is not None
             else f.compare, f.kw_only) for f in dataclasses.fields(cls)]


def test_records_answer_the_dataclasses_functions_as_the_dataclasses_did() -> None:
    import dataclasses
    import importlib
    import inspect
    from typing import Any

    for dotted, ref in _reference_dataclasses().items():
        module, _, name = dotted.rpartition(".")
        cls: Any = getattr(importlib.import_module(module), name)
        is_dataclass = dataclasses.is_dataclass(cls)
        assert is_dataclass, dotted
        assert _spec(cls) == _spec(ref), dotted
        assert cls.__dataclass_params__.frozen and cls.__dataclass_params__.eq, dotted
        assert cls.__match_args__ == getattr(ref, "__match_args__", None), dotted
        mine = [(p.name, p.kind) for p in inspect.signature(cls).parameters.values()]
        theirs = [(p.name, p.kind) for p in inspect.signature(ref).parameters.values()]
        assert mine == theirs, dotted
        for param in inspect.signature(ref).parameters.values():  # plain defaults are the same values
            if param.default is not inspect.Parameter.empty and not repr(param.default).startswith("<factory>"):
                assert inspect.signature(cls).parameters[param.name].default == param.default, (dotted, param.name)


def test_records_replace_compare_hash_and_freeze_like_the_dataclasses() -> None:
    import copy
    import dataclasses

    from safeload.config import Config
    from safeload.findings import Finding, Location, ScanResult
    from safeload.integrity.options import Integrity
    from safeload.policy import Limits, Policy

    refs = _reference_dataclasses()
    finding = Finding("SL101", Severity.CRITICAL, "runs code", "posix.system", Location("m.pkl", None, 4),
                      details={"call": "posix.system('x')"})
    ref_finding = refs["safeload.findings.Finding"]("SL101", Severity.CRITICAL, "runs code", "posix.system",
                                                     Location("m.pkl", None, 4), details={"call": "posix.system('x')"})
    assert dataclasses.asdict(finding) == dataclasses.asdict(ref_finding)
    assert dataclasses.astuple(finding) == dataclasses.astuple(ref_finding)
    assert repr(finding) == repr(ref_finding).replace("_reference_dataclasses.<locals>.FindingRef", "Finding")
    other = dataclasses.replace(finding, details={"call": "else"})
    assert other == finding and hash(other) == hash(finding)  # details are neither compared nor hashed
    assert dataclasses.replace(finding, count=2) != finding
    result = ScanResult("x", (finding,), ("pickle",), integrity={"sha256": "0" * 64})
    assert result == dataclasses.replace(result, integrity=None)  # integrity is not compared
    assert hash(result) == hash(dataclasses.replace(result, integrity=None))
    assert result != dataclasses.replace(result, engine="python")
    assert pickle.loads(pickle.dumps(result)) == result and copy.deepcopy(result) == result
    policy = dataclasses.replace(Policy(), threshold="high", trusted=["collections.OrderedDict"])
    assert policy.threshold is Severity.HIGH and policy.trusted == ("collections.OrderedDict",)  # validated again
    with pytest.raises(safeload.PolicyError):
        dataclasses.replace(Policy(), trusted=("posix.system",))  # the floor, as __post_init__ refused it
    assert Policy().limits == Limits() and Policy().limits is not Policy().limits  # a fresh default each
    assert dataclasses.replace(Limits(), max_memo=5).max_memo == 5
    assert Integrity(sources=("a",)) == Integrity(sources=("b",))
    assert Integrity(expected_sha256="SHA256:" + "A" * 64).expected_sha256 == "a" * 64
    assert dataclasses.replace(Config(), fail_on=Severity.HIGH).fail_on is Severity.HIGH
    assert Config().sources == {} and Config().sources is not Config().sources
    for frozen in (finding, result, policy, Limits(), Integrity(), Config(), Location()):
        with pytest.raises(dataclasses.FrozenInstanceError):
            frozen.__setattr__("_x", 1)
        with pytest.raises(AttributeError):
            frozen.__delattr__(frozen._FIELDS[0])
    with pytest.raises(TypeError):
        dataclasses.replace(Policy(), no_such_field=1)
    assert finding != ref_finding  # another class is never equal, as between dataclasses


def test_opcode_table_is_pickletools_table() -> None:
    import pickletools

    from safeload._sniff import (
        _TAKEN_FROM_ARGUMENT1,
        _TAKEN_FROM_ARGUMENT4,
        _TAKEN_FROM_ARGUMENT4U,
        _TAKEN_FROM_ARGUMENT8U,
        _UP_TO_NEWLINE,
        OPCODE_TABLE,
    )

    expected = tuple((op.code.encode("latin-1")[0], op.name, None if op.arg is None else op.arg.n,
                      None if op.arg is None else op.arg.name, bool(op.stack_before)) for op in pickletools.opcodes)
    assert expected == OPCODE_TABLE
    assert (_UP_TO_NEWLINE, _TAKEN_FROM_ARGUMENT1, _TAKEN_FROM_ARGUMENT4, _TAKEN_FROM_ARGUMENT4U,
            _TAKEN_FROM_ARGUMENT8U) == (pickletools.UP_TO_NEWLINE, pickletools.TAKEN_FROM_ARGUMENT1,
                                        pickletools.TAKEN_FROM_ARGUMENT4, pickletools.TAKEN_FROM_ARGUMENT4U,
                                        pickletools.TAKEN_FROM_ARGUMENT8U)


_UNSAFE_CHARS = "\x00\x07\x1b\r\n\t\x7f\x85\x9f\u200b\u200e\u202e\u2066\u2069\ufeff\u2028\u00a0 a\u00e9\U0001f600"


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet=st.sampled_from(_UNSAFE_CHARS) | st.characters(), max_size=60))
def test_clean_skips_only_text_the_pattern_leaves_alone(text: str) -> None:
    import re

    from safeload._text import clean

    pattern = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")

    def escape(match: re.Match[str]) -> str:
        code = ord(match.group())
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    expected = pattern.sub(escape, text)
    expected = expected[:199] + "\u2026" if len(expected) > 200 else expected
    assert clean(text) == expected


@pytest.mark.parametrize("spelling", ["{root}/a/b", "{root}/a/b/", "{root}/a/./b", "{root}/a/../a/b", "{root}//a/b",
                                      "{root}/a/b/file.txt", "{root}/a/b/missing", "a/b", "a/../a/b", "."])
def test_config_lookup_without_pathlib_finds_what_pathlib_found(tmp_path: Path, spelling: str,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from safeload.config import _find_config

    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "file.txt").write_text("x")
    (tmp_path / "a" / "pyproject.toml").write_text('[tool.safeload]\nthreshold = "high"\n')
    monkeypatch.chdir(tmp_path)
    start = spelling.format(root=tmp_path)

    def by_pathlib(start: str) -> str | None:  # find_config_file as it was written with pathlib
        here = Path(start)
        here = here if here.is_dir() else here.parent
        for folder in (here, *here.parents):
            candidate = folder / "pyproject.toml"
            if candidate.is_file() and load_config(candidate, environ={}) is not None:
                return str(candidate)
        return None

    assert _find_config(start) == by_pathlib(start)
    assert find_config_file(start) == (None if by_pathlib(start) is None else Path(str(by_pathlib(start))))


def test_a_dataclass_subclass_of_policy_still_validates_its_trust_list() -> None:
    """A ``@dataclass`` subclass's generated __init__ skips Policy.__init__; it calls __post_init__, as it did
    when Policy was a dataclass: a floor name or a pattern covering denied names is still refused. (mypy's
    dataclass plugin does not see the inherited fields of a hand-written record: hence the ignores.)"""
    import copy
    import dataclasses

    from safeload.integrity.options import Integrity
    from safeload.policy import Policy

    @dataclasses.dataclass(frozen=True)
    class TeamPolicy(Policy):
        team: str = "ml"

    with pytest.raises(safeload.PolicyError):
        TeamPolicy(trusted=("builtins.*",))  # type: ignore[call-arg]
    with pytest.raises(safeload.PolicyError):
        TeamPolicy(trusted=("posix.system",))  # type: ignore[call-arg]
    mine = TeamPolicy(threshold="high", trusted=["collections.OrderedDict"], team="cv")  # type: ignore[call-arg]
    assert mine.threshold is Severity.HIGH and mine.trusted == ("collections.OrderedDict",)
    assert copy.deepcopy(mine) == mine and copy.deepcopy(mine).team == "cv"  # its own field survives the state
    assert not mine.is_trusted("posix.system")

    @dataclasses.dataclass(frozen=True)
    class PinnedIntegrity(Integrity):
        note: str = ""

    assert PinnedIntegrity(expected_sha256="sha256:" + "F" * 64).expected_sha256 == "f" * 64  # type: ignore[call-arg]
    with pytest.raises(safeload.PolicyError):
        PinnedIntegrity(expected_sha256="not a digest")  # type: ignore[call-arg]


def test_first_safe_load_of_a_pickle_with_a_global_stays_light(tmp_path: Path) -> None:
    """A real file names globals: the catalogue, the reviewed table and the SL117 shadow check load with the first
    one, still without dataclasses, pathlib, threading or typing (57 modules after ``import safeload``)."""
    code = ("import sys, pickle, collections\nimport safeload\nbefore = set(sys.modules)\n"
            "value = safeload.pickle_loads(pickle.dumps(collections.OrderedDict(a=[1, 2.5])))\n"
            "new = sorted(set(sys.modules) - before)\nimport json\n"
            "print(json.dumps({'value': list(value.items()), 'new': new}))")
    got = _fresh(code, tmp_path)
    assert got["value"] == [["a", [1, 2.5]]]
    assert _loaded(got["new"], NOT_AT_FIRST_LOAD) == []
    assert isinstance(got["new"], list) and "safeload.catalog.shadow" in got["new"]  # the check did run
    assert len(got["new"]) <= MAX_GLOBAL_LOAD_MODULES, got["new"]


def test_uses_parsed_from_ints_are_the_flags_or_made() -> None:
    """``parse_uses`` (and the per-shard memo) give exactly the flag ``Use[a] | Use[b] | ...`` gave."""
    import functools
    import importlib
    import operator

    from safeload.catalog.entries import _generated_uses, _with_passed, parse_uses

    texts = {"", "CALL", "CALL NEW BUILD", "IMPORT REF", " ".join(u.name or "" for u in Use)}
    for shard in ("stdlib", "numpy", "torch", "sklearn"):
        with contextlib.suppress(ModuleNotFoundError):
            module = importlib.import_module(f"safeload.catalog.generated.{shard}")
            texts.update(uses for uses, _invokes, _note in module.ENTRIES.values())
    for text in texts:
        expected = functools.reduce(operator.or_, [Use[word] for word in text.split()], Use(0))
        assert parse_uses(text) == expected and parse_uses(text).value == expected.value, text
        assert _generated_uses(text) == _with_passed(expected), text
    with pytest.raises(KeyError):
        parse_uses("CALL NO_SUCH_USE")


def test_a_first_load_in_a_process_without_pickle_imports_neither_importlib_nor_warnings(tmp_path: Path) -> None:
    """``real_loader`` imports the real loader's module itself (``pickle`` here, first imported by the load) with
    ``__import__``: the same module object ``importlib.import_module`` returned, without ``importlib``."""
    code = ("import sys\nat_startup = set(sys.modules)\nimport safeload\n"
            "value = safeload.pickle_loads(b'\\x80\\x04\\x95\\x09\\x00\\x00\\x00\\x00\\x00\\x00\\x00]\\x94(K\\x01K\\x02e.')\n"
            "mods = sorted(set(sys.modules) - at_startup)\nimport importlib, json, pickle\n"
            "same = safeload.loaders._common.real_loader('pickle', 'loads') is importlib.import_module('pickle').loads\n"
            "print(json.dumps({'value': value, 'mods': mods, 'same': same}))")
    got = _fresh(code, tmp_path)
    assert got["value"] == [1, 2]
    assert isinstance(got["mods"], list) and "pickle" in got["mods"]  # the load imported it
    assert _loaded(got["mods"], ("importlib", "warnings")) == []
    assert got["same"] is True


# -- fixedcost: the semantics and the catalogue load with a stream's first semantic step -----------------------
_LAZY_CASES = {
    "plain": pickle.dumps({"a": [1, 2.5, "x", b"y", None, True, (1, 2), {3}, frozenset({4})]}, protocol=4),
    "plain, protocol 0": pickle.dumps({"a": [1, 2.5, "x"]}, protocol=0),
    "global last": pickle.dumps([1, 2, OrderedDict], protocol=4),
    "call": pickle.dumps(OrderedDict(a=1), protocol=2),
    "second stream names a global": pickle.dumps([1]) + pickle.dumps(OrderedDict(b=2)),
    "persistent id": b"\x80\x02]q\x00(K\x01Pabc\neK\x02e.",
    "binpersid": b"\x80\x02]q\x00(K\x01X\x03\x00\x00\x00abcQeK\x02e.",
    "unregistered EXT code": b"\x80\x02\x82\xf0N\x86.",
    "registered EXT code": b"\x80\x02\x82\x01N\x86.",
    "next buffer": b"\x80\x05\x97.",
    "FRAME straddle": b"\x80\x04\x95\x02\x00\x00\x00\x00\x00\x00\x00K\x01K\x02\x86.",
    "truncated": pickle.dumps(list(range(50)))[:-9],
    "malformed": b"\x80\x04]q\x00(K\x01\xffe.",
    "call result as dict key": b"\x80\x04}\x8c\x0bcollections\x8c\x0bOrderedDict\x93)R\x94K\x01s.",
    "payload": b"cposix\nsystem\n(Vtrue\ntR.",
    "torch legacy magic": pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2) + pickle.dumps(1001, protocol=2),
}


@pytest.mark.parametrize("case", sorted(_LAZY_CASES))
def test_lazy_semantics_find_what_eager_semantics_find(case: str) -> None:
    """A walker that sets up the semantics at its first semantic step reports exactly what one that sets them up
    before the first opcode reports (both engines; ``sl_native_diff`` compares them for every fuzz input too)."""
    sys.path.insert(0, str(ROOT / "tests" / "fuzz"))
    import sl_native_diff

    from safeload.engine import native

    data = _LAZY_CASES[case]
    if native.AVAILABLE:
        assert sl_native_diff.differences(data) == []
    for engine in ("python", "native") if native.AVAILABLE else ("python",):
        with sl_native_diff.engine(engine):
            lazy = sl_native_diff.streams_of(data)
            with sl_native_diff.eager_semantics():
                eager = sl_native_diff.streams_of(data)
        assert lazy == eager, (engine, case)


def test_the_walker_switches_to_the_semantics_only_when_a_stream_needs_them() -> None:
    from safeload._context import ScanContext
    from safeload.engine.pickle_walker import PickleWalker
    from safeload.engine.walker import StreamWalker

    for data, switched in ((pickle.dumps({"a": [1, 2.5]}), False), (pickle.dumps(OrderedDict()), True),
                           (b"\x80\x02Pabc\n.", False)):
        walker = StreamWalker(data, ScanContext(safeload.Policy(), "<test>"))
        walker.walk(0)
        assert isinstance(walker, PickleWalker) is switched, data
        assert (type(walker) is StreamWalker) is not switched
    walker = StreamWalker(b"N.", ScanContext(safeload.Policy(), "<test>"))
    assert walker.facts.names == {}  # anything only the semantics have switches first
    assert isinstance(walker, PickleWalker)
    with pytest.raises(AttributeError):
        walker.no_such_attribute  # noqa: B018 - switched already: really missing


def test_use_ints_are_the_use_flags() -> None:
    from safeload.engine.values import U

    assert {name: getattr(U, name) for name in vars(U) if name.isupper()} == {u.name: u.value for u in Use}


def test_first_safe_load_cpu_budget(tmp_path: Path) -> None:
    """A coarse guard on the first load's CPU time in a fresh process (``bench_fresh.py`` measures it properly):
    ~6-8 ms here on a loaded machine, 10.6 ms before fixedcost; the budget leaves room for a busy CI runner."""
    code = ("import sys, time, pickle\nimport safeload\ndata = pickle.dumps({'a': [1, 2.5, 'x']})\n"
            "c = time.process_time()\nsafeload.pickle_loads(data)\nimport json\n"
            "print(json.dumps({'cpu': time.process_time() - c}))")
    # An installed package has its bytecode (pip compiles it); a checkout run with PYTHONDONTWRITEBYTECODE=1 has
    # none, and compiling ~30 modules on every run would be measured instead of the load.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "safeload")], check=True, timeout=300,
                   capture_output=True)
    runs = sorted(float(str(_fresh(code, tmp_path)["cpu"])) for _ in range(3))
    assert runs[1] < 0.040, runs


# -- session 4: the integrity session is skipped when it would do nothing ----------------------------------------
def test_audit_fields_without_a_session_are_those_of_an_idle_session() -> None:
    """A load that skips the integrity session logs the integrity fields an idle session would have logged."""
    from safeload.integrity.check import plan_for
    from safeload.loaders._common import _integrity_fields
    from safeload.policy import Policy

    plan = plan_for(None, path=None, source="<bytes>", policy=Policy())
    data = pickle.dumps([1, 2])
    with plan.begin(data, allow_cache=True) as session:
        from safeload.findings import ScanResult

        _, info = session.finish(ScanResult(source="<bytes>"))
    assert _integrity_fields(None) == _integrity_fields(info)


def test_session_needed_exactly_when_a_check_or_the_cache_applies() -> None:
    from safeload.integrity.options import CACHE_MIN_BYTES, Integrity, session_needed

    idle = Integrity()
    assert not session_needed(idle, CACHE_MIN_BYTES - 1, allow_cache=True)
    assert session_needed(idle, CACHE_MIN_BYTES, allow_cache=True)
    assert not session_needed(idle, CACHE_MIN_BYTES, allow_cache=False)
    assert not session_needed(Integrity(cache=False), CACHE_MIN_BYTES * 2, allow_cache=True)
    for required in (Integrity(expected_sha256="0" * 64), Integrity(lock="safeload.lock"),
                     Integrity(require_signature=True), Integrity(signature="m.sig")):
        assert session_needed(required, 1, allow_cache=False), required


def test_a_configured_lock_still_applies_to_a_small_clean_load(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The skipped session must not skip a requirement that comes from the configuration alone."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SAFELOAD_LOCK", str(tmp_path / "missing.lock"))
    with pytest.raises(safeload.IntegrityError):
        safeload.pickle_loads(pickle.dumps([1, 2]))
    monkeypatch.delenv("SAFELOAD_LOCK")
    assert safeload.pickle_loads(pickle.dumps([1, 2])) == [1, 2]
