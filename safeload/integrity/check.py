"""Run the integrity checks of one guarded load around its scan, in the same read.

``begin(data)`` starts hashing the buffer the scan is about to read (in a thread, in parallel with the scan) or,
when the scan cache can skip the scan, hashes first and looks the result up; ``finish(result)`` joins the hash,
compares it with the pinned digest, the lock entry and the signed manifest, and returns an
:class:`IntegrityInfo` that records what was checked and, on failure, what differed. The caller raises
:class:`~safeload.IntegrityError` from it before any byte reaches the real loader.

Invariants: a requested check that cannot be carried out is a failure, never a pass; findings are accepted by
a lock entry only for the exact digest of that entry, only if they are trustable (the hard floor and structural
findings never are), and only by rule, subject and member; the scan cache is keyed by the digest of these bytes.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator

from safeload._record import FrozenRecord, Record, replace
from safeload.catalog.source_files import FileStat, recording_files
from safeload.findings import Finding, ScanResult
from safeload.integrity.digest import BufferHasher, has_blake3, hash_buffer
from safeload.integrity.options import CACHE_MIN_BYTES, Integrity, config_integrity, configured
from safeload.policy import Policy
from safeload.severity import Severity

# The lock file, manifest and signing modules load only when a load asks for them (issue 15: fixed costs).
TYPE_CHECKING = False
if TYPE_CHECKING:
    import threading
    from typing import Any

    from safeload.integrity.cache import ScanCache
    from safeload.integrity.lockfile import LockEntry, Lockfile
    from safeload.integrity.manifest import Manifest
    from safeload.integrity.signing import SignatureSpec, SignedManifest

__all__ = ["Failure", "IntegrityInfo", "Plan", "configured", "plan_for"]

# What the first scan of a kind in a process may spend importing safeload's scanners (measured: well under 1 s).
IMPORT_ALLOWANCE = 1.0


class Failure(FrozenRecord):
    """A failed check: ``check`` is "sha256", "lock", "signature" or "companion"."""

    _FIELDS = ("check", "reason", "expected", "actual")
    __slots__ = ("actual", "check", "expected", "reason")
    check: str
    reason: str
    expected: str | None
    actual: str | None

    def __init__(self, check: str, reason: str, expected: str | None = None, actual: str | None = None) -> None:
        object.__setattr__(self, "check", check)
        object.__setattr__(self, "reason", reason)
        object.__setattr__(self, "expected", expected)
        object.__setattr__(self, "actual", actual)


class IntegrityInfo(FrozenRecord):
    """What the integrity layer did for one load or scan (rendered in audit records and reports)."""

    _FIELDS = ("sha256", "kind", "blake3", "digest_checked", "lock_checked", "lock", "signature_checked",
                 "signature", "signature_method", "cached", "accepted", "failure")
    __slots__ = ("accepted", "blake3", "cached", "digest_checked", "failure", "kind", "lock", "lock_checked",
                 "sha256", "signature", "signature_checked", "signature_method")
    sha256: str | None
    kind: str
    blake3: str | None
    digest_checked: bool
    lock_checked: bool
    lock: str | None
    signature_checked: bool
    signature: str | None
    signature_method: str | None
    cached: bool
    accepted: tuple[str, ...]
    failure: Failure | None

    def __init__(self, sha256: str | None = None, kind: str = "file", blake3: str | None = None,  # noqa: PLR0917
                 digest_checked: bool = False, lock_checked: bool = False, lock: str | None = None,
                 signature_checked: bool = False, signature: str | None = None,
                 signature_method: str | None = None, cached: bool = False, accepted: tuple[str, ...] = (),
                 failure: Failure | None = None) -> None:
        for name, value in (("sha256", sha256), ("kind", kind), ("blake3", blake3),
                            ("digest_checked", digest_checked), ("lock_checked", lock_checked), ("lock", lock),
                            ("signature_checked", signature_checked), ("signature", signature),
                            ("signature_method", signature_method), ("cached", cached), ("accepted", accepted),
                            ("failure", failure)):
            object.__setattr__(self, name, value)

    def to_dict(self) -> dict[str, Any]:
        failure = self.failure
        return {
            "sha256": self.sha256, "blake3": self.blake3, "kind": self.kind,
            "digest_checked": self.digest_checked,
            "lock_checked": self.lock_checked, "lock": self.lock, "signature_checked": self.signature_checked,
            "signature": self.signature, "signature_method": self.signature_method, "cached": self.cached,
            "accepted": list(self.accepted),
            "failure": None if failure is None else {"check": failure.check, "reason": failure.reason,
                                                     "expected": failure.expected, "actual": failure.actual},
        }


def signature_requirements(call: Integrity | None, path: str | None, *,
                           config_checks: bool = True) -> tuple[list[SignatureSpec], list[str]]:
    """Each signature that must verify: the call's own (with its key material) and, separately, the one the
    configuration requires (with the configured key material). A call can add a signature check but never
    replace the configured one. Returns the specs and the reasons some could not be set up."""
    specs: list[SignatureSpec] = []
    problems: list[str] = []
    sources = [(call, "the call")] if call is not None and call.wants_signature else []
    config = config_integrity()
    if config_checks and config.require_signature:
        sources.append((config, "the configuration (require_signature)"))
    for spec, where in sources:
        sig = spec.signature if spec.signature is not None else _find_signature(path)
        if sig is None:
            target = "a file object or bytes" if path is None else path
            problems.append(f"{where} requires a signature but none was found for {target} "
                            "(<path>.sig, or model.sig in the model directory or a parent)")
            continue
        from safeload.integrity.signing import SignatureSpec

        candidate = SignatureSpec(signature=sig, public_key=spec.public_key, certificate=spec.certificate,
                                  identity=spec.identity, oidc_issuer=spec.oidc_issuer,
                                  trust_config=spec.trust_config)
        if candidate not in specs:
            specs.append(candidate)
    return specs, problems


def _find_signature(path: str | None) -> str | None:
    """``<path>.sig``; for a directory ``<dir>/model.sig``; then ``model.sig`` in each parent directory."""
    if path is None:
        return None
    absolute = os.path.abspath(path)
    candidates = [absolute + ".sig"]
    folder = absolute if os.path.isdir(absolute) else os.path.dirname(absolute)
    while True:
        candidates.append(os.path.join(folder, "model.sig"))
        parent = os.path.dirname(folder)
        if parent == folder:
            break
        folder = parent
    return next((c for c in candidates if os.path.isfile(c) and c != absolute), None)


def _accepted_key(finding: Finding) -> tuple[str, str | None, str | None]:
    return finding.rule_id, finding.subject, finding.location.member


def accept_findings(result: ScanResult, accepted: set[tuple[str, str | None, str | None]]) -> tuple[ScanResult, int]:
    """Findings reviewed for this exact digest become INFO; untrustable findings never do."""
    if not accepted:
        return result, 0
    out, count = [], 0
    for finding in result.findings:
        if finding.trustable and finding.severity > Severity.INFO and _accepted_key(finding) in accepted:
            out.append(replace(finding, severity=Severity.INFO,
                                           message=f"accepted for this sha256 by the lock: {finding.message}"))
            count += 1
        else:
            out.append(finding)
    return replace(result, findings=tuple(out)), count


class Plan(Record):
    """The resolved requirements of one load; ``begin``/``begin_directory`` run them around a scan."""

    _FIELDS = ("spec", "path", "source", "policy", "lockfile", "signatures", "failures")
    __slots__ = ("failures", "lockfile", "path", "policy", "signatures", "source", "spec")

    def __init__(self, spec: Integrity, path: str | None, source: str, policy: Policy,  # noqa: PLR0917
                 lockfile: Lockfile | None = None, signatures: list[SignatureSpec] | None = None,
                 failures: list[Failure] | None = None) -> None:
        self.spec = spec
        self.path = path
        self.source = source
        self.policy = policy
        self.lockfile = lockfile
        self.signatures: list[SignatureSpec] = [] if signatures is None else signatures
        self.failures: list[Failure] = [] if failures is None else failures

    @property
    def active(self) -> bool:
        return self.spec.checks or self.spec.cache is not False

    def fail(self, check: str, reason: str, expected: str | None = None, actual: str | None = None) -> None:
        self.failures.append(Failure(check, reason, expected, actual))

    # -- single files and buffers -------------------------------------------------------------------------
    @contextlib.contextmanager
    def begin(self, data: Any, *, name: str | None = None, allow_cache: bool = True,
              cache_default: bool = False, want_digest: bool = False) -> Iterator[FileSession]:
        session = FileSession(self, data, name=name, want_digest=want_digest)
        try:
            with recording_files() as session.sources:  # what the scan's source analyses read: stored with it
                session.start(allow_cache=allow_cache, cache_default=cache_default)
                yield session
        finally:
            session.close()

    # -- directories ---------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def begin_directory(self, root: str, *, want_digest: bool = False) -> Iterator[DirectorySession]:
        session = DirectorySession(self, root, want_digest=want_digest)
        try:
            session.start()
            yield session
        finally:
            session.close()


def plan_for(integrity: Integrity | None, *, path: str | None, source: str, policy: Policy,
             config_checks: bool = True, spec: Integrity | None = None) -> Plan:
    """The plan of one load; ``spec``: ``configured(integrity, config_checks=config_checks)`` when the caller
    has it already."""
    if spec is None:
        spec = configured(integrity, config_checks=config_checks)
    plan = Plan(spec=spec, path=path, source=source, policy=policy)
    if spec.lock is not None:
        try:
            from safeload.integrity.lockfile import read_lock

            plan.lockfile = read_lock(spec.lock)
        except ValueError as exc:  # ConfigError: an unreadable lock refuses every load
            plan.fail("lock", str(exc))
    if spec.wants_signature:
        plan.signatures, problems = signature_requirements(integrity, path, config_checks=config_checks)
        for problem in problems:
            plan.fail("signature", problem)
    return plan


class FileSession:
    """The checks of one buffer: hashing in parallel with the scan, or hash-then-cache-lookup."""

    def __init__(self, plan: Plan, data: Any, *, name: str | None, want_digest: bool = False) -> None:
        self.plan = plan
        self.want_digest = want_digest
        self.data = data
        self.name = name
        self.size = len(data)
        self.cached: ScanResult | None = None
        self._hasher: BufferHasher | None = None
        self._digests: dict[str, str] | None = None
        self._signed: list[tuple[SignedManifest, str, str]] = []  # manifest, identifier, algorithm
        self._cache: ScanCache | None = None
        self._hint_cache: ScanCache | None = None
        self._hint: float | None = None
        self._stat: os.stat_result | None = None
        self.sources: set[FileStat] = set()  # library source files the scan's source analyses read (Plan.begin)
        self._modules = len(sys.modules)  # a scan that imported a module (first use of a scanner) is mis-timed

    def _lock_algorithm(self) -> str:
        """BLAKE3 (about ten times faster than sha256 here) when the lock entry of this path records it and the
        module is installed; sha256 otherwise. Both were computed from the same bytes when the lock was written."""
        plan = self.plan
        if plan.lockfile is None or plan.path is None:
            return "sha256"
        entry = plan.lockfile.entry_for(plan.path)
        if entry is not None and entry.kind == "file" and entry.blake3 is not None and has_blake3():
            return "blake3"
        return "sha256"

    def _sha256_needed(self) -> bool:
        plan = self.plan
        return (plan.spec.expected_sha256 is not None or self.want_digest
                or (plan.lockfile is not None and self._lock_algorithm() == "sha256"))

    def _cache_algorithm(self) -> str:
        """The digest that keys the scan cache: the sha256 when it is computed anyway, else BLAKE3 when the module
        is installed (about ten times cheaper here, and as collision-resistant for this purpose)."""
        return "sha256" if self._sha256_needed() or not has_blake3() else "blake3"

    def _cache_digest(self, digests: dict[str, str]) -> str | None:
        if not digests:
            return None  # nothing was hashed: no key, whichever algorithm (no blake3 lookup on sys.path)
        algorithm = self._cache_algorithm()
        value = digests.get(algorithm)
        if value is None:
            return None
        return value if algorithm == "sha256" else f"{algorithm}:{value}"

    def _algorithms(self) -> list[str]:
        algorithms: list[str] = []
        if self._sha256_needed():
            algorithms.append("sha256")
        if self._cache is not None:
            algorithms.append(self._cache_algorithm())
        if self.plan.lockfile is not None and self._lock_algorithm() == "blake3":
            algorithms.append("blake3")
        algorithms += [algorithm for _, _, algorithm in self._signed]
        return list(dict.fromkeys(algorithms))

    def start(self, *, allow_cache: bool, cache_default: bool) -> None:
        plan = self.plan
        for spec in plan.signatures:
            from safeload.integrity.signing import (
                SignatureFailure,
                file_identifier,
                needed_algorithm,
                signed_manifest,
            )

            try:
                signed = signed_manifest(spec)
                identifier = file_identifier(signed, spec, plan.path)
                self._signed.append((signed, identifier, needed_algorithm(signed, identifier)))
            except SignatureFailure as exc:
                plan.fail("signature", str(exc))
        if allow_cache and plan.spec.cache is not False:
            self._maybe_cache(cache_default)
        algorithms = self._algorithms()
        if not algorithms:
            return
        if self._cache is not None:
            # Hash first: a hit skips the scan.
            hashing_started = time.perf_counter()
            self._digests = hash_buffer(self.data, algorithms)
            hash_seconds = time.perf_counter() - hashing_started
            key_digest = self._cache_digest(self._digests)
            assert key_digest is not None  # noqa: S101 - the cache algorithm is always among those hashed
            self.cached = self._cache.get(key_digest, plan.policy, self.name, source=plan.source, path=plan.path)
            if (self.cached is not None and self._hint is not None and plan.path is not None
                    and self._stat is not None and hash_seconds * 1.5 > self._hint):
                # Hashing cost about as much as the recorded scan (whose time may have included one-off imports):
                # scan for real next time and record what it costs now.
                self._cache.set_hint(os.path.abspath(plan.path), self._stat, 0.0)
            return
        self._hasher = BufferHasher(self.data, algorithms)

    def _maybe_cache(self, cache_default: bool) -> None:
        """Use the cache when a digest is computed anyway, or when an earlier scan of this unchanged file
        took clearly longer than hashing it would (``stat`` only decides whether to look, never what is served).
        """
        plan = self.plan
        digest_anyway = self._sha256_needed()
        if not digest_anyway and not cache_default and self.size < CACHE_MIN_BYTES:
            return
        from safeload.integrity import cache as scan_cache

        cache = scan_cache.open_cache()
        if cache is None:
            return
        if plan.path is not None:
            with contextlib.suppress(OSError):
                self._stat = os.stat(plan.path)
        if digest_anyway:
            self._cache = cache
            return
        if self._stat is not None:
            self._hint = cache.hint(os.path.abspath(plan.path or ""), self._stat)
            if self._hint is not None and scan_cache.worth_hashing(self.size, self._hint, self._cache_algorithm()):
                self._cache = cache
                return
        self._hint_cache = cache

    def close(self) -> None:
        if self._hasher is not None:
            with contextlib.suppress(BaseException):
                self._hasher.join()
            self._hasher = None

    def finish(self, result: ScanResult) -> tuple[ScanResult, IntegrityInfo]:
        plan = self.plan
        if self._hasher is not None:
            try:
                self._digests = self._hasher.join()
            except Exception as exc:  # noqa: BLE001 - a failed hash is a failed check
                plan.fail("sha256", f"could not hash the file: {type(exc).__name__}: {exc}")
            self._hasher = None
        digests = self._digests or {}
        sha = digests.get("sha256")
        self._store(result, self._cache_digest(digests))
        accepted: set[tuple[str, str | None, str | None]] = set()
        if plan.spec.expected_sha256 is not None and sha != plan.spec.expected_sha256:
            plan.fail("sha256", "the file's sha256 differs from expected_sha256", plan.spec.expected_sha256, sha)
        if plan.lockfile is not None and self._lock_algorithm() == "blake3":
            entry = self._lock_entry(plan.lockfile, digests.get("blake3"), algorithm="blake3")
            if entry is not None:
                accepted = {(a.rule_id, a.subject, a.member) for a in entry.accepted}
        elif plan.lockfile is not None and sha is not None:
            entry = self._lock_entry(plan.lockfile, sha)
            if entry is not None:
                accepted = {(a.rule_id, a.subject, a.member) for a in entry.accepted}
        for signed, identifier, algorithm in self._signed:
            expected = signed.items[identifier][1]
            actual = digests.get(algorithm)
            if actual != expected:
                plan.fail("signature", f"the file's {algorithm} differs from the signed manifest entry "
                                       f"{identifier!r}", expected, actual)
        pinned = plan.spec.expected_sha256 is not None or plan.lockfile is not None or plan.spec.lock is not None \
            or plan.spec.wants_signature
        companions = sorted({f.subject or "?" for f in result.findings if f.rule_id == "SL019"})
        if pinned and companions:
            # The digest, lock entry or signature covers these bytes only; the loader reads the companions by
            # name, so a swapped companion would load under an unchanged pin.
            plan.fail("companion", f"the loader also reads {', '.join(companions[:3])}, which the pinned digest, "
                                   "lock or signature does not cover")
        result, count = accept_findings(result, accepted)
        info = IntegrityInfo(
            sha256=sha, blake3=digests.get("blake3"), kind="file" if plan.path is not None else "bytes",
            digest_checked=plan.spec.expected_sha256 is not None,
            lock_checked=plan.lockfile is not None or plan.spec.lock is not None,
            lock=plan.spec.lock, signature_checked=plan.spec.wants_signature,
            signature=_signature_files(plan), signature_method=_method(plan), cached=self.cached is not None,
            accepted=tuple(f"{k[0]} {k[1] or ''}".strip() for k in sorted(accepted, key=str)) if count else (),
            failure=plan.failures[0] if plan.failures else None)
        return result, info

    def _lock_entry(self, lock: Lockfile, sha: str | None, algorithm: str = "sha256") -> LockEntry | None:
        plan = self.plan
        if plan.path is None:
            if sha is None:
                plan.fail("lock", "no digest to look up")
                return None
            matches = lock.with_digest(sha)
            if not matches:
                plan.fail("lock", f"no entry of {lock.location} has this sha256", None, sha)
                return None
            return matches[0]
        entry = lock.entry_for(plan.path)
        if entry is None or entry.kind != "file":
            plan.fail("lock", f"{lock.relative(plan.path)} is not in {lock.location}", None, sha)
            return None
        recorded = entry.blake3 if algorithm == "blake3" else entry.sha256
        if sha is None or recorded != sha:
            plan.fail("lock", f"{entry.path} changed since it was locked in {lock.location} ({algorithm})", recorded,
                      sha)
            return None
        return entry

    def _store(self, result: ScanResult, digest: str | None) -> None:
        """Record the scan for next time: its result under its digest, and how long it took under its path."""
        if self.cached is not None or any(f.rule_id == "SL019" for f in result.findings):
            return  # a result that depends on other files (joblib companions) is not a fact about these bytes
        cache = self._cache if self._cache is not None else self._hint_cache
        if cache is None:
            return
        from safeload.integrity.cache import worth_hashing

        plan = self.plan
        algorithm = self._cache_algorithm()
        seconds = result.duration
        if len(sys.modules) != self._modules:
            # Lazy imports (the first scan of a kind in this process) inflated this scan's time: count only what
            # imports cannot explain, so a once-per-process load of a slow file still gets cached.
            seconds = max(0.0, seconds - IMPORT_ALLOWANCE)
        worth = worth_hashing(self.size, seconds, algorithm)
        if digest is None and worth:
            digest = self._cache_digest(hash_buffer(self.data, (algorithm,)))  # slow scan: hash it to skip it later
        if digest is not None:
            cache.put(digest, plan.policy, self.name, result, self.sources)
        if plan.path is not None and self._stat is not None and (
                self._hint is None or worth_hashing(self.size, self._hint, algorithm) != worth):
            cache.set_hint(os.path.abspath(plan.path), self._stat, seconds)


class DirectorySession:
    """The checks of a directory load: the manifest (and a library signature check) in a thread."""

    def __init__(self, plan: Plan, root: str, *, want_digest: bool = False) -> None:
        self.plan = plan
        self.want_digest = want_digest
        self.root = root
        self.cached: ScanResult | None = None
        self._thread: threading.Thread | None = None
        self._manifest: Manifest | None = None
        self._errors: list[Failure] = []

    def start(self) -> None:
        spec = self.plan.spec
        if not (spec.expected_sha256 is not None or self.plan.lockfile is not None or self.plan.signatures
                or self.want_digest):
            return
        import threading  # directory loads only (issue 15: fixed costs)

        self._thread = threading.Thread(target=self._run, name="safeload-manifest", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        plan = self.plan
        try:
            if plan.spec.expected_sha256 is not None or plan.lockfile is not None or self.want_digest:
                from safeload.integrity.manifest import directory_manifest

                self._manifest = directory_manifest(self.root)
        except (OSError, ValueError) as exc:
            self._errors.append(Failure("sha256", f"cannot hash {self.root}: {exc}"))
        for spec in plan.signatures:
            from safeload.integrity.signing import SignatureFailure, verify_directory

            try:
                verify_directory(spec, self.root)
            except SignatureFailure as exc:
                self._errors.append(Failure("signature", str(exc)))

    def close(self) -> None:
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def finish(self, result: ScanResult) -> tuple[ScanResult, IntegrityInfo]:
        plan = self.plan
        self.close()
        plan.failures.extend(self._errors)
        sha = self._manifest.sha256 if self._manifest is not None else None
        if plan.spec.expected_sha256 is not None and sha is not None and sha != plan.spec.expected_sha256:
            plan.fail("sha256", "the directory's manifest digest differs from expected_sha256",
                      plan.spec.expected_sha256, sha)
        accepted: set[tuple[str, str | None, str | None]] = set()
        if plan.lockfile is not None and self._manifest is not None:
            accepted = self._check_lock(plan.lockfile, self._manifest)
        result, count = accept_findings(result, accepted)
        info = IntegrityInfo(
            sha256=sha, kind="directory", digest_checked=plan.spec.expected_sha256 is not None,
            lock_checked=plan.spec.lock is not None, lock=plan.spec.lock,
            signature_checked=plan.spec.wants_signature, signature=_signature_files(plan),
            signature_method=_method(plan),
            accepted=tuple(sorted(f"{k[0]} {k[1] or ''}".strip() for k in accepted)) if count else (),
            failure=plan.failures[0] if plan.failures else None)
        return result, info

    def _check_lock(self, lock: Lockfile, manifest: Manifest) -> set[tuple[str, str | None, str | None]]:
        """A directory entry with the same manifest digest, or every file locked with its digest and no locked
        file missing. Returns the accepted findings, as members of the directory scan."""
        plan = self.plan
        entry = lock.entry_for(self.root)
        if entry is not None and entry.kind == "directory":
            if entry.sha256 != manifest.sha256:
                changed = _changed_files(entry, manifest)
                plan.fail("lock", f"{entry.path} changed since it was locked ({changed})", entry.sha256,
                          manifest.sha256)
                return set()
            return {(a.rule_id, a.subject, a.member) for a in entry.accepted}
        accepted: set[tuple[str, str | None, str | None]] = set()
        seen: set[str] = set()
        for item in manifest.entries:
            full = os.path.join(self.root, item.path)
            file_entry = lock.entry_for(full)
            if not item.value or file_entry is None or file_entry.kind != "file":
                plan.fail("lock", f"{lock.relative(full)} is not in {lock.location}", None, item.value or None)
                return set()
            if file_entry.sha256 != item.value:
                plan.fail("lock", f"{file_entry.path} changed since it was locked", file_entry.sha256, item.value)
                return set()
            seen.add(file_entry.path)
            accepted |= {(a.rule_id, a.subject, f"{item.path}!{a.member}" if a.member else item.path)
                         for a in file_entry.accepted}
        missing = [e.path for e in lock.under(self.root) if e.path not in seen and e.kind == "file"]
        if missing:
            plan.fail("lock", f"locked files are missing: {', '.join(sorted(missing)[:10])}")
            return set()
        return accepted


def _changed_files(entry: LockEntry, manifest: Manifest) -> str:
    old = {k: (v.get("value"), v.get("target", "")) for k, v in entry.files.items()}
    new = {e.path: (e.value, e.target) for e in manifest.entries}
    added = sorted(set(new) - set(old))
    removed = sorted(set(old) - set(new))
    changed = sorted(k for k in set(old) & set(new) if old[k] != new[k])
    parts = [f"{label}: {', '.join(names[:5])}" for label, names in
             (("added", added), ("removed", removed), ("changed", changed)) if names]
    return "; ".join(parts) or "digest differs"


def _signature_files(plan: Plan) -> str | None:
    return ", ".join(s.signature for s in plan.signatures) or None


def _method(plan: Plan) -> str | None:
    methods = []
    for spec in plan.signatures:
        from safeload.integrity.signing import SignatureFailure

        try:
            methods.append(spec.method)
        except SignatureFailure:
            methods.append("invalid")
    return ", ".join(methods) or None
