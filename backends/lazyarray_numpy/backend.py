"""Runs a plan step by step with each op row's numpy implementation, freeing every
intermediate right after its last reader ran. Kernels run blockwise, masked statistics
and masked sums by faster routes (``masked.py``); every other op by its row."""

from __future__ import annotations

import contextlib
import contextvars
import functools
import os
import threading
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from lazyarray.assets import AssetScope, Scope, node_assets
from lazyarray.backend import (
    ALWAYS_FITS,
    Backend,
    Capability,
    check_outputs_fit,
    limit_text,
    memory_allowed,
    memory_error,
    size_text,
)
from lazyarray.config import Options
from lazyarray.errors import ComputeError, JobCancelled, LazyArrayError, ResourceExhausted
from lazyarray.graph import Literal, Node
from lazyarray.jobs import AsyncJob, LocalJob, RunContext
from lazyarray.ops import OPS, Kind, OpDef, Trait
from lazyarray.planner import Plan
from lazyarray_numpy.kernels import run_fused
from lazyarray_numpy.masked import MASKED, MaskedStatistics

# the enum members the per-step code reads (on Python 3.11 reading an Enum's member goes
# through EnumType's attribute hook, a cost per step on the hot path of small plans)
_ARGUMENT, _LITERAL, _STATISTIC, _KERNEL = (
    Trait.ARGUMENT,
    Trait.LITERAL,
    Trait.STATISTIC,
    Kind.KERNEL,
)


class NumpyBackend(Backend):
    name = "numpy"
    runs_direct = True
    opens_node_assets = True  # node-scope assets open around each step (lazyarray.assets)
    capabilities = frozenset(
        {Capability.MASKED, Capability.UNKNOWN_SHAPES, Capability.CUSTOM_FUNCTIONS}
    )

    def check(self, plan: Plan) -> None:
        if plan.masked:  # else nothing is refused here
            super().check(plan)

    def refusal(self, node: Node) -> str | None:
        """A step whose inputs are masked, of an op with no masked implementation
        (``OpDef.masked_impl``) nor one of this backend's."""
        row = OPS.get(node.op)
        if row is None:
            return "no op of that name is declared here"
        if row.masked_impl is not None or row.kind is _KERNEL or not _reads_masked(node):
            return None
        own = MASKED.get(node.op)
        return f"{node.op} is not defined for masked arrays" if own is None else None

    def execute(self, plan: Plan, arguments: Mapping[str, Any], context: RunContext) -> list[Any]:
        if context.thread == threading.get_ident():  # the caller's errstate is in force
            return self._run(plan, arguments, context)
        with np.errstate(**context.errstate):
            return self._run(plan, arguments, context)

    def submit(
        self, plan: Plan, arguments: Mapping[str, Any], context: RunContext | None = None
    ) -> AsyncJob:
        """A job on a thread of this process, run in a copy of the submitting context: it
        sees the assets open where it was submitted (``lazyarray.assets.get``)."""
        submitted = contextvars.copy_context()
        return LocalJob(
            lambda ctx: submitted.run(self.execute, plan, arguments, ctx), len(plan), context
        )

    def execute_direct(self, plan: Plan, arguments: Mapping[str, Any]) -> list[Any]:
        values: dict[Node, Any] = {}
        for node in plan.steps:
            row = OPS[node.op]
            inputs = node.inputs
            if len(inputs) == 2 and not node.attrs:
                # ``by_row``'s commonest step (an operator) without a frame of its own:
                # small graphs take about the time of their numpy calls
                try:
                    values[node] = row.impl(values[inputs[0]], values[inputs[1]])
                except (JobCancelled, LazyArrayError):
                    raise
                except Exception as exc:
                    raise failure(node, exc) from exc
            elif not inputs and _LITERAL in row.traits:
                value = node.attr("value")
                values[node] = value.value if isinstance(value, Literal) else value
            elif not inputs and _ARGUMENT in row.traits:
                values[node] = arguments[node.attr("name")]
            else:  # nothing masked and no kernel: every op is its row's implementation
                values[node] = by_row(row, node, values)
        return [values[node] for node in plan.outputs]

    def _run(self, plan: Plan, arguments: Mapping[str, Any], context: RunContext) -> list[Any]:
        # node-scope assets: each step that computes runs in a scope of its own, whose
        # assets initialize before it and deinitialize after it, however it ends
        nodes = node_assets()
        step_scope: Callable[[], contextlib.AbstractContextManager[Any]] = (
            contextlib.nullcontext
            if nodes is None
            else functools.partial(Scope, nodes[1], nodes[0], AssetScope.node)
        )
        options = context.options
        check_memory(plan, options)
        steps = plan.steps
        context.set_total(len(steps))
        values: dict[Node, Any] = {}
        # without masked values every other step is its row's plain implementation
        # (the hot path, which opens no scope)
        plain = not plan.masked and nodes is None
        # the masked statistics of this plan share their sums
        statistics = None if plain else MaskedStatistics(options, context.check_cancelled)
        # a small plan holds its values to its end (never more than small_bytes), and
        # reports its progress once: its steps take microseconds
        small = plan.upper_bytes <= options.small_bytes
        advance = context.advance
        for node, frees in zip(steps, ((),) * len(steps) if small else plan.frees, strict=True):
            if context.cancelled:
                context.check_cancelled()
            row = OPS[node.op]
            inputs = node.inputs
            if inputs and plain and row.kind is not _KERNEL:  # the hot path: an op
                values[node] = by_row(row, node, values)
            elif _LITERAL in row.traits:
                value = node.attr("value")
                values[node] = value.value if isinstance(value, Literal) else value
            elif _ARGUMENT in row.traits:
                values[node] = arguments[node.attr("name")]
            else:
                with step_scope():
                    values[node] = run_node(
                        node,
                        [values[child] for child in inputs],
                        options,
                        statistics,
                        context.check_cancelled,
                    )
            for dead in frees:
                del values[dead]
            if not small:
                advance()
        if small:
            advance(len(steps))
        return [values[node] for node in plan.outputs]


def by_row(row: OpDef, node: Node, values: Mapping[Node, Any]) -> Any:
    """``node``'s value by its row's implementation (nothing masked, not a kernel); a
    failure is wrapped naming the op and the user's line."""
    inputs = node.inputs
    try:
        if node.attrs:
            return row.impl(*[values[c] for c in inputs], **dict(node.attrs))
        if len(inputs) == 2:
            return row.impl(values[inputs[0]], values[inputs[1]])
        return row.impl(*[values[c] for c in inputs])
    except (JobCancelled, LazyArrayError):
        raise
    except Exception as exc:
        raise failure(node, exc) from exc


_CORES = os.cpu_count() or 1


def check_memory(plan: Plan, options: Options) -> None:
    """Refuses, before anything runs, a plan whose results would not fit (nothing can
    run it), or whose estimated peak would not (a chunked backend can)."""
    if plan.upper_bytes < ALWAYS_FITS and options.memory_limit is None:
        return  # its results, being some of its steps, fit too
    check_outputs_fit(plan, options)
    limit = memory_allowed(options)
    if limit is None:
        return
    peak = plan.peak_bytes(options.block_bytes, options.threads or _CORES)
    if peak > limit:
        raise ResourceExhausted(
            f"this computation needs an estimated {size_text(peak)} at its peak, more "
            f"than {limit_text(limit, options)}, though its results fit; compute a "
            "slice of it, or use a chunked backend: compute(backend='dask')"
        )


def _reads_masked(node: Node) -> bool:
    return node.type.masked or any([child.type.masked for child in node.inputs])


def run_node(
    node: Node,
    inputs: list[Any],
    options: Options,
    statistics: MaskedStatistics | None = None,
    check: Callable[[], None] | None = None,
) -> Any:
    """One op on concrete values; a failure names the op and the user's line.
    ``statistics``: the masked statistics of the running plan, sharing their sums;
    ``check`` runs between the blocks of a kernel (the job's cancellation check)."""
    row = OPS[node.op]
    masked = _reads_masked(node)
    try:
        if row.kind is _KERNEL:  # run this backend's own way: blockwise
            return run_fused(node, inputs, options, check)
        if masked and _STATISTIC in row.traits and node.inputs[0].type.masked:
            return (statistics or MaskedStatistics(options)).run(node, inputs[0])
        own = MASKED.get(node.op) if masked else None
        implementation = row.implementation(masked) if own is None else own
        if node.attrs:
            return implementation(*inputs, **dict(node.attrs))
        return implementation(*inputs)
    except (JobCancelled, LazyArrayError):
        raise
    except Exception as exc:
        raise failure(node, exc) from exc


def failure(node: Node, exc: Exception) -> LazyArrayError:
    """What a step's exception (not lazyarray's own) becomes: running out of memory
    ``ResourceExhausted``, anything else a ``ComputeError`` naming the op and the user's
    line."""
    if isinstance(exc, MemoryError):
        return memory_error(node.op, node.site_text, exc)
    return ComputeError.wrapping(exc, node.op, node.site_text)
