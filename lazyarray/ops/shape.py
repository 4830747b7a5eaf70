"""Shape ops. Most are numpy views, so their type rule runs numpy itself on stand-ins
(``meta.view_shape``); reshape, concatenate and stack, which would copy, have rules."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from lazyarray.errors import (
    AxisError,
    OpArgumentError,
    OpValueError,
    ShapeError,
    UnsupportedOperation,
)
from lazyarray.graph import Node
from lazyarray.ops.arguments import (
    axes_tuple,
    axis_index,
    choice,
    integer,
    no_out,
    to_axes,
    to_axis,
    to_dtype,
    to_shape,
)
from lazyarray.ops.attrtypes import (
    AXES,
    AXIS,
    DTYPE,
    INT,
    NEVER,
    OPTIONAL_INT,
    Int,
    Str,
    Tuple,
    TupleOf,
    gives,
)
from lazyarray.ops.meta import typed_once, view_shape
from lazyarray.ops.registry import Infer, Kind, OpDef, Trait, apply, register
from lazyarray.ops.signature import Inputs, Param, Signature
from lazyarray.types import ArrayType, Shape, as_size, normalize_axis, result_type


def view_rule(impl: Callable[..., Any]) -> Infer:
    def resolve(x: Node, attrs: Mapping[str, Any]) -> ArrayType:
        return x.type.with_(shape=view_shape(impl, [x.type], attrs), weak=None)

    return typed_once(resolve)


def _masked(fn: Callable[..., Any]) -> Callable[..., Any]:
    """numpy.ma keeps masks through views; broadcast_to needs the mask broadcast too."""

    def run(x: Any, **attrs: Any) -> Any:
        if isinstance(x, np.ma.MaskedArray):
            data = fn(np.ma.getdata(x), **attrs)
            mask = fn(np.ma.getmaskarray(x), **attrs)
            result: Any = np.ma.MaskedArray(data, mask=mask)
            # as numpy.ma's views: the fill value as set, or unset
            result._fill_value = x._fill_value  # type: ignore[attr-defined]
            return result
        return fn(x, **attrs)

    return run


def _reshape(x: Any, shape: tuple[int, ...]) -> Any:
    return np.reshape(x, shape)


def _reshape_type(x: Node, attrs: Mapping[str, Any]) -> ArrayType:
    shape = tuple(attrs["shape"])
    size = x.type.size
    unknown = [i for i, d in enumerate(shape) if d == -1]
    if len(unknown) > 1:
        raise ShapeError("can only specify one unknown dimension")
    if any(d < -1 for d in shape):
        raise ShapeError(f"negative dimensions not allowed: {shape}")
    known = math.prod(d for d in shape if d != -1)
    if size is None:
        resolved: Shape = tuple(None if d == -1 else d for d in shape)
    elif unknown:
        if known == 0 or size % known:
            raise ShapeError(f"cannot reshape array of size {size} into shape {shape}")
        resolved = tuple(size // known if d == -1 else d for d in shape)
    else:
        if known != size:
            raise ShapeError(f"cannot reshape array of size {size} into shape {shape}")
        resolved = shape
    return x.type.with_(shape=resolved, weak=None)


_reshape_rule = typed_once(_reshape_type)
_ORDERS = choice("C", "F", "A")


@gives(Str("C", "F"))
def _order(value: Any, inputs: tuple[Node, ...]) -> str:
    """reshape's ``order``: "C", or "F" (expanded by ``_fortran_order``). "A" (Fortran
    order for Fortran-contiguous data) asks for a memory layout, which a lazy array has
    not: refused, not guessed (``x.T`` is Fortran-contiguous in numpy)."""
    if _ORDERS(value, inputs) == "A":
        raise UnsupportedOperation(
            "order='A' follows the memory layout of numpy's array (Fortran order for a "
            "Fortran-contiguous one, as x.T is), which a lazy array has not: say 'C' or 'F'"
        )
    return str(value)


def _fortran_order(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> Node | None:
    """``reshape(x, s, order="F")`` is ``reshape(x.T, reversed(s)).T``: nodes never carry
    an order, so passes and backends know one reshape."""
    if attrs.get("order", "C") != "F":
        return None
    (x,) = inputs
    flipped = apply("transpose", (x,), axes=tuple(reversed(range(x.type.ndim))))
    shape = tuple(reversed(attrs["shape"]))
    reshaped = apply("reshape", (flipped,), shape=shape)
    resolved = reshaped.type.shape  # -1 resolved
    return apply("transpose", (reshaped,), axes=tuple(reversed(range(len(resolved)))))


def _ravel(x: Any) -> Any:
    return np.ravel(x)


def _ravel_rule(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
    (x,) = inputs
    return x.type.with_(shape=(x.type.size,), weak=None)


def _transpose(x: Any, axes: tuple[int, ...] | None = None) -> Any:
    return np.transpose(x, axes)


def _squeeze(x: Any, axis: tuple[int, ...] | None = None) -> Any:
    return np.squeeze(x, axis)


def _expand_dims(x: Any, axis: tuple[int, ...] = (0,)) -> Any:
    return np.expand_dims(x, axis)


def _broadcast_to(x: Any, shape: tuple[int, ...]) -> Any:
    return np.broadcast_to(x, shape)


def _moveaxis(x: Any, source: tuple[int, ...], destination: tuple[int, ...]) -> Any:
    return np.moveaxis(x, source, destination)


def _flip(x: Any, axis: tuple[int, ...] | None = None) -> Any:
    return np.flip(x, axis)


def _swapaxes(x: Any, axis1: int, axis2: int) -> Any:
    return np.swapaxes(x, axis1, axis2)


def _rot90(x: Any, k: int = 1, axes: tuple[int, int] = (0, 1)) -> Any:
    return np.rot90(x, k, axes)


def _joined_rule(stack: bool) -> Infer:
    def infer(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
        if not inputs:
            raise ShapeError("need at least one array to concatenate")
        types = [n.type for n in inputs]
        dtype = result_type(*(t.promotion_key for t in types))
        masked = any(t.masked for t in types)
        axis = attrs.get("axis", 0)
        if stack:
            # An unknown size matches any size here; numpy checks it at compute time.
            shapes = [t.shape for t in types]
            if any(len(s) != len(shapes[0]) for s in shapes) or any(
                len({d for d in sizes if d is not None}) > 1 for sizes in zip(*shapes, strict=True)
            ):
                raise ShapeError("all input arrays must have the same shape")
            first = _known_sizes(shapes)
            axis = normalize_axis(axis, len(first) + 1)
            shape = first[:axis] + (len(types),) + first[axis:]
            return ArrayType(dtype, shape, masked)
        if axis is None:
            sizes = [t.size for t in types]
            total = None if None in sizes else sum(sizes)  # type: ignore[arg-type]
            return ArrayType(dtype, (total,), masked)
        ndim = types[0].ndim
        if ndim == 0:
            raise ShapeError("zero-dimensional arrays cannot be concatenated")
        axis = normalize_axis(axis, ndim)
        for i, t in enumerate(types[1:], start=1):
            if t.ndim != ndim:
                raise ShapeError(
                    "all the input array dimensions except for the concatenation axis must "
                    f"match exactly, but along dimension 0, the array at index 0 has "
                    f"{ndim} dimension(s) and the array at index {i} has {t.ndim} "
                    "dimension(s)"
                )
            for d in range(ndim):
                a, b = types[0].shape[d], t.shape[d]
                if d != axis and a is not None and b is not None and a != b:
                    raise ShapeError(
                        "all the input array dimensions except for the concatenation axis "
                        f"must match exactly, but along dimension {d}, the array at index 0 "
                        f"has size {a} and the array at index {i} has size {b}"
                    )
        along = [t.shape[axis] for t in types]
        size = None if None in along else sum(along)  # type: ignore[arg-type]
        shape = _known_sizes([t.shape for t in types])
        return ArrayType(dtype, shape[:axis] + (size,) + shape[axis + 1 :], masked)

    return infer


def _known_sizes(shapes: list[Shape]) -> Shape:
    """Each dimension's known size among ``shapes`` (already checked to agree), else None."""
    return tuple(
        next((d for d in sizes if d is not None), None) for sizes in zip(*shapes, strict=True)
    )


def _concatenate(*arrays: Any, axis: int | None = 0) -> Any:
    return np.concatenate(arrays, axis=axis)


def _stack(*arrays: Any, axis: int = 0) -> Any:
    return np.stack(arrays, axis=axis)


def _masked_concatenate(*arrays: Any, axis: int | None = 0) -> Any:
    return np.ma.concatenate(arrays, axis=axis)  # type: ignore[no-untyped-call]


def _masked_stack(*arrays: Any, axis: int = 0) -> Any:
    return np.ma.stack(arrays, axis=axis)


def _view(x: Any, dtype: np.dtype[Any]) -> Any:
    """The same bytes read as ``dtype``, in C order: lazy values have no layout of their
    own, so a view is taken of their C-contiguous form."""
    return np.ascontiguousarray(x).view(dtype)


def _view_dtype_rule(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
    (x,) = inputs
    dtype = attrs["dtype"]
    old, new = x.type.dtype.itemsize, dtype.itemsize
    if old == new:
        return x.type.with_(dtype=dtype, weak=None)
    if x.type.ndim == 0:
        raise OpValueError(
            "Changing the dtype of a 0d array is only supported if the itemsize is unchanged"
        )
    last = x.type.shape[-1]
    if new < old and old % new:
        raise OpValueError(
            "When changing to a smaller dtype, its size must be a divisor of the size of "
            "original dtype"
        )
    if new > old and last is not None and (last * old) % new:
        raise OpValueError(
            "When changing to a larger dtype, its size must be a divisor of the total size "
            "in bytes of the last axis of the array."
        )
    size = None if last is None else last * old // new
    return x.type.with_(dtype=dtype, shape=x.type.shape[:-1] + (size,), weak=None)


@gives(DTYPE)
def _view_of_dtype(value: Any, inputs: tuple[Node, ...]) -> np.dtype[Any]:
    dtype = to_dtype(value, inputs)
    if dtype is None:
        raise OpArgumentError("view() needs a dtype (a lazy array has no other view)")
    return dtype


# --- arguments: each normalized so that equal requests are one node ------------------


@gives(TupleOf(INT, 64))
def _reshape_shape(value: Any, inputs: tuple[Node, ...]) -> tuple[int, ...]:
    """reshape's shape: like any shape, but one size may be -1 (left to the rule). A
    bad size in a sequence is refused by itself, as numpy refuses it."""
    try:
        dims = tuple(value)
    except TypeError:
        try:
            return (as_size(value),)
        except OpArgumentError:
            raise OpArgumentError(
                f"expected a sequence of integers or a single integer, got '{value!r}'"
            ) from None
    return tuple([as_size(d) for d in dims])


@gives(NEVER)
def _copy_flag(value: Any, inputs: tuple[Node, ...]) -> None:
    """The standard's ``copy=``: a lazy result never shares memory, so any is met."""
    if value is not None and not isinstance(value, bool):
        raise OpArgumentError(f"copy must be True, False or None, not {value!r}")
    return None


@gives(AXES)
def _permutation(value: Any, inputs: tuple[Node, ...]) -> tuple[int, ...]:
    ndim = inputs[0].type.ndim
    if value is None:
        return tuple(reversed(range(ndim)))
    axes = tuple([normalize_axis(a, ndim) for a in axes_tuple(value) or ()])
    if len(set(axes)) != len(axes):
        raise OpValueError("repeated axis in transpose")
    if len(axes) != ndim:
        raise OpValueError("axes don't match array")
    return axes


@gives(AXES)
def _ordered_axes(value: Any, inputs: tuple[Node, ...]) -> tuple[int, ...]:
    """Axes whose order matters (moveaxis), normalized, each once."""
    axes = tuple([normalize_axis(a, inputs[0].type.ndim) for a in axes_tuple(value) or ()])
    if len(set(axes)) != len(axes):
        raise AxisError("repeated axis in `source` argument")
    return axes


@gives(AXES)
def _new_axes(value: Any, inputs: tuple[Node, ...]) -> tuple[int, ...]:
    """expand_dims's axes, positions in the result."""
    axes = axes_tuple(value) or ()
    ndim = inputs[0].type.ndim + len(axes)
    normalized = tuple(sorted(normalize_axis(a, ndim) for a in axes))
    if len(set(normalized)) != len(normalized):
        raise OpValueError("repeated axis")
    return normalized


@gives(Int(0, 3))
def _quarter_turns(value: Any, inputs: tuple[Node, ...]) -> int:
    return integer(value) % 4  # five quarter turns are one


@gives(Tuple(AXIS, AXIS))
def _plane(value: Any, inputs: tuple[Node, ...]) -> tuple[int, int]:
    """rot90's two axes, normalized, in numpy's words."""
    axes = axes_tuple(value) or ()
    ndim = inputs[0].type.ndim
    if len(axes) != 2:
        raise OpValueError("len(axes) must be 2.")
    if any(not -ndim <= a < ndim for a in axes):
        raise OpValueError(f"Axes={axes} out of range for array of ndim={ndim}.")
    first, second = (a % ndim for a in axes)
    if first == second:
        raise OpValueError("Axes must be different.")
    return first, second


def _join_axis(extra: int) -> Callable[[Any, tuple[Node, ...]], int | None]:
    """concatenate's axis (``extra=0``) or stack's (a new axis: ``extra=1``)."""

    @gives(OPTIONAL_INT)
    def convert(value: Any, inputs: tuple[Node, ...]) -> int | None:
        if value is None:
            return None
        axis = axis_index(value)
        ndim = inputs[0].type.ndim + extra if inputs else 0
        return normalize_axis(axis, ndim) if ndim else axis

    return convert


_X = Signature(("x",))
_OUT = Param("out", no_out, None, keyword=True)


def _view_row(
    name: str,
    impl: Callable[..., Any],
    array_api: str | None,
    numpy_functions: tuple[Any, ...],
    signature: Signature,
    numpy_signature: Signature | None = None,
    method: bool = False,
    traits: frozenset[Trait] = frozenset(),
) -> OpDef:
    return OpDef(
        name,
        Kind.SHAPE,
        impl,
        view_rule(impl),
        _masked(impl),
        array_api,
        numpy_functions=numpy_functions,
        traits=traits | {Trait.VIEW},
        arity=1,
        signature=signature,
        numpy_signature=numpy_signature,
        method=method,
    )


ROWS = [
    OpDef(
        "reshape",
        Kind.SHAPE,
        _reshape,
        _reshape_rule,
        _masked(_reshape),
        "reshape",
        numpy_functions=(np.reshape,),
        traits=frozenset({Trait.RESHAPE}),
        arity=1,
        signature=Signature(
            ("x",),
            (
                Param("shape", _reshape_shape),
                Param("copy", _copy_flag, None, keyword=True),
                Param("order", _order, "C", keyword=True),  # numpy's too
            ),
        ),
        numpy_signature=Signature(
            ("a",),
            (
                Param("shape", _reshape_shape),
                Param("order", _order, "C"),
                Param("copy", _copy_flag, None, keyword=True),
            ),
        ),
        expand=_fortran_order,
    ),
    OpDef(
        "ravel",
        Kind.SHAPE,
        _ravel,
        _ravel_rule,
        _masked(_ravel),
        aliases=("flatten",),
        numpy_functions=(np.ravel,),
        traits=frozenset({Trait.RESHAPE}),
        arity=1,
        signature=_X,
        numpy_signature=Signature(("a",)),
        method=True,
    ),
    _view_row(
        "transpose",
        _transpose,
        "permute_dims",
        (np.transpose,),
        Signature(("x",), (Param("axes", _permutation, None, stored=True),)),
        Signature(("a",), (Param("axes", _permutation, None, stored=True),)),
    ),
    _view_row(
        "squeeze",
        _squeeze,
        "squeeze",
        (np.squeeze,),
        Signature(("x",), (Param("axis", to_axes, None),)),
        Signature(("a",), (Param("axis", to_axes, None),)),
        method=True,
    ),
    _view_row(
        "expand_dims",
        _expand_dims,
        "expand_dims",
        (np.expand_dims,),
        Signature(("x",), (Param("axis", _new_axes, 0),)),
        Signature(("a",), (Param("axis", _new_axes),)),
    ),
    _view_row(
        "broadcast_to",
        _broadcast_to,
        "broadcast_to",
        (np.broadcast_to,),
        Signature(("x",), (Param("shape", to_shape),)),
        Signature(("array",), (Param("shape", to_shape),)),
    ),
    _view_row(
        "moveaxis",
        _moveaxis,
        "moveaxis",
        (np.moveaxis,),
        Signature(("x",), (Param("source", _ordered_axes), Param("destination", _ordered_axes))),
        Signature(("a",), (Param("source", _ordered_axes), Param("destination", _ordered_axes))),
    ),
    _view_row(
        "flip",
        _flip,
        "flip",
        (np.flip,),
        Signature(("x",), (Param("axis", to_axes, None),)),
        Signature(("m",), (Param("axis", to_axes, None),)),
        traits=frozenset({Trait.INVOLUTION}),
    ),
    _view_row(
        "swapaxes",
        _swapaxes,
        None,
        (np.swapaxes,),
        Signature(("x",), (Param("axis1", to_axis), Param("axis2", to_axis))),
        Signature(("a",), (Param("axis1", to_axis), Param("axis2", to_axis))),
        method=True,
    ),
    _view_row(
        "rot90",
        _rot90,
        None,
        (np.rot90,),
        Signature(("m",), (Param("k", _quarter_turns, 1), Param("axes", _plane, (0, 1)))),
    ),
    OpDef(  # ndarray.view(dtype): a method only
        "view",
        Kind.SHAPE,
        _view,
        _view_dtype_rule,
        None,
        arity=1,
        signature=Signature(("x",), (Param("dtype", _view_of_dtype),)),
        method=True,
        namespaces=(),
    ),
    OpDef(
        "concatenate",
        Kind.SHAPE,
        _concatenate,
        _joined_rule(stack=False),
        _masked_concatenate,
        "concat",
        numpy_functions=(np.concatenate,),
        signature=Signature(
            ("arrays",), (Param("axis", _join_axis(0), 0, stored=True),), Inputs.SEQUENCE
        ),
        numpy_signature=Signature(
            ("arrays",), (Param("axis", _join_axis(0), 0, stored=True), _OUT), Inputs.SEQUENCE
        ),
    ),
    OpDef(
        "stack",
        Kind.SHAPE,
        _stack,
        _joined_rule(stack=True),
        _masked_stack,
        "stack",
        numpy_functions=(np.stack,),
        signature=Signature(
            ("arrays",), (Param("axis", _join_axis(1), 0, stored=True),), Inputs.SEQUENCE
        ),
        numpy_signature=Signature(
            ("arrays",), (Param("axis", _join_axis(1), 0, stored=True), _OUT), Inputs.SEQUENCE
        ),
    ),
]

register(*ROWS)
