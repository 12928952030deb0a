"""Real Keras 3 / TensorFlow models: round trips through the safe loaders, and tampered files refused.

Every model is built at test time. Malicious payloads only ever touch ``marker.path``; each malicious test
checks the scan severity, that the safe loader raises ``UnsafeModelError``, and that the marker is absent.
"""

from __future__ import annotations

import base64
import io
import json
import marshal
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import safeload
from safeload.severity import Severity
from tests._tfproto import keras_metadata
from tests.builders import call_pickle
from tests.conftest import Marker

pytestmark = [pytest.mark.tensorflow, pytest.mark.slow]

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")
h5py = pytest.importorskip("h5py")

X = np.random.default_rng(0).random((4, 8), dtype=np.float32)


@keras.saving.register_keras_serializable(package="SafeloadTest")
class Scale(keras.layers.Layer):
    def __init__(self, factor: float = 2.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, inputs: Any) -> Any:
        return inputs * self.factor

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "factor": self.factor}


@keras.saving.register_keras_serializable(package="SafeloadTest")
class TinyNet(keras.Model):
    def __init__(self, units: int = 3, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.units = units
        self.hidden = keras.layers.Dense(units, activation="relu")
        self.scale = Scale(0.5)
        self.out = keras.layers.Dense(2)

    def call(self, inputs: Any) -> Any:
        return self.out(self.scale(self.hidden(inputs)))

    def get_config(self) -> dict[str, Any]:
        return {"units": self.units}


CUSTOM = [f"{Scale.__module__}.Scale", f"{TinyNet.__module__}.TinyNet"]


def _sequential() -> Any:
    return keras.Sequential([keras.Input((8,)), keras.layers.Dense(4, activation="relu",
                                                                    kernel_regularizer="l2"),
                             keras.layers.Dense(2)], name="seq")


def _functional(with_lambda: bool = False, nested_lambda: bool = False) -> Any:
    inp = keras.Input((8,))
    h = keras.layers.Dense(4, kernel_initializer="he_normal")(inp)
    sub_layers: list[Any] = [keras.Input((4,)), keras.layers.Dense(3)]
    if nested_lambda:
        sub_layers.append(keras.layers.Lambda(lambda t: t * 2.0))
    sub = keras.Sequential(sub_layers, name="sub")
    h = sub(h)
    if with_lambda:
        h = keras.layers.Lambda(lambda t: t + 1.0)(h)
    out = keras.layers.Dense(2)(h)
    return keras.Model(inp, out, name="func")


def _compiled(model: Any) -> Any:
    model.compile(optimizer="adam", loss=keras.losses.MeanSquaredError(), metrics=[keras.metrics.MeanAbsoluteError()])
    model.train_on_batch(X, np.zeros((len(X), 2), dtype=np.float32))  # builds the optimizer's variables
    return model


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Each model saved once in every format it supports, with its reference predictions."""
    root = tmp_path_factory.mktemp("keras_models")
    out: dict[str, Any] = {"root": root}
    for name, model in (("seq", _sequential()), ("func", _functional()), ("custom", TinyNet())):
        _compiled(model)
        out[f"{name}.pred"] = np.asarray(model(X))
        model.save(root / f"{name}.keras")
        if name != "custom":  # subclassed models cannot be saved to legacy h5
            model.save(root / f"{name}.h5")
        model.export(str(root / f"{name}_sm"), verbose=False)
    for name, model in (("lambda", _functional(with_lambda=True)), ("nested", _functional(nested_lambda=True))):
        _compiled(model)
        model.save(root / f"{name}.keras")
        model.save(root / f"{name}.h5")
    return out


# --- helpers ----------------------------------------------------------------------------------------------
def _payload_b64(marker: Marker) -> str:
    code = compile(f"lambda t: ({marker.python}, t)[1]", "<payload>", "eval").co_consts[0]
    return base64.encodebytes(marshal.dumps(code)).decode("ascii")


def _rewrite_keras(src: Path, dst: Path, edit: Any, *, drop: tuple[str, ...] = ()) -> Path:
    with zipfile.ZipFile(src) as zin:
        members = {n: zin.read(n) for n in zin.namelist() if n not in drop}
    config = json.loads(members["config.json"])
    edit(config)
    members["config.json"] = json.dumps(config).encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zout:
        for name, data in members.items():
            zout.writestr(name, data)
    dst.write_bytes(buf.getvalue())
    return dst


def _rewrite_h5(src: Path, dst: Path, edit: Any) -> Path:
    dst.write_bytes(src.read_bytes())
    with h5py.File(dst, "r+") as f:
        config = json.loads(f.attrs["model_config"])
        edit(config)
        f.attrs["model_config"] = json.dumps(config)
    return dst


def _walk(value: Any) -> Any:
    if isinstance(value, dict):
        yield value
        for v in value.values():
            yield from _walk(v)
    elif isinstance(value, list):
        for v in value:
            yield from _walk(v)


def _poison_lambdas(marker: Marker) -> Any:
    def edit(config: dict[str, Any]) -> None:
        hits = 0
        for d in _walk(config):
            if d.get("class_name") == "__lambda__":
                key = "code" if "code" in d["config"] else "value"
                d["config"][key] = _payload_b64(marker) if key == "code" else [_payload_b64(marker), None, None]
                hits += 1
        assert hits, "no Lambda function found to poison"
    return edit


def _dense_configs(config: dict[str, Any]) -> list[dict[str, Any]]:
    return [d["config"] for d in _walk(config) if d.get("class_name") == "Dense"]


def _refused(path: Path, marker: Marker, load: Any = None, **kwargs: Any) -> safeload.UnsafeModelError:
    with pytest.raises(safeload.UnsafeModelError) as info:
        (load or safeload.keras_load)(path, **kwargs)
    assert isinstance(info.value, safeload.UnsafeKerasModelError)
    assert isinstance(info.value, ValueError)
    assert not marker.exists()
    return info.value


def _worst(result: safeload.ScanResult, rule: str) -> Severity | None:
    levels = [f.severity for f in result.findings if f.rule_id == rule]
    return max(levels) if levels else None


# --- round trips ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["seq", "func"])
@pytest.mark.parametrize("ext", ["keras", "h5"])
def test_round_trip_builtin(built: dict[str, Any], name: str, ext: str) -> None:
    path = built["root"] / f"{name}.{ext}"
    result = safeload.scan(path)
    assert result.is_safe(), [f.describe() for f in result.findings]
    ours = safeload.keras_load(path)
    theirs = keras.saving.load_model(path)
    np.testing.assert_allclose(np.asarray(ours(X)), built[f"{name}.pred"], rtol=1e-6)
    np.testing.assert_allclose(np.asarray(ours(X)), np.asarray(theirs(X)), rtol=1e-6)
    assert type(ours) is type(theirs)


def test_round_trip_subclassed_registered(built: dict[str, Any]) -> None:
    path = built["root"] / "custom.keras"
    result = safeload.scan(path)
    assert {f.subject for f in result.blocking()} == {CUSTOM[1]}  # Scale is built in __init__, not in config
    assert result.untrusted() == [CUSTOM[1]]
    with pytest.raises(safeload.UnsafeModelError, match="trusted="):
        safeload.keras_load(path)
    model = safeload.keras_load(path, trusted=CUSTOM)
    assert isinstance(model, TinyNet)
    np.testing.assert_allclose(np.asarray(model(X)), built["custom.pred"], rtol=1e-6)
    with safeload.trusted(CUSTOM):
        assert isinstance(safeload.safe_keras_load(path), TinyNet)


@pytest.mark.parametrize("name", ["seq", "func", "custom"])
def test_round_trip_saved_model(built: dict[str, Any], name: str) -> None:
    path = built["root"] / f"{name}_sm"
    result = safeload.scan(path)
    assert result.is_safe(), [f.describe() for f in result.findings]
    ours = safeload.tf_saved_model_load(path)
    theirs = tf.saved_model.load(str(path))
    np.testing.assert_allclose(np.asarray(ours.serve(X)), built[f"{name}.pred"], rtol=1e-5)
    np.testing.assert_allclose(np.asarray(ours.serve(X)), np.asarray(theirs.serve(X)), rtol=1e-6)


def test_safe_mode_passed_through(built: dict[str, Any]) -> None:
    """A benign lambda is still refused by the scan; trusting does not apply to bytecode (never weakened)."""
    path = built["root"] / "lambda.keras"
    with pytest.raises(safeload.UnsafeModelError):
        safeload.keras_load(path, safe_mode=False)
    result = safeload.scan(path, threshold="critical")
    assert not result.is_safe("critical")


def test_weights_only_h5_is_clean(tmp_path: Path) -> None:
    model = _compiled(_sequential())
    path = tmp_path / "w.weights.h5"
    model.save_weights(path)
    result = safeload.scan(path)
    assert result.is_safe(), [f.describe() for f in result.findings]
    assert any(f.rule_id == "SL407" and "weights only" in f.message for f in result.findings)


# --- Lambda in every format ----------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["lambda", "nested"])
def test_lambda_keras(built: dict[str, Any], name: str, tmp_path: Path, marker: Marker) -> None:
    path = _rewrite_keras(built["root"] / f"{name}.keras", tmp_path / "evil.keras", _poison_lambdas(marker))
    result = safeload.scan(path)
    assert _worst(result, "SL401") == Severity.CRITICAL
    err = _refused(path, marker)
    assert "SL401" in str(err)


@pytest.mark.parametrize("name", ["lambda", "nested"])
def test_lambda_h5(built: dict[str, Any], name: str, tmp_path: Path, marker: Marker) -> None:
    path = _rewrite_h5(built["root"] / f"{name}.h5", tmp_path / "evil.h5", _poison_lambdas(marker))
    assert _worst(safeload.scan(path), "SL401") == Severity.CRITICAL
    _refused(path, marker)
    _refused(path, marker, safe_mode=False)


def test_lambda_h5_keras2_shape(built: dict[str, Any], tmp_path: Path, marker: Marker) -> None:
    """tf.keras 2 wrote Lambda functions as a (base64 marshal, defaults, closure) tuple."""
    def edit(config: dict[str, Any]) -> None:
        layers = config["config"]["layers"]
        layers.insert(1, {"class_name": "Lambda", "config": {
            "name": "lam", "function": [_payload_b64(marker), None, None], "function_type": "lambda",
            "module": "__main__", "output_shape": None, "output_shape_type": "raw", "arguments": {}}})
    path = _rewrite_h5(built["root"] / "seq.h5", tmp_path / "k2.h5", edit)
    assert _worst(safeload.scan(path), "SL401") == Severity.CRITICAL
    _refused(path, marker)


def test_lambda_saved_model_keras_metadata(built: dict[str, Any], tmp_path: Path, marker: Marker) -> None:
    import shutil

    path = tmp_path / "sm"
    shutil.copytree(built["root"] / "func_sm", path)
    lam = {"class_name": "Lambda", "config": {"name": "lam", "function": [_payload_b64(marker), None, None],
                                              "function_type": "lambda", "module": "__main__"}}
    (path / "keras_metadata.pb").write_bytes(keras_metadata([("root.layer-2", json.dumps(lam))]))
    assert _worst(safeload.scan(path), "SL401") == Severity.CRITICAL
    _refused(path, marker, safeload.tf_saved_model_load)
    _refused(path, marker)


# --- C17 / D3 gadgets in real configs -------------------------------------------------------------------
@pytest.mark.parametrize("ext", ["keras", "h5"])
def test_c17_builtins_exec_initializer(built: dict[str, Any], ext: str, tmp_path: Path, marker: Marker) -> None:
    def edit(config: dict[str, Any]) -> None:
        _dense_configs(config)[-1]["kernel_initializer"] = {
            "module": "builtins", "class_name": "exec", "config": {"source": marker.python},
            "registered_name": None}
    src = built["root"] / f"func.{ext}"
    path = (_rewrite_keras if ext == "keras" else _rewrite_h5)(src, tmp_path / f"c17.{ext}", edit)
    result = safeload.scan(path)
    assert _worst(result, "SL403") == Severity.CRITICAL
    assert "builtins.exec" in {f.subject for f in result.findings}
    _refused(path, marker)


def test_keras_without_metadata_json_still_scanned(built: dict[str, Any], tmp_path: Path, marker: Marker) -> None:
    """Keras never reads metadata.json: a config.json alone is a loadable model and must be scanned."""
    path = _rewrite_keras(built["root"] / "lambda.keras", tmp_path / "nometa.keras", _poison_lambdas(marker),
                          drop=("metadata.json",))
    err = _refused(path, marker)
    assert any(f.rule_id == "SL401" for f in err.findings)


def test_enable_unsafe_deserialization(built: dict[str, Any], tmp_path: Path, marker: Marker) -> None:
    def edit(config: dict[str, Any]) -> None:
        _poison_lambdas(marker)(config)
        _dense_configs(config)[0]["activation"] = {"module": "keras.config", "class_name": "function",
                                                   "config": "enable_unsafe_deserialization",
                                                   "registered_name": "function"}
    path = _rewrite_keras(built["root"] / "lambda.keras", tmp_path / "unsafe.keras", edit)
    result = safeload.scan(path)
    assert _worst(result, "SL404") == Severity.CRITICAL
    _refused(path, marker)


def test_get_file(built: dict[str, Any], tmp_path: Path, marker: Marker) -> None:
    def edit(config: dict[str, Any]) -> None:
        _dense_configs(config)[0]["activation"] = {"module": "keras.utils", "class_name": "function",
                                                   "config": "get_file", "registered_name": "function"}
    path = _rewrite_keras(built["root"] / "func.keras", tmp_path / "getfile.keras", edit)
    assert _worst(safeload.scan(path), "SL405") == Severity.HIGH
    _refused(path, marker)


def test_torch_module_wrapper(built: dict[str, Any], tmp_path: Path, marker: Marker) -> None:
    payload = base64.b64encode(call_pickle("os", "system", marker.shell)).decode()

    def edit(config: dict[str, Any]) -> None:
        config["config"]["layers"].append({
            "module": "keras.layers", "class_name": "TorchModuleWrapper", "registered_name": None,
            "config": {"name": "torch_module_wrapper", "module": payload, "output_shape": None}})
    path = _rewrite_keras(built["root"] / "func.keras", tmp_path / "torch.keras", edit)
    result = safeload.scan(path)
    assert _worst(result, "SL406") == Severity.HIGH
    assert _worst(result, "SL101") == Severity.CRITICAL
    _refused(path, marker)


# --- SavedModel ops -------------------------------------------------------------------------------------
class _FileOps(tf.Module):  # type: ignore[misc]
    def __init__(self, target: str) -> None:
        super().__init__()
        self.target = target
        self.v = tf.Variable(1.0)

    @tf.function(input_signature=[tf.TensorSpec([], tf.string)])
    def write(self, contents: Any) -> Any:
        tf.io.write_file(self.target, contents)
        return self.v * 2.0

    @tf.function(input_signature=[])
    def read(self) -> Any:
        return tf.io.read_file(self.target)


@pytest.fixture(scope="module")
def file_ops_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fileops")
    path = root / "sm"
    tf.saved_model.save(_FileOps(str(root / "PWNED_MARKER")), str(path))
    assert not (root / "PWNED_MARKER").exists()  # tracing does not run the ops
    return path


def test_read_write_file_ops(file_ops_model: Path, marker: Marker) -> None:
    result = safeload.scan(file_ops_model)
    assert _worst(result, "SL501") == Severity.HIGH
    assert {"ReadFile", "WriteFile"} <= {f.subject for f in result.findings if f.rule_id == "SL501"}
    _refused(file_ops_model, marker, safeload.tf_saved_model_load)


def test_custom_op_name(built: dict[str, Any], tmp_path: Path, marker: Marker) -> None:
    import shutil

    path = tmp_path / "sm"
    shutil.copytree(built["root"] / "seq_sm", path)
    pb = (path / "saved_model.pb").read_bytes()
    needle = b"\x12\x06MatMul"  # NodeDef.op = "MatMul"
    assert needle in pb
    (path / "saved_model.pb").write_bytes(pb.replace(needle, b"\x12\x06EvilOp"))
    result = safeload.scan(path)
    assert _worst(result, "SL503") == Severity.MEDIUM
    assert "EvilOp" in {f.subject for f in result.findings}
    _refused(path, marker, safeload.tf_saved_model_load)


def test_real_saved_model_checkpoint_ops_not_flagged(file_ops_model: Path) -> None:
    result = safeload.scan(file_ops_model)
    assert _worst(result, "SL504") is None
    ops = next(f for f in result.findings if f.rule_id == "SL505" and "ops" in f.details).details["ops"]
    assert "SaveV2" in ops
    assert "RestoreV2" in ops


# --- malformed files ------------------------------------------------------------------------------------
def test_malformed_saved_model_pb(built: dict[str, Any], tmp_path: Path, marker: Marker) -> None:
    import shutil

    path = tmp_path / "sm"
    shutil.copytree(built["root"] / "seq_sm", path)
    pb = (path / "saved_model.pb").read_bytes()
    (path / "saved_model.pb").write_bytes(pb[: len(pb) // 2])
    assert _worst(safeload.scan(path), "SL002") == Severity.HIGH
    _refused(path, marker, safeload.tf_saved_model_load)


@pytest.mark.parametrize("damage", ["truncate", "header"])
def test_malformed_h5(built: dict[str, Any], tmp_path: Path, marker: Marker, damage: str) -> None:
    data = (built["root"] / "seq.h5").read_bytes()
    data = data[:len(data) // 3] if damage == "truncate" else data[:8] + b"\xff" * 64 + data[72:]
    path = tmp_path / "bad.h5"
    path.write_bytes(data)
    assert _worst(safeload.scan(path), "SL002") == Severity.HIGH
    _refused(path, marker)


def test_hook_aliases_route_here(built: dict[str, Any], tmp_path: Path, marker: Marker) -> None:
    """keras.models.load_model under safeload.patched() refuses a poisoned file too."""
    path = _rewrite_keras(built["root"] / "lambda.keras", tmp_path / "hook.keras", _poison_lambdas(marker))
    with safeload.patched(), pytest.raises(safeload.UnsafeModelError):
        keras.models.load_model(path)
    assert not marker.exists()


def test_tf1_saved_model_saver_scope_is_clean(tmp_path: Path) -> None:
    """TF1 SavedModels keep SaveV2/RestoreV2/MergeV2Checkpoints under the saver's ``save/`` scope."""
    path = tmp_path / "tf1"
    with tf.Graph().as_default():
        v = tf.compat.v1.Variable(2.0, name="v")
        x = tf.compat.v1.placeholder(tf.float32, [None], name="x")
        y = tf.multiply(x, v, name="y")
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            builder = tf.compat.v1.saved_model.Builder(str(path))
            signature = tf.compat.v1.saved_model.predict_signature_def({"x": x}, {"y": y})
            builder.add_meta_graph_and_variables(sess, ["serve"], signature_def_map={"serving_default": signature})
            builder.save()
    result = safeload.scan(path)
    assert result.is_safe(), [f.describe() for f in result.findings]
    ops = next(f for f in result.findings if f.rule_id == "SL505" and "ops" in f.details).details["ops"]
    assert {"SaveV2", "RestoreV2", "MergeV2Checkpoints"} <= set(ops)
    loaded = safeload.tf_saved_model_load(path)
    out = loaded.signatures["serving_default"](x=tf.constant([1.0, 3.0]))
    np.testing.assert_allclose(out["y"].numpy(), [2.0, 6.0])


def test_keras_directory_format(tmp_path: Path, marker: Marker) -> None:
    """Keras' unzipped directory format: config.json is scanned as a Keras config, the rest by content."""
    model = _compiled(_functional(with_lambda=True))
    path = tmp_path / "unzipped"
    model.save(path, zipped=False)
    assert path.is_dir()
    assert (path / "config.json").is_file()
    config = json.loads((path / "config.json").read_text())
    _poison_lambdas(marker)(config)
    (path / "config.json").write_text(json.dumps(config))
    err = _refused(path, marker)
    assert any(f.rule_id == "SL401" for f in err.findings)
    clean = tmp_path / "clean"
    _compiled(_sequential()).save(clean, zipped=False)
    assert isinstance(safeload.keras_load(clean), keras.Model)
