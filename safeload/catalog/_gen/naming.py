"""Canonical names of live objects, and dotted names back to objects, without importing anything new.

Invariant: ``resolve`` only looks in ``sys.modules`` (what the walk already imported); it never imports.
A name is *canonical* for an object when the object says where it is defined (``__module__`` +
``__qualname__``, or a module's ``__name__``) and that path leads back to the same object.
"""

from __future__ import annotations

import sys
import types
from typing import Any

__all__ = ["canonical_name", "defined_under", "is_code_object", "resolve"]

_MISSING = object()
_PRIMITIVES = (type(None), bool, int, float, complex, str, bytes, tuple, frozenset, range, type(Ellipsis),
               type(NotImplemented))


def resolve(dotted: str) -> Any:
    """The object at ``dotted`` (``module.qual.name``) among already-imported modules, or ``None``."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        module = sys.modules.get(".".join(parts[:cut]))
        if module is None:
            continue
        obj: Any = module
        for attr in parts[cut:]:
            try:
                obj = getattr(obj, attr, _MISSING)
            except Exception:  # noqa: BLE001 - a property of an installed class may raise anything
                return None
            if obj is _MISSING:
                return None
        return obj
    return None


def canonical_name(obj: Any) -> str | None:
    """``module.qualname`` where ``obj`` says it is defined, when that name resolves back to ``obj``."""
    if isinstance(obj, types.ModuleType):
        name = getattr(obj, "__name__", None)
        return name if isinstance(name, str) and sys.modules.get(name) is obj else None
    try:
        module = getattr(obj, "__module__", None)
        qualname = getattr(obj, "__qualname__", None)
    except Exception:  # noqa: BLE001
        return None
    if not isinstance(module, str) or not isinstance(qualname, str) or "<" in qualname:
        if isinstance(obj, types.BuiltinFunctionType) and isinstance(getattr(obj, "__self__", None),
                                                                        types.ModuleType):
            name = f"{getattr(obj.__self__, '__name__', '')}.{obj.__name__}"
            return name if resolve(name) is obj else None
        return None
    name = f"{module}.{qualname}"
    try:
        same = resolve(name) is obj
    except Exception:  # noqa: BLE001
        same = False
    return name if same else None


def defined_under(name: str, prefix: str) -> bool:
    """True when the dotted ``name`` is ``prefix`` or lies under it."""
    return name == prefix or name.startswith(prefix + ".")


def is_code_object(obj: Any) -> bool:
    """Classes, functions, methods and modules: objects whose identity means something (not shared values)."""
    if isinstance(obj, _PRIMITIVES):
        return False
    return isinstance(obj, (type, types.FunctionType, types.BuiltinFunctionType, types.ModuleType,
                            types.MethodType, types.WrapperDescriptorType, types.MethodDescriptorType,
                            types.ClassMethodDescriptorType, types.MethodWrapperType)) or callable(obj)
