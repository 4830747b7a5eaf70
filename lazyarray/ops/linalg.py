"""matmul, dot, tensordot and einsum, typed without computing: shape rules for the first
three, and for einsum numpy's own subscript parser (``einsum_path`` reads shapes only)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from lazyarray.errors import ShapeError
from lazyarray.graph import Node
from lazyarray.ops.arguments import to_hashable
from lazyarray.ops.attrtypes import Str
from lazyarray.ops.meta import as_numpy_error, standin
from lazyarray.ops.registry import Kind, OpDef, register
from lazyarray.ops.signature import Param, Signature
from lazyarray.types import ArrayType, Shape, broadcast_shapes, result_type


def _dtype(inputs: tuple[Node, ...]) -> np.dtype[Any]:
    return result_type(*(n.type.promotion_key for n in inputs))


def _same(a: int | None, b: int | None) -> bool:
    return a is None or b is None or a == b


def _matmul_shape(a: Shape, b: Shape) -> Shape:
    for i, shape in enumerate((a, b)):
        if not shape:
            raise ShapeError(
                f"matmul: Input operand {i} does not have enough dimensions (has 0, gufunc "
                "core with signature (n?,k),(k,m?)->(n?,m?) requires 1)"
            )
    a2 = a if len(a) > 1 else (1,) + a
    b2 = b if len(b) > 1 else b + (1,)
    if not _same(a2[-1], b2[-2]):
        raise ShapeError(
            "matmul: Input operand 1 has a mismatch in its core dimension 0, with gufunc "
            f"signature (n?,k),(k,m?)->(n?,m?) (size {b2[-2]} is different from {a2[-1]})"
        )
    batch = broadcast_shapes(a2[:-2], b2[:-2])
    rows = (a2[-2],) if len(a) > 1 else ()
    columns = (b2[-1],) if len(b) > 1 else ()
    return batch + rows + columns


def _matmul_rule(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
    a, b = inputs
    return ArrayType(_dtype(inputs), _matmul_shape(a.type.shape, b.type.shape))


def _dot_shape(a: Shape, b: Shape) -> Shape:
    if not a or not b:
        return broadcast_shapes(a, b)
    rest_b: Shape
    if len(b) == 1:
        contracted_b, rest_b = b[0], ()
    else:
        contracted_b, rest_b = b[-2], b[:-2] + b[-1:]
    if not _same(a[-1], contracted_b):
        raise ShapeError(
            f"shapes {a} and {b} not aligned: {a[-1]} (dim {len(a) - 1}) != "
            f"{contracted_b} (dim {max(len(b) - 2, 0)})"
        )
    return a[:-1] + rest_b


def _dot_rule(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
    a, b = inputs
    masked = a.type.masked or b.type.masked
    return ArrayType(_dtype(inputs), _dot_shape(a.type.shape, b.type.shape), masked)


def _tensordot(a: Any, b: Any, axes: Any = 2) -> Any:
    return np.tensordot(a, b, axes=axes)


def _tensordot_rule(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
    a, b = inputs
    axes = attrs.get("axes", 2)
    if isinstance(axes, int):
        axes_a = tuple(range(a.type.ndim - axes, a.type.ndim))
        axes_b = tuple(range(axes))
    else:
        axes_a, axes_b = (tuple(x) if isinstance(x, tuple) else (x,) for x in axes)
    if len(axes_a) != len(axes_b):
        raise ShapeError("shape-mismatch for sum")
    try:
        axes_a = tuple(ax % a.type.ndim for ax in axes_a)
        axes_b = tuple(ax % b.type.ndim for ax in axes_b)
    except ZeroDivisionError:
        raise ShapeError("shape-mismatch for sum") from None
    for i, j in zip(axes_a, axes_b, strict=True):
        if not _same(a.type.shape[i], b.type.shape[j]):
            raise ShapeError("shape-mismatch for sum")
    shape = tuple(d for i, d in enumerate(a.type.shape) if i not in axes_a) + tuple(
        d for j, d in enumerate(b.type.shape) if j not in axes_b
    )
    return ArrayType(_dtype(inputs), shape)


def _broadcast_size(sizes: list[int | None]) -> int | None:
    known = [s for s in sizes if s not in (None, 1)]
    if known:
        return known[0]
    return None if None in sizes else 1


def _einsum(*operands: Any, subscripts: str) -> Any:
    return np.einsum(subscripts, *operands)


def _einsum_rule(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
    subscripts = attrs["subscripts"]
    arrays = [standin(n.type.dtype, [1 if d is None else d for d in n.type.shape]) for n in inputs]
    try:
        report = np.einsum_path(subscripts, *arrays, optimize=False)[1]
    except (ValueError, TypeError) as exc:
        raise as_numpy_error(exc) from None
    contraction = next(
        line.split(":", 1)[1].strip() for line in report.splitlines() if "Complete" in line
    )
    terms, output = contraction.split("->")
    seen: dict[str, list[int | None]] = {}
    for term, node in zip(terms.split(","), inputs, strict=True):
        for label, size in zip(term, node.type.shape, strict=True):
            seen.setdefault(label, []).append(size)
    sizes = {label: _broadcast_size(found) for label, found in seen.items()}
    return ArrayType(_dtype(inputs), tuple(sizes[label] for label in output))


ROWS = [
    OpDef(
        "matmul",
        Kind.LINALG,
        np.matmul,
        _matmul_rule,
        None,
        "matmul",
        dunders=("__matmul__", "__rmatmul__", "__imatmul__"),
        numpy_functions=(np.matmul, np.linalg.matmul),
        arity=2,
        signature=Signature(("x1", "x2")),
        namespaces=("", "linalg"),
    ),
    OpDef(
        "dot",
        Kind.LINALG,
        np.dot,
        _dot_rule,
        np.ma.dot,
        numpy_functions=(np.dot,),
        arity=2,
        signature=Signature(("a", "b")),
        method=True,
    ),
    OpDef(
        "tensordot",
        Kind.LINALG,
        _tensordot,
        _tensordot_rule,
        None,
        "tensordot",
        numpy_functions=(np.tensordot, np.linalg.tensordot),
        arity=2,
        signature=Signature(("x1", "x2"), (Param("axes", to_hashable, 2, keyword=True),)),
        numpy_signature=Signature(("a", "b"), (Param("axes", to_hashable, 2),)),
        namespaces=("", "linalg"),
    ),
    OpDef(
        "einsum",
        Kind.LINALG,
        _einsum,
        _einsum_rule,
        None,
        numpy_functions=(np.einsum,),
        attributes={"subscripts": Str(max_length=4096)},
    ),
]

register(*ROWS)
