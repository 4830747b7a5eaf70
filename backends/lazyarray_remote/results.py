"""A job's result bytes read back to the values a backend returns: arrays (masked where
the result is), read straight from the stream into their final memory."""

from __future__ import annotations

import ast
import io
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from lazyarray.errors import ServerError

_MAGIC = b"\x93NUMPY"


def read_npy(chunks: Iterable[bytes]) -> np.ndarray[Any, Any]:
    """The array of an ``.npy`` stream, written into one writeable array as it arrives
    (the caller owns it, as a local result)."""
    stream = _Chunks(iter(chunks))
    head = stream.take(8)
    if head[:6] != _MAGIC:
        raise ServerError("the server's result is not an .npy file")
    length = int.from_bytes(stream.take(2 if head[6] == 1 else 4), "little")
    header = ast.literal_eval(stream.take(length).decode("latin1" if head[6] < 3 else "utf8"))
    dtype = np.dtype(header["descr"])
    if dtype.hasobject:
        raise ServerError("the server's result holds Python objects; refused")
    shape = tuple(header["shape"])
    array = np.empty(shape, dtype, order="F" if header["fortran_order"] else "C")
    target = memoryview(array.reshape(-1, order="A").view(np.uint8))  # type: ignore[arg-type]
    filled = stream.fill(target)
    if filled != array.nbytes:
        raise ServerError(f"the server's result ended after {filled} of {array.nbytes} bytes")
    return array


def read_npz(data: bytes) -> dict[str, np.ndarray[Any, Any]]:
    with np.load(io.BytesIO(data), allow_pickle=False) as members:
        return {name: members[name] for name in members.files}


def values_of_npz(members: dict[str, np.ndarray[Any, Any]]) -> list[Any]:
    """The values an npz result holds: ``data`` (+ ``mask``, ``fill_value``) for one,
    ``arr_<i>`` (+ ``arr_<i>_mask``, ``arr_<i>_fill_value``) for a tuple."""
    if "data" in members:
        return [_masked(members["data"], members.get("mask"), members.get("fill_value"))]
    count = sum(1 for name in members if not name.endswith(("_mask", "_fill_value")))
    get = members.get
    return [
        _masked(members[f"arr_{i}"], get(f"arr_{i}_mask"), get(f"arr_{i}_fill_value"))
        for i in range(count)
    ]


def _masked(data: np.ndarray[Any, Any], mask: Any, fill: Any) -> Any:
    if mask is None:
        return data
    value = np.ma.MaskedArray(data, mask=mask)
    if fill is not None:
        value.fill_value = fill
    return value


def scalar(value: Any) -> Any:
    """A 0-d result as compute's "pyarrow" format gives it (numpy scalar, or masked)."""
    if isinstance(value, np.ma.MaskedArray) and value.ndim == 0:
        return np.ma.masked if value.mask.any() else value.data[()]
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return value[()]
    return value


class _Chunks:
    """Bytes from an iterator of chunks: a few header bytes taken, the rest poured."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._pending = b""

    def take(self, count: int) -> bytes:
        while len(self._pending) < count:
            chunk = next(self._chunks, None)
            if chunk is None:
                raise ServerError("the server's result ended inside its header")
            self._pending += chunk
        taken, self._pending = self._pending[:count], self._pending[count:]
        return taken

    def fill(self, target: memoryview) -> int:
        """Pours the rest into ``target``; the count of bytes written (more than fit is
        an error)."""
        filled = 0
        for chunk in _prepend(self._pending, self._chunks):
            end = filled + len(chunk)
            if end > len(target):
                raise ServerError("the server's result is longer than its header says")
            target[filled:end] = chunk
            filled = end
        return filled


def _prepend(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    if first:
        yield first
    yield from rest
