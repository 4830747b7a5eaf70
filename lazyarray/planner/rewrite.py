"""The rewrite engine: bottom-up graph transforms and named rules.

A ``Rule`` matches nodes of some ops and returns a replacement of the same type, or
``None``. Rules are grouped in ordered, named stages (``lazyarray.planner.passes``);
any rule or pass can be switched off by name (``config.set(disabled={...})``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from lazyarray.graph import Node, toposort
from lazyarray.ops import OPS
from lazyarray.types import ArrayType

Outputs = tuple[Node, ...]


@dataclasses.dataclass(frozen=True)
class Rule:
    """``apply(node)`` returns an equivalent node (same dtype, shape and mask) or None."""

    name: str
    ops: frozenset[str]
    apply: Callable[[Node], Node | None]
    algebra: str  # e.g. "x*1 -> x", shown by explain and the docs


def make(op: str, inputs: tuple[Node, ...], site: Any = None, /, **attrs: Any) -> Node:
    """A node built by a rewrite: typed by its row, placed at ``site`` (the user's line of
    the node it replaces)."""
    row = OPS[op]
    key = tuple(sorted(attrs.items()))
    return Node.make(op, inputs, key, lambda: row.infer(inputs, attrs), site)


def rebuild(node: Node, inputs: tuple[Node, ...]) -> Node:
    """``node`` over new inputs (itself when they are the same objects)."""
    if len(inputs) == len(node.inputs) and all(
        new is old for new, old in zip(inputs, node.inputs, strict=True)
    ):
        return node
    row = OPS[node.op]
    attrs = node.kwargs
    return Node.make(node.op, inputs, node.attrs, lambda: row.infer(inputs, attrs), node.site)


def transform(
    outputs: Sequence[Node],
    visit: Callable[[Node, tuple[Node, ...]], Node],
    order: Sequence[Node] | None = None,
) -> Outputs:
    """Calls ``visit(node, new_inputs)`` on every node, inputs first (``order``: the
    outputs' toposort, when the caller has it); returns the new outputs. Iterative, so
    deep graphs are fine."""
    done: dict[Node, Node] = {}
    for node in toposort(outputs) if order is None else order:
        done[node] = visit(node, tuple([done[child] for child in node.inputs]))
    return tuple(done[node] for node in outputs)


def same_type(a: ArrayType, b: ArrayType) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.masked == b.masked


def apply_rules(
    outputs: Sequence[Node],
    rules: Iterable[Rule],
    disabled: frozenset[str] = frozenset(),
    order: Sequence[Node] | None = None,
) -> Outputs:
    """Applies ``rules`` bottom-up, each node to a fixed point. A replacement whose type
    differs from the node's is a bug in the rule: it is refused, never applied."""
    by_op: dict[str, list[Rule]] = {}
    for rule in rules:
        if rule.name not in disabled:
            for op in rule.ops:
                by_op.setdefault(op, []).append(rule)

    def visit(node: Node, inputs: tuple[Node, ...]) -> Node:
        current = rebuild(node, inputs)
        for _ in range(32):
            for rule in by_op.get(current.op, ()):
                replacement = rule.apply(current)
                if replacement is not None and replacement is not current:
                    if not same_type(replacement.type, current.type):
                        raise AssertionError(
                            f"rule {rule.name} changed {current.type} into {replacement.type}"
                        )
                    current = replacement
                    break
            else:
                return current
        return current

    return transform(outputs, visit, order)


def to_fixed_point(
    outputs: Outputs, step: Callable[[Outputs], Outputs], limit: int = 64
) -> Outputs:
    for _ in range(limit):
        new = step(outputs)
        if all(a is b for a, b in zip(new, outputs, strict=True)):
            return new
        outputs = new
    return outputs


def literal_of(node: Node) -> Any:
    """The value of a constant node (unwrapped), or None."""
    if node.op != "constant":
        return None
    value = node.attr("value")
    return getattr(value, "value", value)


def scalar_value(node: Node) -> Any:
    """The Python value of a constant of size 1 (any rank), else None."""
    if node.op != "constant" or node.type.size != 1:
        return None
    value = literal_of(node)
    try:
        return value.reshape(()).item() if hasattr(value, "reshape") else value
    except (AttributeError, ValueError):
        return None


def is_constant(node: Node) -> bool:
    return node.op == "constant"


__all__ = [
    "Outputs",
    "Rule",
    "apply_rules",
    "is_constant",
    "literal_of",
    "make",
    "rebuild",
    "same_type",
    "scalar_value",
    "to_fixed_point",
    "transform",
]
