"""The workers: processes started by ``multiprocessing``'s spawn context, each claiming
jobs from the store and computing them on the numpy backend, or, given a dask.distributed
scheduler, threads of the server handing the jobs to it; and a supervisor thread that
requeues jobs whose lease expired, cancels those past their deadline, and restarts
workers that died.

A worker process reads its orders from a pipe, not a shared Event (a worker killed
inside ``Event.wait`` would hold the Event's lock forever): ``STOP`` finishes the
current job and claims no more, ``RELEASE`` gives the current job back to Pending at
once (no attempt counted), end of file (the server died) is ``STOP``.

Two more pipes, shared by all workers, carry single bytes and never block a writer (a
full pipe already holds a wake-up): the server writes one to the work pipe for each job
it records, waking one idle worker at once (an idle worker also looks every
``POLL_SECONDS``, for jobs requeued by the supervisor); a worker writes one to the done
pipe each time it ends an attempt, which wakes the server's long polls
(``WorkerPool.finished``).

Given ``assets`` (``lazyarray.assets``), a worker runs its jobs with them: its runner
assets live as long as the worker, process assets one job, node assets one step.

The worker threads share one client of the scheduler (``server.cluster.Cluster``, made
again after an outage). A thread claims a job only while the scheduler answers; an
attempt that loses the scheduler ends as a transient failure (``JobStore.retry``: run
again while attempts are left), never as the job's own error, and never ends the thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import select
import signal as signals
import threading
import time
from collections.abc import Callable, Collection, Iterator
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lazyarray.jobs import JobStatus
from lazyarray.server.layout import Layout
from lazyarray.server.store import Claim, JobStore, job_error

if TYPE_CHECKING:
    from lazyarray.assets import AssetSpec
    from lazyarray.server.cluster import Cluster
    from lazyarray.server.runner import Documents

POLL_SECONDS = 0.05  # how long an idle worker waits, unwoken, before it looks again
SUPERVISE_SECONDS = 0.5
WAIT_SECONDS = 0.5  # a worker thread's wait while the scheduler does not answer
FORGET_SECONDS = 60.0  # how often ended jobs past their keeping time are deleted, at most
STOP, RELEASE = b"stop", b"release"
log = logging.getLogger("lazyarray.server")


class Orders:
    """What a worker was told, read from its pipe without blocking."""

    def __init__(self, pipe: Connection) -> None:
        self._pipe = pipe
        self._lock = threading.Lock()
        self.stopping = False
        self.releasing = False

    def read(self, wait: float = 0.0) -> None:
        with self._lock:  # the worker and its watch thread both read
            try:
                while _readable([self._pipe.fileno()], wait):
                    wait = 0.0
                    order = self._pipe.recv_bytes()
                    self.stopping = True
                    self.releasing = self.releasing or order == RELEASE
            except (EOFError, OSError, ValueError):  # ValueError: the pipe is closed
                self.stopping = True

    def released(self) -> bool:
        self.read()
        return self.releasing

    def idle(self, work: Connection) -> bool:
        """Waits for an order, a wake-up on ``work``, or ``POLL_SECONDS``; returns whether
        to look for a job: not when another worker took the wake-up first (each wake-up
        is one job: the idle workers do not all race for it)."""
        wake = work.fileno()
        try:  # the watch is idle: no read races
            ready = _readable([self._pipe.fileno(), wake], POLL_SECONDS)
        except (OSError, ValueError):
            ready = []
        taken = not ready
        if wake in ready:
            with contextlib.suppress(BlockingIOError, OSError):  # another worker took it
                taken = bool(os.read(wake, 1))
        self.read()
        return taken


def _readable(fds: list[int], timeout: float) -> list[int]:
    """Which of ``fds`` can be read within ``timeout`` seconds (one ``select``: the
    worker's loop asks this between jobs, where ``multiprocessing``'s ``wait`` builds
    a selector each time)."""
    return select.select(fds, [], [], timeout)[0]


def signal(pipe: Connection, message: bytes = b"\0") -> None:
    """Writes to a wake-up pipe without waiting: a full pipe is already set. A message
    under PIPE_BUF bytes arrives whole, never mixed with another writer's."""
    with contextlib.suppress(BlockingIOError, OSError):
        os.write(pipe.fileno(), message)


def worker_main(
    root: str,
    trusted: bool,
    pipe: Connection,
    lease_seconds: float,
    work: Connection,
    done: Connection,
    assets: tuple[AssetSpec, ...] = (),
) -> None:
    """A worker process: claims and runs jobs until it is told to stop; with ``assets``,
    its jobs run with them: runner assets live as long as the process, process assets one
    job, node assets one step."""
    import lazyarray  # noqa: F401 - registers the proxies the reader wraps nodes in

    # a signal to the server's whole group (a service manager's SIGTERM, a terminal's
    # Ctrl-C) is the server's to act on: it tells its workers through their pipes
    for number in (signals.SIGINT, signals.SIGTERM):
        signals.signal(number, signals.SIG_IGN)
    with _assets_backend("numpy", assets):
        _claim_and_run(root, trusted, pipe, lease_seconds, work, done)


@contextlib.contextmanager
def _assets_backend(name: str, assets: tuple[AssetSpec, ...]) -> Iterator[None]:
    """Makes ``name`` mean that backend with ``assets`` in this process; closes the
    runner assets at the end."""
    if not assets:
        yield
        return
    from lazyarray.assets import AssetBackend
    from lazyarray.backend import get_backend, register_backend

    inner = get_backend(name)
    backend = AssetBackend(inner, assets)
    register_backend(backend)
    try:
        yield
    finally:
        register_backend(inner)
        backend.close()


def _claim_and_run(
    root: str,
    trusted: bool,
    pipe: Connection,
    lease_seconds: float,
    work: Connection,
    done: Connection,
) -> None:
    from lazyarray.server.runner import Documents, Watch, run

    os.set_blocking(work.fileno(), False)
    os.set_blocking(done.fileno(), False)
    layout = Layout(Path(root))
    store = layout.jobs(lease_seconds=lease_seconds)
    blobs = layout.blobs()
    orders = Orders(pipe)
    watch = Watch(store, orders.released)
    documents = Documents()
    look = True
    while not orders.stopping:
        claim = store.claim() if look else None
        if claim is None:
            look = orders.idle(work)
            continue
        run(
            claim,
            store,
            blobs,
            layout.results,
            trusted=trusted,
            watch=watch,
            documents=documents,
            warnings=True,  # this process runs one job at a time
        )
        signal(done, ended_message(claim.job_id))
        orders.read()
    watch.close()
    store.close()


class ClusterJobs(JobStore):
    """The job store of a worker thread: an attempt that errs after the scheduler's
    connection it started on was lost (its futures cancelled with it, its client
    closed) is retried (``retry``), not Errored: the error is the cluster's, not the
    job's."""

    def __init__(self, layout: Layout, lease_seconds: float, cluster: Cluster) -> None:
        super().__init__(layout.jobs_file, lease_seconds=lease_seconds)
        self.cluster = cluster
        self.started: tuple[Any, Any] = (None, None)  # the running attempt's connection

    def finish(self, claim: Claim, status: JobStatus, **details: Any) -> bool:
        if status is JobStatus.ERRORED and self.cluster.lost_since(self.started):
            errors = details.get("errors") or [{}]
            return self.lost(claim, errors[0].get("message") or "an error")
        return super().finish(claim, status, **details)

    def lost(self, claim: Claim, cause: BaseException | str) -> bool:
        """Ends the attempt as one that lost the scheduler."""
        error = self.cluster.lost(cause)
        return self.retry(claim, job_error(type(error).__name__, str(error)))


def thread_main(
    layout: Layout,
    trusted: bool,
    lease_seconds: float,
    cluster: Cluster,
    stopping: threading.Event,
    releasing: threading.Event,
    work: threading.Event,
    finished: Callable[[Collection[str] | None], None],
) -> None:
    """A worker thread of the server: its jobs run on the dask cluster of ``cluster``,
    claimed only while its scheduler answers. Nothing raised in an attempt ends the
    thread: a lost scheduler is a transient end of the attempt, anything else the job's
    error."""
    from lazyarray.server.runner import Documents

    store = ClusterJobs(layout, lease_seconds, cluster)
    thread = _Thread(cluster, store, layout, trusted, stopping, releasing, Documents())
    try:
        while not stopping.is_set():
            try:
                ended = thread.attempt(work)
            except Exception:  # the store's own failure: the lease expires, it is requeued
                log.exception("a worker thread could not claim or end a job")
                stopping.wait(WAIT_SECONDS)
                continue
            if ended is not None:
                finished((ended,))
    finally:
        store.close()


class _Thread:
    """What a worker thread keeps between its attempts."""

    def __init__(
        self,
        cluster: Cluster,
        store: ClusterJobs,
        layout: Layout,
        trusted: bool,
        stopping: threading.Event,
        releasing: threading.Event,
        documents: Documents,
    ) -> None:
        self.cluster = cluster
        self.stopping = stopping
        self.store = store
        self.layout = layout
        self.blobs = layout.blobs()
        self.trusted = trusted
        self.releasing = releasing
        self.documents = documents

    def attempt(self, work: threading.Event) -> str | None:
        """Claims a job and runs one attempt of it; returns its id, or None when no job
        was claimed (none is Pending, or the scheduler does not answer)."""
        from lazyarray.server.runner import describe, run

        client = self.cluster.client()
        if client is None:  # the scheduler does not answer: jobs wait in Pending
            self.stopping.wait(WAIT_SECONDS)  # not woken by jobs recorded meanwhile
            return None
        claim = self.store.claim()
        if claim is None:
            work.wait(POLL_SECONDS)
            work.clear()
            return None
        self.store.started = self.cluster.mark()
        try:
            run(
                claim,
                self.store,
                self.blobs,
                self.layout.results,
                trusted=self.trusted,
                backend="dask",
                client=client,
                released=self.releasing.is_set,
                documents=self.documents,
            )
        except Exception as error:  # raised by the client outside the job's own steps
            if self.cluster.lost_since(self.store.started):
                self.store.lost(claim, error)
            else:
                entry = describe(error)
                self.store.finish(
                    claim, JobStatus.ERRORED, errors=[entry], message=entry["message"]
                )
        return claim.job_id


class WorkerPool:
    """``count`` workers over one store folder, kept alive by a supervisor: processes,
    or with ``dask_scheduler`` threads of this process using that scheduler."""

    def __init__(
        self,
        layout: Layout,
        count: int,
        *,
        trusted: bool = False,
        lease_seconds: float,
        dask_scheduler: str | None = None,
        assets: Any = None,
        keep_results: float | None = None,
        connect_timeout: float | None = None,
    ) -> None:
        """``assets``: what the jobs run with (specs, dicts or YAML, read here):
        runner assets live as long as a worker, process assets one job, node assets one
        step. ``keep_results``: the seconds an ended job (its record and its result) is
        kept, None: for ever. ``connect_timeout``: the seconds any wait on the dask
        scheduler lasts at most (default: the ``dask_connect_timeout`` option)."""
        from lazyarray.config import options

        self.layout = layout
        self.keep_results = keep_results
        self.assets: tuple[AssetSpec, ...] = _specs(assets)
        self.count = count
        self.trusted = trusted
        self.lease_seconds = lease_seconds
        self.dask_scheduler = dask_scheduler
        self._context = multiprocessing.get_context("spawn")
        self._halt = threading.Event()
        self._stopping = threading.Event()  # the threads' orders
        self._releasing = threading.Event()
        self.processes: list[BaseProcess] = []
        self.threads: list[threading.Thread] = []
        self._pipes: list[Connection] = []  # the server's end of each worker's pipe
        self._supervisor: threading.Thread | None = None
        self.cluster: Cluster | None = None
        if dask_scheduler is not None:
            from lazyarray.server.cluster import Cluster

            timeout = options.dask_connect_timeout if connect_timeout is None else connect_timeout
            self.cluster = Cluster(dask_scheduler, timeout)
        # the wake-up pipes of the processes (the module's docstring), made by start()
        self._work: Connection | None = None
        self._work_reader: Connection | None = None
        self._done: Connection | None = None
        self._done_writer: Connection | None = None
        self._work_event = threading.Event()  # the dask threads' wake-up
        self._listeners: list[Callable[[Collection[str] | None], None]] = []
        self._listener: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None  # reading the ends, if any
        self._threads_assets: contextlib.ExitStack | None = None  # the threads' backend

    @property
    def client(self) -> Any:
        """The worker threads' dask client made last (None without one)."""
        return None if self.cluster is None else self.cluster.current

    def wake(self) -> None:
        """Wakes an idle worker: a job was recorded."""
        if self._work is not None:
            signal(self._work)
        self._work_event.set()

    def on_finished(self, listener: Callable[[Collection[str] | None], None]) -> None:
        """Calls ``listener`` (in a thread of the pool) each time workers end attempts,
        with the jobs' ids (None: any job may have ended)."""
        self._listeners.append(listener)

    def finished(self, job_ids: Collection[str] | None = None) -> None:
        for listener in self._listeners:
            listener(job_ids)

    def _listen(self, reader: Connection) -> None:
        while not self._halt.is_set():
            if reader.poll(SUPERVISE_SECONDS):
                self._drain()

    def _drain(self) -> None:
        """Tells the listeners which jobs the workers ended (what the pipe holds)."""
        data = b""
        with contextlib.suppress(BlockingIOError, OSError):
            data = os.read(self._done.fileno(), 1 << 16)  # type: ignore[union-attr]
        self.finished(ended_jobs(data))

    def _spawn(self, index: int) -> BaseProcess:
        reader, writer = self._context.Pipe(duplex=False)
        process = self._context.Process(
            target=worker_main,
            args=(
                str(self.layout.root),
                self.trusted,
                reader,
                self.lease_seconds,
                self._work_reader,
                self._done_writer,
                self.assets,
            ),
            daemon=True,
            name="lazyarray-worker",
        )
        process.start()
        reader.close()
        if index < len(self._pipes):
            self._pipes[index].close()
            self._pipes[index] = writer
        else:
            self._pipes.append(writer)
        return process

    def _thread(self) -> threading.Thread:
        thread = threading.Thread(
            target=thread_main,
            args=(
                self.layout,
                self.trusted,
                self.lease_seconds,
                self.cluster,
                self._stopping,
                self._releasing,
                self._work_event,
                self.finished,
            ),
            daemon=True,
            name="lazyarray-dask-worker",
        )
        thread.start()
        return thread

    def start(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Starts the workers; ``loop`` (the server's event loop, from its own thread)
        reads the ends of their jobs, else a thread of the pool does."""
        if self.cluster is not None:
            self.cluster.client()  # connects now if it can; the threads try again if not
            self._threads_assets = contextlib.ExitStack()
            self._threads_assets.enter_context(_assets_backend("dask", self.assets))
            self.threads = [self._thread() for _ in range(self.count)]
        else:
            self._work_reader, self._work = self._context.Pipe(duplex=False)
            self._done, self._done_writer = self._context.Pipe(duplex=False)
            os.set_blocking(self._work.fileno(), False)
            os.set_blocking(self._done.fileno(), False)
            self.processes = [self._spawn(index) for index in range(self.count)]
            if loop is not None:  # the loop reads the ends itself: no thread to wake
                self._loop = loop
                loop.add_reader(self._done.fileno(), self._drain)
            else:
                self._listener = threading.Thread(
                    target=self._listen, args=(self._done,), daemon=True
                )
                self._listener.start()
        self._supervisor = threading.Thread(target=self._supervise, daemon=True)
        self._supervisor.start()

    def _supervise(self) -> None:
        store = self.layout.jobs(lease_seconds=self.lease_seconds)
        keep = self.keep_results
        forget_every = None if keep is None else min(FORGET_SECONDS, max(keep / 2, 0.1))
        next_forget = time.monotonic()
        try:
            while not self._halt.wait(SUPERVISE_SECONDS):
                if lost := store.requeue_expired():
                    self.wake()
                    self.finished(lost)  # the last attempts lost ended their jobs
                if store.expire():
                    self.finished()
                if forget_every is not None and time.monotonic() >= next_forget:
                    next_forget = time.monotonic() + forget_every
                    for name in store.forget(time.time() - keep):  # type: ignore[operator]
                        (self.layout.results / name).unlink(missing_ok=True)
                for index, process in enumerate(self.processes):
                    if not process.is_alive() and not self._halt.is_set():
                        process.join()
                        self.processes[index] = self._spawn(index)
                for index, thread in enumerate(self.threads):
                    if not thread.is_alive() and not self._halt.is_set():
                        log.warning("a worker thread ended: it is started again")
                        self.threads[index] = self._thread()
        finally:
            store.close()

    def stop(self, grace: float = 30.0) -> None:
        """Stops claiming; gives running jobs ``grace`` seconds to finish, then releases
        the rest back to Pending (no attempt counted); ends every worker."""
        self._halt.set()
        if self._supervisor is not None:
            self._supervisor.join()
        if self._listener is not None:
            self._listener.join()
        if self._loop is not None and self._done is not None:
            with contextlib.suppress(RuntimeError, ValueError, OSError):  # a closed loop
                self._loop.remove_reader(self._done.fileno())
        self._order(STOP)
        end = time.monotonic() + grace
        for worker in self._workers():
            worker.join(max(end - time.monotonic(), 0.0))
        if any(worker.is_alive() for worker in self._workers()):
            self._order(RELEASE)
            end = time.monotonic() + 10.0
            for worker in self._workers():
                worker.join(max(end - time.monotonic(), 0.0))
        for process in self.processes:
            if process.is_alive():
                process.kill()
                process.join()
        wakes = (self._work, self._work_reader, self._done, self._done_writer)
        for pipe in [*self._pipes, *(wake for wake in wakes if wake is not None)]:
            pipe.close()
        if self._threads_assets is not None:
            self._threads_assets.close()
        if self.cluster is not None:
            self.cluster.close()

    def _workers(self) -> list[Any]:
        return [*self.processes, *self.threads]

    def _order(self, order: bytes) -> None:
        for pipe in self._pipes:
            with contextlib.suppress(OSError):  # the worker is gone
                pipe.send_bytes(order)
        (self._releasing if order == RELEASE else self._stopping).set()
        self._stopping.set()


def _specs(assets: Any) -> tuple[AssetSpec, ...]:
    """The specifications of ``assets`` (what a spawned worker can be sent)."""
    if assets is None:
        return ()
    from lazyarray.assets import AssetSet

    return tuple(asset.spec for asset in AssetSet.of(assets))


def ended_message(job_id: str) -> bytes:
    """What a worker writes to the pool's pipe when it ends an attempt of ``job_id``."""
    return job_id.encode("ascii", "replace") + b"\n"


def ended_jobs(data: bytes) -> set[str] | None:
    """The ids in what the pool's pipe held; None when some message was not one (a read
    that stopped inside a message, a bare wake-up): then any job may have ended."""
    *whole, rest = data.split(b"\n")
    if rest or not whole or any(not line or b"\0" in line for line in whole):
        return None
    return {line.decode("ascii") for line in whole}
