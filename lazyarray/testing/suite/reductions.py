"""Every reduction and scan row against numpy and numpy.ma, generated from the op table:
over every axis, with keepdims, ``dtype=`` and ``ddof=`` where numpy takes them, compared
exactly or within the blockwise bound ``lazyarray.testing.equal`` derives."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import lazyarray as la
from lazyarray.backend import Backend
from lazyarray.ops import OPS, Kind
from lazyarray.testing.equal import reduction_bound, scan_bound
from lazyarray.testing.refusing import refusing
from lazyarray.testing.samples import masked_sample, sample
from lazyarray.testing.suite.harness import compare, described, method_call, wrap

REDUCTIONS = sorted(name for name, row in OPS.items() if row.kind is Kind.REDUCTION)
SCANS = sorted(name for name, row in OPS.items() if row.kind is Kind.SCAN)
AXES: list[Any] = [None, 0, 1, -1, (0, 1), (1,)]
DTYPES = ["bool", "int32", "int64", "float32", "float64"]


def numpy_reduction(name: str, data: Any, **kwargs: Any) -> Any:
    """The reference: numpy.ma's function for masked data, numpy's otherwise (numpy.ma's
    where numpy has none, as for ``count``)."""
    masked = isinstance(data, np.ma.MaskedArray)
    modules = (np.ma, np) if masked else (np, np.ma)
    function = next(getattr(m, name) for m in modules if hasattr(m, name))
    return function(data, **kwargs)


def check_reduction(name: str, data: Any, backend: Backend, **kwargs: Any) -> None:
    """``data.name(**kwargs)`` against numpy, exactly or within its bound; what numpy
    refuses (a tuple axis for ``argmax``) is refused when written."""
    try:
        expected = numpy_reduction(name, data, **kwargs)
    except TypeError:
        with refusing(), pytest.raises(TypeError):
            getattr(wrap(data), name)(**kwargs)
        return
    bound = reduction_bound(name, data, **kwargs)
    compare(lambda: getattr(wrap(data), name)(**kwargs), expected, backend, bound)


def _accepts(name: str, data: Any, **kwargs: Any) -> bool:
    """Whether numpy takes these keywords for ``name``."""
    try:
        numpy_reduction(name, data, **kwargs)
    except TypeError:
        return False
    return True


class TestReductions:
    @pytest.mark.parametrize("name", REDUCTIONS)
    def test_row(self, name: str, backend_under_test: Backend, mode: str) -> None:
        for dtype in DTYPES:
            data = sample(dtype)
            for axis in AXES:
                for keepdims in (False, True):
                    with described(dtype=dtype, axis=axis, keepdims=keepdims):
                        check_reduction(
                            name, data, backend_under_test, axis=axis, keepdims=keepdims
                        )

    @pytest.mark.parametrize("name", REDUCTIONS)
    def test_keywords(self, name: str, backend_under_test: Backend, mode: str) -> None:
        """``dtype=`` and ``ddof=``, for the rows whose numpy function takes them."""
        cases: list[tuple[str, dict[str, Any]]] = [
            ("int8", {"dtype": "int64"}),
            ("float32", {"dtype": "float64", "axis": 0}),
            ("float64", {"ddof": 1}),
            ("float64", {"ddof": 2, "axis": 1}),
        ]
        tried = 0
        for dtype, kwargs in cases:
            data = sample(dtype)
            if _accepts(name, data, **kwargs):
                tried += 1
                with described(data=dtype, **kwargs):
                    check_reduction(name, data, backend_under_test, **kwargs)
        if not tried:
            pytest.skip(f"numpy's {name} takes neither dtype= nor ddof=")

    @pytest.mark.parametrize("name", REDUCTIONS)
    def test_masked_row(self, name: str, backend_under_test: Backend, mode: str) -> None:
        data = masked_sample("float64")
        for axis in AXES:
            with described(axis=axis):
                check_reduction(name, data, backend_under_test, axis=axis)
        if _accepts(name, data, ddof=1):
            check_reduction(name, data, backend_under_test, axis=0, ddof=1)
        empty = np.ma.MaskedArray(np.arange(3.0), mask=True)  # nothing left to reduce
        with described(fully_masked=True):
            check_reduction(name, empty, backend_under_test)


class TestScans:
    @pytest.mark.parametrize("name", SCANS)
    def test_row(self, name: str, backend_under_test: Backend, mode: str) -> None:
        for dtype in ("bool", "int32", "float64"):
            data = sample(dtype)
            for axis in (None, 0, 1, -1):
                with described(dtype=dtype, axis=axis):
                    compare(
                        method_call(la.Array, data, name, axis=axis),
                        getattr(np, name)(data, axis=axis),
                        backend_under_test,
                        scan_bound(name, data, axis),
                    )

    @pytest.mark.parametrize("name", SCANS)
    def test_masked_row(self, name: str, backend_under_test: Backend, mode: str) -> None:
        data = masked_sample("float64")
        for axis in (None, 0, 1):
            with described(axis=axis):
                compare(
                    method_call(la.MaskedArray, data, name, axis=axis),
                    getattr(np.ma, name)(data, axis=axis),
                    backend_under_test,
                    scan_bound(name, data, axis),
                )


__all__ = ["TestReductions", "TestScans", "check_reduction", "numpy_reduction"]
