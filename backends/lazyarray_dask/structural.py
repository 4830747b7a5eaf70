"""Lowerings of shape ops, indexing, linear algebra and numpy.ma's own ops to dask.array's
functions (rechunking, ``da.take``, ``da.einsum``, ``da.ma``). Each takes the lowerer,
the node and its inputs' values, at least one of which is a dask array."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import dask.array as da
import numpy as np

from lazyarray.graph import Node
from lazyarray.ops import OPS
from lazyarray.ops.indexing import decode_index
from lazyarray_dask import tasks
from lazyarray_dask.chunks import is_dask, known_chunks

if TYPE_CHECKING:
    from lazyarray_dask.lower import Lowerer


def _as_dask(inputs: list[Any]) -> list[Any]:
    return [v if is_dask(v) else tasks.from_array(np.asarray(v)) for v in inputs]


# --- shape ---------------------------------------------------------------------------


def view(lowerer: Lowerer, node: Node, inputs: list[Any]) -> Any:
    """A shape op dask.array runs through NEP 18 (transpose, squeeze ...)."""
    return OPS[node.op].impl(inputs[0], **node.kwargs)


def concatenate(lowerer: Lowerer, node: Node, inputs: list[Any]) -> Any:
    arrays = _as_dask(inputs)
    axis = node.attr("axis", 0)
    if axis is None:
        return da.concatenate([a.ravel() for a in arrays], axis=0)
    return da.concatenate(arrays, axis=axis)


def stack(lowerer: Lowerer, node: Node, inputs: list[Any]) -> Any:
    """numpy's check of the shapes, on sizes a boolean index hid computed first; then the
    operands joined along their new axis (``da.stack`` cannot join empty arrays whose
    computed chunks differ)."""
    arrays = [known_chunks(a) for a in _as_dask(inputs)]
    if any(a.shape != arrays[0].shape for a in arrays):
        raise ValueError("all input arrays must have the same shape")
    axis = node.attr("axis", 0)
    return da.concatenate([da.expand_dims(a, axis) for a in arrays], axis=axis)


def reshape(lowerer: Lowerer, node: Node, inputs: list[Any]) -> Any:
    """dask's reshape, or where it cannot split dimensions unevenly, through the flat
    array (dask rechunks a 1-d array into any shape)."""
    x = known_chunks(inputs[0])
    try:
        return x.reshape(node.attr("shape"))
    except NotImplementedError:
        return x.ravel().reshape(node.attr("shape"))


def ravel(lowerer: Lowerer, node: Node, inputs: list[Any]) -> Any:
    return known_chunks(inputs[0]).ravel()


def broadcast_to(lowerer: Lowerer, node: Node, inputs: list[Any]) -> Any:
    (x,) = inputs
    shape = node.attr("shape")
    if node.type.masked:  # data and mask alike, as numpy.ma's views do
        data = da.broadcast_to(da.ma.getdata(x), shape)
        mask = da.broadcast_to(da.ma.getmaskarray(x), shape)
        return da.ma.masked_array(data, mask=mask)
    return da.broadcast_to(x, shape)


# --- indexing ------------------------------------------------------------------------


def getitem(lowerer: Lowerer, node: Node, inputs: list[Any]) -> Any:
    return known_chunks(inputs[0])[decode_index(node.attr("index"))]


def boolean_index(lowerer: Lowerer, node: Node, inputs: list[Any]) -> Any:
    x, selector = inputs
    axis = node.attr("axis")
    if 0 in np.shape(selector):  # an empty mask selects nothing, whatever the axis's size
        shape = x.shape[:axis] + (0,) + x.shape[axis + np.ndim(selector) :]
        empty = da.zeros(shape, dtype=x.dtype)
        return da.ma.masked_array(empty) if node.type.masked else empty
    if node.type.shape[axis] is not None:
        return _counted(x, np.asarray(selector.compute() if is_dask(selector) else selector), axis)
    if not is_dask(selector):
        selector = tasks.from_array(np.asarray(selector))
    if 1 < selector.ndim < x.ndim:  # dask takes a mask of one dim or of all: merge its dims
        x = known_chunks(x)
        merged = x.shape[:axis] + (-1,) + x.shape[axis + selector.ndim :]
        x, selector = x.reshape(merged), selector.ravel()
    covered = x.chunks[axis : axis + selector.ndim]
    selector = selector.rechunk(covered)
    return x[(slice(None),) * axis + (selector,)]


def _counted(x: Any, mask: np.ndarray[Any, Any], axis: int) -> Any:
    """``x[mask]`` where the mask's count was known when written: a settled mask
    (``ops/settled.py``), small, read now so that dask knows the result's chunks, however
    big ``x`` is."""
    if mask.ndim > 1:  # its dims merged into one
        x = known_chunks(x)
        x, mask = x.reshape(x.shape[:axis] + (-1,) + x.shape[axis + mask.ndim :]), mask.ravel()
    return x[(slice(None),) * axis + (mask,)]


def take(lowerer: Lowerer, node: Node, inputs: list[Any]) -> Any:
    x, selector = inputs
    axis = node.attr("axis")
    indices = selector.compute() if is_dask(selector) else np.asarray(selector)
    if axis is None:  # numpy's take over the flattened array
        x, axis = known_chunks(x).ravel(), 0
    mode = node.attr("mode", "raise")
    if mode != "raise":  # numpy's wrap and clip, applied to the indices
        size = x.shape[axis]
        indices = np.mod(indices, size) if mode == "wrap" else np.clip(indices, 0, size - 1)
    taken = da.take(known_chunks(x), indices.ravel(), axis=axis)
    return taken.reshape(x.shape[:axis] + indices.shape + x.shape[axis + 1 :])


# --- linear algebra ------------------------------------------------------------------


def _operands(lowerer: Lowerer, node: Node, inputs: list[Any]) -> list[Any] | None:
    """The inputs as dask arrays, or None where the non-dask ones are scalars (a dot
    with a scalar multiplies: the row's implementation, chunk by chunk)."""
    if all(is_dask(v) for v in inputs):
        return inputs
    if all(np.ndim(v) == 0 for v in inputs if not is_dask(v)):
        return None
    return _as_dask(inputs)


def linalg(lowerer: Lowerer, node: Node, inputs: list[Any]) -> Any:
    """``da.<op>`` (matmul, dot); a masked result as ``numpy.ma.dot``."""
    operands = _operands(lowerer, node, inputs)
    if operands is None:
        return lowerer.blockwise(node, inputs)
    if node.type.masked:  # numpy.ma.dot: masked values count as 0; a result is
        a, b = operands  # masked where no unmasked pair contributed
        data = da.dot(da.ma.filled(a, 0), da.ma.filled(b, 0))
        counts = [(~da.ma.getmaskarray(v)).astype(np.int64) for v in (a, b)]
        valid = da.dot(*counts) > 0
        return da.ma.masked_array(data, mask=~valid)
    return getattr(da, node.op)(*operands)


def einsum(lowerer: Lowerer, node: Node, inputs: list[Any]) -> Any:
    operands = _operands(lowerer, node, inputs)
    if operands is None:
        return lowerer.blockwise(node, inputs)
    return da.einsum(node.attr("subscripts"), *operands)


def tensordot(lowerer: Lowerer, node: Node, inputs: list[Any]) -> Any:
    operands = _operands(lowerer, node, inputs)
    if operands is None:
        return lowerer.blockwise(node, inputs)
    return da.tensordot(*operands, axes=node.attr("axes", 2))


# --- numpy.ma ------------------------------------------------------------------------


def masked_array(lowerer: Lowerer, node: Node, inputs: list[Any]) -> Any:
    data, mask = inputs
    if not is_dask(data):
        data = tasks.from_array(np.asarray(data))
    if not is_dask(mask):
        mask = da.broadcast_to(tasks.from_array(np.asarray(mask)), data.shape)
    combined = da.ma.getmaskarray(data) | da.broadcast_to(mask, data.shape)
    return da.ma.masked_array(
        da.ma.getdata(data), mask=combined, fill_value=node.attr("fill_value")
    )


def filled(lowerer: Lowerer, node: Node, inputs: list[Any]) -> Any:
    return da.ma.filled(inputs[0], node.attr("fill_value"))


def getdata(lowerer: Lowerer, node: Node, inputs: list[Any]) -> Any:
    return da.ma.getdata(inputs[0])


def getmaskarray(lowerer: Lowerer, node: Node, inputs: list[Any]) -> Any:
    return da.ma.getmaskarray(inputs[0])


def fill_value(lowerer: Lowerer, node: Node, inputs: list[Any]) -> Any:
    """numpy.ma's fill value of the input, read off its first chunk."""
    from dask.delayed import delayed

    dtype = node.type.dtype
    first = inputs[0].to_delayed().ravel()[0]
    value = delayed(lambda block: np.asarray(np.ma.MaskedArray(block).fill_value, dtype))(first)
    return da.from_delayed(value, shape=(), dtype=dtype)


def compressed(lowerer: Lowerer, node: Node, inputs: list[Any]) -> Any:
    flat = inputs[0].ravel()
    return da.ma.getdata(flat)[~da.ma.getmaskarray(flat)]
