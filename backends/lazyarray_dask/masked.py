"""numpy.ma's masked ``mean``, ``var`` and ``std`` on dask, chunk by chunk: each chunk
reduces its valid values in one task (a count and a sum; for the spread, the squared
anomalies from the mean), dask adds the chunks' partials, and one task per result chunk
finishes with ``lazyarray.runtime.masked_stats``, exactly as the numpy backend does."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from lazyarray.runtime import masked_stats
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
        statistic = masked_stats.STATISTICS[op]
        if not statistic.spread:
            mean_from = partial(masked_stats.mean_from, dtype=x.dtype)
            return _finished(mean_from, dtype, axes, keepdims, count, total)
        mean = self._mean(x, key, axes)
        summed = _partials(masked_stats.squared_anomalies, axes, x, mean).sum(
            axis=axes, keepdims=True
        )
        spread = partial(masked_stats.spread_from, statistic.root, ddof)
        return _finished(spread, dtype, axes, keepdims, count, mean, summed)

    def _sums(self, x: Any, key: Any, axes: Axes) -> tuple[Any, Any]:
        if (key, axes) not in self.sums:
            self.sums[key, axes] = (
                _partials(masked_stats.valid_count, axes, x).sum(axis=axes, keepdims=True),
                _partials(masked_stats.valid_total, axes, x).sum(axis=axes, keepdims=True),
            )
        return self.sums[key, axes]

    def _mean(self, x: Any, key: Any, axes: Axes) -> Any:
        if (key, axes) not in self.means:
            count, total = self._sums(x, key, axes)
            kept_mean = partial(masked_stats.kept_mean, dtype=x.dtype)
            dtype = kept_mean(_tiny(count), _tiny(total)).dtype
            self.means[key, axes] = tasks.map_blocks(
                "masked-mean",
                kept_mean,
                count,
                total,
                dtype=dtype,
                meta=_meta(count.ndim, dtype),
            )
        return self.means[key, axes]


def _tiny(array: Any) -> Any:
    """A one-element stand-in for a dask array, to learn what a function makes of it."""
    return np.ma.MaskedArray(np.zeros((1,) * array.ndim, array.dtype))


def _meta(ndim: int, dtype: Any) -> Any:
    return np.ma.MaskedArray(np.empty((0,) * ndim, dtype))


def _partials(chunk: Callable[..., Any], axes: Axes, *arrays: Any) -> Any:
    """One task per chunk reducing ``axes`` with ``chunk``, keeping them (size 1)."""
    x = arrays[0]
    dtype = chunk(*map(_tiny, arrays), axes=axes).dtype
    chunks = tuple((1,) * len(c) if d in axes else c for d, c in enumerate(x.chunks))
    meta = np.empty((0,) * x.ndim, dtype)
    name = chunk.__name__.replace("_", "-")
    return tasks.map_blocks(name, chunk, *arrays, axes=axes, chunks=chunks, dtype=dtype, meta=meta)


def _finished(
    function: Callable[..., tuple[Any, Any]], dtype: Any, axes: Axes, keepdims: bool, *arrays: Any
) -> Any:
    """One task per chunk of the reduced results: numpy.ma's value and mask."""

    def run(*blocks: Any) -> Any:
        return np.ma.MaskedArray(*masked_stats.finish(function, axes, keepdims, *blocks))

    ndim = arrays[0].ndim - (0 if keepdims else len(axes))
    drop = () if keepdims else axes
    return tasks.map_blocks(
        "masked-statistic", run, *arrays, drop_axis=drop, dtype=dtype, meta=_meta(ndim, dtype)
    )
