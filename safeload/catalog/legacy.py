"""Transitional package rules from safeload 0.1, kept until the generated shards cover these packages.

A prefix rule admits classes (capitalised last component, no dunder) under a package. It is weaker than a
generated entry: it cannot tell a class defined there from a re-export of something else. What keeps it from
admitting what it should not: denials (with the generated alias table: ``sklearn...Thread`` *is*
``threading.Thread``) are looked up first and win; classes known to act at construction are denied by name
(``sklearn.callback``, ``Parallel``, ``Memory``); a rule never matches an attribute path (a dotted qualname walks
through a module: ``sklearn.utils.fixes`` + ``pd.core...Expr``). The boosters' packages have no rule: their
estimators are reviewed by name, and their ``Dataset`` frees a native handle from its state in ``__del__``.

Invariant: string matching only; nothing is imported.
"""

from __future__ import annotations

from safeload._record import FrozenRecord
from safeload.catalog.entries import Entry, parse_uses

__all__ = ["NESTED_TORCH", "PREFIXES", "PrefixRule", "lookup", "nested_kind"]


class PrefixRule(FrozenRecord):
    """Allow class names under ``prefix`` (which ends with a dot), except those under ``exclude``."""

    _FIELDS = ("prefix", "exclude")
    __slots__ = ("exclude", "prefix")
    prefix: str
    exclude: tuple[str, ...]

    def __init__(self, prefix: str, exclude: tuple[str, ...] = ()) -> None:
        object.__setattr__(self, "prefix", prefix)
        object.__setattr__(self, "exclude", exclude)

    def matches(self, name: str) -> bool:
        if not name.startswith(self.prefix) or name.startswith(self.exclude):
            return False
        last = name.rsplit(".", 1)[-1]
        return last[:1].isupper() and "__" not in name


PREFIXES: tuple[PrefixRule, ...] = ()  # every 0.1 package rule is replaced by generated entries

_PREFIX_ENTRY = Entry(parse_uses("CALL NEW ALLOC INVOKE BUILD MUTATE HASH PASSED CALL_INSTANCE"), (),
                      "safeload 0.1 package rule (transitional; replaced by generated entries)", "legacy-prefix")

# torch's own pickle-in-bytes for storages: allowed, and its bytes are scanned as a torch file.
NESTED_TORCH: frozenset[str] = frozenset({"torch.storage._load_from_bytes"})
_NESTED_ENTRY = Entry(parse_uses("CALL PASSED HASH"), (),
                      "torch.load of embedded bytes; the bytes are scanned as a torch file")


def lookup(name: str) -> Entry | None:
    if name in NESTED_TORCH:
        return _NESTED_ENTRY
    if any(rule.matches(name) for rule in PREFIXES):
        return _PREFIX_ENTRY
    return None


def nested_kind(name: str) -> str | None:
    return "any" if name in NESTED_TORCH else None
