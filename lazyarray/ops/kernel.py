"""The fused kernel op: a small program of elementwise instructions over the kernel's
inputs, optionally ending in a reduction. Produced by the planner's fusion pass; its numpy
implementation below is the reference any backend can fall back on (the numpy backend
runs kernels blockwise instead)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from lazyarray.graph import Node
from lazyarray.ops.registry import OPS, Kind, OpDef, register
from lazyarray.types import ArrayType

# An instruction: (op name, references, attributes). A reference below the number of
# kernel inputs names an input; above, an earlier instruction's result.
Instruction = tuple[str, tuple[int, ...], tuple[tuple[str, Any], ...]]


def run_program(
    program: Sequence[Instruction],
    inputs: Sequence[Any],
    generated: Mapping[int, Any] | None = None,
) -> Any:
    """Evaluates ``program``; ``generated`` supplies values for source instructions
    (random, full) already produced for the region being computed."""
    values: list[Any] = list(inputs)
    for position, (op, refs, attrs) in enumerate(program):
        if generated is not None and position in generated:
            values.append(generated[position])
            continue
        values.append(OPS[op].impl(*[values[r] for r in refs], **dict(attrs)))
    return values[-1]


def _fused(
    *inputs: Any,
    program: tuple[Instruction, ...],
    reduction: Any,
    result: Any,
    shape: Any = None,
    dtypes: Any = None,
) -> Any:
    value = run_program(program, inputs)
    if reduction is None:
        return value
    op, attrs = reduction
    return OPS[op].impl(value, **dict(attrs))


def _fused_rule(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
    return ArrayType(*attrs["result"])


register(OpDef("fused", Kind.KERNEL, _fused, _fused_rule, None))
