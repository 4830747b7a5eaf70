"""The dask backend on a real dask.distributed cluster (2 worker processes, started and
stopped here): results, jobs backed by futures, retries when a worker dies."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import lazyarray as la
from tests.conftest import assert_same

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster) as connected,
    ):
        yield connected


def test_compute_on_the_cluster(client: Any) -> None:
    data = np.random.default_rng(0).normal(size=(400, 300))
    x = la.Array(data)
    expression = ((x - x.mean(axis=0)) / x.std(axis=0)).sum(axis=1)
    expected = ((data - data.mean(axis=0)) / data.std(axis=0)).sum(axis=1)
    assert_same(expression.compute(backend="dask", client=client, cache=False), expected)
    masked = la.MaskedArray(data, mask=data > 1)
    assert_same(
        masked.mean(axis=0).compute(backend="dask", client=client, cache=False),
        np.ma.MaskedArray(data, mask=data > 1).mean(axis=0),
    )


def test_random_sources_match_the_numpy_backend(client: Any) -> None:
    rng = la.random.default_rng(11)
    x = rng.normal(size=(3_000, 500))
    total = (x * x).sum(axis=1)
    on_cluster = total.compute(backend="dask", client=client, cache=False)
    np.testing.assert_allclose(on_cluster, total.compute(cache=False), rtol=1e-12)


def test_jobs_on_the_cluster(client: Any) -> None:
    x = la.random.default_rng(1).random((2_000, 1_000))
    job = (x * 2).sum().compute(backend="dask", client=client, block=False, cache=False)
    value = job.result(timeout=60)
    assert abs(value - 2_000_000) < 5_000
    status = job.status()
    assert status["status"] == "Completed"
    assert status["total_steps"] > 0
    assert status["completed_steps"] == status["total_steps"]
    assert la.AsyncJob.from_id(job.job_id) is not None


def test_errors_on_the_cluster(client: Any) -> None:
    y = la.Array(np.arange(-50, 50).reshape(10, 10)) ** la.Array(np.full((10, 10), -1))
    job = y.compute(backend="dask", client=client, block=False, cache=False)
    with pytest.raises(la.ComputeError, match="power failed"):
        job.result(timeout=60)
    assert job.status()["status"] == "Errored"
    assert "power failed" in job.errors()[0]


def test_timeout_and_cancel(client: Any) -> None:
    x = la.random.default_rng(2).random((20_000, 2_000))  # 40 M draws: seconds of work
    with la.config.set(dask_chunk_bytes=2**20), pytest.raises(la.JobTimeoutError):
        x.sum().compute(backend="dask", client=client, timeout=0.05, cache=False)
    with la.config.set(dask_chunk_bytes=2**20):
        job = x.mean().compute(backend="dask", client=client, block=False, cache=False)
    assert job.cancel()
    assert job.status()["status"] == "Cancelled"


def test_a_killed_worker_is_survived(client: Any) -> None:
    x = la.random.default_rng(3).random((8_000, 2_000))
    expected = x.sum(axis=1).compute(cache=False)
    with la.config.set(dask_chunk_bytes=2**20):
        job = x.sum(axis=1).compute(
            backend="dask", client=client, block=False, cache=False, num_retries=3
        )
    time.sleep(0.3)
    victim = sorted(client.scheduler_info()["workers"])[0]
    client.run(os._exit, 1, workers=[victim], on_error="ignore")  # the process dies
    np.testing.assert_allclose(job.result(timeout=120), expected, rtol=1e-12)


def test_scheduler_address_from_config(client: Any) -> None:
    with la.config.set(dask_scheduler=client.scheduler.address):
        value = (la.Array(np.arange(100_000.0)) * 2).sum().compute(backend="dask", cache=False)
    assert value == 2 * np.arange(100_000.0).sum()


def test_a_scheduler_address_alone_needs_no_default_client(tmp_path: Any) -> None:
    """A user's script: a cluster, the ``dask_scheduler`` option, and no dask Client of
    its own (lazyarray's is never made the default), blocking and not."""
    script = tmp_path / "script.py"
    script.write_text(
        "import numpy as np, distributed, lazyarray as la\n"
        "if __name__ == '__main__':\n"
        "    with distributed.LocalCluster(n_workers=1, processes=False,"
        " dashboard_address=None) as cluster:\n"
        "        with la.config.set(dask_scheduler=cluster.scheduler_address):\n"
        "            x = la.Array(np.arange(100_000.0)) * 2\n"
        "            print(x.sum().compute(backend='dask', cache=False))\n"
        "            job = x.sum().compute(backend='dask', block=False, cache=False)\n"
        "            print(job.result(timeout=60))\n"
    )
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), str(root / "backends")])}
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    expected = 2 * np.arange(100_000.0).sum()
    assert [float(line) for line in done.stdout.split()] == [expected, expected]


def test_to_dask_and_from_dask() -> None:
    da = pytest.importorskip("dask.array")
    source = da.random.default_rng(0).random((100, 80), chunks=(25, 40))
    x = la.from_dask(source)
    assert x.shape == (100, 80)
    lowered = la.to_dask(la.sin(x) * 2)
    assert lowered.chunks == source.chunks
    expected = np.sin(source.compute()) * 2
    np.testing.assert_allclose(lowered.compute(), expected, rtol=1e-14)
    np.testing.assert_allclose((la.sin(x) * 2).compute(), expected, rtol=1e-14)
    unknown = la.from_dask(source[source > 0.5])
    assert unknown.shape == (None,)
    assert unknown.compute(backend="dask").shape == unknown.compute().shape


def test_progress_on_the_threaded_scheduler(capsys: pytest.CaptureFixture[str]) -> None:
    x = la.random.default_rng(5).random((1_000, 1_000))
    with la.config.set(dask_chunk_bytes=2**18):
        x.sum().compute(backend="dask", progress_bar=True, cache=False)
    assert "lazyarray" in capsys.readouterr().err


def test_unsupported_ops_fail_before_running() -> None:
    data = np.ma.MaskedArray(np.arange(100.0).reshape(10, 10), mask=np.eye(10, dtype=bool))
    with pytest.raises(la.errors.UnsupportedOperation, match="backend 'dask' cannot run op"):
        la.MaskedArray(data).median(axis=0).compute(backend="dask", cache=False)


def test_progress_on_the_cluster(client: Any, capsys: pytest.CaptureFixture[str]) -> None:
    x = la.random.default_rng(6).random((4_000, 1_000))
    with la.config.set(dask_chunk_bytes=2**20):
        x.sum().compute(backend="dask", client=client, progress_bar=True, cache=False)
    assert "lazyarray" in capsys.readouterr().err


def _unused_address() -> str:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"tcp://127.0.0.1:{port}"  # nothing listens there once the probe is closed


def _causes(error: BaseException) -> list[BaseException]:
    found: list[BaseException] = []
    current: BaseException | None = error
    while current is not None:
        found.append(current)
        current = current.__cause__
    return found


def test_an_unreachable_scheduler_fails_within_the_connect_timeout() -> None:
    from lazyarray.errors import SchedulerUnreachable, TransientError

    address = _unused_address()
    x = la.Array(np.arange(10.0)) + 1
    with la.config.set(dask_scheduler=address, dask_connect_timeout=0.3):
        start = time.monotonic()
        with pytest.raises(SchedulerUnreachable, match=address) as raised:
            x.compute(backend="dask", cache=False)
    assert time.monotonic() - start < 3  # distributed's own default waits 30 s
    assert isinstance(raised.value, TransientError)


def test_an_unreachable_scheduler_is_retried() -> None:
    from lazyarray.errors import SchedulerUnreachable

    x = la.Array(np.arange(10.0)) + 1
    with (
        la.config.set(dask_scheduler=_unused_address(), dask_connect_timeout=0.1),
        pytest.raises(la.RetryError) as raised,
    ):
        x.compute(backend="dask", cache=False, num_retries=2)
    assert len(raised.value.exceptions) == 3
    assert all(isinstance(e, SchedulerUnreachable) for e in raised.value.exceptions)


def test_connecting_stops_at_the_computes_timeout() -> None:
    x = la.Array(np.arange(10.0)) + 1
    with la.config.set(dask_scheduler=_unused_address(), dask_connect_timeout=5):
        start = time.monotonic()
        with pytest.raises(la.JobTimeoutError):
            x.compute(backend="dask", cache=False, timeout=0.2)
    assert time.monotonic() - start < 2


def test_a_job_on_an_unreachable_scheduler_returns_at_once() -> None:
    from lazyarray.errors import SchedulerUnreachable

    address = _unused_address()
    x = la.Array(np.arange(10.0)) + 1
    with la.config.set(dask_scheduler=address, dask_connect_timeout=1):
        start = time.monotonic()
        job = x.compute(backend="dask", cache=False, block=False)
        assert time.monotonic() - start < 0.5  # connecting happens inside the job
        with pytest.raises(la.errors.LazyArrayError) as raised:
            job.result()
    assert any(isinstance(e, SchedulerUnreachable) for e in _causes(raised.value))
    assert job.status()["status"] == la.JobStatus.ERRORED
    assert any(address in message for message in job.errors())


@pytest.mark.parametrize("address", ["foo://127.0.0.1:1", "tcp://127.0.0.1:port", "tcp://"])
def test_a_malformed_scheduler_address_is_a_config_error(address: str) -> None:
    from lazyarray.errors import ConfigError

    with (
        la.config.set(dask_scheduler=address, dask_connect_timeout=0.3),
        pytest.raises(ConfigError, match="not a scheduler address"),
    ):
        (la.Array(np.arange(10.0)) + 1).compute(backend="dask", cache=False)


def test_generated_sources_with_a_broadcast_row(client: Any) -> None:
    row = la.asarray(np.arange(500.0).reshape(1, 500))
    expression = la.random.default_rng(4).normal(size=(600, 500)) + row
    with la.config.set(dask_chunk_bytes=2**18):
        on_cluster = expression.compute(backend="dask", client=client, cache=False)
    assert_same(on_cluster, expression.compute(backend="numpy", cache=False))


def test_the_callers_errstate_applies_on_the_cluster(client: Any) -> None:
    """The conformance suite's errstate test, on a cluster's worker processes."""
    data = np.linspace(0.0, 1.0, 3_000)  # 0 / 0 first: invalid; then divide by zero
    lazy = la.Array(data) / 0.0
    with np.errstate(divide="raise", invalid="ignore"), pytest.raises(la.ComputeError) as raised:
        lazy.compute(backend="dask", client=client, cache=False)
    assert isinstance(raised.value.original, FloatingPointError), raised.value
    whole = la.Array(np.arange(3_000)) // la.Array(np.zeros(3_000, np.int64))
    with np.errstate(all="raise"), pytest.raises(la.ComputeError, match="floor_divide"):
        whole.compute(backend="dask", client=client, cache=False)
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = data / 0.0
        job = lazy.compute(backend="dask", client=client, cache=False, block=False)
    with np.errstate(divide="raise", invalid="raise"):  # the job keeps its caller's
        assert_same(job.result(timeout=60), expected)


def test_warnings_made_errors_fail_on_the_cluster(client: Any) -> None:
    import warnings

    lazy = la.Array(np.zeros(3_000)) / 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.raises(la.ComputeError) as raised:
            lazy.compute(backend="dask", client=client, cache=False)
    assert isinstance(raised.value.original, FloatingPointError), raised.value
    assert "invalid value encountered in divide" in str(raised.value)


def test_ctrl_c_cancels_the_futures(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    waited: list[list[Any]] = []

    def interrupted(futures: Any, timeout: float | None = None, **kwargs: Any) -> None:
        waited.append(list(futures))
        raise KeyboardInterrupt  # Ctrl-C during the blocking wait

    monkeypatch.setattr(distributed, "wait", interrupted)
    x = la.random.default_rng(7).random((20_000, 2_000))  # seconds of work
    with la.config.set(dask_chunk_bytes=2**20), pytest.raises(KeyboardInterrupt):
        x.sum().compute(backend="dask", client=client, cache=False)
    futures = waited[0]
    assert futures
    deadline = time.monotonic() + 10
    while any(f.status != "cancelled" for f in futures) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [f.status for f in futures] == ["cancelled"] * len(futures)


def test_a_closed_client_is_a_typed_error(client: Any) -> None:
    closed = distributed.Client(client.scheduler.address, set_as_default=False)
    closed.close()
    with pytest.raises(la.errors.ComputeArgumentError, match="dask Client that is closed"):
        (la.Array(np.arange(10.0)) + 1).compute(backend="dask", client=closed, cache=False)
