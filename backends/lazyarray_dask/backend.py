"""The dask backend: lowers a plan to dask.array and runs it on the scheduler chosen by,
in order, ``compute(client=...)``, ``config.options.dask_scheduler`` (the
``LAZYARRAY_DASK_SCHEDULER`` address of a dask.distributed scheduler), or dask's local
threaded scheduler."""

from __future__ import annotations

import contextvars
from collections.abc import Mapping
from typing import Any

import numpy as np

from lazyarray.backend import Backend, Capability, check_outputs_fit, memory_error
from lazyarray.config import Options
from lazyarray.errors import JobCancelled, TransientError
from lazyarray.graph import Node
from lazyarray.jobs import AsyncJob, LocalJob, RunContext, Streamed
from lazyarray.planner import Plan
from lazyarray_dask.lower import Lowerer, refusal


class DaskBackend(Backend):
    name = "dask"
    capabilities = frozenset(
        {
            Capability.MASKED,
            Capability.UNKNOWN_SHAPES,
            Capability.CUSTOM_FUNCTIONS,
            Capability.DISTRIBUTED,
        }
    )
    install_hint = "pip install 'lazyarray[dask]'"
    streams = True

    def versions(self) -> dict[str, str]:
        import dask

        return {**super().versions(), "dask": str(getattr(dask, "__version__", ""))}

    def refusal(self, node: Node) -> str | None:
        """What needs a capability this backend lacks, and what it has no lowering for
        (``lower.refusal``)."""
        return super().refusal(node) or refusal(node)

    def lower(self, plan: Plan, arguments: Mapping[str, Any], options: Options) -> list[Any]:
        """The plan's outputs as dask arrays (scalars stay plain values)."""
        return Lowerer(arguments, options.dask_chunk_bytes, options.block_bytes).lower(plan)

    def execute(self, plan: Plan, arguments: Mapping[str, Any], context: RunContext) -> list[Any]:
        from dask.base import compute as dask_compute

        self.check(plan)
        streamed = context.sink is not None and _streamable(plan)
        if not streamed:
            check_outputs_fit(plan, context.options)  # results come back here, whole
        collections = self.lower(plan, arguments, context.options)
        client = self.client(context)
        if streamed and context.sink is not None:
            done = _stream(plan.outputs[0], collections[0], context, client)
            if done is not None:
                return [done]
            check_outputs_fit(plan, context.options)  # the sink wants the whole value
        try:
            if client is not None:
                from lazyarray_dask.jobs import DaskJob

                job = DaskJob(
                    client,
                    collections,
                    context.retries,
                    lambda v: _finish(plan, v),
                    context.errstate,
                )
                job.follow(context)  # progress and cancellation, until the futures are done
                return job.result()  # type: ignore[no-any-return]
            with _Progress(context):
                values = dask_compute(
                    *collections, scheduler="threads", optimize_graph=optimizes(collections)
                )
        except MemoryError as exc:
            raise memory_error("the dask computation", _sites(plan), exc) from exc
        return _finish(plan, list(values))

    def submit(
        self, plan: Plan, arguments: Mapping[str, Any], context: RunContext | None = None
    ) -> AsyncJob:
        """A job at once: one given a client runs on its futures; otherwise connecting
        to ``dask_scheduler``, if set, happens inside the job (its errors are the job's)."""
        context = context or RunContext(len(plan))
        self.check(plan)
        streamed = context.sink is not None and _streamable(plan)
        if not streamed:
            check_outputs_fit(plan, context.options)
        if context.client is None or streamed:
            # run in a copy of the submitting context: its errstate, assets and config
            # layers, which dask's threads take from the thread that computes
            submitted = contextvars.copy_context()
            return LocalJob(
                lambda ctx: submitted.run(self.execute, plan, arguments, ctx), len(plan), context
            )
        from lazyarray_dask.jobs import DaskJob

        collections = self.lower(plan, arguments, context.options)
        return DaskJob(
            context.client,
            collections,
            context.retries,
            lambda v: _finish(plan, v),
            context.errstate,
        )

    @staticmethod
    def client(context: RunContext) -> Any:
        if context.client is not None:
            return context.client
        options = context.options
        if options.dask_scheduler:
            from lazyarray_dask.cluster import connect

            return connect(options.dask_scheduler, options.dask_connect_timeout)
        return None


# dask's blockwise fusion rewrites a chain of layers once per layer it absorbs: past this
# many layers (long unfused chains), a graph runs as built, one task per op and chunk
_OPTIMIZED_LAYERS = 200


def optimizes(collections: list[Any]) -> bool:
    """Whether dask should optimize the graph of ``collections`` (linear time if not)."""
    layers = 0
    for collection in collections:
        graph = getattr(collection, "__dask_graph__", None)
        if graph is not None:
            layers += len(getattr(graph(), "layers", ()))
    return layers <= _OPTIMIZED_LAYERS


def _streamable(plan: Plan) -> bool:
    """A lone unmasked array result of known shape: what a sink can take by blocks."""
    if len(plan.outputs) != 1:
        return False
    kind = plan.outputs[0].type
    return not kind.masked and bool(kind.shape) and None not in kind.shape


def _stream(node: Node, array: Any, context: RunContext, client: Any) -> Streamed | None:
    """Writes ``array`` into the sink's target chunk by chunk (``dask.array.store``),
    never gathering it; None when the sink wants the whole value instead. The array is
    rechunked to the target's regular grid (its shards, or chunks: the sink may choose
    them): a writer owns whole target chunks, so no lock is needed."""
    import dask.array as da

    if not isinstance(array, da.Array) or context.sink is None:
        return None
    if array.dtype != node.type.dtype:
        array = array.astype(node.type.dtype)
    grid = tuple(max(max(axis, default=1), 1) for axis in array.chunks)
    shape = tuple(int(n) for n in array.shape)
    target = context.sink.chunk_target(shape, node.type.dtype, grid)
    if target is None:
        return None
    chosen = getattr(target, "shards", None) or getattr(target, "chunks", None)
    if (
        isinstance(chosen, tuple)
        and len(chosen) == len(grid)
        and all(isinstance(n, int) and n > 0 for n in chosen)
    ):
        grid = chosen
    if any(
        axis[:-1] != (size,) * (len(axis) - 1) or (len(axis) > 0 and axis[-1] > size)
        for axis, size in zip(array.chunks, grid, strict=True)
    ):
        array = array.rechunk(grid)
    try:
        stored = da.store(array, target, lock=False, compute=False)
        if client is not None:
            from lazyarray_dask.jobs import DaskJob

            job = DaskJob(client, [stored], context.retries, lambda v: v, context.errstate)
            job.follow(context)
            job.result()
        else:
            with _Progress(context):
                stored.compute(scheduler="threads", optimize_graph=optimizes([array]))
    except BaseException as exc:
        context.sink.discard()
        if isinstance(exc, MemoryError):
            raise memory_error("the dask computation", node.site_text, exc) from exc
        raise
    return Streamed(target, shape, node.type.dtype)


def _sites(plan: Plan) -> str:
    return ", ".join(dict.fromkeys(node.site_text for node in plan.outputs))


def _finish(plan: Plan, values: list[Any]) -> list[Any]:
    """Values with exactly the dtypes the plan promised (dask may widen or narrow)."""
    results: list[Any] = []
    for node, value in zip(plan.outputs, values, strict=True):
        if value is np.ma.masked:
            results.append(value)
            continue
        array = value if isinstance(value, np.ndarray) else np.asarray(value)
        if array.dtype != node.type.dtype:
            array = array.astype(node.type.dtype)
        results.append(array if np.ndim(value) or isinstance(value, np.ndarray) else array[()])
    return results


class _Progress:
    """dask's local-scheduler callbacks feeding a RunContext: tasks done / total, and
    cancellation between tasks."""

    def __init__(self, context: RunContext) -> None:
        from dask.callbacks import Callback

        context_ref = context

        class Tracker(Callback):
            def _start_state(self, dsk: Any, state: Any) -> None:
                # keys already holding data (literals) never run as tasks
                context_ref.set_total(len(dsk) - len(state.get("cache", ())))
                context_ref.completed_steps = 0

            def _posttask(
                self, key: Any, result: Any, dsk: Any, state: Any, worker_id: Any
            ) -> None:
                context_ref.advance()

            def _pretask(self, key: Any, dsk: Any, state: Any) -> None:
                if context_ref.cancelled:
                    raise JobCancelled("the job was cancelled")

        self.tracker = Tracker()

    def __enter__(self) -> _Progress:
        self.tracker.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.tracker.__exit__(*exc)


__all__ = ["DaskBackend", "TransientError"]
