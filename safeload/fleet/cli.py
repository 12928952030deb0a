"""The command line of fleet scans: ``safeload scan URL... [--workers N | --cluster ADDR] [--results DB]`` and
``safeload results export``.

Invariant: the CLI only orchestrates (``engine.scan_many`` scans, ``store`` keeps, ``safeload.report``
renders); exit codes are those of ``safeload scan`` (0 clean, 1 findings at or above ``--fail-on``, 2 any
error row or an interrupted run). An interrupted run keeps every result finished before the interrupt: the
same command resumes it.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from safeload.fleet.engine import FleetResult

__all__ = ["add_results_parser", "add_scan_arguments", "results_command", "scan_command", "wants_fleet"]

def add_scan_arguments(scan: argparse.ArgumentParser) -> None:
    """The fleet options of ``safeload scan``."""
    group = scan.add_argument_group("fleet scans (URLs, Dask, result store)")
    where = group.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, metavar="N",
                       help="scan on an embedded Dask LocalCluster of N worker processes (safeload[dask])")
    where.add_argument("--cluster", metavar="ADDRESS",
                       help="scan on an existing Dask scheduler, e.g. tcp://scheduler:8786 (safeload[dask])")
    group.add_argument("--results", metavar="DB",
                       help="keep results in this SQLite database; a re-run skips unchanged objects and resumes "
                            "an interrupted run")
    group.add_argument("--rescan", action="store_true", help="with --results: scan everything again")


def add_results_parser(sub: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    """``safeload results export``."""
    results = sub.add_parser("results", help="work with a fleet scan's result database",
                             description="safeload results export --results scan.db --format sarif -o scan.sarif")
    results_sub = results.add_subparsers(dest="results_command", metavar="SUBCOMMAND", parser_class=parser_class)
    export = results_sub.add_parser("export", help="render the stored results as a report")
    export.add_argument("--results", metavar="DB", default="scan.db", help="the database (default: scan.db)")
    export.add_argument("-f", "--format", choices=("json", "sarif", "markdown", "text", "parquet"),
                        default="json")
    export.add_argument("-o", "--output", metavar="FILE", help="write to FILE (parquet: required)")
    export.add_argument("--fail-on", type=str.lower, default=None, metavar="SEVERITY",
                        help="the severity verdicts are rendered against (default: medium)")


def wants_fleet(args: argparse.Namespace) -> bool:
    """A fleet scan: a fleet option, or a remote URL among the paths (``hf://`` keeps its own path)."""
    from safeload.sources import is_url

    if getattr(args, "workers", None) or getattr(args, "cluster", None) or getattr(args, "results", None):
        return True
    return any(is_url(p) and not p.lower().startswith("hf://") for p in args.paths)


class _Progress:
    """One line on stderr: rewritten in place on a terminal, a line every ``interval`` seconds otherwise."""

    def __init__(self, stream: IO[str], enabled: bool, tty: bool, interval: float = 10.0) -> None:
        self.stream = stream
        self.enabled = enabled
        self.tty = tty
        self.interval = 0.1 if tty else interval
        self.started = time.monotonic()
        self.last = 0.0
        self.counts = {"scanned": 0, "unchanged": 0, "error": 0, "unsafe": 0}
        self.bytes_fetched = 0

    def line(self) -> str:
        c = self.counts
        total = c["scanned"] + c["unchanged"] + c["error"]
        elapsed = time.monotonic() - self.started
        rate = c["scanned"] / elapsed if elapsed > 0 else 0.0
        return (f"safeload: {total} objects: {c['scanned']} scanned, {c['unchanged']} unchanged, "
                f"{c['unsafe']} unsafe, {c['error']} errors; {self.bytes_fetched / 1e6:.1f} MB read, "
                f"{rate:.1f} files/s, {elapsed:.0f} s")

    def update(self, found: FleetResult, unsafe: bool) -> None:
        self.counts[found.status] += 1
        self.counts["unsafe"] += int(unsafe)
        self.bytes_fetched += found.bytes_fetched or 0 if found.status == "scanned" else 0
        now = time.monotonic()
        if self.enabled and now - self.last >= self.interval:
            self.last = now
            self.stream.write(("\r\x1b[K" + self.line()) if self.tty else self.line() + "\n")
            self.stream.flush()

    def close(self) -> None:
        if self.enabled and self.tty:
            self.stream.write("\r\x1b[K")
        if self.enabled:
            self.stream.write(self.line() + "\n")
            self.stream.flush()


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _skipped_as_not_a_model(found: FleetResult) -> bool:
    from safeload.fleet.export import not_a_model

    return found.status != "error" and not_a_model(found.url, found.listed, found.result)


def scan_command(args: argparse.Namespace, config: Any, policy: Any, fail_on: Any, *, fmt: str,
                 extra_outputs: Sequence[tuple[str, str]]) -> int:
    """Run a fleet scan from ``safeload scan``'s arguments; returns the exit code."""
    from safeload.cli import EXIT_ERROR, EXIT_FINDINGS, EXIT_OK, UsageError, _explain, _write
    from safeload.fleet.engine import connect, scan_many, terminate_as_interrupt
    from safeload.fleet.store import StoreError
    from safeload.report import ReportInput, fails, render, status

    if args.workers is not None and args.workers < 1:
        raise UsageError("--workers must be at least 1")
    if args.rescan and not args.results:
        raise UsageError("--rescan needs --results")
    if args.hf_cache is not None or args.locked:
        raise UsageError("--hf-cache and --locked are not fleet options: scan without --workers/--cluster/"
                         "--results")
    if not args.paths:
        raise UsageError("nothing to scan: give at least one URL or PATH")
    client = None
    if args.cluster:
        try:
            client = connect(args.cluster)
        except ImportError as exc:
            raise UsageError(str(exc)) from exc
        except OSError as exc:
            raise UsageError(f"cannot reach the Dask scheduler at {args.cluster}: {exc}") from exc
    progress = _Progress(sys.stderr, not args.quiet and not args.no_progress and config.progress,
                         _isatty(sys.stderr) and not os.environ.get("CI") and os.environ.get("TERM") != "dumb")
    found_all: list[FleetResult] = []
    interrupted = False
    try:
        with terminate_as_interrupt():  # SIGTERM (a service manager, `timeout`, a CI cancellation) as Ctrl-C
            for found in scan_many(args.paths, client, policy=policy, results=args.results, workers=args.workers,
                                   jobs=args.jobs if args.jobs > 1 else None, rescan=args.rescan):
                found_all.append(found)
                progress.update(found, found.status != "error" and fails(found.result, fail_on)
                                and not _skipped_as_not_a_model(found))
    except KeyboardInterrupt:
        interrupted = True
    except (ImportError, StoreError) as exc:
        raise UsageError(str(exc)) from exc
    finally:
        progress.close()
        if client is not None:
            client.close()

    skipped = [f.url for f in found_all if _skipped_as_not_a_model(f)]
    results = [f.result for f in found_all]
    digests = {f.url: f.identity.sha256 for f in found_all if f.identity.sha256}
    report = ReportInput(results=results, threshold=fail_on, skipped=frozenset(skipped), digests=digests,
                         root=os.path.abspath(args.srcroot or os.curdir))
    text = render(fmt, report, verbose=args.verbose > 0, quiet=args.quiet)
    if args.output:
        _write(args.output, text)
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
    for extra_fmt, destination in extra_outputs:
        _write(destination, render(extra_fmt, report))
    if not args.quiet and (fmt != "text" or args.output):
        from safeload.report.text import summary_line

        sys.stderr.write(summary_line(report) + "\n")
    if interrupted:
        hint = " (re-run the same command to resume)" if args.results else ""
        sys.stderr.write(f"safeload: interrupted after {len(found_all)} objects{hint}\n")
        _explain(EXIT_ERROR, "interrupted")
        return EXIT_ERROR
    states = [status(r, report) for r in results]
    errors, unsafe = states.count("error"), states.count("unsafe")
    if errors:
        _explain(EXIT_ERROR, f"{errors} object{'s' if errors != 1 else ''} could not be read")
        return EXIT_ERROR
    if unsafe:
        if args.exit_zero:
            _explain(EXIT_OK, f"--exit-zero; {unsafe} unsafe")
            return EXIT_OK
        _explain(EXIT_FINDINGS, f"{unsafe} unsafe object{'s' if unsafe != 1 else ''}, fail-on {fail_on.label}")
        return EXIT_FINDINGS
    _explain(EXIT_OK, f"fail-on {fail_on.label}")
    return EXIT_OK


def results_command(args: argparse.Namespace) -> int:
    """``safeload results export``: render the stored results (reports only render)."""
    from safeload.cli import EXIT_OK, UsageError, _write
    from safeload.fleet.export import export
    from safeload.fleet.store import StoreError
    from safeload.severity import Severity

    if args.results_command != "export":
        raise UsageError("usage: safeload results export --results scan.db --format FORMAT [-o FILE]")
    if not os.path.isfile(args.results):
        raise UsageError(f"no result database at {args.results}")
    threshold = Severity.parse(args.fail_on) if args.fail_on else Severity.MEDIUM
    if args.format == "parquet":
        if not args.output:
            raise UsageError("--format parquet needs -o FILE")
        from safeload.fleet.export import export_parquet

        try:
            export_parquet(args.results, args.output, threshold)
        except ImportError as exc:
            raise UsageError(f"--format parquet needs pyarrow: pip install 'safeload[parquet]' ({exc})") from exc
        except StoreError as exc:
            raise UsageError(str(exc)) from exc
        return EXIT_OK
    try:
        text = export(args.results, args.format, threshold=threshold, root=os.path.abspath(os.curdir))
    except StoreError as exc:
        raise UsageError(str(exc)) from exc
    if args.output:
        _write(args.output, text)
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
    return EXIT_OK
