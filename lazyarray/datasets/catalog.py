"""``Catalog`` and ``Dataset``: named, tagged, immutable versions of split datasets.

A dataset is ``namespace/name``; each ``create`` writes a new version (its data, then its
manifest, whose digest is the version's ``uid``) and then moves its tags; ``query`` finds
the version a tag names. A ``Dataset`` is one version: its splits and fields (shape and
dtype from the manifest, nothing read), its arrays as lazy sources, its records by shard.
Where the bytes live and how a version becomes visible is ``catalog_storage``'s business.

>>> import numpy as np, lazyarray as la, lazyarray.datasets
>>> catalog = la.datasets.Catalog("memory://doctest-catalog")
>>> ds = catalog.create("demo", "points", splits={"train": {"x": np.arange(6.0)}})
>>> catalog.query("demo", "points").uid == ds.uid
True
>>> [record["x"] for record in ds.stream_split("train", chunk=1, nchunks=3)]
[np.float64(2.0), np.float64(3.0)]
"""

from __future__ import annotations

import builtins
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lazyarray.datasets.catalog_fields import split_sources, write_field
from lazyarray.datasets.catalog_manifest import FieldInfo, Manifest, SplitInfo
from lazyarray.datasets.catalog_storage import Storage, open_storage
from lazyarray.datasets.catalog_stream import ShardCache, check_shard, records, shard_range
from lazyarray.errors import (
    CatalogError,
    FieldNotFound,
    InvalidMetadata,
    InvalidName,
    SplitNotFound,
)
from lazyarray.stores.names import check_dataset_part, check_name, check_uid, shown

LATEST = "latest"
SCHEME = "dataset"  # a field's source identity: dataset:<uid>/<split>/<field>


def identity_of(uid: str, split: str, field: str) -> str:
    return f"{SCHEME}:{uid}/{split}/{field}"


def parse_identity(identity: object) -> tuple[str, str, str]:
    """``(uid, split, field)`` of ``dataset:<uid>/<split>/<field>``, each part checked."""
    if not isinstance(identity, str) or not identity.startswith(f"{SCHEME}:"):
        raise InvalidName(f"not a dataset source identity (dataset:<uid>/<split>/<field>): "
                          f"{shown(str(identity))}")  # fmt: skip
    parts = identity[len(SCHEME) + 1 :].split("/")
    if len(parts) != 3:
        raise InvalidName(f"a dataset source identity is dataset:<uid>/<split>/<field>, not "
                          f"{shown(identity)}")  # fmt: skip
    uid, split, field = parts
    return check_uid(uid), check_dataset_part(split, "split"), check_dataset_part(field, "field")


def default_root() -> str:
    """The ``catalog`` option (``LAZYARRAY_CATALOG``), else a per-user data folder."""
    from lazyarray import config

    if config.options.catalog is not None:
        return str(config.options.catalog)
    import platformdirs

    return str(Path(platformdirs.user_data_dir("lazyarray")) / "catalog")


def default_cache() -> Path:
    """The ``dataset_cache`` option (``LAZYARRAY_DATASET_CACHE``), else a per-user cache
    folder."""
    from lazyarray import config

    if config.options.dataset_cache is not None:
        return Path(config.options.dataset_cache)
    import platformdirs

    return Path(platformdirs.user_cache_dir("lazyarray")) / "datasets"


def _tags(tag: str | Sequence[str] | None, latest: bool) -> list[str]:
    given = [] if tag is None else [tag] if isinstance(tag, str) else list(tag)
    chosen = [check_name(t, "tag") for t in given]
    if latest and LATEST not in chosen:
        chosen.append(LATEST)
    return chosen


@dataclass(frozen=True)
class VersionInfo:
    """A version in a listing: its uid, when it was made, and the tags naming it."""

    uid: str
    created: float
    tags: tuple[str, ...]


class Catalog:
    """Datasets under ``root``: a local folder (SQLite beside the data) or an fsspec URL
    (``memory://``, ``s3://``; ``storage_options`` go to fsspec). ``root=None``: the
    ``catalog`` option, else a per-user data folder."""

    def __init__(
        self,
        root: str | os.PathLike[str] | None = None,
        *,
        storage_options: Mapping[str, Any] | None = None,
    ) -> None:
        self._storage: Storage = open_storage(
            default_root() if root is None else root, dict(storage_options or {}) or None
        )
        self.location = self._storage.location

    def __repr__(self) -> str:
        return f"Catalog({self.location!r})"

    # --- writing ------------------------------------------------------------------------

    def create(
        self,
        namespace: str,
        name: str,
        *,
        splits: Mapping[str, Any],
        tag: str | Sequence[str] | None = LATEST,
        latest: bool = True,
        description: str = "",
        metadata: Mapping[str, Any] | None = None,
    ) -> Dataset:
        """Writes a new version of ``namespace/name`` holding ``splits`` (``{split:
        {field: data}}``; data a numpy array, an Arrow column or a zarr array; an xarray
        Dataset or an Arrow table may stand for a split's fields) and moves ``tag`` (one
        or several) to it, and ``latest`` too unless ``latest=False``. Everything is
        checked before a byte is written; the version is visible once whole."""
        check_name(namespace, "namespace")
        check_name(name, "name")
        tags = _tags(tag, latest)
        if not isinstance(description, str) or len(description) > 10_000:
            raise InvalidMetadata("a description is a str of at most 10000 characters")
        metadata = _metadata(metadata)
        if not isinstance(splits, Mapping) or not splits:
            raise InvalidMetadata("splits is a non-empty dict of split -> fields")
        sources = {
            check_dataset_part(split, "split"): split_sources(split, data)
            for split, data in splits.items()
        }
        import zarr

        written: dict[str, SplitInfo] = {}
        with self._storage.staged_store(namespace, name) as (store_name, store):
            root = zarr.open_group(store=store, mode="w-", zarr_format=3)
            for split, fields in sources.items():
                group = root.create_group(split)
                infos = {field: write_field(group, field, s) for field, s in fields.items()}
                rows = next(iter(fields.values())).shape[0]
                written[split] = SplitInfo(rows, infos)
        manifest = Manifest(
            namespace=namespace,
            name=name,
            store=store_name,
            created=time.time(),
            splits=written,
            description=description,
            metadata=metadata,
        )
        data = manifest.encode()
        uid = manifest.uid
        self._storage.publish(manifest, data, uid, tags)
        return Dataset(self, uid, manifest, tag=tags[0] if tags else None)

    def tag(self, namespace: str, name: str, tag: str, uid: str) -> None:
        """Moves (or sets) ``tag`` of ``namespace/name`` to the version ``uid``."""
        self._storage.move_tag(
            check_name(namespace, "namespace"),
            check_name(name, "name"),
            check_name(tag, "tag"),
            check_uid(uid),
        )

    def untag(self, namespace: str, name: str, tag: str) -> None:
        """Removes ``tag``; the version it named stays, reachable by uid."""
        self._storage.remove_tag(
            check_name(namespace, "namespace"), check_name(name, "name"), check_name(tag, "tag")
        )

    # --- reading ------------------------------------------------------------------------

    def query(self, namespace: str, name: str, tag: str = LATEST) -> Dataset:
        """The version of ``namespace/name`` that ``tag`` names now."""
        uid = self._storage.resolve(
            check_name(namespace, "namespace"), check_name(name, "name"), check_name(tag, "tag")
        )
        return Dataset(self, uid, self._storage.manifest(uid), tag=tag)

    def version(self, uid: str) -> Dataset:
        """The version ``uid`` of whichever dataset holds it."""
        return Dataset(self, uid, self._storage.manifest(check_uid(uid)))

    def open_identity(self, identity: str) -> Any:
        """The lazy array of a source identity ``dataset:<uid>/<split>/<field>`` of this
        catalog (``DatasetNotFound`` naming the uid if it holds no such version): how a
        server resolves the dataset sources of a graph it is sent."""
        uid, split, field = parse_identity(identity)
        return self.version(uid).array(split, field)

    def list(self) -> list[tuple[str, str]]:
        """Every dataset, as ``(namespace, name)``, sorted."""
        return self._storage.datasets()

    def datasets(self, namespace: str | None = None) -> builtins.list[str]:
        """The datasets, as ``"namespace/name"``, of one namespace or of all."""
        if namespace is not None:
            check_name(namespace, "namespace")
        return [f"{ns}/{n}" for ns, n in self.list() if namespace in (None, ns)]

    def versions(self, namespace: str, name: str) -> builtins.list[VersionInfo]:
        """The versions of ``namespace/name``, oldest first, with the tags naming each."""
        check_name(namespace, "namespace")
        check_name(name, "name")
        tags = self._storage.tags(namespace, name)
        return [
            VersionInfo(uid, created, tuple(sorted(t for t, u in tags.items() if u == uid)))
            for uid, created in self._storage.versions(namespace, name)
        ]

    def tags(self, namespace: str, name: str) -> dict[str, str]:
        """``{tag: uid}`` of ``namespace/name``."""
        return self._storage.tags(check_name(namespace, "namespace"), check_name(name, "name"))

    def store_url(self, manifest: Manifest) -> str:
        """Where a version's zarr store is: a folder, or a URL for ``storage_options``."""
        return self._storage.store_url(manifest.namespace, manifest.name, manifest.store)

    @property
    def storage_options(self) -> dict[str, Any] | None:
        return self._storage.storage_options

    def _open_store(self, manifest: Manifest) -> Any:
        return self._storage.open_store(self.store_url(manifest))


class Dataset:
    """One version of a dataset: ``uid``, ``namespace``, ``name``, the ``tag`` it was
    found by (None when found by uid), its ``splits`` with their fields' shape and dtype."""

    def __init__(
        self, catalog: Catalog, uid: str, manifest: Manifest, *, tag: str | None = None
    ) -> None:
        self.catalog = catalog
        self.uid = uid
        self.manifest = manifest
        self.tag = tag
        self._arrays: dict[str, Any] = {}

    namespace = property(lambda self: self.manifest.namespace)
    name = property(lambda self: self.manifest.name)
    created = property(lambda self: self.manifest.created)
    description = property(lambda self: self.manifest.description)
    metadata = property(lambda self: dict(self.manifest.metadata))

    @property
    def id(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def tags(self) -> tuple[str, ...]:
        """The tags naming this version now (read again at each use)."""
        found = self.catalog.tags(self.namespace, self.name)
        return tuple(sorted(tag for tag, uid in found.items() if uid == self.uid))

    @property
    def splits(self) -> dict[str, SplitInfo]:
        return dict(self.manifest.splits)

    def __repr__(self) -> str:
        tag = f", tag={self.tag!r}" if self.tag else ""
        return f"<Dataset {self.id} uid={self.uid[:12]}{tag} splits={list(self.splits)}>"

    def split(self, split: str) -> SplitInfo:
        """A split's rows and fields, or ``SplitNotFound`` listing those there are."""
        check_dataset_part(split, "split")
        found = self.manifest.splits.get(split)
        if found is None:
            raise SplitNotFound(
                f"{self.id} (uid {self.uid[:12]}) has no split {split!r}; its splits: "
                f"{', '.join(self.manifest.splits)}"
            )
        return found

    def fields(self, split: str) -> dict[str, FieldInfo]:
        """``{field: FieldInfo}`` (shape, dtype, chunks) of a split."""
        return dict(self.split(split).fields)

    def field(self, split: str, field: str) -> FieldInfo:
        check_dataset_part(field, "field")
        found = self.split(split).fields.get(field)
        if found is None:
            raise FieldNotFound(
                f"split {split!r} of {self.id} has no field {field!r}; its fields: "
                f"{', '.join(self.split(split).fields)}"
            )
        return found

    def rows(self, split: str) -> int:
        return self.split(split).rows

    # --- arrays -------------------------------------------------------------------------

    def array(self, split: str, field: str) -> Any:
        """The field as a lazy ``la.Array`` (shape and dtype known, nothing read): a
        source identified by ``dataset:<uid>/<split>/<field>``, read chunk by chunk where
        a result needs it."""
        self.field(split, field)
        from lazyarray.datasets.sources import open_source

        return open_source(
            "zarr",
            self.catalog.store_url(self.manifest),
            f"{split}/{field}",
            identity=identity_of(self.uid, split, field),
            storage_options=self.catalog.storage_options,
        )

    def read(self, split: str, field: str, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Rows ``[start, stop)`` of a field, read now (not lazily) from the store."""
        info = self.field(split, field)
        stop = info.shape[0] if stop is None else stop
        return np.asarray(self._zarr(split, field)[start:stop], dtype=info.dtype)

    def verify(self, split: str | None = None) -> None:
        """Reads every field (of one split, or all) and checks its bytes against the
        digest in the manifest; ``CatalogError`` names the first that differs (zarr reads
        a missing chunk as its fill value: only this check tells)."""
        import hashlib

        for name in [split] if split is not None else list(self.manifest.splits):
            for field, info in self.fields(name).items():
                hasher = hashlib.sha256()
                step = max(info.chunks[0], 2**24 // max(1, info.nbytes // max(1, info.shape[0])))
                for start in range(0, info.shape[0], step):
                    block = np.ascontiguousarray(self.read(name, field, start, start + step))
                    hasher.update(block.reshape(-1).view(np.uint8).data)
                if hasher.hexdigest() != info.sha256:
                    raise CatalogError(
                        f"field {name}/{field} of {self.id} (uid {self.uid}) does not match "
                        "its digest: its stored data is damaged or missing"
                    )

    def _zarr(self, split: str, field: str) -> Any:
        key = f"{split}/{field}"
        found = self._arrays.get(key)
        if found is None:
            import zarr

            try:
                store = self.catalog._open_store(self.manifest)
                found = zarr.open_array(store=store, path=key, mode="r")
            except FileNotFoundError as error:
                raise CatalogError(
                    f"the data of {self.id} (uid {self.uid}) is missing from "
                    f"{self.catalog.location}: {key}"
                ) from error
            self._arrays[key] = found
        return found

    # --- records by shard -----------------------------------------------------------------

    def shard(
        self,
        split: str,
        *,
        chunk: int,
        nchunks: int,
        cache: str | os.PathLike[str] | bool | None = None,
    ) -> dict[str, np.ndarray]:
        """Shard ``chunk`` of ``nchunks`` of a split as columns ``{field: rows}``, from
        the local cache (``cache``: a folder; None: the ``dataset_cache`` option or a
        per-user cache folder; False: no cache) or read and cached."""
        info = self.split(split)
        chunk, nchunks = check_shard(chunk, nchunks)
        if cache is False:
            start, stop = shard_range(info.rows, chunk, nchunks)
            return {field: self.read(split, field, start, stop) for field in info.fields}
        folder = default_cache() if cache is None or cache is True else Path(cache)
        return ShardCache(folder).shard(
            self.uid,
            split,
            chunk,
            nchunks,
            info.fields,
            info.rows,
            lambda field, start, stop: self.read(split, field, start, stop),
        )

    def stream_split(
        self,
        split: str,
        *,
        chunk: int,
        nchunks: int,
        cache: str | os.PathLike[str] | bool | None = None,
    ) -> Iterator[dict[str, Any]]:
        """The records of shard ``chunk`` of ``nchunks`` of a split, each a dict of field
        -> value for one row. The shards of one ``nchunks`` are disjoint and together the
        whole split; ``cache`` as for ``shard``. Arguments are checked here, the shard is
        read (or found in the cache) at the first record."""
        self.split(split)
        check_shard(chunk, nchunks)

        def generate() -> Iterator[dict[str, Any]]:
            yield from records(self.shard(split, chunk=chunk, nchunks=nchunks, cache=cache))

        return generate()

    def to_dict(self) -> dict[str, Any]:
        """The version as JSON: what a server's routes answer."""
        return {
            "uid": self.uid,
            "namespace": self.namespace,
            "name": self.name,
            "tag": self.tag,
            "created": self.created,
            "description": self.description,
            "metadata": self.metadata,
            "splits": {split: info.to_dict() for split, info in self.manifest.splits.items()},
        }


def _metadata(value: Mapping[str, Any] | None) -> dict[str, Any]:
    """Free JSON metadata of a version, at most 64 KiB of it."""
    import json

    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidMetadata(f"metadata is a dict, not {type(value).__name__}")
    try:
        text = json.dumps(dict(value), allow_nan=False)
    except (TypeError, ValueError) as error:
        raise InvalidMetadata(f"metadata must be JSON: {error}") from None
    if len(text) > 65536:
        raise InvalidMetadata(f"metadata is {len(text)} bytes of JSON; at most 65536")
    return dict(json.loads(text))
