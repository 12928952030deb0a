"""What every corpus test does with one file: scan it (nothing at or above MEDIUM), then load it with the real
loader and with the safe loader and compare. Files refused today are strict xfails carrying the refused names
and rule ids (``expected.REFUSED``): when the catalogue admits them the xfail passes and fails the run, so
``expected.py`` must then be regenerated (``python -m tests.corpus.measure --write-expected``)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest

import safeload
from safeload.severity import Severity
from tests.corpus.cases import LONG_TAIL, build, load_all, missing_requirements, real_load, safe_load, same
from tests.corpus.expected import REFUSED


def params(*, long_tail: bool) -> list[Any]:
    """One pytest param per file of the selected groups, marked slow and/or strict-xfail as recorded."""
    out = []
    for grp in load_all().values():
        if (grp.family == LONG_TAIL) != long_tail:
            continue
        for case_id in grp.ids():
            marks = [pytest.mark.slow] if grp.slow else []
            if case_id in REFUSED:
                # only the refusal (an AssertionError) is expected: a newly refused name is NewRefusal and fails
                marks.append(pytest.mark.xfail(strict=True, raises=AssertionError, reason=REFUSED[case_id]))
            out.append(pytest.param(case_id, marks=marks, id=case_id))
    return out


@pytest.fixture(scope="session")
def corpus_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("corpus")


def _have_pyarrow() -> bool:
    import importlib.util

    return importlib.util.find_spec("pyarrow") is not None


def artifact(root: Path, case_id: str) -> Any:
    group_name, label = case_id.split("/", 1)
    grp = load_all()[group_name]
    missing = missing_requirements(grp)
    if missing:
        pytest.skip(f"not installed: {', '.join(missing)}")
    if "pyarrow." in REFUSED.get(case_id, "") and not _have_pyarrow():
        # measured with pyarrow installed (pandas 3 then stores strings in Arrow arrays); without it the file
        # holds other names, so its recorded refusal says nothing
        pytest.skip("recorded with pyarrow installed; pyarrow is not")
    return build(grp, root)[label]


class NewRefusal(Exception):
    """A file refused today is refused for names ``expected.py`` does not list: a regression, not the xfail."""


def refused_names(result: safeload.ScanResult) -> set[str]:
    return {f"{f.subject or '-'} {f.rule_id}" for f in result.blocking()}


def scans_clean_and_loads(root: Path, case_id: str) -> None:
    art = artifact(root, case_id)
    result = safeload.scan(art.path)
    if case_id in REFUSED and not result.is_safe():
        new = refused_names(result) - set(REFUSED[case_id].removeprefix("refused: ").split("; "))
        if new:
            raise NewRefusal(f"{case_id}: newly refused {sorted(new)}\n{result.summary(Severity.MEDIUM)}")
    assert result.is_safe(), result.summary(Severity.MEDIUM)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # libraries warn on load about versions and tiny data; not ours
        real = real_load(art)
        safe = safe_load(art)
    same(real, safe, art.check)
