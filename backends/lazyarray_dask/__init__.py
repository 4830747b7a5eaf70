"""The dask backend: plans lowered to dask.array, run on the local threaded scheduler or
on a dask.distributed cluster. Needs ``pip install 'lazyarray[dask]'``."""

from lazyarray_dask.backend import DaskBackend

__all__ = ["DaskBackend"]
