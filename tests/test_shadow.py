"""A name is allowed only when the module the load imports for it is installed code (catalog/shadow.py, R3-4).

The scans run in a subprocess whose working directory holds the model (``python -c`` puts ``''`` first on
``sys.path``, as the user's shell would); every shadowing file carries a harmless payload (it creates MARKER) and
every test asserts that it did not run under safeload.
"""

from __future__ import annotations

import json
import os
import py_compile
import subprocess
import sys
from pathlib import Path

import pytest

from safeload.catalog import shadow
from safeload.catalog.shadow import import_modules, shadowing_file

ROOT = Path(__file__).resolve().parent.parent

_PAYLOAD = "open({marker!r}, 'w').close()\n\nclass ZoneInfo:\n    pass\n\ndef _reconstruct(*a):\n    return 1\n"

_SCAN = """
import json, sys, safeload
pre = sys.argv[1]
if pre:  # import the installed module first, with the working directory off the path
    saved = sys.path[:]
    sys.path[:] = [p for p in sys.path if p not in ("", ".")]
    __import__(pre)
    sys.path[:] = saved
def verdict(trusted=None, load=True):
    report = safeload.scan("model.pkl", trusted=trusted)
    try:
        if not load:  # a load would import the installed module: later imports then never run a file
            raise safeload.SafeloadError("scan only")
        safeload.pickle_load(open("model.pkl", "rb"), trusted=trusted)
        loaded = True
    except safeload.SafeloadError:
        loaded = False
    return {"loaded": loaded, "findings": [[f.rule_id, f.severity.label, f.subject, (f.details or {}).get(
        "shadowing_file")] for f in report.findings if f.severity >= safeload.Severity.MEDIUM]}
out = {"first": verdict(load=len(sys.argv) <= 2)}
if len(sys.argv) > 2:
    open(sys.argv[2], "w").write(sys.argv[3])
    out["second"] = verdict()
    out["trusted"] = verdict(trusted=["zoneinfo.ZoneInfo"])
print(json.dumps(out))
"""


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SAFELOAD_", "PYTEST_"))}
    env["PYTHONPATH"] = str(ROOT)
    return env


def _scan(folder: Path, *args: str, pre: str = "") -> dict[str, dict[str, object]]:
    done = subprocess.run([sys.executable, "-c", _SCAN, pre, *args], env=_env(), cwd=folder, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    result: dict[str, dict[str, object]] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _model(folder: Path, module: str, name: str) -> None:
    (folder / "model.pkl").write_bytes(b"\x80\x02" + f"c{module}\n{name}\n.".encode())


def _refused_for(verdict: dict[str, object], subject: str, shadow: Path) -> None:
    assert verdict["loaded"] is False, verdict
    assert [["SL117", "high", subject, str(shadow)]] == verdict["findings"], verdict


@pytest.mark.slow
def test_pyc_without_source_in_cwd_is_refused(tmp_path: Path) -> None:
    src = tmp_path / "src" / "zoneinfo.py"
    src.parent.mkdir()
    src.write_text(_PAYLOAD.format(marker=str(tmp_path / "MARKER")))
    py_compile.compile(str(src), cfile=str(tmp_path / "zoneinfo.pyc"), doraise=True)
    _model(tmp_path, "zoneinfo", "ZoneInfo")
    plain = subprocess.run([sys.executable, "-c", "import pickle; pickle.load(open('model.pkl', 'rb'))"],
                           env=_env(), cwd=tmp_path, capture_output=True, timeout=300, check=False)
    assert (tmp_path / "MARKER").exists(), plain.stderr  # control: the plain loader imports the .pyc
    (tmp_path / "MARKER").unlink()
    _refused_for(_scan(tmp_path)["first"], "zoneinfo.ZoneInfo", tmp_path / "zoneinfo.pyc")
    assert not (tmp_path / "MARKER").exists()


@pytest.mark.slow
def test_package_directory_shadowing_numpy_is_refused(tmp_path: Path) -> None:
    (tmp_path / "numpy").mkdir()
    (tmp_path / "numpy" / "__init__.py").write_text(_PAYLOAD.format(marker=str(tmp_path / "MARKER")))
    _model(tmp_path, "numpy.core.multiarray", "_reconstruct")
    _refused_for(_scan(tmp_path)["first"], "numpy.core.multiarray._reconstruct",
                 tmp_path / "numpy" / "__init__.py")
    assert not (tmp_path / "MARKER").exists()


@pytest.mark.slow
def test_namespace_portion_in_cwd_shadowing_a_subpackage_is_refused(tmp_path: Path) -> None:
    """``google`` is a namespace package (protobuf): a ``google/protobuf/`` in the working directory is a portion
    searched before site-packages, so ``google.protobuf`` would come from it."""
    pytest.importorskip("google.protobuf")
    (tmp_path / "google" / "protobuf").mkdir(parents=True)
    (tmp_path / "google" / "protobuf" / "__init__.py").write_text(_PAYLOAD.format(marker=str(tmp_path / "MARKER")))
    _model(tmp_path, "google.protobuf", "ZoneInfo")
    _refused_for(_scan(tmp_path)["first"], "google.protobuf.ZoneInfo",
                 tmp_path / "google" / "protobuf" / "__init__.py")
    assert not (tmp_path / "MARKER").exists()


@pytest.mark.slow
def test_unrelated_namespace_directory_in_cwd_is_not_a_shadow(tmp_path: Path) -> None:
    """A ``google/`` directory holding no ``protobuf`` is only an empty portion: nothing of it runs."""
    pytest.importorskip("google.protobuf")
    (tmp_path / "google").mkdir()
    (tmp_path / "google" / "notes.txt").write_text("x")
    assert shadowing_file("google.protobuf", [str(tmp_path), *sys.path]) is None


@pytest.mark.slow
def test_file_dropped_after_a_first_scan_is_seen_and_trust_does_not_lift_it(tmp_path: Path) -> None:
    """The per-process cache is revalidated by the searched directories' mtimes; trust names the installed
    module, not the shadowing file."""
    _model(tmp_path, "zoneinfo", "ZoneInfo")
    shadow_file = tmp_path / "zoneinfo.py"
    result = _scan(tmp_path, str(shadow_file), _PAYLOAD.format(marker=str(tmp_path / "MARKER")))
    assert result["first"] == {"loaded": False, "findings": []}  # scanned only
    _refused_for(result["second"], "zoneinfo.ZoneInfo", shadow_file)
    _refused_for(result["trusted"], "zoneinfo.ZoneInfo", shadow_file)
    assert not (tmp_path / "MARKER").exists()


@pytest.mark.slow
def test_an_already_imported_module_is_not_a_shadow(tmp_path: Path) -> None:
    """The unpickler's import of a module in sys.modules returns that module: the file beside it never runs."""
    (tmp_path / "zoneinfo.py").write_text(_PAYLOAD.format(marker=str(tmp_path / "MARKER")))
    _model(tmp_path, "zoneinfo", "ZoneInfo")
    assert _scan(tmp_path, pre="zoneinfo")["first"] == {"loaded": True, "findings": []}
    assert not (tmp_path / "MARKER").exists()


def test_py2_names_are_checked_under_their_mapped_module() -> None:
    assert import_modules("copy_reg", "_reconstructor") == ("copy_reg", "copyreg")
    assert import_modules("__builtin__", "set") == ("__builtin__", "builtins")
    assert import_modules("zoneinfo", "ZoneInfo") == ("zoneinfo",)


def _unimported_stdlib() -> str:
    for name in ("wave", "sndhdr", "tomllib", "zoneinfo", "mailbox", "netrc"):
        if name not in sys.modules:
            return name
    pytest.fail("every candidate stdlib module is imported")


def test_relative_entry_means_the_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    name = _unimported_stdlib()
    monkeypatch.chdir(tmp_path)
    assert shadowing_file(name, ["", *sys.path]) is None
    (tmp_path / f"{name}.py").write_text("")
    assert shadowing_file(name, ["", *sys.path]) == str(tmp_path / f"{name}.py")
    assert shadowing_file(name, [".", *sys.path]) == str(tmp_path / f"{name}.py")
    assert shadowing_file(name, [*sys.path, ""]) is None  # after the stdlib: the stdlib module wins
    assert name not in sys.modules  # nothing was imported


def test_pth_added_directory_counts_as_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An editable install's directory (added by a site ``.pth`` line) is environment, not a shadow; a directory
    no ``.pth`` names is not; ``import`` lines of a ``.pth`` are code and add nothing."""
    site_dir, editable, other = tmp_path / "site-packages", tmp_path / "editable", tmp_path / "other"
    for folder in (site_dir, editable, other):
        folder.mkdir()
    (site_dir / "x.pth").write_text(f"# comment\nimport os\n{editable}\n")
    (editable / "r3_editable_mod.py").write_text("")
    (other / "r3_other_mod.py").write_text("")
    monkeypatch.setattr(shadow, "_site_dirs", lambda: (str(site_dir),))
    shadow.clear_cache()
    path = [str(site_dir), str(editable), str(other)]
    assert shadowing_file("r3_editable_mod", path) is None
    assert shadowing_file("r3_other_mod", path) is None  # the user's own module: nothing installed behind it
    (site_dir / "r3_other_mod.py").write_text("")
    shadow.clear_cache()
    shadowed = [str(other), str(site_dir), str(editable)]
    assert shadowing_file("r3_other_mod", shadowed) == str(other / "r3_other_mod.py")
    shadow.clear_cache()


def test_stdlib_name_must_come_from_the_stdlib(tmp_path: Path) -> None:
    """A stdlib name found in a site-packages directory (placed before the stdlib) is not the stdlib module."""
    name = _unimported_stdlib()
    site_dir = tmp_path / "site-packages"
    site_dir.mkdir()
    (site_dir / f"{name}.py").write_text("")
    assert shadowing_file(name, [str(site_dir), *sys.path]) == str(site_dir / f"{name}.py")
    assert shadowing_file(name, [*sys.path, str(site_dir)]) is None


def test_builtin_and_frozen_modules_cannot_be_shadowed(tmp_path: Path) -> None:
    (tmp_path / "posix.py").write_text("")
    (tmp_path / "codecs.py").write_text("")
    path = [str(tmp_path), *sys.path]
    for name in ("posix", "codecs"):
        assert shadow._check(name, path, "")[0] is None  # bypass the sys.modules short cut: both are imported


@pytest.mark.slow
def test_transitive_import_shadow_is_live(tmp_path: Path) -> None:
    """Control for the open gap below: the installed zoneinfo imports datetime, found first in the cwd."""
    (tmp_path / "datetime.py").write_text(f"open({str(tmp_path / 'MARKER')!r}, 'w').close()\n")
    _model(tmp_path, "zoneinfo", "ZoneInfo")
    subprocess.run([sys.executable, "-c", "import pickle; pickle.load(open('model.pkl', 'rb'))"], env=_env(),
                   cwd=tmp_path, capture_output=True, timeout=300, check=False)
    assert (tmp_path / "MARKER").exists()


@pytest.mark.slow
def test_transitive_import_shadow_is_refused(tmp_path: Path) -> None:
    (tmp_path / "datetime.py").write_text(f"open({str(tmp_path / 'MARKER')!r}, 'w').close()\n")
    _model(tmp_path, "zoneinfo", "ZoneInfo")
    result = _scan(tmp_path)["first"]
    assert not (tmp_path / "MARKER").exists(), "the payload ran under safeload"
    assert result["loaded"] is False, result


def _pickle_names(folder: Path, names: list[tuple[str, str]]) -> None:
    body = b"".join(f"c{m}\n{n}\n0".encode() for m, n in names)
    (folder / "model.pkl").write_bytes(b"\x80\x02" + body + b"N.")


@pytest.mark.slow
def test_user_module_beside_a_model_is_not_a_transitive_shadow(tmp_path: Path) -> None:
    """A project module named like nothing the load's imports reach (``train.py``) changes nothing; a stdlib
    module's closure is read (zoneinfo does not import ``wave``)."""
    (tmp_path / "train.py").write_text(f"open({str(tmp_path / 'MARKER')!r}, 'w').close()\n")
    (tmp_path / "wave.py").write_text(f"open({str(tmp_path / 'MARKER')!r}, 'w').close()\n")
    _pickle_names(tmp_path, [("zoneinfo", "ZoneInfo"), ("collections", "OrderedDict")])
    assert _scan(tmp_path)["first"] == {"loaded": True, "findings": []}
    assert not (tmp_path / "MARKER").exists()


@pytest.mark.slow
def test_transitive_shadow_of_a_vouched_package_is_refused(tmp_path: Path) -> None:
    """numpy (vouched, reviewed closure table) reaches the stdlib: a ``ctypes.py`` beside the model is refused."""
    pytest.importorskip("numpy")
    (tmp_path / "ctypes.py").write_text(f"open({str(tmp_path / 'MARKER')!r}, 'w').close()\n")
    _model(tmp_path, "numpy.core.multiarray", "_reconstruct")
    result = _scan(tmp_path)["first"]
    assert not (tmp_path / "MARKER").exists(), "the payload ran under safeload"
    assert result["loaded"] is False, result
    assert [f[0] for f in result["findings"]] == ["SL117"] and result["findings"][0][3] == str(tmp_path / "ctypes.py")


@pytest.mark.slow
def test_transitive_shadow_by_a_package_directory(tmp_path: Path) -> None:
    """A regular package directory shadows like a module file; a bare directory (a namespace portion: the installed
    module wins over it) does not."""
    (tmp_path / "datetime").mkdir()
    _model(tmp_path, "zoneinfo", "ZoneInfo")
    assert _scan(tmp_path)["first"] == {"loaded": True, "findings": []}
    (tmp_path / "datetime" / "__init__.py").write_text(f"open({str(tmp_path / 'MARKER')!r}, 'w').close()\n")
    result = _scan(tmp_path)["first"]
    assert not (tmp_path / "MARKER").exists(), "the payload ran under safeload"
    assert result["loaded"] is False, result
    assert result["findings"] == [["SL117", "high", "zoneinfo.ZoneInfo", str(tmp_path / "datetime" / "__init__.py")]]
