"""Planning and wrapping costs (graph construction and small-expression latency, against
numpy, numexpr and dask.array, are in ``bench_laziness.py``).

Groups (``make bench`` prints ratios against the first row of each group):
- planning: all the planner's stages on a new 10-op expression over arrays large enough
  for every stage to run, against taking the plan of an expression planned before.
- wrap: wrapping large numpy arrays (no copy, no pass over the data).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import lazyarray as la
from benchmarks.bench_laziness import ten_ops

LARGE = [np.random.default_rng(i).random(1_000_000) for i in range(3)]


@pytest.mark.benchmark(group="planning")
@pytest.mark.parametrize("expression", ["new", "planned before"])
def test_planning(benchmark: Any, expression: str) -> None:
    from lazyarray.planner import make_plan

    planned = ten_ops(la, *[la.Array(x) for x in LARGE])
    make_plan([planned.node])
    offsets = iter(range(1, 10_000))

    def fresh() -> tuple[tuple[Any, ...], dict[str, Any]]:
        if expression == "planned before":
            return ([planned.node],), {}
        # a view reading other memory is another literal: a graph never planned
        start = next(offsets)
        return ([ten_ops(la, *[la.Array(x[start:]) for x in LARGE]).node],), {}

    plan = benchmark.pedantic(make_plan, setup=fresh, rounds=300, iterations=1)
    assert plan.fused_count == 1


@pytest.mark.benchmark(group="wrap")
def test_wrap_large_input(benchmark: Any) -> None:
    """Wrapping 480 MB of inputs costs no pass over the data."""
    arrays = [np.ones(20_000_000) for _ in range(3)]
    benchmark(lambda: [la.Array(x) for x in arrays])
