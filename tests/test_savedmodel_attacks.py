"""Issue 13 classes 3-5 (THREATS F4-F7) on real SavedModels built with TensorFlow at test time.

Every malicious model carries a harmless payload (writing a marker file under ``tmp_path``); each test checks
the refusal through ``safeload.scan``, the CLI and ``safeload.tf_saved_model_load``/``keras_load`` *and* that
the marker was never written. A few tests first prove the model is real: the plain TensorFlow loader runs it.
"""

from __future__ import annotations

import json
import os
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import safeload
from safeload import cli
from safeload.severity import Severity

pytestmark = [pytest.mark.tensorflow, pytest.mark.slow]

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
tf = pytest.importorskip("tensorflow")


def _max(result: safeload.ScanResult, rule: str) -> Severity | None:
    levels = [f.severity for f in result.findings if f.rule_id == rule]
    return max(levels) if levels else None


def _refused_everywhere(path: Path, marker: Path, rule: str, level: Severity) -> safeload.ScanResult:
    result = safeload.scan(path)
    assert _max(result, rule) == level, [f.describe() for f in result.findings]
    assert not result.is_safe()
    assert cli.main(["scan", "--no-progress", "-q", str(path)]) == 1
    with pytest.raises(safeload.UnsafeModelError):
        safeload.tf_saved_model_load(str(path))
    assert not marker.exists()
    return result


# -- builders ---------------------------------------------------------------------------------------------------
def _resource_module(init: Callable[[Any], Any]) -> Any:
    """A tf.Module holding a TrackableResource whose _initialize runs ``init``: TF runs it during load."""

    class Resource(tf.saved_model.experimental.TrackableResource):
        def _create_resource(self) -> Any:
            return tf.raw_ops.VarHandleOp(dtype=tf.float32, shape=[], shared_name=f"r{id(self)}")

        def _initialize(self) -> Any:
            init(self)
            return tf.raw_ops.AssignVariableOp(resource=self.resource_handle, value=1.0)

    module = tf.Module()
    module.r = Resource()
    return module


def _print_at_load(marker: Path, out: Path) -> Path:
    module = _resource_module(lambda _r: tf.print("payload", output_stream=f"file://{marker}"))
    tf.saved_model.save(module, str(out))
    return out


def _serving(out: Path, body: Callable[[Any], Any]) -> Path:
    class Model(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None], tf.float32)])
        def __call__(self, x: Any) -> Any:
            return body(x)

    tf.saved_model.save(Model(), str(out))
    return out


def _tf1(out: Path, hook: str, marker: Path, *, builder_saver: bool = False) -> Path:
    graph = tf.Graph()
    with graph.as_default():
        v = tf.compat.v1.get_variable("v", initializer=tf.constant([1.0, 2.0]), use_resource=True)
        x = tf.compat.v1.placeholder(tf.float32, [2], name="x")
        y = tf.multiply(x, v, name="y")
        saver = tf.compat.v1.train.Saver()
        main_op = None
        if hook == "main_op":
            main_op = tf.raw_ops.WriteFile(filename=tf.constant(str(marker)), contents=tf.constant("pwned"))
        elif hook == "restore":
            evil = tf.raw_ops.Save(filename=tf.constant(str(marker)), tensor_names=["v"], data=[v])
            restore = graph.get_operation_by_name(saver.saver_def.restore_op_name)
            saver.saver_def.restore_op_name = tf.group(restore, evil, name="restore_all_evil").name
        with tf.compat.v1.Session(graph=graph) as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            builder = tf.compat.v1.saved_model.Builder(str(out))
            sig = tf.compat.v1.saved_model.predict_signature_def({"x": x}, {"y": y})
            builder.add_meta_graph_and_variables(sess, ["serve"], signature_def_map={"serving_default": sig},
                                                 main_op=main_op, saver=None if builder_saver else saver)
            builder.save()
    return out


def _to_pbtxt(saved_model: Path) -> None:
    from google.protobuf import text_format
    from tensorflow.core.protobuf import saved_model_pb2

    proto = saved_model_pb2.SavedModel()
    proto.ParseFromString((saved_model / "saved_model.pb").read_bytes())
    (saved_model / "saved_model.pbtxt").write_text(text_format.MessageToString(proto), encoding="utf-8")
    (saved_model / "saved_model.pb").unlink()
    (saved_model / "fingerprint.pb").unlink(missing_ok=True)


# -- class 3: file-writing ops, load time ----------------------------------------------------------------------
def test_print_to_file_in_resource_initializer_runs_at_load(tmp_path: Path) -> None:
    """F4: PrintV2(output_stream='file://...') in a TrackableResource initializer: no call needed."""
    control_marker = tmp_path / "control.txt"
    control = _print_at_load(control_marker, tmp_path / "control")
    tf.saved_model.load(str(control))
    assert control_marker.exists()  # the model is real: plain TensorFlow runs the payload while loading

    marker = tmp_path / "marker.txt"
    path = _print_at_load(marker, tmp_path / "sm")
    result = _refused_everywhere(path, marker, "SL501", Severity.CRITICAL)
    finding = next(f for f in result.findings if f.rule_id == "SL501")
    assert finding.subject == "PrintV2"
    assert finding.details["when"] == "load"
    assert finding.details["output_stream"] == f"file://{marker}"


def test_tf1_main_op_write_file(tmp_path: Path) -> None:
    """F5: a TF1 SavedModel's main_op (run by tf.saved_model.load) writes a file."""
    marker = tmp_path / "marker.txt"
    control = _tf1(tmp_path / "control", "main_op", marker)
    tf.saved_model.load(str(control))
    assert marker.exists()
    marker.unlink()
    _refused_everywhere(_tf1(tmp_path / "sm", "main_op", marker), marker, "SL501", Severity.CRITICAL)


def test_tf1_save_hooked_on_restore_op(tmp_path: Path) -> None:
    """F5: a v1 Save grouped into saver_def.restore_op_name: in the restore closure, path not the saver's."""
    marker = tmp_path / "marker.txt"
    path = _tf1(tmp_path / "sm", "restore", marker)
    result = _refused_everywhere(path, marker, "SL504", Severity.HIGH)
    finding = next(f for f in result.findings if f.rule_id == "SL504")
    assert finding.subject == "Save"
    assert finding.details["when"] == "load"


def test_tf1_benign_loads(tmp_path: Path) -> None:
    path = _tf1(tmp_path / "sm", "none", tmp_path / "unused")
    result = safeload.scan(path)
    assert result.is_safe(), [f.describe() for f in result.findings]
    assert cli.main(["scan", "--no-progress", "-q", str(path)]) == 0
    loaded = safeload.tf_saved_model_load(str(path))
    out = loaded.signatures["serving_default"](x=tf.constant([1.0, 1.0]))
    assert out["y"].numpy().tolist() == [1.0, 2.0]


def test_tf1_training_saver_left_in_the_graph_is_clean(tmp_path: Path) -> None:
    """Training code's own Saver stays in the exported graph next to the Builder's: no loader runs it."""
    path = _tf1(tmp_path / "sm", "none", tmp_path / "unused", builder_saver=True)
    result = safeload.scan(path)
    assert result.is_safe(), [f.describe() for f in result.findings]
    assert safeload.tf_saved_model_load(str(path)) is not None


# -- class 3: ops in a served function (call time) --------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "rule", "subject"),
    [
        ("cache_file", "SL501", "CacheDatasetV2"),
        ("print_file", "SL501", "PrintV2"),
        ("decode_proto_file", "SL501", "DecodeProtoV2"),
    ],
)
def test_side_effect_ops_in_serving_function(tmp_path: Path, name: str, rule: str, subject: str) -> None:
    marker = tmp_path / "marker"

    def body(x: Any) -> Any:
        if name == "cache_file":
            ds = tf.data.Dataset.from_tensor_slices(x).cache(str(marker))
            return ds.reduce(0.0, lambda a, b: a + b)
        if name == "print_file":
            tf.print(x, output_stream=f"file://{marker}")
        elif name == "decode_proto_file":
            tf.raw_ops.DecodeProtoV2(bytes=tf.constant([b""]), message_type="a.B", field_names=["f"],
                                     output_types=[tf.int32], descriptor_source=f"file://{marker}")
        return x + 1.0

    path = _serving(tmp_path / "sm", body)
    result = safeload.scan(path)
    finding = next(f for f in result.findings if f.rule_id == rule and f.subject == subject)
    assert finding.severity == Severity.HIGH
    assert finding.details["when"] == "call"
    assert cli.main(["scan", "--no-progress", "-q", str(path)]) == 1
    with pytest.raises(safeload.UnsafeModelError):
        safeload.tf_saved_model_load(str(path))
    assert not marker.exists()


# -- benign controls ----------------------------------------------------------------------------------------------
def _benign_module(tmp_path: Path) -> Path:
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("a\nb\nc\n", encoding="utf-8")

    class Model(tf.Module):
        def __init__(self) -> None:
            super().__init__()
            self.v = tf.Variable([1.0, 2.0])
            init = tf.lookup.TextFileInitializer(str(vocab), tf.string, tf.lookup.TextFileIndex.WHOLE_LINE,
                                                 tf.int64, tf.lookup.TextFileIndex.LINE_NUMBER)
            self.table = tf.lookup.StaticHashTable(init, -1)

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
        def __call__(self, x: Any) -> Any:
            tf.print("to stderr")
            total = tf.data.Dataset.range(3).cache().reduce(tf.constant(0, tf.int64), lambda a, b: a + b)
            return self.table.lookup(x) + total

    out = tmp_path / "sm"
    tf.saved_model.save(Model(), str(out))
    vocab.unlink()  # the SavedModel has its own copy under assets/
    return out


def test_benign_module_with_asset_table_print_and_cache(tmp_path: Path) -> None:
    path = _benign_module(tmp_path)
    result = safeload.scan(path)
    assert result.is_safe(), [f.describe() for f in result.findings]
    proven = {f.subject for f in result.findings if f.rule_id == "SL505" and f.subject}
    assert {"InitializeTableFromTextFileV2", "RestoreV2", "SaveV2", "PrintV2", "CacheDatasetV2"} <= proven
    assert cli.main(["scan", "--no-progress", "-q", str(path)]) == 0
    loaded = safeload.tf_saved_model_load(str(path))
    assert loaded(tf.constant(["b", "zz"])).numpy().tolist() == [4, 2]


# -- class 5: saved_model.pbtxt ------------------------------------------------------------------------------------
def test_pbtxt_is_scanned_like_the_binary(tmp_path: Path) -> None:
    """F7: TF loads saved_model.pbtxt when saved_model.pb is absent; the CLI used to call it 'not a model'."""
    marker = tmp_path / "marker.txt"
    path = _print_at_load(marker, tmp_path / "sm")
    _to_pbtxt(path)
    tf.saved_model.load(str(path))  # the real loader reads the text format and runs the payload
    assert marker.exists()
    marker.unlink()
    _refused_everywhere(path, marker, "SL501", Severity.CRITICAL)
    with (path / "saved_model.pbtxt").open("rb") as handle:
        alone = safeload.scan(handle, name="saved_model.pbtxt")
    assert _max(alone, "SL501") == Severity.CRITICAL
    parent = tmp_path  # a directory walk finds the SavedModel by its pbtxt
    assert cli.main(["scan", "--no-progress", "-q", str(parent)]) == 1


def test_pbtxt_benign_loads(tmp_path: Path) -> None:
    path = _benign_module(tmp_path)
    _to_pbtxt(path)
    result = safeload.scan(path)
    assert result.is_safe(), [f.describe() for f in result.findings]
    assert cli.main(["scan", "--no-progress", "-q", str(path)]) == 0
    assert safeload.tf_saved_model_load(str(path))(tf.constant(["c"])).numpy().tolist() == [5]


# -- class 4: Keras layers that load other files --------------------------------------------------------------------
def test_tfsm_layer_pointing_outside_the_archive(tmp_path: Path) -> None:
    """F6: TFSMLayer(filepath=...) makes Keras run tf.saved_model.load on an unscanned SavedModel."""
    keras = pytest.importorskip("keras")
    marker = tmp_path / "marker.txt"
    evil = _print_at_load(marker, tmp_path / "evil_sm")
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    clean = tmp_path / "clean.keras"
    model.save(clean)
    with zipfile.ZipFile(clean) as src:
        members = {name: src.read(name) for name in src.namelist()}
    config = json.loads(members["config.json"])
    config["config"]["layers"].append({"module": "keras.layers", "class_name": "TFSMLayer",
                                       "config": {"name": "tfsm", "filepath": str(evil),
                                                  "call_endpoint": "serve", "trainable": False},
                                       "registered_name": None})
    members["config.json"] = json.dumps(config).encode()
    path = tmp_path / "evil.keras"
    with zipfile.ZipFile(path, "w") as dst:
        for name, data in members.items():
            dst.writestr(name, data)
    result = safeload.scan(path)
    finding = next(f for f in result.findings if f.rule_id == "SL408")
    assert finding.severity == Severity.HIGH
    assert finding.details["file"] == str(evil)
    assert cli.main(["scan", "--no-progress", "-q", str(path)]) == 1
    with pytest.raises(safeload.UnsafeModelError):
        safeload.keras_load(str(path), safe_mode=False)
    assert not marker.exists()
    assert safeload.scan(clean).is_safe()


# -- issue 14: tf-keras (Keras 2) files scan clean ---------------------------------------------------------------
def _tf_keras_model() -> Any:
    tf_keras = pytest.importorskip("tf_keras")
    layers = tf_keras.layers
    inputs = tf_keras.Input((16, 16, 3))
    x = layers.Conv2D(8, 3, strides=2, padding="same", use_bias=False)(inputs)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU(6.0)(x)
    x = layers.ZeroPadding2D(((0, 1), (0, 1)))(x)
    x = layers.DepthwiseConv2D(3, padding="valid")(x)
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(3, activation="softmax")(x)
    model = tf_keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def test_tf_keras_h5_and_saved_model_scan_clean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = _tf_keras_model()
    h5 = tmp_path / "model.h5"
    with pytest.warns(UserWarning, match="HDF5"):
        model.save(h5)
    model.save(tmp_path / "sm")
    for path in (h5, tmp_path / "sm"):
        result = safeload.scan(path)
        assert result.is_safe(), [f.describe() for f in result.findings]
    monkeypatch.setenv("TF_USE_LEGACY_KERAS", "1")
    loaded = safeload.keras_load(str(h5))
    assert loaded.optimizer.__class__.__name__ == "Adam"
    assert safeload.keras_load(str(tmp_path / "sm")) is not None


def test_tf_keras_mobilenet_saved_model_scans_clean(tmp_path: Path) -> None:
    """The issue-14 case: 215 findings on one MobileNetV2 SavedModel (TensorShape, __tuple__, Custom>Adam)."""
    tf_keras = pytest.importorskip("tf_keras")
    model = tf_keras.applications.MobileNetV2(input_shape=(32, 32, 3), alpha=0.35, weights=None, classes=3)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.save(tmp_path / "sm")
    result = safeload.scan(tmp_path / "sm")
    assert result.is_safe(), [f.describe() for f in result.findings][:10]


def test_tf_keras_names_still_checked(tmp_path: Path) -> None:
    """Data classes and tf_keras' registered names are inert only in their own shape."""
    shutil.rmtree(tmp_path, ignore_errors=True)
    cases = [
        {"class_name": "TensorShape", "module": "antigravity", "items": [1]},
        {"class_name": "Custom>Adam", "module": "os", "config": {}},
        {"class_name": "Custom>MyLayer", "config": {}},
    ]
    for case in cases:
        result = safeload.scan(json.dumps({"class_name": "Sequential", "config": {"layers": [case]}}).encode(),
                               name="config.json")
        assert not result.is_safe() or result.formats == (), case
