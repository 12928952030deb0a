"""ONNX: the scanner (ops in graphs, subgraphs, functions and training graphs; external-data paths; bounds), the
op catalogue against the installed onnx/onnxruntime, ``safeload.onnx_load`` with the real onnx, and fuzzing.

Every malicious model is built at test time with ``onnx.helper``; models that would touch the filesystem
point at files under tmp_path only.
"""

from __future__ import annotations

import os
import random
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import safeload
from safeload._sniff import Format, looks_like_onnx, sniff
from safeload.catalog import onnx as onnx_catalog

onnx = pytest.importorskip("onnx")
np = pytest.importorskip("numpy")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent / "fuzz"))
import sl_corpus  # noqa: E402

OPSET = [helper.make_opsetid("", 17)]


def io_(name: str = "x", shape: list[int] | None = None) -> Any:
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape or [1, 2])


def model(nodes: list[Any], *, initializers: list[Any] | None = None, opsets: list[Any] | None = None,
          functions: list[Any] | None = None, inputs: list[str] | None = None) -> Any:
    graph = helper.make_graph(nodes, "g", [io_(n) for n in (inputs or ["x"])], [io_("y")], initializers or [])
    return helper.make_model(graph, opset_imports=opsets or OPSET, functions=functions or [])


def relu() -> Any:
    return model([helper.make_node("Relu", ["x"], ["y"])])


def custom(domain: str = "com.attacker", op: str = "Evil") -> Any:
    return model([helper.make_node(op, ["x"], ["y"], domain=domain)],
                 opsets=[*OPSET, helper.make_opsetid(domain, 1)])


def rules_of(data: bytes | str | Path, **kw: Any) -> dict[str, list[str]]:
    result = safeload.scan(data if not isinstance(data, Path) else str(data), **kw)
    out: dict[str, list[str]] = {}
    for f in result.findings:
        out.setdefault(f.rule_id, []).append(f.message)
    return out


def blocking(data: bytes | str, **kw: Any) -> set[str]:
    return {f.rule_id for f in safeload.scan(data, **kw).blocking("medium")}


# ----- detection and facts -----------------------------------------------------------------------------------


def test_onnx_is_sniffed_by_content_and_by_name() -> None:
    data = relu().SerializeToString()
    assert sniff(data) is Format.ONNX
    assert looks_like_onnx(data)
    # a writer that puts the graph first: recognised only with the .onnx name
    reordered = bytes(data[data.index(b":"):]) + data[: data.index(b":")]
    assert sniff(reordered, "model.onnx") is Format.ONNX
    assert not looks_like_onnx(b"\x08\x01" + os.urandom(64))


def test_benign_models_are_safe() -> None:
    assert not blocking(relu().SerializeToString())
    ml = model([helper.make_node("Normalizer", ["x"], ["y"], domain="ai.onnx.ml", norm="L2")],
               opsets=[*OPSET, helper.make_opsetid("ai.onnx.ml", 3)])
    contrib = model([helper.make_node("FastGelu", ["x"], ["y"], domain="com.microsoft")],
                    opsets=[*OPSET, helper.make_opsetid("com.microsoft", 1)])
    for m in (ml, contrib):
        result = safeload.scan(m.SerializeToString())
        assert result.is_safe(), [f.message for f in result.findings]
    facts = rules_of(relu().SerializeToString())["SL607"][0]
    assert "1 node(s)" in facts


# ----- ops ---------------------------------------------------------------------------------------------------


def test_custom_domain_op_needs_native_code() -> None:
    found = rules_of(custom().SerializeToString())
    assert "SL601" in found and "com.attacker.Evil" in found["SL601"][0]


def test_unknown_op_in_a_standard_domain() -> None:
    assert "SL602" in rules_of(model([helper.make_node("NotAnOnnxOp", ["x"], ["y"])]).SerializeToString())


@pytest.mark.parametrize(("domain", "op"), [("com.microsoft", "PyOp"), ("", "PythonOp"), ("ai.onnx.contrib", "PyOp")])
def test_python_ops_are_critical(domain: str, op: str) -> None:
    result = safeload.scan(custom(domain, op).SerializeToString())
    assert "SL606" in {f.rule_id for f in result.findings}
    assert result.max_severity is safeload.Severity.CRITICAL
    assert not result.is_safe()


def test_reviewed_contrib_ops_are_reported() -> None:
    found = rules_of(custom("com.microsoft", "EPContext").SerializeToString())
    assert "SL601" in found and "precompiled" in found["SL601"][0]


def test_custom_op_hidden_in_nested_subgraphs() -> None:
    inner = helper.make_graph([helper.make_node("Evil", ["x"], ["y"], domain="com.attacker")], "inner", [],
                              [io_("y")])
    then = helper.make_graph([helper.make_node("If", ["c"], ["y"], then_branch=inner, else_branch=inner)], "mid",
                             [], [io_("y")])
    outer = helper.make_node("If", ["c"], ["y"], then_branch=then, else_branch=then)
    loop_body = helper.make_graph([helper.make_node("Evil2", ["x"], ["y"], domain="com.attacker")], "body", [],
                                  [io_("y")])
    loop = helper.make_node("Loop", ["", "c"], ["z"], body=loop_body)
    m = model([outer, loop], opsets=[*OPSET, helper.make_opsetid("com.attacker", 1)])
    messages = " ".join(rules_of(m.SerializeToString())["SL601"])
    assert "com.attacker.Evil " in messages and "com.attacker.Evil2" in messages


def test_model_local_functions_are_resolved_and_scanned() -> None:
    clean = helper.make_function("local.fns", "MyRelu", ["a"], ["b"], [helper.make_node("Relu", ["a"], ["b"])],
                                 OPSET)
    node = helper.make_node("MyRelu", ["x"], ["y"], domain="local.fns")
    ok = model([node], functions=[clean], opsets=[*OPSET, helper.make_opsetid("local.fns", 1)])
    assert not blocking(ok.SerializeToString())  # a call of a local function is not a custom op
    dirty = helper.make_function("local.fns", "MyRelu", ["a"], ["b"],
                                 [helper.make_node("Evil", ["a"], ["b"], domain="com.attacker")],
                                 [*OPSET, helper.make_opsetid("com.attacker", 1)])
    bad = model([node], functions=[dirty], opsets=[*OPSET, helper.make_opsetid("local.fns", 1)])
    assert "SL601" in rules_of(bad.SerializeToString())


def test_training_graphs_are_scanned() -> None:
    m = relu()
    training = m.training_info.add()
    training.algorithm.CopyFrom(helper.make_graph([helper.make_node("Evil", ["x"], ["y"], domain="com.attacker")],
                                                  "algo", [], []))
    assert "SL601" in rules_of(m.SerializeToString())


def test_trusting_a_custom_op_by_name() -> None:
    data = custom().SerializeToString()
    assert safeload.scan(data, trusted=["com.attacker.Evil"]).is_safe()
    assert not safeload.scan(data, trusted=["com.attacker.Other"]).is_safe()
    assert not safeload.scan(custom("com.microsoft", "PyOp").SerializeToString(), trusted=["com.microsoft.PyOp"]).is_safe()


# ----- bounds -------------------------------------------------------------------------------------------------


def _ld(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field (written by hand: protobuf itself refuses to build this deep)."""
    size, out = len(payload), bytearray()
    while True:
        out.append((size & 0x7F) | (0x80 if size > 0x7F else 0))
        size >>= 7
        if not size:
            break
    return bytes([number << 3 | 2]) + bytes(out) + payload


def test_subgraphs_nested_too_deep_fail_closed() -> None:
    graph = _ld(1, _ld(4, b"Relu"))
    for _ in range(40):  # GraphProto.node -> NodeProto.attribute -> AttributeProto.g -> GraphProto ...
        graph = _ld(1, _ld(4, b"If") + _ld(5, _ld(1, b"then_branch") + _ld(6, graph)))
    data = b"\x08\x08" + _ld(7, graph) + _ld(8, b"\x10\x11")
    assert sniff(data) is Format.ONNX
    found = rules_of(data)
    assert "SL002" in found and "nested" in found["SL002"][0]


@pytest.mark.parametrize("cut", [1, 7, 30])
def test_truncated_models_fail_closed(cut: int) -> None:
    data = custom().SerializeToString()
    assert blocking(data[:-cut], name="model.onnx")


# ----- external data ------------------------------------------------------------------------------------------


def save_external(folder: Path, *, location: str = "data.bin") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    w = numpy_helper.from_array(np.arange(6, dtype=np.float32).reshape(2, 3), "w")
    m = model([helper.make_node("MatMul", ["x", "w"], ["y"])], initializers=[w])
    onnx.save(m, str(folder / "model.onnx"), save_as_external_data=True, location="data.bin", size_threshold=0)
    if location != "data.bin":
        m = onnx.load(str(folder / "model.onnx"), load_external_data=False)
        for entry in m.graph.initializer[0].external_data:
            if entry.key == "location":
                entry.value = location
        onnx.save(m, str(folder / "model.onnx"))
    return folder / "model.onnx"


def test_external_data_inside_the_folder_is_fine(tmp_path: Path) -> None:
    path = save_external(tmp_path / "m")
    assert safeload.scan(str(path)).is_safe()


@pytest.mark.parametrize("location", ["/etc/hostname", "../secret.bin", "sub/../../secret.bin", "C:/x.bin",
                                      "data.bin\x00.txt"])
def test_external_data_escaping_the_folder(tmp_path: Path, location: str) -> None:
    (tmp_path / "secret.bin").write_bytes(b"\0" * 24)
    path = save_external(tmp_path / "m", location=location)
    assert "SL603" in rules_of(path)


def test_external_data_symlinked_out_of_the_folder(tmp_path: Path) -> None:
    path = save_external(tmp_path / "m")
    (tmp_path / "secret.bin").write_bytes((tmp_path / "m" / "data.bin").read_bytes())
    os.remove(tmp_path / "m" / "data.bin")
    os.symlink(tmp_path / "secret.bin", tmp_path / "m" / "data.bin")
    assert "SL603" in rules_of(path)


def test_external_data_in_a_cache_of_symlinks_is_fine(tmp_path: Path) -> None:
    """Hugging Face's cache: snapshots/rev/{model.onnx,data.bin} are links into blobs/."""
    path = save_external(tmp_path / "build")
    blobs, snap = tmp_path / "blobs", tmp_path / "snapshots" / "rev"
    blobs.mkdir()
    snap.mkdir(parents=True)
    for name in ("model.onnx", "data.bin"):
        os.replace(path.parent / name, blobs / name)
        os.symlink(blobs / name, snap / name)
    assert safeload.scan(str(snap / "model.onnx")).is_safe()


def test_external_data_that_is_a_fifo_or_out_of_bounds(tmp_path: Path) -> None:
    path = save_external(tmp_path / "m")
    os.remove(tmp_path / "m" / "data.bin")
    os.mkfifo(tmp_path / "m" / "data.bin")  # reading it would block the loader forever
    assert "SL603" in rules_of(path)
    os.remove(tmp_path / "m" / "data.bin")
    (tmp_path / "m" / "data.bin").write_bytes(b"\0" * 8)  # the model says 24 bytes
    assert "SL604" in rules_of(path)


def test_external_data_in_bytes_is_checked_for_its_location_only() -> None:
    w = numpy_helper.from_array(np.zeros(2, dtype=np.float32), "w")
    m = model([helper.make_node("Add", ["x", "w"], ["y"])], initializers=[w])
    onnx.external_data_helper.set_external_data(m.graph.initializer[0], "../../etc/passwd")
    m.graph.initializer[0].ClearField("raw_data")
    assert "SL603" in rules_of(m.SerializeToString())


# ----- the catalogue --------------------------------------------------------------------------------------------


def test_catalogue_matches_the_installed_onnx_and_onnxruntime() -> None:
    recorded = onnx_catalog.recorded_versions()
    installed = {"onnx": onnx.__version__}
    ort = pytest.importorskip("onnxruntime")
    installed["onnxruntime"] = ort.__version__
    if recorded != installed:
        pytest.skip(f"onnx_ops.txt was generated for {recorded}, installed: {installed} (regenerate it)")
    expected = onnx_catalog.render()
    assert (Path(onnx_catalog.__file__).with_name("onnx_ops.txt")).read_text(encoding="utf-8") == expected


def test_catalogue_leaves_out_the_reviewed_and_python_ops() -> None:
    table = onnx_catalog.known_ops()
    assert "EPContext" not in table["com.microsoft"] and "Snpe" not in table["com.microsoft"]
    assert not any(op in onnx_catalog.PYTHON_OPS for ops in table.values() for op in ops)
    assert {"Relu", "If", "Loop", "MatMul"} <= table["ai.onnx"]


# ----- safeload.onnx_load -------------------------------------------------------------------------------------


def test_onnx_load_returns_what_onnx_load_returns(tmp_path: Path) -> None:
    path = save_external(tmp_path / "m")
    ours, theirs = safeload.onnx_load(str(path)), onnx.load(str(path))
    assert ours == theirs and ours.graph.initializer[0].raw_data
    with open(path, "rb") as f:
        assert safeload.onnx_load(f) == onnx.load(str(path))
    meta = safeload.onnx_load(path, load_external_data=False)
    assert meta == onnx.load(str(path), load_external_data=False)


def test_onnx_load_text_formats(tmp_path: Path) -> None:
    text = tmp_path / "model.textproto"
    onnx.save(relu(), str(text), format="textproto")
    assert safeload.onnx_load(str(text)) == onnx.load(str(text))
    onnx.save(custom(), str(text), format="textproto")
    with pytest.raises(safeload.UnsafeModelError, match="SL601"):
        safeload.onnx_load(str(text))


def test_onnx_load_refuses_before_reading_external_data(tmp_path: Path) -> None:
    (tmp_path / "secret.bin").write_bytes(b"\0" * 24)
    path = save_external(tmp_path / "m", location="../secret.bin")
    with pytest.raises(safeload.UnsafeModelError) as err:
        safeload.onnx_load(str(path))
    assert str(path) in str(err.value) and "SL603" in str(err.value)
    evil = tmp_path / "evil.onnx"
    onnx.save(custom(), str(evil))
    with pytest.raises(safeload.UnsafeModelError) as err:
        safeload.onnx_load(evil)
    assert str(evil) in str(err.value) and "com.attacker.Evil" in str(err.value)


# ----- fuzzing ------------------------------------------------------------------------------------------------


def _seeds() -> list[bytes]:
    inner = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "inner", [], [io_("y")])
    fn = helper.make_function("local", "F", ["a"], ["b"], [helper.make_node("Relu", ["a"], ["b"])], OPSET)
    w = numpy_helper.from_array(np.ones(4, dtype=np.float32), "w")
    return [relu().SerializeToString(), custom().SerializeToString(),
            model([helper.make_node("If", ["c"], ["y"], then_branch=inner, else_branch=inner)]).SerializeToString(),
            model([helper.make_node("F", ["x"], ["y"], domain="local")], functions=[fn], initializers=[w],
                  opsets=[*OPSET, helper.make_opsetid("local", 1)]).SerializeToString()]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True,
          database=None)
@given(pick=st.integers(min_value=0), rng=st.randoms(use_true_random=False),
       name=st.sampled_from([None, "model.onnx"]))
def test_mutated_models_never_raise_and_finish(pick: int, rng: random.Random, name: str | None) -> None:
    seeds = _seeds()
    data = sl_corpus.mutate(seeds[pick % len(seeds)], rng, seeds)
    started = time.monotonic()
    result = safeload.scan(data, name=name)
    assert time.monotonic() - started < 5.0
    assert not [f.message for f in result.findings if f.rule_id == "SL005"]


@settings(max_examples=100, deadline=None, derandomize=True, database=None)
@given(st.binary(max_size=2048))
def test_random_bytes_named_onnx_never_raise(data: bytes) -> None:
    result = safeload.scan(b"\x08\x07" + data, name="model.onnx")
    assert not [f.message for f in result.findings if f.rule_id == "SL005"]


# ----- trusted native libraries (configuration) -----------------------------------------------------------------


def test_trusted_libraries_configuration(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from safeload.config import load_config
    from safeload.loaders.onnx import _check_library

    lib = tmp_path / "libops.so"
    lib.write_bytes(b"\x7fELF not really")
    import hashlib

    digest = hashlib.sha256(lib.read_bytes()).hexdigest()
    (tmp_path / "pyproject.toml").write_text(f'[tool.safeload]\ntrusted_libraries = ["{digest}  {lib}"]\n')
    monkeypatch.chdir(tmp_path)
    assert load_config().trusted_libraries == (f"{digest}  {lib}",)
    policy = safeload.Policy()
    assert _check_library(str(lib), "test", policy) == os.path.realpath(lib)
    lib.write_bytes(b"\x7fELF changed after review")  # same path, other bytes: refused
    with pytest.raises(safeload.UnsafeModelError, match="SL605"):
        _check_library(str(lib), "test", policy)
    (tmp_path / "pyproject.toml").write_text('[tool.safeload]\ntrusted_libraries = ["not-a-digest /x.so"]\n')
    with pytest.raises(safeload.ConfigError, match="sha256"):
        load_config()
    (tmp_path / "pyproject.toml").unlink()
    digest = hashlib.sha256(lib.read_bytes()).hexdigest()
    monkeypatch.setenv("SAFELOAD_TRUSTED_LIBRARIES", f"{digest}  {lib}")
    with pytest.warns(safeload.SafeloadWarning, match="SAFELOAD_TRUSTED_LIBRARIES"):
        assert _check_library(str(lib), "test", policy)
    other = tmp_path / "other.so"
    other.write_bytes(lib.read_bytes())  # the same bytes at another path: not what was reviewed
    with pytest.warns(safeload.SafeloadWarning), pytest.raises(safeload.UnsafeModelError, match="SL605"):
        _check_library(str(other), "test", safeload.Policy(threshold="critical"))  # CRITICAL: no threshold passes it


def test_every_location_entry_is_checked(tmp_path: Path) -> None:
    """onnx takes the last ``location`` entry; another reader may take the first: both are checked."""
    path = save_external(tmp_path / "m")
    m = onnx.load(str(path), load_external_data=False)
    tensor = m.graph.initializer[0]
    kept = list(tensor.external_data)
    del tensor.external_data[:]
    first = tensor.external_data.add()
    first.key, first.value = "location", "../../etc/hostname"
    tensor.external_data.extend(kept)  # the last location is the benign data.bin
    onnx.save(m, str(path))
    assert "SL603" in rules_of(path)


def test_onnxruntime_format_models_are_refused(tmp_path: Path) -> None:
    ort = pytest.importorskip("onnxruntime")
    from safeload.loaders.onnx import inference_session_load

    path = tmp_path / "model.ort"
    onnx.save(relu(), str(path))  # an ONNX protobuf named .ort: ORT would parse it as its flatbuffer format
    session = object.__new__(ort.InferenceSession)
    with pytest.raises(safeload.UnsafeModelError, match="flatbuffer"):
        inference_session_load(session, str(path))
    options = ort.SessionOptions()
    options.add_session_config_entry("session.load_model_format", "ORT")
    with pytest.raises(safeload.UnsafeModelError, match="flatbuffer"):
        inference_session_load(session, relu().SerializeToString(), options)
