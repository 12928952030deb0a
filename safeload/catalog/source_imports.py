"""What importing a module runs: the deny table, the library-root rule, and the top level of every module on
the dotted path (``a/__init__.py``, ``a/b/__init__.py``, ``a/b/c.py``).

Invariant: the environment is trusted and the file is not. The file chooses *which* installed module gets
imported, so a module is inert to import only when it is library code (under the stdlib or a site/dist-packages
directory, not a test, script, demo or entry point) and its top level only defines, imports, assigns and calls
reviewed-benign or analysed-inert code, and every module those top levels import (transitively) is, in turn.
A catalogue vouch (``catalog(module, Use.IMPORT)``) covers that module's own top level; the modules it imports
are covered only when the reviewed closure table says its whole closure stays inside reviewed territory
(``catalog/closure.py``), and are otherwise checked on their own. Nothing is imported.
"""

from __future__ import annotations

import ast
import builtins
import hashlib
import os
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

from safeload.catalog import source_tables as tables
from safeload.catalog.closure import closure_covered
from safeload.catalog.plugins import IMPORT_TIME_PLUGINS, declared
from safeload.catalog.source_effects import (
    Effects,
    Fail,
    Outcome,
    _first_param,
    _Frame,
    _identity_problem,
    _returned_def,
    option_only_factory,
)
from safeload.catalog.source_files import FileStat
from safeload.catalog.source_locate import is_stdlib_path
from safeload.catalog.source_model import (
    Binding,
    ClassModel,
    Leaf,
    ModuleInfo,
    Ref,
    Resolver,
    _guards_rebound,
    _is_main_guard,
    _is_not_type_checking,
    _is_type_checking,
    file_stat,
)
from safeload.catalog.source_reviews import def_digest, file_digest
from safeload.catalog.uses import Use

__all__ = ["REVIEWED_DYNAMIC_IMPORTS", "called_function_imports", "dynamic_import_statements", "import_effects",
           "package_children", "reviewed_subclass_hook", "star_all", "static_imports", "top_level_imports"]


def _under(path: str, roots: tuple[str, ...]) -> bool:
    real = os.path.realpath(path)
    return any(real == r or real.startswith(r + os.sep) for r in roots)


#: Bound on the modules one import's closure may reach (each is parsed): beyond it, not inert.
_MAX_CLOSURE = 4000

#: R2-1: a vouched module's imports are covered only when the reviewed closure table says they stay inside
#: reviewed territory, and are followed otherwise. On by default; ``SAFELOAD_STRICT_IMPORTS=0`` switches it off (a
#: vouch then covers what its modules import: R2-1 open). Read once per process: the in-memory analysis caches do
#: not key on it (the scan cache does, ``integrity/cache.py``).
STRICT_IMPORTS = os.environ.get("SAFELOAD_STRICT_IMPORTS", "").strip() != "0"


def import_effects(module: str, resolver: Resolver, effects: Effects, roots: tuple[str, ...]) -> Outcome:
    """Whether ``import module`` is inert: the module, its parent packages and, transitively, every module
    their top levels import (an import runs the imported module's top level too)."""
    module = tables.MODULE_ALIASES.get(module, module)
    parts = module.split(".")
    for depth in range(1, len(parts) + 1):
        name = ".".join(parts[:depth])
        reason = tables.denied_module_reason(name)
        if reason is not None:
            return Outcome(False, f"{name} is never imported by a load: {reason}")
    queue: list[tuple[str, bool, str]] = [(module, False, "")]
    seen: set[str] = set()
    while queue:
        target, optional, via = queue.pop(0)
        tparts = target.split(".")
        for depth in range(1, len(tparts) + 1):
            name = ".".join(tparts[:depth])
            if name in seen:
                continue
            seen.add(name)
            if len(seen) > _MAX_CLOSURE:
                return Outcome(False, f"importing {module} reaches more than {_MAX_CLOSURE} modules: not "
                               "analysed")
            outcome, deps = _one_module(name, resolver, effects, roots, dep=bool(via), optional=optional)
            if not outcome.inert:
                return Outcome(False, outcome.reason + (f" (imported by {via})" if via else ""), outcome.where)
            # a module reached through a guarded import (`try: from .iter_vaex import ... except ImportError`)
            # passes an ImportError of its own unguarded imports up to that guard: for it too a missing module
            # means the import raises there and nothing after it runs
            queue.extend((dep, opt or optional, name) for dep, opt in deps)
    return Outcome(True, "every module the import runs (the dotted path and, transitively, the modules their "
                   "top levels import) only defines, imports and calls reviewed or analysed-inert code")


def _one_module(name: str, resolver: Resolver, effects: Effects, roots: tuple[str, ...], *, dep: bool,
                optional: bool) -> tuple[Outcome, list[tuple[str, bool]]]:
    """The verdict on ``name``'s own top level and the modules it imports (``(module, optional)``).
    ``dep``: reached through another module's import (not the name the file gives)."""
    ok = Outcome(True, "")
    vouched = effects.catalog is not None and effects.catalog(name, Use.IMPORT) is True
    reason = tables.denied_module_reason(name)
    if reason is not None and not (dep and vouched):  # a reviewed package may import its own test helpers
        return Outcome(False, f"{name} is never imported by a load: {reason}"), []
    mod = resolver.module(name)
    if isinstance(mod, ModuleInfo):
        changed = _named_like_tests_changed(name, mod)
        if changed is not None:
            return Outcome(False, changed, mod.where(1)), []
    if not isinstance(mod, ModuleInfo):
        if dep and (mod.kind in ("builtin", "frozen") or (mod.origin and is_stdlib_path(mod.origin))):
            return ok, []  # the interpreter's own and the stdlib's compiled modules are trusted like its source
        if dep and mod.kind == "missing" and (optional or name.split(".", 1)[0] in sys.stdlib_module_names):
            return ok, []  # a guarded optional import of an absent module raises ImportError: nothing runs
        if dep and vouched:
            return ok, []  # a reviewed package's own compiled module (or a submodule of one: torch._C._autograd)
        # that exact binary's import was read (REVIEWED_COMPILED_IMPORTS). A module whose init registers
        # submodules is also imported on the way to a name of one of them that the file gives (the name itself
        # is judged per use: the catalogue must decide)
        registers = name in tables.COMPILED_REGISTERED_SUBMODULES
        if (dep or registers) and mod.kind == "compiled" and mod.origin \
                and _compiled_import_reviewed(name, mod.origin, resolver):
            return ok, []
        parent, _, child = name.rpartition(".")
        if mod.kind == "missing" and child in tables.COMPILED_REGISTERED_SUBMODULES.get(parent, ()):
            # `import river._river_rust.stats`: importing the parent first runs its reviewed init, which stores
            # that submodule in sys.modules, where the import system then finds it (no file is searched)
            top = resolver.module(parent)
            if not isinstance(top, ModuleInfo) and top.kind == "compiled" and top.origin \
                    and _compiled_import_reviewed(parent, top.origin, resolver):
                return ok, [(parent, False)]
        return Outcome(False, f"importing {name}: the module is {mod.kind} (its import runs code that cannot be"
                       " read)" if mod.kind != "missing" else f"module {name} not found in the environment"), []
    location = mod.path or (mod.source.search_locations[0] if mod.source.search_locations else "")
    if not location or not _under(location, roots):
        return Outcome(False, f"{name} is not under the stdlib or a site-packages directory: not installed "
                       "library code", mod.where(1) if mod.path else location), []
    if mod.source.kind == "namespace":
        return ok, []
    if is_stdlib_path(location):
        return ok, []  # the stdlib's top levels are trusted; its side-effect modules are in the deny table
    memo = effects.module_memo.get(name)
    if memo is None:
        plugins = _plugins_loaded(name, resolver) if vouched else ""
        if plugins:
            memo = (Outcome(False, plugins), [])
        elif vouched:
            # The vouch covers this module's own top level. What it imports is covered only when the reviewed
            # closure table says the whole closure stays inside reviewed territory (one lookup; walking a vouched
            # package's closure here cost tens of seconds per cold scan). Otherwise its imports are followed
            # like any other module's: pandas.plotting._matplotlib reaches matplotlib, which is analysed.
            covered = not STRICT_IMPORTS or closure_covered(name, resolver.search_path)[0]
            if STRICT_IMPORTS:  # the answer rests on what the path's directories hold (red team R9-4)
                resolver.files.update(_path_directories(resolver.search_path))
            memo = (ok, []) if covered else (ok, static_imports(mod, resolver, calls=True))
        else:
            deps = static_imports(mod, resolver)
            result = module_top_level(mod, effects)
            memo = (Outcome(False, f"importing {name} runs more than definitions: {result.reason}", result.where)
                    if not result.inert else ok, deps)
        effects.module_memo[name] = memo
    return memo


def _named_like_tests_changed(name: str, mod: ModuleInfo) -> str | None:
    """Why ``name``, a library module named like a test whose review is bound to its text
    (``tables.NAMED_LIKE_TESTS_DIGESTS``), is not the text read (then the name rule applies again), else None."""
    digest = tables.NAMED_LIKE_TESTS_DIGESTS.get(name)
    if digest is None or name not in tables.LIBRARY_MODULES_NAMED_LIKE_TESTS:
        return None
    if mod.path is None or file_digest(mod) != digest:
        return (f"{name} is never imported by a load: a test package or test module (its review as library code "
                "holds for another text of the file)")
    return None


def _path_directories(search_path: Sequence[str] | None) -> list[FileStat]:
    """The search path's directories (and archives): installing a package adds an entry to one, which changes
    its identity, so an analysis cached on them is redone (``closure_covered`` asks which packages are there)."""
    out: list[FileStat] = []
    for entry in sys.path if search_path is None else search_path:
        try:
            out.append(file_stat(str(entry) or os.curdir))
        except (OSError, ValueError):
            continue
    return out


def _plugins_loaded(name: str, resolver: Resolver) -> str:
    """Why importing vouched ``name`` is not inert because its own top level loads and calls installed entry
    points (``catalog/plugins.py``, red team R8-1), else ""."""
    if name not in IMPORT_TIME_PLUGINS:
        return ""
    groups, _why = IMPORT_TIME_PLUGINS[name]
    found = [p for group in groups for p in declared(group, resolver.search_path)]
    if not found:
        return ""
    shown = ", ".join(f"{p.name} = {p.value} ({p.distribution})" for p in found[:3])
    return (f"importing {name} loads and calls the installed {found[0].group} entry points ({shown}): code no "
            "review read")


#: Largest extension file hashed for ``REVIEWED_COMPILED_IMPORTS`` (bigger ones are not reviewed: refused).
_MAX_COMPILED_BYTES = 256 * 1024 * 1024
_compiled_digests: dict[FileStat, str] = {}


def _compiled_import_reviewed(name: str, origin: str, resolver: Resolver) -> bool:
    """Whether the extension file at ``origin`` is, byte for byte (SHA-256), a build of ``name`` whose import a
    reviewer read. The file is recorded among those the analysis rests on (the scan cache revalidates it)."""
    reviewed = tables.REVIEWED_COMPILED_IMPORTS.get(name)
    if not reviewed:
        return False
    try:
        stat = file_stat(origin)
        digest = _compiled_digests.get(stat)
        if digest is None:
            if stat[2] > _MAX_COMPILED_BYTES:
                return False
            hasher = hashlib.sha256()
            with open(origin, "rb") as handle:
                while chunk := handle.read(1 << 20):
                    hasher.update(chunk)
            if file_stat(origin, fresh=True) != stat:  # rewritten while read: not the bytes hashed
                return False
            digest = "sha256:" + hasher.hexdigest()
            if len(_compiled_digests) > 256:
                _compiled_digests.clear()
            _compiled_digests[stat] = digest
    except OSError:
        return False
    if digest not in reviewed:
        return False
    resolver.files.add(stat)
    return True


def star_all(tree: ast.Module) -> tuple[str, list[str]]:
    """How ``from pkg import *`` reads ``pkg``'s ``__all__`` (``tree``: its ``__init__``), shared by the scan-time
    walk and the closure generator: ``("absent", [])`` when the module never mentions ``__all__`` (a star import
    then imports no submodule: it copies the public names the package already bound); ``("literal", names)`` for
    one assignment of a literal list/tuple of strings and no other mention that may change it; ``("extended",
    names)`` when that literal is then grown (``__all__ += [...]``, ``__all__.extend(...)``/``.append``, any
    method of it, a subscript store): which names it ends with is not read, so every submodule may be named;
    ``("computed", [])`` otherwise (``__all__`` built from code, assigned twice, ``globals()["__all__"]``)."""
    literal: list[str] | None = None
    stores = 0
    grown = False
    other = False
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
                stores += 1
                value = node.value
                if len(targets) == 1 and isinstance(value, ast.List | ast.Tuple) and all(
                        isinstance(e, ast.Constant) and isinstance(e.value, str) for e in value.elts):
                    literal = [str(e.value) for e in value.elts if isinstance(e, ast.Constant)]
                else:
                    other = True
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name) and node.target.id == "__all__":
            grown = True
        elif isinstance(node, ast.Attribute | ast.Subscript) and isinstance(node.value, ast.Name) \
                and node.value.id == "__all__":
            grown = True  # __all__.extend(...), __all__.append(...), __all__[:] = ...
        elif (isinstance(node, ast.Name) and node.id == "__all__" and isinstance(node.ctx, ast.Del)) or (
                isinstance(node, ast.Global | ast.Nonlocal) and "__all__" in node.names) or (
                isinstance(node, ast.Constant) and node.value == "__all__"):
            other = True  # del, a function's global, globals()["__all__"], setattr(module, "__all__", ...)
    if stores == 0 and not grown and not other:
        return "absent", []
    if other or stores != 1 or literal is None:
        return "computed", []
    return ("extended" if grown else "literal"), literal


def package_children(search_locations: Iterable[str]) -> list[tuple[str, str]]:
    """(name, "module" | "package") of the direct submodules in a package's directories."""
    out: dict[str, str] = {}
    for location in search_locations:
        try:
            entries = sorted(os.scandir(location), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            stem = entry.name.split(".", 1)[0]
            if not stem.isidentifier():
                continue
            if entry.is_dir(follow_symlinks=False):
                if stem != "__pycache__":
                    out.setdefault(stem, "package")
            elif entry.name.endswith((".py", ".so", ".pyd", ".pyc")) and stem != "__init__":
                out.setdefault(stem, "module")
    return sorted(out.items())


def _star_submodules(package: ModuleInfo | object, base: str, resolver: Resolver) -> list[str]:
    """``from pkg import *`` imports every submodule named in ``pkg.__all__`` (``star_all``): none without an
    ``__all__``, every submodule when a literal ``__all__`` is grown afterwards; an ``__all__`` computed otherwise
    gives an unresolvable name (not inert)."""
    if not isinstance(package, ModuleInfo) or base.split(".", 1)[0] in sys.stdlib_module_names:
        return []  # the stdlib is trusted like the interpreter (its submodules are stdlib too)
    kind, names = star_all(package.tree)
    if kind == "computed":
        return [f"<{base}.__all__ is computed>"]
    if kind == "extended":
        names = [child for child, _kind in package_children(package.source.search_locations)]
    return [f"{base}.{n}" for n in names if resolver.is_module(f"{base}.{n}")]


def static_imports(mod: ModuleInfo, resolver: Resolver, *, calls: bool = False) -> list[tuple[str, bool]]:
    """Every module an import statement of ``mod``'s top level imports (see ``top_level_imports``); with
    ``calls``, also those in the functions its top level calls (``called_function_imports``: the top level
    itself is not analysed then, so the imports its calls run are read the way the closure generator does)."""

    def is_package(base: str) -> bool:
        package = resolver.module(base)
        return (isinstance(package, ModuleInfo) and package.is_package) or (
            not isinstance(package, ModuleInfo) and package.kind == "namespace")

    body = [*mod.tree.body, *called_function_imports(mod.tree), *dynamic_import_statements(mod.name)] if calls \
        else [*mod.tree.body, *dynamic_import_statements(mod.name)]
    return top_level_imports(body, mod.name, mod.is_package, is_package, resolver.is_module,
                             lambda base: _star_submodules(resolver.module(base), base, resolver))


def top_level_imports(body: list[ast.stmt], name: str, package: bool, is_package: Callable[[str], bool],  # noqa: PLR0917
                      is_module: Callable[[str], bool], star: Callable[[str], list[str]]) -> list[tuple[str, bool]]:
    """Every module an import statement of a module's top level (``body`` of module ``name``; and class bodies,
    and every branch, loop and ``try`` of it; not function bodies, nor ``if TYPE_CHECKING``/``__main__``
    bodies) imports, with whether the statement is guarded (inside an ``if``, ``try`` or ``with``: an absent module
    there is an optional dependency). ``from pkg import name`` imports ``pkg`` and, when it is a submodule,
    ``pkg.name``; ``from pkg import *`` the submodules ``star(pkg)`` names. Shared by the scan-time walk and
    the generator of the reviewed closures (``catalog/_gen/closure.py``) so both read imports the same way."""
    from safeload.catalog.source_model import absolute_module

    out: list[tuple[str, bool]] = []

    def walk(stmts: list[ast.stmt], guarded: bool) -> None:
        for stmt in stmts:
            if isinstance(stmt, ast.Import):
                out.extend((alias.name, guarded) for alias in stmt.names)
            elif isinstance(stmt, ast.ImportFrom):
                base = absolute_module(name, package, stmt.level, stmt.module)
                if base is None:
                    continue  # raises ImportError at import
                out.append((base, guarded))
                if is_package(base):
                    out.extend((f"{base}.{a.name}", guarded) for a in stmt.names
                               if a.name != "*" and is_module(f"{base}.{a.name}"))
                    if any(a.name == "*" for a in stmt.names):
                        out.extend((sub, guarded) for sub in star(base))
            elif isinstance(stmt, ast.If):
                if not (_is_type_checking(stmt.test) or _is_main_guard(stmt.test)):
                    walk(stmt.body, True)
                if not _is_not_type_checking(stmt.test):
                    walk(stmt.orelse, True)
            elif isinstance(stmt, ast.Try | ast.TryStar):
                walk(stmt.body, True)
                for handler in stmt.handlers:
                    walk(handler.body, True)
                walk(stmt.orelse, True)
                walk(stmt.finalbody, guarded)
            elif isinstance(stmt, ast.ClassDef):
                walk(stmt.body, guarded)
            elif isinstance(stmt, ast.With | ast.AsyncWith):
                # a context manager may suppress the ImportError (optuna's try_import, contextlib.suppress)
                walk(stmt.body, True)
            elif isinstance(stmt, ast.For | ast.AsyncFor | ast.While):
                walk(stmt.body, True)
                walk(stmt.orelse, True)
            elif isinstance(stmt, ast.Match):
                for case in stmt.cases:
                    walk(case.body, True)

    walk(body, False)
    return out


#: Modules whose import imports others by a *computed* name (invisible to ``called_function_imports``), as a
#: reader of the installed source found them: module -> (the modules imported, the note). ``<pkg>.*`` stands for
#: any submodule of ``pkg`` (a name chosen at run time): the closure generator records it as a leaf that counts
#: whenever any ``pkg`` is on the path, a namespace directory included (``catalog/closure._present``). Read by the
#: scan-time walks (``<pkg>.*`` aside) and the closure generator as guarded ``import`` statements (the importer
#: catches ImportError; listing more only checks more). tests/test_pint_import_review.py pins the files read.
REVIEWED_DYNAMIC_IMPORTS: dict[str, tuple[tuple[str, ...], str]] = {
    "tlz._build_tlz": (("cytoolz", "cytoolz.*"),
                       "toolz 1.2.0 tlz/_build_tlz.py: TlzLoader.exec_module(sys.modules['tlz']) at import runs "
                       "import_module(''.join(['cytoolz', dot, submodules])) before the toolz one, and TlzLoader (on "
                       "sys.meta_path) does the same for every tlz.<name> imported later: dask's `from tlz.curried "
                       "import map`, and `from tlz import curry` when tlz lacks curry (tlz built from a cytoolz "
                       "namespace directory has no names), import cytoolz.curried, cytoolz.curry: any cytoolz.<name>"),
}


def dynamic_import_statements(name: str, *, wildcards: bool = False) -> list[ast.stmt]:
    """``REVIEWED_DYNAMIC_IMPORTS[name]`` as guarded ``import`` statements (none for other modules; ``<pkg>.*``
    only with ``wildcards``)."""
    listed = REVIEWED_DYNAMIC_IMPORTS.get(name)
    if not listed:
        return []
    names = [ast.alias(name=module) for module in listed[0] if wildcards or not module.endswith(".*")]
    return [ast.Try(body=[ast.Import(names=[alias])],
                    handlers=[ast.ExceptHandler(type=ast.Name(id="ImportError", ctx=ast.Load()), name=None,
                                                body=[ast.Pass()])],
                    orelse=[], finalbody=[]) for alias in names]


#: Calls that import the module their first argument names (a string literal): ``importlib.import_module``,
#: ``__import__`` and pandas' ``import_optional_dependency`` (``pandas.io._util`` imports pytz that way).
_DYNAMIC_IMPORTERS = frozenset({"import_module", "__import__", "import_optional_dependency"})


def called_function_imports(tree: ast.Module) -> list[ast.stmt]:
    """Imports that run at import besides the top level's import statements: those in the bodies of the
    module's functions that its top level calls or decorates with (by name, transitively; nested statements
    included, an over-approximation), and literal dynamic imports (``importlib.import_module("x")``) made by
    the top level or those functions, as ``import x`` statements. Calls in ``if TYPE_CHECKING:`` and
    ``if __name__ == "__main__":`` bodies are not made on import. Dynamic imports of computed names are not
    seen."""
    functions, calls = _import_time_code(tree)
    rebound = _guards_rebound(tree)
    applied = _results_may_run(tree, functions)
    body: list[ast.stmt] = []
    for fn in functions:
        body.extend(_imports_in(fn, rebound, handed_back_run=fn.name in applied))
    dynamic: list[ast.stmt] = []
    for node in calls:
        func = node.func
        callee = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
        if callee in _DYNAMIC_IMPORTERS and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str) and node.args[0].value:
            dynamic.append(ast.Import(names=[ast.alias(name=node.args[0].value.lstrip("."))]))
    return body + dynamic


def _results_may_run(tree: ast.Module, functions: list[ast.FunctionDef | ast.AsyncFunctionDef]) -> set[str]:
    """Names of module functions whose *result* the module's import-time code may call: ``f(...)(...)``,
    ``@f(...)`` (the result is applied as a decorator), a result handed on anywhere but to a plain name (``g(f())``,
    ``[f()]``, ``x.y = f()``), or bound to a name (``x = f(...)``, or ``@f`` binding the decorated name) that
    import-time code then uses other than by reading an attribute of it. Import-time code: the top level (not
    the bodies of the functions it defines) and the whole bodies of ``functions``. An over-approximation."""
    nodes: list[ast.AST] = []
    todo: list[ast.AST] = list(tree.body)
    while todo:
        node = todo.pop()
        nodes.append(node)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            todo.extend([*node.decorator_list, node.args, *([node.returns] if node.returns else [])])
        elif isinstance(node, ast.Lambda):
            todo.append(node.args)
        else:
            todo.extend(ast.iter_child_nodes(node))
    for fn in functions:
        nodes.extend(ast.walk(fn))
    parents = {id(child): node for node in nodes for child in ast.iter_child_nodes(node)}
    out: set[str] = set()
    bound: dict[str, set[str]] = {}
    for node in nodes:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            for deco in node.decorator_list:
                if isinstance(deco, ast.Name):
                    bound.setdefault(node.name, set()).add(deco.id)
                elif isinstance(deco, ast.Call) and isinstance(deco.func, ast.Name):
                    out.add(deco.func.id)
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
            continue
        parent = parents.get(id(node))
        if isinstance(parent, ast.Expr) or (isinstance(parent, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
                                            and node in parent.decorator_list):
            continue  # result dropped, or applied as a decorator (counted above)
        targets = (parent.targets if isinstance(parent, ast.Assign) else [parent.target]
                   if isinstance(parent, ast.AnnAssign) else None)
        if targets is not None and all(isinstance(t, ast.Name) for t in targets):
            for target in targets:
                if isinstance(target, ast.Name):
                    bound.setdefault(target.id, set()).add(node.func.id)
            continue
        out.add(node.func.id)
    for node in nodes:
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in bound:
            parent = parents.get(id(node))
            if not (isinstance(parent, ast.Attribute) and parent.value is node):
                out.update(bound[node.id])
    return out


def _imports_in(fn: ast.FunctionDef | ast.AsyncFunctionDef, guards_rebound: bool, *,
                handed_back_run: bool = True) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement a call of ``fn`` may run: its body's, except those in an ``if TYPE_CHECKING:`` body
    or the ``else`` of ``if not TYPE_CHECKING:`` (typing's constant is false at run time; unless the module
    rebinds ``TYPE_CHECKING``, when either branch may run), and those of the functions it defines, unless such a
    function is only built and handed back (``f.__name__ = name; return f``, xarray's method factories): its
    body runs when someone calls it later, not when ``fn`` runs. A nested function used any other way (called,
    passed to a call, stored) counts as run (an over-approximation); deleting an attribute of it
    (``del f.__wrapped__``) does not. With ``handed_back_run`` (the module's import-time code may call what ``fn``
    returns: ``_results_may_run``) every nested function counts."""
    found: list[ast.Import | ast.ImportFrom] = []

    def only_returned(outer: ast.AST, name: str) -> bool:
        harmless: set[int] = set()
        for node in ast.walk(outer):
            if isinstance(node, ast.Return) and isinstance(node.value, ast.Name):
                harmless.add(id(node.value))
            elif isinstance(node, ast.Assign) and all(
                    isinstance(t, ast.Attribute) and t.attr in {"__name__", "__doc__", "__qualname__"}
                    and isinstance(t.value, ast.Name) for t in node.targets):
                harmless.update(id(t.value) for t in node.targets if isinstance(t, ast.Attribute))
            elif isinstance(node, ast.Delete):  # del f.__wrapped__
                harmless.update(id(t.value) for t in node.targets
                                if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name))
        return all(id(node) in harmless for node in ast.walk(outer)
                   if isinstance(node, ast.Name) and node.id == name)

    def walk(node: ast.AST, outer: ast.AST) -> None:
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
            return
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node is not outer:
            for part in [*node.decorator_list, node.args, *([node.returns] if node.returns else [])]:
                walk(part, outer)
            if handed_back_run or outer is not fn or not only_returned(outer, node.name):
                for stmt in node.body:
                    walk(stmt, node)
            return
        if isinstance(node, ast.If) and not guards_rebound and _is_type_checking(node.test):
            children: list[ast.AST] = [node.test, *node.orelse]
        elif isinstance(node, ast.If) and not guards_rebound and _is_not_type_checking(node.test):
            children = [node.test, *node.body]
        else:
            children = list(ast.iter_child_nodes(node))
        for child in children:
            walk(child, outer)

    for stmt in fn.body:
        walk(stmt, fn)
    return found


#: Calls that look entry points up (``importlib.metadata.entry_points``, its ``.select``, pkg_resources'
#: ``iter_entry_points``/``load_entry_point``): what a package's import may load without an import statement.
_ENTRY_POINT_LOOKUPS = frozenset({"entry_points", "iter_entry_points", "load_entry_point"})


def import_time_entry_point_lookups(tree: ast.Module) -> list[tuple[int, str | None]]:
    """(line, group or None when not a literal) of every entry-point lookup the module's import makes: in its top
    level and in the functions that calls (as ``called_function_imports`` reads them; calls into other modules are
    not followed). ``x.select(group=...)`` counts as a lookup too."""
    functions, calls = _import_time_code(tree)
    nodes = [*calls, *(n for fn in functions for n in ast.walk(fn) if isinstance(n, ast.Call))]
    found: list[tuple[int, str | None]] = []
    for node in dict.fromkeys(nodes):
        func = node.func
        callee = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
        keywords = {k.arg: k.value for k in node.keywords if k.arg}
        if callee not in _ENTRY_POINT_LOOKUPS and not (callee == "select" and "group" in keywords):
            continue
        group = keywords.get("group", node.args[0] if node.args and callee == "iter_entry_points" else None)
        literal = group.value if isinstance(group, ast.Constant) and isinstance(group.value, str) else None
        found.append((node.lineno, literal))
    return sorted(set(found), key=lambda item: (item[0], item[1] or ""))


def _import_time_code(tree: ast.Module) -> tuple[list[ast.FunctionDef | ast.AsyncFunctionDef], list[ast.Call]]:
    """(the module's functions its import runs: called or used as decorators by the top level, transitively by
    name; the calls the top level itself makes). Calls under ``if TYPE_CHECKING:`` / ``if __name__ ==
    "__main__":`` are not made on import (unless the module rebinds those names: then the guards may be true)."""
    defs: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = {}
    guards_rebound = _guards_rebound(tree)
    for stmt in ast.walk(tree):
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
            defs.setdefault(stmt.name, stmt)
    top_calls: list[ast.Call] = []

    def called(nodes: Iterable[ast.AST], calls: list[ast.Call] | None) -> set[str]:
        """Local functions called or used as decorators when ``nodes`` run (not in the bodies of the functions
        and lambdas they define: those run later; their decorators, defaults and annotations run now)."""
        names: set[str] = set()
        todo = list(nodes)
        while todo:
            node = todo.pop()
            if isinstance(node, ast.Call):
                if calls is not None:
                    calls.append(node)
                if isinstance(node.func, ast.Name):
                    names.add(node.func.id)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.update(d.id for d in node.decorator_list if isinstance(d, ast.Name))
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                todo.extend([*node.decorator_list, node.args, *([node.returns] if node.returns else [])])
            elif isinstance(node, ast.If) and not guards_rebound and (
                    _is_type_checking(node.test) or _is_main_guard(node.test)):
                todo.extend([node.test, *node.orelse])  # the body never runs on import
            elif isinstance(node, ast.If) and not guards_rebound and _is_not_type_checking(node.test):
                todo.extend([node.test, *node.body])  # the else never runs
            elif isinstance(node, ast.Lambda):
                todo.append(node.args)
            else:
                todo.extend(ast.iter_child_nodes(node))
        return names & defs.keys()

    todo = sorted(called(tree.body, top_calls))
    done: set[str] = set()
    functions: list[ast.FunctionDef | ast.AsyncFunctionDef] = []
    while todo:
        name = todo.pop()
        if name in done:
            continue
        done.add(name)
        fn = defs[name]
        functions.append(fn)
        fn_calls: list[ast.Call] = []
        todo.extend(sorted(called(fn.body, fn_calls) - done))  # its nested defs' bodies are not followed
        top_calls.extend(c for c in fn_calls if _is_dynamic_import(c))
    return functions, top_calls


def _is_dynamic_import(node: ast.Call) -> bool:
    func = node.func
    callee = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
    return callee in _DYNAMIC_IMPORTERS


#: Module attributes the import system reads to find and run submodules: rebinding one makes ``import pkg.m``
#: run another file than the one the analysis reads (``__path__ = [...]`` moves every submodule).
_IMPORT_SYSTEM_NAMES = frozenset({"__path__", "__spec__", "__loader__"})


def _rebinds_import_state(mod: ModuleInfo) -> ast.AST | None:
    """The first statement anywhere in ``mod`` that rebinds ``__path__``/``__spec__``/``__loader__`` (an
    assignment, augmented assignment, ``del``, ``global`` declaration, import alias, def/class or loop/with
    target), else None. Local names in functions are included: rare in honest code, and failing closed costs
    nothing. A top-level statement reviewed word for word for this module (``REVIEWED_IMPORT_STATEMENTS``, e.g.
    optuna's lazy ``optuna.integration`` module class, whose ``__path__`` is the package's own directory) is the
    reviewer's: it is not walked."""
    reviewed = tables.REVIEWED_IMPORT_STATEMENTS.get(mod.name)
    skip = {id(stmt) for stmt in _toplevel_statements(mod.tree.body)
            if reviewed and _statement_reviewed(mod, stmt, reviewed)}
    queue: deque[ast.AST] = deque([mod.tree])
    while queue:
        node = queue.popleft()
        if id(node) in skip:
            continue
        queue.extend(ast.iter_child_nodes(node))
        if isinstance(node, ast.Name) and node.id in _IMPORT_SYSTEM_NAMES and isinstance(node.ctx,
                                                                                      ast.Store | ast.Del):
            return node
        if isinstance(node, ast.Global | ast.Nonlocal) and _IMPORT_SYSTEM_NAMES & set(node.names):
            return node
        if isinstance(node, ast.alias) and (node.asname or node.name) in _IMPORT_SYSTEM_NAMES:
            return node
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) \
                and node.name in _IMPORT_SYSTEM_NAMES:
            return node
    return None


def module_top_level(mod: ModuleInfo, effects: Effects) -> Outcome:
    frame = _Frame(mod, "<module>", None, None, {}, True, Outcome(True, ""), toplevel=True)
    rebinds = _rebinds_import_state(mod)
    if rebinds is not None:
        return Outcome(False, "rebinds __path__/__spec__/__loader__: the import system would run other files "
                       "than the ones analysed", mod.where(getattr(rebinds, "lineno", 1) or 1))
    try:
        _body(effects, frame, mod.tree.body)
    except Fail as fail:
        return Outcome(False, fail.reason, fail.where)
    except RecursionError:
        return Outcome(False, "module too deeply nested to analyse", mod.where(1))
    return Outcome(True, "top level inert", mod.where(1))


def _reviewed_statement(frame: _Frame, stmt: ast.stmt) -> bool:
    """Whether ``stmt`` is, word for word (``ast.unparse``, or the SHA-256 of that text), a top-level statement
    reviewed for this module in ``source_tables.REVIEWED_IMPORT_STATEMENTS``. Any edit to the statement makes it
    unreviewed again."""
    reviewed = tables.REVIEWED_IMPORT_STATEMENTS.get(frame.mod.name)
    if not reviewed or not frame.toplevel:
        return False
    return _statement_reviewed(frame.mod, stmt, reviewed)


def _statement_reviewed(mod: ModuleInfo, stmt: ast.stmt, reviewed: Mapping[str, str]) -> bool:
    try:
        text = ast.unparse(stmt)
    except (ValueError, RecursionError):  # an unparseable node is not the reviewed text
        return False
    if not _is_reviewed_text(text, reviewed):
        return False
    pinned = {**reviewed, **tables.REVIEW_PINS.get(mod.name, {})}
    return _bindings_reviewed(mod.tree, stmt, pinned,
                              tables.REVIEWED_STATEMENT_IMPORTS.get(mod.name, frozenset()))


def _is_reviewed_text(text: str, reviewed: Mapping[str, str]) -> bool:
    # long statements (a class) are keyed by the SHA-256 of their text
    return text in reviewed or "sha256:" + hashlib.sha256(text.encode()).hexdigest() in reviewed


def _bindings_reviewed(tree: ast.Module, stmt: ast.stmt, reviewed: Mapping[str, str],
                       imports: frozenset[str]) -> bool:
    """Whether every statement of this module that binds a name ``stmt`` reads (a ``def``, a ``class``, an
    assignment, an import...) is itself reviewed or pinned (``source_tables.REVIEW_PINS``) word for word. A review
    of ``keras = LazyLoader(...)`` vouches for what ``LazyLoader`` was when it was read: once the class it calls is
    edited, or comes from another module, the call is analysed again. An import binding a read name must be one
    the review names as its premise (``source_tables.REVIEWED_STATEMENT_IMPORTS``: the module it names is
    analysed on its own); in a class body the class's own earlier statements bind names too; and a name some
    function or class body declares ``global`` may be rebound by code the review never read (red team R4-3).
    The names a reviewed or pinned binder itself reads count as read too, transitively (red team R5-1): the body
    of the pinned ``def patch_pipeline`` runs when the reviewed ``patch_pipeline()`` does, and reads
    ``Pipeline``; the pinned ``class Literal`` calls ``Apply.__init__``; the object the pinned
    ``scope = SymbolTable()`` binds runs ``SymbolTable``'s methods when the reviewed ``scope.x = f`` sets on it."""
    scopes = [tree.body, *(node.body for node in ast.walk(tree) if isinstance(node, ast.ClassDef)
                           and any(inner is stmt for inner in _toplevel_statements(node.body)))]
    vouched = [b for body in scopes for b in _reviewed_statements(body, reviewed) if b is not stmt]
    read, attrs = _reads(stmt, frozenset({_ALL_METHODS}))
    seen: dict[int, object] = {}
    grew = True
    while grew:
        grew = False
        for binder in vouched:
            if not read & _names_bound(binder):
                continue
            key = (len(attrs), len(read)) if isinstance(binder, ast.ClassDef) else 0
            if seen.get(id(binder)) == key:
                continue
            seen[id(binder)] = key
            names, more = _reads(binder, frozenset(attrs))
            if not (names <= read and more <= attrs):
                read |= names
                attrs |= more
                grew = True
    if _STAR in read:
        return False  # a binder that cannot be read again: its reads are unknown
    if not read:
        return True
    if read & {name for node in ast.walk(tree) if isinstance(node, ast.Global) for name in node.names}:
        return False
    for binder in (b for body in scopes for b in _unreviewed_statements(body, reviewed)):
        bound = _names_bound(binder)
        if binder is stmt or not (read & bound or _STAR in bound):
            continue
        if not isinstance(binder, ast.Import | ast.ImportFrom):
            return False
        if any(form not in imports for name, form in _import_bindings(binder) if name in read or name == _STAR):
            return False
    return True


_ALL_METHODS = "<any method>"  # an attribute name the code computes: every method of a class may be read


def _reads(stmt: ast.stmt, attrs: frozenset[str]) -> tuple[set[str], set[str]]:
    """(names ``stmt`` may read from its module's or class body's namespace, attribute names it reads) when it runs
    or when the functions and classes it defines run later: the names loaded at its own level, the names function
    bodies resolve globally (``symtable``), every name a class body references (a class body reads its module's
    binding of a name it assigns only later). Of a class, only the methods that may run when code uses the class
    count: dunders (implicit protocol), decorated ones (descriptors), and those named by ``attrs`` (the attribute
    names the code using it reads; ``getattr`` with a computed name reads any). Over-approximates; a statement
    that cannot be read again reads everything (``{_STAR}``)."""
    import copy

    node: ast.stmt = stmt
    if isinstance(stmt, ast.ClassDef) and _ALL_METHODS not in attrs:
        node = copy.copy(stmt)
        node.body = [s for s in stmt.body if not isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef)
                     or s.decorator_list or s.name in attrs or (s.name.startswith("__") and s.name.endswith("__"))
                     ] or [ast.Pass()]
    out = _free_reads(node, frozenset())
    names: set[str] = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Attribute):
            names.add(sub.attr)
        elif isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name) and sub.func.id in _NAMED_ATTRIBUTE_CALLS:
            arg = sub.args[1] if len(sub.args) > 1 else None
            names.add(arg.value if isinstance(arg, ast.Constant) and isinstance(arg.value, str) else _ALL_METHODS)
    return out, names


def _free_reads(node: ast.AST, local: frozenset[str]) -> set[str]:
    """Names loaded in ``node`` that resolve in the module (or class body) scope: outside functions every loaded
    name; inside a function (or lambda) those not local to it or to an enclosing function (parameters, names it
    assigns, imports, defines, unless declared ``global``). Comprehension variables count as reads (an
    over-approximation)."""
    out: set[str] = set()
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
        args = node.args
        outer: list[ast.AST] = [*args.defaults, *(d for d in args.kw_defaults if d is not None)]
        if not isinstance(node, ast.Lambda):
            outer += [*node.decorator_list, *([node.returns] if node.returns else [])]
            outer += [a.annotation for a in (*args.posonlyargs, *args.args, *args.kwonlyargs,
                                             *(x for x in (args.vararg, args.kwarg) if x)) if a.annotation]
        for part in outer:
            out |= _free_reads(part, local)
        params = {a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs,
                                  *(x for x in (args.vararg, args.kwarg) if x))}
        body: list[ast.AST] = [node.body] if isinstance(node, ast.Lambda) else list(node.body)
        declared = {n for b in body for sub in _same_scope(b) if isinstance(sub, ast.Global) for n in sub.names}
        assigned = params | {n for b in body for n in _scope_bindings(b)}
        inner = local | frozenset(assigned - declared)
        for b in body:
            out |= _free_reads(b, inner)
        return out
    if isinstance(node, ast.ClassDef):
        for part in (*node.decorator_list, *node.bases, *(k.value for k in node.keywords)):
            out |= _free_reads(part, local)
        for b in node.body:  # a class body reads its enclosing function's locals, and the module's names
            out |= _free_reads(b, local)
        return out
    if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id not in local:
        out.add(node.id)
    for child in ast.iter_child_nodes(node):
        out |= _free_reads(child, local)
    return out


def _same_scope(node: ast.AST) -> Iterator[ast.AST]:
    """``node`` and its descendants in the same scope (not into nested functions, lambdas or classes)."""
    yield node
    for child in ast.iter_child_nodes(node):
        if not isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
            yield from _same_scope(child)
        elif not isinstance(child, ast.Lambda):
            yield child  # its name binds here (its decorators and defaults are walked by _free_reads)


def _scope_bindings(node: ast.AST) -> set[str]:
    """Names a function body statement binds in the function's own scope."""
    out: set[str] = set()
    nodes = list(_same_scope(node))
    # a comprehension's variables are its own (a load of the same name elsewhere in the function is global)
    own = {id(n) for sub in nodes if isinstance(sub, ast.comprehension) for n in ast.walk(sub.target)}
    for sub in nodes:
        if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store | ast.Del) and id(sub) not in own:
            out.add(sub.id)
        elif isinstance(sub, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            out.add(sub.name)
        elif isinstance(sub, ast.alias):
            out.add((sub.asname or sub.name).split(".", 1)[0])
        elif isinstance(sub, ast.ExceptHandler | ast.MatchAs | ast.MatchStar) and sub.name:
            out.add(sub.name)
        elif isinstance(sub, ast.MatchMapping) and sub.rest:
            out.add(sub.rest)
    return out


#: Builtins reading an attribute named by their second argument.
_NAMED_ATTRIBUTE_CALLS = frozenset({"getattr", "setattr", "hasattr", "delattr"})


def _reviewed_statements(body: list[ast.stmt], reviewed: Mapping[str, str]) -> Iterator[ast.stmt]:
    """The statements of ``body`` (through ``if``/``try``/``with``/loops, as :func:`_unreviewed_statements` walks
    it) whose text is reviewed or pinned word for word."""
    for stmt in body:
        try:
            text = ast.unparse(stmt)
        except (ValueError, RecursionError):
            text = None
        if text is not None and _is_reviewed_text(text, reviewed):
            yield stmt
            continue
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        inner = [s for field_name in ("body", "orelse", "finalbody")
                 for s in (getattr(stmt, field_name, None) or ()) if isinstance(s, ast.stmt)]
        inner += [s for handler in getattr(stmt, "handlers", ()) or () for s in handler.body]
        inner += [s for case in getattr(stmt, "cases", ()) or () for s in case.body]
        yield from _reviewed_statements(inner, reviewed)


def _unreviewed_statements(body: list[ast.stmt], reviewed: Mapping[str, str]) -> Iterator[ast.stmt]:
    """:func:`_toplevel_statements` of ``body`` that are not reviewed word for word (nor inside a reviewed
    ``if``/``try``: its text covers the assignments in its branches)."""
    for stmt in body:
        try:
            text = ast.unparse(stmt)
        except (ValueError, RecursionError):
            text = None
        if text is not None and _is_reviewed_text(text, reviewed):
            continue
        yield stmt
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        inner = [s for field_name in ("body", "orelse", "finalbody")
                 for s in (getattr(stmt, field_name, None) or ()) if isinstance(s, ast.stmt)]
        inner += [s for handler in getattr(stmt, "handlers", ()) or () for s in handler.body]
        inner += [s for case in getattr(stmt, "cases", ()) or () for s in case.body]
        yield from _unreviewed_statements(inner, reviewed)


def _import_bindings(stmt: ast.Import | ast.ImportFrom) -> Iterator[tuple[str, str]]:
    """(name bound, the one-name import statement binding it the same way) for each alias of ``stmt``:
    ``import a.b`` binds ``a`` to package ``a`` exactly as ``import a`` does."""
    for alias in stmt.names:
        if isinstance(stmt, ast.Import):
            if alias.asname is None:
                top = alias.name.split(".", 1)[0]
                yield top, f"import {top}"
            else:
                yield alias.asname, f"import {alias.name} as {alias.asname}"
        else:
            source = "." * stmt.level + (stmt.module or "")
            bound = _STAR if alias.name == "*" else alias.asname or alias.name
            yield bound, f"from {source} import {alias.name}" + (f" as {alias.asname}" if alias.asname else "")


def _toplevel_statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """The statements that run in the module's own scope (through ``if``/``try``/``with``/loops, not into
    function or class bodies)."""
    for stmt in body:
        yield stmt
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        for field_name in ("body", "orelse", "finalbody"):
            inner = getattr(stmt, field_name, None)
            if isinstance(inner, list):
                yield from _toplevel_statements([s for s in inner if isinstance(s, ast.stmt)])
        for handler in getattr(stmt, "handlers", ()) or ():
            yield from _toplevel_statements(handler.body)
        for case in getattr(stmt, "cases", ()) or ():
            yield from _toplevel_statements(case.body)


_STAR = "*"  # what ``from m import *`` binds: any name


def _names_bound(stmt: ast.stmt) -> set[str]:
    """Names ``stmt`` itself binds in its scope (not those of nested statements, which are walked on their own)."""
    if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return {stmt.name}
    if isinstance(stmt, ast.Import):
        return {(alias.asname or alias.name).split(".", 1)[0] for alias in stmt.names}
    if isinstance(stmt, ast.ImportFrom):
        return {_STAR if alias.name == "*" else alias.asname or alias.name for alias in stmt.names}
    heads: list[ast.AST]
    if isinstance(stmt, ast.For | ast.AsyncFor):
        heads = [stmt.target]
    elif isinstance(stmt, ast.With | ast.AsyncWith):
        heads = [item.optional_vars for item in stmt.items if item.optional_vars is not None]
    elif isinstance(stmt, ast.Try | ast.TryStar):
        return {h.name for h in stmt.handlers if h.name}
    elif isinstance(stmt, ast.Match):
        captured = {n.name for case in stmt.cases for n in ast.walk(case.pattern)
                    if isinstance(n, ast.MatchAs | ast.MatchStar) and n.name}
        captured |= {n.rest for case in stmt.cases for n in ast.walk(case.pattern)
                     if isinstance(n, ast.MatchMapping) and n.rest}
        heads = [stmt.subject, *(case.guard for case in stmt.cases if case.guard is not None)]
        return captured | {n.id for head in heads for n in ast.walk(head)
                           if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    elif isinstance(stmt, ast.If | ast.While):
        heads = [stmt.test]
    else:
        heads = [stmt]
    return {n.id for head in heads for n in ast.walk(head) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}


def _own_docstring_value(frame: _Frame, stmt: ast.stmt) -> ast.expr | None:
    """The value of ``f.__doc__ = <expr>`` where ``f`` is a function a plain ``def`` of this same body bound
    (and nothing rebound since), else None: writing a function's ``__doc__`` stores a value on it and runs
    nothing. The value expression is still analysed by the caller."""
    if not isinstance(stmt, ast.Assign) or len(stmt.targets) != 1:
        return None
    tgt = stmt.targets[0]
    if isinstance(tgt, ast.Attribute) and tgt.attr == "__doc__" and isinstance(tgt.value, ast.Name) \
            and tgt.value.id in frame.defs and not any(isinstance(n, ast.NamedExpr) for n in ast.walk(stmt.value)):
        return stmt.value  # (a walrus in the value could rebind the name before the write)
    return None


def _track_defs(frame: _Frame, stmt: ast.stmt, *, straight: bool) -> None:
    """Keep ``frame.defs`` to the names whose latest binding in this body is an undecorated ``def`` run
    unconditionally (``straight``: not inside an ``if``/``try`` branch)."""
    for node in ast.walk(stmt):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            frame.defs.discard(node.id)
        elif isinstance(node, ast.alias):
            frame.defs.discard((node.asname or node.name).split(".", 1)[0])
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and node is not stmt:
            frame.defs.discard(node.name)
    if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
        if stmt.decorator_list or not straight:
            frame.defs.discard(stmt.name)
        else:
            frame.defs.add(stmt.name)
    elif isinstance(stmt, ast.ClassDef):
        frame.defs.discard(stmt.name)


def _body(effects: Effects, frame: _Frame, stmts: list[ast.stmt], *, straight: bool = True) -> None:
    for stmt in stmts:
        if _reviewed_statement(frame, stmt):
            continue  # read by a reviewer for this module (its review is in the table): nothing else runs
        doc = _own_docstring_value(frame, stmt)
        if doc is not None:
            effects._expr(frame, doc, 0)
            continue
        _track_defs(frame, stmt, straight=straight)
        if isinstance(stmt, ast.If):
            if _is_type_checking(stmt.test) or _is_main_guard(stmt.test):
                _body(effects, frame, stmt.orelse, straight=False)  # the guarded body does not run on import
                continue
            if _is_not_type_checking(stmt.test):
                _body(effects, frame, stmt.body, straight=False)  # its else is the type checkers' branch
                continue
            runs = _build_guard_branch(frame.mod, stmt)
            if runs is not None:
                _body(effects, frame, runs, straight=False)  # the build-time branch does not run on import
                continue
            effects.truth(frame, stmt.test, 0)  # `if o:` runs o's __bool__/__len__
            _body(effects, frame, stmt.body, straight=False)
            _body(effects, frame, stmt.orelse, straight=False)
        elif isinstance(stmt, ast.Try | ast.TryStar):
            reached, stopped = _until_missing_import(effects, stmt)
            _body(effects, frame, reached, straight=False)
            for handler in stmt.handlers:
                if handler.type is not None:
                    effects._expr(frame, handler.type, 0)
                _body(effects, frame, handler.body, straight=False)
            if not stopped:  # the else clause runs only when the body completed
                _body(effects, frame, stmt.orelse, straight=False)
            _body(effects, frame, stmt.finalbody, straight=False)
        elif isinstance(stmt, ast.ClassDef):
            _class(effects, frame, stmt)
        elif isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
            for default in (*stmt.args.defaults, *[d for d in stmt.args.kw_defaults if d is not None]):
                effects._expr(frame, default, 0)
            if not frame.mod.future_annotations:  # evaluated when the def runs
                args = stmt.args
                for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg):
                    if arg is not None and arg.annotation is not None:
                        effects._expr(frame, arg.annotation, 0)
                if stmt.returns is not None:
                    effects._expr(frame, stmt.returns, 0)
            _decorators(effects, frame, stmt.decorator_list, function=True)
        elif isinstance(stmt, ast.Assign) and _targets_sys_modules(stmt):
            if not _replaces_itself(stmt):
                raise Fail("assigns into sys.modules", frame.where(stmt))
            effects._expr(frame, stmt.value, 0)  # lazy-module pattern: the replacement's construction is checked
        elif isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
            continue
        else:
            if frame.qualname == "<module>" and isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Call) \
                    and all(isinstance(t, ast.Name) for t in stmt.targets):
                frame.stored_calls.add(id(stmt.value))  # its result is only bound (functools.partial: stored)
            effects._stmt(frame, stmt, 0)


#: Names the import system binds in a module's namespace before its code runs.
_PRESET_NAMES = frozenset("__name__ __doc__ __package__ __loader__ __spec__ __file__ __cached__ __builtins__ "
                          "__path__ __annotations__".split())


def _build_guard_branch(mod: ModuleInfo, stmt: ast.If) -> list[ast.stmt] | None:
    """The branch of ``if FLAG:`` (or ``if not FLAG:``) that runs on import when ``FLAG`` is a build-guard flag
    (pmdarima 2.1.1, older scikit-learn/numpy/scipy): the statement directly before, at module top level, is
    ``try: FLAG`` with the single handler ``except NameError: FLAG = False`` (no ``else``/``finally``), and
    nothing else in the module mentions ``FLAG`` before it (no binding, star import, ``global``, import alias).
    The module namespace does not hold ``FLAG`` then, so reading it falls back to the builtins: the setup script
    injects ``builtins.FLAG = True`` during a build; in this interpreter ``builtins`` must not bind it (then
    the read raises NameError and ``FLAG`` is ``False``). None when the shape differs (both branches analysed)."""
    test = stmt.test
    negated = isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not)
    flag = test.operand if isinstance(test, ast.UnaryOp) and negated else test
    if not isinstance(flag, ast.Name):
        return None
    name = flag.id
    body = mod.tree.body
    index = next((i for i, top in enumerate(body) if top is stmt), 0)
    if index == 0:
        return None
    guard = body[index - 1]
    if not (isinstance(guard, ast.Try) and not guard.orelse and not guard.finalbody and len(guard.body) == 1
            and isinstance(guard.body[0], ast.Expr) and isinstance(guard.body[0].value, ast.Name)
            and guard.body[0].value.id == name and len(guard.handlers) == 1):
        return None
    handler = guard.handlers[0]
    if not (isinstance(handler.type, ast.Name) and handler.type.id == "NameError" and handler.name is None
            and len(handler.body) == 1 and isinstance(handler.body[0], ast.Assign)
            and len(handler.body[0].targets) == 1 and isinstance(handler.body[0].targets[0], ast.Name)
            and handler.body[0].targets[0].id == name and isinstance(handler.body[0].value, ast.Constant)
            and handler.body[0].value.value is False):
        return None
    if name in _PRESET_NAMES or name in vars(builtins) or "NameError" in mod.bindings or name in mod.global_writes:
        return None
    allowed = {id(guard.body[0].value), id(handler.body[0].targets[0]), id(flag)}
    start = (guard.lineno, guard.col_offset)
    for node in ast.walk(mod.tree):
        if isinstance(node, ast.Global | ast.Nonlocal) and name in node.names:
            return None
        if isinstance(node, ast.alias) and (node.asname or node.name).split(".", 1)[0] in (name, "*") \
                and (node.lineno, node.col_offset) < start:
            return None
        if isinstance(node, ast.Name) and node.id == name and id(node) not in allowed \
                and (node.lineno, node.col_offset) < (stmt.lineno, stmt.col_offset):
            return None
    return stmt.body if negated else stmt.orelse


_IMPORT_ERRORS = frozenset({"ImportError", "ModuleNotFoundError", "Exception", "BaseException"})


def _until_missing_import(effects: Effects, stmt: ast.Try | ast.TryStar) -> tuple[list[ast.stmt], bool]:
    """The statements of a ``try`` body that can run, and whether the body stops there: when a handler catches
    ImportError and a statement of the body directly imports a module absent from the environment, that import
    raises and neither the statements after it nor the ``else`` clause ever run (``try: import pyspark; v =
    pyspark.f() except ImportError: ...``; colorlog's ``try: import colorama ... else: colorama.init()``)."""
    caught = any(h.type is None or any(
        isinstance(t, ast.Name) and t.id in _IMPORT_ERRORS
        for t in (h.type.elts if isinstance(h.type, ast.Tuple) else [h.type])) for h in stmt.handlers)
    if not caught:
        return stmt.body, False
    for index, inner in enumerate(stmt.body):
        if isinstance(inner, ast.Import):
            names = [alias.name for alias in inner.names]
        elif isinstance(inner, ast.ImportFrom) and inner.level == 0 and inner.module:
            names = [inner.module]
        else:
            continue
        for name in names:
            top = name.split(".", 1)[0]
            found = effects.resolver.module(top)
            if not isinstance(found, ModuleInfo) and found.kind == "missing":
                return stmt.body[:index + 1], True
    return stmt.body, False


def _targets_sys_modules(stmt: ast.Assign) -> bool:
    return any(isinstance(t, ast.Subscript) and isinstance(t.value, ast.Attribute) and t.value.attr == "modules"
               for t in stmt.targets)


def _replaces_itself(stmt: ast.Assign) -> bool:
    """``sys.modules[__name__] = <value>``: the module swaps in its own replacement (lazy-module pattern)."""
    if len(stmt.targets) != 1:
        return False
    tgt = stmt.targets[0]
    return (isinstance(tgt, ast.Subscript) and isinstance(tgt.value, ast.Attribute)
            and isinstance(tgt.value.value, ast.Name) and tgt.value.value.id == "sys"
            and isinstance(tgt.slice, ast.Name) and tgt.slice.id == "__name__")


def _applied(effects: Effects, frame: _Frame, expr: ast.expr) -> tuple[ast.expr, Ref]:
    """The decorator ``expr`` applies, as (bare-or-factory expression, resolved callee): ``partial(deco, k=<const>)``
    (keywords only, constants only) applies ``deco`` with its first parameter the decorated object, like ``@deco``."""
    ref = effects.resolver.expr(frame.mod, expr.func if isinstance(expr, ast.Call) else expr)
    if isinstance(expr, ast.Call) and ref.dotted == "functools.partial" and len(expr.args) == 1 \
            and isinstance(expr.args[0], ast.Name | ast.Attribute) \
            and all(k.arg is not None and isinstance(k.value, ast.Constant) for k in expr.keywords):
        target = effects.resolver.expr(frame.mod, expr.args[0])
        if target.kind == "function" and isinstance(target.node, ast.FunctionDef):
            first = _first_param(target.node)
            if first is not None and all(k.arg != first for k in expr.keywords):
                return expr.args[0], target
    return expr, ref


def wrapper_problem(effects: Effects, expr: ast.expr, ref: Ref) -> str | None:
    """``None`` when applying the decorator ``ref`` (``expr``: bare, or a factory call whose result it is) to a
    plain function only builds a wrapper around it: the decorator body (the factory's returned local def, for a
    factory) holds nothing but a docstring, local defs and ``return <one of them>``; each local def is undecorated
    or decorated only with ``functools.wraps(<the parameter>)`` (which reads the function's attributes and copies
    its ``__dict__``: C code on a plain function), its defaults are constants or names and its annotations are not
    evaluated (none, string constants, or ``from __future__ import annotations``). Nothing of the argument runs at
    decoration; calling the result later runs the wrapper's body, which this does not cover (the function analysis
    refuses calls of functions so decorated)."""
    mod = ref.module
    if ref.kind != "function" or not isinstance(ref.node, ast.FunctionDef) or mod is None:
        return "not a def read from source"
    fn: ast.FunctionDef = ref.node
    if fn.decorator_list:
        return "the decorator is itself decorated"
    if isinstance(expr, ast.Call):
        inner = _returned_def(fn)
        if inner is None:
            return "a decorator factory whose returned decorator is not a local def"
        fn = inner
        if fn.decorator_list:
            return "the returned decorator is itself decorated"
    first = _first_param(fn)
    if first is None:
        return "takes no argument"
    defs: set[str] = set()
    returned = False
    for stmt in fn.body:
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
            continue
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
            problem = _wrapper_def_problem(effects, mod, stmt, first)
            if problem is not None:
                return f"wrapper {stmt.name}: {problem}"
            defs.add(stmt.name)
            continue
        if isinstance(stmt, ast.Return) and isinstance(stmt.value, ast.Name) and stmt.value.id in defs:
            returned = True
            continue
        return f"runs {type(stmt).__name__} at decoration (line {stmt.lineno})"
    return None if returned else "does not return a local wrapper"


def _source_identity(expr: ast.expr, ref: Ref) -> bool:
    """The decorator is an undecorated source def (or factory) returning its argument itself, unaltered: what it
    hands on is still the plain function (table-reviewed decorators may return other objects: lru_cache)."""
    if ref.kind != "function" or not isinstance(ref.node, ast.FunctionDef) or ref.node.decorator_list:
        return False
    fn: ast.FunctionDef | None = ref.node
    if isinstance(expr, ast.Call):
        fn = _returned_def(ref.node)
    return fn is not None and not fn.decorator_list and _identity_problem(fn) is None


def _wrapper_def_problem(effects: Effects, mod: ModuleInfo, fn: ast.FunctionDef | ast.AsyncFunctionDef,
                         first: str) -> str | None:
    args = fn.args
    for default in (*args.defaults, *[d for d in args.kw_defaults if d is not None]):
        if not isinstance(default, ast.Constant | ast.Name):
            return "a default value is computed"
    if not mod.future_annotations:
        annotations = [a.annotation for a in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg,
                                              args.kwarg) if a is not None and a.annotation is not None]
        if any(not isinstance(a, ast.Constant) for a in [*annotations, *([fn.returns] if fn.returns else [])]):
            return "its annotations are evaluated"
    for deco in fn.decorator_list:
        if not (isinstance(deco, ast.Call) and len(deco.args) == 1 and not deco.keywords
                and isinstance(deco.args[0], ast.Name) and deco.args[0].id == first
                and effects.resolver.expr(mod, deco.func).dotted == "functools.wraps"):
            return f"decorated with {ast.unparse(deco)[:40]}"
    return None


def _decorators(effects: Effects, frame: _Frame, decorators: list[ast.expr], *, function: bool = False) -> None:
    # applied bottom-up: whether each decorator receives a plain function (``function``: the def itself; a
    # decorator below that returns its argument unchanged, or only wraps it, hands on a plain function too)
    plain_below: list[bool] = []
    plain = function
    for expr in reversed(decorators):
        plain_below.append(plain)
        applied, ref = _applied(effects, frame, expr)
        plain = plain and (_source_identity(applied, ref) or wrapper_problem(effects, applied, ref) is None)
    plain_below.reverse()
    for index, expr in enumerate(decorators):
        ref = effects.resolver.expr(frame.mod, expr.func if isinstance(expr, ast.Call) else expr)
        applied, target = _applied(effects, frame, expr)
        if applied is not expr:  # partial(deco, k=<const>): building the partial runs nothing
            problem = effects.decorator_problem(applied, target, 0)
            if problem is not None and not (plain_below[index] and wrapper_problem(effects, applied, target) is None):
                raise Fail(f"decorator {target.dotted} (through functools.partial): {problem}", frame.where(expr))
            if problem is None and isinstance(target.node, ast.FunctionDef) and target.module is not None:
                result = effects.function(target.node, target.module, target.qualname, import_ctx=True)
                if not result.inert:
                    raise Fail(f"decorator {target.dotted} runs: {result.reason}", result.where)
            continue
        reviewed = ref.dotted in tables.INERT_DECORATORS or ref.dotted in tables.IMPORT_ONLY_DECORATORS
        if reviewed and isinstance(expr, ast.Call):
            for arg in (*expr.args, *(k.value for k in expr.keywords)):
                effects._expr(frame, arg, 0)  # a reviewed decorator factory: its arguments are still evaluated
            continue
        if isinstance(expr, ast.Call) and option_only_factory(ref.dotted, expr):
            continue  # reviewed: with constant options only, the factory builds the bare decorator's wrapper
        effects._expr(frame, expr, 0)  # a decorator factory call runs at import: checked like any call
        if reviewed or ref.dotted in tables.BENIGN_CALLS or (
                ref.dotted in tables.IMPORT_TIME_DECORATORS and not isinstance(expr, ast.Call)):
            continue
        if effects.call_through(expr, ref) is not None:
            continue  # reviewed: applying it only builds the wrapper (the factory call was checked above)
        problem = effects.decorator_problem(expr, ref, 0)
        if problem is not None and plain_below[index] and wrapper_problem(effects, expr, ref) is None:
            continue  # it only wraps the plain function it is given (the factory call was checked above)
        if problem is not None:
            raise Fail(f"decorator {ref.dotted}: {problem}", frame.where(expr))
        if ref.kind == "function" and isinstance(ref.node, ast.FunctionDef) and ref.module is not None:
            fn = ref.node
            if isinstance(expr, ast.Call):
                inner = _returned_def(fn)
                if inner is not None:
                    fn = inner
            result = effects.function(fn, ref.module, ref.qualname, import_ctx=True)
            if not result.inert:
                raise Fail(f"decorator {ref.dotted} runs: {result.reason}", result.where)


def _class(effects: Effects, frame: _Frame, node: ast.ClassDef) -> None:
    for base in node.bases:
        effects._expr(frame, base, 0)
    for kw in node.keywords:
        effects._expr(frame, kw.value, 0)
    _decorators(effects, frame, node.decorator_list)
    model = effects.resolver.class_model(Ref("class", f"{frame.mod.name}.{node.name}", frame.mod, node, node.name))
    if not isinstance(model, ClassModel):
        raise Fail(f"class {node.name}: {model}", frame.where(node))
    for problem, where in model.problems:
        raise Fail(problem, where)
    _metaclass(effects, frame, model)
    found = effects.lookup(model, "__init_subclass__", after=model)
    while found is not None and isinstance(found[0], ClassModel) and reviewed_subclass_hook(model, found[0]):
        found = effects.lookup(model, "__init_subclass__", after=found[0])  # its super() call continues here
    if found is not None:
        owner, what = found
        if isinstance(what, Leaf):
            if what.kind == "external" and not _catalog_allows(effects, what.dotted) \
                    and what.dotted not in tables.BASES_WITHOUT_SUBCLASS_HOOK:
                raise Fail(f"base {what.dotted} ({what.reason or 'not analysable'}) may run __init_subclass__",
                           frame.where(node))
        elif isinstance(owner, ClassModel) and isinstance(what.node, ast.FunctionDef):
            result = effects.function(what.node, owner.module, f"{owner.ref.qualname}.__init_subclass__",
                                      self_model=model, defining=owner, bound=True, import_ctx=True)
            if not result.inert:
                raise Fail(f"__init_subclass__ of {owner.dotted} runs at class creation: {result.reason}",
                           result.where)
    inner = _Frame(frame.mod, f"{node.name}", None, None, {}, True, frame.out, toplevel=True)
    for stmt in node.body:
        if isinstance(stmt, ast.Assign | ast.AnnAssign) and isinstance(stmt.value, ast.Call):
            _set_name(effects, frame, stmt.value)
        _body(effects, inner, [stmt])
        # a name the class body bound is the class namespace's in the statements after it (`variants =
        # variant_configs.keys()`), not the module's: it shadows a module-level name of the same spelling
        if isinstance(stmt, ast.Assign | ast.AnnAssign) and stmt.value is not None:
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            for tgt in targets:
                if isinstance(tgt, ast.Name):
                    inner.locals[tgt.id] = effects.class_body_value(inner, tgt.id, stmt.value)


def reviewed_subclass_hook(model: ClassModel, owner: ClassModel) -> bool:
    """True when ``owner.__init_subclass__`` is a reviewed hook (``tables.REVIEWED_SUBCLASS_HOOKS``) whose
    review covers ``model``: the names it sets are none of the names a load runs (dunders, protocol and data
    methods), and every overridable name it reads is defined in the hook's own package, not by ``model`` or
    another package's class."""
    review = tables.REVIEWED_SUBCLASS_HOOKS.get(owner.dotted)
    if review is None:
        return False
    digest = tables.SUBCLASS_HOOK_DIGESTS.get(owner.dotted)
    if digest is not None:
        hooks = owner.body.get("__init_subclass__", [])
        if len(hooks) != 1 or def_digest(hooks[0].node) != digest:
            return False  # not the text that was reviewed
    pinned = tables.SUBCLASS_HOOK_FILES.get(owner.dotted)
    if pinned is not None and file_digest(owner.module) != pinned:
        return False  # the helpers and tables the hook calls are not the text that was reviewed
    sets, reads, _note = review
    if owner.dotted in tables.SLOTTED_SUBCLASS_HOOKS and not fully_slotted(model):
        return False  # the hook sets names (a __setattr__) on classes whose instances have a __dict__
    runs_at_load = set(tables.PROTOCOL_METHODS) | tables.DATA_METHODS
    if any(n.startswith("__") or n in runs_at_load for n in sets if not n.startswith("=")):
        return False
    package = owner.dotted.split(".", 1)[0] + "."
    for name in reads:
        for part in model.mro:
            if not isinstance(part, ClassModel):
                if part.kind == "special" or (part.kind == "builtin" and part.builtin_type is not None
                                              and name not in vars(part.builtin_type)):
                    continue
                return False  # an unreadable base may define it
            if part.own(name) is not None:
                if not part.dotted.startswith(package):
                    return False
                break
    return True


def fully_slotted(model: ClassModel) -> bool:
    """True when instances of ``model`` certainly have no ``__dict__``: every class of its MRO is read from source
    and binds ``__slots__`` exactly once, unconditionally, to a literal str or tuple/list of str without
    ``__dict__``, and every other base is ``object`` or ``typing.Generic`` (whose ``__slots__`` is ``()``)."""
    for part in model.mro:
        if not isinstance(part, ClassModel):
            if part.dotted in {"builtins.object", "typing.Generic"}:
                continue
            return False
        bindings = part.body.get("__slots__", [])
        if len(bindings) != 1 or bindings[0].conditional or not isinstance(bindings[0].node, ast.Assign):
            return False
        value = bindings[0].node.value
        items = value.elts if isinstance(value, ast.Tuple | ast.List) else [value]
        if not all(isinstance(i, ast.Constant) and isinstance(i.value, str) and i.value != "__dict__"
                   for i in items):
            return False
    return True


def _catalog_allows(effects: Effects, dotted: str) -> bool:
    return effects.catalog is not None and any(effects.catalog(dotted, u) is True for u in (Use.IMPORT, Use.REF))


def _metaclass(effects: Effects, frame: _Frame, model: ClassModel) -> None:
    meta = model.metaclass
    if meta is None:
        return
    if isinstance(meta, Ref):
        if meta.dotted in tables.KNOWN_METACLASSES or _catalog_allows(effects, meta.dotted):
            return
        raise Fail(f"metaclass {meta.dotted} ({meta.reason or meta.kind}) runs at class creation",
                   frame.where(model.node))
    for part in meta.mro:
        if isinstance(part, Leaf):
            if part.dotted in tables.KNOWN_METACLASSES or part.kind == "builtin":
                continue
            if not _catalog_allows(effects, part.dotted):
                raise Fail(f"metaclass base {part.dotted} runs at class creation", frame.where(model.node))
            continue
        # type.__new__ calls the metaclass's mro() to compute the new class's MRO (red team R5-5)
        for hook in ("__prepare__", "__new__", "__init__", "__call__", "mro"):
            binding = part.own(hook)
            if binding is None or hook == "__call__":
                continue
            if part is meta and _reviewed_creation_hook(model, part, hook, binding):
                continue  # its text and its module's were read: what it does at class creation is reviewed
            if not isinstance(binding.node, ast.FunctionDef):
                raise Fail(f"metaclass {part.dotted}.{hook} is not a plain def", part.where(binding.lineno))
            result = effects.function(binding.node, part.module, f"{part.ref.qualname}.{hook}", self_model=meta,
                                      defining=part, bound=True, import_ctx=True)
            if not result.inert:
                raise Fail(f"metaclass {part.dotted}.{hook} runs at class creation: {result.reason}", result.where)


def _reviewed_creation_hook(model: ClassModel, meta: ClassModel, hook: str, binding: Binding) -> bool:
    """Whether ``meta.hook``, run to create ``model``, is a class-creation hook a reviewer read
    (``tables.REVIEWED_CLASS_CREATION_HOOKS``): a plain def with the reviewed text, in a module file with the
    reviewed bytes, and no base of ``model`` brings another metaclass (Python would use the most derived one,
    while the model reads the ``metaclass=`` keyword or the first base's). The caller applies it only when the
    class's metaclass is ``meta`` itself."""
    review = tables.REVIEWED_CLASS_CREATION_HOOKS.get(f"{meta.dotted}.{hook}")
    if review is None or binding.kind != "function" or not isinstance(binding.node, ast.FunctionDef):
        return False
    for part in model.mro[1:]:
        if isinstance(part, ClassModel):
            other = part.metaclass
            if other is not None and (not isinstance(other, ClassModel) or other.dotted != meta.dotted):
                return False
        elif part.dotted != "builtins.object" and part.dotted not in review[2]:
            return False
    if len(meta.body.get(hook, [])) != 1 or def_digest(binding.node) != review[0]:
        return False
    return meta.module.path is not None and file_digest(meta.module) == review[1]


def _set_name(effects: Effects, frame: _Frame, call: ast.Call) -> None:
    ref = effects.resolver.expr(frame.mod, call.func)
    if ref.kind != "class":
        return
    model = effects.resolver.class_model(ref)
    if not isinstance(model, ClassModel):
        return
    found = effects.lookup(model, "__set_name__")
    if found is None or isinstance(found[1], Leaf):
        return
    owner, binding = found
    if isinstance(owner, ClassModel) and isinstance(binding, Binding) and isinstance(binding.node,
                                                                                    ast.FunctionDef):
        result = effects.function(binding.node, owner.module, f"{owner.ref.qualname}.__set_name__",
                                  self_model=model, defining=owner, bound=True, import_ctx=True)
        if not result.inert:
            raise Fail(f"__set_name__ of {owner.dotted} runs at class creation: {result.reason}", result.where)
