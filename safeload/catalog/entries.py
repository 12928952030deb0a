"""Allowlist entries: for each allowed name, the uses a load may make of it (``catalog.uses.Use``).

An entry is permission for *uses*, not for a name: ``numpy.memmap`` may be allocated as the subtype of an
array (``_reconstruct``) but not called (``numpy.memmap(path, mode="w+")`` writes a file). ``Use.IMPORT`` and
``Use.REF`` are implied by every entry; any other use must be listed. ``invokes`` names the argument positions
(ints) and keywords (strs) that calling the name may call: values passed there are *invoked* by it.
``state_uses`` names keys of a dict BUILD state whose values the class's code uses in a known, narrower way than
"may call it" (joblib's array wrapper only *allocates* its ``subclass`` with ``numpy._reconstruct``).

Where entries come from, in increasing precedence:
1. generated shards ``safeload/catalog/generated/<shard>.py`` written by ``python -m safeload.catalog._generate``
   from the installed packages (what a load does with each name, by introspection), with the package versions
   they were checked against;
2. hand-reviewed entries in ``safeload/catalog/reviewed.py``, each with its review note.

Shard format (a generated Python module, loaded lazily the first time a name of that shard is looked up)::

    CHECKED_AGAINST: dict[str, str]                       # distribution -> version the shard was generated from
    NOTES: dict[str, str]                                 # note key -> review text
    ENTRIES: dict[str, tuple[str, tuple[int | str, ...], str]]
    #        name -> ("CALL NEW BUILD", invokes, note key)
    BUILD_STATE: dict[str, tuple[str, tuple[str, ...]]]   # optional: name -> BUILD state contract and its data

Invariant: lookups work on strings only; nothing here imports, resolves or calls the name being looked up. The
only modules imported are safeload's own data shards.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Mapping

from safeload._record import DataclassRecord, replace
from safeload.catalog.uses import Use

__all__ = ["Entry", "checked_against", "lookup", "parse_uses", "shard_of"]


# A hand-written record, not a @dataclass (issue 15: fixed costs; safeload/_record.py).
class Entry(DataclassRecord):
    """Permission to use one name in the ways ``uses`` lists; ``note`` is the review that justifies it."""

    _FIELDS = ("uses", "invokes", "note", "origin", "state_uses", "build_refuses", "build_dict_only", "mutate_ops",
               "build_state", "source_files", "arguments")
    __slots__ = ("arguments", "build_dict_only", "build_refuses", "build_state", "invokes", "mutate_ops", "note",
                 "origin", "source_files", "state_uses", "uses")
    _DEFAULTS = {"invokes": (), "note": "", "origin": "reviewed", "state_uses": (), "build_refuses": (),
                 "build_dict_only": False, "mutate_ops": (), "build_state": None,
                 "source_files": (), "arguments": None}

    uses: Use
    invokes: tuple[int | str, ...]
    note: str
    origin: str
    state_uses: tuple[tuple[str, Use], ...]  # BUILD dict-state keys whose value the class uses in a known way
    #: BUILD dict-state keys that switch the class's __setstate__ to code the review does not cover: BUILD is
    #: permitted only with a plain dict state holding none of them (the engine flags anything else, SL115)
    build_refuses: tuple[str, ...]
    #: BUILD is permitted with a plain dict state only (CPython's load_build writes it into ``__dict__`` directly
    #: when the class has no ``__setstate__``; slot state would run ``__setattr__``): the engine flags the rest
    build_dict_only: bool
    #: when set, the only opcodes whose MUTATE the review covers (``SETITEMS``/``SETITEM`` on a dict subclass whose
    #: ``__getattr__`` would serve ``extend``/``append``/``add`` from its items); others are flagged (SL115)
    mutate_ops: tuple[str, ...]
    #: a named BUILD state contract (``catalog/state_contracts.py``) and the data it compares with: the class's
    #: __setstate__ is reviewed inert only for a plain dict state the contract admits (the engine flags the rest,
    #: SL115). Implies ``build_dict_only``.
    build_state: tuple[str, tuple[str, ...]] | None
    #: (module, sha256 of its file) pairs the review read: the entry holds only while every one of those modules
    #: is installed with exactly that text (checked at scan time, ``decide._reviewed_files_hold``); otherwise the
    #: name is decided like one outside the catalogue
    source_files: tuple[tuple[str, str], ...]
    #: a named argument contract (``catalog/state_contracts.py``, ``argument_refusal``) and the data it compares
    #: with: the class's ``__new__`` is reviewed inert only for the arguments the contract admits, given by NEWOBJ
    #: or NEWOBJ_EX (the engine flags any other instantiation and every argument the contract refuses, SL115);
    #: an object made so is an argument the same contract admits to another such class
    arguments: tuple[str, tuple[str, ...]] | None

    def __init__(self, uses: Use, invokes: tuple[int | str, ...] = (), note: str = "", origin: str = "reviewed",  # noqa: PLR0917
                 state_uses: tuple[tuple[str, Use], ...] = (), build_refuses: tuple[str, ...] = (),
                 build_dict_only: bool = False, mutate_ops: tuple[str, ...] = (),
                 build_state: tuple[str, tuple[str, ...]] | None = None,
                 source_files: tuple[tuple[str, str], ...] = (),
                 arguments: tuple[str, tuple[str, ...]] | None = None) -> None:
        setter = object.__setattr__
        setter(self, "uses", uses)
        setter(self, "invokes", invokes)
        setter(self, "note", note)
        setter(self, "origin", origin)
        setter(self, "state_uses", state_uses)
        setter(self, "build_refuses", build_refuses)
        setter(self, "build_dict_only", build_dict_only)
        setter(self, "mutate_ops", mutate_ops)
        setter(self, "build_state", build_state)
        setter(self, "source_files", source_files)
        setter(self, "arguments", arguments)

    def permits(self, uses: Use) -> bool:
        return not (uses & ~(self.uses | Use.IMPORT | Use.REF))

    def refused(self, uses: Use) -> Use:
        """The uses in ``uses`` this entry does not permit (``Use(0)`` when all are permitted)."""
        return uses & ~(self.uses | Use.IMPORT | Use.REF)


def parse_uses(text: str) -> Use:
    """``"CALL NEW BUILD"`` -> ``Use.CALL | Use.NEW | Use.BUILD`` (unknown words raise ``KeyError``)."""
    value = 0
    for word in text.split():
        value |= Use[word].value  # ints: each ``Flag | Flag`` builds a pseudo-member (issue 15: fixed costs)
    return Use(value)


# Top-level module -> generated shard. Standard-library modules share the "stdlib" shard.
_SHARD_OF_PACKAGE: dict[str, str] = {
    "sklearn": "sklearn", "numpy": "numpy", "scipy": "scipy", "pandas": "pandas", "torch": "torch",
    "pyarrow": "pyarrow", "xgboost": "boosters", "lightgbm": "boosters", "catboost": "boosters",
    "joblib": "joblib", "tokenizers": "tokenizers", "transformers": "transformers",
    # deny side only (aliases and effect-reaching callables): see safeload/catalog/_generate.py
    "dill": "dill", "cloudpickle": "cloudpickle", "keras": "keras", "tensorflow": "tensorflow", "sympy": "sympy",
}


def shard_of(name: str) -> str | None:
    """The generated shard that may hold ``name`` (``None`` when no shard covers its top-level package)."""
    top = name.split(".", 1)[0]
    shard = _SHARD_OF_PACKAGE.get(top)
    if shard is not None:
        return shard
    import sys

    return "stdlib" if top in sys.stdlib_module_names or top in {"builtins", "__builtin__"} else None


@functools.cache
def _shard(shard: str) -> Mapping[str, Entry]:
    try:
        module_name = f"safeload.catalog.generated.{shard}"
        __import__(module_name)  # not importlib (issue 15: it imports ``warnings``)
        module = sys.modules[module_name]  # safeload's own data module
    except ModuleNotFoundError:
        return {}
    notes: Mapping[str, str] = getattr(module, "NOTES", {})
    raw: Mapping[str, tuple[str, tuple[int | str, ...], str]] = module.ENTRIES
    contracts: Mapping[str, tuple[str, tuple[str, ...]]] = getattr(module, "BUILD_STATE", {})
    return {name: Entry(_generated_uses(uses), tuple(invokes), notes.get(note, note), "generated",
                        build_dict_only=name in contracts, build_state=contracts.get(name))
            for name, (uses, invokes, note) in raw.items()}


def checked_against(shard: str) -> dict[str, str]:
    """The distribution versions a generated shard's entries were generated and reviewed against (empty when
    the shard is absent)."""
    _shard(shard)  # imports the data module once
    module = sys.modules.get(f"safeload.catalog.generated.{shard}")
    versions = getattr(module, "CHECKED_AGAINST", None)
    return dict(versions) if isinstance(versions, dict) else {}


@functools.cache
def _generated_uses(text: str) -> Use:
    """A shard's uses column (a few dozen distinct strings over thousands of entries): parsed once each."""
    return _with_passed(parse_uses(text))


_MAKES_OBJECTS = Use.CALL | Use.NEW | Use.ALLOC | Use.BUILD


def _with_passed(uses: Use) -> Use:
    """A catalogued class's objects (a catalogued function's results) may be handed to other calls: their
    protocol methods are the package's own reviewed code, under the same assumption as every other use of an
    entry. PASSED exists to keep objects of *uncatalogued* classes from reaching code that calls into them."""
    return uses | Use.PASSED if uses & _MAKES_OBJECTS else uses


@functools.cache
def _reviewed() -> Mapping[str, Entry]:
    from safeload.catalog.reviewed import REVIEWED

    return REVIEWED


def _results_are_data() -> frozenset[str]:
    from safeload.catalog.reviewed import RESULTS_ARE_DATA

    return RESULTS_ARE_DATA


def lookup(name: str) -> Entry | None:
    """The allowlist entry for the dotted ``name``, or ``None`` when the name is not allowed for any use."""
    entry = _reviewed().get(name)
    if entry is not None:
        return entry
    shard = shard_of(name)
    if shard is None:
        return None
    entry = _shard(shard).get(name)
    if entry is not None and name in _results_are_data():
        entry = replace(entry, uses=entry.uses | Use.CALL_INSTANCE)
    return entry
