"""Fuzzing the integrity parsers: the lock file reader and the scan cache's row decoder.

Whatever the input, they either return a value or raise the one documented error (``ConfigError`` for a lock,
"a miss" for a cache row); nothing else escapes, nothing hangs.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import safeload
from safeload.integrity.cache import ScanCache, _decode
from safeload.integrity.lockfile import parse_lock
from safeload.policy import Policy

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=30,
)

_VALID = {
    "lock_version": 1,
    "roots": ["models"],
    "entries": [{"path": "models/a.pkl", "kind": "file", "sha256": "0" * 64, "size": 3, "formats": ["pickle"],
                 "accepted": [{"rule_id": "SL104", "subject": "x.y", "member": None}]}],
}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_JSON)
def test_lock_reader_on_arbitrary_json(document: Any) -> None:
    with contextlib.suppress(safeload.ConfigError):
        parse_lock(json.dumps(document), Path("/x/safeload.lock"))


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_lock_reader_on_mutated_locks(data: st.DataObject) -> None:
    text = json.dumps(_VALID)
    position = data.draw(st.integers(0, len(text) - 1))
    replacement = data.draw(st.text(max_size=4))
    mutated = text[:position] + replacement + text[position + data.draw(st.integers(0, 3)):]
    with contextlib.suppress(safeload.ConfigError):
        parse_lock(mutated, Path("/x/safeload.lock"))


def test_lock_reader_on_deep_nesting() -> None:
    with pytest.raises(safeload.ConfigError, match="invalid safeload lock"):
        parse_lock("[" * 100_000 + "]" * 100_000, Path("/x/safeload.lock"))


@settings(max_examples=300, deadline=None)
@given(_JSON)
def test_cache_rows_decode_or_miss(document: Any) -> None:
    outcome: object
    try:
        outcome = _decode(json.dumps(document), "src", None)
    except Exception as exc:  # noqa: BLE001 - the cache turns every one of these into a miss
        outcome = exc
    assert isinstance(outcome, safeload.ScanResult | ValueError | TypeError | KeyError | RecursionError), outcome


def test_cache_get_turns_any_bad_row_into_a_miss(tmp_path: Path) -> None:
    cache = ScanCache(tmp_path / "c.sqlite3")
    policy = Policy()
    sha = "a" * 64
    key = cache.key(sha, policy, None)
    for text in ["[", "{}", '{"findings": [[1,2,3]]}', "[" * 50_000 + "]" * 50_000,
                 json.dumps({"formats": [], "bytes_scanned": 0, "duration": 0,
                             "findings": [["SL101", 99, "m", None, None, None, False, 1, {}]]})]:
        cache._db.execute("INSERT OR REPLACE INTO scans VALUES (?, ?, ?, 0)", (key, sha, text))
        assert cache.get(sha, policy, None, source="s", path=None) is None
    cache.close()
