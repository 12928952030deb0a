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

from safeload._sniff import looks_like_pickle
from safeload.engine.machine import Machine
from safeload.severity import Severity

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from safeload._context import ScanContext
    from safeload.engine.pickle_walker import PickleWalker
    from safeload.engine.values import StreamResult
    from safeload.severity import Severity

__all__ = ["TORCH_LEGACY_MAGIC", "PickleWalker", "StreamWalker", "engine_name", "scan_pickle", "scan_pickle_buffer",
           "walk_stream"]

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


def __getattr__(name: str) -> Any:
    if name == "PickleWalker":  # defined with the semantics, which load with the first name a stream uses
        from safeload.engine import pickle_walker

        return pickle_walker.PickleWalker
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class StreamWalker(Machine):
    """Walks pickle streams in ``data`` and reports into ``ctx``; becomes a :class:`PickleWalker` (the same
    object, its class switched) at the first semantic step, so a stream of plain data needs neither the
    semantics nor the catalogue (issue 15: the first load's fixed cost).

    Until then nothing the semantics record has happened: the opcode loop calls the semantic methods for every
    name, call, BUILD, mutation of an object and hashed object (``engine/machine.py``, ``engine/native.py``),
    and each of those below switches first, then runs the semantics' own method. What it does without them is
    what :class:`PickleWalker` does with empty facts: structural findings (``_flag``) go to the context as the
    semantics send them, and a stream's end has no name to decide and no escape that could be traced (the
    walk only records names and objects).
    """

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

    def _semantic(self) -> PickleWalker:
        """This walker as a :class:`PickleWalker` (switched once: the semantics start with empty facts). The
        native loop notices the switch and calls the semantics directly from then on (``walk_bound``)."""
        walker: Any = self
        if type(self) is StreamWalker:
            from safeload.engine.pickle_walker import PickleWalker

            walker.__class__ = PickleWalker
            walker._init_semantics()
        return walker  # type: ignore[no-any-return]

    def __getattr__(self, name: str) -> Any:
        # Anything only the semantics have (their facts, a helper a container scanner reaches for) switches.
        if name.startswith("__") or type(self) is not StreamWalker:  # switched already: really missing
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        return getattr(self._semantic(), name)

    def _flag(self, rule_id: str, message: str, *, severity: Severity | None = None, subject: str | None = None,
              offset: int | None = None, trustable: bool = False, **details: Any) -> None:
        # ``Semantics._flag``: the same call into the context
        self.ctx.add(rule_id, message, severity=severity, subject=subject, offset=offset, trustable=trustable,
                     details=details or None)

    def _push_global(self, *args: Any, **kwargs: Any) -> Any:
        walker = self._semantic()
        return walker._push_global(*args, **kwargs)

    def _call(self, *args: Any, **kwargs: Any) -> Any:
        walker = self._semantic()
        return walker._call(*args, **kwargs)

    def _build(self, *args: Any, **kwargs: Any) -> Any:
        walker = self._semantic()
        return walker._build(*args, **kwargs)

    def _mutate(self, *args: Any, **kwargs: Any) -> Any:
        walker = self._semantic()
        return walker._mutate(*args, **kwargs)

    def _hash_keys(self, *args: Any, **kwargs: Any) -> Any:
        walker = self._semantic()
        return walker._hash_keys(*args, **kwargs)

    def _state_summary_ok(self, *args: Any, **kwargs: Any) -> Any:
        walker = self._semantic()
        return walker._state_summary_ok(*args, **kwargs)

    def _finish_stream(self, res: StreamResult) -> None:
        """No semantic step ran in this stream: no name to decide, nothing an escape walk could find. The root is
        still read as :class:`PickleWalker` reads it (a native result that is not plain data is built)."""
        escape_root = getattr(res, "escape_root", None)
        if escape_root is not None:
            escape_root()


def walk_stream(data: Any, pos: int, ctx: ScanContext) -> StreamResult:
    """Walk exactly one stream at ``pos`` (for container scanners that know their layout)."""
    return StreamWalker(data, ctx).walk(pos)


def scan_pickle(data: Any, ctx: ScanContext, *, start: int = 0) -> list[StreamResult]:
    """Scan every pickle stream in ``data`` from ``start``: the first, and each later one that follows STOP.

    Bytes after the last stream that do not look like a pickle are reported as trailing data (SL108).
    A first stream whose value is torch's legacy magic number hands over to the torch legacy scanner.
    """
    ctx.note_format("pickle")
    walker: StreamWalker = StreamWalker(data, ctx)
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
                f"{walker.total_opcodes} opcodes", offset=start, severity=Severity.INFO,
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
