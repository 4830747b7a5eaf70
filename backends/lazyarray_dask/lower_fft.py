"""Lowering the FFT rows (``ops/fourier.py``) to dask.array.

A transform needs each of its axes whole: those axes are rechunked into one chunk and
numpy's transform runs on each chunk, as ``dask.array.fft`` does (which refuses repeated
axes, that numpy takes): the numpy backend's values, bit for bit, the other axes' chunks
in parallel. ``fftshift`` is dask's (slices and concatenation); the frequencies are
numpy's, made where the graph is built (``n`` numbers).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dask.array as da

from lazyarray.graph import Node
from lazyarray.ops.fourier import cook
from lazyarray_dask import tasks
from lazyarray_dask.lower_linalg import (
    Lowering,
    as_dask,
    checked,
    implementation,
    meta,
    result_shape,
)

AxesOf = Callable[[Node, int], list[int]]


def _transform(axes_of: AxesOf) -> Lowering:
    """A transform reading the axes ``axes_of(node, ndim)`` says, each whole."""

    def lower(node: Node, inputs: list[Any]) -> Any:
        x = as_dask(inputs[0])
        axes = axes_of(node, x.ndim)
        x = x.rechunk({axis: -1 for axis in axes})
        shape = result_shape(node, [x])
        chunks = tuple((size,) if d in axes else x.chunks[d] for d, size in enumerate(shape))
        return x.map_blocks(
            checked(node, implementation(node)),
            chunks=chunks,
            dtype=node.type.dtype,
            meta=meta(node),
        )

    return lower


def _one_axis(node: Node, ndim: int) -> list[int]:
    return [node.attr("axis", ndim - 1)]


def _axes(default: tuple[int, ...] | None) -> AxesOf:
    """``axes`` as numpy resolves them with ``s`` (``None``: every axis, or ``s``'s)."""

    def axes_of(node: Node, ndim: int) -> list[int]:
        shape = (1,) * ndim  # the sizes do not matter here, only which axes
        return list(cook(shape, node.attr("s"), node.attr("axes", default), False)[1])

    return axes_of


def _shift(shift: Any) -> Lowering:
    return lambda node, inputs: shift(as_dask(inputs[0]), axes=node.attr("axes"))


def _frequencies(node: Node, inputs: list[Any]) -> Any:
    return tasks.from_array(implementation(node)())


LOWERINGS: dict[str, Lowering] = {
    **dict.fromkeys(("fft", "ifft", "rfft", "irfft", "hfft", "ihfft"), _transform(_one_axis)),
    **dict.fromkeys(("fftn", "ifftn", "rfftn", "irfftn"), _transform(_axes(None))),
    **dict.fromkeys(("fft2", "ifft2", "rfft2", "irfft2"), _transform(_axes((-2, -1)))),
    "fftshift": _shift(da.fft.fftshift),
    "ifftshift": _shift(da.fft.ifftshift),
    "fftfreq": _frequencies,
    "rfftfreq": _frequencies,
}
