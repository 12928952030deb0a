"""Whether a vouched module's import closure stays inside reviewed territory: one lookup, never a walk.

A vouch (``catalog/reviewed.py``, ``IMPORT_REVIEWED``) covers what a package's own modules do when imported.
What they import in turn is covered only when the reviewed closure table (``generated/closure.py``, made offline
by ``catalog/_gen/closure.py``) says so.

Invariant: a module is *covered* only when its top-level package is in the table, the package is installed
beside the distribution metadata (``<dist>-<version>.dist-info``) the table was computed from, and every package
outside reviewed territory that the module's closure reaches is absent from the environment (importing an absent
package raises ImportError: none of its code runs). Anything else (a package the table does not know, other
versions, a module whose closure leaves) is not covered, and the caller analyses what the module imports like
any other import: never "allowed" by default. Nothing is imported or executed: the table is data, distribution
versions are read from directory names, outside packages are located with the path finder.
"""

from __future__ import annotations

import functools
import importlib
import os
import sys
from collections.abc import Sequence
from types import ModuleType

from safeload.catalog.closure_conditions import condition_holds
from safeload.catalog.source_files import PathStamps, path_stamps
from safeload.catalog.source_locate import locate_module, namespace_import_runs_code
from safeload.catalog.source_tables import denied_module_reason


def _load() -> ModuleType | None:
    """The table, loaded with the source analysis (not by ``import safeload``). Absent only before the first
    generation (the generator imports this module): then nothing is covered and every import is followed."""
    try:
        return importlib.import_module("safeload.catalog.generated.closure")
    except ImportError:  # pragma: no cover
        return None


_table = _load()

__all__ = ["closure_covered", "groups_reached"]


def closure_covered(module: str, search_path: Sequence[str] | None = None, *,
                    plugins: bool = True) -> tuple[bool, str]:
    """(covered, why) for importing ``module`` of a vouched package: covered when its whole import closure
    stays inside reviewed territory in this environment. ``plugins=False``: the static closure only, whatever
    entry points the owners it imports would load (the shadow check's question: which modules its imports name;
    declared plugins are SL119's)."""
    top = module.split(".", 1)[0]
    if _table is None or top not in _table.PACKAGES:
        return False, f"{top} has no reviewed import closure"
    if denied_module_reason(module) is not None:
        return False, "a test or script module: its imports are followed"  # the table has no entries for them
    # keyed by the path itself: a process can grow sys.path (importing setuptools appends its _vendor directory),
    # and by its directories' mtimes: a package installed later in the same process is seen (red team R9-4)
    path = tuple(sys.path if search_path is None else search_path)
    stamps = path_stamps(path)
    stale = _stale(top, path, stamps)
    if stale is not None:
        return False, stale
    outside = _table.LEAVES.get(module)
    if outside is None:
        return True, f"its imports stay inside reviewed territory ({', '.join(_table.DIST_INFO.get(top, ()))})"
    present = [name for name in (_table.OUTSIDE[i] for i in _table.REACHES[outside])
               if (plugins and _plugins_declared(name, path)) or _present(name, path, stamps)]
    if not present:
        return True, "the packages outside reviewed territory its imports reach are not installed"
    shown = ", ".join(present[:4]) + (", ..." if len(present) > 4 else "")
    return False, f"its imports reach {shown}, outside reviewed territory"


def groups_reached(module: str) -> tuple[str, ...]:
    """The entry-point groups (``catalog/plugins.IMPORT_TIME_PLUGINS``) the table says ``module``'s import closure
    loads: its ``!<group>`` names (also those reached only under a reviewed condition, conservatively)."""
    if _table is None:
        return ()
    outside = _table.LEAVES.get(module)
    if outside is None:
        return ()
    names = (_table.OUTSIDE[i].rpartition(":")[2] if _table.OUTSIDE[i].startswith("?") else _table.OUTSIDE[i]
             for i in _table.REACHES[outside])
    return tuple(name[1:] for name in names if name.startswith("!"))


@functools.lru_cache(maxsize=4096)
def _stale(top: str, path: tuple[str, ...] | None, stamps: PathStamps = ()) -> str | None:
    """Why the table does not describe the installed ``top`` (another version, or not installed), else None."""
    found = locate_module(top, path)
    where = found.search_locations[0] if found.search_locations else found.path
    if _table is None or found.kind == "missing" or not where:
        return f"{top} is not installed where the reviewed import closure was computed"
    beside = os.path.dirname(where.rstrip(os.sep))  # the directory holding the package and its metadata
    for name in _table.DIST_INFO.get(top, ()):
        if not os.path.isdir(os.path.join(beside, name)):
            return f"the reviewed import closure of {top} was computed for {name.removesuffix('.dist-info')}"
    return None


def _plugins_declared(name: str, path: tuple[str, ...]) -> bool:
    """``!<group>``: read through ``plugins.declared`` on every call, never from ``_present``'s cache, whose key (the
    path directories' mtimes) misses an ``entry_points.txt`` rewritten in place (``declared`` stamps each file)."""
    group = name.rpartition(":")[2] if name.startswith("?") else name  # under a condition too (conservative)
    if not group.startswith("!"):
        return False
    from safeload.catalog.plugins import declared

    return bool(declared(group[1:], path))


@functools.lru_cache(maxsize=16384)
def _present(name: str, path: tuple[str, ...] | None, stamps: PathStamps = ()) -> bool:
    """Whether importing ``name`` would run code: an outside top-level package or ``<package>.<submodule>`` of
    one (a namespace ``<package>`` runs nothing of its own: ``source_locate.namespace_import_runs_code``), a
    denied stdlib module, a ``<...>`` marker for source the generator could not read, or ``?<module>:<package>``:
    a package reached only through ``module``'s reviewed conditional import, counted while one of its conditions
    holds; ``<package>.*`` (any submodule, a computed import) whenever ``package`` is found at all. ``stamps``
    (``source_files.path_stamps(path)``) only keys the cache."""
    if name.startswith("<"):
        return True
    if name.startswith("!"):  # entry-point groups are read uncached by closure_covered (_plugins_declared)
        return False
    if name.startswith("?"):  # reached only through a reviewed conditional import: counts while it may run
        module, _, outside = name[1:].partition(":")
        conditions = getattr(_table, "CONDITIONS", {}).get(module, ("<unknown condition>",))
        if not any(c.startswith("<") or condition_holds(c, path) for c in conditions):
            return False
        return _present(outside, path, stamps)
    if name.endswith(".*"):  # any submodule, imported by a computed name (source_imports.REVIEWED_DYNAMIC_IMPORTS):
        # whichever name it asks for may be found in any portion of the package, a namespace directory included
        return locate_module(name[:-2], path).kind != "missing"
    if name.split(".", 1)[0] in sys.stdlib_module_names:  # a denied stdlib module: present is enough
        return locate_module(name, path).kind != "missing"
    return namespace_import_runs_code(name, path)
