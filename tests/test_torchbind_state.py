"""A pickled ``torch.ScriptObject`` (a quantized model's packed weights): NEW, then BUILD with
``(payload, qualified TorchBind class name)``. The name selects the C++ ``__setstate__`` that runs, so the
reviewed entry (``catalog/reviewed.py``) admits BUILD only under the ``torchbind_state`` contract
(``catalog/state_contracts.py``): a 2-tuple whose name is a literal among the reviewed quantization classes.
Real quantized models made with torch load; hostile states are refused and their payloads do not run."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import pytest

import safeload
from safeload.catalog.reviewed import TORCHBIND_SETSTATE_REVIEWED
from safeload.exceptions import UnsafeModelError

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")

LINEAR = "__torch__.torch.classes.quantized.LinearPackedParamsBase"


def _unicode(text: str) -> bytes:
    raw = text.encode()
    return b"X" + struct.pack("<I", len(raw)) + raw


def _script_object(payload: bytes, name: bytes, *, wrap: bytes = b"\x86") -> bytes:
    """protocol 2: torch.ScriptObject via NEWOBJ, then BUILD with the state ``payload`` + ``name`` + ``wrap``."""
    return (b"\x80\x02ctorch\nScriptObject\n)\x81" + payload + name + wrap + b"b.")


def _ints() -> bytes:
    return b"K\x01K\x02\x86"  # (1, 2)


def _findings(data: bytes) -> list[tuple[str, str]]:
    """The findings that block a load at the default threshold."""
    return [(f.rule_id, f.message) for f in safeload.scan(data).blocking()]


def test_reviewed_class_names_are_registered_with_a_setstate_in_this_torch() -> None:
    schemas = {str(s).split(" ", 1)[0] + " " + str(s).split("(", 1)[1].split(" ", 1)[0]
               for s in torch._C._jit_get_custom_class_schemas()}
    with_setstate = {entry.split(" ", 1)[1] for entry in schemas if entry.startswith("__setstate__")}
    assert set(TORCHBIND_SETSTATE_REVIEWED) <= with_setstate, set(TORCHBIND_SETSTATE_REVIEWED) - with_setstate


@pytest.mark.parametrize("name", TORCHBIND_SETSTATE_REVIEWED)
def test_reviewed_class_state_is_admitted(name: str) -> None:
    assert _findings(_script_object(_ints(), _unicode(name))) == []


@pytest.mark.parametrize("name", [
    "__torch__.torch.classes.aten.OpaqueObject", "__torch__.torch.classes.mkldnn.ConvOpContext",
    "__torch__.torch.classes.c10d.ProcessGroup", LINEAR + "X"])
def test_unreviewed_class_name_is_refused(name: str) -> None:
    """Each selects native code nobody reviewed (OpaqueObject: torch.compile's opaque objects; a process group)."""
    found = _findings(_script_object(_ints(), _unicode(name)))
    assert any(rule == "SL115" and "not a reviewed one" in message and name in message
               for rule, message in found), found


def test_state_that_is_not_a_pair_is_refused() -> None:
    found = _findings(_script_object(_ints(), _unicode(LINEAR), wrap=b"K\x03\x87"))  # a 3-tuple
    assert any(rule == "SL115" and "(payload, class name)" in message for rule, message in found), found
    found = _findings(b"\x80\x02ctorch\nScriptObject\n)\x81}b.")  # a dict state
    assert any(rule == "SL115" for rule, _ in found), found


def test_computed_class_name_is_refused() -> None:
    computed = b"cbuiltins\nstr\n" + _unicode(LINEAR) + b"\x85R"  # builtins.str('...') at load time
    found = _findings(_script_object(_ints(), computed))
    assert any(rule == "SL115" and "computed at load time" in message for rule, message in found), found


def test_payload_that_runs_code_is_refused_and_does_not_run(tmp_path: Path) -> None:
    marker = tmp_path / "MARKER"
    opener = b"cbuiltins\nopen\n" + _unicode(str(marker)) + _unicode("w") + b"\x86R"  # open(marker, 'w')
    data = _script_object(opener + b"K\x02\x86", _unicode(LINEAR))
    with pytest.raises(UnsafeModelError):
        safeload.pickle_loads(data)
    with pytest.raises(UnsafeModelError):
        safeload.torch_load(io.BytesIO(data), weights_only=False)
    assert not marker.exists(), "the payload ran"


def _roundtrip(model: object, tmp_path: Path) -> object:
    path = tmp_path / "model.pt"
    torch.save(model, path)
    result = safeload.scan(path)
    assert not result.blocking(), result.findings
    return safeload.torch_load(path, weights_only=False)


def test_dynamic_quantized_linear_model_loads(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = torch.ao.quantization.quantize_dynamic(torch.nn.Sequential(torch.nn.Linear(8, 4)), {torch.nn.Linear},
                                                   dtype=torch.qint8)
    loaded = _roundtrip(model, tmp_path)
    x = torch.ones(2, 8)
    assert torch.equal(loaded(x), model(x))  # type: ignore[operator]


def test_dynamic_quantized_lstm_loads(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = torch.ao.quantization.quantize_dynamic(torch.nn.LSTM(4, 3), {torch.nn.LSTM}, dtype=torch.qint8)
    loaded = _roundtrip(model, tmp_path)
    x = torch.ones(2, 1, 4)
    assert torch.equal(loaded(x)[0], model(x)[0])  # type: ignore[operator]
