"""The test kit's own rules (tests.kit): each can fail, and the plan invariant holds."""

from __future__ import annotations

import numpy as np
import pytest

import lazyarray as la
from lazyarray.graph import Literal
from lazyarray.ops import apply
from lazyarray.planner.plan import steps_of
from tests import kit


def test_exact_tells_signed_zeros_apart_and_nan_equal() -> None:
    kit.assert_exact(np.array([np.nan, -0.0]), np.array([np.nan, -0.0]))
    with pytest.raises(AssertionError, match="sign of zero"):
        kit.assert_exact(np.array([0.0]), np.array([-0.0]))
    with pytest.raises(AssertionError):
        kit.assert_exact(np.array([1.0], np.float32), np.array([1.0]))
    with pytest.raises(AssertionError):
        kit.assert_exact(np.float64(1.0), np.float64(np.nextafter(1.0, 2.0)))


def test_a_sum_may_differ_by_its_blockwise_bound_and_no_more() -> None:
    data = np.random.default_rng(0).normal(size=10_000)
    bound = kit.reduction_bound("sum", data)
    assert bound is not None and 0 < bound < 1e-9
    kit.assert_within(data.sum() + bound / 2, data.sum(), bound)
    with pytest.raises(AssertionError, match="outside the bound"):
        kit.assert_within(data.sum() + 2 * bound, data.sum(), bound)
    assert kit.reduction_bound("max", data) is None  # order statistics: exact
    assert kit.reduction_bound("sum", data.astype(np.int64)) is None


def test_a_constant_float32_columns_std_is_compared_within_its_conditioning() -> None:
    column = np.full((1000, 1), 7.7e6, np.float32)
    assert column.std(axis=0)[0] == 0.5  # numpy's, by cancellation: the truth is 0
    bound = kit.reduction_bound("std", column, axis=0)
    assert bound is not None
    for value in (0.0, 0.37, float(column.std(axis=0)[0])):
        kit.assert_within(np.array([value], np.float32), column.std(axis=0), bound)
    with pytest.raises(AssertionError):
        kit.assert_within(np.array([1e5], np.float32), column.std(axis=0), bound)


def test_check_plan_finds_two_literals_of_one_view() -> None:
    base = np.arange(1000.0)
    first = la.Array(base[10:20]) + 1
    # two wrappers of one view's elements, built past Literal.of (which would share one)
    twins = [apply("constant", (), value=Literal(base[10:20])) for _ in range(2)]
    with pytest.raises(AssertionError, match="plan invariant"):
        kit.check_plan(twins)
    kit.check_plan(steps_of(((la.Array(base) + 1).node, first.node))[0])


def test_views_of_the_same_elements_are_one_node() -> None:
    base = np.arange(1000.0)
    assert la.Array(base[10:20]).node is la.Array(base[10:20]).node
    assert la.Array(base[10:20]).node is not la.Array(base[10:21]).node
    assert la.Array(base).node is not la.Array(base.reshape(10, 100)).node


def test_the_demos_standardized_slice_is_computed_once(backend: str) -> None:
    data = np.random.default_rng(0).normal(size=(300, 200))
    assert data.nbytes > la.config.snapshot().small_bytes
    x = la.Array(data)
    z = (x - x.mean(0)) / x.std(0)
    (z + z * 2)[:5].compute(backend=backend, cache=False)  # the autouse check fails it


def test_numpys_own_sum_across_rows_is_within_the_bound() -> None:
    """Across outer axes numpy adds one row after another, not pairwise: its own error
    there grows with the count (2x the pairwise bound on these columns)."""
    import math

    data = np.random.default_rng(1).normal(size=(20_000, 30)) * 1e3 + 5e5
    exact = np.array([math.fsum(column) for column in data.T])
    bound = kit.reduction_bound("sum", data, axis=0)
    assert bound is not None
    kit.assert_within(data.sum(axis=0), exact, bound)
    along_rows = kit.reduction_bound("sum", data.T, axis=1)  # the innermost: pairwise
    assert along_rows is not None and (along_rows < bound / 100).all()
