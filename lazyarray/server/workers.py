"""The workers: processes started by ``multiprocessing``'s spawn context, each claiming
jobs from the store and computing them on the numpy backend, or, given a dask.distributed
scheduler, threads of the server handing the jobs to it; and a supervisor thread that
requeues jobs whose lease expired, cancels those past their deadline, and restarts
workers that died.

A worker process reads its orders from a pipe, not a shared Event (a worker killed
inside ``Event.wait`` would hold the Event's lock forever): ``STOP`` finishes the
current job and claims no more, ``RELEASE`` gives the current job back to Pending at
once (no attempt counted), end of file (the server died) is ``STOP``.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import threading
import time
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from lazyarray.server.layout import Layout

POLL_SECONDS = 0.02  # how long an idle worker waits before it looks for a job again
SUPERVISE_SECONDS = 0.5
STOP, RELEASE = b"stop", b"release"


class Orders:
    """What a worker was told, read from its pipe without blocking."""

    def __init__(self, pipe: Connection) -> None:
        self._pipe = pipe
        self.stopping = False
        self.releasing = False

    def read(self, wait: float = 0.0) -> None:
        try:
            while self._pipe.poll(wait):
                wait = 0.0
                order = self._pipe.recv_bytes()
                self.stopping = True
                self.releasing = self.releasing or order == RELEASE
        except (EOFError, OSError):
            self.stopping = True

    def released(self) -> bool:
        self.read()
        return self.releasing


def worker_main(root: str, trusted: bool, pipe: Connection, lease_seconds: float) -> None:
    """A worker process: claims and runs jobs until it is told to stop."""
    import lazyarray  # noqa: F401 - registers the proxies the reader wraps nodes in
    from lazyarray.server.runner import run

    layout = Layout(Path(root))
    store = layout.jobs(lease_seconds=lease_seconds)
    blobs = layout.blobs()
    orders = Orders(pipe)
    while not orders.stopping:
        claim = store.claim()
        if claim is None:
            orders.read(POLL_SECONDS)
            continue
        run(claim, store, blobs, layout.results, trusted=trusted, released=orders.released)
        orders.read()
    store.close()


def thread_main(
    layout: Layout,
    trusted: bool,
    lease_seconds: float,
    client: Any,
    stopping: threading.Event,
    releasing: threading.Event,
) -> None:
    """A worker thread of the server: its jobs run on the dask cluster of ``client``."""
    from lazyarray.server.runner import run

    store = layout.jobs(lease_seconds=lease_seconds)
    blobs = layout.blobs()
    try:
        while not stopping.is_set():
            claim = store.claim()
            if claim is None:
                stopping.wait(POLL_SECONDS)
                continue
            run(
                claim,
                store,
                blobs,
                layout.results,
                trusted=trusted,
                backend="dask",
                client=client,
                released=releasing.is_set,
            )
    finally:
        store.close()


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
    ) -> None:
        self.layout = layout
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
        self.client: Any = None

    def _spawn(self, index: int) -> BaseProcess:
        reader, writer = self._context.Pipe(duplex=False)
        process = self._context.Process(
            target=worker_main,
            args=(str(self.layout.root), self.trusted, reader, self.lease_seconds),
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
                self.client,
                self._stopping,
                self._releasing,
            ),
            daemon=True,
            name="lazyarray-dask-worker",
        )
        thread.start()
        return thread

    def start(self) -> None:
        if self.dask_scheduler is not None:
            from distributed import Client

            # the default client: the dask backend's jobs wait through distributed.wait,
            # which asks for it
            self.client = Client(self.dask_scheduler)  # type: ignore[no-untyped-call]
            self.threads = [self._thread() for _ in range(self.count)]
        else:
            self.processes = [self._spawn(index) for index in range(self.count)]
        self._supervisor = threading.Thread(target=self._supervise, daemon=True)
        self._supervisor.start()

    def _supervise(self) -> None:
        store = self.layout.jobs(lease_seconds=self.lease_seconds)
        try:
            while not self._halt.wait(SUPERVISE_SECONDS):
                store.requeue_expired()
                store.expire()
                for index, process in enumerate(self.processes):
                    if not process.is_alive() and not self._halt.is_set():
                        process.join()
                        self.processes[index] = self._spawn(index)
        finally:
            store.close()

    def stop(self, grace: float = 30.0) -> None:
        """Stops claiming; gives running jobs ``grace`` seconds to finish, then releases
        the rest back to Pending (no attempt counted); ends every worker."""
        self._halt.set()
        if self._supervisor is not None:
            self._supervisor.join()
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
        for pipe in self._pipes:
            pipe.close()
        if self.client is not None:
            self.client.close()

    def _workers(self) -> list[Any]:
        return [*self.processes, *self.threads]

    def _order(self, order: bytes) -> None:
        for pipe in self._pipes:
            with contextlib.suppress(OSError):  # the worker is gone
                pipe.send_bytes(order)
        (self._releasing if order == RELEASE else self._stopping).set()
        self._stopping.set()
