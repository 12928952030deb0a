"""How much memory an allowed constructor allocates, from the arguments the file gives it (red team R12-5).

``numpy.ones((100000, 100000))`` is a 32-byte pickle that asks for 74.5 GiB; ``bytearray(1 << 36)`` and
``list(range(1 << 34))`` likewise allocate what one int of the file says. These callables are admitted (they build
data), so the size is the only thing to check. ``requested_bytes`` estimates the bytes a call allocates from the
arguments the engine sees (ints, tuples of ints, ``range`` calls with int arguments, literal dtype strings); an
argument only known at load time gives no estimate (``None``), and the existing rules decide about that value.

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

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

__all__ = ["FIXED_CAP", "STREAM_FACTOR", "allocation_bound", "requested_bytes"]

FIXED_CAP = 1 << 30          # default ``Limits.max_allocation_bytes``: what any file may ask for, whatever its size
STREAM_FACTOR = 16           # ... plus this many times the stream's size
_NUMPY_ITEM = 8              # a float64 element: numpy's default dtype
_PY_ITEM = 36                # a list slot (8) and a small int object (28), rounded down
_SET_ITEM = 72               # a set/frozenset entry: hash table slot and the object
_DTYPE_TEXT = re.compile(r"[<>=|]?([A-Za-z_]*?)(\d+)")
_BIT_NAMES = ("int", "uint", "float", "complex", "bool", "str", "bytes", "void", "datetime", "timedelta")


def allocation_bound(stream_size: int, fixed_cap: int = FIXED_CAP) -> int:
    """The most bytes the allocator calls of a stream of ``stream_size`` bytes may ask for (each and together)."""
    return fixed_cap + STREAM_FACTOR * max(stream_size, 0)


_INT_MAKERS = frozenset({"builtins.int", *(f"numpy.{kind}" for kind in (
    "int8 int16 int32 int64 uint8 uint16 uint32 uint64 intp uintp int_ uint longlong ulonglong".split()))})
_NUMPY_SCALAR = frozenset({"numpy._core.multiarray.scalar", "numpy.core.multiarray.scalar"})


def _int(value: Any) -> int | None:
    """An int the load will compute from literals: a plain int, ``int("100000")`` (or a numpy integer type called
    on a literal), a numpy scalar pickled as ``scalar(dtype, raw)`` (its raw bytes read in the byte order that gives
    the larger number: the estimate errs high)."""
    kind = type(value)
    if kind is int or kind is bool:
        return int(value)
    name = getattr(getattr(value, "func", None), "full", None)
    args = getattr(value, "args", None)
    if name is None or type(args) is not tuple or not args:
        return None
    if name in _INT_MAKERS and len(args) <= 2 and type(args[0]) in (int, float, str, bytes) \
            and (len(args) == 1 or type(args[1]) is int):
        if type(args[0]) in (str, bytes) and len(args[0]) > 5000:
            return None
        try:
            return int(*args)
        except (TypeError, ValueError, OverflowError):
            return None
    if name in _NUMPY_SCALAR and len(args) == 2 and type(args[1]) is bytes and 0 < len(args[1]) <= 16:
        return max(int.from_bytes(args[1], "little", signed=True), int.from_bytes(args[1], "big", signed=True))
    return None


def _shape(value: Any) -> int | None:
    """Element count of a numpy shape: an int or a tuple/list of ints (None when any part is unknown)."""
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


def _strings(value: Any, depth: int = 0) -> list[str]:
    if type(value) is str:
        return [value]
    if type(value) is bytes:
        return [value.decode("latin-1")]
    if depth > 4:
        return []
    items: Any = ()
    if type(value) in (tuple, list):
        items = value
    elif type(value) is dict:
        items = list(value.values())
    elif hasattr(value, "func") and hasattr(value, "args"):  # a Call (numpy.dtype("V100000")): its arguments
        items = value.args if type(value.args) is tuple else ()
    out: list[str] = []
    for item in items:
        out.extend(_strings(item, depth + 1))
    return out


def _text_itemsize(text: str) -> int:
    match = _DTYPE_TEXT.fullmatch(text.strip())
    if match is None:
        return 0
    kind, digits = match.group(1), int(match.group(2))
    if kind.lower().rstrip("_") in _BIT_NAMES and digits >= 8:  # float64, int32, complex128: bits
        return digits // 8
    return digits * 4 if kind == "U" else digits  # S100, V100000, f8: bytes; U10: UCS-4 characters


def _itemsize(dtype: Any) -> int:
    """Bytes per element of a numpy dtype argument: the sum of the sizes its literal strings name (a structured
    dtype's fields), at least numpy's default 8."""
    if dtype is None:
        return _NUMPY_ITEM
    return max(_NUMPY_ITEM, sum(_text_itemsize(text) for text in _strings(dtype)))


def _arg(args: tuple[Any, ...], kwargs: dict[Any, Any], index: int, name: str, default: Any = None) -> Any:
    if len(args) > index:
        return args[index]
    return kwargs.get(name, default)


def _range_length(value: Any) -> int | None:
    """len(range(...)) when ``value`` is a ``builtins.range`` call with int arguments."""
    func = getattr(value, "func", None)
    if getattr(func, "full", None) != "builtins.range" or type(value.args) is not tuple:
        return None
    given = [_int(p) for p in value.args]
    parts = [p for p in given if p is not None]
    if not 1 <= len(parts) == len(given) <= 3:
        return None
    try:
        return len(range(*parts))
    except (ValueError, OverflowError):  # step 0 raises; a length beyond sys.maxsize is certainly too much
        return None if len(parts) == 3 and parts[2] == 0 else 1 << 63


def _numpy_shape(shape_at: int, dtype_at: int) -> Callable[[tuple[Any, ...], dict[Any, Any]], int | None]:
    def estimate(args: tuple[Any, ...], kwargs: dict[Any, Any]) -> int | None:
        count = _shape(_arg(args, kwargs, shape_at, "shape"))
        return None if count is None else count * _itemsize(_arg(args, kwargs, dtype_at, "dtype"))
    return estimate


def _square(args: tuple[Any, ...], kwargs: dict[Any, Any]) -> int | None:  # eye(N, M), tri(N, M), identity(n)
    n = _int(_arg(args, kwargs, 0, "N", _arg(args, kwargs, 0, "n")))
    m = _arg(args, kwargs, 1, "M")
    m = n if m is None else _int(m)
    return None if n is None or m is None else max(n, 0) * max(m, 0) * _NUMPY_ITEM


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
        return 1 << 63


def _sized(per_item: int) -> Callable[[tuple[Any, ...], dict[Any, Any]], int | None]:
    """``bytearray(n)``/``bytes(n)`` (an int size), or any container of ``range(n)``."""
    def estimate(args: tuple[Any, ...], kwargs: dict[Any, Any]) -> int | None:
        if not args:
            return None
        size = _int(args[0]) if per_item == 1 else None
        if size is not None:
            return max(size, 0)
        length = _range_length(args[0])
        return None if length is None else length * per_item
    return estimate


def _from_range(index: int, per_item: int) -> Callable[[tuple[Any, ...], dict[Any, Any]], int | None]:
    def estimate(args: tuple[Any, ...], kwargs: dict[Any, Any]) -> int | None:
        length = _range_length(args[index]) if len(args) > index else None
        return None if length is None else length * per_item
    return estimate


def _product(per_item: int) -> Callable[[tuple[Any, ...], dict[Any, Any]], int | None]:
    """``torch.Tensor(d0, d1, ...)``/``numpy.matlib.rand(d0, d1)``: every positional int is a dimension (a tuple
    as the only argument is the shape)."""
    def estimate(args: tuple[Any, ...], kwargs: dict[Any, Any]) -> int | None:
        if len(args) == 1 and type(args[0]) in (tuple, list):
            count = _shape(args[0])
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


def _names(prefixes: tuple[str, ...], names: tuple[str, ...],
           estimate: Callable[[tuple[Any, ...], dict[Any, Any]], int | None],
           ) -> dict[str, Callable[[tuple[Any, ...], dict[Any, Any]], int | None]]:
    return {f"{prefix}.{name}": estimate for prefix in prefixes for name in names}


_NUMERIC = ("numpy", "numpy._core.numeric", "numpy.core.numeric", "numpy._core.multiarray", "numpy.core.multiarray",
            "numpy.matlib")
_ESTIMATES: dict[str, Callable[[tuple[Any, ...], dict[Any, Any]], int | None]] = {
    **_names(_NUMERIC, ("ones", "zeros", "empty"), _numpy_shape(0, 1)),
    **_names(_NUMERIC, ("full",), _numpy_shape(0, 2)),
    **_names(("numpy", "numpy._core.multiarray", "numpy.core.multiarray", "numpy._core.records",
              "numpy.core.records", "numpy.char", "numpy._core.defchararray", "numpy.core.defchararray",
              "numpy.matrixlib.defmatrix"), ("ndarray", "recarray", "chararray"), _numpy_shape(0, 1)),
    **_names(("numpy._core.multiarray", "numpy.core.multiarray", "numpy._core._multiarray_umath",
              "numpy.core._multiarray_umath"), ("_reconstruct",), _numpy_shape(1, 2)),
    **_names(("numpy", "numpy.matlib", "numpy.lib._twodim_base_impl", "numpy.lib.twodim_base", "numpy._core.numeric",
              "numpy.core.numeric"), ("eye", "identity", "tri"), _square),
    **_names(("numpy", "numpy._core.numeric", "numpy.core.numeric"), ("indices",), _indices),
    **_names(("numpy", "numpy._core.function_base", "numpy.core.function_base"), ("linspace",), _linspace),
    **_names(("numpy", "numpy._core.multiarray", "numpy.core.multiarray"), ("arange",), _arange),
    **_names(("numpy.matlib",), ("rand", "randn"), _product(_NUMPY_ITEM)),
    **_names(("numpy", "numpy._core.multiarray", "numpy.core.multiarray"), ("array", "asarray"),
             _from_range(0, _NUMPY_ITEM)),
    "builtins.bytearray": _sized(1),
    "builtins.bytes": _sized(1),
    **_names(("builtins",), ("list", "tuple"), _sized(_PY_ITEM)),
    **_names(("builtins",), ("set", "frozenset"), _sized(_SET_ITEM)),
    **_names(("collections",), ("deque", "UserList", "Counter"), _sized(_SET_ITEM)),
    "array.array": _from_range(1, _NUMPY_ITEM),
    **_names(("torch",), ("Tensor", "FloatTensor"), _product(4)),
    **_names(("torch", "torch.storage"), ("UntypedStorage", "ByteStorage"), _storage(1)),
    **_names(("torch", "torch.storage"), ("FloatStorage", "IntStorage"), _storage(4)),
    **_names(("torch", "torch.storage"), ("DoubleStorage", "LongStorage"), _storage(8)),
    **_names(("scipy.sparse", "scipy.sparse._lil"), ("lil_matrix", "lil_array"), _sparse_rows(128, 0)),
    **_names(("scipy.sparse", "scipy.sparse._csr"), ("csr_matrix", "csr_array"), _sparse_rows(8, 0)),
    **_names(("scipy.sparse", "scipy.sparse._csc"), ("csc_matrix", "csc_array"), _sparse_rows(8, 1)),
    **_names(("scipy.sparse", "scipy.sparse._construct"), ("identity", "eye"), _storage(24)),
}


def requested_bytes(name: str, args: tuple[Any, ...], kwargs: Any) -> int | None:
    """The bytes calling ``name(*args, **kwargs)`` allocates, estimated from literal arguments; None when ``name``
    is not a sized allocator or a size is only known at load time."""
    estimate: Callable[[tuple[Any, ...], dict[Any, Any]], int | None] | None = _ESTIMATES.get(name)
    if estimate is None:
        return None
    try:
        return estimate(args, dict(kwargs) if type(kwargs) is dict else {})
    except (TypeError, ValueError, OverflowError):
        return None
