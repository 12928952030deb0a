"""The import hook: route ``torch.load``, ``joblib.load``, Keras/TF loaders, ... through the safe loaders.

``install()`` replaces every public alias of every supported loader (``torch.load`` *and*
``torch.serialization.load``, ``joblib.load`` *and* ``joblib.numpy_pickle.load``,
``keras.saving.load_model``, ``keras.models.load_model``, ``tf.saved_model.load``, ``numpy.load``,
``dill.load(s)``, ``cloudpickle.load(s)``; ``pickle.load(s)`` only when asked for) with a thin wrapper that
calls the matching ``safeload.*_load``. One module a job:

- ``targets.py``: the table of what is patched (**the one file to edit to guard a new entry point**);
- ``state.py``: the installed state and :func:`status`;
- ``gates.py``: version gates (a framework too old for its safe loader is left alone, with the reason);
- ``patch.py``: :func:`install`, :func:`uninstall`, :func:`patched` and the post-import hook (idempotent,
  reversible, thread-safe, never breaks an import);
- ``unguarded.py``: the scan for references taken before ``install()``;
- ``launcher.py``: ``safeload run -- CMD``.

Not coverable by attribute patching: a reference taken before ``install()`` (``from torch import load`` in a
module imported earlier) keeps pointing at the original. ``install()`` reports such references in
``status().unguarded``; ``import safeload.auto`` (or ``safeload run``) at interpreter start avoids them.
Wrappers handed out while installed (e.g. ``from torch import load`` after ``install()``) keep scanning
after ``uninstall()``: the hook errs on the safe side. Reloading a patched module (``importlib.reload``) is
not supported, as in wrapt.
"""

from __future__ import annotations

from safeload.hook.launcher import BOOTSTRAP_DIR, bootstrap_env, run_command
from safeload.hook.patch import install, patched, uninstall
from safeload.hook.state import HookError, HookStatus, current_hook, is_installed, status
from safeload.hook.targets import ALL_TARGETS, DEFAULT_TARGETS
from safeload.hook.targets import TARGETS as _TARGETS  # noqa: F401 - the single-module hook's private names
from safeload.hook.targets import parse_targets as _parse_targets  # noqa: F401

__all__ = [
    "ALL_TARGETS",
    "BOOTSTRAP_DIR",
    "DEFAULT_TARGETS",
    "HookError",
    "HookStatus",
    "bootstrap_env",
    "current_hook",
    "install",
    "is_installed",
    "patched",
    "run_command",
    "status",
    "uninstall",
]
