"""dask lowerings of the manipulation ops (``lazyarray/ops/manipulation.py``,
``padding.py``, ``windows.py``): dask.array's own algorithms where their results are
numpy's bit for bit (roll, tile, repeat by an int, tril/triu, diagonal, sliding windows,
most pad modes); elsewhere numpy's implementation on chunks that hold the whole of the
axis it needs (trace's sum along the diagonal, pad's ramps and statistics, repeat by an
array, take_along_axis).

Ops that numpy.ma runs on data and mask alike are lowered the same way on masked
inputs: once on the data, once on the mask, joined with the input's fill value.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import Any

import dask.array as da
import numpy as np

from lazyarray.graph import Node
from lazyarray.ops import OPS
from lazyarray.ops.padding import as_pairs, numpy_options
from lazyarray_dask import tasks
from lazyarray_dask.chunks import is_dask as _is_dask
from lazyarray_dask.chunks import known_chunks as _known
from lazyarray_dask.chunks import meta as _meta

Lowering = Callable[[Node, list[Any]], Any]


def _like(x: Any) -> Any:
    """The meta of a plain (unmasked) chunk like ``x``'s."""
    return np.empty((0,) * x.ndim, dtype=x.dtype)


def _eager_or(lower: Lowering) -> Lowering:
    """``lower`` on dask inputs; the row's numpy implementation on plain values (0-d
    inputs, which the backend keeps as numpy scalars)."""

    def run(node: Node, inputs: list[Any]) -> Any:
        if not _is_dask(inputs[0]):
            masked = node.type.masked or any(child.type.masked for child in node.inputs)
            return OPS[node.op].implementation(masked)(*inputs, **node.kwargs)
        return lower(node, [_known(inputs[0]), *inputs[1:]])

    return run


def _apart(lower: Lowering) -> Lowering:
    """numpy.ma's data-and-mask ops: ``lower`` on the data, then on the mask."""

    def run(node: Node, inputs: list[Any]) -> Any:
        x, *rest = inputs
        if not node.inputs[0].type.masked:
            return lower(node, inputs)
        data = lower(node, [da.ma.getdata(x), *rest])
        mask = lower(node, [da.ma.getmaskarray(x), *rest])
        return _masked_like(x, data, mask)

    return _eager_or(run)


def _masked_like(source: Any, data: Any, mask: Any) -> Any:
    """``data`` masked by ``mask``, with the fill value of ``source`` (numpy.ma keeps it
    through a rearrangement), read off its first chunk when the chunks run."""
    from dask.delayed import delayed

    first = source.to_delayed().ravel()[0]
    fill = da.from_delayed(
        delayed(lambda block: np.asarray(np.ma.MaskedArray(block).fill_value))(first),
        shape=(),
        dtype=source.dtype,
    )

    def combine(values: Any, hidden: Any, fill_value: Any) -> Any:
        return np.ma.MaskedArray(values, mask=hidden, fill_value=fill_value)

    meta = np.ma.MaskedArray(_like(data), mask=_like(mask))
    return tasks.map_blocks("masked", combine, data, mask, fill, dtype=data.dtype, meta=meta)


# --- dask.array's own ----------------------------------------------------------------


def _roll(node: Node, inputs: list[Any]) -> Any:
    return da.roll(inputs[0], node.attr("shift"), node.attr("axis"))


def _tile(node: Node, inputs: list[Any]) -> Any:
    return da.tile(inputs[0], node.attr("reps"))


def _triangle(triangle: Callable[..., Any]) -> Callable[[Node, list[Any]], Any]:
    def lower(node: Node, inputs: list[Any]) -> Any:
        x = inputs[0]
        if x.ndim == 1:  # numpy: the triangle of the vector repeated as rows
            x = da.broadcast_to(x, (x.shape[0], x.shape[0]), chunks=(x.chunks[0], x.chunks[0]))
        return triangle(x, k=node.attr("k", 0))

    return lower


def _matrix_transpose(node: Node, inputs: list[Any]) -> Any:
    return da.swapaxes(inputs[0], -1, -2)


def _diagonal(node: Node, inputs: list[Any]) -> Any:
    return da.diagonal(inputs[0], **node.kwargs)


def _diff(node: Node, inputs: list[Any]) -> Any:
    """numpy's algorithm (dask's diff has no boolean case): ``n`` times, the
    difference of the array without its first and without its last element."""
    x = inputs[0]
    axis = node.attr("axis", x.ndim - 1)
    difference = da.not_equal if x.dtype == np.bool_ else da.subtract
    later = (slice(None),) * axis + (slice(1, None),)
    earlier = (slice(None),) * axis + (slice(None, -1),)
    for _ in range(node.attr("n", 1)):
        x = difference(x[later], x[earlier])
    return x


def _sliding_window_view(node: Node, inputs: list[Any]) -> Any:
    """dask's windows (each chunk overlapping the next by its windows less one). dask
    refuses empty windows, whose result is empty: of the shape numpy gives a zero-strided
    stand-in."""
    x = inputs[0]
    windows = node.attr("window_shape")
    axis = node.attr("axis")
    if 0 in windows:
        standin = np.broadcast_to(np.zeros((), x.dtype), x.shape)
        empty = np.lib.stride_tricks.sliding_window_view(standin, windows, axis)
        return da.zeros(empty.shape, dtype=x.dtype, chunks=-1)
    return da.overlap.sliding_window_view(x, windows, axis)


# --- numpy's on chunks holding a whole axis -------------------------------------------


def _trace(node: Node, inputs: list[Any]) -> Any:
    """The diagonals, each whole in one chunk, summed by numpy in numpy's order: dask's
    tree sum would add them in another."""
    attrs = node.kwargs
    dtype = attrs.pop("dtype", None)
    x = inputs[0]
    diagonal = da.diagonal(x, **attrs)
    whole = diagonal.rechunk({diagonal.ndim - 1: -1})
    masked = node.inputs[0].type.masked
    pairwise = _diagonal_is_inner(x.shape, attrs.get("axis1", 0), attrs.get("axis2", 1))
    result = node.type.dtype

    def total(block: Any) -> Any:
        if masked:  # numpy.ma's trace: cast, masked values as 0, summed as a copy
            return np.ma.filled(np.ma.MaskedArray(block).astype(dtype), 0).sum(axis=-1)
        if pairwise or result.kind not in "fc" or block.shape[-1] == 0:
            return np.add.reduce(block, axis=-1, dtype=dtype)
        return np.add.accumulate(block, axis=-1, dtype=result)[..., -1]

    return tasks.map_blocks(
        "trace", total, whole, drop_axis=whole.ndim - 1, dtype=result, meta=_meta(node)
    )


def _diagonal_is_inner(shape: tuple[int, ...], axis1: int, axis2: int) -> bool:
    """Whether numpy's trace of a C-ordered array adds along the diagonal in its inner
    loop (pairwise summation), or along another axis of smaller stride (each diagonal
    then added in order, element after element)."""
    strides = [math.prod(shape[d + 1 :]) for d in range(len(shape))]
    along = strides[axis1] + strides[axis2]
    return all(
        strides[d] > along for d in range(len(shape)) if d not in (axis1, axis2) and shape[d] > 1
    )


def _repeat(node: Node, inputs: list[Any]) -> Any:
    x, repeats = inputs
    axis = node.attr("axis")
    if axis is None:
        x, axis = x.ravel(), 0
    counts = np.asarray(repeats.compute() if _is_dask(repeats) else repeats).reshape(-1)
    if counts.size == 1:
        return da.repeat(x, int(counts[0]), axis=axis)
    # each chunk repeats its own elements by its own slice of the counts
    edges = list(itertools.pairwise(np.cumsum((0, *x.chunks[axis])).tolist()))
    chunks = list(x.chunks)
    chunks[axis] = tuple(int(counts[a:b].sum()) for a, b in edges)

    def block(values: Any, block_info: Any = None) -> Any:
        start, stop = block_info[0]["array-location"][axis]
        return np.repeat(values, counts[start:stop], axis)

    return tasks.map_blocks("repeat", block, x, chunks=tuple(chunks), dtype=x.dtype, meta=_like(x))


def _take_along_axis(node: Node, inputs: list[Any]) -> Any:
    """Each chunk of the indices takes from the chunk of ``x`` holding the whole axis
    beside it (the other axes broadcast and cut alike)."""
    x, indices = inputs
    axis = node.attr("axis", x.ndim - 1)
    if axis is None:
        x, axis = x.ravel(), 0
    if not _is_dask(indices):
        indices = tasks.from_array(np.asarray(indices))
    shape = node.type.shape
    indices = da.broadcast_to(indices, shape)
    whole = shape[:axis] + x.shape[axis : axis + 1] + shape[axis + 1 :]
    chunks = tuple((whole[d],) if d == axis else indices.chunks[d] for d in range(x.ndim))
    x = da.broadcast_to(x, whole).rechunk(chunks)
    letters = "abcdefghijklmnopqrstuvwxyz"[: x.ndim]
    along = letters[:axis] + "Z" + letters[axis + 1 :]
    return da.blockwise(
        lambda block, taken: np.take_along_axis(block, taken, axis),
        letters,
        x,
        along,
        indices,
        letters,
        concatenate=True,
        dtype=x.dtype,
        meta=_like(x),
    )


# --- pad --------------------------------------------------------------------------------

# modes whose dask results are numpy's: copies, and maxima and minima
_NATIVE_PAD = frozenset({"constant", "edge", "empty", "maximum", "minimum"})
# modes dask copies exactly while a pad is shorter than its axis (numpy then repeats)
_MIRRORS = frozenset({"reflect", "symmetric", "wrap"})


def _pad(node: Node, inputs: list[Any]) -> Any:
    attrs = numpy_options(node.kwargs)
    widths = attrs.pop("pad_width")
    mode = attrs.pop("mode", "constant")
    x = inputs[0]
    short = all(max(pair) < size for pair, size in zip(widths, x.shape, strict=True) if any(pair))
    even = attrs.get("reflect_type", "even") == "even"
    if mode in _NATIVE_PAD or (mode in _MIRRORS and short and even):
        if "constant_values" in attrs:  # dask takes pairs of numbers (cast alike)
            attrs["constant_values"] = as_pairs(attrs["constant_values"], x.ndim)
        return da.pad(x, widths, mode, **attrs)
    return _pad_by_axis(x, widths, mode, attrs, node)


def _pad_by_axis(x: Any, widths: Any, mode: str, options: dict[str, Any], node: Node) -> Any:
    """numpy's pad one axis at a time, each in one chunk: numpy pads axis after axis,
    each over the ones padded before, so the values are numpy's."""
    for axis, (before, after) in enumerate(widths):
        if not (before or after):
            continue
        x = x.rechunk({d: -1 if d == axis else _no_single(c) for d, c in enumerate(x.chunks)})
        alone = tuple((before, after) if d == axis else (0, 0) for d in range(x.ndim))
        chunks = tuple(
            (x.shape[axis] + before + after,) if d == axis else c for d, c in enumerate(x.chunks)
        )

        def pad(block: Any, alone: Any = alone) -> Any:
            return np.pad(block, alone, mode, **options)  # type: ignore[call-overload]

        x = tasks.map_blocks("pad", pad, x, chunks=chunks, dtype=node.type.dtype, meta=_meta(node))
    return x


def _no_single(chunks: tuple[int, ...]) -> tuple[int, ...]:
    """Chunks with no single element (merged into the one before): numpy reduces a
    block with an axis of one element in another order (pairwise along the axis it
    reduces) than the whole array (elementwise along it), so a mean would differ."""
    merged: list[int] = []
    for size in chunks:
        if size == 1 and merged:
            merged[-1] += 1
        else:
            merged.append(size)
    if len(merged) > 1 and merged[0] == 1:
        merged[1] += merged.pop(0)
    return tuple(merged)


LOWERINGS: dict[str, Lowering] = {
    "roll": _apart(_roll),
    "tile": _apart(_tile),
    "tril": _apart(_triangle(da.tril)),
    "triu": _apart(_triangle(da.triu)),
    "matrix_transpose": _apart(_matrix_transpose),
    "diagonal": _apart(_diagonal),
    "take_along_axis": _apart(_take_along_axis),
    "repeat": _apart(_repeat),
    "sliding_window_view": _apart(_sliding_window_view),
    "diff": _eager_or(_diff),
    "trace": _eager_or(_trace),
    "pad": _eager_or(_pad),
}
