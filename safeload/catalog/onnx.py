"""The ONNX op policy: which (domain, op) pairs a model may use without native code from outside onnxruntime.

Data, not parsing: ``onnx_ops.txt`` beside this file lists every op of the standard domains (``ai.onnx``,
``ai.onnx.ml``, ``ai.onnx.preview.training``, ``ai.onnx.preview``) from the installed ``onnx``'s schemas, and
onnxruntime's contrib domains (``com.microsoft``, ``com.microsoft.nchwc``, ``com.ms.internal.nhwc``) from
the installed ``onnxruntime``'s schemas, minus the reviewed exceptions below. Regenerate with
``python -m safeload.catalog.onnx > safeload/catalog/onnx_ops.txt`` after upgrading either; a test
checks the file against the installed versions it records.

Review of onnxruntime's contrib ops (what loading or running the op does beyond arithmetic on tensors):

- ``EPContext``: carries a binary compiled for one execution provider (QNN, TensorRT, OpenVINO, ...) inline or
  as a file path relative to the model; that EP runs it. Not inert: reported as needing a custom library.
- ``Snpe``: carries a Qualcomm SNPE DLC program run by the SNPE runtime. Same.
- ``PyOp``, ``PythonOp``, ``PythonOpGrad`` (onnxruntime builds with language interop or training): call a
  Python callable named in the model. Critical; never allowed.
- everything else (attention variants, quantised matmuls, beam search with subgraphs, tokenizer, ...) is
  arithmetic, control flow over subgraphs (scanned like any graph) or string processing: allowed.

Invariant: importing this module imports neither onnx nor onnxruntime (only the generator does).
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path

__all__ = ["CONTRIB_DOMAINS", "PYTHON_OPS", "REVIEWED", "STANDARD_DOMAINS", "known_ops", "render"]

STANDARD_DOMAINS = ("ai.onnx", "ai.onnx.ml", "ai.onnx.preview.training", "ai.onnx.preview")
CONTRIB_DOMAINS = ("com.microsoft", "com.microsoft.nchwc", "com.ms.internal.nhwc")

#: Ops that run Python named by the model (any domain): CRITICAL.
PYTHON_OPS = frozenset({"PyOp", "PythonOp", "PythonOpGrad"})

#: Contrib ops left out of the allowed list after review, with the reason shown in findings.
REVIEWED: dict[tuple[str, str], str] = {
    ("com.microsoft", "EPContext"): "runs a binary precompiled for an execution provider (inline or a file path)",
    ("com.microsoft", "Snpe"): "runs a Qualcomm SNPE program embedded in the model",
}

_DATA = Path(__file__).with_name("onnx_ops.txt")


def canonical_domain(domain: str) -> str:
    """``""`` and ``"ai.onnx"`` are the same domain in ONNX."""
    return "ai.onnx" if domain in ("", "ai.onnx") else domain


@functools.cache
def known_ops() -> dict[str, frozenset[str]]:
    """Domain -> the ops allowed in it, from ``onnx_ops.txt`` (``# `` lines are comments)."""
    table: dict[str, set[str]] = {}
    for line in _DATA.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        domain, _, op = line.partition(" ")
        table.setdefault(domain, set()).add(op)
    return {domain: frozenset(ops) for domain, ops in table.items()}


def recorded_versions() -> dict[str, str]:
    """The package versions ``onnx_ops.txt`` was generated from (``# versions: onnx=1.2 onnxruntime=1.3``)."""
    for line in _DATA.read_text(encoding="utf-8").splitlines():
        if line.startswith("# versions:"):
            return dict(part.split("=", 1) for part in line.split(":", 1)[1].split())
    return {}


def render() -> str:
    """``onnx_ops.txt`` for the installed onnx (and onnxruntime, when importable)."""
    import onnx
    from onnx import defs

    pairs: set[tuple[str, str]] = set()
    versions = {"onnx": onnx.__version__}
    for schema in defs.get_all_schemas_with_history():
        domain = canonical_domain(schema.domain)
        if domain in STANDARD_DOMAINS:
            pairs.add((domain, schema.name))
    try:
        import onnxruntime
        from onnxruntime.capi import _pybind_state
    except ImportError:
        pass
    else:
        versions["onnxruntime"] = onnxruntime.__version__
        for schema in _pybind_state.get_all_operator_schema():
            domain = canonical_domain(schema.domain)
            if domain in (*STANDARD_DOMAINS, *CONTRIB_DOMAINS):
                pairs.add((domain, schema.name))
    pairs = {p for p in pairs if p not in REVIEWED and p[1] not in PYTHON_OPS}
    header = [
        "# ONNX ops a model may use without native code from outside onnxruntime (see onnx.py).",
        "# Generated: python -m safeload.catalog.onnx > safeload/catalog/onnx_ops.txt",
        "# versions: " + " ".join(f"{k}={v}" for k, v in sorted(versions.items())),
    ]
    return "\n".join([*header, *(f"{d} {op}" for d, op in sorted(pairs))]) + "\n"


if __name__ == "__main__":  # pragma: no cover - the generator
    sys.stdout.write(render())
