"""Searching: ``searchsorted``, ``count_nonzero``, and the non-zero positions
(``argwhere``, ``flatnonzero``; the array API's ``nonzero`` is ``argwhere``'s columns,
built by ``lazyarray.composites.sorting``), whose sizes are known only after running,
unless their input is settled (``ops/settled.py``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from lazyarray.errors import OpValueError
from lazyarray.graph import Node
from lazyarray.ops.arguments import to_axes, to_flag
from lazyarray.ops.attrtypes import OPTIONAL_AXES, Str, gives
from lazyarray.ops.registry import Kind, OpDef, Trait, register
from lazyarray.ops.settled import settled_values
from lazyarray.ops.signature import Param, Signature
from lazyarray.ops.sorting import INDEX
from lazyarray.types import ArrayType


def _searchsorted(x1: Any, x2: Any, side: str = "left") -> Any:
    return np.searchsorted(x1, x2, side=side)  # type: ignore[call-overload]


def _searchsorted_rule(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
    x1, x2 = inputs
    check_sorted_input(x1)
    return ArrayType(INDEX, x2.type.shape)


def check_sorted_input(x1: Node) -> None:
    """numpy's searchsorted searches one dimension."""
    if x1.type.ndim > 1:
        raise OpValueError("object too deep for desired array")
    if x1.type.ndim == 0:
        raise OpValueError("object of too small depth for desired array")


@gives(Str("left", "right"))
def _side(value: Any, inputs: tuple[Node, ...]) -> str:
    if value not in ("left", "right"):
        raise OpValueError(f"search side must be 'left' or 'right' (got {value!r})")
    return value  # type: ignore[no-any-return]


def _count_nonzero(x: Any, axis: tuple[int, ...] | None = None, keepdims: bool = False) -> Any:
    # numpy returns a Python int for the whole array: the node's type is an intp array
    return np.asarray(np.count_nonzero(x, axis=axis, keepdims=keepdims), dtype=INDEX)


def _count_nonzero_rule(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
    (x,) = inputs
    axes = attrs.get("axis")
    axes = range(x.type.ndim) if axes is None else axes
    keepdims = attrs.get("keepdims", False)
    shape = tuple(
        1 if d in axes else size for d, size in enumerate(x.type.shape) if keepdims or d not in axes
    )
    return ArrayType(INDEX, shape)


@gives(OPTIONAL_AXES)
def _axes(value: Any, inputs: tuple[Node, ...]) -> tuple[int, ...] | None:
    try:
        return to_axes(value, inputs)
    except ValueError as exc:
        if str(exc) != "repeated axis":
            raise
        raise OpValueError("duplicate value in 'axis'") from None


def _argwhere(x: Any) -> Any:
    return np.argwhere(x)


def _argwhere_rule(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
    (x,) = inputs
    return ArrayType(INDEX, (_nonzero_count(x), x.type.ndim))


def _flatnonzero(x: Any) -> Any:
    return np.flatnonzero(x)


def _flatnonzero_rule(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
    (x,) = inputs
    return ArrayType(INDEX, (_nonzero_count(x),))


def _nonzero_count(x: Node) -> int | None:
    """How many elements of ``x`` are not zero: 0 when empty, counted when ``x`` is
    settled (``ops/settled.py``), else known only after running."""
    if x.type.size == 0:
        return 0
    values = settled_values(x)
    return None if values is None else int(np.count_nonzero(values))


_UNKNOWN = frozenset({Trait.UNKNOWN_SIZE})

ROWS = [
    OpDef(
        "searchsorted",
        Kind.SORTING,
        _searchsorted,
        _searchsorted_rule,
        arity=2,
        # built by its composite, which also takes ``sorter=`` (an array: an input)
        namespaces=(),
        signature=Signature(("x1", "x2"), (Param("side", _side, "left"),)),
    ),
    OpDef(
        "count_nonzero",
        Kind.SORTING,
        _count_nonzero,
        _count_nonzero_rule,
        array_api_name="count_nonzero",
        numpy_functions=(np.count_nonzero,),
        arity=1,
        signature=Signature(
            ("x",),
            (
                Param("axis", _axes, None),  # positional too, as in numpy
                Param("keepdims", to_flag, False, keyword=True),
            ),
        ),
        doc="How many elements of ``x`` are not zero, over ``axis`` (None: all).",
    ),
    OpDef(
        "argwhere",
        Kind.SORTING,
        _argwhere,
        _argwhere_rule,
        numpy_functions=(np.argwhere,),
        arity=1,
        traits=_UNKNOWN,
        signature=Signature(("x",)),
        numpy_signature=Signature(("a",)),
        doc="The indices of the non-zero elements of ``x``, one row per element.",
    ),
    OpDef(
        "flatnonzero",
        Kind.SORTING,
        _flatnonzero,
        _flatnonzero_rule,
        numpy_functions=(np.flatnonzero,),
        arity=1,
        traits=_UNKNOWN,
        signature=Signature(("x",)),
        numpy_signature=Signature(("a",)),
        doc="The indices of the non-zero elements of the flattened ``x``.",
    ),
]

register(*ROWS)
