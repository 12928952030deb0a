"""Issue 15, fixed costs: ``import safeload`` and a first safe load stay light, without changing behaviour.

Each import check runs in a fresh interpreter (``sys.modules`` of the test process is full of everything). The
lazy public names resolve to the very objects their modules define; the lazy logger drops a record only where
the library's NullHandler would have; the config pre-check never skips a file that could hold ``[tool.safeload]``.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import subprocess
import sys
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
                     "safeload.containers.torch", "torch", "numpy")
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
    assert [m for m in got["new"] if m.startswith("safeload")] == ["safeload", "safeload._version",
                                                                   "safeload.exceptions"]


def test_import_safeload_module_count_is_bounded(tmp_path: Path) -> None:
    got = _fresh("import sys\nbefore = set(sys.modules)\nimport safeload\n"
                 "new = sorted(set(sys.modules) - before)\nimport json\nprint(json.dumps({'new': new}))", tmp_path)
    assert isinstance(got["new"], list)
    assert len(got["new"]) <= MAX_IMPORT_MODULES, got["new"]


def test_first_safe_load_of_a_pickle_needs_no_optional_module(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    code = (
        "import sys, pickle\nimport safeload\n"
        "value = safeload.pickle_loads(pickle.dumps({'a': [1, 2.5, 'x']}))\n"
        f"evil = b'cposix\\nsystem\\n(Vtouch {marker}\\ntR.'\n"
        "try:\n    safeload.pickle_loads(evil)\n    refused = False\n"
        "except safeload.UnsafePickleError:\n    refused = True\n"
        "mods = sorted(sys.modules)\nimport json\n"
        "print(json.dumps({'value': value, 'refused': refused, 'mods': mods}))")
    got = _fresh(code, tmp_path)
    assert got["value"] == {"a": [1, 2.5, "x"]}
    assert got["refused"] is True
    assert not marker.exists()
    assert _loaded(got["mods"], NOT_AT_FIRST_LOAD) == []
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


@settings(max_examples=200, deadline=None)
@given(key=_spelled_key(), layout=st.sampled_from(["table", "dotted", "inline", "super"]))
def test_the_pre_check_never_skips_a_document_with_the_table(key: str, layout: str) -> None:
    import tomllib

    text = {"table": f'[tool.{key}]\nthreshold = "high"\n',
            "dotted": f'tool.{key}.threshold = "high"\n',
            "inline": f'tool = {{ {key} = {{ threshold = "high" }} }}\n',
            "super": f'[tool]\n{key} = {{ threshold = "high" }}\n'}[layout]
    assert tomllib.loads(text)["tool"]["safeload"] == {"threshold": "high"}
    assert _may_name_safeload(text.encode("utf-8"))
