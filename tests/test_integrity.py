"""Integrity on load: pinned sha256, directory manifests, the lock file, trust by digest, reports and audit.

Every model is built at test time with the real framework. Malicious files carry harmless payloads that only
touch ``marker.path``; each such test checks the refusal and that the marker is absent. "Nothing was loaded"
is checked with a spy on the real loader (the real function, recorded through safeload's own ORIGINALS table),
never with a stand-in.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import io
import json
import logging
import os
import pickle
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import safeload
from safeload import cli
from safeload.integrity.lockfile import read_lock
from safeload.integrity.manifest import directory_manifest
from safeload.loaders._common import ORIGINALS, real_loader
from tests.builders import call_pickle
from tests.conftest import Marker

ROOT = Path(__file__).resolve().parents[1]


def sha256(path: Path | bytes) -> str:
    data = path if isinstance(path, bytes) else path.read_bytes()
    return hashlib.sha256(data).hexdigest()


def flip_byte(path: Path, offset: int | None = None) -> None:
    data = bytearray(path.read_bytes())
    where = len(data) // 2 if offset is None else offset
    data[where] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.fixture
def spy() -> Iterator[Callable[[str, str], list[Any]]]:
    """Record calls to a real loader (the real function still runs); restores ORIGINALS afterwards."""
    saved = dict(ORIGINALS)

    def install(module: str, attr: str) -> list[Any]:
        real = real_loader(module, attr)
        calls: list[Any] = []

        @functools.wraps(real)  # keeps the signature, which loaders inspect
        def recording(*args: Any, **kwargs: Any) -> Any:
            calls.append(args)
            return real(*args, **kwargs)

        ORIGINALS[(module, attr)] = recording
        return calls

    yield install
    ORIGINALS.clear()
    ORIGINALS.update(saved)


@pytest.fixture
def torch_file(tmp_path: Path) -> Path:
    torch = pytest.importorskip("torch")
    path = tmp_path / "net.pt"
    torch.save({"w": torch.arange(6, dtype=torch.float32)}, path)
    return path


def evil_pickle(marker: Marker) -> bytes:
    return call_pickle("os", "system", marker.shell)


# -- pinned digests on loaders ----------------------------------------------------------------------------
# Every public loader (and scan): a loader added later without the integrity keywords fails here.
LOADERS = sorted(name for name in safeload.__all__
                 if name.endswith(("_load", "_loads", "_read_pickle")) or name == "scan")
INTEGRITY_ARGS = ["expected_sha256", "signature", "public_key", "certificate", "integrity"]


def test_the_loader_list_is_discovered() -> None:
    assert {"torch_load", "joblib_load", "keras_load", "pickle_loads", "tf_saved_model_load", "scan"} <= set(LOADERS)


@pytest.mark.parametrize("name", LOADERS)
def test_every_loader_takes_the_same_keyword_only_integrity_arguments(name: str) -> None:
    params = inspect.signature(getattr(safeload, name)).parameters
    for arg in INTEGRITY_ARGS:
        assert arg in params, f"{name} lacks {arg}="
        assert params[arg].kind is inspect.Parameter.KEYWORD_ONLY
        assert params[arg].default is None


def test_torch_load_with_the_right_digest_loads(torch_file: Path) -> None:
    state = safeload.torch_load(torch_file, expected_sha256=sha256(torch_file))
    assert state["w"].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    state = safeload.torch_load(torch_file, expected_sha256="SHA256:" + sha256(torch_file).upper())
    assert state["w"].shape == (6,)


def test_one_flipped_byte_refuses_before_torch_runs(torch_file: Path, spy: Any) -> None:
    pinned = sha256(torch_file)
    flip_byte(torch_file, offset=torch_file.stat().st_size - 200)  # inside the zip, after the pickle
    calls = spy("torch", "load")
    with pytest.raises(safeload.IntegrityError) as info:
        safeload.torch_load(torch_file, expected_sha256=pinned)
    err = info.value
    assert calls == []
    assert isinstance(err, safeload.UnsafeModelError)
    assert err.check == "sha256"
    assert err.expected == pinned
    assert err.actual == sha256(torch_file)
    assert pinned in str(err) and err.actual in str(err)
    assert "Nothing was loaded" in str(err)


def test_file_object_and_mmap_paths_are_checked(torch_file: Path, spy: Any) -> None:
    pinned = sha256(torch_file)
    with open(torch_file, "rb") as handle:
        assert safeload.torch_load(handle, expected_sha256=pinned)["w"].shape == (6,)
    assert safeload.torch_load(torch_file, mmap=True, expected_sha256=pinned)["w"].shape == (6,)
    calls = spy("torch", "load")
    with pytest.raises(safeload.IntegrityError), open(torch_file, "rb") as handle:
        safeload.torch_load(handle, expected_sha256="0" * 64)
    with pytest.raises(safeload.IntegrityError):
        safeload.torch_load(torch_file, mmap=True, expected_sha256="0" * 64)
    assert calls == []


def test_safetensors_paths_are_checked_too(tmp_path: Path, spy: Any) -> None:
    pytest.importorskip("safetensors")
    torch = pytest.importorskip("torch")
    from safetensors.torch import save_file

    path = tmp_path / "w.safetensors"
    save_file({"w": torch.ones(2)}, str(path))
    assert safeload.torch_load(path, expected_sha256=sha256(path))["w"].tolist() == [1.0, 1.0]
    calls = spy("torch", "load")
    with pytest.raises(safeload.IntegrityError):
        safeload.torch_load(path, expected_sha256="1" * 64)
    assert calls == []


def test_a_malicious_file_with_a_matching_pin_is_still_refused_by_the_scan(tmp_path: Path,
                                                                            marker: Marker) -> None:
    path = tmp_path / "evil.pkl"
    path.write_bytes(evil_pickle(marker))
    with pytest.raises(safeload.UnsafeModelError) as info, open(path, "rb") as handle:
        safeload.pickle_load(handle, expected_sha256=sha256(path))
    assert not isinstance(info.value, safeload.IntegrityError)  # the digest matched; the scan refused
    assert any(f.rule_id == "SL101" for f in info.value.findings)


def _pickle_cases(tmp_path: Path) -> list[tuple[str, Callable[[str], Any], bytes]]:
    data = pickle.dumps({"a": [1, 2, 3]}, protocol=4)
    path = tmp_path / "obj.pkl"
    path.write_bytes(data)

    def from_file(loader: Callable[..., Any]) -> Callable[[str], Any]:
        def run(digest: str) -> Any:
            with open(path, "rb") as handle:
                return loader(handle, expected_sha256=digest)
        return run

    cases: list[tuple[str, Callable[[str], Any], bytes]] = [
        ("pickle_load", from_file(safeload.pickle_load), data),
        ("pickle_loads", lambda d: safeload.pickle_loads(data, expected_sha256=d), data),
    ]
    if _importable("dill"):
        cases += [("dill_load", from_file(safeload.dill_load), data),
                  ("dill_loads", lambda d: safeload.dill_loads(data, expected_sha256=d), data)]
    if _importable("cloudpickle"):
        cases += [("cloudpickle_load", from_file(safeload.cloudpickle_load), data),
                  ("cloudpickle_loads", lambda d: safeload.cloudpickle_loads(data, expected_sha256=d), data)]
    return cases


def _importable(name: str) -> bool:
    try:
        __import__(name)
    except ImportError:
        return False
    return True


def test_pickle_family_loaders_check_the_digest(tmp_path: Path, marker: Marker) -> None:
    for name, run, data in _pickle_cases(tmp_path):
        assert run(sha256(data)) == {"a": [1, 2, 3]}, name
        with pytest.raises(safeload.IntegrityError) as info:
            run("ab" * 32)
        assert info.value.actual == sha256(data), name


def test_joblib_plain_and_compressed_check_the_digest(tmp_path: Path, spy: Any) -> None:
    joblib = pytest.importorskip("joblib")
    np = pytest.importorskip("numpy")
    for compress in (0, 3):
        path = tmp_path / f"est{compress}.joblib"
        joblib.dump({"coef": np.arange(1000.0)}, path, compress=compress)
        assert safeload.joblib_load(path, expected_sha256=sha256(path))["coef"][-1] == 999.0
        with open(path, "rb") as handle:
            assert safeload.joblib_load(handle, expected_sha256=sha256(path))["coef"][3] == 3.0
        pinned = sha256(path)
        flip_byte(path, offset=path.stat().st_size - 16)
        calls = spy("joblib.numpy_pickle", "_unpickle")
        with pytest.raises(safeload.IntegrityError):
            safeload.joblib_load(path, expected_sha256=pinned)
        assert calls == []


def test_numpy_load_checks_the_digest(tmp_path: Path) -> None:
    np = pytest.importorskip("numpy")
    path = tmp_path / "a.npy"
    np.save(path, np.arange(10))
    assert safeload.numpy_load(path, expected_sha256=sha256(path))[9] == 9
    assert safeload.numpy_load(path, mmap_mode="r", expected_sha256=sha256(path))[3] == 3
    with pytest.raises(safeload.IntegrityError):
        safeload.numpy_load(path, expected_sha256="2" * 64)


@pytest.mark.parametrize("bad", ["", "abc", "g" * 64, "0" * 63, "sha512:" + "0" * 64])
def test_a_malformed_pin_is_a_usage_error(bad: str) -> None:
    with pytest.raises(safeload.PolicyError):
        safeload.pickle_loads(pickle.dumps(1), expected_sha256=bad)


def test_scan_raises_on_mismatch_and_reports_the_digest(torch_file: Path) -> None:
    result = safeload.scan(torch_file, expected_sha256=sha256(torch_file))
    assert result.integrity is not None
    assert result.integrity["sha256"] == sha256(torch_file)
    assert result.integrity["digest_checked"] is True
    with pytest.raises(safeload.IntegrityError) as info:
        safeload.scan(torch_file, expected_sha256="3" * 64)
    assert info.value.result.formats  # the scan of the same bytes travels with the error
    assert safeload.scan(torch_file).integrity is None  # nothing asked, nothing computed


# -- directories ----------------------------------------------------------------------------------------
def _tree(root: Path) -> Path:
    (root / "sub").mkdir(parents=True)
    (root / "a.bin").write_bytes(b"alpha")
    (root / "sub" / "b.pkl").write_bytes(pickle.dumps([1, 2]))
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_text("ref: x")
    return root


def test_manifest_digest_is_stable_and_sees_every_change(tmp_path: Path) -> None:
    root = _tree(tmp_path / "m")
    first = directory_manifest(root)
    assert first.sha256 == directory_manifest(root).sha256
    assert [e.path for e in first.entries] == ["a.bin", "sub/b.pkl"]  # .git left out
    (root / ".git" / "HEAD").write_text("ref: y")
    assert directory_manifest(root).sha256 == first.sha256
    changes: list[Callable[[], None]] = [
        lambda: (root / "new.txt").write_text("x"),
        lambda: flip_byte(root / "a.bin"),
        lambda: (root / "a.bin").rename(root / "c.bin"),
        lambda: (root / "link").symlink_to("a.bin"),
    ]
    seen = {first.sha256}
    for change in changes:
        change()
        digest = directory_manifest(root).sha256
        assert digest not in seen
        seen.add(digest)


def test_manifest_follows_links_to_files_and_refuses_links_to_directories(tmp_path: Path) -> None:
    blobs = tmp_path / "blobs"
    blobs.mkdir()
    (blobs / "b1").write_bytes(b"weights v1")
    snapshot = tmp_path / "snapshot"
    snapshot.mkdir()
    (snapshot / "model.bin").symlink_to(blobs / "b1")
    before = directory_manifest(snapshot)
    assert before.entries[0].kind == "link" and before.entries[0].value == sha256(b"weights v1")
    (blobs / "b1").write_bytes(b"weights v2")  # the blob changes in place; the link does not move
    assert directory_manifest(snapshot).sha256 != before.sha256
    (snapshot / "sub").symlink_to(blobs)
    with pytest.raises(ValueError, match="links to a directory"):
        directory_manifest(snapshot)
    with pytest.raises(safeload.IntegrityError):
        safeload.scan(snapshot, expected_sha256=before.sha256)


def test_a_link_named_like_a_locked_file_gets_no_entry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _models(tmp_path / "models")
    assert cli.main(["lock", "models"]) == 0
    monkeypatch.setenv("SAFELOAD_LOCK", "safeload.lock")
    (tmp_path / "models" / "a.pkl").unlink()
    (tmp_path / "models" / "a.pkl").symlink_to(tmp_path / "models" / "b.pkl")  # a reviewed file, other name
    with pytest.raises(safeload.IntegrityError) as info, open("models/a.pkl", "rb") as handle:
        safeload.pickle_load(handle)
    entry = read_lock("safeload.lock").entries["models/a.pkl"]
    assert info.value.expected in {entry.sha256, entry.blake3}


def test_locked_loads_verify_with_blake3_when_the_lock_records_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    blake3 = pytest.importorskip("blake3")
    monkeypatch.chdir(tmp_path)
    _models(tmp_path / "models")
    assert cli.main(["lock", "models"]) == 0
    entry = read_lock("safeload.lock").entries["models/a.pkl"]
    data = (tmp_path / "models" / "a.pkl").read_bytes()
    assert entry.blake3 == blake3.blake3(data).hexdigest()
    monkeypatch.setenv("SAFELOAD_LOCK", "safeload.lock")
    with caplog.at_level(logging.INFO, logger="safeload.loaders"), open("models/a.pkl", "rb") as handle:
        assert safeload.pickle_load(handle) == {"a": 1}
    record = [r for r in caplog.records if r.name == "safeload.loaders"][-1]
    assert record.safeload_integrity["lock"] is True  # type: ignore[attr-defined]
    flip_byte(tmp_path / "models" / "a.pkl", offset=3)
    with pytest.raises(safeload.IntegrityError) as info, open("models/a.pkl", "rb") as handle:
        safeload.pickle_load(handle)
    assert info.value.expected == entry.blake3
    # A lock without BLAKE3 digests (or a machine without the module) verifies with sha256.
    document = json.loads((tmp_path / "safeload.lock").read_text())
    for item in document["entries"]:
        item.pop("blake3", None)
    (tmp_path / "safeload.lock").write_text(json.dumps(document))
    with pytest.raises(safeload.IntegrityError) as info, open("models/a.pkl", "rb") as handle:
        safeload.pickle_load(handle)
    assert info.value.expected == entry.sha256
    with open("models/b.pkl", "rb") as handle:
        assert safeload.pickle_load(handle) == {"b": 2}


def test_manifest_names_cannot_be_confused(tmp_path: Path) -> None:
    one = tmp_path / "one"
    one.mkdir()
    (one / 'a",1,"x').write_bytes(b"")
    two = tmp_path / "two"
    two.mkdir()
    (two / "a").write_bytes(b"")
    assert directory_manifest(one).sha256 != directory_manifest(two).sha256
    assert '\\"' in directory_manifest(one).text()


def test_scan_of_a_directory_checks_its_manifest_digest(tmp_path: Path) -> None:
    root = _tree(tmp_path / "m")
    digest = directory_manifest(root).sha256
    assert safeload.scan(root, expected_sha256=digest).integrity["kind"] == "directory"  # type: ignore[index]
    (root / "sub" / "extra.pkl").write_bytes(pickle.dumps(3))
    with pytest.raises(safeload.IntegrityError) as info:
        safeload.scan(root, expected_sha256=digest)
    assert info.value.expected == digest


# -- lock file ------------------------------------------------------------------------------------------
def _models(root: Path, marker: Marker | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "a.pkl").write_bytes(pickle.dumps({"a": 1}))
    (root / "b.pkl").write_bytes(pickle.dumps({"b": 2}))
    if marker is not None:
        (root / "evil.pkl").write_bytes(evil_pickle(marker))
    return root


def test_lock_verify_missing_added_changed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    _models(tmp_path / "models")
    assert cli.main(["lock", "models"]) == 0
    lock = read_lock(tmp_path / "safeload.lock")
    assert set(lock.entries) == {"models/a.pkl", "models/b.pkl"}
    entry = lock.entries["models/a.pkl"]
    assert entry.sha256 == sha256(tmp_path / "models" / "a.pkl")
    assert entry.size == (tmp_path / "models" / "a.pkl").stat().st_size
    assert entry.formats == ("pickle",)
    assert entry.safeload_version == safeload.__version__
    assert entry.catalogue_version
    assert entry.findings["blocking"] == []
    assert cli.main(["verify"]) == 0
    assert cli.main(["scan", "--locked", "models"]) == 0
    capsys.readouterr()

    flip_byte(tmp_path / "models" / "a.pkl", offset=3)
    (tmp_path / "models" / "new.pkl").write_bytes(pickle.dumps(0))
    (tmp_path / "models" / "b.pkl").unlink()
    assert cli.main(["verify"]) == 1
    out = capsys.readouterr().out
    assert "CHANGED   models/a.pkl" in out
    assert "ADDED     models/new.pkl" in out
    assert "MISSING   models/b.pkl" in out
    assert cli.main(["scan", "--locked", "--format", "json", "models"]) == 1
    report = json.loads(capsys.readouterr().out)
    rules = {Path(r["source"]).name: {f["rule_id"] for f in r["findings"]} for r in report["results"]}
    assert "SL701" in rules["a.pkl"]
    assert "SL702" in rules["new.pkl"]
    assert "SL703" in rules["b.pkl"]
    assert report["lock"].endswith("safeload.lock")
    assert all(r["integrity"]["lock_checked"] for r in report["results"])


def test_verify_json_and_exit_codes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    _models(tmp_path / "models")
    assert cli.main(["lock", "--lock", "custom.lock", "models"]) == 0
    assert cli.main(["verify", "--lock", "custom.lock", "-f", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["ok"] is True
    assert cli.main(["verify", "--lock", "nope.lock"]) == 2
    (tmp_path / "broken.lock").write_text('{"lock_version": 99, "entries": []}')
    assert cli.main(["verify", "--lock", "broken.lock"]) == 2
    assert cli.main(["scan", "--locked", "--lock", "broken.lock", "models"]) == 2


def test_lock_records_findings_and_refuses_to_accept_the_hard_floor(tmp_path: Path, marker: Marker,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _models(tmp_path / "models", marker)
    assert cli.main(["lock", "--accept-findings", "models"]) == 1
    entry = read_lock("safeload.lock").entries["models/evil.pkl"]
    assert entry.accepted == ()
    assert any(b.startswith("SL101") for b in entry.findings["blocking"])
    monkeypatch.setenv("SAFELOAD_LOCK", str(tmp_path / "safeload.lock"))
    with pytest.raises(safeload.UnsafeModelError), open("models/evil.pkl", "rb") as handle:
        safeload.pickle_load(handle)


def test_safeload_lock_env_guards_every_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             torch_file: Path, spy: Any) -> None:
    monkeypatch.chdir(tmp_path)
    _models(tmp_path / "models")
    assert cli.main(["lock", "models", str(torch_file)]) == 0
    monkeypatch.setenv("SAFELOAD_LOCK", "safeload.lock")
    with open("models/a.pkl", "rb") as handle:
        assert safeload.pickle_load(handle) == {"a": 1}
    assert safeload.torch_load(torch_file)["w"].shape == (6,)
    assert safeload.pickle_loads((tmp_path / "models" / "b.pkl").read_bytes()) == {"b": 2}  # by digest
    calls = spy("pickle", "load")
    (tmp_path / "models" / "c.pkl").write_bytes(pickle.dumps({"c": 3}))
    with pytest.raises(safeload.IntegrityError) as info, open("models/c.pkl", "rb") as handle:
        safeload.pickle_load(handle)
    assert info.value.check == "lock" and "not in" in info.value.reason
    flip_byte(tmp_path / "models" / "a.pkl", offset=3)
    with pytest.raises(safeload.IntegrityError) as info, open("models/a.pkl", "rb") as handle:
        safeload.pickle_load(handle)
    assert info.value.expected != info.value.actual
    with pytest.raises(safeload.IntegrityError):
        safeload.pickle_loads(pickle.dumps("unlocked bytes"))
    assert calls == []
    # A copy of a locked file under another name is not the locked file.
    (tmp_path / "models" / "copy.pkl").write_bytes((tmp_path / "models" / "b.pkl").read_bytes())
    with pytest.raises(safeload.IntegrityError), open("models/copy.pkl", "rb") as handle:
        safeload.pickle_load(handle)


def test_pyproject_lock_setting_and_a_code_lock_add_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _models(tmp_path / "models")
    assert cli.main(["lock", "--lock", "locks/project.lock", "models"]) == 0
    (tmp_path / "pyproject.toml").write_text('[tool.safeload]\nlock = "locks/project.lock"\n')
    with open("models/a.pkl", "rb") as handle:
        assert safeload.pickle_load(handle) == {"a": 1}
    (tmp_path / "models" / "z.pkl").write_bytes(pickle.dumps(9))
    with pytest.raises(safeload.IntegrityError), open("models/z.pkl", "rb") as handle:
        safeload.pickle_load(handle)
    # A call can add a pin but cannot switch the configured lock off.
    with pytest.raises(safeload.IntegrityError), open("models/z.pkl", "rb") as handle:
        safeload.pickle_load(handle, expected_sha256=sha256(tmp_path / "models" / "z.pkl"))
    assert "lock" in safeload.config.show_config()


def test_a_broken_configured_lock_refuses_every_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "bad.lock").write_text("not json")
    monkeypatch.setenv("SAFELOAD_LOCK", str(tmp_path / "bad.lock"))
    with pytest.raises(safeload.IntegrityError) as info:
        safeload.pickle_loads(pickle.dumps(1))
    assert "invalid safeload lock" in str(info.value)


def _reviewed_pickle() -> bytes:
    """Calls zlib.crc32: harmless, but not on the allowlist and compiled (no source to analyse): a trustable
    MEDIUM finding."""
    return call_pickle("zlib", "crc32", b"abc")


def test_trust_by_digest_allows_exactly_the_reviewed_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    models = tmp_path / "models"
    models.mkdir()
    data = _reviewed_pickle()
    (models / "crc.pkl").write_bytes(data)
    precondition = safeload.scan(models / "crc.pkl")
    assert [f.rule_id for f in precondition.blocking()] and all(f.trustable for f in precondition.blocking())
    assert cli.main(["lock", "models"]) == 1  # locked, but still refused on load: nothing accepted
    assert cli.main(["lock", "--accept-findings", "models"]) == 0
    entry = read_lock("safeload.lock").entries["models/crc.pkl"]
    assert [a.subject for a in entry.accepted] == ["zlib.crc32"]
    with pytest.raises(safeload.UnsafeModelError), open(models / "crc.pkl", "rb") as handle:
        safeload.pickle_load(handle)  # without the lock, nothing is trusted
    monkeypatch.setenv("SAFELOAD_LOCK", "safeload.lock")
    with open(models / "crc.pkl", "rb") as handle:
        assert safeload.pickle_load(handle) == 891568578
    assert safeload.pickle_loads(data) == 891568578  # the same digest, from bytes
    # The same finding in different bytes gets no trust.
    other = call_pickle("zlib", "crc32", b"xyz")
    with pytest.raises(safeload.UnsafeModelError):
        safeload.pickle_loads(other)
    (models / "crc.pkl").write_bytes(other)
    with pytest.raises(safeload.IntegrityError), open(models / "crc.pkl", "rb") as handle:
        safeload.pickle_load(handle)
    assert cli.main(["scan", "--locked", "models"]) == 1


def test_directory_loads_under_a_lock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "model_dir"
    (root / "sub").mkdir(parents=True)
    (root / "a.pkl").write_bytes(pickle.dumps("a"))
    (root / "sub" / "b.pkl").write_bytes(pickle.dumps("b"))
    assert cli.main(["lock", "model_dir"]) == 0
    monkeypatch.setenv("SAFELOAD_LOCK", "safeload.lock")
    from safeload.loaders._common import guard_path, policy_for

    policy = policy_for(None, None, None)
    guard_path(root, policy, "test.load")  # every file locked with its digest
    (root / "sub" / "added.pkl").write_bytes(pickle.dumps(1))
    with pytest.raises(safeload.IntegrityError):
        guard_path(root, policy, "test.load")
    (root / "sub" / "added.pkl").unlink()
    (root / "a.pkl").unlink()
    with pytest.raises(safeload.IntegrityError) as info:
        guard_path(root, policy, "test.load")
    assert "missing" in info.value.reason


# -- reports and audit records ----------------------------------------------------------------------------
def test_audit_record_carries_the_digest_and_the_checks(torch_file: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="safeload.loaders"):
        safeload.torch_load(torch_file, expected_sha256=sha256(torch_file))
        with pytest.raises(safeload.IntegrityError):
            safeload.torch_load(torch_file, expected_sha256="4" * 64)
    allowed, refused = [r for r in caplog.records if r.name == "safeload.loaders"][-2:]
    assert allowed.safeload_sha256 == sha256(torch_file)  # type: ignore[attr-defined]
    assert allowed.safeload_integrity["digest"] is True  # type: ignore[attr-defined]
    assert allowed.safeload_integrity["lock"] is False  # type: ignore[attr-defined]
    assert refused.levelno == logging.WARNING
    assert refused.safeload_integrity["failure"] == "sha256"  # type: ignore[attr-defined]
    assert refused.safeload_verdict == "refused"  # type: ignore[attr-defined]


def test_json_and_sarif_carry_sha256_in_one_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    models = _models(tmp_path / "models")
    assert cli.main(["scan", "--format", "json", str(models)]) == 0
    report = json.loads(capsys.readouterr().out)
    for result in report["results"]:
        assert result["sha256"] == sha256(Path(result["source"]))
        assert set(result["integrity"]) >= {"digest_checked", "lock_checked", "signature_checked", "cached"}
    assert cli.main(["scan", "--format", "sarif", "--locked", "--lock", str(tmp_path / "none.lock"),
                     str(models)]) == 2  # a missing lock is an I/O error
    capsys.readouterr()
    os.chdir(tmp_path)
    try:
        assert cli.main(["lock", str(models)]) == 0
        (models / "a.pkl").write_bytes(pickle.dumps({"a": 2}))
        assert cli.main(["scan", "--format", "sarif", "--locked", str(models)]) == 1
    finally:
        os.chdir(ROOT)
    sarif = json.loads(capsys.readouterr().out)
    results = sarif["runs"][0]["results"]
    changed = [r for r in results if r["ruleId"] == "SL701"]
    assert changed and changed[0]["properties"]["sha256"] == sha256(models / "a.pkl")
    assert sarif["runs"][0]["invocations"][0]["properties"]["lock"].endswith("safeload.lock")


def test_json_schema_doc_mentions_the_integrity_fields() -> None:
    text = (ROOT / "docs" / "json-schema.md").read_text()
    for field in ("integrity.digest_checked", "integrity.lock_checked", "integrity.signature_checked", "`lock`"):
        assert field in text


# -- the import hook gets the lock for free -------------------------------------------------------------------
@pytest.mark.slow
def test_hook_refuses_a_file_not_in_the_lock(tmp_path: Path, torch_file: Path, marker: Marker) -> None:
    lock_dir = tmp_path / "proj"
    lock_dir.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFELOAD_")}
    env["SAFELOAD_CACHE_DIR"] = str(tmp_path / "cache")
    subprocess.run([sys.executable, "-m", "safeload", "lock", "--lock", str(lock_dir / "safeload.lock"),
                    str(torch_file)], check=True, env=env, cwd=ROOT, capture_output=True)
    other = tmp_path / "other.pt"
    other.write_bytes(torch_file.read_bytes()[:-1] + bytes([torch_file.read_bytes()[-1] ^ 1]))
    code = (
        "import sys, safeload, torch\n"
        "safeload.install()\n"
        f"print(torch.load({str(torch_file)!r})['w'].shape[0])\n"
        "try:\n"
        f"    torch.load({str(other)!r})\n"
        "except safeload.IntegrityError as exc:\n"
        "    print('refused', exc.check)\n"
    )
    env["SAFELOAD_LOCK"] = str(lock_dir / "safeload.lock")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT,
                          timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["6", "refused", "lock"]


# -- lock file format -------------------------------------------------------------------------------------
def test_lock_is_canonical_json_with_a_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _models(tmp_path / "models")
    assert cli.main(["lock", "models"]) == 0
    first = (tmp_path / "safeload.lock").read_text()
    assert cli.main(["lock", "models"]) == 0
    document = json.loads(first)
    assert document["lock_version"] == 1
    assert document["roots"] == ["models"]
    assert [e["path"] for e in document["entries"]] == ["models/a.pkl", "models/b.pkl"]
    second = json.loads((tmp_path / "safeload.lock").read_text())
    assert document["entries"] == second["entries"]


@pytest.mark.parametrize("text", [
    "[]", '{"lock_version": 1}', '{"lock_version": 1, "entries": [{"path": "a"}]}',
    '{"lock_version": 1, "entries": [{"path": "a", "kind": "file", "sha256": "x", "size": 1}]}',
    '{"lock_version": 1, "entries": [{"path": "a", "kind": "weird", "sha256": "' + "0" * 64 + '", "size": 1}]}',
    '{"lock_version": 1, "entries": [{"path": "a", "kind": "file", "sha256": "' + "0" * 64 + '", "size": -1}]}',
])
def test_malformed_locks_are_errors_not_empty_locks(tmp_path: Path, text: str) -> None:
    path = tmp_path / "x.lock"
    path.write_text(text)
    with pytest.raises(safeload.ConfigError):
        read_lock(path)


def test_bytes_io_and_unseekable_streams_are_hashed_once(tmp_path: Path) -> None:
    data = pickle.dumps(list(range(100)))

    class Stream(io.RawIOBase):
        def __init__(self) -> None:
            self.inner = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int:
            chunk = self.inner.read(len(buffer))
            buffer[:len(chunk)] = chunk
            return len(chunk)

    assert safeload.pickle_load(io.BytesIO(data), expected_sha256=sha256(data)) == list(range(100))
    assert safeload.pickle_load(Stream(), expected_sha256=sha256(data)) == list(range(100))  # type: ignore[arg-type]
    with pytest.raises(safeload.IntegrityError):
        safeload.pickle_load(Stream(), expected_sha256="5" * 64)  # type: ignore[arg-type]


def test_pandas_read_pickle_pins_the_stored_bytes(tmp_path: Path) -> None:
    pd = pytest.importorskip("pandas")
    path = tmp_path / "frame.pkl.gz"
    pd.DataFrame({"a": [1, 2, 3]}).to_pickle(path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert list(safeload.pandas_read_pickle(path, expected_sha256=digest)["a"]) == [1, 2, 3]
    raw = bytearray(path.read_bytes())
    raw[-5] ^= 1
    path.write_bytes(bytes(raw))
    with pytest.raises(safeload.IntegrityError):
        safeload.pandas_read_pickle(path, expected_sha256=digest)
    with pytest.raises(safeload.PolicyError):
        safeload.pandas_read_pickle(io.BytesIO(b""), expected_sha256=digest)


def test_onnx_load_pins_the_stored_bytes(tmp_path: Path) -> None:
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
    path = tmp_path / "m.onnx"
    onnx.save(helper.make_model(graph), path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert safeload.onnx_load(path, expected_sha256=digest).graph.node[0].op_type == "Relu"
    with pytest.raises(safeload.IntegrityError):
        safeload.onnx_load(path, expected_sha256="0" * 64)
