"""What every integration scenario script shares: argument handling, the hook, and recording each attempt.

A scenario script is run three ways by ``tests/test_integrations.py``:

    python scn_x.py ROOT build      # no hook: write benign, malicious and control artefacts into ROOT
    python scn_x.py ROOT install    # safeload.install() first thing, then load everything through the library
    safeload run -- python scn_x.py ROOT run    # the hook comes from the launcher's sitecustomize

It prints one ``RESULT {json}`` line: for each entry point, what the benign load returned (checked in the
script against what the library returns without the hook, or against the values saved at build time) and
how the malicious load was refused. Payloads only touch ``ROOT/PWNED`` (must never exist) and, for controls
run after ``uninstall()`` in install mode, ``ROOT/CONTROL_<name>`` (proves the payload is live).
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(sys.argv[1])
MODE = sys.argv[2]
OUT: dict[str, Any] = {"mode": MODE}


def marker(name: str = "PWNED") -> str:
    return str(ROOT / name)


class Payload:
    """A harmless payload: pickling it records ``os.system("touch MARKER")``."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (f"touch {self.path}",))


def start() -> None:
    """Install the hook (install mode) or check the launcher installed it (run mode)."""
    if MODE == "install":
        import safeload

        safeload.install()
    elif MODE == "run":
        import safeload

        if not safeload.is_installed():
            raise SystemExit("safeload run did not install the hook")


def benign(name: str, call: Callable[[], Any], check: Callable[[Any], bool]) -> None:
    """Load a benign artefact; record whether it loaded and returned what the library returns."""
    try:
        value = call()
        OUT[f"benign:{name}"] = bool(check(value))
    except Exception as exc:  # noqa: BLE001 - recorded for the test to show
        OUT[f"benign:{name}"] = f"{type(exc).__name__}: {exc}"[:2000]
        OUT[f"trace:{name}"] = traceback.format_exc()[-3000:]


def malicious(name: str, call: Callable[[], Any]) -> None:
    """Load a malicious artefact; record the refusal (type, first line) or what happened instead."""

    try:
        call()
        OUT[f"evil:{name}"] = {"loaded": True}
    except Exception as exc:  # noqa: BLE001 - recorded for the test to show
        refusal = _refusal_in(exc)
        if refusal is None:
            OUT[f"evil:{name}"] = {"error": f"{type(exc).__name__}: {exc}"[:2000],
                                   "trace": traceback.format_exc()[-3000:]}
        else:
            # a library may wrap the refusal in its own error (transformers: OSError): keep both names
            OUT[f"evil:{name}"] = {"refused": type(refusal).__name__, "message": str(refusal).splitlines()[0],
                                   "source": refusal.result.source,
                                   "raised": type(exc).__name__ if exc is not refusal else None}
    OUT[f"marker_after:{name}"] = os.path.exists(marker())


def _refusal_in(exc: BaseException) -> Any:
    """The ``UnsafeModelError`` that is ``exc`` or that ``exc`` was raised from (cause or context), if any."""
    import safeload

    seen = 0
    current: BaseException | None = exc
    while current is not None and seen < 20:
        if isinstance(current, safeload.UnsafeModelError):
            return current
        current = current.__cause__ or current.__context__
        seen += 1
    return None


def finish() -> None:
    OUT["marker"] = os.path.exists(marker())
    if MODE != "build":
        import safeload

        OUT["hook_errors"] = [e.message for e in safeload.status().errors]
    print("RESULT " + json.dumps(OUT, default=str))
