"""``safeload.scan_many``: scan many objects (URLs, prefixes, globs, local paths) on Dask distributed, split by
object (small objects share a task: ``Batching``), yielding each result as it finishes.

Where the work runs: on ``client`` (a ``distributed.Client``: an existing scheduler, or ``workers=N`` for an
embedded ``LocalCluster``); ``jobs=N`` uses a local process pool instead; with neither, in this process.

Invariants:
- exactly one :class:`FleetResult` per object per call, whatever happened on the way: a task Dask re-runs
  after its worker died still completes one future, an object re-submitted here after a transient error is
  taken out of its finished batch first, and the store is keyed by URL (a re-delivered result replaces its row);
- one object that fails (I/O error, retries exhausted, a worker killed too often) is an error row, never a
  failed run; an input that cannot be listed is an error row for that input;
- back-pressure: at most ``max_in_flight`` tasks are submitted at a time, and the listing is consumed only as
  fast as tasks finish;
- a stored result is reused only when the object's identity and the scanner (safeload, catalogue, policy)
  match (``store.ResultStore.done``); error rows are always scanned again;
- a result counts only from a worker running the same safeload code and catalogue as this process
  (``store.scanner_code``); another worker's result is an error row;
- one object that kills its worker cannot fail its batch-mates: a failed batch is re-run one object per task;
- nothing is loaded: workers only scan. Results travel back from workers through Dask's own channel (workers
  are trusted infrastructure, as the scheduler is).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import logging
import os
import signal
import sys
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from safeload._log import get_logger
from safeload._targets import error_result
from safeload.findings import ScanResult
from safeload.fleet.items import Item, Outcome, expand_inputs, refresh
from safeload.fleet.store import Identity, ResultStore, scanner_code, scanner_key
from safeload.fleet.task import scan_batch
from safeload.policy import Policy

__all__ = ["Batching", "FleetResult", "scan_many"]

logger = get_logger(__name__)

RETRIES = 2            # re-submissions of an object after a transient error (each task retries its reads too)
IN_FLIGHT_PER_WORKER = 4
SAVE_ROWS = 256        # results committed to the store together (one transaction) ...
SAVE_SECONDS = 1.0     # ... or after this long, whichever comes first


@dataclass(frozen=True)
class Batching:
    """Small objects share a task (scheduler overhead is per task, ~ms); a large object is a task of its own."""

    max_files: int = 16
    max_bytes: int = 8 << 20


NO_BATCHING = Batching(max_files=1, max_bytes=1)


@dataclass(frozen=True)
class FleetResult:
    """One object's result. ``status``: ``scanned`` (now), ``unchanged`` (from the store) or ``error``.

    ``result`` is always set: an error row carries an SL007 result, so reports show it as unreadable.
    """

    url: str
    status: str
    result: ScanResult
    identity: Identity
    error: str | None = None
    bytes_fetched: int | None = None
    requests: int | None = None
    seconds: float = 0.0
    worker: str = ""
    attempts: int = 0
    listed: bool = False


def _result_of(outcome: Outcome, attempts: int) -> FleetResult:
    if outcome.error is not None or outcome.result is None:
        message = outcome.error or "no result"
        return FleetResult(outcome.url, "error", error_result(outcome.url, message), outcome.identity, message,
                           outcome.bytes_fetched, outcome.requests, outcome.seconds, outcome.worker, attempts,
                           outcome.listed)
    return FleetResult(outcome.url, "scanned", outcome.result, outcome.identity, None, outcome.bytes_fetched,
                       outcome.requests, outcome.seconds, outcome.worker, attempts, outcome.listed)


class _Inline(concurrent.futures.Executor):
    """Runs each task at submission, in this process: the same loop serves every backend."""

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> concurrent.futures.Future[Any]:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as exc:  # noqa: BLE001 - delivered through the future, as a pool would
            future.set_exception(exc)
        return future


class _LocalCompleted:
    """``distributed.as_completed``'s shape over ``concurrent.futures``: add futures while iterating."""

    def __init__(self) -> None:
        self.pending: set[concurrent.futures.Future[Any]] = set()

    def add(self, future: concurrent.futures.Future[Any]) -> None:
        self.pending.add(future)

    def __iter__(self) -> Iterator[concurrent.futures.Future[Any]]:
        while self.pending:
            done, not_done = concurrent.futures.wait(self.pending, return_when=concurrent.futures.FIRST_COMPLETED)
            self.pending = set(not_done)
            yield from done


class _Backend:
    """Submits tasks to Dask, a process pool or this process; owns what it created (closed in ``close``).

    An embedded cluster or a pool is started at the first submission: a re-run with nothing changed starts none.
    """

    def __init__(self, client: Any, workers: int | None, jobs: int | None) -> None:
        self._owned: list[Any] = []
        self.client = client
        self.workers = workers if client is None else None
        self.jobs = jobs
        self.pool: concurrent.futures.Executor | None = None
        self._completed: Any = None
        self.slots = self._slots()
        self.inline = client is None and not workers and not (jobs and jobs > 1)

    def _slots(self) -> int:
        if self.client is not None:
            try:
                return max(1, int(sum(self.client.nthreads().values())))
            except Exception:  # noqa: BLE001 - an unreachable scheduler shows up at the first task
                return 1
        if self.workers:
            return self.workers
        return self.jobs if self.jobs and self.jobs > 1 else 1

    def _start(self) -> None:
        if self.client is None and self.workers:
            self.client = _local_cluster_client(self.workers, self._owned)
        if self.client is not None:
            import distributed

            dist: Any = distributed
            self._completed = dist.as_completed()
            return
        self.pool = (concurrent.futures.ProcessPoolExecutor(max_workers=self.jobs) if self.jobs and self.jobs > 1
                     else _Inline())
        self._owned.append(self.pool)
        self._completed = _LocalCompleted()

    def completed(self) -> Iterator[Any]:
        """Finished futures as they finish, including those submitted while iterating."""
        if self._completed is None:
            return iter(())
        return iter(self._completed)

    def submit(self, items: tuple[Item, ...], policy: Policy, storage_options: Mapping[str, Any] | None) -> Any:
        if self._completed is None:
            self._start()
        if self.client is not None:
            # pure=False and a unique key: a re-submission is a new task, never Dask's cached result
            future = self.client.submit(scan_batch, items, policy, storage_options, pure=False,
                                        key=f"safeload-scan-{uuid.uuid4().hex}")
        elif self.pool is not None:
            future = self.pool.submit(scan_batch, items, policy, storage_options)
        else:  # pragma: no cover - _start sets one of the two
            raise RuntimeError("no backend")
        self._completed.add(future)
        return future

    def cancel(self, futures: Iterable[Any]) -> None:
        pending = list(futures)
        if self.client is not None and pending:
            try:
                self.client.cancel(pending)
            except Exception:
                logger.debug("cancel failed", exc_info=True)
        else:
            for future in pending:
                future.cancel()

    def close(self) -> None:
        """Close everything this backend started. A KeyboardInterrupt while one part closes (a Ctrl-C that lands
        after the last result, or a second one) still closes the rest, then is raised: a LocalCluster left open
        would hold the exit for its own shutdown timeouts (~10 s) after the run was interrupted."""
        interrupt: KeyboardInterrupt | None = None
        owned_now, self._owned = self._owned, []
        for owned in reversed(owned_now):
            try:
                if isinstance(owned, concurrent.futures.Executor):
                    owned.shutdown(wait=True, cancel_futures=True)
                else:
                    owned.close()
            except KeyboardInterrupt as exc:
                interrupt = interrupt or exc
            except Exception:
                logger.debug("closing %r failed", owned, exc_info=True)
        if interrupt is not None:
            raise interrupt


def _local_cluster_client(workers: int, owned: list[Any]) -> Any:
    try:
        import distributed
    except ImportError as exc:
        raise ImportError("--workers and --cluster need Dask: pip install 'safeload[dask]'") from exc
    dist: Any = distributed
    # the dashboard on a free loopback port: never a clash with another cluster, never on a public interface
    cluster = dist.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                dashboard_address="127.0.0.1:0", silence_logs=logging.ERROR)
    owned.append(cluster)
    client = dist.Client(cluster)
    owned.append(client)
    return client


def connect(address: str) -> Any:
    """A ``distributed.Client`` for the scheduler at ``address`` (``tcp://host:8786``)."""
    try:
        import distributed
    except ImportError as exc:
        raise ImportError("--cluster needs Dask: pip install 'safeload[dask]'") from exc
    dist: Any = distributed
    return dist.Client(address)


def _effective(policy: Policy | None) -> Policy:
    """The policy with the process-wide trust in effect now folded in: workers do not share this process's."""
    from safeload.config import resolve_policy

    base = policy if policy is not None else resolve_policy(None, None, None)
    return dataclasses.replace(base, trusted=tuple(dict.fromkeys(base.all_trusted())))


def scan_many(urls: Iterable[str] | str, client: Any = None, *, policy: Policy | None = None,
              results: str | os.PathLike[str] | ResultStore | None = None, workers: int | None = None,
              jobs: int | None = None, max_in_flight: int | None = None, retries: int = RETRIES,
              rescan: bool = False, storage_options: Mapping[str, Any] | None = None,
              run_id: str | None = None, batching: Batching | None = None) -> Iterator[FleetResult]:
    """Scan every object ``urls`` name, yielding a :class:`FleetResult` for each as it finishes.

    Args:
        urls: URLs (``s3://bucket/prefix/``, globs, ``https://...``), local files or directories.
        client: a ``distributed.Client`` to run on (default: Dask's default client, when this process has one
            and neither ``workers`` nor ``jobs`` is given). Without one: ``workers=N`` starts an embedded
            ``LocalCluster`` (closed at the end), ``jobs=N`` a process pool, neither scans in this process.
        policy: as for :func:`safeload.scan` (default: the configuration's).
        results: a result database (path or :class:`ResultStore`): finished results are stored as they
            arrive, and objects whose stored result is current are yielded from it (``unchanged``) instead
            of scanned, unless ``rescan``.
        max_in_flight: tasks submitted at once (default: 4 per worker thread).
        retries: re-submissions after a transient I/O error (then the object is an error row).
        batching: how small objects are grouped into tasks (default: up to 16 files or 8 MB per task on Dask
            and pools, one file per task in process).
        storage_options: fsspec options for remote URLs (endpoint, credentials).
    """
    if isinstance(urls, str):
        urls = [urls]
    if client is None and not workers and not jobs:
        client = _default_client()
    effective = _effective(policy)
    store, own_store = _open_store(results)
    run = run_id or uuid.uuid4().hex
    key = scanner_key(effective) if store is not None else ""
    backend: _Backend | None = None
    done = 0
    interrupted = True
    try:
        if store is not None:
            shown = list(urls[:20]) if isinstance(urls, list | tuple) else ["<iterable>"]
            store.begin_run(run, -1, repr(shown))
        backend = _Backend(client, workers, jobs)
        limit = max_in_flight or backend.slots * IN_FLIGHT_PER_WORKER
        if batching is None:
            batching = NO_BATCHING if backend.inline else Batching()
        for item in _run(backend, expand_inputs(urls, storage_options), effective,
                         storage_options=storage_options, store=store, key=key, limit=limit, retries=retries,
                         rescan=rescan, run=run, batch=batching):
            done += 1
            yield item
        interrupted = False
    finally:
        try:
            if backend is not None:
                with _interrupt_deferred():
                    backend.close()
        except KeyboardInterrupt:
            interrupted = True
            raise
        finally:
            if store is not None:
                try:
                    store.end_run(run, done, interrupted)
                finally:
                    if own_store:
                        store.close()


def _raise_interrupt(signum: int, frame: Any) -> None:
    """SIGTERM while a fleet scan runs: stop as after Ctrl-C (what a service manager, ``timeout`` or a CI
    cancellation sends): committed results are kept, the run is marked interrupted and the same command resumes."""
    raise KeyboardInterrupt


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """Inside the block SIGTERM raises KeyboardInterrupt, in the main thread, when it had its default action
    (an ignored SIGTERM or a handler someone installed is left as it is); restored afterwards."""
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL):
        yield
        return
    signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


@contextlib.contextmanager
def _interrupt_deferred() -> Iterator[None]:
    """A Ctrl-C (or a SIGTERM that ``terminate_as_interrupt`` turns into one) during the block is raised when it
    ends; a second one is raised at once.

    For closing the backend: a LocalCluster whose close is cut short holds the exit for its own shutdown timeouts
    (~10 s, at interpreter exit), where finishing the close takes ~2 s. Only in the main thread and only for a
    signal whose handler raises KeyboardInterrupt: an ignored signal or another handler is left as it is.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    raising = {signal.SIGINT: signal.default_int_handler, signal.SIGTERM: _raise_interrupt}
    deferred = [signum for signum, handler in raising.items() if signal.getsignal(signum) is handler]
    if not deferred:
        yield
        return
    received: list[int] = []

    def defer(signum: int, frame: Any) -> None:
        if received:
            raise KeyboardInterrupt
        received.append(signum)

    for signum in deferred:
        signal.signal(signum, defer)
    try:
        yield
    finally:
        for signum in deferred:
            signal.signal(signum, raising[signum])
    if received:
        raise KeyboardInterrupt


def _default_client() -> Any:
    """Dask's default client if this process already made one (Dask is never imported for this)."""
    distributed = sys.modules.get("distributed")
    if distributed is None:
        return None
    try:
        return distributed.default_client()
    except ValueError:  # no client in this process
        return None


def _open_store(results: str | os.PathLike[str] | ResultStore | None) -> tuple[ResultStore | None, bool]:
    if results is None:
        return None, False
    if isinstance(results, ResultStore):
        return results, False
    return ResultStore(results), True


def _run(backend: _Backend, todo: Iterator[Item | Outcome], policy: Policy, *,
         storage_options: Mapping[str, Any] | None, store: ResultStore | None, key: str, limit: int,
         retries: int, rescan: bool, run: str, batch: Batching) -> Iterator[FleetResult]:
    in_flight: dict[Any, tuple[tuple[Item, ...], int]] = {}
    exhausted = False
    code = scanner_code()
    pending: list[Item] = []

    unsaved: list[tuple[Any, ...]] = []
    saved_at = time.monotonic()

    def save() -> None:
        nonlocal saved_at
        if store is not None and unsaved:
            store.put_rows(unsaved)
            unsaved.clear()
        saved_at = time.monotonic()

    def record(found: FleetResult) -> FleetResult:
        # queued before it is yielded, committed in small batches and when the generator closes (finally: save)
        if store is not None:
            unsaved.append(store.row(found.url, found.identity, key,
                                     result=found.result if found.status != "error" else None, error=found.error,
                                     bytes_fetched=found.bytes_fetched, requests=found.requests,
                                     seconds=found.seconds, worker=found.worker, run_id=run, listed=found.listed))
            if len(unsaved) >= SAVE_ROWS or time.monotonic() - saved_at >= SAVE_SECONDS:
                save()
        return found

    def flush() -> None:
        if pending:
            submit(tuple(pending), 1)
            pending.clear()

    def fill() -> Iterator[FleetResult]:
        nonlocal exhausted
        while not exhausted and len(in_flight) < limit:
            nxt = next(todo, None)
            if nxt is None:
                exhausted = True
                flush()
                return
            if isinstance(nxt, Outcome):
                yield record(_result_of(nxt, 0))
                continue
            if store is not None and not rescan:
                stored = store.done(nxt.url, nxt.identity, key)
                if stored is not None and stored.result is not None:
                    yield FleetResult(nxt.url, "unchanged", stored.result, stored.identity, None,
                                      stored.bytes_fetched, stored.requests, stored.seconds, stored.worker, 0,
                                      nxt.listed)
                    continue
            if (nxt.identity.size or 0) >= batch.max_bytes:
                submit((nxt,), 1)  # a large object is a task of its own
                continue
            pending.append(nxt)
            if len(pending) >= batch.max_files or sum(i.identity.size or 0 for i in pending) >= batch.max_bytes:
                flush()

    def submit(items: tuple[Item, ...], attempt: int) -> None:
        future = backend.submit(items, policy, storage_options)
        in_flight[future] = (items, attempt)

    try:
        yield from fill()
        # fill() stops only at the in-flight limit or at the end of the listing (flushing the last batch), so
        # the iteration (which takes futures added while it runs) ends exactly when every object has its result
        for future in backend.completed():
            items, attempt = in_flight.pop(future)
            for found in _finish(future, items, attempt, retries=retries, storage_options=storage_options,
                                 submit=submit, expected=code):
                yield record(found)
            yield from fill()
    finally:
        save()
        if in_flight:
            backend.cancel(in_flight)


def _finish(future: Any, items: tuple[Item, ...], attempt: int, *, retries: int,
            storage_options: Mapping[str, Any] | None, submit: Any, expected: str) -> list[FleetResult]:
    """The results of a finished task; objects that failed transiently are re-submitted (no result yet)."""
    try:
        outcomes: list[Outcome] = future.result()
    except Exception as exc:  # noqa: BLE001 - a worker killed too often, a cancelled task
        if attempt <= retries:
            # one object that kills its worker (a poison file) must not take its batch-mates with it: each
            # runs again on its own, and only the culprit ends as an error row
            logger.info("a task of %d object(s) failed (%s); scanning them one per task", len(items), exc)
            for item in items:
                submit((item,), attempt + 1)
            return []
        return [_error(item, f"{type(exc).__name__}: {exc}", attempt) for item in items]
    if len(outcomes) != len(items):  # pragma: no cover - scan_batch returns one outcome per item
        return [_error(item, "the task returned no result for this object", attempt) for item in items]
    out: list[FleetResult] = []
    for item, outcome in zip(items, outcomes, strict=True):
        if outcome.scanner != expected:
            # a worker with another safeload or catalogue: its verdict is not the one this run stands for
            out.append(_error(item, f"the worker runs safeload {outcome.scanner or '?'}, this run "
                                    f"{expected}: install the same safeload on every worker", attempt))
            continue
        if not outcome.transient:
            out.append(_result_of(outcome, attempt))
            continue
        if attempt > retries:
            out.append(_error(item, f"gave up after {attempt} attempts: {outcome.error}", attempt))
            continue
        logger.info("%s: %s; retrying (attempt %d)", item.url, outcome.error, attempt + 1)
        try:
            fresh = refresh(item, storage_options)
        except Exception as again:  # noqa: BLE001 - gone or unreadable now: an error row
            out.append(_error(item, f"{outcome.error}; then: {type(again).__name__}: {again}", attempt))
            continue
        time.sleep(min(2.0, 0.1 * attempt))
        submit((fresh,), attempt + 1)
    return out


def _error(item: Item, message: str, attempts: int) -> FleetResult:
    return FleetResult(item.url, "error", error_result(item.url, message), item.identity, message,
                       attempts=attempts, listed=item.listed)
