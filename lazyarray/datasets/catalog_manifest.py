"""A dataset version's manifest: what the version holds (splits, fields with shape,
dtype, chunks and a digest of their bytes) and where its data is (a zarr store beside it).

The manifest is canonical JSON; its SHA-256 is the version's ``uid``, so a uid names
exactly one manifest and a manifest read back is checked against the uid it was asked
for. It is written after the data and before any tag moves: a version exists once its
manifest does, and never changes after.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lazyarray.errors import CatalogError, InvalidName
from lazyarray.stores.names import check_dataset_part, check_name, check_uid

FORMAT = 1
_STORE_NAME = "version store"


@dataclass(frozen=True)
class FieldInfo:
    """One array field of a split, as stored: known without reading any data."""

    shape: tuple[int, ...]
    dtype: np.dtype[Any]
    chunks: tuple[int, ...]
    sha256: str  # of the array's bytes in C order

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize

    def to_dict(self) -> dict[str, Any]:
        return {
            "shape": list(self.shape),
            "dtype": self.dtype.str,
            "chunks": list(self.chunks),
            "sha256": self.sha256,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FieldInfo:
        return cls(
            tuple(int(n) for n in data["shape"]),
            np.dtype(str(data["dtype"])),
            tuple(int(n) for n in data["chunks"]),
            str(data["sha256"]),
        )


@dataclass(frozen=True)
class SplitInfo:
    """A split: ``rows`` records, each one row (the first axis) of every field; fields
    keep the order they were given in."""

    rows: int
    fields: Mapping[str, FieldInfo]

    def to_dict(self) -> dict[str, Any]:
        listed = [{"name": name, **info.to_dict()} for name, info in self.fields.items()]
        return {"rows": self.rows, "fields": listed}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SplitInfo:
        fields = {
            check_dataset_part(entry["name"], "field"): FieldInfo.from_dict(entry)
            for entry in data["fields"]
        }
        return cls(int(data["rows"]), fields)


@dataclass(frozen=True)
class Manifest:
    """Everything a version is; ``encode()`` gives the bytes whose digest is its uid."""

    namespace: str
    name: str
    store: str  # the version's zarr store, a folder name under the dataset's ``stores``
    created: float
    splits: Mapping[str, SplitInfo]
    description: str = ""
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def encode(self) -> bytes:
        document = {
            "format": FORMAT,
            "namespace": self.namespace,
            "name": self.name,
            "store": self.store,
            "created": self.created,
            "description": self.description,
            "metadata": dict(self.metadata),
            "splits": {split: info.to_dict() for split, info in self.splits.items()},
        }
        text = json.dumps(
            document, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
        )
        return text.encode()

    @property
    def uid(self) -> str:
        return uid_of(self.encode())

    @classmethod
    def decode(cls, data: bytes, uid: str) -> Manifest:
        """The manifest in ``data``, checked to hash to ``uid`` and to hold only valid
        names: a manifest is read from storage, which another writer may have damaged."""
        check_uid(uid)
        if uid_of(data) != uid:
            raise CatalogError(f"the manifest of version {uid} does not match its uid")
        try:
            document = json.loads(data)
            if document.get("format") != FORMAT:
                raise CatalogError(
                    f"version {uid} has manifest format {document.get('format')!r}; this "
                    f"lazyarray reads format {FORMAT}: upgrade lazyarray"
                )
            return cls(
                namespace=check_name(document["namespace"], "namespace"),
                name=check_name(document["name"], "name"),
                store=check_name(document["store"], _STORE_NAME),
                created=float(document["created"]),
                splits={
                    check_dataset_part(split, "split"): SplitInfo.from_dict(info)
                    for split, info in document["splits"].items()
                },
                description=str(document.get("description", "")),
                metadata=dict(document.get("metadata") or {}),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            if isinstance(error, InvalidName | CatalogError):
                raise
            raise CatalogError(f"the manifest of version {uid} cannot be read: {error}") from None


def uid_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
