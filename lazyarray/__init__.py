"""lazyarray: numpy-style code, recorded as a typed graph, optimized, run anywhere.

>>> import lazyarray as la
>>> x = la.arange(6).reshape(2, 3)
>>> y = (x * 10 + 1).sum(axis=1)
>>> y.shape, y.dtype
((2,), DType(int64))
>>> y.compute()
array([ 33, 123])
"""

from lazyarray import config, errors, fft, linalg, random
from lazyarray.backend import Backend, Capability, available_backends, get_backend
from lazyarray.composites_indexing import *  # noqa: F403 - ix_, a tuple of index arrays
from lazyarray.composites_indexing import __all__ as _indexing_all
from lazyarray.composites_manipulation import *  # noqa: F403 - tuples of arrays, joins
from lazyarray.composites_manipulation import __all__ as _manipulation_all
from lazyarray.composites_sorting import *  # noqa: F403 - tuple-valued set and search functions
from lazyarray.composites_sorting import __all__ as _sorting_all
from lazyarray.dask import from_dask, to_dask
from lazyarray.errors import (
    ComputeError,
    JobTimeoutError,
    ResourceExhausted,
    RetryError,
)
from lazyarray.jobs import AsyncJob, JobStatus
from lazyarray.namespace import *  # noqa: F403 - the numpy-like namespace
from lazyarray.namespace import __all__ as _namespace_all

__version__ = "0.1.0"

__all__ = [
    *_namespace_all,
    *_indexing_all,
    *_manipulation_all,
    *_sorting_all,
    "AsyncJob",
    "Backend",
    "Capability",
    "ComputeError",
    "JobStatus",
    "JobTimeoutError",
    "ResourceExhausted",
    "RetryError",
    "available_backends",
    "config",
    "errors",
    "fft",
    "from_dask",
    "get_backend",
    "linalg",
    "random",
    "to_dask",
]
