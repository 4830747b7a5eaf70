"""Products of vectors and of whole arrays: ``outer``, ``kron``, ``vecdot``, ``cross``.

Each runs numpy's function; shapes are derived from the inputs' (numpy's errors, in its
words), dtypes asked of numpy on stand-ins whose sizes are 1 but along the vector axes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from lazyarray.errors import OpValueError, UnsupportedOperation
from lazyarray.graph import Node
from lazyarray.ops.arguments import axis_index, no_out, to_optional_int
from lazyarray.ops.attrtypes import AXIS, gives
from lazyarray.ops.matrix import probe
from lazyarray.ops.registry import Kind, OpDef, register
from lazyarray.ops.signature import Param, Signature
from lazyarray.types import ArrayType, Shape, broadcast_shapes, normalize_axis


def _product(*sizes: int | None) -> int | None:
    return None if None in sizes else math.prod(sizes)  # type: ignore[arg-type]


def _dtype(fn: Any, inputs: tuple[Node, ...], attrs: Mapping[str, Any], shapes: Any = None) -> Any:
    return np.asarray(probe(fn, [n.type for n in inputs], attrs, shapes)).dtype


# --- outer, kron ---------------------------------------------------------------------


def _outer(a: Any, b: Any) -> Any:
    return np.outer(a, b)


def _masked_outer(a: Any, b: Any) -> Any:
    return np.ma.outer(a, b)  # type: ignore[no-untyped-call]


def _outer_rule(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
    """numpy's outer flattens both inputs (the standard's takes vectors: the same)."""
    a, b = inputs
    masked = a.type.masked or b.type.masked
    return ArrayType(_dtype(np.outer, inputs, attrs), (a.type.size, b.type.size), masked)


def _kron_rule(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
    a, b = inputs
    ndim = max(a.type.ndim, b.type.ndim)
    shapes = [(1,) * (ndim - t.ndim) + t.shape for t in (a.type, b.type)]
    shape = tuple(_product(m, n) for m, n in zip(*shapes, strict=True))
    return ArrayType(_dtype(np.kron, inputs, attrs), shape)


# --- vecdot --------------------------------------------------------------------------


def _vecdot(x1: Any, x2: Any, axis: int = -1) -> Any:
    return np.vecdot(x1, x2, axis=axis)  # type: ignore[call-overload]


@gives(AXIS)
def _vecdot_axis(value: Any, inputs: tuple[Node, ...]) -> int:
    """One axis for both inputs, each counting it in its own dimensions (numpy's
    gufunc ``axis``): checked against each in the rule, kept as given."""
    return axis_index(value)


def _vecdot_rule(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
    axis = attrs.get("axis", -1)
    cores: list[int | None] = []
    rests: list[Shape] = []
    for i, node in enumerate(inputs):
        shape = node.type.shape
        if not shape:
            raise OpValueError(
                f"vecdot: Input operand {i} does not have enough dimensions (has 0, gufunc "
                "core with signature (n),(n)->() requires 1)"
            )
        position = normalize_axis(axis, len(shape))
        cores.append(shape[position])
        rests.append(shape[:position] + shape[position + 1 :])
    first, second = cores
    if first is not None and second is not None and first != second:
        raise OpValueError(
            "vecdot: Input operand 1 has a mismatch in its core dimension 0, with gufunc "
            f"signature (n),(n)->() (size {second} is different from {first})"
        )
    dtype = _dtype(np.vecdot, inputs, {}, [(1,), (1,)])
    return ArrayType(dtype, broadcast_shapes(*rests))


# --- cross ---------------------------------------------------------------------------


def _cross(
    a: Any, b: Any, axisa: int = -1, axisb: int = -1, axisc: int = -1, axis: int | None = None
) -> Any:
    return np.cross(a, b, axisa=axisa, axisb=axisb, axisc=axisc, axis=axis)


def _vector_axis(shape: Shape, axis: int) -> int | None:
    """The position of the vector axis, or None where numpy will refuse ``axis``."""
    return axis % len(shape) if shape and -len(shape) <= axis < len(shape) else None


def _cross_rule(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
    """numpy runs on stand-ins of size 1 but along the vector axes, which decides the
    dtype and refuses axes and vector lengths in its words; the vectors' other axes
    broadcast, and a result of 3-vectors puts their axis at ``axisc``."""
    given = attrs.get("axis")
    axes = [attrs.get(name, -1) if given is None else given for name in ("axisa", "axisb")]
    standins: list[tuple[int, ...]] = []
    positions: list[int | None] = []
    for node, axis in zip(inputs, axes, strict=True):
        shape = node.type.shape
        position = _vector_axis(shape, axis)
        if position is not None and shape[position] is None:
            raise UnsupportedOperation(
                "cross of vectors whose length is known only when they are computed is not "
                "supported"
            )
        positions.append(position)
        standins.append(
            tuple(size if d == position else 1 for d, size in enumerate(shape))  # type: ignore[misc]
        )
    dtype = _dtype(_cross, inputs, attrs, standins)  # numpy's errors, before the shapes
    rests = [
        t.shape[:p] + t.shape[p + 1 :]  # type: ignore[operator]
        for t, p in zip((n.type for n in inputs), positions, strict=True)
    ]
    stack = broadcast_shapes(*rests)
    if 3 not in (inputs[0].type.shape[positions[0]], inputs[1].type.shape[positions[1]]):  # type: ignore[index]
        return ArrayType(dtype, stack)  # 2-vectors: their cross products are numbers
    axisc = normalize_axis(attrs.get("axisc", -1) if given is None else given, len(stack) + 1)
    return ArrayType(dtype, stack[:axisc] + (3,) + stack[axisc:])


@gives(AXIS)
def _int(value: Any, inputs: tuple[Node, ...]) -> int:
    return axis_index(value)


_OUT = Param("out", no_out, None, keyword=True)
_CROSS = (
    Param("axisa", _int, -1),
    Param("axisb", _int, -1),
    Param("axisc", _int, -1),
    Param("axis", to_optional_int, None),
)

ROWS = [
    OpDef(
        "outer",
        Kind.LINALG,
        _outer,
        _outer_rule,
        _masked_outer,
        "outer",
        numpy_functions=(np.outer, np.linalg.outer),
        arity=2,
        signature=Signature(("x1", "x2")),
        numpy_signature=Signature(("a", "b"), (_OUT,), positional_only=False),
        namespaces=("", "linalg"),
    ),
    OpDef(
        "kron",
        Kind.LINALG,
        np.kron,
        _kron_rule,
        None,
        numpy_functions=(np.kron,),
        arity=2,
        signature=Signature(("a", "b"), positional_only=False),
    ),
    OpDef(
        "vecdot",
        Kind.LINALG,
        _vecdot,
        _vecdot_rule,
        None,
        "vecdot",
        numpy_functions=(np.vecdot, np.linalg.vecdot),
        arity=2,
        signature=Signature(("x1", "x2"), (Param("axis", _vecdot_axis, -1, keyword=True),)),
        namespaces=("", "linalg"),
    ),
    OpDef(
        "cross",
        Kind.LINALG,
        _cross,
        _cross_rule,
        None,
        "cross",
        numpy_functions=(np.cross, np.linalg.cross),
        arity=2,
        # numpy's arguments for both: the standard's cross(x1, x2, axis=-1) is a call of
        # them, and numpy users' calls (axisa=, axisb=, axisc=) work too
        signature=Signature(("x1", "x2"), _CROSS),
        numpy_signature=Signature(("a", "b"), _CROSS, positional_only=False),
        namespaces=("", "linalg"),
    ),
]

register(*ROWS)
