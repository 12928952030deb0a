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
