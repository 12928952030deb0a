"""The static model of installed modules and classes: parsed namespaces, names resolved through the source's
own imports, and class models (bases, C3 MRO, metaclass, decorators, class-level bindings).

Invariant: everything is derived from ``ast`` trees of source files located by ``source_locate``; no module is
imported and no object from the analysed code is created. A name that cannot be followed statically resolves
to an ``unknown`` reference with the reason, never to a guess.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import importlib
import os
import threading
import types
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from safeload.catalog import source_files
from safeload.catalog import source_tables as tables
from safeload.catalog.source_files import FileStat
from safeload.catalog.source_locate import ModuleSource, display_path, is_stdlib_path, locate_module

__all__ = ["Binding", "ClassModel", "Leaf", "ModuleInfo", "Ref", "Resolver", "as_model", "stdlib_generic_alias_hook"]

def _load_star_table() -> types.ModuleType | None:
    """``generated/star_exports.py``, loaded with the model (an analysis imports no module while it runs)."""
    try:
        return importlib.import_module("safeload.catalog.generated.star_exports")
    except ImportError:  # pragma: no cover - before the first generation
        return None


_STAR_TABLE = _load_star_table()

MAX_SOURCE_BYTES = 8 * 1024 * 1024
_PARSE_CACHE_SIZE = 1024


@dataclass(frozen=True, slots=True)
class Binding:
    """One top-level (or class-level) binding of a name. ``conditional``: inside ``if``/``try``/loops."""

    kind: str  # class | function | import | from | assign | other
    node: ast.AST
    conditional: bool
    lineno: int
    target: str = ""  # import: dotted module; from: absolute module
    attr: str = ""  # from: the imported name
    value: ast.expr | None = None


@dataclass
class ModuleInfo:
    """A parsed module: its top-level bindings and the facts that make static resolution unreliable."""

    name: str
    source: ModuleSource
    path: str
    tree: ast.Module
    bindings: dict[str, list[Binding]]
    star_imports: list[str]
    getattr_line: int | None
    self_replace_line: int | None
    global_writes: set[str]
    stat: FileStat
    #: ``from __future__ import annotations``: annotations are strings, never evaluated at import
    future_annotations: bool = False
    #: what the cached-bytecode check rests on (the ``.pyc`` the import would run, or the directory it would be in)
    bytecode: tuple[FileStat, ...] = ()

    @property
    def is_package(self) -> bool:
        return self.source.is_package

    def where(self, line: int, qualname: str = "") -> str:
        shown = display_path(self.path, self.source.root)
        return f"{shown}:{line}" + (f" ({qualname})" if qualname else "")


@dataclass(frozen=True)
class Ref:
    """What a name refers to, statically."""

    kind: str  # class | function | module | builtin | special | external | value | logger | unknown
    dotted: str
    module: ModuleInfo | None = None
    node: ast.AST | None = None
    qualname: str = ""
    reason: str = ""
    chain: tuple[str, ...] = ()
    #: an ``unknown`` name bound to one of these classes, which one decided at import (``if c: class X ...
    #: else: class X ...``): a call is inert only when calling each of them is (``source_effects.call_ref``)
    alternatives: tuple[Ref, ...] = ()

    @property
    def where(self) -> str | None:
        if self.module is None:
            return None
        return self.module.where(getattr(self.node, "lineno", 1), self.qualname)


@dataclass
class Leaf:
    """A base the model does not read as source: a builtin type, a known stdlib base, or external code."""

    dotted: str
    kind: str  # builtin | special | external
    tag: str = ""
    reason: str = ""

    @property
    def builtin_type(self) -> type | None:
        if self.kind != "builtin":
            return None
        name = self.dotted.removeprefix("builtins.")
        value = vars(builtins).get(name, tables.NAMED_BUILTIN_TYPES.get(name))
        return value if isinstance(value, type) else None


@dataclass
class ClassModel:
    """A class read from source."""

    ref: Ref
    node: ast.ClassDef
    module: ModuleInfo
    body: dict[str, list[Binding]]
    bases: list[ClassModel | Leaf]
    mro: list[ClassModel | Leaf]
    metaclass: Ref | ClassModel | None = None
    decorators: list[tuple[ast.expr, Ref]] = field(default_factory=list)
    dataclass_opts: dict[str, bool] | None = None
    attrs_opts: dict[str, bool] | None = None
    problems: list[tuple[str, str | None]] = field(default_factory=list)

    @property
    def dotted(self) -> str:
        return self.ref.dotted

    def where(self, line: int | None = None, member: str = "") -> str:
        qual = self.ref.qualname + (f".{member}" if member else "")
        return self.module.where(line if line is not None else self.node.lineno, qual)

    def own(self, name: str) -> Binding | None:
        found = self.body.get(name)
        return found[-1] if found else None

    @property
    def tags(self) -> set[str]:
        return {b.tag for b in self.mro if isinstance(b, Leaf) and b.kind == "special"}


# --- parsing -----------------------------------------------------------------------------------------------

def _is_type_checking(test: ast.expr) -> bool:
    if isinstance(test, ast.Name) and test.id == "TYPE_CHECKING":
        return True
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def _is_not_type_checking(test: ast.expr) -> bool:
    """``if not TYPE_CHECKING:``: the body runs on import and the ``else`` does not (narwhals' module
    ``__getattr__``); the same reading of typing's constant as ``if TYPE_CHECKING:`` (``_rebinds_guards``)."""
    return isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not) and _is_type_checking(test.operand)


def _is_main_guard(test: ast.expr) -> bool:
    return (isinstance(test, ast.Compare) and isinstance(test.left, ast.Name) and test.left.id == "__name__"
            and len(test.comparators) == 1 and isinstance(test.comparators[0], ast.Constant)
            and test.comparators[0].value == "__main__" and isinstance(test.ops[0], ast.Eq))


def absolute_module(current: str, is_package: bool, level: int, module: str | None) -> str | None:
    """The absolute name ``from <level dots><module> import ...`` refers to inside ``current``."""
    if level == 0:
        return module
    parts = current.split(".")
    base = parts if is_package else parts[:-1]
    if level - 1 > len(base) or (level - 1 == len(base) and not module):
        return None
    base = base[: len(base) - (level - 1)]
    if not base and not module:
        return None
    return ".".join([*base, *([module] if module else [])])


def _none_assignment(binding: Binding) -> bool:
    """``X = None``: a single-name assignment of the constant ``None``."""
    node = binding.node
    return (binding.kind == "assign" and isinstance(node, ast.Assign) and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name) and isinstance(binding.value, ast.Constant)
            and binding.value.value is None)


def _if_else_classes(mod: ModuleInfo, found: list[Binding]) -> list[Binding]:
    """The two bindings of ``found`` when they are exactly ``if <test>: class X ...`` and ``else: class X ...``
    directly in the two branches of one top-level ``if`` of ``mod`` (the module's own code binds the name nowhere
    else): after the import exactly one of them holds, which one the test decides. Otherwise no bindings.
    Also a ``def X`` in one branch and ``X = None`` in the other (tslearn 0.10.0 metrics/utils.py, under ``if torch
    is not None:``): calling ``None`` raises TypeError, so a call is inert when calling the function is."""
    kinds = sorted("none" if _none_assignment(b) else b.kind for b in found)
    if len(found) != 2 or kinds not in (["class", "class"], ["function", "none"]):
        return []
    first, second = found[0].node, found[1].node
    for stmt in mod.tree.body:
        if isinstance(stmt, ast.If) and any(s is first for s in stmt.body) and any(s is second for s in stmt.orelse):
            return list(found)
    return []


def _if_else_stars(mod: ModuleInfo, star: Binding) -> bool:
    """``star`` (a conditional ``from m import *``) is one of two star imports of the same module, each a direct
    statement of one branch of the same top-level ``if``/``else`` of ``mod`` (torch/__init__.py, lines 428 and
    445): whichever branch runs binds the same names, so after the ``if`` the star import has run (an exception
    before it fails the whole import). Not for ``elif`` chains, ``try``, loops or nested blocks."""
    for stmt in mod.tree.body:
        if not isinstance(stmt, ast.If) or not stmt.orelse:
            continue
        branches = (stmt.body, stmt.orelse)
        mine = [b for b in branches if any(s is star.node for s in b)]
        if not mine:
            continue
        other = branches[1] if mine[0] is branches[0] else branches[0]
        return any(isinstance(s, ast.ImportFrom) and s.level == 0 and s.module == star.target
                   and [a.name for a in s.names] == ["*"] for s in other)
    return False


def _same_block(mod: ModuleInfo, first: ast.AST, second: ast.AST) -> bool:
    """``first`` and ``second`` are statements of one statement list of ``mod`` reached from the module body through
    ``if`` branches only (whenever ``second`` runs, so did ``first`` when it comes before it; and when ``first`` ran,
    ``second`` runs unless the import fails). Not inside a ``try`` (or ``with``, whose context manager may swallow an
    exception) or a loop: an exception caught there, or a ``break``/``continue``, between the two skips ``second``
    while ``first``'s bindings stay (red team R10-4)."""

    def find(stmts: list[ast.stmt]) -> bool | None:
        if any(s is second for s in stmts):
            return any(s is first for s in stmts)
        for stmt in stmts:
            if isinstance(stmt, ast.If):
                for branch in (stmt.body, stmt.orelse):
                    found = find(branch)
                    if found is not None:
                        return found
        return None

    return find(mod.tree.body) is True


def _module_or_none(ref: Ref) -> Ref | None:
    """The module alternative of an ``unknown`` name that is a module or ``None`` (``_try_import_or_none``)."""
    if ref.kind != "unknown" or len(ref.alternatives) != 2:
        return None
    modules = [a for a in ref.alternatives if a.kind == "module"]
    nones = [a for a in ref.alternatives if a.kind == "value" and isinstance(a.node, ast.Constant)
             and a.node.value is None]
    return modules[0] if len(modules) == 1 and len(nones) == 1 else None


def _compiled_star_exports(source: ModuleSource, name: str) -> bool | None:
    """Whether ``from <compiled source> import *`` binds ``name``, from the generated table
    (``generated/star_exports.py``, introspected by ``catalog/_gen/star_exports.py``): ``None`` when the table
    does not describe the installed module (not listed, other versions, not installed where it was read) or lists
    ``name`` as rebound afterwards by code the static reader does not follow."""
    table = _STAR_TABLE
    if table is None:  # pragma: no cover - before the first generation
        return None
    exported = table.EXPORTS.get(source.name)
    if exported is None or not source.root or source.kind == "missing":
        return None
    top = source.name.split(".", 1)[0]
    wanted = table.DIST_INFO.get(top, ())
    if not wanted or not all(os.path.isdir(os.path.join(source.root, d)) for d in wanted):
        return None
    if name in table.REBOUND.get(source.name, frozenset()):
        return None
    return name in exported


def _try_import_or_none(mod: ModuleInfo, found: list[Binding]) -> list[Binding]:
    """The two bindings of ``found`` when they are exactly ``try: import X`` and ``X = None`` in a handler of that
    ``try``, both direct statements of one top-level ``try`` of ``mod`` (tslearn 0.10.0 metrics/utils.py: ``try:
    import torch`` / ``except ImportError: torch = None``): after it the name is the module or ``None``, whatever the
    handler catches (an exception it does not catch fails the whole import). Otherwise no bindings."""
    if len(found) != 2 or found[0].kind != "import" or not isinstance(found[0].node, ast.Import) \
            or not _none_assignment(found[1]):
        return []
    first, second = found[0].node, found[1].node
    for stmt in mod.tree.body:
        if isinstance(stmt, ast.Try) and any(s is first for s in stmt.body) and any(
                s is second for handler in stmt.handlers for s in handler.body):
            return list(found)
    return []


def collect_bindings(stmts: Sequence[ast.stmt], module: str, is_package: bool,
                     out: dict[str, list[Binding]], stars: list[str], *, conditional: bool = False) -> None:
    """Record the names ``stmts`` bind at their own level (module or class body) in order."""

    def add(name: str, binding: Binding) -> None:
        out.setdefault(name, []).append(binding)

    def targets(node: ast.expr, stmt: ast.stmt, value: ast.expr | None, cond: bool) -> None:
        if isinstance(node, ast.Name):
            add(node.id, Binding("assign" if value is not None else "other", stmt, cond, stmt.lineno, value=value))
        elif isinstance(node, ast.Tuple | ast.List):
            for elt in node.elts:
                targets(elt, stmt, None, cond)
        elif isinstance(node, ast.Starred):
            targets(node.value, stmt, None, cond)

    for stmt in stmts:
        if isinstance(stmt, ast.ClassDef):
            add(stmt.name, Binding("class", stmt, conditional, stmt.lineno))
        elif isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
            add(stmt.name, Binding("function", stmt, conditional, stmt.lineno))
        elif isinstance(stmt, ast.Import):
            for alias in stmt.names:
                if alias.asname:
                    add(alias.asname, Binding("import", stmt, conditional, stmt.lineno, target=alias.name))
                else:
                    top = alias.name.split(".")[0]
                    add(top, Binding("import", stmt, conditional, stmt.lineno, target=top))
        elif isinstance(stmt, ast.ImportFrom):
            absolute = absolute_module(module, is_package, stmt.level, stmt.module)
            for alias in stmt.names:
                if alias.name == "*":
                    if absolute:
                        stars.append(absolute)
                        add("*", Binding("star", stmt, conditional, stmt.lineno, target=absolute))
                    continue
                add(alias.asname or alias.name, Binding("from", stmt, conditional, stmt.lineno,
                                                        target=absolute or "", attr=alias.name))
        elif isinstance(stmt, ast.Assign):
            single = len(stmt.targets) == 1
            for tgt in stmt.targets:
                targets(tgt, stmt, stmt.value if single and isinstance(tgt, ast.Name) else None, conditional)
        elif isinstance(stmt, ast.AnnAssign):
            if stmt.value is not None:
                targets(stmt.target, stmt, stmt.value, conditional)
        elif isinstance(stmt, ast.AugAssign):
            targets(stmt.target, stmt, None, conditional)
        elif isinstance(stmt, ast.Delete):
            for tgt in stmt.targets:
                targets(tgt, stmt, None, conditional)
        elif isinstance(stmt, ast.If):
            if _is_type_checking(stmt.test) or _is_main_guard(stmt.test):
                collect_bindings(stmt.orelse, module, is_package, out, stars, conditional=conditional)
            elif _is_not_type_checking(stmt.test):
                collect_bindings(stmt.body, module, is_package, out, stars, conditional=conditional)
            else:
                collect_bindings(stmt.body, module, is_package, out, stars, conditional=True)
                collect_bindings(stmt.orelse, module, is_package, out, stars, conditional=True)
        elif isinstance(stmt, ast.Try | ast.TryStar):
            collect_bindings(stmt.body, module, is_package, out, stars, conditional=True)
            for handler in stmt.handlers:
                if handler.name:
                    add(handler.name, Binding("other", handler, True, handler.lineno))
                collect_bindings(handler.body, module, is_package, out, stars, conditional=True)
            collect_bindings(stmt.orelse, module, is_package, out, stars, conditional=True)
            collect_bindings(stmt.finalbody, module, is_package, out, stars, conditional=conditional)
        elif isinstance(stmt, ast.For | ast.AsyncFor | ast.While | ast.With | ast.AsyncWith | ast.Match):
            if isinstance(stmt, ast.For | ast.AsyncFor):
                targets(stmt.target, stmt, None, True)
            if isinstance(stmt, ast.With | ast.AsyncWith):
                for item in stmt.items:
                    if item.optional_vars is not None:
                        targets(item.optional_vars, stmt, None, True)
            inner: list[ast.stmt] = []
            if isinstance(stmt, ast.Match):
                for case in stmt.cases:
                    inner.extend(case.body)
            else:
                inner.extend(stmt.body)
                inner.extend(getattr(stmt, "orelse", []))
            collect_bindings(inner, module, is_package, out, stars, conditional=True)
        for node in ast.walk(stmt) if not isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) \
                else ():
            if isinstance(node, ast.NamedExpr) and isinstance(node.target, ast.Name):
                add(node.target.id, Binding("other", stmt, True, stmt.lineno))


def _guards_rebound(tree: ast.Module) -> bool:
    """``TYPE_CHECKING`` bound to anything but typing's constant, or ``__name__`` assigned: then ``if
    TYPE_CHECKING:`` / ``if __name__ == "__main__":`` bodies may run on import, and skipping them is wrong.
    One binding is typing's value too: a top-level ``TYPE_CHECKING = False`` (setuptools-scm's generated version
    files) before every read of the name, and no other binding of it."""
    false_guard = _constant_false_guard(tree)
    unread_name = _unread_constant_name(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) and node.id in ("TYPE_CHECKING",
                                                                                          "__name__"):
            if node is false_guard or node is unread_name:
                continue
            return True
        if isinstance(node, ast.alias) and (node.asname or node.name) in ("TYPE_CHECKING", "__name__") \
                and node.name != "TYPE_CHECKING":
            return True
        if isinstance(node, ast.ImportFrom) and any(a.name == "TYPE_CHECKING" for a in node.names) \
                and node.module not in ("typing", "typing_extensions"):
            return True
        if isinstance(node, ast.Global) and {"TYPE_CHECKING", "__name__"} & set(node.names):
            return True
    return False


def _constant_false_guard(tree: ast.Module) -> ast.Name | None:
    """The target of a top-level ``TYPE_CHECKING = False`` that precedes every other mention of the name."""
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name) \
                and stmt.targets[0].id == "TYPE_CHECKING" and isinstance(stmt.value, ast.Constant) \
                and stmt.value.value is False:
            target = stmt.targets[0]
            earlier = any(isinstance(n, ast.Name) and n.id == "TYPE_CHECKING" and n is not target
                          and (n.lineno, n.col_offset) <= (target.lineno, target.col_offset)
                          for n in ast.walk(tree))
            return None if earlier else target
    return None


def _unread_constant_name(tree: ast.Module) -> ast.Name | None:
    """The target of a top-level ``__name__ = "<str>"`` (``_collections_abc``: ``__name__ = "collections.abc"``)
    when it is the module's only binding of ``__name__`` and nothing in the module reads the name ``__name__``: no
    ``if __name__ == ...`` guard, ``sys.modules[__name__]`` key or other use can then see the new value."""
    found: ast.Name | None = None
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id == "__name__":
            if isinstance(node.ctx, ast.Load) or found is not None:
                return None
            found = node
        elif isinstance(node, ast.Global | ast.Nonlocal) and "__name__" in node.names:
            return None
    if found is None:
        return None
    top = next((stmt for stmt in tree.body if isinstance(stmt, ast.Assign) and stmt.targets == [found]), None)
    if top is None or not (isinstance(top.value, ast.Constant) and isinstance(top.value.value, str)):
        return None
    return found


def _self_replacing(tree: ast.Module, name: str) -> int | None:
    """Line of ``sys.modules[__name__] = ...`` (or any key that may be this module's name): the module object
    is replaced on import, so its namespace as others see it is not the one in the source. Only top-level code
    counts here (a function doing it at import is an import effect, flagged there)."""
    stack: list[ast.AST] = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            continue
        stack.extend(ast.iter_child_nodes(node))
        if isinstance(node, ast.Assign):
            for tgt in node.targets:
                if (isinstance(tgt, ast.Subscript) and isinstance(tgt.value, ast.Attribute)
                        and tgt.value.attr == "modules"):
                    key = tgt.slice
                    if isinstance(key, ast.Constant) and isinstance(key.value, str) and key.value != name:
                        continue
                    return node.lineno
    return None


def _global_writes(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Global):
            names.update(node.names)
    return names


class _ParseCache:
    """Parsed modules keyed by (path, mtime_ns, size): a service parses each file once. Bounded LRU."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._data: OrderedDict[FileStat, tuple[ast.Module, dict[str, list[Binding]], list[str]]] = (
            OrderedDict())
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: FileStat) -> tuple[ast.Module, dict[str, list[Binding]], list[str]] | None:
        with self._lock:
            found = self._data.get(key)
            if found is not None:
                self._data.move_to_end(key)
                self.hits += 1
            else:
                self.misses += 1
            return found

    def put(self, key: FileStat, value: tuple[ast.Module, dict[str, list[Binding]], list[str]]) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self._size:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


PARSE_CACHE = _ParseCache(_PARSE_CACHE_SIZE)


def file_stat(path: str, *, fresh: bool = False) -> FileStat:
    """The identity of the file at ``path`` (read once per ``source_files.one_view`` block unless ``fresh``)."""
    st = source_files.stat(path, fresh=fresh)
    return (os.path.realpath(path) if fresh else source_files.realpath(path), st.st_mtime_ns, st.st_size,
            st.st_ctime_ns, st.st_ino)


def parse_module(source: ModuleSource) -> ModuleInfo | str:
    """Parse ``source`` (cached by file identity); a string is the reason it cannot be analysed."""
    if source.kind == "namespace":
        tree = ast.Module(body=[], type_ignores=[])
        return ModuleInfo(source.name, source, source.search_locations[0] if source.search_locations else "",
                          tree, {}, [], None, None, set(), ("", 0, 0, 0, 0))
    if source.path is None:
        return f"no source ({source.kind})"
    try:
        stat = file_stat(source.path)
    except OSError as exc:
        return f"cannot stat source: {exc.__class__.__name__}"
    if stat[2] > MAX_SOURCE_BYTES:
        return f"source larger than {MAX_SOURCE_BYTES} bytes"
    cached = PARSE_CACHE.get(stat)
    if cached is None:
        try:
            with open(source.path, "rb") as handle:
                data = handle.read(MAX_SOURCE_BYTES + 1)
            tree = ast.parse(data, filename=source.path)
        except (SyntaxError, ValueError, RecursionError, MemoryError, OSError) as exc:
            return f"source does not parse: {exc.__class__.__name__}"
        bindings: dict[str, list[Binding]] = {}
        stars: list[str] = []
        if _guards_rebound(tree):
            return "rebinds TYPE_CHECKING or __name__: its import-time guards cannot be read statically"
        collect_bindings(tree.body, source.name, source.is_package, bindings, stars)
        cached = (tree, bindings, stars)
        PARSE_CACHE.put(stat, cached)
    tree, bindings, stars = cached
    getattr_line = None
    for binding in bindings.get("__getattr__", []):
        getattr_line = binding.lineno
    future = any(isinstance(n, ast.ImportFrom) and n.module == "__future__" and any(
        a.name == "annotations" for a in n.names) for n in tree.body)
    reason, bytecode = cached_bytecode(source.path, stat)
    if reason is not None:
        return reason
    return ModuleInfo(source.name, source, source.path, tree, bindings, stars, getattr_line,
                      _self_replacing(tree, source.name), _global_writes(tree), stat, future, bytecode)


# --- cached bytecode (red team R6-4) ---------------------------------------------------------------------------
# The import system runs ``__pycache__/<name>.<tag>.pyc`` instead of compiling the .py whenever that file says it is
# current: a timestamp .pyc recording the source's mtime and size, a checked-hash .pyc recording its hash, an
# unchecked-hash .pyc always. What is read here (and hashed for a hash-bound review) is the .py: a module is
# analysable only while the bytecode the import would run is what its source compiles to.
_BYTECODE: OrderedDict[tuple[FileStat, FileStat], bool] = OrderedDict()
_BYTECODE_LOCK = threading.Lock()


def cached_bytecode(path: str, stat: FileStat) -> tuple[str | None, tuple[FileStat, ...]]:
    """``(reason, files)``: ``reason`` is None when importing the source at ``path`` (of identity ``stat``) runs
    code compiled from it -- no cached bytecode, or bytecode the import would not use, or bytecode equal to the
    source's compiled code; ``files`` is what that answer rests on (the .pyc, or the directory one would appear
    in), for the caches. Only ``.py`` sources have cached bytecode."""
    import importlib.util

    if not path.endswith(".py"):
        return None, ()
    try:
        cache = importlib.util.cache_from_source(path)
    except (NotImplementedError, ValueError):
        return None, ()  # no cache tag: the import never uses cached bytecode
    try:
        pyc = file_stat(cache)
    except OSError:
        for folder in (os.path.dirname(cache), os.path.dirname(path)):
            with contextlib.suppress(OSError):
                return None, (file_stat(folder),)  # a .pyc written there later changes its mtime
        return "cannot stat the directory its cached bytecode would be in", ()
    key = (stat, pyc)
    with _BYTECODE_LOCK:
        agrees = _BYTECODE.get(key)
    if agrees is None:
        agrees = _bytecode_agrees(path, cache, stat)
        with _BYTECODE_LOCK:
            _BYTECODE[key] = agrees
            while len(_BYTECODE) > 4096:
                _BYTECODE.popitem(last=False)
    if not agrees:
        return (f"its cached bytecode {cache} is not compiled from this source (the import runs "
                "that, not the text read here)"), (pyc,)
    return None, (pyc,)


def _bytecode_agrees(path: str, cache: str, stat: FileStat) -> bool:
    """Whether the import would run code compiled from the source: as ``SourceLoader.get_code`` decides whether it
    uses ``cache`` (magic number, flags, then the timestamp and size or the source hash), then the code objects."""
    import _imp
    import importlib.util
    import marshal

    try:
        with open(cache, "rb") as handle:
            pyc = handle.read(4 * MAX_SOURCE_BYTES + 16)
        with open(path, "rb") as handle:
            data = handle.read(MAX_SOURCE_BYTES + 1)
    except OSError:
        return False
    if len(pyc) < 16 or pyc[:4] != importlib.util.MAGIC_NUMBER:
        return True  # the import recompiles the source
    flags = int.from_bytes(pyc[4:8], "little")
    if flags & ~0b11:
        return True  # invalid flags: recompiled
    if flags & 0b1:
        checked = _imp.check_hash_based_pycs != "never" and (
            bool(flags & 0b10) or _imp.check_hash_based_pycs == "always")
        if checked and _imp.source_hash(importlib.util._RAW_MAGIC_NUMBER, data) != pyc[8:16]:  # type: ignore[attr-defined]
            return True  # a stale checked .pyc: recompiled
    elif (int.from_bytes(pyc[8:12], "little") != (stat[1] // 1_000_000_000) & 0xFFFFFFFF
          or int.from_bytes(pyc[12:16], "little") != stat[2] & 0xFFFFFFFF):
        return True  # a stale timestamp .pyc: recompiled
    if len(data) > MAX_SOURCE_BYTES:
        return False
    try:
        code = marshal.loads(pyc[16:])  # noqa: S302 - the bytecode the import itself would load; never run
        return _same_code(code, compile(data, path, "exec", dont_inherit=True))
    except (SyntaxError, ValueError, TypeError, EOFError, RecursionError, MemoryError):
        return False


def _same_code(loaded: object, compiled: types.CodeType, depth: int = 0) -> bool:
    """``code ==`` (instructions, constants, names, locals, line and exception tables) plus what it leaves out and
    the interpreter still trusts (stack size, cell and free variables, local count), for nested code too."""
    if type(loaded) is not types.CodeType or loaded != compiled or depth > 200:
        return False
    if (loaded.co_stacksize, loaded.co_nlocals, loaded.co_varnames, loaded.co_cellvars, loaded.co_freevars,
            loaded.co_qualname) != (compiled.co_stacksize, compiled.co_nlocals, compiled.co_varnames,
                                    compiled.co_cellvars, compiled.co_freevars, compiled.co_qualname):
        return False
    nested = [c for c in compiled.co_consts if type(c) is types.CodeType]
    return all(_same_code(a, b, depth + 1) for a, b in zip(
        [c for c in loaded.co_consts if type(c) is types.CodeType], nested, strict=False))


# --- resolution --------------------------------------------------------------------------------------------

_MAX_CHAIN = 24


class Resolver:
    """Resolves dotted names and expressions to ``Ref`` records, reading modules from ``search_path`` only."""

    def __init__(self, search_path: Sequence[str] | None) -> None:
        self.search_path = search_path
        self._modules: dict[str, ModuleInfo | ModuleSource] = {}
        self._classes: dict[int, ClassModel | str] = {}
        self.files: set[FileStat] = set()
        #: per module: the first line of each unconditional top-level ``import a.b.c`` (and its prefixes)
        self._top_imports: dict[str, dict[str, int]] = {}

    # modules
    def module(self, name: str) -> ModuleInfo | ModuleSource:
        found = self._modules.get(name)
        if found is None:
            source = locate_module(tables.MODULE_ALIASES.get(name, name), self.search_path)
            parsed = parse_module(source) if source.analysable else None
            found = parsed if isinstance(parsed, ModuleInfo) else source
            if isinstance(found, ModuleInfo) and found.stat[0]:
                self.files.add(found.stat)
                self.files.update(found.bytecode)
            self._modules[name] = found
        return found

    def _is_submodule(self, parent: ModuleInfo, name: str) -> bool:
        if not parent.is_package:
            return False
        child = self.module(f"{parent.name}.{name}")
        return not (isinstance(child, ModuleSource) and child.kind == "missing")

    def _module_ref(self, name: str, chain: tuple[str, ...]) -> Ref:
        mod = self.module(name)
        if isinstance(mod, ModuleInfo):
            return Ref("module", name, mod, chain=chain)
        if mod.kind == "missing":
            return Ref("unknown", name, reason=f"module {name} not found", chain=chain)
        return Ref("external", name, reason=f"module {name} is {mod.kind}", chain=chain)

    def module_ref(self, name: str) -> Ref:
        """The module ``name`` as a reference (``import name`` binds it)."""
        return self._module_ref(name, ())

    def is_module(self, name: str) -> bool:
        found = self.module(name)
        return not (isinstance(found, ModuleSource) and found.kind == "missing")

    def from_import(self, module: str, name: str) -> Ref:
        """What ``from module import name`` binds: an attribute of the module, else its submodule."""
        ref = self.attribute(module, name)
        if ref.kind == "unknown" and "not defined" in ref.reason and self.is_module(f"{module}.{name}"):
            return self._module_ref(f"{module}.{name}", ())
        return ref

    def attribute(self, module: str, name: str, chain: tuple[str, ...] = ()) -> Ref:
        """``module.name`` as ``getattr(import_module(module), name)`` would find it after import."""
        dotted = f"{module}.{name}"
        if len(chain) > _MAX_CHAIN:
            return Ref("unknown", dotted, reason="re-export chain too long", chain=chain)
        if dotted in tables.SPECIAL_BASES:
            return Ref("special", dotted, chain=chain)
        mod = self.module(module)
        if isinstance(mod, ModuleSource):
            if mod.kind == "missing":
                return Ref("unknown", dotted, reason=f"module {module} not found", chain=chain)
            return Ref("external", dotted, reason=f"{module} is {mod.kind}", chain=chain)
        return self.name_in(mod, name, (*chain, module), outside=True)

    def name_in(self, mod: ModuleInfo, name: str, chain: tuple[str, ...] = (), *, outside: bool = False) -> Ref:
        """The module-level name ``name`` of ``mod``: as its own code sees it, or (``outside``) as an attribute
        of the module object once imported (a module that replaces itself in ``sys.modules`` has no static
        outside view)."""
        dotted = f"{mod.name}.{name}"
        alias = tables.STDLIB_TYPE_ALIASES.get(dotted)
        if alias is not None and is_stdlib_path(mod.path or ""):
            return Ref("builtin", f"builtins.{alias}", chain=chain)
        if outside and mod.self_replace_line is not None:
            target = _lazy_export(mod, name)
            if target is not None and (target, name) not in _pairs(chain):
                return self.attribute(target, name, (*chain, f"{target}:{name}"))
            return Ref("unknown", dotted, reason=f"{mod.name} replaces itself in sys.modules at line "
                       f"{mod.self_replace_line}: its namespace cannot be read statically", chain=chain)
        if name in mod.global_writes:
            return Ref("unknown", dotted, reason=f"{name} is rebound by a function (global) in {mod.name}",
                       chain=chain)
        found = mod.bindings.get(name)
        later_stars = [b for b in mod.bindings.get("*", []) if not found or b.lineno > found[-1].lineno]
        for star in reversed(later_stars):  # the last star import that exports the name wins at run time
            if (star.target, name) in _pairs(chain):
                return Ref("unknown", dotted, reason=f"import cycle through {star.target}", chain=chain)
            exported = self._star_exports(star.target, name)
            if exported is False:
                continue
            via_star = self.attribute(star.target, name, (*chain, f"{star.target}:{name}")) if exported else None
            if found and via_star is not None and not star.conditional and via_star.node is not None:
                local = self.binding(mod, name, found[-1], chain)
                if local.node is via_star.node:
                    return local  # the star import rebinds the name to the same definition
            if found or via_star is None or (star.conditional and not _if_else_stars(mod, star)):
                return Ref("unknown", dotted, reason=f"{name} may be rebound by 'from {star.target} import *' "
                           f"(line {star.lineno})", chain=chain)
            return via_star
        if found:
            last = found[-1]
            if last.conditional:
                # a star import before a conditional binding, outside its block: when the binding's branch does
                # not run, the name is whatever the star import bound (red team: the resolver used to read the
                # conditional ``def`` alone)
                for star in mod.bindings.get("*", []):
                    if star.lineno < last.lineno and not _same_block(mod, star.node, last.node) and (
                            self._star_exports(star.target, name) is not False):
                        return Ref("unknown", dotted, reason=f"{name} may be bound by 'from {star.target} import *' "
                                   f"(line {star.lineno}) when its conditional binding (line {last.lineno}) does not "
                                   "run", chain=chain)
            if (last.conditional and len(found) > 1) or last.kind == "other":
                branches = _if_else_classes(mod, found) or _try_import_or_none(mod, found)
                return Ref("unknown", dotted, module=mod, node=last.node, qualname=name,
                           reason=f"{name} is bound more than once or conditionally in {mod.name} "
                                  f"(line {last.lineno}): which binding holds cannot be decided statically",
                           chain=chain,
                           alternatives=tuple(self.binding(mod, name, b, chain) for b in branches))
            return self.binding(mod, name, last, chain)
        if outside and mod.getattr_line is not None:  # LOAD_GLOBAL in the module's own code never consults it
            return Ref("unknown", dotted, reason=f"{mod.name} has a module __getattr__ (line {mod.getattr_line})",
                       chain=chain)
        if mod.is_package and self._is_submodule(mod, name):
            return self._module_ref(dotted, chain)
        if name in vars(builtins) and not name.startswith("__"):
            return Ref("builtin", f"builtins.{name}", chain=chain)
        return Ref("unknown", dotted, reason=f"{name} is not defined in {mod.name}", chain=chain)

    def star_exports(self, module: str, name: str) -> bool | None:
        """Whether ``from module import *`` binds ``name`` (``None``: cannot be read statically)."""
        return self._star_exports(module, name)

    def _star_exports(self, module: str, name: str, seen: frozenset[str] = frozenset()) -> bool | None:
        """Whether ``from module import *`` binds ``name``: ``None`` when that cannot be read statically.
        A module without ``__all__`` re-exports what its own star imports bind (followed, cycles unreadable)."""
        if module in seen or len(seen) > 16:
            return None
        mod = self.module(module)
        if not isinstance(mod, ModuleInfo):
            generated = _compiled_star_exports(mod, name)
            if generated is not None or mod.kind == "missing":
                return generated
            if module in tables.STAR_EXPORTS_NO_BUILTINS and name in vars(builtins):
                return False  # reviewed: this compiled module's star import binds no builtin's name
            return None
        names = mod.bindings.get("__all__")
        if names:
            value = names[-1].value
            if len(names) == 1 and isinstance(value, ast.List | ast.Tuple) and all(
                    isinstance(e, ast.Constant) and isinstance(e.value, str) for e in value.elts):
                return name in {e.value for e in value.elts if isinstance(e, ast.Constant)}
            return None
        if name.startswith("_"):
            return False
        if name in mod.bindings:
            return True
        if mod.getattr_line is not None:
            return None
        verdict: bool | None = False
        for star in mod.bindings.get("*", []):
            inner = self._star_exports(star.target, name, seen | {module}) if star.target else None
            if inner is True:
                return True
            if inner is None:
                verdict = None
        return verdict

    def binding(self, mod: ModuleInfo, name: str, bind: Binding, chain: tuple[str, ...]) -> Ref:
        dotted = f"{mod.name}.{name}"
        if bind.kind == "class":
            return Ref("class", dotted, mod, bind.node, name, chain=chain)
        if bind.kind == "function":
            return Ref("function", dotted, mod, bind.node, name, chain=chain)
        if bind.kind == "import":
            return self._module_ref(bind.target, chain)
        if bind.kind == "from":
            if not bind.target:
                return Ref("unknown", dotted, reason="relative import beyond the top-level package", chain=chain)
            special = f"{bind.target}.{bind.attr}"
            if special in tables.SPECIAL_BASES:
                return Ref("special", special, chain=chain)
            target = self.module(bind.target)
            if isinstance(target, ModuleInfo) and target.is_package and self._is_submodule(target, bind.attr):
                # ``from pkg import sub``: the submodule, unless pkg binds that name to something else
                # (a binding that is itself ``from pkg import sub`` or ``from . import sub`` is the submodule)
                own = target.bindings.get(bind.attr)
                if not own or all(b.kind == "from" and b.target == bind.target and b.attr == bind.attr
                                  for b in own):
                    return self._module_ref(f"{bind.target}.{bind.attr}", chain)
            if (bind.target, bind.attr) in _pairs(chain):
                return Ref("unknown", dotted, reason=f"import cycle through {bind.target}.{bind.attr}", chain=chain)
            return self.attribute(bind.target, bind.attr, (*chain, f"{bind.target}:{bind.attr}"))
        if bind.kind == "assign" and bind.value is not None:
            value = bind.value
            if isinstance(value, ast.Name | ast.Attribute):
                return self.expr(mod, value, chain=chain)
            if isinstance(value, ast.Call):
                callee = self.expr(mod, value.func, chain=chain)
                if callee.dotted in tables.LOGGER_FACTORIES:
                    return Ref("logger", dotted, mod, value, name, chain=chain)
                if callee.dotted in ("collections.namedtuple", "typing.NamedTuple"):
                    return Ref("namedtuple", dotted, mod, value, name, chain=chain)
            return Ref("value", dotted, mod, value, name, reason=f"{name} is a value computed at import "
                       f"(line {bind.lineno}), not a class or function", chain=chain)
        return Ref("unknown", dotted, mod, bind.node, name, reason=f"{name} is not statically bound", chain=chain)

    def expr(self, mod: ModuleInfo, node: ast.expr, chain: tuple[str, ...] = ()) -> Ref:
        """A module-level expression (a base, a decorator, a callee) resolved in ``mod``'s namespace."""
        if isinstance(node, ast.Name):
            return self.name_in(mod, node.id, chain)
        if isinstance(node, ast.Attribute):
            base = self.expr(mod, node.value, chain)
            if base.kind == "module":
                sub = self._imported_submodule(mod, base.dotted, node.attr, node.lineno, chain)
                if sub is not None:
                    return sub
            return self.member(base, node.attr)
        if isinstance(node, ast.Subscript):
            base = self.expr(mod, node.value, chain)
            if base.kind == "special":
                return base
            if base.kind == "class" and self.plain_generic(base):
                return base  # typing's _GenericAlias.__mro_entries__ gives back the class itself
            if base.kind == "builtin" and base.dotted.removeprefix("builtins.") in tables.GENERIC_BUILTINS:
                return base  # dict[str, int]: types.GenericAlias, whose __mro_entries__ gives back dict
            return Ref("unknown", base.dotted + "[...]", reason="a subscripted generic alias", chain=chain)
        return Ref("unknown", ast.unparse(node)[:80], reason="not a plain name", chain=chain)

    def _imported_submodule(self, mod: ModuleInfo, package: str, attr: str, line: int,
                            chain: tuple[str, ...]) -> Ref | None:
        """``package.attr`` on ``line`` of ``mod``, after (on an earlier line) ``mod``'s own unconditional top-level
        ``import package.attr[...]``:
        the import system set the submodule as that attribute of the package (``_find_and_load_unlocked``), so
        the package's module ``__getattr__`` never runs for it. Only when the package's source binds nothing
        under that name (no binding, no star import, no ``global`` write, no replacement of itself in
        ``sys.modules``) that could have replaced the attribute; else ``None`` (the ordinary rules apply)."""
        dotted = f"{package}.{attr}"
        imports = self._top_imports.get(mod.name)
        if imports is None:
            imports = self._top_imports[mod.name] = {}
            for stmt in mod.tree.body:
                if isinstance(stmt, ast.Import):
                    for alias in stmt.names:
                        if alias.asname is None:
                            parts = alias.name.split(".")
                            for end in range(2, len(parts) + 1):
                                imports.setdefault(".".join(parts[:end]), stmt.lineno)
        first = imports.get(dotted)
        if first is None or first >= line:
            return None
        pkg = self.module(package)
        if not isinstance(pkg, ModuleInfo) or not pkg.is_package or pkg.self_replace_line is not None:
            return None
        if attr in pkg.bindings or pkg.star_imports or pkg.bindings.get("*") or attr in pkg.global_writes:
            return None
        if not self._is_submodule(pkg, attr):
            return None
        return self._module_ref(dotted, chain)

    def member(self, base: Ref, attr: str) -> Ref:
        module_or_none = _module_or_none(base)
        if module_or_none is not None and not hasattr(None, attr):
            # ``try: import X`` / ``except ...: X = None``: ``X.attr`` is the module's attribute, or raises
            # AttributeError on None (None has no attribute of that name: nothing else runs)
            return self.member(module_or_none, attr)
        if base.kind == "module":
            return self.attribute(base.dotted, attr, base.chain)
        if base.kind == "class" and base.module is not None and isinstance(base.node, ast.ClassDef):
            inner: dict[str, list[Binding]] = {}
            collect_bindings(base.node.body, base.module.name, False, inner, [])
            found = inner.get(attr)
            qual = f"{base.qualname}.{attr}"
            if found and not found[-1].conditional:
                b = found[-1]
                if b.kind == "class":
                    return Ref("class", f"{base.module.name}.{qual}", base.module, b.node, qual, chain=base.chain)
                if b.kind == "function":
                    return Ref("function", f"{base.module.name}.{qual}", base.module, b.node, qual,
                               chain=base.chain)
            return Ref("unknown", f"{base.dotted}.{attr}", reason=f"{attr} is not a plain class-level def of "
                       f"{base.dotted}", chain=base.chain)
        special = f"{base.dotted}.{attr}"
        if special in tables.SPECIAL_BASES:
            return Ref("special", special, chain=base.chain)
        if base.kind in ("builtin", "external", "special"):
            return Ref("external" if base.kind != "builtin" else "builtin", f"{base.dotted}.{attr}",
                       reason=base.reason, chain=base.chain)
        return Ref("unknown", f"{base.dotted}.{attr}", reason=base.reason or "not a module or class",
                   chain=base.chain)

    def qualname(self, module: str, qualname: str) -> Ref:
        """``module`` + dotted ``qualname`` the way pickle's ``find_class`` walks it (getattr per component)."""
        parts = qualname.split(".")
        if not all(p.isidentifier() for p in parts):
            return Ref("unknown", f"{module}.{qualname}", reason="not a valid qualified name")
        ref = self.attribute(module, parts[0])
        for part in parts[1:]:
            if part.startswith("__") and part.endswith("__"):
                return Ref("unknown", f"{module}.{qualname}", reason="a dunder attribute in the name")
            if ref.kind == "class":
                # find_class walks getattr(Outer, "Inner"): a custom metaclass attribute hook runs for it
                model = self.class_model(ref)
                meta = model.metaclass if isinstance(model, ClassModel) else None
                if not isinstance(model, ClassModel) or (isinstance(meta, ClassModel) and any(
                        isinstance(p, ClassModel) and (p.own("__getattribute__") or p.own("__getattr__"))
                        for p in meta.mro)):
                    return Ref("unknown", f"{module}.{qualname}", reason=f"looking {part} up on {ref.dotted} runs "
                               "its metaclass' attribute hooks")
            ref = self.member(ref, part)
        return ref

    def plain_generic(self, ref: Ref) -> bool:
        """``C[int]`` is ``C`` as a base when nothing in C's MRO read from source defines ``__class_getitem__``
        (typing.Generic's does; a custom one would run at import and could return anything)."""
        model = self.class_model(ref)
        if not isinstance(model, ClassModel):
            return False
        generic = False
        meta = model.metaclass
        if isinstance(meta, ClassModel) and any(isinstance(p, ClassModel) and p.own("__getitem__") is not None
                                                for p in meta.mro):
            return False  # type(C).__getitem__ runs instead of __class_getitem__
        if isinstance(meta, Ref) and meta.dotted not in tables.KNOWN_METACLASSES:
            return False  # an unreadable metaclass may define __getitem__
        for part in model.mro:
            if isinstance(part, ClassModel):
                hook = part.own("__class_getitem__")
                if hook is not None and not generic and part.own("__mro_entries__") is None \
                        and stdlib_generic_alias_hook(part, "__class_getitem__", hook) \
                        and isinstance(hook.value, ast.Call) and isinstance(hook.value.args[0], ast.Name) \
                        and hook.value.args[0].id == "GenericAlias":
                    return True  # collections.UserList[T]: a types.GenericAlias, whose __mro_entries__ is (C,)
                if hook is not None or part.own("__mro_entries__") is not None:
                    return False
            elif part.kind == "special" and part.tag == "transparent":
                generic = True
            elif part.kind == "external":
                return False
        return generic

    # classes
    def class_model(self, ref: Ref, depth: int = 0) -> ClassModel | str:
        """The class model of a ``class`` reference, or a reason it cannot be built."""
        if ref.module is None or not isinstance(ref.node, ast.ClassDef):
            return f"{ref.dotted} is not a class read from source"
        key = id(ref.node)
        cached = self._classes.get(key)
        if cached is not None:
            return cached
        if depth > 40:
            return "class hierarchy too deep"
        self._classes[key] = "cyclic class hierarchy"
        result = self._build_class(ref, depth)
        self._classes[key] = result
        return result

    def _base(self, mod: ModuleInfo, expr: ast.expr, depth: int) -> ClassModel | Leaf:
        if isinstance(expr, ast.Call):
            callee = self.expr(mod, expr.func)
            if callee.dotted in ("collections.namedtuple", "typing.NamedTuple"):
                return Leaf(callee.dotted, "special", "namedtuple")
            return Leaf(ast.unparse(expr)[:80], "external", reason="a base computed by a call")
        ref = self.expr(mod, expr)
        return self._leaf_or_model(ref, depth)

    def _leaf_or_model(self, ref: Ref, depth: int) -> ClassModel | Leaf:
        if ref.kind == "special":
            return Leaf(ref.dotted, "special", tables.SPECIAL_BASES[ref.dotted])
        if ref.kind == "builtin":
            name = ref.dotted.removeprefix("builtins.")
            if name in tables.BUILTIN_BASES:
                return Leaf(ref.dotted, "builtin")
            return Leaf(ref.dotted, "external", reason=f"builtin {name} is not a modelled base")
        if ref.kind == "class":
            model = self.class_model(ref, depth + 1)
            if isinstance(model, ClassModel):
                return model
            return Leaf(ref.dotted, "external", reason=model)
        if ref.kind == "namedtuple":
            return Leaf(ref.dotted, "special", "namedtuple")
        return Leaf(ref.dotted, "external", reason=ref.reason or f"{ref.kind}")

    def _build_class(self, ref: Ref, depth: int) -> ClassModel | str:
        if ref.module is None or not isinstance(ref.node, ast.ClassDef):
            return f"{ref.dotted} is not a class read from source"
        node, mod = ref.node, ref.module
        body: dict[str, list[Binding]] = {}
        collect_bindings(node.body, mod.name, False, body, [])
        bases = [self._base(mod, b, depth) for b in node.bases if not isinstance(b, ast.Starred)]
        problems: list[tuple[str, str | None]] = []
        if any(isinstance(b, ast.Starred) for b in node.bases):
            problems.append(("bases computed with *args", mod.where(node.lineno, ref.qualname)))
        metaclass: Ref | ClassModel | None = None
        for kw in node.keywords:
            if kw.arg == "metaclass":
                mref = self.expr(mod, kw.value)
                if mref.kind == "class":
                    built = self.class_model(mref, depth + 1)
                    metaclass = built if isinstance(built, ClassModel) else Ref("unknown", mref.dotted,
                                                                                 reason=str(built))
                else:
                    metaclass = mref
            elif kw.arg is None:
                problems.append(("class keywords computed with **kwargs", mod.where(node.lineno, ref.qualname)))
        if metaclass is None:
            for base in bases:
                if isinstance(base, ClassModel) and base.metaclass is not None:
                    metaclass = base.metaclass
                    break
        mro = _c3(bases, ref.dotted)
        decorators = [(d, self.expr(mod, d.func if isinstance(d, ast.Call) else d)) for d in node.decorator_list]
        model = ClassModel(ref, node, mod, body, bases, [], metaclass, decorators, problems=problems)
        if isinstance(mro, str):
            problems.append((mro, mod.where(node.lineno, ref.qualname)))
            model.mro = [model, *bases]
        else:
            model.mro = [model, *mro]
        for expr, dref in decorators:
            opts = _decorator_options(expr)
            if dref.dotted == "dataclasses.dataclass":
                model.dataclass_opts = {"init": True, "eq": True, "frozen": False, "unsafe_hash": False,
                                        "slots": False, **opts}
            elif dref.dotted in _ATTRS_DECORATORS:
                modern = dref.dotted.split(".")[-1] in ("define", "frozen", "mutable")
                model.attrs_opts = {"slots": modern, "frozen": dref.dotted.endswith("frozen"), "init": True,
                                    **opts}
        return model


def _lazy_export(mod: ModuleInfo, name: str) -> str | None:
    """The submodule a reviewed lazy package (``tables.REVIEWED_LAZY_MODULES``) serves ``name`` from, while its
    ``__init__.py`` is the reviewed text."""
    review = tables.REVIEWED_LAZY_MODULES.get(mod.name)
    if review is None or name not in review[1]:
        return None
    from safeload.catalog.source_reviews import file_digest

    return review[1][name] if file_digest(mod) == review[0] else None


def as_model(node: ClassModel | Leaf) -> ClassModel:
    """The class a lookup found a binding in (``Resolver``'s lookups only return bindings of source classes)."""
    if isinstance(node, ClassModel):
        return node
    raise TypeError(f"internal: {node.dotted} is not a class read from source")


def _pairs(chain: tuple[str, ...]) -> set[tuple[str, str]]:
    return {(c.partition(":")[0], c.partition(":")[2]) for c in chain if ":" in c}


_ATTRS_DECORATORS = frozenset(
    "attr.s attr.attrs attr.define attr.frozen attr.mutable attr.dataclass attrs.define attrs.frozen "
    "attrs.mutable attr._make.attrs attr._next_gen.define attr._next_gen.frozen attr._next_gen.mutable".split())
ATTRS_DECORATORS = _ATTRS_DECORATORS


def _decorator_options(expr: ast.expr) -> dict[str, bool]:
    opts: dict[str, bool] = {}
    if isinstance(expr, ast.Call):
        for kw in expr.keywords:
            if kw.arg and isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, bool):
                opts[kw.arg] = kw.value.value
            elif kw.arg:
                opts[kw.arg + "?"] = True
    return opts


def _key(node: ClassModel | Leaf) -> str:
    return node.dotted


_SPECIAL_MIXIN = {"enum.IntEnum": "int", "enum.IntFlag": "int", "enum.StrEnum": "str"}
_TAG_MIXIN = {"namedtuple": "tuple", "typeddict": "dict"}


def _linearization(node: ClassModel | Leaf) -> list[ClassModel | Leaf]:
    if isinstance(node, ClassModel):
        return list(node.mro)
    pytype = node.builtin_type
    if pytype is not None:
        return [Leaf(f"builtins.{t.__name__}", "builtin") for t in pytype.__mro__]
    mixin = _SPECIAL_MIXIN.get(node.dotted) or _TAG_MIXIN.get(node.tag)
    if node.kind == "special" and mixin:
        return [node, Leaf(f"builtins.{mixin}", "builtin"), Leaf("builtins.object", "builtin")]
    return [node, Leaf("builtins.object", "builtin")]


def _c3(bases: Iterable[ClassModel | Leaf], name: str) -> list[ClassModel | Leaf] | str:
    bases = list(bases)
    if not bases:
        return [Leaf("builtins.object", "builtin")]
    seqs = [_linearization(b) for b in bases]
    seqs.append(list(bases))
    result: list[ClassModel | Leaf] = []
    seqs = [s for s in seqs if s]
    for _ in range(10_000):
        seqs = [s for s in seqs if s]
        if not seqs:
            return result
        for seq in seqs:
            head = _key(seq[0])
            if not any(head in (_key(n) for n in s[1:]) for s in seqs):
                chosen = seq[0]
                break
        else:
            return f"no consistent MRO for {name}"
        result.append(chosen)
        for seq in seqs:
            if seq and _key(seq[0]) == _key(chosen):
                del seq[0]
    return f"MRO of {name} too long"


def stdlib_generic_alias_hook(owner: ClassModel, name: str, binding: Binding) -> bool:
    """CPython's own ``__class_getitem__ = classmethod(GenericAlias)`` (``_collections_abc``, ``queue``,
    ``os.PathLike``...): ``C[X]`` builds a ``types.GenericAlias`` of the class and the subscript, nothing else.
    Only in a stdlib module, where ``GenericAlias`` is ``types.GenericAlias`` (imported, or
    ``type(list[int])`` in ``_collections_abc``)."""
    if name != "__class_getitem__" or binding.kind != "assign" or binding.value is None:
        return False
    value = binding.value
    if not (isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id == "classmethod"
            and not value.keywords and len(value.args) == 1 and isinstance(value.args[0], ast.Name)):
        return False
    alias = value.args[0].id
    # _collections_abc's Callable: _CallableGenericAlias.__new__ (CPython 3.11-3.13) checks the subscript's shape
    # (isinstance, len, _is_param_expr: reads type(obj).__module__/__name__), flattens it into a tuple and calls
    # GenericAlias.__new__: type construction only
    if alias != "GenericAlias" and not (alias == "_CallableGenericAlias" and owner.module.name == "_collections_abc"):
        return False
    path = owner.module.path
    return bool(path) and is_stdlib_path(path)
