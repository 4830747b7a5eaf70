"""A real lazyarray server for the remote backend's tests: uvicorn on a free loopback
port in a thread of the test process, over a temporary store, with real worker
processes; one per test session, shared by every test module that asks for it."""

from __future__ import annotations

import atexit
import shutil
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("httpx")
pytest.importorskip("uvicorn")
pytest.importorskip("fastapi")

from tests.server_kit import ThreadedServer

TOKEN = "remote-test-token"
LEASE_SECONDS = 1.5  # a cancel reaches a running job within a heartbeat (a third of this)


@dataclass
class RunningServer:
    url: str
    token: str
    store: Path
    app: Any


_shared: list[tuple[RunningServer, ThreadedServer]] = []
_lock = threading.Lock()


def start(
    store: Path, token: str = TOKEN, workers: int = 2
) -> tuple[RunningServer, ThreadedServer]:
    from lazyarray.server.app import create_app

    app = create_app(store, token, workers=workers, lease_seconds=LEASE_SECONDS)
    running = ThreadedServer(app).__enter__()
    return RunningServer(running.url, token, store, app), running


def shared_server() -> RunningServer:
    """The session's server, started on first use and stopped when the process ends."""
    with _lock:
        if not _shared:
            store = Path(tempfile.mkdtemp(prefix="lazyarray-remote-"))
            _shared.append(start(store))
            atexit.register(shutil.rmtree, store, True)
        return _shared[0][0]


def stop_shared() -> None:
    from lazyarray.backend import get_backend

    get_backend("remote").close()  # type: ignore[attr-defined]
    with _lock:
        while _shared:
            _shared.pop()[1].__exit__()


def register_remote() -> None:
    """The remote backend by name, where an editable install predates its entry point."""
    from lazyarray.backend import get_backend, register_backend
    from lazyarray.errors import BackendNotFound

    try:
        get_backend("remote")
    except BackendNotFound:
        from lazyarray_remote import RemoteBackend

        register_backend(RemoteBackend())


@pytest.fixture(scope="session", name="remote_server")
def remote_server_fixture() -> Iterator[RunningServer]:
    """Import it (as ``remote_server_fixture``) where the server is wanted."""
    register_remote()
    yield shared_server()
    stop_shared()  # the worker processes end with the session


@pytest.fixture(name="remote")
def remote_fixture(remote_server: RunningServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The server's URL, with its token and URL in the environment and the option."""
    from lazyarray import config

    monkeypatch.setenv("LAZYARRAY_TOKEN", remote_server.token)
    with config.set(server=remote_server.url):
        yield remote_server.url
