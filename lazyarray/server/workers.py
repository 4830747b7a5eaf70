"""The worker pool: processes started by ``multiprocessing``'s spawn context, each
claiming jobs from the store; a supervisor thread requeues jobs whose lease expired and
restarts workers that died."""

from __future__ import annotations

import multiprocessing
import threading
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from lazyarray.server.layout import Layout

POLL_SECONDS = 0.02  # how long an idle worker waits before it looks for a job again
SUPERVISE_SECONDS = 0.5


def worker_main(root: str, trusted: bool, stop: Any, lease_seconds: float) -> None:
    """A worker process: claims and runs jobs until ``stop`` is set."""
    import lazyarray  # noqa: F401 - registers the proxies the reader wraps nodes in
    from lazyarray.server.runner import run

    layout = Layout(Path(root))
    store = layout.jobs(lease_seconds=lease_seconds)
    blobs = layout.blobs()
    while not stop.is_set():
        claim = store.claim()
        if claim is None:
            stop.wait(POLL_SECONDS)
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
        self._stop = self._context.Event()
        self._halt = threading.Event()
        self.processes: list[BaseProcess] = []
        self._supervisor: threading.Thread | None = None

    def _spawn(self) -> BaseProcess:
        process = self._context.Process(
            target=worker_main,
            args=(str(self.layout.root), self.trusted, self._stop, self.lease_seconds),
            daemon=True,
            name="lazyarray-worker",
        )
        process.start()
        return process

    def start(self) -> None:
        self.processes = [self._spawn() for _ in range(self.count)]
        self._supervisor = threading.Thread(target=self._supervise, daemon=True)
        self._supervisor.start()

    def _supervise(self) -> None:
        store = self.layout.jobs(lease_seconds=self.lease_seconds)
        try:
            while not self._halt.wait(SUPERVISE_SECONDS):
                store.requeue_expired()
                for index, process in enumerate(self.processes):
                    if not process.is_alive() and not self._stop.is_set():
                        process.join()
                        self.processes[index] = self._spawn()
        finally:
            store.close()

    def stop(self, grace: float = 5.0) -> None:
        """Stops claiming; waits ``grace`` seconds for running jobs, then ends the rest."""
        self._stop.set()
        self._halt.set()
        if self._supervisor is not None:
            self._supervisor.join()
        for process in self.processes:
            process.join(grace)
            if process.is_alive():
                process.kill()
                process.join()
