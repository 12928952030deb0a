"""Variants of red team round 7's R7-1 (an instance attribute shadows the method the engine ranks) and R7-2 (a
source ``__new__`` returns another class's object), fixed in ``safeload/catalog/source_instance.py``.

Every case installs a small library in a fake site-packages at test time; its payload creates a marker file.
``..._is_live`` shows the payload runs under the plain loader; ``..._is_refused`` runs safeload on the same file and
asserts the marker is absent. ``..._loads`` are the shapes that must stay admitted (what real libraries do).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.attacks import C, G, assemble
from tests.test_redteam_round2 import LibCase, _install, _live, _refused, _run

_SHADOW = """
    import contextlib

    def _touch(*args):
        open(MARKER, "w").close()

    _NAME = "r" + "un"

    def _install_on(obj):
        obj.run = _touch

    class _Installer:
        def __init__(self, obj):
            obj.run = _touch

    class Plain:
        def run(self):
            return 1

    class InitBase:
        def __init__(self):
            self.run = _touch

    class InheritedInit(InitBase):
        def run(self):
            return 1

    class DictItem:
        def run(self):
            return 1

        def __init__(self):
            self.__dict__["run"] = _touch

    class DictComputed:
        def run(self):
            return 1

        def __init__(self):
            self.__dict__[_NAME] = _touch

    class DictAlias:
        def run(self):
            return 1

        def __init__(self):
            d = self.__dict__
            d[_NAME] = _touch

    class DictReplace:
        def run(self):
            return 1

        def __init__(self):
            self.__dict__ = {_NAME: _touch}

    class VarsUpdate:
        def run(self):
            return 1

        def __init__(self):
            vars(self).update({_NAME: _touch})

    class TupleTarget:
        def run(self):
            return 1

        def __init__(self):
            self.x, self.run = 1, _touch

    class StarredTarget:
        def run(self):
            return 1

        def __init__(self):
            *self.rest, self.run = (1, _touch)

    class ForTarget:
        def run(self):
            return 1

        def __init__(self):
            for self.run in (_touch,):
                pass

    class WithTarget:
        def run(self):
            return 1

        def __init__(self):
            with contextlib.nullcontext(_touch) as self.run:
                pass

    class ComprehensionTarget:
        def run(self):
            return 1

        def __init__(self):
            [0 for self.run in (_touch,)]

    class AnnotatedTarget:
        def run(self):
            return 1

        def __init__(self):
            self.run: object = _touch

    class ObjectSetattr:
        def run(self):
            return 1

        def __init__(self):
            object.__setattr__(self, "run", _touch)

    class ComputedSetattr:
        def run(self):
            return 1

        def __init__(self):
            setattr(self, _NAME, _touch)

    class AliasedObjectSetattr:
        def run(self):
            return 1

        def __init__(self):
            osa = object.__setattr__
            osa(self, _NAME, _touch)

    class AliasedSetattr:
        def run(self):
            return 1

        def __init__(self):
            s = setattr
            s(self, _NAME, _touch)

    class OwnSetattrComputed:
        def run(self):
            return 1

        def __init__(self):
            self.__setattr__(_NAME, _touch)

    class HelperFunction:
        def run(self):
            return 1

        def __init__(self):
            _install_on(self)

    class HelperClass:
        def run(self):
            return 1

        def __init__(self):
            _Installer(self)

    class NewSets:
        def run(self):
            return 1

        def __new__(cls):
            obj = super().__new__(cls)
            obj.run = _touch
            return obj

    class SetstateSets:
        def run(self):
            return 1

        def __setstate__(self, state):
            self.run = _touch

    class SetstateMerges:
        def run(self):
            return 1

        def __setstate__(self, state):
            state.update({_NAME: _touch})
            self.__dict__.update(state)

    class ClassLevel:
        def run(self):
            return 1

        run = staticmethod(_touch)
"""

_SHADOW_CASES = {
    "inherited-init": "InheritedInit",
    "dict-item": "DictItem",
    "dict-computed-key": "DictComputed",
    "dict-alias": "DictAlias",
    "dict-replaced": "DictReplace",
    "vars-update": "VarsUpdate",
    "tuple-target": "TupleTarget",
    "starred-target": "StarredTarget",
    "for-target": "ForTarget",
    "with-target": "WithTarget",
    "comprehension-target": "ComprehensionTarget",
    "annotated-target": "AnnotatedTarget",
    "object-setattr": "ObjectSetattr",
    "computed-setattr": "ComputedSetattr",
    "aliased-object-setattr": "AliasedObjectSetattr",
    "aliased-setattr": "AliasedSetattr",
    "own-setattr-computed": "OwnSetattrComputed",
    "helper-function": "HelperFunction",
    "helper-class": "HelperClass",
    "new-sets-it": "NewSets",
    "class-level-staticmethod": "ClassLevel",
}
#: set by __setstate__: the file BUILDs the object (an empty dict state) before looking the method up
_SETSTATE_CASES = {"setstate-sets-it": "SetstateSets", "setstate-merges-the-state": "SetstateMerges"}

_FILES = {"rt7var/__init__.py": "", "rt7var/mod.py": _SHADOW}


def _getattr_call(obj: object) -> bytes:
    return assemble(C(C(G("builtins", "getattr"), (obj, "run")), ()))


def _shadow_case(label: str) -> LibCase:
    if label in _SETSTATE_CASES:
        cls = _SETSTATE_CASES[label]
        return LibCase(_FILES, lambda: _getattr_call(C(G("rt7var.mod", cls), (), {"k": 1})))
    cls = _SHADOW_CASES[label]
    return LibCase(_FILES, lambda: _getattr_call(C(G("rt7var.mod", cls), ())))


def _both_ways(cls: str) -> bytes:
    """``Class.run`` reached unbound (a global) as well as bound: the unbound analysis must still see the instance
    the getattr holds."""
    inner = C(G("builtins", "getattr"), (C(G("rt7var.mod", cls), ()), "run"))
    return assemble((C(inner, ()), G("rt7var.mod", f"{cls}.run")))


_ALL_SHADOW = sorted([*_SHADOW_CASES, *_SETSTATE_CASES])


@pytest.mark.slow
@pytest.mark.parametrize("label", _ALL_SHADOW)
def test_shadow_variant_is_live(tmp_path: Path, label: str) -> None:
    _live(tmp_path, _shadow_case(label))


@pytest.mark.parametrize("label", _ALL_SHADOW)
def test_shadow_variant_is_refused(tmp_path: Path, label: str) -> None:
    _refused(tmp_path, _shadow_case(label))


@pytest.mark.slow
def test_shadow_reached_unbound_too_is_live(tmp_path: Path) -> None:
    _live(tmp_path, LibCase(_FILES, lambda: _both_ways("InheritedInit")))


def test_shadow_reached_unbound_too_is_refused(tmp_path: Path) -> None:
    _refused(tmp_path, LibCase(_FILES, lambda: _both_ways("InheritedInit")))


# --- R7-2: __new__ returning another class's object ---------------------------------------------------------
_NEW = """
    def _wrap(fn):
        return fn

    class EvilState:
        def __setstate__(self, state):
            open(MARKER, "w").close()

        def run(self):
            open(MARKER, "w").close()

    class _Other:
        def __new__(cls):
            return EvilState()

    class ObjectNewOther:
        def run(self):
            return 1

        def __new__(cls):
            return object.__new__(EvilState)

    class LocalOther:
        def run(self):
            return 1

        def __new__(cls):
            obj = EvilState()
            return obj

    class LocalSometimes:
        def run(self):
            return 1

        def __new__(cls, *args):
            obj = super().__new__(cls)
            if not args:
                obj = EvilState()
            return obj

    class RebindsCls:
        def run(self):
            return 1

        def __new__(cls):
            cls = EvilState
            return object.__new__(cls)

    class Guarded:
        def __new__(cls):
            if cls is Guarded:
                return object.__new__(EvilState)
            return super().__new__(cls)

        def __setstate__(self, state):
            self.__dict__.update(state)

        def run(self):
            return 1

    class GuardedChild(Guarded):
        def run(self):
            return 1

    class NotGuarded:
        def run(self):
            return 1

        def __new__(cls):
            if cls is not NotGuarded:
                return super().__new__(cls)
            return object.__new__(EvilState)

    class FinallyOther:
        def run(self):
            return 1

        def __new__(cls):
            try:
                return super().__new__(cls)
            finally:
                return EvilState()

    class ConditionalExpr:
        def run(self):
            return 1

        def __new__(cls):
            return super().__new__(cls) if cls is None else EvilState()

    class WalrusOther:
        def run(self):
            return 1

        def __new__(cls):
            return (obj := EvilState())

    class OtherNewCall:
        def run(self):
            return 1

        def __new__(cls):
            return _Other.__new__(cls)

    class Decorated:
        def run(self):
            return 1

        @_wrap
        def __new__(cls):
            return EvilState()

    class Assigned:
        def run(self):
            return 1

        __new__ = _Other.__new__

    class BaseNew:
        def __new__(cls):
            return EvilState()

    class InheritsNew(BaseNew):
        def run(self):
            return 1

    class MatchOther:
        def run(self):
            return 1

        def __new__(cls):
            match 1:
                case 1:
                    return EvilState()
            return super().__new__(cls)
"""
_NEW_CASES = ["ObjectNewOther", "LocalOther", "LocalSometimes", "RebindsCls", "Guarded", "NotGuarded",
              "FinallyOther", "ConditionalExpr", "WalrusOther", "OtherNewCall", "Decorated", "Assigned",
              "InheritsNew", "MatchOther"]
_NEW_FILES = {"rt7new/__init__.py": "", "rt7new/mod.py": _NEW}


def _new_case(cls: str, how: str) -> LibCase:
    if how == "build":  # NEWOBJ then BUILD: EvilState.__setstate__ runs
        return LibCase(_NEW_FILES, lambda: b"\x80\x02crt7new.mod\n" + cls.encode() + b"\n)\x81}b.")
    return LibCase(_NEW_FILES, lambda: assemble(C(C(G("builtins", "getattr"), (C(G("rt7new.mod", cls), ()),
                                                                               "run")), ())))


_NEW_PARAMS = [(cls, how) for cls in _NEW_CASES for how in ("build", "bound")]


@pytest.mark.slow
@pytest.mark.parametrize(("cls", "how"), _NEW_PARAMS)
def test_foreign_new_variant_is_live(tmp_path: Path, cls: str, how: str) -> None:
    _live(tmp_path, _new_case(cls, how))


@pytest.mark.parametrize(("cls", "how"), _NEW_PARAMS)
def test_foreign_new_variant_is_refused(tmp_path: Path, cls: str, how: str) -> None:
    _refused(tmp_path, _new_case(cls, how))


# --- what stays admitted -------------------------------------------------------------------------------------
_OK_CHECK = """
import json, pickle, safeload
with open({p!r}, "rb") as f:
    value = safeload.pickle_load(f)
print(json.dumps({{"loaded": True}}))
"""


def _loads(tmp_path: Path, case: LibCase) -> None:
    site, payload, marker = _install(tmp_path, case)
    done = _run(site, _OK_CHECK.format(p=str(payload)))
    assert done.returncode == 0, done.stderr[-3000:]
    assert not marker.exists()


def test_plain_bound_method_loads(tmp_path: Path) -> None:
    """``getattr(Plain(), "run")()``: no code sets an attribute ``run``; the method is the class's."""
    _loads(tmp_path, LibCase(_FILES, lambda: _getattr_call(C(G("rt7var.mod", "Plain"), ()))))


def test_guarded_new_subclass_loads(tmp_path: Path) -> None:
    """scipy's ``LinearOperator.__new__`` shape: the ``cls is Guarded`` branch is not taken for a subclass."""
    _loads(tmp_path, LibCase(_NEW_FILES, lambda: b"\x80\x02crt7new.mod\nGuardedChild\n)\x81}b."))
    _loads(tmp_path / "bound", LibCase(_NEW_FILES, lambda: assemble(C(C(G("builtins", "getattr"), (
        C(G("rt7new.mod", "GuardedChild"), ()), "run")), ()))))


# --- another object's load-time code sets the attribute on an object the file built -------------------------
_CROSS = """
    _NAME = "r" + "un"

    def _touch(*args):
        open(MARKER, "w").close()

    def _get():
        return _touch

    class Thing:
        def run(self):
            return 1

    class SetsIt:
        def __init__(self, t):
            t.run = _touch

    class SetsItToItself:
        def __init__(self, t):
            t.run = self

        def __call__(self):
            open(MARKER, "w").close()

    class WritesItsDict:
        def __init__(self, t):
            t.__dict__[_NAME] = _touch

    class UpdatesItsDict:
        def __init__(self, t):
            t.__dict__.update({_NAME: _touch})

    class AliasesItsDict:
        def __init__(self, t):
            d = t.__dict__
            d[_NAME] = _touch

    class LinksItself:
        def __init__(self, t):
            t.owner = self

    class SetsItFromACall:
        def __init__(self, t):
            t.run = _get()

    class SetsItFromAContainer:
        def __init__(self, t):
            t.run = [_touch][0]

    _MAP = {"r": _touch}

    def _listed():
        return [_touch]

    class SetsItFromAModuleMap:
        def __init__(self, t):
            t.run = _MAP["r"]

    class SetsItFromALocalList:
        def __init__(self, t):
            x = [_touch]
            t.run = x[0]

    class SetsItFromALoop:
        def __init__(self, t):
            for f in (_touch,):
                t.run = f

    class SetsItFromAComprehension:
        def __init__(self, t):
            t.run = [f for f in (_touch,)][0]

    class SetsItFromAReturnedList:
        def __init__(self, t):
            t.run = _listed()[0]

    class SetsItFromUnpacking:
        def __init__(self, t):
            a, b = _touch, 1
            t.run = a

    class SetsItFromAConditional:
        def __init__(self, t):
            t.run = _touch if t is not None else None

    class SetsItFromAnOr:
        def __init__(self, t):
            t.run = None or _touch

    class SetsItFromItsOwnAttribute:
        def __init__(self, t):
            self.f = _touch
            t.run = self.f

    class SetsItFromAFilledDict:
        def __init__(self, t):
            d = {}
            d["k"] = _touch
            t.run = d["k"]

    class SetsItFromAnAppendedList:
        def __init__(self, t):
            x = []
            x.append(_touch)
            t.run = x[0]

    class SetsItFromAConcatenation:
        def __init__(self, t):
            t.run = ([_touch] + [])[0]

    class SetsDataFromContainers:
        def __init__(self, t):
            d = {}
            d["k"] = 1
            x = []
            x.append("a")
            t.data, t.name, t.both = d["k"], x[0], [1, "a"][0]
"""
_CROSS_FILES = {"rt7x/__init__.py": "", "rt7x/mod.py": _CROSS}
_CROSS_CASES = ["SetsIt", "SetsItToItself", "WritesItsDict", "UpdatesItsDict", "AliasesItsDict"]
#: the value is a call's result or a container item: once taken as data from the file (the result tracking of R7-4
#: did not follow it), now ``source_effects._LIB_VALUE``: what the library put there, never a plain value
_CROSS_THROUGH = ["SetsItFromACall", "SetsItFromAContainer", "SetsItFromAModuleMap", "SetsItFromALocalList",
                  "SetsItFromALoop", "SetsItFromAComprehension", "SetsItFromAReturnedList", "SetsItFromUnpacking",
                  "SetsItFromAConditional", "SetsItFromAnOr", "SetsItFromItsOwnAttribute", "SetsItFromAFilledDict",
                  "SetsItFromAnAppendedList", "SetsItFromAConcatenation"]


def _cross(holder: str) -> bytes:
    """``t = Thing()`` (memoised), ``Holder(t)``, then ``getattr(t, "run")()``."""
    thing = assemble(C(G("rt7x.mod", "Thing"), ()))[2:-1]
    out = b"\x80\x02" + thing + b"q\x00" + b"0"
    out += b"crt7x.mod\n" + holder.encode() + b"\nh\x00\x85R0"
    return out + b"cbuiltins\ngetattr\nh\x00X\x03\x00\x00\x00run\x86R)R."


@pytest.mark.slow
@pytest.mark.parametrize("holder", _CROSS_CASES + _CROSS_THROUGH)
def test_cross_object_shadow_is_live(tmp_path: Path, holder: str) -> None:
    _live(tmp_path, LibCase(_CROSS_FILES, lambda: _cross(holder)))


@pytest.mark.parametrize("holder", _CROSS_CASES)
def test_cross_object_shadow_is_refused(tmp_path: Path, holder: str) -> None:
    _refused(tmp_path, LibCase(_CROSS_FILES, lambda: _cross(holder)))


@pytest.mark.parametrize("holder", _CROSS_THROUGH)
def test_cross_object_shadow_through_a_result_is_refused(tmp_path: Path, holder: str) -> None:
    _refused(tmp_path, LibCase(_CROSS_FILES, lambda: _cross(holder)))


def test_cross_object_data_read_out_of_containers_loads(tmp_path: Path) -> None:
    """Data the library keeps in containers (ints, strings) set on the file's object is no method: it loads."""
    _loads(tmp_path, LibCase(_CROSS_FILES, lambda: _cross("SetsDataFromContainers")))


def test_cross_object_link_to_a_non_callable_loads(tmp_path: Path) -> None:
    """``t.owner = self`` where the holder's class has no ``__call__``: the link cannot stand in for a method."""
    _loads(tmp_path, LibCase(_CROSS_FILES, lambda: _cross("LinksItself")))


# --- copyreg._reconstructor(cls, base, state) runs base.__new__(cls, state) -----------------------------------
_RECON = """
    class EvilState:
        def __setstate__(self, state):
            open(MARKER, "w").close()

    class NewBase:
        def __new__(cls, *args):
            return EvilState()

    class Plain:
        pass
"""
_RECON_CASE = LibCase({"rt7rc/__init__.py": "", "rt7rc/mod.py": _RECON}, lambda: assemble(C(
    G("copyreg", "_reconstructor"), (G("rt7rc.mod", "Plain"), G("rt7rc.mod", "NewBase"), None), {"k": 1})))


@pytest.mark.slow
def test_reconstructor_base_new_is_live(tmp_path: Path) -> None:
    _live(tmp_path, _RECON_CASE)


def test_reconstructor_base_new_is_refused(tmp_path: Path) -> None:
    _refused(tmp_path, _RECON_CASE)


_BUILTIN_BASES = """
    class Bag(dict):
        pass

    class Items(list):
        pass

    class Count(int):
        pass
"""


@pytest.mark.parametrize("protocol", [0, 1])
def test_reconstructor_with_a_builtin_base_loads(tmp_path: Path, protocol: int) -> None:
    """What pickle writes for a heap class below a builtin at protocols 0-1: ``_reconstructor(cls, dict, {...})``
    names the builtin as the base (the first non-heap base): that still loads."""
    site, payload, marker = _install(tmp_path, LibCase({"rt7bb/__init__.py": "", "rt7bb/mod.py": _BUILTIN_BASES},
                                                       lambda: b""))
    made = _run(site, "import pickle; from rt7bb.mod import Bag, Items, Count; b = Bag(a=1); b.note = 'x'; "
                f"open({str(payload)!r}, 'wb').write(pickle.dumps([b, Items([1, 2]), Count(7)], protocol={protocol}))")
    assert made.returncode == 0, made.stderr[-3000:]
    data = payload.read_bytes()
    assert b"copy_reg\n_reconstructor" in data and b"__builtin__\ndict" in data  # the shape this test is about
    done = _run(site, f"import safeload; v = safeload.pickle_load(open({str(payload)!r}, 'rb')); "
                "print(type(v[0]).__name__, v[0], v[0].note, v[1], v[2])")
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["Bag", "{'a':", "1}", "x", "[1,", "2]", "7"]
    assert not marker.exists()


@pytest.mark.parametrize("base", [("collections", "OrderedDict"), ("builtins", "len"), ("builtins", "dict.fromkeys")])
def test_reconstructor_with_another_base_is_flagged(base: tuple[str, str]) -> None:
    """Any base but object or a builtin type is ranked MEDIUM (SL111): its ``__new__`` chooses the object."""
    import safeload

    data = assemble(C(G("copyreg", "_reconstructor"), (G("collections", "Counter"), G(*base), None), {"k": 1}))
    result = safeload.scan(data)
    assert [f for f in result.findings if f.rule_id == "SL111" and f.subject == ".".join(base)], result.findings
    assert not result.is_safe()
