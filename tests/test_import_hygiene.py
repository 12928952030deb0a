"""``import safeload`` and ``import safeload.auto`` import no ML framework (numpy included), each checked in a
fresh interpreter, as ddtrace checks ``import ddtrace.auto``. Installing the hook imports none either: it
patches frameworks only when the application imports them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "tensorflow", "keras", "tf_keras", "jax", "h5py", "joblib", "numpy", "sklearn", "scipy",
         "dill", "cloudpickle", "IPython", "huggingface_hub", "rich")


def imported_after(code: str) -> list[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFELOAD_")}
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=60,
                          cwd=ROOT, check=False)
    assert proc.returncode == 0, proc.stderr
    modules: list[str] = json.loads(proc.stdout.splitlines()[-1])
    return sorted({m.split(".")[0] for m in modules} & set(HEAVY))


@pytest.mark.parametrize("code", [
    "import safeload",
    "import safeload.auto",
    "import safeload.hook",
    "import safeload.notebook",
    "import safeload; safeload.install(); safeload.hook.status(); safeload.uninstall()",
    "import safeload; safeload.install(targets=['default', 'pickle'])",
])
def test_no_framework_is_imported(code: str) -> None:
    assert imported_after(code) == []


def test_safeload_auto_installs_without_importing_frameworks() -> None:
    probe = ("import safeload.auto, safeload, sys; "
             "print(safeload.is_installed(), 'torch' in sys.modules, 'numpy' in sys.modules)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFELOAD_")}
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=60,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["True", "False", "False"]


def test_public_api_is_one_spelling_per_loader_and_no_plumbing() -> None:
    import safeload

    assert "status" in safeload.__all__
    for internal in ("load_config", "resolve_policy", "show_config", "safe_numpy_load"):
        assert internal not in safeload.__all__
    for compat in ("safe_torch_load", "safe_joblib_load", "safe_keras_load"):
        assert compat not in safeload.__all__  # listed once, under the canonical spelling
        assert getattr(safeload, compat) is getattr(safeload, compat.removeprefix("safe_"))
    assert not hasattr(safeload, "safe_numpy_load")
