"""``serve --dask-scheduler``: a scheduler that goes away and comes back (on the same
address) loses no job and stops no worker thread; a scheduler that does not answer at
start is a one-line error that leaves nothing behind."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
distributed = pytest.importorskip("distributed")

import lazyarray as la  # noqa: E402
from lazyarray import serialize  # noqa: E402
from lazyarray.cli import main  # noqa: E402
from lazyarray.server.layout import Layout  # noqa: E402
from lazyarray.server.store import JobStore  # noqa: E402
from lazyarray.server.workers import WorkerPool  # noqa: E402
from tests.server_kit import FINISHED, free_port, slow  # noqa: E402

TIMEOUT = 1.0  # dask_connect_timeout: distributed gives a lost scheduler this long


class Scheduler:
    """A LocalCluster on a fixed port, stopped and started again on it."""

    def __init__(self) -> None:
        self.port = free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        self.cluster: Any = None

    def start(self) -> None:
        self.cluster = distributed.LocalCluster(
            n_workers=1,
            threads_per_worker=2,
            processes=False,
            host="127.0.0.1",
            scheduler_port=self.port,
            dashboard_address=":0",
        )

    def stop(self) -> None:
        self.cluster.close()
        self.cluster = None


@pytest.fixture
def scheduler() -> Iterator[Scheduler]:
    found = Scheduler()
    found.start()
    try:
        yield found
    finally:
        if found.cluster is not None:
            found.stop()


@contextlib.contextmanager
def pool_on(tmp_path: Path, address: str) -> Iterator[tuple[WorkerPool, JobStore]]:
    layout = Layout.create(tmp_path / "store")
    pool = WorkerPool(layout, 2, lease_seconds=5.0, dask_scheduler=address, connect_timeout=TIMEOUT)
    store = layout.jobs()
    pool.start()
    try:
        yield pool, store
    finally:
        pool.stop(grace=0.0)
        store.close()


def submit(pool: WorkerPool, store: JobStore, graph: dict[str, Any]) -> str:
    job_id, _ = store.submit("o", {"graph": graph}, str(time.monotonic_ns()))
    pool.wake()
    return job_id


def until(store: JobStore, job_id: str, statuses: tuple[str, ...], within: float = 60.0) -> Any:
    end = time.monotonic() + within
    while time.monotonic() < end:
        job = store.get(job_id)
        assert job is not None
        if job["status"] in statuses:
            return job
        time.sleep(0.02)
    raise AssertionError(f"job {job_id} is {store.get(job_id)}, never {statuses}")


def on_the_cluster(store: JobStore, job_id: str) -> None:
    """Waits until the job's attempt reported its tasks: its futures are on the cluster."""
    until(store, job_id, ("Running",))
    end = time.monotonic() + 60
    while store.get(job_id)["total_steps"] == 0:  # type: ignore[index]
        assert time.monotonic() < end and store.get(job_id)["status"] == "Running"  # type: ignore[index]
        time.sleep(0.02)


def value(store: JobStore, job_id: str) -> float:
    import io

    import numpy as np

    data = store.result_data(job_id)
    assert data is not None
    return float(np.load(io.BytesIO(data)))


STEPS, N = 100, 800  # a job running some seconds on the cluster: a product a step
TINY = serialize.to_dict(la.arange(10.0).sum())  # 45.0


def test_jobs_run_again_once_a_scheduler_gone_for_good_is_back(
    scheduler: Scheduler, tmp_path: Path
) -> None:
    """Past its timeout distributed closes the client for good: the pool makes a new
    one once the scheduler answers; the job running at the outage is requeued (one
    attempt counted), a job sent during it waits in Pending, and every thread lives."""
    with pool_on(tmp_path, scheduler.address) as (pool, store):
        assert value(store, until(store, submit(pool, store, TINY), FINISHED)["job_id"]) == 45.0
        first = pool.client
        long = submit(pool, store, slow(STEPS, N))
        on_the_cluster(store, long)
        scheduler.stop()
        requeued = until(store, long, ("Pending",), within=10 * TIMEOUT)
        assert requeued["attempts"] == 1 and requeued["errors"] == []
        assert requeued["message"].startswith("requeued: the connection to the dask scheduler")
        end = time.monotonic() + 10 * TIMEOUT
        while first.status != "closed" and time.monotonic() < end:  # distributed gave up
            time.sleep(0.05)
        assert first.status == "closed" and not pool.cluster.reachable  # type: ignore[union-attr]
        waiting = submit(pool, store, TINY)
        time.sleep(3 * TIMEOUT)
        assert store.get(waiting)["status"] == "Pending"  # type: ignore[index]
        assert all(thread.is_alive() for thread in pool.threads)
        scheduler.start()
        assert until(store, waiting, FINISHED)["status"] == "Completed"
        assert value(store, waiting) == 45.0
        done = until(store, long, FINISHED)
        assert done["status"] == "Completed" and done["attempts"] == 2
        assert value(store, long) == N * N
        assert pool.client is not first and pool.cluster.reachable  # type: ignore[union-attr]
        assert all(thread.is_alive() for thread in pool.threads)


def test_an_attempt_cut_by_a_short_outage_is_retried(scheduler: Scheduler, tmp_path: Path) -> None:
    """A scheduler back before the timeout: distributed reconnects, having cancelled
    the futures of the running attempt; that attempt is retried, not Errored."""
    with pool_on(tmp_path, scheduler.address) as (pool, store):
        long = submit(pool, store, slow(STEPS, N))
        on_the_cluster(store, long)
        scheduler.stop()
        scheduler.start()
        done = until(store, long, FINISHED)
        assert done["status"] == "Completed", done
        assert done["attempts"] == 2 and value(store, long) == N * N


def test_the_supervisor_starts_a_dead_worker_thread_again(
    scheduler: Scheduler, tmp_path: Path
) -> None:
    with pool_on(tmp_path, scheduler.address) as (pool, store):
        dead = threading.Thread(target=lambda: None)
        dead.start()
        dead.join()
        pool.threads[0] = dead
        end = time.monotonic() + 10
        while pool.threads[0] is dead and time.monotonic() < end:
            time.sleep(0.05)
        assert pool.threads[0] is not dead and pool.threads[0].is_alive()
        assert until(store, submit(pool, store, TINY), FINISHED)["status"] == "Completed"


def test_an_unreachable_scheduler_refuses_to_start_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("LAZYARRAY_TOKEN", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    address = f"tcp://127.0.0.1:{free_port()}"  # nothing listens there
    store = tmp_path / "store"
    began = time.monotonic()
    with la.config.set(dask_connect_timeout=0.5):
        code = main(["serve", "--store", str(store), "--port", "0", "--dask-scheduler", address])
    assert code == 1 and time.monotonic() - began < 10
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert error.startswith(
        f"lazyarray: error: cannot reach the dask scheduler at {address} within 0.5 s"
    )
    assert not store.exists() and not (tmp_path / "config").exists()


def test_warnings_made_errors_fail_a_job_on_the_cluster(
    scheduler: Scheduler, tmp_path: Path
) -> None:
    """A client whose filters make warnings errors asks for ``warnings="error"``: on the
    cluster the kinds that warn are raised in the tasks, so the job fails as locally."""
    import numpy as np

    graph = serialize.to_dict(la.asarray(np.zeros(1000)) / 0.0)
    errstate = {"divide": "warn", "invalid": "warn", "over": "warn", "under": "ignore"}
    with pool_on(tmp_path, scheduler.address) as (pool, store):
        job_id, _ = store.submit(
            "o",
            {"graph": graph, "errstate": errstate, "options": {"warnings": "error"}},
            "w",
        )
        pool.wake()
        job = until(store, job_id, FINISHED)
        assert job["status"] == "Errored", job
        assert "invalid value encountered in divide" in job["errors"][0]["message"]


def test_health_says_whether_the_cluster_answers(scheduler: Scheduler, tmp_path: Path) -> None:
    import warnings

    with warnings.catch_warnings():  # starlette's notice that it prefers httpx2
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    from lazyarray.server.app import create_app

    with la.config.set(dask_connect_timeout=TIMEOUT):
        app = create_app(tmp_path / "store", "t", workers=1, dask_scheduler=scheduler.address)
    with TestClient(app) as client:
        health = client.get("/health").json()
        if health.get("dask_scheduler") != "reachable":  # the threads connect as they start
            submit_and_wait = client.post(
                "/v1/jobs?wait=30",
                json={"graph": TINY},
                headers={"Authorization": "Bearer t"},
            )
            assert submit_and_wait.json()["status"] == "Completed"
            health = client.get("/health").json()
        assert health == {"status": "ok", "dask_scheduler": "reachable"}
        scheduler.stop()
        end = time.monotonic() + 20 * TIMEOUT
        while client.get("/health").json()["dask_scheduler"] == "reachable":
            assert time.monotonic() < end, "the cluster's loss never showed"
            time.sleep(0.05)
        assert client.get("/health").json() == {"status": "ok", "dask_scheduler": "unreachable"}
