"""zarr arrays (format 3, and 2 as zarr-python reads it) in any fsspec store; a local
store is read through zarr's own ``LocalStore``. zarr reads only the chunks a basic
selection touches, several at once."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

import numpy as np

from lazyarray.errors import SourceError, SourceNotFound
from lazyarray.stores.readers import Index, Location, Metadata, filesystem, info_token

_METADATA_FILES = ("zarr.json", ".zarray")


class ZarrReader:
    def metadata(self, location: Location) -> Metadata:
        array = _open(location)
        chunks = array.shards or array.chunks  # a shard is what one read fetches whole
        return Metadata(
            tuple(int(n) for n in array.shape),
            np.dtype(array.dtype),
            tuple(int(n) for n in chunks),
            self.token(location),
        )

    def token(self, location: Location) -> str:
        """The array's metadata document and its chunks' listing (names, sizes, times):
        a rewritten array or a rewritten chunk changes it."""
        fs, root = filesystem(location)
        prefix = f"{root}/{location.path}".rstrip("/") if location.path else root
        try:
            found = fs.find(prefix, detail=True, withdirs=False)
        except FileNotFoundError:
            found = {}
        return info_token(list(found.values()))

    def read(self, location: Location, index: Index) -> np.ndarray[Any, Any]:
        return np.asarray(_open(location)[index])


def _open(location: Location) -> Any:
    """The opened zarr array (kept for the next reads of the same location)."""
    with _LOCK:
        found = _OPEN.get(location)
        if found is not None:
            _OPEN.move_to_end(location)
            return found
    array = _open_new(location)
    with _LOCK:
        _OPEN[location] = array
        while len(_OPEN) > 64:
            _OPEN.popitem(last=False)
    return array


def _open_new(location: Location) -> Any:
    import zarr
    import zarr.errors

    store: Any
    if location.url.startswith("file://"):
        store = zarr.storage.LocalStore(location.url[len("file://") :], read_only=True)
    else:
        store = zarr.storage.FsspecStore.from_url(
            location.url, storage_options=location.storage_options or None, read_only=True
        )
    where = f"{location.path!r} in " if location.path else ""
    try:
        node = zarr.open(store=store, path=location.path, mode="r")
    except (FileNotFoundError, zarr.errors.NodeNotFoundError) as exc:
        raise SourceNotFound(f"no zarr array at {where}{location.url}") from exc
    except Exception as exc:  # a store zarr cannot read (not zarr, corrupt metadata)
        raise SourceError(f"cannot open {where}{location.url} as zarr: {exc}") from exc
    if not isinstance(node, zarr.Array):
        raise SourceError(
            f"{where}{location.url} is a zarr group, not an array; name one of its arrays: "
            f"{', '.join(sorted(node.array_keys())) or 'it has none'}"
        )
    return node


_OPEN: OrderedDict[Location, Any] = OrderedDict()
_LOCK = threading.Lock()

READER = ZarrReader()
