"""``safeload.onnx_load`` and the ONNX Runtime entry points the hook guards.

- :func:`onnx_load` is ``onnx.load`` (``onnx.load_model``) after a static scan (:mod:`safeload.scanners.onnx`):
  ops that need native code from outside onnxruntime (custom domains, reviewed contrib ops), ops that call
  Python, external-data locations that escape the model's folder, malformed or over-deep protobuf.
- :func:`inference_session_load` replaces ``onnxruntime.InferenceSession.__init__`` under the hook.
- :func:`custom_ops_library_load` and :func:`execution_provider_library_load` replace
  ``SessionOptions.register_custom_ops_library`` and ``onnxruntime.register_execution_provider_library``:
  a native library is registered only if ``trusted_libraries`` (``[tool.safeload]`` or
  ``SAFELOAD_TRUSTED_LIBRARIES``) lists its real path with its sha256.

Security invariants:
- the model file is read once; those bytes are scanned and those same bytes are parsed (``onnx``) or handed
  to ONNX Runtime (as bytes, with the model's folder set for external data, so ORT never re-reads the path);
- external data is loaded only after every location was checked to stay inside the model's folder (onnx and
  recent ORT check this too; older versions did not: the path-traversal CVEs);
- a refusal raises :class:`~safeload.UnsafeModelError` before onnx parses or ORT loads anything; an untrusted
  library is refused before ``dlopen`` (SL605 is CRITICAL: loading one is running its code);
- the originals are called through :func:`real_loader`, never their patched names.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from collections.abc import Iterable
from typing import IO, Any

from safeload._context import ScanContext
from safeload.config import load_config, parse_trusted_libraries
from safeload.exceptions import SafeloadWarning, UnsafeModelError
from safeload.loaders._common import (
    Certificates,
    Integrity,
    PathArg,
    decide,
    guard_scan,
    integrity_options,
    policy_for,
    real_loader,
)
from safeload.policy import Policy
from safeload.scanners.onnx import scan_onnx_model
from safeload.severity import Severity

__all__ = [
    "custom_ops_library_load",
    "execution_provider_library_load",
    "inference_session_load",
    "onnx_load",
    "onnx_loads",
]

Threshold = Severity | str | None
Trusted = Iterable[str] | str | None

_ORT_SESSION = "onnxruntime.capi.onnxruntime_inference_collection"
_ORT_STATE = "onnxruntime.capi.onnxruntime_pybind11_state"
_EXTERNAL_FOLDER = "session.model_external_initializers_file_folder_path"  # ORT's key for models given as bytes


def _guard_model(content: bytes, label: str, policy: Policy, loader: str, *, base_dir: str | None,
                 model_path: str | None, ort_format: bool = False, stored: bytes | None = None,
                 integrity: Integrity | None = None) -> bool:
    """Scan an ONNX model (with the integrity checks of ``integrity`` over ``stored``, the bytes as read, when
    they differ from the protobuf scanned); raise if refused; return whether it has external data."""
    found: list[Any] = []

    def scan(ctx: ScanContext) -> None:
        ctx.bytes_scanned += len(content)
        if ort_format or content[4:8] == b"ORTM":
            # ORT's own flatbuffer format (.ort): ORT would read other bytes than the protobuf scanned here
            ctx.add("SL002", "ONNX Runtime (.ort, flatbuffer) model: safeload scans ONNX protobuf models only")
            return
        found.append(scan_onnx_model(content, ctx, base_dir=base_dir, model_path=model_path))

    guard_scan(stored if stored is not None else content, label, policy, loader, scan, error=UnsafeModelError,
               path=model_path, integrity=integrity)
    return bool(found and found[0] is not None and found[0].external)


def _config_entry(sess_options: Any, key: str) -> str:
    """A session config entry, or "" when it is not set (ORT raises for a missing key)."""
    if sess_options is None:
        return ""
    try:
        return str(sess_options.get_session_config_entry(key))
    except RuntimeError:
        return ""


def _ort_format(sess_options: Any, path: str | None) -> bool:
    """Whether ORT will read the model as its flatbuffer format (config, or the ``.ort`` extension)."""
    configured = _config_entry(sess_options, "session.load_model_format").upper()
    return configured == "ORT" or (configured != "ONNX" and path is not None and path.lower().endswith(".ort"))


def _read(f: Any) -> tuple[bytes, str, str | None]:
    """``(content, label, path)``: a path is opened once; a file object is read as onnx reads it."""
    if isinstance(f, str | os.PathLike):
        path = os.fspath(f)
        with open(path, "rb") as handle:
            return handle.read(), path, path
    if not callable(getattr(f, "read", None)):
        raise TypeError(f"expected a path or a binary file object, got {type(f).__name__}")
    content = f.read()
    if not isinstance(content, bytes | bytearray):
        raise TypeError(f"expected a binary file, read() returned {type(content).__name__}")
    name = getattr(f, "name", None)
    return bytes(content), name if isinstance(name, str) else f"<{type(f).__name__}>", (
        name if isinstance(name, str) else None)


def onnx_load(f: str | os.PathLike[str] | IO[bytes], format: str | None = None,
              load_external_data: bool = True, *, threshold: Threshold = None, trusted: Trusted = None,
              policy: Policy | None = None, expected_sha256: str | None = None, signature: PathArg | None = None,
              public_key: PathArg | None = None, certificate: Certificates | None = None,
              integrity: Integrity | None = None) -> Any:
    """``onnx.load`` after a static scan. Same arguments and result; raises ``UnsafeModelError`` instead.

    Text formats (``format="textproto"``, ``.onnxtxt``, ``.json``) are parsed by onnx (parsing runs nothing),
    re-serialised and scanned as protobuf.

    Example:
        >>> model = safeload.onnx_load("model.onnx")  # doctest: +SKIP
    """
    import onnx

    effective = policy_for(threshold, trusted, policy)
    checks = integrity_options(expected_sha256, signature, public_key, certificate, integrity)
    parse = real_loader("onnx", "load_model_from_string")  # never the (possibly patched) public name
    content, label, path = _read(f)
    stored = content
    fmt = format
    if fmt is None and path is not None:
        fmt = onnx.serialization.registry.get_format_from_file_extension(os.path.splitext(path)[1])
    fmt = fmt or "protobuf"
    model = onnx.ModelProto()
    if fmt != "protobuf":
        model = parse(content, format=fmt)  # parse only; scanned below before it is used
        content = model.SerializeToString()
    # onnx resolves external data against the folder of the path it was given (abspath, symlinks kept)
    base_dir = os.path.dirname(os.path.abspath(path)) if path is not None else None
    _guard_model(content, label, effective, "onnx.load", base_dir=base_dir if load_external_data else None,
                 model_path=path, stored=stored, integrity=checks)
    if fmt == "protobuf":
        model = parse(content, format="protobuf")
    if load_external_data and base_dir is not None:
        real_loader("onnx", "load_external_data_for_model")(model, base_dir)
    return model


def onnx_loads(s: bytes, format: str = "protobuf", *,
                          threshold: Threshold = None, trusted: Trusted = None, policy: Policy | None = None) -> Any:
    """``onnx.load_model_from_string`` after a static scan (no external data is loaded from bytes)."""
    effective = policy_for(threshold, trusted, policy)
    parse = real_loader("onnx", "load_model_from_string")
    content = bytes(s)
    model = None
    if format != "protobuf":
        model = parse(content, format=format)
        content = model.SerializeToString()
    _guard_model(content, "<bytes>", effective, "onnx.load_model_from_string", base_dir=None, model_path=None)
    return model if model is not None else parse(content, format="protobuf")


def inference_session_load(self: Any, path_or_bytes: Any, sess_options: Any = None, providers: Any = None,
                           provider_options: Any = None, *, threshold: Threshold = None, trusted: Trusted = None,
                           policy: Policy | None = None, **kwargs: Any) -> None:
    """``onnxruntime.InferenceSession.__init__`` after a static scan of the model.

    A path is read once and ORT gets those bytes, with the model's folder as the folder of external data
    (``session.model_external_initializers_file_folder_path``, set on ``sess_options`` only when the model has
    external data and the caller did not set it). Bytes are scanned with external data checked against that
    setting, or the working directory (where ORT looks for them otherwise).
    """
    init = real_loader(_ORT_SESSION, "InferenceSession.__init__")
    effective = policy_for(threshold, trusted, policy)
    if isinstance(path_or_bytes, str | os.PathLike):
        path = os.fspath(path_or_bytes)
        with open(path, "rb") as handle:
            content = handle.read()
        base_dir = os.path.dirname(os.path.abspath(path))
        external = _guard_model(content, path, effective, "onnxruntime.InferenceSession", base_dir=base_dir,
                                model_path=path, ort_format=_ort_format(sess_options, path))
        if external:  # only models with external data need ORT told where the model's folder is
            import onnxruntime

            sess_options = sess_options if sess_options is not None else onnxruntime.SessionOptions()
            if not _config_entry(sess_options, _EXTERNAL_FOLDER):
                sess_options.add_session_config_entry(_EXTERNAL_FOLDER, base_dir)
        return init(self, content, sess_options, providers, provider_options, **kwargs)  # type: ignore[no-any-return]
    if isinstance(path_or_bytes, bytes | bytearray | memoryview):
        folder = _config_entry(sess_options, _EXTERNAL_FOLDER)
        content = bytes(path_or_bytes)
        _guard_model(content, "<bytes>", effective, "onnxruntime.InferenceSession",
                     base_dir=folder or os.getcwd(), model_path=None, ort_format=_ort_format(sess_options, None))
        return init(self, content, sess_options, providers, provider_options, **kwargs)  # type: ignore[no-any-return]
    return init(self, path_or_bytes, sess_options, providers, provider_options, **kwargs)  # type: ignore[no-any-return]


def _trusted_libraries() -> list[tuple[str, str]]:
    """``(sha256, real path)`` pairs from ``[tool.safeload] trusted_libraries`` and ``SAFELOAD_TRUSTED_LIBRARIES``."""
    entries = list(load_config().trusted_libraries)
    env = os.environ.get("SAFELOAD_TRUSTED_LIBRARIES")
    if env:
        extra = parse_trusted_libraries(env, "SAFELOAD_TRUSTED_LIBRARIES")
        warnings.warn(f"SAFELOAD_TRUSTED_LIBRARIES adds trusted native libraries: {', '.join(extra)}",
                      SafeloadWarning, stacklevel=4)
        entries += extra
    out = []
    for entry in entries:
        digest, _, path = entry.partition(" ")
        out.append((digest.lower(), os.path.realpath(path.strip())))
    return out


def _check_library(library_path: Any, loader: str, policy: Policy) -> str:
    """The real path of ``library_path`` if it is trusted by path and sha256; raise ``UnsafeModelError`` if not."""
    label: str = os.fspath(library_path)
    real: str = os.path.realpath(label)
    digest = hashlib.sha256()
    with open(real, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    sha = digest.hexdigest()
    if (sha, real) in _trusted_libraries():
        return real
    ctx = ScanContext(policy, label, path=label)
    ctx.add("SL605", f"native library {real} (sha256 {sha}) is not in trusted_libraries", subject=real,
            details={"sha256": sha, "path": real,
                     "fix": f'trusted_libraries = ["{sha}  {real}"] in [tool.safeload], after review'})
    decide(ctx, policy, loader, UnsafeModelError)
    return real  # pragma: no cover - decide() raised (SL605 is CRITICAL)


def custom_ops_library_load(self: Any, library_path: Any, *, threshold: Threshold = None, trusted: Trusted = None,
                            policy: Policy | None = None) -> Any:
    """``SessionOptions.register_custom_ops_library`` for a library trusted by path and sha256 only."""
    register = real_loader(_ORT_STATE, "SessionOptions.register_custom_ops_library")
    real = _check_library(library_path, "SessionOptions.register_custom_ops_library",
                          policy_for(threshold, trusted, policy))
    return register(self, real)


def execution_provider_library_load(registration_name: str, path: Any, *, threshold: Threshold = None,
                                    trusted: Trusted = None, policy: Policy | None = None) -> Any:
    """``onnxruntime.register_execution_provider_library`` for a library trusted by path and sha256 only."""
    register = real_loader(_ORT_STATE, "register_execution_provider_library")
    real = _check_library(path, "onnxruntime.register_execution_provider_library",
                          policy_for(threshold, trusted, policy))
    return register(registration_name, real)
