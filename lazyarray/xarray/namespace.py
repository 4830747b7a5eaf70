"""The array namespace xarray's chunk manager hands out: ``lazyarray`` itself, whose
creation functions also take dask's ``chunks=`` (xarray's ``full_like`` and
``Dataset`` constructors pass it), recorded on the result."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

import lazyarray
from lazyarray.xarray.chunks import normalize_chunks

# creation functions that take dask's ``chunks=``
CHUNKED = frozenset({"arange", "empty", "empty_like", "full", "full_like", "linspace",
                     "ones", "ones_like", "zeros", "zeros_like", "eye"})  # fmt: skip


class ChunkedNamespace:
    """``lazyarray``'s names; the creation functions among them take ``chunks=``."""

    def __getattr__(self, name: str) -> Any:
        value = getattr(lazyarray, name)
        return _taking_chunks(value) if name in CHUNKED else value

    def __dir__(self) -> list[str]:
        return sorted(set(dir(lazyarray)))

    def __repr__(self) -> str:
        return "<lazyarray's namespace, creation taking chunks=>"


def _taking_chunks(function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)
    def create(*args: Any, chunks: Any = None, **kwargs: Any) -> Any:
        array = function(*args, **kwargs)
        if chunks is None or None in array.shape:
            return array
        return array.rechunk(normalize_chunks(chunks, array.shape, dtype=np.dtype(array.dtype)))

    return create


array_api = ChunkedNamespace()
