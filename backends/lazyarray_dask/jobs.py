"""Jobs on a dask.distributed cluster: the same ``AsyncJob`` as everywhere, backed by
futures. Progress counts the plan's tasks the scheduler has finished; the tasks run
under the caller's ``np.errstate`` (``lazyarray_dask.errstate``)."""

from __future__ import annotations

import contextlib
import traceback
from collections.abc import Callable, Mapping
from typing import Any

from lazyarray.errors import ComputeArgumentError, JobCancelled, JobTimeoutError, TransientError
from lazyarray.jobs import AsyncJob, JobStatus, RunContext, local_jobs, new_job_id, status_record


def _states(dask_scheduler: Any, keys: list[Any]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for key in keys:
        task = dask_scheduler.tasks.get(key)
        state = "forgotten" if task is None else task.state
        counts[state] = counts.get(state, 0) + 1
    return counts


class DaskJob(AsyncJob):
    def __init__(
        self,
        client: Any,
        collections: list[Any],
        retries: int,
        finish: Callable[[list[Any]], list[Any]],
        errstate: Mapping[str, str],
    ) -> None:
        from dask.base import optimize

        from lazyarray_dask.backend import optimizes
        from lazyarray_dask.errstate import carried, under

        _check_open(client)
        self.job_id = new_job_id()
        self.client = client
        self._finish = finish
        graphs = [c for c in collections if hasattr(c, "__dask_graph__")]
        optimized = iter(optimize(*graphs) if graphs and optimizes(graphs) else graphs)
        ready = [next(optimized) if hasattr(c, "__dask_graph__") else c for c in collections]
        self._keys = [
            key for c in ready if hasattr(c, "__dask_graph__") for key in c.__dask_graph__()
        ]
        ready = under(ready, carried(errstate))
        self._futures = client.compute(ready, retries=retries or None, optimize_graph=False)
        self._cancelled = False
        local_jobs.register(self)

    def follow(self, context: RunContext, interval: float = 0.2) -> None:
        """Reports tasks done / total to ``context`` until the job ends; cancels the
        futures if the context is cancelled, or the wait is interrupted (Ctrl-C)."""
        try:
            self._follow(context, interval)
        except BaseException:
            if not self._cancelled:
                self._stop()
            raise

    def _follow(self, context: RunContext, interval: float) -> None:
        from distributed import wait

        context.set_total(len(self._keys))
        while True:
            try:
                with self.client.as_current():  # lazyarray's clients are not the default
                    wait(self._futures, timeout=interval)
            except TimeoutError:
                context.completed_steps = min(self._done_tasks(), len(self._keys))
                context.advance(0)
                if context.cancelled:
                    self.cancel()
                    raise JobCancelled(f"job {self.job_id} was cancelled") from None
                continue
            context.completed_steps = len(self._keys)
            context.advance(0)
            return

    def _done_tasks(self) -> int:
        if not self._keys:
            return 0
        counts = self.client.run_on_scheduler(_states, keys=self._keys)
        return sum(counts.get(s, 0) for s in ("memory", "released", "forgotten", "erred"))

    def status(self) -> dict[str, Any]:
        futures = [f for f in self._futures if hasattr(f, "status")]
        if self._cancelled:
            state, message = JobStatus.CANCELLED, "Job was cancelled."
        elif any(f.status == "error" for f in futures):
            state, message = JobStatus.ERRORED, (self.errors() or ["Job failed."])[-1]
        elif all(f.status == "finished" for f in futures):
            state, message = JobStatus.COMPLETED, "Job completed successfully."
        else:
            state, message = JobStatus.RUNNING, "Job is running on the cluster."
        total = len(self._keys)
        done = total if state is JobStatus.COMPLETED else min(self._done_tasks(), total)
        return status_record(self.job_id, state, message, done, total)

    def errors(self) -> list[str]:
        found = []
        for future in self._futures:
            if getattr(future, "status", None) == "error":
                exc = future.exception()
                found.append("".join(traceback.format_exception_only(exc)).strip())
        return found

    def result(self, timeout: float | None = None) -> Any:
        if self._cancelled:
            raise JobCancelled(f"job {self.job_id} was cancelled")
        from distributed import KilledWorker, wait
        from distributed.client import FutureCancelledError

        try:
            with self.client.as_current():
                if timeout is not None:
                    wait(self._futures, timeout=timeout)
                values = self.client.gather(self._futures)
        except TimeoutError:
            raise JobTimeoutError(
                f"job {self.job_id} did not finish within {timeout} seconds"
            ) from None
        except KilledWorker as exc:
            raise TransientError(f"a worker died running job {self.job_id}: {exc}") from exc
        except FutureCancelledError:
            raise JobCancelled(f"job {self.job_id} was cancelled") from None
        return self._finish(list(values))

    def cancel(self) -> bool:
        if self._cancelled or self.status()["status"] in (JobStatus.COMPLETED, JobStatus.ERRORED):
            return False
        self._stop()
        return True

    def _stop(self) -> None:
        """Cancels the futures, whatever their state (an interrupted wait: the cluster
        must not go on with work no one waits for)."""
        self._cancelled = True
        with contextlib.suppress(Exception):  # a client that lost its scheduler
            self.client.cancel(self._futures)


def _check_open(client: Any) -> None:
    """A closed ``distributed.Client`` runs nothing (dask's error: "IOLoop is closed")."""
    status = getattr(client, "status", "running")
    if status in ("closing", "closed"):
        raise ComputeArgumentError(
            f"compute(client=...) was given a dask Client that is {status}: give a running "
            "one, or compute without client= on the local threaded scheduler"
        )
