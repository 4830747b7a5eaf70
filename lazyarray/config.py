"""One options object: defaults, the environment read once, a context manager.

>>> import lazyarray as la
>>> with la.config.set(backend="numpy", implicit_compute="error"):
...     la.config.options.implicit_compute
'error'
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Callable, Iterator
from typing import Any, Literal

ImplicitCompute = Literal["allow", "warn", "error"]


@dataclasses.dataclass
class Options:
    """Every tunable in one place; fields are documented in ``docs/configuration.md``."""

    backend: str = "numpy"
    implicit_compute: ImplicitCompute = "allow"
    cache_bytes: int = 256 * 2**20
    max_outstanding_jobs: int = 64
    inspect_timeout: float = 60.0
    default_retries: int = 0
    progress_bar: bool | None = None
    # planner: rules and passes switched off by name (for tests, and to bisect)
    disabled: frozenset[str] = frozenset()
    # numpy backend: refuse plans whose estimated peak exceeds this many bytes
    # (None: memory_fraction of the memory available when the plan is checked)
    memory_limit: int | None = None
    memory_fraction: float = 0.8
    small_bytes: int = 2**18  # smaller graphs skip the planner's data stages (latency)
    block_bytes: int = 2**20  # fused kernels run over blocks of about this size (~L2)
    threads: int | None = None  # threads for fused kernels (None: one per core)
    # dask backend
    dask_scheduler: str | None = None  # a dask.distributed scheduler address
    dask_chunk_bytes: int = 64 * 2**20  # target chunk size of arrays it creates

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        if self.implicit_compute not in ("allow", "warn", "error"):
            raise ValueError(
                f"implicit_compute must be 'allow', 'warn' or 'error', "
                f"not {self.implicit_compute!r}"
            )
        if self.cache_bytes < 0 or self.max_outstanding_jobs < 1:
            raise ValueError("cache_bytes must be >= 0 and max_outstanding_jobs >= 1")
        if not 0 < self.memory_fraction <= 1 or self.block_bytes < 1024:
            raise ValueError("memory_fraction must be in (0, 1] and block_bytes >= 1024")
        self.disabled = frozenset(self.disabled)


def _names(text: str) -> frozenset[str]:
    return frozenset(name.strip() for name in text.split(",") if name.strip())


_ENVIRONMENT: dict[str, tuple[str, Callable[[str], Any]]] = {
    "backend": ("LAZYARRAY_BACKEND", str),
    "implicit_compute": ("LAZYARRAY_IMPLICIT_COMPUTE", str),
    "cache_bytes": ("LAZYARRAY_CACHE_BYTES", int),
    "max_outstanding_jobs": ("LAZYARRAY_MAX_OUTSTANDING_JOBS", int),
    "disabled": ("LAZYARRAY_DISABLED", _names),
    "memory_limit": ("LAZYARRAY_MEMORY_LIMIT", int),
    "threads": ("LAZYARRAY_THREADS", int),
    "dask_scheduler": ("LAZYARRAY_DASK_SCHEDULER", str),
    "dask_chunk_bytes": ("LAZYARRAY_DASK_CHUNK_BYTES", int),
}


def from_environment(environ: dict[str, str] | None = None) -> Options:
    """Defaults overridden by ``LAZYARRAY_*`` variables; the only reader of the environment."""
    environ = dict(os.environ) if environ is None else environ
    found = {
        field: convert(environ[variable])
        for field, (variable, convert) in _ENVIRONMENT.items()
        if variable in environ
    }
    return Options(**found)


options = from_environment()


@contextlib.contextmanager
def set(**changes: Any) -> Iterator[Options]:  # noqa: A001 - mirrors dask.config.set
    """Change options inside a ``with`` block; they are restored on exit."""
    unknown = sorted(changes.keys() - {f.name for f in dataclasses.fields(Options)})
    if unknown:
        raise TypeError(f"unknown lazyarray option(s): {', '.join(unknown)}")
    saved = dataclasses.asdict(options)
    try:
        for name, value in changes.items():
            setattr(options, name, value)
        options.validate()
        yield options
    finally:
        for name, value in saved.items():
            setattr(options, name, value)
