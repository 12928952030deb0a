"""Zero false positives on issue 14's families (pandas 3 with pyarrow, Hugging Face, torch objects,
scipy/statsmodels/gensim/nltk/spaCy, Keras controls): each ordinary file, built at test time with the real
library as its users save it, scans with nothing at or above MEDIUM and loads through the safe loader,
which returns what the real loader returns. Files refused today are strict xfails naming what is refused
(``tests/corpus/expected.py``); ``docs/false-positives.md`` has the measured table."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.corpus.runner import corpus_root, params, scans_clean_and_loads

__all__ = ["corpus_root"]


@pytest.mark.parametrize("case_id", params(long_tail=False))
def test_family_file_scans_clean_and_loads(corpus_root: Path, case_id: str) -> None:
    scans_clean_and_loads(corpus_root, case_id)


def test_expected_refusals_name_real_cases() -> None:
    """``expected.py`` lists only files the corpus builds (a stale id would hide nothing and mean nothing)."""
    from tests.corpus.cases import load_all
    from tests.corpus.expected import REFUSED

    ids = {case_id for grp in load_all().values() for case_id in grp.ids()}
    assert set(REFUSED) <= ids, sorted(set(REFUSED) - ids)
    assert all(reason.startswith("refused: ") and " SL" in reason for reason in REFUSED.values())
