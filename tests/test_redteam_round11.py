"""Red team round 11 (rt11): attacks on round 10's fixes (the sympy argument contract's work budget and escape
exemption, the plugin walk of the shadow check).

Every attack is live: the plain loader (``pickle.loads`` in a fresh interpreter) shows the effect (a marker file, or
a load that does not finish within the timeout); scanned through safeload it is refused.
"""

from __future__ import annotations

import os
import pickle
import random
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_sympy_contract import refused

pytest.importorskip("sympy")


def _plain_load_times_out(data: bytes, tmp_path: Path, timeout: float) -> bool:
    path = tmp_path / "hang.pkl"
    path.write_bytes(data)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFELOAD_")}
    try:
        subprocess.run([sys.executable, "-c", f"import pickle; pickle.load(open({str(path)!r}, 'rb'))"], env=env,
                       timeout=timeout, check=False, capture_output=True)
    except subprocess.TimeoutExpired:
        return True
    return False


# --- R11-1: Pow of an Integer to a non-integer Rational factors the base at load ------------------------------------
# Pow(Integer(p), Half) evaluates Integer._eval_power: integer_nthroot, perfect_power(p) and
# Integer(p).factors(limit=2**15) (trial division, Pollard rho/p-1) -- measured 1.6 s for an 8000-bit p, 34 ms at
# 2000 bits, 0.6 ms at 64 bits. The contract's bound admits it: bits(p) = 8001, Half's 3, so the Pow's bound is
# 8001 << 3 = 64012 <= 2**16; the node costs 3 argument slots of the 2**16 budget. Twenty such nodes (distinct
# bases: no cache) in one list: 20 KB, ~30 s of load. Small bases do it by count: 16000 Pows of 256-bit bases (4 slots each with the shared Half: 64000 of the 65536), 14 s.
def pow_root_list(count: int, bits: int, seed: int = 11) -> bytes:
    import sympy

    rng = random.Random(seed)  # noqa: S311 (distinct bases, not secrets)
    nodes = [sympy.Pow(sympy.Integer(rng.getrandbits(bits) | (1 << (bits - 1)) | 1), sympy.S.Half, evaluate=False)
             for _ in range(count)]
    return pickle.dumps(nodes, protocol=4)


@pytest.mark.slow  # the live twins run 10 s each
@pytest.mark.parametrize(("count", "bits"), [(20, 8000), (16000, 256)], ids=["few-huge", "many-small"])
def test_r11_1_root_of_a_large_integer_is_bounded(tmp_path: Path, count: int, bits: int) -> None:
    data = pow_root_list(count, bits)
    assert _plain_load_times_out(data, tmp_path, 10), "the plain load finished within 10 s"
    assert refused(data)


def test_r11_1_ordinary_roots_and_integer_powers_stay_admitted() -> None:
    """The root charge falls on the numbers under a non-integer exponent only: sqrt(2)*x, a root of a symbol or of
    a 100-bit integer, and integer powers stay admitted."""
    import sympy

    x = sympy.Symbol("x")
    admitted = [sympy.sqrt(2) * x, sympy.Pow(x, sympy.S.Half), sympy.Pow(x + 1, sympy.Rational(1, 3)),
                sympy.Pow(sympy.Integer(10**30), sympy.S.Half, evaluate=False), x**2 + 2 * x,
                sympy.Pow(sympy.Integer(2**200 + 1), sympy.Integer(7), evaluate=False)]
    assert not refused(pickle.dumps(admitted, protocol=4))


# --- R11-2: a shadow of the trusted plugin's own module ----------------------------------------------------------
# The closure walk (shadow_reach._walk) queues a declared plugin's modules but never reports a candidate for them
# ("the plugin itself is SL119's"); SL119 trusts the plugin by its entry point name. A file named like the plugin's
# module in the working directory is what torch's import then runs.
def _trusted_plugin_site(tmp_path: Path) -> tuple[str, dict[str, str]]:
    """round 8's ``rt8p`` torch plugin installed in a site directory (its marker in ``tmp_path``): (site, files)."""
    from tests.test_import_time_plugins import _PLUGIN, _site

    marker = tmp_path / "MARKER"
    files = {rel: text.replace("MARKER", repr(str(marker))) for rel, text in _PLUGIN.items()}
    return _site(tmp_path / "site", files), files


def _plugin_shadow(tmp_path: Path) -> Path:
    """An ``rt8p.py`` in the working directory that touches a marker when imported; the marker's path."""
    marker = tmp_path / "SHADOW"
    (tmp_path / "rt8p.py").write_text(f"open({str(marker)!r}, 'w').close()\n\n\ndef init():\n    pass\n")
    return marker


def test_r11_2_shadow_of_the_trusted_plugin_module(tmp_path: Path) -> None:
    from tests.test_import_time_plugins import _LOAD, _SHADOW_TWIN, _run

    pytest.importorskip("torch")
    site, _files = _trusted_plugin_site(tmp_path)
    shadow_marker = _plugin_shadow(tmp_path)
    data = b"\x80\x02ctorch\nfloat32\n."
    result = _run(site, _LOAD.format(data=data, trusted=["rt8p.*"]), tmp_path)
    assert not shadow_marker.exists(), "the shadowing module ran under safeload"
    assert result["loaded"] is False, result
    _run(site, _SHADOW_TWIN.format(data=data), tmp_path)  # live twin: torch loads the plugin from the shadow
    assert shadow_marker.exists()


# --- R11-3: the shadow brings its own distribution metadata --------------------------------------------------------
# R11-2's fix takes a plugin module found next to the metadata of a distribution declaring the plugin as installed.
# The working directory can hold that metadata too (a copy of the installed dist-info): importlib.metadata finds it
# there, the trusted entry point's name is the same, and the file beside it runs.
def test_r11_3_shadow_with_its_own_dist_info(tmp_path: Path) -> None:
    from tests.test_import_time_plugins import _LOAD, _SHADOW_TWIN, _run, _site

    pytest.importorskip("torch")
    site, files = _trusted_plugin_site(tmp_path)
    _site(tmp_path, {rel: text for rel, text in files.items() if rel.startswith("rt8p-1.0.dist-info/")})
    shadow_marker = _plugin_shadow(tmp_path)
    data = b"\x80\x02ctorch\nfloat32\n."
    result = _run(site, _LOAD.format(data=data, trusted=["rt8p.*"]), tmp_path)
    assert not shadow_marker.exists(), "the shadowing module ran under safeload"
    assert result["loaded"] is False, result
    _run(site, _SHADOW_TWIN.format(data=data), tmp_path)  # live twin
    assert shadow_marker.exists()
