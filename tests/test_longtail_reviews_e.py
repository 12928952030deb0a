"""Attacks on the long-tail reviews of issue 14, round 6 (fp-longtail-e): what ``import river`` needed.

What was added, and what each test checks is still refused (marker payloads asserted absent, nothing imported):

- typing's ``TypeVar``/``ParamSpec``/``TypeVarTuple`` objects are values with typing's own methods
  (``source_tables.VALUE_FACTORIES``): a module-level object of another class, or a local function merely named
  ``TypeVar``, is still followed;
- ``abc.ABCMeta``'s own names (``source_tables.METACLASS_OWN_NAMES``): a metaclass deriving from it has the
  methods it defines itself analysed, ABCMeta's ``__instancecheck__`` stays unreadable, the rest is ``type``'s;
- a ``Generic`` subclass subscripted (``Wrapper[C]``) and the arguments of ``TypeVar(...)`` see only hash, eq,
  repr and attribute reads: a metaclass ``__getitem__`` or a custom ``__class_getitem__`` are analysed as before;
- ``np.ndarray[...]`` and stdlib ABCs' ``C[...]`` are ``types.GenericAlias`` values when their arguments are typing
  forms; another argument is followed;
- ``if not TYPE_CHECKING:`` runs its body (analysed) and not its else;
- a class body's own names shadow the module's at import (``variants = variant_configs.keys()``);
- a module reached through a guarded import (``try: from .iter_vaex import ... except ImportError``) passes the
  ImportError of its own missing import up; what runs before that import is still analysed;
- a reviewed metaclass hook holds for its exact text only (narwhals ``DTypeClass.__new__``);
- the compiled ``river._river_rust`` (by SHA-256) and the submodules its init stores in ``sys.modules``: another
  binary or another submodule name is refused; its classes are not vouched;
- the narwhals 2.29.0 and SQLAlchemy 2.1.9 import reviews: the versions read, the modules their import does not
  load (outside the vouch), and an audit hook showing the imports write nothing.
"""

from __future__ import annotations

import abc
import hashlib
import pickle
import sys
import types
from pathlib import Path

import pytest

from safeload.catalog import source_analysis as sa
from safeload.catalog import source_tables as tables
from safeload.catalog.decide import catalogue_view
from safeload.catalog.reviewed import IMPORT_REVIEWS
from safeload.catalog.uses import Use
from tests.attacks import C, G, assemble
from tests.longtail_helpers import (
    analysed,
    assert_vouch_is_what_the_import_loads,
    installed_version,
    measure_import,
    payload,
    refused,
)

needs_river = pytest.mark.skipif(installed_version("river") is None, reason="river not installed")


def _module(site: Path, source: str, qualname: str = "Plain", uses: Use = Use.NEW, *,
            extra: dict[str, str | bytes] | None = None, installed: bool = False) -> sa.Analysis:
    files: dict[str, str | bytes] = {"atk/__init__.py": "", "atk/m.py": source, **(extra or {})}
    return analysed(site, files, "atk.m", qualname, uses, installed=installed)


# --- facts the tables rest on ------------------------------------------------------------------------------------
def test_abcmeta_defines_the_names_the_table_lists() -> None:
    import _py_abc

    own = set(tables.METACLASS_OWN_NAMES["abc.ABCMeta"])
    for meta in (abc.ABCMeta, _py_abc.ABCMeta):
        assert {n for n in vars(meta) if n not in ("__doc__", "__module__")} <= own
        assert meta.__bases__ == (type,)


def test_typevars_and_numpy_subscripts_are_what_the_tables_say() -> None:
    import typing

    import numpy as np

    assert type(np.ndarray[typing.Any, np.dtype[np.float64]]) is types.GenericAlias
    assert type(np.dtype[np.float64]) is types.GenericAlias
    for factory in (typing.TypeVar, typing.ParamSpec, typing.TypeVarTuple):
        assert f"typing.{factory.__name__}" in tables.VALUE_FACTORIES
        own = {n for n in vars(factory) if n.startswith("__")} - {"__dict__", "__doc__", "__module__", "__slots__"}
        assert own <= {"__init__", "__typing_subst__", "__typing_prepare_subst__", "__iter__", "__repr__",
                       "__new__", "__or__", "__ror__", "__reduce__", "__init_subclass__", "__mro_entries__",
                       "__copy__", "__deepcopy__", "__hash__", "__eq__", "__getattr__", "__setattr__",
                       "__typing_is_unpacked_typevartuple__", "__weakref__"}, own


# --- TypeVars, Generic subscripts, ABCMeta -----------------------------------------------------------------------
GENERIC = """import abc
from typing import Generic, TypeVar
T = TypeVar("T")
class Base(Generic[T]):
    pass
"""


def test_a_generic_subclass_subscripted_with_a_typevar_is_inert(site: Path) -> None:
    a = _module(site, GENERIC + "class Plain(Base[T]):\n    pass\n")
    assert a.import_effects.inert, a.import_effects.reason


@pytest.mark.parametrize("value", [
    # an instance whose __hash__ (run by typing's alias cache) writes
    "class Evil:\n    def __hash__(self):\n        open(MARKER, 'w')\n        return 1\nT2 = Evil()\n",
    # a local function merely named TypeVar
    "def TypeVar(name):\n    open(MARKER, 'w')\nT2 = TypeVar('T2')\n",
], ids=["hash", "fake-typevar"])
def test_other_values_in_a_generic_subscript_are_followed(site: Path, value: str) -> None:
    a = _module(site, GENERIC + value + "class Plain(Base[T2]):\n    pass\n")
    assert not a.import_effects.inert


def test_typing_attribute_reads_of_an_instance_argument_are_followed(site: Path) -> None:
    """typing reads ``__parameters__`` of each argument (``_collect_parameters``): a property of that name runs."""
    evil = ("class Evil:\n    @property\n    def __parameters__(self):\n        open(MARKER, 'w')\n"
            "        return ()\nE = Evil()\nclass Plain(Base[E]):\n    pass\n")
    assert not _module(site, GENERIC + evil).import_effects.inert


@pytest.mark.parametrize("hook", ["__hash__", "__eq__", "__repr__", "__getattr__"])
def test_a_class_argument_whose_metaclass_hooks_write_is_refused(site: Path, hook: str) -> None:
    """``Base[C]`` and ``TypeVar('T', bound=C)``: typing hashes, compares, reads attributes of and (in its error
    message) reprs the class: its metaclass' methods are analysed."""
    sig = "(cls, other)" if hook == "__eq__" else "(cls, name)" if hook == "__getattr__" else "(cls)"
    meta = (f"class Meta(abc.ABCMeta):\n    def {hook}{sig}:\n        open(MARKER, 'w')\n        return 1\n"
            "class Arg(metaclass=Meta):\n    pass\n")
    for use in ("class Plain(Base[Arg]):\n    pass\n", "T3 = TypeVar('T3', bound=Arg)\nclass Plain:\n    pass\n"):
        a = _module(site, GENERIC + meta + use)
        assert not a.import_effects.inert, (hook, use)


def test_an_abcmeta_metaclass_with_plain_methods_is_accepted(site: Path) -> None:
    source = GENERIC + (
        "class Meta(abc.ABCMeta):\n    def __instancecheck__(cls, instance):\n"
        "        return super().__instancecheck__(instance)\n"
        "class Arg(metaclass=Meta):\n    pass\n"
        "T3 = TypeVar('T3', bound=Arg)\n"
        "class Plain(Base[Arg]):\n    pass\n")
    a = _module(site, source)
    assert a.import_effects.inert, a.import_effects.reason
    # isinstance against the class still runs ABCMeta's check (registry, __subclasshook__): not readable
    a = _module(site, source.replace("class Plain(Base[Arg]):\n    pass\n",
                                     "class Plain:\n    pass\nCHECK = isinstance(1, Arg)\n"))
    assert not a.import_effects.inert


@pytest.mark.parametrize("extra", [
    # a metaclass __getitem__ runs instead of Generic's __class_getitem__, with the argument
    "class GMeta(type):\n    def __getitem__(cls, item):\n        open(MARKER, 'w')\n",
    # a custom __class_getitem__
    "class GMeta(type):\n    pass\n",
], ids=["meta-getitem", "class-getitem"])
def test_other_subscripts_are_analysed(site: Path, extra: str) -> None:
    body = "    def __class_getitem__(cls, item):\n        open(MARKER, 'w')\n" if "pass" in extra else "    pass\n"
    source = GENERIC + extra + f"class Sub(Base[T], metaclass=GMeta):\n{body}" + "X = Sub[int]\nclass Plain:\n    pass\n"
    a = _module(site, source)
    assert not a.import_effects.inert


def test_numpy_generic_aliases_need_typing_arguments(site: Path) -> None:
    ok = "import typing\nimport numpy as np\nNDA = np.ndarray[typing.Any, np.dtype[typing.Any]]\n" \
         "Leaf = NDA[typing.Any] | None\nclass Plain:\n    pass\n"
    a = _module(site, ok, installed=True)
    assert a.import_effects.inert, a.import_effects.reason
    evil = ok.replace("NDA = np.ndarray[typing.Any, np.dtype[typing.Any]]",
                      "class Evil:\n    def __or__(self, other):\n        open(MARKER, 'w')\n"
                      "    def __getitem__(self, item):\n        open(MARKER, 'w')\n"
                      "NDA = np.ndarray[typing.Any, Evil()]")
    assert not _module(site, evil, installed=True).import_effects.inert


def test_userlist_of_a_typevar_is_a_plain_base(site: Path) -> None:
    a = _module(site, "from collections import UserList\nfrom typing import TypeVar\nT = TypeVar('T')\n"
                      "class Plain(UserList[T]):\n    pass\n")
    assert a.import_effects.inert, a.import_effects.reason
    assert a.verdict(Use.NEW).inert


# --- if not TYPE_CHECKING, class-body names, guarded imports -----------------------------------------------------
def test_if_not_type_checking_runs_its_body(site: Path) -> None:
    base = "import typing\nif not typing.TYPE_CHECKING:\n    {body}\nelse:\n    {other}\nclass Plain:\n    pass\n"
    a = _module(site, base.format(body="X = 1", other="open(MARKER, 'w')"))
    assert a.import_effects.inert, a.import_effects.reason
    assert not _module(site, base.format(body="open(MARKER, 'w')", other="X = 1")).import_effects.inert
    # a module __getattr__ defined there is a plain def: its body is analysed
    getattr_hook = "def __getattr__(name):\n        open(MARKER, 'w')"
    a = _module(site, "from atk import sub\nclass Plain:\n    pass\n",
                extra={"atk/__init__.py": base.format(body=getattr_hook, other="pass") + "\nY = sub\n",
                       "atk/sub.py": ""})
    assert not a.import_effects.inert
    # TYPE_CHECKING rebound: the guards are not read at all
    rebound = "TYPE_CHECKING = True\n" + base.replace("typing.TYPE_CHECKING", "TYPE_CHECKING")
    assert not _module(site, rebound.format(body="X = 1", other="open(MARKER, 'w')")).import_effects.inert


def test_class_body_names_shadow_module_names(site: Path) -> None:
    a = _module(site, "class Plain:\n    configs = {'a': 1}\n    variants = configs.keys()\n")
    assert a.import_effects.inert, a.import_effects.reason
    evil = ("def helper():\n    open(MARKER, 'w')\nhelper2 = dict\n"
            "class Plain:\n    helper2 = helper\n    x = helper2()\n")
    assert not _module(site, evil).import_effects.inert


def test_a_guarded_import_passes_a_missing_import_up(site: Path) -> None:
    top = "try:\n    from atk import opt\nexcept ImportError:\n    pass\nclass Plain:\n    pass\n"
    a = _module(site, top, extra={"atk/opt.py": "import atk_absent_module_xyz\nX = 1\n"})
    assert a.import_effects.inert, a.import_effects.reason
    # the whole top level is still analysed (conservatively, also after the import that raises)
    a = _module(site, top, extra={"atk/opt.py": "import atk_absent_module_xyz\nopen(MARKER, 'w')\n"})
    assert not a.import_effects.inert
    # what runs before the missing import is analysed
    a = _module(site, top, extra={"atk/opt.py": "open(MARKER, 'w')\nimport atk_absent_module_xyz\n"})
    assert not a.import_effects.inert
    # unguarded: the missing module may be provided at run time, refused as before
    a = _module(site, "from atk import opt\nclass Plain:\n    pass\n",
                extra={"atk/opt.py": "import atk_absent_module_xyz\n"})
    assert not a.import_effects.inert


# --- reviewed metaclass hook ------------------------------------------------------------------------------------
DTYPES = '''
class DTypeClass(type):
    def __repr__(cls) -> str:
        return cls.__name__

    def __new__(metacls: type[_typeshed.Self], cls_name: str, bases: tuple[type, ...], namespace: dict[str, Any], /, **kwds: Any) -> _typeshed.Self:
        namespace.setdefault('__slots__', ())
        return super().__new__(metacls, cls_name, bases, namespace, **kwds)

class DType(metaclass=DTypeClass):
    pass

class Int8(DType):
    pass
'''


def test_a_reviewed_metaclass_hook_holds_for_its_text_only(site: Path) -> None:
    files: dict[str, str | bytes] = {"narwhals/__init__.py": "", "narwhals/dtypes.py": DTYPES}
    reviewed = analysed(site, dict(files), "narwhals.dtypes", "Int8", Use.CALL)
    assert reviewed.verdict(Use.CALL).inert, reviewed.verdict(Use.CALL).reason
    files["narwhals/dtypes.py"] = DTYPES.replace("namespace.setdefault('__slots__', ())",
                                                 "namespace.setdefault('__slots__', ()); open(MARKER, 'w')")
    assert not analysed(site, files, "narwhals.dtypes", "Int8", Use.CALL).verdict(Use.CALL).inert
    # the same text under another metaclass name is not reviewed
    files["narwhals/dtypes.py"] = DTYPES.replace("DTypeClass", "OtherClass")
    assert not analysed(site, files, "narwhals.dtypes", "Int8", Use.CALL).verdict(Use.CALL).inert


# --- compiled module with registered submodules ------------------------------------------------------------------
BINARY = b"\x7fELF not really an extension module, never loaded"


@pytest.fixture
def reviewed_binary(monkeypatch: pytest.MonkeyPatch) -> None:
    digest = "sha256:" + hashlib.sha256(BINARY).hexdigest()
    monkeypatch.setitem(tables.REVIEWED_COMPILED_IMPORTS, "atkc._ext", {digest: "test review"})
    monkeypatch.setitem(tables.COMPILED_REGISTERED_SUBMODULES, "atkc._ext", frozenset({"stats"}))


@pytest.mark.usefixtures("reviewed_binary")
def test_a_compiled_modules_registered_submodules(site: Path) -> None:
    ext = "_ext.cpython-311-x86_64-linux-gnu.so" if sys.version_info[:2] == (3, 11) else \
        f"_ext{__import__('sysconfig').get_config_var('EXT_SUFFIX')}"
    files: dict[str, str | bytes] = {"atkc/__init__.py": "", f"atkc/{ext}": BINARY,
                                     "atkc/m.py": "from atkc._ext.stats import X\nclass Plain:\n    pass\n"}
    a = analysed(site, dict(files), "atkc.m", "Plain", Use.NEW)
    assert a.import_effects.inert, a.import_effects.reason
    other = dict(files, **{"atkc/m.py": "from atkc._ext.other import X\nclass Plain:\n    pass\n"})
    assert not analysed(site, other, "atkc.m", "Plain", Use.NEW).import_effects.inert
    changed = dict(files, **{f"atkc/{ext}": BINARY + b"!"})
    assert not analysed(site, changed, "atkc.m", "Plain", Use.NEW).import_effects.inert
    # the registered names are not classes the catalogue or the analysis vouch for
    assert not analysed(site, dict(files), "atkc._ext.stats", "X", Use.NEW).verdict(Use.NEW).inert


# --- river, narwhals, SQLAlchemy ---------------------------------------------------------------------------------
@needs_river
def test_the_reviewed_versions_are_the_installed_ones() -> None:
    for package, dist in (("narwhals", "narwhals"), ("sqlalchemy", "SQLAlchemy")):
        assert IMPORT_REVIEWS[package].startswith(f"{dist} {installed_version(dist)} "), package
    assert tables.REVIEWED_COMPILED_IMPORTS["river._river_rust"]
    review = next(iter(tables.REVIEWED_COMPILED_IMPORTS["river._river_rust"].values()))
    assert review.startswith(f"river {installed_version('river')} ")


_RIVER_IMPORTS = "import river.stats, river.preprocessing, river.linear_model, river.tree, river.cluster"


@needs_river
def test_import_not_covered_lists_what_the_river_import_does_not_load(tmp_path: Path) -> None:
    run = measure_import(tmp_path, _RIVER_IMPORTS, ("narwhals", "sqlalchemy"))
    rust = {m.rpartition(".")[2] for m in run.loaded if m.startswith("river._river_rust.")}
    assert rust == tables.COMPILED_REGISTERED_SUBMODULES["river._river_rust"]
    for package in ("narwhals", "sqlalchemy"):
        assert_vouch_is_what_the_import_loads(package, run.unloaded[package])
    for loaded in ("narwhals.stable.v2", "narwhals.dtypes", "sqlalchemy.sql.elements", "sqlalchemy.engine.base"):
        assert catalogue_view(loaded, Use.IMPORT) is True
    for outside in ("narwhals._pandas_like.dataframe", "sqlalchemy.orm", "sqlalchemy.dialects.sqlite.pysqlite"):
        assert catalogue_view(outside, Use.IMPORT) is not True


@needs_river
def test_importing_river_narwhals_sqlalchemy_writes_nothing(tmp_path: Path) -> None:
    # scikit-learn's own import (reviewed with it) sets the KMP_* OpenMP defaults unless the environment has them
    # (a test that imported scikit-learn in this process already did) and dlopens the process image
    run = measure_import(tmp_path, _RIVER_IMPORTS + ", river.compose", no_bytecode=True, ignore=("ctypes",))
    assert set(run.effects) <= {("os.putenv", "(b'KMP_DUPLICATE_LIB_OK', b'True')"),
                                ("os.putenv", "(b'KMP_INIT_AT_FORK', b'FALSE')")}
    assert run.left_behind == []


@needs_river
def test_river_stats_loads_and_its_state_is_checked(tmp_path: Path) -> None:
    from river import stats  # type: ignore[import-untyped]

    import safeload

    mean = stats.Mean()
    for x in (1.0, 2.0, 4.0):
        mean.update(x)
    data = pickle.dumps(mean, protocol=4)
    assert safeload.scan(data).is_safe()
    assert safeload.pickle_loads(data).get() == pytest.approx(7 / 3)
    marker = tmp_path / "marker"
    state = C(G("copyreg", "_reconstructor"), (G("river.stats.mean", "Mean"), G("builtins", "object"), None))
    refused(assemble(C(G("builtins", "setattr"), (state, "n", payload(marker)))), marker)
    # the rust classes and the compiled module's functions are not vouched by the import review
    refused(assemble(C(G("river._river_rust.vectordict", "VectorDict"), (payload(marker),))), marker)
    refused(assemble(C(G("river._river_rust.stats", "RsEWMean"), (G("os", "system"),))), marker)
    # nor are SQLAlchemy's or narwhals' functions a pickle could call
    refused(assemble(C(G("sqlalchemy", "create_engine"), ("sqlite:///" + str(marker),))), marker)
    refused(assemble(C(G("narwhals.plugins", "_find_plugin"), ("x",))), marker)


@needs_river
def test_river_logistic_regression_weights_load_and_vectordict_is_checked(tmp_path: Path) -> None:
    """The reviewed VectorDict entry: called with its data; default_factory is invoked (the engine ranks what the
    file puts there), and the compiled module's other names stay unvouched."""
    from river import linear_model

    import safeload

    model = linear_model.LogisticRegression()
    model.learn_one({"x0": 1.0, "x1": 2.0}, True)
    data = pickle.dumps(model, protocol=4)
    assert safeload.scan(data).is_safe()
    assert safeload.pickle_loads(data).predict_proba_one({"x0": 1.0, "x1": 2.0}) == pytest.approx(
        model.predict_proba_one({"x0": 1.0, "x1": 2.0}))
    marker = tmp_path / "marker"
    vd = G("river._river_rust.vectordict", "VectorDict")
    refused(assemble(C(vd, ({"x": 1.0}, G("os", "system"), None, True))), marker)
    refused(assemble(C(vd, ({"x": 1.0}, payload(marker), None, True))), marker)
    refused(assemble(C(vd, (payload(marker), None, None, True))), marker)
    refused(assemble(C(G("river._river_rust.vectordict", "euclidean_distance_dict"), (payload(marker), {}))),
            marker)
    # live under plain pickle: the factory the file chooses runs on the first missing key read after the load
    factory = C(G("functools", "partial"), (G("builtins", "exec"), f"open({str(marker)!r}, 'w').close()"))
    evil = assemble(C(vd, ({}, factory, None, True)))
    refused(evil, marker)
    loaded = pickle.loads(evil)  # the real loader: the factory is stored...
    assert not marker.exists()
    with pytest.raises(TypeError):  # ...and called on a missing key (exec returns None: not a number)
        _ = loaded["missing"] + 1
    assert marker.exists()


def test_reviewed_numpy_functions_are_numpys() -> None:
    import numpy as np

    assert np.any is np._core.fromnumeric.any and np.all is np._core.fromnumeric.all
    assert np.linspace is np._core.function_base.linspace
    assert np.where is np._core.multiarray.where and np.concatenate is np._core.multiarray.concatenate
    assert np.isfinite is np._core.umath.isfinite and isinstance(np.isfinite, np.ufunc)
    for name in ("numpy.any", "numpy.linspace", "numpy.where", "numpy.concatenate", "numpy.isfinite"):
        assert catalogue_view(name, Use.INVOKE) is True
    # still only their own names: numpy's I/O stays out
    for name in ("numpy.load", "numpy.save", "numpy.fromfile", "numpy.lib.npyio.load"):
        assert catalogue_view(name, Use.CALL) is not True
