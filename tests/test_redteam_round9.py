"""Red team round 9: the session-3 changes attacked with the source in hand (namespace-package presence in the
reviewed import closure, and entry-point plugins loaded at import, SL119).

- R9-1 (fixed) a pkgutil-style namespace ``__init__.py`` that is exactly the ``extend_path`` line counted as
  running nothing (``source_locate._is_namespace_shim`` read the text only), but the import runs the
  ``__pycache__`` bytecode beside it when that is an unchecked-hash ``.pyc`` or a timestamp one stamped with the
  source's mtime and size (round 6's R6-4, here for the closure's presence check): a ``backports`` so built in
  site-packages left spaCy's closure "covered" and a pickle allocating ``spacy.lookups.Lookups`` loaded and ran it.
- R9-4 (fixed) answers cached for the whole process: ``closure._present``/``_stale`` (functools.cache keyed on the
  path only) and the source analysis' in-memory cache (revalidated on the files it read, never on the path's
  directories) kept saying "covered" after a package outside reviewed territory was installed in the same process
  (a notebook's ``%pip install``): a scan, then ``backports`` installed, then ``pickle_load`` of the same spaCy
  allocation loaded and ran it. Now keyed on the path directories' mtimes, and those directories are files the
  analysis rests on.
- R9-5 (fixed) the declared entry points were cached per process on the path directories' mtimes only, and a
  scan verdict resting on "no plugin declared" recorded nothing for the scan cache: an ``entry_points.txt``
  rewritten in place (an egg-info regenerated in a project directory, which leaves every path directory as it
  was) gained a ``torch.backends`` entry that importlib.metadata reads at ``import torch`` while safeload kept
  its first answer. Now every distribution directory and ``entry_points.txt`` read is stamped, and recorded for
  the scan cache.
- R9-2 (fixed) ``entry_points.txt`` read differently from importlib.metadata (``Sectioned``): safeload skipped
  ``;`` lines as comments and took any line starting with ``[`` for a section header; importlib.metadata skips
  only ``#`` lines and takes a section only when the line also ends with ``]``, so ``;rt = mod:init`` and
  ``[rt = mod:init`` under ``[torch.backends]`` are entry points torch loads and calls, which safeload missed.
- R9-3 (fixed) distribution directories found case-insensitively by importlib.metadata (``Lookup`` lower-cases
  ``*.DIST-INFO``, ``*.Egg-Info``, an egg's ``egg-info``, ``*.EGG``): safeload compared exactly and missed them.

Each case has a live twin (the plugin runs under plain ``pickle.load`` of ``torch.float32``) and a refusal test
(safeload refuses, and the plugin's marker file does not exist).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import zipfile
from pathlib import Path

import pytest

from tests.test_redteam_round2 import _REAL, _SAFE, LibCase, _alloc_of, _live, _refused, _run

_PLUGIN_MODULE = """
    open(MARKER, "w").close()

    def init():
        open(MARKER, "w").close()
"""


def _torch_float32() -> bytes:
    return b"\x80\x02ctorch\nfloat32\n."


def _dist(info_dir: str, entry_points: str) -> LibCase:
    return LibCase({
        "rt9plug/__init__.py": _PLUGIN_MODULE,
        f"{info_dir}/METADATA": "Metadata-Version: 2.1\nName: rt9plug\nVersion: 1.0\n",
        f"{info_dir}/entry_points.txt": entry_points,
    }, _torch_float32)


# --- R9-2 / R9-3: entry_points.txt and distribution directories read as importlib.metadata reads them ----------------
READER = {
    "semicolon-line-is-an-entry": _dist("rt9plug-1.0.dist-info", "[torch.backends]\n;rt9 = rt9plug:init\n"),
    "bracket-line-is-an-entry": _dist("rt9plug-1.0.dist-info", "[torch.backends]\n[rt9 = rt9plug:init\n"),
    "upper-case-dist-info": _dist("rt9plug-1.0.DIST-INFO", "[torch.backends]\nrt9 = rt9plug:init\n"),
    "mixed-case-egg-info": _dist("rt9plug-1.0.Egg-Info", "[torch.backends]\nrt9 = rt9plug:init\n"),
}


@pytest.mark.slow
@pytest.mark.parametrize("label", sorted(READER))
def test_entry_point_reader_variant_is_live(tmp_path: Path, label: str) -> None:
    pytest.importorskip("torch")
    _live(tmp_path, READER[label])


@pytest.mark.parametrize("label", sorted(READER))  # fixed: catalog/plugins.py reads as importlib.metadata does
def test_entry_point_reader_variant_is_refused(tmp_path: Path, label: str) -> None:
    pytest.importorskip("torch")
    _refused(tmp_path, READER[label])


def _importlib_view(entry: str) -> set[tuple[str, str]]:
    return {(ep.name, ep.value) for dist in importlib.metadata.distributions(path=[entry])
            for ep in dist.entry_points if ep.group == "torch.backends"}


def test_the_reader_finds_what_importlib_metadata_finds_in_eggs(tmp_path: Path) -> None:
    """Eggs named in other cases (``x.EGG``, a lower-case ``egg-info``), directories and zip archives: every
    torch.backends entry point importlib.metadata finds on the entry, safeload's reader finds (R9-3)."""
    from safeload.catalog.plugins import declared

    text = "[torch.backends]\nrt9 = rt9plug:init\n"
    entries = []
    for name, info in (("a.egg", "egg-info"), ("b.EGG", "EGG-INFO"), ("c.Egg", "Egg-Info")):
        folder = tmp_path / name / info
        folder.mkdir(parents=True)
        (folder / "entry_points.txt").write_text(text)
        entries.append(str(tmp_path / name))
        archive = tmp_path / f"zip{name}"
        with zipfile.ZipFile(archive, "w") as zipped:
            zipped.writestr(f"{info}/entry_points.txt", text)
        entries.append(str(archive))
    for entry in entries:
        expected = _importlib_view(entry)
        assert expected, entry  # the layouts are real: importlib.metadata finds the entry point
        assert {(p.name, p.value) for p in declared("torch.backends", [entry])} >= expected, entry


# --- R9-1: a namespace shim whose cached bytecode is other code ------------------------------------------------------
_SHIM = "__path__ = __import__('pkgutil').extend_path(__path__, __name__)\n"


def _shim_with_bytecode(tmp_path: Path, kind: str) -> tuple[Path, Path, Path]:
    """(site-packages, pickle, marker): ``backports/__init__.py`` is the extend_path line, its ``__pycache__``
    ``.pyc`` is that line plus the payload, as an unchecked-hash or a source-stamped timestamp ``.pyc``."""
    from importlib import _bootstrap_external  # type: ignore[attr-defined]

    site = tmp_path / "lib" / "python3.11" / "site-packages"
    init = site / "backports" / "__init__.py"
    init.parent.mkdir(parents=True)
    init.write_text(_SHIM)
    marker = tmp_path / "MARKER"
    code = compile(_SHIM + f"open({str(marker)!r}, 'w').close()\n", str(init), "exec")
    if kind == "unchecked-hash":
        data = _bootstrap_external._code_to_hash_pyc(code, importlib.util.source_hash(init.read_bytes()), False)
    else:
        stat = init.stat()
        data = _bootstrap_external._code_to_timestamp_pyc(code, int(stat.st_mtime), stat.st_size)
    cache = Path(importlib.util.cache_from_source(str(init)))
    cache.parent.mkdir()
    cache.write_bytes(data)
    payload = tmp_path / "payload.pkl"
    payload.write_bytes(_alloc_of("spacy.lookups", "Lookups"))  # spaCy's closure reaches urllib3's backports.zstd
    return site, payload, marker


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["unchecked-hash", "timestamp"])
def test_namespace_shim_bytecode_is_live(tmp_path: Path, kind: str) -> None:
    pytest.importorskip("spacy")
    site, payload, marker = _shim_with_bytecode(tmp_path, kind)
    done = _run(site, _REAL.format(p=str(payload)))
    assert marker.exists(), f"payload did not run under pickle.load: {done.stderr[-2000:]}"


@pytest.mark.parametrize("kind", ["unchecked-hash", "timestamp"])  # fixed: source_locate._is_namespace_shim
def test_namespace_shim_bytecode_is_refused(tmp_path: Path, kind: str) -> None:
    pytest.importorskip("spacy")
    site, payload, marker = _shim_with_bytecode(tmp_path, kind)
    done = _run(site, _SAFE.format(p=str(payload)))
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert not marker.exists(), "the payload ran under safeload"
    assert result["loaded"] is False and result["blocking"], result


def test_a_shim_with_its_own_bytecode_still_runs_nothing(tmp_path: Path) -> None:
    """The fix keeps the ordinary case: the shim's ``.pyc`` written by the import itself is its compiled code."""
    import py_compile

    from safeload.catalog.source_locate import namespace_import_runs_code

    init = tmp_path / "site" / "nsp" / "__init__.py"
    init.parent.mkdir(parents=True)
    init.write_text(_SHIM)
    py_compile.compile(str(init), doraise=True)
    assert os.path.exists(importlib.util.cache_from_source(str(init)))
    assert namespace_import_runs_code("nsp.zstd", [str(init.parent.parent)]) is False


# --- R9-4: a package installed after the first scan in the same process ----------------------------------------------
_INSTALL_AFTER_SCAN = """
import json, os, pickle, sys, safeload
site, payload, marker = {site!r}, {payload!r}, {marker!r}
first = [f.rule_id for f in safeload.scan(payload).findings if f.severity >= safeload.Severity.MEDIUM]
os.makedirs(os.path.join(site, "backports"))
with open(os.path.join(site, "backports", "__init__.py"), "w") as handle:
    handle.write("open(%r, 'w').close()\\n" % marker)
os.makedirs(os.path.join(site, "backports-1.0.dist-info"))
with open(os.path.join(site, "backports-1.0.dist-info", "METADATA"), "w") as handle:
    handle.write("Metadata-Version: 2.1\\nName: backports\\nVersion: 1.0\\n")
loaded = True
try:
    if {safe!r}:
        safeload.pickle_load(open(payload, "rb"))
    else:
        pickle.load(open(payload, "rb"))
except safeload.SafeloadError:
    loaded = False
print(json.dumps({{"first": first, "loaded": loaded}}))
"""


def _install_after_scan(tmp_path: Path, *, safe: bool) -> tuple[dict[str, object], Path]:
    site = tmp_path / "lib" / "python3.11" / "site-packages"
    site.mkdir(parents=True)
    payload = tmp_path / "payload.pkl"
    payload.write_bytes(_alloc_of("spacy.lookups", "Lookups"))
    marker = tmp_path / "MARKER"
    done = _run(site, _INSTALL_AFTER_SCAN.format(site=str(site), payload=str(payload), marker=str(marker), safe=safe))
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1]), marker


@pytest.mark.slow
def test_package_installed_after_a_scan_is_live(tmp_path: Path) -> None:
    pytest.importorskip("spacy")
    result, marker = _install_after_scan(tmp_path, safe=False)
    assert result["first"] == [], result  # the file alone is fine while backports is absent
    assert marker.exists(), "payload did not run under pickle.load"


def test_package_installed_after_a_scan_is_refused(tmp_path: Path) -> None:
    pytest.importorskip("spacy")
    result, marker = _install_after_scan(tmp_path, safe=True)
    assert result["first"] == [], result
    assert not marker.exists(), "the payload ran under safeload"
    assert result["loaded"] is False, result


# --- R9-5: an entry_points.txt rewritten in place after a first scan -----------------------------------------------
_REWRITTEN = """
import json, os, pickle, sys, safeload
site, payload = {site!r}, {payload!r}
first = [f.rule_id for f in safeload.scan(payload).findings if f.severity >= safeload.Severity.MEDIUM]
text = os.path.join(site, "rt9plug-1.0.dist-info", "entry_points.txt")
with open(text, "a") as handle:
    handle.write("\\n[torch.backends]\\nrt9 = rt9plug:init\\n")
loaded = True
try:
    if {safe!r}:
        safeload.pickle_load(open(payload, "rb"))
    else:
        pickle.load(open(payload, "rb"))
except safeload.SafeloadError:
    loaded = False
print(json.dumps({{"first": first, "loaded": loaded}}))
"""


def _rewritten(tmp_path: Path, *, safe: bool) -> tuple[dict[str, object], Path]:
    from tests.test_redteam_round2 import _install

    case = _dist("rt9plug-1.0.dist-info", "[console_scripts]\nrt9 = rt9plug:init\n")
    site, payload, marker = _install(tmp_path, case)
    (site / "rt9plug" / "__init__.py").write_text(
        f"def init():\n    open({str(marker)!r}, 'w').close()\n")  # runs only when the entry point is called
    done = _run(site, _REWRITTEN.format(site=str(site), payload=str(payload), safe=safe))
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1]), marker


@pytest.mark.slow
def test_entry_points_rewritten_in_place_is_live(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    result, marker = _rewritten(tmp_path, safe=False)
    assert result["first"] == [], result
    assert marker.exists(), "the plugin did not run under pickle.load"


def test_entry_points_rewritten_in_place_is_refused(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    result, marker = _rewritten(tmp_path, safe=True)
    assert result["first"] == [], result
    assert not marker.exists(), "the plugin ran under safeload"
    assert result["loaded"] is False, result
