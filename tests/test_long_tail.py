"""Names outside the catalogue are decided from their installed source (issue 14 item 2), end to end.

A package written under ``tmp_path`` and put on ``sys.path`` stands for an installed long-tail library. The
scan must decide from its source without importing it; the real loader (after the scan passed) imports it.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

import safeload
from safeload import Severity
from tests.builders import P

PKG = "sl_longtail_pkg"


@pytest.fixture
def longtail(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    pkg = tmp_path / "lib" / "site-packages" / PKG
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "models.py").write_text(textwrap.dedent("""
        import enum


        class Config:
            def __init__(self, width=1):
                self.width = width


        class Mode(enum.Enum):
            FAST = "fast"


        class Dangerous:
            def __setstate__(self, state):
                with open(state["path"], "w") as handle:
                    handle.write("pwned")
    """))
    monkeypatch.syspath_prepend(str(tmp_path / "lib" / "site-packages"))
    monkeypatch.delitem(sys.modules, PKG, raising=False)
    monkeypatch.delitem(sys.modules, f"{PKG}.models", raising=False)
    return pkg


def _newobj_build(cls: str, state: dict[str, object]) -> bytes:
    p = P(4).stack_global(f"{PKG}.models", cls).empty_tuple().newobj().empty_dict()
    for key, value in state.items():
        p.str(key)
        p.str(value) if isinstance(value, str) else p.int(value)  # type: ignore[arg-type]
        p.setitem()
    return p.build().stop().done()


def test_default_reconstruction_is_analysed_inert_and_loads(longtail: Path) -> None:
    data = _newobj_build("Config", {"width": 3})
    result = safeload.scan(data)
    assert result.is_safe(), result.summary(Severity.LOW)
    analysed = [f for f in result.findings if f.rule_id == "SL116"]
    assert [f.subject for f in analysed] == [f"{PKG}.models.Config"]
    assert analysed[0].severity == Severity.LOW
    assert PKG not in sys.modules  # the scan never imported it
    loaded = safeload.pickle_loads(data)
    assert type(loaded).__name__ == "Config" and loaded.width == 3


def test_enum_member_is_analysed_inert(longtail: Path) -> None:
    data = P(4).stack_global(f"{PKG}.models", "Mode").args("fast").reduce().stop().done()
    result = safeload.scan(data)
    assert result.is_safe(), result.summary(Severity.LOW)
    assert safeload.pickle_loads(data).value == "fast"


def test_effectful_setstate_is_refused_with_its_line(longtail: Path, marker: object) -> None:
    target = Path(str(marker.path))  # type: ignore[attr-defined]
    data = _newobj_build("Dangerous", {"path": str(target)})
    result = safeload.scan(data)
    finding = next(f for f in result.findings if f.subject == f"{PKG}.models.Dangerous")
    assert finding.rule_id == "SL104" and finding.severity == Severity.MEDIUM
    assert "__setstate__" in finding.message and "models.py" in finding.message, finding.message
    with pytest.raises(safeload.UnsafeModelError):
        safeload.pickle_loads(data)
    assert not target.exists()
    assert PKG not in sys.modules


def test_analysis_can_be_turned_off(longtail: Path) -> None:
    data = _newobj_build("Config", {"width": 3})
    result = safeload.scan(data, policy=safeload.Policy(analyse_source=False))
    assert not result.is_safe()
    assert {f.rule_id for f in result.blocking()} == {"SL104"}


def test_called_class_with_pure_init_is_inert_but_stored_function_is_not(longtail: Path) -> None:
    # Config(5): CALL runs __init__, which only assigns. A module-level name that does not exist is refused.
    called = P(4).stack_global(f"{PKG}.models", "Config").args(5).reduce().stop().done()
    assert safeload.scan(called).is_safe()
    missing = P(4).stack_global(f"{PKG}.models", "nope").stop().done()
    assert not safeload.scan(missing).is_safe()


def test_environment_can_turn_analysis_off_never_on(longtail: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = _newobj_build("Config", {"width": 3})
    monkeypatch.setenv("SAFELOAD_SOURCE_ANALYSIS", "0")
    assert not safeload.scan(data).is_safe()
    monkeypatch.setenv("SAFELOAD_SOURCE_ANALYSIS", "1")
    assert not safeload.scan(data, policy=safeload.Policy(analyse_source=False)).is_safe()


def test_array_subtype_with_effectful_array_finalize_is_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, marker: object) -> None:
    """numpy's _reconstruct runs the subtype's __array_finalize__: ALLOC of a long-tail ndarray subclass is not
    'nothing of X', and a compiled base the analysis has no model for is never judged inert."""
    target = Path(str(marker.path))  # type: ignore[attr-defined]
    pkg = tmp_path / "site" / "sl_arraysub_pkg"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(textwrap.dedent(f"""
        import numpy as np


        class Tagged(np.ndarray):
            def __array_finalize__(self, obj):
                open({str(target)!r}, "w").close()
    """))
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.delitem(sys.modules, "sl_arraysub_pkg", raising=False)
    data = (P(2).glob("numpy._core.multiarray", "_reconstruct").mark().glob("sl_arraysub_pkg", "Tagged")
            .int(0).tuple1().str("b").tuple().reduce().stop().done())
    result = safeload.scan(data)
    finding = next(f for f in result.findings if f.subject == "sl_arraysub_pkg.Tagged")
    assert finding.severity >= Severity.MEDIUM and "sl_arraysub_pkg" not in sys.modules
    with pytest.raises(safeload.UnsafeModelError):
        safeload.pickle_loads(data)
    assert not target.exists()
