"""``safeload`` command line: ``scan``, ``lock``, ``verify``, ``rules``, ``config show`` and ``run``.

Exit codes (``docs/cli.md``): 0 nothing at or above ``--fail-on``; 1 findings at or above it, or a file that
could not be parsed to the end; 2 usage, configuration or I/O errors (a missing file, an unreachable hub).
2 outranks 1. The last line on stderr says what the exit code means.

Streams: results go to stdout (or ``-o FILE``); progress, logs and the summary go to stderr, so
``safeload scan --format json . > out.json`` stays valid JSON. The progress bar turns itself off when stderr
is not a terminal, under ``NO_COLOR``, ``CI`` or ``TERM=dumb``, and with ``-q`` or ``--no-progress``.

Invariant: the CLI only orchestrates. Each file is scanned by :func:`safeload.scan` on its own (in worker
processes with ``--jobs``), and the report is a pure function of the results, in input order.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import hashlib
import itertools
import logging
import os
import stat
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, NoReturn

from safeload._log import get_logger
from safeload._targets import Target, error_result, relabel
from safeload._text import clean
from safeload._version import __version__
from safeload.config import Config, load_config, show_config
from safeload.containers.keras import is_keras_dir
from safeload.exceptions import PolicyError
from safeload.findings import ScanResult
from safeload.hub import MODEL_EXTENSIONS
from safeload.integrity.options import Integrity
from safeload.policy import Policy
from safeload.report import FORMATS, ReportInput, render, status
from safeload.rules import RULES
from safeload.severity import Severity

__all__ = ["EXIT_ERROR", "EXIT_FINDINGS", "EXIT_OK", "build_parser", "main"]

logger = get_logger(__name__)

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2

_SKIP_DIRS = frozenset({".git", ".hg", ".svn"})
_SEVERITIES = [level.label for level in Severity]


class UsageError(Exception):
    """A usage or configuration problem: exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        _explain(EXIT_ERROR, "usage error")
        raise SystemExit(EXIT_ERROR)


def _explain(code: int, why: str) -> None:
    meaning = {EXIT_OK: "no findings at or above the fail-on level",
               EXIT_FINDINGS: "findings at or above the fail-on level",
               EXIT_ERROR: "usage, configuration or I/O error"}[code]
    sys.stderr.write(f"safeload: exit {code}: {meaning}" + (f" ({why})" if why else "") + "\n")


# -- argument parsing ----------------------------------------------------------------------------------------
def _engine_label() -> str:
    """Which pickle engine scans run with (``SAFELOAD_ENGINE`` and whether the native one was compiled)."""
    from safeload.engine.walker import engine_name

    try:
        return f"pickle engine: {engine_name()}"
    except (ValueError, RuntimeError) as exc:
        return f"pickle engine: {exc}"


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="safeload", description="Scan ML model files statically; load them only when safe.")
    parser.add_argument("--version", action="version", version=f"safeload {__version__} ({_engine_label()})")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    scan = sub.add_parser("scan", help="scan files, directories, hf:// repos or the HF cache",
                          description="Scan model files. Exit 0: clean; 1: findings at or above --fail-on; "
                                      "2: usage, config or I/O error.")
    scan.add_argument("paths", nargs="*", metavar="PATH",
                      help="files, directories (recursive) or hf://owner/repo[@revision]")
    scan.add_argument("-f", "--format", choices=FORMATS, default=None, help="report format (default: text)")
    scan.add_argument("-o", "--output", metavar="FILE", help="write the report to FILE instead of stdout")
    scan.add_argument("--also", action="append", default=[], metavar="FORMAT=FILE",
                      help="also write a FORMAT report to FILE from the same scan (repeatable)")
    scan.add_argument("--fail-on", type=str.lower, choices=_SEVERITIES, default=None,
                      help="lowest severity that fails the run (default: medium)")
    scan.add_argument("--exit-zero", action="store_true", help="exit 0 even when findings fail the run")
    verbosity = scan.add_mutually_exclusive_group()
    verbosity.add_argument("-v", "--verbose", action="count", default=0, help="more logs (-vv for debug)")
    verbosity.add_argument("-q", "--quiet", action="store_true",
                           help="no progress; the report shows only unsafe files, errors and the summary")
    scan.add_argument("--no-progress", action="store_true", help="never show a progress bar")
    scan.add_argument("--config", metavar="FILE", help="a safeload.toml or pyproject.toml")
    scan.add_argument("--trust", action="append", default=[], metavar="GLOBAL",
                      help="trust a reviewed global (exact name or 'pkg.*'); repeatable")
    scan.add_argument("-j", "--jobs", type=int, default=1, metavar="N",
                      help="scan N files in parallel processes")
    scan.add_argument("--hf-endpoint", metavar="URL", help="Hugging Face endpoint")
    scan.add_argument("--hf-cache", nargs="?", const="", default=None, metavar="DIR",
                      help="scan the local Hugging Face cache (default: $HF_HUB_CACHE, ...)")
    scan.add_argument("--srcroot", metavar="DIR", help="directory SARIF paths are relative to (default: CWD)")
    scan.add_argument("--no-cache", action="store_true",
                      help="never use the scan cache (also SAFELOAD_CACHE=0 / [tool.safeload] cache = false)")
    scan.add_argument("--locked", action="store_true",
                      help="fail on any file missing from, added to or changed since the lock file")
    scan.add_argument("--lock", metavar="FILE", help="the lock file for --locked (default: ./safeload.lock)")
    from safeload.fleet.cli import add_results_parser, add_scan_arguments

    add_scan_arguments(scan)

    lock = sub.add_parser("lock", help="scan files and pin them (sha256, findings) in safeload.lock",
                          description="Scan PATHs as `safeload scan` would and record every file with its "
                                      "sha256 in the lock file. Exit 1 when a locked file would still be refused.")
    lock.add_argument("paths", nargs="+", metavar="PATH", help="files and directories to lock")
    lock.add_argument("--lock", "-o", metavar="FILE", help="where to write the lock (default: ./safeload.lock)")
    lock.add_argument("--accept-findings", action="store_true",
                      help="record the current (trustable) findings of each file as reviewed and accepted for "
                           "its exact sha256")
    lock.add_argument("--fail-on", type=str.lower, choices=_SEVERITIES, default=None,
                      help="lowest severity that counts as a finding (default: medium)")
    lock.add_argument("--trust", action="append", default=[], metavar="GLOBAL", help="as for scan")
    lock.add_argument("--config", metavar="FILE", help="a safeload.toml or pyproject.toml")
    lock.add_argument("--no-cache", action="store_true", help="never use the scan cache")
    lock.add_argument("-j", "--jobs", type=int, default=1, metavar="N", help="scan N files in parallel")

    verify = sub.add_parser("verify", help="check files against safeload.lock or a model signature",
                            description="Without --signature: every file in the lock (or under PATHs) must exist "
                                        "with its locked sha256, and no file may be added. With --signature: "
                                        "verify an OpenSSF model signature over each PATH. Exit 0 ok, 1 mismatch, "
                                        "2 usage or I/O error.")
    verify.add_argument("paths", nargs="*", metavar="PATH", help="limit to these paths / the signed model(s)")
    verify.add_argument("--lock", metavar="FILE", help="the lock file (default: ./safeload.lock)")
    verify.add_argument("--signature", metavar="SIG", help="a model-signing signature (Sigstore bundle)")
    verify.add_argument("--public-key", metavar="KEY", help="verify with this PEM EC public key")
    verify.add_argument("--certificate", action="append", metavar="PEM",
                        help="verify with this CA certificate chain (repeatable)")
    verify.add_argument("--identity", metavar="ID", help="Sigstore: the signer identity")
    verify.add_argument("--oidc-issuer", metavar="URL", help="Sigstore: the identity's OIDC issuer")
    verify.add_argument("--trust-config", metavar="FILE", help="Sigstore: a trust root (offline verification)")
    verify.add_argument("-f", "--format", choices=("text", "json"), default="text")

    rules = sub.add_parser("rules", help="list the rule catalogue")
    rules.add_argument("-f", "--format", choices=("text", "markdown", "json"), default="text")

    config = sub.add_parser("config", help="configuration commands")
    config_sub = config.add_subparsers(dest="config_command", metavar="SUBCOMMAND", parser_class=_Parser)
    show = config_sub.add_parser("show", help="print the effective settings and where each came from")
    show.add_argument("--config", metavar="FILE", help="a safeload.toml or pyproject.toml")

    run = sub.add_parser("run", help="run a command with the safeload import hook installed",
                         description="safeload run -- python train.py ...")
    run.add_argument("argv", nargs=argparse.REMAINDER, metavar="CMD", help="the command (after --)")
    add_results_parser(sub, _Parser)
    return parser


# -- logging and progress ------------------------------------------------------------------------------------
class _CleanFormatter(logging.Formatter):
    """Log lines carry file names and globals from scanned files: escape control characters."""

    def format(self, record: logging.LogRecord) -> str:
        return "\n".join(clean(line, 4000) for line in super().format(record).splitlines())


def _configure_logging(verbose: int, quiet: bool, configured: str | None) -> tuple[logging.Handler, int]:
    if quiet:
        level = logging.ERROR
    elif verbose >= 2:
        level = logging.DEBUG
    elif verbose == 1:
        level = logging.INFO
    elif configured:
        level = logging.getLevelName(configured.upper())
        if not isinstance(level, int):
            raise UsageError(f"unknown log level {configured!r}")
    else:
        level = logging.WARNING
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_CleanFormatter("safeload: %(levelname)s: %(message)s"))
    root = logging.getLogger("safeload")
    previous = root.level
    root.addHandler(handler)
    root.setLevel(level)
    return handler, previous


def progress_enabled(*, quiet: bool, no_progress: bool, config_progress: bool, stream: IO[str],
                     environ: dict[str, str] | os._Environ[str]) -> bool:
    """Progress only for a human: a TTY, no NO_COLOR/CI/TERM=dumb, not quiet, not switched off."""
    if quiet or no_progress or not config_progress:
        return False
    if environ.get("NO_COLOR") is not None or environ.get("CI") or environ.get("TERM") == "dumb":
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class _Progress:
    """A rich progress bar when rich is installed, a one-line counter otherwise; both on stderr."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.enabled = enabled and total > 1
        self.total = total
        self.done = 0
        self._rich: Any = None
        self._task: Any = None
        if not self.enabled:
            return
        try:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
        except ImportError:
            return
        self._rich = Progress(TextColumn("scanning", markup=False), BarColumn(), MofNCompleteColumn(),
                              TimeElapsedColumn(), console=Console(stderr=True), transient=True)
        self._rich.start()
        self._task = self._rich.add_task("scan", total=total)

    def advance(self) -> None:
        self.done += 1
        if not self.enabled:
            return
        if self._rich is not None:
            self._rich.advance(self._task)
        else:
            sys.stderr.write(f"\rscanning {self.done}/{self.total}")
            sys.stderr.flush()

    def close(self) -> None:
        if not self.enabled:
            return
        if self._rich is not None:
            self._rich.stop()
        else:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


# -- collecting what to scan ---------------------------------------------------------------------------------
def _walk(root: Path) -> Iterator[Target]:
    """Files below ``root`` in natural order; a SavedModel or Keras directory is one target; VCS dirs are skipped.

    A directory that cannot be listed is an error row (exit 2), never missing from the report; links to
    directories are not followed, and special files (FIFOs, sockets, devices) are error rows too."""
    from safeload._walk import WalkError, walk_files

    def saved_model(folder: str, filenames: list[str]) -> bool:
        return ("saved_model.pb" in filenames or "saved_model.pbtxt" in filenames
            or ("config.json" in filenames and is_keras_dir(Path(folder))))

    for entry in walk_files(root, unit_dir=saved_model, skip_names=_SKIP_DIRS):
        if isinstance(entry, WalkError):
            yield Target(path="", labels=(entry.path,), result=error_result(
                entry.path, f"cannot list or read: {entry.reason}"))
            continue
        path = str(entry)
        if entry.is_dir() and not entry.is_symlink():
            yield Target(path=path, labels=(path,))
        elif os.path.islink(path) and os.path.isdir(path):
            logger.warning("link to a directory, not followed: %s", path)
        elif _is_regular(path):
            yield Target(path=path, labels=(path,), walked=True)
        else:  # FIFOs, sockets, devices, dangling links: opening one could block
            yield Target(path="", labels=(path,), result=error_result(path, "not a regular file; not scanned"))


def _is_regular(path: str) -> bool:
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


@dataclass
class _Plan:
    targets: list[Target] = field(default_factory=list)
    skipped_labels: list[str] = field(default_factory=list)


def _collect(args: argparse.Namespace) -> _Plan:
    from safeload import hub

    plan = _Plan()
    for raw in args.paths:
        if raw.startswith("hf://"):
            _collect_hub(raw, args, plan)
            continue
        path = Path(raw)
        if path.is_dir():
            if (path / "saved_model.pb").is_file() or (path / "saved_model.pbtxt").is_file() or is_keras_dir(path):
                plan.targets.append(Target(path=raw, labels=(raw,)))
            else:
                plan.targets.extend(_walk(path))
        elif path.exists() and _is_regular(raw):
            plan.targets.append(Target(path=raw, labels=(raw,)))
        elif path.exists():
            plan.targets.append(Target(path=raw, labels=(raw,), result=error_result(
                raw, "not a regular file or directory")))
        else:
            plan.targets.append(Target(path=raw, labels=(raw,), result=error_result(
                raw, "no such file or directory")))
    if args.hf_cache is not None:
        root = hub.cache_root(args.hf_cache or None)
        if not root.is_dir():
            plan.targets.append(Target(path="", labels=(str(root),), result=error_result(
                str(root), "the Hugging Face cache directory does not exist")))
        else:
            try:
                plan.targets.extend(hub.cache_targets(root))
            except hub.HubError as exc:
                failed = error_result(str(root), str(exc))
                plan.targets.append(Target(path="", labels=(str(root),), result=failed))
    return plan


def _collect_hub(raw: str, args: argparse.Namespace, plan: _Plan) -> None:
    from safeload import hub

    try:
        repo_id, revision = hub.parse_hf_url(raw)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    cache_dir = hub.cache_root(None)
    try:
        if hub.is_offline():
            logger.info("HF_HUB_OFFLINE is set: scanning %s from the cache only", raw)
            plan.targets.extend(hub.offline_targets(repo_id, revision, cache_dir=cache_dir))
            return
        endpoint = hub.resolve_endpoint(args.hf_endpoint)
        token = os.environ.get("HF_TOKEN") or None
        targets, skipped = hub.remote_targets(repo_id, revision, endpoint=endpoint, cache_dir=cache_dir,
                                              token=token)
    except ImportError as exc:
        raise UsageError(str(exc)) from exc
    except hub.HubError as exc:
        plan.targets.append(Target(path="", labels=(raw,), result=error_result(raw, str(exc))))
        return
    plan.targets.extend(targets)
    for label in skipped:
        logger.info("not downloaded (code-free format): %s", label)
    plan.skipped_labels.extend(skipped)


# -- scanning ------------------------------------------------------------------------------------------------
def _sha256(path: str) -> str | None:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    except OSError:
        return None
    return digest.hexdigest()


_CACHE_ON, _CACHE_OFF = Integrity(cache=True), Integrity(cache=False)


def scan_target(path: str, policy: Policy, want_digest: bool,
                use_cache: bool = True) -> tuple[ScanResult, str | None]:
    """Scan one file or SavedModel directory (runs in worker processes with ``--jobs``).

    The sha256 (a directory: its manifest digest) is computed in the scan's own read when wanted, and the scan
    cache may stand in for the scan of an unchanged file.
    """
    from safeload.scan import scan_checked

    result = scan_checked(path, policy, want_digest=want_digest, cache_default=use_cache,
                          integrity=_CACHE_ON if use_cache else _CACHE_OFF, raise_on_failure=False)
    digest = (result.integrity or {}).get("sha256") if want_digest else None
    return result, digest


def _not_a_model(result: ScanResult, path: str) -> bool:
    """A walked file whose content is unknown and whose extension is not a model's: skipped, not clean."""
    if result.formats or os.path.splitext(path)[1].lower() in MODEL_EXTENSIONS:
        return False
    return {f.rule_id for f in result.findings if f.severity > Severity.INFO} == {"SL003"}


def run_scans(targets: Sequence[Target], policy: Policy, *, jobs: int, want_digest: bool,
              on_done: Callable[[], None] = lambda: None,
              use_cache: bool = True) -> list[tuple[Target, ScanResult, str | None]]:
    """Scan every target that needs it, in input order whatever ``jobs`` is."""
    todo = [t for t in targets if t.result is None]
    outcomes: dict[int, tuple[ScanResult, str | None]] = {}
    if jobs > 1 and len(todo) > 1:
        chunksize = max(1, len(todo) // (jobs * 8))
        with concurrent.futures.ProcessPoolExecutor(max_workers=min(jobs, len(todo))) as pool:
            mapped = pool.map(scan_target, [t.path for t in todo], itertools.repeat(policy),
                              itertools.repeat(want_digest), itertools.repeat(use_cache), chunksize=chunksize)
            for target, outcome in zip(todo, mapped, strict=True):
                outcomes[id(target)] = outcome
                on_done()
    else:
        for target in todo:
            outcomes[id(target)] = scan_target(target.path, policy, want_digest, use_cache)
            on_done()
    out: list[tuple[Target, ScanResult, str | None]] = []
    for target in targets:
        if target.result is not None:
            out.append((target, target.result, None))
        else:
            result, digest = outcomes[id(target)]
            out.append((target, result, digest))
    return out


# -- commands ------------------------------------------------------------------------------------------------
def _load_config(path: str | None) -> Config:
    try:
        return load_config(path)
    except PolicyError as exc:  # ConfigError is a PolicyError
        raise UsageError(f"configuration: {exc}") from exc


def _cmd_scan(args: argparse.Namespace) -> int:
    if not args.paths and args.hf_cache is None:
        raise UsageError("nothing to scan: give at least one PATH, hf://owner/repo or --hf-cache")
    if args.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    config = _load_config(args.config)
    handler, previous_level = _configure_logging(args.verbose, args.quiet, config.log_level)
    try:
        return _scan_with(args, config)
    finally:  # main() may be called in-process (tests, notebooks): leave logging as it was
        logging.getLogger("safeload").removeHandler(handler)
        logging.getLogger("safeload").setLevel(previous_level)


def _scan_with(args: argparse.Namespace, config: Config) -> int:
    fail_on = Severity.parse(args.fail_on) if args.fail_on else config.fail_on
    fmt = args.format or config.format
    extra_outputs = [_parse_also(spec) for spec in args.also]
    try:
        policy = config.policy().with_trusted(args.trust) if args.trust else config.policy()
    except PolicyError as exc:
        raise UsageError(str(exc)) from exc
    from safeload.fleet.cli import scan_command, wants_fleet

    if wants_fleet(args):  # URLs, --workers/--cluster, --results: safeload.fleet
        return scan_command(args, config, policy, fail_on, fmt=fmt, extra_outputs=extra_outputs)

    plan = _collect(args)
    progress = _Progress(len([t for t in plan.targets if t.result is None]), progress_enabled(
        quiet=args.quiet, no_progress=args.no_progress, config_progress=config.progress, stream=sys.stderr,
        environ=os.environ))
    lock = None
    if args.locked:
        from safeload.integrity.commands import default_lock_path
        from safeload.integrity.lockfile import read_lock

        lock = read_lock(default_lock_path(args.lock))  # a ConfigError (exit 2) if unreadable
    use_cache = config.cache and not args.no_cache
    try:
        want_digest = bool({fmt, *(f for f, _ in extra_outputs)} & {"sarif", "json"}) or args.locked
        scanned = run_scans(plan.targets, policy, jobs=args.jobs, want_digest=want_digest,
                            on_done=progress.advance, use_cache=use_cache)
    finally:
        progress.close()
    missing: list[ScanResult] = []
    if lock is not None:
        from safeload.integrity.commands import apply_lock

        scanned, missing = apply_lock(scanned, lock, [lock.relative(p) for p in args.paths if "://" not in p])

    results: list[ScanResult] = []
    digests: dict[str, str] = {}
    skipped: list[str] = []
    for target, result, digest in scanned:
        if target.walked and target.result is None and _not_a_model(result, target.path):
            skipped.extend(target.labels)
        for label in target.labels:
            labelled = relabel(result, label)
            results.append(labelled)
            if digest is not None:
                digests[label] = digest
    for label in plan.skipped_labels:
        results.append(ScanResult(source=label))
        skipped.append(label)
    results.extend(missing)
    if lock is not None:  # with --locked, a file the lock knows or flags is never "skipped as not a model"
        flagged = {r.source for r in results if any(f.rule_id in {"SL701", "SL702", "SL703"} for f in r.findings)}
        skipped = [label for label in skipped if label not in flagged]

    report = ReportInput(results=results, threshold=fail_on, skipped=frozenset(skipped), digests=digests,
                         root=os.path.abspath(args.srcroot or os.curdir),
                         lock=str(lock.location) if lock is not None else None)
    for label in skipped:
        logger.info("skipped (not a model): %s", label)
    out_stream = sys.stdout
    color = (fmt == "text" and not args.output and _isatty(out_stream)
             and os.environ.get("NO_COLOR") is None and os.environ.get("TERM") != "dumb")
    text = render(fmt, report, color=color, verbose=args.verbose > 0, quiet=args.quiet)
    if args.output:
        _write(args.output, text)
    else:
        out_stream.write(text)
        out_stream.flush()
    for extra_fmt, destination in extra_outputs:
        _write(destination, render(extra_fmt, report))

    states = [status(r, report) for r in results]
    if not args.quiet and (fmt != "text" or args.output):
        from safeload.report.text import summary_line

        sys.stderr.write(summary_line(report) + "\n")
    errors, unsafe = states.count("error"), states.count("unsafe")
    if errors:
        _explain(EXIT_ERROR, f"{errors} file{'s' if errors != 1 else ''} could not be read")
        return EXIT_ERROR
    if unsafe:
        if args.exit_zero:
            _explain(EXIT_OK, f"--exit-zero; {unsafe} unsafe file{'s' if unsafe != 1 else ''}")
            return EXIT_OK
        _explain(EXIT_FINDINGS, f"{unsafe} unsafe file{'s' if unsafe != 1 else ''}, fail-on {fail_on.label}")
        return EXIT_FINDINGS
    _explain(EXIT_OK, f"fail-on {fail_on.label}")
    return EXIT_OK


def _cmd_lock(args: argparse.Namespace) -> int:
    """``safeload lock``: scan like ``scan`` (same walk, same policy) and record every target in the lock."""
    from safeload.integrity.commands import lock_command

    if args.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    config = _load_config(args.config)
    if args.fail_on:
        config = dataclasses.replace(config, fail_on=Severity.parse(args.fail_on))
    try:
        policy = config.policy().with_trusted(args.trust) if args.trust else config.policy()
    except PolicyError as exc:
        raise UsageError(str(exc)) from exc
    collect_args = argparse.Namespace(paths=args.paths, hf_cache=None, hf_endpoint=None)
    plan = _collect(collect_args)
    scanned = run_scans(plan.targets, policy, jobs=args.jobs, want_digest=True,
                        use_cache=config.cache and not args.no_cache)
    return lock_command(args, config, scanned)


def _parse_also(spec: str) -> tuple[str, str]:
    fmt, sep, target = spec.partition("=")
    if not sep or fmt not in FORMATS or not target:
        raise UsageError(f"--also expects FORMAT=FILE with FORMAT one of {', '.join(FORMATS)} (got {spec!r})")
    return fmt, target


def _write(target: str, text: str) -> None:
    if target == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    try:
        Path(target).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {target}: {exc.strerror or exc}") from exc


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def rules_text(fmt: str) -> str:
    """The rule catalogue as text, Markdown or JSON."""
    if fmt == "json":
        import json

        return json.dumps([{"id": r.id, "name": r.name, "severity": r.severity.label, "summary": r.summary,
                            "rationale": r.rationale, "formats": list(r.formats), "help_uri": r.help_uri}
                           for r in RULES.values()], indent=2) + "\n"
    if fmt == "markdown":
        lines = ["| id | name | severity | summary |", "|---|---|---|---|"]
        lines += [f"| {r.id} | {r.name} | {r.severity.name} | {r.summary.replace('|', chr(92) + '|')} |"
                  for r in RULES.values()]
        return "\n".join(lines) + "\n"
    return "".join(f"{r.id}  {r.severity.name:<8}  {r.name:<32}  {r.summary}\n" for r in RULES.values())


def _cmd_run(argv: Sequence[str]) -> int:
    command = list(argv)
    if command[:1] == ["--"]:
        command = command[1:]
    if not command:
        raise UsageError("safeload run needs a command: safeload run -- python train.py")
    try:
        from safeload.hook import run_command
    except ImportError as exc:
        sys.stderr.write(f"safeload: the import hook is not available in this installation ({exc})\n")
        _explain(EXIT_ERROR, "safeload.hook.run_command is missing")
        return EXIT_ERROR
    return int(run_command(command))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``safeload`` console script and ``python -m safeload``; returns the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(list(argv) if argv is not None else None)
    except SystemExit as exc:  # --help, --version, or a usage error already explained
        return exc.code if isinstance(exc.code, int) else EXIT_ERROR
    try:
        if args.command == "scan":
            return _cmd_scan(args)
        if args.command == "lock":
            return _cmd_lock(args)
        if args.command == "verify":
            from safeload.integrity.commands import verify_command

            return verify_command(args)
        if args.command == "rules":
            sys.stdout.write(rules_text(args.format))
            return EXIT_OK
        if args.command == "config":
            if args.config_command != "show":
                raise UsageError("usage: safeload config show [--config FILE]")
            sys.stdout.write(show_config(args.config) + "\n")
            return EXIT_OK
        if args.command == "run":
            return _cmd_run(args.argv)
        if args.command == "results":
            from safeload.fleet.cli import results_command

            return results_command(args)
        parser.print_help(sys.stderr)
        _explain(EXIT_ERROR, "no command given")
        return EXIT_ERROR
    except UsageError as exc:
        sys.stderr.write(f"safeload: error: {clean(str(exc), 2000)}\n")
        _explain(EXIT_ERROR, "")
        return EXIT_ERROR
    except PolicyError as exc:
        sys.stderr.write(f"safeload: configuration error: {clean(str(exc), 2000)}\n")
        _explain(EXIT_ERROR, "")
        return EXIT_ERROR
    except KeyboardInterrupt:
        sys.stderr.write("safeload: interrupted\n")
        _explain(EXIT_ERROR, "interrupted")
        return EXIT_ERROR
