"""Which file outside the installed library a module's *import closure* would run (red team R3-4, transitive).

``catalog/shadow.py`` binds the dotted path of a name's own module to installed code. Importing that module also
imports what its top level imports, transitively: the installed ``zoneinfo`` imports ``datetime``, and a
``datetime.py`` in the working directory (first on ``sys.path``) is what runs.

Invariant: a module the load will import is reported when a module its import closure reaches (and that is not
yet in ``sys.modules``) would be found by the path finder in a ``sys.path`` entry outside the library roots (the
stdlib, site/dist-packages, ``.pth`` directories): the working directory, a script's directory, a ``PYTHONPATH``
directory. Nothing is imported; files are located with the path finder and read with ``ast``.

How the closure is read, cheapest first:
1. the *candidates*: the top-level module names those outside entries provide (one ``listdir`` per entry, cached
   by the entry's mtime) that the path finder would take from there. None (the usual case): nothing to check;
2. a module of a vouched package whose reviewed closure table covers it (``catalog/closure.py``) reaches only
   reviewed territory (the stdlib minus denied modules, the vouched packages, ``THIRD_PARTY_REVIEWED``) and the
   outside packages the table lists for it: a candidate with a name in that territory is reported without
   reading further (conservative: the table does not record which stdlib modules a closure reaches, and
   reading a framework's closure takes minutes); with no candidate there nothing is read;
3. any other installed module is read: the imports of its top level (every branch, class bodies, functions
   its top level calls: ``source_imports.static_imports``) are followed breadth first, at most ``_BUDGET``
   modules; beyond that the answer is "cannot tell", reported as a shadow (fails closed).
A module found outside the library roots is the user's own code (not followed: the other rules decide on it);
compiled modules cannot be read (their imports are part of their package, as for the closure table). Imports made
only in functions that run later, and dynamic imports (``importlib.import_module``), are not seen.
"""

from __future__ import annotations

import os
import sys
from _thread import allocate_lock  # threading.Lock itself, without importing threading (issue 15)
from collections import OrderedDict, deque
from collections.abc import Sequence

from safeload.catalog import source_files
from safeload.catalog.shadow import _absolute, _norm, _pth_dirs, _stamp, _stamps_hold, _under
from safeload.catalog.source_locate import library_roots, locate_module

__all__ = ["clear_cache", "closure_shadowing_file"]

_BUDGET = 4000
_SOURCE_SUFFIXES = (".py", ".pyc", ".pyw")
_Stamps = tuple[tuple[str, int], ...]
_lock = allocate_lock()
_entry_cache: dict[str, tuple[frozenset[str], tuple[str, int], _Stamps]] = {}
_cache: OrderedDict[tuple[tuple[str, ...], str, str], tuple[str | None, _Stamps]] = OrderedDict()
_CACHE_SIZE = 1024
_candidate_cache: dict[tuple[tuple[str, ...], str], tuple[dict[str, str], list[tuple[str, int]]]] = {}


def clear_cache() -> None:
    with _lock:
        _entry_cache.clear()
        _cache.clear()
        _candidate_cache.clear()


def _names_in(directory: str) -> tuple[frozenset[str], _Stamps]:
    """(top-level module names ``directory`` provides: source and sourceless modules, extension modules and
    regular packages; the stamps of its subdirectories). A package is a directory holding ``__init__`` with any
    suffix the path finder imports (``__init__.pyc`` or an extension module too: red team R5-3); a bare directory
    is only a namespace portion (an installed module of the name wins) until an ``__init__`` is written into it,
    which changes the subdirectory's mtime, not ``directory``'s: the subdirectories are stamped too (R4-4 for
    the transitive check)."""
    stamp = _stamp(directory)
    with _lock:
        hit = _entry_cache.get(directory)
    if hit is not None and hit[1] == stamp and _stamps_hold(hit[2]):
        return hit[0], hit[2]
    names: set[str] = set()
    subdirs: list[tuple[str, int]] = []
    try:
        listing = os.listdir(directory) if os.path.isdir(directory) else []
    except OSError:
        listing = []
    for entry in listing[:100_000]:
        head = entry.split(".", 1)[0]
        if not head.isidentifier():
            continue
        if entry.endswith(_SOURCE_SUFFIXES) or entry.endswith((".so", ".pyd")):
            names.add(head)
        elif "." not in entry:
            sub = os.path.join(directory, entry)
            if not os.path.isdir(sub):
                continue
            subdirs.append(_stamp(sub))
            if any(os.path.isfile(os.path.join(sub, "__init__" + suffix)) for suffix in _init_suffixes()):
                names.add(entry)
    result = frozenset(names)
    stamps = tuple(subdirs)
    with _lock:
        _entry_cache[directory] = (result, stamp, stamps)
    return result, stamps


def _init_suffixes() -> tuple[str, ...]:
    """The suffixes of a package's ``__init__`` the path finder imports (extension modules, source, bytecode)."""
    import _imp

    return (*_imp.extension_suffixes(), *_SOURCE_SUFFIXES)


def _candidates(entries: tuple[str, ...], cwd: str) -> tuple[dict[str, str], list[tuple[str, int]]]:
    """{top-level name: the file the path finder would import for it} for names provided by entries outside the
    library roots (imported or not: the caller filters), with the directories (and mtimes) the answer depends on
    (cached per ``sys.path`` snapshot and working directory, revalidated by those mtimes)."""
    key = (entries, cwd)
    with _lock:
        hit = _candidate_cache.get(key)
    if hit is None or not _stamps_hold(tuple(hit[1])):
        hit = _find_candidates(entries, cwd)
        with _lock:
            _candidate_cache[key] = hit
            while len(_candidate_cache) > 64:
                _candidate_cache.pop(next(iter(_candidate_cache)))
    return hit


def _find_candidates(entries: Sequence[str], cwd: str) -> tuple[dict[str, str], list[tuple[str, int]]]:
    roots: tuple[str, ...] | None = None
    found: dict[str, str] = {}
    depends: list[tuple[str, int]] = []
    for entry in entries:
        directory = _absolute(entry, cwd)
        if roots is None:
            roots = (*library_roots(entries), *_pth_dirs())
        if _under(directory, roots):
            continue
        depends.append(_stamp(directory))
        names, subdirs = _names_in(directory)
        depends.extend(subdirs)
        for name in names:
            if name in found or name in sys.builtin_module_names:
                continue
            located = locate_module(name, entries)
            location = located.origin or located.path
            if located.kind in ("source", "package", "compiled", "bytecode", "unsupported") and location and \
                    _under(location, (_norm(directory),)):
                found[name] = location
    return found, depends


def closure_shadowing_file(module: str, search_path: Sequence[str] | None = None) -> str | None:
    """The file outside the installed library that importing ``module``'s closure would run, or None. Inside a
    ``source_files.recording_files`` block the directories the answer rests on are reported, and a verdict this
    process's earlier imports decided is marked never to be stored."""
    loaded = module in sys.modules
    if loaded and not source_files.recording():
        return None
    entries = tuple(str(p) for p in (sys.path if search_path is None else search_path))
    cwd = ""
    if any(not os.path.isabs(e) for e in entries):
        try:
            cwd = os.getcwd()
        except OSError:
            cwd = "<no working directory>"
    provided, depends = _candidates(entries, cwd)
    candidates = {name: where for name, where in provided.items() if name not in sys.modules}
    if source_files.recording():
        # A verdict the scan cache keeps is served in other processes: it holds while these directories are
        # unchanged, and only if this process's imports hid nothing a fresh process would find (red team R4-2)
        source_files.record([source_files.UNCACHEABLE] if _hidden_by_imports(provided) else
                            [(source_files.LOOKUP + path, mtime, -1, -1, -1) for path, mtime in depends])
    if loaded or not candidates or module.split(".", 1)[0] in candidates:
        return None  # nothing to shadow; or the module itself is found there (shadow.py and the other rules)
    key = (entries, cwd, module)
    with _lock:
        hit = _cache.get(key)
    if hit is not None and _stamps_hold(hit[1]):
        return hit[0]
    result = _walk(module, entries, candidates)
    with _lock:
        _cache[key] = (result, tuple(depends))
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return result


def _hidden_by_imports(provided: dict[str, str]) -> bool:
    """Whether a file these entries provide is shadowed here only because this process already imported another
    module of that name (a fresh process would import the file). The loaded module's ``__file__`` is read from
    its ``__dict__``: no module ``__getattr__`` runs."""
    for name, where in provided.items():
        loaded = sys.modules.get(name)
        if loaded is None:
            continue
        origin = loaded.__dict__.get("__file__")
        if not isinstance(origin, str) or _norm(origin) != _norm(where):
            return True
    return False


def _territory_hit(module: str, candidates: dict[str, str], entries: Sequence[str]) -> tuple[bool, str | None]:
    """(covered, the candidate file its closure may reach): ``covered`` is False when the reviewed closure table
    does not cover ``module`` (read the module instead)."""
    from safeload.catalog import closure as table_view
    from safeload.catalog.source_tables import denied_module_reason

    # the static closure: a declared plugin (SL119's finding) does not make the table's imports unknown, and
    # reading torch's whole closure instead took minutes of CPU whenever a torch plugin was installed
    covered, _ = table_view.closure_covered(module, entries, plugins=False)
    table = table_view._table
    if not covered or table is None:
        return False, None
    from safeload.catalog._gen.closure import THIRD_PARTY_REVIEWED

    reach = set(table.PACKAGES) | set(THIRD_PARTY_REVIEWED)
    leaves = table.LEAVES.get(module)
    if leaves is not None:
        reach |= {name.split(".", 1)[0] for name in (table.OUTSIDE[i] for i in table.REACHES[leaves])}
    for name, location in sorted(candidates.items()):
        # the table does not list the stdlib modules a closure reaches, and reading a framework's whole closure
        # takes minutes: any stdlib name but a denied one (``test``, ``tkinter``: outside the territory) counts
        if name in reach or (name in sys.stdlib_module_names and denied_module_reason(name) is None):
            return True, location
    return True, None


def _walk(module: str, entries: Sequence[str], candidates: dict[str, str]) -> str | None:
    from safeload.catalog.plugins import Plugin, plugins_reached
    from safeload.catalog.source_imports import static_imports
    from safeload.catalog.source_model import ModuleInfo, Resolver

    resolver = Resolver(list(entries))
    roots = (*library_roots(entries), *_pth_dirs())
    parts = module.split(".")
    queue = deque(".".join(parts[:i]) for i in range(1, len(parts) + 1))
    seen: set[str] = set(queue)
    # the modules of the entry points the closure's owners load at import (red team R10-3): the plugin itself is
    # SL119's (trusted or refused, wherever it is installed), but what it imports is walked like the rest
    plugin_modules: set[str] = set()
    plugin_dists: dict[str, set[str]] = {}
    memo: dict[str, tuple[Plugin, ...]] = {}
    budget = _BUDGET
    while queue:
        name = queue.popleft()
        if name in sys.modules:
            continue
        top = name.split(".", 1)[0]
        plugin = name in plugin_modules
        if top in candidates and (not plugin or not _installed_with(candidates[top], top, plugin_dists[top],
                                                                    entries)):
            # a plugin's own module is found where its distribution is installed, or it is a shadow of it (red
            # team R11-2: a file of the plugin's name in the working directory runs instead of the trusted plugin)
            return candidates[top]
        budget -= 1
        if budget < 0:
            return f"<the import closure of {module} is too large to check for shadowing files>"
        if top not in sys.stdlib_module_names and not plugin:
            for reached in plugins_reached(name, entries, memo):
                target = reached.value.split("[", 1)[0].partition(":")[0].strip()
                if not target or target.startswith("<"):
                    continue
                chain = target.split(".")
                plugin_dists.setdefault(chain[0], set()).add(reached.distribution)
                for end in range(1, len(chain) + 1):
                    prefix = ".".join(chain[:end])
                    plugin_modules.add(prefix)
                    if prefix not in seen:
                        seen.add(prefix)
                        queue.append(prefix)
            covered, hit = _territory_hit(name, candidates, entries)
            if hit is not None:
                return hit
            if covered:
                continue
        found = resolver.module(name)
        if not isinstance(found, ModuleInfo):
            continue  # missing (the import fails), builtin, compiled or namespace: nothing readable to follow
        if not plugin and not _under(found.path, roots):
            continue  # the user's own code: decided by the other rules
        for imported, _guarded in static_imports(found, resolver, calls=True):
            chain = imported.split(".")
            for end in range(1, len(chain) + 1):
                prefix = ".".join(chain[:end])
                if prefix not in seen:
                    seen.add(prefix)
                    queue.append(prefix)
    return None


def _installed_with(location: str, top: str, distributions: set[str], entries: Sequence[str]) -> bool:
    """``location`` (the file the path finder takes for the top-level module ``top``) is in the path entry that
    holds the metadata of one of ``distributions`` (the ones declaring the plugin): it is the plugin as installed,
    not a file of its name found first elsewhere. Never in the working directory or the script's directory (the
    first path entry): a file dropped there can bring a copy of the metadata along (red team R11-3)."""
    try:
        cwd = os.getcwd()
    except OSError:
        return False
    dropped = {_norm(cwd), *(_norm(_absolute(entry, cwd)) for entry in entries[:1])}
    path = _norm(location)
    while True:
        parent = os.path.dirname(path)
        if parent == path:
            return False
        if os.path.basename(path).split(".", 1)[0] == top:
            break
        path = parent
    if parent in dropped:
        return False
    return any(os.path.isdir(os.path.join(parent, dist + suffix)) for dist in distributions
               for suffix in (".dist-info", ".egg-info"))
