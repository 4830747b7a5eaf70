"""Real servers for tests: ``python -m lazyarray serve`` in a subprocess on a free
loopback port, with its own store and config folder, or an app served by uvicorn in a
thread of the test process; and expressions to run on them."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from hypothesis import strategies as st

import lazyarray as la
from lazyarray import serialize

ROOT = Path(__file__).resolve().parents[1]
FINISHED = ("Completed", "Errored", "Cancelled")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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


@dataclass
class Server:
    """A server process over ``store``; ``start`` (again after ``kill``) and ``stop``."""

    store: Path
    config: Path
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[str] | None = None
    output: list[str] = field(default_factory=list)  # what each run printed
    _lines: list[str] = field(default_factory=list)
    _reader: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def token(self) -> str:
        given = self.env.get("LAZYARRAY_TOKEN")
        return given or (self.config / "lazyarray" / "token").read_text().strip()

    def environment(self) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in ("LAZYARRAY_TOKEN", "LAZYARRAY_TOKEN_FILE")
        }
        path = [str(ROOT), str(ROOT / "backends"), env.get("PYTHONPATH", "")]
        env.update(
            PYTHONPATH=os.pathsep.join(p for p in path if p),
            XDG_CONFIG_HOME=str(self.config),
            OPENBLAS_NUM_THREADS="1",
            OMP_NUM_THREADS="1",
            MKL_NUM_THREADS="1",
        )
        env.update(self.env)
        return env

    def start(self, timeout: float = 60.0) -> None:
        command = [sys.executable, "-m", "lazyarray", "serve", "--port", str(self.port)]
        command += ["--store", str(self.store), *self.args]
        self.process = subprocess.Popen(
            command,
            env=self.environment(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # its workers too get the test's signals only by group
        )
        # drained as it comes: a full pipe would stop the server at its next log line
        lines: list[str] = []
        self._lines = lines
        self._reader = threading.Thread(
            target=lambda: lines.extend(self.process.stdout),  # type: ignore[union-attr,arg-type]
            daemon=True,
        )
        self._reader.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self._reader.join(5)
                raise AssertionError(f"the server exited: {''.join(lines)}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/health", timeout=1.0).status_code == 200:
                    return
            time.sleep(0.05)
        raise AssertionError("the server did not start")

    def client(self) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.token}"}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30.0)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60.0, *, group: bool = False) -> int:
        """Signals the server (SIGKILL, or with ``group``: its whole group, workers
        included, as a crashed machine would lose them or a service manager signals them)
        and waits for it; returns its exit status."""
        assert self.process is not None
        if sig == signal.SIGKILL or group:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, sig)
        else:
            self.process.send_signal(sig)
        code = self.process.wait(timeout)
        if self._reader is not None:
            self._reader.join(timeout)
        self.output.append("".join(self._lines))
        if self.process.stdout is not None:
            self.process.stdout.close()
        self.process = None
        return code

    def __enter__(self) -> Server:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.stop(signal.SIGKILL)


def live_in_group(group: int, within: float = 10.0) -> list[int]:
    """The processes of a process group still alive ``within`` seconds (zombies not
    counted: where no init reaps them they linger, dead), read from /proc. The wait is
    for multiprocessing's resource tracker, which leaves once it reads the end of its
    pipe, a moment after the server: on a busy machine, later than the server's exit."""
    deadline = time.monotonic() + within
    while (found := _live_in_group(group)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return found


def _live_in_group(group: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        state, pgid = fields[0], int(fields[2])
        if pgid == group and state not in ("Z", "X"):
            found.append(int(entry.name))
    return found


def wait_finished(
    state: Callable[[str], dict[str, Any]], job_id: str, timeout: float = 60.0
) -> dict[str, Any]:
    """The job's state once it is Completed, Errored or Cancelled; ``state`` reads it."""
    deadline = time.monotonic() + timeout
    found: dict[str, Any] = {}
    while time.monotonic() < deadline:
        found = state(job_id)
        if found["status"] in FINISHED:
            return found
        time.sleep(0.02)
    raise AssertionError(f"job {job_id} did not finish: {found}")


def wait(client: httpx.Client, job_id: str, timeout: float = 60.0) -> dict[str, Any]:
    return wait_finished(lambda job: client.get(f"/v1/jobs/{job}").json(), job_id, timeout)


def wait_for(client: httpx.Client, job_id: str, status: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if client.get(f"/v1/jobs/{job_id}").json()["status"] == status:
            return
        time.sleep(0.02)
    raise AssertionError(f"job {job_id} never was {status}")


def small() -> dict[str, Any]:
    """``(x * 2 + 1).sum(axis=0)`` of a parameter ``x``."""
    x = la.parameter("x", la.Array, dtype="float64", shape=(None, None))
    return serialize.to_dict((x * 2.0 + 1.0).sum(axis=0))


def slow(steps: int = 400, n: int = 600) -> dict[str, Any]:
    """A chain of ``steps`` matrix products of ``n x n`` ones: long, and cancellable
    between its steps; its value is ``n * n``."""
    a = la.ones((n, n))
    y = a
    for _ in range(steps):
        y = (y @ a) / float(n)
    return serialize.to_dict(y.sum())


def _nested(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    # a named function: hypothesis reads a lambda's source to see that it recurses,
    # which a lambda over several lines does not always give it
    return st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)


# any JSON value a hostile client may send, a dozen leaves at most
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    _nested,
    max_leaves=12,
)
