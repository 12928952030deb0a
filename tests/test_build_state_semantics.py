"""BUILD state read as CPython's ``load_build`` applies it (engine/semantics.py ``_check_applied_state``), and the
items of dict subclasses that serve them as attributes (``catalog/mappings.py``).

Each hostile file is built here and only *scanned* (the scanner never runs it); the attacks they stand for were run
live in ``tests/test_redteam_round3.py`` (R3-6, R3-8, ResultsWrapper forwarding). Each benign control scans clean
and loads through the safe loader with the value ``pickle.loads`` gives.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import pytest

import safeload
from tests.attacks import C, G, Raw, _emit, assemble

_INTERFACE = {"shape": (2,), "typestr": "|u1", "data": (8, False), "version": 3}  # numpy would read address 8


def _blocking(tmp_path: Path, data: bytes) -> set[str]:
    path = tmp_path / "model.pkl"
    path.write_bytes(data)
    return {f.rule_id for f in safeload.scan(path).blocking()}


def _raw(value: Any) -> bytes:
    out = bytearray()
    _emit(value, out)
    return bytes(out)


class _Bytes(Raw):
    """Opcodes written here, spliced in as they are."""

    def __init__(self, fragment: bytes) -> None:
        self.fragment = fragment


def _setitems(cls: G, items: dict[str, Any]) -> Raw:
    """``cls.__new__(cls)`` then SETITEMS, as a dict subclass pickles."""
    body = b"".join(_raw(k) + _raw(v) for k, v in items.items())
    return _Bytes(_raw(cls) + b")\x81(" + body + b"u")


def _namespace(state: Any) -> C:
    return C(G("types", "SimpleNamespace"), (), state)


@pytest.mark.parametrize("value", [_INTERFACE, 1, "text"])
def test_dunder_key_with_plain_value_is_refused(tmp_path: Path, value: Any) -> None:
    data = assemble(C(G("numpy", "add"), (_namespace({"__array_interface__": value}), 0)))
    assert "SL110" in _blocking(tmp_path, data)


def test_computed_key_is_refused(tmp_path: Path) -> None:
    """A key the load computes (``str('__array_interface__')``) may equal a dunder name."""
    key = C(G("builtins", "str"), ("__array_interface__",))
    data = assemble(C(G("numpy", "add"), (_namespace(_Bytes(b"}" + _raw(key) + _raw(_INTERFACE) + b"s")), 0)))
    assert "SL110" in _blocking(tmp_path, data)


@pytest.mark.parametrize("cls", [G("scipy.optimize._optimize", "OptimizeResult"), G("sklearn.utils._bunch", "Bunch")])
def test_dunder_item_of_attribute_serving_dict_is_refused(tmp_path: Path, cls: G) -> None:
    """Their ``__getattr__`` returns ``self[name]``: numpy's instance lookup of ``__array_interface__`` gets the item."""
    data = assemble(C(G("numpy", "add"), (_setitems(cls, {"__array_interface__": _INTERFACE}), 0)))
    assert "SL110" in _blocking(tmp_path, data)


def test_slot_state_after_computed_dict_is_read(tmp_path: Path) -> None:
    """``(dict([...]), {'__class__': ...})``: the slot dict is read even when the first element is computed."""
    state = (C(G("builtins", "dict"), ([("a", 1)],)), {"__class__": G("numpy._pytesttester", "PytestTester")})
    assert "SL110" in _blocking(tmp_path, assemble(_namespace(state)))


@pytest.mark.parametrize("state", [
    C(G("collections", "defaultdict"), (None, {"keys": 1})),        # a dict whose items the engine does not read
    C(G("builtins", "getattr"), (G("argparse", "Namespace"), "x")),  # a function's result: may be a dict
    (None, C(G("collections", "Counter"), ({"__class__": 1},))),
])
def test_unreadable_computed_state_is_refused(tmp_path: Path, state: Any) -> None:
    assert "SL110" in _blocking(tmp_path, assemble(_namespace(state)))


@pytest.mark.parametrize("kind", ["dict-call", "ordereddict-setitems", "tuple-with-dict-call"])
def test_readable_computed_state_loads(tmp_path: Path, kind: str) -> None:
    """Control: a dict the file builds from literal items is read like a literal and admitted."""
    if kind == "dict-call":
        state: Any = C(G("builtins", "dict"), ([("a", 1), ("b", "two")],))
    elif kind == "ordereddict-setitems":
        state = _setitems(G("collections", "OrderedDict"), {"a": 1, "b": [1.5, "x"]})
    else:
        state = (C(G("builtins", "dict"), ([("a", 1)],)), {"b": 2})
    data = assemble(_namespace(state))
    path = tmp_path / "model.pkl"
    path.write_bytes(data)
    result = safeload.scan(path)
    assert result.is_safe(), result.summary(safeload.Severity.MEDIUM)
    with path.open("rb") as f:
        assert safeload.pickle_load(f) == pickle.loads(data)


def test_plain_items_of_attribute_serving_dict_load(tmp_path: Path) -> None:
    """Control: an OptimizeResult as scipy pickles it (plain items) is admitted."""
    data = assemble(_setitems(G("scipy.optimize._optimize", "OptimizeResult"),
                              {"x": 1.5, "success": True, "message": "ok", "nit": 3}))
    path = tmp_path / "model.pkl"
    path.write_bytes(data)
    result = safeload.scan(path)
    assert result.is_safe(), result.summary(safeload.Severity.MEDIUM)
    with path.open("rb") as f:
        assert safeload.pickle_load(f) == pickle.loads(data)


def test_pairs_state_applied_by_setstate_is_read(tmp_path: Path) -> None:
    """torch's Optimizer.__setstate__ is ``self.__dict__.update(state)``: a list of pairs is applied as attributes,
    and ``self._patch_step_function()`` then calls the one stored under that name (PytestTester's __call__)."""
    runner = C(G("numpy._pytesttester", "PytestTester"), ("encodings",))
    pairs = [("defaults", {}), ("param_groups", []), ("state", {}), ("_patch_step_function", runner)]
    data = bytearray(b"\x80\x02")
    _emit(C(G("copyreg", "_reconstructor"), (G("torch.optim.sgd", "SGD"), G("builtins", "object"), None)), data)
    _emit(pairs, data)
    path = tmp_path / "model.pkl"
    path.write_bytes(bytes(data + b"b."))
    refused = {(f.rule_id, f.subject) for f in safeload.scan(path).blocking()}
    assert ("SL115", "numpy._pytesttester.PytestTester") in refused
    pairs[3] = ("__array_interface__", _INTERFACE)
    path.write_bytes(assemble(C(G("copyreg", "_reconstructor"), (G("torch.optim.sgd", "SGD"), G("builtins", "object"),
                                                                 None), pairs)))
    assert "SL110" in _blocking(tmp_path, path.read_bytes())
