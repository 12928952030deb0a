"""Which arguments a callable calls: parameters the function's own bytecode calls or constructs.

A parameter is *invoked* when the function calls it (``f(x)``), or calls its ``__new__``/``__init__``/
``__call__``/``__setstate__`` (``cls.__new__(cls, **d)`` builds an instance of whatever class the file passed).
Positions are counted as the caller sees them (``self``/``cls`` dropped for classes); a parameter that can be
passed by keyword is listed by name too. Compiled callables have no bytecode: their ``invokes`` come from the
reviewed table (``reviewed_callables.REVIEWED_INVOKES``).

Invariant: read-only bytecode inspection; nothing is called. The analysis sees direct calls only, so a
parameter a constructor stores as ``self.X`` counts as invoked when any method of the class calls ``self.X(...)``
(``numpy.lib._iotools.StringConverter``); one stored under another name or called through a helper is missed:
the engine's data-flow rule (a callable in a call argument or state is *possibly called*) is the safety net.
"""

from __future__ import annotations

import dis
import inspect
import sys
import types
from collections.abc import Callable, Iterator
from typing import Any

# (offset, opcode, argument) for each instruction: the fast path dis uses itself (3.11-3.13)
_unpack_opargs: Callable[[bytes], Iterator[tuple[int, int, Any]]] = dis._unpack_opargs  # type: ignore[attr-defined]

__all__ = ["invoked_parameters"]

_PY311 = sys.version_info[:2] == (3, 11)
_CONSTRUCTING = frozenset({"__new__", "__init__", "__call__", "__setstate__"})


def _called_names(code: types.CodeType) -> set[str]:
    ops = [(dis.opname[op], arg) for _, op, arg in _unpack_opargs(code.co_code)
           if dis.opname[op] not in ("CACHE", "EXTENDED_ARG")]
    called: set[str] = set()
    for index, (opname, arg) in enumerate(ops):
        if opname not in ("LOAD_FAST", "LOAD_DEREF"):
            continue
        try:
            name = code._varname_from_oparg(arg)  # type: ignore[attr-defined]
        except (IndexError, AttributeError):
            continue
        before = ops[index - 1][0] if index else ""
        after, after_arg = ops[index + 1] if index + 1 < len(ops) else ("", 0)
        if before == "PUSH_NULL" or after == "PUSH_NULL":
            called.add(name)
        elif after in ("LOAD_METHOD", "LOAD_ATTR"):
            attr_index = after_arg if (after == "LOAD_METHOD" or _PY311) else after_arg >> 1
            if 0 <= attr_index < len(code.co_names) and code.co_names[attr_index] in _CONSTRUCTING:
                called.add(name)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            called |= {n for n in _called_names(const) if n in code.co_cellvars}
    return called


def _ops(code: types.CodeType) -> list[tuple[str, Any]]:
    return [(dis.opname[op], arg) for _, op, arg in _unpack_opargs(code.co_code)
            if dis.opname[op] not in ("CACHE", "EXTENDED_ARG")]


def _attr_name(code: types.CodeType, opname: str, arg: int) -> str | None:
    index = arg if (opname in ("LOAD_METHOD", "STORE_ATTR") or _PY311) else arg >> 1
    return code.co_names[index] if 0 <= index < len(code.co_names) else None


def _stored_on_self(code: types.CodeType) -> dict[str, set[str]]:
    """``{attribute: parameters}`` for ``self.attribute = parameter`` in a method's own body."""
    if not code.co_argcount:
        return {}
    first = code.co_varnames[0]
    ops = _ops(code)
    out: dict[str, set[str]] = {}
    for index in range(len(ops) - 2):
        (op1, a1), (op2, a2), (op3, a3) = ops[index], ops[index + 1], ops[index + 2]
        if op1 == "LOAD_FAST" and op2 == "LOAD_FAST" and op3 == "STORE_ATTR":
            if code._varname_from_oparg(a2) != first:  # type: ignore[attr-defined]
                continue
            attr = _attr_name(code, op3, a3)
            if attr is not None:
                out.setdefault(attr, set()).add(code._varname_from_oparg(a1))  # type: ignore[attr-defined]
    return out


def _self_called(code: types.CodeType) -> set[str]:
    """Attributes a method calls on its first argument (``self.attribute(...)``)."""
    if not code.co_argcount:
        return set()
    first = code.co_varnames[0]
    ops = _ops(code)
    out: set[str] = set()
    for index in range(len(ops) - 1):
        (op1, a1), (op2, a2) = ops[index], ops[index + 1]
        if op1 in ("LOAD_FAST", "LOAD_DEREF") and op2 in ("LOAD_METHOD", "LOAD_ATTR"):
            try:
                if code._varname_from_oparg(a1) != first:  # type: ignore[attr-defined]
                    continue
            except (IndexError, AttributeError):
                continue
            if op2 == "LOAD_ATTR" and (_PY311 or not a2 & 1):
                continue  # an attribute read, not the callee of a method call (3.11 calls through LOAD_METHOD)
            attr = _attr_name(code, op2, a2)
            if attr is not None:
                out.add(attr)
    return out


def _class_self_calls(cls: type) -> set[str]:
    """Attributes any method of ``cls`` (or its Python bases) calls on ``self``."""
    out: set[str] = set()
    for klass in cls.__mro__:
        for value in vars(klass).values():
            func = value.__func__ if isinstance(value, (staticmethod, classmethod)) else value
            if isinstance(func, types.FunctionType):
                out |= _self_called(func.__code__)
    return out


def _function_invokes(func: types.FunctionType, drop_first: bool,
                      cls: type | None = None) -> tuple[int | str, ...]:
    code = func.__code__
    called = _called_names(code)
    if cls is not None and drop_first:
        # A parameter stored as self.X and called as self.X(...) by any method (StringConverter(func)).
        stored = _stored_on_self(code)
        if stored:
            self_calls = _class_self_calls(cls)
            for attr, params in stored.items():
                if attr in self_calls:
                    called |= params
    if not called:
        return ()
    posonly = code.co_posonlyargcount
    positional = list(code.co_varnames[: code.co_argcount])
    keyword_only = list(code.co_varnames[code.co_argcount: code.co_argcount + code.co_kwonlyargcount])
    offset = 1 if drop_first else 0
    out: list[int | str] = []
    for index, name in enumerate(positional):
        if index < offset or name not in called:
            continue
        out.append(index - offset)
        if index >= posonly:
            out.append(name)
    out.extend(name for name in keyword_only if name in called)
    flags = code.co_flags
    if flags & inspect.CO_VARARGS and code.co_varnames[code.co_argcount + code.co_kwonlyargcount] in called:
        out.append("*")
    return tuple(out)


def invoked_parameters(obj: Any) -> tuple[int | str, ...]:
    """The positions and keywords ``obj`` (a Python function or class) calls when it is called."""
    if isinstance(obj, types.MethodType):
        return _function_invokes(obj.__func__, True) if isinstance(obj.__func__, types.FunctionType) else ()
    if isinstance(obj, types.FunctionType):
        return _function_invokes(obj, False)
    if isinstance(obj, type):
        out: list[int | str] = []
        for name in ("__new__", "__init__"):
            for klass in obj.__mro__:
                if name in klass.__dict__:
                    method = klass.__dict__[name]
                    method = method.__func__ if isinstance(method, staticmethod) else method
                    if isinstance(method, types.FunctionType):
                        out.extend(x for x in _function_invokes(method, True, obj) if x not in out)
                    break
        return tuple(out)
    return ()
