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
from collections.abc import Iterable, Mapping

from safeload._record import DataclassRecord
from safeload.exceptions import ConfigError, PolicyError, SafeloadWarning
from safeload.policy import Limits, Policy
from safeload.severity import Severity

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

__all__ = ["Config", "find_config_file", "integrity_config", "load_config", "resolve_policy", "show_config"]

ENV_PREFIX = "SAFELOAD_"
_TRUE = {"1", "y", "yes", "true", "on"}
_FALSE = {"0", "n", "no", "false", "off"}


_CONFIG_DEFAULTS: dict[str, Any] = {
    "threshold": Severity.MEDIUM, "trusted": (), "fail_on": Severity.MEDIUM, "format": "text", "progress": True,
    "hook": False, "log_level": None, "lock": None, "require_signature": False, "public_key": None,
    "certificate": (), "sigstore_identity": None, "sigstore_issuer": None, "trust_config": None, "cache": True,
    "trusted_libraries": ()}


class Config(DataclassRecord):
    """The effective settings and, for each key, its source ("default", "env SAFELOAD_X", a file path, ...).

    A hand-written record (issue 15: fixed costs) that ``dataclasses.replace``/``fields`` accept as before."""

    _FIELDS = ("threshold", "trusted", "limits", "fail_on", "format", "progress", "hook", "log_level", "lock",
               "require_signature", "public_key", "certificate", "sigstore_identity", "sigstore_issuer",
               "trust_config", "cache", "sources", "trusted_libraries")
    __slots__ = ("cache", "certificate", "fail_on", "format", "hook", "limits", "lock", "log_level", "progress",
                 "public_key", "require_signature", "sigstore_identity", "sigstore_issuer", "sources", "threshold",
                 "trust_config", "trusted", "trusted_libraries")
    _DEFAULTS = _CONFIG_DEFAULTS
    _FACTORIES = {"limits": Limits, "sources": dict}

    threshold: Severity
    trusted: tuple[str, ...]
    limits: Limits
    fail_on: Severity
    format: str
    progress: bool
    hook: bool
    log_level: str | None
    # integrity (docs/integrity.md): requirements every guarded load adds to its own
    lock: str | None
    require_signature: bool
    public_key: str | None
    certificate: tuple[str, ...]
    sigstore_identity: str | None
    sigstore_issuer: str | None
    trust_config: str | None
    cache: bool
    sources: Mapping[str, str]
    #: native libraries (ONNX Runtime custom ops, execution providers) the hook lets a process register:
    #: ``"<sha256 hex>  <path>"`` entries, as ``sha256sum`` prints them
    trusted_libraries: tuple[str, ...]

    def __init__(self, threshold: Severity = Severity.MEDIUM, trusted: tuple[str, ...] = (),  # noqa: PLR0917
                 limits: Limits | None = None, fail_on: Severity = Severity.MEDIUM, format: str = "text",
                 progress: bool = True, hook: bool = False, log_level: str | None = None, lock: str | None = None,
                 require_signature: bool = False, public_key: str | None = None, certificate: tuple[str, ...] = (),
                 sigstore_identity: str | None = None, sigstore_issuer: str | None = None,
                 trust_config: str | None = None, cache: bool = True, sources: Mapping[str, str] | None = None,
                 trusted_libraries: tuple[str, ...] = ()) -> None:
        values = locals()
        for name in self._FIELDS:
            object.__setattr__(self, name, values[name])
        object.__setattr__(self, "limits", Limits() if limits is None else limits)
        object.__setattr__(self, "sources", {} if sources is None else sources)

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
    found = _find_config(start)
    if found is None:
        return None
    from pathlib import Path

    return Path(found)


def _find_config(start: str | os.PathLike[str] | None) -> str | None:
    """:func:`find_config_file` as a string. A normalised absolute ``start`` (the CWD: every load's case) is
    walked with ``os.path`` (issue 15: ``pathlib`` imports ``urllib.parse`` and ``ipaddress``); any other
    spelling goes through ``pathlib``, whose parsing (``.`` and ``..`` components, relative parents) decides."""
    here = os.getcwd() if start is None else os.fspath(start)
    if isinstance(here, str) and os.path.isabs(here) and os.path.normpath(here) == here and not here.startswith("//"):
        folder = here if os.path.isdir(here) else os.path.dirname(here)
        while True:
            candidate = os.path.join(folder, "pyproject.toml")
            if os.path.isfile(candidate) and _read_table(candidate) is not None:
                return candidate
            parent = os.path.dirname(folder)
            if parent == folder:
                return None
            folder = parent
    from pathlib import Path

    path = Path(here)
    path = path if path.is_dir() else path.parent
    for folder_path in (path, *path.parents):
        found = folder_path / "pyproject.toml"
        if found.is_file() and _read_table(str(found)) is not None:
            return str(found)
    return None


@functools.lru_cache(maxsize=32)
def _read_table_cached(path: str, mtime_ns: int) -> dict[str, Any] | None:
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    is_pyproject = path.endswith("pyproject.toml")
    if is_pyproject and not _may_name_safeload(data):
        return None  # no [tool.safeload] table can be in it: skip importing tomllib (issue 15, fixed costs)
    import tomllib

    try:
        document = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    if is_pyproject:
        table = document.get("tool", {}).get("safeload")
        return dict(table) if isinstance(table, dict) else None
    return document


def _may_name_safeload(data: bytes) -> bool:
    """False only when no TOML document in ``data`` can have a ``tool.safeload`` key (issue 15: a project's
    ``pyproject.toml`` names its own package, so ``safeload`` alone is no sign of the table).

    TOML is UTF-8 and keys are case-sensitive, so a key is spelled with its ASCII bytes unless an escape in a
    quoted key spells it, and only ``\\uXXXX``/``\\UXXXXXXXX`` escapes spell a letter (the others are control
    characters, ``"`` and ``\\``); a non-ASCII file or one with ``\\u``/``\\U`` is parsed whatever it contains
    (its decoding is tomllib's call). Otherwise ``tool`` can hold ``safeload`` only as (whitespace is
    spaces and tabs, each key bare, ``"quoted"`` or ``'quoted'``):

    - adjacent parts of one dotted key: ``tool.safeload`` in a header (``[tool.safeload]``, ``[[tool.safeload]]``,
      ``[tool.safeload.x]``) or in a key/value line (``tool.safeload.x = 1``);
    - a key inside the table ``tool`` itself: after a header whose key is exactly ``tool`` (``[tool]``,
      ``[[tool]]``), or in an inline table assigned to it (``tool = { safeload = ... }``).

    The check errs on parsing: any ``tool`` followed by ``.`` and then ``safeload`` (even ``[tool.safeload`` with
    no ``]``, so a malformed table is still reported), and any ``[tool]``-shaped header or ``tool =`` anywhere in a
    file that contains ``safeload`` anywhere.
    """
    if b"\\u" in data or b"\\U" in data or not data.isascii():
        return True
    if b"safeload" not in data:
        return False
    n = len(data)
    at = data.find(b"tool")
    while at >= 0:
        j = at + 4
        if j < n and data[j] in b"\"'":
            j += 1
        while j < n and data[j] in b" \t":
            j += 1
        follow = data[j:j + 1]
        if follow == b".":
            j += 1
            while j < n and data[j] in b" \t":
                j += 1
            if j < n and data[j] in b"\"'":
                j += 1
            if data.startswith(b"safeload", j):
                return True
        elif follow == b"=":
            return True  # ``tool = {...}``, ``"tool" = ...``: and the file holds ``safeload`` somewhere
        elif follow == b"]":
            k = at - 1
            if k >= 0 and data[k] in b"\"'":
                k -= 1
            while k >= 0 and data[k] in b" \t":
                k -= 1
            if k >= 0 and data[k] == ord("["):
                return True  # ``[tool]``/``[[tool]]``: and the file holds ``safeload`` somewhere
        at = data.find(b"tool", at + 1)
    return False


def _read_table(path: str) -> dict[str, Any] | None:
    try:
        mtime = os.stat(path).st_mtime_ns
    except OSError:
        return None
    return _read_table_cached(path, mtime)


def _limits_from(mapping: Mapping[str, Any], where: str, sources: dict[str, str], base: Limits) -> Limits:
    changes: dict[str, Any] = {}
    for name in Limits.field_names():
        if name in mapping:
            raw = mapping[name]
            try:
                value = float(raw) if isinstance(Limits._DEFAULTS[name], float) else int(raw)
            except (TypeError, ValueError) as exc:
                raise ConfigError(f"{where}: limits.{name}={raw!r} is not a number") from exc
            if value <= 0:
                raise ConfigError(f"{where}: limits.{name} must be positive")
            changes[name] = value
            sources[f"limits.{name}"] = where
    if not changes:
        return base
    return Limits(**{name: changes.get(name, getattr(base, name)) for name in Limits.field_names()})


def load_config(config_file: str | os.PathLike[str] | None = None, *, start: str | None = None,
                environ: Mapping[str, str] | None = None) -> Config:
    """Read defaults, then the config file, then the environment (no call arguments: see ``resolve_policy``)."""
    env = os.environ if environ is None else environ
    sources: dict[str, str] = {}
    values: dict[str, Any] = {}
    limits = Limits()

    if config_file is not None:
        from pathlib import Path

        path: str | None = str(Path(config_file))
    else:
        path = _find_config(start)
    if path is not None:
        table = _read_table(path) if os.path.isfile(path) else None
        if config_file is not None and table is None:
            raise ConfigError(f"config file {path} not found or has no safeload settings")
        table = table or {}
        where = path
        known = {"threshold", "trusted", "fail_on", "format", "progress", "hook", "log_level", "limits",
                 "trusted_libraries", *_INTEGRITY_KEYS}
        unknown = set(table) - known
        if unknown:
            raise ConfigError(f"{where}: unknown safeload settings {sorted(unknown)}")
        for key in known - {"limits"}:
            if key in table:
                values[key] = table[key]
                sources[key] = where
                if key in _PATH_KEYS:  # relative to the file that names them, as ruff and mypy do
                    values[key] = _relative_to(table[key], path, key, where)
        if "limits" in table:
            if not isinstance(table["limits"], dict):
                raise ConfigError(f"{where}: limits must be a table")
            limits = _limits_from(table["limits"], where, sources, limits)

    env_limits = {name: env[f"{ENV_PREFIX}{name.upper()}"] for name in Limits.field_names()
                  if f"{ENV_PREFIX}{name.upper()}" in env}
    limits = _limits_from(env_limits, "env", sources, limits)
    for key in ("fail_on", "format", "progress", "hook", "log_level", *_INTEGRITY_KEYS):
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
            lock=_as_optional_str(values.get("lock"), "lock"),
            require_signature=_as_bool(values.get("require_signature", False), "require_signature"),
            public_key=_as_optional_str(values.get("public_key"), "public_key"),
            certificate=tuple(_as_paths(values.get("certificate", ()), "certificate")),
            sigstore_identity=_as_optional_str(values.get("sigstore_identity"), "sigstore_identity"),
            sigstore_issuer=_as_optional_str(values.get("sigstore_issuer"), "sigstore_issuer"),
            trust_config=_as_optional_str(values.get("trust_config"), "trust_config"),
            cache=_as_bool(values.get("cache", True), "cache"),
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


_INTEGRITY_KEYS = ("lock", "require_signature", "public_key", "certificate", "sigstore_identity", "sigstore_issuer",
                   "trust_config", "cache")
_PATH_KEYS = frozenset({"lock", "public_key", "certificate", "trust_config"})


def _relative_to(value: Any, config_path: str, key: str, where: str) -> Any:
    from pathlib import Path

    base = Path(config_path).parent

    def one(item: Any) -> str:
        if not isinstance(item, str) or not item:
            raise ConfigError(f"{where}: {key} must be a path")
        return item if os.path.isabs(item) else str(base / item)

    if isinstance(value, list):
        return [one(v) for v in value]
    return one(value)


def _as_optional_str(value: Any, key: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ConfigError(f"{key} must be a string")
    return value


def _as_paths(value: Any, key: str) -> list[str]:
    if isinstance(value, str):  # SAFELOAD_CERTIFICATE: os.pathsep-separated, like PATH
        return [part for part in value.split(os.pathsep) if part]
    return _as_list(value, key)


def integrity_config(environ: Mapping[str, str] | None = None) -> Config:
    """The configuration the integrity checks of a guarded load read (file from the CWD, then environment)."""
    env = os.environ if environ is None else environ
    keys = {f"{ENV_PREFIX}{k.upper()}" for k in _INTEGRITY_KEYS}
    return load_config(start=os.getcwd(), environ={k: v for k, v in env.items() if k in keys})


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
    limit_vars = {f"{ENV_PREFIX}{name.upper()}" for name in Limits.field_names()}
    return load_config(start=cwd, environ={k: v for k, v in env.items() if k in limit_vars})


def resolve_policy(threshold: Severity | str | None = None, trusted: Iterable[str] | str | None = None,
                   policy: Policy | None = None, *, environ: Mapping[str, str] | None = None,
                   use_config_file: bool = True, config: Config | None = None) -> Policy:
    """The policy a scan or load applies, from its arguments, the environment and ``[tool.safeload]``.

    ``policy`` replaces the file/default base; ``threshold`` and ``trusted`` refine it. ``SAFELOAD_THRESHOLD``
    wins when stricter than the argument; when laxer it applies only if no threshold was passed, and warns.
    ``SAFELOAD_TRUSTED`` (comma-separated) adds names and warns.
    """
    env = os.environ if environ is None else environ
    if policy is not None:
        base = policy
    elif config is not None:  # an already loaded configuration (its threshold is a default, not an argument)
        base = config.policy()
    else:
        base = _file_config(os.getcwd(), env).policy() if use_config_file else Policy()
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
            import warnings  # only when warning: a load without SAFELOAD_* needs no ``warnings`` (issue 15)

            warnings.warn(f"SAFELOAD_THRESHOLD={env_level.label} relaxes the threshold from {level.label}",
                          SafeloadWarning, stacklevel=3)
            level = env_level

    names: tuple[str, ...] = base.trusted
    if trusted is not None:
        names += tuple([trusted] if isinstance(trusted, str) else trusted)
    env_trust = env.get(f"{ENV_PREFIX}TRUSTED")
    if env_trust:
        extra = tuple(_as_list(env_trust, "SAFELOAD_TRUSTED"))
        import warnings

        warnings.warn(f"SAFELOAD_TRUSTED adds trusted names: {', '.join(extra)}", SafeloadWarning, stacklevel=3)
        names += extra
    analyse = base.analyse_source
    env_analyse = env.get(f"{ENV_PREFIX}SOURCE_ANALYSIS")
    if env_analyse and not parse_bool(env_analyse, "SAFELOAD_SOURCE_ANALYSIS"):
        analyse = False  # turning the source analysis off is stricter: it always applies
    return type(base)(threshold=level, trusted=names, limits=base.limits, analyse_source=analyse)


def show_config(config_file: str | os.PathLike[str] | None = None) -> str:
    """Effective settings, one per line, with where each came from: what a load in this environment applies.

    Raises ``ConfigError`` (the CLI's exit code 2) for any invalid setting, environment variables included.
    """
    import warnings

    config = load_config(config_file)
    src = dict(config.sources)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SafeloadWarning)  # shown as rows below, not as warnings
            effective = resolve_policy(config=config)
    except PolicyError as exc:
        raise ConfigError(str(exc)) from exc
    env = os.environ
    if env.get(f"{ENV_PREFIX}THRESHOLD"):
        src["threshold"] = f"env {ENV_PREFIX}THRESHOLD"
    if env.get(f"{ENV_PREFIX}TRUSTED"):
        src["trusted"] = f"{src.get('trusted', 'default')} + env {ENV_PREFIX}TRUSTED"
    if env.get(f"{ENV_PREFIX}SOURCE_ANALYSIS"):
        src["source_analysis"] = f"env {ENV_PREFIX}SOURCE_ANALYSIS"
    # safeload.auto / safeload run install the hook unless told not to (SAFELOAD_HOOK or [tool.safeload] hook).
    hook = config.hook if "hook" in config.sources else True
    if "hook" not in config.sources:
        src["hook"] = "default: safeload.auto and safeload run install it"
    rows = [
        ("threshold", effective.threshold.label), ("trusted", ", ".join(effective.trusted) or "(none)"),
        ("source_analysis", str(effective.analyse_source).lower()),
        ("fail_on", config.fail_on.label), ("format", config.format), ("progress", str(config.progress).lower()),
        ("hook", str(hook).lower()), ("log_level", config.log_level or "(unset)"),
        ("trusted_libraries", ", ".join(config.trusted_libraries) or "(none)"),
        ("lock", config.lock or "(unset)"), ("require_signature", str(config.require_signature).lower()),
        ("public_key", config.public_key or "(unset)"), ("certificate", ", ".join(config.certificate) or "(unset)"),
        ("sigstore_identity", config.sigstore_identity or "(unset)"),
        ("sigstore_issuer", config.sigstore_issuer or "(unset)"), ("trust_config", config.trust_config or "(unset)"),
        ("cache", str(config.cache).lower()),
    ]
    rows += [(f"limits.{name}", str(getattr(config.limits, name))) for name in Limits.field_names()]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k.ljust(width)} = {v}    ({src.get(k, 'default')})" for k, v in rows)
