"""Reference oracle: which globals CPython's unpicklers *resolve* for some bytes, without running any of them.

``resolve(data)`` unpickles ``data`` with a subclass of the C unpickler (``pickle.Unpickler``) and of the
pure-Python one (``pickle._Unpickler``) whose ``find_class`` records ``(module, name)`` and returns an inert
stand-in class instead of importing anything; ``persistent_load`` returns a stand-in too. Every stream in
the buffer is loaded in turn, as torch's legacy loader does, until one fails or the data ends.

Safety: nothing named in the data is ever imported or called. The only callables on the unpickler's stack
are fresh stand-in classes (one per load, so BUILD/setattr on one cannot leak into the next) and their
instances. As a second fence, while ``resolve`` runs, an audit hook raises on ``pickle.find_class`` (which
would mean the override was bypassed) and on process, exec and code events. Run it in a subprocess
(``python sl_oracle.py`` reads base64 lines on stdin) for inputs whose C-unpickler memo could be huge.
"""

from __future__ import annotations

import base64
import codecs
import contextlib
import copyreg
import io
import json
import pickle
import sys
import threading
import warnings
from collections.abc import Iterator
from typing import Any

_BLOCKED_EVENTS = frozenset({
    "pickle.find_class", "os.system", "subprocess.Popen", "os.exec", "os.posix_spawn", "os.spawn", "os.fork",
    "exec", "compile", "ctypes.dlopen", "os.remove", "os.rename", "shutil.rmtree", "socket.connect",
    "marshal.loads", "code.__new__",
})
_guard = threading.local()


class OracleViolation(BaseException):
    """The sandbox saw an event it forbids while unpickling."""


def _audit(event: str, _args: tuple[Any, ...]) -> None:
    if getattr(_guard, "active", False) and event in _BLOCKED_EVENTS:
        raise OracleViolation(event)


# Codecs the unpicklers look up lazily (text opcodes); importing them later would trip the guard.
for _codec in ("raw-unicode-escape", "unicode-escape", "latin-1", "ascii", "utf-8", "bytes"):
    with contextlib.suppress(LookupError):
        codecs.lookup(_codec)
import _compat_pickle  # noqa: E402, F401 - the pure-Python unpickler imports it lazily

sys.addaudithook(_audit)


def _stand_in(key: tuple[str, str], calls: list[tuple[str, str]]) -> type:
    """An inert class standing for the global ``key``; calling it (REDUCE, NEWOBJ, OBJ, INST) is recorded."""

    class StandIn:
        def __new__(cls, *_a: Any, **_k: Any) -> Any:
            calls.append(key)
            return object.__new__(cls)

        def __init__(self, *_a: Any, **_k: Any) -> None:
            pass

        def __call__(self, *_a: Any, **_k: Any) -> Any:
            return object.__new__(StandIn)

        def __setstate__(self, _state: Any) -> None:
            pass

    return StandIn


def _recording(base: type) -> type:
    class Recorder(base):  # type: ignore[valid-type, misc]
        def __init__(self, file: Any, log: list[tuple[str, str]], calls: list[tuple[str, str]]) -> None:
            super().__init__(file)
            self.log = log
            self.calls = calls

        def find_class(self, module: str, name: str) -> Any:
            self.log.append((module, name))
            return _stand_in((module, name), self.calls)  # a fresh class: BUILD on one cannot leak

        def persistent_load(self, _pid: Any) -> Any:
            return object.__new__(_stand_in(("<persistent>", ""), []))

    return Recorder


C_RECORDER = _recording(pickle.Unpickler)
PY_RECORDER = _recording(pickle._Unpickler)  # type: ignore[attr-defined]


def _load_all(recorder: type, data: bytes) -> dict[str, Any]:
    log: list[tuple[str, str]] = []
    calls: list[tuple[str, str]] = []
    f = io.BytesIO(data)
    streams = 0
    error = None
    while f.tell() < len(data):
        try:
            recorder(f, log, calls).load()
            streams += 1
        except OracleViolation:
            raise
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt):
                raise
            error = f"{type(exc).__name__}: {str(exc)[:100]}"
            break
    return {"globals": log, "called": calls, "streams": streams, "error": error}


@contextlib.contextmanager
def guarded() -> Iterator[None]:
    """Silence warnings (STRING escapes warn; showing one imports linecache) and arm the audit fence."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _guard.active = True
        try:
            yield
        finally:
            _guard.active = False


def resolve(data: bytes) -> dict[str, Any]:
    """``{"c": {...}, "py": {...}}``: for each unpickler, the globals it resolved (in order), those it called,
    how many streams loaded completely, and the error that stopped it (or None)."""
    with guarded():
        return {"c": _load_all(C_RECORDER, data), "py": _load_all(PY_RECORDER, data)}


def summarize(out: dict[str, Any]) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """(resolved, called) over both unpicklers, from a ``resolve`` result or its JSON round trip."""
    resolved = {(m, n) for side in ("c", "py") for m, n in out[side]["globals"]}
    called = {(m, n) for side in ("c", "py") for m, n in out[side]["called"]}
    return resolved, called


def _empty(error: str | None) -> dict[str, Any]:
    side = {"globals": [], "called": [], "streams": 0, "error": error}
    return {"c": side, "py": dict(side)}


def main() -> None:
    """Subprocess mode: one base64 input per stdin line, one JSON result per stdout line."""
    import resource
    import signal

    resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))

    def _timeout(*_a: Any) -> None:
        raise TimeoutError("oracle time limit")

    signal.signal(signal.SIGALRM, _timeout)
    for spec in sys.argv[1:]:  # "--ext=module:name:code": register a copyreg extension, as a victim process might
        module, name, code = spec.removeprefix("--ext=").split(":")
        copyreg.add_extension(module, name, int(code))
    for line in sys.stdin:
        data = base64.b64decode(line.strip())
        signal.alarm(5)
        try:
            out = resolve(data)
        except OracleViolation as exc:
            import traceback

            traceback.print_exc()
            out = _empty(None) | {"violation": str(exc)}
        except (TimeoutError, MemoryError) as exc:
            out = _empty(repr(exc)) | {"abort": True}
        finally:
            signal.alarm(0)
        sys.stdout.write(json.dumps(out) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
