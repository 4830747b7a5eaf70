"""Seeded random arrays: lazy, blockwise, and the same values however they are computed."""

from __future__ import annotations

import numpy as np
import pytest

import lazyarray as la
from lazyarray.errors import UnsupportedOperation
from lazyarray.ops.rng import RANDOM_BLOCK, random_values


def test_huge_random_arrays_cost_nothing_until_computed(no_compute: None) -> None:
    x = la.random.default_rng(0).random((10**9,))
    assert x.shape == (10**9,) and x.dtype == np.float64
    assert x.nbytes == 8 * 10**9


def test_same_seed_same_values(backend: str) -> None:
    first = la.random.default_rng(7).normal(size=(50, 40)).compute(backend=backend)
    again = la.random.default_rng(7).normal(size=(50, 40)).compute(backend=backend)
    np.testing.assert_array_equal(first, again)
    other = la.random.default_rng(8).normal(size=(50, 40)).compute(backend=backend)
    assert not np.array_equal(first, other)


def test_each_draw_of_a_generator_is_a_new_stream() -> None:
    rng = la.random.default_rng(1)
    a, b = rng.random(100), rng.random(100)
    assert not np.array_equal(a.compute(), b.compute())


@pytest.mark.parametrize(
    ("start", "stop"),
    [(0, 10), (RANDOM_BLOCK - 3, RANDOM_BLOCK + 5), (70_000, 2 * RANDOM_BLOCK + 9)],
)
@pytest.mark.parametrize(
    "distribution", [("normal", (0.0, 1.0)), ("random", ()), ("integers", (0, 9))]
)
def test_any_slice_generates_alone_with_the_same_values(
    start: int, stop: int, distribution: tuple[str, tuple[float, ...]]
) -> None:
    name, params = distribution
    whole = random_values(3, 0, name, params, 0, 3 * RANDOM_BLOCK, np.dtype(np.float64))
    part = random_values(3, 0, name, params, start, stop, np.dtype(np.float64))
    np.testing.assert_array_equal(part, whole[start:stop])


@pytest.mark.parametrize(
    ("draw", "mean", "std"),
    [
        (lambda g: g.random(200_000), 0.5, 0.2887),
        (lambda g: g.normal(2.0, 3.0, 200_000), 2.0, 3.0),
        (lambda g: g.uniform(-1.0, 1.0, 200_000), 0.0, 0.5774),
        (lambda g: g.integers(0, 10, 200_000), 4.5, 2.872),
    ],
)
def test_distributions(draw: object, mean: float, std: float) -> None:
    values = draw(la.random.default_rng(0)).compute()  # type: ignore[operator]
    assert abs(values.mean() - mean) < 0.05 * max(std, 1)
    assert abs(values.std() - std) < 0.05 * std


def test_module_level_shortcuts() -> None:
    assert la.random.random((3,), seed=1).shape == (3,)
    assert la.random.integers(5, size=4, seed=2).dtype == np.int64
    values = la.random.integers(5, size=1000, seed=2).compute()
    assert values.min() >= 0 and values.max() < 5


def test_what_the_generator_does_not_take_is_refused_in_words() -> None:
    """A seed sequence and array parameters (numpy's Generator takes both) are an
    ``UnsupportedOperation`` naming what is taken, not a ``TypeError`` from inside."""
    with pytest.raises(UnsupportedOperation, match="a seed is an int"):
        la.random.default_rng([1, 2, 3])
    with pytest.raises(UnsupportedOperation, match=r"loc is a number here.*shape \(3,\)"):
        la.random.default_rng(0).normal(np.arange(3.0), 1.0)
    with pytest.raises(UnsupportedOperation, match="high is a number"):
        la.random.default_rng(0).integers(0, np.array([3, 4]))
