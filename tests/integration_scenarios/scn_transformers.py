"""Hugging Face transformers under the hook: ``from_pretrained`` of a local folder holding
``pytorch_model.bin`` (no safetensors), and ``Trainer.train(resume_from_checkpoint=...)``. Tiny random
models built from a config; nothing is downloaded (``HF_HUB_OFFLINE=1``)."""

from __future__ import annotations

import json
import os
import shutil

from _scenario import MODE, ROOT, Payload, benign, finish, malicious, marker, start


def tiny_config():
    from transformers import BertConfig

    return BertConfig(vocab_size=64, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                      intermediate_size=32, max_position_embeddings=32, num_labels=2)


class Rows:
    """A 16-row dataset of token ids, enough for a few optimiser steps."""

    def __len__(self) -> int:
        return 16

    def __getitem__(self, i: int) -> dict[str, object]:
        import torch

        ids = torch.arange(8) % 64 + i
        return {"input_ids": ids % 64, "attention_mask": torch.ones(8, dtype=torch.long), "labels": i % 2}


def trainer(model, output: str, steps: int):
    from transformers import Trainer, TrainingArguments

    args = TrainingArguments(output_dir=output, max_steps=steps, save_steps=1, per_device_train_batch_size=4,
                             report_to=[], use_cpu=True, logging_strategy="no", disable_tqdm=True, seed=0,
                             dataloader_num_workers=0)
    return Trainer(model=model, args=args, train_dataset=Rows())


def to_bin(folder: str) -> None:
    """A folder as older checkpoints (and many hub repos) have it: pytorch_model.bin, no safetensors."""
    import torch
    from safetensors.torch import load_file

    path = os.path.join(folder, "model.safetensors")
    torch.save(load_file(path), os.path.join(folder, "pytorch_model.bin"))
    os.remove(path)


def build() -> None:
    import torch
    from transformers import BertForSequenceClassification

    torch.manual_seed(0)
    model = BertForSequenceClassification(tiny_config())
    model.save_pretrained(ROOT / "bert")
    to_bin(str(ROOT / "bert"))
    shutil.copytree(ROOT / "bert", ROOT / "evil_bert")
    torch.save({"bert.embeddings.word_embeddings.weight": Payload(marker())}, ROOT / "evil_bert" / "pytorch_model.bin")
    ids = torch.arange(8).unsqueeze(0)
    model.eval()
    expected = {"logits": model(input_ids=ids).logits.tolist()}
    trainer(model, str(ROOT / "run"), 2).train()
    shutil.copytree(ROOT / "run" / "checkpoint-2", ROOT / "evil_ckpt")
    torch.save({"state": {0: Payload(marker())}, "param_groups": []}, ROOT / "evil_ckpt" / "optimizer.pt")
    (ROOT / "expected.json").write_text(json.dumps(expected))


def load() -> None:
    start()
    import numpy as np
    import torch
    from transformers import AutoModelForSequenceClassification, BertForSequenceClassification

    expected = json.loads((ROOT / "expected.json").read_text())
    ids = torch.arange(8).unsqueeze(0)

    def same_logits(model) -> bool:
        model.eval()
        return bool(np.allclose(model(input_ids=ids).logits.tolist(), expected["logits"], atol=1e-5))

    benign("from_pretrained", lambda: AutoModelForSequenceClassification.from_pretrained(ROOT / "bert"),
           same_logits)
    malicious("from_pretrained", lambda: AutoModelForSequenceClassification.from_pretrained(ROOT / "evil_bert"))
    malicious("from_pretrained-class", lambda: BertForSequenceClassification.from_pretrained(ROOT / "evil_bert"))

    def resume(checkpoint: str) -> object:
        torch.manual_seed(0)
        fresh = BertForSequenceClassification(tiny_config())
        return trainer(fresh, str(ROOT / f"resumed-{MODE}-{os.path.basename(checkpoint)}"), 3).train(
            resume_from_checkpoint=checkpoint)

    benign("trainer-resume", lambda: resume(str(ROOT / "run" / "checkpoint-2")), lambda out: out.global_step == 3)
    malicious("trainer-resume", lambda: resume(str(ROOT / "evil_ckpt")))


if __name__ == "__main__":
    build() if MODE == "build" else load()
    finish()
