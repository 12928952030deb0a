"""safeload's own imports of standard modules never run files of the working directory (red team R5-4).

Every top-level standard module not imported at interpreter start-up gets a shadow in the working directory that
writes a marker; then safeload is imported and runs its lazy paths (a pickle load with a digest, so the scan cache
and its sqlite3/datetime come in; scans of a zip, a gzip stream, a folder with a config, reports). No marker may
appear. The control: code outside safeload still imports a working-directory module as Python always has.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import pickle
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_STARTUP = subprocess.run([sys.executable, "-c", "import sys; print(' '.join(sorted(sys.modules)))"],
                          capture_output=True, text=True, check=True, cwd="/").stdout.split()
_SHADOWED = sorted(name for name in sys.stdlib_module_names
                   if name not in _STARTUP)

_FLOWS = """
import safeload
print(safeload.pickle_load(open("model.pkl", "rb"), expected_sha256=DIGEST))
from safeload.report import ReportInput, render
results = [safeload.scan(path) for path in ("model.zip", "model.pkl.gz", "config.json")]
for fmt in ("text", "json", "sarif", "markdown"):
    assert render(fmt, ReportInput(results))
print("DONE")
"""


def _env(cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SAFELOAD_", "PYTEST_"))}
    env.update(PYTHONPATH=str(ROOT), SAFELOAD_CACHE_DIR=str(cache))
    return env


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "work"
    folder.mkdir()
    marker = folder / "MARKER"
    for name in _SHADOWED:
        (folder / f"{name}.py").write_text(f"open({str(marker)!r}, 'a').write({name!r} + '\\n')\n")
    payload = pickle.dumps([1, 2, 3], protocol=2)
    (folder / "model.pkl").write_bytes(payload)
    with zipfile.ZipFile(folder / "model.zip", "w") as archive:
        archive.writestr("archive/data.pkl", payload)
        archive.writestr("archive/version", "3\n")
    (folder / "model.pkl.gz").write_bytes(gzip.compress(payload))
    (folder / "config.json").write_text(json.dumps({"architectures": ["X"]}))
    return folder


@pytest.mark.slow
def test_safeload_flows_never_import_a_working_directory_shadow(tmp_path: Path) -> None:
    assert len(_SHADOWED) > 100  # the shadows cover the standard library, not a hand-picked few
    folder = _folder(tmp_path)
    digest = hashlib.sha256((folder / "model.pkl").read_bytes()).hexdigest()
    done = subprocess.run([sys.executable, "-c", _FLOWS.replace("DIGEST", repr(digest))], cwd=folder, env=_env(tmp_path / "cache"),
                          capture_output=True, text=True, timeout=300, check=False)
    marker = folder / "MARKER"
    assert not marker.exists(), f"safeload imported shadows: {marker.read_text().split()}"
    assert "[1, 2, 3]" in done.stdout and "DONE" in done.stdout, done.stdout + done.stderr[-3000:]


@pytest.mark.slow
def test_cli_scan_never_imports_a_working_directory_shadow(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    # the console script's way in (``python -m`` itself imports importlib from the working directory, before
    # safeload runs, as for any module)
    cli = "import sys\nfrom safeload.cli import main\nsys.exit(main(['scan', 'model.pkl', 'model.zip', '-f', 'sarif']))"
    done = subprocess.run([sys.executable, "-c", cli], cwd=folder, env=_env(tmp_path / "cache"), capture_output=True, text=True, timeout=300,
                          check=False)
    marker = folder / "MARKER"
    assert not marker.exists(), f"the CLI imported shadows: {marker.read_text().split()}"
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]


@pytest.mark.slow
def test_other_code_still_imports_the_working_directory_first(tmp_path: Path) -> None:
    """Drop-in: safeload changes nothing for imports its code does not make."""
    folder = tmp_path / "work"
    folder.mkdir()
    (folder / "colorsys.py").write_text("WHERE = 'cwd'\n")
    done = subprocess.run([sys.executable, "-c", "import safeload, colorsys; print(colorsys.WHERE)"], cwd=folder,
                          env=_env(tmp_path / "cache"), capture_output=True, text=True, timeout=300, check=False)
    assert done.stdout.strip() == "cwd", done.stderr[-2000:]


def test_library_directories_hold_the_standard_library_only() -> None:
    from safeload._stdlib_imports import StdlibOnlyFinder, _library_directories

    directories = _library_directories()
    assert os.path.dirname(os.__file__) in directories
    assert all(os.path.isabs(entry) for entry in directories)
    assert not any("site-packages" in entry or "dist-packages" in entry for entry in directories)
    assert os.getcwd() not in directories or os.getcwd() == os.path.dirname(os.__file__)
    assert StdlibOnlyFinder in sys.meta_path  # installed by ``import safeload``
    assert sys.meta_path.index(StdlibOnlyFinder) < next(
        index for index, finder in enumerate(sys.meta_path) if getattr(finder, "__name__", "") == "PathFinder")


def test_finder_defers_outside_safeload() -> None:
    from safeload._stdlib_imports import StdlibOnlyFinder

    assert StdlibOnlyFinder.find_spec("colorsys") is None  # called from a test frame, not safeload's code
    assert StdlibOnlyFinder.find_spec("not_a_standard_module_xyz") is None
