"""A module ``__getattr__`` (PEP 562) specialised to the one name a statement looks up.

``from pkg import name``, ``pkg.name`` and ``hasattr(pkg, name)`` run ``pkg.__getattr__(name)`` when the module
namespace lacks the name. The name is then a constant of the library's own source, so the hook's branches that
test it (``if name == "X":``, ``if name in _submodules:``, ``name not in {...}``) can be decided before the body
is analysed: a lazy-loading hook that only raises ``AttributeError`` for other names is inert for them.

Invariant: the specialised body runs exactly the statements the hook would run for that name, or more. Only tests
read with certainty are folded: ``==``/``!=``/``in``/``not in`` between the parameter (never rebound in the body)
and string constants, literal containers of string constants, or module-level names bound once, unconditionally,
to such a literal and never written elsewhere. Anything else stays in the body and is analysed as written. One
more rewrite: ``importlib.import_module("<pkg>.<name>")`` of the very submodule the statement imports is the import
the statement does anyway (its effects are checked by the import walk), so it is replaced by a constant; and
``globals()[key]`` read in the hook only reads the module's own namespace dict (a plain dict with string keys: no
code runs), so it is replaced by a constant too.
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Callable

from safeload.catalog.source_model import _is_type_checking

__all__ = ["specialise"]

_IMPORT_MODULE = "importlib.import_module"


def specialise(fn: ast.FunctionDef, module_tree: ast.Module, name: str, submodule: str | None,
               callee: Callable[[ast.expr], str]) -> ast.FunctionDef:
    """A copy of ``fn`` with its parameter fixed to ``name``; ``submodule`` is ``pkg.name`` when the lookup is the
    import of that submodule; ``callee`` resolves a callee expression to its dotted name in the module."""
    params = [*fn.args.posonlyargs, *fn.args.args]
    if len(params) != 1 or fn.args.vararg or fn.args.kwarg or fn.args.kwonlyargs:
        return fn
    param = params[0].arg
    if any(isinstance(n, ast.Name) and n.id == param and not isinstance(n.ctx, ast.Load) for n in ast.walk(fn)) \
            or any(isinstance(n, ast.Global | ast.Nonlocal) for n in ast.walk(fn)):
        return fn
    tables = _literal_tables(module_tree)
    dicts = {t for t in tables if _dict_table(module_tree, t)}
    folded = _Folder(param, name, tables, submodule, callee, dicts).visit(copy.deepcopy(fn))
    if not isinstance(folded, ast.FunctionDef):  # pragma: no cover - visit_FunctionDef is the generic one
        return fn
    ast.fix_missing_locations(folded)
    return folded


def _literal_tables(tree: ast.Module) -> dict[str, frozenset[str]]:
    """Module-level names bound exactly once, at the top level, to a literal container of string constants."""
    counts: dict[str, int] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            counts[node.id] = counts.get(node.id, 0) + 1
        elif isinstance(node, ast.Global | ast.Nonlocal):
            for n in node.names:
                counts[n] = counts.get(n, 0) + 2
    found: dict[str, frozenset[str]] = {}
    for stmt in _unconditional(tree):
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            target, value = stmt.targets[0].id, stmt.value
        elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.value is not None:
            target, value = stmt.target.id, stmt.value
        else:
            continue
        items = _strings(value)
        if items is not None and counts.get(target) == 1:
            found[target] = items
    return found


_READ_ONLY = frozenset({"get", "keys", "items", "values", "copy", "__contains__"})


def _unconditional(tree: ast.Module) -> list[ast.stmt]:
    """The module's top-level statements, with the ``else`` of ``if TYPE_CHECKING:`` (which always runs on import:
    torch/__init__ defines ``_lazy_modules`` and its ``__getattr__`` there) in the place of that ``if``."""
    out: list[ast.stmt] = []
    for stmt in tree.body:
        if isinstance(stmt, ast.If) and _is_type_checking(stmt.test):
            out.extend(stmt.orelse)
        else:
            out.append(stmt)
    return out


def _dict_table(tree: ast.Module, target: str) -> bool:
    """Whether the literal table ``target`` (``_literal_tables``) is a dict display whose keys nothing changes:
    every other mention in the module reads it (``.get``/``.keys``/... , ``x[k]``, ``k in x``); passed to a call,
    aliased, subscript-assigned or given any other method, it may gain keys."""
    display = next((stmt.value for stmt in _unconditional(tree) if isinstance(stmt, ast.Assign)
                    and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)
                    and stmt.targets[0].id == target), None)
    if not isinstance(display, ast.Dict):
        return False
    reads: set[int] = set()
    for node in ast.walk(tree):
        read = (isinstance(node, ast.Attribute) and node.attr in _READ_ONLY) or (
            isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load))
        if read and isinstance(node, ast.Attribute | ast.Subscript) and isinstance(node.value, ast.Name) \
                and node.value.id == target:
            reads.add(id(node.value))
        elif isinstance(node, ast.Compare):
            for op, right in zip(node.ops, node.comparators, strict=True):
                if isinstance(op, ast.In | ast.NotIn) and isinstance(right, ast.Name) and right.id == target:
                    reads.add(id(right))
    return all(id(node) in reads for node in ast.walk(tree)
               if isinstance(node, ast.Name) and node.id == target and isinstance(node.ctx, ast.Load))


def _strings(node: ast.expr) -> frozenset[str] | None:
    if isinstance(node, ast.List | ast.Tuple | ast.Set) and all(
            isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts):
        return frozenset(e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str))
    if isinstance(node, ast.Dict) and all(isinstance(k, ast.Constant) and isinstance(k.value, str) for k in node.keys):
        return frozenset(k.value for k in node.keys if isinstance(k, ast.Constant) and isinstance(k.value, str))
    return None


class _Folder(ast.NodeTransformer):
    def __init__(self, param: str, name: str, tables: dict[str, frozenset[str]], submodule: str | None,  # noqa: PLR0917
                 callee: Callable[[ast.expr], str], dicts: set[str]) -> None:
        self.param, self.name, self.tables = param, name, tables
        self.submodule, self.callee, self.dicts = submodule, callee, dicts
        #: locals bound once, in the hook's top-level body, to a folded ``None`` (``x = table.get(name)``)
        self.none_locals: set[str] = set()

    def _is_param(self, node: ast.expr) -> bool:
        return isinstance(node, ast.Name) and node.id == self.param

    def _container(self, node: ast.expr) -> frozenset[str] | None:
        if isinstance(node, ast.Name) and node.id != self.param:
            return self.tables.get(node.id)
        return _strings(node)

    def _missing_get(self, node: ast.expr) -> bool:
        """``table.get(param)`` of a dict-literal table that has no such key: ``None``, and no code runs (a
        plain dict with string keys)."""
        return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get" \
            and isinstance(node.func.value, ast.Name) and node.func.value.id in self.dicts \
            and len(node.args) == 1 and not node.keywords and self._is_param(node.args[0]) \
            and self.name not in self.tables[node.func.value.id]

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        stores: dict[str, int] = {}
        for n in ast.walk(node):
            if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load):
                stores[n.id] = stores.get(n.id, 0) + 1
        for stmt in node.body:
            if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name) \
                    and stores.get(stmt.targets[0].id) == 1 and self._missing_get(stmt.value):
                self.none_locals.add(stmt.targets[0].id)
        return self.generic_visit(node)

    def _decide(self, test: ast.expr) -> bool | None:
        if isinstance(test, ast.Constant):
            return bool(test.value)
        if isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.left, ast.Name) \
                and test.left.id in self.none_locals and isinstance(test.ops[0], ast.Is | ast.IsNot) \
                and isinstance(test.comparators[0], ast.Constant) and test.comparators[0].value is None:
            return isinstance(test.ops[0], ast.Is)
        if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            inner = self._decide(test.operand)
            return None if inner is None else not inner
        if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and self._is_param(test.left)):
            return None
        op, right = test.ops[0], test.comparators[0]
        if isinstance(op, ast.Eq | ast.NotEq) and isinstance(right, ast.Constant) and isinstance(right.value, str):
            return (self.name == right.value) == isinstance(op, ast.Eq)
        if isinstance(op, ast.In | ast.NotIn):
            items = self._container(right)
            if items is not None:
                return (self.name in items) == isinstance(op, ast.In)
        return None

    def visit_If(self, node: ast.If) -> ast.AST | list[ast.stmt]:
        decided = self._decide(node.test)
        if decided is None:
            return self.generic_visit(node)
        kept = node.body if decided else node.orelse
        out: list[ast.stmt] = []
        for stmt in kept:
            result = self.visit(stmt)
            out.extend(result if isinstance(result, list) else [result])
        return out or [ast.Pass(lineno=node.lineno, col_offset=node.col_offset)]

    def visit_IfExp(self, node: ast.IfExp) -> ast.AST:
        decided = self._decide(node.test)
        if decided is None:
            return self.generic_visit(node)
        result = self.visit(node.body if decided else node.orelse)
        return result if isinstance(result, ast.AST) else self.generic_visit(node)

    def visit_Subscript(self, node: ast.Subscript) -> ast.AST:
        value = node.value
        if isinstance(node.ctx, ast.Load) and isinstance(value, ast.Call) and not value.args \
                and not value.keywords and self.callee(value.func) == "builtins.globals":
            return ast.copy_location(ast.Constant(value=None), node)
        return self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> ast.AST:
        if self._missing_get(node):
            return ast.copy_location(ast.Constant(value=None), node)
        if self.submodule is not None and len(node.args) == 1 and not node.keywords \
                and self._text(node.args[0]) == self.submodule and self.callee(node.func) == _IMPORT_MODULE:
            return ast.copy_location(ast.Constant(value=None), node)
        return self.generic_visit(node)

    def _text(self, node: ast.expr) -> str | None:
        """The string ``node`` evaluates to with the parameter fixed, when it is built from constants only."""
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if self._is_param(node):
            return self.name
        if isinstance(node, ast.JoinedStr):
            parts: list[str] = []
            for value in node.values:
                if isinstance(value, ast.FormattedValue):
                    if value.conversion != -1 or value.format_spec is not None:
                        return None
                    text = self._text(value.value)
                else:
                    text = self._text(value)
                if text is None:
                    return None
                parts.append(text)
            return "".join(parts)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left, right = self._text(node.left), self._text(node.right)
            return None if left is None or right is None else left + right
        return None
