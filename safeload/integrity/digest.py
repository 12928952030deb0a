"""sha256 (and the other digests a model-signing manifest may name) of the very bytes the scan reads.

Invariants:
- a digest is computed over the buffer the scan maps and the loader loads (the same open file), never over a
  second open of the path; a directory's digest is the canonical manifest of :mod:`safeload.integrity.manifest`;
- hashing runs in a background thread while the scan runs in the calling thread (``hashlib`` releases the GIL
  for large buffers), and :class:`BufferHasher` is always joined before the buffer is released, so a mapping is
  never closed under a running hash;
- a digest that was asked for is never skipped, cached or guessed: no metadata (size, mtime) stands in for it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator

from safeload.exceptions import PolicyError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["ALGORITHMS", "BufferHasher", "file_digests", "has_blake3", "hash_buffer", "normalize_sha256"]

ALGORITHMS = ("sha256", "blake2b", "blake3")
_HEX = frozenset("0123456789abcdef")


def normalize_sha256(value: str) -> str:
    """``"sha256:ABC..."`` or ``"abc..."`` -> 64 lowercase hex characters; anything else is a PolicyError."""
    if not isinstance(value, str):
        raise PolicyError(f"expected_sha256 must be a hex string, got {type(value).__name__}")
    text = value.strip().lower().removeprefix("sha256:")
    if len(text) != 64 or not _HEX.issuperset(text):  # what re.fullmatch("[0-9a-f]{64}") accepted
        raise PolicyError(f"expected_sha256 must be 64 hex characters (optionally prefixed 'sha256:'), got {value!r}")
    return text


_BLAKE3_FOUND = False


def has_blake3() -> bool:
    """True when the ``blake3`` module (a dependency of model-signing, ``safeload[signing]``) is installed.

    A positive answer is remembered (a scan-cache hit asks several times; ``find_spec`` walks ``sys.path``)."""
    global _BLAKE3_FOUND  # noqa: PLW0603 - a process-wide memo of a fact that cannot become false
    if _BLAKE3_FOUND:
        return True
    import importlib.util

    try:
        _BLAKE3_FOUND = importlib.util.find_spec("blake3") is not None
    except ImportError:  # found only in the working directory (safeload/_stdlib_imports.py, red team R6-2)
        return False
    return _BLAKE3_FOUND


def _new(algorithm: str, size: int = 0) -> Any:
    import hashlib  # not at import time: ``import safeload`` stays light

    if algorithm == "sha256":
        return hashlib.sha256()
    if algorithm == "blake2b":
        return hashlib.blake2b()
    if algorithm == "blake3":
        import blake3  # shipped with model-signing (safeload[signing])

        # Threads pay off only for large inputs; for small files their start-up costs more than the hashing.
        return blake3.blake3(max_threads=blake3.blake3.AUTO if size >= 64 << 20 else 1)
    raise ValueError(f"unsupported digest algorithm {algorithm!r}")


def hash_buffer(data: Any, algorithms: Iterable[str] = ("sha256",)) -> dict[str, str]:
    """Hex digests of ``data`` (bytes, memoryview or mmap) for each algorithm, in one call each (GIL released)."""
    view = memoryview(data).cast("B") if not isinstance(data, bytes) else data
    try:
        out = {}
        for name in dict.fromkeys(algorithms):
            engine = _new(name, len(view))
            engine.update(view)
            out[name] = engine.hexdigest()
        return out
    finally:
        if isinstance(view, memoryview):
            view.release()


class BufferHasher:
    """Hash a buffer in a background thread; :meth:`join` returns the digests (or re-raises the error)."""

    def __init__(self, data: Any, algorithms: Iterable[str] = ("sha256",)) -> None:
        self._data = data
        self._algorithms = tuple(algorithms)
        self._digests: dict[str, str] | None = None
        self._error: BaseException | None = None
        import threading  # only a load that hashes starts a thread (issue 15: fixed costs)

        self._thread = threading.Thread(target=self._run, name="safeload-hash", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._digests = hash_buffer(self._data, self._algorithms)
        except BaseException as exc:  # noqa: BLE001 - handed to the joining thread, never lost
            self._error = exc

    def join(self) -> dict[str, str]:
        self._thread.join()
        self._data = None
        if self._error is not None:
            raise self._error
        assert self._digests is not None  # noqa: S101 - set whenever no error was recorded
        return self._digests


@contextlib.contextmanager
def _mapped(path: str | os.PathLike[str]) -> Iterator[tuple[Any, int]]:
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size == 0:
            yield b"", 0
            return
        import mmap

        mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        try:
            yield mapped, len(mapped)
        finally:
            mapped.close()


def file_digests(path: str | os.PathLike[str], algorithms: Iterable[str] = ("sha256",)) -> tuple[dict[str, str], int]:
    """Digests and size of a file, read once through a memory map (for files the scan does not read)."""
    with _mapped(path) as (data, size):
        return hash_buffer(data, algorithms), size
