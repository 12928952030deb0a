"""Shared fixtures: a clean environment, and a marker file that malicious payloads would create."""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import safeload

# Every pickle buffer the suite walks is kept (size-capped) and replayed through both engines at the end of
# the run by tests/test_native_differential.py::test_suite_corpus (moved to the end below).
sys.path.insert(0, str(Path(__file__).parent / "fuzz"))
import sl_native_diff

sl_native_diff.install_recorder()

_REPLAY = "test_native_differential.py::test_suite_corpus"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # The corpus replay goes after every other test: it needs their recorded buffers. (The catalogue's
    # regeneration check, ~10 minutes of one core, is CI's own step after the suite: .ci/run.)
    replay = [item for item in items if item.nodeid.endswith(_REPLAY)]
    for item in replay:
        items.remove(item)
    if sl_native_diff.SUITE_CORPUS and os.environ.get("PYTEST_XDIST_WORKER"):
        # A pytest-xdist worker sees only its share of the suite's buffers: each worker saves them to
        # SAFELOAD_SUITE_CORPUS at its end (pytest_sessionfinish below) and .ci/run replays the folder in its own
        # pytest invocation after all workers have finished, so the replay still sees every buffer.
        config.hook.pytest_deselected(items=replay)
    else:
        items.extend(replay)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """With ``SAFELOAD_SUITE_CORPUS=DIR`` every process (each xdist worker) saves its recorded buffers to DIR."""
    if sl_native_diff.SUITE_CORPUS:
        sl_native_diff.save_uncompared(sl_native_diff.SUITE_CORPUS)


@pytest.fixture(autouse=True, scope="module")
def restore_interpreter_state() -> Iterator[None]:
    """Each test module starts from the interpreter state the previous one found: ``sys.path`` restored, and the
    process-lifetime fleet fingerprint recomputed. Under pytest-xdist a worker runs the files in another order
    than a serial run, so a module that leaves a temporary site directory on the path (or a fingerprint computed
    while one was there) must not change the scanner key a later module compares with a fresh process's."""
    def forget_fingerprint() -> None:
        store = sys.modules.get("safeload.fleet.store")  # never imported here: tests may check what is loaded
        if store is not None:
            store.scanner_code.cache_clear()

    path = list(sys.path)
    forget_fingerprint()
    yield
    if sys.path != path:
        sys.path[:] = path
    forget_fingerprint()


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Strip SAFELOAD_* and HF_* variables so a developer's shell cannot change test outcomes; the scan cache
    lives under pytest's temporary directory, never in the user's cache."""
    for key in list(os.environ):
        if key.startswith(("SAFELOAD_", "HF_")):
            monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("SAFELOAD_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "safeload-cache"))
    safeload.clear_trust()
    yield
    safeload.clear_trust()


@dataclass
class Marker:
    """A file a malicious payload would create. Payloads are harmless: they only touch this file."""

    path: Path

    @property
    def shell(self) -> str:
        return f"touch {shlex.quote(str(self.path))}"

    @property
    def python(self) -> str:
        return f"open({str(self.path)!r}, 'w').write('pwned')"

    @property
    def argv(self) -> list[str]:
        return [sys.executable, "-c", self.python]

    def exists(self) -> bool:
        return self.path.exists()


@pytest.fixture
def marker(tmp_path: Path) -> Iterator[Marker]:
    """A marker path; the test fails if anything created it (the payload must never have run)."""
    m = Marker(tmp_path / "PWNED_MARKER")
    yield m
    assert not m.path.exists(), "a malicious payload ran: the marker file exists"


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Path]:
    """An empty synthetic site-packages for source-analysis tests, with the analysis caches cleared around it
    (safeload's own first use of sysconfig happens before, so it is not counted as analysed code)."""
    from safeload.catalog import source_analysis
    from safeload.catalog.source_locate import library_roots

    library_roots()
    source_analysis.clear_cache()
    (tmp_path / "site-packages").mkdir()
    yield tmp_path / "site-packages"
    source_analysis.clear_cache()
