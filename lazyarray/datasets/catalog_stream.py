"""Records of a split by shard, and the local cache of shards.

A split of ``rows`` records is cut into ``nchunks`` contiguous shards: shard ``chunk``
holds rows ``[chunk * rows // nchunks, (chunk + 1) * rows // nchunks)``, so the shards of
one ``nchunks`` are disjoint, their union is the split, and each is the same in every
process (a ``DataLoader`` worker streams its own).

A shard's cache file holds its fields' rows and ends with the SHA-256 of all that comes
before. It is written to a temporary file beside its place and renamed over it, and every
read checks the digest and the header (uid, split, shard, fields) before trusting a byte:
a reader killed while writing leaves only a temporary file no reader opens; a file
damaged later (a full disk, a power loss before the data reached it, a stray write) fails
its check and is written again. Processes writing one shard at once each write their own
temporary file; whichever rename comes last wins, and both files are whole and equal.
No file is synced to disk: the check on read makes a lost write a cache miss.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import mmap
import operator
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from lazyarray.datasets.catalog_manifest import FieldInfo
from lazyarray.errors import InvalidShard
from lazyarray.stores.names import check_dataset_part, check_uid, confined

MAGIC = b"LAZYARRAY-SHARD1"
_ALIGN = 64
_DIGEST = 32
_STALE_SECONDS = 3600.0  # a temporary file this old belongs to a reader that died
_BLOCK_BYTES = 16 * 2**20  # rows are read from storage this many bytes at a time

# reads rows [start, stop) of one field from storage
ReadRows = Callable[[str, int, int], np.ndarray]


def check_shard(chunk: object, nchunks: object) -> tuple[int, int]:
    """``(chunk, nchunks)`` as ints, or ``InvalidShard`` naming the valid range."""
    for value, what in ((chunk, "chunk"), (nchunks, "nchunks")):
        if isinstance(value, bool) or not hasattr(value, "__index__"):
            raise InvalidShard(f"{what} must be an int, not {type(value).__name__}")
    chunk, nchunks = operator.index(chunk), operator.index(nchunks)  # type: ignore[arg-type]
    if nchunks < 1:
        raise InvalidShard(f"nchunks must be at least 1, not {nchunks}")
    if not 0 <= chunk < nchunks:
        raise InvalidShard(f"chunk {chunk} must be in the range [0, {nchunks})")
    return chunk, nchunks


def shard_range(rows: int, chunk: int, nchunks: int) -> tuple[int, int]:
    """The rows ``[start, stop)`` of shard ``chunk`` of ``nchunks``."""
    chunk, nchunks = check_shard(chunk, nchunks)
    return chunk * rows // nchunks, (chunk + 1) * rows // nchunks


def records(columns: Mapping[str, np.ndarray]) -> Iterator[dict[str, Any]]:
    """One dict of field -> value per row: a numpy scalar for a 1-d field, a row for
    more dimensions. Each field is copied once, whole, so the rows are writable and
    outlive the shard's buffer (a cache file's mapping) without a copy per row."""
    names = list(columns)
    owned = [np.array(columns[name]) for name in names]
    for values in zip(*owned, strict=True):
        yield dict(zip(names, values, strict=True))


def _layout(fields: Mapping[str, FieldInfo], rows: int) -> tuple[dict[str, Any], int]:
    """Each field's ``[offset, nbytes]`` after the header, and the bytes they take."""
    offset = 0
    placed: dict[str, Any] = {}
    for name, info in fields.items():
        nbytes = rows * int(np.prod(info.shape[1:], dtype=np.int64)) * info.dtype.itemsize
        placed[name] = {
            "dtype": info.dtype.str,
            "shape": [rows, *info.shape[1:]],
            "offset": offset,
            "nbytes": nbytes,
        }
        offset += -(-nbytes // _ALIGN) * _ALIGN
    return placed, offset


class ShardCache:
    """Shard files under ``folder``: ``<uid>/<split>/<nchunks>-<chunk>.shard``."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder).expanduser().resolve()

    def path(self, uid: str, split: str, chunk: int, nchunks: int) -> Path:
        check_uid(uid)
        check_dataset_part(split, "split")
        return confined(self.folder, uid, split, f"{nchunks}-{chunk}.shard")

    def shard(
        self,
        uid: str,
        split: str,
        chunk: int,
        nchunks: int,
        fields: Mapping[str, FieldInfo],
        rows: int,
        read: ReadRows,
    ) -> dict[str, np.ndarray]:
        """The shard's columns: from its cache file if that passes its checks, else read
        from storage through ``read`` and cached."""
        start, stop = shard_range(rows, chunk, nchunks)
        path = self.path(uid, split, chunk, nchunks)
        header = {
            "uid": uid,
            "split": split,
            "chunk": chunk,
            "nchunks": nchunks,
            "start": start,
            "stop": stop,
        }
        found = _load(path, header, fields)
        if found is not None:
            return found
        return _write(path, header, fields, start, stop, read)


def _load(
    path: Path, expected: Mapping[str, Any], fields: Mapping[str, FieldInfo]
) -> dict[str, np.ndarray] | None:
    """The columns of the file at ``path`` if it is whole and the shard expected."""
    try:
        with open(path, "rb") as file:
            size = os.fstat(file.fileno()).st_size
            if size < len(MAGIC) + 8 + _DIGEST:
                return None
            buffer = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError):
        return None
    return _columns(buffer, expected, fields)


def _columns(
    buffer: mmap.mmap,
    expected: Mapping[str, Any],
    fields: Mapping[str, FieldInfo],
    digest: bytes | None = None,
) -> dict[str, np.ndarray] | None:
    """The columns in ``buffer`` if its bytes hash to its last 32 (``digest``: the hash
    already known, of bytes this process has just written) and its header is the one
    expected."""
    view = memoryview(buffer)
    known = digest if digest is not None else hashlib.sha256(view[:-_DIGEST]).digest()
    if known != bytes(view[-_DIGEST:]):
        return None
    if bytes(view[: len(MAGIC)]) != MAGIC:
        return None
    length = int.from_bytes(view[len(MAGIC) : len(MAGIC) + 8], "little")
    start = len(MAGIC) + 8
    try:
        header = json.loads(bytes(view[start : start + length]))
    except ValueError:
        return None
    placed, _ = _layout(fields, expected["stop"] - expected["start"])
    if header != {**expected, "fields": placed}:
        return None
    base = -(-(start + length) // _ALIGN) * _ALIGN
    columns = {}
    for name, entry in placed.items():
        dtype = np.dtype(entry["dtype"])
        count = entry["nbytes"] // dtype.itemsize
        flat = np.frombuffer(buffer, dtype, count, base + entry["offset"])
        columns[name] = flat.reshape(entry["shape"])
    return columns


def _write(
    path: Path,
    expected: Mapping[str, Any],
    fields: Mapping[str, FieldInfo],
    start: int,
    stop: int,
    read: ReadRows,
) -> dict[str, np.ndarray]:
    """Reads the shard's rows field by field into a temporary file, hashing as it goes,
    renames it into place and maps the file it wrote (not whatever the path names now)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale(path.parent)
    placed, _ = _layout(fields, stop - start)
    header = json.dumps({**expected, "fields": placed}, sort_keys=True).encode()
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".part")
    try:
        with os.fdopen(handle, "w+b") as file:
            hasher = hashlib.sha256()

            def put(data: bytes | memoryview) -> None:
                hasher.update(data)
                file.write(data)

            put(MAGIC + len(header).to_bytes(8, "little") + header)
            put(bytes(-file.tell() % _ALIGN))
            for name, info in fields.items():
                row = max(1, int(np.prod(info.shape[1:], dtype=np.int64)) * info.dtype.itemsize)
                step = max(info.chunks[0], _BLOCK_BYTES // row // info.chunks[0] * info.chunks[0])
                for first in range(start, stop, step):
                    last = min(stop, first + step)
                    block = np.ascontiguousarray(read(name, first, last), dtype=info.dtype)
                    put(block.reshape(-1).view(np.uint8).data)
                put(bytes(-placed[name]["nbytes"] % _ALIGN))
            digest = hasher.digest()
            file.write(digest)
            file.flush()
            os.replace(temporary, path)
            buffer = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    columns = _columns(buffer, expected, fields, digest)
    assert columns is not None, "a shard file just written fails its own check"
    return columns


def _remove_stale(folder: Path) -> None:
    """Temporary files of readers that died long ago (a live writer's are recent)."""
    cutoff = time.time() - _STALE_SECONDS
    for entry in folder.glob(".*.part"):
        with contextlib.suppress(OSError):
            if entry.stat().st_mtime < cutoff:
                entry.unlink()
