"""npy files in any fsspec store, read by byte ranges: an npy file has no chunks, so
blocks of whole rows (along its first axis in memory order) of about ``BLOCK_BYTES``
stand for them, and a region is read as the byte ranges of the rows it touches."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from lazyarray.errors import SourceError, SourceNotFound
from lazyarray.stores.readers import Index, Location, Metadata, file_token, filesystem

BLOCK_BYTES = 8 * 2**20
_GAP_BYTES = 2**16  # rows farther apart than this are read as ranges of their own


class NpyReader:
    def metadata(self, location: Location) -> Metadata:
        shape, dtype, fortran, _ = _header(location)
        memory_shape = shape[::-1] if fortran else shape
        row = math.prod(memory_shape[1:]) * dtype.itemsize if memory_shape else dtype.itemsize
        rows = max(1, BLOCK_BYTES // max(row, 1))
        chunks = list(shape)
        if shape:
            first = len(shape) - 1 if fortran else 0
            chunks[first] = max(1, min(rows, shape[first]))
        return Metadata(shape, dtype, tuple(chunks), self.token(location))

    def token(self, location: Location) -> str:
        return file_token(location)

    def read(self, location: Location, index: Index) -> np.ndarray[Any, Any]:
        shape, dtype, fortran, offset = _header(location)
        if fortran:  # the file holds the transpose in C order
            return _read_c(location, shape[::-1], dtype, offset, index[::-1]).T
        return _read_c(location, shape, dtype, offset, index)


def _read_c(
    location: Location,
    shape: tuple[int, ...],
    dtype: np.dtype[Any],
    offset: int,
    index: Index,
) -> np.ndarray[Any, Any]:
    if not shape:
        rows: list[int] = [0]
        rest: Index = ()
        row_shape: tuple[int, ...] = ()
    else:
        first, rest = index[0], index[1:]
        rows = [first] if isinstance(first, int) else list(range(*first.indices(shape[0])))
        row_shape = shape[1:]
    row_bytes = math.prod(row_shape) * dtype.itemsize
    fs, path = filesystem(location)
    spans: list[list[int]] = []  # [first row, last row] of each range read
    step_bytes = row_bytes * (rows[1] - rows[0]) if len(rows) > 1 else 0
    for row in rows:
        if spans and (step_bytes - row_bytes <= _GAP_BYTES):
            spans[-1][1] = row
        else:
            spans.append([row, row])
    starts = [offset + a * row_bytes for a, _ in spans]
    ends = [offset + (b + 1) * row_bytes for _, b in spans]
    chunks = fs.cat_ranges([path] * len(spans), starts, ends) if spans and row_bytes else []
    parts = []
    for (a, b), data in zip(spans, chunks, strict=True):
        if isinstance(data, Exception):
            raise data
        block = np.frombuffer(data, dtype=dtype).reshape((b - a + 1, *row_shape))
        parts.append(block[[r - a for r in rows if a <= r <= b]])
    if not shape:
        return parts[0].reshape(()).copy()
    whole = np.concatenate(parts) if parts else np.empty((len(rows), *row_shape), dtype)
    if isinstance(index[0], int):
        whole = whole[0]
    # a copy in C order (``ascontiguousarray`` would make a 0-d result 1-d)
    return np.array(whole[(slice(None),) * (not isinstance(index[0], int)) + rest], order="C")


def _header(location: Location) -> tuple[tuple[int, ...], np.dtype[Any], bool, int]:
    """Shape, dtype, whether in Fortran order, and where the data starts."""
    fs, path = filesystem(location)
    try:
        with fs.open(path, "rb") as file:
            try:
                version = np.lib.format.read_magic(file)
                if version == (1, 0):
                    shape, fortran, dtype = np.lib.format.read_array_header_1_0(file)
                else:
                    shape, fortran, dtype = np.lib.format.read_array_header_2_0(file)
            except ValueError as exc:
                raise SourceError(f"{location.url} is not an npy file: {exc}") from exc
            offset = file.tell()
    except (FileNotFoundError, IsADirectoryError) as exc:
        raise SourceNotFound(f"no npy file at {location.url}") from exc
    if dtype.hasobject:
        raise SourceError(f"{location.url} holds Python objects (dtype {dtype}), not numbers")
    return tuple(int(n) for n in shape), dtype, bool(fortran), offset


READER = NpyReader()
