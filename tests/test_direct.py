"""Small graphs run unplanned (``Backend.execute_direct``): which computes take that path,
and that it gives what the planned path gives, bit for bit, errors and ownership included.
The planned path is asked for with a memory limit, which only a plan's checks enforce."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from importlib.util import find_spec
from typing import Any

import numpy as np
import pytest
from hypothesis import given

import lazyarray as la
from lazyarray.errors import ComputeError
from lazyarray_numpy.backend import NumpyBackend
from tests.properties.test_random_graphs import _lazy, evaluate, inputs

DATA = np.linspace(-2.0, 2.0, 12).reshape(3, 4)


@pytest.fixture
def direct_runs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the graphs run unplanned."""
    runs: list[int] = []
    original = NumpyBackend.execute_direct

    def counted(self: NumpyBackend, plan: Any, arguments: Any) -> list[Any]:
        runs.append(len(plan.steps))
        return original(self, plan, arguments)

    monkeypatch.setattr(NumpyBackend, "execute_direct", counted)
    return runs


def planned(x: Any, **arguments: Any) -> Any:
    with la.config.set(memory_limit=2**40):
        return x.compute(**arguments)


def same(a: Any, b: Any) -> None:
    assert type(a) is type(b)
    assert np.asarray(a).dtype == np.asarray(b).dtype
    assert np.asarray(a).tobytes() == np.asarray(b).tobytes()


def test_a_small_graph_is_never_planned(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("planned")

    monkeypatch.setattr(sys.modules["lazyarray.execution.compute"], "make_plan", refuse)
    x = la.Array(DATA)
    same((la.sin(x * 2) + 1).sum(axis=0).compute(), np.sum(np.sin(DATA * 2) + 1, axis=0))


@pytest.mark.parametrize(
    "run",
    [
        pytest.param(
            lambda: la.MaskedArray(np.ma.masked_less(DATA, 0)).sum().compute(), id="masked"
        ),
        pytest.param(
            lambda: (la.Array(DATA) + 1).compute(backend="dask"),
            id="dask",
            marks=pytest.mark.skipif(find_spec("dask") is None, reason="dask is not installed"),
        ),
        pytest.param(lambda: (la.Array(np.ones(2**16)) + 1).compute(), id="large"),
        pytest.param(lambda: la.Array(DATA)[la.Array(DATA) > 0].compute(), id="unknown size"),
        pytest.param(lambda: planned(la.Array(DATA) + 1), id="memory limit"),
    ],
)
def test_other_graphs_are_planned(direct_runs: list[int], run: Callable[[], Any]) -> None:
    run()
    assert direct_runs == []


@pytest.mark.parametrize("setting", [{"small_bytes": 0}, {"memory_limit": 2**30}])
def test_config_turns_it_off(direct_runs: list[int], setting: dict[str, Any]) -> None:
    with la.config.set(**setting):
        (la.Array(DATA) + 1).compute()
    assert direct_runs == []
    (la.Array(DATA) + 1).compute()
    assert direct_runs == [3]


@given(inputs())
def test_direct_results_are_the_planned_ones(drawn: tuple[Any, list[Any]]) -> None:
    tree, leaves = drawn
    try:
        lazy = evaluate(tree, la, [_lazy(leaf) for leaf in leaves])
    except (TypeError, ValueError):  # shapes or dtypes numpy refuses too
        return
    with np.errstate(all="ignore"):
        same(lazy.compute(cache=False), planned(lazy, cache=False))


def test_results_never_share_memory_with_inputs_or_arguments(direct_runs: list[int]) -> None:
    data = DATA.copy()
    x = la.Array(data)
    for view in (x, x.T, x[1:], x.reshape(12)):
        result = view.compute(cache=False)
        assert not np.shares_memory(result, data)
    p = la.parameter("p", shape=(3, 4), dtype=np.float64)
    argument = DATA.copy()
    assert not np.shares_memory(p.T.compute(p=argument), argument)
    assert len(direct_runs) == 5


def test_a_zero_d_result_is_a_numpy_scalar(direct_runs: list[int]) -> None:
    x = la.Array(DATA)
    same(x.sum().compute(), planned(x.sum()))
    assert isinstance(x.sum().compute(), np.float64) and direct_runs


def test_a_failure_names_the_op_and_the_line(direct_runs: list[int]) -> None:
    singular = la.linalg.inv(la.Array(np.zeros((2, 2))))  # the user's line
    with pytest.raises(ComputeError) as direct:
        singular.compute()
    with pytest.raises(ComputeError) as plan:
        planned(singular)
    assert str(direct.value) == str(plan.value)
    assert "test_direct.py" in str(direct.value) and direct_runs


def test_the_callers_errstate_holds(direct_runs: list[int]) -> None:
    x = la.Array(DATA) / 0.0
    with np.errstate(divide="raise"), pytest.raises(ComputeError, match="divide"):
        x.compute()
    with np.errstate(divide="ignore"):
        same(x.compute(), planned(x))
    assert direct_runs


def test_the_cache_serves_unchangeable_graphs(direct_runs: list[int]) -> None:
    frozen = DATA.copy()
    frozen.flags.writeable = False
    x = la.Array(frozen) + 1
    first = x.compute()
    second = x.compute()
    assert la.execution.result_cache.hits == 1 and len(direct_runs) == 1
    same(first, second)
    assert not np.shares_memory(first, second)


def test_a_small_graph_asked_for_without_blocking_runs_unplanned_on_a_thread(
    direct_runs: list[int],
) -> None:
    """``block=False`` on a small graph: a job on a thread, as any, whose graph is not
    planned; it ends Completed with its steps done and gives the value."""
    job = (la.Array(DATA) * 2).sum(axis=0).compute(block=False, cache=False)
    same(job.result(), np.sum(DATA * 2, axis=0))
    assert direct_runs == [4]  # the literal, the constant 2, the product, the sum
    status = job.status()
    assert status["status"] == la.JobStatus.COMPLETED
    assert status["completed_steps"] == status["total_steps"] == 4
    assert job.errors() == [] and job.cancel() is False
    assert la.AsyncJob.from_id(job.job_id).status()["status"] == la.JobStatus.COMPLETED


def test_a_small_job_returns_at_once_and_its_cancel_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    """A graph small in bytes may be long to run (an einsum of small matrices): ``compute``
    returns before it has run, and a cancel asked meanwhile wins at its end."""
    started, release = threading.Event(), threading.Event()
    original = NumpyBackend.execute_direct

    def held(self: NumpyBackend, plan: Any, arguments: Any) -> list[Any]:
        started.set()
        release.wait(10)
        return original(self, plan, arguments)

    monkeypatch.setattr(NumpyBackend, "execute_direct", held)
    job = (la.Array(DATA) + 1).compute(block=False, cache=False)
    assert started.wait(10)
    assert job.status()["status"] == la.JobStatus.RUNNING
    assert job.cancel() is True
    release.set()
    with pytest.raises(la.errors.JobCancelled):
        job.result(timeout=10)
    assert job.status()["status"] == la.JobStatus.CANCELLED


def test_a_small_graph_that_fails_without_blocking_fails_in_its_job() -> None:
    """Its error is the job's: ``compute`` returns, ``result()`` raises the typed error
    naming the user's line, ``errors()`` and the status tell it."""
    values = la.Array(np.array([1, 2, 3]))
    with np.errstate(divide="raise"):
        job = (values // 0).compute(block=False, cache=False)  # the line the error names
    with pytest.raises(ComputeError, match=r"test_direct\.py"):
        job.result()
    assert job.status()["status"] == la.JobStatus.ERRORED
    assert any("floor_divide" in error for error in job.errors())
