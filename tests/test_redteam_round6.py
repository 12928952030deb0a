"""Red team round 6: safeload attacked with its source in hand (what round 6 added: safeload's own standard-library
imports from the library directories only, R5-4's safeload/_stdlib_imports.py; the hash-bound catalogue entries;
the catalogue's newest names).

Every case builds its files at test time and carries a harmless payload: it creates a marker file. The files
beside the model (the working directory of a ``python -c``/``python -m``/script run, first on ``sys.path``) are
part of what an attacker ships with a model, as in R4-2, R5-3 and R5-4: safeload must not run one that the plain
loader does not run.

- ``test_<case>_plain_loader_does_not_run_it`` shows the real loader alone never imports the shadow;
- ``test_<case>_safeload_does_not_run_it`` runs safeload on the same folder and asserts the marker is absent.

Findings (each let the payload run under safeload on main, 7770ac4):
- R6-1 ``sysconfig`` imports its data module by a computed name, ``_sysconfigdata_<abi>_<platform>_<multiarch>``,
  which is a file of the library directory but not in ``sys.stdlib_module_names``: the R5-4 finder left it to the
  path finder, which looks in the working directory first. safeload's SL117 shadow check (catalog/source_locate.py
  ``sysconfig.get_paths()``) imports sysconfig for any pickle naming a module (``collections.OrderedDict``, every
  torch checkpoint), so a ``_sysconfigdata__linux_x86_64-linux-gnu.py`` beside the model ran in
  ``safeload.pickle_load``/``torch_load``/``scan``, where ``pickle.load``/``torch.load`` never import sysconfig.
  Fixed: the finder resolves ``_sysconfigdata_*`` like a standard module;
- R6-2 safeload's decompression (scanners/compressed.py ``_errors``) imported the optional ``zstandard`` and
  ``lz4`` packages for *every* compressed stream, through ``sys.path`` with the working directory first: a
  ``zstandard.py`` beside a zlib-compressed joblib file ran in ``safeload.joblib_load`` (``joblib.load`` never
  imports zstandard) and in ``safeload.scan`` of a ``.pkl.gz``. Fixed: safeload's first imports of the optional
  packages it decompresses, reads or hashes with (``lz4``, ``zstandard``, ``blake3``, ``h5py``, and ``numpy``,
  which h5py imports: a ``numpy.py`` beside a Keras ``.h5`` ran in ``safeload.scan``) are resolved without the
  working directory and the script's directory (safeload/_stdlib_imports.py), and ``_errors`` imports only the
  package of the stream being read;
- R6-3 the finder's "library directories" were the directory of ``os`` plus every absolute ``sys.path`` entry under
  ``sys.base_prefix``/``sys.base_exec_prefix`` outside site-packages, in ``sys.path`` order. With a system
  interpreter (``sys.base_prefix == '/usr'``) a script run from ``/usr/src/app`` (the Docker convention) puts
  ``/usr/src/app`` on ``sys.path`` before ``lib-dynload``: it became a library directory, and its ``mmap.py``
  shadowed the extension module ``mmap`` that safeload imports to read a file (R5-4 again). Fixed: only the
  library directory, entries under it (``lib-dynload``), the zipped library and ``DLLs`` beside it count;
- R6-4 a hash-bound catalogue entry (``Entry.source_files``: the Hugging Face configs) and the whole source analysis
  read the ``.py``, but the import runs ``__pycache__/<module>.<tag>.pyc`` whenever that file says it is current
  (an unchecked-hash .pyc always; a timestamp .pyc that records the .py's mtime and size; a checked-hash .pyc
  recording the .py's hash): ``BertConfig`` given a marker-writing ``__setstate__`` in the .pyc only, beside the
  reviewed ``configuration_bert.py``, was admitted by the review and ``safeload.pickle_load`` ran it. Fixed
  (catalog/source_model.py ``cached_bytecode``): a module whose bytecode the import would use is analysable (and
  its digest matches) only when that code equals what its source compiles to; the .pyc (or the directory one would
  appear in) is recorded for the caches;
- R6-5 (open) the binding covers configuration_bert.py and the machinery files, but importing it first runs the
  package ``__init__``s on the way (``transformers/models/bert/__init__.py``...), which ``IMPORT_REVIEWED`` trusts by
  package name: an ``__init__`` edited to set ``BertConfig.__setstate__`` passes (strict xfail). Binding those
  three ``__init__`` files would not close it (they import transformers' utils, which could patch it as well): the
  residual of trusting an import by package, as R5-1's premise modules.

Near misses (already refused; regression tests where cheap): an extension module beside a hash-bound ``.py``
(the path finder's order: ``locate_module`` finds it, the digest is None); a Hugging Face config given
``__setstate__`` by a first BUILD and then a second BUILD (SL110); INST/OBJ with empty arguments (``cls.__new__``
at load) modelled as calls (stricter); ``lz4`` only in the working directory during ``safeload.joblib_load`` of an
lz4 joblib file (the installed one is used; ``joblib.load`` alone runs the working directory's).
"""

from __future__ import annotations

import gzip
import os
import pickle
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(folder: Path, code: str, *, script: bool = False, **env: str) -> subprocess.CompletedProcess[str]:
    """``python -c code`` in ``folder`` (the working directory is ``sys.path[0]``), or, with ``script``, the code
    as ``folder/run.py`` (the script's directory is ``sys.path[0]``) run from ``folder``'s parent."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SAFELOAD_", "PYTEST_"))}
    clean.update(PYTHONPATH=str(ROOT), SAFELOAD_CACHE="0", **env)
    if script:
        (folder / "run.py").write_text(code)
        argv = [sys.executable, str(folder / "run.py")]
    else:
        argv = [sys.executable, "-c", code]
    return subprocess.run(argv, env=clean, cwd=folder.parent if script else folder, capture_output=True, text=True,
                          timeout=300, check=False)


def _shadow(folder: Path, module: str, then: str = "") -> None:
    """``folder/<module>.py`` writes ``MARKER`` (in ``folder``) and then runs ``then``."""
    (folder / f"{module}.py").write_text(f"open({str(folder / 'MARKER')!r}, 'a').close()\n{then}")


# --- R6-1: sysconfig's data module -----------------------------------------------------------------------------
_SYSCONFIGDATA = sysconfig._get_sysconfigdata_name()  # type: ignore[attr-defined]


def _sysconfigdata_folder(tmp_path: Path) -> Path:
    import importlib.util

    spec = importlib.util.find_spec(_SYSCONFIGDATA)
    assert spec is not None and spec.origin is not None
    folder = tmp_path / "repo"
    folder.mkdir()
    # the shadow works as the real one does (so nothing fails after it ran)
    _shadow(folder, _SYSCONFIGDATA, f"exec(open({spec.origin!r}).read())\n")
    import collections

    (folder / "model.pkl").write_bytes(pickle.dumps(collections.OrderedDict(a=1), protocol=2))
    return folder


@pytest.mark.slow
def test_sysconfigdata_plain_loader_does_not_run_it(tmp_path: Path) -> None:
    folder = _sysconfigdata_folder(tmp_path)
    done = _run(folder, "import pickle\nprint(pickle.load(open('model.pkl', 'rb')))\n")
    assert "OrderedDict" in done.stdout, done.stderr[-2000:]
    assert not (folder / "MARKER").exists()


@pytest.mark.slow
@pytest.mark.parametrize("flow", ["pickle_load", "scan"])
def test_sysconfigdata_safeload_does_not_run_it(tmp_path: Path, flow: str) -> None:
    folder = _sysconfigdata_folder(tmp_path)
    call = ("safeload.pickle_load(open('model.pkl', 'rb'))" if flow == "pickle_load"
            else "safeload.scan('model.pkl').findings")
    done = _run(folder, f"import safeload\nprint({call})\n")
    assert not (folder / "MARKER").exists(), "safeload ran the working directory's " + _SYSCONFIGDATA
    assert done.returncode == 0, done.stderr[-2000:]


# --- R6-2: the optional decompressors -----------------------------------------------------------------------------
def _compressed_folder(tmp_path: Path, module: str) -> Path:
    import joblib
    import numpy as np

    folder = tmp_path / "repo"
    folder.mkdir()
    _shadow(folder, module)
    joblib.dump({"a": np.ones(3)}, folder / "model.joblib", compress=3)
    (folder / "model.pkl.gz").write_bytes(gzip.compress(pickle.dumps([1, 2, 3], protocol=2)))
    if module in {"h5py", "numpy"}:
        h5py = pytest.importorskip("h5py")
        with h5py.File(folder / "model.h5", "w") as handle:
            handle.attrs["keras_version"] = "2.15.0"
    return folder


@pytest.mark.slow
@pytest.mark.parametrize("module", ["zstandard"])
def test_decompressor_plain_loader_does_not_run_it(tmp_path: Path, module: str) -> None:
    folder = _compressed_folder(tmp_path, module)
    done = _run(folder, "import joblib\nprint(joblib.load('model.joblib'))\n")
    assert "array" in done.stdout, done.stderr[-2000:]
    assert not (folder / "MARKER").exists()


@pytest.mark.slow
@pytest.mark.parametrize(("module", "flow"), [("zstandard", "joblib_load"), ("zstandard", "scan-gz"),
                                              ("lz4", "scan-gz"), ("h5py", "scan-h5"),
                                              ("numpy", "scan-h5")])
def test_decompressor_safeload_does_not_run_it(tmp_path: Path, module: str, flow: str) -> None:
    """(Not ``lz4`` in a joblib load: joblib imports it itself, from the working directory, in a plain load.)"""
    folder = _compressed_folder(tmp_path, module)
    call = {"joblib_load": "safeload.joblib_load('model.joblib')", "scan-gz": "safeload.scan('model.pkl.gz').findings",
            "scan-h5": "safeload.scan('model.h5').findings"}[flow]
    done = _run(folder, f"import safeload\nprint({call})\n")
    assert not (folder / "MARKER").exists(), f"safeload ran the working directory's {module}.py"
    assert done.returncode == 0, done.stderr[-2000:]


# --- R6-3: a script directory under the interpreter's prefix ---------------------------------------------------
# Simulated: the script sets ``sys.base_prefix`` to its folder's parent before ``import safeload`` -- what
# ``sys.base_prefix`` is for a system interpreter (``/usr``) running ``/usr/src/app/run.py``.
_UNDER_PREFIX = """
import os, sys
sys.base_prefix = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
import safeload
print(safeload.pickle_load(open(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'model.pkl'), 'rb')))
"""


def _prefix_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "src" / "app"
    folder.mkdir(parents=True)
    _shadow(folder, "mmap")
    (folder / "model.pkl").write_bytes(pickle.dumps([1, 2, 3], protocol=2))
    return folder


@pytest.mark.slow
def test_script_under_prefix_plain_loader_does_not_run_it(tmp_path: Path) -> None:
    folder = _prefix_folder(tmp_path)
    done = _run(folder, _UNDER_PREFIX.replace("import safeload\n", "import pickle as safeload\n")
                .replace("pickle_load", "load"), script=True)
    assert "[1, 2, 3]" in done.stdout, done.stderr[-2000:]
    assert not (folder / "MARKER").exists()


@pytest.mark.slow
def test_script_under_prefix_safeload_does_not_run_it(tmp_path: Path) -> None:
    folder = _prefix_folder(tmp_path)
    done = _run(folder, _UNDER_PREFIX, script=True)
    assert not (folder / "MARKER").exists(), "safeload imported the script directory's mmap.py"
    assert "[1, 2, 3]" in done.stdout, done.stderr[-2000:]


def test_library_directories_exclude_a_script_directory_under_the_prefix(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from safeload._stdlib_imports import _library_directories

    app = tmp_path / "src" / "app"
    app.mkdir(parents=True)
    monkeypatch.setattr(sys, "base_prefix", str(tmp_path))
    monkeypatch.setattr(sys, "path", [str(app), *sys.path])
    directories = _library_directories()
    assert str(app) not in directories
    assert os.path.dirname(os.__file__) == directories[0]


# --- R6-4: a hash-bound entry checks the .py; the import runs its __pycache__ .pyc ---------------------------------
# The review of BertConfig is bound to configuration_bert.py's SHA-256 (Entry.source_files). Python runs
# ``__pycache__/configuration_bert.cpython-3XY.pyc`` instead of the .py whenever the .pyc says it is current: an
# unchecked-hash .pyc always is, a timestamp .pyc is when it records the .py's mtime and size. An edited class
# compiled there hashes as the reviewed .py.
_BERT_PICKLE = (b"\x80\x02ctransformers.models.bert.configuration_bert\nBertConfig\nq\x00)\x81q\x01}q\x02"
                b"X\x0b\x00\x00\x00hidden_sizeq\x03K\x08sb.")
_BERT_PATCH = ("\n\ndef _setstate(self, state):\n    open('MARKER', 'w').close()\n    self.__dict__.update(state)"
               "\n\n\nBertConfig.__setstate__ = _setstate\n")


def _pyc_site(tmp_path: Path, mode: str) -> Path:
    """Copies of the reviewed transformers files under ``tmp_path/site-packages``, the .py as reviewed; the BERT
    config module's .pyc compiled from the edited text (``mode``: ``unchecked-hash`` or ``timestamp``), or from the
    text as read (``genuine``, a timestamp .pyc as pip writes)."""
    import importlib.util
    import py_compile
    import shutil

    transformers = pytest.importorskip("transformers")
    site = tmp_path / "site-packages"
    installed = Path(transformers.__file__).parent
    bert = "transformers.models.bert.configuration_bert"
    # the installed package, file by file as symlinks (its .py text is what the review read), the BERT config
    # module a real copy
    shutil.copytree(installed, site / "transformers", symlinks=True, copy_function=os.symlink,
                    ignore=shutil.ignore_patterns("__pycache__"))
    relative = Path(*bert.split(".")).with_suffix(".py")
    (site / relative).unlink()
    (site / relative).write_text((installed.parent / relative).read_text())
    source = site.joinpath(*bert.split(".")).with_suffix(".py")
    edited = tmp_path / "edited.py"
    edited.write_text(source.read_text() + (_BERT_PATCH if mode != "genuine" else ""))
    cache = Path(importlib.util.cache_from_source(str(source)))
    cache.parent.mkdir(exist_ok=True)
    if mode == "unchecked-hash":
        py_compile.compile(str(edited), cfile=str(cache), dfile=str(source), doraise=True,
                           invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    else:
        from importlib._bootstrap_external import _code_to_timestamp_pyc  # type: ignore[attr-defined]

        stat = source.stat()
        code = compile(edited.read_text(), str(source), "exec", dont_inherit=True)
        cache.write_bytes(_code_to_timestamp_pyc(code, int(stat.st_mtime), stat.st_size))
    return site


_LOAD_BERT = """
import sys
if sys.argv[1] == "plain":
    import pickle
    pickle.load(open("config.pkl", "rb"))
    print("LOADED")
else:
    import safeload
    try:
        safeload.pickle_load(open("config.pkl", "rb"))
        print("LOADED")
    except safeload.SafeloadError as exc:
        print("REFUSED", exc)
"""


def _run_bert(tmp_path: Path, site: Path, how: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "config.pkl").write_bytes(_BERT_PICKLE)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SAFELOAD_", "PYTEST_"))}
    env.update(PYTHONPATH=os.pathsep.join([str(site), str(ROOT)]), SAFELOAD_CACHE="0")
    return subprocess.run([sys.executable, "-c", _LOAD_BERT, how], env=env, cwd=tmp_path, capture_output=True,
                          text=True, timeout=300, check=False)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["unchecked-hash", "timestamp"])
def test_edited_pyc_is_live(tmp_path: Path, mode: str) -> None:
    site = _pyc_site(tmp_path, mode)
    done = _run_bert(tmp_path, site, "plain")
    assert "LOADED" in done.stdout, done.stderr[-3000:]
    assert (tmp_path / "MARKER").exists()


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["unchecked-hash", "timestamp"])
def test_edited_pyc_is_refused(tmp_path: Path, mode: str) -> None:
    site = _pyc_site(tmp_path, mode)
    done = _run_bert(tmp_path, site, "safe")
    assert not (tmp_path / "MARKER").exists(), "the edited .pyc ran under safeload"
    assert "REFUSED" in done.stdout, done.stdout + done.stderr[-3000:]


@pytest.mark.slow
def test_genuine_pyc_keeps_the_review(tmp_path: Path) -> None:
    """Control: a .pyc compiled from the reviewed text (what every installer writes) keeps the entry."""
    site = _pyc_site(tmp_path, "genuine")
    done = _run_bert(tmp_path, site, "safe")
    assert "LOADED" in done.stdout, done.stdout + done.stderr[-3000:]
    assert not (tmp_path / "MARKER").exists()


def test_cached_bytecode_check(tmp_path: Path) -> None:
    """The check itself: no .pyc, a stale one (recompiled by the import), a current one of other code."""
    import importlib.util
    import py_compile

    from safeload.catalog.source_model import cached_bytecode, file_stat

    source = tmp_path / "mod.py"
    source.write_text("X = 1\n")
    assert cached_bytecode(str(source), file_stat(str(source)))[0] is None
    py_compile.compile(str(source), doraise=True)
    assert cached_bytecode(str(source), file_stat(str(source)))[0] is None
    other = tmp_path / "other.py"
    other.write_text("X = 2\n")
    cache = importlib.util.cache_from_source(str(source))
    py_compile.compile(str(other), cfile=cache, doraise=True,
                       invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    reason, files = cached_bytecode(str(source), file_stat(str(source)))
    assert reason is not None and "cached bytecode" in reason
    assert files == (file_stat(cache),)
    py_compile.compile(str(other), cfile=cache, doraise=True,
                       invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH)
    assert cached_bytecode(str(source), file_stat(str(source)))[0] is None  # its hash is other.py's: recompiled


# --- R6-5 (open): the package __init__ on the way to a hash-bound module is not bound ------------------------------
_INIT_PATCH = ("\n\nfrom .configuration_bert import BertConfig as _B\n\n\ndef _setstate(self, state):\n"
               "    open('MARKER', 'w').close()\n    self.__dict__.update(state)\n\n\n_B.__setstate__ = _setstate\n")


def _init_site(tmp_path: Path) -> Path:
    """The installed transformers as symlinks, ``models/bert/__init__.py`` a copy with a patch of ``BertConfig``
    appended; configuration_bert.py and the machinery untouched (they hash as reviewed)."""
    site = _pyc_site(tmp_path, "genuine")
    init = site / "transformers" / "models" / "bert" / "__init__.py"
    text = init.read_text()
    init.unlink()
    init.write_text(text + _INIT_PATCH)
    return site


@pytest.mark.slow
def test_package_init_patch_is_live(tmp_path: Path) -> None:
    done = _run_bert(tmp_path, _init_site(tmp_path), "plain")
    assert "LOADED" in done.stdout, done.stderr[-3000:]
    assert (tmp_path / "MARKER").exists()


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="R6-5: transformers is import-reviewed by package; the package __init__s "
                   "on the way to a hash-bound module are neither hashed nor analysed")
def test_package_init_patch_is_refused(tmp_path: Path) -> None:
    done = _run_bert(tmp_path, _init_site(tmp_path), "safe")
    assert not (tmp_path / "MARKER").exists(), "the edited package __init__ ran under safeload"
    assert "REFUSED" in done.stdout, done.stdout + done.stderr[-3000:]


def test_extension_module_beside_a_bound_source_has_no_digest(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from importlib.machinery import EXTENSION_SUFFIXES

    from safeload.catalog.source_reviews import module_digest

    package = tmp_path / "r6pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "mod.py").write_text("X = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert module_digest("r6pkg.mod") is not None
    (package / f"mod{EXTENSION_SUFFIXES[0]}").write_bytes(b"")
    import importlib

    importlib.invalidate_caches()
    assert module_digest("r6pkg.mod") is None  # the import would load the extension: not the text reviewed


def test_instance_setstate_by_a_first_build_is_refused(tmp_path: Path) -> None:
    """A config given ``__setstate__`` by BUILD, then BUILD again: the second calls it (live: TypeError from
    BertConfig's positional check after the call)."""
    pytest.importorskip("transformers")
    import safeload

    def g(module: str, name: str) -> bytes:
        return b"c" + module.encode() + b"\n" + name.encode() + b"\n"

    def u(text: str) -> bytes:
        return b"X" + len(text).to_bytes(4, "little") + text.encode()

    mod = "transformers.models.bert.configuration_bert"
    data = (b"\x80\x02" + g(mod, "BertConfig") + b")\x81}" + u("__setstate__") + g("builtins", "print") + b"sb"
            + b"}" + u("a") + u("x") + b"sb.")
    path = tmp_path / "config.pkl"
    path.write_bytes(data)
    result = safeload.scan(path)
    assert not result.is_safe()
    assert any(f.rule_id == "SL110" for f in result.findings), result.summary()
