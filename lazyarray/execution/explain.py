"""``explain`` and ``visualize``: the optimized plan as text (with its estimates) or as a
graph (graphviz when installed, DOT text otherwise)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lazyarray.config import options
from lazyarray.graph import Literal, Node, toposort
from lazyarray.ops import OPS, Kind, Trait
from lazyarray.ops.kernel import Instruction, Kernel
from lazyarray.ops.sources import touched
from lazyarray.planner import Plan, make_plan
from lazyarray.planner.passes import STAGES, optimize
from lazyarray.types import shape_text


def human_bytes(count: int | None) -> str:
    if count is None:
        return "unknown"
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


def _describe(node: Node, names: dict[Node, str]) -> str:
    masked = " masked" if node.type.masked else ""
    head = f"{names[node]} = {node.op}"
    args = ", ".join(names[child] for child in node.inputs)
    if args:
        head += f"({args})"
    detail = ""
    row = OPS[node.op]
    value = node.attr("value")
    if isinstance(value, Literal):
        detail = f"  literal {human_bytes(getattr(value.value, 'nbytes', 0))}"
    elif Trait.LITERAL in row.traits:
        detail = f"  {value!r}"
    elif row.kind is Kind.KERNEL:
        detail = f"  {kernel_text(node.attr('kernel'), [names[c] for c in node.inputs])}"
    elif Trait.STORED in row.traits:  # what names it, what it selects, what it reads
        detail = "  " + source_text(node)
    elif row.kind is Kind.SOURCE:  # random, parameter: what names or cuts them
        detail = "  " + ", ".join(
            f"{k}={v}" for k, v in node.attrs if k in ("name", "region", "distribution")
        )
    return f"{head} -> {node.type.dtype}{masked} {shape_text(node.type.shape)}{detail}"


def source_text(node: Node) -> str:
    """A stored source: its reader and name, its region, and the chunks it reads."""
    attrs = node.kwargs
    name = attrs.get("identity") or f"{attrs['url']}" + (
        f"#{attrs['path']}" if attrs.get("path") else ""
    )
    chunks, count = touched(attrs)
    region = "" if attrs.get("region") is None else index_text(attrs["region"])
    return (
        f"{attrs['reader']} {name}{region}: reads {chunks} "
        f"chunk{'s' if chunks != 1 else ''}, {human_bytes(count)}"
    )


def index_text(index: tuple[object, ...]) -> str:
    """An encoded basic index as Python writes it: ``[150:160, 0:501:100, 3]``."""
    items = []
    for item in index:
        if isinstance(item, tuple):  # ("slice", start, stop, step)
            start, stop, step = ("" if v is None else str(v) for v in item[1:])
            items.append(f"{start}:{stop}" + (f":{step}" if step not in ("", "1") else ""))
        else:
            items.append("..." if item is Ellipsis else str(item))
    return f"[{', '.join(items)}]"


def kernel_text(kernel: Kernel, inputs: Sequence[str]) -> str:
    """A fused kernel's program as one expression: ``sum(add(multiply(%0, %1), %2))``.
    An instruction read twice is named once (``t3 = multiply(%0, %1); add(t3, t3)``), so
    the text grows with the program, never with the number of paths through it."""
    program = kernel.program
    count = len(inputs)
    reads = [0] * len(program)
    for instruction in program:
        for ref in instruction.refs:
            if ref >= count:
                reads[ref - count] += 1
    names = list(inputs) + [f"t{i}" if n > 1 else "" for i, n in enumerate(reads)]
    parts: list[str] = []
    for position, n in enumerate(reads):
        if n > 1:
            parts += [names[count + position], " = "]
            _expression(program, count + position, names, parts)
            parts.append("; ")
    reduction = kernel.reduction
    if reduction is not None:
        parts.append(f"{reduction.op}(")
    _expression(program, count + len(program) - 1, names, parts)
    if reduction is not None:
        parts.append(")")
    return "".join(parts)


def _expression(
    program: Sequence[Instruction], ref: int, names: Sequence[str], parts: list[str]
) -> None:
    """Appends the text of instruction ``ref``, inlining those read once; iterative, as
    programs can be thousands of instructions deep."""
    count = len(names) - len(program)
    stack: list[int | str] = [ref]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            parts.append(item)
        elif names[item] and item != ref:
            parts.append(names[item])
        else:
            op, refs, _, _ = program[item - count]
            parts.append(f"{op}(")
            stack.append(")")
            for i in range(len(refs) - 1, -1, -1):
                stack.append(refs[i])
                if i:
                    stack.append(", ")


def explain_plan(plan: Plan) -> str:
    names = {node: f"%{i}" for i, node in enumerate(plan.steps)}
    peak = plan.peak_bytes(options.block_bytes, options.threads or 1)
    lines = [
        f"plan: {len(plan.steps)} steps, {plan.kernel_count} kernels ({plan.fused_count} fused)",
        f"  bytes read {human_bytes(plan.bytes_read)}, written "
        f"{human_bytes(plan.bytes_written)}, peak {human_bytes(peak)} (estimated)",
    ]
    lines += ["  " + _describe(node, names) for node in plan.steps]
    outputs = ", ".join(names[node] for node in plan.outputs)
    lines.append(f"  outputs: {outputs}")
    return "\n".join(lines)


def explain(targets: Sequence[Node], stage: str | None = None) -> str:
    """The optimized plan of ``targets``; with ``stage``, the graph right after that stage
    of the planner (``"bind"``, ``"fold"``, ``"simplify"``, ``"pushdown"``,
    ``"decompose"``, ``"fuse"``)."""
    if stage is None:
        plan = make_plan(targets, None, options.disabled, small_bytes=options.small_bytes)
        return explain_plan(plan)
    known = [s.name for s in STAGES]
    if stage not in known:
        raise ValueError(f"unknown stage {stage!r}; stages: {', '.join(known)}")
    outputs = optimize(tuple(targets), {}, options.disabled, until=stage)
    return f"after {stage}:\n" + explain_plan(make_plan(outputs, optimize=False))


def to_dot(targets: Sequence[Node]) -> str:
    plan = make_plan(targets, None, options.disabled, small_bytes=options.small_bytes)
    names = {node: f"n{i}" for i, node in enumerate(plan.steps)}
    lines = ["digraph lazyarray {", "  rankdir=BT;", "  node [shape=box, fontname=monospace];"]
    for node in toposort(plan.outputs):
        label = f"{node.op}\\n{node.type.dtype} {shape_text(node.type.shape)}"
        if OPS[node.op].kind is Kind.KERNEL:
            inputs = [f"in{i}" for i in range(len(node.inputs))]
            label += "\\n" + kernel_text(node.attr("kernel"), inputs)
        lines.append(f'  {names[node]} [label="{label}"];')
        lines += [f"  {names[child]} -> {names[node]};" for child in node.inputs]
    lines.append("}")
    return "\n".join(lines)


def visualize(targets: Sequence[Node]) -> Any:
    """A ``graphviz.Source`` of the plan when graphviz is installed, else the DOT text."""
    dot = to_dot(targets)
    try:
        import graphviz
    except ImportError:
        return dot
    return graphviz.Source(dot)
