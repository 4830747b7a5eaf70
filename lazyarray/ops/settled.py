"""The values of a small graph over data that cannot change.

A graph is settled when its leaves are read-only literals (``Literal.mutable`` is
False) or generated sources (``full``, ``arange``, ``eye``...: their attributes are
their values), with no parameter, random or custom Python node, no masked node (the
planner folds masked values into writeable literals, and a plan must see the sizes its
graph declares), at most ``SETTLED_NODES`` nodes and at most ``SETTLED_ELEMENTS``
elements in each. Its values are what running it will give, so the type rules of ops
whose result size depends on values (a mask's count, the number of unique values)
compute them now, with each row's numpy implementation, and the size is known when
written, as in numpy. Anything else, or any error while evaluating, leaves the size
unknown (``None``).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np

from lazyarray.graph import Literal, Node, toposort
from lazyarray.ops.registry import OPS, Trait
from lazyarray.types import Shape

SETTLED_NODES = 64
SETTLED_ELEMENTS = 2**20  # in each node of the graph

# a node with one of these may hold other values when run
_UNSETTLED = frozenset({Trait.ARGUMENT, Trait.RANDOM, Trait.NEEDS_PYTHON})


def settled_values(node: Node) -> Any | None:
    """``node``'s values (an ndarray or a scalar) if its graph is settled, else None."""
    if node.has_parameters or not _settled((node,)):
        return None
    with np.errstate(all="ignore"), warnings.catch_warnings(action="ignore"):
        try:
            values = _evaluate(toposort([node]), (node,))
        except Exception:  # any failure is left to running, which reports it
            return None
    return None if values is None else values[node]


def settled_result(op: str, inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> Any | None:
    """What ``op`` over ``inputs`` gives when run, if its inputs are settled, else None:
    for the type rule of ``op``, before its node exists."""
    if any([node.has_parameters for node in inputs]) or not _settled(inputs):
        return None
    with np.errstate(all="ignore"), warnings.catch_warnings(action="ignore"):
        try:
            values = _evaluate(toposort(inputs), inputs)
            if values is None:
                return None
            return OPS[op].impl(*[values[node] for node in inputs], **attrs)
        except Exception:  # as in settled_values
            return None


def settled_shape(op: str, inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> Shape | None:
    """The shape of ``settled_result``, or None."""
    result = settled_result(op, inputs, attrs)
    return None if result is None else tuple(int(d) for d in np.shape(result))


def _settled(roots: tuple[Node, ...]) -> bool:
    """Whether the graph of ``roots`` is settled: walked until it proves not to be,
    never past ``SETTLED_NODES`` nodes."""
    seen = set(roots)
    stack = list(seen)
    while stack:
        node = stack.pop()
        size = node.type.size
        if size is None or size > SETTLED_ELEMENTS or node.type.masked:
            return False
        row = OPS.get(node.op)
        if row is None or row.traits & _UNSETTLED:
            return False
        if not node.inputs:
            value = node.attr("value")
            if Trait.LITERAL in row.traits:
                if isinstance(value, Literal) and value.mutable:
                    return False
            elif Trait.GENERATED not in row.traits:
                return False
        for child in node.inputs:
            if child not in seen:
                seen.add(child)
                if len(seen) > SETTLED_NODES:
                    return False
                stack.append(child)
    return True


def _evaluate(order: list[Node], roots: tuple[Node, ...]) -> dict[Node, Any] | None:
    """The values of ``roots``, inputs first, by each row's implementation (which may
    raise), each other value dropped after its last reader; None if a row disagrees with
    its node's declared shape."""
    readers: dict[Node, int] = {}
    for node in order:
        for child in node.inputs:
            readers[child] = readers.get(child, 0) + 1
    values: dict[Node, Any] = {}
    for node in order:
        row = OPS[node.op]
        if Trait.LITERAL in row.traits:
            value = node.attr("value")
            values[node] = value.value if isinstance(value, Literal) else value
            continue
        value = row.impl(*[values[child] for child in node.inputs], **dict(node.attrs))
        if np.shape(value) != node.type.shape:
            return None
        values[node] = value
        for child in node.inputs:
            readers[child] -= 1
            if not readers[child] and child not in roots:
                del values[child]
    return values
