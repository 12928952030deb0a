"""Generator side of BUILD state contracts: which contract a class's BUILD needs, and the data it compares with.

A ``__setstate__`` listed in ``reviewed_methods.BUILD_STATE_CONTRACTS`` is inert only for a state the contract
admits; every class inheriting it gets the contract in its generated entry, with the data the scan-time check
(``safeload/catalog/state_contracts.py``) compares the state with. The data is read **statically** from the
installed source (``ast`` over the defining module's file): nothing here runs the library's code beyond the
imports the generator already made.
"""

from __future__ import annotations

import ast
import inspect
import sys
from typing import Any

from safeload.catalog._gen.naming import canonical_name
from safeload.catalog._gen.reviewed_methods import BUILD_STATE_CONTRACTS

__all__ = ["build_state_contract"]


def _setstate_owner(cls: type) -> type | None:
    for klass in cls.__mro__:
        if "__setstate__" in klass.__dict__:
            return klass
    return None


def build_state_contract(cls: type) -> tuple[str, tuple[str, ...]] | None:
    """``(contract, data)`` when ``cls``'s ``__setstate__`` is reviewed under a contract, else ``None``.

    Raises ``ValueError`` when the contract's data cannot be read (the generator then leaves BUILD unreviewed)."""
    owner = _setstate_owner(cls)
    if owner is None:
        return None
    qualified = f"{canonical_name(owner) or owner.__module__ + '.' + owner.__qualname__}.__setstate__"
    contract = BUILD_STATE_CONTRACTS.get(qualified)
    if contract is None:
        return None
    return contract, _DATA[contract](owner)


def _module_tree(owner: type) -> ast.Module:
    module = sys.modules[owner.__module__]
    path = inspect.getsourcefile(module)
    if path is None:
        raise ValueError(f"no source for {owner.__module__}")
    with open(path, encoding="utf-8") as f:
        return ast.parse(f.read(), path)


def _scipy_argparser(owner: type) -> tuple[str, ...]:
    """``(parse_arg_template, locscale_in_1, locscale_out_1, ...)`` from scipy's _distn_infrastructure.py: the
    module-level template string and the literal locscale keywords of every ``_construct_argparser`` call."""
    tree = _module_tree(owner)
    template: str | None = None
    pairs: set[tuple[str, str]] = set()
    for node in tree.body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
                and node.targets[0].id == "parse_arg_template" and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)):
            template = node.value.value
    for sub in ast.walk(tree):
        if (isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute)
                and sub.func.attr == "_construct_argparser"):
            kw: dict[str, Any] = {k.arg: k.value.value for k in sub.keywords
                                  if k.arg and isinstance(k.value, ast.Constant)}
            if not (isinstance(kw.get("locscale_in"), str) and isinstance(kw.get("locscale_out"), str)):
                raise ValueError("a _construct_argparser call without literal locscale strings")
            pairs.add((kw["locscale_in"], kw["locscale_out"]))
    if template is None or not pairs:
        raise ValueError("parse_arg_template or the _construct_argparser calls not found")
    return (template, *(text for pair in sorted(pairs) for text in pair))


_DATA = {"scipy_argparser": _scipy_argparser}
