"""Chunk specifications in dask's spellings, made explicit: a tuple of block sizes per
dimension. ``normalize_chunks`` takes what xarray passes (``{}``, ints, ``-1``, ``None``,
``"auto"``, byte strings such as ``"16MB"``, dicts by axis, tuples of sizes) and
chooses "auto" sizes under a byte limit, as multiples of the previous (stored) chunks
where there are some.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from lazyarray.config import options, parse_bytes
from lazyarray.errors import ShapeError

Chunks = tuple[tuple[int, ...], ...]


def auto_chunk_bytes() -> int:
    """The target size of a block chosen automatically: the ``dask_chunk_bytes`` option."""
    size: int = options.dask_chunk_bytes
    return size


def normalize_chunks(
    chunks: Any,
    shape: Sequence[int],
    limit: int | None = None,
    dtype: Any = None,
    previous_chunks: Any = None,
) -> Chunks:
    """Explicit block sizes for an array of ``shape`` (see the module's docstring).

    >>> normalize_chunks({0: 3}, (4, 6))
    ((3, 1), (6,))
    >>> normalize_chunks("auto", (100, 10), limit=800, dtype="f8", previous_chunks=(5, 10))
    ((10, 10, 10, 10, 10, 10, 10, 10, 10, 10), (10,))
    """
    shape = tuple(int(n) for n in shape)
    ndim = len(shape)
    if isinstance(chunks, str) and chunks != "auto":
        limit, chunks = parse_bytes(chunks), "auto"
    if isinstance(chunks, Mapping):
        chunks = tuple(chunks.get(axis, chunks.get(axis - ndim)) for axis in range(ndim))
    elif not isinstance(chunks, tuple | list):
        chunks = (chunks,) * ndim
    chunks = tuple(chunks)
    for entry in chunks:  # a byte size given for a dimension is the limit (as dask's)
        if isinstance(entry, str) and entry != "auto":
            limit = parse_bytes(entry)
    if len(chunks) != ndim:
        raise ShapeError(
            f"Chunks and shape must be of the same length/dimension. Got chunks={chunks}, "
            f"shape={shape}"
        )
    previous = _previous(previous_chunks, shape)
    entries = [
        ("auto" if isinstance(c, str) else c) if c is not None else previous[axis]
        for axis, c in enumerate(chunks)
    ]
    explicit = [_explicit(entry, size) for entry, size in zip(entries, shape, strict=True)]
    auto = [axis for axis, blocks in enumerate(explicit) if blocks is None]
    if auto:
        itemsize = np.dtype(dtype if dtype is not None else "f8").itemsize
        budget = (limit or auto_chunk_bytes()) / itemsize
        for fixed in explicit:
            if fixed is not None and fixed and max(fixed):
                budget /= max(fixed)
        for axis, size in zip(auto, _auto_sizes(auto, shape, previous, budget), strict=True):
            explicit[axis] = _explicit(size, shape[axis])
    return tuple(blocks for blocks in explicit if blocks is not None)


def _previous(previous_chunks: Any, shape: tuple[int, ...]) -> list[Any]:
    """The previous chunks as one entry per dimension (the whole dimension if none)."""
    if previous_chunks is None:
        return [-1] * len(shape)
    found = []
    for entry, size in zip(previous_chunks, shape, strict=True):
        if entry is None:
            entry = -1
        elif isinstance(entry, tuple | list):
            entry = tuple(int(b) for b in entry)
            if sum(entry) != size:
                entry = max(entry) if entry else -1
        found.append(entry)
    return found


def _explicit(entry: Any, size: int) -> tuple[int, ...] | None:
    """The block sizes of one dimension, or None where they are to be chosen ("auto")."""
    if entry == "auto":
        return None
    if size == 0:
        return (0,)
    if isinstance(entry, tuple | list):
        blocks = tuple(int(b) for b in entry)
        if sum(blocks) != size or any(b < 0 for b in blocks):
            raise ShapeError(f"Chunks do not add up to shape. Got chunks={blocks}, shape={size}")
        return blocks
    if isinstance(entry, float) and math.isnan(entry):
        return (size,)
    step = int(entry)
    if step == -1 or step >= size:
        return (size,)
    if step <= 0:
        raise ShapeError(f"a block size is a positive int, -1 or None, not {entry!r}")
    return (step,) * (size // step) + ((size % step,) if size % step else ())


def _auto_sizes(
    axes: list[int], shape: tuple[int, ...], previous: list[Any], budget: float
) -> list[int]:
    """Block sizes along ``axes`` whose product stays within ``budget`` elements: the
    whole dimensions if they fit, else about equal shares, rounded down to multiples of
    the previous chunks (never below one of them)."""
    sizes = {axis: max(shape[axis], 1) for axis in axes}
    if math.prod(sizes.values()) <= budget:
        return [shape[axis] for axis in axes]
    base = {axis: _base(previous[axis], shape[axis]) for axis in axes}
    chosen: dict[int, int] = {}
    remaining = list(axes)
    left = max(budget, 1.0)
    while remaining:  # dimensions smaller than their share take all they have
        share = left ** (1 / len(remaining))
        small = [axis for axis in remaining if sizes[axis] <= share]
        if not small:
            break
        for axis in small:
            chosen[axis] = sizes[axis]
            left /= sizes[axis]
            remaining.remove(axis)
    for axis in remaining:
        share = left ** (1 / len(remaining))
        chosen[axis] = max(base[axis], int(share // base[axis]) * base[axis])
    return [min(chosen[axis], shape[axis]) for axis in axes]


def _base(previous: Any, size: int) -> int:
    if isinstance(previous, tuple):
        previous = max(previous) if previous else -1
    previous = int(previous)
    return 1 if previous in (-1, 0) or previous >= size else previous
