"""Effect analysis of one function body read from source: does running it (with values from the file) do
anything but compute on data?

Invariant: a body is ``inert`` only when every statement is one this module models and every call reaches
code that is (a) allowed by the catalogue for that call, (b) a reviewed pure builtin or benign helper, or
(c) itself analysed inert (methods of ``self``/``super()``, functions and classes of installed modules).
Calls of a parameter are recorded in ``invokes`` (the file decides what is called); protocol methods run on
values from the file (``len(x)`` runs ``type(x).__len__``) are recorded in ``touches``. Everything else --
an unresolvable callee, a dynamic attribute name, I/O, a nested import -- makes the body not inert, with the
line. Nothing is imported or executed.
"""

from __future__ import annotations

import ast
import builtins
import types
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from safeload.catalog import source_tables as tables
from safeload.catalog.source_getattr import specialise
from safeload.catalog.source_locate import declares_entry_points
from safeload.catalog.source_model import (
    Binding,
    ClassModel,
    Leaf,
    ModuleInfo,
    Ref,
    Resolver,
    as_model,
    stdlib_generic_alias_hook,
)
from safeload.catalog.source_reviews import identity_decorator
from safeload.catalog.uses import Use

__all__ = ["Effects", "Fail", "Outcome"]

Catalog = Callable[[str, Use], "bool | None"]

_BUILTIN_TOUCH = {
    "len": "__len__", "str": "__str__", "repr": "__repr__", "ascii": "__repr__", "format": "__format__",
    "int": "__int__/__index__", "float": "__float__", "complex": "__complex__", "bool": "__bool__",
    "hash": "__hash__", "abs": "__abs__", "round": "__round__", "bytes": "__bytes__/__iter__",
    "iter": "__iter__", "next": "__next__", "list": "__iter__", "tuple": "__iter__", "set": "__iter__",
    "frozenset": "__iter__", "dict": "keys/__getitem__/__iter__", "sorted": "__iter__/__lt__",
    "enumerate": "__iter__", "zip": "__iter__", "sum": "__iter__/__add__", "min": "__iter__/__lt__",
    "max": "__iter__/__lt__", "any": "__iter__/__bool__", "all": "__iter__/__bool__", "reversed": "__reversed__",
    "getattr": "__getattribute__/__getattr__", "hasattr": "__getattribute__/__getattr__",
    "isinstance": "__class__/__getattribute__/__getattr__", "callable": "__call__ lookup", "dir": "__dir__",
    "divmod": "__divmod__/__rdivmod__",
    "pow": "__pow__/__rpow__", "bin": "__index__", "oct": "__index__", "hex": "__index__", "chr": "__index__",
}
_ENUM_DEFINES = frozenset(
    "__new__ __init__ __hash__ _missing_ __reduce_ex__ __deepcopy__ __copy__ __format__ __repr__ __str__ "
    "__dir__ name value _generate_next_value_ __init_subclass__".split())
_NAMEDTUPLE_DEFINES = frozenset("__new__ __getnewargs__ __repr__ _asdict _replace _make __match_args__".split())
_DATA_TYPES = frozenset("object dict list tuple set frozenset str bytes bytearray int float complex bool".split())
_DATA_DUNDERS = frozenset("__new__ __init__ __setitem__ __getitem__ __contains__ __len__ __eq__ __ne__ __hash__ "
                          "__repr__ __str__ __iter__".split())
#: Calls whose result is an instance of a builtin type (its protocol methods are C code on its own data).
#: builtins whose result is of a builtin type whatever they are given (C code checks or builds it); the others
#: (``max``, ``next``, ``abs``, ``round``, ``getattr``...) may hand back an argument or what its method returned
_BUILTIN_TYPED_RESULTS = frozenset(
    "str repr ascii format int float complex bool len hash bytes bin oct hex chr ord isinstance issubclass "
    "callable id hasattr dir sorted".split())
_BUILTIN_VALUE_CALLS = frozenset(
    "builtins.dict builtins.list builtins.set builtins.frozenset builtins.tuple builtins.str builtins.bytes "
    "builtins.bytearray builtins.int builtins.float builtins.complex builtins.bool builtins.object builtins.sorted "
    "builtins.range builtins.slice collections.OrderedDict collections.defaultdict collections.deque "
    "collections.Counter types.MappingProxyType types.SimpleNamespace re.compile _collections.defaultdict "
    "_collections.deque _collections.OrderedDict".split()
    # math's functions return a float, int or bool (CPython mathmodule.c); what they run on an argument
    # (__float__, __index__) is the argument's protocol, checked where it is passed. Not floor, ceil and trunc:
    # they return whatever the argument's __floor__/__ceil__/__trunc__ returns (red team R5-6)
    + [f"math.{name}" for name in (
        "sqrt log log2 log10 log1p exp expm1 pow fabs copysign fmod fsum prod hypot dist cos sin "
        "tan acos asin atan atan2 cosh sinh tanh acosh asinh atanh erf erfc gamma lgamma degrees radians factorial "
        "comb perm gcd lcm isqrt isclose isfinite isinf isnan ldexp").split()])
_TYPE_LEAF = Leaf("builtins.type", "builtin")
#: What CPython 3.11-3.13 typing runs on the arguments of ``Generic.__class_getitem__`` (``_generic_subscript``) and
#: of ``TypeVar(name, *constraints, bound=...)`` (``typing._type_check`` of each): attribute reads
#: (``__typing_subst__``, ``__parameters__``, ``__origin__``...: a property or method of that name is analysed;
#: the hooks run by any read), iteration of a TypeVarTuple's argument and of ``__parameters__``, ``==`` against
#: typing's special forms (``arg in (Any, ...)``), the alias cache's ``__hash__``/``__eq__``, and ``repr`` in the
#: TypeError raised for a bad argument. ``isinstance(arg, X)`` and ``callable(arg)`` run X's metaclass' check and
#: nothing of the argument's. Known limit: a class argument's own class attribute of those names being a custom
#: descriptor (its ``__get__`` runs on the read) is not followed.
_GENERIC_ARG_NAMES = ("__hash__", "__eq__", "__ne__", "__repr__", "__getattribute__", "__getattr__", "__iter__",
                      "__bool__", "__parameters__", "__typing_subst__", "__typing_prepare_subst__",
                      "__typing_is_unpacked_typevartuple__", "__origin__", "__args__", "__unpacked__")
#: The typing constructors whose arguments only see ``_GENERIC_ARG_NAMES`` (spelled as the source imports them)
_TYPEVAR_CALLS = frozenset({"typing.TypeVar", "typing.ParamSpec", "typing.TypeVarTuple"})
_TYPE_CHECKS = frozenset({"__instancecheck__", "__subclasscheck__"})
_CALL_ARG_CTX = ("warnings.catch_warnings", "contextlib.suppress", "contextlib.nullcontext")


_SYS_MODULES_ITEM = "sys.modules[...]"

#: Protocol methods builtins and syntax may run implicitly on an object handed to them (formatting, unpacking,
#: splats, sorting, hashing, indexing, numeric conversion, truth, iteration, comparisons, arithmetic with a
#: builtin on the left, copying, context management, calling). An object of a source class that escapes into an
#: operation the analysis does not model one by one has every one of these its class defines analysed.
_IMPLICIT = ("__format__", "__str__", "__repr__", "__iter__", "__next__", "__reversed__", "__getitem__", "__len__",
             "__length_hint__", "__contains__", "__bool__", "__hash__", "__eq__", "__ne__", "__lt__", "__le__",
             "__gt__", "__ge__", "__index__", "__int__", "__float__", "__complex__", "__round__", "__trunc__",
             "__abs__", "__neg__", "__pos__", "__invert__", "__bytes__", "__fspath__", "keys", "__add__", "__radd__",
             "__floor__", "__ceil__",  # math.floor/math.ceil (red team R5-6)
             "__sub__", "__rsub__", "__mul__", "__rmul__", "__truediv__", "__rtruediv__", "__floordiv__",
             "__rfloordiv__", "__mod__", "__rmod__", "__pow__", "__rpow__", "__and__", "__rand__", "__or__",
             "__ror__", "__xor__", "__rxor__", "__lshift__", "__rlshift__", "__rshift__", "__rrshift__",
             "__matmul__", "__rmatmul__", "__divmod__", "__rdivmod__", "__copy__", "__deepcopy__", "__reduce_ex__",
             "__reduce__", "__getstate__", "__enter__", "__exit__", "__call__", "__mro_entries__", "__instancecheck__",
             # the operation may read attributes of the instance (isinstance reads __class__, typing and
             # numpy look __typing_subst__/__array_interface__ up): red team R5-2
             "__getattribute__", "__getattr__")

#: attributes every module object has, set by the import system: a module ``__getattr__`` never runs for them
_MODULE_ATTRIBUTES = frozenset({"__name__", "__doc__", "__package__", "__loader__", "__spec__", "__file__",
                                "__cached__", "__builtins__", "__dict__", "__class__"})


#: Methods of a builtin dict/list/tuple/str that neither mutate the receiver nor run code of its elements (no
#: hashing, no comparison): called at import on another module's module-level builtin table (``frozenset(
#: OTHER.LOSSES.keys())``), they only read it.
_VIEW_METHODS = frozenset({"keys", "values", "items", "copy"})

class Fail(Exception):  # noqa: N818 - control flow, not an error for callers
    """The body does something the analysis cannot prove inert."""

    def __init__(self, reason: str, where: str | None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.where = where


@dataclass
class Outcome:
    inert: bool
    reason: str
    where: str | None = None
    invokes: set[int | str] = field(default_factory=set)
    touches: set[str] = field(default_factory=set)
    #: what a call returns: ``None`` for data (constants, builtin values), an instance of a source class the
    #: body created (its protocol methods are analysed where used), ``_UNTRACKED`` (anything else: a value the
    #: analysis cannot name the class of), or ``_PASSED`` (one of the arguments, handed back)
    returns: _Val | None = None


def option_only_factory(dotted: str, call: ast.Call) -> bool:
    """``@f(option=<constant>, ...)`` of a reviewed factory (``tables.IMPORT_TIME_DECORATOR_FACTORIES``) with no
    positional argument and only reviewed keywords, each a plain constant (false where the review asks for it)."""
    allowed = tables.IMPORT_TIME_DECORATOR_FACTORIES.get(dotted)
    if allowed is None or call.args:
        return False
    for keyword in call.keywords:
        if keyword.arg is None or keyword.arg not in allowed:
            return False
        value = keyword.value
        if not isinstance(value, ast.Constant) or not isinstance(value.value, bool | int | str | None):
            return False
        if allowed[keyword.arg] and value.value:
            return False
    return True


def reviewed_constant_call(dotted: str, call: ast.Call) -> bool:
    """A call of ``dotted`` whose every argument is a constant its review admits
    (``tables.IMPORT_TIME_CONSTANT_CALLS``): no splat, no parameter the review did not list."""
    reviewed = tables.IMPORT_TIME_CONSTANT_CALLS.get(dotted)
    if reviewed is None:
        return False
    positional, allowed = reviewed
    if len(call.args) > len(positional):
        return False
    given: list[tuple[str | None, ast.expr]] = [(positional[i], arg) for i, arg in enumerate(call.args)]
    given += [(keyword.arg, keyword.value) for keyword in call.keywords]
    names = [name for name, _ in given]
    if len(set(names)) != len(names):
        return False
    for name, value in given:
        kind = allowed.get(name) if name is not None else None
        if kind is None or not isinstance(value, ast.Constant):
            return False
        if kind == "none" and value.value is not None:
            return False
        if kind == "int" and type(value.value) is not int:
            return False
    return True


@dataclass
class _Val:
    """The abstract value of an expression inside an analysed body."""

    kind: str  # const | fresh | self | cls | super | param | taint | global | logger | method
    key: int | str = ""
    ref: Ref | None = None
    #: ``_holding`` containers: the instances and untracked values they may hold (red team R7-4)
    items: tuple[_Val, ...] = ()

    @property
    def from_file(self) -> bool:
        return self.kind in ("param", "taint")


#: What a typing alias or ``types.UnionType``/``GenericAlias`` runs on the classes it holds (hashing, comparing,
#: combining, printing them)
_ALIAS_DUNDERS = ("__hash__", "__eq__", "__ne__", "__or__", "__ror__", "__repr__", "__getattribute__",
                  "__getattr__", "__instancecheck__", "__subclasscheck__", "__mro_entries__", "__getitem__")

_CONST = _Val("const")
_FRESH = _Val("fresh")
_TAINT = _Val("taint")
#: a local bound to different module-level objects, one of them of a class whose methods are library code
_MIXED = _Val("global", "mixed")
#: a value some code returned whose class the analysis does not know (a call's or an operator's result, an element
#: an instance's ``__iter__`` yields): running its protocol or data methods runs code nobody read (red team R5-6)
_UNTRACKED = _Val("taint", "result")
#: a function's summary result: it returns one of its arguments
_PASSED = _Val("taint", "passed")
#: ``x.__dict__`` of a value from the file: writing into it sets attributes of that object (red team R7-1)
_FILE_DICT = _Val("taint", "filedict")
#: a module-level object, ``self``, a method or a local def the library chose, reached through a container or a
#: call's result (``[f][0]``, ``{"k": f}["k"]``, ``MAP[k]``, ``get()`` returning ``f``): elsewhere read as the
#: untracked data it was read as before, but never a plain value: set as an attribute of an object from the file
#: it shadows a method as the object itself would (red team R7, cross-object shadow through a result)
_LIB_VALUE = _Val("taint", "libvalue")
#: a fresh builtin container holding such a value (what is read out of it is ``_LIB_VALUE``)
_LIB_ITEMS = _Val("fresh", "libitems")


def _plain_value(val: _Val) -> bool:
    """A value that cannot be a callable of the library or of the object itself: a constant, a fresh container,
    or a value from the file (which the engine ranks)."""
    if val.kind in ("const", "fresh"):
        return val.key not in ("localdef", "lambda")
    return val.kind == "param" or (val.kind == "taint" and val.key not in ("instance", "result", "holds", "oneof",
                                                                          "libvalue"))


def _chosen_by_library(val: _Val) -> bool:
    """``val`` is (or holds) an object the library chose rather than data: a module-level object, ``self``, a
    method, a local def or lambda, or a value read out of a container or call result holding one."""
    if val.key in ("libvalue", "libitems"):
        return True
    return not _plain_value(val) and not _untracked_source(val)


def _chosen_items(vals: Iterable[_Val]) -> tuple[_Val, ...]:
    """The objects the library chose among ``vals`` (those a ``_LIB_VALUE``/``_LIB_ITEMS`` carries, flattened):
    module-level objects, ``self``, methods, local defs. ``[C][0] | int`` runs C's metaclass operator."""
    out: list[_Val] = []
    for val in vals:
        for item in (val.items if val.key in ("libvalue", "libitems") else (val,) if _chosen_by_library(val) else ()):
            if item not in out:
                out.append(item)
    return tuple(out)


def _lib_value(vals: Iterable[_Val]) -> _Val:
    """``_LIB_VALUE`` carrying the objects it may be."""
    items = _chosen_items(vals)
    return _Val("taint", "libvalue", items=items) if items else _LIB_VALUE


def _fresh_holding(vals: Iterable[_Val]) -> _Val:
    """A fresh builtin container built from ``vals`` (when ``_holding`` tracks none of them)."""
    vals = list(vals)
    if not any(_chosen_by_library(v) for v in vals):
        return _FRESH
    items = _chosen_items(vals)
    return _Val("fresh", "libitems", items=items) if items else _LIB_ITEMS


#: protocol methods of a builtin container that run nothing of its items (the others -- comparisons, hashing,
#: formatting, arithmetic, conversions -- reach the items' own methods: ``[e] == [1]`` runs ``e.__eq__``)
_CONTAINER_OWN = frozenset({"__bool__", "__len__", "__iter__", "__getitem__", "__length_hint__", "__setitem__",
                            "__delitem__", "__next__", "__reversed__", "__class__", "__copy__"})
#: builtin data methods that compare, hash or order a container's items (``list.index`` runs ``__eq__``)
_ITEM_METHODS = frozenset({"index", "count", "remove", "sort", "add", "discard", "union", "intersection",
                           "difference", "issubset", "issuperset", "setdefault", "update", "get", "pop",
                           "join", "format"})
#: builtin data methods that store what they are given in the container
_STORING_METHODS = frozenset({"append", "insert", "extend", "update", "setdefault", "add", "__setitem__",
                              "appendleft", "extendleft", "fromkeys"})
#: builtin data methods whose result is one of a container's items (the others return a container or data)
_ITEM_RESULTS = frozenset({"get", "pop", "popitem", "setdefault"})


@dataclass
class _Frame:
    """One function body being analysed."""

    mod: ModuleInfo
    qualname: str
    self_model: ClassModel | None  # the class of ``self`` (the class the pickle names)
    defining: ClassModel | None  # the class whose body defines this function (for ``super()``)
    locals: dict[str, _Val]
    import_ctx: bool
    out: Outcome
    #: parameter name -> its default value expression (evaluated in the module when the def ran)
    defaults: dict[str, ast.expr] = field(default_factory=dict)
    #: undecorated functions defined in this body (called helpers are analysed with this frame as closure)
    nested: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = field(default_factory=dict)
    #: a module or class body run at import (its imports are followed by ``source_imports``' closure walk)
    toplevel: bool = False
    #: names a plain ``def`` of this module or class body bound last (``f.__doc__ = ...`` edits a docstring)
    defs: set[str] = field(default_factory=set)
    #: the values of the body's ``return`` statements
    returns: list[_Val] = field(default_factory=list)
    #: ids of the calls whose result a module's top level only binds to module-level names (``X = call(...)``)
    stored_calls: set[int] = field(default_factory=set)
    #: attributes this body sets on ``self`` to an object the library chose (``self.f = func``): reading them back
    #: gives that object, not state from the file
    self_chosen: dict[str, _Val] = field(default_factory=dict)

    def where(self, node: ast.AST | None) -> str:
        return self.mod.where(getattr(node, "lineno", 0) or 0, self.qualname)


def _extends_itself(value: ast.expr, name: str) -> bool:
    """``value`` is ``name + <str literal>`` (or the literal first): a str extended with a str."""
    if not isinstance(value, ast.BinOp) or not isinstance(value.op, ast.Add):
        return False
    sides = (value.left, value.right)
    return any(isinstance(n, ast.Name) and n.id == name for n in sides) and any(
        isinstance(n, ast.Constant) and isinstance(n.value, str) for n in sides)


_STR_METHODS = frozenset(n for n in (*dir(str), *dir(bytes)) if not n.startswith("_"))


def _str_method_of_literal(func: ast.expr) -> bool:
    """``func`` is ``<str or bytes literal>.<method>`` (an f-string counts): the result of every public str/bytes
    method is a builtin value (str, bytes, list, tuple, int, bool)."""
    if not isinstance(func, ast.Attribute) or func.attr not in _STR_METHODS:
        return False
    base = func.value
    return isinstance(base, ast.JoinedStr) or (isinstance(base, ast.Constant) and isinstance(base.value, str | bytes))


def _defaults(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> dict[str, ast.expr]:
    args = fn.args
    positional = [*args.posonlyargs, *args.args]
    out = {a.arg: d for a, d in zip(positional[len(positional) - len(args.defaults):], args.defaults, strict=True)}
    out.update({a.arg: d for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d is not None})
    return out


def _params(fn: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda, skip_first: bool) -> dict[str, _Val]:
    args = fn.args
    positional = [*args.posonlyargs, *args.args]
    out: dict[str, _Val] = {}
    if skip_first and positional:
        positional = positional[1:]
    for index, arg in enumerate(positional):
        out[arg.arg] = _Val("param", index)
    for arg in args.kwonlyargs:
        out[arg.arg] = _Val("param", arg.arg)
    if args.vararg:
        out[args.vararg.arg] = _Val("taint")
    if args.kwarg:
        out[args.kwarg.arg] = _Val("taint")
    return out


def _first_param(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> str | None:
    positional = [*fn.args.posonlyargs, *fn.args.args]
    return positional[0].arg if positional else None


def _decorator_names(resolver: Resolver, mod: ModuleInfo, fn: ast.FunctionDef | ast.AsyncFunctionDef) -> list[
        tuple[ast.expr, Ref]]:
    return [(d, resolver.expr(mod, d.func if isinstance(d, ast.Call) else d)) for d in fn.decorator_list]


class Effects:
    """Analyses bodies for one top-level ``analyse`` call (memoised, bounded)."""

    def __init__(self, resolver: Resolver, catalog: Catalog | None,
                 class_use: Callable[[Ref, Use, int], Outcome], *, budget: int = 400, max_depth: int = 12) -> None:
        self.resolver = resolver
        self.catalog = catalog
        self.class_use = class_use
        self.budget = budget
        self.max_depth = max_depth
        self._memo: dict[tuple[int, str, bool], Outcome] = {}
        self._active: set[tuple[int, str, bool]] = set()
        #: set by the analyser: the import-effects verdict of a module (a call-time import runs it)
        self.import_check: Callable[[str], Outcome] | None = None
        #: per module: the verdict on its own top level and the modules it imports (``source_imports``)
        self.module_memo: dict[str, tuple[Outcome, list[tuple[str, bool]]]] = {}
        #: module __getattr__ hooks specialised to one name (the original is kept alive: memo keys are ids)
        self._specialised: dict[tuple[int, str, str | None], tuple[ast.FunctionDef, ast.FunctionDef]] = {}
        #: per entry-point group: whether an installed distribution declares a plugin in it
        self._plugins: dict[str, bool] = {}
        #: module-level builtin containers (by dotted name) the code at import filled with instances of source
        #: classes or untracked values (``REG = [make()]``, ``REG.append(E())``): what is read out of them is
        #: one of those (red team R7-4)
        self._held: dict[str, _Val] = {}

    def _hold(self, dotted: str, vals: Iterable[_Val]) -> None:
        """The module-level container ``dotted`` now also holds ``vals``. Bodies analysed before may have read
        it: the memo of analysed bodies is dropped when what it holds changes."""
        old = self._held.get(dotted)
        new = _holding([*(old.items if old is not None else ()), *vals])
        if new is not None and new != old:
            self._held[dotted] = new
            self._memo.clear()

    def _hold_root(self, frame: _Frame, target: ast.Subscript | ast.Attribute, val: _Val) -> None:
        """``x['a']['k'] = e``, ``x[0][0:0] = [e]``, ``ns.e = e``: the container (or namespace) the chain starts
        from, a local or a module-level data value, now holds ``e`` (red team R7-4)."""
        root: ast.expr = target.value
        while isinstance(root, ast.Subscript | ast.Attribute):
            root = root.value
        if not isinstance(root, ast.Name):
            return
        local = frame.locals.get(root.id)
        if local is not None and local.kind in ("self", "cls", "param"):
            return  # the object's own state, an argument: judged where it is stored (check_setattr, touches)
        if local is None and self.resolver.name_in(frame.mod, root.id).kind not in ("value", "unknown"):
            return  # a class, function or module: stores into them are judged where they happen
        held = _holding(self._as_held([val]))
        if held is not None:
            self._hold_local(frame, root, held)

    def class_body_value(self, frame: _Frame, name: str, value: ast.expr) -> _Val:
        """What a class body's name holds after ``name = value`` ran (the statements after it read it)."""
        held = self._held.get(f"{frame.mod.name}.{frame.qualname}.{name}")
        return held if held is not None else self._quiet(frame, value)

    def _hold_receiver(self, frame: _Frame, node: ast.Call, args: list[_Val], depth: int) -> None:
        """``x.append(v)``, ``x.update(k=v)``, ``x.setdefault(k, v)``: the container ``x`` names now holds what
        it was given when that is an instance, an untracked value or a container holding one."""
        given = self._as_held(args)
        held = _holding(given)
        func = node.func
        if not isinstance(func, ast.Attribute) or not isinstance(func.value, ast.Name):
            return
        if held is None:
            if func.attr in _STORING_METHODS and any(_chosen_by_library(v) for v in given):
                self._hold_local(frame, func.value, _fresh_holding(given))  # x.append(f): x[0] is f
            return
        if func.attr in ("add", "setdefault", "update", "union", "intersection", "difference"):
            self._touch(frame, [held], ("__hash__", "__eq__"), node, depth)  # keys are hashed and compared
        self._hold_local(frame, func.value, held)

    def _as_held(self, vals: Iterable[_Val]) -> list[_Val]:
        """``vals`` put into a container: a module-level instance of a source class is one (``x = E(); [x]``),
        and so is a module-level value a source function returned (``x = make(); [x]``): untracked."""
        out: list[_Val] = []
        for val in vals:
            held = val
            if self._is_value(val) and val.ref is not None:
                cls = self.value_class(val.ref)
                node, mod = val.ref.node, val.ref.module
                if isinstance(cls, ClassModel):
                    held = _Val("taint", "instance", ref=cls.ref)
                elif cls is None and isinstance(node, ast.Call) and mod is not None \
                        and self.resolver.expr(mod, node.func).kind == "function":
                    held = _UNTRACKED
            out.append(held)
        return out

    def _global(self, ref: Ref) -> _Val:
        held = self._held.get(ref.dotted)
        if held is not None:
            return held
        if ref.kind == "logger":
            return _Val("logger", ref=ref)
        return _Val("global", ref=ref)

    def _hold_local(self, frame: _Frame, target: ast.expr, val: _Val) -> None:
        """``target`` (a name, or a container it names: ``x[k] = v``, ``x.append(v)``) now holds ``val``, an
        instance of a source class, an untracked value or a container holding one (or, for a local fresh
        container, an object the library chose: what is read out of it is then ``_LIB_VALUE``)."""
        if not _untracked_source(val):
            if _chosen_by_library(val) and isinstance(target, ast.Name):
                current = frame.locals.get(target.id)
                if current is not None and current.kind == "fresh" and current.key not in ("localdef", "lambda"):
                    frame.locals[target.id] = _fresh_holding([current, val])
            return
        if isinstance(target, ast.Name):
            name = target.id
            if frame.toplevel and frame.qualname != "<module>":
                # a class body's container: the class attribute (``Owner.name`` reads it: ``_class_level``; an
                # instance is judged by its binding there, like a module-level one)
                if val.key == "holds":
                    self._hold(f"{frame.mod.name}.{frame.qualname}.{name}", [val])
                if name not in frame.locals:
                    return
            if name not in frame.locals:
                # a module-level container: functions called later read it through the module (a module-level
                # instance or result is judged by its binding: ``value_class``)
                if val.key == "holds":
                    self._hold(self.resolver.name_in(frame.mod, name).dotted, [val])
                return
            old = frame.locals.get(name)
            if old is None or old == val or not _untracked_source(old):
                frame.locals[name] = val
            else:
                frame.locals[name] = _holding([old, val]) or _UNTRACKED if "holds" in (old.key, val.key) \
                    else _UNTRACKED

    # --- entry points -----------------------------------------------------------------------------------
    def function(self, fn: ast.FunctionDef | ast.AsyncFunctionDef, mod: ModuleInfo, qualname: str, *,
                 self_model: ClassModel | None = None, defining: ClassModel | None = None,
                 bound: bool = False, import_ctx: bool = False, depth: int = 0,
                 cls_params: tuple[int, ...] = ()) -> Outcome:
        """Effects of calling ``fn``; ``bound``: its first parameter is ``self``/``cls`` (not from the file);
        ``cls_params``: positional parameters given the class being created (``self_model``) at import."""
        key = (id(fn), (self_model.dotted if self_model else "") + "".join(f"/{i}" for i in cls_params), import_ctx)
        if key in self._memo:
            return self._memo[key]
        if key in self._active:  # recursion adds no effect of its own
            return Outcome(True, "recursive call")
        if depth > self.max_depth:
            return Outcome(False, f"call chain deeper than {self.max_depth}", mod.where(fn.lineno, qualname))
        self.budget -= 1
        if self.budget < 0:
            return Outcome(False, "analysis budget exhausted (too much code reached)", mod.where(fn.lineno,
                                                                                              qualname))
        self._active.add(key)
        try:
            result = self._run(fn, mod, qualname, self_model=self_model, defining=defining, bound=bound,
                               import_ctx=import_ctx, depth=depth, cls_params=cls_params)
        finally:
            self._active.discard(key)
        self._memo[key] = result
        return result

    def _run(self, fn: ast.FunctionDef | ast.AsyncFunctionDef, mod: ModuleInfo, qualname: str, *,
             self_model: ClassModel | None, defining: ClassModel | None, bound: bool, import_ctx: bool,
             depth: int, cls_params: tuple[int, ...] = ()) -> Outcome:
        out = Outcome(True, "")
        frame = _Frame(mod, qualname, self_model, defining, {}, import_ctx, out, _defaults(fn))
        frame.locals.update(_params(fn, bound))
        positional = [*fn.args.posonlyargs, *fn.args.args]
        for index in cls_params:
            if index < len(positional) and import_ctx and self_model is not None:
                frame.locals[positional[index].arg] = _Val("cls")
        first = _first_param(fn)
        if bound and first:
            is_cls = any(isinstance(d, ast.Name) and d.id == "classmethod" for d in fn.decorator_list) or \
                fn.name in ("__new__", "__init_subclass__", "__class_getitem__")
            frame.locals[first] = _Val("cls" if is_cls else "self")
        try:
            decorators = _decorator_names(self.resolver, mod, fn)
            for index, (expr, dref) in enumerate(decorators):
                through = self.call_through(expr, dref)
                # innermost only: over staticmethod/classmethod, a binding wrapper would pass self on to them
                if through is not None and index == len(decorators) - 1 and (through.binds or (
                        len(decorators) == 1 and (not bound or fn.name == "__new__"))):
                    continue  # the wrapper runs this body with the caller's arguments
                reason = self.decorator_problem(expr, dref, depth)
                if reason:
                    raise Fail(f"decorated with {dref.dotted}: {reason}", frame.where(expr))
                if dref.dotted in ("functools.lru_cache", "functools.cache"):
                    out.touches.add("__hash__/__eq__")  # the cache hashes and compares the arguments
            self._prepass(frame, fn.body)
            self._prepass(frame, fn.body)
            for stmt in fn.body:
                self._stmt(frame, stmt, depth)
        except Fail as fail:
            return Outcome(False, fail.reason, fail.where, out.invokes, out.touches)
        except RecursionError:
            return Outcome(False, "body too deeply nested to analyse", frame.where(fn))
        out.reason = "only assigns, computes and calls analysed-inert code"
        out.where = frame.where(fn)
        out.returns = _summarise_returns(fn, frame.returns)
        return out

    # --- decorators -------------------------------------------------------------------------------------
    def call_through(self, expr: ast.expr, ref: Ref) -> tables.CallThrough | None:
        """The review of a call-through decorator (``source_tables.CALL_THROUGH_DECORATORS``) when ``expr``
        applies it in the reviewed form and no plugin it could dispatch to is installed; else ``None``."""
        through = tables.CALL_THROUGH_DECORATORS.get(ref.dotted)
        if through is None or (through.factory and not isinstance(expr, ast.Call)):
            return None
        if through.plugins is not None:
            found = self._plugins.get(through.plugins)
            if found is None:
                found = self._plugins[through.plugins] = declares_entry_points(
                    through.plugins, self.resolver.search_path, through.ignored)
            if found:
                return None
        return through

    def decorator_problem(self, expr: ast.expr, ref: Ref, depth: int) -> str | None:
        """``None`` when the decorator returns the decorated object unchanged (or is a reviewed inert one)."""
        if identity_decorator(ref.dotted, self.resolver, isinstance(expr, ast.Call)):
            return None  # reviewed by hash (source_tables.REVIEWED_DECORATORS)
        if ref.dotted in tables.INERT_DECORATORS or ref.dotted in ("functools.cached_property",
                                                                   "functools.lru_cache", "functools.cache"):
            return None  # (lru_cache hashes the arguments: recorded as a touch by function())
        if isinstance(expr, ast.Attribute) and expr.attr in ("setter", "getter", "deleter"):
            return None  # property.setter: the property model reads these
        if ref.kind != "function" or not isinstance(ref.node, ast.FunctionDef | ast.AsyncFunctionDef):
            return f"cannot tell what it returns ({ref.reason or ref.kind})"
        fn = ref.node
        if isinstance(expr, ast.Call):
            inner = _returned_def(fn)
            if inner is None:
                return "a decorator factory whose returned decorator is not a local def"
            fn = inner
        return _identity_problem(fn)

    # --- pre-pass: kinds of locals ------------------------------------------------------------------------
    def _prepass(self, frame: _Frame, body: list[ast.stmt]) -> None:
        for node in _walk_scope(body):
            if isinstance(node, ast.Assign):
                val = self._quiet(frame, node.value)
                for tgt in node.targets:
                    self._bind(frame, tgt, val)
                    if isinstance(tgt, ast.Attribute) and isinstance(tgt.value, ast.Name) and \
                            frame.locals.get(tgt.value.id, _CONST).kind == "self" and _chosen_by_library(val):
                        frame.self_chosen[tgt.attr] = _lib_value([frame.self_chosen.get(tgt.attr, _CONST), val])
            elif isinstance(node, ast.AnnAssign | ast.AugAssign) and node.value is not None:
                val = self._quiet(frame, node.value)
                if isinstance(node, ast.AugAssign):
                    val = _TAINT if val.from_file or self._kind_of(frame, node.target).from_file else _FRESH
                self._bind(frame, node.target, val)
            elif isinstance(node, ast.For | ast.AsyncFor):
                val = self._quiet(frame, node.iter)
                self._bind(frame, node.target, _LIB_VALUE if val.kind == "global" else _lib_value([val])
                           if val.key in ("libitems", "libvalue") else _TAINT if val.from_file or val.kind == "self"
                           else _FRESH)
            elif isinstance(node, ast.With | ast.AsyncWith):
                for item in node.items:
                    if item.optional_vars is not None:
                        self._bind(frame, item.optional_vars, _TAINT)
            elif isinstance(node, ast.NamedExpr):
                self._bind(frame, node.target, self._quiet(frame, node.value))
            elif isinstance(node, ast.comprehension):
                self._bind(frame, node.target, _TAINT)
            elif isinstance(node, ast.ExceptHandler) and node.name:
                frame.locals[node.name] = _TAINT
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                frame.locals[node.name] = _Val("fresh", "localdef")
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and not node.decorator_list:
                    frame.nested[node.name] = node
            elif isinstance(node, ast.Import | ast.ImportFrom):
                for local, ref in self._import_bindings(frame, node):
                    frame.locals[local] = _Val("global", ref=ref) if ref is not None else _TAINT

    def _kind_of(self, frame: _Frame, node: ast.expr) -> _Val:
        if isinstance(node, ast.Name):
            return frame.locals.get(node.id, _CONST)
        return _CONST

    def _bind(self, frame: _Frame, target: ast.expr, val: _Val) -> None:
        if isinstance(target, ast.Name):
            old = frame.locals.get(target.id)
            if old is not None and old != val and "method" in (old.kind, val.kind):
                # a bound method of the object in one binding, anything else in another: which one a call of
                # the name reaches is unknown (called, it is refused as a value computed at run time)
                frame.locals[target.id] = _TAINT
            elif old is None or (old.kind in ("const", "fresh") and old.key != "localdef"):
                frame.locals[target.id] = val
            elif old.kind == "global" and val.kind == "global" and old != val:
                # bound to different module-level objects: which one it holds is unknown (never called as one)
                frame.locals[target.id] = _MIXED if self._risky(old) or self._risky(val) else _Val("global")
            elif old != val:
                frame.locals[target.id] = _TAINT if (old.from_file or val.from_file) else old
        elif isinstance(target, ast.Tuple | ast.List):
            for elt in target.elts:
                self._bind(frame, elt, _lib_value([val]) if _chosen_by_library(val) else _TAINT
                           if val.kind != "const" else _CONST)
        elif isinstance(target, ast.Starred):
            self._bind(frame, target.value, _TAINT)

    def _quiet(self, frame: _Frame, node: ast.expr) -> _Val:
        """Kind of ``node`` without recording effects (for the pre-pass)."""
        if isinstance(node, ast.Constant):
            return _CONST
        if isinstance(node, ast.Name):
            if node.id in frame.locals:
                return frame.locals[node.id]
            return _Val("global", ref=self.resolver.name_in(frame.mod, node.id))
        if isinstance(node, ast.List | ast.Tuple | ast.Set):
            elts = [self._quiet(frame, e) for e in node.elts]
            return _holding(elts) or _fresh_holding(elts)
        if isinstance(node, ast.Dict):
            entries = [self._quiet(frame, e) for e in (*node.keys, *node.values) if e is not None]
            return _holding(entries) or _fresh_holding(entries)
        if isinstance(node, ast.ListComp | ast.SetComp | ast.DictComp | ast.JoinedStr | ast.Lambda):
            return _FRESH
        if isinstance(node, ast.Attribute):
            base = self._quiet(frame, node.value)
            if base.kind == "self" and self._own_method(frame, node.attr):
                return _Val("method", node.attr)  # `random = self.random`: a bound method of the object
            if base.from_file and node.attr == "__dict__":
                return _FILE_DICT
            if base.kind == "self" and node.attr in frame.self_chosen:
                return frame.self_chosen[node.attr]
            return _TAINT if base.kind in ("self", "cls", "param", "taint", "global") else _FRESH
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("dict", "list",
                                                                                                  "set", "tuple"):
            return _FRESH if not node.args else _TAINT
        if isinstance(node, ast.Call):
            return self._instance_of(frame, node)
        if isinstance(node, ast.IfExp | ast.BoolOp):
            options = [self._quiet(frame, n) for n in ((node.body, node.orelse) if isinstance(node, ast.IfExp)
                                                         else node.values)]
            if any(self._risky(v) for v in options):
                # either branch's object may be what the name holds: one of them, or an unknown module-level one
                return options[0] if all(v == options[0] for v in options) else _MIXED
        return _TAINT

    def _own_method(self, frame: _Frame, attr: str) -> bool:
        """``self.<attr>`` is a method of the object's class (a call through a local bound to it is then the
        same call as ``self.<attr>()``, analysed in the MRO): every binding of the name in the class defining it
        is an undecorated (or static/class/abstract) ``def``, or a compiled base's method the catalogue allows
        for CALL. A property, a class-level value, a decorated def or an unknown name is instance data."""
        model = frame.self_model
        if model is None:
            return False
        found = self.lookup(model, attr)
        if found is None:
            return False
        owner, what = found
        if isinstance(what, Leaf):
            return what.kind != "builtin" and self.catalog is not None \
                and self.catalog(f"{what.dotted}.{attr}", Use.CALL) is True
        bindings = as_model(owner).body.get(attr, [what])
        return all(b.kind == "function" and _property_kind(b.node) == "plain" for b in bindings)

    def _risky(self, val: _Val) -> bool:
        """An object whose protocol methods are the library's code: an instance the code created, or a
        module-level object whose class is not a builtin one."""
        if val.key in ("instance", "mixed"):
            return True
        return self._is_value(val) and val.ref is not None and self.value_class(val.ref) != "builtin"

    def _instance_of(self, frame: _Frame, node: ast.Call) -> _Val:
        """What ``C(...)`` evaluates to: an instance of the source class ``C`` is remembered (its protocol methods
        run when the code formats, iterates, hashes... it); anything else is an unknown value."""
        func = node.func
        if isinstance(func, ast.Name | ast.Attribute) and not (isinstance(func, ast.Name) and func.id in frame.locals):
            ref = self._callee_ref(frame, func)
            if ref is not None and ref.kind == "class":
                return _Val("taint", "instance", ref=ref)
        return _TAINT

    # --- statements -----------------------------------------------------------------------------------------
    def _stmt(self, frame: _Frame, stmt: ast.stmt, depth: int) -> None:
        ev = self._expr
        if isinstance(stmt, ast.Expr):
            ev(frame, stmt.value, depth)
        elif isinstance(stmt, ast.Assign):
            val = ev(frame, stmt.value, depth)
            for tgt in stmt.targets:
                self._store(frame, tgt, val, depth)
        elif isinstance(stmt, ast.AnnAssign):
            if frame.import_ctx and not frame.mod.future_annotations:
                ev(frame, stmt.annotation, depth)  # module and class annotations are evaluated on import
            if stmt.value is not None:
                self._store(frame, stmt.target, ev(frame, stmt.value, depth), depth)
        elif isinstance(stmt, ast.AugAssign):
            val = ev(frame, stmt.value, depth)
            cur = ev(frame, stmt.target, depth) if not isinstance(stmt.target, ast.Name) \
                or stmt.target.id not in frame.locals else self._kind_of(frame, stmt.target)
            self._touch(frame, [val, cur], _op_dunders(stmt.op), stmt, depth)
            for operand in (val, cur):
                if operand.kind == "global" and operand.ref is not None and operand.ref.kind == "class":
                    self._class_operand(frame, operand.ref, _op_dunders(stmt.op), stmt)
            self._store(frame, stmt.target, _TAINT if val.from_file or cur.from_file else _FRESH, depth)
        elif isinstance(stmt, ast.Return):
            if stmt.value is not None:
                frame.returns.append(ev(frame, stmt.value, depth))
        elif isinstance(stmt, ast.Raise):
            if stmt.exc is not None:
                ev(frame, stmt.exc, depth)
            if stmt.cause is not None:
                ev(frame, stmt.cause, depth)
        elif isinstance(stmt, ast.If | ast.While):
            test = ev(frame, stmt.test, depth)
            self._touch(frame, [test], ("__bool__", "__len__"), stmt, depth)
            for inner in (*stmt.body, *stmt.orelse):
                self._stmt(frame, inner, depth)
        elif isinstance(stmt, ast.For):
            it = ev(frame, stmt.iter, depth)
            self._touch(frame, [it], ("__iter__", "__getitem__"), stmt, depth)
            if isinstance(stmt.iter, ast.List | ast.Tuple | ast.Set):
                self._escape(frame, stmt.iter, it, stmt, depth)  # the loop hands each element on
            self._store(frame, stmt.target, _element(it) or (_TAINT if it.kind != "const" else _CONST), depth)
            for inner in (*stmt.body, *stmt.orelse):
                self._stmt(frame, inner, depth)
        elif isinstance(stmt, ast.Try | ast.TryStar):
            for inner in stmt.body:
                self._stmt(frame, inner, depth)
            for handler in stmt.handlers:
                if handler.type is not None:
                    ev(frame, handler.type, depth)
                for inner in handler.body:
                    self._stmt(frame, inner, depth)
            for inner in (*stmt.orelse, *stmt.finalbody):
                self._stmt(frame, inner, depth)
        elif isinstance(stmt, ast.With):
            for item in stmt.items:
                self._with_item(frame, item, depth)
            for inner in stmt.body:
                self._stmt(frame, inner, depth)
        elif isinstance(stmt, ast.Assert):
            self.truth(frame, stmt.test, depth)
            if stmt.msg is not None:
                ev(frame, stmt.msg, depth)
        elif isinstance(stmt, ast.Delete):
            for tgt in stmt.targets:
                if isinstance(tgt, ast.Name):
                    continue
                base = ev(frame, tgt.value, depth) if isinstance(tgt, ast.Attribute | ast.Subscript) else _TAINT
                if base.kind in ("self", "fresh") or base.from_file:
                    if base.from_file:
                        frame.out.touches.add("__delattr__/__delitem__")
                    continue
                raise Fail("deletes from an object that is not its own", frame.where(stmt))
        elif isinstance(stmt, ast.Pass | ast.Break | ast.Continue):
            pass
        elif isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
            for d in stmt.decorator_list:
                ev(frame, d, depth)
            for default in (*stmt.args.defaults, *[d for d in stmt.args.kw_defaults if d is not None]):
                ev(frame, default, depth)
        elif isinstance(stmt, ast.Global | ast.Nonlocal):
            if not frame.import_ctx:
                raise Fail("rebinds module-level names (global)", frame.where(stmt))
        elif isinstance(stmt, ast.Import | ast.ImportFrom):
            if frame.import_ctx and frame.toplevel:
                self._check_import(frame, stmt, depth)  # the imported modules are followed by the closure walk
            else:
                self._call_time_import(frame, stmt, depth)
        else:
            raise Fail(f"{type(stmt).__name__} statement is not modelled", frame.where(stmt))

    def _import_bindings(self, frame: _Frame, stmt: ast.Import | ast.ImportFrom) -> list[tuple[str, Ref | None]]:
        """The local names an import statement inside a function binds, resolved statically."""
        from safeload.catalog.source_model import absolute_module

        out: list[tuple[str, Ref | None]] = []
        if isinstance(stmt, ast.Import):
            for alias in stmt.names:
                target = alias.name if alias.asname else alias.name.split(".")[0]
                out.append((alias.asname or target, _module_ref(self.resolver, target)))
            return out
        base = absolute_module(frame.mod.name, frame.mod.is_package, stmt.level, stmt.module)
        for alias in stmt.names:
            if alias.name == "*" or base is None:
                continue
            out.append((alias.asname or alias.name, self.resolver.from_import(base, alias.name)))
        return out

    def _call_time_import(self, frame: _Frame, stmt: ast.Import | ast.ImportFrom, depth: int) -> None:
        """An import inside a function runs when the function does: inert only when the import of every module
        it names is (the same rule as a module the pickle names)."""
        from safeload.catalog.source_model import absolute_module

        if isinstance(stmt, ast.Import):
            modules = [a.name for a in stmt.names]
        else:
            base = absolute_module(frame.mod.name, frame.mod.is_package, stmt.level, stmt.module)
            if base is None:
                raise Fail("relative import beyond the top-level package", frame.where(stmt))
            modules = [base]
            modules += [f"{base}.{a.name}" for a in stmt.names
                        if a.name != "*" and self.resolver.is_module(f"{base}.{a.name}")]
        for module in modules:
            if self.import_check is None:
                raise Fail(f"imports {module} when it runs", frame.where(stmt))
            result = self.import_check(module)
            if not result.inert:
                raise Fail(f"imports {module} when it runs: {result.reason}", result.where or frame.where(stmt))
        if isinstance(stmt, ast.ImportFrom):
            for alias in stmt.names:
                self.module_getattr(frame, modules[0], alias.name, stmt, depth, importing=True)

    def _check_import(self, frame: _Frame, stmt: ast.Import | ast.ImportFrom, depth: int) -> None:
        from safeload.catalog.source_model import absolute_module

        if isinstance(stmt, ast.Import):
            names = [a.name for a in stmt.names]
        else:
            base = absolute_module(frame.mod.name, frame.mod.is_package, stmt.level, stmt.module)
            names = [base] if base else []
        for name in names:
            reason = tables.denied_module_reason(name)
            if reason is not None:
                raise Fail(f"imports {name} ({reason})", frame.where(stmt))
        if isinstance(stmt, ast.ImportFrom) and names:
            for alias in stmt.names:
                self.module_getattr(frame, names[0], alias.name, stmt, depth, importing=True)

    def module_getattr(self, frame: _Frame, module: str, name: str, node: ast.AST, depth: int, *,
                       importing: bool = False) -> None:
        """``from module import name`` or ``module.name`` runs the module's ``__getattr__(name)`` (PEP 562) when
        the lookup in the module's namespace fails: a name the module does not bind unconditionally (by the
        time ``frame``'s statement runs, when ``frame`` is that module itself), a submodule not yet imported
        (``_handle_fromlist`` asks ``hasattr(package, name)`` before importing it) and every name a star import
        reads. Such a hook is analysed as a call, specialised to ``name`` (``source_getattr``); else refused.
        ``importing``: the lookup is part of an import statement, which imports the submodule ``module.name``
        itself (the import walk checks it); a plain attribute read that makes the hook import it is checked
        here."""
        mod = self.resolver.module(module)
        if not isinstance(mod, ModuleInfo) or mod.getattr_line is None:
            return
        if name != "*" and self._module_binds(self.resolver, mod, name, frame, node):
            return
        hooks = mod.bindings.get("__getattr__", [])
        if frame.mod is mod and frame.toplevel and hooks and all(
                not h.conditional and h.lineno > getattr(node, "lineno", 0) for h in hooks):
            return  # the module's own top level, before any statement binding its __getattr__ has run
        hook = hooks[-1] if hooks else None
        where = frame.where(node)
        # one plain def, possibly under a condition (numpy 2.4 defines its hook in the else branch of
        # ``if __NUMPY_SETUP__:``): either it is bound and runs as analysed, or there is no hook and the lookup
        # raises AttributeError; two defs, or one in a branch read as dead, are not decided
        if hook is None or len(hooks) != 1 or hook.kind != "function" or not isinstance(hook.node, ast.FunctionDef) \
                or hook.node.decorator_list or (hook.conditional and _in_dead_branch(mod.tree, hook.node)):
            raise Fail(f"looks {module}.{name} up through the module __getattr__ (line {mod.getattr_line}), "
                       "which is not a plain def", where)
        submodule = f"{module}.{name}" if name != "*" and mod.is_package and self.resolver.is_module(
            f"{module}.{name}") else None
        fn = hook.node
        if name != "*":
            key = (id(hook.node), name, submodule)
            cached = self._specialised.get(key)
            if cached is None:
                cached = self._specialised[key] = (hook.node, specialise(
                    hook.node, mod.tree, name, submodule, lambda e: self.resolver.expr(mod, e).dotted))
            fn = cached[1]
        result = self.function(fn, mod, "__getattr__", import_ctx=frame.import_ctx, depth=depth + 1)
        if result.inert and submodule is not None and not importing:
            result = self.import_check(submodule) if self.import_check is not None else Outcome(
                False, f"imports {submodule}")
        if not result.inert:
            raise Fail(f"looks {module}.{name} up through the module __getattr__: {result.reason}",
                       result.where or where)
        if result.invokes:
            raise Fail(f"looks {module}.{name} up through a module __getattr__ that calls its argument",
                       result.where or where)

    @staticmethod
    def _module_binds(resolver: Resolver, mod: ModuleInfo, name: str, frame: _Frame, node: ast.AST) -> bool:
        """Whether ``name`` is certainly in ``mod``'s namespace when ``node`` of ``frame`` runs."""
        if name in _MODULE_ATTRIBUTES or (name == "__path__" and mod.is_package):
            return True
        if name in mod.global_writes:
            return False
        found = mod.bindings.get(name, [])
        if any(isinstance(b.node, ast.Delete) or b.kind == "other" for b in found):
            return False
        line = getattr(node, "lineno", 0) if frame.mod is mod and frame.toplevel else None
        # ``from pkg import name`` inside pkg asks hasattr(pkg, name) first, which runs a __getattr__ already
        # defined: it binds only when it is ``from pkg import sub`` of a submodule made before any __getattr__
        # binding (torch/__init__: ``from torch import linalg as linalg``, line 2313, its __getattr__ at 2940):
        # hasattr finds no hook then, and the import system imports the submodule and binds it
        hooks = mod.bindings.get("__getattr__", [])
        binders = [b for b in found if (not (b.kind == "from" and b.target == mod.name and b.attr == name) or (
                       mod.is_package and not b.conditional and all(not h.conditional and b.lineno < h.lineno
                                                                     for h in hooks)
                       and resolver.is_module(f"{mod.name}.{name}")))
                   and (line is None or b.lineno < line)]
        # A binding under a condition is taken to hold, as the resolver takes it everywhere else (numpy binds
        # its whole namespace in the else branch of ``if __NUMPY_SETUP__:``), unless the branch can be read as
        # one that never runs (``if False:``, ``if 0:``, ``while False:``).
        if any(not b.conditional or not _in_dead_branch(mod.tree, b.node) for b in binders):
            return True
        return any(b.target and (line is None or b.lineno < line) and not _in_dead_branch(mod.tree, b.node)
                   and resolver.star_exports(b.target, name) is True for b in mod.bindings.get("*", []))

    def _with_item(self, frame: _Frame, item: ast.withitem, depth: int) -> None:
        ctx = item.context_expr
        if isinstance(ctx, ast.Call):
            ref = self._callee_ref(frame, ctx.func)
            if ref is not None and (ref.dotted in _CALL_ARG_CTX or _reviewed_context_manager(ref)):
                for arg in ctx.args:
                    self._expr(frame, arg, depth)
                return
            raise Fail(f"uses a context manager ({ast.unparse(ctx)[:60]}) whose __enter__/__exit__ are not "
                       "modelled", frame.where(ctx))
        val = self._expr(frame, ctx, depth)
        if val.from_file:
            frame.out.touches.add("__enter__/__exit__")
            return
        raise Fail(f"uses {ast.unparse(ctx)[:60]} as a context manager", frame.where(ctx))

    def _not_callable(self, frame: _Frame, val: _Val) -> bool:
        """``self`` or an instance of a source class the code created, whose class (no base it cannot read)
        defines no ``__call__``: set as an attribute, it cannot stand in for a method (calling it raises)."""
        model: ClassModel | str | None = None
        if val.kind == "self":
            model = frame.self_model
        elif val.key == "instance" and val.ref is not None and val.ref.kind == "class":
            model = self.resolver.class_model(val.ref)
        if not isinstance(model, ClassModel):
            return False
        if any(isinstance(p, Leaf) and p.kind != "builtin" for p in model.mro):
            return False
        return self.lookup(model, "__call__") is None

    def _store(self, frame: _Frame, target: ast.expr, val: _Val, depth: int) -> None:
        if isinstance(target, ast.Name):
            self._hold_local(frame, target, val)
            return
        if isinstance(target, ast.Tuple | ast.List):
            if val.from_file:
                frame.out.touches.add("__iter__")
            unpack = ("__iter__", "__next__", "__len__", "__getitem__")
            if self._is_value(val) and val.ref is not None:
                self._value_protocol(frame, val.ref, unpack, target, depth)
            self._instance_protocol(frame, val, unpack, target, depth)
            if val.key in ("result", "oneof"):
                self._touch(frame, [val], unpack, target, depth)
            part = _element(val) or _TAINT  # a, b = [e, 1]: either may be e (red team R7-4)
            for elt in target.elts:
                self._store(frame, elt, part, depth)
            return
        if isinstance(target, ast.Starred):
            self._store(frame, target.value, _holding([val]) or _TAINT, depth)
            return
        if isinstance(target, ast.Subscript | ast.Attribute) and _untracked_source(val):
            self._hold_root(frame, target, val)
        if isinstance(target, ast.Attribute):
            if target.attr == "__class__":
                raise Fail(f"assigns {ast.unparse(target)[:60]}: the object becomes an instance of another class",
                           frame.where(target))
            if isinstance(target.value, ast.Subscript) and isinstance(target.value.value, ast.Attribute | ast.Name) \
                    and self.resolver.expr(frame.mod, target.value.value).dotted == "sys.modules":
                raise Fail(f"sets attribute {target.attr} of a module object in sys.modules", frame.where(target))
            base = self._expr(frame, target.value, depth)
            if base.kind == "self":
                self.check_setattr(frame, target.attr, via_object=False, node=target, depth=depth)
                return
            if base.kind == "cls" and frame.import_ctx:
                self.class_setattr(frame, target)
                return  # __init_subclass__ / metaclass hooks set attributes of the class being created
            if base.from_file:
                if not _plain_value(val) and not self._not_callable(frame, val):
                    # a later lookup of that name on the object finds this, not its class's method (R7-1)
                    what = "a value the library chose (read out of a container or a call's result)" \
                        if val.key == "libvalue" else f"a {val.kind} value the library chose"
                    raise Fail(f"sets attribute {target.attr} of {ast.unparse(target.value)[:60]}, an object from "
                               f"the file, to {what} (it shadows any method of that name the load looks up on it)",
                               frame.where(target))
                frame.out.touches.add("__setattr__")
                return
            if base.kind == "fresh" or (base.kind == "classdata" and frame.import_ctx):
                return
            if frame.import_ctx and self._is_value(base) and base.ref is not None and base.ref.module is frame.mod \
                    and self.value_class(base.ref) == "builtin":
                return
            raise Fail(f"sets attribute {target.attr} of {ast.unparse(target.value)[:60]}, an object that is not "
                       "its own", frame.where(target))
        if isinstance(target, ast.Subscript):
            base = self._expr(frame, target.value, depth)
            key = self._expr(frame, target.slice, depth)
            if _untracked_source(key) and base.kind != "self":
                self._touch(frame, [key], ("__hash__", "__eq__"), target, depth)  # d[e] = v hashes e
            if base.kind == "self":
                self._self_protocol(frame, "__setitem__", target, depth)
                return
            if base.key == _FILE_DICT.key:
                raise Fail(f"assigns into {ast.unparse(target.value)[:60]}, the attribute dict of an object from the "
                           "file (it may shadow a method the load looks up on it)", frame.where(target))
            if base.from_file:
                frame.out.touches.add("__setitem__")
                return
            if base.kind == "fresh" or (base.kind == "classdata" and frame.import_ctx) or base.key == "holds":
                if isinstance(target.value, ast.Name) and base.kind != "classdata":
                    self._hold_local(frame, target.value, _holding([val, key]) or (  # d[k] = e holds e
                        _fresh_holding([val]) if _chosen_by_library(val) else _CONST))
                return
            if frame.import_ctx and self._is_value(base) and base.ref is not None and base.ref.module is frame.mod:
                self._value_protocol(frame, base.ref, ("__setitem__",), target, depth)
                held = _holding([val, key])
                if held is not None:
                    self._hold(base.ref.dotted, [held])
                return  # registration into this module's own table at import
            raise Fail(f"assigns into {ast.unparse(target.value)[:60]}, an object that is not its own",
                       frame.where(target))
        raise Fail("assignment target not modelled", frame.where(target))

    # --- expressions ----------------------------------------------------------------------------------------
    def _expr(self, frame: _Frame, node: ast.expr, depth: int) -> _Val:
        ev = self._expr
        if isinstance(node, ast.Constant):
            return _CONST
        if isinstance(node, ast.Name):
            if node.id in frame.locals:
                return frame.locals[node.id]
            return self._global(self.resolver.name_in(frame.mod, node.id))
        if isinstance(node, ast.Attribute):
            base = ev(frame, node.value, depth)
            return self._attribute(frame, base, node, depth)
        if isinstance(node, ast.Call):
            return self._call(frame, node, depth)
        if isinstance(node, ast.Subscript):
            base = ev(frame, node.value, depth)
            ev(frame, node.slice, depth)
            if base.kind == "global" and base.ref is not None and base.ref.dotted == "sys.modules":
                return self._sys_modules_item(frame, node)
            index = node.slice
            typing_form = base.kind == "global" and base.ref is not None and (
                base.ref.kind == "special" or base.ref.dotted.startswith(("typing.", "typing_extensions.")))
            generic = base.kind == "global" and base.ref is not None and base.ref.kind == "class" \
                and self._generic_subscript(base.ref)
            for part in (index.elts if isinstance(index, ast.Tuple) else [index]):
                if isinstance(part, ast.Slice):
                    continue
                item = self._quiet_value(frame, part)
                if typing_form and self._is_value(item) and item.ref is not None and not isinstance(
                        self.value_class(item.ref), ClassModel):
                    # typing hashes the arguments of Union[...], List[...]: an instance of a source class has its
                    # methods analysed; another library's typing alias (numpy's ArrayLike, a computed
                    # types.UnionType) is not followed (a known limit)
                    continue
                self._escape(frame, part, item, part, depth, names=_GENERIC_ARG_NAMES if generic else _IMPLICIT)
            for one in (base.items if base.key == "libvalue" else (base,)):  # f()[int] where f returns a class
                if one.kind == "global" and one.ref is not None and one.ref.kind == "class":
                    self._class_subscript(frame, one.ref, node, depth)
            if base.kind == "self":
                self._self_protocol(frame, "__getitem__", node, depth)
                return _TAINT
            if base.key in ("instance", "result", "oneof"):
                # C()[k], f()[k]: the class's own __getitem__ runs, and hands back what its code returns
                self._touch(frame, [base], ("__getitem__",), node, depth)
                return _UNTRACKED
            if base.key == "holds":  # an item of a container holding instances (red team R7-4), or a slice of it
                return base if isinstance(index, ast.Slice) else _element(base) or _UNTRACKED
            if base.from_file:
                frame.out.touches.add("__getitem__")
            if self._is_value(base) and base.ref is not None:
                self._value_protocol(frame, base.ref, ("__getitem__",), node, depth)
            if base.kind in ("global", "self", "cls") or base.key in ("libitems", "libvalue"):
                return _lib_value([base]) if base.key in ("libitems", "libvalue") else _LIB_VALUE  # [f][0], MAP[k]
            return _TAINT if base.kind not in ("const",) else _CONST
        if isinstance(node, ast.BinOp | ast.UnaryOp | ast.BoolOp | ast.Compare):
            parts: list[ast.expr] = (
                [node.left, node.right] if isinstance(node, ast.BinOp) else
                [node.operand] if isinstance(node, ast.UnaryOp) else
                list(node.values) if isinstance(node, ast.BoolOp) else [node.left, *node.comparators])
            vals = [ev(frame, p, depth) for p in parts]
            for val in vals:
                for one in (val.items if val.key == "libvalue" else (val,)):  # f() | int where f returns a class
                    if one.kind == "global" and one.ref is not None and one.ref.kind == "class":
                        self._class_operand(frame, one.ref, _expr_dunders(node), node)
            if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
                # printf-style formatting: the right operand's __getitem__/keys (mappings), __str__, __repr__,
                # __index__, __float__... and, when it is a tuple, the same of each element (checked as a literal)
                self._escape(frame, node.right, vals[1], node, depth)
            if any(v.from_file or v.kind == "self" or self._is_value(v) or v.key == "mixed" for v in vals):
                self._touch(frame, vals, _expr_dunders(node), node, depth)
                held = _holding(vals) if isinstance(node, ast.BinOp | ast.BoolOp) and any(
                    v.key == "holds" for v in vals) else None
                if held is not None:
                    return held  # [e] + [1], [e] * 2, x or [e]: a container holding them
                # an instance's operator method returns what its code returns (not a comparison: bool() of it)
                if not isinstance(node, ast.Compare) and any(v.key in ("instance", "result", "oneof") for v in vals):
                    return _UNTRACKED
            if isinstance(node, ast.BoolOp) and any(_chosen_by_library(v) for v in vals):
                return _lib_value(vals)  # x or f: one of the operands itself
            if isinstance(node, ast.BinOp) and any(_chosen_by_library(v) for v in vals):
                return _fresh_holding(vals)  # [f] + [], [f] * 2: a new container holding what they held
            return _TAINT if any(v.from_file or v.kind == "self" or self._is_value(v) or v.key == "mixed"
                                 for v in vals) else _FRESH
        if isinstance(node, ast.IfExp):
            self._touch(frame, [ev(frame, node.test, depth)], ("__bool__", "__len__"), node, depth)
            a, b = ev(frame, node.body, depth), ev(frame, node.orelse, depth)
            if a != b and (_untracked_source(a) or _untracked_source(b)):
                tracked = [v for v in (a, b) if _untracked_source(v)]
                if len(tracked) == 1:
                    return tracked[0]
                return (_holding(tracked) or _UNTRACKED) if all(v.key == "holds" for v in tracked) else _UNTRACKED
            if a != b and (_chosen_by_library(a) or _chosen_by_library(b)):
                return _lib_value([a, b])  # f if c else None: either may be what the library chose
            return a if a == b else (_TAINT if a.from_file or b.from_file or a.kind != b.kind else a)
        if isinstance(node, ast.JoinedStr):
            for value in node.values:
                ev(frame, value, depth)
            return _FRESH
        if isinstance(node, ast.FormattedValue):
            val = ev(frame, node.value, depth)
            if node.format_spec is not None:
                ev(frame, node.format_spec, depth)
            self._touch(frame, [val], ("__format__", "__str__", "__repr__"), node, depth)
            self._escape(frame, node.value, val, node, depth, names=("__format__", "__str__", "__repr__"))
            return _FRESH
        if isinstance(node, ast.List | ast.Tuple | ast.Set):
            elts: list[_Val] = []
            for elt in node.elts:
                item = ev(frame, elt, depth)
                elts.append(item)
                if isinstance(node, ast.Set) and self._is_value(item) and item.ref is not None:
                    self._value_protocol(frame, item.ref, ("__hash__", "__eq__"), elt, depth)
                if isinstance(node, ast.Set) and _untracked_source(item):
                    # {e}, {*x}: building the set hashes (and compares) the items (red team R7-4)
                    self._touch(frame, [item], ("__hash__", "__eq__"), elt, depth)
            held_elts = self._as_held(elts)
            return _holding(held_elts) or _fresh_holding(held_elts)
        if isinstance(node, ast.Dict):
            entries: list[_Val] = []
            for k, v in zip(node.keys, node.values, strict=True):
                if k is None:  # {**o}: keys() and __getitem__
                    splat = ev(frame, v, depth)
                    self._escape(frame, v, splat, v, depth)
                    entries.append(splat)
                    continue
                key = ev(frame, k, depth)
                self._escape(frame, k, key, k, depth)
                if _untracked_source(key):  # {e: 1} hashes e (red team R7-4)
                    self._touch(frame, [key], ("__hash__", "__eq__"), k, depth)
                if key.from_file:
                    frame.out.touches.add("__hash__")
                elif self._is_value(key) and key.ref is not None:
                    self._value_protocol(frame, key.ref, ("__hash__", "__eq__"), k, depth)
                entries.append(key)
            for k, v in zip(node.keys, node.values, strict=True):
                if k is not None:
                    entries.append(ev(frame, v, depth))
            held_entries = self._as_held(entries)
            return _holding(held_entries) or _fresh_holding(held_entries)
        if isinstance(node, ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp):
            for gen in node.generators:
                it = ev(frame, gen.iter, depth)
                self._touch(frame, [it], ("__iter__", "__getitem__"), gen.iter, depth)
                if isinstance(gen.iter, ast.List | ast.Tuple | ast.Set):
                    self._escape(frame, gen.iter, it, gen.iter, depth)  # each element becomes the target
                if isinstance(gen.iter, ast.List | ast.Tuple | ast.Set):
                    elements = [self._element_value(frame, e) for e in gen.iter.elts]
                    element = _element(_holding(elements) or _fresh_holding(elements))
                else:
                    element = _element(_LIB_ITEMS if it.kind == "global" else it)  # a module table's items: unknown
                for target in ast.walk(gen.target):
                    if isinstance(target, ast.Name) and (target.id not in frame.locals or element is not None):
                        frame.locals[target.id] = element or (
                            _TAINT if it.from_file or it.kind == "self" else _FRESH)
                for cond in gen.ifs:
                    cond_val = ev(frame, cond, depth)
                    if _untracked_source(cond_val):  # [x for x in xs if e]: e.__bool__ runs
                        self._touch(frame, [cond_val], ("__bool__", "__len__"), cond, depth)
            if isinstance(node, ast.DictComp):
                made_key = ev(frame, node.key, depth)
                if _untracked_source(made_key):
                    self._touch(frame, [made_key], ("__hash__", "__eq__"), node.key, depth)
                made_entries = self._as_held([made_key, ev(frame, node.value, depth)])
                made = _holding(made_entries) or _fresh_holding(made_entries)
            else:
                elt_val = ev(frame, node.elt, depth)
                if isinstance(node, ast.SetComp) and _untracked_source(elt_val):
                    self._touch(frame, [elt_val], ("__hash__", "__eq__"), node.elt, depth)
                made = _holding(self._as_held([elt_val])) or _fresh_holding([elt_val])
            return made or _FRESH
        if isinstance(node, ast.Starred):
            val = ev(frame, node.value, depth)
            self._touch(frame, [val], ("__iter__",), node, depth)
            self._escape(frame, node.value, val, node, depth)
            return val
        if isinstance(node, ast.Slice):
            for bound in (node.lower, node.upper, node.step):
                if bound is not None:
                    ev(frame, bound, depth)
            return _FRESH
        if isinstance(node, ast.NamedExpr):
            val = ev(frame, node.value, depth)
            self._hold_local(frame, node.target, val)
            return val
        if isinstance(node, ast.Lambda):  # the defaults are evaluated when the lambda is built
            for default in (*node.args.defaults, *[d for d in node.args.kw_defaults if d is not None]):
                ev(frame, default, depth)
            return _Val("fresh", "lambda")
        raise Fail(f"{type(node).__name__} expression is not modelled", frame.where(node))

    def _element_value(self, frame: _Frame, node: ast.expr) -> _Val:
        """The value of an element of a literal container, already evaluated with the container."""
        if isinstance(node, ast.Call):
            return self._instance_of(frame, node)
        return self._quiet_value(frame, node)

    def _quiet_value(self, frame: _Frame, node: ast.expr) -> _Val:
        """The value of an already-evaluated name or attribute (no effects recorded twice)."""
        if isinstance(node, ast.Name):
            return frame.locals.get(node.id) or _Val("global", ref=self.resolver.name_in(frame.mod, node.id))
        if isinstance(node, ast.Attribute) and not isinstance(node.value, ast.Call):
            ref = self._callee_ref(frame, node)
            return _Val("global", ref=ref) if ref is not None else _TAINT
        return _TAINT

    def _class_attribute(self, frame: _Frame, ref: Ref, attr: str, node: ast.AST, depth: int) -> None:
        """``C.attr`` runs the ``__get__`` of a class-level descriptor (``type.__getattribute__`` calls it with
        ``None`` as the instance) and a metaclass' ``__getattribute__``/``__getattr__``."""
        model = self.resolver.class_model(ref)
        if not isinstance(model, ClassModel):
            return  # not a class read from source: a call or read of it is judged where it happens
        meta = model.metaclass
        if isinstance(meta, ClassModel):
            for hook in ("__getattribute__", "__getattr__"):
                found = self.lookup(meta, hook)
                if found is not None and not (isinstance(found[1], Leaf) and found[1].kind == "builtin"):
                    raise Fail(f"reads {ref.dotted}.{attr}: its metaclass defines {hook}", frame.where(node))
        found = self.lookup(model, attr)
        if found is None or isinstance(found[1], Leaf) or found[1].kind in ("function", "class"):
            return
        value = found[1].value
        if isinstance(value, ast.Constant | ast.JoinedStr) or (
                isinstance(value, ast.Call) and _str_method_of_literal(value.func)):
            return  # a str, number, bytes or None: not a descriptor
        problem = self._descriptor_problem(model, as_model(found[0]), attr, found[1], depth=depth,
                                           import_ctx=frame.import_ctx, hooks=("__get__",))
        if problem is not None:
            raise Fail(f"reads {ref.dotted}.{attr}: {problem[0]}", problem[1] or frame.where(node))

    def _class_level(self, ref: Ref, attr: str) -> _Val | None:
        """``C.attr`` where the class body bound ``attr`` to an instance of a source class or a container
        holding one (red team R7-4); ``None`` otherwise (the reader's usual model)."""
        model = self.resolver.class_model(ref)
        if not isinstance(model, ClassModel):
            return None
        found = self.lookup(model, attr)
        if found is None or not isinstance(found[1], Binding):
            return None
        owner = as_model(found[0])
        held = self._held.get(f"{owner.module.name}.{owner.ref.qualname}.{attr}")
        if held is not None:
            return held
        binding = found[1]
        if binding.kind != "assign" or binding.value is None:
            return None
        cls = self.value_class(Ref("value", f"{owner.dotted}.{attr}", owner.module, binding.value, attr))
        return _Val("taint", "instance", ref=cls.ref) if isinstance(cls, ClassModel) else None

    def _instance_attr_value(self, val: _Val, attr: str) -> _Val:
        """What ``obj.attr`` holds for ``obj`` an instance of a source class (red team R7-4): the class-level
        value when no code of the class sets the attribute on instances (``self.attr = ...``, ``setattr``,
        ``__dict__``, ``vars``): data for a builtin value (a tuple of strings), the instance or container a
        class-level binding holds; anything else (what ``__init__`` stored) is untracked."""
        model = self.resolver.class_model(val.ref) if val.ref is not None else None
        if not isinstance(model, ClassModel):
            return _UNTRACKED
        for part in model.mro:
            if not isinstance(part, ClassModel):
                continue
            for node in ast.walk(part.node):
                if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store | ast.Del) \
                        and node.attr == attr:
                    return _UNTRACKED
                if (isinstance(node, ast.Name) and node.id in ("setattr", "vars")) or (
                        isinstance(node, ast.Attribute) and node.attr == "__dict__"):
                    return _UNTRACKED
        held = self._class_level(val.ref, attr) if val.ref is not None else None
        if held is not None:
            return held
        found = self.lookup(model, attr)
        if found is None or not isinstance(found[1], Binding):
            return _UNTRACKED
        owner, binding = as_model(found[0]), found[1]
        if binding.kind == "function":
            return _TAINT  # a bound method: calling it is analysed where it is called
        if binding.kind == "assign" and binding.value is not None and self.value_class(
                Ref("value", f"{owner.dotted}.{attr}", owner.module, binding.value, attr)) == "builtin":
            return _TAINT
        return _UNTRACKED

    def _stores_built_state(self, ref: Ref) -> bool:
        """Some method of the class ``ref`` (in its MRO read from source) assigns ``self.<name>`` a value built by
        a call (``self.e = E()``, ``self.items = [make()]``); unknown classes count as such."""
        model = self.resolver.class_model(ref)
        if not isinstance(model, ClassModel):
            return True
        for part in model.mro:
            if not isinstance(part, ClassModel):
                continue
            for node in ast.walk(part.node):
                if isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign) and node.value is not None:
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    if any(isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id == "self"
                           for tgt in targets for t in ast.walk(tgt)) \
                            and any(isinstance(n, ast.Call) for n in ast.walk(node.value)):
                        return True
        return False

    def _generic_subscript(self, ref: Ref) -> bool:
        """``C[...]`` of a source class whose subscript is typing's ``Generic.__class_getitem__``: no class of its
        MRO read from source defines ``__class_getitem__``, ``typing.Generic`` is a base, and no metaclass read
        from source (or unreadable) defines ``__getitem__``. CPython 3.11-3.13 typing then converts the arguments
        (``None`` and strings only), checks their number, reads attributes of each (``__typing_subst__``,
        ``__parameters__``: ``getattr``, which runs a metaclass' ``__getattribute__``/``__getattr__``, checked by
        ``_GENERIC_ARG_NAMES``' callers as any attribute read), and caches the alias keyed by the arguments
        (``__hash__``, ``__eq__`` on a collision)."""
        model = self.resolver.class_model(ref)
        if not isinstance(model, ClassModel) or self.lookup(model, "__class_getitem__") is not None:
            return False
        if not any(isinstance(p, Leaf) and p.dotted in ("typing.Generic", "typing_extensions.Generic")
                   for p in model.mro):
            return False
        meta = model.metaclass
        if meta is None:
            return True
        if isinstance(meta, ClassModel):
            found = self.lookup(meta, "__getitem__")
            return found is None or (isinstance(found[1], Leaf) and found[1].kind == "builtin")
        return meta.dotted in tables.METACLASS_OWN_NAMES

    def _class_subscript(self, frame: _Frame, ref: Ref, node: ast.AST, depth: int) -> None:
        """``C[...]`` runs ``C.__class_getitem__`` (typing's for Generic) or its metaclass' ``__getitem__``."""
        model = self.resolver.class_model(ref)
        if not isinstance(model, ClassModel):
            raise Fail(f"subscripts {ref.dotted}: {model}", frame.where(node))
        found = self.lookup(model, "__class_getitem__")
        if found is not None and not (isinstance(found[1], Leaf) and found[1].kind in ("builtin", "special")):
            self._model_protocol(frame, model, "__class_getitem__", node, depth)
        if isinstance(model.metaclass, ClassModel):
            self._model_protocol(frame, model.metaclass, "__getitem__", node, depth)

    def _sys_modules_item(self, frame: _Frame, node: ast.Subscript) -> _Val:
        """``sys.modules[__name__]`` is this module (its attribute reads are checked like ``module.name``); any
        other entry is a module object the analysis cannot name."""
        key = node.slice
        if isinstance(key, ast.Name) and key.id == "__name__" and "__name__" not in frame.locals:
            return _Val("global", ref=self.resolver.module_ref(frame.mod.name))
        return _Val("global", ref=Ref("unknown", _SYS_MODULES_ITEM, reason="a module object from sys.modules"))

    def _attribute(self, frame: _Frame, base: _Val, node: ast.Attribute, depth: int) -> _Val:
        attr = node.attr
        if base.kind in ("self", "cls"):
            model = frame.self_model
            if attr == "__class__":
                return _Val("cls")
            if model is None:
                return _TAINT
            found = self.lookup(model, attr)
            if found is not None and isinstance(found[1], Binding) and found[1].kind != "function" \
                    and base.kind == "self":
                problem = self._descriptor_problem(model, as_model(found[0]), attr, found[1], depth=depth,
                                                   import_ctx=frame.import_ctx, hooks=("__get__",))
                if problem is not None:
                    raise Fail(f"reads self.{attr}: {problem[0]}", problem[1] or frame.where(node))
            if found is not None and isinstance(found[1], Binding) and found[1].kind == "function":
                prop = _property_kind(found[1].node)
                if prop in ("property", "setter") and base.kind == "self":
                    self._run_property(frame, as_model(found[0]), attr, depth, node)
                    return _TAINT
                return _Val("method", attr)
            # instance state comes from the file (BUILD), unless this body set it to what the library chose;
            # class-level data is the library's own
            if base.kind == "self" and attr in frame.self_chosen:
                return frame.self_chosen[attr]
            return _TAINT if base.kind == "self" else _Val("classdata")
        if base.kind == "classdata":
            return _Val("classdata")
        if base.kind == "super":
            return _Val("super", attr)
        if base.kind == "global" and base.ref is not None:
            if self._is_value(base):
                self._value_attribute(frame, base.ref, attr, node, depth)
                cls = self.value_class(base.ref)
                if isinstance(cls, ClassModel):  # an attribute of a module-level instance (red team R7-4)
                    return self._instance_attr_value(_Val("taint", "instance", ref=cls.ref), attr)
            if base.ref.kind == "module":
                self.module_getattr(frame, base.ref.dotted, attr, node, depth)
            if base.ref.kind == "class":
                self._class_attribute(frame, base.ref, attr, node, depth)
                held = self._class_level(base.ref, attr)
                if held is not None:
                    return held
            if base.ref.dotted == _SYS_MODULES_ITEM:
                raise Fail(f"reads attribute {attr} of a module object taken from sys.modules (its module "
                           "__getattr__ may run)", frame.where(node))
            return _Val("global", ref=self.resolver.member(base.ref, attr))
        if base.key == "instance":  # C().attr (red team R5-2)
            self._instance_attribute(frame, base, attr, node, depth)
            return self._instance_attr_value(base, attr)
        if base.key == "oneof":
            parts = []
            for item in base.items:
                if item.key != "instance":
                    raise Fail(f"reads attribute {attr} of a value returned by code whose result the analysis does "
                               "not track (its class is unknown)", frame.where(node))
                self._instance_attribute(frame, item, attr, node, depth)
                parts.append(self._instance_attr_value(item, attr))
            return _TAINT if all(p == _TAINT for p in parts) else _UNTRACKED
        if base.key == "result":
            raise Fail(f"reads attribute {attr} of a value returned by code whose result the analysis does not "
                       "track (its class is unknown)", frame.where(node))
        if base.key == "holds":
            return _UNTRACKED
        if base.from_file and attr == "__class__":
            frame.out.touches.add("__class__")
            return _Val("classdata")
        if base.from_file:
            if attr.startswith("__") and attr.endswith("__") and attr not in ("__dict__", "__name__"):
                raise Fail(f"reads dunder attribute {attr} of a value from the file", frame.where(node))
            frame.out.touches.add("__getattribute__/__getattr__")
            return _FILE_DICT if attr == "__dict__" else _TAINT
        if base.kind == "logger":
            return _Val("logger", attr)
        return _TAINT if base.kind != "const" else _CONST

    def _callee_ref(self, frame: _Frame, func: ast.expr) -> Ref | None:
        if isinstance(func, ast.Name) and func.id not in frame.locals:
            return self.resolver.name_in(frame.mod, func.id)
        if isinstance(func, ast.Attribute):
            base = self._callee_ref(frame, func.value)
            if base is not None:
                return self.resolver.member(base, func.attr)
        return None

    # --- calls ----------------------------------------------------------------------------------------------
    def _call(self, frame: _Frame, node: ast.Call, depth: int) -> _Val:
        args = [self._expr(frame, a, depth) for a in node.args]
        kwargs = {kw.arg: self._expr(frame, kw.value, depth) for kw in node.keywords}
        spelled = _written(frame, node.func) if isinstance(node.func, ast.Name | ast.Attribute) else None
        names = _GENERIC_ARG_NAMES if spelled in _TYPEVAR_CALLS else _IMPLICIT
        for expr, val in (*zip(node.args, args, strict=True),
                          *[(kw.value, kwargs[kw.arg]) for kw in node.keywords]):
            self._escape(frame, expr.value if isinstance(expr, ast.Starred) else expr, val, expr, depth, names=names)
        func = node.func
        if isinstance(func, ast.Name) and func.id in frame.locals:
            val = frame.locals[func.id]
            if val.kind == "param":
                frame.out.invokes.add(val.key)
                default = frame.defaults.get(func.id)
                if default is not None and not (isinstance(default, ast.Constant) and default.value is None):
                    # when the file leaves the argument out, the default is what gets called
                    if not isinstance(default, ast.Name | ast.Attribute):
                        raise Fail(f"calls parameter {func.id}, whose default is not a plain name",
                                   frame.where(node))
                    self.call_ref(frame, self.resolver.expr(frame.mod, default), node, args=args, kwargs=kwargs,
                                  depth=depth)
                return _TAINT
            nested = frame.nested.get(func.id)
            if nested is not None and val.key == "localdef":
                return self._call_nested(frame, nested, node, args=args, kwargs=kwargs, depth=depth)
            if val.kind == "method" and frame.self_model is not None and isinstance(val.key, str):
                # a local bound only to self.<method> (pre-pass): the call is self.<method>(...)
                return self._call_found(frame, self.lookup(frame.self_model, val.key), val.key, node, depth=depth)
            raise Fail(f"calls {func.id}, a value computed at run time", frame.where(node))
        if isinstance(func, ast.Name):
            ref = self.resolver.name_in(frame.mod, func.id)
            return self.call_ref(frame, ref, node, args=args, kwargs=kwargs, depth=depth)
        if isinstance(func, ast.Attribute):
            recv = self._expr(frame, func.value, depth)
            return self._method_call(frame, recv, func.attr, node, args=args, kwargs=kwargs, depth=depth)
        if isinstance(func, ast.Call) and self._applies_reviewed_factory(frame, func, node):
            return _Val("method", "dispatcher")  # an object built around the function; calling it is refused
        raise Fail(f"calls a computed callee ({ast.unparse(func)[:60]})", frame.where(node))

    def _applies_reviewed_factory(self, frame: _Frame, factory: ast.Call, node: ast.Call) -> bool:
        """``njit(nogil=True)(f)`` at import: the reviewed decorator factory with constant options only
        (``option_only_factory``) applied to one function of installed source (a def of this body or a
        module-level one), exactly what ``@njit(nogil=True)`` on ``def f`` does."""
        if not frame.import_ctx or len(node.args) != 1 or node.keywords or not isinstance(node.args[0], ast.Name):
            return False
        callee = factory.func
        if not isinstance(callee, ast.Name | ast.Attribute) or (
                isinstance(callee, ast.Name) and callee.id in frame.locals):
            return False
        if not option_only_factory(self.resolver.expr(frame.mod, callee).dotted, factory):
            return False
        name = node.args[0].id
        local = frame.locals.get(name)
        if local is not None:
            return local.key == "localdef" and name in frame.nested
        return self.resolver.name_in(frame.mod, name).kind == "function"

    def _invoked_args(self, frame: _Frame, names: list[str], node: ast.Call, *, args: list[_Val],
                      kwargs: dict[str | None, _Val], depth: int) -> None:
        """Arguments a reviewed callee calls (``sorted(key=f)``, ``functools.reduce(f, ...)``,
        ``defaultdict(factory)`` later): each must itself be safe to call."""
        spec: tuple[int | str, ...] = ()
        for name in names:
            spec = tables.INVOKING_CALLS.get(name, spec)
        if "functools.partial" in names and id(node) in frame.stored_calls:
            # `X = functools.partial(f, ...)` at a module's top level only stores the function (partial_new: a
            # callable() check); X is a value computed at import, which no analysed code may call (a call of it,
            # also at import, is refused as calling a computed value), so f runs nowhere the analysis accepts
            spec = ()
        if names == ["builtins.iter"] and len(node.args) == 2:
            spec = (0,)
        for key in spec:
            if isinstance(key, int):
                if key >= len(node.args):
                    continue
                expr, val = node.args[key], args[key]
            else:
                kw = next((k for k in node.keywords if k.arg == key), None)
                if kw is None:
                    continue
                expr, val = kw.value, kwargs.get(key) or self._quiet(frame, kw.value)
            self._invoke_value(frame, expr, val, node, depth)

    def _invoke_value(self, frame: _Frame, expr: ast.expr, val: _Val, node: ast.Call, depth: int) -> None:
        """``expr`` (evaluated to ``val``) is called by code this body hands it to."""
        where = frame.where(node)
        if isinstance(expr, ast.Constant):
            return  # a literal (None, a number: lru_cache(1000)'s maxsize) is not callable: calling it raises
        if val.kind == "param":
            frame.out.invokes.add(val.key)
            return
        if isinstance(expr, ast.Lambda):
            inner = _Frame(frame.mod, f"{frame.qualname}.<lambda>", frame.self_model, frame.defining,
                           dict(frame.locals), frame.import_ctx, frame.out)
            inner.locals.update({a: _TAINT for a in _lambda_args(expr)})
            self._expr(inner, expr.body, depth + 1)
            return
        if val.kind == "method" and frame.self_model is not None and isinstance(val.key, str):
            self._call_found(frame, self.lookup(frame.self_model, val.key), val.key, node, depth=depth)
            return
        if val.kind == "global" and val.ref is None and isinstance(expr, ast.Name | ast.Attribute):
            val = self._expr(frame, expr, depth)
        if val.kind == "global" and val.ref is not None:
            if val.ref.kind == "builtin":
                name = val.ref.dotted.removeprefix("builtins.")
                if name in tables.PURE_BUILTINS and name not in ("getattr", "setattr", "type", "super"):
                    return
                raise Fail(f"passes builtins.{name} to code that calls it", where)
            fake = ast.Call(func=expr, args=[], keywords=[])
            ast.copy_location(fake, node)
            self.call_ref(frame, val.ref, fake, args=[], kwargs={}, depth=depth)
            return
        raise Fail(f"passes {ast.unparse(expr)[:60]} to code that calls it", where)

    def _call_nested(self, frame: _Frame, fn: ast.FunctionDef | ast.AsyncFunctionDef, node: ast.Call, *,
                     args: list[_Val], kwargs: dict[str | None, _Val], depth: int) -> _Val:
        """A helper defined in the body and called there: its body runs with the enclosing locals as closure."""
        if depth > self.max_depth:
            raise Fail(f"call chain deeper than {self.max_depth}", frame.where(node))
        inner = _Frame(frame.mod, f"{frame.qualname}.<locals>.{fn.name}", frame.self_model, frame.defining,
                       dict(frame.locals), frame.import_ctx, Outcome(True, ""), _defaults(fn))
        own = {name: _Val("param", f"<inner>{val.key}") if val.kind == "param" else val
               for name, val in _params(fn, False).items()}
        inner.locals.update(own)
        inner.nested = dict(frame.nested)
        self._prepass(inner, fn.body)
        self._prepass(inner, fn.body)
        for default in (*fn.args.defaults, *[d for d in fn.args.kw_defaults if d is not None]):
            self._expr(frame, default, depth)
        for stmt in fn.body:
            self._stmt(inner, stmt, depth + 1)
        mine: set[int | str] = set()
        for key in inner.out.invokes:
            if isinstance(key, str) and key.startswith("<inner>"):
                raw = key.removeprefix("<inner>")
                mine.add(int(raw) if raw.isdigit() else raw)
            else:
                frame.out.invokes.add(key)  # a parameter of the enclosing function, called through the closure
        self._flow_invokes(frame, mine, node, args=args, kwargs=kwargs, dotted=fn.name)
        self._flow_touches(frame, inner.out.touches, [*args, *kwargs.values()], node, depth)
        return _TAINT

    def _method_call(self, frame: _Frame, recv: _Val, name: str, node: ast.Call, *, args: list[_Val],
                     kwargs: dict[str | None, _Val], depth: int) -> _Val:
        if recv.kind == "super":
            return self._super_call(frame, recv, name, node, depth)
        if recv.kind in ("self", "cls"):
            model = frame.self_model
            if model is None:
                raise Fail(f"calls {name} on an unknown class", frame.where(node))
            if name in ("__setattr__",) and recv.kind == "self":
                attr = node.args[0].value if node.args and isinstance(node.args[0], ast.Constant) else None
                self.check_setattr(frame, attr if isinstance(attr, str) else None, via_object=False, node=node,
                                   depth=depth)
                return _CONST
            found = self.lookup(model, name)
            return self._call_found(frame, found, name, node, depth=depth)
        if recv.key == "holds":
            # a builtin container holding instances of source classes or untracked values (red team R7-4)
            if name not in tables.DATA_METHODS:
                raise Fail(f"calls {name}() of a container holding values the analysis does not track",
                           frame.where(node))
            if name in _ITEM_METHODS:  # list.index, list.sort, dict.get... compare or hash the items
                self._touch(frame, list(recv.items), ("__eq__", "__ne__", "__hash__", "__lt__", "__gt__",
                                                      "__le__", "__ge__", "__str__", "__format__"), node, depth)
            self._invoked_args(frame, [f"<data>.{name}"], node, args=args, kwargs=kwargs, depth=depth)
            self._hold_receiver(frame, node, [*args, *kwargs.values()], depth)
            return (_element(recv) or _UNTRACKED) if name in _ITEM_RESULTS else recv
        if recv.kind == "global" and recv.ref is not None:
            if frame.import_ctx and name in tables.DATA_METHODS and isinstance(node.func, ast.Attribute) \
                    and isinstance(node.func.value, ast.Name) and node.func.value.id in frame.mod.bindings \
                    and self._is_value(recv) and (recv.ref.module is frame.mod or name in _VIEW_METHODS) \
                    and self.value_class(recv.ref) == "builtin":
                # building this module's own (builtin) tables at import, or reading another module's builtin
                # table's keys/values/items/copy (C code that runs nothing of the elements); callables handed
                # over are analysed
                self._invoked_args(frame, [f"<data>.{name}"], node, args=args, kwargs=kwargs, depth=depth)
                self._hold_receiver(frame, node, [*args, *kwargs.values()], depth)
                return _FRESH
            return self.call_ref(frame, self.resolver.member(recv.ref, name), node, args=args, kwargs=kwargs,
                                 depth=depth, receiver=recv.ref)
        if recv.key == "instance" and recv.ref is not None:
            # an instance the code created of a source class: its method is that class's code (a dict subclass'
            # own `pop` is not dict.pop), so it is analysed like the class's, never taken as a data method
            return self.call_ref(frame, self.resolver.member(recv.ref, name), node, args=args, kwargs=kwargs,
                                 depth=depth, receiver=recv.ref, instance=True)
        if recv.kind == "logger":
            if name in tables.LOGGER_METHODS:
                return _CONST
            raise Fail(f"calls logger method {name}", frame.where(node))
        if recv.key in ("result", "oneof"):
            raise Fail(f"calls {name}() of a value returned by code whose result the analysis does not track",
                       frame.where(node))
        if recv.from_file:
            if recv.key == _FILE_DICT.key and name in tables.MUTATING_METHODS:
                raise Fail(f"calls {name}() of the attribute dict of an object from the file (it may shadow a method "
                           "the load looks up on it)", frame.where(node))
            if name in tables.DATA_METHODS:
                frame.out.touches.add(name)
                return _TAINT
            raise Fail(f"calls method {name}() of a value from the file", frame.where(node))
        if recv.kind == "classdata":
            if name in tables.DATA_METHODS and (name not in tables.MUTATING_METHODS or frame.import_ctx):
                return _Val("classdata")
            raise Fail(f"calls {name}() on class-level data (modifies state shared by every instance)",
                       frame.where(node))
        if recv.kind in ("fresh", "const"):
            if name in tables.DATA_METHODS and recv.key not in ("localdef", "lambda"):
                self._invoked_args(frame, [f"<data>.{name}"], node, args=args, kwargs=kwargs, depth=depth)
                self._hold_receiver(frame, node, [*args, *kwargs.values()], depth)
                return _FRESH
            raise Fail(f"calls method {name}() of a local value", frame.where(node))
        if recv.kind == "method":
            raise Fail(f"calls {name}() on a bound method", frame.where(node))
        raise Fail(f"calls {name}() on {recv.kind}", frame.where(node))

    def _super_call(self, frame: _Frame, recv: _Val, name: str, node: ast.Call, depth: int) -> _Val:
        model, defining = frame.self_model, frame.defining
        if model is None or defining is None:
            raise Fail("super() outside a class", frame.where(node))
        if recv.ref is not None:  # super(Start, self): the lookup starts after Start in type(self)'s MRO
            start = next((p for p in model.mro if isinstance(p, ClassModel) and p.dotted == recv.ref.dotted), None)
            if start is None:
                raise Fail(f"super({recv.ref.dotted}, self): not in the MRO of {model.dotted}", frame.where(node))
            defining = start
        if name == "__setattr__":
            attr = node.args[0].value if node.args and isinstance(node.args[0], ast.Constant) else None
            found = self.lookup(model, "__setattr__", after=defining)
            if found is None or (isinstance(found[1], Leaf) and found[1].kind == "builtin"):
                self.check_setattr(frame, attr if isinstance(attr, str) else None, via_object=True, node=node,
                                   depth=depth)
                return _CONST
        found = self.lookup(model, name, after=defining)
        return self._call_found(frame, found, name, node, depth=depth)

    def _call_found(self, frame: _Frame, found: tuple[ClassModel | Leaf, Binding | Leaf] | None, name: str,
                    node: ast.AST, *, depth: int) -> _Val:
        if found is None:
            if name in ("__init__", "__new__", "__init_subclass__", "__setstate__", "__post_init__"):
                return _CONST  # object's default: nothing runs
            raise Fail(f"calls self.{name}(), a value from the object's state", frame.where(node))
        owner, what = found
        if isinstance(what, Leaf):
            if what.kind == "builtin":
                if not _builtin_method(what, name):
                    raise Fail(f"calls {what.dotted}.{name}, which is not a plain method", frame.where(node))
                return _FRESH  # a method of a builtin base, C code on the object's own data
            if what.kind == "special" and what.tag in ("transparent", "typeddict"):
                return _FRESH
            if what.dotted in tables.PLAIN_CHECK_METACLASSES and name in _TYPE_CHECKS:
                return _FRESH  # a compiled metaclass reviewed to keep type.__instancecheck__/__subclasscheck__
            if self.catalog is not None and self.catalog(f"{what.dotted}.{name}", Use.CALL) is True:
                return _FRESH
            raise Fail(f"calls {name} of base {what.dotted} ({what.reason or what.kind}), not analysable",
                       frame.where(node))
        owner = as_model(owner)
        for binding in owner.body.get(name, [what]):
            self._run_method(frame, owner, binding, depth, node)  # conditional alternatives: every one
        return _TAINT

    def _run_method(self, frame: _Frame, owner: ClassModel, binding: Binding, depth: int, node: ast.AST) -> _Val:
        fn = binding.node
        if binding.kind != "function" or not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            raise Fail(f"calls {owner.dotted} member bound to a value, not a def", frame.where(node))
        static = any(isinstance(d, ast.Name) and d.id == "staticmethod" for d in fn.decorator_list)
        result = self.function(fn, owner.module, f"{owner.ref.qualname}.{fn.name}", self_model=frame.self_model,
                               defining=owner, bound=not static, import_ctx=frame.import_ctx, depth=depth + 1)
        self._merge(frame, result, node)
        return _result_value(result.returns, [])

    def _run_property(self, frame: _Frame, owner: ClassModel, name: str, depth: int, node: ast.AST) -> None:
        """Reading a property runs its getter; every def bound to the name (getter, setter, deleter) is
        analysed, a superset of what runs."""
        for binding in owner.body.get(name, []):
            if binding.kind == "function":
                self._run_method(frame, owner, binding, depth, node)

    def _merge(self, frame: _Frame, result: Outcome, node: ast.AST) -> None:
        if not result.inert:
            raise Fail(result.reason, result.where or frame.where(node))
        if result.invokes:
            raise Fail("calls code that calls a value it is given", result.where or frame.where(node))
        frame.out.touches |= result.touches

    def call_ref(self, frame: _Frame, ref: Ref, node: ast.Call, *, args: list[_Val],
                 kwargs: dict[str | None, _Val], depth: int, receiver: Ref | None = None,
                 instance: bool = False) -> _Val:
        """A call of a module-level name. The catalogue and the reviewed tables are consulted under the name as
        written in the source (``np.asarray`` is ``numpy.asarray``) and under the definition it resolves to;
        denied beats allowed."""
        dotted = ref.dotted
        where = frame.where(node)
        if ref.kind == "builtin":
            return self._builtin_call(frame, dotted.removeprefix("builtins."), node, args, depth,
                                      kwvals=list(kwargs.values()))
        written = _written(frame, node.func)
        names = list(dict.fromkeys(n for n in (written, dotted) if n))
        for module in (ref.module.name if ref.module is not None else None, dotted.rpartition(".")[0]):
            if tables.import_only(module) is not None:  # numpy.testing: imported, never called (lead's decision)
                raise Fail(f"calls {dotted}: {module} is admitted for import only", where)
        # At import time every argument is the library's own (nothing comes from the file; the environment is
        # trusted): a reviewed benign call (an environment probe such as importlib.metadata.version or
        # os.environ.get) is judged by that review, not by the catalogue's denial, which is about a pickle
        # choosing the arguments. Anywhere else denied beats allowed.
        import_benign = frame.import_ctx and any(n in tables.BENIGN_CALLS for n in names)
        if frame.import_ctx and names and all(reviewed_constant_call(n, node) for n in names):
            return _library_result(args, kwargs)  # the arguments are the reviewed constants: no value from anywhere
        if self.catalog is not None:
            verdicts = [self.catalog(n, Use.CALL) for n in names]
            if False in verdicts and not import_benign and self._explicit_dunder_call(ref, names):
                verdicts = [None]  # 'Base.__init__(self, ...)' of source read here: analysed below like super()
            if False in verdicts and not import_benign:
                raise Fail(f"calls {names[verdicts.index(False)]}, denied by the catalogue", where)
            if True in verdicts and False not in verdicts:
                self._invoked_args(frame, names, node, args=args, kwargs=kwargs, depth=depth)
                return _library_result(args, kwargs)
        for name in names:
            if _dangerous(name) and name not in tables.BENIGN_CALLS and not (
                    frame.import_ctx and name in tables.IMPORT_TIME_CALLS):
                raise Fail(f"calls {name}", where)
        for name in names:
            if name in tables.COPYING_CALLS:
                self._touch(frame, [*args, *kwargs.values()], ("__copy__", "__deepcopy__", "__reduce_ex__"), node,
                            depth)
                if any(a.kind == "self" for a in [*args, *kwargs.values()]):
                    raise Fail(f"{name} of the object itself (runs its __reduce_ex__ machinery)", where)
                return _library_result(args, kwargs)
        if any(n in tables.BENIGN_CALLS for n in names):
            self._invoked_args(frame, names, node, args=args, kwargs=kwargs, depth=depth)
            return _library_result(args, kwargs)
        if frame.import_ctx and any(n in tables.IMPORT_TIME_CALLS for n in names):
            return _library_result(args, kwargs)
        if ref.kind == "function" and isinstance(ref.node, ast.FunctionDef | ast.AsyncFunctionDef) and ref.module:
            # a hook at class creation handing the class being built to a helper (xarray's inject_numpy_same(cls)):
            # the helper runs with that parameter bound to the class (its setattrs are the hook's)
            cls_params = tuple(i for i, a in enumerate(args) if a.kind == "cls") if frame.import_ctx and not any(
                isinstance(a, ast.Starred) for a in node.args) else ()
            result = self.function(ref.node, ref.module, ref.qualname, import_ctx=frame.import_ctx,
                                   depth=depth + 1, self_model=frame.self_model if cls_params else None,
                                   cls_params=cls_params)
            if not result.inert:
                raise Fail(f"calls {dotted}: {result.reason}", result.where or where)
            if instance and frame.import_ctx and receiver is not None and set(
                    part for touch in result.touches for part in touch.split("/")) - _CONTAINER_OWN \
                    and self._stores_built_state(receiver):
                # C().m() at import: m's code operates on the instance's state (taken as data), which C's own
                # code filled with objects it built (self.e = E()): their methods run (red team R7-4)
                raise Fail(f"calls {dotted} on an instance whose class stores objects its code builds, and the "
                           f"method runs protocol methods ({'/'.join(sorted(result.touches))[:60]}) of values the "
                           "analysis does not track", where)
            self._flow_invokes(frame, result.invokes, node, args=args, kwargs=kwargs, dotted=dotted)
            self._flow_touches(frame, result.touches, [*args, *kwargs.values()], node, depth)
            handed = [*args, *kwargs.values()] + ([_UNTRACKED] if receiver is not None else [])  # self, too
            return _result_value(result.returns, handed)
        if ref.kind == "class":
            result = self.class_use(ref, Use.CALL, depth + 1)
            if not result.inert:
                raise Fail(f"instantiates {dotted}: {result.reason}", result.where or where)
            self._flow_invokes(frame, result.invokes, node, args=args, kwargs=kwargs, dotted=dotted)
            self._flow_touches(frame, result.touches, [*args, *kwargs.values()], node, depth)
            return _Val("taint", "instance", ref=ref)
        if ref.kind == "namedtuple":
            return _TAINT
        if ref.kind == "unknown" and ref.alternatives:
            # one of two classes, which one decided by a module-level ``if``: each must be inert to call, and
            # the instance is of a class the analysis does not know (its protocol methods are refused)
            for alternative in ref.alternatives:
                if alternative.kind == "value" and isinstance(alternative.node, ast.Constant) \
                        and alternative.node.value is None:
                    continue  # ``X = None`` in the other branch: calling None raises TypeError, nothing runs
                self.call_ref(frame, alternative, node, args=args, kwargs=kwargs, depth=depth, receiver=receiver)
            return _UNTRACKED
        raise Fail(f"calls {dotted}: {ref.reason or 'not analysable'}", where)

    def _explicit_dunder_call(self, ref: Ref, names: list[str]) -> bool:
        """``Base.__init__(self, ...)``: a dunder method of a class read from source, called by name. The
        catalogue denies every dotted name ending in a dunder (a pickle naming ``X.__init__`` reaches interpreter
        internals); here the callee is a ``def`` in that source, so it is analysed instead, provided that the
        catalogue denies none of the classes it is spelled through."""
        if self.catalog is None or ref.kind != "function" or not isinstance(ref.node, ast.FunctionDef) \
                or ref.module is None or "." not in ref.qualname:
            return False
        method = ref.qualname.rpartition(".")[2]
        if not (method.startswith("__") and method.endswith("__")):
            return False
        owners = [n.rpartition(".")[0] for n in names if n.rpartition(".")[2] == method]
        return len(owners) == len(names) and not any(
            self.catalog(owner, use) is False for owner in owners for use in (Use.REF, Use.CALL))

    def _flow_touches(self, frame: _Frame, touches: set[str], args: list[_Val], node: ast.AST, depth: int) -> None:
        """A callee's touches apply to what we passed it: to the file's values (recorded) and to ``self``
        (the object's own methods, analysed), since touches are not tracked per argument."""
        frame.out.touches |= touches
        for arg in args:
            if self._is_value(arg) and arg.ref is not None:
                for touch in touches:
                    self._value_protocol(frame, arg.ref, tuple(touch.split("/")), node, depth)
        if not any(a.kind == "self" for a in args):
            return
        for touch in touches:
            for name in touch.split("/"):
                if name == "__setattr__":
                    self.check_setattr(frame, None, via_object=False, node=node, depth=depth)
                elif (name.startswith("__") and name.endswith("__")) or name in tables.DATA_METHODS:
                    self._self_protocol(frame, name, node, depth)

    def _flow_invokes(self, frame: _Frame, invoked: set[int | str], node: ast.Call, *, args: list[_Val],
                      kwargs: dict[str | None, _Val], dotted: str) -> None:
        for key in invoked:
            val = args[key] if isinstance(key, int) and key < len(args) else kwargs.get(key) if isinstance(
                key, str) else None
            if val is None:
                if any(isinstance(a, ast.Starred) for a in node.args) or None in kwargs:
                    raise Fail(f"passes unpacked arguments to {dotted}, which calls its argument {key}",
                               frame.where(node))
                continue
            if val.kind == "param":
                frame.out.invokes.add(val.key)
            elif val.kind != "const":
                raise Fail(f"passes a value to {dotted}, which calls its argument {key}", frame.where(node))

    def _builtin_call(self, frame: _Frame, name: str, node: ast.Call, args: list[_Val], depth: int, *,
                      kwvals: list[_Val] | None = None) -> _Val:
        where = frame.where(node)
        if "." in name:
            return self._builtin_method(frame, name, node, args, depth)
        if name in ("getattr", "hasattr") and args and args[0].kind == "global" and args[0].ref is not None \
                and args[0].ref.kind == "module":
            # getattr(module, name) runs the module __getattr__ for a name it does not bind (any name, when the
            # name is computed)
            key = node.args[1] if len(node.args) > 1 else None
            looked = key.value if isinstance(key, ast.Constant) and isinstance(key.value, str) else "*"
            self.module_getattr(frame, args[0].ref.dotted, looked, node, depth)
        if name in ("getattr", "hasattr") and args and args[0].ref is not None \
                and args[0].ref.dotted == _SYS_MODULES_ITEM:
            raise Fail(f"{name} of a module object taken from sys.modules (its module __getattr__ may run)", where)
        if name == "getattr" and len(node.args) == 2 and not node.keywords and self._plain_compiled_class(
                frame, node.args[0], args[0]):
            # getattr(np.ndarray, name): type.__getattribute__ (C) on a static immutable type, whose dict no code
            # can change: a C attribute, library data (its __doc__ a str)
            return _Val("classdata")
        if frame.import_ctx and f"builtins.{name}" in tables.IMPORT_TIME_CALLS:
            if name == "getattr" and args and _untracked_source(args[0]):
                # getattr(H(), "e"): what the instance (or an untracked value) holds there (red team R7-4)
                attr = node.args[1] if len(node.args) > 1 else None
                if args[0].key == "instance" and isinstance(attr, ast.Constant) and isinstance(attr.value, str):
                    self._instance_attribute(frame, args[0], attr.value, node, depth)
                    return self._instance_attr_value(args[0], attr.value)
                else:
                    self._touch(frame, [args[0]], ("__getattribute__", "__getattr__"), node, depth)
                return _UNTRACKED
            return _TAINT
        if f"builtins.{name}" in tables.DANGEROUS_CALLS and name != "setattr":
            raise Fail(f"calls builtins.{name}", where)
        if name in ("getattr", "hasattr"):
            attr = node.args[1] if len(node.args) > 1 else None
            if not (isinstance(attr, ast.Constant) and isinstance(attr.value, str)):
                raise Fail(f"{name} with a computed attribute name", where)
            if attr.value.startswith("__"):
                raise Fail(f"{name} of dunder attribute {attr.value}", where)
            if args and args[0].from_file:
                frame.out.touches.add("__getattribute__/__getattr__")
            if args and self._is_value(args[0]) and args[0].ref is not None:
                self._value_attribute(frame, args[0].ref, attr.value, node, depth)
            if args and args[0].key == "instance":  # getattr(C(), 'x') (red team R5-2)
                self._instance_attribute(frame, args[0], attr.value, node, depth)
                if name == "getattr":
                    return _UNTRACKED  # what the instance holds there (red team R7-4)
            if args and args[0].key in ("result", "holds") and name == "getattr":
                self._touch(frame, [args[0]], ("__getattribute__", "__getattr__"), node, depth)
                return _UNTRACKED
            if args and args[0].kind == "self" and frame.self_model is not None:
                found = self.lookup(frame.self_model, attr.value)
                if found is not None and isinstance(found[1], Binding) and found[1].kind == "function" \
                        and _property_kind(found[1].node) in ("property", "setter"):
                    self._run_property(frame, as_model(found[0]), attr.value, depth, node)
            return _TAINT
        if name == "setattr" and args and args[0].kind == "cls" and frame.import_ctx:
            self.class_setattr(frame, node)  # a hook setting attributes of the class being created
            return _CONST
        if name == "setattr":
            if not args or args[0].kind != "self":
                raise Fail("setattr on an object that is not its own", where)
            attr = node.args[1] if len(node.args) > 1 else None
            const = attr.value if isinstance(attr, ast.Constant) and isinstance(attr.value, str) else None
            self.check_setattr(frame, const, via_object=False, node=node, depth=depth)
            return _CONST
        if name == "super":
            if not node.args:
                return _Val("super")
            start = self.resolver.expr(frame.mod, node.args[0]) if isinstance(node.args[0], ast.Name
                                                                               | ast.Attribute) else None
            if start is None or start.kind != "class" or len(args) < 2 or args[1].kind not in ("self", "cls"):
                raise Fail("super() with arguments the model cannot follow", where)
            return _Val("super", ref=start)
        if name == "type" and len(node.args) != 1:
            raise Fail("type() with three arguments creates a class", where)
        if name == "type":
            # the class of the object itself, or of a value from the file: its attributes are class-level
            # state shared by every instance (reads only)
            return _Val("cls") if args and args[0].kind == "self" else _Val("classdata")
        if name in ("isinstance", "issubclass") and len(node.args) >= 2:
            self._class_check(frame, node.args[1], args[1], node, depth)
        if name in tables.PURE_BUILTINS or name in tables.PURE_EXCEPTIONS:
            self._invoked_args(frame, [f"builtins.{name}"], node, args=args,
                               kwargs={kw.arg: self._quiet(frame, kw.value) for kw in node.keywords}, depth=depth)
            touch = _BUILTIN_TOUCH.get(name)
            if touch:
                self._touch(frame, args, tuple(touch.split("/")), node, depth)
            if name in ("dict", "list", "set", "tuple", "frozenset", "sorted", "reversed", "enumerate", "zip",
                        "filter", "iter"):
                # a container (or iterator) of the arguments' items: it holds what they held (red team R7-4)
                held = _holding([*args, *(kwvals or [])])
                if held is not None and name in ("dict", "set", "frozenset"):
                    self._touch(frame, [held], ("__hash__", "__eq__"), node, depth)
                if held is not None:
                    return held
                if name in ("dict", "list", "set", "tuple", "frozenset"):
                    return _FRESH
            return _TAINT if name in _BUILTIN_TYPED_RESULTS else _library_result(args, {})
        raise Fail(f"calls builtins.{name}", where)

    def _plain_compiled_class(self, frame: _Frame, expr: ast.expr, val: _Val) -> bool:
        """``expr`` names a reviewed compiled class (``source_tables.PLAIN_COMPILED_CLASSES``), not a name the
        source binds."""
        if val.kind != "global" or val.ref is None or val.ref.kind not in ("unknown", "external"):
            return False
        spelled = _written(frame, expr) if isinstance(expr, ast.Name | ast.Attribute) else None
        return val.ref.dotted in tables.PLAIN_COMPILED_CLASSES or spelled in tables.PLAIN_COMPILED_CLASSES

    def _builtin_method(self, frame: _Frame, name: str, node: ast.Call, args: list[_Val], depth: int) -> _Val:
        """``object.__setattr__(self, ...)``, ``dict.fromkeys(...)``: methods of builtin types called through the
        type. Only the data types' methods are modelled; ``object.__setattr__`` is a setattr on its first
        argument (which must be the object itself)."""
        owner, _, method = name.partition(".")
        where = frame.where(node)
        if owner == "object" and method in ("__setattr__", "__delattr__"):
            if not args or args[0].kind != "self":
                raise Fail(f"object.{method} on an object that is not its own", where)
            attr = node.args[1] if len(node.args) > 1 else None
            const = attr.value if isinstance(attr, ast.Constant) and isinstance(attr.value, str) else None
            self.check_setattr(frame, const, via_object=True, node=node, depth=depth)
            return _CONST
        if owner in _DATA_TYPES and (not method.startswith("__") or method in _DATA_DUNDERS):
            if method == "__new__" and args and args[0].kind not in ("cls", "global"):
                raise Fail(f"{name} of a class from the file", where)
            if any(a.from_file for a in args[1:]):
                frame.out.touches.add(f"{owner}.{method}")
            return _TAINT
        raise Fail(f"calls builtins.{name}", where)

    # --- isinstance / issubclass -----------------------------------------------------------------------------
    def _class_check(self, frame: _Frame, expr: ast.expr, val: _Val, node: ast.AST, depth: int) -> None:
        """``isinstance(x, C)``/``issubclass(x, C)`` run ``type(C).__instancecheck__``/``__subclasscheck__``
        (for ``abc.ABCMeta`` and typing's protocol metaclass: ``C.__subclasshook__``): inert only when ``C`` is a
        builtin or reviewed class, or a source class whose metaclass hooks and ``__subclasshook__`` are
        analysed inert."""
        where = frame.where(node)
        if isinstance(expr, ast.Tuple):
            for elt in expr.elts:
                self._class_check(frame, elt, self._quiet(frame, elt) if isinstance(elt, ast.Name)
                                  and elt.id in frame.locals else _Val("global"), node, depth)
            return
        if val.from_file or val.kind == "classdata":
            frame.out.touches.add("__instancecheck__/__subclasscheck__")  # the file chooses the class
            return
        if val.kind == "cls":
            if frame.self_model is None:
                raise Fail("isinstance against an unknown class", where)
            self._class_hooks(frame, frame.self_model, node, depth)
            return
        if val.kind != "global":
            raise Fail(f"isinstance/issubclass against {ast.unparse(expr)[:60]}, a value computed at run time", where)
        ref = val.ref if val.ref is not None else self.resolver.expr(frame.mod, expr)
        self._class_ref_check(frame, ref, node, depth, 0)

    def _class_ref_check(self, frame: _Frame, ref: Ref, node: ast.AST, depth: int, nesting: int) -> None:
        where = frame.where(node)
        if ref.kind in ("builtin", "special"):
            return
        if ref.kind == "class":
            model = self.resolver.class_model(ref)
            if not isinstance(model, ClassModel):
                raise Fail(f"isinstance against {ref.dotted}: {model}", where)
            self._class_hooks(frame, model, node, depth)
            return
        if ref.kind == "value" and ref.module is not None and isinstance(ref.node, ast.Tuple) and nesting < 4:
            for elt in ref.node.elts:
                self._class_ref_check(frame, self.resolver.expr(ref.module, elt), node, depth, nesting + 1)
            return
        if self.catalog is not None and any(self.catalog(ref.dotted, u) is True for u in (Use.REF, Use.CALL)):
            return  # a reviewed class
        if ref.kind in ("external", "unknown") and self._stdlib_name(ref.dotted):
            return  # a stdlib class (trusted like the stdlib's import)
        raise Fail(f"isinstance/issubclass against {ref.dotted} ({ref.reason or ref.kind}): its metaclass' "
                   "__instancecheck__ is not known", where)

    def _stdlib_name(self, dotted: str) -> bool:
        from safeload.catalog.source_locate import is_stdlib_path

        top = self.resolver.module(dotted.split(".", 1)[0])
        if not isinstance(top, ModuleInfo):
            return top.kind == "builtin" or bool(top.origin and is_stdlib_path(top.origin))
        return bool(top.path) and is_stdlib_path(top.path)

    def _class_hooks(self, frame: _Frame, model: ClassModel, node: ast.AST, depth: int) -> None:
        from safeload.catalog.source_locate import is_stdlib_path

        where = frame.where(node)
        if model.module.path and is_stdlib_path(model.module.path):
            return  # the stdlib is trusted (its ABCs' hooks only read the class' attributes)
        meta = model.metaclass
        if isinstance(meta, Ref):
            if meta.dotted not in tables.KNOWN_METACLASSES:
                raise Fail(f"isinstance against {model.dotted}, whose metaclass {meta.dotted} is not known", where)
        elif isinstance(meta, ClassModel):
            for hook in ("__instancecheck__", "__subclasscheck__"):
                found = self.lookup(meta, hook)
                if found is None:
                    continue
                owner, what = found
                if isinstance(what, Leaf):
                    if what.kind == "builtin" or what.dotted in tables.KNOWN_METACLASSES:
                        continue
                    raise Fail(f"isinstance against {model.dotted}: metaclass base {what.dotted} may define {hook}",
                               where)
                self._hook(frame, meta, as_model(owner), what, hook=hook, node=node, depth=depth)
        for part in model.mro:  # ABCMeta and typing's protocol metaclass call __subclasshook__
            if isinstance(part, ClassModel):
                binding = part.own("__subclasshook__")
                if binding is not None:
                    self._hook(frame, model, part, binding, hook="__subclasshook__", node=node, depth=depth)
            elif part.kind == "external" and not (self.catalog is not None
                                                  and self.catalog(part.dotted, Use.REF) is True):
                raise Fail(f"isinstance against {model.dotted}: base {part.dotted} may define __subclasshook__",
                           where)

    def _hook(self, frame: _Frame, model: ClassModel, owner: ClassModel, binding: Binding, *, hook: str,
              node: ast.AST, depth: int) -> None:
        fn = binding.node
        where = frame.where(node)
        if binding.kind != "function" or not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            raise Fail(f"{owner.dotted}.{hook} is not a plain def", where)
        result = self.function(fn, owner.module, f"{owner.ref.qualname}.{hook}", self_model=model, defining=owner,
                               bound=True, import_ctx=frame.import_ctx, depth=depth + 1)
        if not result.inert:
            raise Fail(f"isinstance runs {owner.dotted}.{hook}: {result.reason}", result.where or where)
        if result.invokes:
            raise Fail(f"isinstance runs {owner.dotted}.{hook}, which calls the class it is given",
                       result.where or where)
        frame.out.touches |= result.touches

    # --- module-level objects -------------------------------------------------------------------------------
    def value_class(self, ref: Ref, depth: int = 0) -> ClassModel | str | None:
        """The class of the module-level object ``ref`` (kind ``value``, or ``unknown`` when the module binds the
        name more than once): ``"builtin"`` for literals and builtin containers/constants (their protocol
        methods are C code), the class model for an instance of a plain source class (no custom metaclass),
        None when unknown."""
        if ref.module is None or depth > 8:
            return None
        if ref.kind == "unknown":
            return self._rebound_class(ref, depth)
        node = ref.node
        if not isinstance(node, ast.expr):
            return None
        if isinstance(node, ast.Constant | ast.JoinedStr | ast.List | ast.Tuple | ast.Set | ast.Dict
                      | ast.ListComp | ast.SetComp | ast.DictComp):
            return "builtin"
        name = ref.dotted.rpartition(".")[2]
        if isinstance(node, ast.BinOp) and ref.dotted == f"{ref.module.name}.{name}" and _extends_itself(node, name):
            bindings = ref.module.bindings.get(name, [])
            mine = next((i for i, b in enumerate(bindings) if b.value is node), 0)
            earlier = bindings[:mine]
            if not earlier or earlier[-1].conditional:
                return None
            return self._binding_class(ref, earlier[-1], depth)  # 'x = x + "literal"' keeps x's class
        if isinstance(node, ast.Subscript | ast.BinOp) and self._typing_expr(ref.module, node, depth):
            return "builtin"  # a typing alias (Union[...], List[...], X | None): typing's own hash/eq/repr
        if isinstance(node, ast.BinOp):
            sides = [self._expr_class(ref.module, n, depth) for n in (node.left, node.right)]
            return "builtin" if all(k == "builtin" for k in sides) else None
        if isinstance(node, ast.UnaryOp):  # -0.25, not x, ~n: a builtin operand gives a builtin value
            return "builtin" if self._expr_class(ref.module, node.operand, depth) == "builtin" else None
        if isinstance(node, ast.Call) and _str_method_of_literal(node.func):
            return "builtin"  # '"""doc""".rstrip()': a str method on a literal returns a str, list, int or bool
        if isinstance(node, ast.Call):
            callee = self.resolver.expr(ref.module, node.func)
            spelled = _written(_Frame(ref.module, "", None, None, {}, True, Outcome(True, "")), node.func)
            if callee.dotted in _BUILTIN_VALUE_CALLS or spelled in _BUILTIN_VALUE_CALLS:
                return "builtin"
            if callee.dotted in tables.VALUE_FACTORIES or (spelled or "") in tables.VALUE_FACTORIES:
                return "builtin"  # a reviewed value type: its protocol methods only compute on its fields
            if callee.kind == "class":
                model = self.resolver.class_model(callee)
                if isinstance(model, ClassModel) and model.metaclass is None:
                    return model
        return None

    def _typing_expr(self, mod: ModuleInfo, node: ast.expr, depth: int) -> bool:
        """``node`` builds a typing alias from typing forms, classes without a custom metaclass, ``None``,
        string forward references and other such aliases: ``Union[A, B]``, ``Optional[X]``, ``A | None``."""
        if depth > 8:
            return False
        if isinstance(node, ast.Constant):
            return node.value is None or node.value is Ellipsis or isinstance(node.value, str)
        if isinstance(node, ast.Tuple | ast.List):
            return all(self._typing_expr(mod, e, depth + 1) for e in node.elts)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            return self._typing_expr(mod, node.left, depth + 1) and self._typing_expr(mod, node.right, depth + 1)
        if isinstance(node, ast.Subscript):
            base = self.resolver.expr(mod, node.value)
            spelled = _written(_Frame(mod, "", None, None, {}, True, Outcome(True, "")), node.value)
            # np.ndarray[...] and a stdlib ABC's C[...] build a types.GenericAlias (C methods); a source class whose
            # only __class_getitem__ is typing.Generic's builds typing's alias
            alias = base.dotted in tables.GENERIC_ALIAS_CLASSES or spelled in tables.GENERIC_ALIAS_CLASSES or (
                base.kind == "class" and self.resolver.plain_generic(base))
            if not (base.kind == "special" or base.dotted.startswith(("typing.", "typing_extensions.")) or alias
                    or self._typing_expr(mod, node.value, depth + 1)):
                return False
            return self._typing_expr(mod, node.slice, depth + 1)
        if isinstance(node, ast.Name | ast.Attribute):
            ref = self.resolver.expr(mod, node)
            if ref.kind == "special" or ref.dotted.startswith(("typing.", "typing_extensions.")) or (
                    ref.kind == "builtin"):
                return True
            if ref.kind in ("unknown", "external"):
                # a reviewed compiled class (np.integer): never a name the source binds to a class or value
                spelled = _written(_Frame(mod, "", None, None, {}, True, Outcome(True, "")), node)
                return ref.dotted in tables.PLAIN_COMPILED_CLASSES or spelled in tables.PLAIN_COMPILED_CLASSES
            if ref.kind == "class":
                # the alias's own methods (hash, ==, |) reach the class object's: its metaclass's must be type's
                model = self.resolver.class_model(ref)
                return isinstance(model, ClassModel) and self.metaclass_problem(model, _ALIAS_DUNDERS) is None
            if ref.kind == "value" and ref.module is not None and isinstance(ref.node, ast.expr):
                # a TypeVar (VALUE_FACTORIES) or another alias
                return self._typing_expr(ref.module, ref.node, depth + 1) or (
                    self.value_class(ref, depth + 1) == "builtin")
        return False

    def _binding_class(self, ref: Ref, binding: Binding, depth: int) -> ClassModel | str | None:
        """The class of what one binding (an assignment or a ``from`` import) of ``ref``'s name holds."""
        mod = ref.module
        if mod is None:
            return None
        if binding.kind == "assign" and binding.value is not None:
            return self.value_class(Ref("value", ref.dotted, mod, binding.value, ref.dotted.rpartition(".")[2]),
                                    depth + 1)
        if binding.kind == "from" and binding.attr:
            source = self.resolver.from_import(binding.target, binding.attr)
            if source.kind in ("value", "unknown"):
                return self.value_class(source, depth + 1)
            if source.kind == "class":
                return self._plain_class_object(source)
        if binding.kind == "class" and isinstance(binding.node, ast.ClassDef):
            return self._plain_class_object(Ref("class", ref.dotted, mod, binding.node, binding.node.name))
        return None

    def _plain_class_object(self, ref: Ref) -> str | None:
        """A class object read from source with no metaclass in its MRO: operators on the class itself
        (``C | None``, ``C == D``) are ``type``'s C methods, like a builtin value's."""
        model = self.resolver.class_model(ref)
        if not isinstance(model, ClassModel) or any(
                isinstance(part, ClassModel) and part.metaclass is not None for part in model.mro):
            return None
        if any(isinstance(part, Leaf) and part.kind == "external" for part in model.mro):
            return None
        return "builtin"

    def _rebound_class(self, ref: Ref, depth: int) -> ClassModel | str | None:
        """A name the module binds several times: "builtin" only when every binding is a builtin value (or a
        function, class or module object), else None."""
        mod = ref.module
        if mod is None or not ref.dotted.startswith(mod.name + "."):
            return None
        name = ref.dotted[len(mod.name) + 1:]
        bindings = mod.bindings.get(name)
        if not bindings or "." in name:
            return None
        for b in bindings:
            if b.kind == "assign" and b.value is not None:
                if _extends_itself(b.value, name):
                    continue  # 'x = x + "literal"': builtin when every other binding of x is (checked here)
                if self.value_class(Ref("value", ref.dotted, mod, b.value, name), depth + 1) != "builtin":
                    return None
            elif (b.kind == "from" and b.attr) or b.kind == "class":
                if self._binding_class(ref, b, depth) != "builtin":
                    return None
            elif b.kind in ("function", "import"):
                continue
            elif b.kind == "other" and isinstance(b.node, ast.AugAssign):
                continue  # the augmented assignment's own dunder is checked where it runs
            else:
                return None
        return "builtin"

    def _expr_class(self, mod: ModuleInfo, node: ast.expr, depth: int) -> ClassModel | str | None:
        if isinstance(node, ast.Constant | ast.JoinedStr | ast.List | ast.Tuple | ast.Set | ast.Dict):
            return "builtin"
        if isinstance(node, ast.UnaryOp):
            return "builtin" if self._expr_class(mod, node.operand, depth) == "builtin" else None
        if isinstance(node, ast.Name | ast.Attribute):
            ref = self.resolver.expr(mod, node)
            if ref.kind in ("value", "unknown"):
                return self.value_class(ref, depth + 1)
        return None

    @staticmethod
    def _is_value(val: _Val) -> bool:
        """A module-level object of installed source (not a class, function or module): its class's protocol
        methods run when the code operates on it."""
        ref = val.ref
        if val.kind != "global" or ref is None or ref.module is None:
            return False
        if ref.kind == "value":
            return True
        return ref.kind == "unknown" and ref.dotted.startswith(ref.module.name + ".") \
            and ref.dotted[len(ref.module.name) + 1:] in ref.module.bindings

    def class_setattr(self, frame: _Frame, node: ast.AST) -> None:
        """A hook sets an attribute of the class being created (``frame.self_model``): ``type(cls).__setattr__``
        runs, ``type``'s own unless the metaclass defines it. (What the class then holds differs from its source:
        ``source_analysis._altered`` refuses instance uses of classes whose bases' hooks set or pass ``cls``.)"""
        model = frame.self_model
        problem = "the class is not known" if model is None else self.metaclass_problem(model, ("__setattr__",))
        if problem is not None:
            raise Fail(f"sets an attribute of the class being created, {problem}", frame.where(node))

    def _class_operand(self, frame: _Frame, ref: Ref, names: tuple[str, ...], node: ast.AST) -> None:
        """An operator on a class object (``C | None``, ``C == D``, ``not C``) runs its metaclass's method:
        ``type``'s (C) unless a metaclass read from source, or one the model does not know, defines it."""
        model = self.resolver.class_model(ref)
        problem = (f"whose metaclass cannot be read ({model})" if not isinstance(model, ClassModel)
                   else self.metaclass_problem(model, names))
        if problem is not None:
            raise Fail(f"runs {'/'.join(names)} of the class {ref.dotted}, {problem}", frame.where(node))

    def metaclass_problem(self, model: ClassModel, names: tuple[str, ...]) -> str | None:
        """Why ``names`` looked up on the class object ``model`` (its metaclass's methods) may run code other
        than ``type``'s; None when they are ``type``'s own (or not defined)."""
        meta = model.metaclass
        if meta is None:
            return None
        if not isinstance(meta, ClassModel):
            if tables.KNOWN_METACLASSES.get(meta.dotted) == "type" and not (
                    set(names) & tables.METACLASS_OWN_NAMES.get(meta.dotted, frozenset())):
                return None
            return f"whose metaclass {meta.dotted} is not known to leave {'/'.join(names)} to type"
        for name in names:
            found = self.lookup(meta, name)
            if found is None or (isinstance(found[1], Leaf) and found[1].kind == "builtin"):
                continue  # type's own method (or none: the operator raises TypeError)
            return f"whose metaclass {meta.dotted} defines {name} (in {found[0].dotted})"
        return None

    def _value_protocol(self, frame: _Frame, ref: Ref, names: tuple[str, ...], node: ast.AST, depth: int) -> None:
        """Protocol methods ``names`` run on the module-level object ``ref``: inert only when its class is a
        builtin one or a source class whose methods are analysed inert."""
        cls = self.value_class(ref)
        if cls == "builtin":
            return
        if not isinstance(cls, ClassModel):
            raise Fail(f"runs {'/'.join(names)} of the module-level object {ref.dotted}, whose class is not known",
                       frame.where(node))
        for name in names:
            if name.startswith("__") or name in tables.DATA_METHODS:
                self._model_protocol(frame, cls, name, node, depth)

    def _model_protocol(self, frame: _Frame, model: ClassModel, name: str, node: ast.AST, depth: int, *,
                        fresh: bool = False) -> None:
        """``name`` of ``model`` runs on an object of it: a module-level one (its state is the library's: the
        method must be inert with nothing to follow) or, ``fresh``, one the code just created (its state may hold
        the arguments it was given, values from the file: the method's touches are the caller's)."""
        found = self.lookup(model, name)
        if found is None:
            return  # raises TypeError: nothing runs
        owner, what = found
        where = frame.where(node)
        if isinstance(what, Leaf):
            if what.kind == "builtin":
                if name == "__getitem__" and what.dotted == "builtins.dict":
                    self._model_protocol(frame, model, "__missing__", node, depth)
                return
            raise Fail(f"{name} of {model.dotted} comes from base {what.dotted}, not analysable", where)
        owner = as_model(owner)
        for binding in owner.body.get(name, [what]):
            fn = binding.node
            if stdlib_generic_alias_hook(owner, name, binding):
                continue
            if binding.kind != "function" or not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                raise Fail(f"{model.dotted}.{name} is bound to a value, not a def", where)
            static = any(isinstance(d, ast.Name) and d.id == "staticmethod" for d in fn.decorator_list)
            result = self.function(fn, owner.module, f"{owner.ref.qualname}.{fn.name}", self_model=model,
                                   defining=owner, bound=not static, import_ctx=frame.import_ctx, depth=depth + 1)
            if not result.inert:
                raise Fail(f"{name} of a module-level {model.dotted} runs: {result.reason}", result.where or where)
            if fresh and not result.invokes:
                frame.out.touches |= result.touches
                continue
            if result.invokes or result.touches:
                raise Fail(f"{name} of a module-level {model.dotted} computes on values the analysis cannot "
                           "follow", result.where or where)

    def _value_attribute(self, frame: _Frame, ref: Ref, attr: str, node: ast.AST, depth: int) -> None:
        """Reading ``obj.attr`` of a module-level object runs ``__getattribute__``/``__getattr__`` and a
        property getter or descriptor ``__get__`` of its class."""
        cls = self.value_class(ref)
        if cls == "builtin":
            return
        where = frame.where(node)
        if not isinstance(cls, ClassModel):
            raise Fail(f"reads {attr} of the module-level object {ref.dotted}, whose class is not known", where)
        self._object_attribute(frame, cls, f"a module-level {cls.dotted}", attr, node, depth, fresh=False)

    def _instance_attribute(self, frame: _Frame, val: _Val, attr: str, node: ast.AST, depth: int) -> None:
        """Reading ``attr`` of an instance the code itself created (``C().attr``, ``getattr(C(), 'attr')``): the
        class's ``__getattribute__``/``__getattr__``, property getter or descriptor ``__get__`` run."""
        if val.ref is None:
            return
        model = self.resolver.class_model(val.ref)
        if not isinstance(model, ClassModel):
            raise Fail(f"reads {attr} of an instance of {val.ref.dotted}: {model}", frame.where(node))
        self._object_attribute(frame, model, f"an instance of {model.dotted}", attr, node, depth, fresh=True)

    def _object_attribute(self, frame: _Frame, cls: ClassModel, what: str, attr: str, node: ast.AST,  # noqa: PLR0917
                          depth: int, fresh: bool) -> None:
        where = frame.where(node)
        for hook in ("__getattribute__", "__getattr__"):
            found = self.lookup(cls, hook)
            if found is not None and not (isinstance(found[1], Leaf) and found[1].kind == "builtin"):
                raise Fail(f"reads {attr} of {what}, whose class defines {hook}", where)
        found = self.lookup(cls, attr)
        if found is None:
            return
        owner, binding = found
        if isinstance(binding, Leaf):
            if binding.kind == "builtin":
                return
            raise Fail(f"reads {attr} of {what} (base {binding.dotted} not analysable)", where)
        if binding.kind == "function":
            if _property_kind(binding.node) in ("property", "setter"):
                self._model_protocol(frame, cls, attr, node, depth, fresh=fresh)
            return
        problem = self._descriptor_problem(cls, as_model(owner), attr, binding, depth=depth,
                                           import_ctx=frame.import_ctx, hooks=("__get__",))
        if problem is not None:
            raise Fail(f"reads {attr} of {what}: {problem[0]}", problem[1] or where)

    # --- class-level facts ----------------------------------------------------------------------------------
    def lookup(self, model: ClassModel, name: str, after: ClassModel | None = None
               ) -> tuple[ClassModel | Leaf, Binding | Leaf] | None:
        """The first class in ``model``'s MRO (after ``after``) that defines ``name``: a binding, or a Leaf
        when a builtin defines it or an unreadable base may."""
        started = after is None
        for node in model.mro:
            if not started:
                started = node is after or node.dotted == after.dotted  # type: ignore[union-attr]
                continue
            if isinstance(node, ClassModel):
                b = node.own(name)
                if b is not None:
                    return node, b
            elif node.kind == "builtin":
                pytype = node.builtin_type
                if pytype is not None and pytype is not object and name in vars(pytype):
                    return node, node
                if pytype is object and name in vars(object) and name not in ("__init_subclass__",
                                                                                "__new__", "__init__"):
                    return node, node
            elif node.kind == "special":
                if node.tag == "enum" and name in _ENUM_DEFINES:
                    return node, node
                if node.tag == "namedtuple" and name in _NAMEDTUPLE_DEFINES:
                    return node, node
            elif node.dotted in tables.COMPILED_BASE_DICTS:
                if name in tables.COMPILED_BASE_DICTS[node.dotted][0]:
                    return node, node
                continue  # not in the compiled type's own dict: looked up in its bases (object), next in the MRO
            elif node.dotted in tables.METACLASS_OWN_NAMES:
                if name in tables.METACLASS_OWN_NAMES[node.dotted]:
                    return node, node
                if name in vars(type):  # the metaclass derives from type only: type's own C method
                    return _TYPE_LEAF, _TYPE_LEAF
            else:
                return node, node
        return None

    def _touch(self, frame: _Frame, vals: list[_Val], names: tuple[str, ...], node: ast.AST, depth: int) -> None:
        """Protocol methods ``names`` run on ``vals``: recorded as touches on values from the file, analysed on
        ``self`` (the object's own class may define them)."""
        if not names:
            return
        for v in vals:
            if v.key == "oneof":  # one of several instances (an item of a container holding them)
                self._touch(frame, list(v.items), names, node, depth)
            if v.key == "holds" and not set(names) <= _CONTAINER_OWN:
                # a container holding instances compared, hashed, formatted, added...: its items' methods run
                self._touch(frame, list(v.items), _IMPLICIT, node, depth)
        if any(v.key == "result" for v in vals):
            raise Fail(f"runs {'/'.join(names)} of a value returned by code whose result the analysis does not "
                       "track (its class is unknown)", frame.where(node))
        if any(v.from_file for v in vals):
            frame.out.touches.add("/".join(names))
        for v in vals:
            if self._is_value(v) and v.ref is not None:
                self._value_protocol(frame, v.ref, names, node, depth)
            self._instance_protocol(frame, v, names, node, depth)
            if v.key == "mixed":
                raise Fail(f"runs {'/'.join(names)} of a name bound to different module-level objects",
                           frame.where(node))
        if any(v.kind == "self" for v in vals):
            for name in names:
                if name.startswith("__") or name in tables.DATA_METHODS:
                    self._self_protocol(frame, name, node, depth)

    def truth(self, frame: _Frame, test: ast.expr, depth: int) -> None:
        """A truth test of ``test`` (``if``, ``while``, ``assert``, ``not``, ``and``/``or``, conditional
        expressions): ``__bool__``, else ``__len__``."""
        self._touch(frame, [self._expr(frame, test, depth)], ("__bool__", "__len__"), test, depth)
        self._escape(frame, test, _CONST, test, depth, names=("__bool__", "__len__"))

    def _instance_protocol(self, frame: _Frame, val: _Val, names: tuple[str, ...], node: ast.AST,
                           depth: int) -> None:
        """Protocol methods ``names`` run on an instance of a source class the code created itself."""
        if val.key != "instance" or val.ref is None:
            return
        model = self.resolver.class_model(val.ref)
        if not isinstance(model, ClassModel):
            raise Fail(f"runs {'/'.join(names)} of an instance of {val.ref.dotted}: {model}", frame.where(node))
        for name in names:
            if name.startswith("__") or name in tables.DATA_METHODS:
                self._model_protocol(frame, model, name, node, depth, fresh=True)

    def _escape(self, frame: _Frame, expr: ast.expr, val: _Val, node: ast.AST, depth: int, *,
                names: tuple[str, ...] = _IMPLICIT) -> None:
        """``expr`` (evaluated to ``val``) is handed to an operation that may run its protocol methods ``names``
        implicitly: a module-level object has them analysed (``_value_protocol``), and so has an instance the
        expression itself creates (``C(...)``) or a class object (``C``: its metaclass' methods)."""
        if isinstance(expr, ast.List | ast.Tuple | ast.Set | ast.Dict):
            # a literal container handed over: the operation reaches its elements (formats, sorts, sums them)
            parts = [*expr.keys, *expr.values] if isinstance(expr, ast.Dict) else list(expr.elts)
            for part in parts:
                if part is not None:
                    inner = part.value if isinstance(part, ast.Starred) else part
                    self._escape(frame, inner, self._element_value(frame, inner), node, depth, names=names)
            return
        if self._is_value(val) and val.ref is not None:
            self._value_protocol(frame, val.ref, names, node, depth)
            return
        if val.key == "instance":
            self._instance_protocol(frame, val, names, node, depth)
            return
        if val.key in ("holds", "oneof"):  # a container holding instances handed over: it may reach its items
            for item in val.items:
                if item.key == "result":
                    raise Fail(f"hands {ast.unparse(expr)[:40]} (holding a value returned by code whose result "
                               "the analysis does not track) to an operation that may run its protocol methods",
                               frame.where(node))
                self._instance_protocol(frame, item, names, node, depth)
            return
        if val.key == "mixed":
            raise Fail(f"hands {ast.unparse(expr)[:40]} (bound to different module-level objects) to an operation "
                       "that runs its protocol methods", frame.where(node))
        target = expr.func if isinstance(expr, ast.Call) else expr
        if not isinstance(target, ast.Name | ast.Attribute) or (
                isinstance(target, ast.Name) and target.id in frame.locals):
            return
        ref = self._callee_ref(frame, target)
        if ref is None or ref.kind != "class":
            return
        model = self.resolver.class_model(ref)
        if not isinstance(model, ClassModel):
            raise Fail(f"hands {ast.unparse(expr)[:60]} to an operation that runs its protocol methods: "
                       f"{model}", frame.where(node))
        if isinstance(expr, ast.Call):
            for name in names:
                if name.startswith("__") or name in tables.DATA_METHODS:
                    self._model_protocol(frame, model, name, node, depth, fresh=True)
        elif isinstance(model.metaclass, ClassModel):
            for name in names:
                if name.startswith("__"):
                    self._model_protocol(frame, model.metaclass, name, node, depth)

    def _self_protocol(self, frame: _Frame, name: str, node: ast.AST, depth: int) -> None:
        model = frame.self_model
        if model is None:
            raise Fail(f"{name} on an unknown class", frame.where(node))
        found = self.lookup(model, name)
        if found is None:
            return  # raises TypeError: nothing runs
        owner, what = found
        if isinstance(what, Leaf):
            if what.kind == "builtin":
                if name == "__getitem__" and what.dotted == "builtins.dict":
                    missing = self.lookup(model, "__missing__")
                    if missing is not None and isinstance(missing[1], Binding):
                        self._run_method(frame, as_model(missing[0]), missing[1], depth, node)
                return
            raise Fail(f"{name} of base {what.dotted} is not analysable", frame.where(node))
        owner = as_model(owner)
        self._run_method(frame, owner, what, depth, node)

    def check_setattr(self, frame: _Frame, attr: str | None, *, via_object: bool, node: ast.AST | None,
                      depth: int) -> None:
        """``setattr(self, attr, v)``: a custom ``__setattr__`` (unless ``via_object``) and any data descriptor
        named ``attr`` (every one, when ``attr`` is computed) run. Raises ``Fail`` unless all are inert."""
        model = frame.self_model
        where = frame.where(node) if node is not None else None
        if model is None:
            raise Fail("sets an attribute on an unknown class", where)
        if attr is None:
            frame.out.touches.add(CLASS_ASSIGNMENT)
        elif attr == "__class__":
            raise Fail("assigns __class__: the object becomes an instance of another class", where)
        problem = self.setattr_problem(model, attr, via_object=via_object, depth=depth, import_ctx=frame.import_ctx)
        if problem is not None:
            raise Fail(problem[0], problem[1] or where)

    def setattr_problem(self, model: ClassModel, attr: str | None, *, via_object: bool, depth: int,
                        import_ctx: bool = False, use: Use = Use.CALL) -> tuple[str, str | None] | None:
        if not via_object:
            found = self.lookup(model, "__setattr__")
            if found is not None:
                owner, what = found
                if isinstance(what, Binding):
                    owner = as_model(owner)
                    fn = what.node
                    if not isinstance(fn, ast.FunctionDef):
                        return (f"__setattr__ of {owner.dotted} is not a plain def", owner.where(what.lineno))
                    result = self.function(fn, owner.module, f"{owner.ref.qualname}.__setattr__",
                                           self_model=model, defining=owner, bound=True, import_ctx=import_ctx,
                                           depth=depth + 1)
                    if not result.inert:
                        return (f"custom __setattr__ runs: {result.reason}", result.where)
                    if result.invokes:
                        return ("custom __setattr__ calls a value it is given", result.where)
                elif what.kind != "builtin" and not (
                        self.catalog is not None and self.catalog(what.dotted, use) is True):
                    return (f"base {what.dotted} may define __setattr__ ({what.reason or what.kind})", None)
            if model.dataclass_opts and model.dataclass_opts.get("frozen"):
                return None  # generated __setattr__ raises FrozenInstanceError for every attribute
        for node in model.mro:
            if isinstance(node, Leaf):
                if node.kind == "external" and not (self.catalog is not None
                                                   and self.catalog(node.dotted, use) is True):
                    return (f"base {node.dotted} may define data descriptors ({node.reason or 'not analysable'})",
                            None)
                continue
            names = [attr] if attr is not None else [n for n in node.body if not n.startswith("__")
                                                     or n in ("__dict__", "__class__")]
            for name in names:
                binding = node.own(name)
                if binding is None:
                    continue
                problem = self._descriptor_problem(model, node, name, binding, depth=depth, import_ctx=import_ctx)
                if problem is not None:
                    return problem
        return None

    def _descriptor_problem(self, model: ClassModel, owner: ClassModel, name: str, binding: Binding, *,
                            depth: int, import_ctx: bool, hooks: tuple[str, ...] = ("__set__", "__delete__")
                            ) -> tuple[str, str | None] | None:
        where = owner.where(binding.lineno, name)
        if binding.kind == "function":
            fn = binding.node
            kind = _property_kind(fn)
            if kind == "setter" and isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                result = self.function(fn, owner.module, f"{owner.ref.qualname}.{name}", self_model=model,
                                       defining=owner, bound=True, import_ctx=import_ctx, depth=depth + 1)
                if not result.inert or result.invokes:
                    return (f"property setter {name} runs: {result.reason}", result.where or where)
                return None
            if kind in ("property", "plain"):
                return None
            return (f"{name} is a decorated def (cannot tell whether it is a data descriptor)", where)
        if binding.kind in ("class", "import"):
            return None
        if binding.kind == "assign" and binding.value is not None:
            return self._value_descriptor(model, owner, name, binding.value, where=where, depth=depth,
                                          import_ctx=import_ctx, hooks=hooks)
        if binding.kind == "from":
            ref = self.resolver.binding(owner.module, name, binding, ())
            return None if ref.kind in ("function", "class", "module") else (
                f"{name} is bound to {ref.dotted} (cannot tell whether it is a data descriptor)", where)
        return (f"{name} is bound in a way the model does not follow", where)

    def _value_descriptor(self, model: ClassModel, owner: ClassModel, name: str, value: ast.expr, *,
                          where: str, depth: int, import_ctx: bool,
                          hooks: tuple[str, ...] = ("__set__", "__delete__")) -> tuple[str, str | None] | None:
        if isinstance(value, ast.Constant | ast.JoinedStr | ast.Lambda):
            return None
        if isinstance(value, ast.List | ast.Tuple | ast.Set | ast.Dict | ast.ListComp | ast.DictComp | ast.SetComp):
            return None
        if isinstance(value, ast.Name | ast.Attribute):
            ref = self.resolver.expr(owner.module, value)
            if ref.kind in ("function", "module", "builtin", "logger"):
                return None
            if ref.kind == "class":
                return None  # a class object: a descriptor only through an unusual metaclass
            if isinstance(value, ast.Name) and value.id in owner.body:
                return None
            return (f"{name} = {ast.unparse(value)[:60]}: cannot tell whether it is a data descriptor", where)
        if isinstance(value, ast.Call):
            callee = self.resolver.expr(owner.module, value.func)
            if callee.dotted == "builtins.property":
                fset = value.args[1] if len(value.args) > 1 else next(
                    (k.value for k in value.keywords if k.arg == "fset"), None)
                if fset is None or (isinstance(fset, ast.Constant) and fset.value is None):
                    return None
                b = owner.own(fset.id) if isinstance(fset, ast.Name) else None
                if b is not None and isinstance(fset, ast.Name) and b.kind == "function" \
                        and isinstance(b.node, ast.FunctionDef):
                    result = self.function(b.node, owner.module, f"{owner.ref.qualname}.{fset.id}",
                                           self_model=model, defining=owner, bound=True,
                                           import_ctx=import_ctx, depth=depth + 1)
                    if result.inert and not result.invokes:
                        return None
                    return (f"property {name} setter runs: {result.reason}", result.where or where)
                return (f"property {name} has a setter the model cannot read", where)
            if callee.dotted in ("dataclasses.field", "attr.ib", "attr.attrib", "attrs.field", "attr.field",
                                 "functools.cached_property", "builtins.staticmethod", "builtins.classmethod"):
                return None
            if callee.dotted in tables.BENIGN_CALLS or callee.kind == "logger" or callee.dotted in \
                    tables.LOGGER_FACTORIES:
                return None
            if callee.kind == "class":
                built = self.resolver.class_model(callee)
                if isinstance(built, ClassModel):
                    for part in built.mro:
                        if isinstance(part, ClassModel):
                            hook = next((h for h in hooks if part.own(h) is not None), None)
                            if hook is not None:
                                return (f"{name} is a descriptor ({callee.dotted} defines {hook})", where)
                        elif part.kind != "builtin":
                            return (f"{name} = {callee.dotted}(...): base {part.dotted} may define __set__",
                                    where)
                    return None
            return (f"{name} = {ast.unparse(value.func)[:60]}(...): cannot tell whether it is a data descriptor",
                    where)
        return (f"{name} = {ast.unparse(value)[:60]}: cannot tell whether it is a data descriptor", where)


_BINOP = {
    ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.MatMult: "matmul", ast.Div: "truediv",
    ast.FloorDiv: "floordiv", ast.Mod: "mod", ast.Pow: "pow", ast.LShift: "lshift", ast.RShift: "rshift",
    ast.BitOr: "or", ast.BitXor: "xor", ast.BitAnd: "and",
}
_CMP = {
    ast.Eq: ("__eq__",), ast.NotEq: ("__ne__", "__eq__"), ast.Lt: ("__lt__", "__gt__"), ast.LtE: ("__le__", "__ge__"),
    ast.Gt: ("__gt__", "__lt__"), ast.GtE: ("__ge__", "__le__"), ast.In: ("__contains__", "__iter__", "__eq__"),
    ast.NotIn: ("__contains__", "__iter__", "__eq__"), ast.Is: (), ast.IsNot: (),
}


def _in_dead_branch(tree: ast.Module, node: ast.AST) -> bool:
    """Whether top-level ``node`` lies in the body of an ``if``/``while`` whose test is a falsy constant (or in
    the ``else`` of a truthy one), at any nesting depth."""
    def search(stmts: list[ast.stmt], dead: bool) -> bool | None:
        for stmt in stmts:
            if stmt is node:
                return dead
            if isinstance(stmt, ast.If | ast.While):
                const = stmt.test.value if isinstance(stmt.test, ast.Constant) else None
                known = isinstance(stmt.test, ast.Constant)
                for body, runs in ((stmt.body, not known or bool(const)), (stmt.orelse, not known or not const)):
                    found = search(body, dead or not runs)
                    if found is not None:
                        return found
            elif isinstance(stmt, ast.Try | ast.TryStar):
                for body in (stmt.body, *[h.body for h in stmt.handlers], stmt.orelse, stmt.finalbody):
                    found = search(body, dead)
                    if found is not None:
                        return found
            elif isinstance(stmt, ast.For | ast.AsyncFor | ast.With | ast.AsyncWith):
                for body in (stmt.body, getattr(stmt, "orelse", [])):
                    found = search(body, dead)
                    if found is not None:
                        return found
            elif isinstance(stmt, ast.Match):
                for case in stmt.cases:
                    found = search(case.body, dead)
                    if found is not None:
                        return found
        return None
    return search(tree.body, False) is not False


def _op_dunders(op: ast.operator) -> tuple[str, ...]:
    name = _BINOP.get(type(op), "")
    return (f"__{name}__", f"__r{name}__", f"__i{name}__") if name else ()


def _expr_dunders(node: ast.expr) -> tuple[str, ...]:
    """The protocol methods an operator expression may run on its operands."""
    if isinstance(node, ast.BinOp):
        return _op_dunders(node.op)
    if isinstance(node, ast.UnaryOp):
        return {ast.Not: ("__bool__", "__len__"), ast.USub: ("__neg__",), ast.UAdd: ("__pos__",),
                ast.Invert: ("__invert__",)}.get(type(node.op), ())
    if isinstance(node, ast.BoolOp):
        return ("__bool__", "__len__")
    if isinstance(node, ast.Compare):
        out: list[str] = []
        for op in node.ops:
            out.extend(_CMP.get(type(op), ()))
        return tuple(dict.fromkeys(out))
    return ()


#: Recorded when code sets attributes with names from the file: ``__class__`` can be assigned, turning the
#: object into an instance of any layout-compatible class the file also names.
CLASS_ASSIGNMENT = "setattr with file-chosen names (may assign __class__)"


def _builtin_method(leaf: Leaf, name: str) -> bool:
    pytype = leaf.builtin_type
    if pytype is None:
        return False
    attr = vars(pytype).get(name)
    return isinstance(attr, types.MethodDescriptorType | types.WrapperDescriptorType | types.BuiltinFunctionType
                      | types.ClassMethodDescriptorType | staticmethod | classmethod)


def _written(frame: _Frame, func: ast.expr) -> str | None:
    """The dotted name a callee expression spells through the module's own imports (``np.asarray`` after
    ``import numpy as np`` is ``numpy.asarray``), before following re-exports."""
    if isinstance(func, ast.Name):
        if func.id in frame.locals and frame.locals[func.id].kind != "global":
            return None
        found = frame.mod.bindings.get(func.id)
        if not found:
            return None
        last = found[-1]
        if last.kind == "from":
            return f"{last.target}.{last.attr}" if last.target else None
        if last.kind == "import":
            return last.target
        if last.kind in ("class", "function"):
            return f"{frame.mod.name}.{func.id}"
        return None
    if isinstance(func, ast.Attribute):
        base = _written(frame, func.value)
        return f"{base}.{func.attr}" if base else None
    return None


def _lambda_args(lam: ast.Lambda) -> list[str]:
    a = lam.args
    names = [x.arg for x in (*a.posonlyargs, *a.args, *a.kwonlyargs)]
    names += [x.arg for x in (a.vararg, a.kwarg) if x is not None]
    return names


def _module_ref(resolver: Resolver, name: str) -> Ref:
    return resolver.module_ref(name)


def _reviewed_context_manager(ref: Ref) -> bool:
    """``ref`` is a context-manager factory of ``REVIEWED_CONTEXT_MANAGERS`` defined in a module whose text
    (``ast.unparse`` of the whole module, SHA-256) is the one the reviewer read."""
    import hashlib

    review = tables.REVIEWED_CONTEXT_MANAGERS.get(ref.dotted)
    if review is None or ref.module is None:
        return False
    try:
        text = ast.unparse(ref.module.tree)
    except (ValueError, RecursionError):
        return False
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest() == review[0]


def _dangerous(dotted: str) -> bool:
    if dotted in tables.DANGEROUS_CALLS:
        return True
    return any(dotted == p or dotted.startswith(p + ".") for p in tables.DANGEROUS_MODULES)


def _property_kind(fn: ast.AST) -> str | None:
    """``setter`` for ``@x.setter``, ``property`` for ``@property``/``cached_property``, ``plain`` for an
    undecorated or static/class method, ``None`` for anything else."""
    if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
        return None
    kinds = set()
    for d in fn.decorator_list:
        if isinstance(d, ast.Attribute) and d.attr in ("setter", "deleter"):
            kinds.add("setter")
        elif _decorator_word(d) in ("getter", "property", "cached_property"):
            kinds.add("property")
        elif _decorator_word(d) in ("staticmethod", "classmethod", "abstractmethod", "overload", "override", "final"):
            kinds.add("plain")
        else:
            return "decorated"
    if "setter" in kinds:
        return "setter"
    if "property" in kinds:
        return "property"
    return "plain"


def _decorator_word(d: ast.expr) -> str:
    """``property`` for ``@property``, ``getter`` for ``@x.getter``, ``abstractmethod`` for ``@abc.abstractmethod``."""
    if isinstance(d, ast.Name):
        return d.id
    if isinstance(d, ast.Attribute):
        return d.attr
    return ""


def _walk_scope(body: list[ast.stmt]) -> list[ast.AST]:
    """Nodes of a function body, not descending into nested functions, classes or lambdas."""
    out: list[ast.AST] = []
    stack: list[ast.AST] = list(reversed(body))
    while stack:
        node = stack.pop()
        out.append(node)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            continue
        stack.extend(reversed(list(ast.iter_child_nodes(node))))
    return out


def _returned_def(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> ast.FunctionDef | None:
    local_defs = {s.name: s for s in fn.body if isinstance(s, ast.FunctionDef)}
    returns = [n for n in _walk_scope(fn.body) if isinstance(n, ast.Return)]
    names = {r.value.id for r in returns if isinstance(r.value, ast.Name)}
    if len(returns) >= 1 and len(names) == 1 and all(isinstance(r.value, ast.Name) for r in returns):
        return local_defs.get(next(iter(names)))
    return None


def _marker_attr(name: str, value: ast.expr | None) -> bool:
    """Setting a constant marker (``fn._registered = True``, ``__doc__``) changes no behaviour: a non-dunder name
    and a constant value cannot replace a method a load would run."""
    if name == "__doc__":
        return True
    return not name.startswith("__") and isinstance(value, ast.Constant)


def _binds_a_name(node: ast.Assign | ast.NamedExpr | ast.AnnAssign) -> bool:
    """The assignment makes a new local name for the value (an alias), not a container or attribute entry."""
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    return any(isinstance(t, ast.Name | ast.Tuple | ast.List | ast.Starred) for t in targets)


def _identity_problem(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> str | None:
    """``None`` when ``fn(obj)`` returns ``obj`` itself and never alters it (registration decorators)."""
    first = _first_param(fn)
    if first is None:
        return "takes no argument"
    returns = [n for n in _walk_scope(fn.body) if isinstance(n, ast.Return)]
    if not returns or not all(isinstance(r.value, ast.Name) and r.value.id == first for r in returns):
        return "does not return its argument unchanged"
    for node in _walk_scope(fn.body):
        if isinstance(node, ast.Assign | ast.NamedExpr | ast.AnnAssign) and isinstance(node.value, ast.Name) \
                and node.value.id == first and _binds_a_name(node):
            return f"aliases {first}"
        if isinstance(node, ast.Call):
            method = node.func.attr if isinstance(node.func, ast.Attribute) else ""
            passes = any(isinstance(a, ast.Name) and a.id == first for a in [*node.args,
                                                                             *(k.value for k in node.keywords)])
            if passes and method not in tables.DATA_METHODS:
                return f"passes {first} to {ast.unparse(node.func)[:40]}, which may alter it"
    for node in _walk_scope(fn.body):
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            tgts = node.targets if isinstance(node, ast.Assign) else [node.target]
            for tgt in tgts:
                if isinstance(tgt, ast.Attribute) and isinstance(tgt.value, ast.Name) and tgt.value.id == first \
                        and not _marker_attr(tgt.attr, node.value):
                    return f"sets {first}.{tgt.attr}"
                if isinstance(tgt, ast.Name) and tgt.id == first:
                    return f"rebinds {first}"
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id == "setattr" and len(node.args) == 3 and isinstance(
                    node.args[1], ast.Constant) and isinstance(node.args[1].value, str) and _marker_attr(
                    node.args[1].value, node.args[2]):
                continue
            if isinstance(func, ast.Name) and func.id in ("setattr", "delattr", "type"):
                return f"calls {func.id}"
            if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == first:
                return f"calls {first}.{func.attr}()"
        if isinstance(node, ast.Delete):
            return "deletes attributes"
    return None


_ = builtins  # the builtins module is only read (dir/vars of C types)


def _untracked_source(val: _Val) -> bool:
    """``val`` is an instance of a source class, an untracked result or a container holding one: what it hands
    back (an operator's or an iterator's result, an item) is of a class the analysis does not know."""
    return val.key in ("instance", "result", "holds", "oneof")


def _holding(vals: Iterable[_Val]) -> _Val | None:
    """A builtin container built from ``vals`` (a display, a comprehension, ``list(x)``, ``d[k] = v``): when one
    of them is an instance of a source class or an untracked value (or a container holding one), the container
    remembers them (its items' protocol methods run when it is compared, hashed, formatted, searched...), and
    what is read out of it is one of them (red team R7-4); ``None`` when it holds only data."""
    items: list[_Val] = []
    for val in vals:
        for item in (val.items if val.key in ("holds", "oneof") else (val,)):
            if item.key in ("instance", "result") and item not in items:
                items.append(item)
    return _Val("taint", "holds", items=tuple(items)) if items else None


def _element(val: _Val) -> _Val | None:
    """What is read out of ``val`` (an item, an iteration's element, an unpacked part): the one instance a
    holding container holds, else an untracked value; ``None`` when ``val`` holds none (the caller's default)."""
    if val.key == "holds":
        # several: one of them (``for lib in (A(), B()): lib.name`` reads each one's attribute)
        return val.items[0] if len(val.items) == 1 else _Val("taint", "oneof", items=val.items)
    if val.key in ("instance", "result", "oneof"):
        return _UNTRACKED
    if val.key in ("libitems", "libvalue"):
        return _lib_value([val])
    return None


def _library_result(args: list[_Val], kwargs: dict[str | None, _Val]) -> _Val:
    """The result of reviewed library code called with ``args``: a value from the data, unless an argument is
    an instance of a source class or an untracked value (the callee may return it, or what its ``__floor__``,
    ``__iter__``... returned: red team R5-6)."""
    return _UNTRACKED if any(_untracked_source(v) for v in (*args, *kwargs.values())) else _TAINT


def _summarise_returns(fn: ast.FunctionDef | ast.AsyncFunctionDef, returned: list[_Val]) -> _Val | None:
    """What a call of ``fn`` returns, from the values of its ``return`` statements (see ``Outcome.returns``).
    A generator's call returns a generator object (its ``return`` values end the iteration)."""
    if _is_generator(fn):
        return None
    instances = {v.ref.dotted: v for v in returned if v.key == "instance" and v.ref is not None}
    if any(v.key in ("result", "oneof") or v.kind in ("self", "cls") for v in returned) or len(instances) > 1:
        return _UNTRACKED
    if any(v.key == "holds" for v in returned):
        return _holding(returned)  # a container holding instances (red team R7-4)
    if instances:
        return next(iter(instances.values()))
    if any(v.kind == "param" or v.key == "passed" for v in returned):
        return _PASSED
    if any(_chosen_by_library(v) for v in returned):
        return _lib_value(returned)  # ``return f``, ``return [f]``: the caller holds what the library chose
    return None


def _is_generator(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    todo: list[ast.AST] = list(fn.body)
    while todo:
        node = todo.pop()
        if isinstance(node, ast.Yield | ast.YieldFrom):
            return True
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
            todo.extend(ast.iter_child_nodes(node))
    return False


def _result_value(returns: _Val | None, args: list[_Val]) -> _Val:
    """The value a call evaluates to at its call site, from the callee's summary and the arguments passed."""
    if returns is None:
        return _TAINT
    if returns is _PASSED or returns.key == "passed":
        return _library_result(args, {})
    return returns
