"""Which ONNX model a raw data file belongs to: the external-data files ``model.onnx`` names by ``location``.

A folder holding ``model.onnx`` and its external data (``model.onnx.data``, ``weights/w0.bin``) is one model:
the data files are raw tensor bytes that only that model reads, and the model's own scan checks every location
it names (``scanners.onnx``: SL603 for a location outside the folder, SL604 for a missing or short file). So a
data file with unrecognised content is reported as part of its model (SL811), not as unknown content.

Invariants: only locations that stay inside the model's folder (relative, no ``..``, no drive, no NUL, and
resolving inside it) claim a file; candidates are regular ``*.onnx`` files in the data file's folder and up to
``_LEVELS`` folders above it, whose bytes read as an ONNX model (nothing is imported, onnx included); each
model's locations are cached per (path, mtime, size, inode), so a folder of many shards parses its model once.
This only ever applies to content no scanner recognises: callers route by content first.
"""

from __future__ import annotations

import functools
import os
import stat

__all__ = ["external_data_owner", "external_locations"]

_LEVELS = 3  # locations like "weights/layer0/w.bin" name files below the model's folder
_MAX_CANDIDATES = 32  # .onnx files looked at per folder
_MAX_MODEL_BYTES = 2 << 30  # protobuf's own limit: no ONNX model file is bigger


def _escapes(location: str) -> bool:
    parts = location.replace("\\", "/").split("/")
    return (not location or "\0" in location or os.path.isabs(location) or location.startswith(("/", "\\"))
            or (len(location) > 1 and location[1] == ":") or ".." in parts)


@functools.lru_cache(maxsize=256)
def _locations(model: str, _key: tuple[int, int, int]) -> frozenset[str]:
    """Real paths of the external-data files the ONNX model at ``model`` names inside its own folder."""
    from safeload._protobuf import ProtobufError
    from safeload._sniff import looks_like_onnx
    from safeload._source import view_of_file
    from safeload.scanners.onnx import read_onnx

    folder = os.path.dirname(model)
    real_folder = os.path.realpath(folder)
    found: set[str] = set()
    try:
        with open(model, "rb") as handle, view_of_file(handle) as view:
            if not looks_like_onnx(view.data, model):
                return frozenset()
            facts = read_onnx(view.data)
    except (OSError, ProtobufError, ValueError):
        return frozenset()
    for ref in facts.external:
        for location in ref.locations:
            if _escapes(location):
                continue
            real = os.path.realpath(os.path.join(folder, location))
            if real.startswith(real_folder.rstrip(os.sep) + os.sep):
                found.add(real)
    return frozenset(found)


def external_locations(model: str) -> frozenset[str]:
    """The real paths ``model`` (an ``.onnx`` file) names as external data inside its folder (cached)."""
    try:
        info = os.stat(model)
    except OSError:
        return frozenset()
    if not stat.S_ISREG(info.st_mode) or info.st_size > _MAX_MODEL_BYTES:
        return frozenset()
    return _locations(os.path.abspath(model), (info.st_mtime_ns, info.st_size, info.st_ino))


def external_data_owner(path: str) -> str | None:
    """The ONNX model (a path relative to the data file's folder) that names ``path`` as external data, or None."""
    real = os.path.realpath(path)
    if real.lower().endswith(".onnx"):
        return None
    folder = os.path.dirname(os.path.abspath(path))
    for _level in range(_LEVELS):
        try:
            names = sorted(entry.name for entry in os.scandir(folder) if entry.name.lower().endswith(".onnx"))
        except OSError:
            names = []
        for name in names[:_MAX_CANDIDATES]:
            model = os.path.join(folder, name)
            if real in external_locations(model):
                return os.path.relpath(model, os.path.dirname(os.path.abspath(path)))
        parent = os.path.dirname(folder)
        if parent == folder:
            break
        folder = parent
    return None
