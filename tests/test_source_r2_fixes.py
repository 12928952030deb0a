"""Source analysis fixes for red-team round 2 (R2-1, R2-2, R2-3, R2-7, R2-8), in process on a synthetic
environment (``tests/test_source_analysis.Env``): nothing is imported, and every analysis asserts that the marker
the analysed code would write is absent. The end-to-end witnesses are in ``tests/test_redteam_round2.py``."""

from __future__ import annotations

import pytest

from safeload.catalog.uses import Use
from tests.test_source_analysis import ALL, Env, env, v

__all__ = ["env"]


def _import(env: Env, files: dict[str, str], module: str = "pkg.m", name: str = "X") -> tuple[bool, str]:
    env.write(files)
    verdict = env.run(module, name, Use.REF | Use.IMPORT).import_effects
    return verdict.inert, verdict.reason


# --- R2-1: transitive imports ---------------------------------------------------------------------------------

@pytest.mark.parametrize("importer", [
    "from . import _side",
    "import pkg._side",
    "from pkg._side import thing",
    "import pkg._side as s",
    "class Holder:\n    from . import _side",
    "try:\n    from . import _side\nexcept ImportError:\n    pass",
    "import sys\nif sys.version_info >= (3,):\n    from . import _side",
])
def test_transitive_import_is_analysed(env: Env, importer: str) -> None:
    inert, reason = _import(env, {"pkg/__init__.py": "", "pkg/m.py": f"{importer}\n\nclass X:\n    pass\n",
                                  "pkg/_side.py": "thing = 1\nopen(MARKER, 'w').close()\n"})
    assert not inert and "pkg._side" in reason and "open" in reason, reason


def test_transitive_import_of_another_package_is_analysed(env: Env) -> None:
    inert, reason = _import(env, {"pkg/__init__.py": "", "pkg/m.py": "import other.deep\n\nclass X:\n    pass\n",
                                  "other/__init__.py": "", "other/deep.py": "from . import deeper\n",
                                  "other/deeper.py": "import os\nos.system('true')\n"})
    assert not inert and "other.deeper" in reason, reason


def test_inert_transitive_imports_and_cycles_stay_inert(env: Env) -> None:
    inert, reason = _import(env, {"pkg/__init__.py": "from . import m\n",
                                  "pkg/m.py": "from . import a\nimport json\n\nclass X:\n    pass\n",
                                  "pkg/a.py": "from . import b\nfrom pkg import m\nA = 1\n",
                                  "pkg/b.py": "import pkg.a\nB = [1]\n"})
    assert inert, reason


def test_type_checking_and_optional_missing_imports_are_not_followed(env: Env) -> None:
    inert, reason = _import(env, {"pkg/__init__.py": "", "pkg/m.py": """
        from typing import TYPE_CHECKING
        if TYPE_CHECKING:
            from . import _side
        try:
            import not_installed_anywhere
        except ImportError:
            not_installed_anywhere = None
        class X:
            pass
        """, "pkg/_side.py": "open(MARKER, 'w').close()\n"})
    assert inert, reason


def test_unguarded_missing_import_is_not_inert(env: Env) -> None:
    inert, reason = _import(env, {"pkg/__init__.py": "", "pkg/m.py": "import not_installed_anywhere\nclass X: pass\n"})
    assert not inert and "not_installed_anywhere" in reason


def test_function_called_at_import_that_imports_is_followed(env: Env) -> None:
    inert, reason = _import(env, {"pkg/__init__.py": "", "pkg/m.py": """
        def _load():
            from . import _side
            return 1
        VALUE = _load()
        class X:
            pass
        """, "pkg/_side.py": "open(MARKER, 'w').close()\n"})
    assert not inert and "pkg._side" in reason, reason


def test_catalogue_vouch_covers_its_package_only(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the closure check on (the default; SAFELOAD_STRICT_IMPORTS=0 switches it off, and a vouch then
    covers its imports: R2-1 open)."""
    from safeload.catalog import source_imports

    monkeypatch.setattr(source_imports, "STRICT_IMPORTS", True)
    files = {"vouched/__init__.py": "", "vouched/m.py": "import helper\nfrom . import own\nclass X:\n    pass\n",
             "vouched/own.py": "open(MARKER, 'w').close()\n", "helper/__init__.py": "import os\nos.getcwd()\n"}
    env.write(files)

    def catalog(name: str, use: Use) -> bool | None:
        return True if use is Use.IMPORT and name.split(".", maxsplit=1)[0] == "vouched" else None

    verdict = env.run("vouched.m", "X", Use.REF | Use.IMPORT, catalog=catalog).import_effects
    assert not verdict.inert and "helper" in verdict.reason, verdict.reason


# --- R2-2: isinstance runs metaclass hooks ---------------------------------------------------------------------

@pytest.mark.parametrize("check", ["isinstance(value, P)", "isinstance(value, (int, P))", "issubclass(int, P)",
                                   "isinstance(value, _TYPES)"])
@pytest.mark.parametrize("kind", ["abc", "meta", "protocol"])
def test_isinstance_runs_class_hooks(env: Env, check: str, kind: str) -> None:
    head = {
        "abc": "import abc\nclass P(abc.ABC):\n    @classmethod\n    def __subclasshook__(cls, other):\n"
               "        open(MARKER, 'w').close()\n        return NotImplemented\n",
        "meta": "class Meta(type):\n    def __instancecheck__(cls, inst):\n        open(MARKER, 'w').close()\n"
                "        return False\n    def __subclasscheck__(cls, sub):\n        open(MARKER, 'w').close()\n"
                "        return False\nclass P(metaclass=Meta):\n    pass\n",
        "protocol": "import typing\nclass P(typing.Protocol):\n    @classmethod\n    def __subclasshook__(cls, o):\n"
                    "        open(MARKER, 'w').close()\n        return NotImplemented\n",
    }[kind]
    env.write({"pkg/__init__.py": "", "pkg/m.py": head + f"""
_TYPES = (str, P)
class X:
    def __init__(self, value):
        self.ok = {check}
"""})
    verdict = v(env.run("pkg.m", "X", Use.CALL), Use.CALL)
    assert not verdict.inert and "open" in verdict.reason, verdict.reason


def test_isinstance_against_plain_classes_stays_inert(env: Env) -> None:
    env.write({"pkg/__init__.py": "", "pkg/m.py": """
        import abc
        import collections.abc
        class Base(abc.ABC):
            pass
        class Plain:
            pass
        class X:
            def __init__(self, value):
                self.ok = isinstance(value, (int, str, Base, Plain, collections.abc.Mapping))
        """})
    verdict = v(env.run("pkg.m", "X", Use.CALL), Use.CALL)
    assert verdict.inert, verdict.reason


# --- R2-3: protocol methods of module-level objects ---------------------------------------------------------------

_REGISTRY = """
class _Registry:
    def __getitem__(self, key):
        open(MARKER, "w").close()
    def __eq__(self, other):
        open(MARKER, "w").close()
    __hash__ = object.__hash__
    def __iadd__(self, other):
        open(MARKER, "w").close()
        return self
    def __bool__(self):
        open(MARKER, "w").close()
        return True
    def __iter__(self):
        open(MARKER, "w").close()
        return iter(())
    @property
    def attr(self):
        open(MARKER, "w").close()
_registry = _Registry()
_unknown = make_it()
"""


@pytest.mark.parametrize("expr", ["_registry[value]", "value == _registry", "{_registry: 1}", "{_registry}",
                                  "_registry.attr", "1 if _registry else 0", "[*_registry]", "not _registry",
                                  "_unknown[value]", "_unknown.attr", "value in _unknown"])
def test_protocol_of_module_object_is_analysed(env: Env, expr: str) -> None:
    env.write({"pkg/__init__.py": "", "pkg/m.py": "from .f import make_it\n" + _REGISTRY + f"""
class X:
    def __init__(self, value):
        self.k = {expr}
""", "pkg/f.py": "def make_it():\n    return 1\n"})
    verdict = v(env.run("pkg.m", "X", Use.CALL), Use.CALL)
    assert not verdict.inert, verdict.reason


def test_augmented_assignment_of_module_object_at_import(env: Env) -> None:
    inert, reason = _import(env, {"pkg/__init__.py": "", "pkg/m.py": _REGISTRY.replace("make_it()", "1")
                                  + "_registry += 1\nclass X:\n    pass\n"})
    assert not inert and "_registry" in reason, reason


def test_protocol_of_builtin_module_tables_stays_inert(env: Env) -> None:
    env.write({"pkg/__init__.py": "", "pkg/m.py": """
        import collections
        _TABLE = {"a": 1}
        _NAMES = frozenset(["a", "b"])
        _ORDER = collections.OrderedDict(a=1)
        _BOTH = _NAMES | {"c"}
        class X:
            def __init__(self, value):
                self.k = _TABLE[value] if value in _NAMES and value in _BOTH else len(_ORDER)
                self.n = [x for x in _TABLE] + [*_NAMES]
        """})
    verdict = v(env.run("pkg.m", "X", Use.CALL), Use.CALL)
    assert verdict.inert, verdict.reason


# --- R2-7: rebinding the import system's module attributes ----------------------------------------------------------

@pytest.mark.parametrize("statement", ["__path__ = []", "__path__ += ['x']", "__spec__ = None", "__loader__ = None",
                                       "del __path__", "from os import sep as __path__",
                                       "def _f():\n    global __path__\n    __path__ = []\n_f()"])
def test_rebinding_import_attributes_is_not_analysable(env: Env, statement: str) -> None:
    inert, reason = _import(env, {"pkg/__init__.py": statement + "\n", "pkg/m.py": "class X:\n    pass\n"})
    assert not inert and "__path__" in reason, reason


# --- R2-8: module tables at import ----------------------------------------------------------------------------------

@pytest.mark.parametrize("body", [
    "_t = [2, 1]\n_t.sort(key=lambda v: open(MARKER, 'w').close() or v)",
    "def _k(v):\n    open(MARKER, 'w').close()\n    return v\n_t = [2, 1]\n_t.sort(key=_k)",
    "import collections\n_t = collections.defaultdict(lambda: open(MARKER, 'w').close())\n_t['missing']",
    "from collections import defaultdict\n_t = defaultdict(lambda: open(MARKER, 'w').close())",
    "class _R:\n    def append(self, v):\n        open(MARKER, 'w').close()\n_t = _R()\n_t.append(1)",
    "class _R(dict):\n    def __setitem__(self, k, v):\n        open(MARKER, 'w').close()\n_t = _R()\n_t['a'] = 1",
    "class _R:\n    pass\n_t = _R()\n_t.x = 1",
    "_t = sorted([2, 1], key=lambda v: open(MARKER, 'w').close() or v)",
])
def test_import_time_table_calls_are_analysed(env: Env, body: str) -> None:
    inert, reason = _import(env, {"pkg/__init__.py": "", "pkg/m.py": body + "\nclass X:\n    pass\n"})
    assert not inert, reason


def test_builtin_tables_at_import_stay_inert(env: Env) -> None:
    inert, reason = _import(env, {"pkg/__init__.py": "", "pkg/m.py": """
        import collections
        _T = []
        _T.append(1)
        _T.sort(key=len)
        _D = {}
        _D["a"] = 1
        _D.update(b=2)
        _C = collections.defaultdict(list)
        _C["x"].append(1)
        class X:
            pass
        """})
    assert inert, reason


def test_all_uses_of_a_plain_class_stay_inert(env: Env) -> None:
    env.write({"pkg/__init__.py": "", "pkg/m.py": "class X:\n    def __init__(self, a):\n        self.a = a\n"})
    result = env.run("pkg.m", "X", ALL)
    assert all(u.inert for u in result.uses), result.uses


# --- found attacking the fixes ---------------------------------------------------------------------------------------

def test_star_import_follows_all_submodules(env: Env) -> None:
    inert, reason = _import(env, {"pkg/__init__.py": "", "pkg/m.py": "from pkg.sub import *\nclass X:\n    pass\n",
                                  "pkg/sub/__init__.py": "__all__ = ['_side']\n",
                                  "pkg/sub/_side.py": "open(MARKER, 'w').close()\n"})
    assert not inert and "pkg.sub._side" in reason, reason


@pytest.mark.parametrize("expr", ["getattr(_registry, 'attr')", "hasattr(_registry, 'attr')", "dir(_registry)",
                                  "divmod(_registry, 2)", "pow(_registry, 2)", "hex(_registry)"])
def test_builtins_on_module_objects_are_analysed(env: Env, expr: str) -> None:
    env.write({"pkg/__init__.py": "", "pkg/m.py": """
        class _Registry:
            @property
            def attr(self):
                open(MARKER, "w").close()
            def __dir__(self):
                open(MARKER, "w").close()
                return []
            def __divmod__(self, other):
                open(MARKER, "w").close()
            def __pow__(self, other):
                open(MARKER, "w").close()
            def __index__(self):
                open(MARKER, "w").close()
                return 1
        _registry = _Registry()
        """ + f"""
        class X:
            def __init__(self, value):
                self.k = {expr}
        """})
    verdict = v(env.run("pkg.m", "X", Use.CALL), Use.CALL)
    assert not verdict.inert and "open" in verdict.reason, verdict.reason
