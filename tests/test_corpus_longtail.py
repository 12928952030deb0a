"""Zero false positives on the long tail: models and objects from 27 libraries outside issue 14's table
(detection, forecasting, graphs, AutoML, data frames, encoders, boosters, geometry, units, symbolic maths),
saved as their docs say. Same contract as ``test_corpus_families.py``; refusals are strict xfails naming the
refused names and rules (``tests/corpus/expected.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.corpus.runner import corpus_root, params, scans_clean_and_loads

__all__ = ["corpus_root"]


@pytest.mark.parametrize("case_id", params(long_tail=True))
def test_long_tail_file_scans_clean_and_loads(corpus_root: Path, case_id: str) -> None:
    scans_clean_and_loads(corpus_root, case_id)
