"""A job's result bytes read back to the values a backend returns: arrays (masked where
the result is), read straight from the stream into their final memory."""

from __future__ import annotations

import ast
import functools
import io
import zipfile
from collections.abc import Iterable, Iterator
from typing import Any, Literal

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
    dtype, shape, order = _header(stream.take(length), head[6])
    array: np.ndarray[Any, Any] = np.empty(shape, dtype, order=order)
    target = memoryview(array.reshape(-1, order="A").view(np.uint8))  # type: ignore[arg-type]
    filled = stream.fill(target)
    if filled != array.nbytes:
        raise ServerError(f"the server's result ended after {filled} of {array.nbytes} bytes")
    return array


@functools.lru_cache(maxsize=256)
def _header(text: bytes, version: int) -> tuple[np.dtype[Any], tuple[int, ...], Literal["C", "F"]]:
    """An ``.npy`` header's dtype, shape and order. Parsed once per distinct header: a
    job called again returns the same headers, and the parse (Python's ``ast``) cost
    more than reading a small array."""
    try:
        header = ast.literal_eval(text.decode("latin1" if version < 3 else "utf8"))
        dtype = np.dtype(header["descr"])
        shape = tuple(int(n) for n in header["shape"])
        order: Literal["C", "F"] = "F" if header["fortran_order"] else "C"
    except (ValueError, TypeError, KeyError, SyntaxError) as error:
        raise ServerError(f"the server's result has a malformed .npy header: {error}") from None
    if dtype.hasobject:
        raise ServerError("the server's result holds Python objects; refused")
    return dtype, shape, order


def read_npz(data: bytes) -> dict[str, np.ndarray[Any, Any]]:
    """The members of an ``.npz`` result, each read by ``read_npy`` from the archive's
    bytes (``np.load`` opens a file object and parses the header anew for each member:
    most of the time a small tuple result took to read)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return {
                info.filename.removesuffix(".npy"): read_npy([archive.read(info)])
                for info in archive.infolist()
            }
    except zipfile.BadZipFile as error:
        raise ServerError(f"the server's result is not an .npz file: {error}") from None


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
    if fill is not None and np.ndim(fill) == 0:
        # as written: numpy.ma's fill may be of another dtype than the data (int32 data's
        # default is int64's 999999), which its setter would cast
        value._fill_value = np.array(fill)  # type: ignore[attr-defined]
    return value


def scalar(value: Any) -> Any:
    """A 0-d result as compute's "pyarrow" format gives it (numpy scalar, or masked)."""
    if isinstance(value, np.ma.MaskedArray) and value.ndim == 0:
        return np.ma.masked if value.mask.any() else value.data[()]
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return value[()]
    return value


class _Chunks:
    """Bytes from an iterator of chunks: a few header bytes taken, the rest poured. What
    is taken is sliced off by an offset, so a chunk holding a whole array is never
    copied before it is poured."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._pending = b""
        self._offset = 0

    def take(self, count: int) -> bytes:
        while len(self._pending) - self._offset < count:
            chunk = next(self._chunks, None)
            if chunk is None:
                raise ServerError("the server's result ended inside its header")
            self._pending, self._offset = self._pending[self._offset :] + chunk, 0
        start = self._offset
        self._offset += count
        return self._pending[start : self._offset]

    def fill(self, target: memoryview) -> int:
        """Pours the rest into ``target``; the count of bytes written (more than fit is
        an error)."""
        filled = 0
        rest = memoryview(self._pending)[self._offset :]
        for chunk in _prepend(rest, self._chunks):
            end = filled + len(chunk)
            if end > len(target):
                raise ServerError("the server's result is longer than its header says")
            target[filled:end] = chunk
            filled = end
        return filled


def _prepend(first: memoryview, rest: Iterator[bytes]) -> Iterator[bytes | memoryview]:
    if len(first):
        yield first
    yield from rest
