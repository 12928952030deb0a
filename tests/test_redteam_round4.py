"""Red team round 4: safeload attacked with its source in hand (the round-3 fixes and the round-4 reviews).

Every case builds its file at test time and carries a harmless payload: it creates a marker under ``tmp_path`` (or,
through ``numpy._pytesttester.PytestTester``, makes pytest write ``.pytest_cache`` into the working directory, as
in rounds 2 and 3).

- ``test_<case>_is_live`` runs the payload under the real loader and sees the marker;
- ``test_<case>_is_refused`` runs the safe loader on the same file and asserts a refusal *and* an absent marker.
  Every finding below was a bypass on main (commit bf403ae holds them as strict xfails); the fixes on this branch
  flipped them to plain tests.

Near misses (attacks tried on the way that safeload already refuses) are plain regression tests.

Findings:
- R4-1 BUILD state handed to a ``__setstate__`` that does ``self.__dict__.update(state)`` (torch's Optimizer and
  Module) is read as attributes only when it is a dict or a *literal* list of *literal* pairs
  (engine/semantics.py ``_check_applied_state``). ``dict.update`` takes any mapping (``keys()``) or iterable of
  pairs: ``builtins.list/tuple/zip/reversed``, ``collections.deque/UserList/UserDict/ChainMap``,
  ``types.MappingProxyType`` of the pairs, a literal list with one pair built by ``builtins.tuple`` or given as a
  2-item object ndarray (numpy ``_reconstruct``), make
  ``_patch_step_function`` an attribute nobody ranked, and ``Optimizer.__setstate__`` calls it. Fixed here for
  those shapes (SL110: a pair sequence with computed items, a state built by a catalogued mapping/sequence
  container); a state of another class with ``keys()``/``__getitem__`` (a pandas Series...) stays open;
- R4-2 the scan cache serves a clean verdict without the SL117 shadow check: a verdict that rests on no source
  analysis stores no ``sys.path`` identities (integrity/cache.py ``source_identities``: ``if out:``), so the same
  bytes loaded from a working directory holding ``zoneinfo.py`` are served clean and pickle imports that file.
  Fixed here: the shadow check reports the directories its answer depends on with the verdict
  (catalog/source_files.py LOOKUP entries), and a verdict whose "no shadow" held only because the module was
  already imported is never stored;
- R4-3 a reviewed import-time statement (catalog/source_tables.py REVIEWED_IMPORT_STATEMENTS) is skipped when every
  *statement* binding a name it reads is reviewed too (source_imports._bindings_reviewed), but names bound by an
  import are taken on trust and a ``global`` assignment inside a function called at import is no binder: an
  edited ``imblearn/__init__.py`` that imports ``LazyLoader`` from another module of its own, or rebinds it through
  ``global``, runs other code in the reviewed ``keras = LazyLoader(...)``; likewise ``p0 = Literal(UndefinedValue)``
  in hyperopt.pyll.base; a class-body statement (imblearn's ``_parameter_constraints.update({...})``) after a
  class-body binding of the name it reads. Fixed here: an import binding a read name must be a premise the review
  lists (source_tables.REVIEWED_STATEMENT_IMPORTS), ``global`` declarations and the enclosing class body count as
  binders;
- R4-4 the SL117 lookup cache (catalog/shadow.py) revalidated "no shadow" by the sys.path entries' mtimes only:
  ``zoneinfo/__init__.py`` written into an existing empty ``zoneinfo/`` directory after a first scan changes no
  stamped mtime, and the same process loads the shadow. Fixed here: the package directory each searched location
  could hold is stamped too.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_redteam_round2 import LibCase, _g
from tests.test_redteam_round3 import _live, _load_in, _refused

ROOT = Path(__file__).resolve().parent.parent


def _pytest_runner() -> object:
    """``PytestTester("encodings")``: CALL allowed; *calling* the instance runs pytest (writes .pytest_cache)."""
    from tests.attacks import C, G

    return C(G("numpy._pytesttester", "PytestTester"), ("encodings",))


# --- R4-1: __dict__.update state given as a computed mapping or pair sequence ------------------------------------
# torch 2.13 optim/optimizer.py Optimizer.__setstate__: ``self.__dict__.update(state)``, then
# ``self._patch_step_function()``. The engine reads a dict state (literal or built by dict/OrderedDict) and a literal
# list of literal pairs; every other state goes to __setstate__ unread, and an object of a catalogued non-dict class
# is taken for "not a dict" (_not_a_dict) -- but dict.update accepts any mapping and any iterable of pairs.

def _optimizer_items() -> list[tuple[str, object]]:
    return [("defaults", {}), ("param_groups", []), ("state", {}), ("_patch_step_function", _pytest_runner())]


def _object_array_pair() -> object:
    """numpy.array(["_patch_step_function", PytestTester("encodings")], dtype=object) as numpy pickles it
    (``_reconstruct`` + BUILD whose state ends with the item list): iterated by dict.update, a 2-item pair."""
    import pickle

    import numpy as np

    from tests.attacks import C, G, Raw, _emit

    fragment = pickle.dumps(np.array(["_patch_step_function", "QQQQ"], dtype=object), protocol=2)[2:-1]
    placeholder = fragment.index(b"X\x04\x00\x00\x00QQQQ")
    end = placeholder + len(b"X\x04\x00\x00\x00QQQQ")
    if fragment[end:end + 1] == b"q":  # its memo PUT (never read back)
        end += 2
    runner = bytearray()
    _emit(C(G("numpy._pytesttester", "PytestTester"), ("encodings",)), runner)
    raw = Raw(0)
    raw.fragment = fragment[:placeholder] + bytes(runner) + fragment[end:]
    return raw


def _sgd_with_state(kind: str) -> bytes:
    from tests.attacks import C, G, assemble

    items = _optimizer_items()
    states: dict[str, object] = {
        "list-call": C(G("builtins", "list"), (items,)),
        "tuple-call": C(G("builtins", "tuple"), (items,)),
        "zip": C(G("builtins", "zip"), ([k for k, _ in items], [v for _, v in items])),
        "reversed": C(G("builtins", "reversed"), (items,)),
        "deque": C(G("collections", "deque"), (items,)),
        "userlist": C(G("collections", "UserList"), (items,)),
        "userdict": C(G("collections", "UserDict"), (dict(items),)),
        "chainmap": C(G("collections", "ChainMap"), (dict(items),)),
        "mappingproxy": C(G("types", "MappingProxyType"), (dict(items),)),
        "computed-pair": [*items[:3], C(G("builtins", "tuple"), (items[3],))],
        "object-array-pair": [*items[:3], _object_array_pair()],
    }
    return assemble(C(G("copyreg", "_reconstructor"), (G("torch.optim.sgd", "SGD"), G("builtins", "object"), None),
                      states[kind]))


_UPDATE_STATES = ["list-call", "tuple-call", "zip", "reversed", "deque", "userlist", "userdict", "chainmap",
                  "mappingproxy", "computed-pair", "object-array-pair"]


@pytest.mark.slow
@pytest.mark.parametrize("kind", _UPDATE_STATES)
def test_update_state_is_live(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "model.pkl"
    path.write_bytes(_sgd_with_state(kind))
    _load_in(tmp_path, "pickle", path, safe=False)
    assert (tmp_path / ".pytest_cache").exists()


@pytest.mark.slow
@pytest.mark.parametrize("kind", _UPDATE_STATES)
def test_update_state_is_refused(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "model.pkl"
    path.write_bytes(_sgd_with_state(kind))
    done = _load_in(tmp_path, "pickle", path, safe=True)
    assert not (tmp_path / ".pytest_cache").exists(), "the payload ran under safeload"
    assert "REFUSED" in done.stdout, done.stdout + done.stderr[-2000:]


@pytest.mark.slow
@pytest.mark.parametrize("container", ["torch-zip", "joblib"])
def test_update_state_is_refused_in_containers(tmp_path: Path, container: str) -> None:
    from tests import attacks

    path = tmp_path / "model.bin"
    path.write_bytes(attacks.CONTAINERS[container][0](_sgd_with_state("zip")))
    done = _load_in(tmp_path, container, path, safe=True)
    assert not (tmp_path / ".pytest_cache").exists(), "the payload ran under safeload"
    assert "REFUSED" in done.stdout, done.stdout + done.stderr[-2000:]


def test_update_state_literal_pairs_are_read(tmp_path: Path) -> None:
    """Near miss (the round-3 fix): the same pairs as a literal list are read and the runner is refused."""
    import safeload
    from tests.attacks import C, G, assemble

    path = tmp_path / "model.pkl"
    path.write_bytes(assemble(C(G("copyreg", "_reconstructor"),
                                (G("torch.optim.sgd", "SGD"), G("builtins", "object"), None), _optimizer_items())))
    blocking = [f.rule_id for f in safeload.scan(str(path)).findings if f.severity >= safeload.Severity.MEDIUM]
    assert blocking
    assert not (tmp_path / ".pytest_cache").exists()


# --- R4-2: a cached clean verdict skips the SL117 shadow check ----------------------------------------------------
# integrity/cache.py stores sys.path identities only when the scan's source analysis read files (``if out:`` in
# source_identities); a verdict resting on reviewed entries alone (zoneinfo.ZoneInfo) is served for the same bytes
# whatever the working directory holds. expected_sha256 makes every load consult the cache (a digest is computed
# anyway); without it, a second load of a large file at the same path does (the stat hint), and a zoneinfo.py
# dropped beside it after the first load is never seen.

_ZONEINFO = b"\x80\x02czoneinfo\nZoneInfo\nX\x03\x00\x00\x00UTC\x85R."
_SHADOW = "open('MARKER', 'w').close()\nclass ZoneInfo:\n    def __init__(self, *a):\n        pass\n"


def _cached_load(folder: Path, cache: Path, *, safe: bool) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SAFELOAD_", "PYTEST_"))}
    env.update(PYTHONPATH=str(ROOT), SAFELOAD_CACHE_DIR=str(cache))
    digest = hashlib.sha256(_ZONEINFO).hexdigest()
    code = ("import pickle, safeload\n"
            "try:\n"
            + (f"    safeload.pickle_load(open('model.pkl', 'rb'), expected_sha256={digest!r})\n" if safe
               else "    pickle.load(open('model.pkl', 'rb'))\n")
            + "    print('LOADED')\nexcept safeload.SafeloadError:\n    print('REFUSED')\n")
    return subprocess.run([sys.executable, "-c", code], env=env, cwd=folder, capture_output=True, text=True,
                          timeout=300, check=False)


def _folders(tmp_path: Path) -> tuple[Path, Path, Path]:
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o700)
    clean, evil = tmp_path / "clean", tmp_path / "evil"
    for folder in (clean, evil):
        folder.mkdir()
        (folder / "model.pkl").write_bytes(_ZONEINFO)
    (evil / "zoneinfo.py").write_text(_SHADOW)
    return cache, clean, evil


@pytest.mark.slow
def test_cached_shadow_is_live(tmp_path: Path) -> None:
    cache, _, evil = _folders(tmp_path)
    _cached_load(evil, cache, safe=False)
    assert (evil / "MARKER").exists()


@pytest.mark.slow
def test_shadow_is_refused_without_cache_entry(tmp_path: Path) -> None:
    """Near miss: the same load with no cached verdict is refused (SL117)."""
    cache, _, evil = _folders(tmp_path)
    done = _cached_load(evil, cache, safe=True)
    assert not (evil / "MARKER").exists(), "the payload ran under safeload"
    assert "REFUSED" in done.stdout, done.stdout + done.stderr[-2000:]


@pytest.mark.slow
def test_cached_verdict_does_not_skip_shadow_check(tmp_path: Path) -> None:
    cache, clean, evil = _folders(tmp_path)
    first = _cached_load(clean, cache, safe=True)
    assert "LOADED" in first.stdout, first.stdout + first.stderr[-2000:]
    done = _cached_load(evil, cache, safe=True)
    assert not (evil / "MARKER").exists(), "the payload ran under safeload"
    assert "REFUSED" in done.stdout, done.stdout + done.stderr[-2000:]


# --- R4-3: reviewed import-time statements reading a name bound elsewhere -----------------------------------------
# The real imbalanced-learn 0.14.2 defines LazyLoader in imblearn/__init__.py (its class statement is reviewed by
# sha256) and hyperopt 0.3.0 defines Literal/UndefinedValue in pyll/base.py. In the edited packages below the
# reviewed statement is word for word the same, but the callee is another class whose __init__ creates the marker.

_EVIL_CLASS = "class {name}:\n    def __init__(self, *a):\n        open(MARKER, 'w').close()\n"
_REVIEWED_KERAS = "keras = LazyLoader('keras', globals(), 'imblearn.keras')\n"


def _names_x(module: str) -> bytes:
    return b"\x80\x02" + _g(module, "X") + b"."


R4_STATEMENT_BYPASSES: dict[str, LibCase] = {
    "imblearn-lazyloader-imported": LibCase({
        "imblearn/__init__.py": "from imblearn._lazy import LazyLoader\n" + _REVIEWED_KERAS,
        "imblearn/_lazy.py": _EVIL_CLASS.format(name="LazyLoader"),
        "imblearn/m.py": "class X:\n    pass\n"}, lambda: _names_x("imblearn.m")),
    "imblearn-lazyloader-global": LibCase({
        "imblearn/__init__.py": _EVIL_CLASS.format(name="_E") + "def _rebind():\n    global LazyLoader\n"
                                "    LazyLoader = _E\n_rebind()\n" + _REVIEWED_KERAS,
        "imblearn/m.py": "class X:\n    pass\n"}, lambda: _names_x("imblearn.m")),
    "imblearn-lazyloader-class-body-global": LibCase({
        "imblearn/__init__.py": _EVIL_CLASS.format(name="_E") + "class _C:\n    global LazyLoader\n"
                                "    LazyLoader = _E\n" + _REVIEWED_KERAS,
        "imblearn/m.py": "class X:\n    pass\n"}, lambda: _names_x("imblearn.m")),
    "imblearn-lazyloader-star-import": LibCase({
        "imblearn/__init__.py": "from imblearn._lazy import *\n" + _REVIEWED_KERAS,
        "imblearn/_lazy.py": _EVIL_CLASS.format(name="LazyLoader"),
        "imblearn/m.py": "class X:\n    pass\n"}, lambda: _names_x("imblearn.m")),
    "hyperopt-literal-imported": LibCase({
        "hyperopt/__init__.py": "", "hyperopt/pyll/__init__.py": "",
        "hyperopt/pyll/base.py": "from hyperopt._e import Literal, UndefinedValue\np0 = Literal(UndefinedValue)\n"
                                 "class X:\n    pass\n",
        "hyperopt/_e.py": "class UndefinedValue:\n    pass\n" + _EVIL_CLASS.format(name="Literal")},
        lambda: _names_x("hyperopt.pyll.base")),
}

# Near misses: the same callee under a statement that is not reviewed word for word, and an unreviewed class
# statement binding the name (the round-4 fix), are analysed and refused.
R4_STATEMENT_REFUSED: dict[str, LibCase] = {
    "imblearn-statement-edited": LibCase({
        "imblearn/__init__.py": "from imblearn._lazy import LazyLoader\n"
                                "keras2 = LazyLoader('keras', globals(), 'imblearn.keras')\n",
        "imblearn/_lazy.py": _EVIL_CLASS.format(name="LazyLoader"),
        "imblearn/m.py": "class X:\n    pass\n"}, lambda: _names_x("imblearn.m")),
    "imblearn-lazyloader-class-edited": LibCase({
        "imblearn/__init__.py": _EVIL_CLASS.format(name="LazyLoader") + _REVIEWED_KERAS,
        "imblearn/m.py": "class X:\n    pass\n"}, lambda: _names_x("imblearn.m")),
}


@pytest.mark.slow
@pytest.mark.parametrize("label", sorted(R4_STATEMENT_BYPASSES))
def test_reviewed_statement_bypass_is_live(tmp_path: Path, label: str) -> None:
    _live(tmp_path, R4_STATEMENT_BYPASSES[label])


@pytest.mark.slow
@pytest.mark.parametrize("label", sorted(R4_STATEMENT_BYPASSES))
def test_reviewed_statement_bypass_is_refused(tmp_path: Path, label: str) -> None:
    _refused(tmp_path, R4_STATEMENT_BYPASSES[label])


@pytest.mark.slow
@pytest.mark.parametrize("label", sorted(R4_STATEMENT_REFUSED))
def test_reviewed_statement_near_miss_is_live(tmp_path: Path, label: str) -> None:
    _live(tmp_path, R4_STATEMENT_REFUSED[label])


@pytest.mark.slow
@pytest.mark.parametrize("label", sorted(R4_STATEMENT_REFUSED))
def test_reviewed_statement_near_miss_is_refused(tmp_path: Path, label: str) -> None:
    _refused(tmp_path, R4_STATEMENT_REFUSED[label])


def _bagging_case() -> LibCase:
    """imblearn.ensemble._bagging with the reviewed class-body statement ``_parameter_constraints.update({...})``
    word for word (read from the installed imbalanced-learn), after a class-body binding of
    ``_parameter_constraints`` to an object whose ``update`` creates the marker (main checked module-level
    binders only)."""
    import ast
    import sysconfig

    real = Path(sysconfig.get_paths()["purelib"]) / "imblearn" / "ensemble" / "_bagging.py"
    if not real.exists():
        pytest.skip("imbalanced-learn not installed")
    tree = ast.parse(real.read_text())
    cls = next(n for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and n.name == "BalancedBaggingClassifier")
    update = next(ast.unparse(s) for s in cls.body if ast.unparse(s).startswith("_parameter_constraints.update("))
    source = ("import numbers\nfrom sklearn.utils._param_validation import HasMethods, Interval, StrOptions\n"
              "class _Evil:\n    def update(self, *a, **k):\n        open(MARKER, 'w').close()\n"
              "class BalancedBaggingClassifier:\n    _parameter_constraints = _Evil()\n"
              + "".join(f"    {line}\n" for line in update.splitlines()) + "class X:\n    pass\n")
    return LibCase({"imblearn/__init__.py": "", "imblearn/ensemble/__init__.py": "", "imblearn/ensemble/_bagging.py": source},
                   lambda: _names_x("imblearn.ensemble._bagging"))


@pytest.mark.slow
def test_reviewed_class_body_statement_bypass_is_live(tmp_path: Path) -> None:
    _live(tmp_path, _bagging_case())


@pytest.mark.slow
def test_reviewed_class_body_statement_bypass_is_refused(tmp_path: Path) -> None:
    _refused(tmp_path, _bagging_case())



# --- R4-4: the SL117 lookup cache misses a package directory filled after the first scan --------------------------
# catalog/shadow.py revalidated a cached "no shadow" by the mtimes of the sys.path entries (and namespace portions)
# only. An empty ``zoneinfo/`` directory in the working directory is no package (the stdlib one wins); writing
# ``zoneinfo/__init__.py`` into it changes that directory's mtime, not the working directory's, so a second scan in
# the same process served the stale answer and pickle imported the new package.

_IN_PROCESS = """
import os, safeload
os.makedirs("zoneinfo")
first = [f.rule_id for f in safeload.scan("model.pkl").findings if f.severity >= safeload.Severity.MEDIUM]
with open(os.path.join("zoneinfo", "__init__.py"), "w") as fh:
    fh.write({shadow!r})
try:
    safeload.pickle_load(open("model.pkl", "rb"))
    print("LOADED", first)
except safeload.SafeloadError:
    print("REFUSED", first)
"""


@pytest.mark.slow
def test_package_directory_filled_after_scan_is_refused(tmp_path: Path) -> None:
    (tmp_path / "model.pkl").write_bytes(_ZONEINFO)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SAFELOAD_", "PYTEST_"))}
    env.update(PYTHONPATH=str(ROOT), SAFELOAD_CACHE="0")
    done = subprocess.run([sys.executable, "-c", _IN_PROCESS.format(shadow=_SHADOW)], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=300, check=False)
    assert not (tmp_path / "MARKER").exists(), "the payload ran under safeload"
    assert "REFUSED []" in done.stdout, done.stdout + done.stderr[-2000:]


@pytest.mark.slow
def test_package_directory_filled_after_scan_is_live(tmp_path: Path) -> None:
    (tmp_path / "model.pkl").write_bytes(_ZONEINFO)
    (tmp_path / "zoneinfo").mkdir()
    (tmp_path / "zoneinfo" / "__init__.py").write_text(_SHADOW)
    done = subprocess.run([sys.executable, "-c", "import pickle; pickle.load(open('model.pkl', 'rb'))"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False)
    assert (tmp_path / "MARKER").exists(), done.stderr[-2000:]


def test_reviewed_statements_have_their_import_premises_listed() -> None:
    """Every import binding a name a reviewed statement of an installed module reads is listed as that review's
    premise (REVIEWED_STATEMENT_IMPORTS); otherwise the R4-3 rule analyses the statement again and the review is
    dead. Run after adding a review: the assertion names the missing imports."""
    import ast
    import hashlib
    import sysconfig

    from safeload.catalog import source_tables as tables
    from safeload.catalog.source_imports import _STAR, _import_bindings, _toplevel_statements

    purelib = Path(sysconfig.get_paths()["purelib"])
    missing: dict[str, set[str]] = {}
    checked = 0
    for module, reviewed in tables.REVIEWED_IMPORT_STATEMENTS.items():
        base = purelib.joinpath(*module.split("."))
        path = base / "__init__.py" if base.is_dir() else base.with_suffix(".py")
        if not path.exists():
            continue
        tree = ast.parse(path.read_text())
        imports = [s for s in _toplevel_statements(tree.body) if isinstance(s, ast.Import | ast.ImportFrom)]
        for stmt in ast.walk(tree):
            if not isinstance(stmt, ast.stmt):
                continue
            text = ast.unparse(stmt)
            if text not in reviewed and "sha256:" + hashlib.sha256(text.encode()).hexdigest() not in reviewed:
                continue
            checked += 1
            read = {n.id for n in ast.walk(stmt) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
            for binder in imports:
                for name, form in _import_bindings(binder):
                    if (name in read or name == _STAR) and form not in tables.REVIEWED_STATEMENT_IMPORTS.get(
                            module, frozenset()):
                        missing.setdefault(module, set()).add(form)
    if not checked:
        pytest.skip("none of the reviewed modules is installed")
    assert not missing, missing


def test_transitive_shadow_hidden_by_this_process_imports_is_not_cached(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """R4-2 for the transitive SL117 check: ``datetime`` is already imported here, so a ``datetime.py`` on a
    non-library path entry cannot run in this process and the zoneinfo pickle scans clean; a fresh process would
    import that file through ``zoneinfo``, so the verdict must never be stored for it."""
    from safeload.policy import Policy
    from safeload.scan import scan_checked

    assert "datetime" in sys.modules
    planted = tmp_path / "planted"
    planted.mkdir()
    (planted / "datetime.py").write_text("open('MARKER', 'w').close()\n")
    model = tmp_path / "model.pkl"
    model.write_bytes(_ZONEINFO)
    monkeypatch.setenv("SAFELOAD_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.syspath_prepend(str(planted))
    first = scan_checked(str(model), Policy(), want_digest=True, cache_default=True)
    second = scan_checked(str(model), Policy(), want_digest=True, cache_default=True)
    assert first.integrity is not None and second.integrity is not None
    assert not second.integrity["cached"], "a verdict this process's imports decided was served from the cache"
    assert not (tmp_path / "MARKER").exists() and not Path("MARKER").exists()
