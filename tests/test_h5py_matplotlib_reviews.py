"""Round 8 (branch h5mpl): the lead's decision reversing round 5 -- the imports of h5py 3.14.0, matplotlib 3.11.2
and pmdarima 2.1.1 are reviewed (``reviewed.IMPORT_REVIEWS``) as environment set-up: fixed commands (``uname -p``,
``fc-list``) and fixed per-user cache locations (``~/.config/matplotlib``, ``~/.cache/matplotlib``), nothing chosen
by the scanned file. And the source analysis reads a class bound in both branches of one module-level ``if``
(tslearn 0.10.0's ``PyTorchBackend`` under ``if not HAS_TORCH:``): a call of it is inert only when calling each
alternative is.

What each test checks:

- the reviews name the installed versions; every module the reviewed imports do not load is outside the vouch
  (``IMPORT_NOT_COVERED``, checked against the installed packages by listing files, never importing them here);
- the measurement the review notes rest on, repeated under an audit hook in a fresh process with an empty ``HOME``:
  the only process h5py starts is ``uname -p``, matplotlib's are ``fc-list``, every file written or directory made
  lies under ``HOME``, the only socket is urllib3's loopback probe (pmdarima), no connection;
- a ``matplotlibrc`` in the current directory naming a ``module://`` backend does not import that module when
  matplotlib.pyplot or pmdarima is imported (a live twin shows the module is importable and runs when a figure is
  made);
- the vouches cover imports only: a file calling matplotlib/h5py functions (switch_backend to a module of its
  choice, h5py.File, json_dump of the font cache), a BUILD state swapping ``__setstate__`` or holding a callable,
  is refused, and the payload did not run (live twins under plain pickle.load where cheap);
- the conditional-class rule: two alternatives, each inert to call, are accepted at import; an alternative with an
  effect, three bindings, a try/except pair, a later rebinding, a method called on the instance, a subclass of the
  name and a file naming it stay refused.

Nothing scanned is ever imported by safeload (``tests/longtail_helpers.analysed`` checks ``sys.modules``); the
imports measured here run in subprocesses.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import safeload
from safeload.catalog import source_analysis as sa
from safeload.catalog._gen.closure import THIRD_PARTY_REVIEWED
from safeload.catalog.decide import catalogue_view
from safeload.catalog.reviewed import IMPORT_NOT_COVERED, IMPORT_REVIEWED, IMPORT_REVIEWS, import_not_covered
from safeload.catalog.uses import Use
from tests.attacks import C, G, Raw, assemble
from tests.longtail_helpers import AUDIT_HOOK, NUMPY_ENV_EVENTS, analysed, installed_version, payload, refused

needs = {dist: pytest.mark.skipif(installed_version(dist) is None, reason=f"{dist} not installed")
         for dist in ("h5py", "matplotlib", "pmdarima", "tslearn", "pyod")}


def _env(home: Path) -> dict[str, str]:
    """A fresh environment: an empty HOME, no XDG/MPL settings inherited."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONWARNINGS": "ignore"}


# --- the reviews --------------------------------------------------------------------------------------------------
def test_the_reviews_name_the_installed_versions() -> None:
    for package in ("h5py", "matplotlib", "pmdarima"):
        assert package in IMPORT_REVIEWED
        found = installed_version(package)
        if found is not None:
            assert IMPORT_REVIEWS[package].startswith(f"{package} {found} "), package
    for package, dist in (("pyparsing", "pyparsing"), ("cycler", "cycler"), ("kiwisolver", "kiwisolver"),
                          ("fontTools", "fonttools"), ("mpl_toolkits", "matplotlib")):
        found = installed_version(dist)
        if found is not None:
            assert f" {found} " in THIRD_PARTY_REVIEWED[package], package
    # what each note says the import does (the audit test below measures it)
    assert "`uname -p`" in IMPORT_REVIEWS["h5py"] and "atexit" in IMPORT_REVIEWS["h5py"]
    for said in ("fc-list", "~/.cache/matplotlib", "~/.config/matplotlib", "./matplotlibrc", "MPLBACKEND",
                 "locale.setlocale", "MPLCONFIGDIR"):
        assert said in IMPORT_REVIEWS["matplotlib"], said
    for said in ("PMD_MPL_BACKEND", "PoolManager", "get_backend", "_check_build", "_arima"):
        assert said in IMPORT_REVIEWS["pmdarima"], said


_UNREAD = """
import importlib, importlib.util, json, os, sys
for name in sys.argv[1].split(","):
    importlib.import_module(name)
out = {}
for pkg in sys.argv[2].split(","):
    root = list(importlib.util.find_spec(pkg).submodule_search_locations)[0]
    names = set()
    for d, dirs, files in os.walk(root):
        dirs[:] = [x for x in dirs if x != "__pycache__" and x.isidentifier()]
        rel = os.path.relpath(d, os.path.dirname(root)).replace(os.sep, ".")
        for f in files:
            if f.endswith((".py", ".so", ".pyd")):
                stem = f.split(".")[0]
                names.add(rel if stem == "__init__" else rel + "." + stem)
    out[pkg] = sorted(names - set(sys.modules))
print(json.dumps(out))
"""


@pytest.mark.parametrize(("imports", "package", "loaded"), [
    ("h5py", "h5py", ("h5py", "h5py._hl.files", "h5py._conv", "h5py.h5t")),
    ("matplotlib.pyplot,matplotlib.backends.backend_agg", "matplotlib",
     ("matplotlib", "matplotlib.pyplot", "matplotlib.font_manager", "matplotlib.backends.backend_agg")),
    ("pmdarima,pmdarima.pipeline", "pmdarima",
     ("pmdarima", "pmdarima.utils.visualization", "pmdarima.datasets._base", "pmdarima.arima._arima")),
])
def test_import_not_covered_lists_every_module_the_import_does_not_load(tmp_path: Path, imports: str, package: str,
                                                                        loaded: tuple[str, ...]) -> None:
    if installed_version(package) is None:
        pytest.skip(f"{package} not installed")
    run = subprocess.run([sys.executable, "-c", _UNREAD, imports, package], capture_output=True, text=True,
                         check=True, timeout=600, cwd=tmp_path, env=_env(tmp_path))
    unread = json.loads(run.stdout.strip().splitlines()[-1])[package]
    assert unread, package
    missing = [m for m in unread if not import_not_covered(m)]
    assert not missing, f"{package}: modules the review did not read are vouched: {missing}"
    listed = IMPORT_NOT_COVERED[package]
    assert all(m in unread or any(u.startswith(m + ".") for u in unread) for m in listed)
    for name in loaded:
        assert not import_not_covered(name) and catalogue_view(name, Use.IMPORT) is True, name
    assert catalogue_view(f"{package}.tests", Use.IMPORT) is None


_AUDIT = AUDIT_HOOK + """
import importlib
for name in sys.argv[1].split(","):
    importlib.import_module(name)
print(json.dumps(events))
"""


def _audited(tmp_path: Path, imports: str) -> list[list[str]]:
    home, cwd = tmp_path / "home", tmp_path / "cwd"
    home.mkdir()
    cwd.mkdir()
    run = subprocess.run([sys.executable, "-c", _AUDIT, imports], capture_output=True, text=True, check=True,
                         timeout=600, cwd=cwd, env=_env(home))
    recorded: list[list[str]] = json.loads(run.stdout.strip().splitlines()[-1])
    events = [e for e in recorded if e not in NUMPY_ENV_EVENTS]  # numpy's, reviewed with numpy
    for event, what in events:
        if event in ("write", "os.mkdir", "os.remove", "os.rename", "os.replace", "shutil.rmtree"):
            assert what.startswith(str(home) + os.sep), (event, what)  # fixed per-user locations only
    assert not list(cwd.iterdir())
    return events


@needs["h5py"]
def test_h5py_import_runs_uname_p_and_writes_nothing(tmp_path: Path) -> None:
    events = _audited(tmp_path, "h5py")
    assert events == [["process", "uname -p"]], events


@needs["matplotlib"]
def test_matplotlib_import_runs_fc_list_and_writes_its_cache_under_home(tmp_path: Path) -> None:
    events = _audited(tmp_path, "matplotlib.pyplot")
    assert {what for event, what in events if event == "process"} == {"fc-list --help", r"fc-list --format=%{file}\n"}
    home = tmp_path / "home"
    writes = {what for event, what in events if event == "write"}
    assert writes == {str(home / ".cache/matplotlib/fontlist-v3.11.0.json"),
                      str(home / ".cache/matplotlib/fontlist-v3.11.0.json.matplotlib-lock")}
    assert {what for event, what in events if event == "os.mkdir"} <= {
        str(home / ".config"), str(home / ".config/matplotlib"), str(home / ".cache"), str(home / ".cache/matplotlib")}
    assert not [e for e in events if e[0].startswith("socket")]


@needs["pmdarima"]
def test_pmdarima_import_adds_only_urllib3s_loopback_probe(tmp_path: Path) -> None:
    events = _audited(tmp_path, "pmdarima,pmdarima.pipeline")
    assert {what for event, what in events if event == "process"} <= {"fc-list --help", r"fc-list --format=%{file}\n"}
    sockets = [e for e in events if e[0].startswith("socket")]
    assert sockets and all(e == ["socket.bind", "(('::1', 0),)"] for e in sockets), sockets


_RC_MODULE = "import pathlib\npathlib.Path({marker!r}).touch()\nclass FigureCanvas:\n" \
             "    required_interactive_framework = None\n"


@pytest.mark.parametrize("imports", ["matplotlib.pyplot", "pmdarima"])
def test_a_matplotlibrc_in_the_working_directory_imports_no_backend(tmp_path: Path, imports: str) -> None:
    """``backend: module://atk_backend`` in ./matplotlibrc (a cloned model repository could ship one, with the
    module beside it: ``python -c`` puts the working directory on sys.path): importing matplotlib.pyplot or
    pmdarima records the name and imports nothing; making a figure (the live twin) would run it."""
    package = imports.split(".", maxsplit=1)[0]
    if installed_version(package) is None:
        pytest.skip(f"{package} not installed")
    home, cwd, marker = tmp_path / "home", tmp_path / "cwd", tmp_path / "marker"
    home.mkdir()
    cwd.mkdir()
    (cwd / "matplotlibrc").write_text("backend: module://atk_backend\n")
    (cwd / "atk_backend.py").write_text(_RC_MODULE.format(marker=str(marker)))
    code = (f"import {imports}, matplotlib, sys; print(matplotlib.rcParams._get('backend'), "
            "'atk_backend' in sys.modules)")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=600,
                         cwd=cwd, env=_env(home))
    assert run.stdout.split() == ["module://atk_backend", "False"]
    assert not marker.exists()
    live = subprocess.run([sys.executable, "-c", f"import {imports}\nimport matplotlib.pyplot as plt\n"
                           "try:\n    plt.figure()\nexcept Exception:\n    pass\n"],
                          capture_output=True, text=True, timeout=600, cwd=cwd, env=_env(home), check=False)
    assert marker.exists(), live.stderr[-2000:]


# --- the vouches cover imports only: attacks through the newly vouched packages --------------------------------------
_LIVE = "import pickle, sys\ntry:\n    pickle.loads(open(sys.argv[1], 'rb').read())\nexcept Exception:\n    pass\n"


def _live_twin(tmp_path: Path, data: bytes, marker: Path, extra_path: Path | None = None) -> None:
    """Under plain pickle.load (a subprocess with an empty HOME) the payload runs: the marker appears."""
    home = tmp_path / "live-home"
    home.mkdir(exist_ok=True)
    path = tmp_path / "live.pkl"
    path.write_bytes(data)
    env = _env(home) | ({"PYTHONPATH": str(extra_path)} if extra_path else {})
    subprocess.run([sys.executable, "-c", _LIVE, str(path)], capture_output=True, text=True, timeout=600,
                   cwd=tmp_path, env=env, check=False)
    assert marker.exists()
    marker.unlink()


@needs["matplotlib"]
def test_a_file_switching_matplotlib_to_a_backend_of_its_choice_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    mods = tmp_path / "mods"
    mods.mkdir()
    (mods / "atk_backend.py").write_text(_RC_MODULE.format(marker=str(marker)))
    for func in (G("matplotlib.pyplot", "switch_backend"), G("matplotlib", "use")):
        data = assemble(C(func, ("module://atk_backend",)))
        if func.name == "switch_backend":
            _live_twin(tmp_path, data, marker, mods)
        sys.path.insert(0, str(mods))
        try:
            refused(data, marker)
        finally:
            sys.path.remove(str(mods))
        assert "atk_backend" not in sys.modules


@needs["matplotlib"]
def test_a_file_calling_the_font_cache_writer_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    data = assemble(C(G("matplotlib.font_manager", "json_dump"), (Raw({}), str(marker))))
    _live_twin(tmp_path, data, marker)
    refused(data, marker)
    refused(assemble(C(G("matplotlib.font_manager", "_load_fontmanager"), ())), marker)


@needs["h5py"]
def test_a_file_creating_an_hdf5_file_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    data = assemble(C(G("h5py", "File"), (str(marker), "w")))
    _live_twin(tmp_path, data, marker)
    refused(data, marker)
    refused(assemble(C(G("h5py._hl.files", "File"), (str(marker), "w"))), marker)


@pytest.mark.parametrize(("module", "name", "dist"), [
    ("pyod.models.copod", "COPOD", "pyod"),
    ("pyod.models.ecod", "ECOD", "pyod"),
    ("tslearn.preprocessing.preprocessing", "TimeSeriesScalerMeanVariance", "tslearn"),
    ("pmdarima.arima.arima", "ARIMA", "pmdarima"),
])
def test_state_and_call_attacks_on_the_freed_classes_are_refused(tmp_path: Path, module: str, name: str,
                                                                 dist: str) -> None:
    """The freed classes with a ``__setstate__`` swapped in by BUILD state, a callable in their state, the class
    called with a callable argument. (Calling an instance of them is not an attack: none defines ``__call__``, so
    the load raises TypeError; the scan may pass it.)"""
    if installed_version(dist) is None:
        pytest.skip(f"{dist} not installed")
    marker = tmp_path / "marker"
    cls = G(module, name)
    attacks = [
        C(cls, (), {"__setstate__": G("builtins", "exec")}),
        C(cls, (), {"n_jobs": payload(marker)}),
        C(cls, (), ({}, {"contamination": payload(marker)})),
        C(cls, (payload(marker),)),
        C(cls, (G("builtins", "exec"),)),
    ]
    for attack in attacks:
        refused(assemble(attack), marker)


# --- statsmodels' SARIMAXResultsWrapper, reviewed for CALL_INSTANCE (pmdarima's ARIMA.arima_res_) ----------------
_WRAPPER = G("statsmodels.tsa.statespace.sarimax", "SARIMAXResultsWrapper")


def _wrapper(state: object) -> bytes:
    return assemble(C(G("copyreg", "_reconstructor"), (_WRAPPER, G("builtins", "object"), None), state))


@pytest.mark.skipif(installed_version("statsmodels") is None, reason="statsmodels not installed")
def test_the_results_wrapper_admits_only_states_that_keep_its_class_tables(tmp_path: Path) -> None:
    """A state shadowing ``_wrap_attrs``/``_wrap_methods`` would hand the forwarding ``how`` objects the file chose
    (truth test, ``==``): refused, like a swapped ``__setstate__``, a callable as ``_results``, slot state."""
    from safeload.catalog.entries import lookup

    entry = lookup("statsmodels.tsa.statespace.sarimax.SARIMAXResultsWrapper")
    assert entry is not None and set(entry.build_refuses) == {"_wrap_attrs", "_wrap_methods"}
    assert entry.note.startswith("statsmodels 0.15.0 ")
    marker = tmp_path / "marker"
    clean = safeload.scan(_wrapper({"_results": None, "__doc__": "SARIMAX results"}))
    assert clean.is_safe(), clean.findings
    for state in ({"_results": None, "_wrap_attrs": {"params": payload(marker)}},
                  {"_results": None, "_wrap_methods": {}},
                  {"_results": None, "__setstate__": G("builtins", "exec")},
                  {"_results": payload(marker)},
                  (None, {"_results": None})):
        refused(_wrapper(state), marker)


# --- a class bound in both branches of one `if` ------------------------------------------------------------------
_BRANCHES = """
    import os
    try:
        import atkc_missing_backend as _b
        HAS_B = True
    except ImportError:
        HAS_B = False

    if not HAS_B:
        class Backend:
            def __init__(self):
                raise ValueError("backend missing")
    else:
        class Backend(object):
            def __init__(self):
                self.name = "b"
                self.sep = os.sep

    def select_backend(data):
        if "b" in str(data):
            return Backend()
        return None
"""

_USER = """
    from atkc.backends import select_backend

    class Holder:
        def __init__(self, data=None):
            self.backend = select_backend(data)

    DEFAULT = Holder("b")

    class Plain:
        pass
"""


def _branches(site: Path, branches: str = _BRANCHES, user: str = _USER, qualname: str = "Plain",
              uses: Use = Use.NEW) -> sa.Analysis:
    files = {"atkc/__init__.py": "", "atkc/backends.py": textwrap.dedent(branches),
             "atkc/user.py": textwrap.dedent(user)}
    return analysed(site, files, "atkc.user", qualname, uses)


def test_a_call_of_a_class_bound_in_both_branches_is_inert_when_each_is(site: Path) -> None:
    """tslearn 0.10.0: ``if not HAS_TORCH: class PyTorchBackend`` (raises) ``else: class PyTorchBackend(object)``
    (sets attributes), called at import through ``instantiate_backend('torch')``."""
    a = _branches(site)
    assert a.import_effects.inert, a.import_effects.reason
    assert all(u.inert for u in a.uses)


@pytest.mark.parametrize("edit", [
    # one alternative has an effect (either branch)
    ('raise ValueError("backend missing")', 'open(MARKER, "w").close()'),
    ('self.name = "b"', 'open(MARKER, "w").close()'),
    ('self.sep = os.sep', 'os.system("true")'),
    # an elif: three bindings
    ("    else:\n        class Backend(object):",
     "    elif HAS_B:\n        class Backend:\n            def __init__(self):\n                open(MARKER, 'w')\n"
     "    else:\n        class Backend(object):"),
    # rebound later, or deleted
    ("    def select_backend(data):", "    Backend = os.system\n    def select_backend(data):"),
    ("    def select_backend(data):", "    del Backend\n    def select_backend(data):"),
    ("    def select_backend(data):", "    def _f():\n        global Backend\n        Backend = os.system\n"
                             "    def select_backend(data):"),
    # a star import after the branches that may rebind it
    ("    def select_backend(data):", "    from atkc.other import *\n    def select_backend(data):"),
    # the instance is used beyond construction: its methods/protocol are not known
    ("            return Backend()", "            return Backend().run()"),
    ("            return Backend()", "            return len(Backend())"),
], ids=["raise-branch-effect", "else-branch-effect", "else-branch-call", "elif", "rebound", "deleted", "global",
        "star", "method-call", "protocol"])
def test_other_conditional_bindings_stay_refused(site: Path, edit: tuple[str, str]) -> None:
    source = textwrap.dedent(_BRANCHES)
    old, new = edit
    old, new = textwrap.dedent(old), textwrap.dedent(new)
    assert old in source, old
    source = source.replace(old, new)
    files = {"atkc/__init__.py": "", "atkc/backends.py": source, "atkc/user.py": textwrap.dedent(_USER),
             "atkc/other.py": "import os\nBackend = os.system\n"}
    a = analysed(site, files, "atkc.user", "Plain", Use.NEW)
    assert not a.import_effects.inert


def test_try_except_pairs_stay_refused(site: Path) -> None:
    """Both bindings in a try and its handler: not an if/else (the try body may bind and then raise)."""
    branches = textwrap.dedent(_BRANCHES).replace(
        "if not HAS_B:\n    class Backend:", "try:\n    class Backend:").replace(
        "else:\n    class Backend(object):", "except Exception:\n    class Backend(object):")
    assert "try:\n    class Backend:" in branches
    assert not _branches(site, branches).import_effects.inert


def test_a_subclass_of_the_name_and_the_name_itself_stay_refused(site: Path) -> None:
    sub = textwrap.dedent(_USER) + "\nfrom atkc.backends import Backend\n\nclass Sub(Backend):\n    pass\n"
    assert not all(u.inert for u in _branches(site, user=sub, qualname="Sub").uses) or not _branches(
        site, user=sub, qualname="Sub").import_effects.inert
    files = {"atkc/__init__.py": "", "atkc/backends.py": textwrap.dedent(_BRANCHES)}
    for uses in (Use.NEW, Use.CALL, Use.BUILD):
        a = analysed(site, files, "atkc.backends", "Backend", uses)
        assert not all(u.inert for u in a.uses), uses


def test_a_file_naming_a_conditionally_bound_class_is_refused(tmp_path: Path) -> None:
    """Live twin: under plain pickle.load the file calls the alternative that runs (the marker); safeload refuses."""
    from tests.test_redteam_round2 import LibCase, _live, _refused

    branches = textwrap.dedent(_BRANCHES).replace('self.name = "b"', 'open(MARKER, "w").close()').replace(
        "import atkc_missing_backend as _b", "import os as _b")
    case = LibCase({"atkc/__init__.py": "", "atkc/backends.py": branches},
                   lambda: b"\x80\x02catkc.backends\nBackend\n)R.")
    _live(tmp_path / "live", case)
    _refused(tmp_path / "safe", case)


# --- `from pkg import sub` inside pkg, before pkg's __getattr__ (torch/__init__: linalg, read by tslearn) ---------
_SELF_FROM = """
    from atkg import sub as sub
    def __getattr__(name):
        open(MARKER, "w").close()
        return 1
"""

_READER = """
    import atkg

    class Linalg:
        def __init__(self):
            self.inv = atkg.sub.inv

    DEFAULT = Linalg()

    class Plain:
        pass
"""


def _self_from(site: Path, init: str, files: dict[str, str] | None = None) -> sa.Analysis:
    written = {"atkg/__init__.py": textwrap.dedent(init), "atkg/sub.py": "def inv(x):\n    return x\n",
               "atkg/user.py": textwrap.dedent(_READER), **(files or {})}
    return analysed(site, written, "atkg.user", "Plain", Use.NEW)


def test_a_submodule_bound_before_the_module_getattr_is_read_without_it(site: Path) -> None:
    """The import system binds ``atkg.sub`` at line 1 (no hook exists yet); later reads never reach the hook."""
    a = _self_from(site, _SELF_FROM)
    assert a.import_effects.inert, a.import_effects.reason


@pytest.mark.parametrize("init", [
    # the hook is defined first: hasattr(atkg, 'sub') at the from-import runs it
    "def __getattr__(name):\n    open(MARKER, 'w').close()\n    return 1\nfrom atkg import sub as sub\n",
    # the binding deleted, or rebound by a function
    _SELF_FROM + "del sub\n",
    _SELF_FROM + "def _g():\n    global sub\n    sub = 1\n",
    # the from-import in a branch that never runs
    _SELF_FROM.replace("from atkg import sub as sub", "if False:\n    from atkg import sub as sub"),
    # in a loop: the second pass runs the from-import with the hook defined
    "for _i in range(2):\n    from atkg import sub as sub\n    def __getattr__(name):\n"
    "        open(MARKER, 'w').close()\n        return 1\n",
], ids=["hook-first", "deleted", "global", "dead-branch", "loop"])
def test_other_self_imports_reach_the_module_getattr(site: Path, init: str) -> None:
    assert not _self_from(site, init).import_effects.inert


# --- a module __getattr__ specialised to a name its dict table lacks (torch/__init__: _deprecated_attrs) --------------
_DICT_HOOK = """
    import importlib
    import os
    _deprecated = {"old_name": os.getcwd}
    if TYPE_CHECKING:
        pass
    else:
        _lazy = {"lazy_sub"}

        def __getattr__(name):
            replacement = _deprecated.get(name)
            if replacement is not None:
                return replacement()
            if name in _lazy:
                return importlib.import_module("." + name, __name__)
            if name == "vital":
                open(MARKER, "w").close()
            raise AttributeError(name)
"""

_DICT_READER = """
    import atkd

    class Reader:
        def __init__(self):
            self.f = atkd.{name}

    DEFAULT = Reader()

    class Plain:
        pass
"""


def _dict_hook(site: Path, hook: str, name: str = "helper") -> sa.Analysis:
    files = {"atkd/__init__.py": "from typing import TYPE_CHECKING\n" + textwrap.dedent(hook),
             "atkd/user.py": textwrap.dedent(_DICT_READER).replace("{name}", name)}
    return analysed(site, files, "atkd.user", "Plain", Use.NEW)


def test_a_hook_whose_tables_lack_the_name_only_raises(site: Path) -> None:
    """``_deprecated.get(name)`` of a dict display without that key is None; ``name in _lazy`` (bound in the else
    of ``if TYPE_CHECKING:``) is False: the hook raises AttributeError, as torch's does for ``torch.rand``."""
    a = _dict_hook(site, _DICT_HOOK)
    assert a.import_effects.inert, a.import_effects.reason


@pytest.mark.parametrize(("edit", "name"), [
    (("", ""), "old_name"),  # a key it has: the replacement is called
    (("", ""), "vital"),  # the branch that writes
    (("_lazy = {\"lazy_sub\"}", "_lazy = {\"lazy_sub\"}\n    _deprecated[\"helper\"] = os.getcwd"), "helper"),
    (("_lazy = {\"lazy_sub\"}", "_lazy = {\"lazy_sub\"}\n    _deprecated.update(helper=os.getcwd)"), "helper"),
    (("_lazy = {\"lazy_sub\"}", "_lazy = {\"lazy_sub\"}\n    _alias = _deprecated"), "helper"),
    (("_lazy = {\"lazy_sub\"}", "_lazy = {\"lazy_sub\"}\n    _n = len(_deprecated)"), "helper"),
    (("replacement = _deprecated.get(name)", "replacement = _deprecated.get(name)\n        replacement = 1"),
     "helper"),
], ids=["present-key", "writing-branch", "subscript-store", "update", "alias", "passed", "local-rebound"])
def test_other_tables_and_names_keep_the_hook_analysed(site: Path, edit: tuple[str, str], name: str) -> None:
    hook = textwrap.dedent(_DICT_HOOK)
    old, new = edit
    assert old in hook
    hook = hook.replace(old, new, 1) if old else hook
    verdict = _dict_hook(site, hook, name).import_effects
    assert not verdict.inert and "__getattr__" in verdict.reason, verdict.reason


def test_nothing_was_imported() -> None:
    assert "atkc" not in sys.modules
    assert "atkg" not in sys.modules
    assert "atkd" not in sys.modules
    assert "atk_backend" not in sys.modules
