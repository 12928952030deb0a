"""Hash-collision floods (red team R12-2): distinct dict keys and set items that share the hash the load computes.

CPython hashes an int by its residue modulo ``M = 2**61 - 1`` (no salt), a float or a ``Fraction`` by the same
residue of the rational it is, a tuple and a frozenset by a fixed mix of their items' hashes. A file can write k
distinct keys with one hash (``5``, ``5 + M``, ``5 + 2*M``, ...; tuples ``(a, b)`` solved for one tuple hash), and a
dict or set of them costs k**2 / 2 equality tests to build at load: minutes for 60 000 int keys, and each test is
Python code for ``Fraction``, ``uuid.UUID`` or sympy keys. The machine counts, per stream, the distinct keys per
load hash that a file can make collide (:class:`CollisionCounter`), before it inserts them into its own model of
the container, and refuses the stream (SL020) once more than ``limits.max_key_collisions`` share one hash.

Not counted, because a file cannot make them collide: ``str`` and ``bytes`` (SipHash keyed with the loading
process's random seed: colliding full 64-bit hashes cannot be written without it -- and the scanner's own seed is
another, so counting them here would only count chance), ints with ``abs(n) < M`` (their hash is the int itself:
distinct ones never share one, bar ``-1`` and ``-2`` which both hash to ``-2``; a bucket may thus hold up to two
uncounted small ints besides the ones counted), ``bool`` and ``None``, and objects of classes whose hash the file
does not choose (hashed by identity). A tuple holding a str is counted under the scanner's hash of that str: equal
str items hash alike in both processes, so tuples that differ only in colliding numbers are caught; tuples that
differ in their str items collide at load only if the file knew the loader's seed (``PYTHONHASHSEED`` fixed).

Objects of classes whose hash is the numbers the file gives are counted under the hash the load computes, derived
from their arguments (:func:`call_hash`): ``fractions.Fraction`` and ``decimal.Decimal`` (the rational's hash),
``uuid.UUID`` (``hash(self.int)``), ``complex``, numpy scalars (``numpy.core.multiarray.scalar(dtype, raw)``: the
Python number they equal),
``int(*args)`` of an int, a float or a str/bytes with an int base (the int it makes: red team R14-1),
sympy's ``Integer`` (``hash(p)``) and ``Rational``; tuples holding them by CPython's
tuple hash of their derived hashes. Where that cannot be derived (arguments computed at load; sympy expressions,
which hash their evaluated arguments), every such object counts against its class: more than
``16 * max_key_collisions`` of one class per stream is refused the same way, and so are ints too large for the
machine to read (more than 32768 bits: an opaque value to it; colliding ones compare digit by digit). Residual:
a frozenset holding such objects is counted by the scanner's hash of it (objects by identity).

Security invariants:
- nothing is called but ``hash()`` of inert values (ints, floats, and tuples or frozensets of them and of engine
  records, which hash by identity) and integer arithmetic on numbers the file wrote (bounded in size by the
  machine: huge ints stay opaque);
- counting costs O(bound) per key: a bucket never holds more than the bound before the stream is refused, so the
  counter itself never pays the k**2 it guards against, and the machine's own dicts and sets never receive more
  than the bound of colliding keys either.
"""

from __future__ import annotations

import math
import struct

from safeload._context import LimitExceeded
from safeload.engine.values import Call, Opaque

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["MODULUS", "CollisionCounter", "call_hash", "tuple_hash"]

MODULUS = (1 << 61) - 1          # sys.hash_info.modulus on 64-bit CPython
_INF_HASH = 314159               # sys.hash_info.inf
_MASK = (1 << 64) - 1
_XXPRIME_1 = 11400714785074694791
_XXPRIME_2 = 14029467366897019727
_XXPRIME_5 = 2870177450012600261
_OPAQUE_FACTOR = 16              # objects of one numeric-hash class whose hash cannot be derived: 16 x the bound
# Classes whose hash is computed from numbers the file gives: an object of one whose hash cannot be derived counts
# against its class. sympy's expressions hash (type name, *args) in Python (Basic.__hash__): Add(x, Integer(5 + i*M))
# collide for every i, and their arguments are evaluated at load, so their hash is never derived here. Symbol is
# not listed: it hashes its name (a str, seeded per process).
_FILE_HASHED_CLASSES = frozenset({
    "fractions.Fraction", "uuid.UUID", "decimal.Decimal", "builtins.complex", "numpy.core.multiarray.scalar",
    "numpy._core.multiarray.scalar", "sympy.core.numbers.Integer", "sympy.core.numbers.Rational",
    "sympy.core.add.Add", "sympy.core.mul.Mul", "sympy.core.power.Pow", "sympy.core.relational.Equality",
    "sympy.functions.elementary.trigonometric.sin", "sympy.functions.elementary.exponential.exp", "builtins.int"})
# numpy scalar type codes (numpy.dtype's first argument) -> struct format of one value
_NUMPY_FORMATS = {"f2": "e", "f4": "f", "f8": "d", "c8": "ff", "c16": "dd", "i1": "b", "i2": "h", "i4": "i",
                  "i8": "q", "u1": "B", "u2": "H", "u4": "I", "u8": "Q", "b1": "?"}
_DECIMAL_TEXT: Any = None  # compiled on first use


def _to_signed(acc: int) -> int:
    return acc - (1 << 64) if acc >> 63 else acc


def tuple_hash(hashes: list[int]) -> int:
    """CPython's ``tuplehash`` (xxHash-based, 64-bit) of a tuple whose items hash to ``hashes``."""
    acc = _XXPRIME_5
    for lane in hashes:
        acc = (acc + (lane & _MASK) * _XXPRIME_2) & _MASK
        acc = ((acc << 31) | (acc >> 33)) & _MASK
        acc = (acc * _XXPRIME_1) & _MASK
    acc = (acc + (len(hashes) ^ (_XXPRIME_5 ^ 3527539))) & _MASK
    return 1546275796 if acc == _MASK else _to_signed(acc)


def _rational_hash(num: int, den: int) -> int:
    """``hash(Fraction(num, den))`` for a normalised fraction (``den > 0``), as ``numbers`` documents it."""
    inverse = pow(den, MODULUS - 2, MODULUS)
    value = _INF_HASH if inverse == 0 else (abs(num) % MODULUS) * inverse % MODULUS
    value = value if num >= 0 else -value
    return -2 if value == -1 else value


def _normalised(num: Any, den: Any) -> tuple[int, int] | None:
    if type(num) is not int or type(den) is not int or den == 0:
        return None
    if den < 0:
        num, den = -num, -den
    g = math.gcd(num, den)
    return num // g, den // g


def _fraction(args: Any) -> tuple[int, int] | None:
    """The (numerator, denominator) ``Fraction(*args)`` makes, when its arguments are plain ints or an int string."""
    if type(args) is not tuple or not 1 <= len(args) <= 2:
        return None
    if len(args) == 2:
        return _normalised(args[0], args[1])
    value = args[0]
    if type(value) is int:
        return value, 1
    if type(value) is str and len(value) <= 4096:
        text = value.strip()
        num, _, den = text.partition("/")
        if _is_int_text(num) and (not den or _is_int_text(den)):
            return _normalised(int(num), int(den) if den else 1)
    return None


def _is_int_text(text: str) -> bool:
    digits = text[1:] if text[:1] in ("+", "-") else text
    return digits.isascii() and digits.isdigit()


def _uuid_int(key: Call, args: tuple[Any, ...]) -> int | None:
    """``self.int`` of a ``uuid.UUID`` the load builds: BUILD state ``{'int': n}`` (how UUIDs pickle), else
    ``int=n`` or a hex string given to the constructor without ``version``."""
    state = key.state
    if type(state) is dict:
        value = state.get("int")
        return value if type(value) is int else None
    kwargs = key.kwargs if type(key.kwargs) is dict else {}
    if kwargs.get("version") is not None or len(args) > 5:
        return None
    if type(kwargs.get("int")) is int and not args:
        found: int = kwargs["int"]
        return found
    if len(args) == 5 and args[:4] == (None, None, None, None) and type(args[4]) is int:
        return args[4]
    if len(args) == 1 and type(args[0]) is str and not kwargs:
        text = args[0].replace("urn:", "").replace("uuid:", "").strip("{}").replace("-", "")
        if len(text) == 32 and all(c in "0123456789abcdefABCDEF" for c in text):
            return int(text, 16)
    return None


def _decimal(args: tuple[Any, ...]) -> tuple[tuple[Any, ...], int] | None:
    """(the value as (coefficient, exponent) without trailing zeros, its hash) of ``decimal.Decimal(*args)`` for an
    int or a plain decimal string (how Decimals pickle: ``Decimal(str(self))``); None for anything else (NaN,
    infinities, tuples, contexts)."""
    global _DECIMAL_TEXT  # noqa: PLW0603 - the lazily compiled pattern
    if len(args) != 1:
        return None
    value = args[0]
    if type(value) is int:
        return ("decimal", value, 0), hash(value)
    if type(value) is not str or len(value) > 4096:
        return None
    if _DECIMAL_TEXT is None:
        import re

        _DECIMAL_TEXT = re.compile(r"\s*([+-]?)([0-9]*)(?:\.([0-9]*))?(?:[eE]([+-]?[0-9]{1,18}))?\s*")
    match = _DECIMAL_TEXT.fullmatch(value)
    if match is None or not (match.group(2) or match.group(3)):
        return None
    sign, whole, fraction, exponent = match.groups()
    text = (whole + (fraction or "")).lstrip("0")
    stripped = text.rstrip("0")
    shift = int(exponent or "0") - len(fraction or "") + len(text) - len(stripped)
    digits = int(stripped or "0")
    digits = -digits if sign == "-" else digits
    if not digits:
        return ("decimal", 0, 0), 0
    # the hash needs the value modulo M only: 10**shift is reduced, never built
    if shift >= 0:
        return ("decimal", digits, shift), _rational_hash(digits * pow(10, shift, MODULUS), 1)
    return ("decimal", digits, shift), _rational_hash(digits, pow(10, -shift, MODULUS))


def _numpy_scalar(args: tuple[Any, ...]) -> Any:
    """The Python value ``numpy.core.multiarray.scalar(dtype, raw)`` stands for (numpy scalars hash as it does),
    for a dtype made by ``numpy.dtype(code, ...)`` of a plain numeric code; None otherwise."""
    if len(args) != 2 or type(args[0]) is not Call or args[0].func_name != "numpy.dtype":
        return None
    dtype, raw = args
    code = dtype.args[0] if type(dtype.args) is tuple and dtype.args else None
    fmt = _NUMPY_FORMATS.get(code) if type(code) is str else None
    if fmt is None or type(raw) is not bytes:
        return None
    order = dtype.state[1] if type(dtype.state) is tuple and len(dtype.state) > 1 else "="
    if order not in ("<", ">", "|", "="):
        return None
    try:
        values = struct.unpack(("<" if order in ("|", "=") else order) + fmt, raw)
    except struct.error:
        return None
    return complex(*values) if len(values) == 2 else values[0]


def _int(args: tuple[Any, ...]) -> int | None:
    """The int ``int(*args)`` makes at load (red team R14-1: ``int("5" + ...)`` keys collide as the int literals do)
    for an int, a finite float, or a str/bytes of at most 4096 characters with an int base; None otherwise (the load
    raises, or the value is computed at load)."""
    if not 1 <= len(args) <= 2:
        return None
    value, base = args[0], args[1] if len(args) == 2 else None
    try:
        if base is None and type(value) in (int, float):
            return int(value)
        if type(value) in (str, bytes) and len(value) <= 4096 and type(base if base is not None else 10) is int:
            return int(value, 10 if base is None else base)
    except (ValueError, OverflowError):
        return None
    return None


def _complex(args: tuple[Any, ...]) -> complex | None:
    if not 1 <= len(args) <= 2 or not all(type(a) in (int, float) for a in args):
        return None
    try:
        return complex(*args)
    except OverflowError:  # the load raises too
        return None


def call_hash(key: Call) -> tuple[Any, int] | None:
    """(what the key equals, for counting distinct keys; the hash the load computes) for an object of a class whose
    hash is the numbers the file gives, when its arguments are plain; None when it cannot be derived."""
    owner = key.owner.full if key.owner is not None else None
    args = key.args if type(key.args) is tuple else None
    if args is None or owner is None:
        return None
    if key.func_name == "copyreg.__newobj__":
        args = args[1:]
    elif key.func_name != owner:
        return None
    if owner == "fractions.Fraction":
        if key.kwargs is not None or key.state is not None:
            return None
        pair = _fraction(args)
        return None if pair is None else (("fraction", *pair), _rational_hash(*pair))
    if owner == "uuid.UUID":
        number = _uuid_int(key, args)
        return None if number is None else (("uuid", number), hash(number))
    if owner == "decimal.Decimal" and key.kwargs is None and key.state is None:
        return _decimal(args)
    if owner == "builtins.int" and key.kwargs is None and key.state is None:
        number = _int(args)
        return None if number is None else (number, hash(number))
    if owner == "builtins.complex" and key.kwargs is None:
        value = _complex(args)
        return None if value is None else (value, hash(value))
    if owner in ("numpy.core.multiarray.scalar", "numpy._core.multiarray.scalar") and key.kwargs is None:
        value = _numpy_scalar(args)
        return None if value is None else (value, hash(value))
    if owner in ("sympy.core.numbers.Integer", "sympy.core.numbers.Rational") and key.kwargs is None:
        pair = _normalised(args[0], args[1] if len(args) == 2 else 1) if 1 <= len(args) <= 2 else None
        if pair is None:
            return None
        num, den = pair
        if den == 1:  # Rational(p, 1) is Integer(p): hash(p)
            return ("sympy", num, 1), hash(num)
        name = "Half" if (num, den) == (1, 2) else "Rational"  # Basic.__hash__: (type name, p, q)
        return ("sympy", num, den), hash((name, num, den))
    return None


class CollisionCounter:
    """Distinct keys per load hash in one stream; raises ``LimitExceeded("SL020")`` past the bound."""

    __slots__ = ("bound", "buckets", "opaque")

    def __init__(self, bound: int) -> None:
        self.bound = bound
        self.buckets: dict[int, Any] = {}   # hash -> the first key counted, or a _Bucket of the distinct ones
        self.opaque: dict[str, int] = {}    # class -> objects of it whose hash could not be derived

    def add(self, keys: Any, how: str) -> None:
        buckets = self.buckets
        for key in keys:
            kind = type(key)
            if kind is int:
                if -MODULUS < key < MODULUS:
                    continue
                value = hash(key)
            elif kind is float:
                value = hash(key)
            elif kind is tuple or kind is frozenset:
                if kind is tuple and (Call in map(type, key) or tuple in map(type, key)):
                    found = _tuple_load_hash(key, 0)
                else:
                    try:
                        found = hash(key)
                    except TypeError:  # unhashable: the machine's insertion raises as the load does
                        continue
                if found is None:
                    continue
                value = found
            elif kind is Call:
                derived = call_hash(key)
                if derived is None:
                    if key.owner is not None and key.owner.full in _FILE_HASHED_CLASSES:
                        self._count_opaque(key.owner.full, how)
                    continue
                ident, value = derived
                entry = buckets.setdefault(value, ident)
                if entry is not ident:
                    self._count(entry, ident, value, how)
                continue
            elif kind is Opaque and key.what == "huge int":  # an int of more than 32768 bits: value left unread
                self._count_opaque("int of more than 32768 bits", how)
                continue
            else:
                continue
            entry = buckets.setdefault(value, key)  # the first key on this hash: one C call
            if entry is not key:
                self._count(entry, key, value, how)

    def _count(self, entry: Any, ident: Any, value: int, how: str) -> None:
        """``ident`` hashes to ``value``, whose bucket holds ``entry`` (a first key, or a _Bucket)."""
        if type(entry) is _Bucket:
            if ident in entry:
                return
            entry.append(ident)
            if len(entry) > self.bound:
                raise LimitExceeded("SL020", f"more than {self.bound} distinct keys share one hash at load "
                                    f"({how}, e.g. {_shown(entry[0])} and {_shown(entry[-1])}): building the dict "
                                    "or set costs k**2/2 comparisons (a hash-collision flood)")
            return
        if entry == ident:
            return
        self.buckets[value] = _Bucket((entry, ident))

    def _count_opaque(self, owner: str, how: str) -> None:
        count = self.opaque.get(owner, 0) + 1
        self.opaque[owner] = count
        if count > self.bound * _OPAQUE_FACTOR:
            raise LimitExceeded("SL020", f"more than {self.bound * _OPAQUE_FACTOR} {owner} objects whose hash is "
                                f"computed at load are hashed ({how}): their hashes may collide, and each comparison "
                                "is Python code (a hash-collision flood)")


def _tuple_load_hash(key: tuple[Any, ...], depth: int) -> int | None:
    """The load's hash of a tuple holding objects of numeric-hash classes (by their derived hash) or tuples of them,
    at any depth up to 64 (deeper items hash as the scanner's values: objects by identity); None if unhashable."""
    lanes = []
    try:
        for item in key:
            kind = type(item)
            if kind is Call:
                derived = call_hash(item)
                lanes.append(derived[1] if derived is not None else hash(item))
            elif kind is tuple and depth < 64:
                inner = _tuple_load_hash(item, depth + 1)
                if inner is None:
                    return None
                lanes.append(inner)
            else:
                lanes.append(hash(item))
    except TypeError:  # unhashable: the machine's insertion raises as the load does
        return None
    return tuple_hash(lanes)


class _Bucket(list):  # type: ignore[type-arg]
    """Distinct keys sharing one hash (a list subclass: a key itself may be a list-free tuple, never a _Bucket)."""

    __slots__ = ()


_MISSING: Any = object()


def _shown(ident: Any) -> str:
    text = repr(ident)
    return text if len(text) <= 40 else text[:37] + "..."
