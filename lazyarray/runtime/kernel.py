"""Running a fused kernel (``lazyarray.ops.kernel.Kernel``) in cache-sized blocks of the
region it computes: the fast way every bundled backend runs kernels, bit-exact with the
reference ``run_program``."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from lazyarray.ops import OPS, Trait
from lazyarray.ops.indexing import encode_index
from lazyarray.ops.kernel import Instruction, Kernel
from lazyarray.ops.rng import RANDOM_BLOCK
from lazyarray.runtime.block_program import Pools, compiled, value_type

Region = tuple[tuple[int, int], ...]
"""Per dimension of a kernel's elementwise shape, the [start, stop) being computed."""

MapBlocks = Callable[[Callable[[tuple[int, int]], Any], list[tuple[int, int]]], Iterable[Any]]


def run_blocked(
    kernel: Kernel,
    values: Sequence[Any],
    region: Region | None = None,
    *,
    block_bytes: int,
    map_blocks: MapBlocks = map,
    check: Callable[[], None] | None = None,
) -> Any:
    """``kernel`` over ``region`` of its elementwise shape (all of it by default);
    ``values`` are its inputs cut to that region.

    The region is cut along its first axis into blocks of about ``block_bytes``, so the
    temporaries stay in cache; ``map_blocks`` runs them (a thread pool's ``map``, or the
    builtin one inside a task that is already parallel), each through the kernel's
    block program (``lazyarray.runtime.block_program``), bit-exact with numpy. ``check``
    runs before each block (it raises to stop the kernel: a cancelled job). Sources
    (random, full ...) are generated per block, whole random blocks at a time. A trailing
    reduction reduces each block and its result keeps the reduced dimensions (size 1),
    ready to be combined across regions.
    """
    shape = kernel.shape
    region = region or tuple((0, n) for n in shape)
    sizes = tuple(stop - start for start, stop in region)
    reduction = kernel.reduction
    reduce_attrs: dict[str, Any] = {}
    if reduction is not None:
        reduce_attrs = dict(reduction.attrs)
        axis = reduce_attrs.get("axis")
        reduce_attrs["axis"] = tuple(range(len(shape))) if axis is None else tuple(axis)
        reduce_attrs["keepdims"] = True
    reduce = None if reduction is None else OPS[reduction.op].impl
    first = region[0][0] if shape else 0
    block_program = compiled(kernel, [value_type(v) for v in values])
    sources = {
        position: (source.op, dict(source.attrs), _own_shape(source))
        for position, source in kernel.sources().items()
    }
    pools = Pools()

    def run(rows: tuple[int, int], out: np.ndarray[Any, Any] | None = None) -> Any:
        if check is not None:
            check()
        here = (rows, *region[1:]) if shape else region
        local = [_rows_of(v, sizes, rows[0] - first, rows[1] - first) for v in values]
        generated = {
            position: _source(op, dict(source_attrs), own, here)
            for position, (op, source_attrs, own) in sources.items()
        }

        def finish(value: Any) -> Any:
            if reduce is not None:
                return reduce(value, **reduce_attrs)
            if out is not None and value is not out:
                out[...] = value
            return value

        return block_program.run(local, generated, pools.here(), finish, out)

    try:
        if not shape or sizes[0] == 0:
            return run(region[0] if shape else (0, 1))
        itemsize = max(
            [dtype.itemsize for dtype in kernel.dtypes]
            + [v.itemsize for v in values if isinstance(v, np.ndarray)]
        )
        per_block = rows_per_block(block_bytes, math.prod(sizes[1:]) * itemsize)
        bounds = _row_blocks(region[0], per_block, sizes[1:], kernel)
        if len(bounds) == 1 and reduce is not None:
            return run(bounds[0])
        if reduce is not None and 0 in reduce_attrs["axis"]:  # combine the blocks' partials
            parts = np.concatenate(list(map_blocks(run, bounds)))
            return reduce(parts, **reduce_attrs)
        reduced = reduce_attrs.get("axis", ())
        whole = np.empty(
            tuple(1 if d in reduced else n for d, n in enumerate(sizes)), kernel.result.dtype
        )

        def fill(rows: tuple[int, int]) -> None:
            part = whole[rows[0] - first : rows[1] - first]
            if reduction is None:
                run(rows, part)
            else:
                part[...] = run(rows)

        for _ in map_blocks(fill, bounds):
            pass
        return whole
    finally:  # the blocks' closure lets go of the inputs: a failed block's frames,
        values = ()  # kept by its error, would keep them as long as the error lives


def _row_blocks(
    rows: tuple[int, int], per_block: int, row_shape: tuple[int, ...], kernel: Kernel
) -> list[tuple[int, int]]:
    """[start, stop) of each block; where random sources' rows tile whole random blocks,
    block edges fall on theirs, so none is drawn twice."""
    row_size = math.prod(row_shape)
    drawn = any(Trait.RANDOM in OPS[source.op].traits for source in kernel.sources().values())
    if drawn and row_size and RANDOM_BLOCK % row_size == 0:
        rows_per_random_block = RANDOM_BLOCK // row_size
        per_block = max(1, round(per_block / rows_per_random_block)) * rows_per_random_block
    return row_bounds(*rows, per_block)


def rows_per_block(block_bytes: int, row_bytes: int) -> int:
    return max(1, block_bytes // max(1, row_bytes))


def row_bounds(start: int, stop: int, per_block: int) -> list[tuple[int, int]]:
    """[start, stop) cut into blocks of ``per_block`` rows, edges on multiples of it."""
    cuts = [start, *range((start // per_block + 1) * per_block, stop, per_block), stop]
    return list(itertools.pairwise(cuts))


def _rows_of(value: Any, sizes: tuple[int, ...], start: int, stop: int) -> Any:
    """Rows [start, stop) of an input broadcast to ``sizes`` (broadcast dims whole)."""
    if not isinstance(value, np.ndarray) or value.ndim != len(sizes) or not sizes:
        return value
    if value.shape[0] == 1 and sizes[0] != 1:
        return value
    return value[start:stop]


def _own_shape(source: Instruction) -> tuple[int, ...]:
    """A source's shape, as its type rule gives it."""
    return tuple(int(n or 0) for n in OPS[source.op].infer((), dict(source.attrs)).shape)


def _source(op: str, attrs: dict[str, Any], own: tuple[int, ...], region: Region) -> Any:
    """A source instruction's values in ``region`` of the kernel's shape. Its own shape
    ``own`` broadcasts to the kernel's: each of its dimensions is cut like the kernel's,
    or is of size 1 and whole. A generated source (``Trait.GENERATED``) takes the
    ``region`` (an encoded index of basic slices) and generates exactly it; any other is
    generated whole and cut."""
    spans = tuple(
        (0, 1) if size == 1 else bounds
        for size, bounds in zip(own, region[len(region) - len(own) :], strict=True)
    )
    if spans == tuple((0, n) for n in own):
        return OPS[op].impl(**attrs)
    index = tuple(slice(a, b, 1) for a, b in spans)
    if attrs.get("region") is None and Trait.GENERATED in OPS[op].traits:
        return OPS[op].impl(**attrs, region=encode_index(index))
    return OPS[op].impl(**attrs)[index]
