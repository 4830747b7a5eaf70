"""numpy's indexing, taken apart into rows: the basic part of an index (slices,
integers, ``None``, ``...``) is one ``getitem`` view; the arrays in it then become one
``gather`` (integer arrays on several axes, broadcast together), one ``boolean_index`` (a
boolean mask alone, whose result size only running can tell), or new axes (0-d booleans
alone).

A boolean array is its ``nonzero()`` integer arrays, one per dimension it covers (from
the values of a literal, lazily otherwise); a 0-d boolean is a new axis indexed by
``[0]`` when true and by ``[]`` when false. numpy's placement rule: the index arrays'
dims replace the indexed axes when the advanced indices (arrays and integers) are
adjacent in the index, and go first otherwise. Errors are numpy's, raised at the user's
line; out-of-bounds values are found here when they are literals (numpy names the axis
of the array indexed), by the row's implementation when running otherwise.
"""

from __future__ import annotations

import operator
from typing import Any, NamedTuple

import numpy as np

from lazyarray.errors import LazyIndexError, OpValueError
from lazyarray.graph import Node
from lazyarray.ops.arguments import integer
from lazyarray.ops.indexing import (
    broadcast_indices,
    encode_index,
    known_values,
    out_of_bounds,
    result_position,
)
from lazyarray.ops.registry import at_user_line
from lazyarray.proxy.base import as_node, wrap
from lazyarray.proxy.build import apply

_NOT_AN_INDEX = (
    "only integers, slices (`:`), ellipsis (`...`), numpy.newaxis (`None`) and integer or "
    "boolean arrays are valid indices"
)
_NOT_INTEGERS = "arrays used as indices must be of integer (or boolean) type"


class _Array(NamedTuple):
    """An array in an index: its node, and its values when known (a literal)."""

    node: Node
    values: np.ndarray[Any, Any] | None

    @property
    def is_bool(self) -> bool:
        return self.node.type.dtype.kind == "b"

    @property
    def is_flag(self) -> bool:  # a 0-d boolean
        return self.is_bool and self.node.type.ndim == 0

    @property
    def covers(self) -> int:
        """How many axes of the indexed array it consumes."""
        return self.node.type.ndim if self.is_bool else 1


def _maybe_array(item: Any) -> bool:
    return hasattr(item, "__lazyarray_node__") or isinstance(
        item, (list, tuple, np.ndarray, bool, np.bool_)
    )


def getitem(x: Any, index: Any) -> Any:
    """``x[index]`` with numpy's semantics (basic and advanced indexing)."""
    node = as_node(x)
    items = index if isinstance(index, tuple) else (index,)
    if not any([_maybe_array(item) for item in items]):  # the hot path: a view
        return wrap(apply("getitem", (node,), index=encode_index(basic_index(items))))
    parsed = [_parse(item) for item in items]
    arrays = [item for item in parsed if isinstance(item, _Array)]
    if not arrays:
        return wrap(apply("getitem", (node,), index=encode_index(basic_index(tuple(parsed)))))
    if all([a.is_flag and a.values is not None for a in arrays]):
        return wrap(_flags_index(node, parsed))
    if len(arrays) == 1 and arrays[0].is_bool and not arrays[0].is_flag:
        return wrap(_mask_index(node, parsed))
    return wrap(_gather_index(node, parsed))


# --- the items of an index --------------------------------------------------------------


def _parse(item: Any) -> Any:
    """A basic item as it is; an array (or a 0-d boolean) as an ``_Array``."""
    if item is None or item is Ellipsis or isinstance(item, slice):
        return item
    if hasattr(item, "__lazyarray_node__"):
        node = as_node(item)
        if node.type.dtype.kind not in "biu":
            raise at_user_line(LazyIndexError(_NOT_INTEGERS))
        return _Array(node, known_values(node))
    if isinstance(item, np.ndarray):
        if item.dtype.kind in "iu" and item.ndim == 0:  # numpy: a 0-d integer array is an int
            return operator.index(item)
        if item.dtype.kind not in "biu":
            raise at_user_line(LazyIndexError(_NOT_INTEGERS))
        return _Array(as_node(item), item)
    if isinstance(item, (bool, np.bool_)):
        values = np.asarray(item)
        return _Array(as_node(values), values)
    if isinstance(item, (list, tuple)):
        return _sequence(item)
    try:
        return operator.index(item)
    except TypeError:
        raise at_user_line(LazyIndexError(_NOT_AN_INDEX)) from None


def _sequence(item: list[Any] | tuple[Any, ...]) -> _Array:
    try:
        values = np.asarray(item)
    except ValueError as exc:  # ragged
        raise at_user_line(OpValueError(str(exc))) from None
    if values.size == 0:  # numpy: an empty sequence indexes as integers
        values = values.astype(np.intp)
    if values.dtype.kind not in "biu":
        raise at_user_line(LazyIndexError(_NOT_AN_INDEX))
    return _Array(as_node(values), values)


def basic_index(items: tuple[Any, ...]) -> tuple[Any, ...]:
    """A basic index (ints, slices, ``None``, ``...``) with every number an int, refused
    in numpy's words at the user's line otherwise."""
    normalized: list[Any] = []
    for item in items:
        if item is None or item is Ellipsis:
            normalized.append(item)
        elif isinstance(item, slice):
            bounds = (item.start, item.stop, item.step)
            normalized.append(slice(*(None if v is None else integer(v) for v in bounds)))
        else:
            try:
                normalized.append(operator.index(item))
            except TypeError:
                raise at_user_line(LazyIndexError(_NOT_AN_INDEX)) from None
    return tuple(normalized)


def _is_basic_item(item: Any) -> bool:
    return item is None or item is Ellipsis or isinstance(item, slice)


class _Axes(NamedTuple):
    """Where each item of a basic index sits: the axis it reads in the indexed array
    (``source``) and the axis it makes in the result (``result``; ints make none)."""

    source: list[int]
    result: list[int]


def _axes(basic: tuple[Any, ...], ndim: int) -> _Axes:
    explicit = sum(1 for item in basic if item is not None and item is not Ellipsis)
    source: list[int] = []
    result: list[int] = []
    read = made = 0
    for item in basic:
        source.append(read)
        result.append(made)
        if item is Ellipsis:
            read += ndim - explicit
            made += ndim - explicit
        elif item is None:
            made += 1
        elif isinstance(item, slice):
            read += 1
            made += 1
        else:
            read += 1
    return _Axes(source, result)


def _selected(node: Node, basic: tuple[Any, ...]) -> Node:
    """``node[basic]``, or ``node`` itself when the index selects everything (checked
    as numpy checks it all the same)."""
    if not all([(isinstance(i, slice) and i == slice(None)) or i is Ellipsis for i in basic]):
        return apply("getitem", (node,), index=encode_index(basic))
    if basic.count(Ellipsis) > 1:
        raise at_user_line(LazyIndexError("an index can only have a single ellipsis ('...')"))
    explicit = len(basic) - basic.count(Ellipsis)
    if explicit > node.type.ndim:
        raise at_user_line(
            LazyIndexError(
                f"too many indices for array: array is {node.type.ndim}-dimensional, "
                f"but {explicit} were indexed"
            )
        )
    return node


def _apart(parsed: list[Any]) -> bool:
    """Whether a slice, ``None`` or ``...`` stands between the advanced indices (arrays
    and integers): numpy then puts the index dims first."""
    advanced = [i for i, item in enumerate(parsed) if not _is_basic_item(item)]
    return advanced[-1] - advanced[0] + 1 != len(advanced)


# --- the three forms -------------------------------------------------------------------


def _gather_index(node: Node, parsed: list[Any]) -> Node:
    """Integer arrays (masks as their nonzero arrays, 0-d booleans as new axes) after the
    basic part: one ``gather``."""
    basic: list[Any] = []
    arrays: list[tuple[int, _Array]] = []  # (position in ``basic``, integer array)
    masks: list[tuple[int, _Array]] = []
    for item in parsed:
        if not isinstance(item, _Array):
            basic.append(item)
        elif item.is_flag:
            basic.append(None)
            arrays.append((len(basic) - 1, _flag_array(item)))
        elif item.is_bool:
            masks.append((len(basic), item))
            for column in _nonzero(item):
                basic.append(slice(None))
                arrays.append((len(basic) - 1, column))
        else:
            basic.append(slice(None))
            arrays.append((len(basic) - 1, item))
    index = basic_index(tuple(basic))
    selected = _selected(node, index)  # numpy's errors of the basic part come first
    where = _axes(index, node.type.ndim)
    for position, mask in masks:
        _check_mask(node, mask, where.source[position])
    try:
        broadcast_indices([array.node.type.shape for _, array in arrays])
    except LazyIndexError as exc:
        raise at_user_line(exc) from None
    for position, array in arrays:
        size = node.type.shape[where.source[position]] if index[position] is not None else 1
        _check_bounds(array, size, where.source[position])
    axes = tuple(where.result[position] for position, _ in arrays)
    front = _apart(parsed) and result_position(axes, True) != result_position(axes, False)
    inputs = (selected, *[array.node for _, array in arrays])
    return apply("gather", inputs, axes=axes, **({"front": True} if front else {}))


def _mask_index(node: Node, parsed: list[Any]) -> Node:
    """One boolean mask (with basic items and integers): ``boolean_index``, its one
    result dim moved first where numpy puts it first."""
    position = next(i for i, item in enumerate(parsed) if isinstance(item, _Array))
    mask = parsed[position]
    covers = (slice(None),) * mask.covers
    index = basic_index((*parsed[:position], *covers, *parsed[position + 1 :]))
    selected = _selected(node, index)
    where = _axes(index, node.type.ndim)
    _check_mask(node, mask, where.source[position])
    axis = where.result[position]
    result = apply("boolean_index", (selected, mask.node), axis=axis)
    if _apart(parsed) and axis != 0:
        order = (axis, *[d for d in range(result.type.ndim) if d != axis])
        result = apply("transpose", (result,), axes=order)
    return result


def _flags_index(node: Node, parsed: list[Any]) -> Node:
    """``x[True]``, ``x[0, False]``: numpy treats 0-d booleans as one advanced index that
    adds a single axis, of length 1 if they are all true and 0 otherwise, placed where the
    advanced indices (booleans and integers) are, or first if slices separate them."""
    flags = [i for i, item in enumerate(parsed) if isinstance(item, _Array)]
    first = 0 if _apart(parsed) else flags[0]
    rest = [item for i, item in enumerate(parsed) if i not in flags]
    index = basic_index((*rest[:first], None, *rest[first:]))
    result = apply("getitem", (node,), index=encode_index(index))
    if not all([bool(parsed[i].values) for i in flags]):
        axis = _axes(index, node.type.ndim).result[first]
        empty = (slice(None),) * axis + (slice(0, 0),)
        result = apply("getitem", (result,), index=encode_index(empty))
    return result


# --- booleans as integer arrays --------------------------------------------------------


def _nonzero(mask: _Array) -> list[_Array]:
    """A mask's nonzero arrays: computed now from a literal, lazily otherwise."""
    if mask.values is not None:
        return [_Array(as_node(column), column) for column in np.nonzero(mask.values)]
    found = apply("argwhere", (mask.node,))
    return [
        _Array(apply("getitem", (found,), index=encode_index((slice(None), d))), None)
        for d in range(mask.node.type.ndim)
    ]


def _flag_array(flag: _Array) -> _Array:
    """The integer array a 0-d boolean stands for on its new axis: ``[0]`` or ``[]``."""
    if flag.values is not None:
        values = np.zeros(int(bool(flag.values)), np.intp)
        return _Array(as_node(values), values)
    return _Array(apply("flatnonzero", (flag.node,)), None)


# --- numpy's checks, where the values are known ----------------------------------------


def _check_mask(node: Node, mask: _Array, first_axis: int) -> None:
    sizes = node.type.shape[first_axis : first_axis + mask.covers]
    for offset, (size, mask_size) in enumerate(zip(sizes, mask.node.type.shape, strict=False)):
        # numpy takes an empty boolean axis against any size: it selects nothing
        if size is not None and mask_size not in (None, 0) and size != mask_size:
            raise at_user_line(
                LazyIndexError(
                    f"boolean index did not match indexed array along axis "
                    f"{first_axis + offset}; size of axis is {size} but size of "
                    f"corresponding boolean axis is {mask_size}"
                )
            )


def _check_bounds(array: _Array, size: int | None, axis: int) -> None:
    if array.values is None or size is None:
        return
    bad = out_of_bounds(array.values, size)
    if bad is not None:
        message = f"index {bad} is out of bounds for axis {axis} with size {size}"
        raise at_user_line(LazyIndexError(message))
