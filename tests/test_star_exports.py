"""Issue 14, long tail (branch fpt): a star import from a compiled module, read from a generated table.

``torch/__init__.py`` binds most of its compiled API with ``from torch._C import *`` (lines 428 and 445, the two
branches of one top-level ``if``); the static reader cannot open ``torch._C``, so every name only that import binds
"may be rebound" and was refused (tslearn 0.10.0 ``PyTorchBackend.__init__``: ``torch.finfo(torch.double).max``).

What each test checks:

- ``generated/star_exports.py`` is what ``catalog/_gen/star_exports.py`` derives from the installed torch (the
  generator imports torch; the scanner never does), pinned to the distribution it was read from;
- the resolver reads ``torch.finfo`` as the compiled ``torch._C.finfo``; a name torch's own code rebinds or deletes
  after the star import (``TensorBase``) stays unreadable; another installed torch version (no matching
  ``.dist-info`` beside the package), an unlisted compiled module, or a source ``_C`` are not read from the table;
- two star imports of one module in the two branches of one top-level ``if``/``else`` hold after it; other shapes
  (different modules, one branch, ``elif``, inside ``try``, a later rebinding) stay refused, with a live twin for
  the one where the branches import different modules;
- ``torch.finfo`` reviewed as a benign call: the facts the note rests on, measured; a module that rebinds
  ``torch.finfo`` before calling it is refused (live twin).

Nothing scanned is imported by safeload (``tests/longtail_helpers.analysed`` checks ``sys.modules``).
"""

from __future__ import annotations

import sysconfig
import textwrap
from pathlib import Path

import pytest

from safeload.catalog import source_analysis as sa
from safeload.catalog.source_model import Resolver
from safeload.catalog.uses import Use
from tests.longtail_helpers import analysed, installed_version, write_files

needs_torch = pytest.mark.skipif(installed_version("torch") is None, reason="torch not installed")
GENERATED = Path(sa.__file__).parent / "generated" / "star_exports.py"


# --- the generated table --------------------------------------------------------------------------------------------
@needs_torch
def test_the_table_is_what_the_generator_derives_from_the_installed_torch() -> None:
    from safeload.catalog._gen.star_exports import compute, render
    from safeload.catalog.generated import star_exports

    assert render(compute()) == GENERATED.read_text(encoding="utf-8")
    assert {"torch": installed_version("torch")} == star_exports.CHECKED_AGAINST
    assert "finfo" in star_exports.EXPORTS["torch._C"]
    assert star_exports.REBOUND["torch._C"] == frozenset({"TensorBase"})


@needs_torch
def test_what_the_star_import_binds_is_what_torch_holds() -> None:
    """The facts the table records, checked against the live module (tests may import; scans never do)."""
    import builtins

    import torch

    from safeload.catalog.generated import star_exports

    assert not hasattr(torch._C, "__all__")
    exported = star_exports.EXPORTS["torch._C"]
    assert exported == {n for n in vars(torch._C) if not n.startswith("_")}
    assert not exported & set(vars(builtins))
    assert torch.finfo is torch._C.finfo
    for name in exported - star_exports.REBOUND["torch._C"]:
        assert getattr(torch, name) is getattr(torch._C, name), name
    assert not hasattr(torch, "TensorBase")  # torch/__init__.py deletes it with delattr(sys.modules[__name__], ...)


def _resolver(*extra: str) -> Resolver:
    paths = sysconfig.get_paths()
    return Resolver([*extra, paths["stdlib"], paths["platlib"], paths["purelib"]])


@needs_torch
def test_torch_finfo_resolves_to_the_compiled_class() -> None:
    resolver = _resolver()
    finfo = resolver.attribute("torch", "finfo")
    assert (finfo.kind, finfo.dotted) == ("external", "torch._C.finfo"), finfo.reason
    rebound = resolver.attribute("torch", "TensorBase")
    assert rebound.kind == "unknown" and "may be rebound by 'from torch._C import *'" in rebound.reason
    assert resolver.star_exports("torch._C", "finfo") is True
    assert resolver.star_exports("torch._C", "TensorBase") is None
    assert resolver.star_exports("torch._C", "not_a_torch_name") is False
    assert resolver.star_exports("torch._C._nn", "finfo") is None  # not in the table


_FAKE_TORCH_INIT = """
    import os
    if os.environ.get("ATK_GLOBAL"):
        from torch._C import *
    else:
        from torch._C import *
"""


@pytest.mark.parametrize("dist_info", [None, "torch-2.12.0.dist-info", "TABLE"], ids=["none", "other", "pinned"])
def test_the_table_holds_only_for_the_distribution_it_was_read_from(site: Path, dist_info: str | None) -> None:
    """A torch with a compiled ``_C`` (an extension file: never imported by the scan) beside another version's
    metadata, or none, is not described by the table: its star import stays unreadable."""
    from safeload.catalog.generated import star_exports

    ext = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
    write_files(site, {"torch/__init__.py": _FAKE_TORCH_INIT, f"torch/_C{ext}": b"\0"})
    if dist_info == "TABLE":
        dist_info = star_exports.DIST_INFO["torch"][0]
    if dist_info is not None:
        (site / dist_info).mkdir()
    resolver = Resolver([str(site), sysconfig.get_paths()["stdlib"]])
    finfo = resolver.attribute("torch", "finfo")
    if dist_info == star_exports.DIST_INFO["torch"][0]:
        assert (finfo.kind, finfo.dotted) == ("external", "torch._C.finfo"), finfo.reason
    else:
        assert finfo.kind == "unknown" and "may be rebound" in finfo.reason, finfo


def test_a_source_c_module_is_read_as_source_not_from_the_table(site: Path) -> None:
    """A ``torch/_C.py`` (a shadowing source module) is read: the table is only for a compiled module."""
    from safeload.catalog.generated import star_exports

    write_files(site, {"torch/__init__.py": _FAKE_TORCH_INIT,
                       "torch/_C.py": "import os\n__all__ = ['system']\nsystem = os.system\n"})
    (site / star_exports.DIST_INFO["torch"][0]).mkdir()
    resolver = Resolver([str(site), sysconfig.get_paths()["stdlib"]])
    assert resolver.attribute("torch", "finfo").kind == "unknown"
    assert resolver.attribute("torch", "system").dotted == "os.system"


# --- two star imports of one module in the two branches of one `if` -------------------------------------------------
_IMPL = """
    def helper(x):
        return [x]
"""

_EVIL = """
    def helper(x):
        open(MARKER, "w").close()
        return [x]
"""

_BRANCHES = """
    import os
    if os.environ.get("ATKS_FLAG"):
        x = 1
        from atks.impl import *
    else:
        from atks.impl import *
"""

_USER = """
    from atks import api

    class Holder:
        def __setstate__(self, state):
            self.value = api.helper(state)

    DEFAULT = api.helper(1)
"""


def _star(site: Path, branches: str = _BRANCHES, uses: Use = Use.BUILD) -> sa.Analysis:
    files = {"atks/__init__.py": "", "atks/impl.py": _IMPL, "atks/evil.py": _EVIL, "atks/api.py": branches,
             "atks/user.py": _USER}
    return analysed(site, files, "atks.user", "Holder", uses)


def test_the_same_star_import_in_both_branches_binds_its_names(site: Path) -> None:
    a = _star(site)
    assert a.import_effects.inert, a.import_effects.reason
    build = a.verdict(Use.BUILD)
    assert build is not None and build.inert, build


@pytest.mark.parametrize("edit", [
    # the branches import different modules
    ("    else:\n        from atks.impl import *", "    else:\n        from atks.evil import *"),
    # only one branch imports
    ("    else:\n        from atks.impl import *", "    else:\n        pass"),
    # an elif: the else branch is another if
    ("    else:\n        from atks.impl import *",
     "    elif os.environ.get('B'):\n        from atks.impl import *\n    else:\n        from atks.evil import *"),
    # the star import is nested deeper in one branch
    ("    else:\n        from atks.impl import *",
     "    else:\n        if os.environ.get('B'):\n            from atks.impl import *"),
    # the if is inside a try: the star import may fail and the handler bind the names instead
    ("    if os.environ.get(\"ATKS_FLAG\"):\n        x = 1\n        from atks.impl import *\n    else:\n"
     "        from atks.impl import *\n",
     "    try:\n        if os.environ.get(\"ATKS_FLAG\"):\n            from atks.impl import *\n        else:\n"
     "            from atks.impl import *\n    except ImportError:\n        from atks.evil import *\n"),
    # rebound after the branches
    ("        from atks.impl import *\n    else:", "        from atks.impl import *\n    else:\n        pass\n"
     "    helper = os.system\n    if 1:"),
    # a local binding before the branches (the star import may or may not rebind it: the model says unknown)
    ("    import os\n", "    import os\n    from atks.evil import helper\n"),
], ids=["different-modules", "one-branch", "elif", "nested", "in-try", "rebound-after", "bound-before"])
def test_other_star_import_shapes_stay_refused(site: Path, edit: tuple[str, str]) -> None:
    source = textwrap.dedent(_BRANCHES)
    old, new = textwrap.dedent(edit[0]), textwrap.dedent(edit[1])
    assert old in source, old
    a = _star(site, source.replace(old, new))
    assert not (a.import_effects.inert and all(u.inert for u in a.uses)), a.import_effects.reason


def test_a_file_reaching_a_star_import_of_another_module_in_the_other_branch_is_refused(tmp_path: Path) -> None:
    """Live twin: the branch that runs imports atks.evil, whose helper the file's BUILD calls (the marker);
    safeload refuses and the marker is absent."""
    from tests.test_redteam_round2 import LibCase, _live, _refused

    branches = textwrap.dedent(_BRANCHES.replace("    else:\n        from atks.impl import *",
                                                 "    else:\n        from atks.evil import *"))
    assert "from atks.evil import *" in branches
    user = textwrap.dedent(_USER).replace("DEFAULT = api.helper(1)\n", "")
    case = LibCase({"atks/__init__.py": "", "atks/impl.py": _IMPL, "atks/evil.py": _EVIL, "atks/api.py": branches,
                    "atks/user.py": user},
                   lambda: b"\x80\x02catks.user\nHolder\n)\x81}b.")
    _live(tmp_path / "live", case)
    _refused(tmp_path / "safe", case)


# --- torch.finfo, reviewed as a benign call -------------------------------------------------------------------------
@needs_torch
def test_the_finfo_review_facts() -> None:
    """What the BENIGN_CALLS note says, measured on the installed torch: a compiled class with no __init__ of its
    own and no instance dict; calling it with any argument runs no code of the argument's beyond attribute lookups
    (it looks __torch_function__ up), a non-dtype raises TypeError, a dtype gives numeric constants."""
    import torch

    assert type(torch.finfo) is type
    assert torch.finfo.__init__ is object.__init__
    assert not hasattr(torch.finfo(torch.double), "__dict__")
    assert torch.finfo(torch.double).max == 1.7976931348623157e308
    ran: list[str] = []

    class Probe:
        def __getattribute__(self, name: str) -> object:
            ran.append(f"getattribute:{name}")
            return object.__getattribute__(self, name)

        def __index__(self) -> int:
            ran.append("index")
            return 7

        def __iter__(self) -> object:
            ran.append("iter")
            return iter([torch.double])

        def __eq__(self, other: object) -> bool:
            ran.append("eq")
            return True

        __hash__ = object.__hash__

        def __repr__(self) -> str:
            ran.append("repr")
            return "Probe"

    for args in ((Probe(),), (Probe(), Probe()), ([Probe()],)):
        with pytest.raises(TypeError):
            torch.finfo(*args)
    with pytest.raises(TypeError):
        torch.finfo(type=Probe())
    assert {entry.partition(":")[2] or entry for entry in ran} <= {"__torch_function__", "__class__"}, ran


@needs_torch
def test_a_module_calling_torch_finfo_is_inert(site: Path) -> None:
    files = {"atkf/__init__.py": "", "atkf/m.py": """
        import torch as _torch

        class Holder:
            def __setstate__(self, state):
                self.dbl_max = _torch.finfo(_torch.double).max
                self.state = state

        LIMIT = _torch.finfo(_torch.float32).eps
    """}
    a = analysed(site, files, "atkf.m", "Holder", Use.BUILD, installed=True)
    assert a.import_effects.inert, a.import_effects.reason
    build = a.verdict(Use.BUILD)
    assert build is not None and build.inert, build


_REBINDS_FINFO = """
    import torch

    def _finfo(*args):
        open(MARKER, "w").close()
        return args

    torch.finfo = _finfo

    class Holder:
        def __setstate__(self, state):
            self.info = torch.finfo(state)
"""


@needs_torch
def test_a_module_rebinding_torch_finfo_is_refused(site: Path, tmp_path: Path) -> None:
    """The review is of torch's class: a module that puts its own function at ``torch.finfo`` and calls it is
    refused (analysis, and live twin under plain pickle.load)."""
    from tests.test_redteam_round2 import LibCase, _live, _refused

    a = analysed(site, {"atkf/__init__.py": "", "atkf/m.py": _REBINDS_FINFO}, "atkf.m", "Holder", Use.BUILD,
                 installed=True)
    assert not (a.import_effects.inert and all(u.inert for u in a.uses))
    case = LibCase({"atkf/__init__.py": "", "atkf/m.py": _REBINDS_FINFO},
                   lambda: b"\x80\x02catkf.m\nHolder\n)\x81X\x01\x00\x00\x00xb.")
    _live(tmp_path / "live", case)
    _refused(tmp_path / "safe", case)


# --- found while attacking the change: a star import before a conditional binding ----------------------------------
_BEFORE = """
    import os
    from atks.evil import *
    if os.environ.get("ATKS_FLAG"):
        def helper(x):
            return [x]
"""


def test_a_star_import_before_a_conditional_binding_is_not_overridden_by_it(site: Path, tmp_path: Path) -> None:
    """``from m import *`` then ``if c: def helper`` : when ``c`` is false the name is the star import's. The resolver
    used to read the conditional ``def`` alone (one binding, taken to hold) and called the file's BUILD inert while
    the live load ran atks.evil's helper. Now unknown; the same star import inside the binding's own block (both
    run, the later binding wins) is still read."""
    from tests.test_redteam_round2 import LibCase, _live, _refused

    a = _star(site, textwrap.dedent(_BEFORE))
    assert not (a.import_effects.inert and all(u.inert for u in a.uses))
    same_block = textwrap.dedent(_BEFORE).replace("from atks.evil import *\nif os.environ.get(\"ATKS_FLAG\"):\n",
                                                  "if os.environ.get(\"ATKS_FLAG\"):\n    from atks.evil import *\n")
    assert same_block != textwrap.dedent(_BEFORE)
    read = _star(site, same_block)
    build = read.verdict(Use.BUILD)
    assert read.import_effects.inert and build is not None and build.inert, read.import_effects.reason
    user = textwrap.dedent(_USER).replace("DEFAULT = api.helper(1)\n", "")
    case = LibCase({"atks/__init__.py": "", "atks/impl.py": _IMPL, "atks/evil.py": _EVIL,
                    "atks/api.py": textwrap.dedent(_BEFORE), "atks/user.py": user},
                   lambda: b"\x80\x02catks.user\nHolder\n)\x81}b.")
    _live(tmp_path / "live", case)
    _refused(tmp_path / "safe", case)


# --- a function in one branch of an `if`, None in the other (tslearn 0.10.0 metrics/utils.py) ------------------------
_FN_OR_NONE = """
    import functools
    import os
    if os.environ.get("ATKN_FLAG") is None:
        def _accumulate(s1, s2, acc_fun):
            return [s1, s2]
    else:
        _accumulate = None
"""

# built inside a function the top level calls, where the analysis counts a function handed to functools.partial as
# called (a module's top level only storing the partial does not call it: tests/test_tslearn_kmeans.py)
_FN_USER = """
    import functools
    from atkn.utils import _accumulate

    def _build():
        return functools.partial(_accumulate, acc_fun=len)

    ACCUMULATE = _build()

    class Plain:
        pass
"""


def _fn_or_none(site: Path, utils: str = _FN_OR_NONE) -> sa.Analysis:
    files = {"atkn/__init__.py": "", "atkn/utils.py": textwrap.dedent(utils), "atkn/user.py": _FN_USER}
    return analysed(site, files, "atkn.user", "Plain", Use.NEW)


def test_a_function_or_none_alternative_handed_to_partial_is_inert_when_the_function_is(site: Path) -> None:
    a = _fn_or_none(site)
    assert a.import_effects.inert, a.import_effects.reason


@pytest.mark.parametrize("edit", [
    ("            return [s1, s2]", '            open(MARKER, "w").close()'),
    ("        _accumulate = None", "        _accumulate = os.system"),
    ("        _accumulate = None", "        _accumulate = 0"),
    ("        _accumulate = None", "        _accumulate = None\n    _accumulate = os.system"),
    ("    else:\n        _accumulate = None", "    elif os.environ.get('B'):\n        _accumulate = None\n"
     "    else:\n        _accumulate = os.system"),
    ("    else:\n        _accumulate = None", "    else:\n        _accumulate, x = None, os.system"),
], ids=["function-effect", "other-callable", "other-constant", "rebound", "elif", "tuple-target"])
def test_other_function_alternatives_stay_refused(site: Path, edit: tuple[str, str]) -> None:
    source = textwrap.dedent(_FN_OR_NONE)
    old, new = textwrap.dedent(edit[0]), textwrap.dedent(edit[1])
    assert old in source, old
    assert not _fn_or_none(site, source.replace(old, new)).import_effects.inert


def test_a_file_calling_the_function_alternative_is_refused(tmp_path: Path) -> None:
    """Live twin: the branch that runs defines a function with the marker, which the file calls through the partial;
    safeload refuses (the alternatives are read only where a call is analysed, never for a name a file names)."""
    from tests.test_redteam_round2 import LibCase, _live, _refused

    utils = textwrap.dedent(_FN_OR_NONE).replace("return [s1, s2]", 'open(MARKER, "w").close()')
    case = LibCase({"atkn/__init__.py": "", "atkn/utils.py": utils, "atkn/user.py": _FN_USER},
                   lambda: b"\x80\x02catkn.utils\n_accumulate\nK\x01K\x02K\x03\x87R.")
    _live(tmp_path / "live", case)
    _refused(tmp_path / "safe", case)


# --- `try: import X` / `except ImportError: X = None` (tslearn 0.10.0 metrics/utils.py: torch) -----------------------
_OPTIONAL = """
    try:
        import atko_dep
    except ImportError:
        atko_dep = None

    def accumulate(x):
        return atko_dep.helper(x)
"""

_OPTIONAL_USER = """
    from atko import utils

    class Holder:
        def __setstate__(self, state):
            self.value = utils.accumulate(state)

    DEFAULT = utils.accumulate(1)
"""


def _optional(site: Path, utils: str = _OPTIONAL, dep: str = _IMPL) -> sa.Analysis:
    files = {"atko/__init__.py": "", "atko/utils.py": textwrap.dedent(utils), "atko/user.py": _OPTIONAL_USER,
             "atko_dep.py": dep}
    return analysed(site, files, "atko.user", "Holder", Use.BUILD)


def test_an_optional_module_or_none_is_read_as_the_module_for_attribute_lookups(site: Path) -> None:
    a = _optional(site)
    assert a.import_effects.inert, a.import_effects.reason
    build = a.verdict(Use.BUILD)
    assert build is not None and build.inert, build


@pytest.mark.parametrize("edit", [
    # the module's function has an effect: still analysed
    None,
    # a dunder attribute exists on None too (None.__class__ is NoneType): not read through the module
    ("        return atko_dep.helper(x)", "        return atko_dep.__class__(x)"),
    # the name itself called, or handed to code that calls it
    ("        return atko_dep.helper(x)", "        return atko_dep(x)"),
    ("        return atko_dep.helper(x)", "        import functools\n        return functools.partial(atko_dep, x)"),
    # the handler binds something else
    ("        atko_dep = None", "        import os as atko_dep"),
    ("        atko_dep = None", "        atko_dep = 0"),
    # bound again later, or in an else/finally clause
    ("    def accumulate(x):", "    atko_dep = None\n    def accumulate(x):"),
    ("        atko_dep = None\n", "        atko_dep = None\n    else:\n        import os as atko_dep\n"),
    # the import is not a direct statement of the try
    ("        import atko_dep\n", "        if 1:\n            import atko_dep\n"),
], ids=["dep-effect", "dunder", "called", "partial", "handler-other-module", "handler-other-constant", "rebound", "else",
        "nested"])
def test_other_optional_import_shapes_stay_refused(site: Path, edit: tuple[str, str] | None) -> None:
    source = textwrap.dedent(_OPTIONAL)
    dep = _IMPL
    if edit is None:
        dep = _EVIL
    else:
        old, new = textwrap.dedent(edit[0]), textwrap.dedent(edit[1])
        assert old in source, old
        source = source.replace(old, new)
    a = _optional(site, source, dep)
    assert not (a.import_effects.inert and all(u.inert for u in a.uses)), a.import_effects.reason


def test_a_file_reaching_the_optional_module_s_function_is_refused(tmp_path: Path) -> None:
    """Live twin: the optional module is installed and its helper writes the marker when the file's BUILD calls it
    through the name; safeload refuses."""
    from tests.test_redteam_round2 import LibCase, _live, _refused

    user = textwrap.dedent(_OPTIONAL_USER).replace("DEFAULT = utils.accumulate(1)\n", "")
    case = LibCase({"atko/__init__.py": "", "atko/utils.py": textwrap.dedent(_OPTIONAL), "atko/user.py": user,
                    "atko_dep.py": _EVIL},
                   lambda: b"\x80\x02catko.user\nHolder\n)\x81}b.")
    _live(tmp_path / "live", case)
    _refused(tmp_path / "safe", case)
