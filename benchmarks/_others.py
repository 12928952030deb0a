"""Time the other scanners on a file when they are installed (benchmark-only; never runtime dependencies)."""

from __future__ import annotations

import time
from pathlib import Path


def picklescan_seconds(path: Path) -> float | None:
    try:
        from picklescan.scanner import scan_file_path
    except ImportError:
        return None
    start = time.perf_counter()
    scan_file_path(str(path))
    return time.perf_counter() - start


def fickling_seconds(path: Path) -> float | None:
    try:
        import fickling
    except ImportError:
        return None
    start = time.perf_counter()
    fickling.scan_file(str(path), graceful=True)
    return time.perf_counter() - start


def fmt(seconds: float | None, reference: float) -> str:
    """``1.234 (5.6x)``: the other tool's time and its ratio to safeload's scan, or ``n/a``."""
    if seconds is None:
        return "n/a"
    return f"{seconds:.3f} ({seconds / reference:.1f}x)"
