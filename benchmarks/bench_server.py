"""``lazyarray serve`` next to dask.distributed on this machine: the round trip of a tiny
job, one client after the other, and the throughput of 8 clients at once.

Groups:
- server-round-trip: dask.distributed's ``client.submit(f, x).result()`` on a
  LocalCluster of 2 worker processes, then a lazyarray server with 2 workers over HTTP:
  ``POST /v1/jobs?wait=&inline=true`` (one request), then ``POST /v1/jobs``,
  ``GET /v1/jobs/{id}?wait=`` (a long poll), ``GET .../result`` (three), then
  ``compute(backend="remote")`` (the document written, sent and read back).
- server-throughput-8: 8 client threads, each running round trips one after the other;
  ``extra_info["jobs/s"]``.
The servers start once per module (a few seconds, also under ``make test``).
"""

from __future__ import annotations

import base64
import contextlib
import io
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("fastapi")
distributed = pytest.importorskip("distributed")

import lazyarray as la  # noqa: E402
from lazyarray import serialize  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.server_kit import Server  # noqa: E402

CLIENTS = 8
X = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]


def _tiny(x: Any) -> Any:
    return (np.asarray(x) * 2.0 + 1.0).sum(axis=0)


def _document() -> dict[str, Any]:
    x = la.parameter("x", la.Array, dtype="float64", shape=(None, None))
    return serialize.to_dict((x * 2.0 + 1.0).sum(axis=0))


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        with Server(root / "store", root / "config", args=["--workers", "2"]) as running:
            yield running
            running.stop()


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as local,
        distributed.Client(local) as client,
    ):
        yield client


def _lazyarray_trip(server: Server, stack: contextlib.ExitStack) -> Callable[[], Any]:
    """One request: the submission waits for the job's end, its result inline."""
    client = stack.enter_context(server.client())
    body = {"graph": _document(), "arguments": {"x": X}}
    waiting = {"wait": 30, "inline": "true"}

    def trip() -> Any:
        state = client.post("/v1/jobs", json=body, params=waiting).json()["state"]
        assert state["status"] == "Completed", state
        return np.load(io.BytesIO(base64.b64decode(state["inline_result"]["base64"])))

    return trip


def _lazyarray_three_requests(server: Server, stack: contextlib.ExitStack) -> Callable[[], Any]:
    """Submit, long poll, download: what a client that does not wait in its submission
    (or whose result is large) sends."""
    client = stack.enter_context(server.client())
    body = {"graph": _document(), "arguments": {"x": X}}

    def trip() -> Any:
        job_id = client.post("/v1/jobs", json=body).json()["job_id"]
        state = client.get(f"/v1/jobs/{job_id}", params={"wait": 30}).json()
        assert state["status"] == "Completed", state
        return np.load(io.BytesIO(client.get(f"/v1/jobs/{job_id}/result").content))

    return trip


def _remote_trip(server: Server, stack: contextlib.ExitStack) -> Callable[[], Any]:
    from lazyarray_remote.session import Session

    session = stack.enter_context(Session(server.url, server.token))
    x = la.asarray(np.asarray(X))
    return lambda: (
        (x * 2.0 + 1.0).sum(axis=0).compute(backend="remote", client=session, cache=False)
    )


def _dask_trip(client: Any) -> Callable[[], Any]:
    return lambda: client.submit(_tiny, X, pure=False).result()


def _trip(
    peer: str, server: Server, cluster: Any, stack: contextlib.ExitStack
) -> Callable[[], Any]:
    if peer == "dask.distributed":
        return _dask_trip(cluster)
    if peer == "lazyarray serve, 3 requests":
        return _lazyarray_three_requests(server, stack)
    if peer == "compute(backend='remote')":
        return _remote_trip(server, stack)
    return _lazyarray_trip(server, stack)


PEERS = [
    "dask.distributed",
    "lazyarray serve",
    "lazyarray serve, 3 requests",
    "compute(backend='remote')",
]


@pytest.fixture
def stack() -> Iterator[contextlib.ExitStack]:
    with contextlib.ExitStack() as opened:
        yield opened


@pytest.mark.parametrize("peer", PEERS)
def test_round_trip(
    benchmark: Any, peer: str, server: Server, cluster: Any, stack: contextlib.ExitStack
) -> None:
    benchmark.group = "server-round-trip"
    trip = _trip(peer, server, cluster, stack)
    trip()  # connections open, workers warm
    np.testing.assert_array_equal(benchmark(trip), _tiny(X))


@pytest.mark.parametrize("peer", PEERS)
def test_throughput(
    benchmark: Any,
    peer: str,
    server: Server,
    cluster: Any,
    stack: contextlib.ExitStack,
    request: pytest.FixtureRequest,
) -> None:
    benchmark.group = f"server-throughput-{CLIENTS}"
    each = 2 if request.config.getoption("benchmark_disable") else 50
    trips = [_trip(peer, server, cluster, stack) for _ in range(CLIENTS)]

    def batch() -> float:
        failures: list[BaseException] = []

        def client(trip: Callable[[], Any]) -> None:
            try:
                for _ in range(each):
                    np.testing.assert_array_equal(trip(), _tiny(X))
            except BaseException as error:
                failures.append(error)

        started = time.perf_counter()
        threads = [threading.Thread(target=client, args=(trip,)) for trip in trips]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not failures, failures
        return CLIENTS * each / (time.perf_counter() - started)

    rate = benchmark.pedantic(batch, rounds=3 if each > 2 else 1, iterations=1)
    benchmark.extra_info["jobs/s"] = round(rate)
