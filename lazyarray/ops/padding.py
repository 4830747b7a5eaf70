"""numpy's ``pad``. Its widths (``pad_width``, ``stat_length``) are stored as one
``(before, after)`` pair of ints per axis, numpy's broadcasting of them done once, so
equal requests are one node. Its values (``constant_values``, ``end_values``) are
stored as numpy reads them (the dtype and nesting of ``np.array(value)``): numpy computes
a ramp in the precision of its end values, so ``1`` and ``np.float32(1)`` differ."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import numpy as np

from lazyarray.errors import CastError, OpValueError, ShapeError, UnsupportedOperation
from lazyarray.graph import Node, register_record
from lazyarray.ops.arguments import to_hashable
from lazyarray.ops.attrtypes import (
    HASHABLE,
    OPTIONAL_INT,
    SIZE,
    Record,
    Str,
    Tuple,
    TupleOf,
    gives,
    optional,
)
from lazyarray.ops.registry import Kind, OpDef, register
from lazyarray.ops.signature import Param, Signature
from lazyarray.types import ArrayType, normalize_axis

Pairs = tuple[tuple[Any, Any], ...]

# numpy's modes and the keyword each takes (numpy/lib/_arraypad_impl.py)
MODES: dict[str, tuple[str, ...]] = {
    "constant": ("constant_values",),
    "edge": (),
    "linear_ramp": ("end_values",),
    "maximum": ("stat_length",),
    "mean": ("stat_length",),
    "median": ("stat_length",),
    "minimum": ("stat_length",),
    "reflect": ("reflect_type",),
    "symmetric": ("reflect_type",),
    "wrap": (),
    "empty": (),
}
OPTIONS = ("constant_values", "end_values", "stat_length", "reflect_type")


@register_record
class Values(NamedTuple):
    """An array-like argument as ``np.array`` makes it: its dtype, and its values as
    nested tuples of Python numbers (exact: ``tolist`` of the array)."""

    dtype: str
    values: Any

    def array(self) -> np.ndarray[Any, Any]:
        return np.array(self.values, dtype=self.dtype)


def numpy_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """The options as numpy's ``pad`` takes them (values back to arrays)."""
    return {k: v.array() if isinstance(v, Values) else v for k, v in options.items()}


def _pad(x: Any, pad_width: Pairs, mode: str = "constant", **options: Any) -> Any:
    return np.pad(x, pad_width, mode, **numpy_options(options))  # type: ignore[call-overload]


def as_pairs(value: Any, ndim: int, as_index: bool = False) -> Pairs:
    """numpy's ``_as_pairs``: a scalar, a pair or one pair per axis, as one pair of
    Python numbers per axis; ``as_index``: non-negative integers."""
    if hasattr(value, "__lazyarray_node__"):
        raise UnsupportedOperation("pad takes numbers for its widths and values, not lazy arrays")
    x = np.array(value)
    if x.dtype.kind not in "biufc":
        raise CastError(f"pad cannot take {value!r}: numbers are expected")
    if as_index:
        x = np.round(x).astype(np.intp, copy=False)
    # one value, or one pair ((2, 1) is a value per axis of two axes): for every axis
    if x.ndim < 3 and (x.size == 1 or (x.size == 2 and x.shape != (2, 1))):
        x = np.broadcast_to(x.ravel(), (ndim, 2))
    else:
        try:
            x = np.broadcast_to(x, (ndim, 2))
        except ValueError as exc:
            raise ShapeError(str(exc)) from None
    if as_index and x.size and x.min() < 0:
        raise OpValueError("index can't contain negative values")
    return tuple((a, b) for a, b in x.tolist())


@gives(TupleOf(Tuple(SIZE, SIZE), 64))
def _pad_width(value: Any, inputs: tuple[Node, ...]) -> Pairs:
    ndim = inputs[0].type.ndim
    if type(value) is int and value >= 0:  # the common case, without numpy
        return ((value, value),) * ndim
    if isinstance(value, dict):  # numpy 2.4: {axis: width or (before, after)}
        widths: list[Any] = [(0, 0)] * ndim
        for axis, width in value.items():
            widths[normalize_axis(axis, ndim)] = (width, width) if np.ndim(width) == 0 else width
        value = widths
    array = np.asarray(value)
    if array.dtype.kind != "i":
        raise CastError("`pad_width` must be of integral type.")
    return as_pairs(array, ndim, as_index=True)


@gives(Str(*MODES))
def _mode(value: Any, inputs: tuple[Node, ...]) -> str:
    if callable(value):
        raise UnsupportedOperation("pad with a function as mode is not supported")
    if value not in MODES:
        raise OpValueError(f"mode '{value}' is not supported")
    return str(value)


@gives(optional(Record(Values, dtype=Str(max_length=64), values=HASHABLE)))
def _values(value: Any, inputs: tuple[Node, ...]) -> Values | None:
    if value is None or isinstance(value, Values):
        return value
    as_pairs(value, inputs[0].type.ndim)  # numpy's errors, now
    array = np.array(value)
    return Values(array.dtype.str, to_hashable(array.tolist(), inputs))


@gives(optional(TupleOf(Tuple(OPTIONAL_INT, OPTIONAL_INT), 64)))
def _lengths(value: Any, inputs: tuple[Node, ...]) -> Pairs | None:
    return None if value is None else as_pairs(value, inputs[0].type.ndim, as_index=True)


@gives(optional(Str("even", "odd")))
def _reflect_type(value: Any, inputs: tuple[Node, ...]) -> str | None:
    if value not in (None, "even", "odd"):
        raise OpValueError(f"reflect_type must be 'even' or 'odd', not {value!r}")
    return value  # type: ignore[no-any-return]


def _pad_rule(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
    (x,) = inputs
    widths: Pairs = attrs["pad_width"]
    mode = attrs.get("mode", "constant")
    unsupported = {k for k in OPTIONS if k in attrs} - set(MODES[mode])
    if unsupported:
        raise OpValueError(f"unsupported keyword arguments for mode '{mode}': {unsupported}")
    shape = x.type.shape
    if mode not in ("constant", "empty") and x.type.size == 0:
        for axis, pair in enumerate(widths):
            if shape[axis] == 0 and any(pair):
                raise OpValueError(
                    f"can't extend empty axis {axis} using modes other than 'constant' or 'empty'"
                )
    lengths = attrs.get("stat_length")
    # numpy takes the statistics of every axis, padded or not, of a non-empty array
    stats = mode in ("maximum", "minimum") and x.type.size != 0
    if stats and lengths is not None and any(0 in pair for pair in lengths):
        raise OpValueError("stat_length of 0 yields no value for padding")
    padded = tuple(
        None if size is None else size + before + after
        for size, (before, after) in zip(shape, widths, strict=True)
    )
    return x.type.with_(shape=padded, weak=None)


def _option(name: str, convert: Callable[[Any, tuple[Node, ...]], Any]) -> Param:
    return Param(name, convert, None, keyword=True)


_OPTIONS = (
    _option("constant_values", _values),
    _option("end_values", _values),
    _option("stat_length", _lengths),
    _option("reflect_type", _reflect_type),
)

ROWS = [
    OpDef(
        "pad",
        Kind.SHAPE,
        _pad,
        _pad_rule,
        None,  # numpy.ma has no pad, and numpy's drops the mask
        numpy_functions=(np.pad,),
        arity=1,
        signature=Signature(
            ("x",), (Param("pad_width", _pad_width), Param("mode", _mode, "constant"), *_OPTIONS)
        ),
        numpy_signature=Signature(
            ("array",),
            (Param("pad_width", _pad_width), Param("mode", _mode, "constant"), *_OPTIONS),
        ),
    ),
]

register(*ROWS)
