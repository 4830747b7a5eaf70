"""Lowering numpy's statistics (``lazyarray/ops/statistics.py``) to dask.array.

Sums that skip NaN use dask.array's own tree reductions (``nansum``, ``nanprod``), means
and spreads numpy's own steps on dask's sums (``_nanmean``, ``_nanvar``), within the
blockwise bound of ``tests/kit.py``. Order
statistics stay exact: extremes and arg-extremes combine exactly; medians and quantiles
rechunk the reduced axes into one chunk and run numpy's own function on each block
(``along``), which dask's ``quantile`` also does but with q fixed and, for
``nanquantile``, an algorithm of its own. Histogram counts run numpy's ``histogram``
per chunk (``da.histogram``) with numpy's range and edges, so they are exact; weighted
counts add up within the bound. Inputs with no elements, and values that are not dask
arrays, run the row's numpy implementation itself.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import dask.array as da
import numpy as np

from lazyarray.errors import ComputeError
from lazyarray.graph import Node
from lazyarray.ops import OPS
from lazyarray.ops.reductions import statistic_accumulator
from lazyarray.ops.statistics import histogram_inputs
from lazyarray_dask import tasks
from lazyarray_dask.chunks import is_dask as _is_dask
from lazyarray_dask.chunks import known_chunks as _known
from lazyarray_dask.chunks import meta as _meta
from lazyarray_dask.reduce import reduce as _reduce

Lowering = Callable[[Node, list[Any]], Any]
Axes = tuple[int, ...]


def _axes(node: Node, ndim: int) -> Axes:
    axis = node.attr("axis")
    if axis is None:
        return tuple(range(ndim))
    return (axis,) if isinstance(axis, int) else tuple(axis)


def _masked(node: Node) -> bool:
    return node.type.masked or any(child.type.masked for child in node.inputs)


def _failing(node: Node, error: BaseException) -> ComputeError:
    return ComputeError.wrapping(error, node.op, node.site_text)


def _eager(node: Node, inputs: list[Any]) -> Any:
    """The row's numpy implementation on concrete values (small, or empty)."""
    values = [v.compute() if _is_dask(v) else v for v in inputs]
    try:
        return OPS[node.op].implementation(_masked(node))(*values, **node.kwargs)
    except Exception as exc:
        raise _failing(node, exc) from exc


def _lowering(function: Lowering) -> Lowering:
    """``function`` for dask inputs with elements; the row's implementation otherwise."""

    def lower(node: Node, inputs: list[Any]) -> Any:
        arrays = [v for v in inputs if _is_dask(v)]
        if not arrays or any(a.size == 0 for a in arrays):
            return _eager(node, inputs)
        return function(node, inputs)

    return lower


def _as_dask(value: Any, like: Any) -> Any:
    """A literal input as a dask array cut like ``like`` (same shape) or whole."""
    if _is_dask(value):
        return value.rechunk(like.chunks) if value.shape == like.shape else value
    array = np.asarray(value)
    chunks = like.chunks if array.shape == like.shape else tuple((n,) for n in array.shape)
    return tasks.from_array(array, chunks=chunks)


def along(
    node: Node,
    x: Any,
    function: Callable[..., Any],
    *extra: Any,
    lead: tuple[int, ...] = (),
) -> Any:
    """``function(block, *extra)`` on blocks that hold every reduced axis whole: numpy's
    own algorithm, exactly. ``extra`` are whole dask arrays, or arrays cut like ``x``;
    ``lead`` the sizes of the leading dimensions the function adds (``q``'s). The other
    axes are cut anew to dask's chunk size, as dask's own ``median`` does."""
    axes = _axes(node, x.ndim)
    keepdims = bool(node.attr("keepdims", False))
    x = _known(x)
    if any(len(x.chunks[a]) > 1 for a in axes):
        x = x.rechunk({a: -1 if a in axes else "auto" for a in range(x.ndim)})
    index = tuple(f"d{d}" for d in range(x.ndim))  # dask sorts the names
    arguments: list[Any] = [x, index]
    for i, value in enumerate(extra):
        if value.shape == x.shape:
            arguments += [value.rechunk(x.chunks), index]
        else:
            whole = value.rechunk(-1) if value.ndim else value
            arguments += [whole, tuple(f"extra{i}.{d}" for d in range(value.ndim))]
    new = {f"lead{d}": size for d, size in enumerate(lead)}
    kept = tuple(name for d, name in enumerate(index) if keepdims or d not in axes)
    site, op = node.site_text, node.op

    def run(block: Any, *others: Any) -> Any:
        try:
            return function(block, *others)
        except Exception as exc:
            raise ComputeError.wrapping(exc, op, site) from exc

    return da.blockwise(
        run,
        (*new, *kept),
        *arguments,
        new_axes=new,
        adjust_chunks={index[a]: (lambda _: 1) for a in axes} if keepdims else None,
        concatenate=True,
        dtype=node.type.dtype,
        meta=_meta(node),
    )


def _numpy_along(node: Node, inputs: list[Any]) -> Any:
    """The row's numpy implementation along the reduced axes (medians, masked ``ptp``)."""
    implementation = OPS[node.op].implementation(_masked(node))
    attrs = node.kwargs
    return along(node, inputs[0], lambda block: implementation(block, **attrs))


def _checked(node: Node, result: Any, bad: Any, error: BaseException) -> Any:
    """``result``, failing with ``error`` (as numpy raises it) where ``bad`` holds."""
    site, op = node.site_text, node.op

    def check(block: Any, flags: Any) -> Any:
        if np.any(flags):
            raise ComputeError.wrapping(error, op, site) from error
        return block

    flag = da.any(bad)
    return da.map_blocks(check, result, flag, dtype=result.dtype, meta=_meta(node))


def _warning(result: Any, message: str) -> Any:
    """``result``, warning as numpy does where it holds NaN (``nanmin`` of all-NaN)."""

    def check(block: Any) -> Any:
        if np.isnan(block).any():
            warnings.warn(message, RuntimeWarning, stacklevel=2)
        return block

    return result.map_blocks(check, dtype=result.dtype)


def _cast(node: Node, result: Any) -> Any:
    dtype = node.type.dtype
    return result if result.dtype == dtype else result.astype(dtype)


# --- NaN-skipping reductions: dask.array's own -------------------------------------------


def _options(node: Node, x: Any, *names: str) -> dict[str, Any]:
    options = {"axis": _axes(node, x.ndim), "keepdims": bool(node.attr("keepdims", False))}
    options.update({name: node.attr(name) for name in names if node.attr(name) is not None})
    return options


def _sum_like(reduce: Callable[..., Any], combine: Callable[..., Any]) -> Lowering:
    """dask's ``nansum``/``nanprod`` and numpy's ``initial``. float16 partial sums are
    added in float32 (a chunk's own sum may overflow where numpy's pairwise one, added
    in float32, does not); a float16 product overflows where numpy's running product
    does, so numpy's own runs along the reduced axes."""

    def lower(node: Node, inputs: list[Any]) -> Any:
        (x,) = inputs
        options = _options(node, x, "dtype")
        if x.dtype == np.float16 and "dtype" not in options:
            if reduce is da.nanprod:  # numpy's running float16 product overflows as it goes
                return _numpy_along(node, inputs)
            options["dtype"] = np.float32
        result = reduce(x, **options)
        initial = node.attr("initial")
        return _cast(node, result if initial is None else combine(result, initial))

    return lower


def _sum(x: Any, axes: Axes, dtype: Any, keepdims: bool) -> Any:
    """numpy's ``sum(x, axis, dtype)``: float16 (given no dtype) adds up in float32 and
    is cast back, as numpy's pairwise loop does, so it overflows to inf where numpy's
    float16 sum does."""
    if dtype is None and x.dtype == np.float16:
        return da.sum(x, axis=axes, dtype=np.float32, keepdims=keepdims).astype(np.float16)
    return da.sum(x, axis=axes, dtype=dtype, keepdims=keepdims)


def _divide(total: Any, count: Any) -> Any:
    """numpy's ``_divide_by_count``: ``total / count`` cast back to ``total``'s dtype
    (a float16 divided by an intp count is divided in float64)."""
    return (total / count).astype(total.dtype)


def _nan_moments(node: Node, x: Any) -> tuple[Any, Any, Any]:
    """numpy's ``_nanmean`` and ``_nanvar`` steps on inexact data: the NaN mask, the
    data with NaN read as 0, and each slice's count of values (kept dimensions)."""
    mask = da.isnan(x)
    values = da.where(mask, x.dtype.type(0), x)
    count = da.sum(~mask, axis=_axes(node, x.ndim), dtype=np.intp, keepdims=True)
    return mask, values, count


def _mean(node: Node, inputs: list[Any]) -> Any:
    """numpy's ``nanmean``: of inexact data, the sum of the values (float16 adds up as
    numpy's float16 sum: overflowing to inf where it does) over their count; of other
    data, numpy's ``mean`` (float64). Warns as numpy does of empty slices, which are
    those whose mean is NaN (or whose sum is: numpy warns of those too)."""
    (x,) = inputs
    if x.dtype.kind not in "fc":
        options = _options(node, x, "dtype")
        options.setdefault("dtype", statistic_accumulator(x.dtype))
        return _cast(node, da.mean(x, **options))
    axes, keepdims, dtype = _axes(node, x.ndim), bool(node.attr("keepdims")), node.attr("dtype")
    _, values, count = _nan_moments(node, x)
    total = _sum(values, axes, dtype, keepdims)
    result = _cast(node, _divide(total, count if keepdims else count.squeeze(axis=axes)))
    return _warning(result, "Mean of empty slice")


def _spread(root: bool) -> Lowering:
    """numpy's ``nanvar`` (``nanstd``: its square root): of inexact data numpy's own
    steps (``_nanvar``), NaN where a slice has no more values than ``ddof``; of other
    data numpy's ``var``. Warns as numpy does where a slice has too few values."""

    def lower(node: Node, inputs: list[Any]) -> Any:
        (x,) = inputs
        if x.dtype.kind not in "fc":
            return _cast(node, _reduce("std" if root else "var", x, node.kwargs, masked=False))
        axes = _axes(node, x.ndim)
        keepdims, dtype = bool(node.attr("keepdims")), node.attr("dtype")
        mask, values, count = _nan_moments(node, x)
        mean = _divide(_sum(values, axes, dtype, True), count)
        deviation = da.where(mask, x.dtype.type(0), (values - mean).astype(x.dtype))
        if x.dtype.kind == "c":
            squares = (deviation * deviation.conj()).real
        else:
            squares = deviation * deviation
        degrees = (count if keepdims else count.squeeze(axis=axes)) - (node.attr("ddof") or 0)
        total = _sum(squares, axes, dtype, keepdims)
        variance = da.where(degrees <= 0, np.nan, _divide(total, degrees)).astype(total.dtype)
        result = _cast(node, da.sqrt(variance) if root else variance)
        return _warning(result, "Degrees of freedom <= 0 for slice.")

    return lower


def _extreme(reduce: Callable[..., Any], combine: Callable[..., Any]) -> Lowering:
    """dask's ``nanmin``/``nanmax`` (exact), numpy's ``initial`` and its warning."""

    def lower(node: Node, inputs: list[Any]) -> Any:
        (x,) = inputs
        result = reduce(x, **_options(node, x))
        initial = node.attr("initial")
        if initial is not None:
            result = combine(result, initial)
        if x.dtype.kind in "fc":
            result = _warning(result, "All-NaN slice encountered")
        return _cast(node, result)

    return lower


def _arg_extreme(reduce: Callable[..., Any], fill: float) -> Lowering:
    """numpy's ``nanargmin``: NaN read as +inf (``nanargmax``: -inf), then ``argmin``,
    failing on an all-NaN slice. dask's ``nanargmin`` breaks ties between an all-NaN
    chunk and a chunk of infinities otherwise than numpy; its ``argmin`` on the filled
    data does not (across 2-d chunks it breaks ties in chunk order: flattened first)."""

    def lower(node: Node, inputs: list[Any]) -> Any:
        (x,) = inputs
        axis, keepdims = node.attr("axis"), bool(node.attr("keepdims", False))
        filled = da.where(da.isnan(x), fill, x) if x.dtype.kind in "fc" else x
        if axis is None and x.ndim > 1:
            flat = reduce(filled.ravel(), axis=0)
            result = flat.reshape((1,) * x.ndim) if keepdims else flat
        else:
            result = reduce(filled, axis=axis, keepdims=keepdims)
        if x.dtype.kind not in "fc":
            return result
        bad = da.all(da.isnan(x), axis=axis)
        return _checked(node, result, bad, ValueError("All-NaN slice encountered"))

    return lower


def _scan(scan: Callable[..., Any]) -> Lowering:
    def lower(node: Node, inputs: list[Any]) -> Any:
        (x,) = inputs
        axis = node.attr("axis")
        if axis is None:
            x, axis = _known(x).ravel(), 0
        return _cast(node, scan(x, axis=axis, dtype=node.attr("dtype")))

    return lower


def _ptp(node: Node, inputs: list[Any]) -> Any:
    """numpy's ``ptp``: ``max - min`` in the input's dtype (wrapping as numpy's does)."""
    if _masked(node):
        return _numpy_along(node, inputs)
    (x,) = inputs
    options = _options(node, x)
    return da.subtract(da.max(x, **options), da.min(x, **options))


# --- quantiles: numpy's own, along whole axes ------------------------------------------


def _quantile(node: Node, inputs: list[Any]) -> Any:
    x, q = inputs
    impl, attrs = OPS[node.op].impl, node.kwargs
    if _is_dask(q):
        return along(node, x, lambda block, qs: impl(block, qs, **attrs), q, lead=q.shape)
    return along(node, x, lambda block: impl(block, q, **attrs), lead=np.shape(q))


# --- histograms --------------------------------------------------------------------------


def _histogram_data(x: Any) -> Any:
    """numpy's histograms read booleans as uint8, saying so."""
    if x.dtype != np.bool_:
        return x
    message = f"Converting input from {x.dtype} to {np.uint8} for compatibility."
    warnings.warn(message, RuntimeWarning, stacklevel=2)
    return x.astype(np.uint8)


def _outer_edges(node: Node, x: Any) -> Any:
    """The data's ``(min, max)`` as numpy's ``histogram`` reads them, failing in numpy's
    words where they are not finite."""
    low, high = da.min(x), da.max(x)
    bins, site, op, dtype = node.attr("bins", 10), node.site_text, node.op, x.dtype

    def outer(low: Any, high: Any) -> Any:
        pair = np.concatenate([low, high]).astype(dtype, copy=False)
        try:
            np.histogram_bin_edges(pair, bins)
        except ValueError as exc:
            raise ComputeError.wrapping(exc, op, site) from exc
        return pair

    return da.map_blocks(outer, low[None], high[None], chunks=((2,),), dtype=dtype)


def _bin_edges(node: Node, inputs: list[Any]) -> Any:
    x = _histogram_data(inputs[0])
    bins, given = node.attr("bins", 10), node.attr("range")
    if given is not None:  # the edges read only the data's dtype
        return np.histogram_bin_edges(np.empty(0, x.dtype), bins, given)
    return _outer_edges(node, x).map_blocks(
        lambda pair: np.histogram_bin_edges(pair, bins),
        chunks=((bins + 1,),),
        dtype=node.type.dtype,
    )


def _histogram(node: Node, inputs: list[Any]) -> Any:
    x, weights, edges = histogram_inputs(tuple(inputs), node.kwargs)
    x = _histogram_data(_known(x))
    if weights is not None:
        weights = _as_dask(weights, x)
    if edges is None:
        bins, given = node.attr("bins"), node.attr("range")
        if given is None:  # numpy's range: the data's, checked
            pair = _outer_edges(node, x)
            outer: Any = [pair[0], pair[1]]
        counts, _ = da.histogram(x, bins=bins, range=given or outer, weights=weights)
        if not node.attr("density"):
            return _cast(node, counts)
        if given is not None:
            widths: Any = np.diff(np.histogram_bin_edges(np.empty(0, x.dtype), bins, given))
        else:
            widths = da.diff(_bin_edges(node, [x]))
    else:
        edges = edges if _is_dask(edges) else np.asarray(edges)
        counts, _ = da.histogram(x, bins=edges, weights=weights)
        if not node.attr("density"):
            return _cast(node, counts)
        widths = da.diff(edges) if _is_dask(edges) else np.diff(edges)
    return _cast(node, counts / widths / counts.sum())  # numpy's ``n / db / n.sum()``


# --- average -----------------------------------------------------------------------------


def _spread_weights(weights: Any, x: Any, axis: Axes | None) -> Any:
    """numpy's weights along ``axis`` made to broadcast against ``x``."""
    if weights.shape == x.shape or axis is None:
        return weights
    order = np.argsort(axis)
    weights = weights.transpose(tuple(int(i) for i in order))
    return weights.reshape(tuple(s if d in axis else 1 for d, s in enumerate(x.shape)))


def _masked_average(node: Node, inputs: list[Any]) -> Any:
    """numpy.ma's ``average`` (or its sum of weights) along whole axes, the weights
    spread over ``a``'s shape and cut alike."""
    x = _known(inputs[0])
    implementation, attrs = OPS[node.op].masked_impl, node.kwargs
    assert implementation is not None
    if len(inputs) == 1:
        return along(node, x, lambda block: implementation(block, **attrs))
    spread = _spread_weights(_as_dask(inputs[1], x), x, node.attr("axis"))
    weights = da.broadcast_to(spread, x.shape).rechunk(x.chunks)
    return along(node, x, lambda block, w: implementation(block, w, **attrs), weights)


def _weights_total(node: Node, x: Any, weights: Any) -> tuple[Any, Any, np.dtype[Any]]:
    """numpy's weights spread along ``x``, their sum in numpy's dtype (failing where it
    is zero, as numpy does), and that dtype."""
    given = weights.dtype if _is_dask(weights) else np.asarray(weights).dtype
    dtype = np.result_type(x.dtype, given, "f8" if x.dtype.kind in "biu" else given)
    axis, keepdims = node.attr("axis"), bool(node.attr("keepdims", False))
    spread = _spread_weights(_as_dask(weights, x), x, axis)
    total = spread.sum(axis=axis, dtype=dtype, keepdims=keepdims)
    zero = ZeroDivisionError("Weights sum to zero, can't be normalized")
    return spread, _checked(node, total, total == 0, zero), dtype


def _average(node: Node, inputs: list[Any]) -> Any:
    """numpy's ``average``: the mean when unweighted; else ``sum(a * w) / sum(w)`` in
    numpy's dtype."""
    if _masked(node):
        return _masked_average(node, inputs)
    x = _known(inputs[0])
    axis, keepdims = node.attr("axis"), bool(node.attr("keepdims", False))
    if len(inputs) == 1:
        accumulator = statistic_accumulator(x.dtype)
        return _cast(node, da.mean(x, axis=axis, keepdims=keepdims, dtype=accumulator))
    weights, total, dtype = _weights_total(node, x, inputs[1])
    products = x.astype(dtype) * weights.astype(dtype)
    return _cast(node, products.sum(axis=axis, keepdims=keepdims) / total)


def _sum_of_weights(node: Node, inputs: list[Any]) -> Any:
    """The second result of numpy's ``average(..., returned=True)``: without weights,
    the count of each average, known from the shapes."""
    if _masked(node):
        return _masked_average(node, inputs)
    x = _known(inputs[0])
    if len(inputs) == 2:
        total = _weights_total(node, x, inputs[1])[1]
        return _cast(node, da.broadcast_to(total, node.type.shape))
    count = math.prod(x.shape[a] for a in _axes(node, x.ndim))
    value = node.type.dtype.type(count)
    return np.full(node.type.shape, value) if node.type.ndim else value


LOWERINGS: dict[str, Lowering] = {
    name: _lowering(function)
    for name, function in {
        "nansum": _sum_like(da.nansum, np.add),
        "nanprod": _sum_like(da.nanprod, np.multiply),
        "nanmean": _mean,
        "nanvar": _spread(root=False),
        "nanstd": _spread(root=True),
        "nanmin": _extreme(da.nanmin, np.fmin),
        "nanmax": _extreme(da.nanmax, np.fmax),
        "nanargmin": _arg_extreme(da.argmin, np.inf),
        "nanargmax": _arg_extreme(da.argmax, -np.inf),
        "nanmedian": _numpy_along,
        "nancumsum": _scan(da.nancumsum),
        "nancumprod": _scan(da.nancumprod),
        "ptp": _ptp,
        "quantile": _quantile,
        "percentile": _quantile,
        "nanquantile": _quantile,
        "nanpercentile": _quantile,
        "histogram_bin_edges": _bin_edges,
        "histogram_counts": _histogram,
        "average": _average,
        "sum_of_weights": _sum_of_weights,
    }.items()
}

__all__ = ["LOWERINGS", "along"]
