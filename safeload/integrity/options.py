"""The integrity options every loader and ``scan()`` accept, and how they combine with configuration.

Loader keywords (all keyword-only, all optional)::

    expected_sha256="..."        the file's sha256 (a directory: its canonical manifest digest)
    signature="model.sig"        a model-signing signature over the file or its directory ...
    public_key="key.pub"         ... verified with this EC public key,
    certificate=["ca.pem", ...]  ... or with this CA certificate chain (PKI),
    integrity=Integrity(...)     everything else: a Sigstore identity, a lock file, the cache switch

Configuration (``[tool.safeload]`` / ``SAFELOAD_*``) can only add requirements: a configured lock or
signature requirement applies to every guarded load (so the import hook gets it) on top of the call's own.

Invariant: requirements add up and are never dropped; a requested check that cannot run (no library, no
signature file, a file object where a path is needed) fails the load instead of being skipped.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from safeload._record import DataclassRecord
from safeload.config import integrity_config
from safeload.exceptions import PolicyError

__all__ = ["CACHE_MIN_BYTES", "Certificates", "Integrity", "PathArg", "config_integrity", "configured",
           "integrity_options", "session_needed"]

# Loads of smaller files never touch the cache unless a digest is computed anyway: their scan is cheaper
# than opening the database.
CACHE_MIN_BYTES = 4 << 20

PathArg = str | os.PathLike[str]
Certificates = PathArg | Iterable[PathArg]


def _path(value: PathArg | None) -> str | None:
    return None if value is None else os.fspath(value)


def _paths(value: Certificates | None) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str | os.PathLike):
        return (os.fspath(value),)
    return tuple(os.fspath(v) for v in value)


class Integrity(DataclassRecord):
    """What a load must prove about its bytes before they reach the real loader (see ``docs/integrity.md``).

    ``lock`` names a ``safeload.lock`` the file must be in with a matching digest. ``require_signature`` makes
    a signature mandatory, found next to the model (``<path>.sig``, or ``model.sig`` in the model directory or
    one of its parents) when ``signature`` is not given. ``identity``/``oidc_issuer``/``trust_config`` verify a
    Sigstore signature (offline only with ``trust_config``). ``cache=False`` never consults the scan cache.

    A hand-written record (issue 15: fixed costs) that ``dataclasses.replace``/``fields`` accept as before.
    """

    _FIELDS = ("expected_sha256", "signature", "public_key", "certificate", "identity", "oidc_issuer", "trust_config",
               "lock", "require_signature", "cache", "sources")
    # ``sources`` (where each requirement came from) is not compared
    _COMPARE = ("expected_sha256", "signature", "public_key", "certificate", "identity", "oidc_issuer",
                "trust_config", "lock", "require_signature", "cache")
    __slots__ = (
        "__weakref__",
        "cache",
        "certificate",
        "expected_sha256",
        "identity",
        "lock",
        "oidc_issuer",
        "public_key",
        "require_signature",
        "signature",
        "sources",
        "trust_config",
    )
    _DEFAULTS = {"expected_sha256": None, "signature": None, "public_key": None, "certificate": (), "identity": None,
                 "oidc_issuer": None, "trust_config": None, "lock": None, "require_signature": False, "cache": None,
                 "sources": ()}

    expected_sha256: str | None
    signature: str | None
    public_key: str | None
    certificate: tuple[str, ...]
    identity: str | None
    oidc_issuer: str | None
    trust_config: str | None
    lock: str | None
    require_signature: bool
    cache: bool | None
    sources: tuple[str, ...]

    def __init__(self, expected_sha256: str | None = None, signature: PathArg | None = None,  # noqa: PLR0917
                 public_key: PathArg | None = None, certificate: Certificates = (), identity: str | None = None,
                 oidc_issuer: str | None = None, trust_config: PathArg | None = None, lock: PathArg | None = None,
                 require_signature: bool = False, cache: bool | None = None, sources: tuple[str, ...] = ()) -> None:
        setter = object.__setattr__
        setter(self, "expected_sha256", expected_sha256)
        setter(self, "signature", signature)
        setter(self, "public_key", public_key)
        setter(self, "certificate", certificate)
        setter(self, "identity", identity)
        setter(self, "oidc_issuer", oidc_issuer)
        setter(self, "trust_config", trust_config)
        setter(self, "lock", lock)
        setter(self, "require_signature", require_signature)
        setter(self, "cache", cache)
        setter(self, "sources", sources)
        self.__post_init__()

    def __post_init__(self) -> None:
        """Normalise the digest and the paths (also run by a ``@dataclass`` subclass's __init__)."""
        if self.expected_sha256 is not None:
            from safeload.integrity.digest import normalize_sha256

            object.__setattr__(self, "expected_sha256", normalize_sha256(self.expected_sha256))
        object.__setattr__(self, "certificate", _paths(self.certificate))
        for name in ("signature", "public_key", "trust_config", "lock"):
            object.__setattr__(self, name, _path(getattr(self, name)))

    def _replace(self, **changes: object) -> Integrity:
        values: dict[str, object] = {name: getattr(self, name) for name in self._FIELDS}
        values.update(changes)
        return type(self)(**values)  # type: ignore[arg-type]

    @property
    def wants_signature(self) -> bool:
        """A signature check is requested: a signature, ``require_signature``, or key material to verify one with
        (red team R12-3: ``public_key=``/``certificate=``/``identity=`` alone used to check nothing and load; now
        the signature is looked for beside the model as with ``require_signature``, and its absence refuses)."""
        return (self.signature is not None or self.require_signature or self.public_key is not None
                or bool(self.certificate) or self.identity is not None)

    @property
    def checks(self) -> bool:
        """True when at least one check (digest, lock, signature) is requested."""
        return self.expected_sha256 is not None or self.lock is not None or self.wants_signature

    def merged(self, other: Integrity) -> Integrity:
        """Both sets of requirements. Two different values for the same check are a PolicyError."""
        changes: dict[str, object] = {}
        for name in ("expected_sha256", "signature", "public_key", "identity", "oidc_issuer", "trust_config",
                     "lock"):
            mine, theirs = getattr(self, name), getattr(other, name)
            if mine is not None and theirs is not None and mine != theirs:
                raise PolicyError(f"conflicting {name}: {mine!r} and {theirs!r}")
            changes[name] = mine if mine is not None else theirs
        changes["certificate"] = self.certificate or other.certificate
        changes["require_signature"] = self.require_signature or other.require_signature
        cache_values = [v for v in (self.cache, other.cache) if v is not None]
        changes["cache"] = None if not cache_values else all(cache_values)
        changes["sources"] = self.sources + other.sources
        return self._replace(**changes)


def integrity_options(expected_sha256: str | None = None, signature: PathArg | None = None,
                      public_key: PathArg | None = None, certificate: Certificates | None = None,
                      integrity: Integrity | None = None) -> Integrity:
    """The one place a loader's integrity keywords become an :class:`Integrity` (merged with ``integrity=``)."""
    if integrity is not None and not isinstance(integrity, Integrity):
        raise PolicyError(f"integrity= must be a safeload.Integrity, got {type(integrity).__name__}")
    call = Integrity(expected_sha256=expected_sha256, signature=_path(signature), public_key=_path(public_key),
                     certificate=_paths(certificate), sources=("call",))
    return call if integrity is None else call.merged(integrity)


def config_integrity() -> Integrity:
    config = integrity_config()
    return Integrity(lock=config.lock, require_signature=config.require_signature,
                     public_key=config.public_key if config.require_signature else None,
                     certificate=config.certificate if config.require_signature else (),
                     identity=config.sigstore_identity if config.require_signature else None,
                     oidc_issuer=config.sigstore_issuer if config.require_signature else None,
                     trust_config=config.trust_config if config.require_signature else None,
                     cache=None if config.cache else False, sources=("config",))


def configured(call: Integrity | None, *, config_checks: bool = True) -> Integrity:
    """The call's requirements plus those of ``[tool.safeload]`` / ``SAFELOAD_*`` (signatures: see
    :func:`signature_requirements`, where a configured signature requirement is kept apart from the call's).
    ``config_checks=False`` (``safeload.scan``, the CLI) takes only the cache switch from the configuration."""
    if not config_checks:
        if call is not None and call.cache is not None:
            return call  # the caller (the CLI) already resolved the cache switch from the configuration
        from_config = Integrity(cache=config_integrity().cache, sources=("config",))
    else:
        from_config = config_integrity()
    if call is None:
        return from_config
    unsigned = from_config._replace(public_key=None, certificate=(), identity=None, oidc_issuer=None,
                                    trust_config=None, require_signature=False)
    merged = call.merged(unsigned)
    return merged._replace(require_signature=call.require_signature or from_config.require_signature)


def session_needed(spec: Integrity, size: int, *, allow_cache: bool) -> bool:
    """Whether a load with the configured requirements ``spec`` (:func:`configured`) of a ``size``-byte buffer
    needs an integrity session at all: a digest, lock or signature check, or a scan-cache lookup (only for
    buffers of at least ``CACHE_MIN_BYTES`` unless a digest is computed anyway). When it does not, the session
    would hash nothing, look nothing up and store nothing (``check.FileSession``), so the loader skips it and its
    modules (issue 15: fixed costs)."""
    return spec.checks or (allow_cache and spec.cache is not False and size >= CACHE_MIN_BYTES)
