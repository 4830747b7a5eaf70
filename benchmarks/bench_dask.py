"""The dask backend next to the same workloads written directly in dask.array, with the
task counts of both graphs (before dask's own optimization) in the report."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import lazyarray as la
from benchmarks.workloads import chunks, make_inputs, w1, w3, w7

da = pytest.importorskip("dask.array")


@pytest.fixture(scope="module")
def scale(request: pytest.FixtureRequest) -> float:
    return 1e-3 if request.config.getoption("benchmark_disable") else 1.0


def _tasks(collections: Any) -> int:
    """Tasks in the graph of some dask collections (shared tasks once)."""
    if not isinstance(collections, tuple):
        collections = (collections,)
    return len({key for c in collections for key in c.__dask_graph__()})


def _record(benchmark: Any, plain: Any, ours: Any) -> None:
    benchmark.extra_info["tasks"] = _tasks(ours)
    benchmark.extra_info["dask.array tasks"] = _tasks(plain)


@pytest.mark.parametrize("peer", ["dask.array", "lazyarray[dask]"])
def test_dask_w1(benchmark: Any, peer: str, scale: float) -> None:
    benchmark.group = "dask W1"
    inputs = make_inputs("W1", scale)
    arrays = {k: da.from_array(v, chunks=chunks(v.size)) for k, v in inputs.items()}
    plain = w1(da, **arrays)
    ours = w1(la, **{k: la.from_dask(v) for k, v in arrays.items()})
    _record(benchmark, plain, la.to_dask(ours))
    run = (
        plain.compute if peer == "dask.array" else lambda: ours.compute(backend="dask", cache=False)
    )
    np.testing.assert_allclose(benchmark(run), w1(np, **inputs), rtol=1e-12)


@pytest.mark.parametrize("peer", ["dask.array", "lazyarray[dask]"])
def test_dask_w3(benchmark: Any, peer: str, scale: float) -> None:
    benchmark.group = "dask W3"
    x = make_inputs("W3", scale)["x"]
    dx = da.from_array(x, chunks=(max(1, x.shape[0] // 8), x.shape[1]))
    plain = w3(da, dx)
    ours = w3(la, la.from_dask(dx))
    _record(benchmark, plain, la.to_dask(ours))
    run = (
        plain.compute if peer == "dask.array" else lambda: ours.compute(backend="dask", cache=False)
    )
    np.testing.assert_allclose(benchmark(run), w3(np, x), rtol=1e-9)


@pytest.mark.parametrize("peer", ["dask.array", "lazyarray[dask]"])
def test_dask_w7(benchmark: Any, peer: str, scale: float) -> None:
    benchmark.group = "dask W7"
    x = make_inputs("W7", scale)["x"]
    rows = max(1, x.shape[0] // 8)
    dx = da.ma.masked_array(
        da.from_array(x.data, chunks=(rows, x.shape[1])),
        mask=da.from_array(x.mask, chunks=(rows, x.shape[1])),
    )
    lx = la.MaskedArray(x)
    _record(benchmark, w7(da, dx), la.to_dask(*w7(la, lx)))
    if peer == "dask.array":
        run = lambda: tuple(v.compute() for v in w7(da, dx))
    else:
        run = lambda: la.compute(*w7(la, lx), backend="dask", cache=False)
    mean, _ = benchmark(run)
    np.testing.assert_allclose(np.ma.filled(mean, 0), np.ma.filled(x.mean(axis=0), 0), rtol=1e-10)


@pytest.mark.parametrize("peer", ["dask.array", "lazyarray[dask]"])
@pytest.mark.parametrize("size", ["W8", "out-of-core"])
def test_dask_sum_of_random_product(benchmark: Any, peer: str, size: str, scale: float) -> None:
    """W8 (1e8) and the out-of-core case: 1e9 float64 (8 GB if materialized), drawn lazily."""
    benchmark.group = f"dask {size}"
    n = max(1000, int((10**9 if size == "out-of-core" else 10**8) * scale))
    state = da.random.default_rng(0)
    plain = (state.random(n, chunks=2**23) * state.random(n, chunks=2**23)).sum()
    rng = la.random.default_rng(0)
    ours = (rng.random(n) * rng.random(n)).sum()
    with la.config.set(dask_chunk_bytes=2**26):
        _record(benchmark, plain, la.to_dask(ours))
        run = (
            plain.compute
            if peer == "dask.array"
            else lambda: ours.compute(backend="dask", cache=False)
        )
        result = benchmark.pedantic(run, rounds=1 if size == "out-of-core" else 3, iterations=1)
    assert abs(result / n - 0.25) < 0.05
