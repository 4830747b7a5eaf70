"""Lowering the FFT rows (``ops/fourier.py``) to dask.array.

A transform needs each of its axes whole: those axes are rechunked into one chunk and
numpy's transform runs on each chunk, as ``dask.array.fft`` does (which refuses repeated
axes, that numpy takes): the numpy backend's values, bit for bit, the other axes' chunks
in parallel. ``fftshift`` is dask's (slices and concatenation); the frequencies are
numpy's, made where the graph is built (``n`` numbers).
"""

from __future__ import annotations

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


def _transform(node: Node, inputs: list[Any]) -> Any:
    x = as_dask(inputs[0])
    axes = transformed_axes(node, x.ndim)
    x = x.rechunk({axis: -1 for axis in axes})
    shape = result_shape(node, [x])
    chunks = tuple((size,) if d in axes else x.chunks[d] for d, size in enumerate(shape))
    return x.map_blocks(
        checked(node, implementation(node)), chunks=chunks, dtype=node.type.dtype, meta=meta(node)
    )


def transformed_axes(node: Node, ndim: int) -> list[int]:
    """The axes a transform reads whole: its ``axis``, or ``axes`` as numpy resolves
    them with ``s``."""
    if node.op in _ONE_D:
        return [node.attr("axis", ndim - 1)]
    default = None if node.op.endswith("n") else (-2, -1)
    shape = (1,) * ndim  # the sizes do not matter here, only which axes
    return cook(shape, node.attr("s"), node.attr("axes", default), False)[1]


def _shift(node: Node, inputs: list[Any]) -> Any:
    shift = da.fft.fftshift if node.op == "fftshift" else da.fft.ifftshift
    return shift(as_dask(inputs[0]), axes=node.attr("axes"))


def _frequencies(node: Node, inputs: list[Any]) -> Any:
    return tasks.from_array(implementation(node)())


_ONE_D = ("fft", "ifft", "rfft", "irfft", "hfft", "ihfft")
_N_D = ("fftn", "ifftn", "rfftn", "irfftn", "fft2", "ifft2", "rfft2", "irfft2")

LOWERINGS: dict[str, Lowering] = {
    **{name: _transform for name in _ONE_D + _N_D},
    "fftshift": _shift,
    "ifftshift": _shift,
    "fftfreq": _frequencies,
    "rfftfreq": _frequencies,
}
