"""Keras config scanning (``config.json``, ``model_config``) on hand-built configs: no TensorFlow needed.

Covers THREATS C17 (module references nested anywhere, nested Lambda) and D3 (Lambda bytecode,
arbitrary ``module``, ``get_file``, ``enable_unsafe_deserialization``, ``TorchModuleWrapper``).
"""

from __future__ import annotations

import base64
import io
import json
import marshal
import zipfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import safeload
from safeload._context import ScanContext
from safeload.findings import Finding
from safeload.policy import Policy
from safeload.scanners.keras import looks_like_marshalled_code, scan_keras_config
from safeload.severity import Severity
from tests.builders import call_pickle
from tests.conftest import Marker


def _scan(config: Any, trusted: tuple[str, ...] = ()) -> tuple[Finding, ...]:
    ctx = ScanContext(Policy(trusted=trusted), "<config>")
    data = config if isinstance(config, bytes) else json.dumps(config).encode()
    scan_keras_config(data, ctx)
    return ctx.findings


def _worst(findings: tuple[Finding, ...], rule: str) -> Severity | None:
    levels = [f.severity for f in findings if f.rule_id == rule]
    return max(levels) if levels else None


def _blocking(findings: tuple[Finding, ...]) -> list[str]:
    return [f.rule_id for f in findings if f.severity >= Severity.MEDIUM]


def _code_b64(marker: Marker) -> str:
    def payload(x: Any) -> Any:
        return x

    code = compile(f"lambda x: ({marker.python}, x)[1]", "<payload>", "eval")
    raw = marshal.dumps(code.co_consts[0] if code.co_consts else payload.__code__)
    return base64.encodebytes(raw).decode("ascii")


def ref(module: str | None, class_name: str, config: Any = None, registered: str | None = None) -> dict[str, Any]:
    return {"module": module, "class_name": class_name, "config": {} if config is None else config,
            "registered_name": registered}


def dense(name: str = "dense", **overrides: Any) -> dict[str, Any]:
    config = {"name": name, "units": 3, "activation": "relu",
              "kernel_initializer": ref("keras.initializers", "GlorotUniform", {"seed": None}),
              "bias_initializer": ref("keras.initializers", "Zeros"),
              "kernel_regularizer": ref("keras.regularizers", "L2", {"l2": 0.01}),
              "kernel_constraint": ref("keras.constraints", "MaxNorm", {"max_value": 2}),
              "dtype": ref("keras", "DTypePolicy", {"name": "float32"})}
    config.update(overrides)
    return {**ref("keras.layers", "Dense", config), "inbound_nodes": []}


def functional(layers: list[dict[str, Any]], name: str = "functional") -> dict[str, Any]:
    model = ref("keras.src.models.functional", "Functional", {"name": name, "layers": layers},
                registered="Functional")
    model["compile_config"] = {
        "optimizer": ref("keras.optimizers", "Adam", {"learning_rate": 0.001}),
        "loss": ref("builtins", "function", "mean_squared_error", "function"),
        "metrics": ["mae", ref("keras.metrics", "AUC", {"name": "auc"})],
    }
    return model


def lambda_layer(function: Any, **extra: Any) -> dict[str, Any]:
    return {**ref("keras.layers", "Lambda", {"name": "lam", "function": function, **extra}), "inbound_nodes": []}


def test_benign_keras3_config_is_clean() -> None:
    config = functional([ref("keras.layers", "InputLayer", {"batch_shape": [None, 4]}), dense(),
                         {**ref("keras.layers", "Dense", {"units": 1, "activation": ref("builtins", "function",
                                                                                          "relu", "function")})}])
    findings = _scan(config)
    assert _blocking(findings) == [], [f.describe() for f in findings]
    facts = next(f for f in findings if f.rule_id == "SL407")
    assert facts.details["layers"] == 3


def test_benign_sequential_with_wrappers() -> None:
    lstm = ref("keras.layers", "LSTM", {"units": 4, "recurrent_initializer": ref("keras.initializers",
                                                                                  "Orthogonal")})
    config = ref("keras", "Sequential", {"layers": [
        ref("keras.layers", "TimeDistributed", {"layer": dense()}),
        ref("keras.layers", "Bidirectional", {"layer": lstm, "merge_mode": "concat"}),
    ]})
    assert _blocking(_scan(config)) == []


def test_legacy_config_without_modules_is_clean() -> None:
    config = {"class_name": "Sequential", "config": {"name": "s", "layers": [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 4]}},
        {"class_name": "Dense", "config": {"units": 2, "kernel_initializer": {"class_name": "GlorotUniform",
                                                                               "config": {"seed": None}}}}]}}
    assert _blocking(_scan(config)) == []


# --- C17: module references anywhere ----------------------------------------------------------------------
@pytest.mark.parametrize("where", ["kernel_initializer", "bias_regularizer", "kernel_constraint", "activation"])
def test_c17_builtins_exec_in_nested_submodel(where: str, marker: Marker) -> None:
    evil = ref("builtins", "exec", {"source": marker.python})
    inner = functional([dense("inner", **{where: evil})], name="inner_model")
    outer = functional([ref("keras.layers", "InputLayer", {}), inner, dense()])
    findings = _scan(outer)
    assert _worst(findings, "SL403") == Severity.CRITICAL
    hit = next(f for f in findings if f.rule_id == "SL403")
    assert hit.subject == "builtins.exec"
    assert not hit.trustable
    assert not marker.exists()


@pytest.mark.parametrize(("module", "name"), [("builtins", "exec"), ("builtins", "eval"), ("os", "system"),
                                              ("subprocess", "Popen"), ("posix", "system")])
def test_dangerous_function_references(module: str, name: str) -> None:
    config = functional([dense(activation=ref(module, "function", name, "function"))])
    assert _worst(_scan(config), "SL403") == Severity.CRITICAL


def test_dangerous_reference_in_optimizer_and_loss() -> None:
    config = functional([dense()])
    config["compile_config"]["loss"] = ref("os", "function", "system", "function")
    config["compile_config"]["optimizer"] = ref("shutil", "rmtree", {})
    findings = _scan(config)
    assert _worst(findings, "SL403") == Severity.CRITICAL
    assert {f.subject for f in findings if f.rule_id == "SL403"} >= {"os.system", "shutil.rmtree"}


def test_fn_module_key() -> None:
    config = functional([dense(activation={"class_name": "function", "config": "system", "fn_module": "os"})])
    assert _worst(_scan(config), "SL403") == Severity.CRITICAL


def test_custom_module_is_medium_and_trustable() -> None:
    config = functional([{**ref("mypkg.layers", "MyLayer", {"units": 2}, "MyPkg>MyLayer")}])
    findings = _scan(config)
    hit = next(f for f in findings if f.rule_id == "SL402")
    assert hit.severity == Severity.MEDIUM
    assert hit.trustable
    assert hit.subject == "mypkg.layers.MyLayer"
    assert _blocking(_scan(config, trusted=("mypkg.layers.MyLayer",))) == []
    assert _blocking(_scan(config, trusted=("mypkg.*",))) == []


def test_custom_module_without_registered_name() -> None:
    config = functional([ref("mypkg.layers", "MyLayer", {}), ref("__main__", "function", "my_act", None)])
    subjects = {f.subject for f in _scan(config) if f.rule_id == "SL402"}
    assert subjects == {"mypkg.layers.MyLayer", "__main__.my_act"}
    assert _blocking(_scan(config, trusted=("mypkg.layers.MyLayer", "__main__.my_act"))) == []


def test_unknown_bare_class_is_flagged() -> None:
    config = {"class_name": "Sequential", "config": {"layers": [{"class_name": "EvilLayer", "config": {}}]}}
    assert _worst(_scan(config), "SL402") == Severity.MEDIUM


def test_registered_custom_object_under_keras_module() -> None:
    config = functional([ref("keras.layers", "Dense", {"units": 1}, "Custom>Dense")])
    assert _worst(_scan(config), "SL402") == Severity.MEDIUM


def test_keras_internal_module_outside_known_names() -> None:
    config = functional([ref("keras.src.utils.file_utils", "function", "extract_archive", "function")])
    assert _worst(_scan(config), "SL402") == Severity.MEDIUM


def test_malformed_module_name() -> None:
    config = functional([ref("os;import sys", "Dense", {})])
    assert _worst(_scan(config), "SL403") is not None


# --- D3: Lambda, get_file, enable_unsafe_deserialization, TorchModuleWrapper -------------------------------
def test_lambda_bytecode_keras3(marker: Marker) -> None:
    fn = {"class_name": "__lambda__", "config": {"code": _code_b64(marker), "defaults": None, "closure": None}}
    findings = _scan(functional([dense(), lambda_layer(fn)]))
    assert _worst(findings, "SL401") == Severity.CRITICAL
    assert not next(f for f in findings if f.rule_id == "SL401").trustable


@pytest.mark.parametrize("wrapper", ["TimeDistributed", "Bidirectional"])
def test_lambda_inside_wrapper_and_submodel(wrapper: str, marker: Marker) -> None:
    fn = {"class_name": "__lambda__", "config": {"code": _code_b64(marker), "defaults": None, "closure": None}}
    inner = functional([ref("keras.layers", wrapper, {"layer": lambda_layer(fn)})], name="inner")
    findings = _scan(functional([inner]))
    assert _worst(findings, "SL401") == Severity.CRITICAL


def test_lambda_legacy_tuple(marker: Marker) -> None:
    layer = {"class_name": "Lambda", "config": {"name": "l", "function": [_code_b64(marker), None, None],
                                                "function_type": "lambda", "module": "__main__",
                                                "output_shape": None, "output_shape_type": "raw",
                                                "arguments": {}}}
    config = {"class_name": "Sequential", "config": {"name": "s", "layers": [layer]}}
    assert _worst(_scan(config), "SL401") == Severity.CRITICAL


def test_lambda_legacy_named_function() -> None:
    layer = {"class_name": "Lambda", "config": {"function": "system", "function_type": "function",
                                                "module": "os"}}
    assert _worst(_scan({"class_name": "Sequential", "config": {"layers": [layer]}}), "SL403") == Severity.CRITICAL


def test_lambda_output_shape_bytecode(marker: Marker) -> None:
    layer = lambda_layer(ref("keras.activations", "function", "relu", "function"),
                         output_shape=[_code_b64(marker), None, None], output_shape_type="lambda")
    assert _worst(_scan(functional([layer])), "SL401") == Severity.CRITICAL


def test_marshalled_code_anywhere(marker: Marker) -> None:
    config = functional([dense()])
    config["compile_config"]["loss"] = {"class_name": "__lambda__", "config": {"value": [_code_b64(marker), None,
                                                                                          None]}}
    config["config"]["layers"][0]["config"]["hidden"] = {"blob": _code_b64(marker)}
    findings = _scan(config)
    assert _worst(findings, "SL401") == Severity.CRITICAL
    paths = {f.subject for f in findings if f.rule_id == "SL401"}
    assert len(paths) == 2


def test_marshal_detector() -> None:
    assert looks_like_marshalled_code(base64.encodebytes(marshal.dumps(test_marshal_detector.__code__)).decode())
    assert not looks_like_marshalled_code("4" * 40)
    assert not looks_like_marshalled_code("YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXo=")
    assert not looks_like_marshalled_code("relu")
    # binascii ignores characters outside the alphabet, so junk in front does not hide the code
    code = base64.encodebytes(marshal.dumps(test_marshal_detector.__code__)).decode()
    assert looks_like_marshalled_code("!!\n-" + code)
    assert not looks_like_marshalled_code("this is a long description of the layer, not code at all")


def test_enable_unsafe_deserialization(marker: Marker) -> None:
    fn = {"class_name": "__lambda__", "config": {"code": _code_b64(marker), "defaults": None, "closure": None}}
    config = functional([ref("keras.config", "function", "enable_unsafe_deserialization", "function"),
                         lambda_layer(fn)])
    findings = _scan(config)
    assert _worst(findings, "SL404") == Severity.CRITICAL
    assert _worst(findings, "SL401") == Severity.CRITICAL


def test_get_file() -> None:
    config = functional([dense(activation=ref("keras.utils", "function", "get_file", "function"))])
    assert _worst(_scan(config), "SL405") == Severity.HIGH
    config = functional([ref("keras.src.utils.file_utils", "get_file", {"origin": "http://127.0.0.1/x"})])
    assert _worst(_scan(config), "SL405") == Severity.HIGH


def test_non_modeling_keras_api() -> None:
    config = functional([dense(activation=ref("keras.models", "function", "load_model", "function"))])
    assert _worst(_scan(config), "SL403") == Severity.HIGH


def test_torch_module_wrapper(marker: Marker) -> None:
    payload = base64.b64encode(call_pickle("os", "system", marker.shell)).decode()
    wrapper = ref("keras.layers", "TorchModuleWrapper", {"name": "torch_module_wrapper", "module": payload,
                                                          "output_shape": None})
    findings = _scan(functional([wrapper]))
    assert _worst(findings, "SL406") == Severity.HIGH
    nested = [f for f in findings if f.rule_id == "SL101"]
    assert nested
    assert nested[0].severity == Severity.CRITICAL
    assert nested[0].location.member is not None
    assert "TorchModuleWrapper" in nested[0].location.member
    assert not marker.exists()


@pytest.mark.parametrize(("function", "rule", "level"), [
    ("py_function", "SL403", Severity.CRITICAL), ("numpy_function", "SL403", Severity.CRITICAL),
    ("io.write_file", "SL402", Severity.HIGH), ("io.gfile.remove", "SL402", Severity.HIGH),
])
def test_tf_op_lambda(function: str, rule: str, level: Severity) -> None:
    layer = {"class_name": "TFOpLambda", "config": {"name": "op", "function": function}}
    assert _worst(_scan({"class_name": "Functional", "config": {"layers": [layer]}}), rule) == level


def test_tf_op_lambda_benign() -> None:
    layers = [{"class_name": "TFOpLambda", "config": {"function": f}} for f in ("math.add", "__operators__.add",
                                                                                 "nn.relu", "compat.v1.shape")]
    assert _blocking(_scan({"class_name": "Functional", "config": {"layers": layers}})) == []


# --- robustness ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("data", [b"{", b"\xff\xfe", b'{"a": NaNx}', b"[" * 200_000, b""])
def test_malformed_json(data: bytes) -> None:
    assert _worst(_scan(data), "SL002") == Severity.HIGH


def test_deep_nesting_is_bounded() -> None:
    data = ('{"a":' * 5000 + "1" + "}" * 5000).encode()
    assert _worst(_scan(data), "SL002") == Severity.HIGH


def test_deep_but_parseable_nesting() -> None:
    value: Any = ref("os", "function", "system", "function")
    for _ in range(400):
        value = {"config": {"layer": value}}
    assert _worst(_scan(value), "SL403") == Severity.CRITICAL


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20)
    | st.sampled_from(["Lambda", "__lambda__", "function", "builtins", "os", "keras.layers", "get_file"]),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.sampled_from(["class_name", "module", "config", "registered_name", "function", "layers", "fn_module",
                         "function_type", "name", "x"]), children, max_size=5),
    max_leaves=30)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_fuzz_any_json_never_crashes(value: Any) -> None:
    _scan(value)


# --- .keras end to end through safeload.scan (zip scanner hand-off) ----------------------------------------
def _keras_zip(path: Path, config: dict[str, Any], *, metadata: bool = True) -> Path:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        if metadata:
            zf.writestr("metadata.json", json.dumps({"keras_version": "3.15.1"}))
        zf.writestr("config.json", json.dumps(config))
    path.write_bytes(buf.getvalue())
    return path


def test_keras_zip_c17_end_to_end(tmp_path: Path, marker: Marker) -> None:
    evil = ref("builtins", "exec", {"source": marker.python})
    path = _keras_zip(tmp_path / "m.keras", functional([dense(kernel_initializer=evil)]))
    result = safeload.scan(path)
    assert result.max_severity == Severity.CRITICAL
    assert "builtins.exec" in {f.subject for f in result.findings}
    clean = safeload.scan(_keras_zip(tmp_path / "ok.keras", functional([dense()])))
    assert clean.is_safe(), [f.describe() for f in clean.findings]


# --- legacy .h5 attributes (h5py only, no TensorFlow) ---------------------------------------------------------
def _h5(path: Path, **attrs: Any) -> Path:
    h5py = pytest.importorskip("h5py")
    with h5py.File(path, "w") as f:
        f.create_dataset("model_weights/dense/kernel", data=[[1.0, 2.0]])
        for key, value in attrs.items():
            f.attrs[key] = value
    return path


def test_h5_model_config_and_facts(tmp_path: Path) -> None:
    config = {"class_name": "Sequential", "config": {"layers": [{"class_name": "Dense", "config": {"units": 2}}]}}
    path = _h5(tmp_path / "m.h5", model_config=json.dumps(config), keras_version="2.15.0", backend="tensorflow")
    result = safeload.scan(path)
    assert result.is_safe(), [f.describe() for f in result.findings]
    facts = next(f for f in result.findings if f.rule_id == "SL407")
    assert facts.details["keras_version"] == "2.15.0"
    assert "hdf5" in result.formats


def test_h5_training_config_is_walked(tmp_path: Path) -> None:
    config = {"class_name": "Sequential", "config": {"layers": []}}
    training = {"loss": {"class_name": "function", "config": "system", "module": "os"}, "metrics": []}
    path = _h5(tmp_path / "m.h5", model_config=json.dumps(config).encode(), training_config=json.dumps(training))
    result = safeload.scan(path)
    hit = next(f for f in result.findings if f.rule_id == "SL403")
    assert hit.severity == Severity.CRITICAL
    assert hit.location.member == "training_config"


def test_h5_weights_only_is_clean(tmp_path: Path) -> None:
    result = safeload.scan(_h5(tmp_path / "w.h5"))
    assert result.is_safe()


def test_h5_bad_json(tmp_path: Path) -> None:
    result = safeload.scan(_h5(tmp_path / "m.h5", model_config="{not json"))
    assert not result.is_safe()
    assert any(f.rule_id == "SL002" for f in result.findings)


def test_h5_garbage_after_magic() -> None:
    data = b"\x89HDF\r\n\x1a\n" + b"\x00" * 4096
    result = safeload.scan(data)
    assert any(f.rule_id == "SL002" for f in result.findings)
    assert not result.is_safe()


def test_h5_without_h5py(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "h5py", None)
    result = safeload.scan(b"\x89HDF\r\n\x1a\n" + b"\x00" * 64)
    hit = next(f for f in result.findings if f.rule_id == "SL002")
    assert "keras" in hit.message
    assert not result.is_safe()


def test_h5_zip_polyglot_refused_by_loader(tmp_path: Path, marker: Marker) -> None:
    """An HDF5 file whose user block starts with a zip (and ends with one): routers that trust the first bytes
    see a benign zip; Keras opens it as .h5 and rebuilds the Lambda. keras_load scans it as Keras reads it."""
    h5py = pytest.importorskip("h5py")
    lam = {"class_name": "Lambda", "config": {"function": [_code_b64(marker), None, None],
                                              "function_type": "lambda"}}
    config = {"class_name": "Sequential", "config": {"layers": [lam]}}
    path = tmp_path / "poly.h5"
    with h5py.File(path, "w", userblock_size=512) as f:
        f.attrs["model_config"] = json.dumps(config)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("notes.txt", "hello")
    small_zip = buf.getvalue()
    data = bytearray(path.read_bytes())
    data[: len(small_zip)] = small_zip
    path.write_bytes(bytes(data) + small_zip)
    with h5py.File(path, "r") as f:  # still a valid HDF5 file for h5py/Keras
        assert "model_config" in f.attrs
    with pytest.raises(safeload.UnsafeModelError) as info:
        safeload.keras_load(path)
    assert any(f.rule_id == "SL401" for f in info.value.findings)
    assert not marker.exists()


def test_keras_load_refuses_before_importing_keras(tmp_path: Path, marker: Marker) -> None:
    """A refused file never imports the framework; file objects are scanned from their position too."""
    import subprocess
    import sys

    evil = ref("builtins", "exec", {"source": marker.python})
    path = _keras_zip(tmp_path / "m.keras", functional([dense(kernel_initializer=evil)]), metadata=False)
    code = (
        "import sys, safeload\n"
        f"try:\n    safeload.keras_load({str(path)!r})\nexcept safeload.UnsafeKerasModelError as e:\n"
        "    print('refused', sorted({f.rule_id for f in e.findings}))\n"
        f"with open({str(path)!r}, 'rb') as fh:\n    fh.read(0)\n"
        "    try:\n        safeload.keras_load(fh)\n    except safeload.UnsafeKerasModelError:\n"
        "        print('refused-fileobj')\n"
        "print('imported', sorted(m for m in sys.modules if m.split('.')[0] in ('keras', 'tensorflow')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1]).stdout
    assert "refused [" in out
    assert "SL403" in out
    assert "refused-fileobj" in out
    assert "imported []" in out
    assert not marker.exists()


@pytest.mark.parametrize(
    "layer",
    [
        {"class_name": "TFSMLayer", "config": {"filepath": "/abs/sm"}},
        {"class_name": "keras.layers.TFSMLayer", "config": {"filepath": "/abs/sm"}},
        {"class_name": "X", "registered_name": "keras>TFSMLayer", "config": {"filepath": "/abs/sm"}},
        {"class_name": "StringLookup", "config": {"vocabulary": "/etc/passwd"}},
        {"class_name": "TextVectorization", "config": {"vocabulary": "/etc/passwd"}},
    ],
)
def test_layers_that_load_other_files(layer: dict[str, object]) -> None:
    findings = _scan({"class_name": "Sequential", "config": {"layers": [layer]}})
    found = [f for f in findings if f.rule_id == "SL408"]
    assert found, [f.describe() for f in findings]
    assert found[0].severity == Severity.HIGH


def test_lookup_with_inline_vocabulary_is_clean() -> None:
    findings = _scan({"class_name": "StringLookup", "config": {"vocabulary": ["a", "b"]}})
    assert not any(f.rule_id == "SL408" for f in findings)


def test_trusting_tfsm_layer() -> None:
    layer = {"class_name": "TFSMLayer", "config": {"filepath": "/abs/sm"}}
    assert any(f.rule_id == "SL408" for f in _scan(layer))
    assert not any(f.rule_id == "SL408" for f in _scan(layer, trusted=("keras.layers.TFSMLayer",)))
