"""Patching and unpatching: ``install()``, ``uninstall()``, ``patched()`` and the post-import hook.

``install()`` replaces every alias of every selected target (``targets.py``) with a thin wrapper that calls
the matching ``safeload.*_load`` with the call's arguments plus the install-time ``threshold``/``trusted``.
Modules already imported are patched at once; the others are patched by ``wrapt`` post-import hooks when
they are imported.

Invariants:

- **Never break an import.** A post-import hook catches every exception, logs it at WARNING on
  ``safeload.hook``, records it in ``status()``, and returns; ``import torch`` always succeeds.
- **Idempotent.** A second ``install()`` is a no-op with a log line; a module is patched once however many
  hooks fire; an alias that already holds a safeload wrapper is not wrapped again.
- **Reversible.** ``uninstall()`` puts back the exact original objects (``torch.load is original``) and
  removes them from ``safeload.loaders._common.ORIGINALS``. wrapt has no unregister, so hooks still
  registered become no-ops (they check ``STATE.installed`` under the lock).
- **Thread-safe.** One ``RLock``; check-then-patch happens under it. Anything that may import (version
  lookup, resolving the safe loader, wrapt's registration, which may call the hook at once) runs outside it.
- **Safe loaders never recurse.** Every original is stored in ``ORIGINALS[(module, attr)]`` before its alias
  is replaced, and wrappers carry ``_safeload_wrapper = True`` and ``__wrapped__``, so ``real_loader`` finds
  it.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import sys
import types
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from safeload._log import get_logger
from safeload.hook.gates import gate
from safeload.hook.state import (
    CURRENT,
    MISSING,
    STATE,
    HookStatus,
    Patch,
    Settings,
    ensure_log_filter,
    record_error,
    skip,
    status,
    targets_of,
)
from safeload.hook.targets import Alias, Target, canonical, parse_targets
from safeload.hook.unguarded import find_unguarded
from safeload.loaders._common import ORIGINALS
from safeload.policy import Policy
from safeload.severity import Severity

__all__ = ["install", "patched", "uninstall"]

logger = get_logger("safeload.hook")


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


def _aliases_for(settings: Settings, module_name: str) -> list[tuple[Target, Alias]]:
    return [(t, a) for t in targets_of(settings) for a in t.aliases if a.module == module_name]


def _make_wrapper(original: Any, alias: Alias, loader: Callable[..., Any], settings: Settings) -> Any:
    defaults: dict[str, Any] = {}
    if settings.threshold is not None:
        defaults["threshold"] = settings.threshold
    if settings.trusted:
        defaults["trusted"] = settings.trusted
    name = canonical(alias)

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        for key, value in defaults.items():
            kwargs.setdefault(key, value)
        token = CURRENT.set(name)
        try:
            return loader(*args, **kwargs)
        finally:
            CURRENT.reset(token)

    wrapper.__dict__.update(_safeload_wrapper=True, _safeload_alias=name, _safeload_loader=alias.loader,
                            _safeload_generation=STATE.generation)
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


def _patch_module(module: types.ModuleType, settings: Settings,
                  loaders: dict[str, Callable[..., Any] | str], gates: dict[str, str | None]) -> list[str]:
    """Patch every selected alias owned by ``module``. Lock held. Returns the aliases patched now."""
    done: list[str] = []
    missing = object()
    for target, alias in _aliases_for(settings, module.__name__):
        key = (alias.module, alias.attr)
        if key in STATE.patches:
            continue
        reason = gates.get(target.name)
        if reason is not None:
            skip(alias, reason)
            continue
        loader = loaders.get(alias.loader)
        if not callable(loader):
            skip(alias, str(loader or f"safe loader {alias.loader} unavailable"))
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
                record_error(alias.name, f"{alias.name} is missing in this version of {target.distribution}")
            continue
        if not callable(current):
            record_error(alias.name, f"{alias.name} is not callable ({type(current).__name__})")
            continue
        if getattr(current, "_safeload_wrapper", False):
            ours = any(p.wrapper is current for p in STATE.patches.values())
            if not ours and getattr(current, "_safeload_generation", None) != STATE.generation:
                # a leftover from an earlier install (or another safeload copy): wrap the real function again
                current = _unwrap(current)
            else:
                original = _unwrap(current)
                keys = _orig_keys(alias)
                for k in keys:
                    ORIGINALS[k] = original
                STATE.patches[key] = Patch(alias, container, original, current, keys, in_dict)
                done.append(alias.name)
                continue
        original = current
        cache_key = (id(original), alias.loader)
        wrapper = STATE.wrappers.get(cache_key)
        if wrapper is None or wrapper.__wrapped__ is not original:
            wrapper = _make_wrapper(original, alias, loader, settings)
            STATE.wrappers[cache_key] = wrapper
        keys = _orig_keys(alias)
        for k in keys:
            ORIGINALS[k] = original  # before the alias changes: safe loaders must never call their wrapper
        try:
            setattr(container, leaf, wrapper)
        except Exception as exc:  # noqa: BLE001 - a read-only module, a __setattr__ that refuses: skip this alias only
            for k in keys:
                if ORIGINALS.get(k) is original and not any(k in p.keys for p in STATE.patches.values()):
                    del ORIGINALS[k]
            record_error(alias.name, exc)
            continue
        STATE.patches[key] = Patch(alias, container, original, wrapper, keys, in_dict)
        done.append(alias.name)
    if done:
        logger.debug("safeload hook: patched %s", ", ".join(done))
    return done


def _still_initialising(module: types.ModuleType) -> bool:
    spec = getattr(module, "__spec__", None)
    return bool(getattr(spec, "_initializing", False))


# ----------------------------------------------------------------------------------------------------------
# The post-import hook (called by wrapt, outside its lock and ours)
# ----------------------------------------------------------------------------------------------------------


def _on_import(module: types.ModuleType) -> None:
    """wrapt calls this once ``module`` has been executed. It never raises."""
    name = getattr(module, "__name__", "?")
    try:
        with STATE.lock:
            STATE.registered.discard(name)
            STATE.pending.discard(name)
            settings = STATE.settings if STATE.installed else None
            generation = STATE.generation
        if settings is None:
            return  # uninstalled since the registration: a no-op
        pairs = _aliases_for(settings, name)
        gates = {t.name: gate(t) for t, _ in pairs}
        loaders = _prepare(a for _, a in pairs)
        with STATE.lock:
            if not STATE.installed or STATE.generation != generation:
                return
            _patch_module(module, settings, loaders, gates)
    except Exception as exc:  # noqa: BLE001 - never break the user's import
        record_error(name, exc)


def _register(module_name: str) -> None:
    """Ask wrapt to call ``_on_import`` when ``module_name`` is imported (it may call it right away)."""
    try:
        from wrapt import register_post_import_hook
    except ImportError as exc:  # pragma: no cover - wrapt is checked in install()
        record_error(module_name, exc)
        return
    try:
        register_post_import_hook(_on_import, module_name)
    except Exception as exc:  # noqa: BLE001 - never break the caller
        with STATE.lock:
            STATE.registered.discard(module_name)
            STATE.pending.discard(module_name)
        record_error(module_name, exc)


# ----------------------------------------------------------------------------------------------------------
# Public API
# ----------------------------------------------------------------------------------------------------------


def install(*, threshold: Severity | str | None = None, trusted: Iterable[str] | str | None = None,
            targets: Iterable[str] | str | None = None) -> bool:
    """Patch the supported loaders now (modules already imported) and on import (the others).

    ``threshold`` and ``trusted`` are passed to every hooked load (environment overrides still apply, as for
    a direct call; with ``None`` each load resolves them from ``SAFELOAD_*`` and ``[tool.safeload]``).
    ``targets`` selects frameworks (default :data:`DEFAULTTARGETS`; ``"pickle"`` must be named explicitly,
    e.g. ``targets=["default", "pickle"]``). Returns ``True`` if this call installed the hook, ``False`` if it
    was already installed (a no-op: ``uninstall()`` first to change settings).
    """
    level = Severity.parse(threshold) if threshold is not None else None
    names: tuple[str, ...] = ()
    if trusted is not None:
        names = tuple([trusted] if isinstance(trusted, str) else trusted)
        Policy(trusted=names)  # validate now (hard floor, wildcards), not at the first load
    settings = Settings(level, names, parse_targets(targets))
    try:
        import wrapt  # noqa: F401 - fail early with a useful message
    except ImportError as exc:
        raise ImportError("the safeload import hook needs wrapt: pip install 'safeload[hook]'") from exc

    with STATE.lock:
        if STATE.installed:
            same = STATE.settings == settings
            (logger.info if same else logger.warning)(
                "safeload hook already installed; install() ignored%s",
                "" if same else " (different settings: call uninstall() first to change them)")
            return False
        STATE.installed = True
        STATE.generation += 1
        STATE.settings = settings
        STATE.skipped.clear()
        STATE.errors.clear()
        STATE.unguarded.clear()
        STATE.gates.clear()
        STATE.wrappers.clear()
        generation = STATE.generation
        owners = list(dict.fromkeys(a.module for t in targets_of(settings) for a in t.aliases))
        present = [m for m in owners if m in sys.modules]
    ensure_log_filter()

    # Version gates and safe loaders for what is already imported, resolved outside the lock (may import).
    pairs = [(t, a) for m in present for t, a in _aliases_for(settings, m)]
    gates = {t.name: gate(t) for t, _ in pairs}
    loaders = _prepare(a for _, a in pairs)
    originals: dict[int, str] = {}
    to_register: list[str] = []
    waiting: list[str] = []
    with STATE.lock:
        if not STATE.installed or STATE.generation != generation:
            return True  # uninstalled concurrently
        for module_name in owners:
            module = sys.modules.get(module_name)
            if module is not None and (_still_initialising(module) or module_name not in present):
                waiting.append(module_name)  # being imported by another thread, or imported since we looked
            elif module is not None:
                try:
                    _patch_module(module, settings, loaders, gates)
                except Exception as exc:  # noqa: BLE001 - record and go on with the other modules
                    record_error(module_name, exc)
            elif module_name not in STATE.registered:
                STATE.registered.add(module_name)
                STATE.pending.add(module_name)
                to_register.append(module_name)
            else:
                STATE.pending.add(module_name)
        originals = {id(p.original): canonical(p.alias) for p in STATE.patches.values()}
        STATE.unguarded.extend(find_unguarded(originals, settings))
        unguarded = list(STATE.unguarded)
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
        with STATE.lock:
            settings = STATE.settings
        if settings is None:
            return
        pairs = _aliases_for(settings, module_name)
        gates = {t.name: gate(t) for t, _ in pairs}
        loaders = _prepare(a for _, a in pairs)
        with STATE.lock:
            if not STATE.installed or STATE.generation != generation:
                return
            if _still_initialising(module):  # our own thread is importing it (install() during its import)
                for _, alias in pairs:
                    skip(alias, f"{module_name} was still being imported when install() ran; call install() "
                                 "again after the import")
                return
            _patch_module(module, settings, loaders, gates)
    except Exception as exc:  # noqa: BLE001 - never break the caller
        record_error(module_name, exc)


def uninstall() -> bool:
    """Restore every patched alias to its exact original object. Returns ``False`` if nothing was installed.

    Hooks still registered with wrapt become no-ops. An alias that someone else replaced after safeload
    patched it is left alone (with a warning) rather than clobbered.
    """
    with STATE.lock:
        if not STATE.installed:
            logger.debug("safeload hook not installed; uninstall() ignored")
            return False
        STATE.installed = False
        STATE.settings = None
        STATE.pending.clear()
        STATE.unguarded.clear()  # nothing is guarded any more: the early references are no longer a gap
        kept: dict[tuple[str, str], Patch] = {}
        for key, patch in STATE.patches.items():
            leaf = patch.alias.attr.rpartition(".")[2]
            current = getattr(patch.container, "__dict__", {}).get(leaf, MISSING)
            if current is patch.wrapper or (current is MISSING and not patch.in_dict):
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
        STATE.patches = kept
        STATE.wrappers.clear()
    logger.info("safeload hook uninstalled")
    return True


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


