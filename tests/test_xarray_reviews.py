"""xarray 2026.9.0 under review: pickled ``DataArray``/``Dataset`` objects scan clean and load through
``safeload.pickle_load`` (issue 14), and what the review admits is attacked.

What it took:

- ``import xarray`` reviewed as a package import (``reviewed.IMPORT_REVIEWS``; the modules it does not load in
  ``IMPORT_NOT_COVERED``), measured below with an audit hook;
- the import-time harvest (``source_imports.called_function_imports``) no longer counts imports under ``if
  TYPE_CHECKING:`` nor those of nested functions a factory only hands back (``_create_method``, ``_plot1d``);
- the ``AttrAccessMixin`` and ``IncludeNumpySameMethods`` class-creation hooks reviewed (hash-bound; the first only
  for fully slotted classes);
- ``DataArray``, ``Dataset``, ``Variable``, ``IndexVariable`` as reviewed entries whose BUILD is admitted only under
  the ``slot_state`` contract (listed member slots, ``_close`` only None, no ``_cache``).

Every attack carries a harmless marker payload and asserts that it did not run; the live twins show the same bytes
run it under plain ``pickle`` when the object is used as usual.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import inspect
import json
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import safeload
from safeload.catalog.reviewed import IMPORT_NOT_COVERED, XARRAY_REVIEWED_FILES, XARRAY_SLOTS
from safeload.catalog.source_imports import called_function_imports
from safeload.catalog.source_reviews import def_digest
from safeload.catalog.source_tables import SUBCLASS_HOOK_DIGESTS, SUBCLASS_HOOK_FILES
from safeload.catalog.state_contracts import refusal
from safeload.severity import Severity

xr = pytest.importorskip("xarray")
np = pytest.importorskip("numpy")
pd = pytest.importorskip("pandas")

from xarray.core.variable import Variable  # noqa: E402


def _arrays() -> tuple[Any, Any]:
    da = xr.DataArray(np.arange(6.0).reshape(3, 2), dims=("time", "feature"),
                      coords={"time": pd.date_range("2020", periods=3), "feature": ["a", "b"]}, attrs={"units": "m"})
    return da, xr.Dataset({"v": da, "w": ("time", np.arange(3))})


def _touch(marker: Path) -> Any:
    """A callable that creates the marker when called (a partial of exec: what an attacker stores)."""
    return functools.partial(exec, f"open({str(marker)!r}, 'w').close()")


def _made(cls: type, state: Any) -> bytes:
    """NEWOBJ of ``cls`` then BUILD ``state`` (pickled in line): the shape pickle writes for a slotted class."""
    inner = pickle.dumps(state, protocol=2)
    assert inner.startswith(b"\x80\x02") and inner.endswith(b".")
    return b"\x80\x02c" + f"{cls.__module__}\n{cls.__qualname__}\n".encode() + b")\x81" + inner[2:-1] + b"b."


def _refused(data: bytes, tmp_path: Path, subject: str | None = None) -> safeload.ScanResult:
    path = tmp_path / "attack.pkl"
    path.write_bytes(data)
    result = safeload.scan(path)
    assert not result.is_safe(), result.summary()
    if subject is not None:
        assert any(f.subject == subject and f.severity >= Severity.MEDIUM for f in result.findings), result.summary()
    with pytest.raises(safeload.UnsafeModelError):
        safeload.pickle_loads(data)
    return result


# --- the real files ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_dataarray_and_dataset_scan_clean_and_load_like_the_originals(tmp_path: Path, protocol: int) -> None:
    for obj in _arrays():
        path = tmp_path / "x.pkl"
        path.write_bytes(pickle.dumps(obj, protocol=protocol))
        result = safeload.scan(path)
        assert result.is_safe(), result.summary()
        with path.open("rb") as handle:
            loaded = safeload.pickle_load(handle)
        assert loaded.identical(obj)
        assert loaded.to_dict() == obj.to_dict()


# --- the review's facts, recomputed -------------------------------------------------------------------------------
def test_the_reviewed_xarray_texts_and_facts_match_the_installed_ones() -> None:
    for module, digest in XARRAY_REVIEWED_FILES:
        text = Path(sys.modules[module].__file__ or "").read_bytes()
        assert hashlib.sha256(text).hexdigest() == digest, module
    for owner, digest in SUBCLASS_HOOK_DIGESTS.items():
        if owner.startswith("xarray."):
            module, name = owner.rsplit(".", 1)
            tree = ast.parse(Path(sys.modules[module].__file__ or "").read_text())
            hooks = [f for c in tree.body if isinstance(c, ast.ClassDef) and c.name == name for f in c.body
                     if isinstance(f, ast.FunctionDef) and f.name == "__init_subclass__"]
            assert [def_digest(h) for h in hooks] == [digest], owner
            assert hashlib.sha256(Path(sys.modules[module].__file__ or "").read_bytes()).hexdigest() == \
                SUBCLASS_HOOK_FILES[owner]
    reviewed_modules = {m for m, _ in XARRAY_REVIEWED_FILES}
    for dotted, slots in XARRAY_SLOTS.items():
        module, name = dotted.rsplit(".", 1)
        cls = getattr(sys.modules[module], name)
        assert {c.__module__ for c in cls.__mro__ if c.__module__.startswith("xarray.")} <= reviewed_modules
        for dunder in ("__new__", "__setstate__", "__getattribute__", "__del__", "__call__", "__reduce__",
                       "__reduce_ex__", "__getstate__"):
            owner = next((c for c in cls.__mro__ if dunder in vars(c)), None)
            assert owner in (None, object), (dotted, dunder, owner)
        assert not hasattr(object.__new__(cls), "__dict__")
        for slot in slots:
            if not slot.startswith("none:"):
                assert type(inspect.getattr_static(cls, slot)).__name__ == "member_descriptor", (dotted, slot)
        getattr_owner = next((c for c in cls.__mro__ if "__getattr__" in vars(c)), None)
        assert getattr_owner in (None, xr.core.common.AttrAccessMixin)


def test_the_not_covered_list_is_what_import_xarray_does_not_load() -> None:
    code = ("import sys, pkgutil, xarray\n"
            "loaded = {m for m in sys.modules if m.startswith('xarray')}\n"
            "out = []\n"
            "def walk(path, prefix):\n"
            "    for mi in pkgutil.iter_modules(path, prefix):\n"
            "        if mi.name not in loaded:\n"
            "            out.append(mi.name)\n"
            "        elif mi.ispkg:\n"
            "            walk([p + '/' + mi.name.rsplit('.', 1)[1] for p in path], mi.name + '.')\n"
            "walk(xarray.__path__, 'xarray.')\n"
            "print(' '.join(sorted(out)))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert set(done.stdout.split()) == set(IMPORT_NOT_COVERED["xarray"])


def test_import_xarray_writes_nothing_starts_nothing_and_loads_no_entry_point() -> None:
    code = textwrap.dedent("""
        import sys, json, numpy, pandas, importlib.metadata as im
        seen = []
        def hook(event, args):
            if event == "open" and len(args) > 1 and args[1] not in ("r", "rb", None):
                seen.append([event, str(args[0])])
            elif event.startswith(("subprocess", "socket", "os.system", "os.exec", "os.posix_spawn", "os.fork",
                                   "ctypes.dlopen", "os.remove", "os.rename", "os.mkdir", "shutil")):
                seen.append([event, str(args)[:200]])
        sys.addaudithook(hook)
        real = im.entry_points
        im.entry_points = lambda *a, **k: seen.append(["entry_points", repr(k)]) or real(*a, **k)
        import xarray
        print(json.dumps(seen))
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


# --- attacks: the admitted names ------------------------------------------------------------------------------------
def test_a_callable_close_runs_under_pickle_and_is_refused(tmp_path: Path) -> None:
    da, _ = _arrays()
    marker = tmp_path / "close-ran"
    object.__setattr__(da, "_close", _touch(marker))
    data = pickle.dumps(da, protocol=4)
    pickle.loads(data).close()  # live twin: ordinary use calls it
    assert marker.exists()
    marker.unlink()
    _refused(data, tmp_path, "xarray.core.dataarray.DataArray")
    assert not marker.exists()


class _Probe:
    """A registered accessor (as rioxarray/pint-xarray register theirs): xarray caches it in ``_cache``."""

    def __init__(self, obj: Any) -> None:
        self.obj = obj

    def __call__(self) -> None:
        return None


def test_an_accessor_cache_entry_runs_under_pickle_and_is_refused(tmp_path: Path) -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        xr.register_dataarray_accessor("safeload_probe")(_Probe)
        xr.register_dataset_accessor("safeload_probe")(_Probe)
    da, ds = _arrays()
    marker = tmp_path / "cache-ran"
    for obj, subject in ((da, "xarray.core.dataarray.DataArray"), (ds, "xarray.core.dataset.Dataset")):
        object.__setattr__(obj, "_cache", {"safeload_probe": _touch(marker)})
        data = pickle.dumps(obj, protocol=4)
        pickle.loads(data).safeload_probe()  # live twin: the accessor is served from the file's cache and called
        assert marker.exists()
        marker.unlink()
        _refused(data, tmp_path, subject)
        assert not marker.exists()


def test_a_plain_cache_is_refused_too(tmp_path: Path) -> None:
    da, _ = _arrays()
    object.__setattr__(da, "_cache", {})
    _refused(pickle.dumps(da, protocol=4), tmp_path, "xarray.core.dataarray.DataArray")


def test_attrs_and_encoding_holding_callables_are_refused(tmp_path: Path) -> None:
    da, ds = _arrays()
    marker = tmp_path / "attrs-ran"
    ds.attrs["hook"] = _touch(marker)
    da.variable.encoding["hook"] = _touch(marker)
    for obj in (ds, da):
        _refused(pickle.dumps(obj, protocol=4), tmp_path)
        assert not marker.exists()


@pytest.mark.parametrize("key", ["data", "values", "attrs", "__class__", "__setstate__", "to_dict", "__weakref__"])
def test_slot_state_outside_the_member_slots_is_refused(tmp_path: Path, key: str) -> None:
    """``data``/``values``/``attrs`` are properties with setters (``as_compatible_data`` converts the value), a
    method name would be shadowed, ``__class__`` retypes the object."""
    state = {"_dims": ("x",), "_data": np.arange(2), "_attrs": None, "_encoding": None, key: np.arange(2)}
    data = _made(Variable, (None, state))
    result = _refused(data, tmp_path, "xarray.core.variable.Variable")
    assert any("slot_state" in f.message for f in result.findings), result.summary()


def test_a_dict_part_or_another_state_shape_is_refused(tmp_path: Path) -> None:
    good = {"_dims": ("x",), "_data": np.arange(2), "_attrs": None, "_encoding": None}
    for state in (({"_dims": ("x",)}, good), good, (None, good, None), (None, [("_dims", ("x",))])):
        _refused(_made(Variable, state), tmp_path, "xarray.core.variable.Variable")
    assert pickle.loads(_made(Variable, (None, good))).shape == (2,)
    result = safeload.scan(_made(Variable, (None, good)))
    assert result.is_safe(), result.summary()


def test_a_second_build_that_shadows_setstate_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "setstate-ran"
    good = {"_dims": ("x",), "_data": np.arange(2), "_attrs": None, "_encoding": None}
    first = _made(Variable, (None, good))
    assert first.endswith(b"b.")
    evil = pickle.dumps((None, {"__setstate__": _touch(marker)}), protocol=2)[2:-1]
    _refused(first[:-1] + evil + b"b.", tmp_path, "xarray.core.variable.Variable")
    assert not marker.exists()


def test_calling_the_classes_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "call-ran"
    for cls in (xr.DataArray, xr.Dataset, Variable):
        data = pickle.dumps(_CallWith(cls, (_touch(marker),)), protocol=4)
        _refused(data, tmp_path)
    assert not marker.exists()


class _CallWith:
    def __init__(self, fn: Any, args: tuple[Any, ...]) -> None:
        self.fn, self.args = fn, args

    def __reduce__(self) -> tuple[Any, ...]:
        return (self.fn, self.args)


def test_variable_data_of_a_backend_file_manager_is_refused(tmp_path: Path) -> None:
    """A lazily opened file (``CachingFileManager`` holds an opener called on access) as a Variable's data."""
    from xarray.backends.file_manager import CachingFileManager

    marker = tmp_path / "opener-ran"
    manager = CachingFileManager(_touch(marker), mode="r")
    good = {"_dims": ("x",), "_data": manager, "_attrs": None, "_encoding": None}
    _refused(_made(Variable, (None, good)), tmp_path)
    assert not marker.exists()


def test_the_contract_reads_only_the_state() -> None:
    slots = XARRAY_SLOTS["xarray.core.dataarray.DataArray"]
    assert refusal("slot_state", slots, (None, {"_name": "x", "_close": None})) is None
    assert refusal("slot_state", slots, (None, {"_close": "not none"})) is not None
    assert refusal("slot_state", slots, (None, {1: 2})) is not None
    assert refusal("slot_state", slots, ({}, {"_name": None})) is None


# --- the hook and harvest rules -------------------------------------------------------------------------------------
def _analyse_in(tmp_path: Path, source: str, qualname: str) -> Any:
    from safeload.catalog.source_analysis import analyse
    from safeload.catalog.uses import Use

    package = tmp_path / "site" / "xrsub"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(textwrap.dedent(source))
    return analyse("xrsub", qualname, Use.NEW | Use.BUILD, search_path=[str(tmp_path / "site"), *sys.path])


def test_an_unslotted_subclass_of_attr_access_mixin_is_not_taken_for_its_source(tmp_path: Path) -> None:
    """Outside xarray, the hook replaces ``__setattr__`` on a subclass with a ``__dict__``: not covered."""
    a = _analyse_in(tmp_path, """
        from xarray.core.common import AttrAccessMixin
        class Loose(AttrAccessMixin):
            pass
    """, "Loose")
    from safeload.catalog.uses import Use

    verdict = a.verdict(Use.NEW)
    assert not verdict.inert
    assert "__init_subclass__" in verdict.reason or "__setattr__" in verdict.reason, verdict.reason


def test_called_function_imports_skip_type_checking_and_handed_back_defs_only() -> None:
    def harvested(source: str) -> set[str]:
        out: set[str] = set()
        for stmt in called_function_imports(ast.parse(textwrap.dedent(source))):
            if isinstance(stmt, ast.Import):
                out.update(a.name for a in stmt.names)
            elif isinstance(stmt, ast.ImportFrom) and stmt.module:
                out.add(stmt.module)
        return out

    assert harvested("""
        from typing import TYPE_CHECKING
        def make(name):
            def f(self):
                import handed_back
            f.__name__ = name
            del f.__wrapped__
            return f
        def typed():
            if TYPE_CHECKING:
                import typing_only
            else:
                import runtime_only
        x = make("x")
        typed()
    """) == {"runtime_only"}
    assert harvested("""
        def make():
            def f():
                import called_inside
            f()
            return f
        make()
    """) == {"called_inside"}
    assert harvested("""
        def make():
            def f():
                import passed_on
            return property(f)
        make()
    """) == {"passed_on"}
    assert harvested("""
        TYPE_CHECKING = True
        def typed():
            if TYPE_CHECKING:
                import rebound
        typed()
    """) == {"rebound"}


def test_registering_an_accessor_from_a_file_is_refused(tmp_path: Path) -> None:
    """``register_dataarray_accessor(name)`` returns a decorator that sets a class attribute on DataArray: calling
    that from a file would replace a method (``to_dict``) for the whole process."""
    data = (b"\x80\x02cxarray.core.extensions\nregister_dataarray_accessor\n" + pickle.dumps(("to_dict",), protocol=2)[2:-1]
            + b"Rcbuiltins\ndict\n\x85R.")
    _refused(data, tmp_path, "xarray.core.extensions.register_dataarray_accessor")
    assert "to_dict" in vars(xr.DataArray) and callable(vars(xr.DataArray)["to_dict"])
    assert type(vars(xr.DataArray)["to_dict"]).__name__ == "function"


@pytest.mark.parametrize(("module", "name", "args"), [
    ("xarray.backends.api", "open_dataset", ("/etc/hostname",)),
    ("xarray.backends.plugins", "list_engines", ()),
    ("xarray.namedarray.parallelcompat", "list_chunkmanagers", ()),
    ("xarray.util.print_versions", "show_versions", ()),
    ("xarray.backends.file_manager", "CachingFileManager", ("x",)),
    ("xarray.backends.locks", "SerializableLock", ()),
])
def test_xarray_functions_that_read_entry_points_files_or_locks_stay_refused(tmp_path: Path, module: str, name: str,
                                                                             args: tuple[Any, ...]) -> None:
    """The import vouch covers the import only: entry points (backends, chunk managers) load when these run."""
    data = b"\x80\x02c" + f"{module}\n{name}\n".encode() + pickle.dumps(args, protocol=2)[2:-1] + b"R."
    _refused(data, tmp_path, f"{module}.{name}")


def test_a_handed_back_def_counts_when_the_module_runs_what_the_factory_returns() -> None:
    """Decorator factories (``@make()``), ``make()()``, a result stored and called or passed on: the nested
    def runs at import, so its imports count."""
    def harvested(source: str) -> set[str]:
        return {a.name for stmt in called_function_imports(ast.parse(source))
                if isinstance(stmt, ast.Import) for a in stmt.names}

    factory = """
        def make():
            def f(*args):
                import nested_import
                return args[0] if args else None
            return f
    """
    for use in ("make()()", "@make()\ndef g():\n    pass", "x = make()\nx()", "x = make()\n@x\ndef g():\n    pass",
                "h = [make()]", "print(make())", "x = make()\nprint(x)", "@make\ndef g():\n    pass\ng()"):
        assert harvested(textwrap.dedent(factory) + use) == {"nested_import"}, use
    for use in ("x = make()", "@make\ndef g():\n    pass", "x = make()\nx.__doc__ = 'd'", "make()"):
        assert harvested(textwrap.dedent(factory) + use) == set(), use


def test_a_repeated_slot_key_is_read_with_the_value_the_load_keeps(tmp_path: Path) -> None:
    """SETITEMS with ``_close`` twice: None first, then the payload (the dict keeps the last)."""
    marker = tmp_path / "dup-ran"

    def piece(value: Any) -> bytes:
        return pickle.dumps(value, protocol=2)[2:-1]

    pairs = [("_variable", Variable(("x",), np.arange(2.0))), ("_coords", {}), ("_name", None), ("_indexes", {}),
             ("_close", None)]
    body = b"".join(piece(k) + piece(v) for k, v in pairs)
    head = b"\x80\x02cxarray.core.dataarray\nDataArray\n)\x81N}("
    plain = head + body + b"u\x86b."
    assert safeload.scan(plain).is_safe()
    evil = head + body + piece("_close") + piece(_touch(marker)) + b"u\x86b."
    pickle.loads(evil).close()
    assert marker.exists()  # live twin
    marker.unlink()
    _refused(evil, tmp_path, "xarray.core.dataarray.DataArray")
    assert not marker.exists()
