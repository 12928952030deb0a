"""Pickle scanning: the registry entry point and the engine's public names for the other scanners.

The engine itself lives in ``safeload/engine/`` (see ``docs/engine.md``). Container scanners (torch, joblib,
numpy, zip) use these names; they keep their signatures.
"""

from __future__ import annotations

from safeload._source import engine_input
from safeload.engine import walker as _walker
from safeload.engine.values import BigBytes, Call, Global, Opaque, ParseError, StreamResult
from safeload.engine.walker import TORCH_LEGACY_MAGIC, scan_pickle, walk_stream

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from safeload._context import ScanContext
    from safeload.engine.pickle_walker import PickleWalker
    from safeload.engine.semantics import BUILD_HOOKS, BuildHook

__all__ = ["BUILD_HOOKS", "TORCH_LEGACY_MAGIC", "BigBytes", "BuildHook", "Call", "Global", "Opaque", "ParseError",
           "PickleWalker", "StreamResult", "scan_pickle", "scan_pickle_buffer", "walk_stream"]


def scan_pickle_buffer(data: Any, ctx: ScanContext) -> None:
    """Registry entry point for buffers sniffed as pickle (a remote source hands the engine its map)."""
    _walker.scan_pickle_buffer(engine_input(data), ctx)


def __getattr__(name: str) -> Any:
    # The semantics load with the first name a stream uses (issue 15), or here, for a scanner that needs them.
    if name == "PickleWalker":
        from safeload.engine import pickle_walker

        return pickle_walker.PickleWalker
    if name in ("BUILD_HOOKS", "BuildHook"):
        from safeload.engine import semantics

        return getattr(semantics, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
