"""safetensors: the header checked by the rules of the Rust ``safetensors`` crate (0.8, ``tensor.rs``).

A safetensors file is an 8-byte little-endian header length ``n``, ``n`` bytes of UTF-8 JSON, then the data
section. The crate (what ``safe_open``, ``load_file`` and ``transformers`` use) accepts a file only when:

- ``n <= 100_000_000`` and ``8 + n`` is inside the file;
- the header is UTF-8 and JSON as ``serde_json`` reads it: JSON whitespace only (no BOM), no NaN/Infinity, no
  lone surrogate escapes, numbers within f64 range, nesting of at most 127 containers;
- the header is an object; ``__metadata__`` (at most once) is null or an object of string values; every other
  key is a tensor (a repeated name: the last one wins) whose info is an object with ``dtype``, ``shape`` and
  ``data_offsets`` (each at most once, other keys ignored) or a 3-element array of the same;
- ``dtype`` is a known name (or ``{"NAME": null}``), ``shape`` a list of integers in [0, 2**64), and
  ``data_offsets`` two such integers;
- sorted by offsets, the tensors tile the data section: each begins where the previous ended, its length is
  ``prod(shape) * bits / 8`` (a whole number of bytes, no u64 overflow), and the last one ends at the end of
  the file (no trailing bytes).

Invariants: the data section is never read (only its length is used); the header is parsed only after its size
is bounded (the crate's 100 MB cap, and at most ``MAX_VALUES`` JSON values), so neither memory nor time grows
with a hostile header beyond those bounds; parsing is ``json`` with hooks that make its number, constant and
duplicate-key handling match ``serde_json``. Anything the crate would reject is a blocking SL801.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from safeload._context import ScanContext
from safeload._sniff import SAFETENSORS_MAX_HEADER

__all__ = ["DTYPE_BITS", "MAX_DEPTH", "MAX_VALUES", "Header", "SafetensorsError", "read_header", "scan_safetensors"]

# Element sizes in bits, from the crate's ``Dtype::bitsize`` (0.8); names are case-sensitive.
DTYPE_BITS: dict[str, int] = {
    "BOOL": 8, "F4": 4, "F6_E2M3": 6, "F6_E3M2": 6, "U8": 8, "I8": 8, "F8_E5M2": 8, "F8_E4M3": 8,
    "F8_E8M0": 8, "F8_E4M3FNUZ": 8, "F8_E5M2FNUZ": 8, "I16": 16, "U16": 16, "F16": 16, "BF16": 16, "I32": 32,
    "U32": 32, "F32": 32, "C64": 64, "F64": 64, "I64": 64, "U64": 64,
}
MAX_DEPTH = 127  # serde_json's recursion limit (128) counts the value being opened
MAX_VALUES = 2_000_000  # JSON values safeload parses in one header (a 100k-tensor header holds about 1M)
_U64 = (1 << 64) - 1
_I64_MIN = -(1 << 63)
_SURROGATE = re.compile("[\ud800-\udfff]")
# JSON digits are ASCII: [0-9], never \d (which also matches other scripts' digits, and is slower).
_MINUS_ZERO = re.compile(r"-0(?![0-9.eE])")
_LONG_DIGITS = re.compile(r"[0-9]{300}")
_BIG_EXPONENT = re.compile(r"[eE][+-]?[0-9]{3}")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abAB]")
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_PLAIN_STRING = re.compile(r'"[^"]*"')  # the same, for text without a backslash
_NOT_BRACKETS = {code: None for code in range(128) if chr(code) not in "[]{}"}  # str.translate: delete them
_INNERMOST = re.compile(r"\[\]|\{\}")
_FIELDS = ("dtype", "shape", "data_offsets")


class SafetensorsError(ValueError):
    """The header breaks a rule of the safetensors crate (the message says which)."""


class _Object(list[tuple[str, Any]]):
    """A JSON object as its key/value pairs in document order, duplicates kept (serde sees every one)."""

    __slots__ = ()


@dataclass
class Header:
    """What a valid header declares."""

    header_size: int
    data_size: int
    tensors: dict[str, tuple[str, tuple[int, ...], tuple[int, int]]] = field(default_factory=dict)
    metadata: dict[str, str] | None = None


def _number_out_of_range(text: str) -> SafetensorsError:
    return SafetensorsError(f"number out of range: {text[:40]}{'...' if len(text) > 40 else ''}")


def _parse_int(text: str) -> int | float:
    """serde_json: an integer that fits u64 (or i64 when negative) stays an integer; ``-0`` and anything wider
    become f64 (an error where an integer is required), and an f64 overflow is an error everywhere."""
    digits = len(text) - text.startswith("-")
    if digits > 330:  # beyond any finite f64
        raise _number_out_of_range(text)
    value = int(text)
    if text == "-0" or value > _U64 or value < _I64_MIN:
        try:
            return float(value)
        except OverflowError:
            raise _number_out_of_range(text) from None
    return value


def _parse_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise _number_out_of_range(text)
    return value


def _reject_constant(text: str) -> Any:
    raise SafetensorsError(f"{text} is not JSON")


def _careful_numbers(bare: str) -> bool:
    """Numbers only the hooks judge like serde_json: ``-0``, 300+ digits, exponents of 3+ digits (``bare``: the
    header with every string emptied, so names like ``-0.weight`` or ``e100`` do not count)."""
    return bool(("-0" in bare and _MINUS_ZERO.search(bare)) or _LONG_DIGITS.search(bare)
                or (("e" in bare or "E" in bare) and _BIG_EXPONENT.search(bare)))


def _parse_json(text: str, careful: bool = True) -> Any:
    """Parse as serde_json would see the header. JSON objects come back as :class:`_Object` (every pair kept), or
    as plain dicts when no key can be repeated where a repeat matters (the fast path below)."""
    # The number hooks cost a Python call per number; they can only change a verdict for "-0", very long
    # integers and exponents of three digits or more, so plain headers parse with json's own int and float.
    numbers: dict[str, Any] = {"parse_int": _parse_int, "parse_float": _parse_float} if careful else {}
    try:
        if "\\" not in text:  # no escapes: every key is written literally, so repeats can be counted in the text
            root = json.loads(text, parse_constant=_reject_constant, **numbers)
            if _no_repeats_that_matter(root, text):
                return root
        return json.loads(text, object_pairs_hook=_Object, parse_constant=_reject_constant, **numbers)
    except SafetensorsError:
        raise
    except RecursionError as exc:
        raise SafetensorsError(f"JSON nested more than {MAX_DEPTH} deep") from exc
    except ValueError as exc:
        raise SafetensorsError(f"invalid JSON in header: {exc}") from exc


def _no_repeats_that_matter(root: Any, text: str) -> bool:
    """True when ``root`` (plain dicts, parsed from escape-free ``text``) lost no repeated key whose repeat is an
    error for serde: ``__metadata__`` at the top, ``dtype``/``shape``/``data_offsets`` in a tensor info. Each
    such key written in the text must then belong to exactly one tensor info (other repeats: the last wins, as
    in the crate's HashMaps)."""
    if type(root) is not dict or text.count('"__metadata__"') > 1:
        return type(root) is not dict
    infos = [value for key, value in root.items() if key != "__metadata__" and type(value) is dict]
    return all(text.count(f'"{name}"') == sum(map(dict.__contains__, infos, itertools.repeat(name)))
               for name in _FIELDS)


def _is_object(value: Any) -> bool:
    return type(value) is dict or isinstance(value, _Object)


def _items(value: Any) -> Any:
    """The key/value pairs of a JSON object, in document order (a dict's are unique)."""
    return value.items() if type(value) is dict else value


def _check_depth(bare: str) -> None:
    """serde_json's nesting limit, without recursion: in ``bare`` (strings emptied), one level of innermost
    containers is removed per pass; brackets left after ``MAX_DEPTH`` passes mean deeper nesting."""
    skeleton = bare.translate(_NOT_BRACKETS)  # outside strings, valid JSON is ASCII
    for _level in range(MAX_DEPTH):
        if not skeleton:
            return
        skeleton = _INNERMOST.sub("", skeleton)
    if skeleton:
        raise SafetensorsError(f"JSON nested more than {MAX_DEPTH} deep")


def _check_surrogates(root: Any) -> None:
    """serde_json rejects a lone surrogate escape in every string, keys included (json keeps them)."""
    stack = [root]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            if _SURROGATE.search(value):
                raise SafetensorsError("a string holds a lone surrogate escape (invalid in serde_json)")
        elif _is_object(value):
            for key, item in _items(value):
                stack.append(key)
                stack.append(item)
        elif isinstance(value, list):
            stack.extend(value)


def _dtype(name: str, value: Any) -> str:
    if type(value) is str:
        if value in DTYPE_BITS:
            return value
    elif _is_object(value):  # serde's externally tagged form of a unit variant: {"F32": null}
        pairs = list(_items(value))
        if len(pairs) != 1 or pairs[0][1] is not None:
            raise SafetensorsError(f"tensor {name!r}: dtype must be a string")
        return _dtype(name, pairs[0][0])
    else:
        raise SafetensorsError(f"tensor {name!r}: dtype must be a string")
    raise SafetensorsError(f"tensor {name!r}: unknown dtype {value[:40]!r}")


def _uints(name: str, what: str, value: Any, length: int | None = None) -> tuple[int, ...]:
    if type(value) is not list:  # a JSON object (dict or _Object) is not a sequence for serde
        raise SafetensorsError(f"tensor {name!r}: {what} must be a list")
    if length is not None and len(value) != length:
        raise SafetensorsError(f"tensor {name!r}: {what} must have {length} elements, not {len(value)}")
    # bool is not int here (type(), not isinstance), as for serde; min/max keep the loop in C
    if value and (set(map(type, value)) != {int} or min(value) < 0 or max(value) > _U64):
        raise SafetensorsError(f"tensor {name!r}: {what} must hold integers in [0, 2**64)")
    return tuple(value)


def _tensor(name: str, info: Any) -> tuple[str, tuple[int, ...], tuple[int, int]]:
    if _is_object(info):
        fields = dict(_items(info))
        if len(fields) != len(info):  # a repeated key: an error when it is one of the three fields
            known = [key for key, _value in info if key in _FIELDS]
            if len(known) != len(set(known)):
                repeated = next(key for key in known if known.count(key) > 1)
                raise SafetensorsError(f"tensor {name!r}: duplicate field {repeated!r}")
        try:
            raw = (fields["dtype"], fields["shape"], fields["data_offsets"])
        except KeyError as exc:
            raise SafetensorsError(f"tensor {name!r}: missing field {exc.args[0]!r}") from None
    elif type(info) is list:
        if len(info) != 3:
            raise SafetensorsError(f"tensor {name!r}: tensor info must have 3 elements, not {len(info)}")
        raw = (info[0], info[1], info[2])
    else:
        raise SafetensorsError(f"tensor {name!r}: expected a tensor info object, got {type(info).__name__}")
    begin, end = _uints(name, "data_offsets", raw[2], 2)
    return _dtype(name, raw[0]), _uints(name, "shape", raw[1]), (begin, end)


def _plain_tensors(tensors: dict[str, Any]) -> dict[str, tuple[str, tuple[int, ...], tuple[int, int]]] | None:
    """Every tensor info checked at once when all are plain ``{"dtype": str, "shape": [int], "data_offsets":
    [int, int]}`` objects with valid values (what writers produce); None sends the header through
    :func:`_tensor` one tensor at a time, which also names what is wrong."""
    infos = list(tensors.values())
    if not infos:
        return {}
    if set(map(type, infos)) != {dict} or set(map(len, infos)) != {3}:
        return None
    try:
        dtypes = [info["dtype"] for info in infos]
        shapes = [info["shape"] for info in infos]
        offsets = [info["data_offsets"] for info in infos]
    except KeyError:
        return None
    if (set(map(type, dtypes)) != {str} or not set(dtypes) <= DTYPE_BITS.keys() or set(map(type, shapes)) != {list}
            or set(map(type, offsets)) != {list} or set(map(len, offsets)) != {2}):
        return None
    flat = [v for shape in shapes for v in shape]
    flat += [v for pair in offsets for v in pair]
    if set(map(type, flat)) != {int} or min(flat) < 0 or max(flat) > _U64:
        return None
    return {name: (dtype, tuple(shape), (pair[0], pair[1]))
            for name, dtype, shape, pair in zip(tensors, dtypes, shapes, offsets, strict=True)}


def _nbytes(name: str, dtype: str, shape: tuple[int, ...]) -> int:
    count = 1
    for dim in shape:
        count *= dim
        if count > _U64:
            raise SafetensorsError(f"tensor {name!r}: shape {list(shape)[:8]} overflows")
    bits = count * DTYPE_BITS[dtype]
    if bits > _U64:
        raise SafetensorsError(f"tensor {name!r}: shape {list(shape)[:8]} overflows")
    if bits % 8:
        raise SafetensorsError(f"tensor {name!r}: {count} {dtype} elements do not fill whole bytes")
    return bits // 8


def read_header(data: Any) -> Header:
    """Validate the safetensors file in ``data`` (bytes or a memoryview of the whole file) as the crate does.

    Raises :class:`SafetensorsError` naming the first broken rule. Reads the header only.
    """
    size = len(data)
    if size < 8:
        raise SafetensorsError(f"{size} bytes: too small for the 8-byte header length")
    n = int.from_bytes(bytes(data[:8]), "little")
    if n > SAFETENSORS_MAX_HEADER:
        raise SafetensorsError(f"header length {n} exceeds the crate's limit of {SAFETENSORS_MAX_HEADER} bytes")
    if 8 + n > size:
        raise SafetensorsError(f"header length {n} runs past the end of the {size}-byte file (truncated)")
    raw = bytes(data[8:8 + n])
    values = raw.count(b",") + raw.count(b"[") + raw.count(b"{") + 1  # an upper bound on the JSON values
    if values > MAX_VALUES:
        raise SafetensorsError(f"header too complex to verify (up to {values} JSON values, limit {MAX_VALUES})")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SafetensorsError(f"header is not UTF-8 (byte {exc.start})") from exc
    # every string emptied: exact for valid JSON, and nothing here counts unless the JSON parses
    bare = (_STRING if "\\" in text else _PLAIN_STRING).sub('""', text)
    root = _parse_json(text, careful=_careful_numbers(bare))
    _check_depth(bare)
    if _SURROGATE_ESCAPE.search(text):  # only escapes can make a lone surrogate (the text itself is UTF-8)
        _check_surrogates(root)
    if not _is_object(root):
        raise SafetensorsError(f"header is a JSON {type(root).__name__}, not an object")
    header = Header(header_size=n, data_size=size - 8 - n)
    tensors: dict[str, Any] = {}
    seen_metadata = False
    for key, value in _items(root):
        if key != "__metadata__":
            tensors[key] = value  # a HashMap: a repeated name keeps its last value
            continue
        if seen_metadata:
            raise SafetensorsError("duplicate field '__metadata__'")
        seen_metadata = True
        if value is None:
            continue
        if not _is_object(value):
            raise SafetensorsError("__metadata__ must be an object of strings")
        if not all(isinstance(v, str) for _k, v in _items(value)):
            raise SafetensorsError("__metadata__ values must be strings")
        header.metadata = dict(_items(value))
    bulk = _plain_tensors(tensors)
    if bulk is not None:
        header.tensors = bulk
    else:
        for name, info in tensors.items():
            header.tensors[name] = _tensor(name, info)
    start = 0
    for name, (dtype, shape, (begin, end)) in sorted(header.tensors.items(), key=lambda item: item[1][2]):
        if begin != start or end < begin:
            what = "overlaps the previous tensor" if begin < start else "leaves a gap" if begin > start else \
                "ends before it begins"
            raise SafetensorsError(f"tensor {name!r}: data_offsets [{begin}, {end}] {what} (expected start {start})")
        start = end
        if end - begin != _nbytes(name, dtype, shape):
            raise SafetensorsError(f"tensor {name!r}: data_offsets [{begin}, {end}] do not hold a {dtype} tensor of "
                                   f"shape {list(shape)[:8]}")
    if start != header.data_size:
        what = "trailing bytes after the last tensor" if start < header.data_size else "tensors run past the end"
        raise SafetensorsError(f"data section is {header.data_size} bytes but the tensors cover {start} ({what})")
    return header


def scan_safetensors(data: Any, ctx: ScanContext) -> None:
    """Registry entry point: a valid file is one INFO fact; anything the crate rejects is SL801."""
    ctx.note_format("safetensors")
    try:
        header = read_header(data)
    except SafetensorsError as exc:
        ctx.add("SL801", f"invalid safetensors file: {exc}")
        return
    dtypes = Counter(dtype for dtype, _shape, _offsets in header.tensors.values())
    ctx.add("SL001", f"safetensors: {len(header.tensors)} tensor(s), header {header.header_size} bytes, data "
            f"{header.data_size} bytes (not read)",
            subject="safetensors",
            details={"tensors": len(header.tensors), "dtypes": dict(dtypes.most_common()),
                     "metadata_keys": sorted(header.metadata or {})[:20], "header_bytes": header.header_size})
