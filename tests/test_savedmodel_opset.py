"""The committed TensorFlow op snapshot (``safeload/catalog/tf_ops.txt``) and its hand review.

Regenerate after a TensorFlow upgrade: ``.venv/bin/python -m safeload.catalog.tf_opset`` (then review every
newly marked op in ``safeload/catalog/tf_ops_review.py``).
"""

from __future__ import annotations

import pytest

from safeload.catalog import tf_ops_review as review
from safeload.catalog.tf_opset import OPS_FILE, needs_review


def test_opset_file_is_sorted_and_plain() -> None:
    lines = [line.split("\t")[0] for line in OPS_FILE.read_text("utf-8").splitlines() if not line.startswith("#")]
    assert lines == sorted(set(lines))
    assert len(review.opset()) > 1800
    assert review.opset_version()


def test_every_marked_op_is_reviewed() -> None:
    """Allowlist first: an op the generator marks for review has a hand-written entry (exact or family)."""
    missing = [name for name, (_stateful, marked) in review.opset().items() if marked and review.review_of(name) is None]
    assert not missing, missing[:40]


def test_reviewed_names_are_real_ops() -> None:
    """An entry naming an op that does not exist would silently never match (a typo)."""
    ops = review.opset()
    assert set(review._ENTRIES) <= set(ops), sorted(set(review._ENTRIES) - set(ops))


@pytest.mark.parametrize(
    ("op", "kind"),
    [
        ("WriteFile", "file_write"),
        ("DumpTensor", "file_write"),
        ("PrintV2", "file_write"),
        ("CacheDatasetV2", "file_write"),
        ("ReadFile", "file_read"),
        ("ImmutableConst", "file_read"),
        ("DecodeProtoV2", "file_read"),
        ("Skipgram", "file_read"),
        ("GenerateVocabRemapping", "file_read"),
        ("FixedUnigramCandidateSampler", "file_read"),
        ("RpcServer", "network"),
        ("RpcClient", "network"),
        ("DataServiceDatasetV4", "network"),
        ("RegisterDatasetV2", "network"),
        ("Abort", "process"),
        ("PyFunc", "python"),
        ("EagerPyFunc", "python"),
        ("SaveV2", "checkpoint"),
        ("MergeV2Checkpoints", "checkpoint"),
        ("InitializeTableFromTextFileV2", "asset_read"),
        ("CreateSummaryFileWriter", "file_write"),
        ("TPUPartitionedCall", "distributed"),
        ("MatMul", None),
        ("Conv2D", None),
        ("StatefulPartitionedCall", "compute"),
        ("VarHandleOp", "compute"),
        ("HashTableV2", "compute"),
    ],
)
def test_review_kinds(op: str, kind: str | None) -> None:
    found = review.review_of(op)
    assert (found.kind if found else None) == kind


def test_needs_review_criteria() -> None:
    assert needs_review("ReadFile", False, ["filename"])
    assert needs_review("AnythingDataset", False, [])
    assert needs_review("Foo", True, [])
    assert not needs_review("MatMul", False, ["a", "b", "transpose_a", "transpose_b", "T"])
    assert not needs_review("ArgMax", False, ["input", "dimension", "output_type"])  # "output" is not "tpu"


@pytest.mark.tensorflow
@pytest.mark.slow
def test_opset_matches_installed_tensorflow() -> None:
    tf = pytest.importorskip("tensorflow")
    from safeload.catalog.tf_opset import generate

    if tf.__version__ != review.opset_version():
        pytest.skip(f"snapshot is for tensorflow {review.opset_version()}, installed {tf.__version__}")
    assert generate() == OPS_FILE.read_text("utf-8")
    raw = {n for n in dir(tf.raw_ops) if not n.startswith("_")}
    assert raw <= set(review.opset()), sorted(raw - set(review.opset()))[:20]
