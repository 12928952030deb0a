"""``python -m safeload``: the same as the ``safeload`` console script."""

from __future__ import annotations

import sys

from safeload.cli import main

if __name__ == "__main__":
    sys.exit(main())
