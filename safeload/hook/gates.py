"""Version gates: a framework older than the oldest version its safe loader supports is left alone.

Invariants: a version that cannot be determined or parsed is a reason to skip (recorded in ``status()``),
never a guess; the answer is cached per install in ``STATE.gates``; the lock is never held while reading a
version (``importlib.metadata`` may import).
"""

from __future__ import annotations

import os
import re
import sys

from safeload.hook.state import STATE
from safeload.hook.targets import Target

__all__ = ["gate", "parse_version", "version_of"]

_TRUTHY = {"1", "y", "yes", "true", "on"}
_VERSION = re.compile(r"\d+(?:\.\d+)*")


def parse_version(text: str) -> tuple[int, ...] | None:
    match = _VERSION.match(text.strip().lstrip("vV"))
    return tuple(int(p) for p in match.group().split(".")) if match else None


def version_of(target: Target) -> str | None:
    """The installed version of ``target``'s package, or ``None`` if it cannot be told."""
    # The package's own __version__ (or its version module, set before the rest while it is still being
    # imported, when a submodule hook fires), then importlib.metadata, which is slower to import.
    for holder, attr in ((target.distribution, "__version__"), (f"{target.distribution}.version", "__version__"),
                         (f"{target.distribution}.version", "version"),
                         (f"{target.distribution}._version", "__version__")):
        module = sys.modules.get(holder)
        value = getattr(module, attr, None) if module is not None else None
        if isinstance(value, str) and value:
            return value
    from importlib import metadata

    for dist in target.dists or (target.distribution,):
        try:
            return metadata.version(dist)
        except Exception:  # noqa: BLE001, S112 - any metadata problem means "version unknown"
            continue
    return None


def gate(target: Target) -> str | None:
    """``None`` if the installed version is supported, else the reason to skip (cached per install)."""
    with STATE.lock:
        if target.name in STATE.gates:
            return STATE.gates[target.name]
    if target.name == "tf_keras" and os.environ.get("TF_USE_LEGACY_KERAS", "").strip().lower() not in _TRUTHY:
        reason: str | None = "safeload.keras_load loads with tf_keras only when TF_USE_LEGACY_KERAS is set"
    elif not target.min_version:
        reason = None
    else:
        text = version_of(target)
        version = parse_version(text) if text else None
        wanted = ".".join(map(str, target.min_version))
        if version is None:
            reason = f"cannot determine the version of {target.distribution} ({text!r}); not patched"
        elif version < target.min_version:
            reason = f"{target.distribution} {text} is older than {wanted}, the oldest one safeload supports"
        else:
            reason = None
    with STATE.lock:
        return STATE.gates.setdefault(target.name, reason)
