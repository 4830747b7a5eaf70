"""``x[key] = value``: the key as an op's attributes, the value as a node.

Basic keys (integers, slices, ``...``, ``None``) become ``setitem``; one boolean array,
with only full slices or ``...`` around it, becomes ``boolean_setitem``. Integer-array
keys, which the standard leaves unspecified, are refused.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lazyarray.errors import LazyIndexError, UnsupportedOperation
from lazyarray.graph import Node
from lazyarray.ops import OPS
from lazyarray.ops.indexing import encode_index
from lazyarray.ops.update import check_value
from lazyarray.proxy.base import as_node
from lazyarray.proxy.build import apply
from lazyarray.proxy.indexing import basic_index


def setitem(node: Node, key: Any, value: Any) -> Node:
    """The node of ``node`` with ``node[key]`` set to ``value``."""
    items = key if isinstance(key, tuple) else (key,)
    if value is np.ma.masked:  # numpy.ma's constant: a masked 0-d array of x's dtype
        value = np.ma.MaskedArray(np.zeros((), node.type.dtype), mask=True)
    value_node = as_node(value)
    if len(items) == 1 and _is_flag(items[0]):
        return _where_flag(node, as_node(items[0]), value_node)
    arrays = [i for i, item in enumerate(items) if _is_array(item)]
    if not arrays:
        basic = _basic(items)
        if None in basic:
            basic, value_node = _without_newaxes(node, basic, value_node)
        return apply("setitem", (node, value_node), index=encode_index(basic))
    if len(arrays) > 1:
        raise UnsupportedOperation(
            "assignment through more than one array index is not supported; "
            "combine the masks into one (mask1 & mask2)"
        )
    position = arrays[0]
    mask = _mask_node(items[position])
    axis = _mask_axis(items, position, node.type.ndim, mask.type.ndim)
    return apply("boolean_setitem", (node, value_node, mask), axis=axis)


def _is_flag(item: Any) -> bool:
    """A 0-d boolean key (``True``, ``np.True_``, a lazy 0-d bool): all or nothing."""
    if isinstance(item, (bool, np.bool_)):
        return True
    node = item._node if hasattr(item, "__lazyarray_node__") else None
    if node is None and isinstance(item, np.ndarray):
        return item.ndim == 0 and item.dtype.kind == "b"
    return node is not None and node.type.ndim == 0 and node.type.dtype.kind == "b"


def _where_flag(node: Node, flag: Node, value: Node) -> Node:
    """``x[flag] = value``: ``value`` everywhere if the flag holds, else ``x`` as it was
    (numpy's ``x[True]`` is ``x[None]``: the value fits ``(1, *x.shape)``)."""
    check_value(node, value, (1, *node.type.shape))
    if value.type.ndim > node.type.ndim:  # numpy's extra leading one
        value = apply("reshape", (value,), shape=value.type.shape[1:])
    chosen = apply("where", (flag, value, node))
    if chosen.type.dtype != node.type.dtype:
        chosen = apply("astype", (chosen,), dtype=node.type.dtype, casting="unsafe")
    return chosen


def _is_array(item: Any) -> bool:
    return hasattr(item, "__lazyarray_node__") or isinstance(item, (list, np.ndarray))


def _mask_node(item: Any) -> Node:
    node = item._node if hasattr(item, "__lazyarray_node__") else as_node(np.asarray(item))
    if node.type.dtype.kind != "b" or node.type.ndim == 0:
        raise UnsupportedOperation(
            "assignment through an integer array or a 0-d boolean index is not supported "
            "(the array API standard leaves it unspecified); use a boolean mask of the "
            "indexed axes, or la.where"
        )
    return node


def _mask_axis(items: tuple[Any, ...], position: int, ndim: int, mask_ndim: int) -> int:
    """The first axis a mask covers; the other items must select whole axes."""
    others = items[:position] + items[position + 1 :]
    if any(not (_is_full(item) or item is Ellipsis) for item in others):
        raise UnsupportedOperation(
            "assignment through a boolean mask mixed with integers, partial slices or None "
            "is not supported; assign to a selection of whole axes (x[:, mask] = v)"
        )
    if sum(item is Ellipsis for item in others) > 1:
        raise LazyIndexError("an index can only have a single ellipsis ('...')")
    if Ellipsis in items[:position]:
        return ndim - mask_ndim - sum(_is_full(item) for item in items[position + 1 :])
    return position


def _is_full(item: Any) -> bool:
    return isinstance(item, slice) and item == slice(None)


def _basic(items: tuple[Any, ...]) -> tuple[Any, ...]:
    if any(isinstance(item, (bool, np.bool_)) for item in items):
        raise UnsupportedOperation("assignment through a Python bool index is not supported")
    return basic_index(items)


def _without_newaxes(node: Node, basic: tuple[Any, ...], value: Node) -> tuple[Any, Node]:
    """The same assignment without ``None`` items, which not every backend takes: the
    value is broadcast to the selection with its new axes, and those axes (of size 1)
    are dropped."""
    without = tuple(item for item in basic if item is not None)
    target = OPS["getitem"].infer((node,), {"index": encode_index(basic)}).shape
    shape = OPS["getitem"].infer((node,), {"index": encode_index(without)}).shape
    if None in target or None in value.type.shape:
        raise UnsupportedOperation(
            "assignment with None in the index is not supported where sizes are unknown"
        )
    check_value(node, value, target)
    extra = value.type.ndim - len(target)  # numpy drops a value's extra leading ones
    if extra > 0:
        value = apply("reshape", (value,), shape=value.type.shape[extra:])
    full = apply("broadcast_to", (value,), shape=target)
    return without, apply("reshape", (full,), shape=shape)
