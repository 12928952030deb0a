"""Keras controls (covered in depth by tests/test_keras_*.py): one compiled Keras 3 model and tf-keras (Keras 2)
models in ``.h5`` and SavedModel form, each trained one step so that the optimizer state is saved."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.corpus.cases import KERAS, LOADERS, Artifact, group


def weights_equal(real: Any, safe: Any) -> None:
    import numpy as np

    a, b = real.get_weights(), safe.get_weights()
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert np.array_equal(x, y)


@contextmanager
def legacy_keras() -> Iterator[None]:
    """``TF_USE_LEGACY_KERAS=1``: how tf-keras users select Keras 2 (safeload's loader follows it)."""
    old = os.environ.get("TF_USE_LEGACY_KERAS")
    os.environ["TF_USE_LEGACY_KERAS"] = "1"
    try:
        yield
    finally:
        if old is None:
            del os.environ["TF_USE_LEGACY_KERAS"]
        else:
            os.environ["TF_USE_LEGACY_KERAS"] = old


def _tf_keras_real(path: Path, **kw: Any) -> Any:
    import tf_keras

    return tf_keras.models.load_model(path, **kw)


def _tf_keras_safe(path: Path, **kw: Any) -> Any:
    import safeload

    with legacy_keras():
        return safeload.keras_load(path, **kw)


LOADERS["tf-keras"] = (_tf_keras_real, _tf_keras_safe)


@group("keras3", family=KERAS, library="keras", labels=("model.keras",), requires=("keras",), slow=True)
def build_keras3(directory: Path) -> dict[str, Artifact]:
    import keras
    import numpy as np

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dropout(0.1), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(np.random.rand(8, 4), np.array([0, 1] * 4), epochs=1, verbose=0)
    path = directory / "model.keras"
    model.save(path)
    return {"model.keras": Artifact(path, "keras", check=weights_equal)}


@group("tf-keras", family=KERAS, library="tf_keras", labels=("model.h5", "saved_model"), requires=("tf_keras",),
       slow=True)
def build_tf_keras(directory: Path) -> dict[str, Artifact]:
    import numpy as np
    import tf_keras

    tf_keras.utils.set_random_seed(0)
    model = tf_keras.Sequential([tf_keras.layers.Dense(8, activation="relu", input_shape=(4,)),
                                 tf_keras.layers.BatchNormalization(), tf_keras.layers.Dense(1)])
    model.compile(optimizer=tf_keras.optimizers.Adam(1e-3), loss="mse")
    model.fit(np.random.rand(8, 4), np.random.rand(8, 1), epochs=1, verbose=0)
    h5 = directory / "model.h5"
    model.save(h5)
    saved = directory / "saved_model"
    model.save(saved)
    return {"model.h5": Artifact(h5, "tf-keras", check=weights_equal),
            "saved_model": Artifact(saved, "tf-keras", check=weights_equal)}
