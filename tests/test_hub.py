"""Hugging Face: remote scans against a fake hub on 127.0.0.1, offline mode, and the local cache walk."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from safeload import cli, hub

pytest.importorskip("huggingface_hub")

SHA = "a" * 40
SHA_V1 = "b" * 40


class _Payload:
    """Pickles to ``os.system(command)``; never unpickled by these tests."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (self.command,))


@dataclass
class FakeHub:
    url: str
    repos: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    authorization: list[str | None] = field(default_factory=list)

    def add(self, repo_id: str, files: dict[str, bytes], sha: str = SHA,
            revisions: dict[str, str] | None = None) -> None:
        revs = {"main": sha, sha: sha, **(revisions or {})}
        revs.update({commit: commit for commit in list(revs.values())})
        self.repos[repo_id] = {"sha": sha, "files": files, "revisions": revs}


def _handler(state: FakeHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(self, code: int, body: bytes, headers: dict[str, str], head: bool) -> None:
            self.send_response(code)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if not head:
                self.wfile.write(body)

        def _route(self, head: bool) -> None:
            path = unquote(self.path.split("?", 1)[0])
            state.requests.append((self.command, path))
            state.authorization.append(self.headers.get("Authorization"))
            if path.startswith("/api/models/"):
                rest = path[len("/api/models/"):]
                repo_id, _, rev = rest.partition("/revision/")
                repo = state.repos.get(repo_id)
                sha = repo["revisions"].get(rev or "main") if repo else None
                if repo is None or sha is None:
                    headers = {"Content-Type": "application/json", "X-Error-Code": "RepositoryNotFound"}
                    self._send(404, b'{"error": "Repository not found"}', headers, head)
                    return
                body = json.dumps({"id": repo_id, "modelId": repo_id, "sha": sha, "private": False,
                                   "siblings": [{"rfilename": n} for n in sorted(repo["files"])]}).encode()
                self._send(200, body, {"Content-Type": "application/json"}, head)
                return
            for repo_id, repo in state.repos.items():
                prefix = f"/{repo_id}/resolve/"
                if path.startswith(prefix):
                    rev, _, filename = path[len(prefix):].partition("/")
                    sha = repo["revisions"].get(rev)
                    content = repo["files"].get(filename)
                    if sha is None or content is None:
                        self._send(404, b"not found", {"X-Error-Code": "EntryNotFound"}, head)
                        return
                    etag = hashlib.sha256(content).hexdigest()
                    self._send(200, content, {"X-Repo-Commit": sha, "ETag": f'"{etag}"',
                                              "Content-Type": "application/octet-stream"}, head)
                    return
            self._send(404, b"not found", {}, head)

        def do_GET(self) -> None:
            self._route(head=False)

        def do_HEAD(self) -> None:
            self._route(head=True)

    return Handler


@pytest.fixture(scope="session")
def fake_hub() -> Iterator[FakeHub]:
    state = FakeHub(url="")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def hf_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "hf-cache"
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    return cache


def _scan_json(args: list[str], tmp_path: Path) -> tuple[int, dict[str, Any]]:
    out = tmp_path / "report.json"
    code = cli.main(["scan", "--format", "json", "-o", str(out), "--no-progress", *args])
    return code, json.loads(out.read_text(encoding="utf-8"))


def _by_name(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["source"].rsplit("/", 1)[-1]: r for r in report["results"]}


def test_remote_scan_flags_malicious_and_skips_docs(fake_hub: FakeHub, hf_env: Path, tmp_path: Path,
                                                    marker: Any) -> None:
    fake_hub.add("org/mixed", {
        "README.md": b"# a model card\n",
        "config.json": b"{}",
        "good.pkl": pickle.dumps({"weights": [1.0, 2.0]}),
        "evil.bin": pickle.dumps(_Payload(marker.shell)),
    })
    code, report = _scan_json(["hf://org/mixed", "--hf-endpoint", fake_hub.url], tmp_path)
    assert code == 1
    results = _by_name(report)
    assert results["evil.bin"]["status"] == "unsafe"
    assert results["evil.bin"]["source"] == f"hf://org/mixed@{SHA}/evil.bin"
    assert any(f["rule_id"] == "SL101" for f in results["evil.bin"]["findings"])
    assert results["good.pkl"]["status"] == "safe"
    assert results["README.md"]["status"] == "skipped"
    assert results["config.json"]["status"] == "skipped"
    downloaded = {p for m, p in fake_hub.requests if m == "GET" and "/resolve/" in p}
    assert not any(p.endswith(("README.md", "config.json")) for p in downloaded)
    assert any(p.endswith("evil.bin") for p in downloaded)
    # Downloads landed in the cache we pointed at, in the standard layout.
    assert (hf_env / "models--org--mixed" / "snapshots" / SHA / "evil.bin").exists()
    assert not marker.exists()


def test_remote_scan_revision_and_endpoint_from_env(fake_hub: FakeHub, hf_env: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    fake_hub.add("org/revs", {"model.pkl": pickle.dumps([1, 2, 3])}, revisions={"v1": SHA_V1})
    monkeypatch.setenv("HF_ENDPOINT", fake_hub.url)
    code, report = _scan_json(["hf://org/revs@v1"], tmp_path)
    assert code == 0
    assert report["results"][0]["source"] == f"hf://org/revs@{SHA_V1}/model.pkl"
    assert ("GET", "/api/models/org/revs/revision/v1") in fake_hub.requests


def test_remote_missing_repo_is_an_error(fake_hub: FakeHub, hf_env: Path, tmp_path: Path) -> None:
    code, report = _scan_json(["hf://org/does-not-exist", "--hf-endpoint", fake_hub.url], tmp_path)
    assert code == 2
    assert report["results"][0]["status"] == "error"


def test_bad_repo_id_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["scan", "hf://../../etc"]) == 2
    assert "exit 2" in capsys.readouterr().err.strip().splitlines()[-1]


def test_offline_mode_scans_only_the_cache(fake_hub: FakeHub, hf_env: Path, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch, marker: Any) -> None:
    fake_hub.add("org/offline", {"evil.pkl": pickle.dumps(_Payload(marker.shell)), "ok.pkl": pickle.dumps(1)})
    code, _ = _scan_json(["hf://org/offline", "--hf-endpoint", fake_hub.url], tmp_path)
    assert code == 1
    before = len(fake_hub.requests)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    code, report = _scan_json(["hf://org/offline", "--hf-endpoint", fake_hub.url], tmp_path)
    assert len(fake_hub.requests) == before  # nothing fetched
    assert code == 1
    assert _by_name(report)["evil.pkl"]["status"] == "unsafe"
    assert _by_name(report)["ok.pkl"]["status"] == "safe"
    # A repo that is not cached is an error offline, not "clean".
    code, report = _scan_json(["hf://org/never-fetched"], tmp_path)
    assert code == 2


def test_endpoint_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    assert hub.resolve_endpoint(None, {}) == hub.DEFAULT_ENDPOINT
    assert hub.resolve_endpoint(None, {"HF_ENDPOINT": "http://a/"}) == "http://a"
    assert hub.resolve_endpoint(None, {"HF_ENDPOINT": "http://a", "SAFELOAD_HF_ENDPOINT": "http://b"}) == "http://b"
    assert hub.resolve_endpoint("http://c", {"HF_ENDPOINT": "http://a"}) == "http://c"
    assert hub.is_offline({"HF_HUB_OFFLINE": "YES"})
    assert not hub.is_offline({"HF_HUB_OFFLINE": "0"})


def test_cache_root_resolution(tmp_path: Path) -> None:
    assert hub.cache_root(None, {"HF_HUB_CACHE": str(tmp_path)}) == tmp_path
    assert hub.cache_root(None, {"HF_HOME": str(tmp_path)}) == tmp_path / "hub"
    assert hub.cache_root(None, {"XDG_CACHE_HOME": str(tmp_path)}) == tmp_path / "huggingface" / "hub"
    assert hub.cache_root(str(tmp_path / "x"), {"HF_HUB_CACHE": "/elsewhere"}) == tmp_path / "x"


# -- cache walk ----------------------------------------------------------------------------------------------
def _build_cache(root: Path, files: dict[str, bytes], *, symlinks: bool, repo: str = "models--org--name",
                 snapshots: tuple[str, ...] = (SHA,)) -> Path:
    repo_dir = root / repo
    (repo_dir / "refs").mkdir(parents=True)
    (repo_dir / "refs" / "main").write_text(snapshots[0], encoding="ascii")
    blobs = repo_dir / "blobs"
    blobs.mkdir()
    for sha in snapshots:
        snap = repo_dir / "snapshots" / sha
        for name, content in files.items():
            target = snap / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if symlinks:
                blob = blobs / hashlib.sha256(content).hexdigest()
                blob.write_bytes(content)
                target.symlink_to(os.path.relpath(blob, target.parent))
            else:
                target.write_bytes(content)
    return repo_dir


def test_cache_walk_symlink_mode_dedupes_blobs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               marker: Any) -> None:
    root = tmp_path / "hub"
    evil = pickle.dumps(_Payload(marker.shell))
    _build_cache(root, {"evil.pkl": evil, "sub/ok.pkl": pickle.dumps([1]), "README.md": b"hi"}, symlinks=True,
                 snapshots=(SHA, SHA_V1))
    calls: list[str] = []
    real_scan = cli.scan_target

    def counting(path: str, *args: Any, **kwargs: Any) -> Any:
        calls.append(path)
        return real_scan(path, *args, **kwargs)

    monkeypatch.setattr(cli, "scan_target", counting)
    code, report = _scan_json(["--hf-cache", str(root)], tmp_path)
    assert code == 1
    assert len(calls) == len(set(calls)) == 3  # each blob scanned once
    sources = [r["source"] for r in report["results"]]
    for sha in (SHA, SHA_V1):  # reported under every snapshot path
        assert str(root / "models--org--name" / "snapshots" / sha / "evil.pkl") in sources
        assert str(root / "models--org--name" / "snapshots" / sha / "sub" / "ok.pkl") in sources
    statuses = {Path(r["source"]).name + r["source"][-50:-45]: r["status"] for r in report["results"]}
    assert "unsafe" in statuses.values()
    readme = [r for r in report["results"] if r["source"].endswith("README.md")]
    assert {r["status"] for r in readme} == {"skipped"}
    assert not marker.exists()


def test_cache_walk_copy_mode(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, marker: Any) -> None:
    root = tmp_path / "hub"
    _build_cache(root, {"evil.pkl": pickle.dumps(_Payload(marker.shell)), "ok.pkl": pickle.dumps({"a": 1})},
                 symlinks=False)
    monkeypatch.setenv("HF_HUB_CACHE", str(root))
    code, report = _scan_json(["--hf-cache"], tmp_path)
    assert code == 1
    results = _by_name(report)
    assert results["evil.pkl"]["status"] == "unsafe"
    assert results["ok.pkl"]["status"] == "safe"


def test_cache_walk_refuses_links_leaving_the_cache(tmp_path: Path) -> None:
    root = tmp_path / "hub"
    repo = _build_cache(root, {"ok.pkl": pickle.dumps(1)}, symlinks=True)
    outside = tmp_path / "outside.pkl"
    outside.write_bytes(pickle.dumps(2))
    (repo / "snapshots" / SHA / "escape.pkl").symlink_to(outside)
    code, report = _scan_json(["--hf-cache", str(root)], tmp_path)
    assert code == 1
    escape = _by_name(report)["escape.pkl"]
    assert escape["status"] == "unsafe"
    assert [f["rule_id"] for f in escape["findings"]] == ["SL008"]
    assert _by_name(report)["ok.pkl"]["status"] == "safe"


def test_missing_cache_is_an_error(tmp_path: Path) -> None:
    code, report = _scan_json(["--hf-cache", str(tmp_path / "nope")], tmp_path)
    assert code == 2
    assert report["results"][0]["status"] == "error"


def test_worth_downloading() -> None:
    assert not hub.worth_downloading("README.md")
    assert not hub.worth_downloading("model.safetensors")
    assert not hub.worth_downloading("sub/config.json")
    assert hub.worth_downloading("pytorch_model.bin")
    assert hub.worth_downloading("weights.unknownext")
    assert hub.worth_downloading("modeling_custom.py")


def test_listed_names_escaping_the_repo_are_refused(fake_hub: FakeHub, hf_env: Path, tmp_path: Path) -> None:
    fake_hub.add("org/traversal", {"../../escape.pkl": pickle.dumps(1), "ok.pkl": pickle.dumps(2)})
    code, report = _scan_json(["hf://org/traversal", "--hf-endpoint", fake_hub.url], tmp_path)
    assert code == 2
    bad = next(r for r in report["results"] if "escape" in r["source"])
    assert bad["status"] == "error"
    assert not (tmp_path / "escape.pkl").exists()
    assert _by_name(report)["ok.pkl"]["status"] == "safe"


def test_hf_token_is_sent(fake_hub: FakeHub, hf_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_hub.add("org/private", {"ok.pkl": pickle.dumps(1)})
    monkeypatch.setenv("HF_TOKEN", "hf_test_token_123")
    start = len(fake_hub.authorization)
    code, _ = _scan_json(["hf://org/private", "--hf-endpoint", fake_hub.url], tmp_path)
    assert code == 0
    sent = fake_hub.authorization[start:]
    assert sent
    assert all(value == "Bearer hf_test_token_123" for value in sent)
