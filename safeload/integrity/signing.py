"""OpenSSF model signing (the ``model-signing`` package): verify a signature over a file or a directory.

Everything about the signature format (Sigstore bundle, DSSE envelope, in-toto statement, key, certificate
chain and Sigstore checks) is the library's; safeload only chooses the verifier and compares digests:

- a **directory** is verified by the library end to end (``model_signing.verifying.Config.verify``): it hashes
  every file, and an added, removed or changed file fails;
- a **single file** is checked in the scan's own read: the library verifies the signature and returns the signed
  manifest (the same first step ``Config.verify`` takes), and safeload compares the manifest's digest for this
  file with the digest of the exact bytes it scanned and will load. ``Config.verify`` would re-open the file by
  path, which another process could swap between that check and the load.

Invariants: exactly one verification method per check (a public key, a CA certificate chain, or a Sigstore
identity with its issuer); a certificate check never falls back to the operating system's trust store; any
failure (missing library, unreadable signature, wrong key, a file the manifest does not cover, an unsupported
manifest layout for a single file) is an :class:`SignatureFailure`, and the load is refused.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["SignatureFailure", "SignatureSpec", "SignedManifest", "signed_manifest", "verify_directory"]


class SignatureFailure(Exception):  # noqa: N818 - turned into IntegrityError by the caller
    """The signature check failed; ``str()`` says why."""


@dataclass(frozen=True)
class SignatureSpec:
    """A signature file and the one way to verify it."""

    signature: str
    public_key: str | None = None
    certificate: tuple[str, ...] = ()
    identity: str | None = None
    oidc_issuer: str | None = None
    trust_config: str | None = None

    @property
    def method(self) -> str:
        methods = [name for name, given in (("key", self.public_key is not None),
                                            ("certificate", bool(self.certificate)),
                                            ("sigstore", self.identity is not None)) if given]
        if len(methods) != 1:
            raise SignatureFailure("give exactly one way to verify the signature: public_key=, certificate= "
                                   f"(CA chain) or a Sigstore identity (got {methods or 'none'})")
        if methods[0] == "sigstore" and not self.oidc_issuer:
            raise SignatureFailure("a Sigstore identity needs its OIDC issuer")
        return methods[0]


@dataclass(frozen=True)
class SignedManifest:
    """What a verified signature vouches for: identifier -> (algorithm, hex digest), and how it was hashed."""

    items: dict[str, tuple[str, str]]
    serialization: dict[str, Any] = field(default_factory=dict)

    @property
    def single_file(self) -> bool:
        return list(self.items) == ["."]


def _library() -> Any:
    try:
        import model_signing.verifying
    except ImportError as exc:
        raise SignatureFailure("verifying model signatures needs the model-signing package: "
                               "pip install 'safeload[signing]'") from exc
    return model_signing


def _config(spec: SignatureSpec) -> Any:
    library = _library()
    config = library.verifying.Config()
    method = spec.method
    try:
        if method == "key":
            return config.use_elliptic_key_verifier(public_key=Path(spec.public_key or ""))
        if method == "certificate":
            return config.use_certificate_verifier(certificate_chain=[Path(c) for c in spec.certificate])
        trust = Path(spec.trust_config) if spec.trust_config else None
        return config.use_sigstore_verifier(identity=spec.identity or "", oidc_issuer=spec.oidc_issuer or "",
                                            trust_config=trust)
    except SignatureFailure:
        raise
    except Exception as exc:
        raise SignatureFailure(f"cannot set up {method} verification: {type(exc).__name__}: {exc}") from exc


def signed_manifest(spec: SignatureSpec) -> SignedManifest:
    """Verify the signature cryptographically and return the manifest it signs (no model file is read).

    Mirrors the first step of ``model_signing.verifying.Config.verify``: read the bundle with the reader that
    matches the verifier, verify it, and expand its payload into the manifest.
    """
    config = _config(spec)
    try:
        import importlib

        reader = importlib.import_module("model_signing._signing.sign_sigstore" if spec.method == "sigstore"
                                         else "model_signing._signing.sign_sigstore_pb")
        signature = reader.Signature.read(Path(spec.signature))
        manifest = config._verifier.verify(signature)
        items = {rd.identifier: (rd.digest.algorithm, rd.digest.digest_hex)
                 for rd in manifest.resource_descriptors()}
        serialization = dict(manifest.serialization_type)
    except SignatureFailure:
        raise
    except Exception as exc:
        raise SignatureFailure(f"signature {spec.signature} did not verify: {type(exc).__name__}: {exc}") from exc
    return SignedManifest(items, serialization)


def file_identifier(signed: SignedManifest, spec: SignatureSpec, path: str | None) -> str:
    """The manifest identifier of the loaded file: ``.`` for a single-file signature, else its path relative
    to the signed directory (the directory that holds the signature file)."""
    if signed.single_file:
        return "."
    if path is None:
        raise SignatureFailure("the signature covers a directory; a file object or bytes cannot be matched to "
                               "one of its files")
    from safeload.integrity.lockfile import resolve_parent

    root = os.path.realpath(os.path.dirname(os.path.abspath(spec.signature)))
    rel = os.path.relpath(resolve_parent(path), root)  # a link is matched by its own name, as model-signing does
    if rel.startswith(os.pardir):
        raise SignatureFailure(f"{path} is outside the signed directory {root}")
    return Path(rel).as_posix()


def needed_algorithm(signed: SignedManifest, identifier: str) -> str:
    """The digest algorithm the manifest used for ``identifier`` (single files: file-level manifests only)."""
    method = signed.serialization.get("method")
    if method != "files":
        raise SignatureFailure(f"the signature hashes files in {method!r} mode; safeload checks a single file "
                               "against file-level manifests only: load or verify the whole signed directory")
    entry = signed.items.get(identifier)
    if entry is None:
        raise SignatureFailure(f"{identifier} is not covered by the signature")
    algorithm = entry[0]
    if algorithm not in {"sha256", "blake2b", "blake3"}:
        raise SignatureFailure(f"unsupported digest algorithm {algorithm!r} in the signature")
    return algorithm


def verify_directory(spec: SignatureSpec, root: str | os.PathLike[str], ignore: Sequence[str] = ()) -> None:
    """Verify a signed directory end to end with the library (every file hashed; extra or missing files fail).

    The signature file itself is left out when it lies inside the directory, as ``model_signing sign`` does.
    """
    config = _config(spec)
    library = _library()
    root_path = Path(root)
    ignored = list(ignore)
    sig = os.path.realpath(spec.signature)
    if sig.startswith(os.path.realpath(root_path) + os.sep):
        ignored.append(os.path.relpath(sig, os.path.realpath(root_path)))
    try:
        signed = signed_manifest(spec)
        hashing = library.hashing.Config()
        # Reproduce how the model was hashed: the signed serialization, plus our signature file left out.
        args = signed.serialization
        if args.get("method") == "shards":
            hashing.use_shard_serialization(hashing_algorithm=args["hash_type"], shard_size=args["shard_size"],
                                            allow_symlinks=args.get("allow_symlinks", False))
        else:
            hashing.use_file_serialization(hashing_algorithm=args.get("hash_type", "sha256"),
                                           allow_symlinks=args.get("allow_symlinks", False))
        hashing.set_ignored_paths(paths=[*args.get("ignore_paths", []), *ignored])
        config.set_hashing_config(hashing)
        config.verify(root_path, Path(spec.signature))
    except SignatureFailure:
        raise
    except Exception as exc:
        raise SignatureFailure(f"{root} does not match signature {spec.signature}: {clean_error(exc)}") from exc


def clean_error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:2000]
