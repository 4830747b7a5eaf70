"""Algebraic simplification: named rules, each with its algebra and the dtypes for which
it is exact. A rule that is not exact for a dtype (NaN, signed zero, overflow, complex
infinities) does not fire for it: optimization never changes a result."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from lazyarray.graph import Node
from lazyarray.ops import Trait, has
from lazyarray.planner.rewrite import Rule, make, ops_with, same_type, scalar_value

REAL = "biuf"  # complex arithmetic with infinities breaks several identities
INTEGRAL = "biu"


def _kind(node: Node) -> str:
    return str(node.type.dtype.kind)


def _operands(node: Node) -> list[tuple[Node, Node]]:
    """(x, other) pairs: both orders for commutative ops."""
    a, b = node.inputs
    return [(a, b), (b, a)] if has(node, Trait.COMMUTATIVE) else [(a, b)]


def _is(value: Any, target: float) -> bool:
    return value is not None and not isinstance(value, complex) and value == target


def _keeps(node: Node, x: Node) -> Node | None:
    """``x`` when it can stand for ``node`` unchanged (same dtype, shape, mask). Never
    for masked arithmetic: numpy.ma masks results that are not finite (``inf / 1`` is
    masked), so even ``x/1`` is not ``x`` there."""
    if node.type.masked and has(node, Trait.MASKS_INVALID):
        return None
    return x if same_type(x.type, node.type) else None


def _unmasked_scalar(node: Node) -> Any:
    return None if node.type.masked else scalar_value(node)


def mul_by_one(node: Node) -> Node | None:
    # x*1 -> x, exact for real dtypes
    for x, one in _operands(node):
        if _kind(x) in REAL and _is(_unmasked_scalar(one), 1):
            return _keeps(node, x)
    return None


def add_negative_zero(node: Node) -> Node | None:
    # x+0 -> x for integers; for floats only x+(-0.0) -> x (0.0 + -0.0 is +0.0)
    for x, zero in _operands(node):
        value = _unmasked_scalar(zero)
        if not _is(value, 0):
            continue
        if _kind(x) in INTEGRAL or (_kind(x) == "f" and math.copysign(1.0, value) < 0):
            return _keeps(node, x)
    return None


def sub_zero(node: Node) -> Node | None:
    # x-0 -> x for integers, and x-(+0.0) -> x for floats (-0.0 - 0.0 is -0.0)
    x, zero = node.inputs
    value = _unmasked_scalar(zero)
    if _is(value, 0) and (
        _kind(x) in INTEGRAL or (_kind(x) == "f" and math.copysign(1.0, value) > 0)
    ):
        return _keeps(node, x)
    return None


def mul_by_zero(node: Node) -> Node | None:
    # x*0 -> 0 for integers and booleans only (NaN*0 is NaN, -1.0*0 is -0.0)
    for x, zero in _operands(node):
        if (
            _kind(x) in INTEGRAL
            and not x.type.masked
            and _is(_unmasked_scalar(zero), 0)
            and node.type.dtype.kind in INTEGRAL
        ):
            return make("full_like", (x,), node.site, fill_value=0, dtype=node.type.dtype)
    return None


def div_by_one(node: Node) -> Node | None:
    # x/1 -> x for floats (exact, NaN and signed zeros included)
    x, one = node.inputs
    if _kind(x) == "f" and _is(_unmasked_scalar(one), 1):
        return _keeps(node, x)
    return None


def floor_div_by_one(node: Node) -> Node | None:
    # x//1 -> x for integers (for floats it is floor(x))
    x, one = node.inputs
    if _kind(x) in "iu" and _is(_unmasked_scalar(one), 1):
        return _keeps(node, x)
    return None


def pow_one(node: Node) -> Node | None:
    # x**1 -> x (IEEE pow(x, 1) is x for every x)
    x, one = node.inputs
    if _kind(x) in REAL and _is(_unmasked_scalar(one), 1):
        return _keeps(node, x)
    return None


def pow_two(node: Node) -> Node | None:
    # x**2 -> square(x) (numpy computes both as x*x)
    x, two = node.inputs
    if _kind(x) in "iuf" and _is(_unmasked_scalar(two), 2):
        squared = make("square", (x,), node.site)
        return squared if same_type(squared.type, node.type) else None
    return None


def involution(node: Node) -> Node | None:
    # f(f(x)) -> x for the ops with Trait.INVOLUTION, attributes equal: exact for every
    # dtype the op takes (negation and inversion wrap alike; a logical_not of a
    # non-boolean is boolean, so its type differs and the rule does not fire)
    inner = node.inputs[0]
    if inner.op == node.op and inner.attrs == node.attrs:
        return _keeps(node, inner.inputs[0])
    return None


def idempotent(node: Node) -> Node | None:
    # f(f(x)) -> f(x) for the ops with Trait.IDEMPOTENT, attributes equal
    inner = node.inputs[0]
    if inner.op == node.op and inner.attrs == node.attrs and same_type(inner.type, node.type):
        return inner
    return None


def transpose_of_transpose(node: Node) -> Node | None:
    # transpose(transpose(x, p), q) -> transpose(x, p∘q); the identity permutation -> x
    (inner,) = node.inputs
    if inner.op != node.op:
        axes = node.attr("axes")
        if axes is not None and tuple(axes) == tuple(range(len(axes))):
            return _keeps(node, inner)
        return None
    first, second = inner.attr("axes"), node.attr("axes")
    composed = tuple(first[axis] for axis in second)
    source = inner.inputs[0]
    if composed == tuple(range(len(composed))):
        return _keeps(node, source)
    return make(node.op, (source,), node.site, axes=composed)


def reshape_of_reshape(node: Node) -> Node | None:
    # reshape(reshape(x, s1), s2) -> reshape(x, s2); reshape(x, x.shape) -> x, for the
    # ops with Trait.RESHAPE (C-order reshapes: reshape, ravel)
    (inner,) = node.inputs
    if node.type.shape == inner.type.shape and None not in node.type.shape:
        return _keeps(node, inner)
    if has(inner, Trait.RESHAPE):
        source = inner.inputs[0]
        if node.type.shape == source.type.shape and None not in node.type.shape:
            return _keeps(node, source)
        if None not in node.type.shape:
            return make("reshape", (source,), node.site, shape=node.type.shape)
    return None


def astype_chain(node: Node) -> Node | None:
    # astype(x, x.dtype) -> x; astype(astype(x, t1), t2) -> astype(x, t2) when both
    # casts are value-preserving ("safe"), so the intermediate loses nothing
    (inner,) = node.inputs
    if inner.type.dtype == node.type.dtype:
        return _keeps(node, inner)
    if inner.op == node.op:
        source = inner.inputs[0]
        if np.can_cast(source.type.dtype, inner.type.dtype, "safe") and np.can_cast(
            inner.type.dtype, node.type.dtype, "safe"
        ):
            return make("astype", (source,), node.site, dtype=node.type.dtype, casting="unsafe")
    return None


def where_constant(node: Node) -> Node | None:
    # where(True, a, b) -> a; where(False, a, b) -> b
    condition, a, b = node.inputs
    value = _unmasked_scalar(condition)
    if isinstance(value, bool):
        return _keeps(node, a if value else b)
    return None


def where_same(node: Node) -> Node | None:
    # where(c, a, a) -> a
    condition, a, b = node.inputs
    if a is b and broadcast_free(condition, a):
        return _keeps(node, a)
    return None


def broadcast_free(condition: Node, a: Node) -> bool:
    """The condition adds no dimension or mask to ``a``."""
    if condition.type.masked:
        return False
    shape = a.type.shape
    extra = len(condition.type.shape) - len(shape)
    return extra <= 0 and all(
        c in (1, s)
        for c, s in zip(
            condition.type.shape, shape[len(shape) - len(condition.type.shape) :], strict=True
        )
    )


SIMPLIFY = [
    Rule("mul_by_one", frozenset({"multiply"}), mul_by_one, "x*1 -> x"),
    Rule("add_negative_zero", frozenset({"add"}), add_negative_zero, "x+0 -> x (floats: x+(-0.0))"),
    Rule("sub_zero", frozenset({"subtract"}), sub_zero, "x-0 -> x"),
    Rule("mul_by_zero", frozenset({"multiply"}), mul_by_zero, "x*0 -> 0 (integers)"),
    Rule("div_by_one", frozenset({"divide"}), div_by_one, "x/1 -> x (floats)"),
    Rule("floor_div_by_one", frozenset({"floor_divide"}), floor_div_by_one, "x//1 -> x (integers)"),
    Rule("pow_one", frozenset({"power"}), pow_one, "x**1 -> x"),
    Rule("pow_two", frozenset({"power"}), pow_two, "x**2 -> square(x)"),
    Rule("involution", ops_with(Trait.INVOLUTION), involution, "-(-x) -> x, ~~x -> x ..."),
    Rule("idempotent", ops_with(Trait.IDEMPOTENT), idempotent, "|(|x|)| -> |x| ..."),
    Rule(
        "transpose_of_transpose", frozenset({"transpose"}), transpose_of_transpose, "T(T(x)) -> x"
    ),
    Rule(
        "reshape_of_reshape",
        ops_with(Trait.RESHAPE),
        reshape_of_reshape,
        "reshape(reshape(x)) -> reshape(x)",
    ),
    Rule(
        "astype_chain",
        frozenset({"astype"}),
        astype_chain,
        "astype(astype(x, t1), t2) -> astype(x, t2)",
    ),
    Rule("where_constant", frozenset({"where"}), where_constant, "where(True, a, b) -> a"),
    Rule("where_same", frozenset({"where"}), where_same, "where(c, a, a) -> a"),
]
