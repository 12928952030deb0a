"""Methods called on an instance the analysed code itself created (lead, round 6).

``x = C(); x.pop(k)`` runs ``C.pop``: when ``C`` is a source class (a dict subclass overriding ``pop``, or any
class), the method is that class's code, not the builtin data method its name resembles. Before this fix the
source analysis took ``x.pop`` on such an instance for a data method (``DATA_METHODS``) and ran nothing of it:

- in a ``__setstate__`` (a BUILD at load), ``x = _C(); x.pop('s')`` was "only assigns and calls analysed-inert
  code" while the real load ran ``_C.pop``;
- in a class body at import, once round 6 (fp-longtail-e) let class-body names shadow module names, the same
  two statements made the module's import "only definitions".

Each case names an installed (site-packages) module; its payload touches a marker: it runs under ``pickle.load``
(the ``*_is_live`` twin) and safeload refuses it with the marker absent.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_redteam_round2 import LibCase, _g, _live, _refused

_DICT_SUBCLASS = """
    class _C(dict):
        def pop(self, key, *default):
            open(MARKER, "w").close()
            return None
"""

_PLAIN_CLASS = """
    class _C:
        def append(self, item):
            open(MARKER, "w").close()
"""


def _imported(module: str, name: str) -> bytes:
    return b"\x80\x02" + _g(module, name) + b"."


def _newobj_build(module: str, cls: str) -> bytes:
    """``cls.__new__(cls)`` then BUILD ``{'a': 1}`` (runs ``cls.__setstate__``)."""
    return b"\x80\x02" + _g(module, cls) + b")\x81}U\x01aK\x01sb."


CASES = {
    "class-body-dict-subclass-pop": LibCase({
        "instm_a/__init__.py": "",
        "instm_a/m.py": _DICT_SUBCLASS + """
    class R:
        table = _C()
        table.pop('splitter')
    """}, lambda: _imported("instm_a.m", "R")),
    "class-body-plain-class-method": LibCase({
        "instm_b/__init__.py": "",
        "instm_b/m.py": _PLAIN_CLASS + """
    class R:
        items = _C()
        items.append(1)
    """}, lambda: _imported("instm_b.m", "R")),
    "setstate-local-dict-subclass-pop": LibCase({
        "instm_c/__init__.py": "",
        "instm_c/m.py": _DICT_SUBCLASS + """
    class R:
        def __setstate__(self, state):
            scratch = _C()
            scratch.pop('a', None)
            self.__dict__.update(state)
    """}, lambda: _newobj_build("instm_c.m", "R")),
    "setstate-local-plain-class-method": LibCase({
        "instm_d/__init__.py": "",
        "instm_d/m.py": _PLAIN_CLASS + """
    class R:
        def __setstate__(self, state):
            acc = _C()
            acc.append(state)
            self.__dict__.update(state)
    """}, lambda: _newobj_build("instm_d.m", "R")),
}


@pytest.mark.parametrize("label", sorted(CASES))
def test_payload_is_live_under_pickle_load(tmp_path: Path, label: str) -> None:
    _live(tmp_path, CASES[label])


@pytest.mark.parametrize("label", sorted(CASES))
def test_safeload_refuses_and_the_payload_does_not_run(tmp_path: Path, label: str) -> None:
    _refused(tmp_path, CASES[label])
