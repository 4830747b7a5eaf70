"""Result types: dtype, shape (``None`` for a size known only after running), masked.

numpy is the source of truth for promotion: the rules here ask numpy and cache the answer.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from lazyarray.errors import (
    AxisError,
    CastError,
    OpArgumentError,
    ShapeError,
    ValueOverflowError,
)

Shape = tuple[int | None, ...]

# The reference API's short names; anything else goes through ``np.dtype``.
_DTYPE_ALIASES = {
    "int": np.dtype(np.int64),
    "uint": np.dtype(np.uint64),
    "float": np.dtype(np.float64),
    "complex": np.dtype(np.complex128),
    "bool": np.dtype(np.bool_),
}

# Python scalars stay "weak" (NEP 50): ``float32_array + 1.0`` is float32.
WEAK_PYTHON_TYPES: dict[type, np.dtype[Any]] = {
    bool: np.dtype(np.bool_),
    int: np.dtype(np.int64),
    float: np.dtype(np.float64),
    complex: np.dtype(np.complex128),
}


_KEEP: Any = object()  # a field ``ArrayType.with_`` leaves as it is


class ArrayType(NamedTuple):
    """What is known about a node's value before it runs."""

    dtype: np.dtype[Any]
    shape: Shape
    masked: bool = False
    weak: type | None = None  # the Python scalar type of a weakly typed literal

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int | None:
        if any(d is None for d in self.shape):
            return None
        return math.prod(self.shape)  # type: ignore[arg-type]

    @property
    def promotion_key(self) -> np.dtype[Any] | type:
        """What numpy's promotion should see: the Python type for weak scalars."""
        return self.weak if self.weak is not None else self.dtype

    def with_(
        self, *, dtype: Any = _KEEP, shape: Any = _KEEP, masked: Any = _KEEP, weak: Any = _KEEP
    ) -> ArrayType:
        """This type with the given fields changed (``_replace`` without its Python loop:
        type rules call it for most nodes)."""
        return _tuple_new(
            ArrayType,
            (
                self[0] if dtype is _KEEP else dtype,
                self[1] if shape is _KEEP else shape,
                self[2] if masked is _KEEP else masked,
                self[3] if weak is _KEEP else weak,
            ),
        )


_tuple_new = tuple.__new__


def new_type(dtype: np.dtype[Any], shape: Shape, masked: bool = False) -> ArrayType:
    """``ArrayType(dtype, shape, masked)`` without NamedTuple's Python-level ``__new__``
    (graph construction's hot path)."""
    return _tuple_new(ArrayType, (dtype, shape, masked, None))


def as_dtype(spec: Any) -> np.dtype[Any]:
    """``"int"``/``"float"``/``"bool"`` as in the reference API, else ``np.dtype(spec)``."""
    if isinstance(spec, np.dtype):
        return spec
    if isinstance(spec, str) and spec in _DTYPE_ALIASES:
        return _DTYPE_ALIASES[spec]
    # classes (np.float32, float) and strings have no ``numpy_dtype`` (asking raises
    # inside getattr: slow); a ``DType`` proxy has
    dtype_attr = None if isinstance(spec, (type, str)) else getattr(spec, "numpy_dtype", None)
    if isinstance(dtype_attr, np.dtype):
        return dtype_attr
    try:
        dtype: np.dtype[Any] = np.dtype(spec)
        return dtype
    except TypeError as exc:
        raise CastError(f"data type {spec!r} not understood") from exc


def check_supported_dtype(dtype: np.dtype[Any]) -> np.dtype[Any]:
    if dtype.kind not in "biufcmM":
        raise CastError(
            f"lazyarray arrays hold numeric, boolean and datetime data; got dtype {dtype}"
        )
    return dtype


def shape_text(shape: Shape) -> str:
    """numpy's tuple notation, ``?`` for unknown sizes: ``(3, ?)``, ``(3,)``, ``()``."""
    dims = ", ".join("?" if d is None else str(d) for d in shape)
    return f"({dims}{',' if len(shape) == 1 else ''})"


MAX_INTP = int(np.iinfo(np.intp).max)


def as_size(value: Any) -> int:
    """One size as numpy takes it: an integer or an ``operator.index``-able object,
    never a float, a string or a bool."""
    if isinstance(value, (bool, np.bool_)):
        raise OpArgumentError("an integer is required")
    try:
        return operator.index(value)
    except TypeError:
        name = type(value).__name__
        raise OpArgumentError(f"'{name}' object cannot be interpreted as an integer") from None


def normalize_shape(shape: Any, itemsize: int = 1) -> Shape:
    """A shape as numpy takes it (an int or a sequence of ints; ``None`` for a size
    known only after running), refused where numpy refuses it, in numpy's words: no
    negative sizes, each size an intp, and ``size * itemsize`` within intp (numpy's
    rule for an array, checked once the dtype is known).

    >>> normalize_shape(3), normalize_shape((2, np.int8(4)))
    ((3,), (2, 4))
    """
    if shape is None:
        raise OpArgumentError("Use () not None as shape arguments")
    try:
        dims = tuple(shape)
    except TypeError:
        try:
            dims = (as_size(shape),)
        except OpArgumentError:
            raise OpArgumentError(
                f"expected a sequence of integers or a single integer, got '{shape!r}'"
            ) from None
    result = tuple(None if d is None else as_size(d) for d in dims)
    nbytes = itemsize
    for size in result:
        if size is None:
            continue
        if not -MAX_INTP - 1 <= size <= MAX_INTP:
            raise ShapeError("Maximum allowed dimension exceeded")
        if size < 0:
            raise ShapeError("negative dimensions are not allowed")
        nbytes *= size or 1  # numpy skips empty dimensions here
        if nbytes > MAX_INTP:
            raise ShapeError(
                "array is too big; `arr.size * arr.dtype.itemsize` is larger than the "
                "maximum possible size."
            )
    return result


def normalize_axis(axis: int, ndim: int) -> int:
    """numpy's axis normalization and wording."""
    if not -ndim <= axis < ndim:
        raise AxisError(f"axis {axis} is out of bounds for array of dimension {ndim}")
    return axis % ndim if ndim else 0


def normalize_axes(axis: int | Sequence[int] | None, ndim: int) -> tuple[int, ...]:
    """A sorted, duplicate-free tuple of axes; ``None`` means every axis."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (int, np.integer)):
        return (normalize_axis(int(axis), ndim),)
    if type(axis) is tuple and len(axis) == 1:
        return (normalize_axis(int(axis[0]), ndim),)
    axes = tuple([normalize_axis(int(a), ndim) for a in axis])
    if len(set(axes)) != len(axes):
        raise ValueError("repeated axis")
    return tuple(sorted(axes))


def broadcast_shapes(*shapes: Shape) -> Shape:
    """``np.broadcast_shapes`` that also accepts unknown (``None``) sizes."""
    if len(shapes) == 2:  # the common case, fast: equal shapes or a scalar
        first, second = shapes
        if first == second or not second:
            return first
        if not first:
            return second
    else:
        first = shapes[0]
        if all(s == first for s in shapes):
            return first
    ndim = max(len(s) for s in shapes)
    padded = [(1,) * (ndim - len(s)) + tuple(s) for s in shapes]
    result: list[int | None] = []
    for sizes in zip(*padded, strict=True):
        known = {d for d in sizes if d is not None and d != 1}
        if len(known) > 1:
            shown = ", ".join(str(tuple(s)) for s in shapes)
            raise ShapeError(
                f"shape mismatch: objects cannot be broadcast to a single shape. "
                f"Mismatch is between shapes {shown}"
            )
        if known:
            result.append(known.pop())
        elif None in sizes:
            result.append(None)
        else:
            result.append(1)
    return tuple(result)


_RESULT_TYPE_CACHE: dict[tuple[Any, ...], np.dtype[Any]] = {}


def result_type(*keys: np.dtype[Any] | type) -> np.dtype[Any]:
    """``np.result_type`` with weak Python scalars, cached."""
    cached = _RESULT_TYPE_CACHE.get(keys)
    if cached is None:
        probes = [_weak_probe(k) if isinstance(k, type) else k for k in keys]
        try:
            cached = np.result_type(*probes)
        except TypeError as exc:
            raise CastError(str(exc)) from exc
        _RESULT_TYPE_CACHE[keys] = cached
    return cached


def _weak_probe(python_type: type) -> Any:
    return python_type(0)


def check_python_int_fits(value: Any, dtype: np.dtype[Any]) -> None:
    """NumPy 2 refuses ``uint8_array + 300``; refuse it when written, in numpy's words."""
    if type(value) is int and dtype.kind in "iu":
        info = np.iinfo(dtype)
        if not info.min <= value <= info.max:
            raise ValueOverflowError(f"Python integer {value} out of bounds for {dtype}")
