"""Hand-reviewed methods: what each does when a load runs it, read from the installed source.

Keys are ``module.Class.method`` where the method is *defined* (a reviewed base method covers every subclass
that inherits it). A note starting with ``NOT INERT`` records a method reviewed and found unsafe for the use.
The generator consults this table before the pluggable ``inert.method_verdict`` hook and the effect scan.
"""

from __future__ import annotations

__all__ = ["REVIEWED_METHODS"]

REVIEWED_METHODS: dict[str, str] = {}
