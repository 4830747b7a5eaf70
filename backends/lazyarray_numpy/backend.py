"""Runs a plan step by step with each op row's numpy implementation, freeing every
intermediate right after its last reader ran."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lazyarray.backend import Backend, Capability
from lazyarray.errors import ComputeError, JobCancelled, LazyArrayError, ResourceExhausted
from lazyarray.graph import Node
from lazyarray.jobs import RunContext
from lazyarray.ops import OPS
from lazyarray.planner import Plan


class NumpyBackend(Backend):
    name = "numpy"
    capabilities = frozenset(
        {Capability.MASKED, Capability.UNKNOWN_SHAPES, Capability.CUSTOM_FUNCTIONS}
    )

    def execute(self, plan: Plan, arguments: Mapping[str, Any], context: RunContext) -> list[Any]:
        context.set_total(len(plan.steps))
        values: dict[Node, Any] = {}
        last_use = plan.last_use
        for index, node in enumerate(plan.steps):
            context.check_cancelled()
            if node.op == "parameter":
                values[node] = arguments[node.attr("name")]
            else:
                values[node] = run_node(node, [values[child] for child in node.inputs])
            for child in node.inputs:
                if last_use.get(child) == index:
                    values.pop(child, None)
            context.advance()
        return [values[node] for node in plan.outputs]


def run_node(node: Node, inputs: list[Any]) -> Any:
    """One op on concrete values; a failure names the op and the user's line."""
    row = OPS[node.op]
    implementation = row.impl
    if node.type.masked or any([child.type.masked for child in node.inputs]):
        implementation = row.implementation(masked=True)
    try:
        return (
            implementation(*inputs, **dict(node.attrs)) if node.attrs else implementation(*inputs)
        )
    except (JobCancelled, LazyArrayError):
        raise
    except MemoryError as exc:
        raise ResourceExhausted(
            f"{node.op} (built at {node.site_text}) needs more memory than is available: "
            f"{exc}. Compute a slice, or use a chunked backend (backend='dask')"
        ) from exc
    except Exception as exc:
        raise ComputeError(
            f"{node.op} failed: {type(exc).__name__}: {exc} "
            f"(in the expression built at {node.site_text})",
            op=node.op,
            site=node.site_text,
        ) from exc
