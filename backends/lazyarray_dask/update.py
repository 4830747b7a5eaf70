"""Lowering assignment (``setitem``, ``boolean_setitem``) to dask.array.

A basic index uses dask's own ``__setitem__`` on a new ``Array`` object (dask copies
each block it writes, so no input changes), with integers as length-1 slices. A boolean
mask whose value is the same along the selected elements (a scalar, a row) is blockwise:
each block assigns where its part of the mask is true. A value with one entry per
selected element depends on how many elements every earlier block selects, so it runs
as one task on the whole arrays.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import dask.array as da
import ndindex
import numpy as np

from lazyarray.errors import ComputeError
from lazyarray.graph import Node
from lazyarray.ops import OPS
from lazyarray.ops.indexing import decode_index
from lazyarray.ops.update import writable_copy
from lazyarray_dask import tasks
from lazyarray_dask.chunks import is_dask as _is_dask
from lazyarray_dask.chunks import meta as _meta

Lowering = Callable[[Node, list[Any]], Any]


def _known(x: Any) -> Any:
    if _is_dask(x) and any(math.isnan(size) for sizes in x.chunks for size in sizes):
        return x.compute_chunk_sizes()
    return x


def _as_dask(value: Any) -> Any:
    if _is_dask(value):
        return _known(value)
    array = value if isinstance(value, np.ndarray) else np.asarray(value)
    return tasks.from_array(array)


def _guarded(function: Callable[..., Any], node: Node) -> Callable[..., Any]:
    op, site = node.op, node.site_text

    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except Exception as exc:
            raise ComputeError.wrapping(exc, op, site) from exc

    return run


def setitem(node: Node, inputs: list[Any]) -> Any:
    x, value = _known(inputs[0]), _known(inputs[1])
    index = ndindex.ndindex(decode_index(node.attr("index"))).expand(x.shape)
    items, target = index.raw, index.newshape(x.shape)
    if 0 in target:  # nothing is selected (dask refuses the value)
        return x
    if any(isinstance(item, int) for item in items):
        # dask misplaces an integer next to a negative step: select with a length-1
        # slice instead, and give the value that axis
        value = _with_integer_axes(value, items, len(target))
        items = tuple(slice(i, i + 1) if isinstance(i, int) else i for i in items)
    out = x.copy()  # a new Array object: x's graph stays as it is
    out[items] = value
    return out


def _with_integer_axes(value: Any, items: tuple[Any, ...], ndim: int) -> Any:
    """``value``, aligned to a selection of ``ndim`` dims from the right as numpy aligns
    it, with a length-1 axis wherever ``items`` has an integer within its span."""
    while np.ndim(value) > ndim and np.shape(value)[0] == 1:
        value = value[0]  # numpy drops a value's extra leading ones
    if not np.ndim(value):
        return value
    dims = [position for position, item in enumerate(items) if not isinstance(item, int)]
    start = dims[len(dims) - np.ndim(value)]
    return value[tuple(None if isinstance(item, int) else slice(None) for item in items[start:])]


def boolean_setitem(node: Node, inputs: list[Any]) -> Any:
    x, value, mask = _known(inputs[0]), inputs[1], inputs[2]
    axis = node.attr("axis")
    mask_node, value_node = node.inputs[2], node.inputs[1]
    x_masked = node.inputs[0].type.masked
    trailing = x.ndim - axis - mask_node.type.ndim
    selected = axis + 1 + trailing  # dims of x[mask]: the selected elements are one
    if _padded(value_node.type.shape, selected)[axis] != 1:
        return _whole(node, x, value, mask, axis)
    # the value is the same for every selected element: give it the mask's dims, of size 1
    spread = (None,) * axis + (Ellipsis,) + (None,) * trailing
    mask = _as_dask(mask)
    if mask_node.type.masked:  # it selects where its data is true (numpy.ma's rule)
        mask = da.ma.getdata(mask)
    arrays = [_cut_like(mask[spread], x)]
    data_only = mask_node.type.masked and x_masked and not value_node.type.masked
    if not value_node.type.masked:
        parts: tuple[Any, ...] = (value,)
    elif _is_dask(value):
        parts = (da.ma.getdata(value), da.ma.getmaskarray(value))
    else:
        parts = (np.ma.getdata(value), np.ma.getmaskarray(value))
    for part in parts:
        known = _as_dask(part)
        shape = _padded(known.shape, selected)
        spread_value = (*shape[:axis], *(1,) * mask_node.type.ndim, *shape[axis + 1 :])
        arrays.append(_cut_like(known.reshape(spread_value), x))
    return tasks.map_blocks(
        node.op,
        _guarded(_assign_where, node),
        x,
        *arrays,
        data_only=data_only,
        dtype=node.type.dtype,
        meta=_meta(node),
    )


def _padded(shape: tuple[Any, ...], ndim: int) -> list[Any]:
    """``shape`` as numpy aligns a value to ``ndim`` dims: leading ones dropped or added."""
    dims = list(shape)
    while len(dims) > ndim and dims[0] == 1:
        dims.pop(0)
    return [1] * (ndim - len(dims)) + dims


def _cut_like(a: Any, x: Any) -> Any:
    """``a`` broadcast to ``x``'s shape, in ``x``'s chunks."""
    offset = x.ndim - a.ndim
    own = tuple(x.chunks[offset + d] if size != 1 else (1,) for d, size in enumerate(a.shape))
    return da.broadcast_to(a.rechunk(own), x.shape, chunks=x.chunks)


def _assign_where(
    x: Any, mask: Any, value: Any, value_mask: Any = None, *, data_only: bool = False
) -> Any:
    """One block: ``x`` with ``value`` where ``mask`` (all three cut alike); with
    ``data_only``, into the data of masked ``x`` alone (``ops.update.keeps_mask``)."""
    out = writable_copy(x)
    if value_mask is not None:
        value = np.ma.MaskedArray(value, mask=value_mask)
    if data_only:
        out.data[mask] = value[mask]
    else:
        out[mask] = value[mask]
    return out


def _whole(node: Node, x: Any, value: Any, mask: Any, axis: int) -> Any:
    """The row's numpy implementation as one task on the whole arrays."""
    from dask.delayed import delayed

    implementation = OPS[node.op].implementation(node.type.masked or node.inputs[1].type.masked)
    result = delayed(_guarded(implementation, node), pure=False)(x, value, mask, axis=axis)
    whole = da.from_delayed(result, shape=x.shape, dtype=node.type.dtype, meta=_meta(node))
    return whole.rechunk(x.chunks) if _is_dask(x) else whole


LOWERINGS: dict[str, Lowering] = {"setitem": setitem, "boolean_setitem": boolean_setitem}
