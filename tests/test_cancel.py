"""Cancel and timeout stop the work between kernel blocks, leaving no thread busy
(issue 8, item 7)."""

from __future__ import annotations

import time
from typing import Any

import pytest

import lazyarray as la
from lazyarray.errors import JobCancelled, JobTimeoutError

# the job would run for about a minute; stopping "between blocks" means within a few of
# them, which a bound this far from both can tell apart on any machine
STOPS_WITHIN = 5.0


def _long_running() -> Any:
    """About a minute of work on two cores: 10^9 random numbers drawn, transformed and
    summed, in blocks of milliseconds."""
    noise = la.random.default_rng(7).normal(size=(40_000, 25_000))
    return (la.sin(noise) * 2.0 + 1.0).sum()


def _cpu_seconds_during(seconds: float) -> float:
    start = time.process_time()
    time.sleep(seconds)
    return time.process_time() - start


def _assert_idle_by(deadline: float) -> None:
    """No thread of this process is still computing by ``deadline`` (tasks already
    running when the cancel came may finish their block or chunk)."""
    while _cpu_seconds_during(0.25) > 0.05:
        assert time.monotonic() < deadline, "the work went on after it was stopped"


@pytest.mark.parametrize("backend", ["numpy", "dask"])
def test_cancel_stops_a_running_job(backend: str) -> None:
    with la.config.set(dask_chunk_bytes="8MiB"):  # dask checks between its tasks
        job = _long_running().compute(block=False, cache=False, backend=backend)
    deadline = time.monotonic() + 10
    while job.status()["status"] != "Running" and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)
    asked = time.monotonic()
    assert job.cancel()
    with pytest.raises(JobCancelled):
        job.result(timeout=30)
    assert time.monotonic() - asked < STOPS_WITHIN
    assert job.status()["status"] == "Cancelled"
    _assert_idle_by(asked + STOPS_WITHIN)


def test_a_timeout_stops_the_work() -> None:
    asked = time.monotonic()
    with pytest.raises(JobTimeoutError):
        _long_running().compute(timeout=0.3, cache=False)
    _assert_idle_by(asked + STOPS_WITHIN)


def test_a_cancel_after_the_last_block_still_cancels() -> None:
    job = la.Array([1.0, 2.0]).sum().compute(block=False, cache=False)
    job.result(timeout=10)
    assert job.cancel() is False  # it had finished: nothing to stop
    assert job.status()["status"] == "Completed"
