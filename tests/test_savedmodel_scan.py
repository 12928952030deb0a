"""SavedModel op scanning on protobuf messages built by the test-only oracle (no TensorFlow needed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import safeload
from safeload.severity import Severity
from tests._tfproto import keras_metadata, node, saved_model, tf2_saver_model


def _scan(data: bytes, **kw: object) -> safeload.ScanResult:
    return safeload.scan(data, name="saved_model.pb", **kw)  # type: ignore[arg-type]


def _rules(result: safeload.ScanResult) -> dict[str, Severity]:
    out: dict[str, Severity] = {}
    for f in result.findings:
        out[f.rule_id] = max(out.get(f.rule_id, f.severity), f.severity)
    return out


def test_tf2_checkpoint_functions_are_clean() -> None:
    result = _scan(tf2_saver_model())
    assert result.is_safe(), [f.describe() for f in result.findings]
    assert "savedmodel" in result.formats
    info = next(f for f in result.findings if f.rule_id == "SL505")
    assert info.details["tags"] == ["serve"]


def test_tf1_save_scope_is_clean() -> None:
    nodes = [
        node("x", "Placeholder"),
        node("save/Const", "Const"),
        node("save/SaveV2", "SaveV2"),
        node("save/control_dependency", "Identity"),
        node("save/RestoreV2", "RestoreV2"),
        node("save/restore_all", "NoOp"),
        node("save/ShardedFilename", "ShardedFilename"),
    ]
    result = _scan(
        saved_model(nodes, saver=("save/Const:0", "save/control_dependency:0", "save/restore_all"))
    )
    assert result.is_safe(), [f.describe() for f in result.findings]


@pytest.mark.parametrize(
    ("op", "rule", "level"),
    [
        ("ReadFile", "SL501", Severity.HIGH),
        ("WriteFile", "SL501", Severity.HIGH),
        ("MatchingFiles", "SL501", Severity.HIGH),
        ("PyFunc", "SL502", Severity.CRITICAL),
        ("EagerPyFunc", "SL502", Severity.CRITICAL),
        ("PyFuncStateless", "SL502", Severity.CRITICAL),
        ("MyCustomOp", "SL503", Severity.MEDIUM),
    ],
)
def test_ops_in_serving_function(op: str, rule: str, level: Severity) -> None:
    result = _scan(tf2_saver_model(serving_ops=("MatMul", op)))
    finding = next(f for f in result.findings if f.rule_id == rule)
    assert finding.severity == level
    assert finding.subject == op
    assert not result.is_safe()


@pytest.mark.parametrize("op", ["ReadFile", "PyFunc", "Evil"])
def test_ops_in_top_level_graph(op: str) -> None:
    result = _scan(saved_model([node("a", "Const"), node("b", op)]))
    assert not result.is_safe()


@pytest.mark.parametrize("op", ["SaveV2", "RestoreV2", "MergeV2Checkpoints", "ShardedFilename", "Save"])
def test_checkpoint_ops_outside_saver_are_flagged(op: str) -> None:
    result = _scan(tf2_saver_model(serving_ops=("MatMul", op)))
    assert _rules(result).get("SL504") == Severity.MEDIUM


def test_checkpoint_ops_without_saver_def_are_flagged() -> None:
    result = _scan(saved_model([node("s", "SaveV2")]))
    assert _rules(result).get("SL504") == Severity.MEDIUM


def test_file_op_inside_save_function_still_flagged() -> None:
    result = _scan(tf2_saver_model(extra_save_fn_ops=("WriteFile",)))
    assert _rules(result).get("SL501") == Severity.HIGH


def test_function_calls_through_list_attrs_and_library_ops() -> None:
    # A library function used directly as an op name is not an unknown op; its body is scanned.
    result = _scan(saved_model([node("c", "my_fn")], {"my_fn": [node("r", "ReadFile")]}))
    rules = _rules(result)
    assert "SL503" not in rules
    assert rules["SL501"] == Severity.HIGH


def test_custom_op_trusted_by_name() -> None:
    data = tf2_saver_model(serving_ops=("MyCustomOp",))
    assert not _scan(data).is_safe()
    trusted = _scan(data, trusted=["MyCustomOp"])
    assert trusted.is_safe()
    assert any(f.rule_id == "SL505" and f.subject == "MyCustomOp" for f in trusted.findings)


def test_pyfunc_cannot_be_trusted_away() -> None:
    result = _scan(tf2_saver_model(serving_ops=("PyFunc",)), trusted=["PyFunc"])
    assert not result.is_safe()


@pytest.mark.parametrize("data", [b"\x12\x05abc", b"\x12\x03\x12\x01\x0a\xff", b"\x0e\x00", b"\x12\x02\x0a"])
def test_malformed_pb_is_unparseable(data: bytes) -> None:
    result = _scan(data)
    assert _rules(result).get("SL002") == Severity.HIGH


def test_empty_message_is_not_clean() -> None:
    result = _scan(b"\x08\x01")
    assert not result.is_safe()


def test_keras_metadata_lambda() -> None:
    lam = {
        "class_name": "Lambda",
        "config": {
            "name": "l",
            "function": {
                "class_name": "__lambda__",
                "config": {
                    "code": "4wEAAAAAAAAAAAAAAAEAAAADAAAA8wQAAACXAHwAUwApAU6pACkB2gF4cwEAAAAg"
                    "+gE8+gg8bGFtYmRhPnIFAAAAAQAAAHMCAAAAgAByBAAAAA==\n",
                    "defaults": None,
                    "closure": None,
                },
            },
        },
    }
    data = keras_metadata(
        [
            ("root.layer-0", json.dumps({"class_name": "Dense", "config": {}})),
            ("root.layer-1", json.dumps(lam)),
        ]
    )
    result = safeload.scan(data, name="keras_metadata.pb")
    assert _rules(result)["SL401"] == Severity.CRITICAL
    lam_finding = next(f for f in result.findings if f.rule_id == "SL401")
    assert lam_finding.location.member is not None
    assert "root.layer-1" in lam_finding.location.member


def test_saved_model_dir_scans_pb_and_keras_metadata(tmp_path: Path) -> None:
    (tmp_path / "variables").mkdir()
    (tmp_path / "variables" / "variables.index").write_bytes(b"\x00" * 16)
    (tmp_path / "saved_model.pb").write_bytes(tf2_saver_model())
    clean = safeload.scan(tmp_path)
    assert clean.is_safe(), [f.describe() for f in clean.findings]
    lam = {
        "class_name": "Lambda",
        "config": {"function": ["4wEAAAAAAAAAAAAAAAEAAAAD", None, None], "function_type": "lambda"},
    }
    (tmp_path / "keras_metadata.pb").write_bytes(keras_metadata([("root.l", json.dumps(lam))]))
    assert _rules(safeload.scan(tmp_path))["SL401"] == Severity.CRITICAL


def test_saved_model_dir_link_outside(tmp_path: Path) -> None:
    (tmp_path / "variables").mkdir()
    (tmp_path / "saved_model.pb").write_bytes(tf2_saver_model())
    (tmp_path / "variables" / "variables.index").symlink_to("/etc/hostname")
    assert _rules(safeload.scan(tmp_path)).get("SL501") == Severity.HIGH


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _ld(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _nested_attr_model(depth: int) -> bytes:
    name_attr_list = _ld(1, b"f")
    for _ in range(depth):  # NameAttrList.attr{k: AttrValue.func=NameAttrList{...}}
        entry = _ld(1, b"k") + _ld(2, _ld(10, name_attr_list))
        name_attr_list = _ld(1, b"f") + _ld(2, entry)
    node_def = _ld(1, b"n") + _ld(2, b"While") + _ld(5, _ld(1, b"body") + _ld(2, _ld(10, name_attr_list)))
    return b"\x08\x01" + _ld(2, _ld(2, _ld(1, node_def)))


def test_nested_func_attrs_are_bounded() -> None:
    assert _scan(_nested_attr_model(3)).is_safe()
    deep = _scan(_nested_attr_model(40))
    assert _rules(deep).get("SL002") == Severity.HIGH
