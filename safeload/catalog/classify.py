"""Classify an importable name: denied (for which uses), dynamic, allowed (for which uses), or unknown.

Order of precedence — **denied beats allowed**:
1. the name, or the object it is an alias of (``catalog/generated/aliases``: ``cloudpickle.cloudpickle.loads``
   *is* ``pickle.loads``), or any module containing it, is on the deny list: ``denied`` for the uses the denial
   covers (every use, or a narrower set such as ``numpy.memmap`` called);
2. a dotted path that walks into a denied module (``pathlib`` + ``os.system``) or a dunder component:
   ``dynamic``;
3. an allowlist entry (``catalog/entries.py``): ``allowed`` for the uses it lists, with the name's contract
   (``catalog/contracts.py``) when the engine models its calls;
4. anything else is ``unknown``: never allowed by default, whatever the use.

Invariant: classification works on strings only. It never imports a module or looks an attribute up; the
only process state it reads is the pickle module's own py2 name-mapping table (``_compat_pickle``), which is
data that the real unpickler applies to the same names.
"""

from __future__ import annotations

import _compat_pickle
import functools
import sys

from safeload._record import FrozenRecord
from safeload.catalog import legacy
from safeload.catalog.contracts import Contract, contract_for
from safeload.catalog.deny import ANY_USE, DENY, DENY_NARROWED, DenyEntry
from safeload.catalog.entries import Entry, lookup, shard_of
from safeload.catalog.uses import Use
from safeload.severity import Severity

__all__ = ["Classification", "alias_of", "candidate_names", "classify", "classify_name"]

# Modules whose appearance as an *attribute* inside a dotted name means the path walks into them
# (``pathlib`` + ``os.system``, ``numpy`` + ``core._internal.sys.modules``).
_MODULE_KEYS = frozenset(key for key in DENY if "." not in key)

# Dunder components that are normal in real pickles.
_OK_DUNDERS = frozenset({"__newobj__", "__newobj_ex__", "__main__", "__builtin__", "__randomstate_ctor",
                         "__bit_generator_ctor", "__generator_ctor", "__RandomState_ctor"})


_NO_USE = Use(0)


class Classification(FrozenRecord):
    """What the catalogue says about one dotted name.

    ``kind`` is ``allowed``, ``denied``, ``dynamic`` or ``unknown``. For ``denied``/``dynamic``, ``severity``,
    ``rule_id`` and ``reason`` describe the denial and ``deny_uses`` the uses it covers; an ``allowed`` name may
    also carry a narrower denial (``deny_uses`` non-empty) for uses that are dangerous. ``entry`` is the
    allowlist entry and ``contract`` the modelled call behaviour. ``floor`` names can never be trusted.
    """

    _FIELDS = ("kind", "full_name", "severity", "rule_id", "reason", "floor", "nested", "entry", "contract",
               "deny_uses", "alias_of")
    __slots__ = ("alias_of", "contract", "deny_uses", "entry", "floor", "full_name", "kind", "nested", "reason",
                 "rule_id", "severity")
    kind: str
    full_name: str
    severity: Severity | None
    rule_id: str | None
    reason: str
    floor: bool
    nested: str | None
    entry: Entry | None
    contract: Contract | None
    deny_uses: Use
    alias_of: str | None

    def __init__(self, kind: str, full_name: str, severity: Severity | None = None,  # noqa: PLR0917
                 rule_id: str | None = None, reason: str = "", floor: bool = False, nested: str | None = None,
                 entry: Entry | None = None, contract: Contract | None = None, deny_uses: Use = _NO_USE,
                 alias_of: str | None = None) -> None:
        for name, value in (("kind", kind), ("full_name", full_name), ("severity", severity),
                            ("rule_id", rule_id), ("reason", reason), ("floor", floor), ("nested", nested),
                            ("entry", entry), ("contract", contract), ("deny_uses", deny_uses),
                            ("alias_of", alias_of)):
            object.__setattr__(self, name, value)

    @property
    def permitted(self) -> Use:
        """Uses this name may be put to without a finding (IMPORT and REF for every allowed name)."""
        if self.kind != "allowed":
            return Use(0)
        uses = Use.IMPORT | Use.REF
        if self.entry is not None:
            uses |= self.entry.uses
        if self.contract is not None:
            uses |= Use.CALL  # the engine models the call itself (what it returns, what it calls)
        return uses & ~self.deny_uses

    @property
    def denied_for(self) -> Use:
        return self.deny_uses if self.kind in {"allowed", "unknown"} else (self.deny_uses or ANY_USE)


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


@functools.cache
def _deny_shard(shard: str) -> tuple[dict[str, str], dict[str, DenyEntry]]:
    """(aliases, denials) of one generated deny shard, loaded the first time a name of that shard is seen."""
    from safeload.catalog.entries import parse_uses

    try:
        module_name = f"safeload.catalog.generated.deny_{shard}"
        __import__(module_name)  # not importlib (issue 15: it imports ``warnings``)
        module = sys.modules[module_name]  # safeload's own data
    except ImportError:
        return {}, {}
    aliases: dict[str, str] = getattr(module, "ALIASES", {})
    raw: dict[str, tuple[str, str, str, str]] = getattr(module, "DENY_ENTRIES", {})
    denials = {name: DenyEntry(Severity.parse(severity), rule_id, reason,
                               uses=parse_uses(uses) if uses else ANY_USE)
               for name, (severity, rule_id, reason, uses) in raw.items()}
    return aliases, denials


def _shard_data(name: str) -> tuple[dict[str, str], dict[str, DenyEntry]]:
    shard = shard_of(name)
    return _deny_shard(shard) if shard is not None else ({}, {})


def alias_of(full: str) -> str | None:
    """The denied name ``full`` is the same object as (a re-export), or ``None``."""
    aliases = _shard_data(full)[0]
    parts = full.split(".")
    for i in range(len(parts), 0, -1):  # a module alias covers what is reached through it
        target = aliases.get(".".join(parts[:i]))
        if target is not None:
            return ".".join([target, *parts[i:]])
    return None


def _deny_lookup(key: str) -> DenyEntry | None:
    entry = DENY.get(key)
    if entry is not None:
        return entry
    generated = _shard_data(key)[1].get(key)
    if generated is not None and contract_for(key) is not None:
        # The engine models this name's call (its contract, reviewed); the effect scan's CALL denial is what
        # the contract already handles (_ufunc_reconstruct imports only numpy ufunc names). Other uses stand.
        uses = generated.uses & ~(Use.CALL)
        return DenyEntry(generated.severity, generated.rule_id, generated.reason, generated.floor,
                         generated.nested, uses) if uses else None
    return generated


def _deny_for(full: str, module_parts: int, *, narrow: bool = True) -> tuple[DenyEntry, str] | None:
    """The strongest denial of ``full``: a denial of every use of the name itself, of a module containing it or
    of an object it is reached through, else a per-use denial of exactly this name (a class denied for BUILD
    says nothing about its methods), else an attribute path walking into a denied name. A reviewed narrowing of
    exactly ``full`` (``DENY_NARROWED``) replaces the denial of the module it is in, or its own generated denial;
    not for a name that is an alias of ``full`` (``narrow`` False): the review read exactly ``full``."""
    narrowed = DENY_NARROWED.get(full) if narrow else None
    if narrowed is not None:
        return narrowed, full
    parts = full.split(".")
    best: tuple[DenyEntry, str] | None = None
    # The name itself, its modules, and attributes reached through a denied name.
    for i in range(1, len(parts) + 1):
        key = ".".join(parts[:i])
        entry = _deny_lookup(key)
        if entry is None or (entry.uses != ANY_USE and i != len(parts)):
            continue
        if best is None or (entry.uses == ANY_USE, entry.severity) > (best[0].uses == ANY_USE, best[0].severity):
            best = (entry, key)
    if best is not None:
        return best
    # Attribute paths that walk into a denied module or name, wherever it starts in the attribute part:
    # pathlib.os.system, numpy.core._internal.sys.modules, torch.optim.sgd + torch.package.PackageExporter.
    for start in range(max(module_parts, 1), len(parts)):
        for end in range(start + 1, len(parts) + 1):
            key = ".".join(parts[start:end])
            entry = _deny_lookup(key)
            if entry is not None and (best is None or entry.severity >= best[0].severity):
                best = (DenyEntry(Severity.CRITICAL, "SL110", f"attribute path walks into {key} ({entry.reason})",
                                  entry.floor, entry.nested), key)
    return best


def _allow_entry(full: str, qualname: str) -> Entry | None:
    entry = lookup(full)
    if entry is not None:
        return entry
    # A package rule never admits an attribute path (sklearn.utils.fixes + pd.core...Expr walks into pandas).
    return legacy.lookup(full) if "." not in qualname else None


@functools.lru_cache(maxsize=65536)
def classify(module: str, name: str) -> Classification:
    """Classify the global ``module``/``name`` as the unpickler would import it (dotted names included)."""
    candidates = candidate_names(module, name)
    denied: Classification | None = None
    partial: Classification | None = None
    for full in candidates:
        module_parts = len(full.split(".")) - (len(name.split(".")) if name else 0)
        target = alias_of(full)
        found = _deny_for(target, 0, narrow=False) if target is not None else None
        if found is None:
            found = _deny_for(full, module_parts)
        if found is None:
            continue
        denial, _key = found
        via = f" (the same object as {target})" if target is not None else ""
        item = Classification("denied", full, denial.severity, denial.rule_id, f"{denial.reason}{via}", denial.floor,
                              denial.nested, contract=contract_for(full), deny_uses=denial.uses, alias_of=target)
        if denial.uses != ANY_USE:
            partial = item if partial is None or denial.severity > (partial.severity or 0) else partial
        elif denied is None or denial.severity > (denied.severity or 0):
            denied = item
    if denied is not None:
        return denied
    full = candidates[-1]
    qual_parts = name.split(".") if name else []
    if any(p.startswith("__") and p.endswith("__") and p not in _OK_DUNDERS for p in qual_parts) or any(
            p.startswith("__") and p not in _OK_DUNDERS and p != "__main__" for p in module.split(".")):
        return Classification("dynamic", full, Severity.CRITICAL, "SL110",
                              "dunder attribute access reaches interpreter internals", deny_uses=ANY_USE)
    for cand in candidates:
        entry = _allow_entry(cand, name)
        contract = contract_for(cand)
        if entry is None and contract is None:
            continue
        if partial is not None:
            return Classification("allowed", cand, partial.severity, partial.rule_id, partial.reason,
                                  partial.floor, partial.nested or legacy.nested_kind(cand), entry, contract,
                                  partial.deny_uses)
        return Classification("allowed", cand, entry=entry, contract=contract,
                              nested=legacy.nested_kind(cand))
    if partial is not None:
        return Classification("unknown", partial.full_name, partial.severity, partial.rule_id, partial.reason,
                              partial.floor, partial.nested, deny_uses=partial.deny_uses)
    return Classification("unknown", full)


def classify_name(full: str) -> Classification:
    """Classify a dotted name whose module/attribute split is not known (``"pkg.mod.Class"``)."""
    module, _, name = full.rpartition(".")
    return classify(module, name) if module else classify(full, "")
