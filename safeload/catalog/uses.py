"""How a load uses an importable name: the vocabulary shared by the engine (facts) and the catalogue (policy).

An allowlist entry says which of these uses it permits; the engine reports which ones a file makes. A name is
safe in a file only when every use the file makes of it is permitted (``Use.IMPORT`` is implied by all).

Invariant: this module is vocabulary only; it holds no policy and imports nothing.
"""

from __future__ import annotations

import enum

__all__ = ["INSTANCE_USES", "Use", "describe_uses"]


class Use(enum.Flag):
    """One way a load touches a name ``X`` (a class, function or other object looked up by GLOBAL/STACK_GLOBAL).

    Uses of ``X`` itself:

    - ``IMPORT``: the load imports ``X``'s module and looks ``X`` up (top-level code of the module runs).
    - ``REF``: ``X`` is a value in the loaded object graph; nothing the load runs calls it.
    - ``CALL``: the load calls ``X(*args, **kwargs)`` with arguments written in the file (REDUCE, INST, OBJ). For a
      class this runs ``type(X).__call__``: ``X.__new__`` then ``X.__init__``.
    - ``NEW``: the load calls ``X.__new__(X, *args)`` without ``__init__`` (NEWOBJ, NEWOBJ_EX, ``copyreg.__newobj__``).
    - ``ALLOC``: the load allocates an ``X`` with ``object.__new__(X)`` or an equivalent that runs none of ``X``'s
      code (``copyreg._reconstructor(X, object, None)``, Cython's ``__pyx_unpickle_X``).
    - ``INVOKE``: code the load runs calls ``X`` with arguments the file does not fully show (a ``defaultdict``
      factory, the function of a ``functools.partial``, a callable argument of a rebuild helper), or could call it
      at any later time because ``X`` sits where a callable is expected.

    Uses of an *instance* of ``X`` that the load created (by CALL, NEW or ALLOC):

    - ``BUILD``: BUILD gives it state: ``X.__setstate__(state)`` if ``getattr`` finds one (which also runs a custom
      ``__getattr__``/``__getattribute__``), otherwise ``instance.__dict__.update`` and ``setattr`` for slot state.
    - ``MUTATE``: SETITEM(S), APPEND(S) or ADDITEMS on it: ``X.__setitem__``, ``append``, ``extend``, ``add``.
    - ``HASH``: it is a dict key or set item: ``X.__hash__`` and ``X.__eq__`` run.
    - ``CALL_INSTANCE``: the instance itself is called (``X.__call__``), by the file or by code the load runs.
    - ``PASSED``: the instance is an argument (directly or inside a container) of a call the load makes, so the
      callee may run any of its protocol methods (``__iter__``, ``__len__``, ``__getitem__``, ``__array__``,
      ``__index__``, ``__float__``, ``__format__``, ``keys``, ...).
    """

    IMPORT = enum.auto()
    REF = enum.auto()
    CALL = enum.auto()
    NEW = enum.auto()
    ALLOC = enum.auto()
    INVOKE = enum.auto()
    BUILD = enum.auto()
    MUTATE = enum.auto()
    HASH = enum.auto()
    CALL_INSTANCE = enum.auto()
    PASSED = enum.auto()


INSTANCE_USES = Use.BUILD | Use.MUTATE | Use.HASH | Use.CALL_INSTANCE | Use.PASSED

_WORDS = {
    Use.IMPORT: "imported",
    Use.REF: "referenced",
    Use.CALL: "called",
    Use.NEW: "instantiated with __new__",
    Use.ALLOC: "allocated",
    Use.INVOKE: "called by other code",
    Use.BUILD: "given state (BUILD)",
    Use.MUTATE: "mutated (SETITEM/APPEND)",
    Use.HASH: "hashed (dict key or set item)",
    Use.CALL_INSTANCE: "instance called",
    Use.PASSED: "instance passed to a call",
}


def describe_uses(uses: Use) -> str:
    """``"called, given state (BUILD)"``: the uses in ``uses`` in a fixed order, for messages."""
    return ", ".join(word for flag, word in _WORDS.items() if flag in uses and flag is not Use.IMPORT) or "imported"
