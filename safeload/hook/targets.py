"""What the import hook patches: **the one table to edit to guard a new entry point.**

Each :class:`Target` is a framework (what ``install(targets=...)`` selects, and whose version gates it); each
:class:`Alias` is one attribute to replace, ``module.attr`` as the module appears in ``sys.modules``, with the
safe loader (``"package.module:function"``) that replaces it. To guard a new entry point:

1. write (or reuse) a safe loader under ``safeload/loaders/`` with the real function's signature plus the
   keyword-only ``threshold``/``trusted``/``policy``, calling the original through ``real_loader``;
2. add an :class:`Alias` for every module that holds the function (``optional=True`` for one that only
   some versions have), inside an existing :class:`Target` or a new one with the oldest supported version;
3. add the target to :data:`DEFAULT_TARGETS` unless it must be asked for (as the stdlib ``pickle`` is);
4. add a row to ``docs/hook.md`` and an end-to-end test with the real library.

Nothing here imports a framework: the table is data.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["ALL_TARGETS", "DEFAULT_TARGETS", "GROUPS", "TARGETS", "Alias", "Target", "canonical", "parse_targets"]


@dataclass(frozen=True, slots=True)
class Alias:
    """One attribute to replace: ``module.attr`` (``module`` as in ``sys.modules``), shown as ``public``.

    ``attr`` may be dotted (``"models.load_model"``, ``"InferenceSession.__init__"``): the last part is replaced
    on the object the others lead to.
    """

    module: str
    attr: str
    loader: str  # "safeload.loaders.torch:torch_load"
    public: str = ""
    optional: bool = False  # absent in some versions of the framework: skip quietly

    @property
    def name(self) -> str:
        return self.public or f"{self.module}.{self.attr}"


@dataclass(frozen=True, slots=True)
class Target:
    """A framework: the package (and distributions) whose version gates it, and the aliases to patch."""

    name: str
    distribution: str  # the top-level package, whose __version__ is read when set
    min_version: tuple[int, ...]
    aliases: tuple[Alias, ...]
    dists: tuple[str, ...] = ()  # distribution names to ask importlib.metadata (default: the package name)


_TORCH = "safeload.loaders.torch:torch_load"
_JOBLIB = "safeload.loaders.joblib:joblib_load"
_NUMPY = "safeload.loaders.numpy:numpy_load"
_KERAS = "safeload.loaders.keras:keras_load"
_SAVED_MODEL = "safeload.loaders.keras:tf_saved_model_load"
_PK = "safeload.loaders.pickle:"
_PANDAS = "safeload.loaders.pandas:pandas_read_pickle"
_MLFLOW = "safeload.loaders.mlflow:"
_ONNX = "safeload.loaders.onnx:"

TARGETS: dict[str, Target] = {
    t.name: t for t in (
        Target("torch", "torch", (1, 13), (
            Alias("torch", "load", _TORCH),
            Alias("torch.serialization", "load", _TORCH),
        )),
        Target("joblib", "joblib", (1, 2), (
            Alias("joblib", "load", _JOBLIB),
            Alias("joblib.numpy_pickle", "load", _JOBLIB),
        )),
        Target("numpy", "numpy", (1, 24), (
            Alias("numpy", "load", _NUMPY),
            Alias("numpy.lib._npyio_impl", "load", _NUMPY, optional=True),
            Alias("numpy.lib.npyio", "load", _NUMPY, optional=True),
        )),
        Target("keras", "keras", (3, 0), (
            Alias("keras.saving", "load_model", _KERAS),
            Alias("keras.models", "load_model", _KERAS),
            Alias("keras.src.saving", "load_model", _KERAS, optional=True),
            Alias("keras.src.saving.saving_api", "load_model", _KERAS, optional=True),
            # tf.keras under TensorFlow >= 2.16 when it resolves to Keras 3's tf.keras namespace
            Alias("keras._tf_keras.keras.models", "load_model", _KERAS, "tf.keras.models.load_model",
                  optional=True),
            Alias("keras._tf_keras.keras.saving", "load_model", _KERAS, "tf.keras.saving.load_model",
                  optional=True),
        )),
        # Keras 2 (tf_keras): keras_load uses it only when TF_USE_LEGACY_KERAS is set (see gates.py).
        Target("tf_keras", "tf_keras", (2, 13), (
            Alias("tf_keras", "models.load_model", _KERAS, "tf_keras.models.load_model"),
            Alias("tf_keras", "saving.load_model", _KERAS, "tf_keras.saving.load_model", optional=True),
        )),
        Target("tensorflow", "tensorflow", (2, 13), dists=(
            "tensorflow", "tensorflow-cpu", "tensorflow-gpu", "tensorflow-intel", "tensorflow-macos",
            "tf-nightly", "tf-nightly-cpu"), aliases=(
            Alias("tensorflow._api.v2.saved_model", "load", _SAVED_MODEL, "tensorflow.saved_model.load"),
            Alias("tensorflow._api.v2.compat.v2.saved_model", "load", _SAVED_MODEL,
                  "tensorflow.compat.v2.saved_model.load", optional=True),
            Alias("tensorflow._api.v2.compat.v1.saved_model", "load_v2", _SAVED_MODEL,
                  "tensorflow.compat.v1.saved_model.load_v2", optional=True),
            # the defining module, for TF's and Keras' own callers (e.g. TFSMLayer)
            Alias("tensorflow.python.saved_model.load", "load", _SAVED_MODEL,
                  "tensorflow.python.saved_model.load.load", optional=True),
        )),
        Target("dill", "dill", (0, 3, 6), (
            Alias("dill", "load", _PK + "dill_load"),
            Alias("dill", "loads", _PK + "dill_loads"),
            Alias("dill._dill", "load", _PK + "dill_load", optional=True),
            Alias("dill._dill", "loads", _PK + "dill_loads", optional=True),
        )),
        Target("cloudpickle", "cloudpickle", (2, 0), (
            Alias("cloudpickle", "load", _PK + "cloudpickle_load"),
            Alias("cloudpickle", "loads", _PK + "cloudpickle_loads"),
            Alias("cloudpickle.cloudpickle", "load", _PK + "cloudpickle_load", optional=True),
            Alias("cloudpickle.cloudpickle", "loads", _PK + "cloudpickle_loads", optional=True),
        )),
        # pandas unpickles with the stdlib pickle: patch the narrowest function that does, not pickle.load.
        Target("pandas", "pandas", (2, 0), (
            Alias("pandas", "read_pickle", _PANDAS),
            Alias("pandas.io.api", "read_pickle", _PANDAS, "pandas.io.api.read_pickle", optional=True),
            Alias("pandas.io.pickle", "read_pickle", _PANDAS, "pandas.io.pickle.read_pickle"),
        )),
        # MLflow: the flavour loaders that unpickle with the stdlib pickle (narrowest functions), and the public
        # load_model functions only so that a refusal inside names the model URI (see loaders/mlflow.py).
        Target("mlflow", "mlflow", (2, 0), dists=("mlflow", "mlflow-skinny"), aliases=(
            Alias("mlflow.sklearn", "_load_model_from_local_file", _MLFLOW + "mlflow_sklearn_local_file_load",
                  "mlflow.sklearn._load_model_from_local_file"),
            Alias("mlflow.pmdarima", "_load_model", _MLFLOW + "mlflow_pmdarima_load", "mlflow.pmdarima._load_model",
                  optional=True),
            Alias("mlflow.sklearn", "load_model", _MLFLOW + "mlflow_sklearn_load", "mlflow.sklearn.load_model"),
            Alias("mlflow.pyfunc", "load_model", _MLFLOW + "mlflow_pyfunc_load", "mlflow.pyfunc.load_model"),
            Alias("mlflow.pytorch", "load_model", _MLFLOW + "mlflow_pytorch_load", "mlflow.pytorch.load_model"),
        )),
        # ONNX: parsing is not running, but external data paths and (in ORT) custom ops and native libraries are.
        Target("onnx", "onnx", (1, 15), (
            Alias("onnx", "load", _ONNX + "onnx_load"),
            Alias("onnx", "load_model", _ONNX + "onnx_load"),
            Alias("onnx", "load_model_from_string", _ONNX + "onnx_loads"),
            Alias("onnx", "load_from_string", _ONNX + "onnx_loads", optional=True),
        )),
        Target("onnxruntime", "onnxruntime", (1, 19), dists=(
            "onnxruntime", "onnxruntime-gpu", "onnxruntime-openvino", "onnxruntime-directml", "onnxruntime-qnn"),
            aliases=(
            Alias("onnxruntime.capi.onnxruntime_inference_collection", "InferenceSession.__init__",
                  _ONNX + "inference_session_load", "onnxruntime.InferenceSession"),
            Alias("onnxruntime.capi.onnxruntime_pybind11_state", "SessionOptions.register_custom_ops_library",
                  _ONNX + "custom_ops_library_load", "onnxruntime.SessionOptions.register_custom_ops_library"),
            Alias("onnxruntime", "register_execution_provider_library", _ONNX + "execution_provider_library_load",
                  optional=True),
            Alias("onnxruntime.capi._pybind_state", "register_execution_provider_library",
                  _ONNX + "execution_provider_library_load", optional=True),
            Alias("onnxruntime.capi.onnxruntime_pybind11_state", "register_execution_provider_library",
                  _ONNX + "execution_provider_library_load", optional=True),
        )),
        # Only when asked for: multiprocessing, concurrent.futures and much else unpickle through these.
        Target("pickle", "", (), (
            Alias("pickle", "load", _PK + "pickle_load"),
            Alias("pickle", "loads", _PK + "pickle_loads"),
            Alias("_pickle", "load", _PK + "pickle_load"),
            Alias("_pickle", "loads", _PK + "pickle_loads"),
        )),
    )
}

#: What ``install()`` patches when ``targets`` is not given (everything but the stdlib ``pickle`` module).
DEFAULT_TARGETS: tuple[str, ...] = (
    "torch", "joblib", "numpy", "keras", "tf_keras", "tensorflow", "dill", "cloudpickle", "pandas", "mlflow", "onnx",
    "onnxruntime")
#: Every target name ``install(targets=...)`` accepts.
ALL_TARGETS: tuple[str, ...] = (*DEFAULT_TARGETS, "pickle")
#: Names that stand for several targets.
GROUPS: dict[str, tuple[str, ...]] = {
    "default": DEFAULT_TARGETS, "defaults": DEFAULT_TARGETS, "all": ALL_TARGETS,
    "tf": ("tensorflow", "keras", "tf_keras"), "tf.keras": ("tensorflow", "keras", "tf_keras"),
    "_pickle": ("pickle",),
}


def parse_targets(targets: Iterable[str] | str | None) -> tuple[str, ...]:
    """Target names from ``install(targets=...)`` or ``SAFELOAD_HOOK_TARGETS`` (comma-separated), in order."""
    if targets is None:
        return DEFAULT_TARGETS
    names = targets.split(",") if isinstance(targets, str) else list(targets)
    out: list[str] = []
    for raw in names:
        name = str(raw).strip().lower()
        if name in GROUPS:
            out.extend(GROUPS[name])
        elif name in TARGETS:
            out.append(name)
        elif name:
            choices = ", ".join((*ALL_TARGETS, "default", "all"))
            raise ValueError(f"unknown hook target {raw!r}; choose from {choices}")
    return tuple(dict.fromkeys(out))


def canonical(alias: Alias) -> str:
    """The name a wrapper reports (``torch.load``, not ``torch.serialization.load``): one wrapper serves every
    alias of the same function, as the original object did."""
    for target in TARGETS.values():
        if alias in target.aliases:
            return next(a.name for a in target.aliases if a.loader == alias.loader)
    return alias.name
