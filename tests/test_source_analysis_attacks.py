"""Attacks on the source analysis: an attacker picks which installed class a pickle names and what state it
carries. Each case is a class whose load would run code that an earlier version of the analysis called inert
(or a neighbouring pitfall); nothing is ever imported, and the marker file must stay absent."""

from __future__ import annotations

import os
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest

from safeload.catalog import source_analysis as sa
from safeload.catalog.source_analysis import Analysis, BuildState, analyse
from safeload.catalog.source_effects import CLASS_ASSIGNMENT
from safeload.catalog.uses import Use


def run(site: Path, source: str, qualname: str, uses: Use, **kw: object) -> Analysis:
    pkg = site / "atk"
    pkg.mkdir(exist_ok=True)
    (pkg / "__init__.py").write_text("")
    marker = site.parent / "marker"
    (pkg / "m.py").write_text(textwrap.dedent(source).replace("MARKER", repr(str(marker))))
    paths = sysconfig.get_paths()
    before = set(sys.modules)
    result = analyse("atk.m", qualname, uses, search_path=[str(site), paths["stdlib"]], **kw)  # type: ignore[arg-type]
    assert set(sys.modules) == before
    assert not marker.exists()
    sa.clear_cache()
    return result


def verdict(a: Analysis, use: Use) -> sa.UseVerdict:
    found = a.verdict(use)
    assert found is not None
    return found


def test_operator_on_self_runs_the_class_dunder(site: Path) -> None:
    a = run(site, """
        import os
        class Vec:
            def __add__(self, other):
                os.system("id")
                return self
            def __setstate__(self, state):
                self.__dict__.update(state)
                total = self + 1
    """, "Vec", Use.BUILD)
    assert not verdict(a, Use.BUILD).inert and "system" in verdict(a, Use.BUILD).reason


def test_truth_and_len_of_self(site: Path) -> None:
    a = run(site, """
        import subprocess
        class Box:
            def __len__(self):
                subprocess.call(["true"])
                return 0
            def __setstate__(self, state):
                if self:
                    self.__dict__.update(state)
    """, "Box", Use.BUILD)
    assert not verdict(a, Use.BUILD).inert


def test_self_passed_to_a_helper_that_sets_attributes(site: Path) -> None:
    a = run(site, """
        import os
        def fill(obj, state):
            for k, v in state.items():
                obj.k = v

        class Target:
            @property
            def k(self):
                return 0
            @k.setter
            def k(self, value):
                os.remove(value)
            def __setstate__(self, state):
                fill(self, state)
    """, "Target", Use.BUILD)
    assert not verdict(a, Use.BUILD).inert and "remove" in verdict(a, Use.BUILD).reason


def test_reading_a_non_data_descriptor_runs_its_get(site: Path) -> None:
    a = run(site, """
        import os
        class Lazy:
            def __get__(self, obj, owner):
                return os.getcwd()
        class Holder:
            cwd = Lazy()
            def __setstate__(self, state):
                self.__dict__.update(state)
                here = self.cwd
    """, "Holder", Use.BUILD)
    assert not verdict(a, Use.BUILD).inert and "__get__" in verdict(a, Use.BUILD).reason


def test_self_class_call_is_not_a_builtin_method(site: Path) -> None:
    a = run(site, """
        class Cloner:
            def __setstate__(self, state):
                self.copy = self.__class__(state)
    """, "Cloner", Use.BUILD)
    assert not verdict(a, Use.BUILD).inert


def test_computed_setattr_records_class_assignment(site: Path) -> None:
    a = run(site, """
        class Loose:
            def __setstate__(self, state):
                for key, value in state.items():
                    setattr(self, key, value)
        class Plain:
            pass
    """, "Loose", Use.BUILD)
    assert verdict(a, Use.BUILD).inert and CLASS_ASSIGNMENT in verdict(a, Use.BUILD).touches
    b = run(site, "class Plain:\n    pass\n", "Plain", Use.BUILD, build_state=BuildState.SLOTS)
    assert verdict(b, Use.BUILD).inert and CLASS_ASSIGNMENT in verdict(b, Use.BUILD).touches
    c = run(site, "class Plain:\n    pass\n", "Plain", Use.BUILD, build_state=BuildState.DICT)
    assert CLASS_ASSIGNMENT not in verdict(c, Use.BUILD).touches
    d = run(site, """
        class Morph:
            def __setstate__(self, state):
                self.__class__ = state
    """, "Morph", Use.BUILD)
    assert not verdict(d, Use.BUILD).inert and "__class__" in verdict(d, Use.BUILD).reason


def test_init_subclass_injecting_setstate(site: Path) -> None:
    a = run(site, """
        import os
        def _restore(self, state):
            os.system(state)
        class Base:
            def __init_subclass__(cls, **kw):
                cls.__setstate__ = _restore
        class Child(Base):
            pass
    """, "Child", Use.BUILD | Use.NEW)
    assert not verdict(a, Use.BUILD).inert and "__init_subclass__" in verdict(a, Use.BUILD).reason
    assert not verdict(a, Use.NEW).inert


def test_metaclass_building_the_class(site: Path) -> None:
    a = run(site, """
        import os
        class Meta(type):
            def __new__(mcs, name, bases, ns):
                ns["__setstate__"] = lambda self, s: os.system(s)
                return super().__new__(mcs, name, bases, ns)
        class Made(metaclass=Meta):
            pass
    """, "Made", Use.BUILD)
    assert not verdict(a, Use.BUILD).inert and "metaclass" in verdict(a, Use.BUILD).reason


def test_class_patched_after_definition(site: Path) -> None:
    a = run(site, """
        import os
        class Patched:
            pass
        def _evil(self, state):
            os.system(state)
        Patched.__setstate__ = _evil
    """, "Patched", Use.BUILD | Use.IMPORT)
    assert not verdict(a, Use.BUILD).inert and "modified at the top level" in verdict(a, Use.BUILD).reason
    assert not a.import_effects.inert


def test_later_star_import_rebinds_the_name(site: Path) -> None:
    (site / "other.py").write_text("import os\nclass Thing:\n    def __setstate__(self, s):\n        os.system(s)\n")
    a = run(site, """
        class Thing:
            pass
        from other import *
    """, "Thing", Use.BUILD)
    assert not verdict(a, Use.BUILD).inert and "import *" in verdict(a, Use.BUILD).reason


def test_star_import_respects_all(site: Path) -> None:
    (site / "other2.py").write_text("__all__ = ['Other']\nclass Thing:\n    def __setstate__(self, s):\n"
                                    "        open(s)\nclass Other:\n    pass\n")
    a = run(site, """
        class Thing:
            pass
        from other2 import *
    """, "Thing", Use.BUILD)
    assert verdict(a, Use.BUILD).inert  # Thing is not in other2.__all__: the local class stays


def test_conditionally_defined_hook_checks_every_definition(site: Path) -> None:
    a = run(site, """
        import sys, os
        class Versioned:
            if sys.version_info >= (3, 99):
                def __setstate__(self, state):
                    os.system(state)
            else:
                def __setstate__(self, state):
                    self.__dict__.update(state)
    """, "Versioned", Use.BUILD)
    assert not verdict(a, Use.BUILD).inert


def test_reduce_and_getstate_are_irrelevant_to_a_load(site: Path) -> None:
    a = run(site, """
        import os
        class Dumper:
            def __reduce__(self):
                os.system("x")
            def __reduce_ex__(self, proto):
                os.system("x")
            def __getstate__(self):
                os.system("x")
            def __class_getitem__(cls, item):
                os.system("x")
    """, "Dumper", Use.NEW | Use.BUILD | Use.ALLOC | Use.CALL)
    assert all(v.inert for v in a.uses), a.uses  # a load never calls these


def test_missing_on_dict_subclass_reached_by_self_lookup(site: Path) -> None:
    a = run(site, """
        import os
        class Defaults(dict):
            def __missing__(self, key):
                os.system(key)
            def __setstate__(self, state):
                self.__dict__.update(state)
                mode = self["mode"]
    """, "Defaults", Use.BUILD | Use.MUTATE)
    assert not verdict(a, Use.BUILD).inert and "system" in verdict(a, Use.BUILD).reason
    assert verdict(a, Use.MUTATE).inert  # SETITEMS uses dict.__setitem__, never __missing__


def test_weakref_finalizers_and_atexit_are_not_inert(site: Path) -> None:
    a = run(site, """
        import weakref, atexit, shutil
        class Temp:
            def __init__(self, path):
                self.path = path
                weakref.finalize(self, shutil.rmtree, path)
        class Exit:
            def __init__(self, path):
                atexit.register(shutil.rmtree, path)
    """, "Temp", Use.CALL)
    assert not verdict(a, Use.CALL).inert and "weakref.finalize" in verdict(a, Use.CALL).reason
    b = run(site, """
        import atexit, shutil
        class Exit:
            def __init__(self, path):
                atexit.register(shutil.rmtree, path)
    """, "Exit", Use.CALL)
    assert not verdict(b, Use.CALL).inert


def test_del_on_a_base_class_counts(site: Path) -> None:
    a = run(site, """
        import os
        class Resource:
            def __del__(self):
                os.unlink(self.path)
        class Handle(Resource):
            pass
    """, "Handle", Use.ALLOC | Use.NEW | Use.REF)
    assert not verdict(a, Use.ALLOC).inert and "__del__" in verdict(a, Use.ALLOC).reason
    assert verdict(a, Use.REF).inert


def test_decorated_setstate_and_hook_bound_to_a_function(site: Path) -> None:
    a = run(site, """
        import functools, os
        def trace(fn):
            @functools.wraps(fn)
            def wrapper(*a, **k):
                os.system("echo")
                return fn(*a, **k)
            return wrapper
        def _restore(self, state):
            os.system(state)
        class Traced:
            @trace
            def __setstate__(self, state):
                self.__dict__.update(state)
        class Bound:
            __setstate__ = _restore
    """, "Traced", Use.BUILD)
    assert not verdict(a, Use.BUILD).inert and "trace" in verdict(a, Use.BUILD).reason
    b = run(site, """
        import os
        def _restore(self, state):
            os.system(state)
        class Bound:
            __setstate__ = _restore
    """, "Bound", Use.BUILD)
    assert not verdict(b, Use.BUILD).inert


def test_mutating_class_level_registries_at_load_time(site: Path) -> None:
    a = run(site, """
        class Registry:
            handlers = {}
            def __setstate__(self, state):
                type(self).handlers.update(state)
        class Registry2:
            handlers = {}
            @classmethod
            def add(cls, k, v):
                cls.handlers[k] = v
            def __setstate__(self, state):
                self.add(state["k"], state["v"])
    """, "Registry", Use.BUILD)
    assert not verdict(a, Use.BUILD).inert
    c = run(site, """
        class Registry3:
            handlers = {}
            def __setstate__(self, state):
                self.__class__.handlers[state["k"]] = state["v"]
    """, "Registry3", Use.BUILD)
    assert not verdict(c, Use.BUILD).inert
    b = run(site, """
        class Registry2:
            handlers = {}
            @classmethod
            def add(cls, k, v):
                cls.handlers[k] = v
            def __setstate__(self, state):
                self.add(state["k"], state["v"])
    """, "Registry2", Use.BUILD)
    assert not verdict(b, Use.BUILD).inert


def test_dynamic_names_and_globals(site: Path) -> None:
    for body in ("getattr(self, state['name'])()",
                 "globals()['CONFIG'] = state",
                 "eval(state)",
                 "__import__(state)",
                 "self.__dict__[state](1)",
                 "state.__reduce__()"):
        a = run(site, f"""
            class Dyn:
                def __setstate__(self, state):
                    {body}
        """, "Dyn", Use.BUILD)
        assert not verdict(a, Use.BUILD).inert, body


def test_enum_metaclass_subclass_with_call(site: Path) -> None:
    a = run(site, """
        import enum, os
        class Meta(enum.EnumMeta):
            def __call__(cls, value, *a, **k):
                os.system(str(value))
                return super().__call__(value, *a, **k)
        class Color(enum.Enum, metaclass=Meta):
            RED = 1
    """, "Color", Use.CALL)
    assert not verdict(a, Use.CALL).inert


def test_marker_module_never_runs(site: Path) -> None:
    marker = site.parent / "marker"
    a = run(site, """
        open(MARKER, "w").write("imported")
        class K:
            pass
    """, "K", Use.IMPORT | Use.BUILD)
    assert not a.import_effects.inert and not marker.exists()
    assert "atk" not in sys.modules and "atk.m" not in sys.modules
    assert os.path.exists(site / "atk" / "m.py")


def test_getattr_that_only_raises_is_inert_for_build(site: Path) -> None:
    a = run(site, """
        class Strict:
            _known = ("a", "b")
            def __getattr__(self, name):
                if name in self._known:
                    raise AttributeError(f"{name} not set yet")
                raise AttributeError(name)
    """, "Strict", Use.BUILD | Use.MUTATE)
    assert all(v.inert for v in a.uses), a.uses
    b = run(site, """
        class Delegating:
            def __getattr__(self, name):
                return getattr(self._wrapped, name)
    """, "Delegating", Use.BUILD)
    assert not verdict(b, Use.BUILD).inert  # BUILD would call the wrapped object's __setstate__
    c = run(site, """
        class FromState:
            def __getattr__(self, name):
                try:
                    return self.__dict__["data"][name]
                except KeyError:
                    raise AttributeError(name) from None
    """, "FromState", Use.BUILD)
    assert not verdict(c, Use.BUILD).inert  # returns a value from the state: BUILD calls it
    d = run(site, """
        import os
        class Noisy:
            def __getattr__(self, name):
                os.system(name)
                raise AttributeError(name)
    """, "Noisy", Use.BUILD)
    assert not verdict(d, Use.BUILD).inert and "system" in verdict(d, Use.BUILD).reason


def test_called_parameter_with_a_dangerous_default(site: Path) -> None:
    a = run(site, """
        import os
        def _noop(x):
            return x
        class Runner:
            def __init__(self, cmd, runner=os.system):
                self.result = runner(cmd)
        class Safe:
            def __init__(self, value, convert=_noop, hook=None):
                self.value = convert(value)
                if hook is not None:
                    hook(self)
    """, "Runner", Use.CALL)
    call = verdict(a, Use.CALL)
    assert not call.inert and "system" in call.reason  # the file leaves runner out: os.system(cmd) runs
    b = run(site, """
        def _noop(x):
            return x
        class Safe:
            def __init__(self, value, convert=_noop, hook=None):
                self.value = convert(value)
                if hook is not None:
                    hook(self)
    """, "Safe", Use.CALL)
    assert verdict(b, Use.CALL).inert and set(verdict(b, Use.CALL).invokes) == {1, 2}


def test_super_with_explicit_start_class(site: Path) -> None:
    a = run(site, """
        import os
        class A:
            def __setstate__(self, state):
                os.system(state)
        class B(A):
            def __setstate__(self, state):
                self.__dict__.update(state)
        class C(B):
            def __setstate__(self, state):
                super(B, self).__setstate__(state)  # skips B: A's runs
    """, "C", Use.BUILD)
    assert not verdict(a, Use.BUILD).inert and "system" in verdict(a, Use.BUILD).reason


def test_lru_cache_hashes_the_arguments(site: Path) -> None:
    a = run(site, """
        import functools
        @functools.lru_cache(maxsize=None)
        def lookup(key):
            return key
    """, "lookup", Use.CALL)
    assert verdict(a, Use.CALL).inert and "__hash__/__eq__" in verdict(a, Use.CALL).touches


def test_rebound_import_guards(site: Path) -> None:
    a = run(site, """
        __name__ = "__main__"
        if __name__ == "__main__":
            open(MARKER, "w")
        class K:
            pass
    """, "K", Use.IMPORT | Use.BUILD)
    assert not a.import_effects.inert and not verdict(a, Use.BUILD).inert
    b = run(site, """
        TYPE_CHECKING = True
        if TYPE_CHECKING:
            class K:
                def __setstate__(self, s):
                    open(MARKER, "w")
        else:
            class K:
                pass
    """, "K", Use.IMPORT | Use.BUILD)
    assert not b.import_effects.inert and not verdict(b, Use.BUILD).inert


def test_decorator_that_aliases_or_hands_the_class_away(site: Path) -> None:
    a = run(site, """
        import os
        def _evil(self, s):
            os.system(s)
        def sneaky(cls):
            target = cls
            target.__setstate__ = _evil
            return cls
        @sneaky
        class A:
            pass
    """, "A", Use.BUILD)
    assert not verdict(a, Use.BUILD).inert and "aliases" in verdict(a, Use.BUILD).reason
    b = run(site, """
        def patch(c):
            c.__setstate__ = print
        def handing(cls):
            patch(cls)
            return cls
        @handing
        class B:
            pass
    """, "B", Use.BUILD)
    assert not verdict(b, Use.BUILD).inert and "patch" in verdict(b, Use.BUILD).reason


def test_annotations_run_at_import_without_future_import(site: Path) -> None:
    a = run(site, """
        import os
        def f(x: os.system("id")) -> None:
            pass
        class K:
            pass
    """, "K", Use.IMPORT)
    assert not a.import_effects.inert and "system" in a.import_effects.reason
    b = run(site, """
        from __future__ import annotations
        import os
        def f(x: os.system("id")) -> None:
            pass
        class K:
            field: os.system("id") = 1
    """, "K", Use.IMPORT)
    assert b.import_effects.inert, b.import_effects


def test_catalogue_sees_the_name_as_written_and_denied_beats_allowed(site: Path) -> None:
    from importlib.machinery import EXTENSION_SUFFIXES

    vendor = site / "vendor"
    vendor.mkdir()
    (vendor / "__init__.py").write_text("from ._speed import convert\n")
    (vendor / f"_speed{EXTENSION_SUFFIXES[0]}").write_bytes(b"not loaded")
    src = """
        import vendor as v
        class UsesVendor:
            def __init__(self, x):
                self.x = v.convert(x)
    """
    assert not verdict(run(site, src, "UsesVendor", Use.CALL), Use.CALL).inert
    allowed = run(site, src, "UsesVendor", Use.CALL,
                  catalog=lambda name, use: True if name == "vendor.convert" else None)
    assert verdict(allowed, Use.CALL).inert
    both = run(site, src, "UsesVendor", Use.CALL,
               catalog=lambda name, use: {"vendor.convert": True, "vendor._speed.convert": False}.get(name))
    assert not verdict(both, Use.CALL).inert and "denied" in verdict(both, Use.CALL).reason


def test_getattr_is_irrelevant_when_setstate_exists(site: Path) -> None:
    a = run(site, """
        class Module:
            def __getattr__(self, name):
                return self.__dict__["_modules"][name]
            def __setstate__(self, state):
                self.__dict__.update(state)
    """, "Module", Use.BUILD)
    assert verdict(a, Use.BUILD).inert  # the class's __setstate__ is found: __getattr__ never runs for it


def test_nested_helpers_are_analysed_with_their_closure(site: Path) -> None:
    a = run(site, """
        import os
        class K:
            def __setstate__(self, state):
                def apply(key, value):
                    self.__dict__[key] = value
                for k, v in state.items():
                    apply(k, v)
    """, "K", Use.BUILD)
    assert verdict(a, Use.BUILD).inert, verdict(a, Use.BUILD)
    b = run(site, """
        import os
        class K:
            def __setstate__(self, state):
                def run(cmd):
                    os.system(cmd)
                run(state["cmd"])
    """, "K", Use.BUILD)
    assert not verdict(b, Use.BUILD).inert and "system" in verdict(b, Use.BUILD).reason
    c = run(site, """
        class K:
            def __init__(self, callback, value):
                def later():
                    return callback(value)
                self.result = later()
    """, "K", Use.CALL)
    assert verdict(c, Use.CALL).inert and verdict(c, Use.CALL).invokes == (0,)


def test_flag_pseudo_members_run_the_body_new(site: Path) -> None:
    a = run(site, """
        import enum, os
        class Perm(enum.Flag):
            R = 1
            W = 2
            def __new__(cls, value):
                os.system(str(value))
                obj = object.__new__(cls)
                obj._value_ = value
                return obj
        class Color(enum.Enum):
            RED = 1
            def __new__(cls, value):
                os.system(str(value))
                obj = object.__new__(cls)
                obj._value_ = value
                return obj
    """, "Perm", Use.CALL)
    assert not verdict(a, Use.CALL).inert and "system" in verdict(a, Use.CALL).reason


def test_frozen_stdlib_modules_cannot_be_shadowed_on_the_path(site: Path) -> None:
    from safeload.catalog.source_locate import locate_module

    (site / "os.py").write_text("class PathLike:\n    def __setstate__(self, s):\n        open(s)\n")
    paths = sysconfig.get_paths()
    found = locate_module("os", [str(site), paths["stdlib"]])
    assert found.path is not None and not found.path.startswith(str(site))  # the frozen importer wins


@pytest.mark.parametrize(("body", "inert", "invokes"), [
    ("self.items = sorted(state, key=self._order)", False, ()),  # _order runs os.system
    ("self.items = sorted(state, key=len)", True, ()),
    ("self.items = sorted(state, key=lambda k: k.lower())", True, ()),
    ("self.items = sorted(state, key=os.system)", False, ()),
    ("self.total = functools.reduce(state['f'], state['xs'])", False, ()),
    ("self.d = collections.defaultdict(state['factory'])", False, ()),
    ("self.c = copy.deepcopy(self)", False, ()),
    ("self.c = copy.deepcopy(state)", True, ()),
    ("self.g = operator.attrgetter(state['path'])", False, ()),
])
def test_callables_handed_to_reviewed_helpers(site: Path, body: str, inert: bool, invokes: tuple[object, ...]
                                              ) -> None:
    a = run(site, f"""
        import collections, copy, functools, operator, os
        class K:
            def _order(self, key):
                os.system(key)
            def __setstate__(self, state):
                {body}
    """, "K", Use.BUILD)
    assert verdict(a, Use.BUILD).inert is inert, (body, verdict(a, Use.BUILD))


def test_key_functions_from_parameters_are_invoked(site: Path) -> None:
    a = run(site, """
        import collections
        class K:
            def __init__(self, data, key=None, factory=list):
                self.items = sorted(data, key=key)
                self.d = collections.defaultdict(factory)
    """, "K", Use.CALL)
    assert verdict(a, Use.CALL).inert and set(verdict(a, Use.CALL).invokes) == {1, 2}


def test_slotted_class_getattr_runs_for_the_missing_dict(site: Path) -> None:
    a = run(site, """
        class Slotted:
            __slots__ = ("_data",)
            def __getattr__(self, name):
                return object.__getattribute__(self, "_data")
    """, "Slotted", Use.BUILD, build_state=BuildState.DICT)
    # without __setstate__ in the class, BUILD's lookup already reaches __getattr__ (before any __dict__ lookup)
    assert not verdict(a, Use.BUILD).inert and "__getattr__" in verdict(a, Use.BUILD).reason


def test_nested_names_looked_up_through_a_metaclass_hook(site: Path) -> None:
    a = run(site, """
        import os
        class Meta(type):
            def __getattribute__(cls, name):
                os.system(name)
                return type.__getattribute__(cls, name)
        class Outer(metaclass=Meta):
            class Inner:
                pass
        class Plain:
            class Inner:
                pass
    """, "Outer.Inner", Use.REF | Use.BUILD)
    assert not verdict(a, Use.REF).inert and "metaclass" in verdict(a, Use.REF).reason
    b = run(site, """
        class Plain:
            class Inner:
                pass
    """, "Plain.Inner", Use.REF | Use.BUILD)
    assert all(v.inert for v in b.uses) and b.kind == "class"
