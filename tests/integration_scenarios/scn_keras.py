"""Keras and TensorFlow under the hook: ``keras.saving.load_model`` (.keras and .h5), ``tf.keras.models.load_model``
and ``tf.saved_model.load``. The malicious models carry a Lambda layer (Python bytecode) or a file-writing op."""

from __future__ import annotations

import json

from _scenario import MODE, OUT, ROOT, benign, finish, malicious, marker, start


def build() -> None:
    import keras
    import numpy as np
    import tensorflow as tf

    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(2, name="dense")(inputs))
    model.save(ROOT / "good.keras")
    model.save(ROOT / "good.h5")
    path = marker()
    # the payload runs when the model is called on real data (not while Keras traces it symbolically)
    evil = keras.Sequential([keras.Input((3,)), keras.layers.Lambda(
        lambda x: (open(path, "w").close() if type(x).__name__ == "EagerTensor" else None, x)[1])])
    evil.save(ROOT / "evil.keras")
    evil.save(ROOT / "evil.h5")
    control_path = marker("CONTROL_keras")
    keras.Sequential([keras.Input((3,)), keras.layers.Lambda(
        lambda x: (open(control_path, "w").close() if type(x).__name__ == "EagerTensor" else None, x)[1])]).save(
        ROOT / "control.keras")

    class Writer(tf.Module):
        @tf.function(input_signature=[])
        def __call__(self):
            tf.io.write_file(path, "pwned")
            return tf.constant(1)

    tf.saved_model.save(Writer(), str(ROOT / "evil_savedmodel"))

    class Adder(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None], tf.float32)])
        def __call__(self, x):
            return x + 1.0

    tf.saved_model.save(Adder(), str(ROOT / "good_savedmodel"))
    x = np.ones((1, 3), dtype="float32")
    (ROOT / "expected.json").write_text(json.dumps({"out": np.asarray(model(x)).tolist()}))


def load() -> None:
    start()
    import keras
    import numpy as np
    import tensorflow as tf

    expected = json.loads((ROOT / "expected.json").read_text())
    x = np.ones((1, 3), dtype="float32")

    def same(m) -> bool:
        return bool(np.allclose(np.asarray(m(x)), expected["out"], atol=1e-6))

    benign("keras.keras", lambda: keras.saving.load_model(ROOT / "good.keras"), same)
    malicious("keras.keras", lambda: keras.saving.load_model(ROOT / "evil.keras", safe_mode=False))
    benign("keras.h5", lambda: keras.models.load_model(ROOT / "good.h5"), same)
    malicious("keras.h5", lambda: keras.models.load_model(ROOT / "evil.h5", safe_mode=False))
    benign("tf.keras", lambda: tf.keras.models.load_model(ROOT / "good.keras"), same)
    malicious("tf.keras", lambda: tf.keras.models.load_model(ROOT / "evil.keras", safe_mode=False))
    benign("tf.saved_model", lambda: tf.saved_model.load(str(ROOT / "good_savedmodel")),
           lambda m: float(m(tf.constant([1.0]))[0]) == 2.0)
    malicious("tf.saved_model", lambda: tf.saved_model.load(str(ROOT / "evil_savedmodel")))
    if MODE == "install":
        import safeload

        safeload.uninstall()
        keras.config.enable_unsafe_deserialization()
        keras.saving.load_model(ROOT / "control.keras")(x)  # without the hook the Lambda's code runs
        OUT["controls"] = sorted(p.name for p in ROOT.glob("CONTROL_*"))
        for p in ROOT.glob("CONTROL_*"):
            p.unlink()


if __name__ == "__main__":
    build() if MODE == "build" else load()
    finish()
