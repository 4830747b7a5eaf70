"""Opening arrays kept in chunked storage as lazy sources: ``open_source`` reads an
array's metadata (never its data) and returns an ``Array`` whose slices read only the
chunks they touch."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lazyarray.errors import LazyArrayError, SourceError
from lazyarray.ops.registry import apply, at_user_line
from lazyarray.proxy import wrap
from lazyarray.stores import readers
from lazyarray.stores.readers import Location


def open_source(
    reader: str,
    url: str,
    path: str = "",
    *,
    identity: str | None = None,
    storage_options: Mapping[str, Any] | None = None,
) -> Any:
    """The array at ``path`` of the store at ``url``, read lazily by ``reader``:
    ``"zarr"`` (``path``: the array's path in the store), ``"npy"`` (``path``: "") or
    ``"parquet"`` (``path``: the column). ``url`` is anything fsspec opens: a local
    path, ``file://``, ``memory://``, ``s3://`` (with ``storage_options``).

    Its shape and dtype are known at once; its digest is ``identity`` and the selection
    when an identity is given (the same dataset from another place is the same node),
    else the canonical URL, ``path`` and the store's change token (its modification time
    or etag): nothing is read to hash it.

    >>> import numpy as np, zarr
    >>> z = zarr.create_array(
    ...     "memory://doc/a.zarr", shape=(4, 6), chunks=(2, 3), dtype="i8", overwrite=True
    ... )
    >>> z[:] = np.arange(24).reshape(4, 6)
    >>> x = open_source("zarr", "memory://doc/a.zarr")
    >>> x.shape, x[1:3, ::2].compute().tolist()
    ((4, 6), [[6, 8, 10], [12, 14, 16]])
    """
    try:
        return wrap(_open(reader, url, path, identity, storage_options))
    except LazyArrayError as exc:
        raise at_user_line(exc) from exc.__cause__


def open_zarr(
    url: str,
    path: str = "",
    *,
    identity: str | None = None,
    storage_options: Mapping[str, Any] | None = None,
) -> Any:
    """``open_source("zarr", url, path, ...)``: a zarr array as a lazy source."""
    try:
        return wrap(_open("zarr", url, path, identity, storage_options))
    except LazyArrayError as exc:
        raise at_user_line(exc) from exc.__cause__


def _open(
    reader: str,
    url: str,
    path: str,
    identity: str | None,
    storage_options: Mapping[str, Any] | None,
) -> Any:
    adapter = readers.reader(reader)
    if not isinstance(path, str):
        raise SourceError(f"a source's path must be a string, not {path!r}")
    if identity is not None and (not isinstance(identity, str) or not identity):
        raise SourceError(f"a source's identity must be a non-empty string, not {identity!r}")
    options = dict(storage_options or {})
    canonical = readers.canonical_url(url, options)
    location = Location.of(canonical, path.strip("/"), options)
    metadata = adapter.metadata(location)
    attrs: dict[str, Any] = {
        "reader": reader,
        "shape": metadata.shape,
        "dtype": metadata.dtype,
        "chunks": metadata.chunks,
    }
    if identity is not None:
        readers.remember(identity, reader, location, metadata.token)
        attrs["identity"] = identity
    else:
        if options:
            readers.remember_options(canonical, options)
        attrs.update(url=canonical, path=location.path, token=metadata.token)
    return apply("read", (), **attrs)


__all__ = ["open_source", "open_zarr"]
