"""The server's promises under failure: a killed worker's job is retried, then fails
with a typed worker-lost error; a stale attempt never overwrites a result; a server
SIGKILLed at random moments and restarted on its store loses no job and keeps each in
one terminal state; a submission whose response was lost is one job; cancels are fast;
jobs also run on a dask.distributed cluster. Larger runs are marked ``soak``."""

from __future__ import annotations

import hashlib
import io
import random
import signal
import socket
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx")

with warnings.catch_warnings():  # starlette's notice that it prefers httpx2
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

import lazyarray as la  # noqa: E402
from lazyarray import serialize  # noqa: E402
from lazyarray.jobs import JobStatus  # noqa: E402
from lazyarray.server import create_app, runner  # noqa: E402
from lazyarray.server.runner import run  # noqa: E402
from lazyarray.server.store import JobStore  # noqa: E402
from lazyarray.stores.blobs import FolderBlobs  # noqa: E402
from tests.server_kit import FINISHED, Server, slow, small, wait, wait_for  # noqa: E402

HEADERS = {"Authorization": "Bearer t"}
N = 300  # the chain's matrices: N x N


def _chain(steps: int) -> dict[str, Any]:
    """``((x @ x) / N ... @ x / N * s).sum()``: parameters x (a blob) and s (a number)."""
    x = la.parameter("x", la.Array, dtype="float64", shape=(N, N))
    s = la.parameter("s", la.Array, dtype="float64", shape=())
    y = x
    for _ in range(steps):
        y = (y @ x) / float(N)
    return serialize.to_dict((y * s).sum())


def _chain_numpy(x: np.ndarray, steps: int, s: float) -> float:
    y = x
    for _ in range(steps):
        y = (y @ x) / float(N)
    return float((y * s).sum())


def _upload(client: httpx.Client | TestClient, array: np.ndarray) -> str:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    data = buffer.getvalue()
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    assert client.put(f"/v1/blobs/{digest}", content=data).status_code in (200, 201)
    return digest


# --- workers lost -----------------------------------------------------------------------


@pytest.fixture
def killable(tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(tmp_path, "t", workers=1, lease_seconds=1.0)
    with TestClient(app, headers=HEADERS) as client:
        yield client


def _kill_worker_running(client: TestClient, job_id: str, attempt: int) -> None:
    pool = client.app.state.pool  # type: ignore[attr-defined]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        state = client.get(f"/v1/jobs/{job_id}").json()
        if state["status"] == "Running" and state["attempts"] == attempt:
            break
        time.sleep(0.02)
    else:
        raise AssertionError(f"attempt {attempt} never ran: {state}")
    victim = pool.processes[0]
    victim.kill()
    victim.join()


def test_a_killed_worker_is_retried_then_the_job_is_worker_lost(killable: TestClient) -> None:
    ended: list[Any] = []  # what the pool tells the long polls
    killable.app.state.pool.on_finished(ended.append)  # type: ignore[attr-defined]
    job_id = killable.post("/v1/jobs", json={"graph": slow(4000)}).json()["job_id"]
    for attempt in (1, 2, 3):
        _kill_worker_running(killable, job_id, attempt)
    state = wait(killable, job_id)  # type: ignore[arg-type]
    assert (state["status"], state["attempts"]) == ("Errored", 3)
    # the supervisor that ended it woke its long polls by name (no waiting for a re-read)
    assert any(ids is not None and job_id in ids for ids in ended)
    (error,) = killable.get(f"/v1/jobs/{job_id}/errors").json()["errors"]
    assert error["type"] == "WorkerLost" and "3 attempts" in error["message"]
    # the worker was replaced each time: the next job runs
    x = np.arange(4.0).reshape(2, 2)
    job = killable.post("/v1/jobs", json={"graph": small(), "arguments": {"x": x.tolist()}})
    assert wait(killable, job.json()["job_id"])["status"] == "Completed"  # type: ignore[arg-type]


@pytest.mark.parametrize("inline", [1 << 20, 0], ids=["in-the-row", "in-a-file"])
def test_a_stale_attempt_never_overwrites_a_result(
    tmp_path: Path, inline: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner, "INLINE_BYTES", inline)
    store = JobStore(tmp_path / "jobs.sqlite3", lease_seconds=0.2)
    blobs = FolderBlobs(tmp_path / "blobs")
    results = tmp_path / "results"
    results.mkdir()
    x = np.arange(6.0).reshape(2, 3)
    job_id, _ = store.submit("a", {"graph": small(), "arguments": {"x": x.tolist()}}, "d")
    stale = store.claim()
    assert stale is not None
    time.sleep(0.3)
    assert store.requeue_expired() == [job_id]  # the stale attempt's worker looked dead
    fresh = store.claim()
    assert fresh is not None
    assert run(fresh, store, blobs, results, trusted=False) == JobStatus.COMPLETED
    won = store.get(job_id)
    assert won is not None and won["result"] == f"{job_id}.{fresh.attempt}.npy"
    assert run(stale, store, blobs, results, trusted=False) is None  # it lost: no change
    assert store.get(job_id) == won
    kept = store.result_data(job_id)
    files = sorted(path.name for path in results.iterdir())  # never the stale attempt's
    if inline:
        assert kept is not None and files == []
    else:
        assert kept is None and files == [won["result"]]
        kept = (results / won["result"]).read_bytes()
    np.testing.assert_array_equal(np.load(io.BytesIO(kept)), (x * 2 + 1).sum(axis=0))


# --- the server killed ----------------------------------------------------------------------


def _submit(server: Server, body: dict[str, Any]) -> str | None:
    """Submits, retrying while the server is away; None when it never answered."""
    for _ in range(3):
        try:
            with server.client() as client:
                response = client.post("/v1/jobs", json=body)
            assert response.status_code == 202, response.text
            return str(response.json()["job_id"])
        except httpx.TransportError:
            time.sleep(0.1)
    return None


def _server_killed_at_random(tmp_path: Path, cycles: int, per_cycle: int) -> None:
    rng = random.Random(20260611)
    x = np.random.default_rng(0).uniform(0.0, 2.0, size=(N, N))  # powers stay near 1
    server = Server(
        tmp_path / "store", tmp_path / "config", args=["--workers", "2", "--lease", "1"]
    )
    submitted: dict[str, tuple[int, float]] = {}  # submission id -> (steps, s)
    finished: dict[str, str] = {}  # job id -> the terminal state first seen
    running = 0  # jobs seen running just before a kill
    with server:
        with server.client() as client:
            digest = _upload(client, x)
        for cycle in range(cycles):
            for index in range(per_cycle):
                steps, s = rng.randint(20, 200), float(rng.randint(1, 9))
                key = f"c{cycle}-{index}"
                submitted[key] = (steps, s)
                body = {
                    "graph": _chain(steps),
                    "arguments": {"x": {"blob": digest, "format": "npy"}, "s": s},
                    "submission_id": key,
                }
                _submit(server, body)
            deadline = time.monotonic() + 10  # a random moment while work runs
            while _observe(server, finished) == 0 and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(rng.uniform(0.0, 0.5))
            running += _observe(server, finished)
            server.stop(signal.SIGKILL)  # the server and its workers, at once
            server.start()
        ids = {}
        with server.client() as client:
            for key, (steps, s) in submitted.items():
                # resubmitting is safe: the same submission id is the same job
                body = {
                    "graph": _chain(steps),
                    "arguments": {"x": {"blob": digest, "format": "npy"}, "s": s},
                    "submission_id": key,
                }
                ids[key] = client.post("/v1/jobs", json=body).json()["job_id"]
            assert len(set(ids.values())) == len(submitted)
            listed = client.get("/v1/jobs?limit=10000").json()["jobs"]
            assert sorted(job["job_id"] for job in listed) == sorted(ids.values())
            for key, job_id in ids.items():
                state = wait(client, job_id, timeout=120)
                assert finished.setdefault(job_id, state["status"]) == state["status"]
                if state["status"] == "Completed":
                    steps, s = submitted[key]
                    value = np.load(io.BytesIO(client.get(f"/v1/jobs/{job_id}/result").content))
                    np.testing.assert_allclose(value, _chain_numpy(x, steps, s), rtol=1e-9)
                else:  # only a job whose workers were killed three times may fail
                    errors = client.get(f"/v1/jobs/{job_id}/errors").json()["errors"]
                    assert state["status"] == "Errored" and errors[0]["type"] == "WorkerLost"
        server.stop()
    assert list((server.store / "results").iterdir()) == []  # small: kept in the rows
    assert running > 0  # the kills did interrupt work
    print(f"{len(finished)} jobs, {cycles} kills, {running} running at a kill: none lost")


def _observe(server: Server, finished: dict[str, str]) -> int:
    """Records each finished job's state (a state once seen finished never changes);
    returns how many are running."""
    with server.client() as client:
        jobs = client.get("/v1/jobs?limit=10000").json()["jobs"]
    for job in jobs:
        if job["status"] in FINISHED:
            assert finished.setdefault(job["job_id"], job["status"]) == job["status"]
    return sum(job["status"] == "Running" for job in jobs)


def test_no_job_is_lost_when_the_server_is_killed(tmp_path: Path) -> None:
    _server_killed_at_random(tmp_path, cycles=2, per_cycle=4)


@pytest.mark.soak
def test_no_job_is_lost_when_the_server_is_killed_soak(tmp_path: Path) -> None:
    _server_killed_at_random(tmp_path, cycles=10, per_cycle=8)


# --- lost responses, cancels ------------------------------------------------------------


class LossyProxy:
    """A TCP proxy, one request per connection, that forwards the first ``drop``
    requests to the server and hangs up before their responses reach the client."""

    def __init__(self, port: int, drop: int) -> None:
        self.port, self.drop = port, drop
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.address = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                accepted, _ = self.listener.accept()
            except OSError:
                return
            with accepted, socket.create_connection(("127.0.0.1", self.port)) as upstream:
                upstream.sendall(_read_request(accepted))
                response = b""
                while chunk := upstream.recv(65536):
                    response += chunk
                if self.drop > 0:
                    self.drop -= 1  # the server committed; the client never hears it
                    continue
                accepted.sendall(response)

    def close(self) -> None:
        self.listener.close()


def _read_request(connection: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        data += connection.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        body += connection.recv(65536)
    return head + b"\r\n\r\n" + body


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("server")
    with Server(root / "store", root / "config", args=["--workers", "2"]) as running:
        yield running


def test_a_lost_response_then_a_retry_is_one_job(server: Server) -> None:
    proxy = LossyProxy(server.port, drop=2)
    body = {"graph": small(), "arguments": {"x": [[1.0, 2.0]]}, "submission_id": "lost-1"}
    headers = {"Authorization": f"Bearer {server.token}", "Connection": "close"}
    found = None
    for _ in range(5):
        try:
            found = httpx.post(f"{proxy.address}/v1/jobs", json=body, headers=headers, timeout=10)
            break
        except httpx.TransportError:
            continue
    proxy.close()
    assert found is not None and found.status_code == 202
    with server.client() as client:
        listed = [job["job_id"] for job in client.get("/v1/jobs?limit=10000").json()["jobs"]]
        assert listed.count(found.json()["job_id"]) == 1
        matching = [
            job_id
            for job_id in listed
            if client.post("/v1/jobs", json=body).json()["job_id"] == job_id
        ]
        assert matching == [found.json()["job_id"]]
        conflict = client.post("/v1/jobs", json={**body, "arguments": {"x": [[3.0]]}})
        assert conflict.status_code == 409
        assert conflict.json()["error"]["type"] == "SubmissionConflict"


def _cancel_latencies(server: Server, count: int) -> list[float]:
    latencies = []
    with server.client() as client:
        for _ in range(count):
            job_id = client.post("/v1/jobs", json={"graph": slow(4000)}).json()["job_id"]
            wait_for(client, job_id, "Running")
            started = time.monotonic()
            assert client.post(f"/v1/jobs/{job_id}/cancel").status_code == 200
            while client.get(f"/v1/jobs/{job_id}").json()["status"] != "Cancelled":
                assert time.monotonic() - started < 30
                time.sleep(0.005)
            latencies.append(time.monotonic() - started)
    return latencies


def _p99(values: list[float]) -> float:
    return float(np.percentile(values, 99))


def test_cancel_is_fast(server: Server) -> None:
    latencies = _cancel_latencies(server, 5)
    print(f"cancel latency: p50 {np.median(latencies):.3f} s, p99 {_p99(latencies):.3f} s")
    assert _p99(latencies) < 2.0


@pytest.mark.soak
def test_cancel_is_fast_soak(server: Server) -> None:
    latencies = _cancel_latencies(server, 100)
    print(f"cancel latency (100): p50 {np.median(latencies):.3f} s, p99 {_p99(latencies):.3f} s")
    assert _p99(latencies) < 2.0


# --- load ------------------------------------------------------------------------------------


def _load(tmp_path: Path, clients: int, jobs_each: int) -> None:
    """``clients`` owners at once, each submitting ``jobs_each`` small jobs, then reading
    every result: none lost, duplicated or wrong, no 5xx."""
    tokens = tmp_path / "tokens"
    tokens.write_text("".join(f"owner{i} token-{i}\n" for i in range(clients)))
    server = Server(
        tmp_path / "store",
        tmp_path / "config",
        args=["--workers", "2", "--token-file", str(tokens)],
    )
    failures: list[str] = []
    statuses: list[int] = []
    trips: list[float] = []

    def one_client(index: int) -> None:
        headers = {"Authorization": f"Bearer token-{index}"}
        with httpx.Client(base_url=server.url, headers=headers, timeout=60) as client:
            pending = {}
            for number in range(jobs_each):
                x = [[float(index), float(number)]]
                body = {"graph": small(), "arguments": {"x": x}, "submission_id": f"{number}"}
                started = time.monotonic()
                response = client.post("/v1/jobs", json=body)
                statuses.append(response.status_code)
                pending[response.json()["job_id"]] = (x, started)
            for job_id, (x, started) in pending.items():
                while (state := client.get(f"/v1/jobs/{job_id}?wait=30").json())[
                    "status"
                ] not in FINISHED:
                    pass
                trips.append(time.monotonic() - started)
                result = client.get(f"/v1/jobs/{job_id}/result")
                statuses.append(result.status_code)
                value = np.load(io.BytesIO(result.content))
                if state["status"] != "Completed" or not np.array_equal(
                    value, (np.asarray(x) * 2 + 1).sum(axis=0)
                ):
                    failures.append(job_id)
            listed = client.get("/v1/jobs?limit=10000").json()["jobs"]
            if sorted(job["job_id"] for job in listed) != sorted(pending):
                failures.append(f"owner{index} lists {len(listed)} jobs, not {len(pending)}")

    with server:
        started = time.monotonic()
        threads = [threading.Thread(target=one_client, args=(i,)) for i in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
        server.stop()
    total = clients * jobs_each
    print(
        f"load: {clients} clients x {jobs_each} jobs in {elapsed:.1f} s ({total / elapsed:.0f}"
        f" jobs/s), submit-to-finished p50 {np.median(trips) * 1000:.0f} ms"
    )
    assert failures == []
    assert len(trips) == total
    assert all(status < 500 for status in statuses)


def test_load(tmp_path: Path) -> None:
    _load(tmp_path, clients=8, jobs_each=10)


@pytest.mark.soak
def test_load_soak(tmp_path: Path) -> None:
    _load(tmp_path, clients=8, jobs_each=400)


# --- a dask.distributed cluster --------------------------------------------------------------


def test_jobs_run_on_a_dask_scheduler(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=":0"
    ) as cluster:
        app = create_app(tmp_path, "t", workers=2, dask_scheduler=cluster.scheduler_address)
        before = cluster.scheduler.transition_counter
        with TestClient(app, headers=HEADERS) as client:
            x = np.random.default_rng(1).normal(size=(N, N))
            digest = _upload(client, x)
            body = {"graph": _chain(3), "arguments": {"x": {"blob": digest}, "s": 2.0}}
            job_id = client.post("/v1/jobs", json=body).json()["job_id"]
            state = wait(client, job_id)  # type: ignore[arg-type]
            assert state["status"] == "Completed", client.get(f"/v1/jobs/{job_id}/errors").text
            value = np.load(io.BytesIO(client.get(f"/v1/jobs/{job_id}/result").content))
            np.testing.assert_allclose(value, _chain_numpy(x, 3, 2.0), rtol=1e-9)
            assert cluster.scheduler.transition_counter > before  # the cluster did the work
            assert client.app.state.pool.processes == []  # type: ignore[attr-defined]
            # a long job (short to lower: the dask backend lowers it before it runs)
            long = client.post("/v1/jobs", json={"graph": slow(300, 1000)}).json()["job_id"]
            wait_for(client, long, "Running")  # type: ignore[arg-type]
            client.post(f"/v1/jobs/{long}/cancel")
            assert wait(client, long, timeout=30)["status"] == "Cancelled"  # type: ignore[arg-type]


def test_a_job_back_in_pending_says_so(tmp_path: Path) -> None:
    """The message of a running attempt ("Job is running on the cluster.") is not kept by
    a job given back to Pending, released by a stopping server or requeued after its
    worker was lost; a new attempt starts with none."""
    from lazyarray.server.store import RELEASED, REQUEUED

    store = JobStore(tmp_path / "jobs.sqlite3", lease_seconds=5.0)
    job_id, _ = store.submit("o", {"graph": small()}, "d")
    claim = store.claim()
    assert claim is not None
    store.heartbeat(claim, 1, 4, "Job is running on the cluster.")
    assert store.release(claim)
    assert (store.get(job_id)["status"], store.get(job_id)["message"]) == ("Pending", RELEASED)  # type: ignore[index]
    claim = store.claim()
    assert claim is not None and store.get(job_id)["message"] == ""  # type: ignore[index]
    store.heartbeat(claim, 1, 4, "Job is running on the cluster.")
    assert store.requeue_expired(time.time() + 60) == [job_id]
    assert (store.get(job_id)["status"], store.get(job_id)["message"]) == ("Pending", REQUEUED)  # type: ignore[index]
    store.close()
