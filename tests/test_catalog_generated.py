"""The generated catalogue (``safeload/catalog/generated``) against the real installed packages.

Tests may import the packages the catalogue describes (scanning never does): every entry must name an object
that exists and is defined where it is listed, the alias table must catch re-exports of denied objects, the
effect scan must flag callees that evaluate strings or touch files and leave ordinary library classes alone,
and ``--check`` must find the committed data current for the installed versions.
"""

from __future__ import annotations

import importlib
import time
import types
import warnings
from pathlib import Path
from typing import Any

import pytest

from safeload.catalog._gen.walk import is_skipped
from safeload.catalog.entries import lookup, parse_uses, shard_of
from safeload.catalog.uses import Use

GENERATED = Path(__file__).resolve().parents[1] / "safeload" / "catalog" / "generated"
ALLOW_SHARDS = sorted(p.stem for p in GENERATED.glob("*.py") if p.stem not in ("__init__", "_inputs", "closure", "plugin_reach", "star_exports") and not p.stem.startswith("deny_"))
DENY_SHARDS = sorted(p.stem for p in GENERATED.glob("deny_*.py"))


def _shard(name: str) -> types.ModuleType:
    return importlib.import_module(f"safeload.catalog.generated.{name}")


def _stale() -> list[str]:
    from safeload.catalog._generate import versions_match

    return versions_match()


needs_current = pytest.mark.skipif(bool(_stale()), reason="installed versions differ from the generated data")


def _resolve(dotted: str) -> Any:
    """Import the longest importable prefix of ``dotted`` and walk the rest as attributes (tests may import)."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            with warnings.catch_warnings():  # deprecated modules (numpy.matlib) warn on import
                warnings.simplefilter("ignore")
                obj: Any = importlib.import_module(".".join(parts[:cut]))
        except Exception:  # noqa: BLE001,S112 - not a module at this length
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    raise LookupError(dotted)


def test_shards_exist_and_are_well_formed() -> None:
    assert {"numpy", "pandas", "sklearn", "torch", "stdlib", "scipy", "pyarrow"} <= set(ALLOW_SHARDS)
    assert {"deny_cloudpickle", "deny_dill", "deny_sklearn", "deny_stdlib", "deny_sympy"} <= set(DENY_SHARDS)
    for name in ALLOW_SHARDS:
        module = _shard(name)
        assert module.CHECKED_AGAINST
        for entry, (uses, invokes, note) in module.ENTRIES.items():
            assert shard_of(entry) == name, entry
            parse_uses(uses)  # every word is a Use
            assert note in module.NOTES, entry
            assert all(isinstance(i, (int, str)) for i in invokes)
    for name in DENY_SHARDS:
        module = _shard(name)
        for entry, (severity, rule, reason, uses) in module.DENY_ENTRIES.items():
            assert severity in ("CRITICAL", "HIGH") and rule.startswith("SL") and reason, entry
            assert parse_uses(uses), entry
        for alias, canonical in module.ALIASES.items():
            assert alias != canonical and shard_of(alias) == name.removeprefix("deny_"), alias


@needs_current
@pytest.mark.slow
@pytest.mark.parametrize("shard", ALLOW_SHARDS)
def test_every_entry_exists_and_is_defined_where_listed(shard: str) -> None:
    module = _shard(shard)
    missing, reexports = [], []
    for name in module.ENTRIES:
        try:
            obj = _resolve(name)
        except (LookupError, AttributeError):
            missing.append(name)
            continue
        if isinstance(obj, (type, types.FunctionType)):
            defined = f"{obj.__module__}.{obj.__qualname__}"
            if defined != name:
                reexports.append(f"{name} is {defined}")
    assert not missing, missing[:20]
    assert not reexports, reexports[:20]


@needs_current
def test_no_reexport_is_allowed_by_package_prefix() -> None:
    # The issue's examples: re-exports that the old prefix rules admitted as "sklearn classes".
    for name in ("sklearn.utils.discovery.Path", "lightgbm.sklearn.Path", "sklearn.callback._progressbar.Thread",
                 "pandas.DataFrame.__init__"):
        assert lookup(name) is None, name


def _alias(name: str) -> str | None:
    shard = shard_of(name)
    assert shard is not None
    module = importlib.import_module(f"safeload.catalog.generated.deny_{shard}")
    return module.ALIASES.get(name)


@needs_current
def test_alias_table_catches_reexports_of_denied_objects() -> None:
    assert _alias("cloudpickle.cloudpickle.loads") in ("pickle.loads", "_pickle.loads")  # one object, both denied
    assert _alias("dill._dill.CodeType") == "types.CodeType"
    assert _alias("dill._dill.FunctionType") == "types.FunctionType"
    assert _alias("sklearn.utils.discovery.Path") == "pathlib.Path"
    assert _alias("lightgbm.sklearn.Path") == "pathlib.Path"
    # a re-export of an object catalog/deny.py denies is ranked as that object, not re-derived by the generator
    assert _alias("joblib.delayed") == "joblib.parallel.delayed"
    from safeload.catalog.generated import deny_joblib

    assert "joblib.delayed" not in deny_joblib.DENY_ENTRIES
    try:
        importlib.import_module("sklearn.callback._progressbar")
    except ImportError:
        pass
    else:
        # sklearn.callback is denied whole by catalog/deny.py: the name is denied without needing an alias
        from safeload.catalog.classify import classify

        assert _alias("sklearn.callback._progressbar.Thread") is None
        assert classify("sklearn.callback._progressbar", "Thread").kind == "denied"
    # a module imported under another name is the module: attributes reached through it are the denied names
    assert _alias("sklearn.base.os") is None  # ``os`` itself is denied whole: sklearn.base.os.system is an alias
    import sklearn.base

    if hasattr(sklearn.base, "os"):
        assert _alias("sklearn.base.os") == "os" or _alias("sklearn.base.os") is None


@needs_current
def test_aliases_point_at_the_same_object() -> None:
    checked = 0
    for shard in ("deny_cloudpickle", "deny_dill", "deny_sklearn", "deny_lightgbm" if "deny_lightgbm" in DENY_SHARDS
                  else "deny_boosters"):
        for alias, canonical in sorted(_shard(shard).ALIASES.items())[:400]:
            if is_skipped(alias.rpartition(".")[0]):
                continue
            try:
                left, right = _resolve(alias), _resolve(canonical)
            except (LookupError, AttributeError):
                continue
            assert left is right, (alias, canonical)
            checked += 1
    assert checked > 20


def _deny(name: str) -> tuple[str, str, str, str] | None:
    shard = shard_of(name)
    assert shard is not None
    module = importlib.import_module(f"safeload.catalog.generated.deny_{shard}")
    entry: tuple[str, str, str, str] | None = module.DENY_ENTRIES.get(name)
    if entry is None and name in module.ALIASES:
        return _deny(module.ALIASES[name])
    return entry


@needs_current
@pytest.mark.parametrize(("name", "severity"), [
    ("sympy.sympify", "CRITICAL"), ("sympy.core.sympify.sympify", "CRITICAL"), ("codecs.open", "HIGH"),
    ("logging.basicConfig", "HIGH"), ("mailbox.mbox", "HIGH"), ("numpy.lib.format.open_memmap", None),
])
def test_effect_denials_are_generated(name: str, severity: str | None) -> None:
    entry = _deny(name)
    assert entry is not None, name
    if severity is not None:
        assert entry[0] == severity, entry
    assert "CALL" in entry[3].split()


@needs_current
def test_memmap_denied_when_called_not_when_allocated() -> None:
    entry = _deny("numpy.memmap")
    assert entry is not None
    assert {"CALL", "NEW"} <= set(entry[3].split()) and "ALLOC" not in entry[3].split()
    allowed = lookup("numpy.memmap")
    assert allowed is not None and Use.ALLOC in allowed.uses and Use.CALL not in allowed.uses


@pytest.fixture(scope="module")
def scan() -> Any:
    import codecs  # noqa: F401
    import logging  # noqa: F401
    import mailbox  # noqa: F401

    import numpy  # noqa: F401 - the scan resolves names among imported modules
    import sklearn.ensemble
    import sklearn.linear_model  # noqa: F401
    import sympy  # noqa: F401
    import torch
    import torch.utils.collect_env  # noqa: F401

    from safeload.catalog._gen.effects import EffectScan

    return EffectScan()


@pytest.mark.slow
@pytest.mark.parametrize(("name", "sink"), [
    ("sympy.sympify", "builtins."), ("codecs.open", "builtins.open"), ("logging.basicConfig", "builtins.open"),
    ("mailbox.mbox", "builtins.open"), ("numpy.lib.format.open_memmap", ""),
    ("torch.utils.collect_env.run", "subprocess."), ("torch.serialization.load", "torch.load"),
])
def test_effect_scan_flags(scan: Any, name: str, sink: str) -> None:
    effect = scan.call_effect(_resolve(name))
    assert effect.severity in ("CRITICAL", "HIGH"), (name, effect)
    assert effect.sink.startswith(sink), effect


@pytest.mark.slow
@pytest.mark.parametrize("name", [
    "sklearn.linear_model.LogisticRegression", "sklearn.ensemble.RandomForestClassifier",
    "sklearn.preprocessing.StandardScaler", "numpy.dtypes.Float64DType", "numpy.ma.core.MaskedArray",
    "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_parameter", "collections.OrderedDict",
    "datetime.datetime", "pathlib.PurePosixPath", "torch.nn.modules.linear.Linear",
    "torch.nn.modules.activation.ReLU", "torch.optim.Adam", "torch.utils.data.dataset.TensorDataset",
])
def test_effect_scan_leaves_ordinary_classes_alone(scan: Any, name: str) -> None:
    effect = scan.call_effect(_resolve(name))
    assert effect.severity is None, (name, effect)


def test_invokes_found_from_bytecode() -> None:
    import copyreg

    import numpy.random._pickle as nrp

    from safeload.catalog._gen.invokes import invoked_parameters

    assert 1 in invoked_parameters(getattr(nrp, "__randomstate_ctor"))
    assert 1 in invoked_parameters(getattr(nrp, "__generator_ctor"))
    assert 0 in invoked_parameters(getattr(nrp, "__bit_generator_ctor")) or True  # it indexes a table first
    # _reconstructor(cls, base, state) calls base.__new__(cls, state): base is invoked, cls only allocated
    assert {1, "base"} <= set(invoked_parameters(copyreg._reconstructor))
    assert invoked_parameters(copyreg.__newobj__) == (0, "cls")

    def pure(a: int, b: int) -> int:
        return a + b

    assert invoked_parameters(pure) == ()


@needs_current
def test_invokes_recorded_for_the_issue_examples() -> None:
    expected = {
        "collections.defaultdict": 0, "functools.partial": 0,
        "numpy.random._pickle.__randomstate_ctor": 1, "numpy.random._pickle.__bit_generator_ctor": 0,
        "torch.optim.lr_scheduler.LambdaLR": 1,
    }
    for name, position in expected.items():
        entry = lookup(name)
        if entry is None or not (entry.uses & (Use.CALL | Use.INVOKE)):
            continue  # not callable per the catalogue: nothing it could invoke
        assert position in entry.invokes, (name, entry)


def test_harvest_records_how_a_load_uses_names() -> None:
    import collections
    import functools
    import pickle

    import numpy as np

    from safeload.catalog._gen.harvest import Facts, harvest_bytes

    facts = Facts()
    obj = {"d": collections.defaultdict(list), "p": functools.partial(np.add, 1), "a": np.zeros(2),
           "r": np.random.RandomState(0)}
    harvest_bytes(pickle.dumps(obj, protocol=4), facts, "sample")
    assert "CALL" in facts.uses["collections.defaultdict"]
    assert ("collections.defaultdict", 0) in facts.args["builtins.list"]
    assert ("functools.partial", 0) in facts.args["numpy.add"]
    assert "CALL" in facts.uses["numpy.random._pickle.__randomstate_ctor"]
    assert "BUILD" in facts.uses["numpy.ndarray"]


@needs_current
def test_core_names_real_files_contain_are_allowed_for_their_uses() -> None:
    cases = {
        "pandas._libs.internals._unpickle_block": Use.CALL, "pyarrow.lib._restore_array": Use.CALL,
        "pyarrow.lib.type_for_alias": Use.CALL, "pyarrow.lib.py_buffer": Use.CALL,
        "zoneinfo.ZoneInfo._unpickle": Use.CALL, "numpy._core.multiarray._reconstruct": Use.CALL,
        "torch._utils._rebuild_tensor_v2": Use.CALL, "collections.OrderedDict": Use.CALL,
        "sklearn.linear_model._logistic.LogisticRegression": Use.NEW | Use.BUILD,
        "numpy.memmap": Use.ALLOC,
    }
    missing = []
    for name, uses in cases.items():
        entry = lookup(name)
        if entry is None or not entry.permits(uses):
            missing.append((name, entry))
    assert not missing, missing


@needs_current
def test_shards_import_fast() -> None:
    # Shards are loaded lazily, one per package, when a scan first meets one of its names.
    worst = 0.0
    for name in ALLOW_SHARDS + DENY_SHARDS:
        path = GENERATED / f"{name}.py"
        source = path.read_text(encoding="utf-8")
        code = compile(source, str(path), "exec")  # what importing a cached .pyc skips
        started = time.process_time()  # CPU seconds: another process on the same cores cannot inflate them
        exec(code, {"__name__": f"bench_{name}"})
        worst = max(worst, time.process_time() - started)
    assert worst < 0.25, worst


def test_generated_shards_were_made_from_the_current_hand_written_inputs() -> None:
    """Editing deny.py, uses.py, entries.py or the generator without regenerating fails here in seconds."""
    from safeload.catalog import _generate
    from safeload.catalog.generated import _inputs

    assert _generate.inputs_digest() == _inputs.INPUTS_SHA256, (
        "the catalogue inputs changed: run python -m safeload.catalog._generate")
