"""The pickle sniffer against CPython's C unpickler: every first byte, and the readings loaders take by name.

The sniffer decides what is scanned as a pickle where no loader procedure names the bytes. It must never call
"not a pickle" a stream the C unpickler loads: for each of the 256 first bytes, minimal streams built from the
opcode table (argument encodings per argument type) are run through a recording ``_pickle.Unpickler`` whose
``find_class`` and ``persistent_load`` return inert stand-ins (nothing is imported), and every stream it loads
must sniff as a pickle. Bytes the C unpickler rejects as a first opcode must not.
"""

from __future__ import annotations

import functools
import io
import pickle
import pickletools
import struct
from typing import Any

import pytest

from safeload._sniff import FIRST_OPCODES, Format, breaks_before_import, looks_like_pickle, sniff


def _stand_in(module: str, name: str, *args: Any, **kwargs: Any) -> tuple[Any, ...]:
    return ("called", module, name, args, kwargs)


class _Recording(pickle.Unpickler):
    """The C unpickler, with imports and persistent ids replaced by inert records (nothing is imported)."""

    def find_class(self, module: str, name: str) -> Any:
        return functools.partial(_stand_in, module, name)

    def persistent_load(self, pid: Any) -> Any:
        return ("persistent", pid)


def c_loads(data: bytes) -> bool:
    try:
        _Recording(io.BytesIO(data)).load()
    except Exception:  # noqa: BLE001 - any failure means "does not load"
        return False
    return True


def c_rejects_first_byte(byte: int) -> bool:
    try:
        _Recording(io.BytesIO(bytes([byte]))).load()  # a single byte: only it can be an invalid key
    except pickle.UnpicklingError as exc:
        return "invalid load key" in str(exc)
    except Exception:  # noqa: BLE001 - failed later than the opcode dispatch
        return False
    return False


# Argument encodings per pickletools argument type, including the forms the C unpickler accepts and
# pickletools does not (base-0 numbers, text after a NUL).
_ARGS: dict[str, list[bytes]] = {
    "uint1": [b"\x01", b"\x00"], "uint2": [b"\x01\x00"], "int4": [b"\x01\x00\x00\x00"],
    "uint4": [b"\x01\x00\x00\x00"], "uint8": [struct.pack("<Q", 2)],
    "decimalnl_short": [b"1\n", b"0x1\n", b"010\n", b"01\n", b"1\x00junk\n", b" 7\n", b"-0X1f\n"],
    "decimalnl_long": [b"1L\n", b"0x1L\n", b"0x1\n", b"1_000L\n", b"2\x00x\n"],
    "floatnl": [b"1.5\n", b"1.5\x00x\n", b"inf\n", b"-0\n"],
    "stringnl": [b"'a'\n", b'"a"\n', b"'\\x41'\n"],
    "stringnl_noescape": [b"pid\n"],
    "stringnl_noescape_pair": [b"mod\nname\n"],
    "unicodestringnl": [b"a\n", b"\\u0041\n"],
    "long1": [b"\x01\x05"], "long4": [b"\x01\x00\x00\x00\x05"],
    "string1": [b"\x01a"], "string4": [b"\x01\x00\x00\x00a"],
    "bytes1": [b"\x01a"], "bytes4": [b"\x01\x00\x00\x00a"], "bytes8": [struct.pack("<Q", 1) + b"a"],
    "bytearray8": [struct.pack("<Q", 1) + b"a"],
    "unicodestring1": [b"\x01a"], "unicodestring4": [b"\x01\x00\x00\x00a"],
    "unicodestring8": [struct.pack("<Q", 1) + b"a"],
    "float8": [struct.pack(">d", 1.5)],
}
# What may follow the first opcode and its argument to finish a stream.
_TAILS = [b".", b"N.", b"0N.", b"t.", b"N\x85.", b"N\x86.", b")R.", b"\x01.", b"N\x8c\x01a\x93."]


def minimal_streams(byte: int) -> list[bytes]:
    op = next((o for o in pickletools.opcodes if o.code.encode("latin-1")[0] == byte), None)
    heads = [bytes([byte])]
    if op is not None and op.arg is not None:
        heads = [bytes([byte]) + arg for arg in _ARGS[op.arg.name]]
    if op is not None and op.name == "FRAME":
        heads = [bytes([byte]) + struct.pack("<Q", len(tail)) for tail in _TAILS]
    streams = [head + tail for head in heads for tail in _TAILS]
    if op is not None and op.name == "PROTO":
        streams += [bytes([byte, proto]) + b"N." for proto in range(7)]
    return streams


@pytest.mark.parametrize("byte", range(256), ids=lambda b: f"0x{b:02x}")
def test_every_stream_the_c_unpickler_loads_sniffs_as_a_pickle(byte: int) -> None:
    loaded = [s for s in minimal_streams(byte) if c_loads(s)]
    for stream in loaded:
        assert looks_like_pickle(stream), f"C loads {stream!r}, the sniffer says it is not a pickle"
        assert sniff(stream) is Format.PICKLE
        assert not breaks_before_import(stream) or b"." in stream
    if loaded:
        assert byte in FIRST_OPCODES, f"0x{byte:02x} starts a loadable stream but is not a first opcode"
    if c_rejects_first_byte(byte):
        assert byte not in FIRST_OPCODES
        assert not looks_like_pickle(bytes([byte]) + b"N.")


def test_first_opcode_set_is_derived_from_the_opcode_table() -> None:
    memo = {"GET", "BINGET", "LONG_BINGET", "PUT", "BINPUT", "LONG_BINPUT", "MEMOIZE"}
    table = {op.code.encode("latin-1")[0] for op in pickletools.opcodes if not op.stack_before and op.name not in memo}
    assert table == FIRST_OPCODES
    for op in memo:  # an empty memo (GET) and an empty stack (PUT): the C unpickler fails on either first
        code = next(o.code for o in pickletools.opcodes if o.name == op).encode("latin-1")
        assert not c_loads(code + b"0\n." if op in ("GET", "PUT") else code + b"\x00\x00\x00\x00.")
    # The F1 openings that used to be skipped: FRAME without PROTO, EMPTY_SET, BINUNICODE8, text INT/LONG.
    for code in (0x95, 0x8F, 0x8D, ord("I"), ord("L")):
        assert code in FIRST_OPCODES


@pytest.mark.parametrize("stream", [
    b"I0x1\n0cposix\nsystem\n(S'true'\ntR.",     # hex INT (strtol base 0), then a call
    b"L0x1L\n0cposix\nsystem\n(S'true'\ntR.",    # hex LONG (PyLong_FromString base 0)
    b"I1\x00ignored\n0cposix\nsystem\n(S'true'\ntR.",  # the C unpickler stops the number at a NUL
    b"\x95" + struct.pack("<Q", 5) + b"\x8f0N0N.",    # FRAME first, then EMPTY_SET
    b"\x8d" + struct.pack("<Q", 1) + b"a0N.",           # BINUNICODE8 first
])
def test_openings_pickletools_rejects_are_pickles(stream: bytes) -> None:
    assert c_loads(stream.replace(b"posix\nsystem", b"x\ny"))
    assert looks_like_pickle(stream)
    assert not breaks_before_import(stream)


@pytest.mark.parametrize("data", [b"README.md\n", b"If you\n", b'{"a": 1}', b"version\n", b"3\n", b"little",
                                  b"K\x01\xff\xff", b"\x89HDF\r\n\x1a\n" + bytes(64), b"I love\n", b"Sx\n", b"hi"])
def test_text_and_binary_that_no_loader_runs_are_not_pickles(data: bytes) -> None:
    assert not looks_like_pickle(data)
    assert breaks_before_import(data)


@pytest.mark.parametrize("data", [b"cat\ndog\nfish\n", b"class Net:\n    pass\n"])
def test_text_naming_a_module_that_does_not_exist_is_not_a_pickle(data: bytes) -> None:
    # As a pickle this is GLOBAL "at"/"dog", or "lass Net:"/"    pass": the import fails, nothing runs.
    assert not looks_like_pickle(data)
    assert not breaks_before_import(data)  # the stricter question: it does reach an import
    assert looks_like_pickle(b"cos\nsystem\n\xff")  # a module that exists: a pickle


def test_breaks_before_import_is_only_true_when_the_c_unpickler_cannot_import() -> None:
    assert breaks_before_import(b"K\x01\xff")                   # BININT1, then an invalid opcode
    assert not breaks_before_import(b"K\x01cos\nsystem\n\xff")  # imports os.system first
    assert not breaks_before_import(b"N.")                       # a complete stream: nothing proven
    assert not breaks_before_import(b"B" + struct.pack("<I", 1 << 17) + bytes(1 << 17))  # beyond the window
