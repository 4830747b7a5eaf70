"""W1-W8 side by side: numpy eager, numexpr, dask.array and lazyarray, in one run.

``make bench`` prints each group as ratios to numpy eager (the first row); peak memory
is measured separately in fresh processes by ``benchmarks/memory.py``. Under ``make
test`` (timing disabled) every benchmark runs once, on inputs a thousand times smaller.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import lazyarray as la
from benchmarks.workloads import (
    ELEMENTWISE,
    NUMEXPR_SLICE,
    NUMEXPR_SOURCES,
    chunks,
    make_inputs,
    w3,
    w7,
)

PEERS = ["numpy", "numexpr", "dask", "lazyarray"]


@pytest.fixture(scope="module")
def scale(request: pytest.FixtureRequest) -> float:
    return 1e-3 if request.config.getoption("benchmark_disable") else 1.0


def run_elementwise(name: str, peer: str, inputs: dict[str, Any]) -> Any:
    build = ELEMENTWISE[name]
    if peer == "numpy":
        return lambda: build(np, **inputs)
    if peer == "numexpr":
        numexpr = pytest.importorskip("numexpr")
        source = NUMEXPR_SOURCES[name]
        part = NUMEXPR_SLICE.get(name, slice(None))
        local = {k: v[part] for k, v in inputs.items()}
        return lambda: numexpr.evaluate(source, local_dict=local)
    if peer == "dask":
        da = pytest.importorskip("dask.array")
        arrays = {k: da.from_array(v, chunks=chunks(v.size)) for k, v in inputs.items()}
        return lambda: build(da, **arrays).compute()
    arrays = {k: la.Array(v) for k, v in inputs.items()}
    return lambda: build(la, **arrays).compute(cache=False)


@pytest.mark.parametrize("peer", PEERS)
@pytest.mark.parametrize("name", ["W1", "W2", "W4", "W5"])
def test_elementwise_workloads(benchmark: Any, name: str, peer: str, scale: float) -> None:
    benchmark.group = name
    inputs = make_inputs(name, scale)
    result = benchmark(run_elementwise(name, peer, inputs))
    np.testing.assert_allclose(result, ELEMENTWISE[name](np, **inputs), rtol=1e-10)


def test_w5_shared_part_computed_once(benchmark: Any, scale: float) -> None:
    """The baseline W5 must not be slower than: the shared part written once."""
    benchmark.group = "W5"
    inputs = make_inputs("W5", scale)

    def once() -> Any:
        t = la.Array((la.exp(la.Array(inputs["a"])) * la.Array(inputs["b"])).compute(cache=False))
        return (t + t * t + la.sin(t)).compute(cache=False)

    benchmark(once)


@pytest.mark.parametrize("peer", ["numpy", "dask", "lazyarray"])
def test_w3_standardize(benchmark: Any, peer: str, scale: float) -> None:
    benchmark.group = "W3"
    x = make_inputs("W3", scale)["x"]
    if peer == "numpy":
        run = lambda: w3(np, x)
    elif peer == "dask":
        da = pytest.importorskip("dask.array")
        dx = da.from_array(x, chunks=(max(1, x.shape[0] // 8), x.shape[1]))
        run = lambda: w3(da, dx).compute()
    else:
        lx = la.Array(x)
        run = lambda: w3(la, lx).compute(cache=False)
    np.testing.assert_allclose(benchmark(run), w3(np, x), rtol=1e-9)


@pytest.mark.parametrize("peer", ["numpy.ma", "dask", "lazyarray"])
def test_w7_masked_mean_std(benchmark: Any, peer: str, scale: float) -> None:
    benchmark.group = "W7"
    x = make_inputs("W7", scale)["x"]
    if peer == "numpy.ma":
        run = lambda: w7(np, x)
    elif peer == "dask":
        da = pytest.importorskip("dask.array")
        dx = da.ma.masked_array(
            da.from_array(x.data, chunks=(max(1, x.shape[0] // 8), x.shape[1])),
            mask=da.from_array(x.mask, chunks=(max(1, x.shape[0] // 8), x.shape[1])),
        )
        run = lambda: tuple(v.compute() for v in w7(da, dx))
    else:
        lx = la.MaskedArray(x)
        run = lambda: la.compute(*w7(la, lx), cache=False)
    mean, std = benchmark(run)
    np.testing.assert_allclose(np.ma.filled(mean, 0), np.ma.filled(x.mean(axis=0), 0), rtol=1e-10)
    np.testing.assert_allclose(np.ma.filled(std, 0), np.ma.filled(x.std(axis=0), 0), rtol=1e-10)


@pytest.mark.parametrize("peer", ["numpy", "dask", "lazyarray"])
def test_w8_sum_of_product_of_random(benchmark: Any, peer: str, scale: float) -> None:
    benchmark.group = "W8"
    n = make_inputs("W8", scale)["n"]
    if peer == "numpy":

        def run() -> Any:
            rng = np.random.default_rng(0)
            return (rng.random(n) * rng.random(n)).sum()
    elif peer == "dask":
        da = pytest.importorskip("dask.array")

        def run() -> Any:
            state = da.random.default_rng(0)
            a = state.random(n, chunks=2**22)
            b = state.random(n, chunks=2**22)
            return (a * b).sum().compute()
    else:

        def run() -> Any:
            rng = la.random.default_rng(0)
            return (rng.random(n) * rng.random(n)).sum().compute(cache=False)

    result = benchmark.pedantic(run, rounds=3, iterations=1)
    assert abs(result / n - 0.25) < 0.05
