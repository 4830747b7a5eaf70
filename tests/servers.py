"""A real lazyarray server for tests: uvicorn serving an app in a thread of the test
process, on a socket bound to a free loopback port before it starts (so the port cannot
be taken in between), and the wait for a job to finish over HTTP."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from typing import Any

FINISHED = ("Completed", "Errored", "Cancelled")


class ThreadedServer:
    """``with ThreadedServer(app) as server: httpx.get(server.url + "/health")``."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        self.app = app
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.port = int(self.socket.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True
        )

    def __enter__(self) -> ThreadedServer:
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(60)
        self.socket.close()


def wait_finished(
    state: Callable[[str], dict[str, Any]], job_id: str, seconds: float = 60
) -> dict[str, Any]:
    """The job's state once it is Completed, Errored or Cancelled; ``state`` reads it."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = state(job_id)
        if found["status"] in FINISHED:
            return found
        time.sleep(0.02)
    raise AssertionError(f"job {job_id} did not finish in {seconds} s")
