"""Ranked denylist: importable names (or whole modules) that run code, touch the system or load more data.

Keys are either ``"module"`` (that module, all its submodules and every name in them) or
``"module.qualname"`` (one name, and attributes reached through it). ``floor`` entries can never be trusted,
whatever the policy says. ``nested`` marks loaders whose bytes argument is itself scanned.
Sources: the engine's own severity model applied to the public bypass catalogue in THREATS.md sections 1-2.
"""

from __future__ import annotations

from safeload._record import DataclassRecord
from safeload.catalog.uses import Use
from safeload.severity import Severity

__all__ = ["ANY_USE", "DENY", "DENY_NARROWED", "DenyEntry"]

ANY_USE = ~Use(0)


# A hand-written record, not a @dataclass (issue 15: fixed costs; safeload/_record.py).
class DenyEntry(DataclassRecord):
    """A denial. ``uses`` are the uses it applies to: every use by default; a narrower set for names that are
    inert in some uses and dangerous in others (``numpy.memmap`` may be allocated as an array subtype, never
    called)."""

    _FIELDS = ("severity", "rule_id", "reason", "floor", "nested", "uses")
    __slots__ = ("floor", "nested", "reason", "rule_id", "severity", "uses")
    _DEFAULTS = {"floor": False, "nested": None, "uses": ANY_USE}

    severity: Severity
    rule_id: str
    reason: str
    floor: bool
    nested: str | None  # "pickle", "torch", "numpy", "joblib", "marshal", "dill", "any"
    uses: Use

    def __init__(self, severity: Severity, rule_id: str, reason: str, floor: bool = False,  # noqa: PLR0917
                 nested: str | None = None, uses: Use = ANY_USE) -> None:
        setter = object.__setattr__
        setter(self, "severity", severity)
        setter(self, "rule_id", rule_id)
        setter(self, "reason", reason)
        setter(self, "floor", floor)
        setter(self, "nested", nested)
        setter(self, "uses", uses)


def _entries(names: str, severity: Severity, rule_id: str, reason: str, *, floor: bool = False,
             nested: str | None = None, uses: Use = ANY_USE) -> dict[str, DenyEntry]:
    entry = DenyEntry(severity, rule_id, reason, floor, nested, uses)
    return {name: entry for name in names.split()}


_C, _H = Severity.CRITICAL, Severity.HIGH
EXEC, EFFECT, NESTED, CODE = "SL101", "SL102", "SL103", "SL106"

DENY: dict[str, DenyEntry] = {}

# --- the hard floor: never trustable --------------------------------------------------------------------
DENY |= _entries("os posix nt subprocess _posixsubprocess pty sys runpy _winapi", _C, EXEC,
                 "runs commands or controls the interpreter", floor=True)
DENY |= _entries(
    "builtins.eval builtins.exec builtins.compile builtins.__import__ builtins.breakpoint builtins.globals "
    "builtins.locals builtins.vars builtins.setattr builtins.delattr builtins.__build_class__ builtins.input "
    "builtins.help builtins.exit builtins.quit",
    _C, EXEC, "evaluates code or reaches the interpreter's internals", floor=True)
DENY |= _entries("marshal types.CodeType types.FunctionType types.LambdaType types.MethodType "
                 "types.CellType types.ModuleType code codeop", _C, CODE, "rebuilds Python code objects", floor=True)
DENY |= _entries("ctypes _ctypes cffi", _C, EXEC, "calls native code through an FFI", floor=True)

# --- code execution and command gadgets ---------------------------------------------------------------------
DENY |= _entries(
    "timeit pdb bdb profile cProfile trace idlelib lib2to3 doctest pydoc ensurepip pip venv "
    "_pyrepl test multiprocessing _xxsubinterpreters _interpreters concurrent.futures.process "
    "asyncio zipimport imp pipes mailcap commands _osx_support _aix_support distutils.spawn "
    "numpy.f2py numpy.testing._private.utils.runstring numpy.distutils numpy.ctypeslib setuptools "
    "IPython jupyter_client ipykernel",
    _C, EXEC, "a known code-execution gadget module")
DENY |= _entries(
    "uuid._get_command_stdout uuid._popen imaplib.IMAP4_stream platform.popen platform._syscmd_file "
    "platform._syscmd_ver code.InteractiveInterpreter.runcode code.interact "
    "_operator.attrgetter _operator.itemgetter _operator.methodcaller "
    "operator.attrgetter operator.itemgetter operator.methodcaller "
    "inspect.getattr_static inspect.getmembers "
    "torch.utils.bottleneck torch.utils.collect_env torch._dynamo torch._inductor "
    "torch.fx.experimental.symbolic_shapes.ShapeEnv.evaluate_guards_expression torch.fx.graph_module "
    "torch.jit.unsupported_tensor_ops.execWrapper torch.jit._script torch.jit.frontend torch.jit.annotations "
    "torch.distributed.rpc torch.distributed.elastic torch.testing._internal torch.utils.cpp_extension "
    "torch.package torch.hub torch.compile "
    "mlflow.projects transformers.dynamic_module_utils transformers.utils.hub "
    "gettext.install atexit.register threading.Thread threading.Timer _thread.start_new_thread "
    "_thread.start_new signal builtins.object.__subclasses__ builtins.type.__subclasses__ "
    "functools.reduce "
    "cloudpickle.cloudpickle.subimport cloudpickle.cloudpickle_fast.subimport",
    _C, EXEC, "a known code-execution or attribute-access gadget")
DENY |= _entries(
    "cloudpickle.cloudpickle._make_function cloudpickle.cloudpickle._builtin_type "
    "cloudpickle.cloudpickle._function_setstate cloudpickle.cloudpickle._make_skeleton_class "
    "cloudpickle.cloudpickle._make_skeleton_enum cloudpickle.cloudpickle._class_setstate "
    "cloudpickle.cloudpickle._make_cell cloudpickle.cloudpickle._make_empty_cell "
    "cloudpickle.cloudpickle._code_reduce cloudpickle.cloudpickle_fast._make_function "
    "cloudpickle.cloudpickle_fast._function_setstate cloudpickle.cloudpickle_fast._builtin_type "
    "dill._dill._create_function dill._dill._create_code dill._dill._create_cell dill._dill._create_lock "
    "dill._dill._create_type dill._dill._import_module dill._dill._get_attr "
    "dill._dill._create_namespace dill._dill._create_filehandle dill._dill._eval_repr dill._dill._create_rlock "
    "dill._dill._create_ftype dill._dill._setattr dill._dill._delattr dill._dill._create_capsule "
    "dill._dill._create_weakproxy dill._dill._create_weakref "
    "dill.source dill._objects",
    _C, CODE, "rebuilds functions, classes or code objects (dill / cloudpickle)")

# srsly 2.5.6 (spaCy's serialisation library) vendors cloudpickle as srsly.cloudpickle (the same gadgets under
# another name: _make_function, _make_skeleton_class, subimport, and pickle.loads re-exported), and
# srsly.pickle_loads is cloudpickle.loads. spaCy's own pickles never name them (their nested pickles are plain).
DENY |= _entries("srsly.cloudpickle", _C, CODE,
                 "srsly's vendored cloudpickle: rebuilds functions, classes or code objects, imports by name")
DENY |= _entries("srsly.pickle_loads srsly._pickle_api.pickle_loads", _H, NESTED,
                 "a nested unpickler (srsly.pickle_loads is cloudpickle.loads)", nested="pickle")

# --- import primitives: what they return is whatever they are asked for -------------------------------------
DENY |= _entries(
    "importlib pkgutil operator.getitem _operator.getitem "
    "site sitecustomize gc inspect",
    _H, EFFECT, "imports modules or reaches attributes chosen by the file")

# --- nested loaders: the bytes they get are scanned too --------------------------------------------------------
DENY |= _entries("pickle.loads pickle.load _pickle.loads _pickle.load pickle._loads pickle._load "
                 "pickle.Unpickler _pickle.Unpickler pickle._Unpickler "
                 "shelve", _H, NESTED, "a nested unpickler", nested="pickle")
DENY |= _entries("dill.loads dill.load dill._dill.loads dill._dill.load cloudpickle.loads cloudpickle.load "
                 "joblib.load joblib.numpy_pickle.load", _H, NESTED, "a nested unpickler", nested="pickle")
DENY |= _entries("torch.load torch.serialization.load torch.serialization._load torch.jit.load "
                 "torch.utils._config_module.ConfigModule.load_config "
                 "torch.utils.data.datapipes.utils.decoder.basichandlers "
                 "torch.distributed.elastic.rendezvous.api.basichandlers",
                 _H, NESTED, "a nested PyTorch loader", nested="any")
DENY |= _entries("numpy.load numpy.lib.npyio.load numpy.lib._npyio_impl.load numpy.fromfile numpy.loadtxt "
                 "numpy.genfromtxt numpy.lib.format.open_memmap numpy.lib.format.read_array "
                 "numpy.lib._format_impl.open_memmap numpy.lib._format_impl.read_array",
                 _H, NESTED, "a nested numpy loader (files or pickles)", nested="any")
# numpy.memmap(path, mode="w+") creates or truncates a file; pickled memmaps only name the class as the subtype
# that numpy._reconstruct allocates (no memmap code runs but __array_finalize__, which copies attributes).
DENY |= _entries("numpy.memmap numpy.core.memmap.memmap numpy._core.memmap.memmap", _H, EFFECT,
                 "opens, creates or truncates a file when called", uses=Use.CALL | Use.NEW | Use.INVOKE)
# getattr is modelled when the file calls it (the attribute it reaches is ranked); anywhere else it is a
# primitive that reaches any attribute for whoever calls it.
DENY |= _entries("builtins.getattr", _H, EFFECT, "reaches attributes chosen by whoever calls it",
                 uses=ANY_USE & ~(Use.CALL | Use.IMPORT | Use.REF))
DENY |= _entries("marshal.loads marshal.load", _C, CODE, "unmarshals code objects", floor=True, nested="marshal")
DENY |= _entries("keras.models.load_model keras.saving.load_model tensorflow.saved_model.load "
                 "tensorflow.keras.models.load_model keras.src.saving.saving_api.load_model "
                 "transformers.models.auto.auto_factory.getattribute_from_module transformers.AutoModel "
                 "transformers.AutoTokenizer transformers.pipeline "
                 "transformers.models.auto.tokenization_auto.AutoTokenizer "
                 "transformers.models.auto.modeling_auto.AutoModel",
                 _H, NESTED, "loads another model, possibly from the network")

# --- files, network, processes ----------------------------------------------------------------------------------
DENY |= _entries(
    "builtins.open io.open io.FileIO _io.open _io.FileIO io.open_code _io.open_code shutil tempfile filecmp "
    "fileinput glob mmap pathlib.Path.write_text pathlib.Path.write_bytes pathlib.Path.unlink pathlib.Path.open "
    "pathlib.Path.read_text pathlib.Path.read_bytes pathlib.Path.rmdir pathlib.Path.rename pathlib.Path.touch "
    "pathlib.PosixPath.write_text pathlib.PosixPath.write_bytes pathlib.PosixPath.unlink pathlib.PosixPath.open "
    "pathlib.PosixPath.read_text pathlib.PosixPath.read_bytes "
    "logging.FileHandler logging.handlers logging.config distutils.file_util distutils.dir_util distutils "
    "zipfile tarfile sqlite3 _sqlite3 dbm compileall py_compile linecache.updatecache "
    "numpy.save numpy.savez numpy.savetxt numpy.ndarray.tofile numpy.ndarray.dump "
    "pandas.read_csv pandas.read_pickle pandas.read_json pandas.read_html pandas.read_excel pandas.read_parquet "
    "pandas.io socket _socket ssl http httplib urllib urllib2 urllib3 requests aiohttp httpx webbrowser "
    "smtplib imaplib ftplib poplib telnetlib nntplib xmlrpc socketserver select selectors "
    "_signal _thread threading.Timer syslog resource fcntl termios "
    "huggingface_hub torch.utils.model_zoo torch.storage._load_from_file keras.utils.get_file "
    "sklearn.callback sklearn.utils.parallel joblib.parallel joblib.Parallel joblib.memory joblib.Memory "
    "joblib.externals.loky "
    "tensorflow.io tensorflow.keras.utils.get_file",
    _H, EFFECT, "reads or writes files, opens connections or starts threads")

#: Names inside a module denied whole, or denied themselves for some uses by the generated effect scan, whose
#: denial a review narrows to the uses that do reach the effect. The entry replaces the module's (or the generated)
#: denial for exactly this dotted name; an alias of it, an attribute path through it and every other name of the
#: module keep theirs. What the remaining uses may do is the reviewed entry's.
DENY_NARROWED: dict[str, DenyEntry] = {
    # joblib 1.6.0 memory.py: Memory(location) configures a FileSystemStoreBackend, which creates the cache
    # directory (CALL), and cache()/eval() write there when called later. Allocating one with __new__ and giving it
    # its __dict__ (how joblib.dump and pickle store it: NEWOBJ + BUILD, no __setstate__/__reduce__ in Memory or
    # Logger) runs none of its code; it has no __call__ (calling an instance raises TypeError). The reviewed entry
    # (reviewed.py) admits that state only without a store backend (state_contracts "joblib_memory_state").
    "joblib.memory.Memory": DenyEntry(_H, EFFECT, "a joblib Memory called: configures a store backend that creates "
                                      "and writes cache directories",
                                      uses=ANY_USE & ~(Use.IMPORT | Use.NEW | Use.BUILD | Use.CALL_INSTANCE)),
    # sympy 1.14.0: the generated scan denies calling/instantiating/invoking these (SL101: Application.__new__ and
    # Rational.__new__ sympify non-strictly, and a str argument reaches parse_expr's eval). Instantiation by
    # NEWOBJ/NEWOBJ_EX, how sympy pickles them, is admitted by their reviewed entries (reviewed.py) only under the
    # sympy_new argument contract, which refuses every argument that could reach the parser; calling them (REDUCE,
    # a partial, code calling them) stays denied.
    **{name: DenyEntry(_C, EXEC, f"{reason}: sympify parses a str argument as Python code (parse_expr evals)",
                       uses=Use.CALL | Use.INVOKE)
       for name, reason in (
           ("sympy.core.add.Add", "reaches builtins.exec via ?.staticmethod (7 calls)"),
           ("sympy.core.mul.Mul", "reaches builtins.exec via ?.staticmethod (7 calls)"),
           ("sympy.core.power.Pow", "reaches builtins.exec via ?.staticmethod (7 calls)"),
           ("sympy.core.relational.Equality", "reaches builtins.exec via ?.staticmethod (6 calls)"),
           ("sympy.core.numbers.Rational", "reaches builtins.exec via ?.staticmethod (6 calls)"),
           ("sympy.functions.elementary.trigonometric.sin", "reaches builtins.exec via ?.staticmethod (9 calls)"),
           ("sympy.functions.elementary.exponential.exp", "reaches builtins.exec via ?.staticmethod (9 calls)"))},
    # sympy 1.14.0: Matrix(...) converts its arguments (_handle_creation_inputs: sympify, a callable per cell); NEWOBJ
    # with no argument (how object.__reduce_ex__ pickles a Matrix) makes an empty matrix and is admitted by the
    # reviewed entry (reviewed.py) only under the sympy_matrix contract (no argument); calling it stays denied.
    "sympy.matrices.dense.MutableDenseMatrix": DenyEntry(
        _C, EXEC, "reaches builtins.exec via ?.staticmethod (13 calls): Matrix(...) sympifies its arguments (a str "
        "reaches parse_expr's eval)", uses=Use.CALL | Use.INVOKE),
}
