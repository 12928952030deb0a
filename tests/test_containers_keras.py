"""A ``.keras`` archive whose ``config.json`` (with a marshalled ``__lambda__``) lives only in the central
directory Python's ``zipfile`` reads (THREATS F3), against ``safeload.scan``, the CLI and ``keras_load``.

Keras opens ``.keras`` files with ``zipfile``; torch's miniz and safeload's own reader follow the zip64 locator
to a benign directory. The malicious file is refused by every path (one verdict), the marker stays absent, the
same construction with a proof payload runs under the real Keras (``safe_mode=False``), and a benign archive
loads exactly as Keras loads it.
"""

from __future__ import annotations

import base64
import json
import marshal
import sys
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import safeload
from safeload import Severity
from safeload.cli import main as cli_main

sys.path.insert(0, str(Path(__file__).parent))

from zipcraft import count_split, zip64_split

pytestmark = [pytest.mark.tensorflow, pytest.mark.slow]

keras = pytest.importorskip("keras")


def _members(path: Path) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(path) as zf:
        return [(info.filename, zf.read(info)) for info in zf.infolist()]


def _poisoned(members: list[tuple[str, bytes]], python: str) -> list[tuple[str, bytes]]:
    """Replace every marshalled Lambda function in config.json by ``lambda t: (<python>, t)[1]``."""
    code = compile(f"lambda t: ({python}, t)[1]", "<payload>", "eval").co_consts[0]
    payload = base64.encodebytes(marshal.dumps(code)).decode("ascii")
    out = []
    for name, data in members:
        if name != "config.json":
            out.append((name, data))
            continue
        config = json.loads(data)
        assert _rewrite(config, payload), "no Lambda function in the config"
        out.append((name, json.dumps(config).encode()))
    return out


def _rewrite(value: Any, payload: str) -> int:
    hits = 0
    if isinstance(value, dict):
        if value.get("class_name") == "__lambda__":
            config = value["config"]
            if "code" in config:
                config["code"] = payload
            else:
                config["value"] = [payload, None, None]
            hits += 1
        for item in value.values():
            hits += _rewrite(item, payload)
    elif isinstance(value, list):
        for item in value:
            hits += _rewrite(item, payload)
    return hits


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("keras_split")
    inp = keras.Input((3,))
    plain = keras.Model(inp, keras.layers.Dense(2)(inp))
    inp2 = keras.Input((3,))
    with_lambda = keras.Model(inp2, keras.layers.Lambda(lambda t: t * 2.0)(keras.layers.Dense(2)(inp2)))
    plain.save(root / "plain.keras")
    with_lambda.save(root / "lambda.keras")
    return {"root": root, "plain": _members(root / "plain.keras"), "lambda": _members(root / "lambda.keras")}


def _split(kind: str, benign: list[tuple[str, bytes]], evil: list[tuple[str, bytes]]) -> bytes:
    if kind == "zip64":
        return zip64_split(benign, evil)
    # One directory, one record more than the end record counts: the extra config.json is zipfile's last one.
    return count_split(benign, [m for m in evil if m[0] == "config.json"])


@pytest.mark.parametrize("kind", ["zip64", "count"])
def test_lambda_config_only_in_zipfile_directory(saved: dict[str, Any], tmp_path: Path, marker: Any,
                                                 kind: str) -> None:
    proof = tmp_path / "proof"
    proof_file = tmp_path / "proof.keras"
    proof_file.write_bytes(_split(kind, saved["plain"], _poisoned(saved["lambda"], f"open({str(proof)!r}, 'w').close()")))
    keras.saving.load_model(proof_file, safe_mode=False)
    assert proof.exists(), "Keras did not run the Lambda: the file does not test what it claims"

    path = tmp_path / "split.keras"
    path.write_bytes(_split(kind, saved["plain"], _poisoned(saved["lambda"], marker.python)))
    result = safeload.scan(path)
    assert result.max_severity == Severity.CRITICAL, result.summary(Severity.LOW)
    assert any(f.rule_id == "SL208" for f in result.findings)
    assert cli_main(["scan", str(path), "--format", "json", "-o", str(tmp_path / "out.json")]) == 1
    for safe_mode in (True, False):
        with pytest.raises(safeload.UnsafeModelError):
            safeload.keras_load(path, safe_mode=safe_mode)
    assert not marker.exists()


def test_benign_keras_loads_like_keras(saved: dict[str, Any]) -> None:
    path = saved["root"] / "plain.keras"
    assert safeload.scan(path).max_severity <= Severity.INFO
    got = safeload.keras_load(path)
    want = keras.saving.load_model(path)
    x = np.ones((2, 3), dtype="float32")
    assert np.allclose(np.asarray(got(x)), np.asarray(want(x)))


# --- the Keras directory format: one verdict for scan, the CLI and keras_load -------------------------------------
def _keras_dir(root: Path, members: list[tuple[str, bytes]]) -> Path:
    for name, data in members:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


def test_keras_directory_with_lambda_one_verdict(saved: dict[str, Any], tmp_path: Path, marker: Any) -> None:
    proof = tmp_path / "proof"
    proof_dir = _keras_dir(tmp_path / "proof_model", _poisoned(saved["lambda"],
                                                               f"open({str(proof)!r}, 'w').close()"))
    keras.saving.load_model(proof_dir, safe_mode=False)
    assert proof.exists(), "Keras did not run the Lambda from the directory"

    model_dir = _keras_dir(tmp_path / "models" / "evil_model", _poisoned(saved["lambda"], marker.python))
    result = safeload.scan(model_dir)
    assert result.max_severity == Severity.CRITICAL, result.summary(Severity.LOW)
    out = tmp_path / "out.json"
    assert cli_main(["scan", str(tmp_path / "models"), "--fail-on", "high", "--format", "json", "-o", str(out)]) == 1
    assert '"unsafe"' in out.read_text()
    for threshold in ("medium", "high"):
        with pytest.raises(safeload.UnsafeModelError):
            safeload.keras_load(model_dir, safe_mode=False, threshold=threshold)
    assert not marker.exists()


def test_benign_keras_directory_is_clean_and_loads(saved: dict[str, Any], tmp_path: Path) -> None:
    model_dir = _keras_dir(tmp_path / "plain_model", saved["plain"])
    assert safeload.scan(model_dir).max_severity <= Severity.INFO, safeload.scan(model_dir).summary(Severity.LOW)
    assert cli_main(["scan", str(model_dir), "--format", "json", "-o", str(tmp_path / "o.json")]) == 0
    got = safeload.keras_load(model_dir)
    want = keras.saving.load_model(model_dir)
    x = np.ones((2, 3), dtype="float32")
    assert np.allclose(np.asarray(got(x)), np.asarray(want(x)))
