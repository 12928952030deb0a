"""Pickle scanning: the registry entry point and the engine's public names for the other scanners.

The engine itself lives in ``safeload/engine/`` (see ``docs/engine.md``). Container scanners (torch, joblib,
numpy, zip) use these names; they keep their signatures.
"""

from __future__ import annotations

from safeload.engine.semantics import BUILD_HOOKS, BuildHook
from safeload.engine.values import BigBytes, Call, Global, Opaque, ParseError, StreamResult
from safeload.engine.walker import TORCH_LEGACY_MAGIC, PickleWalker, scan_pickle, scan_pickle_buffer, walk_stream

__all__ = ["BUILD_HOOKS", "TORCH_LEGACY_MAGIC", "BigBytes", "BuildHook", "Call", "Global", "Opaque", "ParseError",
           "PickleWalker", "StreamResult", "scan_pickle", "scan_pickle_buffer", "walk_stream"]
