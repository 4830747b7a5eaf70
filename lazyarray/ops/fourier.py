"""numpy.fft, the array API's FFT extension: each row runs numpy's transform (pocketfft).

Output sizes follow numpy's rules for ``n``, ``s`` and ``axes`` (its ``_cook_nd_args``,
the order in which the n-d transforms apply their 1-d ones), checked when written;
dtypes are numpy's answer on a small stand-in (numpy 2 keeps the precision: float32 in,
complex64 out). ``fftfreq``/``rfftfreq`` are numpy's formulas; the standard's ``dtype=``
casts their float64 values.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from lazyarray.errors import OpValueError, ZeroStepError
from lazyarray.graph import Node
from lazyarray.ops.arguments import axes_tuple, integer, no_out, to_axis, to_dtype, to_int
from lazyarray.ops.attrtypes import (
    FLOAT,
    INT,
    NEVER,
    OPTIONAL_AXES,
    OPTIONAL_DTYPE,
    OPTIONAL_INT,
    Str,
    TupleOf,
    gives,
    optional,
)
from lazyarray.ops.meta import as_numpy_error
from lazyarray.ops.registry import Infer, Kind, OpDef, register
from lazyarray.ops.signature import Param, Signature
from lazyarray.types import ArrayType, Shape, normalize_axis

NORMS = ("backward", "ortho", "forward")


# --- arguments -------------------------------------------------------------------------


@gives(Str(*NORMS))
def to_fft_norm(value: Any, inputs: tuple[Node, ...]) -> str:
    """``None`` is numpy's spelling of the default, "backward"."""
    if value is None:
        return "backward"
    if value not in NORMS:
        raise OpValueError(
            f'Invalid norm value {value}; should be "backward","ortho" or "forward".'
        )
    return str(value)


@gives(OPTIONAL_INT)
def to_points(value: Any, inputs: tuple[Node, ...]) -> int | None:
    return None if value is None else integer(value)


@gives(optional(TupleOf(INT, 64)))
def to_sizes(value: Any, inputs: tuple[Node, ...]) -> tuple[int, ...] | None:
    """``s``: one size per transformed axis (-1: the input's size)."""
    if value is None:
        return None
    if not isinstance(value, (tuple, list, np.ndarray)):
        return (integer(value),)
    return tuple([integer(v) for v in value])


@gives(OPTIONAL_AXES)
def to_ordered_axes(value: Any, inputs: tuple[Node, ...]) -> tuple[int, ...] | None:
    """Axes in the order given, repeats kept: both change numpy's result."""
    if value is None:
        return None
    ndim = inputs[0].type.ndim
    return tuple([normalize_axis(a, ndim) for a in axes_tuple(value) or ()])


@gives(NEVER)
def to_device(value: Any, inputs: tuple[Node, ...]) -> None:
    """The standard's ``device=``: lazyarray's one device is the host, 'cpu'."""
    if value is not None and value != "cpu":
        raise OpValueError(f"Unsupported device {value!r}; lazyarray has one device, 'cpu'")
    return None


@gives(FLOAT)
def to_spacing(value: Any, inputs: tuple[Node, ...]) -> float:
    return float(value)


@gives(OPTIONAL_DTYPE)
def to_real_dtype(value: Any, inputs: tuple[Node, ...]) -> np.dtype[Any] | None:
    dtype = to_dtype(value, inputs)
    if dtype is not None and dtype.kind != "f":
        raise OpValueError(f"dtype must be a real floating-point dtype, not {dtype}")
    return dtype


# --- sizes -----------------------------------------------------------------------------


def _check_points(n: int | None) -> None:
    if n is not None and n < 1:
        raise OpValueError(f"Invalid number of FFT data points ({n}) specified.")


# a 1-d transform's output size along its axis, from n (given or numpy's default)
_SAME, _HALF, _INVERSE_REAL = "same", "half", "inverse_real"


def _points(kind: str, size: int | None, n: int | None) -> tuple[int | None, int | None]:
    """(the transform's n, its output size) for an input of ``size`` along the axis."""
    if n is None:
        if size is None:
            return None, None
        n = 2 * (size - 1) if kind == _INVERSE_REAL else size
    _check_points(n)
    return n, n // 2 + 1 if kind == _HALF else n


def cook(
    shape: Shape, s: tuple[int, ...] | None, axes: tuple[int, ...] | None, inverse_real: bool
) -> tuple[list[int | None], list[int]]:
    """numpy's ``_cook_nd_args``: each transformed axis and its n."""
    ndim = len(shape)
    if axes is None:
        axes = tuple(range(ndim)) if s is None else tuple(range(-len(s), 0))
    resolved = [normalize_axis(a, ndim) for a in axes]
    sizes: list[int | None] = [shape[a] for a in resolved] if s is None else list(s)
    if len(sizes) != len(resolved):
        raise OpValueError("Shape and axes have different lengths.")
    if inverse_real and s is None and resolved:
        last = shape[resolved[-1]]
        sizes[-1] = None if last is None else (last - 1) * 2
    sizes = [shape[a] if n == -1 else n for n, a in zip(sizes, resolved, strict=True)]
    for n in sizes:
        _check_points(n)
    return sizes, resolved


# --- type rules ------------------------------------------------------------------------


@functools.lru_cache(maxsize=256)
def _transform_dtype(fn: Callable[..., Any], dtype: np.dtype[Any], norm: str) -> np.dtype[Any]:
    try:
        return np.asarray(fn(np.ones(4, dtype=dtype), norm=norm)).dtype
    except (ValueError, TypeError) as exc:
        raise as_numpy_error(exc) from None


def _one_d_rule(fn: Callable[..., Any], kind: str) -> Infer:
    def infer(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
        (x,) = inputs
        shape = x.type.shape
        axis = attrs.get("axis", normalize_axis(-1, len(shape)))
        _, size = _points(kind, shape[axis], attrs.get("n"))
        dtype = _transform_dtype(fn, x.type.dtype, attrs.get("norm", "backward"))
        return ArrayType(dtype, shape[:axis] + (size,) + shape[axis + 1 :])

    return infer


def _n_d_rule(fn: Callable[..., Any], kind: str, default_axes: tuple[int, ...] | None) -> Infer:
    """fftn applies its 1-d transforms from the last axis to the first; rfftn does the
    last axis first (the real one), then the others from the last; irfftn the others
    from the first, then the last (the real one)."""

    def infer(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
        (x,) = inputs
        shape = list(x.type.shape)
        axes = attrs.get("axes", default_axes)
        sizes, resolved = cook(x.type.shape, attrs.get("s"), axes, kind == _INVERSE_REAL)
        steps = list(zip(sizes, resolved, strict=True))
        if kind == _SAME:
            order = [(n, a, n) for n, a in reversed(steps)]
        elif kind == _HALF:
            (n, a), rest = steps[-1], steps[:-1]
            order = [(n, a, None if n is None else n // 2 + 1)]
            order += [(m, b, m) for m, b in reversed(rest)]
        else:
            order = [(n, a, n) for n, a in steps]
        for _, axis, size in order:
            shape[axis] = size
        dtype = _transform_dtype(_ONE_D_OF[fn], x.type.dtype, attrs.get("norm", "backward"))
        return ArrayType(dtype, tuple(shape))

    return infer


def _frequencies_rule(half: bool) -> Infer:
    def infer(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
        n, d = attrs["n"], attrs.get("d", 1.0)
        if n * d == 0:
            raise ZeroStepError("float division by zero")
        if n < 0:
            raise OpValueError("negative dimensions are not allowed")
        dtype = attrs.get("dtype") or np.dtype(np.float64)
        return ArrayType(dtype, (n // 2 + 1 if half else n,))

    return infer


def _shift_rule(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
    (x,) = inputs
    return x.type.with_(weak=None)


# --- implementations -------------------------------------------------------------------


def _one_d(fn: Callable[..., Any]) -> Callable[..., Any]:
    def run(x: Any, n: int | None = None, axis: int = -1, norm: str = "backward") -> Any:
        return fn(x, n=n, axis=axis, norm=norm)

    return run


def _n_d(fn: Callable[..., Any], default_axes: tuple[int, ...] | None) -> Callable[..., Any]:
    def run(
        x: Any, s: tuple[int, ...] | None = None, axes: Any = None, norm: str = "backward"
    ) -> Any:
        return fn(x, s=s, axes=default_axes if axes is None else axes, norm=norm)

    return run


def _fftfreq(
    *, n: int, d: float = 1.0, dtype: np.dtype[Any] | None = None, device: None = None
) -> Any:
    values = np.fft.fftfreq(n, d)
    return values if dtype is None else values.astype(dtype)


def _rfftfreq(
    *, n: int, d: float = 1.0, dtype: np.dtype[Any] | None = None, device: None = None
) -> Any:
    values = np.fft.rfftfreq(n, d)
    return values if dtype is None else values.astype(dtype)


def _fftshift(x: Any, axes: tuple[int, ...] | None = None) -> Any:
    return np.fft.fftshift(x, axes)


def _ifftshift(x: Any, axes: tuple[int, ...] | None = None) -> Any:
    return np.fft.ifftshift(x, axes)


# --- the rows --------------------------------------------------------------------------

_NORM = Param("norm", to_fft_norm, "backward")
_OUT = Param("out", no_out, None)

# the 1-d transform each n-d one is made of (for its dtype)
_ONE_D_OF: dict[Callable[..., Any], Callable[..., Any]] = {
    np.fft.fftn: np.fft.fft,
    np.fft.ifftn: np.fft.ifft,
    np.fft.rfftn: np.fft.rfft,
    np.fft.irfftn: np.fft.irfft,
    np.fft.fft2: np.fft.fft,
    np.fft.ifft2: np.fft.ifft,
    np.fft.rfft2: np.fft.rfft,
    np.fft.irfft2: np.fft.irfft,
}


def _one_d_row(name: str, kind: str) -> OpDef:
    fn = getattr(np.fft, name)
    params = (Param("n", to_points, None), Param("axis", to_axis, -1), _NORM)
    return OpDef(
        name,
        Kind.LINALG,
        _one_d(fn),
        _one_d_rule(fn, kind),
        None,  # numpy.ma has no FFT: masked inputs are refused
        name,
        numpy_functions=(fn,),
        arity=1,
        signature=Signature(("x",), params),
        numpy_signature=Signature(("a",), (*params, _OUT), positional_only=False),
        namespaces=("fft",),
    )


def _n_d_row(name: str, kind: str, standard: bool = True) -> OpDef:
    """fftn and friends; numpy's fft2 family are the same with axes=(-2, -1)."""
    fn = getattr(np.fft, name)
    default_axes = None if standard else (-2, -1)
    params = (Param("s", to_sizes, None), Param("axes", to_ordered_axes, None), _NORM)
    return OpDef(
        name,
        Kind.LINALG,
        _n_d(fn, default_axes),
        _n_d_rule(fn, kind, default_axes),
        None,
        name if standard else None,
        numpy_functions=(fn,),
        arity=1,
        signature=Signature(("x",), params),
        numpy_signature=Signature(("a",), (*params, _OUT), positional_only=False),
        namespaces=("fft",),
    )


def _frequencies_row(name: str, impl: Callable[..., Any], half: bool) -> OpDef:
    return OpDef(
        name,
        Kind.CREATION,
        impl,
        _frequencies_rule(half),
        None,
        name,
        arity=0,
        signature=Signature(
            (),
            (
                Param("n", to_int),
                Param("d", to_spacing, 1.0),
                Param("dtype", to_real_dtype, None, keyword=True),
                Param("device", to_device, None, keyword=True),
            ),
        ),
        namespaces=("fft",),
    )


def _shift_row(name: str, impl: Callable[..., Any]) -> OpDef:
    fn = getattr(np.fft, name)
    return OpDef(
        name,
        Kind.SHAPE,
        impl,
        _shift_rule,
        None,
        name,
        numpy_functions=(fn,),
        arity=1,
        signature=Signature(("x",), (Param("axes", to_ordered_axes, None),)),
        namespaces=("fft",),
    )


ROWS = [
    _one_d_row("fft", _SAME),
    _one_d_row("ifft", _SAME),
    _one_d_row("rfft", _HALF),
    _one_d_row("irfft", _INVERSE_REAL),
    _one_d_row("hfft", _INVERSE_REAL),
    _one_d_row("ihfft", _HALF),
    _n_d_row("fftn", _SAME),
    _n_d_row("ifftn", _SAME),
    _n_d_row("rfftn", _HALF),
    _n_d_row("irfftn", _INVERSE_REAL),
    _n_d_row("fft2", _SAME, standard=False),
    _n_d_row("ifft2", _SAME, standard=False),
    _n_d_row("rfft2", _HALF, standard=False),
    _n_d_row("irfft2", _INVERSE_REAL, standard=False),
    _frequencies_row("fftfreq", _fftfreq, half=False),
    _frequencies_row("rfftfreq", _rfftfreq, half=True),
    _shift_row("fftshift", _fftshift),
    _shift_row("ifftshift", _ifftshift),
]

register(*ROWS)
