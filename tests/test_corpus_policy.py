"""Files holding user code or user classes are a policy question, not a false positive: they stay refused by
default, and each has one line that lets it through once the user has reviewed the code (or none, when the
file carries code by value). Every case checks both: refused by default, and the trust line loads it and
returns what the real loader returns.

| case | refused as | the one line |
|---|---|---|
| a class defined in ``__main__`` (a notebook or script) | SL104 ``__main__.Net`` | ``trusted=["__main__.Net"]`` |
| a class from the user's own project (not installed) | SL104 ``myproj.models.Net`` | ``trusted=["myproj.models.Net"]`` (or ``"myproj.*"``) |
| scikit-learn ``FunctionTransformer`` of a project function | SL104 ``myproj.features.log_plus_one`` | ``trusted=["myproj.features.log_plus_one"]`` |
| a custom Keras layer ``Scale`` of ``mypkg.layers`` | SL402 ``mypkg.layers.Scale`` | ``trusted=["mypkg.layers.Scale"]`` |
| a TorchScript archive | SL201 ``torchscript`` (HIGH) | ``threshold="critical"`` |
| a lambda pickled by value with cloudpickle | SL106 (CRITICAL, never trustable) | none: pickle a function of an installed module by reference instead |
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import textwrap
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

import safeload
from safeload import Severity

ROOT = Path(__file__).resolve().parent.parent

PROJECT = {
    "__init__.py": "",
    "models.py": """
        import torch


        class Net(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.body = torch.nn.Linear(3, 2)

            def forward(self, x):
                return self.body(x)
    """,
    "features.py": """
        import numpy as np


        def log_plus_one(x):
            return np.log1p(np.abs(x))
    """,
}


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The user's own package ``myproj``, importable from the working directory (not installed)."""
    pkg = tmp_path / "proj" / "myproj"
    pkg.mkdir(parents=True)
    for name, text in PROJECT.items():
        (pkg / name).write_text(textwrap.dedent(text))
    monkeypatch.syspath_prepend(str(pkg.parent))
    yield pkg
    for name in [m for m in sys.modules if m == "myproj" or m.startswith("myproj.")]:
        del sys.modules[name]


def _refused_with(result: safeload.ScanResult, rule: str, subject: str) -> None:
    assert not result.is_safe()
    assert {(f.rule_id, f.subject) for f in result.blocking()} == {(rule, subject)}, result.summary(Severity.MEDIUM)


def _run(code: str, cwd: Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFELOAD_")}
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, check=False,
                          env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


MAIN_CLASS = textwrap.dedent("""
    import pickle
    class Net:
        def __init__(self, w):
            self.w = w
""")


def test_main_class_is_refused_and_trusted_by_name(tmp_path: Path) -> None:
    path = tmp_path / "notebook.pkl"
    _run(MAIN_CLASS + f"open({str(path)!r}, 'wb').write(pickle.dumps(Net([1, 2])))\n", tmp_path)
    _refused_with(safeload.scan(path), "SL104", "__main__.Net")
    with open(path, "rb") as f, pytest.raises(safeload.UnsafeModelError):
        safeload.pickle_load(f)
    out = _run(MAIN_CLASS + textwrap.dedent(f"""
        import safeload
        with open({str(path)!r}, "rb") as f:
            safe = safeload.pickle_load(f, trusted=["__main__.Net"])
        with open({str(path)!r}, "rb") as f:
            real = pickle.load(f)
        print(type(safe).__name__, safe.w, real.w)
    """), tmp_path)
    assert out.split() == ["Net", "[1,", "2]", "[1,", "2]"]


def test_project_class_is_refused_and_trusted_by_name(tmp_path: Path, project: Path) -> None:
    import torch
    from myproj.models import Net  # type: ignore[import-not-found]

    torch.manual_seed(0)
    path = tmp_path / "model.pt"
    torch.save(Net(), path)
    result = safeload.scan(path)
    _refused_with(result, "SL104", "myproj.models.Net")
    assert "myproj.models.Net" in result.untrusted()
    with pytest.raises(safeload.UnsafeModelError):
        safeload.torch_load(path, weights_only=False)
    for trusted in (["myproj.models.Net"], ["myproj.*"]):
        safe = safeload.torch_load(path, weights_only=False, trusted=trusted)
        real = torch.load(path, weights_only=False)
        assert type(safe) is type(real) is Net
        assert torch.equal(safe.body.weight, real.body.weight)


def test_function_transformer_of_project_function(tmp_path: Path, project: Path) -> None:
    import joblib
    import numpy as np
    from myproj.features import log_plus_one  # type: ignore[import-not-found]
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    x = np.random.RandomState(0).rand(10, 3)
    path = tmp_path / "pipe.joblib"
    joblib.dump(make_pipeline(FunctionTransformer(log_plus_one), StandardScaler()).fit(x), path)
    _refused_with(safeload.scan(path), "SL104", "myproj.features.log_plus_one")
    with pytest.raises(safeload.UnsafeModelError):
        safeload.joblib_load(path)
    safe = safeload.joblib_load(path, trusted=["myproj.features.log_plus_one"])
    assert np.array_equal(safe.transform(x), joblib.load(path).transform(x))


@pytest.mark.slow
def test_custom_keras_layer_is_refused_and_trusted_by_registered_name(tmp_path: Path) -> None:
    keras = pytest.importorskip("keras")
    import numpy as np

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")

        @keras.saving.register_keras_serializable(package="corpus_policy")
        class Scale(keras.layers.Layer):  # type: ignore[misc]
            def __init__(self, factor: float = 2.0, **kw: object) -> None:
                super().__init__(**kw)
                self.factor = factor

            def call(self, x: object) -> object:
                return x * self.factor  # type: ignore[operator]

            def get_config(self) -> dict[str, object]:
                return {**super().get_config(), "factor": self.factor}

        model = keras.Sequential([keras.Input((3,)), Scale(3.0), keras.layers.Dense(2)])
        path = tmp_path / "custom.keras"
        model.save(path)
        name = f"{Scale.__module__}.Scale"  # Keras records the defining module: mypkg.layers.Scale for a user
        _refused_with(safeload.scan(path), "SL402", name)
        with pytest.raises(safeload.UnsafeModelError):
            safeload.keras_load(path)
        safe = safeload.keras_load(path, trusted=[name])
        real = keras.saving.load_model(path)
    assert [type(layer).__name__ for layer in safe.layers] == ["Scale", "Dense"]
    probe = np.ones((1, 3), dtype="float32")
    assert np.array_equal(np.asarray(safe(probe)), np.asarray(real(probe)))


def test_torchscript_is_refused_and_passes_only_at_threshold_critical(tmp_path: Path) -> None:
    import torch

    torch.manual_seed(0)
    path = tmp_path / "scripted.pt"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit.script is deprecated, and still what these files come from
        torch.jit.script(torch.nn.Linear(3, 2)).save(str(path))
    result = safeload.scan(path)
    _refused_with(result, "SL201", "torchscript")
    assert not result.is_safe(Severity.HIGH)
    with pytest.raises(safeload.UnsafeModelError):
        safeload.torch_load(path, weights_only=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.load warns that it hands the archive to torch.jit.load
        safe = safeload.torch_load(path, weights_only=False, threshold="critical")
        real = torch.jit.load(str(path))
    probe = torch.ones(1, 3)
    assert torch.equal(safe(probe), real(probe))


def test_cloudpickle_lambda_is_never_trustable(tmp_path: Path) -> None:
    cloudpickle = pytest.importorskip("cloudpickle")
    path = tmp_path / "fn.pkl"
    path.write_bytes(cloudpickle.dumps(lambda x: x + 1))
    result = safeload.scan(path)
    blocking = result.blocking()
    assert blocking and {f.rule_id for f in blocking} == {"SL106"}
    assert all(f.severity == Severity.CRITICAL and not f.trustable for f in blocking)
    names = sorted({f.subject for f in blocking if f.subject})
    for kwargs in ({"trusted": names}, {"threshold": "critical"}):
        with open(path, "rb") as f, pytest.raises(safeload.UnsafeModelError):
            safeload.cloudpickle_load(f, **kwargs)
    with open(path, "rb") as f, pytest.raises(safeload.PolicyError, match="denies"):
        safeload.cloudpickle_load(f, trusted=["cloudpickle.*"])  # a package holding denied names is no pattern
    # the alternative the policy case documents: a function of an installed module pickles by reference
    import numpy as np

    by_reference = cloudpickle.dumps(np.log1p)
    assert safeload.scan(by_reference).is_safe()
    assert safeload.cloudpickle_loads(by_reference) is pickle.loads(by_reference)
