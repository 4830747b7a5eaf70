"""What ``from_array`` makes of the arrays xarray hands it, reading none of them.

- a numpy array: a literal (wrapped, never copied); a lazyarray: itself; a dask array:
  ``la.from_dask`` (the dask backend keeps its chunks);
- a zarr array behind xarray's lazy indexing (``open_zarr``), stored at a URL:
  ``open_source("zarr", url, path)`` (``lazyarray.datasets``), the reader row whose
  slices the planner pushes into the read, identified by URL, path and change token;
- anything else that slices (xarray's lazily indexed backend arrays of any engine, with
  their CF decoding; zarr in memory; h5py): the ``xarray_read`` source, reading each
  region through the array's own ``__getitem__``, identified by a fresh token, never
  by its data (nothing is cached across two opens).
"""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np

from lazyarray.dask import from_dask
from lazyarray.graph import adopt_literal
from lazyarray.ops import apply
from lazyarray.proxy import Array, BaseArray, MaskedArray, wrap
from lazyarray.xarray.rows import READ, ensure_rows


def supported(dtype: Any) -> bool:
    """Whether lazyarray holds values of ``dtype`` (numbers, booleans, datetimes)."""
    return np.dtype(dtype).kind in "biufcmM"


def source_of(data: Any) -> Any:
    """A lazy array with ``data``'s values; nothing is read."""
    if isinstance(data, BaseArray):
        return data
    if isinstance(data, np.ma.MaskedArray):
        return MaskedArray(data)
    if isinstance(data, np.ndarray):
        return Array(data)
    if hasattr(data, "__dask_graph__"):
        return from_dask(data)
    if not hasattr(data, "shape") or not hasattr(data, "__getitem__"):
        return Array(np.asarray(data))
    found = zarr_source(data)
    return found if found is not None else region_source(data)


def region_source(array: Any) -> Any:
    """The ``xarray_read`` source of ``array`` (anything that slices with a tuple of
    slices and integers), under a token of its own."""
    from xarray.core.indexing import (
        ExplicitlyIndexed,
        ImplicitToExplicitIndexingAdapter,
        OuterIndexer,
    )

    ensure_rows()
    if isinstance(array, ExplicitlyIndexed):  # xarray's own: sliced through an indexer
        array = ImplicitToExplicitIndexingAdapter(array, OuterIndexer)
    literal = adopt_literal(array, uuid.uuid4().hex)
    shape = tuple(int(n) for n in array.shape)
    return wrap(apply(READ, (), array=literal, shape=shape, dtype=np.dtype(array.dtype)))


def zarr_source(data: Any) -> Any | None:
    """``open_source("zarr", url, path)`` sliced as xarray's lazy indexing slices it,
    when ``data`` is a zarr array stored at a URL with nothing (no CF decoding) between
    it and xarray; else None."""
    found = _zarr_array(data)
    if found is None:
        return None
    zarr_array, key = found
    location = zarr_location(zarr_array)
    if location is None:
        return None
    from lazyarray.datasets.sources import open_source

    source = open_source("zarr", *location, identity=None)
    if any(k != slice(None) for k in key):
        source = source[key]
    if tuple(source.shape) != tuple(data.shape) or source.dtype != np.dtype(data.dtype):
        return None
    return source


def _zarr_array(data: Any) -> tuple[Any, tuple[Any, ...]] | None:
    """The zarr array under xarray's wrappers and the basic index they apply, or None
    when some wrapper does more than index (decoding, vectorized indexing)."""
    from xarray.backends.zarr import ZarrArrayWrapper
    from xarray.core.indexing import (
        CopyOnWriteArray,
        ImplicitToExplicitIndexingAdapter,
        LazilyIndexedArray,
        MemoryCachedArray,
    )

    array = data
    key: tuple[Any, ...] | None = None
    while True:
        if isinstance(
            array, ImplicitToExplicitIndexingAdapter | CopyOnWriteArray | MemoryCachedArray
        ):
            array = array.array
        elif isinstance(array, LazilyIndexedArray) and key is None:
            key = tuple(array.key.tuple)
            array = array.array
        else:
            break
    if not isinstance(array, ZarrArrayWrapper):
        return None
    zarr_array = array.get_array()  # type: ignore[no-untyped-call]
    if key is None:
        key = (slice(None),) * zarr_array.ndim
    if not all(isinstance(k, slice | int | np.integer) for k in key):
        return None
    return zarr_array, key


def zarr_location(zarr_array: Any) -> tuple[str, str] | None:
    """(URL of the store's root, path of the array in it), or None for a store that
    has no URL (in memory)."""
    store = getattr(zarr_array, "store", None)
    root = getattr(store, "root", None)  # a LocalStore
    if root is not None:
        return str(root), str(zarr_array.path)
    fs, path = getattr(store, "fs", None), getattr(store, "path", None)
    if fs is not None and path is not None:  # an FsspecStore
        return str(fs.unstrip_protocol(path)), str(zarr_array.path)
    return None
