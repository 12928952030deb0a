"""Every reading a plausible loader may take of one buffer, beyond the format it sniffs as.

Loaders do not sniff: ``torch.load`` tries ``tarfile`` before the legacy pickle path on any file that does not
start with ``PK\\x03\\x04``; Keras and ``zipfile`` find an archive from its end whatever precedes it; h5py finds
an HDF5 superblock at 512, 1024, ... bytes. A buffer that is valid in several of these ways is scanned in each.

Invariant: the result only ever *adds* formats to the sniffed one; it is computed from bytes alone (``tarfile``
parses the first header of an in-memory view, nothing is extracted or written).
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from safeload._sniff import Format, breaks_before_import, find_zip_end, hdf5_offset, sniff, tar_header_ok

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["other_readings"]


def other_readings(data: Any, primary: Format) -> list[Format]:
    """Formats, other than ``primary``, that some loader reads ``data`` as (polyglots): each is scanned too.

    - a zip end record in the last 64 KiB: ``zipfile`` (Keras, ``zipfile.is_zipfile`` users) opens the archive
      whatever precedes it (a pickle in front of a zip runs under ``pickle.load``/``torch.load``, THREATS C16);
    - an HDF5 superblock at 0, 512, 1024, ...: h5py reads it behind any user block;
    - a tar header ``tarfile`` accepts at offset 0: ``torch.load`` unpickles the ``storages``, ``tensors`` and
      ``pickle`` members of such a file before it ever tries the pickle at offset 0 (THREATS F2);
    - a safetensors file whose bytes are also what the sniffer would have called them without the safetensors
      rule (a pickle whose opcodes start in the header length, a compressed stream whose magic is the length):
      ``torch.load``/``joblib.load`` of it under another name reads that.
    """
    extra: list[Format] = []
    if primary is Format.SAFETENSORS:
        extra.extend(_besides_safetensors(data))
    if primary is not Format.ZIP and Format.ZIP not in extra and find_zip_end(data) >= 0:
        extra.append(Format.ZIP)
    if primary is not Format.HDF5 and Format.HDF5 not in extra and hdf5_offset(data) >= 0:
        extra.append(Format.HDF5)
    if primary is not Format.TAR and Format.TAR not in extra and tar_header_ok(data):
        from safeload.containers.torch import opens_as_tar  # tarfile: only for a plausible tar header

        if opens_as_tar(data):
            extra.append(Format.TAR)
    return extra


_NOT_A_READING = frozenset({Format.UNKNOWN, Format.TEXT, Format.EMPTY, Format.SAFETENSORS})


def _codec_errors() -> tuple[type[BaseException], ...]:
    """What a failed first decompression raises; ``lzma.LZMAError`` once ``_lzma`` has imported lzma (only
    then can it be raised)."""
    zlib, lzma = sys.modules.get("zlib"), sys.modules.get("lzma")  # the decompressors import them (issue 15)
    return (OSError, EOFError, ValueError, *((zlib.error,) if zlib is not None else ()),
            *((lzma.LZMAError,) if lzma is not None else ()))


def _bz2() -> Any:
    import bz2  # imported when a safetensors header reads as bz2 (issue 15: fixed costs)

    return bz2.BZ2Decompressor()


def _lzma() -> Any:
    import lzma

    return lzma.LZMADecompressor()


def _zlib(wbits_extra: int) -> Any:
    import zlib

    return zlib.decompressobj(zlib.MAX_WBITS | wbits_extra)


_STDLIB_CODECS: dict[Format, Callable[[], Any]] = {Format.GZIP: lambda: _zlib(16), Format.ZLIB: lambda: _zlib(0),
                  Format.BZIP2: _bz2, Format.XZ: _lzma, Format.LZMA: _lzma}


def _besides_safetensors(data: Any) -> list[Format]:
    """What the sniffer makes of a safetensors file without its safetensors rule, when a loader could read it so.

    A pickle reading counts unless every unpickler breaks before importing anything (a header length of 128 reads
    as PROTO then fails), whatever the sniffer says; a stdlib-compressed reading counts unless its first bytes
    already fail to decompress (a header length of 376 is a zlib header followed by an invalid block). Every
    other format counts.
    """
    readings = [] if breaks_before_import(data) else [Format.PICKLE]
    other = sniff(data, safetensors=False)
    if other in _NOT_A_READING or other is Format.PICKLE:
        return readings
    factory = _STDLIB_CODECS.get(other)
    if factory is not None:
        try:
            factory().decompress(bytes(data[:65536]), 1)
        except _codec_errors():
            return readings
    return [*readings, other]
