"""MLflow under the hook: scikit-learn (pickle and cloudpickle formats), pyfunc, PyTorch, pmdarima's loader,
and a ``runs:/`` URI on a local ``file:`` tracking store (MLflow copies the artefacts to a temporary folder)."""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import shutil

from _scenario import MODE, OUT, ROOT, Payload, benign, finish, malicious, marker, start


def data():
    import numpy as np

    x = np.random.RandomState(0).rand(30, 4)
    return x, (x[:, 0] + x[:, 1] > 1).astype(int)


def poison(folder: str, member: str, payload: Payload, *, torch_format: bool = False) -> None:
    target = os.path.join(folder, member)
    if torch_format:
        import torch

        torch.save({"model": payload}, target)
    else:
        with open(target, "wb") as f:
            pickle.dump(payload, f)


def build() -> None:
    import mlflow
    import mlflow.pytorch
    import mlflow.sklearn
    import torch
    from sklearn.linear_model import LogisticRegression

    x, y = data()
    model = LogisticRegression().fit(x, y)
    expected = {"sklearn": model.predict(x).tolist()}
    for fmt in ("pickle", "cloudpickle"):
        good = str(ROOT / f"sk_{fmt}")
        mlflow.sklearn.save_model(model, good, serialization_format=fmt)
        for kind, mark in (("evil", marker()), ("control", marker(f"CONTROL_sk_{fmt}"))):
            shutil.copytree(good, str(ROOT / f"{kind}_sk_{fmt}"))
            poison(str(ROOT / f"{kind}_sk_{fmt}"), "model.pkl", Payload(mark))
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
    mlflow.pytorch.save_model(net, str(ROOT / "pt"), serialization_format="pickle")
    expected["pytorch"] = net(torch.as_tensor(x, dtype=torch.float32)).detach().tolist()
    shutil.copytree(str(ROOT / "pt"), str(ROOT / "evil_pt"))
    poison(str(ROOT / "evil_pt"), "data/model.pth", Payload(marker()), torch_format=True)
    # a model logged to a local file: tracking store, then tampered with in the artefact store
    mlflow.set_tracking_uri("file:" + str(ROOT / "mlruns"))
    with mlflow.start_run() as run:
        mlflow.sklearn.log_model(model, name="good", serialization_format="pickle")
        info = mlflow.sklearn.log_model(model, name="evil", serialization_format="pickle")
    stored = list((ROOT / "mlruns").glob(f"*/models/{info.model_id}/artifacts/model.pkl"))
    stored += list((ROOT / "mlruns").glob(f"*/{run.info.run_id}/artifacts/evil/model.pkl"))  # MLflow 2 layout
    assert stored, "the logged model was not found in the file store"
    for path in stored:
        with open(path, "wb") as f:
            pickle.dump(Payload(marker()), f)
    expected["run_id"] = run.info.run_id
    with open(ROOT / "pmd.pkl", "wb") as f:
        pickle.dump({"order": (1, 0, 1)}, f)
    with open(ROOT / "evil_pmd.pkl", "wb") as f:
        pickle.dump(Payload(marker()), f)
    (ROOT / "expected.json").write_text(json.dumps(expected))


def load() -> None:
    start()
    import mlflow
    import mlflow.pmdarima
    import mlflow.pyfunc
    import mlflow.pytorch
    import mlflow.sklearn
    import numpy as np
    import torch

    expected = json.loads((ROOT / "expected.json").read_text())
    x, _ = data()
    for fmt in ("pickle", "cloudpickle"):
        good, evil = str(ROOT / f"sk_{fmt}"), str(ROOT / f"evil_sk_{fmt}")
        benign(f"sklearn-{fmt}", lambda g=good: mlflow.sklearn.load_model(g),
               lambda m: m.predict(x).tolist() == expected["sklearn"])
        malicious(f"sklearn-{fmt}", lambda e=evil: mlflow.sklearn.load_model(e))
        benign(f"pyfunc-{fmt}", lambda g=good: mlflow.pyfunc.load_model(g),
               lambda m: np.asarray(m.predict(x)).tolist() == expected["sklearn"])
        malicious(f"pyfunc-{fmt}", lambda e=evil: mlflow.pyfunc.load_model(e))
    tensor = torch.as_tensor(x, dtype=torch.float32)
    benign("pytorch", lambda: mlflow.pytorch.load_model(str(ROOT / "pt")),
           lambda m: np.allclose(m(tensor).detach().numpy(), expected["pytorch"]))
    malicious("pytorch", lambda: mlflow.pytorch.load_model(str(ROOT / "evil_pt")))
    malicious("pyfunc-pytorch", lambda: mlflow.pyfunc.load_model(str(ROOT / "evil_pt")))
    mlflow.set_tracking_uri("file:" + str(ROOT / "mlruns"))
    run_id = expected["run_id"]
    benign("runs-uri", lambda: mlflow.sklearn.load_model(f"runs:/{run_id}/good"),
           lambda m: m.predict(x).tolist() == expected["sklearn"])
    malicious("runs-uri", lambda: mlflow.sklearn.load_model(f"runs:/{run_id}/evil"))
    malicious("runs-uri-pyfunc", lambda: mlflow.pyfunc.load_model(f"runs:/{run_id}/evil"))
    benign("pmdarima", lambda: mlflow.pmdarima._load_model(str(ROOT / "pmd.pkl")),
           lambda m: m == {"order": (1, 0, 1)})
    malicious("pmdarima", lambda: mlflow.pmdarima._load_model(str(ROOT / "evil_pmd.pkl")))
    if MODE == "install":
        import safeload

        safeload.uninstall()
        for fmt in ("pickle", "cloudpickle"):
            with contextlib.suppress(Exception):  # the payload's return value is not an estimator
                mlflow.sklearn.load_model(str(ROOT / f"control_sk_{fmt}"))
        OUT["controls"] = sorted(p.name for p in ROOT.glob("CONTROL_*"))
        for p in ROOT.glob("CONTROL_*"):
            os.remove(p)


if __name__ == "__main__":
    build() if MODE == "build" else load()
    finish()
