"""Reductions and scans. Each takes a normalized ``axis`` (a tuple, or an int where numpy
only accepts one) and ``keepdims``; dtypes come from numpy on a tiny array."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from lazyarray.errors import OpArgumentError, OpValueError
from lazyarray.graph import Node
from lazyarray.ops.arguments import (
    axis_index,
    no_out,
    to_axes,
    to_axis,
    to_dtype,
    to_flag,
    to_hashable,
)
from lazyarray.ops.attrtypes import NEVER, OPTIONAL_AXES, OPTIONAL_AXIS, gives
from lazyarray.ops.meta import as_numpy_error, probe_dtype, typed_once
from lazyarray.ops.registry import Infer, Kind, OpDef, Trait, register
from lazyarray.ops.signature import Param, Signature, as_is
from lazyarray.types import ArrayType, normalize_axes, normalize_axis

# --- arguments, in numpy's order; ``where=`` and ``initial=`` are not attributes: the
# reduction builder expands them into the expression they stand for ------------------


@gives(OPTIONAL_AXES)
def _reduction_axes(value: Any, inputs: tuple[Node, ...]) -> tuple[int, ...] | None:
    """An int or a tuple of ints: numpy's reductions take no lists."""
    if isinstance(value, list):
        raise OpArgumentError("'list' object cannot be interpreted as an integer")
    return to_axes(value, inputs)


_AXES = Param("axis", _reduction_axes, None)
_AXIS = Param("axis", to_axis, None)
_DTYPE = Param("dtype", to_dtype, None)
_OUT = Param("out", no_out, None)
_KEEPDIMS = Param("keepdims", to_flag, False)
_INITIAL = Param("initial", as_is, None, schema=NEVER)
_WHERE = Param("where", as_is, True, schema=NEVER)


@gives(NEVER)
def _never(value: Any, inputs: tuple[Node, ...]) -> bool:
    """``overwrite_input``: accepted and ignored, since an input is never written."""
    to_flag(value, inputs)
    return False


def _reduction_signature(*params: Param) -> Signature:
    return Signature(("x",), params)


_SIGNATURES = {
    "sum": _reduction_signature(_AXES, _DTYPE, _OUT, _KEEPDIMS, _INITIAL, _WHERE),
    "prod": _reduction_signature(_AXES, _DTYPE, _OUT, _KEEPDIMS, _INITIAL, _WHERE),
    "mean": _reduction_signature(_AXES, _DTYPE, _OUT, _KEEPDIMS, _WHERE),
    "std": _reduction_signature(
        _AXES,
        _DTYPE,
        _OUT,
        Param("ddof", to_hashable, 0),
        _KEEPDIMS,
        _WHERE,
        Param("correction", to_hashable, 0, keyword=True, attr="ddof"),
    ),
    "min": _reduction_signature(_AXES, _OUT, _KEEPDIMS, _INITIAL, _WHERE),
    "max": _reduction_signature(_AXES, _OUT, _KEEPDIMS, _INITIAL, _WHERE),
    "any": _reduction_signature(_AXES, _OUT, _KEEPDIMS, _WHERE),
    "all": _reduction_signature(_AXES, _OUT, _KEEPDIMS, _WHERE),
    "median": _reduction_signature(_AXES, _OUT, Param("overwrite_input", _never, False), _KEEPDIMS),
    "count": _reduction_signature(_AXES, _KEEPDIMS),
    "argmin": _reduction_signature(_AXIS, _OUT, Param("keepdims", to_flag, False, keyword=True)),
}
_SIGNATURES["var"] = _SIGNATURES["std"]
_SIGNATURES["argmax"] = _SIGNATURES["argmin"]

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


def refused_on_empty(impl: Callable[..., Any], t: ArrayType, attrs: Mapping[str, Any]) -> None:
    """numpy itself on an input known to have no elements (free): raises, when the
    expression is written, numpy's errors for empty slices (``max`` has no identity)."""
    if t.size != 0:
        return
    empty = np.empty(tuple(int(d) for d in t.shape if d is not None), t.dtype)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            impl(np.ma.MaskedArray(empty) if t.masked else empty, **attrs)
        except (ValueError, TypeError, IndexError) as exc:
            raise as_numpy_error(exc) from None


def reduction_rule(
    impl: Callable[..., Any], masked_impl: Callable[..., Any] | None, keeps_mask: bool = True
) -> Infer:
    def resolve(x: Node, attrs: Mapping[str, Any]) -> ArrayType:
        t = x.type
        axis = attrs.get("axis")
        axes = normalize_axes(axis, t.ndim)
        cache_key = (impl, t.dtype, t.ndim, t.masked, tuple(sorted(attrs.items())))
        chosen = masked_impl if t.masked and masked_impl else impl
        dtype = _DTYPES.get(cache_key)
        if dtype is None:
            dtype = probe_dtype(chosen, [t], attrs)
            _DTYPES[cache_key] = dtype
        refused_on_empty(chosen, t, attrs)
        shape = _reduced_shape(t.shape, axes, bool(attrs.get("keepdims", False)))
        return ArrayType(dtype=dtype, shape=shape, masked=t.masked and keeps_mask)

    return typed_once(resolve)


def _with_axis(fn: Callable[..., Any], method: str | None = None) -> Callable[..., Any]:
    """numpy's reduction signature for the implementations below. With ``method``, an
    ndarray reduces by its method of that name: what ``fn`` runs for an ndarray, without
    numpy's dispatch (a microsecond a call, as long as reducing 1,000 elements)."""
    own = None if method is None else getattr(np.ndarray, method)

    def reduce(x: Any, axis: Any = None, keepdims: bool = False, **extra: Any) -> Any:
        if own is not None and type(x) is np.ndarray:
            return own(x, axis=axis, keepdims=keepdims, **extra)
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


def _arg_rule(function: Callable[..., Any]) -> Infer:
    def infer(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
        return _arg_type(function, inputs, attrs)

    return infer


def _arg_type(
    function: Callable[..., Any], inputs: tuple[Node, ...], attrs: Mapping[str, Any]
) -> ArrayType:
    (x,) = inputs
    axis = attrs.get("axis")
    if axis is not None and not isinstance(axis, int):
        raise OpArgumentError("axis must be an integer or None for argmin/argmax")
    refused_on_empty(function, x.type, attrs)  # numpy.ma's refuses alike
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
        _with_axis(fn, method),
        reduction_rule(_with_axis(fn), _masked_method(method)),
        _masked_method(method),
        array_api,
        numpy_functions=functions,
        traits=_TRAITS[name],
        arity=1,
        signature=_SIGNATURES[name],
        method=True,
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
        signature=_SIGNATURES["median"],
    ),
    OpDef(
        "count",
        Kind.REDUCTION,
        _count,
        reduction_rule(_count, _count, keeps_mask=False),
        _count,
        arity=1,
        signature=_SIGNATURES["count"],
        method=True,
    ),
    OpDef(
        "argmin",
        Kind.REDUCTION,
        np.argmin,
        _arg_rule(np.argmin),
        _masked_arg("argmin"),
        "argmin",
        numpy_functions=(np.argmin,),
        arity=1,
        signature=_SIGNATURES["argmin"],
        method=True,
    ),
    OpDef(
        "argmax",
        Kind.REDUCTION,
        np.argmax,
        _arg_rule(np.argmax),
        _masked_arg("argmax"),
        "argmax",
        numpy_functions=(np.argmax,),
        arity=1,
        signature=_SIGNATURES["argmax"],
        method=True,
    ),
]


def _scan_rule(impl: Callable[..., Any]) -> Infer:
    def resolve(x: Node, attrs: Mapping[str, Any]) -> ArrayType:
        t = x.type
        axis = attrs.get("axis")
        if axis is None:
            shape: tuple[int | None, ...] = (t.size,)
            axis = 0
        else:
            normalize_axis(axis, t.ndim)
            shape = t.shape
        if attrs.get("include_initial"):
            if t.masked:
                raise OpArgumentError("include_initial= is not supported for masked arrays")
            size = shape[axis]
            shape = shape[:axis] + (None if size is None else size + 1,) + shape[axis + 1 :]
        plain = {k: v for k, v in attrs.items() if k != "include_initial"}
        dtype = probe_dtype(impl, [t], plain)
        return ArrayType(dtype=dtype, shape=shape, masked=t.masked)

    return typed_once(resolve)


def _scan(fn: Callable[..., Any], identity: int) -> Callable[..., Any]:
    """numpy's scan, and the standard's ``include_initial``: the identity first."""

    def scan(
        x: Any, axis: int | None = None, dtype: Any = None, include_initial: bool = False
    ) -> Any:
        result = fn(x, axis=axis, dtype=dtype)
        if not include_initial:
            return result
        along = 0 if axis is None else axis
        shape = list(result.shape)
        shape[along] = 1
        return np.concatenate([np.full(shape, identity, result.dtype), result], axis=along)

    scan.__name__ = fn.__name__
    return scan


@gives(OPTIONAL_AXIS)
def numpy_scan_axis(value: Any, inputs: tuple[Node, ...]) -> int | None:
    """numpy's ``axis`` of a scan (``cumsum``, ``nancumsum`` ...): a 0-d array scans as
    its 1-element ravel, so its axis 0 (or -1) is ``None``; any other is out of bounds
    for one dimension, in numpy's words."""
    if value is not None and inputs[0].type.ndim == 0:
        normalize_axis(axis_index(value), 1)
        return None
    return to_axis(value, inputs)


@gives(OPTIONAL_AXIS)
def _standard_scan_axis(value: Any, inputs: tuple[Node, ...]) -> int | None:
    """The standard's ``axis`` of a cumulative sum: required beyond one dimension."""
    if value is None and inputs[0].type.ndim > 1:
        raise OpValueError("axis must be given for an array of more than one dimension")
    return to_axis(value, inputs)


def _scan_signatures() -> tuple[Signature, Signature]:
    standard = Signature(
        ("x",),
        (
            Param("axis", _standard_scan_axis, None, keyword=True),
            Param("dtype", to_dtype, None, keyword=True),
            Param("include_initial", to_flag, False, keyword=True),
        ),
    )
    numpy_ = Signature(("x",), (Param("axis", numpy_scan_axis, None), _DTYPE, _OUT))
    return standard, numpy_


ROWS += [
    OpDef(
        name,
        Kind.SCAN,
        _scan(fn, identity),
        _scan_rule(fn),
        getattr(np.ma, name),
        array_api,
        numpy_functions=(fn,),
        arity=1,
        signature=_scan_signatures()[0],
        numpy_signature=_scan_signatures()[1],
        method=True,
    )
    for name, fn, array_api, identity in (
        ("cumsum", np.cumsum, "cumulative_sum", 0),
        ("cumprod", np.cumprod, "cumulative_prod", 1),
    )
]

register(*ROWS)
