"""Plugins a reviewed package's import loads and calls through entry points (red team R8-1).

``import torch`` runs ``_import_device_backends()``, which loads and calls every ``torch.backends`` entry point an
installed distribution declares; ``import networkx`` ends with ``_set_configs_from_environment()``, which loads and
calls every ``networkx.backend_info`` one. The vouch for those imports (``catalog/reviewed.py``) holds only while no
installed distribution declares such an entry point: a declared one is code a file makes run by naming any module
whose import reaches the package.

Invariant: importing a module reaches a package of ``IMPORT_TIME_PLUGINS`` when the package is one of the module's
dotted prefixes (the import system imports parent packages first) or when the reviewed closure table lists
``!<group>`` for one of them (``_gen/closure.py`` records it for the modules whose closure imports the package).
Declared entry points are read from the ``entry_points.txt`` of every distribution importlib.metadata would find
on the path (``*.dist-info``/``*.egg-info`` in directories and zip archives, eggs' ``EGG-INFO``; nothing is
imported); an unreadable or oversized file counts as declaring one. The answer depends on the
installed distributions only, never on what this process already imported, so the scan cache (keyed on the
installed distributions, ``integrity/cache.py``) stays valid. Answers are cached per path while no path
directory, distribution directory or ``entry_points.txt`` read changes (mtime, size).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from safeload._record import FrozenRecord
from safeload.catalog.source_files import LOOKUP, FileStat, checked_in_view, path_stamps, record, recording

__all__ = ["ENTRY_POINT_LOOKUPS_REVIEWED", "IMPORT_TIME_PLUGINS", "Plugin", "declared", "plugins_reached"]

#: owner package -> (the entry-point groups its import loads and calls, where). Reviewed by reading the installed
#: source (digests pinned in ``REVIEWED_FILES``, checked by tests/test_import_time_plugins.py).
IMPORT_TIME_PLUGINS: dict[str, tuple[tuple[str, ...], str]] = {
    "torch": (("torch.backends",),
              "torch/__init__.py calls _import_device_backends() at import: every torch.backends entry point is "
              "loaded and called (unless TORCH_DEVICE_BACKEND_AUTOLOAD=0)"),
    "networkx": (("networkx.backend_info",),
                 "networkx/__init__.py calls utils.backends._set_configs_from_environment() at import: "
                 "_get_backends('networkx.backend_info', load_and_call=True) loads and calls each (the "
                 "networkx.backends group is only listed at import, loaded when a call is dispatched)"),
    # the owner is a submodule: `import dask` imports it (dask.base -> dask.delayed/tokenize -> dask.sizeof), and so
    # does `import pint` whenever dask is installed (pint.compat: `from dask.base import ...`)
    "dask.sizeof": (("dask.sizeof",),
                    "dask/sizeof.py ends with _register_entry_point_plugins(): every dask.sizeof entry point is "
                    "loaded (importlib_metadata.entry_points(group='dask.sizeof'); EntryPoint.load imports its "
                    "module) and called with dask's sizeof dispatcher; no switch turns it off"),
}

#: The files those reviews read: (module, sha256 of its source), for torch 2.13.0, networkx 3.6.1 and dask 2026.8.0.
REVIEWED_FILES: tuple[tuple[str, str], ...] = (
    ("torch", "cf40c075c95864036e835795756d69b8cccfafa76f3bcde5eba9d06065ccd3d1"),
    ("networkx", "39537c0bec78e0b81e25629c6fbeeff96c1f315ec462a89e69f92841d9409791"),
    ("networkx.utils.backends", "2035cd26305639f72a3e6dc09f2e7e91fc14f616531f7dd1d7a82bdef67ac271"),
    ("dask.sizeof", "762135f558ffa0401a839dda6e5386721b5309633e3a90fa4c1774b7bac8d240"),
)

#: Every module of reviewed territory whose import looks entry points up, as the closure generator finds them
#: (``source_imports.import_time_entry_point_lookups``: the top level and the functions it calls; generated into
#: ``generated/closure.ENTRY_POINT_LOOKUPS``), with what a reader of the code found it does. A new one fails
#: tests/test_import_time_plugins.py until reviewed here. The generator does not follow calls into other
#: modules: networkx/__init__.py's call of ``utils.backends._set_configs_from_environment`` was found by reading.
ENTRY_POINT_LOOKUPS_REVIEWED: dict[str, str] = {
    "torch": "owner: _import_device_backends() loads and calls every torch.backends entry point (IMPORT_TIME_PLUGINS)",
    "networkx.utils.backends": "module level: _get_backends('networkx.backends') lists the backends without loading "
                               "them (load_and_call=False); the networkx.backend_info group is loaded and called by "
                               "networkx/__init__.py through _set_configs_from_environment() (IMPORT_TIME_PLUGINS)",
    "dask.sizeof": "owner: _register_entry_point_plugins() loads and calls every dask.sizeof entry point "
                   "(IMPORT_TIME_PLUGINS)",
    "catalogue": "module level: AVAILABLE_ENTRY_POINTS = importlib_metadata.entry_points() lists every entry point "
                 "and loads none; a registry created with entry_points=True loads a group's entry when a name is "
                 "looked up in it (spaCy resolving a config), which no reviewed pickle name does",
}

_MAX_ENTRY_POINTS_BYTES = 1 << 20
_GROUP_OWNER = {group: owner for owner, (groups, _why) in IMPORT_TIME_PLUGINS.items() for group in groups}
_cache: dict[tuple[str, ...], tuple[tuple[tuple[str, int, int], ...], dict[str, tuple[Plugin, ...]]]] = {}
#: stamps -> (working directory, the LOOKUP records they give the scan cache)
_looked: dict[tuple[tuple[str, int, int], ...], tuple[str, tuple[FileStat, ...]]] = {}


class Plugin(FrozenRecord):
    """One declared entry point: ``value`` (``module:attr``) is what the owner's import loads and calls."""

    _FIELDS = ("owner", "group", "name", "value", "distribution")
    __slots__ = ("distribution", "group", "name", "owner", "value")
    owner: str
    group: str
    name: str
    value: str
    distribution: str

    def __init__(self, owner: str, group: str, name: str, value: str, distribution: str) -> None:
        setter = object.__setattr__
        setter(self, "owner", owner)
        setter(self, "group", group)
        setter(self, "name", name)
        setter(self, "value", value)
        setter(self, "distribution", distribution)

    @property
    def target(self) -> str:
        """``module.attr`` of the loaded object (the name trust matches), ``<unreadable ...>`` markers as is."""
        value = self.value.split("[", 1)[0].strip()
        module, _, attr = value.partition(":")
        return f"{module.strip()}.{attr.strip()}" if attr.strip() else module.strip()


def _parse(text: str, groups: frozenset[str], distribution: str) -> list[Plugin]:
    """The entries of ``groups`` in an ``entry_points.txt``, read as importlib.metadata reads it (``Sectioned``):
    stripped lines, ``#`` comments only (a ``;`` line is an entry there), a section only when the line both starts
    with ``[`` and ends with ``]`` (any other line is an entry of the current section). Section names are compared
    stripped, which can only find more (red team R9-2)."""
    found: list[Plugin] = []
    section = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line.strip("[]").strip()
            continue
        if section in groups:
            name, sep, value = line.partition("=")
            if sep:
                found.append(Plugin(_GROUP_OWNER[section], section, name.strip(), value.strip(), distribution))
    return found


def _metadata_texts(entry: str, depends: list[str] | None = None) -> list[tuple[str, bytes | None]]:
    """(distribution, entry_points.txt bytes or None when unreadable) of every distribution importlib.metadata
    finds on one path entry: ``*.dist-info``/``*.egg-info`` directories in a directory or a zip archive, and an
    egg's ``EGG-INFO``."""
    found: list[tuple[str, bytes | None]] = []
    base = entry or os.curdir
    if os.path.isfile(base):
        return _zip_texts(base)
    try:
        names = sorted(os.listdir(base))
    except OSError:
        return found  # absent, or not a directory the import system can read either
    is_egg = os.path.basename(base.rstrip(os.sep)).lower().endswith(".egg")
    for name in names:  # importlib.metadata's Lookup compares lower-cased names (red team R9-3)
        low = name.lower()
        if not low.endswith((".dist-info", ".egg-info")) and not (is_egg and low == "egg-info"):
            continue
        path = os.path.join(base, name, "entry_points.txt")
        if depends is not None:  # rewritten in place (an egg-info regenerated in a project directory): read again
            depends.extend((os.path.join(base, name), path))
        try:
            with open(path, "rb") as handle:
                data: bytes | None = handle.read(_MAX_ENTRY_POINTS_BYTES + 1)
        except FileNotFoundError:
            continue
        except OSError:
            data = None
        found.append((name.rsplit(".", 1)[0] if low != "egg-info" else os.path.basename(base.rstrip(os.sep)), data))
    return found


def _zip_texts(archive: str) -> list[tuple[str, bytes | None]]:
    """The same for a zip archive on the path (an egg or a zipped library): members are read, never imported;
    an archive that cannot be read as a zip holds nothing the import system could use either."""
    import zipfile

    found: list[tuple[str, bytes | None]] = []
    try:
        with zipfile.ZipFile(archive) as zipped:
            for info in zipped.infolist():
                parts = info.filename.split("/")
                if len(parts) != 2 or parts[1] != "entry_points.txt":
                    continue
                low = parts[0].lower()  # as importlib.metadata's Lookup: lower-cased names
                if not (low.endswith((".dist-info", ".egg-info"))
                        or (low == "egg-info" and os.path.basename(archive).lower().endswith(".egg"))):
                    continue
                name = parts[0].rsplit(".", 1)[0] if low != "egg-info" else os.path.basename(archive)
                if info.file_size > _MAX_ENTRY_POINTS_BYTES:
                    found.append((name, None))
                    continue
                found.append((name, zipped.read(info)))
    except zipfile.BadZipFile:
        return []
    except (OSError, RuntimeError, ValueError, NotImplementedError):  # encrypted, damaged, unsupported: may declare
        return [(os.path.basename(archive), None)]
    return found


def _read_all(entries: Sequence[str], depends: list[str] | None = None) -> dict[str, tuple[Plugin, ...]]:
    groups = frozenset(_GROUP_OWNER)
    out: dict[str, list[Plugin]] = {group: [] for group in groups}
    for entry in entries:
        for distribution, data in _metadata_texts(entry, depends):
            if data is None or len(data) > _MAX_ENTRY_POINTS_BYTES:
                for group in groups:  # fails closed: it may declare any group
                    out[group].append(Plugin(_GROUP_OWNER[group], group, "<unreadable entry_points.txt>",
                                             "<unreadable entry_points.txt>", distribution))
                continue
            for plugin in _parse(data.decode("utf-8", "replace"), groups, distribution):
                out[plugin.group].append(plugin)
    return {group: tuple(found) for group, found in out.items()}


def declared(group: str, search_path: Sequence[str] | None = None) -> tuple[Plugin, ...]:
    """The installed entry points of ``group`` (one of ``IMPORT_TIME_PLUGINS``'s groups)."""
    entries = tuple(str(p) for p in (sys.path if search_path is None else search_path))
    hit = _cache.get(entries)
    if hit is None or not (checked_in_view(("plugins.declared", entries))
                           or path_stamps([stamp[0] for stamp in hit[0]]) == hit[0]):
        if len(_cache) > 32:
            _cache.clear()
        before = path_stamps(entries)
        depends: list[str] = []
        found = _read_all(entries, depends)
        # the path directories, and every distribution directory and entry_points.txt read (red team R9-5)
        hit = _cache[entries] = ((*before, *path_stamps(depends)), found)
    if recording():
        # a verdict kept beyond this process (the scan cache) rests on them too: served only while they are
        # unchanged (~1,000 entries: built once per stamps and working directory)
        cwd = os.getcwd()
        looked = _looked.get(hit[0])
        if looked is None or looked[0] != cwd:
            if len(_looked) > 32:
                _looked.clear()
            looked = _looked[hit[0]] = (cwd, tuple((LOOKUP + os.path.abspath(path or os.curdir), mtime, -1, -1, -1)
                                                   for path, mtime, _size in hit[0]))
        record(looked[1])
    return hit[1].get(group, ())


def _may_reach(prefixes: list[str]) -> bool:
    """Whether the generated ``plugin_reach`` table says a closure through these prefixes may reach an owner (a
    small module: the full closure table is read only when a plugin is declared)."""
    try:
        __import__("safeload.catalog.generated.plugin_reach")
        reach = sys.modules["safeload.catalog.generated.plugin_reach"]
    except ImportError:  # pragma: no cover - before the first generation: every module may
        return True
    whole: frozenset[str] = reach.PACKAGES
    few: frozenset[str] = reach.MODULES
    # every prefix: an owner may be a submodule (``dask.sizeof``), listed whole as its own package
    return any(prefix in whole or prefix in few for prefix in prefixes)


def plugins_reached(module: str, search_path: Sequence[str] | None = None,
                    memo: dict[str, tuple[Plugin, ...]] | None = None) -> tuple[Plugin, ...]:
    """The declared entry points importing ``module`` loads and calls: through a dotted prefix that is an owner,
    or through the reviewed closure table's ``!<group>`` names for the module or a prefix. The standard library
    imports no third-party package, and a module the generated ``plugin_reach`` table does not list reaches no
    owner; for the rest the installed entry points are read first and the closure table only when one is
    declared (a first load pays neither unless it names such a module)."""
    parts = module.split(".")
    prefixes = [".".join(parts[:depth]) for depth in range(1, len(parts) + 1)]
    if parts[0] in sys.stdlib_module_names or not _may_reach(prefixes):
        return ()
    if memo is None:
        memo = {}
    for group in sorted(_GROUP_OWNER):
        if group not in memo:  # ``memo``: one decision's reads (re-checking every file per name costs ~1.5 ms)
            memo[group] = declared(group, search_path)
    every = [p for group in sorted(_GROUP_OWNER) for p in memo[group]]
    if not every:
        return ()
    groups: set[str] = set()
    for prefix in prefixes:
        if prefix in IMPORT_TIME_PLUGINS:
            groups.update(IMPORT_TIME_PLUGINS[prefix][0])
    from safeload.catalog.closure import groups_reached

    for prefix in prefixes:
        groups.update(groups_reached(prefix))
    return tuple(p for p in every if p.group in groups)
