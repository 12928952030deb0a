"""Integrity on load: pinned digests, the ``safeload.lock`` file, OpenSSF model signatures, and the scan cache.

- :mod:`~safeload.integrity.digest`: sha256 of the buffer the scan reads, hashed in parallel with the scan;
- :mod:`~safeload.integrity.manifest`: the canonical manifest digest of a model directory;
- :mod:`~safeload.integrity.lockfile`: the lock file (schema, reading, writing);
- :mod:`~safeload.integrity.signing`: ``model-signing`` verification (key, certificate chain, Sigstore);
- :mod:`~safeload.integrity.cache`: the SQLite scan cache keyed by sha256;
- :mod:`~safeload.integrity.options` and :mod:`~safeload.integrity.check`: the options every loader takes
  and the checks run around one scan.

Invariant: nothing is handed to a real loader before every requested check passed; a check that cannot run
fails. A signature proves who published the bytes, not that they are safe: the scan always runs as well.
"""

from __future__ import annotations

from safeload.integrity.options import Integrity, integrity_options

__all__ = ["Integrity", "integrity_options"]
