"""The catalogue generator's parts (a developer tool: ``python -m safeload.catalog._generate``).

Invariant: nothing in this package is imported by a scan. It imports and introspects the *installed* packages
(the environment is trusted, the scanned file is not) to write the data shards under ``catalog/generated/``;
the scanner only ever reads those shards as strings.
"""
