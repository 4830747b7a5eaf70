"""Reductions and scans on dask.array: its own tree reductions (``da.<name>``), with the
accumulator dtypes numpy uses, and the few reductions dask spells differently."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import dask.array as da
import numpy as np

from lazyarray.ops import OPS, Trait
from lazyarray.ops.reductions import statistic_accumulator
from lazyarray.runtime.masked_stats import STATISTICS

Reduce = Callable[[Any, Any, bool, bool], Any]
"""(array, axis, keepdims, masked) -> the reduced dask array."""


def dask_function(op: str) -> Any:
    """dask.array's function of the same name as the op, or None."""
    return getattr(da, op, None)


def reduce(op: str, x: Any, attrs: Mapping[str, Any], masked: bool) -> Any:
    """Reduction ``op`` of the dask array ``x`` with the node's attributes."""
    kwargs = dict(attrs)
    axis = kwargs.pop("axis", None)
    keepdims = kwargs.pop("keepdims", False)
    own = REDUCTIONS.get(op)
    if own is not None:
        return own(x, axis, keepdims, masked)
    function = dask_function(op)
    if Trait.STATISTIC in OPS[op].traits and kwargs.get("dtype") is None:
        statistic = STATISTICS[op]
        if x.dtype == np.float16 and statistic.spread:
            return _float16_spread(x, axis, keepdims, kwargs.get("ddof") or 0, statistic.root)
        kwargs["dtype"] = statistic_accumulator(x.dtype)  # as numpy: float64 for integers
        if x.dtype == np.float16:  # numpy's float16 mean adds up in float32
            return function(x, axis=axis, keepdims=keepdims, **kwargs).astype(np.float16)
    return function(x, axis=axis, keepdims=keepdims, **kwargs)


def _float16_spread(x: Any, axis: Any, keepdims: bool, ddof: int, root: bool) -> Any:
    """numpy's float16 ``var`` and ``std``, which add up in float16 (overflowing to inf
    where numpy does; dask's moment-combining would give nan): the mean, then the sum
    of squared deviations from it (``numpy/_core/_methods.py`` ``_var``). numpy divides
    by its count (an intp) in float64 and casts back: a count above float16's largest
    value (65504) is no inf."""
    axes = tuple(range(x.ndim)) if axis is None else axis
    count = np.intp(math.prod(x.shape[a] for a in axes))
    mean = (da.sum(x, axis=axes, keepdims=True) / count).astype(np.float16)
    deviation = x - mean
    squares = da.sum(deviation * deviation, axis=axes, keepdims=keepdims)
    variance = (squares / np.maximum(count - ddof, 0)).astype(np.float16)
    return da.sqrt(variance) if root else variance


def _arg(name: str) -> Reduce:
    def arg(x: Any, axis: Any, keepdims: bool, masked: bool) -> Any:
        function = getattr(da, name)
        if axis is None and x.ndim > 1:  # dask breaks ties across 2-d chunks in chunk order
            flat = function(x.ravel(), axis=0)
            return flat.reshape((1,) * x.ndim) if keepdims else flat
        return function(x, axis=axis, keepdims=keepdims)

    return arg


def _median(x: Any, axis: Any, keepdims: bool, masked: bool) -> Any:
    if axis is None or len(axis) == x.ndim:
        flat = da.median(x.ravel(), axis=0)
        return flat.reshape((1,) * x.ndim) if keepdims else flat
    return da.median(x, axis=axis, keepdims=keepdims)


def _count(x: Any, axis: Any, keepdims: bool, masked: bool) -> Any:
    if masked:
        return da.ma.count(x, axis=axis, keepdims=keepdims)
    return da.ones_like(x, dtype=np.intp).sum(axis=axis, keepdims=keepdims)


# the reductions dask spells differently from ``da.<name>(x, axis, keepdims)``, by op
REDUCTIONS: dict[str, Reduce] = {
    "argmin": _arg("argmin"),
    "argmax": _arg("argmax"),
    "median": _median,
    "count": _count,
}


def lowers(op: str) -> bool:
    """Whether ``reduce`` has a way to reduce by ``op``."""
    return op in REDUCTIONS or dask_function(op) is not None
