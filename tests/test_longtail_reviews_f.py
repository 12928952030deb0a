"""Attacks on the long-tail reviews of issue 14, round 6 (fp-longtail-f): xarray's public ``xarray.testing``.

What was reviewed, and what each test checks is still refused:

- ``xarray.testing`` and ``xarray.testing.assertions`` (``source_tables.LIBRARY_MODULES_NAMED_LIKE_TESTS``):
  ``xarray/__init__.py`` imports the package unconditionally (it is public API, in ``__all__``), so a load that
  imports xarray imports it. The entry only lifts the *name* rule (a test package is never library code): the two
  modules' top level is analysed like any other module, so a module of that name with an import effect is
  refused, and the review holds for the exact files read (their sha256 is checked against the installed ones).
  ``xarray.testing.strategies`` (hypothesis strategies, not imported by ``import xarray``) and every other
  test-named module of xarray stay denied by name.

Every attack payload touches a marker file: it runs under ``pickle.load`` (the ``*_is_live`` twin) and safeload
refuses it with the marker absent.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from safeload.catalog import source_tables as tables
from tests.test_redteam_round2 import LibCase, _g, _live, _refused


def _version(dist: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return None


needs_xarray = pytest.mark.skipif(_version("xarray") is None, reason="xarray not installed")


def _imported(module: str, name: str) -> bytes:
    return b"\x80\x02" + _g(module, name) + b"."


def _newobj(module: str, cls: str) -> bytes:
    """``cls.__new__(cls)`` then BUILD ``{'a': 1}``."""
    return b"\x80\x02" + _g(module, cls) + b")\x81}U\x01aK\x01sb."


# --- xarray.testing: the name rule is lifted, the analysis is not -------------------------------------------------
_XARRAY_INIT = "from xarray import testing\n\nclass X:\n    pass\n"

ATTACKS: dict[str, LibCase] = {
    # a package named xarray whose testing package writes at import: analysed, refused
    "xarray-testing-effect-at-import": LibCase({
        "xarray/__init__.py": _XARRAY_INIT,
        "xarray/testing/__init__.py": "from xarray.testing.assertions import assert_equal\n",
        "xarray/testing/assertions.py": "open(MARKER, 'w').close()\n\ndef assert_equal(a, b):\n    pass\n",
    }, lambda: _imported("xarray", "X")),
    "xarray-testing-init-effect": LibCase({
        "xarray/__init__.py": _XARRAY_INIT,
        "xarray/testing/__init__.py": "open(MARKER, 'w').close()\n",
    }, lambda: _newobj("xarray", "X")),
    # the decorator xarray applies at import is analysed: one that runs the payload when applied is refused
    "xarray-testing-decorator-runs": LibCase({
        "xarray/__init__.py": _XARRAY_INIT,
        "xarray/testing/__init__.py": "from xarray.testing.assertions import assert_equal\n",
        "xarray/testing/assertions.py": """
        def ensure_warnings(func):
            open(MARKER, "w").close()
            return func

        @ensure_warnings
        def assert_equal(a, b):
            pass
        """,
    }, lambda: _imported("xarray", "X")),
    # xarray.testing.strategies is not reviewed: importing it is still denied by name, whatever it holds
    "xarray-testing-strategies-denied": LibCase({
        "xarray/__init__.py": "from xarray.testing import strategies\n\nclass X:\n    pass\n",
        "xarray/testing/__init__.py": "",
        "xarray/testing/strategies.py": "open(MARKER, 'w').close()\n",
    }, lambda: _imported("xarray", "X")),
}


@pytest.mark.slow
@pytest.mark.parametrize("label", sorted(ATTACKS))
def test_attack_is_live(tmp_path: Path, label: str) -> None:
    _live(tmp_path, ATTACKS[label])


@pytest.mark.slow
@pytest.mark.parametrize("label", sorted(ATTACKS))
def test_attack_is_refused(tmp_path: Path, label: str) -> None:
    _refused(tmp_path, ATTACKS[label])


def test_only_the_two_reviewed_modules_lose_the_name_rule() -> None:
    assert tables.denied_module_reason("xarray.testing") is None
    assert tables.denied_module_reason("xarray.testing.assertions") is None
    for name in ("xarray.testing.strategies", "xarray.tests", "xarray.tests.test_dataset", "xarray.testing.x",
                 "xarrayx.testing", "pandas.testing", "xarray.core.testing"):
        assert tables.denied_module_reason(name) is not None, name


_XARRAY_LOADED = """
import json, sys
import xarray
print(json.dumps({"test_named": sorted(m for m in sys.modules if m.startswith("xarray.") and
                                       ("test" in m.split(".")[-1] or ".test" in m)),
                  "files": {m: sys.modules[m].__file__ for m in ("xarray.testing", "xarray.testing.assertions")}}))
"""


@needs_xarray
def test_the_reviewed_files_are_the_installed_ones(tmp_path: Path) -> None:
    """``import xarray`` (in a child interpreter) loads exactly the two reviewed test-named modules, and the files
    it loads are the bytes the review read (a new release must be read again)."""
    run = subprocess.run([sys.executable, "-W", "ignore", "-c", _XARRAY_LOADED], capture_output=True, text=True,
                         check=True, timeout=300, cwd=tmp_path)
    seen = json.loads(run.stdout.strip().splitlines()[-1])
    assert seen["test_named"] == ["xarray.testing", "xarray.testing.assertions"]
    for module, path in seen["files"].items():
        digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
        note = tables.LIBRARY_MODULES_NAMED_LIKE_TESTS[module]
        assert note.startswith(f"xarray {_version('xarray')} "), module
        assert digest in note, (module, digest)
