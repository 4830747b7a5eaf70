"""Datasets: a catalog of named, tagged, immutable versions of split datasets, whose
fields open as lazy arrays and whose records stream by shard (``docs/datasets.md``);
arrays kept in chunked storage (zarr, npy, Parquet columns), opened as lazy sources
whose slices read only the chunks they touch (``open_source``, ``docs/sources.md``)."""

from lazyarray.datasets.catalog import Catalog, Dataset, VersionInfo
from lazyarray.datasets.catalog_manifest import FieldInfo, SplitInfo
from lazyarray.datasets.sources import open_source, open_zarr
from lazyarray.errors import (
    CatalogError,
    DatasetNotFound,
    FieldNotFound,
    InvalidShard,
    SplitNotFound,
    TagNotFound,
)

__all__ = [
    "Catalog",
    "CatalogError",
    "Dataset",
    "DatasetNotFound",
    "FieldInfo",
    "FieldNotFound",
    "InvalidShard",
    "SplitInfo",
    "SplitNotFound",
    "TagNotFound",
    "VersionInfo",
    "open_source",
    "open_zarr",
]
