"""Shared helpers for the long-tail review tests (``tests/test_longtail_reviews_*.py``): a fake site-packages
analysed in front of the stdlib (and, if asked, the real site-packages), marker payloads and the refusal check.

Nothing analysed is ever imported: ``analysed`` asserts ``sys.modules`` gained no module outside safeload and that
the marker file was not created.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import textwrap
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest

import safeload
from safeload.catalog import source_analysis as sa
from safeload.catalog.decide import catalogue_view
from safeload.catalog.reviewed import IMPORT_NOT_COVERED, import_not_covered
from safeload.catalog.source_analysis import Analysis, analyse
from safeload.catalog.uses import Use
from tests.attacks import C, G

__all__ = ["AUDIT_HOOK", "NUMPY_ENV_EVENTS", "ImportRun", "analysed", "assert_vouch_is_what_the_import_loads", "installed_version", "measure_import",
           "payload", "refused", "write_files"]


def installed_version(dist: str) -> str | None:
    try:
        return version(dist)
    except PackageNotFoundError:
        return None


def write_files(site: Path, files: dict[str, str | bytes]) -> None:
    """Write ``files`` (paths relative to ``site``); ``MARKER`` in a text becomes the marker file's path."""
    marker = site.parent / "marker"
    for rel, text in files.items():
        path = site / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(textwrap.dedent(text).replace("MARKER", repr(str(marker))))


def analysed(site: Path, files: dict[str, str | bytes], module: str, qualname: str, uses: Use, *,
             installed: bool = False) -> Analysis:
    """Analyse ``module.qualname`` in a fake site-packages holding ``files`` (and, if asked, the real one)."""
    write_files(site, files)
    paths = sysconfig.get_paths()
    search = [str(site), paths["stdlib"], *([paths["purelib"]] if installed else [])]
    before = set(sys.modules)
    result = analyse(module, qualname, uses, search_path=search, catalog=catalogue_view)
    assert {m for m in set(sys.modules) - before if not m.startswith("safeload.")} == set()
    assert not (site.parent / "marker").exists()
    sa.clear_cache()
    return result


def payload(marker: Path) -> C:
    """Calling this at load would create the marker."""
    return C(G("builtins", "exec"), (f"open({str(marker)!r}, 'w').close()",))


def refused(data: bytes, marker: Path) -> None:
    """The scan refuses ``data``, the safe loader raises, and the marker payload did not run."""
    result = safeload.scan(data)
    assert not result.is_safe()
    with pytest.raises(safeload.UnsafeModelError):
        safeload.pickle_loads(data)
    assert not marker.exists()


# --- what an import does, measured in a fresh interpreter ----------------------------------------------------------
#: The child records, with an audit hook installed before the imports: files opened for writing, directories made or
#: removed, processes, sockets, environment writes, ctypes. Then (hook results already taken) it lists the modules of
#: each asked-for package that the import left unloaded, by walking the package's files (never ``walk_packages``,
#: which would import every subpackage).
_CHILD = """
import json, os, sys
bad = []
def hook(event, args):
    if event == "open":
        mode, flags = args[1], args[2]
        if (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT)):
            bad.append((event, str(args[0])))
    elif event.split(".")[0] in ("subprocess", "socket", "shutil", "ctypes") or event in (
            "os.mkdir", "os.rename", "os.remove", "os.rmdir", "os.system", "os.posix_spawn", "os.exec",
            "os.fork", "os.chmod", "os.symlink", "os.link", "os.truncate", "os.putenv", "os.unsetenv"):
        bad.append((event, repr(args)[:200]))
before = set(sys.modules)
sys.addaudithook(hook)
IMPORTS
effects = list(bad)
loaded = sorted(set(sys.modules) - before)
unloaded = {}
for pkg in PACKAGES:
    root = os.path.dirname(sys.modules[pkg].__file__)
    names = set()
    for d, dirs, files in os.walk(root):
        dirs[:] = [x for x in dirs if x != "__pycache__"]
        rel = os.path.relpath(d, os.path.dirname(root)).replace(os.sep, ".")
        for f in files:
            if f.endswith((".py", ".so", ".pyd")):
                stem = f.split(".")[0]
                names.add(rel if stem == "__init__" else rel + "." + stem)
    unloaded[pkg] = sorted(names - set(sys.modules))
print(json.dumps({"effects": effects, "loaded": loaded, "unloaded": unloaded}))
"""


#: An audit hook for a child interpreter's script (prepend it): ``events`` collects ``[event, detail]`` for files
#: opened for writing (not the null device), directories made or removed, the working directory changed, processes
#: (``"argv joined"`` for ``subprocess.Popen``), sockets (all but creation) and environment writes. The tests of one
#: import's effects print ``json.dumps(events)`` at the end.
AUDIT_HOOK = """
import json, os, sys
events = []
def hook(event, args):
    if event == "open":
        path, mode, flags = args
        writes = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
            isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT))
        if writes and str(path) != os.devnull:
            events.append(["write", str(path)])
    elif event in ("os.mkdir", "os.remove", "os.rename", "os.replace", "shutil.rmtree", "os.chdir"):
        events.append([event, str(args[0])])
    elif event in ("subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork"):
        events.append(["process", " ".join(map(str, args[1])) if event == "subprocess.Popen" else repr(args)])
    elif event.startswith("socket.") and event != "socket.__new__":
        events.append([event, repr(args[1:])])
    elif event in ("os.putenv", "os.unsetenv"):
        events.append([event, repr(args[0])])
sys.addaudithook(hook)
"""
#: numpy's reviewed environment writes as ``AUDIT_HOOK`` records them (see ``_NUMPY_ENV_WRITES``).
NUMPY_ENV_EVENTS = [["os.putenv", "b'OPENBLAS_MAIN_FREE'"], ["os.unsetenv", "b'OPENBLAS_MAIN_FREE'"]]

#: numpy 2.4 ``_core/__init__.py`` sets ``OPENBLAS_MAIN_FREE=1`` around its multiarray import (OpenBLAS then leaves
#: the main thread's CPU affinity alone) and unsets it again: numpy is import-reviewed, this is part of that review.
_NUMPY_ENV_WRITES = {("os.putenv", "(b'OPENBLAS_MAIN_FREE', b'1')"), ("os.unsetenv", "(b'OPENBLAS_MAIN_FREE',)")}


@dataclass(frozen=True)
class ImportRun:
    """What ``imports`` did in a fresh interpreter: the recorded effects (audit event, detail), the modules it
    loaded, for each asked-for package the modules of its directory it left unloaded, and what it left in the
    (temporary) home and working directory."""

    effects: list[tuple[str, str]]
    loaded: list[str]
    unloaded: dict[str, list[str]]
    left_behind: list[str]

    @property
    def third_party(self) -> list[str]:
        """Top-level packages outside the stdlib that the import loaded."""
        return sorted({m.split(".")[0] for m in self.loaded} - set(sys.stdlib_module_names))


def measure_import(tmp_path: Path, imports: str, packages: tuple[str, ...] = (), *,
                   env: dict[str, str] | None = None, no_bytecode: bool = False,
                   ignore: tuple[str, ...] = ()) -> ImportRun:
    """Run ``imports`` (Python statements) in a fresh interpreter whose home, cache and working directory are
    ``tmp_path`` (plus ``env``); ``packages`` are listed for their unloaded modules. ``ignore``: audit event
    prefixes a review accepts by name (e.g. ``"ctypes"`` where a library loads its own shared object)."""
    script = _CHILD.replace("IMPORTS", textwrap.dedent(imports).strip()).replace("PACKAGES", repr(packages))
    child_env = {**os.environ, "HOME": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path / "cache"), **(env or {})}
    argv = [sys.executable, "-W", "ignore", *(["-B"] if no_bytecode else []), "-c", script]
    run = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=300, cwd=tmp_path,
                         env=child_env)
    assert run.returncode == 0, run.stderr[-3000:]
    found = json.loads(run.stdout.strip().splitlines()[-1])
    effects = [(event, detail) for event, detail in found["effects"]
               if not event.startswith(ignore) and (event, detail) not in _NUMPY_ENV_WRITES]
    return ImportRun(effects, found["loaded"], found["unloaded"],
                     sorted(p.name for p in tmp_path.iterdir()))


def assert_vouch_is_what_the_import_loads(package: str, unloaded: list[str]) -> None:
    """Every module of ``package`` the reviewed import left unloaded is outside the vouch, and every entry of
    ``IMPORT_NOT_COVERED[package]`` is such a module (or a package of them)."""
    missing = [m for m in unloaded if not import_not_covered(m)]
    assert not missing, f"{package}: modules the review did not read are vouched: {missing}"
    listed = IMPORT_NOT_COVERED[package]
    stale = [m for m in listed if not (m in unloaded or any(u.startswith(m + ".") for u in unloaded))]
    assert not stale, f"{package}: IMPORT_NOT_COVERED lists modules the import loads: {stale}"
