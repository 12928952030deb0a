"""SL118: a name admitted by a generated catalogue shard checked against other versions than the installed ones.

The synthetic environments are real: a copy of the installed joblib under a temporary ``site-packages`` (a library
root, so no SL117) with a metadata directory naming another version, scanned in a fresh interpreter.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import joblib
import pytest

import safeload
from safeload.catalog.entries import checked_against, lookup
from safeload.catalog.versions import installed_version, shard_drift

ROOT = Path(__file__).resolve().parents[1]
NAME = "joblib.numpy_pickle_compat.hex_str"
# hex_str(5): a name the generated joblib shard admits for CALL (not a hand-reviewed entry)
PICKLE = b"cjoblib.numpy_pickle_compat\nhex_str\n(K\x05tR."
RECORDED = checked_against("joblib")["joblib"]

_SCAN = """
import json, sys, safeload
result = safeload.scan(sys.argv[1])
print(json.dumps({"safe": result.is_safe(), "findings": [
    {"rule": f.rule_id, "severity": f.severity.name, "message": f.message, "subject": f.subject}
    for f in result.findings]}))
"""


def test_the_name_comes_from_the_generated_shard() -> None:
    entry = lookup(NAME)
    assert entry is not None and entry.origin == "generated"
    assert joblib.__version__ == RECORDED  # the development environment is the one the catalogue was made for


def test_no_drift_in_the_environment_the_catalogue_was_made_for(tmp_path: Path) -> None:
    path = tmp_path / "hex.pkl"
    path.write_bytes(PICKLE)
    result = safeload.scan(path)
    assert result.is_safe(), result.summary()
    assert not [f for f in result.findings if f.rule_id == "SL118"]
    assert shard_drift(checked_against("joblib"), "joblib") == ()
    assert installed_version("joblib", "joblib") == joblib.__version__


def _environment(tmp_path: Path, metadata: str | None) -> Path:
    site = tmp_path / "env" / "site-packages"
    site.mkdir(parents=True)
    shutil.copytree(Path(joblib.__file__).parent, site / "joblib",
                    ignore=shutil.ignore_patterns("__pycache__", "test", "tests"))
    if metadata is not None:
        (site / metadata).mkdir()
        (site / metadata / "METADATA").write_text(f"Metadata-Version: 2.1\nName: joblib\nVersion: "
                                                  f"{metadata.split('-')[1].removesuffix('.dist-info')}\n")
    return site


def _scan(site: Path, model: Path, cache: Path | None = None) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SAFELOAD_", "PYTEST_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(site), str(ROOT)])
    if cache is None:
        env["SAFELOAD_CACHE"] = "0"
    else:
        env["SAFELOAD_CACHE_DIR"] = str(cache)
    done = subprocess.run([sys.executable, "-c", _SCAN, str(model)], env=env, cwd=model.parent,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert isinstance(out, dict)
    return out


def _drift(out: dict[str, object]) -> list[dict[str, str]]:
    findings = out["findings"]
    assert isinstance(findings, list)
    return [f for f in findings if f["rule"] == "SL118"]


@pytest.mark.slow
def test_another_installed_version_is_reported(tmp_path: Path) -> None:
    site = _environment(tmp_path, "joblib-0.0.1.dist-info")
    model = tmp_path / "hex.pkl"
    model.write_bytes(PICKLE)
    out = _scan(site, model)
    drift = _drift(out)
    assert len(drift) == 1, out
    assert drift[0]["severity"].lower() == "low"
    assert drift[0]["subject"] == "catalogue:joblib"
    assert f"joblib {RECORDED}, installed 0.0.1" in drift[0]["message"]
    assert out["safe"] is True  # reported, not refused: LOW is below the default threshold
    assert not [f for f in out["findings"] if f["rule"] == "SL117"]  # type: ignore[attr-defined]


@pytest.mark.slow
def test_an_unreadable_version_counts_as_drift(tmp_path: Path) -> None:
    site = _environment(tmp_path, None)
    model = tmp_path / "hex.pkl"
    model.write_bytes(PICKLE)
    drift = _drift(_scan(site, model))
    assert len(drift) == 1 and "installed unknown" in drift[0]["message"]


@pytest.mark.slow
def test_a_cached_verdict_is_not_served_after_an_upgrade(tmp_path: Path) -> None:
    """The scan cache revalidates the metadata directory's listing: replacing the matching version's metadata
    with another one (what pip does on an upgrade) makes the next scan report the drift."""
    site = _environment(tmp_path, f"joblib-{RECORDED}.dist-info")
    model = tmp_path / "hex.pkl"
    model.write_bytes(PICKLE)
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o700)
    assert _drift(_scan(site, model, cache)) == []
    (site / f"joblib-{RECORDED}.dist-info").rename(site / "joblib-9.9.9.dist-info")
    drift = _drift(_scan(site, model, cache))
    assert len(drift) == 1 and "installed 9.9.9" in drift[0]["message"]


def test_local_version_labels_and_cpu_builds_are_the_same_release() -> None:
    assert shard_drift({"torch": "2.13.0+cpu"}, "torch") == ()  # installed as 2.13.0+cpu here
    import torch

    base = torch.__version__.split("+")[0]
    assert shard_drift({"torch": base}, "torch") == ()
    assert shard_drift({"torch": "1.0.0"}, "torch") == (f"torch 1.0.0, installed {torch.__version__}",)


def test_the_interpreter_is_compared_by_minor_version() -> None:
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert shard_drift({"python": f"{here}.0", "platform": sys.platform}, "collections") == ()
    assert shard_drift({"python": "3.2.0", "platform": sys.platform}, "collections") != ()
    assert shard_drift({"python": f"{here}.0", "platform": "plan9"}, "collections") == (
        f"platform plan9, installed {sys.platform}",)
