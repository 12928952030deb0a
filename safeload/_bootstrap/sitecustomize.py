"""Interpreter-start bootstrap for ``safeload run -- CMD`` (this directory goes first on ``PYTHONPATH``).

Python's ``site`` imports ``sitecustomize`` at start-up; this one imports ``safeload.auto`` (which installs
the import hook unless ``SAFELOAD_HOOK`` says otherwise) and then runs the ``sitecustomize`` that would have
run without it, so an existing one (a distribution's, a virtualenv's, the user's) keeps working.

Invariant: this file never stops the interpreter from starting. If safeload cannot be imported, it says so
on stderr, because the user asked for protection that is not there, and the program runs on.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))


def _activate() -> None:
    try:
        import safeload.auto  # importing it installs the hook
    except ImportError:
        # A different interpreter than the one safeload is installed in: fall back to the copy that holds
        # this file, placed last on sys.path so it never shadows the program's own packages.
        root = os.path.dirname(os.path.dirname(_HERE))
        if root not in sys.path:
            sys.path.append(root)
        try:
            import safeload.auto  # noqa: F401
        except Exception as exc:  # noqa: BLE001 - never break start-up
            sys.stderr.write(f"safeload: import hook NOT active: cannot import safeload.auto ({exc!r})\n")
    except Exception as exc:  # noqa: BLE001 - never break start-up
        sys.stderr.write(f"safeload: import hook NOT active: {type(exc).__name__}: {exc}\n")


def _chain() -> None:
    """Run the next ``sitecustomize`` on ``sys.path`` (the one this file shadows), if there is one."""
    path = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", path)
    if spec is None or spec.loader is None or spec.origin == os.path.abspath(__file__):
        return
    module = importlib.util.module_from_spec(spec)
    ours = sys.modules.get("sitecustomize")
    sys.modules["sitecustomize"] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # noqa: BLE001 - site.py reports sitecustomize errors the same way and goes on
        if ours is not None:
            sys.modules["sitecustomize"] = ours
        sys.stderr.write(f"Error in sitecustomize ({spec.origin}); set PYTHONVERBOSE for traceback:\n"
                         f"{type(exc).__name__}: {exc}\n")


_activate()
_chain()
