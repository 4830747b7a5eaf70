"""Type rules that ask numpy: run the real numpy function on stand-in arrays.

A stand-in is a zero-strided broadcast of one element, so any view-producing function
(transpose, slicing, flip, squeeze, ...) runs in O(1) whatever the shape, and raises
numpy's own errors in numpy's own words. Unknown sizes are tried with several stand-in
sizes; a result size that differs between tries is unknown too.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from lazyarray.errors import AxisError, CastError, LazyIndexError, LinAlgError, ShapeError
from lazyarray.graph import Node
from lazyarray.ops.registry import Infer
from lazyarray.types import ArrayType, Shape

_UNKNOWN_STANDINS = (2**31 - 1, 2**31 - 2, 0, 1)


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
    if not any(None in t.shape for t in types):
        return _run(fn, types, attrs, 0)
    results: list[Shape] = []
    for fill in _UNKNOWN_STANDINS:
        try:
            results.append(_run(fn, types, attrs, fill))
        except Exception:
            if not results:  # the first (huge) stand-in must work
                raise
    first = results[0]
    return tuple(
        None if any(len(r) != len(first) or r[i] != size for r in results) else size
        for i, size in enumerate(first)
    )


def _run(
    fn: Callable[..., Any], types: Sequence[ArrayType], attrs: Mapping[str, Any], fill: int
) -> Shape:
    arrays = [standin(t.dtype, [fill if d is None else d for d in t.shape]) for t in types]
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
