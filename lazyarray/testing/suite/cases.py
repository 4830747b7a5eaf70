"""The suite's cases for the ops whose arguments cannot be drawn from their row: each is
one function written for both modules, ``case(np, x)`` the reference and
``case(la, la.Array(x))`` the lazy version. Elementwise ufuncs, reductions and scans
need no case: their tests are generated from the rows."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from lazyarray.testing.samples import masked_sample, sample

Case = Callable[[Any, Any], Any]

# 240 elements: two blocks or chunks of 1 KiB in the planned mode
X = sample("float64", (4, 6, 10))
MASKED_X = masked_sample("float64", (4, 6, 10))

# elementwise rows that are not ufuncs, on two arrays ``a`` and ``b`` of one dtype
ELEMENTWISE: dict[str, Callable[[Any, Any, Any], Any]] = {
    "where": lambda m, a, b: m.where(a > 0, a, b),
    "where scalar": lambda m, a, b: m.where(a > 0, a, 1.5),
    "clip": lambda m, a, b: m.clip(a, -1, 1),
    "clip one side": lambda m, a, b: m.clip(a, None, 0.5),
    "round": lambda m, a, b: m.round(a, 2),
    "real": lambda m, a, b: m.real(a + 1j * b),
    "imag": lambda m, a, b: m.imag(a + 1j * b),
    "astype": lambda m, a, b: a.astype("float32"),
    "astype int": lambda m, a, b: a.astype(np.int16),
}


def _assigned(x: Any, key: Any, value: Any) -> Any:
    """``x`` with ``x[key] = value``, on a copy for numpy (the lazy handle rebinds)."""
    target = x.copy() if isinstance(x, np.ndarray) else x[...]
    target[key] = value
    return target


def _finite(m: Any, x: Any) -> Any:
    """``x`` with its NaNs and infinities replaced: LAPACK's answers to them differ."""
    return m.where(m.isfinite(x), x, 1.5)


def _spd_stack() -> Any:
    a = np.where(np.isfinite(X), X, 1.5)[..., :6]
    return a @ np.swapaxes(a, -1, -2) + 6 * np.eye(6)


# symmetric positive definite matrices, made by numpy: a product computed in chunks would
# differ in its last bits, and so would everything computed from it
SPD = _spd_stack()


def _spd(m: Any, x: Any) -> Any:
    return SPD if m is np else m.asarray(SPD)


STRUCTURAL: dict[str, Case] = {
    # shape
    "reshape": lambda m, x: x.reshape(24, 10),
    "reshape -1": lambda m, x: m.reshape(x, (-1, 20)),
    "ravel": lambda m, x: m.ravel(x),
    "flatten": lambda m, x: x.flatten(),
    "transpose": lambda m, x: x.T,
    "transpose axes": lambda m, x: m.transpose(x, (1, 0, 2)),
    "squeeze": lambda m, x: m.squeeze(x[:, :1], axis=1),
    "expand_dims": lambda m, x: m.expand_dims(x, (0, 2)),
    "broadcast_to": lambda m, x: m.broadcast_to(x[0, 0], (5, 10)),
    "moveaxis": lambda m, x: m.moveaxis(x, 0, -1),
    "swapaxes": lambda m, x: m.swapaxes(x, 0, 2),
    "flip": lambda m, x: m.flip(x, axis=1),
    "flip all": lambda m, x: m.flip(x),
    "concatenate": lambda m, x: m.concatenate([x, x * 2], axis=1),
    "concatenate none": lambda m, x: m.concatenate([x, x[0]], axis=None),
    "stack": lambda m, x: m.stack([x, x + 1], axis=-1),
    # indexing
    "slice": lambda m, x: x[1:, ::-2, 1:8:3],
    "int": lambda m, x: x[1],
    "negative int": lambda m, x: x[-1, -2],
    "ellipsis": lambda m, x: x[..., 0],
    "newaxis": lambda m, x: x[:, None, 1],
    "slice of an expression": lambda m, x: (m.sin(x) * 2)[1:3, ::2],
    "int array": lambda m, x: x[:, [2, 0, 2]],
    "int array first": lambda m, x: x[[3, 0, 1]],
    "int array 2d": lambda m, x: x[:, :, np.array([[0, 1], [9, 2]])],
    "int and array apart": lambda m, x: x[0, :, [1, 3]],
    "int and array adjacent": lambda m, x: x[:, 0, [1, 3]],
    "int arrays apart": lambda m, x: x[[3, 0, -1], :, [2, 9, 0]],
    "int arrays broadcast": lambda m, x: x[:, [1, 5], np.array([[0], [9], [-2]])],
    "int arrays and int apart": lambda m, x: x[[1, 2], 0, ..., [3, 4]],
    "bool and int arrays": lambda m, x: x[np.array([True, False, True, False]), 1:, [1, 5]],
    "ix_": lambda m, x: x[m.ix_([0, 3], [1, 2, 5], [True] * 5 + [False] * 5)],
    "take": lambda m, x: m.take(x, [3, 0], axis=2),
    "take flat": lambda m, x: m.take(x, [5, 1, 200]),
    "take wrap": lambda m, x: m.take(x, [5, -13], axis=1, mode="wrap"),
    "reshape F": lambda m, x: m.reshape(x, (-1, 20), order="F"),
    "view": lambda m, x: x.view(np.int32),
    # manipulation
    "rot90": lambda m, x: m.rot90(x, 1, axes=(1, 2)),
    "sliding_window_view": lambda m, x: m.lib.stride_tricks.sliding_window_view(x, (2, 3), (2, -1)),
    "roll": lambda m, x: m.roll(x, 3, axis=2),
    "roll flat": lambda m, x: m.roll(x, -7),
    "tile": lambda m, x: m.tile(x[0], (2, 1)),
    "repeat": lambda m, x: m.repeat(x, 2, axis=1),
    "repeat counts": lambda m, x: m.repeat(x[0, 0], np.arange(10)),
    "tril": lambda m, x: m.tril(x, k=1),
    "triu": lambda m, x: m.triu(x[0], -1),
    "diff": lambda m, x: m.diff(x, axis=2),
    "diff twice": lambda m, x: m.diff(x, n=2, axis=0),
    "take_along_axis": lambda m, x: m.take_along_axis(
        x, np.argsort(np.asarray(X), axis=2)[..., :4], axis=2
    ),
    "matrix_transpose": lambda m, x: m.matrix_transpose(x),
    "diagonal": lambda m, x: m.diagonal(x, 1, 1, 2),
    "trace": lambda m, x: m.trace(x[0]),
    "pad constant": lambda m, x: m.pad(x, ((0, 1), (2, 0), (1, 1)), constant_values=1.5),
    "pad reflect": lambda m, x: m.pad(x, 2, mode="reflect"),
    "pad edge": lambda m, x: m.pad(x[0], ((1, 2), (0, 3)), mode="edge"),
    # sorting, sets and searching
    "sort": lambda m, x: m.sort(x, axis=1),
    "argsort": lambda m, x: m.argsort(x, axis=2, stable=True),
    "unique": lambda m, x: m.unique(x[0]),
    "unique counts": lambda m, x: m.unique(x[0] > 0, return_counts=True)[1],
    "isin": lambda m, x: m.isin(x, x[0, 0]),
    "searchsorted": lambda m, x: m.searchsorted(m.sort(x[0, 0]), x[1, 1]),
    "count_nonzero": lambda m, x: m.count_nonzero(x > 0, axis=1),
    "argwhere": lambda m, x: m.argwhere(x > 0),
    "flatnonzero": lambda m, x: m.flatnonzero(x > 0),
    # assignment: a new node for the proxy, the old one unchanged
    "setitem": lambda m, x: _assigned(x, (0, slice(1, None)), -1.5),
    "setitem array": lambda m, x: _assigned(x, (Ellipsis, 1), x[..., 2] * 2),
    "boolean setitem": lambda m, x: _assigned(x, x > 0, 0.0),
    "boolean setitem values": lambda m, x: _assigned(x, x > 1, x[x > 1] * 10),
    # numpy's statistics: sums of integers (exact in any order), order statistics
    "nansum": lambda m, x: m.nansum(m.floor(x), axis=2),
    "nanprod": lambda m, x: m.nanprod(m.sign(x), axis=(0, 1)),
    "nanmean": lambda m, x: m.nanmean(m.floor(x), axis=1),
    "nanvar": lambda m, x: m.nanvar(x * 0 + 2, axis=2),
    "nanstd": lambda m, x: m.nanstd(x * 0 - 1, axis=0, ddof=1),
    "nanmin": lambda m, x: m.nanmin(x, axis=1),
    "nanmax": lambda m, x: m.nanmax(x, axis=(0, 2), keepdims=True),
    "nanargmin": lambda m, x: m.nanargmin(x, axis=2),
    "nanargmax": lambda m, x: m.nanargmax(x),
    "nanmedian": lambda m, x: m.nanmedian(x, axis=0),
    "nancumsum": lambda m, x: m.nancumsum(m.floor(x), axis=2),
    "nancumprod": lambda m, x: m.nancumprod(m.sign(x), axis=1),
    "ptp": lambda m, x: m.ptp(x, axis=1),
    "quantile": lambda m, x: m.quantile(x, [0.2, 0.9], axis=2),
    "percentile": lambda m, x: m.percentile(x, 30, axis=(0, 1), method="hazen"),
    "nanquantile": lambda m, x: m.nanquantile(x, 0.5, axis=1, method="lower"),
    "nanpercentile": lambda m, x: m.nanpercentile(x, [5, 95]),
    "histogram": lambda m, x: m.histogram(x, 7, (-3, 3))[0],
    "histogram edges": lambda m, x: m.histogram(x, [-2, 0, 0.5, 4])[0],
    "histogram_bin_edges": lambda m, x: m.histogram_bin_edges(m.where(m.isfinite(x), x, 0), 6),
    "average": lambda m, x: m.average(m.floor(x), axis=2, weights=m.abs(m.floor(x)) + 1),
    "sum_of_weights": lambda m, x: m.average(m.floor(x), axis=1, returned=True)[1],
    # unknown sizes
    "bool mask": lambda m, x: x[x > 0],
    "bool mask then ops": lambda m, x: (x[x > 0] * 2)[1:],
    "bool mask rows": lambda m, x: x[np.array([True, False, True, True])],
    "bool mask inner": lambda m, x: x[:, np.array([True, False, True, False, False, True])],
    "full_like unknown size": lambda m, x: m.full_like(x[x > 0], 3),
    # linear algebra
    "matmul": lambda m, x: x @ m.swapaxes(x, 1, 2),
    "matmul 1d": lambda m, x: x[0] @ x[0, 0],
    "matmul vector first": lambda m, x: x[0, 0, :6] @ x[0],
    "dot": lambda m, x: m.dot(x[0], x[1].T),
    "dot nd": lambda m, x: m.dot(x, x[0].T),
    "dot scalar": lambda m, x: m.dot(x[0], 2.0),
    "tensordot": lambda m, x: m.tensordot(x, x, axes=([0, 1], [0, 1])),
    "tensordot int": lambda m, x: m.tensordot(x[0], x[1].T, axes=1),
    "einsum": lambda m, x: m.einsum("ijk,ijl->kl", x, x),
    "einsum implicit": lambda m, x: m.einsum("ij,jk", x[0], x[1].T),
    "einsum ellipsis": lambda m, x: m.einsum("...j,...j->...", x, x),
    # the linalg extension: stacks of matrices, one LAPACK call each
    "cholesky": lambda m, x: m.linalg.cholesky(_spd(m, x)),
    "det": lambda m, x: m.linalg.det(_finite(m, x)[..., :6]),
    "inv": lambda m, x: m.linalg.inv(_finite(m, x)[..., :6]),
    "solve": lambda m, x: m.linalg.solve(_finite(m, x)[..., :6], x[..., 6:8]),
    "eigh": lambda m, x: m.linalg.eigh(_spd(m, x)).eigenvalues,
    "eigvalsh": lambda m, x: m.linalg.eigvalsh(_spd(m, x)),
    "eigvals": lambda m, x: m.linalg.eigvals(_finite(m, x)[..., :6]),  # complex ones
    "eig": lambda m, x: m.linalg.eig(_finite(m, x)[..., :6]).eigenvalues,
    "qr": lambda m, x: m.linalg.qr(_finite(m, x)[..., :4]).R,
    "slogdet": lambda m, x: m.linalg.slogdet(_finite(m, x)[..., :6]).logabsdet,
    "svd": lambda m, x: m.linalg.svd(_finite(m, x), full_matrices=False).S,
    "svdvals": lambda m, x: m.linalg.svdvals(_finite(m, x)[..., :6]),
    "matrix_power": lambda m, x: m.linalg.matrix_power(_finite(m, x)[..., :6], 3),
    "matrix_rank": lambda m, x: m.linalg.matrix_rank(_finite(m, x)),
    "pinv": lambda m, x: m.linalg.pinv(_finite(m, x)),
    "norm": lambda m, x: m.linalg.norm(_finite(m, x), axis=(1, 2)),
    "matrix_norm": lambda m, x: m.linalg.matrix_norm(_finite(m, x)),
    "vector_norm": lambda m, x: m.linalg.vector_norm(_finite(m, x), axis=2),
    "outer": lambda m, x: m.outer(_finite(m, x)[0, 0], x[1, 1]),
    "kron": lambda m, x: m.kron(_finite(m, x)[0, :2, :3], x[1, :3, :2]),
    "vecdot": lambda m, x: m.vecdot(_finite(m, x), x[0]),
    "cross": lambda m, x: m.cross(_finite(m, x)[..., :3], x[..., 3:6]),
    # the fft extension: the transformed axes whole
    "fft": lambda m, x: m.fft.fft(x, axis=1),
    "ifft": lambda m, x: m.fft.ifft(x, n=12),
    "rfft": lambda m, x: m.fft.rfft(x),
    "irfft": lambda m, x: m.fft.irfft(m.fft.rfft(x)),
    "hfft": lambda m, x: m.fft.hfft(x[..., :6]),
    "ihfft": lambda m, x: m.fft.ihfft(x),
    "fftn": lambda m, x: m.fft.fftn(x, axes=(0, 2)),
    "ifftn": lambda m, x: m.fft.ifftn(x),
    "rfftn": lambda m, x: m.fft.rfftn(x, axes=(1, 2)),
    "irfftn": lambda m, x: m.fft.irfftn(m.fft.rfftn(x)),
    "fft2": lambda m, x: m.fft.fft2(x),
    "ifft2": lambda m, x: m.fft.ifft2(x, norm="ortho"),
    "rfft2": lambda m, x: m.fft.rfft2(x),
    "irfft2": lambda m, x: m.fft.irfft2(x),
    "fftfreq": lambda m, x: m.fft.fftfreq(10, 0.5),
    "rfftfreq": lambda m, x: m.fft.rfftfreq(9),
    "fftshift": lambda m, x: m.fft.fftshift(x, axes=2),
    "ifftshift": lambda m, x: m.fft.ifftshift(x),
    # creation and generated sources
    "zeros": lambda m, x: m.zeros((2, 3)) + x[0, :2, :3],
    "ones int": lambda m, x: m.ones(4, dtype=int),
    "full": lambda m, x: m.full((2, 2), 7.5),
    "full in an expression": lambda m, x: m.full((4, 6, 10), 0.5) * x,
    "zeros_like": lambda m, x: m.zeros_like(x),
    "ones_like": lambda m, x: m.ones_like(x, dtype="int32"),
    "arange": lambda m, x: m.arange(300),
    "arange floats": lambda m, x: m.arange(0.5, 3, 0.25),
    "arange negative step": lambda m, x: m.arange(10, 2, -3),
    "arange in an expression": lambda m, x: (m.arange(240.0).reshape(4, 6, 10) + x)[:, 1],
    "linspace": lambda m, x: m.linspace(0, 1, 7),
    "linspace no endpoint": lambda m, x: m.linspace(-2, 2, 300, endpoint=False),
    "eye": lambda m, x: m.eye(3, 4, k=1),
    "eye in an expression": lambda m, x: m.eye(10) @ x[0].T,
}

# the number of terms each sum of products adds up: its bound (``products_bound``)
TERMS = {
    "matmul": 10,
    "matmul 1d": 10,
    "matmul vector first": 6,
    "dot": 10,
    "dot nd": 10,
    "tensordot": 24,
    "tensordot int": 10,
    "einsum": 24,
    "einsum implicit": 10,
    "einsum ellipsis": 10,
    "eye in an expression": 10,
    "norm": 60,
    "matrix_norm": 60,
    "vector_norm": 10,
}

# on ``MASKED_X``; the reference is numpy.ma (``NUMPY_MA``)
MASKED: dict[str, Case] = {
    "reshape": lambda m, x: x.reshape(24, 10),
    "transpose": lambda m, x: m.transpose(x),
    "broadcast_to": lambda m, x: m.broadcast_to(x[0, 0], (5, 10)),
    "concatenate": lambda m, x: m.concatenate([x, x], axis=0),
    "stack": lambda m, x: m.stack([x, x]),
    "slice": lambda m, x: x[1:, ::2],
    "take": lambda m, x: m.take(x, [1, 0], axis=1),
    "bool": lambda m, x: x[np.array([False, True, True, False])],
    "int arrays": lambda m, x: x[[1, 0, 3], :, [[2], [9]]],
    "dot": lambda m, x: m.dot(x[0], x[1].T),
    "where": lambda m, x: m.where(x > 0, x, -x),
    "clip": lambda m, x: m.clip(x, -1, 1),
    "squeeze": lambda m, x: m.squeeze(x[:1]),
    "expand_dims": lambda m, x: m.expand_dims(x, 0),
    "moveaxis": lambda m, x: m.moveaxis(x, 0, -1),
    "flip": lambda m, x: m.flip(x, 0),
    "swapaxes": lambda m, x: m.swapaxes(x, 0, 1),
    "ravel": lambda m, x: m.ravel(x),
    "astype": lambda m, x: x.astype("float32"),
    "constructed": lambda m, x: m.MaskedArray(m.getdata(x), mask=m.getdata(x) > 0),
    "filled": lambda m, x: m.filled(x, -5.0),
    "filled default": lambda m, x: x.filled(),
    "compressed": lambda m, x: m.compressed(x),
    "getdata": lambda m, x: m.getdata(x),
    "getmaskarray": lambda m, x: m.getmaskarray(x),
    "count": lambda m, x: x.count(),
    "count axis": lambda m, x: x.count(axis=1),
    "fill_value": lambda m, x: x.fill_value,
    "with plain": lambda m, x: m.getdata(x) + x,
    "ptp": lambda m, x: m.ptp(x, axis=2),
    "average": lambda m, x: m.average(x, axis=1, weights=m.getdata(x) * 0 + 2),
}


class _NumpyMa:
    """numpy.ma, plus the functions it lacks applied to data and mask alike (which is
    what numpy.ma's own views do)."""

    def __getattr__(self, name: str) -> Any:
        if hasattr(np.ma, name):
            return getattr(np.ma, name)
        function = getattr(np, name)

        def apply(x: Any, *args: Any, **kwargs: Any) -> Any:
            data = function(np.ma.getdata(x), *args, **kwargs)
            mask = function(np.ma.getmaskarray(x), *args, **kwargs)
            return np.ma.MaskedArray(data, mask=mask)

        return apply


NUMPY_MA = _NumpyMa()

__all__ = ["ELEMENTWISE", "MASKED", "MASKED_X", "NUMPY_MA", "STRUCTURAL", "TERMS", "X", "Case"]
