"""The import hook: route ``torch.load``, ``joblib.load``, Keras/TF loaders, ... through the safe loaders.

``install()`` replaces every public alias of every supported loader (``torch.load`` *and*
``torch.serialization.load``, ``joblib.load`` *and* ``joblib.numpy_pickle.load``,
``keras.saving.load_model``, ``keras.models.load_model``, ``tf.saved_model.load``, ``numpy.load``,
``dill.load(s)``, ``cloudpickle.load(s)``; ``pickle.load(s)`` only when asked for) with a thin wrapper that
calls the matching ``safeload.*_load`` with the call's arguments plus the install-time
``threshold``/``trusted``. Modules already imported are patched at once; the others are patched by ``wrapt``
post-import hooks when they are imported.

Invariants:

- **Never break an import.** A post-import hook catches every exception, logs it at WARNING on
  ``safeload.hook``, records it in :func:`status`, and returns; ``import torch`` always succeeds.
- **Idempotent.** A second ``install()`` is a no-op with a log line; a module is patched once however many
  hooks fire; an alias that already holds a safeload wrapper is not wrapped again.
- **Reversible.** ``uninstall()`` puts back the exact original objects (``torch.load is original``) and
  removes them from ``safeload.loaders._common.ORIGINALS``. wrapt has no unregister, so hooks still
  registered become no-ops (they check ``_state.installed`` under the lock).
- **Thread-safe.** One ``RLock``; check-then-patch happens under it. Anything that may import (version
  lookup, resolving the safe loader, wrapt's registration, which may call the hook at once) runs outside it.
- **Version-gated.** A framework older than the oldest version its safe loader supports is left alone, and
  the reason is recorded in :func:`status`.
- **Safe loaders never recurse.** Every original is stored in ``ORIGINALS[(module, attr)]`` before its alias
  is replaced, and wrappers carry ``_safeload_wrapper = True`` and ``__wrapped__``, so ``real_loader`` finds
  it.

Not coverable by attribute patching: a reference taken before ``install()`` (``from torch import load`` in a
module imported earlier) keeps pointing at the original. ``install()`` reports such references in
``status().unguarded``; ``import safeload.auto`` (or ``safeload run``) at interpreter start avoids them.
Wrappers handed out while installed (e.g. ``from torch import load`` after ``install()``) keep scanning
after ``uninstall()``: the hook errs on the safe side. Reloading a patched module (``importlib.reload``) is
not supported, as in wrapt.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import importlib
import logging
import os
import re
import subprocess
import sys
import threading
import time
import types
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from safeload.loaders._common import ORIGINALS
from safeload.policy import Policy
from safeload.severity import Severity

__all__ = [
    "ALL_TARGETS",
    "DEFAULT_TARGETS",
    "HookError",
    "HookStatus",
    "current_hook",
    "install",
    "is_installed",
    "patched",
    "run_command",
    "status",
    "uninstall",
]

logger = logging.getLogger("safeload.hook")


# ----------------------------------------------------------------------------------------------------------
# What is patched
# ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Alias:
    """One attribute to replace: ``module.attr`` (``module`` as in ``sys.modules``), shown as ``public``."""

    module: str
    attr: str
    loader: str  # "safeload.loaders.torch:torch_load"
    public: str = ""
    optional: bool = False  # absent in some versions of the framework: skip quietly

    @property
    def name(self) -> str:
        return self.public or f"{self.module}.{self.attr}"


@dataclass(frozen=True, slots=True)
class Target:
    """A framework: the package (and distributions) whose version gates it, and the aliases to patch."""

    name: str
    distribution: str  # the top-level package, whose __version__ is read when set
    min_version: tuple[int, ...]
    aliases: tuple[Alias, ...]
    dists: tuple[str, ...] = ()  # distribution names to ask importlib.metadata (default: the package name)


_TORCH = "safeload.loaders.torch:torch_load"
_JOBLIB = "safeload.loaders.joblib:joblib_load"
_NUMPY = "safeload.loaders.numpy:numpy_load"
_KERAS = "safeload.loaders.keras:keras_load"
_SAVED_MODEL = "safeload.loaders.keras:tf_saved_model_load"
_PK = "safeload.loaders.pickle:"

_TARGETS: dict[str, Target] = {
    t.name: t for t in (
        Target("torch", "torch", (1, 13), (
            Alias("torch", "load", _TORCH),
            Alias("torch.serialization", "load", _TORCH),
        )),
        Target("joblib", "joblib", (1, 2), (
            Alias("joblib", "load", _JOBLIB),
            Alias("joblib.numpy_pickle", "load", _JOBLIB),
        )),
        Target("numpy", "numpy", (1, 24), (
            Alias("numpy", "load", _NUMPY),
            Alias("numpy.lib._npyio_impl", "load", _NUMPY, optional=True),
            Alias("numpy.lib.npyio", "load", _NUMPY, optional=True),
        )),
        Target("keras", "keras", (3, 0), (
            Alias("keras.saving", "load_model", _KERAS),
            Alias("keras.models", "load_model", _KERAS),
            Alias("keras.src.saving", "load_model", _KERAS, optional=True),
            Alias("keras.src.saving.saving_api", "load_model", _KERAS, optional=True),
            # tf.keras under TensorFlow >= 2.16 when it resolves to Keras 3's tf.keras namespace
            Alias("keras._tf_keras.keras.models", "load_model", _KERAS, "tf.keras.models.load_model",
                  optional=True),
            Alias("keras._tf_keras.keras.saving", "load_model", _KERAS, "tf.keras.saving.load_model",
                  optional=True),
        )),
        # Keras 2 (tf_keras): keras_load uses it only when TF_USE_LEGACY_KERAS is set (see _gate).
        Target("tf_keras", "tf_keras", (2, 13), (
            Alias("tf_keras", "models.load_model", _KERAS, "tf_keras.models.load_model"),
            Alias("tf_keras", "saving.load_model", _KERAS, "tf_keras.saving.load_model", optional=True),
        )),
        Target("tensorflow", "tensorflow", (2, 13), dists=(
            "tensorflow", "tensorflow-cpu", "tensorflow-gpu", "tensorflow-intel", "tensorflow-macos",
            "tf-nightly", "tf-nightly-cpu"), aliases=(
            Alias("tensorflow._api.v2.saved_model", "load", _SAVED_MODEL, "tensorflow.saved_model.load"),
            Alias("tensorflow._api.v2.compat.v2.saved_model", "load", _SAVED_MODEL,
                  "tensorflow.compat.v2.saved_model.load", optional=True),
            Alias("tensorflow._api.v2.compat.v1.saved_model", "load_v2", _SAVED_MODEL,
                  "tensorflow.compat.v1.saved_model.load_v2", optional=True),
            # the defining module, for TF's and Keras' own callers (e.g. TFSMLayer)
            Alias("tensorflow.python.saved_model.load", "load", _SAVED_MODEL,
                  "tensorflow.python.saved_model.load.load", optional=True),
        )),
        Target("dill", "dill", (0, 3, 6), (
            Alias("dill", "load", _PK + "dill_load"),
            Alias("dill", "loads", _PK + "dill_loads"),
            Alias("dill._dill", "load", _PK + "dill_load", optional=True),
            Alias("dill._dill", "loads", _PK + "dill_loads", optional=True),
        )),
        Target("cloudpickle", "cloudpickle", (2, 0), (
            Alias("cloudpickle", "load", _PK + "cloudpickle_load"),
            Alias("cloudpickle", "loads", _PK + "cloudpickle_loads"),
            Alias("cloudpickle.cloudpickle", "load", _PK + "cloudpickle_load", optional=True),
            Alias("cloudpickle.cloudpickle", "loads", _PK + "cloudpickle_loads", optional=True),
        )),
        # Only when asked for: multiprocessing, concurrent.futures and much else unpickle through these.
        Target("pickle", "", (), (
            Alias("pickle", "load", _PK + "pickle_load"),
            Alias("pickle", "loads", _PK + "pickle_loads"),
            Alias("_pickle", "load", _PK + "pickle_load"),
            Alias("_pickle", "loads", _PK + "pickle_loads"),
        )),
    )
}

#: What ``install()`` patches when ``targets`` is not given (everything but the stdlib ``pickle`` module).
DEFAULT_TARGETS: tuple[str, ...] = (
    "torch", "joblib", "numpy", "keras", "tf_keras", "tensorflow", "dill", "cloudpickle")
#: Every target name ``install(targets=...)`` accepts.
ALL_TARGETS: tuple[str, ...] = (*DEFAULT_TARGETS, "pickle")


# ----------------------------------------------------------------------------------------------------------
# Status
# ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HookError:
    """A failure inside the hook (it was caught: the import that triggered it went on)."""

    target: str
    message: str
    when: float


@dataclass(frozen=True)
class HookStatus:
    """A snapshot of the hook: what is patched, what waits for an import, what was skipped and why."""

    installed: bool
    generation: int
    targets: tuple[str, ...] = ()
    threshold: str | None = None
    trusted: tuple[str, ...] = ()
    patched: tuple[str, ...] = ()
    pending: tuple[str, ...] = ()
    skipped: dict[str, str] = field(default_factory=dict)
    errors: tuple[HookError, ...] = ()
    unguarded: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "installed": self.installed, "generation": self.generation, "targets": list(self.targets),
            "threshold": self.threshold, "trusted": list(self.trusted), "patched": list(self.patched),
            "pending": list(self.pending), "skipped": dict(self.skipped),
            "errors": [{"target": e.target, "message": e.message, "when": e.when} for e in self.errors],
            "unguarded": list(self.unguarded),
        }

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # IPython
        printer.text("HookStatus(...)" if cycle else str(self))

    def __str__(self) -> str:
        lines = [f"safeload hook: {'installed' if self.installed else 'not installed'}"
                 f" (threshold {self.threshold or 'from config'})"]
        lines += [f"  patched   {name}" for name in self.patched]
        lines += [f"  pending   {name} (patched when imported)" for name in self.pending]
        lines += [f"  skipped   {name}: {reason}" for name, reason in self.skipped.items()]
        lines += [f"  error     {e.target}: {e.message}" for e in self.errors]
        lines += [f"  unguarded {name} (reference taken before install)" for name in self.unguarded]
        return "\n".join(lines)


# ----------------------------------------------------------------------------------------------------------
# State
# ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Settings:
    threshold: Severity | None
    trusted: tuple[str, ...]
    targets: tuple[str, ...]


@dataclass(slots=True)
class _Patch:
    alias: Alias
    container: Any  # the module (or the object inside it) whose attribute was replaced
    original: Any
    wrapper: Any
    keys: tuple[tuple[str, str], ...]
    in_dict: bool = True  # False: the original came from the module's __getattr__ (restore by deleting ours)


@dataclass
class _State:
    lock: threading.RLock = field(default_factory=threading.RLock)
    installed: bool = False
    generation: int = 0
    settings: _Settings | None = None
    patches: dict[tuple[str, str], _Patch] = field(default_factory=dict)
    wrappers: dict[tuple[int, str], Any] = field(default_factory=dict)  # (id(original), loader) -> wrapper
    registered: set[str] = field(default_factory=set)  # module names with a live wrapt registration
    pending: set[str] = field(default_factory=set)
    skipped: dict[str, str] = field(default_factory=dict)
    errors: list[HookError] = field(default_factory=list)
    unguarded: list[str] = field(default_factory=list)
    gates: dict[str, str | None] = field(default_factory=dict)  # target -> reason it is unsupported, or None


_state = _State()
_MISSING = object()
_MAX_ERRORS = 100

# The alias a hooked call came through, for the audit record (``safeload_hook``) while the safe loader runs.
_current: contextvars.ContextVar[str | None] = contextvars.ContextVar("safeload_hook", default=None)


def current_hook() -> str | None:
    """The patched alias (``"torch.load"``) the current load came through, or ``None`` for a direct call."""
    return _current.get()


class _HookField(logging.Filter):
    """Adds ``safeload_hook`` (the alias, or None) to each ``safeload.loaders`` record (the audit record)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.safeload_hook = _current.get()
        return True


def _ensure_log_filter() -> None:
    audit_logger = logging.getLogger("safeload.loaders")
    if not any(isinstance(f, _HookField) for f in audit_logger.filters):
        audit_logger.addFilter(_HookField())


# ----------------------------------------------------------------------------------------------------------
# Helpers that may import (always called outside the lock)
# ----------------------------------------------------------------------------------------------------------

_TRUTHY = {"1", "y", "yes", "true", "on"}
_VERSION = re.compile(r"\d+(?:\.\d+)*")


def _parse_version(text: str) -> tuple[int, ...] | None:
    match = _VERSION.match(text.strip().lstrip("vV"))
    return tuple(int(p) for p in match.group().split(".")) if match else None


def _version_of(target: Target) -> str | None:
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


def _gate(target: Target) -> str | None:
    """``None`` if the installed version is supported, else the reason to skip (cached per install)."""
    with _state.lock:
        if target.name in _state.gates:
            return _state.gates[target.name]
    if target.name == "tf_keras" and os.environ.get("TF_USE_LEGACY_KERAS", "").strip().lower() not in _TRUTHY:
        reason = "safeload.keras_load loads with tf_keras only when TF_USE_LEGACY_KERAS is set"
    elif not target.min_version:
        reason = None
    else:
        text = _version_of(target)
        version = _parse_version(text) if text else None
        wanted = ".".join(map(str, target.min_version))
        if version is None:
            reason = f"cannot determine the version of {target.distribution} ({text!r}); not patched"
        elif version < target.min_version:
            reason = f"{target.distribution} {text} is older than {wanted}, the oldest one safeload supports"
        else:
            reason = None
    with _state.lock:
        return _state.gates.setdefault(target.name, reason)


@functools.cache
def _resolve_loader(ref: str) -> Callable[..., Any]:
    module_name, _, attr = ref.partition(":")
    loader = getattr(importlib.import_module(module_name), attr)
    if not callable(loader):
        raise TypeError(f"{ref} is not callable")
    return loader  # type: ignore[no-any-return]


def _prepare(aliases: Iterable[Alias]) -> dict[str, Callable[..., Any] | str]:
    """Resolve the safe loader of each alias: the function, or the reason it is unavailable."""
    out: dict[str, Callable[..., Any] | str] = {}
    for alias in aliases:
        if alias.loader in out:
            continue
        try:
            out[alias.loader] = _resolve_loader(alias.loader)
        except Exception as exc:  # noqa: BLE001 - a missing safe loader means "skip", never a broken import
            out[alias.loader] = f"safe loader {alias.loader} unavailable: {type(exc).__name__}: {exc}"
    return out


def _targets_of(settings: _Settings) -> list[Target]:
    return [_TARGETS[name] for name in settings.targets]


def _aliases_for(settings: _Settings, module_name: str) -> list[tuple[Target, Alias]]:
    return [(t, a) for t in _targets_of(settings) for a in t.aliases if a.module == module_name]


# ----------------------------------------------------------------------------------------------------------
# Patching (called with the lock held)
# ----------------------------------------------------------------------------------------------------------


def _record_error(target: str, exc: BaseException | str) -> None:
    message = exc if isinstance(exc, str) else f"{type(exc).__name__}: {exc}"
    logger.warning("safeload hook: %s: %s (the import went on, unpatched)", target, message,
                   extra={"safeload_hook_target": target, "safeload_hook_error": message})
    with _state.lock:
        if len(_state.errors) < _MAX_ERRORS:
            _state.errors.append(HookError(target, message, time.time()))


def _skip(alias: Alias, reason: str) -> None:
    if alias.name not in _state.skipped:
        logged = reason in _state.skipped.values()
        _state.skipped[alias.name] = reason
        if logged:
            return
        logger.warning("safeload hook: not patching %s: %s", alias.name, reason,
                       extra={"safeload_hook_target": alias.name, "safeload_hook_skipped": reason})


def _canonical(alias: Alias) -> str:
    """The name a wrapper reports (``torch.load``, not ``torch.serialization.load``): one wrapper serves every
    alias of the same function, as the original object did."""
    for target in _TARGETS.values():
        if alias in target.aliases:
            return next(a.name for a in target.aliases if a.loader == alias.loader)
    return alias.name


def _make_wrapper(original: Any, alias: Alias, loader: Callable[..., Any], settings: _Settings) -> Any:
    defaults: dict[str, Any] = {}
    if settings.threshold is not None:
        defaults["threshold"] = settings.threshold
    if settings.trusted:
        defaults["trusted"] = settings.trusted
    name = _canonical(alias)

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        for key, value in defaults.items():
            kwargs.setdefault(key, value)
        token = _current.set(name)
        try:
            return loader(*args, **kwargs)
        finally:
            _current.reset(token)

    wrapper.__dict__.update(_safeload_wrapper=True, _safeload_alias=name, _safeload_loader=alias.loader,
                            _safeload_generation=_state.generation)
    return wrapper


def _unwrap(value: Any) -> Any:
    seen = 0
    while getattr(value, "_safeload_wrapper", False) and seen < 100:
        value = value.__wrapped__
        seen += 1
    return value


def _orig_keys(alias: Alias) -> tuple[tuple[str, str], ...]:
    """Each spelling a safe loader may pass to ``real_loader``: owning module, public path, top package."""
    keys = [(alias.module, alias.attr)]
    public_module, _, public_attr = alias.name.rpartition(".")
    keys.append((public_module, public_attr))
    top, _, rest = alias.name.partition(".")
    if rest:
        keys.append((top, rest))
    if top == "tf":
        keys.append(("tensorflow", rest))
    return tuple(dict.fromkeys(keys))


def _patch_module(module: types.ModuleType, settings: _Settings,
                  loaders: dict[str, Callable[..., Any] | str], gates: dict[str, str | None]) -> list[str]:
    """Patch every selected alias owned by ``module``. Lock held. Returns the aliases patched now."""
    done: list[str] = []
    missing = object()
    for target, alias in _aliases_for(settings, module.__name__):
        key = (alias.module, alias.attr)
        if key in _state.patches:
            continue
        reason = gates.get(target.name)
        if reason is not None:
            _skip(alias, reason)
            continue
        loader = loaders.get(alias.loader)
        if not callable(loader):
            _skip(alias, str(loader or f"safe loader {alias.loader} unavailable"))
            continue
        container: Any = module
        *path, leaf = alias.attr.split(".")
        for part in path:  # "models.load_model": an attribute of an attribute (tf_keras)
            container = getattr(container, part, missing)
        namespace = getattr(container, "__dict__", {}) if container is not missing else {}
        in_dict = leaf in namespace
        # a lazy module attribute (module __getattr__) is read through getattr, and restored by deleting ours
        current = namespace[leaf] if in_dict else getattr(container, leaf, missing)
        if current is missing:
            if not alias.optional:
                _record_error(alias.name, f"{alias.name} is missing in this version of {target.distribution}")
            continue
        if not callable(current):
            _record_error(alias.name, f"{alias.name} is not callable ({type(current).__name__})")
            continue
        if getattr(current, "_safeload_wrapper", False):
            ours = any(p.wrapper is current for p in _state.patches.values())
            if not ours and getattr(current, "_safeload_generation", None) != _state.generation:
                # a leftover from an earlier install (or another safeload copy): wrap the real function again
                current = _unwrap(current)
            else:
                original = _unwrap(current)
                keys = _orig_keys(alias)
                for k in keys:
                    ORIGINALS[k] = original
                _state.patches[key] = _Patch(alias, container, original, current, keys, in_dict)
                done.append(alias.name)
                continue
        original = current
        cache_key = (id(original), alias.loader)
        wrapper = _state.wrappers.get(cache_key)
        if wrapper is None or wrapper.__wrapped__ is not original:
            wrapper = _make_wrapper(original, alias, loader, settings)
            _state.wrappers[cache_key] = wrapper
        keys = _orig_keys(alias)
        for k in keys:
            ORIGINALS[k] = original  # before the alias changes: safe loaders must never call their wrapper
        try:
            setattr(container, leaf, wrapper)
        except Exception as exc:  # noqa: BLE001 - a read-only module, a __setattr__ that refuses: skip this alias only
            for k in keys:
                if ORIGINALS.get(k) is original and not any(k in p.keys for p in _state.patches.values()):
                    del ORIGINALS[k]
            _record_error(alias.name, exc)
            continue
        _state.patches[key] = _Patch(alias, container, original, wrapper, keys, in_dict)
        done.append(alias.name)
    if done:
        logger.debug("safeload hook: patched %s", ", ".join(done))
    return done


def _still_initialising(module: types.ModuleType) -> bool:
    spec = getattr(module, "__spec__", None)
    return bool(getattr(spec, "_initializing", False))


# Framework-internal references to a loader, by design (joblib reloading its own memmaps in workers, TF Lite's
# converter, array-API namespaces re-exporting numpy): not what ``status().unguarded`` is meant to surface.
_INTERNAL_REFS = {("joblib._memmapping_reducer", "load"), ("tensorflow.lite.python.lite", "_load")}
_INTERNAL_PACKAGES = ("array_api_compat", "array_api_strict")


def _find_unguarded(originals: dict[int, str], settings: _Settings) -> list[str]:
    """``module.name`` for every module-level reference to an original outside the patched aliases."""
    # ``cloudpickle.load`` *is* ``pickle.load``: references to a function of a target that was deliberately
    # not selected (``pickle``) are not "unguarded by accident".
    for target in _TARGETS.values():
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
    known = {(a.module, a.attr) for t in _TARGETS.values() for a in t.aliases}
    found: list[str] = []
    for mod_name, mod in list(sys.modules.items()):
        namespace = getattr(mod, "__dict__", None)
        if not isinstance(namespace, dict):
            continue
        try:
            if not any(id(value) in originals for value in list(namespace.values())):
                continue
            items = list(namespace.items())
        except RuntimeError:  # pragma: no cover - a module mutating its namespace in another thread
            continue
        for attr, value in items:
            if (id(value) in originals and isinstance(attr, str) and (mod_name, attr) not in known
                    and (mod_name, attr) not in _INTERNAL_REFS and not mod_name.startswith("safeload.")
                    and not any(part in _INTERNAL_PACKAGES for part in mod_name.split("."))):
                found.append(f"{mod_name}.{attr} -> {originals[id(value)]}")
    return found


# ----------------------------------------------------------------------------------------------------------
# The post-import hook (called by wrapt, outside its lock and ours)
# ----------------------------------------------------------------------------------------------------------


def _on_import(module: types.ModuleType) -> None:
    """wrapt calls this once ``module`` has been executed. It never raises."""
    name = getattr(module, "__name__", "?")
    try:
        with _state.lock:
            _state.registered.discard(name)
            _state.pending.discard(name)
            settings = _state.settings if _state.installed else None
            generation = _state.generation
        if settings is None:
            return  # uninstalled since the registration: a no-op
        pairs = _aliases_for(settings, name)
        gates = {t.name: _gate(t) for t, _ in pairs}
        loaders = _prepare(a for _, a in pairs)
        with _state.lock:
            if not _state.installed or _state.generation != generation:
                return
            _patch_module(module, settings, loaders, gates)
    except Exception as exc:  # noqa: BLE001 - never break the user's import
        _record_error(name, exc)


def _register(module_name: str) -> None:
    """Ask wrapt to call ``_on_import`` when ``module_name`` is imported (it may call it right away)."""
    try:
        from wrapt import register_post_import_hook
    except ImportError as exc:  # pragma: no cover - wrapt is checked in install()
        _record_error(module_name, exc)
        return
    try:
        register_post_import_hook(_on_import, module_name)
    except Exception as exc:  # noqa: BLE001 - never break the caller
        with _state.lock:
            _state.registered.discard(module_name)
            _state.pending.discard(module_name)
        _record_error(module_name, exc)


# ----------------------------------------------------------------------------------------------------------
# Public API
# ----------------------------------------------------------------------------------------------------------


def _parse_targets(targets: Iterable[str] | str | None) -> tuple[str, ...]:
    if targets is None:
        return DEFAULT_TARGETS
    names = targets.split(",") if isinstance(targets, str) else list(targets)
    out: list[str] = []
    for raw in names:
        name = str(raw).strip().lower()
        if name in {"default", "defaults"}:
            out.extend(DEFAULT_TARGETS)
        elif name == "all":
            out.extend(ALL_TARGETS)
        elif name in {"tf", "tf.keras"}:
            out.extend(["tensorflow", "keras", "tf_keras"])
        elif name == "_pickle":
            out.append("pickle")
        elif name in _TARGETS:
            out.append(name)
        elif name:
            choices = ", ".join((*ALL_TARGETS, "default", "all"))
            raise ValueError(f"unknown hook target {raw!r}; choose from {choices}")
    return tuple(dict.fromkeys(out))


def install(*, threshold: Severity | str | None = None, trusted: Iterable[str] | str | None = None,
            targets: Iterable[str] | str | None = None) -> bool:
    """Patch the supported loaders now (modules already imported) and on import (the others).

    ``threshold`` and ``trusted`` are passed to every hooked load (environment overrides still apply, as for
    a direct call; with ``None`` each load resolves them from ``SAFELOAD_*`` and ``[tool.safeload]``).
    ``targets`` selects frameworks (default :data:`DEFAULT_TARGETS`; ``"pickle"`` must be named explicitly,
    e.g. ``targets=["default", "pickle"]``). Returns ``True`` if this call installed the hook, ``False`` if it
    was already installed (a no-op: ``uninstall()`` first to change settings).
    """
    level = Severity.parse(threshold) if threshold is not None else None
    names: tuple[str, ...] = ()
    if trusted is not None:
        names = tuple([trusted] if isinstance(trusted, str) else trusted)
        Policy(trusted=names)  # validate now (hard floor, wildcards), not at the first load
    settings = _Settings(level, names, _parse_targets(targets))
    try:
        import wrapt  # noqa: F401 - fail early with a useful message
    except ImportError as exc:
        raise ImportError("the safeload import hook needs wrapt: pip install 'safeload[hook]'") from exc

    with _state.lock:
        if _state.installed:
            same = _state.settings == settings
            (logger.info if same else logger.warning)(
                "safeload hook already installed; install() ignored%s",
                "" if same else " (different settings: call uninstall() first to change them)")
            return False
        _state.installed = True
        _state.generation += 1
        _state.settings = settings
        _state.skipped.clear()
        _state.errors.clear()
        _state.unguarded.clear()
        _state.gates.clear()
        _state.wrappers.clear()
        generation = _state.generation
        owners = list(dict.fromkeys(a.module for t in _targets_of(settings) for a in t.aliases))
        present = [m for m in owners if m in sys.modules]
    _ensure_log_filter()

    # Version gates and safe loaders for what is already imported, resolved outside the lock (may import).
    pairs = [(t, a) for m in present for t, a in _aliases_for(settings, m)]
    gates = {t.name: _gate(t) for t, _ in pairs}
    loaders = _prepare(a for _, a in pairs)
    originals: dict[int, str] = {}
    to_register: list[str] = []
    waiting: list[str] = []
    with _state.lock:
        if not _state.installed or _state.generation != generation:
            return True  # uninstalled concurrently
        for module_name in owners:
            module = sys.modules.get(module_name)
            if module is not None and (_still_initialising(module) or module_name not in present):
                waiting.append(module_name)  # being imported by another thread, or imported since we looked
            elif module is not None:
                try:
                    _patch_module(module, settings, loaders, gates)
                except Exception as exc:  # noqa: BLE001 - record and go on with the other modules
                    _record_error(module_name, exc)
            elif module_name not in _state.registered:
                _state.registered.add(module_name)
                _state.pending.add(module_name)
                to_register.append(module_name)
            else:
                _state.pending.add(module_name)
        originals = {id(p.original): _canonical(p.alias) for p in _state.patches.values()}
        _state.unguarded.extend(_find_unguarded(originals, settings))
        unguarded = list(_state.unguarded)
    for module_name in to_register:
        _register(module_name)
    for module_name in waiting:
        _finish_waiting(module_name, generation)
    if unguarded:
        logger.warning("safeload hook: %d reference(s) to a loader were taken before install() and are not "
                       "guarded: %s (install earlier: import safeload.auto)", len(unguarded),
                       "; ".join(unguarded), extra={"safeload_unguarded": unguarded})
    logger.info("safeload hook installed (targets %s, threshold %s)", ",".join(settings.targets),
                level.label if level is not None else "from config",
                extra={"safeload_hook_targets": list(settings.targets)})
    return True


def _finish_waiting(module_name: str, generation: int) -> None:
    """A module another thread was importing at install(): wait for it, then patch it."""
    try:
        module = importlib.import_module(module_name)  # blocks until the other thread's import is done
        with _state.lock:
            settings = _state.settings
        if settings is None:
            return
        pairs = _aliases_for(settings, module_name)
        gates = {t.name: _gate(t) for t, _ in pairs}
        loaders = _prepare(a for _, a in pairs)
        with _state.lock:
            if not _state.installed or _state.generation != generation:
                return
            if _still_initialising(module):  # our own thread is importing it (install() during its import)
                for _, alias in pairs:
                    _skip(alias, f"{module_name} was still being imported when install() ran; call install() "
                                 "again after the import")
                return
            _patch_module(module, settings, loaders, gates)
    except Exception as exc:  # noqa: BLE001 - never break the caller
        _record_error(module_name, exc)


def uninstall() -> bool:
    """Restore every patched alias to its exact original object. Returns ``False`` if nothing was installed.

    Hooks still registered with wrapt become no-ops. An alias that someone else replaced after safeload
    patched it is left alone (with a warning) rather than clobbered.
    """
    with _state.lock:
        if not _state.installed:
            logger.debug("safeload hook not installed; uninstall() ignored")
            return False
        _state.installed = False
        _state.settings = None
        _state.pending.clear()
        kept: dict[tuple[str, str], _Patch] = {}
        for key, patch in _state.patches.items():
            leaf = patch.alias.attr.rpartition(".")[2]
            current = getattr(patch.container, "__dict__", {}).get(leaf, _MISSING)
            if current is patch.wrapper or (current is _MISSING and not patch.in_dict):
                if current is patch.wrapper and patch.in_dict:
                    setattr(patch.container, leaf, patch.original)
                elif current is patch.wrapper:
                    delattr(patch.container, leaf)  # the module's __getattr__ serves the original again
                for k in patch.keys:
                    if ORIGINALS.get(k) is patch.original:
                        del ORIGINALS[k]
            else:
                kept[key] = patch
                logger.warning("safeload hook: %s was replaced by someone else after safeload patched it; "
                               "left as is", patch.alias.name)
        _state.patches = kept
        _state.wrappers.clear()
    logger.info("safeload hook uninstalled")
    return True


def is_installed() -> bool:
    """True between ``install()`` and ``uninstall()``."""
    with _state.lock:
        return _state.installed


def status() -> HookStatus:
    """What is patched, what waits for an import, what was skipped (and why), and hook errors."""
    with _state.lock:
        settings = _state.settings
        return HookStatus(
            installed=_state.installed,
            generation=_state.generation,
            targets=settings.targets if settings else (),
            threshold=settings.threshold.label if settings and settings.threshold is not None else None,
            trusted=settings.trusted if settings else (),
            patched=tuple(sorted(p.alias.name for p in _state.patches.values())),
            pending=tuple(sorted(a.name for t in (_targets_of(settings) if settings else ())
                                 for a in t.aliases if a.module in _state.pending)),
            skipped=dict(_state.skipped),
            errors=tuple(_state.errors),
            unguarded=tuple(_state.unguarded),
        )


@contextlib.contextmanager
def patched(*, threshold: Severity | str | None = None, trusted: Iterable[str] | str | None = None,
            targets: Iterable[str] | str | None = None) -> Iterator[HookStatus]:
    """``with safeload.patched(): ...``: the hook inside the block, uninstalled after it if this block
    installed it (an outer ``install()`` stays). Process-wide like ``install()``: other threads see it too."""
    installed_here = install(threshold=threshold, trusted=trusted, targets=targets)
    try:
        yield status()
    finally:
        if installed_here:
            uninstall()


# ----------------------------------------------------------------------------------------------------------
# The launcher: ``safeload run -- CMD ...``
# ----------------------------------------------------------------------------------------------------------

BOOTSTRAP_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_bootstrap")


def bootstrap_env(environ: dict[str, str] | None = None) -> dict[str, str]:
    """A copy of ``environ`` with the bootstrap directory first on ``PYTHONPATH`` and ``SAFELOAD_HOOK=1``."""
    env = dict(os.environ if environ is None else environ)
    parts = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and p != BOOTSTRAP_DIR]
    env["PYTHONPATH"] = os.pathsep.join([BOOTSTRAP_DIR, *parts])
    env["SAFELOAD_HOOK"] = "1"
    return env


def run_command(argv: Sequence[str]) -> int:
    """Run ``argv`` with the hook active in every Python process it starts; return its exit code.

    The bootstrap directory (a ``sitecustomize`` that imports ``safeload.auto`` and then the previous
    ``sitecustomize``) goes first on ``PYTHONPATH``, and ``SAFELOAD_HOOK=1``; child processes inherit both.
    The other ``SAFELOAD_*`` variables and ``[tool.safeload]`` configure the hook as usual. Exit codes: the
    command's own; 128+N if it died from signal N; 127 if it was not found, 126 if it could not be run, 2
    for an empty command.
    """
    args = list(argv)
    if args and args[0] == "--":
        args = args[1:]
    if not args:
        sys.stderr.write("usage: safeload run -- COMMAND [ARGS...]\n")
        return 2
    try:
        # running the user's command is the point of the launcher
        process = subprocess.Popen(args, env=bootstrap_env())  # noqa: S603
    except FileNotFoundError:
        sys.stderr.write(f"safeload run: command not found: {args[0]}\n")
        return 127
    except OSError as exc:
        sys.stderr.write(f"safeload run: cannot run {args[0]}: {exc}\n")
        return 126
    while True:
        try:
            code = process.wait()
            break
        except KeyboardInterrupt:  # the child got the SIGINT too; wait for it to finish
            continue
    return code if code >= 0 else 128 - code
