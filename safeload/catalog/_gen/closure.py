"""The reviewed import closure of every vouched package: which of its modules' imports leave reviewed territory.

A vouch in ``catalog/reviewed.py`` (``IMPORT_REVIEWED``) says that importing the package's modules is benign.
Importing a module also runs every module its top level imports, transitively; that closure may leave the
package (``pandas.plotting._matplotlib`` imports matplotlib, whose import writes its configuration directory).
This generator computes, for every module of every vouched package, the top-level packages its module-level
imports reach transitively, and records the modules whose closure reaches anything outside *reviewed
territory*: the vouched packages, the standard library (minus the modules ``source_tables`` denies) and the
reviewed third-party packages of ``THIRD_PARTY_REVIEWED``. At scan time (``catalog/closure.py``) such a module is
covered by its vouch for its own top level only: what it imports is analysed like any other import.

What counts as a module-level import (the rules the scan-time walk uses, ``source_imports.top_level_imports``):
statements of the top level, of class bodies and of every ``if``/``try``/loop/``with``/``match`` branch, guarded
or not (a guarded import of an absent package is recorded too: it may be installed where the scan runs);
``from pkg import name`` imports the submodule ``pkg.name`` when there is one, ``from pkg import *`` the
submodules ``pkg.__all__`` names; ``if TYPE_CHECKING:`` and ``__main__`` bodies never run on import. Imports in
function bodies run only when the function is called: those of functions the top level calls or decorates with
(same module, any depth) are counted, other function bodies are not (a lazy import elsewhere runs only when
library code is called, which the source analysis checks separately). Compiled modules are opaque (their imports
cannot be read); they are part of their package's vouch.

Invariant: nothing is imported. Modules are enumerated from the package directories, located with
``importlib.machinery.PathFinder`` (``catalog/source_locate.py``) and read with ``ast``.
"""

from __future__ import annotations

import ast
import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from safeload.catalog import source_tables as tables
from safeload.catalog.source_imports import called_function_imports, top_level_imports
from safeload.catalog.source_locate import ModuleSource, locate_module

__all__ = ["THIRD_PARTY_REVIEWED", "Closure", "compute", "render"]

# Third-party packages that vouched packages import at module level, reviewed as benign to import (their top
# level defines classes and functions, builds constants and registers with their own registries; no files,
# processes, network or environment). They extend the territory a vouched module's closure may reach; they are
# not vouched themselves (a file naming one of their modules directly is analysed like any other).
# Each was also imported in a fresh process with HOME, XDG dirs, TMPDIR and the working directory pointed at an
# empty directory: none wrote anything there (matplotlib, the control, creates its configuration directory).
THIRD_PARTY_REVIEWED: dict[str, str] = {
    "dateutil": "python-dateutil (pandas.tseries.holiday): date parsing, relativedelta and tz classes; "
                "time zone files are read when a zone is asked for, not at import",
    "numexpr": "numexpr (pandas.core.computation.expressions, when installed): counts cores (os.sysconf; "
               "`sysctl -n hw.ncpu` on macOS), reads NUMEXPR_*/OMP_NUM_THREADS, sizes its own thread pool, "
               "logs at info level",
    "narwhals": "narwhals (sklearn.utils.validation, lightgbm.sklearn): dataframe compatibility layer; defines "
                "classes, looks backends up in sys.modules when called",
    "tqdm": "tqdm (torch.hub, transformers, huggingface_hub): progress-bar classes; no I/O until a bar is drawn",
    "mpmath": "mpmath (sympy, reached through torch): arbitrary precision; picks its backend (gmpy if installed, "
              "MPMATH_NOGMPY) and builds constants",
    "torchgen": "torchgen, shipped in the torch distribution: the operator schema model (dataclasses, enums)",
    "opt_einsum": "opt_einsum (torch.backends.opt_einsum): contraction-path search; registers its path "
                  "functions in its own table",
    "optree": "optree (torch.utils._cxx_pytree): pytree C extension; registers builtin node types in its own "
              "registry",
    "psutil": "psutil (joblib's loky, transformers): reads /proc (CPU times, feature probes) at import; no writes",
    "cloudpickle": "cloudpickle (joblib's loky): pickler classes; registers nothing global at import",
    "lz4": "lz4 (joblib.compressor): compression C extension; defines functions",
    "wrapt": "wrapt (gensim): decorator and proxy classes (C extension); no global patching at import",
    "jinja2": "jinja2 (torch._inductor, transformers chat templates): template engine; import defines classes "
              "and compiles regexes",
    "markupsafe": "markupsafe (jinja2, pandas Styler): the Markup string class and its C speedups",
    "PIL": "Pillow (transformers image utilities): image classes; format plugins load when an image is opened",
    "filelock": "filelock (huggingface_hub, torch.utils._filelock): lock classes; a lock is taken when called",
    "regex": "regex (transformers tokenization): regular-expression C extension",
    "httpx2": "httpx2 (huggingface_hub): HTTP client classes; no connection until a request is made",
    "httpcore2": "httpcore2 (httpx2): connection-pool classes; no connection until a request is made",
    "h11": "h11 (httpcore2): HTTP/1.1 state machine, pure Python",
    "anyio": "anyio (httpcore2): async backends, imported lazily; defines classes",
    "idna": "idna (httpx2): IDNA codec tables",
    "certifi": "certifi (httpx2): returns the CA bundle path when called",
    "pytz": "pytz (pandas.io._util, through import_optional_dependency): time zone classes; zone files are "
            "read when a zone is asked for",
}


@dataclass
class Closure:
    """The generator's result: per vouched package its versions and the modules whose closure leaves."""

    packages: tuple[str, ...]
    territory: frozenset[str]
    #: top-level package -> {distribution: version} and the names of their ``.dist-info`` directories
    versions: dict[str, dict[str, str]] = field(default_factory=dict)
    dist_info: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: module of a vouched package -> the outside top-level packages (or denied modules) its closure reaches
    leaves: dict[str, tuple[str, ...]] = field(default_factory=dict)
    modules: int = 0
    unreadable: dict[str, str] = field(default_factory=dict)
    #: module -> what it imports from outside reviewed territory itself (for the generator's log and review)
    direct: dict[str, set[str]] = field(default_factory=dict)
    #: module -> the modules of reviewed territory it imports directly (for the generator's review)
    edges: dict[str, list[str]] = field(default_factory=dict)


class _Reader:
    """Locates and parses modules under one search path (``None``: ``sys.path``), each once."""

    def __init__(self, search_path: Sequence[str] | None) -> None:
        self.search_path = search_path
        self._located: dict[str, ModuleSource] = {}

    def locate(self, name: str) -> ModuleSource:
        found = self._located.get(name)
        if found is None:
            found = self._located[name] = locate_module(name, self.search_path)
        return found

    def is_package(self, name: str) -> bool:
        return self.locate(name).is_package

    def is_module(self, name: str) -> bool:
        return self.locate(name).kind != "missing"

    def star(self, base: str) -> list[str]:
        """Submodules ``from base import *`` imports: those ``__all__`` names (a computed ``__all__``: every
        direct submodule, an over-approximation that can only mark more modules as leaving)."""
        found = self.locate(base)
        if not found.is_package:
            return []
        tree = _parse(found.path) if found.path else None
        names: list[str] | None = None
        for stmt in tree.body if tree is not None else ():
            if isinstance(stmt, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__"
                                                    for t in stmt.targets):
                value = stmt.value
                if isinstance(value, ast.List | ast.Tuple) and all(
                        isinstance(e, ast.Constant) and isinstance(e.value, str) for e in value.elts):
                    names = [str(e.value) for e in value.elts if isinstance(e, ast.Constant)]
                else:
                    names = None
                    break
        if names is None:
            names = [child for child, _kind in _children(found)]
        return [f"{base}.{n}" for n in names if self.is_module(f"{base}.{n}")]

    def imports_of(self, name: str, found: ModuleSource) -> list[str] | None:
        """The dotted modules ``name``'s import runs directly (None when its source cannot be read)."""
        tree = _parse(found.path) if found.path else None
        if tree is None:
            return None
        body = [*tree.body, *called_function_imports(tree)]
        found_imports = top_level_imports(body, name, found.is_package, self.is_package, self.is_module, self.star)
        out: list[str] = []
        for dotted, _guarded in found_imports:
            parts = dotted.split(".")
            out.extend(".".join(parts[:depth]) for depth in range(1, len(parts) + 1))
        return list(dict.fromkeys(out))


def _parse(path: str) -> ast.Module | None:
    try:
        with open(path, "rb") as handle:
            return ast.parse(handle.read(), filename=path)
    except (OSError, SyntaxError, ValueError):
        return None


def _children(found: ModuleSource) -> list[tuple[str, str]]:
    """(name, "module" | "package") of the direct submodules in a package's directories."""
    out: dict[str, str] = {}
    for location in found.search_locations:
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


def _outside(name: str, territory: frozenset[str]) -> str | None:
    """What importing ``name`` (as a dependency) brings in from outside reviewed territory, else None."""
    top = name.split(".", 1)[0]
    if top in sys.stdlib_module_names or top in sys.builtin_module_names:
        return name if tables.denied_module_reason(name) is not None else None
    return None if top in territory else top


def compute(packages: Iterable[str], extra: Iterable[str] = (), search_path: Sequence[str] | None = None) -> Closure:
    """The closure table for ``packages`` (vouched) with ``extra`` (reviewed third-party) as more territory."""
    reader = _Reader(search_path)
    vouched = tuple(sorted(set(packages)))
    territory = frozenset(vouched) | frozenset(extra)
    result = Closure(vouched, territory)
    # module -> the modules it imports directly; out -> direct outside names
    edges: dict[str, list[str]] = {}
    direct_out: dict[str, set[str]] = {}
    queue: list[str] = []
    for top in vouched:
        found = reader.locate(top)
        if found.kind == "missing":
            continue
        queue.append(top)
        stack = [found]
        while stack:
            package = stack.pop()
            for child, kind in _children(package):
                full = f"{package.name}.{child}"
                queue.append(full)
                if kind == "package":
                    sub = reader.locate(full)
                    if sub.is_package:
                        stack.append(sub)
    seen: set[str] = set()
    while queue:
        name = queue.pop()
        if name in seen:
            continue
        seen.add(name)
        found = reader.locate(tables.MODULE_ALIASES.get(name, name))
        if found.kind in ("missing", "namespace", "compiled", "builtin") or found.path is None:
            edges[name] = []  # nothing to read: absent, a directory, or opaque compiled code of its package
            continue
        imports = reader.imports_of(name, found)
        if imports is None:
            result.unreadable[name] = "source cannot be parsed"
            direct_out[name] = {"<unreadable source>"}
            edges[name] = []
            continue
        edges[name] = []
        for dep in imports:
            outside = _outside(dep, territory)
            if outside is not None:
                direct_out.setdefault(name, set()).add(outside)
            elif dep.split(".", 1)[0] in territory:
                edges[name].append(dep)
                queue.append(dep)
    result.modules = len(edges)
    result.direct = direct_out
    result.edges = edges
    reverse: dict[str, set[str]] = {}
    for src, dsts in edges.items():
        for dst in dsts:
            reverse.setdefault(dst, set()).add(src)
    origins: dict[str, list[str]] = {}
    for origin, outs in direct_out.items():
        for out in outs:
            origins.setdefault(out, []).append(origin)
    reached: dict[str, set[str]] = {}
    for out, starts in origins.items():  # every importer, transitively, of a module importing ``out``
        todo = list(starts)
        marked = set(starts)
        while todo:
            node = todo.pop()
            reached.setdefault(node, set()).add(out)
            for parent in reverse.get(node, ()):
                if parent not in marked:
                    marked.add(parent)
                    todo.append(parent)
    # test and script modules are never covered at scan time (``catalog/closure.py``): no entries for them
    result.leaves = {name: tuple(sorted(outs)) for name, outs in sorted(reached.items())
                     if name.split(".", 1)[0] in vouched and tables.denied_module_reason(name) is None}
    return result


def render(closure: Closure) -> str:
    """``generated/closure.py``: compact literals, imported lazily at scan time by ``catalog/closure.py``."""
    # outside names are few: number them so each leaving module costs one small tuple of ints
    names = sorted({o for outs in closure.leaves.values() for o in outs})
    index = {n: i for i, n in enumerate(names)}
    checked = {d: v for dists in closure.versions.values() for d, v in sorted(dists.items())}
    lines = ['"""Generated by ``python -m safeload.catalog._generate``: do not edit.\n\n'
             "The reviewed import closure of every vouched package (``catalog/_gen/closure.py``): the modules whose\n"
             "module-level imports reach, transitively, a package outside reviewed territory.\n"
             '"""\n# ruff: noqa: E501\n\nfrom __future__ import annotations\n\n',
             f"# {closure.modules} modules read; {len(closure.leaves)} leave reviewed territory\n",
             f"CHECKED_AGAINST: dict[str, str] = {checked!r}\n\n",
             f"PACKAGES: frozenset[str] = frozenset({list(closure.packages)!r})\n\n",
             "# top-level package -> the distribution metadata directories beside it the table was computed from\n",
             "DIST_INFO: dict[str, tuple[str, ...]] = {\n"]
    lines += [f"    {top!r}: {names!r},\n" for top, names in sorted(closure.dist_info.items())]
    lines.append("}\n\n# what leaving modules reach: an outside top-level package or a denied module\n")
    lines.append(f"OUTSIDE: tuple[str, ...] = {tuple(names)!r}\n\n")
    groups = sorted({tuple(index[o] for o in outs) for outs in closure.leaves.values()})
    group = {g: i for i, g in enumerate(groups)}
    lines.append("# the distinct sets of OUTSIDE indexes a closure reaches\n")
    lines.append(f"REACHES: tuple[tuple[int, ...], ...] = {tuple(groups)!r}\n\n")
    lines.append("# module -> index into REACHES\nLEAVES: dict[str, int] = {\n")
    lines += [f"    {name!r}: {group[tuple(index[o] for o in outs)]},\n"
              for name, outs in sorted(closure.leaves.items())]
    lines.append("}\n")
    return "".join(lines)
