"""numpy.ma's own operations: building a masked array and taking it apart."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from lazyarray.errors import CastError, MaskError, ShapeError
from lazyarray.graph import Node
from lazyarray.ops.arguments import to_hashable
from lazyarray.ops.attrtypes import BOOL, HASHABLE, NUMBER, Str, Tuple
from lazyarray.ops.elementwise import bool_fill
from lazyarray.ops.registry import Kind, OpDef, Trait, register
from lazyarray.ops.signature import Param, Signature
from lazyarray.types import ArrayType, broadcast_shapes


def _masked_array(data: Any, mask: Any, *, fill_value: Any = None) -> Any:
    mask = np.broadcast_to(np.asarray(mask, dtype=bool), np.shape(data))
    combined = np.ma.getmaskarray(data) | mask if isinstance(data, np.ma.MaskedArray) else mask
    return np.ma.MaskedArray(np.ma.getdata(data), mask=combined.copy(), fill_value=fill_value)


def _masked_array_rule(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
    data, mask = inputs
    if mask.type.dtype.kind != "b":
        raise CastError(f"a mask must be boolean, not {mask.type.dtype}")
    try:
        shape = broadcast_shapes(data.type.shape, mask.type.shape)
    except ShapeError:
        shape = ()
    if shape != data.type.shape and None not in data.type.shape:
        raise MaskError(
            f"Mask and data not compatible: data shape is {data.type.shape}, "
            f"and mask shape is {mask.type.shape}."
        )
    fill_value = attrs.get("fill_value")
    if fill_value is not None:
        np.ma.MaskedArray(np.zeros((), data.type.dtype), fill_value=fill_value)
    return data.type.with_(masked=True, weak=None)


def _masked_result(
    data: Any,
    mask: Any,
    *sources: Any,
    shrink: bool = False,
    fill: Any = None,
    booled: bool = False,
) -> Any:
    """A masked array of ``data`` and ``mask``, as numpy.ma's ``__array_wrap__`` makes
    one: its attributes (fill value, hard mask) come from the first of ``sources`` that is
    a masked array, else from ``fill`` (a ``(value, dtype)`` pair, or None for numpy's
    default); ``shrink``: a mask with nothing masked becomes ``nomask``, as numpy.ma's
    binary ops and ``where`` leave it; ``booled``: they came through a comparison, whose
    fill is ``bool(fill_value)``, as does a bool result's."""
    result: Any = np.asarray(data).view(np.ma.MaskedArray)  # numpy.ma's private fields
    source = next((s for s in sources if isinstance(s, np.ma.MaskedArray)), None)
    if source is not None:
        result._update_from(source)
    elif fill is not None:
        result._fill_value = np.asarray(fill[0], dtype=fill[1])
    if booled or result.dtype == np.bool_:
        result._fill_value = bool_fill(result._fill_value)
    mask = np.asarray(mask)
    if mask.shape != result.shape:
        mask = np.broadcast_to(mask, result.shape).copy()
    result._mask = np.ma.nomask if shrink and not mask.any() else mask
    result._sharedmask = False
    return result


def _masked_result_rule(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
    data, mask = inputs[:2]
    if mask.type.dtype.kind != "b" or broadcast_shapes(data.type.shape, mask.type.shape) != (
        data.type.shape
    ):
        raise MaskError(f"a mask of {mask.type} does not fit data of {data.type}")
    return data.type.with_(masked=True, weak=None)


def _filled(x: Any, *, fill_value: Any = None) -> Any:
    return np.ma.filled(x, fill_value)


def _unmasked_same(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
    (x,) = inputs
    return x.type.with_(masked=False, weak=None)


def _compressed(x: Any) -> Any:
    return np.ma.MaskedArray(x).compressed() if isinstance(x, np.ma.MaskedArray) else np.ravel(x)


def _compressed_rule(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
    (x,) = inputs
    size = None if x.type.masked else x.type.size
    return ArrayType(x.type.dtype, (size,))


def _getmaskarray(x: Any) -> Any:
    return np.ma.getmaskarray(x)


def _getmaskarray_rule(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
    (x,) = inputs
    return ArrayType(np.dtype(bool), x.type.shape)


def _fill_value(x: Any) -> Any:
    if isinstance(x, np.ma.MaskedArray):
        return np.asarray(x.fill_value, dtype=x.dtype)[()]
    return np.asarray(np.ma.default_fill_value(x), dtype=np.asarray(x).dtype)[()]


def _fill_value_rule(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
    (x,) = inputs
    return ArrayType(x.type.dtype, ())


_SAME_SHAPE = frozenset({Trait.PRESERVES_SHAPE})

ROWS = [
    OpDef(
        "masked_array",
        Kind.MASKED,
        _masked_array,
        _masked_array_rule,
        _masked_array,
        arity=2,
        traits=_SAME_SHAPE,
        attributes={"fill_value": HASHABLE},
    ),
    OpDef(  # built by the planner (``planner/unmask.py``), never by users
        "masked_result",
        Kind.MASKED,
        _masked_result,
        _masked_result_rule,
        _masked_result,
        traits=_SAME_SHAPE,
        attributes={"shrink": BOOL, "fill": Tuple(NUMBER, Str(max_length=64)), "booled": BOOL},
    ),
    OpDef(
        "filled",
        Kind.MASKED,
        _filled,
        _unmasked_same,
        _filled,
        arity=1,
        traits=_SAME_SHAPE,
        numpy_functions=(np.ma.filled,),
        signature=Signature(("a",), (Param("fill_value", to_hashable, None),)),
    ),
    OpDef(
        "getdata",
        Kind.MASKED,
        np.ma.getdata,
        _unmasked_same,
        np.ma.getdata,
        arity=1,
        traits=_SAME_SHAPE,
        numpy_functions=(np.ma.getdata,),
        signature=Signature(("a",)),
    ),
    OpDef(
        "getmaskarray",
        Kind.MASKED,
        _getmaskarray,
        _getmaskarray_rule,
        _getmaskarray,
        arity=1,
        traits=_SAME_SHAPE,
        numpy_functions=(np.ma.getmaskarray,),
        signature=Signature(("a",)),
    ),
    OpDef(
        "compressed",
        Kind.MASKED,
        _compressed,
        _compressed_rule,
        _compressed,
        arity=1,
        traits=frozenset({Trait.UNKNOWN_SIZE}),
        signature=Signature(("x",)),
    ),
    OpDef("fill_value", Kind.MASKED, _fill_value, _fill_value_rule, _fill_value, arity=1),
]

register(*ROWS)
