"""Run a buffer through both pickle engines (pure-Python reference and native) and describe any difference.

Used by ``tests/test_native_differential.py`` (fuzz corpus, hypothesis streams, every buffer the test suite
scanned) and by the atheris harness (``fuzz_scan.py native``). A difference is any change in the findings
(rule, severity, subject, member, offset, count, message) or in the stream results (start, end, complete,
protocol, opcodes, persistent ids, globals seen, the value's structure).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

import safeload
from safeload._context import ScanContext
from safeload.engine.values import BigBytes, Call, Global, Opaque, PlainList
from safeload.engine.walker import scan_pickle
from safeload.policy import Policy


@contextlib.contextmanager
def engine(name: str) -> Iterator[None]:
    old = os.environ.get("SAFELOAD_ENGINE")
    os.environ["SAFELOAD_ENGINE"] = name
    try:
        yield
    finally:
        if old is None:
            del os.environ["SAFELOAD_ENGINE"]
        else:
            os.environ["SAFELOAD_ENGINE"] = old


@contextlib.contextmanager
def eager_semantics() -> Iterator[None]:
    """Walkers set up the semantics (and the catalogue) before the first opcode, as before issue 15's lazy switch
    (``StreamWalker._semantic``): the reference the lazy walker is compared with."""
    from safeload.engine import walker as walker_module

    original = walker_module.StreamWalker.__init__

    def eager_init(self: Any, data: Any, ctx: Any) -> None:
        original(self, data, ctx)
        self._semantic()

    walker_module.StreamWalker.__init__ = eager_init  # type: ignore[method-assign]
    try:
        yield
    finally:
        walker_module.StreamWalker.__init__ = original  # type: ignore[method-assign]


def norm(value: Any, depth: int = 0, budget: list[int] | None = None) -> Any:
    """A comparable, bounded structure of a symbolic value (records by their identifying fields)."""
    if budget is None:
        budget = [20000]
    budget[0] -= 1
    if depth > 40 or budget[0] < 0:
        return "..."
    kind = type(value)
    if kind is PlainList:  # the native engine's stand-in for a list of plain scalars in BUILD state
        value = value.tolist()
        kind = list
    if kind is Global:
        return ("G", value.full, value.offset)
    if kind is Call:
        return ("C", value.func_name, value.offset)
    if kind is Opaque:
        return ("O", value.what, value.danger)
    if kind is BigBytes:
        return ("B", value.start, value.length)
    if kind in (list, tuple):
        return (kind.__name__, tuple(norm(v, depth + 1, budget) for v in value[:200]), len(value))
    if kind is dict:
        return ("dict", tuple((norm(k, depth + 1, budget), norm(v, depth + 1, budget))
                              for k, v in list(value.items())[:200]), len(value))
    if kind in (set, frozenset):
        return (kind.__name__, tuple(sorted(repr(norm(v, depth + 1, budget)) for v in list(value)[:200])),
                len(value))
    if kind is float and value != value:  # noqa: PLR0124 - NaN
        return ("float", "nan")
    return (kind.__name__, value)


def findings_of(result: safeload.ScanResult) -> list[tuple[Any, ...]]:
    return sorted((f.rule_id, int(f.severity), f.subject or "", f.location.member or "",
                   -1 if f.location.offset is None else f.location.offset, f.count, f.message)
                  for f in result.findings)


def streams_of(data: bytes) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    ctx = ScanContext(Policy(), "<diff>")
    results = scan_pickle(data, ctx)
    streams = [(r.start, r.end, r.complete, r.protocol, r.opcodes, norm(r.persistent_ids),
                tuple(sorted(r.globals_seen)), norm(r.value)) for r in results]
    return streams, findings_of(ctx.result())


def digest(data: bytes | bytearray) -> bytes:
    """The key :data:`RECORDED` and :data:`COMPARED` use for a buffer."""
    import hashlib

    return hashlib.blake2b(data, digest_size=16).digest()


#: Digests of the buffers ``test_native_differential.assert_same`` compared in full during this session (no
#: fixture but the autouse ones): ``test_suite_corpus`` skips them, replaying one would run the same comparison
#: on the same bytes again.
COMPARED: set[bytes] = set()


def differences(data: bytes, *, streams: bool = True) -> list[str]:
    """What differs between the two engines on ``data`` (empty when they agree), and between the native engine
    with the semantics set up at the first semantic step (the default) and before the first opcode."""
    out: list[str] = []
    runs: dict[str, Any] = {}
    for name in ("python", "native", "eager"):
        with engine("native" if name == "eager" else name), \
                eager_semantics() if name == "eager" else contextlib.nullcontext():
            scanned = safeload.scan(data)
            walked = streams_of(data) if streams else None
        runs[name] = (findings_of(scanned), scanned.engine, walked)
    if runs["eager"] != runs["native"]:
        out.append(f"lazy semantics differ from eager ones: {str(runs['native'])[:600]} vs {str(runs['eager'])[:600]}")
    py, nat = runs["python"], runs["native"]
    if nat[1] not in ("native", ""):
        out.append(f"native run reported engine {nat[1]!r}")
    if py[0] != nat[0]:
        only_py = [f for f in py[0] if f not in nat[0]]
        only_nat = [f for f in nat[0] if f not in py[0]]
        out.append(f"scan findings differ: python only {only_py[:5]}, native only {only_nat[:5]}")
    if streams and py[2] != nat[2]:
        if py[2][0] != nat[2][0]:
            for i, (a, b) in enumerate(zip(py[2][0], nat[2][0], strict=False)):
                if a != b:
                    out.append(f"stream {i} differs: python {str(a)[:600]} native {str(b)[:600]}")
                    break
            else:
                out.append(f"stream counts differ: {len(py[2][0])} vs {len(nat[2][0])}")
        if py[2][1] != nat[2][1]:
            only_py = [f for f in py[2][1] if f not in nat[2][1]]
            only_nat = [f for f in nat[2][1] if f not in py[2][1]]
            out.append(f"scan_pickle findings differ: python only {only_py[:5]}, native only {only_nat[:5]}")
    return out


# -- recording every pickle buffer the test suite walks (tests/conftest.py installs this) -----------------
RECORDED: dict[bytes, bytes] = {}
#: Folders of saved buffers ``test_suite_corpus`` replays too: ``SAFELOAD_NATIVE_CORPUS`` (a saved corpus) and
#: ``SAFELOAD_SUITE_CORPUS`` (where each process of this run saves its buffers at its end, see
#: :func:`save_uncompared`). Read when conftest imports this module: ``conftest.clean_environ`` strips every
#: SAFELOAD_* variable before each test runs.
SUITE_CORPUS = os.environ.get("SAFELOAD_SUITE_CORPUS", "")
SAVED_CORPORA = [folder for folder in (os.environ.get("SAFELOAD_NATIVE_CORPUS", ""), SUITE_CORPUS) if folder]
_RECORD_LIMITS = {"each": 4 << 20, "total": 96 << 20}
_recorded_bytes = [0]


def install_recorder() -> None:
    """Keep a copy of every buffer a :class:`StreamWalker` (or :class:`PickleWalker`) is built on (deduplicated, size-capped), so that
    ``test_native_differential.py::test_suite_corpus`` can replay them through both engines at the end of the
    run. ``SAFELOAD_RECORD_CORPUS=DIR`` also writes them to DIR (replay later with ``SAFELOAD_NATIVE_CORPUS``)."""
    from safeload.engine import walker as walker_module

    folder = os.environ.get("SAFELOAD_RECORD_CORPUS")
    original = walker_module.StreamWalker.__init__
    if getattr(original, "_records", False):
        return

    def recording_init(self: Any, data: Any, ctx: Any) -> None:
        original(self, data, ctx)
        try:
            size = len(self.data)
            if size > _RECORD_LIMITS["each"] or _recorded_bytes[0] + size > _RECORD_LIMITS["total"]:
                return
            raw = bytes(self.data)
        except (TypeError, ValueError):  # a closed mmap: nothing to record
            return
        key = digest(raw)
        if key in RECORDED:
            return
        RECORDED[key] = raw
        _recorded_bytes[0] += size
        if folder:
            os.makedirs(folder, exist_ok=True)
            with open(os.path.join(folder, key.hex() + ".pkl"), "wb") as handle:
                handle.write(raw)

    recording_init._records = True  # type: ignore[attr-defined]
    walker_module.StreamWalker.__init__ = recording_init  # type: ignore[method-assign]


def save_uncompared(folder: str) -> int:
    """Write the recorded buffers that no ``assert_same`` compared in this process to ``folder`` (one file per
    buffer, named by its digest, so processes that recorded the same bytes write the same file): how a test run
    split over pytest-xdist workers hands every buffer to the one replay after it (``.ci/run``). Returns how many
    were written."""
    os.makedirs(folder, exist_ok=True)
    written = 0
    for key, raw in RECORDED.items():
        if key in COMPARED:
            continue
        final = os.path.join(folder, key.hex() + ".pkl")
        partial = f"{final}.{os.getpid()}.part"  # never a half-written .pkl for a concurrent reader
        with open(partial, "wb") as handle:
            handle.write(raw)
        os.replace(partial, final)
        written += 1
    return written
