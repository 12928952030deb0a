"""A bounded reader for protobuf *text format* ``saved_model.pbtxt``, re-encoded as binary wire format.

TensorFlow loads ``saved_model.pbtxt`` when ``saved_model.pb`` is absent (``loader_impl.parse_saved_model``:
``text_format.Parse(content.decode("utf-8"), SavedModel())``). This module tokenizes the text the way
``google.protobuf.text_format`` does (identifiers, numbers, quoted strings with C escapes decoded by the
same standard-library codec steps as ``text_encoding.CUnescape``, ``#`` comments, optional ``:`` before
messages, ``{}``/``<>`` blocks, ``[a, b]`` lists, ``,``/``;`` separators, expanded ``Any``), keeps the fields
the SavedModel scanner reads (the :data:`SCHEMA` below, by field name, with TensorFlow's field numbers) and
writes them as binary protobuf so one scanner reads both files. Fields it does not know are parsed and
dropped: the scanner never reads them.

Invariants: no ``google.protobuf`` or TensorFlow import; input size, nesting depth (100, protobuf's default
recursion limit) and token count are bounded; anything malformed raises :class:`PbtxtError` (one type),
which the scanner reports as a blocking finding.
"""

from __future__ import annotations

import re
import warnings
from typing import Any

__all__ = ["MAX_PBTXT_BYTES", "SCHEMA", "PbtxtError", "saved_model_to_binary"]

MAX_PBTXT_BYTES = 1 << 30
_MAX_DEPTH = 100
_MAX_TOKENS = 200_000_000

# message -> field name -> (number, kind, message type). kind: "msg", "str" (string/bytes), "int".
_S, _I, _M = "str", "int", "msg"
SCHEMA: dict[str, dict[str, tuple[int, str, str]]] = {
    "SavedModel": {"saved_model_schema_version": (1, _I, ""), "meta_graphs": (2, _M, "MetaGraphDef")},
    "MetaGraphDef": {
        "meta_info_def": (1, _M, "MetaInfoDef"), "graph_def": (2, _M, "GraphDef"), "saver_def": (3, _M, "SaverDef"),
        "collection_def": (4, _M, "CollectionEntry"), "signature_def": (5, _M, "SignatureEntry"),
        "asset_file_def": (6, _M, "AssetFileDef"), "object_graph_def": (7, _M, "SavedObjectGraph"),
    },
    "MetaInfoDef": {"tags": (4, _S, ""), "tensorflow_version": (5, _S, "")},
    "SaverDef": {"filename_tensor_name": (1, _S, ""), "save_tensor_name": (2, _S, ""),
                 "restore_op_name": (3, _S, "")},
    "CollectionEntry": {"key": (1, _S, ""), "value": (2, _M, "CollectionDef")},
    "CollectionDef": {"node_list": (1, _M, "StringList"), "bytes_list": (2, _M, "StringList"),
                      "any_list": (5, _M, "AnyList")},
    "StringList": {"value": (1, _S, "")},
    "AnyList": {"value": (1, _M, "Any")},
    "Any": {"type_url": (1, _S, ""), "value": (2, _S, "")},
    "SignatureEntry": {"key": (1, _S, ""), "value": (2, _M, "SignatureDef")},
    "SignatureDef": {"inputs": (1, _M, "TensorEntry"), "outputs": (2, _M, "TensorEntry"),
                     "method_name": (3, _S, "")},
    "TensorEntry": {"key": (1, _S, ""), "value": (2, _M, "TensorInfo")},
    "TensorInfo": {"name": (1, _S, ""), "coo_sparse": (4, _M, "CooSparse"),
                   "composite_tensor": (5, _M, "CompositeTensor")},
    "CooSparse": {"values_tensor_name": (1, _S, ""), "indices_tensor_name": (2, _S, ""),
                  "dense_shape_tensor_name": (3, _S, "")},
    "CompositeTensor": {"components": (2, _M, "TensorInfo")},
    "AssetFileDef": {"tensor_info": (1, _M, "TensorInfo"), "filename": (2, _S, "")},
    "GraphDef": {"node": (1, _M, "NodeDef"), "library": (2, _M, "FunctionDefLibrary")},
    "NodeDef": {"name": (1, _S, ""), "op": (2, _S, ""), "input": (3, _S, ""), "device": (4, _S, ""),
                "attr": (5, _M, "AttrEntry")},
    "AttrEntry": {"key": (1, _S, ""), "value": (2, _M, "AttrValue")},
    "AttrValue": {"list": (1, _M, "ListValue"), "s": (2, _S, ""), "tensor": (8, _M, "TensorProto"),
                  "func": (10, _M, "NameAttrList")},
    "ListValue": {"s": (2, _S, ""), "tensor": (8, _M, "TensorProto"), "func": (9, _M, "NameAttrList")},
    "NameAttrList": {"name": (1, _S, ""), "attr": (2, _M, "AttrEntry")},
    "TensorProto": {"string_val": (8, _S, "")},
    "FunctionDefLibrary": {"function": (1, _M, "FunctionDef")},
    "FunctionDef": {"signature": (1, _M, "OpDef"), "node_def": (3, _M, "NodeDef"), "ret": (4, _M, "StringEntry")},
    "StringEntry": {"key": (1, _S, ""), "value": (2, _S, "")},
    "OpDef": {"name": (1, _S, ""), "input_arg": (2, _M, "ArgDef")},
    "ArgDef": {"name": (1, _S, "")},
    "SavedObjectGraph": {"nodes": (1, _M, "SavedObject"), "concrete_functions": (2, _M, "ConcreteEntry")},
    "ConcreteEntry": {"key": (1, _S, ""), "value": (2, _M, "SavedConcreteFunction")},
    "SavedConcreteFunction": {"bound_inputs": (2, _I, "")},
    "SavedObject": {
        "children": (1, _M, "ObjectReference"), "user_object": (4, _M, "Empty"), "asset": (5, _M, "SavedAsset"),
        "function": (6, _M, "SavedFunction"), "variable": (7, _M, "Empty"),
        "bare_concrete_function": (8, _M, "SavedBareConcreteFunction"), "constant": (9, _M, "Empty"),
        "resource": (10, _M, "Empty"), "saveable_objects": (11, _M, "SaveableEntry"),
        "captured_tensor": (12, _M, "Empty"),
    },
    "ObjectReference": {"node_id": (1, _I, ""), "local_name": (2, _S, "")},
    "SavedAsset": {"asset_file_def_index": (1, _I, "")},
    "SavedFunction": {"concrete_functions": (1, _S, "")},
    "SavedBareConcreteFunction": {"concrete_function_name": (1, _S, "")},
    "SaveableEntry": {"key": (1, _S, ""), "value": (2, _M, "SaveableObject")},
    "SaveableObject": {"save_function": (2, _I, ""), "restore_function": (3, _I, "")},
    "Empty": {},
}
# Any payloads the scanner reads, by the type name at the end of the type URL.
_ANY_TYPES = {"tensorflow.AssetFileDef": "AssetFileDef"}

_TOKEN = re.compile(
    r"[a-zA-Z_][0-9a-zA-Z_+-]*"  # identifier
    r"|([0-9+-]|(\.[0-9]))[0-9a-zA-Z_.+-]*"  # number
    r"|\"[^\"\n\\]*((\\.)+[^\"\n\\]*)*(\"|\\?$)"  # double-quoted string
    r"|'[^'\n\\]*((\\.)+[^'\n\\]*)*('|\\?$)",  # single-quoted string
    re.MULTILINE,
)
_SKIP = re.compile(r"(\s|(#.*$))+", re.MULTILINE)
_HEX1 = re.compile(r"(\\+)x([0-9a-fA-F])(?![0-9a-fA-F])")


class PbtxtError(ValueError):
    """The text is not a SavedModel in protobuf text format (or exceeds a bound)."""


def _unescape(body: str) -> bytes:
    """C-style unescaping with the same codec steps as protobuf's ``text_encoding.CUnescape``."""
    def pad(match: re.Match[str]) -> str:
        return match.group(1) + "x0" + match.group(2) if len(match.group(1)) & 1 else match.group(0)

    text = _HEX1.sub(pad, body)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # invalid escapes are kept, as protobuf does
            text = text.encode("raw_unicode_escape").decode("raw_unicode_escape")
            decoded = text.encode("utf-8").decode("unicode_escape")
        return decoded.encode("latin-1")
    except (UnicodeError, ValueError) as exc:
        raise PbtxtError(f"bad escape in string: {exc}") from exc


def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _key(number: int, wire: int) -> bytes:
    return _varint(number << 3 | wire)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.curs = 0
        self.cur = ""
        self.advance()

    def advance(self) -> None:
        self.curs += 1
        if self.curs > _MAX_TOKENS:
            raise PbtxtError("too many tokens")
        self.pos += len(self.cur)
        skip = _SKIP.match(self.text, self.pos)
        if skip:
            self.pos = skip.end()
        if self.pos >= len(self.text):
            self.cur = ""
            return
        match = _TOKEN.match(self.text, self.pos)
        self.cur = match.group(0) if match else self.text[self.pos]

    def error(self, message: str) -> PbtxtError:
        line = self.text.count("\n", 0, self.pos) + 1
        return PbtxtError(f"line {line}: {message} (at {self.cur[:40]!r})")

    def take(self, token: str) -> bool:
        if self.cur == token:
            self.advance()
            return True
        return False

    def expect(self, token: str) -> None:
        if not self.take(token):
            raise self.error(f"expected {token!r}")

    # -- values ---------------------------------------------------------------------------------------------
    def string(self) -> bytes:
        parts: list[bytes] = []
        while self.cur[:1] in {'"', "'"}:
            tok = self.cur
            if len(tok) < 2 or tok[-1] != tok[0]:
                raise self.error("string missing its closing quote")
            parts.append(_unescape(tok[1:-1]))
            self.advance()
        if not parts:
            raise self.error("expected a string")
        return b"".join(parts)

    def integer(self) -> int:
        tok = self.cur
        try:
            value = int(tok, 0) if not tok.lstrip("-+").startswith("0") or tok.lstrip("-+") in {"0"} or \
                tok.lstrip("-+")[:2].lower() == "0x" else int(tok, 8)
        except ValueError as exc:
            raise self.error("expected an integer") from exc
        self.advance()
        return value

    def scalar_skip(self) -> None:
        if self.cur[:1] in {'"', "'"}:
            self.string()
        elif self.cur and (self.cur[0].isalnum() or self.cur[0] in "_+-."):
            self.advance()
        else:
            raise self.error("expected a value")

    # -- messages -------------------------------------------------------------------------------------------
    def message(self, mtype: str | None, end: str, depth: int) -> bytes:
        if depth > _MAX_DEPTH:
            raise self.error("messages nested too deep")
        out = bytearray()
        fields = SCHEMA.get(mtype or "", {}) if mtype is not None else {}
        while not self.take(end):
            if not self.cur:
                raise self.error(f"expected {end!r} before the end of the file" if end else "unexpected end")
            if self.cur == "[":
                out += self.extension(mtype, depth)
            else:
                name = self.cur
                if not re.match(r"[A-Za-z_]\w*$", name):
                    raise self.error("expected a field name")
                self.advance()
                spec = fields.get(name) if mtype is not None else None
                out += self.field_value(spec, depth)
            if not self.take(","):
                self.take(";")
        return bytes(out)

    def extension(self, mtype: str | None, depth: int) -> bytes:
        """``[type.googleapis.com/pkg.Type] { ... }`` in an Any (other extensions are parsed and dropped)."""
        self.expect("[")
        parts: list[str] = []
        while self.cur and self.cur != "]":
            parts.append(self.cur)
            self.advance()
        self.expect("]")
        url = "".join(parts)
        inner = _ANY_TYPES.get(url.rsplit("/", 1)[-1]) if mtype == "Any" and "/" in url else None
        self.take(":")
        if self.cur in {"{", "<"}:
            end = "}" if self.advance_and(self.cur) == "{" else ">"
            payload = self.message(inner, end, depth + 1)
        else:
            self.scalar_skip()
            return b""
        if inner is None:
            return b""
        return _key(1, 2) + _varint(len(url.encode())) + url.encode() + _key(2, 2) + _varint(len(payload)) + payload

    def advance_and(self, token: str) -> str:
        self.advance()
        return token

    def field_value(self, spec: tuple[int, str, str] | None, depth: int) -> bytes:
        colon = self.take(":")
        if self.cur == "[":
            self.advance()
            out = bytearray()
            if not self.take("]"):
                while True:
                    out += self.one_value(spec, depth, colon=True)
                    if self.take("]"):
                        break
                    self.expect(",")
            return bytes(out)
        return self.one_value(spec, depth, colon=colon)

    def one_value(self, spec: tuple[int, str, str] | None, depth: int, *, colon: bool) -> bytes:
        if self.cur in {"{", "<"}:
            end = "}" if self.advance_and(self.cur) == "{" else ">"
            if spec is not None and spec[1] != _M:
                raise self.error("a message where a scalar was expected")
            payload = self.message(spec[2] if spec is not None else None, end, depth + 1)
            if spec is None:
                return b""
            return _key(spec[0], 2) + _varint(len(payload)) + payload
        if not colon:
            raise self.error("expected ':' before a scalar value")
        if spec is None:
            self.scalar_skip()
            return b""
        number, kind, _sub = spec
        if kind == _S:
            raw = self.string()
            return _key(number, 2) + _varint(len(raw)) + raw
        if kind == _I:
            return _key(number, 0) + _varint(self.integer())
        raise self.error("a scalar where a message was expected")


def saved_model_to_binary(data: Any) -> bytes:
    """The ``SavedModel`` in text format ``data``, as binary protobuf holding the fields in :data:`SCHEMA`."""
    if len(data) > MAX_PBTXT_BYTES:
        raise PbtxtError(f"saved_model.pbtxt is larger than {MAX_PBTXT_BYTES} bytes")
    try:
        text = bytes(data).decode("utf-8")  # what TensorFlow does first; invalid UTF-8 fails its load too
    except UnicodeDecodeError as exc:
        raise PbtxtError(f"not UTF-8 text: {exc}") from exc
    try:
        return _Parser(text).message("SavedModel", "", 0)
    except RecursionError as exc:  # pragma: no cover - bounded by _MAX_DEPTH well below the interpreter limit
        raise PbtxtError("messages nested too deep") from exc
