"""Faster masked statistics: numpy.ma's ``sum``, ``mean``, ``var`` and ``std`` with the
same arithmetic and dtypes as numpy.ma (``numpy/ma/core.py``), but summing the data with
numpy's ``where=`` instead of building filled copies and masked temporaries. Results are
masked where numpy.ma masks them: nothing counted (``var``/``std``: count - ddof <= 0),
and where numpy.ma's own division made them infinite or NaN (it masks those; for
``mean`` only along an axis, since over a whole array it divides plain scalars)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np


def _masked(value: Any, empty: Any) -> Any:
    if np.ndim(value) == 0:
        return np.ma.masked if bool(empty) else value
    return np.ma.MaskedArray(value, mask=empty)


def _parts(x: Any, axis: Any, keepdims: bool) -> tuple[Any, Any, Any]:
    data = np.ma.getdata(x)
    valid = ~np.ma.getmaskarray(x)
    return data, valid, valid.sum(axis=axis, keepdims=keepdims)


def masked_sum(x: Any, axis: Any = None, keepdims: bool = False, dtype: Any = None) -> Any:
    data, valid, count = _parts(x, axis, keepdims)
    total = np.sum(data, axis=axis, keepdims=keepdims, where=valid, dtype=dtype)
    return _masked(total, count == 0)


def _mean(data: Any, valid: Any, count: Any, axis: Any, keepdims: bool) -> Any:
    with np.errstate(all="ignore"):  # numpy.ma: dsum * 1. / cnt
        return np.sum(data, axis=axis, keepdims=keepdims, where=valid) * 1.0 / count


def masked_mean(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    data, valid, count = _parts(x, axis, keepdims)
    mean = _mean(data, valid, count, axis, keepdims)
    empty = count == 0
    if np.ndim(mean):
        empty = empty | ~np.isfinite(mean)
    return _masked(mean, empty)


def _variance(x: Any, axis: Any, keepdims: bool, ddof: int) -> tuple[Any, Any]:
    """numpy.ma's ``var``, step by step: the anomaly skips entries whose mean is masked;
    a masked quotient keeps its numerator's data; along an axis the final mask is
    "all masked, or count - ddof <= 0"; over the whole array, the quotient's mask."""
    data, valid, count = _parts(x, axis, keepdims)
    degrees = count - ddof
    mean = masked_mean(x, axis, keepdims=True)
    usable = valid & ~np.ma.getmaskarray(mean)
    with np.errstate(all="ignore"):
        anomaly = data - np.ma.getdata(mean)
        anomaly *= anomaly
        total = np.sum(anomaly, axis=axis, keepdims=keepdims, where=usable)
        quotient = total / degrees
        undefined = (usable.sum(axis=axis, keepdims=keepdims) == 0) | ~np.isfinite(quotient)
        undefined = undefined | (degrees == 0)
        variance = np.where(undefined, total, quotient)
    if np.ndim(variance):
        return variance, (count == 0) | (degrees <= 0)
    return variance, undefined


def masked_var(x: Any, axis: Any = None, keepdims: bool = False, ddof: int = 0) -> Any:
    if np.iscomplexobj(x):
        return np.ma.MaskedArray(x).var(axis=axis, keepdims=keepdims, ddof=ddof)
    return _masked(*_variance(x, axis, keepdims, ddof))


def masked_std(x: Any, axis: Any = None, keepdims: bool = False, ddof: int = 0) -> Any:
    if np.iscomplexobj(x):
        return np.ma.MaskedArray(x).std(axis=axis, keepdims=keepdims, ddof=ddof)
    variance, masked = _variance(x, axis, keepdims, ddof)
    if np.ndim(variance) == 0 and bool(masked):
        return np.ma.masked
    with np.errstate(all="ignore"):  # numpy.ma's sqrt masks what is not finite
        root = np.sqrt(variance)
    invalid = ~np.isfinite(root) | (variance < 0)
    return _masked(np.where(invalid, variance, root), masked | invalid)


MASKED_REDUCTIONS: dict[str, Callable[..., Any]] = {
    "sum": masked_sum,
    "mean": masked_mean,
    "var": masked_var,
    "std": masked_std,
}
