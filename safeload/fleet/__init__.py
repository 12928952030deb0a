"""Fleet scans: many objects (buckets, prefixes, globs, directories) on Dask distributed, with a resumable
SQLite result store (issue 18; ``docs/scale.md``).

- ``engine``: ``safeload.scan_many`` (one task per object, back-pressure, retries, one result per object);
- ``items``: what the inputs name (lazy listing) and each object's identity;
- ``task``: the scan of one object on a worker;
- ``store``: the result database (keyed by URL, object identity and scanner);
- ``export`` and ``cli``: ``safeload results export`` and the ``safeload scan`` fleet options.

Nothing here is imported by ``import safeload``; Dask and fsspec are imported only when used.
"""
