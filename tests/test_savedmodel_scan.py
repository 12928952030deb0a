"""SavedModel op scanning on protobuf messages built by the test-only oracle (no TensorFlow needed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import safeload
from safeload.severity import Severity
from tests._tfproto import M, keras_metadata, node, saved_model, tf2_saver_model


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
    info = next(f for f in result.findings if f.rule_id == "SL505" and "tags" in f.details)
    assert info.details["tags"] == ["serve"]


TF1_SAVER = ("save/Const:0", "save/control_dependency:0", "save/restore_all")


def _tf1_nodes(extra: tuple[Any, ...] = ()) -> list[Any]:
    """The shape tf.compat.v1.saved_model.Builder writes: the saver's ops hang off the saver_def's tensors."""
    return [
        node("x", "Placeholder"),
        node("v", "VarHandleOp"),
        node("y", "Mul", inputs=("x", "v")),
        node("save/Const", "Const", strings=("model",)),
        node("save/StringJoin/inputs_1", "Const", strings=("_temp_6f0c/part",)),
        node("save/StringJoin", "StringJoin", inputs=("save/Const", "save/StringJoin/inputs_1")),
        node("save/ShardedFilename", "ShardedFilename", inputs=("save/StringJoin",)),
        node("save/SaveV2", "SaveV2", inputs=("save/ShardedFilename", "v")),
        node("save/MergeV2Checkpoints/checkpoint_prefixes", "Pack", inputs=("save/ShardedFilename", "^save/SaveV2")),
        node("save/MergeV2Checkpoints", "MergeV2Checkpoints",
             inputs=("save/MergeV2Checkpoints/checkpoint_prefixes", "save/Const")),
        node("save/control_dependency", "Identity", inputs=("save/Const", "^save/MergeV2Checkpoints")),
        node("save/RestoreV2", "RestoreV2", inputs=("save/Const",)),
        node("save/Assign", "AssignVariableOp", inputs=("v", "save/RestoreV2")),
        node("save/restore_all", "NoOp", inputs=("^save/Assign",)),
        *extra,
    ]


def test_tf1_save_scope_is_clean() -> None:
    result = _scan(saved_model(_tf1_nodes(), saver=TF1_SAVER, signatures={"serving_default": ["y:0"]}))
    assert result.is_safe(), [f.describe() for f in result.findings]


def test_tf1_checkpoint_op_named_like_saver_but_not_wired_to_it() -> None:
    """A node under the save/ scope that the saver never uses, but a signature does, is not the saver's."""
    extra = (
        node("save/SaveV2_evil", "SaveV2", inputs=("x",)),
        node("out", "Identity", inputs=("^save/SaveV2_evil", "y")),
    )
    result = _scan(saved_model(_tf1_nodes(extra), saver=TF1_SAVER, signatures={"serving_default": ["out:0"]}))
    assert _rules(result).get("SL504") == Severity.MEDIUM


def test_tf1_saver_op_also_needed_by_a_signature_is_flagged() -> None:
    result = _scan(saved_model(_tf1_nodes(), saver=TF1_SAVER, signatures={"leak": ["save/control_dependency:0"]}))
    assert _rules(result).get("SL504") == Severity.MEDIUM


def test_traced_save_called_from_serving_is_flagged() -> None:
    data = saved_model(
        [
            node("call", "StatefulPartitionedCall", "__inference__traced_save_1"),
            node("save", "StatefulPartitionedCall", "__inference__traced_save_1"),
        ],
        {"__inference__traced_save_1": [node("s", "SaveV2")]},
        saver=("f:0", "save:0", "save"),
    )
    assert _rules(_scan(data)).get("SL504", Severity.INFO) >= Severity.MEDIUM


def test_traced_save_exposed_as_concrete_function_is_flagged() -> None:
    data = saved_model(
        [node("save", "StatefulPartitionedCall", "__inference__traced_save_1")],
        {"__inference__traced_save_1": [node("s", "SaveV2")]},
        saver=("f:0", "save:0", "save"),
        exposed=("__inference__traced_save_1",),
    )
    assert _rules(_scan(data)).get("SL504", Severity.INFO) >= Severity.MEDIUM


def test_duplicate_attr_key_last_wins() -> None:
    """protobuf maps keep the last value of a repeated key: TF calls evil_fn, so evil_fn is not the saver's."""
    saver_node = node("save", "StatefulPartitionedCall", "__inference__traced_save_1")
    dup = saver_node.attr.add(key="f")
    dup.value.func.name = "evil_fn"
    data = saved_model(
        [saver_node, node("serve", "StatefulPartitionedCall", "__inference__traced_save_1")],
        {"__inference__traced_save_1": [node("s", "SaveV2")], "evil_fn": [node("e", "SaveV2")]},
        saver=("f:0", "save:0", "save"),
    )
    assert _rules(_scan(data)).get("SL504", Severity.INFO) >= Severity.MEDIUM


def test_duplicate_saver_def_last_field_wins() -> None:
    """Two saver_def fields merge: the last restore_op_name wins, so an earlier decoy does not own nodes."""
    base = saved_model([node("evil", "SaveV2"), node("real", "NoOp")], saver=("f:0", "real:0", "real"))
    decoy = M["MetaGraphDef"]()
    decoy.saver_def.restore_op_name = "evil"
    real = M["MetaGraphDef"]()
    real.saver_def.restore_op_name = "real"
    parsed = M["SavedModel"]()
    parsed.ParseFromString(base)
    meta = parsed.meta_graphs[0].SerializeToString() + decoy.SerializeToString() + real.SerializeToString()
    oracle = M["MetaGraphDef"]()
    oracle.ParseFromString(meta)
    assert oracle.saver_def.restore_op_name == "real"
    data = b"\x08\x01" + _ld(2, meta)
    assert _rules(_scan(data)).get("SL504") == Severity.MEDIUM


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


@pytest.mark.parametrize("op", ["SaveV2", "RestoreV2", "MergeV2Checkpoints", "Save", "SaveSlices", "RestoreSlice"])
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
    assert any(f.rule_id == "SL112" and f.subject == "MyCustomOp" for f in trusted.findings)


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


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_fuzz_mutated_saved_model(data: st.DataObject) -> None:
    """Mutated real-shaped saved_model.pb: a finding or clean, never an internal error (SL005)."""
    raw = bytearray(tf2_saver_model(serving_ops=("MatMul", "ReadFile")))
    for _ in range(data.draw(st.integers(1, 8))):
        pos = data.draw(st.integers(0, len(raw) - 1))
        raw[pos] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(1, len(raw)))
    result = _scan(bytes(raw[:cut]))
    assert not any(f.rule_id == "SL005" for f in result.findings), [f.describe() for f in result.findings]


# -- allowlist-first ranking with argument-aware rules (crafted graphs: ops TF's Python API cannot build) -----
INIT = "__saved_model_init_op"


def _init_model(extra: list[Any], *, assets: dict[str, str] | None = None) -> bytes:
    """A graph whose init op (run by tf.saved_model.load and the C++ loader) depends on ``extra``."""
    last = extra[-1].name
    return saved_model([*extra, node("init", "NoOp", inputs=(f"^{last}",))], signatures={INIT: ["init"]},
                       assets=assets)


@pytest.mark.parametrize(
    ("op", "rule", "at_load"),
    [
        ("DumpTensor", "SL501", Severity.CRITICAL),
        ("WriteFile", "SL501", Severity.CRITICAL),
        ("ReadFile", "SL501", Severity.HIGH),
        ("Abort", "SL507", Severity.HIGH),
        ("RpcServer", "SL506", Severity.CRITICAL),
        ("RpcClient", "SL506", Severity.CRITICAL),
        ("DataServiceDatasetV4", "SL506", Severity.CRITICAL),
        ("RegisterDatasetV2", "SL506", Severity.CRITICAL),
        ("Skipgram", "SL501", Severity.HIGH),
        ("GenerateVocabRemapping", "SL501", Severity.HIGH),
        ("PyFunc", "SL502", Severity.CRITICAL),
        ("SleepOp", "SL507", Severity.HIGH),
        ("XlaCustomCall", "SL503", Severity.HIGH),
        ("NotARealOp", "SL503", Severity.HIGH),
    ],
)
def test_ops_ranked_higher_at_load(op: str, rule: str, at_load: Severity) -> None:
    loaded = _scan(_init_model([node("evil", op)]))
    finding = next(f for f in loaded.findings if f.rule_id == rule and f.subject == op)
    assert finding.severity == at_load
    assert finding.details["when"] == "load"
    called = _scan(tf2_saver_model(serving_ops=(op,)))
    assert _rules(called)[rule] <= at_load
    assert not called.is_safe()


@pytest.mark.parametrize(
    ("op", "attr", "value", "flagged"),
    [
        ("PrintV2", "output_stream", "stderr", False),
        ("PrintV2", "output_stream", "log(warning)", False),
        ("PrintV2", "output_stream", "file:///tmp/x", True),
        ("PrintV2", "output_stream", "STDERR", True),
        ("DecodeProtoV2", "descriptor_source", "local://", False),
        ("DecodeProtoV2", "descriptor_source", "bytes://\x0a\x01x", False),
        ("DecodeProtoV2", "descriptor_source", "file:///etc/x.desc", True),
        ("EncodeProto", "descriptor_source", "/etc/x.desc", True),
        ("DebugIdentityV2", "debug_urls", "file:///tmp/dump", True),
        ("FixedUnigramCandidateSampler", "vocab_file", "/etc/passwd", True),
        ("FixedUnigramCandidateSampler", "vocab_file", "", False),
        ("Copy", "debug_ops_spec", "DebugIdentity;grpc://h:1;0", True),
    ],
)
def test_attribute_rules(op: str, attr: str, value: str, flagged: bool) -> None:
    result = _scan(saved_model([node("n", op, s={attr: value})]))
    assert result.is_safe() is (not flagged), [f.describe() for f in result.findings]


def test_print_v2_default_stream_is_stderr() -> None:
    assert _scan(saved_model([node("p", "PrintV2")])).is_safe()


@pytest.mark.parametrize(("filename", "flagged"), [("", False), ("/tmp/cache", True), (None, True)])
def test_cache_dataset_filename(filename: str | None, flagged: bool) -> None:
    nodes = [node("f", "Placeholder") if filename is None else node("f", "Const", strings=(filename,)),
             node("c", "CacheDatasetV2", inputs=("ds", "f"))]
    assert _scan(saved_model(nodes)).is_safe() is (not flagged)


def test_table_from_asset_is_clean_and_from_elsewhere_is_not() -> None:
    ok = _init_model([node("asset_path", "Placeholder"),
                      node("t", "InitializeTableFromTextFileV2", inputs=("table", "asset_path"))],
                     assets={"asset_path:0": "vocab.txt"})
    assert _scan(ok).is_safe()
    for filename in ("/etc/passwd", "../../../etc/passwd"):
        bad = _init_model([node("asset_path", "Placeholder"),
                           node("t", "InitializeTableFromTextFileV2", inputs=("table", "asset_path"))],
                          assets={"asset_path:0": filename})
        assert _rules(_scan(bad))["SL501"] == Severity.HIGH
    const = _init_model([node("p", "Const", strings=("/etc/passwd",)),
                         node("t", "InitializeTableFromTextFileV2", inputs=("table", "p"))])
    assert _rules(_scan(const))["SL501"] == Severity.HIGH


def _restore_model(body: list[Any]) -> bytes:
    nodes = [node("saver_filename", "Placeholder"),
             node("restore", "StatefulPartitionedCall", "restore_fn", inputs=("saver_filename",))]
    return saved_model(nodes, {"restore_fn": body}, saver=("saver_filename:0", "save:0", "restore"),
                       args={"restore_fn": ("file_prefix",)})


def test_checkpoint_path_must_come_from_the_saver_filename() -> None:
    assert _scan(_restore_model([node("r", "RestoreV2", inputs=("file_prefix",))])).is_safe()
    escape = [node("c", "Const", strings=("/../../../tmp/x",)),
              node("j", "StringJoin", inputs=("file_prefix", "c:output:0")),
              node("s", "ShardedFilename", inputs=("j:output:0",)),
              node("w", "SaveV2", inputs=("s:filename:0",))]
    assert _rules(_scan(_restore_model(escape)))["SL504"] == Severity.HIGH
    constant = [node("c", "Const", strings=("/tmp/x",)), node("r", "RestoreV2", inputs=("c:output:0",))]
    assert _rules(_scan(_restore_model(constant)))["SL504"] == Severity.HIGH
    merge = [node("c", "Const", strings=("/tmp/victim",)),
             node("m", "MergeV2Checkpoints", inputs=("c:output:0", "file_prefix"))]
    assert _rules(_scan(_restore_model(merge)))["SL504"] == Severity.HIGH


def test_saver_filename_with_a_default_is_not_the_saver_in_a_signature() -> None:
    """A signature that reaches a checkpoint op without feeding the filename uses the constant default."""
    nodes = [node("save/Const", "Const", strings=("/tmp/evil",)),
             node("w", "SaveV2", inputs=("save/Const",)),
             node("out", "Identity", inputs=("x", "^w"))]
    data = saved_model(nodes, saver=("save/Const:0", "w:0", "nothing"), signatures={"serving_default": ["out:0"]})
    assert _rules(_scan(data))["SL504"] >= Severity.MEDIUM


def test_function_cycle_and_budget_terminate() -> None:
    body = [node("c", "StatefulPartitionedCall", "f", inputs=("a",)), node("w", "WriteFile")]
    data = saved_model([node("x", "StatefulPartitionedCall", "f")], {"f": body}, args={"f": ("a",)})
    assert _rules(_scan(data))["SL501"] == Severity.HIGH


def test_function_node_named_like_an_argument_is_not_the_argument() -> None:
    """``c:output:0`` is node c even when an argument is also called c (it would pass as the saver path)."""
    body = [node("file_prefix", "Const", strings=("/tmp/evil",)), node("r", "RestoreV2", inputs=("file_prefix:output:0",))]
    assert _rules(_scan(_restore_model(body)))["SL504"] == Severity.HIGH


def test_feeding_another_output_does_not_hide_the_node() -> None:
    """A filename tensor ``x:1``: TF still runs x (and what it needs) for ``x:0``."""
    nodes = [node("w", "WriteFile"), node("x", "IdentityN", inputs=("a", "b", "^w")),
             node("r", "RestoreV2", inputs=("x:1",)), node("restore", "NoOp", inputs=("^r", "x"))]
    result = _scan(saved_model(nodes, saver=("x:1", "s:0", "restore")))
    assert _rules(result)["SL501"] == Severity.CRITICAL
    assert "SL504" not in _rules(result)  # x:1 is fed with the variables path


def test_function_named_like_an_op_is_still_ranked() -> None:
    data = saved_model([node("c", "WriteFile")], {"WriteFile": [node("n", "NoOp")]})
    assert _rules(_scan(data))["SL501"] == Severity.HIGH


def test_orphan_checkpoint_op_with_a_constant_path_is_flagged() -> None:
    """Only a Saver-shaped orphan (path from a filename placeholder) is exempt; a constant path is not."""
    nodes = [node("c", "Const", strings=("/tmp/evil",)), node("w", "SaveV2", inputs=("c",))]
    assert _rules(_scan(saved_model(nodes)))["SL504"] == Severity.MEDIUM
    saver_shaped = [node("d", "Const", strings=("model",)), node("f", "PlaceholderWithDefault", inputs=("d",)),
                    node("w", "SaveV2", inputs=("f",))]
    assert _scan(saved_model(saver_shaped)).is_safe()
