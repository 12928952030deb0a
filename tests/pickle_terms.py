"""Pickle opcodes as composable byte terms (protocol 4), for tests that nest calls the way a pickler writes them.

``newobj(ADD, newobj(SYM, u("x")), memo())`` is the bytes of one expression; ``stream(...)`` frames it. Nothing
here unpickles anything. ``tests/builders.py``'s ``P`` is the linear, opcode-by-opcode assembler.
"""

from __future__ import annotations

import pickle
import struct


def u(text: str) -> bytes:
    """SHORT_BINUNICODE / BINUNICODE of ``text``."""
    raw = text.encode()
    return (b"\x8c" + bytes([len(raw)]) if len(raw) < 256 else b"X" + struct.pack("<I", len(raw))) + raw


def lit(value: object) -> bytes:
    """A plain int/float/bool/None/str literal."""
    if isinstance(value, str):
        return u(value)
    return pickle.dumps(value, protocol=2)[2:-1]


def glob(dotted: str) -> bytes:
    """STACK_GLOBAL of ``module.name`` (the last dot splits them)."""
    module, _, name = dotted.rpartition(".")
    return u(module) + u(name) + b"\x93"


def tup(*items: bytes) -> bytes:
    return b"(" + b"".join(items) + b"t"


def newobj(cls: str | bytes, *args: bytes) -> bytes:
    return (glob(cls) if isinstance(cls, str) else cls) + tup(*args) + b"\x81"


def newobj_ex(cls: str, args: tuple[bytes, ...], kwargs: dict[str, bytes]) -> bytes:
    return glob(cls) + tup(*args) + b"}(" + b"".join(u(k) + v for k, v in kwargs.items()) + b"u\x92"


def reduce(func: str | bytes, *args: bytes) -> bytes:
    return (glob(func) if isinstance(func, str) else func) + tup(*args) + b"R"


def memo() -> bytes:
    return b"\x94"


def get(index: int) -> bytes:
    return b"h" + bytes([index])


def stream(body: bytes) -> bytes:
    return b"\x80\x04" + body + b"."
