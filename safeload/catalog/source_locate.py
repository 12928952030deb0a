"""Find an installed module's source file without importing anything.

Invariant: nothing here imports, executes or reads attributes of a module object. Modules are located with
``importlib.machinery.PathFinder`` one dotted component at a time, each child searched in the parent's
``submodule_search_locations`` (``importlib.util.find_spec`` would import the parent packages), and
``sys.modules`` is never consulted (a module ``__getattr__`` would run code).
"""

from __future__ import annotations

import _imp
import functools
import os
import site
import sys
import sysconfig
from collections.abc import Sequence
from importlib.machinery import (
    EXTENSION_SUFFIXES,
    ExtensionFileLoader,
    ModuleSpec,
    PathFinder,
    SourceFileLoader,
    SourcelessFileLoader,
)

from safeload._record import FrozenRecord
from safeload.catalog import source_files
from safeload.catalog.source_files import PathStamps, path_stamps

__all__ = ["ModuleSource", "declares_entry_points", "display_path", "is_stdlib_path", "library_roots",
           "locate_module", "namespace_import_runs_code"]

#: What a located module is: only ``source``, ``package`` and ``namespace`` can be analysed.
KINDS = ("source", "package", "namespace", "compiled", "bytecode", "builtin", "unsupported", "missing")


class ModuleSource(FrozenRecord):
    """Where ``name`` lives. ``path`` is the ``.py`` file (``__init__.py`` for a package), ``None`` otherwise.

    A hand-written record, not a dataclass (issue 15: ``dataclasses`` imports ``inspect``; this is on the path
    of a first load that names any global)."""

    _FIELDS = ("name", "kind", "path", "search_locations", "origin", "root")
    __slots__ = ("kind", "name", "origin", "path", "root", "search_locations")
    name: str
    kind: str
    path: str | None
    search_locations: tuple[str, ...]
    origin: str | None
    #: the ``sys.path`` entry the top-level package was found under
    root: str | None

    def __init__(self, name: str, kind: str, path: str | None = None,  # noqa: PLR0917 - the dataclass's signature
                 search_locations: tuple[str, ...] = (), origin: str | None = None, root: str | None = None) -> None:
        setter = object.__setattr__
        setter(self, "name", name)
        setter(self, "kind", kind)
        setter(self, "path", path)
        setter(self, "search_locations", search_locations)
        setter(self, "origin", origin)
        setter(self, "root", root)

    @property
    def analysable(self) -> bool:
        return self.kind in ("source", "package", "namespace")

    @property
    def is_package(self) -> bool:
        return self.kind in ("package", "namespace")


def _valid_name(name: str) -> bool:
    return bool(name) and all(part.isidentifier() for part in name.split("."))


def _plain_locations(locations: object) -> tuple[str, ...]:
    """A namespace package's ``_NamespacePath`` recomputes itself from ``sys.modules[parent].__path__`` when
    iterated; read its stored list instead so nothing outside the file system is consulted."""
    if locations is None:
        return ()
    stored = getattr(locations, "_path", None)
    if isinstance(stored, list):
        return tuple(str(p) for p in stored)
    if isinstance(locations, list | tuple):
        return tuple(str(p) for p in locations)
    return ()


def _spec_to_source(name: str, spec: object, root: str | None) -> ModuleSource:
    loader = getattr(spec, "loader", None)
    origin = getattr(spec, "origin", None)
    locations = getattr(spec, "submodule_search_locations", None)
    locs = _plain_locations(locations)
    if loader is None or origin in (None, "namespace"):
        if locations is not None:
            return ModuleSource(name, "namespace", None, locs, None, root)
        return ModuleSource(name, "missing", root=root)
    if isinstance(loader, ExtensionFileLoader) or (isinstance(origin, str) and origin.endswith(
            tuple(EXTENSION_SUFFIXES))):
        return ModuleSource(name, "compiled", None, locs, origin, root)
    if isinstance(loader, SourcelessFileLoader):
        return ModuleSource(name, "bytecode", None, locs, origin, root)
    if isinstance(loader, SourceFileLoader) and isinstance(origin, str) and origin.endswith(".py"):
        return ModuleSource(name, "package" if locations is not None else "source", origin, locs, origin, root)
    return ModuleSource(name, "unsupported", None, locs, origin if isinstance(origin, str) else None, root)


def _root_of(origin: str | None, entries: Sequence[str]) -> str | None:
    if origin is None:
        return None
    real = source_files.realpath(origin)
    best: str | None = None
    for entry in entries:
        base = source_files.realpath(entry or os.curdir)
        if (real == base or real.startswith(base.rstrip(os.sep) + os.sep)) and (best is None or len(base) > len(
                best)):
            best = base
    return best


def _find_child(fullname: str, locations: list[str]) -> ModuleSpec | None:
    """``PathFinder.find_spec`` for a submodule, without its ``_NamespacePath`` wrapper: that wrapper reads
    ``sys.modules[parent].__path__`` when built, which must not happen for a parent nobody imported. The
    path finder's own ``_get_spec`` (CPython 3.4+) returns the plain spec; namespace portions come back with
    no loader and a plain list of locations."""
    get_spec = getattr(PathFinder, "_get_spec", None)
    if get_spec is None:  # pragma: no cover - every supported CPython has it
        return None
    spec = get_spec(fullname, locations)
    if not isinstance(spec, ModuleSpec):
        return None
    if spec.loader is None and not spec.submodule_search_locations:
        return None
    return spec


def locate_module(name: str, search_path: Sequence[str] | None = None) -> ModuleSource:
    """Locate ``name`` (dotted) the way the import system's path finder would, without importing it."""
    if not _valid_name(name):
        return ModuleSource(name, "missing")
    entries = [str(p) for p in (sys.path if search_path is None else search_path)]
    parts = name.split(".")
    if parts[0] in sys.builtin_module_names:
        return ModuleSource(name, "builtin" if len(parts) == 1 else "missing")
    if _imp.is_frozen(parts[0]):
        # the import system's FrozenImporter comes before the path finder: a frozen stdlib module (os, codecs,
        # importlib...) cannot be shadowed by a file earlier on sys.path, so read the stdlib copy of its source
        entries = [e for e in (*_stdlib_roots(), *entries) if _norm(e) in _stdlib_roots()] or entries
    spec = PathFinder.find_spec(parts[0], entries)
    if spec is None:
        return ModuleSource(name, "missing")
    first = _plain_locations(spec.submodule_search_locations)
    root = _root_of(spec.origin if spec.origin not in (None, "namespace") else (first[0] if first else None),
                    entries)
    current = _spec_to_source(parts[0], spec, root)
    for depth in range(1, len(parts)):
        if not current.search_locations:
            return ModuleSource(name, "missing", root=root)
        child = ".".join(parts[: depth + 1])
        spec = _find_child(child, list(current.search_locations))
        if spec is None:
            return ModuleSource(name, "missing", root=root)
        current = _spec_to_source(child, spec, root)
    return current


#: The one ``__init__.py`` a pkgutil-style namespace package may hold (``backports``, ``jaraco``...), as ast dumps:
#: ``pkgutil.extend_path`` lists the ``<top>`` directories and reads ``<top>.pkg`` files on ``sys.path``; it
#: imports and runs nothing else.
_SHIM_SOURCES = ("__path__ = __import__('pkgutil').extend_path(__path__, __name__)",
                 "from pkgutil import extend_path\n__path__ = extend_path(__path__, __name__)")


@functools.cache
def _shim_dumps() -> frozenset[str]:
    import ast

    return frozenset(ast.dump(ast.parse(text)) for text in _SHIM_SOURCES)


def _is_namespace_shim(path: str) -> bool:
    """Whether importing the ``__init__.py`` at ``path`` runs only the extend_path line: its text is that line and
    the import would run code compiled from it (a ``__pycache__`` ``.pyc`` it would use instead, unchecked-hash
    or stamped with the source's mtime and size, must be that code: red team R9-1)."""
    import ast

    from safeload.catalog.source_model import cached_bytecode, file_stat

    try:
        with open(path, "rb") as handle:
            data = handle.read(4096 + 1)
        if len(data) > 4096 or ast.dump(ast.parse(data)) not in _shim_dumps():
            return False
        return cached_bytecode(path, file_stat(path))[0] is None
    except (OSError, SyntaxError, ValueError):
        return False


def namespace_import_runs_code(name: str, search_path: Sequence[str] | None = None) -> bool:
    """Whether importing ``name`` (a top-level package, or ``<top>.<sub>``) would run any code, for a ``top``
    that may be a namespace package: False only when ``top`` is missing, or is a PEP 420 namespace or a
    pkgutil-style one whose ``__init__.py`` is exactly the extend_path line, and (for ``<top>.<sub>``) no
    ``<top>`` directory on the path holds ``sub`` and no ``<top>.pkg`` file could add one. Anything else
    (a module ``top``, another ``__init__``, an unreadable one) counts as running code."""
    entries = [str(p) for p in (sys.path if search_path is None else search_path)]
    top, _, sub = name.partition(".")
    found = locate_module(top, entries)
    if found.kind == "missing":
        return False
    if found.kind == "package":
        if found.path is None or not _is_namespace_shim(found.path):
            return True
    elif found.kind != "namespace":
        return True
    if not sub:
        return False
    portions: list[str] = []
    for entry in entries:  # as pkgutil.extend_path does: each entry's own finder (a zip archive's too)
        if os.path.exists(os.path.join(entry or os.curdir, top + ".pkg")):
            return True
        spec = _find_child(top, [entry])
        portions.extend(_plain_locations(spec.submodule_search_locations) if spec is not None else ())
    child = sub.split(".", 1)[0]
    return _find_child(f"{top}.{child}", [*dict.fromkeys([*portions, *found.search_locations])]) is not None


def _norm(path: str) -> str:
    return source_files.realpath(path).rstrip(os.sep)


@functools.cache
def _installation_roots() -> frozenset[str]:
    roots: set[str] = set()
    paths = sysconfig.get_paths()
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        if paths.get(key):
            roots.add(_norm(paths[key]))
    if hasattr(site, "getsitepackages"):  # some virtualenv versions lack it
        roots.update(_norm(p) for p in site.getsitepackages())
    user = site.getusersitepackages() if hasattr(site, "getusersitepackages") else None
    if isinstance(user, str):
        roots.add(_norm(user))
    stdlib = paths.get("stdlib")
    if stdlib:
        roots.add(_norm(os.path.join(stdlib, "lib-dynload")))
    return frozenset(roots)


def library_roots(search_path: Sequence[str] | None = None) -> tuple[str, ...]:
    """The directories whose modules count as installed library code: the stdlib and site/dist-packages.

    A ``search_path`` entry counts when it is one of these or is itself named ``site-packages`` or
    ``dist-packages`` (so tests can lay out a synthetic environment under a temporary directory).
    """
    roots = set(_installation_roots())
    for entry in sys.path if search_path is None else search_path:
        if os.path.basename(os.path.normpath(str(entry))) in ("site-packages", "dist-packages"):
            roots.add(_norm(str(entry)))
    return tuple(sorted(roots))


@functools.cache
def _stdlib_roots() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    roots = {_norm(paths[k]) for k in ("stdlib", "platstdlib") if paths.get(k)}
    if paths.get("stdlib"):
        roots.add(_norm(os.path.join(paths["stdlib"], "lib-dynload")))
    return tuple(sorted(roots))


def is_stdlib_path(path: str) -> bool:
    """``path`` is a module of the interpreter's standard library (not a site/dist-packages under it)."""
    real = os.path.realpath(path)
    parts = real.split(os.sep)
    if "site-packages" in parts or "dist-packages" in parts:
        return False
    return any(real.startswith(root + os.sep) for root in _stdlib_roots())


def display_path(path: str, root: str | None) -> str:
    """``site-packages/pkg/mod.py`` for messages: the file relative to the parent of its ``sys.path`` entry."""
    if root:
        base = os.path.dirname(root.rstrip(os.sep))
        real = os.path.realpath(path)
        if real.startswith(base + os.sep):
            return os.path.relpath(real, base)
    return path


_ENTRY_POINTS_CACHE: dict[tuple[str, frozenset[str], tuple[str, ...]], tuple[bool, PathStamps]] = {}


def declares_entry_points(group: str, search_path: Sequence[str] | None = None,
                          ignored: frozenset[str] = frozenset()) -> bool:
    """Whether any distribution on the path declares an entry point in ``group`` (plugins a library may load),
    other than the names in ``ignored``.

    Reads the distributions' metadata files only (``entry_points.txt``); nothing is imported. Fails closed: an
    unreadable metadata directory counts as declaring one. Cached per (group, ignored, path) while no path
    directory changes."""
    from importlib import metadata

    path = tuple(sys.path if search_path is None else search_path)
    key = (group, ignored, path)
    stamps = path_stamps(path)
    hit = _ENTRY_POINTS_CACHE.get(key)
    if hit is not None and hit[1] == stamps:
        return hit[0]
    try:
        found = any(any(ep.name not in ignored for ep in dist.entry_points.select(group=group))
                    for dist in metadata.distributions(path=list(path)))
    except Exception:  # noqa: BLE001 - broken metadata: assume a plugin is there
        found = True
    if len(_ENTRY_POINTS_CACHE) > 64:
        _ENTRY_POINTS_CACHE.clear()
    _ENTRY_POINTS_CACHE[key] = (found, stamps)
    return found
