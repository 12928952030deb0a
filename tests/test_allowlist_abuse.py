"""Issue 12 / THREATS E1-E6: allowlisted names used in ways their entries never meant, in every container.

Every payload is live (the control test runs it under the plain loader in a subprocess and sees the marker),
and every safe loader must refuse it at the default threshold, name the misused name, and leave the marker
absent. Benign controls that touch the same paths (random states, partials, defaultdicts, schedulers,
FunctionTransformer) must stay clean.
"""

from __future__ import annotations

import collections
import functools
import io
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import safeload
from safeload import Severity
from tests import attacks

torch = pytest.importorskip("torch")

# payload -> the name a finding must be about (the one the file misuses)
CULPRITS: dict[str, str] = {
    "E1-memmap-called": "numpy.memmap",
    "E2-randomstate-ctor-calls-sympify": "sympy.sympify",
    "E2-generator-ctor-calls-sympify": "sympy.sympify",
    "E2-randomstate-ctor-calls-memmap-partial": "numpy.memmap",
    "E2-rebuild-from-type-calls-sympify": "sympy.sympify",
    "E2-lambdalr-calls-partial": "numpy.memmap",
    "E2-defaultdict-factory-fired-by-format-map": "numpy.memmap",
    "E2-defaultdict-factory-fired-by-translate": "numpy.memmap",
    "E3-partial-setstate-swap": "numpy.memmap",
    "E4-reconstructor-base": "mailbox.mbox",
    "E5-cloudpickle-reexport-of-pickle-loads": "numpy.memmap",
    "E5-sklearn-reexport-of-thread": "sklearn.callback._progressbar.Thread",
    "E6-sympify": "sympy.sympify",
    "E6-mailbox": "mailbox.mbox",
    "E6-codecs-open": "codecs.open",
    "E6-logging-basicconfig": "logging.basicConfig",
}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, bytes]]:
    where = tmp_path_factory.mktemp("abuse")
    marker = where / "PWNED_MARKER"
    return marker, attacks.payloads(marker)


def test_every_class_has_a_culprit(built: tuple[Path, dict[str, bytes]]) -> None:
    assert set(built[1]) == set(CULPRITS)


@pytest.mark.slow
@pytest.mark.parametrize("label", sorted(CULPRITS))
def test_payload_is_live_under_the_plain_loader(built: tuple[Path, dict[str, bytes]], label: str) -> None:
    marker, payloads = built
    path = marker.parent / f"control-{label}.pkl"
    path.write_bytes(payloads[label])
    assert attacks.runs_under_plain_loader("pickle", path, marker), f"{label} is not a live payload"


@pytest.mark.slow
@pytest.mark.parametrize("container", sorted(attacks.CONTAINERS))
def test_container_wrapping_is_live(built: tuple[Path, dict[str, bytes]], container: str) -> None:
    marker, payloads = built
    wrap, _ = attacks.CONTAINERS[container]
    path = marker.parent / f"control-container.{container}"
    path.write_bytes(wrap(payloads["E1-memmap-called"]))
    assert attacks.runs_under_plain_loader(container, path, marker), f"the {container} wrapping is not live"


@pytest.mark.parametrize("container", sorted(attacks.CONTAINERS))
@pytest.mark.parametrize("label", sorted(CULPRITS))
def test_refused_in_every_container(built: tuple[Path, dict[str, bytes]], label: str, container: str) -> None:
    marker, payloads = built
    wrap, _ = attacks.CONTAINERS[container]
    path = marker.parent / f"{label}.{container}"
    path.write_bytes(wrap(payloads[label]))
    result = safeload.scan(path)
    culprit = CULPRITS[label]
    blocking = result.blocking(Severity.MEDIUM)
    assert blocking, result.summary(Severity.INFO)
    assert any(culprit == f.subject or culprit in f.message for f in blocking), result.summary(Severity.INFO)
    with pytest.raises(safeload.UnsafeModelError):
        attacks.safe_load(container, path)
    assert not marker.exists()


def test_memmap_called_is_high_and_says_how(built: tuple[Path, dict[str, bytes]]) -> None:
    result = safeload.scan(built[1]["E1-memmap-called"])
    finding = next(f for f in result.findings if f.subject == "numpy.memmap")
    assert finding.severity == Severity.HIGH
    assert "called" in finding.message


def test_factory_message_names_the_receiver(built: tuple[Path, dict[str, bytes]]) -> None:
    result = safeload.scan(built[1]["E2-defaultdict-factory-fired-by-format-map"])
    finding = next(f for f in result.findings if f.subject == "numpy.memmap")
    assert "functools.partial" in finding.message, finding.message


def test_partial_state_swap_names_setstate(built: tuple[Path, dict[str, bytes]]) -> None:
    result = safeload.scan(built[1]["E3-partial-setstate-swap"])
    finding = next(f for f in result.findings if f.subject == "numpy.memmap")
    assert "__setstate__" in finding.message, finding.message


# --- benign controls ---------------------------------------------------------------------------------------------
def _lambda_lr_state() -> dict[str, Any]:
    model = torch.nn.Linear(2, 2)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda=lambda epoch: 0.95 ** epoch)
    model(torch.ones(1, 2)).sum().backward()
    opt.step()
    sched.step()
    return {"optimizer": opt.state_dict(), "scheduler": sched.state_dict(), "model": model.state_dict()}


def _rng_state() -> dict[str, Any]:
    import random

    return {"python": random.getstate(), "numpy": np.random.get_state(), "cpu": torch.get_rng_state()}


BENIGN: dict[str, Any] = {
    "randomstate": lambda: np.random.RandomState(3),
    "generator": lambda: np.random.default_rng(3),
    "generators-pcg-philox": lambda: [np.random.Generator(np.random.PCG64(1)), np.random.Generator(np.random.Philox(2))],
    "partial-numpy-add": lambda: functools.partial(np.add, 1),
    "defaultdict-list": lambda: collections.defaultdict(list, {"a": [1]}),
    "ordereddict": lambda: collections.OrderedDict(a=1, b=np.arange(3)),
    "optimizer-and-lambdalr-state": _lambda_lr_state,
    "rng-state": _rng_state,
    "memmap-array": None,  # built in the test (needs a file)
}


def _function_transformer() -> Any:
    from sklearn.preprocessing import FunctionTransformer

    return FunctionTransformer(np.log1p).fit(np.ones((3, 2)))


BENIGN["function-transformer-log1p"] = _function_transformer


@pytest.mark.parametrize("how", ["pickle2", "pickle5", "joblib", "joblib-zlib", "torch"])
@pytest.mark.parametrize("label", sorted(BENIGN))
def test_benign_controls_stay_clean(tmp_path: Path, label: str, how: str) -> None:
    import joblib

    if label == "memmap-array":
        mm = np.memmap(tmp_path / "mm.bin", dtype="float32", mode="w+", shape=(4,))
        mm[:] = 1.0
        obj: Any = mm
    else:
        obj = BENIGN[label]()
    path = tmp_path / f"{label}.{how}"
    if how.startswith("pickle"):
        path.write_bytes(pickle.dumps(obj, protocol=int(how[-1])))
    elif how == "joblib":
        joblib.dump(obj, path)
    elif how == "joblib-zlib":
        joblib.dump(obj, path, compress=3)
    else:
        torch.save(obj, path)
    result = safeload.scan(path)
    assert result.is_safe(), result.summary(Severity.LOW)
    if how == "torch":
        loaded = safeload.torch_load(path, weights_only=False)
    elif how.startswith("joblib"):
        loaded = safeload.joblib_load(path)
    else:
        with open(path, "rb") as f:
            loaded = safeload.pickle_load(f)
    assert type(loaded) is type(obj) or isinstance(obj, np.memmap)


def test_benign_state_of_partial_is_clean() -> None:
    # Every real pickled partial carries __setstate__ state; an allowed function in it stays clean.
    data = pickle.dumps(functools.partial(np.add, 1, out=None), protocol=2)
    assert safeload.scan(data).is_safe()
    assert safeload.pickle_loads(data)(1) == 2


def test_benign_partial_in_bytesio_round_trip() -> None:
    buf = io.BytesIO(pickle.dumps({"f": functools.partial(np.multiply, 2)}, protocol=4))
    assert safeload.pickle_load(buf)["f"](3) == 6
