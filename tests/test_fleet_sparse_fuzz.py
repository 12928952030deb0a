"""Property tests of the sparse remote source (safeload/sources/sparse.py): whatever a scanner asks, it sees the
object's real bytes, only bytes that were fetched, and a fetch that answers with the wrong length is an error."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safeload.sources.sparse import SparseSource


def _fetcher(data: bytes, log: list[tuple[int, int]]) -> object:
    def fetch(ranges: Sequence[tuple[int, int]]) -> list[bytes]:
        log.extend(ranges)
        return [data[a:b] for a, b in ranges]

    return fetch


_reads = st.lists(st.tuples(st.sampled_from(["slice", "index", "window", "find", "rfind"]),
                            st.integers(-50, 70_000), st.integers(-50, 70_000)), max_size=25)


@settings(max_examples=150, deadline=None)
@given(data=st.binary(max_size=3000).map(lambda b: b * 23), reads=_reads)
def test_every_read_returns_the_real_bytes_and_only_fetched_ones(data: bytes, reads: list[tuple[str, int, int]]
                                                                 ) -> None:
    log: list[tuple[int, int]] = []
    with SparseSource(len(data), _fetcher(data, log)) as source:  # type: ignore[arg-type]
        for kind, a, b in reads:
            if kind == "slice":
                assert source[a:b] == data[a:b]
            elif kind == "index":
                if -len(data) <= a < len(data):
                    assert source[a] == data[a]
            elif kind == "window":
                assert bytes(source.window(a, b)) == data[max(0, a):max(0, min(len(data), b))]
            else:
                start, end = sorted((abs(a) % (len(data) + 1), abs(b) % (len(data) + 1)))
                source.ensure(start, end)
                needle = data[start:start + 3] or b"x"
                found = getattr(source, kind)(needle, start, end)
                assert found == getattr(data, kind)(needle, start, end)
        assert source.bytes_fetched == sum(b - a for a, b in log)
        assert source.bytes_fetched <= len(data) + 8192 * len(log)
        assert all(0 <= a < b <= len(data) for a, b in log)


def test_no_buffer_protocol_and_a_short_answer_is_an_error() -> None:
    data = bytes(range(256)) * 100
    with SparseSource(len(data), _fetcher(data, [])) as source:  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            memoryview(source)  # type: ignore[arg-type]
        assert bytes(source) == data  # type: ignore[call-overload]  # sequence protocol: __getitem__ fetches first

    def short(ranges: Sequence[tuple[int, int]]) -> list[bytes]:
        return [data[a:b - 1] for a, b in ranges]

    with SparseSource(len(data), short) as source, pytest.raises(OSError, match="asked for bytes"):
        source[100:200]
