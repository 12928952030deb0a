"""Small value classes without ``@dataclass`` (issue 15: fixed costs).

Creating a dataclass compiles its ``__init__``, ``__repr__``, ``__eq__`` (and, frozen, ``__setattr__``,
``__delattr__``, ``__hash__``) from source: 1-3 ms of CPU per class here, paid by every process at its first
scan, and importing ``dataclasses`` imports ``inspect``, ``ast``, ``dis`` and ``tokenize`` (~15 ms at a loaded
first scan). Classes on that path derive from these bases, list their fields in ``_FIELDS`` (declaration order)
and ``__slots__`` (the same names) and write their own ``__init__``; the bases give what ``@dataclass`` gave
them, generically over ``_FIELDS`` (``_COMPARE``: the fields ``==`` and ``hash`` use, when not all).

The public result and policy types (``Finding``, ``ScanResult``, ``Policy``, ...) were dataclasses, and users
pass them to ``dataclasses.replace``/``fields``/``asdict`` (documented use). :class:`DataclassRecord` keeps
that working without importing ``dataclasses`` up front: ``__dataclass_fields__`` and ``__dataclass_params__``
are computed on first access, from a real ``@dataclass`` built with the same field specifications
(``_DEFAULTS``, ``_FACTORIES``, ``_COMPARE``), so ``is_dataclass``, ``fields``, ``replace`` and ``asdict`` see
exactly the fields, defaults, factories and flags the dataclass had.

Invariant: a subclass behaves like the dataclass it replaces: ``repr`` is ``Name(field=value, ...)`` in
declaration order; equality holds between instances of the same class with equal compared fields; a
``FrozenRecord`` rejects attribute assignment and deletion (``dataclasses.FrozenInstanceError``, an
``AttributeError``), hashes by its compared fields, and still copies and pickles.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dataclasses import Field
    from typing import Any, ClassVar, TypeVar

    R = TypeVar("R", bound="Record")

__all__ = ["DataclassRecord", "FrozenRecord", "Record", "replace"]


class Record:
    """Mutable record: ``repr`` and ``==`` from the fields; unhashable, as an ``eq=True`` dataclass is.

    Subclasses set ``_FIELDS`` (declaration order) and ``__slots__`` (the same names)."""

    __slots__ = ()
    _FIELDS: tuple[str, ...] = ()
    _COMPARE: tuple[str, ...] | None = None  # the fields ``==`` and ``hash`` use (None: every field)

    def _fields(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self._FIELDS)

    def _compared(self) -> tuple[Any, ...]:
        names = self._FIELDS if self._COMPARE is None else self._COMPARE
        return tuple(getattr(self, name) for name in names)

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._FIELDS)
        return f"{type(self).__qualname__}({shown})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Record) and other.__class__ is self.__class__:
            return self._compared() == other._compared()
        return NotImplemented

    __hash__: Any = None  # as an eq=True, unfrozen dataclass: unhashable


class FrozenRecord(Record):
    """Immutable record: assignment raises ``FrozenInstanceError``; hashable by its fields. ``__init__`` sets
    the fields with ``object.__setattr__``."""

    __slots__ = ()

    def __setattr__(self, name: str, value: object) -> None:
        raise _frozen_error(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise _frozen_error(f"cannot delete field {name!r}")

    def __hash__(self) -> int:
        return hash(self._compared())

    def __getstate__(self) -> tuple[Any, ...]:
        return self._fields()

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        for name, value in zip(self._FIELDS, state, strict=True):
            object.__setattr__(self, name, value)


def _frozen_error(message: str) -> AttributeError:
    """What a frozen dataclass raises; ``dataclasses`` is imported only on this error path."""
    from dataclasses import FrozenInstanceError

    return FrozenInstanceError(message)


class _DataclassAttribute:
    """The class attribute ``__dataclass_fields__`` or ``__dataclass_params__``, computed on first access."""

    __slots__ = ("_attr",)

    def __init__(self, attr: str) -> None:
        self._attr = attr

    def __get__(self, instance: object, owner: type) -> Any:
        return getattr(_dataclass_twin(owner), self._attr)


_TWINS: dict[type, type] = {}


def _dataclass_twin(cls: type) -> type:
    """The ``@dataclass`` that ``cls`` stands in for: same name, fields (in order), annotations, defaults,
    default factories, ``compare``/``hash`` flags and frozen-ness. Built once per class."""
    twin = _TWINS.get(cls)
    if twin is not None:
        return twin
    import dataclasses

    annotations: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        annotations.update(klass.__dict__.get("__annotations__", {}))  # noqa: RUF063 - no inspect import here
    names: tuple[str, ...] = getattr(cls, "_FIELDS", ())
    defaults: dict[str, Any] = getattr(cls, "_DEFAULTS", {})
    factories: dict[str, Any] = getattr(cls, "_FACTORIES", {})
    compare: tuple[str, ...] = getattr(cls, "_COMPARE", None) or names
    hints: dict[str, Any] = {}
    namespace: dict[str, Any] = {"__annotations__": hints, "__module__": cls.__module__,
                                 "__qualname__": cls.__qualname__, "__doc__": cls.__doc__}
    for name in names:
        hints[name] = annotations.get(name, "Any")
        kept = name in compare
        flags: dict[str, Any] = {} if kept else {"compare": False, "hash": False}
        if name in factories:
            namespace[name] = dataclasses.field(default_factory=factories[name], **flags)
        elif name in defaults:
            namespace[name] = dataclasses.field(default=defaults[name], **flags)
        elif flags:
            namespace[name] = dataclasses.field(**flags)
    twin = dataclasses.dataclass(frozen=issubclass(cls, FrozenRecord))(type(cls.__name__, (), namespace))
    _TWINS[cls] = twin
    return twin


class DataclassRecord(FrozenRecord):
    """A frozen record that the ``dataclasses`` functions (``is_dataclass``, ``fields``, ``replace``, ``asdict``)
    and type checkers take for the frozen dataclass it replaces. Subclasses set ``_FIELDS`` and, optionally,
    ``_DEFAULTS``, ``_FACTORIES`` (``default_factory``) and ``_COMPARE``."""

    __slots__ = ()
    __dataclass_fields__: ClassVar[dict[str, Field[Any]]]  # set on each subclass (computed on first access)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        type.__setattr__(cls, "__match_args__", cls._FIELDS)
        type.__setattr__(cls, "__dataclass_fields__", _DataclassAttribute("__dataclass_fields__"))
        type.__setattr__(cls, "__dataclass_params__", _DataclassAttribute("__dataclass_params__"))

    # Pickling goes by the dataclass fields, as a slots dataclass's generated __getstate__ did: a ``@dataclass``
    # subclass's own fields are kept too.
    def __getstate__(self) -> tuple[Any, ...]:
        from dataclasses import fields

        return tuple(getattr(self, f.name) for f in fields(self))

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        from dataclasses import fields

        for f, value in zip(fields(self), state, strict=True):
            object.__setattr__(self, f.name, value)


def replace(record: R, /, **changes: Any) -> R:
    """``dataclasses.replace`` for a record: a new instance of the same class through its ``__init__`` (which
    validates, as ``__post_init__`` did), with every field not in ``changes`` copied over."""
    unknown = set(changes) - set(record._FIELDS)
    if unknown:
        raise TypeError(f"{type(record).__name__} has no field {sorted(unknown)[0]!r}")
    values = {name: changes[name] if name in changes else getattr(record, name) for name in record._FIELDS}
    return type(record)(**values)
