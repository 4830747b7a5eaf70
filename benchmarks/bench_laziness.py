"""The laziness tax: what recording an expression costs before anything runs, next to
doing the work at once (numpy) and to recording it in dask.array.

Groups (``make bench`` prints ratios against the first row of each group, numpy eager):
- ``build <chain>, depth N``: building a chain of ``N`` steps on a (3, 4) array,
  ``y = y + 1.0`` (operators), ``y = y.sum(axis=0, keepdims=True)`` (a method through
  its signature) or four common methods a step (``astype``, ``reshape``, ``.T``), per op
  (node) in the report. Four depths show whether the cost per node stays flat as the
  graph grows.
- ``latency``: build + compute of a 10-op expression on fresh 1,000-element arrays;
  numpy eager, numexpr and dask.array (one chunk, synchronous scheduler) against
  lazyarray with and without the result cache.

Under ``make test`` (timing disabled) each runs once, chains cut to depth 100.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import lazyarray as la

DEPTHS = [10, 100, 1_000, 3_000]
# name -> (one step, the nodes it builds)
CHAINS: dict[str, tuple[Callable[[Any], Any], int]] = {
    "x + 1.0": (lambda y: y + 1.0, 1),
    "x.sum(axis=0, keepdims=True)": (lambda y: y.sum(axis=0, keepdims=True), 1),
    "x.astype(f4).reshape(4, 3).T.astype(f8)": (
        lambda y: y.astype(np.float32).reshape(4, 3).T.astype(np.float64),
        4,
    ),
}
SMALL = [np.random.default_rng(i).random(1_000) for i in range(3)]


@pytest.fixture
def smoke(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("benchmark_disable"))


def chain(start: Any, step: Callable[[Any], Any], depth: int) -> Any:
    y = start
    for _ in range(depth):
        y = step(y)
    return y


def build(benchmark: Any, start: Any, name: str, depth: int, smoke: bool, rounds: int = 0) -> Any:
    depth = min(depth, 100) if smoke else depth
    step, nodes = CHAINS[name]
    benchmark.group = f"build {name}, depth {depth}"
    benchmark.extra_info["ops"] = depth * nodes
    if rounds:  # slow peers: a few rounds, not a calibrated run
        return benchmark.pedantic(chain, args=(start, step, depth), rounds=rounds)
    return benchmark(chain, start, step, depth)


@pytest.mark.parametrize("depth", DEPTHS)
@pytest.mark.parametrize("name", list(CHAINS))
def test_build_numpy_eager(benchmark: Any, name: str, depth: int, smoke: bool) -> None:
    """The baseline: each operation done at once, on the (3, 4) array."""
    result = build(benchmark, np.zeros((3, 4)), name, depth, smoke)
    assert result.ndim == 2


@pytest.mark.parametrize("depth", DEPTHS)
@pytest.mark.parametrize("name", list(CHAINS))
def test_build_lazyarray(benchmark: Any, name: str, depth: int, smoke: bool) -> None:
    result = build(benchmark, la.Array(np.zeros((3, 4))), name, depth, smoke)
    assert result.ndim == 2


@pytest.mark.parametrize("depth", DEPTHS)
@pytest.mark.parametrize("name", list(CHAINS))
def test_build_dask(benchmark: Any, name: str, depth: int, smoke: bool) -> None:
    da = pytest.importorskip("dask.array")
    start = da.zeros((3, 4), chunks=(3, 4))
    result = build(benchmark, start, name, depth, smoke, rounds=3)
    assert result.ndim == 2


def ten_ops(m: Any, a: Any, b: Any, c: Any) -> Any:
    """Ten operations: 2*a, 3*b, *c, +, a*b, c+1, /, -, sin, sum."""
    return m.sin(2 * a + 3 * b * c - a * b / (c + 1)).sum()


EXPECTED = ten_ops(np, *SMALL)
NUMEXPR_TEN_OPS = "sum(sin(2*a + 3*b*c - a*b/(c+1)))"


def latency(benchmark: Any, run: Callable[[], Any], smoke: bool) -> None:
    """Times ``run`` once warm: its first rounds (filling caches of plans and results,
    and the memory they hold) would otherwise count against whichever row runs first."""
    for _ in range(0 if smoke else 300):
        run()
    np.testing.assert_allclose(benchmark(run), EXPECTED)


@pytest.mark.benchmark(group="latency")
def test_latency_numpy_eager(benchmark: Any, smoke: bool) -> None:
    latency(benchmark, lambda: ten_ops(np, *SMALL), smoke)


@pytest.mark.benchmark(group="latency")
def test_latency_numpy_eager_fresh_copies(benchmark: Any, smoke: bool) -> None:
    """The same input copies the lazy rows make, for a ratio of like with like."""
    latency(benchmark, lambda: ten_ops(np, *[x.copy() for x in SMALL]), smoke)


@pytest.mark.benchmark(group="latency")
def test_latency_numexpr(benchmark: Any, smoke: bool) -> None:
    numexpr = pytest.importorskip("numexpr")
    local = dict(zip("abc", SMALL, strict=True))
    latency(benchmark, lambda: numexpr.evaluate(NUMEXPR_TEN_OPS, local_dict=local), smoke)


@pytest.mark.benchmark(group="latency")
def test_latency_dask(benchmark: Any, smoke: bool) -> None:
    da = pytest.importorskip("dask.array")

    def run() -> Any:
        fresh = [da.from_array(x.copy(), chunks=x.shape) for x in SMALL]
        return ten_ops(da, *fresh).compute(scheduler="sync")

    latency(benchmark, run, True)  # milliseconds a round: no warm-up needed


@pytest.mark.benchmark(group="latency")
@pytest.mark.parametrize("cache", [False, True])
def test_latency_lazyarray(benchmark: Any, cache: bool, smoke: bool) -> None:
    def run() -> Any:
        fresh = [la.Array(x.copy()) for x in SMALL]  # a new graph every round
        return ten_ops(la, *fresh).compute(cache=cache)

    latency(benchmark, run, smoke)
