"""Measure the false-positive rate of the corpus, group every refusal by root cause, and time the scans.

    python -m tests.corpus.measure                      # build everything, scan, print the tables
    python -m tests.corpus.measure --groups pandas-dtypes,scipy
    python -m tests.corpus.measure --write-expected     # also rewrite tests/corpus/expected.py
    python -m tests.corpus.measure --json out.json --markdown out.md

Files are built in this process (with the real libraries); each group is then scanned in a **fresh process**
that imports only safeload, twice per file: the first scan pays the source analysis' parsing (cold), the
second hits its per-process caches (warm). Before timing, that process scans a trivial pickle so that
safeload's own lazy imports are not counted.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import traceback
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
EXPECTED = Path(__file__).with_name("expected.py")
BLOCKING = ("medium", "high", "critical")


def _scan_worker(manifest: Path, result: Path) -> None:
    """Runs in a fresh process: scan each file of the manifest twice, record findings and times."""
    import pickle

    import safeload
    from safeload.severity import Severity

    safeload.scan(pickle.dumps({"warm": [1, 2.0, "x"]}))
    rows = json.loads(manifest.read_text())
    out = []
    for row in rows:
        times = []
        res = None
        for _ in range(2):
            t0 = time.perf_counter()
            res = safeload.scan(row["path"])
            times.append(time.perf_counter() - t0)
        assert res is not None
        findings = [{"rule": f.rule_id, "severity": f.severity.label, "subject": f.subject, "message": f.message,
                     "count": f.count} for f in res.findings if f.severity >= Severity.LOW]
        out.append({**row, "safe": res.is_safe(), "cold": times[0], "warm": times[1], "findings": findings,
                    "max": res.max_severity.label if res.max_severity else None})
    result.write_text(json.dumps(out))


def root_cause(finding: dict[str, Any]) -> tuple[str, str]:
    """(category, reason) of one blocking finding, from its rule and the source analysis' message."""
    rule, message = finding["rule"], finding["message"]
    if rule in {"SL104", "SL105"}:
        if "source analysis: " in message:
            reason = message.split("source analysis: ", 1)[1]
            unreadable = ("is compiled", "is builtin", "not readable source", "source is missing", "no source", "not found")
            if any(word in reason for word in unreadable):
                return "catalogue gap: compiled or unreadable code", reason
            return "source analysis: not inert", reason
        if "could not be analysed" in message:
            return "engine: source analysis failed", message
        return "catalogue gap: not analysed", message
    if rule == "SL115":
        return "catalogue gap: entry permits fewer uses", message
    return "engine / format", message


# Root-cause patterns of refusals, most specific first: (regex on the reason, label; {0} is the first group).
PATTERNS: tuple[tuple[str, str], ...] = (
    (r"(?:module |importing )([\w.]+)(?: is compiled|: the module is compiled|: the module is builtin)",
     "compiled module {0}: the catalogue must decide"),
    (r"\(([\w.]+) is compiled\)", "compiled module {0}: the catalogue must decide"),
    (r"(\w+\.__getattr(?:ibute)?__) is custom", "custom {0} runs on BUILD/APPENDS"),
    (r"__init_subclass__ of ([\w.]+) runs at class creation", "__init_subclass__ of {0} (import effect)"),
    (r"([\w.]+)\.__init_subclass__ [^:]*on every subclass", "{0}.__init_subclass__ alters every subclass"),
    (r"class decorator ([\w.]+) may replace", "class decorator {0} not proven to return the class"),
    (r"decorated with ([\w.]+)", "function decorator {0} not understood"),
    (r"decorator ([\w.]+)", "decorator {0} not understood (import effect)"),
    (r"calls ([\w.]+), denied by the catalogue", "import-time call to {0} (denied by the catalogue)"),
    (r"may be rebound by '(from [\w.]+ import \*)'", "star import may rebind a name: {0}"),
    (r"is bound more than once or conditionally in ([\w.]+)", "conditional binding in {0}"),
    (r"base ([\w.]+) may define __new__", "base {0} may define __new__ (NEW not allowed)"),
    (r"metaclass base abc.ABCMeta is not readable", "metaclass abc.ABCMeta not readable"),
    (r"metaclass ([\w.]+)\.__new__ builds the class", "metaclass {0} builds the class"),
    (r"calls builtins.exec", "exec in a load path"),
    (r"calls method (\w+\(\)) of a value from the file", "method {0} called on a value from the file"),
    (r"modified at the top level of ([\w.]+)", "class patched at the top level of {0}"),
    (r"a value computed at run time", "calls a value computed at run time"),
    (r"whether it is a data descriptor", "class attribute computed at import (descriptor unknown)"),
    (r"(\w+) is not defined in ([\w.]+)", "name {0} not found in {1} (re-export not followed)"),
    (r"calls ([\w.]+): \w+ is builtin", "calls {0} of a builtin module: the catalogue must decide"),
    (r"(\w+) is not a plain class-level def of ([\w.]+)", "{1}.{0} is not a plain class-level def"),
    (r"hasattr of dunder attribute (\w+)", "hasattr of dunder {0} (functools.partialmethod)"),
)


def pattern_of(finding: dict[str, Any]) -> str:
    """A short, groupable root cause for one blocking finding."""
    import re

    category, reason = root_cause(finding)
    if category.startswith(("catalogue", "source")):
        for regex, label in PATTERNS:
            match = re.search(regex, reason)
            if match:
                return label.format(*match.groups())
        return f"{category}: other"
    return f"{finding['rule']}: {reason.split(';')[0][:80]}"


def _build(groups: list[Any], out: Path) -> tuple[list[dict[str, Any]], dict[str, str]]:
    from tests.corpus.cases import build, missing_requirements

    rows: list[dict[str, Any]] = []
    failed: dict[str, str] = {}
    for grp in groups:
        missing = missing_requirements(grp)
        if missing:
            failed[grp.name] = f"not installed: {', '.join(missing)}"
            continue
        t0 = time.perf_counter()
        try:
            built = build(grp, out)
        except Exception as exc:  # noqa: BLE001 - a library that cannot build is reported, not fatal
            failed[grp.name] = f"build failed: {type(exc).__name__}: {exc}"
            traceback.print_exc()
            continue
        print(f"built {grp.name} ({len(built)} files) in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
        for label in grp.labels:
            rows.append({"id": f"{grp.name}/{label}", "group": grp.name, "family": grp.family,
                         "library": grp.library, "path": str(built[label].path)})
    return rows, failed


def _scan(rows: list[dict[str, Any]], out: Path, *, loose_imports: bool = False) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    by_group: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_group[row["group"]].append(row)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFELOAD_")}
    env["PYTHONPATH"] = str(ROOT)
    if loose_imports:
        env["SAFELOAD_STRICT_IMPORTS"] = "0"
    for name, group_rows in by_group.items():
        manifest = out / f"{name}.manifest.json"
        result = out / f"{name}.result.json"
        manifest.write_text(json.dumps(group_rows))
        proc = subprocess.run([sys.executable, "-m", "tests.corpus.measure", "--worker", str(manifest), str(result)],
                              cwd=ROOT, env=env, capture_output=True, text=True, check=False)
        if proc.returncode:
            raise RuntimeError(f"scan worker failed for {name}:\n{proc.stderr[-3000:]}")
        results += json.loads(result.read_text())
    return results


def _pct(n: int, d: int) -> str:
    return f"{100 * n / d:.0f} %" if d else "-"


def tables(results: list[dict[str, Any]], failed: dict[str, str]) -> str:
    from tests.corpus.cases import LONG_TAIL

    lines: list[str] = []
    for title, want_long, key in (("Issue-14 families", False, "family"), ("Issue-14 families by library", False,
                                   "library"), ("Long tail", True, "library")):
        rows = [r for r in results if (r["family"] == LONG_TAIL) == want_long]
        lines += [f"### {title}", "", f"| {key} | files | refused | rate | cold scans s | first cold scan s | "
                  "warm scans s |", "|---|---|---|---|---|---|---|"]
        grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for r in rows:
            grouped[r[key]].append(r)
        for name in sorted(grouped):
            rs = grouped[name]
            refused = sum(not r["safe"] for r in rs)
            lines.append(f"| {name} | {len(rs)} | {refused} | {_pct(refused, len(rs))} | "
                         f"{sum(r['cold'] for r in rs):.2f} | {max(r['cold'] for r in rs):.2f} | "
                         f"{sum(r['warm'] for r in rs):.3f} |")
        refused = sum(not r["safe"] for r in rows)
        lines += [f"| **total** | **{len(rows)}** | **{refused}** | **{_pct(refused, len(rows))}** | "
                  f"{sum(r['cold'] for r in rows):.2f} | | {sum(r['warm'] for r in rows):.3f} |", ""]
    causes: dict[str, dict[tuple[str, str, str], set[str]]] = defaultdict(lambda: defaultdict(set))
    for r in results:
        for f in r["findings"]:
            if f["severity"] in BLOCKING:
                category, reason = root_cause(f)
                causes[category][(f["subject"] or "-", f["rule"], reason)].add(r["id"])
    lines += ["### Refused names by root cause", ""]
    for category in sorted(causes):
        lines += [f"#### {category}", "", "| name | rule | reason | files |", "|---|---|---|---|"]
        for (subject, rule, reason), ids in sorted(causes[category].items()):
            shown = ", ".join(sorted(ids)[:4]) + (f" (+{len(ids) - 4})" if len(ids) > 4 else "")
            lines.append(f"| `{subject}` | {rule} | {reason.replace('|', '/')} | {shown} |")
        lines.append("")
    lines += patterns_table(results)
    if failed:
        lines += ["### Groups not measured", ""] + [f"- {name}: {why}" for name, why in sorted(failed.items())] + [""]
    return "\n".join(lines)


def patterns_table(results: list[dict[str, Any]]) -> list[str]:
    """Refusals by root-cause pattern: names, files touched, and files it alone refuses (fixing it frees them)."""
    names: dict[str, set[str]] = defaultdict(set)
    touched: dict[str, set[str]] = defaultdict(set)
    alone: dict[str, set[str]] = defaultdict(set)
    for r in results:
        found = {pattern_of(f): f["subject"] for f in r["findings"] if f["severity"] in BLOCKING}
        blocking = [f for f in r["findings"] if f["severity"] in BLOCKING]
        pats = {pattern_of(f) for f in blocking}
        for f in blocking:
            names[pattern_of(f)].add(f["subject"] or "-")
        for pat in pats:
            touched[pat].add(r["id"])
        if len(pats) == 1:
            alone[next(iter(pats))].add(r["id"])
        del found
    lines = ["### Root-cause patterns", "", "| pattern | names | files refused with it | files refused only by it |",
             "|---|---|---|---|"]
    for pat in sorted(touched, key=lambda p: (-len(touched[p]), p)):
        lines.append(f"| {pat.replace('|', '/')} | {len(names[pat])} | {len(touched[pat])} | {len(alone[pat])} |")
    return [*lines, ""]


def expected_source(results: list[dict[str, Any]]) -> str:
    """``expected.py``: the files refused today, each with its refused names and rule ids."""
    lines = ['"""Corpus files safeload refuses today, with the refused names and rule ids (the strict-xfail reasons).',
             "",
             "Generated by ``python -m tests.corpus.measure --write-expected``: regenerate it when the catalogue or",
             'the source analysis changes (a strict xfail that passes means a refusal was fixed)."""', "",
             "REFUSED: dict[str, str] = {"]
    for r in sorted(results, key=lambda r: r["id"]):
        if r["safe"]:
            continue
        names = sorted({f"{f['subject'] or '-'} {f['rule']}" for f in r["findings"] if f["severity"] in BLOCKING})
        reason = "refused: " + "; ".join(names)
        lines.append(f"    {r['id']!r}:\n        {reason!r},")
    lines += ["}", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.corpus.measure")
    parser.add_argument("--groups", help="comma-separated group names (default: all)")
    parser.add_argument("--out", type=Path, help="where to build the files (default: a temporary directory)")
    parser.add_argument("--json", type=Path, help="write every result as JSON")
    parser.add_argument("--markdown", type=Path, help="write the tables as Markdown")
    parser.add_argument("--write-expected", action="store_true", help="rewrite tests/corpus/expected.py")
    parser.add_argument("--loose-imports", action="store_true",
                        help="scan with the R2-1 closure check switched off (SAFELOAD_STRICT_IMPORTS=0; it is on "
                             "by default), to compare")
    parser.add_argument("--worker", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        _scan_worker(*args.worker)
        return 0
    from tests.corpus.cases import load_all

    groups = list(load_all().values())
    if args.groups:
        wanted = set(args.groups.split(","))
        groups = [g for g in groups if g.name in wanted]
    with tempfile.TemporaryDirectory(prefix="sl-corpus-") as tmp:
        out = args.out or Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        rows, failed = _build(groups, out)
        results = _scan(rows, out, loose_imports=args.loose_imports)
    text = tables(results, failed)
    print(text)
    if args.json:
        args.json.write_text(json.dumps({"results": results, "failed": failed}, indent=1))
    if args.markdown:
        args.markdown.write_text(text)
    if args.write_expected:
        if args.groups or args.loose_imports:
            parser.error("--write-expected needs the whole corpus at the default settings (no --groups, "
                         "no --loose-imports)")
        EXPECTED.write_text(expected_source(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
