"""The runtime conditions of reviewed conditional imports (``_gen/closure.CONDITIONAL_IMPORTS``), evaluated in
this environment.

Some modules import a package only under a condition the scanned file cannot bring about (``tqdm.autonotebook``
imports ``tqdm.notebook``, hence IPython and ipywidgets, only inside a Jupyter kernel). The reviewed closure
table marks an outside package reached only that way ``?<module>:<package>`` and lists the module's conditions
in ``CONDITIONS``; such a package counts only while one of them holds. A condition is a module that must be
importable where the scan runs (``ipykernel``: located with the path finder, never imported) or
``sys.platform:<name>``. The scan cache keys on which conditions hold (``integrity/cache.py``) when the closure
check is on, so installing ``ipykernel`` changes the verdicts served.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

from safeload.catalog.source_locate import locate_module

__all__ = ["condition_holds", "conditions_in_effect"]


def condition_holds(condition: str, search_path: Sequence[str] | None = None) -> bool:
    """Whether one condition holds here: ``sys.platform:<name>``, else a module that can be imported."""
    platform = condition.removeprefix("sys.platform:")
    if platform != condition:
        return sys.platform == platform
    return locate_module(condition, search_path).kind != "missing"


def _conditions() -> dict[str, tuple[str, ...]]:
    try:
        table = importlib.import_module("safeload.catalog.generated.closure")
    except ImportError:  # pragma: no cover - before the first generation
        return {}
    return dict(getattr(table, "CONDITIONS", {}))


def conditions_in_effect(search_path: Sequence[str] | None = None) -> tuple[str, ...]:
    """The conditions of the table that hold in this environment (for the scan cache key)."""
    every = sorted({c for conditions in _conditions().values() for c in conditions})
    return tuple(c for c in every if condition_holds(c, search_path))
