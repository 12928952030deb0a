"""Hugging Face files: a Trainer checkpoint of a tiny model trained two steps, full-model pickles, pickled fast
tokenizers built from a small vocabulary, ``BatchEncoding``s. Random weights; nothing is downloaded."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

from tests.corpus.cases import HF, Artifact, attrs_equal, group, state_dicts_equal

WORDS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "world", "safe", "load", "model", "the", "a"]


def _tiny_bert(**extra: Any) -> Any:
    from transformers import BertConfig, BertForSequenceClassification

    config = BertConfig(vocab_size=len(WORDS), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=32, num_labels=2, **extra)
    return BertForSequenceClassification(config)


def fast_tokenizer(directory: Path) -> Any:
    """A ``BertTokenizerFast`` from a vocab file written here (the way a WordPiece vocabulary ships)."""
    from transformers import BertTokenizerFast

    vocab = directory / "vocab.txt"
    vocab.write_text("\n".join(WORDS) + "\n")
    return BertTokenizerFast(vocab_file=str(vocab))


def raw_tokenizer() -> Any:
    """A ``tokenizers.Tokenizer`` built in code: WordLevel model, whitespace pre-tokenizer, a post-processor."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors

    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(WORDS)}, unk_token="[UNK]"))  # noqa: S106
    tok.normalizer = normalizers.Sequence([normalizers.NFD(), normalizers.Lowercase()])
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2),
                                                                                                ("[SEP]", 3)])
    return tok


def args_equal(real: Any, safe: Any) -> None:
    assert real.to_json_string() == safe.to_json_string()


def encoding_equal(real: Any, safe: Any) -> None:
    assert list(real.keys()) == list(safe.keys())
    for key in real:
        assert real[key].tolist() == safe[key].tolist(), key
    assert [e.tokens for e in real.encodings] == [e.tokens for e in safe.encodings]


TRAINER = ("training_args.bin", "optimizer.pt", "scheduler.pt", "rng_state.pth")


@group("hf-trainer-checkpoint", family=HF, library="transformers", labels=TRAINER,
       requires=("transformers", "accelerate", "torch"))
def build_trainer(directory: Path) -> dict[str, Artifact]:
    import torch
    from transformers import Trainer, TrainingArguments

    torch.manual_seed(0)
    model = _tiny_bert()
    rows = [{"input_ids": torch.tensor([2, 5 + i % 5, 6, 3]), "attention_mask": torch.ones(4, dtype=torch.long),
             "labels": torch.tensor(i % 2)} for i in range(8)]
    args = TrainingArguments(output_dir=str(directory / "run"), max_steps=2, save_steps=2,
                             per_device_train_batch_size=4, report_to=[], use_cpu=True, logging_steps=1,
                             save_strategy="steps", disable_tqdm=True, dataloader_num_workers=0)
    Trainer(model=model, args=args, train_dataset=rows).train()
    ckpt = directory / "run" / "checkpoint-2"
    assert (ckpt / "trainer_state.json").exists(), sorted(p.name for p in ckpt.iterdir())
    return {
        "training_args.bin": Artifact(ckpt / "training_args.bin", "torch",
                                      check=args_equal),
        "optimizer.pt": Artifact(ckpt / "optimizer.pt", "torch", check=_nested_equal),
        "scheduler.pt": Artifact(ckpt / "scheduler.pt", "torch", check=_nested_equal),
        "rng_state.pth": Artifact(ckpt / "rng_state.pth", "torch", check=_nested_equal),
    }


def _nested_equal(real: Any, safe: Any) -> None:
    import torch

    if isinstance(real, torch.Tensor):
        assert torch.equal(real, safe)
    elif isinstance(real, dict):
        assert list(real) == list(safe)
        for key in real:
            _nested_equal(real[key], safe[key])
    elif isinstance(real, list | tuple):
        assert len(real) == len(safe)
        for a, b in zip(real, safe, strict=True):
            _nested_equal(a, b)
    else:
        assert pickle.dumps(real) == pickle.dumps(safe), (real, safe)


def trainer_checkpoint_dir(root: Path) -> Path:
    """Where ``build_trainer`` left the checkpoint folder (for the safe-format tests)."""
    return root / "hf-trainer-checkpoint" / "run" / "checkpoint-2"


FULL = ("bert-full-model", "gpt2-full-model", "llama-full-model", "bert-state-dict")


@group("hf-full-models", family=HF, library="transformers", labels=FULL, requires=("transformers", "torch"))
def build_full_models(directory: Path) -> dict[str, Artifact]:
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    models = {
        "bert-full-model": _tiny_bert(),
        "gpt2-full-model": GPT2LMHeadModel(GPT2Config(vocab_size=32, n_positions=16, n_embd=16, n_layer=1, n_head=2)),
        "llama-full-model": LlamaForCausalLM(LlamaConfig(vocab_size=32, hidden_size=16, intermediate_size=32,
                                                         num_hidden_layers=1, num_attention_heads=2,
                                                         num_key_value_heads=1, max_position_embeddings=32)),
    }
    out = {}
    for label, model in models.items():
        model.eval()
        path = directory / f"{label}.pt"
        torch.save(model, path)  # what users call to save "the whole model"
        out[label] = Artifact(path, "torch", check=state_dicts_equal)
    path = directory / "bert-state-dict.bin"
    torch.save(models["bert-full-model"].state_dict(), path)  # pytorch_model.bin
    out["bert-state-dict"] = Artifact(path, "torch", check=_nested_equal)
    return out


MORE = ("distilbert-full-model", "roberta-full-model", "t5-full-model", "mistral-full-model", "qwen2-full-model",
        "bart-full-model", "vit-full-model", "whisper-full-model")


def _more_models() -> dict[str, Any]:
    """Tiny random-weight models of eight more families (each builds in well under a second once imported)."""
    import transformers as t

    small: dict[str, Any] = {"hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2}
    seq2seq: dict[str, Any] = {"d_model": 16, "encoder_layers": 1, "decoder_layers": 1, "encoder_attention_heads": 2,
               "decoder_attention_heads": 2, "encoder_ffn_dim": 32, "decoder_ffn_dim": 32}
    return {
        "distilbert-full-model": t.DistilBertForSequenceClassification(t.DistilBertConfig(
            vocab_size=32, dim=16, n_layers=1, n_heads=2, hidden_dim=32, max_position_embeddings=32)),
        "roberta-full-model": t.RobertaForSequenceClassification(t.RobertaConfig(
            vocab_size=32, max_position_embeddings=40, **small)),
        "t5-full-model": t.T5ForConditionalGeneration(t.T5Config(
            vocab_size=32, d_model=16, d_kv=8, d_ff=32, num_layers=1, num_heads=2)),
        "mistral-full-model": t.MistralForCausalLM(t.MistralConfig(
            vocab_size=32, num_key_value_heads=1, max_position_embeddings=32, **small)),
        "qwen2-full-model": t.Qwen2ForCausalLM(t.Qwen2Config(
            vocab_size=32, num_key_value_heads=1, max_position_embeddings=32, **small)),
        "bart-full-model": t.BartForConditionalGeneration(t.BartConfig(
            vocab_size=32, max_position_embeddings=32, **seq2seq)),
        "vit-full-model": t.ViTForImageClassification(t.ViTConfig(
            image_size=8, patch_size=4, num_channels=3, **{**small, "num_labels": 2})),
        "whisper-full-model": t.WhisperForConditionalGeneration(t.WhisperConfig(
            vocab_size=64, num_mel_bins=8, max_source_positions=16, max_target_positions=16,
            decoder_start_token_id=1, pad_token_id=0, bos_token_id=1, eos_token_id=2, **seq2seq)),
    }


@group("hf-full-models-more", family=HF, library="transformers", labels=MORE, requires=("transformers", "torch"))
def build_more_full_models(directory: Path) -> dict[str, Artifact]:
    import torch

    torch.manual_seed(0)
    out = {}
    for label, model in _more_models().items():
        model.eval()
        path = directory / f"{label}.pt"
        torch.save(model, path)
        out[label] = Artifact(path, "torch", check=state_dicts_equal)
    return out


TOKENIZERS = ("raw-tokenizer.pkl", "raw-tokenizer-model.pkl", "fast-tokenizer.pkl", "wrapped-fast-tokenizer.pkl",
              "batch-encoding.pkl", "batch-encoding.pt", "encoding.pkl")


@group("hf-tokenizers", family=HF, library="tokenizers", labels=TOKENIZERS,
       requires=("tokenizers", "transformers", "torch"))
def build_tokenizers(directory: Path) -> dict[str, Artifact]:
    import torch
    from transformers import PreTrainedTokenizerFast

    raw = raw_tokenizer()
    fast = fast_tokenizer(directory)
    wrapped = PreTrainedTokenizerFast(tokenizer_object=raw_tokenizer(), unk_token="[UNK]",  # noqa: S106
                                      pad_token="[PAD]")  # noqa: S106
    batch = fast(["hello world", "safe load model"], padding=True, return_tensors="pt")
    objects = {"raw-tokenizer.pkl": raw, "raw-tokenizer-model.pkl": raw.model, "fast-tokenizer.pkl": fast,
               "wrapped-fast-tokenizer.pkl": wrapped, "batch-encoding.pkl": batch, "encoding.pkl": batch.encodings[0]}
    out = {}
    for label, obj in objects.items():
        path = directory / label
        path.write_bytes(pickle.dumps(obj))
        check = encoding_equal if label.startswith("batch") else attrs_equal("tokens", "ids") \
            if label == "encoding.pkl" else _tokenizer_check
        out[label] = Artifact(path, "pickle", check=check)
    path = directory / "batch-encoding.pt"
    torch.save(batch, path)
    out["batch-encoding.pt"] = Artifact(path, "torch", check=encoding_equal)
    return out


def _tokenizer_check(real: Any, safe: Any) -> None:
    text = "hello safe world"
    if hasattr(real, "encode") and not hasattr(real, "get_vocab_size"):
        assert real(text)["input_ids"] == safe(text)["input_ids"]
    elif hasattr(real, "encode"):
        assert real.encode(text).ids == safe.encode(text).ids
    assert pickle.dumps(real) == pickle.dumps(safe)


def hf_model_folder(directory: Path) -> Path:
    """``save_pretrained`` of a tiny model and its tokenizer: the folder users upload and download."""
    model = _tiny_bert()
    folder = directory / "bert-tiny"
    model.save_pretrained(folder)
    fast_tokenizer(directory).save_pretrained(folder)
    (folder / "README.md").write_text("# bert-tiny\nA test model.\n")
    (folder / "hparams.yaml").write_text("lr: 0.001\nbatch_size: 4\nlayers: [16, 16]\n")
    json.loads((folder / "config.json").read_text())
    return folder
