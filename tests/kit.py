"""The project's test kit: what "equal to numpy" means (``lazyarray.testing.equal``,
re-exported here: docs/testing.md), the plan invariant (``check_plan``): no two steps of
a plan compute the same thing, and small helpers."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from lazyarray.graph import Literal, Node, fill_value_of
from lazyarray.testing.equal import *  # noqa: F403 - the comparisons, one definition
from lazyarray.testing.equal import __all__ as _equal_all

__all__ = [*_equal_all, "attribute_key", "chain", "check_plan", "literal_key", "step_key"]


# --- the plan invariant --------------------------------------------------------------


def literal_key(value: Any) -> Any:
    """What a literal reads: for an ndarray, its memory (address, shape, strides, dtype),
    so two views of the same elements are the same literal; for others, the object."""
    if isinstance(value, Literal):
        value = value.value
    if isinstance(value, np.ma.MaskedArray):
        mask = np.ma.getmask(value)  # nomask is one shared value, not an array of its own
        mask_key = literal_key(mask) if isinstance(mask, np.ndarray) else ("nomask",)
        return ("masked", literal_key(value.data), mask_key, repr(fill_value_of(value)))
    if isinstance(value, np.ndarray):
        pointer = value.__array_interface__["data"][0]
        return ("ndarray", pointer, value.shape, value.strides, value.dtype.str)
    return ("object", id(value))


def attribute_key(value: Any) -> Any:
    """Attributes compared by value (Literals by what they read), as a hashable key."""
    if isinstance(value, (Literal, np.ndarray)):
        return literal_key(value)
    if isinstance(value, Node):
        return ("node", id(value))
    if isinstance(value, (tuple, list)):
        return (type(value).__name__, tuple(attribute_key(v) for v in value))
    if isinstance(value, dict):
        return ("dict", tuple(sorted((k, attribute_key(v)) for k, v in value.items())))
    if isinstance(value, slice):
        return ("slice", attribute_key((value.start, value.stop, value.step)))
    try:
        hash(value)
    except TypeError:
        return ("object", id(value))
    return (type(value).__name__, value)


def step_key(node: Node) -> Any:
    return (
        node.op,
        tuple(id(child) for child in node.inputs),
        tuple((name, attribute_key(value)) for name, value in node.attrs),
    )


def check_plan(steps: Iterable[Node]) -> None:
    """No two steps compute the same thing: same op, same inputs, equal attributes."""
    seen: dict[Any, Node] = {}
    for node in steps:
        key = step_key(node)
        other = seen.setdefault(key, node)
        if other is not node:
            raise AssertionError(
                f"plan invariant: two steps compute the same {node.op} "
                f"({other!r} and {node!r}); the plan should share one"
            )


def chain(start: Any, functions: Sequence[Callable[[Any], Any]]) -> Any:
    """``functions`` applied in turn: one long chain, written once for numpy and lazyarray."""
    value = start
    for function in functions:
        value = function(value)
    return value
