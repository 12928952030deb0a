"""Hash-bound reviews of installed source: a reviewer's verdict on one definition (or one file) holds only while
the installed text is the text that was read.

Invariant: a review here never widens the analysis by name alone. Each check compares the SHA-256 of the source
as it is on disk now (``ast.unparse`` of a definition, or the bytes of a module file) with the digest recorded in
``source_tables`` next to the review; any edit, another release, or a subclass overriding a name the review
relies on makes the check fail and the ordinary analysis (which refuses what it cannot prove) decides again.
Nothing is imported: files are read through the resolver (``source_model``), package absence through the path
finder (``source_locate``), and every file or directory consulted is recorded so cached verdicts are revalidated.
"""

from __future__ import annotations

import ast
import hashlib
import os
import sys
import threading
from collections.abc import Callable

from safeload.catalog import source_files
from safeload.catalog import source_tables as tables
from safeload.catalog.source_files import FileStat
from safeload.catalog.source_locate import locate_module
from safeload.catalog.source_model import (
    MAX_SOURCE_BYTES,
    ClassModel,
    Leaf,
    ModuleInfo,
    Resolver,
    cached_bytecode,
    file_stat,
)

__all__ = ["def_digest", "file_digest", "identity_decorator", "module_digest", "reviewed_method"]

_FILE_DIGESTS: dict[FileStat, str] = {}
_LOCK = threading.Lock()


def def_digest(node: ast.AST) -> str:
    """SHA-256 of a definition's text as ``ast.unparse`` writes it (comments and layout do not count)."""
    return hashlib.sha256(ast.unparse(node).encode()).hexdigest()


def file_digest(mod: ModuleInfo) -> str | None:
    """SHA-256 of a module file's bytes, cached per file identity; None when it cannot be read."""
    with _LOCK:
        hit = _FILE_DIGESTS.get(mod.stat)
    if hit is not None:
        return hit
    try:
        with open(mod.path, "rb") as handle:
            data = handle.read(MAX_SOURCE_BYTES + 1)
    except OSError:
        return None
    if len(data) > MAX_SOURCE_BYTES or file_stat(mod.path, fresh=True) != mod.stat:
        return None  # too large, or changed since it was parsed: the review cannot be matched
    digest = hashlib.sha256(data).hexdigest()
    with _LOCK:
        if len(_FILE_DIGESTS) > 256:
            _FILE_DIGESTS.clear()
        _FILE_DIGESTS[mod.stat] = digest
    return digest


def module_digest(module: str) -> str | None:
    """SHA-256 of the file the import system would load for ``module`` (located with the path finder, never
    imported), or None when it is not a readable source file. The file is recorded for the scan cache."""
    found = locate_module(module)
    if found.path is None or not found.path.endswith(".py"):
        return None
    try:
        stat = file_stat(found.path)
    except OSError:
        return None
    source_files.record([stat])
    with _LOCK:
        hit = _FILE_DIGESTS.get(stat)
    if hit is not None:
        reason, bytecode = cached_bytecode(found.path, stat)  # cached per (.py, .pyc) identity
        source_files.record(bytecode)
        return hit if reason is None else None
    try:
        with open(found.path, "rb") as handle:
            data = handle.read(MAX_SOURCE_BYTES + 1)
    except OSError:
        return None
    if len(data) > MAX_SOURCE_BYTES or file_stat(found.path, fresh=True) != stat:
        return None  # too large, or changed while read
    reason, bytecode = cached_bytecode(found.path, stat)
    source_files.record(bytecode)
    if reason is not None:
        return None  # the import runs other code than this text (red team R6-4)
    digest = hashlib.sha256(data).hexdigest()
    with _LOCK:
        if len(_FILE_DIGESTS) > 256:
            _FILE_DIGESTS.clear()
        _FILE_DIGESTS[stat] = digest
    return digest


def _files_match(resolver: Resolver, files: tuple[tuple[str, str], ...]) -> bool:
    for module, digest in files:
        mod = resolver.module(module)
        if not isinstance(mod, ModuleInfo) or file_digest(mod) != digest:
            return False
    return True


def _absent(resolver: Resolver, modules: tuple[str, ...]) -> bool:
    """None of ``modules`` can be found on the search path. Each path directory's stat is recorded, so installing
    one of them later (a new entry in a site directory) invalidates a cached verdict."""
    entries = resolver.search_path if resolver.search_path is not None else sys.path
    for entry in entries:
        try:
            resolver.files.add(file_stat(entry or os.curdir))
        except OSError:
            continue
    return all(locate_module(name, resolver.search_path).kind == "missing" for name in modules)


def identity_decorator(dotted: str, resolver: Resolver, factory: bool) -> bool:
    """True when ``dotted`` (as the decorator resolved, or as the source spells it through a lazy module) is a
    reviewed decorator (``tables.REVIEWED_DECORATORS``) whose files still hash as reviewed and whose alternative
    implementations are not installed: applied, it returns the decorated object with at most its docstrings
    edited. ``factory``: the ``@name(...)`` form."""
    review = tables.REVIEWED_DECORATORS.get(dotted)
    if review is None or (factory and not review.factory) or (not factory and not review.bare):
        return False
    return _files_match(resolver, review.files) and _absent(resolver, review.absent)


Lookup = Callable[[ClassModel, str], "tuple[ClassModel | Leaf, object] | None"]


def reviewed_method(model: ClassModel, owner: ClassModel, name: str, lookup: Lookup) -> str | None:
    """The review of ``owner.name`` (``tables.REVIEWED_SOURCE_METHODS``) when it covers the class ``model`` that a
    load uses: the method's text and every method it relies on (``same``: looked up on ``model``, each must be the
    reviewed owner's, hash for hash) are unchanged, and no class in ``model``'s MRO other than the owner defines a
    name the method reads or sets (``names``: a subclass property or override would run there). None otherwise."""
    review = tables.REVIEWED_SOURCE_METHODS.get(f"{owner.dotted}.{name}")
    if review is None:
        return None
    for method, digest in ((name, review.digest), *review.same):
        found = lookup(model, method)
        if found is None or not isinstance(found[0], ClassModel) or found[0].dotted != owner.dotted:
            return None
        bindings = owner.body.get(method, [])
        if len(bindings) != 1 or bindings[0].kind != "function" or def_digest(bindings[0].node) != digest:
            return None
    for attr in review.names:
        for part in model.mro:
            if isinstance(part, Leaf):
                pytype = part.builtin_type
                if pytype is object or (pytype is not None and attr not in vars(pytype)):
                    continue  # object's own slots are the defaults the review assumes
                if part.kind == "special":
                    continue
                return None  # an unreadable base may define it
            if part.dotted != owner.dotted and part.own(attr) is not None:
                return None
    return review.review
