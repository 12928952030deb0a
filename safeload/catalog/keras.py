"""Keras catalogue: Keras' own serializable names and dangerous Keras APIs (TF ops: :mod:`.tf_ops_review`).

Invariant: data plus pure lookups. Nothing here imports Keras or TensorFlow; the two generated name lists
(``keras_names.txt``, ``tf_ops.txt``) are plain text files committed next to this module and checked
against the installed frameworks by ``tests/test_keras_catalog.py`` and ``tests/test_savedmodel_opset.py``.
"""

from __future__ import annotations

import functools
from importlib import resources

from safeload.severity import Severity

__all__ = [
    "KERAS_DANGEROUS",
    "KERAS_FILE_LOADERS",
    "KERAS_PACKAGES",
    "LEGACY_KERAS_CLASSES",
    "TF_FUNCTION_DENY",
    "TF_KERAS_DATA_CLASSES",
    "TF_KERAS_REGISTERED",
    "keras_builtin_function",
    "keras_class_names",
    "keras_names",
    "tf_ops",
]


def _read_list(filename: str) -> frozenset[str]:
    text = resources.files("safeload.catalog").joinpath(filename).read_text("utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def tf_ops() -> frozenset[str]:
    """Every op registered by the pinned TensorFlow build (``tf_ops.txt``; see :mod:`.tf_ops_review`)."""
    from safeload.catalog.tf_ops_review import opset

    return frozenset(opset())


@functools.cache
def keras_names() -> frozenset[str]:
    """Keras' public API names (``keras.layers.Dense``) and the module paths of its serializable classes."""
    return _read_list("keras_names.txt")


@functools.cache
def keras_class_names() -> frozenset[str]:
    """Bare class names Keras resolves without a module (legacy configs): ``Dense``, ``GlorotUniform``..."""
    bare = {name.rsplit(".", 1)[-1] for name in keras_names()}
    return frozenset(n for n in bare if n[:1].isupper()) | LEGACY_KERAS_CLASSES


# Packages whose classes Keras itself resolves by module (and, since Keras 3.9, checks are KerasSaveable).
KERAS_PACKAGES: frozenset[str] = frozenset({"keras", "keras_hub", "keras_cv", "keras_nlp", "tf_keras"})

# Modules Keras searches for a function saved as {"module": "builtins", "class_name": "function"}.
_BUILTIN_MODULES = ("activations", "constraints", "initializers", "losses", "metrics", "optimizers",
                    "regularizers")


def keras_builtin_function(name: str) -> bool:
    """True if ``name`` is a Keras built-in function (``relu``, ``mse``...) found in Keras' own modules."""
    names = keras_names()
    return any(f"keras.{mod}.{name}" in names for mod in _BUILTIN_MODULES)


# tf.keras / Keras 2 class names that Keras 3 no longer exports but legacy .h5 configs contain.
LEGACY_KERAS_CLASSES: frozenset[str] = frozenset({
    "Functional", "Sequential", "Model", "InputLayer", "TFOpLambda", "SlicingOpLambda", "TensorFlowOpLayer",
    "ThresholdedReLU", "LocallyConnected1D", "LocallyConnected2D", "DenseFeatures", "CuDNNLSTM", "CuDNNGRU",
    "RandomFourierFeatures", "LinearModel", "WideDeepModel", "AdamW", "Nadam", "Ftrl", "Adafactor",
})

# Keras APIs that are not modeling objects (Keras 3.15's NON_MODELING_APIS and older equivalents).
# Value: (rule, severity, reason).
KERAS_DANGEROUS: dict[str, tuple[str, Severity, str]] = {}
for _name in ("keras.config.enable_unsafe_deserialization",
              "keras.src.saving.serialization_lib.enable_unsafe_deserialization",
              "tf_keras.config.enable_unsafe_deserialization"):
    KERAS_DANGEROUS[_name] = ("SL404", Severity.CRITICAL, "turns off Keras safe mode (CVE-2025-9906)")
for _name in ("keras.utils.get_file", "keras.src.utils.file_utils.get_file", "keras.src.utils.get_file",
              "tf_keras.utils.get_file", "tensorflow.keras.utils.get_file"):
    KERAS_DANGEROUS[_name] = ("SL405", Severity.HIGH, "downloads or writes files (CVE-2025-8747)")
for _name in ("keras.models.load_model", "keras.saving.load_model", "keras.models.model_from_json",
              "keras.saving.deserialize_keras_object", "keras.utils.deserialize_keras_object",
              "keras.saving.load_weights", "keras.saving.register_keras_serializable",
              "keras.utils.register_keras_serializable", "keras.saving.serialize_keras_object",
              "keras.utils.serialize_keras_object", "keras.src.saving.saving_lib.load_model",
              "keras.src.saving.saving_api.load_model",
              "keras.src.legacy.saving.legacy_h5_format.load_model_from_hdf5"):
    KERAS_DANGEROUS[_name] = ("SL403", Severity.HIGH, "a nested Keras loader or registry call")
for _name in ("keras.models.save_model", "keras.saving.save_model", "keras.saving.save_weights",
              "keras.preprocessing.image.load_img", "keras.preprocessing.image.save_img",
              "keras.utils.load_img", "keras.utils.save_img",
              "keras.utils.image_dataset_from_directory",
              "keras.utils.text_dataset_from_directory", "keras.utils.audio_dataset_from_directory",
              "keras.preprocessing.image_dataset_from_directory",
              "keras.preprocessing.text_dataset_from_directory",
              "keras.backend.clear_session", "keras.utils.clear_session"):
    KERAS_DANGEROUS[_name] = ("SL403", Severity.HIGH, "a non-modeling Keras API with file or process effects")

# TFOpLambda / SlicingOpLambda "function" values (a tf.* API path) that must not be rebuilt.
TF_FUNCTION_DENY: dict[str, Severity] = {
    "py_function": Severity.CRITICAL, "numpy_function": Severity.CRITICAL, "py_func": Severity.CRITICAL,
    "compat.v1.py_func": Severity.CRITICAL, "compat.v1.py_function": Severity.CRITICAL,
    "compat.v1.numpy_function": Severity.CRITICAL, "io": Severity.HIGH, "gfile": Severity.HIGH,
    "compat.v1.gfile": Severity.HIGH, "io.gfile": Severity.HIGH, "saved_model": Severity.HIGH,
    "summary": Severity.HIGH, "debugging.experimental": Severity.HIGH, "data": Severity.HIGH,
    "compat.v1.io": Severity.HIGH, "read_file": Severity.HIGH, "write_file": Severity.HIGH,
    "keras.utils.get_file": Severity.HIGH, "raw_ops": Severity.HIGH, "load_op_library": Severity.CRITICAL,
    "load_library": Severity.CRITICAL, "print": Severity.HIGH,
}

# Keras layers whose from_config opens a file named in their config (outside the scanned model), by class
# name: (config keys holding the path, whether any string value counts or only a string that is not a list,
# what the load does). Found by reading every from_config/__init__ in keras 3.15 and tf_keras 2.21 that
# reaches a loader or a file API (tfsm_layer.py, index_lookup.py and its subclasses, text_vectorization.py).
KERAS_FILE_LOADERS: dict[str, tuple[tuple[str, ...], str]] = {
    "TFSMLayer": (("filepath",), "runs tf.saved_model.load on a SavedModel at that path (Keras needs "
                                 "safe_mode=False)"),
    "StringLookup": (("vocabulary",), "reads the vocabulary file at that path"),
    "IntegerLookup": (("vocabulary",), "reads the vocabulary file at that path"),
    "IndexLookup": (("vocabulary",), "reads the vocabulary file at that path"),
    "TextVectorization": (("vocabulary",), "reads the vocabulary file at that path"),
}

# tf_keras (Keras 2) JSON values that its decoder (saving/legacy/saved_model/json_utils._decode_helper) turns
# into data without importing anything: tuples, TensorShape, Ellipsis, a TypeSpec looked up in TensorFlow's
# type-spec registry by registered name, a CompositeTensor rebuilt from such a spec and constants.
TF_KERAS_DATA_CLASSES: frozenset[str] = frozenset({"__tuple__", "TensorShape", "__ellipsis__", "TypeSpec",
                                                   "CompositeTensor"})

# Names tf_keras 2.21 itself registers with register_keras_serializable() (default package "Custom"): its
# built-in optimizers and one application layer. Keras resolves them in the loading process's registry, where
# they are tf_keras' own classes. Checked against the installed tf_keras by tests/test_keras_catalog.py.
TF_KERAS_REGISTERED: frozenset[str] = frozenset({
    "Custom>Adadelta", "Custom>Adafactor", "Custom>Adagrad", "Custom>Adam", "Custom>AdamW", "Custom>Adamax",
    "Custom>CustomScaleLayer", "Custom>Ftrl", "Custom>Lion", "Custom>Nadam", "Custom>RMSprop", "Custom>SGD",
    "Custom>SharpnessAwareMinimization",
})
