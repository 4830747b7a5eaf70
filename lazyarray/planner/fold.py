"""Constant folding: an op whose inputs are all small constants runs now, with its row's
numpy implementation (the same code the numpy backend would run), and becomes a constant.
Large values are left to run at compute time: folding them would only move the work."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from lazyarray.errors import LazyArrayError
from lazyarray.graph import Node
from lazyarray.ops import OPS, Kind
from lazyarray.ops.creation import constant_node
from lazyarray.planner.rewrite import (
    Outputs,
    is_constant,
    literal_of,
    rebuild,
    same_type,
    transform,
)

# elements: scalars and tiny arrays; folding more only moves the work
# (plan._PLAN_TIME_ELEMENTS follows it)
FOLD_LIMIT = 64
_NEVER = {Kind.SOURCE, Kind.KERNEL}
_CREATION = Kind.CREATION  # read per node (an Enum member read is a Python hook on 3.11)


def _small(node: Node) -> bool:
    shape = node.type.shape
    return None not in shape and math.prod(shape) <= FOLD_LIMIT  # type: ignore[arg-type]


def foldable(node: Node) -> bool:
    """An op on small constants, or a small creation op (``zeros(3)``)."""
    row = OPS[node.op]
    if not node.inputs:
        return row.kind is _CREATION and _small(node)
    if row.kind in _NEVER or not _small(node):
        return False
    return all(is_constant(child) and _small(child) for child in node.inputs)


def _as_literal(value: Any, node: Node, inputs: list[Any]) -> Node | None:
    if node.type.masked:
        if value is np.ma.masked:
            value = np.ma.MaskedArray(np.zeros((), node.type.dtype), mask=True)
        if not isinstance(value, np.ma.MaskedArray):  # one is kept: its fill value uncast
            value = np.ma.MaskedArray(value)
    elif isinstance(value, np.ndarray):
        value = np.asarray(value)
    else:
        value = np.asarray(value, dtype=node.type.dtype)
        value = value[()] if value.ndim == 0 else value
    fresh = isinstance(value, np.ndarray) and value.flags.owndata
    if fresh and not any(
        isinstance(v, np.ndarray) and np.may_share_memory(value, v) for v in inputs
    ):
        value.flags.writeable = False  # computed here, held by the plan: nobody writes it
    folded = constant_node(value)
    return folded if same_type(folded.type, node.type) else None


def fold_constants(outputs: Outputs) -> Outputs:
    def visit(node: Node, inputs: tuple[Node, ...]) -> Node:
        try:
            current = rebuild(node, inputs)
        except LazyArrayError:
            # its inputs, folded, tell its type rule more than the written ones did, and
            # it refuses them (an index folded to a constant out of range): the node stays
            # as written, and its run fails as an unplanned compute's would, at its line
            return node
        if not foldable(current) or is_constant(current):
            return current
        row = OPS[current.op]
        masked = current.type.masked or any(c.type.masked for c in current.inputs)
        values = [literal_of(child) for child in current.inputs]
        try:
            # a fold that would warn (1 / 0) is left to the run, which warns (or raises)
            # as the caller's errstate says
            with np.errstate(all="raise"):
                value = row.implementation(masked)(*values, **current.kwargs)
        except Exception:  # the error belongs to compute time, with its ComputeError
            return current
        folded = _as_literal(value, current, values)
        return folded if folded is not None else current

    return transform(outputs, visit)
