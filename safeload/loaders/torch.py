"""``safeload.torch_load``: ``torch.load`` after a static scan of exactly the bytes torch will read.

Security invariants:
- a path is opened once; the scan reads that open file through a memory map, and torch receives the same
  open file object (with ``mmap=True``, which torch only accepts for paths, it receives
  ``/proc/self/fd/<fd>`` of that handle: the same inode, never a second lookup of the user's path);
- refusals raise :class:`~safeload.UnsafePickleError` before torch runs; there is no retry, and in
  particular never a retry with ``weights_only=False`` after torch rejects a file (THREATS D6);
- ``map_location``, ``pickle_module``, ``weights_only``, ``mmap`` and pickle arguments are passed through
  untouched, and only when the caller passed them, so torch's own defaults and environment overrides
  (``TORCH_FORCE_WEIGHTS_ONLY_LOAD``, ...) still decide; TorchScript archives are refused at the default
  threshold (SL201 is HIGH) because torch would hand them to ``torch.jit.load``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator
from typing import IO, Any

from safeload._source import view_of_file
from safeload.loaders._common import (
    Certificates,
    Integrity,
    PathArg,
    guard_buffer,
    integrity_options,
    integrity_required,
    policy_for,
    real_loader,
    verify_only,
)
from safeload.policy import Policy
from safeload.severity import Severity

__all__ = ["safe_torch_load", "torch_load"]

Threshold = Severity | str | None
Trusted = Iterable[str] | str | None
FileLike = str | os.PathLike[str] | IO[bytes]


@contextlib.contextmanager
def open_binary(source: Any) -> Iterator[tuple[IO[bytes], str, bool]]:
    """Yield ``(handle, label, opened_here)``: a path is opened once here; a file object is used as is."""
    if isinstance(source, str | os.PathLike):
        label = os.fspath(source)
        with open(label, "rb") as handle:
            yield handle, label, True
        return
    if not hasattr(source, "read"):
        raise TypeError(f"expected a path or a binary file object, got {type(source).__name__}")
    name = getattr(source, "name", None)
    yield source, name if isinstance(name, str) else f"<{type(source).__name__}>", False


def _mmap_default() -> bool:
    """What torch will use when ``mmap`` is not passed (``torch.utils.serialization.config.load.mmap``)."""
    try:
        from torch.utils.serialization import config
    except ImportError:  # older torch: mmap defaults to False
        return False
    return bool(config.load.mmap)


def torch_load(f: FileLike, map_location: Any = None, pickle_module: Any = None, *, weights_only: bool | None = None,
               mmap: bool | None = None, threshold: Threshold = None, trusted: Trusted = None,
               policy: Policy | None = None, expected_sha256: str | None = None, signature: PathArg | None = None,
               public_key: PathArg | None = None, certificate: Certificates | None = None,
               integrity: Integrity | None = None,
               **pickle_load_args: Any) -> Any:
    """Load like ``torch.load`` after scanning the file; raise ``UnsafePickleError`` instead if it is unsafe.

    Args:
        f: a path (``str`` / ``os.PathLike``) or a seekable binary file object (e.g. ``io.BytesIO``), as for
            ``torch.load``. File objects are scanned from their current position and rewound before loading.
        map_location, pickle_module, weights_only, mmap, **pickle_load_args: passed to ``torch.load`` as
            given (arguments you leave out are left out, so torch's defaults apply).
        threshold: refuse findings at or above this severity (default: configuration, else ``medium``).
        trusted: names (``"pkg.mod.Class"`` or ``"pkg.*"``) you have reviewed and trust in this load.
        policy: a complete :class:`~safeload.Policy` instead of ``threshold``/``trusted``.
        expected_sha256, signature, public_key, certificate, integrity: integrity checks on the same bytes
            (``docs/integrity.md``): a pinned sha256, an OpenSSF model signature verified with a public key
            or a CA chain, or a full :class:`~safeload.Integrity` (Sigstore identity, lock file).

    Returns:
        Exactly what ``torch.load`` returns for the same arguments.

    Raises:
        UnsafePickleError: the scan found something at or above the threshold; nothing was loaded.
        IntegrityError: a requested digest, lock or signature check failed; nothing was loaded.

    Example::

        state = safeload.torch_load("model.pt", map_location="cpu")
    """
    effective = policy_for(threshold, trusted, policy)
    checks = integrity_options(expected_sha256, signature, public_key, certificate, integrity)
    load = real_loader("torch", "load")
    kwargs: dict[str, Any] = dict(pickle_load_args)
    if weights_only is not None:
        kwargs["weights_only"] = weights_only
    if mmap is not None:
        kwargs["mmap"] = mmap
    if isinstance(f, str | os.PathLike) and os.fspath(f).endswith(".safetensors"):
        # torch.load hands these paths to safetensors.torch.load_file: no unpickling happens at all.
        if integrity_required(checks):
            verify_only(os.fspath(f), effective, "torch.load", integrity=checks, fmt="safetensors")
        return load(f, map_location, pickle_module, **kwargs)
    with open_binary(f) as (handle, label, opened_here):
        with view_of_file(handle) as view:
            guard_buffer(view.data, label, effective, "torch.load", path=label if opened_here else None,
                         name=label, integrity=checks)  # the name is a hint only where a format has no magic
        if opened_here and (mmap if mmap is not None else _mmap_default()):
            # torch maps only paths; this one names the handle just scanned, not the user's path again.
            return load(f"/proc/self/fd/{handle.fileno()}", map_location, pickle_module, **kwargs)
        return load(handle, map_location, pickle_module, **kwargs)


safe_torch_load = torch_load
