"""Indexing: basic (slices, integers, ``None``, ``...``), one integer array along an
axis (``take``) and boolean masks (unknown result size)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from lazyarray.errors import LazyIndexError
from lazyarray.graph import Literal, Node
from lazyarray.ops.arguments import choice, no_out, to_axis
from lazyarray.ops.meta import view_shape
from lazyarray.ops.registry import Kind, OpDef, Trait, register
from lazyarray.ops.signature import Param, Signature
from lazyarray.types import ArrayType, normalize_axis

# A basic index is stored as a hashable tuple: ints, None, Ellipsis and
# ("slice", start, stop, step) for slices (unhashable before Python 3.12).
EncodedIndex = tuple[Any, ...]


def encode_index(index: tuple[Any, ...]) -> EncodedIndex:
    return tuple(
        ("slice", item.start, item.stop, item.step) if isinstance(item, slice) else item
        for item in index
    )


def decode_index(encoded: EncodedIndex) -> tuple[Any, ...]:
    return tuple(
        slice(item[1], item[2], item[3]) if isinstance(item, tuple) else item for item in encoded
    )


def _getitem(x: Any, index: EncodedIndex) -> Any:
    return x[decode_index(index)]


def _getitem_rule(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
    (x,) = inputs
    return x.type.with_(shape=view_shape(_getitem, [x.type], attrs), weak=None)


def _take(x: Any, indices: Any, axis: int | None = None, mode: Any = "raise") -> Any:
    return np.take(x, indices, axis=axis, mode=mode)


def _masked_take(x: Any, indices: Any, axis: int | None = None, mode: Any = "raise") -> Any:
    return np.ma.take(x, np.asarray(indices), axis=axis, mode=mode)


def _take_rule(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
    x, indices = inputs
    if indices.type.dtype.kind not in "iu":
        raise LazyIndexError("arrays used as indices must be of integer (or boolean) type")
    axis = attrs.get("axis")
    shape = x.type.shape if axis is not None else (x.type.size,)  # None: the flat array
    axis = normalize_axis(0 if axis is None else axis, len(shape))
    size = shape[axis]
    literal = indices.attr("value")
    if literal is not None and size is not None and attrs.get("mode", "raise") == "raise":
        values = np.asarray(getattr(literal, "value", literal))
        if values.size and (values.max() >= size or values.min() < -size):
            bad = values.max() if values.max() >= size else values.min()
            raise LazyIndexError(f"index {bad} is out of bounds for axis {axis} with size {size}")
    if size == 0 and attrs.get("mode", "raise") != "raise" and indices.type.size != 0:
        raise LazyIndexError("cannot do a non-empty take from an empty axes.")
    shape = shape[:axis] + indices.type.shape + shape[axis + 1 :]
    return ArrayType(x.type.dtype, shape, x.type.masked or indices.type.masked)


_TAKE_ARGUMENTS = (
    Param("axis", to_axis, None),
    Param("mode", choice("raise", "wrap", "clip"), "raise"),
)


def _boolean_index(x: Any, mask: Any, axis: int) -> Any:
    return x[(slice(None),) * axis + (np.asarray(mask),)]


def _boolean_index_rule(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
    x, mask = inputs
    axis = attrs["axis"]
    if mask.type.dtype.kind != "b":
        raise LazyIndexError("a mask index must be of boolean type")
    covered = x.type.shape[axis : axis + mask.type.ndim]
    if len(covered) < mask.type.ndim:
        raise LazyIndexError(
            f"too many indices for array: array is {x.type.ndim}-dimensional, "
            f"but {axis + mask.type.ndim} were indexed"
        )
    for offset, (size, mask_size) in enumerate(zip(covered, mask.type.shape, strict=True)):
        if size is not None and mask_size is not None and size != mask_size:
            raise LazyIndexError(
                f"boolean index did not match indexed array along axis {axis + offset}; "
                f"size of axis is {size} but size of corresponding boolean axis is "
                f"{mask_size}"
            )
    count = _selected(mask)
    shape = x.type.shape[:axis] + (count,) + x.type.shape[axis + mask.type.ndim :]
    return ArrayType(x.type.dtype, shape, x.type.masked)


_COUNTED_ELEMENTS = 2**20  # a literal mask this small is counted when written


def _selected(mask: Node) -> int | None:
    """How many elements the mask selects, where known without running: none for an
    empty mask, and the count of a read-only literal mask (its values cannot change)."""
    if mask.type.size == 0:
        return 0
    literal = mask.attr("value")
    if not isinstance(literal, Literal) or literal.mutable or mask.type.masked:
        return None
    if (mask.type.size or 0) > _COUNTED_ELEMENTS:
        return None
    return int(np.count_nonzero(literal.value))


ROWS = [
    OpDef(
        "getitem",
        Kind.INDEXING,
        _getitem,
        _getitem_rule,
        _getitem,
        traits=frozenset({Trait.VIEW}),
        arity=1,
    ),
    OpDef(
        "take",
        Kind.INDEXING,
        _take,
        _take_rule,
        _masked_take,
        "take",
        numpy_functions=(np.take,),
        arity=2,
        signature=Signature(("x", "indices"), _TAKE_ARGUMENTS),
        numpy_signature=Signature(
            ("a", "indices"), (_TAKE_ARGUMENTS[0], Param("out", no_out, None), _TAKE_ARGUMENTS[1])
        ),
        method=True,
    ),
    OpDef(
        "boolean_index",
        Kind.INDEXING,
        _boolean_index,
        _boolean_index_rule,
        _boolean_index,
        arity=2,
        traits=frozenset({Trait.UNKNOWN_SIZE}),
    ),
]

register(*ROWS)
