"""Reviewed data for the source analysis: which modules are never library code, which builtins are pure,
which stdlib bases and helpers have known behaviour.

Invariant: data only. Every entry here is a claim a reviewer checked against CPython's source (3.11-3.13);
adding a name makes code that calls it count as inert, so each addition needs the same review.
"""

from __future__ import annotations

import os
import re
import types
from dataclasses import dataclass

__all__ = [
    "BASES_WITHOUT_SUBCLASS_HOOK",
    "BENIGN_CALLS",
    "CALL_THROUGH_DECORATORS",
    "COMPILED_BASE_DICTS",
    "DANGEROUS_CALLS",
    "DENIED_MODULE_PATTERNS",
    "IMPORT_ONLY_DECORATORS",
    "IMPORT_ONLY_MODULES",
    "IMPORT_TIME_DECORATORS",
    "IMPORT_TIME_DECORATOR_FACTORIES",
    "INERT_DECORATORS",
    "LIBRARY_MODULES_NAMED_LIKE_TESTS",
    "NAMED_BUILTIN_TYPES",
    "NAMED_LIKE_TESTS_DIGESTS",
    "PURE_BUILTINS",
    "PURE_EXCEPTIONS",
    "REVIEWED_CLASS_CREATION_HOOKS",
    "REVIEWED_COMPILED_IMPORTS",
    "REVIEWED_CONTEXT_MANAGERS",
    "REVIEWED_DECORATORS",
    "REVIEWED_GETATTRIBUTE",
    "REVIEWED_IMPORT_STATEMENTS",
    "REVIEWED_LAZY_MODULES",
    "REVIEWED_SOURCE_METHODS",
    "REVIEWED_STATEMENT_IMPORTS",
    "REVIEWED_SUBCLASS_HOOKS",
    "REVIEW_PINS",
    "SLOTTED_SUBCLASS_HOOKS",
    "SPECIAL_BASES",
    "STDLIB_TYPE_ALIASES",
    "SUBCLASS_HOOK_DIGESTS",
    "SUBCLASS_HOOK_FILES",
    "VALUE_FACTORIES",
    "CallThrough",
    "ReviewedDecorator",
    "ReviewedMethod",
    "denied_module_reason",
    "import_only",
]

# --- modules whose import is not a library import -------------------------------------------------------
#: (regex on the dotted module name, reason). A module matching any of these is never analysed as inert:
#: importing it has side effects by design, or it is a script, a test or a demo rather than library code.
DENIED_MODULE_PATTERNS: tuple[tuple[str, str], ...] = (
    (r"antigravity", "opens a web browser when imported"),
    (r"this", "prints the Zen of Python when imported"),
    (r"__hello__|__phello__(\..*)?", "prints when imported (frozen test module)"),
    (r"idlelib(\..*)?", "IDLE: GUI application modules, not library code"),
    (r"turtledemo(\..*)?", "turtle demos: run GUI code when imported"),
    (r"tkinter(\..*)?", "GUI toolkit: creates windows, loads Tcl"),
    (r"test(\..*)?", "CPython's regression test package"),
    (r"lib2to3\.tests(\..*)?|unittest\.test(\..*)?|ctypes\.test(\..*)?", "stdlib test package"),
    (r"(.*\.)?__main__", "a program's entry point: runs the program when imported"),
    (r"__mp_main__", "multiprocessing's alias of __main__"),
    (r"(.*\.)?(setup|conftest|noxfile|fabfile|manage)", "a build, test or project script, not library code"),
    (r"(.*\.)?(tests?|testing)(\..*)?", "a test package or test module"),
    (r"(.*\.)?test_[^.]*|(.*\.)?[^.]*_tests?", "a test module"),
    (r"(.*\.)?(examples?|demos?|benchmarks?|scripts?)(\..*)?", "examples, demos, benchmarks or scripts"),
    (r"(.*\.)?_?pytest(\..*)?|py\.test|(.*\.)?pytest_[^.]*", "pytest and pytest plugins run test machinery"),
    (r"(.*\.)?site|sitecustomize|usercustomize", "interpreter start-up hooks"),
    (r"(.*\.)?_?distutils_hack(\..*)?|pip(\..*)?|setuptools(\..*)?|distutils(\..*)?",
     "packaging tools: install, build and run code"),
)
_COMPILED = tuple((re.compile(pattern), reason) for pattern, reason in DENIED_MODULE_PATTERNS)


#: Library modules whose *names* match a test, benchmark or script pattern above but that the library's own
#: package imports unconditionally (a load imports them whenever it imports the library): a reviewer read each
#: one. The name patterns do not apply to them; their top level is analysed like any other module (the
#: analysis, not this table, decides whether importing them is inert). Keyed by dotted module name.
LIBRARY_MODULES_NAMED_LIKE_TESTS: dict[str, str] = {
    "mlxtend.utils.testing": "mlxtend 0.25 utils/__init__.py imports assert_raises from it; the module defines "
                             "that one function (calls the function it is given, raises AssertionError)",
    "skopt.benchmarks": "scikit-optimize 0.10 skopt/__init__.py imports it; the module imports numpy and defines "
                        "test objective functions (branin, hart6, ...)",
    # numpy 2.4.6 (lead's decision, issue 14 round 10: numpy.testing is numpy's public testing API, not a test suite;
    # scipy 1.17.1 imports it on every import of scipy._lib._util through array_api_compat's clone of numpy, and
    # tslearn 0.10.0's NumPyBackend reads numpy.testing.assert_allclose). Admitted for IMPORT only: the files must
    # hash as read (NAMED_LIKE_TESTS_DIGESTS, checked at scan time) and no name defined in them may be used by a
    # load (IMPORT_ONLY_MODULES). numpy.testing.tests, numpy.testing.print_coercion_tables and numpy/tests stay
    # denied by name.
    "numpy.testing": (
        "numpy 2.4.6 testing/__init__.py: `from unittest import TestCase`, imports its own _private, overrides, "
        "_private.extbuild and star-imports _private.utils, computes __all__ from lists, builds "
        "numpy._pytesttester.PytestTester(__name__) (stores the module name; the test runner runs only when called) "
        "and deletes the class name"),
    "numpy.testing._private": "numpy 2.4.6 testing/_private/__init__.py: empty",
    "numpy.testing._private.utils": (
        "numpy 2.4.6 testing/_private/utils.py top level: imports stdlib modules (concurrent.futures, contextlib, gc, "
        "importlib.metadata, operator, os, pathlib, platform, pprint, re, shutil, sys, sysconfig, threading, "
        "warnings, functools, io, tempfile, unittest) and numpy (numpy.linalg._umath_linalg, numpy._core); defines "
        "the assert_* functions and helper classes (KnownFailureException, IgnoreException, "
        "clear_and_catch_warnings(warnings.catch_warnings), suppress_warnings, unittest.TestCase subclass _Dummy); "
        "reads the platform and environment only: pathlib.Path(np.__file__).parent, "
        "importlib.metadata.distribution('numpy') and its direct_url.json (json.loads of numpy's own metadata into "
        "SimpleNamespaces) and locate_file('numpy'), platform.machine() (os.uname, no process), "
        "sys.implementation, numpy's _blas_supports_fpe(None) (a query), numpy.linalg._umath_linalg._ilp64, "
        "sysconfig.get_config_var('HOST_GNU_TYPE'/'Py_GIL_DISABLED'), np.dtype(np.intp).itemsize, "
        "os.confstr('CS_GNU_LIBC_VERSION'); defines memusage/jiffies per sys.platform (their /proc reads run only "
        "when called); builds `_d = _Dummy('nop')` (TestCase.__init__ looks the method up, sets its fields) and a "
        "lambda. No file written, no process, no socket, no thread started at import"),
    "numpy.testing._private.extbuild": (
        "numpy 2.4.6 testing/_private/extbuild.py top level: imports os, pathlib, subprocess, sys, sysconfig, "
        "textwrap, sets __all__ and defines the extension-building functions (they compile and import C code: "
        "only when called, never by a load: IMPORT_ONLY_MODULES)"),
    "numpy.testing.overrides": (
        "numpy 2.4.6 testing/overrides.py top level: imports numpy._core.umath, numpy.ufunc and "
        "numpy._core.overrides.ARRAY_FUNCTIONS, defines four query functions"),
    # xarray 2026.9.0: xarray/__init__.py does `from xarray import ..., testing, ...` (public API, in __all__)
    "xarray.testing": (
        "xarray 2026.9.0 testing/__init__.py (sha256 "
        "1b716dac9f16030f5ab5e9054bdf6f891d3eb0ea5e43c51d77f289a05133610a) only re-exports assertion helpers from "
        "xarray.testing.assertions; xarray/__init__.py imports it unconditionally (public API). "
        "xarray.testing.strategies (hypothesis) is not imported by it and stays denied by name"),
    "xarray.testing.assertions": (
        "xarray 2026.9.0 testing/assertions.py (sha256 "
        "1513b7078d97772a7168efc0b2e22d6ab77b9b86a1bbfd296ba074f0d52c6d08): imports numpy, pandas and xarray.core "
        "modules, defines assert_* comparison functions and the ensure_warnings decorator (a functools.wraps "
        "wrapper applied at import); no test suite, no fixtures, no I/O"),
}


#: The files of ``LIBRARY_MODULES_NAMED_LIKE_TESTS`` entries whose review is bound to the text read: module ->
#: SHA-256 of the file's bytes. While the installed file hashes otherwise, the name rule applies to it again
#: (``source_imports``: refused as a test module). Checked against the installed files by the tests.
NAMED_LIKE_TESTS_DIGESTS: dict[str, str] = {
    "numpy.testing": "12a7be3b1fb7252aa4e904679cf3c52c25bd224aaff4eb890e19e6dae18cdf37",
    "numpy.testing._private": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "numpy.testing._private.utils": "0514e16f2db0215fed604fb3015bae396ce9ff20476c27ec395d1e7bd0786491",
    "numpy.testing._private.extbuild": "2e0d6ca80f7843be0a8b9bbeb31d0f123eeeaebdd83f8ef4f810a2caf2701314",
    "numpy.testing.overrides": "07c63c3e5a6f2bbd48712ba8b9b5d68f82f935598b5529fb58c8352fbc593bc9",
}

#: Modules admitted for import only (module -> why): no class or function defined in them, and no name looked up
#: in them, is used by a load. The source analysis refuses every use of such a name other than importing its
#: module (also when it is reached through a re-export: the name's defining module decides too), and code a load
#: runs may not call one.
IMPORT_ONLY_MODULES: dict[str, str] = {
    module: "numpy.testing is numpy's testing API, admitted for import only (lead's decision, issue 14): its "
            "functions assert, time, run code strings, build and import C extensions, make temporary files"
    for module in ("numpy.testing", "numpy.testing._private", "numpy.testing._private.utils",
                   "numpy.testing._private.extbuild", "numpy.testing.overrides")
}


def import_only(module: str | None) -> str | None:
    """Why names of ``module`` (dotted) are never used by a load, or ``None`` (``IMPORT_ONLY_MODULES``)."""
    return IMPORT_ONLY_MODULES.get(module) if module is not None else None


def denied_module_reason(module: str) -> str | None:
    """The reason ``module`` (dotted) is never library code to import, or ``None``."""
    if module in LIBRARY_MODULES_NAMED_LIKE_TESTS:
        return None
    for pattern, reason in _COMPILED:
        if pattern.fullmatch(module):
            return reason
    return None


#: Modules that exist only as entries another module puts in ``sys.modules`` at import (``os`` registers
#: ``os.path``): the module whose source actually runs.
MODULE_ALIASES: dict[str, str] = {"os.path": "posixpath" if os.name != "nt" else "ntpath"}

#: Compiled modules whose ``from m import *`` was checked to bind none of the builtins' names (so a builtin
#: such as ``isinstance`` used after the star import is still the builtin). Checked against the installed
#: version by tests/test_fp_families.py (no ``__all__``: its public names, none a builtin's).
STAR_EXPORTS_NO_BUILTINS: dict[str, str] = {
    "torch._C": "torch 2.13: torch/__init__.py does `from torch._C import *`; torch._C has no __all__ and none of "
                "its public names is a builtin's",
}

# --- builtins ----------------------------------------------------------------------------------------------
#: Builtins whose call runs no code of its own beyond the protocol methods of its arguments (``len(x)`` runs
#: ``type(x).__len__``): those are recorded as "touches" on the values, never trusted silently.
PURE_BUILTINS: frozenset[str] = frozenset(
    "abs all any ascii bin bool bytearray bytes callable chr complex dict dir divmod enumerate float format frozenset "
    "hash hex id int isinstance issubclass iter len list max min next object oct ord pow range repr reversed "
    "round set slice sorted str sum tuple type zip property staticmethod classmethod super NotImplemented "
    "Ellipsis".split()
)
#: Calls that run code, read or write files, processes, the network or the interpreter's state:
#: always not inert (dotted names after resolving the source's imports; ``builtins.X`` for builtins).
DANGEROUS_CALLS: frozenset[str] = frozenset(
    (
        "builtins.eval builtins.exec builtins.compile builtins.open builtins.__import__ builtins.globals "
        "builtins.locals builtins.vars builtins.input builtins.breakpoint builtins.print builtins.exit "
        "builtins.quit builtins.help builtins.setattr builtins.delattr builtins.memoryview"
    ).split()
)
#: Module prefixes whose functions touch files, processes, the network, the import system or the interpreter.
DANGEROUS_MODULES: tuple[str, ...] = (
    "os", "posix", "nt", "sys", "subprocess", "shutil", "socket", "ssl", "http", "urllib", "ftplib", "smtplib",
    "importlib", "pkgutil", "runpy", "imp", "zipimport", "ctypes", "cffi", "multiprocessing", "threading",
    "_thread", "concurrent", "asyncio", "signal", "pty", "tty", "webbrowser", "code", "codeop", "pdb", "bdb",
    "marshal", "pickle", "_pickle", "dill", "cloudpickle", "joblib", "shelve", "dbm", "sqlite3", "tempfile",
    "io", "_io", "fileinput", "pathlib", "glob", "builtins.open", "platform", "gc", "inspect", "types",
    "requests", "httpx", "torch.load", "numpy.load", "atexit", "sysconfig", "site", "ensurepip", "venv",
    "zipfile", "tarfile", "gzip", "bz2", "lzma", "mmap", "resource", "syslog", "logging.config",
)

#: Calls a reviewer checked to be free of effects beyond their arguments' protocol methods, or benign
#: at import time (registration, logging set-up, typing helpers). Keyed by dotted name.
BENIGN_CALLS: frozenset[str] = frozenset(
    (
        # typing and classes
        "typing.TypeVar typing.NewType typing.cast typing.overload typing.final typing.ParamSpec "
        "typing.TypeVarTuple typing.NamedTuple typing.TypedDict typing.get_type_hints typing.runtime_checkable "
        "typing_extensions.TypeVar typing_extensions.ParamSpec typing_extensions.overload typing_extensions.final "
        "typing_extensions.deprecated typing_extensions.TypedDict typing_extensions.NamedTuple "
        "typing_extensions.runtime_checkable typing_extensions.override typing.override "
        "abc.abstractmethod abc.abstractproperty "
        "dataclasses.field dataclasses.dataclass dataclasses.fields dataclasses.is_dataclass "
        "collections.namedtuple collections.OrderedDict collections.defaultdict collections.deque "
        "collections.Counter collections.ChainMap "
        "enum.auto enum.unique enum.Enum enum.IntEnum enum.Flag enum.IntFlag enum.StrEnum "
        "functools.wraps functools.partial functools.lru_cache functools.cache functools.total_ordering "
        "functools.singledispatch functools.reduce functools.cached_property functools.update_wrapper "
        "functools.cmp_to_key "
        # CPython 3.11-3.13 functools.partialmethod(func, *args, **kw): checks callable(func)/hasattr(__get__)
        # and stores func, args, keywords. The object is not callable: func runs only when a class attribute
        # partialmethod is looked up on an instance and the result called (a class whose hook is one is not
        # modelled: source_analysis._run)
        "functools.partialmethod "
        "itertools.chain itertools.count itertools.product itertools.islice itertools.repeat "
        "itertools.combinations itertools.permutations itertools.zip_longest itertools.starmap "
        "itertools.accumulate itertools.groupby itertools.tee itertools.cycle "

        "re.compile re.escape re.match re.fullmatch re.search re.sub re.split re.findall "

        "inspect.isclass inspect.isfunction inspect.ismethod inspect.ismodule inspect.iscoroutinefunction "
        "inspect.isgeneratorfunction inspect.isabstract inspect.signature inspect.Parameter inspect.getmro "
        "math.sqrt math.log math.exp math.ceil math.floor math.isfinite math.isnan math.isinf math.prod "
        "math.log2 math.log10 math.pow math.fabs "
        # CPython 3.11 mathmodule.c: cos/sin of a float (the argument's __float__/__index__), like sqrt/log above
        # (random.Random.gauss computes with them)
        "math.cos math.sin "
        "struct.Struct struct.calcsize struct.pack struct.unpack "
        "weakref.WeakValueDictionary weakref.WeakKeyDictionary weakref.WeakSet "
        "contextvars.ContextVar types.SimpleNamespace types.MappingProxyType "
        "threading.Lock threading.RLock threading.local threading.Condition threading.Event "
        # CPython 3.11 threading.py binds Lock = _allocate_lock = _thread.allocate_lock (C: a new unlocked lock,
        # no arguments read): the resolved name of threading.Lock(), reviewed under both spellings
        "_thread.allocate_lock threading._thread.allocate_lock "
        "os.path.join os.path.dirname os.path.basename os.path.splitext os.path.split os.path.normpath "
        "os.environ.get os.getenv os.fspath "
        "sys.intern sys.getrecursionlimit "
        "warnings.warn warnings.filterwarnings warnings.simplefilter "
        "logging.getLogger logging.NullHandler "
        "attr.s attr.attrs attr.ib attr.attrib attr.define attr.frozen attr.mutable attr.field attr.Factory "
        "attrs.define attrs.frozen attrs.mutable attrs.field attrs.Factory "
        "packaging.version.parse packaging.version.Version "
        # scikit-learn 1.9's vendored copy of packaging 21.3's version module (same code: a regex match into a
        # named tuple of ints and strings)
        "sklearn.externals._packaging.version.parse sklearn.externals._packaging.version.Version "
        "sklearn.utils.fixes.parse_version "
        # environment probes: read installed distributions' metadata (the environment is trusted)
        "importlib.metadata.version importlib.metadata.distribution importlib.metadata.metadata "
        "importlib.metadata.packages_distributions importlib.metadata.PackageNotFoundError "
        "importlib.util.find_spec "

        "transformers.utils.logging.get_logger transformers.utils.logging.get_log_levels_dict "
        # hyperopt 0.3.0 utils.py: logging.getLogger(name), setLevel(INFO), and a StreamHandler(sys.stderr) on that
        # logger when neither it nor the root logger has handlers; returns the logger
        "hyperopt.utils._get_logger "
        # optuna 5.0 logging.py: get_logger(name) configures optuna's root logger once under a lock (a
        # StreamHandler on stderr with a colorlog formatter, level INFO, no propagation) and returns
        # logging.getLogger(name): logging set-up, like transformers' get_logger
        "optuna.logging.get_logger "
        "transformers.utils.add_start_docstrings transformers.utils.doc.add_start_docstrings "
        # torch 2.13.0 torch/csrc/TypeInfo.cpp THPFInfo_pynew (no tp_init, no __dict__): torch.finfo(type) parses
        # "finfo(ScalarType type)" / "finfo()" with PythonArgParser (a torch.dtype or a Python scalar type, checked
        # by C type; it looks __torch_function__ up on the arguments, their own protocol), raises TypeError for a
        # non-floating dtype, else allocates a THPFInfo holding the dtype; its getters (max, eps, ...) are
        # numeric_limits constants, repr/compare read the dtype field. No I/O, no import, no registry. Measured on
        # 2.13.0+cpu (tests/test_star_exports.py). torch.finfo is the class `from torch._C import *` binds in
        # torch/__init__.py (generated/star_exports.py): reviewed under both spellings. tslearn 0.10.0
        # PyTorchBackend.__init__: torch.finfo(torch.double).max
        "torch.finfo torch._C.finfo"
    ).split()
)
#: Calls a reviewer read that return an immutable value whose protocol methods (comparisons, hash, str, format,
#: bool) only compute on its own fields: a module-level object bound to such a call is treated like a builtin
#: value when the module operates on it (version checks such as ``if sklearn_version < parse_version("1.4")``).
VALUE_FACTORIES: frozenset[str] = frozenset(
    (
        # packaging 26 version.py / scikit-learn 1.9's vendored packaging 21.3: parse(v) is Version(v), a regex
        # match into a named tuple of ints and strings; comparisons compare _key tuples (ints, str, and the
        # Infinity/NegativeInfinity singletons whose comparison methods return constants)
        "packaging.version.parse packaging.version.Version sklearn.externals._packaging.version.parse "
        "sklearn.externals._packaging.version.Version sklearn.utils.fixes.parse_version "
        # CPython 3.11 typing.py (3.12-3.13: the same methods in C, Objects/typevarobject.c): TypeVar, ParamSpec and
        # TypeVarTuple objects hold a name, bound/constraints and variance flags. Their methods: __repr__ (a
        # prefix and the name), __or__/__ror__ (typing.Union of the two operands: the other operand's own
        # protocol is checked where the module writes it), __copy__/__deepcopy__ (return self), __reduce__ (the
        # name), TypeVarTuple.__iter__ (yields Unpack[self]), __typing_subst__ (type checks of subscript
        # arguments); hash and equality are object identity. river 0.26 subscripts its own Generic classes with
        # them (Statistic[_OutT]), which hands the TypeVar to typing.Generic.__class_getitem__
        "typing.TypeVar typing.ParamSpec typing.TypeVarTuple"
    ).split()
)

#: Compiled classes whose ``__class_getitem__`` returns ``types.GenericAlias(cls, args)`` and does nothing else:
#: numpy 2.4 ``_core/src/multiarray/methods.c`` (``array_class_getitem``: checks the argument count, then
#: ``Py_GenericAlias``) and ``descriptor.c`` (``arraydescr_class_getitem``, the same for ``dtype``). A module-level
#: ``np.ndarray[...]`` (numpy.typing's ``NDArray``) is a GenericAlias, whose methods are C: hash/eq/repr of its
#: origin and arguments, ``|`` (a Union), ``__getitem__`` (substitutes the TypeVars through their
#: ``__typing_subst__``) and attribute reads forwarded to the origin class.
GENERIC_ALIAS_CLASSES: frozenset[str] = frozenset(
    "numpy.ndarray numpy.dtype numpy._core.multiarray.ndarray numpy._core.multiarray.dtype".split())

#: Compiled classes read as plain classes (spelled as the source imports them, and as the resolver names them):
#: each is a static, immutable extension type (``Py_TPFLAGS_IMMUTABLETYPE``, not a heap type: no code can set an
#: attribute on it) whose metaclass is ``type`` itself, or a compiled metaclass that defines no operator or
#: comparison method. ``A | B`` between such classes, builtins and source classes without a metaclass is
#: ``type.__or__`` (C): it builds a ``types.UnionType``. Read from numpy 2.4.6 (``type(c)``, ``__flags__``,
#: the dunders of ``vars(type(np.dtype))``: ``__doc__``/``__init__``/``__new__``);
#: tests/test_source_class_operators.py checks the installed numpy.
PLAIN_COMPILED_CLASSES: frozenset[str] = frozenset(
    f"{prefix}.{name}" for prefix in ("numpy", "numpy._core", "numpy._core.multiarray",
                                      "numpy._core.numerictypes")
    for name in ("ndarray dtype generic number integer signedinteger unsignedinteger inexact floating "
                 "complexfloating bool_ datetime64 timedelta64").split())

#: Calls that are acceptable at import time only, where every argument is the library's own (nothing comes
#: from the file): importing installed modules by name is what an import statement does, and attribute
#: lookups with computed names read the library's own objects.
IMPORT_TIME_CALLS: frozenset[str] = frozenset(
    "importlib.import_module builtins.__import__ builtins.getattr builtins.hasattr operator.attrgetter "
    "operator.itemgetter dataclasses.make_dataclass "
    # numpy 2.4 lib/_function_base_impl.py vectorize.__init__: stores the function (calls nothing), copies its
    # __name__/__doc__, validates otypes/signature strings
    "numpy.vectorize numpy.lib._function_base_impl.vectorize "
    # hyperopt 0.3.0 pyll/base.py: registration of a library function in hyperopt's own symbol table (see
    # INERT_DECORATORS); at import the functions are hyperopt's and operator's own
    "hyperopt.pyll.base.scope.define hyperopt.pyll.base.scope.define_pure".split()
)

#: Calls that copy their arguments: ``copy.deepcopy(x)`` runs ``x``'s ``__deepcopy__``/``__reduce_ex__`` and
#: whatever callable that returns. Fine on plain data (recorded as touches), never on the object itself.
COPYING_CALLS: frozenset[str] = frozenset("copy.copy copy.deepcopy dataclasses.asdict dataclasses.astuple".split())

#: Reviewed callees that call some of their arguments (positions or keyword names), now or later.
INVOKING_CALLS: dict[str, tuple[int | str, ...]] = {
    "builtins.sorted": ("key",), "builtins.min": ("key",), "builtins.max": ("key",),
    "<data>.sort": ("key",), "functools.reduce": (0,), "functools.partial": (0,), "functools.cmp_to_key": (0,),
    "functools.wraps": (), "itertools.starmap": (0,), "itertools.accumulate": (1, "func"),
    "itertools.groupby": (1, "key"), "collections.defaultdict": (0, "default_factory"),
    "functools.singledispatch": (0,), "functools.lru_cache": (0,), "functools.cache": (0,),
}

#: Methods of a logger returned by ``logging.getLogger`` (or a library's ``get_logger``): logging.
LOGGER_METHODS: frozenset[str] = frozenset(
    "debug info warning warn error exception critical log setLevel addHandler isEnabledFor "
    "warning_once info_once warning_advice".split()
)
#: Logger factories: a module-level name bound to a call of one of these is a logger.
LOGGER_FACTORIES: frozenset[str] = frozenset(
    {"logging.getLogger", "transformers.utils.logging.get_logger", "structlog.get_logger",
     "optuna.logging.get_logger", "hyperopt.utils._get_logger"}
)

#: Decorators that leave a function's behaviour as written (a method's body is analysed as is).
INERT_DECORATORS: frozenset[str] = frozenset(
    (
        "builtins.staticmethod builtins.classmethod builtins.property abc.abstractmethod abc.abstractproperty "
        "typing.final typing.overload typing.override typing_extensions.final typing_extensions.override "
        "typing_extensions.overload typing.no_type_check functools.wraps functools.total_ordering "
        "typing.runtime_checkable typing_extensions.runtime_checkable typing_extensions.deprecated "
        "warnings.deprecated enum.unique "
        # contextlib.contextmanager(f) wraps f in a helper returning a context manager; f's body runs only when
        # that context manager is entered (a call of f analyses f's body as if it ran: conservative)
        "contextlib.contextmanager "
        # docstring templating: Substitution(**params)(obj) sets obj.__doc__ = obj.__doc__.format(**params) (the
        # library's own constant strings) and returns obj; __init__ stores params (feature-engine 1.9.4
        # _docstrings/substitute.py, imbalanced-learn 0.14.2 utils/_docstring.py, read)
        "feature_engine._docstrings.substitute.Substitution imblearn.utils._docstring.Substitution "
        # scikit-survival 0.28 docstrings.py: append_*_example(estimator_mod=..., estimator_class=...)(f) appends
        # a module-level template formatted with those two strings to f.__doc__ and returns f
        "sksurv.docstrings.append_cumulative_hazard_example sksurv.docstrings.append_survival_function_example "
        # numpy 2.4 _utils/__init__.py set_module(m)(obj): sets obj.__module__ = m (and, for a class,
        # obj._module_source = its old __module__), returns obj
        "numpy._utils.set_module "
        # hyperopt 0.3.0 pyll/base.py: registration in hyperopt's own symbol table (SymbolTable._define: setattr
        # of a SymbolTableEntry on the table, _impls[name] = f) that return f unchanged
        "hyperopt.pyll.base.scope.define hyperopt.pyll.base.scope.define_pure hyperopt.pyll.base.scope.define_info "
        # nltk 3.10.4 jsontags.py: json_tags["!" + getattr(cls, "json_tag")] = cls; return cls (registers the class
        # in nltk's own JSON tag table and returns it unchanged)
        "nltk.jsontags.register_tag "
        # statsmodels 0.15.0 tools/docstring_helpers.py Appender(addendum)(f): f.__doc__ = dedent(doc + addendum);
        # return f. compat/pandas.py deprecate_kwarg(old, new) (statsmodels passes no mapping outside its tests):
        # pandas' wrapper pops the old keyword, warns, and calls f with it under the new name
        "statsmodels.tools.docstring_helpers.Appender statsmodels.compat.pandas.deprecate_kwarg"
    ).split()
)

#: Decorators whose application at import (class creation) runs nothing of the decorated function and nothing
#: else outside the library, but which change what calling the function does: reviewed for import effects only.
#: A load that calls a function decorated with one of these is still refused (the function analysis does not
#: consult this table).
IMPORT_ONLY_DECORATORS: frozenset[str] = frozenset(
    (
        # scikit-learn 1.9 utils/_available_if.py: available_if(check)(fn) is _AvailableIfDescriptor(fn, check,
        # attribute_name=fn.__name__), a non-data descriptor (only __get__: runs check(obj) when the attribute is
        # read); dict-state BUILD writes the instance __dict__ and never reads it
        "sklearn.utils._available_if.available_if sklearn.utils.metaestimators.available_if "
        # scikit-survival 0.28 util.py: property_available_if(check)(fn) is _PropertyAvailableIfDescriptor(check,
        # fget=fn): the same non-data descriptor as a read-only property (__set_name__ stores the name)
        "sksurv.util.property_available_if "
        # optuna 5.0.0 _convert_positional_args.py: convert_positional_args(previous_positional_arg_names=...,
        # deprecated_version=..., removed_version=...) checks the version strings (_validate_version: split on '.',
        # _validate_two_version: packaging.version.parse comparisons) and returns a decorator that asserts the names
        # are parameters of func (inspect.signature) and returns a functools.wraps wrapper; the wrapper (run only
        # when the function is called) maps positional arguments to keywords by that list, warns, then calls func
        "optuna._convert_positional_args.convert_positional_args "
        # optuna 5.0.0 _experimental.py: experimental_class(version, name=None) checks the version string and
        # returns a decorator that replaces cls.__init__ (getattr/setattr on the class being defined) with a
        # functools.wraps wrapper warning ExperimentalWarning then calling the original __init__, and appends a
        # note to cls.__doc__ (str.format, textwrap.indent); returns cls. The class no longer matches its source
        # (__init__ replaced), so instance uses of a decorated class stay refused
        "optuna._experimental.experimental_class "
        # scikit-learn 1.9 utils/_param_validation.py validate_params(constraints, prefer_skip_nested_validation)
        # (func): a functools.wraps wrapper validating the arguments of each call against the constraints (built
        # from the library's own constraint objects); sklearn-compat 0.1.6 re-exports it for scikit-learn >= 1.4
        "sklearn.utils._param_validation.validate_params sklearn_compat._sklearn_compat.validate_params "
        # scikit-learn 1.9 base.py _fit_context(prefer_skip_nested_validation=...)(fit): a functools.wraps wrapper
        # that, when fit is called, validates the estimator's parameters and runs fit inside config_context and
        # the callback context; sklearn-compat 0.1.6 re-exports it for scikit-learn >= 1.4 (a copy of the same
        # function for older versions)
        "sklearn.base._fit_context sklearn_compat._sklearn_compat._fit_context "
        # hyperopt 0.3.0 pyll_utils.py: functools.wraps wrappers that check the label is a str/bytes (or a Literal
        # of one) and, for the range one, compare low < high, then call f with the same arguments
        "hyperopt.pyll_utils.validate_label hyperopt.pyll_utils.validate_distribution_range"
    ).split()
)

#: Decorators whose application at import only builds a wrapper around the function (nothing of it runs then).
#: Calling the decorated function later is *not* covered: its body is analysed, or refused, where it is called.
IMPORT_TIME_DECORATORS: frozenset[str] = frozenset(
    # CPython 3.11-3.13 Lib/contextlib.py: contextmanager(func) returns a functools.wraps(func) helper that builds
    # a _GeneratorContextManager when called; the generator function runs on __enter__.
    [*"contextlib.contextmanager contextlib.asynccontextmanager".split(),
     # numba 0.68.1 core/decorators.py, bare `@njit` only (the `@njit(...)` form is a call and stays analysed:
     # `cache=True` creates and test-writes the cache directory at decoration, signatures compile at import):
     # njit(f) sets nopython=True and returns jit(f): cache False and no signatures, so _jit's wrapper checks that f
     # is a plain function (TypeError otherwise), returns f itself under NUMBA_DISABLE_JIT, else builds a
     # Dispatcher(py_func=f) (stores f, its signature and the typing context; compiles nothing until called)
     "numba.core.decorators.njit"]
)

#: Decorator factories whose ``@f(option=<constant>, ...)`` form, with no positional argument and only the listed
#: keywords, builds the same wrapper as the bare decorator in ``IMPORT_TIME_DECORATORS`` (nothing of the function
#: runs when it is applied). Per keyword: True when only a false constant is allowed (``cache=False``). A keyword not
#: listed, a ``**`` splat, a positional argument (a signature: compiled at import) or a value that is not a plain
#: constant (a name, a call, a set display) sends the call back to the analysis.
IMPORT_TIME_DECORATOR_FACTORIES: dict[str, dict[str, bool]] = {
    # numba 0.68.1 core/decorators.py (read for tslearn 0.10.0, whose barycenters, metrics and clustering modules
    # apply @njit(), @njit(nogil=True), @njit(fastmath=True), @njit(parallel=True, fastmath=True) at import):
    # njit(**kws) warns when nopython/forceobj are given (forceobj is deleted), sets nopython=True and returns
    # jit(**kws); jit with signature_or_function=None: locals defaults to an empty mapping (dict copy),
    # argtypes/restype raise DeprecationError (not allowed here), options['boundscheck'] = boundscheck, _target
    # popped (not allowed here: another target's dispatcher), pipeline_class None (not allowed here), sigs None;
    # it returns _jit(None, ..., cache=False, targetoptions=options), whose wrapper(func) is the bare form's: checks
    # func is a plain, not yet jitted function (TypeError otherwise), returns func under NUMBA_DISABLE_JIT, else
    # builds Dispatcher(py_func=func, locals={}, targetoptions=options), which stores the options for compile
    # time (Dispatcher.__init__: pysignature, functools.update_wrapper, _FunctionCompiler stores them, the typing
    # context registers the dispatcher type); cache=True would call disp.enable_caching() (creates and
    # test-writes the cache directory), so only a false constant is admitted; sigs is None, so nothing compiles
    "numba.core.decorators.njit": {
        "nogil": False, "fastmath": False, "parallel": False, "boundscheck": False, "error_model": False,
        "inline": False, "nopython": False, "cache": True},
}


#: Calls admitted at import with the arguments their review read: the positional parameters in order, and per
#: parameter the constant it may be given (``"none"``: only None; ``"int"``: an int constant). A parameter not listed,
#: a ``*``/``**`` splat or any other value sends the call back to the catalogue (which may deny it).
_JOBLIB_MEMORY_NONE = (("location", "backend", "mmap_mode", "compress", "verbose"),
                       {"location": "none", "verbose": "int"})
IMPORT_TIME_CONSTANT_CALLS: dict[str, tuple[tuple[str, ...], dict[str, str]]] = {
    # joblib 1.6.0 memory.py (hdbscan 0.8.44's default argument `memory=Memory(None, verbose=0)`, in hdbscan_.py at
    # module level and in HDBSCAN.__init__'s signature): Logger.__init__ sets depth and _name; Memory.__init__ stores
    # verbose, mmap_mode, time.time(), backend ('local'), compress (False), backend_options ({}) and location, then
    # _store_backend_factory('local', None, ...) returns None: no store backend, no directory, no warning. A str or
    # Path location would create the cache directory: only None is admitted.
    "joblib.memory.Memory": _JOBLIB_MEMORY_NONE,
    "joblib.Memory": _JOBLIB_MEMORY_NONE,
}


@dataclass(frozen=True)
class CallThrough:
    """A reviewed decorator whose result, called, runs the decorated function with the same arguments.

    ``binds``: the wrapper is a function (it binds ``self`` as a method); a wrapper object without ``__get__``
    is called with the caller's arguments as they are, so it is taken as the function only on ``__new__`` (called
    with the class first) or a module-level function, as the only decorator. ``classes``: applied to a class,
    the class keeps its source's behaviour. ``factory``: only the ``@name(...)`` form is reviewed (``@name``
    alone would pass the function as the factory's first option); else both forms are. ``plugins``: an
    entry-point group; when an installed distribution declares an entry point in it, the wrapper may run that
    plugin's code instead, and the decorator is not call-through;
    ``ignored``: entry-point names the library itself drops.
    """

    binds: bool
    classes: bool
    factory: bool
    plugins: str | None
    review: str
    ignored: frozenset[str] = frozenset()


#: Decorators a reviewer read whose wrapper only calls the decorated function with the arguments it was given
#: (after a warning): the decorated body is analysed as if undecorated, and applying them at import only builds
#: the wrapper. Keyed by the dotted name of the definition.
CALL_THROUGH_DECORATORS: dict[str, CallThrough] = {
    "sklearn.utils.deprecation.deprecated": CallThrough(
        binds=True, classes=True, factory=True, plugins=None, review=(
            "scikit-learn 1.9 utils/deprecation.py: deprecated(extra) stores extra; applied to a function it returns "
            "a functools.wraps wrapper running warnings.warn(msg, FutureWarning) then fun(*args, **kwargs); applied "
            "to a class it replaces cls.__new__ with a function that warns, then returns object.__new__(cls) when "
            "the original __new__ was object's, else new(cls, *args, **kwargs); to a property, a property whose "
            "getter warns then calls the original getter. Nothing of the arguments runs but the original.")),
    "optuna._deprecated.deprecated_func": CallThrough(
        binds=True, classes=False, factory=True, plugins=None, review=(
            "optuna 5.0 _deprecated.py: deprecated_func(versions, name, text) validates the version strings "
            "(packaging.version.parse) and returns a decorator that appends a note to func.__doc__ and returns a "
            "functools.wraps wrapper running warnings.warn(message, FutureWarning) then func(*args, **kwargs)")),
    "optuna._experimental.experimental_func": CallThrough(
        binds=True, classes=False, factory=True, plugins=None, review=(
            "optuna 5.0.0 _experimental.py: experimental_func(version, name=None) checks the version string "
            "(_validate_version: isinstance str, split on '.') and returns a decorator that appends a note to "
            "func.__doc__ (str.format, textwrap.indent) and returns a functools.wraps wrapper running "
            "warnings.warn(message, ExperimentalWarning) then func(*args, **kwargs)")),
    "optuna._deprecated.deprecated_class": CallThrough(
        binds=True, classes=True, factory=True, plugins=None, review=(
            "optuna 5.0 _deprecated.py: deprecated_class(versions, name, text) validates the versions and returns a "
            "decorator that replaces cls.__init__ with a functools.wraps wrapper running warnings.warn(message, "
            "FutureWarning) then the original __init__(self, *args, **kwargs), edits cls.__doc__, returns cls")),
    "networkx.utils.backends._dispatchable": CallThrough(
        binds=False, classes=False, factory=False, plugins="networkx.backends", review=(
            "networkx 3.6 utils/backends.py: _dispatchable(func, **options) returns a _dispatchable object (no "
            "__get__) holding orig_func; with no distribution declaring a 'networkx.backends' entry point, "
            "__call__ is _call_if_no_backends_installed: raise ImportError for backend= other than networkx, "
            "raise NotImplementedError if networkx does not implement it, else return orig_func(*args, **kwargs). "
            "With a backend installed it dispatches to the backend's code: not call-through then. Under "
            "_NETWORKX_BUILDING_DOCS_ the module rebinds _dispatchable to a function that builds the object for "
            "its docstring and returns func itself (with that __doc__): call-through as well. _get_backends drops "
            "the 'nx_loopback' entry point networkx declares for its own tests."),
        ignored=frozenset({"nx_loopback"})),
}

#: ``__init_subclass__`` hooks a reviewer read, keyed by the dotted name of the class defining them:
#: (attributes the hook may set on the new class, attributes of the new class it reads or calls that a subclass
#: could override, the review). A reviewed hook is not re-analysed at class creation, and the class it alters
#: still matches its source for every use a load makes, because none of the names it sets is a dunder, a
#: protocol method or a data method (checked where the table is used). If the new class or a base outside the
#: hook's package defines one of the "reads" names, the hook runs that code: the normal analysis applies.
#: A set name written ``=name`` is replaced by a wrapper that only forwards to the class's own ``name`` (same
#: arguments, same result): the analysis of that method stays true, so it may be a data method.
FORWARDS = frozenset({"=decode"})
REVIEWED_SUBCLASS_HOOKS: dict[str, tuple[frozenset[str], frozenset[str], str]] = {
    "sklearn.utils._metadata_requests._MetadataRequester": (
        frozenset(f"set_{m}_request" for m in (
            "fit partial_fit predict predict_proba predict_log_proba decision_function score split transform "
            "inverse_transform fit_resample").split()),
        frozenset({"_get_class_level_metadata_request_values"}),
        "scikit-learn 1.9 utils/_metadata_requests.py: for each SIMPLE_METHODS name, reads the method's signature "
        "(inspect.signature) and the __metadata_request__* class attributes of the MRO (vars), and stores a "
        "RequestMethod descriptor as set_<method>_request; errors are swallowed. No I/O, nothing from a file."),
    "sklearn.utils._set_output._SetOutputMixin": (
        frozenset({"transform", "fit_transform", "_sklearn_auto_wrap_output_keys"}),
        frozenset(),
        "scikit-learn 1.9 utils/_set_output.py: records which of transform/fit_transform the class defines and "
        "replaces each with a functools.wraps wrapper (_wrap_method_output) that converts its output container "
        "when called; the wrapper is only defined here. No I/O."),
    "hmmlearn._emissions.BaseCategoricalHMM": (
        frozenset("fit predict predict_proba sample score score_samples".split()) | FORWARDS,
        frozenset("decode fit predict predict_proba sample score score_samples".split()),
        "hmmlearn 0.3.3 _emissions.py: for each listed method, getattr(cls, name) and inspect.getdoc, then "
        "replaces it with functools.wraps(meth)(lambda *a, **kw: meth(*a, **kw)), a forwarder whose docstring is "
        "edited. No I/O."),
}

#: Top-level statements of installed modules a reviewer read, keyed by module (dotted) and by the statement's
#: exact text (``ast.unparse``): the statement is not analysed again at import; every other statement of the
#: module, and every module it imports, still is. The review states what the statement does with nothing from a
#: file (import-time code only sees the library's own values) and the version read. A statement edited by a new
#: release no longer matches and is analysed (and refused) again.
_HYPEROPT_SCOPE = ("hyperopt 0.3.0 pyll: binds a function of this module as an attribute of hyperopt's "
                   "own SymbolTable instance (pyll.base.scope; SymbolTable defines no __setattr__ or descriptors)")
_IMBLEARN_METHODS = ("imbalanced-learn 0.14.2 base.py: appends method names (str constants) to scikit-learn's "
                     "metadata-routing list sklearn.utils._metadata_requests.METHODS (a list of str that "
                     "metadata routing reads when fit/predict... are called, never during a load)")
_IMBLEARN_CONSTRAINTS = (
    "imbalanced-learn 0.14.2 ensemble/*.py class bodies: build the class's _parameter_constraints dict: a deepcopy "
    "of the scikit-learn estimator's constraint dict (chosen by a version comparison), then pop/del/update with "
    "scikit-learn constraint objects (Interval, StrOptions, Hidden, HasMethods) and str/type constants")
_COLORLOG_LOOP = ("colorlog 6.12.0 escape_codes.py: for name, code in <its literal str -> int dict>.items(): "
                  "escape_codes['<prefix>%s' % name] = esc(code) (and esc(1, code), esc(2, code)): str keys and "
                  "values into its own dict")
REVIEWED_IMPORT_STATEMENTS: dict[str, dict[str, str]] = {
    # colorlog 6.12.0 escape_codes.py (imported by optuna.logging through colorlog.formatter): builds its table of
    # ANSI escape strings; the loops bind module globals (name, code) the analysis cannot type
    "colorlog.escape_codes": {
        "sha256:9896b60b66f33fcfc8649692b4526de1e5373ba4735174ccef2b85856956de48":
            "colorlog 6.12.0: def esc(*codes): '\\x1b[' + ';'.join(str(code) for code in codes) + 'm' (str of ints)",
        "sha256:bcd862193e66c48027133f2d6ba570a1146e13c7734b84f3cb6c7cf96dbd102b":
            "colorlog 6.12.0: escape_codes = {'reset': esc(0), 'bold': esc(1), 'thin': esc(2)}",
        "sha256:75497a4b55a92e60027c2239345a3b24b796166ca85352547c9dac68934cff76":
            "colorlog 6.12.0: escape_codes_foreground, a literal dict of str -> int",
        "sha256:21fbce8a73600f142d8e8621fe2b2ca2b333a7f21606a6a06726a96ea925bd39":
            "colorlog 6.12.0: escape_codes_background, a literal dict of str -> int",
        "sha256:ef8be634cb56cf0691d5d8f68e8a186a159bb7e4e448147b29b050e857134b7a": _COLORLOG_LOOP,
        "sha256:cd7a497c0b1951a387a193c649701b2d37df5f0893bfde1e8c95e63a751d41b5": _COLORLOG_LOOP,
        "sha256:b93f439c6216968540ad2b26da1ec7e24cdd7ca14530e6bf174db9242f2425e6": _COLORLOG_LOOP,
        "sha256:475ce5e1a0713a5e7a5f59487f94ff7c74f5ee706ae0c4acf63df89698dbb589":
            "colorlog 6.12.0: for code in range(256): escape_codes['fg_%d' % code] = esc(38, 5, code) (and bg_)",
    },
    "optuna._warnings": {
        "_OPTUNA_MODULE_ROOT: str = str(Path(__file__).resolve().parent) + os.sep":
            "optuna 5.0.0 _warnings.py: the absolute directory of optuna's own package (pathlib resolve() reads "
            "symlinks of this module's own path, writes nothing), kept to skip optuna's frames in warnings",
    },
    "optuna.integration": {
        # _import_structure = {'botorch': ['BoTorchSampler'], ...} (19 str keys, lists of str)
        "sha256:58b6e5ab2080df40ae316df0f330b86663552dbdae8ae628ef8f3374bd1c82b5":
            "optuna 5.0.0 integration/__init__.py: a literal dict of str -> list of str (submodule -> class names)",
        # __all__ = ['BoTorchSampler', ...] (22 str)
        "sha256:41f7af1d51ee13d6a9991a61798f9904185ff7bbdf263da0595bf1a56ea14e2e":
            "optuna 5.0.0 integration/__init__.py: a literal list of str",
        # if TYPE_CHECKING: <imports> else: class _IntegrationModule(ModuleType): ...; sys.modules[__name__] = ...
        "sha256:8542db40b889b228f30656ed4f078af71d4d97c21c1e1f3d8eda3d17a53aa9d0":
            "optuna 5.0.0 integration/__init__.py: TYPE_CHECKING is typing's False, so only the else branch runs: "
            "defines a types.ModuleType subclass (no metaclass; ModuleType has no __init_subclass__) whose class "
            "body copies __all__, reads this module's own __file__ from globals(), sets __path__ to "
            "[os.path.dirname(__file__)] (this package's own directory: the search location the import system "
            "already uses, so submodules resolve to the same files) and builds two dicts from _import_structure; "
            "its __getattr__/_get_module import optuna.integration.<sub> only when an attribute is read. Then "
            "sys.modules[__name__] = _IntegrationModule(__name__) (ModuleType.__init__ fills the new module's dict). "
            "Names looked up in optuna.integration stay unresolvable (a module replaced in sys.modules: source_model)",
    },
    "feature_engine": {
        "PACKAGE_ROOT = pathlib.Path(feature_engine.__file__).resolve().parent":
            "feature-engine 1.9.4 __init__.py: the package's own directory (resolves symlinks of its own path)",
        "VERSION_PATH = PACKAGE_ROOT / 'VERSION'": "feature-engine 1.9.4: joins a constant file name to it",
        "with open(VERSION_PATH, 'r') as version_file:\n    __version__ = version_file.read().strip()":
            "feature-engine 1.9.4: reads its own VERSION file (package data) into __version__; no write",
    },
    "sksurv.ensemble.forest": {
        "BaseForest.__sklearn_tags__ = _sklearn_tags_patch":
            "scikit-survival 0.28.0 ensemble/forest.py: replaces scikit-learn 1.9 BaseForest.__sklearn_tags__ with "
            "this module's _sklearn_tags_patch (pinned below), a plain def equal to scikit-learn's own "
            "(super(BaseForest, self).__sklearn_tags__(), then get_tags of `type(self.estimator)(criterion="
            "self.criterion)`) except that a survival forest builds `type(self.estimator)()`; the same class from "
            "the same state is called either way. Tags are computed by fit/predict/validate_data, never by a load: "
            "pickle looks up __reduce_ex__/__setstate__/__new__, and BaseEstimator.__setstate__ reads no tags",
        "_parameter_constraints.pop('splitter')":
            "scikit-survival 0.28.0 ensemble/forest.py, class bodies of RandomSurvivalForest and ExtraSurvivalTrees: "
            "removes the 'splitter' key (a str constant) from the class's own _parameter_constraints, the dict "
            "display the statement before it builds (pinned below) from scikit-learn's and SurvivalTree's "
            "constraint dicts",
    },
    "sksurv.linear_model.aft": {
        "IPCRidge.score.__doc__ = SurvivalAnalysisMixin.score.__doc__":
            "scikit-survival 0.28 linear_model/aft.py: copies a docstring onto the score method of this module's "
            "own class (a plain def)",
    },
    "sksurv": {
        "patch_pipeline()":
            "scikit-survival 0.28 __init__.py: adds predict_survival_function, predict_cumulative_hazard_function "
            "(plain functions) and _predict_risk_score (a read-only non-data descriptor) to sklearn.pipeline."
            "Pipeline: new, non-dunder, non-data method names that no load reads (a dict-state BUILD of a Pipeline "
            "bypasses descriptors; its __setstate__ is BaseEstimator's)",
    },
    "hyperopt.base": {
        "pyll_ctrl = pyll.as_apply(Ctrl)":
            "hyperopt 0.3.0 base.py, class Domain's body: as_apply(Ctrl) of a class is Literal(Ctrl): len(Ctrl) "
            "raises TypeError (o_len None), Apply.__init__ stores the name 'literal', empty argument lists and "
            "pure=True, then _obj = Ctrl. A graph node holding the class; nothing is evaluated or registered",
    },
    "hyperopt.pyll.base": {
        "np_versions = list(map(int, np.__version__.split('.')[:2]))":
            "hyperopt 0.3.0 pyll/base.py: numpy's version string split into two ints",
        "scope.kwswitch = _kwswitch": _HYPEROPT_SCOPE,
        **{f"p{i} = Literal(UndefinedValue)": "hyperopt 0.3.0 pyll/base.py: placeholder graph nodes: Literal of the "
           "plain class UndefinedValue (len() raises TypeError; Apply.__init__ stores fields)" for i in range(5)},
    },
    "hyperopt.pyll.stochastic": {
        "scope.choice = choice": _HYPEROPT_SCOPE,
        "scope.one_of = one_of": _HYPEROPT_SCOPE,
    },
    "imblearn.base": {
        "if 'fit_predict' not in METHODS:\n    METHODS.append('fit_predict')": _IMBLEARN_METHODS,
        "if 'fit_transform' not in METHODS:\n    METHODS.append('fit_transform')": _IMBLEARN_METHODS,
        "METHODS.append('fit_resample')": _IMBLEARN_METHODS,
        "SIMPLE_METHODS.append('fit_resample')":
            "imbalanced-learn 0.14.2 base.py: adds 'fit_resample' to scikit-learn's SIMPLE_METHODS, so the reviewed "
            "_MetadataRequester hook also sets set_fit_resample_request (a RequestMethod descriptor, same review: a "
            "set_*_request name, no dunder, protocol or data method) on classes defining fit_resample",
    },
    "imblearn.ensemble._forest": {
        "sha256:a24e1a237e4b07871da489d01b69e0dd6d3e085c56f3a134c1def7ce48771d3b": _IMBLEARN_CONSTRAINTS,
        "sha256:31a02fcf205d3d2f5c069a5413b4b7b5a0e83e97c26aab11fca1341ef6f857d2": _IMBLEARN_CONSTRAINTS,
    },
    "imblearn.ensemble._easy_ensemble": {
        "sha256:5b9c493c19318a17c7d5a0a2923c0c855369645223eddc9a510348875126065f": _IMBLEARN_CONSTRAINTS,
        "sha256:7d0133cf9d61122dd0cbd2f84ed92e1764ca3a0652d5f97a4c1587dc9b523583": _IMBLEARN_CONSTRAINTS,
        "sha256:be1d42740e844146e8fe11b88613956fc2b6d726354f9598131d47f7375a3c8d": _IMBLEARN_CONSTRAINTS,
        "excluded_params = {'bootstrap', 'bootstrap_features', 'max_features', 'oob_score', 'max_samples'}":
            "imbalanced-learn 0.14.2 ensemble/_easy_ensemble.py class body: a set of str constants (the parameter "
            "names the next reviewed loop pops from the constraint dict)",
        "sha256:4d29127566ffa16fb0ad1a010286858ae98d13ba15a8f3639995353a80bc9571": _IMBLEARN_CONSTRAINTS,
    },
    "imblearn.ensemble._weight_boosting": {
        "sha256:19f3289409b37f6515a48df717a58aeb19c7eb877a5d84d0f2f52a1a891c7f18": _IMBLEARN_CONSTRAINTS,
        "sha256:b24bd7a31df0a8fa2c2817b4595c4cee9befa9299dfa462c83afb839bbdd5eb9": _IMBLEARN_CONSTRAINTS,
        "sha256:4d29127566ffa16fb0ad1a010286858ae98d13ba15a8f3639995353a80bc9571": _IMBLEARN_CONSTRAINTS,
    },
    "imblearn.ensemble._bagging": {
        "sha256:64aabd719eeeee74c1e3705dfd46fa6dffddd2ba6b0f26f510474b8b59fef41d": _IMBLEARN_CONSTRAINTS,
        "_parameter_constraints = copy.deepcopy(BaggingClassifier._parameter_constraints)": _IMBLEARN_CONSTRAINTS,
    },
    "imblearn._version": {
        "with open(Path(__file__).parent / 'VERSION.txt') as _fh:\n    __version__ = _fh.read().strip()":
            "imbalanced-learn 0.14.2 _version.py: reads its own VERSION.txt (package data) into __version__",
    },
    "imblearn": {
        "sys.stderr.write('Partial import of imblearn during the build process.\\n')":
            "imbalanced-learn 0.14.2 __init__.py: runs only when the build injects __IMBLEARN_SETUP__ into "
            "builtins (an installed package binds it False in the try/except above); writes a constant line to "
            "stderr, like a warning",
        # class LazyLoader(types.ModuleType): ... (the whole class, 36 lines)
        "sha256:235e162b1fa0b8eca8a8fd4f456e31197e7ec1ad00093df1b80a7b7b5f93b943":
            "imbalanced-learn 0.14.2 __init__.py: defines a types.ModuleType subclass (ModuleType has no "
            "__init_subclass__; no metaclass); __init__ stores three attributes and calls ModuleType.__init__(name); "
            "its __getattr__/__dir__ import imblearn.keras only when an attribute of the placeholder is read, which "
            "a load does not do (a pickle naming imblearn.keras.X is analysed as that module)",
        "keras = LazyLoader('keras', globals(), 'imblearn.keras')":
            "imbalanced-learn 0.14.2: the placeholder for imblearn.keras (stores the module's own globals dict; "
            "imports nothing)",
    },
}

#: The imports (one name each, as ``ast.unparse`` writes them; ``import a.b`` counts as ``import a``, the binding it
#: makes) whose bindings the reviewed statements of a module read: the premise
#: of those reviews (the name is that module's object; the module it names is analysed on its own). A reviewed
#: statement reading a name that any other import binds (``from pkg._other import LazyLoader``) is analysed again
#: (red team R4-3: the callee would be code no reviewer read).
REVIEWED_STATEMENT_IMPORTS: dict[str, frozenset[str]] = {
    "feature_engine": frozenset({"import feature_engine", "import pathlib"}),
    "sksurv.linear_model.aft": frozenset({"from ..base import SurvivalAnalysisMixin",
                                          # read by IPCRidge.fit/score (the class the statement reads; R5-1)
                                          "from sklearn.linear_model import Ridge",
                                          "from .._dataframe import ensure_eager_dataframe"}),
    "hyperopt.base": frozenset({"from . import pyll",
                                # read by Ctrl.__init__ and Trials (pinned below; R5-1)
                                "import logging", "import sys", "import numpy as np",
                                "from .exceptions import AllTrialsFailed"}),
    "hyperopt.pyll.base": frozenset({"import numpy as np", "from io import StringIO"}),
    "hyperopt.pyll.stochastic": frozenset({"from .base import scope"}),
    "imblearn.base": frozenset({"from sklearn.utils._metadata_requests import METHODS",
                                "from sklearn.utils._metadata_requests import SIMPLE_METHODS"}),
    "imblearn.ensemble._forest": frozenset({
        "from copy import deepcopy", "from sklearn.ensemble import RandomForestClassifier",
        "from imblearn.ensemble._common import _random_forest_classifier_parameter_constraints",
        "from sklearn.utils._param_validation import Hidden", "from sklearn.utils._param_validation import Interval",
        "from sklearn.utils._param_validation import StrOptions", "from sklearn.utils.fixes import parse_version",
        "from sklearn_compat._sklearn_compat import sklearn_version", "import numbers"}),
    "imblearn.ensemble._easy_ensemble": frozenset({
        "from imblearn.ensemble._common import _bagging_parameter_constraints",
        "from sklearn.ensemble import BaggingClassifier", "from sklearn.utils._param_validation import Interval",
        "from sklearn.utils._param_validation import StrOptions", "from sklearn.utils.fixes import parse_version",
        "from sklearn_compat._sklearn_compat import sklearn_version", "import copy", "import numbers"}),
    "imblearn.ensemble._weight_boosting": frozenset({
        "from imblearn.ensemble._common import _adaboost_classifier_parameter_constraints",
        "from sklearn.ensemble import AdaBoostClassifier", "from sklearn.utils._param_validation import Hidden",
        "from sklearn.utils._param_validation import Interval",
        "from sklearn.utils._param_validation import StrOptions",
        "from sklearn.utils.fixes import parse_version", "from sklearn_compat._sklearn_compat import sklearn_version",
        "import copy", "import numbers"}),
    "imblearn.ensemble._bagging": frozenset({
        "from sklearn.utils._param_validation import HasMethods",
        "from sklearn.utils._param_validation import Interval",
        "from sklearn.utils._param_validation import StrOptions", "import numbers", "import copy",
        "from sklearn.ensemble import BaggingClassifier"}),
    "imblearn._version": frozenset({"from pathlib import Path"}),
    "imblearn": frozenset({"import importlib", "import sys", "import types"}),
    # the imports read by the reviewed statements of branches fp-longtail-c (optuna) and fp-longtail-d (sksurv's
    # patch_pipeline reads Pipeline), listed ahead of their merge
    "optuna._warnings": frozenset({"from pathlib import Path", "import os"}),
    "optuna.integration": frozenset({
        "from optuna._imports import _INTEGRATION_IMPORT_ERROR_TEMPLATE", "from types import ModuleType",
        "from typing import Any", "from typing import TYPE_CHECKING", "import os", "import sys"}),
    "sksurv": frozenset({"from sklearn.pipeline import Pipeline", "from sklearn.pipeline import _final_estimator_has",
                         "from sklearn.utils.metaestimators import available_if",
                         "from .util import property_available_if"}),
    "sksurv.ensemble.forest": frozenset({"from sklearn.ensemble._forest import BaseForest",
                                         "from sklearn.utils._tags import get_tags",
                                         "from ..tree import SurvivalTree", "from abc import ABCMeta",
                                         "from abc import abstractmethod"}),
}

#: The definitions a module's reviewed statements rest on, by exact text or SHA-256 (``source_imports``): a
#: reviewed statement is skipped only while every statement of its module that binds a name it reads (the class
#: it calls, the function it runs, the object whose attribute it sets) is reviewed or pinned here word for word.
#: Unlike a reviewed statement, a pinned one is still analysed: the pin only says the review saw this text.
REVIEW_PINS: dict[str, dict[str, str]] = {
    "sksurv": {
        "sha256:770cb1b83425fa25e50e1b2eb2a9b2a100def9a7b1d08d2df0376ef140dcf55a":
            "scikit-survival 0.28 __init__.py: def patch_pipeline(), the body the reviewed patch_pipeline() call runs",
        # red team R5-1: what the pinned def's body reads is pinned too (it runs when the reviewed call does)
        "sha256:2a32ebad993861016da79486d61146e2a4928362aff1e47b0dfacfb2467e031e":
            "scikit-survival 0.28 __init__.py: @available_if(...) def predict_cumulative_hazard_function, set on "
            "Pipeline by patch_pipeline()",
        "sha256:404f91d85d7f6f402a817af2f2055d9f31e9bdb82e623b5e97ab4d314c3ffc53":
            "scikit-survival 0.28 __init__.py: @available_if(...) def predict_survival_function, set on Pipeline by "
            "patch_pipeline()",
        "sha256:338a0a61b71fe8f357d111e50596544f66c2ab339058bb43e9945f085c87ffb1":
            "scikit-survival 0.28 __init__.py: @property_available_if(...) def _predict_risk_score, set on Pipeline "
            "by patch_pipeline()",
    },
    "sksurv.ensemble.forest": {
        "sha256:8b0820d88ed0caaf50a518ff24664b29bf06ad0cb4399bee6bd4dc3c49b07ec1":
            "scikit-survival 0.28.0 ensemble/forest.py: def _sklearn_tags_patch(self), the function the reviewed "
            "assignment installs on BaseForest",
        "_parameter_constraints = {**BaseForest._parameter_constraints, **SurvivalTree._parameter_constraints}":
            "scikit-survival 0.28.0 ensemble/forest.py class bodies: a new dict (a display of two constraint dicts), "
            "the object the reviewed pop('splitter') mutates",
        # red team R5-1 (merged with this review in round 6): what the pinned _sklearn_tags_patch reads is pinned
        "sha256:f2fdfe96b6b7b91eedb620f2f9e8085cf7fc4f8636ddfdd33b5a11bd21f59056":
            "scikit-survival 0.28.0 ensemble/forest.py: class _BaseSurvivalForest(BaseForest, metaclass=ABCMeta), "
            "the class _sklearn_tags_patch's isinstance check names (tags are computed on fit/validation, never "
            "at import or load); the class itself is still analysed",
    },
    "sksurv.linear_model.aft": {
        "sha256:957f0468b6e9f1568006e9efe9fdf11a008092ad3a10b90acded6842597b9282":
            "scikit-survival 0.28 linear_model/aft.py: class IPCRidge, whose score method's __doc__ is set",
    },
    "hyperopt.base": {
        "sha256:8ed883082a76523b26a1b2a7f8de1bca694d99ba0eebbd77fdde4b6990413eae":
            "hyperopt 0.3.0 base.py: class Ctrl (no metaclass, no __len__), the class as_apply wraps",
        # red team R5-1: the definitions Ctrl's __init__ reads (Trials) and, transitively, Trials' dunders and the
        # methods they call read. None of them runs in as_apply(Ctrl); pinned so the review holds only for the text
        # it was made with (an edited Trials could be built if anything instantiated Ctrl)
        "sha256:ab146704b14bf9ab00357532ec85b8848b4a42f7d94b0d7c4d8f503a18ba4adf":
            "hyperopt 0.3.0 base.py: class Trials (no metaclass, no __new__/__setstate__/__getattr__/__del__). Its "
            "dunders: __init__ sets _ids, _dynamic_trials, _exp_key, attachments and calls refresh() (list "
            "comprehensions over its own lists, JOB_VALID_STATES membership, a set update); __iter__/__len__ "
            "iterate or measure _trials (print to stderr and re-raise on AttributeError); __getitem__ raises. "
            "Read by Ctrl.__init__'s isinstance/attribute checks; never instantiated by as_apply(Ctrl)",
        "logger = logging.getLogger(__name__)": "hyperopt 0.3.0 base.py: the module logger (read by Trials)",
        "STATUS_OK = 'ok'": "hyperopt 0.3.0 base.py: a str constant (read by Trials)",
        "JOB_VALID_STATES = {JOB_STATE_NEW, JOB_STATE_RUNNING, JOB_STATE_DONE}":
            "hyperopt 0.3.0 base.py: a set of int constants (read by Trials)",
        "JOB_STATE_NEW = 0": "hyperopt 0.3.0 base.py: an int constant",
        "JOB_STATE_RUNNING = 1": "hyperopt 0.3.0 base.py: an int constant",
        "JOB_STATE_DONE = 2": "hyperopt 0.3.0 base.py: an int constant",
        "sha256:fdd5b6320d9ca5832279409c06f76e6df780697377e702cc959ead788189b5f6":
            "hyperopt 0.3.0 base.py: def miscs_to_idxs_vals (read by Trials)",
    },
    "hyperopt.pyll.base": {
        "scope = SymbolTable()": "hyperopt 0.3.0 pyll/base.py: the SymbolTable the scope.* registrations set on",
        "sha256:79b13b02e4c72f63fbef36c152238aa0e4fc10df3d841400ab833994b555d707":
            "hyperopt 0.3.0 pyll/base.py: class Literal(Apply), the p0..p4 placeholders' class",
        "class UndefinedValue:\n    pass": "hyperopt 0.3.0 pyll/base.py: the placeholders' plain value class",
        # red team R5-1: Literal.__init__ calls Apply.__init__ (stores fields, isinstance checks); scope.x = f sets
        # on a SymbolTable (defines only __init__ among dunders: no __setattr__, no descriptors); what their dunders
        # and the methods those call read is pinned too
        "sha256:b4b05a4f7b656135ddb263bfe5eca80388bb496986d07d4c195bacfc7717453c":
            "hyperopt 0.3.0 pyll/base.py: class Apply, Literal's base",
        "sha256:ab2a896f109def88b4677bf5482def4f7ac98faa105104e31270377a82f23c80":
            "hyperopt 0.3.0 pyll/base.py: class SymbolTable, the class of scope",
        "sha256:6beeb615070b87b5e8132db57bf5b1db1f8065e66ccd5e8c7df6de4a9c871591":
            "hyperopt 0.3.0 pyll/base.py: class MissingArgument (read by Apply)",
        "sha256:a9812df6ab572b0ccbdb5260bd2d1c2fbae49aa0f2296492a4120927f51726e9":
            "hyperopt 0.3.0 pyll/base.py: class PyllImportError(ImportError) (read by SymbolTable)",
        "sha256:cbe19f0a04532587b558c900f9b6c3aec29c8a3edd717b17817eb634ec2ea3f8":
            "hyperopt 0.3.0 pyll/base.py: class SymbolTableEntry (read by SymbolTable)",
        "sha256:880e5f0a8ecb1af4529b8bf751684ff19b90008e354467950d3c7b79417d87f5":
            "hyperopt 0.3.0 pyll/base.py: def as_apply (read by Apply's operators)",
        "sha256:836003e182bafa42e795d0360ffcf2f2b6bddbbd262e72f242538307be92e0a6":
            "hyperopt 0.3.0 pyll/base.py: def _kwswitch, stored as scope.kwswitch",
    },
    "hyperopt.pyll.stochastic": {
        "def choice(args):\n    return scope.one_of(*args)":
            "hyperopt 0.3.0 pyll/stochastic.py: stored as scope.choice",
        "sha256:b64f08cc776a0df212906e5803e9d80fa6b81c0f0c039e374307da9a221b7692":
            "hyperopt 0.3.0 pyll/stochastic.py: def one_of, stored as scope.one_of",
    },
}

#: Compiled classes, unreadable as source, reviewed to define no ``__init_subclass__`` and to have ``type`` as their
#: metaclass: defining a subclass of one (at import) runs ``type``'s class creation only. Nothing else about them is
#: modelled: instances of such subclasses stay unanalysable (the base is still external for every instance use).
BASES_WITHOUT_SUBCLASS_HOOK: dict[str, str] = {
    "threading.local": "CPython 3.11-3.13 threading.py binds local = _thread._local (the C type; the pure-Python "
                       "_threading_local fallback only on ImportError): its type dict holds __new__, __getattribute__, "
                       "__setattr__, __delattr__ and __doc__ only (tests/test_longtail_reviews_c.py checks), metaclass "
                       "type",
    "_thread._local": "CPython 3.11-3.13 Modules/_threadmodule.c local_type: no __init_subclass__, metaclass type",
}

#: Compiled classes whose type dictionary a reviewer read (round 8, fp-longtail-j): (the names the C type's own
#: ``__dict__`` holds, the hooks among them reviewed, the review). Its real MRO is (itself, object), as the model
#: linearises an unreadable base, so a lookup of a name the type does not define goes on past it (to ``object``,
#: or a base after it); a name it defines is found there (unmodelled unless reviewed). Only ``__new__`` of
#: ``_thread._local`` is reviewed: it runs the ``__init__`` found past it (analysed) for the same arguments.
#: tests/test_longtail_reviews_j.py checks the names against the interpreter.
COMPILED_BASE_DICTS: dict[str, tuple[frozenset[str], frozenset[str], str]] = {
    name: (frozenset({"__delattr__", "__doc__", "__getattribute__", "__module__", "__new__", "__setattr__"}),
           frozenset({"__new__"}),
           "CPython 3.11-3.13 Modules/_threadmodule.c local_new: when the class's __init__ is object's, any "
           "argument raises TypeError; otherwise it stores the arguments (for the __init__ it runs on the first "
           "access from another thread), allocates the object and its per-thread dict (a dummy weakref in the "
           "current thread's dict); no Python code but PyObject_IsTrue on the args tuple/kwargs dict. No "
           "__del__ (tp_dealloc clears the dicts), no __call__, no __init__ (object's)")
    for name in ("threading.local", "_thread._local")
}

#: Context-manager factories a reviewer read whose ``__enter__``/``__exit__`` run nothing but bookkeeping (like
#: ``contextlib.suppress``): ``with f(args):`` evaluates the arguments and analyses the body as written. Keyed by
#: the dotted name of the factory: (SHA-256 of ``ast.unparse`` of the whole defining module, the review); an edited
#: module is not the one read.
REVIEWED_CONTEXT_MANAGERS: dict[str, tuple[str, str]] = {
    "optuna._imports.try_import": (
        "sha256:ae00beed198707236cb01cb1ba397ea7418fa524d837713288bcb793109a97ae",
        "optuna 5.0.0 _imports.py: try_import() returns a new _DeferredImportExceptionContextManager (__init__ sets "
        "_deferred = None); __enter__ returns it; __exit__ suppresses ImportError/SyntaxError, storing the "
        "exception and an f-string message (exc_value.name / .filename: attributes of the interpreter's own "
        "exception) in _deferred, and lets anything else propagate. The body (optional imports) is analysed"),
}

#: Compiled extension modules of third-party packages whose *import* a reviewer read, keyed by module (dotted) and
#: by the SHA-256 of the extension file (``sha256:<hex>``): importing that exact binary, when another module's
#: top level imports it, is inert. The review says what the module's init runs (the shipped ``.pyx`` top level,
#: or the binding code of the upstream release) and what it imports. Nothing else is vouched: a pickle naming the
#: module or one of its functions is analysed (and refused) as before, and another build (other bytes) is
#: unreadable again.
_RUPTURES_CYTHON = ("ruptures 1.1.10 (Cython, its .pyx shipped beside the binary): the module init creates the "
                    "module, runs the .pyx top level, which is `import numpy as np` (numpy is import-reviewed), "
                    "`cimport`s (compile time only) and cpdef/cdef function definitions; the Cython memoryview "
                    "support types are created. No I/O, no other import")
_HDBSCAN_CYTHON = ("hdbscan 0.8.44 (Cython; the .pyx and the generated .c are shipped beside the binary): the module "
                   "init runs the .pyx top level: `import numpy as np` and np.import_array(), `cimport`s (compile "
                   "time only), module constants (np.double, np.intp, np.inf), def/cpdef/cdef functions and cdef "
                   "classes; %s. No I/O, no process, no other import")
REVIEWED_COMPILED_IMPORTS: dict[str, dict[str, str]] = {
    # hdbscan-0.8.44 cp311 manylinux_2_17/2_28_x86_64 wheel
    "hdbscan.dist_metrics": {
        "sha256:83dbe9630dac3f5cdd63b7f7a1d4023eb56ddbad739dd371ebf333789e3aa4fc": _HDBSCAN_CYTHON % (
            "also METRIC_MAPPING, a literal dict of str -> its own metric classes"),
    },
    "hdbscan._hdbscan_linkage": {
        "sha256:a9ba8cfe6cd9160613da22b216d60011281b2b0564e88467c4a49c60f429b13e": _HDBSCAN_CYTHON % (
            "and `cimport hdbscan.dist_metrics` (its reviewed import)"),
    },
    "hdbscan._hdbscan_tree": {
        "sha256:8af6d03839e2de1c38da0ff9cf33f1204ca8017858cf64dab0c1eaede41cbebe": _HDBSCAN_CYTHON % (
            "INFTY = np.inf"),
    },
    "hdbscan._hdbscan_reachability": {
        "sha256:21ba788fcaf7d17628aeed49edd235f14a6fdab8254d08702a7e2c2f4fed92f2": _HDBSCAN_CYTHON % (
            "also imports scipy.spatial.distance (pdist, squareform), scipy.sparse.lil_matrix, "
            "sklearn.neighbors (KDTree, BallTree) and gc: import-reviewed packages and the stdlib"),
    },
    "hdbscan._hdbscan_boruvka": {
        "sha256:d7b5ca471ce756e574168a415c6e23b90f97b9143e87fe93d7b51f7f36b582b7": _HDBSCAN_CYTHON % (
            "also imports sklearn.neighbors (KDTree, BallTree), hdbscan.dist_metrics (reviewed here) and joblib's "
            "Parallel and delayed (import-reviewed: names bound, nothing called)"),
    },
    "hdbscan._prediction_utils": {
        "sha256:2e128a17943a85ff23c9d44558fae9baf624c8f01d131eab861ffe48a03aef0a": _HDBSCAN_CYTHON % (
            "and `cimport hdbscan.dist_metrics`"),
    },
    "hmmlearn._hmmc": {
        # hmmlearn-0.3.3 cp311 manylinux_2_17_x86_64 wheel
        "sha256:d437e0cb2eae068b07a40b68d376b7adbdfb3b3ac6ae9ff5d950fb6739164df5":
            "hmmlearn 0.3.3 src/_hmmc.cpp (pybind11; not shipped, read upstream): PYBIND11_MODULE(_hmmc, m) only "
            "m.def()s forward_scaling, forward_log, backward_scaling, backward_log, compute_scaling_xi_sum, "
            "compute_log_xi_sum and viterbi (numeric lattice code over float arrays; the binary's strings name "
            "exactly these). pybind11's init registers its internals capsule; numpy's C API is loaded on the "
            "first array argument, not at import. No I/O",
    },
    "ruptures.detection._detection.ekcpd": {
        # ruptures-1.1.10 cp311 manylinux_2_17/2_28_x86_64 wheel
        "sha256:f0af17581fb44204f8ddab4894db34f71c73dc1f519ceef415a1537b2132f8d7": _RUPTURES_CYTHON,
    },
    "ruptures.utils._utils.convert_path_matrix": {
        "sha256:4cf8cabc9af3c3bc803f4608bc361c2e27fc44d7bcbe5799a6f4017ea2dbca90": _RUPTURES_CYTHON,
    },
    "sksurv.linear_model._coxnet": {
        # scikit-survival-0.28.0 cp311 manylinux x86_64 wheel (RECORD hash matches)
        "sha256:f417cd7269b2f8fa4577049c6aa173aeac8792b963b0c955d9c4f9fabe955a1f":
            "scikit-survival 0.28.0 sksurv/linear_model/_coxnet.pyx (Cython + C++/Eigen; not shipped, read "
            "upstream): the top level is `cimport numpy` (its init imports numpy and numpy's C API through "
            "numpy._core._multiarray_umath: numpy is import-reviewed), `cdef extern` declarations of the Eigen "
            "wrapper header (compile time only) and one def, call_fit_coxnet (hands typed float64/uint8 arrays to "
            "the C++ coordinate-descent fit). The binary's module strings name only builtins, numpy and this "
            "module; Cython's shared ABI module is fetched. No I/O, no other import",
    },
    "sksurv.ensemble._coxph_loss": {
        "sha256:0e55273827a68d828bd061d272a825101eb9a7b4078615c9022f976e17f854ea":
            "scikit-survival 0.28.0 sksurv/ensemble/_coxph_loss.pyx (Cython; not shipped, read upstream): the top "
            "level is `cimport cython`/`from libc cimport math` (compile time), `import numpy as np`, `cimport "
            "numpy` (numpy's C API) and two defs over typed memoryviews, coxph_negative_gradient and coxph_loss "
            "(numeric loops); Cython's memoryview support types are created. The binary's module strings name "
            "only builtins, numpy and this module. No I/O, no other import",
    },
    "sksurv.tree._criterion": {
        "sha256:9bdc9230ef374e6970dc97a571cda70cfdef16576126c2f0a245638d816105f7":
            "scikit-survival 0.28.0 sksurv/tree/_criterion.pyx (Cython; not shipped, read upstream): the top level "
            "is `import numpy as np`, `cimport numpy` + `cnp.import_array()` (numpy's C API), the `from "
            "sklearn.tree._criterion cimport Criterion` type import (imports scikit-learn's own compiled "
            "sklearn.tree._criterion, import-reviewed with scikit-learn, and checks its Criterion type's size), "
            "cdef classes RisksetCounter and LogrankCriterion(Criterion) (malloc'd count buffers, numeric updates) "
            "and the cpdef get_unique_times; Cython's memoryview support types (Enum, array, memoryview) are "
            "created. The binary's module strings name only builtins, numpy, sklearn.tree._criterion and this "
            "module. No I/O, no other import",
    },
    "river._river_rust": {
        # river-0.26.1 cp311 manylinux x86_64 wheel
        "sha256:51b6794b99a61ac77a6cf457fbfb9c81948170f466dfd7194029a13fd47cae53":
            "river 0.26.1 rust_src/pyo3_bindings.rs (PyO3; not shipped, read upstream, and the binary's strings): "
            "the #[pymodule] init builds the submodules stats, drift, tree, vectordict and feature_hashing "
            "(PyModule::new, __name__ set to river._river_rust.<name>), adds river's own #[pyclass] types "
            "(RsQuantile, RsEWMean, RsEWVar, RsIQR, RsKurtosis, RsPeakToPeak, RsSkew, RsRolling*, "
            "AdaptiveWindowing, VectorDict) and #[pyfunction]s to them, stores each in sys.modules under its "
            "dotted name (so `from river._river_rust.stats import X` resolves) and as an attribute of the parent. "
            "Besides sys it imports only collections.abc (PyO3's mapping type checks). No I/O, no process, no "
            "network (tests/test_longtail_reviews_e.py measures the import with an audit hook). The classes are "
            "not vouched: a pickle naming one is judged per use (reviewed.py)",
    },
}

#: Metaclass hooks that build a class (``__new__``/``__init__``/``__prepare__``) a reviewer read, keyed by
#: ``module.Metaclass.hook``: (SHA-256 of ``ast.unparse`` of the def, review). A class built by a reviewed hook is
#: what its source says (the review says what the hook adds); another text is refused again. Only the hook's own
#: text is vouched: the metaclass' other methods and the class' own are analysed as usual.
REVIEWED_METACLASS_HOOKS: dict[str, tuple[str, str]] = {
    "narwhals.dtypes.DTypeClass.__new__": (
        "ea9860d518768e05062e7de0fa9e5bda7776d9def91e9d45e5e6d981b4679bf6",
        "narwhals 2.29.0 dtypes.py: namespace.setdefault('__slots__', ()) then type.__new__ (super().__new__ with "
        "the same arguments). An empty __slots__ adds no descriptor: the class is its source, and its instances "
        "have no __dict__ unless a base gives one (dict state then fails to load: nothing runs)"),
}

#: Metaclass hooks that run when a class is *created* (at import), reviewed as class-creation effects only:
#: ``module.Metaclass.hook`` -> (SHA-256 of ``ast.unparse`` of the def, SHA-256 of the defining module's file, the
#: compiled classes reviewed to have metaclass ``type``, the review). The hook is not analysed again at class
#: creation while both texts are the ones read (the module digest binds what the hook uses besides its own text: the
#: classes it subclasses, module-level objects), the class's metaclass is exactly that metaclass (a subclass
#: metaclass could define ``__setattr__``, which the hook's attribute stores would run) and no base may bring another
#: metaclass (Python uses the most derived one of the keyword's and every base's; the model reads the keyword, else
#: the first base's): every source class of the MRO has that metaclass or none, every compiled one is ``object`` or
#: listed. Unlike ``REVIEWED_METACLASS_HOOKS`` this does not say the class is what its source says: a class built
#: so stays "altered" for every instance use.
REVIEWED_CLASS_CREATION_HOOKS: dict[str, tuple[str, str, frozenset[str], str]] = {
    "torch.autograd.function.FunctionMeta.__init__": (
        "b172fbaa6311cea0cfd31ca23803d3e2973ebd1476b245a408a1f10d75abd208",
        "61382c0690a55dad64ade136f6f42f91372426be6b37b5f9776d14e49cc9e694",
        frozenset({"torch._C._FunctionBase"}),
        "torch 2.13.0+cpu autograd/function.py: `type(name + 'Backward', (BackwardCFunction,), {'_forward_cls': "
        "cls})` creates a subclass of BackwardCFunction (MRO: BackwardCFunction, torch._C._FunctionBase, "
        "FunctionCtx, _HookMixin, object; metaclass type; no class of it defines __init_subclass__, object's runs; "
        "the one namespace value is the new class, whose metaclass defines no __set_name__), numbers it with "
        "next() of the module-level itertools.count() AUTOGRAD_FUNCTION_COUNTER, stores it as cls._backward_cls "
        "(type.__setattr__) and calls type.__init__. Nothing of the class being created is called or read "
        "(tslearn 0.10.0's _SoftDTWLossPyTorch(torch.autograd.Function) at import)"),
}

#: Submodules a reviewed compiled module's init creates and stores in ``sys.modules`` under ``<module>.<name>``
#: (no file of their own: ``import <module>.<name>`` finds them there once the parent is imported). Vouched only
#: while the parent's binary is one of its ``REVIEWED_COMPILED_IMPORTS`` entries.
COMPILED_REGISTERED_SUBMODULES: dict[str, frozenset[str]] = {
    "river._river_rust": frozenset({"stats", "drift", "tree", "vectordict", "feature_hashing"}),
}

#: ``__getattribute__`` overrides a reviewer read, keyed by the dotted name of the class defining them: (names the
#: hook reads with ``object.__getattribute__`` before anything else, the review). A reviewed hook returns
#: ``object.__getattribute__(self, name)`` whenever that succeeds, so for a name some class of the MRO defines
#: (``__setstate__`` for BUILD) it behaves as the default lookup; the analysis accepts it only then, and only when
#: no class defines one of the names read first (a class-level descriptor there would run).
REVIEWED_GETATTRIBUTE: dict[str, tuple[frozenset[str], str]] = {
    "statsmodels.base.wrapper.ResultsWrapper": (
        frozenset({"_results"}),
        "statsmodels 0.15.0 base/wrapper.py: get = object.__getattribute__; reads self._results (AttributeError "
        "ignored), returns get(attr) when it succeeds, and only otherwise forwards to getattr(self._results, attr) "
        "and wraps the result with results.model.data.wrap_output"),
}

#: sha256 of ``ast.unparse`` of a reviewed ``__init_subclass__`` (``REVIEWED_SUBCLASS_HOOKS``): when the owner is
#: listed here, its review holds only while the installed hook is that text (a new release is analysed again).
SUBCLASS_HOOK_DIGESTS: dict[str, str] = {
    "transformers.modeling_layers.GradientCheckpointingLayer":
        "5b74941eccaae1ddedc42985a4cf0e3c05e30b4fd06a66f9e794b64c5bc594d6",
    "transformers.modeling_utils.PreTrainedModel": "67f1a03e99cec0d11afe94964b2992f2f657bbee462791e49232fb1b81b11208",
    "xarray.core.common.AttrAccessMixin": "f3718565a6aaaae26c9457399cf97c37f3c216f69648722c087c596b15b333e2",
    "xarray.computation.ops.IncludeNumpySameMethods":
        "5af9491d12e6721f47b6edd209976e7821c2982916b29617385fec59d5c03f92",
}

#: Reviewed subclass hooks whose review also rests on module-level helpers and tables of the defining module
#: (xarray's inject_numpy_same and NUMPY_SAME_METHODS): the hook holds only while that module file's bytes hash
#: as read (sha256).
SUBCLASS_HOOK_FILES: dict[str, str] = {
    "xarray.core.common.AttrAccessMixin": "e4893c3e7ea6f15edef1f21d3e757cbceb616c92b5d25f70014d60afa530a2f8",
    "xarray.computation.ops.IncludeNumpySameMethods":
        "9007a24b0c5d17f14c49a8dc7b4eb60f159f05dbf5e2597afd85bda78883c26d",
}

#: Reviewed subclass hooks that set names only on a class whose instances have a ``__dict__``: the review holds
#: only for a class whose whole MRO binds literal ``__slots__`` (``source_imports.fully_slotted``), where the hook
#: sets nothing; any other class is analysed as if the hook were not reviewed.
SLOTTED_SUBCLASS_HOOKS: dict[str, str] = {
    "xarray.core.common.AttrAccessMixin": (
        "xarray 2026.9.0 core/common.py: `if not hasattr(object.__new__(cls), '__dict__'): pass`; elif the class's "
        "module starts with 'xarray.': raise AttributeError; else `cls.__setattr__ = cls._setattr_dict` and a "
        "FutureWarning; then super().__init_subclass__(**kwargs). A fully slotted class is left as its source says"),
}

REVIEWED_SUBCLASS_HOOKS |= {
    "xarray.core.common.AttrAccessMixin": (
        frozenset(),
        frozenset(),
        "xarray 2026.9.0 core/common.py (see SLOTTED_SUBCLASS_HOOKS): sets __setattr__ = _setattr_dict only on a "
        "subclass whose instances have a __dict__ (outside xarray; inside xarray it raises), so the review holds "
        "for fully slotted classes only and sets nothing there. Bound to the hook's text and the module's bytes"),
    "xarray.computation.ops.IncludeNumpySameMethods": (
        frozenset({"item", "searchsorted"}),
        frozenset(),
        "xarray 2026.9.0 computation/ops.py: super().__init_subclass__(**kwargs), then inject_numpy_same(cls): for "
        "name in NUMPY_SAME_METHODS (the literal ['item', 'searchsorted']) setattr(cls, name, "
        "_values_method_wrapper(name)), a def that calls _call_possibly_missing_method(self.data, name, args, "
        "kwargs) when the method is called (never during a load). Reads nothing of the class. Bound to the hook's "
        "text and the module's bytes"),
    "transformers.modeling_layers.GradientCheckpointingLayer": (
        frozenset({"forward"}),
        frozenset({"forward"}),
        "transformers 5.24.0 modeling_layers.py: super().__init_subclass__(**kwargs), then reads cls.forward and "
        "replaces it with a functools.wraps wrapper defined in the hook (forward_with_checkpointing: with "
        "gradient checkpointing on in training it calls self._gradient_checkpointing_func, else forward(self, ...)); "
        "forward runs only when the model is called, never during a load. No I/O."),
    "transformers.modeling_utils.PreTrainedModel": (
        frozenset({"config_class"}),
        frozenset({"config_class"}),
        "transformers 5.24.0 modeling_utils.py: super().__init_subclass__(**kwargs), then reads the class's own "
        "'config' annotation (inspect.get_annotations, typing.get_type_hints of the library's annotations) and "
        "cls.config_class, and sets cls.config_class to one of them (the config class from_pretrained uses). "
        "No I/O; config_class is read by from_pretrained/post_init, never by a load."),
}


@dataclass(frozen=True)
class ReviewedDecorator:
    """A decorator a reviewer read that returns the decorated class or function itself (docstrings edited at
    most), as long as ``files`` (module, sha256 of the file's bytes) are unchanged and no module of ``absent``
    (an alternative implementation the library switches to when installed) can be found. ``bare``: ``@name``
    is reviewed; ``factory``: ``@name(...)`` is."""

    files: tuple[tuple[str, str], ...]
    absent: tuple[str, ...]
    bare: bool
    factory: bool
    review: str


_AUTO_DOCSTRING = ("transformers.utils.auto_docstring",
                   "5c1d80db3f64c8005611955751e820876115e054a48ce0ee58bedd19d39105cb")
_HUB_KERNELS = ("transformers.integrations.hub_kernels",
                "9668b07e742b823a388e5edf6fe6235c5fea2aaf8f6a83029169d6a5c19d9b4b")
_KERNELS_STUB = (
    "transformers 5.24.0 integrations/hub_kernels.py: when the 'kernels' package is not installed "
    "(is_kernels_available() is False), {name}(*args, **kwargs) is the stub of the module's else-branch: it returns "
    "a local def decorator(cls): return cls, so applying it leaves the class unchanged. With 'kernels' installed "
    "the kernels package's own decorator would run (not reviewed): the review holds only while it is absent")

#: Keyed by the dotted name of the decorator as it resolves (or, through a lazy module, as the source spells it).
REVIEWED_DECORATORS: dict[str, ReviewedDecorator] = {
    "transformers.utils.auto_docstring.auto_docstring": ReviewedDecorator(
        files=(_AUTO_DOCSTRING,), absent=(), bare=True, factory=True, review=(
            "transformers 5.24.0 utils/auto_docstring.py: auto_docstring(obj=None, *, custom_intro, custom_args, "
            "checkpoint) returns auto_docstring_decorator(obj) or the decorator; for a method it calls "
            "auto_method_docstring (builds a docstring from inspect.signature, the library's argument tables and "
            "the config class; sets func.__doc__; returns func), for a class auto_class_docstring (reads cls.__mro__ "
            "names, builds __doc__ for the class and its __init__, may print a hint or raise ValueError for an "
            "unregistered class; sets cls.__doc__; returns cls). Docstrings only; no I/O but stdout")),
    "transformers.integrations.hub_kernels.use_kernel_forward_from_hub": ReviewedDecorator(
        files=(_HUB_KERNELS,), absent=("kernels",), bare=False, factory=True,
        review=_KERNELS_STUB.format(name="use_kernel_forward_from_hub")),
    "transformers.integrations.hub_kernels.use_kernelized_func": ReviewedDecorator(
        files=(_HUB_KERNELS,), absent=("kernels",), bare=False, factory=True,
        review=_KERNELS_STUB.format(name="use_kernelized_func")),
}


#: Packages that replace themselves in ``sys.modules`` with a lazy module (transformers' ``_LazyModule``): the
#: attribute ``name`` of the lazy module is ``getattr(import_module(submodule), name)``. Keyed by the package:
#: (sha256 of its ``__init__.py`` bytes, {name: submodule}, review). Only while the file is that text; any other
#: name of such a package stays unreadable.
REVIEWED_LAZY_MODULES: dict[str, tuple[str, dict[str, str], str]] = {
    "transformers.integrations": (
        "84fcc8cf8cca484fe6ffb9c9e85c24d9a6121e6dee35588daac5fe9755652c96",
        {"PeftAdapterMixin": "transformers.integrations.peft",
         "use_kernel_forward_from_hub": "transformers.integrations.hub_kernels",
         "use_kernelized_func": "transformers.integrations.hub_kernels"},
        "transformers 5.24.0 integrations/__init__.py: outside TYPE_CHECKING, sys.modules[__name__] = "
        "_LazyModule(__name__, __file__, _import_structure, module_spec=__spec__); _import_structure lists "
        "PeftAdapterMixin under 'peft' and use_kernel_forward_from_hub/use_kernelized_func under 'hub_kernels', "
        "and _LazyModule.__getattr__ imports that submodule and returns its attribute (the TYPE_CHECKING branch "
        "imports the same names from the same submodules)"),
    "transformers.generation": (
        "06a9b6b388ad584faef09359b42118e5f1fb40c7b41ad8e9d9fac79f8e20553c",
        {"GenerationMixin": "transformers.generation.utils"},
        "transformers 5.24.0 generation/__init__.py: the same _LazyModule pattern; _import_structure['utils'] "
        "(added when torch is available; without torch the name is missing and the import fails) lists "
        "GenerationMixin, served from transformers.generation.utils"),
}


@dataclass(frozen=True)
class ReviewedMethod:
    """A method a reviewer read, keyed by ``module.Class.method`` where it is defined. It holds for a class a load
    uses only while the method's text hashes to ``digest``, each method of ``same`` (name, digest) is looked up on
    that class to the same owner with that text, and no other class of its MRO defines a name of ``names`` (the
    attributes the method reads or sets, which a subclass property or override would turn into other code).
    ``touches``: what it runs on values from the file (the engine's state rules rank those values)."""

    digest: str
    same: tuple[tuple[str, str], ...]
    names: frozenset[str]
    touches: frozenset[str]
    review: str


_MODULE_HOOK_DICTS = frozenset(
    "_forward_pre_hooks _forward_pre_hooks_with_kwargs _forward_hooks_with_kwargs _forward_hooks_always_called "
    "_state_dict_hooks _state_dict_pre_hooks _load_state_dict_pre_hooks _load_state_dict_post_hooks "
    "_non_persistent_buffers_set _is_full_backward_hook _backward_pre_hooks".split())

REVIEWED_SOURCE_METHODS: dict[str, ReviewedMethod] = {
    "torch.nn.modules.module.Module.__setstate__": ReviewedMethod(
        digest="f78694450fccbd0a937ccbf1b5dc5767749475595e5a85c7b59492338ecc2c0a",
        same=(("__setattr__", "d03fa1312a47089befe7a5589da18d8b0d0e06295f12f641ce7fb5bd1e778958"),
              ("__getattr__", "e6c13dfcf88fcbcb95c3a3738b72e25276d8a96e564de408dd9d06d0da219a4a")),
        names=_MODULE_HOOK_DICTS | frozenset(
            "__dict__ __getattribute__ _parameters _buffers _modules register_parameter register_buffer".split()),
        touches=frozenset({"update", "keys", "__getitem__", "__iter__", "__contains__", "__setitem__"}),
        review=(
            "torch 2.13.0 nn/modules/module.py: self.__dict__.update(state), then for each of the 11 hook "
            "attributes missing from __dict__ assigns a fresh OrderedDict()/set()/None through Module.__setattr__. "
            "Given such a fresh value, __setattr__ (reviewed text) checks isinstance against Parameter/Module/Buffer "
            "(none), looks the name up in the _parameters/_modules/_buffers the state gave (raising TypeError, or "
            "for None calling register_parameter / the process's own registration hooks and storing None), else "
            "object.__setattr__. Nothing from the file is called by the method itself; attributes of the state "
            "that shadow methods are ranked by the engine's state rules")),
}


#: Methods of builtin containers/strings that only compute on the receiver's data. On a value from the file
#: they are recorded as touches (the value's class must be plain data for them to be the builtin ones).
DATA_METHODS: frozenset[str] = frozenset(
    "items keys values get copy pop popitem setdefault update append extend insert remove clear index count "
    "add discard union intersection difference issubset issuperset startswith endswith split rsplit strip "
    "lstrip rstrip lower upper join replace format encode decode partition rpartition isdigit isidentifier "
    "sort reverse".split()
)
#: Mutating methods: fine on a fresh local container or the object's own state, a touch on other values.
MUTATING_METHODS: frozenset[str] = frozenset(
    "pop popitem setdefault update append extend insert remove clear add discard sort reverse".split()
)

# --- stdlib and builtin bases with known behaviour ----------------------------------------------------------
#: Bases (dotted) whose relevant behaviour is known, so the analysis does not read their (often C or
#: bootstrapped) source. Value: the semantics tag the class model uses.
SPECIAL_BASES: dict[str, str] = {
    "enum.Enum": "enum", "enum.IntEnum": "enum", "enum.StrEnum": "enum", "enum.Flag": "enum",
    "enum.IntFlag": "enum", "enum.ReprEnum": "enum",
    "typing.NamedTuple": "namedtuple", "typing_extensions.NamedTuple": "namedtuple",
    "typing.TypedDict": "typeddict", "typing_extensions.TypedDict": "typeddict",
    "typing.Generic": "transparent", "typing.Protocol": "transparent", "typing_extensions.Protocol": "transparent",
    "typing_extensions.Generic": "transparent", "abc.ABC": "transparent",
}
#: Metaclasses whose ``__call__``/``__getattribute__`` are ``type``'s (or, for enums, modelled separately).
KNOWN_METACLASSES: dict[str, str] = {
    "builtins.type": "type", "abc.ABCMeta": "type", "typing._ProtocolMeta": "type",
    "typing_extensions._ProtocolMeta": "type", "typing._TypedDictMeta": "type", "typing.NamedTupleMeta": "type",
    "enum.EnumMeta": "enum", "enum.EnumType": "enum",
    # torch 2.13: torch.Tensor's compiled metaclass defines only __init__ (run at class creation) and __doc__
    # (tests/test_fp_families.py checks the installed torch): lookups, calls and isinstance are type's
    "torch._C._TensorMeta": "type",
}
#: Stdlib metaclasses the model cannot read (``abc`` binds ``ABCMeta`` from ``_abc`` or ``_py_abc`` under
#: try/except) and the names each defines itself: CPython 3.11-3.13 ``abc.ABCMeta`` (both bindings) defines
#: ``__new__``, ``register``, ``__instancecheck__``, ``__subclasscheck__`` and three private cache helpers, and
#: derives from ``type`` only. Any other name looked up on a class deriving from it is ``type``'s (C) or not
#: defined; its own names stay not analysable (``__instancecheck__`` runs ``__subclasshook__`` and the registry).
#: tests/test_longtail_reviews_e.py checks the set against the running interpreter.
METACLASS_OWN_NAMES: dict[str, frozenset[str]] = {
    "abc.ABCMeta": frozenset({"__new__", "register", "__instancecheck__", "__subclasscheck__", "_dump_registry",
                              "_abc_registry_clear", "_abc_caches_clear", "_abc_invalidation_counter"}),
}
#: Compiled metaclasses reviewed to define neither ``__instancecheck__`` nor ``__subclasscheck__``: a
#: ``super().__instancecheck__(x)`` reaching one is ``type``'s own check (``abc.ABCMeta`` is *not* one: its
#: check runs ``__subclasshook__`` and the registry).
PLAIN_CHECK_METACLASSES: frozenset[str] = frozenset({"torch._C._TensorMeta"})
#: Builtin classes usable as bases: their construction and state handling are C code whose effects the class
#: model knows (``lookup`` reads which methods each defines from the type itself; ``BaseException.__setstate__``
#: setattrs every key, which the BUILD rule models). Exceptions are added below.
_DATA_BASES = frozenset(
    "object dict list tuple set frozenset int float str bytes bytearray complex bool type module".split())
#: Builtin types not bound in ``builtins`` (``Leaf("builtins.<name>")``), and the stdlib names that bind them
#: with a computed value the source cannot show (``types.py``: ``ModuleType = type(sys)``). ``module``:
#: ``module.__new__``/``__init__(name, doc)`` only fill the new module's dict. Its ``__getattribute__`` falls back
#: to a ``__getattr__`` found in the instance dict, so BUILD and mutation of a subclass are not modelled
#: (``source_analysis._getattr_hooks``).
NAMED_BUILTIN_TYPES: dict[str, type] = {"module": types.ModuleType}
STDLIB_TYPE_ALIASES: dict[str, str] = {"types.ModuleType": "module"}


def _exception_names() -> frozenset[str]:
    import builtins

    names = set()
    for name, value in vars(builtins).items():
        if isinstance(value, type) and issubclass(value, BaseException):
            names.add(name)
    return frozenset(names)


#: Builtin classes whose ``__class_getitem__`` is ``types.GenericAlias`` (C code): ``dict[str, int]`` used as a
#: base is ``dict`` (``GenericAlias.__mro_entries__`` returns the origin).
GENERIC_BUILTINS: frozenset[str] = frozenset("dict list tuple set frozenset type".split())

#: Exception classes: constructing one stores its arguments (read from the builtins module; nothing runs).
PURE_EXCEPTIONS: frozenset[str] = _exception_names()
BUILTIN_BASES: frozenset[str] = _DATA_BASES | PURE_EXCEPTIONS


# Methods a callee may run on an instance it is handed (Use.PASSED): iteration, sizing, indexing, conversions,
# formatting, comparisons, mapping access, numpy's array protocol, copying and pickling hooks.
PROTOCOL_METHODS: tuple[str, ...] = (
    "__iter__", "__next__", "__len__", "__length_hint__", "__getitem__", "__contains__", "__reversed__",
    "__bool__", "__int__", "__float__", "__complex__", "__index__", "__round__", "__trunc__", "__floor__",
    "__ceil__", "__str__", "__repr__", "__format__", "__bytes__", "__fspath__", "__eq__", "__ne__", "__lt__",
    "__le__", "__gt__", "__ge__", "__hash__", "__array__", "__array_interface__", "__array_struct__",
    "__array_function__", "__array_ufunc__", "__array_priority__", "__buffer__", "__copy__", "__deepcopy__",
    "__reduce__", "__reduce_ex__", "__getstate__", "__enter__", "__exit__", "__add__", "__radd__", "__mul__",
    "__rmul__", "__neg__", "keys", "items", "values", "get", "__dlpack__", "__torch_function__",
)
