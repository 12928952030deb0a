"""Safe ``pickle``, ``dill`` and ``cloudpickle`` loaders.

Invariant: ``*_load(file)`` scans every pickle stream from the file's current position to its end, then
hands the *same* file object, rewound to where it was, to the real loader, which (like ``pickle.load``)
leaves it just after the first stream. Non-seekable streams are read once and loaded from that copy.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable

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

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import IO, Any

__all__ = ["cloudpickle_load", "cloudpickle_loads", "dill_load", "dill_loads", "pickle_load", "pickle_loads"]

Threshold = Severity | str | None
Trusted = Iterable[str] | str | None


def _load_file(file: IO[bytes], real_load: Callable[..., Any], loader: str, policy: Policy,
               kwargs: dict[str, Any], *, integrity: Integrity | None = None) -> Any:
    name = getattr(file, "name", None)
    label = name if isinstance(name, str) else f"<{type(file).__name__}>"
    with view_of_file(file) as view:
        guard_buffer(view.data, label, policy, loader, path=name if isinstance(name, str) else None,
                     integrity=integrity)
        seekable = view.seekable
        data = view.data
        if not seekable:
            return real_load(io.BytesIO(data), **kwargs)
    return real_load(file, **kwargs)


def pickle_load(file: IO[bytes], *, fix_imports: bool = True, encoding: str = "ASCII", errors: str = "strict",
                buffers: Iterable[Any] | None = None, threshold: Threshold = None, trusted: Trusted = None,
                policy: Policy | None = None,
                expected_sha256: str | None = None, signature: PathArg | None = None,
                public_key: PathArg | None = None, certificate: Certificates | None = None,
                integrity: Integrity | None = None) -> Any:
    """``pickle.load`` after a static scan of the file's bytes. Raises ``UnsafePickleError`` before loading."""
    kwargs = {"fix_imports": fix_imports, "encoding": encoding, "errors": errors, "buffers": buffers}
    checks = integrity_options(expected_sha256, signature, public_key, certificate, integrity)
    return _load_file(file, real_loader("pickle", "load"), "pickle.load", policy_for(threshold, trusted, policy),
                      kwargs, integrity=checks)


def pickle_loads(data: bytes | bytearray | memoryview, /, *, fix_imports: bool = True, encoding: str = "ASCII",
                 errors: str = "strict", buffers: Iterable[Any] | None = None, threshold: Threshold = None,
                 trusted: Trusted = None, policy: Policy | None = None,
                expected_sha256: str | None = None, signature: PathArg | None = None,
                public_key: PathArg | None = None, certificate: Certificates | None = None,
                integrity: Integrity | None = None) -> Any:
    """``pickle.loads`` after a static scan of ``data``."""
    guard_buffer(data, "<bytes>", policy_for(threshold, trusted, policy), "pickle.loads",
                 integrity=integrity_options(expected_sha256, signature, public_key, certificate, integrity))
    return real_loader("pickle", "loads")(data, fix_imports=fix_imports, encoding=encoding, errors=errors,
                                          buffers=buffers)


def dill_load(file: IO[bytes], ignore: bool | None = None, *, threshold: Threshold = None, trusted: Trusted = None,
              policy: Policy | None = None,
              expected_sha256: str | None = None, signature: PathArg | None = None,
              public_key: PathArg | None = None, certificate: Certificates | None = None,
              integrity: Integrity | None = None, **kwds: Any) -> Any:
    """``dill.load`` after a static scan. Pickled functions and code objects are CRITICAL findings."""
    kwds["ignore"] = ignore
    return _load_file(file, real_loader("dill", "load"), "dill.load", policy_for(threshold, trusted, policy),
                      kwds, integrity=integrity_options(expected_sha256, signature, public_key, certificate, integrity))


def dill_loads(str: bytes, ignore: bool | None = None, *, threshold: Threshold = None,
               trusted: Trusted = None, policy: Policy | None = None,
              expected_sha256: str | None = None, signature: PathArg | None = None,
              public_key: PathArg | None = None, certificate: Certificates | None = None,
              integrity: Integrity | None = None, **kwds: Any) -> Any:
    """``dill.loads`` after a static scan."""
    guard_buffer(str, "<bytes>", policy_for(threshold, trusted, policy), "dill.loads",
                 integrity=integrity_options(expected_sha256, signature, public_key, certificate, integrity))
    return real_loader("dill", "loads")(str, ignore=ignore, **kwds)


def cloudpickle_load(file: IO[bytes], *, fix_imports: bool = True, encoding: str = "ASCII", errors: str = "strict",
                     buffers: Iterable[Any] | None = None, threshold: Threshold = None, trusted: Trusted = None,
                     policy: Policy | None = None,
                expected_sha256: str | None = None, signature: PathArg | None = None,
                public_key: PathArg | None = None, certificate: Certificates | None = None,
                integrity: Integrity | None = None) -> Any:
    """``cloudpickle.load`` (which is ``pickle.load``) after a static scan."""
    kwargs = {"fix_imports": fix_imports, "encoding": encoding, "errors": errors, "buffers": buffers}
    return _load_file(file, real_loader("cloudpickle", "load"), "cloudpickle.load",
                      policy_for(threshold, trusted, policy), kwargs,
                      integrity=integrity_options(expected_sha256, signature, public_key, certificate, integrity))


def cloudpickle_loads(data: bytes | bytearray | memoryview, /, *, fix_imports: bool = True, encoding: str = "ASCII",
                      errors: str = "strict", buffers: Iterable[Any] | None = None, threshold: Threshold = None,
                      trusted: Trusted = None, policy: Policy | None = None,
                expected_sha256: str | None = None, signature: PathArg | None = None,
                public_key: PathArg | None = None, certificate: Certificates | None = None,
                integrity: Integrity | None = None) -> Any:
    """``cloudpickle.loads`` after a static scan."""
    guard_buffer(data, "<bytes>", policy_for(threshold, trusted, policy), "cloudpickle.loads",
                 integrity=integrity_options(expected_sha256, signature, public_key, certificate, integrity))
    return real_loader("cloudpickle", "loads")(data, fix_imports=fix_imports, encoding=encoding, errors=errors,
                                               buffers=buffers)
