"""ONNX model scanner: every op (graph, subgraphs in attributes, model-local functions, training graphs) and
every external-data location, read from the protobuf bytes without running or even importing onnx.

Invariants: this module never imports onnx, onnxruntime or ``google.protobuf``; it walks the wire format with
:mod:`safeload._protobuf` (bounded lengths and work) and caps graph nesting at ``MAX_GRAPH_DEPTH``; malformed
protobuf is a blocking SL002, never "clean". It only *reads facts*: which op from which domain, where each
external tensor points; the verdicts come from :mod:`safeload.catalog.onnx` (the op policy) and the
external-data rules below, which mirror onnx's and onnxruntime's own path checks (no absolute locations, no
``..``, no symlink out of the model's folder, a regular file, offset and length inside it) so an older onnx
or onnxruntime without those checks is covered too.

Paths read (field numbers from ``onnx.proto``)::

    ModelProto{ir_version=1, producer_name=2, graph=7, opset_import=8 {domain=1, version=2},
               training_info=20 {initialization=1, algorithm=2: GraphProto}, functions=25}
    GraphProto{node=1, name=2, initializer=5, sparse_initializer=15 {values=1, indices=2}}
    NodeProto{name=3, op_type=4, domain=7, attribute=5}
    AttributeProto{t=5, g=6, tensors=10, graphs=11, sparse_tensor=22, sparse_tensors=23}
    TensorProto{name=8, external_data=13 {key=1, value=2}, data_location=14 (1 = EXTERNAL)}
    FunctionProto{name=1, node=7, opset_import=9, domain=10}

Repeated occurrences of a singular message field (two ``graph`` fields) are all visited, as protobuf merges
them; for singular scalars (``op_type``, ``domain``, ``data_location``) the last occurrence wins, as in
protobuf.
"""

from __future__ import annotations

import os
import stat
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from safeload._context import ScanContext
from safeload._protobuf import LENGTH, VARINT, Budget, Field, ProtobufError, iter_fields, text
from safeload.catalog.onnx import PYTHON_OPS, REVIEWED, canonical_domain, known_ops
from safeload.severity import Severity

__all__ = ["MAX_GRAPH_DEPTH", "OnnxFacts", "read_onnx", "scan_onnx", "scan_onnx_model"]

MAX_GRAPH_DEPTH = 32  # subgraphs (If/Loop/Scan bodies) nested deeper than this are refused
_NAME = 64 * 1024


@dataclass
class ExternalRef:
    """A tensor whose data lives in another file: ``entries`` are its external_data key/value pairs."""

    tensor: str
    where: str
    entries: dict[str, str]
    locations: list[str] = field(default_factory=list)  # every "location" value (readers may take any one)


@dataclass
class OnnxFacts:
    """What an ONNX model contains, as read from its bytes (no verdicts)."""

    ir_version: int | None = None
    producer: str = ""
    opsets: dict[str, int] = field(default_factory=dict)
    nodes: list[tuple[str, str, str]] = field(default_factory=list)  # (domain, op_type, where)
    functions: set[tuple[str, str]] = field(default_factory=set)  # model-local (domain, name)
    external: list[ExternalRef] = field(default_factory=list)
    graphs: int = 0
    deepest: int = 0
    initializers: int = 0


class _Reader:
    def __init__(self, data: Any, ctx: ScanContext | None) -> None:
        self.data = data
        self.ctx = ctx
        self.budget = Budget()
        self.facts = OnnxFacts()

    def fields(self, item: Field | None) -> Any:
        if item is None:
            return iter_fields(self.data, 0, len(self.data), self.budget)
        return iter_fields(self.data, item.start, item.end, self.budget)

    def text(self, item: Field) -> str:
        return text(self.data, item, _NAME)

    def model(self) -> OnnxFacts:
        facts = self.facts
        for item in self.fields(None):
            if item.number == 1 and item.wire_type == VARINT:
                facts.ir_version = item.value
            elif item.wire_type != LENGTH:
                continue
            elif item.number == 2:
                facts.producer = self.text(item)
            elif item.number == 7:
                self.graph(item, 1, "graph")
            elif item.number == 8:
                domain, version = self.opset(item)
                facts.opsets[canonical_domain(domain)] = version
            elif item.number == 20:
                for sub in self.fields(item):
                    if sub.number in (1, 2) and sub.wire_type == LENGTH:
                        self.graph(sub, 1, "training " + ("initialization" if sub.number == 1 else "algorithm"))
            elif item.number == 25:
                self.function(item)
        return facts

    def opset(self, item: Field) -> tuple[str, int]:
        domain, version = "", 0
        for sub in self.fields(item):
            if sub.number == 1 and sub.wire_type == LENGTH:
                domain = self.text(sub)
            elif sub.number == 2 and sub.wire_type == VARINT:
                version = sub.value
        return domain, version

    def graph(self, item: Field, depth: int, where: str) -> None:
        if depth > MAX_GRAPH_DEPTH:
            raise ProtobufError(f"ONNX subgraphs nested more than {MAX_GRAPH_DEPTH} deep ({where})")
        self.facts.graphs += 1
        self.facts.deepest = max(self.facts.deepest, depth)
        if self.ctx is not None:
            self.ctx.check_time()
        for sub in self.fields(item):
            if sub.wire_type != LENGTH:
                continue
            if sub.number == 1:
                self.node(sub, depth, where)
            elif sub.number == 5:
                self.facts.initializers += 1
                self.tensor(sub, where)
            elif sub.number == 15:
                self.sparse(sub, where)

    def node(self, item: Field, depth: int, where: str) -> None:
        name, op_type, domain = "", "", ""
        attributes: list[Field] = []
        for sub in self.fields(item):
            if sub.wire_type != LENGTH:
                continue
            if sub.number == 3:
                name = self.text(sub)
            elif sub.number == 4:
                op_type = self.text(sub)
            elif sub.number == 7:
                domain = self.text(sub)
            elif sub.number == 5:
                attributes.append(sub)
        here = f"{where} node {name or '?'}"
        self.facts.nodes.append((domain, op_type, here))
        for attribute in attributes:
            self.attribute(attribute, depth, here)

    def attribute(self, item: Field, depth: int, where: str) -> None:
        for sub in self.fields(item):
            if sub.wire_type != LENGTH:
                continue
            if sub.number in (6, 11):
                self.graph(sub, depth + 1, f"{where} subgraph")
            elif sub.number in (5, 10):
                self.tensor(sub, where)
            elif sub.number in (22, 23):
                self.sparse(sub, where)

    def sparse(self, item: Field, where: str) -> None:
        for sub in self.fields(item):
            if sub.number in (1, 2) and sub.wire_type == LENGTH:
                self.tensor(sub, where)

    def tensor(self, item: Field, where: str) -> None:
        name, location = "", 0
        entries: dict[str, str] = {}
        locations: list[str] = []
        for sub in self.fields(item):
            if sub.number == 8 and sub.wire_type == LENGTH:
                name = self.text(sub)
            elif sub.number == 14 and sub.wire_type == VARINT:
                location = sub.value
            elif sub.number == 13 and sub.wire_type == LENGTH:
                key, value = "", ""
                for entry in self.fields(sub):
                    if entry.number == 1 and entry.wire_type == LENGTH:
                        key = self.text(entry)
                    elif entry.number == 2 and entry.wire_type == LENGTH:
                        value = self.text(entry)
                entries[key] = value  # onnx applies the entries in order: the last one wins
                if key == "location":
                    locations.append(value)
        if location == 1:  # TensorProto.EXTERNAL: the loaders read entries["location"]
            self.facts.external.append(ExternalRef(name, where, entries, locations))

    def function(self, item: Field) -> None:
        name, domain = "", ""
        nodes: list[Field] = []
        for sub in self.fields(item):
            if sub.wire_type != LENGTH:
                continue
            if sub.number == 1:
                name = self.text(sub)
            elif sub.number == 10:
                domain = self.text(sub)
            elif sub.number == 7:
                nodes.append(sub)
        self.facts.functions.add((canonical_domain(domain), name))
        for node in nodes:
            self.node(node, 1, f"function {domain}.{name}")


def read_onnx(data: Any, ctx: ScanContext | None = None) -> OnnxFacts:
    """The facts of the ONNX model in ``data`` (raises ``ProtobufError`` on malformed or over-deep input)."""
    return _Reader(data, ctx).model()


# ----------------------------------------------------------------------------------------------------------
# Verdicts
# ----------------------------------------------------------------------------------------------------------


def _report_op(ctx: ScanContext, rule: str, qualified: str, message: str, where: str) -> None:
    """An op finding about ``qualified`` (``domain.op``): trusting that name turns it into SL112 (ScanContext.add)."""
    ctx.add(rule, message, subject=qualified, trustable=True, details={"where": where})


def _check_ops(facts: OnnxFacts, ctx: ScanContext) -> Counter[str]:
    table = known_ops()
    counts: Counter[str] = Counter()
    for raw_domain, op, where in facts.nodes:
        domain = canonical_domain(raw_domain)
        qualified = f"{domain}.{op}"
        counts[qualified] += 1
        if (domain, op) in facts.functions:
            continue  # a call of a model-local function, whose body is scanned as well
        if op in PYTHON_OPS:
            ctx.add("SL606", f"op {qualified} calls Python named by the model ({where})", subject=qualified,
                    details={"where": where})
        elif (domain, op) in REVIEWED:
            _report_op(ctx, "SL601", qualified, f"op {qualified} {REVIEWED[(domain, op)]} ({where})", where)
        elif domain in table:
            if op not in table[domain]:
                _report_op(ctx, "SL602", qualified,
                           f"op {op!r} is not in the {domain} op set of onnx/onnxruntime ({where})", where)
        else:
            _report_op(ctx, "SL601", qualified,
                       f"op {qualified} needs a custom-op library (native code) for domain {domain!r} ({where})",
                       where)
    return counts


def _inside(path: str, folders: list[str]) -> bool:
    return any(path == folder or path.startswith(folder.rstrip(os.sep) + os.sep) for folder in folders)


def _check_external(facts: OnnxFacts, ctx: ScanContext, base_dir: str | None, model_path: str | None) -> None:
    folders: list[str] = []
    if base_dir is not None:
        folders.append(os.path.realpath(base_dir))
        if model_path is not None:  # a model symlinked from a cache (Hugging Face blobs/): its real folder too
            folders.append(os.path.dirname(os.path.realpath(model_path)))
    for ref in facts.external:
        if not ref.locations:
            ctx.add("SL604", f"external data without a location (tensor {ref.tensor!r} in {ref.where})",
                    subject=ref.tensor[:300])
        for location in dict.fromkeys(ref.locations):  # onnx takes the last one; check every one
            _check_location(ref, location, ctx, base_dir, folders)


def _check_location(ref: ExternalRef, location: str, ctx: ScanContext, base_dir: str | None,
                    folders: list[str]) -> None:
    subject = f"{ref.tensor}:{location}"[:300]
    where = f"tensor {ref.tensor!r} in {ref.where}"
    parts = location.replace("\\", "/").split("/")
    if (not location or "\0" in location or os.path.isabs(location) or location.startswith(("/", "\\"))
            or (len(location) > 1 and location[1] == ":") or ".." in parts):
        ctx.add("SL603", f"external data location {location!r} escapes the model's folder ({where})",
                subject=subject)
        return
    for key in ("offset", "length"):
        value = ref.entries.get(key)
        if value is not None and not (value.isascii() and value.isdigit()):
            ctx.add("SL604", f"external data {key} {value!r} is not a non-negative integer ({where})",
                    subject=subject)
    if base_dir is None:
        ctx.add("SL604", f"external data {location!r} not checked: no model folder is known ({where})",
                subject=subject, severity=Severity.LOW)
        return
    real = os.path.realpath(os.path.join(base_dir, location))
    if not _inside(real, folders):
        ctx.add("SL603", f"external data {location!r} resolves outside the model's folder (symlink) ({where})",
                subject=subject)
        return
    try:
        info = os.stat(real)
    except OSError:
        ctx.add("SL604", f"external data file {location!r} is missing ({where})", subject=subject,
                severity=Severity.LOW)
        return
    if not stat.S_ISREG(info.st_mode):
        ctx.add("SL603", f"external data {location!r} is not a regular file ({where})", subject=subject)
        return
    raw_offset, raw_length = ref.entries.get("offset") or "0", ref.entries.get("length")
    offset = int(raw_offset) if raw_offset.isascii() and raw_offset.isdigit() else 0
    end = offset + int(raw_length) if raw_length is not None and raw_length.isascii() and raw_length.isdigit() \
        else offset
    if offset > info.st_size or end > info.st_size:
        ctx.add("SL604", f"external data {location!r} reads bytes {offset}..{end} of a {info.st_size}-byte file "
                f"({where})", subject=subject)


def scan_onnx_model(data: Any, ctx: ScanContext, *, base_dir: str | None,
                    model_path: str | None = None) -> OnnxFacts | None:
    """Scan the ONNX model in ``data``; external data is checked against ``base_dir`` (None: locations only).

    Returns the facts read (None when the bytes could not be read as an ONNX model: a finding says why).
    """
    ctx.note_format("onnx")
    try:
        facts = read_onnx(data, ctx)
    except ProtobufError as exc:
        ctx.add("SL002", f"malformed ONNX protobuf: {exc}")
        return None
    if facts.graphs == 0 and not facts.functions:
        ctx.add("SL002", "no graph found: not an ONNX model this scanner understands")
        return None
    counts = _check_ops(facts, ctx)
    _check_external(facts, ctx, base_dir, model_path)
    ctx.add("SL607", f"ONNX model: ir_version {facts.ir_version}, {len(facts.nodes)} node(s), {facts.graphs} "
            f"graph(s) (depth {facts.deepest}), {len(facts.functions)} local function(s), "
            f"{len(facts.external)} external tensor(s)",
            details={"ir_version": facts.ir_version, "producer": facts.producer[:200], "opsets": facts.opsets,
                     "ops": dict(counts.most_common(50)), "initializers": facts.initializers})
    return facts


def scan_onnx(data: Any, ctx: ScanContext) -> None:
    """Registry entry point: external data is checked beside the scanned file when its folder is known."""
    base_dir: str | None = None
    model_path: str | None = None
    if ctx.path is not None:
        member = ctx.member
        candidate = ctx.path if member is None else os.path.join(ctx.path, member)
        if "!" not in (member or "") and os.path.isfile(candidate):
            model_path = candidate
            base_dir = os.path.dirname(os.path.abspath(candidate))
    scan_onnx_model(data, ctx, base_dir=base_dir, model_path=model_path)
