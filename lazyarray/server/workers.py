"""The worker pool: processes started by ``multiprocessing``'s spawn context, each
claiming jobs from the store; a supervisor thread requeues jobs whose lease expired and
restarts workers that died."""

from __future__ import annotations

import multiprocessing
import threading
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path

from lazyarray.server.layout import Layout

POLL_SECONDS = 0.02  # how long an idle worker waits before it looks for a job again
SUPERVISE_SECONDS = 0.5


def worker_main(root: str, trusted: bool, stop: Connection, lease_seconds: float) -> None:
    """A worker process: claims and runs jobs until ``stop`` is readable, that is until
    the server writes to it or closes it, or dies (a pipe, not a shared Event: a worker
    killed inside ``Event.wait`` would hold the Event's lock forever)."""
    import lazyarray  # noqa: F401 - registers the proxies the reader wraps nodes in
    from lazyarray.server.runner import run

    layout = Layout(Path(root))
    store = layout.jobs(lease_seconds=lease_seconds)
    blobs = layout.blobs()
    while not stop.poll(0):
        claim = store.claim()
        if claim is None:
            stop.poll(POLL_SECONDS)
            continue
        run(claim, store, blobs, layout.results, trusted=trusted)
    store.close()


class WorkerPool:
    """``count`` worker processes over one store folder, kept alive by a supervisor."""

    def __init__(
        self, layout: Layout, count: int, *, trusted: bool = False, lease_seconds: float
    ) -> None:
        self.layout = layout
        self.count = count
        self.trusted = trusted
        self.lease_seconds = lease_seconds
        self._context = multiprocessing.get_context("spawn")
        self._halt = threading.Event()
        self.processes: list[BaseProcess] = []
        self._stops: list[Connection] = []  # the server's end of each worker's stop pipe
        self._supervisor: threading.Thread | None = None

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
        if index < len(self._stops):
            self._stops[index].close()
            self._stops[index] = writer
        else:
            self._stops.append(writer)
        return process

    def start(self) -> None:
        self.processes = [self._spawn(index) for index in range(self.count)]
        self._supervisor = threading.Thread(target=self._supervise, daemon=True)
        self._supervisor.start()

    def _supervise(self) -> None:
        store = self.layout.jobs(lease_seconds=self.lease_seconds)
        try:
            while not self._halt.wait(SUPERVISE_SECONDS):
                store.requeue_expired()
                for index, process in enumerate(self.processes):
                    if not process.is_alive() and not self._halt.is_set():
                        process.join()
                        self.processes[index] = self._spawn(index)
        finally:
            store.close()

    def stop(self, grace: float = 5.0) -> None:
        """Stops claiming; waits ``grace`` seconds for running jobs, then ends the rest."""
        self._halt.set()
        if self._supervisor is not None:
            self._supervisor.join()
        for stop in self._stops:
            stop.close()  # the worker's end reads EOF: it stops after its current job
        for process in self.processes:
            process.join(grace)
            if process.is_alive():
                process.kill()
                process.join()
