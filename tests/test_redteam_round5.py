"""Red team round 5: safeload attacked with its source in hand (what round 5 added: reviewed statements bound to
their bindings, the stdlib generic-alias and builtin-value rules, the shadow checks, the native engine).

Every case builds its file at test time (and, for the source analysis, the installed "library" it names: a package
in a ``site-packages`` directory under ``tmp_path`` on ``PYTHONPATH`` of a subprocess, as in rounds 2-4) and carries a
harmless payload: it creates a marker file under ``tmp_path``.

- ``test_<case>_is_live`` runs the payload under the real loader (``pickle.load``) and sees the marker;
- ``test_<case>_is_refused`` runs ``safeload.scan`` and ``safeload.pickle_load`` on the same file and asserts a
  refusal *and* an absent marker. Each finding below let the payload run under safeload on main (fd7a1fc); the
  fixes on this branch flipped them to plain tests.

Findings:
- R5-1 a reviewed import-time statement (``source_tables.REVIEWED_IMPORT_STATEMENTS``) is skipped when every
  statement binding a name *it* reads is reviewed or pinned (``source_imports._bindings_reviewed``, the R4-3 rule),
  but the names the pinned or reviewed *binders* read were never checked: the body of the pinned
  ``def patch_pipeline`` runs when the reviewed ``patch_pipeline()`` does and sets attributes on whatever
  ``Pipeline`` is bound to (a class whose metaclass ``__setattr__`` does harm); the pinned ``class Literal``'s
  ``__init__`` calls ``Apply.__init__`` (an edited, unpinned ``Apply``); the pinned ``scope = SymbolTable()`` binds an
  object whose class (unpinned) may define ``__setattr__``, which the reviewed ``scope.kwswitch = _kwswitch`` runs.
  Fixed: the names a reviewed or pinned binder reads count as read, transitively (of a class: what its dunders,
  decorated members and the methods named by attribute reads of the code using it read); the definitions the
  installed hyperopt and scikit-survival reviews rest on are pinned by hash (``REVIEW_PINS``) and their imports
  listed as premises. Residual (documented since R4-3): a premise *module* edited itself (``from .base import
  scope`` in ``hyperopt.pyll.stochastic`` with an edited ``SymbolTable`` in ``base``) is analysed for its own import
  effects only;
- R5-2 reading an attribute of an instance the code itself creates (``C().x``, ``getattr``/``hasattr(C(), 'x')``)
  and handing one to an operation that reads its attributes (``isinstance(C(), T)`` looks ``__class__`` up;
  ``typing.List[C()]``; ``collections.abc.Callable[C(), T]``, whose stdlib ``_CallableGenericAlias`` the round-5
  generic-alias rule admits, runs ``isinstance`` on it) never analysed the class's ``__getattribute__``,
  ``__getattr__`` or property getter (source_effects ``_attribute``: an instance is a tainted value whose reads are
  only recorded as touches, which import-time analysis does not act on). Fixed: an instance's attribute read
  analyses them like a module-level object's (``_object_attribute``), ``isinstance`` touches ``__getattribute__``/
  ``__getattr__`` and the generic escape (``_IMPLICIT``) includes both;
- R5-3 the transitive SL117 check (catalog/shadow_reach.py ``_names_in``) took a directory of the working directory
  for a package only when it holds ``__init__.py``: ``datetime/__init__.pyc`` (a sourceless package the path finder
  imports) beside a ``zoneinfo.ZoneInfo`` pickle passed, and ``zoneinfo``'s C module imported it. And the names it
  listed were cached (in process and in the scan cache) by the working directory's mtime only: an ``__init__.py``
  written into an existing ``datetime/`` directory after a first scan (a ``git pull``) changes that directory's
  mtime, not the working directory's (R4-4, which fixed catalog/shadow.py, for the transitive check). Fixed: any
  ``__init__`` suffix the path finder imports, and every subdirectory is stamped;
- R5-4 safeload's own lazy imports of stdlib modules (``mmap`` to read the file, ``contextvars``,
  ``sqlite3`` and through it ``datetime`` for the scan cache) resolved through ``sys.path`` with the working
  directory first: a ``mmap.py`` beside a model ran during ``safeload.pickle_load`` of any pickle (``[1, 2, 3]``),
  where ``pickle.load`` alone never imports it. Fixed (safeload/_stdlib_imports.py): while safeload's code is on
  the stack, a standard module's first import is found in the interpreter's library directories only;
- R5-5 a metaclass ``mro()`` override runs when ``type.__new__`` creates a class at import, but the class-creation
  check (source_imports ``_metaclass``) analysed only ``__prepare__``/``__new__``/``__init__``. Fixed: ``mro`` is
  analysed there, and a metaclass defining it makes the class model unreadable (its MRO is computed);
- R5-6 the round-5 rule "math functions' results are builtin values" (source_effects ``_BUILTIN_VALUE_CALLS``)
  included ``math.floor``/``ceil``/``trunc``, which return whatever the argument's ``__floor__``/``__ceil__``/
  ``__trunc__`` returns, and the generic escape (``_IMPLICIT``) lacked ``__floor__``/``__ceil__``:
  ``math.floor(C())`` ran an unanalysed ``__floor__`` at import. Fixed (both). Not fixed, a wider gap: the
  *result* of a call or operator at import (``str(f())`` where the module's ``f`` returns ``R()``,
  ``str(-C())``, ``str(math.floor(C()))``) was an untracked value whose protocol uses were only recorded as
  touches, which import-time analysis does not act on: ``R.__str__`` ran unanalysed. Fixed: a call's result is
  summarised from the callee's ``return`` statements (data, an instance of a source class, an argument handed
  back, or untracked), an operator on a source instance and reviewed code handed one return an untracked value,
  and running a protocol or data method of an untracked value makes the body not inert.
"""

from __future__ import annotations

import ast
import os
import py_compile
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.test_redteam_round2 import LibCase, _g
from tests.test_redteam_round3 import _live, _refused
from tests.test_redteam_round4 import _SHADOW, _ZONEINFO, _cached_load

PURELIB = Path(sysconfig.get_paths()["purelib"])


def _names_x(module: str) -> bytes:
    """A pickle of the class ``module.X``: loading it imports ``module`` (and its packages)."""
    return b"\x80\x02" + _g(module, "X") + b"."


def _installed_definition(rel: str, name: str) -> str:
    """``ast.unparse`` of the top-level def or class ``name`` of the installed file ``rel`` (the reviewed text)."""
    path = PURELIB / rel
    if not path.exists():
        pytest.skip(f"{rel} not installed")
    tree = ast.parse(path.read_text())
    return next(ast.unparse(n) for n in tree.body if isinstance(n, ast.FunctionDef | ast.ClassDef) and n.name == name)


# --- R5-1: what a pinned or reviewed binder reads ---------------------------------------------------------------
_EVIL_META = "class _Meta(type):\n    def __setattr__(cls, name, value):\n        open(MARKER, 'w').close()\n"
_EVIL_INIT = "class {name}:\n    def __init__(self, *a, **k):\n        open(MARKER, 'w').close()\n"


def _sksurv_case() -> LibCase:
    """scikit-survival's ``__init__``: the reviewed ``patch_pipeline()`` and the pinned ``def patch_pipeline`` word
    for word; ``Pipeline`` is this module's own class whose metaclass ``__setattr__`` runs on
    ``Pipeline.predict_survival_function = ...``."""
    pinned = _installed_definition("sksurv/__init__.py", "patch_pipeline")
    source = (_EVIL_META + "class Pipeline(metaclass=_Meta):\n    pass\n"
              "predict_survival_function = predict_cumulative_hazard_function = _predict_risk_score = None\n"
              + pinned + "\npatch_pipeline()\n")
    return LibCase({"sksurv/__init__.py": source, "sksurv/m.py": "class X:\n    pass\n"},
                   lambda: _names_x("sksurv.m"))


def _literal_case() -> LibCase:
    """hyperopt.pyll.base: the reviewed ``p0 = Literal(UndefinedValue)`` and the pinned ``class Literal(Apply)`` and
    ``class UndefinedValue`` word for word; ``Apply`` (whose ``__init__`` Literal's calls) is another class."""
    literal = _installed_definition("hyperopt/pyll/base.py", "Literal")
    source = (_EVIL_INIT.format(name="Apply") + literal + "\nclass UndefinedValue:\n    pass\n"
              "p0 = Literal(UndefinedValue)\nclass X:\n    pass\n")
    return LibCase({"hyperopt/__init__.py": "", "hyperopt/pyll/__init__.py": "", "hyperopt/pyll/base.py": source},
                   lambda: _names_x("hyperopt.pyll.base"))


def _symbol_table_case() -> LibCase:
    """hyperopt.pyll.base: the pinned ``scope = SymbolTable()`` and ``def _kwswitch`` and the reviewed
    ``scope.kwswitch = _kwswitch`` word for word; ``SymbolTable`` defines ``__setattr__``."""
    kwswitch = _installed_definition("hyperopt/pyll/base.py", "_kwswitch")
    source = ("class SymbolTable:\n    def __setattr__(self, name, value):\n        open(MARKER, 'w').close()\n"
              "scope = SymbolTable()\n" + kwswitch + "\nscope.kwswitch = _kwswitch\nclass X:\n    pass\n")
    return LibCase({"hyperopt/__init__.py": "", "hyperopt/pyll/__init__.py": "", "hyperopt/pyll/base.py": source},
                   lambda: _names_x("hyperopt.pyll.base"))


R5_1_CASES = {"sksurv-pinned-def-reads-pipeline": _sksurv_case, "hyperopt-literal-calls-apply": _literal_case,
              "hyperopt-scope-setattr": _symbol_table_case}


@pytest.mark.slow
@pytest.mark.parametrize("label", sorted(R5_1_CASES))
def test_reviewed_binder_reads_are_live(tmp_path: Path, label: str) -> None:
    _live(tmp_path, R5_1_CASES[label]())


@pytest.mark.slow
@pytest.mark.parametrize("label", sorted(R5_1_CASES))
def test_reviewed_binder_reads_are_refused(tmp_path: Path, label: str) -> None:
    _refused(tmp_path, R5_1_CASES[label]())


def test_installed_reviewed_statements_still_hold() -> None:
    """Benign side of R5-1: every reviewed statement of an installed reviewed module still passes the binding rule
    with the pins and premises in ``source_tables`` (otherwise the review is dead and its files are refused again)."""
    from safeload.catalog import source_tables as tables
    from safeload.catalog.source_imports import _bindings_reviewed, _is_reviewed_text

    checked = 0
    failing = []
    for module, reviewed in tables.REVIEWED_IMPORT_STATEMENTS.items():
        base = PURELIB.joinpath(*module.split("."))
        path = base / "__init__.py" if base.is_dir() else base.with_suffix(".py")
        if not path.exists():
            continue
        tree = ast.parse(path.read_text())
        pinned = {**reviewed, **tables.REVIEW_PINS.get(module, {})}
        premises = tables.REVIEWED_STATEMENT_IMPORTS.get(module, frozenset())
        for stmt in ast.walk(tree):
            if isinstance(stmt, ast.stmt) and _is_reviewed_text(ast.unparse(stmt), reviewed):
                checked += 1
                if not _bindings_reviewed(tree, stmt, pinned, premises):
                    failing.append((module, ast.unparse(stmt)[:80]))
    if not checked:
        pytest.skip("none of the reviewed modules is installed")
    assert not failing, failing


def test_binder_reads_follow_functions_and_classes() -> None:
    """The names a binder reads: a function's globals (not its parameters, locals or comprehension variables), a
    ``global`` name it assigns, what a class's dunders and decorated members read, and a plain method's reads only
    once code reads an attribute of that name."""
    from safeload.catalog.source_imports import _reads

    source = ("@deco(a)\nclass Literal(Apply, metaclass=M):\n    x = foo\n"
              "    def __init__(self, obj=dflt):\n        global G\n        G = 1\n        o = len(obj)\n"
              "        Apply.__init__(self)\n        def inner():\n            return o + gg + G\n"
              "        return [z for z in obj if q]\n    lam = lambda: w\n"
              "    def plain(self):\n        return hidden\n")
    cls = ast.parse(source).body[0]
    assert isinstance(cls, ast.stmt)
    names, attrs = _reads(cls, frozenset())
    assert names >= {"deco", "a", "Apply", "M", "foo", "dflt", "G", "len", "gg", "q", "w"}
    assert not names & {"self", "obj", "o", "inner", "hidden"}
    assert "__init__" in attrs
    assert "hidden" in _reads(cls, frozenset({"plain"}))[0]
    fn = ast.parse("def f(obj):\n    a = [z for z in obj]\n    return z\n").body[0]
    assert isinstance(fn, ast.stmt)
    assert _reads(fn, frozenset())[0] == {"z"}


# --- R5-2 (and R5-5): attribute reads of an instance the code creates, a metaclass mro() -------------------------
_GETATTRIBUTE = ("class E:\n    def __getattribute__(self, name):\n        open(MARKER, 'w').close()\n"
                 "        return object.__getattribute__(self, name)\n")
_GETATTR = "class E:\n    def __getattr__(self, name):\n        open(MARKER, 'w').close()\n"
_PROPERTY = "class E:\n    @property\n    def x(self):\n        open(MARKER, 'w').close()\n"

TOP_LEVELS = {
    "isinstance": _GETATTRIBUTE + "isinstance(E(), int)\n",
    "hasattr": _GETATTRIBUTE + "hasattr(E(), 'x')\n",
    "typing-list": "import typing\n" + _GETATTRIBUTE + "T = typing.List[E()]\n",
    "abc-callable": ("from collections.abc import Callable\n" + _GETATTRIBUTE
                     + "try:\n    T = Callable[E(), int]\nexcept TypeError:\n    pass\n"),
    "attribute-getattribute": _GETATTRIBUTE + "try:\n    E().x\nexcept AttributeError:\n    pass\n",
    "attribute-getattr": _GETATTR + "v = E().x\n",
    "attribute-property": _PROPERTY + "v = E().x\n",
    # R5-6: math.floor/math.ceil run the argument's __floor__/__ceil__
    "math-floor": ("import math\nclass E:\n    def __floor__(self):\n        open(MARKER, 'w').close()\n"
                   "        return 1\nv = math.floor(E())\n"),
    "math-ceil": ("import math\nclass E:\n    def __ceil__(self):\n        open(MARKER, 'w').close()\n"
                  "        return 1\nv = math.ceil(E())\n"),
    "math-floor-module-value": ("import math\nclass R:\n    def __str__(self):\n        open(MARKER, 'w').close()\n"
                                "        return ''\nclass E:\n    def __floor__(self):\n        return R()\n"
                                "V = math.floor(E())\nv = str(V)\n"),
    # R5-5: the metaclass's mro() runs at class creation
    "metaclass-mro": ("class M(type):\n    def mro(cls):\n        open(MARKER, 'w').close()\n"
                      "        return type.mro(cls)\nclass C(metaclass=M):\n    pass\n"),
}


def _top_level_case(label: str) -> LibCase:
    return LibCase({"r5pkg/__init__.py": "", "r5pkg/m.py": TOP_LEVELS[label] + "class X:\n    pass\n"},
                   lambda: _names_x("r5pkg.m"))


@pytest.mark.slow
@pytest.mark.parametrize("label", sorted(TOP_LEVELS))
def test_import_time_hook_is_live(tmp_path: Path, label: str) -> None:
    _live(tmp_path, _top_level_case(label))


@pytest.mark.slow
@pytest.mark.parametrize("label", sorted(TOP_LEVELS))
def test_import_time_hook_is_refused(tmp_path: Path, label: str) -> None:
    _refused(tmp_path, _top_level_case(label))


def test_instance_del_at_import_is_refused(tmp_path: Path) -> None:
    """Near miss: a fresh instance dropped at import runs its ``__del__``; already refused."""
    _refused(tmp_path, LibCase({"r5pkg/__init__.py": "", "r5pkg/m.py": "class E:\n    def __del__(self):\n"
                                "        open(MARKER, 'w').close()\nE()\nclass X:\n    pass\n"},
                               lambda: _names_x("r5pkg.m")))


# --- R5-3: the transitive shadow check misses a sourceless package and a directory filled later --------------------
# zoneinfo's C module imports datetime (not imported by safeload itself): a datetime package in the working directory
# (first on sys.path under ``python -c``) is what that import runs.
ROOT = Path(__file__).resolve().parent.parent
_SAFE_HERE = ("import safeload\ntry:\n    safeload.pickle_load(open('model.pkl', 'rb'))\n    print('LOADED')\n"
              "except safeload.SafeloadError:\n    print('REFUSED')\nexcept Exception as exc:\n    print('ERROR', repr(exc))\n")
_REAL_HERE = "import pickle\ntry:\n    pickle.load(open('model.pkl', 'rb'))\nexcept Exception:\n    pass\n"


def _run_here(folder: Path, code: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SAFELOAD_", "PYTEST_"))}
    clean.update(PYTHONPATH=str(ROOT), **env)
    return subprocess.run([sys.executable, "-c", code], env=clean, cwd=folder, capture_output=True, text=True,
                          timeout=300, check=False)


def _sourceless_package(folder: Path) -> None:
    (folder / "model.pkl").write_bytes(_ZONEINFO)
    (folder / "datetime").mkdir()
    source = folder / "shadow_src.py"
    source.write_text(_SHADOW)
    py_compile.compile(str(source), cfile=str(folder / "datetime" / "__init__.pyc"), doraise=True)
    source.unlink()


@pytest.mark.slow
def test_sourceless_package_shadow_is_live(tmp_path: Path) -> None:
    _sourceless_package(tmp_path)
    _run_here(tmp_path, _REAL_HERE)
    assert (tmp_path / "MARKER").exists()


@pytest.mark.slow
def test_sourceless_package_shadow_is_refused(tmp_path: Path) -> None:
    _sourceless_package(tmp_path)
    done = _run_here(tmp_path, _SAFE_HERE, SAFELOAD_CACHE="0")
    assert not (tmp_path / "MARKER").exists(), "the payload ran under safeload"
    assert "REFUSED" in done.stdout, done.stdout + done.stderr[-2000:]


_FILLED_LATER = """
import os, safeload
os.makedirs("datetime")
first = [f.rule_id for f in safeload.scan("model.pkl").findings if f.severity >= safeload.Severity.MEDIUM]
with open(os.path.join("datetime", "__init__.py"), "w") as fh:
    fh.write({shadow!r})
try:
    safeload.pickle_load(open("model.pkl", "rb"))
    print("LOADED", first)
except safeload.SafeloadError:
    print("REFUSED", first)
except Exception as exc:
    print("ERROR", repr(exc))
"""


@pytest.mark.slow
def test_package_directory_filled_after_scan_is_refused_transitively(tmp_path: Path) -> None:
    (tmp_path / "model.pkl").write_bytes(_ZONEINFO)
    done = _run_here(tmp_path, _FILLED_LATER.format(shadow=_SHADOW), SAFELOAD_CACHE="0")
    assert not (tmp_path / "MARKER").exists(), "the payload ran under safeload"
    assert "REFUSED []" in done.stdout, done.stdout + done.stderr[-2000:]


# --- R5-4: safeload's own lazy stdlib imports run files of the working directory ----------------------------------
# ``import safeload`` imports little; a load then imports mmap (reading the file), contextvars, and, for the scan
# cache (on by default; consulted when a digest is computed, e.g. expected_sha256, or for a large file), sqlite3,
# which imports datetime. Under ``python -c`` (or IPython, ``python -m``, a script in that directory) the working
# directory is sys.path[0]: a ``mmap.py`` there runs during ``safeload.pickle_load`` of any file, even ``[1, 2, 3]``,
# which ``pickle.load`` alone would never make run. Fixed by safeload/_stdlib_imports.py (a meta-path finder that
# resolves standard modules in the library directories while safeload's code is on the stack).
_PLAIN = b"\x80\x02]q\x00(K\x01K\x02K\x03e."


def _lazy_import_folder(tmp_path: Path, module: str) -> Path:
    (tmp_path / "model.pkl").write_bytes(_PLAIN)
    (tmp_path / f"{module}.py").write_text(_SHADOW)
    return tmp_path


@pytest.mark.slow
@pytest.mark.parametrize("module", ["mmap", "contextvars", "datetime"])
def test_lazy_import_shadow_is_not_run_by_the_plain_loader(tmp_path: Path, module: str) -> None:
    folder = _lazy_import_folder(tmp_path, module)
    done = _run_here(folder, "import pickle\nprint(pickle.load(open('model.pkl', 'rb')))\n")
    assert "[1, 2, 3]" in done.stdout, done.stderr[-2000:]
    assert not (folder / "MARKER").exists()


@pytest.mark.slow
@pytest.mark.parametrize("module", ["mmap", "contextvars", "datetime"])
def test_lazy_import_shadow_is_not_run_by_safeload(tmp_path: Path, module: str) -> None:
    folder = _lazy_import_folder(tmp_path, module)
    digest = __import__("hashlib").sha256(_PLAIN).hexdigest()
    _run_here(folder, f"import safeload\ntry:\n    safeload.pickle_load(open('model.pkl', 'rb'), "
                      f"expected_sha256={digest!r})\nexcept Exception:\n    pass\n",
              SAFELOAD_CACHE_DIR=str(tmp_path / "cache"))
    assert not (folder / "MARKER").exists(), "safeload's own import ran the working directory's file"


@pytest.mark.slow
def test_cached_verdict_does_not_hide_a_filled_package_directory(tmp_path: Path) -> None:
    """Across processes (the scan cache on, as by default): loaded clean while ``datetime/`` held no
    ``__init__``; after one is written into it, the payload must not run. (The cache's own ``sqlite3`` now imports
    the library's ``datetime`` before the scan, so the shadow is no longer reachable in that process: a clean load
    is right; without the cache the transitive check refuses it, also right.)"""
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o700)
    folder = tmp_path / "repo"
    folder.mkdir()
    (folder / "model.pkl").write_bytes(_ZONEINFO)
    (folder / "datetime").mkdir()
    (folder / "datetime" / "README").write_text("notes\n")
    first = _cached_load(folder, cache, safe=True)
    assert "LOADED" in first.stdout, first.stdout + first.stderr[-2000:]
    (folder / "datetime" / "__init__.py").write_text(_SHADOW)
    cached = _cached_load(folder, cache, safe=True)
    assert not (folder / "MARKER").exists(), "the payload ran under safeload"
    assert cached.stdout.strip() in {"LOADED", "REFUSED"}, cached.stdout + cached.stderr[-2000:]


# --- R5-6: results of calls and operators are tracked (source_effects ``Outcome.returns``) ---------------------
_R_STR = "class R:\n    def __str__(self):\n        open(MARKER, 'w').close()\n        return ''\n"
UNTRACKED_RESULTS = {
    "function-result": _R_STR + "def f():\n    return R()\nv = str(f())\n",
    "operator-result": _R_STR + "class E:\n    def __neg__(self):\n        return R()\nv = str(-E())\n",
    "math-floor-result": (_R_STR + "import math\nclass E:\n    def __floor__(self):\n        return R()\n"
                          "v = str(math.floor(E()))\n"),
}


def _untracked_case(label: str) -> LibCase:
    return LibCase({"r5pkg/__init__.py": "", "r5pkg/m.py": UNTRACKED_RESULTS[label] + "class X:\n    pass\n"},
                   lambda: _names_x("r5pkg.m"))


@pytest.mark.slow
@pytest.mark.parametrize("label", sorted(UNTRACKED_RESULTS))
def test_untracked_result_is_live(tmp_path: Path, label: str) -> None:
    _live(tmp_path, _untracked_case(label))


@pytest.mark.slow
@pytest.mark.parametrize("label", sorted(UNTRACKED_RESULTS))
def test_untracked_result_is_refused(tmp_path: Path, label: str) -> None:
    _refused(tmp_path, _untracked_case(label))
