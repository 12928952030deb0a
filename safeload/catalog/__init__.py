"""The global catalogue: what the pickle engine knows about importable names.

Invariant: this package is data plus pure lookups. Nothing here imports, resolves or calls a name it
classifies; a name is a string and stays a string.
"""
