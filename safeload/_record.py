"""Small value classes without ``@dataclass`` (issue 15: fixed costs).

Creating a dataclass compiles its ``__init__``, ``__repr__``, ``__eq__`` (and, frozen, ``__setattr__``,
``__delattr__``, ``__hash__``) from source: 1-3 ms of CPU per class here, paid by every process at its first
scan. Classes on that path that nothing passes to ``dataclasses.replace``/``fields`` derive from these bases,
list their fields in ``_FIELDS`` (declaration order) and ``__slots__`` (the same names) and write their own
``__init__``; the bases give what ``@dataclass`` gave them, generically over ``_FIELDS``.

Invariant: a subclass behaves like the dataclass it replaces: ``repr`` is ``Name(field=value, ...)`` in
declaration order; equality holds between instances of the same class with equal fields; a ``FrozenRecord``
rejects attribute assignment and deletion (``AttributeError``, as dataclasses' ``FrozenInstanceError`` is),
hashes by its fields, and still copies and pickles.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["FrozenRecord", "Record"]


class Record:
    """Mutable record: ``repr`` and ``==`` from the fields; unhashable, as an ``eq=True`` dataclass is.

    Subclasses set ``_FIELDS`` (declaration order) and ``__slots__`` (the same names)."""

    __slots__ = ()
    _FIELDS: tuple[str, ...] = ()

    def _fields(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self._FIELDS)

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._FIELDS)
        return f"{type(self).__qualname__}({shown})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Record) and other.__class__ is self.__class__:
            return self._fields() == other._fields()
        return NotImplemented

    __hash__: Any = None  # as an eq=True, unfrozen dataclass: unhashable


class FrozenRecord(Record):
    """Immutable record: assignment raises ``AttributeError``; hashable by its fields. ``__init__`` sets the
    fields with ``object.__setattr__``."""

    __slots__ = ()

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field {name!r}: {type(self).__qualname__} is frozen")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}: {type(self).__qualname__} is frozen")

    def __hash__(self) -> int:
        return hash(self._fields())

    def __getstate__(self) -> tuple[Any, ...]:
        return self._fields()

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        for name, value in zip(self._FIELDS, state, strict=True):
            object.__setattr__(self, name, value)
