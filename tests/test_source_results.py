"""What a call or an operator returns is tracked by the source analysis (red team R5-6), in process on a synthetic
environment (``tests/test_source_analysis.Env``; nothing is imported). A function's result is summarised from its
``return`` statements: data, an instance of a source class (whose protocol methods are analysed where used), one of
its arguments handed back, or an untracked value; running a protocol or data method of an untracked value makes the
module's import not inert. The end-to-end witnesses (the payload does not run) are in
``tests/test_redteam_round5.py``."""

from __future__ import annotations

import pytest

from safeload.catalog.uses import Use
from tests.test_source_analysis import Env, env

__all__ = ["env"]

_R = "class R:\n    def __str__(self):\n        open(MARKER, 'w').close()\n        return ''\n"
_R_GET = "class R:\n    def get(self):\n        open(MARKER, 'w').close()\n"

UNTRACKED = {
    "function-result": _R + "def f():\n    return R()\nv = str(f())\n",
    "function-result-assigned": _R + "def f():\n    return R()\nx = f()\nv = f'{x}'\n",
    "function-result-truth": _R.replace("__str__", "__bool__") + "def f():\n    return R()\nif f():\n    pass\n",
    "operator-result": _R + "class E:\n    def __neg__(self):\n        return R()\nv = str(-E())\n",
    "binary-operator-result": _R + "class E:\n    def __add__(self, o):\n        return R()\nv = str(E() + 1)\n",
    "math-floor-result": _R + "import math\nclass E:\n    def __floor__(self):\n        return R()\n"
                         "v = str(math.floor(E()))\n",
    "argument-handed-back": _R + "def f(x):\n    return x\nv = str(f(R()))\n",
    "method-result": _R + "class E:\n    def m(self):\n        return R()\nv = str(E().m())\n",
    "method-returns-self": _R + "class E(R):\n    def m(self):\n        return self\nv = str(E().m())\n",
    "two-classes-returned": _R + "class Q:\n    pass\ndef f(a):\n    if a:\n        return Q()\n    return R()\n"
                            "v = str(f(1))\n",
    "data-method-of-result": _R_GET + "def f():\n    return R()\nv = f().get()\n",
    "iterated-instance-element": _R + "class E:\n    def __iter__(self):\n        return iter([R()])\n"
                                 "for e in E():\n    str(e)\n",
    "abs-of-instance": _R + "class E:\n    def __abs__(self):\n        return R()\nv = str(abs(E()))\n",
}

TRACKED = {
    "data-result": "def f():\n    return 'a' + 'b'\nv = str(f())\n",
    "argument-data-handed-back": "def f(x):\n    return x\nv = str(f('a'))\n",
    "method-data-result": "class Q:\n    def m(self):\n        return 'x'\nv = str(Q().m())\n",
    "analysed-instance-result": "class Q:\n    def __str__(self):\n        return 'q'\ndef f():\n    return Q()\n"
                                "v = str(f())\n",
    "builtin-typed-result": "class E:\n    def __len__(self):\n        return 1\nv = str(len(E()))\n",
    "comparison-result": "class E:\n    def __eq__(self, o):\n        return True\nv = str(E() == 1)\n",
}


def _import_verdict(env: Env, source: str) -> tuple[bool, str]:
    env.write({"pkg/__init__.py": "", "pkg/m.py": source + "class X:\n    pass\n"})
    verdict = env.run("pkg.m", "X", Use.REF | Use.IMPORT).import_effects
    return verdict.inert, verdict.reason


@pytest.mark.parametrize("label", sorted(UNTRACKED))
def test_protocol_use_of_an_untracked_result_is_not_inert(env: Env, label: str) -> None:
    inert, reason = _import_verdict(env, UNTRACKED[label])
    assert not inert, reason
    assert "pkg.m" in reason, reason


@pytest.mark.parametrize("label", sorted(TRACKED))
def test_results_the_analysis_can_name_stay_inert(env: Env, label: str) -> None:
    inert, reason = _import_verdict(env, TRACKED[label])
    assert inert, reason


def test_the_reason_names_the_untracked_result(env: Env) -> None:
    inert, reason = _import_verdict(env, UNTRACKED["two-classes-returned"])
    assert not inert and "does not track" in reason, reason
