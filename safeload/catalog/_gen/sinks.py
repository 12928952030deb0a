"""The effect scan's sinks (what a call must never reach) and boundaries (reviewed, stop the walk).

Sinks are named here and matched by *object identity* once resolved, so a re-export or an alias of a sink
is the same sink (``os.system`` is ``posix.system``). CRITICAL sinks evaluate code, run processes or reach
native code; HIGH sinks touch files, the network, imports, threads or load nested data.

``types.CodeType``/``FunctionType`` are not sinks here: installed code references them in ``isinstance``
checks everywhere, and a reference counts as a call; building code *from the file* is what matters, and
``catalog/deny.py`` denies those names (and the generated aliases catch their re-exports) for every use.

Invariant: this table is the only place the effect scan learns what is dangerous; a sink missing here is a
callee the scan calls inert, so the table errs on the side of listing.
"""

from __future__ import annotations

__all__ = ["BOUNDARIES", "DYNAMIC", "SINKS"]

_CRIT, _HIGH = "CRITICAL", "HIGH"


def _table(names: str, severity: str, reason: str) -> dict[str, tuple[str, str]]:
    return {name: (severity, reason) for name in names.split()}


SINKS: dict[str, tuple[str, str]] = {}
SINKS |= _table(
    "builtins.eval builtins.exec builtins.compile builtins.breakpoint builtins.__build_class__ "
    "code.InteractiveInterpreter.runcode code.InteractiveConsole.interact code.interact codeop.compile_command "
    "runpy.run_module runpy.run_path runpy._run_code runpy._run_module_code "
    "marshal.loads marshal.load "
    "pdb.run pdb.runeval pdb.runcall bdb.Bdb.run bdb.Bdb.runeval bdb.Bdb.runctx",
    _CRIT, "evaluates Python code")
SINKS |= _table(
    "posix.system posix.popen posix.execv posix.execve posix.fork posix.forkpty posix.posix_spawn "
    "posix.posix_spawnp posix.kill posix.killpg posix._exit posix.abort "
    "os.execl os.execle os.execlp os.execlpe os.execvp os.execvpe os.spawnl os.spawnle os.spawnlp os.spawnlpe "
    "os.spawnv os.spawnve os.spawnvp os.spawnvpe os.popen os.system "
    "_posixsubprocess.fork_exec subprocess.Popen subprocess.run subprocess.call subprocess.check_call "
    "subprocess.check_output subprocess.getoutput subprocess.getstatusoutput pty.spawn pty.fork "
    "ctypes.CDLL ctypes.PyDLL ctypes.LibraryLoader ctypes.CFUNCTYPE ctypes.PYFUNCTYPE ctypes.cast "
    "ctypes.util.find_library _ctypes.dlopen _ctypes.dlsym "
    "sys.settrace sys.setprofile sys.addaudithook sys.setrecursionlimit "
    "_thread.start_new_thread _thread.start_new threading.settrace threading.setprofile",
    _CRIT, "runs processes, native code, threads or hooks the interpreter")
SINKS |= _table(
    "builtins.open io.open io.open_code io.FileIO _io.FileIO _io.open _io.open_code "
    "posix.open posix.remove posix.unlink posix.rename posix.replace posix.rmdir posix.mkdir posix.chmod "
    "posix.chown posix.lchown posix.link posix.symlink posix.truncate posix.ftruncate posix.write posix.pwrite "
    "posix.listdir posix.scandir posix.putenv posix.unsetenv posix.chdir posix.utime posix.mkfifo posix.mknod "
    "posix.sendfile posix.setuid posix.setgid posix.chroot posix.dup2 posix.openpty posix.lchmod "
    "os.makedirs os.removedirs os.renames os.walk os.fwalk "
    "mmap.mmap _socket.socket socket.socket socket.create_connection socket.create_server "
    "socket.getaddrinfo socket.gethostbyname socket.gethostbyname_ex socket.gethostbyaddr _socket.getaddrinfo "
    "_socket.gethostbyname _socket.gethostbyaddr _socket.gethostbyname_ex "
    "_sqlite3.connect sqlite3.connect _dbm.open _gdbm.open select.select select.poll select.epoll "
    "signal.signal _signal.signal atexit.register "
    "gc.get_objects gc.get_referrers gc.get_referents",
    _HIGH, "touches files, the network, signals or the interpreter's object graph")
SINKS |= _table(
    "builtins.__import__ importlib.import_module importlib.__import__ importlib.reload "
    "importlib._bootstrap._gcd_import importlib.util.spec_from_file_location importlib.util.module_from_spec "
    "importlib.machinery.SourceFileLoader importlib.machinery.ExtensionFileLoader "
    "pkgutil.resolve_name pkgutil.get_data pydoc.locate zipimport.zipimporter",
    _HIGH, "imports modules named by its arguments")
SINKS |= _table(
    "_pickle.loads _pickle.load _pickle.Unpickler pickle._loads pickle._load pickle._Unpickler "
    "numpy.load numpy.fromfile numpy.memmap torch.load torch.from_file torch.jit.load torch._C.import_ir_module "
    "joblib.load dill.load dill.loads cloudpickle.load cloudpickle.loads shelve.open",
    _HIGH, "loads nested data (a pickle or a file)")


# Reviewed boundaries: callees the walk does not enter, with the review. They reach files only in ways the
# environment controls (warning and logging output, the source of installed modules), never with a path or
# a callable chosen by the loaded file.
BOUNDARIES: dict[str, str] = {
    "warnings.warn": "formats and shows a warning (reads installed source lines through linecache)",
    "warnings.warn_explicit": "as warnings.warn",
    "warnings._showwarnmsg": "as warnings.warn",
    "logging.Logger._log": "emits to handlers the process configured",
    "logging.Logger.handle": "emits to handlers the process configured",
    "logging.Logger.callHandlers": "emits to handlers the process configured",
    "logging.getLogger": "returns a logger object",
    "logging.log": "emits to handlers the process configured",
    "logging.debug": "emits to handlers the process configured",
    "logging.info": "emits to handlers the process configured",
    "logging.warning": "emits to handlers the process configured",
    "logging.error": "emits to handlers the process configured",
    "logging.exception": "emits to handlers the process configured",
    "logging.critical": "emits to handlers the process configured",
    "linecache.getline": "reads lines of installed source files for messages",
    "linecache.getlines": "reads lines of installed source files for messages",
    "linecache.updatecache": "reads lines of installed source files for messages",
    "linecache.checkcache": "stats installed source files for messages",
    "traceback.format_exc": "formats the current exception",
    "traceback.format_exception": "formats an exception",
    "traceback.print_exc": "prints the current exception",
    "traceback.extract_stack": "formats the current stack",
    "traceback.format_stack": "formats the current stack",
    "inspect.getsourcelines": "reads installed source for introspection",
    "inspect.getsource": "reads installed source for introspection",
    "inspect.getsourcefile": "locates installed source for introspection",
    "inspect.getfile": "locates installed source for introspection",
    "inspect.stack": "inspects the current stack (reads installed source for context lines)",
    "inspect.currentframe": "the caller's frame, used for warnings stack levels",
    "sys._getframe": "the caller's frame, used for warnings stack levels and debug names",
    "collections.namedtuple": "builds a tuple class; eval runs only code generated from names it checked are "
                              "identifiers",
    "ast.literal_eval": "parses literals only (compile with PyCF_ONLY_AST, nothing runs)",
    "ast.parse": "parses to a syntax tree (compile with PyCF_ONLY_AST, nothing runs)",
    "inspect.signature": "reads a callable's signature (evaluates installed builtins' text signatures only)",
    "inspect.Signature.from_callable": "as inspect.signature",
    "inspect.getfullargspec": "as inspect.signature",
    "typing.get_type_hints": "evaluates annotation strings of installed code",
    "functools.lru_cache": "a memoising decorator",
    "functools.cache": "a memoising decorator",
    "functools.wraps": "copies metadata between functions",
    "functools.update_wrapper": "copies metadata between functions",
    "typing._type_check": "typing machinery on annotations",
    "dataclasses.dataclass": "builds a class at import time",
    "os.environ.get": "reads an environment variable",
    "importlib.metadata.version": "reads installed distribution metadata",
    "importlib.util.find_spec": "locates an installed module",
    "torch._C._log_api_usage_once": "usage telemetry counter, no I/O",
    "torch.utils._import_utils._check_module_exists": "locates an installed module",
    "torch._utils_internal.log_torchscript_usage": "usage telemetry, no I/O",
}

# Builtins that reach attributes or names chosen at run time: not sinks, but a call that reaches one with a
# computed argument is not *shown* to be pure, so the allow side does not permit it without review.
DYNAMIC: dict[str, str] = {
    "builtins.getattr": "getattr with a computed name",
    "builtins.setattr": "setattr with a computed name",
    "builtins.delattr": "delattr with a computed name",
    "builtins.globals": "reads module globals",
    "builtins.vars": "reads an object's namespace",
    "builtins.locals": "reads a frame's locals",
    "operator.attrgetter": "attribute access by a computed name",
    "operator.methodcaller": "method call by a computed name",
}
