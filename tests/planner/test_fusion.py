"""Fusion and blockwise kernels: kernel counts, intermediates never materialized, and
the same values as numpy however the blocks and threads cut the work."""

from __future__ import annotations

import itertools
import tracemalloc
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lazyarray as la
from lazyarray.ops import OPS
from lazyarray.planner import make_plan
from lazyarray.runtime.kernel import run_blocked
from lazyarray_numpy import kernels

N = 200_000
DATA = [np.random.default_rng(i).normal(size=N) for i in range(3)]


def lazy(*arrays: np.ndarray) -> list[Any]:
    return [la.Array(a) for a in arrays]


def test_an_elementwise_chain_is_one_kernel() -> None:
    a, b, c = lazy(*DATA)
    expression = 2 * a + 3 * b * c - a * b / (c + 1)
    plan = make_plan([expression.node])
    assert plan.fused_count == 1
    assert plan.kernel_count == 1
    x, y, z = DATA
    np.testing.assert_allclose(
        expression.compute(cache=False), 2 * x + 3 * y * z - x * y / (z + 1), rtol=1e-14
    )


def test_a_trailing_reduction_joins_the_kernel() -> None:
    a, b, _ = lazy(*DATA)
    total = (a * b).sum()
    plan = make_plan([total.node])
    assert plan.kernel_count == 1
    assert plan.steps[-1].attr("kernel").reduction.op == "sum"
    np.testing.assert_allclose(total.compute(cache=False), (DATA[0] * DATA[1]).sum(), rtol=1e-10)


def test_sum_of_a_product_never_materializes_the_product() -> None:
    a, b, _ = lazy(*DATA)
    tracemalloc.start()
    try:
        with la.config.set(block_bytes=2**14):
            (a * b).sum().compute(cache=False)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < DATA[0].nbytes / 2


def test_a_shared_subexpression_is_computed_once_inside_its_kernel() -> None:
    a, b, _ = lazy(*DATA)
    t = la.exp(a) * b
    expression = t + t * t + la.sin(t)
    plan = make_plan([expression.node])
    assert plan.fused_count == 1 and plan.kernel_count == 1  # t is never materialized
    program = plan.steps[-1].attr("kernel").program
    assert [instruction.op for instruction in program].count("exp") == 1  # once per block
    x, y, _ = DATA
    u = np.exp(x) * y
    np.testing.assert_array_equal(expression.compute(cache=False), u + u * u + np.sin(u))


CASES = [
    lambda m, a, b, c: m.sqrt(a * a + b * b) - c,
    lambda m, a, b, c: m.where(a > b, a - c, m.exp(-b)),
    lambda m, a, b, c: ((a > 0) & (b < c)).sum(),
    lambda m, a, b, c: (a * b + 1).max(),
    lambda m, a, b, c: (a.reshape(400, 500) * c.reshape(400, 500)).sum(axis=1),
    lambda m, a, b, c: (a.reshape(400, 500) - b[:500]).prod(axis=1, keepdims=True),
    lambda m, a, b, c: (a.astype("float32") * 2).astype("int64") % 7,
    lambda m, a, b, c: m.floor(a * 10) // 3,
]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("block_bytes", [1024, 2**16, 2**24])
@pytest.mark.parametrize("fast_math", [False, True])
def test_blockwise_kernels_match_numpy(case: Any, block_bytes: int, fast_math: bool) -> None:
    expected = case(np, *DATA)
    with la.config.set(block_bytes=block_bytes, threads=2, fast_math=fast_math):
        result = case(la, *lazy(*DATA)).compute(cache=False)
    assert np.asarray(result).dtype == np.asarray(expected).dtype
    if fast_math:  # numexpr: its own division and math library
        np.testing.assert_allclose(result, expected, rtol=1e-9)
    else:  # numpy's ufuncs on blocks: bit for bit, or a blockwise reduction's order
        np.testing.assert_allclose(result, expected, rtol=4 * np.finfo(np.float64).eps * 16)


def test_random_sources_are_generated_per_block() -> None:
    rng = la.random.default_rng(3)
    x, y = rng.random(N), rng.normal(size=N)
    expression = (x * y).sum()
    plan = make_plan([expression.node])
    assert [node.op for node in plan.steps] == ["fused"]
    whole_x, whole_y = x.compute(), y.compute()
    with la.config.set(block_bytes=4096):
        np.testing.assert_allclose(
            expression.compute(cache=False), (whole_x * whole_y).sum(), rtol=1e-10
        )


def test_numexpr_is_used_only_where_it_is_exact() -> None:
    a, b, _ = lazy(*DATA)
    kernel = make_plan([(a * b + 1.5).node]).steps[-1].attr("kernel")
    assert kernels.numexpr_source(kernel, ["<f8", "<f8", "weak"]) is not None
    ints = la.Array(np.arange(N))
    kernel = make_plan([(ints * 3 + 1).node]).steps[-1].attr("kernel")
    assert kernels.numexpr_source(kernel, ["<i8", "weak", "weak"]) is None


def test_masked_nodes_are_not_fused() -> None:
    """Only their data and masks are, once ``unmask`` has split them."""
    m = la.MaskedArray(DATA[0], mask=DATA[0] > 1)
    plan = make_plan([(m * 2 + 1).node], disabled=frozenset({"unmask"}))
    assert plan.fused_count == 0


@pytest.mark.parametrize(
    "reduce",
    [lambda x: x.sum(), lambda x: x.max(axis=0), lambda x: x[:10].sum(), lambda x: x.mean(axis=1)],
)
def test_reductions_of_sources_run_blockwise(reduce: Any) -> None:
    lazy_source = la.random.default_rng(4).normal(size=(1000, 300))
    expected = reduce(lazy_source.compute())
    with la.config.set(block_bytes=8192):
        np.testing.assert_allclose(reduce(lazy_source).compute(cache=False), expected, rtol=1e-10)
    filled = la.full((1000, 300), 2.5)
    np.testing.assert_allclose(
        reduce(filled).compute(cache=False), reduce(np.full((1000, 300), 2.5))
    )


REDUCTIONS = [None, (0,), (1,), (0, 1)]


@settings(max_examples=40, deadline=None)
@given(
    row_cuts=st.sets(st.integers(1, 59), max_size=4),
    column_cuts=st.sets(st.integers(1, 39), max_size=3),
    block_bytes=st.sampled_from([64, 1_000, 2**20]),
    axes=st.sampled_from(REDUCTIONS),
)
def test_a_kernel_computed_region_by_region_is_the_whole(
    row_cuts: set[int], column_cuts: set[int], block_bytes: int, axes: Any
) -> None:
    """What a chunked backend does: each region of the kernel's shape run alone, from
    its inputs cut to it, gives that region of the whole (a reduction: partials adding
    up to the whole's)."""
    rng = la.random.default_rng(9)
    column = la.Array(np.arange(60.0).reshape(60, 1))
    row = la.Array(np.linspace(0, 1, 40).reshape(1, 40))
    elementwise = rng.random((60, 40)) * column + la.full((40,), 2.0) - row * rng.normal(size=40)
    expression = elementwise if axes is None else elementwise.sum(axis=axes)
    (kernel,) = make_plan([expression.node]).steps[-1:]
    assert kernel.op == "fused"
    inputs = [OPS[child.op].impl(**child.kwargs) for child in kernel.inputs]
    whole = elementwise.compute(cache=False)
    expected = whole if axes is None else whole.sum(axis=axes, keepdims=True)
    assembled = np.zeros_like(expected)
    rows, columns = [0, *sorted(row_cuts), 60], [0, *sorted(column_cuts), 40]
    for r0, r1 in itertools.pairwise(rows):
        for c0, c1 in itertools.pairwise(columns):
            cut = [_cut(v, r0, r1, c0, c1) for v in inputs]
            region = ((r0, r1), (c0, c1))
            part = run_blocked(kernel.attr("kernel"), cut, region, block_bytes=block_bytes)
            target = (
                slice(0, 1) if axes is not None and 0 in axes else slice(r0, r1),
                slice(0, 1) if axes is not None and 1 in axes else slice(c0, c1),
            )
            assembled[target] += part
    np.testing.assert_allclose(assembled, expected, rtol=1e-12)


def _cut(value: Any, r0: int, r1: int, c0: int, c1: int) -> Any:
    """An input broadcast to (60, 40), cut to rows [r0, r1) and columns [c0, c1)."""
    cuts = (slice(r0, r1), slice(c0, c1))[2 - np.ndim(value) :]
    sizes = np.shape(value)
    return value[tuple(slice(None) if n == 1 else c for n, c in zip(sizes, cuts, strict=True))]


def test_a_value_read_by_two_kernels_is_materialized_once() -> None:
    a, b, _ = lazy(*DATA)
    t = la.exp(a) * b
    first, second = (t + 1).sum(), (t * 2).max()  # two reductions: two kernels
    plan = make_plan([first.node, second.node])
    assert plan.fused_count == 3  # t, then each reduction over it
    x, y, _ = DATA
    u = np.exp(x) * y
    got = la.compute(first, second, cache=False)
    np.testing.assert_allclose(got[0], (u + 1).sum(), rtol=1e-12)
    assert got[1] == (u * 2).max()


def test_a_generated_source_read_twice_is_generated_inside_the_kernel() -> None:
    noise = la.random.default_rng(5).normal(size=N)
    expression = (la.sin(noise) + la.cos(noise)).sum()
    plan = make_plan([expression.node])
    assert [node.op for node in plan.steps] == ["fused"]
    whole = noise.compute()
    with la.config.set(block_bytes=4096):
        got = expression.compute(cache=False)
    bound = 16 * np.finfo(np.float64).eps * np.abs(np.sin(whole) + np.cos(whole)).sum()
    assert abs(got - (np.sin(whole) + np.cos(whole)).sum()) <= bound
