"""Faster masked statistics: numpy.ma's ``sum``, ``mean``, ``var`` and ``std`` with the
same arithmetic, dtypes and masks, summing the data filled with 0 (numpy.ma's sums, pairwise
where numpy's are) without numpy.ma's masked temporaries. The statistics (``Trait.STATISTIC``)
reduce blocks of rows on the kernel threads (``lazyarray.runtime.masked_stats``), and a
plan's statistics of one array share its count and sum."""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from lazyarray.config import Options
from lazyarray.graph import Node
from lazyarray.runtime import masked_stats
from lazyarray.runtime.kernel import row_bounds, rows_per_block
from lazyarray_numpy.kernels import block_mapper

Axes = tuple[int, ...]


def _masked(value: Any, empty: Any) -> Any:
    if np.ndim(value) == 0:
        return np.ma.masked if bool(empty) else value
    return np.ma.MaskedArray(value, mask=empty)


def masked_sum(x: Any, axis: Any = None, keepdims: bool = False, dtype: Any = None) -> Any:
    """numpy.ma's sum of the data filled with 0, without its masked temporaries."""
    mask = np.ma.getmaskarray(x)
    total = np.sum(masked_stats.filled_zero(x), axis=axis, keepdims=keepdims, dtype=dtype)
    return _masked(total, mask.all(axis=axis, keepdims=keepdims))


# this backend's masked implementations, by op, in place of the rows' (numpy.ma's)
MASKED: dict[str, Callable[..., Any]] = {"sum": masked_sum}


class Scratch:
    """The blocks' temporaries, one buffer per thread, shape and dtype, reused from block
    to block. A temporary made per block is memory the allocator maps afresh (blocks
    are above glibc's mapping threshold) and the kernel zeroes and faults in: that took
    as long as the statistics themselves."""

    def __init__(self) -> None:
        self._local = threading.local()

    def __call__(self, shape: tuple[int, ...], dtype: Any) -> np.ndarray[Any, Any]:
        kept: dict[Any, np.ndarray[Any, Any]] = self._local.__dict__.setdefault("kept", {})
        key = (tuple(shape), np.dtype(dtype))
        found = kept.get(key)
        if found is None:
            found = kept[key] = np.empty(shape, dtype)
        return found


class MaskedStatistics:
    """The masked mean, var and std of one execution; the count, sum and mean of an
    array along some axes are computed once (a ``std`` next to a ``mean`` of the same
    data reuses them)."""

    def __init__(self, options: Options, check: Callable[[], None] | None = None) -> None:
        self.options = options
        self.check = check  # the job's cancellation check, before each block
        self.sums: dict[tuple[Node, Axes], tuple[Any, Any]] = {}
        self.means: dict[tuple[Node, Axes], Any] = {}
        self.scratch = Scratch()  # dropped with the execution

    def run(self, node: Node, x: Any) -> Any:
        axis = node.attr("axis")
        axes = tuple(range(np.ndim(x))) if axis is None else tuple(axis)
        keepdims = bool(node.attr("keepdims", False))
        key = (node.inputs[0], axes)
        if key not in self.sums:
            count = partial(masked_stats.valid_count, scratch=self.scratch)
            total = partial(masked_stats.valid_total, scratch=self.scratch)
            self.sums[key] = (
                _by_rows(self.options, count, axes, x, check=self.check),
                _by_rows(self.options, total, axes, x, check=self.check),
            )
        count, total = self.sums[key]
        statistic = masked_stats.STATISTICS[node.op]
        if not statistic.spread:
            return _masked(
                *masked_stats.finish(
                    partial(masked_stats.mean_from, dtype=x.dtype), axes, keepdims, count, total
                )
            )
        if key not in self.means:
            self.means[key] = masked_stats.kept_mean(count, total, x.dtype)
        mean = self.means[key]
        anomalies = partial(masked_stats.squared_anomalies, scratch=self.scratch)
        summed = _by_rows(self.options, anomalies, axes, x, mean, check=self.check)
        spread = partial(masked_stats.spread_from, statistic.root, node.attr("ddof") or 0)
        result = _masked(*masked_stats.finish(spread, axes, keepdims, count, mean, summed))
        if isinstance(result, np.ma.MaskedArray) and result.ndim:  # ``_update_from(self)``
            result._fill_value = getattr(x, "_fill_value", None)  # type: ignore[attr-defined]
        return result


def _by_rows(
    options: Options,
    chunk: Callable[..., Any],
    axes: Axes,
    x: Any,
    *others: Any,
    check: Callable[[], None] | None = None,
) -> Any:
    """``chunk``'s partial reduction of ``x`` (and ``others`` alongside), by blocks of
    about ``block_bytes`` of rows on the kernel threads: the partials of blocks add up
    when rows are reduced, and stack otherwise."""
    rows = x.shape[0] if np.ndim(x) else 0
    per_block = rows_per_block(options.block_bytes, x.itemsize * (x.size // max(rows, 1)))
    if rows <= per_block:
        return chunk(x, *others, axes=axes)

    def run(bounds: tuple[int, int]) -> Any:
        if check is not None:
            check()
        start, stop = bounds
        cut = [a if a.shape[0] == 1 else a[start:stop] for a in others]
        return chunk(x[start:stop], *cut, axes=axes)

    parts = block_mapper(options)(run, row_bounds(0, rows, per_block))
    if 0 in axes:
        return np.sum(np.concatenate(parts), axis=0, keepdims=True)
    return np.concatenate(parts)
