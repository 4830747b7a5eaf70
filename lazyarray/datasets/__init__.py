"""Datasets: a catalog of named, tagged, immutable versions of split datasets, whose
fields open as lazy arrays and whose records stream by shard (``docs/datasets.md``)."""

from lazyarray.datasets.catalog import Catalog, Dataset, VersionInfo
from lazyarray.datasets.catalog_errors import (
    CatalogError,
    DatasetNotFound,
    FieldNotFound,
    InvalidShard,
    SplitNotFound,
    TagNotFound,
)
from lazyarray.datasets.catalog_manifest import FieldInfo, SplitInfo

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
]
