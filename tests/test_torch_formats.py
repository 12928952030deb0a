"""Real torch 2.13 files scan clean and ``safeload.torch_load`` returns exactly what ``torch.load`` returns."""

from __future__ import annotations

import io
import pickle
import warnings
from pathlib import Path
from typing import Any

import pytest

import safeload
from safeload import Severity

torch = pytest.importorskip("torch")
nn = torch.nn

pytestmark = pytest.mark.torch


def assert_same(a: Any, b: Any) -> None:
    assert type(a) is type(b)
    if isinstance(a, torch.Tensor):
        assert a.dtype == b.dtype and a.shape == b.shape and a.layout == b.layout
        if a.is_quantized:
            assert torch.equal(a.int_repr(), b.int_repr())
            assert a.qscheme() == b.qscheme()
        elif a.is_sparse or a.layout != torch.strided:
            assert torch.equal(a.to_dense(), b.to_dense())
        else:
            assert torch.equal(a.view(torch.uint8) if a.element_size() == 1 and a.dtype != torch.bool else a,
                               b.view(torch.uint8) if b.element_size() == 1 and b.dtype != torch.bool else b)
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for key in a:
            assert_same(a[key], b[key])
    elif isinstance(a, list | tuple):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            assert_same(x, y)
    elif isinstance(a, nn.Module):
        assert_same(a.state_dict(), b.state_dict())
        assert repr(a) == repr(b)
    else:
        assert a == b


def save(obj: Any, path: Path, *, legacy: bool = False) -> Path:
    torch.save(obj, path, _use_new_zipfile_serialization=not legacy)
    return path


def assert_clean(path: Path | bytes) -> None:
    result = safeload.scan(path)
    blocking = result.blocking(Severity.LOW)
    assert not blocking, result.summary(Severity.LOW)


def roundtrip(path: Path, **kwargs: Any) -> None:
    expected = torch.load(path, **kwargs)
    got = safeload.torch_load(path, **kwargs)
    assert_same(expected, got)


def _state_dict() -> dict[str, Any]:
    torch.manual_seed(0)
    return {"w": torch.randn(4, 5), "b": torch.zeros(5), "steps": 3, "name": "x",
            "shared": [torch.arange(6)[2:4], torch.arange(6)], "size": torch.Size([2, 3])}


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
@pytest.mark.parametrize("weights_only", [True, False, None])
def test_state_dict_roundtrip(tmp_path: Path, legacy: bool, weights_only: bool | None) -> None:
    path = save(_state_dict(), tmp_path / "m.pt", legacy=legacy)
    assert_clean(path)
    kwargs = {} if weights_only is None else {"weights_only": weights_only}
    roundtrip(path, **kwargs)
    roundtrip(path, map_location="cpu", **kwargs)


def test_mmap_roundtrip(tmp_path: Path) -> None:
    path = save(_state_dict(), tmp_path / "m.pt")
    got = safeload.torch_load(path, mmap=True, weights_only=True)
    assert_same(torch.load(path, mmap=True, weights_only=True), got)
    assert_same(torch.load(str(path), mmap=True), safeload.torch_load(str(path), mmap=True))


def test_mmap_on_legacy_raises_like_torch(tmp_path: Path) -> None:
    path = save(_state_dict(), tmp_path / "m.pt", legacy=True)
    with pytest.raises(RuntimeError, match="mmap can only be used"):
        torch.load(path, mmap=True)
    with pytest.raises(RuntimeError, match="mmap can only be used"):
        safeload.torch_load(path, mmap=True)


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
def test_file_objects(tmp_path: Path, legacy: bool) -> None:
    path = save(_state_dict(), tmp_path / "m.pt", legacy=legacy)
    raw = path.read_bytes()
    assert_same(torch.load(io.BytesIO(raw)), safeload.torch_load(io.BytesIO(raw)))
    with open(path, "rb") as fh:
        got = safeload.torch_load(fh, weights_only=False)
    assert_same(torch.load(path, weights_only=False), got)
    # A file object positioned after a header: scanned and loaded from that position.
    buf = io.BytesIO(b"HEADER" + raw)
    buf.seek(6)
    assert_same(torch.load(path), safeload.torch_load(buf))


def test_mmap_needs_a_path_like_torch(tmp_path: Path) -> None:
    path = save(_state_dict(), tmp_path / "m.pt")
    with pytest.raises(ValueError, match="file path"):
        torch.load(io.BytesIO(path.read_bytes()), mmap=True)
    with pytest.raises(ValueError, match="file path"):
        safeload.torch_load(io.BytesIO(path.read_bytes()), mmap=True)


def test_safe_torch_load_alias() -> None:
    assert safeload.safe_torch_load is safeload.torch_load


def _model() -> Any:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2), nn.Dropout(0.1), nn.Flatten(),
        nn.Linear(4, 8), nn.LayerNorm(8), nn.GELU(), nn.Embedding(10, 8), nn.LSTM(8, 8, batch_first=True),
        nn.GRU(8, 8), nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, batch_first=True), 1),
        nn.MultiheadAttention(8, 2), nn.ModuleDict({"a": nn.Identity()}), nn.ModuleList([nn.Tanh()]),
        nn.ConvTranspose1d(2, 2, 3), nn.Upsample(scale_factor=2), nn.Softmax(dim=-1), nn.CrossEntropyLoss(),
    )


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
def test_full_module_pickle(tmp_path: Path, legacy: bool) -> None:
    path = save(_model(), tmp_path / "model.pt", legacy=legacy)
    assert_clean(path)
    roundtrip(path, weights_only=False)


def _optim_objects() -> dict[str, Any]:
    model = nn.Linear(3, 2)
    loss = model(torch.randn(4, 3)).sum()
    loss.backward()
    out: dict[str, Any] = {}
    for cls in (torch.optim.SGD, torch.optim.Adam, torch.optim.AdamW, torch.optim.RMSprop, torch.optim.Adagrad):
        opt = cls(model.parameters(), lr=0.1)
        opt.step()
        out[cls.__name__] = opt.state_dict()
    sgd = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    sgd.step()
    schedulers = [torch.optim.lr_scheduler.StepLR(sgd, 2), torch.optim.lr_scheduler.CosineAnnealingLR(sgd, 5),
                  torch.optim.lr_scheduler.OneCycleLR(sgd, 1.0, total_steps=10),
                  torch.optim.lr_scheduler.ReduceLROnPlateau(sgd)]
    out["schedulers"] = [s.state_dict() for s in schedulers]
    out["model"] = model.state_dict()
    return out


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
def test_optimizers_and_schedulers(tmp_path: Path, legacy: bool) -> None:
    path = save(_optim_objects(), tmp_path / "ckpt.pt", legacy=legacy)
    assert_clean(path)
    roundtrip(path)


def test_pickled_optimizer_and_scheduler_objects(tmp_path: Path) -> None:
    model = nn.Linear(3, 2)
    opt = torch.optim.Adam(model.parameters())
    sched = torch.optim.lr_scheduler.StepLR(opt, 3)
    path = save({"opt": opt, "sched": sched, "model": model}, tmp_path / "objs.pt")
    assert_clean(path)
    got = safeload.torch_load(path, weights_only=False)
    assert type(got["opt"]) is torch.optim.Adam
    assert got["sched"].step_size == 3


_DTYPES = [torch.float32, torch.float64, torch.float16, torch.bfloat16, torch.complex64, torch.complex128,
           torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64, torch.bool, torch.uint16, torch.uint32,
           torch.uint64, torch.float8_e4m3fn, torch.float8_e5m2]


def _all_dtypes() -> dict[str, Any]:
    base = torch.arange(6, dtype=torch.float32).reshape(2, 3)
    return {str(dt): base.to(dt) for dt in _DTYPES}


def test_every_dtype_zip(tmp_path: Path) -> None:
    path = save(_all_dtypes(), tmp_path / "dtypes.pt")
    assert_clean(path)
    roundtrip(path, weights_only=True)


def test_every_legacy_dtype(tmp_path: Path) -> None:
    saved: dict[str, Any] = {}
    for name, tensor in _all_dtypes().items():
        buf = io.BytesIO()
        try:
            torch.save(tensor, buf, _use_new_zipfile_serialization=False)
            torch.load(io.BytesIO(buf.getvalue()))
        except (RuntimeError, KeyError, TypeError, AttributeError, pickle.UnpicklingError):
            continue  # torch cannot round-trip this dtype in the legacy format
        saved[name] = tensor
    assert len(saved) >= 10
    path = save(saved, tmp_path / "dtypes.pt", legacy=True)
    assert_clean(path)
    roundtrip(path, weights_only=True)


@pytest.mark.filterwarnings("ignore:TypedStorage is deprecated:UserWarning")
@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
def test_quantized_sparse_and_special(tmp_path: Path, legacy: bool) -> None:
    x = torch.randn(4, 4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # quantized creation is deprecated, CSR is beta
        quantized = torch.quantize_per_tensor(x, 0.1, 3, torch.quint8)
        per_channel = torch.quantize_per_channel(x, torch.tensor([0.1] * 4), torch.tensor([0] * 4), 0, torch.qint8)
        csr = torch.eye(3).to_sparse_csr()
    obj = {
        "q": quantized,
        "qc": per_channel,
        "coo": torch.eye(3).to_sparse(),
        "csr": csr,
        "param": nn.Parameter(torch.ones(2)),
        "device": torch.device("cpu"),
        "dtype": torch.float16,
        "nested": {"a": [(torch.ones(1), {"b": torch.zeros(2)})], "size": torch.Size([1])},
        "cl": torch.randn(1, 2, 3, 3).to(memory_format=torch.channels_last),
    }
    path = save(obj, tmp_path / "special.pt", legacy=legacy)
    assert_clean(path)
    roundtrip(path, weights_only=True)


def test_pickle_protocol_4_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "p4.pt"
    torch.save(_state_dict(), path, pickle_protocol=4)
    assert_clean(path)
    roundtrip(path, weights_only=False)


def test_pickled_tensor_uses_load_from_bytes() -> None:
    data = pickle.dumps({"t": torch.arange(4).untyped_storage()})
    assert b"_load_from_bytes" in data
    assert_clean(data)


def test_untrusted_user_class_message(tmp_path: Path) -> None:
    path = save(UserNet(), tmp_path / "user.pt")
    result = safeload.scan(path)
    assert result.max_severity == Severity.MEDIUM
    with pytest.raises(safeload.UnsafeModelError) as info:
        safeload.torch_load(path, weights_only=False)
    message = str(info.value)
    assert f"{__name__}.UserNet" in message and "trusted=[" in message
    # Trusting the reviewed class by name lets the load through, and the result is torch.load's.
    got = safeload.torch_load(path, weights_only=False, trusted=[f"{__name__}.UserNet"])
    assert isinstance(got, UserNet)


class UserNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(2, 2)


def test_torchscript_loads_only_when_threshold_allows(tmp_path: Path) -> None:
    path = tmp_path / "ts.pt"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.save(torch.jit.script(nn.Linear(2, 2)), path)
    result = safeload.scan(path)
    assert result.max_severity == Severity.HIGH
    assert {f.rule_id for f in result.blocking()} == {"SL201"}
    with pytest.raises(safeload.UnsafePickleError):
        safeload.torch_load(path, weights_only=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch: "dispatching to torch.jit.load"
        warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit.load is deprecated
        module = safeload.torch_load(path, weights_only=False, threshold="critical")
    assert isinstance(module, torch.jit.ScriptModule)


def test_weights_only_default_and_env_override_pass_through(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = save({"m": UserNet()}, tmp_path / "user.pt")
    trusted = [f"{__name__}.UserNet"]
    # torch's default (weights_only=True) rejects the user class: safeload must not pass weights_only itself.
    with pytest.raises(pickle.UnpicklingError, match="Weights only load failed"):
        safeload.torch_load(path, trusted=trusted)
    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    with pytest.warns(UserWarning, match="forcing weights_only=False"):
        got = safeload.torch_load(path, trusted=trusted)
    assert isinstance(got["m"], UserNet)


def test_safetensors_path_is_passed_through(tmp_path: Path) -> None:
    safetensors_torch = pytest.importorskip("safetensors.torch")
    path = tmp_path / "m.safetensors"
    safetensors_torch.save_file({"a": torch.ones(2)}, str(path))
    assert_same(torch.load(path), safeload.torch_load(path))


def test_torch_gets_the_scanned_handle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from safeload.loaders import _common

    seen: list[Any] = []

    def spy(f: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(f if isinstance(f, str) else (f.name, f.closed, f.tell()))
        return torch.load(f, *args, **kwargs)

    monkeypatch.setitem(_common.ORIGINALS, ("torch", "load"), spy)
    path = save(_state_dict(), tmp_path / "m.pt")
    safeload.torch_load(path)
    assert seen[-1] == (str(path), False, 0)  # the file safeload opened and scanned, rewound
    safeload.torch_load(path, mmap=True)
    assert isinstance(seen[-1], str) and seen[-1].startswith("/proc/self/fd/")


def test_zip_with_code_dir_is_not_torchscript(tmp_path: Path) -> None:
    import zipfile

    path = tmp_path / "project.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("code/train.py", "import torch\ntorch.save(model, 'x')\n")
    assert safeload.scan(path).max_severity == Severity.INFO


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
def test_pickle_module_and_load_args_pass_through(tmp_path: Path, legacy: bool) -> None:
    path = save(_state_dict(), tmp_path / "m.pt", legacy=legacy)
    kwargs = {"pickle_module": pickle, "weights_only": False, "encoding": "latin1"}
    assert_same(torch.load(path, None, **kwargs), safeload.torch_load(path, None, **kwargs))
    assert_same(torch.load(path, "cpu", pickle), safeload.torch_load(path, "cpu", pickle))
