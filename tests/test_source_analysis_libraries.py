"""Source analysis of real long-tail libraries installed in the environment (transformers, accelerate,
statsmodels, networkx, gensim), never importing them in this process.

Which opcodes real pickles of these objects use is checked in a subprocess (the only place the libraries are
imported), so each verdict is asserted for the uses a real file makes: ``TrainingArguments`` is pickled as
NEWOBJ + BUILD with a dict (its ``__post_init__`` does not run on load), transformers' enums as a REDUCE call
of the class with the value.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from safeload.catalog import source_analysis as sa
from safeload.catalog.source_analysis import Analysis, BuildState, analyse
from safeload.catalog.source_locate import library_roots, locate_module
from safeload.catalog.uses import Use

pytestmark = pytest.mark.slow

OPS_PROBE = r"""
import json, pickle, pickletools, sys
kind = sys.argv[1]
if kind == "training_args":
    from transformers import TrainingArguments
    obj = TrainingArguments(output_dir=sys.argv[2], report_to=[])
elif kind == "enum":
    from transformers.trainer_utils import IntervalStrategy
    obj = IntervalStrategy.STEPS
elif kind == "graph":
    import networkx as nx
    obj = nx.Graph()
    obj.add_edge(1, 2)
data = pickle.dumps(obj, protocol=2 if kind == "training_args" else 4)
ops = [op.name for op, _, _ in pickletools.genops(data)]
print(json.dumps({"ops": sorted(set(ops)), "build": "BUILD" in ops}))
"""


def _need(module: str) -> None:
    if locate_module(module).kind == "missing":
        pytest.skip(f"{module} is not installed")


def _ops(kind: str, *args: str) -> dict[str, object]:
    out = subprocess.run([sys.executable, "-c", OPS_PROBE, kind, *args], capture_output=True, text=True,
                         check=True, timeout=300)
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _analyse(module: str, qualname: str, uses: Use, **kw: object) -> Analysis:
    before = set(sys.modules)
    result = analyse(module, qualname, uses, **kw)  # type: ignore[arg-type]
    top = module.split(".", maxsplit=1)[0]
    assert not any(m == top or m.startswith(top + ".") for m in set(sys.modules) - before)
    return result


def v(a: Analysis, use: Use) -> sa.UseVerdict:
    found = a.verdict(use)
    assert found is not None
    return found


@pytest.fixture(autouse=True)
def _fresh() -> None:
    library_roots()
    sa.clear_cache()


def test_training_arguments(tmp_path: object) -> None:
    _need("transformers.training_args")
    _need("accelerate")
    facts = _ops("training_args", str(tmp_path))
    assert "NEWOBJ" in facts["ops"] and facts["build"]  # type: ignore[operator]
    a = _analyse("transformers.training_args", "TrainingArguments",
                 Use.NEW | Use.BUILD | Use.CALL | Use.HASH | Use.IMPORT, build_state=BuildState.DICT)
    assert a.kind == "class" and a.defined_in == "transformers.training_args"
    assert v(a, Use.NEW).inert and v(a, Use.BUILD).inert  # what a real training_args.bin does
    assert not v(a, Use.CALL).inert and "__post_init__" in v(a, Use.CALL).reason  # device set-up, env reads
    assert v(a, Use.HASH).inert
    # importing transformers walks its own package directory to build the lazy module table
    assert not a.import_effects.inert
    slots = _analyse("transformers.training_args", "TrainingArguments", Use.BUILD, build_state=BuildState.SLOTS)
    assert not v(slots, Use.BUILD).inert  # class-level values the model cannot classify as non-descriptors


def test_transformers_enums() -> None:
    _need("transformers.trainer_utils")
    facts = _ops("enum")
    assert "REDUCE" in facts["ops"]  # type: ignore[operator]
    for module, name in [("transformers.trainer_utils", "IntervalStrategy"),
                         ("transformers.trainer_utils", "SchedulerType"),
                         ("transformers.trainer_utils", "SaveStrategy"),
                         ("transformers.training_args", "OptimizerNames")]:
        a = _analyse(module, name, Use.CALL | Use.HASH)
        assert v(a, Use.CALL).inert and "_missing_" in v(a, Use.CALL).reason, (name, a.uses)
        assert v(a, Use.HASH).inert


def test_accelerate_state_in_training_args() -> None:
    _need("accelerate.state")
    a = _analyse("accelerate.state", "PartialState", Use.NEW | Use.BUILD | Use.CALL, build_state=BuildState.DICT)
    assert v(a, Use.NEW).inert and v(a, Use.BUILD).inert  # its __getattr__ only raises
    assert not v(a, Use.CALL).inert


def test_statsmodels() -> None:
    _need("statsmodels.regression.linear_model")
    wrapper = _analyse("statsmodels.regression.linear_model", "RegressionResultsWrapper", Use.BUILD | Use.NEW)
    assert v(wrapper, Use.NEW).inert
    # ResultsWrapper.__getattribute__ is reviewed (source_tables.REVIEWED_GETATTRIBUTE): BUILD finds the class's
    # __setstate__ through object.__getattribute__, which only updates __dict__
    assert v(wrapper, Use.BUILD).inert and "ResultsWrapper.__setstate__" in v(wrapper, Use.BUILD).reason
    results = _analyse("statsmodels.regression.linear_model", "RegressionResults", Use.BUILD | Use.NEW,
                       build_state=BuildState.DICT)
    assert v(results, Use.BUILD).inert and v(results, Use.NEW).inert
    data = _analyse("statsmodels.base.data", "PandasData", Use.BUILD, build_state=BuildState.DICT)
    assert not v(data, Use.BUILD).inert and "imports statsmodels.formula" in v(data, Use.BUILD).reason


def test_networkx_graph() -> None:
    _need("networkx.classes.graph")
    facts = _ops("graph")
    assert "NEWOBJ" in facts["ops"] and facts["build"]  # type: ignore[operator]
    g = _analyse("networkx.classes.graph", "Graph", Use.NEW | Use.BUILD, build_state=BuildState.DICT)
    assert v(g, Use.BUILD).inert
    # networkx 3.x wraps Graph.__new__ in its backend dispatcher: reviewed call-through while no backend plugin
    # is installed (source_tables.CALL_THROUGH_DECORATORS; the plugin case: test_source_longtail_reviews.py)
    assert v(g, Use.NEW).inert
    slots = _analyse("networkx.classes.graph", "Graph", Use.BUILD, build_state=BuildState.SLOTS)
    assert not v(slots, Use.BUILD).inert and "_adj" in v(slots, Use.BUILD).reason  # a data descriptor


def test_gensim() -> None:
    _need("gensim.utils")
    s = _analyse("gensim.utils", "SaveLoad", Use.NEW | Use.BUILD | Use.CALL)
    assert all(x.inert for x in s.uses), s.uses


def test_timings_cold_and_warm() -> None:
    _need("transformers.training_args")
    sa.clear_cache()
    start = time.process_time()  # CPU seconds: another process on the same cores cannot skew the comparison
    _analyse("transformers.training_args", "TrainingArguments", Use.NEW | Use.BUILD | Use.IMPORT)
    cold = time.process_time() - start
    start = time.process_time()
    for _ in range(50):
        _analyse("transformers.training_args", "TrainingArguments", Use.NEW | Use.BUILD | Use.IMPORT)
    warm = (time.process_time() - start) / 50
    assert warm < cold / 10
