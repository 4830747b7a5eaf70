"""The rewrite engine: bottom-up graph transforms and named rules.

A ``Rule`` matches nodes of some ops (and, optionally, whose first input is of some ops)
and returns a replacement of the same type, or ``None``. The engine is the one place that
dispatches on op names: rules declare theirs, and their bodies ask traits. Rules are
grouped in ordered, named stages (``lazyarray.planner.passes``); any rule or pass can be
switched off by name (``config.set(disabled={...})``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from lazyarray.graph import Node, toposort
from lazyarray.ops import OPS, Trait, rows_with
from lazyarray.types import ArrayType

Outputs = tuple[Node, ...]


@dataclasses.dataclass(frozen=True)
class Rule:
    """``apply(node)`` returns an equivalent node (same dtype, shape and mask) or None.
    It is asked of nodes whose op is in ``ops`` and, unless ``reads`` is None, whose
    first input's op is in ``reads`` (a pattern ``op(reads(...), ...)``)."""

    name: str
    ops: frozenset[str]
    apply: Callable[[Node], Node | None]
    algebra: str  # e.g. "x*1 -> x", shown by explain and the docs
    reads: frozenset[str] | None = None


def ops_with(trait: Trait) -> frozenset[str]:
    """The names of the ops with ``trait``: what a rule about that trait matches."""
    return frozenset(row.name for row in rows_with(trait))


def matches_any(order: Iterable[Node], rules: Iterable[Rule]) -> bool:
    """Whether any rule could match any of the nodes (else a pass would change nothing)."""
    matched = frozenset().union(*(rule.ops for rule in rules))
    return any(node.op in matched for node in order)


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


_MAX_REWRITES = 32  # successive rewrites of one node: a bound on rule sets that cycle


def apply_rules(
    outputs: Sequence[Node],
    rules: Iterable[Rule],
    disabled: frozenset[str] = frozenset(),
    order: Sequence[Node] | None = None,
) -> Outputs:
    """Rewrites the graph to its normal form: no rule fires on any node of the result.

    Nodes are visited inputs first (``order``: the outputs' toposort, when the caller
    has it). A replacement is itself normalized before it stands for its node, new nodes
    under it included (``x[:2]`` pushed through a chain of 1,000 ops rebuilds 1,000
    nodes in one pass), so one pass reaches the fixed point and the cost is linear in
    the nodes visited and built. A replacement whose type differs from the node's is a
    bug in the rule: it is refused, never applied."""
    by_op: dict[str, list[Rule]] = {}
    for rule in rules:
        if rule.name not in disabled:
            for op in rule.ops:
                by_op.setdefault(op, []).append(rule)
    done: dict[Node, Node] = {}  # node -> its normal form (a normal node maps to itself)
    redirect: dict[Node, Node] = {}  # node -> the replacement being normalized for it
    rewrites: dict[Node, int] = {}  # replacement -> successive rewrites that led to it

    def fire(node: Node) -> Node | None:
        for rule in by_op.get(node.op, ()):
            if rule.reads is not None and (not node.inputs or node.inputs[0].op not in rule.reads):
                continue
            replacement = rule.apply(node)
            if replacement is not None and replacement is not node:
                if not same_type(replacement.type, node.type):
                    raise AssertionError(
                        f"rule {rule.name} changed {node.type} into {replacement.type}"
                    )
                return replacement
        return None

    def normalize(start: Node) -> None:
        """Puts ``start`` and every node it needs in ``done``; iterative (deep graphs)."""
        stack = [start]
        while stack:
            node = stack[-1]
            if node in done:
                stack.pop()
                continue
            target = redirect.get(node)
            if target is not None:
                if target in done:  # its replacement is normal by now
                    done[node] = done[target]
                else:  # the replacement reads the node itself: the node stays
                    current = rebuild(node, tuple([done[child] for child in node.inputs]))
                    done[node] = done[current] = current
                stack.pop()
                continue
            missing = [child for child in node.inputs if child not in done]
            if missing:
                stack += missing
                continue
            current = rebuild(node, tuple([done[child] for child in node.inputs]))
            if current in done:
                done[node] = done[current]
                stack.pop()
                continue
            count = rewrites.get(node, 0)
            replacement = fire(current) if count < _MAX_REWRITES else None
            if replacement is not None and replacement in done:
                done[node] = done[current] = done[replacement]
                stack.pop()
            elif replacement is None or replacement in redirect:  # normal, or a cycle
                done[node] = done[current] = current
                stack.pop()
            else:
                redirect[node] = redirect[current] = replacement
                rewrites[replacement] = count + 1
                stack.append(replacement)

    for node in toposort(outputs) if order is None else order:
        if node not in done:
            normalize(node)
    return tuple(done[node] for node in outputs)


def literal_of(node: Node) -> Any:
    """The value of a constant node (unwrapped), or None."""
    if not is_constant(node):
        return None
    value = node.attr("value")
    return getattr(value, "value", value)


def scalar_value(node: Node) -> Any:
    """The Python value of a constant of size 1 (any rank), else None."""
    if node.type.size != 1 or not is_constant(node):
        return None
    value = literal_of(node)
    try:
        return value.reshape(()).item() if hasattr(value, "reshape") else value
    except (AttributeError, ValueError):
        return None


def is_constant(node: Node) -> bool:
    """A literal: its value is known when planning (``Trait.LITERAL``)."""
    return _LITERAL in OPS[node.op].traits


_LITERAL = Trait.LITERAL  # read per node (an Enum member read is a Python hook on 3.11)


__all__ = [
    "Outputs",
    "Rule",
    "apply_rules",
    "is_constant",
    "literal_of",
    "make",
    "matches_any",
    "ops_with",
    "rebuild",
    "same_type",
    "scalar_value",
    "transform",
]
