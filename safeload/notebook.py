"""Jupyter / IPython integration: ``%load_ext safeload``.

Loading the extension installs the import hook in the kernel (so ``torch.load`` and friends scan before they
load) and registers two line magics:

- ``%safeload_scan PATH [--threshold LEVEL]``: scan without loading; the ``ScanResult`` renders as a table.
- ``%safeload_status``: what the hook patched, what is pending, and any hook errors.

``%unload_ext safeload`` removes the magics and uninstalls the hook if the extension installed it.
``ScanResult`` and ``UnsafeModelError`` render through their escaped ``_repr_html_``/``_repr_markdown_``.

Invariant: this module imports IPython only through the ``ipython`` object it is handed.
"""

from __future__ import annotations

import os
import shlex
from typing import Any

from safeload.findings import ScanResult
from safeload.hook import HookStatus, install, status, uninstall

__all__ = ["load_ipython_extension", "safeload_scan", "safeload_status", "unload_ipython_extension"]

_MAGICS = ("safeload_scan", "safeload_status")
_installed_by_extension = False


def safeload_scan(line: str) -> ScanResult:
    """``%safeload_scan PATH [--threshold LEVEL]``: scan ``PATH`` (file or directory) without loading it."""
    from safeload.scan import scan

    words = shlex.split(line)
    threshold: str | None = None
    paths: list[str] = []
    i = 0
    while i < len(words):
        if words[i] in {"-t", "--threshold"} and i + 1 < len(words):
            threshold = words[i + 1]
            i += 2
            continue
        if words[i].startswith("--threshold="):
            threshold = words[i].partition("=")[2]
        else:
            paths.append(words[i])
        i += 1
    if len(paths) != 1:
        raise ValueError("usage: %safeload_scan PATH [--threshold LEVEL]")
    kwargs: dict[str, Any] = {} if threshold is None else {"threshold": threshold}
    return scan(os.path.expanduser(paths[0]), **kwargs)


def safeload_status(line: str = "") -> HookStatus:
    """``%safeload_status``: the import hook's status."""
    del line
    return status()


def load_ipython_extension(ipython: Any) -> None:
    """Install the hook and register the magics (``%load_ext safeload``). Loading twice is harmless."""
    global _installed_by_extension  # noqa: PLW0603 - one extension per kernel
    if install():
        _installed_by_extension = True
    ipython.register_magic_function(safeload_scan, magic_kind="line", magic_name="safeload_scan")
    ipython.register_magic_function(safeload_status, magic_kind="line", magic_name="safeload_status")


def unload_ipython_extension(ipython: Any) -> None:
    """Remove the magics; uninstall the hook if ``load_ipython_extension`` installed it."""
    global _installed_by_extension  # noqa: PLW0603 - one extension per kernel
    line_magics = getattr(getattr(ipython, "magics_manager", None), "magics", {}).get("line", {})
    for name in _MAGICS:
        line_magics.pop(name, None)
    if _installed_by_extension:
        uninstall()
        _installed_by_extension = False
