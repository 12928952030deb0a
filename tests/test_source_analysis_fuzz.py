"""Property tests for the source analysis: generated classes never crash it, never get imported, and any
dangerous statement reachable from the hook a use runs makes that use not inert (no false "inert").

Bounded: ``max_examples`` keeps the file well under a minute.
"""

from __future__ import annotations

import os
import sys
import sysconfig
import tempfile
import textwrap
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safeload.catalog import source_analysis as sa
from safeload.catalog.source_locate import library_roots
from safeload.catalog.uses import Use

SETTINGS = settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "120")), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

SAFE = [
    "self.a = state",
    "x = len(state)",
    "self.items = [v for v in state]",
    "if state:\n    self.b = 1\nelse:\n    self.b = 2",
    "self.helper(state)",
    "super().__init__()",
    "self.__dict__.update(state)",
    "for k in state:\n    self.c = k",
    "try:\n    self.d = state['d']\nexcept KeyError:\n    self.d = None",
    "return None",
]
DANGEROUS = [
    "os.system(state)",
    "open(state, 'w')",
    "subprocess.run(state)",
    "eval(state)",
    "exec(state)",
    "__import__(state)",
    "getattr(self, state)()",
    "state.__reduce__()",
    "importlib.import_module(state)",
    "self.evil(state)",
    "helper_evil(state)",
    "socket.socket()",
    "globals()[state] = 1",
    "shutil.rmtree(state)",
]
HOOKS = {"__setstate__": Use.BUILD, "__init__": Use.CALL, "__new__": Use.NEW, "__hash__": Use.HASH,
         "__call__": Use.CALL_INSTANCE, "__del__": Use.ALLOC, "__setitem__": Use.MUTATE}

MODULE = """
import os, subprocess, importlib, socket, shutil

def helper_evil(x):
    os.remove(x)

class Base:
    def helper(self, x):
        self.seen = x
    def evil(self, x):
        subprocess.call(x)

class Target(Base):
    def {hook}(self, state=None, *rest):
{body}
"""


def _write(site: Path, hook: str, lines: list[str]) -> None:
    body = textwrap.indent("\n".join(lines) or "pass", " " * 8)
    if hook == "__new__":
        body = textwrap.indent("\n".join([*lines, "return object.__new__(self)"]), " " * 8)
    (site / "fz").mkdir(parents=True, exist_ok=True)
    (site / "fz" / "__init__.py").write_text("")
    (site / "fz" / "m.py").write_text(MODULE.format(hook=hook, body=body))


def _analyse(site: Path, use: Use) -> sa.UseVerdict:
    library_roots()
    sa.clear_cache()
    before = set(sys.modules)
    result = sa.analyse("fz.m", "Target", use, search_path=[str(site), sysconfig.get_paths()["stdlib"]])
    assert set(sys.modules) == before
    verdict = result.verdict(use)
    assert verdict is not None
    return verdict


@SETTINGS
@given(hook=st.sampled_from(sorted(HOOKS)), safe=st.lists(st.sampled_from(SAFE), max_size=4),
       bad=st.sampled_from(DANGEROUS), where=st.integers(0, 4))
def test_a_dangerous_statement_is_never_inert(hook: str, safe: list[str], bad: str, where: int) -> None:
    lines = list(safe)
    lines.insert(min(where, len(lines)), bad)
    if "return None" in lines[: lines.index(bad)]:
        lines.remove("return None")  # keep the dangerous line reachable
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp) / "site-packages"
        _write(site, hook, lines)
        verdict = _analyse(site, HOOKS[hook])
        assert not verdict.inert, (hook, lines, verdict)


@SETTINGS
@given(hook=st.sampled_from(["__setstate__", "__init__", "__hash__"]),
       safe=st.lists(st.sampled_from(SAFE[:-1]), max_size=5))
def test_safe_statements_only_stay_inert(hook: str, safe: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp) / "site-packages"
        lines = [*safe, "return 0"] if hook == "__hash__" else safe
        _write(site, hook, lines)
        verdict = _analyse(site, HOOKS[hook])
        assert verdict.inert, (hook, safe, verdict)


@SETTINGS
@given(data=st.binary(max_size=300))
def test_arbitrary_bytes_never_crash(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp) / "site-packages"
        (site / "fz").mkdir(parents=True)
        (site / "fz" / "__init__.py").write_text("")
        (site / "fz" / "m.py").write_bytes(b"class Target:\n    pass\n" + data)
        library_roots()
        sa.clear_cache()
        result = sa.analyse("fz.m", "Target", Use.BUILD | Use.IMPORT | Use.CALL, search_path=[str(site)])
        assert result.verdict(Use.BUILD) is not None
