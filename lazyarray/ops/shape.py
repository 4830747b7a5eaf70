"""Shape ops. Most are numpy views, so their type rule runs numpy itself on stand-ins
(``meta.view_shape``); reshape, concatenate and stack, which would copy, have rules."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from lazyarray.errors import ShapeError
from lazyarray.graph import Node
from lazyarray.ops.meta import view_shape
from lazyarray.ops.registry import Infer, Kind, OpDef, Trait, register
from lazyarray.types import ArrayType, Shape, normalize_axis, result_type


def view_rule(impl: Callable[..., Any]) -> Infer:
    def infer(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
        (x,) = inputs
        return x.type.with_(shape=view_shape(impl, [x.type], attrs), weak=None)

    return infer


def _masked(fn: Callable[..., Any]) -> Callable[..., Any]:
    """numpy.ma keeps masks through views; broadcast_to needs the mask broadcast too."""

    def run(x: Any, **attrs: Any) -> Any:
        if isinstance(x, np.ma.MaskedArray):
            data = fn(np.ma.getdata(x), **attrs)
            mask = fn(np.ma.getmaskarray(x), **attrs)
            return np.ma.MaskedArray(data, mask=mask, fill_value=x.fill_value)
        return fn(x, **attrs)

    return run


def _reshape(x: Any, shape: tuple[int, ...]) -> Any:
    return np.reshape(x, shape)


def _reshape_rule(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
    (x,) = inputs
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


def _ravel(x: Any) -> Any:
    return np.ravel(x)


def _ravel_rule(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
    (x,) = inputs
    return x.type.with_(shape=(x.type.size,), weak=None)


def _transpose(x: Any, axes: tuple[int, ...] | None = None) -> Any:
    return np.transpose(x, axes)


def _squeeze(x: Any, axis: tuple[int, ...] | None = None) -> Any:
    return np.squeeze(x, axis)


def _expand_dims(x: Any, axis: tuple[int, ...]) -> Any:
    return np.expand_dims(x, axis)


def _broadcast_to(x: Any, shape: tuple[int, ...]) -> Any:
    return np.broadcast_to(x, shape)


def _moveaxis(x: Any, source: tuple[int, ...], destination: tuple[int, ...]) -> Any:
    return np.moveaxis(x, source, destination)


def _flip(x: Any, axis: tuple[int, ...] | None = None) -> Any:
    return np.flip(x, axis)


def _swapaxes(x: Any, axis1: int, axis2: int) -> Any:
    return np.swapaxes(x, axis1, axis2)


def _joined_rule(stack: bool) -> Infer:
    def infer(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
        if not inputs:
            raise ShapeError("need at least one array to concatenate")
        types = [n.type for n in inputs]
        dtype = result_type(*(t.promotion_key for t in types))
        masked = any(t.masked for t in types)
        axis = attrs.get("axis", 0)
        if stack:
            first = types[0].shape
            if any(t.shape != first for t in types):
                raise ShapeError("all input arrays must have the same shape")
            ndim = len(first) + 1
            axis = normalize_axis(axis, ndim)
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
        shape = tuple(
            size if d == axis else next((t.shape[d] for t in types if t.shape[d]), None)
            for d in range(ndim)
        )
        return ArrayType(dtype, shape, masked)

    return infer


def _concatenate(*arrays: Any, axis: int | None = 0) -> Any:
    return np.concatenate(arrays, axis=axis)


def _stack(*arrays: Any, axis: int = 0) -> Any:
    return np.stack(arrays, axis=axis)


def _masked_concatenate(*arrays: Any, axis: int | None = 0) -> Any:
    return np.ma.concatenate(arrays, axis=axis)  # type: ignore[no-untyped-call]


def _masked_stack(*arrays: Any, axis: int = 0) -> Any:
    return np.ma.stack(arrays, axis=axis)


def _view_row(
    name: str,
    impl: Callable[..., Any],
    array_api: str | None = None,
    numpy_functions: tuple[Any, ...] = (),
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
    ),
    _view_row("transpose", _transpose, "permute_dims", (np.transpose,)),
    _view_row("squeeze", _squeeze, "squeeze", (np.squeeze,)),
    _view_row("expand_dims", _expand_dims, "expand_dims", (np.expand_dims,)),
    _view_row("broadcast_to", _broadcast_to, "broadcast_to", (np.broadcast_to,)),
    _view_row("moveaxis", _moveaxis, "moveaxis", (np.moveaxis,)),
    _view_row("flip", _flip, "flip", (np.flip,), frozenset({Trait.INVOLUTION})),
    _view_row("swapaxes", _swapaxes, None, (np.swapaxes,)),
    OpDef(
        "concatenate",
        Kind.SHAPE,
        _concatenate,
        _joined_rule(stack=False),
        _masked_concatenate,
        "concat",
        numpy_functions=(np.concatenate,),
    ),
    OpDef(
        "stack",
        Kind.SHAPE,
        _stack,
        _joined_rule(stack=True),
        _masked_stack,
        "stack",
        numpy_functions=(np.stack,),
    ),
]

register(*ROWS)
