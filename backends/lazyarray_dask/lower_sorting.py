"""Lowering sorting, set and search ops to dask.array.

- ``sort``, ``argsort``: the sorted axis in one chunk, each chunk sorted by the row's
  numpy implementation (exactly numpy's result).
- ``unique``: numpy's ``unique`` of each chunk, then of their concatenation (dask's
  ``da.unique`` scheme). ``da.unique`` itself is not used: its indices and counts loop
  over every value in Python and miss NaNs (``x == nan`` is never true), and its inverse
  compares every element with every value. Here each chunk keeps its first occurrences
  (a stable sort) with their global index and counts, which combine exactly; the
  inverse is a search of each chunk in the values. Where numpy's answer depends on its
  unstable sort (the slot of each NaN in the inverse when NaNs are distinct) or on a
  whole axis (``axis=``), the array is gathered and numpy runs on it.
- ``isin``, ``searchsorted``, ``argwhere``, ``flatnonzero``, ``count_nonzero``:
  dask.array's own.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from typing import Any

import dask.array as da
import numpy as np
from dask.delayed import delayed

from lazyarray.graph import Node
from lazyarray.ops import OPS
from lazyarray_dask import tasks
from lazyarray_dask.chunks import is_dask as _is_dask
from lazyarray_dask.chunks import known_chunks as _known

Lowering = Callable[[Node, list[Any]], Any]
_INDEX = np.dtype(np.intp)


def _as_dask(value: Any) -> Any:
    return value if _is_dask(value) else tasks.from_array(np.asarray(value))


def _on_values(lowering: Lowering) -> Lowering:
    """Runs the row's numpy implementation when no input is a dask array (scalars)."""

    def lower(node: Node, inputs: list[Any]) -> Any:
        if not any(_is_dask(v) for v in inputs):
            return OPS[node.op].impl(*inputs, **node.kwargs)
        return lowering(node, inputs)

    return lower


def _gathered(node: Node, inputs: list[Any]) -> Any:
    """numpy's implementation on the whole array, in one task: a result of unknown
    size that no chunked algorithm gives exactly."""
    value = delayed(partial(OPS[node.op].impl, **node.kwargs), pure=True)(*inputs)
    shape = tuple(math.nan if d is None else d for d in node.type.shape)
    return da.from_delayed(value, shape=shape, dtype=node.type.dtype)


# --- sorting --------------------------------------------------------------------------


@_on_values
def _along_axis(node: Node, inputs: list[Any]) -> Any:
    """sort, argsort: each chunk holds the whole axis and is sorted by numpy."""
    (x,) = inputs
    attrs = node.kwargs
    axis = attrs.pop("axis", -1)
    if axis is None or x.ndim == 0:
        x, axis = x.ravel(), 0
    x = _known(x)
    whole = x.rechunk({axis: -1})
    masked = node.inputs[0].type.masked
    impl = partial(OPS[node.op].implementation(masked), axis=axis, **attrs)
    empty = np.empty((0,) * whole.ndim, node.type.dtype)
    meta = np.ma.MaskedArray(empty) if node.type.masked else empty
    return tasks.map_blocks(node.op, impl, whole, dtype=node.type.dtype, meta=meta)


# --- sets -----------------------------------------------------------------------------


def _chunk_uniques(block: Any, offset: int, equal_nan: bool) -> tuple[Any, Any, Any]:
    """A chunk's unique values (each its first occurrence), their global indices, and
    their counts."""
    values, first, counts = np.unique(
        block, return_index=True, return_counts=True, equal_nan=equal_nan
    )
    return values, first + offset, counts


def _combined(parts: list[tuple[Any, Any, Any]], equal_nan: bool) -> tuple[Any, Any, Any]:
    """The chunks' uniques as one: a value's first occurrence is in the first chunk
    holding it (a stable sort of the concatenation keeps chunk order), its count the
    sum of the chunks' counts."""
    values = np.concatenate([p[0] for p in parts])
    indices = np.concatenate([p[1] for p in parts])
    counts = np.concatenate([p[2] for p in parts])
    unique, first, inverse = np.unique(
        values, return_index=True, return_inverse=True, equal_nan=equal_nan
    )
    total = np.zeros(len(unique), dtype=_INDEX)
    np.add.at(total, inverse, counts)
    return unique, indices[first], total


def _inverse_block(block: Any, values: Any) -> Any:
    """Where each element of ``block`` is in the sorted unique ``values``: equal values
    (``-0.0``, ``0.0``) find their one slot; NaNs (equal here: ``_exact_in_chunks``
    gathers the inverse where they are distinct) the one NaN slot, last."""
    found = np.searchsorted(values, block).astype(_INDEX, copy=False)
    if block.dtype.kind in "fc":
        nan = np.isnan(block)
        if nan.any():
            found[nan] = np.count_nonzero(~np.isnan(values))
    return found


def _exact_in_chunks(node: Node, x: Any) -> bool:
    """Whether the chunked algorithm gives numpy's result exactly: numpy's value is
    the first occurrence only with ``return_index`` (a stable sort), and the slots of
    distinct NaNs in the inverse follow its own sort."""
    attrs = node.kwargs
    if attrs.get("axis") is not None:
        return False
    may_hold_nan = x.dtype.kind in "fc" and not attrs.get("equal_nan", True)
    output = attrs.get("output", "values")
    if output == "inverse" and may_hold_nan:
        return False
    if output == "values" and x.dtype.kind in "fc":
        return bool(attrs.get("return_index"))
    return True


@_on_values
def _unique(node: Node, inputs: list[Any]) -> Any:
    (x,) = inputs
    if not _exact_in_chunks(node, x):
        return _gathered(node, inputs)
    equal_nan = bool(node.attr("equal_nan", True))
    flat = _known(x).ravel()
    offsets = np.cumsum((0, *flat.chunks[0][:-1])).tolist()
    chunk = delayed(_chunk_uniques, pure=True, nout=3)
    parts = [
        chunk(block, offset, equal_nan)
        for block, offset in zip(flat.to_delayed().ravel(), offsets, strict=True)
    ]
    combined = delayed(_combined, pure=True, nout=3)(parts, equal_nan)
    output = node.attr("output", "values")
    if output == "inverse":
        values = da.from_delayed(combined[0], shape=(math.nan,), dtype=x.dtype)
        return _inverse(x, values)
    position = {"values": 0, "indices": 1, "counts": 2}[output]
    return da.from_delayed(combined[position], shape=(math.nan,), dtype=node.type.dtype)


def _inverse(x: Any, values: Any) -> Any:
    index = tuple(range(x.ndim))
    return da.blockwise(
        _inverse_block,
        index,
        x,
        index,
        values,
        (x.ndim,),  # contracted: each task gets all the values
        concatenate=True,
        dtype=_INDEX,
        meta=np.empty((0,) * x.ndim, _INDEX),
    )


@_on_values
def _isin(node: Node, inputs: list[Any]) -> Any:
    element, test = (_as_dask(v) for v in inputs)
    attrs = node.kwargs
    return da.isin(
        element,
        test,
        assume_unique=attrs.get("assume_unique", False),
        invert=attrs.get("invert", False),
    )


# --- searching ------------------------------------------------------------------------


@_on_values
def _searchsorted(node: Node, inputs: list[Any]) -> Any:
    x1, x2 = inputs
    if not _is_dask(x1):  # the sorted array is a value: search each chunk of x2 in it
        side = node.attr("side", "left")
        return tasks.map_blocks(
            "searchsorted",
            lambda block: np.searchsorted(x1, block, side=side).astype(_INDEX, copy=False),
            x2,
            dtype=_INDEX,
        )
    probes = _as_dask(x2)
    x1 = _known(x1)
    if x1.size == 0 or probes.size == 0:  # dask's combining of chunks' answers needs some
        return da.zeros(probes.shape, dtype=_INDEX, chunks=probes.chunks)
    flat = probes.reshape((probes.size,)) if probes.ndim == 0 else probes  # dask needs 1-d
    found = da.searchsorted(x1, flat, side=node.attr("side", "left"))
    return found.reshape(probes.shape).astype(_INDEX, copy=False)


@_on_values
def _count_nonzero(node: Node, inputs: list[Any]) -> Any:
    (x,) = inputs
    axis = node.attr("axis")
    keepdims = bool(node.attr("keepdims", False))
    return (x != 0).astype(_INDEX).sum(axis=axis, keepdims=keepdims)


@_on_values
def _argwhere(node: Node, inputs: list[Any]) -> Any:
    if inputs[0].ndim == 0:  # dask's argwhere needs an axis
        return _gathered(node, inputs)
    return da.argwhere(_known(inputs[0]))


@_on_values
def _flatnonzero(node: Node, inputs: list[Any]) -> Any:
    return da.flatnonzero(_known(inputs[0]))


LOWERINGS: dict[str, Lowering] = {
    "sort": _along_axis,
    "argsort": _along_axis,
    "unique": _unique,
    "isin": _isin,
    "searchsorted": _searchsorted,
    "count_nonzero": _count_nonzero,
    "argwhere": _argwhere,
    "flatnonzero": _flatnonzero,
}
