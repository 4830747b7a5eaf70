"""How dask arrays are cut: chunk sizes from the plan's options, inputs of one blockwise
task aligned, chunk sizes made known, stored sources cut on their native chunks."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import dask.array as da
import numpy as np

from lazyarray.graph import Node
from lazyarray.stores.readers import cut


def chunks_for(shape: tuple[int, ...], dtype: np.dtype[Any], chunk_bytes: int) -> Any:
    if 0 in shape:  # dask's auto-chunking divides by the block size
        return tuple((size,) for size in shape)
    return da.core.normalize_chunks("auto", shape, limit=chunk_bytes, dtype=dtype)


def meta(node: Node) -> Any:
    """An empty array of the node's dtype, rank and maskedness: dask's ``meta``."""
    empty = np.empty((0,) * node.type.ndim, dtype=node.type.dtype)
    return np.ma.MaskedArray(empty) if node.type.masked else empty


def is_dask(value: Any) -> bool:
    return isinstance(value, da.Array)


def aligned(values: list[Any]) -> tuple[list[Any], tuple[Any, ...]]:
    """Dask inputs of one blockwise task cut alike, and the output's chunks: each
    dimension takes the chunks of the first input that spans it (size-1 broadcast
    dimensions stay whole)."""
    arrays = [v for v in values if is_dask(v)]
    ndim = max(a.ndim for a in arrays)
    target: list[Any] = [None] * ndim
    for array in arrays:
        offset = ndim - array.ndim
        for dim, size in enumerate(array.shape):
            if size != 1 and target[offset + dim] is None:
                target[offset + dim] = array.chunks[dim]
    aligned = []
    for value in values:
        if is_dask(value):
            offset = ndim - value.ndim
            chunks = tuple(
                target[offset + dim]
                if size != 1 and target[offset + dim] is not None
                else value.chunks[dim]
                for dim, size in enumerate(value.shape)
            )
            value = value.rechunk(chunks) if chunks != value.chunks else value
        aligned.append(value)
    return aligned, tuple(t if t is not None else (1,) for t in target)


def spans(chunks: tuple[Any, ...], shape: tuple[int, ...]) -> bool:
    """Whether ``chunks`` cut exactly ``shape`` (unknown sizes pass)."""
    if len(chunks) != len(shape):
        return False
    return all(
        any(math.isnan(c) for c in sizes) or sum(sizes) == size
        for sizes, size in zip(chunks, shape, strict=True)
    )


def inflated(arrays: Sequence[Any], chunks: tuple[Any, ...], itemsize: int, limit: int) -> bool:
    """Whether broadcasting the inputs makes blocks of ``chunks`` over twice ``limit``
    bytes and larger than any input's own (a (1, n) row and an (n, 1) column: one n x n
    block), so that the result must be cut anew; the inputs' own large chunks are kept."""
    if any(math.isnan(c) for sizes in chunks for c in sizes):
        return False
    block = itemsize * math.prod(max(sizes, default=0) for sizes in chunks)
    own = max(
        (a.dtype.itemsize * math.prod(max(s, default=0) for s in a.chunks) for a in arrays),
        default=0,
    )
    return bool(block > max(2 * limit, own))


def rechunked_to(array: Any, chunks: tuple[Any, ...]) -> Any:
    own = chunks[len(chunks) - array.ndim :]
    fitting = tuple(c if sum(c) == n else (n,) for c, n in zip(own, array.shape, strict=True))
    return array.rechunk(fitting)


def spread(array: Any, chunks: tuple[Any, ...]) -> Any:
    """``array`` (cut as ``rechunked_to(array, chunks)``) broadcast to all of ``chunks``:
    a blockwise task takes its block count along an axis from an input that has those
    blocks, and a broadcast (length-1) axis has one. Each block is a view of the input's
    (``np.broadcast_to``), no copy."""
    shape = tuple(int(sum(sizes)) for sizes in chunks)
    if array.shape == shape:
        return array
    return da.broadcast_to(array, shape, chunks=chunks)


def known_chunks(x: Any) -> Any:
    """``x`` with its chunk sizes known (computing them if a boolean index hid them)."""
    if any(math.isnan(size) for sizes in x.chunks for size in sizes):
        return x.compute_chunk_sizes()
    return x


def native_cuts(
    items: list[int | range], native: tuple[int, ...], itemsize: int, chunk_bytes: int
) -> list[list[range]]:
    """A stored source's region cut for dask, per dimension (``[]`` for an integer
    item): the positions of each range grouped by the storage chunk they lie in, so that
    a task reads whole chunks of its own. Chunks much smaller than ``chunk_bytes`` are
    taken several at once (whole multiples, up to an eighth of it), as dask's from_zarr
    would not: thousands of tiny tasks cost more than they read."""
    factors = [1] * len(native)
    growable = [isinstance(item, range) for item in items]
    limit = max(chunk_bytes // 8, 1)

    def size() -> int:
        return math.prod(c * f for c, f in zip(native, factors, strict=True)) * itemsize

    while any(growable) and size() * 2 <= limit:
        dim = min((d for d, g in enumerate(growable) if g), key=lambda d: native[d] * factors[d])
        factors[dim] *= 2
        item = items[dim]
        assert isinstance(item, range)
        if not len(item) or native[dim] * factors[dim] > max(item[0], item[-1]):
            growable[dim] = False  # one chunk holds all it selects
    return [
        [] if isinstance(item, int) else cut(item, native[d] * factors[d])
        for d, item in enumerate(items)
    ]
