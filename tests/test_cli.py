"""``safeload`` CLI: exit codes, stream split, directories, --jobs, config, rules, run."""

from __future__ import annotations

import io
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import safeload
from safeload import cli

REPO = Path(__file__).resolve().parents[1]
LFS = b"version https://git-lfs.github.com/spec/v1\noid sha256:" + b"0" * 64 + b"\nsize 1234\n"


class _Payload:
    """Pickles to ``os.system(command)``; never unpickled by these tests."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (self.command,))


@pytest.fixture
def files(tmp_path: Path, marker: Any) -> dict[str, Path]:
    made = {
        "clean": tmp_path / "clean.pkl",
        "evil": tmp_path / "evil.pkl",
        "broken": tmp_path / "broken.pkl",
        "unknown_call": tmp_path / "custom.pkl",
    }
    made["clean"].write_bytes(pickle.dumps({"weights": [0.5] * 10, "name": "ok"}))
    made["evil"].write_bytes(pickle.dumps(_Payload(marker.shell)))
    made["broken"].write_bytes(pickle.dumps(list(range(2000)), protocol=4)[:40])
    made["unknown_call"].write_bytes(b"cmypkg.models\nNet\n(tR.")
    return made


def run_cli(*args: str, cwd: Path | None = None,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("SAFELOAD_", "HF_"))}
    environment["PYTHONPATH"] = str(REPO) + os.pathsep + environment.get("PYTHONPATH", "")
    environment.update(env or {})
    return subprocess.run([sys.executable, "-m", "safeload", *args], capture_output=True, text=True, cwd=cwd,
                          env=environment, timeout=120, check=False)


def last_line(text: str) -> str:
    return text.strip().splitlines()[-1]


# -- exit codes ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("key", "extra", "code"), [
    ("clean", [], 0),
    ("evil", [], 1),
    ("broken", [], 1),
    ("broken", ["--fail-on", "critical"], 1),  # unparseable fails whatever --fail-on says
    ("evil", ["--exit-zero"], 0),
    ("unknown_call", [], 1),
    ("unknown_call", ["--fail-on", "high"], 0),
])
def test_exit_codes(files: dict[str, Path], key: str, extra: list[str], code: int,
                    capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["scan", "--no-progress", str(files[key]), *extra]) == code
    err = capsys.readouterr().err
    assert last_line(err).startswith(f"safeload: exit {code}:")


def test_missing_file_is_exit_2_and_outranks_findings(files: dict[str, Path], tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["scan", str(files["evil"]), str(tmp_path / "missing.pkl")]) == 2
    captured = capsys.readouterr()
    assert "exit 2" in last_line(captured.err)
    assert "missing.pkl" in captured.out
    # --exit-zero silences findings, never errors
    assert cli.main(["scan", "--exit-zero", str(tmp_path / "missing.pkl")]) == 2


@pytest.mark.parametrize("argv", [
    ["scan"],
    ["scan", "--fail-on", "extreme", "x"],
    ["scan", "--format", "yaml", "x"],
    ["scan", "--jobs", "0", "x"],
    ["scan", "--trust", "os.system", "x"],
    ["bogus"],
    [],
])
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(argv) == 2
    assert "exit 2" in last_line(capsys.readouterr().err)


def test_bad_config_file_is_exit_2(tmp_path: Path, files: dict[str, Path],
                                   capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "safeload.toml"
    bad.write_text('fail_on = "sometimes"\n', encoding="utf-8")
    assert cli.main(["scan", "--config", str(bad), str(files["clean"])]) == 2
    assert cli.main(["scan", "--config", str(tmp_path / "absent.toml"), str(files["clean"])]) == 2


def test_config_file_and_env_set_fail_on(tmp_path: Path, files: dict[str, Path],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "safeload.toml"
    config.write_text('fail_on = "high"\n', encoding="utf-8")
    assert cli.main(["scan", "--config", str(config), str(files["unknown_call"])]) == 0
    assert cli.main(["scan", "--config", str(config), "--fail-on", "medium", str(files["unknown_call"])]) == 1
    monkeypatch.setenv("SAFELOAD_FAIL_ON", "critical")
    assert cli.main(["scan", str(files["unknown_call"])]) == 0


def test_trust_flag(files: dict[str, Path]) -> None:
    assert cli.main(["scan", str(files["unknown_call"])]) == 1
    assert cli.main(["scan", "--trust", "mypkg.models.Net", str(files["unknown_call"])]) == 0
    assert cli.main(["scan", "--trust", "mypkg.*", str(files["unknown_call"])]) == 0


# -- streams -------------------------------------------------------------------------------------------------
def test_subprocess_json_stdout_is_clean(files: dict[str, Path], tmp_path: Path, marker: Any) -> None:
    proc = run_cli("scan", "--format", "json", str(files["evil"]), str(files["clean"]), cwd=tmp_path)
    assert proc.returncode == 1
    report = json.loads(proc.stdout)  # nothing but the report on stdout
    assert report["schema_version"] == 1
    assert [r["status"] for r in report["results"]] == ["unsafe", "safe"]
    assert "2 files: 1 unsafe" in proc.stderr
    assert last_line(proc.stderr).startswith("safeload: exit 1:")
    assert not marker.exists()


def test_subprocess_output_file(files: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "report.sarif"
    proc = run_cli("scan", "--format", "sarif", "-o", str(out), str(files["evil"]), cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert json.loads(out.read_text(encoding="utf-8"))["version"] == "2.1.0"


def test_subprocess_text_without_tty_has_no_ansi_or_progress(files: dict[str, Path], tmp_path: Path) -> None:
    proc = run_cli("scan", str(files["evil"]), str(files["clean"]), cwd=tmp_path, env={"TERM": "xterm"})
    assert proc.returncode == 1
    assert "\x1b" not in proc.stdout
    assert "\x1b" not in proc.stderr
    assert "UNSAFE" in proc.stdout
    assert "SL101" in proc.stdout
    assert "scanning" not in proc.stderr


def test_subprocess_version_and_help() -> None:
    proc = run_cli("--version")
    assert proc.returncode == 0
    assert safeload.__version__ in proc.stdout
    proc = run_cli("scan", "--help")
    assert proc.returncode == 0
    assert "--fail-on" in proc.stdout


def test_progress_switches_itself_off() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    def enabled(environ: dict[str, str], **kw: Any) -> bool:
        opts = {"quiet": False, "no_progress": False, "config_progress": True, "stream": Tty()} | kw
        return cli.progress_enabled(environ=environ, **opts)

    assert enabled({})
    assert not enabled({"NO_COLOR": ""})
    assert not enabled({"CI": "true"})
    assert not enabled({"TERM": "dumb"})
    assert not enabled({}, quiet=True)
    assert not enabled({}, no_progress=True)
    assert not enabled({}, config_progress=False)
    assert not enabled({}, stream=io.StringIO())


def test_verbose_logs_to_stderr_and_removes_its_handler(files: dict[str, Path],
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    import logging

    before = list(logging.getLogger("safeload").handlers)
    level = logging.getLogger("safeload").level
    assert cli.main(["scan", "-v", "--format", "json", str(files["clean"])]) == 0
    captured = capsys.readouterr()
    assert "safeload: INFO: scanned" in captured.err
    json.loads(captured.out)
    assert logging.getLogger("safeload").handlers == before
    assert logging.getLogger("safeload").level == level


# -- directories ---------------------------------------------------------------------------------------------
def _mixed_dir(root: Path, marker: Any) -> Path:
    root.mkdir()
    (root / "model.pkl").write_bytes(pickle.dumps({"a": 1}))
    (root / "notes.txt").write_text("training notes\n", encoding="utf-8")
    (root / "README.md").write_text("# model\n", encoding="utf-8")
    (root / "weights.bin").write_bytes(LFS)
    (root / "sub").mkdir()
    (root / "sub" / "evil.pt").write_bytes(pickle.dumps(_Payload(marker.shell)))
    (root / "sub" / "renamed.txt").write_bytes(pickle.dumps(_Payload(marker.shell)))  # a pickle in disguise
    (root / "sub" / "garbage.pkl").write_bytes(b"\x00\x01 definitely not a model")
    (root / ".git").mkdir()
    (root / ".git" / "objects.pkl").write_bytes(pickle.dumps(_Payload(marker.shell)))
    return root


def test_directory_with_mixed_formats(tmp_path: Path, marker: Any) -> None:
    root = _mixed_dir(tmp_path / "models", marker)
    out = tmp_path / "r.json"
    assert cli.main(["scan", "--format", "json", "-o", str(out), str(root)]) == 1
    report = json.loads(out.read_text(encoding="utf-8"))
    status = {Path(r["source"]).relative_to(root).as_posix(): r["status"] for r in report["results"]}
    assert status == {
        "README.md": "skipped",
        "model.pkl": "safe",
        "notes.txt": "skipped",
        "sub/evil.pt": "unsafe",
        "sub/garbage.pkl": "unsafe",  # model extension, unknown content: not skipped
        "sub/renamed.txt": "unsafe",  # sniffed by content, whatever the extension
        "weights.bin": "skipped",  # a Git LFS pointer is never clean, and never an alert: skipped, with a note
    }
    assert report["summary"]["skipped"] == 3
    lfs = next(r for r in report["results"] if r["source"].endswith("weights.bin"))
    assert [f["rule_id"] for f in lfs["findings"]] == ["SL004"]


def test_lfs_pointer_below_threshold_is_skipped_not_safe(tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    pointer = tmp_path / "model.bin"
    pointer.write_bytes(LFS)
    assert cli.main(["scan", "--fail-on", "high", str(pointer)]) == 0
    out = capsys.readouterr().out
    assert "SKIPPED" in out
    assert "SAFE " not in out


def test_numpy_and_joblib_files_in_a_directory(tmp_path: Path) -> None:
    np = pytest.importorskip("numpy")
    root = tmp_path / "arrays"
    root.mkdir()
    np.save(root / "plain.npy", np.arange(10))
    np.save(root / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    out = tmp_path / "r.json"
    cli.main(["scan", "--format", "json", "-o", str(out), str(root)])
    report = json.loads(out.read_text(encoding="utf-8"))
    status = {Path(r["source"]).name: r["status"] for r in report["results"]}
    assert status["plain.npy"] == "safe"
    assert status["objects.npy"] in {"safe", "unsafe"}  # scanned, never skipped
    assert all(r["formats"] for r in report["results"])


def test_jobs_2_equals_serial(tmp_path: Path, marker: Any) -> None:
    root = _mixed_dir(tmp_path / "models", marker)
    for i in range(6):
        (root / f"extra{i}.pkl").write_bytes(pickle.dumps([i] * (i + 1)))
    reports = []
    for jobs in ("1", "2"):
        out = tmp_path / f"r{jobs}.json"
        assert cli.main(["scan", "--jobs", jobs, "--format", "json", "-o", str(out), str(root)]) == 1
        report = json.loads(out.read_text(encoding="utf-8"))
        for result in report["results"]:
            result.pop("duration_seconds")
            result["integrity"].pop("cached")  # the second run may be served by the scan cache
        reports.append(report)
    assert reports[0] == reports[1]


# -- other commands ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["text", "markdown", "json"])
def test_rules_command(fmt: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["rules", "--format", fmt]) == 0
    out = capsys.readouterr().out
    for rule_id in safeload.RULES:
        assert rule_id in out
    if fmt == "json":
        assert {r["id"] for r in json.loads(out)} == set(safeload.RULES)


def test_config_show(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "safeload.toml"
    config.write_text('fail_on = "high"\n', encoding="utf-8")
    assert cli.main(["config", "show", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "fail_on" in out
    assert "high" in out
    assert str(config) in out


def test_run_without_hook_is_a_clear_error(monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "safeload.hook", None)  # makes the import fail
    assert cli.main(["run", "--", sys.executable, "-c", "pass"]) == 2
    err = capsys.readouterr().err
    assert "import hook is not available" in err
    assert "exit 2" in last_line(err)


def test_run_delegates_to_the_hook(monkeypatch: pytest.MonkeyPatch) -> None:
    import types

    seen: list[list[str]] = []
    fake = types.ModuleType("safeload.hook")
    fake.run_command = lambda argv: seen.append(list(argv)) or 7  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "safeload.hook", fake)
    assert cli.main(["run", "--", "python", "train.py", "--epochs", "3"]) == 7
    assert seen == [["python", "train.py", "--epochs", "3"]]
    assert cli.main(["run"]) == 2


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "markdown"])
def test_hostile_file_names_are_escaped(tmp_path: Path, fmt: str, capsys: pytest.CaptureFixture[str],
                                        marker: Any) -> None:
    root = tmp_path / "d"
    root.mkdir()
    (root / "x\x1b[31m|<b>`y`.pkl").write_bytes(pickle.dumps(_Payload(marker.shell)))
    assert cli.main(["scan", "-v", "--format", fmt, str(root)]) == 1
    captured = capsys.readouterr()
    assert "\x1b[31m" not in captured.out
    assert "\x1b[31m" not in captured.err
    if fmt == "markdown":
        assert "<b>" not in captured.out
        assert "\\|" in captured.out


def test_also_writes_more_reports_from_one_scan(files: dict[str, Path], tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    calls: list[str] = []
    real = cli.scan_target
    monkeypatch.setattr(cli, "scan_target", lambda path, *a: calls.append(path) or real(path, *a))
    sarif, md = tmp_path / "r.sarif", tmp_path / "r.md"
    code = cli.main(["scan", "--format", "json", "--also", f"sarif={sarif}", "--also", f"markdown={md}",
                     str(files["evil"])])
    assert code == 1
    assert calls == [str(files["evil"])]
    assert json.loads(capsys.readouterr().out)["schema_version"] == 1
    assert json.loads(sarif.read_text(encoding="utf-8"))["version"] == "2.1.0"
    assert md.read_text(encoding="utf-8").startswith("## safeload scan")
    assert cli.main(["scan", "--also", "yaml=x", str(files["evil"])]) == 2


def test_pre_commit_hook_definition() -> None:
    import re

    yaml = pytest.importorskip("yaml")
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    hook = next(h for h in hooks if h["id"] == "safeload")
    assert hook["entry"] == "safeload scan --fail-on high"
    assert hook["language"] == "python"
    assert hook["pass_filenames"] is True
    pattern = re.compile(hook["files"])
    for name in ("model.pt", "a/b/weights.PKL", "m.joblib", "x.keras", "saved_model.pb", "arr.npz"):
        assert pattern.search(name), name
    for name in ("README.md", "train.py", "model.safetensors"):
        assert not pattern.search(name), name


def test_action_passes_inputs_through_env_only() -> None:
    yaml = pytest.importorskip("yaml")
    action = yaml.safe_load((REPO / "action.yml").read_text(encoding="utf-8"))
    assert action["runs"]["using"] == "composite"
    assert set(action["inputs"]) >= {"paths", "fail-on", "format", "sarif-file", "hf-repo"}
    for step in action["runs"]["steps"]:
        assert "${{" not in step.get("run", ""), step["name"]  # no expression interpolated into shell
    assert "GITHUB_STEP_SUMMARY" in json.dumps(action)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_fifo_is_never_opened(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "d"
    root.mkdir()
    (root / "ok.pkl").write_bytes(pickle.dumps(1))
    os.mkfifo(root / "pipe.pkl")  # opening it for reading would block forever
    # never opened, and never silently absent from a walk: an error row (exit 2), like a named FIFO
    assert cli.main(["scan", str(root)]) == 2
    assert cli.main(["scan", str(root / "pipe.pkl")]) == 2
    assert "not a regular file" in capsys.readouterr().out
