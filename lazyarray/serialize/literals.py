"""Literal data in documents: npy bytes (format 1.0, C order, never pickles), inline in
base64 or kept in a blob store by the SHA-256 of those bytes.

A literal entry is ``{"dtype", "shape", "data"}`` plus, for a masked array, ``"mask"``
(a boolean array) and ``"fill_value"``; each array is ``{"npy": base64}`` or
``{"blob": digest}``. A large literal is streamed into the store and read back
memory-mapped, read-only: neither way holds a second copy of it. A literal read back is
checked against the content digest that names it.
"""

from __future__ import annotations

import base64
import binascii
import math
import mmap
import re
from typing import IO, Any

import numpy as np

from lazyarray.errors import BadAttribute, BadLiteral, CorruptBlob, DocumentTooLarge
from lazyarray.graph import (
    content_digest,
    content_hasher,
    encode_value,
    fill_value_of,
    immutable_memory,
)
from lazyarray.serialize.limits import Limits
from lazyarray.serialize.values import Decoder, dtype_of
from lazyarray.stores.blobs import BlobStore, check_digest

_MAGIC = b"\x93NUMPY\x01\x00"
_HEADER = re.compile(
    rb"\{'descr': '([^']{1,32})', 'fortran_order': False, 'shape': \(([0-9, ]{0,1400})\), \} *\n"
)
_CHUNK = 16 << 20  # written a block at a time
_READ_CHUNK = 1 << 20


# --- writing -------------------------------------------------------------------------


def npy_header(dtype: np.dtype[Any], shape: tuple[int, ...]) -> bytes:
    """numpy's format 1.0 header, as numpy writes it, padded to 64 bytes."""
    text = f"{{'descr': '{dtype.str}', 'fortran_order': False, 'shape': {tuple(shape)!r}, }}"
    total = len(_MAGIC) + 2 + len(text) + 1
    text += " " * (-total % 64) + "\n"
    return _MAGIC + len(text).to_bytes(2, "little") + text.encode("latin1")


def write_npy(sink: IO[bytes] | Any, array: np.ndarray[Any, Any]) -> None:
    """Writes ``array`` as npy to ``sink`` in C order, a block at a time (a contiguous
    array is written from its own memory, never copied whole)."""
    sink.write(npy_header(array.dtype, array.shape))
    if array.flags.c_contiguous:
        data = memoryview(array.reshape(-1).view(np.uint8))  # type: ignore[arg-type]
        for start in range(0, len(data), _CHUNK):
            sink.write(data[start : start + _CHUNK])
        return
    rows = max(1, _CHUNK // max(1, array.itemsize))
    flat = np.nditer(
        array, flags=["external_loop", "buffered", "zerosize_ok"], buffersize=rows, order="C"
    )
    for block in flat:
        sink.write(block.tobytes("C"))  # type: ignore[attr-defined]


def encode_literal(value: Any, blobs: BlobStore | None, inline_bytes: int) -> dict[str, Any]:
    """The entry of one literal array (a masked array as its data and mask)."""
    masked = isinstance(value, np.ma.MaskedArray)
    data = np.ma.getdata(value) if masked else value
    if not isinstance(data, np.ndarray):
        raise BadLiteral(f"a literal of type {type(value).__name__} cannot be written", "")
    if data.dtype.kind not in "biufcmM":
        raise BadLiteral(f"a literal of dtype {data.dtype} cannot be written", "")
    entry: dict[str, Any] = {
        "dtype": data.dtype.str,
        "shape": list(data.shape),
        "data": _array(data, blobs, inline_bytes),
    }
    if masked:
        entry["mask"] = _array(np.ma.getmaskarray(value), blobs, inline_bytes)
        entry["fill_value"] = encode_value(fill_value_of(value))
    return entry


def _array(array: np.ndarray[Any, Any], blobs: BlobStore | None, inline_bytes: int) -> Any:
    if blobs is not None and array.nbytes > inline_bytes:
        with blobs.writer() as sink:
            write_npy(sink, array)
        return {"blob": sink.digest}
    parts: list[bytes] = []
    write_npy(_Collect(parts), array)
    return {"npy": base64.b64encode(b"".join(parts)).decode("ascii")}


class _Collect:
    def __init__(self, parts: list[bytes]) -> None:
        self.write = lambda data: parts.append(bytes(data))


# --- reading -------------------------------------------------------------------------


def declared(entry: Any, path: str) -> tuple[np.dtype[Any], tuple[int, ...], int]:
    """An entry's dtype, shape and data bytes, checked before any data is read."""
    if type(entry) is not dict:
        raise BadLiteral("a literal is an object", path)
    masked = "mask" in entry
    expected = {"dtype", "shape", "data"} | ({"mask", "fill_value"} if masked else set())
    if set(entry) != expected:
        raise BadLiteral(f"a literal has the keys {', '.join(sorted(expected))}", path)
    try:
        dtype = dtype_of(entry["dtype"], f"{path}/dtype")
    except BadAttribute as exc:
        raise BadLiteral(exc.message, exc.path) from None
    shape = entry["shape"]
    if (
        type(shape) is not list
        or len(shape) > 64
        or any(type(size) is not int or size < 0 for size in shape)
    ):
        raise BadLiteral("a literal's shape is an array of at most 64 sizes", f"{path}/shape")
    for key in ("data", "mask") if masked else ("data",):
        _where(entry[key], f"{path}/{key}")
    size = math.prod(shape)
    return dtype, tuple(shape), size * dtype.itemsize + (size if masked else 0)


def _where(array: Any, path: str) -> tuple[str, str]:
    if type(array) is dict and len(array) == 1:
        ((kind, payload),) = array.items()
        if kind == "npy" and type(payload) is str:
            return kind, payload
        if kind == "blob":
            try:
                return kind, check_digest(payload)
            except ValueError as exc:
                raise BadLiteral(str(exc), f"{path}/blob") from None
    raise BadLiteral('an array is {"npy": base64} or {"blob": digest}', path)


def decode_literal(
    entry: dict[str, Any],
    digest: str,
    path: str,
    blobs: BlobStore | None,
    limits: Limits,
    decoder: Decoder,
) -> Any:
    """The array of a checked entry (``declared``), whose content digest must be
    ``digest``."""
    dtype, shape, _ = declared(entry, path)
    masked = None
    mask = None
    if "mask" in entry:
        mask = _read(entry["mask"], np.dtype(bool), shape, f"{path}/mask", blobs, limits, None)
        fill_value = decoder.value(entry["fill_value"], f"{path}/fill_value")
        masked = (content_digest(mask), fill_value)
    hasher = content_hasher(dtype, shape, masked)
    data = _read(entry["data"], dtype, shape, f"{path}/data", blobs, limits, hasher)
    if hasher.hexdigest() != digest:
        raise BadLiteral(f"the literal's data does not match its digest {digest}", path)
    if mask is None:
        return data
    fill = masked[1]  # type: ignore[index]
    if not isinstance(fill, np.generic):
        raise BadLiteral("a fill value is a numpy scalar", f"{path}/fill_value")
    return masked_with_fill(data, mask, fill)


def masked_with_fill(data: Any, mask: Any, fill: np.generic) -> np.ma.MaskedArray[Any, Any]:
    """A masked array over ``data`` and ``mask`` (not copied) whose fill value is
    ``fill`` as written, in its dtype (numpy.ma's own field: its setter would cast)."""
    result = np.ma.MaskedArray(data, mask=mask, copy=False)
    result._fill_value = np.asarray(fill)  # type: ignore[attr-defined]
    return result


def _read(
    array: Any,
    dtype: np.dtype[Any],
    shape: tuple[int, ...],
    path: str,
    blobs: BlobStore | None,
    limits: Limits,
    hasher: Any,
) -> np.ndarray[Any, Any]:
    """One npy array, checked against its declared dtype and shape and fed to
    ``hasher`` (a content digest in progress) while read."""
    kind, payload = _where(array, path)
    header = npy_header(dtype, shape)
    nbytes = math.prod(shape) * dtype.itemsize
    if kind == "npy":
        if (len(payload) // 4) * 3 > limits.inline_bytes + len(header) + 3:
            raise DocumentTooLarge(
                f"an inline literal over {limits.inline_bytes} bytes", f"{path}/npy"
            )
        try:
            data = base64.b64decode(payload, validate=True)
        except (binascii.Error, ValueError):
            raise BadLiteral("not base64", f"{path}/npy") from None
        _check(data[: len(header)], header, len(data) - len(header), nbytes, f"{path}/npy")
        result = np.frombuffer(data, dtype, math.prod(shape), len(header)).reshape(shape)
        if hasher is not None:
            hasher.update(memoryview(data)[len(header) :])
        return result
    if blobs is None:
        raise BadLiteral(f"the literal is in blob {payload}, and no blob store was given", path)
    if payload not in blobs:
        raise BadLiteral(f"blob {payload} is not in the blob store", f"{path}/blob")
    return _read_blob(blobs, payload, header, nbytes, dtype, shape, f"{path}/blob", hasher)


def _check(found: bytes, header: bytes, size: int, nbytes: int, path: str) -> None:
    if found != header:
        match = _HEADER.fullmatch(found[10:]) if found.startswith(_MAGIC) else None
        problem = "its header differs from its declaration" if match else "not npy 1.0 data"
        raise BadLiteral(f"{problem} (npy is read with allow_pickle=False)", path)
    if size != nbytes:
        raise BadLiteral(f"{size} bytes of data where the declaration says {nbytes}", path)


def _read_blob(
    blobs: BlobStore,
    digest: str,
    header: bytes,
    nbytes: int,
    dtype: np.dtype[Any],
    shape: tuple[int, ...],
    path: str,
    hasher: Any,
) -> np.ndarray[Any, Any]:
    """A blob's array, never copied whole: a store's file is streamed once (the store
    checks its SHA-256, ``hasher`` takes the content digest), then mapped read-only;
    a store without files hands over its verified bytes, which the array reads."""
    local = blobs.path(digest)
    try:
        if local is None:
            data = blobs.get(digest)
            _check(data[: len(header)], header, len(data) - len(header), nbytes, path)
            if hasher is not None:
                hasher.update(memoryview(data)[len(header) :])
            return np.frombuffer(data, dtype, math.prod(shape), len(header)).reshape(shape)
        size = _stream(blobs, digest, header, nbytes, path, hasher)
    except CorruptBlob as exc:
        raise BadLiteral(str(exc), path) from exc
    _check(header, header, size, nbytes, path)
    return map_blob(local, dtype, shape, len(header))


def map_blob(
    file: Any, dtype: np.dtype[Any], shape: tuple[int, ...], offset: int
) -> np.ndarray[Any, Any]:
    """The array in a blob's file past its ``offset`` header bytes, mapped read-only (a
    file with nothing to map gives an empty read-only array)."""
    if math.prod(shape) == 0:
        empty = np.zeros(shape, dtype)
        empty.flags.writeable = False
        return empty
    with open(file, "rb") as handle:
        mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    array = np.frombuffer(mapped, dtype, math.prod(shape), offset).reshape(shape)
    immutable_memory(array)  # a blob's file is named by its bytes: it never changes
    return array


def _stream(
    blobs: BlobStore, digest: str, header: bytes, nbytes: int, path: str, hasher: Any
) -> int:
    """Reads the blob through once, a block at a time into one buffer; the size of its
    data (reading stops past ``nbytes``)."""
    size = 0
    buffer = bytearray(_READ_CHUNK)
    view = memoryview(buffer)
    with blobs.open(digest) as reader:
        _check(reader.read(len(header)), header, nbytes, nbytes, path)
        while size <= nbytes:
            count = reader.readinto(view)  # type: ignore[attr-defined]
            if not count:
                break
            size += count
            if hasher is not None:
                hasher.update(view[:count])
    return size
