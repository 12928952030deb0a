"""Facts from a binary ``SavedModel`` (or ``keras_metadata.pb``): graphs, functions, attributes, object graph.

Invariant: this module reads protobuf wire format through :mod:`safeload._protobuf` only (bounded work,
lengths, strings and nesting); it never imports TensorFlow or ``google.protobuf`` and decides nothing: it
returns plain dataclasses for :mod:`safeload.scanners.savedmodel` to analyse. Malformed input raises
:class:`~safeload._protobuf.ProtobufError`.

Fields read (numbers from TensorFlow's ``saved_model.proto``, ``meta_graph.proto``, ``graph.proto``,
``node_def.proto``, ``function.proto``, ``attr_value.proto``, ``tensor.proto``, ``saved_object_graph.proto``)::

    SavedModel.meta_graphs=2 -> MetaGraphDef{meta_info_def=1{tags=4, tensorflow_version=5}, graph_def=2,
        saver_def=3{filename_tensor_name=1, save_tensor_name=2, restore_op_name=3},
        collection_def=4 map{CollectionDef{node_list=1{value=1}, bytes_list=2{value=1}, any_list=5{value=1}}},
        signature_def=5 map{SignatureDef{inputs=1, outputs=2 map{TensorInfo{name=1, coo_sparse=4,
        composite_tensor=5{components=2}}}}}, asset_file_def=6{tensor_info=1, filename=2}, object_graph_def=7}
    GraphDef{node=1, library=2 -> function=1}
    NodeDef{name=1, op=2, input=3, attr=5 map{AttrValue{list=1{s=2, tensor=8, func=9}, s=2, tensor=8, func=10}}}
    NameAttrList{name=1, attr=2}; TensorProto{string_val=8}
    FunctionDef{signature=1{name=1, input_arg=2{name=1}}, node_def=3, ret=4 map}
    SavedObjectGraph{nodes=1, concrete_functions=2 map{SavedConcreteFunction{bound_inputs=2}}}
    SavedObject{children=1{node_id=1, local_name=2}, user_object=4, asset=5{asset_file_def_index=1},
        function=6{concrete_functions=1}, variable=7, bare_concrete_function=8{concrete_function_name=1},
        constant=9, resource=10, saveable_objects=11 map{SaveableObject{save_function=2, restore_function=3}},
        captured_tensor=12}
    SavedMetadata.nodes=1 -> SavedObject{node_path=3, metadata=5: Keras JSON}   (keras_metadata.pb)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from safeload._protobuf import LENGTH, VARINT, Budget, Field, ProtobufError, iter_fields, read_varint, text

__all__ = ["Attr", "Function", "MetaGraph", "Node", "SavedObject", "read_saved_model"]

_MAX_ATTR_DEPTH = 16
_MAX_KERAS_METADATA = 256 * 1024 * 1024
_MAX_STRINGS = 64  # string values kept per attribute (enough for every path-like attribute)
_MAX_STRING = 65536
# Attributes whose string values a rule or the path evaluation reads (tf_ops_review conditions, Const values,
# StringJoin's separator); every other attribute is read only for the functions it names.
STRING_ATTRS = frozenset({"value", "separator", "output_stream", "descriptor_source", "debug_urls",
                          "debug_ops_spec", "vocab_file"})
_KIND_FIELDS = {4: "user_object", 5: "asset", 6: "function", 7: "variable", 8: "bare_concrete_function",
                9: "constant", 10: "resource", 12: "captured_tensor"}


@dataclass
class Attr:
    """An attribute's string values (``s``, ``list.s``, a tensor's ``string_val``) and function names."""

    strings: list[str] = field(default_factory=list)
    funcs: list[str] = field(default_factory=list)
    present: bool = True


@dataclass
class Node:
    name: str
    op: str
    inputs: list[str] = field(default_factory=list)
    attrs: dict[str, Attr] = field(default_factory=dict)

    @property
    def funcs(self) -> list[str]:
        return [name for attr in self.attrs.values() for name in attr.funcs]

    def data_inputs(self) -> list[str]:
        return [i for i in self.inputs if not i.startswith("^")]


@dataclass
class Function:
    name: str
    args: list[str] = field(default_factory=list)
    nodes: list[Node] = field(default_factory=list)


@dataclass
class SavedObject:
    kind: str = ""
    children: list[tuple[str, int]] = field(default_factory=list)
    concrete_functions: list[str] = field(default_factory=list)
    saveable_functions: list[int] = field(default_factory=list)
    asset_index: int | None = None


@dataclass
class MetaGraph:
    nodes: list[Node] = field(default_factory=list)
    functions: dict[str, Function] = field(default_factory=dict)
    saver: dict[int, str] = field(default_factory=dict)
    signatures: dict[str, tuple[list[str], list[str]]] = field(default_factory=dict)
    collections: dict[str, list[str]] = field(default_factory=dict)
    assets: list[tuple[str, str]] = field(default_factory=list)  # asset_file_def: (tensor name, filename)
    collection_assets: list[tuple[str, str]] = field(default_factory=list)  # "saved_model_assets" any_list
    has_object_graph: bool = False
    objects: list[SavedObject] = field(default_factory=list)
    bound_inputs: dict[str, list[int]] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    tf_version: str | None = None


class _Reader:
    def __init__(self, data: Any) -> None:
        self.data = data
        self.budget = Budget()
        self.keras_metadata: list[tuple[str, str]] = []

    def fields(self, item: Field | None) -> Any:
        if item is None:
            return iter_fields(self.data, 0, len(self.data), self.budget)
        if item.wire_type != LENGTH:
            return iter(())  # a scalar where a message was expected: protobuf keeps it as an unknown field
        return iter_fields(self.data, item.start, item.end, self.budget)

    def string(self, item: Field, limit: int = _MAX_STRING) -> str:
        return text(self.data, item, limit)

    def sub(self, item: Field, number: int) -> list[Field]:
        return [f for f in self.fields(item) if f.number == number and f.wire_type == LENGTH]

    def ints(self, item: Field) -> list[int]:
        """A repeated integer field, packed (LENGTH) or not (VARINT)."""
        if item.wire_type == VARINT:
            return [item.value]
        if item.wire_type != LENGTH:
            return []
        out: list[int] = []
        pos = item.start
        while pos < item.end:
            self.budget.spend()
            value, pos = read_varint(self.data, pos, item.end)
            out.append(value)
        return out

    # -- SavedModel -----------------------------------------------------------------------------------------
    def saved_model(self) -> list[MetaGraph]:
        graphs: list[MetaGraph] = []
        for item in self.fields(None):
            if item.number == 2 and item.wire_type == LENGTH:
                graphs.append(self.meta_graph(item))
            elif item.number == 1 and item.wire_type == LENGTH:
                self.keras_object(item)  # keras_metadata.pb: SavedMetadata.nodes=1 (a SavedModel has an int)
        return graphs

    def keras_object(self, item: Field) -> None:
        path, metadata = "", None
        for sub in self.fields(item):
            if sub.number == 3 and sub.wire_type == LENGTH:
                path = self.string(sub)
            elif sub.number == 5 and sub.wire_type == LENGTH:
                metadata = self.string(sub, _MAX_KERAS_METADATA)
        if metadata:
            self.keras_metadata.append((path, metadata))

    def meta_graph(self, item: Field) -> MetaGraph:
        graph = MetaGraph()
        for sub in self.fields(item):
            if sub.wire_type != LENGTH:
                continue
            if sub.number == 1:
                for info in self.fields(sub):
                    if info.number == 4 and info.wire_type == LENGTH:
                        graph.tags.append(self.string(info, 4096))
                    elif info.number == 5 and info.wire_type == LENGTH:
                        graph.tf_version = self.string(info, 4096)
            elif sub.number == 2:
                self.graph_def(sub, graph)
            elif sub.number == 3:
                # Singular string fields: the last occurrence wins, as in protobuf (and merged messages too).
                for saver in self.fields(sub):
                    if saver.number in (1, 2, 3) and saver.wire_type == LENGTH:
                        graph.saver[saver.number] = self.string(saver)
            elif sub.number == 4:
                self.collection(sub, graph)
            elif sub.number == 5:
                self.signature(sub, graph)
            elif sub.number == 6:
                graph.assets.append(self.asset_file_def(sub))
            elif sub.number == 7:
                graph.has_object_graph = True
                self.object_graph(sub, graph)
        return graph

    def map_entry(self, item: Field) -> tuple[str, Field | None]:
        key, value = "", None
        for sub in self.fields(item):
            if sub.number == 1 and sub.wire_type == LENGTH:
                key = self.string(sub)
            elif sub.number == 2:
                value = sub  # a repeated key replaces the earlier value; the last value field wins
        return key, value

    def collection(self, item: Field, graph: MetaGraph) -> None:
        key, value = self.map_entry(item)
        if value is None:
            return
        names: list[str] = []
        for kind in self.fields(value):
            if kind.wire_type != LENGTH:
                continue
            if kind.number == 1:  # node_list
                names.extend(self.string(v) for v in self.sub(kind, 1))
            elif kind.number == 2 and key in {"local_variables", "variables", "trainable_variables"}:
                for raw in self.sub(kind, 1):  # VariableDef{initializer_name=2}
                    names.extend(self.string(v) for v in self.sub(raw, 2))
            elif kind.number == 5 and key == "saved_model_assets":  # any_list of AssetFileDef (TF1 builders)
                for any_value in self.sub(kind, 1):
                    urls = [self.string(u) for u in self.sub(any_value, 1)]
                    if not urls or not urls[-1].endswith("/tensorflow.AssetFileDef"):
                        continue  # Any.Unpack refuses another type: TF sees an empty AssetFileDef
                    for payload in self.sub(any_value, 2)[-1:]:
                        graph.collection_assets.append(self.asset_file_def(payload))
        graph.collections[key] = names

    def tensor_names(self, item: Field, out: list[str]) -> None:
        """TensorInfo: name=1, coo_sparse=4 {1, 2, 3}, composite_tensor=5 {components=2: TensorInfo}."""
        for sub in self.fields(item):
            if sub.wire_type != LENGTH:
                continue
            if sub.number == 1:
                out.append(self.string(sub))
            elif sub.number == 4:
                out.extend(self.string(s) for s in self.fields(sub) if s.wire_type == LENGTH and s.number in (1, 2, 3))
            elif sub.number == 5:
                for component in self.sub(sub, 2):
                    self.tensor_names(component, out)

    def signature(self, item: Field, graph: MetaGraph) -> None:
        key, value = self.map_entry(item)
        inputs: list[str] = []
        outputs: list[str] = []
        if value is not None:
            for tensors in self.fields(value):
                if tensors.number not in (1, 2) or tensors.wire_type != LENGTH:
                    continue
                _name, info = self.map_entry(tensors)
                if info is not None:
                    self.tensor_names(info, inputs if tensors.number == 1 else outputs)
        old = graph.signatures.get(key)
        graph.signatures[key] = (inputs, outputs) if old is None else (old[0] + inputs, old[1] + outputs)

    def asset_file_def(self, item: Field) -> tuple[str, str]:
        names: list[str] = []
        filename = ""
        for sub in self.fields(item):
            if sub.number == 1 and sub.wire_type == LENGTH:
                self.tensor_names(sub, names)
            elif sub.number == 2 and sub.wire_type == LENGTH:
                filename = self.string(sub)
        return (names[-1] if names else ""), filename

    def object_graph(self, item: Field, graph: MetaGraph) -> None:
        for sub in self.fields(item):
            if sub.wire_type != LENGTH:
                continue
            if sub.number == 1:
                graph.objects.append(self.saved_object(sub))
            elif sub.number == 2:
                key, value = self.map_entry(sub)
                bound: list[int] = []
                if value is not None:
                    for f in self.fields(value):
                        if f.number == 2:
                            bound.extend(self.ints(f))
                graph.bound_inputs[key] = bound

    def saved_object(self, item: Field) -> SavedObject:
        obj = SavedObject()
        for sub in self.fields(item):
            kind = _KIND_FIELDS.get(sub.number)
            if kind is not None and sub.wire_type == LENGTH:
                obj.kind = kind  # a oneof: the last one wins
                obj.concrete_functions = []
                obj.asset_index = None
                if sub.number == 6:
                    obj.concrete_functions = [self.string(f) for f in self.sub(sub, 1)]
                elif sub.number == 8:
                    obj.concrete_functions = [self.string(f) for f in self.sub(sub, 1)][-1:]
                elif sub.number == 5:
                    obj.asset_index = 0  # proto3: a zero index is not written
                    for f in self.fields(sub):
                        if f.number == 1 and f.wire_type == VARINT:
                            obj.asset_index = f.value
            elif sub.number == 1 and sub.wire_type == LENGTH:
                node_id, local = -1, ""
                for f in self.fields(sub):
                    if f.number == 1 and f.wire_type == VARINT:
                        node_id = f.value
                    elif f.number == 2 and f.wire_type == LENGTH:
                        local = self.string(f)
                obj.children.append((local, node_id))
            elif sub.number == 11 and sub.wire_type == LENGTH:
                _key, value = self.map_entry(sub)
                if value is not None:
                    obj.saveable_functions.extend(f.value for f in self.fields(value)
                                                  if f.number in (2, 3) and f.wire_type == VARINT)
        return obj

    # -- graphs and functions ---------------------------------------------------------------------------------
    def graph_def(self, item: Field, graph: MetaGraph) -> None:
        for sub in self.fields(item):
            if sub.wire_type != LENGTH:
                continue
            if sub.number == 1:
                graph.nodes.append(self.node_def(sub))
            elif sub.number == 2:
                for fn in self.sub(sub, 1):
                    func = self.function_def(fn)
                    existing = graph.functions.get(func.name)
                    if existing is not None:
                        # A duplicate name keeps both bodies: every op is still scanned.
                        existing.nodes.extend(func.nodes)
                        existing.args = existing.args or func.args
                    else:
                        graph.functions[func.name] = func

    def function_def(self, item: Field) -> Function:
        func = Function("")
        for sub in self.fields(item):
            if sub.wire_type != LENGTH:
                continue
            if sub.number == 1:
                for sig in self.fields(sub):
                    if sig.number == 1 and sig.wire_type == LENGTH:
                        func.name = self.string(sig)
                    elif sig.number == 2 and sig.wire_type == LENGTH:
                        func.args.extend(self.string(f) for f in self.sub(sig, 1))
            elif sub.number == 3:
                func.nodes.append(self.node_def(sub))
        return func

    def node_def(self, item: Field) -> Node:
        node = Node("", "")
        for sub in self.fields(item):
            if sub.wire_type != LENGTH:
                continue
            if sub.number == 1:
                node.name = self.string(sub)
            elif sub.number == 2:
                node.op = self.string(sub)
            elif sub.number == 3:
                node.inputs.append(self.string(sub))
            elif sub.number == 5:
                self.attr_entry(sub, node.attrs, 0)
        return node

    def attr_entry(self, item: Field, attrs: dict[str, Attr], depth: int) -> None:
        """One map<string, AttrValue> entry; a repeated key replaces the earlier value (protobuf maps)."""
        key, value = self.map_entry(item)
        attr = Attr()
        if value is not None:
            self.attr_value(value, attr, depth, key in STRING_ATTRS)
        attrs[key] = attr

    def attr_value(self, item: Field, out: Attr, depth: int, strings: bool) -> None:
        """Function names always (any attribute may name a function); string values only for the attributes
        a rule reads (:data:`STRING_ATTRS`)."""
        if depth > _MAX_ATTR_DEPTH:
            raise ProtobufError("function attributes nested too deep")
        for sub in self.fields(item):
            if sub.wire_type != LENGTH:
                continue
            number = sub.number
            if number == 10:
                self.name_attr_list(sub, out, depth + 1)
            elif number == 1:
                for elem in self.fields(sub):
                    if elem.wire_type != LENGTH:
                        continue
                    if elem.number == 9:
                        self.name_attr_list(elem, out, depth + 1)
                    elif strings and elem.number == 2:
                        self.add_string(out, elem)
                    elif strings and elem.number == 8:
                        self.tensor(elem, out)
            elif not strings:
                continue
            elif number == 2:
                self.add_string(out, sub)
            elif number == 8:
                self.tensor(sub, out)

    def add_string(self, out: Attr, item: Field) -> None:
        if len(out.strings) < _MAX_STRINGS:
            out.strings.append(self.string(item, 1 << 20))

    def tensor(self, item: Field, out: Attr) -> None:
        for sub in self.fields(item):
            if sub.number == 8 and sub.wire_type == LENGTH:
                self.add_string(out, sub)

    def name_attr_list(self, item: Field, out: Attr, depth: int) -> None:
        name = ""
        attrs: dict[str, Attr] = {}
        for sub in self.fields(item):
            if sub.wire_type != LENGTH:
                continue
            if sub.number == 1:
                name = self.string(sub)
            elif sub.number == 2:  # nested map<string, AttrValue>
                self.attr_entry(sub, attrs, depth + 1)
        if name:
            out.funcs.append(name)
        out.funcs.extend(f for nested in attrs.values() for f in nested.funcs)


def read_saved_model(data: Any) -> tuple[list[MetaGraph], list[tuple[str, str]]]:
    """Parse ``data``; return its meta graphs and the (path, JSON) Keras objects of a ``keras_metadata.pb``."""
    reader = _Reader(data)
    graphs = reader.saved_model()
    return graphs, reader.keras_metadata
