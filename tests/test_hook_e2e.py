"""The import hook end to end with the real frameworks, each scenario in its own interpreter.

A service-like script calls ``safeload.install()`` *before* importing torch/joblib/dill/numpy and then loads
through the libraries' normal APIs: malicious files raise ``UnsafeModelError`` and the payload never runs
(the marker file stays absent), safe files load with results identical to the unpatched loader, and
``uninstall()`` restores the exact original objects. Control loads after ``uninstall()`` prove each payload
is live. Payloads only touch marker files under tmp_path.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from safeload import hook

ROOT = Path(__file__).resolve().parents[1]

BUILD = """
import os, sys, pickle
from pathlib import Path
D = Path(sys.argv[1])

class Evil:
    def __init__(self, marker): self.marker = marker
    def __reduce__(self): return (os.system, ("touch " + self.marker,))

import torch, joblib, dill, numpy as np
for kind in ("evil", "control"):
    marker = str(D / ("PWNED" if kind == "evil" else "CONTROL_{}"))
    torch.save({"model": Evil(marker.format("torch"))}, D / f"{kind}.pt")
    joblib.dump({"est": Evil(marker.format("joblib"))}, D / f"{kind}.joblib")
    with open(D / f"{kind}.dill", "wb") as f:
        dill.dump([Evil(marker.format("dill"))], f)
    np.save(D / f"{kind}.npy", np.array([Evil(marker.format("numpy"))], dtype=object), allow_pickle=True)
torch.save({"w": torch.arange(12, dtype=torch.float32).reshape(3, 4), "step": 7}, D / "good.pt")
joblib.dump({"a": np.arange(10), "b": {"c": [1.5, "x"]}}, D / "good.joblib", compress=3)
with open(D / "good.dill", "wb") as f:
    dill.dump({"x": [1, 2, (3, 4)], "y": "text"}, f)
np.save(D / "good.npy", np.linspace(0, 1, 9).reshape(3, 3))
(D / "libearly.py").write_text("from torch import load as early_load\\n")
"""


@dataclass
class Files:
    root: Path

    def __truediv__(self, name: str) -> Path:
        return self.root / name

    @property
    def marker(self) -> Path:
        return self.root / "PWNED"


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFELOAD_")}
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra)
    return env


def run(code: str, files: Files, **env: str) -> dict[str, Any]:
    full = f"import json, os, sys\nfrom pathlib import Path\nD = Path({str(files.root)!r})\nout = {{}}\n"
    full += textwrap.dedent(code) + "\nprint('RESULT ' + json.dumps(out, default=str))\n"
    proc = subprocess.run([sys.executable, "-c", full], capture_output=True, text=True, timeout=300,
                          env=_env(**env), cwd=files.root, check=False)
    assert proc.returncode == 0, proc.stderr[-4000:]
    line = next(x for x in proc.stdout.splitlines() if x.startswith("RESULT "))
    result: dict[str, Any] = json.loads(line[len("RESULT "):])
    return result


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Files]:
    pytest.importorskip("torch")
    pytest.importorskip("joblib")
    pytest.importorskip("dill")
    root = tmp_path_factory.mktemp("hook_e2e")
    proc = subprocess.run([sys.executable, "-c", BUILD, str(root)], capture_output=True, text=True,
                          timeout=300, env=_env(), check=False)
    assert proc.returncode == 0, proc.stderr[-4000:]
    f = Files(root)
    yield f
    assert not f.marker.exists(), "a malicious payload ran: the marker file exists"


@pytest.mark.torch
def test_service_installs_before_importing_frameworks(files: Files) -> None:
    r = run("""
        import safeload
        safeload.install()
        import torch, joblib, dill, numpy as np
        from safeload.loaders._common import ORIGINALS
        from safeload.hook import status
        out["aliases"] = {
            "torch": torch.load is torch.serialization.load and torch.load._safeload_wrapper,
            "joblib": joblib.load is joblib.numpy_pickle.load and joblib.load._safeload_wrapper,
            "numpy": getattr(np.load, "_safeload_wrapper", False),
            "dill": getattr(dill.load, "_safeload_wrapper", False),
        }
        out["status"] = status().to_dict()
        calls = {
            "torch": lambda: torch.load(D / "evil.pt", weights_only=False),
            "torch.serialization": lambda: torch.serialization.load(str(D / "evil.pt"), weights_only=False),
            "joblib": lambda: joblib.load(D / "evil.joblib"),
            "joblib.numpy_pickle": lambda: joblib.numpy_pickle.load(str(D / "evil.joblib")),
            "dill": lambda: dill.load(open(D / "evil.dill", "rb")),
            "numpy": lambda: np.load(D / "evil.npy", allow_pickle=True),
        }
        refused = {}
        for name, call in calls.items():
            try:
                call()
                refused[name] = False
            except safeload.UnsafeModelError as e:
                refused[name] = type(e).__name__
        out["refused"] = refused
        out["marker_after_refusals"] = (D / "PWNED").exists()

        saved = {name: ORIGINALS[(name, "load")] for name in ("torch", "joblib", "dill", "numpy")}
        a, b = torch.load(D / "good.pt"), saved["torch"](D / "good.pt")
        same = {"torch": a.keys() == b.keys() and torch.equal(a["w"], b["w"]) and a["step"] == b["step"]}
        a, b = joblib.load(D / "good.joblib"), saved["joblib"](D / "good.joblib")
        same["joblib"] = np.array_equal(a["a"], b["a"]) and a["b"] == b["b"]
        with open(D / "good.dill", "rb") as f1, open(D / "good.dill", "rb") as f2:
            same["dill"] = dill.load(f1) == saved["dill"](f2)
        same["numpy"] = np.array_equal(np.load(D / "good.npy"), saved["numpy"](D / "good.npy"))
        out["same"] = same

        safeload.uninstall()
        out["restored"] = {
            "torch": torch.load is saved["torch"] and torch.serialization.load is saved["torch"],
            "joblib": joblib.load is saved["joblib"] and joblib.numpy_pickle.load is saved["joblib"],
            "dill": dill.load is saved["dill"],
            "numpy": np.load is saved["numpy"],
        }
        out["originals_left"] = sorted(str(k) for k in ORIGINALS)
        # control: with the hook gone, the same kind of file runs its payload (so the refusals above mattered)
        torch.load(D / "control.pt", weights_only=False)
        joblib.load(D / "control.joblib")
        dill.load(open(D / "control.dill", "rb"))
        np.load(D / "control.npy", allow_pickle=True)
        out["controls"] = sorted(p.name for p in D.glob("CONTROL_*"))
    """, files)
    assert r["aliases"] == {"torch": True, "joblib": True, "numpy": True, "dill": True}
    assert r["refused"] == {"torch": "UnsafePickleError", "torch.serialization": "UnsafePickleError",
                            "joblib": "UnsafePickleError", "joblib.numpy_pickle": "UnsafePickleError",
                            "dill": "UnsafePickleError", "numpy": "UnsafePickleError"}
    assert r["marker_after_refusals"] is False
    assert r["same"] == {"torch": True, "joblib": True, "dill": True, "numpy": True}
    assert r["restored"] == {"torch": True, "joblib": True, "dill": True, "numpy": True}
    assert r["originals_left"] == []
    assert r["controls"] == ["CONTROL_dill", "CONTROL_joblib", "CONTROL_numpy", "CONTROL_torch"]
    status = r["status"]
    assert isinstance(status, dict)
    assert {"torch.load", "torch.serialization.load", "joblib.load", "joblib.numpy_pickle.load", "numpy.load",
            "dill.load", "dill.loads"} <= set(status["patched"])
    assert status["errors"] == []
    for p in files.root.glob("CONTROL_*"):
        p.unlink()


@pytest.mark.torch
def test_from_import_before_install_is_not_coverable_and_is_reported(files: Files) -> None:
    r = run("""
        sys.path.insert(0, str(D))
        import libearly               # from torch import load as early_load, before install()
        import torch
        original = torch.load
        import safeload
        safeload.install()
        out["torch_load_patched"] = torch.load is not original
        out["early_is_original"] = libearly.early_load is original
        out["unguarded"] = list(safeload.hook.status().unguarded)
    """, files)
    assert r["torch_load_patched"] is True
    assert r["early_is_original"] is True  # documented: attribute patching cannot reach this reference
    assert "libearly.early_load -> torch.load" in r["unguarded"]


CHILD = """
import json, sys
from pathlib import Path
D = Path(sys.argv[1])
sys.path.insert(0, str(D))
import libearly                      # from torch import load, with safeload.auto already run at start-up
import safeload
out = {"installed": safeload.is_installed(),
       "early_guarded": getattr(libearly.early_load, "_safeload_wrapper", False)}
try:
    libearly.early_load(D / "evil.pt", weights_only=False)
except safeload.UnsafeModelError as e:
    out["refused"] = type(e).__name__
(D / "child.json").write_text(json.dumps(out))
sys.exit(3)
"""


@pytest.mark.torch
def test_safeload_run_covers_early_from_imports(files: Files) -> None:
    """``python -m safeload run -- python script.py``: the bootstrap installs the hook before any import."""
    script = files / "child.py"
    script.write_text(CHILD)
    proc = subprocess.run([sys.executable, "-m", "safeload", "run", "--", sys.executable, str(script),
                           str(files.root)], capture_output=True, text=True, timeout=300, env=_env(),
                          cwd=ROOT, check=False)
    assert proc.returncode == 3, proc.stderr[-3000:]  # the command's own exit code
    out = json.loads((files / "child.json").read_text())
    assert out == {"installed": True, "early_guarded": True, "refused": "UnsafePickleError"}
    assert not files.marker.exists()


@pytest.mark.tensorflow
@pytest.mark.slow
def test_keras_and_tensorflow_aliases(tmp_path: Path, files: Files) -> None:
    pytest.importorskip("keras")
    r = run("""
        import safeload
        safeload.install()
        import keras, numpy as np
        import tensorflow as tf
        inputs = keras.Input((3,))
        model = keras.Model(inputs, keras.layers.Dense(2, name="dense")(inputs))
        model.save(D / "good.keras")
        lam = keras.Sequential([keras.Input((3,)), keras.layers.Lambda(lambda x: x * 2)])
        lam.save(D / "lambda.keras")
        from safeload.loaders._common import ORIGINALS
        real = ORIGINALS[("keras.saving", "load_model")]
        out["aliases"] = [getattr(f, "_safeload_wrapper", False) for f in (
            keras.saving.load_model, keras.models.load_model, tf.keras.models.load_model,
            tf.saved_model.load)]
        loaded = keras.models.load_model(D / "good.keras")
        reference = real(D / "good.keras")
        x = np.ones((1, 3), dtype="float32")
        out["same"] = bool(np.allclose(loaded(x), reference(x)))
        refused = []
        for fn in (keras.saving.load_model, keras.models.load_model, tf.keras.models.load_model):
            try:
                fn(D / "lambda.keras", safe_mode=False)
                refused.append(False)
            except safeload.UnsafeModelError as e:
                refused.append(type(e).__name__)
        out["refused"] = refused
        (D / "not_a_model").mkdir(exist_ok=True)
        (D / "not_a_model" / "saved_model.pb").write_bytes(bytes([255]) * 64)  # unparseable: fail closed
        try:
            tf.saved_model.load(str(D / "not_a_model"))
        except safeload.UnsafeModelError as e:
            out["saved_model"] = type(e).__name__
        st = safeload.hook.status()
        out["errors"] = [e.message for e in st.errors]
        safeload.uninstall()
        out["restored"] = keras.saving.load_model is real and keras.models.load_model is real
    """, files)
    assert r["aliases"] == [True, True, True, True]
    assert r["same"] is True
    assert r["refused"] == ["UnsafeKerasModelError"] * 3
    assert r["saved_model"] == "UnsafeKerasModelError"
    assert r["errors"] == []
    assert r["restored"] is True


# ----- the launcher and the bootstrap, without heavy frameworks -----------------------------------------


def test_run_command_exit_codes_and_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PYTHONPATH", raising=False)  # the bootstrap must find safeload by itself
    script = tmp_path / "s.py"
    script.write_text(textwrap.dedent("""
        import json, os, sys, safeload
        out = {"installed": safeload.is_installed(), "hook_env": os.environ.get("SAFELOAD_HOOK"),
               "bootstrap_first": os.environ["PYTHONPATH"].split(os.pathsep)[0].endswith("_bootstrap")}
        open(sys.argv[1], "w").write(json.dumps(out))
        sys.exit(int(sys.argv[2]))
    """))
    result = tmp_path / "out.json"
    assert hook.run_command([sys.executable, str(script), str(result), "5"]) == 5
    assert json.loads(result.read_text()) == {"installed": True, "hook_env": "1", "bootstrap_first": True}
    assert hook.run_command(["--", sys.executable, str(script), str(result), "0"]) == 0
    assert hook.run_command([str(tmp_path / "no-such-program")]) == 127
    assert hook.run_command([]) == 2
    assert hook.run_command([sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGTERM)"]) \
        == 128 + 15


def test_bootstrap_chains_to_an_existing_sitecustomize(tmp_path: Path) -> None:
    user = tmp_path / "usersite"
    user.mkdir()
    (user / "sitecustomize.py").write_text("import os\nos.environ['USER_SITECUSTOMIZE_RAN'] = 'yes'\n")
    env = hook.bootstrap_env(_env(PYTHONPATH=os.pathsep.join([str(user), str(ROOT)])))
    code = "import os, sys, safeload; print(safeload.is_installed(), os.environ.get('USER_SITECUSTOMIZE_RAN'))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["True", "yes"]


def test_bootstrap_survives_a_broken_sitecustomize_and_a_disabled_hook(tmp_path: Path) -> None:
    user = tmp_path / "usersite"
    user.mkdir()
    (user / "sitecustomize.py").write_text("raise RuntimeError('broken user sitecustomize')\n")
    env = hook.bootstrap_env(_env(PYTHONPATH=os.pathsep.join([str(user), str(ROOT)])))
    env["SAFELOAD_HOOK"] = "0"
    proc = subprocess.run([sys.executable, "-c", "import safeload; print(safeload.is_installed())"],
                          capture_output=True, text=True, env=env, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"
    assert "broken user sitecustomize" in proc.stderr


@pytest.mark.parametrize(("env", "pyproject", "expected"), [
    ({}, None, True),
    ({"SAFELOAD_HOOK": "1"}, None, True),
    ({"SAFELOAD_HOOK": "off"}, None, False),
    ({"SAFELOAD_HOOK": "banana"}, None, True),  # invalid: fail closed, install
    ({}, "[tool.safeload]\nhook = false\n", False),
    ({"SAFELOAD_HOOK": "yes"}, "[tool.safeload]\nhook = false\n", True),  # env wins over the file
])
def test_safeload_auto_configuration(tmp_path: Path, env: dict[str, str], pyproject: str | None,
                                     expected: bool) -> None:
    if pyproject is not None:
        (tmp_path / "pyproject.toml").write_text(pyproject)
    proc = subprocess.run([sys.executable, "-c", "import safeload.auto, safeload; print(safeload.is_installed())"],
                          capture_output=True, text=True, env=_env(**env), cwd=tmp_path, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(expected)
    assert ("invalid configuration" in proc.stderr) == (env.get("SAFELOAD_HOOK") == "banana")


def test_safeload_auto_logging_and_targets(tmp_path: Path) -> None:
    code = textwrap.dedent("""
        import safeload.auto, pickle, io, safeload
        print("PATCHED", getattr(pickle.loads, "_safeload_wrapper", False))
        try:
            pickle.loads(b"\\x80\\x04\\x8c\\x05posix\\x8c\\x06system\\x93\\x8c\\x04true\\x85R.")
        except safeload.UnsafeModelError:
            print("REFUSED")
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                          env=_env(SAFELOAD_LOG_LEVEL="info", SAFELOAD_HOOK_TARGETS="default,pickle"),
                          timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["PATCHED", "True", "REFUSED"]
    assert "INFO safeload.hook safeload hook installed" in proc.stderr
    refused = next(line for line in proc.stderr.splitlines() if "refused" in line and "WARNING" in line)
    fields = json.loads(refused[refused.index("{"):])
    assert fields["safeload_hook"] == "pickle.loads"
    assert fields["safeload_verdict"] == "refused" and fields["safeload_blocking"]


def test_safeload_auto_without_log_level_adds_no_handler(tmp_path: Path) -> None:
    code = "import logging, safeload.auto; print(len(logging.getLogger('safeload').handlers))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                          env=_env(), timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "1"  # the library's NullHandler only
    assert proc.stderr == ""
