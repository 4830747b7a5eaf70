"""dask lowering of ``gather`` (``lazyarray/ops/indexing.py``): numpy's advanced indexing
by integer arrays on several axes.

dask.array indexes by numpy arrays known when the graph is built, so index arrays that
are dask arrays are computed first (as ``take`` does; they are usually far smaller than
what they index) and checked as numpy checks them, in numpy's words. One array is
``da.take`` along its axis; several are ``vindex``, dask's pointwise indexing, which puts
the broadcast index dims first: they are moved where numpy puts them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dask.array as da
import numpy as np

from lazyarray.errors import ComputeError
from lazyarray.graph import Node
from lazyarray.ops import OPS
from lazyarray.ops.indexing import broadcast_indices, out_of_bounds, result_position
from lazyarray_dask import tasks
from lazyarray_dask.chunks import known_chunks as _known

Lowering = Callable[[Node, list[Any]], Any]


def _indices(node: Node, x: Any, values: list[Any]) -> list[np.ndarray[Any, Any]]:
    """The index arrays as numpy arrays, broadcast together, checked and made
    non-negative: numpy's errors, raised as its implementation would raise them."""
    arrays = [np.asarray(v.compute() if isinstance(v, da.Array) else v) for v in values]
    try:
        broadcast_indices([a.shape for a in arrays])
        for axis, array in zip(node.attr("axes"), arrays, strict=True):
            size = x.shape[axis]
            bad = out_of_bounds(array, size)
            if bad is not None:
                raise IndexError(f"index {bad} is out of bounds for axis {axis} with size {size}")
    except IndexError as exc:  # as the numpy backend reports its implementation's errors
        original = IndexError(str(exc))
        raise ComputeError.wrapping(original, node.op, node.site_text) from original
    axes = node.attr("axes")
    return [
        np.where(a < 0, a + x.shape[axis], a).astype(np.intp)
        for axis, a in zip(axes, np.broadcast_arrays(*arrays), strict=True)
    ]


def _gather(node: Node, inputs: list[Any]) -> Any:
    x, *values = inputs
    if not isinstance(x, da.Array):  # a plain value: the row's implementation
        masked = node.type.masked or any(child.type.masked for child in node.inputs)
        computed = [v.compute() if isinstance(v, da.Array) else v for v in values]
        return OPS[node.op].implementation(masked)(x, *computed, **node.kwargs)
    x = _known(x)
    axes: tuple[int, ...] = node.attr("axes")
    indices = _indices(node, x, values)
    shape = indices[0].shape
    if 0 in shape:  # nothing selected (dask cannot reshape to empty shapes): numpy's
        nothing = tuple(slice(0, 0) if d in axes else slice(None) for d in range(x.ndim))
        run = OPS[node.op].implementation(node.type.masked)
        empty = run(x[nothing].compute(), *indices, **node.kwargs)
        if not isinstance(empty, np.ma.MaskedArray):
            return tasks.from_array(empty, chunks=-1)
        data, mask = np.ma.getdata(empty), np.ma.getmaskarray(empty)
        return da.ma.masked_array(tasks.from_array(data, -1), mask=tasks.from_array(mask, -1))
    flat = [index.ravel() for index in indices]
    if len(axes) == 1:
        (axis,) = axes
        taken = da.take(x, flat[0], axis=axis)  # the index dims where the axis was
        at = axis
    else:
        index: list[Any] = [slice(None)] * x.ndim
        for axis, positions in zip(axes, flat, strict=True):
            index[axis] = positions
        taken = x.vindex[tuple(index)]  # the index dims first
        at = 0
    result = taken.reshape(taken.shape[:at] + shape + taken.shape[at + 1 :])
    position = result_position(axes, bool(node.attr("front", False)))
    if position != at:
        dims = len(shape)
        result = da.moveaxis(
            result, list(range(at, at + dims)), list(range(position, position + dims))
        )
    return result


LOWERINGS: dict[str, Lowering] = {"gather": _gather}
