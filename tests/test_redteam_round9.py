"""Red team round 9: the session-3 changes attacked with the source in hand (namespace-package presence in the
reviewed import closure, and entry-point plugins loaded at import, SL119).

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
import zipfile
from pathlib import Path

import pytest

from tests.test_redteam_round2 import LibCase, _live, _refused

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
