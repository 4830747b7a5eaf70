"""How dask arrays are cut: chunk sizes from the plan's options, inputs of one blockwise
task aligned, chunk sizes made known."""

from __future__ import annotations

import math
from typing import Any

import dask.array as da
import numpy as np

from lazyarray.graph import Node


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


def rechunked_to(array: Any, chunks: tuple[Any, ...]) -> Any:
    own = chunks[len(chunks) - array.ndim :]
    fitting = tuple(c if sum(c) == n else (n,) for c, n in zip(own, array.shape, strict=True))
    return array.rechunk(fitting)


def known_chunks(x: Any) -> Any:
    """``x`` with its chunk sizes known (computing them if a boolean index hid them)."""
    if any(math.isnan(size) for sizes in x.chunks for size in sizes):
        return x.compute_chunk_sizes()
    return x
