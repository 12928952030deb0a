"""Generated docs and package metadata stay in sync with the code."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import safeload
from safeload.rules import RULES, catalogue_markdown

ROOT = Path(__file__).resolve().parents[1]


def test_rules_doc_is_generated_from_the_catalogue() -> None:
    assert (ROOT / "docs" / "rules.md").read_text() == catalogue_markdown() + "\n", (
        "regenerate: python -c 'import safeload.rules as r; print(r.catalogue_markdown())' > docs/rules.md")


def test_rule_ids_are_unique_and_well_formed() -> None:
    assert all(rule_id.startswith("SL") and len(rule_id) == 5 for rule_id in RULES)
    assert len({r.name for r in RULES.values()}) == len(RULES)


def test_installed_version_matches_package() -> None:
    assert metadata.version("safeload") == safeload.__version__
    assert (ROOT / "safeload" / "py.typed").is_file()


def test_readme_refusal_example_is_what_torch_load_prints(tmp_path: Path) -> None:
    """The README shows a refusal; it must be the text safeload prints today (issue 16)."""
    import os
    import re

    import pytest

    torch = pytest.importorskip("torch")

    class Trojan:
        def __reduce__(self) -> tuple[object, ...]:
            return os.system, ("touch /tmp/x",)

    path = tmp_path / "trojan.pt"
    torch.save({"w": torch.zeros(2), "x": Trojan()}, path)
    with pytest.raises(safeload.UnsafeModelError) as info:
        safeload.torch_load(path, weights_only=False)
    printed = str(info.value).replace(f"{tmp_path}{os.sep}", "")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    shown = re.search(r"```\n(safeload refused to torch\.load trojan\.pt.*?)\n```", readme, re.S)
    assert shown is not None
    assert shown.group(1) == printed
