"""Sizes that depend on values are known when written where the data cannot change.

A mask's count, the non-zero positions and the unique values of a settled graph
(read-only literals and generated sources, no parameter, no random draw, no masked node,
at most 64 nodes of at most 2**20 elements: ``lazyarray/ops/settled.py``) are numpy's
when written; otherwise they stay ``None`` until run. Declared shapes equal computed
ones on every backend and mode.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import lazyarray as la
from lazyarray.errors import LazyArrayError, ShapeError
from lazyarray.ops.settled import SETTLED_ELEMENTS, SETTLED_NODES
from tests.conftest import assert_same

NAN = float("nan")
VALUES = [3.0, -1.0, 2.0, 0.0, 5.0, NAN, -0.0, 3.0, NAN]
GRID = np.arange(12).reshape(3, 4)

# name -> (the expression over lazyarray's settled inputs, numpy's over the same data)
Case = tuple[Callable[[], Any], Callable[[], Any]]


def _on_values(build: Callable[[Any], Any]) -> Case:
    return (lambda: build(la.asarray(VALUES)), lambda: build(np.asarray(VALUES)))


def _on_grid(build: Callable[[Any, Any], Any]) -> Case:
    return (
        lambda: build(la.reshape(la.arange(12), (3, 4)), la),
        lambda: build(GRID, np),
    )


CASES: dict[str, Case] = {
    "mask of a literal": _on_values(lambda x: x[x > 0]),
    "mask of a mask's result": _on_values(lambda x: x[x > 0][x[x > 0] < 4]),
    "mask over arange": _on_grid(lambda a, m: a[a % 3 == 0]),
    "mask of rows": _on_grid(lambda a, m: a[a[:, 0] > 2]),
    "mask on the last axis": _on_grid(lambda a, m: a[:, m.sum(a, axis=0) > 13]),
    "0-d mask true": _on_grid(lambda a, m: a[m.sum(a) > 3]),
    "0-d mask false": _on_grid(lambda a, m: a[m.sum(a) < 3]),
    "0-d mask with an integer": _on_grid(lambda a, m: a[1, m.max(a) == 11]),
    "nonzero": _on_grid(lambda a, m: m.nonzero(a % 5)),
    "argwhere": _on_grid(lambda a, m: m.argwhere(a > 6)),
    "flatnonzero": _on_grid(lambda a, m: m.flatnonzero(a % 2)),
    "nonzero of eye": (
        lambda: la.nonzero(la.eye(4, 5, k=1)),
        lambda: np.nonzero(np.eye(4, 5, k=1)),
    ),
    "nonzero of full": (
        lambda: la.argwhere(la.full((2, 3), 7)),
        lambda: np.argwhere(np.full((2, 3), 7)),
    ),
    "linspace mask": (
        lambda: (lambda v: v[v > 0.3])(la.linspace(0, 1, 11)),
        lambda: (lambda v: v[v > 0.3])(np.linspace(0, 1, 11)),
    ),
    # the array API's unique_*: NaNs distinct, -0.0 and 0.0 one value
    "unique_values": (
        lambda: la.unique_values(la.asarray(VALUES)),
        lambda: np.unique(VALUES, equal_nan=False),
    ),
    "unique_counts": (
        lambda: la.unique_counts(la.asarray(VALUES)),
        lambda: np.unique(VALUES, return_counts=True, equal_nan=False),
    ),
    "unique_inverse": (
        lambda: la.unique_inverse(la.asarray(VALUES)),
        lambda: np.unique(VALUES, return_inverse=True, equal_nan=False),
    ),
    "unique_all": (
        lambda: la.unique_all(la.asarray(VALUES)),
        lambda: np.unique(
            VALUES, return_index=True, return_inverse=True, return_counts=True, equal_nan=False
        ),
    ),
    # numpy's unique: NaNs one value
    "np.unique": _on_values(np.unique),
    "np.unique axis": _on_grid(lambda a, m: np.unique(a % 2, axis=1)),
    "unique of a computed array": _on_grid(lambda a, m: np.unique(m.sin(a // 5))),
}


def _parts(result: Any) -> tuple[Any, ...]:
    return tuple(result) if isinstance(result, tuple) else (result,)


@pytest.mark.parametrize("name", CASES)
def test_settled_sizes_are_known_when_written(name: str, no_compute: None) -> None:
    lazy, reference = CASES[name]
    with np.errstate(all="ignore"):
        expected = _parts(reference())
    built = _parts(lazy())
    assert [part.shape for part in built] == [np.shape(value) for value in expected]


@pytest.mark.parametrize("name", CASES)
def test_settled_sizes_are_the_computed_ones(name: str, backend: str) -> None:
    lazy, reference = CASES[name]
    with np.errstate(all="ignore"):
        expected = _parts(reference())
    built = _parts(lazy())
    for actual, wanted, part in zip(
        la.compute(*built, backend=backend), expected, built, strict=True
    ):
        assert np.shape(actual) == part.shape
        assert_same(actual, np.asarray(wanted) if np.ndim(wanted) else wanted)


def _mixed(name: str, a: Any, m: Any) -> Any:
    """``a``, of a size known when written, with arrays of that size."""
    n = a.shape[0] if m is la else len(a)
    other = m.arange(n).astype(a.dtype)
    return {
        "add": lambda: a + other,
        "stack": lambda: m.stack([a, other]),
        "matmul": lambda: a @ other,
        "reshape": lambda: m.reshape(a, (1, n)) * other,
    }[name]()


SOURCES: dict[str, Callable[[Any], Any]] = {
    "mask": lambda m: (lambda x: x[x > 0])(m.asarray(VALUES[:5])),
    "flatnonzero": lambda m: m.flatnonzero(m.asarray(VALUES[:5])),
    "unique": lambda m: (la.unique_values if m is la else np.unique)(m.asarray(VALUES[:5])),
    "2-d mask": lambda m: (lambda g: g[g % 3 == 0])(m.reshape(m.arange(12), (3, 4))),
}


@pytest.mark.parametrize("how", ["add", "stack", "matmul", "reshape"])
@pytest.mark.parametrize("source", SOURCES)
def test_settled_sizes_mix_with_arrays_of_that_size(source: str, how: str, backend: str) -> None:
    """dask's chunks of such a result are known too (the backend counts them when
    lowering), else dask refuses to combine it with known chunks."""
    lazy = _mixed(how, SOURCES[source](la), la)
    expected = _mixed(how, SOURCES[source](np), np)
    assert lazy.shape == np.shape(expected)
    assert_same(lazy.compute(backend=backend), expected)


def test_a_settled_mask_on_a_big_array(backend: str) -> None:
    data = np.arange(600 * 500, dtype=np.float64).reshape(600, 500)
    rows = la.arange(600) % 7 == 0
    lazy = (la.asarray(data)[rows] * 2)[:, ::3]
    assert lazy.shape == (86, 167)
    assert_same(lazy.compute(backend=backend), (data[np.arange(600) % 7 == 0] * 2)[:, ::3])


@pytest.mark.parametrize("index", ["rows", "columns", "whole"])
def test_a_settled_mask_on_a_masked_array(index: str, backend: str) -> None:
    data = np.ma.MaskedArray(
        np.arange(24.0).reshape(4, 6), mask=np.arange(24).reshape(4, 6) % 5 == 0
    )
    keys = {
        "rows": lambda m: m.arange(4) % 2 == 0,
        "columns": lambda m: (slice(None), m.arange(6) > 2),
        "whole": lambda m: m.reshape(m.arange(24) % 3 == 0, (4, 6)),
    }
    lazy = la.MaskedArray(data)[keys[index](la)]
    expected = data[keys[index](np)]
    assert lazy.shape == expected.shape
    assert_same(lazy.compute(backend=backend), expected)


def test_a_size_depends_on_the_values_not_only_the_types() -> None:
    assert la.nonzero(la.asarray([1, 0, 1]))[0].shape == (2,)
    assert la.nonzero(la.asarray([1, 1, 1]))[0].shape == (3,)
    assert la.unique_values(la.asarray([1, 1, 1])).shape == (1,)
    assert la.unique_values(la.asarray([1, 2, 3])).shape == (3,)


def test_a_settled_mask_near_the_bound_is_counted(backend: str) -> None:
    x = la.arange(SETTLED_ELEMENTS)
    selected = x[x % 3 == 0]
    assert selected.shape == ((SETTLED_ELEMENTS + 2) // 3,)
    assert la.flatnonzero(x % 3).shape == (SETTLED_ELEMENTS - (SETTLED_ELEMENTS + 2) // 3,)
    assert selected.compute(backend=backend).shape == selected.shape


def _mutable() -> Any:
    x = la.asarray(np.asarray(VALUES))  # wrapped by reference: it may change before running
    return x[x > 0]


def _parameter() -> Any:
    x = la.parameter("x", dtype="float64", shape=(9,))
    return x[x > 0]


def _random() -> Any:
    x = la.random.default_rng(0).random(9)
    return x[x > 0.5]


def _above_the_bound() -> Any:
    x = la.arange(SETTLED_ELEMENTS + 1)
    return x[x > 5]


def _an_inner_node_above_the_bound() -> Any:
    x = la.arange(2 * SETTLED_ELEMENTS)[::4]  # this view is small, its input is not
    return x[x > 5]


def _chain(adds: int) -> Any:
    """``adds + 4`` nodes: arange, the adds and their 1, the comparison and its 40."""
    x = la.arange(10)
    for _ in range(adds):
        x = x + 1
    return la.flatnonzero(x > 40)


def _too_many_nodes() -> Any:
    return _chain(SETTLED_NODES - 3)


def _under_an_unknown_size() -> Any:
    x = la.asarray(np.arange(6.0))
    y = la.arange(6.0)[x > 2]  # the mask may change: this size is unknown
    return y[y > 3]


def _a_masked_mask() -> Any:
    mask = la.masked_array(la.arange(4) > 1, la.asarray([True, False, False, False]))
    return la.arange(4)[mask]


UNKNOWN: dict[str, Callable[[], Any]] = {
    "a mutable literal": _mutable,
    "a parameter": _parameter,
    "a random array": _random,
    "above the bound": _above_the_bound,
    "an inner node above the bound": _an_inner_node_above_the_bound,
    "too many nodes": _too_many_nodes,
    "under an unknown size": _under_an_unknown_size,
    "a masked mask": _a_masked_mask,
    # masked values folded by the planner are writeable (so not settled): a size known
    # when written would be unknown in the plan, which must type as the graph does
    "compressed": lambda: la.masked_array(la.arange(6.0), la.arange(6) % 3 == 0).compressed(),
    "a mask through a masked array": lambda: la.arange(6)[
        la.getmaskarray(la.masked_array(la.arange(6.0), la.arange(6) % 2 == 0))
    ],
    "unique of a mutable literal": lambda: la.unique_values(la.asarray(np.asarray(VALUES))),
    "nonzero of a parameter": lambda: la.argwhere(la.parameter("x", dtype=bool, shape=(3, 4))),
}


@pytest.mark.parametrize("name", UNKNOWN)
def test_unsettled_sizes_stay_unknown(name: str) -> None:
    assert None in UNKNOWN[name]().shape


def test_the_bounds_are_the_counted_ones() -> None:
    """Each of the unknown cases above is one step past a bound of a settled graph."""
    x = la.arange(SETTLED_ELEMENTS)
    assert None not in x[x > 5].shape
    x = la.arange(SETTLED_ELEMENTS)[::4]
    assert None not in x[x > 5].shape
    assert _chain(SETTLED_NODES - 4).shape == (10,)


@pytest.mark.parametrize(
    "failing",
    [
        lambda: la.take(la.arange(4.0), la.asarray([1]) * 9),  # out of bounds when run
        lambda: la.linalg.inv(la.zeros((2, 2))),  # singular
    ],
    ids=["take out of bounds", "singular inverse"],
)
def test_a_graph_failing_when_evaluated_builds_with_an_unknown_size(failing: Any) -> None:
    mask = failing() > 0
    selected = la.arange(float(mask.size)).reshape(mask.shape)[mask]
    assert None in selected.shape
    assert None in la.flatnonzero(mask).shape
    with pytest.raises(LazyArrayError):  # when planned (folding) or run
        selected.compute()


def test_evaluating_warns_nothing(no_compute: None) -> None:
    x = la.asarray([1.0, 0.0, -1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mask = 1 / x > 0  # a division by zero: numpy would warn when run
        assert x[mask].shape == (2,)


def test_a_settled_mask_refuses_a_value_of_another_count_in_numpys_words() -> None:
    x = la.zeros(3)
    with pytest.raises(ShapeError, match="cannot assign 3 input values to the 2 output"):
        x[la.arange(3) != 1] = la.arange(3.0)
    grid = la.zeros((3, 2))
    with pytest.raises(
        LazyArrayError,
        match=r"value array of shape \(3,2\) could not be broadcast to indexing result of "
        r"shape \(2,2\)",
    ):
        grid[la.arange(3) != 1] = la.ones((3, 2))
