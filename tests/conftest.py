"""Shared fixtures: a clean environment, and a marker file that malicious payloads would create."""

from __future__ import annotations

import os
import shlex
import subprocess
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


#: The catalogue's regeneration check takes ~9 minutes of one core: it runs in a child process started before the
#: first test (on the second core, beside the rest of the suite) and its test, moved to the very end, waits for it.
GENERATOR_CHECK = "test_catalog_generated.py::test_generator_check_passes_on_installed_versions"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The corpus replay goes after every other test (it needs their recorded buffers) and before the generator
    # check's wait (which walks no pickle): while the replay runs, the check goes on in its own process.
    for suffix in ("test_native_differential.py::test_suite_corpus", GENERATOR_CHECK):
        for item in [item for item in items if item.nodeid.endswith(suffix)]:
            items.remove(item)
            items.append(item)


@dataclass
class BackgroundRun:
    """A child process started at session start; its output goes to a file (a pipe could fill and block it)."""

    process: subprocess.Popen[bytes]
    output: Path

    def wait(self, timeout: float) -> tuple[int, str]:
        code = self.process.wait(timeout=timeout)
        return code, self.output.read_text(encoding="utf-8", errors="replace")


@pytest.fixture(scope="session", autouse=True)
def generator_check_run(request: pytest.FixtureRequest,
                        tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackgroundRun | None]:
    if not any(item.nodeid.endswith(GENERATOR_CHECK) for item in request.session.items):
        yield None
        return
    output = tmp_path_factory.mktemp("generator-check") / "output.txt"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFELOAD_")}
    with output.open("wb") as sink:
        process = subprocess.Popen([sys.executable, "-m", "safeload.catalog._generate", "--check"], env=env,
                                   stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    yield BackgroundRun(process, output)
    if process.poll() is None:
        process.kill()
        process.wait()


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
