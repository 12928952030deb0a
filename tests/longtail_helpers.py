"""Shared helpers for the long-tail review tests (``tests/test_longtail_reviews_*.py``): a fake site-packages
analysed in front of the stdlib (and, if asked, the real site-packages), marker payloads and the refusal check.

Nothing analysed is ever imported: ``analysed`` asserts ``sys.modules`` gained no module outside safeload and that
the marker file was not created.
"""

from __future__ import annotations

import sys
import sysconfig
import textwrap
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest

import safeload
from safeload.catalog import source_analysis as sa
from safeload.catalog.decide import catalogue_view
from safeload.catalog.source_analysis import Analysis, analyse
from safeload.catalog.uses import Use
from tests.attacks import C, G

__all__ = ["analysed", "installed_version", "payload", "refused", "write_files"]


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
