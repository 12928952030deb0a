"""Shapes of allowlist data shared by the per-domain allowlist modules."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PrefixRule"]


@dataclass(frozen=True, slots=True)
class PrefixRule:
    """Allow names under ``prefix`` (which ends with a dot).

    ``classes_only`` restricts the match to names whose last component starts with an uppercase letter
    (classes, by convention), so functions in the same package stay unknown. ``exclude`` lists prefixes
    that stay outside the rule (download helpers, test utilities). Names with a dunder component never match.
    """

    prefix: str
    classes_only: bool = True
    exclude: tuple[str, ...] = ()

    def matches(self, name: str) -> bool:
        if not name.startswith(self.prefix) or name.startswith(self.exclude):
            return False
        last = name.rsplit(".", 1)[-1]
        return not (self.classes_only and not last[:1].isupper())
