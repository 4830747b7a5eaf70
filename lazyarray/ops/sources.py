"""Arrays read from chunked storage (zarr, npy, Parquet columns): the ``read`` row.

A read node holds what names its data and what its metadata said when it was opened,
never the data: its digest is its identity and its selection, so hashing it reads
nothing. An identified source (``identity="dataset:<uid>/<split>/<field>"``) is named
by the identity alone (where its bytes are is kept by ``lazyarray.stores.readers``, so
one dataset read from two places is one node); any other by its URL, array path and the
change token its storage gave when it was opened. Like a generated source it takes a
``region`` (``Trait.STORED``): the planner pushes basic indexes into it, and only the
chunks the region touches are read.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from lazyarray.errors import SourceChanged
from lazyarray.graph import Node
from lazyarray.ops.attrtypes import DTYPE, INDEX, SHAPE, SIZE, Str, TupleOf
from lazyarray.ops.creation import Item, region_items
from lazyarray.ops.registry import Kind, OpDef, Trait, register
from lazyarray.stores import readers
from lazyarray.stores.readers import ADAPTERS, Location
from lazyarray.types import ArrayType, check_supported_dtype, normalize_shape

READERS = tuple(sorted(ADAPTERS))
_PARALLEL_BYTES = 2**20


def located(attrs: Mapping[str, Any]) -> tuple[str, Location, str]:
    """The reader, location and change token a read node's attributes name."""
    identity = attrs.get("identity")
    if identity is not None:
        _, location, token = readers.locate(identity)
        return attrs["reader"], location, token
    url = attrs["url"]
    location = Location.of(url, attrs.get("path", ""), readers.options_of(url))
    return attrs["reader"], location, attrs["token"]


def items_of(attrs: Mapping[str, Any]) -> list[Item]:
    """What a read selects, one item per stored dimension: ints and ranges."""
    shape, region = attrs["shape"], attrs.get("region")
    return [range(size) for size in shape] if region is None else region_items(region, shape)


def item_index(item: Item) -> Any:
    """An int as it is; a range as the slice selecting exactly its positions."""
    return item if isinstance(item, int) else readers.as_slice(item)


def _read(
    *,
    reader: str,
    shape: tuple[int, ...],
    dtype: np.dtype[Any],
    chunks: tuple[int, ...],
    identity: str | None = None,
    url: str | None = None,
    path: str = "",
    token: str | None = None,
    region: Any = None,
) -> Any:
    attrs = {"reader": reader, "identity": identity, "url": url, "path": path, "token": token}
    name, location, expected = located(attrs)
    # chunks large enough to pay for a thread each are decoded in parallel
    parallel = math.prod(chunks) * dtype.itemsize >= _PARALLEL_BYTES
    index = tuple(item_index(item) for item in items_of({"shape": shape, "region": region}))
    value = readers.read_region(name, location, expected, index, chunks if parallel else None)
    if value.dtype != dtype:  # a change the token missed: never return other data
        raise SourceChanged(
            f"the {name} array at {location.url} now holds {value.dtype}, not {dtype}; "
            "open it again"
        )
    return value


def _read_rule(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
    dtype = check_supported_dtype(attrs["dtype"])
    shape = normalize_shape(attrs["shape"], dtype.itemsize)
    region = attrs.get("region")
    if region is not None:
        items = region_items(region, shape)
        shape = tuple(len(item) for item in items if isinstance(item, range))
    return ArrayType(dtype, shape)


def _read_problem(attrs: Mapping[str, Any]) -> str | None:
    if ("identity" in attrs) == ("url" in attrs):
        return "a source is named by its identity or by its url (one of them)"
    if "url" in attrs and "token" not in attrs:
        return "a source named by its url needs the change token it was opened with"
    if "identity" in attrs and ("token" in attrs or "path" in attrs):
        return "an identified source is named by its identity alone"
    if None in attrs["shape"]:
        return "a source's shape is known: every size is an integer"
    if len(attrs["chunks"]) != len(attrs["shape"]) or 0 in attrs["chunks"]:
        return "a source's chunks are one positive size per dimension"
    return None


def touched(attrs: Mapping[str, Any]) -> tuple[int, int]:
    """How many native chunks a read touches, and their bytes decoded: what reading it
    costs (a reader fetches whole chunks)."""
    shape, chunks = attrs["shape"], attrs["chunks"]
    count, elements = 1, 1
    for item, size, chunk in zip(items_of(attrs), shape, chunks, strict=True):
        positions = range(item, item + 1) if isinstance(item, int) else item
        if not len(positions):
            return 0, 0
        low, high = min(positions[0], positions[-1]), max(positions[0], positions[-1])
        if abs(positions.step) >= chunk:  # each position in a chunk of its own
            indices: Sequence[int] = [p // chunk for p in positions]
        else:
            indices = range(low // chunk, high // chunk + 1)
        count *= len(indices)
        elements *= sum(min(chunk, size - k * chunk) for k in indices)
    return count, elements * attrs["dtype"].itemsize


_NAME = Str(max_length=2048)

ROWS = [
    OpDef(
        "read",
        Kind.SOURCE,
        _read,
        _read_rule,
        traits=frozenset({Trait.STORED}),
        arity=0,
        attributes={
            "reader": Str(*READERS),
            "identity": _NAME,
            "url": Str(max_length=4096),
            "path": _NAME,
            "token": Str(max_length=256),
            "shape": SHAPE,
            "dtype": DTYPE,
            "chunks": TupleOf(SIZE, 64),
            "region": INDEX,
        },
        check=_read_problem,
        doc="an array read from chunked storage (lazyarray.datasets.open_source)",
    ),
]

register(*ROWS)
