"""numpy's ``where=`` on reductions, as the expression it stands for: the excluded
elements replaced by the reduction's identity (``sum(where(m, x, 0))``), and for the
statistics numpy's own steps (``numpy/_core/_methods.py``) with the count of included
elements, so results and dtypes are numpy's."""

from __future__ import annotations

from typing import Any

import numpy as np

from lazyarray.errors import CastError, OpArgumentError, OpValueError, ShapeError
from lazyarray.graph import Node
from lazyarray.ops import OPS, Trait
from lazyarray.proxy import build
from lazyarray.proxy.base import as_node, wrap
from lazyarray.types import broadcast_shapes, shape_text

# what an excluded element becomes; min and max take the caller's ``initial``
_IDENTITY = {"sum": 0, "prod": 1, "any": 0, "all": 1}
_NO_IDENTITY = {"min": "minimum", "max": "maximum"}


def reduce_where(
    name: str, x: Node, where: Any, axis: Any, keepdims: bool, extra: dict[str, Any]
) -> Any:
    """``name(x, axis, where=where, **extra)`` for every reduction numpy gives ``where=``."""
    row = OPS.get(name)
    statistic = row is not None and Trait.STATISTIC in row.traits
    if name not in _IDENTITY and not statistic and name not in _NO_IDENTITY:
        raise OpArgumentError(f"{name}() got an unexpected keyword argument 'where'")
    if x.type.masked:  # numpy.ma's reductions have no where=
        raise OpArgumentError(f"MaskedArray.{name}() got an unexpected keyword argument 'where'")
    mask = as_node(where)
    if mask.type.dtype.kind != "b":
        raise CastError(
            f"Cannot cast array data from dtype({str(mask.type.dtype)!r}) to "
            "dtype('bool') according to the rule 'safe'"
        )
    if broadcast_shapes(x.type.shape, mask.type.shape) != x.type.shape:
        raise ShapeError(
            f"where= of shape {shape_text(mask.type.shape)} does not broadcast to the "
            f"reduced array's shape {shape_text(x.type.shape)}"
        )
    if statistic:
        return _statistic(name, x, mask, axis, keepdims, extra)
    if name in _NO_IDENTITY:
        if extra.get("initial") is None:
            raise OpValueError(
                f"reduction operation '{_NO_IDENTITY[name]}' does not have an identity, "
                "so to use a where mask one has to specify 'initial'"
            )
        fill: Any = extra["initial"]
    else:
        fill = np.array(_IDENTITY[name], x.type.dtype)[()]
    kept = build.elementwise("where", wrap(mask), wrap(x), fill)
    return build.reduce(name, kept, axis, keepdims, **extra)


def _statistic(
    name: str, x: Node, mask: Node, axis: Any, keepdims: bool, extra: dict[str, Any]
) -> Any:
    dtype = extra.pop("dtype", None)
    ddof = extra.pop("ddof", 0)
    if extra:
        raise OpArgumentError(f"{name}() got an unexpected keyword argument {next(iter(extra))!r}")
    kind = x.type.dtype.kind
    if dtype is None and kind in "biu":
        dtype = np.dtype(np.float64)
    half = name == "mean" and dtype is None and x.type.dtype == np.float16
    if half:
        dtype = np.dtype(np.float32)
    array, included = wrap(x), wrap(mask)
    zero = np.array(0, x.type.dtype)[()]

    def count(keep: bool) -> Any:
        spread = build.call("broadcast_to", (included, x.type.shape), {})
        return build.reduce("sum", spread, axis, keep, dtype=np.intp)

    def mean(keep: bool) -> Any:
        total = build.reduce("sum", build.where(included, array, zero), axis, keep, dtype=dtype)
        return build.astype(total / count(keep), total.dtype)

    if name == "mean":
        result = mean(keepdims)
        return build.astype(result, x.type.dtype) if half else result
    deviation = array - mean(True)
    if deviation.dtype.kind == "c":
        squares = build.unary("real", deviation) ** 2 + build.unary("imag", deviation) ** 2
    else:
        squares = build.unary("square", deviation)
    zero_square = np.array(0, squares.dtype)[()]
    total = build.reduce(
        "sum", build.where(included, squares, zero_square), axis, keepdims, dtype=dtype
    )
    degrees = build.elementwise("maximum", count(keepdims) - ddof, 0)
    result = build.astype(total / degrees, total.dtype)
    return build.unary("sqrt", result) if name == "std" else result
