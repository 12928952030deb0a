"""Files next to models that are not models (configs, tokenizers, READMEs) and ONNX external data: skipped with
a reason, never unsafe, never an error row, never a SARIF alert; routed by content, so a pickle named
``config.json`` or named as ONNX external data is still scanned as a pickle.

Folders are built with the real libraries (transformers ``save_pretrained`` with safetensors, tokenizers,
onnx ``save_model`` with external data) at test time; nothing is downloaded.
"""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import safeload
from safeload import cli
from safeload._sniff import FIRST_OPCODES, breaks_before_import, looks_like_pickle, looks_like_text
from safeload.findings import Finding, ScanResult
from safeload.report import ReportInput, status
from safeload.severity import Severity


class _Payload:
    """Pickles to ``os.system(cmd)``: the marker file appears if anything ever unpickles it."""

    def __init__(self, cmd: str) -> None:
        self.cmd = cmd

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (self.cmd,))


def _problems(result: ScanResult) -> list[str]:
    return [f.rule_id for f in result.findings if f.severity > Severity.INFO]


def _cli_report(tmp_path: Path, *paths: Path, fmt: str = "json") -> tuple[int, Any]:
    out = tmp_path / f"report.{fmt}"
    code = cli.main(["scan", "--no-cache", "--format", fmt, "-o", str(out), *map(str, paths)])
    return code, json.loads(out.read_text(encoding="utf-8"))


def _statuses(report: Any, root: Path) -> dict[str, str]:
    return {Path(r["source"]).relative_to(root).as_posix(): r["status"] for r in report["results"]}


# -- a transformers checkpoint folder ---------------------------------------------------------------------------
def _tiny_transformers_folder(root: Path) -> Path:
    transformers = pytest.importorskip("transformers")
    tokenizers = pytest.importorskip("tokenizers")
    pytest.importorskip("torch")
    config = transformers.GPT2Config(n_layer=1, n_head=2, n_embd=8, vocab_size=32, n_positions=16)
    model = transformers.GPT2LMHeadModel(config)
    model.save_pretrained(root, safe_serialization=True)
    vocab = {f"w{i}": i for i in range(30)} | {"[UNK]": 30, "[PAD]": 31}
    special = {"unk_token": "[UNK]", "pad_token": "[PAD]"}  # tokens, not secrets
    raw = tokenizers.Tokenizer(tokenizers.models.WordLevel(vocab, unk_token=special["unk_token"]))
    raw.pre_tokenizer = tokenizers.pre_tokenizers.Whitespace()
    tokenizer = transformers.PreTrainedTokenizerFast(tokenizer_object=raw, **special)
    tokenizer.save_pretrained(root)
    (root / "README.md").write_text("---\nlicense: mit\ntags: [test]\n---\n# tiny\n\n```python\nmodel = ...\n```\n")
    (root / "vocab.txt").write_text("\n".join(vocab) + "\n")
    (root / "merges.txt").write_text("#version: 0.2\nw 1\n")
    (root / ".gitattributes").write_text("*.safetensors filter=lfs diff=lfs merge=lfs -text\n")
    (root / "training.yaml").write_text("lr: 0.001\nepochs: 3\noptimizer: {name: adam}\n")
    (root / "trainer_state.json").write_text(json.dumps({"global_step": 3, "log_history": [{"loss": 1.5}]}))
    return root


def test_transformers_folder_scans_clean_with_configs_skipped(tmp_path: Path) -> None:
    root = _tiny_transformers_folder(tmp_path / "tiny")
    names = sorted(p.name for p in root.iterdir())
    assert "model.safetensors" in names and "config.json" in names and "tokenizer.json" in names

    result = safeload.scan(root)
    assert _problems(result) == [], result.findings
    assert result.is_safe()
    skipped = {f.location.member for f in result.findings if f.rule_id == "SL810"}
    assert skipped == set(names) - {"model.safetensors"}
    assert {f.message for f in result.findings if f.rule_id == "SL810" and f.location.member == "config.json"} == \
        {"not a model: JSON config"}

    code, report = _cli_report(tmp_path, root)
    assert code == 0
    states = _statuses(report, root)
    assert states.pop("model.safetensors") == "safe"
    assert set(states.values()) == {"skipped"}, states
    assert report["summary"]["error"] == 0 and report["summary"]["unsafe"] == 0

    code, sarif = _cli_report(tmp_path, root, fmt="sarif")
    assert code == 0
    assert sarif["runs"][0]["results"] == []  # no alert for a config file, nor for the model


def test_explicit_safetensors_and_config_paths_are_not_unsafe(tmp_path: Path) -> None:
    root = _tiny_transformers_folder(tmp_path / "tiny")
    code, report = _cli_report(tmp_path, root / "model.safetensors", root / "config.json",
                               root / "generation_config.json")
    assert code == 0
    assert [r["status"] for r in report["results"]] == ["safe", "skipped", "skipped"]


def test_the_safetensors_loader_path_of_torch_load_still_works(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    st_torch = pytest.importorskip("safetensors.torch")
    path = tmp_path / "w.safetensors"
    st_torch.save_file({"w": torch.ones(3)}, str(path))
    assert safeload.scan(path).is_safe()
    assert torch.equal(st_torch.load_file(str(path))["w"], torch.ones(3))


# -- routed by content, not by name -------------------------------------------------------------------------------
def test_config_json_holding_a_pickle_is_scanned_as_a_pickle(tmp_path: Path, marker: Any) -> None:
    root = tmp_path / "m"
    root.mkdir()
    (root / "config.json").write_bytes(pickle.dumps(_Payload(marker.shell), protocol=0))  # text: protocol 0
    (root / "tokenizer.json").write_bytes(pickle.dumps(_Payload(marker.shell)))
    result = safeload.scan(root / "config.json")
    assert "pickle" in result.formats and "SL101" in _problems(result)
    code, report = _cli_report(tmp_path, root)
    assert code == 1
    assert set(_statuses(report, root).values()) == {"unsafe"}
    with open(root / "config.json", "rb") as handle, pytest.raises(safeload.UnsafeModelError):
        safeload.pickle_load(handle)


def test_yaml_python_tag_is_flagged(tmp_path: Path, marker: Any) -> None:
    yaml = pytest.importorskip("yaml")
    text = f"model: !!python/object/apply:os.system [{json.dumps(marker.shell)}]\n"
    path = tmp_path / "hparams.yaml"
    path.write_text(text)
    with pytest.raises(yaml.constructor.ConstructorError):
        yaml.safe_load(text)  # the tag is real: only the unsafe loaders would construct it
    result = safeload.scan(path)
    assert "SL812" in _problems(result)
    assert not result.is_safe()
    long_form = tmp_path / "x.yml"
    long_form.write_text("a: !<tag:yaml.org,2002:python/name:os.system> ''\n")
    assert "SL812" in _problems(safeload.scan(long_form))
    for i, sneaky in enumerate(["a: !!python%2Fobject/apply:os.system ['true']\n",  # PyYAML percent-decodes tags
                                "%TAG !p! tag:yaml.org,2002:pyt\n---\na: !p!hon/object/apply:os.system ['true']\n",
                                "a: !<tag:yaml.org,2002:%70ython/name:os.system> ''\n"]):
        hidden = tmp_path / f"sneaky{i}.yaml"
        hidden.write_text(sneaky)
        with pytest.raises(yaml.constructor.ConstructorError):
            yaml.safe_load(sneaky)
        assert "SL812" in _problems(safeload.scan(hidden)), sneaky
    chat = tmp_path / "tokenizer_config.json"  # "!" in ordinary strings is not a tag that names python
    chat.write_text(json.dumps({"chat_template": "Hi! {{ messages }}!", "tokens": ["!", "!!", "!python_is_fun"],
                                "script": "#!/usr/bin/env python3\nprint('hi')"}))
    assert _problems(safeload.scan(chat)) == []
    prose = tmp_path / "README.md"  # a document that mentions the tag does not load it
    prose.write_text("# Configs\n\nnever write `!!python/object/apply:os.system` in one.\n")
    assert _problems(safeload.scan(prose)) == []


def test_loads_refuse_text_files(tmp_path: Path) -> None:
    """SL810 is for reports: a loader given a config file refuses it as unknown content (SL003), as before."""
    root = tmp_path / "m"
    root.mkdir()
    (root / "config.json").write_text(json.dumps({"model_type": "gpt2", "n_layer": 1}))
    assert safeload.scan(root / "config.json").is_safe()
    with pytest.raises(safeload.UnsafeModelError) as refused:
        safeload.joblib_load(str(root / "config.json")) if _joblib() else safeload.numpy_load(
            str(root / "config.json"), allow_pickle=True)
    assert [f.rule_id for f in refused.value.result.findings] == ["SL003"]
    assert "not a model: JSON config" in str(refused.value)


def test_loads_keep_refusing_unknown_bytes_beside_an_onnx_model(tmp_path: Path) -> None:
    """SL811 is for reports: a load of the raw data file is refused as unknown content, as before."""
    _onnx_with_external_data(tmp_path / "m")
    data = tmp_path / "m" / "model.onnx.data"
    assert "SL811" in [f.rule_id for f in safeload.scan(data).findings]
    with pytest.raises(safeload.UnsafeModelError) as refused:
        safeload.joblib_load(str(data)) if _joblib() else safeload.numpy_load(str(data), allow_pickle=True)
    assert "SL003" in [f.rule_id for f in refused.value.result.findings]


def test_part_of_model_is_never_served_from_the_scan_cache(tmp_path: Path) -> None:
    """The verdict depends on the model beside the file, not on its bytes: a cached one would outlive the model."""
    _onnx_with_external_data(tmp_path / "m")
    data = tmp_path / "m" / "model.onnx.data"
    out = tmp_path / "r.json"
    assert cli.main(["scan", "--format", "json", "-o", str(out), str(data)]) == 0  # the CLI uses the cache
    os.remove(tmp_path / "m" / "model.onnx")
    assert cli.main(["scan", "--format", "json", "-o", str(out), str(data)]) == 1
    findings = json.loads(out.read_text(encoding="utf-8"))["results"][0]["findings"]
    assert "SL003" in [f["rule_id"] for f in findings]


def _joblib() -> bool:
    try:
        import joblib  # noqa: F401
    except ImportError:
        return False
    return True


def test_text_an_unpickler_would_import_from_is_not_skipped(tmp_path: Path) -> None:
    """A protocol-0 GLOBAL naming a module that does not exist here: not a pickle to the sniffer, but the
    unpickler gets as far as the import, so it is unknown content (SL003), never "not a model"."""
    for text in (b"cno_such_module\nsystem\n(S'id'\ntR.", b"(cms\nsystem\nS'idd", b"ions\nOrderedDict\n(tR.",
                 b"(", b"c"):
        result = safeload.scan(text, name="config.yaml")
        assert not result.is_safe() and "SL810" not in [f.rule_id for f in result.findings], text
    yaml_like = b"model_type: gpt2\nlayers: 2\n"  # 'm' is no opcode: plain text
    assert [f.rule_id for f in safeload.scan(yaml_like, name="c.yaml").findings] == ["SL810"]


def test_text_head_with_a_binary_body_is_unknown_content(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(b"just text\n" * 10_000 + b"\x00\x01\x02binary")
    result = safeload.scan(path)
    assert "SL003" in _problems(result)
    assert "SL810" not in [f.rule_id for f in result.findings]


def test_a_model_with_text_inside_stays_a_model() -> None:
    findings = (Finding("SL810", Severity.INFO, "not a model: text", location=safeload.findings.Location(
        path="x", member="assets/vocab.txt")),)
    report = ReportInput(results=[])
    assert status(ScanResult(source="x", findings=findings, formats=("savedmodel",)), report) == "safe"
    assert status(ScanResult(source="x", findings=findings), report) == "skipped"


# -- ONNX external data -----------------------------------------------------------------------------------------
def _onnx_with_external_data(folder: Path, location: str = "model.onnx.data") -> Path:
    onnx = pytest.importorskip("onnx")
    from onnx import helper, numpy_helper

    folder.mkdir(parents=True, exist_ok=True)
    w = numpy_helper.from_array(np.arange(16, dtype=np.float32).reshape(4, 4), "w")
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", 1, [1, 4])],
                              [helper.make_tensor_value_info("y", 1, [1, 4])], [w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    if "/" in location:
        (folder / os.path.dirname(location)).mkdir(parents=True, exist_ok=True)
    onnx.save_model(model, str(folder / "model.onnx"), save_as_external_data=True, all_tensors_to_one_file=True,
                    location=location, size_threshold=0)
    return folder / "model.onnx"


@pytest.mark.parametrize("location", ["model.onnx.data", "weights/w0.bin"])
def test_onnx_external_data_is_part_of_its_model(tmp_path: Path, location: str) -> None:
    ort = pytest.importorskip("onnxruntime")
    model = _onnx_with_external_data(tmp_path / "m", location)
    ort.InferenceSession(str(model))  # the real runtime reads the folder as one model
    data = tmp_path / "m" / location
    result = safeload.scan(data)
    assert _problems(result) == [], result.findings
    assert [f.message for f in result.findings] == ["skipped (part of "
                                                    f"{os.path.relpath(model, data.parent)}): external tensor data "
                                                    "of that ONNX model"]
    assert safeload.scan(tmp_path / "m").is_safe()
    code, report = _cli_report(tmp_path, tmp_path / "m")
    assert code == 0
    assert _statuses(report, tmp_path / "m") == {"model.onnx": "safe", location: "skipped"}


def test_unreferenced_raw_file_beside_an_onnx_model_stays_unknown(tmp_path: Path) -> None:
    _onnx_with_external_data(tmp_path / "m")
    stray = tmp_path / "m" / "other.data"
    stray.write_bytes(np.random.default_rng(1).bytes(64) + b"\x00\x01")
    assert "SL003" in _problems(safeload.scan(stray))


def test_external_data_that_is_a_pickle_is_scanned_as_a_pickle(tmp_path: Path, marker: Any) -> None:
    _onnx_with_external_data(tmp_path / "m")
    data = tmp_path / "m" / "model.onnx.data"
    data.write_bytes(pickle.dumps(_Payload(marker.shell)))
    result = safeload.scan(data)
    assert "SL101" in _problems(result) and "SL811" not in [f.rule_id for f in result.findings]
    with open(data, "rb") as handle, pytest.raises(safeload.UnsafeModelError):
        safeload.pickle_load(handle)


def test_escaping_location_claims_nothing_and_flags_the_model(tmp_path: Path) -> None:
    onnx = pytest.importorskip("onnx")
    model_path = _onnx_with_external_data(tmp_path / "m")
    outside = tmp_path / "secret.bin"
    os.replace(tmp_path / "m" / "model.onnx.data", outside)
    model = onnx.load(str(model_path), load_external_data=False)
    for entry in model.graph.initializer[0].external_data:
        if entry.key == "location":
            entry.value = "../secret.bin"
    onnx.save_model(model, str(model_path))
    with pytest.raises(onnx.checker.ValidationError):
        onnx.load(str(model_path))  # onnx refuses the location itself
    assert "SL603" in _problems(safeload.scan(model_path))
    assert "SL811" not in [f.rule_id for f in safeload.scan(outside).findings]  # not part of any model



# -- fuzz: text routing never crashes, and never calls a pickle "not a model" ------------------------------------
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=300), st.binary(max_size=8), st.sampled_from(["config.json", "a.yaml", "README.md", None]))
def test_text_routing_fuzz(text: str, tail: bytes, name: str | None) -> None:
    for data in (text.encode(), text.encode() + tail, b"!!python/" + text.encode()):
        result = safeload.scan(data, name=name)
        rules = [f.rule_id for f in result.findings]
        assert "SL005" not in rules
        if "SL810" in rules:
            assert looks_like_text(data) and not looks_like_pickle(data) and breaks_before_import(data)
            assert data[0] not in FIRST_OPCODES and data[:1] != b"i"
            assert result.formats == ()
