"""Harvest: which names real pickles contain, and how a load uses each one.

The generator pickles sample objects it built itself from the installed libraries (``corpus``) and loads
them back through an instrumented copy of CPython's pure-Python unpickler, which records, opcode by opcode,
what the load does with every global: called by REDUCE/INST/OBJ (``CALL``), instantiated by NEWOBJ
(``NEW``), allocated by a reconstructor (``ALLOC``), passed as an argument (``ARG``, with the callee and the
position), held in BUILD state or a container (``STATE``), and, for the instances the load creates, given
state (``BUILD``), mutated (``MUTATE``) or hashed (``HASH``).

Invariant: only our own sample bytes are ever unpickled here (the environment is trusted; no file from
outside reaches this module), and harvesting never runs during a scan.
"""

from __future__ import annotations

import _compat_pickle
import io
import pickle
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["Facts", "harvest_bytes", "harvest_objects", "type_name"]

# Reconstructors whose argument at a position is allocated (no code of it runs but __del__/C allocation),
# instantiated with __new__, or called.
_ARG_USES: dict[str, dict[int, str]] = {
    "copyreg._reconstructor": {0: "ALLOC", 1: "CALL"},
    "copyreg.__newobj__": {0: "NEW"},
    "copyreg.__newobj_ex__": {0: "NEW"},
    "numpy._core.multiarray._reconstruct": {0: "ALLOC"},
    "numpy.core.multiarray._reconstruct": {0: "ALLOC"},
}
_BUILTIN_TYPES = frozenset({"builtins.dict", "builtins.list", "builtins.set", "builtins.frozenset",
                            "builtins.tuple", "builtins.str", "builtins.bytes", "builtins.int",
                            "builtins.float", "builtins.bool", "builtins.NoneType", "builtins.complex",
                            "builtins.bytearray"})


class Facts:
    """name -> set of observed uses; ``args`` records (callee, position) for names passed as arguments."""

    def __init__(self) -> None:
        self.uses: dict[str, set[str]] = defaultdict(set)
        self.args: dict[str, set[tuple[str, int | str]]] = defaultdict(set)
        self.samples: dict[str, str] = {}
        self.failed: dict[str, str] = {}

    def add(self, name: str, use: str, sample: str) -> None:
        self.uses[name].add(use)
        self.samples.setdefault(name, sample)


def type_name(obj: Any) -> str:
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


def _globals_in(value: Any, names: dict[int, str], depth: int = 0) -> Iterable[str]:
    if id(value) in names:
        yield names[id(value)]
        return
    if depth > 3:
        return
    if isinstance(value, (tuple, list, set, frozenset)):
        for item in value:
            yield from _globals_in(item, names, depth + 1)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _globals_in(key, names, depth + 1)
            yield from _globals_in(item, names, depth + 1)


class _Recorder(pickle._Unpickler):  # the pure-Python unpickler, whose internals typeshed does not declare
    stack: list[Any]
    metastack: list[list[Any]]
    proto: int

    def __init__(self, data: bytes, facts: Facts, sample: str,
                 persistent: Callable[[Any], Any] | None = None) -> None:
        super().__init__(io.BytesIO(data))
        self.facts, self.sample = facts, sample
        self.names: dict[int, str] = {}
        self.keep: list[Any] = []
        self._persistent = persistent
        self._pending_call = False
        self._post: Callable[[], None] | None = None
        dispatch = dict(pickle._Unpickler.dispatch)
        for code, method in ((pickle.REDUCE, self._reduce), (pickle.NEWOBJ, self._newobj),
                             (pickle.NEWOBJ_EX, self._newobj_ex), (pickle.BUILD, self._build),
                             (pickle.SETITEM, self._setitem), (pickle.SETITEMS, self._setitems),
                             (pickle.APPEND, self._append), (pickle.APPENDS, self._appends),
                             (pickle.ADDITEMS, self._additems), (pickle.FROZENSET, self._frozenset),
                             (pickle.INST, self._inst), (pickle.OBJ, self._obj)):
            dispatch[code[0]] = self._hooked(method, dispatch[code[0]])
        self.dispatch = dispatch  # type: ignore[misc]  # a per-instance copy with recording hooks

    def _hooked(self, before: Callable[[], None], original: Callable[[Any], None]) -> Callable[[Any], None]:
        def run(unpickler: Any) -> None:
            before()
            original(unpickler)
            self._after()

        return run

    def persistent_load(self, pid: Any) -> Any:
        for name in _globals_in(pid, self.names):
            self.facts.add(name, "PERSID", self.sample)
        if self._persistent is None:
            raise pickle.UnpicklingError("no persistent_load")
        return self._persistent(pid)

    def _after(self) -> None:
        post, self._post = self._post, None
        if post is not None:
            post()

    def find_class(self, module: str, name: str) -> Any:
        obj = super().find_class(module, name)
        if self.proto < 3 and (module, name) in _compat_pickle.NAME_MAPPING:
            module, name = _compat_pickle.NAME_MAPPING[(module, name)]
        elif self.proto < 3 and module in _compat_pickle.IMPORT_MAPPING:
            module = _compat_pickle.IMPORT_MAPPING[module]
        full = f"{module}.{name}"
        self.names[id(obj)] = full
        self.keep.append(obj)
        self.facts.add(full, "IMPORT", self.sample)
        if self._pending_call:
            self.facts.add(full, "CALL", self.sample)
            self._pending_call = False
        return obj

    # --- hooks run before the real opcode handler --------------------------------------------------------
    def _name(self, obj: Any) -> str | None:
        return self.names.get(id(obj))

    def _reduce(self) -> None:
        func, args = self.stack[-2], self.stack[-1]
        callee = self._name(func)
        if callee is not None:
            self.facts.add(callee, "CALL", self.sample)
        if callee == "builtins.getattr" and isinstance(args, tuple) and len(args) == 2 \
                and self._name(args[0]) is not None and isinstance(args[1], str):
            # getattr(X, "attr") is the global X.attr (how classmethods and methods are pickled)
            attr_name = f"{self._name(args[0])}.{args[1]}"

            def register() -> None:
                self.names[id(self.stack[-1])] = attr_name
                self.keep.append(self.stack[-1])
                self.facts.add(attr_name, "IMPORT", self.sample)

            self._post = register
            return
        self._args(callee, args)

    def _args(self, callee: str | None, args: Any) -> None:
        if not isinstance(args, tuple):
            return
        special = _ARG_USES.get(callee or "", {})
        if callee is not None and callee.rpartition(".")[2].startswith("__pyx_unpickle_"):
            special = {0: "ALLOC"}
        for pos, value in enumerate(args):
            name = self._name(value)
            if name is not None:
                use = special.get(pos)
                if use is not None:
                    self.facts.add(name, use, self.sample)
                else:
                    self.facts.add(name, "ARG", self.sample)
                    self.facts.args[name].add((callee or "?", pos))
                continue
            for inner in _globals_in(value, self.names):
                self.facts.add(inner, "STATE", self.sample)

    def _newobj(self) -> None:
        cls, args = self.stack[-2], self.stack[-1]
        name = self._name(cls)
        if name is not None:
            self.facts.add(name, "NEW", self.sample)
        self._args("copyreg.__newobj__", (None, *args) if isinstance(args, tuple) else ())

    def _newobj_ex(self) -> None:
        cls = self.stack[-3]
        name = self._name(cls)
        if name is not None:
            self.facts.add(name, "NEW", self.sample)
        for inner in _globals_in((self.stack[-2], self.stack[-1]), self.names):
            self.facts.add(inner, "STATE", self.sample)

    def _inst(self) -> None:
        # INST reads module/name from the stream: the class its find_class returns is called.
        self._pending_call = True

    def _obj(self) -> None:
        if self.stack:  # the items since MARK: the class, then its arguments
            name = self._name(self.stack[0])
            if name is not None:
                self.facts.add(name, "CALL", self.sample)

    def _build(self) -> None:
        state, inst = self.stack[-1], self.stack[-2]
        if self._name(inst) is not None:
            self.facts.add(self._name(inst) or "", "BUILD_ON_GLOBAL", self.sample)
        else:
            self.facts.add(type_name(inst), "BUILD", self.sample)
        for inner in _globals_in(state, self.names):
            self.facts.add(inner, "STATE", self.sample)

    def _target_items(self, count: int | None) -> tuple[Any, list[Any]]:
        if count is None:  # MARK-delimited
            return self.metastack[-1][-1] if self.metastack and self.metastack[-1] else None, list(self.stack)
        return self.stack[-count - 1], list(self.stack[-count:])

    def _container(self, target: Any, items: list[Any], hashed: list[Any], kind: str) -> None:
        tname = type_name(target)
        if tname not in _BUILTIN_TYPES:
            self.facts.add(tname, "MUTATE", self.sample)
        for key in hashed:
            kname = type_name(key)
            if kname not in _BUILTIN_TYPES and self._name(key) is None:
                self.facts.add(kname, "HASH", self.sample)
        for item in items:
            for inner in _globals_in(item, self.names):
                self.facts.add(inner, "STATE", self.sample)
        del kind

    def _setitem(self) -> None:
        target, key, value = self.stack[-3], self.stack[-2], self.stack[-1]
        self._container(target, [key, value], [key], "dict")

    def _setitems(self) -> None:
        target, items = self._target_items(None)
        self._container(target, items, items[0::2], "dict")

    def _append(self) -> None:
        self._container(self.stack[-2], [self.stack[-1]], [], "list")

    def _appends(self) -> None:
        target, items = self._target_items(None)
        self._container(target, items, [], "list")

    def _additems(self) -> None:
        target, items = self._target_items(None)
        self._container(target, items, items, "set")

    def _frozenset(self) -> None:
        items = list(self.stack)
        for key in items:
            kname = type_name(key)
            if kname not in _BUILTIN_TYPES and self._name(key) is None:
                self.facts.add(kname, "HASH", self.sample)


def harvest_bytes(data: bytes, facts: Facts, sample: str, persistent: Callable[[Any], Any] | None = None) -> None:
    """Load our own sample ``data`` through the recording unpickler, adding what it saw to ``facts``."""
    recorder = _Recorder(data, facts, sample, persistent)
    recorder.load()


def harvest_objects(samples: Iterable[tuple[str, Callable[[], Any]]], facts: Facts,
                    protocols: tuple[int, ...] = (0, 2, 4, 5)) -> None:
    """Build each sample, pickle it with each protocol and harvest the bytes."""
    for label, build in samples:
        try:
            obj = build()
        except Exception as exc:  # noqa: BLE001 - a sample that cannot be built is reported, not fatal
            facts.failed[label] = f"build: {type(exc).__name__}: {exc}"[:200]
            continue
        for protocol in protocols:
            try:
                data = pickle.dumps(obj, protocol=protocol)
                harvest_bytes(data, facts, label)
            except Exception as exc:  # noqa: BLE001
                facts.failed[f"{label}@{protocol}"] = f"{type(exc).__name__}: {exc}"[:200]
