"""Attacks on the long-tail reviews of issue 14 (feature-engine, imbalanced-learn, hyperopt, shapely, igraph).

What was reviewed, and what each test checks is still refused:

- reviewed import-time statements (``source_tables.REVIEWED_IMPORT_STATEMENTS``): a statement is skipped only in
  its own module and only word for word; the rest of that module, an edited statement, the same text in another
  module, a class whose text changed (SHA-256 key) are analysed as before;
- ``f.__doc__ = ...`` of a plain ``def`` of the same body: not for a rebound, conditional or decorated name;
- a ``try`` body stops at an import of a module absent from the environment only when a handler catches
  ImportError;
- ``Base.__init__(self)`` of source is analysed like ``super()`` (its body still decides);
- str literal methods and ``x = x + "literal"`` keep a module-level value builtin only when the first binding is;
- reviewed decorator factories and import-only decorators: their arguments are still evaluated, and a load that
  calls a function decorated with an import-only decorator is still refused;
- per-use catalogue entries for shapely and igraph (pint's names stay refused): another use, a callable argument, a dangerous value in state
  are refused by the real engine, and the marker the payload would create stays absent.

Nothing analysed is ever imported (``sys.modules`` unchanged); every payload would touch a marker file.
"""

from __future__ import annotations

import pickle
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest

import safeload
from safeload.catalog import source_analysis as sa
from safeload.catalog import source_tables as tables
from safeload.catalog.decide import catalogue_view
from safeload.catalog.source_analysis import Analysis, analyse
from safeload.catalog.source_locate import library_roots
from safeload.catalog.uses import Use
from tests.attacks import C, G, Raw, assemble

FE_REVIEWED = (
    "import pathlib\n"
    "import feature_engine\n"
    "PACKAGE_ROOT = pathlib.Path(feature_engine.__file__).resolve().parent\n"
    "VERSION_PATH = PACKAGE_ROOT / 'VERSION'\n"
    "with open(VERSION_PATH, 'r') as version_file:\n"
    "    __version__ = version_file.read().strip()\n"
)


def _write(site: Path, files: dict[str, str]) -> None:
    marker = site.parent / "marker"
    for rel, text in files.items():
        path = site / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).replace("MARKER", repr(str(marker))))


def analysed(site: Path, files: dict[str, str], module: str, qualname: str, uses: Use, *,
             installed: bool = False) -> Analysis:
    """Analyse ``module.qualname`` in a fake site-packages holding ``files`` (and, if asked, the real one)."""
    _write(site, files)
    paths = sysconfig.get_paths()
    search = [str(site), paths["stdlib"], *([paths["purelib"]] if installed else [])]
    before = set(sys.modules)
    result = analyse(module, qualname, uses, search_path=search, catalog=catalogue_view)
    assert {m for m in set(sys.modules) - before if not m.startswith("safeload.")} == set()
    assert not (site.parent / "marker").exists()
    sa.clear_cache()
    return result


def imports_inert(site: Path, source: str, **kw: bool) -> Analysis:
    return analysed(site, {"atk/__init__.py": "", "atk/m.py": source + "\nclass Plain:\n    pass\n"}, "atk.m",
                    "Plain", Use.NEW, **kw)


# --- reviewed import-time statements -----------------------------------------------------------------------
def test_the_reviewed_statements_alone_are_inert(site: Path) -> None:
    a = analysed(site, {"feature_engine/__init__.py": FE_REVIEWED + "class Plain:\n    pass\n"},
                 "feature_engine", "Plain", Use.NEW)
    assert a.import_effects.inert, a.import_effects.reason


def test_an_added_statement_in_the_reviewed_module_is_analysed(site: Path) -> None:
    a = analysed(site, {"feature_engine/__init__.py": FE_REVIEWED + "open(MARKER, 'w')\nclass Plain:\n    pass\n"},
                 "feature_engine", "Plain", Use.NEW)
    assert not a.import_effects.inert
    assert "open" in a.import_effects.reason


def test_an_edited_reviewed_statement_is_analysed(site: Path) -> None:
    edited = FE_REVIEWED.replace("open(VERSION_PATH, 'r')", "open(VERSION_PATH, 'w')")
    a = analysed(site, {"feature_engine/__init__.py": edited + "class Plain:\n    pass\n"},
                 "feature_engine", "Plain", Use.NEW)
    assert not a.import_effects.inert


def test_the_reviewed_text_in_another_module_is_analysed(site: Path) -> None:
    a = imports_inert(site, "VERSION_PATH = 'VERSION'\nwith open(VERSION_PATH, 'r') as version_file:\n"
                            "    __version__ = version_file.read().strip()\n")
    assert not a.import_effects.inert


def test_a_reviewed_module_imports_are_still_followed(site: Path) -> None:
    a = analysed(site, {"feature_engine/__init__.py": FE_REVIEWED + "import feature_engine.evil\n"
                                                                    "class Plain:\n    pass\n",
                        "feature_engine/evil.py": "open(MARKER, 'w')\n"},
                 "feature_engine", "Plain", Use.NEW)
    assert not a.import_effects.inert
    assert "feature_engine.evil" in a.import_effects.reason


def test_a_class_keyed_by_its_hash_is_analysed_once_edited(site: Path) -> None:
    import ast
    import hashlib

    from safeload.catalog.source_locate import library_roots as roots

    roots()
    real = Path(sysconfig.get_paths()["purelib"]) / "imblearn" / "__init__.py"
    if not real.exists():
        pytest.skip("imbalanced-learn not installed")
    tree = ast.parse(real.read_text())
    lazy = next(n for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and n.name == "LazyLoader")
    text = ast.unparse(lazy)
    assert "sha256:" + hashlib.sha256(text.encode()).hexdigest() in tables.REVIEWED_IMPORT_STATEMENTS["imblearn"]
    evil = text.replace("self._warning = warning", "self._warning = open(MARKER, 'w')")
    assert evil != text
    tail = "\nkeras = LazyLoader('keras', globals(), 'imblearn.keras')\nclass Plain:\n    pass\n"
    control = analysed(site, {"imblearn/__init__.py": "import types\nimport importlib\n" + text + tail},
                       "imblearn", "Plain", Use.NEW)
    assert control.import_effects.inert, control.import_effects.reason
    a = analysed(site, {"imblearn/__init__.py": "import types\nimport importlib\n" + evil + tail},
                 "imblearn", "Plain", Use.NEW)
    assert not a.import_effects.inert


# --- own docstrings ------------------------------------------------------------------------------------------
def test_setting_the_docstring_of_an_own_def_is_inert(site: Path) -> None:
    a = imports_inert(site, "def f():\n    pass\nf.__doc__ = 'doc'\n")
    assert a.import_effects.inert, a.import_effects.reason


@pytest.mark.parametrize("source", [
    # rebound to an object whose class runs code on attribute writes
    "class Evil:\n    def __setattr__(self, k, v):\n        open(MARKER, 'w')\n"
    "def f():\n    pass\nf = Evil()\nf.__doc__ = 'doc'\n",
    # bound conditionally: which binding holds is not known
    "import os\nclass Evil:\n    def __setattr__(self, k, v):\n        open(MARKER, 'w')\n"
    "if os.sep == '/':\n    f = Evil()\nelse:\n    def f():\n        pass\nf.__doc__ = 'doc'\n",
    # decorated: the name holds what the decorator returned
    "class Evil:\n    def __setattr__(self, k, v):\n        open(MARKER, 'w')\n"
    "def deco(fn):\n    return Evil()\n@deco\ndef f():\n    pass\nf.__doc__ = 'doc'\n",
    # the value written is still analysed
    "def f():\n    pass\nf.__doc__ = open(MARKER, 'w')\n",
    # a walrus in the value rebinds the name before the write
    "class Evil:\n    def __setattr__(self, k, v):\n        open(MARKER, 'w')\n"
    "def f():\n    pass\nf.__doc__ = (f := Evil()) and 'doc'\n",
], ids=["rebound", "conditional", "decorated", "value", "walrus"])
def test_docstring_writes_that_may_run_code(site: Path, source: str) -> None:
    assert not imports_inert(site, source).import_effects.inert


# --- try bodies and missing modules -------------------------------------------------------------------------
def test_statements_after_a_missing_import_never_run(site: Path) -> None:
    a = imports_inert(site, "try:\n    import safeload_absent_module_xyz\n    open(MARKER, 'w')\n"
                            "except ImportError:\n    pass\n")
    assert a.import_effects.inert, a.import_effects.reason


@pytest.mark.parametrize("source", [
    "try:\n    import os\n    open(MARKER, 'w')\nexcept ImportError:\n    pass\n",
    "try:\n    import safeload_absent_module_xyz\n    open(MARKER, 'w')\nexcept ValueError:\n    pass\n",
    "try:\n    open(MARKER, 'w')\n    import safeload_absent_module_xyz\nexcept ImportError:\n    pass\n",
    "try:\n    import safeload_absent_module_xyz\nexcept ImportError:\n    open(MARKER, 'w')\n",
], ids=["present-module", "handler-not-import-error", "before-the-import", "in-the-handler"])
def test_try_bodies_that_run(site: Path, source: str) -> None:
    assert not imports_inert(site, source).import_effects.inert


# --- explicit dunder calls ----------------------------------------------------------------------------------
def test_explicit_base_init_is_analysed(site: Path) -> None:
    clean = analysed(site, {"atk/__init__.py": "", "atk/m.py": """
        class B:
            def __init__(self, x):
                self.x = x
        class D(B):
            def __init__(self, x):
                B.__init__(self, x)
    """}, "atk.m", "D", Use.CALL)
    assert clean.verdict(Use.CALL) is not None and clean.verdict(Use.CALL).inert  # type: ignore[union-attr]
    evil = analysed(site, {"atk/__init__.py": "", "atk/m.py": """
        class B:
            def __init__(self, x):
                open(MARKER, 'w')
        class D(B):
            def __init__(self, x):
                B.__init__(self, x)
    """}, "atk.m", "D", Use.CALL)
    found = evil.verdict(Use.CALL)
    assert found is not None and not found.inert


def test_explicit_dunder_call_through_a_denied_class(site: Path) -> None:
    a = analysed(site, {"atk/__init__.py": "", "atk/m.py": """
        import subprocess
        class D(subprocess.Popen):
            def __init__(self, x):
                subprocess.Popen.__init__(self, x)
    """}, "atk.m", "D", Use.CALL)
    found = a.verdict(Use.CALL)
    assert found is not None and not found.inert


# --- module-level values ------------------------------------------------------------------------------------
def test_str_literal_method_and_self_extension_are_builtin(site: Path) -> None:
    a = analysed(site, {"atk/__init__.py": "", "atk/d.py": "DOC = '''text'''.rstrip()\n",
                        "atk/m.py": "from atk.d import DOC\nDOC = DOC + ' more'\nif DOC:\n    pass\n"
                                    "class Plain:\n    pass\n"}, "atk.m", "Plain", Use.NEW)
    assert a.import_effects.inert, a.import_effects.reason


def test_self_extension_of_an_object_whose_operators_run_code(site: Path) -> None:
    a = analysed(site, {"atk/__init__.py": "", "atk/d.py": """
        class Evil:
            def __add__(self, other):
                open(MARKER, 'w')
                return self
            def __bool__(self):
                open(MARKER, 'w')
                return True
        DOC = Evil()
    """, "atk/m.py": "from atk.d import DOC\nDOC = DOC + ' more'\nif DOC:\n    pass\nclass Plain:\n    pass\n"},
        "atk.m", "Plain", Use.NEW)
    assert not a.import_effects.inert


def test_method_of_a_non_literal_is_not_builtin(site: Path) -> None:
    a = imports_inert(site, """
        class Evil:
            def rstrip(self):
                return self
            def __bool__(self):
                open(MARKER, 'w')
                return True
        DOC = Evil().rstrip()
        if DOC:
            pass
    """)
    assert not a.import_effects.inert


# --- reviewed decorators ------------------------------------------------------------------------------------
def test_reviewed_decorator_factory_arguments_are_evaluated(site: Path) -> None:
    pytest.importorskip("sklearn")
    a = imports_inert(site, """
        from sklearn.base import _fit_context
        class Est:
            @_fit_context(prefer_skip_nested_validation=open(MARKER, 'w'))
            def fit(self, X):
                return self
    """, installed=True)
    assert not a.import_effects.inert


def test_fit_context_does_not_make_fit_calls_inert(site: Path) -> None:
    """_fit_context's wrapper validates the estimator's parameters before fit: reviewed for import only."""
    pytest.importorskip("sklearn")
    assert "sklearn.base._fit_context" not in tables.INERT_DECORATORS
    a = analysed(site, {"atk/__init__.py": "", "atk/m.py": """
        from sklearn.base import _fit_context
        @_fit_context(prefer_skip_nested_validation=True)
        def fit(est, X):
            return est
    """}, "atk.m", "fit", Use.CALL, installed=True)
    assert a.import_effects.inert, a.import_effects.reason
    found = a.verdict(Use.CALL)
    assert found is not None and not found.inert


def test_import_only_decorator_does_not_make_calls_inert(site: Path) -> None:
    pytest.importorskip("sklearn")
    a = analysed(site, {"atk/__init__.py": "", "atk/m.py": """
        from sklearn.utils._available_if import available_if
        def check(x):
            return True
        @available_if(check)
        def run(x):
            return x
    """}, "atk.m", "run", Use.CALL, installed=True)
    assert a.import_effects.inert, a.import_effects.reason
    found = a.verdict(Use.CALL)
    assert found is not None and not found.inert


# --- the real engine: per-use entries -----------------------------------------------------------------------
def _payload(marker: Path) -> C:
    """Calling this at load would create the marker."""
    return C(G("builtins", "exec"), (f"open({str(marker)!r}, 'w').close()",))


def refused(data: bytes, marker: Path) -> None:
    result = safeload.scan(data)
    assert not result.is_safe()
    with pytest.raises(safeload.UnsafeModelError):
        safeload.pickle_loads(data)
    assert not marker.exists()


def test_benign_geometry_loads() -> None:
    shapely = pytest.importorskip("shapely")
    data = pickle.dumps(shapely.Point(1, 2), protocol=4)
    assert safeload.scan(data).is_safe()
    assert safeload.pickle_loads(data) == shapely.Point(1, 2)


def test_from_wkb_with_a_callable_argument(tmp_path: Path) -> None:
    pytest.importorskip("shapely")
    marker = tmp_path / "marker"
    wkb = bytes.fromhex("0101000000000000000000f03f0000000000000040")
    refused(assemble(C(G("shapely.io", "from_wkb"), (wkb, _payload(marker)))), marker)
    refused(assemble(C(G("shapely.io", "from_wkb"), (wkb, G("os", "system")))), marker)


def test_strtree_given_state_or_a_payload(tmp_path: Path) -> None:
    pytest.importorskip("shapely")
    marker = tmp_path / "marker"
    refused(assemble(C(G("shapely.strtree", "STRtree"), ([],), {"_tree": _payload(marker)})), marker)
    refused(assemble(C(G("shapely.strtree", "STRtree"), ([_payload(marker)],))), marker)


def test_pint_names_stay_refused(tmp_path: Path) -> None:
    pytest.importorskip("pint")
    marker = tmp_path / "marker"
    units = C(G("pint.util", "UnitsContainer"), ())
    # _unpickle_quantity's first argument is ignored by pint, but a name there is still invoked for the engine
    refused(assemble(C(G("pint", "_unpickle_quantity"), (G("os", "system"), 1.0, units))), marker)
    refused(assemble(C(G("pint", "_unpickle_quantity"), (_payload(marker), 1.0, units))), marker)
    # PlainQuantity may be passed and invoked by pint's own code, never called by the file
    refused(assemble(C(G("pint.facets.plain.quantity", "PlainQuantity"), ("1 m",))), marker)
    # UnitsContainer's state: a dangerous class as _non_int_type is ranked on its own
    state = (None, {"_d": Raw({}), "_one": 1, "_non_int_type": G("os", "system")})
    refused(assemble(C(G("copyreg", "_reconstructor"), (G("pint.util", "UnitsContainer"), G("builtins", "object"),
                                                        None), state)), marker)
    # udict is never given state by BUILD
    refused(assemble(C(G("pint.util", "udict"), (), {"x": 1})), marker)


def test_hyperopt_graph_nodes_stay_refused(tmp_path: Path) -> None:
    pytest.importorskip("hyperopt")
    marker = tmp_path / "marker"
    # Apply.__setstate__ registers define_params in hyperopt's symbol table: the import review does not cover it
    node = C(G("copyreg", "_reconstructor"), (G("hyperopt.pyll.base", "Apply"), G("builtins", "object"), None),
             {"define_params": {"f": _payload(marker)}, "name": "x"})
    refused(assemble(node), marker)


def test_reviewed_module_level_objects_are_not_names_a_file_may_use(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    for module, name in (("imblearn", "keras"), ("feature_engine", "VERSION_PATH"), ("hyperopt.pyll.base", "scope"),
                         ("pint", "application_registry")):
        pytest.importorskip(module.split(".")[0])
        refused(assemble(C(G(module, name), ("x",))), marker)


def test_igraph_graph_abused(tmp_path: Path) -> None:
    igraph = pytest.importorskip("igraph")
    marker = tmp_path / "marker"
    benign = pickle.dumps(igraph.Graph([(0, 1), (1, 2)]), protocol=4)
    assert safeload.scan(benign).is_safe()
    assert safeload.pickle_loads(benign).get_edgelist() == [(0, 1), (1, 2)]
    # the raw-pointer keyword is reachable only through functools.partial, which needs INVOKE
    partial = C(G("functools", "partial"), (G("igraph", "Graph"),), (G("igraph", "Graph"), (), {"__ptr": 1}, None))
    refused(assemble(C(partial, ())), marker)
    # a payload among the attribute values, or in the state
    refused(assemble(C(G("igraph", "Graph"), (1, [], False, {"a": _payload(marker)}, {}, {}))), marker)
    refused(assemble(C(G("igraph", "Graph"), (1,), {"x": _payload(marker)})), marker)


def test_a_reviewed_call_of_an_edited_function_is_analysed(site: Path) -> None:
    """``patch_pipeline()`` is reviewed in ``sksurv``, but the review read the body of its ``def``: with another
    body (pinned by hash in ``REVIEW_PINS``) the call is analysed and the import is not inert."""
    evil = analysed(site, {"sksurv/__init__.py": "def patch_pipeline():\n    open(MARKER, 'w').close()\n"
                                                 "patch_pipeline()\nclass Plain:\n    pass\n"},
                    "sksurv", "Plain", Use.NEW)
    assert not evil.import_effects.inert
    assert "open" in evil.import_effects.reason, evil.import_effects.reason


@pytest.mark.parametrize(("module", "name"), [("sksurv", "patch_pipeline"), ("hyperopt.base", "Ctrl"),
                                              ("hyperopt.pyll.base", "Literal"),
                                              ("hyperopt.pyll.stochastic", "one_of")])
def test_review_pins_match_the_installed_definitions(module: str, name: str) -> None:
    import ast
    import hashlib

    from safeload.catalog.source_locate import locate_module

    library_roots()
    found = locate_module(module, sys.path)
    if found is None or found.origin is None:
        pytest.skip(f"{module} not installed")
    tree = ast.parse(Path(found.origin).read_text(encoding="utf-8"))
    node = next(n for n in tree.body if getattr(n, "name", None) == name)
    text = ast.unparse(node)
    pins = tables.REVIEW_PINS[module]
    assert text in pins or "sha256:" + hashlib.sha256(text.encode()).hexdigest() in pins
