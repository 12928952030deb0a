"""Issue 14: the import review of pint 0.25.3 (``reviewed.IMPORT_REVIEWS["pint"]``) and the dask.sizeof plugin reach.

``import pint`` imports dask whenever it is installed (pint.compat: ``from dask.base import ...``), and
``dask/sizeof.py`` loads and calls every installed ``dask.sizeof`` entry point at import. What is checked:

- the review's premises: the modules the review read are exactly those ``import pint`` loads
  (``_gen/closure.THIRD_PARTY_MODULES``, ``IMPORT_NOT_COVERED["pint"]``), the files pinned still hash as read, and
  the measurement under an audit hook in a fresh process (empty HOME and working directory): ``import pint`` and
  loading both corpus quantities write nothing, start no process, open no socket, change no environment variable;
- the plugin reach: ``dask.sizeof`` is an owner like torch (``catalog/plugins.IMPORT_TIME_PLUGINS``); a declared
  ``dask.sizeof`` entry point is SL119 for pint's names (refused until trusted; the payload does not run), and a
  working-directory file shadowing the plugin's module, its imports or its metadata is SL117 even when the plugin
  is trusted (the torch versions are tests/test_redteam_round10.py and round11.py);
- the computed import of tlz (``import_module('cytoolz' + ...)``) is walked: a ``cytoolz`` package, or a namespace
  directory holding ``curried.py``, in the working directory is refused (found attacking this change);
- the entries are bound to pint's closure (``reviewed.CLOSURE_BOUND``): with an optional dependency pint imports
  when installed (babel) present, the names are decided like names outside the catalogue.

Every payload writes a marker file; each test asserts it was not written under safeload, and a live twin (plain
``pickle.loads`` in a fresh interpreter) shows it is written by the plain load.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from safeload.catalog import closure as closure_view
from safeload.catalog._gen.closure import THIRD_PARTY_MODULES, THIRD_PARTY_REVIEWED
from safeload.catalog.plugins import IMPORT_TIME_PLUGINS, plugins_reached
from safeload.catalog.reviewed import CLOSURE_BOUND, IMPORT_NOT_COVERED, IMPORT_REVIEWS, PINT_ENTRIES, REVIEWED
from safeload.catalog.source_imports import REVIEWED_DYNAMIC_IMPORTS
from safeload.catalog.source_reviews import module_digest
from tests.longtail_helpers import AUDIT_HOOK, NUMPY_ENV_EVENTS, installed_version
from tests.test_import_time_plugins import _LOAD

pint = pytest.importorskip("pint")
pytest.importorskip("dask")

ROOT = Path(__file__).resolve().parents[1]

#: the files whose reading the tables rest on (a new version must be read again)
PINNED = {
    "tlz._build_tlz": "4672aacfa880af6cabd60ab24f4578634a50620360d0f3c6cb5e19b0e3548738",
    "dask.multiprocessing": "432bf2f398e3eed5b10130f4c50ea3b3d9c7c281d374621cbfa2e0586f6c7cde",
    "dask": "8b2a3d8c960a9586b47fd1a8e0af015195266a3c668df1edb5942bad31c33b24",
    "importlib_metadata._compat": "13283ac61b4ef227e103f88551cb4790b56a22d7023b4169e0f059b62707d872",
}


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "PYTHONDONTWRITEBYTECODE": "1",
           "PYTHONWARNINGS": "ignore"}
    env.update(extra)
    return env


def quantity_pickle(array: bool = False) -> bytes:
    ureg = pint.get_application_registry()
    import numpy as np

    value = ureg.Quantity(np.arange(3.0), "kg") if array else ureg.Quantity(3.5, "meter / second")
    return pickle.dumps(value, protocol=4)


# --- the review's premises -------------------------------------------------------------------------------------------
def test_the_review_names_the_installed_versions_and_pins_hold() -> None:
    assert installed_version("pint") == "0.25.3" and "pint 0.25.3" in IMPORT_REVIEWS["pint"]
    assert installed_version("dask") == "2026.8.0" and THIRD_PARTY_REVIEWED["dask"].startswith("dask 2026.8.0")
    for module, digest in PINNED.items():
        assert module_digest(module) == digest, f"{module} changed: read it again"
    assert "dask.sizeof" in IMPORT_TIME_PLUGINS and "pint" in CLOSURE_BOUND
    assert set(PINT_ENTRIES) <= set(REVIEWED)
    from safeload.catalog.source_locate import locate_module

    path = locate_module("tlz._build_tlz").path
    assert path is not None
    text = Path(path).read_text(encoding="utf-8")
    assert "import_module(module_name)" in text and "''.join(['cytoolz', dot, submodules])" in text
    assert REVIEWED_DYNAMIC_IMPORTS["tlz._build_tlz"][0][0] == "cytoolz"


_LOADED = """
import json, sys
before = set(sys.modules)
import pint
after = set(sys.modules) - before
print(json.dumps(sorted(after)))
"""


def test_the_modules_read_are_the_ones_import_pint_loads(tmp_path: Path) -> None:
    """Each partly read package's reviewed modules are exactly those ``import pint`` loads, and every pint module it
    does not load is outside the vouch."""
    run = subprocess.run([sys.executable, "-c", _LOADED], capture_output=True, text=True, check=True, timeout=300,
                         cwd=tmp_path, env=_env(tmp_path))
    loaded = set(json.loads(run.stdout.strip().splitlines()[-1]))
    platform_only = {f"platformdirs.{m}" for m in ("_android", "android", "ios", "macos", "windows")}
    for top, modules in THIRD_PARTY_MODULES.items():
        assert {m for m in loaded if m.split(".", 1)[0] == top} == modules - platform_only, top
    assert platform_only <= THIRD_PARTY_MODULES["platformdirs"] and not platform_only & loaded
    import pint as package

    root = Path(package.__file__).parent
    every = {".".join(p.relative_to(root.parent).with_suffix("").parts).removesuffix(".__init__")
             for p in root.rglob("*.py")}
    unread = every - loaded
    assert unread and len({m for m in loaded if m.startswith("pint")}) == 64
    from safeload.catalog.reviewed import import_not_covered

    assert all(import_not_covered(m) for m in unread), sorted(m for m in unread if not import_not_covered(m))
    assert not any(import_not_covered(m) for m in loaded if m.startswith("pint"))
    assert IMPORT_NOT_COVERED["pint"] == frozenset(
        "pint.definitions pint.matplotlib pint.pint_convert pint.testing pint.testsuite".split())


_AUDIT = AUDIT_HOOK + """
import pickle
before = dict(os.environ)
import pint
for path in sys.argv[1:]:
    with open(path, "rb") as handle:
        pickle.load(handle)
print(json.dumps({"events": events, "environ": before == dict(os.environ)}))
"""


def test_importing_pint_and_loading_quantities_has_no_effect(tmp_path: Path) -> None:
    home, cwd, files = tmp_path / "home", tmp_path / "cwd", tmp_path / "files"
    for directory in (home, cwd, files):
        directory.mkdir()
    paths = []
    for name, array in (("q.pkl", False), ("qa.pkl", True)):
        (files / name).write_bytes(quantity_pickle(array))
        paths.append(str(files / name))
    run = subprocess.run([sys.executable, "-c", _AUDIT, *paths], capture_output=True, text=True, check=True,
                         timeout=300, cwd=cwd, env=_env(home))
    found = json.loads(run.stdout.strip().splitlines()[-1])
    assert found["environ"] is True
    # numpy's OPENBLAS_MAIN_FREE putenv/unsetenv pair (numpy is vouched); nothing else
    assert found["events"] == NUMPY_ENV_EVENTS, found
    assert not list(home.iterdir()) and not list(cwd.iterdir())


def test_the_closure_table_records_the_plugin_group_and_the_computed_import() -> None:
    """pint's modules reach ``!dask.sizeof`` through dask.base; tlz's computed import of cytoolz is a leaf."""
    assert "dask.sizeof" in closure_view.groups_reached("pint")
    assert "dask.sizeof" in closure_view.groups_reached("pint.util")
    table = closure_view._table
    assert table is not None
    leaves = {table.OUTSIDE[i] for i in table.REACHES[table.LEAVES["pint"]]}
    assert {"cytoolz", "cytoolz.*", "babel", "uncertainties", "!dask.sizeof"} <= leaves, leaves
    assert not any(name.startswith(("dask", "toolz", "tlz")) for name in leaves), leaves
    assert closure_view.closure_covered("pint.facets.plain.quantity", plugins=False)[0]


# --- the dask.sizeof plugin reach --------------------------------------------------------------------------------------
_DIST = {"rtds-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: rtds\nVersion: 1.0\n",
         "rtds-1.0.dist-info/entry_points.txt": "[dask.sizeof]\nrtds = rtds:register\n"}


_TWIN = """
import json, pickle
try:
    pickle.loads({data!r})
except Exception:  # noqa: BLE001 - a shadow may break the import after it ran
    pass
print(json.dumps({{}}))
"""


def _write(root: Path, files: dict[str, str]) -> str:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return str(root)


def _plugin_site(tmp_path: Path, module: str = "def register(sizeof):\n    open(MARKER, 'w').close()\n") -> tuple[
        str, Path]:
    """A site directory with the ``rtds`` distribution declaring a dask.sizeof entry point (its call touches
    ``MARKER``)."""
    marker = tmp_path / "MARKER"
    return _write(tmp_path / "site", {**_DIST, "rtds/__init__.py": module.replace("MARKER", repr(str(marker)))}), marker


def _run(site: str, code: str, cwd: Path) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SAFELOAD_", "PYTEST_"))}
    env["PYTHONPATH"] = os.pathsep.join([site, str(ROOT)])
    env["SAFELOAD_CACHE"] = "0"
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_the_plugin_is_reached_through_pint_and_through_dask_sizeof_itself(tmp_path: Path) -> None:
    site, _marker = _plugin_site(tmp_path)
    path = [site, *sys.path]
    for module in ("pint", "pint.util", "pint.facets.plain.quantity", "dask.sizeof"):
        assert [p.target for p in plugins_reached(module, path)] == ["rtds.register"], module
    assert plugins_reached("pint") == ()  # none installed here


def test_a_declared_plugin_refuses_the_quantity_and_does_not_run(tmp_path: Path) -> None:
    site, marker = _plugin_site(tmp_path)
    data = quantity_pickle()
    result = _run(site, _LOAD.format(data=data, trusted=[]), tmp_path)
    assert not marker.exists(), "the plugin ran under safeload"
    assert result["loaded"] is False
    assert ["SL119", "rtds.register"] in result["findings"], result
    _run(site, _TWIN.format(data=data), tmp_path)  # live twin: import pint -> dask.sizeof calls it
    assert marker.exists()


def test_trusting_the_plugin_lets_the_quantity_load(tmp_path: Path) -> None:
    site, marker = _plugin_site(tmp_path)
    result = _run(site, _LOAD.format(data=quantity_pickle(True), trusted=["rtds.*"]), tmp_path)
    assert result == {"loaded": True, "findings": []}, result
    assert marker.exists()  # the plugin the user vouched for ran


def test_a_direct_name_of_dask_sizeof_reaches_the_plugin(tmp_path: Path) -> None:
    """An owner that is a submodule (``dask.sizeof``) is reached by a name of its own module too."""
    site, marker = _plugin_site(tmp_path)
    data = b"\x80\x02cdask.sizeof\nsizeof_default\nq\x00."
    result = _run(site, _LOAD.format(data=data, trusted=[]), tmp_path)
    assert not marker.exists()
    assert ["SL119", "rtds.register"] in result["findings"], result


def _shadow(tmp_path: Path, name: str) -> Path:
    marker = tmp_path / "SHADOW"
    (tmp_path / name).write_text(f"open({str(marker)!r}, 'w').close()\n\n\ndef register(sizeof):\n    pass\n\n\n"
                                 "def hello():\n    pass\n")
    return marker


def test_shadow_of_a_module_the_trusted_plugin_imports(tmp_path: Path) -> None:
    """Round 10's R10-3 for dask.sizeof: the trusted plugin imports ``rtdshelper``; a ``rtdshelper.py`` in the
    working directory is what runs."""
    site, plugin_marker = _plugin_site(tmp_path, "import rtdshelper\n\n\ndef register(sizeof):\n    rtdshelper.hello()\n")
    _write(tmp_path / "site", {"rtdshelper.py": "def hello():\n    pass\n"})
    shadow_marker = _shadow(tmp_path, "rtdshelper.py")
    data = quantity_pickle()
    result = _run(site, _LOAD.format(data=data, trusted=["rtds.*"]), tmp_path)
    assert not shadow_marker.exists(), "the shadowing module ran under safeload"
    assert result["loaded"] is False and any(rule == "SL117" for rule, _ in result["findings"]), result  # type: ignore[attr-defined]
    assert not plugin_marker.exists()
    _run(site, _TWIN.format(data=data), tmp_path)
    assert shadow_marker.exists()


@pytest.mark.parametrize("with_metadata", [False, True], ids=["module", "module-and-dist-info"])
def test_shadow_of_the_trusted_plugin_module(tmp_path: Path, with_metadata: bool) -> None:
    """Round 11's R11-2/R11-3 for dask.sizeof: an ``rtds.py`` in the working directory (with a copy of the
    distribution's metadata beside it, or without) runs instead of the installed, trusted plugin."""
    site, _plugin_marker = _plugin_site(tmp_path)
    if with_metadata:
        _write(tmp_path, _DIST)
    shadow_marker = _shadow(tmp_path, "rtds.py")
    data = quantity_pickle()
    result = _run(site, _LOAD.format(data=data, trusted=["rtds.*"]), tmp_path)
    assert not shadow_marker.exists(), "the shadowing module ran under safeload"
    assert result["loaded"] is False and any(rule == "SL117" for rule, _ in result["findings"]), result  # type: ignore[attr-defined]
    _run(site, _TWIN.format(data=data), tmp_path)
    assert shadow_marker.exists()


# --- the computed import of tlz --------------------------------------------------------------------------------------
@pytest.mark.parametrize("layout", ["package", "namespace"])
def test_a_cytoolz_in_the_working_directory_is_refused(tmp_path: Path, layout: str) -> None:
    """tlz imports ``'cytoolz' + ...`` by a computed name at ``import pint``, and ``cytoolz.<name>`` for every
    ``tlz.<name>`` it is asked for: dask's ``from tlz import curry`` on a tlz built from a ``cytoolz`` directory
    without ``__init__`` (a namespace portion, which has no names) imports ``cytoolz.curry``. A package, or such a
    directory holding ``curry.py``, in the working directory runs. Found attacking this change: the static walk
    could not see the computed names (``REVIEWED_DYNAMIC_IMPORTS``: ``cytoolz`` and ``cytoolz.*``)."""
    marker = tmp_path / "SHADOW"
    payload = f"open({str(marker)!r}, 'w').close()\n"
    files = {"cytoolz/__init__.py": payload} if layout == "package" else {"cytoolz/curry.py": payload,
                                                                         "cytoolz/merge.py": payload}
    _write(tmp_path, files)
    data = quantity_pickle()
    result = _run(str(tmp_path / "nosite"), _LOAD.format(data=data, trusted=[]), tmp_path)
    assert not marker.exists(), "the shadowing module ran under safeload"
    assert result["loaded"] is False, result
    _run(str(tmp_path / "nosite"), _TWIN.format(data=data), tmp_path)  # live twin
    assert marker.exists()


def test_any_cytoolz_portion_uncovers_pint(tmp_path: Path) -> None:
    """``cytoolz.*`` counts whenever a cytoolz directory is on the path, with or without ``__init__``."""
    (tmp_path / "cytoolz").mkdir()
    (tmp_path / "cytoolz" / "anything.py").write_text("")
    assert closure_view.closure_covered("pint", [str(tmp_path), *sys.path], plugins=False)[0] is False
    assert closure_view.closure_covered("pint", sys.path, plugins=False)[0] is True


# --- the entries are bound to pint's closure ---------------------------------------------------------------------------
def test_an_optional_dependency_present_unbinds_the_entries(tmp_path: Path) -> None:
    """babel installed (here: a directory on the search path): pint.compat imports it, code the review did not
    read; the closure is not covered and the entries do not hold."""
    site = _write(tmp_path / "site", {"babel/__init__.py": "open(MARKER, 'w').close()\n",
                                      "babel/units.py": "def format_unit():\n    pass\n"})
    path = [site, *sys.path]
    assert not closure_view.closure_covered("pint.compat", path, plugins=False)[0]
    assert not closure_view.closure_covered("pint", path, plugins=False)[0]
    assert closure_view.closure_covered("pint", sys.path, plugins=False)[0]
    from safeload.catalog.decide import review_holds

    files = PINT_ENTRIES["pint._unpickle_quantity"].source_files
    assert review_holds(files, "pint")
    marker = tmp_path / "MARKER"
    _write(tmp_path / "site", {"babel/__init__.py": f"open({str(marker)!r}, 'w').close()\n"})
    data = quantity_pickle()
    result = _run(site, _LOAD.format(data=data, trusted=[]), tmp_path / "site")
    assert not marker.exists() and result["loaded"] is False, result
    _run(site, _TWIN.format(data=data), tmp_path / "site")  # live twin: pint.compat imports babel
    assert marker.exists()


def test_review_holds_follows_the_closure_for_bound_packages_only(monkeypatch: pytest.MonkeyPatch) -> None:
    from safeload.catalog import decide

    files = PINT_ENTRIES["pint._unpickle_quantity"].source_files
    assert decide.review_holds(files, "pint.util")
    monkeypatch.setattr(closure_view, "closure_covered", lambda *_a, **_k: (False, "test"))
    assert not decide.review_holds(files, "pint.util")
    assert decide.review_holds((), "sympy.core.add")  # not bound: the files alone
