"""Keras 3.15's procedure (``saving_api.load_model``, ``saving_lib``), as facts the scanners follow.

- ``*.keras`` (and any file ``zipfile.is_zipfile`` accepts under that name): opened with ``zipfile`` (see
  ``containers.zipfile_reader``); ``config.json`` is read by exact name, the last record of that name winning,
  and deserialized (this is where Lambda bytecode and module references run); then ``model.weights.h5`` (h5py)
  or ``model.weights.npz`` (``numpy.load`` without pickles) and ``assets/``. ``metadata.json`` is never read.
- ``*.h5``/``*.hdf5``: h5py, the ``model_config`` attribute.
- a directory holding ``config.json``: the same files, from the directory.

Invariant: facts only; ``is_keras_dir`` reads at most ``_PEEK`` bytes of one JSON file and evaluates nothing.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["CONFIG", "METADATA", "is_keras_dir"]

CONFIG = "config.json"
METADATA = "metadata.json"
_PEEK = 64 << 20


def is_keras_dir(path: Path) -> bool:
    """A directory in Keras' directory format: ``config.json`` holds a serialized Keras object (a JSON object
    with ``class_name``, as ``keras.saving.serialize_keras_object`` writes every model), and it is not a
    SavedModel (``saved_model.pb`` or ``saved_model.pbtxt`` is read first). An oversized or unreadable config
    counts: Keras would read it.

    A ``config.json`` of another kind (a Hugging Face model's) does not make its directory a Keras model.
    """
    config = path / CONFIG
    try:
        if not config.is_file() or (path / "saved_model.pb").is_file() or (path / "saved_model.pbtxt").is_file():
            return False
    except OSError:  # a config that cannot even be stat'ed (a path beyond PATH_MAX...) counts, like an unreadable one
        return True
    try:
        with open(config, "rb") as handle:
            raw = handle.read(_PEEK + 1)
    except OSError:
        return True
    if len(raw) > _PEEK:
        return True
    try:
        import json  # only for a directory with a config.json (issue 15: fixed costs)

        value = json.loads(raw)
    except (ValueError, RecursionError):
        return False  # not JSON: Keras fails on it before deserializing anything
    return isinstance(value, dict) and "class_name" in value
