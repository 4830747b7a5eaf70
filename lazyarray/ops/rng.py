"""The random engine of the ``random`` row: counter-based streams. The flat array is cut
into fixed blocks and block ``k`` of stream ``s`` is drawn from
``SeedSequence(seed, spawn_key=(s, k))``, so any slice of the array can be generated
alone, in any order, on any backend, with the same values.

It lives with the op tables rather than in ``lazyarray.runtime`` because the row's numpy
implementation, the reference semantics every backend reaches, is built on it.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

RANDOM_BLOCK = 2**18

DISTRIBUTIONS = {
    "random": lambda g, n, p: g.random(n),
    "uniform": lambda g, n, p: g.uniform(p[0], p[1], n),
    "normal": lambda g, n, p: g.normal(p[0], p[1], n),
    "integers": lambda g, n, p: g.integers(p[0], p[1], n),
}


def _generator(seed: int, stream: int, block: int) -> np.random.Generator:
    sequence = np.random.SeedSequence(seed, spawn_key=(stream, block))
    return np.random.Generator(np.random.PCG64(sequence))


@functools.lru_cache(maxsize=4)
def random_block(
    seed: int, stream: int, distribution: str, params: tuple[Any, ...], block: int
) -> np.ndarray[Any, Any]:
    """Block ``block`` (``RANDOM_BLOCK`` values) of one random stream, read-only. The
    last few are kept: regions cut across rows (a chunk of some columns) read the same
    block again, row after row."""
    generator = _generator(seed, stream, block)
    values = np.asarray(DISTRIBUTIONS[distribution](generator, RANDOM_BLOCK, params))
    values.flags.writeable = False
    return values


def _fill_block(
    out: np.ndarray[Any, Any],
    seed: int,
    stream: int,
    distribution: str,
    params: tuple[Any, ...],
    block: int,
) -> bool:
    """Draws a whole block straight into ``out`` (no copy) where numpy can; the values
    are those of ``random_block``."""
    if out.dtype != np.float64 or distribution not in ("random", "normal"):
        return False
    generator = _generator(seed, stream, block)
    if distribution == "random":
        generator.random(out=out)
    else:  # numpy's normal is loc + scale * standard_normal
        generator.standard_normal(out=out)
        out *= params[1]
        out += params[0]
    return True


def random_values(
    seed: int,
    stream: int,
    distribution: str,
    params: tuple[Any, ...],
    start: int,
    stop: int,
    dtype: np.dtype[Any],
) -> np.ndarray[Any, Any]:
    """Flat elements ``[start, stop)`` of a random stream, generating only the blocks
    they touch."""
    out = np.empty(max(stop - start, 0), dtype=dtype)
    position = start
    while position < stop:
        block, offset = divmod(position, RANDOM_BLOCK)
        take = min(RANDOM_BLOCK - offset, stop - position)
        target = out[position - start : position - start + take]
        if take < RANDOM_BLOCK or not _fill_block(
            target, seed, stream, distribution, params, block
        ):
            target[...] = random_block(seed, stream, distribution, params, block)[
                offset : offset + take
            ]
        position += take
    return out


def _contiguous_range(
    index: tuple[Any, ...], shape: tuple[int, ...]
) -> tuple[int, int, tuple[int, ...]] | None:
    """(start, stop, result shape) when ``index`` selects one run of the flat array:
    integers, then one step-1 slice, then whole dimensions."""
    position = 0
    kept: list[int] = []
    for dim, (item, size) in enumerate(zip(index, shape, strict=True)):
        if isinstance(item, slice):
            start, stop, step = item.indices(size)
            inner = shape[dim + 1 :]
            rest = index[dim + 1 :]
            whole = all(
                isinstance(r, slice) and r.indices(n) == (0, n, 1)
                for r, n in zip(rest, inner, strict=True)
            )
            if step != 1 or not whole:
                return None
            stride = math.prod(inner)
            count = max(stop - start, 0)
            kept = [count, *inner]
            first = (position * size + start) * stride
            return first, first + count * stride, tuple(kept)
        position = position * size + item
    return position, position + 1, ()


def random_region(
    seed: int,
    stream: int,
    distribution: str,
    params: tuple[Any, ...],
    shape: tuple[int, ...],
    index: tuple[Any, ...],
    dtype: np.dtype[Any],
) -> np.ndarray[Any, Any]:
    """``array[index]`` of the random array of ``shape``, drawing only the blocks the
    selected elements fall in (memory: the selection, plus one block)."""
    contiguous = _contiguous_range(index, shape)
    if contiguous is not None:
        start, stop, kept = contiguous
        values = random_values(seed, stream, distribution, params, start, stop, dtype)
        return values.reshape(kept)
    positions = [
        np.arange(*item.indices(size)) if isinstance(item, slice) else np.array([item])
        for item, size in zip(index, shape, strict=True)
    ]
    flat = (
        np.ravel_multi_index(np.ix_(*positions), shape).ravel()
        if positions
        else np.zeros(1, np.intp)
    )
    out = np.empty(flat.size, dtype=dtype)
    if flat.size and flat[-1] - flat[0] + 1 == flat.size:  # contiguous: one range
        out[:] = random_values(
            seed, stream, distribution, params, int(flat[0]), int(flat[-1]) + 1, dtype
        )
    else:
        blocks = flat // RANDOM_BLOCK
        for block in np.unique(blocks):
            chosen = blocks == block
            values = random_block(seed, stream, distribution, params, int(block))
            out[chosen] = values[flat[chosen] % RANDOM_BLOCK]
    kept = tuple(
        len(p) for p, item in zip(positions, index, strict=True) if isinstance(item, slice)
    )
    return out.reshape(kept)
