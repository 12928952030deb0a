"""Decide from the installed source, without importing it, what a load runs when a pickle uses a class or
function the catalogue does not know.

Invariant: never import or execute analysed code, and never guess: a use is ``inert`` only when the code that
CPython's unpickler runs for it (``Lib/pickle.py``, ``Modules/_pickle.c``, ``copyreg``, ``type.__call__``)
was found and proven to do nothing but compute on data (``source_effects``). Missing or compiled source,
re-export chains that cannot be followed, unknown decorators, metaclasses or bases: not inert, with the
reason and the line. See ``docs/source-analysis.md`` for the rules.
"""

from __future__ import annotations

import ast
import enum
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from safeload._log import LazyLogger
from safeload.catalog import source_tables as tables
from safeload.catalog.source_effects import CLASS_ASSIGNMENT, Effects, Outcome
from safeload.catalog.source_files import FileStat
from safeload.catalog.source_files import record as _record
from safeload.catalog.source_imports import import_effects, reviewed_subclass_hook
from safeload.catalog.source_instance import foreign_new, shadowing
from safeload.catalog.source_locate import library_roots
from safeload.catalog.source_model import PARSE_CACHE, Binding, ClassModel, Leaf, Ref, Resolver, as_model, file_stat
from safeload.catalog.source_reviews import def_digest, reviewed_method
from safeload.catalog.uses import Use

__all__ = ["Analysis", "BuildState", "UseVerdict", "analyse", "cache_info", "clear_cache"]

Catalog = Callable[[str, Use], "bool | None"]
logger = LazyLogger(__name__)


class BuildState(enum.Flag):
    """The kind of state a BUILD gives (``load_build``): a dict (``inst.__dict__`` is updated, bypassing
    ``__setattr__`` and descriptors) and/or slot state (``setattr`` per key: ``__setattr__`` and data
    descriptors run). ``ANY`` when the engine cannot tell."""

    DICT = enum.auto()
    SLOTS = enum.auto()
    ANY = DICT | SLOTS


@dataclass(frozen=True)
class UseVerdict:
    """What the load runs for one use of a name.

    ``invokes``: argument positions (0 = first argument the file passes) or keyword names the code calls.
    ``touches``: protocol methods and data methods the code runs on values from the file (``__len__``,
    ``items``...): inert assumes those values are plain data or of classes whose such methods are inert.
    """

    use: Use
    inert: bool
    reason: str
    where: str | None = None
    invokes: tuple[int | str, ...] = ()
    touches: tuple[str, ...] = ()


@dataclass(frozen=True)
class Analysis:
    name: str
    found: bool
    kind: str  # class | function | module | other | missing | compiled | unknown
    defined_in: str | None
    import_effects: UseVerdict
    uses: tuple[UseVerdict, ...]
    #: modules followed to reach the definition (a re-export chain), in order
    via: tuple[str, ...] = ()

    def verdict(self, use: Use) -> UseVerdict | None:
        return next((v for v in self.uses if v.use is use), None)

    @property
    def inert(self) -> bool:
        return self.import_effects.inert and all(v.inert for v in self.uses)


def _flags(uses: Use) -> list[Use]:
    return [flag for flag in Use if flag in uses]


def _verdict(use: Use, out: Outcome) -> UseVerdict:
    return UseVerdict(use, out.inert, out.reason, out.where, tuple(sorted(out.invokes, key=str)),
                      tuple(sorted(out.touches)))


# --- the cache ----------------------------------------------------------------------------------------------

_CACHE_SIZE = 512
_cache: OrderedDict[tuple[object, ...], tuple[Analysis, frozenset[FileStat]]] = OrderedDict()
_cache_lock = threading.Lock()
_stats = {"hits": 0, "misses": 0}
_import_cache: OrderedDict[tuple[object, ...], tuple[Outcome, frozenset[FileStat]]] = OrderedDict()


def clear_cache() -> None:
    """Forget every analysis and parsed file (tests and benchmarks)."""
    with _cache_lock:
        _cache.clear()
        _import_cache.clear()
    PARSE_CACHE.clear()


def cache_info() -> dict[str, int]:
    with _cache_lock:
        return {"entries": len(_cache), **_stats}


def _still_valid(files: frozenset[FileStat]) -> bool:
    for seen in files:
        try:
            if file_stat(seen[0]) != seen:
                return False
        except OSError:
            return False
    return True


# --- entry point --------------------------------------------------------------------------------------------

def analyse(module: str, qualname: str, uses: Use, *, catalog: Catalog | None = None,
            search_path: Sequence[str] | None = None, build_state: BuildState = BuildState.ANY,
            bound: bool = False, instance: bool = False) -> Analysis:
    """Analyse ``module.qualname`` for each use in ``uses``, reading installed source only.

    ``catalog(name, use)`` is the reviewed catalogue: ``True`` allowed for that use, ``False`` denied,
    ``None`` unknown; it vouches for callees and for bases the source analysis cannot read.
    ``bound``: ``qualname`` is ``Class.method`` and the load only ever holds it as a method bound to an instance
    of ``Class`` it built (``getattr(obj, "method")``): calling it runs the method with ``self`` of that class
    (otherwise ``self`` is the first argument, any value). ``instance``: the load reaches ``Class.method`` through
    an instance at least once (``bound`` or not): what the lookup finds there must be the class's method (no
    ``__new__`` returning another class's object, no instance attribute of that name; red team R7-1/R7-2).
    Results are cached per (module, name, uses, state kind, bound, search path, catalogue) and reused while every
    source file consulted keeps its (path, mtime_ns, size).
    """
    # the path searched (sys.path when None, as it is now: an entry inserted since may shadow what was read)
    key = (module, qualname, uses.value, build_state.value, bound, instance,
           tuple(sys.path if search_path is None else search_path), catalog)
    with _cache_lock:
        hit = _cache.get(key)
    if hit is not None and _still_valid(hit[1]):
        with _cache_lock:
            _cache.move_to_end(key)
            _stats["hits"] += 1
        _record(hit[1])
        return hit[0]
    result, files = _Analyser(module, qualname, uses, catalog=catalog, search_path=search_path,
                              build_state=build_state, bound=bound, instance=instance).run()
    with _cache_lock:
        _stats["misses"] += 1
        _cache[key] = (result, files)
        _cache.move_to_end(key)
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    _record(files)
    return result


class _Analyser:
    def __init__(self, module: str, qualname: str, uses: Use, *, catalog: Catalog | None,
                 search_path: Sequence[str] | None, build_state: BuildState, bound: bool = False,
                 instance: bool = False) -> None:
        self.module, self.qualname, self.uses = module, qualname, uses
        self.bound = bound
        self.instance = instance or bound
        self.catalog = catalog
        self.build_state = build_state
        self.resolver = Resolver(search_path)
        self.roots = library_roots(search_path)
        self.effects = Effects(self.resolver, catalog, self._class_use_ref)
        self.effects.import_check = self._import_check
        self._imports: dict[str, Outcome] = {}
        self._new_imports: list[str] = []
        self.search_key = tuple(sys.path if search_path is None else search_path)
        self._class_memo: dict[tuple[str, Use, int], Outcome] = {}

    def run(self) -> tuple[Analysis, frozenset[FileStat]]:
        name = f"{self.module}.{self.qualname}"
        try:
            imp = _verdict(Use.IMPORT, self._import_check(self.module))
        except Exception as exc:  # noqa: BLE001 - fail closed
            logger.warning("import analysis of %s failed: %r", self.module, exc)
            imp = UseVerdict(Use.IMPORT, False, f"analysis error ({exc.__class__.__name__}): not inert")
        try:
            ref = self.resolver.qualname(self.module, self.qualname)
        except Exception as exc:  # noqa: BLE001 - fail closed
            logger.warning("resolving %s failed: %r", name, exc)
            ref = Ref("unknown", name, reason=f"analysis error ({exc.__class__.__name__})")
        kind = {"class": "class", "namedtuple": "class", "function": "function", "module": "module",
                "value": "other", "logger": "other", "external": "compiled", "builtin": "compiled",
                "special": "class"}.get(ref.kind, "missing" if "not found" in ref.reason or "not defined" in
                                        ref.reason else "unknown")
        defined_in = ref.module.name if ref.module is not None else None
        verdicts = []
        for use in _flags(self.uses):
            if use is Use.IMPORT:
                verdicts.append(imp)
                continue
            try:
                outcome = self._use(ref, use)
            except RecursionError:
                outcome = Outcome(False, "code too deeply nested to analyse", ref.where)
            except Exception as exc:  # noqa: BLE001 - fail closed: an analysis error is never "inert"
                logger.warning("source analysis of %s failed: %r", name, exc)
                outcome = Outcome(False, f"analysis error ({exc.__class__.__name__}): not inert", ref.where)
            verdicts.append(_verdict(use, outcome))
        self.remember_imports()
        via = tuple(dict.fromkeys(c for c in ref.chain if ":" not in c))
        analysis = Analysis(name, ref.kind in ("class", "function", "namedtuple", "module", "value", "logger"),
                            kind, defined_in, imp, tuple(verdicts), via)
        return analysis, frozenset(self.resolver.files)

    def _import_check(self, module: str) -> Outcome:
        if module not in self._imports:
            key = (module, self.search_key, self.catalog)
            with _cache_lock:
                hit = _import_cache.get(key)
            if hit is not None and _still_valid(hit[1]):
                self._imports[module] = hit[0]
                self.resolver.files |= hit[1]
                return hit[0]
            self._imports[module] = Outcome(False, f"import of {module} is being analysed (cycle)")
            self._imports[module] = import_effects(module, self.resolver, self.effects, self.roots)
            self._new_imports.append(module)
        return self._imports[module]

    def remember_imports(self) -> None:
        """Share this analysis' import verdicts with later ones (validated by every file this analysis read)."""
        files = frozenset(self.resolver.files)
        with _cache_lock:
            for module in self._new_imports:
                _import_cache[(module, self.search_key, self.catalog)] = (self._imports[module], files)
            while len(_import_cache) > _CACHE_SIZE:
                _import_cache.popitem(last=False)

    # --- dispatch ---------------------------------------------------------------------------------------
    def _use(self, ref: Ref, use: Use) -> Outcome:
        for module in (self.module, ref.module.name if ref.module is not None else None):
            why = tables.import_only(module)
            if why is not None:  # e.g. numpy.testing: its import is reviewed, its names are never used by a load
                return Outcome(False, f"{ref.dotted}: {module} is admitted for import only ({why})", ref.where)
        if ref.kind in ("external", "builtin", "special"):
            return Outcome(False, f"{ref.dotted} is not readable source ({ref.reason or ref.kind}): the catalogue "
                           "must decide")
        if ref.kind in ("unknown",):
            return Outcome(False, f"cannot resolve {ref.dotted} statically: {ref.reason}")
        if ref.kind in ("module",):
            return Outcome(False, f"{ref.dotted} names a module, not a class or function: other code may look up "
                           "any of its attributes")
        if ref.kind in ("value", "logger"):
            return Outcome(False, ref.reason or f"{ref.dotted} is an object computed at import, not a class or "
                           "function: its own methods are unknown", ref.where)
        if use is Use.REF and ref.kind in ("class", "function", "namedtuple"):
            return Outcome(True, "only referenced: nothing of it runs", ref.where)
        if ref.kind == "namedtuple":
            return self._namedtuple(ref, use)
        if ref.kind == "function" and self.bound and use in (Use.CALL, Use.INVOKE) and "." in ref.qualname:
            return self._bound_method(ref, use)
        if ref.kind == "function":
            if self.instance and use in (Use.CALL, Use.INVOKE) and "." in ref.qualname:
                owner_ref = self.resolver.qualname(self.module, ref.qualname.rpartition(".")[0])
                if owner_ref.kind == "class":
                    model = self.resolver.class_model(owner_ref)
                    if not isinstance(model, ClassModel):
                        return Outcome(False, f"{owner_ref.dotted}: {model}", ref.where)
                    found = self._instance_problem(model, ref.qualname.rpartition(".")[2])
                    if found is not None:
                        return found
            return self._function(ref, use)
        return self._class_use_ref(ref, use, 0)

    def _instance_problem(self, model: ClassModel, method: str | None) -> Outcome | None:
        """An instance of ``model`` the load built may not be one (a source ``__new__`` returning another
        class's object, R7-2), or (``method``) may hold an instance attribute shadowing that method (R7-1)."""
        found = foreign_new(model, self.resolver, self.effects.call_through)
        if found is None and method is not None:
            found = shadowing(model, method, self.resolver)
        return found

    def _bound_method(self, ref: Ref, use: Use) -> Outcome:
        """``Class.method`` held only as a method bound to an instance of ``Class`` the load built: the call runs
        the method found in the class's MRO with ``self`` that instance (its ``self.x`` calls are the class's
        methods; an attribute the file set that shadows one is the engine's to rank, as for BUILD)."""
        owner_name, _, method = ref.qualname.rpartition(".")
        owner_ref = self.resolver.qualname(self.module, owner_name)
        if owner_ref.kind != "class":
            return Outcome(False, f"{self.module}.{owner_name} is not a class read from source", ref.where)
        model = self.resolver.class_model(owner_ref)
        if not isinstance(model, ClassModel):
            return Outcome(False, f"{owner_ref.dotted}: {model}", ref.where)
        for problem, where in model.problems:
            return Outcome(False, problem, where)
        if model.decorators:  # the class may not be what its source says
            return Outcome(False, f"{model.dotted} is decorated", model.where())
        altered = _altered(model)
        if altered is not None:
            return altered
        instance = self._instance_problem(model, method)
        if instance is not None:
            return instance
        hooks = self._getattr_hooks(model, use, "runs when the method is looked up", (method,))
        if hooks is not None:
            return hooks
        found = self.effects.lookup(model, method)
        if found is None or isinstance(found[1], Leaf):
            return Outcome(False, f"{method} is not a method of {model.dotted} read from source", ref.where)
        owner = as_model(found[0])
        binding = found[1]
        if any(b.kind != "function" or not isinstance(b.node, ast.FunctionDef | ast.AsyncFunctionDef)
               or b.node.decorator_list for b in owner.body.get(method, [binding])):
            return Outcome(False, f"{owner.dotted}.{method} is not an undecorated def", owner.where(binding.lineno))
        out = self._run(model, owner, binding, 0)
        prefix = f"bound method {model.ref.qualname}.{method} ({owner.ref.qualname}'s)"
        return Outcome(out.inert, f"{prefix}{' ' if out.inert else ': '}{out.reason}",
                       out.where or owner.where(binding.lineno, method), out.invokes, out.touches)

    def _function(self, ref: Ref, use: Use) -> Outcome:
        if not isinstance(ref.node, ast.FunctionDef | ast.AsyncFunctionDef) or ref.module is None:
            return Outcome(False, f"{ref.dotted} is not a function read from source")
        if use in (Use.CALL, Use.INVOKE):
            out = self.effects.function(ref.node, ref.module, ref.qualname)
            if out.inert:
                out.reason = f"function body {out.reason}"
            return out
        return Outcome(False, f"{ref.dotted} is a function: a load cannot {str(use.name).lower()} it without running "
                       "code the model does not follow", ref.where)

    def _namedtuple(self, ref: Ref, use: Use) -> Outcome:
        if use in (Use.CALL, Use.INVOKE, Use.NEW, Use.ALLOC):
            return Outcome(True, "namedtuple: the generated __new__ only builds the tuple", ref.where, set(),
                           {"__iter__"} if use is not Use.ALLOC else set())
        if use is Use.HASH:
            return Outcome(True, "namedtuple: tuple hashing", ref.where, set(), {"__hash__", "__eq__"})
        return Outcome(True, "namedtuple: no __dict__, __setitem__ or __call__; the load raises", ref.where)

    def _class_use_ref(self, ref: Ref, use: Use, depth: int) -> Outcome:
        if ref.kind == "namedtuple":
            return self._namedtuple(ref, use)
        if ref.kind != "class":
            return Outcome(False, f"{ref.dotted}: {ref.reason or ref.kind}")
        # keyed by the definition too: a name bound in both branches of an ``if`` has two (Ref.alternatives)
        key = (ref.dotted, use, getattr(ref.node, "lineno", 0))
        if key in self._class_memo:
            return self._class_memo[key]
        self._class_memo[key] = Outcome(True, "recursive use")
        model = self.resolver.class_model(ref)
        if not isinstance(model, ClassModel):
            out = Outcome(False, f"{ref.dotted}: {model}", ref.where)
        else:
            out = self._class_use(model, use, depth)
        self._class_memo[key] = out
        return out

    # --- classes ----------------------------------------------------------------------------------------
    def _class_use(self, model: ClassModel, use: Use, depth: int) -> Outcome:
        for problem, where in model.problems:
            return Outcome(False, problem, where)
        for expr, dref in model.decorators:
            if dref.dotted == "dataclasses.dataclass" or dref.dotted in _attrs_decorators():
                continue
            through = self.effects.call_through(expr, dref)
            if through is not None and through.classes:
                continue  # reviewed: the class keeps its source's behaviour (a warning at most)
            deco_problem = self.effects.decorator_problem(expr, dref, depth)
            if deco_problem is not None:
                return Outcome(False, f"class decorator {dref.dotted} may replace or alter the class: {deco_problem}",
                               model.where(expr.lineno))
        altered = _altered(model)
        if altered is not None:
            return altered
        if use in (Use.CALL, Use.NEW, Use.INVOKE) and any(
                isinstance(p, Leaf) and p.dotted == "builtins.type" for p in model.mro):
            return Outcome(False, f"{model.dotted} is a metaclass: calling it creates a class (class creation runs "
                           "__init_subclass__, __set_name__ and the metaclass hooks)", model.where())
        meta = self._meta(model, use)
        if meta is not None:
            return meta
        if use in _INSTANCE_USES:
            foreign = self._instance_problem(model, None)
            if foreign is not None:
                return foreign
        handler = {
            Use.ALLOC: self._alloc, Use.NEW: self._new, Use.CALL: self._call, Use.INVOKE: self._call,
            Use.BUILD: self._build, Use.MUTATE: self._mutate, Use.HASH: self._hash,
            Use.CALL_INSTANCE: self._call_instance, Use.PASSED: self._passed,
        }[use]
        return handler(model, use, depth)

    def _meta(self, model: ClassModel, use: Use) -> Outcome | None:
        """Metaclass hooks the use runs: ``__call__`` (CALL) and attribute lookup on the class (NEW through
        ``copyreg.__newobj__``'s ``cls.__new__``)."""
        meta = model.metaclass
        if meta is None:
            return None
        if isinstance(meta, Ref):
            if meta.dotted in tables.KNOWN_METACLASSES:
                return None
            if self.catalog is not None and self.catalog(meta.dotted, use) is True:
                return None
            return Outcome(False, f"metaclass {meta.dotted} is not readable ({meta.reason or meta.kind})",
                           model.where())
        hooks = {Use.CALL: ("__call__", "__getattribute__"), Use.INVOKE: ("__call__", "__getattribute__"),
                 Use.NEW: ("__getattribute__",)}.get(use, ())
        for hook in hooks:
            found = self.effects.lookup(meta, hook)
            if found is None:
                continue
            owner, what = found
            if isinstance(what, Leaf):
                if what.kind == "builtin" or what.dotted in tables.KNOWN_METACLASSES:
                    continue
                return Outcome(False, f"metaclass base {what.dotted} may define {hook}", model.where())
            owner = as_model(owner)
            return Outcome(False, f"metaclass {meta.dotted} defines {hook}, which runs when the class is "
                           f"{'called' if hook == '__call__' else 'looked up'}", owner.where(what.lineno, hook))
        for part in meta.mro:  # a stdlib metaclass whose own names are known was looked the hooks up in above
            if isinstance(part, Leaf) and part.kind == "external" and part.dotted not in tables.METACLASS_OWN_NAMES \
                    and not (self.catalog is not None and self.catalog(part.dotted, use) is True):
                return Outcome(False, f"metaclass base {part.dotted} is not readable", model.where())
        return None

    def _run(self, model: ClassModel, owner: ClassModel, binding: Binding, depth: int, *, bound: bool = True,
             single: bool = False) -> Outcome:
        fn = binding.node
        name = getattr(fn, "name", "?")
        if binding.kind != "function" or not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            if binding.kind == "assign" and isinstance(binding.value, ast.Constant) and binding.value.value is None:
                return Outcome(True, "set to None: the load raises TypeError", owner.where(binding.lineno))
            return Outcome(False, f"{owner.dotted} binds a hook to a value the model does not follow",
                           owner.where(binding.lineno))
        alternatives = [] if single else [b for b in owner.body.get(name, []) if b is not binding]
        for other in alternatives:  # conditionally defined hooks: every definition must be inert
            if other.kind != "function" or not isinstance(other.node, ast.FunctionDef | ast.AsyncFunctionDef):
                return Outcome(False, f"{owner.dotted}.{name} is also bound to a value", owner.where(other.lineno))
            out = self._run(model, owner, Binding("function", other.node, False, other.lineno), depth,
                            bound=bound, single=True)
            if not out.inert:
                return out
        static = any(isinstance(d, ast.Name) and d.id == "staticmethod" for d in fn.decorator_list)
        return self.effects.function(fn, owner.module, f"{owner.ref.qualname}.{name}", self_model=model,
                                     defining=owner, bound=bound and not static, depth=depth + 1)

    def _hook(self, model: ClassModel, name: str, use: Use, depth: int, *, none_ok: str) -> Outcome:
        """Run the MRO's ``name`` for ``use``: analysed when read from source, a builtin's C code is inert,
        an unreadable base needs the catalogue. ``none_ok``: the reason when no class defines it."""
        found = self.effects.lookup(model, name)
        if found is None:
            return Outcome(True, none_ok, model.where())
        owner, what = found
        if isinstance(what, Leaf):
            if what.kind == "builtin":
                return Outcome(True, f"{name} is {what.dotted}'s (C code on the object's own data)", model.where())
            if what.kind == "special":
                return Outcome(True, f"{name} is {what.dotted}'s, modelled", model.where())
            compiled = tables.COMPILED_BASE_DICTS.get(what.dotted)
            if compiled is not None and name == "__new__" and name in compiled[1] and use & (Use.CALL | Use.INVOKE
                                                                                            | Use.NEW):
                # _thread._local.__new__ keeps the arguments for the __init__ it runs in other threads
                init = self._init(model, use, depth)
                return Outcome(init.inert, f"{name} is {what.dotted}'s (reviewed C code), which runs the __init__ "
                               f"found past it with the same arguments: {init.reason}", init.where or model.where(),
                               init.invokes, init.touches)
            if self.catalog is not None and self.catalog(what.dotted, use) is True:
                return Outcome(True, f"{name} may come from base {what.dotted}, allowed by the catalogue for "
                               f"{use.name}", model.where())
            return Outcome(False, f"base {what.dotted} may define {name} ({what.reason or 'not readable'}) and the "
                           f"catalogue does not allow it for {use.name}", model.where())
        owner = as_model(owner)
        review = reviewed_method(model, owner, name, self.effects.lookup)
        if review is not None and _patched_in_module(owner) is None:  # Module.__setattr__ = ... after the class
            touches = set(tables.REVIEWED_SOURCE_METHODS[f"{owner.dotted}.{name}"].touches)
            return Outcome(True, f"{owner.ref.qualname}.{name} reviewed ({review})", owner.where(what.lineno, name),
                           set(), touches)
        out = self._run(model, owner, what, depth)
        prefix = f"{owner.ref.qualname}.{name}"
        if out.inert:
            return Outcome(True, f"{prefix} {out.reason}", out.where or owner.where(what.lineno, name), out.invokes,
                           out.touches)
        return Outcome(False, f"{prefix}: {out.reason}", out.where or owner.where(what.lineno, name), out.invokes,
                       out.touches)

    @staticmethod
    def _all(parts: list[Outcome], default: str, where: str | None) -> Outcome:
        invokes: set[int | str] = set()
        touches: set[str] = set()
        for part in parts:
            if not part.inert:
                return part
            invokes |= part.invokes
            touches |= part.touches
        reasons = "; ".join(p.reason for p in parts if p.reason and not p.reason.startswith("none"))
        return Outcome(True, reasons or default, where, invokes, touches)

    def _del(self, model: ClassModel, use: Use, depth: int) -> Outcome:
        return self._hook(model, "__del__", use, depth, none_ok="none: no __del__")

    def _alloc(self, model: ClassModel, use: Use, depth: int) -> Outcome:
        d = self._del(model, use, depth)
        return self._all([d], "object.__new__(X) runs none of X's code; no __del__ in the MRO", model.where())

    def _enum_new(self, model: ClassModel, use: Use, depth: int) -> Outcome:
        # EnumType.__call__(cls, value) -> Enum.__new__: member lookup by value, then cls._missing_(value).
        # A __new__ in the enum body only ran at class creation (EnumType replaces it afterwards).
        missing = self._hook(model, "_missing_", use, depth, none_ok="none")
        parts = [missing]
        if any(isinstance(p, Leaf) and p.dotted in ("enum.Flag", "enum.IntFlag") for p in model.mro):
            # Flag._missing_ builds pseudo-members for unknown values with the body's __new__ (__new_member__)
            parts.append(self._hook(model, "__new__", use, depth, none_ok="none"))
        return self._all(parts, "enum lookup by value (Enum.__new__), no custom _missing_", model.where())

    def _new(self, model: ClassModel, use: Use, depth: int) -> Outcome:
        if "enum" in model.tags:
            return self._all([self._enum_new(model, use, depth), self._del(model, use, depth)], "", model.where())
        new = self._hook(model, "__new__", use, depth, none_ok="none: object.__new__")
        return self._all([new, self._del(model, use, depth)],
                         "default __new__ (object.__new__); no __new__ or __del__ in the MRO", model.where())

    def _call(self, model: ClassModel, use: Use, depth: int) -> Outcome:
        if "enum" in model.tags:
            return self._all([self._enum_new(model, use, depth), self._del(model, use, depth)], "", model.where())
        parts = [self._hook(model, "__new__", use, depth, none_ok="none: object.__new__")]
        parts.append(self._init(model, use, depth))
        parts.append(self._del(model, use, depth))
        return self._all(parts, "default construction: no __new__/__init__/__del__ in the MRO run code",
                         model.where())

    def _init(self, model: ClassModel, use: Use, depth: int) -> Outcome:
        for part in model.mro:
            if not isinstance(part, ClassModel):
                break
            if part.own("__init__") is not None:
                break
            if part.dataclass_opts is not None and part.dataclass_opts.get("init", True):
                return self._dataclass_init(model, part, use, depth)
            if part.attrs_opts is not None and part.attrs_opts.get("init", True):
                return self._attrs_init(model, part, use, depth)
        return self._hook(model, "__init__", use, depth, none_ok="none: object.__init__")

    def _dataclass_init(self, model: ClassModel, owner: ClassModel, use: Use, depth: int) -> Outcome:
        """The generated ``__init__``: default factories run, fields are set (``object.__setattr__`` when
        frozen, else ``self.f = v``), then ``__post_init__``."""
        parts: list[Outcome] = []
        for part in model.mro:
            if not isinstance(part, ClassModel) or part.dataclass_opts is None:
                continue
            for stmt in part.node.body:
                factory = _field_factory_problem(part, stmt, self.resolver)
                if factory is not None:
                    return Outcome(False, factory, part.where(stmt.lineno))
        if not (owner.dataclass_opts or {}).get("frozen"):
            for name in _dataclass_fields(model):
                problem = self.effects.setattr_problem(model, name, via_object=False, depth=depth, use=use)
                if problem is not None:
                    return Outcome(False, f"the generated __init__ sets field {name}: {problem[0]}", problem[1])
        parts.append(self._hook(model, "__post_init__", use, depth, none_ok="none: no __post_init__"))
        return self._all(parts, "dataclass: the generated __init__ sets fields; no __post_init__", model.where())

    def _attrs_init(self, model: ClassModel, owner: ClassModel, use: Use, depth: int) -> Outcome:
        for part in model.mro:
            if not isinstance(part, ClassModel) or part.attrs_opts is None:
                continue
            for stmt in part.node.body:
                value = stmt.value if isinstance(stmt, ast.Assign | ast.AnnAssign) else None
                if isinstance(value, ast.Call):
                    for kw in value.keywords:
                        if kw.arg in ("converter", "validator", "on_setattr", "factory") and not (
                                isinstance(kw.value, ast.Name) and kw.value.id in tables.PURE_BUILTINS):
                            return Outcome(False, f"attrs field runs {kw.arg} {ast.unparse(kw.value)[:60]} in the "
                                           "generated __init__", part.where(stmt.lineno))
        parts = [self._hook(model, name, use, depth, none_ok="none")
                 for name in ("__attrs_pre_init__", "__attrs_post_init__")]
        return self._all(parts, "attrs: the generated __init__ sets fields; no hooks", model.where())

    def _getattr_hooks(self, model: ClassModel, use: Use, why: str, looked_up: tuple[str, ...]) -> Outcome | None:
        """``__getattribute__`` runs for every lookup; ``__getattr__`` only when one of ``looked_up`` is found
        nowhere in the class (an instance ``__dict__`` entry is the engine's concern)."""
        missing = any(self.effects.lookup(model, n) is None for n in looked_up)
        for name in ("__getattribute__", "__getattr__"):
            if name == "__getattr__" and not missing:
                continue
            found = self.effects.lookup(model, name)
            if found is None:
                continue
            owner, what = found
            if isinstance(what, Leaf):
                if what.dotted == "builtins.module":
                    return Outcome(False, f"module.{name} falls back to a __getattr__ in the instance dict, which "
                                   f"{why}", model.where())
                if what.kind in ("builtin", "special"):
                    continue
                if self.catalog is not None and self.catalog(what.dotted, use) is True:
                    continue
                return Outcome(False, f"base {what.dotted} may define {name}, which {why}", model.where())
            owner = as_model(owner)
            if name == "__getattribute__" and self._reviewed_getattribute(model, owner, looked_up):
                continue
            if name == "__getattr__" and len(owner.body.get(name, [])) == 1 and isinstance(
                    what.node, ast.FunctionDef) and _returns_no_object(what.node):
                out = self._run(model, owner, what, 0)
                if out.inert and not out.invokes:
                    continue  # it only raises (or returns constants): the lookup falls back to the default
                return Outcome(False, f"{owner.ref.qualname}.__getattr__ ({why}): {out.reason}", out.where)
            return Outcome(False, f"{owner.ref.qualname}.{name} is custom: {why}", owner.where(what.lineno, name))
        return None

    def _reviewed_getattribute(self, model: ClassModel, owner: ClassModel, looked_up: tuple[str, ...]) -> bool:
        """True when ``owner.__getattribute__`` is reviewed (``tables.REVIEWED_GETATTRIBUTE``) to return what
        ``object.__getattribute__`` finds, and it finds every name in ``looked_up`` (a source binding in the MRO),
        while none of the names the hook reads first is defined by a class (no descriptor runs there)."""
        review = tables.REVIEWED_GETATTRIBUTE.get(owner.dotted)
        if review is None or len(owner.body.get("__getattribute__", [])) != 1:
            return False
        reads, _note = review
        if any(self.effects.lookup(model, n) is not None for n in reads):
            return False
        for name in looked_up:
            found = self.effects.lookup(model, name)
            if found is None or not isinstance(found[0], ClassModel):
                return False  # the hook would fall back to code the review does not cover
        return True

    def _build(self, model: ClassModel, use: Use, depth: int) -> Outcome:
        hooks = self._getattr_hooks(model, use, "BUILD runs getattr(obj, '__setstate__') through it",
                                    ("__setstate__",))
        if hooks is not None:
            return hooks
        found = self.effects.lookup(model, "__setstate__")
        if found is not None:
            what = found[1]
            if isinstance(what, Leaf) and what.kind == "builtin":
                # BaseException.__setstate__: setattr for each key of the state dict
                problem = self.effects.setattr_problem(model, None, via_object=False, depth=depth, use=use)
                if problem is not None:
                    return Outcome(False, f"{what.dotted}.__setstate__ sets attributes: {problem[0]}", problem[1])
                return Outcome(True, f"{what.dotted}.__setstate__ sets attributes; no custom __setattr__ or data "
                               "descriptor", model.where(), set(), {CLASS_ASSIGNMENT})
            return self._hook(model, "__setstate__", use, depth, none_ok="")
        if model.dataclass_opts and model.dataclass_opts.get("slots") and model.dataclass_opts.get("frozen"):
            return Outcome(True, "frozen slotted dataclass: the generated __setstate__ uses object.__setattr__",
                           model.where(), set(), {"__iter__"})
        parts: list[Outcome] = []
        if BuildState.DICT in self.build_state:
            for part in model.mro:
                if isinstance(part, ClassModel) and (b := part.own("__dict__")) is not None:
                    return Outcome(False, "the class binds __dict__: BUILD's getattr(obj, '__dict__') runs it",
                                   part.where(b.lineno, "__dict__"))
            parts.append(Outcome(True, "dict state: obj.__dict__ updated directly (no __setattr__ or "
                                 "descriptors run)", model.where()))
        if BuildState.SLOTS in self.build_state:
            problem = self.effects.setattr_problem(model, None, via_object=False, depth=depth, use=use)
            if problem is not None:
                return Outcome(False, f"slot state is set with setattr: {problem[0]}", problem[1] or model.where())
            parts.append(Outcome(True, "slot state: setattr with no custom __setattr__ or data descriptor",
                                 model.where(), set(), {CLASS_ASSIGNMENT}))
        out = self._all(parts, "", model.where())
        if out.inert:
            out.reason = "default reconstruction: no __setstate__/__getattr__ in the MRO; " + out.reason
        return out

    def _mutate(self, model: ClassModel, use: Use, depth: int) -> Outcome:
        hooks = self._getattr_hooks(model, use, "APPENDS/ADDITEMS look up extend/append/add with getattr",
                                    ("extend", "append", "add"))
        if hooks is not None:
            return hooks
        parts = [self._hook(model, name, use, depth, none_ok="none")
                 for name in ("__setitem__", "extend", "append", "add")]
        return self._all(parts, "no custom __setitem__/append/extend/add: builtin or absent (the load raises)",
                         model.where())

    def _hash(self, model: ClassModel, use: Use, depth: int) -> Outcome:
        for part in model.mro:
            if not isinstance(part, ClassModel):
                break
            if part.own("__hash__") is not None:
                break
            opts = part.dataclass_opts
            if opts is not None:
                eq, frozen, unsafe = opts.get("eq", True), opts.get("frozen", False), opts.get("unsafe_hash", False)
                if unsafe or (eq and frozen):
                    eq_out = self._hook(model, "__eq__", use, depth, none_ok="none") if part.own(
                        "__eq__") is not None else Outcome(True, "generated __eq__ compares field tuples")
                    return self._all([eq_out], "dataclass: the generated __hash__ hashes the field tuple",
                                     model.where()) if eq_out.inert is False else Outcome(
                        True, "dataclass: the generated __hash__/__eq__ hash and compare the field tuple",
                        model.where(), set(), {"__hash__", "__eq__"} | eq_out.touches)
                if eq:
                    return Outcome(True, "dataclass with eq and not frozen: __hash__ is None (the load raises)",
                                   model.where())
            if part.own("__eq__") is not None:
                return Outcome(True, f"{part.ref.qualname} defines __eq__ without __hash__: unhashable (the load "
                               "raises)", part.where())
        h = self._hook(model, "__hash__", use, depth, none_ok="none: object.__hash__")
        e = self._hook(model, "__eq__", use, depth, none_ok="none: object.__eq__")
        return self._all([h, e], "object's identity hash and equality", model.where())

    def _call_instance(self, model: ClassModel, use: Use, depth: int) -> Outcome:
        """Called, or (set as an attribute, the engine's R2-5 rule) given method calls by name by the code of the
        object holding it: ``holder.attr.name(...)`` runs a ``__getattribute__``/``__getattr__`` for any name the
        class does not define (statsmodels' ResultsWrapper forwards one to ``results.model.data.wrap_output``)."""
        hooks = self._getattr_hooks(model, use, "code holding the object calls its methods by name",
                                    (_ANY_NAME,))
        if hooks is not None:
            return hooks
        return self._hook(model, "__call__", use, depth, none_ok="no __call__: calling the instance raises")

    def _passed(self, model: ClassModel, use: Use, depth: int) -> Outcome:
        """An instance handed to a call: the callee may run any protocol method of it."""
        hooks = self._getattr_hooks(model, use, "callees look protocol methods up with getattr",
                                    tables.PROTOCOL_METHODS)
        if hooks is not None:
            return hooks
        parts = [self._hook(model, name, use, depth, none_ok="none") for name in tables.PROTOCOL_METHODS]
        return self._all(parts, "no custom protocol methods (__iter__, __len__, __getitem__, __array__, ...)",
                         model.where())


#: uses of an object the load built, ranked by the class the file named (R7-2)
_INSTANCE_USES = (Use.BUILD, Use.MUTATE, Use.HASH, Use.CALL_INSTANCE, Use.PASSED)
_ANY_NAME = "\0any method name"  # a name no class defines: the lookup of a method the class lacks


def _returns_no_object(fn: ast.FunctionDef) -> bool:
    """Every ``return`` gives a constant (``None``, a number, a string): what ``getattr`` hands back can never be
    a callable the load then calls (BUILD calls the ``__setstate__`` it finds, APPENDS the ``extend``)."""
    stack: list[ast.AST] = list(fn.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            continue
        if isinstance(node, ast.Return) and node.value is not None and not isinstance(node.value, ast.Constant):
            return False
        if isinstance(node, ast.Yield | ast.YieldFrom | ast.Await):
            return False
        stack.extend(ast.iter_child_nodes(node))
    return True


def _binds_a_name(node: ast.Assign | ast.NamedExpr | ast.AnnAssign) -> bool:
    """The assignment makes a new local name for the value (an alias), not a container or attribute entry."""
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    return any(isinstance(t, ast.Name | ast.Tuple | ast.List | ast.Starred) for t in targets)


def _sets_on_first_param(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> str | None:
    """``"sets cls.x"`` when ``fn`` stores a computed value on its first parameter (the class being built)."""
    positional = [*fn.args.posonlyargs, *fn.args.args]
    if not positional:
        return None
    first = positional[0].arg
    for node in ast.walk(fn):
        if isinstance(node, ast.Assign | ast.NamedExpr | ast.AnnAssign) and isinstance(node.value, ast.Name) \
                and node.value.id == first and _binds_a_name(node):
            return f"aliases {first} (line {node.lineno})"
        if isinstance(node, ast.Call) and any(isinstance(a, ast.Name) and a.id == first for a in node.args) \
                and not (isinstance(node.func, ast.Attribute) and node.func.attr in ("__init_subclass__",
                                                                                      "append", "add")):
            return f"passes {first} to {ast.unparse(node.func)[:40]} (line {node.lineno})"
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for tgt in targets:
                if isinstance(tgt, ast.Attribute) and isinstance(tgt.value, ast.Name) and tgt.value.id == first \
                        and not (isinstance(node.value, ast.Constant) and not tgt.attr.startswith("__")):
                    return f"sets {first}.{tgt.attr} (line {node.lineno})"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("setattr", "delattr") \
                and node.args and isinstance(node.args[0], ast.Name) and node.args[0].id == first:
            return f"calls {node.func.id} on {first} (line {node.lineno})"
    return None


def _patched_in_module(model: ClassModel) -> int | None:
    """Line of a top-level ``Class.attr = ...`` / ``setattr(Class, ...)`` in the defining module: the class
    object is changed after its definition."""
    qual = model.ref.qualname
    for node in _top_level_nodes(model.module.tree.body):
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for tgt in targets:
                if isinstance(tgt, ast.Attribute) and ast.unparse(tgt.value) == qual:
                    return node.lineno
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("setattr", "delattr") \
                and node.args and ast.unparse(node.args[0]) == qual:
            return node.lineno
        # Class.setup(): a classmethod run at import that stores on cls (``cls.__setstate__ = f``) changes the
        # class like a top-level assignment does (found attacking the round-8 hook rule)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and ast.unparse(node.func.value) == qual and _class_setting_classmethod(model, node.func.attr):
            return node.lineno
    return None


def _class_setting_classmethod(model: ClassModel, name: str) -> bool:
    for part in model.mro:
        if not isinstance(part, ClassModel):
            continue
        binding = part.own(name)
        if binding is None:
            continue
        fn = binding.node
        return not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef) or (
            any(isinstance(d, ast.Name) and d.id == "classmethod" for d in fn.decorator_list)
            and _sets_on_first_param(fn) is not None)
    return False


def _top_level_nodes(body: list[ast.stmt]) -> list[ast.AST]:
    out: list[ast.AST] = []
    stack: list[ast.AST] = list(body)
    while stack:
        node = stack.pop()
        out.append(node)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            continue
        stack.extend(ast.iter_child_nodes(node))
    return out


def _altered(model: ClassModel) -> Outcome | None:
    """Class creation or later module code may change the class object from what its source says: a base's
    ``__init_subclass__`` that stores computed attributes on the new class, a custom metaclass that builds
    it, or a top-level ``Class.attr = ...`` in its module. The model cannot then vouch for any instance use."""
    for part in model.mro[1:]:
        if isinstance(part, ClassModel):
            binding = part.own("__init_subclass__")
            if binding is not None and reviewed_subclass_hook(model, part):
                continue
            if binding is not None and isinstance(binding.node, ast.FunctionDef | ast.AsyncFunctionDef):
                problem = _sets_on_first_param(binding.node)
                if problem is not None:
                    return Outcome(False, f"{part.ref.qualname}.__init_subclass__ {problem} on every subclass: the "
                                   "class is not what its source says", part.where(binding.lineno,
                                                                                  "__init_subclass__"))
    meta = model.metaclass
    if isinstance(meta, ClassModel):
        for part in meta.mro:
            if not isinstance(part, ClassModel):
                continue
            for hook in ("__new__", "__init__", "__prepare__", "mro"):  # mro(): the MRO is computed (R5-5)
                binding = part.own(hook)
                reviewed = tables.REVIEWED_METACLASS_HOOKS.get(f"{part.dotted}.{hook}")
                if binding is not None and reviewed is not None and binding.kind == "function" \
                        and def_digest(binding.node) == reviewed[0]:
                    continue  # its text was read: it builds the class as written (see the review)
                if binding is not None:
                    return Outcome(False, f"metaclass {part.dotted}.{hook} builds the class: its attributes may differ "
                                   "from its source", part.where(binding.lineno, hook))
    line = _patched_in_module(model)
    if line is not None:
        return Outcome(False, f"{model.ref.qualname} is modified at the top level of {model.module.name} after its "
                       "definition", model.module.where(line))
    return None


def _attrs_decorators() -> frozenset[str]:
    from safeload.catalog.source_model import ATTRS_DECORATORS

    return ATTRS_DECORATORS


def _dataclass_fields(model: ClassModel) -> list[str]:
    """Annotated class-level names of the dataclasses in the MRO (the fields the generated __init__ sets)."""
    names: dict[str, None] = {}
    for part in reversed(model.mro):
        if isinstance(part, ClassModel) and part.dataclass_opts is not None:
            for stmt in part.node.body:
                if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and "ClassVar" not in \
                        ast.unparse(stmt.annotation):
                    names[stmt.target.id] = None
    return list(names)


def _field_factory_problem(part: ClassModel, stmt: ast.stmt, resolver: Resolver) -> str | None:
    """A dataclass ``field(default_factory=f)`` runs ``f()`` in the generated ``__init__``."""
    value = stmt.value if isinstance(stmt, ast.AnnAssign | ast.Assign) else None
    if not isinstance(value, ast.Call):
        return None
    callee = resolver.expr(part.module, value.func)
    if callee.dotted != "dataclasses.field":
        return None
    for kw in value.keywords:
        if kw.arg != "default_factory":
            continue
        factory = kw.value
        if isinstance(factory, ast.Name) and factory.id in ("list", "dict", "set", "tuple", "frozenset", "str",
                                                            "int", "float", "bool", "bytes"):
            ref = resolver.expr(part.module, factory)
            if ref.kind == "builtin":
                continue
        if isinstance(factory, ast.Lambda) and _constant_lambda(factory):
            continue
        return f"field default_factory {ast.unparse(factory)[:60]} runs in the generated __init__"
    return None


def _constant_lambda(node: ast.Lambda) -> bool:
    for sub in ast.walk(node.body):
        if isinstance(sub, ast.Call | ast.Attribute | ast.Subscript | ast.Await | ast.Yield | ast.YieldFrom
                      | ast.NamedExpr):
            return False
    return True

