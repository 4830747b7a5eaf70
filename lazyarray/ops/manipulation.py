"""Manipulation ops: roll, tile, repeat, tril/triu, diff, take_along_axis, and the
matrix views (matrix_transpose, diagonal) with trace. Each is a copy of its input's
elements moved about, so the dtype is the input's (trace's is numpy's sum's) and the type
rules are shape arithmetic; views run numpy itself on stand-ins (``view_rule``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from lazyarray.errors import (
    AxisError,
    CastError,
    LazyIndexError,
    OpArgumentError,
    OpValueError,
    ShapeError,
)
from lazyarray.graph import Node
from lazyarray.ops.arguments import axis_index, integer, no_out, to_axis, to_dtype, to_int
from lazyarray.ops.attrtypes import AXES, AXIS, INT, OPTIONAL_AXIS, SIZE, TupleOf, gives
from lazyarray.ops.meta import probe_dtype, view_shape
from lazyarray.ops.registry import Kind, OpDef, register
from lazyarray.ops.shape import view_rule
from lazyarray.ops.signature import Param, Signature
from lazyarray.types import ArrayType, broadcast_shapes, normalize_axis


def data_and_mask(fn: Callable[..., Any]) -> Callable[..., Any]:
    """numpy.ma's way with a rearrangement: data and mask moved alike (its views do
    this); the fill value is kept."""

    def run(x: Any, *rest: Any, **attrs: Any) -> Any:
        if not isinstance(x, np.ma.MaskedArray):
            return fn(x, *rest, **attrs)
        rest = tuple(np.ma.getdata(r) for r in rest)
        data = fn(np.ma.getdata(x), *rest, **attrs)
        mask = fn(np.ma.getmaskarray(x), *rest, **attrs)
        return np.ma.MaskedArray(data, mask=mask, fill_value=x.fill_value)

    return run


_DTYPES: dict[tuple[Any, ...], np.dtype[Any]] = {}


def _probed(impl: Callable[..., Any], x: ArrayType, attrs: Mapping[str, Any]) -> np.dtype[Any]:
    """numpy's result dtype of ``impl`` on ``x``, asked once per dtype, rank and
    attributes (a probe costs tens of microseconds; the rules run per new node)."""
    key = (impl, x.dtype, x.ndim, x.masked, tuple(sorted(attrs.items())))
    dtype = _DTYPES.get(key)
    if dtype is None:
        dtype = _DTYPES[key] = probe_dtype(impl, [x], attrs)
    return dtype


def _times(size: int | None, factor: int) -> int | None:
    """A size times a known factor: unknown stays unknown, except times zero."""
    return 0 if factor == 0 else (None if size is None else size * factor)


# --- roll ---------------------------------------------------------------------------


def _roll(x: Any, shift: Any, axis: Any = None) -> Any:
    return np.roll(x, shift, axis)


@gives(INT | TupleOf(INT, 64))
def _shift(value: Any, inputs: tuple[Node, ...]) -> int | tuple[int, ...]:
    if isinstance(value, (list, tuple)):
        return tuple([integer(v) for v in value])
    return integer(value)


@gives(OPTIONAL_AXIS | AXES)
def _roll_axes(value: Any, inputs: tuple[Node, ...]) -> int | tuple[int, ...] | None:
    """roll's axes keep their order and repeats (numpy adds the shifts of a repeated
    axis); each is normalized."""
    if value is None:
        return None
    ndim = inputs[0].type.ndim
    if isinstance(value, (list, tuple)):
        return tuple([normalize_axis(axis_index(a), ndim) for a in value])
    return normalize_axis(axis_index(value), ndim)


def _roll_rule(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
    (x,) = inputs
    axis = attrs.get("axis")
    if axis is not None:
        try:
            pairs = np.broadcast(attrs["shift"], axis)
        except ValueError as exc:
            raise ShapeError(str(exc)) from None
        if pairs.ndim > 1:
            raise ShapeError("'shift' and 'axis' should be scalars or 1D sequences")
    return x.type.with_(weak=None)


# --- tile ---------------------------------------------------------------------------


def _tile(x: Any, reps: tuple[int, ...]) -> Any:
    return np.tile(x, reps)


@gives(TupleOf(SIZE, 64))
def _repetitions(value: Any, inputs: tuple[Node, ...]) -> tuple[int, ...]:
    """tile's repetitions, one per axis of the result: ones prepended up to the input's
    rank, so ``tile(x, 2)`` and ``tile(x, (1, 2))`` of a matrix are one node."""
    try:
        reps = tuple(value)
    except TypeError:
        reps = (value,)
    counts = tuple([integer(r) for r in reps])
    if any(r < 0 for r in counts):
        raise ShapeError("negative dimensions are not allowed")
    return (1,) * (inputs[0].type.ndim - len(counts)) + counts


def _tile_rule(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
    (x,) = inputs
    reps = attrs["reps"]
    shape = (1,) * (len(reps) - x.type.ndim) + x.type.shape
    sizes = tuple(_times(d, r) for d, r in zip(shape, reps, strict=True))
    return x.type.with_(shape=sizes, weak=None)


# --- repeat -------------------------------------------------------------------------


def _repeat(x: Any, repeats: Any, axis: int | None = None) -> Any:
    return np.repeat(x, repeats, axis)


def _masked_repeat(x: Any, repeats: Any, axis: int | None = None) -> Any:
    return np.ma.repeat(x, np.ma.getdata(repeats), axis)


def _literal(node: Node) -> np.ndarray[Any, Any] | None:
    """The value of a constant node (a literal), or None."""
    if node.op != "constant":
        return None
    value = node.attr("value")
    return np.asarray(getattr(value, "value", value))


def _repeat_rule(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
    """The repeated axis has the sum of the repeats (broadcast to it) as its size; a
    repeats array known only when running leaves that size unknown."""
    x, repeats = inputs
    kind = repeats.type.dtype
    if repeats.type.weak is not int and not np.can_cast(kind, np.intp, "safe"):
        raise CastError(
            f"Cannot cast array data from {kind!r} to {np.dtype(np.intp)!r} according to "
            "the rule 'safe'"
        )
    if repeats.type.ndim > 1:
        raise ShapeError(
            "setting an array element with a sequence. The requested array would exceed "
            "the maximum number of dimension of 1."
        )
    axis = attrs.get("axis")
    along = x.type.size if axis is None else x.type.shape[axis]
    count = repeats.type.shape[0] if repeats.type.ndim else 1
    if count not in (1, None) and along is not None and count != along:
        raise ShapeError(
            f"operands could not be broadcast together with shape ({along},) ({count},)"
        )
    literal = _literal(repeats)
    size: int | None = None
    if literal is not None:
        if (literal < 0).any():
            raise ShapeError(
                "negative dimensions are not allowed"
                if literal.ndim == 0
                else "repeats may not contain negative values."
            )
        if literal.size == 1:
            size = _times(along, int(literal.reshape(-1)[0]))
        else:
            size = int(literal.sum())
    if axis is None:
        return ArrayType(x.type.dtype, (size,), x.type.masked)
    shape = x.type.shape[:axis] + (size,) + x.type.shape[axis + 1 :]
    return ArrayType(x.type.dtype, shape, x.type.masked)


# --- tril, triu ---------------------------------------------------------------------


def _tril(x: Any, k: int = 0) -> Any:
    return np.tril(x, k)


def _triu(x: Any, k: int = 0) -> Any:
    return np.triu(x, k)


def _triangle_rule(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
    """numpy's tril of a vector is the triangle of the vector repeated as rows."""
    (x,) = inputs
    if x.type.ndim == 0:
        raise OpArgumentError("tri() missing 1 required positional argument: 'N'")
    shape = x.type.shape * 2 if x.type.ndim == 1 else x.type.shape
    return x.type.with_(shape=shape, weak=None)


# --- diff ---------------------------------------------------------------------------


def _diff(x: Any, n: int = 1, axis: int = -1) -> Any:
    return np.diff(x, n, axis)


def _masked_diff(x: Any, n: int = 1, axis: int = -1) -> Any:
    return np.ma.diff(x, n, axis)  # type: ignore[no-untyped-call]


@gives(SIZE)
def _order(value: Any, inputs: tuple[Node, ...]) -> int:
    n = integer(value)
    if n < 0:
        raise OpValueError(f"order must be non-negative but got {n!r}")
    return n


@gives(AXIS)
def _diff_axis(value: Any, inputs: tuple[Node, ...]) -> int:
    if inputs[0].type.ndim == 0:
        raise ShapeError("diff requires input that is at least one dimensional")
    return normalize_axis(axis_index(value), inputs[0].type.ndim)


def _diff_rule(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
    (x,) = inputs
    n, axis = attrs.get("n", 1), attrs.get("axis", x.type.ndim - 1)
    size = x.type.shape[axis]
    shape = list(x.type.shape)
    shape[axis] = None if size is None else max(size - n, 0)
    dtype = _probed(_masked_diff if x.type.masked else _diff, x.type, {"axis": axis})
    return ArrayType(dtype, tuple(shape), x.type.masked)


# --- take_along_axis ----------------------------------------------------------------


def _take_along_axis(x: Any, indices: Any, axis: int | None = -1) -> Any:
    return np.take_along_axis(x, np.ma.getdata(indices), axis)


@gives(OPTIONAL_AXIS)
def _along_axis(value: Any, inputs: tuple[Node, ...]) -> int | None:
    """numpy takes ``axis=None`` (the flattened input); the standard, an int."""
    if value is None:
        return None
    return normalize_axis(axis_index(value), inputs[0].type.ndim)


def _take_along_axis_rule(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
    x, indices = inputs
    if indices.type.dtype.kind not in "iu":
        raise LazyIndexError("`indices` must be an integer array")
    axis = attrs.get("axis", x.type.ndim - 1)
    masked = x.type.masked
    if axis is None:
        if indices.type.ndim != 1:
            raise ShapeError("when axis=None, `indices` must have a single dimension.")
        _check_bounds(indices, x.type.size, 0)
        return ArrayType(x.type.dtype, indices.type.shape, masked)
    if indices.type.ndim != x.type.ndim:
        raise ShapeError("`indices` and `arr` must have the same number of dimensions")
    _check_bounds(indices, x.type.shape[axis], axis)
    others = [x.type.shape[:axis] + (1,) + x.type.shape[axis + 1 :]]
    others.append(indices.type.shape[:axis] + (1,) + indices.type.shape[axis + 1 :])
    try:
        shape = broadcast_shapes(*others)
    except ShapeError:
        # numpy's fancy index: an arange per axis of ``x``, and the indices along ``axis``
        ones = (1,) * x.type.ndim
        fancy = [ones[:d] + (n,) + ones[d + 1 :] for d, n in enumerate(x.type.shape)]
        fancy[axis] = indices.type.shape
        raise LazyIndexError(
            "shape mismatch: indexing arrays could not be broadcast together with shapes "
            + "".join(f"{_numpy_shape(s)} " for s in fancy)
        ) from None
    size = indices.type.shape[axis]
    return ArrayType(x.type.dtype, shape[:axis] + (size,) + shape[axis + 1 :], masked)


def _numpy_shape(shape: tuple[int | None, ...]) -> str:
    """A shape as numpy's indexing errors write it: ``(2,1)``, ``(3,)``."""
    return f"({','.join(str(d) for d in shape)}{',' if len(shape) == 1 else ''})"


def _check_bounds(indices: Node, size: int | None, axis: int) -> None:
    values = _literal(indices)
    if values is None or size is None or not values.size:
        return
    high, low = values.max(), values.min()
    if high >= size or low < -size:
        bad = high if high >= size else low
        raise LazyIndexError(f"index {bad} is out of bounds for axis {axis} with size {size}")


# --- matrix views: matrix_transpose, diagonal; trace --------------------------------


def _matrix_transpose(x: Any) -> Any:
    return np.matrix_transpose(x)


def _diagonal(x: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Any:
    return np.diagonal(x, offset, axis1, axis2)


def _trace(
    x: Any, offset: int = 0, axis1: int = 0, axis2: int = 1, dtype: np.dtype[Any] | None = None
) -> Any:
    return np.trace(x, offset, axis1, axis2, dtype)


def _masked_trace(
    x: Any, offset: int = 0, axis1: int = 0, axis2: int = 1, dtype: np.dtype[Any] | None = None
) -> Any:
    """numpy.ma's trace of an array with a mask: the masked diagonal cast to ``dtype``
    (float64 when None: ``astype(None)``), masked values counting as 0. Its result is
    never masked."""
    diagonal = np.ma.diagonal(x, offset, axis1, axis2)
    return np.ma.filled(diagonal.astype(dtype), 0).sum(axis=-1)


def _matrix_axis(name: str) -> Callable[[Any, tuple[Node, ...]], int]:
    """diagonal's and trace's ``axis1``/``axis2``, in numpy's words."""

    @gives(AXIS)
    def convert(value: Any, inputs: tuple[Node, ...]) -> int:
        ndim = inputs[0].type.ndim
        if ndim < 2:
            raise ShapeError("diag requires an array of at least two dimensions")
        axis = axis_index(value)
        if not -ndim <= axis < ndim:
            raise AxisError(f"{name}: axis {axis} is out of bounds for array of dimension {ndim}")
        return axis % ndim

    return convert


def _trace_rule(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
    (x,) = inputs
    view = {k: v for k, v in attrs.items() if k != "dtype"}
    shape = view_shape(_diagonal, [x.type], view)[:-1]
    impl = _masked_trace if x.type.masked else _trace
    typing = {k: v for k, v in attrs.items() if k != "offset"}  # the dtype's arguments
    return ArrayType(_probed(impl, x.type, typing), shape)


# --- rows ---------------------------------------------------------------------------

_AXIS1 = Param("axis1", _matrix_axis("axis1"), 0)
_AXIS2 = Param("axis2", _matrix_axis("axis2"), 1)
_DIAGONAL = (Param("offset", to_int, 0), _AXIS1, _AXIS2)
_REPEAT_AXIS = Param("axis", to_axis, None)

ROWS = [
    OpDef(
        "roll",
        Kind.SHAPE,
        _roll,
        _roll_rule,
        data_and_mask(_roll),
        "roll",
        numpy_functions=(np.roll,),
        arity=1,
        signature=Signature(("x",), (Param("shift", _shift), Param("axis", _roll_axes, None))),
    ),
    OpDef(
        "tile",
        Kind.SHAPE,
        _tile,
        _tile_rule,
        data_and_mask(_tile),
        "tile",
        numpy_functions=(np.tile,),
        arity=1,
        signature=Signature(("x",), (Param("reps", _repetitions),)),
    ),
    OpDef(
        "repeat",
        Kind.SHAPE,
        _repeat,
        _repeat_rule,
        _masked_repeat,
        "repeat",
        numpy_functions=(np.repeat,),
        arity=2,
        # numpy's users may name ``repeats=``
        signature=Signature(("x", "repeats"), (_REPEAT_AXIS,), positional_only=False),
        numpy_signature=Signature(("a", "repeats"), (_REPEAT_AXIS,), positional_only=False),
        method=True,
    ),
    OpDef(
        "tril",
        Kind.SHAPE,
        _tril,
        _triangle_rule,
        data_and_mask(_tril),
        "tril",
        numpy_functions=(np.tril,),
        arity=1,
        signature=Signature(("x",), (Param("k", to_int, 0),)),
    ),
    OpDef(
        "triu",
        Kind.SHAPE,
        _triu,
        _triangle_rule,
        data_and_mask(_triu),
        "triu",
        numpy_functions=(np.triu,),
        arity=1,
        signature=Signature(("x",), (Param("k", to_int, 0),)),
    ),
    # prepend= and append= join arrays first: the functions are composites
    # (lazyarray/composites/manipulation.py), this row the difference itself
    OpDef(
        "diff",
        Kind.SHAPE,
        _diff,
        _diff_rule,
        _masked_diff,
        "diff",
        arity=1,
        signature=Signature(("x",), (Param("n", _order, 1), Param("axis", _diff_axis, -1))),
        namespaces=(),
    ),
    OpDef(
        "take_along_axis",
        Kind.INDEXING,
        _take_along_axis,
        _take_along_axis_rule,
        data_and_mask(_take_along_axis),
        "take_along_axis",
        numpy_functions=(np.take_along_axis,),
        arity=2,
        signature=Signature(("x", "indices"), (Param("axis", _along_axis, -1),)),
    ),
    OpDef(
        "matrix_transpose",
        Kind.SHAPE,
        _matrix_transpose,
        view_rule(_matrix_transpose),
        data_and_mask(_matrix_transpose),
        "matrix_transpose",
        numpy_functions=(np.matrix_transpose, np.linalg.matrix_transpose),
        arity=1,
        signature=Signature(("x",)),
        namespaces=("", "linalg"),
    ),
    # numpy's diagonal and trace (any two axes) at the top and as methods; the
    # standard's, over the last two axes, are lazyarray.linalg's (composites)
    OpDef(
        "diagonal",
        Kind.SHAPE,
        _diagonal,
        view_rule(_diagonal),
        data_and_mask(_diagonal),
        numpy_functions=(np.diagonal,),
        arity=1,
        signature=Signature(("a",), _DIAGONAL),
        method=True,
    ),
    OpDef(
        "trace",
        Kind.LINALG,
        _trace,
        _trace_rule,
        _masked_trace,
        numpy_functions=(np.trace,),
        arity=1,
        signature=Signature(("a",), (*_DIAGONAL, Param("dtype", to_dtype, None))),
        numpy_signature=Signature(
            ("a",), (*_DIAGONAL, Param("dtype", to_dtype, None), Param("out", no_out, None))
        ),
        method=True,
    ),
]

register(*ROWS)
