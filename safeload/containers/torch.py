"""``torch.load``'s procedure (torch 2.13, ``torch/serialization.py``), as facts the scanners follow.

1. A ``.safetensors`` *path* goes to ``safetensors.torch.load_file`` (no unpickling).
2. ``PK\\x03\\x04`` at the current position: the zip path, read by miniz (``PyTorchFileReader``; see
   ``containers.miniz``). The archive name is the first central-directory entry's name up to its first ``/``;
   every record is looked up as ``<archive name>/<record>``, ASCII case-insensitively. If the records include
   ``constants.pkl`` the file is TorchScript and goes to ``torch.jit.load``; otherwise ``data.pkl`` is unpickled
   (whatever its first byte) and tensors are read raw from ``data/<key>``. A zip miniz refuses is an error:
   there is no fallback to the legacy path.
3. Anything else, when the file has a descriptor and is at offset 0: ``tarfile.open(mode="r:")``. If that works,
   the members ``storages`` (a count pickle, then per storage a pickle and raw bytes, then a views pickle),
   ``tensors`` (a count pickle, then per tensor a pickle and a raw header) and ``pickle`` are read by exact name,
   the last member of that name winning, links followed; no other member is read.
4. Otherwise (``tarfile.TarError``): the legacy format, pickles stacked from offset 0 (magic number, protocol,
   sys info, the main pickle, the storage keys), then raw storages. The first pickle is unpickled before the
   magic number is checked.

Invariant: facts only; ``tarfile`` parses headers of an in-memory view and never extracts or writes.
"""

from __future__ import annotations

import tarfile
from dataclasses import dataclass
from typing import Any

from safeload._source import BufferFile

__all__ = ["PICKLE_RECORDS", "TAR_RECORDS", "ZIP_MAGIC", "TarListing", "TarMember", "archive_name",
           "opens_as_tar", "read_tar", "unpickled_by_name"]

ZIP_MAGIC = b"PK\x03\x04"
# Records torch (and torch.jit.load) unpickle by name under the archive prefix.
PICKLE_RECORDS = ("data.pkl", "constants.pkl")
# Names under which some loader unpickles a member by name, whatever its content looks like. Wider than torch's
# own records on purpose: ``*.pkl`` members are what other code opens with pickle by name.
_PICKLE_SUFFIXES = (".pkl", ".pickle", ".debug_pkl")
TAR_RECORDS = ("storages", "tensors", "pickle")


def archive_name(first_entry_name: bytes) -> bytes | None:
    """The prefix torch reads every record under: the first central entry's name up to its first ``/``."""
    cut = first_entry_name.find(b"/")
    return None if cut < 0 else first_entry_name[:cut]


def unpickled_by_name(name: str) -> bool:
    """True when a loader unpickles a zip member of this name without looking at its first byte."""
    return name.lower().endswith(_PICKLE_SUFFIXES)


@dataclass(frozen=True, slots=True)
class TarMember:
    """One tar member as ``tarfile`` lists it. ``kind``: ``file`` (``extractfile`` hands out ``size`` bytes from
    ``offset``: regular members and members of unknown type), ``sparse`` (bytes reassembled from a map),
    ``link`` (the bytes of another member) or ``other`` (no data)."""

    name: str
    offset: int
    size: int
    kind: str


@dataclass
class TarListing:
    members: list[TarMember]
    error: str | None = None
    truncated: bool = False


def opens_as_tar(data: Any) -> bool:
    """``tarfile.open(fileobj=..., mode="r:")`` succeeds, as in torch's first attempt on a non-zip file."""
    raw = BufferFile(data)
    try:
        with tarfile.open(fileobj=raw, mode="r:"):
            return True
    except (tarfile.TarError, EOFError, ValueError, UnicodeError, OverflowError):
        return False
    finally:
        raw.close()


def _kind(info: tarfile.TarInfo) -> str:
    if info.issparse():
        return "sparse"
    if info.isreg() or info.type not in tarfile.SUPPORTED_TYPES:
        return "file"
    if info.islnk() or info.issym():
        return "link"
    return "other"


def read_tar(data: Any, max_members: int) -> TarListing:
    """Every member header ``tarfile`` reads, in order, up to ``max_members``."""
    raw = BufferFile(data)
    listing = TarListing([])
    try:
        with tarfile.open(fileobj=raw, mode="r:") as tar:  # the parser torch.load itself uses
            for info in tar:
                if len(listing.members) >= max_members:
                    listing.truncated = True
                    break
                listing.members.append(TarMember(info.name, info.offset_data, info.size, _kind(info)))
    except (tarfile.TarError, EOFError, ValueError, UnicodeError, OverflowError) as exc:
        listing.error = f"{type(exc).__name__}: {exc}"
    finally:
        raw.close()
    return listing
