"""Configuration: ``[tool.safeload]`` in pyproject.toml, ``SAFELOAD_*`` environment variables, and call arguments.

Precedence, per key: explicit argument, then environment, then config file, then default. One asymmetry,
copied from torch's weights_only overrides: an environment threshold that is *stricter* than the argument
wins over it; one that is *laxer* applies only where the code said nothing, and warns. Every resolved value
records where it came from (``Config.sources``), which ``safeload config show`` prints.

Invariant: configuration can make safeload stricter from outside the code, never silently laxer.
"""

from __future__ import annotations

import functools
import os
import tomllib
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from safeload.exceptions import ConfigError, PolicyError, SafeloadWarning
from safeload.policy import Limits, Policy
from safeload.severity import Severity

__all__ = ["Config", "find_config_file", "load_config", "resolve_policy", "show_config"]

ENV_PREFIX = "SAFELOAD_"
_TRUE = {"1", "y", "yes", "true", "on"}
_FALSE = {"0", "n", "no", "false", "off"}


@dataclass(frozen=True)
class Config:
    """The effective settings and, for each key, its source ("default", "env SAFELOAD_X", a file path, ...)."""

    threshold: Severity = Severity.MEDIUM
    trusted: tuple[str, ...] = ()
    limits: Limits = field(default_factory=Limits)
    fail_on: Severity = Severity.MEDIUM
    format: str = "text"
    progress: bool = True
    hook: bool = False
    log_level: str | None = None
    sources: Mapping[str, str] = field(default_factory=dict)
    #: native libraries (ONNX Runtime custom ops, execution providers) the hook lets a process register:
    #: ``"<sha256 hex>  <path>"`` entries, as ``sha256sum`` prints them
    trusted_libraries: tuple[str, ...] = ()

    def policy(self) -> Policy:
        return Policy(threshold=self.threshold, trusted=self.trusted, limits=self.limits)


def parse_bool(value: str, key: str) -> bool:
    text = value.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigError(f"{key}={value!r} is not a boolean (use one of {sorted(_TRUE | _FALSE)})")


def find_config_file(start: str | os.PathLike[str] | None = None) -> Path | None:
    """The nearest ``pyproject.toml`` with a ``[tool.safeload]`` table, walking up from ``start`` (or the CWD)."""
    here = Path(start) if start is not None else Path.cwd()
    here = here if here.is_dir() else here.parent
    for folder in (here, *here.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file() and _read_table(candidate) is not None:
            return candidate
    return None


@functools.lru_cache(maxsize=32)
def _read_table_cached(path: str, mtime_ns: int) -> dict[str, Any] | None:
    try:
        with open(path, "rb") as handle:
            document = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    if path.endswith("pyproject.toml"):
        table = document.get("tool", {}).get("safeload")
        return dict(table) if isinstance(table, dict) else None
    return document


def _read_table(path: Path) -> dict[str, Any] | None:
    try:
        mtime = path.stat().st_mtime_ns
    except OSError:
        return None
    return _read_table_cached(str(path), mtime)


def _limits_from(mapping: Mapping[str, Any], where: str, sources: dict[str, str], base: Limits) -> Limits:
    changes: dict[str, Any] = {}
    for f in fields(Limits):
        if f.name in mapping:
            raw = mapping[f.name]
            try:
                value = float(raw) if f.type in ("float", float) else int(raw)
            except (TypeError, ValueError) as exc:
                raise ConfigError(f"{where}: limits.{f.name}={raw!r} is not a number") from exc
            if value <= 0:
                raise ConfigError(f"{where}: limits.{f.name} must be positive")
            changes[f.name] = value
            sources[f"limits.{f.name}"] = where
    return replace(base, **changes)


def load_config(config_file: str | os.PathLike[str] | None = None, *, start: str | None = None,
                environ: Mapping[str, str] | None = None) -> Config:
    """Read defaults, then the config file, then the environment (no call arguments: see ``resolve_policy``)."""
    env = os.environ if environ is None else environ
    sources: dict[str, str] = {}
    values: dict[str, Any] = {}
    limits = Limits()

    path = Path(config_file) if config_file is not None else find_config_file(start)
    if path is not None:
        table = _read_table(path) if path.is_file() else None
        if config_file is not None and table is None:
            raise ConfigError(f"config file {path} not found or has no safeload settings")
        table = table or {}
        where = str(path)
        known = {"threshold", "trusted", "fail_on", "format", "progress", "hook", "log_level", "limits",
                 "trusted_libraries"}
        unknown = set(table) - known
        if unknown:
            raise ConfigError(f"{where}: unknown safeload settings {sorted(unknown)}")
        for key in known - {"limits"}:
            if key in table:
                values[key] = table[key]
                sources[key] = where
        if "limits" in table:
            if not isinstance(table["limits"], dict):
                raise ConfigError(f"{where}: limits must be a table")
            limits = _limits_from(table["limits"], where, sources, limits)

    env_limits = {f.name: env[f"{ENV_PREFIX}{f.name.upper()}"] for f in fields(Limits)
                  if f"{ENV_PREFIX}{f.name.upper()}" in env}
    limits = _limits_from(env_limits, "env", sources, limits)
    for key in ("fail_on", "format", "progress", "hook", "log_level"):
        name = f"{ENV_PREFIX}{key.upper()}"
        if name in env:
            values[key] = env[name]
            sources[key] = f"env {name}"

    try:
        config = Config(
            threshold=Severity.parse(values.get("threshold", "medium")),
            trusted=tuple(_as_list(values.get("trusted", ()), "trusted")),
            limits=limits,
            fail_on=Severity.parse(values.get("fail_on", "medium")),
            format=str(values.get("format", "text")),
            progress=_as_bool(values.get("progress", True), "progress"),
            hook=_as_bool(values.get("hook", False), "hook"),
            log_level=None if values.get("log_level") is None else str(values["log_level"]).upper(),
            sources=sources,
            trusted_libraries=tuple(parse_trusted_libraries(values.get("trusted_libraries", ()))),
        )
        Policy(trusted=config.trusted)  # validates trust entries (floor, wildcards)
    except PolicyError as exc:
        raise ConfigError(str(exc)) from exc
    except ValueError as exc:
        raise ConfigError(f"invalid safeload setting: {exc}") from exc
    if config.format not in {"text", "json", "sarif", "markdown"}:
        raise ConfigError(f"format must be one of text, json, sarif, markdown (got {config.format!r})")
    return config


def parse_trusted_libraries(value: Any, key: str = "trusted_libraries") -> list[str]:
    """``"<64 hex digits>  <path>"`` entries (comma-separated in the environment); anything else is an error."""
    entries = _as_list(value, key)
    for entry in entries:
        digest, _, path = entry.strip().partition(" ")
        if len(digest) != 64 or any(c not in "0123456789abcdefABCDEF" for c in digest) or not path.strip():
            raise ConfigError(f"{key}: {entry!r} is not '<sha256 hex>  <path>' (as sha256sum prints it)")
    return [entry.strip() for entry in entries]


def _as_list(value: Any, key: str) -> list[str]:
    if isinstance(value, str):
        return [part for part in (p.strip() for p in value.split(",")) if part]
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return list(value)
    raise ConfigError(f"{key} must be a list of names")


def _as_bool(value: Any, key: str) -> bool:
    if isinstance(value, bool):
        return value
    return parse_bool(str(value), key)


def _file_config(cwd: str, env: Mapping[str, str]) -> Config:
    """Config file, defaults and ``SAFELOAD_<LIMIT>`` variables; the threshold and trust from the environment
    are applied by the caller, asymmetrically."""
    limit_vars = {f"{ENV_PREFIX}{f.name.upper()}" for f in fields(Limits)}
    return load_config(start=cwd, environ={k: v for k, v in env.items() if k in limit_vars})


def resolve_policy(threshold: Severity | str | None = None, trusted: Iterable[str] | str | None = None,
                   policy: Policy | None = None, *, environ: Mapping[str, str] | None = None,
                   use_config_file: bool = True) -> Policy:
    """The policy a scan or load applies, from its arguments, the environment and ``[tool.safeload]``.

    ``policy`` replaces the file/default base; ``threshold`` and ``trusted`` refine it. ``SAFELOAD_THRESHOLD``
    wins when stricter than the argument; when laxer it applies only if no threshold was passed, and warns.
    ``SAFELOAD_TRUSTED`` (comma-separated) adds names and warns.
    """
    env = os.environ if environ is None else environ
    base = policy if policy is not None else (
        _file_config(os.getcwd(), env).policy() if use_config_file else Policy())
    explicit: Severity | None = Severity.parse(threshold) if threshold is not None else (
        policy.threshold if policy is not None else None)
    level = explicit if explicit is not None else base.threshold

    env_value = env.get(f"{ENV_PREFIX}THRESHOLD")
    if env_value:
        try:
            env_level = Severity.parse(env_value)
        except ValueError as exc:
            raise ConfigError(f"SAFELOAD_THRESHOLD: {exc}") from exc
        if env_level < level:
            level = env_level  # stricter from outside always wins
        elif env_level > level and explicit is None:
            warnings.warn(f"SAFELOAD_THRESHOLD={env_level.label} relaxes the threshold from {level.label}",
                          SafeloadWarning, stacklevel=3)
            level = env_level

    names: tuple[str, ...] = base.trusted
    if trusted is not None:
        names += tuple([trusted] if isinstance(trusted, str) else trusted)
    env_trust = env.get(f"{ENV_PREFIX}TRUSTED")
    if env_trust:
        extra = tuple(_as_list(env_trust, "SAFELOAD_TRUSTED"))
        warnings.warn(f"SAFELOAD_TRUSTED adds trusted names: {', '.join(extra)}", SafeloadWarning, stacklevel=3)
        names += extra
    analyse = base.analyse_source
    env_analyse = env.get(f"{ENV_PREFIX}SOURCE_ANALYSIS")
    if env_analyse and not parse_bool(env_analyse, "SAFELOAD_SOURCE_ANALYSIS"):
        analyse = False  # turning the source analysis off is stricter: it always applies
    return replace(base, threshold=level, trusted=names, analyse_source=analyse)


def show_config(config_file: str | os.PathLike[str] | None = None) -> str:
    """Effective settings, one per line, with where each came from."""
    config = load_config(config_file)
    env_threshold = os.environ.get(f"{ENV_PREFIX}THRESHOLD")
    threshold = Severity.parse(env_threshold) if env_threshold else config.threshold
    src = dict(config.sources)
    if env_threshold:
        src["threshold"] = f"env {ENV_PREFIX}THRESHOLD"
    rows = [
        ("threshold", threshold.label), ("trusted", ", ".join(config.trusted) or "(none)"),
        ("fail_on", config.fail_on.label), ("format", config.format), ("progress", str(config.progress).lower()),
        ("hook", str(config.hook).lower()), ("log_level", config.log_level or "(unset)"),
        ("trusted_libraries", ", ".join(config.trusted_libraries) or "(none)"),
    ]
    rows += [(f"limits.{f.name}", str(getattr(config.limits, f.name))) for f in fields(Limits)]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k.ljust(width)} = {v}    ({src.get(k, 'default')})" for k, v in rows)
