"""Hand-reviewed catalogue entries name real objects of the installed (pinned) packages.

A dead entry (``numpy.core.memmap.memmap`` on numpy 2) is worse than useless: it says something was reviewed
that no longer exists. Resolving needs imports, which tests may do (scans never do).
"""

from __future__ import annotations

import importlib
import importlib.util
import warnings
from typing import Any

import pytest

from safeload.catalog.contracts import CONTRACTS, OTHER_VERSIONS
from safeload.catalog.reviewed import REVIEWED
from safeload.catalog.uses import Use

_MISSING = object()


def _resolve(name: str) -> Any:
    parts = name.split(".")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numpy.core and scipy.sparse.csr shims warn on access
        for i in range(len(parts), 0, -1):
            try:
                obj = importlib.import_module(".".join(parts[:i]))
            except ImportError:
                continue
            for part in parts[i:]:
                obj = getattr(obj, part, _MISSING)
                if obj is _MISSING:
                    return _MISSING
            return obj
    return _MISSING


def _installed(name: str) -> bool:
    return importlib.util.find_spec(name.split(".", 1)[0]) is not None


@pytest.mark.parametrize("name", sorted((set(REVIEWED) | set(CONTRACTS)) - OTHER_VERSIONS))
def test_entry_names_a_real_object(name: str) -> None:
    if not _installed(name):
        pytest.skip(f"{name.split('.', 1)[0]} is not installed in this environment")
    assert _resolve(name) is not _MISSING, f"{name}: no such object in the installed packages (dead entry)"


def test_reviewed_entries_carry_a_review_note() -> None:
    assert all(entry.note for entry in REVIEWED.values())


def test_memmap_may_be_allocated_but_not_called() -> None:
    entry = REVIEWED["numpy.memmap"]
    assert entry.permits(Use.ALLOC | Use.BUILD)
    assert not entry.permits(Use.CALL) and not entry.permits(Use.INVOKE) and not entry.permits(Use.NEW)
