"""Classify an importable name as allowed, denied (ranked), dynamic, or unknown.

Invariant: classification works on strings only. It never imports a module or looks an attribute up; the
only process state it reads is the pickle module's own py2 name-mapping table (``_compat_pickle``), which is
data that the real unpickler applies to the same names.
"""

from __future__ import annotations

import _compat_pickle
import functools
from dataclasses import dataclass

from safeload.catalog.allow import EXACT, NESTED_TORCH, TRANSFORMS, UFUNC_RECONSTRUCTORS, is_allowed
from safeload.catalog.deny import DENY, DenyEntry
from safeload.severity import Severity

__all__ = ["ARGCHECK", "Classification", "candidate_names", "classify"]

# Names whose danger depends on their arguments; the pickle engine decides at call time.
ARGCHECK: frozenset[str] = frozenset({
    "builtins.getattr", "builtins.type", "dill._dill._load_type", "copyreg._reconstructor",
    "copyreg.__newobj__", "copyreg.__newobj_ex__", "functools.partial",
}) | UFUNC_RECONSTRUCTORS

# Modules whose appearance as an *attribute* inside a dotted name means the path walks into them
# (``pathlib`` + ``os.system``, ``numpy`` + ``core._internal.sys.modules``).
_MODULE_KEYS = frozenset(key for key in DENY if "." not in key)

# Dunder components that are normal in real pickles.
_OK_DUNDERS = frozenset({"__newobj__", "__newobj_ex__", "__main__", "__builtin__", "__randomstate_ctor",
                         "__bit_generator_ctor", "__generator_ctor", "__RandomState_ctor"})


@dataclass(frozen=True, slots=True)
class Classification:
    """``kind`` is ``allowed``, ``denied``, ``dynamic`` (dunder/attribute tricks), ``argcheck`` or ``unknown``."""

    kind: str
    full_name: str
    severity: Severity | None = None
    rule_id: str | None = None
    reason: str = ""
    floor: bool = False
    nested: str | None = None


def candidate_names(module: str, name: str) -> tuple[str, ...]:
    """The dotted names a (module, name) pair can resolve to: as written, and after py2 name mapping."""
    names = [f"{module}.{name}" if name else module]
    mapped = _compat_pickle.NAME_MAPPING.get((module, name))
    if mapped is not None:
        names.append(f"{mapped[0]}.{mapped[1]}")
    elif module in _compat_pickle.IMPORT_MAPPING:
        new_module = _compat_pickle.IMPORT_MAPPING[module]
        names.append(f"{new_module}.{name}" if name else new_module)
    return tuple(dict.fromkeys(names))


def _deny_for(full: str, module_parts: int) -> tuple[DenyEntry, str] | None:
    parts = full.split(".")
    best: tuple[DenyEntry, str] | None = None
    # The name itself, its modules, and attributes reached through a denied name.
    for i in range(1, len(parts) + 1):
        key = ".".join(parts[:i])
        entry = DENY.get(key)
        if entry is not None and (best is None or entry.severity > best[0].severity):
            best = (entry, key)
    if best is not None:
        return best
    # Attribute paths that walk into a dangerous module: pathlib.os.system, numpy.core._internal.sys.modules.
    for start in range(max(module_parts, 1), len(parts)):
        if parts[start] in _MODULE_KEYS:
            for end in range(start + 1, len(parts) + 1):
                entry = DENY.get(".".join(parts[start:end]))
                if entry is not None and (best is None or entry.severity >= best[0].severity):
                    best = (DenyEntry(Severity.CRITICAL, "SL110",
                                      f"attribute path walks into {'.'.join(parts[start:end])} ({entry.reason})",
                                      entry.floor, entry.nested), ".".join(parts[start:end]))
    return best


@functools.lru_cache(maxsize=65536)
def classify(module: str, name: str) -> Classification:
    """Classify the global ``module``/``name`` as the unpickler would import it (dotted names included)."""
    candidates = candidate_names(module, name)
    for full in candidates:
        if full in EXACT:
            return Classification("allowed", full)
    worst: Classification | None = None
    for full in candidates:
        module_parts = len(full.split(".")) - (len(name.split(".")) if name else 0)
        found = _deny_for(full, module_parts)
        if found is not None:
            entry, key = found
            kind = "argcheck" if full in ARGCHECK else "denied"
            item = Classification(kind, full, entry.severity, entry.rule_id,
                                  f"{entry.reason} (matched {key})", entry.floor, entry.nested)
            if worst is None or (item.severity or 0) > (worst.severity or 0):
                worst = item
    if worst is not None:
        return worst
    full = candidates[-1]
    qual_parts = name.split(".") if name else []
    if any(p.startswith("__") and p.endswith("__") and p not in _OK_DUNDERS for p in qual_parts) or any(
            p.startswith("__") and p not in _OK_DUNDERS and p != "__main__" for p in module.split(".")):
        return Classification("dynamic", full, Severity.CRITICAL, "SL110",
                              "dunder attribute access reaches interpreter internals")
    for cand in candidates:
        if cand in ARGCHECK:
            return Classification("argcheck", cand)
        if cand in NESTED_TORCH:
            return Classification("allowed", cand, nested="any")
        if cand in TRANSFORMS:
            return Classification("allowed", cand, reason="transform")
        if is_allowed(cand):
            return Classification("allowed", cand)
    return Classification("unknown", full)
