"""Cancel and timeout stop the work between kernel blocks, leaving no thread busy
(issue 8, item 7)."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
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


@pytest.mark.parametrize("backend", ["numpy", "dask"])
def test_a_job_with_a_timeout_is_cancelled_at_its_deadline(backend: str) -> None:
    """``block=False`` with ``timeout``: the job returns at once and is cancelled that
    many seconds after it was submitted; ``result()`` raises ``JobTimeoutError``, and its
    status and errors say so. A job that ends before its deadline is untouched."""
    with la.config.set(dask_chunk_bytes="8MiB"):
        asked = time.monotonic()
        job = _long_running().compute(block=False, timeout=0.5, cache=False, backend=backend)
        submitted = time.monotonic()  # dask lowers the graph first
        assert submitted - asked < STOPS_WITHIN
    with pytest.raises(JobTimeoutError, match=r"timeout of 0\.5 seconds"):
        job.result(timeout=30)
    assert time.monotonic() - submitted < 0.5 + STOPS_WITHIN
    status = job.status()
    assert status["status"] == "Cancelled" and "timeout" in status["message"]
    assert any("timeout" in error for error in job.errors())
    _assert_idle_by(submitted + 0.5 + STOPS_WITHIN)
    quick = la.Array(np.arange(4.0)).sum()
    done = (quick * 2).compute(block=False, timeout=0.2, cache=False, backend=backend)
    assert done.result(timeout=10) == 12.0
    time.sleep(0.3)  # past the deadline: a job already ended stays Completed
    assert done.status()["status"] == "Completed" and done.result() == 12.0


def test_a_cancel_after_the_last_block_still_cancels() -> None:
    job = la.Array([1.0, 2.0]).sum().compute(block=False, cache=False)
    job.result(timeout=10)
    assert job.cancel() is False  # it had finished: nothing to stop
    assert job.status()["status"] == "Completed"


def _held_after(run: Any, bound: int) -> int:
    """Bytes still allocated (numpy's buffers included) once ``run()`` has ended and its
    job is dropped, with the cyclic collector off: what only a full collection frees.
    Kernel blocks already running when a job is cancelled finish on their own (for at
    most a few seconds), holding their inputs until then."""
    import gc
    import tracemalloc

    gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        run()
        settled = time.monotonic() + 10
        while tracemalloc.get_traced_memory()[0] - before > bound:
            if time.monotonic() > settled:
                break
            time.sleep(0.05)
        return tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
        if enabled:
            gc.enable()


@pytest.mark.parametrize("ending", ["cancelled", "failed", "failed in a kernel block"])
def test_a_job_that_ends_early_keeps_none_of_its_values(ending: str) -> None:
    """Its error, kept by the job, keeps no intermediate alive: 32 MB of sorted products
    are computed before the cancel (or the failing step) ends the job."""
    x = la.asarray(np.linspace(0.0, 1.0, 2000))
    products = la.sort(x[:, None] * x[None, :], axis=1)  # a step of its own, held
    if ending == "cancelled":  # a long last step (fused, blockwise), reading the products
        lazy = (la.sin(products)[None] * la.ones((300, 1, 1))).sum()
    elif ending == "failed":  # singular: raises after the products
        lazy = la.linalg.inv(products * 0.0)
    else:  # log(0) raises in a block, under the caller's errstate
        lazy = la.log(products[None] - 1.0 + la.zeros((3, 1, 1))).sum()

    def run() -> None:
        with np.errstate(divide="raise"):
            job = lazy.compute(block=False, cache=False)
        if ending == "cancelled":
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:  # until the last step runs
                status = job.status()
                if status["completed_steps"] >= status["total_steps"] - 2:
                    break
                time.sleep(0.01)
            job.cancel()
        with pytest.raises((JobCancelled, la.errors.ComputeError)):
            job.result(30)

    assert _held_after(run, bound=4_000_000) < 4_000_000
