"""Standard-library modules safeload imports come from the standard library.

Invariant: while safeload's own code is on the stack (``import safeload``, the lazy imports of its modules, a scan,
the safe loaders and the real loader they call), a top-level module in ``sys.stdlib_module_names`` that is not yet
imported is found only in the interpreter's own library directories — never in the working directory or another
``sys.path`` entry, where a ``mmap.py`` or a ``datetime/`` package beside a model would otherwise run because
safeload imported ``mmap`` to read the file or ``sqlite3`` for its cache (red team R5-4). ``pickle.load`` alone
never imports those modules, so without this a safe load would run files a plain load does not.

``sysconfig``'s data module, imported by a computed name (``_sysconfigdata_<abi>_<platform>_<multiarch>``) that
is not in ``sys.stdlib_module_names``, counts as standard (red team R6-1: safeload's shadow check calls
``sysconfig.get_paths()``). The library directories are the directory of ``os``, the ``sys.path`` entries under it
(``lib-dynload``) and the zipped library / ``DLLs`` beside it -- not any directory under ``sys.base_prefix``: a
script in ``/usr/src/app`` run by a ``/usr`` interpreter puts its own directory on ``sys.path`` (red team R6-3).

The optional packages safeload itself imports to read or hash a file and what they import (``_OPTIONAL``:
``zstandard``, ``lz4``, ``blake3``, ``h5py`` and its ``numpy``), which a plain load of the same file may never
import, are resolved under safeload on ``sys.path`` without the working directory and the script's directory (red
team R6-2: a ``zstandard.py`` beside a compressed joblib file ran).

A stdlib (or optional) name missing from those directories raises ``ModuleNotFoundError`` under safeload instead
of falling through to the rest of ``sys.path``. Imports by other code, other names and submodules (found in their
parent package's ``__path__``) are left to the normal finders. The finder stays on ``sys.meta_path`` (just before
``PathFinder``) once ``import safeload`` has run; it costs other code a frame walk only when one of those modules
is imported for the first time.

This module and the package's ``__init__`` import nothing before the finder is installed (not even
``from __future__ import annotations``, which imports the ``__future__`` module): annotations here are strings.
"""

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing and types are not imported at start-up; ``import safeload`` stays cheap (issue 15)
    from types import FrameType, ModuleType
    from typing import Any

_PATH_FINDER: "Any" = sys.modules["_frozen_importlib_external"].PathFinder
_PACKAGE = __name__.partition(".")[0]
#: optional packages safeload imports itself to decompress, hash or read a file, and the third-party packages they
#: import (h5py imports numpy) (red team R6-2)
_OPTIONAL = frozenset({"zstandard", "lz4", "blake3", "h5py", "numpy"})


def _script_directory() -> "str | None":
    """The directory Python put first on ``sys.path`` for a script (not for ``-c``, an interactive session or
    ``-P``/``PYTHONSAFEPATH``; ``-m`` puts the working directory there, which is excluded anyway)."""
    argv = getattr(sys, "argv", None)
    if getattr(sys.flags, "safe_path", False) or not argv or not isinstance(argv[0], str) or argv[0] in ("", "-c"):
        return None
    return os.path.dirname(os.path.realpath(argv[0]))


_SCRIPT_DIRECTORY = _script_directory()
_PACKAGE_PREFIX = _PACKAGE + "."


def _library_directories() -> list[str]:
    """The interpreter's own module directories: the one holding ``os`` (always imported from there at
    start-up), the absolute ``sys.path`` entries under it outside ``site-packages`` (``lib-dynload``) and, beside
    it or directly under ``sys.base_prefix``/``sys.base_exec_prefix``, the zipped library and ``DLLs``."""
    library = os.path.dirname(os.__file__)
    inside = os.path.normcase(library) + os.sep
    beside = {os.path.normcase(p) for p in (sys.base_prefix, sys.base_exec_prefix, os.path.dirname(library)) if p}
    found = [library]
    for entry in sys.path:
        if not isinstance(entry, str) or not os.path.isabs(entry) or entry in found:
            continue
        normal = os.path.normcase(entry)
        parts = set(normal.replace("\\", "/").split("/"))
        if "site-packages" in parts or "dist-packages" in parts:
            continue
        base = os.path.basename(normal)
        if normal.startswith(inside) or (os.path.dirname(normal) in beside
                                         and (base.endswith(".zip") or base in ("dlls", "DLLs"))):
            found.append(entry)
    return found


def _outside_working_directory() -> list[str]:
    """``sys.path`` without the working directory (``''``, relative entries, the directory itself) and the
    script's directory."""
    try:
        here: str | None = os.path.realpath(os.getcwd())
    except OSError:
        here = None
    kept = []
    for entry in sys.path:
        if not isinstance(entry, str) or not os.path.isabs(entry):
            continue
        real = os.path.realpath(entry)
        if real not in (here, _SCRIPT_DIRECTORY):
            kept.append(entry)
    return kept


def _under_safeload(frame: "FrameType | None") -> bool:
    while frame is not None:
        name = frame.f_globals.get("__name__")
        if isinstance(name, str) and (name == _PACKAGE or name.startswith(_PACKAGE_PREFIX)):
            return True
        frame = frame.f_back
    return False


class StdlibOnlyFinder:
    """A meta-path finder that resolves safeload's first imports of standard-library modules in the library
    directories only (see the module docstring)."""

    directories: list[str] = []

    @classmethod
    def find_spec(cls, fullname: str, path: object = None, target: "ModuleType | None" = None) -> "Any":
        if path is not None:
            return None
        standard = fullname in sys.stdlib_module_names or fullname.startswith("_sysconfigdata_")
        if not standard and fullname not in _OPTIONAL:
            return None
        if not _under_safeload(sys._getframe(1)):
            return None
        if standard:
            spec = _PATH_FINDER.find_spec(fullname, cls.directories)
            if spec is None:
                raise ModuleNotFoundError(f"No module named {fullname!r} in the standard library "
                                          f"(safeload imports standard modules from there only)", name=fullname)
            return spec
        spec = _PATH_FINDER.find_spec(fullname, _outside_working_directory())
        if spec is None:
            raise ModuleNotFoundError(f"No module named {fullname!r} outside the working directory "
                                      f"(safeload imports its optional packages from installed ones only)",
                                      name=fullname)
        return spec

    @classmethod
    def invalidate_caches(cls) -> None:
        """Nothing cached here; ``PathFinder`` keeps its own."""


def install() -> None:
    """Put the finder on ``sys.meta_path`` just before ``PathFinder`` (idempotent)."""
    if any(getattr(finder, "__name__", None) == StdlibOnlyFinder.__name__
           and getattr(finder, "__module__", None) == __name__ for finder in sys.meta_path):
        return
    StdlibOnlyFinder.directories = _library_directories()
    position = next((index for index, finder in enumerate(sys.meta_path) if finder is _PATH_FINDER),
                    len(sys.meta_path))
    sys.meta_path.insert(position, StdlibOnlyFinder)
