"""Hand-reviewed methods: what each does when a load runs it, read from the installed source.

Keys are ``module.Class.method`` where the method is *defined* (a reviewed base method covers every subclass
that inherits it). A note starting with ``NOT INERT`` records a method reviewed and found unsafe for the use.
The generator consults this table before the pluggable ``inert.method_verdict`` hook and the effect scan.
"""

from __future__ import annotations

__all__ = ["REVIEWED_METHODS"]

REVIEWED_METHODS: dict[str, str] = {}

REVIEWED_METHODS |= {
    "sklearn.base.BaseEstimator.__setstate__":
        "pops _sklearn_version and warns on a mismatch, then object.__setstate__ / __dict__.update: inert",
    "torch.nn.modules.module.Module.__setstate__":
        "__dict__.update(state), then fills missing hook dicts with empty OrderedDicts/sets: inert",
    "torch.nn.modules.module.Module.__getattr__":
        "looks the name up in _parameters, _buffers, _modules of __dict__, else AttributeError: inert",
    "torch.nn.modules.module.Module.__setattr__":
        "routes the value into _parameters/_modules/_buffers or __dict__ (type checks, the process's own "
        "registration hooks); calls nothing from the file: inert",
}
