"""Generate ``tf_ops.txt``: TensorFlow's registered op set, with the ops that need a hand review marked.

Run ``python -m safeload.catalog.tf_opset`` (``--check`` only compares) in an environment with the pinned
``tensorflow-cpu``. It introspects TensorFlow's C++ op registry (``TF_GetAllOpList``, the same registry
``tensorflow.python.framework.op_def_registry`` reads, and a superset of ``tf.raw_ops``) and writes one line
per op: ``name<TAB>stateful<TAB>review``. ``review`` is ``1`` for every op that *could* touch files, the
network, the process, Python or native code, found systematically rather than one at a time:

- the op is marked stateful in its ``OpDef`` (side effects are only possible for stateful ops, with the
  exception of the few stateless ops caught by the next rule);
- its name, an input name or an attribute name matches :data:`SUSPECT` (file, path, dir, pattern, address,
  stream, library, url, host, server, rpc, debug, summary, writer, reader, record, checkpoint, save,
  restore, dump, print, abort, py, proto, vocab, region, sql, snapshot, cache, service, ...);
- it is a dataset source (a name ending in ``Dataset``/``DatasetV<n>``).

Every op marked ``1`` must have an entry in :mod:`safeload.catalog.tf_ops_review` (checked by
``tests/test_savedmodel_opset.py``); ops marked ``0`` are pure computations and allowed. Invariant: importing
this module imports nothing heavy; TensorFlow is imported only when the generator runs.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

__all__ = ["OPS_FILE", "SUSPECT", "generate", "main", "needs_review"]

OPS_FILE = Path(__file__).resolve().parent / "tf_ops.txt"

SUSPECT = re.compile(
    r"file|path|dir|pattern|address|stream|librar|url|host|port|socket|prefix|server|rpc|debug|summar|"
    r"writer|reader|record|shard|checkpoint|save|restore|dump|print|log|abort|py|env|command|exec|system|"
    r"snapshot|cache|service|job|device|sql|lmdb|csv|proto|vocab|text|distrib|coord|region|memory|sleep|"
    r"remote|send|recv|custom|mlir|module|target|(?<!ou)tpu|xla|nccl|collective|infeed|outfeed|config",
    re.IGNORECASE,
)
_DATASET = re.compile(r"Dataset(V\d+)?$")


def needs_review(name: str, stateful: bool, names: list[str]) -> bool:
    """The systematic criteria above, applied to one ``OpDef``."""
    if stateful or _DATASET.search(name):
        return True
    return any(SUSPECT.search(text) for text in (name, *names))


def _registry() -> tuple[str, list[Any]]:
    import tensorflow as tf
    from tensorflow.core.framework import op_def_pb2
    from tensorflow.python.client import pywrap_tf_session

    ops = op_def_pb2.OpList()
    ops.ParseFromString(pywrap_tf_session.TF_GetBuffer(pywrap_tf_session.TF_GetAllOpList()))
    return str(tf.__version__), list(ops.op)


def generate() -> str:
    """The text of ``tf_ops.txt`` for the installed TensorFlow."""
    version, ops = _registry()
    lines = [
        f"# TensorFlow's registered op set, generated from tensorflow-cpu {version} (TF_GetAllOpList).",
        "# Regenerate: python -m safeload.catalog.tf_opset",
        "# name<TAB>stateful<TAB>review (1: reviewed by hand in tf_ops_review.py; 0: pure computation)",
        f"#version\t{version}",
    ]
    for op in sorted(ops, key=lambda o: o.name):
        names = [a.name for a in op.input_arg] + [a.name for a in op.attr]
        review = needs_review(op.name, op.is_stateful, names)
        lines.append(f"{op.name}\t{int(op.is_stateful)}\t{int(review)}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m safeload.catalog.tf_opset", description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="compare with the committed file, write nothing")
    args = parser.parse_args(argv)
    text = generate()
    if args.check:
        same = OPS_FILE.read_text("utf-8") == text
        print("tf_ops.txt is up to date" if same else "tf_ops.txt differs from the installed TensorFlow")
        return 0 if same else 1
    OPS_FILE.write_text(text, encoding="utf-8")
    print(f"wrote {OPS_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
