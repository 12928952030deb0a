"""Hand-reviewed allowlist entries: each says which uses a load may make of the name, and why that is inert.

These take precedence over the generated shards. Every entry carries its review note.
"""

from __future__ import annotations

from collections.abc import Mapping

from safeload.catalog.entries import Entry

__all__ = ["REVIEWED"]

REVIEWED: Mapping[str, Entry] = {}
