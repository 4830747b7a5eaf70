"""numpy.ma's ``sum``, ``mean``, ``var`` and ``std`` as array-module-neutral arithmetic,
so every backend computes them alike: same dtypes, same values, same masks as numpy.ma
(``numpy/ma/core.py``), quirks included. ``xp`` is the array module (numpy,
dask.array); ``total(values, valid, axis, keepdims)`` sums the valid values (numpy's
``where=``, or a masked fill for modules without it)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Total = Callable[[Any, Any, Any, bool], Any]


def masked_mean(
    xp: Any, total: Total, data: Any, valid: Any, axis: Any, keepdims: bool
) -> tuple[Any, Any]:
    """(mean, mask): numpy.ma's ``dsum * 1. / cnt``; along an axis numpy.ma's division
    also masks what is not finite (over a whole array it divides plain scalars)."""
    count = valid.sum(axis=axis, keepdims=keepdims)
    mean = total(data, valid, axis, keepdims) * 1.0 / count
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
    """(variance, mask), step by step as numpy.ma: the anomaly skips entries whose mean is
    masked; a masked quotient keeps its numerator; along an axis the mask is "nothing
    counted, or count - ddof <= 0", over the whole array the quotient's own mask."""
    count = valid.sum(axis=axis, keepdims=keepdims)
    degrees = count - ddof
    # ``mean``: this same array's masked_mean with keepdims, when a caller has it already
    mean, mean_masked = mean or masked_mean(xp, total, data, valid, axis, keepdims=True)
    usable = valid & ~mean_masked
    anomaly = data - mean
    anomaly = anomaly * anomaly
    summed = total(anomaly, usable, axis, keepdims)
    quotient = summed / degrees
    undefined = (usable.sum(axis=axis, keepdims=keepdims) == 0) | ~xp.isfinite(quotient)
    undefined = undefined | (degrees == 0)
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
    """numpy.ma's ``sqrt(var)``, whose sqrt masks (and keeps the input of) what is not
    finite."""
    variance, masked = masked_var(xp, total, data, valid, axis, keepdims, ddof, mean)
    root = xp.sqrt(variance)
    invalid = ~xp.isfinite(root) | (variance < 0)
    return xp.where(invalid, variance, root), masked | invalid
