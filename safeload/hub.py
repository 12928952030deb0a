"""Hugging Face Hub: scan a hub repository (``hf://owner/repo[@revision]``) and the local HF cache.

Remote scans go through ``huggingface_hub`` (the ``safeload[hub]`` extra, imported only when used) with the
endpoint passed explicitly on every call, taken from ``--hf-endpoint``, then ``SAFELOAD_HF_ENDPOINT``, then
``HF_ENDPOINT``, then ``https://huggingface.co``: never from whatever ``huggingface_hub`` read at import time.
Files are listed with ``HfApi(endpoint).model_info`` and downloaded with ``hf_hub_download`` into the HF
cache, pinned to the commit the listing returned, then scanned from disk. ``HF_TOKEN`` is passed as the token.
Under ``HF_HUB_OFFLINE`` nothing is fetched: the repo is looked up in the cache and only the cache is scanned.

Which files are downloaded: everything except files whose extension marks a format that cannot carry code
(:data:`SAFE_EXTENSIONS`: docs, text, JSON/YAML configs, images, safetensors, GGUF, ONNX protobuf...). Those
are reported as skipped, by name. Anything else, including unknown extensions, is fetched and sniffed by
content, so a pickle renamed ``weights.safetensors2`` is still scanned. Python files (``trust_remote_code``)
are downloaded and reported as skipped (not a model): safeload does not judge Python source.

The cache walk needs no dependency: the layout (``models--org--name/{refs,blobs,snapshots}``) is documented
for reimplementers. Each blob is scanned once (deduplicated by real path) and reported under every snapshot
path that links to it; a link that leaves the cache root is refused and reported as SL008.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from safeload._log import get_logger
from safeload._targets import Target, error_result, finding_for, relabel
from safeload.findings import ScanResult

__all__ = [
    "DEFAULT_ENDPOINT",
    "MODEL_EXTENSIONS",
    "SAFE_EXTENSIONS",
    "HubError",
    "Target",
    "cache_root",
    "cache_targets",
    "error_result",
    "is_offline",
    "parse_hf_url",
    "relabel",
    "remote_targets",
    "resolve_endpoint",
]

logger = get_logger(__name__)

DEFAULT_ENDPOINT = "https://huggingface.co"
_TRUE = {"1", "on", "yes", "true"}

# Extensions of formats that safeload scans (used to decide what is "obviously not a model" in walks).
MODEL_EXTENSIONS = frozenset({
    ".pt", ".pth", ".bin", ".ckpt", ".pkl", ".pickle", ".joblib", ".jbl", ".dill", ".cloudpickle", ".h5",
    ".hdf5", ".keras", ".pb", ".npy", ".npz", ".mar", ".tar", ".gz", ".bz2", ".xz", ".lzma", ".lz4", ".z",
    ".zip", ".data", ".model",
})

# Formats that carry no code when loaded by their usual loaders: not downloaded from the hub.
SAFE_EXTENSIONS = frozenset({
    ".md", ".txt", ".rst", ".json", ".jsonl", ".yaml", ".yml", ".toml", ".csv", ".tsv", ".gitattributes",
    ".gitignore", ".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp", ".safetensors", ".gguf", ".onnx",
    ".tiktoken", ".vocab", ".spm", ".license",
})
_SAFE_NAMES = frozenset({"LICENSE", "LICENSE.txt", "NOTICE", "README", ".gitattributes", ".gitignore"})

_REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?$")
_SHA = re.compile(r"^[0-9a-f]{40}$")


class HubError(Exception):
    """A hub repository could not be listed or fetched (network, auth, not found, offline miss)."""


# -- remote --------------------------------------------------------------------------------------------------
def parse_hf_url(text: str) -> tuple[str, str | None]:
    """``hf://owner/repo@rev`` -> (``owner/repo``, ``rev``). Raises ``ValueError`` on a malformed id."""
    body = text.removeprefix("hf://").strip("/")
    repo_id, _, revision = body.partition("@")
    if not _REPO_ID.match(repo_id) or ".." in repo_id:
        raise ValueError(f"not a Hugging Face repo id: {text!r} (expected hf://owner/name[@revision])")
    return repo_id, (revision or None)


def resolve_endpoint(explicit: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """``explicit`` (``--hf-endpoint``), ``SAFELOAD_HF_ENDPOINT``, ``HF_ENDPOINT``, then the default."""
    env = os.environ if environ is None else environ
    for value in (explicit, env.get("SAFELOAD_HF_ENDPOINT"), env.get("HF_ENDPOINT")):
        if value:
            return value.rstrip("/")
    return DEFAULT_ENDPOINT


def is_offline(environ: Mapping[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    names = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    return any(env.get(name, "").strip().lower() in _TRUE for name in names)


def cache_root(explicit: str | None = None, environ: Mapping[str, str] | None = None) -> Path:
    """The HF hub cache: ``explicit``, ``HF_HUB_CACHE``, ``HUGGINGFACE_HUB_CACHE``, ``$HF_HOME/hub``,
    ``$XDG_CACHE_HOME/huggingface/hub``, then ``~/.cache/huggingface/hub``."""
    env = os.environ if environ is None else environ
    if explicit:
        return Path(explicit).expanduser()
    for name in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if env.get(name):
            return Path(env[name]).expanduser()
    if env.get("HF_HOME"):
        return Path(env["HF_HOME"]).expanduser() / "hub"
    if env.get("XDG_CACHE_HOME"):
        return Path(env["XDG_CACHE_HOME"]).expanduser() / "huggingface" / "hub"
    return Path.home() / ".cache" / "huggingface" / "hub"


def worth_downloading(filename: str) -> bool:
    """False for files whose extension names a code-free format (see the module docstring)."""
    name = filename.rsplit("/", 1)[-1]
    if name in _SAFE_NAMES:
        return False
    suffix = os.path.splitext(name)[1].lower()
    return suffix not in SAFE_EXTENSIONS


def _label(repo_id: str, revision: str, filename: str) -> str:
    return f"hf://{repo_id}@{revision}/{filename}"


def remote_targets(repo_id: str, revision: str | None, *, endpoint: str, cache_dir: str | os.PathLike[str],
                   token: str | None = None) -> tuple[list[Target], list[str]]:
    """Download the files worth scanning from a hub repo; return (targets, skipped labels).

    Raises :class:`HubError` when the repo cannot be listed or a file cannot be fetched, and ``ImportError``
    (with an install hint) when ``huggingface_hub`` is missing.
    """
    try:
        from huggingface_hub import HfApi, hf_hub_download
    except ImportError as exc:
        raise ImportError("scanning hf:// needs huggingface_hub: pip install 'safeload[hub]'") from exc
    api = HfApi(endpoint=endpoint, token=token)
    try:
        info = api.model_info(repo_id, revision=revision, token=token)
    except Exception as exc:  # huggingface_hub raises many types; all mean "cannot list"
        where = f"{repo_id}@{revision or 'main'} on {endpoint}"
        raise HubError(f"cannot list {where}: {type(exc).__name__}: {exc}") from exc
    sha = str(info.sha or revision or "main")
    files = sorted(str(s.rfilename) for s in (info.siblings or []))
    targets: list[Target] = []
    skipped: list[str] = []
    for filename in files:
        label = _label(repo_id, sha, filename)
        parts = filename.split("/")
        if filename.startswith("/") or "\\" in filename or any(p in {"", ".", ".."} for p in parts):
            targets.append(Target(path="", labels=(label,), result=error_result(
                label, "the hub listed a file name that escapes the repository; not downloaded")))
            continue
        if not worth_downloading(filename):
            skipped.append(label)
            continue
        try:
            local = hf_hub_download(repo_id, filename, revision=sha, cache_dir=os.fspath(cache_dir),
                                    endpoint=endpoint, token=token)
        except Exception as exc:  # noqa: BLE001 - a failed download is an error result, never "clean"
            logger.warning("cannot download %s: %s", label, exc)
            targets.append(Target(path="", labels=(label,), result=error_result(
                label, f"cannot download from {endpoint}: {type(exc).__name__}: {exc}")))
            continue
        targets.append(Target(path=str(local), labels=(label,), walked=True))
    _record_ref(Path(cache_dir), repo_id, revision or "main", sha)
    return targets, skipped


def _record_ref(cache_dir: Path, repo_id: str, revision: str, sha: str) -> None:
    """Point ``refs/{revision}`` at the commit we downloaded (downloads pinned to a commit do not), as
    huggingface_hub does, so an offline scan of ``hf://repo@revision`` finds the same snapshot."""
    if _SHA.match(revision) or not _SHA.match(sha) or "/" in revision or revision.startswith("."):
        return
    repo_dir = cache_dir / f"models--{repo_id.replace('/', '--')}"
    if not (repo_dir / "snapshots" / sha).is_dir():
        return
    try:
        (repo_dir / "refs").mkdir(exist_ok=True)
        (repo_dir / "refs" / revision).write_text(sha, encoding="ascii")
    except OSError as exc:
        logger.debug("cannot record refs/%s for %s: %s", revision, repo_id, exc)


def offline_targets(repo_id: str, revision: str | None, *, cache_dir: str | os.PathLike[str]) -> list[Target]:
    """The cached snapshot of ``repo_id`` at ``revision`` (``main`` by default), without network."""
    root = Path(cache_dir)
    repo_dir = root / f"models--{repo_id.replace('/', '--')}"
    rev = revision or "main"
    if _SHA.match(rev):
        sha = rev
    else:
        try:
            sha = (repo_dir / "refs" / rev).read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise HubError(f"offline mode: {repo_id}@{rev} is not in the cache at {root}") from exc
    snapshot = repo_dir / "snapshots" / sha
    if not _SHA.match(sha) or not snapshot.is_dir():
        raise HubError(f"offline mode: snapshot {sha[:40]} of {repo_id} is not in the cache at {root}")
    return _snapshot_targets(root, snapshot, lambda rel: _label(repo_id, sha, rel))


# -- cache walk ----------------------------------------------------------------------------------------------
def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _walk_snapshot(snapshot: Path) -> Iterator[tuple[Path, str]]:
    """(entry, relative posix path) for every file or link below ``snapshot``, without following dir links."""
    for folder, dirnames, filenames in os.walk(snapshot, followlinks=False):
        dirnames.sort()
        names = sorted(filenames) + [d for d in dirnames if os.path.islink(os.path.join(folder, d))]
        for name in names:
            entry = Path(folder) / name
            yield entry, entry.relative_to(snapshot).as_posix()


def _snapshot_targets(root: Path, snapshot: Path, label_of: Any) -> list[Target]:
    real_root = os.path.realpath(root)
    by_blob: dict[str, list[str]] = {}
    refused: list[Target] = []
    for entry, relative in _walk_snapshot(snapshot):
        label = label_of(relative)
        real = os.path.realpath(entry)
        if not _inside(real, real_root):
            refused.append(Target(path="", labels=(label,), result=ScanResult(source=label, findings=(
                finding_for("SL008", "link leaves the cache root; not followed", label, subject=real),))))
            continue
        if os.path.isdir(real):
            continue
        by_blob.setdefault(real, []).append(label)
    targets = [Target(path=real, labels=tuple(labels), walked=True) for real, labels in by_blob.items()]
    return targets + refused


def cache_targets(root: str | os.PathLike[str]) -> list[Target]:
    """Every file in every snapshot of every repo in the HF cache at ``root``.

    Blobs shared by several snapshots (or repos) are scanned once and reported under each snapshot path.
    """
    base = Path(root)
    real_root = os.path.realpath(base)
    seen: dict[str, int] = {}
    out: list[Target] = []
    try:
        repos = sorted(p for p in base.iterdir() if re.match(r"^(models|datasets|spaces)--", p.name))
    except OSError as exc:
        raise HubError(f"cannot read the HF cache at {base}: {exc.strerror or exc}") from exc
    for repo in repos:
        snapshots = repo / "snapshots"
        if not snapshots.is_dir():
            continue
        for snapshot in sorted(snapshots.iterdir()):
            if snapshot.is_symlink() and not _inside(os.path.realpath(snapshot), real_root):
                label = str(snapshot)
                refused = finding_for("SL008", "snapshot link leaves the cache root; not followed", label,
                                   subject=os.path.realpath(snapshot))
                refusal = ScanResult(source=label, findings=(refused,))
                out.append(Target(path="", labels=(label,), result=refusal))
                continue
            if not snapshot.is_dir():
                continue
            for target in _snapshot_targets(base, snapshot, lambda rel, s=snapshot: str(s / rel)):
                if target.result is None and target.path in seen:
                    index = seen[target.path]
                    previous = out[index]
                    out[index] = dataclasses.replace(previous, labels=previous.labels + target.labels)
                    continue
                if target.result is None:
                    seen[target.path] = len(out)
                out.append(target)
    return out
