"""Threshold, trust and configuration precedence (arguments, SAFELOAD_* environment, [tool.safeload])."""

from __future__ import annotations

import pickle
import re
import threading
import warnings
from pathlib import Path

import pytest

import safeload
from safeload import PolicyError, Severity
from safeload.config import load_config, resolve_policy, show_config
from safeload.exceptions import ConfigError


class Thing:
    pass


THING = f"{__name__}.Thing"


def test_severity_parsing_and_order() -> None:
    assert Severity.parse("High") is Severity.HIGH
    assert Severity.parse(2) is Severity.MEDIUM
    assert Severity.INFO < Severity.LOW < Severity.MEDIUM < Severity.HIGH < Severity.CRITICAL
    with pytest.raises(ValueError, match="not a severity"):
        Severity.parse("severe")


def test_hard_floor_cannot_be_trusted() -> None:
    for name in ["os.system", "posix.system", "builtins.eval", "subprocess.Popen", "marshal.loads"]:
        with pytest.raises(PolicyError, match="hard floor"):
            safeload.Policy(trusted=[name])
        with pytest.raises(PolicyError):
            safeload.trust(name)
    with pytest.raises(PolicyError, match="trusting everything"):
        safeload.Policy(trusted=["*"])
    # A pattern under a floor module can never apply: refused, not silently inert (issue 16).
    for pattern in ["os.*", "posix.*", "subprocess.*"]:
        with pytest.raises(PolicyError, match="hard floor"):
            safeload.Policy(trusted=[pattern])
    data = pickle.dumps(__import__("os").system)
    assert not safeload.scan(data, trusted=["os_like_but_not_os.*"]).is_safe()


def test_patterns_that_cover_denied_names_are_refused() -> None:
    # builtins.* would trust builtins.open and builtins.getattr (issue 16); torch.* would trust torch.load.
    for pattern in ["builtins.*", "torch.*", "pickle.*", "shutil.*"]:
        with pytest.raises(PolicyError, match="denies"):
            safeload.Policy(trusted=[pattern])
        with pytest.raises(PolicyError):
            safeload.trust(pattern)
    # Exact names of non-floor denied objects may be trusted after review, one by one.
    assert safeload.Policy(trusted=["builtins.open"]).is_trusted("builtins.open")
    assert safeload.Policy(trusted=["mypkg.*"]).is_trusted("mypkg.models.Net")


def test_scan_result_keeps_its_threshold() -> None:
    # A MEDIUM finding: unsafe at the default threshold, safe at "high", and the result remembers which.
    data = pickle.dumps(Thing())
    assert not safeload.scan(data).is_safe()
    high = safeload.scan(data, threshold="high")
    assert high.threshold == safeload.Severity.HIGH
    assert high.is_safe() and high.verdict().value == "safe"
    assert not high.is_safe("medium")
    assert high.to_dict()["threshold"] == "high"
    safeload.pickle_loads(data, threshold="high")  # the loader agrees with the result


def test_passing_only_on_trust_is_reported() -> None:
    data = pickle.dumps(Thing())
    name = f"{Thing.__module__}.{Thing.__qualname__}"
    result = safeload.scan(data, trusted=[name])
    assert result.is_safe()
    trusted = result.passed_on_trust()
    assert [f.subject for f in trusted] == [name]
    assert trusted[0].details["would_be"] in {"SL104", "SL105"}
    assert result.to_dict()["passed_on_trust"] == [name]


def test_a_trusted_block_cannot_be_entered_twice_and_never_outlives_itself() -> None:
    """``trusted()`` is a class (issue 15): re-entering the same object would lose the first token and leave the
    trust set after both blocks; it is refused, and the trust ends with the block, also on an exception."""
    data = pickle.dumps(Thing())
    scope = safeload.trusted([THING])
    with scope:
        with pytest.raises(RuntimeError, match="already active"):
            scope.__enter__()
        assert safeload.scan(data).is_safe()
    assert not safeload.scan(data).is_safe()
    assert safeload.get_trust() == ()
    with pytest.raises(ZeroDivisionError), safeload.trusted([THING]):
        raise ZeroDivisionError
    assert not safeload.scan(data).is_safe()
    with scope:  # a finished block can be entered again
        assert safeload.scan(data).is_safe()
    assert safeload.get_trust() == ()
    with pytest.raises(safeload.PolicyError):
        safeload.trusted(["posix.system"])  # the hard floor is refused when the block is made


def test_trust_scopes_are_isolated_per_thread() -> None:
    data = pickle.dumps(Thing())
    seen: dict[str, bool] = {}

    def other() -> None:
        seen["other"] = safeload.scan(data).is_safe()

    with safeload.trusted([THING]):
        assert safeload.scan(data).is_safe()
        worker = threading.Thread(target=other)
        worker.start()
        worker.join()
    assert seen["other"] is False
    assert not safeload.scan(data).is_safe()
    safeload.trust(THING)
    assert safeload.scan(data).is_safe()
    safeload.untrust(THING)
    assert not safeload.scan(data).is_safe()


def test_trusted_finding_becomes_info() -> None:
    result = safeload.scan(pickle.dumps(Thing()), trusted=[THING])
    assert [f.rule_id for f in result.findings if f.subject == THING] == ["SL112"]
    assert result.is_safe()


def test_env_threshold_stricter_wins_over_argument(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAFELOAD_THRESHOLD", "low")
    assert resolve_policy("high").threshold is Severity.LOW
    assert resolve_policy().threshold is Severity.LOW


def test_env_threshold_laxer_applies_only_without_argument_and_warns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAFELOAD_THRESHOLD", "critical")
    assert resolve_policy("medium").threshold is Severity.MEDIUM
    with pytest.warns(safeload.SafeloadWarning, match="relaxes"):
        assert resolve_policy().threshold is Severity.CRITICAL


def test_env_trusted_adds_names_and_warns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAFELOAD_TRUSTED", f"{THING}, other.Name")
    with pytest.warns(safeload.SafeloadWarning):
        policy = resolve_policy()
    assert policy.is_trusted(THING)


def test_bad_env_values_raise(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAFELOAD_THRESHOLD", "loud")
    with pytest.raises(ConfigError):
        resolve_policy()
    monkeypatch.delenv("SAFELOAD_THRESHOLD")
    monkeypatch.setenv("SAFELOAD_PROGRESS", "maybe")
    with pytest.raises(ConfigError, match="not a boolean"):
        load_config()


def test_pyproject_table_is_found_walking_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.safeload]\nthreshold = "high"\ntrusted = ["mypkg.*"]\n[tool.safeload.limits]\nmax_opcodes = 1000\n')
    sub = tmp_path / "a" / "b"
    sub.mkdir(parents=True)
    monkeypatch.chdir(sub)
    config = load_config()
    assert config.threshold is Severity.HIGH
    assert config.trusted == ("mypkg.*",)
    assert config.limits.max_opcodes == 1000
    assert config.sources["threshold"].endswith("pyproject.toml")
    policy = resolve_policy()
    assert policy.threshold is Severity.HIGH and policy.is_trusted("mypkg.models.Net")
    assert resolve_policy("low").threshold is Severity.LOW  # explicit argument beats the file
    text = show_config()
    assert "pyproject.toml" in text
    assert re.search(r"limits\.max_opcodes\s+= 1000", text)


def test_config_file_errors_are_clear(tmp_path: Path) -> None:
    bad = tmp_path / "safeload.toml"
    bad.write_text('threshold = "high"\nunknown_key = 1\n')
    with pytest.raises(ConfigError, match="unknown safeload settings"):
        load_config(bad)
    bad.write_text('trusted = ["os.system"]\n')
    with pytest.raises(ConfigError, match="hard floor"):
        load_config(bad)
    bad.write_text("threshold = [\n")
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(bad)


def test_limits_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAFELOAD_MAX_OPCODES", "50")
    config = load_config(environ={"SAFELOAD_MAX_OPCODES": "50"})
    assert config.limits.max_opcodes == 50


def test_opcode_limit_is_a_blocking_finding() -> None:
    data = pickle.dumps(list(range(200_000)))
    policy = safeload.Policy(limits=safeload.Limits(max_opcodes=70_000))
    result = safeload.scan(data, policy=policy)
    assert any(f.rule_id == "SL010" for f in result.findings)
    assert not result.is_safe()


def test_no_warnings_on_plain_use() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        safeload.scan(pickle.dumps({"a": 1}))


def test_audit_record_says_when_a_load_passed_on_trust(caplog: pytest.LogCaptureFixture) -> None:
    data = pickle.dumps(Thing())
    with caplog.at_level("INFO", logger="safeload"):
        assert isinstance(safeload.pickle_loads(data, trusted=[THING]), Thing)
    records = [r for r in caplog.records if getattr(r, "safeload_verdict", None)]
    assert records and records[-1].safeload_verdict == "allowed on trust"
    assert records[-1].safeload_trusted == [THING]
    assert records[-1].levelname == "WARNING"


def test_trust_is_reported_under_one_rule_for_every_format() -> None:
    # A Keras config naming a custom object outside Keras: SL402, and SL112 once trusted (no format-specific id).
    import json

    from safeload._context import ScanContext
    from safeload.scanners.keras import scan_keras_config

    config = json.dumps({"class_name": "Sequential", "config": {"layers": [
        {"module": "mylib.layers", "class_name": "Fancy", "config": {}, "registered_name": "mylib>Fancy"}]}})
    plain = ScanContext(safeload.Policy(), "<config>")
    scan_keras_config(config.encode(), plain)
    assert any(f.rule_id == "SL402" for f in plain.findings)
    trusted = ScanContext(safeload.Policy(trusted=["mylib.layers.Fancy"]), "<config>")
    scan_keras_config(config.encode(), trusted)
    rules = {f.rule_id for f in trusted.findings if f.subject == "mylib.layers.Fancy"}
    assert rules == {"SL112"}, trusted.findings


def test_config_show_reports_what_loads_apply(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SAFELOAD_TRUSTED", "mypkg.Thing")
    monkeypatch.setenv("SAFELOAD_THRESHOLD", "high")
    shown = show_config()
    rows = {line.split("=", 1)[0].strip(): line.split("=", 1)[1] for line in shown.splitlines()}
    assert rows["threshold"].strip().startswith("high") and "env SAFELOAD_THRESHOLD" in rows["threshold"]
    assert "mypkg.Thing" in rows["trusted"] and "env SAFELOAD_TRUSTED" in rows["trusted"]
    assert rows["hook"].strip().startswith("true")  # safeload.auto installs unless told not to


def test_config_show_invalid_environment_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from safeload.cli import main

    monkeypatch.setenv("SAFELOAD_THRESHOLD", "bogus")
    with pytest.raises(ConfigError):
        show_config()
    assert main(["config", "show"]) == 2


def test_trust_ends_with_its_block_in_tasks_and_copied_contexts_started_inside_it() -> None:
    """An asyncio task (or a ``copy_context()``) made inside ``with trusted()`` copies the context: the scope is
    closed when the block exits, so work that runs after the block is refused, while work done inside it is
    trusted. Re-entering the same ``trusted`` object opens a new scope and never reopens the copied one."""
    import asyncio
    import contextvars

    data = pickle.dumps(Thing())
    verdicts: dict[str, bool] = {}

    async def load(label: str, gate: asyncio.Event | None = None) -> None:
        if gate is not None:
            await gate.wait()
        try:
            safeload.pickle_loads(data)
            verdicts[label] = True
        except safeload.UnsafeModelError:
            verdicts[label] = False

    async def main() -> None:
        gate = asyncio.Event()
        scope = safeload.trusted([THING])
        with scope:
            inside = asyncio.create_task(load("awaited inside"))
            await inside
            late = asyncio.create_task(load("after the block", gate))
            copied = contextvars.copy_context()
        with scope:  # the same object again: a new scope; the late task's copy stays closed
            gate.set()
            await late
        assert copied.run(safeload.get_trust) == ()

    asyncio.run(main())
    assert verdicts == {"awaited inside": True, "after the block": False}
    assert safeload.get_trust() == ()
