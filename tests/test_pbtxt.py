"""``safeload._pbtxt``: the text-format reader agrees with ``google.protobuf.text_format`` (the oracle TF uses)."""

from __future__ import annotations

from typing import Any

import pytest
from google.protobuf import text_format
from hypothesis import given, settings
from hypothesis import strategies as st

import safeload
from safeload._pbtxt import PbtxtError, saved_model_to_binary
from safeload.scanners._tfgraph import read_saved_model
from tests._tfproto import M, node, saved_model, tf2_saver_model


def _facts(binary: bytes) -> list[Any]:
    graphs, _ = read_saved_model(binary)
    return [(g.saver, g.signatures, g.assets, g.tags,
             [(n.name, n.op, n.inputs, {k: (a.strings, a.funcs) for k, a in n.attrs.items()}) for n in g.nodes],
             {k: (f.args, [(n.name, n.op, n.inputs) for n in f.nodes]) for k, f in g.functions.items()})
            for g in graphs]


def _as_text(binary: bytes, **kw: Any) -> str:
    message = M["SavedModel"]()
    message.ParseFromString(binary)
    return text_format.MessageToString(message, **kw)


@pytest.mark.parametrize("as_utf8", [False, True])
def test_same_facts_as_binary(as_utf8: bool) -> None:
    binary = tf2_saver_model(serving_ops=("MatMul", "PrintV2"))
    text = _as_text(binary, as_utf8=as_utf8)
    assert _facts(saved_model_to_binary(text.encode())) == _facts(binary)


def test_syntax_variants() -> None:
    text = """
    # comment
    meta_graphs <
      meta_info_def { tags: ['se' "rve"] tensorflow_version: "2.21.0" }
      graph_def: {
        node { name: "a" op: 'Wri\\x74e\\106ile' input: ["x", "^y"] };
        node [{ name: "b" op: "MatMul" }, { name: "c" op: "Const" attr { key: "value" value { tensor {
          dtype: DT_STRING string_val: "\\303\\251" } } } }]
        versions { producer: 0x10 bad_consumers: [1, 2] }
      }
      saver_def { filename_tensor_name: "f:0" version: V2 keep_checkpoint_every_n_hours: 1e4 }
    >
    """
    graphs, _ = read_saved_model(saved_model_to_binary(text.encode()))
    nodes = graphs[0].nodes
    assert [(n.name, n.op) for n in nodes] == [("a", "WriteFile"), ("b", "MatMul"), ("c", "Const")]
    assert nodes[0].inputs == ["x", "^y"]
    assert nodes[2].attrs["value"].strings == ["é"]
    assert graphs[0].tags == ["serve"]
    oracle = M["SavedModel"]()
    with pytest.raises(text_format.ParseError):  # our schema is partial; the oracle knows fewer fields
        text_format.Parse(text, oracle)


def test_any_asset_file_def_expanded() -> None:
    text = """meta_graphs { collection_def { key: "saved_model_assets" value { any_list { value {
      [type.googleapis.com/tensorflow.AssetFileDef] { tensor_info { name: "p:0" } filename: "v.txt" } } } } } }"""
    graphs, _ = read_saved_model(saved_model_to_binary(text.encode()))
    assert graphs[0].collection_assets == [("p:0", "v.txt")]


@pytest.mark.parametrize(
    "text",
    [
        b"meta_graphs {",
        b"meta_graphs { graph_def { node { op: \"x } } }",
        b"meta_graphs { graph_def { node { op \"x\" } } }",
        b"meta_graphs: \"x\"",
        b"meta_graphs { meta_info_def { tags: {} } }",
        b"\xff\xfe",
        b"meta_graphs { } }",
        b"meta_graphs [ {} {} ]",
        b"{" * 200,
        b"meta_graphs " + b"{ graph_def " * 120,
    ],
)
def test_malformed_is_an_error(text: bytes) -> None:
    with pytest.raises(PbtxtError):
        saved_model_to_binary(text)
    result = safeload.scan(text, name="saved_model.pbtxt")
    assert not result.is_safe()


def test_empty_pbtxt_is_not_clean() -> None:
    assert not safeload.scan(b"# nothing\n", name="saved_model.pbtxt").is_safe()


_names = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(_names, _names, st.lists(_names, max_size=3)), max_size=6), st.booleans())
def test_differential_random_graphs(nodes: list[tuple[str, str, list[str]]], as_utf8: bool) -> None:
    binary = saved_model([node(name, op, inputs=tuple(inputs)) for name, op, inputs in nodes])
    assert _facts(saved_model_to_binary(_as_text(binary, as_utf8=as_utf8).encode())) == _facts(binary)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_fuzz_mutated_pbtxt(data: st.DataObject) -> None:
    """Mutated real pbtxt: a finding or clean, never an internal error (SL005), never a hang."""
    raw = bytearray(_as_text(tf2_saver_model(serving_ops=("MatMul", "ReadFile"))).encode())
    for _ in range(data.draw(st.integers(1, 8))):
        pos = data.draw(st.integers(0, len(raw) - 1))
        raw[pos] = data.draw(st.sampled_from(b'{}<>[]:;,"\'\\# \nabc019-.x'))
    result = safeload.scan(bytes(raw), name="saved_model.pbtxt")
    assert not any(f.rule_id == "SL005" for f in result.findings), [f.describe() for f in result.findings]
