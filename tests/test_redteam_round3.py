"""Red team round 3: safeload attacked with its source in hand (hand reviews, the R2-5 rule, the long tail).

Every case builds its file at test time (and, for the source analysis, the installed "library" it names: a package
in a ``site-packages`` directory under ``tmp_path`` on ``PYTHONPATH`` of a subprocess, as in round 2) and carries a
harmless payload: it creates a marker file under ``tmp_path``.

- ``test_<case>_is_live`` runs the payload under the real loader and sees the marker;
- ``test_<case>_is_refused`` runs ``safeload.scan`` and the safe loader with the same file and asserts a refusal
  *and* an absent marker. Bypasses safeload lets through on main are ``xfail(strict=True, reason="R3-N: ...")`` so
  the fix flips them.

Near misses (attacks tried on the way that safeload already refuses) are plain regression tests.

Findings:
- R3-1 a wrong hand review: ``rv_generic.__setstate__`` (catalog/_gen/reviewed_methods.py, "inert") execs
  ``self._parse_arg_template``, a string the BUILD state sets: every catalogued scipy.stats distribution class is
  an ``exec`` of text from the file, with no global but ``copyreg._reconstructor`` and the class;
- R3-2 the source analysis (catalog/source_effects.py) misses implicit protocol calls on objects of the module's
  own classes: ``'%s' % (o,)``, ``'{}'.format(o)``, tuple unpacking, ``{**o}``/``f(**o)``, ``sorted``,
  ``range(o)``/``seq[o]`` (``__index__``), ``C[...]`` (``__class_getitem__``), ``f(*C())``/``f'{C()}'`` on a fresh
  instance, a lambda default, ``if o:``/``assert o`` at import, ``typing.List[o]`` (hash);
- R3-3 the R2-5 rule (engine/semantics.py ``_state_attributes_may_be_called``) ranks only the top-level values of
  BUILD state: an object inside a list/dict/tuple attribute is never ranked for CALL_INSTANCE.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.test_redteam_round2 import LibCase, _g, _install, _run

ROOT = Path(__file__).resolve().parent.parent

_SAFE = """
import json, safeload
report = safeload.scan({p!r})
try:
    with open({p!r}, "rb") as f:
        safeload.pickle_load(f)
    loaded = True
except safeload.SafeloadError:
    loaded = False
print(json.dumps({{"loaded": loaded, "blocking": [f.rule_id for f in report.findings
                                                  if f.severity >= safeload.Severity.MEDIUM]}}))
"""

_REAL = "import gc, pickle\ntry:\n    pickle.load(open({p!r}, 'rb'))\nexcept Exception:\n    pass\ngc.collect()\n"


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


def _container_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SAFELOAD_", "PYTEST_"))}
    env["PYTHONPATH"] = str(ROOT)
    return env


def _load_in(tmp_path: Path, container: str, path: Path, *, safe: bool) -> subprocess.CompletedProcess[str]:
    """Load ``path`` in a subprocess (cwd ``tmp_path``) with the safe or the plain loader of ``container``."""
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


def _scan_blocking(path: Path) -> list[str]:
    import safeload

    return [f.rule_id for f in safeload.scan(str(path)).findings if f.severity >= safeload.Severity.MEDIUM]


# --- R3-1: a scipy.stats distribution execs a string from its BUILD state ----------------------------------------
# scipy 1.17.1 stats/_distn_infrastructure.py: rv_generic.__setstate__ runs ``self.__dict__.update(state)`` then
# ``self._attach_methods()``; every distribution's _attach_methods calls ``_attach_argparser_methods``, which runs
# ``exec(self._parse_arg_template, ns)``. ``_parse_arg_template`` is an ordinary instance attribute (rv_continuous
# .__getstate__ keeps it in the pickled state), so the file chooses the text. The hand review in
# catalog/_gen/reviewed_methods.py calls this method inert ("exec of an argument parser generated from shape names
# that _construct_argparser first checks"): the check runs in __init__, which unpickling never calls.

_DISTRIBUTIONS = [("scipy.stats._continuous_distns", "norm_gen"),
                  ("scipy.stats._discrete_distns", "poisson_gen"),
                  ("scipy.stats._continuous_distns", "gamma_gen")]


def _distribution_exec(marker: Path, module: str = "scipy.stats._continuous_distns", cls: str = "norm_gen") -> bytes:
    from tests.attacks import C, G, assemble

    return assemble(C(G("copyreg", "_reconstructor"), (G(module, cls), G("builtins", "object"), None),
                      {"_parse_arg_template": f"open({str(marker)!r}, 'w').close()"}))


@pytest.mark.slow
@pytest.mark.parametrize(("module", "cls"), _DISTRIBUTIONS)
def test_distribution_template_exec_is_live(tmp_path: Path, module: str, cls: str) -> None:
    path = tmp_path / "model.pkl"
    marker = tmp_path / "MARKER"
    path.write_bytes(_distribution_exec(marker, module, cls))
    _load_in(tmp_path, "pickle", path, safe=False)
    assert marker.exists()


@pytest.mark.parametrize(("module", "cls"), _DISTRIBUTIONS)
def test_distribution_template_exec_is_blocked_by_scan(tmp_path: Path, module: str, cls: str) -> None:
    path = tmp_path / "model.pkl"
    path.write_bytes(_distribution_exec(tmp_path / "MARKER", module, cls))
    assert _scan_blocking(path)
    assert not (tmp_path / "MARKER").exists()


@pytest.mark.slow
@pytest.mark.parametrize("container", ["pickle", "torch-zip", "torch-legacy", "joblib", "joblib-zlib", "npz", "dill",
                                       "cloudpickle"])
def test_distribution_template_exec_is_refused(tmp_path: Path, container: str) -> None:
    from tests import attacks

    path = tmp_path / "model.bin"
    marker = tmp_path / "MARKER"
    path.write_bytes(attacks.CONTAINERS[container][0](_distribution_exec(marker)))
    done = _load_in(tmp_path, container, path, safe=True)
    assert not marker.exists(), "the payload ran under safeload"
    assert "REFUSED" in done.stdout, done.stdout + done.stderr[-2000:]


@pytest.mark.slow
def test_distribution_template_exec_is_refused_by_pandas(tmp_path: Path) -> None:
    path = tmp_path / "frame.pkl"
    marker = tmp_path / "MARKER"
    path.write_bytes(_distribution_exec(marker))
    code = ("import safeload\ntry:\n    safeload.pandas_read_pickle(" + repr(str(path)) + ")\n    print('LOADED')\n"
            "except safeload.SafeloadError:\n    print('REFUSED')\n")
    done = subprocess.run([sys.executable, "-c", code], env=_container_env(), cwd=tmp_path, capture_output=True,
                          text=True, timeout=300, check=False)
    assert not marker.exists(), "the payload ran under safeload"
    assert "REFUSED" in done.stdout, done.stdout + done.stderr[-2000:]


# --- R3-2: implicit protocol calls the source analysis does not see ----------------------------------------------
# A module-level object of the module's own class, every protocol method of which creates the marker. R2-3 closed
# subscripts, comparisons, operators, `in`, iteration, len, str, truth and property reads in methods; the calls below
# reach the same dunders through string formatting, unpacking, keyword splats, sorting, __index__, class
# subscription, a lambda's default, or an instance created in the same expression.

_PROTOCOL_OBJECT = """
import warnings
class O:
    def _hit(self, *a, **k):
        open(MARKER, "w").close()
    def __format__(self, spec): self._hit(); return ""
    def __str__(self): self._hit(); return ""
    def __repr__(self): self._hit(); return ""
    def __iter__(self): self._hit(); return iter((1, 2))
    def __getitem__(self, key): self._hit(); return 1
    def __hash__(self): self._hit(); return 1
    def __eq__(self, other): self._hit(); return False
    def __lt__(self, other): self._hit(); return False
    def __bool__(self): self._hit(); return True
    def __index__(self): self._hit(); return 0
    def __call__(self, *a): self._hit(); return 0
    def keys(self): self._hit(); return []
    def __radd__(self, other): self._hit(); return 0
class D:
    def __get__(self, obj, typ=None):
        open(MARKER, "w").close()
        return 1
class H:
    thing = D()
class G:
    def __class_getitem__(cls, item):
        open(MARKER, "w").close()
        return cls
_o = O()
"""


def _import_case(name: str, statement: str) -> LibCase:
    """``statement`` at the top level of ``name.m``; the file only names ``name.m.X`` (no call)."""
    return LibCase({f"{name}/__init__.py": "", f"{name}/m.py": _PROTOCOL_OBJECT + statement + "\nclass X:\n    pass\n"},
                   lambda: b"\x80\x02" + _g(f"{name}.m", "X") + b".")


def _method_case(name: str, expression: str) -> LibCase:
    """``expression`` evaluated in ``X.__init__``; the file calls ``name.m.X(1)``."""
    return LibCase({f"{name}/__init__.py": "", f"{name}/m.py": _PROTOCOL_OBJECT + f"""
class X:
    def __init__(self, value):
        self.k = {expression}
"""}, lambda: b"\x80\x02" + _g(f"{name}.m", "X") + b"K\x01\x85R.")


_R32 = "R3-2: the source analysis misses an implicit protocol call"
R3_LIB_BYPASSES: dict[str, tuple[LibCase, str]] = {
    "import-percent-format": (_import_case("r3_pf", "_s = '%s' % (_o,)"), f"{_R32}: '%s' % (o,) runs __str__"),
    "import-str-format": (_import_case("r3_sf", "_s = '{}'.format(_o)"), f"{_R32}: str.format runs __format__"),
    "import-fstring-fresh-instance": (_import_case("r3_ff", "_s = f'{O()}'"),
                                      f"{_R32}: f'{{C()}}' runs __format__ of a fresh instance"),
    "import-class-getitem": (_import_case("r3_cg", "_T = G[int]"), f"{_R32}: C[...] runs __class_getitem__"),
    "import-star-call-fresh-instance": (_import_case("r3_sc", "def _f(*a):\n    pass\n_f(*O())"),
                                        f"{_R32}: f(*C()) iterates a fresh instance"),
    "import-unpack-assign": (_import_case("r3_ua", "_a, _b = _o"), f"{_R32}: a, b = o runs __iter__"),
    "import-if-truth": (_import_case("r3_it", "if _o:\n    pass"), f"{_R32}: `if o:` at import runs __bool__"),
    "import-assert-truth": (_import_case("r3_at", "assert _o"), f"{_R32}: `assert o` runs __bool__"),
    "import-dict-splat": (_import_case("r3_ds", "_d = {**_o}"), f"{_R32}: {{**o}} runs keys/__getitem__"),
    "import-kwargs-splat": (_import_case("r3_ks", "def _f(**k):\n    pass\n_f(**_o)"),
                            f"{_R32}: f(**o) runs keys/__getitem__"),
    "import-sorted": (_import_case("r3_so", "_l = sorted([_o, _o])"), f"{_R32}: sorted() runs __lt__"),
    "import-range-index": (_import_case("r3_ri", "_r = range(_o)"), f"{_R32}: range(o) runs __index__"),
    "import-sequence-index": (_import_case("r3_si", "_i = [1, 2][_o]"), f"{_R32}: seq[o] runs __index__"),
    "import-typing-subscript": (_import_case("r3_ts", "import typing\n_T = typing.List[_o]"),
                                f"{_R32}: typing.List[o] hashes o (the typing cache)"),
    "import-str-join": (_import_case("r3_sj", "_s = ''.join(_o)"), f"{_R32}: str.join iterates o"),
    "import-lambda-default": (_import_case("r3_ld", "_f = lambda a=_o(): a"),
                              f"{_R32}: a lambda's default is evaluated at import"),
    "method-percent-format": (_method_case("r3_mpf", "'%s' % (_o,)"), f"{_R32}: '%s' % (o,) runs __str__"),
    "method-str-format": (_method_case("r3_msf", "'{}'.format(_o)"), f"{_R32}: str.format runs __format__"),
    "method-unpack": (_method_case("r3_mu", "[a for a, b in [_o]]"), f"{_R32}: unpacking o runs __iter__"),
    "method-dict-splat": (_method_case("r3_mds", "{**_o}"), f"{_R32}: {{**o}} runs keys/__getitem__"),
    "method-kwargs-splat": (_method_case("r3_mks", "dict(**_o)"), f"{_R32}: f(**o) runs keys/__getitem__"),
    "method-sorted": (_method_case("r3_mso", "sorted([_o, _o])"), f"{_R32}: sorted() runs __lt__"),
    "method-range-index": (_method_case("r3_mri", "range(_o)"), f"{_R32}: range(o) runs __index__"),
    "method-sequence-index": (_method_case("r3_msi", "[1, 2][_o]"), f"{_R32}: seq[o] runs __index__"),
    "method-fstring-fresh-instance": (_method_case("r3_mff", "f'{O()}'"),
                                      f"{_R32}: f'{{C()}}' runs __format__ of a fresh instance"),
    "method-class-getitem": (_method_case("r3_mcg", "G[int]"), f"{_R32}: C[...] runs __class_getitem__"),
    "method-sum": (_method_case("r3_msu", "sum([_o])"), f"{_R32}: sum() runs __radd__"),
    "method-any": (_method_case("r3_man", "any([_o])"), f"{_R32}: any() runs __bool__"),
    "method-set-of": (_method_case("r3_mse", "set([_o])"), f"{_R32}: set() hashes o"),
    "method-dict-fromkeys": (_method_case("r3_mfk", "dict.fromkeys([_o])"), f"{_R32}: dict.fromkeys hashes o"),
    "method-percent-mapping": (_method_case("r3_mpm", "'%(a)s' % _o"), f"{_R32}: '%(a)s' % o runs __getitem__"),
    "method-warnings-warn": (_method_case("r3_mww", "warnings.warn(_o)"),
                             f"{_R32}: warnings.warn(o) formats o (__str__) when the warning is shown"),
    "method-class-attribute-descriptor": (_method_case("r3_mcd", "H.thing"),
                                          f"{_R32}: C.attr runs a class-level descriptor's __get__"),
    "method-lambda-default": (_method_case("r3_mld", "(lambda a=_o(): a)"),
                              f"{_R32}: a lambda's default is evaluated when the lambda is built"),
    # variants found attacking the fix
    "method-local-instance-fstring": (_method_case("r3_mlf", "(lambda o: f'{o}')(O())"),
                                      f"{_R32}: a fresh instance passed on and formatted"),
    "method-in-list": (_method_case("r3_mil", "_o in [1, 2]"), f"{_R32}: `o in [...]` runs o.__eq__"),
    "method-max": (_method_case("r3_mmx", "max(_o, _o)"), f"{_R32}: max() runs __lt__"),
    "method-nested-tuple-format": (_method_case("r3_mnt", "'%s %s' % (1, (_o,))"),
                                   f"{_R32}: a nested tuple formats o"),
    "method-str-of-fresh-instance": (_method_case("r3_msi2", "str(O())"), f"{_R32}: str(C()) runs __str__"),
}

_LOCAL_INSTANCE = {
    "local-instance-fstring": "        o = O()\n        self.k = f'{o}'\n",
    "local-instance-unpack": "        o = O()\n        a, b = o\n        self.k = a\n",
    "local-instance-sorted": "        o = O()\n        self.k = sorted([o, o])\n",
    "local-alias-fstring": "        o = _o\n        self.k = f'{o}'\n",
    "local-alias-rebound-format": "        o = 1\n        o = _o\n        self.k = '{}'.format(o)\n",
    "local-alias-branches": "        o = _o if value else []\n        self.k = str(o)\n",
    "local-alias-operator": "        o = _o if value else []\n        self.k = 1 + o\n",
}
for _label, _body in _LOCAL_INSTANCE.items():
    _pkg = "r3_" + _label.replace("-", "_")
    R3_LIB_BYPASSES["method-" + _label] = (LibCase(
        {f"{_pkg}/__init__.py": "", f"{_pkg}/m.py": _PROTOCOL_OBJECT + "\nclass X:\n    def __init__(self, value):\n"
         + _body}, lambda p=_pkg: b"\x80\x02" + _g(f"{p}.m", "X") + b"K\x01\x85R."),
        f"{_R32}: an instance the method creates, kept in a local")

# Tried on the way and refused today (regression tests): import-time constructs the analysis follows.
R3_LIB_REFUSED: dict[str, LibCase] = {
    "import-module-annotation": _import_case("r3n_ma", "_x: open(MARKER, 'w').close() = 1"),
    "import-function-annotation": _import_case("r3n_fa", "def _f(a: open(MARKER, 'w').close()):\n    pass"),
    "import-default-argument": _import_case("r3n_da", "def _f(a=_o()):\n    pass"),
    "import-set-name": _import_case("r3n_sn", "class D:\n    def __set_name__(self, owner, name):\n"
                                    "        open(MARKER, 'w').close()\nclass Y:\n    a = D()"),
    "import-init-subclass": _import_case("r3n_is", "class B:\n    def __init_subclass__(cls, **kw):\n"
                                         "        open(MARKER, 'w').close()\nclass Y(B):\n    pass"),
    "import-metaclass-prepare": _import_case("r3n_mp", "class M(type):\n    @classmethod\n"
                                             "    def __prepare__(mcs, name, bases, **kw):\n"
                                             "        open(MARKER, 'w').close()\n        return {}\n"
                                             "class Y(metaclass=M):\n    pass"),
    "import-mro-entries": _import_case("r3n_me", "class B:\n    def __mro_entries__(self, bases):\n"
                                       "        open(MARKER, 'w').close()\n        return (object,)\n"
                                       "class Y(B()):\n    pass"),
    "import-with": _import_case("r3n_wi", "class CM:\n    def __enter__(self):\n        open(MARKER, 'w').close()\n"
                                "    def __exit__(self, *a):\n        return False\nwith CM():\n    pass"),
    "import-match-class": _import_case("r3n_mc", "class M(type):\n    def __instancecheck__(cls, o):\n"
                                       "        open(MARKER, 'w').close()\n        return False\n"
                                       "class P(metaclass=M):\n    pass\nmatch 1:\n    case P():\n        pass\n"
                                       "    case _:\n        pass"),
    "import-fstring-module-object": _import_case("r3n_fs", "_s = f'{_o}'"),
    "import-format-builtin": _import_case("r3n_fb", "_s = format(_o)"),
    "import-for-loop": _import_case("r3n_fl", "for _i in _o:\n    pass"),
    "import-dict-key": _import_case("r3n_dk", "_d = {_o: 1}"),
    "import-call-object": _import_case("r3n_co", "_o()"),
    "import-list-of": _import_case("r3n_lo", "_l = list(_o)"),
    "import-print": _import_case("r3n_pr", "print(_o)"),
    "import-listcomp": _import_case("r3n_lc", "_l = [x for x in _o]"),
    # fp-longtail-a resolves ``pkg.sub`` after ``import pkg.sub`` to the submodule: attempts to rebind it afterwards
    "submodule-rebound-by-sibling": LibCase({
        "r3n_sb/__init__.py": "", "r3n_sb/sub.py": "def f(v):\n    return v\n",
        "r3n_sb/hijack.py": "import r3n_sb\nclass _E:\n    def f(self, v):\n        open(MARKER, 'w').close()\n"
                            "        return v\nr3n_sb.sub = _E()\n",
        "r3n_sb/m.py": "import r3n_sb.sub\nimport r3n_sb.hijack\nclass X:\n    def __init__(self, v):\n"
                       "        self.k = r3n_sb.sub.f(v)\n"}, lambda: b"\x80\x02" + _g("r3n_sb.m", "X") + b"K\x01\x85R."),
    "submodule-replaces-itself": LibCase({
        "r3n_sr/__init__.py": "",
        "r3n_sr/sub.py": "import sys\nclass _E:\n    def f(self, v):\n        open(MARKER, 'w').close()\n"
                         "        return v\ndef f(v):\n    return v\nsys.modules[__name__] = _E()\n",
        "r3n_sr/m.py": "import r3n_sr.sub\nclass X:\n    def __init__(self, v):\n        self.k = r3n_sr.sub.f(v)\n"},
        lambda: b"\x80\x02" + _g("r3n_sr.m", "X") + b"K\x01\x85R."),
    "submodule-deleted-then-package-getattr": LibCase({
        "r3n_sd/__init__.py": "def __getattr__(name):\n    class _E:\n        def f(self, v):\n"
                              "            open(MARKER, 'w').close()\n    return _E()\n",
        "r3n_sd/sub.py": "def f(v):\n    return v\n", "r3n_sd/clean.py": "import r3n_sd\ndel r3n_sd.sub\n",
        "r3n_sd/m.py": "import r3n_sd.sub\nimport r3n_sd.clean\nclass X:\n    def __init__(self, v):\n"
                       "        self.k = r3n_sd.sub.f(v)\n"}, lambda: b"\x80\x02" + _g("r3n_sd.m", "X") + b"K\x01\x85R."),
    "method-truth": _method_case("r3n_mt", "1 if _o else 0"),
    "method-not": _method_case("r3n_mn", "not _o"),
}


@pytest.mark.slow
@pytest.mark.parametrize("label", sorted(R3_LIB_BYPASSES))
def test_r3_lib_bypass_is_live(tmp_path: Path, label: str) -> None:
    _live(tmp_path, R3_LIB_BYPASSES[label][0])


@pytest.mark.slow
@pytest.mark.parametrize("label", sorted(R3_LIB_BYPASSES))
def test_r3_lib_bypass_is_refused(tmp_path: Path, label: str) -> None:
    _refused(tmp_path, R3_LIB_BYPASSES[label][0])


@pytest.mark.slow
@pytest.mark.parametrize("label", sorted(R3_LIB_REFUSED))
def test_r3_lib_near_miss_is_live(tmp_path: Path, label: str) -> None:
    _live(tmp_path, R3_LIB_REFUSED[label])


@pytest.mark.slow
@pytest.mark.parametrize("label", sorted(R3_LIB_REFUSED))
def test_r3_lib_near_miss_is_refused(tmp_path: Path, label: str) -> None:
    _refused(tmp_path, R3_LIB_REFUSED[label])


# --- R3-3: functools.partial state the engine drops ---------------------------------------------------------------
# partial.__setstate__ takes (func, args, keywords, __dict__) (CPython Modules/_functoolsmodule.c). The engine models
# func and args (engine/semantics.py: partial_func/partial_args, and _call of a partial passes only the positional
# arguments), but drops keywords and the instance dict: an object there is never ranked. Two shapes:
# - keywords: partial(argparse.Namespace, keys=obj)() builds a Namespace whose attribute ``keys`` is obj, and
#   ``builtins.dict`` of it calls ``ns.keys()``; the same Namespace with ``setdefault`` in torch.optim.Adam's
#   param_groups is called by Adam.__setstate__ (``group.setdefault("amsgrad", False)``, torch 2.13 optim/adam.py);
# - __dict__: partial(int) with {"keys": obj} as its instance dict, passed to ``builtins.dict``.
# The callable is numpy._pytesttester.PytestTester("encodings") (CALL allowed, calling it runs pytest, which writes
# .pytest_cache into the working directory: the marker), as in round 2.

def _pytest_runner() -> object:
    from tests.attacks import C, G

    return C(G("numpy._pytesttester", "PytestTester"), ("encodings",))


def _namespace_by_partial_keywords(attribute: str) -> object:
    from tests.attacks import C, G

    namespace = G("argparse", "Namespace")
    return C(G("functools", "partial"), (namespace,), (namespace, (), {attribute: _pytest_runner()}, None),
             call_result=True)


def _dict_of_partial_keywords() -> bytes:
    from tests.attacks import C, G, assemble

    return assemble(C(G("builtins", "dict"), (_namespace_by_partial_keywords("keys"),)))


def _adam_group_from_partial_keywords() -> bytes:
    from tests.attacks import C, G, assemble

    return assemble(C(G("copyreg", "_reconstructor"), (G("torch.optim.adam", "Adam"), G("builtins", "object"), None),
                      {"defaults": {}, "state": {}, "param_groups": [_namespace_by_partial_keywords("setdefault")]}))


def _dict_of_partial_instance_dict() -> bytes:
    from tests.attacks import C, G, assemble

    partial = C(G("functools", "partial"), (G("builtins", "int"),),
                (G("builtins", "int"), (), {}, {"keys": _pytest_runner()}))
    return assemble(C(G("builtins", "dict"), (partial,)))


_PARTIAL_STATE = {"keywords-dict": _dict_of_partial_keywords, "keywords-adam-param-group": _adam_group_from_partial_keywords,
                  "instance-dict": _dict_of_partial_instance_dict}


@pytest.mark.slow
@pytest.mark.parametrize("label", sorted(_PARTIAL_STATE))
def test_partial_state_object_is_live(tmp_path: Path, label: str) -> None:
    path = tmp_path / "model.pkl"
    path.write_bytes(_PARTIAL_STATE[label]())
    _load_in(tmp_path, "pickle", path, safe=False)
    assert (tmp_path / ".pytest_cache").exists()


@pytest.mark.slow
@pytest.mark.parametrize("container", ["pickle", "torch-zip", "joblib"])
@pytest.mark.parametrize("label", sorted(_PARTIAL_STATE))
def test_partial_state_object_is_refused(tmp_path: Path, label: str, container: str) -> None:
    from tests import attacks

    path = tmp_path / "model.bin"
    path.write_bytes(attacks.CONTAINERS[container][0](_PARTIAL_STATE[label]()))
    done = _load_in(tmp_path, container, path, safe=True)
    assert not (tmp_path / ".pytest_cache").exists(), "the payload ran under safeload"
    assert "REFUSED" in done.stdout, done.stdout + done.stderr[-2000:]


def _partial_positional_object() -> bytes:
    """Near miss: the same object as a *positional* argument of the partial is ranked (CALL_INSTANCE refused)."""
    from tests.attacks import C, G, assemble

    partial = C(G("functools", "partial"), (G("builtins", "int"),),
                (_pytest_runner(), (), {}, None), call_result=True)
    return assemble(partial)


def _namespace_by_build() -> bytes:
    """Near miss: the Namespace given ``keys`` by BUILD is ranked (R2-5)."""
    from tests.attacks import C, G, assemble

    return assemble(C(G("builtins", "dict"), (C(G("argparse", "Namespace"), (), {"keys": _pytest_runner()}),)))


@pytest.mark.slow
@pytest.mark.parametrize("build", [_partial_positional_object, _namespace_by_build],
                         ids=["partial-function-swapped-to-object", "namespace-keys-by-build"])
def test_partial_state_near_misses_are_refused(tmp_path: Path, build: object) -> None:
    assert callable(build)
    path = tmp_path / "model.pkl"
    path.write_bytes(build())
    done = _load_in(tmp_path, "pickle", path, safe=True)
    assert not (tmp_path / ".pytest_cache").exists()
    assert "REFUSED" in done.stdout, done.stdout + done.stderr[-2000:]


# --- R3-4: a catalogued module shadowed by a file earlier on sys.path -------------------------------------------
# The catalogue allows names (``zoneinfo.ZoneInfo``, reviewed VALUE) without checking which file the import system
# will load for their module. ``python -c`` and ``python script.py`` put the working directory / the script's
# directory first on sys.path, so a ``zoneinfo.py`` shipped beside the model (a downloaded model repository the user
# works in) is what ``pickle`` imports. The source analysis knows the difference (source_locate.library_roots:
# a module outside the stdlib and site-packages is "not installed library code"), the catalogue lookup does not.

def _shadowed_zoneinfo(folder: Path) -> Path:
    marker = folder / "MARKER"
    (folder / "zoneinfo.py").write_text(f"open({str(marker)!r}, 'w').close()\n\nclass ZoneInfo:\n    pass\n")
    path = folder / "model.pkl"
    path.write_bytes(b"\x80\x02czoneinfo\nZoneInfo\n.")
    return path


_SHADOW_SAFE = """
import json, safeload
report = safeload.scan("model.pkl")
try:
    safeload.pickle_load(open("model.pkl", "rb"))
    loaded = True
except safeload.SafeloadError:
    loaded = False
print(json.dumps({"loaded": loaded, "blocking": [f.rule_id for f in report.findings
                                                 if f.severity >= safeload.Severity.MEDIUM]}))
"""


@pytest.mark.slow
def test_shadowed_catalogued_module_is_live(tmp_path: Path) -> None:
    _shadowed_zoneinfo(tmp_path)
    subprocess.run([sys.executable, "-c", "import pickle; pickle.load(open('model.pkl', 'rb'))"],
                   env=_container_env(), cwd=tmp_path, capture_output=True, timeout=300, check=False)
    assert (tmp_path / "MARKER").exists()


@pytest.mark.slow
def test_shadowed_catalogued_module_is_refused(tmp_path: Path) -> None:
    _shadowed_zoneinfo(tmp_path)
    done = subprocess.run([sys.executable, "-c", _SHADOW_SAFE], env=_container_env(), cwd=tmp_path,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert not (tmp_path / "MARKER").exists(), "the payload ran under safeload"
    assert result["loaded"] is False and result["blocking"], result


# --- R3-5: the scan cache serves a verdict computed against other library source ---------------------------------
# integrity/cache.py keys a result on the file's digest, safeload's code, the policy and code_fingerprint(), which
# covers installed libraries only through the *names* of their ``*.dist-info`` directories. A verdict that rests on
# the source analysis of a long-tail module (source_analysis.py reads its .py files) is served again after that
# source changed, when no dist-info name changes: a package without metadata on PYTHONPATH (this test), an editable
# install, a same-version reinstall. The in-memory analysis cache (source_analysis.py) revalidates the files it
# read; the persistent cache does not. The file is unchanged: only a pinned digest is needed to use the cache.

_CACHED_LOAD = """
import hashlib, safeload
digest = hashlib.sha256(open("model.pkl", "rb").read()).hexdigest()
try:
    safeload.joblib_load("model.pkl", expected_sha256=digest)
    print("LOADED")
except safeload.SafeloadError:
    print("REFUSED")
"""


def _cache_case(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    site = tmp_path / "lib" / "site-packages"
    (site / "r3_cache").mkdir(parents=True)
    (site / "r3_cache" / "__init__.py").write_text("")
    (site / "r3_cache" / "m.py").write_text("class X:\n    pass\n")
    (tmp_path / "model.pkl").write_bytes(b"\x80\x02" + _g("r3_cache.m", "X") + b")R.")
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o700)
    env = _container_env()
    env.update(PYTHONPATH=os.pathsep.join([str(site), str(ROOT)]), SAFELOAD_CACHE_DIR=str(cache))
    return site / "r3_cache" / "m.py", env


def _cached_load(tmp_path: Path, env: dict[str, str]) -> str:
    done = subprocess.run([sys.executable, "-c", _CACHED_LOAD], env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=300, check=False)
    return done.stdout.strip() or done.stderr[-2000:]


@pytest.mark.slow
def test_changed_library_without_cache_is_refused(tmp_path: Path) -> None:
    """Control: the changed module alone is refused (its import writes a file), the benign one loads."""
    module, env = _cache_case(tmp_path)
    env["SAFELOAD_CACHE"] = "0"
    assert _cached_load(tmp_path, env) == "LOADED"
    module.write_text(f"open({str(tmp_path / 'MARKER')!r}, 'w').close()\n\nclass X:\n    pass\n")
    assert _cached_load(tmp_path, env) == "REFUSED"
    assert not (tmp_path / "MARKER").exists()


@pytest.mark.slow
def test_changed_library_with_cache_is_refused(tmp_path: Path) -> None:
    module, env = _cache_case(tmp_path)
    assert _cached_load(tmp_path, env) == "LOADED"
    module.write_text(f"open({str(tmp_path / 'MARKER')!r}, 'w').close()\n\nclass X:\n    pass\n")
    outcome = _cached_load(tmp_path, env)
    assert not (tmp_path / "MARKER").exists(), "the payload ran under safeload"
    assert outcome == "REFUSED"


# --- branch fp-families: ResultsWrapper's reviewed __getattribute__ + OptimizeResult's __getattr__ ------------------
# fp-families reviews statsmodels.base.wrapper.ResultsWrapper.__getattribute__ (source_tables.REVIEWED_GETATTRIBUTE)
# for names a class of the MRO defines, and admits scipy.optimize OptimizeResult (a dict whose __getattr__ returns
# self[name]) with SETITEMS. Together: any *missing* attribute the load looks up on a wrapper runs, in
# statsmodels 0.15.0 base/wrapper.py, ``obj = getattr(self._results, attr)``, ``data = results.model.data`` and, when
# ``self._wrap_attrs[attr]`` is a tuple, ``data.wrap_output(obj, *how)``. With ``data`` an OptimizeResult,
# ``wrap_output`` is an item stored by SETITEMS: never ranked as called. torch.optim.SGD.__setstate__ ends with
# ``self.defaults.setdefault("differentiable", False)``: with ``defaults`` the wrapper, the item is called as
# PytestTester("encodings")("full", 1). On main ResultsWrapper's BUILD is refused (SL104: custom __getattribute__).

def _p(module: str, name: str) -> bytes:
    return f"c{module}\n{name}\n".encode()


def _u(text: str) -> bytes:
    raw = text.encode()
    return b"U" + bytes([len(raw)]) + raw


def _results_wrapper_forwarding() -> bytes:
    runner = _p("numpy._pytesttester", "PytestTester") + b"(" + _u("encodings") + b"tR"
    data = _p("scipy.optimize._optimize", "OptimizeResult") + b")\x81(" + _u("wrap_output") + runner + b"u"

    def namespace(items: bytes) -> bytes:
        return _p("argparse", "Namespace") + b")R}(" + items + b"ub"

    results = namespace(_u("setdefault") + _u("full") + _u("model") + namespace(_u("data") + data))
    wrapper = (_p("copyreg", "_reconstructor") + b"(" + _p("statsmodels.base.wrapper", "ResultsWrapper")
               + _p("builtins", "object") + b"NtR}(" + _u("_results") + results + _u("_wrap_attrs") + b"}("
               + _u("setdefault") + b"K\x01\x85uub")
    return (b"\x80\x02" + _p("copyreg", "_reconstructor") + b"(" + _p("torch.optim.sgd", "SGD")
            + _p("builtins", "object") + b"NtR}(" + _u("defaults") + wrapper + _u("param_groups") + b"]"
            + _u("state") + b"}ub.")


@pytest.mark.slow
def test_results_wrapper_forwarding_is_live(tmp_path: Path) -> None:
    path = tmp_path / "model.pkl"
    path.write_bytes(_results_wrapper_forwarding())
    _load_in(tmp_path, "pickle", path, safe=False)
    assert (tmp_path / ".pytest_cache").exists()


@pytest.mark.slow
def test_results_wrapper_forwarding_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "model.pkl"
    path.write_bytes(_results_wrapper_forwarding())
    done = _load_in(tmp_path, "pickle", path, safe=True)
    assert not (tmp_path / ".pytest_cache").exists(), "the payload ran under safeload"
    assert "REFUSED" in done.stdout, done.stdout + done.stderr[-2000:]


# --- R3-6: an instance-dict __array_interface__ makes numpy touch an address the file chooses -------------------
# numpy looks __array_interface__ up on the *instance* (PyArray_LookupSpecial_OnInstance), and honours its
# ``data: (address, readonly)``. The R2-5 rule (engine/semantics.py _state_attributes_may_be_called) refuses a dunder
# BUILD key only when it holds a Call/Global/Opaque: a plain dict passes. So SimpleNamespace(__array_interface__=
# {..., "data": (8, False)}) given to a reviewed numpy ufunc (numpy.add, PURE) reads raw memory at address 8 on main
# (the safe loader dies with SIGSEGV; any mapped address would be copied into the loaded array: a read primitive).
# On branch fp-longtail-a, numpy.asarray (reviewed PURE there) returns a *writable view* of that memory, and
# numpy.add(1, 0, view) writes into it: an arbitrary-address write primitive.

def _raw_memory(kind: str) -> bytes:
    from tests.attacks import C, G, assemble

    typestr = "|u1" if kind == "read" else "<i8"
    state = {"__array_interface__": {"shape": (2,), "typestr": typestr, "data": (8, False), "version": 3}}
    namespace = C(G("types", "SimpleNamespace"), (), state)
    if kind == "read":
        return assemble(C(G("numpy", "add"), (namespace, 0)))
    return assemble(C(G("numpy", "add"), (1, 0, C(G("numpy", "asarray"), (namespace,)))))


_MEMORY_SAFE = """
import safeload
try:
    safeload.pickle_load(open("model.pkl", "rb"))
    print("LOADED")
except safeload.SafeloadError:
    print("REFUSED")
"""


def _memory_load(tmp_path: Path, kind: str, code: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "model.pkl").write_bytes(_raw_memory(kind))
    return subprocess.run([sys.executable, "-c", code], env=_container_env(), cwd=tmp_path, capture_output=True,
                          text=True, timeout=300, check=False)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["read", "write"])
def test_array_interface_address_is_live(tmp_path: Path, kind: str) -> None:
    done = _memory_load(tmp_path, kind, "import pickle; pickle.load(open('model.pkl', 'rb'))")
    assert done.returncode == -11, (done.returncode, done.stderr[-2000:])  # SIGSEGV at address 8


@pytest.mark.slow
def test_array_interface_read_is_refused(tmp_path: Path) -> None:
    done = _memory_load(tmp_path, "read", _MEMORY_SAFE)
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])
    assert "REFUSED" in done.stdout, done.stdout


@pytest.mark.slow
def test_array_interface_write_is_refused(tmp_path: Path) -> None:
    done = _memory_load(tmp_path, "write", _MEMORY_SAFE)
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])
    assert "REFUSED" in done.stdout, done.stdout


# --- R3-7: the fleet result store keeps a SAFE row for rewritten bytes ---------------------------------------------
# fleet/items.py identifies a local file by size and st_mtime_ns only (local_identity, expand): a file rewritten with
# the same size and its mtime put back (os.utime: any user who can write the file; tar/rsync -t/cp -p restore mtimes)
# matches the stored row, so ``safeload scan --results scan.db`` skips it as unchanged and reports SAFE again. ctime,
# inode and device are not compared (ctime cannot be set back without root).

def _same_size_pair() -> tuple[bytes, bytes]:
    malicious = b"\x80\x02cos\nsystem\nX\x04\x00\x00\x00trueq\x00\x85R."   # os.system("true"): never loaded here
    n = len(malicious) - 8
    benign = b"\x80\x02X" + n.to_bytes(4, "little") + b"a" * n + b"."
    assert len(benign) == len(malicious)
    return benign, malicious


def _fleet_scan(folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "safeload", "scan", "--results", "scan.db", "model.pkl"],
                          env=_container_env(), cwd=folder, capture_output=True, text=True, timeout=300, check=False)


@pytest.mark.slow
def test_fleet_store_rescans_rewritten_file_with_restored_mtime(tmp_path: Path) -> None:
    benign, malicious = _same_size_pair()
    path = tmp_path / "model.pkl"
    path.write_bytes(benign)
    before = os.stat(path)
    first = _fleet_scan(tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    path.write_bytes(malicious)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    second = _fleet_scan(tmp_path)
    assert second.returncode != 0, second.stdout + second.stderr   # the malicious bytes are UNSAFE


@pytest.mark.slow
def test_fleet_store_rescans_rewritten_file(tmp_path: Path) -> None:
    """Near miss: the same rewrite without putting the mtime back is scanned again and fails."""
    benign, malicious = _same_size_pair()
    path = tmp_path / "model.pkl"
    path.write_bytes(benign)
    assert _fleet_scan(tmp_path).returncode == 0
    path.write_bytes(malicious)
    later = os.stat(path).st_mtime_ns + 5_000_000_000
    os.utime(path, ns=(later, later))
    second = _fleet_scan(tmp_path)
    assert second.returncode != 0, second.stdout + second.stderr


# --- R3-8: BUILD state that is itself built by a call -------------------------------------------------------------
# engine/semantics.py _state_attributes_may_be_called and _check_slot_state read the state only when it is a dict
# (or slot tuple) *literal* of the pickle (_state_kind). A state produced by a call, ``builtins.dict([(k, v)])`` or
# ``collections.OrderedDict(...)`` (both allowed), is a real dict when the C unpickler applies it, so its values
# become attributes that nothing ranked: SimpleNamespace(keys=PytestTester(...)) passed to ``builtins.dict`` calls
# ``keys()``. Slot state with a computed second element takes the same road (setattr of every key).

def _computed_state(kind: str) -> bytes:
    from tests.attacks import C, G, assemble

    if kind == "slots-class-swap":
        return _computed_class_swap()
    pairs = [("keys", _pytest_runner())]
    if kind == "dict-call":
        state: object = C(G("builtins", "dict"), (pairs,))
    elif kind == "ordereddict-call":
        state = C(G("collections", "OrderedDict"), (pairs,))
    else:
        state = (None, C(G("builtins", "dict"), (pairs,)))
    return assemble(C(G("builtins", "dict"), (C(G("types", "SimpleNamespace"), (), state),)))


def _computed_class_swap() -> bytes:
    """A Namespace given ``module_name`` by BUILD, then a second BUILD with slot state ``(None, dict([("__class__",
    PytestTester)]))``: setattr swaps its class (both are plain Python classes). It sits in torch.optim.SGD's state
    as ``_patch_step_function``, so SGD.__setstate__ calls it: ranked as a call of an argparse.Namespace (inert),
    it runs PytestTester.__call__. A literal slot state holding ``__class__`` is refused (SL110)."""
    from tests.attacks import C, G, _emit

    namespace = C(G("copyreg", "_reconstructor"), (G("argparse", "Namespace"), G("builtins", "object"), None),
                  {"module_name": "encodings"})
    out = bytearray(b"\x80\x02")
    _emit(C(G("copyreg", "_reconstructor"), (G("torch.optim.sgd", "SGD"), G("builtins", "object"), None)), out)
    out += b"}("
    for key, value in (("defaults", {}), ("param_groups", []), ("state", {}), ("_patch_step_function", namespace)):
        _emit(key, out)
        _emit(value, out)
    _emit((None, C(G("builtins", "dict"), ([("__class__", G("numpy._pytesttester", "PytestTester"))],))), out)
    out += b"bub."
    return bytes(out)


_COMPUTED_STATES = ["dict-call", "ordereddict-call", "slots-dict-call", "slots-class-swap"]


@pytest.mark.slow
@pytest.mark.parametrize("kind", _COMPUTED_STATES)
def test_computed_build_state_is_live(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "model.pkl"
    path.write_bytes(_computed_state(kind))
    _load_in(tmp_path, "pickle", path, safe=False)
    assert (tmp_path / ".pytest_cache").exists()


@pytest.mark.slow
@pytest.mark.parametrize("kind", _COMPUTED_STATES)
def test_computed_build_state_is_refused(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "model.pkl"
    path.write_bytes(_computed_state(kind))
    done = _load_in(tmp_path, "pickle", path, safe=True)
    assert not (tmp_path / ".pytest_cache").exists(), "the payload ran under safeload"
    assert "REFUSED" in done.stdout, done.stdout + done.stderr[-2000:]


# --- R3-9: a module __getattr__ reached through ``from ... import`` and self-lookups ----------------------------------
# source_model.Resolver refuses a name served by a module ``__getattr__`` when it *resolves* an outside attribute
# (``pkg.name``), but the import system calls that hook in more places: ``from pkg import name`` (and ``from . import
# name`` in the package's own __init__) runs ``pkg.__getattr__(name)`` at import when nothing binds the name;
# ``from pkg.m import name`` / ``from pkg import m; m.name`` / ``sys.modules[__name__].name`` inside a method run it
# at load. None of these is analysed; the hook's body runs.

_MODULE_GETATTR = "def __getattr__(name):\n    open(MARKER, 'w').close()\n    return 1\n"
R3_GETATTR_BYPASSES: dict[str, LibCase] = {
    "init-from-dot-import": LibCase({"r3g_fd/__init__.py": _MODULE_GETATTR + "from . import helper\n",
                                     "r3g_fd/m.py": "class X:\n    pass\n"},
                                    lambda: b"\x80\x02" + _g("r3g_fd.m", "X") + b"."),
    "submodule-from-package-import": LibCase({"r3g_sp/__init__.py": _MODULE_GETATTR,
                                              "r3g_sp/m.py": "from r3g_sp import helper\nclass X:\n    pass\n"},
                                             lambda: b"\x80\x02" + _g("r3g_sp.m", "X") + b"."),
    "method-sys-modules-self": LibCase({"r3g_sm/__init__.py": "", "r3g_sm/m.py": _MODULE_GETATTR + (
        "import sys\nclass X:\n    def __init__(self, v):\n        self.k = sys.modules[__name__].helper\n")},
        lambda: b"\x80\x02" + _g("r3g_sm.m", "X") + b"K\x01\x85R."),
    "method-import-self-attribute": LibCase({"r3g_is/__init__.py": "", "r3g_is/m.py": _MODULE_GETATTR + (
        "class X:\n    def __init__(self, v):\n        from r3g_is import m\n        self.k = m.helper\n")},
        lambda: b"\x80\x02" + _g("r3g_is.m", "X") + b"K\x01\x85R."),
    "method-from-self-import": LibCase({"r3g_fs/__init__.py": "", "r3g_fs/m.py": _MODULE_GETATTR + (
        "class X:\n    def __init__(self, v):\n        from r3g_fs.m import helper\n        self.k = helper\n")},
        lambda: b"\x80\x02" + _g("r3g_fs.m", "X") + b"K\x01\x85R."),
    # variants found attacking the fix
    "import-star-all": LibCase({"r3g_st/__init__.py": "", "r3g_st/h.py": _MODULE_GETATTR + "__all__ = ['helper']\n",
                                "r3g_st/m.py": "from r3g_st.h import *\nclass X:\n    pass\n"},
                               lambda: b"\x80\x02" + _g("r3g_st.m", "X") + b"."),
    "import-conditional-binding": LibCase({"r3g_cb/__init__.py": _MODULE_GETATTR + "if False:\n    helper = 1\n",
                                           "r3g_cb/m.py": "from r3g_cb import helper\nclass X:\n    pass\n"},
                                          lambda: b"\x80\x02" + _g("r3g_cb.m", "X") + b"."),
    "import-deleted-binding": LibCase({"r3g_db/__init__.py": _MODULE_GETATTR + "helper = 1\ndel helper\n",
                                       "r3g_db/m.py": "from r3g_db import helper\nclass X:\n    pass\n"},
                                      lambda: b"\x80\x02" + _g("r3g_db.m", "X") + b"."),
    "init-binding-after-import": LibCase({"r3g_ba/__init__.py": _MODULE_GETATTR + "from r3g_ba import helper\n"
                                          "helper = 2\n", "r3g_ba/m.py": "class X:\n    pass\n"},
                                         lambda: b"\x80\x02" + _g("r3g_ba.m", "X") + b"."),
    "import-submodule-not-yet-imported": LibCase({"r3g_su/__init__.py": _MODULE_GETATTR, "r3g_su/sub.py": "",
                                                  "r3g_su/m.py": "from r3g_su import sub\nclass X:\n    pass\n"},
                                                 lambda: b"\x80\x02" + _g("r3g_su.m", "X") + b"."),
    "toplevel-module-attribute": LibCase({"r3g_ta/__init__.py": _MODULE_GETATTR,
                                          "r3g_ta/m.py": "import r3g_ta\n_h = r3g_ta.helper\nclass X:\n    pass\n"},
                                         lambda: b"\x80\x02" + _g("r3g_ta.m", "X") + b"."),
    "method-sys-modules-other": LibCase({"r3g_so/__init__.py": _MODULE_GETATTR, "r3g_so/m.py": (
        "import sys\nimport r3g_so\nclass X:\n    def __init__(self, v):\n"
        "        self.k = sys.modules['r3g_so'].helper\n")},
        lambda: b"\x80\x02" + _g("r3g_so.m", "X") + b"K\x01\x85R."),
    "method-sys-modules-alias": LibCase({"r3g_sa/__init__.py": "", "r3g_sa/m.py": _MODULE_GETATTR + (
        "from sys import modules as _mods\nclass X:\n    def __init__(self, v):\n"
        "        self.k = _mods[__name__].helper\n")},
        lambda: b"\x80\x02" + _g("r3g_sa.m", "X") + b"K\x01\x85R."),
    "method-getattr-builtin": LibCase({"r3g_gb/__init__.py": "", "r3g_gb/m.py": _MODULE_GETATTR + (
        "class X:\n    def __init__(self, v):\n        from r3g_gb import m\n        self.k = getattr(m, 'helper')\n")},
        lambda: b"\x80\x02" + _g("r3g_gb.m", "X") + b"K\x01\x85R."),
    "method-hasattr-builtin": LibCase({"r3g_hb/__init__.py": "", "r3g_hb/m.py": _MODULE_GETATTR + (
        "class X:\n    def __init__(self, v):\n        from r3g_hb import m\n        self.k = hasattr(m, 'helper')\n")},
        lambda: b"\x80\x02" + _g("r3g_hb.m", "X") + b"K\x01\x85R."),
    "method-getattr-sys-modules": LibCase({"r3g_gs/__init__.py": _MODULE_GETATTR, "r3g_gs/m.py": (
        "import sys\nimport r3g_gs\nclass X:\n    def __init__(self, v):\n"
        "        self.k = getattr(sys.modules['r3g_gs'], 'helper')\n")},
        lambda: b"\x80\x02" + _g("r3g_gs.m", "X") + b"K\x01\x85R."),
    "hook-calls-helper": LibCase({"r3g_hh/__init__.py": "def _load(n):\n    open(MARKER, 'w').close()\n"
                                  "    return 1\ndef __getattr__(name):\n    return _load(name)\n",
                                  "r3g_hh/m.py": "from r3g_hh import helper\nclass X:\n    pass\n"},
                                 lambda: b"\x80\x02" + _g("r3g_hh.m", "X") + b"."),
}

# Near misses that must keep loading: the name is bound, or the hook only raises.
R3_GETATTR_LOADS: dict[str, LibCase] = {
    "bound-name": LibCase({"r3g_ok/__init__.py": _MODULE_GETATTR + "helper = 1\n",
                           "r3g_ok/m.py": "from r3g_ok import helper\nclass X:\n    pass\n"},
                          lambda: b"\x80\x02" + _g("r3g_ok.m", "X") + b"."),
    "raising-hook": LibCase({"r3g_rh/__init__.py": "def __getattr__(name):\n    raise AttributeError(name)\n",
                             "r3g_rh/sub.py": "", "r3g_rh/m.py": "from r3g_rh import sub\nclass X:\n    pass\n"},
                            lambda: b"\x80\x02" + _g("r3g_rh.m", "X") + b"."),
}


@pytest.mark.slow
@pytest.mark.parametrize("label", sorted(R3_GETATTR_LOADS))
def test_module_getattr_near_miss_loads(tmp_path: Path, label: str) -> None:
    site, payload, marker = _install(tmp_path, R3_GETATTR_LOADS[label])
    done = _run(site, _SAFE.format(p=str(payload)))
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert not marker.exists()
    assert result["loaded"] is True, result


@pytest.mark.slow
@pytest.mark.parametrize("label", sorted(R3_GETATTR_BYPASSES))
def test_module_getattr_bypass_is_live(tmp_path: Path, label: str) -> None:
    _live(tmp_path, R3_GETATTR_BYPASSES[label])


@pytest.mark.slow
@pytest.mark.parametrize("label", sorted(R3_GETATTR_BYPASSES))
def test_module_getattr_bypass_is_refused(tmp_path: Path, label: str) -> None:
    _refused(tmp_path, R3_GETATTR_BYPASSES[label])


# --- branch fp-longtail-b: pint's unit parser as a load-time power operator ---------------------------------------
# fp-longtail-b reviews pint._unpickle_quantity and PlainQuantity (PURE / INVOKE): "a str value ... goes through pint's
# unit parser (its tokenizer and evaluator, never Python eval)". That evaluator (pint 0.25 pint_eval.py) computes
# ``**`` with operator.pow on Python ints (eval_token returns int for integer tokens), so the quantity string
# "9**9**9**9" makes the load compute an integer with ~10**(3.7e8) digits: it never returns and eats memory. On
# main pint is not catalogued (refused, SL104).

def _pint_power() -> bytes:
    from tests.attacks import C, G, assemble

    return assemble(C(G("pint", "_unpickle_quantity"),
                      (G("pint.facets.plain.quantity", "PlainQuantity"), "9**9**9**9")))


@pytest.mark.slow
def test_pint_quantity_power_is_refused(tmp_path: Path) -> None:
    """Passes on main; on fp-longtail-b the safe loader never returns (R3 on fp-longtail-b)."""
    pytest.importorskip("pint")
    (tmp_path / "model.pkl").write_bytes(_pint_power())
    try:
        done = subprocess.run([sys.executable, "-c", _MEMORY_SAFE], env=_container_env(), cwd=tmp_path,
                              capture_output=True, text=True, timeout=120, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail("the safe loader let the quantity through and is still computing 9**9**9**9")
    assert "REFUSED" in done.stdout, done.stdout + done.stderr[-2000:]
