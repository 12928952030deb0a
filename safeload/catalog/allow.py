"""The merged allowlist: exact names and prefix rules from each domain module."""

from __future__ import annotations

from safeload.catalog import allow_ml, allow_numpy, allow_python, allow_torch
from safeload.catalog._types import PrefixRule

__all__ = ["EXACT", "NESTED_TORCH", "PREFIXES", "TRANSFORMS", "UFUNC_RECONSTRUCTORS", "is_allowed"]

EXACT: frozenset[str] = (allow_python.EXACT | allow_numpy.EXACT | allow_torch.EXACT | allow_ml.EXACT
                         | allow_ml.CLASS_EXTRAS)
PREFIXES: tuple[PrefixRule, ...] = allow_numpy.PREFIXES + allow_torch.PREFIXES + allow_ml.PREFIXES
TRANSFORMS = allow_python.TRANSFORMS
UFUNC_RECONSTRUCTORS = allow_numpy.UFUNC_RECONSTRUCTORS
NESTED_TORCH = allow_torch.NESTED_TORCH


def is_allowed(full_name: str) -> bool:
    """True if ``full_name`` (``module.qualname``) is on the allowlist. Never imports anything."""
    if full_name in EXACT:
        return True
    module, _, last = full_name.rpartition(".")
    if last.startswith("__pyx_unpickle_"):
        # Cython's pickle support: module.__pyx_unpickle_Cls rebuilds module.Cls and nothing else.
        return is_allowed(f"{module}.{last.removeprefix('__pyx_unpickle_')}")
    if "__" in full_name:
        return False
    return any(rule.matches(full_name) for rule in PREFIXES)
