"""Fused kernels, run blockwise: the elementwise shape is cut along its first axis into
blocks of about ``config.options.block_bytes``, run on a thread pool; sources inside the
kernel (random, full) are generated per block, and a trailing reduction reduces each
block, so nothing of the kernel's size is ever materialized but its output.

Each block runs through numexpr when it is installed and every instruction is one it
computes exactly as numpy does (float64 arithmetic and math, comparisons, where);
otherwise through numpy, one ufunc after another.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from lazyarray.config import options
from lazyarray.graph import Node
from lazyarray.ops import OPS
from lazyarray.ops.creation import RANDOM_BLOCK
from lazyarray.ops.indexing import encode_index
from lazyarray.ops.kernel import run_program

_FLOAT = np.dtype(np.float64).str
_BOOL = np.dtype(np.bool_).str
_WEAK = "weak"  # a Python int or float input

# op -> numexpr template, and the operand dtype it needs ("f": float64, "b": bool)
NUMEXPR: dict[str, tuple[str, str]] = {
    "add": ("({0} + {1})", "f"),
    "subtract": ("({0} - {1})", "f"),
    "multiply": ("({0} * {1})", "f"),
    "divide": ("({0} / {1})", "f"),
    "power": ("({0} ** {1})", "f"),
    "negative": ("(-{0})", "f"),
    "absolute": ("abs({0})", "f"),
    "square": ("({0} * {0})", "f"),
    "arctan2": ("arctan2({0}, {1})", "f"),
    "less": ("({0} < {1})", "f"),
    "less_equal": ("({0} <= {1})", "f"),
    "greater": ("({0} > {1})", "f"),
    "greater_equal": ("({0} >= {1})", "f"),
    "equal": ("({0} == {1})", "f"),
    "not_equal": ("({0} != {1})", "f"),
    "logical_and": ("({0} & {1})", "b"),
    "logical_or": ("({0} | {1})", "b"),
    "logical_not": ("(~{0})", "b"),
    "where": ("where({0}, {1}, {2})", "w"),
    **{
        name: (f"{name}({{0}})", "f")
        for name in (
            "sqrt",
            "exp",
            "expm1",
            "log",
            "log1p",
            "log10",
            "sin",
            "cos",
            "tan",
            "arcsin",
            "arccos",
            "arctan",
            "sinh",
            "cosh",
            "tanh",
            "arcsinh",
            "arccosh",
            "arctanh",
        )
    },
}

_pool: ThreadPoolExecutor | None = None


_CORES = os.cpu_count() or 1


def _threads() -> int:
    return options.threads or _CORES


def _executor() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(_threads(), thread_name_prefix="lazyarray-kernel")
    return _pool


def numexpr_source(
    node: Node, input_dtypes: Sequence[str], literals: Mapping[int, str] | None = None
) -> str | None:
    """The kernel as one numexpr expression, or None if numexpr would not compute it
    exactly as numpy. ``literals`` spells some inputs (weak Python numbers) inline."""
    try:
        import numexpr  # noqa: F401
    except ImportError:
        return None
    program = node.attr("program")
    dtypes = list(input_dtypes) + list(node.attr("dtypes"))
    names = [(literals or {}).get(i, f"in{i}") for i in range(len(input_dtypes))]
    for op, refs, attrs in program:
        entry = NUMEXPR.get(op)
        if entry is None or attrs or not refs:
            return None
        template, needs = entry
        # a weak Python number meeting a float64 becomes float64 (NEP 50), as in numexpr
        operand_dtypes = [_FLOAT if dtypes[r] == _WEAK else dtypes[r] for r in refs]
        wanted = {
            "f": [_FLOAT] * len(refs),
            "b": [_BOOL] * len(refs),
            "w": [_BOOL, _FLOAT, _FLOAT],
        }[needs]
        if operand_dtypes != wanted:
            return None
        names.append(template.format(*[names[r] for r in refs]))
    return names[-1]


def run_fused(node: Node, inputs: list[Any]) -> Any:
    shape: tuple[int, ...] = node.attr("shape")
    program = node.attr("program")
    reduction = node.attr("reduction")
    dtype = np.dtype(node.attr("dtypes")[-1])
    values = list(inputs)
    input_dtypes = [_WEAK if type(v) in (int, float) else np.asarray(v).dtype.str for v in values]
    literals = {
        i: f"({float(v)!r})"
        for i, v in enumerate(values)
        if type(v) in (int, float) and math.isfinite(v)
    }
    source = numexpr_source(node, input_dtypes, literals)
    if source is not None:
        values = [np.float64(v) if type(v) in (int, float) else v for v in values]
    dtype_out, result_shape, _ = node.attr("result")
    generated_any = any(not refs for _, refs, _ in program)
    if source is not None and not generated_any and reduction is None:
        import numexpr  # it blocks and threads by itself

        whole_out = np.empty(result_shape, dtype_out)
        local = {f"in{i}": v for i, v in enumerate(values)}
        numexpr.evaluate(source, local_dict=local, out=whole_out, casting="unsafe")
        return whole_out

    rows = shape[0] if shape else 1
    row_size = math.prod(shape[1:]) if len(shape) > 1 else 1
    per_block = max(1, options.block_bytes // max(1, row_size * dtype.itemsize))
    if generated_any and RANDOM_BLOCK % row_size == 0:
        # whole random blocks per kernel block: none is drawn twice
        rows_per_random_block = RANDOM_BLOCK // row_size
        per_block = max(1, round(per_block / rows_per_random_block)) * rows_per_random_block
    bounds = [(start, min(start + per_block, rows)) for start in range(0, rows, per_block)]
    if not shape or rows == 0:
        bounds = [(0, rows if shape else 1)]
    axis = None if reduction is None else dict(reduction[1]).get("axis")
    # reducing across blocks (axis None, or one including the blocked axis 0): each
    # block's partial result is combined after; otherwise blocks fill their own rows
    whole = reduction is not None and (axis is None or 0 in axis)
    out: np.ndarray[Any, Any] | None = None if whole else np.empty(result_shape, dtype_out)

    def block(bound: tuple[int, int]) -> Any:
        start, stop = bound
        local = [_block_of(v, shape, start, stop) for v in values]
        # numpy per block: numexpr's own threads would fight the pool's
        value = run_program(program, local, _generate(program, shape, start, stop))
        if reduction is not None:
            op, attrs = reduction
            value = OPS[op].impl(value, **dict(attrs))
        if out is None:
            return value
        if out.ndim:
            out[start:stop] = value
        else:
            out[()] = value
        return None

    parts = [block(bounds[0])] if len(bounds) == 1 else list(_executor().map(block, bounds))
    if out is not None:
        return out
    op, _ = reduction
    combined = OPS[op].impl(np.stack([np.asarray(p) for p in parts]), axis=(0,))
    return np.asarray(combined, dtype=dtype_out).reshape(result_shape)[()]


def _block_of(value: Any, shape: tuple[int, ...], start: int, stop: int) -> Any:
    """The rows [start, stop) of an input broadcast to ``shape`` (broadcast dims whole)."""
    if not isinstance(value, np.ndarray) or value.ndim != len(shape) or not shape:
        return value
    if value.shape[0] == 1 and shape[0] != 1:
        return value
    return value[start:stop]


def _generate(program: Any, shape: tuple[int, ...], start: int, stop: int) -> dict[int, Any]:
    """Values of the kernel's source instructions for rows [start, stop)."""
    generated: dict[int, Any] = {}
    for position, (op, refs, attrs) in enumerate(program):
        if refs:
            continue
        kwargs = dict(attrs)
        own = tuple(kwargs["shape"])
        blockwise = len(own) == len(shape) and shape and own[0] == shape[0]
        if op == "random":
            if blockwise:
                index = (slice(start, stop, 1),) + tuple(slice(0, n, 1) for n in own[1:])
                kwargs["region"] = encode_index(index)
            generated[position] = OPS[op].impl(**kwargs)
        elif op == "full":
            if blockwise:
                kwargs["shape"] = (stop - start, *own[1:])
            generated[position] = OPS[op].impl(**kwargs)
    return generated
