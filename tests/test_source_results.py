"""What a call or an operator returns is tracked by the source analysis (red team R5-6), in process on a synthetic
environment (``tests/test_source_analysis.Env``; nothing is imported). A function's result is summarised from its
``return`` statements: data, an instance of a source class (whose protocol methods are analysed where used), one of
its arguments handed back, or an untracked value; running a protocol or data method of an untracked value makes the
module's import not inert. The end-to-end witnesses (the payload does not run) are in
``tests/test_redteam_round5.py``."""

from __future__ import annotations

import pytest

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


@pytest.mark.parametrize("label", sorted(UNTRACKED))
def test_protocol_use_of_an_untracked_result_is_not_inert(env: Env, label: str) -> None:
    inert, reason = env.import_verdict(UNTRACKED[label])
    assert not inert, reason
    assert "pkg.m" in reason, reason


@pytest.mark.parametrize("label", sorted(TRACKED))
def test_results_the_analysis_can_name_stay_inert(env: Env, label: str) -> None:
    inert, reason = env.import_verdict(TRACKED[label])
    assert inert, reason


def test_the_reason_names_the_untracked_result(env: Env) -> None:
    inert, reason = env.import_verdict(UNTRACKED["two-classes-returned"])
    assert not inert and "does not track" in reason, reason


# --- red team R7-4: values held in containers and attributes -----------------------------------------------------
# Each protocol method writes the marker; ``__hash__`` is inert unless a case needs it to run.
_E = (
    "class E:\n"
    "    def __eq__(self, o):\n        open(MARKER, 'w').close()\n        return False\n"
    "    def __hash__(self):\n        return 1\n"
    "    def __add__(self, o):\n        open(MARKER, 'w').close()\n        return 1\n"
    "    def __bool__(self):\n        open(MARKER, 'w').close()\n        return True\n"
    "    def __lt__(self, o):\n        open(MARKER, 'w').close()\n        return True\n"
    "    def __repr__(self):\n        open(MARKER, 'w').close()\n        return ''\n"
    "def make():\n    return E()\n"
    "class H:\n    def __init__(self):\n        self.e = E()\n"
)
_HASH = "class HE:\n    def __hash__(self):\n        open(MARKER, 'w').close()\n        return 1\n"
_ITER = "class I:\n    def __iter__(self):\n        open(MARKER, 'w').close()\n        return iter([1, 2])\n"
_TWO = "class Q:\n    pass\ndef two(a):\n    if a:\n        return Q()\n    return E()\n"

HELD = {
    "list-item": "[make()][0] == 1",
    "dict-item": "{'k': E()}['k'] + 1",
    "in-a-list": "1 in [E()]",
    "in-a-local-list": "x = [E()]\nv = 1 in x",
    "comprehension-item": "[E() for _ in range(1)][0] + 1",
    "generator-item": "next(iter([E() for _ in range(1)])) + 1",
    "instance-attribute": "H().e == 1",
    "module-level-instance-attribute": "h = H()\nv = h.e + 1",
    "module-level-list-item": "x = [E()]\nv = x[0] == 1",
    "module-level-list-alias": "x = [E()]\ny = x\nv = y[0] + 1",
    "module-level-append": "REG = []\nREG.append(make())\nv = REG[0] + 1",
    "module-level-setitem": "REG = {}\nREG['k'] = E()\nv = REG['k'] + 1",
    "module-level-update": "REG = {'a': 1}\nREG.update(k=E())\nv = REG['k'] + 1",
    "read-by-a-function-after-the-store": "REG = []\ndef use():\n    return REG[0] + 1\nREG.append(make())\nuse()",
    "slice": "x = [E()][0:1]\nv = x[0] + 1",
    "starred": "x = [*[E()]]\nv = x[0] + 1",
    "starred-target": "a, *b = [1, E()]\nv = b[0] + 1",
    "nested": "x = [[E()]]\nv = x[0][0] + 1",
    "tuple-of-list": "x = tuple([E()])\nv = x[0] + 1",
    "sorted-of-list": "x = sorted([make()], key=id)\nv = x[0] + 1",
    "dict-get": "v = {'k': E()}.get('k') + 1",
    "dict-call": "x = dict(k=E())\nv = x['k'] + 1",
    "list-pop": "x = [make()]\ny = x.pop()\nv = y + 1",
    "list-index": "[make()].index(1)",
    "list-sort": "x = [E() for _ in range(2)]\nx.sort()",
    "container-equality": "x = [make()]\nv = x == [1]",
    "container-repr": "x = [make()]\nv = f'{x}'",
    "truth-of-item": "if [make()][0]:\n    pass",
    "comprehension-condition": "v = [1 for _ in range(1) if make()]",
    "set-display-hash": _HASH + "x = {HE()}",
    "set-comprehension-hash": _HASH + "x = {HE() for _ in range(1)}",
    "dict-key-hash": _HASH + "x = {HE(): 1}",
    "dict-comprehension-key-hash": _HASH + "x = {HE(): 1 for _ in range(1)}",
    "setitem-key-hash": _HASH + "d = {}\nd[HE()] = 1",
    "unpacking-iterates": _ITER + "a, b = I()",
    "class-level-instance": "class K:\n    e = E()\nv = K.e + 1",
    "class-level-container": "class K:\n    e = [make()]\nv = K.e[0] + 1",
    "class-body-container": "class K:\n    e = [make()]\n    v = e[0] + 1",
    "inherited-class-level-instance": "class K:\n    e = E()\nclass K2(K):\n    pass\nv = K2.e == 1",
    "in-a-function-local-list": "def f():\n    x = [E()]\n    return x[0] + 1\nf()",
    "in-a-function-result-name": "def f():\n    x = make()\n    return x + 1\nf()",
    "in-a-function-setitem": "def f():\n    d = {}\n    d['k'] = E()\n    return d['k'] + 1\nf()",
    "in-a-function-loop": "def f():\n    for e in [make()]:\n        e + 1\nf()",
    "in-a-function-unpacking": "def f():\n    a, b = [E(), 1]\n    a + 1\nf()",
    "in-a-function-conditional": "def f(c):\n    x = E() if c else 1\n    return x + 1\nf(1)",
    "returned-container": "def f():\n    return [E()]\nv = f()[0] + 1",
    "untracked-result-attribute": _TWO + "v = two(1).x",
    "untracked-result-item": _TWO + "v = two(1)[0]",
    "untracked-in-a-container": _TWO + "v = [two(1)] == [1]",
    "getattr-of-an-instance": "v = getattr(H(), 'e') + 1",
    "module-level-instance-in-a-list": "x = E()\ny = [x]\nv = y[0] + 1",
    "module-level-result-in-a-list": "x = make()\ny = [x]\nv = y[0] + 1",
    "method-reads-instance-state": "class H2:\n    def __init__(self):\n        self.e = E()\n"
                                   "    def m(self):\n        return self.e + 1\nH2().m()",
    "dict-splat": "x = {**{'k': E()}}\nv = x['k'] + 1",
    "one-of-several-instances": "class F:\n    def __add__(self, o):\n        return 1\n"
                                "LIBS = (F(), E())\nv = [lib + 1 for lib in LIBS]",
    "instance-attribute-set-by-init-of-one-of-several": "class F:\n    e = 1\nLIBS = (F(), H())\n"
                                                        "v = [lib.e + 1 for lib in LIBS]",
    "nested-setitem": "x = {'a': {}}\nx['a']['k'] = make()\nv = x['a']['k'] + 1",
    "slice-assignment": "x = [[]]\nx[0][0:0] = [make()]\nv = x[0][0] + 1",
    "namespace-attribute": "import types\nns = types.SimpleNamespace()\nns.e = make()\nv = ns.e + 1",
    "in-a-function-nested-setitem": "def f():\n    d = {'a': {}}\n    d['a']['k'] = make()\n"
                                    "    return d['a']['k'] + 1\nf()",
    "enumerate-unpacked": "def f():\n    for i, e in enumerate([E()]):\n        e + 1\nf()",
}

HELD_DATA = {
    "instances-without-protocol-methods": "class Q:\n    pass\nREG = [Q(), Q()]\nv = REG[0] == 1\nlen(REG)\nstr(REG)",
    "a-list-of-classes": "class A:\n    pass\nREG = [A]\nv = REG[0] == A",
    "a-dispatch-table": "def f():\n    return 1\nclass A:\n    pass\nT = {'a': f, 'b': A}\nv = T['a'] is f\nsorted(T)",
    "inert-protocol-methods": "class Q:\n    def __eq__(self, o):\n        return True\n    def __hash__(self):\n"
                              "        return 1\nd = {}\nd[Q()] = 1\nd['k'] = Q()\nv = d['k'] == 1\nv = 1 in [Q()]\n"
                              "s = {Q()}",
    "dunder-all": "__all__ = ['X']\n__all__ += ['Y']\nsorted(__all__)",
    "a-library-dict": "import collections\nD = collections.OrderedDict()\nD['a'] = 1\nv = list(D.items())",
    "plain-data-list": "x = [1, 'a', (2, 3)]\nv = x[0] + 1\nv = x == [1]\nv = 1 in x\nv = {k: 1 for k in x[:1]}",
    "returned-container-of-inert-instances": "class Q:\n    pass\ndef f():\n    return [Q()]\nv = f()[0] == 1",
    # scikit-survival 0.25 sksurv/_dataframe/_input.py: a tuple of module-level instances, a class-level attribute
    # of each read in a comprehension at import
    "class-level-data-of-instances-in-a-tuple": "class P:\n    names = ('pandas.DataFrame',)\nclass Q:\n"
                                                "    names = ('polars.DataFrame',)\nLIBS = (P(), Q())\n"
                                                "S = ' or '.join([n for lib in LIBS for n in lib.names])",
    "method-on-an-instance-holding-data": "class Q:\n    def __init__(self):\n        self.n = 1\n"
                                          "    def m(self):\n        return self.n + 1\nQ().m()",
}


@pytest.mark.parametrize("label", sorted(HELD))
def test_protocol_use_of_a_held_value_is_not_inert(env: Env, label: str) -> None:
    inert, reason = env.import_verdict(_E + HELD[label] + "\n")
    assert not inert, reason
    assert "pkg.m" in reason, reason
    assert not env.marker.exists()


@pytest.mark.parametrize("label", sorted(HELD_DATA))
def test_containers_of_data_classes_and_inert_instances_stay_inert(env: Env, label: str) -> None:
    inert, reason = env.import_verdict(HELD_DATA[label] + "\n")
    assert inert, reason
