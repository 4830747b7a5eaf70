"""numpy.linalg's matrix functions, the array API's linear algebra extension: each row
runs numpy's own function (one LAPACK call per matrix of a stack), typed without
computing.

Shapes follow from the last two axes, refused in numpy's words where those are not
(square) matrices. Dtypes and argument errors are numpy's answer on stand-ins of ones
(1x1 matrices) of each input's dtype, so numpy's rules (integers to float64, float16
refused, invalid norm orders) are asked, not re-implemented.
"""

from __future__ import annotations

import operator
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from lazyarray.errors import (
    LinAlgError,
    OpArgumentError,
    OpValueError,
    UnsupportedOperation,
)
from lazyarray.graph import Node
from lazyarray.ops.arguments import axes_tuple, axis_index, to_flag, to_hashable
from lazyarray.ops.attrtypes import AXES, HASHABLE, INT, OPTIONAL_AXIS, Str, gives
from lazyarray.ops.meta import as_numpy_error
from lazyarray.ops.registry import Infer, Kind, OpDef, register
from lazyarray.ops.signature import Param, Signature
from lazyarray.types import ArrayType, Shape, broadcast_shapes, normalize_axis

# --- numpy, asked on stand-ins -------------------------------------------------------


def probe(
    fn: Callable[..., Any],
    types: Sequence[ArrayType],
    attrs: Mapping[str, Any],
    shapes: Sequence[tuple[int, ...]] | None = None,
) -> Any:
    """numpy's result of ``fn`` on arrays of ones of each type's dtype, of size 1 along
    every axis (or of ``shapes``); weak Python scalars stay scalars."""
    arrays: list[Any] = []
    for i, t in enumerate(types):
        if t.weak is not None:
            arrays.append(t.weak(1))
        else:
            arrays.append(np.ones(shapes[i] if shapes else (1,) * t.ndim, dtype=t.dtype))
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            return fn(*arrays, **attrs)
        except (ValueError, TypeError) as exc:
            raise as_numpy_error(exc) from None


def probe_dtype(fn: Callable[..., Any], inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> Any:
    return np.asarray(probe(fn, [n.type for n in inputs], attrs)).dtype


def matrices(x: Node) -> tuple[Shape, int | None, int | None]:
    """The stack shape and the matrix sizes of ``x``, which must have matrices."""
    shape = x.type.shape
    if len(shape) < 2:
        raise LinAlgError(
            f"{len(shape)}-dimensional array given. Array must be at least two-dimensional"
        )
    return shape[:-2], shape[-2], shape[-1]


def square(x: Node) -> tuple[Shape, int | None]:
    """The stack shape and the size of the square matrices of ``x``."""
    batch, m, n = matrices(x)
    if m is not None and n is not None and m != n:
        raise LinAlgError("Last 2 dimensions of the array must be square")
    return batch, n if m is None else m


def smaller(m: int | None, n: int | None) -> int | None:
    return None if m is None or n is None else min(m, n)


# --- arguments -------------------------------------------------------------------------


@gives(Str("L", "U"))
def to_uplo(value: Any, inputs: tuple[Node, ...]) -> str:
    """eigh's ``UPLO``: numpy takes either case."""
    upper = value.upper() if isinstance(value, str) else value
    if upper not in ("L", "U"):
        raise OpValueError("UPLO argument must be 'L' or 'U'")
    return str(upper)


@gives(INT)
def to_exponent(value: Any, inputs: tuple[Node, ...]) -> int:
    try:
        return operator.index(value)
    except TypeError:
        raise OpArgumentError("exponent must be an integer") from None


@gives(HASHABLE)
def to_cutoff(value: Any, inputs: tuple[Node, ...]) -> Any:
    """A tolerance (``tol``, ``rtol``, ``rcond``): a number, or an array of them as
    nested tuples. numpy scalars and arrays are taken as Python numbers (float64)."""
    if hasattr(value, "__lazyarray_node__"):
        raise UnsupportedOperation(
            "a tolerance given as a lazy array is not supported; pass a number or a numpy array"
        )
    if isinstance(value, np.ndarray):
        return to_hashable(value.tolist(), inputs)
    return to_hashable(value, inputs)


@gives(HASHABLE)
def _numpy_rcond(value: Any, inputs: tuple[Node, ...]) -> Any:
    """numpy's ``pinv(a, rcond=None)``: 1e-15 (the standard's default differs)."""
    return 1e-15 if value is None else to_cutoff(value, inputs)


@gives(OPTIONAL_AXIS | AXES)
def to_norm_axis(value: Any, inputs: tuple[Node, ...]) -> int | tuple[int, ...] | None:
    """A norm's ``axis``: an int, or a tuple whose order matters (it orders the
    flattened vector, or names the rows and columns); numpy's errors for repeats."""
    if value is None:
        return None
    ndim = inputs[0].type.ndim
    if isinstance(value, Sequence):
        return tuple([normalize_axis(a, ndim) for a in axes_tuple(value) or ()])
    return normalize_axis(axis_index(value), ndim)


# --- implementations: numpy's functions, with the attributes as keywords ---------------


def _cholesky(x: Any, upper: bool = False) -> Any:
    return np.linalg.cholesky(x, upper=upper)


def _eigvalsh(x: Any, UPLO: Any = "L") -> Any:
    return np.linalg.eigvalsh(x, UPLO=UPLO)


def complex_of(dtype: np.dtype[Any]) -> np.dtype[Any]:
    """The complex dtype of ``dtype``'s precision (float32 -> complex64)."""
    return np.result_type(dtype, np.complex64)


def _eigvals(x: Any) -> Any:
    """Complex, as the standard says; numpy's are real when every imaginary part is 0."""
    values = np.linalg.eigvals(x)
    return values.astype(complex_of(values.dtype), copy=False)


def _svdvals(x: Any, hermitian: bool = False) -> Any:
    return np.linalg.svd(x, compute_uv=False, hermitian=hermitian)


def _matrix_power(x: Any, n: int) -> Any:
    return np.linalg.matrix_power(x, n)


def _matrix_rank(x: Any, tol: Any = None, hermitian: bool = False, rtol: Any = None) -> Any:
    return np.asarray(np.linalg.matrix_rank(x, tol, hermitian, rtol=rtol))


def _pinv(x: Any, rtol: Any = None, hermitian: bool = False) -> Any:
    """``rtol=None`` is the standard's default, ``max(M, N) * eps``, taken of the float
    type numpy computes in: integers become float64 first (as numpy's SVD would)."""
    if x.dtype.kind not in "fc":
        x = x.astype(np.float64)
    return np.linalg.pinv(x, hermitian=hermitian, rtol=rtol)


def _matrix_norm(x: Any, keepdims: bool = False, ord: Any = "fro") -> Any:  # noqa: A002
    return np.linalg.matrix_norm(x, keepdims=keepdims, ord=ord)


def _vector_norm(x: Any, axis: Any = None, keepdims: bool = False, ord: Any = 2) -> Any:  # noqa: A002
    return np.linalg.vector_norm(x, axis=axis, keepdims=keepdims, ord=ord)


def _norm(x: Any, ord: Any = None, axis: Any = None, keepdims: bool = False) -> Any:  # noqa: A002
    return np.linalg.norm(x, ord=ord, axis=axis, keepdims=keepdims)


# --- type rules ----------------------------------------------------------------------


def _same_shape_rule(impl: Callable[..., Any]) -> Infer:
    """cholesky, inv, matrix_power: square matrices in, the same shape out."""

    def infer(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
        (x,) = inputs
        square(x)
        return ArrayType(probe_dtype(impl, inputs, attrs), x.type.shape)

    return infer


def _per_matrix_rule(impl: Callable[..., Any], vector: bool) -> Infer:
    """det (a number per square matrix), eigvalsh and eigvals (a vector per matrix)."""

    def infer(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
        (x,) = inputs
        batch, m = square(x)
        return ArrayType(probe_dtype(impl, inputs, attrs), batch + ((m,) if vector else ()))

    return infer


def _svdvals_rule(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
    (x,) = inputs
    batch, m, n = matrices(x)
    return ArrayType(probe_dtype(_svdvals, inputs, attrs), batch + (smaller(m, n),))


def _pinv_rule(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
    (x,) = inputs
    batch, m, n = matrices(x)
    return ArrayType(probe_dtype(_pinv, inputs, attrs), batch + (n, m))


def _matrix_rank_rule(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
    (x,) = inputs
    if attrs.get("tol") is not None and attrs.get("rtol") is not None:
        raise OpValueError("`tol` and `rtol` can't be both set.")
    probe_dtype(_matrix_rank, inputs, attrs)  # numpy's errors (float16 ...)
    shape = x.type.shape[:-2] if x.type.ndim >= 2 else ()
    return ArrayType(np.dtype(np.intp), shape)


def _kept(shape: Shape, axes: Sequence[int], keepdims: bool) -> Shape:
    """``shape`` reduced over ``axes``."""
    if keepdims:
        return tuple(1 if d in axes else size for d, size in enumerate(shape))
    return tuple(size for d, size in enumerate(shape) if d not in axes)


def _norm_rule(impl: Callable[..., Any], matrix_axes: bool) -> Infer:
    """Norms reduce their axes (the last two for ``matrix_norm``; all for ``axis=None``);
    numpy decides the dtype and refuses bad orders and axes on the stand-in."""

    def infer(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
        (x,) = inputs
        dtype = probe_dtype(impl, inputs, attrs)
        ndim = x.type.ndim
        axis = (-2, -1) if matrix_axes else attrs.get("axis")
        if axis is None:
            axes: tuple[int, ...] = tuple(range(ndim))
        else:
            axes = tuple([a % ndim for a in (axis if isinstance(axis, tuple) else (axis,))])
        return ArrayType(dtype, _kept(x.type.shape, axes, bool(attrs.get("keepdims"))))

    return infer


def _solve_rule(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
    """numpy 2's solve: ``b`` is a vector only when it is 1-d, else a stack of matrices."""
    a, b = inputs
    batch, m = square(a)
    dtype = probe_dtype(np.linalg.solve, inputs, attrs)  # numpy's error for a 0-d b
    if b.type.ndim == 1:
        (size,) = b.type.shape
        _check_core(size, m, "solve1", "(m,m),(m)->(m)")
        return ArrayType(dtype, batch + (m if m is not None else size,))
    size, columns = b.type.shape[-2:]
    _check_core(size, m, "solve", "(m,m),(m,n)->(m,n)")
    stack = broadcast_shapes(batch, b.type.shape[:-2])
    return ArrayType(dtype, stack + (m if m is not None else size, columns))


def _check_core(size: int | None, m: int | None, name: str, signature: str) -> None:
    if size is not None and m is not None and size != m:
        raise OpValueError(
            f"{name}: Input operand 1 has a mismatch in its core dimension 0, with gufunc "
            f"signature {signature} (size {size} is different from {m})"
        )


# --- the rows ----------------------------------------------------------------------------


def _row(
    name: str,
    impl: Callable[..., Any],
    infer: Infer,
    signature: Signature,
    numpy_signature: Signature | None = None,
    standard: bool = True,
) -> OpDef:
    return OpDef(
        name,
        Kind.LINALG,
        impl,
        infer,
        None,  # numpy.ma has no linear algebra: masked inputs are refused
        name if standard else None,
        numpy_functions=(getattr(np.linalg, name),),
        arity=len(signature.inputs),
        signature=signature,
        numpy_signature=numpy_signature,
        namespaces=("linalg",),
    )


_X, _A = ("x",), ("a",)
_UPLO = Param("UPLO", to_uplo, "L")
_KEEPDIMS = Param("keepdims", to_flag, False, keyword=True)
_HERMITIAN = Param("hermitian", to_flag, False)

ROWS = [
    _row(
        "cholesky",
        _cholesky,
        _same_shape_rule(_cholesky),
        Signature(_X, (Param("upper", to_flag, False, keyword=True),)),
        Signature(_A, (Param("upper", to_flag, False, keyword=True),)),
    ),
    _row(
        "det", np.linalg.det, _per_matrix_rule(np.linalg.det, False), Signature(_X), Signature(_A)
    ),
    _row("inv", np.linalg.inv, _same_shape_rule(np.linalg.inv), Signature(_X), Signature(_A)),
    _row(
        "eigvalsh",
        _eigvalsh,
        _per_matrix_rule(_eigvalsh, True),
        Signature(_X, (_UPLO,)),
        Signature(_A, (_UPLO,)),
    ),
    _row("eigvals", _eigvals, _per_matrix_rule(_eigvals, True), Signature(_X), Signature(_A)),
    _row(
        "svdvals",
        _svdvals,
        _svdvals_rule,
        # hermitian: svd(x, compute_uv=False, hermitian=True) is this op too
        Signature(_X, (Param("hermitian", to_flag, False, keyword=True),)),
        Signature(_X),
    ),
    _row(
        "matrix_power",
        _matrix_power,
        _same_shape_rule(_matrix_power),
        Signature(_X, (Param("n", to_exponent),)),
        Signature(_A, (Param("n", to_exponent),)),
    ),
    _row(
        "matrix_rank",
        _matrix_rank,
        _matrix_rank_rule,
        Signature(
            _X,
            (
                Param("tol", to_cutoff, None),
                _HERMITIAN,
                Param("rtol", to_cutoff, None, keyword=True),
            ),
        ),
        Signature(
            ("A",),
            (
                Param("tol", to_cutoff, None),
                _HERMITIAN,
                Param("rtol", to_cutoff, None, keyword=True),
            ),
        ),
    ),
    _row(
        "pinv",
        _pinv,
        _pinv_rule,
        # one attribute, rtol: numpy's rcond means the same; None is the standard's
        # default, and numpy's own default (rcond=1e-15) is spelled out
        Signature(
            _X,
            (
                Param("rcond", to_cutoff, None, attr="rtol"),
                _HERMITIAN,
                Param("rtol", to_cutoff, None, keyword=True),
            ),
        ),
        Signature(
            _A,
            (
                Param("rcond", _numpy_rcond, None, attr="rtol", stored=True),
                _HERMITIAN,
                Param("rtol", to_cutoff, None, keyword=True),
            ),
        ),
    ),
    _row(
        "matrix_norm",
        _matrix_norm,
        _norm_rule(_matrix_norm, matrix_axes=True),
        Signature(_X, (_KEEPDIMS, Param("ord", to_hashable, "fro", keyword=True))),
    ),
    _row(
        "vector_norm",
        _vector_norm,
        _norm_rule(_vector_norm, matrix_axes=False),
        Signature(
            _X,
            (
                Param("axis", to_norm_axis, None, keyword=True),
                _KEEPDIMS,
                Param("ord", to_hashable, 2, keyword=True),
            ),
        ),
    ),
    _row(
        "norm",
        _norm,
        _norm_rule(_norm, matrix_axes=False),
        Signature(
            _X,
            (
                Param("ord", to_hashable, None),
                Param("axis", to_norm_axis, None),
                Param("keepdims", to_flag, False),
            ),
            positional_only=False,
        ),
        standard=False,
    ),
    _row(
        "solve",
        np.linalg.solve,
        _solve_rule,
        Signature(("x1", "x2")),
        Signature(("a", "b"), positional_only=False),
    ),
]

register(*ROWS)
