"""TensorFlow SavedModel scanner: every op in ``saved_model.pb``, Keras configs in ``keras_metadata.pb``.

Invariant: this module never imports TensorFlow, Keras or ``google.protobuf``; it walks the protobuf wire
format with :mod:`safeload._protobuf` (bounded depth, lengths and work). Malformed protobuf is a blocking
SL002 finding, never "clean".

Paths read (field numbers from TensorFlow's protos)::

    SavedModel.meta_graphs=2 -> MetaGraphDef.graph_def=2
        GraphDef.node=1 -> NodeDef{name=1, op=2, attr=5 -> AttrValue.func=10 / list=1 -> func=9}
        GraphDef.library=2 -> FunctionDefLibrary.function=1 -> FunctionDef{signature=1 -> name=1, node_def=3}
    MetaGraphDef.meta_info_def=1 {tags=4, tensorflow_version=5}
    MetaGraphDef.saver_def=3 {filename_tensor_name=1, save_tensor_name=2, restore_op_name=3}
    SavedMetadata.nodes=1 -> SavedObject{node_path=3, identifier=4, metadata=5: Keras JSON}

Checkpoint ops (SaveV2, RestoreV2, MergeV2Checkpoints, ...) are normal inside the graph the ``saver_def``
points at (the ``_traced_save``/``_traced_restore`` functions of TF2, the ``save/`` scope of TF1) and are
reported as SL504 anywhere else.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from safeload._context import ScanContext
from safeload._protobuf import LENGTH, Budget, Field, ProtobufError, iter_fields, text
from safeload.catalog.keras import CHECKPOINT_OPS, FILE_OPS, PYTHON_OPS, READ_ASSET_OPS, tf_ops
from safeload.severity import Severity

__all__ = ["scan_keras_metadata_pb", "scan_saved_model_dir", "scan_saved_model_pb"]

_MAX_ATTR_DEPTH = 16
_MAX_KERAS_METADATA = 256 * 1024 * 1024


@dataclass
class _Node:
    name: str
    op: str
    funcs: list[str] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)


@dataclass
class _Function:
    name: str
    nodes: list[_Node] = field(default_factory=list)


@dataclass
class _MetaGraph:
    nodes: list[_Node] = field(default_factory=list)
    functions: dict[str, _Function] = field(default_factory=dict)
    saver_fields: dict[int, str] = field(default_factory=dict)
    signature_tensors: list[str] = field(default_factory=list)
    exposed_functions: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    tf_version: str | None = None


class _Reader:
    def __init__(self, data: Any, ctx: ScanContext) -> None:
        self.data = data
        self.ctx = ctx
        self.budget = Budget()
        self.keras_metadata: list[tuple[str, str]] = []

    def fields(self, item: Field | None) -> Any:
        if item is None:
            return iter_fields(self.data, 0, len(self.data), self.budget)
        if item.wire_type != LENGTH:
            return iter(())  # a scalar where a message was expected: protobuf keeps it as an unknown field
        return iter_fields(self.data, item.start, item.end, self.budget)

    def saved_model(self) -> list[_MetaGraph]:
        graphs: list[_MetaGraph] = []
        for item in self.fields(None):
            if item.number == 2 and item.wire_type == LENGTH:
                graphs.append(self.meta_graph(item))
            elif item.number == 1 and item.wire_type == LENGTH:
                # keras_metadata.pb: SavedMetadata.nodes=1 (a SavedModel has an int64 here)
                self.saved_object(item)
        return graphs

    def saved_object(self, item: Field) -> None:
        path, metadata = "", None
        for sub in self.fields(item):
            if sub.number == 3 and sub.wire_type == LENGTH:
                path = text(self.data, sub)
            elif sub.number == 5 and sub.wire_type == LENGTH:
                metadata = text(self.data, sub, _MAX_KERAS_METADATA)
        if metadata:
            self.keras_metadata.append((path, metadata))

    def meta_graph(self, item: Field) -> _MetaGraph:
        graph = _MetaGraph()
        for sub in self.fields(item):
            if sub.wire_type != LENGTH:
                continue
            if sub.number == 1:
                for info in self.fields(sub):
                    if info.number == 4 and info.wire_type == LENGTH:
                        graph.tags.append(text(self.data, info, 4096))
                    elif info.number == 5 and info.wire_type == LENGTH:
                        graph.tf_version = text(self.data, info, 4096)
            elif sub.number == 2:
                self.graph_def(sub, graph)
            elif sub.number == 3:
                # Singular string fields: the last occurrence wins, as in protobuf (and merged messages too).
                for saver in self.fields(sub):
                    if saver.number in (1, 2, 3) and saver.wire_type == LENGTH:
                        graph.saver_fields[saver.number] = text(self.data, saver, 65536)
            elif sub.number == 5:
                self.signature_def(sub, graph)
            elif sub.number == 7:
                for entry in self.fields(sub):  # SavedObjectGraph.concrete_functions=2: map key = function name
                    if entry.number == 2 and entry.wire_type == LENGTH:
                        for key in self.fields(entry):
                            if key.number == 1 and key.wire_type == LENGTH:
                                graph.exposed_functions.append(text(self.data, key, 65536))
        return graph

    def signature_def(self, item: Field, graph: _MetaGraph) -> None:
        """map<string, SignatureDef> entry -> SignatureDef{inputs=1, outputs=2: map<string, TensorInfo{name=1}>}."""
        for entry in self.fields(item):
            if entry.number != 2 or entry.wire_type != LENGTH:
                continue
            for tensors in self.fields(entry):
                if tensors.number not in (1, 2) or tensors.wire_type != LENGTH:
                    continue
                for value in self.fields(tensors):
                    if value.number != 2 or value.wire_type != LENGTH:
                        continue
                    for info in self.fields(value):
                        if info.number == 1 and info.wire_type == LENGTH:
                            graph.signature_tensors.append(text(self.data, info, 65536))

    def graph_def(self, item: Field, graph: _MetaGraph) -> None:
        for sub in self.fields(item):
            if sub.wire_type != LENGTH:
                continue
            if sub.number == 1:
                graph.nodes.append(self.node_def(sub))
            elif sub.number == 2:
                for fn in self.fields(sub):
                    if fn.number == 1 and fn.wire_type == LENGTH:
                        func = self.function_def(fn)
                        # A duplicate name keeps both bodies: every op is still scanned.
                        existing = graph.functions.get(func.name)
                        if existing is not None:
                            existing.nodes.extend(func.nodes)
                        else:
                            graph.functions[func.name] = func

    def function_def(self, item: Field) -> _Function:
        func = _Function("")
        for sub in self.fields(item):
            if sub.wire_type != LENGTH:
                continue
            if sub.number == 1:
                for sig in self.fields(sub):
                    if sig.number == 1 and sig.wire_type == LENGTH:
                        func.name = text(self.data, sig, 65536)
            elif sub.number == 3:
                func.nodes.append(self.node_def(sub))
        return func

    def node_def(self, item: Field) -> _Node:
        node = _Node("", "")
        attrs: dict[str, list[str]] = {}
        for sub in self.fields(item):
            if sub.wire_type != LENGTH:
                continue
            if sub.number == 1:
                node.name = text(self.data, sub, 65536)
            elif sub.number == 2:
                node.op = text(self.data, sub, 65536)
            elif sub.number == 3:
                node.inputs.append(text(self.data, sub, 65536))
            elif sub.number == 5:
                self.attr_entry(sub, attrs, 0)
        node.funcs = [name for names in attrs.values() for name in names]
        return node

    def attr_entry(self, item: Field, attrs: dict[str, list[str]], depth: int) -> None:
        """One map<string, AttrValue> entry (key=1, value=2); a repeated key replaces the earlier value."""
        key, funcs = "", list[str]()
        for entry in self.fields(item):
            if entry.number == 1 and entry.wire_type == LENGTH:
                key = text(self.data, entry, 65536)
            elif entry.number == 2 and entry.wire_type == LENGTH:
                funcs = []
                self.attr_value(entry, funcs, depth)
        attrs[key] = funcs

    def attr_value(self, item: Field, out: list[str], depth: int) -> None:
        """Collect function names from AttrValue.func=10 and AttrValue.list=1 -> ListValue.func=9."""
        if depth > _MAX_ATTR_DEPTH:
            raise ProtobufError("function attributes nested too deep")
        for sub in self.fields(item):
            if sub.wire_type != LENGTH:
                continue
            if sub.number == 10:
                self.name_attr_list(sub, out, depth + 1)
            elif sub.number == 1:
                for elem in self.fields(sub):
                    if elem.number == 9 and elem.wire_type == LENGTH:
                        self.name_attr_list(elem, out, depth + 1)

    def name_attr_list(self, item: Field, out: list[str], depth: int) -> None:
        name = ""
        attrs: dict[str, list[str]] = {}
        for sub in self.fields(item):
            if sub.wire_type != LENGTH:
                continue
            if sub.number == 1:
                name = text(self.data, sub, 65536)
            elif sub.number == 2:  # nested map<string, AttrValue>
                self.attr_entry(sub, attrs, depth + 1)
        if name:
            out.append(name)
        out.extend(f for funcs in attrs.values() for f in funcs)


def _tensor_node(name: str) -> str:
    return name.lstrip("^").split(":", 1)[0]


def _closure(graph: _MetaGraph, by_name: dict[str, int], tensors: list[str]) -> set[int]:
    """Ids of the graph nodes named by ``tensors`` and every node they take as (data or control) input."""
    seen: set[int] = set()
    todo = [_tensor_node(t) for t in tensors]
    while todo:
        i = by_name.get(todo.pop())
        if i is None or i in seen:
            continue
        seen.add(i)
        todo.extend(_tensor_node(t) for t in graph.nodes[i].inputs)
    return seen


def _reachable(graph: _MetaGraph, roots: list[str]) -> set[str]:
    """Library functions reachable from ``roots`` (function names or ops) through calls and function attrs."""
    found: set[str] = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        func = graph.functions.get(name)
        if func is None or name in found:
            continue
        found.add(name)
        for node in func.nodes:
            todo.extend(node.funcs)
            todo.append(node.op)
    return found


def _checkpoint_scope(graph: _MetaGraph) -> tuple[set[int], set[str]]:
    """Graph node ids and function names that only the saver_def's save/restore graph uses.

    Saver nodes are the nodes the saver_def names and their inputs, minus anything a signature also
    needs; saver functions are those they call, minus any function reachable from another node or exposed
    as a concrete function of the restored object (which Python code can call after loading).
    """
    by_name = {node.name: i for i, node in enumerate(graph.nodes)}
    saver = _closure(graph, by_name, list(graph.saver_fields.values()))
    saver -= _closure(graph, by_name, graph.signature_tensors)

    def roots(ids: Iterable[int]) -> list[str]:
        return [name for i in ids for name in (*graph.nodes[i].funcs, graph.nodes[i].op)]
    others = set(range(len(graph.nodes))) - saver
    used_elsewhere = _reachable(graph, roots(others) + graph.exposed_functions)
    return saver, _reachable(graph, roots(saver)) - used_elsewhere


def _rank_op(op: str, where: str, in_checkpoint: bool, functions: dict[str, _Function],
             ctx: ScanContext) -> None:
    if op in functions:
        return  # a call of a function from the graph's own library; its body is scanned separately
    if op in PYTHON_OPS:
        ctx.add("SL502", f"TensorFlow op {op} calls Python ({where})", subject=op, details={"where": where})
    elif op in FILE_OPS:
        _trustable(ctx, "SL501", op, f"TensorFlow op {op} reads, writes or lists files ({where})", where)
    elif op in READ_ASSET_OPS:
        ctx.add("SL505", f"TensorFlow op {op} reads a text file (normally the model's own vocabulary asset)",
                subject=op, details={"where": where})
    elif op in CHECKPOINT_OPS:
        if not in_checkpoint:
            _trustable(ctx, "SL504", op,
                       f"checkpoint I/O op {op} outside the saver's save/restore graph ({where})", where)
    elif op not in tf_ops():
        _trustable(ctx, "SL503", op,
                   f"op {op!r} is not in TensorFlow's standard op set (custom op: native code)", where)


def _trustable(ctx: ScanContext, rule: str, op: str, message: str, where: str) -> None:
    if ctx.is_trusted(op):
        ctx.add("SL505", f"op {op} trusted by policy ({rule})", subject=op, details={"where": where})
        return
    ctx.add(rule, message, subject=op, trustable=True, details={"where": where})


def _scan_graph(graph: _MetaGraph, ctx: ScanContext) -> Counter[str]:
    ops: Counter[str] = Counter()
    owned_nodes, owned_funcs = _checkpoint_scope(graph)
    for i, node in enumerate(graph.nodes):
        ops[node.op] += 1
        _rank_op(node.op, f"graph node {node.name}", i in owned_nodes, graph.functions, ctx)
    for func in graph.functions.values():
        for node in func.nodes:
            ops[node.op] += 1
            _rank_op(node.op, f"function {func.name}", func.name in owned_funcs, graph.functions, ctx)
        ctx.check_time()
    return ops


def scan_saved_model_pb(data: Any, ctx: ScanContext) -> None:
    """Scan a ``saved_model.pb`` (or a ``keras_metadata.pb``) held in ``data``."""
    ctx.note_format("savedmodel")
    reader = _Reader(data, ctx)
    try:
        graphs = reader.saved_model()
    except ProtobufError as exc:
        ctx.add("SL002", f"malformed protobuf: {exc}")
        return
    total: Counter[str] = Counter()
    tags: list[str] = []
    versions: set[str] = set()
    for graph in graphs:
        total.update(_scan_graph(graph, ctx))
        tags.extend(graph.tags)
        if graph.tf_version:
            versions.add(graph.tf_version)
    if graphs:
        ctx.add("SL505", f"SavedModel: {len(graphs)} meta graph(s), {sum(total.values())} op(s), "
                f"{len(total)} distinct",
                details={"tags": sorted(set(tags)), "tensorflow_version": sorted(versions),
                         "ops": dict(total.most_common(50))})
    if reader.keras_metadata:
        _scan_keras_objects(reader.keras_metadata, ctx)
    if not graphs and not reader.keras_metadata and len(data) > 0:
        ctx.add("SL002", "no meta graph or Keras metadata found: not a SavedModel this scanner understands")


def scan_keras_metadata_pb(data: Any, ctx: ScanContext) -> None:
    """Scan ``keras_metadata.pb`` (tf.keras SavedModel): the Keras config JSON of every saved object."""
    reader = _Reader(data, ctx)
    try:
        reader.saved_model()
    except ProtobufError as exc:
        ctx.add("SL002", f"malformed keras_metadata.pb: {exc}")
        return
    _scan_keras_objects(reader.keras_metadata, ctx)


def _scan_keras_objects(objects: list[tuple[str, str]], ctx: ScanContext) -> None:
    from safeload.scanners.keras import scan_keras_config

    with ctx.inside("keras_metadata.pb"):
        for path, metadata in objects:
            with ctx.inside(path or "<object>"):
                scan_keras_config(metadata.encode("utf-8"), ctx, facts=False)


def scan_saved_model_dir(path: Path, ctx: ScanContext) -> None:
    """Scan a SavedModel directory: ``saved_model.pb``, ``keras_metadata.pb``; note variables and assets."""
    from safeload._source import view_of_file
    from safeload.scan import scan_buffer

    ctx.note_format("savedmodel")
    with ctx.inside("saved_model.pb"), open(path / "saved_model.pb", "rb") as handle, \
            view_of_file(handle) as view:
        scan_buffer(view.data, ctx, name="saved_model.pb")
    meta = path / "keras_metadata.pb"
    if meta.is_file():
        with open(meta, "rb") as handle, view_of_file(handle) as view:
            ctx.bytes_scanned += len(view.data)
            scan_keras_metadata_pb(view.data, ctx)
    counts: dict[str, int] = {}
    sizes: dict[str, int] = {}
    for sub in ("variables", "assets", "assets.extra"):
        folder = path / sub
        if folder.is_dir():
            files = [p for p in folder.rglob("*") if p.is_file()]
            counts[sub] = len(files)
            sizes[sub] = sum(p.stat().st_size for p in files)
            links = [p for p in folder.rglob("*") if p.is_symlink()]
            for link in links:
                target = os.path.realpath(link)
                if not target.startswith(os.path.realpath(path) + os.sep):
                    rel = link.relative_to(path).as_posix()
                    ctx.add("SL501", f"{rel} links outside the SavedModel directory", subject=rel,
                            severity=Severity.HIGH)
    others = sorted(p.name for p in path.iterdir() if p.name not in
                    {"saved_model.pb", "keras_metadata.pb", "variables", "assets", "assets.extra",
                     "fingerprint.pb"})
    summary = ", ".join(f"{k}: {v} file(s), {sizes[k]} bytes" for k, v in counts.items())
    ctx.add("SL505", "SavedModel directory: " + (summary or "no variables or assets"),
            details={"files": counts, "bytes": sizes, "other_entries": others[:50]})
