"""Every reduction and scan row against numpy and numpy.ma, over axes, keepdims, ddof."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import lazyarray as la
from lazyarray.errors import UnsupportedOperation
from lazyarray.ops import OPS, Kind
from tests import kit
from tests.cases import masked_sample, sample
from tests.conftest import assert_same

REDUCTIONS = sorted(n for n, row in OPS.items() if row.kind is Kind.REDUCTION)
SCANS = sorted(n for n, row in OPS.items() if row.kind is Kind.SCAN)
AXES = [None, 0, 1, -1, (0, 1), (1,)]
SINGLE_AXIS = {"argmin", "argmax"}


def numpy_reduction(name: str, x: Any, masked: bool, **kwargs: Any) -> Any:
    """The reference: numpy's function, or the numpy.ma method for masked input."""
    if name == "count":
        return np.ma.count(x, **kwargs)
    if masked:
        if name == "median":
            return np.ma.median(x, **kwargs)
        return getattr(x, name)(**kwargs)
    return getattr(np, name)(x, **kwargs)


def _compare(name: str, data: Any, backend: str, masked: bool, **kwargs: Any) -> None:
    lazy_input = la.MaskedArray(data) if masked else la.Array(data)
    try:
        expected = numpy_reduction(name, data, masked, **kwargs)
    except TypeError:
        with pytest.raises(TypeError):
            getattr(la, name)(lazy_input, **kwargs)
        return
    with la.config.set(backend="refuse", implicit_compute="error"):
        lazy = getattr(lazy_input, name)(**kwargs)
        assert lazy.shape == np.shape(expected), (name, kwargs)
        if expected is not np.ma.masked:
            assert lazy.dtype == np.asarray(expected).dtype, (name, kwargs, lazy.dtype)
    assert_same(
        lazy.compute(backend=backend), expected, bound=kit.reduction_bound(name, data, **kwargs)
    )


@pytest.mark.parametrize("name", REDUCTIONS)
@pytest.mark.parametrize("dtype", ["bool", "int32", "int64", "float32", "float64"])
def test_reductions_match_numpy(name: str, dtype: str, backend: str) -> None:
    data = sample(dtype)
    for axis in AXES:
        if name in SINGLE_AXIS and isinstance(axis, tuple):
            continue
        for keepdims in (False, True):
            _compare(name, data, backend, False, axis=axis, keepdims=keepdims)


@pytest.mark.parametrize("name", REDUCTIONS)
def test_masked_reductions_skip_masked_values(name: str, backend: str) -> None:
    data = masked_sample("float64")
    if backend == "dask" and name == "median":  # dask.array has no masked median
        big = la.MaskedArray(masked_sample("float64", (10, 10))).median(axis=0)  # not folded
        with pytest.raises(UnsupportedOperation, match="backend 'dask' cannot run op 'median'"):
            big.compute(backend=backend, cache=False)
        return
    for axis in AXES:
        if name in SINGLE_AXIS and isinstance(axis, tuple):
            continue
        _compare(name, data, backend, True, axis=axis)


@pytest.mark.parametrize("name", ["std", "var"])
@pytest.mark.parametrize("masked", [False, True])
def test_ddof(name: str, masked: bool, backend: str) -> None:
    data = masked_sample("float64") if masked else sample("float64")
    for ddof in (0, 1, 2):
        _compare(name, data, backend, masked, axis=0, ddof=ddof)


def test_fully_masked_reduction_is_masked(backend: str) -> None:
    x = la.MaskedArray(np.arange(3.0), mask=True)
    assert x.sum().compute(backend=backend) is np.ma.masked


def test_sum_with_dtype(backend: str) -> None:
    data = sample("int8")
    assert_same(la.Array(data).sum(dtype="int64").compute(backend=backend), data.sum(dtype="int64"))


@pytest.mark.parametrize("name", SCANS)
@pytest.mark.parametrize("dtype", ["bool", "int32", "float64"])
@pytest.mark.parametrize("axis", [None, 0, 1, -1])
def test_scans_match_numpy(name: str, dtype: str, axis: Any, backend: str) -> None:
    data = sample(dtype)
    expected = getattr(np, name)(data, axis=axis)
    lazy = getattr(la.Array(data), name)(axis=axis)
    assert lazy.shape == expected.shape and lazy.dtype == expected.dtype
    assert_same(lazy.compute(backend=backend), expected, bound=kit.scan_bound(name, data, axis))


@pytest.mark.parametrize("name", SCANS)
def test_masked_scans(name: str, backend: str) -> None:
    data = masked_sample("float64")
    expected = getattr(np.ma, name)(data, axis=0)
    result = getattr(la.MaskedArray(data), name)(axis=0).compute(backend=backend)
    assert_same(result, expected, bound=kit.scan_bound(name, data, 0))


@pytest.mark.parametrize("name", [*SCANS, "nancumsum", "nancumprod"])
@pytest.mark.parametrize("axis", [None, 0, -1])
def test_numpys_scans_of_a_0d_array_take_axis_0(name: str, axis: Any, backend: str) -> None:
    """numpy scans a 0-d array as its 1-element ravel, along axis 0 (or -1) too."""
    for data in (np.array(3.5), np.array(-2, np.int8), np.array(True)):
        expected = getattr(np, name)(data, axis=axis)
        for module in (np, la):
            lazy = getattr(module, name)(la.Array(data), axis=axis)
            assert lazy.shape == expected.shape and lazy.dtype == expected.dtype
            assert_same(lazy.compute(backend=backend), expected)
    big = np.arange(400_000) % 7  # a 0-d result of the planned path, scanned
    lazy = getattr(np, name)(la.Array(big).sum(), axis=axis)
    assert_same(lazy.compute(backend=backend), getattr(np, name)(big.sum(), axis=axis))
    if name in SCANS:  # numpy.ma's (it has no nancumsum)
        masked = np.ma.MaskedArray(3.5, mask=True)
        result = getattr(np, name)(la.MaskedArray(masked), axis=axis).compute(backend=backend)
        assert_same(result, getattr(np, name)(masked, axis=axis))
    with pytest.raises(np.exceptions.AxisError, match=r"axis 1 is out of bounds .* dimension 1"):
        getattr(np, name)(la.Array(np.array(3.5)), axis=1)


@pytest.mark.parametrize("name", ["cumulative_sum", "cumulative_prod"])
def test_the_standards_scans_of_a_0d_array_take_no_axis(name: str, backend: str) -> None:
    """The standard's axis lies in [-ndim, ndim): a 0-d array has none (numpy's own
    ``cumulative_sum`` takes 0); without one, the array is its 1-element ravel."""
    data = np.array(3.5)
    for initial in (False, True):
        expected = getattr(np, name)(data, include_initial=initial)
        result = getattr(la, name)(la.Array(data), include_initial=initial)
        assert_same(result.compute(backend=backend), expected)
    with pytest.raises(np.exceptions.AxisError, match=r"axis 0 is out of bounds .* dimension 0"):
        getattr(la, name)(la.Array(data), axis=0)


@pytest.mark.parametrize("axis", [2, -3, (0, 2)])
def test_bad_axis_fails_when_written(axis: Any) -> None:
    with pytest.raises(np.exceptions.AxisError, match="out of bounds for array of dimension 2"):
        la.Array(np.ones((2, 3))).sum(axis=axis)


def test_tuple_axis_refused_by_argmax() -> None:
    with pytest.raises(TypeError):
        la.Array(np.ones((2, 3))).argmax(axis=(0, 1))


def test_reductions_return_scalars() -> None:
    total = la.Array(np.arange(4)).sum()
    assert isinstance(total, la.Scalar)
    assert int(total) == 6 and float(total) == 6.0
