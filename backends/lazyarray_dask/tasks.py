"""dask layers named without hashing what they hold: dask's default names hash every
argument (a literal's bytes, a task's closure), which costs more than building the
graph. A plan's layers are built once per compute, so a fresh unique name is enough."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import dask.array as da
import numpy as np


def _fresh(label: str) -> str:
    return f"lazyarray-{label}-{uuid.uuid4().hex}"


def map_blocks(label: str, function: Callable[..., Any], *arrays: Any, **kwargs: Any) -> Any:
    return da.map_blocks(function, *arrays, name=_fresh(label), **kwargs)


def from_array(value: Any, chunks: Any = "auto") -> Any:
    if value.ndim == 0:
        return da.from_array(value, name=_fresh("array"))
    meta = np.empty((0,) * value.ndim, value.dtype)
    return da.from_array(
        _Unshared(value), chunks=chunks, name=_fresh("array"), asarray=False, meta=meta
    )


class _Unshared:
    """A numpy array that dask's ``from_array`` slices in each chunk's task instead of
    copying it whole first (as it does numpy arrays): a literal is read in place, as on
    the numpy backend."""

    __slots__ = ("array", "dtype", "ndim", "shape")

    def __init__(self, array: Any) -> None:
        self.array, self.shape, self.dtype, self.ndim = array, array.shape, array.dtype, array.ndim

    def __getitem__(self, index: Any) -> Any:
        return self.array[index]
