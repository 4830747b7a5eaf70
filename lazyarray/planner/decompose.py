"""Decomposition: ``mean``, ``var`` and ``std`` of float64 arrays rewritten as the sums
numpy itself computes them with, so that fusion can run them as single passes that
never build the ``x - mean`` temporary. Each rule reproduces numpy's own arithmetic
(``numpy/_core/_methods.py``): run unfused, the result is bit-identical."""

from __future__ import annotations

import math

from lazyarray.graph import Node
from lazyarray.planner.rewrite import Rule, make, same_type

_FLOAT64 = "<f8"


def _applies(node: Node) -> bool:
    (x,) = node.inputs
    return (
        x.type.dtype.str == _FLOAT64
        and not x.type.masked
        and None not in x.type.shape
        and node.attr("dtype") is None
    )


def _count(node: Node) -> int:
    (x,) = node.inputs
    axis = node.attr("axis")
    axes = range(x.type.ndim) if axis is None else axis
    return math.prod(x.type.shape[a] for a in axes)  # type: ignore[misc]


def _sum(x: Node, node: Node, keepdims: bool) -> Node:
    attrs: dict[str, object] = {"axis": node.attr("axis")}
    if keepdims:
        attrs["keepdims"] = True
    return make("sum", (x,), node.site, **attrs)


def _divide(total: Node, count: int, node: Node) -> Node:
    return make("divide", (total, _count_node(count)), node.site)


def _count_node(count: int) -> Node:
    from lazyarray.ops.creation import constant_node

    return constant_node(count)


def mean_as_sum(node: Node) -> Node | None:
    # mean(x) -> sum(x) / n; the sum keeps its dimensions (then drops them), so that it
    # is the very node var and std of the same x sum, and x is read once for both
    if not _applies(node):
        return None
    total = _sum(node.inputs[0], node, keepdims=True)
    if not node.attr("keepdims", False):
        axis = node.attr("axis")
        axes = tuple(range(node.inputs[0].type.ndim)) if axis is None else tuple(axis)
        total = make("squeeze", (total,), node.site, axis=axes)
    result = _divide(total, _count(node), node)
    return result if same_type(result.type, node.type) else None


def _variance(node: Node) -> Node:
    (x,) = node.inputs
    count = _count(node)
    mean = _divide(_sum(x, node, keepdims=True), count, node)
    deviation = make("subtract", (x, mean), node.site)
    squares = make("multiply", (deviation, deviation), node.site)
    keepdims = bool(node.attr("keepdims", False))
    ddof = node.attr("ddof") or 0
    return _divide(_sum(squares, node, keepdims), max(count - ddof, 0), node)


def var_as_sums(node: Node) -> Node | None:
    # var(x) -> sum((x - sum(x)/n)**2) / (n - ddof)
    if not _applies(node):
        return None
    result = _variance(node)
    return result if same_type(result.type, node.type) else None


def std_as_sums(node: Node) -> Node | None:
    # std(x) -> sqrt(var(x))
    if not _applies(node):
        return None
    result = make("sqrt", (_variance(node),), node.site)
    return result if same_type(result.type, node.type) else None


DECOMPOSE = [
    Rule("mean_as_sum", frozenset({"mean"}), mean_as_sum, "mean(x) -> sum(x)/n"),
    Rule("var_as_sums", frozenset({"var"}), var_as_sums, "var(x) -> sum((x-sum(x)/n)**2)/(n-ddof)"),
    Rule("std_as_sums", frozenset({"std"}), std_as_sums, "std(x) -> sqrt(var(x))"),
]
