"""Facts the engine records about one pickle stream: for every name, the uses the load makes of it.

The walker records *direct* uses as they happen (a REDUCE calls ``X``: ``CALL``; ``copyreg.__newobj__(X)``: ``NEW``;
a BUILD on an ``X`` instance: ``BUILD``). Where a value can *escape* to code that may call it later — call
arguments outside a position a contract declares, BUILD state, what SETITEM/APPEND store into an object, the
loaded object itself — the walker keeps the value and :func:`trace_escapes` walks it once at the end of the
stream: every name found there is ``INVOKE``d (possibly called by whoever holds it), every object passed as a
call argument is ``PASSED`` (its protocol methods may run).

Invariant: facts are complete for the uses a decision depends on. The escape walk may be skipped only when no
name in the stream lacks permission for ``INVOKE`` and no object's class lacks permission for ``PASSED`` (then
its result could not change a verdict); the walker tracks that (``sensitive``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextvars import ContextVar

from safeload.catalog.classify import Classification
from safeload.catalog.uses import Use
from safeload.engine.values import Call, Global, PlainList, U

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["Escape", "FactTable", "NameFacts", "U", "trace_escapes"]


def _check_use_ints() -> None:
    """``U`` (``engine/values.py``) spells ``Use``'s values as ints; a difference would misrecord every use."""
    for use in Use:
        if getattr(U, str(use.name)) != use.value:
            raise RuntimeError(f"safeload.engine.values.U.{use.name} is not Use.{use.name}'s value {use.value}")


_check_use_ints()


class NameFacts:
    """Everything one stream does with one name: its classification, its uses, how each first happened, the
    module/attribute split it was imported with, and the kinds of BUILD state its instances received."""

    __slots__ = ("bound", "build_kinds", "call_args", "cls", "how", "module", "name", "offset", "unbound", "uses")

    def __init__(self, cls: Classification, offset: int, module: str, name: str) -> None:
        self.cls = cls
        self.offset = offset
        self.module = module
        self.name = name
        self.uses = U.IMPORT
        self.how: dict[int, str] = {}
        self.build_kinds: set[str] = set()
        self.call_args: Any = None  # the arguments of the first call the file makes of it (for messages)
        # ``Class.method`` reached as a method bound to an instance of Class the load built (getattr(obj, name)),
        # and reached any other way (a global, getattr on the class): only bound and never unbound means every
        # call of it runs with ``self`` such an instance
        self.bound = False
        self.unbound = False

    @property
    def use_flags(self) -> Use:
        return Use(self.uses)


class FactTable:
    """Name -> :class:`NameFacts` for one stream."""

    __slots__ = ("names",)

    def __init__(self) -> None:
        self.names: dict[str, NameFacts] = {}

    def record(self, g: Global, use: int, how: str | None = None) -> NameFacts:
        facts = self.names.get(g.full)
        if facts is None:
            facts = self.names[g.full] = NameFacts(g.cls, g.offset, g.module, g.name)
        if not facts.uses & use:
            facts.uses |= use
            if how is not None:
                facts.how.setdefault(use, how)
        return facts

    def clear(self) -> None:
        self.names = {}


# An escape root: (value, how it escaped, whether objects found there are call arguments).
if TYPE_CHECKING:
    Escape = tuple[Any, str, bool]
else:  # no ``typing`` at run time (issue 15: fixed costs)
    Escape = tuple


# The native engine runs this same walk compiled (engine/_native.c) for the streams it walks; the Python
# engine runs the function below, so tests/test_native_differential.py keeps the two equal.
TRACE_IMPL: ContextVar[Callable[..., None] | None] = ContextVar("safeload_trace_impl", default=None)


def trace_escapes(roots: Iterable[Escape], record: Callable[[Global, int, str], object],
                  check: Callable[[], None]) -> None:
    """Walk escaped values through plain containers: names found are INVOKEd; objects found in call
    arguments are PASSED (their class's protocol methods may run). Objects are not entered: their own
    arguments, state and items are roots of their own."""
    impl = TRACE_IMPL.get()
    if impl is not None:
        impl(roots, record, check)
        return
    seen_store: set[int] = set()
    seen_arg: set[int] = set()
    todo: list[tuple[Any, str, bool]] = []
    steps = 0
    for root in roots:
        todo.append(root)
        while todo:
            value, how, as_arg = todo.pop()
            kind = type(value)
            if kind is Global:
                record(value, U.INVOKE, how)
            elif kind is Call:
                if as_arg and value.owner is not None:
                    record(value.owner, U.PASSED, how)
            elif kind is PlainList:  # the list it stands for, once built; until then plain scalars only
                built = value.built
                if built is not None:
                    todo.append((built, how, as_arg))
            elif kind is list or kind is tuple or kind is set or kind is frozenset or kind is dict:
                seen = seen_arg if as_arg else seen_store
                if id(value) in seen:
                    continue
                seen.add(id(value))
                items: Iterable[Any] = value.items() if kind is dict else value
                for item in items:
                    if kind is dict:
                        todo.append((item[0], how, as_arg))
                        todo.append((item[1], how, as_arg))
                    else:
                        todo.append((item, how, as_arg))
                steps += 1
                if not steps & 0xFFFF:
                    check()
