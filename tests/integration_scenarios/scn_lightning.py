"""Lightning under the hook: ``LightningModule.load_from_checkpoint`` (fsspec file object -> ``torch.load``)."""

from __future__ import annotations

import contextlib
import json

from _scenario import MODE, OUT, ROOT, Payload, benign, finish, malicious, marker, start


def module_class():
    import lightning as L
    import torch

    class Tiny(L.LightningModule):
        def __init__(self, width: int = 4) -> None:
            super().__init__()
            self.save_hyperparameters()
            self.layer = torch.nn.Linear(width, 2)

        def forward(self, x):
            return self.layer(x)

        def training_step(self, batch, _index):
            x, y = batch
            return torch.nn.functional.cross_entropy(self(x), y)

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.1)

    return Tiny


def build() -> None:
    import lightning as L
    import torch

    torch.manual_seed(0)
    x = torch.randn(16, 4)
    data = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, (x[:, 0] > 0).long()), batch_size=4)
    model = module_class()(width=4)
    trainer = L.Trainer(max_steps=2, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, accelerator="cpu", devices=1)
    trainer.fit(model, data)
    trainer.save_checkpoint(ROOT / "good.ckpt")
    checkpoint = torch.load(ROOT / "good.ckpt", weights_only=False)
    checkpoint["hyper_parameters"]["width"] = Payload(marker())
    torch.save(checkpoint, ROOT / "evil.ckpt")
    checkpoint["hyper_parameters"]["width"] = Payload(marker("CONTROL_lightning"))
    torch.save(checkpoint, ROOT / "control.ckpt")
    model.eval()
    probe = torch.ones(1, 4)
    (ROOT / "expected.json").write_text(json.dumps({"out": model(probe).tolist()}))


def load() -> None:
    start()
    import numpy as np
    import torch

    expected = json.loads((ROOT / "expected.json").read_text())
    cls = module_class()
    probe = torch.ones(1, 4)

    def same(model) -> bool:
        model.eval()
        return bool(np.allclose(model(probe).tolist(), expected["out"], atol=1e-6))

    benign("load_from_checkpoint", lambda: cls.load_from_checkpoint(ROOT / "good.ckpt", map_location="cpu"), same)
    malicious("load_from_checkpoint", lambda: cls.load_from_checkpoint(ROOT / "evil.ckpt", map_location="cpu"))
    malicious("load_from_checkpoint-str", lambda: cls.load_from_checkpoint(str(ROOT / "evil.ckpt"),
                                                                          weights_only=False))
    if MODE == "install":
        import safeload

        safeload.uninstall()
        # with weights_only=False (needed for checkpoints holding objects) the payload runs without the hook;
        # the payload's return value is not a width, so the load itself may then fail
        with contextlib.suppress(Exception):
            cls.load_from_checkpoint(ROOT / "control.ckpt", map_location="cpu", weights_only=False)
        OUT["controls"] = sorted(p.name for p in ROOT.glob("CONTROL_*"))
        for p in ROOT.glob("CONTROL_*"):
            p.unlink()


if __name__ == "__main__":
    build() if MODE == "build" else load()
    finish()
