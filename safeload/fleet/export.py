"""``safeload results export``: the stored results of fleet scans as a report (JSON, SARIF, Markdown, text
through ``safeload.report``'s renderers) or as a Parquet table (pyarrow, optional).

Invariant: export only reads the database and renders; stored results are decoded field by field (nothing is
unpickled), an error row is rendered as an unreadable file (SL007), and a row that does not decode is left out
of the report and counted on stderr, never shown as clean.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

from safeload._targets import error_result
from safeload.findings import ScanResult
from safeload.fleet.store import ResultStore, StoredRow
from safeload.severity import Severity

__all__ = ["export", "export_parquet", "not_a_model", "stored_results"]


def not_a_model(url: str, listed: bool, result: ScanResult) -> bool:
    """A listed object whose content is unknown and whose name is not a model's: reported as skipped (the CLI's
    rule for walked files); an object named explicitly stays unsafe."""
    from safeload.hub import MODEL_EXTENSIONS

    if not listed or result.formats:
        return False
    if os.path.splitext(url.rsplit("/", 1)[-1])[1].lower() in MODEL_EXTENSIONS:
        return False
    return {f.rule_id for f in result.findings if f.severity > Severity.INFO} == {"SL003"}


def stored_results(store: ResultStore) -> Iterator[tuple[StoredRow, ScanResult]]:
    """Every stored row (URL order) with the result a report shows for it."""
    for row in store.rows():
        if row.error is not None or row.result is None:
            yield row, error_result(row.url, row.error or "no stored result")
        else:
            yield row, row.result


def export(path: str | os.PathLike[str], fmt: str, *, threshold: Severity = Severity.MEDIUM,
           root: str | None = None) -> str:
    """The report of every result in the database at ``path``, in ``fmt`` (json, sarif, markdown, text)."""
    from safeload.report import ReportInput, render

    with ResultStore(path) as store:
        pairs = list(stored_results(store))
    results = [result for _, result in pairs]
    digests = {row.url: row.identity.sha256 for row, _ in pairs if row.identity.sha256}
    skipped = frozenset(row.url for row, result in pairs if row.error is None and not_a_model(row.url, row.listed,
                                                                                             result))
    return render(fmt, ReportInput(results=results, threshold=threshold, digests=digests, root=root,
                                   skipped=skipped))


def export_parquet(path: str | os.PathLike[str], output: str | os.PathLike[str],
                   threshold: Severity = Severity.MEDIUM) -> int:
    """One Parquet row per stored object (verdict, findings as JSON, identity, cost); returns the row count."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns: dict[str, list[object]] = {name: [] for name in (
        "url", "verdict", "max_severity", "rules", "findings", "error", "size", "etag", "mtime", "sha256",
        "bytes_fetched", "seconds", "worker", "finished")}
    from safeload.report import ReportInput, status

    with ResultStore(path) as store:
        for row, result in stored_results(store):
            worst = max((f.severity for f in result.findings), default=None)
            columns["url"].append(row.url)
            # the word every other report shows for this object (skipped text and LFS pointers included)
            skipped = () if row.error is not None or not not_a_model(row.url, row.listed, result) else (result.source,)
            columns["verdict"].append("error" if row.error is not None else
                                      status(result, ReportInput(results=(result,), threshold=threshold,
                                                                 skipped=skipped)))
            columns["max_severity"].append(worst.label if worst is not None else None)
            columns["rules"].append(sorted({f.rule_id for f in result.findings}))
            columns["findings"].append(json.dumps([f.to_dict() for f in result.findings], ensure_ascii=True))
            columns["error"].append(row.error)
            columns["size"].append(row.identity.size)
            columns["etag"].append(row.identity.etag)
            columns["mtime"].append(row.identity.mtime)
            columns["sha256"].append(row.identity.sha256)
            columns["bytes_fetched"].append(row.bytes_fetched)
            columns["seconds"].append(row.seconds)
            columns["worker"].append(row.worker)
            columns["finished"].append(row.finished)
    table = pa.table(columns)
    pq.write_table(table, os.fspath(output))
    return int(table.num_rows)
