"""TensorFlow SavedModel scanner: every op in ``saved_model.pb`` (or ``saved_model.pbtxt``), ranked
allowlist-first, with what runs during ``tf.saved_model.load`` ranked as load-time; Keras configs in
``keras_metadata.pb``.

Invariant: this module never imports TensorFlow, Keras or ``google.protobuf``. :mod:`._tfgraph` turns the
bytes into facts (nodes, attributes, functions, the object graph); this module works out *when* each op runs
and *where its paths come from*, and :mod:`safeload.catalog.tf_ops_review` decides what is allowed. Malformed
protobuf is a blocking SL002 finding, never "clean". An op that is not in the pinned registry snapshot is
unknown and blocks (SL503).

When ops run (see ``docs/savedmodel.md``, mirroring ``tensorflow/python/saved_model/load.py``,
``load_v1_in_v2.py`` and ``loader_impl.py`` of TF 2.21):

- at load time: the closure of ``saver_def.restore_op_name`` with the filename tensor fed (TF1 loaders and
  the C++ loader); the init op (signature ``__saved_model_init_op``, collections ``saved_model_main_op`` and
  ``legacy_init_op``, else the ``table_initializer`` collection and local-variable initializers) with the
  asset tensors fed; in the object graph, the ``_create_resource``/``_initialize``/``_destroy_resource``
  functions of every resource and the save/restore functions of ``saveable_objects``; and every function
  these call;
- when saving: the closure of ``saver_def.save_tensor_name`` (filename fed);
- when called: signatures (their inputs fed), the object graph's other functions, and anything else.

Checkpoint ops (``SaveV2``, ``RestoreV2``, ``MergeV2Checkpoints``, ...) are exempt only where the path they
use is *proven* to be the saver's filename input (or a shard of it with a constant suffix), traced through
``Identity``/``StringJoin``/``ShardedFilename``/``Select``/``Pack`` and across function calls; a checkpoint
op merely sitting in the restore closure is not exempt. ``InitializeTableFromTextFileV2`` is exempt only when
its file is proven to be one of the SavedModel's own asset files.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from safeload._context import ScanContext
from safeload._protobuf import ProtobufError
from safeload.catalog import tf_ops_review as review
from safeload.scanners._tfgraph import MetaGraph, Node, read_saved_model
from safeload.severity import Severity

__all__ = ["scan_keras_metadata_pb", "scan_saved_model_dir", "scan_saved_model_pb", "scan_saved_model_pbtxt"]

_MAX_VISITS = 20_000
_MAX_VALUE_DEPTH = 32
_PASS_THROUGH = frozenset({"Identity", "Snapshot", "StopGradient", "PreventGradient", "PlaceholderWithDefault",
                           "EnsureShape", "CheckNumerics"})
_CALL_OPS = frozenset({"StatefulPartitionedCall", "PartitionedCall"})
SAVED_MODEL_FILES = ("saved_model.pb", "saved_model.pbtxt")

# Symbolic string values: ("const", strings) | ("saver",) | ("asset", name) | ("shard", v) | ("join", vs) |
# ("pack", vs) | ("any", vs) | ("unknown",).
Value = tuple[Any, ...]
UNKNOWN: Value = ("unknown",)
SAVER: Value = ("saver",)


@dataclass(frozen=True)
class _When:
    load: bool
    label: str
    orphan: bool = False  # a top-level node no loader step reaches (only a user's own .prune() could run it)


# -- symbolic values and the path predicates the review conditions use ---------------------------------------
def _options(value: Value) -> list[Value]:
    return list(value[1]) if value[0] == "any" else [value]


def _is_saver(value: Value) -> bool:
    return all(v == SAVER for v in _options(value))


def _safe_suffix(value: Value) -> bool:
    return all(v[0] == "const" and v[1] and all(".." not in s and "\0" not in s for s in v[1])
               for v in _options(value))


def _checkpoint_write(value: Value) -> bool:
    for v in _options(value):
        if v == SAVER:
            continue
        if v[0] != "shard":
            return False
        base = v[1]
        for b in _options(base):
            if b == SAVER:
                continue
            if b[0] != "join" or not b[1] or not _is_saver(b[1][0]) or \
                    not all(_safe_suffix(part) for part in b[1][1:]):
                return False
    return True


def _checkpoint_merge(sources: Value, destination: Value) -> bool:
    if not _is_saver(destination):
        return False
    for v in _options(sources):
        parts = v[1] if v[0] == "pack" else (v,)
        if not all(_checkpoint_write(p) for p in parts):
            return False
    return True


def _is_asset(value: Value) -> bool:
    for v in _options(value):
        if v[0] != "asset":
            return False
        name = v[1]
        if not name or name.startswith(("/", "\\")) or ".." in name.replace("\\", "/").split("/") or \
                "\0" in name or ":" in name:
            return False
    return True


def _const_in(value: Value, allowed: tuple[str, ...]) -> bool:
    return all(v[0] == "const" and v[1] and all(s in allowed for s in v[1]) for v in _options(value))


# -- scopes: evaluate string tensors inside the top-level graph or a function body ---------------------------
class _Scope:
    """Name lookup and symbolic evaluation for one graph or one function body under one set of bindings."""

    def __init__(self, nodes: list[Node], bindings: dict[str, Value], in_function: bool) -> None:
        self.by_name = {n.name: n for n in nodes}
        self.bindings = bindings
        self.in_function = in_function

    def split(self, ref: str) -> tuple[str, int]:
        ref = ref.lstrip("^")
        if self.in_function:
            parts = ref.split(":")
            return parts[0], int(parts[2]) if len(parts) == 3 and parts[2].isdigit() else 0
        name, _, index = ref.partition(":")
        return name, int(index) if index.isdigit() else 0

    def value(self, ref: str, depth: int = 0) -> Value:
        if depth > _MAX_VALUE_DEPTH:
            return UNKNOWN
        name, index = self.split(ref)
        if self.in_function:
            # A bare name is a function argument; "node:out:i" is always a node, even one named like an arg.
            bound = self.bindings.get(name) if ":" not in ref else None
        else:
            bound = self.bindings.get(f"{name}:{index}")  # graph feeds are per tensor, not per node
        if bound is not None:
            return bound
        node = self.by_name.get(name)
        if node is None:
            return UNKNOWN
        return self.node_value(node, index, depth + 1)

    def input_value(self, node: Node, index: int, depth: int = 0) -> Value:
        inputs = node.data_inputs()
        return self.value(inputs[index], depth) if index < len(inputs) else UNKNOWN

    def node_value(self, node: Node, index: int, depth: int) -> Value:
        op = node.op
        if op == "Const":
            attr = node.attrs.get("value")
            return ("const", tuple(attr.strings)) if attr is not None and attr.strings else UNKNOWN
        if op in _PASS_THROUGH:
            return self.input_value(node, 0, depth)
        if op == "IdentityN":
            return self.input_value(node, index, depth)
        if op == "StringJoin":
            sep = node.attrs.get("separator")
            if sep is not None and any(sep.strings):
                return UNKNOWN
            return ("join", tuple(self.value(i, depth) for i in node.data_inputs()))
        if op == "ShardedFilename":
            return ("shard", self.input_value(node, 0, depth))
        if op in {"Select", "SelectV2"}:
            return ("any", (self.input_value(node, 1, depth), self.input_value(node, 2, depth)))
        if op == "Pack":
            return ("pack", tuple(self.value(i, depth) for i in node.data_inputs()))
        if op == "ReadVariableOp" and not self.in_function:
            return self.assigned_value(node, depth)
        return UNKNOWN

    def fed_by_placeholder(self, node: Node) -> bool:
        """The checkpoint path is a (default-valued) placeholder: a Saver's own filename input, which only a
        caller that feeds it uses. Follows the path input (the destination for MergeV2Checkpoints)."""
        inputs = node.data_inputs()
        index = 1 if node.op == "MergeV2Checkpoints" else 0
        if index >= len(inputs):
            return False
        current = self.by_name.get(self.split(inputs[index])[0])
        for _ in range(_MAX_VALUE_DEPTH):
            if current is None:
                return False
            if current.op in {"Placeholder", "PlaceholderWithDefault"}:
                return True
            if current.op not in {"Identity", "StringJoin", "ShardedFilename"} or not current.data_inputs():
                return False
            current = self.by_name.get(self.split(current.data_inputs()[0])[0])
        return False

    def assigned_value(self, node: Node, depth: int) -> Value:
        """``ReadVariableOp(v, ^AssignVariableOp(v, x))``: the asset-path variable pattern of TF2 init ops."""
        inputs = node.data_inputs()
        if not inputs:
            return UNKNOWN
        handle = self.split(inputs[0])[0]
        writers = [n for n in self.by_name.values() if n.op in {"AssignVariableOp", "AssignVariableXlaConcatND"}
                   and n.data_inputs()[:1] and self.split(n.data_inputs()[0])[0] == handle]
        controls = {self.split(i)[0] for i in node.inputs if i.startswith("^")}
        if len(writers) != 1 or writers[0].name not in controls:
            return UNKNOWN
        return self.input_value(writers[0], 1, depth)


# -- the analysis --------------------------------------------------------------------------------------------
class _Analysis:
    def __init__(self, graph: MetaGraph, ctx: ScanContext) -> None:
        self.graph = graph
        self.ctx = ctx
        self.ops: Counter[str] = Counter()
        self.visited: set[tuple[str, tuple[Value, ...], bool]] = set()
        self.checked_functions: set[str] = set()
        self.counted_functions: set[str] = set()
        self.by_name = {n.name: n for n in graph.nodes}

    # graph-level contexts ----------------------------------------------------------------------------------
    def closure(self, fetches: Iterable[str]) -> list[Node]:
        """Every node the fetches need. Feeds do not prune it: feeding ``x:1`` still runs ``x`` for ``x:0``,
        and the loaders' feeds (filename, asset paths, signature inputs) are placeholders or constants."""
        seen: set[str] = set()
        out: list[Node] = []
        todo = [t.lstrip("^").split(":", 1)[0] for t in fetches]
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            node = self.by_name.get(name)
            if node is None:
                continue
            out.append(node)
            todo.extend(i.lstrip("^").split(":", 1)[0] for i in node.inputs)
        return out

    def init_roots(self) -> list[str]:
        g = self.graph
        roots = list(g.signatures.get("__saved_model_init_op", ([], []))[1])
        for key in ("saved_model_main_op", "legacy_init_op", "table_initializer", "local_variables"):
            roots.extend(g.collections.get(key, []))
        return roots

    def run(self) -> None:
        g = self.graph
        filename = g.saver.get(1, "")
        saver_feed = {_tensor(filename): SAVER} if filename else {}
        # loader_impl.get_asset_tensors: asset_file_def, or (only when it is empty) the assets collection.
        assets = g.assets or g.collection_assets
        asset_feed: dict[str, Value] = {_tensor(t): ("asset", f) for t, f in assets if t}
        covered: set[str] = set()
        self.graph_context([g.saver[3]] if 3 in g.saver else [], saver_feed,
                           _When(True, "restore op (run at load)"), covered)
        self.graph_context(self.init_roots(), asset_feed, _When(True, "init op (run at load)"), covered)
        self.object_functions(load=True)
        self.graph_context([g.saver[2]] if 2 in g.saver else [], saver_feed, _When(False, "save op"), covered)
        for key, (inputs, outputs) in sorted(g.signatures.items()):
            if key != "__saved_model_init_op":
                feed = {_tensor(t): UNKNOWN for t in inputs}
                self.graph_context(outputs, feed, _When(False, f"signature {key}"), covered)
        rest = _When(False, "graph node no loader runs", orphan=True)
        scope = _Scope(g.nodes, {}, in_function=False)
        for node in g.nodes:
            self.ops[node.op] += 1
            if node.name not in covered:
                self.check(node, scope, rest, f"graph node {node.name}")
        self.object_functions(load=False)
        for name in sorted(g.functions):
            if name not in self.checked_functions:
                self.function(name, None, _When(False, "library function"))
        for func in g.functions.values():
            for node in func.nodes:
                self.ops[node.op] += 1

    def graph_context(self, fetches: list[str], feed: dict[str, Value], when: _When, covered: set[str]) -> None:
        if not fetches:
            return
        scope = _Scope(self.graph.nodes, feed, in_function=False)
        fed = {t.rsplit(":", 1)[0] for t in feed}
        for node in self.closure(fetches):
            covered.add(node.name)
            if node.name not in fed or node.op not in {"Placeholder", "PlaceholderWithDefault"}:
                self.check(node, scope, when, f"graph node {node.name}")
        self.ctx.check_time()

    def concrete_of(self, node_id: int) -> list[str]:
        objects = self.graph.objects
        if 0 <= node_id < len(objects):
            return objects[node_id].concrete_functions
        return []

    def object_functions(self, *, load: bool) -> None:
        g = self.graph
        if not load:
            for obj in g.objects:
                for name in obj.concrete_functions:
                    self.function(name, self.captures(name), _When(False, "object graph function"))
            for name in g.bound_inputs:
                self.function(name, self.captures(name), _When(False, "object graph function"))
            return
        load_time: list[tuple[str, str]] = []
        for i, obj in enumerate(g.objects):
            if obj.kind == "resource":
                for local, child in obj.children:
                    if local in {"_create_resource", "_initialize", "_destroy_resource"}:
                        load_time.extend((f, f"resource {i}.{local} (run at load)") for f in self.concrete_of(child))
            for fn_node in obj.saveable_functions:
                load_time.extend((f, f"saveable object {i} (run at load)") for f in self.concrete_of(fn_node))
        for name, label in load_time:
            self.function(name, self.captures(name), _When(True, label))

    def captures(self, name: str) -> list[Value] | None:
        """Argument values of a concrete function: captured asset objects are asset paths."""
        func = self.graph.functions.get(name)
        bound = self.graph.bound_inputs.get(name)
        if func is None or not bound or len(bound) > len(func.args):
            return None
        values = [UNKNOWN] * len(func.args)
        offset = len(func.args) - len(bound)
        for i, node_id in enumerate(bound):
            objects = self.graph.objects
            obj = objects[node_id] if 0 <= node_id < len(objects) else None
            if obj is not None and obj.kind == "asset" and obj.asset_index is not None and \
                    0 <= obj.asset_index < len(self.graph.assets):
                values[offset + i] = ("asset", self.graph.assets[obj.asset_index][1])
        return values

    # functions -----------------------------------------------------------------------------------------------
    def function(self, name: str, args: list[Value] | None, when: _When) -> None:
        func = self.graph.functions.get(name)
        if func is None:
            return
        given = list(args or [])[:len(func.args)]
        values = tuple(given + [UNKNOWN] * (len(func.args) - len(given)))
        key = (name, values, when.load)
        if key in self.visited:
            return
        if len(self.visited) >= _MAX_VISITS:
            values = tuple(UNKNOWN for _ in func.args)
            key = (name, values, True)  # over budget: every further body is ranked as if run at load
            when = _When(True, "analysis budget exhausted")
            if key in self.visited:
                return
        self.visited.add(key)
        self.checked_functions.add(name)
        scope = _Scope(func.nodes, dict(zip(func.args, values, strict=True)), in_function=True)
        for node in func.nodes:
            self.check(node, scope, when, f"function {func.name}")
        self.ctx.check_time()

    def calls(self, node: Node, scope: _Scope, when: _When) -> None:
        if when.orphan:
            when = _When(False, "called from a graph node no loader runs")
        if node.op in self.graph.functions:  # a library function used directly as an op
            args = [scope.value(i) for i in node.data_inputs()]
            self.function(node.op, args, when)
        for attr_name, attr in node.attrs.items():
            for callee in attr.funcs:
                if node.op in _CALL_OPS and attr_name == "f":
                    self.function(callee, [scope.value(i) for i in node.data_inputs()], when)
                else:
                    self.function(callee, None, when)

    # ranking ------------------------------------------------------------------------------------------------
    def check(self, node: Node, scope: _Scope, when: _When, where: str) -> None:
        self.calls(node, scope, when)
        op = node.op
        known = review.opset()
        if op in self.graph.functions and op not in known:
            return
        if op not in known:
            self.report(op, review.UNKNOWN_RANK, "is not in TensorFlow's registered op set "
                        f"(tensorflow {review.opset_version()}): a custom op runs native code", when,
                        where=where, facts={})
            return
        entry = review.review_of(op)
        if entry is None or entry.kind in review.INERT_KINDS:
            return
        applies, facts = self.condition(node, scope, entry.when)
        if applies and when.orphan and entry.kind == "checkpoint" and scope.fed_by_placeholder(node):
            # TF1 training code leaves its own Saver's ops in the exported graph; no loader runs them.
            self.ctx.add("SL505", f"TensorFlow op {op}: {entry.note}; no loader step reaches it ({where})",
                         subject=op, details={"where": where, **facts})
            return
        if not applies:
            if entry.kind in {"asset_read", "checkpoint"} or facts:
                self.ctx.add("SL505", f"TensorFlow op {op}: {entry.note} (proven safe: {facts or 'own files'})",
                             subject=op, details={"where": where, **facts})
            return
        self.report(op, review.KIND_RANK[entry.kind], entry.note, when, where=where, facts=facts)

    def condition(self, node: Node, scope: _Scope, cond: review.Condition | None) -> tuple[bool, dict[str, Any]]:
        if cond is None:
            return True, {}
        if isinstance(cond, review.AttrNotIn):
            attr = node.attrs.get(cond.attr)
            setting = (attr.strings[-1] if attr.strings else "") if attr is not None else cond.default
            ok = setting in cond.allowed or (bool(cond.prefixes) and setting.startswith(cond.prefixes))
            return not ok, {cond.attr: setting[:200]}
        if isinstance(cond, review.AttrNonEmpty):
            attr = node.attrs.get(cond.attr)
            values = [s for s in attr.strings if s] if attr is not None else []
            return bool(values), ({cond.attr: [v[:200] for v in values[:4]]} if values else {})
        if isinstance(cond, review.InputNotConst):
            value = scope.input_value(node, cond.index)
            ok = _const_in(value, cond.allowed)
            return not ok, {cond.name: _describe(value)}
        if isinstance(cond, review.AssetPath):
            value = scope.input_value(node, cond.index)
            return not _is_asset(value), {cond.name: _describe(value)}
        if cond.role == "read":
            value = scope.input_value(node, cond.index)
            return not _is_saver(value), {"path": _describe(value)}
        if cond.role == "write":
            value = scope.input_value(node, cond.index)
            return not _checkpoint_write(value), {"path": _describe(value)}
        sources, destination = scope.input_value(node, 0), scope.input_value(node, 1)
        return not _checkpoint_merge(sources, destination), {"sources": _describe(sources),
                                                              "destination": _describe(destination)}

    def report(self, op: str, rank: review.Rank, note: str, when: _When, *, where: str,
               facts: dict[str, Any]) -> None:
        level = rank.at_load if when.load else rank.called
        timing = "runs during tf.saved_model.load" if when.load else "runs when the model is called"
        details = {"where": where, "when": "load" if when.load else "call", "context": when.label, **facts}
        self.ctx.add(rank.rule, f"TensorFlow op {op}: {note}; {timing} ({where})", severity=level, subject=op,
                     trustable=rank.trustable, details=details)


def _tensor(name: str) -> str:
    """``"x"`` and ``"x:0"`` are the same graph tensor."""
    node, _, index = name.lstrip("^").partition(":")
    return f"{node}:{int(index) if index.isdigit() else 0}"


def _describe(value: Value, depth: int = 0) -> str:
    if depth > 6:
        return "..."
    kind = value[0]
    if kind == "const":
        return " | ".join(repr(s[:120]) for s in value[1][:4])
    if kind == "saver":
        return "<saver filename>"
    if kind == "asset":
        return f"<asset {value[1][:120]!r}>"
    if kind == "unknown":
        return "<not a constant>"
    if kind == "shard":
        return f"shard({_describe(value[1], depth + 1)})"
    parts = ", ".join(_describe(v, depth + 1) for v in value[1][:8])
    return f"{kind}({parts})"


# -- entry points --------------------------------------------------------------------------------------------
def scan_saved_model_pb(data: Any, ctx: ScanContext) -> None:
    """Scan a ``saved_model.pb`` (or a ``keras_metadata.pb``) held in ``data``."""
    ctx.note_format("savedmodel")
    try:
        graphs, keras_objects = read_saved_model(data)
    except ProtobufError as exc:
        ctx.add("SL002", f"malformed protobuf: {exc}")
        return
    _scan_graphs(graphs, ctx)
    if keras_objects:
        _scan_keras_objects(keras_objects, ctx)
    if not graphs and not keras_objects and len(data) > 0:
        ctx.add("SL002", "no meta graph or Keras metadata found: not a SavedModel this scanner understands")


def scan_saved_model_pbtxt(data: Any, ctx: ScanContext) -> None:
    """Scan a ``saved_model.pbtxt`` (text format, which TensorFlow loads when ``saved_model.pb`` is absent)."""
    from safeload._pbtxt import PbtxtError, saved_model_to_binary

    ctx.note_format("savedmodel")
    try:
        binary = saved_model_to_binary(data)
    except PbtxtError as exc:
        ctx.add("SL002", f"malformed saved_model.pbtxt: {exc}")
        return
    if not binary:
        ctx.add("SL002", "saved_model.pbtxt holds no meta graph")
        return
    scan_saved_model_pb(binary, ctx)


def _scan_graphs(graphs: list[MetaGraph], ctx: ScanContext) -> None:
    total: Counter[str] = Counter()
    tags: list[str] = []
    versions: set[str] = set()
    for graph in graphs:
        analysis = _Analysis(graph, ctx)
        analysis.run()
        total.update(analysis.ops)
        tags.extend(graph.tags)
        if graph.tf_version:
            versions.add(graph.tf_version)
    if graphs:
        ctx.add("SL505", f"SavedModel: {len(graphs)} meta graph(s), {sum(total.values())} op(s), "
                f"{len(total)} distinct",
                details={"tags": sorted(set(tags)), "tensorflow_version": sorted(versions),
                         "ops": dict(total.most_common(50)), "opset": review.opset_version()})


def scan_keras_metadata_pb(data: Any, ctx: ScanContext) -> None:
    """Scan ``keras_metadata.pb`` (tf.keras SavedModel): the Keras config JSON of every saved object."""
    try:
        _graphs, keras_objects = read_saved_model(data)
    except ProtobufError as exc:
        ctx.add("SL002", f"malformed keras_metadata.pb: {exc}")
        return
    _scan_keras_objects(keras_objects, ctx)


def _scan_keras_objects(objects: list[tuple[str, str]], ctx: ScanContext) -> None:
    from safeload.scanners.keras import scan_keras_metadata_objects

    with ctx.inside("keras_metadata.pb"):
        scan_keras_metadata_objects(objects, ctx)


def saved_model_file(path: Path) -> Path | None:
    """The file TensorFlow reads in a SavedModel directory: ``saved_model.pb``, else ``saved_model.pbtxt``."""
    for name in SAVED_MODEL_FILES:
        candidate = path / name
        if candidate.is_file():
            return candidate
    return None


def is_saved_model_dir(path: Path) -> bool:
    return path.is_dir() and saved_model_file(path) is not None


def _files(folder: Path) -> Iterator[Path]:
    from safeload._walk import walk_files

    return (p for p in walk_files(folder) if isinstance(p, Path) and p.is_file() and not p.is_symlink())


def scan_saved_model_dir(path: Path, ctx: ScanContext) -> None:
    """Scan a SavedModel directory: ``saved_model.pb`` (else ``.pbtxt``, as TF picks), ``keras_metadata.pb``;
    note variables and assets."""
    from safeload._source import view_of_file
    from safeload.scan import scan_buffer

    ctx.note_format("savedmodel")
    model_file = saved_model_file(path)
    if model_file is None:
        ctx.add("SL002", "no saved_model.pb or saved_model.pbtxt in the SavedModel directory")
        return
    with ctx.inside(model_file.name), open(model_file, "rb") as handle, view_of_file(handle) as view:
        if model_file.name == "saved_model.pb":
            scan_buffer(view.data, ctx, name="saved_model.pb")
        else:
            ctx.bytes_scanned += len(view.data)
            scan_saved_model_pbtxt(view.data, ctx)
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
            files = list(_files(folder))
            counts[sub] = len(files)
            sizes[sub] = sum(p.stat().st_size for p in files)
            for link in (p for p in folder.rglob("*") if p.is_symlink()):
                target = os.path.realpath(link)
                if not target.startswith(os.path.realpath(path) + os.sep):
                    rel = link.relative_to(path).as_posix()
                    ctx.add("SL501", f"{rel} links outside the SavedModel directory", subject=rel,
                            severity=Severity.HIGH)
    others = sorted(p.name for p in path.iterdir() if p.name not in
                    {*SAVED_MODEL_FILES, "keras_metadata.pb", "variables", "assets", "assets.extra",
                     "fingerprint.pb"})
    summary = ", ".join(f"{k}: {v} file(s), {sizes[k]} bytes" for k, v in counts.items())
    ctx.add("SL505", "SavedModel directory: " + (summary or "no variables or assets"),
            details={"files": counts, "bytes": sizes, "other_entries": others[:50]})
