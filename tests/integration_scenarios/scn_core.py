"""The core loaders through their libraries' own names, and skops (left alone: its own allowlist).

``numpy.load`` (object arrays), ``joblib.load`` (compressed too), ``torch.load``; ``skops.io.load`` is not
patched, and keeps working with the hook on (its arrays go through the patched ``numpy.load``)."""

from __future__ import annotations

import os

from _scenario import MODE, OUT, ROOT, Payload, benign, finish, malicious, marker, start


def build() -> None:
    import joblib
    import numpy as np
    import skops.io
    import torch
    from sklearn.linear_model import LogisticRegression

    np.save(ROOT / "good.npy", np.arange(12.0).reshape(3, 4))
    np.save(ROOT / "evil.npy", np.array([Payload(marker())], dtype=object), allow_pickle=True)
    joblib.dump({"w": np.arange(5)}, ROOT / "good.joblib", compress=3)
    joblib.dump({"w": Payload(marker())}, ROOT / "evil.joblib", compress=3)
    torch.save({"w": torch.ones(3)}, ROOT / "good.pt")
    torch.save({"w": Payload(marker())}, ROOT / "evil.pt")
    x = np.random.RandomState(0).rand(20, 3)
    model = LogisticRegression().fit(x, (x[:, 0] > 0.5).astype(int))
    skops.io.dump(model, ROOT / "good.skops")
    skops.io.dump({"f": os.getcwd}, ROOT / "untrusted.skops")  # a function skops does not trust by default
    np.save(ROOT / "probe.npy", x)


def load() -> None:
    start()
    import joblib
    import numpy as np
    import skops.io
    import torch

    benign("numpy.load", lambda: np.load(ROOT / "good.npy"), lambda a: a.tolist() == np.arange(12.0).reshape(3, 4).tolist())
    malicious("numpy.load", lambda: np.load(ROOT / "evil.npy", allow_pickle=True))
    benign("joblib.load", lambda: joblib.load(ROOT / "good.joblib"), lambda d: d["w"].tolist() == [0, 1, 2, 3, 4])
    malicious("joblib.load", lambda: joblib.load(ROOT / "evil.joblib"))
    benign("torch.load", lambda: torch.load(ROOT / "good.pt"), lambda d: d["w"].tolist() == [1.0, 1.0, 1.0])
    malicious("torch.load", lambda: torch.load(ROOT / "evil.pt", weights_only=False))
    probe = np.load(ROOT / "probe.npy")
    benign("skops.io.load", lambda: skops.io.load(ROOT / "good.skops", trusted=skops.io.get_untrusted_types(
        file=ROOT / "good.skops")), lambda m: m.predict(probe).shape == (20,))
    try:  # skops refuses by itself (not safeload): the hook does not change that
        skops.io.load(ROOT / "untrusted.skops")
        OUT["skops-untrusted"] = "loaded"
    except Exception as exc:  # noqa: BLE001
        OUT["skops-untrusted"] = type(exc).__name__
    OUT["skops-patched"] = hasattr(skops.io.load, "_safeload_wrapper")


if __name__ == "__main__":
    build() if MODE == "build" else load()
    finish()
