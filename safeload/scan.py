"""``safeload.scan``: scan a path, a directory, bytes or a binary file object, and return a ScanResult.

Invariants: routing is by content (``_sniff``), never by extension; a scanner that raises is turned into a
blocking finding (SL005), a resource limit into its own finding, and an unknown format into SL003; nothing
here imports, unpickles or calls what the file names.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable

from safeload._context import LimitExceeded, ScanContext
from safeload._log import LazyLogger
from safeload._record import replace
from safeload._sniff import Format, sniff
from safeload._source import describe, engine_input, is_remote, require_all, view_of_file
from safeload.config import resolve_policy
from safeload.containers.routing import other_readings
from safeload.exceptions import IntegrityError
from safeload.findings import ScanResult
from safeload.integrity.options import Certificates, Integrity, PathArg, integrity_options
from safeload.policy import Policy
from safeload.scanners import get_scanner
from safeload.severity import Severity

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import IO, Any, TypeAlias

    Source: TypeAlias = str | os.PathLike[str] | bytes | bytearray | memoryview | IO[bytes]

__all__ = ["scan", "scan_buffer", "scan_checked", "scan_keras_dir", "scan_other_readings", "scan_path"]

logger = LazyLogger(__name__)


def scan(source: Source, *, threshold: Severity | str | None = None, trusted: Iterable[str] | str | None = None,
         policy: Policy | None = None, name: str | None = None, expected_sha256: str | None = None,
         signature: PathArg | None = None, public_key: PathArg | None = None,
         certificate: Certificates | None = None, integrity: Integrity | None = None) -> ScanResult:
    """Scan ``source`` statically and return what was found. Nothing in it is imported or executed.

    Args:
        source: a path (file or directory, e.g. a SavedModel), bytes, or a binary file object (scanned from
            its current position; the position is restored).
        threshold, trusted, policy: as for the loaders; trust turns matching findings into INFO.
        name: a file name hint for formats without magic bytes (``saved_model.pb``).
        expected_sha256, signature, public_key, certificate, integrity: integrity checks on the same bytes, as
            for the loaders (``docs/integrity.md``). Unlike a load, ``scan`` ignores a lock or signature
            requirement from the configuration (``SAFELOAD_LOCK``): pass ``integrity=`` to check one.

    Raises:
        IntegrityError: a requested check failed (its ``result`` holds the scan of the same bytes).
    """
    effective = resolve_policy(threshold, trusted, policy)
    checks = integrity_options(expected_sha256, signature, public_key, certificate, integrity)
    return scan_checked(source, effective, name=name, integrity=checks)


def scan_checked(source: Source, policy: Policy, *, name: str | None = None, integrity: Integrity | None = None,
                 want_digest: bool = False, cache_default: bool = False, raise_on_failure: bool = True) -> ScanResult:
    """``scan`` with a resolved policy: the integrity checks run around the scan, in the same read.

    ``want_digest`` computes the sha256 even when nothing is checked (reports); ``cache_default`` consults the
    scan cache for small files too (the CLI). With ``raise_on_failure=False`` a failed check is returned in
    ``result.integrity["failure"]`` instead of raised.
    """
    from safeload.integrity.check import plan_for

    if isinstance(source, str) and "://" in source:
        local = _url_source(source, policy, name=name, integrity=integrity)
        if isinstance(local, ScanResult):
            return local
        source = local
    label = describe(source)
    is_path = isinstance(source, str | os.PathLike)
    plan = plan_for(integrity, path=label if is_path else None, source=label, policy=policy, config_checks=False)
    if is_path and os.path.isdir(label):
        from pathlib import Path  # directories only (issue 15: pathlib imports urllib.parse and ipaddress)

        with plan.begin_directory(label, want_digest=want_digest) as dir_session:
            ctx = ScanContext(policy, label, path=label)
            scan_path(Path(label), ctx)
            result, info = dir_session.finish(ctx.result())
    elif isinstance(source, bytes | bytearray | memoryview):
        result, info = _scan_buffer_checked(source, plan, policy, label=label, path=None, name=name,
                                            want_digest=want_digest, cache_default=cache_default)
    elif is_path:
        try:
            handle = open(label, "rb")  # noqa: SIM115 - closed below
        except OSError as exc:
            ctx = ScanContext(policy, label, path=label)
            ctx.add("SL007", f"cannot read {label}: {exc.strerror or exc}")
            return ctx.result()
        with handle, view_of_file(handle) as view:
            result, info = _scan_buffer_checked(view.data, plan, policy, label=label, path=label,
                                                name=name or os.path.basename(label), want_digest=want_digest,
                                                cache_default=cache_default)
    elif hasattr(source, "read"):
        with view_of_file(source) as view:  # type: ignore[arg-type]
            result, info = _scan_buffer_checked(view.data, plan, policy, label=label, path=None, name=name or label,
                                                want_digest=want_digest, cache_default=cache_default)
    else:
        raise TypeError(f"cannot scan a {type(source).__name__}: pass a path, bytes or a binary file")
    if logger.isEnabledFor(20):  # logging.INFO; the arguments cost more than a cache hit's lookup
        cached = " (cached)" if info.cached else ""
        logger.info("scanned %s: %s%s", result.source, result.verdict(policy.threshold).value, cached,
                    extra={"safeload_path": result.source, "safeload_verdict": result.verdict(policy.threshold).value,
                           "safeload_findings": len(result.findings), "safeload_sha256": info.sha256,
                           "safeload_cached": info.cached})
    if info.failure is not None and raise_on_failure:
        failure = info.failure
        raise IntegrityError(result, policy.threshold, "scan", check=failure.check, reason=failure.reason,
                             expected=failure.expected, actual=failure.actual)
    if info.sha256 is None and not (integrity is not None and integrity.checks) and info.failure is None:
        return result
    return replace(result, integrity=info.to_dict())


def _url_source(url: str, policy: Policy, *, name: str | None, integrity: Integrity | None) -> str | ScanResult:
    """A ``file://`` URL is its local path; a remote URL is scanned by ranges (``safeload.sources``)."""
    from safeload.sources import file_url_path, is_url

    local = file_url_path(url)
    if local is not None:
        return local
    if not is_url(url):
        return url  # not a URL scheme safeload reads: a local path that happens to contain "://"
    if integrity is not None and integrity.checks:
        raise ValueError("digest, lock and signature checks need the whole file: download it and check it "
                         "locally (remote objects are only scanned by ranges)")
    from safeload.sources.scan import scan_url

    return scan_url(url, policy, name=name)


def _scan_buffer_checked(data: Any, plan: Any, policy: Policy, *, label: str, path: str | None, name: str | None,
                         want_digest: bool, cache_default: bool) -> tuple[ScanResult, Any]:
    with plan.begin(data, name=name, cache_default=cache_default, want_digest=want_digest) as session:
        if session.cached is not None:
            result = session.cached
        else:
            ctx = ScanContext(policy, label, path=path)
            scan_buffer(data, ctx, name=name)
            result = ctx.result()
        return session.finish(result)  # type: ignore[no-any-return]


def scan_path(path: Path, ctx: ScanContext) -> None:
    """Scan a file or a directory tree (a SavedModel or Keras directory is scanned as one model)."""
    try:
        if path.is_dir():
            if (path / "saved_model.pb").is_file() or (path / "saved_model.pbtxt").is_file():
                from safeload.scanners import savedmodel

                savedmodel.scan_saved_model_dir(path, ctx)
                return
            from safeload.containers.keras import is_keras_dir  # directories only (issue 15: fixed costs)

            if is_keras_dir(path):
                scan_keras_dir(path, ctx)  # as keras_load reads it: one verdict for both
                return
            scan_tree(path, ctx, _scan_file)
            return
        _scan_file(path, ctx)
    except OSError as exc:
        ctx.add("SL007", f"cannot read {path}: {exc.strerror or exc}")


def scan_tree(root: Path, ctx: ScanContext, scan_one: Callable[[Path, ScanContext], None]) -> None:
    """Every file below ``root`` through ``scan_one``; what cannot be listed is SL007, a link that leaves the
    tree SL008 (never followed), a link inside it is covered by its target. Nothing is silently absent."""
    from safeload._walk import WalkError, walk_files  # directory walks only (issue 15: fixed costs)

    real_root = os.path.realpath(root)
    for entry in walk_files(root):
        if isinstance(entry, WalkError):
            ctx.add("SL007", f"cannot list or read {entry.path}: {entry.reason}", subject=entry.path)
            continue
        rel = entry.relative_to(root).as_posix()
        if entry.is_symlink():
            target = os.path.realpath(entry)
            if not (target == real_root or target.startswith(real_root + os.sep)):
                ctx.add("SL008", f"{rel} links outside the directory being scanned; not followed", subject=rel)
            continue
        if not entry.is_file():
            ctx.add("SL007", f"{rel} is not a regular file; not scanned", subject=rel)
            continue
        with ctx.inside(rel):
            try:
                scan_one(entry, ctx)
            except OSError as exc:
                ctx.add("SL007", f"cannot read {rel}: {exc.strerror or exc}", subject=rel)


def scan_keras_dir(root: Path, ctx: ScanContext) -> None:
    """Keras' directory format: ``config.json`` is a Keras config, ``metadata.json`` is never read by Keras, every
    other file is scanned by content; links leaving the directory are reported (SL008), nothing unread is absent."""
    from safeload.containers.keras import CONFIG as KERAS_CONFIG
    from safeload.containers.keras import METADATA as KERAS_METADATA
    from safeload.scanners.keras import scan_keras_config

    def scan_one(child: Path, ctx: ScanContext) -> None:
        rel = child.relative_to(root).as_posix()
        with open(child, "rb") as handle, view_of_file(handle) as view:
            if rel in {KERAS_CONFIG, KERAS_METADATA}:
                ctx.bytes_scanned += len(view.data)
                if rel == KERAS_CONFIG:
                    scan_keras_config(bytes(view.data), ctx)
            else:
                scan_buffer(view.data, ctx, name=child.name)

    scan_tree(root, ctx, scan_one)


def _scan_file(path: Path, ctx: ScanContext) -> None:
    with open(path, "rb") as handle, view_of_file(handle) as view:
        scan_buffer(view.data, ctx, name=path.name)


def scan_buffer(data: Any, ctx: ScanContext, *, name: str | None = None) -> None:
    """Detect the format of ``data`` and run its scanner; failures become findings, never 'clean'."""
    ctx.bytes_scanned += len(data)
    fmt = sniff(data, name)
    if fmt is Format.LFS_POINTER:
        ctx.note_format(fmt.value)
        ctx.add("SL004", "Git LFS pointer file: the model itself was never downloaded (run git lfs pull)")
        return
    if fmt is Format.EMPTY:
        ctx.add("SL009", "empty file: no model to scan or load")
        return
    base = None if name is None else name.replace("\\", "/").rsplit("/", 1)[-1]
    if fmt in (Format.UNKNOWN, Format.TEXT) and base == "saved_model.pbtxt":
        from safeload.scanners.savedmodel import scan_saved_model_pbtxt  # text format: no magic bytes

        scanner: Any = scan_saved_model_pbtxt
    elif fmt is Format.TEXT:
        from safeload.scanners.text import scan_text

        scanner = functools.partial(scan_text, name=name)
    elif fmt is Format.UNKNOWN and _model_part(ctx):
        return
    else:
        scanner = get_scanner(fmt)
    if scanner is None:
        ctx.add("SL003", f"unrecognised content ({fmt.value}); safeload cannot vouch for it",
                details={"format": fmt.value})
        return
    try:
        scanner(_readable_by(data, fmt), ctx)
        scan_other_readings(data, fmt, ctx)
    except LimitExceeded as exc:
        ctx.add_limit(exc)
    except Exception as exc:
        logger.exception("internal error scanning %s", ctx.source)
        ctx.add("SL005", f"internal error in the {fmt.value} scanner: {type(exc).__name__}: {exc}",
                details={"format": fmt.value})


def _model_part(ctx: ScanContext) -> bool:
    """Unknown bytes on disk that an ONNX model beside them names as external data: SL811 (skipped, part of it).

    A fact for reports: a load of these bytes is refused as unknown content (``loaders._common``)."""
    if ctx.path is None or (ctx.member is not None and "!" in ctx.member):
        return False
    from safeload.scanners.onnx_parts import external_data_owner

    path = ctx.path if ctx.member is None else os.path.join(ctx.path, ctx.member)
    owner = external_data_owner(path)
    if owner is None:
        return False
    ctx.add("SL811", f"skipped (part of {owner}): external tensor data of that ONNX model", details={"model": owner})
    return True


def scan_other_readings(data: Any, fmt: Format, ctx: ScanContext) -> None:
    """Polyglots: the formats other loaders read the same bytes as (``containers.routing``); scan every one."""
    for other in other_readings(data, fmt):
        ctx.add("SL206", f"the file is both {fmt.value} and {other.value}", subject=other.value)
        other_scanner = get_scanner(other)
        if other_scanner is not None:
            other_scanner(_readable_by(data, other), ctx)


# Scanners that read a remote source by ranges (``safeload.sources``); any other is handed the whole object.
_RANGE_READERS = frozenset({Format.PICKLE, Format.ZIP, Format.NUMPY, Format.TAR})


def _readable_by(data: Any, fmt: Format) -> Any:
    """``data`` for ``fmt``'s scanner: unchanged, or a remote source fetched whole for scanners that need it."""
    if fmt in _RANGE_READERS or not is_remote(data):
        return data
    require_all(data)
    return engine_input(data)
