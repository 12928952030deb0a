"""PyTorch's non-zip containers: the legacy stacked-pickle format and the older tar format.

Security invariants:
- every pickle ``torch.load`` unpickles is walked, in the order and at the offsets torch reads them: legacy
  files hold the magic number, protocol version, sys info, the main pickle and the storage-keys pickle,
  then raw storages; tar files hold ``sys_info``, ``pickle``, ``storages`` and ``tensors`` members whose
  pickles are interleaved with raw records (``safeload.containers.torch`` for the procedure: a file that
  sniffs as something else but that ``tarfile`` opens is scanned as a tar too);
- raw storage payloads are stepped over using the element count torch itself reads (an 8-byte header)
  and the element size of the storage type the pickle declared; payload bytes are never read or copied;
  a storage that cannot be located, or a size that runs past the data, is a blocking finding;
- whatever follows the last storage (torch never reads it) is scanned as a pickle if it looks like one,
  and reported as trailing data otherwise.
"""

from __future__ import annotations

import struct
from typing import Any

from safeload._context import LimitExceeded, ScanContext
from safeload._sniff import looks_like_pickle, sniff
from safeload._source import skipped, unpack_at, window
from safeload.containers.torch import TAR_RECORDS, read_tar
from safeload.severity import Severity

__all__ = ["LEGACY_PROTOCOL", "continue_legacy", "scan_tar", "storage_element_size"]

_I64 = struct.Struct("<q")
_I32 = struct.Struct("<i")

LEGACY_PROTOCOL = 1001
# torch.storage._storage_type_to_dtype_map() with torch._utils._element_size of each dtype.
_ELEMENT_SIZE = {
    "DoubleStorage": 8, "FloatStorage": 4, "HalfStorage": 2, "LongStorage": 8, "IntStorage": 4, "ShortStorage": 2,
    "CharStorage": 1, "ByteStorage": 1, "BoolStorage": 1, "BFloat16Storage": 2, "ComplexDoubleStorage": 16,
    "ComplexFloatStorage": 8, "QInt8Storage": 1, "QInt32Storage": 4, "QUInt8Storage": 1, "QUInt4x2Storage": 1,
    "QUInt2x4Storage": 1,
    "UntypedStorage": 1,  # newer dtypes (uint16, float8, ...) are written as untyped bytes
}


def storage_element_size(storage_type: Any) -> int | None:
    """Element size of a pickled storage type (a symbolic ``Global`` such as ``torch.FloatStorage``)."""
    name = getattr(storage_type, "name", None)
    if not isinstance(name, str):
        return None
    return _ELEMENT_SIZE.get(name.rsplit(".", 1)[-1])


def _storage_sizes(persistent_ids: list[Any]) -> dict[str, int | None]:
    sizes: dict[str, int | None] = {}
    for pid in persistent_ids:
        if isinstance(pid, tuple) and len(pid) >= 3 and pid[0] in ("storage", b"storage"):
            key = pid[2].decode("ascii", "replace") if isinstance(pid[2], bytes) else pid[2]
            if isinstance(key, str | int):
                sizes[str(key)] = storage_element_size(pid[1])
    return sizes


def _declared_storages(persistent_ids: list[Any]) -> dict[str, int]:
    """key -> bytes the legacy loader allocates for each storage the main pickle names: ``persistent_load`` makes
    ``torch.UntypedStorage(numel * element_size)`` from the persistent id ``('storage', type, key, location,
    numel, view_metadata)`` *before* it reads the storage's record (red team R13-4); a numel it cannot read counts
    as unbounded."""
    declared: dict[str, int] = {}
    for pid in persistent_ids:
        if isinstance(pid, tuple) and len(pid) >= 5 and pid[0] in ("storage", b"storage"):
            key = pid[2].decode("ascii", "replace") if isinstance(pid[2], bytes) else pid[2]
            numel, size = pid[4], storage_element_size(pid[1]) or 16
            if isinstance(key, str | int):
                declared.setdefault(str(key), numel * size if type(numel) is int and numel >= 0 else 1 << 63)
    return declared


def _check_declared(declared: dict[str, int], ctx: ScanContext, data_size: int, offset: int) -> None:
    from safeload.engine.allocation import allocation_bound

    total, bound = sum(declared.values()), allocation_bound(data_size, ctx.limits.max_allocation_bytes)
    if total > bound:
        ctx.add("SL018", f"the legacy torch file's storages declare {total} bytes, more than the {bound} bytes a file "
                f"of {data_size} bytes may ask for: torch allocates them before it reads their records",
                subject="torch-legacy-storage", offset=offset)


def _skip_storage(data: Any, pos: int, element_size: int, ctx: ScanContext, what: str) -> int | None:
    """Step over one raw storage record (int64 element count, then the elements); None if it does not fit."""
    n = len(data)
    if pos + 8 > n:
        ctx.add("SL018", f"{what}: the data ends inside a storage header", offset=pos)
        return None
    count: int = unpack_at(_I64, data, pos)[0]
    end = pos + 8 + count * element_size
    if count < 0 or end > n:
        ctx.add("SL018", f"{what}: a storage of {count} elements x {element_size} bytes runs past the end of the data",
                offset=pos)
        return None
    skipped(data, pos + 8, end)
    return end


def _trailing(walker: Any, pos: int, ctx: ScanContext) -> None:
    data = walker.data
    n = len(data)
    if pos >= n:
        return
    if looks_like_pickle(window(data, pos, pos + 65536)):
        from safeload.scanners.pickle import scan_pickle

        ctx.add("SL108", f"{n - pos} bytes after the last storage, which torch never reads, hold a pickle (scanned)",
                severity=Severity.LOW, offset=pos)
        scan_pickle(data, ctx, start=pos)
        return
    ctx.add("SL108", f"{n - pos} bytes after the last storage are not read by torch", offset=pos)


def continue_legacy(walker: Any, first: Any, ctx: ScanContext) -> None:
    """Scan the rest of a legacy ``torch.save`` file after its magic-number pickle (``first``)."""
    ctx.note_format("torch-legacy")
    protocol = walker.walk(first.end)
    if not protocol.complete:
        return
    if protocol.value != LEGACY_PROTOCOL:
        ctx.add("SL203", f"legacy torch protocol {protocol.value!r} is not {LEGACY_PROTOCOL}: torch refuses the file; "
                "the rest is scanned as plain pickles", severity=Severity.LOW, subject="torch-protocol",
                offset=protocol.start)
    sys_info = walker.walk(protocol.end)
    if not sys_info.complete:
        return
    main = walker.walk(sys_info.end)
    if not main.complete:
        return
    keys = walker.walk(main.end)
    if not keys.complete:
        return
    sizes = _storage_sizes(main.persistent_ids)
    if not isinstance(keys.value, list):
        ctx.add("SL002", "the legacy storage-keys pickle is not a list: the storages cannot be located",
                offset=keys.start)
        return
    declared = _declared_storages(main.persistent_ids)
    _check_declared(declared, ctx, len(walker.data), main.start)
    pos = keys.end
    for key in keys.value:
        size = sizes.get(str(key)) if isinstance(key, str | int) else None
        if size is None:
            ctx.add("SL002", f"storage {key!r} has no declared type: the data after it cannot be located",
                    offset=pos)
            return
        after = _skip_storage(walker.data, pos, size, ctx, "legacy torch file")
        if after is None:
            return
        if after - pos - 8 != declared.get(str(key)):
            ctx.add("SL018", f"legacy torch storage {key!r} declares {declared.get(str(key))} bytes in the pickle and "
                    f"holds {after - pos - 8}: torch allocates the declared size, then fails", offset=pos)
        pos = after
    ctx.add("SL207", f"legacy torch format, {len(keys.value)} storage(s)", subject="torch-legacy",
            details={"storages": len(keys.value)})
    _trailing(walker, pos, ctx)


# -- legacy tar format ------------------------------------------------------------------------------------
def _walk_records(data: Any, ctx: ScanContext, what: str, tensors: bool) -> None:
    """``storages``/``tensors`` members: a count pickle, then per record a pickle and a raw part."""
    from safeload.scanners.pickle import PickleWalker

    walker = PickleWalker(data, ctx)
    n = len(walker.data)
    count = walker.walk(0)
    if not count.complete:
        return
    if type(count.value) is not int or count.value < 0 or count.value > n:
        ctx.add("SL002", f"{what}: the record count is not a plausible integer", offset=0)
        return
    pos = count.end
    for _ in range(count.value):
        ctx.check_time()
        record = walker.walk(pos)
        if not record.complete:
            return
        pos = record.end
        if tensors:
            if pos + 8 > n:
                ctx.add("SL018", f"{what}: the data ends inside a tensor header", offset=pos)
                return
            ndim = unpack_at(_I32, walker.data, pos)[0]
            pos += 8 + 16 * ndim + 8
            if ndim < 0 or pos > n:
                ctx.add("SL018", f"{what}: a tensor header runs past the end of the data", offset=pos)
                return
            continue
        value = record.value
        size = storage_element_size(value[2]) if isinstance(value, tuple) and len(value) == 3 else None
        if size is None:
            ctx.add("SL002", f"{what}: a storage record without a known storage type; the rest cannot be located",
                    offset=record.start)
            return
        after = _skip_storage(walker.data, pos, size, ctx, what)
        if after is None:
            return
        pos = after
    if not tensors:
        views = walker.walk(pos)
        if not views.complete:
            return
        pos = views.end
    _trailing(walker, pos, ctx)


def scan_tar(data: Any, ctx: ScanContext) -> None:
    """Scan a tar archive: torch's legacy tar checkpoint members by layout, any other member by content.

    Members are listed by ``tarfile`` itself (the parser ``torch.load`` uses); every member ``tarfile`` hands
    out as a file (regular, or of an unknown type) is scanned. ``storages``, ``tensors`` and ``pickle`` are read
    by torch by name: every copy is walked whatever its first byte, and one that is a link or a sparse member
    (torch would read bytes other than its own contiguous data) makes the file ambiguous (SL208).
    """
    from safeload.scan import scan_buffer
    from safeload.scanners.pickle import scan_pickle
    from safeload.scanners.zip import SCANNED_MEMBER_FORMATS

    ctx.note_format("tar")
    listing = read_tar(data, ctx.limits.max_members)
    if listing.truncated:
        ctx.add("SL015", f"more than {ctx.limits.max_members} tar members; the rest was not scanned")
    if listing.error is not None:
        ctx.add("SL002", f"the tar archive is malformed after {len(listing.members)} member(s): {listing.error}")
    names = {m.name.rsplit("/", 1)[-1] for m in listing.members}
    if {"pickle", "storages", "tensors"} <= names:
        ctx.add("SL207", "legacy torch tar checkpoint (torch.load unpickles every member with weights_only=False)",
                subject="torch-tar")
    for member in listing.members:
        name, offset, size = member.name, member.offset, member.size
        base = name.rsplit("/", 1)[-1]
        if base in TAR_RECORDS and member.kind in {"link", "sparse"}:
            ctx.add("SL208", f"tar member {name!r} is a {member.kind}: torch.load reads other bytes under this "
                    "name than the member's own data", subject=f"ambiguous-tar:{name}")
        if member.kind not in {"file", "sparse"}:
            continue
        end = min(offset + size, len(data))
        if end - offset < size:
            ctx.add("SL018", f"tar member {name!r} is truncated", subject=name)
        chunk = window(data, offset, end)
        try:
            with ctx.inside(name):
                if base in {"storages", "tensors"}:
                    _walk_records(chunk, ctx, f"tar member {name!r}", tensors=base == "tensors")
                elif base in {"pickle", "sys_info"}:
                    scan_pickle(chunk, ctx)
                elif size and sniff(chunk, base, safetensors=False) in SCANNED_MEMBER_FORMATS:
                    scan_buffer(chunk, ctx, name=base)
        except LimitExceeded as exc:
            ctx.add_limit(exc)
        finally:
            chunk.release()

