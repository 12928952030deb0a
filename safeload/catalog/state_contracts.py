"""BUILD state and argument contracts: the states a ``__setstate__``, and the arguments a ``__new__`` or a
function called by REDUCE, reviewed under a condition is admitted with.

Policy data, checked at scan time by the engine (``engine/semantics.py``). For an entry whose ``build_state`` names
a contract, the contract gets the pickled dict state (literal string keys: the engine refuses computed keys first)
and the data recorded at catalogue-generation time, and returns why the state is refused, or ``None``. For an
entry whose ``arguments`` names a contract (``argument_refusal``), the contract gets the positional and keyword
arguments a NEWOBJ/NEWOBJ_EX gives the class (or, for a contract whose ``argument_use`` is ``"call"``, a REDUCE
gives the function) and a way to ask which of them are objects made by instantiations the same contract admitted
in this stream (their provenance, not their class: an object of the right class made any other way is refused);
it may hand back the objects made earlier whose state it read, which the engine then holds to that state.

Invariant: the check reads the state's decoded values only; it never imports, compiles or runs anything (the
state's text is compared with a rendering of the recorded template, never parsed as code).
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Callable
from typing import Any, Protocol

__all__ = ["Admitted", "argument_declared", "argument_recheck", "argument_rechecked", "argument_refusal",
           "argument_use", "refusal"]

_IDENTIFIER = re.compile(r"[_a-zA-Z][_a-zA-Z0-9]*\Z")
_MAX_SHAPES = 64
_MAX_TEMPLATE = 1 << 16


def _shape_names(text: str) -> list[str] | None:
    """scipy's ``_construct_argparser`` check on ``shapes``: comma/space separated identifiers, no keywords."""
    names = text.replace(",", " ").split()
    if len(names) > _MAX_SHAPES:
        return None
    for name in names:
        if keyword.iskeyword(name) or not _IDENTIFIER.match(name):
            return None
    return names


def _scipy_argparser(state: dict[Any, Any], data: tuple[str, ...]) -> str | None:
    """scipy 1.17.1 ``rv_generic.__setstate__`` execs ``state['_parse_arg_template']``. Admitted: exactly
    ``parse_arg_template % dict(shape_arg_str=..., locscale_in=..., locscale_out=...)`` as ``_construct_argparser``
    renders it — identifier shapes (agreeing with ``state['shapes']`` when present) and one of the recorded
    locscale pairs. Anything else is text chosen by the file."""
    if len(data) < 3 or len(data) % 2 == 0:
        return "the contract data is malformed"
    template, pairs = data[0], list(zip(data[1::2], data[2::2], strict=True))
    key = "_parse_arg_template"
    if key not in state:
        return f"the state has no {key!r} (every pickled scipy distribution carries the one its __init__ built)"
    text = state[key]
    if type(text) is not str:
        return f"{key!r} is not a plain string"
    if len(text) > _MAX_TEMPLATE:
        return f"{key!r} is longer than any argument parser scipy generates"
    # the shapes are the text between "_parse_args(self, " and the locscale arguments of the first definition
    head = template.split("%(shape_arg_str)s", 1)[0]
    if not text.startswith(head):
        return f"{key!r} is not scipy's parse_arg_template"
    has_shapes = "shapes" in state
    shapes = state.get("shapes")
    if shapes is not None and type(shapes) is not str:
        return "'shapes' is not a plain string or None"
    expected = None if not has_shapes else ([] if shapes is None else _shape_names(shapes))
    if has_shapes and expected is None:
        return "'shapes' is not a list of Python identifiers"
    for locscale_in, locscale_out in pairs:
        marker = f" {locscale_in}):"
        end = text.find(marker, len(head))
        if end < 0:
            continue
        shape_arg_str = text[len(head):end]
        names = _shape_names(shape_arg_str)
        if names is None or shape_arg_str != (", ".join(names) + ", " if names else ""):
            continue
        if expected is not None and expected != names:
            continue
        rendered = template % {"shape_arg_str": shape_arg_str, "locscale_in": locscale_in,
                               "locscale_out": locscale_out}
        if text == rendered:
            return None
    return (f"{key!r} is not scipy's parse_arg_template filled with identifier shapes"
            f"{' matching its shapes' if has_shapes else ''} and a locscale pair "
            "_construct_argparser uses: __setstate__ would exec text chosen by the file")


def _torchbind_state(state: Any, data: tuple[str, ...]) -> str | None:
    """``torch.ScriptObject.__setstate__`` takes ``(payload, qualified class name)`` and runs the C++
    ``__setstate__`` of the TorchBind class the name selects. Admitted: a 2-tuple whose name is a plain string
    among the reviewed classes (``data``), whose payload holds only plain data, tensors torch rebuilds and nested
    ScriptObjects (``_torchbind_payload``: red team R7-3)."""
    if type(state) is not tuple or len(state) != 2:
        return "the state is not the (payload, class name) pair torch.save writes"
    name = state[1]
    if type(name) is not str:
        return "the TorchBind class name is not a plain string (computed at load time)"
    if name not in data:
        return (f"TorchBind class {_short(name)} is not a reviewed one: its C++ __setstate__ is native code "
                "nobody read")
    odd = _torchbind_payload(state[0], 0)
    if odd is not None:
        return (f"the payload holds {odd}: torch casts it to the schema's types in C++, which calls the object's "
                "__index__/__int__/__float__/__bool__/__iter__/__len__ (code of the file's choosing)")
    return None


#: what a TorchBind payload written by torch.save holds besides plain data: tensors as torch rebuilds them, and
#: nested ScriptObjects (rnn.CellParamsBase holds a list of LinearPackedParamsBase)
_TORCHBIND_PAYLOAD_CALLS = frozenset({
    "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_qtensor", "torch._utils._rebuild_tensor",
    "torch._utils._rebuild_parameter",
    "torch.ScriptObject",
})


def _torchbind_payload(value: Any, depth: int) -> str | None:
    """Something in a TorchBind payload other than plain data, tensors torch rebuilds and nested ScriptObjects
    (a description of it), else None. An object of another class reaches the C++ cast, which runs its number and
    sequence protocol methods; a list or tuple subclass built at load time is such an object."""
    from safeload.engine.values import Call, PlainList

    if depth > 32:
        return "values nested too deep to read"
    if value is None or type(value) in (bool, int, float, str, bytes):
        return None
    if type(value) in (tuple, list, PlainList):
        for item in value:
            odd = _torchbind_payload(item, depth + 1)
            if odd is not None:
                return odd
        return None
    if type(value) is Call and value.partial_func is None and value.owner is not None \
            and value.owner.full in _TORCHBIND_PAYLOAD_CALLS and value.func is value.owner:
        return None
    owner = getattr(value, "owner", None)
    return f"an object built at load time by {getattr(owner, 'full', None) or 'a call'}"


#: joblib 1.6.0 ``Memory.__getstate__``: its ``__dict__`` (``Logger.__init__``: depth, _name; ``Memory.__init__``: the
#: rest), with ``timestamp`` set to None
_JOBLIB_MEMORY_KEYS = frozenset({"depth", "_name", "_verbose", "mmap_mode", "timestamp", "backend", "compress",
                                 "backend_options", "location", "store_backend"})
_SCALARS = (type(None), bool, int, float, str)


def _joblib_memory_state(state: Any, data: tuple[str, ...]) -> str | None:
    """``joblib.memory.Memory`` has no ``__setstate__``: BUILD updates its ``__dict__``. Admitted: a plain dict with
    only the keys ``Memory.__getstate__`` writes (another key would shadow a method such as ``cache`` that code
    holding the Memory calls), no store backend and no location (``Memory(None)``: ``cache(f)`` then returns
    ``NotMemorizedFunc(f)`` and nothing touches the disk), and plain values elsewhere."""
    del data
    if type(state) is not dict:
        return "the state is not the plain dict joblib's Memory.__getstate__ returns"
    odd = sorted(str(key) for key in state if key not in _JOBLIB_MEMORY_KEYS)
    if odd:
        return (f"the state sets {_short(', '.join(odd))}, not an attribute Memory.__getstate__ writes (it would "
                "shadow a method code holding the Memory calls)")
    for key in ("store_backend", "location"):
        if state.get(key) is not None:
            return f"{key!r} is not None: a Memory with a cache location reads and writes files when used"
    for key, value in state.items():
        if key == "backend_options" and type(value) is dict:
            if all(type(k) is str and type(v) in _SCALARS for k, v in value.items()):
                continue
        elif key == "compress" and type(value) is tuple:
            if all(type(v) in _SCALARS for v in value):
                continue
        elif type(value) in _SCALARS:
            continue
        return f"{key!r} is not plain data"
    return None


def _random_state(state: Any, data: tuple[str, ...]) -> str | None:
    """CPython 3.11 ``random.Random.__setstate__`` -> ``setstate(state)``: ``version = state[0]``, then
    ``version == 3`` (the object's ``__eq__``), a version other than 2 or 3 is %s-formatted into the ValueError
    (its ``__str__``), and ``_random.Random.setstate`` converts the 624 words with ``PyLong_AsUnsignedLong`` and the
    position with ``PyLong_AsLong`` (an object's ``__index__``). Admitted: what ``getstate`` returns, a 3-tuple of
    an int version, a tuple of ints and None or a float; an object anywhere in it runs its protocol methods (red
    team R8-5)."""
    del data
    if type(state) is not tuple or len(state) != 3:
        return "the state is not the (version, internal state, gauss_next) triple Random.getstate returns"
    version, internal, gauss_next = state
    if type(version) is not int:
        return "the version is not a plain int (setstate compares it: the object's __eq__ runs)"
    words = _tuple_of(internal)
    if words is None or any(type(word) is not int for word in words):
        return ("the internal state is not a tuple of plain ints (the C setstate converts each: an object's "
                "__index__ runs)")
    if gauss_next is not None and type(gauss_next) is not float:
        return "gauss_next is neither None nor a float"
    return None


def _tuple_of(value: Any) -> tuple[Any, ...] | list[Any] | None:
    """The items of a tuple as the load makes it: a literal, or ``builtins.tuple(<literal list or tuple>)``."""
    from safeload.engine.values import Call, PlainList

    if type(value) is tuple:
        return value
    if type(value) is Call and value.partial_func is None and value.owner is not None \
            and value.owner.full == "builtins.tuple" and value.func is value.owner and value.items is None \
            and value.state is None and type(value.args) is tuple and len(value.args) == 1 \
            and type(value.args[0]) in (tuple, list, PlainList):
        return list(value.args[0])
    return None


def _polars_ipc(state: Any, data: tuple[str, ...]) -> str | None:
    """polars 2.1.0 ``DataFrame.__setstate__``/``Series.__setstate__`` hand a bytes state to the compiled Arrow IPC
    stream reader. Admitted: a plain ``bytes`` object that ``catalog/arrow_ipc.py`` reads as a whole as such a
    stream with only the Arrow types polars writes and only the metadata keys in ``data`` (``schema:<key>``,
    ``field:<key>``): no Arrow extension type (a registered extension's Python ``ext_from_params`` would run; Object
    columns travel as one), no compression, nothing truncated or out of bounds."""
    from safeload.catalog.arrow_ipc import IpcRefusedError, check_stream

    if type(state) not in (bytes, memoryview):  # the engine passes a large literal as a view of the file
        return ("the state is not a literal bytes object (polars pickles a frame as the bytes of an Arrow IPC "
                "stream; anything else is an object built at load time)")
    schema_keys = frozenset(item[7:] for item in data if item.startswith("schema:"))
    field_keys = frozenset(item[6:] for item in data if item.startswith("field:"))
    try:
        check_stream(state, schema_keys, field_keys)
    except IpcRefusedError as why:
        return f"the state is not an Arrow IPC stream polars writes: {why}"
    return None


def _slot_state(state: Any, data: tuple[str, ...]) -> str | None:
    """A class with ``__slots__`` and no ``__setstate__`` (xarray's DataArray, Dataset, Variable): CPython's
    ``load_build`` ``setattr``s every key of the second item of a ``(None, slots)`` state. Admitted: exactly that
    shape, no ``__dict__`` part, literal string keys among the slot names in ``data`` (each a member descriptor of
    the class, so the assignment stores the value and runs nothing; any other name could reach a property setter
    or ``__class__``), and the keys listed after ``"none:"`` in ``data`` only with the value None (xarray's
    ``_close``: a callable ``close()`` runs)."""
    if type(state) is not tuple or len(state) != 2:
        return "the state is not the (None, slots) pair pickle writes for a class with __slots__"
    head, slots = state
    if head is not None and not (type(head) is dict and not head):
        return "the state has a __dict__ part (the class has none: its keys would be set past the slots)"
    if type(slots) is not dict:
        return "the slot part is not a literal dict"
    allowed = frozenset(item for item in data if not item.startswith("none:"))
    must_be_none = frozenset(item[5:] for item in data if item.startswith("none:"))
    for key, value in slots.items():
        if type(key) is not str:
            return "a slot name is computed at load time"
        if key not in allowed:
            return f"the state sets {_short(key)}, which is not one of the slots the review admits"
        if key in must_be_none and value is not None:
            return f"{key!r} is not None (a callable there runs when the object is closed)"
    return None


def _short(text: str) -> str:
    return repr(text if len(text) <= 120 else text[:117] + "...")


_CONTRACTS: dict[str, Callable[[dict[Any, Any], tuple[str, ...]], str | None]] = {
    "scipy_argparser": _scipy_argparser,
    "torchbind_state": _torchbind_state,
    "joblib_memory_state": _joblib_memory_state,
    "random_state": _random_state,
    "polars_ipc": _polars_ipc,
    "slot_state": _slot_state,
}


def refusal(contract: str, data: tuple[str, ...], state: Any, admitted: Admitted | None = None) -> str | None:
    """Why ``state`` breaks ``contract`` (``None`` when it is admitted). An unknown contract refuses, and so does
    a contract that asks for the provenance of the state's objects when ``admitted`` (the engine's query over
    the objects argument contracts admitted in this stream) is not given."""
    check = _CONTRACTS.get(contract)
    if check is not None:
        return check(state, data)
    with_provenance = _PROVENANCE_CONTRACTS.get(contract)
    if with_provenance is None:
        return f"unknown BUILD state contract {contract!r}"
    if admitted is None:
        return f"the {contract!r} state contract reads where the state's objects came from; nobody said"
    return with_provenance(state, data, admitted)


# -- argument contracts -------------------------------------------------------------------------------------------

#: what an argument contract records for an object it admitted, handed back when the object is an argument: the
#: contract's own measures (sympy: the bits bound and the tree size) and what admitting it cost against the
#: stream's work budget (``spent`` sums the third item)
Record = tuple[int, int, int]

class Admitted(Protocol):
    """The engine's provenance query: the record an argument contract kept for ``value`` when an admitted
    instantiation or call under ``contract`` (by default the asking contract itself) made it in this stream, by
    identity; ``None`` for any other value."""

    def __call__(self, value: Any, contract: str | None = None, /) -> Record | None: ...


#: the most bits a number the evaluation of an admitted sympy expression may compute is allowed to need (a bound
#: over every node, from the literal ints up: ``_sympy_new``)
SYMPY_MAX_BITS = 1 << 16
#: the most argument slots (the expression trees' sizes, shared subtrees counted at every use) the evaluations of
#: one stream may go through: AssocOp.flatten copies the arguments of nested Add/Mul, so a chain of n nested sums
#: costs n**2/2 and a sum reused m times by memo references m times its size (about 1 us a slot measured)
SYMPY_MAX_WORK = 1 << 16
#: what one node may cost against that budget, per class (``cost:`` in the entry's data; red team R10-2, measured
#: on sympy 1.14): ``Equality`` evaluates ``is_eq``, whose ``as_numer_denom`` grows about as size**2.8 (25 s for a
#: sum of 1000 reciprocals): charged size**2, so an operand of at most 256 slots (~25 ms); ``exp``/``sin`` run
#: ``logcombine``/argument peeling per term (~0.1 ms a slot): charged 100 a slot

#: ``n * B**2`` (n numbers folded into a sum or product of B bits) per slot of that budget (R12-1: ~1e-13 s per
#: unit measured, so 10**7 units is ~1 us, what a slot stands for)
SYMPY_NUMERIC_SLOT = 10_000_000


def _sympy_new(args: tuple[Any, ...], kwargs: Any, data: tuple[str, ...],
               admitted: Admitted, spent: int) -> tuple[str | None, Record]:
    """sympy 1.14 ``Basic`` subclasses as ``Basic.__reduce_ex__`` pickles them (protocol >= 2: ``object``'s reduce
    with ``__getnewargs__``/``__getnewargs_ex__``, i.e. NEWOBJ/NEWOBJ_EX of the class with ``self.args``, or the
    class's own fields for numbers and symbols). Evaluating ``cls.__new__`` is what the review read; it reaches
    sympify's string parser (``parse_expr``: ``eval``) only through a str (or a container holding one, or an object
    whose conversion yields one) among the arguments, so the contract admits, per ``data``:

    - ``args:basic``: every positional argument is an object an admitted instantiation made in this stream;
    - ``args:int``: every positional argument is a plain int (``Integer(p)``, ``Rational(p, q)``);
    - ``args:name``: exactly one positional argument, a plain str (``Symbol(name)``: stored as the name, never
      parsed);
    - ``arity:N`` / ``arity:N-M`` / ``arity:*``: how many positional arguments;
    - ``kw:<name>``: a keyword NEWOBJ_EX may give, with a bool value (Symbol's assumptions); no other keyword;
    - ``bits:N``: the bound of a class made from no argument (``One``, ``Half``);
    - ``pow``: the ``Pow(b, e)`` rule below;
    - ``cost:square`` / ``cost:N``: what evaluating the node costs against the stream's budget, for classes whose
      evaluation is superlinear in or heavy per argument slot (``SYMPY_MAX_WORK``'s note).

    Besides the parser, evaluation computes with the numbers in the arguments, and ``Pow`` of numbers raises them
    (``Integer(9) ** Integer(10**9)`` is computed at load): every admitted object carries a bound on the bits of any
    number its evaluation can hold (sums and products add bits: the sum of its arguments' bounds; a power
    multiplies the base's by up to ``2**bound(e)``), and a node whose bound exceeds ``SYMPY_MAX_BITS`` is refused.
    It also carries its tree's size (shared subtrees counted at every use), and the sizes of a stream's admitted
    objects may not add up to more than ``SYMPY_MAX_WORK`` (``spent`` is the sum so far); a node's own charge (its
    size, squared or multiplied by its ``cost:``) may not exceed what is left. A stream's total work is then bounded
    (measured: seconds at worst, against the most of an hour R10-2's admitted equation took).
    Returns (why it is refused or None, the (bits, size) recorded for the object made)."""
    arity = next((item[6:] for item in data if item.startswith("arity:")), "*")
    low, _, high = arity.partition("-")
    if low != "*" and not (int(low) <= len(args) <= int(high or low)):
        return f"{len(args)} positional argument(s); sympy pickles this class with {arity}", (0, 0, 0)
    allowed_kw = frozenset(item[3:] for item in data if item.startswith("kw:"))
    if kwargs is not None:
        if type(kwargs) is not dict:
            return "keyword arguments only known at load time", (0, 0, 0)
        for key, value in kwargs.items():
            if type(key) is not str or key not in allowed_kw:
                return f"the keyword {_short(str(key)) if type(key) is str else 'computed at load time'} is not one " \
                       "sympy pickles for this class", (0, 0, 0)
            if type(value) is not bool:
                return f"the keyword {key!r} is {_describe_arg(value)}, not a bool", (0, 0, 0)
    bits, size, extra, numeric = 0, 1, 0, 0
    if "args:name" in data:
        if len(args) != 1 or type(args[0]) is not str:
            return "the name is not a plain str", (0, 0, 0)
    elif "args:int" in data:
        for position, value in enumerate(args):
            if type(value) is not int:
                return f"argument {position} is {_describe_arg(value)}, not a plain int", (0, 0, 0)
            bits += value.bit_length() + 1
    elif "args:basic" in data:
        records = []
        for position, value in enumerate(args):
            record = admitted(value)
            if record is None:
                return (f"argument {position} is {_describe_arg(value)}, not an object made by a sympy class this "
                        "contract admits (a str, container or object of other provenance may reach sympify's "
                        "parser)"), (0, 0, 0)
            records.append(record)
        size += sum(record[1] for record in records)
        if "pow" in data:
            base, exp = records[0][0], records[1][0]  # arity:2
            if base == 0:
                bits = exp + 1
            elif exp > SYMPY_MAX_BITS.bit_length():
                bits = SYMPY_MAX_BITS + 1
            else:
                bits = (base << exp) + exp + 1
            if not _integer_made(args[1]):
                # red team R11-1: a root of a number factors it (Integer._eval_power: perfect_power,
                # factors(limit=2**15); Add/Mul._eval_power take the root of their numeric content): measured
                # 0.6 ms at 64 bits, 1 ms at 256, 6 ms at 1000, 34 ms at 2000, 1.6 s at 8000 (sympy 1.14)
                extra = base * base // 64 + base ** 3 // 200_000 + 8 * base
        else:
            bits = sum(record[0] for record in records) + len(records).bit_length()
            # red team R12-1: AssocOp.flatten folds the numbers among (and within) the arguments one at a time
            # (Rational.__add__: a gcd per term); n numbers whose sum grows to B bits cost about n * B**2 * 1e-13
            # s (sympy 1.14, pure-Python ground types: 3 s for 3200 terms 1/p with distinct 16-bit primes p, B
            # ~65000), a node's own work: charged at 1 us a slot, not counted in its size
            numeric = len(records) * bits * bits // SYMPY_NUMERIC_SLOT
    elif args:
        return "arguments given to a class sympy pickles without any", (0, 0, 0)
    bits += next((int(item[5:]) for item in data if item.startswith("bits:")), 0)
    cost = next((item[5:] for item in data if item.startswith("cost:")), "1")
    # the root's work is the node's own: it counts in its size (consumed from the budget, and again in every
    # expression holding the node, which over-charges those: fails closed)
    size += extra
    charge = size * size if cost == "square" else size * int(cost)
    if bits > SYMPY_MAX_BITS:
        return (f"evaluating it may compute numbers of more than {SYMPY_MAX_BITS} bits (powers of numbers are "
                "computed at load)"), (0, 0, 0)
    charge = max(size, charge) + numeric  # consumed from the stream's budget (red team R11: the whole charge)
    if spent + charge > SYMPY_MAX_WORK:
        return (f"the expressions of this stream exceed {SYMPY_MAX_WORK} argument slots (shared subtrees counted at "
                "every use; Equality charged its size squared, exp and sin 100 a slot): evaluating them would take "
                "that much work"), (0, 0, 0)
    return None, (bits, size, charge)


#: the classes whose instances are integers: a Pow with such an exponent raises its base (bounded by the bits rule)
_SYMPY_INTEGERS = frozenset({"sympy.core.numbers.Integer", "sympy.core.numbers.Zero", "sympy.core.numbers.One",
                             "sympy.core.numbers.NegativeOne"})


def _integer_made(value: Any) -> bool:
    """``value`` was made by NEWOBJ of one of sympy's integer classes (the contract admitted it: its class is
    the instantiated name)."""
    from safeload.engine.values import Call, Global

    return type(value) is Call and type(value.func) is Global and value.func.full in _SYMPY_INTEGERS \
        and value.owner is value.func


def _describe_arg(value: Any) -> str:
    kind = type(value).__name__
    if kind in {"Call", "Global", "Opaque"}:
        return f"an object of other provenance ({value!r})"
    return f"a {kind}"


# -- sympy matrices ------------------------------------------------------------------------------------------------

#: the most cells (rows times columns) a pickled sympy matrix may span, and the most rows or columns: the load
#: itself only walks the stored entries (the representation is sparse), but what loading hands back is a matrix of
#: that shape, which later code densifies (``tolist``, printing, arithmetic)
SYMPY_MATRIX_MAX_CELLS = 1 << 20
#: the most row and entry keys the ``SDM`` constructors of one stream may go through (``SDM.__init__`` copies the
#: outer dict and compares every row and column key with the shape; a memo-reused dict is gone through at every
#: use, so the work is counted per use, not per byte of the file)
SYMPY_MATRIX_MAX_WORK = 1 << 22
_SYMPY_MATRIX_OVER = (f"the matrices of this stream go through more than {SYMPY_MATRIX_MAX_WORK} row and entry "
                      "keys (a memo-reused dict counted at every use, a refused matrix's as far as it was checked)")
_SYMPY_DOMAIN = "sympy_domain"
_SYMPY_MATRIX_REP = "sympy_matrix_rep"


def _no_arguments(args: tuple[Any, ...], kwargs: Any, data: tuple[str, ...],  # noqa: PLR0917
                  admitted: Admitted, spent: int, read: list[Any]) -> tuple[str | None, Record]:
    """A class pickled by ``object.__reduce_ex__`` with no ``__getnewargs__``: NEWOBJ with an empty tuple.
    ``ExpressionRawDomain.__new__`` is ``object.__new__`` (it ignores arguments, runs nothing);
    ``MutableDenseMatrix.__new__`` is ``MutableRepMatrix.__new__`` -> ``cls._new(*args)``, which with no argument
    makes an empty 0 x 0 matrix (``_handle_creation_inputs``: ``len(args) == 0``) and with any argument converts
    it (sympify, a callable called per cell, an object's ``__array__``): exactly no argument is admitted."""
    del data, admitted, spent, read
    if args:
        return f"{len(args)} positional argument(s); sympy pickles this class with none", (0, 0, 0)
    if kwargs:
        return "keyword arguments given to a class sympy pickles without any", (0, 0, 0)
    return None, (0, 0, 0)


def _sympy_rows(rows: Any, m: int, n: int, admitted: Admitted, budget: int,  # noqa: PLR0917
                found: list[Any]) -> tuple[str | None, int]:
    """Why ``rows`` is not an SDM dict-of-dicts the contract admits, and the keys ``SDM.__init__`` goes through
    (as far as the check went): a plain dict of plain int row keys in ``range(m)`` to plain dicts of plain int
    column keys in ``range(n)`` to objects the ``sympy_new`` contract admitted. The check stops as soon as the
    keys exceed ``budget`` (what is left of the stream's). The row dicts go to ``found``."""
    if type(rows) is not dict:
        return (f"the rows are {_describe_arg(rows)}, not a plain dict of dicts (DomainMatrix takes a list as a "
                "dense matrix and converts other objects)"), 1
    work = len(rows)
    if work > budget:
        return _SYMPY_MATRIX_OVER, budget
    checked: set[int] = set()  # a row dict shared by several rows: read once, charged at every use
    for row, entries in rows.items():
        if type(row) is not int or not 0 <= row < m:
            return (f"a row key is {_key_text(row)}, not a plain int in "
                    f"range({m}) (SDM.__init__ compares it with the shape: an object's __le__/__lt__ would run)"), work
        if type(entries) is dict:
            work += len(entries)
            if work > budget:
                return _SYMPY_MATRIX_OVER, budget
            if id(entries) in checked:
                continue
        odd = _sympy_row(entries, n, admitted)
        if odd is not None:
            return f"row {row}: {odd}", work
        checked.add(id(entries))
        found.append(entries)
    return None, work


def _key_text(value: Any) -> str:
    """A key or size for a message: a small int as itself (a large one would exceed int-to-str limits)."""
    if type(value) is int:
        return str(value) if value.bit_length() <= 64 else f"an int of {value.bit_length()} bits"
    return _describe_arg(value)


def _sympy_row(entries: Any, n: int, admitted: Admitted) -> str | None:
    """Why ``entries`` is not one row the contract admits (see ``_sympy_rows``)."""
    if type(entries) is not dict:
        return f"the row is {_describe_arg(entries)}, not a plain dict (SDM.__init__ iterates it)"
    for column, value in entries.items():
        if type(column) is not int or not 0 <= column < n:
            return (f"a column key is {_key_text(column)}, not a plain "
                    f"int in range({n})")
        if admitted(value, "sympy_new") is None:
            return (f"an entry is {_describe_arg(value)}, not an object made by a sympy class the sympy_new contract "
                    "admits (later matrix operations convert entries: a str there reaches sympify's parser)")
    return None


def _sympy_matrix_rep(args: tuple[Any, ...], kwargs: Any, data: tuple[str, ...],  # noqa: PLR0917
                      admitted: Admitted, spent: int, read: list[Any]) -> tuple[str | None, Record]:
    """sympy 1.14 ``DomainMatrix.__reduce__``: ``(DomainMatrix, (dict(rep), rep.shape, rep.domain))`` for the
    sparse ``SDM`` representation every explicit matrix of expressions has. The REDUCE calls
    ``DomainMatrix.__new__(rows, shape, domain)``: a dict ``rows`` becomes ``SDM(rows, shape, domain)``
    (``dict.__init__`` copies the outer dict; ``m, n = shape``; every row key is compared ``0 <= r < m`` and every
    column key ``0 <= c < n``; the entries are stored, never read), ``rep.fmt`` is ``'sparse'`` so no flint
    conversion, and ``from_rep`` stores rep, shape and domain. A list ``rows`` (dense, ``DDM``) and the ``fmt``
    keyword are not admitted. Admitted: exactly three positional arguments, the rows ``_sympy_rows`` admits, a
    plain ``(int, int)`` shape within ``SYMPY_MATRIX_MAX_CELLS``, and as the domain the object an admitted NEWOBJ
    of ``ExpressionRawDomain`` made in this stream (EXRAW: its elements are the expressions as they are; another
    domain converts them). The stream's ``SDM`` work is bounded by ``SYMPY_MATRIX_MAX_WORK``. ``read`` receives
    the row dicts (the SDM keeps them: the engine checks them again when the stream ends, ``argument_recheck``)
    and the domain."""
    del data
    if spent >= SYMPY_MATRIX_MAX_WORK:
        return _SYMPY_MATRIX_OVER, (0, 0, 0)
    if kwargs:
        return "keyword arguments (fmt= converts the representation) given to DomainMatrix", (0, 0, 1)
    if len(args) != 3:
        return f"{len(args)} argument(s); DomainMatrix.__reduce__ writes (rows, shape, domain)", (0, 0, 0)
    rows, shape, domain = args
    if type(shape) is not tuple or len(shape) != 2 or any(type(side) is not int for side in shape):
        return f"the shape is {_describe_arg(shape)}, not a plain (int, int) tuple", (0, 0, 0)
    m, n = shape
    if not (0 <= m <= SYMPY_MATRIX_MAX_CELLS and 0 <= n <= SYMPY_MATRIX_MAX_CELLS
            and m * n <= SYMPY_MATRIX_MAX_CELLS):
        return (f"the shape {_key_text(m)} x {_key_text(n)} is negative or spans more than {SYMPY_MATRIX_MAX_CELLS} "
                "cells (later operations densify the matrix)"), (0, 0, 0)
    if admitted(domain, _SYMPY_DOMAIN) is None or domain.state is not None or domain.items is not None:
        return (f"the domain is {_describe_arg(domain)}, not the ExpressionRawDomain() an admitted NEWOBJ made in "
                "this stream (another domain converts the entries)"), (0, 0, 0)
    found: list[Any] = []
    odd, work = _sympy_rows(rows, m, n, admitted, SYMPY_MATRIX_MAX_WORK - spent - 1, found)
    if odd is not None:  # what the check went through is charged all the same: a refused call is no free walk
        return odd, (0, 0, work + 1)
    read.extend((*found, domain))
    return None, (0, work + 1, work + 1)


def _sympy_matrix_rep_recheck(args: tuple[Any, ...], read: list[Any], admitted: Admitted,
                              seen: set[tuple[int, int]]) -> str | None:
    """The row dicts an admitted ``DomainMatrix`` keeps, as the stream left them: SETITEM(S) on a memo reference
    to one after the REDUCE (the engine does not watch plain dicts) changes the matrix the load returns. Each must
    still hold only plain int column keys in range and objects ``sympy_new`` admitted (``seen``: the (dict, width)
    pairs the stream's rechecks read already)."""
    n = args[1][1]
    for entries in read:
        if type(entries) is dict and (id(entries), n) not in seen:
            seen.add((id(entries), n))
            odd = _sympy_row(entries, n, admitted)
            if odd is not None:
                return f"a row dict was changed after the call: {odd}"
    return None


#: the BUILD state ``MutableDenseMatrix`` is pickled with (``object.__reduce_ex__``: its ``__dict__``, written by
#: ``MutableRepMatrix._fromrep``)
_SYMPY_MATRIX_KEYS = frozenset({"rows", "cols", "_rep"})


def _sympy_matrix_state(state: Any, data: tuple[str, ...], admitted: Admitted) -> str | None:
    """sympy 1.14 ``MutableDenseMatrix`` has no ``__setstate__`` and no ``__getattr__`` in its MRO: BUILD writes
    the dict state into its ``__dict__``. Admitted: exactly the keys ``_fromrep`` sets, ``_rep`` the object an
    admitted ``DomainMatrix`` REDUCE made in this stream and ``rows``/``cols`` plain ints equal to its shape (any
    other key would shadow a method code holding the matrix calls)."""
    del data
    if type(state) is not dict:
        return "the state is not the plain dict of rows, cols and _rep sympy writes"
    odd = sorted(str(key) for key in state if key not in _SYMPY_MATRIX_KEYS)
    if odd or len(state) != len(_SYMPY_MATRIX_KEYS):
        return (f"the state's keys are {_short(', '.join(sorted(map(str, state))))}, not exactly rows, cols and "
                "_rep (another key shadows a method)")
    rep = state["_rep"]
    if admitted(rep, _SYMPY_MATRIX_REP) is None:
        return (f"'_rep' is {_describe_arg(rep)}, not the DomainMatrix an admitted REDUCE made in this stream "
                "(its arguments checked by the sympy_matrix_rep contract)")
    if (type(state["rows"]), type(state["cols"])) != (int, int) or (state["rows"], state["cols"]) != rep.args[1]:
        return "'rows' and 'cols' are not plain ints equal to the DomainMatrix's shape"
    return None


# -- spaCy 3.8.18 pipelines (issue 14: spacy.blank("en") with a sentencizer, pickled) ---------------------------------

#: ``Sentencizer.__init__``'s attributes (pipeline/sentencizer.pyx), the instance dict Cython's generated
#: ``Pipe.__reduce_cython__`` pickles beside the cdef ``name``
_SPACY_SENTENCIZER_KEYS = frozenset({"punct_chars", "overwrite", "scorer"})
#: the most punctuation strings a sentencizer may hold (spaCy's default: 128)
SPACY_MAX_PUNCT = 4096


_SET_CLASSES = frozenset({"builtins.set", "builtins.frozenset"})


def _plain_str_set(value: Any, bound: int) -> bool:
    """A set of at most ``bound`` str: a set literal (protocol 4+: EMPTY_SET/ADDITEMS, FROZENSET) or, as protocols
    0-3 write it, ``builtins.set([...])``/``builtins.frozenset([...])`` of a list of str, nothing stored since."""
    from safeload.engine.values import Call, Global

    if type(value) is Call and type(value.func) is Global and value.func.full in _SET_CLASSES \
            and value.owner is value.func and value.kwargs is None and value.state is None and value.items is None \
            and value.partial_func is None and type(value.args) is tuple and len(value.args) <= 1:
        value = value.args[0] if value.args else ()
        if type(value) not in (list, tuple):
            return False
    return type(value) in (set, frozenset, list, tuple) and len(value) <= bound \
        and all(type(item) is str for item in value)


def _spacy_pipe_state(state: Any, data: tuple[str, ...]) -> str | None:
    """The state ``Pipe.__setstate_cython__`` (Cython's generated ``__pyx_unpickle_Pipe__set_state``) applies:
    ``self.name = state[0]`` (the cdef ``str name``) and, when a second item is given, ``self.__dict__.update(
    state[1])``: any key there shadows a method (``pipe``, ``score``, ``get_error_handler``: ``nlp.pipe(texts)``
    calls ``proc.pipe``) and ``scorer`` is called by ``score()``. Admitted: ``(str, dict)`` whose keys are exactly
    the sentencizer's (``punct_chars`` a set of str, ``overwrite`` a bool, ``scorer`` exactly the function
    ``data`` names: spaCy's ``senter_score``)."""
    from safeload.engine.values import Global

    if not data:
        return "no state is reviewed for an instance of this class (a bare Pipe)"
    if type(state) is not tuple or len(state) != 2 or type(state[0]) is not str or type(state[1]) is not dict:
        return f"the state is {_describe_arg(state)}, not the (name, attributes) pair Pipe.__reduce_cython__ writes"
    attributes = state[1]
    if set(attributes) != _SPACY_SENTENCIZER_KEYS:
        odd = sorted(map(str, set(attributes) ^ _SPACY_SENTENCIZER_KEYS))
        return f"the attributes are not exactly the sentencizer's ({', '.join(odd)[:120]} differ)"
    if not _plain_str_set(attributes["punct_chars"], SPACY_MAX_PUNCT):
        return f"punct_chars is not a set of at most {SPACY_MAX_PUNCT} str"
    if type(attributes["overwrite"]) is not bool:
        return "overwrite is not a bool"
    scorer = attributes["scorer"]
    if type(scorer) is not Global or scorer.full not in data:
        return f"scorer is {_describe_arg(scorer)}, not {' or '.join(data)}"
    return None


_CONFECTION_CONFIG_KEYS = frozenset({"is_interpolated", "section_order"})


def _confection_config_state(state: Any, data: tuple[str, ...]) -> str | None:
    """confection 1.3.4 ``Config(dict)``: no ``__setstate__``, so BUILD writes the instance dict, which
    ``Config.__init__`` fills with ``is_interpolated`` (a bool) and ``section_order`` (a list of section names).
    Admitted: those keys only, with those types (no other attribute can shadow a method: ``interpolate``, ``copy``,
    ``merge`` are called by spaCy on ``nlp.config``)."""
    del data
    if type(state) is not dict or not set(state) <= _CONFECTION_CONFIG_KEYS:
        return "the state is not a dict of is_interpolated and section_order only"
    if "is_interpolated" in state and type(state["is_interpolated"]) is not bool:
        return "is_interpolated is not a bool"
    order = state.get("section_order", [])
    if type(order) is not list or any(type(name) is not str for name in order):
        return "section_order is not a list of str"
    return None


_CONTRACTS.update({"spacy_pipe_state": _spacy_pipe_state, "confection_config_state": _confection_config_state})


#: ``Language.__init__``'s attributes (spaCy 3.8.18 language.py, lines 156-226): what ``Language`` (no
#: ``__setstate__``, no ``__reduce__``) pickles as its BUILD state
_SPACY_LANGUAGE_KEYS = frozenset({"_config", "_meta", "_path", "_optimizer", "_pipe_meta", "_pipe_configs", "vocab",
                                  "_components", "_disabled", "max_length", "tokenizer", "batch_size",
                                  "default_error_handler"})
_CONFECTION_CONFIG = "confection._config.Config"
_SPACY_FACTORY_META = "spacy.language.FactoryMeta"
_SPACY_PYX_PIPE = "spacy.pipeline.pipe.__pyx_unpickle_Pipe"
#: the pipe classes a component may be (each reviewed with its own BUILD contract) and the error handlers
#: (spacy/util.py raise_error/ignore_error: raise the exception, or do nothing)
_SPACY_PIPES = frozenset({"spacy.pipeline.sentencizer.Sentencizer"})
_SPACY_ERROR_HANDLERS = frozenset({"spacy.util.raise_error", "spacy.util.ignore_error"})
_PATH_CLASSES = frozenset({"pathlib.Path", "pathlib.PosixPath", "pathlib.WindowsPath"})
_PLAIN = (type(None), bool, int, float, str)


def _made_object(value: Any, owner: str, func: str | None = None) -> bool:
    """``value`` is an object the load made whose class is ``owner`` (by NEWOBJ, as protocols 0-1 write it by
    ``copyreg._reconstructor(owner, base, state)``, or, with ``func``, by that helper), not a partial."""
    from safeload.engine.values import Call, Global

    helpers = {func} if func is not None else {owner, "copyreg._reconstructor"}
    return (type(value) is Call and value.owner is not None and value.owner.full == owner
            and value.partial_func is None and type(value.func) is Global and value.func.full in helpers)


def _plain_data(value: Any, depth: int = 0) -> bool:
    """Literal data only (str, numbers, bool, None, and lists/tuples/dicts of them), nested at most 32 deep."""
    if type(value) in _PLAIN:
        return True
    if depth >= 32:
        return False
    if type(value) in (list, tuple):
        return all(_plain_data(item, depth + 1) for item in value)
    if type(value) is dict:
        return all(type(key) is str and _plain_data(item, depth + 1) for key, item in value.items())
    return False


def _spacy_language_state(state: Any, data: tuple[str, ...], admitted: Admitted) -> str | None:
    """spaCy 3.8.18 ``Language`` (``English``): no ``__setstate__``, so BUILD writes the state into the instance
    dict, where any key shadows a method (``{"pipe": f}`` makes ``nlp.pipe(texts)`` call ``f``) and the values are
    what ``nlp(text)`` calls: ``tokenizer``, every ``_components`` pipe, ``default_error_handler`` on a pipe error.
    Admitted: exactly ``Language.__init__``'s keys, each holding what spaCy pickles there and made in this stream
    by the reviewed name: ``vocab`` by ``unpickle_vocab``, ``tokenizer`` by a Tokenizer call the spacy_tokenizer
    contract admitted, ``_config`` and each ``_pipe_configs`` value by NEWOBJ of confection's ``Config``, each
    ``_pipe_meta`` value by NEWOBJ of ``FactoryMeta``, each component a ``(str, pipe)`` pair whose pipe is a
    reviewed pipe class allocated by ``__pyx_unpickle_Pipe``, ``default_error_handler`` ``raise_error`` or
    ``ignore_error``; ``_meta`` literal data, ``_path`` None or a path, ``_optimizer`` None, ``_disabled`` a set of
    str, ``max_length`` and ``batch_size`` ints. (A later APPEND/SETITEM through a memo reference to one of these
    containers is ranked by the engine's escape walk like any value the loaded object holds.)"""
    from safeload.engine.values import Call, Global

    del data
    if type(state) is not dict:
        return f"the state is {_describe_arg(state)}, not a dict"
    if set(state) != _SPACY_LANGUAGE_KEYS:
        odd = sorted(map(str, set(state) ^ _SPACY_LANGUAGE_KEYS))
        return f"the attributes are not exactly Language.__init__'s ({', '.join(odd)[:120]} differ)"
    vocab = state["vocab"]
    if type(vocab) is not Call or type(vocab.func) is not Global or vocab.func.full != _SPACY_VOCAB \
            or vocab.partial_func is not None:
        return f"vocab is {_describe_arg(vocab)}, not the object an {_SPACY_VOCAB} call made"
    if type(state["tokenizer"]) is not Call or admitted(state["tokenizer"], "spacy_tokenizer") is None:
        return "tokenizer is not a Tokenizer the spacy_tokenizer contract admitted in this stream"
    if not _made_object(state["_config"], _CONFECTION_CONFIG):
        return f"_config is {_describe_arg(state['_config'])}, not a confection Config made by NEWOBJ"
    for key, owner in (("_pipe_configs", _CONFECTION_CONFIG), ("_pipe_meta", _SPACY_FACTORY_META)):
        table = state[key]
        if type(table) is not dict or any(type(name) is not str or not _made_object(value, owner)
                                          for name, value in table.items()):
            return f"{key} is not a dict of names to {owner} objects made by NEWOBJ"
    components = state["_components"]
    if type(components) is not list or any(
            type(pair) is not tuple or len(pair) != 2 or type(pair[0]) is not str
            or not any(_made_object(pair[1], pipe, _SPACY_PYX_PIPE) for pipe in _SPACY_PIPES)
            for pair in components):
        return (f"_components is not a list of (name, pipe) pairs whose pipe is one of {', '.join(_SPACY_PIPES)} "
                f"rebuilt by {_SPACY_PYX_PIPE}")
    handler = state["default_error_handler"]
    if type(handler) is not Global or handler.full not in _SPACY_ERROR_HANDLERS:
        return f"default_error_handler is {_describe_arg(handler)}, not spacy.util.raise_error or ignore_error"
    if not _plain_data(state["_meta"]) or type(state["_meta"]) is not dict:
        return "_meta is not a dict of literal data"
    path = state["_path"]
    if path is not None and not any(_made_object(path, name) for name in _PATH_CLASSES):
        return "_path is neither None nor a pathlib path"
    if state["_optimizer"] is not None:
        return "_optimizer is not None (an optimizer object is not reviewed)"
    if not _plain_str_set(state["_disabled"], 1 << 16):
        return "_disabled is not a set of str"
    if type(state["max_length"]) is not int or type(state["batch_size"]) is not int:
        return "max_length or batch_size is not an int"
    return None


#: BUILD state contracts that read the provenance of the state's objects (``refusal``'s ``admitted``)
_PROVENANCE_CONTRACTS: dict[str, Callable[[Any, tuple[str, ...], Admitted], str | None]] = {
    "sympy_matrix_state": _sympy_matrix_state,
    "spacy_language_state": _spacy_language_state,
}


#: the most unit names one pint UnitsContainer may hold, the longest name, and the largest exponent (in absolute
#: value) admitted by ``_pint_quantity``
PINT_MAX_UNITS = 32
PINT_MAX_NAME = 64
PINT_MAX_EXPONENT = 1024
#: the most unit names the quantities of one stream may hand to ``parse_units`` (each parse is a tokenize of one
#: identifier and a registry look-up; counted at every use, memo-reused containers included)
PINT_MAX_WORK = 1 << 16
_PINT_UNIT_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
#: numpy dtypes (``numpy.dtype(code, False, True)`` as ndarray.__reduce__ pickles them) a magnitude may have:
#: booleans, integers, floats and complexes; never object ('O'), str, bytes, void (structured) or datetime
_PINT_DTYPE = re.compile(r"(?:b1|[iu][1248]|f[248]|c(?:8|16))\Z")
_NUMPY_RECONSTRUCT = frozenset({"numpy._core.multiarray._reconstruct", "numpy.core.multiarray._reconstruct"})
_NUMPY_FROMBUFFER = frozenset({"numpy._core.numeric._frombuffer", "numpy.core.numeric._frombuffer"})


def _made_by(value: Any, name: str) -> bool:
    """``value`` is the object ``name()`` makes with no arguments (NEWOBJ or a call of the class itself), nothing
    stored into it by a partial or a helper."""
    from safeload.engine.values import Call, Global

    return (type(value) is Call and type(value.func) is Global and value.func.full == name and value.owner is value.func
            and type(value.args) is tuple and not value.args and value.kwargs is None and value.partial_func is None)


def _pint_magnitude(value: Any, read: list[Any]) -> str | None:
    """Why ``value`` is not a magnitude ``_pint_quantity`` admits: a plain int or float, or an ndarray numpy's
    ``_reconstruct`` made in this stream with a numeric dtype and its raw bytes (no object array)."""
    from safeload.engine.values import Call, Global

    if type(value) in (int, float):
        return None
    if type(value) is Call and type(value.func) is Global and value.func.full in _NUMPY_FROMBUFFER:
        # protocol 5: ndarray.__reduce_ex__ -> _frombuffer(PickleBuffer(self), self.dtype, self.shape, order)
        args = value.args
        if value.state is not None or value.items is not None or value.kwargs is not None \
                or type(args) is not tuple or len(args) != 4 or not _raw_bytes(args[0]) \
                or type(args[2]) is not tuple or any(type(n) is not int for n in args[2]) or args[3] not in ("C", "F"):
            return "the magnitude is not an array as numpy's _frombuffer rebuilds it from raw bytes"
        odd = _numeric_dtype(args[1])
        if odd is not None:
            return odd
        read.extend((value, args[1]))
        return None
    if type(value) is not Call or type(value.func) is not Global or value.func.full not in _NUMPY_RECONSTRUCT:
        return f"the magnitude is {_describe_arg(value)}, not a plain int or float or an array numpy rebuilds"
    if value.owner is None or value.owner.full != "numpy.ndarray" or value.items is not None \
            or type(value.args) is not tuple or len(value.args) != 3:
        return "the magnitude is not a plain numpy.ndarray as ndarray.__reduce__ pickles it"
    state = value.state
    if type(state) is not tuple or len(state) != 5:
        return "the magnitude array has not been given the (version, shape, dtype, fortran, data) state numpy writes"
    version, shape, dtype, fortran, data = state
    if type(version) is not int or type(shape) is not tuple or any(type(n) is not int for n in shape) \
            or type(fortran) is not bool or not _raw_bytes(data):
        return ("the magnitude array's state is not numpy's (int version, tuple of int shape, dtype, bool, raw "
                "bytes): an object array holds a list of objects instead")
    odd = _numeric_dtype(dtype)
    if odd is not None:
        return odd
    read.extend((value, dtype))
    if type(data) is Call:
        read.append(data)
    return None


def _raw_bytes(value: Any) -> bool:
    """A bytes literal (left in place when large), or protocol 2's ``_codecs.encode(<str literal>, 'latin1')``."""
    from safeload.engine.values import BigBytes, Call, Global

    if type(value) in (bytes, BigBytes):
        return True
    return (type(value) is Call and type(value.func) is Global and value.func.full == "_codecs.encode"
            and type(value.args) is tuple and len(value.args) == 2 and type(value.args[0]) is str
            and value.args[1] == "latin1" and value.kwargs is None and value.state is None and value.items is None)


def _numeric_dtype(dtype: Any) -> str | None:
    """Why ``dtype`` is not a numeric ``numpy.dtype(code, False, True)`` as ndarray.__reduce__ pickles one."""
    from safeload.engine.values import Call, Global

    if type(dtype) is not Call or type(dtype.func) is not Global or dtype.func.full != "numpy.dtype" \
            or dtype.owner is not dtype.func or type(dtype.args) is not tuple or len(dtype.args) != 3 \
            or type(dtype.args[0]) is not str or not _PINT_DTYPE.match(dtype.args[0]) or dtype.items is not None \
            or dtype.kwargs is not None:
        return "the magnitude array's dtype is not a numeric numpy.dtype (object, str, void and datetime are refused)"
    dstate = dtype.state
    if dstate is not None and (type(dstate) is not tuple or len(dstate) != 8 or dstate[2:5] != (None, None, None)
                               or any(type(item) is not int for item in (dstate[0], *dstate[5:]))
                               or dstate[1] not in ("<", ">", "|", "=")):
        return "the magnitude array's dtype state is not a plain numeric dtype's (no fields, no subarray)"
    return None


def _pint_units(value: Any, read: list[Any]) -> tuple[str | None, int]:
    """Why ``value`` is not a units argument ``_pint_quantity`` admits (and how many unit names it holds): a
    ``pint.util.UnitsContainer`` made in this stream with no arguments, given by BUILD the state
    ``UnitsContainer.__getstate__`` writes, ``(udict, 1, builtins.float)``, whose ``pint.util.udict`` (made with no
    arguments, no BUILD) was filled by SETITEM(S) with identifier unit names and bounded int/float exponents."""
    from safeload.engine.values import Global

    if not _made_by(value, "pint.util.UnitsContainer") or value.items is not None:
        return (f"the units are {_describe_arg(value)}, not a pint.util.UnitsContainer made in this stream with no "
                "arguments (a str there is parsed by pint's evaluator)"), 0
    state = value.state
    if type(state) is not tuple or len(state) != 3:
        return "the UnitsContainer has not been given the (udict, one, non_int_type) state pint writes", 0
    names, one, non_int_type = state
    if type(one) is not int or one != 1 or type(non_int_type) is not Global or non_int_type.full != "builtins.float":
        return "the UnitsContainer's state is not (udict, 1, builtins.float), what pint writes for float magnitudes", 0
    if not _made_by(names, "pint.util.udict") or names.state is not None:
        return (f"the UnitsContainer's mapping is {_describe_arg(names)}, not a pint.util.udict made in this stream "
                "and filled by SETITEM(S)"), 0
    count = 0
    for batch in names.items or ():
        if type(batch) is not list or len(batch) % 2:
            return "the udict was filled by something other than SETITEM(S)", 0
        for key, exponent in zip(batch[::2], batch[1::2], strict=True):
            count += 1
            if type(key) is not str:
                return f"a unit name is {_describe_arg(key)}, not a plain str", 0
            if len(key) > PINT_MAX_NAME or not _PINT_UNIT_NAME.match(key):
                return (f"the unit name {_short(key)} is not an ASCII identifier of at most {PINT_MAX_NAME} "
                        "characters: _unpickle hands every name to application_registry.parse_units, whose "
                        "evaluator computes arithmetic (** on Python ints)"), 0
            if type(exponent) is int:
                big = abs(exponent) > PINT_MAX_EXPONENT
            elif type(exponent) is float:
                big = not abs(exponent) <= PINT_MAX_EXPONENT  # NaN and infinities too
            else:
                return f"the exponent of {key!r} is {_describe_arg(exponent)}, not a plain int or float", 0
            if big:
                return (f"the exponent of {key!r} exceeds {PINT_MAX_EXPONENT} in absolute value (conversions raise "
                        "unit factors to it)"), 0
    if count > PINT_MAX_UNITS:
        return f"the UnitsContainer holds more than {PINT_MAX_UNITS} unit names", 0
    read.extend((value, names))
    return None, count


def _pint_quantity(args: tuple[Any, ...], kwargs: Any, data: tuple[str, ...],  # noqa: PLR0917
                   admitted: Admitted, spent: int,
                   read: list[Any]) -> tuple[str | None, Record]:
    """pint 0.25 ``_unpickle_quantity(cls, *args)`` as ``PlainQuantity.__reduce__`` pickles a quantity:
    ``(PlainQuantity, self.magnitude, self._units)``. It ignores ``cls``, hands every key of a UnitsContainer among
    ``args`` to ``application_registry.parse_units`` (``ParserHelper.from_string``: pint's tokenizer and evaluator)
    and returns ``application_registry.Quantity(*args)``, which stores the magnitude (a str magnitude is stored,
    then parsed by later operations) and the container as they are. Admitted (``data`` names the class): exactly
    the class, a magnitude ``_pint_magnitude`` admits and units ``_pint_units`` admits; an identifier is one NAME
    token for the evaluator, looked up in the registry (the first look-up loads pint's own definition files)."""
    from safeload.engine.values import Global

    del admitted
    if kwargs is not None:
        return "keyword arguments given to a function pickles call positionally", (0, 0, 0)
    if len(args) != 3:
        return f"{len(args)} argument(s); PlainQuantity.__reduce__ writes (class, magnitude, units)", (0, 0, 0)
    cls, magnitude, units = args
    if type(cls) is not Global or cls.full not in data:
        return f"the class argument is {_describe_arg(cls)}, not {' or '.join(data)}", (0, 0, 0)
    found: list[Any] = []
    odd = _pint_magnitude(magnitude, found)
    if odd is not None:
        return odd, (0, 0, 0)
    odd, count = _pint_units(units, found)
    if odd is not None:
        return odd, (0, 0, 0)
    if spent + count > PINT_MAX_WORK:
        return f"the quantities of this stream name more than {PINT_MAX_WORK} units to parse", (0, 0, 0)
    read.extend(found)
    return None, (0, count, count)


#: the most bits a numerator or denominator given to ``fractions.Fraction`` may have (``_fraction_value``)
FRACTION_MAX_BITS = 1 << 16
#: a Fraction as older Pythons pickled it (``str(self)``: "p" or "p/q"); int() bounds the digits (4300)
_FRACTION_TEXT = re.compile(r"[-+]?[0-9]{1,4300}(?:/[0-9]{1,4300})?\Z")


def _fraction_value(args: tuple[Any, ...], kwargs: Any, data: tuple[str, ...],  # noqa: PLR0917
                    admitted: Callable[[Any], Record | None], spent: int, read: list[Any]) -> tuple[str | None, Record]:
    """``fractions.Fraction`` as ``Fraction.__reduce__`` pickles it: REDUCE of the class with the numerator and
    denominator (plain ints; Python < 3.12 also ``(str(self),)``, "p" or "p/q"). Red team R12-4: anything else is
    computed without bound at load: a str with an exponent (``Fraction("1e300000000")`` builds ``10**300000000``,
    minutes of CPU from a 41-byte file), a Decimal (``as_integer_ratio`` does the same), an object's
    ``as_integer_ratio``/``numerator``. Admitted: one or two plain ints of at most ``FRACTION_MAX_BITS`` bits (one
    gcd of them), or one str "p" / "p/q" of ASCII digits; no keywords."""
    if kwargs:
        return "keyword arguments (Fraction pickles none)", (0, 0, 0)
    if not 1 <= len(args) <= 2:
        return f"{len(args)} arguments (Fraction pickles one or two)", (0, 0, 0)
    if len(args) == 1 and type(args[0]) is str:
        return (None, (0, 0, 0)) if _FRACTION_TEXT.match(args[0]) else \
            (f"the text {_short(args[0])!r} is not 'p' or 'p/q' (an exponent or a decimal part is computed at "
             "load without bound)", (0, 0, 0))
    for position, value in enumerate(args):
        if type(value) is not int:
            return f"argument {position} is {_describe_arg(value)}, not a plain int or 'p/q' text", (0, 0, 0)
        if value.bit_length() > FRACTION_MAX_BITS:
            return f"argument {position} has more than {FRACTION_MAX_BITS} bits", (0, 0, 0)
    return None, (0, 0, 0)


def pickler_codec(encoding: object) -> bool:
    """``encoding`` names one of the text codecs picklers write (latin-1, utf-8, ascii), by any of their names, as
    ``codecs.lookup`` normalises it (without looking anything up)."""
    import encodings
    from encodings.aliases import aliases

    if type(encoding) is not str:
        return False
    norm = encodings.normalize_encoding(encoding.lower().replace(" ", "_").replace("-", "_"))
    return (aliases.get(norm) or aliases.get(norm.replace(".", "_")) or norm) in ("latin_1", "utf_8", "ascii")


#: the codecs ``codecs.decode``/``_codecs.decode`` are admitted with (``decoder_codec``): the pickler text codecs
#: and the bytes-to-bytes ones the engine decodes itself (``Semantics._run_decoder``)
_DECODER_CODECS = frozenset({"latin_1", "utf_8", "ascii", "hex_codec", "base64_codec", "zlib_codec", "bz2_codec"})


def decoder_codec(encoding: object) -> bool:
    """``encoding`` names a codec ``codecs.decode`` is admitted with (red team R12-6: idna decodes and re-encodes
    each label in quadratic pure Python, in the loader and, before, in the scanner's own model of the call)."""
    import encodings
    from encodings.aliases import aliases

    if type(encoding) is not str:
        return False
    norm = encodings.normalize_encoding(encoding.lower().replace(" ", "_").replace("-", "_"))
    return (aliases.get(norm) or aliases.get(norm.replace(".", "_")) or norm) in _DECODER_CODECS


def _text_encode(args: tuple[Any, ...], kwargs: Any, data: tuple[str, ...],  # noqa: PLR0917
                 admitted: Callable[[Any], Record | None], spent: int, read: list[Any]) -> tuple[str | None, Record]:
    """``_codecs.encode(text, encoding="utf-8", errors="strict")`` as picklers write it (protocols 0-2 pickle
    bytes as ``_codecs.encode(text, "latin1")``): a str and one of the codecs a pickler uses (latin-1, utf-8,
    ascii, by any of their names), strict errors, no keywords. Red team R12-6: the call runs whatever codec the file
    names, and some are slow in the text's length (``punycode`` and ``idna`` encode in quadratic pure Python: 60 KB
    of text, 59 s of load)."""
    if kwargs:
        return "keyword arguments (picklers write none)", (0, 0, 0)
    if not 1 <= len(args) <= 3 or type(args[0]) is not str:
        return "not a str and a codec name", (0, 0, 0)
    encoding = args[1] if len(args) > 1 else "utf-8"
    if type(encoding) is not str or (len(args) > 2 and args[2] != "strict"):
        return "a codec or error handler computed at load", (0, 0, 0)
    if not pickler_codec(encoding):
        return f"the codec {_short(encoding)!r} is not one a pickler writes (latin-1, utf-8, ascii)", (0, 0, 0)
    return None, (0, 0, 0)


#: spaCy 3.8.18 attrs.pxd: the token attribute ids a tokenizer special case may set (``_validate_special_case``
#: raises for any other): ORTH (the text, must join to the case's string) and NORM
SPACY_ORTH, SPACY_NORM = 65, 67
#: bounds on a special case (spaCy's English exceptions: 1,347 cases, strings of at most 12 characters, at most 3
#: tokens): ``Tokenizer.__init__`` runs the tokenizer's regular expressions on every case's string at load
#: (``add_special_case`` -> ``find_prefix``/``find_infix``/``find_suffix``, ``_tokenize_affixes``)
SPACY_RULE_MAX_CHARS = 64
SPACY_RULE_MAX_TOKENS = 16
SPACY_MAX_RULES = 16384
_SPACY_TOKENIZER_SLOTS = ("prefix_search", "suffix_search", "infix_finditer", "token_match", "url_match")
_SPACY_VOCAB = "spacy.vocab.unpickle_vocab"
_RE_COMPILE = frozenset({"re._compile", "re.compile"})


def _spacy_rules(rules: Any) -> str | None:
    """Why ``rules`` is not a special-case table as ``Tokenizer.__reduce__`` pickles ``self.rules``: a plain dict of
    str -> list of plain dicts {ORTH or NORM: str} (ORTH present), within the bounds above (at most the work of
    tokenizing ~1 MB of text with spaCy's own patterns)."""
    if type(rules) is not dict:
        return f"the rules are {_describe_arg(rules)}, not a plain dict"
    if len(rules) > SPACY_MAX_RULES:
        return f"more than {SPACY_MAX_RULES} special cases (each is matched against the patterns at load)"
    for chunk, tokens in rules.items():
        if type(chunk) is not str or len(chunk) > SPACY_RULE_MAX_CHARS:
            return f"a special case's string is not a str of at most {SPACY_RULE_MAX_CHARS} characters"
        if type(tokens) is not list or not 1 <= len(tokens) <= SPACY_RULE_MAX_TOKENS:
            return f"the special case {_short(chunk)!r} is not a list of 1 to {SPACY_RULE_MAX_TOKENS} token dicts"
        for spec in tokens:
            if type(spec) is not dict or SPACY_ORTH not in spec \
                    or any(key not in (SPACY_ORTH, SPACY_NORM) or type(key) is not int or type(value) is not str
                           for key, value in spec.items()):
                return (f"a token of the special case {_short(chunk)!r} is not a plain dict of ORTH ({SPACY_ORTH}) "
                        f"and NORM ({SPACY_NORM}) ids to str")
    return None


def _spacy_regex_method(value: Any, slot: str, reviewed: dict[str, tuple[str, int, str]]) -> str | None:
    """Why ``value`` is not what the tokenizer may keep as ``slot``: ``None``, or the one reviewed method bound by
    getattr to ``re._compile(<str literal>, <int literal>)`` whose pattern text (sha256) and flags are the reviewed
    ones for that slot (the engine ranks such a method as ``re.Pattern.<method>`` with its receiver kept)."""
    import hashlib

    from safeload.engine.values import Call, Global

    if value is None:
        return None
    expected = reviewed.get(slot)
    if expected is None:
        return f"{slot} is {_describe_arg(value)}; only None is reviewed there"
    method, flags, digest = expected
    receiver = value.receiver if type(value) is Global else None
    if type(value) is not Global or value.full != f"re.Pattern.{method}" or type(receiver) is not Call \
            or type(receiver.func) is not Global or receiver.func.full not in _RE_COMPILE:
        return f"{slot} is {_describe_arg(value)}, not the {method} method of a pattern re._compile made"
    args = receiver.args
    if type(args) is not tuple or len(args) != 2 or type(args[0]) is not str or type(args[1]) is not int \
            or receiver.kwargs is not None or receiver.state is not None or receiver.items is not None:
        return f"the pattern of {slot} is not compiled from a str literal and int flags"
    if args[1] != flags or hashlib.sha256(args[0].encode("utf-8", "surrogatepass")).hexdigest() != digest:
        return (f"the pattern of {slot} (flags {args[1]}) is not the reviewed one (the load runs it on every special "
                "case's string, and a backtracking pattern can take exponential time)")
    return None


def _spacy_tokenizer(args: tuple[Any, ...], kwargs: Any, data: tuple[str, ...],  # noqa: PLR0917
                     admitted: Admitted, spent: int, read: list[Any]) -> tuple[str | None, Record]:
    """spaCy 3.8.18 ``Tokenizer(vocab, rules, prefix_search, suffix_search, infix_finditer, token_match, url_match)``
    as ``Tokenizer.__reduce__`` pickles it (tokenizer.pyx). ``__init__`` stores the five callables (each setter
    reloads the special cases), then ``_load_special_cases(rules)``: for every case ``_validate_special_case``
    (ORTH texts must join to the string; only ORTH/NORM), ``vocab.make_fused_token`` (lexemes: the vocab's reviewed
    getters) and the prefix/infix/suffix searches on the string, so the callables run at load on the file's strings
    and on every ``nlp(text)`` later. Admitted: exactly seven positional arguments; the vocab an
    ``unpickle_vocab`` REDUCE made in this stream; a rules table ``_spacy_rules`` admits; each callable ``None`` or
    the reviewed method of a pattern compiled from the reviewed text (``data``: ``"slot method flags sha256"``,
    spaCy's own English defaults). The rules dicts are read (and checked again when the stream ends)."""
    from safeload.engine.values import Call, Global

    del admitted, spent
    if kwargs is not None:
        return "keyword arguments (Tokenizer.__reduce__ writes seven positional ones)", (0, 0, 0)
    if len(args) != 7:
        return f"{len(args)} argument(s); Tokenizer.__reduce__ writes seven", (0, 0, 0)
    vocab = args[0]
    if type(vocab) is not Call or type(vocab.func) is not Global or vocab.func.full != _SPACY_VOCAB \
            or vocab.partial_func is not None:
        return f"the vocab is {_describe_arg(vocab)}, not the object an {_SPACY_VOCAB} call made", (0, 0, 0)
    odd = _spacy_rules(args[1])
    if odd is not None:
        return odd, (0, 0, 0)
    reviewed: dict[str, tuple[str, int, str]] = {}
    for line in data:
        slot, method, flags, digest = line.split()
        reviewed[slot] = (method, int(flags), digest)
    for slot, value in zip(_SPACY_TOKENIZER_SLOTS, args[2:], strict=True):
        odd = _spacy_regex_method(value, slot, reviewed)
        if odd is not None:
            return odd, (0, 0, 0)
    read.append(args[1])
    return None, (0, 0, 0)


def _spacy_tokenizer_recheck(args: tuple[Any, ...], read: list[Any], admitted: Admitted,
                             seen: set[tuple[int, int]]) -> str | None:
    """The rules table an admitted Tokenizer kept, as the stream left it (SETITEM(S)/APPEND(S) through a memo
    reference after the call is not watched by the walk): it must still be one ``_spacy_rules`` admits."""
    del admitted
    for rules in read:
        if (id(rules), -1) in seen:
            continue
        seen.add((id(rules), -1))
        odd = _spacy_rules(rules)
        if odd is not None:
            return f"the rules were changed after the call: {odd}"
    return None


#: contract name -> (the check, the opcode use it admits: NEW for a class's ``__new__`` given by NEWOBJ/NEWOBJ_EX,
#: CALL for a function called by REDUCE)
_ARGUMENT_CONTRACTS: dict[str, tuple[Callable[[tuple[Any, ...], Any, tuple[str, ...], Admitted,
                                              int, list[Any]], tuple[str | None, Record]], str]] = {
    "sympy_new": (lambda args, kwargs, data, admitted, spent, read: _sympy_new(args, kwargs, data, admitted, spent),
                  "new"),
    "pint_quantity": (_pint_quantity, "call"),
    _SYMPY_DOMAIN: (_no_arguments, "new"),
    "sympy_matrix": (_no_arguments, "new"),
    _SYMPY_MATRIX_REP: (_sympy_matrix_rep, "call"),
    "fraction_value": (_fraction_value, "call"),
    "text_encode": (_text_encode, "call"),
    "spacy_tokenizer": (_spacy_tokenizer, "call"),
}

#: contracts whose admitted calls keep mutable arguments the engine does not watch (plain dicts): checked again,
#: on what ``read`` received, when the stream ends
_ARGUMENT_RECHECKS: dict[str, Callable[[tuple[Any, ...], list[Any], Admitted, set[tuple[int, int]]],
                                        str | None]] = {
    _SYMPY_MATRIX_REP: _sympy_matrix_rep_recheck,
    "spacy_tokenizer": _spacy_tokenizer_recheck,
}


def argument_use(contract: str) -> str | None:
    """``"new"`` (NEWOBJ/NEWOBJ_EX of the class) or ``"call"`` (REDUCE of the function): how the load must use a
    name whose entry names ``contract``; None for an unknown contract."""
    found = _ARGUMENT_CONTRACTS.get(contract)
    return found[1] if found is not None else None


#: argument positions an admitted call's contract reads whole and holds to what it read: their uses are the
#: contract's, not escapes (``_unpickle_quantity`` ignores its class argument; the units are checked to the last
#: name and frozen). The magnitude stays an escape: the quantity hands it to numpy and pint code later.
_DECLARED_POSITIONS: dict[str, frozenset[int]] = {"pint_quantity": frozenset({0, 2})}


def argument_declared(contract: str) -> frozenset[int]:
    """The argument positions whose use ``contract`` records itself (see ``_DECLARED_POSITIONS``)."""
    return _DECLARED_POSITIONS.get(contract, frozenset())


def argument_rechecked(contract: str) -> bool:
    """Whether ``contract``'s admitted calls are checked again when the stream ends (``argument_recheck``)."""
    return contract in _ARGUMENT_RECHECKS


def argument_recheck(contract: str, args: tuple[Any, ...], read: list[Any], admitted: Admitted,
                     seen: set[tuple[int, int]] | None = None) -> str | None:
    """Why an admitted call under ``contract`` is refused after all, by the state the stream left what it
    ``read`` in (``None`` when it still holds; also for a contract without a recheck). ``seen`` is shared by the
    rechecks of one stream: what one of them read is not read again."""
    check = _ARGUMENT_RECHECKS.get(contract)
    return check(args, read, admitted, set() if seen is None else seen) if check is not None else None


def argument_refusal(contract: str, data: tuple[str, ...], args: tuple[Any, ...], kwargs: Any,
                     admitted: Admitted, *, spent: int = 0,
                     read: list[Any] | None = None) -> tuple[str | None, Record]:
    """Why ``args``/``kwargs`` break ``contract`` (``None`` when admitted), and what the contract records for the
    object made: ``admitted(value)`` hands that record back for an object an admitted instantiation or call under
    the same contract made in this stream (``None`` for any other value). The record's second item is the object's
    cost; ``spent`` is the sum of the costs of the stream's admitted objects under this contract so far. When the
    arguments are admitted, ``read`` receives the objects made earlier in the stream whose current state the check
    read (the engine refuses any later change to them). An unknown contract refuses."""
    found = _ARGUMENT_CONTRACTS.get(contract)
    if found is None:
        return f"unknown argument contract {contract!r}", (0, 0, 0)
    return found[0](args, kwargs, data, admitted, spent, read if read is not None else [])
