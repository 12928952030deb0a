"""Issue 14, long tail (branch tslearn): what ``tslearn/ts-kmeans.pkl`` (``TimeSeriesKMeans``) needed, and attacks.

Importing ``tslearn.clustering`` imports ``tslearn.metrics``, whose top levels (1) build the numpy backend at import,
which reads ``numpy.testing.assert_allclose`` (numpy's ``__getattr__`` imports ``numpy.testing``), (2) bind
``_accumulated_matrix = functools.partial(_torch_accumulated_matrix, acc_fun=...)`` and (3) define
``class _SoftDTWLossPyTorch(torch.autograd.Function)``, created by the metaclass ``FunctionMeta``.

What each part checks:

- ``numpy.testing`` (lead's decision: numpy's public testing API, not a test suite) is admitted for import only: the
  review's facts (the files hash as read, ``import numpy.testing`` measured with an audit hook), the import is inert
  while the files are the reviewed text, and refused for another text (a changed ``numpy/testing`` in a site
  directory: the name rule applies again); every use of a name defined there is refused (also reached through a
  re-export, and a call of one from analysed code); ``numpy.testing.tests``, ``numpy/tests`` and
  ``numpy.testing.print_coercion_tables`` stay denied; live twin: a pickle calling ``numpy.testing.assert_warns``
  (which calls the function it is given) is refused;
- ``X = functools.partial(f, ...)`` at a module's top level does not call ``f``; every other shape that would run
  ``f`` (calling the partial, a decorator made with partial, a partial handed to code that calls it, built inside a
  function or a class body, a load calling the module-level partial) is refused, with live twins;
- ``FunctionMeta.__init__`` reviewed as a class-creation hook: the facts the note rests on, measured on the
  installed torch; a class made by it at import is inert; a derived metaclass (its own ``__init__`` or
  ``__setattr__``), a base's ``__init_subclass__``, a shadow ``torch/autograd/function.py`` whose ``FunctionMeta``
  text is the reviewed one but whose module is not, are refused; instance uses of a class it builds stay refused.
"""

from __future__ import annotations

import ast
import hashlib
import pickle
import sysconfig
import textwrap
from pathlib import Path

import pytest

from safeload.catalog import source_analysis as sa
from safeload.catalog import source_tables as tables
from safeload.catalog.decide import catalogue_view
from safeload.catalog.source_model import Resolver
from safeload.catalog.source_reviews import def_digest
from safeload.catalog.uses import Use
from tests.longtail_helpers import analysed, installed_version, measure_import

needs_numpy = pytest.mark.skipif(installed_version("numpy") is None, reason="numpy not installed")
needs_torch = pytest.mark.skipif(installed_version("torch") is None, reason="torch not installed")

_NUMPY_TESTING = ("numpy.testing", "numpy.testing._private", "numpy.testing._private.utils",
                  "numpy.testing._private.extbuild", "numpy.testing.overrides")


def _installed(*names: str, uses: Use = Use.IMPORT) -> sa.Analysis:
    paths = sysconfig.get_paths()
    sa.clear_cache()
    try:
        return sa.analyse(names[0], names[1], uses, catalog=catalogue_view,
                          search_path=[paths["stdlib"], paths["platlib"], paths["purelib"]])
    finally:
        sa.clear_cache()


def _refused_everywhere(a: sa.Analysis) -> bool:
    return not (a.import_effects.inert and all(u.inert for u in a.uses))


# --- numpy.testing: admitted for import only ----------------------------------------------------------------------
@needs_numpy
def test_the_numpy_testing_review_is_the_installed_text() -> None:
    """Every reviewed file hashes as read, and the notes name the installed numpy."""
    import importlib.util

    version = installed_version("numpy")
    assert set(tables.NAMED_LIKE_TESTS_DIGESTS) == set(_NUMPY_TESTING) == set(tables.IMPORT_ONLY_MODULES)
    for module in _NUMPY_TESTING:
        spec = importlib.util.find_spec(module)
        assert spec is not None and spec.origin is not None
        assert hashlib.sha256(Path(spec.origin).read_bytes()).hexdigest() == tables.NAMED_LIKE_TESTS_DIGESTS[module]
        assert tables.LIBRARY_MODULES_NAMED_LIKE_TESTS[module].startswith(f"numpy {version} "), module


@needs_numpy
def test_importing_numpy_testing_only_reads_the_environment(tmp_path: Path) -> None:
    """Measured in a fresh interpreter with an audit hook: no file written, no directory made, no process, no
    socket; the test-named modules it loads are exactly the reviewed ones (not numpy.testing.tests)."""
    (tmp_path / "numpy").mkdir()
    (tmp_path / "testing").mkdir()
    numpy_alone = measure_import(tmp_path / "numpy", "import numpy")
    run = measure_import(tmp_path / "testing", "import numpy\nimport numpy.testing", ("numpy",))
    assert run.effects == numpy_alone.effects  # numpy's own (reviewed with numpy: ctypes.dlopen(None)), no more
    named = {m for m in run.loaded if m.startswith("numpy.") and any(p in ("testing", "tests") for p in m.split("."))}
    assert named == set(_NUMPY_TESTING)
    assert not [m for m in run.loaded if m.startswith(("numpy.testing.tests", "numpy.tests"))]
    assert run.left_behind == []


@needs_numpy
def test_numpy_testing_import_is_inert_and_its_names_are_never_used() -> None:
    a = _installed("numpy.testing", "assert_allclose", uses=Use.IMPORT | Use.REF | Use.CALL)
    assert a.import_effects.inert, a.import_effects.reason
    for use in (Use.REF, Use.CALL):
        verdict = a.verdict(use)
        assert verdict is not None and not verdict.inert and "import only" in verdict.reason, verdict
    for module, name, uses in (("numpy.testing._private.utils", "assert_equal", Use.CALL),
                               ("numpy.testing", "suppress_warnings", Use.NEW | Use.BUILD),
                               ("numpy.testing.overrides", "allows_array_function_override", Use.CALL),
                               ("numpy.testing", "assert_", Use.INVOKE),
                               ("numpy.testing._private.extbuild", "build_and_import_extension", Use.CALL)):
        b = _installed(module, name, uses=uses)
        assert all(not u.inert and "import only" in u.reason for u in b.uses), (module, name, b.uses)


@pytest.mark.parametrize("module", ["numpy.testing.tests.test_utils", "numpy.tests.test_public_api",
                                    "numpy.testing.print_coercion_tables"])
@needs_numpy
def test_numpy_test_suites_stay_denied(module: str) -> None:
    assert tables.denied_module_reason(module) is not None
    a = _installed(module, "anything")
    assert not a.import_effects.inert and "never imported by a load" in a.import_effects.reason


_SHADOW_TESTING = """
import os
open(os.path.join(os.path.dirname(__file__), "..", "..", "marker"), "w").close()
"""


@needs_numpy
def test_another_numpy_testing_text_is_a_test_module_again(site: Path) -> None:
    """A site directory whose ``numpy/testing/__init__.py`` is not the reviewed file (an edited or shadowing numpy):
    the name rule applies again, even though the import of numpy is vouched."""
    a = analysed(site, {"numpy/__init__.py": "", "numpy/testing/__init__.py": _SHADOW_TESTING},
                 "numpy.testing", "anything", Use.IMPORT)
    assert not a.import_effects.inert
    assert "another text" in a.import_effects.reason, a.import_effects.reason


_CALLS_TESTING = """
import numpy as np

class Holder:
    def __setstate__(self, state):
        self.ok = np.testing.assert_allclose(state, state)
"""


@needs_numpy
def test_load_time_code_calling_a_numpy_testing_function_is_refused(site: Path) -> None:
    a = analysed(site, {"atkt/__init__.py": "", "atkt/m.py": _CALLS_TESTING}, "atkt.m", "Holder",
                 Use.IMPORT | Use.BUILD, installed=True)
    assert a.import_effects.inert, a.import_effects.reason
    build = a.verdict(Use.BUILD)
    assert build is not None and not build.inert and "import only" in build.reason, build


class _Reduce:
    def __init__(self, func: object, args: tuple[object, ...]) -> None:
        self.func, self.args = func, args

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        return self.func, self.args


@needs_numpy
def test_a_pickle_calling_a_numpy_testing_function_is_refused(tmp_path: Path) -> None:
    """``numpy.testing.assert_warns(UserWarning, f, *args)`` calls ``f(*args)``; here ``f`` is numpy.testing's
    ``runstring`` (``exec``) writing a marker. Live under pickle.load; safeload refuses both names (the
    assert_warns one for being import-only) and the marker stays absent."""
    import subprocess
    import sys

    import numpy.testing

    import safeload

    marker = tmp_path / "marker"
    code = f"import warnings\nopen({str(marker)!r}, 'w').close()\nwarnings.warn('x', UserWarning)\n"
    data = pickle.dumps(_Reduce(numpy.testing.assert_warns, (UserWarning, numpy.testing.runstring, code, {})),
                        protocol=2)
    assert b"assert_warns" in data and b"runstring" in data
    result = safeload.scan(data)
    assert not result.is_safe()
    reasons = {f.subject: f.message for f in result.blocking()}
    assert "import only" in reasons.get("numpy.testing._private.utils.assert_warns",
                                        reasons.get("numpy.testing.assert_warns", "")), reasons
    with pytest.raises(safeload.UnsafeModelError):
        safeload.pickle_loads(data)
    assert not marker.exists()
    live = tmp_path / "live.pkl"
    live.write_bytes(data)
    subprocess.run([sys.executable, "-W", "ignore", "-c", f"import pickle; pickle.load(open({str(live)!r}, 'rb'))"],
                   check=True, timeout=300, cwd=tmp_path)
    assert marker.exists()


# --- `X = functools.partial(f, ...)` at a module's top level --------------------------------------------------------
_EVIL_FN = """
def helper(*args, **kwargs):
    open(MARKER, "w").close()
    return 0
"""

_STORED = """
import functools
from atkp.impl import helper

ACCUMULATE = functools.partial(helper, acc_fun=len)

class Plain:
    pass
"""


def _partial(site: Path, user: str = _STORED, uses: Use = Use.IMPORT) -> sa.Analysis:
    impl = _EVIL_FN.replace("MARKER", repr(str(site.parent / "marker")))
    return analysed(site, {"atkp/__init__.py": "", "atkp/impl.py": impl, "atkp/user.py": textwrap.dedent(user)},
                    "atkp.user", "Plain", uses)


def test_a_partial_stored_at_the_top_level_does_not_call_its_function(site: Path) -> None:
    a = _partial(site)
    assert a.import_effects.inert, a.import_effects.reason


@pytest.mark.parametrize("edit", [
    # called right away, or later at the top level
    ("ACCUMULATE = functools.partial(helper, acc_fun=len)", "ACCUMULATE = functools.partial(helper, acc_fun=len)()"),
    ("ACCUMULATE = functools.partial(helper, acc_fun=len)",
     "ACCUMULATE = functools.partial(helper, acc_fun=len)\nX = ACCUMULATE(1)"),
    # handed to code that calls it
    ("ACCUMULATE = functools.partial(helper, acc_fun=len)",
     "ACCUMULATE = sorted([2, 1], key=functools.partial(helper, acc_fun=len))"),
    ("ACCUMULATE = functools.partial(helper, acc_fun=len)",
     "ACCUMULATE = functools.partial(helper, acc_fun=len)\nY = sorted([2, 1], key=ACCUMULATE)"),
    # a decorator made with partial (applying it calls helper)
    ("class Plain:", "@functools.partial(helper, 1)\ndef decorated():\n    pass\n\nclass Plain:"),
    # used as a decorator after being stored
    ("class Plain:", "@ACCUMULATE\ndef decorated():\n    pass\n\nclass Plain:"),
    # built inside a function the top level calls (the function's result may be called by its caller)
    ("ACCUMULATE = functools.partial(helper, acc_fun=len)",
     "def build():\n    return functools.partial(helper, acc_fun=len)\nACCUMULATE = build()"),
    # a class attribute (a partial has no __get__: instances call it as it is)
    ("class Plain:\n    pass", "class Plain:\n    run = functools.partial(helper, acc_fun=len)\n    x = run(1)"),
    # an attribute target: another object's __setattr__ runs
    ("ACCUMULATE = functools.partial(helper, acc_fun=len)",
     "import types\nNS = types.SimpleNamespace()\nNS.f = functools.partial(helper)\nNS.f()"),
], ids=["called-at-once", "called-later", "sorted-key", "stored-then-key", "partial-decorator", "stored-decorator",
        "in-a-function", "class-body", "attribute-target"])
def test_other_partial_shapes_stay_refused(site: Path, edit: tuple[str, str]) -> None:
    source = textwrap.dedent(_STORED)
    assert edit[0] in source, edit[0]
    a = _partial(site, source.replace(edit[0], edit[1]))
    assert not a.import_effects.inert, edit


_LOAD_CALLS = """
import functools
from atkp.impl import helper

ACCUMULATE = functools.partial(helper, acc_fun=len)

class Holder:
    def __setstate__(self, state):
        self.value = ACCUMULATE(state)
"""


def test_a_load_calling_the_stored_partial_is_refused(site: Path, tmp_path: Path) -> None:
    """The partial built at import is inert to build, not to call: a BUILD calling it is refused (analysis and live
    twin under pickle.load, where the marker is written)."""
    from tests.test_redteam_round2 import LibCase, _live, _refused

    a = analysed(site, {"atkp/__init__.py": "", "atkp/impl.py": _EVIL_FN.replace("MARKER", "'x'"),
                        "atkp/user.py": _LOAD_CALLS}, "atkp.user", "Holder", Use.IMPORT | Use.BUILD)
    assert a.import_effects.inert, a.import_effects.reason
    build = a.verdict(Use.BUILD)
    assert build is not None and not build.inert, build
    case = LibCase({"atkp/__init__.py": "", "atkp/impl.py": _EVIL_FN, "atkp/user.py": _LOAD_CALLS},
                   lambda: b"\x80\x02catkp.user\nHolder\n)\x81K\x01b.")
    _live(tmp_path / "live", case)
    _refused(tmp_path / "safe", case)


# --- torch.autograd.function.FunctionMeta.__init__, reviewed as a class-creation hook -------------------------------
@needs_torch
def test_the_function_meta_review_facts() -> None:
    """What the note says, measured on the installed torch (tests may import torch; scans never do)."""
    import inspect

    import torch.autograd.function as fn

    review = tables.REVIEWED_CLASS_CREATION_HOOKS["torch.autograd.function.FunctionMeta.__init__"]
    assert review[3].startswith(f"torch {installed_version('torch')} ")
    source = Path(inspect.getfile(fn)).read_bytes()
    assert hashlib.sha256(source).hexdigest() == review[1]
    tree = ast.parse(source)
    meta = next(n for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and n.name == "FunctionMeta")
    init = next(n for n in meta.body if isinstance(n, ast.FunctionDef) and n.name == "__init__")
    assert def_digest(init) == review[0]
    assert fn.FunctionMeta.__mro__ == (fn.FunctionMeta, type, object)
    assert set(vars(fn.FunctionMeta)) == {"__module__", "__doc__", "__init__"}
    assert type(fn.BackwardCFunction) is type
    for cls in fn.BackwardCFunction.__mro__[:-1]:
        assert "__init_subclass__" not in vars(cls) and "__set_name__" not in vars(cls), cls
    assert type(fn.AUTOGRAD_FUNCTION_COUNTER).__name__ == "count"
    for compiled in review[2]:  # the compiled bases of the reviewed MRO: metaclass type, no hook of their own
        module, _, name = compiled.rpartition(".")
        cls = getattr(__import__(module, fromlist=[name]), name)
        assert type(cls) is type and "__init_subclass__" not in vars(cls), compiled

    class Probe(fn.Function):
        pass

    assert Probe._backward_cls.__mro__[1] is fn.BackwardCFunction
    assert Probe._backward_cls._forward_cls is Probe


_AUTOGRAD_USER = """
import torch

class Square(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x * x

class Plain:
    pass
"""


def _autograd(site: Path, user: str = _AUTOGRAD_USER, uses: Use = Use.IMPORT) -> sa.Analysis:
    return analysed(site, {"atkg/__init__.py": "", "atkg/user.py": textwrap.dedent(user)}, "atkg.user", "Plain",
                    uses, installed=True)


@needs_torch
def test_a_class_created_by_function_meta_is_inert_to_import(site: Path) -> None:
    a = _autograd(site)
    assert a.import_effects.inert, a.import_effects.reason


_HOOK = '        open(MARKER, "w").close()\n'


@needs_torch
@pytest.mark.parametrize("edit", [
    # a derived metaclass with its own __init__ (analysed, and the review is for FunctionMeta's classes only)
    ("class Square(torch.autograd.Function):",
     "from torch.autograd.function import FunctionMeta\n\nclass Meta(FunctionMeta):\n    def __init__(cls, *args):\n" + _HOOK
     + "        super().__init__(*args)\n\nclass Square(torch.autograd.Function, metaclass=Meta):"),
    # a derived metaclass with only a __setattr__: FunctionMeta.__init__'s `cls._backward_cls = ...` runs it
    ("class Square(torch.autograd.Function):",
     "from torch.autograd.function import FunctionMeta\n\nclass Meta(FunctionMeta):\n    def __setattr__(cls, name, value):\n" + _HOOK
     + "        type.__setattr__(cls, name, value)\n\nclass Square(torch.autograd.Function, metaclass=Meta):"),
    # a base's __init_subclass__ still runs at class creation
    ("class Square(torch.autograd.Function):",
     "class Base(torch.autograd.Function):\n    def __init_subclass__(cls, **kw):\n" + _HOOK
     + "        super().__init_subclass__(**kw)\n\nclass Square(Base):"),
], ids=["derived-init", "derived-setattr", "base-init-subclass"])
def test_other_class_creation_hooks_stay_refused(site: Path, edit: tuple[str, str]) -> None:
    source = textwrap.dedent(_AUTOGRAD_USER)
    assert edit[0] in source
    user = source.replace(edit[0], edit[1]).replace("MARKER", repr(str(site.parent / "marker")))
    assert not _autograd(site, user).import_effects.inert


@needs_torch
def test_instances_of_a_class_function_meta_built_stay_refused(site: Path) -> None:
    """The review is of class creation at import: it does not say the class is its source (FunctionMeta adds
    ``_backward_cls``), so instance uses keep the metaclass refusal."""
    a = analysed(site, {"atkg/__init__.py": "", "atkg/user.py": textwrap.dedent(_AUTOGRAD_USER)}, "atkg.user",
                 "Square", Use.NEW | Use.BUILD, installed=True)
    assert not all(u.inert for u in a.uses), a.uses


@needs_torch
def test_a_shadow_function_module_with_the_reviewed_hook_text_is_refused(site: Path) -> None:
    """A ``torch/autograd/function.py`` holding FunctionMeta with the reviewed ``__init__`` text word for word, but
    whose BackwardCFunction has an ``__init_subclass__`` writing a marker: the module's bytes are not the reviewed
    ones, so the hook is analysed again (and refused)."""
    import inspect

    import torch.autograd.function as fn

    tree = ast.parse(Path(inspect.getfile(fn)).read_text(encoding="utf-8"))
    meta = next(n for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and n.name == "FunctionMeta")
    shadow = textwrap.dedent(f"""
        import itertools
        AUTOGRAD_FUNCTION_COUNTER = itertools.count()

        class BackwardCFunction:
            def __init_subclass__(cls, **kw):
                open({str(site.parent / 'marker')!r}, "w").close()

        """) + ast.unparse(meta) + "\n\nclass Function(metaclass=FunctionMeta):\n    pass\n"
    assert def_digest(next(n for n in ast.parse(shadow).body if isinstance(n, ast.ClassDef)
                           and n.name == "FunctionMeta").body[-1]) == tables.REVIEWED_CLASS_CREATION_HOOKS[
        "torch.autograd.function.FunctionMeta.__init__"][0]
    files = {"torch/__init__.py": "", "torch/autograd/__init__.py": "", "torch/autograd/function.py": shadow,
             "atkg/__init__.py": "",
             "atkg/user.py": "from torch.autograd.function import Function\n\nclass Square(Function):\n    pass\n\n"
                             "class Plain:\n    pass\n"}
    a = analysed(site, files, "atkg.user", "Plain", Use.IMPORT)
    assert not a.import_effects.inert


_DERIVED_META_MODULE = """
import torch
from torch.autograd.function import FunctionMeta

class Meta(FunctionMeta):
    def __init__(cls, *args):
        open(MARKER, "w").close()
        super().__init__(*args)

class Square(torch.autograd.Function, metaclass=Meta):
    pass

class Plain:
    pass
"""


@needs_torch
@pytest.mark.slow
def test_a_pickle_importing_a_derived_function_metaclass_is_refused(tmp_path: Path) -> None:
    """Live twin: the module's class creation runs the derived metaclass's __init__ (the marker) when pickle.load
    imports it for ``Plain``; safeload refuses and the marker is absent."""
    from tests.test_redteam_round2 import LibCase, _live, _refused

    case = LibCase({"atkg/__init__.py": "", "atkg/user.py": _DERIVED_META_MODULE},
                   lambda: b"\x80\x02catkg.user\nPlain\n)\x81.")
    _live(tmp_path / "live", case)
    _refused(tmp_path / "safe", case)


def test_the_resolver_reads_function_meta_from_the_installed_torch() -> None:
    """The review is found where the analysis looks: the metaclass of torch.autograd.Function is FunctionMeta,
    read from source."""
    if installed_version("torch") is None:
        pytest.skip("torch not installed")
    paths = sysconfig.get_paths()
    resolver = Resolver([paths["stdlib"], paths["platlib"], paths["purelib"]])
    model = resolver.class_model(resolver.qualname("torch.autograd.function", "Function"))
    assert not isinstance(model, str)
    meta = model.metaclass
    assert meta is not None and getattr(meta, "dotted", None) == "torch.autograd.function.FunctionMeta"


# --- more attacks on the change --------------------------------------------------------------------------------------
_REEXPORT = """
from numpy.testing import assert_allclose as compare
"""


@needs_numpy
def test_a_numpy_testing_function_re_exported_by_another_module_is_refused(site: Path) -> None:
    """The defining module decides too: ``lib.compare`` is numpy.testing's assert_allclose."""
    a = analysed(site, {"atkr/__init__.py": "", "atkr/m.py": _REEXPORT}, "atkr.m", "compare",
                 Use.IMPORT | Use.CALL, installed=True)
    assert a.import_effects.inert, a.import_effects.reason
    call = a.verdict(Use.CALL)
    assert call is not None and not call.inert and "import only" in call.reason, call


_SHADOWED_FUNCTOOLS = """
from atkp.impl import helper

class functools:
    @staticmethod
    def partial(f, *args, **kwargs):
        return f(*args, **kwargs)

ACCUMULATE = functools.partial(helper, acc_fun=len)

class Plain:
    pass
"""


def test_a_module_s_own_partial_is_not_functools_partial(site: Path) -> None:
    """A class of the module named ``functools`` whose ``partial`` calls its argument: not the reviewed callee."""
    a = _partial(site, _SHADOWED_FUNCTOOLS)
    assert not a.import_effects.inert


def test_a_pickle_calling_the_stored_partial_by_name_is_refused(site: Path, tmp_path: Path) -> None:
    """The file names the module-level partial itself and calls it (REDUCE): a value computed at import, refused;
    live under pickle.load (the partial calls helper, which writes the marker)."""
    from tests.test_redteam_round2 import LibCase, _live, _refused

    a = analysed(site, {"atkp/__init__.py": "", "atkp/impl.py": _EVIL_FN.replace("MARKER", "'x'"),
                        "atkp/user.py": textwrap.dedent(_STORED)}, "atkp.user", "ACCUMULATE", Use.CALL)
    assert a.import_effects.inert and not all(u.inert for u in a.uses), a.uses
    case = LibCase({"atkp/__init__.py": "", "atkp/impl.py": _EVIL_FN, "atkp/user.py": textwrap.dedent(_STORED)},
                   lambda: b"\x80\x02catkp.user\nACCUMULATE\nK\x01\x85R.")
    _live(tmp_path / "live", case)
    _refused(tmp_path / "safe", case)


_VOUCHED_DERIVED_META = """
from torch.autograd.function import FunctionMeta

class EvilMeta(FunctionMeta):
    def __setattr__(cls, name, value):
        open(MARKER, "w").close()
        type.__setattr__(cls, name, value)

class Base(metaclass=EvilMeta):
    pass
"""

_KEYWORD_USER = """
from catboost.evil import Base
from torch.autograd.function import FunctionMeta

class X(Base, metaclass=FunctionMeta):
    pass

class Plain:
    pass
"""


@needs_torch
def test_a_base_bringing_a_derived_metaclass_defeats_the_keyword(site: Path) -> None:
    """``class X(Base, metaclass=FunctionMeta)`` where Base (of a package whose import is vouched by name, so its
    own class creation is not analysed) has a FunctionMeta subclass as metaclass: Python creates X with that subclass
    (the most derived), whose ``__setattr__`` FunctionMeta.__init__'s store runs; the model reads the keyword. The
    review does not apply when a base brings another metaclass: refused."""
    marker = repr(str(site.parent / "marker"))
    a = analysed(site, {"catboost/__init__.py": "", "catboost/evil.py": _VOUCHED_DERIVED_META.replace("MARKER", marker),
                        "atkg/__init__.py": "", "atkg/user.py": _KEYWORD_USER}, "atkg.user", "Plain", Use.IMPORT,
                 installed=True)
    assert not a.import_effects.inert


@needs_torch
@pytest.mark.slow
def test_a_pickle_importing_a_class_whose_base_brings_a_derived_metaclass_is_refused(tmp_path: Path) -> None:
    """Live twin of the previous test: pickle.load imports atkg.user for ``Plain``, X's creation writes the marker;
    safeload refuses."""
    from tests.test_redteam_round2 import LibCase, _live, _refused

    case = LibCase({"catboost/__init__.py": "", "catboost/evil.py": _VOUCHED_DERIVED_META, "atkg/__init__.py": "",
                    "atkg/user.py": _KEYWORD_USER}, lambda: b"\x80\x02catkg.user\nPlain\n)\x81.")
    _live(tmp_path / "live", case)
    _refused(tmp_path / "safe", case)
