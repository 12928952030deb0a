"""Allowlist-abuse payloads (THREATS E1-E6, issue 12) and the containers every loader reads them from.

Each payload is a real attack: under the plain loader it creates a marker file (and nothing else). The files
are built here by pickling small reducer objects, never by unpickling anything. ``runs_under_plain_loader``
proves each payload is live (in a subprocess, so the marker the control creates never leaks into a test).
"""

from __future__ import annotations

import io
import os
import pickle
import struct
import subprocess
import sys
import textwrap
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

_SYMPY_EXEC = "__import__('os').system('touch {path}')"


class G:
    """A global by name (never imported here)."""

    def __init__(self, module: str, name: str) -> None:
        self.module, self.name = module, name


class C:
    """A call at load time: ``func(*args)``, then BUILD ``state`` if given, then ``()`` if ``call_result``."""

    def __init__(self, func: Any, args: tuple[Any, ...], state: Any = None, *, call_result: bool = False) -> None:
        self.func, self.args, self.state, self.call_result = func, args, state, call_result


class Raw:
    """A value pickled by the real pickler (its fragment is spliced in; the assembler itself uses no memo)."""

    def __init__(self, value: Any) -> None:
        self.fragment = pickle.dumps(value, protocol=2)[2:-1]


def _emit(value: Any, out: bytearray) -> None:
    if isinstance(value, G):
        out += b"c" + value.module.encode() + b"\n" + value.name.encode() + b"\n"
    elif isinstance(value, C):
        _emit(value.func, out)
        _emit(tuple(value.args), out)
        out += b"R"
        if value.state is not None:
            _emit(value.state, out)
            out += b"b"
        if value.call_result:
            out += b")R"
    elif isinstance(value, Raw):
        out += value.fragment
    elif isinstance(value, tuple):
        out += b"("
        for item in value:
            _emit(item, out)
        out += b"t"
    elif isinstance(value, list):
        out += b"]("
        for item in value:
            _emit(item, out)
        out += b"e"
    elif isinstance(value, dict):
        out += b"}("
        for key, item in value.items():
            _emit(key, out)
            _emit(item, out)
        out += b"u"
    else:
        out += pickle.dumps(value, protocol=2)[2:-1]


def assemble(value: Any) -> bytes:
    """A protocol-2 pickle of ``value`` (``G``/``C``/``Raw`` nodes and plain data)."""
    out = bytearray(b"\x80\x02")
    _emit(value, out)
    return bytes(out + b".")


def _memmap_write(path: Path) -> tuple[Any, ...]:
    """Arguments that make ``numpy.memmap`` create ``path``."""
    return (str(path), "uint8", "w+", 0, (1,))


MEMMAP = G("numpy", "memmap")
SYMPIFY = G("sympy", "sympify")
PARTIAL = G("functools", "partial")


def payloads(marker: Path) -> dict[str, bytes]:
    """Class label -> protocol-2 pickle that creates ``marker`` when the plain unpickler loads it."""
    import torch

    code = _SYMPY_EXEC.format(path=marker)
    memmap_partial = C(PARTIAL, (MEMMAP, *_memmap_write(marker)))
    rs_ctor = G("numpy.random._pickle", "__randomstate_ctor")
    gen_ctor = G("numpy.random._pickle", "__generator_ctor")
    opt = Raw(torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1))
    mbox = G("mailbox", "mbox")
    return {
        # E1: an allowlisted array subtype, called instead of allocated.
        "E1-memmap-called": assemble(C(MEMMAP, _memmap_write(marker))),
        # E2: allowlisted helpers that call an argument.
        "E2-randomstate-ctor-calls-sympify": assemble(C(rs_ctor, (code, SYMPIFY))),
        "E2-generator-ctor-calls-sympify": assemble(C(gen_ctor, (code, SYMPIFY))),
        "E2-randomstate-ctor-calls-memmap-partial": assemble(C(rs_ctor, ("MT19937", memmap_partial))),
        "E2-rebuild-from-type-calls-sympify": assemble(
            C(G("torch._tensor", "_rebuild_from_type_v2"), (SYMPIFY, G("torch", "Tensor"), (code,), {}))),
        "E2-lambdalr-calls-partial": assemble(C(G("torch.optim.lr_scheduler", "LambdaLR"), (opt, memmap_partial))),
        "E2-defaultdict-factory-fired-by-format-map": assemble(
            C(C(G("builtins", "getattr"), (G("builtins", "str"), "format_map")),
              ("{x}", C(G("collections", "defaultdict"), (memmap_partial,))))),
        "E2-defaultdict-factory-fired-by-translate": assemble(
            C(C(G("builtins", "getattr"), (G("builtins", "str"), "translate")),
              ("a", C(G("collections", "defaultdict"), (memmap_partial,))))),
        # E3: partial.__setstate__ swaps the function of an innocent partial, which the load then calls.
        "E3-partial-setstate-swap": assemble(
            C(PARTIAL, (G("builtins", "int"),), (MEMMAP, _memmap_write(marker), {}, None), call_result=True)),
        # E4: copyreg._reconstructor(cls, base, state) runs base.__init__(obj, state).
        "E4-reconstructor-base": assemble(C(G("copyreg", "_reconstructor"), (mbox, mbox, str(marker)))),
        # E5: re-exports of denied objects under other names.
        "E5-cloudpickle-reexport-of-pickle-loads": assemble(
            C(G("cloudpickle.cloudpickle", "loads"), (assemble(C(MEMMAP, _memmap_write(marker))),))),
        "E5-sklearn-reexport-of-thread": assemble(
            C(C(G("builtins", "getattr"),
                (C(G("sklearn.callback._progressbar", "Thread"), (None, memmap_partial)), "start")), ())),
        # E6: callees outside the denylist that evaluate strings or touch files.
        "E6-sympify": assemble(C(SYMPIFY, (code,))),
        "E6-mailbox": assemble(C(mbox, (str(marker),))),
        "E6-codecs-open": assemble(C(G("codecs", "open"), (str(marker), "w"))),
        "E6-logging-basicconfig": assemble(
            C(C(PARTIAL, (G("logging", "basicConfig"),), (G("logging", "basicConfig"), (), {"filename": str(marker)},
                                                          None)), ())),
    }


# --- containers -----------------------------------------------------------------------------------------------
def in_pickle(payload: bytes) -> bytes:
    return payload


def in_torch_zip(payload: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("archive/data.pkl", payload)
        zf.writestr("archive/version", b"3\n")
        zf.writestr("archive/byteorder", b"little")
    return buf.getvalue()


def in_torch_legacy(payload: bytes) -> bytes:
    """Magic, protocol, sys_info, the payload as the main pickle, then an empty storage-keys list (without it the
    file is truncated and any scan blocks it for that alone)."""
    magic = pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2)
    return (magic + pickle.dumps(1001, protocol=2) + pickle.dumps({"protocol_version": 1001}, protocol=2) + payload
            + pickle.dumps([], protocol=2))


def in_joblib_zlib(payload: bytes) -> bytes:
    return zlib.compress(payload, 3)


def npy_object(payload: bytes) -> bytes:
    header = "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }"
    header += " " * (63 - (10 + len(header)) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode("latin-1") + payload


def in_npz(payload: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("arr.npy", npy_object(payload))
    return buf.getvalue()


CONTAINERS: dict[str, tuple[Callable[[bytes], bytes], str]] = {
    # name: (wrap, the plain loader call that runs the payload, as Python source over a path `p`)
    "pickle": (in_pickle, "import pickle; pickle.load(open(p, 'rb'))"),
    "torch-zip": (in_torch_zip, "import torch; torch.load(p, weights_only=False)"),
    "torch-legacy": (in_torch_legacy, "import torch; torch.load(p, weights_only=False)"),
    "joblib": (in_pickle, "import joblib; joblib.load(p)"),
    "joblib-zlib": (in_joblib_zlib, "import joblib; joblib.load(p)"),
    "npy": (npy_object, "import numpy; numpy.load(p, allow_pickle=True)"),
    "npz": (in_npz, "import numpy; numpy.load(p, allow_pickle=True)['arr']"),
    "dill": (in_pickle, "import dill; dill.load(open(p, 'rb'))"),
    "cloudpickle": (in_pickle, "import cloudpickle; cloudpickle.load(open(p, 'rb'))"),
}


def safe_load(container: str, path: Path) -> Any:
    """The safeload loader a user of ``container`` calls."""
    import safeload

    if container in {"pickle"}:
        with open(path, "rb") as f:
            return safeload.pickle_load(f)
    if container.startswith("torch"):
        return safeload.torch_load(path, weights_only=False)
    if container.startswith("joblib"):
        return safeload.joblib_load(path)
    if container == "npy":
        return safeload.numpy_load(path, allow_pickle=True)
    if container == "npz":
        with safeload.numpy_load(path, allow_pickle=True) as archive:
            return archive["arr"]
    if container == "dill":
        with open(path, "rb") as f:
            return safeload.dill_load(f)
    if container == "cloudpickle":
        with open(path, "rb") as f:
            return safeload.cloudpickle_load(f)
    raise ValueError(container)


def runs_under_plain_loader(container: str, path: Path, marker: Path) -> bool:
    """Load ``path`` with the plain loader in a subprocess; True if the payload created ``marker``."""
    code = textwrap.dedent(f"""
        import warnings; warnings.simplefilter("ignore")
        p = {str(path)!r}
        try:
            {CONTAINERS[container][1]}
        except BaseException:
            pass
    """)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFELOAD_")}
    subprocess.run([sys.executable, "-c", code], env=env, timeout=120, check=False, capture_output=True)
    ran = marker.exists()
    if ran:
        marker.unlink()
    return ran
