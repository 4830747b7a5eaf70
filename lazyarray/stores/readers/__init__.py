"""Readers of arrays kept in chunked storage (zarr, npy files, Parquet columns), behind
one protocol: an array's metadata (shape, dtype, native chunks, a change token) read
without its data, and a region of it read touching only the chunks the region needs.

Each adapter is a module imported when first used (``ADAPTERS``), so this package loads
no optional library; ``lazyarray.ops.sources`` declares the op that reads through them.
Storage is named by an fsspec URL (a local path, ``file://``, ``memory://``, ``s3://``
...), canonicalised once (``canonical_url``) so that one store is one name.
"""

from __future__ import annotations

import dataclasses
import importlib
import math
import os
import threading
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import numpy as np

from lazyarray.errors import SourceChanged, SourceError

Index = tuple[Any, ...]  # ints and slices of positive step, one per dimension


@dataclasses.dataclass(frozen=True)
class Location:
    """Where an array is: a store's canonical URL, the array's path in it (a zarr
    array's path, a Parquet column, "" for an npy file) and fsspec's options."""

    url: str
    path: str = ""
    options: tuple[tuple[str, Any], ...] = dataclasses.field(default=(), compare=False)
    # the options as text: what tells two locations apart (option values may not hash)
    options_key: str = ""

    @classmethod
    def of(cls, url: str, path: str = "", options: Mapping[str, Any] | None = None) -> Location:
        pairs = tuple(sorted((options or {}).items()))
        return cls(url, path, pairs, repr(pairs) if pairs else "")

    @property
    def storage_options(self) -> dict[str, Any]:
        return dict(self.options)


@dataclasses.dataclass(frozen=True)
class Metadata:
    """What a reader knows of an array without reading its data."""

    shape: tuple[int, ...]
    dtype: np.dtype[Any]
    chunks: tuple[int, ...]  # the native chunk shape (a regular grid from the origin)
    token: str  # changes whenever the array's data may have changed


class Reader(Protocol):
    def metadata(self, location: Location) -> Metadata:
        """The array's metadata; ``SourceNotFound`` / ``SourceError`` when there is none."""
        ...

    def token(self, location: Location) -> str:
        """The array's change token as the storage says it now."""
        ...

    def read(self, location: Location, index: Index) -> np.ndarray[Any, Any]:
        """``whole[index]`` (ints, and slices of positive step), reading only the
        chunks it touches."""
        ...


ADAPTERS: dict[str, str] = {
    "zarr": "lazyarray.stores.readers.zarr",
    "npy": "lazyarray.stores.readers.npy",
    "parquet": "lazyarray.stores.readers.parquet",
}


def reader(name: str) -> Reader:
    """The adapter called ``name`` (its module imported now)."""
    module = ADAPTERS.get(name)
    if module is None:
        raise SourceError(f"unknown reader {name!r}; readers: {', '.join(sorted(ADAPTERS))}")
    found: Reader = importlib.import_module(module).READER
    return found


def canonical_url(url: str, storage_options: Mapping[str, Any] | None = None) -> str:
    """``url`` as fsspec names it with its protocol (a local path becomes an absolute
    ``file://`` URL), so that a store read twice has one name."""
    import fsspec.core

    if not isinstance(url, str) or not url:
        raise SourceError(f"a source's url must be a non-empty string, not {url!r}")
    fs, path = fsspec.core.url_to_fs(url, **dict(storage_options or {}))
    return str(fs.unstrip_protocol(path)).rstrip("/")


def filesystem(location: Location) -> tuple[Any, str]:
    """The fsspec filesystem and the store's path in it."""
    import fsspec.core

    fs, path = fsspec.core.url_to_fs(location.url, **location.storage_options)
    return fs, str(path).rstrip("/")


def file_token(location: Location) -> str:
    """The change token of a store that is one file (npy, Parquet): what its filesystem
    says of it, or of its absence."""
    fs, path = filesystem(location)
    try:
        return info_token([fs.info(path)])
    except FileNotFoundError:
        return info_token([])


def info_token(infos: list[Mapping[str, Any]]) -> str:
    """A token of what the storage says of its objects (name, size, and the time or
    etag of their last change), never their contents."""
    import hashlib

    hasher = hashlib.blake2b(digest_size=12)
    for info in sorted(infos, key=lambda entry: str(entry.get("name"))):
        stamp = [str(info.get(key)) for key in _STAMPS if info.get(key) is not None]
        hasher.update(repr((str(info.get("name")), info.get("size"), stamp)).encode())
    return hasher.hexdigest()


_STAMPS = ("mtime", "created", "ETag", "etag", "LastModified", "last_modified", "md5", "crc32c")


# --- where identified sources are ----------------------------------------------------
# A source opened with an identity (``dataset:<uid>/<split>/<field>``) is named by it
# alone in graphs; where its bytes are is kept here, by the process that opened it.
# ``RESOLVERS`` find identities this process never opened (a server's catalog), by the
# identity's scheme (the text before its first ':').

_LOCATIONS: dict[str, tuple[str, Location, str]] = {}  # identity -> (reader, location, token)
_OPTIONS: dict[str, Mapping[str, Any]] = {}  # a URL source's url -> its options
RESOLVERS: dict[str, Callable[[str], tuple[str, Location, str] | None]] = {}
_LOCK = threading.Lock()


def remember(identity: str, reader_name: str, location: Location, token: str) -> None:
    """Where ``identity``'s data is, for this process's reads (the latest open wins:
    one identity names one content wherever it is kept)."""
    with _LOCK:
        _LOCATIONS[identity] = (reader_name, location, token)


def remember_options(url: str, options: Mapping[str, Any]) -> None:
    """fsspec options for reads of ``url`` (kept out of graphs: they may hold secrets)."""
    with _LOCK:
        _OPTIONS[url] = options


def options_of(url: str) -> Mapping[str, Any]:
    return _OPTIONS.get(url, {})


def locate(identity: str) -> tuple[str, Location, str]:
    """The reader, location and change token of an identified source."""
    found = _LOCATIONS.get(identity)
    if found is None:
        resolver = RESOLVERS.get(identity.split(":", 1)[0])
        found = resolver(identity) if resolver is not None else None
    if found is None:
        from lazyarray.errors import SourceNotFound

        raise SourceNotFound(
            f"no storage is known for source {identity!r} in this process: open it "
            "(lazyarray.datasets.open_source) or its catalog here first"
        )
    return found


# --- reading -------------------------------------------------------------------------

_BIG = 2**62  # slices here are normalized already: their bounds need no array's size
_THREADS = max(1, min(8, os.cpu_count() or 1))


def cut(positions: range, block: int) -> list[range]:
    """``positions`` split where they cross a multiple of ``block``, in their order."""
    if not len(positions):
        return [positions]
    groups: list[range] = []
    i, count, step = 0, len(positions), positions.step
    while i < count:
        first = positions[i]
        start = first // block * block
        if step > 0:
            taken = (start + block - first + step - 1) // step
        else:
            taken = (first - start) // -step + 1
        groups.append(positions[i : i + taken])
        i += taken
    return groups


def check_token(name: str, location: Location, token: str) -> None:
    """Refuses to read an array whose storage changed since it was opened."""
    now = reader(name).token(location)
    if now != token:
        where = f"{location.path} at {location.url}" if location.path else location.url
        raise SourceChanged(
            f"the {name} array {where} changed since it was opened (change token {token} "
            f"is now {now}); open it again to read the new data"
        )


def read_region(
    name: str,
    location: Location,
    token: str | None,
    index: Index,
    chunks: tuple[int, ...] | None = None,
) -> np.ndarray[Any, Any]:
    """``whole[index]`` for any basic index of ints and slices (negative steps too),
    after checking the change token (when given). With the native ``chunks``, a region
    touching several is read chunk by chunk on threads (decoding in parallel, as a
    chunked backend's tasks do), each into its place in the result."""
    if token is not None:
        check_token(name, location, token)
    if chunks is not None:
        groups = [
            [item] if isinstance(item, int) else cut(range(*item.indices(_BIG)), chunk)
            for item, chunk in zip(index, chunks, strict=True)
        ]
        if math.prod(len(g) for g in groups) > 1:
            return _read_parts(name, location, index, groups)
    return _read_whole(name, location, index)


def _read_parts(
    name: str, location: Location, index: Index, groups: list[list[Any]]
) -> np.ndarray[Any, Any]:
    """The region as the product of its per-dimension groups, read on threads."""
    import itertools
    from concurrent.futures import ThreadPoolExecutor

    kept = [not isinstance(item, int) for item in index]
    parts = list(itertools.product(*[range(len(g)) for g in groups]))
    first = _read_whole(name, location, _part(groups, parts[0]))
    shape = tuple(sum(len(g) for g in dim) for dim, k in zip(groups, kept, strict=True) if k)
    out = np.empty(shape, first.dtype)
    edges = [
        np.cumsum([0] + [len(g) for g in dim]).tolist() if k else [0, 1]
        for dim, k in zip(groups, kept, strict=True)
    ]

    def place(part: tuple[int, ...], value: np.ndarray[Any, Any] | None = None) -> None:
        if value is None:
            value = _read_whole(name, location, _part(groups, part))
        where = tuple(slice(edges[d][p], edges[d][p + 1]) for d, p in enumerate(part) if kept[d])
        out[where] = value

    place(parts[0], first)
    with ThreadPoolExecutor(min(len(parts) - 1, _THREADS)) as pool:
        for future in [pool.submit(place, part) for part in parts[1:]]:
            future.result()
    return out


def _part(groups: list[list[Any]], part: tuple[int, ...]) -> Index:
    items = [dim[p] for dim, p in zip(groups, part, strict=True)]
    return tuple(item if isinstance(item, int) else as_slice(item) for item in items)


def as_slice(positions: range) -> slice:
    """The slice selecting exactly ``positions``."""
    if not len(positions):
        return slice(0, 0, 1)
    if positions.step < 0 and positions.stop < 0:
        return slice(positions.start, None, positions.step)
    return slice(positions.start, positions.stop, positions.step)


def _read_whole(name: str, location: Location, index: Index) -> np.ndarray[Any, Any]:
    ascending: list[Any] = []
    flipped: list[int] = []
    kept = 0
    for item in index:
        if isinstance(item, slice) and item.step is not None and item.step < 0:
            # the same positions read upward, then reversed
            positions = range(item.start, -1 if item.stop is None else item.stop, item.step)
            if len(positions):
                first = positions[-1]
                ascending.append(slice(first, positions[0] + 1, -item.step))
            else:
                ascending.append(slice(0, 0, 1))
            flipped.append(kept)
        else:
            ascending.append(item)
        kept += not isinstance(item, int)
    value = np.asarray(reader(name).read(location, tuple(ascending)))
    return np.flip(value, tuple(flipped)) if flipped else value


__all__ = [
    "ADAPTERS",
    "RESOLVERS",
    "Index",
    "Location",
    "Metadata",
    "Reader",
    "as_slice",
    "canonical_url",
    "check_token",
    "cut",
    "filesystem",
    "info_token",
    "locate",
    "read_region",
    "reader",
    "remember",
    "remember_options",
]
