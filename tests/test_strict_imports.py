"""R2-1 closure rules the generator and the scan-time walk share, and the closure check as the default.

- generator rules on synthetic packages (read, never imported; ``sys.modules`` unchanged, marker absent): calls
  under ``if __name__ == "__main__"`` / ``if TYPE_CHECKING`` are not import-time; ``from pkg import *`` of a
  package without ``__all__`` imports no submodule; a literal ``__all__`` grown afterwards (``+=``, ``.extend``)
  makes the star import cover every submodule;
- ``CONDITIONAL_IMPORTS``: an import reviewed as conditional is marked ``?module:package`` while the file hashes
  as reviewed (an edited file makes it an ordinary import), and at scan time counts only while a condition holds;
- scan time: ``__all__.extend`` after a literal is followed to every submodule (it was a hole: only the literal's
  names were imported);
- attack, with the default mode: a vouched module importing a module that writes a marker file is refused, the
  marker is never written.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest

from safeload.catalog import closure as closure_lookup
from safeload.catalog._gen import closure as gen
from safeload.catalog.source_imports import STRICT_IMPORTS, star_all
from safeload.catalog.uses import Use
from tests.test_source_analysis import Env, env

__all__ = ["env"]

_STDLIB = str(Path(os.__file__).parent)

_PACKAGE = {
    "vp/__init__.py": "",
    "vp/main_call.py": "def _helper():\n    import outside_pkg\nif __name__ == '__main__':\n    _helper()\n",
    "vp/typed_call.py": ("from typing import TYPE_CHECKING\ndef _helper():\n    import outside_pkg\n"
                         "if TYPE_CHECKING:\n    _helper()\n"),
    "vp/plain_call.py": "def _helper():\n    import outside_pkg\n_helper()\n",
    "vp/noall/__init__.py": "from .clean import X\n",
    "vp/noall/clean.py": "class X:\n    pass\n",
    "vp/noall/leaving.py": "import outside_pkg\n",
    "vp/star_noall.py": "from vp.noall import *\n",
    "vp/grown/__init__.py": "__all__ = ['clean']\n__all__ += ['other']\n",
    "vp/grown/clean.py": "",
    "vp/grown/leaving.py": "import outside_pkg\n",
    "vp/star_grown.py": "from vp.grown import *\n",
    "vp/extended/__init__.py": "__all__ = ['clean']\n__all__.extend(['other'])\n",
    "vp/extended/clean.py": "",
    "vp/extended/leaving.py": "import outside_pkg\n",
    "vp/star_extended.py": "from vp.extended import *\n",
    "vp/literal/__init__.py": "__all__ = ['clean']\n",
    "vp/literal/clean.py": "",
    "vp/literal/leaving.py": "import outside_pkg\n",
    "vp/star_literal.py": "from vp.literal import *\n",
    "vp/cond.py": "import sys\nif 'kernel_pkg.shell' in sys.modules:\n    from vp.nb import Bar\n",
    "vp/uses_cond.py": "from vp.cond import *\n",
    "vp/nb.py": "import outside_pkg\nclass Bar:\n    pass\n",
    "outside_pkg/__init__.py": "open(MARKER, 'w').close()\n",
}


def _write(site: Path, files: dict[str, str], marker: Path) -> None:
    for rel, text in files.items():
        target = site / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(text).replace("MARKER", repr(str(marker))))


def _compute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, pin: str | None = None) -> gen.Closure:
    site = tmp_path / "site-packages"
    marker = tmp_path / "marker"
    if not site.exists():
        _write(site, _PACKAGE, marker)
    digest = pin or hashlib.sha256((site / "vp" / "cond.py").read_bytes()).hexdigest()
    monkeypatch.setattr(gen, "CONDITIONAL_IMPORTS", {
        "vp.cond": (digest, ("vp.nb",), ("kernel_pkg",), "vp.nb is imported only inside a kernel")})
    before = set(sys.modules)
    result = gen.compute(["vp"], [], search_path=[str(site), _STDLIB])
    assert set(sys.modules) == before and not marker.exists(), "the generator imported what it reads"
    return result


def test_guarded_calls_are_not_import_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    leaves = _compute(tmp_path, monkeypatch).leaves
    assert "vp.main_call" not in leaves and "vp.typed_call" not in leaves, leaves
    assert leaves["vp.plain_call"] == ("outside_pkg",)  # the same call unguarded runs on import


def test_star_import_reads_all(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    leaves = _compute(tmp_path, monkeypatch).leaves
    assert "vp.star_noall" not in leaves, leaves["vp.star_noall"]  # no __all__: no submodule imported
    assert "vp.star_literal" not in leaves, leaves["vp.star_literal"]  # only the literal's names
    for grown in ("vp.star_grown", "vp.star_extended"):  # grown after the literal: every submodule
        assert leaves.get(grown) == ("outside_pkg",), (grown, leaves.get(grown))


@pytest.mark.parametrize(("source", "kind", "names"), [
    ("X = 1\n", "absent", []),
    ("__all__ = ['a', 'b']\n", "literal", ["a", "b"]),
    ("__all__ = ['a']\n__all__ += ['b']\n", "extended", ["a"]),
    ("__all__ = ['a']\n__all__.extend(other.__all__)\n", "extended", ["a"]),
    ("__all__ = ['a']\n__all__.append('b')\n", "extended", ["a"]),
    ("__all__ = [n for n in dir()]\n", "computed", []),
    ("__all__ = ['a']\nif x:\n    __all__ = ['b']\n", "computed", []),
    ("globals()['__all__'] = ['a']\n", "computed", []),
    ("def f():\n    global __all__\n    __all__ = ['x']\n", "computed", []),
])
def test_star_all_kinds(source: str, kind: str, names: list[str]) -> None:
    import ast

    assert star_all(ast.parse(source)) == (kind, names)


def _table(closure: gen.Closure) -> SimpleNamespace:
    namespace: dict[str, object] = {}
    exec(compile(gen.render(closure), "closure.py", "exec"), namespace)  # the generated text, as written
    return SimpleNamespace(**{k: v for k, v in namespace.items() if not k.startswith("__")})


def test_conditional_import_is_pinned_and_conditioned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    closure = _compute(tmp_path, monkeypatch)
    assert closure.leaves["vp.cond"] == ("?vp.cond:outside_pkg",)
    assert closure.leaves["vp.uses_cond"] == ("?vp.cond:outside_pkg",)  # importers inherit the condition
    assert closure.leaves["vp.nb"] == ("outside_pkg",)  # named directly, nb's own imports count
    table = _table(closure)
    assert table.CONDITIONS == {"vp.cond": ("kernel_pkg",)}
    monkeypatch.setattr(closure_lookup, "_table", table)
    site = tmp_path / "site-packages"
    path = [str(site), _STDLIB]
    covered, why = closure_lookup.closure_covered("vp.cond", path)
    assert covered, why  # outside_pkg is installed, but the condition (kernel_pkg importable) does not hold
    covered, why = closure_lookup.closure_covered("vp.nb", path)
    assert not covered and "outside_pkg" in why, why
    kernel = tmp_path / "kernel"
    (kernel / "kernel_pkg").mkdir(parents=True)
    (kernel / "kernel_pkg" / "__init__.py").write_text("")
    covered, why = closure_lookup.closure_covered("vp.cond", [str(kernel), *path])
    assert not covered and "outside_pkg" in why, why  # inside a kernel the import runs
    from safeload.catalog.closure_conditions import conditions_in_effect

    monkeypatch.setattr("safeload.catalog.closure_conditions._conditions", lambda: table.CONDITIONS)
    assert conditions_in_effect(path) == ()
    assert conditions_in_effect([str(kernel), *path]) == ("kernel_pkg",)


def test_edited_conditional_module_stops_matching(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = tmp_path / "site-packages"
    _write(site, _PACKAGE, tmp_path / "marker")
    reviewed = hashlib.sha256((site / "vp" / "cond.py").read_bytes()).hexdigest()
    (site / "vp" / "cond.py").write_text("import sys\nfrom vp.nb import Bar\n")  # the guard removed
    closure = _compute(tmp_path, monkeypatch, pin=reviewed)
    assert closure.leaves["vp.cond"] == ("outside_pkg",)  # an ordinary import again
    assert not closure.conditional


def test_tqdm_autonotebook_pin_matches_the_installed_file() -> None:
    """The reviewed pin is for the installed tqdm: the table marks IPython/ipywidgets conditional for it."""
    from safeload.catalog.generated import closure as table

    if "tqdm.autonotebook" not in getattr(table, "CONDITIONS", {}):
        pytest.skip("the installed tqdm.autonotebook is not the file reviewed")
    assert table.CONDITIONS["tqdm.autonotebook"] == gen.CONDITIONAL_IMPORTS["tqdm.autonotebook"][2]
    reached = {table.OUTSIDE[i] for i in table.REACHES[table.LEAVES["tqdm.autonotebook"]]} \
        if "tqdm.autonotebook" in table.LEAVES else set()
    assert not {"IPython", "ipywidgets"} & reached, reached


# --- scan time --------------------------------------------------------------------------------------------------

def test_scan_time_star_import_of_an_extended_all_reaches_every_submodule(env: Env) -> None:
    """``__all__ = [...]`` then ``__all__.extend([...])``: which names the star import ends with is not read, so
    every submodule of the package is followed (the helper that writes a file is found and refused)."""
    env.write({"pkg/__init__.py": "", "pkg/m.py": "from pkg.sub import *\nclass X:\n    pass\n",
               "pkg/sub/__init__.py": "__all__ = ['a']\n__all__.extend(['b'])\n",
               "pkg/sub/a.py": "", "pkg/sub/b.py": "open(MARKER, 'w').close()\n"})
    verdict = env.run("pkg.m", "X", Use.REF | Use.IMPORT).import_effects
    assert not verdict.inert and "pkg.sub.b" in verdict.reason, verdict.reason


def test_scan_time_star_import_without_all_imports_no_submodule(env: Env) -> None:
    env.write({"pkg/__init__.py": "", "pkg/m.py": "from pkg.sub import *\nclass X:\n    pass\n",
               "pkg/sub/__init__.py": "", "pkg/sub/b.py": "open(MARKER, 'w').close()\n"})
    verdict = env.run("pkg.m", "X", Use.REF | Use.IMPORT).import_effects
    assert verdict.inert, verdict.reason


# --- the closure check is the default ---------------------------------------------------------------------------

def test_strict_imports_is_the_default() -> None:
    if os.environ.get("SAFELOAD_STRICT_IMPORTS", "").strip() == "0":
        pytest.skip("switched off in this run's environment")
    assert STRICT_IMPORTS


def test_vouched_module_importing_a_side_effect_is_refused_by_default(env: Env) -> None:
    """R2-1 as an attack, with the default mode: the vouched package's own top level is covered, the module it
    imports (which writes a marker file) is not, and is analysed and refused; nothing runs."""
    if not STRICT_IMPORTS:
        pytest.skip("SAFELOAD_STRICT_IMPORTS=0 in this run's environment")
    env.write({"vouched/__init__.py": "", "vouched/m.py": "import payload\nclass X:\n    pass\n",
               "payload/__init__.py": "open(MARKER, 'w').close()\n"})

    def catalog(name: str, use: Use) -> bool | None:
        return True if use is Use.IMPORT and name.split(".", maxsplit=1)[0] == "vouched" else None

    verdict = env.run("vouched.m", "X", Use.REF | Use.IMPORT, catalog=catalog).import_effects
    assert not verdict.inert and "payload" in verdict.reason, verdict.reason
    assert not env.marker.exists()


_PICKLE_SCAN = """
import sys
from safeload import scan
from tests.attacks import C, G, assemble
data = assemble(C(G("copyreg", "_reconstructor"),
                  (G("joblib._dask", "Batch"), G("builtins", "object"), None)))
result = scan(data)
assert "distributed" not in sys.modules, "the scan imported what it read"
print([f.message for f in result.blocking()])
"""


def test_pickle_reaching_an_unreviewed_package_is_refused_by_default(tmp_path: Path) -> None:
    """End to end in a fresh process with no SAFELOAD_STRICT_IMPORTS: a pickle naming a vouched joblib module
    whose imports reach distributed (whose import calls weakref.finalize; round 8: matplotlib, the earlier example,
    is import-reviewed) is refused, and neither distributed is imported nor anything written under HOME."""
    import importlib.util

    if importlib.util.find_spec("distributed") is None:  # located, not imported (other tests check it is not)
        pytest.skip("distributed is not installed")
    environ = {k: v for k, v in os.environ.items() if k != "SAFELOAD_STRICT_IMPORTS"}
    environ.update(HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "config"),
                   XDG_CACHE_HOME=str(tmp_path / "cache"), MPLCONFIGDIR=str(tmp_path / "mpl"),
                   SAFELOAD_CACHE_DIR=str(tmp_path / "safeload-cache"), PYTHONPATH=str(Path(__file__).parent.parent))
    run = subprocess.run([sys.executable, "-c", _PICKLE_SCAN], capture_output=True, text=True, timeout=600,
                         env=environ, cwd=tmp_path, check=False)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "distributed" in run.stdout.strip().splitlines()[-1], run.stdout
    assert not (tmp_path / "mpl").exists() and not (tmp_path / "config").exists()
