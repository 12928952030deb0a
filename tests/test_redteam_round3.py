"""Red team round 3: safeload attacked with its source in hand (hand reviews, the R2-5 rule, the long tail).

Every case builds its file at test time (and, for the source analysis, the installed "library" it names: a package
in a ``site-packages`` directory under ``tmp_path`` on ``PYTHONPATH`` of a subprocess, as in round 2) and carries a
harmless payload: it creates a marker file under ``tmp_path``.

- ``test_<case>_is_live`` runs the payload under the real loader and sees the marker;
- ``test_<case>_is_refused`` runs ``safeload.scan`` and the safe loader with the same file and asserts a refusal
  *and* an absent marker. Bypasses safeload lets through on main are ``xfail(strict=True, reason="R3-N: ...")`` so
  the fix flips them.

Near misses (attacks tried on the way that safeload already refuses) are plain regression tests.

Findings:
- R3-1 a wrong hand review: ``rv_generic.__setstate__`` (catalog/_gen/reviewed_methods.py, "inert") execs
  ``self._parse_arg_template``, a string the BUILD state sets: every catalogued scipy.stats distribution class is
  an ``exec`` of text from the file, with no global but ``copyreg._reconstructor`` and the class;
- R3-2 the source analysis (catalog/source_effects.py) misses implicit protocol calls on objects of the module's
  own classes: ``'%s' % (o,)``, ``'{}'.format(o)``, tuple unpacking, ``{**o}``/``f(**o)``, ``sorted``,
  ``range(o)``/``seq[o]`` (``__index__``), ``C[...]`` (``__class_getitem__``), ``f(*C())``/``f'{C()}'`` on a fresh
  instance, a lambda default, ``if o:``/``assert o`` at import, ``typing.List[o]`` (hash);
- R3-3 the R2-5 rule (engine/semantics.py ``_state_attributes_may_be_called``) ranks only the top-level values of
  BUILD state: an object inside a list/dict/tuple attribute is never ranked for CALL_INSTANCE.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.test_redteam_round2 import LibCase, _g, _install, _run

ROOT = Path(__file__).resolve().parent.parent

_SAFE = """
import json, safeload
report = safeload.scan({p!r})
try:
    with open({p!r}, "rb") as f:
        safeload.pickle_load(f)
    loaded = True
except safeload.SafeloadError:
    loaded = False
print(json.dumps({{"loaded": loaded, "blocking": [f.rule_id for f in report.findings
                                                  if f.severity >= safeload.Severity.MEDIUM]}}))
"""

_REAL = "import gc, pickle\ntry:\n    pickle.load(open({p!r}, 'rb'))\nexcept Exception:\n    pass\ngc.collect()\n"


def _live(tmp_path: Path, case: LibCase) -> None:
    site, payload, marker = _install(tmp_path, case)
    done = _run(site, _REAL.format(p=str(payload)))
    assert marker.exists(), f"payload did not run under pickle.load: {done.stderr[-2000:]}"


def _refused(tmp_path: Path, case: LibCase) -> None:
    site, payload, marker = _install(tmp_path, case)
    done = _run(site, _SAFE.format(p=str(payload)))
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert not marker.exists(), "the payload ran under safeload"
    assert result["loaded"] is False and result["blocking"], result


def _container_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SAFELOAD_", "PYTEST_"))}
    env["PYTHONPATH"] = str(ROOT)
    return env


def _load_in(tmp_path: Path, container: str, path: Path, *, safe: bool) -> subprocess.CompletedProcess[str]:
    """Load ``path`` in a subprocess (cwd ``tmp_path``) with the safe or the plain loader of ``container``."""
    from tests import attacks

    body = (f"from tests import attacks\nattacks.safe_load({container!r}, p)" if safe
            else attacks.CONTAINERS[container][1])
    code = ("import warnings; warnings.simplefilter('ignore')\n"
            f"p = {str(path)!r}\n"
            "from pathlib import Path; p = Path(p)\n"
            "try:\n" + textwrap.indent(body, "    ") + "\n    print('LOADED')\n"
            "except BaseException as exc:\n    print('REFUSED' if 'Unsafe' in type(exc).__name__ else 'ERROR', "
            "type(exc).__name__)\n")
    return subprocess.run([sys.executable, "-c", code], env=_container_env(), cwd=tmp_path, capture_output=True,
                          text=True, timeout=300, check=False)


def _scan_blocking(path: Path) -> list[str]:
    import safeload

    return [f.rule_id for f in safeload.scan(str(path)).findings if f.severity >= safeload.Severity.MEDIUM]


# --- R3-1: a scipy.stats distribution execs a string from its BUILD state ----------------------------------------
# scipy 1.17.1 stats/_distn_infrastructure.py: rv_generic.__setstate__ runs ``self.__dict__.update(state)`` then
# ``self._attach_methods()``; every distribution's _attach_methods calls ``_attach_argparser_methods``, which runs
# ``exec(self._parse_arg_template, ns)``. ``_parse_arg_template`` is an ordinary instance attribute (rv_continuous
# .__getstate__ keeps it in the pickled state), so the file chooses the text. The hand review in
# catalog/_gen/reviewed_methods.py calls this method inert ("exec of an argument parser generated from shape names
# that _construct_argparser first checks"): the check runs in __init__, which unpickling never calls.

_DISTRIBUTIONS = [("scipy.stats._continuous_distns", "norm_gen"),
                  ("scipy.stats._discrete_distns", "poisson_gen"),
                  ("scipy.stats._continuous_distns", "gamma_gen")]


def _distribution_exec(marker: Path, module: str = "scipy.stats._continuous_distns", cls: str = "norm_gen") -> bytes:
    from tests.attacks import C, G, assemble

    return assemble(C(G("copyreg", "_reconstructor"), (G(module, cls), G("builtins", "object"), None),
                      {"_parse_arg_template": f"open({str(marker)!r}, 'w').close()"}))


@pytest.mark.slow
@pytest.mark.parametrize(("module", "cls"), _DISTRIBUTIONS)
def test_distribution_template_exec_is_live(tmp_path: Path, module: str, cls: str) -> None:
    path = tmp_path / "model.pkl"
    marker = tmp_path / "MARKER"
    path.write_bytes(_distribution_exec(marker, module, cls))
    _load_in(tmp_path, "pickle", path, safe=False)
    assert marker.exists()


@pytest.mark.xfail(strict=True, reason="R3-1: rv_generic.__setstate__ execs _parse_arg_template from the state "
                   "(reviewed inert in catalog/_gen/reviewed_methods.py)")
@pytest.mark.parametrize(("module", "cls"), _DISTRIBUTIONS)
def test_distribution_template_exec_is_blocked_by_scan(tmp_path: Path, module: str, cls: str) -> None:
    path = tmp_path / "model.pkl"
    path.write_bytes(_distribution_exec(tmp_path / "MARKER", module, cls))
    assert _scan_blocking(path)
    assert not (tmp_path / "MARKER").exists()


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="R3-1: rv_generic.__setstate__ execs _parse_arg_template from the state "
                   "(reviewed inert in catalog/_gen/reviewed_methods.py)")
@pytest.mark.parametrize("container", ["pickle", "torch-zip", "torch-legacy", "joblib", "joblib-zlib", "npz", "dill",
                                       "cloudpickle"])
def test_distribution_template_exec_is_refused(tmp_path: Path, container: str) -> None:
    from tests import attacks

    path = tmp_path / "model.bin"
    marker = tmp_path / "MARKER"
    path.write_bytes(attacks.CONTAINERS[container][0](_distribution_exec(marker)))
    done = _load_in(tmp_path, container, path, safe=True)
    assert not marker.exists(), "the payload ran under safeload"
    assert "REFUSED" in done.stdout, done.stdout + done.stderr[-2000:]


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="R3-1: rv_generic.__setstate__ execs _parse_arg_template from the state "
                   "(reviewed inert in catalog/_gen/reviewed_methods.py)")
def test_distribution_template_exec_is_refused_by_pandas(tmp_path: Path) -> None:
    path = tmp_path / "frame.pkl"
    marker = tmp_path / "MARKER"
    path.write_bytes(_distribution_exec(marker))
    code = ("import safeload\ntry:\n    safeload.pandas_read_pickle(" + repr(str(path)) + ")\n    print('LOADED')\n"
            "except safeload.SafeloadError:\n    print('REFUSED')\n")
    done = subprocess.run([sys.executable, "-c", code], env=_container_env(), cwd=tmp_path, capture_output=True,
                          text=True, timeout=300, check=False)
    assert not marker.exists(), "the payload ran under safeload"
    assert "REFUSED" in done.stdout, done.stdout + done.stderr[-2000:]
