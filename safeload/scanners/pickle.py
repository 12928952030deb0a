"""Pickle scanning: the registry entry point and the engine's public names for the other scanners.

The engine itself lives in ``safeload/engine/`` (see ``docs/engine.md``). Container scanners (torch, joblib,
numpy, zip) use these names; they keep their signatures.
"""

from __future__ import annotations

from safeload._context import ScanContext
from safeload._source import engine_input
from safeload.engine import walker as _walker
from safeload.engine.semantics import BUILD_HOOKS, BuildHook
from safeload.engine.values import BigBytes, Call, Global, Opaque, ParseError, StreamResult
from safeload.engine.walker import TORCH_LEGACY_MAGIC, PickleWalker, scan_pickle, walk_stream

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["BUILD_HOOKS", "TORCH_LEGACY_MAGIC", "BigBytes", "BuildHook", "Call", "Global", "Opaque", "ParseError",
           "PickleWalker", "StreamResult", "scan_pickle", "scan_pickle_buffer", "walk_stream"]


def scan_pickle_buffer(data: Any, ctx: ScanContext) -> None:
    """Registry entry point for buffers sniffed as pickle (a remote source hands the engine its map)."""
    _walker.scan_pickle_buffer(engine_input(data), ctx)
