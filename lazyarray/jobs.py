"""One job abstraction for every backend.

``AsyncJob`` is what ``compute(block=False)`` returns: ``status()``, ``errors()``,
``result()``, ``cancel()``, ``sleep_until_complete()``. ``LocalJob`` runs a function on a
thread of this process; other backends subclass ``AsyncJob`` over their own futures.
"""

from __future__ import annotations

import abc
import dataclasses
import enum
import itertools
import math
import numbers
import os
import sys
import threading
import time
import traceback
import weakref
from collections.abc import Callable, Mapping
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from typing import Any, Protocol, runtime_checkable

import numpy as np

from lazyarray.config import Options, snapshot
from lazyarray.errors import (
    ComputeArgumentError,
    ConfigError,
    JobCancelled,
    JobNotFound,
    JobTimeoutError,
    ResourceExhausted,
)


class JobStatus(enum.StrEnum):
    """A job's state; compares equal to its name as a string (``"Completed"``)."""

    PENDING = "Pending"
    RUNNING = "Running"
    COMPLETED = "Completed"
    ERRORED = "Errored"
    CANCELLED = "Cancelled"

    @property
    def finished(self) -> bool:
        return self in (JobStatus.COMPLETED, JobStatus.ERRORED, JobStatus.CANCELLED)


class RunContext:
    """What a running computation reports to, and checks for cancellation; thread-safe."""

    def __init__(
        self,
        total_steps: int = 0,
        client: Any = None,
        retries: int = 0,
        options: Options | None = None,
        quick: bool = False,
        sink: ChunkSink | None = None,
        timeout: float | None = None,
        presentation: Mapping[str, Any] | None = None,
    ) -> None:
        # the options in force where the computation was asked for: jobs and kernels run
        # on other threads, which the caller's config.set does not reach
        self.options = snapshot() if options is None else options
        # numpy's floating-point error handling where the compute was asked for
        # (np.errstate is context-local too, and does not reach the running threads)
        self.errstate: dict[str, Any] = dict(np.geterr())
        self.thread = threading.get_ident()  # where ``errstate`` is the one in force
        self.client = client  # a backend's scheduler handle (a distributed.Client), if given
        self.retries = retries  # retries a backend may make of its own tasks
        # inspect's question: a small result wanted now (a server answers it at once)
        self.quick = quick
        # where a chunked backend may write a lone array result block by block instead
        # of gathering it (``Streamed``); None: every result is returned
        self.sink = sink
        # the seconds the computation may take (compute's timeout): a backend that runs
        # it elsewhere (a server) enforces it there too
        self.timeout = timeout
        # how compute hands the values back (its format, and whether it returns the one
        # value alone): a backend whose jobs other processes reopen keeps it with the job
        self.presentation = presentation
        self.total_steps = total_steps
        self.completed_steps = 0
        self.message = ""
        self.cancelled = False  # a flag written once, read between steps
        self._listeners: list[Callable[[RunContext], None]] = []

    def add_listener(self, listener: Callable[[RunContext], None]) -> None:
        self._listeners.append(listener)

    def set_total(self, total_steps: int) -> None:
        self.total_steps = total_steps
        self._notify()

    def advance(self, steps: int = 1, message: str = "") -> None:
        """Called by the one thread running the computation; readers only read."""
        self.completed_steps += steps
        if message:
            self.message = message
        if self._listeners:
            self._notify()

    def _notify(self) -> None:
        for listener in self._listeners:
            listener(self)

    def cancel(self) -> None:
        self.cancelled = True

    def check_cancelled(self) -> None:
        """Called by backends between steps; raises ``JobCancelled`` once cancelled."""
        if self.cancelled:
            raise JobCancelled("the job was cancelled")


@runtime_checkable
class ChunkSink(Protocol):
    """A compute destination that takes a result block by block (an artifact's zarr
    array): a backend that holds a result as chunks writes them there, never gathering
    the whole, and returns ``Streamed`` in its place."""

    def chunk_target(
        self, shape: tuple[int, ...], dtype: np.dtype[Any], chunks: tuple[int, ...]
    ) -> Any:
        """An array-like taking ``target[region] = block`` for blocks of the regular
        grid ``chunks``, or None to be handed the whole value instead."""

    def discard(self) -> None:
        """Called when writing into the target failed: nothing of it may remain."""


@dataclasses.dataclass(frozen=True)
class Streamed:
    """What a backend returns in place of a result it wrote into its sink's target."""

    target: Any
    shape: tuple[int, ...]
    dtype: np.dtype[Any]


class JobSource(Protocol):
    """Anything that can find a job by id: the local registry, a server client."""

    def get_job(self, job_id: str) -> AsyncJob: ...


# a JobSource for a URL, by scheme: lazyarray's root module maps http(s) to the remote
# backend's client, which lives above this layer
JOB_SOURCES: dict[str, Callable[[str], JobSource]] = {}
# how compute hands values back with a presentation (``{"format", "unpack"}``): a job
# reopened by id, in a process that did not submit it, gives what the submitter's gives;
# lazyarray's root module sets the formatter, which lives above this layer
PRESENTERS: dict[str, Callable[[list[Any], Mapping[str, Any]], Any]] = {}


def presented(values: list[Any], presentation: Mapping[str, Any]) -> Any:
    """``values`` as a compute with this ``format`` and ``unpack`` gives them."""
    return PRESENTERS["compute"](values, presentation)


def waiting_time(timeout: Any) -> float | None:
    """``result(timeout=)``'s seconds: None or inf wait for ever; anything but a number
    of seconds >= 0 is refused where it was given."""
    if timeout is None:
        return None
    try:
        seconds = float(timeout) if isinstance(timeout, numbers.Real) else math.nan
    except OverflowError:  # an int past any float: for ever, as inf
        return None
    if isinstance(timeout, bool) or not seconds >= 0:  # NaN too
        raise ComputeArgumentError(
            f"timeout must be a number of seconds >= 0 (inf: no limit), or None, not {timeout!r}"
        )
    return None if seconds > threading.TIMEOUT_MAX else seconds  # inf, or as good as it


class AsyncJob(abc.ABC):
    """Checks the status or errors of a long-running computation, or waits for it."""

    job_id: str

    @abc.abstractmethod
    def status(self) -> dict[str, Any]:
        """``job_id``, ``status`` (a ``JobStatus``), ``message``, ``job_progress``,
        ``completed_steps`` and ``total_steps``."""

    @abc.abstractmethod
    def errors(self) -> list[str]:
        """The errors the job raised, most recent last (empty while none)."""

    @abc.abstractmethod
    def result(self, timeout: float | None = None) -> Any:
        """The job's value; waits up to ``timeout`` seconds, then ``JobTimeoutError``."""

    @abc.abstractmethod
    def cancel(self) -> bool:
        """Asks the job to stop; True unless it had already finished."""

    def done(self) -> bool:
        return JobStatus(self.status()["status"]).finished

    def sleep_until_complete(
        self, verbose_std_out: bool = True, poll_interval: float = 0.05
    ) -> None:
        """Blocks until the job completes, errors or is cancelled."""
        last = None
        while True:
            status = self.status()
            line = (
                f"job {status['job_id']}: {status['status']} "
                f"({status['completed_steps']}/{status['total_steps']} steps)"
            )
            if verbose_std_out and line != last:
                print(line, file=sys.stdout, flush=True)
                last = line
            if JobStatus(status["status"]).finished:
                return
            time.sleep(poll_interval)

    @classmethod
    def from_id(cls, job_id: str, client: JobSource | str | None = None) -> AsyncJob:
        """The job with this id, from ``client``: a ``JobSource`` (a backend's client),
        a server's URL, or None for this process's jobs."""
        if isinstance(client, str):
            scheme = client.partition("://")[0].lower()
            if scheme not in JOB_SOURCES:
                raise ConfigError(
                    f"cannot find jobs at {client!r}: a job source is a server's URL "
                    f"({', '.join(f'{s}://' for s in sorted(JOB_SOURCES)) or 'none known'}) "
                    "or a client object"
                )
            client = JOB_SOURCES[scheme](client)
        return (client or local_jobs).get_job(job_id)

    def __repr__(self) -> str:
        status = self.status()
        return f"<{type(self).__name__} {self.job_id} {status['status']}>"


def status_record(
    job_id: str, status: JobStatus, message: str, completed: int, total: int
) -> dict[str, Any]:
    return {
        "job_id": job_id,
        "status": status,
        "message": message,
        "job_progress": f"{completed / total:.2f}" if total else "0.00",
        "completed_steps": completed,
        "total_steps": total,
    }


_ids = itertools.count(1)


def new_job_id() -> str:
    return f"job_{os.getpid():x}_{next(_ids):06d}"


class LocalJobRegistry:
    """This process's jobs by id, held weakly: a job nobody references can be dropped."""

    def __init__(self) -> None:
        self._jobs: weakref.WeakValueDictionary[str, AsyncJob] = weakref.WeakValueDictionary()
        self._running = 0
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None

    def get_job(self, job_id: str) -> AsyncJob:
        try:
            return self._jobs[job_id]
        except KeyError:
            raise JobNotFound(
                f"no job {job_id!r} in this process (a job of a server: from_id(job_id, "
                "client=its URL))"
            ) from None

    def register(self, job: AsyncJob) -> None:
        self._jobs[job.job_id] = job

    def executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._executor is None:
                workers = max(4, os.cpu_count() or 1)
                self._executor = ThreadPoolExecutor(workers, thread_name_prefix="lazyarray-job")
            return self._executor

    def reserve(self, limit: int) -> None:
        with self._lock:
            if self._running >= limit:
                raise ResourceExhausted(
                    f"{self._running} jobs are outstanding (max_outstanding_jobs="
                    f"{limit}); wait for some to finish"
                )
            self._running += 1

    def release(self) -> None:
        with self._lock:
            self._running -= 1


local_jobs = LocalJobRegistry()


def _drop_locals(error: BaseException) -> None:
    """Clears the locals of the frames ``error`` and its causes went through. The error,
    kept by its job, keeps its traceback, whose frames hold the run's values: they would
    live as long as the job, and in a cycle with it (its ``result()`` frames) until a
    full collection, which an idle process may never run."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        traceback.clear_frames(current.__traceback__)
        current = current.__cause__ or current.__context__


class LocalJob(AsyncJob):
    """Runs ``work(context)`` on a thread of this process."""

    def __init__(
        self,
        work: Callable[[RunContext], Any],
        total_steps: int = 0,
        context: RunContext | None = None,
    ) -> None:
        self.job_id = new_job_id()
        self.context = context or RunContext(total_steps)
        self._state = JobStatus.PENDING
        self._errors: list[str] = []
        local_jobs.reserve(self.context.options.max_outstanding_jobs)
        local_jobs.register(self)
        self._future: Future[Any] = local_jobs.executor().submit(self._run, work)

    def _run(self, work: Callable[[RunContext], Any]) -> Any:
        try:
            self.context.check_cancelled()
            self._state = JobStatus.RUNNING
            value = work(self.context)
            self.context.check_cancelled()  # a cancel that came after the last check wins
        except JobCancelled as exc:
            self._state = JobStatus.CANCELLED
            # where it stopped says nothing; its frames' functions (a kernel's blocks,
            # closing over their inputs) would stay with it, locals cleared or not
            exc.__traceback__ = None
            raise
        except BaseException as exc:
            self._errors.append("".join(traceback.format_exception_only(exc)).strip())
            self._state = JobStatus.ERRORED
            _drop_locals(exc)
            raise
        else:
            self._state = JobStatus.COMPLETED
            return value
        finally:
            local_jobs.release()

    def status(self) -> dict[str, Any]:
        messages = {
            JobStatus.PENDING: "Job is waiting to start.",
            JobStatus.RUNNING: self.context.message or "Job is running.",
            JobStatus.COMPLETED: "Job completed successfully.",
            JobStatus.ERRORED: self._errors[-1] if self._errors else "Job failed.",
            JobStatus.CANCELLED: "Job was cancelled.",
        }
        return status_record(
            self.job_id,
            self._state,
            messages[self._state],
            self.context.completed_steps,
            self.context.total_steps,
        )

    def errors(self) -> list[str]:
        return list(self._errors)

    def result(self, timeout: float | None = None) -> Any:
        try:
            return self._future.result(timeout)
        except TimeoutError:
            raise JobTimeoutError(
                f"job {self.job_id} did not finish within {timeout} seconds"
            ) from None
        except CancelledError:
            raise JobCancelled(f"job {self.job_id} was cancelled") from None

    def cancel(self) -> bool:
        if self._state.finished:
            return False
        self.context.cancel()
        if self._future.cancel():  # never started: it will not run at all
            self._state = JobStatus.CANCELLED
            local_jobs.release()
        return True
