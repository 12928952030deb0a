"""safeload: drop-in safe loaders for ML model files.

``safeload.torch_load``, ``joblib_load``, ``keras_load``, ``pickle_load`` and friends scan a file's bytes
statically and hand them to the real loader only when no finding reaches the threshold; otherwise they raise
:class:`UnsafeModelError` before anything runs. ``safeload.scan`` returns the findings without loading.

Invariant: ``import safeload`` imports no ML framework; loaders import theirs when first called.
"""

import sys

from safeload import _stdlib_imports  # no ``from __future__`` above: it would import ``__future__`` unguarded

_stdlib_imports.install()  # first: every later import of a standard module by safeload comes from the library

from types import ModuleType  # noqa: E402

from safeload._version import __version__  # noqa: E402
from safeload.exceptions import (  # noqa: E402
    ConfigError,
    IntegrityError,
    PolicyError,
    SafeloadError,
    SafeloadWarning,
    UnsafeKerasModelError,
    UnsafeModelError,
    UnsafePickleError,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from safeload.findings import Finding, Location, ScanResult, Verdict
    from safeload.integrity.options import Integrity
    from safeload.loaders.pickle import (
        cloudpickle_load,
        cloudpickle_loads,
        dill_load,
        dill_loads,
        pickle_load,
        pickle_loads,
    )
    from safeload.policy import Limits, Policy, clear_trust, get_trust, trust, trusted, untrust
    from safeload.rules import RULES, Rule
    from safeload.scan import scan
    from safeload.severity import Severity

# Every public name but the exceptions resolves on first access (issue 15: ``import safeload`` stays a few
# milliseconds; logging, tomllib, re, dataclasses and the scanners load with the first scan). Loaders and the
# hook import their framework lazily on top of that.
_LAZY: dict[str, str] = {
    "Finding": "safeload.findings",
    "Location": "safeload.findings",
    "ScanResult": "safeload.findings",
    "Verdict": "safeload.findings",
    "Integrity": "safeload.integrity.options",
    "cloudpickle_load": "safeload.loaders.pickle",
    "cloudpickle_loads": "safeload.loaders.pickle",
    "dill_load": "safeload.loaders.pickle",
    "dill_loads": "safeload.loaders.pickle",
    "pickle_load": "safeload.loaders.pickle",
    "pickle_loads": "safeload.loaders.pickle",
    "Limits": "safeload.policy",
    "Policy": "safeload.policy",
    "clear_trust": "safeload.policy",
    "get_trust": "safeload.policy",
    "trust": "safeload.policy",
    "trusted": "safeload.policy",
    "untrust": "safeload.policy",
    "RULES": "safeload.rules",
    "Rule": "safeload.rules",
    "scan": "safeload.scan",
    "Severity": "safeload.severity",
    "torch_load": "safeload.loaders.torch",
    "safe_torch_load": "safeload.loaders.torch:torch_load",
    "joblib_load": "safeload.loaders.joblib",
    "safe_joblib_load": "safeload.loaders.joblib:joblib_load",
    "numpy_load": "safeload.loaders.numpy",
    "keras_load": "safeload.loaders.keras",
    "safe_keras_load": "safeload.loaders.keras:keras_load",
    "tf_saved_model_load": "safeload.loaders.keras",
    "pandas_read_pickle": "safeload.loaders.pandas",
    "onnx_load": "safeload.loaders.onnx",
    "install": "safeload.hook",
    "uninstall": "safeload.hook",
    "is_installed": "safeload.hook",
    "patched": "safeload.hook",
    "status": "safeload.hook",
    "scan_many": "safeload.fleet.engine",
}


class _Package(ModuleType):
    """The package's module type. Importing the submodule ``safeload.scan`` makes the import system set the
    package attribute ``scan`` to that module; the public ``safeload.scan`` is the function, so it stays one."""

    def __setattr__(self, name: str, value: object) -> None:
        if name == "scan" and isinstance(value, ModuleType):
            value = value.scan
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
if "logging" in sys.modules:  # the library's NullHandler; otherwise safeload._log adds it when logging arrives
    from safeload._log import install_null_handler

    install_null_handler()
if "safeload.scan" in sys.modules:  # a reload of the package: the submodule is already loaded
    scan = sys.modules["safeload.scan"].scan

# The card's names for three loaders (docs/BRIEF: safe_torch_load, safe_joblib_load, safe_keras_load) keep working
# through _LAZY; __all__ lists one spelling per loader. Configuration plumbing lives in safeload.config.
__all__ = [
    "RULES",
    "ConfigError",
    "Finding",
    "Integrity",
    "IntegrityError",
    "Limits",
    "Location",
    "Policy",
    "PolicyError",
    "Rule",
    "SafeloadError",
    "SafeloadWarning",
    "ScanResult",
    "Severity",
    "UnsafeKerasModelError",
    "UnsafeModelError",
    "UnsafePickleError",
    "Verdict",
    "__version__",
    "clear_trust",
    "cloudpickle_load",
    "cloudpickle_loads",
    "dill_load",
    "dill_loads",
    "get_trust",
    "install",
    "is_installed",
    "joblib_load",
    "keras_load",
    "numpy_load",
    "onnx_load",
    "pandas_read_pickle",
    "patched",
    "pickle_load",
    "pickle_loads",
    "scan",
    "scan_many",
    "status",
    "tf_saved_model_load",
    "torch_load",
    "trust",
    "trusted",
    "uninstall",
    "untrust",
]


def __getattr__(name: str) -> "Any":
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'safeload' has no attribute {name!r}")
    module_name, _, attr = target.partition(":")
    __import__(module_name)  # not importlib: it imports ``warnings`` too (issue 15, fixed costs)
    value = getattr(sys.modules[module_name], attr or name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


def load_ipython_extension(ipython: "Any") -> None:
    """``%load_ext safeload``: install the import hook in this kernel."""
    from safeload import notebook

    notebook.load_ipython_extension(ipython)


def unload_ipython_extension(ipython: "Any") -> None:
    from safeload import notebook

    notebook.unload_ipython_extension(ipython)
