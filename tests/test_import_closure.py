"""R2-1: a vouch covers a package's own modules; what they import is covered only by the reviewed closure table.

- the generator (``catalog/_gen/closure.py``) on a synthetic environment: which modules' module-level imports
  leave reviewed territory, read without importing anything (``sys.modules`` unchanged, marker absent);
- the scan-time lookup (``catalog/closure.py``) on the committed table and the installed packages: the pandas
  module that imports dask/distributed (joblib._dask; round 8: matplotlib is reviewed) is not covered, ordinary torch/pandas/sklearn/numpy modules are; a
  table computed for other versions, or an outside package that is installed, makes a module not covered;
- end to end: a pickle naming ``joblib._dask.Batch`` is refused naming distributed, and distributed is
  never imported; ordinary pickles of the vouched families stay clean.
"""

from __future__ import annotations

import os
import pickle
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from safeload.catalog._gen.closure import compute, render
from safeload.catalog.closure import closure_covered
from safeload.catalog.reviewed import IMPORT_REVIEWED
from safeload.catalog.uses import Use
from tests.test_source_analysis import Env, env

__all__ = ["env"]

_SITE = Path(os.__file__).parent  # the stdlib directory, for synthetic search paths


def _write(site: Path, files: dict[str, str], marker: Path) -> None:
    for rel, text in files.items():
        target = site / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(text).replace("MARKER", repr(str(marker))))


_PACKAGE = {
    "vp/__init__.py": "import json\nfrom . import core\n",
    "vp/core.py": "import collections\nclass X:\n    pass\n",
    "vp/plot.py": "import outside_pkg\n",
    "vp/uses_plot.py": "from vp import plot\n",
    "vp/lazy.py": "def f():\n    import outside_pkg\n",
    "vp/called.py": "def _helper():\n    import outside_pkg\ndef _init():\n    _helper()\n_init()\n",
    "vp/decorated.py": "def deco(fn):\n    import outside_pkg\n    return fn\n@deco\ndef g():\n    pass\n",
    "vp/typed.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import outside_pkg\n",
    "vp/main_only.py": "if __name__ == '__main__':\n    import outside_pkg\n",
    "vp/optional.py": "try:\n    import absent_pkg\nexcept ImportError:\n    absent_pkg = None\n",
    "vp/gui.py": "import tkinter\n",
    "vp/sub/__init__.py": "__all__ = ['inner']\n",
    "vp/sub/inner.py": "import outside_pkg\n",
    "vp/star.py": "from vp.sub import *\n",
    "vp/klass.py": "class K:\n    import outside_pkg\n",
    "vp/broken.py": "def (:\n",
    "vp/dynamic.py": "import importlib\nmod = importlib.import_module('outside_pkg')\n",
    "vp/optional_dep.py": "from vp.core import X\nlib = import_optional_dependency('outside_pkg', errors='ignore')\n",
    "vp/third.py": "import tp\n",
    "vp/third_deep.py": "import tp.deep\n",
    "tp/__init__.py": "import json\n",
    "tp/deep.py": "import outside_two\n",
    "outside_pkg/__init__.py": "open(MARKER, 'w').close()\n",
    "outside_two/__init__.py": "open(MARKER, 'w').close()\n",
}


def test_generator_records_the_modules_whose_imports_leave(tmp_path: Path) -> None:
    site = tmp_path / "site-packages"
    marker = tmp_path / "marker"
    _write(site, _PACKAGE, marker)
    before = set(sys.modules)
    closure = compute(["vp"], ["tp"], search_path=[str(site), str(_SITE)])
    assert set(sys.modules) == before and not marker.exists(), "the generator imported what it reads"
    leaves = closure.leaves
    for clean in ("vp", "vp.core", "vp.lazy", "vp.typed", "vp.main_only", "vp.third", "vp.sub"):
        assert clean not in leaves, (clean, leaves.get(clean))
    for module in ("vp.plot", "vp.uses_plot", "vp.called", "vp.decorated", "vp.star", "vp.sub.inner", "vp.klass",
                   "vp.dynamic", "vp.optional_dep"):
        assert leaves.get(module) == ("outside_pkg",), (module, leaves.get(module))
    assert leaves["vp.optional"] == ("absent_pkg",)  # recorded: it may be installed where the scan runs
    assert leaves["vp.gui"] == ("tkinter",)  # a denied stdlib module is outside territory
    assert leaves["vp.broken"] == ("<unreadable source>",)
    assert leaves["vp.third_deep"] == ("outside_two",)  # reviewed third-party territory is followed through
    assert all(not name.startswith("tp") for name in leaves)  # only vouched packages get entries
    text = render(closure)
    namespace: dict[str, object] = {}
    exec(compile(text, "closure.py", "exec"), namespace)
    assert namespace["PACKAGES"] == frozenset({"vp"})
    outside, reaches, rendered = namespace["OUTSIDE"], namespace["REACHES"], namespace["LEAVES"]
    assert isinstance(outside, tuple) and isinstance(reaches, tuple) and isinstance(rendered, dict)
    assert tuple(outside[i] for i in reaches[rendered["vp.plot"]]) == ("outside_pkg",)


def test_table_covers_every_vouched_package() -> None:
    """The committed table was computed for today's IMPORT_REVIEWED (regenerate after editing it)."""
    from safeload.catalog.generated import closure as table

    assert table.PACKAGES == IMPORT_REVIEWED


@pytest.mark.parametrize("module", [
    "pandas", "pandas.core.frame", "pandas.core.internals.blocks", "pandas._libs.tslibs.timestamps",
    "torch", "torch._utils", "torch.nn.modules.linear", "torch.optim.adam", "sklearn.linear_model._base",
    "sklearn.ensemble._forest", "numpy", "numpy._core.multiarray", "scipy.sparse._csr",
])
def test_ordinary_vouched_modules_are_covered(module: str) -> None:
    covered, why = closure_covered(module)
    assert covered, why


def test_pandas_plotting_module_is_not_covered() -> None:
    # round 8: matplotlib is import-reviewed (the lead accepted its cache writes and fc-list as environment
    # set-up), so pandas' plotting modules are covered now; joblib._dask reaches dask/distributed, outside
    covered, why = closure_covered("pandas.plotting._matplotlib.boxplot")
    assert covered, why
    covered, why = closure_covered("joblib._dask")
    assert not covered and ("distributed" in why or "dask" in why), why


def test_unknown_package_is_not_covered() -> None:
    covered, why = closure_covered("not_a_vouched_package.mod")
    assert not covered and "no reviewed import closure" in why, why


def _linked_env(tmp_path: Path, names: list[str]) -> list[str]:
    """A search path holding links to some installed packages (and their metadata) only."""
    import pandas  # noqa: F401 - the installed package's location, read from its spec below

    real = Path(sys.modules["pandas"].__file__ or "").parent.parent
    site = tmp_path / "site-packages"
    site.mkdir(parents=True)
    for name in names:
        for found in real.glob(f"{name}*"):
            (site / found.name).symlink_to(found)
    return [str(site), str(_SITE)]


def test_outside_packages_count_only_when_installed(tmp_path: Path) -> None:
    """joblib's dask backend reaches dask and distributed: without them installed its closure stays inside
    territory; with them beside it, it is not covered (round 8: matplotlib, the earlier example, is reviewed)."""
    path = _linked_env(tmp_path, ["joblib"])
    covered, why = closure_covered("joblib._dask", path)
    assert covered, why
    _linked_env(tmp_path / "with", ["joblib", "dask", "distributed"])
    covered, why = closure_covered("joblib._dask", [str(tmp_path / "with" / "site-packages"), str(_SITE)])
    assert not covered and ("dask" in why or "distributed" in why), why


def test_other_versions_are_not_covered(tmp_path: Path) -> None:
    site = tmp_path / "site-packages"
    (site / "pandas").mkdir(parents=True)
    (site / "pandas" / "__init__.py").write_text("")
    (site / "pandas-0.1.dist-info").mkdir()
    covered, why = closure_covered("pandas.core.frame", [str(site), str(_SITE)])
    assert not covered and "computed for pandas-" in why, why


@pytest.fixture
def strict_imports(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """R2-1's closure check is on by default (``SAFELOAD_STRICT_IMPORTS=0`` switches it off, read once per
    process): make sure it is on here, whatever the run's environment, and start from empty analysis caches,
    which do not key on it."""
    from safeload.catalog import source_analysis, source_imports

    monkeypatch.setattr(source_imports, "STRICT_IMPORTS", True)
    source_analysis.clear_cache()
    yield
    source_analysis.clear_cache()


# --- end to end ---------------------------------------------------------------------------------------------

def test_pandas_plotting_pickle_is_refused_in_process(strict_imports: None) -> None:
    from safeload import scan
    from tests.attacks import C, G, assemble

    if "distributed" in sys.modules:
        pytest.skip("distributed already imported in this process")
    data = assemble(C(G("copyreg", "_reconstructor"), (G("joblib._dask", "Batch"), G("builtins", "object"), None)))
    result = scan(data)
    assert "distributed" not in sys.modules, "the scan imported what it read"
    blocking = result.blocking()
    assert blocking, result.findings
    assert any("distributed" in f.message for f in blocking), [f.message for f in blocking]


def _ordinary() -> list[tuple[str, bytes]]:
    import numpy as np
    import pandas as pd
    import torch
    from sklearn.linear_model import LogisticRegression

    frame = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    model = LogisticRegression().fit(np.array([[0.0], [1.0], [2.0], [3.0]]), np.array([0, 0, 1, 1]))
    return [("numpy", pickle.dumps(np.arange(6).reshape(2, 3))), ("pandas", pickle.dumps(frame)),
            ("sklearn", pickle.dumps(model)), ("torch", pickle.dumps(torch.nn.Linear(2, 3)))]


def test_ordinary_vouched_pickles_stay_clean(strict_imports: None) -> None:
    from safeload import scan

    for label, data in _ordinary():
        result = scan(data)
        assert result.is_safe(), (label, [(f.rule_id, f.subject, f.message) for f in result.blocking()])


# --- scan time, a vouched package the table does not know: its imports are followed ------------------------

@pytest.mark.parametrize("importer", [
    "import helper",
    "def _setup():\n    import helper\n_setup()",
    "import importlib\nimportlib.import_module('helper')",
])
def test_vouch_without_reviewed_closure_follows_imports(env: Env, importer: str, strict_imports: None) -> None:
    """A vouched package absent from the table (here a synthetic one the catalogue callback vouches for) is
    covered for its own top level only: what it imports, also through a function its top level calls or a
    literal dynamic import, is analysed (and the helper that touches the file system is refused)."""
    env.write({"vouched/__init__.py": "", "vouched/m.py": f"{importer}\nclass X:\n    pass\n",
               "helper/__init__.py": "open(MARKER, 'w').close()\n"})

    def catalog(name: str, use: Use) -> bool | None:
        return True if use is Use.IMPORT and name.split(".", maxsplit=1)[0] == "vouched" else None

    verdict = env.run("vouched.m", "X", Use.REF | Use.IMPORT, catalog=catalog).import_effects
    assert not verdict.inert and "helper" in verdict.reason, verdict.reason


def test_a_verdict_cached_without_the_check_is_not_served_with_it(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The scan cache keys on the closure check's mode: a file scanned clean with the check switched off
    (``SAFELOAD_STRICT_IMPORTS=0``, where R2-1 is open) is scanned again, and refused, with the check on."""
    from safeload.catalog import source_analysis, source_imports
    from safeload.findings import ScanResult
    from safeload.integrity.cache import policy_fingerprint
    from safeload.policy import Policy
    from safeload.scan import scan_checked
    from tests.attacks import C, G, assemble

    if "distributed" in sys.modules:
        pytest.skip("distributed already imported in this process")
    monkeypatch.setenv("SAFELOAD_CACHE_DIR", str(tmp_path / "cache"))

    def scan(target: str) -> ScanResult:
        return scan_checked(target, Policy(), want_digest=True, cache_default=True)

    def cached(result: ScanResult) -> bool:
        assert result.integrity is not None
        return bool(result.integrity["cached"])

    path = tmp_path / "boxplot.pkl"
    path.write_bytes(assemble(C(G("copyreg", "_reconstructor"),
                                (G("joblib._dask", "Batch"), G("builtins", "object"),
                                 None))))
    monkeypatch.setattr(source_imports, "STRICT_IMPORTS", False)
    source_analysis.clear_cache()
    loose_key = policy_fingerprint(Policy())
    first = scan(str(path))
    assert not first.blocking(), first.findings  # R2-1 open with the check switched off
    assert cached(scan(str(path))), "the second scan of the unchanged file should be a cache hit"
    monkeypatch.setattr(source_imports, "STRICT_IMPORTS", True)
    source_analysis.clear_cache()
    assert policy_fingerprint(Policy()) != loose_key
    strict = scan(str(path))
    source_analysis.clear_cache()
    assert not cached(strict)
    assert any("distributed" in f.message for f in strict.blocking()), strict.findings
    assert "distributed" not in sys.modules, "the scan imported what it read"


def _namespace_site(root: Path, init: str | None, *, sub: bool = False, pkg_file: bool = False) -> str:
    package = root / "nsp"
    package.mkdir(parents=True)
    if init is not None:
        (package / "__init__.py").write_text(init)
    if sub:
        (package / "zstd.py").write_text("raise SystemExit('imported')\n")
    if pkg_file:
        (root / "nsp.pkg").write_text(str(root / "elsewhere") + "\n")
    return str(root)


@pytest.mark.parametrize(("init", "sub", "pkg_file", "runs"), [
    (None, False, False, False),  # PEP 420 namespace, no zstd portion: nothing to import
    ("__path__ = __import__('pkgutil').extend_path(__path__, __name__)  # type: ignore\n", False, False, False),
    ("from pkgutil import extend_path\n__path__ = extend_path(__path__, __name__)\n", False, False, False),
    ("__path__ = __import__('pkgutil').extend_path(__path__, __name__)\n", True, False, True),  # zstd is there
    ("__path__ = __import__('pkgutil').extend_path(__path__, __name__)\n", False, True, True),  # a .pkg adds dirs
    ("__path__ = __import__('pkgutil').extend_path(__path__, __name__)\nprint('x')\n", False, False, True),
    ("import os; os.system('true')\n", False, False, True),  # any other __init__ runs code
    (None, True, False, True),
])
def test_namespace_package_decides_by_its_submodule(tmp_path: Path, init: str | None, sub: bool, pkg_file: bool,
                                                     runs: bool) -> None:
    """A closure that reaches ``<top>.<sub>`` of an outside namespace package (smart_open's ``from backports
    import zstd``; setuptools puts a ``backports`` holding only ``tarfile`` on sys.path) counts only when the
    import could run code: a ``<top>`` whose ``__init__`` is more than the pkgutil line, a ``<top>.pkg`` file,
    or ``sub`` installed in any portion. Nothing is imported to decide."""
    from safeload.catalog.source_locate import namespace_import_runs_code

    site = _namespace_site(tmp_path / "site", init, sub=sub, pkg_file=pkg_file)
    assert namespace_import_runs_code("nsp.zstd", [site]) is runs
    assert namespace_import_runs_code("nsp", [site]) is (init is not None and ("print" in init or "os." in init))
    assert namespace_import_runs_code("nsp.zstd", [str(tmp_path / "empty")]) is False
    assert "nsp" not in sys.modules and "nsp.zstd" not in sys.modules


def test_a_second_portion_holding_the_submodule_counts(tmp_path: Path) -> None:
    """pkgutil's extend_path and PEP 420 both search every ``<top>`` directory on the path, not the first."""
    from safeload.catalog.source_locate import namespace_import_runs_code

    shim = "__path__ = __import__('pkgutil').extend_path(__path__, __name__)\n"
    first = _namespace_site(tmp_path / "a", shim)
    second = _namespace_site(tmp_path / "b", None, sub=True)
    assert namespace_import_runs_code("nsp.zstd", [first]) is False
    assert namespace_import_runs_code("nsp.zstd", [first, second]) is True
    assert namespace_import_runs_code("nsp.zstd", [second, first]) is True


def test_a_portion_inside_a_zip_archive_counts(tmp_path: Path) -> None:
    """A zip archive on the path can hold a portion: pkgutil.extend_path asks each entry's finder (zipimport for
    an archive), so a regular ``nsp`` package in the archive becomes a portion of the first ``nsp``, and
    ``nsp.zstd`` is imported from it (checked against the real import system in a subprocess)."""
    import zipfile

    from safeload.catalog.source_locate import namespace_import_runs_code

    shim = "__path__ = __import__('pkgutil').extend_path(__path__, __name__)\n"
    first = _namespace_site(tmp_path / "a", shim)
    archive = tmp_path / "portion.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("nsp/__init__.py", "")
        zipped.writestr("nsp/zstd.py", "print('IMPORTED')\n")
    assert namespace_import_runs_code("nsp.zstd", [first]) is False
    assert namespace_import_runs_code("nsp.zstd", [first, str(archive)]) is True
    assert "nsp" not in sys.modules
    import subprocess

    real = subprocess.run([sys.executable, "-S", "-c", f"import sys; sys.path[:0] = [{first!r}, {str(archive)!r}]\n"
                           "import nsp.zstd"], capture_output=True, text=True, timeout=60, check=True)
    assert real.stdout.strip() == "IMPORTED"
