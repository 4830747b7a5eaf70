"""compute and inspect: plan, bind, look up the cache, run on a backend, format.

The flow is the same for every backend; only ``execute`` / ``submit`` differ.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import IO, Any

from lazyarray.backend import Backend, get_backend
from lazyarray.config import snapshot
from lazyarray.errors import (
    FormatError,
    ImplicitComputeError,
    ImplicitComputeWarning,
    JobTimeoutError,
    RetryError,
    TransientError,
)
from lazyarray.execution.cache import results as result_cache
from lazyarray.execution.formats import check_format, serialize, write
from lazyarray.execution.progress import ProgressBar, should_show
from lazyarray.graph import Node, content_digest
from lazyarray.jobs import AsyncJob, RunContext
from lazyarray.planner import Plan, bind_arguments, make_plan, parameters_of

DESTINATIONS = ("download",)
# compute()'s own keywords: every other keyword argument is a parameter's value
COMPUTE_KEYWORDS = frozenset(
    {
        "format",
        "destination",
        "file",
        "timeout",
        "block",
        "progress_bar",
        "cache",
        "num_retries",
        "backend",
        "client",
    }
)
FileTarget = str | os.PathLike[str] | IO[bytes] | None


def compute(
    targets: Sequence[Node],
    *,
    format: str = "pyarrow",  # noqa: A002 - the public keyword's name
    destination: str = "download",
    file: FileTarget = None,
    timeout: float | None = None,
    block: bool = True,
    progress_bar: bool | None = None,
    cache: bool = True,
    num_retries: int | None = None,
    backend: str | Backend | None = None,
    client: Any = None,
    arguments: Mapping[str, Any] | None = None,
    unpack: bool = False,
) -> Any:
    """Runs ``targets`` together; returns their values (a list, or the only value with
    ``unpack``), or with ``block=False`` a job whose ``result()`` returns them."""
    options = snapshot()
    check_format(format, [n.type for n in targets], file)
    if destination not in DESTINATIONS:
        raise FormatError(
            f"unknown destination {destination!r}; choose one of {', '.join(DESTINATIONS)}"
        )
    if file is not None and format == "pyarrow":
        raise FormatError("file= needs a byte format: format='npy', 'npz', 'json' or 'arrow'")
    chosen = get_backend(backend if backend is not None else options.backend)
    bound = bind_arguments(parameters_of(targets), arguments or {})
    plan = make_plan(targets, bound, options.disabled, small_bytes=options.small_bytes)
    chosen.check(plan)
    retries = options.default_retries if num_retries is None else num_retries

    def finish(values: list[Any]) -> Any:
        if file is not None:
            if len(values) != 1:
                raise FormatError("file= takes one result; compute the arrays one at a time")
            write(values[0], targets[0].type, format, file)
            return None
        formatted = [serialize(v, n.type, format) for v, n in zip(values, targets, strict=True)]
        return formatted[0] if unpack else formatted

    key = _cache_key(plan, bound) if cache else None
    if key is not None:
        hit = result_cache.get(key)
        if hit is not None:
            return finish(hit) if block else _CompletedJob(finish(hit))

    def store(values: list[Any]) -> list[Any]:
        if key is not None:
            result_cache.put(key, values, options.cache_bytes)
        return values

    if block and timeout is None:
        context = RunContext(len(plan), client=client, retries=retries, options=options)
        bar = ProgressBar(context) if should_show(progress_bar) else None
        try:
            values = _with_retries(lambda: chosen.execute(plan, bound, context), retries)
        finally:
            if bar is not None:
                bar.close()
        return finish(store(values))

    job = ComputeJob(
        lambda: chosen.submit(
            plan, bound, RunContext(len(plan), client=client, retries=retries, options=options)
        ),
        retries,
        lambda v: finish(store(v)),
    )
    if not block:
        return job
    try:
        return job.result(timeout)
    except JobTimeoutError:
        job.cancel()
        raise


def _cache_key(plan: Plan, arguments: Mapping[str, Any]) -> str:
    parts = [plan.digest]
    for name in sorted(arguments):
        parts.append(f"{name}={content_digest(arguments[name])}")
    return "|".join(parts)


def _with_retries(run: Callable[[], list[Any]], retries: int) -> list[Any]:
    failures: list[BaseException] = []
    for _ in range(retries + 1):
        try:
            return run()
        except TransientError as exc:
            failures.append(exc)
            if retries == 0:
                raise
    raise RetryError(f"the computation failed {len(failures)} times", failures) from failures[-1]


class ComputeJob(AsyncJob):
    """A backend's job plus retries, result formatting and caching."""

    def __init__(
        self,
        submit: Callable[[], AsyncJob],
        retries: int,
        finish: Callable[[list[Any]], Any],
    ) -> None:
        self._submit = submit
        self._retries = retries
        self._finish = finish
        self._failures: list[BaseException] = []
        self._inner = submit()
        self.job_id = self._inner.job_id
        self._finished: tuple[Any] | None = None

    def status(self) -> dict[str, Any]:
        return self._inner.status()

    def errors(self) -> list[str]:
        return [str(e) for e in self._failures] + self._inner.errors()

    def cancel(self) -> bool:
        return self._inner.cancel()

    def result(self, timeout: float | None = None) -> Any:
        if self._finished is not None:
            return self._finished[0]
        while True:
            try:
                values = self._inner.result(timeout)
                break
            except TransientError as exc:
                self._failures.append(exc)
                if len(self._failures) > self._retries:
                    raise RetryError(
                        f"the computation failed {len(self._failures)} times", self._failures
                    ) from exc
                self._inner = self._submit()
        self._finished = (self._finish(values),)
        return self._finished[0]


class _CompletedJob(AsyncJob):
    """A cache hit asked for with ``block=False``."""

    def __init__(self, value: Any) -> None:
        from lazyarray.jobs import local_jobs, new_job_id

        self.job_id = new_job_id()
        self._value = value
        local_jobs.register(self)

    def status(self) -> dict[str, Any]:
        from lazyarray.jobs import JobStatus, status_record

        return status_record(self.job_id, JobStatus.COMPLETED, "Result from cache.", 1, 1)

    def errors(self) -> list[str]:
        return []

    def result(self, timeout: float | None = None) -> Any:
        return self._value

    def cancel(self) -> bool:
        return False


def check_implicit_compute(what: str) -> None:
    """``bool(x)``, ``np.asarray(x)`` and friends compute; config can forbid or flag it."""
    policy = snapshot().implicit_compute
    if policy == "allow":
        return
    message = (
        f"{what} computes the expression (implicit compute); call .compute() explicitly, "
        "or set lazyarray.config implicit_compute='allow'"
    )
    if policy == "error":
        raise ImplicitComputeError(message)
    warnings.warn(message, ImplicitComputeWarning, stacklevel=4)
