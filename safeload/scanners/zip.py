"""Zip containers (PyTorch archives, TorchScript, ``.npz``, ``.keras``, zipped SavedModels), scanned by content.

Security invariants:
- every member any zip reader could return (see ``safeload._zip``: torch's miniz, ``zipfile``, safeload's
  lenient reader and the local headers) is considered, whatever its name or extension: members that sniff as
  pickle (any first opcode the C unpickler accepts), npy, zip, HDF5, tar, compressed data or ``saved_model.pb``
  are scanned recursively; other content (json, text, ``version``) is not a finding, because no loader
  executes it;
- a member a loader unpickles *by name* (``<prefix>/data.pkl`` and ``constants.pkl`` for torch, matched
  case-insensitively as miniz does, and any ``*.pkl``) is walked as a pickle whatever its first byte: sniffing
  only adds readings. A stream that breaks before importing or calling anything is noted, not a finding;
- readers that would see different archives (``safeload.containers.archives``) make the file ambiguous (SL208,
  blocking), on top of every reading being scanned;
- the only members skipped without a scan are torch storages ``<prefix>/data/<key>`` whose key a scanned
  pickle of the same archive references as a storage: torch reads them as raw bytes. Their bytes are
  never read except six bytes compared against the ``.npy`` magic (``numpy.load`` on the same archive
  would unpickle an object array stored there);
- TorchScript archives are HIGH on their own (``torch.load`` hands them to ``torch.jit.load``, which runs
  their code: CVE-2025-32434); their pickles are scanned and their ``code/`` is read for side effects;
- a member that cannot be decompressed, or a cap that is hit, is a blocking finding.
"""

from __future__ import annotations

import contextlib
import posixpath
import re
import zlib
from collections.abc import Iterator
from typing import Any

from safeload._context import LimitExceeded, ScanContext
from safeload._log import LazyLogger
from safeload._sniff import Format, breaks_before_import, find_zip_end, sniff
from safeload._zip import STORED, ZipArchive, ZipEntry, ZipLimit, open_archive
from safeload.containers.archives import Region, find_ambiguities
from safeload.containers.torch import archive_name, unpickled_by_name
from safeload.severity import Severity

__all__ = ["SCANNED_MEMBER_FORMATS", "scan_torchscript_code", "scan_zip"]

logger = LazyLogger(__name__)

SCANNED_MEMBER_FORMATS = frozenset({Format.PICKLE, Format.NUMPY, Format.ZIP, Format.HDF5, Format.GZIP, Format.BZIP2,
                      Format.XZ, Format.LZMA, Format.ZLIB, Format.LZ4, Format.SAVED_MODEL, Format.TAR})
_CONTAINERS = frozenset({Format.ZIP, Format.GZIP, Format.BZIP2, Format.XZ, Format.LZMA, Format.ZLIB, Format.LZ4,
                         Format.TAR})
_CRC_CHECK_MAX = 64 << 20
_CODE_MAX = 16 << 20
# Names TorchScript's C++ unpickler resolves itself (classes compiled from the archive's code/, list
# builders); they never reach Python's import machinery.
_TORCHSCRIPT_NAMES = ("__torch__.", "torch.jit._pickle.")


def _lower_names(entry: ZipEntry) -> list[str]:
    return [n.lower() for n in entry.names]


def _split(name: str) -> tuple[str, str]:
    """``posixpath.split`` without the overhead (this runs once per member of large archives)."""
    head, _, tail = name.rpartition("/")
    return head, tail


class _Scan:
    def __init__(self, archive: ZipArchive, ctx: ScanContext) -> None:
        self.archive = archive
        self.ctx = ctx
        self.lower = {id(e): _lower_names(e) for e in archive}
        names = {n for lowered in self.lower.values() for n in lowered}
        self.torchscript = any(_split(n)[1] == "constants.pkl" or "/code/__torch__" in f"/{n}" for n in names)
        # Torch archive prefixes: the directory holding data.pkl (torch matches names case-insensitively), and
        # the one miniz derives from the first central entry (every record torch reads is under it).
        self.prefixes = {_split(n)[0] for n in names if _split(n)[1] == "data.pkl"}
        first = archive.views.get("miniz")
        if first is not None and first.entries:
            prefix = archive_name(first.entries[0].raw_name)
            if prefix is not None:
                self.prefixes.add(prefix.decode("utf-8", "replace").lower())
        self.storage_keys: set[str] = set()   # lower-case member names referenced as storages
        self.stop = False

    # -- helpers -------------------------------------------------------------------------------------
    def is_storage_candidate(self, entry: ZipEntry) -> bool:
        for name in self.lower[id(entry)]:
            parent = _split(name)[0]
            grand, base = _split(parent)
            if base in {"data", "constants"} and grand in self.prefixes:
                return True
        return False

    def record_storages(self, member: str, results: list[Any]) -> None:
        prefix, base = _split(member.lower())
        stem = base.removesuffix(".pkl")
        data_dir = f"{prefix}/data/" if prefix else "data/"
        own_dir = f"{prefix}/{stem}/" if prefix else f"{stem}/"
        for res in results:
            for pid in res.persistent_ids:
                if type(pid) is tuple and len(pid) >= 3 and pid[0] in ("storage", b"storage"):
                    key = pid[2].decode("ascii", "replace") if isinstance(pid[2], bytes) else pid[2]
                    if isinstance(key, str):
                        key = key.lower()
                        self.storage_keys.add(data_dir + key)
                        self.storage_keys.add(own_dir + key)

    @contextlib.contextmanager
    def content(self, entry: ZipEntry, label: str) -> Iterator[bytes | memoryview | None]:
        """The member's bytes (a view for stored members), released afterwards; None if unreadable."""
        data: bytes | memoryview | None = None
        try:
            data = self.archive.read(entry, self.ctx, label)
        except ZipLimit:
            if self.archive.inflated > self.ctx.limits.max_decompressed_bytes:
                self.stop = True
        except ValueError as exc:
            self.ctx.add("SL203", f"{label}: {exc}; the member was not scanned", severity=Severity.HIGH,
                         subject=f"method:{label}")
        except (zlib.error, OSError, EOFError) as exc:
            self.ctx.add("SL002", f"{label}: cannot be decompressed ({exc})", subject=label)
        try:
            yield data
        finally:
            if isinstance(data, memoryview):
                with contextlib.suppress(BufferError):
                    data.release()

    # -- members -------------------------------------------------------------------------------------
    def run(self) -> None:
        entries = self.archive.entries
        if self.torchscript:
            self.ctx.add("SL201", "TorchScript archive: torch.load hands it to torch.jit.load, which runs the "
                         "archive's code (CVE-2025-32434); load it with torch.jit.load only if you trust it",
                         subject="torchscript")
        deferred = []
        for entry in entries:
            if self.stop:
                return
            if self.prefixes and self.is_storage_candidate(entry):
                deferred.append(entry)
            else:
                self.member(entry)
        for entry in deferred:
            if self.stop:
                return
            referenced = any(n in self.storage_keys for n in self.lower[id(entry)])
            by_name = any(unpickled_by_name(n) for n in entry.names)
            if referenced and not by_name and self.archive.head(entry, 6) != b"\x93NUMPY":
                continue
            self.member(entry)

    def member(self, entry: ZipEntry) -> None:
        label = entry.name
        ctx = self.ctx
        ctx.check_time()
        lower = label.lower()
        if self.torchscript and "/code/" in f"/{lower}" and lower.endswith(".py"):
            with self.content(entry, label) as data:
                if data is not None:
                    scan_torchscript_code(bytes(data[:_CODE_MAX]).decode("utf-8", "replace"), label, ctx)
            return
        with self.content(entry, label) as data:
            if data is None:
                return
            fmt = sniff(data, posixpath.basename(label), safetensors=False)
            # Loaders unpickle some members by name, whatever their first byte: sniffing only adds readings.
            as_pickle = fmt is Format.PICKLE or (len(data) > 0 and any(unpickled_by_name(n) for n in entry.names))
            other = fmt in SCANNED_MEMBER_FORMATS and fmt is not Format.PICKLE
            if not as_pickle and not other:
                return
            if len(data) <= _CRC_CHECK_MAX or entry.method != STORED:
                self.archive.check_crc(entry, data, ctx, label)
            try:
                if as_pickle:
                    self.pickle_member(entry, data, label)
                if other:
                    from safeload.scan import scan_buffer

                    with ctx.inside(label, nested=fmt in _CONTAINERS):
                        scan_buffer(data, ctx, name=posixpath.basename(label))
            except LimitExceeded as exc:
                ctx.add_limit(exc)

    def pickle_member(self, entry: ZipEntry, data: bytes | memoryview, label: str) -> None:
        """Scan a member that sniffs as a pickle (or that a loader unpickles by name) in a side context, then keep
        what matters.

        A member that breaks before importing or calling anything cannot run code under any loader, so it is
        noted as data, not as an unparseable pickle; "breaks" is decided by the C unpickler's own framing
        (``breaks_before_import``), never by where the engine stopped, which may be earlier. In TorchScript
        archives, names the C++ unpickler resolves from the archive's own code (``__torch__.*``) are facts, not
        imports.
        """
        ctx = self.ctx
        sub = ScanContext(ctx.policy, ctx.source, ctx.path)
        sub.deadline = ctx.deadline
        with contextlib.ExitStack() as stack:
            if ctx.member is not None:
                stack.enter_context(sub.inside(ctx.member))
            stack.enter_context(sub.inside(label))
            results = _scan_pickle_bytes(data, sub)
        ctx.bytes_scanned += sub.bytes_scanned
        serious = [f for f in sub.findings if f.severity > Severity.INFO]
        imports = any(res.globals_seen for res in results)
        if serious and not imports and all(f.rule_id in {"SL002", "SL108"} for f in serious) \
                and breaks_before_import(data):
            ctx.add("SL207", f"{label}: not a pickle any loader could run (it breaks before importing or calling "
                    "anything)", subject=f"data:{label}")
            return
        for finding in sub.findings:
            subject = finding.subject or ""
            if self.torchscript and subject.startswith(_TORCHSCRIPT_NAMES):
                ctx.add("SL207", f"TorchScript type {subject} (compiled from the archive's code/, not imported)",
                        subject=subject, member=finding.location.member, offset=finding.location.offset)
                continue
            ctx.add(finding.rule_id, finding.message, severity=finding.severity, subject=finding.subject,
                    offset=finding.location.offset, trustable=finding.trustable, details=finding.details,
                    member=finding.location.member)
        self.record_storages(label, results)


def _scan_pickle_bytes(data: bytes | memoryview, ctx: ScanContext) -> list[Any]:
    """``scan_buffer`` for a pickle member, keeping the stream results (their persistent ids name storages)."""
    from safeload.scanners.pickle import scan_pickle

    ctx.bytes_scanned += len(data)
    results: list[Any] = []
    try:
        results = scan_pickle(data, ctx)
        if find_zip_end(data) >= 0:
            ctx.add("SL206", "the member is both a pickle (at the start) and a zip archive (at the end)")
            with ctx.inside("<appended zip>", nested=True):
                scan_zip(data, ctx)
    except LimitExceeded as exc:
        ctx.add_limit(exc)
    except Exception as exc:  # a scanner failure must block, never pass
        logger.exception("internal error scanning a pickle member of %s", ctx.source)
        ctx.add("SL005", f"internal error in the pickle scanner: {type(exc).__name__}: {exc}")
    return results


# -- TorchScript code ---------------------------------------------------------------------------------------
_EFFECTS: tuple[tuple[re.Pattern[str], str, Severity], ...] = (
    (re.compile(r"\btorch\.(?:ops\.aten\.)?save\s*\("), "torch.save writes a file", Severity.CRITICAL),
    (re.compile(r"\btorch\.(?:ops\.aten\.)?from_file\s*\("), "torch.from_file reads a file", Severity.CRITICAL),
    (re.compile(r"\btorch\.(?:ops\.aten\.)?_?load\s*\("), "loads another serialized object", Severity.CRITICAL),
    (re.compile(r"\b(?:os|subprocess|shutil|socket|builtins)\.\w+\s*\("), "process or file operation",
     Severity.CRITICAL),
    (re.compile(r"(?<![\w.])open\s*\("), "opens a file", Severity.CRITICAL),
    (re.compile(r"\btorch\.ops\.(?!aten\b|prim\b|quantized\b|_quantized\b)(\w+)\.\w+"),
     "custom operator (native code registered in the loading process)", Severity.HIGH),
)
_DEF = re.compile(r"^(\s*)def\s+(\w+)\s*\(", re.MULTILINE)
_SELF_CALL = re.compile(r"\bself\)?\.(\w+)\s*\(")


def _functions(code: str) -> dict[str, str]:
    """Function bodies by name (TorchScript's printed code is regular, indentation-structured Python)."""
    out: dict[str, str] = {}
    matches = list(_DEF.finditer(code))
    for i, match in enumerate(matches):
        indent = len(match.group(1))
        end = len(code)
        for later in matches[i + 1:]:
            if len(later.group(1)) <= indent:
                end = later.start()
                break
        out[match.group(2)] = out.get(match.group(2), "") + code[match.start():end]
    return out


def scan_torchscript_code(code: str, label: str, ctx: ScanContext) -> None:
    """Rank side-effecting calls in one ``code/`` file: CRITICAL when ``__setstate__`` (which torch.jit.load
    runs) reaches them, HIGH when only running the model does."""
    ctx.note_format("torchscript")
    functions = _functions(code)
    at_load = {"__setstate__"}
    changed = True
    while changed:
        changed = False
        for name in list(at_load):
            for callee in _SELF_CALL.findall(functions.get(name, "")):
                if callee in functions and callee not in at_load:
                    at_load.add(callee)
                    changed = True
    if "__setstate__" in functions:
        ctx.add("SL207", "TorchScript __setstate__: runs while torch.jit.load restores the module",
                subject=f"{label}:__setstate__")
    for fname, body in functions.items():
        in_load = fname in at_load
        for pattern, what, level in _EFFECTS:
            for match in pattern.finditer(body):
                call = match.group(0).rstrip("( \t")
                severity = level if in_load else min(level, Severity.HIGH)
                when = f"in {fname}, which torch.jit.load runs" if in_load else f"in {fname}, when the model runs"
                ctx.add("SL202", f"TorchScript code calls {call} ({what}) {when}", severity=severity,
                        subject=call)


def scan_zip(data: Any, ctx: ScanContext) -> None:
    """Scan every member of the zip archive in ``data`` (bytes, mmap or memoryview) by content."""
    ctx.note_format("zip")
    archive = open_archive(data, ctx)
    if archive is None:
        ctx.add("SL002", "looks like a zip archive, but no central directory or member header was found")
        return
    if archive.start > 0:
        _scan_prefix(data, archive.start, ctx)
    _report_ambiguities(data, archive, ctx)
    scan = _Scan(archive, ctx)
    if not archive.entries:
        ctx.add("SL207", "empty zip archive", subject="empty-zip")
        return
    scan.run()
    names = {n for e in archive for n in e.names}
    if "config.json" in names:  # Keras reads config.json alone (it never needs metadata.json)
        _keras_handoff(archive, ctx)
    ctx.add("SL207", f"zip archive, {len(archive.entries)} member(s)"
            + (f", torch prefix {sorted(scan.prefixes)[0]!r}" if scan.prefixes else ""),
            subject="zip-info", details={"members": len(archive.entries), "torchscript": scan.torchscript})


def _report_ambiguities(data: Any, archive: ZipArchive, ctx: ScanContext) -> None:
    """SL208 for every way torch's, numpy's/Keras' and safeload's readers can see different archives."""
    regions = [Region(e.header_offset, e.data_offset, e.data_offset + e.compressed_size, e.name)
               for e in archive if e.in_central]
    for found in find_ambiguities(data, archive.views, regions):
        ctx.add("SL208", found.message, subject=f"ambiguous-zip:{found.kind}", offset=found.offset)


def _scan_prefix(data: Any, start: int, ctx: ScanContext) -> None:
    """Bytes before the first local header: anything a loader could read there is scanned too."""
    head = data[:start]
    if start <= 8 or sniff(head, safetensors=False) not in SCANNED_MEMBER_FORMATS:
        return
    from safeload.scan import scan_buffer

    with ctx.inside("<before the archive>", nested=True):
        scan_buffer(head, ctx)


def _keras_handoff(archive: ZipArchive, ctx: ScanContext) -> None:
    """A Keras v3 archive: its ``config.json`` names the classes and functions Keras will import."""
    try:
        from safeload.scanners.keras import scan_keras_config
    except (ImportError, AttributeError) as exc:
        ctx.add("SL005", f"the Keras config scanner is unavailable ({exc}); config.json was not checked",
                subject="keras-config")
        return
    # Every copy: with duplicate names Keras (like zipfile) reads the last one, scanners often the first.
    for copy, entry in enumerate(e for e in archive if "config.json" in e.names):
        try:
            content = archive.read(entry, ctx, "config.json")
        except (ZipLimit, ValueError, zlib.error):
            ctx.add("SL002", "config.json could not be read from the archive", subject="config.json")
            continue
        config = bytes(content)
        if isinstance(content, memoryview):
            content.release()
        with ctx.inside("config.json" if copy == 0 else f"config.json#{copy + 1}"):
            scan_keras_config(config, ctx)
