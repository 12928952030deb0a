"""Directory walks never drop what they cannot read (issue 16): an unlistable directory is an error, not absent.

The unlistable directory is real: a path longer than PATH_MAX (os.scandir fails with ENAMETOOLONG even for
root), built with directory file descriptors so that building it never needs the long path.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest

import safeload
from safeload._walk import WalkError, natural_key, walk_files
from safeload.cli import main


def _too_deep(root: Path) -> None:
    """root/deep/<250 chars>/<250 chars>/... until the path exceeds PATH_MAX; a pickle at the bottom."""
    fd = os.open(root, os.O_RDONLY)
    try:
        os.mkdir("deep", dir_fd=fd)
        current = os.open("deep", os.O_RDONLY, dir_fd=fd)
        for i in range(20):
            name = f"{i:02d}" + "d" * 248
            os.mkdir(name, dir_fd=current)
            nxt = os.open(name, os.O_RDONLY, dir_fd=current)
            os.close(current)
            current = nxt
        leaf = os.open("hidden.pkl", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=current)
        os.write(leaf, pickle.dumps(__import__("os").system))
        os.close(leaf)
        os.close(current)
    finally:
        os.close(fd)


def test_unlistable_directory_is_reported(tmp_path: Path) -> None:
    (tmp_path / "ok.pkl").write_bytes(pickle.dumps([1, 2]))
    _too_deep(tmp_path)
    entries = list(walk_files(tmp_path))
    assert any(isinstance(e, WalkError) for e in entries), entries
    result = safeload.scan(tmp_path)
    assert any(f.rule_id == "SL007" for f in result.findings), result.summary("info")
    assert not result.is_safe()


def test_cli_exits_2_when_a_directory_cannot_be_listed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "ok.pkl").write_bytes(pickle.dumps([1, 2]))
    _too_deep(tmp_path)
    assert main(["scan", str(tmp_path), "--format", "json"]) == 2
    out = capsys.readouterr().out
    assert "cannot list or read" in out


@pytest.mark.skipif(os.geteuid() == 0, reason="root can list a mode-000 directory")
def test_unreadable_permissions_are_reported(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "x.pkl").write_bytes(b"\x80\x04N.")
    locked.chmod(0)
    try:
        assert any(isinstance(e, WalkError) for e in walk_files(tmp_path))
    finally:
        locked.chmod(0o755)


def test_links_leaving_the_tree_are_reported_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside.pkl"
    outside.write_bytes(pickle.dumps(__import__("os").system))
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "model.pkl").symlink_to(outside)
    result = safeload.scan(tree)
    assert [f.rule_id for f in result.findings if f.severity >= safeload.Severity.MEDIUM] == ["SL008"]


def test_natural_order() -> None:
    names = ["m10", "m2", "m1", "a", "m1b"]
    assert sorted(names, key=natural_key) == ["a", "m1", "m1b", "m2", "m10"]


def test_a_keras_dir_probe_beyond_name_limits_does_not_crash(tmp_path: Path) -> None:
    """``config.json`` under a directory name longer than NAME_MAX cannot even be stat'ed (ENAMETOOLONG, which
    ``Path.is_file`` re-raises): the probe answers instead of crashing the walk (an unreadable config counts)."""
    from safeload.containers.keras import is_keras_dir

    assert is_keras_dir(tmp_path / ("d" * 300)) is True
    assert is_keras_dir(tmp_path) is False
