"""PyTorch container scanner (legacy stacked pickles, tar). Placeholder until the torch scanner lands."""

from __future__ import annotations

from typing import Any

from safeload._context import ScanContext


def continue_legacy(walker: Any, first: Any, ctx: ScanContext) -> None:
    ctx.add("SL002", "torch legacy format: storages not yet understood by this build", offset=first.end)


def scan_tar(data: Any, ctx: ScanContext) -> None:
    ctx.add("SL002", "tar archives are not yet scanned by this build")
