"""joblib pickles: raw array data written inline after ``NumpyArrayWrapper``, and the pre-0.10 formats.

``joblib.dump`` pickles a ``NumpyArrayWrapper`` (subclass, shape, order, dtype, allow_mmap and, since
joblib 1.2, ``numpy_array_alignment_bytes``) in place of each array, commits the pickle frame, and writes
the array right after the wrapper's BUILD: one padding-length byte and that many padding bytes (1.2+),
then ``prod(shape) * itemsize`` raw bytes; or, for object arrays, a whole nested pickle stream. joblib's
unpickler reads that data when it executes the BUILD, then resumes the outer pickle. A genops-style
scanner stops at the raw bytes, so a payload after the first array went unseen (THREATS B15).

Security invariants:
- the BUILD hook follows joblib's own reader: it derives the byte length from the pickled shape and dtype
  (never from a guess), skips it without copying it, and resumes the walk where joblib resumes; a shape,
  dtype or padding attribute whose load-time value is not a literal, a length past the end of the data, or
  a BUILD that is not the last opcode of its frame (joblib reads the array after the frame) is a blocking
  finding (SL002/SL018/SL113), never skipped;
- object arrays are walked as the nested pickle stream joblib unpickles, with plain ``pickle`` BUILD
  semantics (joblib's inner unpickler has no array hook), and the outer walk resumes after it;
- a plain ``pickle.load`` of the same bytes would not skip the raw data: when the skipped region could be
  read as opcodes (no padding byte), it is also walked that way and anything dangerous found is reported;
- pre-0.10 companion files (``NDArrayWrapper``: ``.npy`` loaded with ``allow_pickle=True``;
  ``ZNDArrayWrapper``: a ``ZF`` zlib container) are scanned when the scan knows the main file's path; a
  companion name that leaves the directory, or one that cannot be read, is a blocking finding.
"""

from __future__ import annotations

import contextlib
import math
import os
import stat
from collections.abc import Iterator
from typing import Any

from safeload._context import ScanContext
from safeload._source import require_all, skipped, view_of_file
from safeload.scanners.numpy import DTypeError, PlainWalker, _subclass_check, dtype_info_from_call
from safeload.scanners.pickle import BUILD_HOOKS, Call, PickleWalker
from safeload.severity import Severity

__all__ = ["companion_dir", "register"]

_FIRST_OPCODE = 0x28  # '(' MARK: no pickle opcode has a smaller value


def _attrs(walker: PickleWalker, call: Call, state: Any) -> dict[str, Any] | None:
    """The wrapper's attributes after this BUILD (BUILDs accumulate, as ``__dict__.update`` does)."""
    store: dict[int, tuple[Call, dict[str, Any]]] = walker.__dict__.setdefault("_joblib_wrappers", {})
    entry = store.get(id(call))
    attrs = entry[1] if entry is not None and entry[0] is call else {}
    store[id(call)] = (call, attrs)
    parts: list[Any] = [state[0], state[1]] if isinstance(state, tuple) and len(state) == 2 else [state]
    for part in parts:
        if part is None:
            continue
        if not isinstance(part, dict) or not all(isinstance(k, str) for k in part):
            return None
        attrs.update(part)
    return attrs


def _literal_int(value: Any) -> bool:
    return (isinstance(value, int) and not isinstance(value, bool)) or isinstance(value, bool)


def _array_hook(walker: PickleWalker, call: Call, state: Any, pos: int) -> int:
    """BUILD of ``joblib.numpy_pickle.NumpyArrayWrapper``: skip the inline array, return where pickling resumes."""
    ctx = walker.ctx
    data = walker.data
    n = len(data)
    where = call.func_name or "NumpyArrayWrapper"
    attrs = _attrs(walker, call, state)
    if attrs is None:
        ctx.add("SL002", f"{where} state is not a literal dict: cannot tell how joblib reads the array",
                offset=pos)
        return pos
    frame_end = walker.frame_end
    if frame_end > pos:
        ctx.add("SL113", f"{where} BUILD is not the last opcode of its frame: joblib reads the array after "
                "the frame, a pickle reader inside it", offset=pos)
        return pos
    _subclass_check(walker, attrs.get("subclass"), where)
    shape = attrs.get("shape")
    if not isinstance(shape, tuple) or not all(_literal_int(d) for d in shape):
        ctx.add("SL002", f"{where} shape is not a literal tuple of ints ({shape!r:.60})", offset=pos)
        return pos
    if any(d < 0 for d in shape):
        ctx.add("SL018", f"{where} shape {shape!r:.60} has a negative dimension", offset=pos)
        return n
    try:
        info = dtype_info_from_call(attrs.get("dtype"))
    except DTypeError as exc:
        ctx.add("SL002", f"{where}: {exc}", offset=pos)
        return pos
    count = math.prod(shape)
    if info.hasobject:
        ctx.add("SL301", "joblib object array: a nested pickle stream, scanned", subject="joblib-object-array",
                offset=pos)
        with ctx.inside(f"<joblib object array @{pos}>", nested=True):
            inner = PlainWalker(data, ctx).walk(pos)
        if not inner.complete:
            return n
        return inner.end
    start = pos
    if "numpy_array_alignment_bytes" in attrs and attrs["numpy_array_alignment_bytes"] is not None:
        if not _literal_int(attrs["numpy_array_alignment_bytes"]):
            ctx.add("SL002", f"{where} alignment is not a literal: cannot tell whether joblib reads padding",
                    offset=pos)
            return pos
        if pos >= n:
            ctx.add("SL018", f"{where}: the data ends before the array's padding byte", offset=pos)
            return n
        pos += 1 + data[pos]
    nbytes = count * info.itemsize
    if pos + nbytes > n:
        ctx.add("SL018", f"{where}: array of {shape!r:.60} x {info.itemsize} bytes ({nbytes}) runs past the end "
                f"of the data ({max(0, n - pos)} bytes left)", offset=start)
        return n
    if not walker.__dict__.get("_joblib_plain_checked"):
        # pickle.load stops at the first raw region unless its first byte (joblib's padding length, 1-16,
        # or the array data when there is no padding) reads as an opcode: only the first array of a buffer
        # decides whether a plain reading goes further.
        walker.__dict__["_joblib_plain_checked"] = True
        if data[start] >= _FIRST_OPCODE:
            _plain_reading(walker)
    ctx.add("SL301", "joblib inline numpy arrays (skipped by length, not read)", subject="joblib-inline-array",
            offset=start)
    skipped(data, pos, pos + nbytes)
    return pos + nbytes


def _plain_reading(walker: PickleWalker) -> None:
    """Report what ``pickle.load`` would find reading this buffer, raw array bytes included, as opcodes.

    The plain walk starts at the beginning of the buffer, so it has the stack and memo ``pickle.load``
    would have when it reaches the raw bytes (a region that starts with POP is still followed).
    """
    ctx = walker.ctx
    scratch = ScanContext(ctx.policy, ctx.source, ctx.path)
    require_all(walker.data)  # this reading goes through the raw array bytes: a remote source fetches them all
    PlainWalker(walker.data, scratch).walk(0)
    for finding in scratch.findings:
        if finding.rule_id in {"SL002", "SL100", "SL108", "SL113", "SL114"} or finding.rule_id.startswith("SL01"):
            continue
        if finding.severity < Severity.MEDIUM:
            continue
        ctx.add(finding.rule_id, f"if read without joblib (pickle.load): {finding.message}",
                severity=finding.severity, subject=finding.subject, offset=finding.location.offset,
                trustable=finding.trustable)


def companion_dir(ctx: ScanContext) -> str | None:
    """Directory of the file being scanned, when the scan reads a file on disk (not an archive member)."""
    if ctx.path is None:
        return None
    members = [m for m in (ctx.member.split("!") if ctx.member else []) if not m.startswith("<decompressed")]
    base = ctx.path
    try:
        if os.path.isdir(base):
            if len(members) != 1:
                return None
            return os.path.dirname(os.path.join(base, members[0]))
    except OSError:
        return None
    if members:
        return None
    return os.path.dirname(os.path.abspath(base))


@contextlib.contextmanager
def _companion(walker: PickleWalker, attrs: dict[str, Any], where: str, pos: int) -> Iterator[tuple[str, Any] | None]:
    """Map the companion file named by the wrapper (no copy); yield None, after reporting why, when it
    cannot be scanned."""
    ctx = walker.ctx
    name = attrs.get("filename")
    if not isinstance(name, str) or not name:
        ctx.add("SL002", f"{where} without a literal companion file name", offset=pos)
        yield None
        return
    if name != os.path.basename(name) or name in (".", "..") or "\\" in name or "\0" in name:
        ctx.add("SL102", f"{where} makes joblib load the file {name!r}, outside the pickle's directory",
                severity=Severity.HIGH, subject=f"{where}(filename={name!r})", offset=pos)
        yield None
        return
    folder = companion_dir(ctx)
    if folder is None:
        ctx.add("SL007", f"{where} loads the companion file {name!r}, which cannot be scanned here "
                "(scan or load the main file by path)", subject=name, offset=pos)
        yield None
        return
    path = os.path.join(folder, name)
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            ctx.add("SL007", f"companion file {name!r} is not a regular file", subject=name, offset=pos)
            yield None
            return
        with open(path, "rb") as handle, view_of_file(handle) as view:
            ctx.add("SL019", f"{where} makes joblib read the companion file {name!r} (scanned)", subject=name,
                    offset=pos)
            yield name, view.data if view.length else b""
    except OSError as exc:
        ctx.add("SL007", f"companion file {name!r} cannot be read: {exc.strerror or exc}", subject=name,
                offset=pos)
        yield None


def _nd_hook(walker: PickleWalker, call: Call, state: Any, pos: int) -> int:
    """BUILD of the pre-0.10 ``NDArrayWrapper``: joblib ``numpy.load``s a companion file, allow_pickle=True."""
    from safeload.scan import scan_buffer

    where = call.func_name or "NDArrayWrapper"
    attrs = _attrs(walker, call, state)
    if attrs is None:
        walker.ctx.add("SL002", f"{where} state is not a literal dict", offset=pos)
        return pos
    _subclass_check(walker, attrs.get("subclass"), where)
    with _companion(walker, attrs, where, pos) as found:
        if found is not None:
            name, content = found
            with walker.ctx.inside(name, nested=True):
                scan_buffer(content, walker.ctx, name=name)
    return pos


def _znd_hook(walker: PickleWalker, call: Call, state: Any, pos: int) -> int:
    """BUILD of the pre-0.10 ``ZNDArrayWrapper``: raw array bytes in a ``ZF`` zlib companion file."""
    from safeload.scanners.compressed import decompress

    where = call.func_name or "ZNDArrayWrapper"
    ctx = walker.ctx
    attrs = _attrs(walker, call, state)
    if attrs is None:
        ctx.add("SL002", f"{where} state is not a literal dict", offset=pos)
        return pos
    init_args = attrs.get("init_args")
    if isinstance(init_args, tuple) and init_args:
        _subclass_check(walker, init_args[0], where)
    with _companion(walker, attrs, where, pos) as found:
        if found is None:
            return pos
        name, content = found
        with ctx.inside(name):
            if bytes(content[:2]) != b"ZF":
                ctx.add("SL002", f"companion file {name!r} is not a joblib ZF container")
                return pos
            with decompress(content, "zf", ctx.limits, on_limit=ctx.add_limit) as out:
                if out.error is not None and not out.limited:
                    ctx.add("SL002", f"companion file {name!r}: {out.error}")
    return pos


def register() -> None:
    """Install the BUILD hooks (idempotent). Importing this module does it."""
    for name in ("joblib.numpy_pickle.NumpyArrayWrapper",):
        BUILD_HOOKS[name] = _array_hook
    for name in ("joblib.numpy_pickle.NDArrayWrapper", "joblib.numpy_pickle_compat.NDArrayWrapper"):
        BUILD_HOOKS[name] = _nd_hook
    for name in ("joblib.numpy_pickle.ZNDArrayWrapper", "joblib.numpy_pickle_compat.ZNDArrayWrapper"):
        BUILD_HOOKS[name] = _znd_hook


register()
