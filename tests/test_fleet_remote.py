"""Remote objects scanned by byte ranges (safeload/sources/) over a real HTTP server on 127.0.0.1: what is
skipped is never fetched, what decides is always read, and a server that mangles ranges is an error, never
a clean result. Payloads are harmless (they would touch a marker file)."""

from __future__ import annotations

import io
import os
import pickle
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import safeload
from safeload import Severity, Verdict
from safeload.fleet.engine import scan_many
from tests.builders import call_pickle
from tests.conftest import Marker
from tests.fleet_servers import RangeServer, range_server

pytest.importorskip("fsspec")
pytest.importorskip("aiohttp")
np = pytest.importorskip("numpy")
joblib = pytest.importorskip("joblib")


class _Payload:
    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (self.command,))


@pytest.fixture
def www(tmp_path: Path) -> Iterator[tuple[Path, RangeServer]]:
    root = tmp_path / "www"
    root.mkdir()
    with range_server(root) as server:
        yield root, server


def _one(url: str) -> Any:
    (found,) = list(scan_many([url]))
    assert found.status == "scanned", found.error
    return found


def test_joblib_inline_arrays_are_skipped_unread(www: tuple[Path, RangeServer]) -> None:
    root, server = www
    joblib.dump({"coef": [np.zeros((64, 1024), dtype=np.float32) for _ in range(24)], "n": 3},
                root / "model.joblib")  # 24 arrays of 256 KB
    found = _one(server.url("model.joblib"))
    size = (root / "model.joblib").stat().st_size
    assert found.result.verdict(Severity.MEDIUM) is Verdict.SAFE
    assert found.bytes_fetched < 0.05 * size
    assert server.bytes_served("model.joblib") < 0.05 * size  # what the server sent, not what we counted


def test_joblib_payload_after_the_arrays_is_found(www: tuple[Path, RangeServer], marker: Marker) -> None:
    root, server = www
    # the payload sits after the last skipped array, and after 100 KB of ordinary pickle beyond the read-ahead
    joblib.dump({"coef": [np.zeros((64, 1024), dtype=np.float32) for _ in range(8)],
                 "pad": list(range(30_000)), "x": _Payload(marker.shell)}, root / "evil.joblib")
    found = _one(server.url("evil.joblib"))
    assert found.result.verdict(Severity.MEDIUM) is Verdict.UNSAFE
    assert "SL101" in {f.rule_id for f in found.result.findings}
    local = safeload.scan(root / "evil.joblib")
    assert {f.rule_id for f in found.result.findings} == {f.rule_id for f in local.findings}


def test_torch_payload_member_is_found_and_storages_never_fetched(www: tuple[Path, RangeServer],
                                                                  marker: Marker) -> None:
    torch = pytest.importorskip("torch")
    root, server = www
    buffer = io.BytesIO()
    torch.save({"w": torch.zeros(1_000_000), "x": _Payload(marker.shell)}, buffer)
    (root / "evil.pt").write_bytes(buffer.getvalue())
    found = _one(server.url("evil.pt"))
    assert found.result.verdict(Severity.MEDIUM) is Verdict.UNSAFE
    assert found.bytes_fetched < 1_000_000  # the 4 MB storage was not fetched


def test_same_verdicts_as_a_local_scan(www: tuple[Path, RangeServer], marker: Marker) -> None:
    root, server = www
    files = {"a.pkl": call_pickle("os", "system", marker.shell), "b.pkl": pickle.dumps({"k": [1, 2]}, 4),
             "c.npy": None, "d.txt": b"hello\n", "e.pkl": call_pickle("builtins", "eval", "1+1")}
    for name, data in files.items():
        if data is None:
            np.save(root / name, np.arange(10))
        else:
            (root / name).write_bytes(data)
    for name in files:
        remote = _one(server.url(name)).result
        local = safeload.scan(root / name)
        assert remote.verdict(Severity.MEDIUM) == local.verdict(Severity.MEDIUM), name
        assert sorted(f.rule_id for f in remote.findings) == sorted(f.rule_id for f in local.findings), name


def test_an_object_changed_while_scanned_is_rescanned_under_its_new_identity(
        www: tuple[Path, RangeServer], marker: Marker, tmp_path: Path) -> None:
    root, server = www
    (root / "m.pkl").write_bytes(pickle.dumps({"k": 1}, 4))
    evil = tmp_path / "evil.pkl"
    evil.write_bytes(call_pickle("os", "system", marker.shell))
    swapped = False
    original = server.fail_get  # swap the file right after the first ranged read is answered

    class Swap(dict[str, int]):
        def get(self, key: str, default: Any = None) -> Any:
            nonlocal swapped
            if key == "m.pkl" and not swapped:
                swapped = True
                shutil.copy(evil, root / "m.pkl")
                os.utime(root / "m.pkl", ns=(10**18, 10**18))
            return original.get(key, default)

    server.fail_get = Swap()
    found = _one(server.url("m.pkl"))
    assert swapped
    assert found.attempts == 2  # the first scan was void: the object changed under it
    assert found.result.verdict(Severity.MEDIUM) is Verdict.UNSAFE
    assert found.identity.mtime is not None and "2001" in found.identity.mtime


def test_local_tree_same_targets_and_verdicts_as_the_cli_walk(tmp_path: Path, marker: Marker,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from safeload.cli import main
    from safeload.fleet.export import not_a_model
    from safeload.report import ReportInput, status

    root = tmp_path / "tree"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "evil.pkl").write_bytes(call_pickle("os", "system", marker.shell))
    (root / "good.pkl").write_bytes(pickle.dumps([1, 2], 4))
    (root / "notes.md").write_text("# notes\n")
    (root / "link.pkl").symlink_to(root / "sub" / "evil.pkl")      # a link to a file: scanned
    (root / "dangling.pkl").symlink_to(root / "missing.pkl")       # a dangling link: an error
    os.mkfifo(root / "pipe")                                       # never opened
    saved = root / "sm"
    saved.mkdir()
    (saved / "saved_model.pb").write_bytes(b"\x08\x01")            # one unit, as the CLI scans it
    assert main(["scan", str(root), "-f", "json", "--no-cache"]) == 2
    cli = {r["source"]: r["status"] for r in json.loads(capsys.readouterr().out)["results"]}
    found = list(scan_many([str(root)]))
    report = ReportInput(results=[f.result for f in found],
                         skipped=frozenset(f.url for f in found if not_a_model(f.url, f.listed, f.result)))
    fleet = {f.url: status(f.result, report) for f in found}
    assert fleet == cli
    assert fleet[str(root / "link.pkl")] == "unsafe"
    assert fleet[str(root / "dangling.pkl")] == "error"
    assert fleet[str(root / "notes.md")] == "skipped"
