"""A split's fields as given (numpy arrays, Arrow columns, zarr arrays, an xarray
Dataset's data variables, an Arrow table's columns) read by blocks of rows, and written
as zarr arrays of a version's store, each chunk once and whole, hashed as it is written.
zarr, pyarrow and xarray are never imported here: values are recognized by their type's
module, and used through their own methods."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from lazyarray.datasets.catalog_manifest import FieldInfo
from lazyarray.errors import ShapeError, UnsupportedOperation
from lazyarray.stores.names import check_dataset_part

CHUNK_BYTES = 4 * 2**20  # a chunk of a field written from memory holds about this much
BLOCK_BYTES = 64 * 2**20  # rows are copied into a store this many bytes at a time
_KINDS = "biufc"  # bool, integers, floats, complex: what a zarr v3 store holds portably


@dataclass(frozen=True)
class FieldSource:
    """A field's data before it is stored: its shape and dtype, the chunks to keep (a
    zarr array's own) or None, and ``read(start, stop)``: rows as a numpy array."""

    shape: tuple[int, ...]
    dtype: np.dtype[Any]
    chunks: tuple[int, ...] | None
    read: Callable[[int, int], np.ndarray]


def _module(value: Any) -> str:
    return type(value).__module__.split(".", 1)[0]


def split_sources(split: str, data: Any) -> dict[str, FieldSource]:
    """The fields of one split: a mapping of field name to data, an xarray Dataset (its
    data variables) or an Arrow table (its columns); every field has the same rows."""
    if _module(data) == "xarray" and hasattr(data, "data_vars"):
        fields = {str(name): data[name] for name in data.data_vars}
    elif _module(data) == "pyarrow" and hasattr(data, "column_names"):
        fields = {str(name): data.column(name) for name in data.column_names}
    elif isinstance(data, Mapping):
        fields = dict(data)
    else:
        raise UnsupportedOperation(
            f"split {split!r}: give a dict of field -> array, an xarray Dataset or an "
            f"Arrow table, not {type(data).__name__}"
        )
    if not fields:
        raise ShapeError(f"split {split!r} has no fields")
    sources = {
        check_dataset_part(name, "field"): field_source(f"{split}/{name}", value)
        for name, value in fields.items()
    }
    rows = {name: source.shape[0] for name, source in sources.items()}
    if len(set(rows.values())) > 1:
        raise ShapeError(
            f"the fields of split {split!r} have different numbers of rows (first axis): "
            + ", ".join(f"{name} {count}" for name, count in rows.items())
        )
    return sources


def field_source(where: str, value: Any) -> FieldSource:
    """``value`` as a ``FieldSource`` (``where``: split/field, for errors)."""
    module = _module(value)
    if module == "pyarrow":
        source = _arrow(where, value)
    elif module == "zarr" and hasattr(value, "chunks"):
        chunks = tuple(int(n) for n in value.chunks)
        source = FieldSource(
            tuple(value.shape),
            np.dtype(value.dtype),
            chunks,
            lambda start, stop: np.asarray(value[start:stop]),
        )
    elif module == "xarray" and hasattr(value, "variable"):
        variable = value.variable
        first = variable.dims[0] if variable.dims else None
        source = FieldSource(
            tuple(variable.shape),
            np.dtype(variable.dtype),
            None,
            lambda start, stop: np.asarray(variable.isel({first: slice(start, stop)}).values),
        )
    elif isinstance(value, np.ma.MaskedArray):
        raise UnsupportedOperation(
            f"field {where}: a masked array is not stored (a dataset field has no mask); "
            "give its data and its mask as two fields"
        )
    elif isinstance(value, np.ndarray | list | tuple) or hasattr(value, "__array__"):
        array = np.asarray(value)
        source = FieldSource(array.shape, array.dtype, None, lambda start, stop: array[start:stop])
    else:
        raise UnsupportedOperation(
            f"field {where}: give a numpy array, an Arrow column or a zarr array, not "
            f"{type(value).__name__}"
        )
    if source.dtype.kind not in _KINDS:
        raise UnsupportedOperation(
            f"field {where} has dtype {source.dtype}; a dataset field holds booleans, "
            "integers, floats or complex numbers"
        )
    if len(source.shape) == 0:
        raise ShapeError(f"field {where} is 0-dimensional; a field has one row per record")
    return source


def _arrow(where: str, column: Any) -> FieldSource:
    """An Arrow Array or ChunkedArray of numbers (fixed-size lists: more axes), no nulls."""
    if column.null_count:
        raise UnsupportedOperation(
            f"field {where}: the Arrow column holds {column.null_count} nulls; fill them "
            "(pyarrow.compute.fill_null) or store a mask field beside it"
        )
    empty = _arrow_rows(column.slice(0, 0))
    shape = (len(column), *empty.shape[1:])
    return FieldSource(
        shape, empty.dtype, None, lambda start, stop: _arrow_rows(column.slice(start, stop - start))
    )


def _arrow_rows(column: Any) -> np.ndarray:
    if hasattr(column, "combine_chunks"):
        column = column.combine_chunks()
    size = getattr(column.type, "list_size", None)
    if size is None:
        try:
            return np.asarray(column.to_numpy(zero_copy_only=False))
        except NotImplementedError as error:  # a type numpy cannot hold
            raise UnsupportedOperation(f"an Arrow column of {column.type}: {error}") from None
    values = _arrow_rows(column.flatten())
    return values.reshape(len(column), int(size), *values.shape[1:])


def default_chunks(shape: tuple[int, ...], dtype: np.dtype[Any]) -> tuple[int, ...]:
    """Chunks along the first axis of about ``CHUNK_BYTES``, whole along the others."""
    row = max(1, int(np.prod(shape[1:], dtype=np.int64)) * dtype.itemsize)
    rows = min(max(shape[0], 1), max(1, CHUNK_BYTES // row))
    return (rows, *(max(n, 1) for n in shape[1:]))


def write_field(group: Any, name: str, source: FieldSource) -> FieldInfo:
    """``source`` as the zarr array ``name`` of ``group``: blocks of whole chunks along
    the first axis, so each chunk is written once; returns what the manifest records."""
    dtype = source.dtype.newbyteorder("=")
    chunks = source.chunks or default_chunks(source.shape, dtype)
    array = group.create_array(name, shape=source.shape, dtype=dtype, chunks=chunks)
    row = max(1, int(np.prod(source.shape[1:], dtype=np.int64)) * dtype.itemsize)
    step = chunks[0] * max(1, BLOCK_BYTES // (row * chunks[0]))
    hasher = hashlib.sha256()
    rows = source.shape[0]
    for start in range(0, rows, step):
        stop = min(rows, start + step)
        block = np.ascontiguousarray(source.read(start, stop), dtype=dtype)
        if block.shape != (stop - start, *source.shape[1:]):
            raise ShapeError(
                f"field {name}: rows {start}:{stop} read with shape {block.shape}, not "
                f"{(stop - start, *source.shape[1:])}"
            )
        hasher.update(block.reshape(-1).view(np.uint8).data)
        array[start:stop] = block
    return FieldInfo(tuple(source.shape), dtype, tuple(chunks), hasher.hexdigest())
