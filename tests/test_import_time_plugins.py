"""Entry-point plugins a reviewed package's import loads and calls (red team R8-1, ``catalog/plugins.py``, SL119).

The payload side is tests/test_redteam_round8.py (a distribution declaring ``torch.backends`` and
``networkx.backend_info`` entry points runs under ``pickle.load`` of ``torch.float32`` / a networkx graph, and is
refused by safeload). Here: the review's premises (the installed sources still load exactly those groups), how
declared entry points are read (nothing imported; unreadable metadata fails closed), which modules reach an owner
(dotted prefixes and the closure table's ``!<group>`` names), the finding and its trust, and a long-tail module
whose import reaches torch.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from safeload.catalog import plugins
from safeload.catalog.plugins import IMPORT_TIME_PLUGINS, REVIEWED_FILES, declared, plugins_reached

ROOT = Path(__file__).resolve().parents[1]


def _site(root: Path, files: dict[str, str]) -> str:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return str(root)


_DIST = {"plug-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: plug\nVersion: 1.0\n",
         "plug-1.0.dist-info/entry_points.txt": """
             # a comment
             [console_scripts]
             plug = plug:main

             [torch.backends]
             npu = plug.device:autoload [extra]
             ; another comment
             [networkx.backend_info]
             fast = plug:info
         """}


def test_the_review_premises_hold_for_the_installed_versions() -> None:
    """The reviewed files are installed with the text read (a new torch or networkx must be re-reviewed: it may
    load other groups), and the calls the review names are in them."""
    from safeload.catalog.source_locate import locate_module
    from safeload.catalog.source_reviews import module_digest

    for module, digest in REVIEWED_FILES:
        assert module_digest(module) == digest, f"{module} changed: review catalog/plugins.py again"
    torch_init = locate_module("torch").path
    networkx_init = locate_module("networkx").path
    backends = locate_module("networkx.utils.backends").path
    assert torch_init and networkx_init and backends

    def top_level_calls(path: str) -> set[str]:
        tree = ast.parse(Path(path).read_text())
        return {ast.unparse(node.value.func) for node in tree.body
                if isinstance(node, ast.Expr | ast.Assign) and isinstance(node.value, ast.Call)}

    torch_tree = ast.parse(Path(torch_init).read_text())
    assert any(isinstance(node, ast.If) and "_import_device_backends()" in ast.unparse(node)
               for node in torch_tree.body), "torch no longer loads its device plugins at top level"
    assert "utils.backends._set_configs_from_environment" in top_level_calls(networkx_init)
    assert "_get_backends('networkx.backend_info', load_and_call=True)" in ast.unparse(ast.parse(
        Path(backends).read_text()))
    sizeof = locate_module("dask.sizeof").path
    assert sizeof and "_register_entry_point_plugins" in top_level_calls(sizeof)
    assert 'importlib_metadata.entry_points(group="dask.sizeof")' in Path(sizeof).read_text()
    assert set(IMPORT_TIME_PLUGINS) == {"torch", "networkx", "dask.sizeof"}


def test_no_such_plugin_is_installed_here() -> None:
    """The premise of the false-positive corpus: this environment declares none of the groups."""
    for groups, _why in IMPORT_TIME_PLUGINS.values():
        for group in groups:
            assert declared(group) == (), group


def test_declared_entry_points_are_read_from_metadata_only(tmp_path: Path) -> None:
    site = _site(tmp_path / "site", {**_DIST, "plug/__init__.py": "raise SystemExit('imported')\n"})
    torch_plugins = declared("torch.backends", [site])
    assert [(p.name, p.value, p.distribution, p.owner, p.target) for p in torch_plugins] == [
        ("npu", "plug.device:autoload [extra]", "plug-1.0", "torch", "plug.device.autoload")]
    assert [p.target for p in declared("networkx.backend_info", [site])] == ["plug.info"]
    assert declared("torch.backends", [str(tmp_path / "nothing")]) == ()
    assert "plug" not in sys.modules


def test_installing_a_plugin_is_seen_by_the_same_process(tmp_path: Path) -> None:
    """Cached per path only while no path directory changes: a distribution installed later is read."""
    root = tmp_path / "site"
    root.mkdir()
    assert declared("torch.backends", [str(root)]) == ()
    _site(root, _DIST)
    os.utime(root, ns=(1, os.stat(root).st_mtime_ns + 10**9))  # what creating the .dist-info does to the mtime
    assert len(declared("torch.backends", [str(root)])) == 1


@pytest.mark.parametrize("how", ["directory", "oversized"])
def test_unreadable_metadata_counts_as_declaring(tmp_path: Path, how: str) -> None:
    root = tmp_path / "site"
    dist = root / "odd-1.0.dist-info"
    dist.mkdir(parents=True)
    if how == "directory":
        (dist / "entry_points.txt").mkdir()  # open() fails with IsADirectoryError
    else:
        (dist / "entry_points.txt").write_text("[console_scripts]\n" + "x = y:z\n" * 200_000)
    for group in ("torch.backends", "networkx.backend_info"):
        found = declared(group, [str(root)])
        assert [p.name for p in found] == ["<unreadable entry_points.txt>"], (how, group)


def test_which_modules_reach_an_owner(tmp_path: Path) -> None:
    site = _site(tmp_path / "site", _DIST)
    path = [site, *sys.path]
    assert {p.group for p in plugins_reached("torch.nn.modules.linear", path)} == {"torch.backends"}
    assert {p.group for p in plugins_reached("torch", path)} == {"torch.backends"}
    # transformers is a vouched package: the closure table says its modeling modules import torch
    assert {p.group for p in plugins_reached("transformers.models.bert.modeling_bert", path)} == {"torch.backends"}
    assert {p.group for p in plugins_reached("networkx.classes.graph", path)} == {"networkx.backend_info"}
    assert plugins_reached("collections", path) == ()
    assert plugins_reached("numpy.core.multiarray", path) == ()
    assert plugins_reached("torch.nn.modules.linear") == ()  # nothing declared without the site


def test_the_closure_table_records_the_groups() -> None:
    from safeload.catalog.closure import closure_covered, groups_reached

    assert groups_reached("torch") == ("torch.backends",)
    assert groups_reached("pandas.core.frame") == ()
    assert closure_covered("torch.nn.modules.linear")[0]  # nothing declared here: covered as before


def _run(site: str, code: str, tmp_path: Path) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SAFELOAD_", "PYTEST_"))}
    env["PYTHONPATH"] = os.pathsep.join([site, str(ROOT)])
    env["SAFELOAD_CACHE"] = "0"
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


_PLUGIN = {"rt8p/__init__.py": "def init():\n    open(MARKER, 'w').close()\n",
           "rt8p-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: rt8p\nVersion: 1.0\n",
           "rt8p-1.0.dist-info/entry_points.txt": "[torch.backends]\nrt8 = rt8p:init\n",
           "rt8lt/__init__.py": "import torch\n\n\nclass Holder:\n    pass\n"}

_LOAD = """
import json, pickle, safeload
data = {data!r}
try:
    safeload.pickle_loads(data, trusted={trusted!r})
    loaded = True
except safeload.SafeloadError as exc:
    loaded = False
    findings = [(f.rule_id, f.subject) for f in getattr(exc, "findings", [])]
else:
    findings = []
print(json.dumps({{"loaded": loaded, "findings": findings}}))
"""


def _plugin_site(tmp_path: Path) -> tuple[str, Path]:
    marker = tmp_path / "MARKER"
    files = {rel: text.replace("MARKER", repr(str(marker))) for rel, text in _PLUGIN.items()}
    return _site(tmp_path / "site", files), marker


def test_a_catalogue_name_reaching_torch_is_refused_naming_the_plugin(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    site, marker = _plugin_site(tmp_path)
    result = _run(site, _LOAD.format(data=b"\x80\x02ctorch\nfloat32\n.", trusted=[]), tmp_path)
    assert not marker.exists(), "the plugin ran under safeload"
    assert result["loaded"] is False
    assert ["SL119", "rt8p.init"] in result["findings"], result


def test_trusting_the_plugin_lets_the_name_load(tmp_path: Path) -> None:
    """Trust names the reviewed plugin (its module.attr): the name is then decided as without the plugin (a
    catalogue name: loaded), and the plugin runs because the user vouched for it."""
    pytest.importorskip("torch")
    site, marker = _plugin_site(tmp_path)
    result = _run(site, _LOAD.format(data=b"\x80\x02ctorch\nfloat32\n.", trusted=["rt8p.*"]), tmp_path)
    assert result["loaded"] is True, result
    assert marker.exists()


def test_a_long_tail_module_importing_torch_is_refused(tmp_path: Path) -> None:
    """A package outside the catalogue whose top level imports torch: its analysis follows the import to torch,
    whose vouched top level is not inert while a plugin is declared (SL104 naming the plugin)."""
    pytest.importorskip("torch")
    site, marker = _plugin_site(tmp_path)
    data = (b"\x80\x02ccopyreg\n_reconstructor\ncrt8lt\nHolder\ncbuiltins\nobject\nN\x87R.")
    result = _run(site, _LOAD.format(data=data, trusted=[]), tmp_path)
    assert not marker.exists(), "the plugin ran under safeload"
    assert result["loaded"] is False
    assert any(rule == "SL104" for rule, _subject in result["findings"]), result  # type: ignore[union-attr]


def test_plugin_reader_state_is_bounded() -> None:
    """The per-path cache is cleared beyond 32 paths (a service with many search paths stays bounded)."""
    for index in range(40):
        declared("torch.backends", [f"/nonexistent/{index}"])
    assert len(plugins._cache) <= 33


@pytest.mark.slow
def test_catalogued_packages_outside_the_closure_table_reach_no_owner() -> None:
    """SL119 sees a catalogue name's reach through its dotted prefixes and the closure table. The catalogue's
    other third-party packages (not in the table) are checked here with the generator's walk: no catalogued
    module of theirs imports torch or networkx (polars.ml.torch does, and no entry names it)."""
    from safeload.catalog import entries
    from safeload.catalog._gen.closure import THIRD_PARTY_REVIEWED, compute
    from safeload.catalog.generated import closure as table
    from safeload.catalog.reviewed import IMPORT_REVIEWED

    reviewed = entries._reviewed()
    tops = (set(entries._SHARD_OF_PACKAGE) | {n.split(".", 1)[0] for n in reviewed}) - set(table.PACKAGES)
    third_party = sorted(t for t in tops if t not in sys.stdlib_module_names and t not in {"builtins", "_codecs",
                                                                                          "_io", "_random"})
    assert "polars" in third_party and "torch" not in third_party
    closure = compute(third_party, set(THIRD_PARTY_REVIEWED) | set(IMPORT_REVIEWED))
    reaching = {m for m, outs in closure.leaves.items() if any(o.lstrip("?").split(":")[-1].startswith("!")
                                                                for o in outs)}
    assert reaching == {"polars.ml.torch"}, reaching
    assert not any(name.startswith("polars.ml") for name in reviewed)


def test_every_entry_point_lookup_at_import_is_reviewed() -> None:
    """The closure generator lists the modules of reviewed territory whose import looks entry points up; each has
    a review in ENTRY_POINT_LOOKUPS_REVIEWED (a new lookup after an upgrade fails here until read)."""
    from safeload.catalog.generated import closure as table
    from safeload.catalog.plugins import ENTRY_POINT_LOOKUPS_REVIEWED

    assert set(table.ENTRY_POINT_LOOKUPS) == set(ENTRY_POINT_LOOKUPS_REVIEWED)
    for owner in IMPORT_TIME_PLUGINS:
        assert any(m == owner or m.startswith(owner + ".") for m in ENTRY_POINT_LOOKUPS_REVIEWED), owner


def test_the_detector_finds_lookups_in_code_the_import_runs() -> None:
    from safeload.catalog.source_imports import import_time_entry_point_lookups

    source = textwrap.dedent("""
        from importlib.metadata import entry_points
        import pkg_resources

        def helper(group):
            return entry_points(group=group)

        def later():
            return entry_points(group="never.at.import")

        def setup():
            helper("x")
            for ep in pkg_resources.iter_entry_points("legacy.group"):
                ep.load()

        setup()
        eps = entry_points().select(group="direct.group")
        if __name__ == "__main__":
            entry_points(group="main.only")
    """)
    found = import_time_entry_point_lookups(ast.parse(source))
    assert [group for _line, group in found] == [None, "legacy.group", None, "direct.group"]


def test_the_small_reach_table_agrees_with_the_closure_table() -> None:
    """generated/plugin_reach.py is derived from the closure table's ``!<group>`` names (both written by the
    generator in one run): re-deriving it here gives the same text."""
    from safeload.catalog._gen.closure import Closure, render_plugin_reach
    from safeload.catalog.generated import closure as table

    closure = Closure(tuple(sorted(table.PACKAGES)), frozenset())
    closure.leaves = {m: tuple(table.OUTSIDE[i] for i in table.REACHES[idx]) for m, idx in table.LEAVES.items()}
    closure.versions = {"": dict(table.CHECKED_AGAINST)}
    written = (Path(plugins.__file__).parent / "generated" / "plugin_reach.py").read_text()
    assert render_plugin_reach(closure) == written


@pytest.mark.parametrize(("label", "build"), [
    ("stdlib", "import collections; data = pickle.dumps(collections.OrderedDict(a=1))"),
    ("numpy", "import numpy; data = pickle.dumps(numpy.arange(3))"),
    ("sklearn", "from sklearn.linear_model import LinearRegression; data = pickle.dumps(LinearRegression())"),
])
def test_a_first_load_that_reaches_no_owner_reads_no_metadata(label: str, build: str) -> None:
    """The check costs a first load nothing unless it names a module the small table lists: neither the full
    closure table is loaded nor any entry_points.txt read (issue 15's fixed cost)."""
    code = (f"import pickle, sys\n{build}\nimport safeload\nimport safeload.catalog.plugins as p\n"
            "safeload.pickle_loads(data)\n"
            "print('safeload.catalog.generated.closure' in sys.modules, bool(p._cache))\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SAFELOAD_", "PYTEST_"))}
    env["SAFELOAD_CACHE"] = "0"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300,
                          check=True)
    assert done.stdout.split() == ["False", "False"], (label, done.stdout, done.stderr[-2000:])


def test_a_torch_name_reads_the_metadata_once(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    code = ("import safeload, sys\nimport safeload.catalog.plugins as p\n"
            "safeload.pickle_loads(b'\\x80\\x02ctorch\\nfloat32\\n.')\n"
            "print(len(p._cache), 'safeload.catalog.generated.closure' in sys.modules)\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SAFELOAD_", "PYTEST_"))}
    env["SAFELOAD_CACHE"] = "0"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300,
                          check=True, cwd=tmp_path)
    # read once; no plugin declared here, so the full closure table was not needed for this check
    assert done.stdout.split() == ["1", "False"], done.stdout + done.stderr[-2000:]


def test_eggs_and_zip_archives_on_the_path_are_read_like_importlib_metadata(tmp_path: Path) -> None:
    """importlib.metadata also finds distributions in an egg directory (EGG-INFO) and inside zip archives on the
    path: so does the reader (checked against importlib.metadata itself)."""
    import zipfile
    from importlib.metadata import distributions

    egg = tmp_path / "plug.egg"
    _site(egg, {"EGG-INFO/PKG-INFO": "Metadata-Version: 1.1\nName: plug\nVersion: 1.0\n",
                "EGG-INFO/entry_points.txt": "[torch.backends]\negg = plug:init\n"})
    archive = tmp_path / "lib.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("zplug-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: zplug\nVersion: 1.0\n")
        zipped.writestr("zplug-1.0.dist-info/entry_points.txt", "[torch.backends]\nzip = zplug:init\n")
    path = [str(egg), str(archive)]
    real = sorted(ep.name for d in distributions(path=path) for ep in d.entry_points.select(group="torch.backends"))
    assert real == ["egg", "zip"]
    assert sorted(p.name for p in declared("torch.backends", path)) == real
    (tmp_path / "broken.zip").write_bytes(b"PK\x03\x04" + b"\x00" * 64)  # not a readable archive: nothing in it
    assert declared("networkx.backend_info", [str(tmp_path / "broken.zip")]) == ()


_SHADOW_TWIN = """
import json, pickle
try:
    pickle.loads({data!r})
except Exception:  # noqa: BLE001 - the shadow breaks torch's import after it ran
    pass
print(json.dumps({{}}))
"""


def test_a_shadowing_file_is_still_found_while_a_plugin_is_declared(tmp_path: Path) -> None:
    """The shadow check (SL117) reads a vouched package's static closure from the reviewed table even when one of
    its owners declares a plugin (reading torch's whole closure instead took minutes); a module in the working
    directory that torch's import names is still found, with the plugin trusted so SL119 does not stand in."""
    pytest.importorskip("torch")
    site, plugin_marker = _plugin_site(tmp_path)
    shadow_marker = tmp_path / "SHADOW"
    (tmp_path / "typing_extensions.py").write_text(f"open({str(shadow_marker)!r}, 'w').close()\n")
    data = b"\x80\x02ctorch\nfloat32\n."
    result = _run(site, _LOAD.format(data=data, trusted=["rt8p.*"]), tmp_path)
    assert not shadow_marker.exists(), "the shadowing module ran under safeload"
    assert not plugin_marker.exists(), "torch was imported under safeload"
    assert result["loaded"] is False
    assert any(rule == "SL117" for rule, _subject in result["findings"]), result  # type: ignore[union-attr]
    _run(site, _SHADOW_TWIN.format(data=data), tmp_path)  # live twin: plain pickle imports torch, which imports it
    assert shadow_marker.exists()
