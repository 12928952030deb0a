"""Scanner registry: one scanner function per detected format, imported only when that format is seen.

Every scanner has the signature ``scan(data, ctx) -> None`` and reports through ``ctx.add``; it must never
import, unpickle or call anything named in the data, and must never let a malformed input pass silently.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from safeload._context import ScanContext
from safeload._sniff import Format

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["SCANNERS", "Scanner", "get_scanner"]

if TYPE_CHECKING:
    Scanner = Callable[[Any, ScanContext], None]
else:  # no ``typing`` at run time (issue 15: fixed costs)
    Scanner = Callable

SCANNERS: dict[Format, str] = {
    Format.PICKLE: "safeload.scanners.pickle:scan_pickle_buffer",
    Format.ZIP: "safeload.scanners.zip:scan_zip",
    Format.NUMPY: "safeload.scanners.numpy:scan_npy",
    Format.GZIP: "safeload.scanners.compressed:scan_compressed",
    Format.BZIP2: "safeload.scanners.compressed:scan_compressed",
    Format.XZ: "safeload.scanners.compressed:scan_compressed",
    Format.LZMA: "safeload.scanners.compressed:scan_compressed",
    Format.ZLIB: "safeload.scanners.compressed:scan_compressed",
    Format.LZ4: "safeload.scanners.compressed:scan_compressed",
    Format.ZSTD: "safeload.scanners.compressed:scan_compressed",
    Format.ONNX: "safeload.scanners.onnx:scan_onnx",
    Format.HDF5: "safeload.scanners.keras:scan_h5",
    Format.SAVED_MODEL: "safeload.scanners.savedmodel:scan_saved_model_pb",
    Format.TAR: "safeload.scanners.torch:scan_tar",
    Format.SAFETENSORS: "safeload.scanners.safetensors:scan_safetensors",
    Format.TEXT: "safeload.scanners.text:scan_text",
}


def get_scanner(fmt: Format) -> Scanner | None:
    target = SCANNERS.get(fmt)
    if target is None:
        return None
    module_name, _, func = target.partition(":")
    __import__(module_name)  # not importlib (issue 15: it imports ``warnings``)
    module = sys.modules[module_name]  # safeload's own scanner module
    scanner: Scanner = getattr(module, func)
    return scanner
