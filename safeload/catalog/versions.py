"""Whether a generated catalogue shard describes the installed packages.

Each shard (``catalog/generated/<shard>.py``) records in ``CHECKED_AGAINST`` the distribution versions its
entries were generated and reviewed against (``python`` and ``platform`` for the standard library). An entry says
what a load does with a name *in those versions*; another release may have changed it. This module compares the
record with what is installed, read from the ``<dist>-<version>.dist-info`` (or ``.egg-info``) directory names beside
the installed package (where pip puts them), and the running interpreter.

Invariant: nothing is imported and nothing is guessed: a distribution whose installed version cannot be read
counts as drifted ("unknown" is never "the same"). The directories consulted are reported to the scan's
``recording_files`` block, so a verdict kept in the scan cache is revalidated when a package is installed,
upgraded or removed there.
"""

from __future__ import annotations

import functools
import os
import re
import sys
import threading

from safeload.catalog.source_files import LOOKUP, record
from safeload.catalog.source_locate import locate_module

__all__ = ["installed_version", "shard_drift"]

_LOCK = threading.Lock()
_LISTINGS: dict[str, tuple[int, dict[str, str]]] = {}  # directory -> (mtime_ns, {normalised dist: version})
_METADATA = re.compile(r"^(?P<name>[^-]+)-(?P<version>[^-]+?)(?:-py[\d.]+)?\.(?:dist|egg)-info$", re.IGNORECASE)


def _normal(dist: str) -> str:
    """A distribution name as metadata directories spell it (PEP 503 normalisation, ``_`` for separators)."""
    return re.sub(r"[-_.]+", "_", dist).lower()


def _listing(directory: str) -> tuple[int, dict[str, str]]:
    """The distributions whose metadata directory lies in ``directory`` (re-read when its mtime changes)."""
    try:
        mtime = os.stat(directory).st_mtime_ns
    except (OSError, ValueError):
        return -1, {}
    with _LOCK:
        hit = _LISTINGS.get(directory)
    if hit is not None and hit[0] == mtime:
        return hit
    versions: dict[str, str] = {}
    try:
        names = os.listdir(directory)
    except OSError:
        names = []
    for name in sorted(names):
        match = _METADATA.match(name) if name.endswith(("-info", "-INFO")) else None
        if match is not None:
            versions.setdefault(_normal(match["name"]), match["version"])
    with _LOCK:
        _LISTINGS[directory] = (mtime, versions)
    return mtime, versions


@functools.lru_cache(maxsize=256)
def _beside(top: str, search_path: tuple[str, ...]) -> str | None:
    """The directory holding the package ``top`` as the path finder finds it on ``search_path``."""
    found = locate_module(top, search_path)
    where = found.search_locations[0] if found.search_locations else found.path
    if found.kind == "missing" or not where:
        return None
    return os.path.dirname(os.path.abspath(where).rstrip(os.sep))


def installed_version(dist: str, top: str) -> str | None:
    """The version of ``dist`` installed beside the package ``top`` the load imports (the metadata directory next
    to the package, as pip lays them out), or None. The directory looked in is recorded for the scan cache."""
    beside = _beside(top, tuple(sys.path))
    if beside is None:
        return None
    mtime, versions = _listing(beside)
    record([(LOOKUP + beside, mtime, -1, -1, -1)])
    return versions.get(_normal(dist))


def _running(key: str) -> str:
    if key == "python":
        return ".".join(str(part) for part in sys.version_info[:3])
    return sys.platform


#: Top-level packages whose distribution name does not start with the package's name.
_DIST_OF_TOP = {"sklearn": "scikit_learn"}


def _relevant(checked_against: dict[str, str], top: str) -> list[tuple[str, str]]:
    """The recorded distributions that ship ``top`` (a shard may cover several: boosters), else all of them."""
    items = sorted(checked_against.items())
    prefix = _DIST_OF_TOP.get(top, _normal(top))
    mine = [(dist, version) for dist, version in items if _normal(dist).startswith(prefix)]
    return mine or items


def _installed(dist: str, top: str) -> str | None:
    """A CPU- or GPU-only build is the same package as the plain distribution (``xgboost-cpu``, ``xgboost``)."""
    found = installed_version(dist, top)
    if found is None and dist.endswith(("-cpu", "-gpu")):
        found = installed_version(dist[:-4], top)
    return found


def shard_drift(checked_against: dict[str, str], top: str) -> tuple[str, ...]:
    """What differs between a shard's ``CHECKED_AGAINST`` and this environment for the distribution shipping
    the top-level package ``top``, one phrase each (``"pandas 3.1.1, installed 2.2.3"``); empty when everything
    matches. Local version labels (``+cpu``) are builds of the same release."""
    out: list[str] = []
    for dist, recorded in _relevant(checked_against, top):
        if dist in {"python", "platform"}:
            now: str | None = _running(dist)
            if dist == "python" and now is not None:
                # patch releases of the interpreter keep the standard library's pickle behaviour
                same = now.split(".")[:2] == recorded.split(".")[:2]
            else:
                same = now == recorded
        else:
            now = _installed(dist, top)
            same = now is not None and now.split("+")[0] == recorded.split("+")[0]
        if not same:
            out.append(f"{dist} {recorded}, installed {now or 'unknown'}")
    return tuple(out)
