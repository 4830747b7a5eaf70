"""Datasets: arrays kept in chunked storage (zarr, npy, Parquet columns), opened as lazy
sources whose slices read only the chunks they touch (``open_source``)."""

from lazyarray.datasets.sources import open_source, open_zarr

__all__ = ["open_source", "open_zarr"]
