"""Craft pickle streams opcode by opcode, at test time, without ever unpickling them.

``P`` is a tiny assembler: each method appends one opcode (or a short idiom) and returns ``self``.
Payloads are harmless by construction in the tests that use them: they only touch a marker file.
"""

from __future__ import annotations

import struct


class P:
    def __init__(self, proto: int | None = 4) -> None:
        self.b = bytearray()
        if proto is not None:
            self.b += bytes([0x80, proto])

    def raw(self, data: bytes) -> P:
        self.b += data
        return self

    # --- values -----------------------------------------------------------------------------------------
    def str(self, text: str) -> P:
        data = text.encode("utf-8", "surrogatepass")
        if len(data) < 256:
            self.b += b"\x8c" + bytes([len(data)]) + data
        else:
            self.b += b"X" + struct.pack("<I", len(data)) + data
        return self

    def string0(self, text: str) -> P:  # protocol-0 STRING
        self.b += b"S" + repr(text).encode("ascii") + b"\n"
        return self

    def bytes_(self, data: bytes) -> P:
        if len(data) < 256:
            self.b += b"C" + bytes([len(data)]) + data
        else:
            self.b += b"B" + struct.pack("<I", len(data)) + data
        return self

    def int(self, value: int) -> P:
        if 0 <= value < 256:
            self.b += b"K" + bytes([value])
        else:
            self.b += b"J" + struct.pack("<i", value)
        return self

    def none(self) -> P:
        self.b += b"N"
        return self

    # --- structure ----------------------------------------------------------------------------------------
    def mark(self) -> P:
        self.b += b"("
        return self

    def tuple(self) -> P:
        self.b += b"t"
        return self

    def tuple1(self) -> P:
        self.b += b"\x85"
        return self

    def empty_tuple(self) -> P:
        self.b += b")"
        return self

    def empty_list(self) -> P:
        self.b += b"]"
        return self

    def empty_dict(self) -> P:
        self.b += b"}"
        return self

    def append(self) -> P:
        self.b += b"a"
        return self

    def setitem(self) -> P:
        self.b += b"s"
        return self

    def pop(self) -> P:
        self.b += b"0"
        return self

    def dup(self) -> P:
        self.b += b"2"
        return self

    def put(self, idx: int) -> P:
        self.b += b"q" + bytes([idx]) if idx < 256 else b"r" + struct.pack("<I", idx)
        return self

    def get(self, idx: int) -> P:
        self.b += b"h" + bytes([idx]) if idx < 256 else b"j" + struct.pack("<I", idx)
        return self

    def memoize(self) -> P:
        self.b += b"\x94"
        return self

    # --- globals and calls --------------------------------------------------------------------------------
    def glob(self, module: str, name: str) -> P:
        self.b += b"c" + module.encode() + b"\n" + name.encode() + b"\n"
        return self

    def stack_global(self, module: str, name: str) -> P:
        return self.str(module).str(name).raw(b"\x93")

    def reduce(self) -> P:
        self.b += b"R"
        return self

    def build(self) -> P:
        self.b += b"b"
        return self

    def newobj(self) -> P:
        self.b += b"\x81"
        return self

    def stop(self) -> P:
        self.b += b"."
        return self

    def args(self, *values: object) -> P:
        """MARK, push each value (str, bytes, int, None, or a callable(P) that pushes), TUPLE."""
        self.mark()
        for value in values:
            if callable(value):
                value(self)
            elif isinstance(value, str):
                self.str(value)
            elif isinstance(value, bytes):
                self.bytes_(value)
            elif isinstance(value, bool) or value is None:
                self.b += b"N" if value is None else (b"\x88" if value else b"\x89")
            elif isinstance(value, int):
                self.int(value)
            elif isinstance(value, list):
                self.empty_list()
                for item in value:
                    self.str(item) if isinstance(item, str) else self.int(item)  # type: ignore[arg-type]
                    self.append()
            elif isinstance(value, dict) and not value:
                self.empty_dict()
            else:
                raise TypeError(value)
        return self.tuple()

    def call(self, module: str, name: str, *values: object, stack: bool = True) -> P:
        """``module.name(*values)`` with STACK_GLOBAL (or GLOBAL when ``stack`` is false)."""
        (self.stack_global(module, name) if stack else self.glob(module, name))
        return self.args(*values).reduce()

    def done(self) -> bytes:
        return bytes(self.b)

    def __bytes__(self) -> bytes:
        return bytes(self.b)


def call_pickle(module: str, name: str, *values: object, proto: int | None = 4, stack: bool = True) -> bytes:
    """A whole pickle that calls ``module.name(*values)`` and stops."""
    return P(proto).call(module, name, *values, stack=stack).stop().done()
