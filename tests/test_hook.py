"""The import hook's mechanics, each case in its own interpreter, against a fake ``dill`` written to tmp_path.

The fake package shadows the real one (it is first on ``sys.path``), so these tests need no framework and
cover what wrapt's own tests cover: patching before and after import, idempotency, threads, reversibility,
version gates and failures inside a hook that must never break the import.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from safeload import hook

ROOT = Path(__file__).resolve().parents[1]

FAKE_INIT = """\
__version__ = {version!r}
from dill._dill import {names}
"""

FAKE_DILL = """\
import pickle
CALLS = []

def load(file, ignore=None, **kwds):
    CALLS.append("load")
    return pickle.load(file)

def loads(str, ignore=None, **kwds):
    CALLS.append("loads")
    return pickle.loads(str)
"""

PRELUDE = """\
import json, io, pickle, sys, threading
import safeload
from safeload import hook
from safeload.loaders._common import ORIGINALS
out = {}
def done():
    print("RESULT " + json.dumps(out, default=str))
"""


def fake_dill(root: Path, *, version: str = "0.4.0", names: str = "load, loads", extra: str = "") -> Path:
    pkg = root / "fakes" / "dill"
    pkg.mkdir(parents=True, exist_ok=True)
    (pkg / "__init__.py").write_text(FAKE_INIT.format(version=version, names=names) + extra)
    (pkg / "_dill.py").write_text(FAKE_DILL)
    return root / "fakes"


def run(code: str, *, path: Path | None = None, env: dict[str, str] | None = None,
        cwd: Path | None = None) -> dict[str, Any]:
    """Run ``code`` in a fresh interpreter (fake packages first on sys.path); return its RESULT dict."""
    full = PRELUDE + textwrap.dedent(code) + "\ndone()\n"
    if path is not None:
        full = f"import sys; sys.path.insert(0, {str(path)!r})\n" + full
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SAFELOAD_")}
    # HOOK_TEST_EXTRA_PATH puts another wrapt first (e.g. an unpacked wrapt 1.x wheel) to check both majors
    environ["PYTHONPATH"] = os.pathsep.join(p for p in (os.environ.get("HOOK_TEST_EXTRA_PATH"), str(ROOT)) if p)
    environ.update(env or {})
    proc = subprocess.run([sys.executable, "-c", full], capture_output=True, text=True, timeout=120,
                          env=environ, cwd=cwd or ROOT, check=False)
    assert proc.returncode == 0, proc.stderr
    line = next(x for x in proc.stdout.splitlines() if x.startswith("RESULT "))
    result: dict[str, Any] = json.loads(line[len("RESULT "):])
    result["_stderr"] = proc.stderr
    return result


EVIL = b"\x80\x04\x8c\x05posix\x8c\x06system\x93\x8c\x04true\x85R."


def test_install_before_import_patches_on_import(tmp_path: Path) -> None:
    r = run(f"""
        assert safeload.install() is True
        out["pending"] = list(hook.status().pending)
        assert "dill" not in sys.modules
        import dill, dill._dill
        original = dill._dill.__dict__["load"].__wrapped__
        out["wrapped"] = getattr(dill.load, "_safeload_wrapper", False)
        out["alias_same"] = dill.load is dill._dill.load
        out["orig_recorded"] = ORIGINALS[("dill", "load")] is original
        out["value"] = dill.loads(pickle.dumps({{"a": [1, 2]}}))
        out["calls"] = list(dill._dill.CALLS)
        try:
            dill.loads({EVIL!r})
        except safeload.UnsafeModelError as e:
            out["refused"] = type(e).__name__
        out["status"] = hook.status().to_dict()
    """, path=fake_dill(tmp_path))
    assert "dill.load" in r["pending"]
    assert r["wrapped"] is True
    assert r["alias_same"] is True
    assert r["orig_recorded"] is True
    assert r["value"] == {"a": [1, 2]}
    assert r["calls"] == ["loads"]  # the real (fake) dill.loads ran once, after the scan; no recursion
    assert r["refused"] == "UnsafePickleError"
    status = r["status"]
    assert isinstance(status, dict)
    assert {"dill.load", "dill.loads", "dill._dill.load", "dill._dill.loads"} <= set(status["patched"])
    assert status["errors"] == []


def test_install_after_import_and_uninstall_restores_exact_objects(tmp_path: Path) -> None:
    r = run("""
        import dill, dill._dill
        originals = {n: getattr(dill, n) for n in ("load", "loads")}
        inner = {n: getattr(dill._dill, n) for n in ("load", "loads")}
        safeload.install()
        out["patched"] = all(getattr(dill, n) is not originals[n] for n in originals)
        out["wrapped_is_original"] = dill.load.__wrapped__ is originals["load"]
        import inspect
        out["signature"] = str(inspect.signature(dill.load)) == str(inspect.signature(originals["load"]))
        out["name"] = dill.load.__name__
        out["uninstall"] = safeload.uninstall()
        out["restored"] = all(getattr(dill, n) is originals[n] for n in originals)
        out["restored_inner"] = all(getattr(dill._dill, n) is inner[n] for n in inner)
        out["originals_left"] = [k for k in ORIGINALS if k[0].startswith("dill")]
        out["second_uninstall"] = safeload.uninstall()
        out["installed"] = safeload.is_installed()
    """, path=fake_dill(tmp_path))
    assert r["patched"] is True
    assert r["wrapped_is_original"] is True
    assert r["signature"] is True
    assert r["name"] == "load"
    assert r["uninstall"] is True
    assert r["restored"] is True
    assert r["restored_inner"] is True
    assert r["originals_left"] == []
    assert r["second_uninstall"] is False
    assert r["installed"] is False


def test_second_install_is_a_noop_with_a_log_line(tmp_path: Path) -> None:
    r = run("""
        import logging
        records = []
        class H(logging.Handler):
            def emit(self, record): records.append((record.levelname, record.getMessage()))
        logging.getLogger("safeload.hook").addHandler(H())
        logging.getLogger("safeload.hook").setLevel(logging.INFO)
        import dill
        out["first"] = safeload.install()
        wrapper = dill.load
        out["second"] = safeload.install()
        out["third"] = safeload.install(threshold="critical")
        out["same_wrapper"] = dill.load is wrapper
        out["not_double"] = not getattr(dill.load.__wrapped__, "_safeload_wrapper", False)
        out["generation"] = hook.status().generation
        out["records"] = records
    """, path=fake_dill(tmp_path))
    assert r["first"] is True
    assert r["second"] is False
    assert r["third"] is False
    assert r["same_wrapper"] is True
    assert r["not_double"] is True
    assert r["generation"] == 1
    records = r["records"]
    assert isinstance(records, list)
    assert ["INFO", "safeload hook already installed; install() ignored"] in records
    assert any(level == "WARNING" and "different settings" in msg for level, msg in records)


@pytest.mark.parametrize("import_first", [True, False])
def test_install_from_eight_threads_patches_once(tmp_path: Path, import_first: bool) -> None:
    r = run(f"""
        if {import_first}:
            import dill
        barrier = threading.Barrier(8)
        results = []
        def worker(i):
            barrier.wait()
            results.append(safeload.install())
            if i % 2:
                import dill  # importing while others install
        threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
        for t in threads: t.start()
        for t in threads: t.join()
        import dill, dill._dill
        out["results"] = sorted(results)
        out["generation"] = hook.status().generation
        out["single_layer"] = not getattr(dill.load.__wrapped__, "_safeload_wrapper", False)
        out["wrapped"] = getattr(dill.load, "_safeload_wrapper", False)
        out["patched"] = list(hook.status().patched)
        out["value"] = dill.loads(pickle.dumps([1]))
        out["calls"] = dill._dill.CALLS
    """, path=fake_dill(tmp_path))
    assert r["results"] == [False] * 7 + [True]
    assert r["generation"] == 1
    assert r["single_layer"] is True
    assert r["wrapped"] is True
    assert r["patched"] == ["dill._dill.load", "dill._dill.loads", "dill.load", "dill.loads"]
    assert r["value"] == [1]
    assert r["calls"] == ["loads"]


def test_hooks_are_noops_after_uninstall_and_work_again_after_reinstall(tmp_path: Path) -> None:
    r = run("""
        safeload.install()
        safeload.uninstall()
        import dill  # the wrapt hook still fires, and does nothing
        out["after_uninstall"] = getattr(dill.load, "_safeload_wrapper", False)
        out["patched"] = list(hook.status().patched)
        safeload.install()
        out["after_reinstall"] = getattr(dill.load, "_safeload_wrapper", False)
        out["generation"] = hook.status().generation
        safeload.uninstall()
        del sys.modules["dill"], sys.modules["dill._dill"]
        safeload.install()  # not imported any more: registered again, patched on the next import
        import dill
        out["after_reimport"] = getattr(dill.load, "_safeload_wrapper", False)
    """, path=fake_dill(tmp_path))
    assert r["after_uninstall"] is False
    assert r["patched"] == []
    assert r["after_reinstall"] is True
    assert r["generation"] == 2
    assert r["after_reimport"] is True


def test_patched_context_manager_restores_and_respects_outer_install(tmp_path: Path) -> None:
    r = run("""
        import dill
        original = dill.load
        with safeload.patched() as st:
            out["inside"] = dill.load is not original
            out["status_installed"] = st.installed
        out["after"] = dill.load is original
        safeload.install()
        with safeload.patched():
            pass
        out["outer_kept"] = safeload.is_installed() and dill.load is not original
    """, path=fake_dill(tmp_path))
    assert r == {**r, "inside": True, "status_installed": True, "after": True, "outer_kept": True}


def test_version_gate_skips_with_a_recorded_reason(tmp_path: Path) -> None:
    r = run("""
        safeload.install()
        import dill
        out["wrapped"] = getattr(dill.load, "_safeload_wrapper", False)
        out["skipped"] = hook.status().skipped
        out["errors"] = len(hook.status().errors)
    """, path=fake_dill(tmp_path, version="0.3.1"))
    assert r["wrapped"] is False
    skipped = r["skipped"]
    assert isinstance(skipped, dict)
    assert "older than 0.3.6" in skipped["dill.load"]
    assert r["errors"] == 0


def test_unparseable_version_is_skipped_not_guessed(tmp_path: Path) -> None:
    r = run("""
        safeload.install()
        import dill
        out["wrapped"] = getattr(dill.load, "_safeload_wrapper", False)
        out["skipped"] = hook.status().skipped.get("dill.load", "")
    """, path=fake_dill(tmp_path, version="banana"))
    assert r["wrapped"] is False
    assert "cannot determine the version" in str(r["skipped"])


def test_missing_attribute_is_recorded_and_the_import_succeeds(tmp_path: Path) -> None:
    r = run("""
        import logging
        records = []
        class H(logging.Handler):
            def emit(self, record): records.append((record.levelname, record.getMessage()))
        logging.getLogger("safeload.hook").addHandler(H())
        safeload.install()
        import dill
        out["imported"] = True
        out["load_wrapped"] = getattr(dill.load, "_safeload_wrapper", False)
        out["errors"] = [e.message for e in hook.status().errors]
        out["records"] = records
    """, path=fake_dill(tmp_path, names="load"))
    assert r["imported"] is True
    assert r["load_wrapped"] is True
    assert any("dill.loads is missing" in str(e) for e in r["errors"])
    # logged once at WARNING on safeload.hook; the library itself prints nothing (only a NullHandler)
    assert [level for level, msg in r["records"] if "dill.loads is missing" in msg] == ["WARNING"]
    assert r["_stderr"] == ""


RAISING = """
import types
class _ReadOnly(types.ModuleType):
    def __setattr__(self, name, value):
        if name == "load":
            raise RuntimeError("this module refuses to be patched")
        super().__setattr__(name, value)
sys.modules[__name__].__class__ = _ReadOnly
import sys as _sys
"""


def test_a_hook_that_raises_never_breaks_the_import(tmp_path: Path) -> None:
    fakes = fake_dill(tmp_path)
    # dill/__init__ defines its own functions here (no from-import of _dill's, already patched by then)
    (fakes / "dill" / "__init__.py").write_text('__version__ = "0.4.0"\nimport sys\n' + FAKE_DILL + RAISING)
    r = run("""
        import logging
        warnings = []
        class H(logging.Handler):
            def emit(self, record): warnings.append(record.getMessage())
        logging.getLogger("safeload.hook").addHandler(H())
        safeload.install()
        import dill
        out["imported"] = dill.__version__
        out["load_wrapped"] = getattr(dill.load, "_safeload_wrapper", False)
        out["loads_wrapped"] = getattr(dill.loads, "_safeload_wrapper", False)
        out["errors"] = [e.message for e in hook.status().errors]
        out["warnings"] = warnings
        out["orig_key"] = ("dill", "load") in ORIGINALS
    """, path=fakes)
    assert r["imported"] == "0.4.0"
    assert r["load_wrapped"] is False
    assert r["loads_wrapped"] is True
    assert any("dill.load: " not in str(e) and "refuses to be patched" in str(e)
               for e in r["errors"])
    assert any("refuses to be patched" in str(w) for w in r["warnings"])
    assert r["orig_key"] is False


def test_an_exception_escaping_the_patch_logic_is_caught(tmp_path: Path) -> None:
    r = run("""
        def boom(*a, **k):
            raise RuntimeError("simulated bug in the hook")
        from safeload.hook import patch as hook_patch
        hook_patch._patch_module = boom
        safeload.install()
        import dill
        out["imported"] = dill.__version__
        out["errors"] = [(e.target, e.message) for e in hook.status().errors]
    """, path=fake_dill(tmp_path))
    assert r["imported"] == "0.4.0"
    assert ["dill", "RuntimeError: simulated bug in the hook"] in r["errors"]


def test_install_time_threshold_and_trust_are_passed_to_every_hooked_load(tmp_path: Path) -> None:
    (tmp_path / "fakes").mkdir()
    (tmp_path / "fakes" / "helpers.py").write_text("def make():\n    return 42\n")
    medium = b"\x80\x04\x8c\x07helpers\x8c\x04make\x93)R."
    r = run(f"""
        import dill
        try:
            with safeload.patched():
                dill.loads({medium!r})
        except safeload.UnsafeModelError:
            out["default"] = "refused"
        with safeload.patched(trusted=["helpers.make"]):
            out["trusted"] = dill.loads({medium!r})
        with safeload.patched(threshold="critical"):
            out["critical"] = dill.loads({medium!r})
            try:
                dill.loads({EVIL!r})
            except safeload.UnsafeModelError:
                out["evil"] = "refused"
    """, path=fake_dill(tmp_path))
    assert r["default"] == "refused"
    assert r["trusted"] == 42
    assert r["critical"] == 42
    assert r["evil"] == "refused"


def test_environment_stricter_threshold_wins_over_install_argument(tmp_path: Path) -> None:
    (tmp_path / "fakes").mkdir()
    (tmp_path / "fakes" / "helpers.py").write_text("def make():\n    return 42\n")
    medium = b"\x80\x04\x8c\x07helpers\x8c\x04make\x93)R."
    r = run(f"""
        import dill
        safeload.install(threshold="critical")
        try:
            dill.loads({medium!r})
        except safeload.UnsafeModelError:
            out["refused"] = True
    """, path=fake_dill(tmp_path), env={"SAFELOAD_THRESHOLD": "medium"})
    assert r["refused"] is True


def test_invalid_settings_fail_at_install_not_at_first_load() -> None:
    r = run("""
        for kwargs in ({"threshold": "loud"}, {"trusted": ["os.system"]}, {"targets": ["tensorflw"]}):
            try:
                safeload.install(**kwargs)
            except ValueError as e:
                out.setdefault("errors", []).append(type(e).__name__)
        out["installed"] = safeload.is_installed()
    """)
    assert r["errors"] == ["ValueError", "PolicyError", "ValueError"]
    assert r["installed"] is False


def test_audit_record_names_the_hooked_alias(tmp_path: Path) -> None:
    r = run(f"""
        import logging
        records = []
        class H(logging.Handler):
            def emit(self, record):
                records.append({{k: getattr(record, k, None) for k in
                                ("safeload_loader", "safeload_hook", "safeload_verdict", "levelname")}})
        logger = logging.getLogger("safeload.loaders")
        logger.addHandler(H())
        logger.setLevel(logging.INFO)
        safeload.install()
        import dill
        dill.loads(pickle.dumps(1))
        try:
            dill.loads({EVIL!r})
        except safeload.UnsafeModelError:
            pass
        safeload.dill_loads(pickle.dumps(2))
        out["records"] = records
    """, path=fake_dill(tmp_path))
    assert r["records"] == [
        {"safeload_loader": "dill.loads", "safeload_hook": "dill.loads", "safeload_verdict": "allowed",
         "levelname": "INFO"},
        {"safeload_loader": "dill.loads", "safeload_hook": "dill.loads", "safeload_verdict": "refused",
         "levelname": "WARNING"},
        {"safeload_loader": "dill.loads", "safeload_hook": None, "safeload_verdict": "allowed",
         "levelname": "INFO"},
    ]


def test_pickle_module_is_patched_only_when_asked_for() -> None:
    r = run(f"""
        original = pickle.load
        safeload.install()
        out["default"] = pickle.load is original and "pickle" not in hook.status().targets
        safeload.uninstall()
        import _pickle
        saved = {{n: getattr(_pickle, n) for n in ("load", "loads")}}
        safeload.install(targets=["default", "pickle"])
        out["explicit"] = [getattr(m, n).__wrapped__ is saved[n]
                           for m in (pickle, _pickle) for n in ("load", "loads")]
        out["roundtrip"] = pickle.loads(pickle.dumps({{"k": (1, 2.0)}}))
        out["direct"] = safeload.pickle_loads(pickle.dumps([3]))  # the safe loader does not recurse
        try:
            pickle.load(io.BytesIO({EVIL!r}))
        except safeload.UnsafeModelError:
            out["refused"] = True
        safeload.uninstall()
        out["restored"] = pickle.load is original
    """)
    assert r["default"] is True
    assert r["explicit"] == [True, True, True, True]
    assert r["roundtrip"] == {"k": [1, 2.0]}
    assert r["direct"] == [3]
    assert r["refused"] is True
    assert r["restored"] is True


def test_references_taken_before_install_are_reported(tmp_path: Path) -> None:
    fakes = fake_dill(tmp_path)
    (fakes / "early.py").write_text("from dill import load as early_load\n")
    r = run("""
        import early
        safeload.install()
        out["unguarded"] = list(hook.status().unguarded)
        out["early_guarded"] = getattr(early.early_load, "_safeload_wrapper", False)
    """, path=fakes)
    assert r["unguarded"] == ["early.early_load -> dill.load"]
    assert r["early_guarded"] is False


def test_early_references_are_reported_once_and_cleared_by_uninstall(tmp_path: Path) -> None:
    """multiprocessing's spawn registers the main module as ``__main__`` and ``__mp_main__``: one module."""
    fakes = fake_dill(tmp_path)
    r = run("""
        import logging
        warnings = []
        class H(logging.Handler):
            def emit(self, record): warnings.append(record.getMessage())
        logging.getLogger("safeload.hook").addHandler(H())
        from dill import load as early_load
        main = sys.modules["__main__"]
        sys.modules["__mp_main__"] = main
        sys.modules["an_alias_of_main"] = main
        safeload.install()
        out["unguarded"] = list(hook.status().unguarded)
        out["warnings"] = [w for w in warnings if "not guarded" in w]
        out["text"] = str(hook.status())
        safeload.uninstall()
        out["after_uninstall"] = list(hook.status().unguarded)
        out["text_after"] = str(hook.status())
    """, path=fakes)
    assert r["unguarded"] == ["__main__.early_load -> dill.load"]
    assert len(r["warnings"]) == 1 and "__mp_main__" not in r["warnings"][0]
    assert "unguarded __main__.early_load" in r["text"]
    assert r["after_uninstall"] == []
    assert "unguarded" not in r["text_after"]


def test_status_shows_the_trusted_names(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.safeload]\ntrusted = ["filepkg.Model"]\n')
    r = run("""
        safeload.install(trusted=["mypkg.models.Net", "mypkg.layers.*"])
        st = hook.status()
        out["trusted"] = list(st.trusted)
        out["trusted_config"] = list(st.trusted_config)
        out["dict"] = st.to_dict()
        out["text"] = str(st)
    """, env={"SAFELOAD_TRUSTED": "envpkg.Thing"}, cwd=tmp_path)
    assert r["trusted"] == ["mypkg.models.Net", "mypkg.layers.*"]
    assert r["trusted_config"] == ["filepkg.Model", "envpkg.Thing"]
    assert r["dict"]["trusted"] == r["trusted"] and r["dict"]["trusted_config"] == r["trusted_config"]
    text = r["text"].splitlines()
    for line in ("  trusted   mypkg.models.Net (install)", "  trusted   mypkg.layers.* (install)",
                 "  trusted   filepkg.Model (config)", "  trusted   envpkg.Thing (config)"):
        assert line in text


def test_import_safeload_auto_first_covers_later_from_imports(tmp_path: Path) -> None:
    fakes = fake_dill(tmp_path)
    (fakes / "early.py").write_text("from dill import load as early_load\n")
    r = run(f"""
        import safeload.auto
        import early
        out["early_guarded"] = getattr(early.early_load, "_safeload_wrapper", False)
        try:
            early.early_load(io.BytesIO({EVIL!r}))
        except safeload.UnsafeModelError:
            out["refused"] = True
        safeload.uninstall()
        out["still_guarded_after_uninstall"] = getattr(early.early_load, "_safeload_wrapper", False)
    """, path=fakes)
    assert r["early_guarded"] is True
    assert r["refused"] is True
    assert r["still_guarded_after_uninstall"] is True  # errs on the safe side; documented


def test_lazy_module_attribute_is_patched_and_restored(tmp_path: Path) -> None:
    fakes = fake_dill(tmp_path, names="loads")
    (fakes / "dill" / "_lazy.py").write_text("def load(file, ignore=None, **kw):\n    return 'lazy'\n")
    with (fakes / "dill" / "__init__.py").open("a") as f:
        f.write("def __getattr__(name):\n    if name == 'load':\n        from dill._lazy import load\n"
                "        return load\n    raise AttributeError(name)\n")
    r = run("""
        import dill, dill._lazy
        safeload.install()
        out["wrapped"] = getattr(dill.load, "_safeload_wrapper", False)
        out["wraps_lazy"] = dill.load.__wrapped__ is dill._lazy.load
        safeload.uninstall()
        out["in_dict"] = "load" in vars(dill)
        out["restored"] = dill.load is dill._lazy.load
        out["errors"] = [e.message for e in hook.status().errors]
    """, path=fakes)
    assert r["wrapped"] is True and r["wraps_lazy"] is True
    assert r["in_dict"] is False and r["restored"] is True and r["errors"] == []


def test_install_while_another_thread_is_importing_waits_and_patches(tmp_path: Path) -> None:
    fakes = fake_dill(tmp_path, extra="import time\ntime.sleep(0.6)  # still importing when install() runs\n")
    r = run("""
        import time
        importer = threading.Thread(target=lambda: __import__("dill"))
        importer.start()
        while "dill" not in sys.modules:
            time.sleep(0.005)
        safeload.install()  # dill is half-imported in the other thread: install() waits for it, then patches
        importer.join()
        import dill
        out["wrapped"] = getattr(dill.load, "_safeload_wrapper", False)
        out["errors"] = [e.message for e in hook.status().errors]
        out["skipped"] = hook.status().skipped
    """, path=fakes)
    assert r["wrapped"] is True and r["errors"] == [] and r["skipped"] == {}


def test_install_during_the_targets_own_import_is_reported(tmp_path: Path) -> None:
    fakes = fake_dill(tmp_path, extra="import safeload\nsafeload.install()\n")
    r = run("""
        import dill
        out["imported"] = dill.__version__
        out["skipped"] = hook.status().skipped
        out["inner_wrapped"] = getattr(sys.modules["dill._dill"].load, "_safeload_wrapper", False)
    """, path=fakes)
    assert r["imported"] == "0.4.0" and r["inner_wrapped"] is True
    assert "still being imported" in r["skipped"]["dill.load"]


TF_KERAS = """\
__version__ = "2.16.0"
import types
CALLS = []
def _load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    CALLS.append(filepath)
    return "tf_keras model"
models = types.SimpleNamespace(load_model=_load_model)
saving = types.SimpleNamespace(load_model=_load_model)
"""


@pytest.mark.parametrize("legacy", ["1", ""])
def test_tf_keras_nested_aliases_follow_tf_use_legacy_keras(tmp_path: Path, legacy: str) -> None:
    fakes = tmp_path / "fakes"
    (fakes / "tf_keras").mkdir(parents=True)
    (fakes / "tf_keras" / "__init__.py").write_text(TF_KERAS)
    (tmp_path / "not_a_model.keras").write_bytes(b"definitely not a model")
    r = run(f"""
        safeload.install(targets=["tf_keras"])
        import tf_keras
        out["wrapped"] = getattr(tf_keras.models.load_model, "_safeload_wrapper", False)
        out["skipped"] = hook.status().skipped
        if out["wrapped"]:
            try:
                tf_keras.models.load_model({str(tmp_path / "not_a_model.keras")!r})
            except safeload.UnsafeModelError as e:
                out["refused"] = type(e).__name__
            out["calls"] = tf_keras.CALLS
            safeload.uninstall()
            out["restored"] = tf_keras.models.load_model is tf_keras.saving.load_model is tf_keras._load_model
    """, path=fakes, env={"TF_USE_LEGACY_KERAS": legacy})
    if legacy:
        assert r["wrapped"] is True and r["refused"] == "UnsafeKerasModelError"
        assert r["calls"] == [] and r["restored"] is True
    else:
        assert r["wrapped"] is False
        assert "TF_USE_LEGACY_KERAS" in r["skipped"]["tf_keras.models.load_model"]


# ----- in-process checks that install nothing -----------------------------------------------------------


def test_target_names() -> None:
    assert "pickle" not in hook.DEFAULT_TARGETS
    assert hook._parse_targets(None) == hook.DEFAULT_TARGETS
    assert hook._parse_targets(["default", "pickle"]) == (*hook.DEFAULT_TARGETS, "pickle")
    assert hook._parse_targets(["tf"]) == ("tensorflow", "keras", "tf_keras")
    with pytest.raises(ValueError, match="unknown hook target"):
        hook._parse_targets(["pytorch"])


def test_every_alias_has_a_safe_loader_reference() -> None:
    for target in hook._TARGETS.values():
        for alias in target.aliases:
            module, _, func = alias.loader.partition(":")
            assert module.startswith("safeload.loaders.")
            assert func.endswith(("_load", "_loads", "_read_pickle"))


def test_status_renders() -> None:
    st = hook.status()
    assert "safeload hook:" in str(st)
    assert json.loads(json.dumps(st.to_dict()))["installed"] == st.installed
