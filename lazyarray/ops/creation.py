"""Sources of data: literals, parameters, creation functions and seeded random arrays.

Random arrays are counter-based: the flat array is cut into fixed blocks and block ``k``
of stream ``s`` is drawn from ``SeedSequence(seed, spawn_key=(s, k))``. Any slice of the
array can be generated alone, in any order, on any backend, with the same values.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from lazyarray.errors import ArgumentError, CastError
from lazyarray.graph import Literal, Node, existing
from lazyarray.ops.indexing import decode_index
from lazyarray.ops.registry import Kind, OpDef, apply, register
from lazyarray.types import (
    WEAK_PYTHON_TYPES,
    ArrayType,
    as_dtype,
    check_supported_dtype,
    normalize_shape,
)

RANDOM_BLOCK = 2**18


def constant_node(value: Any) -> Node:
    """The constant node of an ndarray (wrapped, never copied or read) or a scalar."""
    if isinstance(value, np.ndarray):
        return apply("constant", (), value=Literal.of(value))
    if isinstance(value, np.generic) and value.dtype.kind not in "biufcmM":
        raise CastError(f"unsupported literal {value!r} of dtype {value.dtype}")
    # the token tells 1 from 1.0 from True, and 0.0 from -0.0, which compare equal
    token = f"{type(value).__name__}:{value!r}"
    found = existing("constant", (), (("token", token), ("value", value)))
    return found if found is not None else apply("constant", (), value=value, token=token)


def _constant(*, value: Any, token: str = "") -> Any:
    return value.value if isinstance(value, Literal) else value


def _constant_rule(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
    value = attrs["value"]
    if isinstance(value, Literal):
        array = value.value
        masked = isinstance(array, np.ma.MaskedArray)
        return ArrayType(check_supported_dtype(array.dtype), array.shape, masked)
    python_type = type(value)
    if python_type is bool:  # numpy promotes Python bools as np.bool_, the lowest kind
        return ArrayType(np.dtype(np.bool_), ())
    if python_type in WEAK_PYTHON_TYPES:
        return ArrayType(WEAK_PYTHON_TYPES[python_type], (), weak=python_type)
    return ArrayType(check_supported_dtype(np.asarray(value).dtype), ())


def _parameter(*, name: str, **_: Any) -> Any:
    raise ArgumentError(f"parameter {name!r} has no value; pass it to compute({name}=...)")


def _parameter_rule(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
    return ArrayType(attrs["dtype"], attrs["shape"], attrs.get("masked", False))


def _full(*, shape: tuple[int, ...], fill_value: Any, dtype: np.dtype[Any]) -> Any:
    return np.full(shape, fill_value, dtype=dtype)


def _full_rule(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
    dtype = check_supported_dtype(as_dtype(attrs["dtype"]))
    np.array(attrs["fill_value"]).astype(dtype)  # numpy's error for an unusable fill value
    return ArrayType(dtype, normalize_shape(attrs["shape"]))


def _full_like(x: Any, *, fill_value: Any, dtype: np.dtype[Any]) -> Any:
    return np.full(np.shape(x), fill_value, dtype=dtype)


def _full_like_rule(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
    (x,) = inputs
    return ArrayType(as_dtype(attrs["dtype"]), x.type.shape)


def arange_length(start: float, stop: float, step: float) -> int:
    if step == 0:
        raise ArgumentError("Maximum allowed size exceeded")
    return max(0, math.ceil((stop - start) / step))


def _arange(*, start: Any, stop: Any, step: Any, dtype: np.dtype[Any]) -> Any:
    return np.arange(start, stop, step, dtype=dtype)


def _arange_rule(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
    length = arange_length(attrs["start"], attrs["stop"], attrs["step"])
    return ArrayType(check_supported_dtype(attrs["dtype"]), (length,))


def _linspace(*, start: Any, stop: Any, num: int, endpoint: bool, dtype: np.dtype[Any]) -> Any:
    return np.linspace(start, stop, num, endpoint=endpoint, dtype=dtype)


def _linspace_rule(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
    if attrs["num"] < 0:
        raise ArgumentError(f"Number of samples, {attrs['num']}, must be non-negative.")
    return ArrayType(check_supported_dtype(attrs["dtype"]), (attrs["num"],))


def _eye(*, n: int, m: int, k: int, dtype: np.dtype[Any]) -> Any:
    return np.eye(n, m, k, dtype=dtype)


def _eye_rule(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
    return ArrayType(
        check_supported_dtype(attrs["dtype"]), normalize_shape((attrs["n"], attrs["m"]))
    )


# --- seeded random arrays ------------------------------------------------------------

_DISTRIBUTIONS = {
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
    values = np.asarray(_DISTRIBUTIONS[distribution](generator, RANDOM_BLOCK, params))
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


def _random(
    *,
    shape: tuple[int, ...],
    seed: int,
    stream: int,
    distribution: str,
    params: tuple[Any, ...],
    dtype: np.dtype[Any],
    region: tuple[Any, ...] | None = None,
) -> Any:
    if region is not None:
        index = decode_index(region)
        return random_region(seed, stream, distribution, params, shape, index, dtype)
    size = math.prod(shape)
    return random_values(seed, stream, distribution, params, 0, size, dtype).reshape(shape)


def _random_rule(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
    if attrs["distribution"] not in _DISTRIBUTIONS:
        raise ArgumentError(f"unknown distribution {attrs['distribution']!r}")
    shape = normalize_shape(attrs["shape"])
    region = attrs.get("region")
    if region is not None:
        index = decode_index(region)
        shape = tuple(
            len(range(*item.indices(size or 0)))
            for item, size in zip(index, shape, strict=True)
            if isinstance(item, slice)
        )
    return ArrayType(attrs["dtype"], shape)


def _dask_array(*, value: Literal) -> Any:
    """A dask array's values, for backends that do not run dask graphs themselves."""
    return value.value.compute()


def _dask_array_rule(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
    array = attrs["value"].value
    shape = tuple(None if math.isnan(d) else int(d) for d in array.shape)
    masked = isinstance(getattr(array, "_meta", None), np.ma.MaskedArray)
    return ArrayType(check_supported_dtype(np.dtype(array.dtype)), shape, masked)


ROWS = [
    OpDef("constant", Kind.SOURCE, _constant, _constant_rule, _constant, arity=0),
    OpDef("dask_array", Kind.SOURCE, _dask_array, _dask_array_rule, _dask_array, arity=0),
    OpDef("parameter", Kind.SOURCE, _parameter, _parameter_rule, _parameter, arity=0),
    OpDef("full", Kind.CREATION, _full, _full_rule, _full, "full", arity=0),
    OpDef("full_like", Kind.CREATION, _full_like, _full_like_rule, _full_like, arity=1),
    OpDef("arange", Kind.CREATION, _arange, _arange_rule, _arange, "arange", arity=0),
    OpDef("linspace", Kind.CREATION, _linspace, _linspace_rule, _linspace, "linspace", arity=0),
    OpDef("eye", Kind.CREATION, _eye, _eye_rule, _eye, "eye", arity=0),
    OpDef("random", Kind.SOURCE, _random, _random_rule, _random, arity=0),
]

register(*ROWS)
