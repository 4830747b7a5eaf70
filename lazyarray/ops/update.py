"""Assignment: ``x[index] = value`` and ``x[mask] = value`` as new nodes.

A proxy is a mutable handle on an immutable node: assignment points the handle at
``setitem(x, value)``, and ``x``'s node, with every other handle on it, stays as it was.
So the implementations write into a copy of ``x``, never into an input. The value is
cast to ``x``'s dtype, which never changes: an array value within ``same_kind`` (what numpy's
``copyto`` allows), a Python scalar if it promotes to that dtype (the standard's rule).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from lazyarray.errors import CastError, OpArgumentError, ShapeError, UnsupportedOperation
from lazyarray.graph import Node
from lazyarray.ops.attrtypes import AXIS, INDEX
from lazyarray.ops.indexing import EncodedIndex, decode_index
from lazyarray.ops.registry import OPS, Kind, OpDef, register
from lazyarray.types import ArrayType, Shape, check_python_int_fits, result_type, shape_text


def writable_copy(x: Any) -> Any:
    """A copy of ``x`` that assignment may write into (a numpy scalar becomes 0-d)."""
    if isinstance(x, np.ma.MaskedArray):
        return np.ma.array(x, copy=True)
    return np.array(x, copy=True)


def _setitem(x: Any, value: Any, index: EncodedIndex) -> Any:
    out = writable_copy(x)
    out[decode_index(index)] = value
    return out


def _boolean_setitem(x: Any, value: Any, mask: Any, axis: int) -> Any:
    out = writable_copy(x)
    index = (slice(None),) * axis + (np.ma.getdata(mask),)
    if keeps_mask(out, value, mask):
        out.data[index] = value
    else:
        out[index] = value
    return out


def keeps_mask(x: Any, value: Any, mask: Any) -> bool:
    """numpy.ma's rule for a masked boolean index, which selects where its data is
    true: an unmasked value goes into a masked array's data alone, and its mask stays."""
    masked = np.ma.MaskedArray
    return isinstance(mask, masked) and isinstance(x, masked) and not isinstance(value, masked)


def check_value(x: Node, value: Node, target: Shape) -> None:
    """``value`` fits ``x[...]`` of shape ``target``: its shape broadcasts to ``target``
    and its dtype casts to ``x``'s (checked in numpy's order, in numpy's words)."""
    if value.type.masked and not x.type.masked:
        raise UnsupportedOperation(
            "assigning a masked value into an array without a mask would drop the mask "
            "(numpy keeps the data alone); give the array a mask first "
            "(la.masked_array(x, False)) or fill the value (value.filled())"
        )
    shape = list(value.type.shape)
    while len(shape) > len(target) and shape[0] == 1:  # numpy drops leading ones
        shape.pop(0)
    fits = len(shape) <= len(target) and all(
        size in (1, None) or wanted is None or size == wanted
        for size, wanted in zip(reversed(shape), reversed(target), strict=False)
    )
    if not fits:
        raise ShapeError(
            f"could not broadcast input array from shape {shape_text(value.type.shape)} "
            f"into shape {shape_text(target)}"
        )
    dtype = x.type.dtype
    if value.type.weak is int and value.op == "constant":
        check_python_int_fits(value.attr("value"), dtype)
    source = value.type.dtype
    if value.type.weak is not None:  # a Python scalar: it must promote to x's dtype
        fits = result_type(dtype, value.type.weak) == dtype
    else:
        fits = np.can_cast(source, dtype, casting="same_kind")
    if not fits:
        what = "scalar" if value.type.ndim == 0 else "array data"
        raise CastError(
            f"Cannot cast {what} from {source!r} to {dtype!r} according to the rule 'same_kind'"
        )


def _setitem_rule(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
    x, value = inputs
    index = attrs["index"]
    if value.type.ndim and len(index) == x.type.ndim and all(type(i) is int for i in index):
        raise ShapeError("setting an array element with a sequence.")  # numpy: one element
    check_value(x, value, OPS["getitem"].infer((x,), attrs).shape)
    return x.type.with_(weak=None)


def _boolean_setitem_rule(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
    x, value, mask = inputs
    if mask.type.ndim == x.type.ndim and value.type.ndim > 1:  # numpy's rule for a full mask
        raise OpArgumentError(
            "NumPy boolean array indexing assignment requires a 0 or 1-dimensional input, "
            f"input has {value.type.ndim} dimensions"
        )
    target = OPS["boolean_index"].infer((x, mask), attrs).shape
    try:
        check_value(x, value, target)
    except ShapeError:
        if None in target or value.type.size is None:
            raise
        # the count is known (a settled mask): numpy's words for it
        full = mask.type.ndim == x.type.ndim
        raise ShapeError(
            f"NumPy boolean array indexing assignment cannot assign {value.type.size} input "
            f"values to the {target[0]} output values where the mask is true"
            if full
            else f"shape mismatch: value array of shape {_tight(value.type.shape)} could not "
            f"be broadcast to indexing result of shape {_tight(target)}"
        ) from None
    return x.type.with_(weak=None)


def _tight(shape: Shape) -> str:
    """A shape as numpy's indexing errors write it: ``(3,2)``."""
    return shape_text(shape).replace(" ", "")


ROWS = [
    OpDef(
        "setitem",
        Kind.INDEXING,
        _setitem,
        _setitem_rule,
        _setitem,
        arity=2,
        attributes={"index": INDEX},
    ),
    OpDef(
        "boolean_setitem",
        Kind.INDEXING,
        _boolean_setitem,
        _boolean_setitem_rule,
        _boolean_setitem,
        arity=3,
        attributes={"axis": AXIS},
    ),
]

register(*ROWS)
