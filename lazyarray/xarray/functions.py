"""Python functions over lazy arrays, as xarray asks its chunk manager for them:
``apply_gufunc`` (``xr.apply_ufunc(..., dask="parallelized")``), ``map_blocks``,
``reduction`` and ``scan``. Each becomes a node of the rows in ``rows.py``:

- a function with no core dimensions is elementwise (``xarray_map``): the planner slices
  through it and fuses it, and both backends run it block by block;
- a function with core dimensions, a reduction or a scan sees its inputs whole
  (``xarray_call``): the numpy backend runs it; the dask backend refuses it by name.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from lazyarray.errors import ShapeError, UnsupportedOperation
from lazyarray.ops import apply
from lazyarray.proxy import as_node, wrap
from lazyarray.types import broadcast_shapes, normalize_axes
from lazyarray.xarray.rows import CALL, MAP, ensure_rows

_CORE = re.compile(r"\(([^()]*)\)")


def parse_signature(signature: str) -> tuple[list[tuple[str, ...]], list[tuple[str, ...]]]:
    """The core dimensions of each input and output of a gufunc signature.

    >>> parse_signature("(i,j),(j)->(i),()")
    ([('i', 'j'), ('j',)], [('i',), ()])
    """
    text = signature.replace(" ", "")
    if "->" not in text:
        raise ValueError(f"not a generalized ufunc signature: {signature!r}")
    left, right = text.split("->", 1)

    def side(part: str) -> list[tuple[str, ...]]:
        return [tuple(d for d in found.split(",") if d) for found in _CORE.findall(part)]

    return side(left), side(right)


def apply_gufunc(
    func: Callable[..., Any],
    signature: str,
    *args: Any,
    axes: Any = None,
    axis: Any = None,
    keepdims: bool = False,
    output_dtypes: Any = None,
    output_sizes: dict[str, int] | None = None,
    vectorize: bool | None = None,
    allow_rechunk: bool = False,
    meta: Any = None,
    **kwargs: Any,
) -> Any:
    """``func`` over ``args`` whose core dimensions (``signature``) come last, as
    ``dask.array.apply_gufunc``; lazy, one node per output."""
    if axes is not None or axis is not None or keepdims:
        raise UnsupportedOperation("lazyarray's apply_gufunc takes no axes, axis or keepdims")
    ins, outs = parse_signature(signature)
    if len(ins) != len(args):
        raise ValueError(f"signature {signature!r} takes {len(ins)} inputs, not {len(args)}")
    function = _bound(func, kwargs)
    if vectorize:
        function = np.vectorize(function, signature=signature)
    nodes = tuple(as_node(arg) for arg in args)
    dtypes = _dtypes(output_dtypes, len(outs), function, nodes, ins)
    if all(not core for core in ins + outs) and len(outs) == 1:
        return wrap(apply(MAP, nodes, function=function, dtype=dtypes[0]))
    sizes = _core_sizes(nodes, ins, output_sizes or {})
    loops = [n.type.shape[: n.type.ndim - len(c)] for n, c in zip(nodes, ins, strict=True)]
    loop = broadcast_shapes(*loops)
    results = []
    for position, core in enumerate(outs):
        missing = [d for d in core if d not in sizes]
        if missing:
            raise ValueError(f"output core dimension(s) {missing} need output_sizes")
        chosen = function if len(outs) == 1 else _Output(function, position)
        shape = tuple(loop) + tuple(sizes[d] for d in core)
        results.append(_call(chosen, nodes, shape, dtypes[position]))
    return results[0] if len(outs) == 1 else tuple(results)


def map_blocks(
    func: Callable[..., Any],
    *args: Any,
    dtype: Any = None,
    chunks: Any = None,
    drop_axis: Any = None,
    new_axis: Any = None,
    **kwargs: Any,
) -> Any:
    """``func`` over blocks of ``args`` that keeps their broadcast shape (what xarray's
    decoders and ``.dt`` accessors ask); a function that changes it is refused."""
    if chunks is not None or drop_axis or new_axis is not None:
        raise UnsupportedOperation(
            "lazyarray's map_blocks runs functions that keep the shape of their blocks "
            "(no chunks, drop_axis or new_axis)"
        )
    function = _bound(func, kwargs)
    nodes = tuple(as_node(arg) for arg in args)
    if dtype is None:
        dtype = _dtypes(None, 1, function, nodes, [()] * len(nodes))[0]
    return wrap(apply(MAP, nodes, function=function, dtype=np.dtype(dtype)))


def reduction(
    arr: Any,
    func: Callable[..., Any],
    combine_func: Callable[..., Any] | None = None,
    aggregate_func: Callable[..., Any] | None = None,
    axis: int | Sequence[int] | None = None,
    dtype: Any = None,
    keepdims: bool = False,
) -> Any:
    """``dask.array.reduction`` over one block, the whole array: ``func`` then
    ``aggregate_func``, each called with ``axis`` and ``keepdims`` as dask calls them."""
    node = as_node(arr)
    shape = node.type.shape
    if None in shape:
        raise UnsupportedOperation("a reduction needs the array's shape")
    axes = normalize_axes(axis, len(shape))
    kept = tuple(1 if d in axes else n for d, n in enumerate(shape))
    result = kept if keepdims else tuple(n for d, n in enumerate(shape) if d not in axes)
    function = _Reduction(func, aggregate_func, axes, keepdims)
    return _call(function, (node,), result, np.dtype(dtype or node.type.dtype))


def scan(
    func: Callable[..., Any],
    binop: Callable[..., Any],
    ident: float,
    arr: Any,
    axis: int | None = None,
    dtype: Any = None,
    **kwargs: Any,
) -> Any:
    """``dask.array.cumreduction`` over one block, the whole array: ``func`` alone."""
    node = as_node(arr)
    if None in node.type.shape:
        raise UnsupportedOperation("a scan needs the array's shape")
    kwargs.pop("method", None)
    kwargs.pop("preop", None)
    function = functools.partial(func, axis=axis, dtype=dtype, **kwargs)
    return _call(function, (node,), node.type.shape, np.dtype(dtype or node.type.dtype))


# --- helpers -------------------------------------------------------------------------


class _Output:
    """One output of a function returning several."""

    def __init__(self, function: Callable[..., Any], position: int) -> None:
        self.function, self.position = function, position
        self.__name__ = f"{getattr(function, '__name__', 'function')}[{position}]"

    def __call__(self, *arrays: Any) -> Any:
        return self.function(*arrays)[self.position]


class _Reduction:
    """``aggregate(chunk(x))`` as dask's reduction calls them on a single block."""

    def __init__(
        self,
        chunk: Callable[..., Any],
        aggregate: Callable[..., Any] | None,
        axes: tuple[int, ...],
        keepdims: bool,
    ) -> None:
        self.chunk, self.aggregate, self.axes, self.keepdims = chunk, aggregate, axes, keepdims
        self.__name__ = getattr(chunk, "__name__", "reduction")

    def __call__(self, x: Any) -> Any:
        partial = self.chunk(x, axis=self.axes, keepdims=True)
        if self.aggregate is None:
            return partial if self.keepdims else np.squeeze(partial, axis=self.axes)
        return self.aggregate(partial, axis=self.axes, keepdims=self.keepdims)


def _bound(func: Callable[..., Any], kwargs: dict[str, Any]) -> Callable[..., Any]:
    return functools.partial(func, **kwargs) if kwargs else func


def _call(function: Callable[..., Any], nodes: tuple[Any, ...], shape: Any, dtype: Any) -> Any:
    ensure_rows()
    return wrap(apply(CALL, nodes, function=function, shape=tuple(shape), dtype=np.dtype(dtype)))


def _core_sizes(
    nodes: tuple[Any, ...], ins: list[tuple[str, ...]], given: dict[str, int]
) -> dict[str, int]:
    """The size of each core dimension, from the inputs (the same everywhere)."""
    sizes = dict(given)
    for node, core in zip(nodes, ins, strict=True):
        if len(core) > node.type.ndim:
            raise ShapeError(
                f"an input of {node.type.ndim} dimensions has {len(core)} core dimensions"
            )
        for name, size in zip(core, node.type.shape[node.type.ndim - len(core) :], strict=True):
            if size is None:
                raise UnsupportedOperation(f"core dimension {name!r} has an unknown size")
            if sizes.setdefault(name, size) != size:
                raise ShapeError(f"core dimension {name!r} has sizes {sizes[name]} and {size}")
    return sizes


def _dtypes(
    given: Any,
    count: int,
    function: Callable[..., Any],
    nodes: tuple[Any, ...],
    ins: list[tuple[str, ...]],
) -> list[np.dtype[Any]]:
    """The output dtypes: given, else found by running ``function`` on one element of
    each input (as dask's meta inference does, on a tiny array instead of an empty one)."""
    if given is not None:
        listed = list(given) if isinstance(given, list | tuple) else [given]
        if len(listed) != count:
            raise ValueError(f"{count} output dtypes are needed, {len(listed)} given")
        ensure_rows()
        return [np.dtype(d) for d in listed]
    ensure_rows()
    samples = [np.ones((1,) * node.type.ndim, dtype=node.type.dtype) for node in nodes]
    result = function(*samples)
    outputs = result if count > 1 else (result,)
    return [np.asarray(value).dtype for value in outputs]
