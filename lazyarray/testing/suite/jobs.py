"""Jobs and errors: ``compute(block=False)`` returns an ``AsyncJob`` (the backend's
``submit``) with status, progress, result, errors and cancel; a timeout stops the work;
a failure is a ``ComputeError`` naming the op and the line that wrote it."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest

import lazyarray as la
from lazyarray.backend import Backend
from lazyarray.errors import ComputeError, JobCancelled, JobTimeoutError
from lazyarray.jobs import AsyncJob, JobStatus
from lazyarray.ops import OPS, Kind
from lazyarray.testing.equal import assert_equal, reduction_bound
from lazyarray.testing.samples import sample
from lazyarray.testing.suite.harness import site_of

STATUS_KEYS = {"job_id", "status", "message", "job_progress", "completed_steps", "total_steps"}
# the ops a failure may name: the one written, or the kernel the planner fused it into
KERNELS = frozenset(name for name, row in OPS.items() if row.kind is Kind.KERNEL)
# a job of about a minute on two cores stops "between blocks": within a few of them, which
# a bound this far from both tells apart even on a loaded machine
STOPS_WITHIN = 15.0
DATA = sample("float64")


def long_running() -> Any:
    """About a minute of work on two cores: 10^9 random numbers drawn, transformed and
    summed, in blocks (or chunks) of milliseconds."""
    noise = la.random.default_rng(7).normal(size=(40_000, 25_000))
    return (la.sin(noise) * 2.0 + 1.0).sum()


def failing() -> Any:
    """Fails when run, not when written: numpy refuses negative integer powers of integers."""
    base = la.Array(np.arange(1, 301).reshape(20, 15))
    return (base + 1) ** la.Array(np.full((20, 15), -1)) * 2


def _cpu_seconds_during(seconds: float) -> float:
    start = time.process_time()
    time.sleep(seconds)
    return time.process_time() - start


def assert_idle_by(deadline: float) -> None:
    """No thread of this process is still computing by ``deadline``."""
    while _cpu_seconds_during(0.25) > 0.05:
        assert time.monotonic() < deadline, "the work went on after it was stopped"


def wait_until_running(job: AsyncJob, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    last = 0
    while job.status()["status"] != JobStatus.RUNNING:
        assert time.monotonic() < deadline, f"the job did not start: {job.status()}"
        time.sleep(0.01)
    for _ in range(5):  # progress only grows, and never past the total
        status = job.status()
        assert last <= status["completed_steps"] <= max(status["total_steps"], 1), status
        last = status["completed_steps"]
        time.sleep(0.02)


class TestJobs:
    def test_a_job_returns_the_result(self, backend_under_test: Backend, mode: str) -> None:
        lazy = (la.sin(la.Array(DATA)) * 2).sum(axis=0)
        job = lazy.compute(backend=backend_under_test.name, cache=False, block=False)
        assert isinstance(job, AsyncJob), type(job)
        expected = (np.sin(DATA) * 2).sum(axis=0)
        assert_equal(job.result(timeout=60), expected, reduction_bound("sum", np.sin(DATA) * 2, 0))
        status = job.status()
        assert set(status) >= STATUS_KEYS, status
        assert status["status"] == JobStatus.COMPLETED, status
        assert status["job_id"] == job.job_id, status
        assert job.done()
        assert job.errors() == [], job.errors()
        assert job.cancel() is False, "a finished job cannot be cancelled"
        assert job.status()["status"] == JobStatus.COMPLETED

    def test_progress_reaches_the_total(self, backend_under_test: Backend, mode: str) -> None:
        lazy = (la.sin(la.Array(DATA)) * 2).sum(axis=0)
        job = lazy.compute(backend=backend_under_test.name, cache=False, block=False)
        job.result(timeout=60)
        status = job.status()
        assert 0 < status["completed_steps"] == status["total_steps"], status
        assert status["job_progress"] == "1.00", status

    def test_a_failed_job_reports_its_error(self, backend_under_test: Backend, mode: str) -> None:
        job = failing().compute(backend=backend_under_test.name, cache=False, block=False)
        with pytest.raises(ComputeError) as raised:
            job.result(timeout=60)
        assert isinstance(raised.value.original, ValueError), raised.value
        assert job.status()["status"] == JobStatus.ERRORED, job.status()
        errors = job.errors()
        assert len(errors) == 1, errors
        assert "negative integer powers" in errors[0], errors

    def test_cancel_stops_a_running_job(self, backend_under_test: Backend) -> None:
        with la.config.set(dask_chunk_bytes="8MiB"):
            job = long_running().compute(backend=backend_under_test.name, cache=False, block=False)
        wait_until_running(job)
        asked = time.monotonic()
        assert job.cancel() is True
        with pytest.raises(JobCancelled):
            job.result(timeout=30)
        assert time.monotonic() - asked < STOPS_WITHIN, "the job ran on after its cancel"
        assert job.status()["status"] == JobStatus.CANCELLED, job.status()
        assert_idle_by(asked + STOPS_WITHIN)

    def test_a_timeout_stops_the_work(self, backend_under_test: Backend) -> None:
        asked = time.monotonic()
        with la.config.set(dask_chunk_bytes="8MiB"), pytest.raises(JobTimeoutError):
            long_running().compute(backend=backend_under_test.name, cache=False, timeout=0.3)
        assert_idle_by(asked + STOPS_WITHIN)


class TestErrors:
    def test_a_failure_names_the_op_and_the_line(
        self, backend_under_test: Backend, mode: str
    ) -> None:
        site = site_of(failing)
        with pytest.raises(ComputeError) as raised:
            failing().compute(backend=backend_under_test.name, cache=False)
        error = raised.value
        assert error.op in {"power"} | KERNELS, f"the error names op {error.op!r}"
        assert error.site == site, (error.site, site)
        assert site in str(error), (site, str(error))
        assert isinstance(error.original, ValueError), error.original

    def test_the_callers_errstate_applies(self, backend_under_test: Backend, mode: str) -> None:
        lazy = la.Array(DATA) / 0.0
        with np.errstate(divide="raise", invalid="ignore"), pytest.raises(ComputeError) as raised:
            lazy.compute(backend=backend_under_test.name, cache=False)
        assert isinstance(raised.value.original, FloatingPointError), raised.value
        with np.errstate(divide="ignore", invalid="ignore"):
            expected = DATA / 0.0
            job = lazy.compute(backend=backend_under_test.name, cache=False, block=False)
        with np.errstate(divide="raise", invalid="raise"):  # the job keeps its caller's
            assert_equal(job.result(timeout=60), expected)


__all__ = ["TestErrors", "TestJobs", "assert_idle_by", "failing", "long_running"]
