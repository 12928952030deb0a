"""The effect scan: what calling an installed function or class can reach, from its bytecode.

For every Python function reached, the scan reads the compiled bytecode of the installed source (the
function's own code and the code nested in it) and follows each name it loads: module globals, closure
cells, ``import`` statements inside the function, attributes of modules and classes, ``self.method`` through
the class being analysed and ``super().method`` through its bases. Names are resolved against the *live*
module namespaces, so an alias (``from os import system as s``) is followed to the object it is. Classes
reached are followed into the code a call runs (metaclass ``__call__``, ``__new__``, ``__init__``) and the
code that runs when the instance dies (``__del__``). A reference counts like a call (a function passed as a
callback may be called): the scan over-approximates what is reached, except through dynamic dispatch on
values it cannot see (methods of arguments), which it does not follow.

Sinks (``sinks.SINKS``) are matched by object identity. A node reaches a sink when some path of loads leads
from it to the sink without crossing a reviewed boundary (``sinks.BOUNDARIES``). Compiled callees are
leaves: they reach a sink only when they are one.

Invariant: the scan never calls the code it analyses; it reads ``__code__``, ``__globals__``, closure cells,
``vars()`` of modules and ``inspect.getattr_static`` on classes (no descriptors, no properties run).
"""
# ruff: noqa: PLR0917  (internal helpers thread the generator's context through positional args)

from __future__ import annotations

import builtins
import dis
import functools
import inspect
import sys
import types
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from safeload.catalog._gen.naming import canonical_name, resolve
from safeload.catalog._gen.sinks import BOUNDARIES, DYNAMIC, SINKS

# (offset, opcode, argument) for each instruction: the fast path dis uses itself (3.11-3.13)
_unpack_opargs: Callable[[bytes], Iterator[tuple[int, int, Any]]] = dis._unpack_opargs  # type: ignore[attr-defined]

__all__ = ["CALL_METHODS", "Effect", "EffectScan"]

_RANK = {"HIGH": 1, "CRITICAL": 2}
_SEVERITY = {1: "HIGH", 2: "CRITICAL"}
# What calling a class runs: type(cls).__call__ (when a metaclass overrides it), __new__, __init__, and the
# instance's __del__ when it is collected.
CALL_METHODS = ("__new__", "__init__", "__del__")
_SELF = object()
_PY311 = sys.version_info[:2] == (3, 11)
_OP = dis.opmap
_CHAIN_OPS = {"LOAD_ATTR", "LOAD_METHOD"}
_SKIP_OPS = {"CACHE", "EXTENDED_ARG", "NOP", "RESUME", "PRECALL", "PUSH_NULL", "KW_NAMES"}
_MAX_NODES = 3_000_000


@dataclass(frozen=True, slots=True)
class Effect:
    """What one call can reach: the worst sink (``None`` when none) with a witness path, and a dynamic witness."""

    severity: str | None
    sink: str
    path: tuple[str, ...]
    dynamic: tuple[str, ...] = ()

    @property
    def clean(self) -> bool:
        return self.severity is None and not self.dynamic


_CLEAN = Effect(None, "", ())
Node = tuple[int, int]


def _static(cls: type, name: str) -> Any:
    try:
        return inspect.getattr_static(cls, name)
    except AttributeError:
        return None


def _codes(code: types.CodeType) -> Iterator[types.CodeType]:
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _codes(const)


def _callable_like(obj: Any) -> bool:
    if isinstance(obj, (types.ModuleType, str, bytes, int, float, bool, type(None))):
        return False
    return isinstance(obj, (type, staticmethod, classmethod)) or callable(obj)


class EffectScan:
    """A lazily built call graph over live objects, with sink reachability solved on demand."""

    def __init__(self) -> None:
        self._keep: list[Any] = []
        self._sink: dict[int, tuple[str, int]] = {}
        for name, (severity, _reason) in SINKS.items():
            obj = resolve(name)
            if obj is not None:
                self._keep.append(obj)
                self._sink.setdefault(id(obj), (name, _RANK[severity]))
        self._boundary: set[int] = set()
        for name in BOUNDARIES:
            obj = resolve(name)
            if obj is not None:
                self._keep.append(obj)
                self._boundary.add(id(obj))
        self._dynamic: dict[int, str] = {}
        for name in DYNAMIC:
            obj = resolve(name)
            if obj is not None:
                self._keep.append(obj)
                self._dynamic[id(obj)] = name
        self._objects: dict[Node, tuple[Any, Any]] = {}
        self._edges: dict[Node, list[Node]] = {}
        self._own_sink: dict[Node, tuple[str, int]] = {}
        self._own_dynamic: dict[Node, str] = {}
        self._rank: dict[Node, int] = {}
        self._via: dict[Node, Node] = {}
        self._dyn_via: dict[Node, Node | None] = {}
        self._solved = True
        self._full_solve_done = False
        self._pending: list[Node] = []

    @property
    def size(self) -> int:
        return len(self._objects)

    # --- graph ------------------------------------------------------------------------------------------
    def node(self, obj: Any, ctx: Any = None) -> Node:
        """The graph node for calling ``obj`` (with ``self`` an instance of ``ctx``), explored transitively."""
        key = (id(obj), id(ctx))
        if key in self._objects:
            return key
        self._solved = False
        stack = [(obj, ctx)]
        self._add(obj, ctx)
        while stack:
            cur, cur_ctx = stack.pop()
            cur_key = (id(cur), id(cur_ctx))
            succs = []
            for nxt, nxt_ctx in self._successors(cur, cur_ctx, cur_key):
                nkey = (id(nxt), id(nxt_ctx))
                succs.append(nkey)
                if nkey not in self._objects and len(self._objects) < _MAX_NODES:
                    self._add(nxt, nxt_ctx)
                    stack.append((nxt, nxt_ctx))
            self._edges[cur_key] = succs
        return key

    def _add(self, obj: Any, ctx: Any) -> None:
        key = (id(obj), id(ctx))
        self._objects[key] = (obj, ctx)
        self._pending.append(key)

    def _successors(self, obj: Any, ctx: Any, key: Node) -> list[tuple[Any, Any]]:
        oid = id(obj)
        if oid in self._sink:
            self._own_sink[key] = self._sink[oid]
            return []
        if oid in self._boundary:
            return []
        if oid in self._dynamic:
            return []
        if isinstance(obj, (staticmethod, classmethod)):
            return [(obj.__func__, ctx)]
        if isinstance(obj, types.MethodType):
            owner = obj.__self__
            return [(obj.__func__, owner if isinstance(owner, type) else type(owner))]
        if isinstance(obj, functools.partial):
            return [(obj.func, None)]
        if isinstance(obj, property):
            return [(f, ctx) for f in (obj.fget, obj.fset, obj.fdel) if f is not None]
        if isinstance(obj, types.FunctionType):
            return self._function_successors(obj, ctx, key)
        if isinstance(obj, type):
            out: list[tuple[Any, Any]] = []
            meta_call = _static(type(obj), "__call__")
            if meta_call is not None and meta_call is not type.__dict__["__call__"]:
                out.append((meta_call, obj))
            for name in CALL_METHODS:
                method = _static(obj, name)
                if method is not None and method is not object.__dict__.get(name):
                    out.append((method, obj))
            return out
        if isinstance(obj, (types.BuiltinFunctionType, types.WrapperDescriptorType, types.MethodDescriptorType,
                            types.MethodWrapperType, types.ClassMethodDescriptorType, types.ModuleType)):
            return []
        call = _static(type(obj), "__call__") if callable(obj) else None
        if call is not None and isinstance(call, types.FunctionType):
            return [(call, type(obj))]
        return []

    def _function_successors(self, func: types.FunctionType, ctx: Any, key: Node) -> list[tuple[Any, Any]]:
        out: list[tuple[Any, Any]] = []
        wrapped = getattr(func, "__wrapped__", None)
        if isinstance(wrapped, types.FunctionType):
            out.append((wrapped, ctx))
        fglobals = func.__globals__
        fbuiltins = fglobals.get("__builtins__", builtins.__dict__)
        if isinstance(fbuiltins, types.ModuleType):
            fbuiltins = vars(fbuiltins)
        cells: dict[str, Any] = {}
        if func.__closure__:
            for name, cell in zip(func.__code__.co_freevars, func.__closure__, strict=False):
                try:
                    cells[name] = cell.cell_contents
                except ValueError:
                    continue
        package = fglobals.get("__package__") or (func.__module__ or "").rpartition(".")[0]
        is_method = ctx is not None and func.__code__.co_argcount > 0
        for code in _codes(func.__code__):
            self._scan_code(code, code is func.__code__, fglobals, fbuiltins, cells, package,
                            is_method, ctx, key, out)
        return out

    def _scan_code(self, code: types.CodeType, top: bool, fglobals: dict[str, Any], fbuiltins: dict[str, Any],
                   cells: dict[str, Any], package: str, is_method: bool, ctx: Any, key: Node,
                   out: list[tuple[Any, Any]]) -> None:
        ops: list[tuple[str, int]] = []
        null_before: list[bool] = []  # a PUSH_NULL right before: the value loaded next is called (3.11)
        pending_null = False
        for _, op, arg in _unpack_opargs(code.co_code):
            opname = dis.opname[op]
            if opname == "PUSH_NULL":
                pending_null = True
            if opname in _SKIP_OPS:
                continue
            ops.append((opname, arg))
            null_before.append(pending_null)
            pending_null = False
        names, consts, varnames = code.co_names, code.co_consts, code.co_varnames
        chain: Any = None
        import_module: Any = None
        local: dict[str, Any] = {}
        super_pending = 0
        called = True
        for index, (opname, arg) in enumerate(ops):
            found: Any = None
            if opname == "LOAD_GLOBAL":
                called = bool(arg & 1) or null_before[index]
                name = names[arg >> 1]
                found = fglobals.get(name, fbuiltins.get(name))
                if id(found) in self._dynamic and not self._constant_follows(ops, index, consts):
                    self._own_dynamic.setdefault(key, f"{self._dynamic[id(found)]} in {code.co_qualname}")
                if found is super:
                    super_pending = 8
                chain = found
            elif opname == "LOAD_NAME":
                name = names[arg]
                found = fglobals.get(name, fbuiltins.get(name))
                chain = found
            elif opname == "LOAD_DEREF":
                called = null_before[index]
                name = code._varname_from_oparg(arg)  # type: ignore[attr-defined]
                found = cells.get(name) if top else None
                chain = found
            elif opname == "LOAD_FAST":
                called = null_before[index]
                name = varnames[arg]
                if name in local:
                    found = chain = local[name]
                elif top and is_method and arg == 0:
                    chain = _SELF
                else:
                    chain = None
            elif opname in _CHAIN_OPS or opname == "LOAD_SUPER_ATTR":
                name = names[arg if (_PY311 or opname == "LOAD_METHOD") else arg >> (2 if opname == "LOAD_SUPER_ATTR"
                                                                                     else 1)]
                if super_pending and ctx is not None and isinstance(ctx, type):
                    for base in ctx.__mro__[1:]:
                        attr = base.__dict__.get(name)
                        if attr is not None and _callable_like(attr):
                            out.append((attr, ctx))
                    super_pending = 0
                    chain = None
                    continue
                called = called or opname == "LOAD_METHOD"
                found = chain = self._attribute(chain, name, ctx)
            elif opname == "IMPORT_NAME":
                level = consts_arg(ops, index, 2, consts)
                fromlist = consts_arg(ops, index, 1, consts)
                full = _absolute(names[arg], level if isinstance(level, int) else 0, package)
                import_module = sys.modules.get(full)
                chain = import_module if fromlist else sys.modules.get(full.split(".")[0])
            elif opname == "IMPORT_FROM":
                name = names[arg]
                base = import_module
                found = None
                if isinstance(base, types.ModuleType):
                    found = vars(base).get(name)
                    if found is None:
                        found = sys.modules.get(f"{base.__name__}.{name}")
                chain = found
            elif opname in ("STORE_FAST", "STORE_NAME"):
                if chain is not None and chain is not _SELF:
                    local[varnames[arg] if opname == "STORE_FAST" else names[arg]] = chain
                chain = None
            elif opname == "LOAD_CONST":
                chain = None
            else:
                chain = None
            if super_pending:
                super_pending -= 1
            if found is not None and found is not _SELF and _callable_like(found):
                if isinstance(found, type) and _PY311 and not called and opname != "IMPORT_FROM":
                    continue  # a class only referenced (isinstance, stored): its constructor does not run here
                out.append((found, ctx if self._is_own_method(found, ctx) else None))

    @staticmethod
    def _constant_follows(ops: list[tuple[str, int]], index: int, consts: tuple[Any, ...]) -> bool:
        """``getattr(x, "name")``: a string constant among the next few loads (the attribute is fixed)."""
        for opname, arg in ops[index + 1: index + 6]:
            if opname == "LOAD_CONST" and isinstance(consts[arg], str):
                return True
            if opname in ("CALL", "CALL_FUNCTION", "CALL_FUNCTION_KW"):
                return False
        return False

    @staticmethod
    def _is_own_method(obj: Any, ctx: Any) -> bool:
        return isinstance(ctx, type) and isinstance(obj, (types.FunctionType, staticmethod, classmethod,
                                                          property))

    @staticmethod
    def _attribute(chain: Any, name: str, ctx: Any) -> Any:
        if chain is _SELF:
            return _static(ctx, name) if isinstance(ctx, type) else None
        if isinstance(chain, types.ModuleType):
            value = vars(chain).get(name)
            if value is None:
                value = sys.modules.get(f"{chain.__name__}.{name}")
            return value
        if isinstance(chain, type):
            return _static(chain, name)
        return None

    # --- solving ---------------------------------------------------------------------------------------
    def _solve(self) -> None:
        if self._solved:
            return
        if self._full_solve_done:
            self._solve_new(self._pending)
        else:
            self._solve_all()
            self._full_solve_done = True
        self._pending = []
        self._solved = True

    def _solve_new(self, new: list[Node]) -> None:
        """Nodes added after a full solve only point at older nodes or at each other: older ranks stand."""
        fresh = set(new)
        reverse: dict[Node, list[Node]] = {}
        for node in new:
            if node in self._own_sink:
                self._rank[node] = self._own_sink[node][1]
            if node in self._own_dynamic:
                self._dyn_via[node] = None
            for succ in self._edges.get(node, ()):
                if succ in fresh:
                    reverse.setdefault(succ, []).append(node)
                    continue
                if self._rank.get(succ, 0) > self._rank.get(node, 0):
                    self._rank[node] = self._rank[succ]
                    self._via[node] = succ
                if succ in self._dyn_via and node not in self._dyn_via:
                    self._dyn_via[node] = succ
        for level in (2, 1):
            queue = deque(n for n in new if self._rank.get(n, 0) == level)
            while queue:
                node = queue.popleft()
                for pred in reverse.get(node, ()):
                    if self._rank.get(pred, 0) < level:
                        self._rank[pred] = level
                        self._via[pred] = node
                        queue.append(pred)
        queue = deque(n for n in new if n in self._dyn_via)
        while queue:
            node = queue.popleft()
            for pred in reverse.get(node, ()):
                if pred not in self._dyn_via:
                    self._dyn_via[pred] = node
                    queue.append(pred)

    def _solve_all(self) -> None:
        reverse: dict[Node, list[Node]] = {}
        for src, dsts in self._edges.items():
            for dst in dsts:
                reverse.setdefault(dst, []).append(src)
        rank: dict[Node, int] = {}
        via: dict[Node, Node] = {}
        queue: deque[Node] = deque()
        for node, (_name, level) in self._own_sink.items():
            rank[node] = level
            queue.append(node)
        for level in (2, 1):  # propagate CRITICAL first so witnesses are the shortest CRITICAL paths
            queue = deque(node for node, r in rank.items() if r == level)
            while queue:
                node = queue.popleft()
                for pred in reverse.get(node, ()):
                    if rank.get(pred, 0) < level:
                        rank[pred] = level
                        via[pred] = node
                        queue.append(pred)
        dyn_via: dict[Node, Node | None] = dict.fromkeys(self._own_dynamic)
        queue = deque(self._own_dynamic)
        while queue:
            node = queue.popleft()
            for pred in reverse.get(node, ()):
                if pred not in dyn_via:
                    dyn_via[pred] = node
                    queue.append(pred)
        self._rank, self._via, self._dyn_via = rank, via, dyn_via

    def label(self, node: Node) -> str:
        obj, _ctx = self._objects.get(node, (None, None))
        name = canonical_name(obj) if obj is not None else None
        if name is None:
            qual = getattr(obj, "__qualname__", None) or type(obj).__name__
            module = getattr(obj, "__module__", None) or "?"
            name = f"{module}.{qual}"
        return name

    def effect(self, roots: Iterable[Node]) -> Effect:
        """The worst effect reachable from any of ``roots`` (nodes made by ``node``)."""
        self._solve()
        best: Effect = _CLEAN
        for root in roots:
            level = self._rank.get(root, 0)
            dynamic: tuple[str, ...] = ()
            if root in self._dyn_via:
                dynamic = self._dyn_path(root)
            if level > _RANK.get(best.severity or "", 0):
                path = self._path(root)
                sink_node = path[-1]
                best = Effect(_SEVERITY[level], self._own_sink[sink_node][0],
                              tuple(self.label(n) for n in path), best.dynamic or dynamic)
            elif dynamic and not best.dynamic:
                best = Effect(best.severity, best.sink, best.path, dynamic)
        return best

    def _path(self, node: Node) -> list[Node]:
        path = [node]
        seen = {node}
        while path[-1] not in self._own_sink:
            nxt = self._via[path[-1]]
            if nxt in seen:
                break
            seen.add(nxt)
            path.append(nxt)
        return path

    def _dyn_path(self, node: Node) -> tuple[str, ...]:
        path = [self.label(node)]
        cur: Node | None = node
        seen = set()
        while cur is not None and cur not in seen:
            seen.add(cur)
            nxt = self._dyn_via.get(cur)
            if nxt is None:
                path.append(self._own_dynamic.get(cur, ""))
                break
            path.append(self.label(nxt))
            cur = nxt
        return tuple(path)

    def call_effect(self, obj: Any, ctx: Any = None) -> Effect:
        """What calling ``obj`` (a function, class or callable) can reach."""
        return self.effect([self.node(obj, ctx)])

    def methods_effect(self, cls: type, methods: Iterable[Any]) -> Effect:
        """What running the given method objects of ``cls`` (with ``self`` a ``cls``) can reach."""
        return self.effect([self.node(m, cls) for m in methods])


def consts_arg(ops: list[tuple[str, int]], index: int, back: int, consts: tuple[Any, ...]) -> Any:
    """The constant loaded ``back`` instructions before ``index`` (``IMPORT_NAME``'s level and fromlist)."""
    if index - back < 0:
        return None
    opname, arg = ops[index - back]
    return consts[arg] if opname == "LOAD_CONST" else None


def _absolute(name: str, level: int, package: str) -> str:
    if level <= 0:
        return name
    parts = package.split(".")
    base = ".".join(parts[: len(parts) - (level - 1)]) if level > 1 else package
    return f"{base}.{name}" if name else base
