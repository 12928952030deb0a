"""How each loader reads a file: the interpretations it may take and the bytes it will parse in each.

One module per loader family, each written from the installed loader's source (see
``docs/loaders-procedure.md``):

- ``routing``: every reading a plausible loader may take of one buffer (polyglots included);
- ``miniz`` and ``zipfile_reader``: how ``torch.load`` (miniz) and ``numpy.load``/Keras (CPython's ``zipfile``)
  find an archive's central directory and members;
- ``archives``: where those readers disagree (ambiguity facts);
- ``torch``, ``numpy``, ``keras``, ``joblib``: each loader's procedure (which members it opens by name, which
  bytes it unpickles whatever they look like).

Invariant: these modules produce *facts* (regions, names, disagreements) from bytes alone; they import nothing
named in the data, never run a loader, and leave every decision about severity to ``safeload.rules`` and the
scanners. Sniffing may only add readings: nothing here ever removes one a loader may take.
"""
