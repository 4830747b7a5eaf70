"""The remote backend beside its peers, in one run: a tiny job's round trip (submit →
result) and the throughput of 8 concurrent clients next to dask.distributed's
``client.submit(...).result()`` on a LocalCluster on this machine; and the overhead of
``backend="remote"`` over ``backend="numpy"`` on the workloads with small results (W3,
W4, W7, W8), their inputs uploaded before timing (read-only arrays: each graph's document
is written once per session, its literals uploaded once).

The server is ``python -m lazyarray serve`` in a subprocess (2 worker processes), so it
shares no interpreter with the client. Under ``make test`` (timing disabled) each case
runs once on small inputs, the cluster in threads."""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import lazyarray as la
from benchmarks.workloads import make_inputs, w3, w4, w7

httpx = pytest.importorskip("httpx")
pytest.importorskip("uvicorn")

ROOT = Path(__file__).resolve().parents[1]
CLIENTS = 8


@pytest.fixture(scope="module")
def smoke(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("benchmark_disable"))


@pytest.fixture(scope="module")
def scale(smoke: bool) -> float:
    return 1e-3 if smoke else 1.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def serving(workers: int = 2) -> Iterator[tuple[str, str]]:
    """``lazyarray serve`` on a free loopback port over a temporary store: (URL, token)."""
    token = secrets.token_hex(16)
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="lazyarray-bench-") as folder:
        path = [str(ROOT), str(ROOT / "backends"), os.environ.get("PYTHONPATH", "")]
        env = dict(
            os.environ,
            LAZYARRAY_TOKEN=token,
            PYTHONPATH=os.pathsep.join(p for p in path if p),
            XDG_CONFIG_HOME=folder,
        )
        command = [sys.executable, "-m", "lazyarray", "serve", "--port", str(port)]
        command += ["--store", str(Path(folder) / "store"), "--workers", str(workers)]
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"{url}/health", timeout=1.0).status_code == 200:
                        break
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the benchmark's server did not start")
                time.sleep(0.05)
            yield url, token
        finally:
            process.terminate()
            process.wait(60)


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, str]]:
    from lazyarray.backend import get_backend, register_backend
    from lazyarray.errors import BackendNotFound

    try:
        get_backend("remote")
    except BackendNotFound:  # an editable install made before the entry point
        from lazyarray_remote import RemoteBackend

        register_backend(RemoteBackend())
    with serving() as found:
        yield found


@pytest.fixture(scope="module")
def sessions(server: tuple[str, str]) -> Iterator[list[Any]]:
    """One session per client (its own connections), the first for single-client runs."""
    from lazyarray_remote import Session

    made = [Session(*server) for _ in range(CLIENTS)]
    yield made
    for session in made:
        session.close()


@pytest.fixture(scope="module")
def dask_client(smoke: bool) -> Iterator[Any]:
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=not smoke, dashboard_address=":0"
    )
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


def _tiny() -> float:
    return float((np.arange(10.0) * 2).sum())


TINY = la.asarray(np.arange(10.0))


def _remote_tiny(session: Any) -> Callable[[], Any]:
    y = (TINY * 2).sum()
    return lambda: float(y.compute(backend="remote", client=session, cache=False))


@pytest.mark.parametrize("peer", ["dask.distributed", "remote"])
def test_round_trip_of_a_tiny_job(
    benchmark: Any, peer: str, sessions: list[Any], dask_client: Any
) -> None:
    benchmark.group = "round trip"
    if peer == "remote":
        run = _remote_tiny(sessions[0])
    else:
        run = lambda: dask_client.submit(_tiny, pure=False).result()
    run()  # connections open, workers warm
    assert benchmark(run) == 90.0


@pytest.mark.parametrize("peer", ["dask.distributed", "remote"])
def test_throughput_of_8_clients(
    benchmark: Any, peer: str, sessions: list[Any], dask_client: Any, smoke: bool
) -> None:
    benchmark.group = "8 clients"
    each = 2 if smoke else 25
    benchmark.extra_info["jobs"] = CLIENTS * each
    if peer == "remote":
        runs = [_remote_tiny(session) for session in sessions]
    else:
        runs = [lambda: dask_client.submit(_tiny, pure=False).result()] * CLIENTS

    def client(index: int) -> list[float]:
        return [runs[index]() for _ in range(each)]

    def all_clients() -> list[float]:
        with ThreadPoolExecutor(CLIENTS) as pool:
            return [value for values in pool.map(client, range(CLIENTS)) for value in values]

    values = benchmark.pedantic(all_clients, rounds=1 if smoke else 3, iterations=1)
    assert values == [90.0] * (CLIENTS * each)


def _readonly(inputs: dict[str, Any]) -> dict[str, Any]:
    """The inputs frozen down to the memory they read (a masked array's data is a view
    of a writeable array until its base is frozen too)."""
    for value in inputs.values():
        arrays = [value, np.ma.getmaskarray(value)] if np.ma.isMaskedArray(value) else [value]
        for current in arrays:
            while isinstance(current, np.ndarray):
                current.flags.writeable = False
                current = current.base
    return inputs


def _workload(name: str, scale: float) -> tuple[Callable[[], Any], Callable[[Any], None]]:
    """The lazy expression(s) of a workload, and a check of a result against numpy."""
    inputs = _readonly(make_inputs(name, scale))
    if name == "W3":
        x = inputs["x"]
        lazy: Any = w3(la, la.asarray(x))
        return lambda: lazy, lambda v: np.testing.assert_allclose(v, w3(np, x), rtol=1e-9)
    if name == "W4":
        lazy = w4(la, **{k: la.asarray(v) for k, v in inputs.items()})
        expected = w4(np, **inputs)
        return lambda: lazy, lambda v: np.testing.assert_allclose(v, expected, rtol=1e-10)
    if name == "W7":
        x = inputs["x"]
        mean, std = w7(la, la.MaskedArray(x))

        def check(values: Any) -> None:
            np.testing.assert_allclose(np.ma.filled(values[0], 0), np.ma.filled(x.mean(0), 0))
            np.testing.assert_allclose(np.ma.filled(values[1], 0), np.ma.filled(x.std(0), 0))

        return lambda: (mean, std), check
    n = inputs["n"]

    def w8() -> Any:
        rng = la.random.default_rng(0)
        return (rng.random(n) * rng.random(n)).sum()

    return w8, lambda v: None if abs(v / n - 0.25) < 0.05 else pytest.fail(f"W8 gave {v}")


@pytest.mark.parametrize("peer", ["numpy", "remote"])
@pytest.mark.parametrize("name", ["W3", "W4", "W7", "W8"])
def test_remote_overhead(
    benchmark: Any, name: str, peer: str, scale: float, sessions: list[Any]
) -> None:
    benchmark.group = f"remote {name}"
    build, check = _workload(name, scale)
    options: dict[str, Any] = {"backend": peer, "cache": False}
    if peer == "remote":
        options["client"] = sessions[0]

    def run() -> Any:
        lazy = build()
        if isinstance(lazy, tuple):
            return la.compute(*lazy, **options)
        return lazy.compute(**options)

    run()  # inputs uploaded, documents written, workers warm
    check(benchmark.pedantic(run, rounds=1 if scale < 1 else 5, iterations=1))


@pytest.mark.parametrize("peer", ["memory copy", "numpy", "remote", "remote download"])
def test_w1_result_transfer(
    benchmark: Any, peer: str, scale: float, sessions: list[Any], http: Any
) -> None:
    """W1's 160 MB result (20M float64), fetched from the server, as throughput (the
    report's ``MB/s`` extra) next to a copy of the same bytes in this process (the
    machine's memory bandwidth, the ceiling of any transfer) and to the numpy backend;
    "remote download" is the GET of a completed job's result alone (httpx, read into
    the array as compute reads it), without the job."""
    from benchmarks.workloads import w1

    inputs = _readonly(make_inputs("W1", scale))
    expected = w1(np, **inputs)
    benchmark.group = "remote W1 result transfer"
    benchmark.extra_info["bytes"] = expected.nbytes
    if peer == "memory copy":
        run: Callable[[], Any] = expected.copy
    elif peer == "remote download":
        run = _download(http, w1(la, **{k: la.asarray(v) for k, v in inputs.items()}), sessions)
    else:
        lazy = w1(la, **{k: la.asarray(v) for k, v in inputs.items()})
        options: dict[str, Any] = {"backend": peer, "cache": False}
        if peer == "remote":
            options["client"] = sessions[0]
        run = lambda: lazy.compute(**options)
        run()  # inputs uploaded, the document written, workers warm
    result = benchmark.pedantic(run, rounds=1 if scale < 1 else 3, iterations=1)
    np.testing.assert_allclose(result, expected, rtol=1e-12)
    if benchmark.stats is not None:
        seconds = benchmark.stats.stats.median
        benchmark.extra_info["MB/s"] = round(expected.nbytes / seconds / 1e6)


@pytest.fixture(scope="module")
def http(server: tuple[str, str]) -> Iterator[Any]:
    """A plain httpx client of the server (the token's owner)."""
    with httpx.Client(base_url=server[0], headers={"Authorization": f"Bearer {server[1]}"}) as made:
        yield made


def _download(http: Any, lazy: Any, sessions: list[Any]) -> Callable[[], Any]:
    """A GET of the result of ``lazy``'s completed remote job, poured into an array."""
    from lazyarray_remote.results import read_npy

    job = lazy.compute(backend="remote", client=sessions[0], cache=False, block=False)
    job.result()

    def run() -> Any:
        with http.stream("GET", f"/v1/jobs/{job.job_id}/result") as response:
            return read_npy(response.iter_bytes())

    return run
