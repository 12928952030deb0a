"""zstd-compressed pickles (``pandas.to_pickle(compression="zstd")``): decompressed under the same caps as the
other codecs and scanned by content; malformed, truncated or bomb-like streams are findings, never clean."""

from __future__ import annotations

import os
import pickle

import pytest

import safeload
from safeload._sniff import Format, sniff
from safeload.policy import Limits, Policy

zstandard = pytest.importorskip("zstandard")

EVIL = b"\x80\x04\x8c\x05posix\x8c\x06system\x93\x8c\x04true\x85R."
GOOD = pickle.dumps({"weights": list(range(100)), "name": "ok"})


def zst(data: bytes, **kw: object) -> bytes:
    return bytes(zstandard.ZstdCompressor(**kw).compress(data))


def rules(data: bytes, policy: Policy | None = None) -> dict[str, str]:
    result = safeload.scan(data, policy=policy)
    return {f.rule_id: f.message for f in result.findings}


def test_sniffed_by_content_frame_and_skippable_frame() -> None:
    assert sniff(zst(GOOD)) is Format.ZSTD
    skippable = b"\x5a\x2a\x4d\x18" + (4).to_bytes(4, "little") + b"note" + zst(GOOD)
    assert sniff(skippable) is Format.ZSTD


def test_benign_zstd_pickle_is_safe_and_payload_is_found() -> None:
    good = safeload.scan(zst(GOOD))
    assert good.is_safe() and "zstd-compressed" in good.formats
    found = rules(zst(EVIL))
    assert "SL101" in found and "SL002" not in found


def test_payload_in_a_later_frame_and_after_a_skippable_frame() -> None:
    # zstandard's reader (what pandas uses) goes on across frames: every frame is scanned
    assert "SL101" in rules(zst(GOOD[:-1]) + zst(b"0" + EVIL))
    skippable = b"\x50\x2a\x4d\x18" + (3).to_bytes(4, "little") + b"abc"
    assert "SL101" in rules(skippable + zst(EVIL))


class _Payload:
    def __reduce__(self) -> tuple[object, ...]:
        return (os.system, ("true",))


def test_truncated_frame_is_blocking_but_what_was_decompressed_is_scanned() -> None:
    import random

    noise = random.Random(0).randbytes(600_000)  # noqa: S311 - incompressible: several blocks, the payload in the first
    data = zst(pickle.dumps([_Payload(), noise]), write_content_size=False)
    found = rules(data[: len(data) - 1000])
    assert "SL002" in found and "truncated" in found["SL002"]
    assert "SL101" in found  # the payload sat in a block that was complete


@pytest.mark.parametrize("tail", [b"garbage!", b"ga"])
def test_bytes_after_the_last_frame_are_reported(tail: bytes) -> None:
    found = rules(zst(GOOD) + tail)
    assert "SL108" in found and "SL002" not in found


@pytest.mark.parametrize("data", [
    b"\x28\xb5\x2f\xfd",                                        # magic only
    b"\x28\xb5\x2f\xfd\x08\x00",                                # reserved bit set
    b"\x28\xb5\x2f\xfd\x20\x05" + b"\x07\x00\x00",              # reserved block type
    b"\x50\x2a\x4d\x18\xff\xff\xff\x7f",                        # skippable frame longer than the data
])
def test_malformed_headers_fail_closed(data: bytes) -> None:
    result = safeload.scan(data)
    assert not result.is_safe()
    assert "SL002" in {f.rule_id for f in result.findings}


def test_size_and_ratio_caps_apply_as_for_other_codecs() -> None:
    bomb = zst(b"\0" * (80 << 20))  # 80 MiB of zeros: a few KiB compressed
    assert len(bomb) < 100_000
    small = Policy(limits=Limits(max_decompressed_bytes=1 << 20))
    assert "SL016" in rules(bomb, small)
    assert "SL017" in rules(bomb)  # ratio far above 2000:1 once past the 64 MiB floor


def test_a_flood_of_empty_blocks_is_bounded() -> None:
    # a frame of millions of empty raw blocks decompresses to nothing: the walk is capped, never a hang
    header = b"\x28\xb5\x2f\xfd\x00\x00"  # window descriptor, no content size, no checksum
    empty_raw = (0).to_bytes(3, "little")
    data = header + empty_raw * 300_000 + (1).to_bytes(3, "little")
    small = Policy(limits=Limits(max_decompressed_bytes=1 << 20))
    assert "SL016" in rules(data, small)


def test_every_gzip_member_is_scanned_as_gzip_file_reads_them() -> None:
    """gzip.GzipFile (pandas, gzip.open) reads on across members: an empty first member hid the second one."""
    import gzip

    data = gzip.compress(b"") + gzip.compress(EVIL)
    result = safeload.scan(data)
    assert "SL101" in {f.rule_id for f in result.findings}
    assert not result.is_safe("high")
    assert "SL101" in rules(gzip.compress(GOOD[:-1]) + gzip.compress(b"0" + EVIL))
