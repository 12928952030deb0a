"""``source_files.one_view``: one stream's decisions read each installed file once; the next decision reads again."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from safeload.catalog import source_files
from safeload.catalog.source_model import file_stat


def test_a_view_reads_each_path_once_and_fresh_reads_the_disk(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    path.write_text("X = 1\n")
    with source_files.one_view():
        first = file_stat(str(path))
        path.write_text("X = 22222\n")
        assert file_stat(str(path)) == first  # the view's read
        assert file_stat(str(path), fresh=True) != first  # "rewritten while read" checks see the change
        with source_files.one_view():  # nested: the same view
            assert file_stat(str(path)) == first
    assert file_stat(str(path)) != first  # outside: the disk


def test_a_missing_path_stays_missing_in_a_view_and_the_error_is_an_oserror(tmp_path: Path) -> None:
    path = str(tmp_path / "later")
    with source_files.one_view():
        with pytest.raises(FileNotFoundError):
            source_files.stat(path)
        Path(path).write_text("")
        with pytest.raises(OSError, match="No such file"):
            source_files.stat(path)
        assert source_files.stat(path, fresh=True).st_size == 0
    assert source_files.stat(path).st_size == 0


def test_realpath_and_checked_in_view(tmp_path: Path) -> None:
    target = tmp_path / "a"
    target.mkdir()
    link = tmp_path / "l"
    link.symlink_to(target)
    assert source_files.checked_in_view("k") is False  # outside a view: always revalidate
    assert source_files.checked_in_view("k") is False
    with source_files.one_view():
        assert source_files.realpath(str(link)) == str(target)
        link.unlink()
        link.symlink_to(tmp_path)
        assert source_files.realpath(str(link)) == str(target)
        assert source_files.checked_in_view("k") is False
        assert source_files.checked_in_view("k") is True
    assert source_files.realpath(str(link)) == os.path.realpath(tmp_path)
    with source_files.one_view():
        assert source_files.checked_in_view("k") is False  # a new view revalidates


def test_a_plugin_declared_between_two_scans_is_seen_by_the_second(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Each stream's decisions are one view: a distribution installed after a scan counts at the next scan."""
    from safeload.catalog import plugins

    site = tmp_path / "site"
    site.mkdir()
    with source_files.one_view():
        assert plugins.declared("torch.backends", [str(site)]) == ()
    dist = site / "evilplug-1.0.dist-info"
    dist.mkdir()
    (dist / "entry_points.txt").write_text("[torch.backends]\nx = evilplug:load\n")
    (dist / "METADATA").write_text("Name: evilplug\nVersion: 1.0\n")
    with source_files.one_view():
        found = plugins.declared("torch.backends", [str(site)])
    assert [p.value for p in found] == ["evilplug:load"]
