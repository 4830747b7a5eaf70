"""The remote backend: ``compute(backend="remote")`` runs the expression as a job on a
lazyarray server (``lazyarray serve``), tracked by the same ``AsyncJob`` as locally."""

from lazyarray_remote.backend import RemoteBackend
from lazyarray_remote.jobs import RemoteJob
from lazyarray_remote.session import Session

__all__ = ["RemoteBackend", "RemoteJob", "Session"]
