"""Symbolic values of the pickle machine: what the stack, memo and containers hold instead of real objects.

Plain data (str, bytes, int, float, bool, None, list, tuple, dict, set, frozenset) is held as itself. Three
records stand for everything else:

- :class:`Global`: a name the stream imports (GLOBAL, STACK_GLOBAL, INST, or derived by a modelled call such
  as ``getattr(numpy, "log1p")``). It holds strings only; nothing is ever imported.
- :class:`Call`: the object a call at load time would return (REDUCE, NEWOBJ, INST, OBJ), with its callee and
  arguments, the class whose instance it is when that is known (``owner``), its BUILD state and what was
  stored into it by SETITEM/APPEND.
- :class:`Opaque`: a value known only to the loading process (persistent ids, out-of-band buffers, EXT codes,
  names computed at load time).

The native engine adds one stand-in: :data:`PlainList`, in BUILD state only, for a long list whose items are
all plain scalars (str, bytes, int, float, bool, None). It is that list for every rule: ``built`` is the
list once anything needed it (then shared by every holder, later APPENDs included), ``tolist()`` builds it,
``repr``, ``len``, iteration, comparison and the "unhashable" error are the list's. Until it is built nothing
can have been added to it, so a rule that looks for names or objects finds none there (docs/engine.md).

Invariant: no record ever holds a real object from the file's world; they are inert Python values.
"""

from __future__ import annotations

from safeload._record import FrozenRecord, Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from safeload.catalog.classify import Classification
    from safeload.severity import Severity

__all__ = ["BigBytes", "Call", "Global", "Opaque", "ParseError", "PlainList", "StreamResult", "U"]


class U:
    """``catalog.uses.Use`` flags as plain ints: the walker's hot paths cannot afford ``enum.Flag`` arithmetic.

    Spelled out here so that the opcode loop needs neither ``enum`` nor the catalogue (issue 15: a pickle that
    names no global never sets up the catalogue); ``engine/facts.py`` checks every value against ``Use`` when the
    semantics load, and refuses to run if one differs.
    """

    IMPORT = 1
    REF = 2
    CALL = 4
    NEW = 8
    ALLOC = 16
    INVOKE = 32
    BUILD = 64
    MUTATE = 128
    HASH = 256
    CALL_INSTANCE = 512
    PASSED = 1024


def _plain_list_type() -> type[Any]:
    try:
        from safeload.engine import _native  # type: ignore[attr-defined]
    except ImportError:  # the pure-Python engine never makes one: a type nothing is an instance of
        return type("PlainList", (), {"__slots__": ()})
    plain_list: type[Any] = _native.PlainList
    return plain_list


PlainList = _plain_list_type()


class ParseError(Exception):
    """The stream is malformed at ``offset`` (the real unpickler would raise here too)."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


class Global:
    """A name the stream imports. ``full`` is the dotted name; ``cls`` its classification. ``receiver``: for a
    method bound by ``getattr`` to an object the load built whose class is known (``legacy.RESULT_CLASS``: a
    ``re.Pattern`` compiled from a literal), that object; argument contracts read it (the pattern compiled)."""

    __slots__ = ("cls", "full", "module", "name", "offset", "receiver")

    def __init__(self, module: str, name: str, cls: Classification, offset: int) -> None:
        self.module = module
        self.name = name
        self.cls = cls
        self.full = cls.full_name
        self.offset = offset
        self.receiver: Call | None = None

    def __repr__(self) -> str:
        return f"<global {self.full}>"


class Call:
    """What calling something at load time returns.

    ``func`` is the callee (a :class:`Global`, another :class:`Call`, or :class:`Opaque`); ``args`` its positional
    arguments and ``kwargs`` its keyword arguments as written in the file. ``owner`` is the :class:`Global` whose
    code runs when this object is given state, mutated, hashed or called: the class for ``Class(...)`` and for
    modelled constructors (``copyreg.__newobj__(cls)``, ``_reconstruct(subtype, ...)``), otherwise the function
    that produced it. ``partial_func``/``partial_args``/``partial_kwargs`` describe a ``functools.partial``;
    ``data`` holds bytes a modelled decoder produced (followed into nested loaders).
    """

    __slots__ = ("args", "danger", "data", "func", "items", "kwargs", "offset", "owner", "partial_args",
                 "partial_func", "partial_kwargs", "state")

    def __init__(self, func: Any, args: Any, offset: int, kwargs: Any = None) -> None:
        self.func = func
        self.args = args
        self.kwargs = kwargs
        self.offset = offset
        self.owner: Global | None = func if isinstance(func, Global) else None
        self.state: Any = None
        self.items: list[Any] | None = None
        self.data: bytes | bytearray | memoryview | None = None
        self.partial_func: Any = None
        self.partial_args: Any = None
        self.partial_kwargs: Any = None
        self.danger: Severity | None = None            # severity of what produced this object

    @property
    def func_name(self) -> str | None:
        return self.func.full if isinstance(self.func, Global) else None

    @property
    def is_partial(self) -> bool:
        return self.partial_func is not None

    def __repr__(self) -> str:
        return f"<call {self.func_name or '?'}>"


class Opaque:
    """A value only known at load time (persistent ids, out-of-band buffers, EXT codes, computed names)."""

    __slots__ = ("danger", "what")

    def __init__(self, what: str, danger: Severity | None = None) -> None:
        self.what = what
        self.danger = danger

    def __repr__(self) -> str:
        return f"<{self.what}>"


class BigBytes(FrozenRecord):
    """A large bytes value left in place: ``start``/``length`` index the buffer being walked."""

    _FIELDS = ("start", "length")
    __slots__ = ("length", "start")
    start: int
    length: int

    def __init__(self, start: int, length: int) -> None:
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "length", length)


class StreamResult(Record):
    """One pickle stream: where it started and ended, whether it reached STOP, and what it returned."""

    _FIELDS = ("start", "end", "complete", "protocol", "opcodes", "value", "persistent_ids", "globals_seen")
    __slots__ = ("complete", "end", "globals_seen", "opcodes", "persistent_ids", "protocol", "start", "value")
    start: int
    end: int
    complete: bool
    protocol: int
    opcodes: int
    value: Any
    persistent_ids: list[Any]
    globals_seen: set[str]

    def __init__(self, start: int, end: int, complete: bool, protocol: int = 0, opcodes: int = 0,  # noqa: PLR0917
                 value: Any = None, persistent_ids: list[Any] | None = None,
                 globals_seen: set[str] | None = None) -> None:
        self.start = start
        self.end = end
        self.complete = complete
        self.protocol = protocol
        self.opcodes = opcodes
        self.value = value
        self.persistent_ids = [] if persistent_ids is None else persistent_ids
        self.globals_seen = set() if globals_seen is None else globals_seen
