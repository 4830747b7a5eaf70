"""Writing lazy arrays into array-likes that take ``target[region] = values`` (zarr
arrays, when xarray writes ``to_zarr``), without holding a whole large result.

On the dask backend the expressions are lowered together (``la.to_dask``), cut as the
sources' chunks (xarray aligns those with the target's) and written by
``dask.array.store``, chunk by chunk. On any other backend each source is computed in
slabs along its first dimension, cut on its chunks' edges and about ``dask_chunk_bytes``
each, and every slab is written before the next is computed; the planner pushes each
slab's slice into the sources, so each reads only its part.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import math
from collections.abc import Iterator, Sequence
from typing import Any

from lazyarray.config import options
from lazyarray.errors import UnsupportedOperation
from lazyarray.proxy import BaseArray


def store(
    sources: Any,
    targets: Any,
    lock: Any = None,
    compute: bool = True,
    flush: bool = True,
    regions: Any = None,
    backend: str | None = None,
    **kwargs: Any,
) -> Any:
    """Writes each source into its target (at its region, a tuple of slices). With
    ``compute=False`` (``to_zarr(..., compute=False)``) nothing is written yet: it
    returns a ``dask.delayed`` object that writes when computed, in the context (config,
    backend, assets) of this call; xarray delays writes through dask, whatever the array
    type, so this needs dask."""
    sources = [sources] if isinstance(sources, BaseArray) else list(sources)
    targets = list(targets) if isinstance(targets, list | tuple) else [targets]
    if len(sources) != len(targets):
        raise ValueError(f"{len(sources)} sources for {len(targets)} targets")
    if regions is None or isinstance(regions, tuple):
        regions = [regions] * len(sources)
    name = backend or options.backend
    write = functools.partial(_write, sources, targets, lock, regions, name)
    if compute:
        write()
        return None
    try:
        from dask.delayed import delayed
    except ImportError:
        raise UnsupportedOperation(
            "to_zarr(compute=False) returns a dask object, and dask is not installed; "
            "install dask, or call to_zarr without compute=False"
        ) from None
    context = contextvars.copy_context()
    return delayed(lambda: context.copy().run(write), pure=False)()


def _write(
    sources: list[Any], targets: list[Any], lock: Any, regions: list[Any], backend: str
) -> None:
    if backend == "dask":
        _store_dask(sources, targets, lock, regions)
        return
    guard = lock if lock not in (None, False) else contextlib.nullcontext()
    for source, target, region in zip(sources, targets, regions, strict=True):
        for part, values in _slabs(source, backend):
            with guard:
                target[_within(region, part, source.ndim)] = values


def _store_dask(sources: list[Any], targets: list[Any], lock: Any, regions: list[Any]) -> None:
    import dask.array as da

    from lazyarray.dask import to_dask

    lowered = to_dask(*sources)
    arrays = list(lowered) if isinstance(lowered, tuple) else [lowered]
    # cut as the sources' chunks, which xarray aligned with the target's: no two tasks
    # write parts of one stored chunk (a read-modify-write race)
    arrays = [
        array.rechunk(source.chunks) if not any(map(math.isnan, sum(source.chunks, ()))) else array
        for array, source in zip(arrays, sources, strict=True)
    ]
    da.store(arrays, targets, lock=lock if lock is not None else False, regions=regions)


def _slabs(source: Any, backend: str) -> Iterator[tuple[slice, Any]]:
    """(the slice along the first dimension, its computed values), slab after slab."""
    if source.ndim == 0 or not source.size:
        yield slice(None), source.compute(backend=backend)
        return
    first = [int(b) for b in source.chunks[0]]
    row_bytes = source.nbytes // source.shape[0] if source.shape[0] else 0
    per_slab = max(1, math.floor(options.dask_chunk_bytes / max(row_bytes, 1)))
    start = 0
    for stop in _edges(first, per_slab):
        part = slice(start, stop)
        yield part, source[part].compute(backend=backend)
        start = stop


def _edges(blocks: Sequence[int], rows: int) -> list[int]:
    """Slab ends on block edges, each slab about ``rows`` long (at least one block)."""
    ends: list[int] = []
    position = start = 0
    for size in blocks:
        position += size
        if position - start >= rows:
            ends.append(position)
            start = position
    if not ends or ends[-1] != position:
        ends.append(position)
    return ends


def _within(region: tuple[slice, ...] | None, part: slice, ndim: int) -> tuple[slice, ...]:
    """The target's index of ``part`` (along the first dimension) of a source written
    at ``region``."""
    if ndim == 0:
        return region if region is not None else ()
    if region is None:
        return (part,) + (slice(None),) * (ndim - 1)
    first = region[0]
    offset = (first.start or 0) if isinstance(first, slice) else 0
    start = 0 if part.start is None else part.start
    moved = slice(offset + start, None if part.stop is None else offset + part.stop)
    return (moved, *region[1:])
