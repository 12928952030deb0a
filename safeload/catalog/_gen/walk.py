"""Import every module of a package family, in a fixed order, skipping tests and modules with import effects.

Invariant: the walk is deterministic for one environment (sorted names, the same skip rules), and a module
whose import fails is recorded, never retried in another way. Modules named in ``SKIP`` are never imported.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import pkgutil
import sys
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from types import ModuleType

__all__ = ["SKIP", "Walk", "is_skipped", "walk_packages"]

# Modules whose import does something (opens a browser, prints, starts a GUI, runs a program, patches other
# packages) or that are test suites: never imported by the generator. A component match skips the subtree.
_SKIP_COMPONENTS = frozenset({"tests", "test", "conftest", "__main__", "testing_utils", "_pytest", "benchmarks"})
SKIP: frozenset[str] = frozenset({
    "antigravity", "this", "idlelib", "turtledemo", "turtle", "tkinter", "_tkinter", "__phello__", "__hello__",
    "lib2to3", "ensurepip", "pydoc_data", "xxsubtype", "_xxtestfuzz", "_testcapi", "_testinternalcapi",
    "_testbuffer", "_testimportmultiple", "_testmultiphase", "_ctypes_test", "_testclinic", "_testsinglephase",
    "msilib", "winreg", "winsound", "msvcrt", "_winapi", "nt", "_msi", "_overlapped", "asyncio.windows_events",
    "asyncio.windows_utils", "multiprocessing.popen_spawn_win32", "encodings.mbcs", "encodings.oem",
    "distutils", "_distutils_hack", "setuptools", "pip", "sitecustomize", "usercustomize", "site",
    # torch: test harnesses and modules that spawn or patch on import
    "torch.testing._internal", "torch.utils.bottleneck", "torch._inductor.compile_worker",
    "torch.utils.benchmark", "torch.distributed.run", "torch.distributed.launch", "torch.backends._coreml",
    "torch._dynamo.repro", "torch.utils._sympy.reference", "torch.onnx._internal.exporter._testing",
    "torch._inductor.codegen.cuda", "torch._inductor.runtime.benchmarking",
    # numpy / scipy / pandas / sklearn test helpers and build tooling
    "numpy.distutils", "numpy.f2py.tests", "numpy._pyinstaller", "scipy._lib._testutils", "pandas._testing",
    "sklearn.utils._testing", "sklearn.externals._packaging", "sklearn._build_utils", "pandas.util._test_decorators",
    "numpy.testing._private.extbuild",
    # tensorflow / keras: tooling entry points and test utilities
    "tensorflow.python.debug", "tensorflow.python.tools", "tensorflow.tools", "tensorflow.python.platform.test",
    "tensorflow.python.framework.test_util", "tensorflow.compiler", "tensorflow.lite", "tensorflow.python.compiler",
    "tensorflow.python.distribute", "tensorflow.python.tpu", "tensorflow.python.kernel_tests",
    "tensorflow.python.keras", "tensorflow._api", "tensorflow.include", "tensorflow.v2", "tensorflow.v1",
    "tensorflow.compat", "tensorflow.python.summary.tensorboard", "keras.src.utils.jax_utils",
    "keras.src.backend.jax", "keras.src.backend.openvino", "keras.src.backend.mlx", "keras.src.backend.torch",
    "keras.src.backend.numpy", "keras.src.testing", "keras.src.export", "keras.src.distribution",
    # transformers: CLI, hub integrations and model code (its model packages are walked separately, on demand)
    "transformers.commands", "transformers.models", "transformers.integrations", "transformers.onnx",
    "transformers.kernels", "transformers.cli", "transformers.testing_utils", "transformers.quantizers",
    "transformers.generation", "transformers.pipelines", "transformers.data", "transformers.distributed",
    "transformers.agents", "transformers.tools", "transformers.sagemaker", "transformers.benchmark",
    # sympy: plotting and interactive helpers
    "sympy.plotting", "sympy.interactive", "sympy.testing", "sympy.galgebra",
    "lightgbm.dask", "xgboost.dask", "xgboost.spark", "xgboost.testing", "catboost.widget", "catboost.eval",
    "joblib.test", "dill.tests", "cloudpickle.tests",
    # dill.__diff memorises every object created afterwards; dill._objects builds files and sockets
    "dill.__diff", "dill._objects",
    "sympy.integrals.meijerint_doc", "sympy.utilities.benchmarking", "sympy.utilities.runtests",
})


def is_skipped(name: str) -> bool:
    """True when ``name`` (a dotted module name) or one of its parents is in ``SKIP`` or is a test component."""
    parts = name.split(".")
    if any(part in _SKIP_COMPONENTS or part.endswith(("_test", "_tests")) or part.startswith("test_")
           for part in parts):
        return True
    return any(".".join(parts[:i]) in SKIP for i in range(1, len(parts) + 1))


@dataclass
class Walk:
    """What one walk imported: module name -> module, and the modules whose import failed (name -> error)."""

    modules: dict[str, ModuleType] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), \
            contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        yield


def _import(name: str, walk: Walk) -> ModuleType | None:
    if is_skipped(name):
        return None
    if name in walk.modules:
        return walk.modules[name]
    if name in walk.failed:
        return None
    try:
        with _quiet():
            module = importlib.import_module(name)
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):
            raise
        walk.failed[name] = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:200]
        return None
    walk.modules[name] = module
    return module


def _submodule_names(module: ModuleType) -> list[str]:
    path = getattr(module, "__path__", None)
    if path is None:
        return []
    names = []
    for info in pkgutil.iter_modules(list(path), module.__name__ + "."):
        names.append(info.name)
    return sorted(names)


def walk_packages(tops: Iterable[str], walk: Walk | None = None, *, max_modules: int = 20000) -> Walk:
    """Import each package in ``tops`` and all its submodules (depth first, sorted), skipping ``SKIP``."""
    walk = walk if walk is not None else Walk()
    pending = sorted(tops, reverse=True)
    while pending and len(walk.modules) < max_modules:
        name = pending.pop()
        module = _import(name, walk)
        if module is None:
            continue
        pending.extend(sorted((n for n in _submodule_names(module) if n not in walk.modules and not is_skipped(n)),
                              reverse=True))
    return walk


def stdlib_tops() -> list[str]:
    """The standard library's top-level modules on this interpreter (minus ``SKIP`` and test packages)."""
    return sorted(n for n in sys.stdlib_module_names if not is_skipped(n))
