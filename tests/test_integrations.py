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


# ----- MLflow -----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mlflow_scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    pytest.importorskip("mlflow")
    pytest.importorskip("sklearn")
    pytest.importorskip("torch")
    yield from _scenario("mlflow", tmp_path_factory)


@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES)
def test_mlflow_flavours(mlflow_scenario: Scenario, mode: str) -> None:
    r = mlflow_scenario.results[mode]
    root = mlflow_scenario.root
    rows = ["sklearn-pickle", "sklearn-cloudpickle", "pyfunc-pickle", "pyfunc-cloudpickle", "pytorch",
            "pyfunc-pytorch", "runs-uri", "runs-uri-pyfunc", "pmdarima"]
    sources = {f"{api}-{fmt}": str(root / f"evil_sk_{fmt}") for api in ("sklearn", "pyfunc")
               for fmt in ("pickle", "cloudpickle")}
    sources.update({"pytorch": str(root / "evil_pt"), "pyfunc-pytorch": str(root / "evil_pt"),
                    "runs-uri": "runs:/", "runs-uri-pyfunc": "runs:/", "pmdarima": str(root / "evil_pmd.pkl")})
    check_matrix(r, root, rows, sources=sources)
    assert all(f"evil:{n}" in r for n in rows)
    assert all(f"benign:{n}" in r for n in ("sklearn-pickle", "sklearn-cloudpickle", "pyfunc-pickle",
                                            "pyfunc-cloudpickle", "pytorch", "runs-uri", "pmdarima"))
    # MLflow copied the run's artefacts to a temporary folder: the refusal leads with the URI the caller passed
    assert r["evil:runs-uri"]["message"].startswith("safeload refused to mlflow.sklearn.load_model runs:/")
    if mode == "install":
        assert r["controls"] == ["CONTROL_sk_cloudpickle", "CONTROL_sk_pickle"]


# ----- Hugging Face transformers (from_pretrained of pytorch_model.bin, Trainer resume) ---------------------


@pytest.fixture(scope="module")
def transformers_scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    pytest.importorskip("transformers")
    pytest.importorskip("accelerate")
    yield from _scenario("transformers", tmp_path_factory)


@pytest.mark.slow
@pytest.mark.torch
@pytest.mark.parametrize("mode", MODES)
def test_transformers_from_pretrained_and_trainer_resume(transformers_scenario: Scenario, mode: str) -> None:
    r = transformers_scenario.results[mode]
    root = transformers_scenario.root
    sources = {"from_pretrained": str(root / "evil_bert" / "pytorch_model.bin"),
               "from_pretrained-class": str(root / "evil_bert" / "pytorch_model.bin"),
               "trainer-resume": str(root / "evil_ckpt" / "optimizer.pt")}
    check_matrix(r, root, [*sources], sources=sources)
    assert all(f"evil:{n}" in r for n in sources)
    assert r["benign:from_pretrained"] is True and r["benign:trainer-resume"] is True


# ----- Lightning ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lightning_scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    pytest.importorskip("lightning")
    yield from _scenario("lightning", tmp_path_factory)


@pytest.mark.slow
@pytest.mark.torch
@pytest.mark.parametrize("mode", MODES)
def test_lightning_load_from_checkpoint(lightning_scenario: Scenario, mode: str) -> None:
    r = lightning_scenario.results[mode]
    root = lightning_scenario.root
    sources = {"load_from_checkpoint": str(root / "evil.ckpt"), "load_from_checkpoint-str": str(root / "evil.ckpt")}
    check_matrix(r, root, [*sources], sources=sources)
    assert r["benign:load_from_checkpoint"] is True
    assert all(f"evil:{n}" in r for n in sources)
    if mode == "install":
        assert r["controls"] == ["CONTROL_lightning"]  # live with weights_only=False, as many checkpoints need


# ----- numpy, joblib, torch through their own names; skops left alone ----------------------------------------


@pytest.fixture(scope="module")
def core_scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    pytest.importorskip("skops")
    pytest.importorskip("torch")
    yield from _scenario("core", tmp_path_factory)


@pytest.mark.torch
@pytest.mark.parametrize("mode", MODES)
def test_core_loaders_and_skops(core_scenario: Scenario, mode: str) -> None:
    r = core_scenario.results[mode]
    root = core_scenario.root
    sources = {"numpy.load": str(root / "evil.npy"), "joblib.load": str(root / "evil.joblib"),
               "torch.load": str(root / "evil.pt")}
    check_matrix(r, root, [*sources, "skops.io.load"], sources=sources)
    assert all(f"evil:{n}" in r and f"benign:{n}" in r for n in sources)
    # skops is not patched (it has its own allowlist) and still works with the hook on
    assert r["benign:skops.io.load"] is True
    assert r["skops-patched"] is False
    assert r["skops-untrusted"] == "UntrustedTypesFoundException"


# ----- Keras and TensorFlow ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def keras_scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    pytest.importorskip("keras")
    pytest.importorskip("tensorflow")
    yield from _scenario("keras", tmp_path_factory)


@pytest.mark.slow
@pytest.mark.tensorflow
@pytest.mark.parametrize("mode", MODES)
def test_keras_and_tensorflow_loads(keras_scenario: Scenario, mode: str) -> None:
    r = keras_scenario.results[mode]
    root = keras_scenario.root
    sources = {"keras.keras": str(root / "evil.keras"), "keras.h5": str(root / "evil.h5"),
               "tf.keras": str(root / "evil.keras"), "tf.saved_model": str(root / "evil_savedmodel")}
    check_matrix(r, root, [*sources], sources=sources, error="UnsafeKerasModelError")
    assert all(f"evil:{n}" in r and f"benign:{n}" in r for n in sources)
    if mode == "install":
        assert r["controls"] == ["CONTROL_keras"]


# ----- ONNX and ONNX Runtime ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def onnx_scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    yield from _scenario("onnx", tmp_path_factory)


@pytest.mark.parametrize("mode", MODES)
def test_onnx_and_onnxruntime(onnx_scenario: Scenario, mode: str) -> None:
    r = onnx_scenario.results[mode]
    root = onnx_scenario.root
    sources = {"onnx.load": str(root / "evil.onnx"), "onnx.load-escape": str(root / "escape" / "model.onnx"),
               "onnx.load_model_from_string": "<bytes>", "InferenceSession": str(root / "evil.onnx"),
               "InferenceSession-escape": str(root / "escape" / "model.onnx"), "InferenceSession-bytes": "<bytes>",
               "register_custom_ops_library": str(root / "evil.so")}
    check_matrix(r, root, [*sources, "onnx.load-external", "InferenceSession-external"], sources=sources,
                 error="UnsafeModelError")
    for name in ("onnx.load", "onnx.load-external", "InferenceSession", "InferenceSession-external",
                 "InferenceSession-bytes"):
        assert r[f"benign:{name}"] is True, name
    if mode == "install":
        assert r["patched"] == [True, True, True] and r["restored"] is True
    if not r["libs"]:
        pytest.skip("no C compiler: the native-library rows were not built")
    assert "evil:register_custom_ops_library" in r
    # a library trusted by path and sha256 is handed to ORT, which dlopens it (its constructor ran)
    assert r["trusted-library-ran"] is True and r["trusted-library"] == "Fail"
    if mode == "install":
        assert r["controls"] == ["CONTROL_lib"]  # without the hook, registering runs the library's code
