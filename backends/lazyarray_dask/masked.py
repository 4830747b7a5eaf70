"""numpy.ma's masked ``mean``, ``var`` and ``std`` on dask, chunk by chunk: each chunk
reduces its valid values in one task (a count and a sum; for the spread, the squared
anomalies from the mean), dask adds the chunks' partials, and one task per result chunk
finishes with ``lazyarray.ops.masked_stats``, exactly as the numpy backend does."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from lazyarray.ops import masked_stats
from lazyarray_dask import tasks

Axes = tuple[int, ...]


class MaskedStatistics:
    """Lowers the masked statistics of one plan; the sums and the mean of an array
    along some axes are built once and shared (a ``std`` next to a ``mean`` of the same
    data reuses them)."""

    def __init__(self) -> None:
        self.sums: dict[tuple[Any, Axes], tuple[Any, Any]] = {}
        self.means: dict[tuple[Any, Axes], Any] = {}

    def lower(
        self, op: str, x: Any, key: Any, axes: Axes, keepdims: bool, ddof: int, dtype: Any
    ) -> Any:
        count, total = self._sums(x, key, axes)
        if op == "mean":
            finish = _finishing(axes, keepdims, lambda n, t: masked_stats.mean_from(np, n, t))
            return _reduced(finish, dtype, axes, keepdims, count, total)
        mean = self._mean(x, key, axes)
        squares = _partials(_squared_anomalies, axes, x, mean).sum(axis=axes, keepdims=True)

        def spread(n: Any, masked_mean: Any, summed: Any) -> tuple[Any, Any]:
            usable = np.where(np.ma.getmaskarray(masked_mean), 0, n)
            variance = masked_stats.var_from(np, n, usable.reshape(n.shape), summed, ddof)
            return masked_stats.std_from(np, *variance) if op == "std" else variance

        finish = _finishing(axes, keepdims, spread)
        return _reduced(finish, dtype, axes, keepdims, count, mean, squares)

    def _sums(self, x: Any, key: Any, axes: Axes) -> tuple[Any, Any]:
        if (key, axes) not in self.sums:
            count = _partials(_valid_count, axes, x).sum(axis=axes, keepdims=True)
            total = _partials(_valid_total, axes, x).sum(axis=axes, keepdims=True)
            self.sums[key, axes] = count, total
        return self.sums[key, axes]

    def _mean(self, x: Any, key: Any, axes: Axes) -> Any:
        """The mean with kept dimensions, masked: what numpy.ma's ``var`` subtracts."""
        if (key, axes) not in self.means:
            count, total = self._sums(x, key, axes)
            finish = _finishing(axes, True, lambda n, t: masked_stats.mean_from(np, n, t))
            dtype = finish(_tiny(count), _tiny(total)).dtype
            self.means[key, axes] = _reduced(finish, dtype, axes, True, count, total)
        return self.means[key, axes]


def _tiny(array: Any) -> Any:
    """A one-element stand-in for a dask array, to learn what a function makes of it."""
    return np.ma.MaskedArray(np.zeros((1,) * array.ndim, array.dtype))


def _partials(chunk: Callable[..., Any], axes: Axes, *arrays: Any) -> Any:
    """One task per chunk reducing ``axes`` with ``chunk``, keeping them (size 1)."""
    x = arrays[0]
    dtype = chunk(*map(_tiny, arrays), axes=axes).dtype
    chunks = tuple((1,) * len(c) if d in axes else c for d, c in enumerate(x.chunks))
    meta = np.empty((0,) * x.ndim, dtype)
    return tasks.map_blocks(
        chunk.__name__.strip("_"), chunk, *arrays, axes=axes, chunks=chunks, dtype=dtype, meta=meta
    )


def _valid_count(block: Any, axes: Axes) -> Any:
    return (~np.ma.getmaskarray(block)).sum(axis=axes, keepdims=True)


def _valid_total(block: Any, axes: Axes) -> Any:
    valid = ~np.ma.getmaskarray(block)
    return np.sum(np.ma.getdata(block), axis=axes, keepdims=True, where=valid)


def _squared_anomalies(block: Any, mean: Any, axes: Axes) -> Any:
    """Sum of the squared distances from the mean of the values whose mean is not
    masked (numpy.ma takes ``|anomaly| ** 2`` of complex values)."""
    usable = ~np.ma.getmaskarray(block) & ~np.ma.getmaskarray(mean)
    with np.errstate(all="ignore"):
        anomaly = np.ma.getdata(block) - np.ma.getdata(mean)
        squared = np.absolute(anomaly) ** 2 if np.iscomplexobj(anomaly) else anomaly * anomaly
        return np.sum(squared, axis=axes, keepdims=True, where=usable)


def _finishing(
    axes: Axes, keepdims: bool, finish: Callable[..., tuple[Any, Any]]
) -> Callable[..., Any]:
    """A task finishing one chunk of reduced values (kept dimensions in) as numpy.ma's
    result: the reduced axes dropped unless kept, then (value, mask) from ``finish``."""

    def run(*blocks: Any) -> Any:
        if not keepdims:
            shape = tuple(n for d, n in enumerate(blocks[0].shape) if d not in axes)
            blocks = tuple(b.reshape(shape) for b in blocks)
        with np.errstate(all="ignore"):
            value, mask = finish(*blocks)
        return np.ma.MaskedArray(value, mask=mask)

    return run


def _reduced(
    finish: Callable[..., Any], dtype: Any, axes: Axes, keepdims: bool, *arrays: Any
) -> Any:
    ndim = arrays[0].ndim - (0 if keepdims else len(axes))
    meta = np.ma.MaskedArray(np.empty((0,) * ndim, dtype))
    drop = () if keepdims else axes
    return tasks.map_blocks(
        "masked-statistic", finish, *arrays, drop_axis=drop, dtype=dtype, meta=meta
    )
