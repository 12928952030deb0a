"""``safeload.numpy_load``: ``numpy.load`` after a static scan of the same bytes.

Security invariants:
- a path is opened exactly once and numpy reads that handle (``.npy`` data, ``.npz`` members and pickles);
  the returned ``NpzFile`` owns the handle, exactly as when numpy opens the path itself;
- ``mmap_mode`` on a ``.npy`` path is the one case where numpy needs a file *name*: safeload passes
  ``/proc/self/fd/<fd>`` of the scanned handle (Linux), so the mapping is of the same open file even if the
  path is replaced, then restores the memmap's ``filename`` to the real path (what numpy would have set;
  ``joblib.Parallel`` reopens memmaps by that name). Without ``/proc`` the path itself is used: only numeric
  data is mapped (numpy refuses to map object arrays);
- numeric arrays cost only a header parse; object arrays, ``.npz`` members and pickles are scanned whether
  or not ``allow_pickle`` is set, so a file carrying a payload is refused even when numpy would not run it;
- ``numpy.load`` is called through :func:`real_loader`, never through its (possibly patched) public name.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from safeload._source import view_of_file
from safeload.loaders._common import (
    Certificates,
    Integrity,
    PathArg,
    guard_buffer,
    integrity_options,
    policy_for,
    real_loader,
)
from safeload.policy import Policy
from safeload.severity import Severity

__all__ = ["numpy_load"]

Threshold = Severity | str | None
Trusted = Iterable[str] | str | None

_MAX_HEADER_SIZE = 10000  # numpy.lib.format._MAX_HEADER_SIZE (kept literal so importing us imports no numpy)
_NPY_MAGIC = b"\x93NUMPY"


def _proc_fd_path(handle: IO[bytes]) -> str | None:
    try:
        candidate = f"/proc/self/fd/{handle.fileno()}"
    except (OSError, AttributeError, ValueError, io.UnsupportedOperation):
        return None
    return candidate if os.path.exists(candidate) else None


def numpy_load(file: str | os.PathLike[str] | IO[bytes], mmap_mode: str | None = None, allow_pickle: bool = False,
               fix_imports: bool = True, encoding: str = "ASCII", *, max_header_size: int = _MAX_HEADER_SIZE,
               threshold: Threshold = None, trusted: Trusted = None, policy: Policy | None = None,
               expected_sha256: str | None = None, signature: PathArg | None = None,
               public_key: PathArg | None = None, certificate: Certificates | None = None,
               integrity: Integrity | None = None) -> Any:
    """``numpy.load`` after a static scan. Same arguments and result; raises ``UnsafePickleError`` instead.

    Args:
        file, mmap_mode, allow_pickle, fix_imports, encoding, max_header_size: as for ``numpy.load``.
        threshold, trusted, policy: safeload's policy for this call (see ``safeload.scan``).
        expected_sha256, signature, public_key, certificate, integrity: integrity checks of the file's bytes
            (``docs/integrity.md``); a failure raises ``IntegrityError`` before numpy runs.

    Example:
        >>> arrays = safeload.numpy_load("embeddings.npz")  # doctest: +SKIP
    """
    if encoding not in ("ASCII", "latin1", "bytes"):
        raise ValueError("encoding must be 'ASCII', 'latin1', or 'bytes'")
    effective = policy_for(threshold, trusted, policy)
    checks = integrity_options(expected_sha256, signature, public_key, certificate, integrity)
    load = real_loader("numpy", "load")
    kwargs: dict[str, Any] = {"mmap_mode": mmap_mode, "allow_pickle": allow_pickle, "fix_imports": fix_imports,
                              "encoding": encoding, "max_header_size": max_header_size}
    if hasattr(file, "read"):
        fobj: IO[bytes] = file  # type: ignore[assignment]
        name = getattr(fobj, "name", None)
        label = name if isinstance(name, str) else f"<{type(fobj).__name__}>"
        with view_of_file(fobj) as view:
            guard_buffer(view.data, label, effective, "numpy.load", name=label, integrity=checks)
            if not view.seekable:
                return load(io.BytesIO(view.data), **kwargs)
        return load(fobj, **kwargs)
    original = file
    path = os.fspath(file)
    handle = open(path, "rb")  # noqa: SIM115 - ownership may pass to the returned NpzFile
    owned = True
    try:
        with view_of_file(handle) as view:
            guard_buffer(view.data, path, effective, "numpy.load", path=path, name=path, integrity=checks)
            is_npy = bytes(view.data[:6]) == _NPY_MAGIC
        if mmap_mode and is_npy:
            proc = _proc_fd_path(handle)
            result = load(proc or original, **kwargs)
            if proc is not None and hasattr(result, "filename"):
                result.filename = Path(original).resolve() if isinstance(original, os.PathLike) \
                    else os.path.abspath(path)
            return result
        result = load(handle, **kwargs)
        if hasattr(result, "zip") and hasattr(result, "fid") and result.fid is None:
            result.fid = handle  # an NpzFile: it closes the handle, as when numpy opens the path
            owned = False
        return result
    finally:
        if owned:
            with contextlib.suppress(OSError):
                handle.close()


