"""THREATS rows that belong to no single format module: C1 (7z wrapper) and D2 (writes into tensors)."""

from __future__ import annotations

import io
import os
import pickle
from pathlib import Path

import pytest
import torch

import safeload
from tests.builders import P
from tests.conftest import Marker


class _Evil:
    def __init__(self, marker: Marker) -> None:
        self.command = marker.shell

    def __reduce__(self) -> tuple[object, ...]:
        return (os.system, (self.command,))


def test_c1_7z_wrapped_checkpoint_is_refused(tmp_path: Path, marker: Marker) -> None:
    # A 7z container (signature + header) around a torch checkpoint with a payload. safeload does not unpack
    # 7z (no loader reads it directly); the file is unrecognised content, which blocks, never "clean".
    inner = io.BytesIO()
    torch.save({"w": torch.ones(2), "x": _Evil(marker)}, inner)
    path = tmp_path / "model.7z"
    path.write_bytes(b"7z\xbc\xaf\x27\x1c\x00\x04" + bytes(24) + inner.getvalue())
    result = safeload.scan(path)
    assert any(f.rule_id == "SL003" for f in result.findings)
    assert not result.is_safe()
    with pytest.raises(safeload.UnsafeModelError):
        safeload.torch_load(path, weights_only=False)
    assert not marker.exists()


def test_d2_setitem_into_a_rebuilt_tensor_is_flagged(marker: Marker) -> None:
    # SETITEM on a tensor returned by _rebuild_tensor_v2 (CVE-2026-24747 shape): flagged and refused.
    base = pickle.dumps(torch.ones(2), protocol=2)
    assert safeload.scan(base).is_safe()
    data = (P(2).stack_global("torch._utils", "_rebuild_tensor_v2").args(0, 0)
            .reduce().int(0).int(7).setitem().stop().done())
    result = safeload.scan(data)
    assert any(f.rule_id == "SL114" and f.severity >= safeload.Severity.MEDIUM for f in result.findings), \
        result.summary("info")
    with pytest.raises(safeload.UnsafeModelError):
        safeload.pickle_loads(data)
    assert not marker.exists()
