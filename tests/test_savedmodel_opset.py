"""The committed TensorFlow op set (``safeload/catalog/tf_ops.txt``) matches the installed TensorFlow.

Regenerate after a TensorFlow upgrade: ``.venv/bin/python tests/test_savedmodel_opset.py --write``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

OPS_FILE = Path(__file__).resolve().parent.parent / "safeload" / "catalog" / "tf_ops.txt"


def registered_ops() -> tuple[str, set[str]]:
    """Every op in TensorFlow's C++ registry (what a SavedModel can name), and TF's version."""
    import tensorflow as tf
    from tensorflow.core.framework import op_def_pb2
    from tensorflow.python.client import pywrap_tf_session

    ops = op_def_pb2.OpList()
    ops.ParseFromString(pywrap_tf_session.TF_GetBuffer(pywrap_tf_session.TF_GetAllOpList()))
    return tf.__version__, {op.name for op in ops.op}


def write() -> None:
    version, names = registered_ops()
    lines = [f"# TensorFlow's registered op set, generated from tensorflow-cpu {version} (TF_GetAllOpList).",
             "# Regenerate: .venv/bin/python tests/test_savedmodel_opset.py --write", *sorted(names)]
    OPS_FILE.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_opset_file_is_sorted_and_plain() -> None:
    from safeload.catalog.keras import CHECKPOINT_OPS, FILE_OPS, PYTHON_OPS, READ_ASSET_OPS, tf_ops

    lines = [line for line in OPS_FILE.read_text("utf-8").splitlines() if not line.startswith("#")]
    assert lines == sorted(set(lines))
    ops = tf_ops()
    assert len(ops) > 1000
    # Every op safeload ranks by name is a real TensorFlow op (a typo would silently never match).
    assert ops >= (PYTHON_OPS | CHECKPOINT_OPS | READ_ASSET_OPS)
    assert FILE_OPS - ops <= {"DeleteFile"}  # not a registered op in this build, kept for other builds


@pytest.mark.tensorflow
@pytest.mark.slow
def test_opset_matches_installed_tensorflow() -> None:
    pytest.importorskip("tensorflow")
    import tensorflow as tf

    from safeload.catalog.keras import tf_ops

    _version, names = registered_ops()
    ops = tf_ops()
    raw = {n for n in dir(tf.raw_ops) if not n.startswith("_")}
    assert raw <= ops, sorted(raw - ops)[:20]
    assert names == ops, (sorted(names - ops)[:20], sorted(ops - names)[:20])


if __name__ == "__main__":
    if "--write" in sys.argv:
        write()
