"""What an instance of a class read from source really is, for uses the engine ranks by the class the file named.

The engine ranks every use of an object a load built by its class (``Owner``): BUILD runs ``Owner.__setstate__``,
calling it ``Owner.__call__``, ``getattr(obj, "m")`` is ``Owner.m``. Two things make that wrong, and the source
analysis refuses such uses when it cannot rule them out (red team round 7):

- ``foreign_new`` (R7-2): a source ``__new__`` in the MRO may return an object of another class (``return
  Evil()``): its methods are not the named class's. Admitted shapes: every ``return`` gives ``super().__new__(cls,
  ...)``, ``object.__new__(cls, ...)``, ``Base.__new__(cls, ...)`` for a class of the MRO, a local bound only to
  one of those, or a constant; ``cls`` is never rebound. A branch guarded by ``cls is C`` / ``cls is not C``
  (scipy's ``LinearOperator.__new__``: ``if cls is LinearOperator: return super().__new__(_CustomLinearOperator)``)
  is read for the class the file named: taken only when it is ``C``. A decorator on ``__new__`` must be
  ``staticmethod`` or a reviewed call-through (networkx's ``_dispatchable``, no backend installed).
- ``shadowing`` (R7-1): an instance attribute named like the method shadows it (``self.run = _touch`` in
  ``__init__``). The code of every source class of the MRO (all its methods, nested functions and class body),
  and of the source functions and classes it calls, is read for a store that can set an attribute of that name:
  ``x.<m> = ...`` in any target form, the name as a string (``setattr(self, "m", f)``, ``__dict__["m"]``,
  ``update(m=f)``), ``setattr``/``__setattr__`` with a computed name, or writes through ``__dict__``/``vars()``
  (only ``self.__dict__.update(state)`` in ``__setstate__`` is left: the state is the file's, which the engine
  ranks, like any BUILD state).
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator

from safeload.catalog import source_tables as tables
from safeload.catalog.source_effects import Outcome
from safeload.catalog.source_model import ClassModel, ModuleInfo, Ref, Resolver

__all__ = ["foreign_new", "shadowing"]

#: read-only methods of a ``__dict__``/``vars()`` mapping
_DICT_READS = frozenset({"get", "copy", "items", "keys", "values", "__contains__", "__getitem__", "__len__",
                         "__iter__"})
#: calls that only read an attribute named by a string
_NAME_READS = frozenset({"getattr", "hasattr"})
#: functions read (transitively) per check before the check gives up, refusing
_BUDGET = 400

CallThroughCheck = Callable[[ast.expr, Ref], "tables.CallThrough | None"]


# --- R7-2: __new__ returning another class's object ---------------------------------------------------------

def foreign_new(model: ClassModel, resolver: Resolver, call_through: CallThroughCheck) -> Outcome | None:
    """``None`` when every source ``__new__`` of ``model``'s MRO returns an instance of the class it is given
    (for ``model`` itself); else why an instance use cannot be ranked by ``model``."""
    mro_names = {p.dotted for p in model.mro}
    for part in model.mro:
        if not isinstance(part, ClassModel):
            continue
        for binding in part.body.get("__new__", []):
            fn = binding.node
            where = part.where(binding.lineno, "__new__")
            if binding.kind != "function" or not isinstance(fn, ast.FunctionDef):
                return Outcome(False, f"{part.ref.qualname}.__new__ is not a plain def: the object the load builds "
                               f"may not be a {model.ref.qualname}", where)
            for deco in fn.decorator_list:
                if isinstance(deco, ast.Name) and deco.id == "staticmethod":
                    continue
                dref = resolver.expr(part.module, deco.func if isinstance(deco, ast.Call) else deco)
                if call_through(deco, dref) is None:
                    return Outcome(False, f"{part.ref.qualname}.__new__ is decorated ({ast.unparse(deco)[:60]}): "
                                   f"the object the load builds may not be a {model.ref.qualname}", where)
            problem = _new_problem(fn, part.module, model, mro_names, resolver)
            if problem is not None:
                line, what = problem
                return Outcome(False, f"{part.ref.qualname}.__new__ {what}: the object the load builds may not be a "
                               f"{model.ref.qualname}, whose methods the engine ranks", part.module.where(
                                   line, f"{part.ref.qualname}.__new__"))
    return None


def _new_problem(fn: ast.FunctionDef, mod: ModuleInfo, model: ClassModel, mro_names: set[str],
                 resolver: Resolver) -> tuple[int, str] | None:
    positional = [*fn.args.posonlyargs, *fn.args.args]
    if not positional:
        return fn.lineno, "takes no class argument"
    cls = positional[0].arg
    for node in _scope_nodes(fn.body):
        if isinstance(node, ast.Name) and node.id == cls and not isinstance(node.ctx, ast.Load):
            return node.lineno, f"rebinds {cls}"
        if isinstance(node, ast.Global | ast.Nonlocal) and cls in node.names:
            return node.lineno, f"declares {cls} global"
        if isinstance(node, ast.Yield | ast.YieldFrom | ast.Await):
            return node.lineno, "is a generator"

    def makes(expr: ast.expr) -> bool:
        """``X.__new__(cls, ...)`` for ``super()``, ``object`` or a class of the MRO."""
        if not (isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and expr.func.attr == "__new__"
                and expr.args and isinstance(expr.args[0], ast.Name) and expr.args[0].id == cls):
            return False
        owner = expr.func.value
        if isinstance(owner, ast.Call) and isinstance(owner.func, ast.Name) and owner.func.id == "super" \
                and not owner.args and not owner.keywords:
            return True
        if isinstance(owner, ast.Name) and owner.id == "object":
            return resolver.name_in(mod, "object").dotted == "builtins.object"
        if isinstance(owner, ast.Name | ast.Attribute):
            return resolver.expr(mod, owner).dotted in mro_names
        return False

    stores: dict[str, list[ast.AST]] = {}
    for node in _scope_nodes(fn.body):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            stores.setdefault(node.id, []).append(node)

    def local_ok(name: str) -> bool:
        """Every store of the name is a plain ``name = X.__new__(cls, ...)``."""
        found = stores.get(name, [])
        plain = [node for node in _scope_nodes(fn.body) if isinstance(node, ast.Assign) and len(node.targets) == 1
                 and isinstance(node.targets[0], ast.Name) and node.targets[0].id == name]
        return bool(found) and len(plain) == len(found) and all(makes(node.value) for node in plain)

    for ret in _live_returns(fn.body, cls, model, mod, resolver):
        value = ret.value
        if value is None or isinstance(value, ast.Constant) or makes(value):
            continue
        if isinstance(value, ast.Name) and local_ok(value.id):
            continue
        return ret.lineno, f"returns {ast.unparse(value)[:60]}"
    return None


def _guard(test: ast.expr, cls: str, model: ClassModel, mod: ModuleInfo, resolver: Resolver) -> bool | None:
    """``cls is C`` / ``cls is not C``: whether it holds when ``cls`` is ``model``; ``None`` for any other test."""
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.left, ast.Name)
            and test.left.id == cls and isinstance(test.ops[0], ast.Is | ast.IsNot)):
        return None
    other = test.comparators[0]
    if not isinstance(other, ast.Name | ast.Attribute):
        return None
    ref = resolver.expr(mod, other)
    if ref.kind != "class":
        return None
    same = ref.dotted == model.dotted
    return same if isinstance(test.ops[0], ast.Is) else not same


def _live_returns(body: list[ast.stmt], cls: str, model: ClassModel, mod: ModuleInfo,
                  resolver: Resolver) -> Iterator[ast.Return]:
    """The ``return`` statements of a body, skipping branches a ``cls is C`` guard rules out for ``model``."""
    for stmt in body:
        if isinstance(stmt, ast.If):
            taken = _guard(stmt.test, cls, model, mod, resolver)
            if taken is not False:
                yield from _live_returns(stmt.body, cls, model, mod, resolver)
            if taken is not True:
                yield from _live_returns(stmt.orelse, cls, model, mod, resolver)
            continue
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        if isinstance(stmt, ast.Return):
            yield stmt
            continue
        for field in ("body", "orelse", "finalbody", "handlers", "cases"):
            inner = getattr(stmt, field, None)
            if isinstance(inner, list):
                for item in inner:
                    if isinstance(item, ast.ExceptHandler | ast.match_case):
                        yield from _live_returns(item.body, cls, model, mod, resolver)
                yield from _live_returns([s for s in inner if isinstance(s, ast.stmt)], cls, model, mod, resolver)


def _scope_nodes(body: list[ast.stmt]) -> Iterator[ast.AST]:
    """Every node of a function body outside nested functions, lambdas and classes (comprehensions included:
    their targets cannot be the function's names)."""
    stack: list[ast.AST] = list(body)
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            continue
        stack.extend(ast.iter_child_nodes(node))


# --- R7-1: an instance attribute shadowing the method -------------------------------------------------------

def shadowing(model: ClassModel, method: str, resolver: Resolver) -> Outcome | None:
    """``None`` when no code of ``model``'s source classes (nor the source functions and classes it calls) can
    set an instance attribute named ``method``; else where it may."""
    scan = _Scan(method, resolver)
    for part in model.mro:
        if isinstance(part, ClassModel):
            scan.add_class(part)
    return scan.run()


class _Scan:
    def __init__(self, method: str, resolver: Resolver) -> None:
        self.method = method
        self.resolver = resolver
        self.todo: list[tuple[ast.AST, ModuleInfo, str]] = []
        self.seen: set[int] = set()

    def add_class(self, part: ClassModel) -> None:
        if id(part.node) not in self.seen:
            self.seen.add(id(part.node))
            self.todo.append((part.node, part.module, part.ref.qualname))

    def run(self) -> Outcome | None:
        budget = _BUDGET
        while self.todo:
            budget -= 1
            if budget < 0:
                return Outcome(False, f"too much code to read for the attributes it sets on the object (an instance "
                               f"attribute {self.method} would shadow the method)")
            node, mod, qual = self.todo.pop()
            found = self._read(node, mod)
            if found is not None:
                line, what = found
                return Outcome(False, f"{qual} {what}: an instance attribute {self.method!r} shadows the method the "
                               "engine ranks", mod.where(line, qual))
        return None

    def _read(self, root: ast.AST, mod: ModuleInfo) -> tuple[int, str] | None:
        m = self.method
        parents: dict[int, ast.AST] = {}
        functions: list[ast.FunctionDef | ast.AsyncFunctionDef] = []
        for node in ast.walk(root):
            for child in ast.iter_child_nodes(node):
                parents[id(child)] = node
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                functions.append(node)
        for node in ast.walk(root):
            line = getattr(node, "lineno", 0)
            if isinstance(node, ast.Attribute) and not isinstance(node.ctx, ast.Load):
                if node.attr == m and isinstance(node.ctx, ast.Store):
                    return line, f"sets {ast.unparse(node)[:60]}"
                if node.attr == "__dict__" and isinstance(node.ctx, ast.Store):
                    return line, f"replaces {ast.unparse(node)[:60]}"
            if isinstance(node, ast.Constant) and node.value == m and not self._name_read(node, parents):
                return line, f"names {m!r}"
            if isinstance(node, ast.keyword) and node.arg == m:
                return line, f"passes {m}= to a call"
            if isinstance(node, ast.Call):
                problem = self._call(node, mod, parents, functions)
                if problem is not None:
                    return line, problem
            if (isinstance(node, ast.Attribute) and node.attr == "__dict__") or (
                    isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "vars"):
                problem = self._dict_use(node, parents, functions)
                if problem is not None:
                    return line, problem
        return None

    @staticmethod
    def _name_read(node: ast.Constant, parents: dict[int, ast.AST]) -> bool:
        """The string is the name argument of ``getattr``/``hasattr`` (a read)."""
        call = parents.get(id(node))
        return isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id in _NAME_READS \
            and len(call.args) >= 2 and call.args[1] is node

    def _call(self, node: ast.Call, mod: ModuleInfo, parents: dict[int, ast.AST],
              functions: list[ast.FunctionDef | ast.AsyncFunctionDef]) -> str | None:
        func = node.func
        name_arg: ast.expr | None = None
        setter = False
        if isinstance(func, ast.Name) and func.id == "setattr":
            setter, name_arg = True, node.args[1] if len(node.args) > 1 else None
        elif isinstance(func, ast.Attribute) and func.attr == "__setattr__":
            setter = True
            # object.__setattr__(self, name, v) / self.__setattr__(name, v)
            index = 1 if isinstance(func.value, ast.Name) and func.value.id == "object" else 0
            name_arg = node.args[index] if len(node.args) > index else None
            if isinstance(func.value, ast.Call) and isinstance(func.value.func, ast.Name) \
                    and func.value.func.id == "super":
                name_arg = node.args[0] if node.args else None
            elif not (isinstance(func.value, ast.Name) and func.value.id == "object") and len(node.args) > 2:
                name_arg = node.args[1]  # Base.__setattr__(self, name, v)
        if setter:
            if name_arg is None or any(isinstance(a, ast.Starred) for a in node.args) or node.keywords:
                return f"calls {ast.unparse(func)[:40]} with arguments the scan cannot read"
            if not (isinstance(name_arg, ast.Constant) and isinstance(name_arg.value, str)):
                return f"sets an attribute with a computed name ({ast.unparse(node)[:60]})"
            return None
        if isinstance(func, ast.Name | ast.Attribute):
            try:
                ref = self.resolver.expr(mod, func)
            except Exception:  # noqa: BLE001 - an unresolvable callee is not read (it is library or the object's)
                return None
            if ref.kind == "function" and ref.module is not None and isinstance(
                    ref.node, ast.FunctionDef | ast.AsyncFunctionDef) and id(ref.node) not in self.seen:
                self.seen.add(id(ref.node))
                self.todo.append((ref.node, ref.module, ref.qualname))
            elif ref.kind == "class":
                model = self.resolver.class_model(ref)
                if isinstance(model, ClassModel):
                    for part in model.mro:
                        if isinstance(part, ClassModel):
                            self.add_class(part)
        return None

    @staticmethod
    def _dict_use(node: ast.expr, parents: dict[int, ast.AST],
                  functions: list[ast.FunctionDef | ast.AsyncFunctionDef]) -> str | None:
        """``obj.__dict__`` / ``vars(obj)`` used other than to read it: writes names the scan cannot see, unless
        it is ``self.__dict__.update(state)`` in ``__setstate__`` (the file's state, ranked by the engine)."""
        parent = parents.get(id(node))
        if isinstance(parent, ast.Attribute) and parent.value is node:
            if parent.attr in _DICT_READS:
                return None
            call = parents.get(id(parent))
            if parent.attr == "update" and isinstance(call, ast.Call) and call.func is parent \
                    and len(call.args) == 1 and not call.keywords and isinstance(call.args[0], ast.Name):
                fn = next((f for f in functions if f.name == "__setstate__"
                           and _encloses(f, node, parents)), None)
                positional = [*fn.args.posonlyargs, *fn.args.args] if fn is not None else []
                if fn is not None and len(positional) == 2 and call.args[0].id == positional[1].arg \
                        and _state_only_read(fn, positional[1].arg, call):
                    return None
            return f"writes through {ast.unparse(node)[:40]}.{parent.attr}"
        if isinstance(parent, ast.Subscript) and parent.value is node and isinstance(parent.ctx, ast.Load):
            return None
        if isinstance(parent, ast.Compare) and node in parent.comparators:
            return None  # ``name in self.__dict__``
        if isinstance(parent, ast.Call) and isinstance(parent.func, ast.Name) and parent.func.id in (
                "dict", "len", "list", "sorted", "set", "tuple", "iter", "repr", "str"):
            return None  # a copy or a read
        if isinstance(parent, ast.Return) and any(f.name == "__getstate__" and _encloses(f, node, parents)
                                                   for f in functions):
            return None  # pickling hands the dict out; nothing writes it at load
        return f"uses {ast.unparse(node)[:40]} in a way the scan cannot read (it may write attributes)"


def _state_only_read(fn: ast.FunctionDef | ast.AsyncFunctionDef, state: str, update: ast.Call) -> bool:
    """``state`` (``__setstate__``'s argument) reaches ``self.__dict__.update`` as the file gave it: never
    rebound, never added to (reads, ``pop`` and ``del`` only)."""
    parents: dict[int, ast.AST] = {}
    for node in ast.walk(fn):
        for child in ast.iter_child_nodes(node):
            parents[id(child)] = node
    for node in ast.walk(fn):
        if not (isinstance(node, ast.Name) and node.id == state):
            continue
        if not isinstance(node.ctx, ast.Load):
            return False
        parent = parents.get(id(node))
        if parent is update:
            continue
        if isinstance(parent, ast.Attribute) and parent.attr in (*_DICT_READS, "pop"):
            continue
        if isinstance(parent, ast.Subscript) and parent.value is node and not isinstance(parent.ctx, ast.Store):
            continue
        if isinstance(parent, ast.Compare):
            continue
        return False
    return True


def _encloses(fn: ast.AST, node: ast.AST, parents: dict[int, ast.AST]) -> bool:
    current: ast.AST | None = node
    while current is not None:
        if current is fn:
            return True
        current = parents.get(id(current))
    return False
