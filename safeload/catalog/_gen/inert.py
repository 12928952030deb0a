"""Which uses of a class or function are inert: the methods each use runs, and a verdict for each method.

For a class ``C`` and a use, ``methods_for_use`` lists the methods of ``C`` (resolved through the MRO) that
the use runs, as the unpickler runs them:

- ``CALL``/``INVOKE``: ``type(C).__call__`` when a metaclass overrides it, ``__new__``, ``__init__``, and the
  instance's ``__del__`` (it runs later, with the state the file gave);
- ``NEW``: ``__new__`` and ``__del__``;  ``ALLOC``: ``__del__``, ``__array_finalize__`` (numpy's
  ``_reconstruct`` runs it on the subtype it allocates) and ``__new__`` of a compiled class (Cython's
  ``__pyx_unpickle_C`` calls it);
- ``BUILD``: ``__setstate__`` and ``__getattribute__`` when ``C`` has a ``__setstate__``; otherwise
  ``__getattr__``/``__getattribute__`` (``getattr(inst, "__setstate__")`` runs them), ``__setattr__`` and the
  setters of properties (slot state goes through ``setattr``);
- ``MUTATE``: ``__setitem__``, ``append``, ``extend``, ``add`` (and ``__getattr__``/``__getattribute__``);
- ``HASH``: ``__hash__``, ``__eq__``;  ``CALL_INSTANCE``: ``__call__``.

A method is inert when it is the builtin implementation of a builtin base type, when the reviewed table says
so (``reviewed_methods.REVIEWED_METHODS``, one review per method: a reviewed base method covers every
subclass inheriting it), when the pluggable ``method_verdict`` hook says so, or — for the uses whose code only
computes on its arguments (CALL, INVOKE, HASH, MUTATE, property setters) — when the effect scan finds no sink
and no computed attribute access in the method itself. Everything else needs review.

Invariant: no method is ever called; verdicts come from tables, bytecode and the effect scan.
"""
# ruff: noqa: PLR0917  (internal helpers thread the generator's context through positional args)

from __future__ import annotations

import types
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from safeload.catalog._gen.effects import Effect, EffectScan
from safeload.catalog._gen.naming import canonical_name
from safeload.catalog._gen.reviewed_methods import REVIEWED_METHODS
from safeload.catalog.uses import Use

__all__ = ["MethodVerdict", "UseVerdict", "method_verdict", "methods_for_use", "set_method_verdict_hook",
           "use_verdicts"]

_BUILTIN_BASES: tuple[type, ...] = (object, dict, list, set, frozenset, tuple, int, float, complex, str, bytes,
                                    bytearray, BaseException, type, bool, slice, range, memoryview)
_HEAPTYPE = 1 << 9
# Uses whose code computes on the arguments the file gives: an effect-clean method is inert for them.
_AUTOMATIC = frozenset({"CALL", "INVOKE", "HASH", "MUTATE", "property"})

MethodVerdict = tuple[bool, str]
_hook: Callable[[str], MethodVerdict | None] | None = None


def set_method_verdict_hook(hook: Callable[[str], MethodVerdict | None] | None) -> None:
    """Plug in another reviewer (e.g. the installed-source analyser): ``hook("mod.Cls.meth") -> (inert, note)``."""
    global _hook  # noqa: PLW0603 - a process-wide seam for the generator run
    _hook = hook


def method_verdict(qualified_method: str) -> MethodVerdict | None:
    """The review of one method (``"sklearn.base.BaseEstimator.__setstate__"``): reviewed table, then the hook."""
    note = REVIEWED_METHODS.get(qualified_method)
    if note is not None:
        return (not note.startswith("NOT INERT"), note)
    if _hook is not None:
        return _hook(qualified_method)
    return None


def _owner(cls: type, name: str) -> type | None:
    for klass in cls.__mro__:
        if name in klass.__dict__:
            return klass
    return None


def _is_compiled_type(cls: type) -> bool:
    return not (cls.__flags__ & _HEAPTYPE)


def methods_for_use(cls: type, use: str) -> list[str]:
    """The method names a use of ``cls`` runs (before resolving where each is defined)."""
    if use in ("CALL", "INVOKE"):
        return ["__metacall__", "__new__", "__init__", "__del__"]
    if use == "NEW":
        return ["__new__", "__del__"]
    if use == "ALLOC":  # numpy's _reconstruct runs the subtype's __array_finalize__
        return (["__new__"] if _is_compiled_type(cls) else []) + ["__del__", "__array_finalize__"]
    if use == "BUILD":
        if _owner(cls, "__setstate__") not in (None, object):
            return ["__setstate__", "__getattribute__"]
        return ["__getattr__", "__getattribute__", "__setattr__", "__property_setters__"]
    if use == "MUTATE":
        return ["__setitem__", "append", "extend", "add", "__getattr__", "__getattribute__"]
    if use == "HASH":
        return ["__hash__", "__eq__"]
    if use == "CALL_INSTANCE":
        return ["__call__"]
    raise ValueError(use)


@dataclass
class UseVerdict:
    """The verdict for one use of one class: inert or not, the methods that decided, and what needs review."""

    inert: bool
    notes: list[str] = field(default_factory=list)
    needs_review: list[str] = field(default_factory=list)
    effect: Effect | None = None


def _method_objects(cls: type, name: str) -> list[tuple[str, Any, type]]:
    """``(qualified name, method object, owner)`` for the method ``name`` of ``cls``; empty when builtin-default."""
    if name == "__metacall__":
        meta = type(cls)
        owner = _owner(meta, "__call__")
        if owner is None or owner is type:
            return []
        return [(f"{canonical_name(owner) or owner.__qualname__}.__call__", owner.__dict__["__call__"], owner)]
    if name == "__property_setters__":
        out = []
        for klass in reversed(cls.__mro__):
            for attr, value in vars(klass).items():
                if isinstance(value, property) and value.fset is not None:
                    out.append((f"{canonical_name(klass) or klass.__qualname__}.{attr}.setter", value.fset, klass))
                elif type(value).__name__ == "getset_descriptor" or isinstance(value, types.MemberDescriptorType):
                    continue
        return out
    owner = _owner(cls, name)
    if owner is None or owner in _BUILTIN_BASES or owner.__module__ == "builtins":
        return []  # the interpreter's own types (object, dict, exceptions...) implement these inertly
    return [(f"{canonical_name(owner) or owner.__module__ + '.' + owner.__qualname__}.{name}",
             owner.__dict__[name], owner)]


def use_verdicts(cls: type, uses: list[str], scan: EffectScan) -> dict[str, UseVerdict]:
    """For each use in ``uses``, whether running it on ``cls`` is inert."""
    out: dict[str, UseVerdict] = {}
    for use in uses:
        verdict = UseVerdict(True)
        for name in methods_for_use(cls, use):
            for qualified, method, _owner_cls in _method_objects(cls, name):
                automatic = use in _AUTOMATIC or name == "__property_setters__"
                _judge(verdict, cls, qualified, method, automatic, scan)
        out[use] = verdict
    return out


def _judge(verdict: UseVerdict, cls: type, qualified: str, method: Any,
           automatic: bool, scan: EffectScan) -> None:
    reviewed = method_verdict(qualified)
    if reviewed is not None:
        inert, note = reviewed
        verdict.notes.append(f"{qualified}: {note}")
        if not inert:
            verdict.inert = False
        return
    func = method.__func__ if isinstance(method, (staticmethod, classmethod)) else method
    if not isinstance(func, types.FunctionType):
        verdict.inert = False
        verdict.needs_review.append(f"{qualified} (compiled)")
        return
    effect = scan.methods_effect(cls, [func])
    if effect.severity is not None:
        verdict.inert = False
        verdict.effect = effect
        verdict.needs_review.append(f"{qualified} reaches {effect.sink} ({effect.severity})")
        return
    own_dynamic = bool(effect.dynamic) and len(effect.dynamic) <= 2
    if automatic and not own_dynamic:
        verdict.notes.append(f"{qualified}: effect scan clean")
        return
    verdict.inert = False
    reason = "computed attribute access" if own_dynamic else "not reviewed"
    verdict.needs_review.append(f"{qualified} ({reason}; {_source_hint(func)})")


def _source_hint(func: types.FunctionType) -> str:
    return f"{func.__module__}:{func.__code__.co_firstlineno}"


def use_of(word: str) -> Use:
    return Use[word]
