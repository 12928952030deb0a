"""The pickle analysis engine: a streaming symbolic pickle machine (``machine.py``) with load semantics
(``semantics.py``) that records what the load would do with every name, then has the catalogue decide
(``catalog/decide.py``).

Security invariants:
- nothing named in the stream is ever imported, looked up or called (see ``semantics.py``);
- every stream in a buffer is walked; findings made before a parse error are kept and the error is itself a
  blocking finding; each stream's names are decided when the stream ends, however it ends.
"""

from __future__ import annotations

import os

from safeload._context import ScanContext
from safeload._sniff import looks_like_pickle
from safeload.catalog.decide import decide_names
from safeload.engine.machine import Machine
from safeload.engine.semantics import Semantics
from safeload.engine.values import StreamResult

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["TORCH_LEGACY_MAGIC", "PickleWalker", "engine_name", "scan_pickle", "scan_pickle_buffer", "walk_stream"]

TORCH_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
ENGINES = ("native", "python")


def engine_name() -> str:
    """The engine the next walk uses: ``SAFELOAD_ENGINE=python|native`` forces one; by default the native
    opcode loop where it was compiled, else the pure-Python one (the reference)."""
    wanted = os.environ.get("SAFELOAD_ENGINE", "").strip().lower()
    if wanted == "python":
        return "python"
    from safeload.engine import native

    if wanted in ("", "auto"):
        return "native" if native.AVAILABLE else "python"
    if wanted != "native":
        raise ValueError(f"SAFELOAD_ENGINE must be 'python' or 'native', not {wanted!r}")
    if not native.AVAILABLE:
        raise RuntimeError("SAFELOAD_ENGINE=native, but safeload's native engine was not compiled here "
                           "(install a C compiler and reinstall safeload)")
    return "native"


class PickleWalker(Semantics, Machine):
    """Walks pickle streams in ``data`` and reports into ``ctx``. One walker per buffer."""

    def __init__(self, data: bytes | bytearray | Any, ctx: ScanContext) -> None:
        if isinstance(data, memoryview):
            data = data.tobytes()
        self.data = data
        self.ctx = ctx
        self.total_opcodes = 0
        self.frame_end = -1
        self.engine = engine_name()
        if self.engine == "native":
            from safeload.engine import native

            self._native_walk = native.walk
            self._result_type = native.NativeResult
        ctx.engines.add(self.engine)
        self._init_semantics()

    def _finish_stream(self, res: StreamResult) -> None:
        """Trace what escaped, decide every name the stream used, and start the next stream afresh."""
        try:
            # A native result that is plain data is not built for this: the walk could find nothing in it.
            escape_root = getattr(res, "escape_root", None)
            if escape_root is None:
                self._trace_escapes(res.value)
            else:
                from safeload.engine import native
                from safeload.engine.facts import TRACE_IMPL

                token = TRACE_IMPL.set(native.trace_escapes)
                try:
                    self._trace_escapes(escape_root())
                finally:
                    TRACE_IMPL.reset(token)
            decide_names(self.facts, self.ctx)
        finally:
            self.facts.clear()
            self._calls = []
            self._escapes = []
            self._sensitive = False


def walk_stream(data: Any, pos: int, ctx: ScanContext) -> StreamResult:
    """Walk exactly one stream at ``pos`` (for container scanners that know their layout)."""
    return PickleWalker(data, ctx).walk(pos)


def scan_pickle(data: Any, ctx: ScanContext, *, start: int = 0) -> list[StreamResult]:
    """Scan every pickle stream in ``data`` from ``start``: the first, and each later one that follows STOP.

    Bytes after the last stream that do not look like a pickle are reported as trailing data (SL108).
    A first stream whose value is torch's legacy magic number hands over to the torch legacy scanner.
    """
    ctx.note_format("pickle")
    walker = PickleWalker(data, ctx)
    n = len(walker.data)
    results: list[StreamResult] = []
    pos = start
    while pos < n:
        if results and not looks_like_pickle(memoryview(walker.data)[pos:pos + 65536]):
            ctx.add("SL108", f"{n - pos} bytes after the last pickle stream are not a pickle", offset=pos)
            break
        res = walker.walk(pos)
        results.append(res)
        if len(results) == 1 and res.complete and _root_int(res) == TORCH_LEGACY_MAGIC:
            from safeload.scanners import torch as torch_scanner

            torch_scanner.continue_legacy(walker, res, ctx)
            break
        if not res.complete or res.end <= pos:
            break
        pos = res.end
    if results:
        first = results[0]
        ctx.add("SL100", f"{len(results)} pickle stream(s), protocol {first.protocol}, "
                f"{walker.total_opcodes} opcodes", offset=start,
                details={"streams": len(results), "protocol": first.protocol, "opcodes": walker.total_opcodes})
    return results


def scan_pickle_buffer(data: Any, ctx: ScanContext) -> None:
    """Registry entry point for buffers sniffed as pickle."""
    scan_pickle(data, ctx)


def _root_int(res: StreamResult) -> int | None:
    """The stream's value when it is an int (a native result answers without building a container)."""
    root_int = getattr(res, "root_int", None)
    if root_int is not None:
        found: int | None = root_int()
        return found
    return res.value if type(res.value) is int else None
