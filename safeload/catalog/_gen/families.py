"""The package families the generator covers: what it walks, where it looks for allow candidates, what it pickles.

``WALK`` lists the top-level packages imported for the deny side and the alias table (the stdlib is added by
the generator). ``ALLOW_ROOTS`` lists, per shard, the module prefixes whose *own* classes and functions are
allow candidates even when the sample corpus did not contain them (minus ``ALLOW_EXCLUDE``).
"""

from __future__ import annotations

__all__ = ["ALLOW_EXCLUDE", "ALLOW_ROOTS", "CORPUS_PROTOCOLS", "WALK"]

WALK: tuple[str, ...] = (
    "numpy", "scipy", "pandas", "pyarrow", "sklearn", "joblib", "dill", "cloudpickle", "torch", "xgboost",
    "lightgbm", "catboost", "tokenizers", "transformers", "keras", "tensorflow", "sympy",
)

ALLOW_ROOTS: dict[str, tuple[str, ...]] = {
    "stdlib": ("collections", "_collections", "datetime", "_datetime", "zoneinfo", "ipaddress", "decimal",
               "_decimal", "fractions", "uuid", "enum", "pathlib", "re", "argparse.Namespace",
               "types.SimpleNamespace", "array", "copyreg", "functools.partial", "numbers", "builtins"),
    "numpy": ("numpy",),
    "pandas": ("pandas",),
    "pyarrow": ("pyarrow.lib",),
    "scipy": ("scipy.sparse", "scipy.stats", "scipy.interpolate", "scipy.spatial"),
    "sklearn": ("sklearn",),
    "torch": ("torch.nn", "torch.optim", "torch.distributions", "torch.utils.data.dataset", "torch.amp",
              "torch.ao.nn", "torch._utils", "torch._tensor", "torch.storage", "torch.utils.hooks",
              "torch.torch_version", "torch.return_types", "torch.cuda.amp", "torch.serialization._get_layout",
              "torch.Size", "torch.device", "torch.Tensor"),
    "boosters": ("xgboost.sklearn", "xgboost.core.Booster", "lightgbm.sklearn", "lightgbm.basic.Booster",
                 "catboost.core"),
    "joblib": ("joblib.numpy_pickle", "joblib.numpy_pickle_compat"),
    "tokenizers": ("tokenizers",),
    "transformers": ("transformers.training_args", "transformers.trainer_utils", "transformers.configuration_utils",
                     "transformers.tokenization_utils_base", "transformers.utils.generic"),
}

ALLOW_EXCLUDE: tuple[str, ...] = (
    "numpy.testing", "numpy.f2py", "numpy.distutils", "numpy.ctypeslib", "numpy.lib._npyio_impl",
    "numpy.lib.npyio", "numpy.lib.format", "numpy.lib._datasource",
    "pandas.io", "pandas.plotting", "pandas._testing", "pandas.util", "pandas.core.computation", "pandas.compat",
    "pandas._config", "pandas.tests",
    "sklearn.datasets", "sklearn.utils._testing", "sklearn.utils.estimator_checks", "sklearn.externals",
    "sklearn.experimental", "sklearn.utils._show_versions", "sklearn._build_utils", "sklearn.utils.discovery",
    "torch.utils.data.datapipes", "torch.nn.parallel", "torch.distributed",
)

# torch objects that are not plain pickle-able under protocols 0/1 abort the process in pybind11.
CORPUS_PROTOCOLS: dict[str, tuple[int, ...]] = {"torch": (2, 4, 5), "transformers": (2, 4, 5)}
