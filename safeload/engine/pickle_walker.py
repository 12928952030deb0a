"""The pickle walker with its semantics: :class:`~safeload.engine.walker.StreamWalker` (the opcode loop) with
``Semantics`` (what the load does, as facts), deciding every name a stream used when the stream ends.

A :class:`StreamWalker` becomes one of these at its first semantic step (``StreamWalker._semantic``); container
scanners that need the semantics from the start (hooks, subclasses) create one directly.
"""

from __future__ import annotations

from safeload.catalog.decide import decide_names
from safeload.engine.semantics import Semantics
from safeload.engine.walker import StreamWalker

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from safeload._context import ScanContext
    from safeload.engine.values import StreamResult

__all__ = ["PickleWalker"]


class PickleWalker(Semantics, StreamWalker):
    """Walks pickle streams in ``data`` and reports into ``ctx``. One walker per buffer."""

    def __init__(self, data: bytes | bytearray | Any, ctx: ScanContext) -> None:
        super().__init__(data, ctx)
        self._init_semantics()

    def _finish_stream(self, res: StreamResult) -> None:
        """Trace what escaped, decide every name the stream used, and start the next stream afresh."""
        try:
            self._recheck_contracts()
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
