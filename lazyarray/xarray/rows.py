"""The op rows xarray's chunk manager builds on, one table: a source reading any array
that slices (xarray's lazily indexed backend arrays) by region, and Python functions
over arrays (``apply_ufunc(..., dask="parallelized")``, ``map_blocks``, reductions).

They run Python the graph cannot see into (``NEEDS_PYTHON``), so they are registered
when the chunk manager first builds one (``ensure_rows``), not with the core's tables.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from lazyarray.graph import Literal, Node
from lazyarray.ops import OPS, Kind, OpDef, Trait
from lazyarray.ops.attrtypes import DTYPE, INDEX, LITERAL, PYTHON, SHAPE
from lazyarray.ops.creation import region_items
from lazyarray.ops.registry import register
from lazyarray.types import ArrayType, broadcast_shapes, check_supported_dtype, new_type

READ = "xarray_read"
MAP = "xarray_map"
CALL = "xarray_call"


# --- a source read by region through ``__getitem__`` ---------------------------------


def _read(
    *, array: Literal, shape: tuple[int, ...], dtype: np.dtype[Any], region: Any = None
) -> Any:
    """``whole[region]``, reading only the region: slices go to the array's own
    ``__getitem__`` with positive steps (what storage backends take), reversed after."""
    items = region_items(region, shape) if region is not None else [range(n) for n in shape]
    index: list[Any] = []
    flips: list[int] = []
    kept = 0
    for item in items:
        if isinstance(item, int):
            index.append(item)
            continue
        if item.step < 0 and len(item):
            item = item[::-1]
            flips.append(kept)
        index.append(slice(item.start, item.stop, item.step) if len(item) else slice(0, 0))
        kept += 1
    values = np.asarray(array.value[tuple(index)])
    if flips:
        values = np.flip(values, axis=tuple(flips))
    return values.astype(dtype, copy=False)


def _read_rule(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
    shape = attrs["shape"]
    region = attrs.get("region")
    if region is not None:
        items = region_items(region, shape)
        shape = tuple(len(item) for item in items if isinstance(item, range))
    return new_type(check_supported_dtype(attrs["dtype"]), shape)


# --- Python functions over arrays ---------------------------------------------------


def _map(*arrays: Any, function: Callable[..., Any], dtype: np.dtype[Any]) -> Any:
    """``function`` over blocks of its broadcast inputs, elementwise: any block gives
    the values of the whole array there."""
    result = np.asarray(function(*arrays))
    expected = np.broadcast_shapes(*(np.shape(a) for a in arrays))
    if result.shape != expected:
        raise ValueError(
            f"{_name(function)} returned shape {result.shape} for inputs of shape "
            f"{expected}; a function applied elementwise keeps the shape"
        )
    return result.astype(dtype, copy=False)


def _map_rule(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
    shape = broadcast_shapes(*(child.type.shape for child in inputs))
    return new_type(check_supported_dtype(attrs["dtype"]), shape)


def _call(
    *arrays: Any, function: Callable[..., Any], shape: tuple[int, ...], dtype: np.dtype[Any]
) -> Any:
    """``function`` over its whole inputs; its result has the declared shape."""
    result = np.asarray(function(*arrays))
    if result.shape != tuple(shape):
        raise ValueError(
            f"{_name(function)} returned shape {result.shape}, not the declared {tuple(shape)}"
        )
    return result.astype(dtype, copy=False)


def _call_rule(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
    return new_type(check_supported_dtype(attrs["dtype"]), tuple(attrs["shape"]))


def _name(function: Any) -> str:
    return getattr(function, "__name__", type(function).__name__)


_PYTHON = frozenset({Trait.NEEDS_PYTHON})

ROWS = [
    OpDef(
        READ,
        Kind.SOURCE,
        _read,
        _read_rule,
        traits=frozenset({Trait.GENERATED, Trait.NEEDS_PYTHON}),
        arity=0,
        attributes={"array": LITERAL, "shape": SHAPE, "dtype": DTYPE, "region": INDEX},
        doc="An array read by region through its __getitem__ (xarray's backend arrays).",
    ),
    OpDef(
        MAP,
        Kind.ELEMENTWISE,
        _map,
        _map_rule,
        traits=_PYTHON,
        attributes={"function": PYTHON, "dtype": DTYPE},
        doc="A Python function applied elementwise, block by block.",
    ),
    OpDef(
        CALL,
        Kind.STATISTICS,  # opaque to the planner: it needs its inputs whole
        _call,
        _call_rule,
        traits=_PYTHON,
        attributes={"function": PYTHON, "shape": SHAPE, "dtype": DTYPE},
        doc="A Python function over whole arrays, with a declared result type.",
    ),
]


def ensure_rows() -> None:
    """Registers the rows once, when the chunk manager first needs them."""
    if READ not in OPS:
        register(*ROWS)
