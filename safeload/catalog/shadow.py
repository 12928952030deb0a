"""Which file the loader's import of a module will run: the installed library, or a file shadowing it.

The catalogue allows *names* (``zoneinfo.ZoneInfo``); the loader imports them through ``sys.path``, whose first
entry is the working directory (``''`` under ``python -c``, IPython, ``python -m``) or the script's directory.
A ``zoneinfo.py`` shipped beside a model is what ``pickle`` then imports (red team R3-4).

Invariant: a name may be allowed only when every module its import runs (each dotted prefix not yet in
``sys.modules``) resolves, the way the path finder will resolve it, to installed code: a builtin or frozen module,
the stdlib directory for a stdlib name, or a library root (the stdlib, site/dist-packages, a directory a site
``.pth`` file adds) for any other. Anything else is reported as the shadowing file. Nothing is imported: modules
are located with ``source_locate.locate_module`` (``PathFinder`` only), and only ``sys.modules`` membership is
read, never a module object.

Results are cached per (``sys.path`` snapshot, working directory, module) and revalidated by the mtimes of every
directory the lookup searched (each ``sys.path`` entry and each namespace-package portion), so a file dropped
into the working directory after a first scan is seen by the next one.
"""

from __future__ import annotations

import _compat_pickle
import os
import site
import sys
from _thread import allocate_lock  # threading.Lock itself, without importing threading (issue 15)
from collections import OrderedDict
from collections.abc import Iterable, Sequence

from safeload.catalog import source_files
from safeload.catalog.source_locate import is_stdlib_path, library_roots, locate_module

__all__ = ["clear_cache", "import_modules", "shadowing_file"]

_Stamps = tuple[tuple[str, int], ...]
_CACHE_SIZE = 4096
_cache: OrderedDict[tuple[tuple[str, ...], str, str, bool], tuple[str | None, _Stamps]] = OrderedDict()
_pth_cache: dict[tuple[str, ...], tuple[frozenset[str], _Stamps]] = {}
_lock = allocate_lock()


def clear_cache() -> None:
    with _lock:
        _cache.clear()
        _pth_cache.clear()


def import_modules(module: str, name: str) -> tuple[str, ...]:
    """The modules a pickle ``find_class(module, name)`` may import: as written, and after the py2 name
    mapping the unpickler applies to protocol < 3 streams (``copy_reg`` -> ``copyreg``)."""
    found = [module]
    mapped = _compat_pickle.NAME_MAPPING.get((module, name))
    if mapped is not None:
        found.append(mapped[0])
    elif module in _compat_pickle.IMPORT_MAPPING:
        found.append(_compat_pickle.IMPORT_MAPPING[module])
    return tuple(dict.fromkeys(found))


def _stamp(path: str) -> tuple[str, int]:
    try:
        return path, source_files.stat(path).st_mtime_ns
    except OSError:
        return path, -1


def _stamps_hold(stamps: _Stamps) -> bool:
    return all(_stamp(path) == (path, mtime) for path, mtime in stamps)


def _absolute(entry: str, cwd: str) -> str:
    return os.path.normpath(os.path.join(cwd, entry)) if cwd and not os.path.isabs(entry) else entry


def _norm(path: str) -> str:
    return source_files.realpath(path).rstrip(os.sep)


def _site_dirs() -> tuple[str, ...]:
    dirs = list(site.getsitepackages()) if hasattr(site, "getsitepackages") else []
    user = site.getusersitepackages() if hasattr(site, "getusersitepackages") else None
    if isinstance(user, str):
        dirs.append(user)
    return tuple(dict.fromkeys(dirs))


def _pth_dirs() -> frozenset[str]:
    """The directories the site directories' ``.pth`` files add to ``sys.path`` (editable installs, vendored
    trees): part of the installed environment, like site-packages itself. Lines that ``import`` are code, not
    paths, and are skipped. Revalidated by the site directories' mtimes (a new ``.pth`` changes them)."""
    dirs = _site_dirs()
    stamps = tuple(_stamp(d) for d in dirs)
    with _lock:
        hit = _pth_cache.get(dirs)
    if hit is not None and hit[1] == stamps:
        return hit[0]
    found: set[str] = set()
    for sitedir in dirs:
        try:
            names = sorted(n for n in os.listdir(sitedir) if n.endswith(".pth"))
        except OSError:
            continue
        for pth in names:
            try:
                with open(os.path.join(sitedir, pth), encoding="utf-8", errors="replace") as fh:
                    lines = fh.read(1 << 20).splitlines()
            except OSError:
                continue
            for raw in lines:
                line = raw.rstrip()
                if not line or line.startswith(("#", "import ", "import\t")):
                    continue
                path = os.path.join(sitedir, line)
                if os.path.isdir(path):
                    found.add(_norm(path))
    result = frozenset(found)
    with _lock:
        _pth_cache[dirs] = (result, stamps)
    return result


def _under(path: str, roots: Iterable[str]) -> bool:
    real = _norm(path)
    return any(real == r or real.startswith(r + os.sep) for r in roots)


def _check(module: str, entries: Sequence[str], cwd: str, *, fresh: bool = False) -> tuple[str | None, _Stamps]:
    """(the shadowing file or None, the directories the answer depends on with their mtimes)."""
    searched = [_absolute(e, cwd) for e in entries]
    depends = [_stamp(e) for e in dict.fromkeys(searched)]
    parts = module.split(".")
    stdlib_name = parts[0] in sys.stdlib_module_names
    roots: tuple[str, ...] | None = None
    locations: list[str] = list(dict.fromkeys(searched))  # where parts[depth - 1] is looked for
    for depth in range(1, len(parts) + 1):
        prefix = ".".join(parts[:depth])
        if prefix in sys.modules and not fresh:
            locations = []
            continue  # already imported: the loader's import returns that module and runs nothing new
        # a package directory in a location searched first, absent or without __init__ now, changes the answer
        # once created or filled: its own mtime, not the location's, changes then (red team R4-4)
        depends.extend(_stamp(os.path.join(loc, parts[depth - 1])) for loc in locations)
        found = locate_module(prefix, entries)
        locations = [_absolute(p, cwd) for p in found.search_locations]
        depends.extend(_stamp(loc) for loc in locations)
        if found.kind in ("builtin", "missing"):
            # a builtin is the interpreter's own; a module the path finder cannot find is not imported by it
            # (the import fails, or the environment's own later finder answers): no shadow, and nothing below
            break
        if found.kind == "namespace":
            continue  # no code of its own runs; its portions (stamped above) decide where its children are found
        location = found.origin or found.path
        if location is None:
            return f"<{prefix}: {found.kind} module with no file>", tuple(depends)
        if stdlib_name:
            if not is_stdlib_path(location):
                return location, tuple(depends)
            continue
        if roots is None:
            roots = (*library_roots(entries), *_pth_dirs())
        if not _under(location, roots):
            # a shadow only when an installed module of that name exists behind it; a module found only outside
            # the library roots is the user's own code, decided (and trusted) by the "not library code" rule
            installed = locate_module(prefix, [e for e in entries if _under(_absolute(e, cwd), roots)])
            if installed.kind != "missing":
                return location, tuple(depends)
            break
    return None, tuple(depends)


def shadowing_file(module: str, search_path: Sequence[str] | None = None) -> str | None:
    """The file outside the installed library that importing ``module`` would run, or None when every module
    the import runs is installed code (or already imported). Inside a ``source_files.recording_files`` block (a
    verdict the scan cache may keep), the directories the answer depends on are reported there; when the answer
    is None only because the module is already imported in this process, a fresh process's answer is looked up
    and, if that one is a shadow, the verdict is marked never to be stored (red team R4-2)."""
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
    shadow, stamps = _lookup(entries, cwd, module, fresh=loaded)
    if source_files.recording():
        source_files.record([source_files.UNCACHEABLE] if loaded and shadow is not None else
                            [(source_files.LOOKUP + path, mtime, -1, -1, -1) for path, mtime in stamps])
    return None if loaded else shadow


def _lookup(entries: tuple[str, ...], cwd: str, module: str, *, fresh: bool) -> tuple[str | None, _Stamps]:
    """``_check``'s answer, cached per process; ``fresh``: as a process that has imported none of the module's
    packages yet would find it."""
    key = (entries, cwd, module, fresh)
    with _lock:
        hit = _cache.get(key)
    if hit is not None and _stamps_hold(hit[1]):
        return hit
    result = _check(module, entries, cwd, fresh=fresh)
    with _lock:
        _cache[key] = result
        _cache.move_to_end(key)
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return result
