"""Hash-bound catalogue entries (``Entry.source_files``): the Hugging Face config review holds only while the files
it read are installed with that text; otherwise the name is decided from source like any other.

The environments are real files: copies of the installed transformers modules the review read, laid out under a
temporary ``site-packages`` (a library root, so no SL117), once as read and once with ``BertConfig`` given a
``__setstate__`` that writes a marker. A fresh interpreter scans a ``BertConfig`` pickle on each.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import safeload
from safeload.catalog.decide import catalogue_view, reviewed_files_hold
from safeload.catalog.entries import lookup
from safeload.catalog.reviewed import HF_CONFIG_MACHINERY, HF_CONFIGS
from safeload.catalog.uses import Use

pytest.importorskip("transformers")
import transformers

ROOT = Path(__file__).resolve().parents[1]
BERT = "transformers.models.bert.configuration_bert.BertConfig"
# copyreg.__newobj__(BertConfig) + BUILD {'hidden_size': 8}, as protocol 2 writes a config
PICKLE = (b"\x80\x02ctransformers.models.bert.configuration_bert\nBertConfig\nq\x00)\x81q\x01}q\x02"
          b"X\x0b\x00\x00\x00hidden_sizeq\x03K\x08sb.")
_SCAN = """
import json, sys, safeload
result = safeload.scan(sys.argv[1])
print(json.dumps({"safe": result.is_safe(), "findings": [[f.rule_id, f.subject, f.message] for f in result.findings]}))
"""


def test_every_config_entry_is_bound_to_its_file_and_the_machinery() -> None:
    for config, digest in HF_CONFIGS:
        entry = lookup(f"transformers.models.{config}")
        assert entry is not None
        assert entry.source_files == ((f"transformers.models.{config.rsplit('.', 1)[0]}", digest),
                                      *HF_CONFIG_MACHINERY)
        assert reviewed_files_hold(entry.source_files)  # the installed release is the one reviewed


def test_a_changed_digest_sends_the_name_back_to_the_analysis() -> None:
    entry = lookup(BERT)
    assert entry is not None
    assert catalogue_view(BERT, Use.NEW) is True
    wrong = ((entry.source_files[0][0], "0" * 64), *entry.source_files[1:])
    assert not reviewed_files_hold(wrong)
    assert not reviewed_files_hold((("transformers.models.no_such_model.configuration", "0" * 64),))


def test_the_installed_review_admits_a_config(tmp_path: Path) -> None:
    path = tmp_path / "config.pkl"
    path.write_bytes(PICKLE)
    result = safeload.scan(path)
    assert result.is_safe(), result.summary()
    assert not [f for f in result.findings if f.rule_id in {"SL104", "SL105", "SL116"}]


def _layout(site: Path, *, patched: bool) -> None:
    installed = Path(transformers.__file__).parent
    modules = [module for module, _ in HF_CONFIG_MACHINERY] + ["transformers.models.bert.configuration_bert"]
    for module in modules:
        parts = module.split(".")
        for depth in range(1, len(parts)):
            package = site.joinpath(*parts[:depth])
            package.mkdir(parents=True, exist_ok=True)
            (package / "__init__.py").touch()
        relative = Path(*parts[1:]).with_suffix(".py")
        text = (installed / relative).read_text()
        if patched and module.endswith("configuration_bert"):
            text += ("\n\ndef _setstate(self, state):\n    open('MARKER', 'w').close()\n    self.__dict__.update(state)"
                     "\n\n\nBertConfig.__setstate__ = _setstate\n")
        site.joinpath(*parts[:-1], parts[-1] + ".py").write_text(text)


def _scan(tmp_path: Path, *, patched: bool) -> dict[str, object]:
    site = tmp_path / ("patched" if patched else "asread") / "site-packages"
    _layout(site, patched=patched)
    model = tmp_path / "config.pkl"
    model.write_bytes(PICKLE)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SAFELOAD_", "PYTEST_"))}
    env.update(PYTHONPATH=os.pathsep.join([str(site), str(ROOT)]), SAFELOAD_CACHE="0")
    done = subprocess.run([sys.executable, "-c", _SCAN, str(model)], env=env, cwd=tmp_path, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert isinstance(out, dict)
    return out


@pytest.mark.slow
def test_the_same_text_elsewhere_is_still_admitted(tmp_path: Path) -> None:
    """Control: the files as reviewed, at another location, keep the entry (the binding is to text)."""
    out = _scan(tmp_path, patched=False)
    assert out["safe"] is True, out
    assert not [f for f in out["findings"] if f[0] in {"SL104", "SL105", "SL117"}], out  # type: ignore[attr-defined]


@pytest.mark.slow
def test_an_edited_config_module_is_not_admitted_by_the_review(tmp_path: Path) -> None:
    out = _scan(tmp_path, patched=True)
    assert out["safe"] is False, out
    bert = [f for f in out["findings"] if f[1] == BERT]  # type: ignore[attr-defined]
    assert bert and bert[0][0] == "SL104", out
    assert not (tmp_path / "MARKER").exists()
