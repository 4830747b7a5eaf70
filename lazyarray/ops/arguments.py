"""The normalizers of op attributes (``Param.convert``): numpy's argument conventions,
each written once, each idempotent (a normalized value normalizes to itself), with
numpy's errors in numpy's words."""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any

import numpy as np

from lazyarray.errors import OpArgumentError, OpValueError, UnsupportedOperation
from lazyarray.graph import Node
from lazyarray.ops.attrtypes import (
    BOOL,
    HASHABLE,
    INT,
    NEVER,
    NONE,
    OPTIONAL_AXES,
    OPTIONAL_AXIS,
    OPTIONAL_DTYPE,
    OPTIONAL_INT,
    SHAPE,
    AttrType,
    Str,
    Union,
    gives,
)
from lazyarray.types import (
    as_dtype,
    check_supported_dtype,
    normalize_axes,
    normalize_axis,
    normalize_shape,
)


def integer(value: Any) -> int:
    """``operator.index`` with a typed error in its (and numpy's) words."""
    try:
        return operator.index(value)
    except TypeError:
        raise OpArgumentError(
            f"'{type(value).__name__}' object cannot be interpreted as an integer"
        ) from None


def axis_index(value: Any) -> int:
    """One axis as numpy takes it: an integer, never a bool (``axis=True`` is no axis)."""
    if isinstance(value, (bool, np.bool_)):
        raise OpArgumentError("an integer is required for the axis")
    return integer(value)


def flag(value: Any, name: str = "flag") -> bool:
    """A boolean option such as ``keepdims``: numpy takes bools and integers only."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    try:
        return bool(operator.index(value))
    except TypeError:
        raise OpArgumentError(
            f"'{type(value).__name__}' object cannot be interpreted as an integer (for {name}=)"
        ) from None


def check_device(device: Any) -> None:
    """Arrays live on the host: ``device`` is ``None`` or the cpu device."""
    if device is not None and str(device) != "cpu":
        raise OpValueError(f"unsupported device {device!r}: lazyarray arrays live on 'cpu'")


def axes_tuple(axis: Any) -> tuple[int, ...] | None:
    """An int or a sequence of ints as a tuple, not yet normalized."""
    if axis is None:
        return None
    if type(axis) is int:  # the common case, before the (slower) Sequence check
        return (axis,)
    if isinstance(axis, Sequence):
        return tuple([axis_index(a) for a in axis])
    return (axis_index(axis),)


# --- Param.convert functions: (value, input nodes) -> canonical attribute -------------


@gives(BOOL)
def to_flag(value: Any, inputs: tuple[Node, ...]) -> bool:
    return flag(value)


@gives(INT)
def to_int(value: Any, inputs: tuple[Node, ...]) -> int:
    return integer(value)


@gives(OPTIONAL_INT)
def to_optional_int(value: Any, inputs: tuple[Node, ...]) -> int | None:
    return None if value is None else integer(value)


@gives(OPTIONAL_AXIS)
def to_axis(value: Any, inputs: tuple[Node, ...]) -> int | None:
    """One axis of the first input, normalized; ``None`` stays (numpy: flatten first)."""
    if value is None:
        return None
    return normalize_axis(axis_index(value), inputs[0].type.ndim)


@gives(OPTIONAL_AXES)
def to_axes(value: Any, inputs: tuple[Node, ...]) -> tuple[int, ...] | None:
    """Axes of the first input (an int or a tuple), sorted and normalized; ``None``
    stays: every axis."""
    if value is None:
        return None
    axes = axes_tuple(value)
    return normalize_axes(axes, inputs[0].type.ndim)


@gives(OPTIONAL_DTYPE)
def to_dtype(value: Any, inputs: tuple[Node, ...]) -> np.dtype[Any] | None:
    return None if value is None else check_supported_dtype(as_dtype(value))


@gives(SHAPE)
def to_shape(value: Any, inputs: tuple[Node, ...]) -> tuple[int | None, ...]:
    return normalize_shape(value)


@gives(HASHABLE)
def to_hashable(value: Any, inputs: tuple[Node, ...]) -> Any:
    """Lists become tuples, numpy scalars Python ones: attributes are interning keys."""
    if isinstance(value, (list, tuple)):
        return tuple([to_hashable(v, inputs) for v in value])
    if isinstance(value, np.generic):
        return value.item()
    return value


@gives(NEVER)
def no_out(value: Any, inputs: tuple[Node, ...]) -> None:
    """``out=``: only ``None`` (lazy arrays are immutable)."""
    if value is None:
        return None
    outs = value if isinstance(value, tuple) else (value,)
    if any(o is not None for o in outs):
        raise UnsupportedOperation("out= is not supported: lazy arrays are immutable")
    return None


def _constants(allowed: tuple[Any, ...]) -> AttrType:
    """The type of one of ``allowed`` (strings, and perhaps ``None``)."""
    kinds: list[AttrType] = [Str(*[a for a in allowed if isinstance(a, str)])]
    if None in allowed:
        kinds.append(NONE)
    return Union(*kinds) if len(kinds) > 1 else kinds[0]


def choice(*allowed: Any) -> Any:
    """A converter accepting only ``allowed`` values (numpy's ``mode=``, ``order=``)."""

    @gives(_constants(allowed))
    def convert(value: Any, inputs: tuple[Node, ...]) -> Any:
        if value not in allowed:
            raise OpValueError(f"{value!r} is not one of {', '.join(repr(a) for a in allowed)}")
        return value

    return convert
