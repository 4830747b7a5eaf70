"""Set and search functions that return several arrays, or take an array as an option.

A node is one array, so these few build several nodes from rows (``unique``,
``argwhere``, ``searchsorted`` in ``lazyarray/ops/``) and return them as numpy and the
array API standard do: named tuples with the standard's field names, or numpy's plain
tuples. Each is also what ``np.<name>(proxy)`` dispatches to (NEP 18).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from lazyarray.errors import LazyArrayError, OpArgumentError, OpValueError
from lazyarray.ops.arguments import flag
from lazyarray.ops.registry import at_user_line
from lazyarray.ops.searching import check_sorted_input
from lazyarray.proxy import as_node, build, numpy_protocol


class UniqueAllResult(NamedTuple):
    values: Any
    indices: Any
    inverse_indices: Any
    counts: Any


class UniqueCountsResult(NamedTuple):
    values: Any
    counts: Any


class UniqueInverseResult(NamedTuple):
    values: Any
    inverse_indices: Any


def _unique_parts(x: Any, outputs: tuple[str, ...], **flags: Any) -> list[Any]:
    return [build.call("unique", (x,), {"output": output, **flags}) for output in outputs]


def unique(
    ar: Any,
    return_index: bool = False,
    return_inverse: bool = False,
    return_counts: bool = False,
    axis: Any = None,
    *,
    equal_nan: bool = True,
    sorted: bool = True,  # noqa: A002 - numpy's name
) -> Any:
    """numpy's ``unique``: the sorted unique values, and the arrays asked for, as a
    tuple. ``sorted=False`` is accepted and the values are sorted anyway (numpy leaves
    their order open then), so that every backend gives the same result."""
    flags = {
        "return_index": return_index,
        "return_inverse": return_inverse,
        "return_counts": return_counts,
    }
    try:
        flag(sorted, "sorted")
        asked = [flag(value, name) for name, value in flags.items()]
    except LazyArrayError as exc:
        raise at_user_line(exc) from None
    named = zip(("indices", "inverse", "counts"), asked, strict=True)
    outputs = ("values", *[output for output, given in named if given])
    parts = _unique_parts(ar, outputs, **flags, axis=axis, equal_nan=equal_nan)
    return parts[0] if len(parts) == 1 else tuple(parts)


def unique_values(x: Any, /) -> Any:
    """The unique elements of ``x`` (flattened), sorted; NaNs are distinct."""
    return build.call("unique", (x,), {"equal_nan": False})


def unique_counts(x: Any, /) -> UniqueCountsResult:
    """``(values, counts)``: the unique elements of ``x`` and how often each occurs."""
    return UniqueCountsResult(
        *_unique_parts(x, ("values", "counts"), return_counts=True, equal_nan=False)
    )


def unique_inverse(x: Any, /) -> UniqueInverseResult:
    """``(values, inverse_indices)``: ``values[inverse_indices]`` rebuilds ``x``."""
    return UniqueInverseResult(
        *_unique_parts(x, ("values", "inverse"), return_inverse=True, equal_nan=False)
    )


def unique_all(x: Any, /) -> UniqueAllResult:
    """``(values, indices, inverse_indices, counts)``; ``indices`` are first occurrences."""
    return UniqueAllResult(
        *_unique_parts(
            x,
            ("values", "indices", "inverse", "counts"),
            return_index=True,
            return_inverse=True,
            return_counts=True,
            equal_nan=False,
        )
    )


def nonzero(x: Any, /) -> tuple[Any, ...]:
    """One index array per dimension of ``x``: the columns of ``argwhere(x)``."""
    node = as_node(x)
    if node.type.ndim == 0:
        raise at_user_line(
            OpValueError(
                "Calling nonzero on 0d arrays is not allowed. Use "
                "np.atleast_1d(scalar).nonzero() instead."
            )
        )
    found = build.call("argwhere", (x,), {})
    return tuple(found[:, dim] for dim in range(node.type.ndim))


def searchsorted(x1: Any, x2: Any, /, side: str = "left", sorter: Any = None) -> Any:
    """Where the values ``x2`` would go in the sorted ``x1``; ``sorter``, the indices
    that sort ``x1``, searches ``x1[sorter]`` (what numpy's result indexes)."""
    if sorter is not None:
        try:
            check_sorted_input(as_node(x1))
            order = as_node(sorter)
            if order.type.dtype.kind not in "iu":
                raise OpArgumentError("sorter must only contain integers")
            if None not in (order.type.size, as_node(x1).type.size) and (
                order.type.size != as_node(x1).type.size
            ):
                raise OpValueError("sorter.size must equal a.size")
        except LazyArrayError as exc:
            raise at_user_line(exc) from None
        x1 = build.call("take", (x1, sorter), {"axis": 0})
    return build.call("searchsorted", (x1, x2), {"side": side})


def where(condition: Any, x: Any = None, y: Any = None, /) -> Any:
    """``where(condition, x, y)`` elementwise; ``where(condition)`` is numpy's
    ``nonzero(condition)``, a tuple of index arrays."""
    if x is None and y is None:
        return nonzero(condition)
    return build.where(condition, x, y)


numpy_protocol.register(
    {
        np.where: where,
        np.unique: unique,
        np.unique_values: unique_values,
        np.unique_counts: unique_counts,
        np.unique_inverse: unique_inverse,
        np.unique_all: unique_all,
        np.nonzero: nonzero,
        np.searchsorted: searchsorted,
    }
)

__all__ = [
    "where",
    "UniqueAllResult",
    "UniqueCountsResult",
    "UniqueInverseResult",
    "nonzero",
    "searchsorted",
    "unique",
    "unique_all",
    "unique_counts",
    "unique_inverse",
    "unique_values",
]
