"""The committed Keras name list (``safeload/catalog/keras_names.txt``) matches the installed Keras.

Regenerate after a Keras upgrade: ``.venv/bin/python tests/test_keras_catalog.py --write``.
"""

from __future__ import annotations

import importlib
import inspect
import os
import pkgutil
import sys
from pathlib import Path

import pytest

NAMES_FILE = Path(__file__).resolve().parent.parent / "safeload" / "catalog" / "keras_names.txt"
_SKIP = (".backend.jax", ".backend.torch", ".backend.openvino", ".backend.numpy", ".backend.mlx", "_test",
         ".testing", ".export.onnx", ".export.openvino")


def keras_serializable_names() -> tuple[str, set[str]]:
    """Keras' public API names, and the ``module.Class`` path of every KerasSaveable class in keras.src."""
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import keras
    from keras.src import api_export
    from keras.src.saving.keras_saveable import KerasSaveable

    names: set[str] = set()
    for name, obj in api_export.REGISTERED_NAMES_TO_OBJS.items():
        names.add(name)
        if inspect.isclass(obj) and issubclass(obj, KerasSaveable):
            names.add(f"{obj.__module__}.{obj.__qualname__}")
    for mod in pkgutil.walk_packages(keras.src.__path__, "keras.src."):
        if not any(part in mod.name for part in _SKIP):
            try:
                importlib.import_module(mod.name)
            except Exception:  # noqa: BLE001, S112 - optional backends and extras may be missing
                continue
    todo: list[type] = [KerasSaveable]
    seen: set[type] = set()
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub in seen:
                continue
            seen.add(sub)
            todo.append(sub)
            if sub.__module__.startswith("keras.") and "test" not in sub.__module__:
                names.add(f"{sub.__module__}.{sub.__qualname__}")
    return keras.__version__, names


def write() -> None:
    version, names = keras_serializable_names()
    lines = [f"# Keras' public API names and KerasSaveable class paths, generated from keras {version}.",
             "# Regenerate: .venv/bin/python tests/test_keras_catalog.py --write", *sorted(names)]
    NAMES_FILE.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_names_file_shape() -> None:
    from safeload.catalog.keras import KERAS_DANGEROUS, keras_builtin_function, keras_class_names, keras_names

    lines = [line for line in NAMES_FILE.read_text("utf-8").splitlines() if not line.startswith("#")]
    assert lines == sorted(set(lines))
    names = keras_names()
    assert {"keras.layers.Dense", "keras.src.models.functional.Functional", "keras.initializers.HeNormal"} <= names
    assert {"Dense", "Functional", "GlorotUniform", "TFOpLambda"} <= keras_class_names()
    assert keras_builtin_function("relu")
    assert keras_builtin_function("mean_squared_error")
    assert not keras_builtin_function("exec")
    # Dangerous public APIs are caught before the allowlist is consulted.
    assert "keras.utils.get_file" in KERAS_DANGEROUS
    assert "keras.config.enable_unsafe_deserialization" in KERAS_DANGEROUS


@pytest.mark.tensorflow
@pytest.mark.slow
def test_names_match_installed_keras() -> None:
    pytest.importorskip("keras")
    from safeload.catalog.keras import KERAS_DANGEROUS, keras_names

    _version, names = keras_serializable_names()
    ours = keras_names()
    assert names == ours, (sorted(names - ours)[:20], sorted(ours - names)[:20])
    from keras.src.saving.serialization_lib import NON_MODELING_APIS

    assert set(NON_MODELING_APIS) <= set(KERAS_DANGEROUS)


if __name__ == "__main__":
    if "--write" in sys.argv:
        write()


@pytest.mark.tensorflow
@pytest.mark.slow
def test_tf_keras_registered_names_match_installed() -> None:
    """TF_KERAS_REGISTERED is exactly what tf_keras registers itself under register_keras_serializable()."""
    pytest.importorskip("tf_keras")
    import tf_keras.src.layers
    import tf_keras.src.optimizers  # noqa: F401 - registration happens at import
    from tf_keras.src.saving import object_registration

    from safeload.catalog.keras import TF_KERAS_REGISTERED

    own = {name for name, obj in object_registration._GLOBAL_CUSTOM_OBJECTS.items()
           if getattr(obj, "__module__", "").startswith("tf_keras.")}
    assert own == TF_KERAS_REGISTERED
