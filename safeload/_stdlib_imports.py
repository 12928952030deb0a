"""Standard-library modules safeload imports come from the standard library.

Invariant: while safeload's own code is on the stack (``import safeload``, the lazy imports of its modules, a scan,
the safe loaders and the real loader they call), a top-level module in ``sys.stdlib_module_names`` that is not yet
imported is found only in the interpreter's own library directories — never in the working directory or another
``sys.path`` entry, where a ``mmap.py`` or a ``datetime/`` package beside a model would otherwise run because
safeload imported ``mmap`` to read the file or ``sqlite3`` for its cache (red team R5-4). ``pickle.load`` alone
never imports those modules, so without this a safe load would run files a plain load does not.

A stdlib name missing from those directories raises ``ModuleNotFoundError`` under safeload instead of falling
through to the rest of ``sys.path``. Imports by other code, names outside the standard library and submodules
(found in their parent package's ``__path__``) are left to the normal finders. The finder stays on
``sys.meta_path`` (just before ``PathFinder``) once ``import safeload`` has run; it costs other code a frame walk
only when a standard-library module is imported for the first time.

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
_PACKAGE_PREFIX = _PACKAGE + "."


def _library_directories() -> list[str]:
    """The interpreter's own module directories: the one holding ``os`` (always imported from there at
    start-up) and the absolute ``sys.path`` entries under the base installation outside ``site-packages``
    (``lib-dynload``, the zipped library)."""
    library = os.path.dirname(os.__file__)
    bases = tuple({os.path.normcase(p) + os.sep for p in (sys.base_prefix, sys.base_exec_prefix, library) if p})
    found = [library]
    for entry in sys.path:
        if not isinstance(entry, str) or not os.path.isabs(entry):
            continue
        normal = os.path.normcase(entry)
        parts = set(normal.replace("\\", "/").split("/"))
        if "site-packages" in parts or "dist-packages" in parts:
            continue
        if (normal + os.sep).startswith(bases) and entry not in found:
            found.append(entry)
    return found


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
        if path is not None or fullname not in sys.stdlib_module_names:
            return None
        if not _under_safeload(sys._getframe(1)):
            return None
        spec = _PATH_FINDER.find_spec(fullname, cls.directories)
        if spec is None:
            raise ModuleNotFoundError(f"No module named {fullname!r} in the standard library "
                                      f"(safeload imports standard modules from there only)", name=fullname)
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
