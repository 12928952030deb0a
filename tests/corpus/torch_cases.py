"""torch's own objects as users ``torch.save`` them: datasets, quantized and normalised models, full models of
``torch.nn`` architectures, optimizers and schedulers (objects and state_dicts), GradScaler, AveragedModel, and a
Lightning checkpoint."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

from tests.corpus.cases import TORCH, Artifact, group, state_dicts_equal


def nested_equal(real: Any, safe: Any) -> None:
    import torch

    if isinstance(real, torch.Tensor):
        assert torch.equal(real, safe)
    elif isinstance(real, dict):
        assert list(real) == list(safe)
        for key in real:
            nested_equal(real[key], safe[key])
    elif isinstance(real, list | tuple):
        assert len(real) == len(safe)
        for a, b in zip(real, safe, strict=True):
            nested_equal(a, b)
    elif hasattr(real, "state_dict"):
        nested_equal(real.state_dict(), safe.state_dict())
    else:
        assert pickle.dumps(real) == pickle.dumps(safe), (real, safe)


def dataset_equal(real: Any, safe: Any) -> None:
    assert len(real) == len(safe)
    for i in range(len(real)):
        nested_equal(real[i], safe[i])


DATA = ("tensor-dataset", "subset", "concat-dataset", "random-split")


@group("torch-data", family=TORCH, library="torch", labels=DATA)
def build_data(directory: Path) -> dict[str, Artifact]:
    import torch
    from torch.utils.data import ConcatDataset, Subset, TensorDataset, random_split

    torch.manual_seed(0)
    ds = TensorDataset(torch.randn(6, 3), torch.arange(6))
    objects = {"tensor-dataset": ds, "subset": Subset(ds, [0, 2]), "concat-dataset": ConcatDataset([ds, ds]),
               "random-split": random_split(ds, [4, 2], generator=torch.Generator().manual_seed(1))[0]}
    out = {}
    for label, obj in objects.items():
        path = directory / f"{label}.pt"
        torch.save(obj, path)
        out[label] = Artifact(path, "torch", check=dataset_equal)
    return out


MODELS = ("dynamic-quantized-model", "dynamic-quantized-state-dict", "weight-norm-old", "weight-norm-param",
          "spectral-norm-old", "spectral-norm-param", "encoder-gelu", "lstm-classifier", "cnn", "embedding-bag",
          "averaged-model", "averaged-model-state-dict", "checkpoint-dict")


@group("torch-models", family=TORCH, library="torch", labels=MODELS)
def build_models(directory: Path) -> dict[str, Artifact]:
    import torch
    from torch import nn
    from torch.nn.utils import parametrizations

    torch.manual_seed(0)
    mlp = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))
    quantized = torch.ao.quantization.quantize_dynamic(mlp, {nn.Linear}, dtype=torch.qint8)
    averaged = torch.optim.swa_utils.AveragedModel(nn.Linear(3, 2))
    averaged.update_parameters(nn.Linear(3, 2))
    lstm = nn.ModuleDict({"emb": nn.Embedding(20, 8), "rnn": nn.LSTM(8, 8, batch_first=True), "out": nn.Linear(8, 2)})
    cnn = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                        nn.Flatten(), nn.Linear(8, 10))
    objects: dict[str, Any] = {
        "dynamic-quantized-model": quantized,
        "dynamic-quantized-state-dict": quantized.state_dict(),
        "weight-norm-old": torch.nn.utils.weight_norm(nn.Conv1d(2, 2, 3)),
        # parametrized modules can only be saved through state_dict() (torch refuses to pickle them)
        "weight-norm-param": parametrizations.weight_norm(nn.Linear(4, 4)).state_dict(),
        "spectral-norm-old": torch.nn.utils.spectral_norm(nn.Linear(4, 4)),
        "spectral-norm-param": parametrizations.spectral_norm(nn.Linear(4, 4)).state_dict(),
        "encoder-gelu": nn.TransformerEncoderLayer(16, 2, 32, activation="gelu", batch_first=True),
        "lstm-classifier": lstm,
        "cnn": cnn,
        "embedding-bag": nn.EmbeddingBag(10, 4, mode="sum"),
        "averaged-model": averaged,
        "averaged-model-state-dict": averaged.state_dict(),
        "checkpoint-dict": {"epoch": 3, "model_state_dict": cnn.state_dict(), "loss": 0.25, "best": True,
                            "optimizer_state_dict": torch.optim.Adam(cnn.parameters()).state_dict()},
    }
    out = {}
    for label, obj in objects.items():
        path = directory / f"{label}.pt"
        torch.save(obj, path)
        check = state_dicts_equal if isinstance(obj, nn.Module) and "quantized" not in label else nested_equal
        out[label] = Artifact(path, "torch", check=check)
    return out


OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop", "adagrad", "lbfgs")
SCHEDULERS = ("steplr", "multisteplr", "exponentiallr", "cosine", "cosine-warm-restarts", "onecycle", "cyclic",
              "plateau", "linear", "polynomial", "sequential")
OPT_LABELS = (*(f"{name}-{what}" for name in OPTIMIZERS + SCHEDULERS for what in ("object", "state-dict")),
              "grad-scaler-object", "grad-scaler-state-dict")


@group("torch-optim", family=TORCH, library="torch", labels=OPT_LABELS)
def build_optim(directory: Path) -> dict[str, Artifact]:
    import torch
    from torch import nn
    from torch.optim import lr_scheduler as sched

    torch.manual_seed(0)
    model = nn.Linear(4, 2)

    def stepped(opt: Any) -> Any:
        loss = model(torch.randn(3, 4)).sum()
        loss.backward()
        if isinstance(opt, torch.optim.LBFGS):
            opt.step(lambda: model(torch.randn(3, 4)).sum())
        else:
            opt.step()
        return opt

    optimizers = {"sgd": lambda: torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9),
                  "adam": lambda: torch.optim.Adam(model.parameters()),
                  "adamw": lambda: torch.optim.AdamW(model.parameters(), weight_decay=0.01),
                  "rmsprop": lambda: torch.optim.RMSprop(model.parameters()),
                  "adagrad": lambda: torch.optim.Adagrad(model.parameters()),
                  "lbfgs": lambda: torch.optim.LBFGS(model.parameters())}
    objects: dict[str, Any] = {name: stepped(make()) for name, make in optimizers.items()}

    def opt() -> Any:
        return torch.optim.SGD(model.parameters(), lr=0.1)

    schedulers = {
        "steplr": lambda: sched.StepLR(opt(), 2), "multisteplr": lambda: sched.MultiStepLR(opt(), [1, 3]),
        "exponentiallr": lambda: sched.ExponentialLR(opt(), 0.9),
        "cosine": lambda: sched.CosineAnnealingLR(opt(), 10),
        "cosine-warm-restarts": lambda: sched.CosineAnnealingWarmRestarts(opt(), 5),
        "onecycle": lambda: sched.OneCycleLR(opt(), 0.1, total_steps=10),
        "cyclic": lambda: sched.CyclicLR(opt(), 0.01, 0.1),
        "plateau": lambda: sched.ReduceLROnPlateau(opt()),
        "linear": lambda: sched.LinearLR(opt()), "polynomial": lambda: sched.PolynomialLR(opt()),
    }
    for name, make in schedulers.items():
        scheduler = make()
        if name == "plateau":
            scheduler.step(1.0)
        else:
            scheduler.optimizer.step()
            scheduler.step()
        objects[name] = scheduler
    o = opt()
    objects["sequential"] = sched.SequentialLR(o, [sched.LinearLR(o), sched.ExponentialLR(o, 0.9)], milestones=[2])
    scaler = torch.amp.GradScaler("cpu")
    objects["grad-scaler"] = scaler
    out = {}
    for name, obj in objects.items():
        for what, value in (("object", obj), ("state-dict", obj.state_dict())):
            path = directory / f"{name}-{what}.pt"
            torch.save(value, path)
            out[f"{name}-{what}"] = Artifact(path, "torch", check=nested_equal)
    return out


@group("lightning-checkpoint", family=TORCH, library="lightning", labels=("checkpoint.ckpt", "weights-only.ckpt"),
       requires=("lightning", "torch"))
def build_lightning(directory: Path) -> dict[str, Artifact]:
    import lightning as L
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    from tests.corpus.lightning_module import TinyModule

    torch.manual_seed(0)
    loader = DataLoader(TensorDataset(torch.randn(8, 4), torch.randn(8, 1)), batch_size=4)
    trainer = L.Trainer(max_steps=2, logger=False, enable_progress_bar=False, enable_model_summary=False,
                        default_root_dir=str(directory), accelerator="cpu", devices=1)
    trainer.fit(TinyModule(hidden=8, lr=0.01), loader)
    full = directory / "checkpoint.ckpt"
    trainer.save_checkpoint(full)
    weights = directory / "weights-only.ckpt"
    trainer.save_checkpoint(weights, weights_only=True)
    return {"checkpoint.ckpt": Artifact(full, "torch", check=nested_equal),
            "weights-only.ckpt": Artifact(weights, "torch", check=nested_equal)}
