"""numpy ``.npy`` files (and ``.npz`` members, which the zip scanner hands over one by one).

Layout (numpy's documented format): ``\\x93NUMPY``, major and minor version bytes, a header length (2 bytes
little-endian for 1.0, 4 bytes for 2.0 and 3.0), then a header that is the repr of a dict with the keys
``descr``, ``fortran_order`` and ``shape``; the array data follows. Object arrays (``dtype.hasobject``) are
stored as a pickle that ``numpy.load(allow_pickle=True)`` unpickles with ``pickle.load``.

Security invariants:
- the header is parsed with ``ast.literal_eval`` on a bounded string (as numpy does), never evaluated;
  a malformed header, a wrong key set or a bad value is a blocking finding (SL303);
- whether the data is a pickle is decided conservatively: a dtype descriptor safeload cannot size or
  classify itself is handed to numpy's own ``descr_to_dtype`` when numpy is installed (the same call
  ``numpy.load`` makes on the same literal), and is a blocking finding otherwise; an object dtype is never
  read as raw data;
- numeric arrays cost only the header parse: their data is never read, only its length checked (SL018);
- the pickle of an object array is walked with plain ``pickle.load`` semantics (no joblib BUILD hooks:
  ``numpy.load`` does not read raw data after a ``NumpyArrayWrapper``).
"""

from __future__ import annotations

import ast
import io
import math
import re
import struct
import tokenize
from dataclasses import dataclass
from typing import Any

from safeload._context import ScanContext
from safeload._source import engine_input
from safeload.scanners.pickle import Call, Global, PickleWalker, StreamResult

__all__ = ["DTypeInfo", "NpyHeader", "PlainWalker", "dtype_info_from_call", "parse_descr", "parse_npy_header",
           "scan_npy", "walk_plain"]

MAGIC = b"\x93NUMPY"
_HEADER_FORMATS = {(1, 0): ("<H", "latin1"), (2, 0): ("<I", "latin1"), (3, 0): ("<I", "utf8")}
_MAX_HEADER = 1 << 20   # numpy's default cap is 10000 chars, lifted entirely when allow_pickle=True
_EXPECTED_KEYS = frozenset({"descr", "fortran_order", "shape"})

# Type codes numpy writes (dtype.str) and the single-character codes numpy accepts, with their sizes.
_SIZED = {"i": (1, 2, 4, 8), "u": (1, 2, 4, 8), "f": (2, 4, 8, 12, 16), "c": (8, 16, 24, 32), "b": (1,)}
_CHAR_SIZES = {"?": 1, "b": 1, "B": 1, "h": 2, "H": 2, "i": 4, "I": 4, "l": 8, "L": 8, "q": 8, "Q": 8,
               "p": 8, "P": 8, "e": 2, "f": 4, "d": 8, "g": 16, "F": 8, "D": 16, "G": 32, "c": 1, "u": 4}
_TYPESTR = re.compile(r"([<>|=]?)([A-Za-z?])(\d*)(\[[A-Za-z0-9]+\])?")


@dataclass(frozen=True, slots=True)
class DTypeInfo:
    """What scanning needs from a dtype: its item size and whether it holds Python objects."""

    itemsize: int
    hasobject: bool


class DTypeError(ValueError):
    """A dtype that safeload cannot size or classify with certainty."""


def parse_typestr(text: str) -> DTypeInfo:
    """Size and object-ness of a numpy type string such as ``<f8``, ``|O``, ``<U10``, ``<M8[ns]``."""
    match = _TYPESTR.fullmatch(text)
    if match is None:
        raise DTypeError(f"unknown dtype {text!r}")
    _order, kind, digits, unit = match.groups()
    size = int(digits) if digits else None
    if size is not None and size > 1 << 40:
        raise DTypeError(f"absurd dtype size in {text!r}")
    if unit and kind not in "Mm":
        raise DTypeError(f"unknown dtype {text!r}")
    if kind == "O":
        if size not in (None, 4, 8):
            raise DTypeError(f"unknown dtype {text!r}")
        return DTypeInfo(size or 8, True)
    if kind in "SaV":
        return DTypeInfo(size or 0, False)
    if kind == "U":
        return DTypeInfo(4 * (size or 0), False)
    if kind in "Mm":
        if size not in (None, 8):
            raise DTypeError(f"unknown dtype {text!r}")
        return DTypeInfo(8, False)
    if size is None:
        if kind in _CHAR_SIZES:
            return DTypeInfo(_CHAR_SIZES[kind], False)
        raise DTypeError(f"unknown dtype {text!r}")
    if kind in _SIZED and size in _SIZED[kind]:
        return DTypeInfo(size, False)
    raise DTypeError(f"unknown dtype {text!r}")


def _shape_count(shape: Any) -> int:
    if isinstance(shape, int) and not isinstance(shape, bool):
        shape = (shape,)
    if not isinstance(shape, tuple) or not all(isinstance(d, int) and not isinstance(d, bool) for d in shape):
        raise DTypeError(f"bad subarray shape {shape!r}")
    if any(d < 0 for d in shape):
        raise DTypeError(f"negative dimension in {shape!r}")
    return math.prod(shape)


def _numpy_fallback(descr: Any) -> DTypeInfo:
    try:
        from numpy.lib import format as npformat
    except ImportError:
        raise DTypeError(f"unknown dtype {descr!r} (numpy is not installed to interpret it)") from None
    try:
        dt = npformat.descr_to_dtype(descr)
    except Exception as exc:  # noqa: BLE001 - numpy raises many types on bad descriptors
        raise DTypeError(f"invalid dtype descriptor {descr!r}: {type(exc).__name__}") from None
    return DTypeInfo(int(dt.itemsize), bool(dt.hasobject))


def parse_descr(descr: Any, depth: int = 0) -> DTypeInfo:
    """Size and object-ness of an .npy ``descr`` (a type string, a (descr, shape) tuple or a field list)."""
    if depth > 32:
        raise DTypeError("dtype descriptor nested too deeply")
    if isinstance(descr, str):
        try:
            return parse_typestr(descr)
        except DTypeError:
            return _numpy_fallback(descr)
    if isinstance(descr, tuple) and len(descr) == 2:
        base = parse_descr(descr[0], depth + 1)
        return DTypeInfo(base.itemsize * _shape_count(descr[1]), base.hasobject)
    if isinstance(descr, list):
        size = 0
        hasobject = False
        for field in descr:
            if not isinstance(field, tuple) or len(field) not in (2, 3):
                return _numpy_fallback(descr)
            info = parse_descr(field[1], depth + 1)
            count = _shape_count(field[2]) if len(field) == 3 else 1
            size += info.itemsize * count
            hasobject = hasobject or info.hasobject
        return DTypeInfo(size, hasobject)
    return _numpy_fallback(descr)


_DTYPE_CLASSES = frozenset({"numpy.dtype", "numpy.core.multiarray.dtype", "numpy._core.multiarray.dtype"})


def dtype_info_from_call(value: Any, depth: int = 0) -> DTypeInfo:
    """Size and object-ness of a *pickled* dtype: ``numpy.dtype(typestr, align, copy)`` plus its BUILD state.

    State layout (numpy's ``dtype.__reduce__``): ``(version, byteorder, subarray, names, fields, elsize,
    alignment, flags[, metadata])``. Flexible, structured and subarray dtypes take their size from
    ``elsize``; object-ness is the union of every signal (type code, flags, fields, subarray base), so a
    crafted state can only make safeload read *more* bytes as a pickle, never fewer.
    """
    if depth > 32:
        raise DTypeError("dtype nested too deeply")
    if not isinstance(value, Call) or not isinstance(value.func, Global) or value.func.full not in _DTYPE_CLASSES:
        raise DTypeError(f"the array dtype is not a numpy.dtype literal ({value!r})")
    args = value.args if isinstance(value.args, tuple) else ()
    if not args or not isinstance(args[0], str):
        raise DTypeError("numpy.dtype called without a type string")
    base = parse_typestr(args[0])
    state = value.state
    if state is None:
        return base
    if not isinstance(state, tuple) or len(state) < 8:
        raise DTypeError(f"unexpected numpy.dtype state {state!r:.80}")
    subarray, names, fields, elsize, flags = state[2], state[3], state[4], state[5], state[7]
    if not isinstance(elsize, int) or not isinstance(flags, int):
        raise DTypeError("numpy.dtype state with non-integer size or flags")
    hasobject = base.hasobject or bool(flags & 1)
    if subarray is not None:
        if not isinstance(subarray, tuple) or len(subarray) != 2:
            raise DTypeError("bad numpy.dtype subarray state")
        hasobject = hasobject or dtype_info_from_call(subarray[0], depth + 1).hasobject
        _shape_count(subarray[1])
    if fields is not None:
        if not isinstance(fields, dict) or not isinstance(names, tuple):
            raise DTypeError("bad numpy.dtype fields state")
        for item in fields.values():
            if not isinstance(item, tuple) or len(item) < 2:
                raise DTypeError("bad numpy.dtype field")
            hasobject = hasobject or dtype_info_from_call(item[0], depth + 1).hasobject
    flexible = args[0].lstrip("<>|=")[:1] in ("S", "a", "U", "V") or subarray is not None or fields is not None
    if flexible:
        if elsize < 0:
            raise DTypeError("flexible numpy.dtype without a size")
        return DTypeInfo(elsize, hasobject)
    if elsize not in (-1, base.itemsize):
        raise DTypeError(f"numpy.dtype {args[0]!r} with an inconsistent item size {elsize}")
    return DTypeInfo(base.itemsize, hasobject)


class PlainWalker(PickleWalker):
    """The engine with ``pickle.load`` semantics for BUILD: no format hooks (no raw data after a BUILD)."""

    use_build_hooks = False


def walk_plain(data: Any, pos: int, ctx: ScanContext) -> StreamResult:
    """Walk one pickle stream at ``pos`` as ``pickle.load`` would read it."""
    return PlainWalker(data, ctx).walk(pos)


@dataclass(frozen=True, slots=True)
class NpyHeader:
    version: tuple[int, int]
    data_start: int
    shape: tuple[int, ...]
    fortran_order: bool
    dtype: DTypeInfo
    descr: Any

    @property
    def count(self) -> int:
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        return self.count * self.dtype.itemsize


class NpyError(ValueError):
    """A malformed .npy header."""


def _filter_py2_longs(text: str) -> str:
    """Drop the ``L`` suffix of py2 long literals, token by token (as numpy does for 1.0/2.0 headers)."""
    tokens = []
    last_was_number = False
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if last_was_number and tok.type == tokenize.NAME and tok.string == "L":
            continue
        tokens.append(tok)
        last_was_number = tok.type == tokenize.NUMBER
    return tokenize.untokenize(tokens)


def parse_npy_header(data: Any, start: int = 0) -> NpyHeader:
    """Parse the .npy header at ``start``; raise :class:`NpyError` where ``numpy.load`` would refuse it."""
    head = bytes(data[start:start + 12])
    if not head.startswith(MAGIC) or len(head) < 8:
        raise NpyError("not a .npy file (bad magic)")
    version = (head[6], head[7])
    fmt = _HEADER_FORMATS.get(version)
    if fmt is None:
        raise NpyError(f"unsupported .npy format version {version[0]}.{version[1]}")
    length_format, encoding = fmt
    length_size = struct.calcsize(length_format)
    if len(head) < 8 + length_size:
        raise NpyError("truncated .npy header length")
    header_len = struct.unpack_from(length_format, head, 8)[0]
    header_start = start + 8 + length_size
    if header_len > _MAX_HEADER:
        raise NpyError(f".npy header of {header_len} bytes (numpy's literal_eval is not safe on large input)")
    if header_start + header_len > len(data):
        raise NpyError("truncated .npy header")
    try:
        text = bytes(data[header_start:header_start + header_len]).decode(encoding)
    except UnicodeDecodeError as exc:
        raise NpyError(f".npy header is not {encoding}: {exc}") from None
    try:
        try:
            header = ast.literal_eval(text)
        except SyntaxError:
            if version > (2, 0):
                raise
            header = ast.literal_eval(_filter_py2_longs(text))
    except (SyntaxError, ValueError, TypeError, MemoryError, RecursionError, tokenize.TokenError,
            IndentationError) as exc:
        raise NpyError(f"cannot parse the .npy header: {type(exc).__name__}") from None
    if not isinstance(header, dict):
        raise NpyError("the .npy header is not a dictionary")
    if set(header) != _EXPECTED_KEYS:
        raise NpyError(f"the .npy header has the keys {sorted(map(str, header))!r}")
    shape = header["shape"]
    if not isinstance(shape, tuple) or not all(isinstance(d, int) for d in shape):
        raise NpyError(f"the .npy shape is not a tuple of ints: {shape!r:.80}")
    if any(d < 0 for d in shape):
        raise NpyError(f"negative dimension in the .npy shape {shape!r:.80}")
    if not isinstance(header["fortran_order"], bool):
        raise NpyError("fortran_order is not a bool")
    try:
        info = parse_descr(header["descr"])
    except DTypeError as exc:
        raise NpyError(str(exc)) from None
    return NpyHeader(version, header_start + header_len, shape, header["fortran_order"], info, header["descr"])


def scan_npy(data: Any, ctx: ScanContext) -> None:
    """Registry entry point for ``\\x93NUMPY`` buffers."""
    ctx.note_format("npy")
    try:
        header = parse_npy_header(data)
    except NpyError as exc:
        ctx.add("SL303", str(exc), offset=0)
        return
    n = len(data)
    if not header.dtype.hasobject:
        if header.data_start + header.nbytes > n:
            ctx.add("SL018", f".npy array data needs {header.nbytes} bytes, {n - header.data_start} present "
                    "(truncated file)", offset=header.data_start)
        ctx.add("SL001", f".npy {header.version[0]}.{header.version[1]}: {header.shape} array, "
                f"{header.nbytes} bytes of data (not read)", subject="npy",
                details={"shape": list(header.shape), "itemsize": header.dtype.itemsize})
        return
    ctx.add("SL302", f"object array {header.shape}: numpy.load(allow_pickle=True) unpickles its data; "
            "the pickle is scanned", offset=header.data_start, subject="npy-object-array")
    ctx.note_format("pickle")
    # pickle.load reads one stream and numpy never looks at what follows it.
    walk_plain(engine_input(data), header.data_start, ctx)


def _subclass_check(walker: PickleWalker, value: Any, what: str) -> None:
    """Flag an array subclass that the real loader instantiates when it is not on the allowlist."""
    if isinstance(value, Global) and value.cls.kind == "unknown":
        walker.ctx.add("SL104", f"{value.full} is instantiated as the array subclass of {what}",
                       subject=value.full, offset=value.offset, trustable=True)
