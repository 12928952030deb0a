"""``safeload.keras_load`` and ``safeload.tf_saved_model_load``: Keras / TensorFlow loaders behind a scan.

Security invariants:
- scanning imports neither Keras nor TensorFlow; the framework is imported only after the scan passed;
- a single file (``.keras``, ``.h5``) is opened once and scanned through a memory map of that handle; Keras
  only accepts paths and dispatches on the file name's extension, so it receives a symlink with the user's
  file name pointing at ``/proc/self/fd/<fd>`` of the handle just scanned: the same inode, never a second
  lookup of the user's path. Where ``/proc/self/fd`` does not exist (macOS, Windows) Keras gets the user's
  path after the scan, and a file replaced between scan and load is not detected (documented gap);
- a directory (SavedModel, Keras directory format) is scanned file by file and then handed to the framework
  by path, because TensorFlow keeps asset paths of the loaded model for later use (a pinned
  ``/proc/self/fd`` path would stop working once the descriptor is closed). Files replaced inside the
  directory between scan and load are a residual gap: load directories you control;
- ``safe_mode`` is passed through untouched (never weakened), ``custom_objects`` and ``compile`` as given;
  refusals raise :class:`~safeload.UnsafeKerasModelError` (also a ``ValueError``) before Keras runs.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from safeload._context import LimitExceeded, ScanContext
from safeload._source import view_of_file
from safeload.exceptions import UnsafeKerasModelError
from safeload.findings import ScanResult
from safeload.loaders._common import (
    Certificates,
    Integrity,
    PathArg,
    guard_buffer,
    guard_directory,
    guard_scan,
    integrity_options,
    policy_for,
    real_loader,
)
from safeload.policy import Policy
from safeload.scan import scan_buffer, scan_keras_dir, scan_path
from safeload.severity import Severity

__all__ = ["keras_load", "safe_keras_load", "tf_saved_model_load"]

Threshold = Severity | str | None
Trusted = Iterable[str] | str | None
_PROC_FD = "/proc/self/fd"
_TRUTHY = {"1", "y", "yes", "true", "on"}


def _keras_loader_name() -> str:
    """The real ``load_model`` the user would get: tf_keras when TF_USE_LEGACY_KERAS is set, else Keras 3.

    Only the name: the framework is imported after the scan passed (a refused file never imports it).
    """
    if os.environ.get("TF_USE_LEGACY_KERAS", "").strip().lower() in _TRUTHY and \
            importlib.util.find_spec("tf_keras") is not None:
        return "tf_keras.models.load_model"
    return "keras.saving.load_model"


def _keras_loader(name: str) -> Any:
    module, _, attr = name.rpartition(".")
    return real_loader(module, attr)


@contextlib.contextmanager
def _pinned_file(fd: int, name: str) -> Iterator[str | None]:
    """A path named ``name`` (extension kept) that resolves to the open descriptor ``fd``, or None."""
    if not os.path.isdir(_PROC_FD):
        yield None
        return
    tmp = tempfile.mkdtemp(prefix="safeload-")
    link = os.path.join(tmp, name or "model")
    try:
        os.symlink(f"{_PROC_FD}/{fd}", link)
        yield link
    finally:
        with contextlib.suppress(OSError):
            os.unlink(link)
        with contextlib.suppress(OSError):
            os.rmdir(tmp)


def _guard_file(data: Any, label: str, policy: Policy, loader: str, integrity: Integrity | None = None, *,
                path: str | None = None) -> ScanResult:
    """Scan exactly as ``safeload.scan`` does (one reading of the file, one verdict): the zip scanner already
    reads the central directory ``zipfile`` (Keras' reader) picks and every ``config.json`` in it."""

    def scan(ctx: ScanContext) -> None:
        scan_buffer(data, ctx, name=os.path.basename(label))

    return guard_scan(data, label, policy, loader, scan, error=UnsafeKerasModelError,
                      name=os.path.basename(label), path=path, integrity=integrity)


def _guard_dir(label: str, policy: Policy, loader: str, integrity: Integrity | None = None) -> ScanResult:
    root = Path(label)

    def scan(ctx: ScanContext) -> None:
        try:
            if (root / "config.json").is_file() and not (root / "saved_model.pb").is_file() and \
                    not (root / "saved_model.pbtxt").is_file():
                scan_keras_dir(root, ctx)  # what Keras reads from any directory holding a config.json
            else:
                scan_path(root, ctx)
        except LimitExceeded as exc:
            ctx.add_limit(exc)
        except OSError as exc:
            ctx.add("SL007", f"cannot read {label}: {exc.strerror or exc}")

    return guard_directory(label, policy, loader, scan, error=UnsafeKerasModelError, integrity=integrity)


def keras_load(filepath: str | os.PathLike[str], custom_objects: dict[str, Any] | None = None,
               compile: bool = True, safe_mode: bool = True, *, threshold: Threshold = None,
               trusted: Trusted = None, policy: Policy | None = None,
               expected_sha256: str | None = None, signature: PathArg | None = None,
               public_key: PathArg | None = None, certificate: Certificates | None = None,
               integrity: Integrity | None = None) -> Any:
    """Load like ``keras.saving.load_model`` after scanning the model; raise instead if it is unsafe.

    Args:
        filepath: a ``.keras`` zip, a legacy ``.h5``/``.hdf5`` file, or a model directory, as for Keras.
        custom_objects, compile, safe_mode: passed to Keras unchanged (``safe_mode`` is never weakened).
        threshold: refuse findings at or above this severity (default: configuration, else ``medium``).
        trusted: names you have reviewed and trust (e.g. ``"mypkg.layers.MyLayer"`` for a registered
            custom layer, which is otherwise an SL402 MEDIUM finding).
        policy: a complete :class:`~safeload.Policy` instead of ``threshold``/``trusted``.
        expected_sha256, signature, public_key, certificate, integrity: integrity checks (``docs/integrity.md``);
            a directory's digest is its canonical manifest digest, and a signed directory is verified whole.

    Returns:
        Exactly what Keras' ``load_model`` returns.

    Raises:
        UnsafeKerasModelError: the scan found something at or above the threshold; nothing was loaded.
        IntegrityError: a requested digest, lock or signature check failed; nothing was loaded.
    """
    effective = policy_for(threshold, trusted, policy)
    checks = integrity_options(expected_sha256, signature, public_key, certificate, integrity)
    loader = _keras_loader_name()
    kwargs: dict[str, Any] = {"custom_objects": custom_objects, "compile": compile, "safe_mode": safe_mode}
    if hasattr(filepath, "read"):
        # Keras' own file-object path (saving_lib); scan from the current position, which is restored.
        with view_of_file(filepath) as view:  # type: ignore[arg-type]
            name = getattr(filepath, "name", None)
            _guard_file(view.data, name if isinstance(name, str) else "<file>", effective, loader, checks)
        return _keras_loader(loader)(filepath, **kwargs)
    label = os.fspath(filepath)
    if "://" in label:
        raise ValueError(f"safeload cannot scan remote model paths ({label!r}): download the model, then "
                         "load the local copy with safeload.keras_load")
    if os.path.isdir(label):
        _guard_dir(label, effective, loader, checks)
        return _keras_loader(loader)(filepath, **kwargs)
    with open(label, "rb") as handle:
        with view_of_file(handle) as view:
            _guard_file(view.data, label, effective, loader, checks, path=label)
        load = _keras_loader(loader)
        with _pinned_file(handle.fileno(), os.path.basename(label)) as pinned:
            return load(pinned if pinned is not None else label, **kwargs)


safe_keras_load = keras_load


def tf_saved_model_load(export_dir: str | os.PathLike[str], tags: Any = None, options: Any = None, *,
                        threshold: Threshold = None, trusted: Trusted = None,
                        policy: Policy | None = None,
                        expected_sha256: str | None = None, signature: PathArg | None = None,
                        public_key: PathArg | None = None, certificate: Certificates | None = None,
                        integrity: Integrity | None = None) -> Any:
    """Load like ``tf.saved_model.load`` after scanning the SavedModel directory; raise instead if unsafe.

    Every op of every graph and function in ``saved_model.pb`` is checked (file I/O, Python calls, custom
    ops, checkpoint I/O outside the saver), and so are the Keras configs in ``keras_metadata.pb``.

    Raises:
        UnsafeKerasModelError: the scan found something at or above the threshold; nothing was loaded.
        IntegrityError: a requested digest, lock or signature check failed; nothing was loaded.
    """
    effective = policy_for(threshold, trusted, policy)
    checks = integrity_options(expected_sha256, signature, public_key, certificate, integrity)
    label = os.fspath(export_dir)
    loader = "tf.saved_model.load"
    if not os.path.isdir(label):
        # TensorFlow raises its own error for a non-directory; scan a file path anyway (never skip).
        with open(label, "rb") as handle, view_of_file(handle) as view:
            guard_buffer(view.data, label, effective, loader, error=UnsafeKerasModelError, path=label,
                         name=os.path.basename(label), integrity=checks)
    else:
        _guard_dir(label, effective, loader, checks)
    load = real_loader("tensorflow", "saved_model.load")  # imported only once the scan passed
    return load(export_dir, tags=tags, options=options)
