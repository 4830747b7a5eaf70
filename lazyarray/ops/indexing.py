"""Indexing: basic (slices, integers, ``None``, ``...``), ``take`` along an axis,
boolean masks (result size unknown unless the mask is settled) and ``gather``, numpy's
advanced indexing by integer arrays on several axes, applied after the basic part of an
index (``lazyarray/proxy/indexing.py`` takes an index apart into these)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from lazyarray.errors import LazyIndexError, ShapeError
from lazyarray.graph import Node
from lazyarray.ops.arguments import choice, no_out, to_axis
from lazyarray.ops.attrtypes import AXES, AXIS, BOOL, INDEX
from lazyarray.ops.meta import view_shape
from lazyarray.ops.registry import OPS, Kind, OpDef, Trait, register
from lazyarray.ops.settled import settled_values
from lazyarray.ops.signature import Param, Signature
from lazyarray.types import ArrayType, Shape, broadcast_shapes, normalize_axis, shape_text

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
    index = attrs["index"]
    if _reads_elements(index, x.type.shape):  # x[i, j]: the hot path of element reads
        for axis, (item, size) in enumerate(zip(index, x.type.shape, strict=False)):
            if not -size <= item < size:  # type: ignore[operator]  # sizes are known here
                raise LazyIndexError(
                    f"index {item} is out of bounds for axis {axis} with size {size}"
                )
        return x.type.with_(shape=x.type.shape[len(index) :], weak=None)
    return x.type.with_(shape=view_shape(_getitem, [x.type], attrs), weak=None)


def _reads_elements(index: EncodedIndex, shape: Shape) -> bool:
    """Whether ``index`` is integers only, one per leading axis of known size."""
    if len(index) > len(shape):
        return False
    for item, size in zip(index, shape, strict=False):
        if type(item) is not int or size is None:
            return False
    return True


def element_index(node: Node) -> EncodedIndex | None:
    """The integers of ``node`` when it reads one element of its input (``x[i, j]`` on
    a 2-d ``x``), else None."""
    if node.op != "getitem" or len(node.inputs) != 1:
        return None
    index = node.attr("index")
    source = node.inputs[0].type.shape
    return index if len(index) == len(source) and _reads_elements(index, source) else None


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
        # numpy takes an empty boolean axis against any size: it selects nothing
        if size is not None and mask_size not in (None, 0) and size != mask_size:
            raise LazyIndexError(
                f"boolean index did not match indexed array along axis {axis + offset}; "
                f"size of axis is {size} but size of corresponding boolean axis is "
                f"{mask_size}"
            )
    count = _selected(mask)
    shape = x.type.shape[:axis] + (count,) + x.type.shape[axis + mask.type.ndim :]
    return ArrayType(x.type.dtype, shape, x.type.masked)


def _selected(mask: Node) -> int | None:
    """How many elements the mask selects, where known without running: none for an
    empty mask, and the count of a settled mask (``ops/settled.py``: its values cannot
    change)."""
    if mask.type.size == 0:
        return 0
    values = settled_values(mask)
    return None if values is None else int(np.count_nonzero(values))


def broadcast_indices(shapes: Sequence[Shape]) -> Shape:
    """The shape the index arrays broadcast to, refused in numpy's words."""
    try:
        return broadcast_shapes(*shapes)
    except ShapeError:
        shown = " ".join(shape_text(shape).replace(" ", "") for shape in shapes)
        raise LazyIndexError(
            f"shape mismatch: indexing arrays could not be broadcast together with shapes {shown} "
        ) from None


def known_values(node: Node) -> np.ndarray[Any, Any] | None:
    """A literal node's values (numpy indexes by a masked array's data), else None."""
    if Trait.LITERAL not in OPS[node.op].traits:
        return None
    value = node.attr("value")
    return np.asarray(getattr(value, "value", value))


def out_of_bounds(values: Any, size: int) -> int | None:
    """The first index numpy would refuse (in ``values``' C order) along an axis of
    ``size``, or None: one vectorized pass, no loop over the values."""
    values = np.asarray(values)
    if values.size == 0 or -size <= values.min() <= values.max() < size:
        return None
    bad = (values >= size) | (values < -size)
    return int(values.ravel()[np.argmax(bad.ravel())])


def result_position(axes: tuple[int, ...], front: bool) -> int:
    """Where the broadcast index dims go: in place of the indexed axes when these are
    adjacent, otherwise (and when asked: ``front``) first, as numpy places them."""
    adjacent = axes[-1] - axes[0] + 1 == len(axes)
    return axes[0] if adjacent and not front else 0


def _gather(x: Any, *indices: Any, axes: tuple[int, ...], front: bool = False) -> Any:
    index: list[Any] = [slice(None)] * np.ndim(x)
    for axis, values in zip(axes, indices, strict=True):
        index[axis] = np.asarray(values)  # numpy indexes by a masked array's data
    result = x[tuple(index)]
    position = result_position(axes, front)
    natural = result_position(axes, False)
    if position != natural:
        dims = np.ndim(result) - (np.ndim(x) - len(axes))
        result = np.moveaxis(
            result, range(natural, natural + dims), range(position, position + dims)
        )
    return result


def _gather_rule(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
    x, *indices = inputs
    axes = attrs["axes"]
    if len(axes) != len(indices) or list(axes) != sorted(set(axes)):
        raise LazyIndexError(f"gather needs one increasing axis per index array, not {axes}")
    if axes and not 0 <= axes[0] <= axes[-1] < x.type.ndim:
        raise LazyIndexError(
            f"too many indices for array: array is {x.type.ndim}-dimensional, "
            f"but {axes[-1] + 1} were indexed"
        )
    if any([index.type.dtype.kind not in "iu" for index in indices]):
        raise LazyIndexError("arrays used as indices must be of integer (or boolean) type")
    shape = broadcast_indices([index.type.shape for index in indices])
    rest = [size for axis, size in enumerate(x.type.shape) if axis not in axes]
    position = result_position(axes, attrs.get("front", False))
    return ArrayType(x.type.dtype, (*rest[:position], *shape, *rest[position:]), x.type.masked)


ROWS = [
    OpDef(
        "getitem",
        Kind.INDEXING,
        _getitem,
        _getitem_rule,
        _getitem,
        traits=frozenset({Trait.VIEW}),
        arity=1,
        attributes={"index": INDEX},
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
        attributes={"axis": AXIS},
    ),
    # x[..., i, ..., j, ...]: integer arrays ``i, j`` (broadcast together) on ``axes``;
    # built by indexing, after the index's basic part; ``front``: the result's index dims
    # go first although ``axes`` are adjacent (numpy's rule when integers, now applied,
    # stood apart from the arrays)
    OpDef(
        "gather",
        Kind.INDEXING,
        _gather,
        _gather_rule,
        _gather,
        attributes={"axes": AXES, "front": BOOL},
    ),
]

register(*ROWS)
