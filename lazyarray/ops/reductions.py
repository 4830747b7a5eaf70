"""Reductions and scans. Each takes a normalized ``axis`` (a tuple, or an int where numpy
only accepts one) and ``keepdims``; dtypes come from numpy on a tiny array."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from lazyarray.errors import OpArgumentError
from lazyarray.graph import Node
from lazyarray.ops.meta import probe_dtype
from lazyarray.ops.registry import Infer, Kind, OpDef, Trait, register
from lazyarray.types import ArrayType, normalize_axes, normalize_axis

_DTYPES: dict[tuple[Any, ...], np.dtype[Any]] = {}


def statistic_accumulator(dtype: np.dtype[Any]) -> np.dtype[Any] | None:
    """The dtype numpy's ``mean``, ``var`` and ``std`` (and numpy.ma's) add up in when
    given none (``numpy/_core/_methods.py``): float64 for integers and booleans, float32
    for float16 (the result is cast back to float16); None where it is the input's own."""
    if dtype.kind in "biu":
        return np.dtype(np.float64)
    if dtype == np.float16:
        return np.dtype(np.float32)
    return None


def _reduced_shape(
    shape: tuple[int | None, ...], axes: tuple[int, ...], keepdims: bool
) -> tuple[int | None, ...]:
    if keepdims:
        return tuple(1 if i in axes else d for i, d in enumerate(shape))
    return tuple(d for i, d in enumerate(shape) if i not in axes)


def reduction_rule(
    impl: Callable[..., Any], masked_impl: Callable[..., Any] | None, keeps_mask: bool = True
) -> Infer:
    def infer(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
        (x,) = inputs
        t = x.type
        axis = attrs.get("axis")
        axes = normalize_axes(axis, t.ndim)
        cache_key = (impl, t.dtype, t.ndim, t.masked, tuple(sorted(attrs.items())))
        dtype = _DTYPES.get(cache_key)
        if dtype is None:
            chosen = masked_impl if t.masked and masked_impl else impl
            dtype = probe_dtype(chosen, [t], attrs)
            _DTYPES[cache_key] = dtype
        shape = _reduced_shape(t.shape, axes, bool(attrs.get("keepdims", False)))
        return ArrayType(dtype=dtype, shape=shape, masked=t.masked and keeps_mask)

    return infer


def _with_axis(fn: Callable[..., Any]) -> Callable[..., Any]:
    """numpy's reduction signature for the implementations below."""

    def reduce(x: Any, axis: Any = None, keepdims: bool = False, **extra: Any) -> Any:
        return fn(x, axis=axis, keepdims=keepdims, **extra)

    reduce.__name__ = getattr(fn, "__name__", "reduce")
    return reduce


def with_mask_array(x: Any) -> Any:
    """numpy.ma picks result dtypes by whether a mask is materialized (float32 ``mean``
    is float32 without one, float64 with one); always materializing it keeps the dtype
    predictable."""
    return np.ma.MaskedArray(x, mask=np.ma.getmaskarray(x))


def _masked_method(name: str) -> Callable[..., Any]:
    def reduce(x: Any, axis: Any = None, keepdims: bool = False, **extra: Any) -> Any:
        return getattr(with_mask_array(x), name)(axis=axis, keepdims=keepdims, **extra)

    reduce.__name__ = f"masked_{name}"
    return reduce


def _masked_median(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    return np.ma.median(with_mask_array(x), axis=axis, keepdims=keepdims)  # type: ignore[no-untyped-call]


def _count(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    return np.ma.count(x, axis=axis, keepdims=keepdims)


def _arg_rule(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
    (x,) = inputs
    axis = attrs.get("axis")
    if axis is not None and not isinstance(axis, int):
        raise OpArgumentError("axis must be an integer or None for argmin/argmax")
    axes = normalize_axes(axis, x.type.ndim)
    shape = _reduced_shape(x.type.shape, axes, bool(attrs.get("keepdims", False)))
    return ArrayType(dtype=np.dtype(np.intp), shape=shape, masked=False)


def _masked_arg(name: str) -> Callable[..., Any]:
    def reduce(x: Any, axis: int | None = None, keepdims: bool = False) -> Any:
        return np.asarray(getattr(with_mask_array(x), name)(axis=axis, keepdims=keepdims))

    return reduce


# name, numpy implementation, masked implementation, array-API name, numpy functions
_REDUCTIONS: list[tuple[str, Callable[..., Any], str, str, tuple[Any, ...]]] = [
    ("sum", np.sum, "sum", "sum", (np.sum,)),
    ("prod", np.prod, "prod", "prod", (np.prod,)),
    ("mean", np.mean, "mean", "mean", (np.mean,)),
    ("std", np.std, "std", "std", (np.std,)),
    ("var", np.var, "var", "var", (np.var,)),
    ("min", np.min, "min", "min", (np.min, np.amin)),
    ("max", np.max, "max", "max", (np.max, np.amax)),
    ("any", np.any, "any", "any", (np.any,)),
    ("all", np.all, "all", "all", (np.all,)),
]

_BLOCKWISE = frozenset({Trait.BLOCKWISE})
_STATISTIC = frozenset({Trait.STATISTIC})
_TRAITS = {name: _BLOCKWISE for name in ("sum", "prod", "min", "max", "any", "all")}
_TRAITS |= {name: _STATISTIC for name in ("mean", "var", "std")}

ROWS = [
    OpDef(
        name,
        Kind.REDUCTION,
        _with_axis(fn),
        reduction_rule(_with_axis(fn), _masked_method(method)),
        _masked_method(method),
        array_api,
        numpy_functions=functions,
        traits=_TRAITS[name],
        arity=1,
    )
    for name, fn, method, array_api, functions in _REDUCTIONS
]

ROWS += [
    OpDef(
        "median",
        Kind.REDUCTION,
        _with_axis(np.median),
        reduction_rule(_with_axis(np.median), _masked_median),
        _masked_median,
        numpy_functions=(np.median,),
        arity=1,
    ),
    OpDef(
        "count",
        Kind.REDUCTION,
        _count,
        reduction_rule(_count, _count, keeps_mask=False),
        _count,
        arity=1,
    ),
    OpDef(
        "argmin",
        Kind.REDUCTION,
        np.argmin,
        _arg_rule,
        _masked_arg("argmin"),
        "argmin",
        numpy_functions=(np.argmin,),
        arity=1,
    ),
    OpDef(
        "argmax",
        Kind.REDUCTION,
        np.argmax,
        _arg_rule,
        _masked_arg("argmax"),
        "argmax",
        numpy_functions=(np.argmax,),
        arity=1,
    ),
]


def _scan_rule(impl: Callable[..., Any]) -> Infer:
    def infer(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
        (x,) = inputs
        t = x.type
        axis = attrs.get("axis")
        if axis is None:
            shape: tuple[int | None, ...] = (t.size,)
        else:
            normalize_axis(axis, t.ndim)
            shape = t.shape
        dtype = probe_dtype(impl, [t], attrs)
        return ArrayType(dtype=dtype, shape=shape, masked=t.masked)

    return infer


ROWS += [
    OpDef(
        name,
        Kind.SCAN,
        fn,
        _scan_rule(fn),
        getattr(np.ma, name),
        array_api,
        numpy_functions=(fn,),
        arity=1,
    )
    for name, fn, array_api in (
        ("cumsum", np.cumsum, "cumulative_sum"),
        ("cumprod", np.cumprod, "cumulative_prod"),
    )
]

register(*ROWS)
