"""Report renderers: JSON schema v1, SARIF 2.1.0 (validated against the OASIS schema), Markdown, text,
and escaping of hostile strings from model files in every format."""

from __future__ import annotations

import json
import os
import pickle
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

import safeload
from safeload import cli
from safeload.report import ReportInput, render
from safeload.report.sarif import sarif_text
from safeload.severity import Severity

SCHEMA = Path(__file__).parent / "data" / "sarif-schema-2.1.0.json"
HOSTILE = "evil\x1b[31m<script>alert(1)</script>|`rm`[x](http://e)\u202e"


class _Payload:
    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (self.command,))


def hostile_pickle() -> bytes:
    """A protocol-4 pickle calling a global whose module name is full of terminal, HTML, Markdown syntax."""
    module = HOSTILE.encode("utf-8")
    return (b"\x80\x04\x8c" + bytes([len(module)]) + module + b"\x8c\x03run\x93)R.")


@pytest.fixture
def scanned(tmp_path: Path, marker: Any, monkeypatch: pytest.MonkeyPatch) -> ReportInput:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "models").mkdir()
    Path("models/evil.pkl").write_bytes(pickle.dumps(_Payload(marker.shell)))
    Path("models/clean.pkl").write_bytes(pickle.dumps({"a": [1, 2]}))
    Path("models/hostile.pkl").write_bytes(hostile_pickle())
    Path("models/README.md").write_text("hello\n", encoding="utf-8")
    sources = ["models/evil.pkl", "models/clean.pkl", "models/hostile.pkl", "models/README.md",
               "models/gone.pkl"]
    results = [safeload.scan(s) for s in sources]
    digests = {s: cli._sha256(s) or "" for s in sources[:3]}
    return ReportInput(results=results, threshold=Severity.MEDIUM, skipped=frozenset({"models/README.md"}),
                       digests=digests, root=str(tmp_path))


# -- JSON ----------------------------------------------------------------------------------------------------
def test_json_schema_v1(scanned: ReportInput) -> None:
    report = json.loads(render("json", scanned))
    assert report["schema_version"] == 1
    assert report["tool"] == {"name": "safeload", "version": safeload.__version__}
    assert report["fail_on"] == "medium"
    assert report["summary"] == {"files": 5, "safe": 1, "unsafe": 2, "skipped": 1, "error": 1,
                                 "max_severity": "critical"}
    assert [r["status"] for r in report["results"]] == ["unsafe", "safe", "unsafe", "skipped", "error"]
    evil = report["results"][0]
    assert set(evil) >= {"source", "status", "verdict", "threshold", "max_severity", "formats",
                         "bytes_scanned", "duration_seconds", "findings", "sha256"}
    assert re.fullmatch(r"[0-9a-f]{64}", evil["sha256"])
    finding = evil["findings"][0]
    assert set(finding) == {"rule_id", "rule", "severity", "message", "subject", "location", "trustable",
                            "count", "details"}
    assert finding["rule_id"] == "SL101"
    assert finding["severity"] == "critical"
    assert set(finding["location"]) == {"path", "member", "offset"}


def test_json_keeps_values_but_escapes_bytes(scanned: ReportInput) -> None:
    text = render("json", scanned)
    assert "\x1b" not in text
    assert "\u202e" not in text
    assert text.isascii()
    hostile = json.loads(text)["results"][2]
    assert any(HOSTILE in (f["subject"] or "") for f in hostile["findings"])  # lossless after decoding


# -- SARIF ---------------------------------------------------------------------------------------------------
def test_sarif_validates_against_the_oasis_schema(scanned: ReportInput) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    document = json.loads(render("sarif", scanned))
    validator = jsonschema.Draft4Validator(schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(document), key=str)
    assert not errors, errors[0]


def test_sarif_structure(scanned: ReportInput) -> None:
    document = json.loads(render("sarif", scanned))
    assert document["version"] == "2.1.0"
    assert document["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
    run = document["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "safeload"
    assert driver["version"] == safeload.__version__
    assert [r["id"] for r in driver["rules"]] == list(safeload.RULES)
    for rule in driver["rules"]:
        assert rule["shortDescription"]["text"]
        assert rule["fullDescription"]["text"]
        assert rule["helpUri"] == safeload.RULES[rule["id"]].help_uri
        assert "security" in rule["properties"]["tags"]
        assert rule["properties"]["security-severity"] == safeload.RULES[rule["id"]].severity.security_severity
        assert 0.0 <= float(rule["properties"]["security-severity"]) <= 10.0
    by_rule = {r["ruleId"]: r for r in run["results"]}
    evil = by_rule["SL101"]
    assert evil["level"] == "error"
    assert driver["rules"][evil["ruleIndex"]]["id"] == "SL101"
    location = evil["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": "models/evil.pkl", "uriBaseId": "%SRCROOT%"}
    assert location["region"]["startLine"] == 1
    assert isinstance(location["region"]["byteOffset"], int)
    assert evil["properties"]["subject"] == "posix.system"
    assert re.fullmatch(r"[0-9a-f]{64}", evil["partialFingerprints"]["safeloadFinding/v1"])
    assert by_rule["SL104"]["level"] == "warning"
    # the unreadable file is a tool notification, the skipped one is not a result at all
    invocation = run["invocations"][0]
    assert invocation["executionSuccessful"] is False
    assert "gone.pkl" in invocation["toolExecutionNotifications"][0]["message"]["text"]
    assert not any("README" in json.dumps(r["locations"]) for r in run["results"])
    assert all(r["level"] in {"error", "warning", "note"} for r in run["results"])


def test_sarif_fingerprints_stable_across_paths(scanned: ReportInput, tmp_path: Path) -> None:
    shutil.copy("models/evil.pkl", "moved.pkl")
    digests = {"moved.pkl": cli._sha256("moved.pkl") or ""}
    moved = ReportInput(results=[safeload.scan("moved.pkl")], digests=digests, root=str(tmp_path))

    def prints(report: ReportInput) -> set[str]:
        runs = json.loads(render("sarif", report))["runs"][0]["results"]
        return {r["partialFingerprints"]["safeloadFinding/v1"] for r in runs if r["ruleId"] == "SL101"}

    assert prints(moved) == prints(ReportInput(results=[scanned.results[0]], digests=scanned.digests,
                                               root=str(tmp_path)))


def test_sarif_paths_outside_root_and_hub_uris(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.pkl"
    outside.write_bytes(pickle.dumps(_Payload("true")))
    result = safeload.scan(str(outside))
    hub_result = safeload.hub.relabel(result, "hf://org/model@" + "a" * 40 + "/weird name.bin")
    report = ReportInput(results=[result, hub_result], root=str(tmp_path / "sub"))
    document = json.loads(render("sarif", report))
    uris = [r["locations"][0]["physicalLocation"]["artifactLocation"] for r in document["runs"][0]["results"]]
    assert uris[0] == {"uri": outside.as_uri()}
    assert uris[-1] == {"uri": "hf://org/model@" + "a" * 40 + "/weird%20name.bin"}


def test_sarif_text_escapes_links_and_controls() -> None:
    assert sarif_text("a[b](c)\\d\x1b") == "a\\[b\\](c)\\\\d\\\\x1b"


# -- escaping in every format --------------------------------------------------------------------------------
def _hostile_only(scanned: ReportInput) -> ReportInput:
    return ReportInput(results=[scanned.results[2]], root=scanned.root, digests=scanned.digests)


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "markdown"])
def test_no_raw_control_characters_in_any_format(scanned: ReportInput, fmt: str) -> None:
    text = render(fmt, _hostile_only(scanned), color=True)
    assert "\x1b[31m<script>" not in text
    if fmt == "text":  # colour on: drop safeload's own SGR styling, then nothing raw may remain
        text = re.sub(r"\x1b\[[0-9;]*m", "", text)
    assert "\x1b" not in text
    assert "\u202e" not in text
    assert "\\x1b" in text or "\\u001b" in text  # shown as a visible escape instead


def test_text_report_escapes_hostile_names(scanned: ReportInput) -> None:
    plain = render("text", _hostile_only(scanned), color=False)
    assert "\x1b" not in plain
    assert "evil\\x1b[31m<script>" in plain
    coloured = render("text", _hostile_only(scanned), color=True)
    assert "\\x1b[31m" in coloured  # the file's escape is shown, not executed
    assert "\x1b[31m<script>" not in coloured


def test_text_report_without_rich(scanned: ReportInput, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "rich.console", None)
    text = render("text", scanned, color=True)
    assert "\x1b" not in text
    assert "UNSAFE" in text
    assert "SL101" in text
    assert "5 files:" in text


def test_markdown_escapes_hostile_names(scanned: ReportInput) -> None:
    md = render("markdown", _hostile_only(scanned))
    assert "<script>" not in md
    assert "\\<script\\>" in md
    assert "\\|" in md
    assert "\\`rm\\`" in md
    assert "[x](http" not in md
    for row in (line for line in md.splitlines() if line.startswith("| ")):
        # every table row keeps its column count: no unescaped pipe from the file
        assert len(re.findall(r"(?<!\\)\|", row)) in {6, 7}  # the two tables: 5 and 6 columns


def test_sarif_escapes_hostile_names(scanned: ReportInput) -> None:
    document = json.loads(render("sarif", _hostile_only(scanned)))
    results = document["runs"][0]["results"]
    message = next(r["message"]["text"] for r in results if r["ruleId"] == "SL104")
    assert "\x1b" not in message
    assert "\\x1b" in message
    assert "\\[x\\](http" in message
    assert "[x](" not in message.replace("\\[x\\](", "")
    subject = next(r["properties"]["subject"] for r in results if r["ruleId"] == "SL104")
    assert "\x1b" not in subject


def test_markdown_summary_structure(scanned: ReportInput) -> None:
    md = render("markdown", scanned)
    assert md.startswith("## safeload scan")
    assert "| :x: unsafe | models/evil.pkl |" in md
    assert ":boom: error" in md
    assert "1 skipped (not a model)" in md and "- models/README.md" in md
    assert "clean.pkl" not in md  # safe files are counted, not listed


def test_unknown_format_is_rejected(scanned: ReportInput) -> None:
    with pytest.raises(ValueError, match="unknown report format"):
        render("yaml", scanned)


def test_a_thousand_file_folder_shows_its_unsafe_files_first(tmp_path: Path, marker: Any,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "zoo"
    root.mkdir()
    evil = pickle.dumps(_Payload(marker.shell))
    for i in range(1000):
        (root / f"m{i}.pkl").write_bytes(evil if i % 100 == 37 else pickle.dumps({"i": i}))
    (root / "w.bin").write_bytes(b"version https://git-lfs.github.com/spec/v1\noid sha256:0\nsize 1\n")
    assert cli.main(["scan", "--no-progress", str(root)]) == 1
    lines = capsys.readouterr().out.splitlines()
    first_screen = "\n".join(lines[:50])
    for i in range(37, 1000, 100):
        assert f"m{i}.pkl" in first_screen, first_screen
    assert lines[0].startswith("UNSAFE: 10 files")
    assert not any(line.strip().startswith("SAFE ") for line in lines)  # 990 safe files: counted, not listed
    assert any(line.startswith("SAFE: 990 files") for line in lines)
    assert "w.bin" in "\n".join(lines) and "UNSAFE" not in next(line for line in lines if "w.bin" in line)
    assert lines[-1].startswith("1001 files: 10 unsafe, 990 safe, 1 skipped")
