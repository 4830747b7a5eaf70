"""numpy.ma's ``sum``, ``mean``, ``var`` and ``std`` as array-module-neutral arithmetic,
so every backend computes them alike: same dtypes, same values, same masks as numpy.ma
(``numpy/ma/core.py``), quirks included. ``xp`` is the array module (numpy,
dask.array); ``total(values, valid, axis, keepdims)`` sums the valid values (numpy's
``where=``, or a masked fill for modules without it).

Each statistic is split into its reductions and a ``*_from`` finish on their results, so
a backend that reduces its own way (chunk by chunk) finishes exactly as numpy.ma does."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Total = Callable[[Any, Any, Any, bool], Any]


def masked_mean(
    xp: Any, total: Total, data: Any, valid: Any, axis: Any, keepdims: bool
) -> tuple[Any, Any]:
    count = valid.sum(axis=axis, keepdims=keepdims)
    return mean_from(xp, count, total(data, valid, axis, keepdims))


def mean_from(xp: Any, count: Any, total: Any) -> tuple[Any, Any]:
    """(mean, mask) from the count and the sum of the valid values: numpy.ma's
    ``dsum * 1. / cnt``; a mean with dimensions (a masked division) also masks what is
    not finite; a scalar one divides plain numbers."""
    mean = total * 1.0 / count
    empty = count == 0
    if len(getattr(mean, "shape", ())):
        empty = empty | ~xp.isfinite(mean)
    return mean, empty


def masked_var(
    xp: Any,
    total: Total,
    data: Any,
    valid: Any,
    axis: Any,
    keepdims: bool,
    ddof: int,
    mean: tuple[Any, Any] | None = None,
) -> tuple[Any, Any]:
    """(variance, mask), step by step as numpy.ma. ``mean``: this same array's
    masked_mean with keepdims, when a caller has it already."""
    count = valid.sum(axis=axis, keepdims=keepdims)
    mean, mean_masked = mean or masked_mean(xp, total, data, valid, axis, keepdims=True)
    usable = valid & ~mean_masked  # the anomaly skips entries whose mean is masked
    anomaly = data - mean
    summed = total(anomaly * anomaly, usable, axis, keepdims)
    return var_from(xp, count, usable.sum(axis=axis, keepdims=keepdims), summed, ddof)


def var_from(xp: Any, count: Any, usable: Any, summed: Any, ddof: int) -> tuple[Any, Any]:
    """(variance, mask) from the count of valid values, the count of those whose mean is
    not masked (``usable``) and the sum of their squared anomalies: a masked quotient
    keeps its numerator; with dimensions the mask is "nothing counted, or count - ddof
    <= 0", as a scalar the quotient's own mask."""
    degrees = count - ddof
    quotient = summed / degrees
    undefined = (usable == 0) | ~xp.isfinite(quotient) | (degrees == 0)
    variance = xp.where(undefined, summed, quotient)
    if len(getattr(variance, "shape", ())):
        return variance, (count == 0) | (degrees <= 0)
    return variance, undefined


def masked_std(
    xp: Any,
    total: Total,
    data: Any,
    valid: Any,
    axis: Any,
    keepdims: bool,
    ddof: int,
    mean: tuple[Any, Any] | None = None,
) -> tuple[Any, Any]:
    return std_from(xp, *masked_var(xp, total, data, valid, axis, keepdims, ddof, mean))


def std_from(xp: Any, variance: Any, masked: Any) -> tuple[Any, Any]:
    """numpy.ma's ``sqrt(var)``, whose sqrt masks (and keeps the input of) what is not
    finite."""
    root = xp.sqrt(variance)
    invalid = ~xp.isfinite(root) | (variance < 0)
    return xp.where(invalid, variance, root), masked | invalid
