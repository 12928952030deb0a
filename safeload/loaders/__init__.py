"""Safe loaders: same signature and result as the real loader, plus keyword-only ``threshold``, ``trusted``
and ``policy``. Each scans the exact bytes it is about to load and raises before the real loader runs.

Frameworks are imported inside the loader functions only, so ``import safeload`` imports none of them.
"""
