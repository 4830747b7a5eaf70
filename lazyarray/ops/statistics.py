"""numpy's statistics beyond the standard's reductions: the NaN-skipping reductions and
scans, ``ptp``, quantiles and percentiles (every numpy ``method``), histogram counts and
edges, and weighted averages.

Each row's implementation is numpy's own function (numpy.ma's where numpy.ma has one),
so the numpy backend's results are numpy's bit for bit. Type rules ask numpy on tiny
arrays, and on the real (empty) array when the shape has no elements, so that numpy's
errors for empty inputs are raised when the expression is written.
"""

from __future__ import annotations

import operator
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from lazyarray.errors import (
    OpArgumentError,
    OpValueError,
    ShapeError,
    UnsupportedOperation,
    ZeroStepError,
)
from lazyarray.graph import Node
from lazyarray.ops.arguments import axes_tuple, flag, no_out, to_axes, to_axis, to_dtype, to_flag
from lazyarray.ops.attrtypes import (
    AXES,
    BOOL,
    FLOAT,
    INT,
    NEVER,
    NUMBER,
    Str,
    Tuple,
    gives,
    optional,
)
from lazyarray.ops.meta import as_numpy_error, probe_dtype
from lazyarray.ops.reductions import _reduced_shape, numpy_scan_axis, reduction_rule
from lazyarray.ops.registry import Infer, Kind, OpDef, register
from lazyarray.ops.signature import Param, Signature
from lazyarray.types import ArrayType, normalize_axes, normalize_axis

RANGE = optional(Tuple(optional(NUMBER), optional(NUMBER)))  # histogram's ``range``
# numpy's ``method=`` of quantile and percentile, in numpy's order
METHODS = (
    "inverted_cdf",
    "averaged_inverted_cdf",
    "closest_observation",
    "interpolated_inverted_cdf",
    "hazen",
    "weibull",
    "linear",
    "median_unbiased",
    "normal_unbiased",
    "lower",
    "higher",
    "midpoint",
    "nearest",
)


def numpy_says(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``function(*args, **kwargs)`` quietly, numpy's errors as ``lazyarray.errors``."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            return function(*args, **kwargs)
        except (ValueError, TypeError, IndexError) as exc:
            raise as_numpy_error(exc) from None


def literal_value(node: Node) -> Any:
    """The value of a constant node, or None when it is computed."""
    if node.op != "constant":
        return None
    value = node.attr("value")
    return getattr(value, "value", value)


# --- arguments ------------------------------------------------------------------------


@gives(INT | FLOAT)
def _to_ddof(value: Any, inputs: tuple[Node, ...]) -> int | float:
    """numpy's ``ddof``/``correction``: an integer or a float."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise OpArgumentError(f"ddof must be a real number, not '{type(value).__name__}'")
    return value


@gives(optional(NUMBER))
def _to_scalar(value: Any, inputs: tuple[Node, ...]) -> Any:
    """A scalar (``initial=``, a bound of ``range=``): numpy's own scalars keep their
    type, which numpy's promotion reads."""
    if value is None or (np.ndim(value) == 0 and not isinstance(value, np.ndarray)):
        return value
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return value[()]
    raise OpValueError(f"expected a scalar, got {type(value).__name__} of shape {np.shape(value)}")


@gives(RANGE)
def to_range(value: Any, inputs: tuple[Node, ...]) -> tuple[Any, Any] | None:
    """histogram's ``range``: two scalars (numpy's own keep their type, which sets the
    edges' dtype); its values are checked by numpy in the type rule."""
    if value is None:
        return None
    try:
        first, last = value
    except (TypeError, ValueError):
        raise OpValueError(f"range must be a pair (min, max), got {value!r}") from None
    return _to_scalar(first, inputs), _to_scalar(last, inputs)


@gives(INT)
def to_bins(value: Any, inputs: tuple[Node, ...]) -> int:
    """A number of bins; numpy's estimators (``bins='auto'``) need the data first."""
    if isinstance(value, str):
        raise UnsupportedOperation(
            f"bins={value!r} is not supported: give a number of bins (with range= for edges "
            "known without the data) or the edges"
        )
    if np.ndim(value) != 0:
        raise UnsupportedOperation(
            "histogram_bin_edges with explicit edges returns them: use the edges themselves"
        )
    try:
        return operator.index(value)
    except TypeError:
        raise OpArgumentError("`bins` must be an integer, a string, or an array") from None


@gives(Str(*METHODS))
def _to_method(value: Any, inputs: tuple[Node, ...]) -> str:
    if not isinstance(value, str) or value not in METHODS:
        raise OpValueError(f"{value!r} is not a valid method. Use one of: {list(METHODS)}")
    return str(value)


@gives(NEVER)
def _ignored_flag(value: Any, inputs: tuple[Node, ...]) -> bool:
    """``overwrite_input``: a hint numpy may ignore, and lazyarray does (inputs are never
    written), so it never reaches the implementation."""
    flag(value, "overwrite_input")
    return False


def _refused(name: str, allowed: Any = None) -> Callable[[Any, tuple[Node, ...]], Any]:
    """A numpy argument lazyarray takes only at its default (``where=True``)."""

    @gives(NEVER)
    def convert(value: Any, inputs: tuple[Node, ...]) -> Any:
        if not (value is allowed or (isinstance(value, np.bool_) and bool(value) is allowed)):
            raise UnsupportedOperation(f"{name}= is not supported by lazyarray's statistics")
        return allowed

    return convert


def to_ordered_axes(value: Any, inputs: tuple[Node, ...]) -> tuple[int, ...] | None:
    """Axes normalized in the order given (``average``'s weights follow that order)."""
    if value is None:
        return None
    axes = tuple([normalize_axis(a, inputs[0].type.ndim) for a in axes_tuple(value) or ()])
    if len(set(axes)) != len(axes):
        raise OpValueError("repeated axis")
    return axes


_AXES = Param("axis", to_axes, None)
_AXIS = Param("axis", to_axis, None)
_DTYPE = Param("dtype", to_dtype, None)
_OUT = Param("out", no_out, None)
_KEEPDIMS = Param("keepdims", to_flag, False)
_DDOF = Param("ddof", _to_ddof, 0)
_CORRECTION = Param("correction", _to_ddof, 0, keyword=True, attr="ddof")
_INITIAL = Param("initial", _to_scalar, None)
_WHERE = Param("where", _refused("where", True), True)
_OVERWRITE = Param("overwrite_input", _ignored_flag, False)


def _signature(*params: Param, inputs: tuple[str, ...] = ("a",)) -> Signature:
    """numpy's arguments (the standard has none of these functions): the arrays may be
    passed by keyword too, as numpy allows."""
    return Signature(inputs, params, positional_only=False)


# --- type rules -------------------------------------------------------------------------


def _sizes(t: ArrayType) -> tuple[int, ...]:
    """The shape of a type whose sizes are known."""
    return tuple(int(d) for d in t.shape if d is not None)


def _on_empty(impl: Callable[..., Any], masked_impl: Callable[..., Any] | None) -> Infer:
    """A reduction's rule, plus numpy itself on an input with no elements (free), which
    raises numpy's errors for empty slices (``nanmin`` has no identity)."""
    base = reduction_rule(impl, masked_impl)

    def infer(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
        result = base(inputs, attrs)
        (x,) = inputs
        if x.type.size == 0:
            empty = np.empty(_sizes(x.type), x.type.dtype)
            if x.type.masked and masked_impl is not None:
                numpy_says(masked_impl, np.ma.MaskedArray(empty), **attrs)
            else:
                numpy_says(impl, empty, **attrs)
        return result

    return infer


def _scan_rule(impl: Callable[..., Any]) -> Infer:
    def infer(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
        (x,) = inputs
        shape = (x.type.size,) if attrs.get("axis") is None else x.type.shape
        return ArrayType(probe_dtype(impl, [x.type], attrs), shape)

    return infer


def quantile_dtype(function: Callable[..., Any], dtype: np.dtype[Any], q: Any, method: str) -> Any:
    """numpy's result dtype of a quantile of ``dtype`` data at ``q`` (a value, whose type
    counts: a Python float is weak), from two elements; raises numpy's errors."""
    tiny = np.arange(2).astype(dtype)
    return np.asarray(numpy_says(function, tiny, q, method=method)).dtype


def _one_dtype(function: Callable[..., Any]) -> Callable[..., Any]:
    """numpy's quantile, but a single NaN result (of a scalar ``q`` over every axis, on
    data holding NaN) in the dtype of every other result: numpy returns the NaN it
    found, in ``a``'s dtype. (Elsewhere the cast changes nothing.)"""

    def quantile(a: Any, q: Any, **attrs: Any) -> Any:
        result = function(a, q, **attrs)
        if np.size(result) == 1 and np.isnan(result).all():
            standin = (
                q
                if isinstance(q, (int, float))
                else np.ones(np.ndim(q) * (1,), np.asarray(q).dtype)
            )
            return result.astype(
                quantile_dtype(function, a.dtype, standin, attrs.get("method", "linear"))
            )
        return result

    quantile.__name__ = quantile.__qualname__ = function.__name__
    quantile.__doc__ = function.__doc__
    return quantile


def _quantile_rule(impl: Callable[..., Any]) -> Infer:
    """Shape: ``q``'s, then ``a``'s reduced. dtype and errors: numpy on two elements with
    the real ``q`` when it is a literal (so its range is checked now), else a stand-in."""

    def infer(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
        a, q = inputs
        axes = normalize_axes(attrs.get("axis"), a.type.ndim)
        value = literal_value(q)
        if value is None:
            value = q.type.weak(1) if q.type.weak else np.ones(q.type.ndim * (1,), q.type.dtype)
        dtype = quantile_dtype(impl, a.type.dtype, value, attrs.get("method", "linear"))
        shape = q.type.shape + _reduced_shape(a.type.shape, axes, bool(attrs.get("keepdims")))
        if a.type.size == 0:  # numpy's errors for empty slices
            numpy_says(impl, np.empty(_sizes(a.type), a.type.dtype), value, **attrs)
        return ArrayType(dtype, shape)

    return infer


def _bin_edges_rule(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
    """numpy on an empty array of the same dtype: the edges' dtype, and numpy's errors
    for the bins and the range (which the edges do not otherwise need the data for)."""
    (a,) = inputs
    bins = attrs.get("bins", 10)
    edges = numpy_says(np.histogram_bin_edges, np.empty(0, a.type.dtype), bins, attrs.get("range"))
    return ArrayType(edges.dtype, (bins + 1,))


def histogram_inputs(inputs: tuple[Any, ...], attrs: Mapping[str, Any]) -> tuple[Any, Any, Any]:
    """``(a, weights, edges)`` of a ``histogram_counts`` node's inputs: the edges are the
    last input when no number of ``bins`` is given; weights, when given, the second."""
    edges = inputs[-1] if "bins" not in attrs else None
    rest = inputs[1:-1] if edges is not None else inputs[1:]
    return inputs[0], (rest[0] if rest else None), edges


def _histogram_rule(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
    a, weights, edges = histogram_inputs(inputs, attrs)
    if weights is not None and not _same_shape(weights.type.shape, a.type.shape):
        raise ShapeError("weights should have the same shape as a.")
    if edges is not None:
        if edges.type.ndim != 1:
            raise ShapeError("`bins` must be 1d, when an array")
        known = literal_value(edges)
        if known is not None:  # numpy's check of literal edges (increasing)
            numpy_says(np.histogram_bin_edges, np.empty(0, a.type.dtype), known)
        size = edges.type.shape[0]
        bins: Any = np.arange(2).astype(edges.type.dtype)
        count = None if size is None else max(size - 1, 0)
    else:
        bins = attrs["bins"]
        numpy_says(np.histogram_bin_edges, np.empty(0, a.type.dtype), bins, attrs.get("range"))
        count = bins
    probe_weights = None if weights is None else np.ones(1, weights.type.dtype)
    counts = numpy_says(
        np.histogram,
        np.zeros(1, a.type.dtype),
        bins if edges is not None else 1,
        weights=probe_weights,
        density=attrs.get("density"),
    )[0]
    return ArrayType(counts.dtype, (count,))


def _same_shape(a: tuple[int | None, ...], b: tuple[int | None, ...]) -> bool:
    if len(a) != len(b):
        return False
    return all(x is None or y is None or x == y for x, y in zip(a, b, strict=True))


def weights_shape_check(a: ArrayType, weights: ArrayType, axis: tuple[int, ...] | None) -> None:
    """numpy's checks of ``average``'s weights against ``a`` (``_weights_are_valid``)."""
    if _same_shape(a.shape, weights.shape):
        return
    if axis is None:
        raise OpArgumentError("Axis must be specified when shapes of a and weights differ.")
    along = tuple(a.shape[ax] for ax in axis)
    if not _same_shape(weights.shape, along):
        raise ShapeError(
            "Shape of weights must be consistent with shape of a along specified axis."
        )


def _average_rule(impl: Callable[..., Any], masked_impl: Callable[..., Any]) -> Infer:
    def infer(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
        a = inputs[0]
        axis = attrs.get("axis")
        types = [n.type for n in inputs]
        if len(inputs) == 2:
            weights_shape_check(a.type, inputs[1].type, axis)
        masked = any(t.masked for t in types)
        dtype = probe_dtype(masked_impl if masked else impl, types, attrs)
        axes = normalize_axes(axis, a.type.ndim)
        shape = _reduced_shape(a.type.shape, axes, bool(attrs.get("keepdims")))
        if len(inputs) == 1 and 0 in shape:  # numpy divides by the result's size
            raise ZeroStepError("division by zero")
        if len(inputs) == 2 and any(a.type.shape[ax] == 0 for ax in axes):
            raise ZeroStepError("Weights sum to zero, can't be normalized")
        return ArrayType(dtype, shape, masked)

    return infer


# --- implementations that are not numpy's functions as they are --------------------------


def histogram_counts(a: Any, *arrays: Any, **attrs: Any) -> Any:
    """numpy's histogram counts: ``np.histogram(...)[0]`` with the user's bins (a number
    and range, or the edges), so numpy's own algorithm for each runs."""
    _, weights, edges = histogram_inputs((a, *arrays), attrs)
    bins = attrs.get("bins", edges)
    density = attrs.get("density")
    return np.histogram(a, bins, attrs.get("range"), density=density, weights=weights)[0]


def _average(a: Any, weights: Any = None, **attrs: Any) -> Any:
    return np.average(a, weights=weights, **attrs)


def _sum_of_weights(a: Any, weights: Any = None, **attrs: Any) -> Any:
    """The second result of ``np.average(..., returned=True)``."""
    return np.average(a, weights=weights, returned=True, **attrs)[1]


def _masked_average(a: Any, weights: Any = None, **attrs: Any) -> Any:
    return np.ma.average(a, weights=weights, **attrs)


def _masked_sum_of_weights(a: Any, weights: Any = None, **attrs: Any) -> Any:
    return np.ma.average(a, weights=weights, returned=True, **attrs)[1]


def _masked_ptp(a: Any, axis: Any = None, keepdims: bool = False) -> Any:
    return np.ma.ptp(a, axis=axis, keepdims=keepdims)


# --- the rows ---------------------------------------------------------------------------


def _reduction(
    name: str,
    impl: Callable[..., Any],
    signature: Signature,
    masked_impl: Callable[..., Any] | None = None,
    method: bool = False,
) -> OpDef:
    return OpDef(
        name,
        Kind.STATISTICS,
        impl,
        _on_empty(impl, masked_impl),
        masked_impl,
        numpy_functions=(impl,),
        arity=1,
        signature=signature,
        method=method,
    )


def _quantile(name: str, function: Callable[..., Any]) -> OpDef:
    impl = _one_dtype(function)
    signature = _signature(
        _AXES,
        _OUT,
        _OVERWRITE,
        Param("method", _to_method, "linear"),
        _KEEPDIMS,
        Param("weights", _refused("weights"), None, keyword=True),
        Param("interpolation", _refused("interpolation (numpy's old name of method)"), None, True),
        inputs=("a", "q"),
    )
    return OpDef(
        name,
        Kind.STATISTICS,
        impl,
        _quantile_rule(function),
        numpy_functions=(function,),
        arity=2,
        signature=signature,
    )


_SUM_LIKE = _signature(_AXES, _DTYPE, _OUT, _KEEPDIMS, _INITIAL, _WHERE)
_WHERE_KEYWORD = Param("where", _refused("where", True), True, keyword=True)
_MEAN = _signature(_AXES, _DTYPE, _OUT, _KEEPDIMS, _WHERE_KEYWORD)
_SPREAD = _signature(
    _AXES,
    _DTYPE,
    _OUT,
    _DDOF,
    _KEEPDIMS,
    _WHERE_KEYWORD,
    Param("mean", _refused("mean"), None, keyword=True),
    _CORRECTION,
)
_EXTREME = _signature(_AXES, _OUT, _KEEPDIMS, _INITIAL, _WHERE)
_ARG = _signature(_AXIS, _OUT, Param("keepdims", to_flag, False, keyword=True))
_SCAN = _signature(Param("axis", numpy_scan_axis, None), _DTYPE, _OUT)

ROWS = [
    _reduction("nansum", np.nansum, _SUM_LIKE),
    _reduction("nanprod", np.nanprod, _SUM_LIKE),
    _reduction("nanmean", np.nanmean, _MEAN),
    _reduction("nanvar", np.nanvar, _SPREAD),
    _reduction("nanstd", np.nanstd, _SPREAD),
    _reduction("nanmin", np.nanmin, _EXTREME),
    _reduction("nanmax", np.nanmax, _EXTREME),
    _reduction("nanargmin", np.nanargmin, _ARG),
    _reduction("nanargmax", np.nanargmax, _ARG),
    _reduction("nanmedian", np.nanmedian, _signature(_AXES, _OUT, _OVERWRITE, _KEEPDIMS)),
    _reduction("ptp", np.ptp, _signature(_AXES, _OUT, _KEEPDIMS), _masked_ptp, method=True),
    *[
        OpDef(
            name,
            Kind.STATISTICS,
            impl,
            _scan_rule(impl),
            numpy_functions=(impl,),
            arity=1,
            signature=_SCAN,
        )
        for name, impl in (("nancumsum", np.nancumsum), ("nancumprod", np.nancumprod))
    ],
    _quantile("quantile", np.quantile),
    _quantile("percentile", np.percentile),
    _quantile("nanquantile", np.nanquantile),
    _quantile("nanpercentile", np.nanpercentile),
    OpDef(
        "histogram_bin_edges",
        Kind.STATISTICS,
        np.histogram_bin_edges,
        _bin_edges_rule,
        numpy_functions=(np.histogram_bin_edges,),
        arity=1,
        signature=_signature(
            Param("bins", to_bins, 10),
            Param("range", to_range, None),
            Param("weights", _refused("weights"), None),
        ),
    ),
    # built by ``lazyarray.histogram`` (which returns the counts and the edges): inputs
    # ``a``, then the weights if any, then the edges when no number of bins is given
    OpDef(
        "histogram_counts",
        Kind.STATISTICS,
        histogram_counts,
        _histogram_rule,
        attributes={"bins": INT, "range": RANGE, "density": BOOL},
    ),
    # built by ``lazyarray.average`` (an optional array input, and a pair of results
    # with ``returned=True``): inputs ``a`` and the weights if any
    OpDef(
        "average",
        Kind.STATISTICS,
        _average,
        _average_rule(_average, _masked_average),
        _masked_average,
        attributes={"axis": AXES, "keepdims": BOOL},
    ),
    OpDef(
        "sum_of_weights",
        Kind.STATISTICS,
        _sum_of_weights,
        _average_rule(_sum_of_weights, _masked_sum_of_weights),
        _masked_sum_of_weights,
        attributes={"axis": AXES, "keepdims": BOOL},
    ),
]

register(*ROWS)

__all__ = [
    "METHODS",
    "ROWS",
    "histogram_counts",
    "histogram_inputs",
    "literal_value",
    "numpy_says",
    "quantile_dtype",
    "to_bins",
    "to_ordered_axes",
    "to_range",
    "weights_shape_check",
]
