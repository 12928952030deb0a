"""Policy: the threshold, trusted names and resource limits a scan and a loader apply.

Invariants:
- the hard floor (``is_floor``) can never be trusted: trusting a floor name, or a pattern under a floor module
  (``posix.*``), raises ``PolicyError``; a ``package.*`` pattern that would cover any denied name
  (``builtins.*`` covers ``builtins.open``) is refused too: denied names are trusted one by one, exactly;
- scoped trust (``with trusted([...])``) lives in a ``ContextVar``, so threads and async tasks never see each
  other's scopes, and leaving the scope restores exactly the previous value (the variable is created by the first
  ``trusted()``: until then no context has scoped trust, and ``contextvars`` is not imported);
- scoped trust ends with its block everywhere: a task or a ``copy_context()`` made inside the block copies the
  variable, so each entry is an ``_OpenScope`` that ``__exit__`` closes, and closed scopes trust nothing (an
  ``asyncio`` task started inside the block and still running after it loses the trust with the block);
- trusting everything (``"*"``) is refused, as skops refuses ``trusted=True`` (CVE-2024-37065).
"""

from __future__ import annotations

from _thread import allocate_lock
from collections.abc import Iterable

from safeload._record import DataclassRecord
from safeload.exceptions import PolicyError
from safeload.severity import Severity

TYPE_CHECKING = False
if TYPE_CHECKING:
    from contextvars import ContextVar, Token

__all__ = [
    "Limits",
    "Policy",
    "clear_trust",
    "get_trust",
    "is_floor",
    "normalize_name",
    "trust",
    "trusted",
    "untrust",
]


# Limits and Policy were dataclasses; they are hand-written records now (issue 15: fixed costs) and still answer
# ``dataclasses.replace``/``fields``/``asdict`` (``safeload._record.DataclassRecord``).
class Limits(DataclassRecord):
    """Resource bounds. Hitting one is a blocking finding with its own rule (SL010-SL018, SL020)."""

    _FIELDS = ("max_opcodes", "max_memo", "max_stack", "max_marks", "max_nesting", "max_seconds", "max_members",
               "max_decompressed_bytes", "max_compression_ratio", "max_allocation_bytes", "max_key_collisions")
    __slots__ = ("max_allocation_bytes", "max_compression_ratio", "max_decompressed_bytes", "max_key_collisions",
                 "max_marks", "max_members", "max_memo", "max_nesting", "max_opcodes", "max_seconds", "max_stack")
    _DEFAULTS = {"max_opcodes": 200_000_000, "max_memo": 20_000_000, "max_stack": 20_000_000, "max_marks": 100_000,
                 "max_nesting": 8, "max_seconds": 900.0, "max_members": 100_000,
                 "max_decompressed_bytes": 16 * 1024**3, "max_compression_ratio": 2000.0,
                 "max_allocation_bytes": 1 << 30, "max_key_collisions": 128}

    max_opcodes: int
    max_memo: int
    max_stack: int
    max_marks: int
    max_nesting: int
    max_seconds: float
    max_members: int
    max_decompressed_bytes: int
    max_compression_ratio: float
    max_allocation_bytes: int
    max_key_collisions: int  # distinct keys sharing one load-time hash in a pickle stream (engine/collisions.py)

    def __init__(self, max_opcodes: int = 200_000_000, max_memo: int = 20_000_000, max_stack: int = 20_000_000,  # noqa: PLR0917
                 max_marks: int = 100_000, max_nesting: int = 8, max_seconds: float = 900.0,
                 max_members: int = 100_000, max_decompressed_bytes: int = 16 * 1024**3,
                 max_compression_ratio: float = 2000.0, max_allocation_bytes: int = 1 << 30,
                 max_key_collisions: int = 128) -> None:
        setter = object.__setattr__
        setter(self, "max_opcodes", max_opcodes)
        setter(self, "max_memo", max_memo)
        setter(self, "max_stack", max_stack)
        setter(self, "max_marks", max_marks)
        setter(self, "max_nesting", max_nesting)
        setter(self, "max_seconds", max_seconds)
        setter(self, "max_members", max_members)
        setter(self, "max_decompressed_bytes", max_decompressed_bytes)
        setter(self, "max_compression_ratio", max_compression_ratio)
        setter(self, "max_allocation_bytes", max_allocation_bytes)
        setter(self, "max_key_collisions", max_key_collisions)

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return cls._FIELDS


def normalize_name(name: str) -> str:
    """``"pkg.mod:Class.method"`` and ``"pkg.mod.Class.method"`` are the same name; returns the dotted form."""
    text = name.strip()
    if not text:
        raise PolicyError("empty name in trust list")
    return text.replace(":", ".")


def _floor_entry_for(name: str) -> str | None:
    from safeload.catalog.deny import DENY  # here: a load with nothing to trust never needs the denylist (issue 15)

    parts = name.split(".")
    for i in range(1, len(parts) + 1):
        key = ".".join(parts[:i])
        entry = DENY.get(key)
        if entry is not None and entry.floor:
            return key
    return None


def is_floor(name: str) -> bool:
    """True if ``name`` (or a module containing it) is on the hard floor."""
    return _floor_entry_for(normalize_name(name)) is not None


def _validate(entries: Iterable[str]) -> tuple[str, ...]:
    if isinstance(entries, str):
        entries = [entries]
    out: list[str] = []
    for raw in entries:
        if not isinstance(raw, str):
            raise PolicyError(f"trusted names must be strings, got {type(raw).__name__}")
        name = normalize_name(raw)
        if name in {"*", ".*"} or name.startswith("*"):
            raise PolicyError(
                f"refusing to trust {name!r}: trusting everything disables the scanner (compare skops "
                "CVE-2024-37065). Trust the reviewed names from ScanResult.untrusted() instead.")
        if not name.endswith(".*") and "*" in name:
            raise PolicyError(f"bad trust pattern {name!r}: use an exact name or a 'package.*' prefix")
        floor = _floor_entry_for(name.removesuffix(".*"))
        if floor is not None:
            what = "a pattern under it can never apply" if name.endswith(".*") else "it can never be trusted"
            raise PolicyError(f"{name!r} is on safeload's hard floor ({floor}): {what}")
        if name.endswith(".*"):
            covered = _denied_under(name[:-2])
            if covered:
                shown = ", ".join(covered[:5]) + (", ..." if len(covered) > 5 else "")
                raise PolicyError(
                    f"refusing the pattern {name!r}: it would trust names safeload denies ({shown}). Trust "
                    "reviewed names one by one (exact names), never a package that contains denied ones.")
        out.append(name)
    return tuple(dict.fromkeys(out))


def _denied_under(prefix: str) -> list[str]:
    """Denied names (and denied modules) that a ``prefix.*`` trust pattern would cover, sorted."""
    from safeload.catalog.deny import DENY

    dotted = prefix + "."
    return sorted(key for key in DENY if key == prefix or key.startswith(dotted))


def _matches(name: str, pattern: str) -> bool:
    if pattern.endswith(".*"):
        return name.startswith(pattern[:-1])
    return name == pattern


class Policy(DataclassRecord):
    """What a scan or a load applies. Build one with :func:`safeload.config.resolve_policy` to honour config."""

    _FIELDS = ("threshold", "trusted", "limits", "analyse_source")
    __slots__ = ("analyse_source", "limits", "threshold", "trusted")
    _DEFAULTS = {"threshold": Severity.MEDIUM, "trusted": (), "analyse_source": True}
    _FACTORIES = {"limits": Limits}

    threshold: Severity
    trusted: tuple[str, ...]
    limits: Limits
    analyse_source: bool  # decide names outside the catalogue from their installed source (never imported)

    def __init__(self, threshold: Severity | str = Severity.MEDIUM, trusted: Iterable[str] | str = (),
                 limits: Limits | None = None, analyse_source: bool = True) -> None:
        setter = object.__setattr__
        setter(self, "threshold", threshold)
        setter(self, "trusted", trusted)
        setter(self, "limits", Limits() if limits is None else limits)
        setter(self, "analyse_source", analyse_source)
        self.__post_init__()

    def __post_init__(self) -> None:
        """Parse the threshold and validate the trust list (also run by a ``@dataclass`` subclass's __init__)."""
        object.__setattr__(self, "threshold", Severity.parse(self.threshold))
        object.__setattr__(self, "trusted", _validate(self.trusted))

    def with_trusted(self, extra: Iterable[str]) -> Policy:
        return type(self)(self.threshold, self.trusted + _validate(extra), self.limits, self.analyse_source)

    def all_trusted(self) -> tuple[str, ...]:
        """This policy's names plus the process-wide and scoped trust in effect now."""
        return self.trusted + get_trust()

    def is_trusted(self, name: str) -> bool:
        """True if ``name`` is trusted here and not on the hard floor."""
        patterns = self.all_trusted()
        if not patterns:  # nothing is trusted: no need for the floor (nor the denylist behind it)
            return False
        if _floor_entry_for(name) is not None:
            return False
        return any(_matches(name, pattern) for pattern in patterns)


_global_lock = allocate_lock()
_global_trust: tuple[str, ...] = ()
_scoped_trust: ContextVar[tuple[_OpenScope, ...]] | None = None  # created by the first ``trusted()``


class _OpenScope:
    """One entry of a ``trusted()`` block: its names, trusted while ``is_open`` (until the block exits)."""

    __slots__ = ("is_open", "names")

    def __init__(self, names: tuple[str, ...]) -> None:
        self.names = names
        self.is_open = True


def _scoped_trust_var() -> ContextVar[tuple[_OpenScope, ...]]:
    global _scoped_trust  # noqa: PLW0603 - created once, on first use (issue 15: fixed costs)
    with _global_lock:
        if _scoped_trust is None:
            from contextvars import ContextVar

            _scoped_trust = ContextVar("safeload_trust", default=())
        return _scoped_trust


def trust(names: Iterable[str] | str) -> None:
    """Trust ``names`` process-wide (exact names or ``pkg.*``). Review their source first."""
    global _global_trust  # noqa: PLW0603 - the process-wide registry is the point of this function
    validated = _validate(names)
    with _global_lock:
        _global_trust = tuple(dict.fromkeys(_global_trust + validated))


def untrust(names: Iterable[str] | str) -> None:
    """Remove names added with :func:`trust`."""
    global _global_trust  # noqa: PLW0603
    drop = set(_validate(names))
    with _global_lock:
        _global_trust = tuple(n for n in _global_trust if n not in drop)


def clear_trust() -> None:
    """Forget every process-wide trusted name."""
    global _global_trust  # noqa: PLW0603
    with _global_lock:
        _global_trust = ()


def get_trust() -> tuple[str, ...]:
    """Process-wide trust plus the trust of every enclosing ``trusted()`` scope in this context."""
    scoped = _scoped_trust
    if scoped is None:
        return _global_trust
    return _global_trust + tuple(name for scope in scoped.get() if scope.is_open for name in scope.names)


class trusted:  # noqa: N801 - used like the function it was: ``with safeload.trusted([...]):``
    """Trust ``names`` inside the ``with`` block only (this thread / task only)."""

    __slots__ = ("_names", "_scope", "_token")

    def __init__(self, names: Iterable[str] | str) -> None:
        self._names = _validate(names)
        self._token: Token[tuple[_OpenScope, ...]] | None = None
        self._scope: _OpenScope | None = None

    def __enter__(self) -> None:
        if self._token is not None:  # a second enter would lose the first token: the trust would outlive its block
            raise RuntimeError("this trusted() block is already active; make a new one for a nested block")
        var = _scoped_trust_var()
        self._scope = _OpenScope(self._names)  # a new one per entry: re-entering never reopens a copied scope
        self._token = var.set((*var.get(), self._scope))

    def __exit__(self, *exc_info: object) -> None:
        token, self._token = self._token, None
        scope, self._scope = self._scope, None
        if scope is not None:
            scope.is_open = False  # contexts copied inside the block (tasks, copy_context) keep it, closed
        if token is not None:
            _scoped_trust_var().reset(token)
