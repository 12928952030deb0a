"""``safeload.joblib_load``: ``joblib.load`` after a static scan of the same bytes.

Security invariants:
- a path is opened exactly once; the scan maps that handle and joblib unpickles from that same handle, so
  what runs is what was scanned. A compressed file (as joblib's own detection sees it) is decompressed once,
  capped, into a temporary file; that output is scanned and that same output is unpickled. ``joblib.load(path)``
  itself opens the path, so for paths safeload calls the two steps ``joblib.load`` is made of
  (``_validate_fileobject_and_memmap`` then ``_unpickle``) on its own handle with the same file name;
- the file name still reaches joblib for what joblib reads by name: ``mmap_mode`` memory maps (numeric
  array data only: joblib never maps object arrays, and numpy refuses to) and pre-0.10 companion files
  (scanned by path too). Memmaps therefore keep their real ``filename``, which ``joblib.Parallel`` relies on;
- a file object is scanned from where joblib will read it (joblib rewinds objects without ``peek`` to 0)
  and handed to the real ``joblib.load`` unchanged; a non-seekable stream is read once and loaded from
  that copy;
- on refusal ``UnsafePickleError`` is raised before joblib runs; ``joblib.load`` is never called through
  its patched name (the import hook wraps it), always through :func:`real_loader`.
"""

from __future__ import annotations

import contextlib
import importlib.util
import inspect
import io
import os
import warnings
from collections.abc import Iterable
from typing import IO, Any

from safeload._context import LimitExceeded, ScanContext
from safeload._sniff import sniff
from safeload._source import view_of_file
from safeload.exceptions import UnsafePickleError
from safeload.integrity.check import plan_for
from safeload.loaders._common import (
    Certificates,
    Integrity,
    PathArg,
    audit,
    decide_result,
    guard_buffer,
    integrity_options,
    policy_for,
    real_loader,
)
from safeload.policy import Policy
from safeload.scan import scan_other_readings
from safeload.scanners.compressed import decompress, drop_pages, scan_decompressed
from safeload.severity import Severity

__all__ = ["joblib_load", "safe_joblib_load"]

Threshold = Severity | str | None
Trusted = Iterable[str] | str | None

# joblib compressor name -> safeload.scanners.compressed method (same stream formats, same readers).
_METHODS = {"zlib": "zlib", "gzip": "gzip", "bz2": "bz2", "lzma": "lzma", "xz": "xz", "lz4": "lz4"}


def _native_order(mmap_mode: str | None, ensure_native_byte_order: Any) -> Any:
    """joblib's own argument check, done before anything is read."""
    if ensure_native_byte_order == "auto":
        ensure_native_byte_order = mmap_mode is None
    if ensure_native_byte_order and mmap_mode is not None:
        raise ValueError(
            "Native byte ordering can only be enforced if 'mmap_mode' parameter "
            f"is set to None, but got 'mmap_mode={mmap_mode}' instead."
        )
    return ensure_native_byte_order


def _load_compat(filename: str, handle: IO[bytes]) -> Any:
    """``joblib.numpy_pickle_compat.load_compatibility`` on the already-open, scanned handle."""
    unpickler_cls = real_loader("joblib.numpy_pickle_compat", "ZipNumpyUnpickler")
    unpickler = unpickler_cls(filename, file_handle=handle)
    try:
        return unpickler.load()
    except UnicodeDecodeError as exc:
        new_exc = ValueError(
            "You may be trying to read with python 3 a joblib pickle generated with python 2. "
            "This feature is not supported by joblib."
        )
        raise new_exc from exc
    finally:
        inner = getattr(unpickler, "file_handle", None)
        if inner is not None:
            inner.close()


def _installed(name: str) -> bool:
    """Whether ``name`` can be imported from an installed location (safeload/_stdlib_imports.py raises for an
    optional package found only in the working directory)."""
    try:
        return importlib.util.find_spec(name) is not None
    except ImportError:
        return False


def _joblib_compression(head: bytes) -> str | None:
    """The compressor joblib's own detection picks for a file starting with ``head``, when safeload can
    decompress it the same way (None: not compressed, joblib's old ZF container, or an unknown compressor)."""
    if head.startswith(b"ZF"):
        return None
    compressors = real_loader("joblib.compressor", "_COMPRESSORS")
    for name, wrapper in compressors.items():  # joblib returns the first prefix that matches, in this order
        if head.startswith(getattr(wrapper, "prefix", b"\0" * 64)):
            if name == "lz4" and not _installed("lz4"):
                return None
            return name if name in _METHODS else None
    return None


def _unpickle_call(fobj: Any, ensure_native_byte_order: Any, filename: str, mmap_mode: str | None) -> Any:
    unpickle = real_loader("joblib.numpy_pickle", "_unpickle")
    if "ensure_native_byte_order" in inspect.signature(unpickle).parameters:
        return unpickle(fobj, ensure_native_byte_order=ensure_native_byte_order, filename=filename,
                        mmap_mode=mmap_mode)
    return unpickle(fobj, filename=filename, mmap_mode=mmap_mode)  # joblib 1.2


def _load_compressed(data: Any, method: str, *, label: str, path: str | None, filename: str,
                     mmap_mode: str | None, ensure_native_byte_order: Any, policy: Policy,
                     integrity: Integrity | None = None) -> Any:
    """Decompress once (capped, to a temporary file), scan that output, and unpickle *that* output.

    joblib itself would decompress the same stream again while unpickling; loading the scanned copy is
    faster and guarantees the bytes that run are the bytes that were scanned. joblib's behaviour is kept:
    ``mmap_mode`` is ignored with joblib's warning, and the file name reaches the unpickler as before.
    """
    ctx = ScanContext(policy, label, path=path)
    ctx.bytes_scanned += len(data)
    ctx.note_format(f"{method}-compressed")
    plan = plan_for(integrity, path=path, source=label, policy=policy)
    # The digest is of the compressed bytes (the file), hashed while they are decompressed and scanned.
    with plan.begin(data, allow_cache=False) as session, \
            decompress(data, method, policy.limits, on_limit=ctx.add_limit) as out:
        try:
            scan_decompressed(out, len(data), ctx)
            # What other loaders read in the same bytes (a zip or tar behind the stream): as safeload.scan does.
            scan_other_readings(data, sniff(data), ctx)
        except LimitExceeded as exc:
            ctx.add_limit(exc)
        result, info = session.finish(ctx.result())
        if out.file is None and info.failure is None:  # nothing to load: refused, as before any integrity check
            audit(result, policy, "joblib.load", False, info)
            raise UnsafePickleError(result, policy.threshold, "joblib.load")
        decide_result(result, policy, "joblib.load", UnsafePickleError, info)
        drop_pages(out.data)  # scanned: let the unpickler's objects, not our mapping, use the memory
        if mmap_mode is not None:
            warnings.warn(f'mmap_mode "{mmap_mode}" is not compatible with compressed file {filename}. '
                          f'"{mmap_mode}" flag will be ignored.', stacklevel=4)
        return _unpickle_call(out.file, ensure_native_byte_order, filename, None)


def _load_path(filename: str, mmap_mode: str | None, ensure_native_byte_order: Any, policy: Policy,
               integrity: Integrity) -> Any:
    validate = real_loader("joblib.numpy_pickle", "_validate_fileobject_and_memmap")
    with open(filename, "rb") as handle:
        with view_of_file(handle) as view:
            method = _joblib_compression(bytes(view.data[:16]))
            if method is not None:
                return _load_compressed(view.data, _METHODS[method], label=filename, path=filename,
                                        filename=filename, mmap_mode=mmap_mode,
                                        ensure_native_byte_order=ensure_native_byte_order, policy=policy,
                                        integrity=integrity)
            guard_buffer(view.data, filename, policy, "joblib.load", path=filename, name=filename,
                         integrity=integrity)
        handle.seek(0)
        with validate(handle, filename, mmap_mode) as (fobj, validated_mmap_mode):
            if isinstance(fobj, str):
                # joblib < 0.10 ZF container: joblib would re-open the path; read the scanned handle instead.
                return _load_compat(filename, handle)
            return _unpickle_call(fobj, ensure_native_byte_order, filename, validated_mmap_mode)


def _load_file(fobj: IO[bytes], mmap_mode: str | None, ensure_native_byte_order: Any, policy: Policy,
               integrity: Integrity) -> Any:
    load = real_loader("joblib", "load")
    kwargs: dict[str, Any] = {"mmap_mode": mmap_mode}
    if "ensure_native_byte_order" in inspect.signature(load).parameters:
        kwargs["ensure_native_byte_order"] = ensure_native_byte_order
    if not hasattr(fobj, "peek"):
        # joblib reads the magic bytes and then seeks to 0: it unpickles from the start of the object.
        with contextlib.suppress(OSError, AttributeError, ValueError, io.UnsupportedOperation):
            fobj.seek(0)
    name = getattr(fobj, "name", None)
    label = name if isinstance(name, str) else f"<{type(fobj).__name__}>"
    with view_of_file(fobj) as view:
        method = _joblib_compression(bytes(view.data[:16]))
        if method is not None:
            ensure = _native_order(mmap_mode, ensure_native_byte_order)
            return _load_compressed(view.data, _METHODS[method], label=label, path=None,
                                    filename=name if isinstance(name, str) else "", mmap_mode=mmap_mode,
                                    ensure_native_byte_order=ensure, policy=policy, integrity=integrity)
        guard_buffer(view.data, label, policy, "joblib.load", name=label, integrity=integrity)
        if not view.seekable:
            data = view.data
            return load(io.BytesIO(data), **kwargs)
    return load(fobj, **kwargs)


def joblib_load(filename: str | os.PathLike[str] | IO[bytes], mmap_mode: str | None = None,
                ensure_native_byte_order: Any = "auto", *, threshold: Threshold = None, trusted: Trusted = None,
                policy: Policy | None = None, expected_sha256: str | None = None, signature: PathArg | None = None,
                public_key: PathArg | None = None, certificate: Certificates | None = None,
                integrity: Integrity | None = None) -> Any:
    """``joblib.load`` after a static scan. Same arguments and result; raises ``UnsafePickleError`` instead.

    Args:
        filename: a path or a binary file object, as for ``joblib.load``.
        mmap_mode: ``None``, ``"r+"``, ``"r"``, ``"w+"`` or ``"c"``: passed through (ignored by joblib for
            compressed files and file objects, with joblib's own warning).
        ensure_native_byte_order: as for ``joblib.load``.
        threshold, trusted, policy: safeload's policy for this call (see ``safeload.scan``).
        expected_sha256, signature, public_key, certificate, integrity: integrity checks of the file's bytes
            (``docs/integrity.md``); a failure raises ``IntegrityError`` before joblib runs.

    Example:
        >>> est = safeload.joblib_load("model.joblib")  # doctest: +SKIP
    """
    ensure = _native_order(mmap_mode, ensure_native_byte_order)
    effective = policy_for(threshold, trusted, policy)
    checks = integrity_options(expected_sha256, signature, public_key, certificate, integrity)
    if isinstance(filename, os.PathLike):
        filename = os.fspath(filename)
    if hasattr(filename, "read"):
        return _load_file(filename, mmap_mode, ensure_native_byte_order, effective,  # type: ignore[arg-type]
                          checks)
    if not isinstance(filename, str):
        raise TypeError(f"expected a path or a binary file object, got {type(filename).__name__}")
    return _load_path(filename, mmap_mode, ensure, effective, checks)


safe_joblib_load = joblib_load
