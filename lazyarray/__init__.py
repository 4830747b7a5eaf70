"""lazyarray: numpy-style code, recorded as a typed graph, optimized, run anywhere.

>>> import lazyarray as la
>>> x = la.arange(6).reshape(2, 3)
>>> y = (x * 10 + 1).sum(axis=1)
>>> y.shape, y.dtype
((2,), DType(int64))
>>> y.compute()
array([ 33, 123])
"""

import typing

from lazyarray import config, dtypes, errors, fft, jobs, lib, linalg, random, serialize, workflows
from lazyarray.backend import Backend, Capability, available_backends, get_backend
from lazyarray.composites import NAMESPACE as _COMPOSITES
from lazyarray.dask import from_dask, to_dask
from lazyarray.dtypes import *  # noqa: F403 - the standard's dtype objects
from lazyarray.errors import (
    ComputeError,
    JobTimeoutError,
    ResourceExhausted,
    RetryError,
)
from lazyarray.execution import destinations as _destinations
from lazyarray.execution import formats as _formats
from lazyarray.jobs import AsyncJob, JobStatus
from lazyarray.namespace import *  # noqa: F403 - the numpy-like namespace
from lazyarray.namespace import __all__ as _namespace_all
from lazyarray.proxy import Function
from lazyarray.serialize import from_json, to_json
from lazyarray.standard import *  # noqa: F403 - last: the array API's signatures win
from lazyarray.standard import __all__ as _standard_all
from lazyarray.version import __version__ as __version__

globals().update(_COMPOSITES)  # tuples of results, joins: over the namespace's where


def _remote_jobs(url: str) -> typing.Any:
    """``AsyncJob.from_id(id, client=URL)``: the remote backend's client of that server."""
    return get_backend("remote").job_source(url)  # type: ignore[attr-defined]


jobs.JOB_SOURCES.update(http=_remote_jobs, https=_remote_jobs)
jobs.PRESENTERS.update(compute=_formats.presented)


def _artifact_destination(url: str) -> typing.Any:
    """``compute(destination="artifact://name")``: in the ``artifacts`` option's repository."""
    from lazyarray.artifacts import destination_for

    return destination_for(url)


_destinations.DESTINATION_SCHEMES.update(artifact=_artifact_destination)


_SUBMODULES = ("assets", "artifacts", "datasets")


def __getattr__(name: str) -> typing.Any:
    if name in ("Workflow", "use"):  # loaded when first used
        return getattr(workflows, name)
    if name in _SUBMODULES:  # loaded when first used: their libraries are extras
        import importlib

        return importlib.import_module(f"lazyarray.{name}")
    if name in ("open_source", "open_zarr"):
        import lazyarray.datasets

        return getattr(lazyarray.datasets, name)
    raise AttributeError(f"module 'lazyarray' has no attribute {name!r}")


__all__ = [
    *sorted(set(_namespace_all) | set(_standard_all) | set(dtypes.__all__) | set(_COMPOSITES)),
    "AsyncJob",
    "Backend",
    "Capability",
    "ComputeError",
    "Function",
    "JobStatus",
    "JobTimeoutError",
    "ResourceExhausted",
    "RetryError",
    "Workflow",  # noqa: F405 - loaded when first used (__getattr__)
    "available_backends",
    "config",
    "datasets",  # noqa: F405 - loaded when first used (__getattr__)
    "dtypes",
    "errors",
    "fft",
    "from_dask",
    "from_json",
    "get_backend",
    "lib",
    "linalg",
    "open_source",  # noqa: F405 - loaded when first used (__getattr__)
    "open_zarr",  # noqa: F405 - loaded when first used (__getattr__)
    "random",
    "serialize",
    "to_dask",
    "to_json",
    "use",  # noqa: F405 - loaded when first used (__getattr__)
    "workflows",
]
