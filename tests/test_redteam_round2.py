"""Red team round 2: safeload attacked with its source in hand (catalogue, source analysis, containers, integrity).

Every case builds its file (and, for the source analysis, the installed "library" it names: a package in a
``site-packages`` directory under ``tmp_path`` put on ``PYTHONPATH`` of a subprocess, because the source analysis
reads the environment) and carries a harmless payload: it creates a marker file under ``tmp_path``.

- ``test_<case>_is_live`` runs the payload under the real loader in a subprocess and sees the marker;
- ``test_<case>_is_refused`` runs ``safeload.scan`` and the safe loader in a subprocess with the same path and
  asserts a refusal *and* an absent marker. Bypasses safeload lets through today are
  ``xfail(strict=True, reason="R2-N: ...")`` so the fix flips them.

Near misses (attacks tried on the way that safeload already refuses) are plain regression tests.

Findings (each a class; the tests name one or more witnesses):
- R2-1 transitive imports: importing ``a.m`` runs every module ``a.m`` imports; only the dotted path's own modules
  are analysed, and IMPORT_REVIEWED vouches for a whole top-level package (pandas.plotting -> matplotlib);
- R2-2 ``isinstance``/``issubclass`` run a metaclass ``__instancecheck__`` or an ABC ``__subclasshook__``;
- R2-3 subscripts, comparisons, operators and ``in`` on module-level objects run their class's dunders;
- R2-4 the pinned digest / lock cover a joblib < 0.10 file but not the companion ``.npy`` joblib loads by name;
- R2-5 an *object* in BUILD state that load-time code calls (a state key shadowing a method the class's
  ``__setstate__`` calls, ``keys`` for ``dict()``, ``__setstate__`` for a second BUILD) is never ranked for
  CALL_INSTANCE: PytestTester runs pytest (Optimizer, scipy distributions, SimpleNamespace);
- R2-6 an object passed where a catalogued callee calls it through ``self`` (StringConverter) is only PASSED;
- R2-7 a package ``__init__`` rebinding ``__path__``: the analysed submodule is not the imported one;
- R2-8 import-time calls through a module's own tables (``list.sort(key=f)``, a defaultdict factory) are not analysed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _g(module: str, name: str) -> bytes:
    return f"c{module}\n{name}\n".encode()


def _stack_global(module: str, name: str) -> bytes:
    """Protocol 4: STACK_GLOBAL(module, name) as the loaded object (dotted names are looked up attribute by
    attribute)."""
    def short(text: str) -> bytes:
        raw = text.encode()
        return b"\x8c" + bytes([len(raw)]) + raw + b"\x94"
    return b"\x80\x04" + short(module) + short(name) + b"\x93\x94."


def _reconstructed(module: str, cls: str, state: bytes) -> bytes:
    """``copyreg._reconstructor(cls, object, None)`` then BUILD ``state`` (protocol 2, as pickle writes it)."""
    return (b"\x80\x02" + _g("copyreg", "_reconstructor") + b"(" + _g(module, cls) + _g("builtins", "object")
            + b"Ntp0\nRp1\n" + state + b"b.")


def _called(module: str, cls: str) -> bytes:
    """``cls(1)``: REDUCE."""
    return b"\x80\x02" + _g(module, cls) + b"K\x01\x85R."


_DICT_STATE = b"}U\x01aK\x01s"         # {'a': 1}


@dataclass(frozen=True)
class LibCase:
    """A payload naming a class of an installed library (``files``, relative to site-packages)."""

    files: dict[str, str]
    build: Callable[[], bytes]


_EVIL_OBJECT = """
    class _Registry:
        def __getitem__(self, key):
            open(MARKER, "w").close()
            return 1
        def __eq__(self, other):
            open(MARKER, "w").close()
            return False
        __hash__ = object.__hash__
        def __radd__(self, other):
            open(MARKER, "w").close()
            return 1
        def __contains__(self, item):
            open(MARKER, "w").close()
            return False
        def __iter__(self):
            open(MARKER, "w").close()
            return iter(())
        def __len__(self):
            open(MARKER, "w").close()
            return 0
        def __str__(self):
            open(MARKER, "w").close()
            return ""
        def __bool__(self):
            open(MARKER, "w").close()
            return True
        @property
        def attr(self):
            open(MARKER, "w").close()
            return 1
    _registry = _Registry()
"""


def _protocol_case(name: str, expression: str) -> LibCase:
    return LibCase({f"{name}/__init__.py": "", f"{name}/m.py": _EVIL_OBJECT + f"""
    class X:
        def __init__(self, value):
            self.k = {expression}
    """}, lambda: _called(f"{name}.m", "X"))


# Bypasses of the source analysis (safeload/catalog/source_*.py), fixed (the reason names the finding).
LIB_BYPASSES: dict[str, tuple[LibCase, str]] = {
    # R2-1: importing a.m runs a.m's top level *and every module it imports*; only the dotted path's own
    # modules are analysed (source_imports.py: "modules the path modules import in turn are trusted").
    "R2-1-transitive-import": (LibCase({
        "atk_ti/__init__.py": "",
        "atk_ti/m.py": "from . import _side\n\nclass X:\n    pass\n",
        "atk_ti/_side.py": "open(MARKER, 'w').close()\n",
    }, lambda: b"\x80\x02" + _g("atk_ti.m", "X") + b"."),
        "R2-1: modules imported by an analysed module are not analysed (source_imports.py)"),
    # R2-2: isinstance()/issubclass() run a metaclass __instancecheck__ or an ABC's __subclasshook__
    # (documented as "assumed inert" in docs/source-analysis.md).
    "R2-2-abc-subclasshook": (LibCase({"atk_abc/__init__.py": "", "atk_abc/m.py": """
    import abc
    class Proto(abc.ABC):
        @classmethod
        def __subclasshook__(cls, other):
            open(MARKER, "w").close()
            return NotImplemented
    class X:
        def __setstate__(self, state):
            if isinstance(state, Proto):
                return
            self.__dict__.update(state)
    """}, lambda: _reconstructed("atk_abc.m", "X", _DICT_STATE)),
        "R2-2: isinstance() runs an ABC __subclasshook__ (assumed inert)"),
    "R2-2-metaclass-instancecheck": (LibCase({"atk_ic/__init__.py": "", "atk_ic/m.py": """
    class Meta(type):
        def __instancecheck__(cls, inst):
            open(MARKER, "w").close()
            return False
    class P(metaclass=Meta):
        pass
    class X:
        def __init__(self, value):
            self.ok = isinstance(value, P)
    """}, lambda: _called("atk_ic.m", "X")),
        "R2-2: isinstance() runs a metaclass __instancecheck__ (assumed inert)"),
    # R2-3: operators, subscripts, comparisons and `in` against module-level objects run *their* class's
    # dunders; the effect rule only analyses dunders of `self` and records touches on file values.
    "R2-3-subscript-module-object": (_protocol_case("atk_sub", "_registry[value]"),
                                     "R2-3: _registry[value] runs _Registry.__getitem__ unanalysed"),
    "R2-3-compare-module-object": (_protocol_case("atk_eq", "value == _registry"),
                                   "R2-3: value == obj runs obj.__eq__ (reflected) unanalysed"),
    "R2-3-compare-module-object-left": (_protocol_case("atk_eq2", "_registry == value"),
                                        "R2-3: obj == value runs obj.__eq__ unanalysed"),
    "R2-3-reflected-operator": (_protocol_case("atk_radd", "value + _registry"),
                                "R2-3: value + obj runs obj.__radd__ unanalysed"),
    "R2-3-contains-module-object": (_protocol_case("atk_in", "value in _registry"),
                                    "R2-3: value in obj runs obj.__contains__ unanalysed"),
    "R2-3-iterate-module-object": (_protocol_case("atk_it", "[*_registry]"),
                                   "R2-3: iterating obj runs obj.__iter__ unanalysed"),
    "R2-3-len-module-object": (_protocol_case("atk_len", "len(_registry)"),
                               "R2-3: len(obj) runs obj.__len__ unanalysed"),
    "R2-3-str-module-object": (_protocol_case("atk_str", "str(_registry)"),
                               "R2-3: str(obj) runs obj.__str__ unanalysed"),
    "R2-3-truth-module-object": (_protocol_case("atk_bool", "1 if _registry else 0"),
                                 "R2-3: truth of obj runs obj.__bool__ unanalysed"),
    "R2-3-property-of-module-object": (_protocol_case("atk_prop", "_registry.attr"),
                                       "R2-3: obj.attr runs a property getter unanalysed"),
    # R2-7: a package __init__ that rebinds __path__ moves its submodules elsewhere: the import system searches the
    # new __path__, source_locate.py searches the package's directory (spec.submodule_search_locations), and
    # source_imports.py reads `__path__ = [...]` as an inert assignment. The analysed m.py is not the one imported.
    "R2-7-package-path-rebound": (LibCase({
        "atk_pr/__init__.py": "__path__ = [__path__[0] + '/_alt']\n",
        "atk_pr/m.py": "class X:\n    pass\n",
        "atk_pr/_alt/m.py": "open(MARKER, 'w').close()\n\nclass X:\n    pass\n",
    }, lambda: b"\x80\x02" + _g("atk_pr.m", "X") + b"."),
        "R2-7: a package rebinding __path__ imports another m.py than the one analysed"),
    # R2-8: at import, calls made through a module's "own table" operations are not analysed: list.sort(key=f)
    # calls f on every item (a lambda, a module function, even builtins.open: `_t.sort(key=open)` opens the
    # table's ints as file descriptors), and a defaultdict's factory runs on a missing key
    # (source_imports.py: "builds its own tables (`_REGISTRY[k] = v`, `.append`, `.setdefault`)").
    "R2-8-import-sort-key-function": (LibCase({"atk_sk/__init__.py": "", "atk_sk/m.py": """
    class X:
        pass
    def _key(v):
        open(MARKER, "w").close()
        return v
    _table = [2, 1]
    _table.sort(key=_key)
    """}, lambda: b"\x80\x02" + _g("atk_sk.m", "X") + b"."),
        "R2-8: list.sort(key=f) at import runs f unanalysed"),
    "R2-8-import-sort-key-lambda": (LibCase({"atk_sl2/__init__.py": "", "atk_sl2/m.py": """
    class X:
        pass
    _table = [2, 1]
    _table.sort(key=lambda v: open(MARKER, "w").close() or v)
    """}, lambda: b"\x80\x02" + _g("atk_sl2.m", "X") + b"."),
        "R2-8: list.sort(key=lambda) at import runs the lambda unanalysed"),
    "R2-8-import-defaultdict-factory": (LibCase({"atk_dd/__init__.py": "", "atk_dd/m.py": """
    import collections
    class X:
        pass
    _table = collections.defaultdict(lambda: open(MARKER, "w").close())
    _table["missing"]
    """}, lambda: b"\x80\x02" + _g("atk_dd.m", "X") + b"."),
        "R2-8: a defaultdict factory fired by a subscript at import runs unanalysed"),
    "R2-8-import-table-of-own-class-append": (LibCase({"atk_ta/__init__.py": "", "atk_ta/m.py": """
    class _Registry:
        def append(self, value):
            open(MARKER, "w").close()
    _registry = _Registry()
    _registry.append(1)
    class X:
        pass
    """}, lambda: b"\x80\x02" + _g("atk_ta.m", "X") + b"."),
        "R2-8: a module 'table' that is an instance of its own class: append runs unanalysed at import"),
    "R2-8-import-table-of-own-class-setitem": (LibCase({"atk_ts/__init__.py": "", "atk_ts/m.py": """
    class _Registry(dict):
        def __setitem__(self, key, value):
            open(MARKER, "w").close()
    _registry = _Registry()
    _registry["a"] = 1
    class X:
        pass
    """}, lambda: b"\x80\x02" + _g("atk_ts.m", "X") + b"."),
        "R2-8: a dict subclass 'table': __setitem__ runs unanalysed at import"),
}

# Attacks on the source analysis that safeload already refuses (regression tests).
LIB_REFUSED: dict[str, LibCase] = {
    "torch-module-subclass-setattr": LibCase({"atk_tm/__init__.py": "", "atk_tm/m.py": """
    import torch
    class M(torch.nn.Module):
        def __setattr__(self, k, v):
            if k == "_backward_pre_hooks":
                open(MARKER, "w").close()
            object.__setattr__(self, k, v)
    """}, lambda: _reconstructed("atk_tm.m", "M", _DICT_STATE)),
    "descriptor-from-factory-slot-state": LibCase({"atk_df/__init__.py": "", "atk_df/m.py": """
    class _D:
        def __set__(self, obj, value):
            open(MARKER, "w").close()
        def __get__(self, obj, typ=None):
            return 1
    def make():
        return _D()
    class X:
        a = make()
    """}, lambda: _reconstructed("atk_df.m", "X", b"N" + _DICT_STATE + b"\x86")),
    "setattr-bound-to-module-function": LibCase({"atk_sa/__init__.py": "", "atk_sa/m.py": """
    def _hook(self, k, v):
        open(MARKER, "w").close()
    class X:
        __setattr__ = _hook
    """}, lambda: _reconstructed("atk_sa.m", "X", b"N" + _DICT_STATE + b"\x86")),
    "classproperty-on-dotted-name": LibCase({"atk_cp/__init__.py": "", "atk_cp/m.py": """
    class classproperty:
        def __init__(self, f):
            self.f = f
        def __get__(self, obj, typ=None):
            return self.f(typ)
    class X:
        @classproperty
        def thing(cls):
            open(MARKER, "w").close()
            return 1
    """}, lambda: _stack_global("atk_cp.m", "X.thing")),
    "metaclass-getattr-on-dotted-name": LibCase({"atk_mg/__init__.py": "", "atk_mg/m.py": """
    class Meta(type):
        def __getattr__(cls, name):
            open(MARKER, "w").close()
            return 1
    class X(metaclass=Meta):
        pass
    """}, lambda: _stack_global("atk_mg.m", "X.thing")),
    "setstate-lambda": LibCase({"atk_sl/__init__.py": "", "atk_sl/m.py": """
    class X:
        __setstate__ = lambda self, st: open(MARKER, "w").close()
    """}, lambda: _reconstructed("atk_sl.m", "X", _DICT_STATE)),
    "setstate-partialmethod": LibCase({"atk_pm/__init__.py": "", "atk_pm/m.py": """
    import functools
    def _impl(self, st, path):
        open(path, "w").close()
    class X:
        __setstate__ = functools.partialmethod(_impl, path=MARKER)
    """}, lambda: _reconstructed("atk_pm.m", "X", _DICT_STATE)),
    "enum-missing-from-base-module": LibCase({"atk_en/__init__.py": "", "atk_en/base.py": """
    import enum
    class B(enum.Enum):
        @classmethod
        def _missing_(cls, value):
            open(MARKER, "w").close()
            return None
    """, "atk_en/m.py": """
    from .base import B
    class Color(B):
        RED = 1
    """}, lambda: b"\x80\x02" + _g("atk_en.m", "Color") + b"K\x05\x85R."),
    "module-getattr-after-del": LibCase({"atk_mga/__init__.py": "", "atk_mga/m.py": """
    class X:
        pass
    def __getattr__(name):
        open(MARKER, "w").close()
        raise AttributeError(name)
    del X
    """}, lambda: b"\x80\x02" + _g("atk_mga.m", "X") + b"."),
    "package-path-append": LibCase({
        "atk_pa/__init__.py": "__path__.append(__path__[0] + '/_alt')\n",
        "atk_pa/_alt/m.py": "open(MARKER, 'w').close()\n\nclass X:\n    pass\n",
    }, lambda: b"\x80\x02" + _g("atk_pa.m", "X") + b"."),
    "package-path-insert": LibCase({
        "atk_pi/__init__.py": "import os\n__path__.insert(0, os.path.join(os.path.dirname(__file__), '_alt'))\n",
        "atk_pi/m.py": "class X:\n    pass\n",
        "atk_pi/_alt/m.py": "open(MARKER, 'w').close()\n\nclass X:\n    pass\n",
    }, lambda: b"\x80\x02" + _g("atk_pi.m", "X") + b"."),
    "module-class-swapped-for-a-property": LibCase({"atk_mp/__init__.py": """
    import sys, types
    class X:
        pass
    class _Mod(types.ModuleType):
        @property
        def X(self):
            open(MARKER, "w").close()
            return X
    sys.modules[__name__].__class__ = _Mod
    """}, lambda: b"\x80\x02" + _g("atk_mp", "X") + b"."),
    "method-of-module-object": LibCase({"atk_mo/__init__.py": "", "atk_mo/m.py": _EVIL_OBJECT + """
    class X:
        def __init__(self, value):
            self.k = _registry.__getitem__(value)
    """}, lambda: _called("atk_mo.m", "X")),
}


def _install(tmp_path: Path, case: LibCase) -> tuple[Path, Path, Path]:
    """(site-packages, pickle file, marker) under ``tmp_path``."""
    site = tmp_path / "lib" / "python3.11" / "site-packages"
    site.mkdir(parents=True)
    marker = tmp_path / "MARKER"
    for rel, source in case.files.items():
        path = site / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source).replace("MARKER", repr(str(marker))))
    payload = tmp_path / "payload.pkl"
    payload.write_bytes(case.build())
    return site, payload, marker


def _run(site: Path, code: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), str(ROOT)]))
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=site.parent,
                          timeout=300, check=False)


_REAL = "import gc, pickle, sys\ntry:\n    pickle.load(open(sys.argv[1] if len(sys.argv) > 1 else {p!r}, 'rb'))\n" \
        "except Exception:\n    pass\ngc.collect()\n"

_SAFE = """
import json, safeload
report = safeload.scan({p!r})
try:
    with open({p!r}, "rb") as f:
        safeload.pickle_load(f)
    loaded = True
except safeload.SafeloadError:
    loaded = False
print(json.dumps({{"loaded": loaded, "worst": max((f.severity.value for f in report.findings), default=0),
                  "blocking": [f.rule_id for f in report.findings if f.severity >= safeload.Severity.MEDIUM]}}))
"""


def _live(tmp_path: Path, case: LibCase) -> None:
    site, payload, marker = _install(tmp_path, case)
    done = _run(site, _REAL.format(p=str(payload)))
    assert marker.exists(), f"payload did not run under pickle.load: {done.stderr[-2000:]}"


def _refused(tmp_path: Path, case: LibCase) -> None:
    site, payload, marker = _install(tmp_path, case)
    done = _run(site, _SAFE.format(p=str(payload)))
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert not marker.exists(), "the payload ran under safeload"
    assert result["loaded"] is False and result["blocking"], result


@pytest.mark.slow
@pytest.mark.parametrize("label", sorted(LIB_BYPASSES))
def test_lib_bypass_is_live(tmp_path: Path, label: str) -> None:
    _live(tmp_path, LIB_BYPASSES[label][0])


@pytest.mark.slow
@pytest.mark.parametrize("label", sorted(LIB_BYPASSES))  # every one fixed in safeload/catalog/source_*.py
def test_lib_bypass_is_refused(tmp_path: Path, label: str) -> None:
    _refused(tmp_path, LIB_BYPASSES[label][0])


@pytest.mark.slow
@pytest.mark.parametrize("label", sorted(LIB_REFUSED))
def test_lib_near_miss_is_live(tmp_path: Path, label: str) -> None:
    _live(tmp_path, LIB_REFUSED[label])


@pytest.mark.slow
@pytest.mark.parametrize("label", sorted(LIB_REFUSED))
def test_lib_near_miss_is_refused(tmp_path: Path, label: str) -> None:
    _refused(tmp_path, LIB_REFUSED[label])


# --- integrity ----------------------------------------------------------------------------------------------------

def _old_joblib_with_companion(folder: Path, values: float) -> tuple[Path, str]:
    """A joblib < 0.10 file: the pickle holds an ``NDArrayWrapper`` naming a companion ``.npy`` that joblib
    ``numpy.load``s by name (joblib 1.6 ``numpy_pickle_compat.NDArrayWrapper.read``)."""
    import hashlib

    import numpy as np

    main = folder / "model.pkl"
    def short(text: str) -> bytes:
        return b"U" + bytes([len(text)]) + text.encode()

    state = (b"}(" + short("filename") + short("model.pkl_01.npy") + short("subclass") + _g("numpy", "ndarray")
             + short("allow_mmap") + b"\x89u")
    data = (b"\x80\x02}" + short("weights") + _g("copyreg", "_reconstructor") + b"("
            + _g("joblib.numpy_pickle_compat", "NDArrayWrapper") + _g("builtins", "object") + b"Ntp0\nRp1\n"
            + state + b"bs.")
    main.write_bytes(data)
    np.save(folder / "model.pkl_01.npy", np.full(4, values))
    return main, hashlib.sha256(data).hexdigest()


def test_old_joblib_companion_is_what_joblib_reads(tmp_path: Path) -> None:
    import joblib
    import numpy as np

    main, _ = _old_joblib_with_companion(tmp_path, 1.0)
    with pytest.warns(DeprecationWarning, match="joblib version less than 0.10"):
        loaded = joblib.load(main)
    assert np.array_equal(loaded["weights"], np.ones(4))


def test_pinned_old_joblib_refuses_a_swapped_companion(tmp_path: Path) -> None:
    import numpy as np

    import safeload

    main, digest = _old_joblib_with_companion(tmp_path, 1.0)
    np.save(tmp_path / "model.pkl_01.npy", np.full(4, 666.0))   # the pinned file is unchanged
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "The file .* has been generated with a joblib version less than 0.10")
        with pytest.raises(safeload.IntegrityError):
            safeload.joblib_load(str(main), expected_sha256=digest)


# --- catalogue: objects in BUILD state that load-time code calls --------------------------------------------------
# R2-5: torch.optim.Optimizer.__setstate__ (reviewed inert, torch 2.13 optim/optimizer.py) runs
# ``self.__dict__.update(state)`` and then ``self._patch_step_function()``: a ``_patch_step_function`` key in the
# state shadows the method, so the load calls whatever object the file put there, with no arguments. The escape
# walk (engine/facts.py trace_escapes, engine/_native.c) records nothing for an *object* (a ``Call``) found in BUILD
# state (only names are INVOKEd, objects only PASSED as call arguments), so the object's ``__call__`` is never
# ranked (CALL_INSTANCE). numpy._pytesttester.PytestTester may be constructed (CALL) but not called: its __call__
# runs ``pytest.main(["--pyargs", module_name, ...])``, which loads every installed pytest plugin, imports the
# named package's test modules, and writes ``.pytest_cache`` into the working directory (the marker here).

def _optimizer_calling(obj: object) -> bytes:
    from tests.attacks import C, G, assemble

    sgd = C(G("copyreg", "_reconstructor"), (G("torch.optim.sgd", "SGD"), G("builtins", "object"), None),
            {"defaults": {}, "param_groups": [], "state": {}, "_patch_step_function": obj})
    return assemble(sgd)


def _distribution_calling(obj: object) -> bytes:
    """The same gadget in scipy: rv_generic.__setstate__ runs ``self.__dict__.update(state)`` then
    ``self._attach_methods()`` (scipy/stats/_distn_infrastructure.py; 135 catalogued distribution classes)."""
    from tests.attacks import C, G, assemble

    dist = C(G("copyreg", "_reconstructor"),
             (G("scipy.stats._continuous_distns", "norm_gen"), G("builtins", "object"), None),
             {"_attach_methods": obj})
    return assemble(dist)


def _pytest_runner() -> object:
    from tests.attacks import C, G

    return C(G("numpy._pytesttester", "PytestTester"), ("encodings",))


_LOADER_CONTAINERS = ("pickle", "torch-zip", "torch-legacy", "joblib", "joblib-zlib", "dill", "cloudpickle", "npy",
                      "npz")


def _container_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SAFELOAD_", "PYTEST_"))}
    env["PYTHONPATH"] = str(ROOT)
    return env


def _load_in(tmp_path: Path, container: str, path: Path, *, safe: bool) -> subprocess.CompletedProcess[str]:
    from tests import attacks

    body = (f"from tests import attacks\nattacks.safe_load({container!r}, p)" if safe
            else attacks.CONTAINERS[container][1])
    code = ("import warnings; warnings.simplefilter('ignore')\n"
            f"p = {str(path)!r}\n"
            "from pathlib import Path; p = Path(p)\n"
            "try:\n" + textwrap.indent(body, "    ") + "\n    print('LOADED')\n"
            "except BaseException as exc:\n    print('REFUSED' if 'Unsafe' in type(exc).__name__ else 'ERROR', "
            "type(exc).__name__)\n")
    return subprocess.run([sys.executable, "-c", code], env=_container_env(), cwd=tmp_path, capture_output=True,
                          text=True, timeout=300, check=False)


@pytest.mark.slow
@pytest.mark.parametrize("container", ["pickle", "torch-zip", "joblib"])
def test_optimizer_state_callable_is_live(tmp_path: Path, container: str) -> None:
    from tests import attacks

    path = tmp_path / "model.bin"
    path.write_bytes(attacks.CONTAINERS[container][0](_optimizer_calling(_pytest_runner())))
    _load_in(tmp_path, container, path, safe=False)
    assert (tmp_path / ".pytest_cache").exists()


@pytest.mark.slow
@pytest.mark.parametrize("container", _LOADER_CONTAINERS)
def test_optimizer_state_callable_is_refused(tmp_path: Path, container: str) -> None:
    from tests import attacks

    path = tmp_path / "model.bin"
    path.write_bytes(attacks.CONTAINERS[container][0](_optimizer_calling(_pytest_runner())))
    done = _load_in(tmp_path, container, path, safe=True)
    assert not (tmp_path / ".pytest_cache").exists(), "the payload ran under safeload"
    assert "REFUSED" in done.stdout, done.stdout + done.stderr[-2000:]


@pytest.mark.slow
def test_distribution_state_callable_is_live(tmp_path: Path) -> None:
    path = tmp_path / "model.pkl"
    path.write_bytes(_distribution_calling(_pytest_runner()))
    _load_in(tmp_path, "pickle", path, safe=False)
    assert (tmp_path / ".pytest_cache").exists()


@pytest.mark.slow
def test_distribution_state_callable_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "model.pkl"
    path.write_bytes(_distribution_calling(_pytest_runner()))
    done = _load_in(tmp_path, "pickle", path, safe=True)
    assert not (tmp_path / ".pytest_cache").exists(), "the payload ran under safeload"
    assert "REFUSED" in done.stdout, done.stdout + done.stderr[-2000:]


# R2-6: numpy.lib._iotools.StringConverter (generated entry: CALL, invokes ()) calls its first argument in
# __init__ (``self.func = dtype_or_func; default = self.func('0')``, numpy 2.4 lib/_iotools.py): the call goes
# through an attribute of self, so _gen/invokes.py does not see it. A *name* there would still be INVOKEd (every
# global in call arguments is), but an *object* there is only PASSED: its __call__ is never ranked.

def _string_converter_calling(obj: object) -> bytes:
    from tests.attacks import C, G, assemble

    return assemble(C(G("numpy.lib._iotools", "StringConverter"), (obj,)))


@pytest.mark.slow
def test_string_converter_argument_is_called_live(tmp_path: Path) -> None:
    path = tmp_path / "model.pkl"
    path.write_bytes(_string_converter_calling(_pytest_runner()))
    _load_in(tmp_path, "pickle", path, safe=False)
    assert (tmp_path / ".pytest_cache").exists()


@pytest.mark.slow
@pytest.mark.parametrize("container", ["pickle", "torch-zip", "joblib"])
def test_string_converter_argument_is_refused(tmp_path: Path, container: str) -> None:
    from tests import attacks

    path = tmp_path / "model.bin"
    path.write_bytes(attacks.CONTAINERS[container][0](_string_converter_calling(_pytest_runner())))
    done = _load_in(tmp_path, container, path, safe=True)
    assert not (tmp_path / ".pytest_cache").exists(), "the payload ran under safeload"
    assert "REFUSED" in done.stdout, done.stdout + done.stderr[-2000:]


# R2-5 (variant): the same shadowing without any __setstate__: a SimpleNamespace whose BUILD state holds ``keys``
# passed to ``builtins.dict``, which calls ``arg.keys()`` (PyDict_Merge): the instance attribute is called.

def _dict_of_namespace_calling(obj: object) -> bytes:
    from tests.attacks import C, G, assemble

    namespace = C(G("types", "SimpleNamespace"), (), {"keys": obj})
    return assemble(C(G("builtins", "dict"), (namespace,)))


@pytest.mark.slow
def test_namespace_keys_is_live(tmp_path: Path) -> None:
    path = tmp_path / "model.pkl"
    path.write_bytes(_dict_of_namespace_calling(_pytest_runner()))
    _load_in(tmp_path, "pickle", path, safe=False)
    assert (tmp_path / ".pytest_cache").exists()


@pytest.mark.slow
def test_namespace_keys_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "model.pkl"
    path.write_bytes(_dict_of_namespace_calling(_pytest_runner()))
    done = _load_in(tmp_path, "pickle", path, safe=True)
    assert not (tmp_path / ".pytest_cache").exists(), "the payload ran under safeload"
    assert "REFUSED" in done.stdout, done.stdout + done.stderr[-2000:]


# R2-1 with installed libraries only: pandas is in IMPORT_REVIEWED (catalog/reviewed.py), so importing a pandas
# module counted as inert, but pandas.plotting._matplotlib.* imported matplotlib, then unreviewed, whose import
# creates its configuration directory. Fixed: the reviewed closure table (catalog/closure.py) says a module whose
# imports leave reviewed territory is not covered, and what it imports is analysed. Round 8 reviewed matplotlib's
# import (environment set-up), so the same attack is shown with the reviewed module that still leaves:
# joblib._dask imports dask and distributed, unreviewed packages whose import runs their code (observed here as
# ``distributed`` in sys.modules after the load).

_REPORT = ("import sys\nprint('IMPORTED' if 'distributed' in sys.modules else 'NOT-IMPORTED')\n")


def _alloc_of(module: str, name: str) -> bytes:
    from tests.attacks import C, G, assemble

    return assemble(C(G("copyreg", "_reconstructor"), (G(module, name), G("builtins", "object"), None)))


def _closure_load(tmp_path: Path, data: bytes, env: dict[str, str], *, safe: bool) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "model.pkl"
    path.write_bytes(data)
    load = ("try:\n    safeload.pickle_load(open(p, 'rb'))\n    print('LOADED')\n"
            "except safeload.SafeloadError:\n    print('REFUSED')\n") if safe else (
        "pickle.load(open(p, 'rb'))\nprint('LOADED')\n")
    code = f"import pickle, safeload\np = {str(path)!r}\n" + load + _REPORT
    return subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=300, check=False)


def _needs_distributed() -> None:
    import importlib.util

    if importlib.util.find_spec("distributed") is None:  # located only: importing it is what the tests observe
        pytest.skip("distributed is not installed")


@pytest.mark.slow
def test_reviewed_module_leaving_the_closure_is_live(tmp_path: Path) -> None:
    _needs_distributed()
    done = _closure_load(tmp_path, _alloc_of("joblib._dask", "Batch"), _container_env(), safe=False)
    assert done.stdout.split() == ["LOADED", "IMPORTED"], done.stdout + done.stderr[-2000:]


@pytest.mark.slow
def test_reviewed_module_leaving_the_closure_is_refused(tmp_path: Path) -> None:
    """R2-1 closed by default: the reviewed closure check is on unless SAFELOAD_STRICT_IMPORTS=0."""
    _needs_distributed()
    env = _container_env()
    env.pop("SAFELOAD_STRICT_IMPORTS", None)
    done = _closure_load(tmp_path, _alloc_of("joblib._dask", "Batch"), env, safe=True)
    assert done.stdout.split() == ["REFUSED", "NOT-IMPORTED"], done.stdout + done.stderr[-2000:]


@pytest.mark.slow
def test_reviewed_module_leaving_the_closure_is_refused_with_strict_imports(tmp_path: Path) -> None:
    _needs_distributed()
    env = _container_env()
    env["SAFELOAD_STRICT_IMPORTS"] = "1"
    done = _closure_load(tmp_path, _alloc_of("joblib._dask", "Batch"), env, safe=True)
    assert done.stdout.split() == ["REFUSED", "NOT-IMPORTED"], done.stdout + done.stderr[-2000:]


@pytest.mark.slow
def test_unreviewed_package_named_directly_is_refused(tmp_path: Path) -> None:
    """Near miss: the unreviewed package named directly is analysed and refused, and not imported."""
    _needs_distributed()
    done = _closure_load(tmp_path, _alloc_of("distributed.utils", "Deadline"), _container_env(), safe=True)
    assert done.stdout.split() == ["REFUSED", "NOT-IMPORTED"], done.stdout + done.stderr[-2000:]


@pytest.mark.slow
def test_pandas_plotting_is_covered_now_that_matplotlib_is_reviewed(tmp_path: Path) -> None:
    """The original R2-1 path under round 8's decision: matplotlib's import is reviewed environment set-up, so
    allocating a pandas plotting class loads (it runs none of the class's code) in a fresh process."""
    env = _container_env()
    env["MPLCONFIGDIR"] = str(tmp_path / "mplconfig")
    done = _closure_load(tmp_path, _alloc_of("pandas.plotting._matplotlib.boxplot", "BoxPlot"), env, safe=True)
    assert done.stdout.split()[0] == "LOADED", done.stdout + done.stderr[-2000:]


# R2-5 (variant): docs/source-analysis.md says a dict-state BUILD that puts ``__setstate__`` (or extend/append/add)
# into an instance __dict__ makes the next BUILD call that value, and "such state values are INVOKEd": they are
# when they are names, not when they are objects. A second BUILD then calls the object with a state the file
# chooses (here PytestTester("encodings")("full")).

def _second_build_calling(obj: object) -> bytes:
    from tests.attacks import C, G, assemble

    namespace = C(G("types", "SimpleNamespace"), (), {"__setstate__": obj})
    return assemble(namespace)[:-1] + b"U\x04fullb."


@pytest.mark.slow
def test_instance_setstate_object_is_live(tmp_path: Path) -> None:
    path = tmp_path / "model.pkl"
    path.write_bytes(_second_build_calling(_pytest_runner()))
    _load_in(tmp_path, "pickle", path, safe=False)
    assert (tmp_path / ".pytest_cache").exists()


@pytest.mark.slow
def test_instance_setstate_object_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "model.pkl"
    path.write_bytes(_second_build_calling(_pytest_runner()))
    done = _load_in(tmp_path, "pickle", path, safe=True)
    assert not (tmp_path / ".pytest_cache").exists(), "the payload ran under safeload"
    assert "REFUSED" in done.stdout, done.stdout + done.stderr[-2000:]


# Near misses of R2-5/R2-6 that safeload refuses today (regression tests).
def _near_miss_direct_call() -> bytes:
    from tests.attacks import C, G, assemble

    return assemble(C(G("numpy._pytesttester", "PytestTester"), ("encodings",), call_result=True))


def _near_miss_partial_of_object() -> bytes:
    from tests.attacks import C, G, assemble

    return assemble(C(G("functools", "partial"), (_pytest_runner(), "full"), call_result=True))


@pytest.mark.slow
@pytest.mark.parametrize("build", [_near_miss_direct_call, _near_miss_partial_of_object],
                         ids=["object-called-by-reduce", "object-as-partial-function"])
def test_object_call_near_misses_are_refused(tmp_path: Path, build: Callable[[], bytes]) -> None:
    path = tmp_path / "model.pkl"
    path.write_bytes(build())
    done = _load_in(tmp_path, "pickle", path, safe=True)
    assert not (tmp_path / ".pytest_cache").exists()
    assert "REFUSED" in done.stdout, done.stdout + done.stderr[-2000:]
