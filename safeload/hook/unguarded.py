"""The scan for references to a loader taken before ``install()`` (``from torch import load`` in a module
imported earlier): attribute patching cannot reach them, so ``install()`` reports them in
``status().unguarded`` and logs one warning.

Invariants: read-only (it never changes a module); each reference is reported once, under the first name
its module has in ``sys.modules`` (``__main__`` and ``__mp_main__`` are one module under multiprocessing's
spawn); aliases of every target and safeload's own modules are never reported.
"""

from __future__ import annotations

import sys

from safeload.hook.state import Settings
from safeload.hook.targets import TARGETS

__all__ = ["INTERNAL_PACKAGES", "INTERNAL_REFS", "find_unguarded"]

# Framework-internal references to a loader, by design (joblib reloading its own memmaps in workers, TF Lite's
# converter, array-API namespaces re-exporting numpy): not what ``status().unguarded`` is meant to surface.
INTERNAL_REFS = {("joblib._memmapping_reducer", "load"), ("tensorflow.lite.python.lite", "_load")}
INTERNAL_PACKAGES = ("array_api_compat", "array_api_strict")


def find_unguarded(originals: dict[int, str], settings: Settings) -> list[str]:
    """``module.name -> loader`` for every module-level reference to an original outside the patched aliases.

    ``originals`` maps ``id(original)`` to the loader's public name; it is changed (targets not selected are
    dropped from it).
    """
    # ``cloudpickle.load`` *is* ``pickle.load``: references to a function of a target that was deliberately
    # not selected (``pickle``) are not "unguarded by accident".
    for target in TARGETS.values():
        if target.name in settings.targets:
            continue
        for alias in target.aliases:
            module = sys.modules.get(alias.module)
            value = getattr(module, alias.attr, None) if module is not None else None
            if value is not None:
                originals.pop(id(value), None)
    if not originals:
        return []
    # Aliases of every target (patched, or deliberately not selected such as ``pickle.load``) are not
    # "unguarded by accident"; neither are safeload's own modules.
    known = {(a.module, a.attr) for t in TARGETS.values() for a in t.aliases}
    found: list[str] = []
    seen_modules: set[int] = set()
    for mod_name, mod in list(sys.modules.items()):
        namespace = getattr(mod, "__dict__", None)
        if not isinstance(namespace, dict) or id(mod) in seen_modules:
            continue
        seen_modules.add(id(mod))
        try:
            if not any(id(value) in originals for value in list(namespace.values())):
                continue
            items = list(namespace.items())
        except RuntimeError:  # pragma: no cover - a module mutating its namespace in another thread
            continue
        for attr, value in items:
            if (id(value) in originals and isinstance(attr, str) and (mod_name, attr) not in known
                    and (mod_name, attr) not in INTERNAL_REFS and not mod_name.startswith("safeload.")
                    and not any(part in INTERNAL_PACKAGES for part in mod_name.split("."))):
                found.append(f"{mod_name}.{attr} -> {originals[id(value)]}")
    return found
