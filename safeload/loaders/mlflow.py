"""MLflow model loads under the import hook: the flavour loaders that unpickle with the stdlib ``pickle``, and
refusals that name the model URI the caller asked for.

What each MLflow flavour does when it loads (``mlflow`` 2.x/3.x):

- scikit-learn: ``mlflow.sklearn._load_model_from_local_file(path, serialization_format, ...)`` unpickles
  ``model.pkl`` with ``pickle.load`` (``serialization_format="pickle"``) or ``cloudpickle.load`` (the
  default), or loads ``skops`` (its own safe format, left to skops). It is the narrowest function that
  unpickles, and every scikit-learn load goes through it (``mlflow.sklearn.load_model`` and
  ``mlflow.pyfunc.load_model``), so the hook patches it rather than ``pickle.load`` for the whole process;
- pmdarima: ``mlflow.pmdarima._load_model(path)`` unpickles with ``pickle.load``: patched the same way;
- PyTorch: ``torch.load`` (patched by the ``torch`` target); pyfunc custom models, TensorFlow, LangChain and
  DSPy: ``cloudpickle.load`` (patched by the ``cloudpickle`` target).

Security invariants: a patched flavour loader opens the model file once, scans it, and hands the original
MLflow function the *same open file* (``/proc/self/fd/<fd>``, or ``/dev/fd/<fd>``), so MLflow's own checks
(``MLFLOW_ALLOW_PICKLE_DESERIALIZATION``, format dispatch) run unchanged on exactly the scanned bytes; a
refusal is raised before MLflow runs. ``mlflow.sklearn/pyfunc/pytorch.load_model`` are wrapped only to
name the model URI in a refusal raised inside them (MLflow may have copied the artefact to a temporary
folder first); they pass everything through and load nothing themselves.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable
from typing import Any

from safeload._source import view_of_file
from safeload.exceptions import UnsafeModelError
from safeload.loaders._common import guard_buffer, policy_for, real_loader
from safeload.policy import Policy
from safeload.severity import Severity

__all__ = [
    "mlflow_pmdarima_load",
    "mlflow_pyfunc_load",
    "mlflow_pytorch_load",
    "mlflow_sklearn_load",
    "mlflow_sklearn_local_file_load",
]

Threshold = Severity | str | None
Trusted = Iterable[str] | str | None

_PICKLED_FORMATS = ("pickle", "cloudpickle")


def _fd_path(fd: int) -> str | None:
    for candidate in (f"/proc/self/fd/{fd}", f"/dev/fd/{fd}"):
        if os.path.exists(candidate):
            return candidate
    return None


def _guarded_call(path: str, loader: str, policy: Policy, call: Any) -> Any:
    """Scan ``path`` (opened once) and run ``call(same_file_path)`` on the open file that was scanned."""
    with open(path, "rb") as handle:
        with view_of_file(handle) as view:
            guard_buffer(view.data, path, policy, loader, path=path)
        # No /proc or /dev/fd (Windows): the path itself; the window between scan and load is documented.
        return call(_fd_path(handle.fileno()) or path)


def mlflow_sklearn_local_file_load(path: str, serialization_format: str, *args: Any, threshold: Threshold = None,
                                   trusted: Trusted = None, policy: Policy | None = None, **kwargs: Any) -> Any:
    """``mlflow.sklearn._load_model_from_local_file`` after a scan of ``path`` (pickle and cloudpickle formats)."""
    original = real_loader("mlflow.sklearn", "_load_model_from_local_file")
    if serialization_format not in _PICKLED_FORMATS:
        return original(path, serialization_format, *args, **kwargs)  # skops (its own checks), or MLflow's error
    return _guarded_call(os.fspath(path), "mlflow.sklearn model", policy_for(threshold, trusted, policy),
                         lambda same: original(same, serialization_format, *args, **kwargs))


def mlflow_pmdarima_load(path: str, *args: Any, threshold: Threshold = None, trusted: Trusted = None,
                         policy: Policy | None = None, **kwargs: Any) -> Any:
    """``mlflow.pmdarima._load_model`` (a ``pickle.load``) after a scan of ``path``."""
    original = real_loader("mlflow.pmdarima", "_load_model")
    return _guarded_call(os.fspath(path), "mlflow.pmdarima model", policy_for(threshold, trusted, policy),
                         lambda same: original(same, *args, **kwargs))


def _naming_uri(module: str, public: str, model_uri: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    for key in ("threshold", "trusted", "policy"):  # applied by the guarded loads inside, through their hooks
        kwargs.pop(key, None)
    original = real_loader(module, "load_model")
    try:
        return original(model_uri, *args, **kwargs)
    except UnsafeModelError as exc:
        inner = exc.result
        source = f"{model_uri} ({exc.loader} {inner.source})"
        raise type(exc)(dataclasses.replace(inner, source=source), exc.threshold, public) from exc


def mlflow_sklearn_load(model_uri: Any, *args: Any, **kwargs: Any) -> Any:
    """``mlflow.sklearn.load_model``, passed through; a refusal inside names ``model_uri``."""
    return _naming_uri("mlflow.sklearn", "mlflow.sklearn.load_model", model_uri, args, kwargs)


def mlflow_pyfunc_load(model_uri: Any, *args: Any, **kwargs: Any) -> Any:
    """``mlflow.pyfunc.load_model``, passed through; a refusal inside names ``model_uri``."""
    return _naming_uri("mlflow.pyfunc", "mlflow.pyfunc.load_model", model_uri, args, kwargs)


def mlflow_pytorch_load(model_uri: Any, *args: Any, **kwargs: Any) -> Any:
    """``mlflow.pytorch.load_model``, passed through; a refusal inside names ``model_uri``."""
    return _naming_uri("mlflow.pytorch", "mlflow.pytorch.load_model", model_uri, args, kwargs)
