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
