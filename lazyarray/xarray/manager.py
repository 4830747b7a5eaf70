"""``LazyArrayChunkManager``: lazyarray as one of xarray's chunked array types,
registered in the ``xarray.chunkmanagers`` entry-point group as ``lazyarray``.

Every lazyarray proxy is a chunked array to xarray: operations on lazyarray-backed
variables stay lazy, and ``.compute()``, ``.load()``, ``.values`` run them on the
configured backend (``la.config.set(backend=...)``, or ``ds.compute(backend="dask")``).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from xarray.namedarray.parallelcompat import ChunkManagerEntrypoint

from lazyarray.errors import ComputeArgumentError
from lazyarray.execution import compute as compute_nodes
from lazyarray.execution.compute import COMPUTE_KEYWORDS
from lazyarray.proxy import Array, BaseArray
from lazyarray.xarray import compat, functions
from lazyarray.xarray.chunks import Chunks, auto_chunk_bytes, normalize_chunks
from lazyarray.xarray.namespace import array_api
from lazyarray.xarray.sources import source_of, supported
from lazyarray.xarray.store import store

# compute()'s public keywords, each passed through xarray's ``compute``/``load``/
# ``persist``; those that make compute return something other than the values xarray
# wraps (a byte format, a destination, a file, a job) are refused unless left at their
# defaults
_DEFAULTS = {
    name: inspect.signature(compute_nodes).parameters[name].default for name in COMPUTE_KEYWORDS
}
_NOT_VALUES = ("format", "destination", "file", "block")


compat.install()  # xarray's dask-only scalar check, for lazyarray's 0-d arrays


class LazyArrayChunkManager(ChunkManagerEntrypoint[Any]):
    """xarray's interface to lazyarray: chunks, sources, compute, store, functions."""

    available: bool = True

    def __init__(self) -> None:
        self.array_cls = BaseArray

    def is_chunked_array(self, data: Any) -> bool:
        return isinstance(data, BaseArray)

    def chunks(self, data: Any) -> Any:
        return data.chunks

    def normalize_chunks(
        self,
        chunks: Any,
        shape: tuple[int, ...] | None = None,
        limit: int | None = None,
        dtype: Any = None,
        previous_chunks: Any = None,
    ) -> Chunks:
        if shape is None:
            raise ValueError("lazyarray normalizes chunks for a known shape")
        return normalize_chunks(chunks, shape, limit, dtype, previous_chunks)

    def get_auto_chunk_size(self) -> int:
        return auto_chunk_bytes()

    def from_array(self, data: Any, chunks: Any, **kwargs: Any) -> Any:
        """A lazy source of ``data`` (see ``lazyarray.xarray.sources``) with ``chunks``;
        data lazyarray cannot hold (strings, objects) is handed back unchanged."""
        if not supported(data.dtype):
            from xarray.core.indexing import ImplicitToExplicitIndexingAdapter

            return data.array if isinstance(data, ImplicitToExplicitIndexingAdapter) else data
        array = source_of(data)
        if None in array.shape:
            return array
        return array.rechunk(normalize_chunks(chunks, array.shape, dtype=data.dtype))

    def rechunk(self, data: Any, chunks: Any, **kwargs: Any) -> Any:
        """``data`` recording new chunks; dimensions not named keep theirs."""
        if None in data.shape:
            return data
        if isinstance(chunks, Mapping):
            chunks = tuple(chunks.get(axis) for axis in range(data.ndim))
        blocks = normalize_chunks(
            chunks, data.shape, dtype=np.dtype(data.dtype), previous_chunks=data.chunks
        )
        return data.rechunk(blocks)

    def compute(self, *data: Any, **kwargs: Any) -> tuple[Any, ...]:
        """The values of the lazy arrays among ``data``, computed together (what they
        share runs once); everything else passes through."""
        unknown = sorted(kwargs.keys() - COMPUTE_KEYWORDS)
        if unknown:
            raise TypeError(
                f"compute() got unexpected keyword(s) {', '.join(unknown)}; lazyarray's "
                f"are {', '.join(sorted(COMPUTE_KEYWORDS))}"
            )
        other = [name for name in _NOT_VALUES if name in kwargs and kwargs[name] != _DEFAULTS[name]]
        if other:
            raise ComputeArgumentError(
                f"xarray's compute returns the values, so {', '.join(other)} cannot be passed "
                "through it; compute the variable's .data with lazyarray to use them"
            )
        lazy = [i for i, value in enumerate(data) if isinstance(value, BaseArray)]
        if not lazy:
            return data
        values = compute_nodes([data[i].node for i in lazy], **kwargs)
        results = list(data)
        for i, value in zip(lazy, values, strict=True):
            results[i] = value if isinstance(value, np.ndarray) else np.asarray(value)
        return tuple(results)

    def persist(self, *data: Any, **kwargs: Any) -> tuple[Any, ...]:
        """Computed values held as lazy arrays (literals), with the same chunks."""
        computed = self.compute(*data, **kwargs)
        return tuple(
            Array(value).rechunk(original.chunks) if isinstance(original, BaseArray) else value
            for original, value in zip(data, computed, strict=True)
        )

    @property
    def array_api(self) -> Any:
        return array_api

    def reduction(
        self,
        arr: Any,
        func: Callable[..., Any],
        combine_func: Callable[..., Any] | None = None,
        aggregate_func: Callable[..., Any] | None = None,
        axis: int | Sequence[int] | None = None,
        dtype: Any = None,
        keepdims: bool = False,
    ) -> Any:
        return functions.reduction(arr, func, combine_func, aggregate_func, axis, dtype, keepdims)

    def scan(
        self,
        func: Callable[..., Any],
        binop: Callable[..., Any],
        ident: float,
        arr: Any,
        axis: int | None = None,
        dtype: Any = None,
        **kwargs: Any,
    ) -> Any:
        return functions.scan(func, binop, ident, arr, axis, dtype, **kwargs)

    def apply_gufunc(
        self,
        func: Callable[..., Any],
        signature: str,
        *args: Any,
        axes: Any = None,
        keepdims: bool = False,
        output_dtypes: Any = None,
        vectorize: bool | None = None,
        **kwargs: Any,
    ) -> Any:
        return functions.apply_gufunc(
            func,
            signature,
            *args,
            axes=axes,
            keepdims=keepdims,
            output_dtypes=output_dtypes,
            vectorize=vectorize,
            **kwargs,
        )

    def map_blocks(
        self,
        func: Callable[..., Any],
        *args: Any,
        dtype: Any = None,
        chunks: Any = None,
        drop_axis: Any = None,
        new_axis: Any = None,
        **kwargs: Any,
    ) -> Any:
        return functions.map_blocks(
            func, *args, dtype=dtype, chunks=chunks, drop_axis=drop_axis, new_axis=new_axis,
            **kwargs,
        )  # fmt: skip

    def unify_chunks(self, *args: Any, **kwargs: Any) -> tuple[dict[Any, Any], list[Any]]:
        """Arrays and their dimension names in turn (``x, "ij", y, "jk"``): the first
        array naming a dimension gives its chunks; the others record them."""
        pairs = list(zip(args[::2], args[1::2], strict=True))
        chosen: dict[Any, Any] = {}
        for array, names in pairs:
            if isinstance(array, BaseArray) and names is not None:
                for name, blocks in zip(names, array.chunks, strict=True):
                    chosen.setdefault(name, blocks)
        unified = [
            array.rechunk(tuple(chosen[name] for name in names))
            if isinstance(array, BaseArray) and names is not None
            else array
            for array, names in pairs
        ]
        return chosen, unified

    def store(self, sources: Any, targets: Any, **kwargs: Any) -> Any:
        return store(sources, targets, **kwargs)
