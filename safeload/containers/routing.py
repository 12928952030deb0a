"""Every reading a plausible loader may take of one buffer, beyond the format it sniffs as.

Loaders do not sniff: ``torch.load`` tries ``tarfile`` before the legacy pickle path on any file that does not
start with ``PK\\x03\\x04``; Keras and ``zipfile`` find an archive from its end whatever precedes it; h5py finds
an HDF5 superblock at 512, 1024, ... bytes. A buffer that is valid in several of these ways is scanned in each.

Invariant: the result only ever *adds* formats to the sniffed one; it is computed from bytes alone (``tarfile``
parses the first header of an in-memory view, nothing is extracted or written).
"""

from __future__ import annotations

from typing import Any

from safeload._sniff import Format, breaks_before_import, find_zip_end, hdf5_offset, tar_header_ok
from safeload.containers.torch import opens_as_tar

__all__ = ["other_readings"]


def other_readings(data: Any, primary: Format) -> list[Format]:
    """Formats, other than ``primary``, that some loader reads ``data`` as (polyglots): each is scanned too.

    - a zip end record in the last 64 KiB: ``zipfile`` (Keras, ``zipfile.is_zipfile`` users) opens the archive
      whatever precedes it (a pickle in front of a zip runs under ``pickle.load``/``torch.load``, THREATS C16);
    - an HDF5 superblock at 0, 512, 1024, ...: h5py reads it behind any user block;
    - a tar header ``tarfile`` accepts at offset 0: ``torch.load`` unpickles the ``storages``, ``tensors`` and
      ``pickle`` members of such a file before it ever tries the pickle at offset 0 (THREATS F2);
    - a safetensors file whose first bytes also run as a pickle (the header length's low byte is an opcode and
      the JSON header can carry the rest): ``torch.load``/``pickle.load`` of it under another name unpickles it.
    """
    extra: list[Format] = []
    if primary is Format.SAFETENSORS and not breaks_before_import(data):
        extra.append(Format.PICKLE)
    if primary is not Format.ZIP and find_zip_end(data) >= 0:
        extra.append(Format.ZIP)
    if primary is not Format.HDF5 and hdf5_offset(data) >= 0:
        extra.append(Format.HDF5)
    if primary is not Format.TAR and tar_header_ok(data) and opens_as_tar(data):
        extra.append(Format.TAR)
    return extra
