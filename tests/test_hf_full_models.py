"""Attacks on the reviews that let ``torch.save(model)`` of Hugging Face transformers models load (issue 14).

What was reviewed (``source_tables``, each bound to the SHA-256 of the text read), and what each test checks is
still refused:

- ``torch.nn.Module.__setstate__`` (``REVIEWED_SOURCE_METHODS``): only while it, ``Module.__setattr__`` and
  ``Module.__getattr__`` are the reviewed text and no other class of the MRO defines a name they read or set
  (a subclass ``__setattr__``, a property over a hook dict, an own ``register_parameter``); the containers that
  code runs ``in`` on (``_parameters``...) are ranked by the engine as passed values (a file object with an evil
  ``__contains__`` there ran under the real loader before this change, for torch's own ``Linear`` too);
- ``auto_docstring`` and the ``kernels`` stubs (``REVIEWED_DECORATORS``): an edited file, or ``kernels``
  installed, is analysed again;
- transformers' lazy ``integrations``/``generation`` packages (``REVIEWED_LAZY_MODULES``): a name is served from
  the submodule named in the table only while ``__init__.py`` is the reviewed text, and that class is analysed;
- two ``__init_subclass__`` hooks (``SUBCLASS_HOOK_DIGESTS``): an edited hook is analysed again;
- the config classes of ``HF_CONFIGS`` (``catalog/reviewed.py``): dict state without ``attribute_map``
  or ``_heterogeneity_spec`` only (an ``attribute_map`` alias of ``__setstate__`` makes a second BUILD call
  ``save_pretrained`` with the file's path: shown live here), never called.

Nothing analysed is imported by the analysis; every payload would touch a marker file under ``tmp_path``.
"""

from __future__ import annotations

import ast
import pickle
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest

import safeload
from safeload.catalog import source_analysis as sa
from safeload.catalog import source_tables as tables
from safeload.catalog.decide import catalogue_view
from safeload.catalog.reviewed import HF_CONFIG_MACHINERY, HF_CONFIGS, REVIEWED
from safeload.catalog.source_analysis import Analysis, BuildState, analyse
from safeload.catalog.source_reviews import def_digest
from safeload.catalog.uses import Use
from tests.attacks import C, G, assemble

PURELIB = Path(sysconfig.get_paths()["purelib"])
NEWOBJ = G("copyreg", "__newobj__")


def _write(site: Path, files: dict[str, str | bytes]) -> None:
    marker = site.parent / "marker"
    for rel, text in files.items():
        path = site / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(textwrap.dedent(text).replace("MARKER", repr(str(marker))))


def _analysed(site: Path, files: dict[str, str | bytes], module: str, qualname: str, uses: Use, *,
              installed: bool = False) -> Analysis:
    _write(site, files)
    paths = sysconfig.get_paths()
    search = [str(site), paths["stdlib"], *([paths["purelib"]] if installed else [])]
    before = set(sys.modules)
    result = analyse(module, qualname, uses, search_path=search, catalog=catalogue_view,
                     build_state=BuildState.DICT)
    assert {m for m in set(sys.modules) - before if not m.startswith("safeload.")} == set()
    assert not (site.parent / "marker").exists()
    sa.clear_cache()
    return result


def _inert(a: Analysis, use: Use) -> bool:
    found = a.verdict(use)
    assert found is not None
    return found.inert


def _real(rel: str) -> Path:
    path = PURELIB / rel
    if not path.exists():
        pytest.skip(f"{rel} not installed")
    return path


def _method_text(rel: str, cls: str, *names: str) -> str:
    """The installed text of ``cls``'s methods ``names`` (as ``ast.unparse`` writes them), indented for a class."""
    tree = ast.parse(_real(rel).read_text())
    node = next(n for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and n.name == cls)
    out = [ast.unparse(f) for f in node.body if isinstance(f, ast.FunctionDef) and f.name in names]
    assert len(out) == len(names)
    return textwrap.indent("\n".join(out), "    ")


# --- the installed text is the reviewed text -------------------------------------------------------------
def test_the_reviewed_torch_and_transformers_texts_match_the_installed_ones() -> None:
    tree = ast.parse(_real("torch/nn/modules/module.py").read_text())
    module = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Module")
    methods = {f.name: def_digest(f) for f in module.body if isinstance(f, ast.FunctionDef)}
    review = tables.REVIEWED_SOURCE_METHODS["torch.nn.modules.module.Module.__setstate__"]
    assert methods["__setstate__"] == review.digest
    assert all(methods[name] == digest for name, digest in review.same)
    import hashlib

    for decorator in tables.REVIEWED_DECORATORS.values():
        for dotted, digest in decorator.files:
            rel = dotted.replace(".", "/") + ".py"
            assert hashlib.sha256(_real(rel).read_bytes()).hexdigest() == digest
    for package, (digest, _names, _note) in tables.REVIEWED_LAZY_MODULES.items():
        rel = package.replace(".", "/") + "/__init__.py"
        assert hashlib.sha256(_real(rel).read_bytes()).hexdigest() == digest


def test_a_transformers_module_class_builds_inert_through_the_review() -> None:
    _real("transformers/pytorch_utils.py")
    sa.clear_cache()
    a = analyse("transformers.pytorch_utils", "Conv1D", Use.NEW | Use.BUILD, catalog=catalogue_view,
                build_state=BuildState.DICT)
    build = a.verdict(Use.BUILD)
    assert build is not None and build.inert and "Module.__setstate__ reviewed" in build.reason
    assert "__contains__" in build.touches


# --- Module.__setstate__: the review covers only the reviewed code ---------------------------------------
SUBCLASS = """
import torch

class Sub(torch.nn.Module):
{body}
"""


@pytest.mark.parametrize("body", [
    # Module.__setstate__ assigns missing hook dicts with self.x = ...: a subclass __setattr__ runs there
    "    def __setattr__(self, name, value):\n        open(MARKER, 'w')\n        super().__setattr__(name, value)\n",
    # a data descriptor over a hook dict name runs on that assignment
    "    _forward_pre_hooks = property(lambda self: None, lambda self, v: open(MARKER, 'w'))\n",
    # Module.__setattr__ calls self.register_parameter for a name the state lists in _parameters
    "    def register_parameter(self, name, param):\n        open(MARKER, 'w')\n",
    # the lookups of _parameters... on the instance
    "    _parameters = property(lambda self: open(MARKER, 'w'))\n",
])
def test_a_subclass_overriding_what_the_review_relies_on_is_analysed(site: Path, body: str) -> None:
    _real("torch/nn/modules/module.py")
    control = _analysed(site, {"atk/__init__.py": "", "atk/m.py": SUBCLASS.format(body="    pass\n")},
                        "atk.m", "Sub", Use.BUILD, installed=True)
    assert _inert(control, Use.BUILD), control.verdict(Use.BUILD)
    a = _analysed(site, {"atk/__init__.py": "", "atk/m.py": SUBCLASS.format(body=body)}, "atk.m", "Sub",
                  Use.BUILD, installed=True)
    assert not _inert(a, Use.BUILD)


FAKE_TORCH = """

class Module:
{methods}
"""


def _fake_torch(site: Path, methods: str) -> Analysis:
    return _analysed(site, {"torch/__init__.py": "", "torch/nn/__init__.py": "", "torch/nn/modules/__init__.py": "",
                            "torch/nn/modules/module.py": FAKE_TORCH.format(methods=methods),
                            "atk/__init__.py": "",
                            "atk/m.py": "from torch.nn.modules.module import Module\nclass Sub(Module):\n    pass\n"},
                     "atk.m", "Sub", Use.BUILD)


def test_an_edited_module_setstate_is_analysed_again(site: Path) -> None:
    methods = _method_text("torch/nn/modules/module.py", "Module", "__setstate__", "__setattr__", "__getattr__")
    control = _fake_torch(site, methods)
    build = control.verdict(Use.BUILD)
    assert build is not None and build.inert and "reviewed" in build.reason
    edited = methods.replace("self.__dict__.update(state)", "self.__dict__.update(state)\n        open(MARKER, 'w')")
    assert edited != methods
    assert not _inert(_fake_torch(site, edited), Use.BUILD)
    # the reviewed __setstate__ relies on Module.__setattr__: an edited one is not covered either
    setattr_edited = methods.replace("params = self.__dict__.get('_parameters')",
                                     "params = self.__dict__.get('_parameters')\n        open(MARKER, 'w')")
    assert setattr_edited != methods
    assert not _inert(_fake_torch(site, setattr_edited), Use.BUILD)
    # the reviewed text, replaced after the class statement in its own module
    patched = methods + "\n\nModule.__setattr__ = lambda self, name, value: open(MARKER, 'w')"
    assert not _inert(_fake_torch(site, patched), Use.BUILD)


# --- decorators ---------------------------------------------------------------------------------------------
DECORATED = """
from transformers.utils.auto_docstring import auto_docstring

@auto_docstring(custom_intro="x")
class Plain:
    pass
"""


def test_auto_docstring_is_reviewed_by_the_bytes_of_its_file(site: Path) -> None:
    real = _real("transformers/utils/auto_docstring.py").read_bytes()
    files: dict[str, str | bytes] = {"transformers/__init__.py": "", "transformers/utils/__init__.py": "",
                                     "atk/__init__.py": "", "atk/m.py": DECORATED}
    control = _analysed(site, {**files, "transformers/utils/auto_docstring.py": real}, "atk.m", "Plain", Use.NEW)
    assert _inert(control, Use.NEW), control.verdict(Use.NEW)
    # one byte more (a new release, a local edit): analysed, and this decorator cannot be proven
    a = _analysed(site, {**files, "transformers/utils/auto_docstring.py": real + b"\n"}, "atk.m", "Plain", Use.NEW)
    assert not _inert(a, Use.NEW)
    evil = b"def auto_docstring(obj=None, **kw):\n    def deco(cls):\n        cls.__reduce__ = print\n" \
           b"        return cls\n    return deco\n"
    a = _analysed(site, {**files, "transformers/utils/auto_docstring.py": evil}, "atk.m", "Plain", Use.NEW)
    assert not _inert(a, Use.NEW)


KERNEL_DECORATED = """
from transformers.integrations.hub_kernels import use_kernel_forward_from_hub

@use_kernel_forward_from_hub("RMSNorm")
class Plain:
    pass
"""


def test_the_kernels_stub_holds_only_while_kernels_is_absent(site: Path) -> None:
    real = _real("transformers/integrations/hub_kernels.py").read_bytes()
    files: dict[str, str | bytes] = {"transformers/__init__.py": "", "transformers/integrations/__init__.py": "",
                                     "transformers/integrations/hub_kernels.py": real,
                                     "atk/__init__.py": "", "atk/m.py": KERNEL_DECORATED}
    control = _analysed(site, files, "atk.m", "Plain", Use.NEW)
    assert _inert(control, Use.NEW), control.verdict(Use.NEW)
    # with a 'kernels' package installed transformers binds the kernels package's decorator instead
    a = _analysed(site, {**files, "kernels/__init__.py": "def use_kernel_forward_from_hub(name):\n"
                                                         "    open(MARKER, 'w')\n"}, "atk.m", "Plain", Use.NEW)
    assert not _inert(a, Use.NEW)
    # the bare form @use_kernel_forward_from_hub is not what the review read
    bare = KERNEL_DECORATED.replace('("RMSNorm")', "")
    a = _analysed(site, {**files, "atk/m.py": bare}, "atk.m", "Plain", Use.NEW)
    assert not _inert(a, Use.NEW)


def test_installing_kernels_after_a_cached_verdict_invalidates_it(site: Path) -> None:
    """The absence of 'kernels' is part of the verdict: the analysis cache must not keep serving "inert" once a
    package of that name appears in a search-path directory."""
    real = _real("transformers/integrations/hub_kernels.py").read_bytes()
    _write(site, {"transformers/__init__.py": "", "transformers/integrations/__init__.py": "",
                  "transformers/integrations/hub_kernels.py": real, "atk/__init__.py": "",
                  "atk/m.py": KERNEL_DECORATED})
    search = [str(site), sysconfig.get_paths()["stdlib"]]
    first = analyse("atk.m", "Plain", Use.NEW, search_path=search, catalog=catalogue_view)
    assert _inert(first, Use.NEW), first.verdict(Use.NEW)
    (site / "kernels").mkdir()
    (site / "kernels" / "__init__.py").write_text("def use_kernel_forward_from_hub(name):\n    return print\n")
    again = analyse("atk.m", "Plain", Use.NEW, search_path=search, catalog=catalogue_view)
    assert not _inert(again, Use.NEW)
    assert not (site.parent / "marker").exists()


# --- lazy packages ------------------------------------------------------------------------------------------
LAZY_BASE = """
from transformers.integrations import {name}

class Model({name}):
    pass
"""


def test_a_lazy_package_name_is_the_listed_submodule_class_analysed(site: Path) -> None:
    real = _real("transformers/integrations/__init__.py").read_bytes()
    files: dict[str, str | bytes] = {"transformers/__init__.py": "", "transformers/integrations/__init__.py": real,
                                     "atk/__init__.py": "", "atk/m.py": LAZY_BASE.format(name="PeftAdapterMixin")}
    inert_peft = "class PeftAdapterMixin:\n    pass\n"
    evil_peft = "class PeftAdapterMixin:\n    def __setstate__(self, state):\n        open(MARKER, 'w')\n"
    control = _analysed(site, {**files, "transformers/integrations/peft.py": inert_peft}, "atk.m", "Model",
                        Use.BUILD)
    assert _inert(control, Use.BUILD), control.verdict(Use.BUILD)
    a = _analysed(site, {**files, "transformers/integrations/peft.py": evil_peft}, "atk.m", "Model", Use.BUILD)
    assert not _inert(a, Use.BUILD)
    # an edited __init__.py: the lazy namespace is unreadable again
    a = _analysed(site, {**files, "transformers/integrations/__init__.py": real + b"\n",
                         "transformers/integrations/peft.py": inert_peft}, "atk.m", "Model", Use.BUILD)
    assert not _inert(a, Use.BUILD)
    # a name the table does not list stays unreadable
    a = _analysed(site, {**files, "atk/m.py": LAZY_BASE.format(name="WandbCallback"),
                         "transformers/integrations/integration_utils.py": "class WandbCallback:\n    pass\n"},
                  "atk.m", "Model", Use.BUILD)
    assert not _inert(a, Use.BUILD)


# --- __init_subclass__ hooks --------------------------------------------------------------------------------
LAYERS = """
from functools import wraps

class GradientCheckpointingLayer:
    gradient_checkpointing = False
{hook}

class Layer(GradientCheckpointingLayer):
    def forward(self, x):
        return x
"""


def test_an_edited_reviewed_subclass_hook_is_analysed_again(site: Path) -> None:
    hook = _method_text("transformers/modeling_layers.py", "GradientCheckpointingLayer", "__init_subclass__")
    files: dict[str, str | bytes] = {"transformers/__init__.py": ""}
    control = _analysed(site, {**files, "transformers/modeling_layers.py": LAYERS.format(hook=hook)},
                        "transformers.modeling_layers", "Layer", Use.BUILD)
    assert _inert(control, Use.BUILD), control.verdict(Use.BUILD)
    edited = hook.replace("cls.forward = forward_with_checkpointing",
                          "cls.forward = forward_with_checkpointing\n        cls.__setstate__ = print")
    assert edited != hook
    a = _analysed(site, {**files, "transformers/modeling_layers.py": LAYERS.format(hook=edited)},
                  "transformers.modeling_layers", "Layer", Use.BUILD)
    assert not _inert(a, Use.BUILD)


# --- the real engine --------------------------------------------------------------------------------------
def _refused(data: bytes, marker: Path) -> safeload.ScanResult:
    result = safeload.scan(data)
    assert not result.is_safe()
    with pytest.raises(safeload.UnsafeModelError):
        safeload.pickle_loads(data)
    assert not marker.exists()
    return result


def _names(result: safeload.ScanResult) -> set[str]:
    return {f.subject or "" for f in result.findings if f.severity >= safeload.Severity.MEDIUM}


def test_a_file_object_with_an_evil_contains_as_parameters_is_refused(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Module.__setstate__ assigns a missing hook dict through Module.__setattr__, which runs ``name in
    self._parameters``: an object of an installed class with a harmful ``__contains__`` there runs it."""
    pytest.importorskip("transformers")
    site = tmp_path / "site-packages"
    marker = tmp_path / "marker"
    package = "hf_contains_atk"
    (site / package).mkdir(parents=True)
    (site / package / "__init__.py").write_text(
        f"class Sneaky:\n    def __contains__(self, name):\n        open({str(marker)!r}, 'w').close()\n"
        "        return False\n")
    monkeypatch.syspath_prepend(str(site))
    sa.clear_cache()
    try:
        for module, cls in (("transformers.pytorch_utils", "Conv1D"), ("torch.nn.modules.linear", "Linear")):
            data = assemble(C(NEWOBJ, (G(module, cls),), {"_parameters": C(NEWOBJ, (G(package, "Sneaky"),)),
                                                         "training": False}))
            result = _refused(data, marker)
            assert f"{package}.Sneaky" in _names(result)
            pickle.loads(data)  # the real loader runs it: the attack is live
            assert marker.exists()
            marker.unlink()
    finally:
        sys.modules.pop(package, None)
        sa.clear_cache()


def test_module_state_with_a_callable_hook_or_a_dunder_key_is_refused(tmp_path: Path) -> None:
    pytest.importorskip("transformers")
    marker = tmp_path / "marker"
    hook = C(G("builtins", "exec"), (f"open({str(marker)!r}, 'w').close()",))
    hooks = C(G("collections", "OrderedDict"), ([(0, G("posix", "system"))],))
    for state in ({"_forward_hooks": hooks, "training": False}, {"__setstate__": hook},
                  {"_modules": C(G("collections", "OrderedDict"), ()), "__reduce_ex__": G("builtins", "print")}):
        data = assemble(C(NEWOBJ, (G("transformers.pytorch_utils", "Conv1D"),), state))
        _refused(data, marker)


def test_a_benign_transformers_module_loads() -> None:
    pytest.importorskip("transformers")
    from transformers.pytorch_utils import Conv1D

    layer = Conv1D(4, 3)  # type: ignore[no-untyped-call]
    data = pickle.dumps(layer, protocol=2)
    assert safeload.scan(data).is_safe()
    loaded = safeload.pickle_loads(data)
    assert type(loaded) is Conv1D
    assert all((a == b).all() for a, b in zip(loaded.state_dict().values(), layer.state_dict().values(), strict=True))


# --- the configs: per-class entries produced by introspection (catalog/reviewed.py HF_CONFIGS) -----------------
CONFIGS = [f"transformers.models.{name}" for name, _ in HF_CONFIGS]
#: what a small config of each reviewed class is built with (the classes' defaults are large but cheap)
CONFIG_ARGS: dict[str, dict[str, object]] = {"GPT2Config": {"n_embd": 16, "n_layer": 1, "n_head": 2}}
#: names whose definition in a config class would take BUILD (or the object's later life) outside the review
NOT_DEFINED = ("__new__", "__setstate__", "__getattr__", "__del__", "__call__", "__reduce__", "__reduce_ex__",
               "__getstate__", "__set_name__", "__class_getitem__", "__instancecheck__")
MIXINS = ("transformers.configuration_utils.PreTrainedConfig", "transformers.utils.hub.PushToHubMixin",
          "transformers.modeling_rope_utils.RotaryEmbeddingConfigMixin",
          "transformers.integrations.heterogeneity.configuration_utils.HeterogeneousConfigMixin", "builtins.object")


def _config_class(dotted: str) -> type:
    import importlib

    module, _, name = dotted.rpartition(".")
    cls = getattr(importlib.import_module(module), name)
    assert isinstance(cls, type)
    return cls


def introspect_config(cls: type) -> tuple[str, str]:
    """The ``HF_CONFIGS`` row of an installed config class, after checking every fact the review note states."""
    import hashlib
    import inspect

    transformers = pytest.importorskip("transformers")
    assert transformers.__version__ == "5.24.0"
    assert type(cls) is type
    assert [f"{k.__module__}.{k.__qualname__}" for k in cls.__mro__[1:]] == list(MIXINS)
    for klass in cls.__mro__[:-1]:
        assert not set(NOT_DEFINED) & set(vars(klass)), klass
    # PreTrainedConfig.__init_subclass__ (dataclass + wrap_init_to_accept_kwargs) runs when a class statement
    # subclasses it, i.e. at transformers' import, never during a load; no model class defines its own
    assert {k.__name__ for k in cls.__mro__ if "__init_subclass__" in vars(k)} == {"PreTrainedConfig", "object"}
    getattribute = {k.__name__ for k in cls.__mro__ if "__getattribute__" in vars(k)}
    assert getattribute == {"PreTrainedConfig", "HeterogeneousConfigMixin", "object"}
    assert set(vars(cls)) & {n for n in dir(object) if n.startswith("__")} <= {
        "__init__", "__eq__", "__hash__", "__setattr__", "__doc__", "__module__", "__dict__", "__weakref__",
        "__annotations__", "__firstlineno__", "__static_attributes__", "__post_init__", "__annotate__"}
    for klass in cls.__mro__[:-1]:
        amap = vars(klass).get("attribute_map", {})
        assert isinstance(amap, dict) and not any(key.startswith("__") for key in amap), klass
    source = inspect.getsourcefile(cls)
    assert source is not None
    for module, digest in HF_CONFIG_MACHINERY:
        path = inspect.getsourcefile(sys.modules[module])
        assert path is not None and hashlib.sha256(Path(path).read_bytes()).hexdigest() == digest, module
    name = f"{cls.__module__}.{cls.__qualname__}".removeprefix("transformers.models.")
    return name, hashlib.sha256(Path(source).read_bytes()).hexdigest()


def test_the_config_table_is_what_introspection_finds() -> None:
    pytest.importorskip("transformers")
    assert [introspect_config(_config_class(dotted)) for dotted in CONFIGS] == list(HF_CONFIGS)
    first = REVIEWED[CONFIGS[0]]
    for dotted in CONFIGS:  # one review, each entry bound to its own file and the shared machinery
        entry = REVIEWED[dotted]
        assert (entry.uses, entry.note, entry.build_refuses) == (first.uses, first.note, first.build_refuses)
        assert entry.source_files[1:] == HF_CONFIG_MACHINERY


def _small_config(dotted: str) -> object:
    cls = _config_class(dotted)
    return cls(**CONFIG_ARGS.get(cls.__name__, {}))


def _config_global(dotted: str) -> object:
    module, _, name = dotted.rpartition(".")
    return G(module, name)


@pytest.mark.parametrize("dotted", CONFIGS)
def test_a_config_attribute_map_alias_of_setstate_is_refused(tmp_path: Path, dotted: str) -> None:
    """PreTrainedConfig.__getattribute__ maps names through attribute_map, read from the instance dict first: a
    first BUILD that stores {'__setstate__': 'save_pretrained'} there makes a second BUILD call
    save_pretrained(<state>), which writes config.json to a directory the file names."""
    pytest.importorskip("transformers")
    marker = tmp_path / "marker"
    first = {**vars(_small_config(dotted)), "attribute_map": {"__setstate__": "save_pretrained"}}
    data = assemble(C(NEWOBJ, (_config_global(dotted),), first))[:-1] + pickle.dumps(str(marker), 2)[2:-1] + b"b."
    result = _refused(data, marker)
    assert dotted in _names(result)
    pickle.loads(data)  # live under the real loader
    assert (marker / "config.json").exists()


@pytest.mark.parametrize("dotted", CONFIGS)
@pytest.mark.parametrize("state", [
    {"_heterogeneity_spec": None, "vocab_size": 16},
    ({"vocab_size": 16}, {"use_cache": True}),  # slot state runs the validating __setattr__
    {C(G("builtins", "str"), ("attribute_map",)): {"__setstate__": "save_pretrained"}},  # computed key
])
def test_config_state_outside_the_review_is_refused(tmp_path: Path, state: object, dotted: str) -> None:
    pytest.importorskip("transformers")
    marker = tmp_path / "marker"
    data = assemble(C(NEWOBJ, (_config_global(dotted),), state))
    assert dotted in _names(_refused(data, marker))


@pytest.mark.parametrize("dotted", CONFIGS)
def test_calling_a_config_class_is_refused(tmp_path: Path, dotted: str) -> None:
    pytest.importorskip("transformers")
    marker = tmp_path / "marker"
    data = assemble(C(_config_global(dotted), ()))
    assert dotted in _names(_refused(data, marker))


@pytest.mark.parametrize("dotted", CONFIGS)
def test_a_benign_config_loads(dotted: str) -> None:
    pytest.importorskip("transformers")
    config = _small_config(dotted)
    data = pickle.dumps(config, protocol=2)
    assert safeload.scan(data).is_safe()
    assert safeload.pickle_loads(data).to_dict() == config.to_dict()  # type: ignore[attr-defined]


USER_CONFIG = """
from huggingface_hub.dataclasses import strict
from transformers.configuration_utils import PreTrainedConfig

@strict
class EvilConfig(PreTrainedConfig):
    model_type = "evil"
{body}
"""


@pytest.mark.parametrize("body", [
    # looks like the reviewed classes: annotated fields with literal defaults only
    "    vocab_size: int = 32\n    hidden_size: int = 16\n",
    # a computed default: the class body calls something when the module is imported
    "    vocab_size: int = open(MARKER, 'w').close() or 32\n",
    # a class-level attribute_map redirecting __setstate__ (BUILD would call save_pretrained(state))
    "    attribute_map = {'__setstate__': 'save_pretrained'}\n    vocab_size: int = 32\n",
    # its own hooks
    "    def __setstate__(self, state):\n        open(MARKER, 'w')\n",
    "    def __post_init__(self, **kwargs):\n        open(MARKER, 'w')\n",
])
def test_a_config_subclass_in_a_user_module_is_not_admitted(site: Path, body: str) -> None:
    """Only the listed transformers classes are reviewed: a PreTrainedConfig subclass anywhere else goes through
    the source analysis, which does not prove the @strict/dataclass machinery inert (no prefix or base rule)."""
    _real("transformers/configuration_utils.py")
    a = _analysed(site, {"atk/__init__.py": "", "atk/m.py": USER_CONFIG.format(body=body)}, "atk.m",
                  "EvilConfig", Use.NEW | Use.BUILD, installed=True)
    assert not _inert(a, Use.NEW) or not _inert(a, Use.BUILD)


def test_a_user_config_pickle_is_refused_and_its_payload_does_not_run(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """End to end: a module on sys.path defining a config whose class body has a computed default that writes the
    marker; the pickle of its instance is refused and the module is never imported by the scan."""
    pytest.importorskip("transformers")
    site = tmp_path / "site-packages"
    marker = tmp_path / "marker"
    (site / "hf_cfg_atk").mkdir(parents=True)
    (site / "hf_cfg_atk" / "__init__.py").write_text("")
    body = f"    vocab_size: int = open({str(marker)!r}, 'w').close() or 32\n"
    (site / "hf_cfg_atk" / "m.py").write_text(USER_CONFIG.format(body=body))
    monkeypatch.syspath_prepend(str(site))
    data = assemble(C(NEWOBJ, (G("hf_cfg_atk.m", "EvilConfig"),), {"vocab_size": 32}))
    before = set(sys.modules)
    assert "hf_cfg_atk.m.EvilConfig" in _names(_refused(data, marker))
    assert "hf_cfg_atk.m" not in set(sys.modules) - before
    pickle.loads(data)  # live under the real loader: importing the module runs the class body
    assert marker.exists()
    sys.modules.pop("hf_cfg_atk.m", None)
    sys.modules.pop("hf_cfg_atk", None)


def test_the_hook_dict_names_are_the_ones_module_setstate_fills() -> None:
    text = _method_text("torch/nn/modules/module.py", "Module", "__setstate__")
    filled = {node.attr for node in ast.walk(ast.parse(textwrap.dedent(text)))
              if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store)}
    review = tables.REVIEWED_SOURCE_METHODS["torch.nn.modules.module.Module.__setstate__"]
    assert filled and filled <= review.names
