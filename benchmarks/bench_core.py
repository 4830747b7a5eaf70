"""Graph construction and small-expression latency, next to the peers a user would use.

Groups (``make bench`` prints ratios against the first row of each group):
- construction: cost of building a chain ``y = y + 1.0`` of 1,000 ops, per op;
  lazyarray vs dask.array. Two depths show whether the cost grows with depth.
- latency: build + compute of a 10-op expression on 1,000 elements; numpy eager vs
  lazyarray (default: with the result cache) and lazyarray with ``cache=False``.
- planning: all the planner's stages on a new 10-op expression over arrays large enough
  for every stage to run, against taking the plan of an expression planned before.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import lazyarray as la

DEPTHS = [1_000, 10_000]
SMALL = [np.random.default_rng(i).random(1_000) for i in range(3)]


def chain(start: Any, depth: int) -> Any:
    y = start
    for _ in range(depth):
        y = y + 1.0
    return y


@pytest.mark.benchmark(group="construction")
@pytest.mark.parametrize("depth", DEPTHS)
def test_construction_lazyarray(benchmark: Any, depth: int) -> None:
    start = la.Array(np.zeros(10))
    benchmark.extra_info["ops"] = depth
    result = benchmark(chain, start, depth)
    assert result.shape == (10,)


@pytest.mark.benchmark(group="construction")
@pytest.mark.parametrize("depth", DEPTHS[:1])
def test_construction_dask(benchmark: Any, depth: int) -> None:
    da = pytest.importorskip("dask.array")
    start = da.zeros(10, chunks=10)
    benchmark.extra_info["ops"] = depth
    result = benchmark.pedantic(chain, args=(start, depth), rounds=3, iterations=1)
    assert result.shape == (10,)


def ten_ops(m: Any, a: Any, b: Any, c: Any) -> Any:
    """Ten operations: 2*a, 3*b, *c, +, a*b, c+1, /, -, sin, sum."""
    return m.sin(2 * a + 3 * b * c - a * b / (c + 1)).sum()


LARGE = [np.random.default_rng(i).random(1_000_000) for i in range(3)]


@pytest.mark.benchmark(group="planning")
@pytest.mark.parametrize("expression", ["new", "planned before"])
def test_planning(benchmark: Any, expression: str) -> None:
    from lazyarray.planner import make_plan

    planned = ten_ops(la, *[la.Array(x) for x in LARGE])
    make_plan([planned.node])

    def fresh() -> tuple[tuple[Any, ...], dict[str, Any]]:
        if expression == "planned before":
            return ([planned.node],), {}
        return ([ten_ops(la, *[la.Array(x.view()) for x in LARGE]).node],), {}

    plan = benchmark.pedantic(make_plan, setup=fresh, rounds=300, iterations=1)
    assert plan.fused_count == 1


@pytest.mark.benchmark(group="latency")
def test_latency_numpy_eager(benchmark: Any) -> None:
    benchmark(ten_ops, np, *SMALL)


@pytest.mark.benchmark(group="latency")
@pytest.mark.parametrize("cache", [True, False])
def test_latency_lazyarray(benchmark: Any, cache: bool) -> None:
    def run() -> Any:
        fresh = [la.Array(x.copy()) for x in SMALL]  # a new graph every round
        return ten_ops(la, *fresh).compute(cache=cache)

    result = benchmark(run)
    np.testing.assert_allclose(result, ten_ops(np, *SMALL))


@pytest.mark.benchmark(group="latency")
def test_latency_numpy_eager_with_copies(benchmark: Any) -> None:
    """The same input copies the lazyarray rows make, for a fair ratio."""
    benchmark(lambda: ten_ops(np, *[x.copy() for x in SMALL]))


@pytest.mark.benchmark(group="wrap")
def test_wrap_large_input(benchmark: Any) -> None:
    """Wrapping 480 MB of inputs costs no pass over the data."""
    arrays = [np.ones(20_000_000) for _ in range(3)]
    benchmark(lambda: [la.Array(x) for x in arrays])
