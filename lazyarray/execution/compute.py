"""compute and inspect: plan, bind, look up the cache, run on a backend, format.

The flow is the same for every backend; only ``execute`` / ``submit`` differ.
"""

from __future__ import annotations

import math
import os
import threading
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import IO, Any

import numpy as np

from lazyarray.backend import ALWAYS_FITS, Backend, get_backend
from lazyarray.config import Options, snapshot
from lazyarray.errors import (
    ComputeArgumentError,
    FormatError,
    ImplicitComputeError,
    ImplicitComputeWarning,
    JobCancelled,
    JobTimeoutError,
    RetryError,
    TransientError,
)
from lazyarray.execution.cache import results as result_cache
from lazyarray.execution.destinations import Destination, ResultInfo, provenance, resolve
from lazyarray.execution.formats import check_format, present, serialize, write
from lazyarray.execution.progress import ProgressBar, should_show
from lazyarray.graph import Literal, Node, content_digest, outputs_digest
from lazyarray.jobs import (
    AsyncJob,
    ChunkSink,
    JobStatus,
    RunContext,
    Streamed,
    local_jobs,
    waiting_time,
)
from lazyarray.ops import OPS, Trait
from lazyarray.planner import Plan, bind_arguments, direct_plan, make_plan, parameters_of

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
        "server",
        "assets",
    }
)
FileTarget = str | os.PathLike[str] | IO[bytes] | None


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool)


def _optional_bool(value: Any) -> bool:
    return value is None or isinstance(value, bool)


def _timeout(value: Any) -> bool:
    return value is None or (
        isinstance(value, int | float) and not isinstance(value, bool) and value > 0
    )


def _retries(value: Any) -> bool:
    return value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 0)


def _file(value: Any) -> bool:
    return value is None or isinstance(value, str | os.PathLike) or hasattr(value, "write")


def _backend(value: Any) -> bool:
    return value is None or isinstance(value, str | Backend)


def _server(value: Any) -> bool:
    return value is None or (
        isinstance(value, str) and value.partition("://")[0].lower() in ("http", "https")
    )


# compute()'s keywords: each value is checked by one rule before anything is planned
ARGUMENT_RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "timeout": (_timeout, "a positive number of seconds (inf: no deadline), or None"),
    "block": (_is_bool, "True or False"),
    "progress_bar": (_optional_bool, "True, False or None"),
    "cache": (_is_bool, "True or False"),
    "num_retries": (_retries, "an int >= 0, or None"),
    "file": (_file, "a path, a binary file object, or None"),
    "backend": (_backend, "a backend name, a Backend, or None"),
    "server": (_server, "a server's http:// or https:// URL, or None"),
}


def check_arguments(**values: Any) -> None:
    """Raises ``ComputeArgumentError`` naming the first keyword whose value its rule
    refuses."""
    for name, value in values.items():
        accepts, expected = ARGUMENT_RULES[name]
        if not accepts(value):
            raise ComputeArgumentError(f"{name} must be {expected}, not {value!r}")


def compute(
    targets: Sequence[Node],
    *,
    format: str = "pyarrow",  # noqa: A002 - the public keyword's name
    destination: str | Destination = "download",
    file: FileTarget = None,
    timeout: float | None = None,
    block: bool = True,
    progress_bar: bool | None = None,
    cache: bool = True,
    num_retries: int | None = None,
    backend: str | Backend | None = None,
    client: Any = None,
    server: str | None = None,
    assets: Any = None,
    arguments: Mapping[str, Any] | None = None,
    unpack: bool = False,
    quick: bool = False,
) -> Any:
    """Runs ``targets`` together; returns their values (a tuple, or the only value with
    ``unpack``), or with ``block=False`` a job whose ``result()`` returns them.
    ``server`` runs them on that lazyarray server (the ``remote`` backend, unless another
    is named); ``quick`` marks inspect's small synchronous question. A ``destination``
    other than "download" takes the one result (``destinations.py``) and ``compute``
    returns what its ``write`` returns. ``assets`` (else the ``assets`` option) are the
    scoped resources the run has (``lazyarray.assets``)."""
    options = snapshot()
    defaults = block is True and isinstance(cache, bool) and timeout is None and file is None
    if server is not None or not (
        defaults and progress_bar is None and num_retries is None and backend is None
    ):
        # the defaults pass every rule: only other values are checked
        check_arguments(
            timeout=timeout,
            block=block,
            progress_bar=progress_bar,
            cache=cache,
            num_retries=num_retries,
            file=file,
            backend=backend,
            server=server,
        )
        if server is not None:
            backend = "remote" if backend is None else backend
            client = server if client is None else client
        if timeout == math.inf:  # no deadline, as None
            timeout = None
    if format != "pyarrow" or file is not None:  # "pyarrow" holds every result
        check_format(format, [n.type for n in targets], file)
    sink = None if destination == "download" else resolve(destination)
    if sink is not None and (len(targets) != 1 or file is not None):
        raise FormatError(
            "destination= takes one result and no file=; compute the arrays one at a time"
        )
    if file is not None and format == "pyarrow":
        raise FormatError("file= needs a byte format: format='npy', 'npz', 'json' or 'arrow'")
    if not targets:  # nothing to run, on any backend
        if file is not None:
            raise FormatError("file= takes one result; there is none to write")
        return () if block else _CompletedJob(())
    chosen = get_backend(backend if backend is not None else options.backend)
    if not chosen.remote and (server is not None or isinstance(client, str)):
        raise ComputeArgumentError(
            f"{'server' if server is not None else 'client'}= names a lazyarray server, "
            f"where backend {chosen.name!r} does not run: leave backend out (or name 'remote')"
        )
    assets = options.assets if assets is None else assets
    if assets is not None:
        from lazyarray.assets import with_assets

        chosen = with_assets(chosen, assets)
    parameters = parameters_of(targets)
    bound = bind_arguments(parameters, arguments or {}) if parameters or arguments else {}
    show = should_show(options.progress_bar if progress_bar is None else progress_bar)
    # a small graph runs unplanned where the backend can (here, or on a job's thread)
    direct = (
        direct_plan(targets, _direct_bytes(options), options.disabled)
        if chosen.runs_direct and timeout is None and client is None and not show
        else None
    )
    # a backend that plans where it runs (a server) is handed the graph as written
    plan = direct or make_plan(
        targets, bound, options.disabled, optimize=chosen.plans, small_bytes=options.small_bytes
    )
    if direct is None:
        chosen.check(plan)
    retries = options.default_retries if num_retries is None else num_retries
    # a sink that takes blocks, offered to a backend that writes them
    streams_to = sink if chosen.streams and isinstance(sink, ChunkSink) else None

    def finish(values: list[Any]) -> Any:
        if sink is not None:
            value, kind = values[0], targets[0].type
            made = provenance(targets[0], bound, chosen.versions())
            if not isinstance(value, Streamed):
                value = serialize(value, kind, "pyarrow")
            return sink.write(value, ResultInfo(kind, targets[0], made))
        if file is not None:
            if len(values) != 1:
                raise FormatError("file= takes one result; compute the arrays one at a time")
            write(values[0], targets[0].type, format, file)
            return None
        return present(values, [n.type for n in targets], format, unpack)

    # a result streamed to its destination is never held, so never cached nor served
    # from the cache (which would write it whole, in another format); a job asked of a
    # server is run there, its id reopening it from anywhere (a cache hit has no such id)
    cached = cache and streams_to is None and (block or not chosen.remote)
    key = _cache_key(targets, plan, bound, chosen, client, options.fast_math) if cached else None
    if key is not None:
        hit = result_cache.get(key)
        if hit is not None:
            return finish(hit) if block else _CompletedJob(finish(hit))

    def store(values: list[Any]) -> list[Any]:
        if key is not None and not isinstance(values[0], Streamed):
            result_cache.put(key, values, options.cache_bytes)
        return values

    if direct is not None:
        if not block:  # a job on a thread, as any, of the graph unplanned
            return ComputeJob(
                lambda: chosen.submit_direct(direct, bound),
                retries,
                lambda v: finish(store(owned(v, plan, bound))),
            )
        values = _with_retries(lambda: chosen.execute_direct(direct, bound), retries)
        return finish(store(owned(values, plan, bound)))
    if block and timeout is None:
        context = RunContext(
            len(plan), client=client, retries=retries, options=options, quick=quick, sink=streams_to
        )
        bar = ProgressBar(context) if show else None
        try:
            values = _with_retries(lambda: chosen.execute(plan, bound, context), retries)
        except BaseException:
            context.cancel()  # Ctrl-C: kernel blocks still queued do not start
            raise
        finally:
            if bar is not None:
                bar.close()
        return finish(store(owned(values, plan, bound)))

    job = ComputeJob(
        lambda: chosen.submit(
            plan,
            bound,
            RunContext(
                len(plan),
                client=client,
                retries=retries,
                options=options,
                quick=quick,
                sink=streams_to,
                timeout=timeout,
                presentation={"format": format, "unpack": unpack} if sink is None else None,
            ),
        ),
        retries,
        lambda v: finish(store(owned(v, plan, bound))),
        None if block else timeout,
    )
    if not block:
        return job
    try:
        return job.result(timeout)
    except BaseException:  # a timeout, or Ctrl-C while waiting: the work stops too
        job.cancel()
        raise


def _direct_bytes(options: Options) -> int:
    """The bytes below which a graph runs unplanned: none under a memory limit, which
    only a plan's checks enforce."""
    return 0 if options.memory_limit is not None else min(options.small_bytes, ALWAYS_FITS)


def owned(values: list[Any], plan: Plan, arguments: Mapping[str, Any]) -> list[Any]:
    """``values`` with every array that shares memory with a literal, an argument or an
    earlier value copied: a result is the caller's to modify, and must never write into
    an input, a planned constant, a cached value or another result (``compute(e, e.T.T)``
    plans one node for both)."""
    for value in values:
        if isinstance(value, np.ndarray):
            break
    else:
        return values  # scalars: nothing to copy
    literal = Trait.LITERAL
    literals = [node.attr("value") for node in plan.steps if literal in OPS[node.op].traits]
    inputs = [literal.value for literal in literals if isinstance(literal, Literal)]
    inputs += [value for value in arguments.values() if isinstance(value, np.ndarray)]
    arrays = [np.ma.getdata(v) if isinstance(v, np.ma.MaskedArray) else v for v in inputs]
    arrays = [a for a in arrays if isinstance(a, np.ndarray)]
    kept = []
    for value in values:
        value = _owned(value, arrays)
        if isinstance(value, np.ndarray):  # the values after it must not share it
            arrays.append(np.ma.getdata(value))
            if isinstance(np.ma.getmask(value), np.ndarray):
                arrays.append(np.ma.getmask(value))
        kept.append(value)
    return kept


def _owned(value: Any, inputs: list[np.ndarray[Any, Any]]) -> Any:
    if not isinstance(value, np.ndarray):
        return value
    data = np.ma.getdata(value) if isinstance(value, np.ma.MaskedArray) else value
    mask = np.ma.getmask(value) if isinstance(value, np.ma.MaskedArray) else None
    for array in inputs:
        if np.may_share_memory(data, array) or (
            isinstance(mask, np.ndarray) and np.may_share_memory(mask, array)
        ):
            return value.copy()
    return value


def _cache_key(
    targets: Sequence[Node],
    plan: Plan,
    arguments: Mapping[str, Any],
    backend: Backend,
    client: Any,
    fast_math: bool,
) -> str | None:
    """Identifies a result: the graph's digest (a graph document's, ``la.serialize``),
    the arguments' contents, and what can change it (backend, the server it runs on,
    fast_math). None when a literal can change under the plan: by-reference data is
    read at run time, and never served from the cache."""
    if plan.reads_mutable(arguments):
        return None
    graph = targets[0].digest if len(targets) == 1 else outputs_digest([t.digest for t in targets])
    parts = [graph, backend.name, backend.place(client), f"fast_math={fast_math}"]
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
    """A backend's job plus retries, result formatting and caching; with ``deadline``,
    cancelled that many seconds after it was submitted if it has not ended by then
    (``result()`` then raises ``JobTimeoutError``)."""

    def __init__(
        self,
        submit: Callable[[], AsyncJob],
        retries: int,
        finish: Callable[[list[Any]], Any],
        deadline: float | None = None,
    ) -> None:
        self._submit = submit
        self._retries = retries
        self._finish = finish
        self._failures: list[BaseException] = []
        self._inner = submit()
        self.job_id = self._inner.job_id
        local_jobs.register(self)  # reopened by id here, it gives what this job gives
        self._finished: tuple[Any] | None = None
        self._deadline = deadline
        self._timed_out = False
        if deadline is not None:
            timer = threading.Timer(deadline, self._expire)
            timer.daemon = True
            timer.start()

    def _expire(self) -> None:
        if not JobStatus(self._inner.status()["status"]).finished:
            self._timed_out = True
            self._inner.cancel()

    def _timeout(self) -> JobTimeoutError:
        return JobTimeoutError(
            f"job {self.job_id} did not finish within its timeout of {self._deadline} "
            "seconds, and was cancelled"
        )

    def status(self) -> dict[str, Any]:
        found = self._inner.status()
        if self._timed_out and found["status"] == JobStatus.CANCELLED:
            found = {**found, "message": str(self._timeout())}
        return found

    def errors(self) -> list[str]:
        timed_out = [str(self._timeout())] if self._timed_out else []
        return [str(e) for e in self._failures] + self._inner.errors() + timed_out

    def cancel(self) -> bool:
        return self._inner.cancel()

    def result(self, timeout: float | None = None) -> Any:
        timeout = waiting_time(timeout)
        if self._finished is not None:
            return self._finished[0]
        while True:
            try:
                values = self._inner.result(timeout)
                break
            except JobCancelled:
                if self._timed_out:
                    raise self._timeout() from None
                raise
            except KeyboardInterrupt:
                self._inner.cancel()
                raise
            except TransientError as exc:
                self._failures.append(exc)
                if self._retries == 0:  # as _with_retries: no retries, the error itself
                    raise
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
        waiting_time(timeout)  # refused as on a running job
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
