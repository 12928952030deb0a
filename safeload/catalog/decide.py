"""Decide what the uses a pickle stream makes of each name mean: the findings for one stream's names.

Input: the engine's facts (``engine/facts.py``): for every name, its classification and the uses the load makes
of it, with how each first happened. Output: findings, through the scan context.

Rules, in order (denied beats allowed):
1. a denied or dynamic name: its denial (SL101/SL102/SL103/SL106/SL110), whatever the use;
2. a name denied for some uses only (``numpy.memmap`` called): that denial when one of those uses happens;
3. an allowed name used in a way its entry does not permit: SL115 (MEDIUM) naming the use and how it happened;
4. a name whose import would run a file outside the installed library (a ``zoneinfo.py`` in the working directory
   shadowing the stdlib's, ``catalog/shadow.py``): SL117 (HIGH, never trusted), whatever the catalogue says;
5. a name whose module's import loads and calls installed entry points (``import torch`` calls every
   ``torch.backends`` plugin, ``catalog/plugins.py``): SL119 (HIGH, trustable by the plugin's ``module.attr``) per
   plugin, whatever the catalogue says; the name is still decided by the next rules;
6. a name outside the catalogue: its installed source is analysed (``catalog/source_analysis.py``, never
   imported) for exactly the uses the file makes of it; when every use and the import are proven inert, SL116
   (LOW, "analysed"); otherwise SL104 when the load runs its code (calls, instantiates, gives state, ...), SL105
   when it is only imported or referenced — both MEDIUM, naming the analysis's reason and line.
Trust (``trusted=[...]``) is applied by ``ScanContext.add`` (one place for every format); floor names and the
untrustable rules (dynamic names, code objects) are never trusted.

Invariant: decisions over facts; nothing is imported. The only look-ups are the source analysis (rule 5) and
where the loader's import of a name's module would be found (rule 4) and which entry points installed
distributions declare (rule 5), all reading the file system only.
"""

from __future__ import annotations

from safeload._context import ScanContext
from safeload._log import LazyLogger
from safeload._text import short_repr
from safeload.catalog.plugins import Plugin
from safeload.catalog.uses import Use, describe_uses
from safeload.engine.facts import FactTable, NameFacts
from safeload.severity import Severity

__all__ = ["decide_names"]

_RUNS_CODE = (Use.CALL | Use.NEW | Use.ALLOC | Use.INVOKE | Use.BUILD | Use.MUTATE | Use.HASH | Use.CALL_INSTANCE
              | Use.PASSED)
_UNTRUSTABLE_RULES = frozenset({"SL110", "SL106"})
logger = LazyLogger(__name__)


def _how(facts: NameFacts, uses: Use) -> str:
    """``"called by the file; called by other code (by collections.defaultdict (argument 0))"``."""
    parts: list[str] = []
    for flag in uses:
        if flag in (Use.IMPORT, Use.REF):
            continue
        how = facts.how.get(flag.value)
        word = describe_uses(flag)
        if not how:
            parts.append(word)
        elif how.startswith(word):
            parts.append(how)
        else:
            parts.append(f"{word} ({how})")
    return "; ".join(parts)


def decide_names(table: FactTable, ctx: ScanContext) -> None:
    """Emit the findings for every name in ``table`` (the installed files they rest on read once: one view)."""
    from safeload.catalog.source_files import one_view

    drift: dict[str, bool] = {}  # shard -> already checked for this stream
    plugins: dict[str, tuple[Plugin, ...]] = {}  # entry-point group -> the plugins declared, read once per stream
    with one_view():
        for name, facts in table.names.items():
            _decide(name, facts, ctx, drift, plugins)


def _call_shown(name: str, facts: NameFacts) -> dict[str, str]:
    """``{"call": "posix.system('touch /tmp/x')"}`` for the first call the file makes (raw; escaped when shown)."""
    args = facts.call_args
    if args is None:
        return {}
    shown = ", ".join(short_repr(a, 80) for a in args[:6]) if type(args) is tuple else short_repr(args, 80)
    if type(args) is tuple and len(args) > 6:
        shown += ", ..."
    return {"call": f"{name}({shown})"}


def _decide(name: str, facts: NameFacts, ctx: ScanContext, drift_checked: dict[str, bool],
            plugins_memo: dict[str, tuple[Plugin, ...]] | None = None) -> None:
    """Findings about one name. Messages do not repeat the name (it is the finding's subject)."""
    cls = facts.cls
    uses = facts.use_flags
    call = _call_shown(name, facts)
    if cls.kind in {"denied", "dynamic"}:
        rule_id = cls.rule_id or "SL101"
        how = _how(facts, uses)
        message = cls.reason + (f"; here it is {how}" if how else " (imported only)")
        _emit(ctx, rule_id, message, cls.severity, name, facts.offset, call,
              trustable=not cls.floor and rule_id not in _UNTRUSTABLE_RULES)
        return
    if cls.deny_uses & uses:
        bad = cls.deny_uses & uses
        _emit(ctx, cls.rule_id or "SL102", f"{cls.reason}; here it is {_how(facts, bad)}", cls.severity, name,
              facts.offset, call, trustable=not cls.floor)
        return
    if _shadowed(name, facts, ctx):
        return
    _plugins(name, facts, ctx, plugins_memo)
    kind = cls.kind
    if kind == "allowed" and cls.entry is not None and cls.entry.source_files and not review_holds(
            cls.entry.source_files, facts.module):
        kind = "unknown"  # the review read other text or another closure: decided like a name outside the catalogue
    if kind == "allowed":
        if cls.entry is not None and cls.entry.origin == "generated":
            _version_drift(name, facts, ctx, drift_checked)
        refused = uses & ~cls.permitted
        if refused:
            permitted = describe_uses(cls.permitted) if cls.permitted & ~(Use.IMPORT | Use.REF) else "referenced"
            _emit(ctx, "SL115", f"allowed only to be {permitted}; here it is {_how(facts, refused)}", None, name,
                  facts.offset, call, trustable=True)
        return
    used = uses & _RUNS_CODE
    why = ""
    if ctx.policy.analyse_source and kind == "unknown" and not cls.deny_uses:
        analysed = _analyse(facts, used)
        if analysed is None:
            why = "; its source could not be analysed"
        elif analysed[0]:
            ctx.add("SL116", f"outside the catalogue; its installed source was analysed for how the load uses it "
                    f"({_how(facts, used) or 'imported'}): {analysed[1]}", subject=name, offset=facts.offset,
                    details=call)
            return
        else:
            why = f"; source analysis: {analysed[1]}"
    if used:
        _emit(ctx, "SL104", f"not on the allowlist, and the load runs it: {_how(facts, used)}{why}", None, name,
              facts.offset, call, trustable=True)
    else:
        _emit(ctx, "SL105", f"not on the allowlist: imported (its module's top-level code runs) and referenced{why}",
              None, name, facts.offset, call, trustable=True)


def _version_drift(name: str, facts: NameFacts, ctx: ScanContext, checked: dict[str, bool]) -> None:
    """SL118 (LOW) when the generated shard that admits ``name`` was checked against other versions than the
    installed ones: its entries say what a load did with the name in those versions (one finding per shard and
    top-level package in a stream)."""
    from safeload.catalog.entries import checked_against, shard_of
    from safeload.catalog.versions import shard_drift

    shard = shard_of(name)
    key = f"{shard}:{name.split('.', 1)[0]}"
    if shard is None or key in checked:
        return
    checked[key] = True
    drift = shard_drift(checked_against(shard), name.split(".", 1)[0])
    if drift:
        ctx.add("SL118", f"admitted by the generated catalogue shard {shard!r}, checked against other versions "
                f"({'; '.join(drift)}): its entries describe those releases", subject=f"catalogue:{shard}",
                offset=facts.offset, details={"shard": shard, "drift": list(drift), "first_name": name})


def _shadowed(name: str, facts: NameFacts, ctx: ScanContext) -> bool:
    """Emit SL117 when importing ``name``'s module would run a file outside the installed library."""
    from safeload.catalog.shadow import import_modules, shadowing_file
    from safeload.catalog.shadow_reach import closure_shadowing_file

    for module in import_modules(facts.module, facts.name):
        what = f"the load imports {module} from"
        try:
            shadow = shadowing_file(module)
            if shadow is None:
                shadow = closure_shadowing_file(module)  # what importing the installed module imports in turn
                what = f"importing {module} imports a module from"
        except Exception:  # a failed look-up must block, never pass
            logger.exception("locating module %s failed", module)
            shadow = "<the module could not be located>"
        if shadow is not None:
            ctx.add("SL117", f"{what} {shadow}, not from the installed library (a file "
                    "earlier on sys.path, e.g. in the working directory, shadows it)", severity=Severity.HIGH,
                    subject=name, offset=facts.offset, details={"module": module, "shadowing_file": shadow},
                    trustable=False)
            return True
    return False


def _plugins(name: str, facts: NameFacts, ctx: ScanContext, memo: dict[str, tuple[Plugin, ...]] | None) -> None:
    """SL119 for each installed entry point that importing ``name``'s module loads and calls (``import torch``
    calls every ``torch.backends`` plugin: ``catalog/plugins.py``), trustable by the plugin's ``module.attr``.
    The name is still decided by the other rules (trusting a plugin vouches for it, not for the name)."""
    from safeload.catalog.plugins import plugins_reached
    from safeload.catalog.shadow import import_modules

    seen: set[tuple[str, str]] = set()
    for module in import_modules(facts.module, facts.name):
        try:
            reached = plugins_reached(module, memo=memo)
        except Exception:  # a failed look-up must block, never pass
            logger.exception("reading the entry points %s reaches failed", module)
            ctx.add("SL119", f"importing {module}: the installed plugins its import loads could not be read",
                    severity=Severity.HIGH, subject=name, offset=facts.offset, trustable=False)
            return
        for plugin in reached:
            if (plugin.group, plugin.value) in seen:
                continue
            seen.add((plugin.group, plugin.value))
            ctx.add("SL119", f"the load imports {module}, whose import reaches {plugin.owner}, which loads and calls "
                    f"the installed {plugin.group} entry point {plugin.name} = {plugin.value} (distribution "
                    f"{plugin.distribution}): code the file makes run that no review read", severity=Severity.HIGH,
                    subject=plugin.target, offset=facts.offset,
                    details={"module": module, "group": plugin.group, "entry_point": plugin.name,
                             "value": plugin.value, "distribution": plugin.distribution, "name": name},
                    trustable=True)


def _analyse(facts: NameFacts, used: Use) -> tuple[bool, str] | None:
    """(inert, reason) from the source analysis of ``facts``'s name for ``used``; None if it failed."""
    from safeload.catalog.source_analysis import BuildState, analyse

    kinds = facts.build_kinds
    state = BuildState.DICT if kinds == {"dict"} else BuildState.SLOTS if kinds == {"slots"} else BuildState.ANY
    try:
        result = analyse(facts.module, facts.name, used or Use.REF, catalog=catalogue_view, build_state=state,
                         bound=facts.bound and not facts.unbound, instance=facts.bound)
    except Exception:  # an analysis failure must block, never pass
        logger.exception("source analysis failed for %s.%s", facts.module, facts.name)
        return None
    verdicts = [result.import_effects, *result.uses]
    bad = next((v for v in verdicts if not v.inert), None)
    if bad is None:
        reasons = "; ".join(dict.fromkeys(v.reason for v in result.uses)) or result.import_effects.reason
        return True, reasons
    where = f" ({bad.where})" if bad.where else ""
    return False, f"{describe_uses(bad.use)}: {bad.reason}{where}"


def catalogue_view(name: str, use: Use) -> bool | None:
    """The catalogue as the source analysis sees it: True allowed for ``use``, False denied, None unknown."""
    from safeload.catalog.classify import classify_name
    from safeload.catalog.reviewed import IMPORT_REVIEWED, import_not_covered

    if use is Use.IMPORT and name.split(".", 1)[0] in IMPORT_REVIEWED:
        if import_not_covered(name) or not _import_review_holds(name):
            return None
        return True
    found = classify_name(name)
    if found.kind in {"denied", "dynamic"} or found.deny_uses & use:
        return False
    if found.kind == "allowed" and use & found.permitted:
        if found.entry is not None and found.entry.source_files and not review_holds(found.entry.source_files,
                                                                                     name.rpartition(".")[0]):
            return None  # a hash-bound review of other text: analysed like any name outside the catalogue
        if use & Use.BUILD and _build_is_conditional(name):
            return None  # the condition binds the reviewed class's state; a subclass is not covered by it
        if use & (Use.CALL | Use.NEW) and _arguments_are_conditional(name):
            return None  # admitted for some arguments only (entry.arguments): code calling it passes others
        return True
    return None


def review_holds(files: tuple[tuple[str, str], ...], module: str) -> bool:
    """A hash-bound entry's review holds for a name of ``module``: its files are installed as read and, for a
    package of ``reviewed.CLOSURE_BOUND``, the import closure of ``module`` stays inside reviewed territory here
    (``closure.closure_covered``; declared entry points are SL119's, not counted)."""
    if not reviewed_files_hold(files):
        return False
    from safeload.catalog.reviewed import CLOSURE_BOUND

    if module.split(".", 1)[0] not in CLOSURE_BOUND:
        return True
    from safeload.catalog.closure import closure_covered

    return all(closure_covered(prefix, plugins=False)[0] for prefix in _prefixes(module))


def _prefixes(module: str) -> list[str]:
    """The modules importing ``module`` imports first: its dotted prefixes and itself."""
    parts = module.split(".")
    return [".".join(parts[:depth]) for depth in range(1, len(parts) + 1)]


def _import_review_holds(module: str) -> bool:
    """A package import review bound to the files it read (``import_review_files``) covers ``module`` only when the
    review read it and the file installed for it has that text."""
    from safeload.catalog.import_review_files import IMPORT_REVIEW_FILES
    from safeload.catalog.source_reviews import module_digest

    files = IMPORT_REVIEW_FILES.get(module.split(".", 1)[0])
    if files is None:
        return True
    digest = files.get(module)
    return digest is not None and module_digest(module) == digest


def reviewed_files_hold(files: tuple[tuple[str, str], ...]) -> bool:
    """Every (module, sha256) a hash-bound catalogue entry was reviewed against is installed with that text
    (``source_reviews.module_digest``: located without importing, recorded for the scan cache)."""
    from safeload.catalog.source_reviews import module_digest

    return all(module_digest(module) == digest for module, digest in files)


def _build_is_conditional(name: str) -> bool:
    """Whether the entry admits BUILD only for some states (``build_dict_only``, ``build_refuses``,
    ``build_state``): a class inheriting that __setstate__ would escape the engine's state check."""
    from safeload.catalog.entries import lookup

    entry = lookup(name)
    return entry is not None and (entry.build_dict_only or bool(entry.build_refuses) or entry.build_state is not None)


def _arguments_are_conditional(name: str) -> bool:
    """Whether the entry admits instantiation only with the arguments a contract admits (``entry.arguments``):
    the engine checks a file's arguments; code the source analysis reads passes arguments it does not check."""
    from safeload.catalog.entries import lookup

    entry = lookup(name)
    return entry is not None and entry.arguments is not None


def _emit(ctx: ScanContext, rule_id: str, message: str, severity: Severity | None, subject: str, offset: int,  # noqa: PLR0917
          details: dict[str, str], *, trustable: bool) -> None:
    ctx.add(rule_id, message, severity=severity, subject=subject, offset=offset, trustable=trustable,
            details=details or None)
