"""The bounded protobuf wire reader, checked against the ``protobuf`` package as an oracle (test-only)."""

from __future__ import annotations

import contextlib

import pytest
from google.protobuf import descriptor_pb2
from hypothesis import given, settings
from hypothesis import strategies as st

from safeload._protobuf import (
    FIXED32,
    FIXED64,
    LENGTH,
    VARINT,
    Budget,
    ProtobufError,
    iter_fields,
    read_varint,
    text,
)
from tests._tfproto import M, node, saved_model


def _fields(data: bytes) -> list[tuple[int, int, int]]:
    return [(f.number, f.wire_type, f.value) for f in iter_fields(data, 0, len(data), Budget())]


@pytest.mark.parametrize("value", [0, 1, 127, 128, 300, 2**31 - 1, 2**32, 2**63 - 1, 2**64 - 1])
def test_varint_matches_protobuf(value: int) -> None:
    msg = descriptor_pb2.FieldOptions()  # uses no varints itself; encode one via FileOptions-like field below
    opts = descriptor_pb2.UninterpretedOption(positive_int_value=value)  # field 4, uint64
    data = opts.SerializeToString()
    assert _fields(data) == [(4, VARINT, value)]
    assert read_varint(data, 1, len(data)) == (value, len(data))
    del msg


def test_all_wire_types_match_protobuf() -> None:
    opts = descriptor_pb2.UninterpretedOption(
        identifier_value="id",
        positive_int_value=5,
        negative_int_value=-3,
        double_value=1.5,
        string_value=b"\x00\xff",
        aggregate_value="agg",
    )
    data = opts.SerializeToString()
    parsed = list(iter_fields(data, 0, len(data), Budget()))
    by_number = {f.number: f for f in parsed}
    assert by_number[3].wire_type == LENGTH
    assert text(data, by_number[3]) == "id"
    assert by_number[4].value == 5
    assert by_number[5].value == (-3) % 2**64  # int64 negative: ten-byte varint
    assert by_number[6].wire_type == FIXED64
    assert bytes(data[by_number[7].start : by_number[7].end]) == b"\x00\xff"
    assert text(data, by_number[8]) == "agg"
    fixed = descriptor_pb2.FieldDescriptorProto()
    # A fixed32 field via a hand-made key (field 1, wire type 5) is read like protobuf's unknown field.
    raw = bytes([0x0D, 1, 0, 0, 0])
    fixed.MergeFromString(raw)
    assert _fields(raw) == [(1, FIXED32, 1)]


def test_nested_messages_and_offsets() -> None:
    data = saved_model(
        [node("a", "MatMul"), node("call", "PartitionedCall", "fn")], {"fn": [node("x", "Relu")]}
    )
    top = _fields(data)
    assert top[0][:2] == (1, VARINT)
    assert top[1][:2] == (2, LENGTH)
    oracle = M["SavedModel"]()
    oracle.ParseFromString(data)
    assert oracle.meta_graphs[0].graph_def.node[1].attr[0].value.func.name == "fn"


def test_groups_are_skipped_like_protobuf() -> None:
    # field 9 start-group, inner varint field 1, end-group 9, then field 1 varint 7.
    raw = bytes([0x4B, 0x08, 0x01, 0x4C, 0x08, 0x07])
    descriptor_pb2.FieldOptions().MergeFromString(raw)  # protobuf accepts it (unknown group)
    assert _fields(raw) == [(1, VARINT, 7)]


@pytest.mark.parametrize(
    "raw",
    [
        b"\x08",  # truncated varint value
        b"\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01",  # varint longer than 10 bytes
        b"\x0a\x05abc",  # length past the end
        b"\x09\x00\x00",  # truncated fixed64
        b"\x0d\x00",  # truncated fixed32
        b"\x00\x01",  # field number 0
        b"\x0e",  # wire type 6
        b"\x0f",  # wire type 7
        b"\x0c",  # end group without start
        b"\x0b\x08\x01",  # unterminated group
        b"\x0b\x14",  # mismatched end group
        b"\x0a\xff\xff\xff\xff\xff\xff\xff\xff\x7f",  # absurd length
    ],
)
def test_malformed_raises_protobuf_error(raw: bytes) -> None:
    with pytest.raises(ProtobufError):
        _fields(raw)
    with pytest.raises(Exception):
        descriptor_pb2.FileDescriptorProto().ParseFromString(raw)


def test_budget_bounds_total_work() -> None:
    data = b"\x08\x01" * 1000
    with pytest.raises(ProtobufError, match="work limit"):
        list(iter_fields(data, 0, len(data), Budget(remaining=100)))


def test_bounds_checked() -> None:
    with pytest.raises(ProtobufError):
        list(iter_fields(b"\x08\x01", 0, 5, Budget()))
    with pytest.raises(ProtobufError):
        text(b"\x08\x01", next(iter_fields(b"\x08\x01", 0, 2, Budget())))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_fuzz_only_protobuf_error(raw: bytes) -> None:
    """Arbitrary bytes: the reader either parses or raises ProtobufError, never anything else."""
    with contextlib.suppress(ProtobufError):
        _fields(raw)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.text(max_size=8), st.sampled_from(["MatMul", "ReadFile", "Relu", "X"])), max_size=8)
)
def test_fuzz_agrees_with_oracle(nodes: list[tuple[str, str]]) -> None:
    """Whatever the oracle serializes, the reader walks it completely and sees the same op names."""
    from safeload.scanners._tfgraph import read_saved_model

    data = saved_model([node(n, op) for n, op in nodes])
    graphs, _ = read_saved_model(data)
    assert [(n.name, n.op) for n in graphs[0].nodes] == nodes
