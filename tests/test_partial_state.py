"""functools.partial state the engine models: keywords and the instance dict (R3-3 and the shapes around it).

``partial.__setstate__((func, args, keywords, dict))`` (CPython Modules/_functoolsmodule.c) sets what calling the
partial runs, *and* the keywords it passes (``argparse.Namespace(keys=obj)`` keeps them as attributes) and its
instance dict (its attributes: ``dict(p)`` calls ``p.keys()``). ``partial.__new__`` takes keywords the same way
(NEWOBJ_EX). A ``functools.partial`` made by a helper (``copyreg.__newobj__``, ``copyreg._reconstructor``) gets the
same ``__setstate__``. Each live case creates ``.pytest_cache`` under ``tmp_path`` under ``pickle.load`` (the callable
is numpy's PytestTester, as in tests/test_redteam_round3.py) and is refused, marker absent, under safeload.
"""

from __future__ import annotations

import functools
import pickle
from collections.abc import Callable
from pathlib import Path

import pytest

import safeload
from tests.attacks import C, G, _emit, assemble
from tests.test_redteam_round3 import _load_in, _pytest_runner

PARTIAL = G("functools", "partial")
NAMESPACE = G("argparse", "Namespace")


def _instance_dict_by_newobj_helper() -> bytes:
    made = C(G("copyreg", "__newobj__"), (PARTIAL, G("builtins", "int")),
             (G("builtins", "int"), (), {}, {"keys": _pytest_runner()}))
    return assemble(C(G("builtins", "dict"), (made,)))


def _keywords_by_newobj_helper() -> bytes:
    made = C(G("copyreg", "__newobj__"), (PARTIAL, G("builtins", "int")),
             (NAMESPACE, (), {"keys": _pytest_runner()}, None), call_result=True)
    return assemble(C(G("builtins", "dict"), (made,)))


def _instance_dict_by_reconstructor() -> bytes:
    made = C(G("copyreg", "_reconstructor"), (PARTIAL, PARTIAL, G("builtins", "int")),
             (G("builtins", "int"), (), {}, {"keys": _pytest_runner()}))
    return assemble(C(G("builtins", "dict"), (made,)))


def _keywords_by_newobj_ex(keywords: dict[str, object]) -> bytes:
    """``dict(partial.__new__(partial, Namespace, **keywords)())`` through the NEWOBJ_EX opcode (protocol 4)."""
    out = bytearray(b"\x80\x04")
    _emit(G("builtins", "dict"), out)
    _emit(PARTIAL, out)
    _emit((NAMESPACE,), out)
    _emit(keywords, out)
    out += b"\x92)R\x85R."
    return bytes(out)


def _keywords_with_instance_dict() -> bytes:
    """Keywords and an instance dict in the same state: the keywords are ranked whatever the dict holds."""
    return assemble(C(G("builtins", "dict"), (C(PARTIAL, (NAMESPACE,), (NAMESPACE, (), {"keys": _pytest_runner()},
                                                                           {"other": [1]}), call_result=True),)))


_LIVE: dict[str, Callable[[], bytes]] = {
    "instance-dict-newobj-helper": _instance_dict_by_newobj_helper,
    "keywords-newobj-helper": _keywords_by_newobj_helper,
    "instance-dict-reconstructor": _instance_dict_by_reconstructor,
    "keywords-newobj-ex": lambda: _keywords_by_newobj_ex({"keys": _pytest_runner()}),
    "keywords-with-instance-dict": _keywords_with_instance_dict,
}


@pytest.mark.slow
@pytest.mark.parametrize("label", sorted(_LIVE))
def test_partial_shape_is_live(tmp_path: Path, label: str) -> None:
    path = tmp_path / "model.pkl"
    path.write_bytes(_LIVE[label]())
    _load_in(tmp_path, "pickle", path, safe=False)
    assert (tmp_path / ".pytest_cache").exists()


@pytest.mark.slow
@pytest.mark.parametrize("label", sorted(_LIVE))
def test_partial_shape_is_refused(tmp_path: Path, label: str) -> None:
    path = tmp_path / "model.pkl"
    path.write_bytes(_LIVE[label]())
    done = _load_in(tmp_path, "pickle", path, safe=True)
    assert not (tmp_path / ".pytest_cache").exists(), "the payload ran under safeload"
    assert "REFUSED" in done.stdout, done.stdout + done.stderr[-2000:]


def _findings(tmp_path: Path, data: bytes) -> list[tuple[str, str | None]]:
    path = tmp_path / "model.pkl"
    path.write_bytes(data)
    report = safeload.scan(path)
    return [(f.rule_id, f.subject) for f in report.findings if f.severity >= safeload.Severity.MEDIUM]


def test_dunder_keyword_holding_a_name_is_refused(tmp_path: Path) -> None:
    # Namespace(__class__=X) is setattr(ns, "__class__", X): the object's class is swapped after it was ranked.
    found = _findings(tmp_path, _keywords_by_newobj_ex({"__class__": G("argparse", "ArgumentParser")}))
    assert ("SL110", "functools.partial keywords") in found, found


def test_keywords_only_known_at_load_time_are_flagged(tmp_path: Path) -> None:
    state = (G("builtins", "int"), (), C(G("collections", "OrderedDict"), ()), None)
    found = _findings(tmp_path, assemble(C(PARTIAL, (G("builtins", "int"),), state)))
    assert ("SL111", "functools.partial") in found, found


def test_instance_dict_not_a_dict_is_flagged(tmp_path: Path) -> None:
    state = (G("builtins", "int"), (), None, C(G("collections", "OrderedDict"), ()))
    found = _findings(tmp_path, assemble(C(PARTIAL, (G("builtins", "int"),), state)))
    assert ("SL111", "BUILD on functools.partial") in found, found


@pytest.mark.parametrize("value", [functools.partial(int, base=2), functools.partial(int, "11", base=2),
                                   functools.partial(max, key=abs)],
                         ids=["keyword", "positional-and-keyword", "function-keyword"])
def test_plain_partials_stay_clean(tmp_path: Path, value: object) -> None:
    # keywords holding plain data or an allowed function, and the dict state pickle writes, are no finding
    assert _findings(tmp_path, pickle.dumps(value, protocol=2)) == []
