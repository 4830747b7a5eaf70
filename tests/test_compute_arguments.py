"""compute() and inspect() check every keyword up front, with one rule each."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import lazyarray as la
from lazyarray.errors import ComputeArgumentError

BAD = [
    ("timeout", 0),
    ("timeout", -1),
    ("timeout", "10"),
    ("timeout", True),
    ("timeout", float("nan")),
    ("cache", "yes"),
    ("file", 3),
    ("backend", 3),
]


@pytest.mark.parametrize(("keyword", "value"), BAD)
@pytest.mark.parametrize("method", ["compute", "inspect"])
def test_a_bad_keyword_is_refused_before_anything_runs(
    method: str, keyword: str, value: Any
) -> None:
    x = la.Array(np.arange(10.0)).sum()
    with la.config.set(backend="refuse"), pytest.raises(ComputeArgumentError, match=keyword):
        getattr(x, method)(**{keyword: value})


@pytest.mark.parametrize(
    ("keyword", "value"),
    [
        ("block", 1),
        ("progress_bar", "no"),
        ("num_retries", -1),
        ("num_retries", "3"),
        ("num_retries", 1.0),
        ("num_retries", True),
    ],
)
def test_compute_only_keywords(keyword: str, value: Any) -> None:
    with la.config.set(backend="refuse"), pytest.raises(ComputeArgumentError, match=keyword):
        la.Array([1.0]).compute(**{keyword: value})


def test_good_values_pass() -> None:
    x = la.Array(np.arange(10.0)).sum()
    assert x.compute(timeout=5, num_retries=0, cache=False) == 45.0
    assert x.inspect(timeout=2.5) == 45.0
    # an infinite timeout is no deadline, on every path
    assert x.compute(timeout=float("inf"), cache=False) == 45.0
    assert x.compute(timeout=float("inf"), cache=False, block=False).result() == 45.0
    assert x.inspect(timeout=float("inf"), cache=False) == 45.0


@pytest.mark.parametrize("value", [-1, "10", True, float("nan"), [1]])
@pytest.mark.parametrize("cached", [False, True])
def test_a_jobs_result_refuses_a_bad_timeout(value: Any, cached: bool) -> None:
    x = la.Array(np.arange(10.0)).sum()
    if cached:  # a job answered from the cache checks it too
        x.compute()
    job = x.compute(block=False, cache=cached)
    with pytest.raises(ComputeArgumentError, match="timeout"):
        job.result(timeout=value)
    for endless in (np.float64(float("inf")), 1e300, 10**400):  # no limit
        assert job.result(timeout=endless) == 45.0


@pytest.mark.parametrize("backend", ["numpy", "dask"])
def test_several_results_are_a_tuple_blocking_or_from_the_job(backend: str) -> None:
    x = la.Array(np.arange(10.0))
    blocking = la.compute(x.sum(), x.max(), backend=backend, cache=False)
    from_job = la.compute(x.sum(), x.max(), backend=backend, cache=False, block=False).result()
    assert type(blocking) is tuple and type(from_job) is tuple
    assert blocking == from_job == (45.0, 9.0)


@pytest.mark.parametrize("block", [True, False])
@pytest.mark.parametrize("backend", ["numpy", "dask"])
def test_computing_nothing_gives_an_empty_tuple(backend: str, block: bool) -> None:
    result = la.compute(backend=backend, block=block)
    assert (result if block else result.result()) == ()
    with pytest.raises(la.errors.FormatError, match="file="):
        la.compute(file="never-written.npy", format="npy")


@pytest.mark.parametrize("endless", [1e300, 10**400])
def test_a_timeout_past_any_clock_waits_for_ever(endless: Any) -> None:
    running = la.random.default_rng(0).normal(size=(3000, 3000)).sum()
    job = running.compute(block=False, cache=False)
    assert np.isfinite(job.result(timeout=endless))
