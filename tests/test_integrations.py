"""The integration matrix: the loads services actually make, end to end with the real libraries.

For each library a scenario script (``tests/integration_scenarios/scn_*.py``) builds small artefacts with the
library itself (random weights, no downloads) in a process without the hook, then loads them through the
library's own API in two more processes: one that calls ``safeload.install()`` first, and one started by
``safeload run -- python ...``. For every entry point: the benign artefact loads and returns what the library
returns; the malicious one (a harmless ``touch`` payload) is refused with ``UnsafeModelError`` before
anything runs, and the refusal names the file the caller asked for (never a temporary path). In install
mode, control artefacts loaded after ``uninstall()`` prove each payload is live.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = Path(__file__).resolve().parent / "integration_scenarios"
MODES = ("install", "run")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SAFELOAD_", "HF_", "MLFLOW_"))}
    env["PYTHONPATH"] = str(ROOT)
    env.update({"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
                "MLFLOW_ALLOW_FILE_STORE": "true", "MLFLOW_ALLOW_PICKLE_DESERIALIZATION": "true",
                "CUDA_VISIBLE_DEVICES": "", "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONWARNINGS": "ignore"})
    env.update(extra)
    return env


def _run(name: str, root: Path, mode: str, timeout: int = 600) -> dict[str, Any]:
    script = str(SCENARIOS / f"scn_{name}.py")
    argv = [sys.executable, script, str(root), mode]
    if mode == "run":
        argv = [sys.executable, "-m", "safeload", "run", "--", *argv]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=_env(), cwd=root,
                          check=False)
    assert proc.returncode == 0, proc.stderr[-6000:]
    line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULT ")), None)
    assert line is not None, proc.stdout[-3000:] + proc.stderr[-3000:]
    result: dict[str, Any] = json.loads(line[len("RESULT "):])
    return result


@dataclass
class Scenario:
    root: Path
    results: dict[str, dict[str, Any]]


def _scenario(name: str, factory: pytest.TempPathFactory, timeout: int = 600) -> Iterator[Scenario]:
    root = factory.mktemp(name)
    built = _run(name, root, "build", timeout)
    assert built["marker"] is False
    results = {mode: _run(name, root, mode, timeout) for mode in MODES}
    yield Scenario(root, results)
    assert not (root / "PWNED").exists(), "a malicious payload ran: the marker file exists"


def check_matrix(result: dict[str, Any], root: Path, names: list[str], *, sources: dict[str, str] | None = None,
                 error: str = "UnsafePickleError") -> None:
    """Every benign row loaded as the library does; every malicious row refused, naming the requested file."""
    assert result["marker"] is False
    assert result["hook_errors"] == []
    for name in names:
        if f"benign:{name}" in result:
            assert result[f"benign:{name}"] is True, (name, result.get(f"benign:{name}"), result.get(f"trace:{name}"))
        if f"evil:{name}" in result:
            evil = result[f"evil:{name}"]
            assert evil.get("refused") == error, (name, evil)
            assert result[f"marker_after:{name}"] is False, name
            expected = (sources or {}).get(name)
            if expected is not None:
                assert evil["source"].startswith(expected), (name, evil["source"], expected)
                assert expected in evil["message"], (name, evil["message"])
            assert "safeload-" not in evil["source"], (name, evil["source"])  # never our temporary file


# ----- pandas -----------------------------------------------------------------------------------------------

PANDAS_SUFFIXES = ["", ".gz", ".bz2", ".xz", ".zst", ".zip", ".tar", ".tar.gz", ".tar.bz2", ".tar.xz"]


@pytest.fixture(scope="module")
def pandas_scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    pytest.importorskip("pandas")
    pytest.importorskip("zstandard")
    yield from _scenario("pandas", tmp_path_factory)


@pytest.mark.parametrize("mode", MODES)
def test_pandas_read_pickle_every_compression(pandas_scenario: Scenario, mode: str) -> None:
    r = pandas_scenario.results[mode]
    root = pandas_scenario.root
    names = [s or "none" for s in PANDAS_SUFFIXES]
    sources = {s or "none": str(root / f"evil.pkl{s}") for s in PANDAS_SUFFIXES}
    sources.update({"zstd-told": str(root / "evil.zstd-bin"), "gzip-dict": str(root / "evil.gzip-bin"),
                    "buffer-gzip": str(root / "evil.pkl.gz"), "pandas.io.pickle": str(root / "evil.pkl")})
    rows = [*names, "zstd-told", "gzip-dict", "buffer", "buffer-offset", "buffer-gzip", "pandas.io.pickle"]
    check_matrix(r, root, rows, sources=sources)
    assert all(f"evil:{n}" in r for n in rows if n != "buffer-offset")
    assert all(f"benign:{n}" in r for n in [*names, "zstd-told", "buffer", "buffer-offset"])
    assert r["evil:buffer"]["source"] == "<BytesIO>"
    if mode == "install":
        assert r["restored"] is True
        # the payloads are live: without the hook pandas runs every one of them
        assert r["controls"] == sorted(f"CONTROL_{s or 'none'}" for s in PANDAS_SUFFIXES)
