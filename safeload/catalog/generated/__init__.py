"""Generated allowlist and denylist shards (see ``safeload/catalog/entries.py`` for the format).

Written by ``python -m safeload.catalog._generate`` from the installed packages; never edited by hand.
"""
