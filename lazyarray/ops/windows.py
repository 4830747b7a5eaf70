"""Sliding windows: numpy's ``lib.stride_tricks.sliding_window_view``, which xarray's
``rolling`` is built on. numpy returns a read-only strided view of its input; a lazy
result, like every lazy result, is the caller's own copy. The type rule is shape
arithmetic (every window shortens its axis by ``w - 1`` and is appended as a new axis),
so unknown sizes stay unknown and a window known too large is refused when written."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from lazyarray.errors import OpArgumentError, OpValueError
from lazyarray.graph import Node
from lazyarray.ops.arguments import axes_tuple, integer
from lazyarray.ops.attrtypes import NEVER, OPTIONAL_AXES, SIZE, TupleOf, gives
from lazyarray.ops.manipulation import data_and_mask
from lazyarray.ops.registry import Kind, OpDef, Trait, register
from lazyarray.ops.signature import Param, Signature
from lazyarray.types import ArrayType, normalize_axis


def _sliding_window_view(
    x: Any, window_shape: tuple[int, ...], axis: tuple[int, ...] | None = None
) -> Any:
    return np.lib.stride_tricks.sliding_window_view(x, window_shape, axis)


@gives(TupleOf(SIZE, 64))
def _window_shape(value: Any, inputs: tuple[Node, ...]) -> tuple[int, ...]:
    """An int or a sequence of ints, none negative (numpy's first check); a bool is no
    window (numpy refuses it where it makes the view)."""
    given = tuple(value) if np.iterable(value) else (value,)
    if any(isinstance(w, (bool, np.bool_)) for w in given):
        raise OpArgumentError("an integer is required")
    windows = tuple([integer(w) for w in given])
    if any(w < 0 for w in windows):
        raise OpValueError("`window_shape` cannot contain negative values")
    return windows


@gives(OPTIONAL_AXES)
def _window_axes(value: Any, inputs: tuple[Node, ...]) -> tuple[int, ...] | None:
    """The windowed axes, normalized; an axis may be windowed more than once (numpy's
    ``allow_duplicate=True``). ``None`` (every axis) stays ``None``: the rule says
    numpy's own words when its windows do not match the axes."""
    axes = axes_tuple(value)
    if axes is None:
        return None
    ndim = inputs[0].type.ndim
    return tuple([normalize_axis(a, ndim) for a in axes])


def _sliding_window_rule(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
    (x,) = inputs
    windows: tuple[int, ...] = attrs["window_shape"]
    axes: tuple[int, ...] | None = attrs.get("axis")
    if axes is None:
        axes = tuple(range(x.type.ndim))
        if len(windows) != len(axes):
            raise OpValueError(
                "Since axis is `None`, must provide window_shape for all dimensions of `x`; "
                f"got {len(windows)} window_shape elements and `x.ndim` is {x.type.ndim}."
            )
    elif len(windows) != len(axes):
        raise OpValueError(
            "Must provide matching length window_shape and axis; got "
            f"{len(windows)} window_shape elements and {len(axes)} axes elements."
        )
    trimmed = list(x.type.shape)
    for axis, window in zip(axes, windows, strict=True):
        size = trimmed[axis]
        if size is None:
            continue
        if size < window:
            raise OpValueError("window shape cannot be larger than input array shape")
        trimmed[axis] = size - window + 1
    return x.type.with_(shape=(*trimmed, *windows), weak=None)


@gives(NEVER)
def _ignored_flag(value: Any, inputs: tuple[Node, ...]) -> None:
    """numpy's ``subok=`` and ``writeable=``: a lazy result is its caller's own array,
    masked where its input is, so neither changes it."""
    return None


_SIGNATURE = Signature(
    ("x",),
    (
        Param("window_shape", _window_shape),
        Param("axis", _window_axes, None),
        Param("subok", _ignored_flag, None, keyword=True),
        Param("writeable", _ignored_flag, None, keyword=True),
    ),
)

ROWS = [
    OpDef(
        "sliding_window_view",
        Kind.SHAPE,
        _sliding_window_view,
        _sliding_window_rule,
        data_and_mask(_sliding_window_view),  # numpy.ma has none: data and mask alike
        numpy_functions=(np.lib.stride_tricks.sliding_window_view,),
        traits=frozenset({Trait.VIEW}),
        arity=1,
        signature=_SIGNATURE,
        namespaces=("lib.stride_tricks",),
        doc=(
            "numpy's ``lib.stride_tricks.sliding_window_view``, lazily: every window of "
            "``window_shape`` along ``axis``, as new last axes (the caller's own copy, "
            "not a read-only view; masked input windows its mask alike)."
        ),
    ),
]

register(*ROWS)
