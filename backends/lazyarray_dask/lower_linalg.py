"""Lowering the linear algebra rows (``ops/matrix.py``, ``ops/decompositions.py``,
``ops/products.py``) to dask.array.

- Stacks of matrices: the last two axes rechunked into one chunk, then numpy's own
  function on each chunk of the stack (``apply_gufunc``): the numpy backend's results,
  bit for bit, with the stack's chunks run in parallel.
- dask's own algorithms where they exist and need no SciPy: a single matrix (2-d) in
  several chunks is factored by tall-and-skinny QR (``qr`` of a tall matrix, reduced
  ``svd``, ``svdvals``), its results equal to numpy's within rounding, up to the signs
  (phases) of R's rows and of the singular vectors, which no two algorithms share.
  (dask's ``cholesky``, ``solve``, ``inv`` and ``lu`` need SciPy, which lazyarray does
  not require: they run numpy's per stack.)
- Norms are reductions: dask's tree reductions of numpy's formulas (within rounding of
  numpy's sums; ``max``, ``min`` exact). Norms needing singular values run per stack.
- ``outer``, ``kron``, ``vecdot``, ``cross``: blockwise, each value numpy's.

Every function run in a task is numpy's, wrapped so that its failure (a singular matrix)
is a ``ComputeError`` chaining numpy's ``LinAlgError``.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable, Sequence
from types import SimpleNamespace
from typing import Any

import dask.array as da
import numpy as np

from lazyarray.backend import memory_error
from lazyarray.errors import ComputeError
from lazyarray.graph import Node
from lazyarray.ops import OPS
from lazyarray.types import ArrayType
from lazyarray_dask import tasks

Lowering = Callable[[Node, list[Any]], Any]


# --- shared with lower_fft -------------------------------------------------------------


def checked(node: Node, function: Callable[..., Any]) -> Callable[..., Any]:
    """``function`` as a task: its failure names the op and the user's line."""
    op, site = node.op, node.site_text

    def run(*blocks: Any) -> Any:
        try:
            return function(*blocks)
        except MemoryError as exc:
            raise memory_error(op, site, exc) from exc
        except Exception as exc:
            raise ComputeError.wrapping(exc, op, site) from exc

    return run


def implementation(node: Node) -> Callable[..., Any]:
    """The row's numpy implementation with the node's attributes."""
    return functools.partial(OPS[node.op].implementation(node.type.masked), **node.kwargs)


def as_dask(value: Any) -> Any:
    """A dask array, its sizes known (a boolean index can hide them)."""
    if not isinstance(value, da.Array):
        return tasks.from_array(np.asarray(value))
    if any(math.isnan(size) for sizes in value.chunks for size in sizes):
        return value.compute_chunk_sizes()
    return value


def result_shape(node: Node, arrays: Sequence[Any]) -> tuple[int, ...]:
    """The node's shape, its unknown sizes read off the lowered inputs (the type rule
    run again on the sizes they turned out to have)."""
    if None not in node.type.shape:
        return node.type.shape  # type: ignore[return-value]
    typed = tuple(
        SimpleNamespace(type=ArrayType(a.dtype, a.shape, n.type.masked))
        for a, n in zip(arrays, node.inputs, strict=True)
    )
    return OPS[node.op].infer(typed, node.kwargs).shape  # type: ignore[arg-type, return-value]


def meta(node: Node, ndim: int | None = None) -> Any:
    return np.empty((0,) * (node.type.ndim if ndim is None else ndim), dtype=node.type.dtype)


# --- stacks of matrices --------------------------------------------------------------


def per_stack(
    node: Node,
    inputs: list[Any],
    cores: Sequence[int],
    output_core: int,
    function: Callable[..., Any] | None = None,
    output_sizes: Sequence[int] | None = None,
) -> Any:
    """``function`` (the row's implementation) on each chunk of a stack, with each
    input's last ``cores`` axes whole and the output's last ``output_core`` axes new
    (of the result's last sizes, or ``output_sizes``)."""
    arrays = [as_dask(v) for v in inputs]
    if output_sizes is None:
        shape = result_shape(node, arrays)
        output_sizes = shape[len(shape) - output_core :]
    names = [[f"i{k}_{d}" for d in range(core)] for k, core in enumerate(cores)]
    out = [f"o{d}" for d in range(output_core)]
    signature = ",".join("(" + ",".join(n) + ")" for n in names) + "->(" + ",".join(out) + ")"
    return da.apply_gufunc(
        checked(node, function or implementation(node)),
        signature,
        *arrays,
        output_sizes=dict(zip(out, output_sizes, strict=True)),
        allow_rechunk=True,
        meta=meta(node),
    )


def _matrices(node: Node, inputs: list[Any]) -> Any:
    """A square or rectangular matrix in, a matrix out (cholesky, inv, pinv ...)."""
    return per_stack(node, inputs, [2], 2)


def _numbers(node: Node, inputs: list[Any]) -> Any:
    return per_stack(node, inputs, [2], 0)


def _vectors(node: Node, inputs: list[Any]) -> Any:
    return per_stack(node, inputs, [2], 1)


def _matrix_rank(node: Node, inputs: list[Any]) -> Any:
    return per_stack(node, inputs, [min(node.inputs[0].type.ndim, 2)], 0)


def _solve(node: Node, inputs: list[Any]) -> Any:
    vector = node.inputs[1].type.ndim == 1
    return per_stack(node, inputs, [2, 1 if vector else 2], 1 if vector else 2)


def _single_matrix(node: Node, x: Any) -> bool:
    """dask's own factorizations: one matrix (no stack) in several chunks."""
    return bool(x.ndim == 2 and x.numblocks != (1, 1))


def _one_way(x: Any) -> Any:
    """Chunked along its longer axis only, as tall-and-skinny QR needs."""
    rows, columns = x.shape
    return x.rechunk({1: -1}) if rows >= columns else x.rechunk({0: -1})


def _packed(node: Node, results: Sequence[Any]) -> Any:
    """dask's results, packed as the decomposition row packs numpy's."""
    flat = [r.reshape((math.prod(r.shape),)) for r in results]
    return da.concatenate(flat, axis=0).astype(node.type.dtype, copy=False)


def _qr(node: Node, inputs: list[Any]) -> Any:
    """Tall matrices only: dask's short-and-fat QR multiplies by Q's transpose where
    complex matrices need its conjugate transpose (dask 2026.8), and needs the matrix's
    rows in one chunk anyway."""
    x = as_dask(inputs[0])
    tall = x.ndim == 2 and x.shape[0] >= x.shape[1]
    if node.attr("mode", "reduced") == "reduced" and tall and _single_matrix(node, x):
        return _packed(node, da.linalg.qr(_one_way(x)))
    return per_stack(node, [x], [2], 1)


def _native_svd(x: Any) -> tuple[Any, Any, Any]:
    with warnings.catch_warnings():  # dask casts an empty complex meta to real for S
        warnings.simplefilter("ignore", np.exceptions.ComplexWarning)
        return da.linalg.svd(_one_way(x))  # type: ignore[no-any-return]


def _svd(node: Node, inputs: list[Any]) -> Any:
    x = as_dask(inputs[0])
    native = not node.attr("full_matrices", True) and not node.attr("hermitian", False)
    if native and _single_matrix(node, x):
        return _packed(node, _native_svd(x))
    return per_stack(node, [x], [2], 1)


def _svdvals(node: Node, inputs: list[Any]) -> Any:
    x = as_dask(inputs[0])
    if not node.attr("hermitian", False) and _single_matrix(node, x):
        return _native_svd(x)[1].astype(node.type.dtype, copy=False)
    return per_stack(node, [x], [2], 1)


def _unpack(node: Node, inputs: list[Any]) -> Any:
    """A slice of the packed results: the row's own implementation, on dask's array."""
    return implementation(node)(as_dask(inputs[0]))


# --- norms: numpy's formulas as dask reductions --------------------------------------


def _real_float(x: Any) -> Any:
    """numpy's norms compute in floating point: integers and booleans become float64."""
    return x if x.dtype.kind in "fc" else x.astype(np.float64)


def _vector_norm_of(x: Any, ord: Any, axes: tuple[int, ...], keepdims: bool) -> Any:  # noqa: A002
    """numpy's ``norm`` of vectors along ``axes`` (``numpy/linalg/_linalg.py``)."""
    x = _real_float(x)
    if ord is None or ord == 2:
        return da.sqrt((x.conj() * x).real.sum(axis=axes, keepdims=keepdims))
    size = abs(x)
    if ord == np.inf:
        return size.max(axis=axes, keepdims=keepdims)
    if ord == -np.inf:
        return size.min(axis=axes, keepdims=keepdims)
    if ord == 0:
        return (x != 0).astype(x.real.dtype).sum(axis=axes, keepdims=keepdims)
    if ord == 1:
        return size.sum(axis=axes, keepdims=keepdims)
    total = (size**ord).sum(axis=axes, keepdims=keepdims)
    return total ** np.reciprocal(ord, dtype=total.dtype)


def _matrix_norm_of(x: Any, ord: Any, rows: int, columns: int, keepdims: bool) -> Any | None:  # noqa: A002
    """numpy's matrix norms that are reductions; None for those that need singular
    values (2, -2, "nuc")."""
    x = _real_float(x)
    if ord in ("fro", "f", None):
        return da.sqrt((x.conj() * x).real.sum(axis=(rows, columns), keepdims=keepdims))
    size = abs(x)
    if ord in (1, -1):
        sums = size.sum(axis=rows, keepdims=True)
        pick = sums.max if ord == 1 else sums.min
        result = pick(axis=columns, keepdims=True)
    elif ord in (np.inf, -np.inf):
        sums = size.sum(axis=columns, keepdims=True)
        pick = sums.max if ord == np.inf else sums.min
        result = pick(axis=rows, keepdims=True)
    else:
        return None
    return result if keepdims else result.squeeze(axis=(rows, columns))


def _matrix_norm(node: Node, inputs: list[Any]) -> Any:
    x = as_dask(inputs[0])
    keepdims = bool(node.attr("keepdims", False))
    result = _matrix_norm_of(x, node.attr("ord", "fro"), x.ndim - 2, x.ndim - 1, keepdims)
    if result is None:
        return per_stack(node, [x], [2], 2 if keepdims else 0)
    return result.astype(node.type.dtype, copy=False)


def _vector_norm(node: Node, inputs: list[Any]) -> Any:
    x = as_dask(inputs[0])
    axis = node.attr("axis")
    axes = tuple(range(x.ndim)) if axis is None else axis if isinstance(axis, tuple) else (axis,)
    result = _vector_norm_of(x, node.attr("ord", 2), axes, bool(node.attr("keepdims", False)))
    return result.astype(node.type.dtype, copy=False)


def _norm(node: Node, inputs: list[Any]) -> Any:
    """numpy's ``norm``: a vector norm unless two axes (or a 2-d array with an order and
    no axis) ask for a matrix norm."""
    x = as_dask(inputs[0])
    ord, axis = node.attr("ord"), node.attr("axis")  # noqa: A001
    keepdims = bool(node.attr("keepdims", False))
    if axis is None:
        axes = tuple(range(x.ndim)) if ord is None or x.ndim == 1 else (0, 1)
    else:
        axes = axis if isinstance(axis, tuple) else (axis,)
    if len(axes) == 1 or (ord is None and axis is None):
        result = _vector_norm_of(x, ord, axes, keepdims)
    else:
        result = _matrix_norm_of(x, ord, axes[0], axes[1], keepdims)
        if result is None:  # singular values: numpy's norm, on the whole array
            return _whole(node, [x])
    return result.astype(node.type.dtype, copy=False)


def _whole(node: Node, inputs: list[Any]) -> Any:
    """numpy's function on the whole inputs, in one task (rare: norms by singular
    values of a matrix whose axes are not the last two)."""
    from dask.delayed import delayed

    arrays = [as_dask(v) for v in inputs]
    value = delayed(checked(node, implementation(node)))(*arrays)
    shape = result_shape(node, arrays)
    return da.from_delayed(value, shape=shape, dtype=node.type.dtype, meta=meta(node))


# --- products ------------------------------------------------------------------------


def _outer(node: Node, inputs: list[Any]) -> Any:
    a, b = (as_dask(v).reshape((-1,)) for v in inputs)
    return da.blockwise(
        checked(node, implementation(node)),
        "ij",
        a,
        "i",
        b,
        "j",
        dtype=node.type.dtype,
        meta=np.ma.masked_array(meta(node)) if node.type.masked else meta(node),
    )


def _kron(node: Node, inputs: list[Any]) -> Any:
    """numpy's ``kron``: every product of an element of ``a`` and one of ``b``,
    interleaved along each axis; ``b`` whole, so each chunk of ``a`` makes one chunk."""
    a, b = (as_dask(v) for v in inputs)
    ndim = max(a.ndim, b.ndim)
    a = a.reshape((1,) * (ndim - a.ndim) + a.shape)
    b = b.reshape((1,) * (ndim - b.ndim) + b.shape).rechunk(-1)
    a_spread = a[tuple(index for _ in range(ndim) for index in (slice(None), None))]
    b_spread = b[tuple(index for _ in range(ndim) for index in (None, slice(None)))]
    product = da.multiply(a_spread, b_spread)
    shape = tuple(m * n for m, n in zip(a.shape, b.shape, strict=True))
    return product.reshape(shape).astype(node.type.dtype, copy=False)


def _vecdot(node: Node, inputs: list[Any]) -> Any:
    """Each input's vectors moved last (the axis counted in its own dimensions)."""
    axis = node.attr("axis", -1)
    arrays = [da.moveaxis(as_dask(v), axis, -1) for v in inputs]
    return per_stack(node, arrays, [1, 1], 0, np.vecdot)


def _cross(node: Node, inputs: list[Any]) -> Any:
    """Each input's vectors moved last, numpy's cross per chunk, the result's vectors
    (unless they were 2-vectors, whose products are numbers) moved to ``axisc``."""
    given = node.attr("axis")
    names = ("axisa", "axisb", "axisc")
    axisa, axisb, axisc = (node.attr(n, -1) if given is None else given for n in names)
    a, b = (
        da.moveaxis(as_dask(v), axis, -1) for v, axis in zip(inputs, (axisa, axisb), strict=True)
    )
    if node.type.ndim < max(a.ndim, b.ndim):
        return per_stack(node, [a, b], [1, 1], 0, np.cross)
    product = per_stack(node, [a, b], [1, 1], 1, np.cross, output_sizes=(3,))
    return da.moveaxis(product, -1, axisc)


LOWERINGS: dict[str, Lowering] = {
    "cholesky": _matrices,
    "inv": _matrices,
    "matrix_power": _matrices,
    "pinv": _matrices,
    "det": _numbers,
    "eigvalsh": _vectors,
    "eigvals": _vectors,
    "svdvals": _svdvals,
    "matrix_rank": _matrix_rank,
    "solve": _solve,
    "eigh": _vectors,
    "eig": _vectors,
    "slogdet": _vectors,
    "qr": _qr,
    "svd": _svd,
    "unpack": _unpack,
    "matrix_norm": _matrix_norm,
    "vector_norm": _vector_norm,
    "norm": _norm,
    "outer": _outer,
    "kron": _kron,
    "vecdot": _vecdot,
    "cross": _cross,
}
