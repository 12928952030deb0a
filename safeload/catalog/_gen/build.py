"""Turn the walk, the harvest and the effect scan into catalogue data: allow entries, deny entries, aliases.

Allow side: a name is a candidate when real pickles contain it (harvest) or when it is a class or function
*defined* in one of a shard's allow roots (``families.ALLOW_ROOTS``; re-exports are never entries under the
exporting name). Each candidate's uses are the ones observed (harvested names) or the standard set (others),
and each use is permitted only when ``inert.use_verdicts`` (classes) or the function verdict finds it inert.
Anything else goes to the review report.

Deny side: every class, function and method defined in a walked module whose call (or ``__new__``,
``__setstate__``...) reaches a sink, with the sink, the path and a severity, for the uses that reach it;
and the alias table (names that are the same object as a denied one, or as a module/class through which a
denied name is reached).

Invariant: the output depends only on the installed packages and the tables in this package: names are
sorted, witness paths come from a deterministic graph walk, and no address or absolute path is emitted.
"""
# ruff: noqa: PLR0917  (internal helpers thread the generator's context through positional args)

from __future__ import annotations

import hashlib
import inspect
import types
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from safeload.catalog._gen.effects import CALL_METHODS, EffectScan
from safeload.catalog._gen.harvest import Facts
from safeload.catalog._gen.inert import use_verdicts
from safeload.catalog._gen.invokes import invoked_parameters
from safeload.catalog._gen.naming import canonical_name, defined_under, resolve
from safeload.catalog._gen.reviewed_callables import REVIEWED_CALLABLES, REVIEWED_INVOKES
from safeload.catalog._gen.sinks import SINKS
from safeload.catalog._gen.state_contracts import build_state_contract
from safeload.catalog.deny import DENY

__all__ = ["AllowEntry", "Catalogue", "DenyItem", "build_aliases", "build_allow", "build_deny"]

_CLASS_USES = ("CALL", "INVOKE", "NEW", "ALLOC", "BUILD", "MUTATE", "HASH", "CALL_INSTANCE")
_FUNC_USES = ("CALL", "INVOKE")
_USE_ORDER = {u: i for i, u in enumerate(("CALL", "INVOKE", "NEW", "ALLOC", "BUILD", "MUTATE", "HASH",
                                          "CALL_INSTANCE"))}
_RULE = {"evaluates Python code": "SL101", "runs processes, native code, threads or hooks the interpreter": "SL101",
         "loads nested data (a pickle or a file)": "SL103"}


@dataclass
class AllowEntry:
    uses: list[str]
    invokes: tuple[int | str, ...]
    note: str
    #: (contract, data) a BUILD state must satisfy (``reviewed_methods.BUILD_STATE_CONTRACTS``)
    build_state: tuple[str, tuple[str, ...]] | None = None


@dataclass(frozen=True)
class DenyItem:
    severity: str
    rule_id: str
    reason: str
    uses: str


@dataclass
class Catalogue:
    """Everything one generator run produces, keyed by dotted name."""

    allow: dict[str, AllowEntry] = field(default_factory=dict)
    review: dict[str, list[str]] = field(default_factory=dict)
    deny: dict[str, DenyItem] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    conflicts: dict[str, str] = field(default_factory=dict)


def note_key(text: str) -> str:
    return "n" + hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()[:10]


def _sorted_uses(uses: Iterable[str]) -> list[str]:
    return sorted(set(uses), key=lambda u: _USE_ORDER[u])


def _observed_uses(name: str, facts: Facts, invokes_of: dict[str, tuple[int | str, ...]]) -> set[str]:
    uses: set[str] = set()
    for fact in facts.uses.get(name, ()):
        if fact in ("CALL", "NEW", "ALLOC", "BUILD", "MUTATE", "HASH"):
            uses.add(fact)
        elif fact == "STATE":
            uses.add("INVOKE")  # a callable in state or a container may be called by code the load runs
    for callee, pos in facts.args.get(name, ()):
        if pos in invokes_of.get(callee, ()) or callee == "?":
            uses.add("INVOKE")
    return uses


def _is_class(obj: Any) -> bool:
    return isinstance(obj, type)


def _is_function(obj: Any) -> bool:
    return isinstance(obj, (types.FunctionType, types.BuiltinFunctionType, types.MethodType,
                            types.MethodDescriptorType, types.ClassMethodDescriptorType)) \
        or type(obj).__name__ in ("cython_function_or_method", "fused_cython_function")


def _function_verdict(name: str, obj: Any, scan: EffectScan) -> tuple[bool, str, str | None]:
    """(inert, note, needs-review reason) for calling the function ``obj`` with arguments from the file."""
    reviewed = REVIEWED_CALLABLES.get(name)
    if reviewed is not None:
        return (not reviewed.startswith("NOT INERT"), reviewed, None if not reviewed.startswith("NOT") else reviewed)
    func = obj.__func__ if isinstance(obj, types.MethodType) else obj
    if not isinstance(func, types.FunctionType):
        return False, "", "compiled: needs a reviewed note"
    ctx = obj.__self__ if isinstance(obj, types.MethodType) and isinstance(obj.__self__, type) else None
    effect = scan.call_effect(func, ctx)
    if effect.severity is not None:
        return False, "", f"reaches {effect.sink} ({effect.severity}) via {' > '.join(effect.path)}"
    if effect.dynamic and len(effect.dynamic) <= 2:
        return False, "", f"computed attribute access ({effect.dynamic[-1]})"
    return True, "effect scan: pure computation on its arguments", None


def build_allow(candidates: dict[str, str], facts: Facts, scan: EffectScan) -> Catalogue:
    """``candidates``: name -> "harvested" or "introspected". Returns allow entries and the review list."""
    cat = Catalogue()
    invokes_of: dict[str, tuple[int | str, ...]] = {}
    objects: dict[str, Any] = {}
    for name in sorted(candidates):
        obj = resolve(name)
        if obj is None:
            cat.review[name] = ["does not resolve in the installed packages"]
            continue
        objects[name] = obj
        invokes_of[name] = _invokes(name, obj)
    # Cython's __pyx_unpickle_<Class>: one rule tied to <Class> (allocated, then given state).
    pyx_owner: dict[str, set[str]] = {}
    for name in sorted(candidates):
        module, _, last = name.rpartition(".")
        if last.startswith("__pyx_unpickle_"):
            pyx_owner.setdefault(f"{module}.{last.removeprefix('__pyx_unpickle_')}", set()).update({"ALLOC",
                                                                                                   "BUILD"})
    for name, obj in sorted(objects.items()):
        if name.rpartition(".")[2].startswith("__pyx_unpickle_"):
            continue
        harvested = candidates[name] == "harvested"
        if _is_class(obj):
            wanted = _observed_uses(name, facts, invokes_of) if harvested else set(_CLASS_USES)
            # An instance set as an attribute by BUILD may be called by the code it shadows a method of: decide
            # CALL_INSTANCE (inert when there is no __call__, or it reaches no sink) for every catalogued class.
            wanted |= pyx_owner.get(name, set()) | {"CALL_INSTANCE"}
            _class_entry(cat, name, obj, wanted, invokes_of[name], scan)
        elif _is_function(obj) or (callable(obj) and not harvested):
            wanted = _observed_uses(name, facts, invokes_of) if harvested else set(_FUNC_USES)
            if "INVOKE" in wanted:
                wanted.add("INVOKE")
            _function_entry(cat, name, obj, wanted, invokes_of[name], scan)
        else:
            _instance_entry(cat, name, obj, _observed_uses(name, facts, invokes_of) if harvested else set(), scan)
    for owner, uses in sorted(pyx_owner.items()):
        if owner not in objects:
            obj = resolve(owner)
            if isinstance(obj, type):
                _class_entry(cat, owner, obj, set(uses), (), scan)
    return cat


def _invokes(name: str, obj: Any) -> tuple[int | str, ...]:
    if name in REVIEWED_INVOKES:
        return REVIEWED_INVOKES[name]
    return invoked_parameters(obj)


def _class_entry(cat: Catalogue, name: str, cls: type, wanted: set[str], invokes: tuple[int | str, ...],
                 scan: EffectScan) -> None:
    verdicts = use_verdicts(cls, _sorted_uses(wanted), scan)
    permitted = [use for use, v in verdicts.items() if v.inert]
    notes: list[str] = []
    review: list[str] = []
    contract: tuple[str, tuple[str, ...]] | None = None
    if "BUILD" in permitted:
        try:
            contract = build_state_contract(cls)
        except (ValueError, OSError, SyntaxError, KeyError) as exc:
            permitted.remove("BUILD")
            verdicts["BUILD"].inert = False
            verdicts["BUILD"].needs_review.append(f"BUILD state contract data unreadable: {exc}")
    for use, verdict in verdicts.items():
        if verdict.inert:
            notes.extend(n for n in verdict.notes if n not in notes)
        else:
            review.append(f"{use}: " + "; ".join(verdict.needs_review or verdict.notes))
    if permitted:
        note = "; ".join(notes) if notes else "default reconstruction: no custom __new__/__setstate__/__setattr__"
        called = {"CALL", "INVOKE"} & set(permitted)
        cat.allow[name] = AllowEntry(_sorted_uses(permitted), invokes if called else (), note, contract)
    elif not wanted:
        cat.allow[name] = AllowEntry([], (), "referenced only")
    if review:
        cat.review[name] = review


def _function_entry(cat: Catalogue, name: str, obj: Any, wanted: set[str], invokes: tuple[int | str, ...],
                    scan: EffectScan) -> None:
    uses = _sorted_uses(wanted & {"CALL", "INVOKE"}) or ["CALL", "INVOKE"]
    inert, note, review = _function_verdict(name, obj, scan)
    if inert:
        cat.allow[name] = AllowEntry(uses, invokes, note)
    else:
        cat.review[name] = [f"{' '.join(uses)}: {review}"]
        if not (wanted & {"CALL", "INVOKE"}):
            cat.allow[name] = AllowEntry([], (), "referenced only")


def _instance_entry(cat: Catalogue, name: str, obj: Any, wanted: set[str], scan: EffectScan) -> None:
    wrapped = getattr(obj, "__wrapped__", None) if callable(obj) else None
    if "INVOKE" in wanted and isinstance(wrapped, types.FunctionType):
        # numpy's array-function dispatchers: calling one runs the Python implementation it wraps
        _function_entry(cat, name, wrapped, wanted, (), scan)
        return
    if "INVOKE" in wanted and callable(obj):
        reviewed = REVIEWED_CALLABLES.get(f"type:{type(obj).__module__}.{type(obj).__qualname__}")
        if reviewed is None:
            cat.review[name] = [f"INVOKE: a callable {type(obj).__qualname__} instance without a reviewed note"]
            cat.allow[name] = AllowEntry([], (), "referenced only")
            return
        cat.allow[name] = AllowEntry(["INVOKE"], (), reviewed)
        return
    cat.allow[name] = AllowEntry([], (), "an object referenced by name (not a class or function)")


def warm(scan: EffectScan, objects: Iterable[tuple[Any, Any]]) -> None:
    """Add every node the verdicts will ask about before the first question, so the graph is solved once
    (solving after each new node would make the run quadratic)."""
    from safeload.catalog._gen.inert import _method_objects, methods_for_use

    for obj, ctx in objects:
        if isinstance(obj, type):
            scan.node(obj)
            names = {m for use in _CLASS_USES for m in methods_for_use(obj, use)} | {"__setstate__", "__setattr__",
                                                                                       "__getattr__"}
            for name in sorted(names):
                for _qualified, method, _owner in _method_objects(obj, name):
                    func = method.__func__ if isinstance(method, (staticmethod, classmethod)) else method
                    scan.node(func, obj)
        else:
            func = obj.__func__ if isinstance(obj, types.MethodType) else obj
            owner = obj.__self__ if isinstance(obj, types.MethodType) and isinstance(obj.__self__, type) else ctx
            scan.node(func, owner)


# --- deny side ------------------------------------------------------------------------------------------
def _rule_for(sink: str) -> str:
    reason = SINKS.get(sink, ("HIGH", ""))[1]
    return _RULE.get(reason, "SL102")


def deny_roots(modules: dict[str, types.ModuleType]) -> list[tuple[str, Any, Any]]:
    """(canonical name, object, class context) for every class, function and method defined in ``modules``."""
    out: dict[str, tuple[Any, Any]] = {}
    for mod_name in sorted(modules):
        module = modules[mod_name]
        for attr, value in sorted(vars(module).items()):
            if attr.startswith("__") or not isinstance(value, (type, types.FunctionType)):
                continue
            name = canonical_name(value)
            if name is None or not defined_under(name, mod_name) or name in out:
                continue
            out[name] = (value, None)
            if isinstance(value, type):
                for meth_name, meth in sorted(vars(value).items()):
                    if meth_name.startswith("__") and meth_name.endswith("__"):
                        continue
                    func = meth.__func__ if isinstance(meth, (staticmethod, classmethod)) else meth
                    if isinstance(func, types.FunctionType):
                        out.setdefault(f"{name}.{meth_name}", (func, value))
    return [(name, obj, ctx) for name, (obj, ctx) in sorted(out.items())]


def build_deny(roots: list[tuple[str, Any, Any]], scan: EffectScan, observed: dict[str, set[str]]) -> Catalogue:
    """Deny entries for every root whose use reaches a sink (uses observed in benign pickles are left out)."""
    cat = Catalogue()
    for name, obj, ctx in roots:
        per_use: dict[str, Any] = {}
        if isinstance(obj, type):
            call = scan.call_effect(obj)
            if call.severity:
                per_use["CALL INVOKE"] = call
            new = scan.methods_effect(obj, [m for m in (_method(obj, "__new__"), _method(obj, "__del__")) if m])
            if new.severity:
                per_use["NEW"] = new
            dele = scan.methods_effect(obj, [m for m in (_method(obj, "__del__"),) if m])
            if dele.severity:
                per_use["ALLOC"] = dele
            build = scan.methods_effect(obj, [m for m in (_method(obj, "__setstate__"), _method(obj, "__setattr__"),
                                                          _method(obj, "__getattr__")) if m])
            if build.severity:
                per_use["BUILD"] = build
        else:
            call = scan.call_effect(obj, ctx)
            if call.severity:
                per_use["CALL INVOKE"] = call
        if not per_use:
            continue
        uses = " ".join(_sorted_uses(" ".join(per_use).split()))
        worst = max(per_use.values(), key=lambda e: 2 if e.severity == "CRITICAL" else 1)
        seen = observed.get(name, set())
        blocked = set(uses.split()) - seen
        if seen & set(uses.split()):
            cat.conflicts[name] = (f"observed in benign pickles as {' '.join(sorted(seen))} but reaches "
                                   f"{worst.sink}: the engine must model it")
        if not blocked:
            continue
        if name not in _HAND_DENY and _covered(name, _HAND_DENY):
            continue  # a module above it is denied whole by catalog/deny.py (exact names keep their uses here)
        via = f" via {worst.path[1]}" if len(worst.path) > 2 else ""
        cat.deny[name] = DenyItem(worst.severity or "HIGH", _rule_for(worst.sink),
                                  f"reaches {worst.sink}{via} ({len(worst.path) - 1} calls)",
                                  " ".join(_sorted_uses(blocked)))
    return cat


_HAND_DENY = frozenset(DENY)


def _method(cls: type, name: str) -> Any:
    for klass in cls.__mro__:
        if name in klass.__dict__ and klass is not object:
            value = klass.__dict__[name]
            return value.__func__ if isinstance(value, (staticmethod, classmethod)) else value
    return None


# --- aliases ------------------------------------------------------------------------------------------------
def _denied_targets(modules: dict[str, types.ModuleType], extra: dict[str, str]) -> dict[int, tuple[Any, str]]:
    """id -> (object, canonical denied name) for every object named by deny.py or ``extra`` (generated deny)."""
    targets: dict[int, tuple[Any, str]] = {}
    module_keys = sorted(key for key in DENY if resolve(key) is not None
                         and isinstance(resolve(key), types.ModuleType))
    for key in sorted(DENY):
        obj = resolve(key)
        if obj is None or not _identity_meaningful(obj):
            continue
        targets.setdefault(id(obj), (obj, key))
    # Objects defined in a denied module belong to it (``os.system`` is ``posix.system``).
    for mod_name in sorted(modules):
        if not any(defined_under(mod_name, key) for key in module_keys):
            continue
        for value in vars(modules[mod_name]).values():
            if not _identity_meaningful(value):
                continue
            name = canonical_name(value)
            if name is not None and any(defined_under(name, key) for key in module_keys):
                targets.setdefault(id(value), (value, name))
    for name in sorted(extra):
        obj = resolve(name)
        if obj is not None and _identity_meaningful(obj):
            targets.setdefault(id(obj), (obj, name))
    return targets


def _containers(targets: dict[int, tuple[Any, str]], keys: Iterable[str]) -> dict[int, tuple[Any, str]]:
    """Modules and classes through which a denied name is reached (``pathlib.Path`` for ``Path.write_text``)."""
    out: dict[int, tuple[Any, str]] = {}
    for key in sorted(keys):
        parts = key.split(".")
        for cut in range(1, len(parts)):
            prefix = ".".join(parts[:cut])
            obj = resolve(prefix)
            if isinstance(obj, (types.ModuleType, type)) and id(obj) not in targets:
                out.setdefault(id(obj), (obj, canonical_name(obj) or prefix))
    return out


def _identity_meaningful(obj: Any) -> bool:
    return isinstance(obj, (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType,
                            types.MethodType, types.MethodDescriptorType, types.WrapperDescriptorType,
                            types.ClassMethodDescriptorType, functools_partial_type()))


def functools_partial_type() -> type:
    import functools

    return functools.partial


def _covered(name: str, deny_keys: frozenset[str] | set[str]) -> bool:
    parts = name.split(".")
    return any(".".join(parts[:i]) in deny_keys for i in range(1, len(parts) + 1))


def build_aliases(modules: dict[str, types.ModuleType], generated_deny: dict[str, DenyItem]) -> dict[str, str]:
    """``{alias: canonical}`` for attributes of walked modules (and their classes) that are the same object
    as a denied one, or as a module/class a denied name is reached through."""
    hand_targets = _denied_targets(modules, {})
    targets = _denied_targets(modules, dict.fromkeys(generated_deny, ""))
    containers = _containers(targets, list(DENY) + list(generated_deny))
    deny_keys = set(DENY) | set(generated_deny)
    aliases: dict[str, str] = {}

    def visit(prefix: str, namespace: dict[str, Any]) -> None:
        for attr in sorted(namespace):
            if attr.startswith("__") and attr.endswith("__"):
                continue
            value = namespace[attr]
            hit = targets.get(id(value)) or containers.get(id(value))
            if hit is None or hit[0] is not value:
                continue
            alias = f"{prefix}.{attr}"
            canonical = hit[1]
            if alias == canonical:
                continue
            # The same object as a hand-denied name keeps that name's ranking, even where the generated deny
            # side also reached it by its effects (``sklearn.callback._progressbar.Thread`` is threading.Thread).
            is_hand_object = id(value) in hand_targets and hand_targets[id(value)][0] is value
            if _covered(alias, deny_keys) and not (is_hand_object and not _covered(alias, _HAND_DENY)):
                continue
            aliases[alias] = canonical

    for mod_name in sorted(modules):
        module = modules[mod_name]
        namespace = dict(vars(module))
        visit(mod_name, namespace)
        for value in namespace.values():
            if isinstance(value, type) and canonical_name(value) == f"{mod_name}.{value.__qualname__}":
                try:
                    class_ns = {k: inspect.getattr_static(value, k) for k in vars(value)}
                except Exception:  # noqa: BLE001,S112 - a class whose namespace cannot be read statically
                    continue
                visit(f"{mod_name}.{value.__qualname__}", class_ns)
    return aliases


def call_methods_present(cls: type) -> list[str]:
    return [m for m in CALL_METHODS if _method(cls, m) is not None]
