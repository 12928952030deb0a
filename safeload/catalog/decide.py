"""Decide what the uses a pickle stream makes of each name mean: the findings for one stream's names.

Input: the engine's facts (``engine/facts.py``): for every name, its classification and the uses the load makes
of it, with how each first happened. Output: findings, through the scan context.

Rules, in order (denied beats allowed):
1. a denied or dynamic name: its denial (SL101/SL102/SL103/SL106/SL110), whatever the use;
2. a name denied for some uses only (``numpy.memmap`` called): that denial when one of those uses happens;
3. an allowed name used in a way its entry does not permit: SL115 (MEDIUM) naming the use and how it happened;
4. a name outside the catalogue: SL104 when the load runs its code (calls, instantiates, gives state, ...),
   SL105 when it is only imported or referenced — both MEDIUM: importing runs the module's code, and what the
   load stores may be called by code that holds it.
Trust (``trusted=[...]``) is applied by ``ScanContext.add`` (one place for every format); floor names and the
untrustable rules (dynamic names, code objects) are never trusted.

Invariant: pure decisions over facts; nothing is imported or looked up.
"""

from __future__ import annotations

from safeload._context import ScanContext
from safeload.catalog.uses import Use, describe_uses
from safeload.engine.facts import FactTable, NameFacts
from safeload.severity import Severity

__all__ = ["decide_names"]

_RUNS_CODE = (Use.CALL | Use.NEW | Use.ALLOC | Use.INVOKE | Use.BUILD | Use.MUTATE | Use.HASH | Use.CALL_INSTANCE
              | Use.PASSED)
_UNTRUSTABLE_RULES = frozenset({"SL110", "SL106"})


def _how(facts: NameFacts, uses: Use) -> str:
    """``"called by the file; called by other code (by collections.defaultdict (argument 0))"``."""
    parts: list[str] = []
    for flag in uses:
        if flag in (Use.IMPORT, Use.REF):
            continue
        how = facts.how.get(flag.value)
        word = describe_uses(flag)
        parts.append(f"{word} ({how})" if how and how not in word else word)
    return "; ".join(parts)


def decide_names(table: FactTable, ctx: ScanContext) -> None:
    """Emit the findings for every name in ``table``."""
    for name, facts in table.names.items():
        _decide(name, facts, ctx)


def _decide(name: str, facts: NameFacts, ctx: ScanContext) -> None:
    cls = facts.cls
    uses = facts.use_flags
    if cls.kind in {"denied", "dynamic"}:
        rule_id = cls.rule_id or "SL101"
        how = _how(facts, uses)
        message = f"{name}: {cls.reason}" + (f"; here it is {how}" if how else " (imported)")
        _emit(ctx, rule_id, message, cls.severity, name, facts.offset,
              trustable=not cls.floor and rule_id not in _UNTRUSTABLE_RULES)
        return
    if cls.deny_uses & uses:
        bad = cls.deny_uses & uses
        _emit(ctx, cls.rule_id or "SL102", f"{name}: {cls.reason}; here it is {_how(facts, bad)}", cls.severity,
              name, facts.offset, trustable=not cls.floor)
        return
    if cls.kind == "allowed":
        refused = uses & ~cls.permitted
        if refused:
            permitted = describe_uses(cls.permitted) if cls.permitted & ~(Use.IMPORT | Use.REF) else "referenced"
            _emit(ctx, "SL115", f"{name} is allowed only to be {permitted}; here it is {_how(facts, refused)}",
                  None, name, facts.offset, trustable=True)
        return
    used = uses & _RUNS_CODE
    if used:
        _emit(ctx, "SL104", f"{name} is not on the allowlist and the load runs it: {_how(facts, used)}", None, name,
              facts.offset, trustable=True)
    else:
        _emit(ctx, "SL105", f"{name} is not on the allowlist; it is imported (its module's top-level code runs) "
              "and referenced", None, name, facts.offset, trustable=True)


def _emit(ctx: ScanContext, rule_id: str, message: str, severity: Severity | None, subject: str, offset: int,  # noqa: PLR0917
          *, trustable: bool) -> None:
    ctx.add(rule_id, message, severity=severity, subject=subject, offset=offset, trustable=trustable)
