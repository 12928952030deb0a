"""Red team round 7: safeload attacked with its source in hand (what landed on 29 Nov: bound methods analysed with
``self`` of their class, 0586644; torch.ScriptObject under the ``torchbind_state`` contract, 5008084).

Every case installs a small library in a fake site-packages at test time and carries a harmless payload: it
creates a marker file. ``..._is_live`` shows the payload runs under the plain loader; ``..._is_refused`` runs
safeload on the same file and asserts the marker is absent.

Findings (each let the payload run under safeload on main, b7950d2):
- R7-1 (fixed: ``catalog/source_instance.shadowing``; variants in test_redteam_round7_instances.py)
  ``getattr(obj, "run")`` on an object built by ``Thing()`` is ranked as ``Thing.run`` (analysed with
  ``self`` a Thing when every use is bound, as the plain function otherwise), but an instance attribute shadows
  the method: ``Thing.__init__`` doing ``self.run = _touch`` is inert to the source analysis (it assigns a
  function), and the bound ``Thing.run`` is inert, so ``getattr(Thing(), "run")()`` runs ``_touch``. Not specific
  to ``bound=True`` (the unbound analysis of ``Thing.run`` is inert too): the engine's ``Owner.attr`` model of a
  getattr on an instance assumes the attribute is the class's. A fix needs the source analysis to ask whether any
  code of the class (``__init__``, ``__setstate__``, ``__new__``, methods the load calls) can set an instance
  attribute of that name (``self.<m> =``, ``setattr``, ``__dict__``, ``vars``), or to refuse ``Owner.attr`` for
  classes whose load-time code assigns attributes computed from callables;
- R7-2 (fixed: ``catalog/source_instance.foreign_new``, the scipy guard and networkx dispatcher shapes modelled) a
  class whose ``__new__`` returns an object of another class (``return Evil()``): ``NewOther()`` is
  inert to the source analysis (it constructs an inert class), the engine records the result as a NewOther, and
  ``getattr(NewOther(), "run")`` is ranked ``NewOther.run`` while ``Evil.run`` runs. Not only bound methods: the same ``NewState()`` (REDUCE or NEWOBJ)
  given a BUILD runs ``EvilState.__setstate__`` (the analysis reports "default reconstruction: no __setstate__"),
  and calling it runs ``EvilState.__call__`` ("no __call__"): every instance use the engine ranks by the class the
  file named is wrong once that class's source ``__new__`` returns something else. A fix was tried and
  withdrawn (the patch is described in the round-7 report): refusing instance uses and bound methods unless every
  source ``__new__`` in the MRO returns ``super().__new__(cls, ...)``/``object.__new__(cls, ...)`` (or a local
  bound only to one) closes these four cases but refuses corpus files: statsmodels/ets-results
  (scipy's ``LinearOperator.__new__``: ``if cls is LinearOperator: return super().__new__(_CustomLinearOperator)``,
  a guard on ``cls`` a rule must read) and networkx's ``Graph`` (``__new__`` wrapped in the reviewed backend
  dispatcher). It needs those two shapes modelled and a full corpus run;
- R7-3 (fixed) ``torch.ScriptObject``'s contract checked the TorchBind class name and left the payload to the
  engine "like any state"; but ``ScriptObject.__setstate__`` casts the payload to the schema's types in C++, which
  calls Python protocol methods of what it finds: an instance of an installed class with ``__index__`` in the
  ``int`` slot of ``sparse.LinearPackedParamsBase``'s state ran it (the cast is ``PyLong_AsLongLong``), while the
  engine saw only a default-constructed, passed object. Fixed (state_contracts ``_torchbind_payload``): the
  payload may hold plain data (None, bool, int, float, str, bytes, lists and tuples of them), tensors as torch
  rebuilds them (``_rebuild_tensor_v2``, ``_rebuild_qtensor``, ``_rebuild_tensor``, ``_rebuild_parameter``) and
  nested ``torch.ScriptObject``s (rnn.CellParamsBase); anything else (an object, a list subclass, a tensor subclass
  through ``_rebuild_from_type_v2``) is refused (SL115). Real dynamic-quantized Linear and LSTM models still load;
- R7-4 (fixed; environment, analysis precision) code an installed module runs at import, when the file only names
  one of its classes: the result tracking of 23bd45e follows a call's result through names, but not through
  containers or attributes. An instance of a source class with a marker-writing ``__eq__``/``__add__`` reached as
  ``[make()][0] == 1`` (list item), ``{"k": E()}["k"] + 1`` (dict item), ``1 in [E()]`` (``list.__contains__``
  calls the items' ``__eq__``), ``[E() for _ in range(1)][0] + 1`` (comprehension result) or ``H().e == 1`` (an
  attribute its ``__init__`` set) is taken as data, so the module body is inert and the import runs the payload.
  Fixed (``source_effects``: ``_holding``, ``_element``, ``Effects._held``): a display, a comprehension,
  ``list()``/``dict()``/``sorted()``... of such values, and a local, module-level or class-level container the
  code stores them into (``x[k] = v``, ``x.append(v)``), hold them; an item, slice, unpacked part or loop target
  read out of one is one of them; comparing, hashing, formatting, searching or sorting the container runs the
  items' protocol methods (analysed; untracked ones refuse); an attribute of a source instance (``H().e``,
  ``getattr``, a module-level instance's) is untracked, and an attribute or item of an untracked value refuses;
  a method called at import on an instance whose class stores objects its code builds (``self.e = E()``) is
  refused when it runs protocol methods of values it does not track. Variants: tests/test_source_results.py
  (``HELD``, with ``HELD_DATA`` for the containers of data, classes and inert instances that stay inert).

Near misses (refused): ``__init__`` swapping ``self.__class__``, ``setattr(self, "run", f)``,
``vars(self)["run"] = f``, ``self.__dict__.update(run=f)``, ``Thing.run = Evil.run`` after the class,
``__new__`` returning ``object.__new__(Evil)``, a local bound to ``self.helper`` that ``__init__`` shadows; at
import: a try/finally return, a lambda, tuple unpacking, a walrus, ``getattr(E(), "__add__")``, ``*args`` handed
back, a method's result.
"""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from tests.attacks import C, G, assemble
from tests.test_redteam_round2 import LibCase, _install, _live, _refused, _run

torch = pytest.importorskip("torch")

_MOD = """
    def _touch(*args):
        open(MARKER, "w").close()

    class Evil:
        def run(self):
            open(MARKER, "w").close()

    class InitShadow:
        def __init__(self):
            self.run = _touch

        def run(self):
            return 1

    class NewOther:
        def __new__(cls):
            return Evil()

        def run(self):
            return 1

    class EvilState:
        def __setstate__(self, state):
            open(MARKER, "w").close()

        def __call__(self, *args):
            open(MARKER, "w").close()

    class NewState:
        def __new__(cls):
            return EvilState()
"""


def _bound_call(cls: str) -> bytes:
    return assemble(C(C(G("builtins", "getattr"), (C(G("rt7pkg.mod", cls), ()), "run")), ()))


_FILES = {"rt7pkg/__init__.py": "", "rt7pkg/mod.py": _MOD}
BOUND = {
    "R7-1-init-shadows-the-method": LibCase(_FILES, lambda: _bound_call("InitShadow")),
    "R7-2-new-returns-another-class": LibCase(_FILES, lambda: _bound_call("NewOther")),
    # not only bound methods: every instance use is ranked by the class the file named
    "R7-2-build-runs-the-other-class-setstate": LibCase(_FILES, lambda: b"\x80\x02crt7pkg.mod\nNewState\n)R}b."),
    "R7-2-newobj-build-runs-the-other-class-setstate": LibCase(
        _FILES, lambda: b"\x80\x02crt7pkg.mod\nNewState\n)\x81}b."),
    "R7-2-instance-call-runs-the-other-class-call": LibCase(_FILES, lambda: b"\x80\x02crt7pkg.mod\nNewState\n)R)R."),
}


@pytest.mark.slow
@pytest.mark.parametrize("label", sorted(BOUND))
def test_bound_method_case_is_live(tmp_path: Path, label: str) -> None:
    _live(tmp_path, BOUND[label])


@pytest.mark.parametrize("label", [label for label in sorted(BOUND) if label.startswith("R7-1")])
def test_shadowed_method_case_is_refused(tmp_path: Path, label: str) -> None:
    _refused(tmp_path, BOUND[label])


@pytest.mark.parametrize("label", [label for label in sorted(BOUND) if label.startswith("R7-2")])
def test_foreign_new_case_is_refused(tmp_path: Path, label: str) -> None:
    _refused(tmp_path, BOUND[label])


# --- R7-3: torch.ScriptObject's C++ cast runs the payload's protocol methods ----------------------------------------
_INDEX = """
    class Number:
        def __index__(self):
            open(MARKER, "w").close()
            return 1

        __int__ = __index__
"""
_SPARSE = "__torch__.torch.classes.sparse.LinearPackedParamsBase"


def _unicode(text: str) -> bytes:
    raw = text.encode()
    return b"X" + struct.pack("<I", len(raw)) + raw


def _sparse_state_with_an_object() -> bytes:
    """sparse.LinearPackedParamsBase's state is (int, Tensor?, int, int, Tensor, ...): an object in the first slot
    is cast with __index__ before anything else is checked."""
    payload = b"(crt7idx.mod\nNumber\n)R" + b"N" + b"K\x01K\x01" + b"N" * 6 + b"K\x01K\x01t"
    return b"\x80\x02ctorch\nScriptObject\n)\x81" + payload + _unicode(_SPARSE) + b"\x86b."


INDEX_CASE = LibCase({"rt7idx/__init__.py": "", "rt7idx/mod.py": _INDEX}, _sparse_state_with_an_object)
_TORCH_REAL = ("import torch, pickle\ntry:\n    pickle.load(open({p!r}, 'rb'))\nexcept Exception:\n    pass\n")


@pytest.mark.slow
def test_torchbind_payload_protocol_method_is_live(tmp_path: Path) -> None:
    site, payload, marker = _install(tmp_path, INDEX_CASE)
    done = _run(site, _TORCH_REAL.format(p=str(payload)))
    assert marker.exists(), done.stderr[-2000:]


def test_torchbind_payload_protocol_method_is_refused(tmp_path: Path) -> None:
    _refused(tmp_path, INDEX_CASE)


# --- R7-4: import-time code whose operator results escape the result tracking ---------------------------------------
_RESULTS_HEAD = """
    class E:
        def __eq__(self, other):
            open(MARKER, "w").close()
            return False

        __hash__ = object.__hash__

        def __add__(self, other):
            open(MARKER, "w").close()
            return 1

    def make():
        return E()

    class H:
        def __init__(self):
            self.e = E()
"""
_RESULTS = {
    "list-item": "[make()][0] == 1",
    "dict-item": "{'k': E()}['k'] + 1",
    "in-a-list": "1 in [E()]",
    "comprehension": "[E() for _ in range(1)][0] + 1",
    "instance-attribute": "H().e == 1",
    # found attacking the fix (the source in hand)
    "module-level-container": "REG = {}\nREG['k'] = make()\nREG['k'] + 1",
    "class-level-instance": "class K:\n    e = E()\nK.e == 1",
    "method-reads-instance-state": "class H2:\n    def __init__(self):\n        self.e = E()\n\n"
                                   "    def m(self):\n        return self.e + 1\nH2().m()",
    "getattr-of-an-instance": "getattr(H(), 'e') == 1",
    "function-local-list": "def f():\n    x = [E()]\n    return x[0] + 1\nf()",
    "module-level-instance-in-a-list": "x = E()\ny = [x]\ny[0] + 1",
}


def _results_case(label: str) -> LibCase:
    body = _RESULTS_HEAD + "\n    " + _RESULTS[label].replace("\n", "\n    ") + "\n\n    class X:\n        pass\n"
    return LibCase({"rt7res/__init__.py": "", "rt7res/mod.py": body}, lambda: b"\x80\x02crt7res.mod\nX\n.")


@pytest.mark.slow
@pytest.mark.parametrize("label", sorted(_RESULTS))
def test_import_time_result_case_is_live(tmp_path: Path, label: str) -> None:
    _live(tmp_path, _results_case(label))


@pytest.mark.parametrize("label", sorted(_RESULTS))
def test_import_time_result_case_is_refused(tmp_path: Path, label: str) -> None:
    _refused(tmp_path, _results_case(label))
