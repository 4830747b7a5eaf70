"""Sorting: ``sort`` and ``argsort`` along one axis (``None``: the flattened array).

The node's ``kind`` is numpy's algorithm, always stored: ``la.sort`` follows the array
API standard (``stable=True`` by default) and ``np.sort(proxy)`` follows numpy
(``kind=None``: quicksort), so the two are different nodes, each exactly its library's
result. ``descending`` (the standard's) keeps equal elements in their order when the
sort is stable: it sorts the reversed axis and reverses the result back.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from lazyarray.errors import OpValueError, UnsupportedOperation
from lazyarray.graph import Node
from lazyarray.ops.arguments import axis_index, flag, to_flag
from lazyarray.ops.attrtypes import NEVER, OPTIONAL_AXIS, Str, gives
from lazyarray.ops.registry import Infer, Kind, OpDef, register
from lazyarray.ops.signature import Param, Signature
from lazyarray.types import ArrayType, normalize_axis

INDEX = np.dtype(np.intp)  # the default array index data type

# numpy's names for its algorithms, by their first letter; "mergesort" is "stable"
_KINDS = {"q": "quicksort", "h": "heapsort", "m": "stable", "s": "stable"}
SORT_KIND = Str(*dict.fromkeys(_KINDS.values()))


def _sort(x: Any, axis: int | None = -1, kind: Any = "quicksort", descending: bool = False) -> Any:
    if axis is None:
        x, axis = np.ravel(x), 0
    if not descending:
        return np.sort(x, axis=axis, kind=kind)
    return np.flip(np.sort(np.flip(x, axis), axis=axis, kind=kind), axis)


def _argsort(
    x: Any, axis: int | None = -1, kind: Any = "quicksort", descending: bool = False
) -> Any:
    if axis is None or np.ndim(x) == 0:  # numpy sorts a 0-d array as a 1-d one
        x, axis = np.ravel(x), 0
    if not descending:
        return np.argsort(x, axis=axis, kind=kind)
    found = np.argsort(np.flip(x, axis), axis=axis, kind=kind)
    return (x.shape[axis] - 1) - np.flip(found, axis)


def _masked_sort(x: Any, axis: Any = -1, kind: Any = "quicksort") -> Any:
    """numpy.ma's: masked values last (numpy's ``np.sort`` of a masked array)."""
    return np.ma.sort(x, axis=axis, kind=kind)


def _masked_argsort(x: Any, axis: int | None = -1, kind: Any = "quicksort") -> Any:
    if axis is None or np.ndim(x) == 0:
        x, axis = np.ma.ravel(x), 0
    return np.ma.argsort(x, axis=axis, kind=kind)  # type: ignore[no-untyped-call]


def _rule(indices: bool) -> Infer:
    def infer(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
        (x,) = inputs
        if x.type.masked and attrs.get("descending"):
            raise UnsupportedOperation(
                "descending sorts of masked arrays are not defined (numpy.ma has none); "
                "use .filled() first"
            )
        dtype = INDEX if indices else x.type.dtype
        masked = x.type.masked and not indices  # numpy.ma's argsort gives plain indices
        if attrs.get("axis", -1) is None:
            return ArrayType(dtype, (x.type.size,), masked)
        return ArrayType(dtype, x.type.shape if x.type.ndim or not indices else (1,), masked)

    return infer


# --- arguments ------------------------------------------------------------------------


def _axis_of(scalar_as_vector: bool) -> Any:
    """The sorted axis, normalized; ``None`` (flatten) stays. argsort takes a 0-d array
    as a 1-d one, sort refuses it (numpy's AxisError)."""

    @gives(OPTIONAL_AXIS)
    def convert(value: Any, inputs: tuple[Node, ...]) -> int | None:
        if value is None:
            return None
        ndim = inputs[0].type.ndim
        return normalize_axis(axis_index(value), max(ndim, 1) if scalar_as_vector else ndim)

    return convert


@gives(SORT_KIND)
def kind_of(value: Any, inputs: tuple[Node, ...] = ()) -> str:
    """numpy's ``kind=``: the algorithm's canonical name (``None``: quicksort)."""
    if value is None:
        return "quicksort"
    if isinstance(value, str) and value[:1].lower() in _KINDS:
        return _KINDS[value[:1].lower()]
    raise OpValueError(f"sort kind must be one of 'quick', 'heap', or 'stable' (got {value!r})")


@gives(SORT_KIND)
def _stable(value: Any, inputs: tuple[Node, ...]) -> str:
    """``stable=`` (numpy 2's and the standard's) as the algorithm it selects; numpy
    also calls what ``kind_of`` returns stable or not, so converting is idempotent."""
    if isinstance(value, str):
        return kind_of(value)
    return "stable" if value is not None and flag(value, "stable") else "quicksort"


@gives(NEVER)
def _no_order(value: Any, inputs: tuple[Node, ...]) -> None:
    if value is not None:
        raise OpValueError("Cannot specify order when the array has no fields.")
    return None


def _signatures(scalar_as_vector: bool) -> tuple[Signature, Signature]:
    """The standard's arguments (``la.sort``) and numpy's (``np.sort(proxy)``)."""
    axis = _axis_of(scalar_as_vector)
    standard = Signature(
        ("x",),
        (
            Param("axis", axis, -1),  # positional too, as numpy users write it
            Param("descending", to_flag, False, keyword=True),
            Param("stable", _stable, True, keyword=True, attr="kind", stored=True),
        ),
    )
    numpy = Signature(
        ("a",),
        (
            Param("axis", axis, -1),
            Param("kind", kind_of, None, stored=True),
            Param("order", _no_order, None),
            Param("stable", _stable, None, keyword=True, attr="kind"),
        ),
    )
    return standard, numpy


_SORT, _NUMPY_SORT = _signatures(scalar_as_vector=False)
_ARGSORT, _NUMPY_ARGSORT = _signatures(scalar_as_vector=True)

ROWS = [
    OpDef(
        "sort",
        Kind.SORTING,
        _sort,
        _rule(indices=False),
        _masked_sort,
        array_api_name="sort",
        numpy_functions=(np.sort,),
        arity=1,
        signature=_SORT,
        numpy_signature=_NUMPY_SORT,
        doc="A sorted copy of ``x`` along ``axis`` (the array API's ``sort``).",
    ),
    OpDef(
        "argsort",
        Kind.SORTING,
        _argsort,
        _rule(indices=True),
        _masked_argsort,
        array_api_name="argsort",
        numpy_functions=(np.argsort,),
        arity=1,
        signature=_ARGSORT,
        numpy_signature=_NUMPY_ARGSORT,
        method=True,
        doc="The indices that sort ``x`` along ``axis`` (the array API's ``argsort``).",
    ),
]

register(*ROWS)
