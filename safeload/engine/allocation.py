"""How much memory an allowed constructor allocates, from the arguments the file gives it (red team R12-5).

``numpy.ones((100000, 100000))`` is a 32-byte pickle that asks for 74.5 GiB; ``bytearray(1 << 36)`` and
``list(range(1 << 34))`` likewise allocate what one int of the file says. These callables are admitted (they build
data), so the size is the only thing to check. ``requested_bytes`` estimates the bytes a call allocates from the
arguments the engine sees (ints, tuples of ints, ``range`` calls with int arguments, literal dtype strings); an
argument only known at load time gives no estimate (``None``), and the existing rules decide about that value.

Red team round 13 widened what is read: numbers the load computes from literals (``int(float("1e10"))``, ``int``
of a float numpy scalar, of a ``Decimal`` or a ``Fraction``); dtypes with subarrays, fields, dicts and scalar types
by name (``"(1024,)f8"``, ``("V", 4096)``, ``numpy.clongdouble``); lazy iterables wrapping a range (``map``,
``zip``, ``filter``, ``reversed``, ``enumerate``, ``iter``: ``dict(zip(range(n), range(n)))``), counted as
consumed when handed to any callable but another lazy wrapper; ``map`` of an allocator (quadratic); the dtype
position of ``identity``/``eye``/``tri``, ``repmat``, every torch typed storage and legacy tensor type,
``torch.Size`` shapes; ``int(Decimal("1e300000000"))`` (10**exponent computed at load); and ``state_bytes``, the
shape an object ndarray's BUILD state makes numpy allocate.

Security invariants:
- nothing is imported or called: the estimate is arithmetic on the literal arguments only;
- estimates err high for the element size (8 bytes a numpy element unless a literal dtype says more; a Python
  container element costs ``_PY_ITEM``) and never negative;
- ``allocation_bound`` is the refusal threshold: a fixed cap (``Limits.max_allocation_bytes``, by default
  ``FIXED_CAP``, 1 GiB) plus ``STREAM_FACTOR`` times the stream's own size. Real files give these constructors
  sizes that describe data they carry (an array rebuilt with its shape and then filled from the stream's bytes, a
  bytearray of the bytes in the file); a buffer a file asks for without carrying its content never needs more than
  that, while the attacks ask for tens of GiB with a few bytes.
"""

from __future__ import annotations

import re

from safeload.engine.values import BigBytes

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

__all__ = ["FIXED_CAP", "STREAM_FACTOR", "allocation_bound", "requested_bytes", "state_bytes"]

FIXED_CAP = 1 << 30          # default ``Limits.max_allocation_bytes``: what any file may ask for, whatever its size
STREAM_FACTOR = 16           # ... plus this many times the stream's size
_NUMPY_ITEM = 8              # a float64 element: numpy's default dtype
_PY_ITEM = 36                # a list slot (8) and a small int object (28), rounded down
_SET_ITEM = 72               # a set/frozenset entry: hash table slot and the object
_BIT_NAMES = ("int", "uint", "float", "complex", "bool", "str", "bytes", "void", "datetime", "timedelta")


def allocation_bound(stream_size: int, fixed_cap: int = FIXED_CAP) -> int:
    """The most bytes the allocator calls of a stream of ``stream_size`` bytes may ask for (each and together)."""
    return fixed_cap + STREAM_FACTOR * max(stream_size, 0)


_INT_MAKERS = frozenset({"builtins.int", *(f"numpy.{kind}" for kind in (
    "int8 int16 int32 int64 uint8 uint16 uint32 uint64 intp uintp int_ uint longlong ulonglong".split()))})
_FLOAT_MAKERS = frozenset({"builtins.float", *(f"numpy.{kind}" for kind in (
    "float16 float32 float64 half single double longdouble float_".split()))})
_NUMPY_SCALAR = frozenset({"numpy._core.multiarray.scalar", "numpy.core.multiarray.scalar"})
_DECIMAL = frozenset({"decimal.Decimal", "_decimal.Decimal", "_pydecimal.Decimal"})
_FRACTION = "fractions.Fraction"
_MAX_TEXT = 5000          # longer number text is not read (an int that long is refused by int() or overflows)
_MAX_DIGITS = 4300        # Python's own limit on the decimal digits int() makes of text (sys.int_info)
_HUGE = 1 << 63           # a number too big to write down: certainly above any bound


def _call_parts(value: Any) -> tuple[str | None, tuple[Any, ...]]:
    name = getattr(getattr(value, "func", None), "full", None)
    args = getattr(value, "args", None)
    return (name, args) if type(name) is str and type(args) is tuple else (None, ())


def _decimal_exponent(value: Any) -> int | None:
    """The adjusted exponent of a ``decimal.Decimal`` the load builds from a literal (text or a digit tuple), read
    with this process's own decimal module on the literal only (no file-named code runs)."""
    import decimal

    name, args = _call_parts(value)
    if name not in _DECIMAL or len(args) != 1:
        return None
    given = args[0]
    literal = (type(given) is str and len(given) <= _MAX_TEXT) or type(given) in (int, float) or (
        type(given) is tuple and len(given) == 3 and type(given[1]) is tuple and len(given[1]) <= _MAX_TEXT
        and all(type(part) is int for part in (given[0], given[2], *given[1])))
    if not literal:
        return None
    try:
        number = decimal.Decimal(given)
    except (ValueError, ArithmeticError):
        return None
    return int(number.adjusted()) if number.is_finite() else None


def _number(value: Any, depth: int = 0) -> int | float | None:
    """A number the load computes from literals: a plain int or float; ``int(x)``/``float(x)`` or a numpy integer
    or float type called on a literal or on such a number (``int(float("1e10"))``); a numpy scalar pickled as
    ``scalar(dtype, raw)`` (its raw bytes read as an integer in the byte order giving the larger number: errs high);
    ``int`` of a ``decimal.Decimal`` or a ``fractions.Fraction`` of literals."""
    kind = type(value)
    if kind is int or kind is bool:
        return int(value)
    if kind is float:
        return value  # type: ignore[no-any-return]
    name, args = _call_parts(value)
    if name is None or not args or depth > 8:
        return None
    if name in _NUMPY_SCALAR:
        raw = _raw_bytes(args[1]) if len(args) == 2 else None
        if raw is not None and 0 < len(raw) <= 16:
            return max(int.from_bytes(raw, "little", signed=True), int.from_bytes(raw, "big", signed=True))
        return None
    if name in _DECIMAL:
        exponent = _decimal_exponent(value)
        return None if exponent is None else (_HUGE if exponent > 18 else int(_decimal_value(args[0])))
    if name == _FRACTION:
        parts = [_number(part, depth + 1) for part in args[:2]]
        if len(args) > 2 or any(type(part) is not int for part in parts) or parts[-1] == 0:
            return None
        return parts[0] // parts[1] if len(parts) == 2 else parts[0]  # type: ignore[operator]
    if name not in _INT_MAKERS and name not in _FLOAT_MAKERS:
        return None
    first: Any = args[0]
    if type(first) in (str, bytes):
        if len(first) > _MAX_TEXT:
            return None
    elif len(args) == 1:
        first = _number(first, depth + 1)
        if first is None:
            return None
    try:
        if name in _FLOAT_MAKERS:
            return float(first) if len(args) == 1 else None
        if len(args) == 2 and type(args[1]) is int and type(first) in (str, bytes):
            return int(first, args[1])
        return int(first) if len(args) == 1 else None
    except (TypeError, ValueError, OverflowError):
        return None


def _raw_bytes(value: Any) -> bytes | None:
    """Literal bytes, or the bytes ``_codecs.encode`` makes of a literal (protocol 2 writes a numpy scalar's raw
    bytes as ``_codecs.encode(text, "latin1")``)."""
    if type(value) is bytes:
        return value
    name, args = _call_parts(value)
    if name in ("_codecs.encode", "codecs.encode") and len(args) == 2 and type(args[0]) is str \
            and type(args[1]) is str and args[1].lower().replace("-", "").replace("_", "") in ("latin1", "iso88591"):
        try:
            return args[0].encode("latin-1")
        except UnicodeEncodeError:
            return None
    return None


def _decimal_value(given: Any) -> Any:
    import decimal

    return decimal.Decimal(given)


def _int(value: Any) -> int | None:
    """An int the load will compute from literals (``_number``), None for anything else."""
    number = _number(value)
    return number if type(number) is int else None


def _shape(value: Any) -> int | None:
    """Element count of a numpy shape: an int or a tuple/list of ints, or a ``torch.Size`` of one (a tuple
    subclass numpy takes as a shape); None when any part is unknown."""
    name, args = _call_parts(value)
    if name == "torch.Size" and len(args) == 1 and type(args[0]) in (tuple, list):
        value = args[0]
    single = _int(value)
    if single is not None:
        return max(single, 0)
    if type(value) in (tuple, list):
        count = 1
        for dim in value:
            size = _int(dim)
            if size is None:
                return None
            count *= max(size, 0)
        return count
    return None


_FIELD_TEXT = re.compile(r"\s*(?:\(([\d\s,]*)\)|(\d+)(?=[A-Za-z]))?\s*[<>=|]?([A-Za-z_?]*)(\d*)\s*(?:\[\w+\])?\s*")
_UNKNOWN_ITEM = 32       # an element type the estimate cannot read: numpy's widest scalar (clongdouble)
_NAMED_ITEM = {"?": 1, "b": 1, "B": 1, "h": 2, "H": 2, "e": 2, "i": 4, "I": 4, "f": 4, "l": 8, "L": 8, "q": 8,
               "Q": 8, "d": 8, "F": 8, "D": 16, "g": 16, "G": 32, "O": 8, "m": 8, "M": 8, "p": 8, "P": 8,
               "S": 0, "a": 0, "U": 0, "V": 0, "bool": 1, "int": 8, "float": 8, "complex": 16, "object": 8,
               "double": 8, "single": 4, "half": 2, "longlong": 8, "longdouble": 16, "clongdouble": 32,
               "cdouble": 16, "csingle": 8, "str": 0, "bytes": 0, "void": 0, "float_": 8, "int_": 8,
               "intp": 8, "uintp": 8, "complex_": 16, "bool_": 1, "object_": 8, "str_": 0, "bytes_": 0}
_FLEXIBLE = frozenset({"S", "a", "U", "V", "str", "bytes", "void", "str_", "bytes_"})


def _base_text_size(name: str, digits: str) -> int:
    if not digits:
        return _NAMED_ITEM.get(name, _UNKNOWN_ITEM)
    count = int(digits)
    if name.lower().rstrip("_") in _BIT_NAMES and len(name) > 1 and count >= 8:  # float64, int32: bits
        return count // 8
    return count * 4 if name in ("U", "str", "str_") else count  # S100, V100000, f8: bytes; U10: UCS-4


def _text_size(text: str) -> int:
    """Bytes per element of a dtype text: comma-separated fields, each with an optional subarray shape prefix
    (``"(1024,)f8"``, ``"3i4"``) and a byte order; text it cannot read counts ``_UNKNOWN_ITEM`` per field."""
    if len(text) > _MAX_TEXT:
        return _HUGE
    total, position = 0, 0
    while position < len(text):
        match = _FIELD_TEXT.match(text, position)
        if match is None or match.end() == position:
            return total + _UNKNOWN_ITEM
        shape, repeat, name, digits = match.groups()
        count = int(repeat) if repeat else 1
        for part in (shape or "").replace(",", " ").split():
            count *= int(part)
        total += count * _base_text_size(name, digits) if (name or digits) else _UNKNOWN_ITEM
        position = match.end()
        if position < len(text):
            if text[position] != ",":
                return total + _UNKNOWN_ITEM
            position += 1
    return total


def _dtype_size(value: Any, depth: int = 0) -> int:
    """Bytes per element of what numpy accepts as a dtype, from literals, erring high: text (``_text_size``);
    ``(base, n)`` (a flexible base's length, else a subarray of n) and ``(base, shape)``; a list of fields
    ``(name, base[, shape])``; a dict (``names``/``formats``/``offsets``/``itemsize``, or name -> (base, offset));
    ``numpy.dtype(spec, ...)``; a scalar type by name. Anything else counts ``_UNKNOWN_ITEM``."""
    kind = type(value)
    if depth > 8:
        return _UNKNOWN_ITEM
    if kind is str or kind is bytes:
        return _text_size(value if kind is str else value.decode("latin-1"))
    if kind is tuple and len(value) == 2:
        base, extra = value
        text = base if type(base) is str else base.decode("latin-1") if type(base) is bytes else ""
        length = _int(extra)
        if length is not None and text.strip(" <>=|") in _FLEXIBLE:  # ("V", 4096), ("U", 10): the length
            return max(length, 0) * (4 if text.strip(" <>=|") in ("U", "str", "str_") else 1)
        size = _dtype_size(base, depth + 1)
        count = _shape(extra)  # ("f8", (1024,)), ("f8", 3): a subarray
        return size * count if count is not None else size + _dtype_size(extra, depth + 1)
    if kind is list:
        total = 0
        for field in value:
            if type(field) is tuple and len(field) in (2, 3):
                shape = _shape(field[2]) if len(field) == 3 else 1
                total += _dtype_size(field[1], depth + 1) * (_HUGE if shape is None else shape)
            else:
                total += _dtype_size(field, depth + 1)
        return total
    if kind is dict:
        sizes = [_int(value.get("itemsize"))]
        formats = value.get("formats")
        if type(formats) in (list, tuple):
            sizes.append(sum(_dtype_size(item, depth + 1) for item in formats))
            offsets = value.get("offsets")
            if type(offsets) in (list, tuple) and offsets:
                sizes.extend((_int(offset) or 0) + _dtype_size(item, depth + 1)
                             for offset, item in zip(offsets, formats, strict=False))
        else:
            for item in value.values():
                if type(item) is tuple and len(item) >= 2:
                    item_size = _dtype_size(item[0], depth + 1)
                    sizes.extend((item_size, (_int(item[1]) or 0) + item_size))
        known = [size for size in sizes if size is not None]
        return max(known) if known else _UNKNOWN_ITEM
    name, args = _call_parts(value)
    if name is not None and name.rpartition(".")[2] == "dtype" and args:
        return _dtype_size(args[0], depth + 1)
    full = getattr(value, "full", None)
    if type(full) is str:  # a scalar type given by name: numpy.clongdouble, builtins.complex
        short = full.rpartition(".")[2]
        return _base_text_size(short, "") if short in _NAMED_ITEM else _type_name_size(short)
    return _UNKNOWN_ITEM


def _type_name_size(name: str) -> int:
    match = re.fullmatch(r"([a-z]+?)_?(\d+)", name)
    return _base_text_size(match.group(1), match.group(2)) if match else _UNKNOWN_ITEM


def _itemsize(dtype: Any) -> int:
    """Bytes per element of a numpy dtype argument (``_dtype_size``), at least numpy's default 8."""
    if dtype is None:
        return _NUMPY_ITEM
    return max(_NUMPY_ITEM, _dtype_size(dtype))


def _arg(args: tuple[Any, ...], kwargs: dict[Any, Any], index: int, name: str, default: Any = None) -> Any:
    if len(args) > index:
        return args[index]
    return kwargs.get(name, default)


_LAZY = frozenset({"builtins.range", "builtins.map", "builtins.zip", "builtins.filter", "builtins.reversed",
                   "builtins.enumerate", "builtins.iter"})
#: lazy iterables whose items are tuples (a consumer keeps a tuple object per item, not a small int)
_TUPLE_ITEMS = frozenset({"builtins.zip", "builtins.enumerate"})
_TUPLE_ITEM = 64         # a 2-tuple object and its slot


def _range_length(value: Any) -> int | None:
    """len(range(...)) when ``value`` is a ``builtins.range`` call with int arguments."""
    name, args = _call_parts(value)
    if name != "builtins.range":
        return None
    given = [_int(p) for p in args]
    parts = [p for p in given if p is not None]
    if not 1 <= len(parts) == len(given) <= 3:
        return None
    try:
        return len(range(*parts))
    except (ValueError, OverflowError):  # step 0 raises; a length beyond sys.maxsize is certainly too much
        return None if len(parts) == 3 and parts[2] == 0 else _HUGE


def _iterated(value: Any, depth: int = 0) -> tuple[int, int] | None:
    """(items, extra bytes per item) a consumer gets from iterating ``value``, for the lazy iterables the file
    builds (red team R13-1): ``range(n)``, and ``map``/``zip``/``filter``/``reversed``/``enumerate``/``iter`` over
    them (as long as their shortest iterable; zip and enumerate make a tuple per item). A ``map`` whose function
    is a sized allocator, a lazy iterable maker or anything but a plain name (``map(list, map(range, range(n)))``
    is quadratic) has items of no known size: ``_HUGE`` extra bytes each. None: not a lazy iterable the file made
    of literals (a literal container is the file's own data)."""
    length = _range_length(value)
    if length is not None:
        return length, 0
    name, args = _call_parts(value)
    if name in _NDINDEX:  # numpy.ndindex(d0, d1, ...) or ndindex(shape): a tuple per index
        count = _shape(args[0] if len(args) == 1 else args)
        return None if count is None else (count, _TUPLE_ITEM)
    if name in _NETWORKS:  # ipaddress.ip_network("::/0"): an address object per address (R13-7)
        count = _network_size(args)
        return None if count is None else (count, _TUPLE_ITEM)
    if name not in _LAZY or depth > 16:
        return None
    first = 1 if name in ("builtins.map", "builtins.filter") else 0
    sources = args[first:] if name in ("builtins.map", "builtins.zip") else args[first:first + 1]
    if not sources:
        return (0, 0) if name == "builtins.zip" else None
    parts = [_iterated(source, depth + 1) for source in sources]
    known = [part for part in parts if part is not None]
    if not known:
        return None
    items = min(part[0] for part in known)
    extra = max(part[1] for part in known) + (_TUPLE_ITEM if name in _TUPLE_ITEMS else 0)
    if name == "builtins.map" and not _plain_function(args[0]):
        extra = _HUGE
    return items, extra


_NDINDEX = frozenset({"numpy.ndindex", "numpy.lib._index_tricks_impl.ndindex", "numpy.lib.index_tricks.ndindex"})
_NETWORKS = frozenset({"ipaddress.ip_network", "ipaddress.IPv4Network", "ipaddress.IPv6Network"})


def _network_size(args: tuple[Any, ...]) -> int | None:
    """The addresses of ``ipaddress.ip_network(text)`` for a literal network text, read with this process's own
    ipaddress module on the literal (no file-named code runs); None for anything else."""
    import ipaddress

    if not args or type(args[0]) is not str or len(args[0]) > 100:
        return None
    try:
        return ipaddress.ip_network(args[0], strict=False).num_addresses
    except ValueError:
        return None


def _plain_function(value: Any) -> bool:
    """A function ``map`` may apply per item without making a sized object of it: a named callable that is not
    an allocator or a lazy iterable maker (``builtins.abs``, ``builtins.str``); a partial or any made value is
    not."""
    full = getattr(value, "full", None)
    return type(full) is str and (full in _INT_MAKERS or (full not in _ESTIMATES and full not in _LAZY))


def _numpy_shape(shape_at: int, dtype_at: int) -> Callable[[tuple[Any, ...], dict[Any, Any]], int | None]:
    def estimate(args: tuple[Any, ...], kwargs: dict[Any, Any]) -> int | None:
        count = _shape(_arg(args, kwargs, shape_at, "shape"))
        return None if count is None else count * _itemsize(_arg(args, kwargs, dtype_at, "dtype"))
    return estimate


def _square(n_name: str, m_at: int | None, dtype_at: int) -> Callable[[tuple[Any, ...], dict[Any, Any]], int | None]:
    """``eye(N, M=None, k=0, dtype)``, ``tri(N, M, k, dtype)``: N * M elements; ``identity(n, dtype)``: n * n."""
    def estimate(args: tuple[Any, ...], kwargs: dict[Any, Any]) -> int | None:
        n = _int(_arg(args, kwargs, 0, n_name))
        m = None if m_at is None else _arg(args, kwargs, m_at, "M")
        m = n if m is None else _int(m)
        if n is None or m is None:
            return None
        return max(n, 0) * max(m, 0) * _itemsize(_arg(args, kwargs, dtype_at, "dtype"))
    return estimate


def _masked(shape_at: int, dtype_at: int) -> Callable[[tuple[Any, ...], dict[Any, Any]], int | None]:
    """``numpy.ma.core._mareconstruct``: an ndarray of the shape and a boolean mask of it."""
    def estimate(args: tuple[Any, ...], kwargs: dict[Any, Any]) -> int | None:
        count = _shape(_arg(args, kwargs, shape_at, "baseshape"))
        return None if count is None else count * (_itemsize(_arg(args, kwargs, dtype_at, "basetype")) + 1)
    return estimate


def _text_width(index: int, name: str) -> Callable[[tuple[Any, ...], dict[Any, Any]], int | None]:
    """``numpy.binary_repr(num, width)``, ``numpy.base_repr(number, base, padding)``: a str of that many digits
    (R13-6)."""
    def estimate(args: tuple[Any, ...], kwargs: dict[Any, Any]) -> int | None:
        width = _int(_arg(args, kwargs, index, name))
        return None if width is None else max(width, 0)
    return estimate


def _repmat(args: tuple[Any, ...], kwargs: dict[Any, Any]) -> int | None:
    """``numpy.matlib.repmat(a, m, n)``: m * n copies of ``a`` (at least one element)."""
    m, n = _int(_arg(args, kwargs, 1, "m")), _int(_arg(args, kwargs, 2, "n"))
    base = _arg(args, kwargs, 0, "a")
    copies = max(len(base), 1) if type(base) in (list, tuple) else 1
    return None if m is None or n is None else max(m, 0) * max(n, 0) * copies * _NUMPY_ITEM


def _indices(args: tuple[Any, ...], kwargs: dict[Any, Any]) -> int | None:
    dims = _arg(args, kwargs, 0, "dimensions")
    count = _shape(dims)
    return None if count is None else count * max(len(dims) if type(dims) in (tuple, list) else 1, 1) * _NUMPY_ITEM


def _linspace(args: tuple[Any, ...], kwargs: dict[Any, Any]) -> int | None:
    num = _int(_arg(args, kwargs, 2, "num", 50))
    return None if num is None else max(num, 0) * _NUMPY_ITEM


def _arange(args: tuple[Any, ...], kwargs: dict[Any, Any]) -> int | None:
    numbers = list(args[:3])
    if not numbers or any(type(a) not in (int, float) for a in numbers):
        return None
    start, stop, step = (0, numbers[0], 1) if len(numbers) == 1 else (numbers[0], numbers[1], numbers[2] if
                                                                       len(numbers) > 2 else 1)
    if step == 0:
        return None
    try:
        return max(int((stop - start) / step) + 1, 0) * _NUMPY_ITEM
    except (OverflowError, ValueError):
        return _HUGE


def _consumed(index: int, per_item: int, sized: bool = False,
              ) -> Callable[[tuple[Any, ...], dict[Any, Any]], int | None]:
    """A constructor that iterates its argument at ``index`` into a container (``list(range(n))``,
    ``dict(zip(a, b))``, ``array.array("d", map(float, range(n)))``); ``sized``: an int there is the size
    (``bytearray(n)``, ``bytes(n)``)."""
    def estimate(args: tuple[Any, ...], kwargs: dict[Any, Any]) -> int | None:
        if len(args) <= index:
            return None
        size = _int(args[index]) if sized else None
        if size is not None:
            return max(size, 0)
        iterated = _iterated(args[index])
        return None if iterated is None else iterated[0] * (per_item + iterated[1])
    return estimate


def _product(per_item: int) -> Callable[[tuple[Any, ...], dict[Any, Any]], int | None]:
    """``torch.Tensor(d0, d1, ...)``/``numpy.matlib.rand(d0, d1)``: every positional int is a dimension (a tuple,
    or a ``torch.Size`` of one, as the only argument is the shape)."""
    def estimate(args: tuple[Any, ...], kwargs: dict[Any, Any]) -> int | None:
        only = args[0] if len(args) == 1 else None
        name, inner = _call_parts(only)
        if name == "torch.Size" and len(inner) == 1:
            only = inner[0]
        if type(only) in (tuple, list):
            count = _shape(only)
        elif args and all(_int(a) is not None for a in args):
            count = _shape(args)
        else:
            count = None
        return None if count is None else count * per_item
    return estimate


def _storage(per_item: int) -> Callable[[tuple[Any, ...], dict[Any, Any]], int | None]:
    def estimate(args: tuple[Any, ...], kwargs: dict[Any, Any]) -> int | None:
        size = _int(args[0]) if args else None
        return None if size is None else max(size, 0) * per_item
    return estimate


def _sparse_rows(per_row: int, axis: int) -> Callable[[tuple[Any, ...], dict[Any, Any]], int | None]:
    """``lil_matrix((M, N))`` keeps a list per row, ``csr_matrix((M, N))`` an index pointer per row (csc: per
    column): a shape-only call allocates per row, not per element."""
    def estimate(args: tuple[Any, ...], kwargs: dict[Any, Any]) -> int | None:
        shape = args[0] if args else None
        if type(shape) is not tuple or len(shape) != 2:
            return None
        size = _int(shape[axis])
        return None if size is None or _int(shape[1 - axis]) is None else max(size, 0) * per_row
    return estimate


def _int_conversion(args: tuple[Any, ...], kwargs: dict[Any, Any]) -> int | None:
    """``int(decimal.Decimal("1e300000000"))``: the conversion computes 10**exponent (minutes of CPU for a 30-byte
    pickle: red team R13-2). Above Python's own limit on the digits int() makes of text (4300) the int is refused
    as too big (``_HUGE``); below it, its bytes."""
    exponent = _decimal_exponent(args[0]) if len(args) == 1 else None
    if exponent is None or exponent <= 0:
        return None
    return _HUGE if exponent > _MAX_DIGITS else exponent // 2 + 1


def _names(prefixes: tuple[str, ...], names: tuple[str, ...],
           estimate: Callable[[tuple[Any, ...], dict[Any, Any]], int | None],
           ) -> dict[str, Callable[[tuple[Any, ...], dict[Any, Any]], int | None]]:
    return {f"{prefix}.{name}": estimate for prefix in prefixes for name in names}


#: torch's typed storages and legacy tensor types by element size
_TORCH_ITEM = {1: ("Byte", "Char", "Bool", "QInt8", "QUInt8", "QUInt4x2", "QUInt2x4"), 2: ("Half", "BFloat16", "Short"),
               4: ("Float", "Int", "QInt32"), 8: ("Double", "Long", "ComplexFloat"), 16: ("ComplexDouble",)}
_NUMERIC = ("numpy", "numpy._core.numeric", "numpy.core.numeric", "numpy._core.multiarray", "numpy.core.multiarray",
            "numpy.matlib")
_TWODIM = ("numpy", "numpy.lib._twodim_base_impl", "numpy.lib.twodim_base", "numpy._core.numeric",
           "numpy.core.numeric")
#: constructors that iterate their first argument into a container (also read by ``_plain_function``)
_CONSUMERS: dict[str, Callable[[tuple[Any, ...], dict[Any, Any]], int | None]] = {
    "builtins.bytearray": _consumed(0, 1, sized=True),
    "builtins.bytes": _consumed(0, 1, sized=True),
    **_names(("builtins",), ("list", "tuple", "sorted"), _consumed(0, _PY_ITEM)),
    **_names(("builtins",), ("set", "frozenset", "dict"), _consumed(0, _SET_ITEM)),
    **_names(("collections",), ("deque", "UserList", "Counter", "OrderedDict", "UserDict"), _consumed(0, _SET_ITEM)),
    "array.array": _consumed(1, _NUMPY_ITEM),
    **_names(("numpy", "numpy._core.multiarray", "numpy.core.multiarray"), ("array", "asarray", "fromiter"),
             _consumed(0, _NUMPY_ITEM)),
}
_ESTIMATES: dict[str, Callable[[tuple[Any, ...], dict[Any, Any]], int | None]] = {
    **_CONSUMERS,
    **_names(_NUMERIC, ("ones", "zeros", "empty"), _numpy_shape(0, 1)),
    **_names(_NUMERIC, ("full",), _numpy_shape(0, 2)),
    **_names(("numpy", "numpy._core.multiarray", "numpy.core.multiarray", "numpy._core.records",
              "numpy.core.records", "numpy.char", "numpy._core.defchararray", "numpy.core.defchararray",
              "numpy.matrixlib.defmatrix"), ("ndarray", "recarray", "chararray"), _numpy_shape(0, 1)),
    **_names(("numpy._core.multiarray", "numpy.core.multiarray", "numpy._core._multiarray_umath",
              "numpy.core._multiarray_umath"), ("_reconstruct",), _numpy_shape(1, 2)),
    **_names((*_TWODIM, "numpy.matlib"), ("eye", "tri"), _square("N", 1, 3)),
    **_names((*_TWODIM, "numpy.matlib"), ("identity",), _square("n", None, 1)),
    "numpy.matlib.eye": _square("n", 1, 3),
    **_names(("numpy.matlib", "numpy.lib._shape_base_impl"), ("repmat",), _repmat),
    "numpy.ma.core._mareconstruct": _masked(2, 3),  # (subtype, baseclass, baseshape, basetype): data and mask
    **_names(("numpy", "numpy._core.numeric", "numpy.core.numeric"), ("binary_repr",), _text_width(1, "width")),
    **_names(("numpy", "numpy._core.numeric", "numpy.core.numeric"), ("base_repr",), _text_width(2, "padding")),
    **_names(("numpy", "numpy._core.numerictypes"), ("void",), _storage(1)),  # numpy.void(n): n zero bytes
    **_names(("numpy", "numpy._core.numeric", "numpy.core.numeric"), ("indices",), _indices),
    **_names(("numpy", "numpy._core.function_base", "numpy.core.function_base"), ("linspace",), _linspace),
    **_names(("numpy", "numpy._core.multiarray", "numpy.core.multiarray"), ("arange",), _arange),
    **_names(("numpy.matlib",), ("rand", "randn"), _product(_NUMPY_ITEM)),
    **_names(("torch",), ("Tensor",), _product(4)),
    **{f"torch.{kind}Tensor": _product(size) for size, kinds in _TORCH_ITEM.items() for kind in kinds},
    **{f"{module}.{kind}Storage": _storage(size) for size, kinds in _TORCH_ITEM.items() for kind in kinds
       for module in ("torch", "torch.storage")},
    **_names(("torch", "torch.storage"), ("UntypedStorage",), _storage(1)),
    **_names(("torch", "torch.storage"), ("TypedStorage", "Storage", "_LegacyStorage"), _storage(16)),
    **_names(("scipy.sparse", "scipy.sparse._lil"), ("lil_matrix", "lil_array"), _sparse_rows(128, 0)),
    **_names(("scipy.sparse", "scipy.sparse._csr"), ("csr_matrix", "csr_array"), _sparse_rows(8, 0)),
    **_names(("scipy.sparse", "scipy.sparse._csc"), ("csc_matrix", "csc_array"), _sparse_rows(8, 1)),
    **_names(("scipy.sparse", "scipy.sparse._construct"), ("identity", "eye"), _storage(24)),
    **dict.fromkeys(_INT_MAKERS, _int_conversion),
}


def requested_bytes(name: str, args: tuple[Any, ...], kwargs: Any) -> int | None:
    """The bytes calling ``name(*args, **kwargs)`` allocates, estimated from literal arguments; None when ``name``
    is not a sized allocator or a size is only known at load time. A lazy iterable (``_iterated``) handed to any
    other callable counts as consumed (the callee may iterate it: fail closed)."""
    estimate: Callable[[tuple[Any, ...], dict[Any, Any]], int | None] | None = _ESTIMATES.get(name)
    try:
        if estimate is not None:
            return estimate(args, dict(kwargs) if type(kwargs) is dict else {})
        if name in _LAZY:
            return None
        given = [*args, *(kwargs.values() if type(kwargs) is dict else ())]
        iterated = [found for found in map(_iterated, given) if found is not None]
        return max((items * (_PY_ITEM + extra) for items, extra in iterated), default=None)
    except (TypeError, ValueError, OverflowError):
        return None


def state_bytes(state: Any) -> int | None:
    """The bytes ``ndarray.__setstate__`` allocates for BUILD state shaped as numpy writes it,
    ``(version, shape, dtype, is_fortran, data)`` (or the 4-tuple without version), when ``data`` is not the raw
    bytes of the array: an object array's list (red team R13-3: numpy allocates the whole shape, 8 bytes an
    element, before it compares the list's length with it). Raw bytes must match the shape's size (numpy raises
    otherwise), so the file carries them. None for any other state."""
    if type(state) is not tuple or len(state) not in (4, 5):
        return None
    shape, dtype, fortran, data = state[-4:]
    if type(shape) is not tuple or type(fortran) is not bool or type(data) in (bytes, bytearray) \
            or _raw_bytes(data) is not None or type(data) is BigBytes:
        return None
    count = _shape(shape)
    return None if count is None else count * max(_NUMPY_ITEM, _dtype_size(dtype))
