"""Type rules that ask numpy: run the real numpy function on stand-in arrays.

A stand-in is a zero-strided broadcast of one element, so any view-producing function
(transpose, slicing, flip, squeeze, ...) runs in O(1) whatever the shape, and raises
numpy's own errors in numpy's own words. Unknown sizes are tried with several stand-in
sizes; a result size that differs between tries is unknown too. The largest stand-in
size is as large as numpy allows: a stand-in is still an array, whose element count
(and byte count) must fit in an ``intp`` however many of its sizes are unknown.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from lazyarray.errors import (
    AxisError,
    CastError,
    LazyArrayError,
    LazyIndexError,
    LinAlgError,
    ShapeError,
    UnsupportedOperation,
)
from lazyarray.graph import Node
from lazyarray.ops.registry import Infer
from lazyarray.types import ArrayType, Shape

# an unknown size stands in as this, or as less where the array would be too big
_LARGEST_STANDIN = 2**31 - 1
# numpy refuses an array whose ``size * itemsize`` (or an iterator whose size) is over this
_MOST_BYTES = np.iinfo(np.intp).max


def standin(dtype: np.dtype[Any], shape: Sequence[int]) -> np.ndarray[Any, Any]:
    return np.broadcast_to(np.zeros((), dtype=dtype), tuple(shape))


def as_numpy_error(exc: Exception) -> Exception:
    """numpy's exception, re-raised as lazyarray's subclass of the same builtin
    (LinAlgError and AxisError are ValueErrors: they are tested first)."""
    message = str(exc)
    if isinstance(exc, np.linalg.LinAlgError):
        return LinAlgError(message)
    if isinstance(exc, np.exceptions.AxisError):
        return AxisError(message)
    if isinstance(exc, IndexError):
        return LazyIndexError(message)
    if isinstance(exc, TypeError):
        return CastError(message)
    if isinstance(exc, ValueError):
        return ShapeError(message)
    return exc


def typed_once(resolve: Callable[[Node, Mapping[str, Any]], ArrayType]) -> Infer:
    """A one-input type rule remembering its answers per (input type, attributes): a
    chain of reductions, scans or reshapes repeats a few."""
    typed: dict[tuple[Any, ...], ArrayType] = {}

    def infer(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
        (x,) = inputs
        key = (x.type, tuple(attrs.items()))
        found = typed.get(key)
        if found is None:
            found = resolve(x, attrs)
            if len(typed) >= 1024:
                typed.clear()
            typed[key] = found
        return found

    return infer


def view_shape(
    fn: Callable[..., Any], types: Sequence[ArrayType], attrs: Mapping[str, Any]
) -> Shape:
    """The shape of ``fn(*standins, **attrs)``, with unknown sizes where they matter.
    Remembered per function, input dtypes and shapes, and attributes (which are
    hashable interning keys): numpy is asked once per combination."""
    try:
        key = (fn, tuple([(t.dtype, t.shape) for t in types]), tuple(attrs.items()))
        shape = _SHAPES.get(key)
    except TypeError:  # an unhashable attribute: not remembered
        return _view_shape(fn, types, attrs)
    if shape is None:
        shape = _view_shape(fn, types, attrs)
        if len(_SHAPES) >= _SHAPE_ENTRIES:
            _SHAPES.clear()
        _SHAPES[key] = shape
    return shape


_SHAPES: dict[tuple[Any, ...], Shape] = {}
_SHAPE_ENTRIES = 4096


def _view_shape(
    fn: Callable[..., Any], types: Sequence[ArrayType], attrs: Mapping[str, Any]
) -> Shape:
    """Each unknown size stands in as a large size, one less, 0 and 1, all at once; where
    numpy refuses some of these (``squeeze`` wants 1, ``x[5]`` more than 5), each
    unknown size is also varied alone from a try numpy took, so that a result size
    is known only if no unknown size it was tried with changes it. A refusal of every
    try is numpy's, in its words for the first."""
    unknown = [
        (i, axis) for i, t in enumerate(types) for axis, d in enumerate(t.shape) if d is None
    ]
    if not unknown:
        return _run(fn, types, attrs, {})
    large = _large_standin(types)
    fills = (large, large - 1, 0, 1)
    tries = [dict.fromkeys(unknown, fill) for fill in fills]
    results, refusal = _attempts(fn, types, attrs, tries)
    if not results:
        assert refusal is not None
        raise refusal
    if len(results) < len(tries):
        base = tries[next(iter(results))]
        varied = [
            {**base, position: fill}
            for position in unknown
            for fill in fills
            if fill != base[position]
        ]
        results.update(_attempts(fn, types, attrs, varied)[0])
    shapes = list(results.values())
    first = shapes[0]
    if any(len(shape) != len(first) for shape in shapes):
        raise UnsupportedOperation(
            "a result whose number of dimensions depends on sizes known only when it is "
            "computed is not supported; give those sizes (or the axes) explicitly"
        )
    return tuple(
        None if any(shape[i] != size for shape in shapes) else size for i, size in enumerate(first)
    )


Sizes = Mapping[tuple[int, int], int]  # (input, axis) of an unknown size: its stand-in


def _attempts(
    fn: Callable[..., Any],
    types: Sequence[ArrayType],
    attrs: Mapping[str, Any],
    tries: Sequence[Sizes],
) -> tuple[dict[int, Shape], LazyArrayError | None]:
    """The result shapes of the tries numpy took, by their place in ``tries``, and the
    first refusal."""
    results: dict[int, Shape] = {}
    refusal: LazyArrayError | None = None
    for index, sizes in enumerate(tries):
        try:
            results[index] = _run(fn, types, attrs, sizes)
        except LazyArrayError as exc:  # numpy refuses these sizes: others may do
            refusal = refusal or exc
    return results, refusal


def _large_standin(types: Sequence[ArrayType]) -> int:
    """The largest size that every unknown size of ``types`` can stand in as at once:
    ``n ** unknowns * known * itemsize`` fits in an ``intp`` for each input (a 2-d
    float64 of unknown sizes stands in as 2**30 by 2**30, not 2**31 by 2**31)."""
    large = _LARGEST_STANDIN
    for t in types:
        unknowns = t.shape.count(None)
        if unknowns == 0:
            continue
        # numpy checks the product of the nonzero sizes, even where one size is 0
        known = math.prod(max(d, 1) for d in t.shape if d is not None)
        budget = _MOST_BYTES // (known * max(t.dtype.itemsize, 1))
        root = int(budget ** (1 / unknowns))
        while root**unknowns > budget:  # the float root may round up
            root -= 1
        large = min(large, root)
    if large < 3:  # too few to tell an unknown size from a known 0, 1 or 2
        raise UnsupportedOperation(
            "an array with this many sizes known only when it is computed is not supported "
            "here; give the parameter more of its sizes"
        )
    return large


def _run(
    fn: Callable[..., Any], types: Sequence[ArrayType], attrs: Mapping[str, Any], sizes: Sizes
) -> Shape:
    arrays = [
        standin(t.dtype, [sizes[i, axis] if d is None else d for axis, d in enumerate(t.shape)])
        for i, t in enumerate(types)
    ]
    try:
        result = fn(*arrays, **attrs)
    except (ValueError, TypeError, IndexError) as exc:
        raise as_numpy_error(exc) from None
    return tuple(int(d) for d in np.shape(result))


def probe_dtype(
    fn: Callable[..., Any], types: Sequence[ArrayType], attrs: Mapping[str, Any]
) -> np.dtype[Any]:
    """The dtype of ``fn`` on tiny arrays of ones: numpy decides, no rule re-implemented."""
    arrays: list[Any] = []
    for t in types:
        if t.weak is not None:  # a Python scalar stays one, so promotion stays weak
            arrays.append(t.weak(1))
            continue
        array = np.ones((1,) * t.ndim, dtype=t.dtype)
        masked = np.ma.MaskedArray(array, mask=np.zeros(array.shape, bool)) if t.masked else None
        arrays.append(array if masked is None else masked)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            result = fn(*arrays, **attrs)
        except (ValueError, TypeError, IndexError) as exc:
            raise as_numpy_error(exc) from None
    return np.asarray(result).dtype if not hasattr(result, "dtype") else result.dtype
