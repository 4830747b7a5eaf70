"""Reductions at their edges, on both backends in every mode (``backend`` of
``tests/conftest.py``), small and large (>= 2e5 elements: the blocked and chunked
paths): empty reduced axes (numpy's result, ``initial=`` included, or numpy's error when
written), float16 moments over every axis (numpy's overflow to inf), and ``nanvar`` with
no degrees of freedom left (numpy's NaN)."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import lazyarray as la
from lazyarray.errors import LazyArrayError
from tests import kit

BIG = np.random.default_rng(16).normal(size=(500, 400))  # 200,000 elements
SMALL = np.random.default_rng(17).normal(size=(6, 5))


@pytest.fixture(autouse=True)
def _quiet() -> Iterator[None]:
    """numpy's (and lazyarray's) warnings of empty slices and overflow: not tested here."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        yield


def _numpy(function: Any, *args: Any, **kwargs: Any) -> Any:
    """numpy's value, or the exception class it raises."""
    try:
        return function(*args, **kwargs)
    except ValueError as exc:
        return type(exc)


# (name, keyword arguments): every reduction numpy refuses or answers on an empty axis
EMPTY_CASES: list[tuple[str, dict[str, Any]]] = [
    (name, {"axis": axis, "keepdims": keep, **extra})
    for name, extras in [
        ("max", [{}, {"initial": 0.0}, {"initial": 2}]),
        ("min", [{}, {"initial": -1.5}]),
        ("sum", [{}, {"initial": 1.5}]),
        ("prod", [{}, {"initial": 2.0}]),
        ("any", [{}]),
        ("all", [{}]),
        ("mean", [{}]),
        ("var", [{}]),
        ("nanmax", [{}, {"initial": 0.0}]),
        ("nansum", [{}]),
        ("nanmean", [{}]),
        ("ptp", [{}]),
    ]
    for extra in extras
    for axis in (None, 0, 1)
    for keep in (False, True)
] + [(name, {"axis": axis}) for name in ("argmax", "argmin") for axis in (None, 0, 1)]


@pytest.mark.parametrize("rows", [slice(5, 5), slice(None)], ids=["no-rows", "all-rows"])
@pytest.mark.parametrize("data", [BIG, SMALL], ids=["big", "small"])
def test_reductions_of_empty_axes_are_numpys(data: Any, rows: slice, backend: str) -> None:
    """``x[5:5].max(axis=1)`` is numpy's empty array, ``max(axis=0, initial=0.0)`` numpy's
    zeros (dask gave shape (0,), or a raw ValueError); where numpy raises (``max`` has no
    identity), the expression is refused when written, in numpy's words."""
    columns = slice(3, 3) if rows == slice(None) else slice(None)
    empty = data[rows, columns]
    assert empty.size == 0
    lazy = la.Array(data)[rows, columns]
    for name, kwargs in EMPTY_CASES:
        expected = _numpy(getattr(np, name), empty, **kwargs)
        if isinstance(expected, type):
            with pytest.raises(LazyArrayError, match=r"identity|empty sequence"):
                getattr(la, name)(lazy, **kwargs)
            continue
        result = getattr(la, name)(lazy, **kwargs).compute(backend=backend, cache=False)
        kit.assert_exact(result, expected)


@pytest.mark.parametrize("dtype", ["int8", "float32"])
def test_initial_is_cast_as_numpy_casts_it(dtype: str, backend: str) -> None:
    """numpy reduces from ``initial`` in the reduction's dtype: ``max`` of int8 from 1.5
    starts from 1 and stays int8; on an empty axis the result is ``initial`` itself."""
    data = (BIG * 3).astype(dtype)
    lazy = la.Array(data)
    for name, initial in [("max", 1.5), ("min", -2.5), ("max", 100.0)]:
        for part in (slice(None), slice(7, 7)):
            expected = getattr(np, name)(data[part], axis=0, initial=initial)
            reduced = getattr(lazy[part], name)(axis=0, initial=initial)
            kit.assert_exact(reduced.compute(backend=backend, cache=False), expected)


@pytest.mark.parametrize("data", [BIG, SMALL], ids=["big", "small"])
def test_initial_of_a_selection_that_may_be_empty(data: Any, backend: str) -> None:
    """A boolean selection's size is known only when it runs: ``max(initial=...)`` of it
    is numpy's whether it selects nothing (``initial``) or some values."""
    data = data.ravel()
    lazy = la.Array(data)
    for name, threshold, initial in [("max", 100, 0.5), ("max", 1, 0.5), ("min", -100, -3.0)]:
        picked = data[data > threshold] if name == "max" else data[data < threshold]
        selection = lazy[lazy > threshold] if name == "max" else lazy[lazy < threshold]
        expected = getattr(np, name)(picked, initial=initial)
        result = getattr(selection, name)(initial=initial).compute(backend=backend, cache=False)
        kit.assert_exact(result, expected)


def test_extremes_of_rows_selected_are_numpys(backend: str) -> None:
    """Rows picked by a boolean mask: chunks that select nothing (dask's ``max`` of one
    is no partial it can combine) or every chunk empty (numpy's error, when computed)."""
    data = np.random.default_rng(5).normal(size=(3000, 4))
    lazy = la.Array(data)
    for threshold in (2.5, 10.0):
        rows = data[data[:, 0] > threshold]
        picked = lazy[lazy[:, 0] > threshold]
        for name, kwargs in [
            ("max", {"axis": 0}),
            ("min", {"axis": 1}),
            ("argmax", {"axis": 0}),
            ("max", {"axis": 0, "initial": 0.5}),
        ]:
            expected = _numpy(getattr(np, name), rows, **kwargs)
            reduced = getattr(picked, name)(**kwargs)
            if isinstance(expected, type):
                with pytest.raises(la.ComputeError, match=r"identity|empty sequence"):
                    reduced.compute(backend=backend, cache=False)
                continue
            kit.assert_exact(reduced.compute(backend=backend, cache=False), expected)


@pytest.mark.parametrize("initial", [1000, 200.0])
def test_initial_out_of_range_is_refused_as_numpy_refuses(initial: Any) -> None:
    lazy = la.Array(BIG.astype(np.int8))
    with pytest.raises(OverflowError):
        np.max(BIG.astype(np.int8), initial=initial)
    with pytest.raises(LazyArrayError, match="out of bounds"):
        lazy.max(initial=initial)


# --- float16 moments ----------------------------------------------------------------

HALF_CASES = [
    np.full((500, 400), 3.0, np.float16),  # numpy's float16 sum overflows: inf
    (np.random.default_rng(3).normal(size=(500, 400)) * 10 + 3).astype(np.float16),
    (np.random.default_rng(4).normal(size=(500, 400)) * 0.01).astype(np.float16),  # finite
    np.full((6, 5), 3.0, np.float16),
]


@pytest.mark.parametrize("index", range(len(HALF_CASES)))
def test_float16_moments_over_every_axis_are_numpys(index: int, backend: str) -> None:
    """numpy's float16 ``var``/``std``/``nanvar``/``nanstd``/``nanmean`` divide by the count
    in float64 (dask divided by a count above 65504 read as float16: inf, so inf / inf =
    NaN) and add up in float16 (dask's ``nanmean`` added up in float32: 3.0 for inf)."""
    data = HALF_CASES[index]
    cases = [
        (name, {"axis": axis, "ddof": ddof} if name != "nanmean" else {"axis": axis})
        for name in ("var", "std", "nanvar", "nanstd", "nanmean")
        for axis in (None, (0, 1), 0)
        for ddof in (0, 1)
    ]
    lazy = [getattr(la, name)(la.Array(data), **kwargs) for name, kwargs in cases]
    results = la.compute(*lazy, backend=backend, cache=False)
    for result, (name, kwargs) in zip(results, cases, strict=True):
        expected = getattr(np, name)(data, **kwargs)
        kit.assert_reduction(result, expected, name, data, **kwargs)


# --- nanvar with no degrees of freedom ------------------------------------------------


@pytest.mark.parametrize("shape", [(4, 1000), (500, 400)])
def test_nanvar_without_degrees_of_freedom_is_nan(shape: tuple[int, int], backend: str) -> None:
    """numpy's ``nanvar``/``nanstd`` are NaN where ``ddof`` >= the count (dask's were inf)."""
    data = np.random.default_rng(16).normal(size=shape)
    data[1, ::3] = np.nan
    rows, size = shape[0], data.size
    options = [(0, rows), (None, size), (0, rows + 1), (None, 1.5)]
    if size >= 200_000:  # the chunked paths: the edge cases only (1 KiB chunks are slow)
        options = options[:2]
    cases = [
        (name, {"axis": axis, "ddof": ddof})
        for name in ("nanvar", "nanstd")
        for axis, ddof in options
    ]
    lazy = [getattr(la, name)(la.Array(data), **kwargs) for name, kwargs in cases]
    results = la.compute(*lazy, backend=backend, cache=False)
    valid = np.ma.masked_invalid(data)  # the bound of the values nanvar reads
    for result, (name, kwargs) in zip(results, cases, strict=True):
        expected = getattr(np, name)(data, **kwargs)
        kit.assert_within(result, expected, kit.reduction_bound(name, valid, **kwargs))
