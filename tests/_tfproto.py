"""Test-only oracle: SavedModel-shaped protobuf messages built with ``google.protobuf`` (descriptor_pb2).

The field numbers mirror TensorFlow's ``saved_model.proto``, ``meta_graph.proto``, ``graph.proto``,
``node_def.proto``, ``function.proto``, ``attr_value.proto`` and Keras' ``saved_metadata.proto`` (only
the fields safeload reads, plus a few it must skip). No TensorFlow import: fast enough for every test run.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

_F = descriptor_pb2.FieldDescriptorProto


def _message(file: Any, name: str, fields: list[tuple[str, int, int, str | None, bool]]) -> None:
    msg = file.message_type.add(name=name)
    for fname, number, ftype, type_name, repeated in fields:
        field = msg.field.add(
            name=fname, number=number, type=ftype, label=_F.LABEL_REPEATED if repeated else _F.LABEL_OPTIONAL
        )
        if type_name:
            field.type_name = f".tfproto.{type_name}"


def _build() -> dict[str, Any]:
    file = descriptor_pb2.FileDescriptorProto(name="safeload_tfproto_test.proto", package="tfproto", syntax="proto3")
    s, i64, i32, msg, b, f32 = (
        _F.TYPE_STRING,
        _F.TYPE_INT64,
        _F.TYPE_INT32,
        _F.TYPE_MESSAGE,
        _F.TYPE_BYTES,
        _F.TYPE_FLOAT,
    )
    _message(
        file,
        "SavedModel",
        [("saved_model_schema_version", 1, i64, None, False), ("meta_graphs", 2, msg, "MetaGraphDef", True)],
    )
    _message(
        file,
        "MetaInfoDef",
        [
            ("meta_graph_version", 1, s, None, False),
            ("tags", 4, s, None, True),
            ("tensorflow_version", 5, s, None, False),
        ],
    )
    _message(
        file,
        "SaverDef",
        [
            ("filename_tensor_name", 1, s, None, False),
            ("save_tensor_name", 2, s, None, False),
            ("restore_op_name", 3, s, None, False),
            ("max_to_keep", 4, i32, None, False),
        ],
    )
    _message(
        file,
        "MetaGraphDef",
        [
            ("meta_info_def", 1, msg, "MetaInfoDef", False),
            ("graph_def", 2, msg, "GraphDef", False),
            ("saver_def", 3, msg, "SaverDef", False),
            ("signature_def", 5, msg, "SignatureEntry", True),
            ("asset_file_def", 6, msg, "AssetFileDef", True),
            ("object_graph_def", 7, msg, "SavedObjectGraph", False),
        ],
    )
    _message(file, "TensorInfo", [("name", 1, s, None, False)])
    _message(file, "AssetFileDef", [("tensor_info", 1, msg, "TensorInfo", False), ("filename", 2, s, None, False)])
    _message(file, "TensorEntry", [("key", 1, s, None, False), ("value", 2, msg, "TensorInfo", False)])
    _message(
        file,
        "SignatureDef",
        [
            ("inputs", 1, msg, "TensorEntry", True),
            ("outputs", 2, msg, "TensorEntry", True),
            ("method_name", 3, s, None, False),
        ],
    )
    _message(file, "SignatureEntry", [("key", 1, s, None, False), ("value", 2, msg, "SignatureDef", False)])
    _message(file, "ConcreteEntry", [("key", 1, s, None, False), ("value", 2, b, None, False)])
    _message(file, "SavedObjectGraph", [("concrete_functions", 2, msg, "ConcreteEntry", True)])
    _message(
        file,
        "GraphDef",
        [
            ("node", 1, msg, "NodeDef", True),
            ("library", 2, msg, "FunctionDefLibrary", False),
            ("version", 3, i32, None, False),
        ],
    )
    _message(file, "NameAttrList", [("name", 1, s, None, False)])
    _message(
        file,
        "ListValue",
        [
            ("s", 2, b, None, True),
            ("i", 3, i64, None, True),
            ("f", 4, f32, None, True),
            ("func", 9, msg, "NameAttrList", True),
        ],
    )
    _message(
        file,
        "AttrValue",
        [
            ("list", 1, msg, "ListValue", False),
            ("s", 2, b, None, False),
            ("i", 3, i64, None, False),
            ("f", 4, f32, None, False),
            ("func", 10, msg, "NameAttrList", False),
        ],
    )
    _message(file, "AttrEntry", [("key", 1, s, None, False), ("value", 2, msg, "AttrValue", False)])
    _message(
        file,
        "NodeDef",
        [
            ("name", 1, s, None, False),
            ("op", 2, s, None, False),
            ("input", 3, s, None, True),
            ("device", 4, s, None, False),
            ("attr", 5, msg, "AttrEntry", True),
        ],
    )
    _message(file, "ArgDef", [("name", 1, s, None, False)])
    _message(file, "OpDef", [("name", 1, s, None, False), ("input_arg", 2, msg, "ArgDef", True)])
    _message(file, "FunctionDef", [("signature", 1, msg, "OpDef", False), ("node_def", 3, msg, "NodeDef", True)])
    _message(file, "FunctionDefLibrary", [("function", 1, msg, "FunctionDef", True)])
    _message(
        file,
        "SavedObject",
        [
            ("node_id", 2, i32, None, False),
            ("node_path", 3, s, None, False),
            ("identifier", 4, s, None, False),
            ("metadata", 5, s, None, False),
        ],
    )
    _message(file, "SavedMetadata", [("nodes", 1, msg, "SavedObject", True)])
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    names = [m.name for m in file.message_type]
    return {n: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"tfproto.{n}")) for n in names}


M = _build()


def node(
    name: str,
    op: str,
    func: str | None = None,
    inputs: tuple[str, ...] = (),
    *,
    s: dict[str, str] | None = None,
    strings: tuple[str, ...] | None = None,
) -> Any:
    """A NodeDef; ``s`` sets string attributes, ``strings`` a Const's string tensor value."""
    n = M["NodeDef"](name=name, op=op)
    n.input.extend(inputs)
    if func is not None:
        entry = n.attr.add(key="f")
        entry.value.func.name = func
    for key, value in (s or {}).items():
        n.attr.add(key=key).value.s = value.encode()
    if strings is not None:
        n.attr.add(key="value").value.list.s.extend(v.encode() for v in strings)
    return n


def saved_model(
    nodes: list[Any],
    functions: dict[str, list[Any]] | None = None,
    *,
    saver: tuple[str, str, str] | None = None,
    tags: tuple[str, ...] = ("serve",),
    signatures: dict[str, list[str]] | None = None,
    exposed: tuple[str, ...] = (),
    args: dict[str, tuple[str, ...]] | None = None,
    assets: dict[str, str] | None = None,
) -> bytes:
    sm = M["SavedModel"](saved_model_schema_version=1)
    mg = sm.meta_graphs.add()
    mg.meta_info_def.tags.extend(tags)
    mg.meta_info_def.tensorflow_version = "2.21.0"
    mg.graph_def.node.extend(nodes)
    for fname, body in (functions or {}).items():
        fn = mg.graph_def.library.function.add()
        fn.signature.name = fname
        for arg in (args or {}).get(fname, ()):
            fn.signature.input_arg.add(name=arg)
        fn.node_def.extend(body)
    if saver is not None:
        mg.saver_def.filename_tensor_name, mg.saver_def.save_tensor_name, mg.saver_def.restore_op_name = saver
    for key, outputs in (signatures or {}).items():
        signature = mg.signature_def.add(key=key).value
        for i, tensor in enumerate(outputs):
            signature.outputs.add(key=f"out{i}").value.name = tensor
    for tensor, filename in (assets or {}).items():
        asset = mg.asset_file_def.add(filename=filename)
        asset.tensor_info.name = tensor
    for name in exposed:
        mg.object_graph_def.concrete_functions.add(key=name)
    data: bytes = sm.SerializeToString()
    return data


def keras_metadata(objects: list[tuple[str, str]]) -> bytes:
    meta = M["SavedMetadata"]()
    for i, (path, metadata) in enumerate(objects):
        meta.nodes.add(node_id=i, node_path=path, identifier="_tf_keras_layer", metadata=metadata)
    data: bytes = meta.SerializeToString()
    return data


def tf2_saver_model(extra_save_fn_ops: tuple[str, ...] = (), serving_ops: tuple[str, ...] = ("MatMul",)) -> bytes:
    """The shape tf.saved_model.save writes: a serving function, and _traced_save/_traced_restore functions
    called from the saver_def's nodes with the saver's filename placeholder as their first argument."""
    nodes = [
        node("x", "Placeholder"),
        node("StatefulPartitionedCall", "StatefulPartitionedCall", "serve_fn", inputs=("x",)),
        node("saver_filename", "Placeholder"),
        node("StatefulPartitionedCall_1", "StatefulPartitionedCall", "__inference__traced_save_48",
             inputs=("saver_filename",)),
        node("StatefulPartitionedCall_2", "StatefulPartitionedCall", "__inference__traced_restore_60",
             inputs=("saver_filename",)),
    ]
    functions = {
        "serve_fn": [node(f"n{i}", op) for i, op in enumerate(serving_ops)],
        "__inference__traced_save_48": [
            node("m", "StaticRegexFullMatch", inputs=("file_prefix",)),
            node("c0", "Const", strings=(".part",)),
            node("c1", "Const", strings=("_temp/part",)),
            node("sel", "Select", inputs=("m:output:0", "c0:output:0", "c1:output:0")),
            node("d", "StringJoin", inputs=("file_prefix", "sel:output:0")),
            node("a", "ShardedFilename", inputs=("d:output:0",)),
            node("b", "SaveV2", inputs=("a:filename:0",)),
            node("p", "Pack", inputs=("a:filename:0", "^b")),
            node("c", "MergeV2Checkpoints", inputs=("p:output:0", "file_prefix")),
            *[node(f"x{i}", op) for i, op in enumerate(extra_save_fn_ops)],
        ],
        "__inference__traced_restore_60": [
            node("r", "RestoreV2", inputs=("file_prefix",)),
            node("s", "AssignVariableOp", inputs=("v", "r:tensors:0")),
        ],
    }
    return saved_model(
        nodes,
        functions,
        saver=("saver_filename:0", "StatefulPartitionedCall_1:0", "StatefulPartitionedCall_2"),
        args={"__inference__traced_save_48": ("file_prefix",), "__inference__traced_restore_60": ("file_prefix", "v")},
    )
