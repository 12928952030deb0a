"""Attacks on the round-5 long-tail reviews of issue 14 (hmmlearn, ruptures, kmodes, optuna).

What was reviewed, and what each test checks is still refused:

- compiled extension modules whose import was read (``source_tables.REVIEWED_COMPILED_IMPORTS``, keyed by module
  and by the SHA-256 of the binary): only that module name, only those bytes, only when another module's top level
  imports it (a pickle naming the module or one of its functions is refused);
- a reviewed top-level statement is not walked for ``__path__``/``__spec__``/``__loader__`` rebinding (optuna's lazy
  ``optuna.integration`` module), but a rebinding anywhere else in the module, an edited statement, or a later
  rebinding of a name the statement reads is analysed (refused); names looked up in ``optuna.integration`` stay
  unresolvable;
- ``threading.Lock()`` resolves to ``_thread.allocate_lock`` (reviewed benign); threads stay refused;
- kmodes' ``euclidean_dissim`` entry: a callable argument or a payload in a KPrototypes state is refused.

Nothing analysed is ever imported (``sys.modules`` unchanged); every payload would touch a marker file.
"""

from __future__ import annotations

import hashlib
import pickle
import sysconfig
import textwrap
from pathlib import Path

import pytest

import safeload
from safeload.catalog import source_tables as tables
from safeload.catalog.source_analysis import Analysis
from safeload.catalog.uses import Use
from tests.attacks import C, G, assemble
from tests.longtail_helpers import analysed, refused
from tests.longtail_helpers import payload as _payload

EXT = next(s for s in (".cpython-311-x86_64-linux-gnu.so", ".abi3.so", ".so", ".pyd")
           if s in __import__("importlib.machinery").machinery.EXTENSION_SUFFIXES)


# --- compiled modules reviewed by hash ---------------------------------------------------------------------------
BINARY = b"\x7fELF not really an extension module, never loaded"
PLAIN = "from atkc import _ext\nclass Plain:\n    pass\n"


@pytest.fixture
def reviewed_binary(monkeypatch: pytest.MonkeyPatch) -> str:
    digest = "sha256:" + hashlib.sha256(BINARY).hexdigest()
    monkeypatch.setitem(tables.REVIEWED_COMPILED_IMPORTS, "atkc._ext", {digest: "test review"})
    return digest


def test_reviewed_binary_imported_by_a_module_is_inert(site: Path, reviewed_binary: str) -> None:
    a = analysed(site, {"atkc/__init__.py": "", "atkc/m.py": PLAIN, f"atkc/_ext{EXT}": BINARY},
                 "atkc.m", "Plain", Use.NEW)
    assert a.import_effects.inert, a.import_effects.reason


def test_unreviewed_binary_stays_refused(site: Path) -> None:
    a = analysed(site, {"atkc/__init__.py": "", "atkc/m.py": PLAIN, f"atkc/_ext{EXT}": BINARY},
                 "atkc.m", "Plain", Use.NEW)
    assert not a.import_effects.inert
    assert "compiled" in a.import_effects.reason


def test_other_bytes_under_the_reviewed_name_are_refused(site: Path, reviewed_binary: str) -> None:
    a = analysed(site, {"atkc/__init__.py": "", "atkc/m.py": PLAIN, f"atkc/_ext{EXT}": BINARY + b"\0"},
                 "atkc.m", "Plain", Use.NEW)
    assert not a.import_effects.inert


def test_reviewed_bytes_under_another_name_are_refused(site: Path, reviewed_binary: str) -> None:
    a = analysed(site, {"atkc/__init__.py": "", "atkc/m.py": "from atkc import _other\nclass Plain:\n    pass\n",
                        f"atkc/_other{EXT}": BINARY}, "atkc.m", "Plain", Use.NEW)
    assert not a.import_effects.inert


def test_reviewed_binary_named_by_the_file_is_refused(site: Path, reviewed_binary: str) -> None:
    """The review covers being imported by the library; a name inside the binary cannot be read."""
    a = analysed(site, {"atkc/__init__.py": "", f"atkc/_ext{EXT}": BINARY}, "atkc._ext", "run", Use.CALL)
    assert not a.import_effects.inert


def test_reviewed_binary_rewritten_after_a_scan_is_refused(site: Path, reviewed_binary: str) -> None:
    files: dict[str, str | bytes] = {"atkc/__init__.py": "", "atkc/m.py": PLAIN, f"atkc/_ext{EXT}": BINARY}
    assert analysed(site, files, "atkc.m", "Plain", Use.NEW).import_effects.inert
    files[f"atkc/_ext{EXT}"] = BINARY.replace(b"never", b"NEVER")  # same size
    assert not analysed(site, files, "atkc.m", "Plain", Use.NEW).import_effects.inert


@pytest.mark.parametrize(("module", "dist"), [
    ("hmmlearn._hmmc", "hmmlearn"),
    ("ruptures.detection._detection.ekcpd", "ruptures"),
    ("ruptures.utils._utils.convert_path_matrix", "ruptures"),
])
def test_pinned_binaries_are_the_installed_ones(module: str, dist: str) -> None:
    """The review was read for these bytes: the test environment installs exactly them (else re-review)."""
    pytest.importorskip(dist)
    from safeload.catalog.source_locate import locate_module

    found = locate_module(module, None)
    assert found.kind == "compiled" and found.origin
    digest = "sha256:" + hashlib.sha256(Path(found.origin).read_bytes()).hexdigest()
    assert digest in tables.REVIEWED_COMPILED_IMPORTS[module]


@pytest.mark.parametrize(("module", "name", "args"), [
    ("hmmlearn._hmmc", "viterbi", ([0.5], [[1.0]], [[1.0]])),
    ("ruptures.detection._detection.ekcpd", "ekcpd_L2", ([[1.0]], 1, 1)),
    ("ruptures.utils._utils.convert_path_matrix", "from_path_matrix_to_bkps_list", ([0], 1, 1, 1, 1)),
])
def test_functions_of_reviewed_binaries_are_not_names_a_file_may_use(tmp_path: Path, module: str, name: str,
                                                                     args: tuple[object, ...]) -> None:
    pytest.importorskip(module.split(".", maxsplit=1)[0])
    marker = tmp_path / "marker"
    refused(assemble(C(G(module, name), args)), marker)
    refused(assemble(C(G(module, name), (_payload(marker),))), marker)


def test_hmm_with_a_payload_in_its_state(tmp_path: Path) -> None:
    pytest.importorskip("hmmlearn")
    marker = tmp_path / "marker"
    state = {"n_components": 2, "monitor_": _payload(marker)}
    hmm = C(G("copyreg", "_reconstructor"), (G("hmmlearn.hmm", "GaussianHMM"), G("builtins", "object"), None), state)
    refused(assemble(hmm), marker)


def test_ruptures_estimator_given_a_callable_cost(tmp_path: Path) -> None:
    pytest.importorskip("ruptures")
    marker = tmp_path / "marker"
    state = {"cost": G("os", "system"), "min_size": 2, "jump": 5}
    pelt = C(G("copyreg", "_reconstructor"), (G("ruptures.detection.pelt", "Pelt"), G("builtins", "object"), None),
             state)
    refused(assemble(pelt), marker)


# --- reviewed statements and the import-system rebinding check ----------------------------------------------------
LAZY = """
import os
import sys
from types import ModuleType
_TABLE = {'sub': ['Name']}
class _Lazy(ModuleType):
    __file__ = globals()['__file__']
    __path__ = [os.path.dirname(__file__)]
sys.modules[__name__] = _Lazy(__name__)
"""


def _lazy_reviewed(monkeypatch: pytest.MonkeyPatch, source: str) -> None:
    import ast

    tree = ast.parse(textwrap.dedent(source))
    review = {}
    premises = set()
    for stmt in tree.body:
        if isinstance(stmt, ast.Import | ast.ImportFrom):
            premises.add(ast.unparse(stmt))  # one name per import here: the review's premise imports
            continue
        text = ast.unparse(stmt)
        review["sha256:" + hashlib.sha256(text.encode()).hexdigest()] = "test review"
    monkeypatch.setitem(tables.REVIEWED_IMPORT_STATEMENTS, "atkl", review)
    monkeypatch.setitem(tables.REVIEWED_STATEMENT_IMPORTS, "atkl", frozenset(premises))


def test_reviewed_lazy_module_statements_are_inert(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _lazy_reviewed(monkeypatch, LAZY)
    a = analysed(site, {"atkl/__init__.py": LAZY, "atkl/m.py": "class Plain:\n    pass\n"},
                 "atkl.m", "Plain", Use.NEW)
    assert a.import_effects.inert, a.import_effects.reason


def test_unreviewed_path_rebinding_is_refused(site: Path) -> None:
    a = analysed(site, {"atkl/__init__.py": LAZY, "atkl/m.py": "class Plain:\n    pass\n"},
                 "atkl.m", "Plain", Use.NEW)
    assert not a.import_effects.inert
    assert "__path__" in a.import_effects.reason


@pytest.mark.parametrize("extra", [
    "__path__ = ['/elsewhere']\n",                       # a rebinding outside the reviewed statements
    "def f():\n    global __spec__\n    __spec__ = None\n",  # in a function
], ids=["path", "spec-in-function"])
def test_additions_beside_reviewed_statements_are_analysed(site: Path, monkeypatch: pytest.MonkeyPatch,
                                                          extra: str) -> None:
    _lazy_reviewed(monkeypatch, LAZY)
    a = analysed(site, {"atkl/__init__.py": LAZY + extra, "atkl/m.py": "class Plain:\n    pass\n"},
                 "atkl.m", "Plain", Use.NEW)
    assert not a.import_effects.inert


def test_rebinding_a_name_a_reviewed_statement_reads(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``sys.modules[__name__] = _Lazy(__name__)`` is reviewed for the reviewed class; once ``_Lazy`` is rebound in
    between, the call is analysed (and runs the other class's __init__)."""
    _lazy_reviewed(monkeypatch, LAZY)
    evil = LAZY.replace("sys.modules[__name__]", "class Evil:\n    def __init__(self, n):\n        open(MARKER, 'w')\n"
                        "_Lazy = Evil\nsys.modules[__name__]")
    assert evil != LAZY
    a = analysed(site, {"atkl/__init__.py": evil, "atkl/m.py": "class Plain:\n    pass\n"},
                 "atkl.m", "Plain", Use.NEW)
    assert not a.import_effects.inert
    assert "open" in a.import_effects.reason or "Evil" in a.import_effects.reason


def test_edited_path_in_a_reviewed_class_is_refused(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _lazy_reviewed(monkeypatch, LAZY)
    evil = LAZY.replace("[os.path.dirname(__file__)]", "['/tmp/elsewhere']")
    a = analysed(site, {"atkl/__init__.py": evil, "atkl/m.py": "class Plain:\n    pass\n"},
                 "atkl.m", "Plain", Use.NEW)
    assert not a.import_effects.inert


def _optuna_integration() -> str:
    real = Path(sysconfig.get_paths()["purelib"]) / "optuna" / "integration" / "__init__.py"
    if not real.exists():
        pytest.skip("optuna not installed")
    return real.read_text()


def _optuna_site(integration: str) -> dict[str, str | bytes]:
    imports = (Path(sysconfig.get_paths()["purelib"]) / "optuna" / "_imports.py").read_text()
    return {"optuna/__init__.py": "", "optuna/_imports.py": imports, "optuna/integration/__init__.py": integration,
            "optuna/m.py": "import optuna.integration\nclass Plain:\n    pass\n"}


def test_optuna_integration_as_installed_is_inert(site: Path) -> None:
    a = analysed(site, _optuna_site(_optuna_integration()), "optuna.m", "Plain", Use.NEW)
    assert a.import_effects.inert, a.import_effects.reason


@pytest.mark.parametrize(("old", "new"), [
    ("__path__ = [os.path.dirname(__file__)]", "__path__ = ['/tmp/elsewhere']"),
    ("return importlib.import_module", "open(MARKER, 'w')\n                return importlib.import_module"),
    ("sys.modules[__name__] = _IntegrationModule(__name__)",
     "sys.modules[__name__] = _IntegrationModule(__name__)\n    open(MARKER, 'w')"),
], ids=["path", "method-body", "after-the-swap"])
def test_optuna_integration_edited_is_refused(site: Path, old: str, new: str) -> None:
    text = _optuna_integration()
    assert old in text
    a = analysed(site, _optuna_site(text.replace(old, new, 1)), "optuna.m", "Plain", Use.NEW)
    assert not a.import_effects.inert


def test_optuna_integration_rebinding_its_tables_later_is_refused(site: Path) -> None:
    text = _optuna_integration() + "\n_import_structure = {'evil': ['Evil']}\n"
    a = analysed(site, _optuna_site(text), "optuna.m", "Plain", Use.NEW)
    assert not a.import_effects.inert


@pytest.mark.parametrize("name", ["OptunaSearchCV", "_IntegrationModule", "lightgbm", "_get_module"])
def test_names_in_the_lazy_integration_module_are_refused(tmp_path: Path, name: str) -> None:
    pytest.importorskip("optuna")
    marker = tmp_path / "marker"
    refused(assemble(C(G("optuna.integration", name), ("x",))), marker)
    refused(assemble(C(G("optuna.integration", name), (_payload(marker),))), marker)


# --- threading.Lock ------------------------------------------------------------------------------------------------
def test_a_module_lock_is_inert(site: Path) -> None:
    a = analysed(site, {"atk/__init__.py": "", "atk/m.py": "import threading\n_lock = threading.Lock()\n"
                                                           "class Plain:\n    pass\n"}, "atk.m", "Plain", Use.NEW)
    assert a.import_effects.inert, a.import_effects.reason


@pytest.mark.parametrize("source", [
    "import threading\nthreading.Thread(target=print).start()\n",
    "import _thread\n_thread.start_new_thread(print, ())\n",
    "import threading\n_lock = threading._thread.start_new_thread(print, ())\n",
])
def test_threads_at_import_stay_refused(site: Path, source: str) -> None:
    a = analysed(site, {"atk/__init__.py": "", "atk/m.py": source + "class Plain:\n    pass\n"},
                 "atk.m", "Plain", Use.NEW)
    assert not a.import_effects.inert


def test_allocate_lock_is_not_a_name_a_file_may_call(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    refused(assemble(C(G("_thread", "allocate_lock"), (_payload(marker),))), marker)


# --- kmodes --------------------------------------------------------------------------------------------------------
def test_kprototypes_round_trip_and_dissim_abuse(tmp_path: Path) -> None:
    np = pytest.importorskip("numpy")
    pytest.importorskip("kmodes")
    from kmodes.util.dissim import euclidean_dissim  # type: ignore[import-untyped]

    marker = tmp_path / "marker"
    data = pickle.dumps(euclidean_dissim, protocol=4)
    assert safeload.scan(data).is_safe()
    assert safeload.pickle_loads(data) is euclidean_dissim
    a = np.array([[1.0, 2.0]])
    assert (safeload.pickle_loads(data)(a, a) == 0).all()
    # called by the file (not permitted: broadcasting file arrays could allocate N*M), with a payload argument, or
    # with a dangerous callable
    refused(assemble(C(G("kmodes.util.dissim", "euclidean_dissim"), ([[1.0]], [[2.0]]))), marker)
    refused(assemble(C(G("kmodes.util.dissim", "euclidean_dissim"), (_payload(marker), [1.0]))), marker)
    refused(assemble(C(G("kmodes.util.dissim", "euclidean_dissim"), (G("os", "system"), "x"))), marker)
    # a KPrototypes whose num_dissim is a dangerous function (called by predict)
    state = {"n_clusters": 2, "num_dissim": G("os", "system"), "cat_dissim": G("kmodes.util.dissim",
                                                                                 "matching_dissim")}
    kp = C(G("copyreg", "_reconstructor"), (G("kmodes.kprototypes", "KPrototypes"), G("builtins", "object"), None),
           state)
    refused(assemble(kp), marker)
    state = {"n_clusters": 2, "num_dissim": G("kmodes.util.dissim", "euclidean_dissim"),
             "cluster_centroids_": _payload(marker)}
    kp = C(G("copyreg", "_reconstructor"), (G("kmodes.kprototypes", "KPrototypes"), G("builtins", "object"), None),
           state)
    refused(assemble(kp), marker)


# --- a constant __name__ rebinding nothing reads (_collections_abc) ----------------------------------------------
def test_unread_constant_name_rebinding_is_readable(site: Path) -> None:
    a = analysed(site, {"atk/__init__.py": "", "atk/m.py": "__name__ = 'atk.elsewhere'\nclass Plain:\n    pass\n"},
                 "atk.m", "Plain", Use.NEW)
    assert a.import_effects.inert, a.import_effects.reason


def test_userdict_subclass_is_readable(site: Path) -> None:
    a = analysed(site, {"atk/__init__.py": "", "atk/m.py": "from collections import UserDict\n"
                                                           "class Plain(UserDict):\n    pass\n"},
                 "atk.m", "Plain", Use.NEW)
    assert a.import_effects.inert, a.import_effects.reason


@pytest.mark.parametrize("source", [
    "__name__ = '__main__'\nif __name__ == '__main__':\n    open(MARKER, 'w')\n",
    "import sys\n__name__ = 'os'\nsys.modules[__name__] = None\n",
    "__name__ = 'x'\n__name__ = '__main__'\nif True:\n    pass\n",
    "import os\n__name__ = os.environ.get('X', '__main__')\nif __name__ == '__main__':\n    open(MARKER, 'w')\n",
    "def f():\n    global __name__\n    __name__ = '__main__'\nf()\nif __name__ == '__main__':\n    open(MARKER, 'w')\n",
    "__name__: str = '__main__'\nif __name__ == '__main__':\n    open(MARKER, 'w')\n",
], ids=["main-guard", "sys-modules-key", "twice", "computed", "global", "annotated"])
def test_name_rebindings_that_matter_stay_unreadable(site: Path, source: str) -> None:
    a = analysed(site, {"atk/__init__.py": "", "atk/m.py": source + "class Plain:\n    pass\n"},
                 "atk.m", "Plain", Use.NEW)
    assert not a.import_effects.inert


# --- threading.local as a base -------------------------------------------------------------------------------------
def test_thread_local_type_is_as_reviewed() -> None:
    import _thread
    import threading

    assert threading.local is _thread._local
    assert type(_thread._local) is type
    assert "__init_subclass__" not in vars(_thread._local)


LOCAL = "import threading\nclass L(threading.local):\n    def __init__(self, x=None):\n        self.x = x\n"


def test_defining_a_thread_local_subclass_is_inert(site: Path) -> None:
    a = analysed(site, {"atk/__init__.py": "", "atk/m.py": LOCAL + "class Plain:\n    pass\n"},
                 "atk.m", "Plain", Use.NEW)
    assert a.import_effects.inert, a.import_effects.reason


@pytest.mark.parametrize("use", [Use.CALL, Use.NEW, Use.BUILD])
def test_thread_local_instances_stay_unmodelled(site: Path, use: Use) -> None:
    """_local stores NEWOBJ's arguments and runs the subclass' __init__ again in every new thread that reads it
    (round 8: that __init__ is analysed, and its ``self.x = x`` runs _local's C __setattr__, unmodelled). ALLOC
    (``object.__new__(L)``) raises TypeError for a _local subclass: tests/test_longtail_reviews_j.py."""
    a = analysed(site, {"atk/__init__.py": "", "atk/m.py": LOCAL}, "atk.m", "L", use)
    found = a.verdict(use)
    assert found is not None and not found.inert


def test_a_hook_of_another_base_is_still_analysed(site: Path) -> None:
    a = analysed(site, {"atk/__init__.py": "", "atk/m.py": """
        import threading
        class Hook:
            def __init_subclass__(cls, **kw):
                open(MARKER, 'w')
        class L(Hook, threading.local):
            pass
    """}, "atk.m", "L", Use.REF)
    assert not a.import_effects.inert


# --- try_import, with bodies and try/else --------------------------------------------------------------------------
def _optuna_imports() -> str:
    real = Path(sysconfig.get_paths()["purelib"]) / "optuna" / "_imports.py"
    if not real.exists():
        pytest.skip("optuna not installed")
    return real.read_text()


def _with_try_import(site: Path, body: str, imports: str | None = None) -> Analysis:
    return analysed(site, {"optuna/__init__.py": "", "optuna/_imports.py": imports or _optuna_imports(),
                           "optuna/m.py": "from optuna._imports import try_import\nwith try_import() as _i:\n"
                                          + textwrap.indent(body, "    ") + "class Plain:\n    pass\n"},
                    "optuna.m", "Plain", Use.NEW)


def test_try_import_of_an_absent_module_is_inert(site: Path) -> None:
    a = _with_try_import(site, "import safeload_absent_module_xyz\n")
    assert a.import_effects.inert, a.import_effects.reason


def test_try_import_body_is_analysed(site: Path) -> None:
    assert not _with_try_import(site, "open(MARKER, 'w')\n").import_effects.inert


def test_try_import_from_an_edited_module_is_not_reviewed(site: Path) -> None:
    edited = _optuna_imports().replace("return self\n", "open(MARKER, 'w')\n        return self\n", 1)
    assert edited != _optuna_imports()
    assert not _with_try_import(site, "import safeload_absent_module_xyz\n", edited).import_effects.inert


def test_a_lookalike_try_import_is_not_reviewed(site: Path) -> None:
    a = analysed(site, {"atk/__init__.py": "", "atk/m.py": """
        import contextlib
        @contextlib.contextmanager
        def try_import():
            open(MARKER, 'w')
            yield
        with try_import():
            import safeload_absent_module_xyz
        class Plain:
            pass
    """}, "atk.m", "Plain", Use.NEW)
    assert not a.import_effects.inert


def test_else_of_a_try_stopped_by_a_missing_import_never_runs(site: Path) -> None:
    a = analysed(site, {"atk/__init__.py": "", "atk/m.py": "try:\n    import safeload_absent_module_xyz\n"
                                                           "except ImportError:\n    pass\nelse:\n"
                                                           "    open(MARKER, 'w')\nclass Plain:\n    pass\n"},
                 "atk.m", "Plain", Use.NEW)
    assert a.import_effects.inert, a.import_effects.reason


@pytest.mark.parametrize("source", [
    "try:\n    import os\nexcept ImportError:\n    pass\nelse:\n    open(MARKER, 'w')\n",
    "try:\n    import safeload_absent_module_xyz\nexcept ValueError:\n    pass\nelse:\n    open(MARKER, 'w')\n",
    "try:\n    pass\nexcept ImportError:\n    pass\nelse:\n    open(MARKER, 'w')\n",
], ids=["present-module", "handler-not-import-error", "no-import"])
def test_else_clauses_that_run(site: Path, source: str) -> None:
    a = analysed(site, {"atk/__init__.py": "", "atk/m.py": source + "class Plain:\n    pass\n"},
                 "atk.m", "Plain", Use.NEW)
    assert not a.import_effects.inert


# --- literals handed to invoking helpers ---------------------------------------------------------------------------
def test_lru_cache_with_a_size_is_inert(site: Path) -> None:
    a = analysed(site, {"atk/__init__.py": "", "atk/m.py": "import functools\n@functools.lru_cache(1000)\n"
                                                           "def f(a):\n    return a\nclass Plain:\n    pass\n"},
                 "atk.m", "f", Use.CALL)
    assert a.import_effects.inert, a.import_effects.reason
    found = a.verdict(Use.CALL)
    assert found is not None and found.inert, found


@pytest.mark.parametrize("source", [
    "import functools\n@functools.lru_cache(open)\ndef f(a):\n    return a\n",
    "X = sorted([1], key=open)\n",
    "import functools\nX = functools.partial(open, MARKER, 'w')()\n",
])
def test_callables_handed_to_invoking_helpers_are_still_called(site: Path, source: str) -> None:
    a = analysed(site, {"atk/__init__.py": "", "atk/m.py": source + "class Plain:\n    pass\n"},
                 "atk.m", "Plain", Use.NEW)
    assert not a.import_effects.inert


# --- optuna's decorators ------------------------------------------------------------------------------------------
def test_experimental_func_body_is_analysed(site: Path) -> None:
    pytest.importorskip("optuna")
    a = analysed(site, {"atk/__init__.py": "", "atk/m.py": """
        from optuna._experimental import experimental_func
        @experimental_func("1.0.0")
        def f(x):
            open(MARKER, 'w')
    """}, "atk.m", "f", Use.CALL, installed=True)
    assert a.import_effects.inert, a.import_effects.reason
    found = a.verdict(Use.CALL)
    assert found is not None and not found.inert


@pytest.mark.parametrize("use", [Use.CALL, Use.NEW, Use.BUILD])
def test_experimental_class_instances_stay_refused(site: Path, use: Use) -> None:
    pytest.importorskip("optuna")
    a = analysed(site, {"atk/__init__.py": "", "atk/m.py": """
        from optuna._experimental import experimental_class
        @experimental_class("1.0.0")
        class K:
            def __init__(self, x):
                self.x = x
    """}, "atk.m", "K", use, installed=True)
    found = a.verdict(use)
    assert found is not None and not found.inert


def test_convert_positional_args_calls_stay_refused(site: Path) -> None:
    pytest.importorskip("optuna")
    a = analysed(site, {"atk/__init__.py": "", "atk/m.py": """
        from optuna._convert_positional_args import convert_positional_args
        @convert_positional_args(previous_positional_arg_names=["x"], deprecated_version="1.0.0",
                                 removed_version="2.0.0")
        def f(x):
            return x
    """}, "atk.m", "f", Use.CALL, installed=True)
    assert a.import_effects.inert, a.import_effects.reason
    found = a.verdict(Use.CALL)
    assert found is not None and not found.inert


def test_decorator_factory_arguments_are_still_evaluated(site: Path) -> None:
    pytest.importorskip("optuna")
    a = analysed(site, {"atk/__init__.py": "", "atk/m.py": """
        from optuna._experimental import experimental_class
        @experimental_class(open(MARKER, 'w'))
        class K:
            pass
    """}, "atk.m", "K", Use.REF, installed=True)
    assert not a.import_effects.inert


# --- the freed optuna file, abused ---------------------------------------------------------------------------------
def test_frozen_trial_with_payloads(tmp_path: Path) -> None:
    pytest.importorskip("optuna")
    marker = tmp_path / "marker"
    trial = C(G("copyreg", "_reconstructor"), (G("optuna.trial._frozen", "FrozenTrial"), G("builtins", "object"),
                                               None), {"_params": {"x": _payload(marker)}, "_number": 0})
    refused(assemble(trial), marker)
    refused(assemble(C(G("optuna.trial._state", "TrialState"), (_payload(marker),))), marker)
    dist = C(G("copyreg", "_reconstructor"), (G("optuna.distributions", "FloatDistribution"),
                                              G("builtins", "object"), None), {"low": G("os", "system")})
    refused(assemble(dist), marker)
