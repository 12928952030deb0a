"""The corpus registry: groups of ordinary files built at test time, and how each file is loaded.

A *group* builds several files at once into a directory (one Trainer run gives seven files); its labels are
declared up front so that tests can be parametrized without building anything at collection time. Each file is
an :class:`Artifact`: where it is, which loader its users read it with, and how to compare what the real loader
and the safe loader return.

Nothing here decides anything about safety: the tests and ``measure.py`` ask ``safeload.scan`` and the safe
loaders, and compare with the real loaders.
"""

from __future__ import annotations

import importlib
import pickle
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Families of issue 14's table (the first measured set) and the long tail (the second).
PANDAS = "pandas 3 + pyarrow"
HF = "Hugging Face"
TORCH = "torch objects"
SCIENCE = "scipy / statsmodels / gensim / nltk / spaCy"
KERAS = "Keras controls"
LONG_TAIL = "long tail"
FAMILIES = (PANDAS, HF, TORCH, SCIENCE, KERAS)

Check = Callable[[Any, Any], None]


@dataclass(frozen=True)
class Artifact:
    """One file of the corpus. ``loader`` names an entry of ``LOADERS`` (``none``: no loader reads it)."""

    path: Path
    loader: str
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    check: Check | None = None


@dataclass(frozen=True)
class Group:
    name: str
    family: str
    library: str
    labels: tuple[str, ...]
    build: Callable[[Path], dict[str, Artifact]]
    requires: tuple[str, ...] = ()
    slow: bool = False

    def ids(self) -> list[str]:
        return [f"{self.name}/{label}" for label in self.labels]


GROUPS: dict[str, Group] = {}


def group(name: str, *, family: str, library: str, labels: tuple[str, ...] | list[str],
          requires: tuple[str, ...] = (), slow: bool = False) -> Callable[[Callable[[Path], dict[str, Artifact]]],
                                                                          Callable[[Path], dict[str, Artifact]]]:
    """Register a builder ``build(directory) -> {label: Artifact}`` under ``name``."""

    def register(build: Callable[[Path], dict[str, Artifact]]) -> Callable[[Path], dict[str, Artifact]]:
        assert name not in GROUPS, name
        assert len(set(labels)) == len(labels), name
        GROUPS[name] = Group(name, family, library, tuple(labels), build, requires or (library,), slow)
        return build

    return register


def load_all() -> dict[str, Group]:
    """Import every ``*_cases`` module so that its groups are registered."""
    for module in ("pandas_cases", "hf_cases", "torch_cases", "science_cases", "keras_cases", "longtail_cases"):
        importlib.import_module(f"tests.corpus.{module}")
    return GROUPS


def missing_requirements(grp: Group) -> list[str]:
    missing = []
    for name in grp.requires:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    return missing


_BUILT: dict[tuple[str, Path], dict[str, Artifact]] = {}


def build(grp: Group, root: Path) -> dict[str, Artifact]:
    """Build ``grp`` once per root directory (quietly: libraries warn about tiny data)."""
    key = (grp.name, root)
    if key not in _BUILT:
        directory = root / grp.name
        directory.mkdir(parents=True, exist_ok=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            built = grp.build(directory)
        assert set(built) == set(grp.labels), (grp.name, sorted(set(built) ^ set(grp.labels)))
        _BUILT[key] = built
    return _BUILT[key]


# --- loaders: what the user calls, and the safeload call that replaces it ------------------------------------
def _pickle_real(path: Path, **kw: Any) -> Any:
    with open(path, "rb") as f:
        return pickle.load(f, **kw)


def _pickle_safe(path: Path, **kw: Any) -> Any:
    import safeload

    with open(path, "rb") as f:
        return safeload.pickle_load(f, **kw)


def _joblib_real(path: Path, **kw: Any) -> Any:
    import joblib

    return joblib.load(path, **kw)


def _joblib_safe(path: Path, **kw: Any) -> Any:
    import safeload

    return safeload.joblib_load(path, **kw)


def _torch_real(path: Path, **kw: Any) -> Any:
    import torch

    return torch.load(path, **{"weights_only": False, **kw})


def _torch_safe(path: Path, **kw: Any) -> Any:
    import safeload

    return safeload.torch_load(path, **{"weights_only": False, **kw})


def _pandas_real(path: Path, **kw: Any) -> Any:
    import pandas as pd

    return pd.read_pickle(path, **kw)


def _pandas_safe(path: Path, **kw: Any) -> Any:
    import safeload

    return safeload.pandas_read_pickle(path, **kw)


def _cloudpickle_real(path: Path, **kw: Any) -> Any:
    import cloudpickle

    with open(path, "rb") as f:
        return cloudpickle.load(f, **kw)


def _cloudpickle_safe(path: Path, **kw: Any) -> Any:
    import safeload

    with open(path, "rb") as f:
        return safeload.cloudpickle_load(f, **kw)


def _keras_real(path: Path, **kw: Any) -> Any:
    import keras

    return keras.saving.load_model(path, **kw)


def _keras_safe(path: Path, **kw: Any) -> Any:
    import safeload

    return safeload.keras_load(path, **kw)


LOADERS: dict[str, tuple[Callable[..., Any], Callable[..., Any]]] = {
    "pickle": (_pickle_real, _pickle_safe),
    "joblib": (_joblib_real, _joblib_safe),
    "torch": (_torch_real, _torch_safe),
    "pandas": (_pandas_real, _pandas_safe),
    "cloudpickle": (_cloudpickle_real, _cloudpickle_safe),
    "keras": (_keras_real, _keras_safe),
}


def real_load(art: Artifact) -> Any:
    return LOADERS[art.loader][0](art.path, **art.kwargs)


def safe_load(art: Artifact, **extra: Any) -> Any:
    return LOADERS[art.loader][1](art.path, **{**art.kwargs, **extra})


# --- comparing what the two loaders return ---------------------------------------------------------------------
def same(real: Any, safe: Any, check: Check | None = None) -> None:
    """Assert that the safe loader returned what the real one did: the same type, then the case's own check,
    else equal pickles (a deep, order-sensitive comparison of everything the object holds)."""
    assert type(real) is type(safe), (type(real), type(safe))
    if check is not None:
        check(real, safe)
        return
    assert pickle.dumps(real, protocol=4) == pickle.dumps(safe, protocol=4), f"{type(real).__name__} differs"


def state_dicts_equal(real: Any, safe: Any) -> None:
    """For torch modules and anything with ``state_dict()``: equal keys and equal tensors."""
    import torch

    a, b = real.state_dict(), safe.state_dict()
    assert list(a) == list(b)
    for key in a:
        va, vb = a[key], b[key]
        if isinstance(va, torch.Tensor):
            assert torch.equal(va, vb), key
        else:
            assert pickle.dumps(va) == pickle.dumps(vb), key


def attrs_equal(*names: str) -> Check:
    """A check comparing the pickles of a few attributes (for objects that hold unpicklable state)."""

    def check(real: Any, safe: Any) -> None:
        for name in names:
            assert pickle.dumps(getattr(real, name)) == pickle.dumps(getattr(safe, name)), name

    return check


def calls_equal(call: Callable[[Any], Any]) -> Check:
    """A check comparing what a method returns on both objects (predictions, transforms...)."""

    def check(real: Any, safe: Any) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the library's own deprecation warnings (pandas options...)
            a, b = call(real), call(safe)
        assert pickle.dumps(a) == pickle.dumps(b), (a, b)

    return check
