"""Notebook integration: ``%load_ext safeload`` in a real (kernel-less) IPython shell, the magics, and the
escaped ``_repr_html_``/``_repr_markdown_`` of ``ScanResult`` and ``UnsafeModelError`` on hostile names."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import safeload

ROOT = Path(__file__).resolve().parents[1]

# A GLOBAL whose module and name carry HTML, a Markdown table pipe, backticks and an ANSI escape sequence.
HOSTILE_MODULE = "<script>alert(1)</script>"
HOSTILE_NAME = "x|y`z\x1b[31mred\x1b]0;title\x07"
HOSTILE = b"c" + HOSTILE_MODULE.encode() + b"\n" + HOSTILE_NAME.encode() + b"\n)R."


def _assert_html_safe(html: str) -> None:
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert "\x1b" not in html
    assert "\x07" not in html


def _assert_markdown_safe(md: str) -> None:
    assert "\x1b" not in md
    assert "\x07" not in md
    assert "<script>" not in md
    for line in md.splitlines():
        if line.startswith("| ") and HOSTILE_MODULE[1:7] in line:
            # the pipe in the name is escaped, so each row keeps exactly its 5 cells
            assert line.replace("\\|", "").count("|") == 6


def test_scan_result_repr_escapes_hostile_names() -> None:
    result = safeload.scan(HOSTILE)
    assert not result.is_safe()
    assert any(f.subject and "script" in f.subject for f in result.findings)
    _assert_html_safe(result._repr_html_())
    _assert_markdown_safe(result._repr_markdown_())
    assert "\x1b" not in repr(result)
    assert "\x1b" not in result.summary()


def test_unsafe_model_error_repr_escapes_hostile_names() -> None:
    with pytest.raises(safeload.UnsafeModelError) as info:
        safeload.pickle_loads(HOSTILE)
    err = info.value
    _assert_html_safe(err._repr_html_())
    _assert_markdown_safe(err._repr_markdown_())
    assert "\x1b" not in str(err)
    assert "UnsafeModelError" in err._repr_html_()


SHELL = r"""
import json, sys
from pathlib import Path
from IPython.core.interactiveshell import InteractiveShell
import safeload

D = Path(sys.argv[1])
ip = InteractiveShell.instance()
out = {"before": safeload.is_installed()}
ip.run_line_magic("load_ext", "safeload")
out["after_load"] = safeload.is_installed()
out["magics"] = sorted(m for m in ip.magics_manager.magics["line"] if m.startswith("safeload"))
res = ip.run_line_magic("safeload_scan", str(D / "hostile.pkl"))
out["scan_verdict"] = res.verdict().value
fmt, _ = ip.display_formatter.format(res)
out["scan_mimes"] = sorted(fmt)
out["scan_html_safe"] = "<script>" not in fmt["text/html"] and "\x1b" not in fmt["text/html"]
out["scan_threshold"] = ip.run_line_magic("safeload_scan", f"{D / 'hostile.pkl'} --threshold critical").verdict().value
cell = ip.run_cell("import io, pickle\npickle.loads(b'\\x80\\x04K\\x01.')\nimport dill\nwith open(%r, 'rb') as f:\n    dill.load(f)" % str(D / "hostile.pkl"))
out["cell_error"] = type(cell.error_in_exec).__name__
fmt, _ = ip.display_formatter.format(cell.error_in_exec)
out["error_html_safe"] = "text/html" in fmt and "<script>" not in fmt["text/html"]
out["status_text"] = str(ip.run_line_magic("safeload_status", ""))
ip.run_line_magic("load_ext", "safeload")  # loading twice is harmless
ip.run_line_magic("unload_ext", "safeload")
out["after_unload"] = safeload.is_installed()
out["magics_after"] = sorted(m for m in ip.magics_manager.magics["line"] if m.startswith("safeload"))
print("RESULT " + json.dumps(out))
"""


def test_load_ext_in_a_real_ipython_shell(tmp_path: Path) -> None:
    pytest.importorskip("IPython")
    pytest.importorskip("dill")
    (tmp_path / "hostile.pkl").write_bytes(HOSTILE)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFELOAD_")}
    env["PYTHONPATH"] = str(ROOT)
    env["IPYTHONDIR"] = str(tmp_path / "ipython")
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(SHELL), str(tmp_path)], capture_output=True,
                          text=True, env=env, timeout=120, cwd=tmp_path, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(x for x in proc.stdout.splitlines() if x.startswith("RESULT "))
    out = json.loads(line[len("RESULT "):])
    assert out["before"] is False
    assert out["after_load"] is True
    assert out["magics"] == ["safeload_scan", "safeload_status"]
    assert out["scan_verdict"] == "unsafe"
    assert {"text/html", "text/markdown", "text/plain"} <= set(out["scan_mimes"])
    assert out["scan_html_safe"] is True
    assert out["scan_threshold"] in {"safe", "unsafe"}
    assert out["cell_error"] == "UnsafePickleError"
    assert out["error_html_safe"] is True
    assert "patched   dill.load" in out["status_text"]
    assert out["after_unload"] is False
    assert out["magics_after"] == []
