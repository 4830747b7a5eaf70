"""What "equal to numpy" means, per op family, written once (docs/testing.md); the
project's tests and the backend conformance suite both compare with it.

- Exact (bit for bit: dtype, shape, mask, values, NaN equal to NaN, -0.0 distinct from
  0.0): elementwise ops, indexing, shape ops, sorting, scans along one block, integer and
  boolean reductions, order statistics (min, max, argmin, argmax, median, percentile).
- Within a bound: floating reductions computed blockwise. numpy's pairwise sum of ``n``
  terms errs by about ``log2(n) * eps * sum|x|`` (along the innermost axis; across outer
  axes it adds one row after another: ``n * eps * sum|x|``); summing ``n_blocks`` partials
  adds about ``n_blocks * eps * sum|x|``. The bound is their sum, scaled to the op:
  divided by ``n`` for a mean, taken on ``mean(x**2)`` for a variance (its conditioning:
  the error of ``E|x - mean|**2`` follows the data's magnitude, not the variance), and
  through the square root for a standard deviation
  (``|sqrt(a) - sqrt(b)| <= sqrt(|a - b|)``, so a constant column's std, which numpy
  itself gets wrong by cancellation, is compared within what the data allows, never to
  numpy's value exactly).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

import lazyarray as la

# op families, by the comparison they get
EXACT_REDUCTIONS = frozenset(
    {"min", "max", "argmin", "argmax", "median", "percentile", "quantile", "any", "all", "count"}
)
SUM_LIKE = frozenset({"sum", "mean", "nansum", "nanmean"})
MOMENTS = frozenset({"var", "std", "nanvar", "nanstd"})
PRODUCTS = frozenset({"prod", "nanprod"})
SCANS = frozenset({"cumsum", "cumprod"})


# --- exact ---------------------------------------------------------------------------


def assert_exact(actual: Any, expected: Any) -> None:
    """dtype, shape, mask and every value equal; NaN equal to NaN, -0.0 distinct from 0.0."""
    if is_masked(expected):
        actual_data, expected_data = masked_parts(actual, expected)
        assert_exact(actual_data, expected_data)
        return
    actual, expected = as_arrays(actual, expected)
    np.testing.assert_array_equal(actual, expected, strict=True)
    if expected.dtype.kind in "fc":
        for part in (np.real, np.imag) if expected.dtype.kind == "c" else (np.asarray,):
            np.testing.assert_array_equal(
                np.signbit(part(actual)), np.signbit(part(expected)), err_msg="sign of zero"
            )


# --- within a bound ------------------------------------------------------------------


def assert_within(actual: Any, expected: Any, bound: Any) -> None:
    """dtype, shape and mask equal; finite values within ``bound`` (an array broadcast to
    the result), the others (NaN, inf) exact."""
    if is_masked(expected):
        actual, expected = masked_parts(actual, expected)
    actual, expected = as_arrays(actual, expected)
    assert actual.dtype == expected.dtype, (actual.dtype, expected.dtype)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    if expected.dtype.kind not in "fc":
        np.testing.assert_array_equal(actual, expected)
        return
    bound = np.broadcast_to(np.asarray(bound, dtype=np.float64), expected.shape)
    finite = np.isfinite(expected) & np.isfinite(bound)
    np.testing.assert_array_equal(actual[~finite], expected[~finite], err_msg="non-finite")
    with np.errstate(all="ignore"):
        error = np.abs(actual[finite].astype(np.complex128) - expected[finite]).real
    excess = error > bound[finite]
    if excess.any():
        where = np.flatnonzero(excess)[:5]
        raise AssertionError(
            f"{int(excess.sum())} of {error.size} values outside the bound: "
            f"errors {error[where]} > bounds {bound[finite][where]} "
            f"(actual {actual[finite][where]}, expected {expected[finite][where]})"
        )


def blocks(count: int, itemsize: int) -> int:
    """How many partial results a reduction of ``count`` elements may combine in the
    options in force: blocks of ``block_bytes``, chunks of ``dask_chunk_bytes``."""
    options = la.config.snapshot()
    size = max(1, min(options.block_bytes, options.dask_chunk_bytes) // max(itemsize, 1))
    return max(1, math.ceil(count / size)) + 1


def sum_factor(count: int, itemsize: int, pairwise: bool = True) -> float:
    """The multiple of ``eps * sum|x|`` a blockwise sum of ``count`` terms may err by,
    plus numpy's own error: pairwise along the innermost axis (``log2(count)``), one
    row after another across the others (``count``)."""
    own = math.ceil(math.log2(max(count, 2))) if pairwise else count
    return float(blocks(count, itemsize) + own + 2)


def _pairwise(data: Any, axis: Any) -> bool:
    """Whether numpy sums this reduction pairwise: one that takes in the innermost axis
    longer than 1 (or every axis); a reduction along outer axes alone adds row by row."""
    shape = np.shape(data)
    longer = [i for i, n in enumerate(shape) if n > 1]
    if axis is None or not longer:
        return True
    axes = axis if isinstance(axis, tuple) else (axis,)
    return longer[-1] in {int(a) % len(shape) for a in axes}


def reduction_bound(
    name: str,
    data: Any,
    axis: Any = None,
    keepdims: bool = False,
    ddof: int = 0,
    dtype: Any = None,
    **_: Any,
) -> np.ndarray[Any, Any] | None:
    """The bound on a blockwise ``name`` of ``data`` (numpy or numpy.ma), or None where
    the result must be exact."""
    result_dtype = np.result_type(_reference(name, data, axis, dtype))
    if name in EXACT_REDUCTIONS or result_dtype.kind not in "fc" or name not in _BOUNDS:
        return None
    values = np.ma.getdata(data).astype(np.complex128 if result_dtype.kind == "c" else float)
    valid = ~np.ma.getmaskarray(data) if is_masked(data) else np.ones(values.shape, bool)
    values = np.where(valid, values, 0)
    count = np.sum(valid, axis=axis, keepdims=keepdims)
    axes_size = max(int(np.max(count, initial=1)), 1)
    factor = sum_factor(axes_size, np.dtype(result_dtype).itemsize, _pairwise(data, axis))
    eps = float(np.finfo(result_dtype).eps)
    with np.errstate(all="ignore"):
        bound = _BOUNDS[name](values, valid, count, axis, keepdims, ddof, factor * eps)
    return np.asarray(bound)


def _sum_bound(
    values: Any, valid: Any, count: Any, axis: Any, keep: bool, ddof: int, k: float
) -> Any:
    return k * np.sum(np.abs(values), axis=axis, keepdims=keep)


def _mean_bound(
    values: Any, valid: Any, count: Any, axis: Any, keep: bool, ddof: int, k: float
) -> Any:
    return _sum_bound(values, valid, count, axis, keep, ddof, 2 * k) / np.maximum(count, 1)


def _var_bound(
    values: Any, valid: Any, count: Any, axis: Any, keep: bool, ddof: int, k: float
) -> Any:
    square = np.sum(np.abs(values) ** 2, axis=axis, keepdims=keep)  # the data's magnitude
    return 4 * k * square / np.maximum(count - ddof, 1)


def _std_bound(
    values: Any, valid: Any, count: Any, axis: Any, keep: bool, ddof: int, k: float
) -> Any:
    var_bound = _var_bound(values, valid, count, axis, keep, ddof, k)
    mean = np.sum(values, axis=axis, keepdims=True) / np.maximum(
        np.sum(valid, axis=axis, keepdims=True), 1
    )
    var = np.sum(np.abs(values - mean) ** 2 * valid, axis=axis, keepdims=keep)
    var = var / np.maximum(count - ddof, 1)
    below = np.sqrt(np.maximum(var - var_bound, 0))
    through_root = var_bound / np.maximum(np.sqrt(var) + below, np.finfo(float).tiny)
    return np.minimum(np.sqrt(var_bound), through_root) + k * np.sqrt(var)


def _prod_bound(
    values: Any, valid: Any, count: Any, axis: Any, keep: bool, ddof: int, k: float
) -> Any:
    magnitude = np.prod(np.where(valid, np.abs(values), 1), axis=axis, keepdims=keep)
    return (np.maximum(count, 1) + k) * k * magnitude


_BOUNDS: dict[str, Callable[..., Any]] = {
    "sum": _sum_bound,
    "nansum": _sum_bound,
    "mean": _mean_bound,
    "nanmean": _mean_bound,
    "var": _var_bound,
    "nanvar": _var_bound,
    "std": _std_bound,
    "nanstd": _std_bound,
    "prod": _prod_bound,
    "nanprod": _prod_bound,
}


def assert_reduction(actual: Any, expected: Any, name: str, data: Any, **kwargs: Any) -> None:
    """``name(data, **kwargs)``: exact, or within its blockwise bound (module docstring)."""
    bound = reduction_bound(name, data, **kwargs)
    if bound is None:
        assert_exact(actual, expected)
    else:
        assert_within(actual, expected, bound)


def assert_equal(actual: Any, expected: Any, bound: Any = None) -> None:
    """Exact, or within ``bound`` where given (``reduction_bound``, ``scan_bound``,
    ``products_bound``; None: exact)."""
    if bound is None:
        assert_exact(actual, expected)
    else:
        assert_within(actual, expected, bound)


def scan_bound(name: str, data: Any, axis: Any = None) -> np.ndarray[Any, Any] | None:
    """A scan across blocks: each prefix within the bound of its own sum (or product)."""
    dtype = np.result_type(getattr(np, name)(np.ma.getdata(data)[..., :0], axis=axis))
    if dtype.kind not in "fc":
        return None
    neutral = 0 if name == "cumsum" else 1  # what numpy.ma puts in place of masked values
    values = np.abs(np.ma.filled(data, neutral) if is_masked(data) else np.asarray(data))
    values = values.ravel() if axis is None else values
    count = values.size if axis is None else values.shape[axis]
    k = sum_factor(count, dtype.itemsize) * float(np.finfo(dtype).eps)
    with np.errstate(all="ignore"):
        if name == "cumsum":
            return k * np.cumsum(values, axis=0 if axis is None else axis)
        return (count + k) * k * np.cumprod(values, axis=0 if axis is None else axis)


def products_bound(function: Callable[..., Any], *operands: Any, terms: int) -> Any:
    """A sum of products (matmul, dot, einsum) of ``terms`` terms: ``function`` of the
    operands' magnitudes, times the summation factor."""
    dtype = np.result_type(*operands)
    if dtype.kind not in "fc":
        return 0
    k = sum_factor(terms, dtype.itemsize) * float(np.finfo(dtype).eps)
    magnitudes = [np.abs(np.asarray(op, dtype=np.complex128)).real for op in operands]
    return k * np.asarray(function(*magnitudes))


# --- helpers -------------------------------------------------------------------------


def is_masked(value: Any) -> bool:
    return isinstance(value, np.ma.MaskedArray) or value is np.ma.masked


def masked_parts(actual: Any, expected: Any) -> tuple[Any, Any]:
    """The data to compare of two masked results, once their masks are equal."""
    if expected is np.ma.masked:
        assert actual is np.ma.masked, actual
        return np.zeros(()), np.zeros(())
    assert isinstance(actual, np.ma.MaskedArray), type(actual)
    mask = np.ma.getmaskarray(expected)
    np.testing.assert_array_equal(np.ma.getmaskarray(actual), mask, err_msg="mask")
    data, wanted = np.ma.getdata(actual).copy(), np.ma.getdata(expected).copy()
    if data.shape == mask.shape and data.ndim:
        data[mask] = 0
        wanted[mask] = 0
    elif mask.all():
        return np.zeros((), data.dtype), np.zeros((), wanted.dtype)
    return data, wanted


def as_arrays(actual: Any, expected: Any) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.dtype == expected.dtype, (actual.dtype, expected.dtype)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    return actual, expected


def _reference(name: str, data: Any, axis: Any, dtype: Any) -> Any:
    """numpy's result of ``name`` on an empty slice of ``data``: its dtype, cheaply."""
    empty = np.ma.getdata(data).reshape(-1)[:1]
    function = getattr(np, name, None)
    if function is None:
        return empty
    with np.errstate(all="ignore"):
        kwargs = {"dtype": dtype} if dtype is not None and name in SUM_LIKE | PRODUCTS else {}
        return function(empty, **kwargs)


__all__ = [
    "EXACT_REDUCTIONS",
    "MOMENTS",
    "PRODUCTS",
    "SCANS",
    "SUM_LIKE",
    "as_arrays",
    "assert_equal",
    "assert_exact",
    "assert_reduction",
    "assert_within",
    "blocks",
    "is_masked",
    "masked_parts",
    "products_bound",
    "reduction_bound",
    "scan_bound",
    "sum_factor",
]
