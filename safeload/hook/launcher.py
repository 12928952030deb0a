"""``safeload run -- CMD ...``: run a command with the import hook active in every Python process it starts.

Invariants: the bootstrap directory (``safeload/_bootstrap``, a ``sitecustomize`` that imports
``safeload.auto`` and then chains to the ``sitecustomize`` it shadows) goes first on ``PYTHONPATH`` and
``SAFELOAD_HOOK=1`` is set, so children inherit both; the command's own exit code is returned.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence

__all__ = ["BOOTSTRAP_DIR", "bootstrap_env", "run_command"]

BOOTSTRAP_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "_bootstrap")


def bootstrap_env(environ: dict[str, str] | None = None) -> dict[str, str]:
    """A copy of ``environ`` with the bootstrap directory first on ``PYTHONPATH`` and ``SAFELOAD_HOOK=1``."""
    env = dict(os.environ if environ is None else environ)
    parts = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and p != BOOTSTRAP_DIR]
    env["PYTHONPATH"] = os.pathsep.join([BOOTSTRAP_DIR, *parts])
    env["SAFELOAD_HOOK"] = "1"
    return env


def run_command(argv: Sequence[str]) -> int:
    """Run ``argv`` with the hook active in every Python process it starts; return its exit code.

    The other ``SAFELOAD_*`` variables and ``[tool.safeload]`` configure the hook as usual. Exit codes: the
    command's own; 128+N if it died from signal N; 127 if it was not found, 126 if it could not be run, 2
    for an empty command.
    """
    args = list(argv)
    if args and args[0] == "--":
        args = args[1:]
    if not args:
        sys.stderr.write("usage: safeload run -- COMMAND [ARGS...]\n")
        return 2
    try:
        # running the user's command is the point of the launcher
        process = subprocess.Popen(args, env=bootstrap_env())  # noqa: S603
    except FileNotFoundError:
        sys.stderr.write(f"safeload run: command not found: {args[0]}\n")
        return 127
    except OSError as exc:
        sys.stderr.write(f"safeload run: cannot run {args[0]}: {exc}\n")
        return 126
    while True:
        try:
            code = process.wait()
            break
        except KeyboardInterrupt:  # the child got the SIGINT too; wait for it to finish
            continue
    return code if code >= 0 else 128 - code
