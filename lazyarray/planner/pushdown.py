"""Slice pushdown: a basic index applied to an expression moves toward the sources, so
that only the elements the result needs are read, generated or computed.

Each move is a named rule (``slice_through_elementwise`` ...), switchable like every
rule. Index arithmetic: ndindex normalizes an index against a shape (``expand``); the
composition of slices is done on Python ``range`` objects, which slice exactly.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Sequence
from typing import Any

import ndindex
import numpy as np

from lazyarray.graph import Literal, Node
from lazyarray.ops import OPS, Kind, Trait
from lazyarray.ops.creation import Item, constant_node, region_items
from lazyarray.ops.indexing import decode_index, encode_index
from lazyarray.planner.rewrite import Rule, is_constant, make, same_type


def expanded(node: Node) -> tuple[list[Item], list[int]] | None:
    """A getitem's index as one item per input dim (ints and ranges) and the positions
    of its ``None``s in the result; None when sizes are unknown."""
    (source,) = node.inputs
    shape = source.type.shape
    if None in shape:
        return None
    index = ndindex.ndindex(decode_index(node.attr("index"))).expand(shape)
    items: list[Item] = []
    newaxes: list[int] = []
    out_position = 0
    for item in index.args:
        if isinstance(item, ndindex.Newaxis):
            newaxes.append(out_position)
            out_position += 1
        elif isinstance(item, ndindex.Integer):
            items.append(int(item.raw))
        elif isinstance(item, ndindex.Slice):
            size = shape[len(items)]
            items.append(range(*item.raw.indices(size)))
            out_position += 1
        else:  # arrays are not basic indexes
            return None
    return items, newaxes


def as_index(items: Sequence[Item]) -> tuple[Any, ...]:
    return tuple(item if isinstance(item, int) else range_slice(item) for item in items)


def range_slice(r: range) -> slice:
    """The slice selecting exactly the positions of ``r``."""
    if len(r) == 0:
        return slice(0, 0, 1)
    stop: int | None = r.stop
    if r.step < 0 and r.stop < 0:
        stop = None
    return slice(r.start, stop, r.step)


def index_node(source: Node, items: Sequence[Item], site: Any) -> Node:
    """``source[items]``, or ``source`` itself when the items select everything."""
    shape = source.type.shape
    if all(
        isinstance(item, range) and item == range(size or 0)
        for item, size in zip(items, shape, strict=True)
    ):
        return source
    return make("getitem", (source,), site, index=encode_index(as_index(items)))


def with_newaxes(node: Node, newaxes: list[int], site: Any) -> Node:
    if not newaxes:
        return node
    index: list[Any] = [slice(None)] * (node.type.ndim + len(newaxes))
    for position in newaxes:
        index[position] = None
    return make("getitem", (node,), site, index=encode_index(tuple(index)))


def compose(outer: Sequence[Item], inner: Sequence[Item]) -> list[Item]:
    """The items of ``x[inner][outer]`` as one index on ``x``."""
    result: list[Item] = []
    pending = iter(outer)
    for item in inner:
        if isinstance(item, int):
            result.append(item)
        else:
            selector = next(pending)
            result.append(
                item[selector] if isinstance(selector, int) else item[range_slice(selector)]
            )
    return result


def _pushed(node: Node, build: Any) -> Node | None:
    """Shared frame of every rule: parse the index, build the replacement from the
    per-input-dim items, put the ``None`` axes back, and check the type."""
    parsed = expanded(node)
    if parsed is None:
        return None
    items, newaxes = parsed
    replacement = build(node.inputs[0], items)
    if replacement is None:
        return None
    replacement = with_newaxes(replacement, newaxes, node.site)
    return replacement if same_type(replacement.type, node.type) else None


def _broadcast_items(child: Node, items: Sequence[Item], shape: Sequence[int | None]) -> list[Item]:
    """The items for an input broadcast to ``shape``: its own trailing dims, with size-1
    dims that broadcast kept whole (a range) or taken at 0 (an integer)."""
    own = child.type.shape
    trailing = list(items[len(items) - len(own) :]) if own else []
    result: list[Item] = []
    for item, size, full in zip(trailing, own, shape[len(shape) - len(own) :], strict=True):
        if size == 1 and full != 1:
            result.append(0 if isinstance(item, int) else range(1))
        else:
            result.append(item)
    return result


def slice_through_elementwise(node: Node) -> Node | None:
    # f(a, b)[i] -> f(a[i'], b[i']), i' being i fitted to each input's broadcast; also
    # for numpy.ma's shape-preserving ops (masked_array, filled, getdata, getmaskarray)
    source = node.inputs[0]
    row = OPS[source.op]
    elementwise = row.kind is Kind.ELEMENTWISE or (
        row.kind is Kind.MASKED and Trait.PRESERVES_SHAPE in row.traits
    )
    if not elementwise:
        return None

    def build(x: Node, items: list[Item]) -> Node | None:
        if any(None in child.type.shape for child in x.inputs):
            return None
        inputs = tuple(
            index_node(child, _broadcast_items(child, items, x.type.shape), node.site)
            if child.type.ndim
            else child
            for child in x.inputs
        )
        return make(x.op, inputs, x.site, **x.kwargs)

    return _pushed(node, build)


def slice_through_broadcast_to(node: Node) -> Node | None:
    # broadcast_to(a, s)[i] -> broadcast_to(a[i'], s[i])
    def build(x: Node, items: list[Item]) -> Node | None:
        (child,) = x.inputs
        inner = index_node(child, _broadcast_items(child, items, x.type.shape), node.site)
        shape = tuple(len(item) for item in items if isinstance(item, range))
        return make(x.op, (inner,), x.site, shape=shape)

    return _pushed(node, build)


def slice_through_transpose(node: Node) -> Node | None:
    # transpose(a, p)[i] -> transpose(a[p^-1 i], p')
    def build(x: Node, items: list[Item]) -> Node | None:
        axes = x.attr("axes")
        inner: list[Item] = [range(0)] * len(axes)
        for out_dim, in_dim in enumerate(axes):
            inner[in_dim] = items[out_dim]
        kept_inputs = [d for d, item in enumerate(inner) if isinstance(item, range)]
        rank = {d: i for i, d in enumerate(kept_inputs)}
        new_axes = tuple(rank[axes[o]] for o, item in enumerate(items) if isinstance(item, range))
        sliced = index_node(x.inputs[0], inner, node.site)
        if new_axes == tuple(range(len(new_axes))):
            return sliced
        return make(x.op, (sliced,), x.site, axes=new_axes)

    return _pushed(node, build)


def slice_through_reduction(node: Node) -> Node | None:
    # reduce(a, axis=k)[i] -> reduce(a[i with k kept whole], axis=k')
    source = node.inputs[0]
    if OPS[source.op].kind is not Kind.REDUCTION or source.attr("axis") is None:
        return None

    def build(x: Node, items: list[Item]) -> Node | None:
        (child,) = x.inputs
        axis = x.attr("axis")
        axes = (axis,) if isinstance(axis, int) else tuple(axis)
        keepdims = bool(x.attr("keepdims", False))
        out = iter(items)
        inner: list[Item] = []
        for dim, size in enumerate(child.type.shape):
            if dim in axes:
                if keepdims and next(out) != range(1):
                    return None
                inner.append(range(size))  # type: ignore[arg-type]
            else:
                inner.append(next(out))
        dropped = [d for d, item in enumerate(inner) if isinstance(item, int)]
        renumbered = tuple(a - sum(1 for d in dropped if d < a) for a in axes)
        attrs = x.kwargs
        attrs["axis"] = renumbered[0] if isinstance(axis, int) else renumbered
        return make(x.op, (index_node(child, inner, node.site),), x.site, **attrs)

    return _pushed(node, build)


def slice_through_concatenate(node: Node) -> Node | None:
    # concatenate([a, b], k)[i] -> concatenate([a[i_a], b[i_b]], k'), skipping the
    # inputs that the index does not reach
    if node.inputs[0].attr("axis") is None:
        return None

    def build(x: Node, items: list[Item]) -> Node | None:
        axis = x.attr("axis") % x.type.ndim
        along = items[axis]
        if isinstance(along, range) and along.step < 0:
            return None
        parts: list[Node] = []
        offset = 0
        for child in x.inputs:
            size = child.type.shape[axis]
            assert size is not None
            own = list(items)
            if isinstance(along, int):
                if not offset <= along < offset + size:
                    offset += size
                    continue
                own[axis] = along - offset
            else:
                first = max(0, -(-(offset - along.start) // along.step))
                last = max(0, -(-(offset + size - along.start) // along.step))
                selected = along[first:last]
                if len(selected) == 0:
                    offset += size
                    continue
                own[axis] = range(selected.start - offset, selected.stop - offset, selected.step)
            parts.append(index_node(child, own, node.site))
            offset += size
        if not parts:
            return None
        if len(parts) == 1:
            return parts[0]
        new_axis = axis - sum(1 for item in items[:axis] if isinstance(item, int))
        return make(x.op, tuple(parts), x.site, axis=new_axis)

    return _pushed(node, build)


def slice_of_slice(node: Node) -> Node | None:
    # a[i][j] -> a[i∘j]
    source = node.inputs[0]
    inner = expanded(source)
    outer = expanded(node)
    if inner is None or outer is None or inner[1]:
        return None
    composed = compose(outer[0], inner[0])
    replacement = with_newaxes(
        index_node(source.inputs[0], composed, node.site), outer[1], node.site
    )
    return replacement if same_type(replacement.type, node.type) else None


# literal[i] gives one view per (literal, index) while a node holds it, so that equal
# slices of one literal are one constant node, computed once
_VIEWS: weakref.WeakKeyDictionary[Literal, weakref.WeakValueDictionary[Any, Literal]] = (
    weakref.WeakKeyDictionary()
)
_VIEWS_LOCK = threading.Lock()


def literal_view(literal: Literal, index: tuple[Any, ...], newaxes: Sequence[int] = ()) -> Literal:
    """The literal holding the view ``literal.value[index]`` with new axes at
    ``newaxes``: the same one for the same index, while a node holds it."""
    key = (encode_index(index), tuple(newaxes))
    with _VIEWS_LOCK:
        views = _VIEWS.get(literal)
        if views is None:
            views = _VIEWS[literal] = weakref.WeakValueDictionary()
        view = views.get(key)
        if view is None:
            value = literal.value[index]
            if not isinstance(value, np.ndarray):
                value = np.asarray(value)
            view = Literal.of(np.expand_dims(value, tuple(newaxes)) if newaxes else value)
            views[key] = view
    return view


def slice_constant(node: Node) -> Node | None:
    # literal[i] -> a literal holding the view literal[i] (numpy views copy nothing);
    # one literal per (literal, index), so equal slices are one node
    source = node.inputs[0]
    value = source.attr("value") if is_constant(source) else None
    if not isinstance(value, Literal):
        return None
    parsed = expanded(node)
    if parsed is None:
        return None
    items, newaxes = parsed
    view = literal_view(value, as_index(items), newaxes)  # held: the node must get it
    folded = constant_node(view.value)
    return folded if same_type(folded.type, node.type) else None


# sources that take a ``region``: generated ones compute only it, stored ones read only
# the chunks it touches
_REGIONED = frozenset({Trait.GENERATED, Trait.STORED})


def slice_source(node: Node) -> Node | None:
    # g(...)[i] -> g(..., region=i) for every generated source g (random, full, arange,
    # linspace, eye) and every stored one (read): only the selected elements are
    # generated, only the chunks they lie in are read; an existing region composes with i
    source = node.inputs[0]
    if _REGIONED.isdisjoint(OPS[source.op].traits):
        return None
    parsed = expanded(node)
    if parsed is None:
        return None
    items, newaxes = parsed
    attrs = source.kwargs
    region = attrs.pop("region", None)
    whole = OPS[source.op].infer((), attrs).shape  # the shape without a region
    if None in whole:
        return None
    if region is not None:
        items = compose(items, region_items(region, whole))
    if any(item != range(size or 0) for item, size in zip(items, whole, strict=True)):
        attrs["region"] = encode_index(as_index(items))
    replacement = with_newaxes(make(source.op, (), source.site, **attrs), newaxes, node.site)
    return replacement if same_type(replacement.type, node.type) else None


PUSHDOWN = [
    Rule(
        "slice_of_slice",
        frozenset({"getitem"}),
        slice_of_slice,
        "a[i][j] -> a[i∘j]",
        reads=frozenset({"getitem"}),
    ),
    Rule("slice_constant", frozenset({"getitem"}), slice_constant, "literal[i] -> literal view"),
    Rule(
        "slice_source",
        frozenset({"getitem"}),
        slice_source,
        "g(...)[i] -> g(..., region=i) for generated and stored sources g",
    ),
    Rule(
        "slice_through_elementwise",
        frozenset({"getitem"}),
        slice_through_elementwise,
        "f(a, b)[i] -> f(a[i], b[i])",
    ),
    Rule(
        "slice_through_broadcast_to",
        frozenset({"getitem"}),
        slice_through_broadcast_to,
        "broadcast_to(a, s)[i] -> broadcast_to(a[i'], s')",
        reads=frozenset({"broadcast_to"}),
    ),
    Rule(
        "slice_through_transpose",
        frozenset({"getitem"}),
        slice_through_transpose,
        "transpose(a)[i] -> transpose(a[i'])",
        reads=frozenset({"transpose"}),
    ),
    Rule(
        "slice_through_reduction",
        frozenset({"getitem"}),
        slice_through_reduction,
        "reduce(a, axis=k)[i] -> reduce(a[i'], axis=k')",
    ),
    Rule(
        "slice_through_concatenate",
        frozenset({"getitem"}),
        slice_through_concatenate,
        "concatenate([a, b])[i] -> concatenate([a[i_a], b[i_b]])",
        reads=frozenset({"concatenate"}),
    ),
]
