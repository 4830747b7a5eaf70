"""Fused kernels: through numexpr, whole, when it is installed and every instruction is
one it computes exactly as numpy does (float64 arithmetic and math, comparisons, where);
otherwise blockwise (``lazyarray.ops.kernel.run_blocked``): blocks of about
``config.options.block_bytes`` on a thread pool, sources (random, full) generated per
block and a trailing reduction reducing each block, so nothing of the kernel's size is
ever materialized but its output.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from lazyarray.config import Options
from lazyarray.graph import Node
from lazyarray.ops.kernel import run_blocked

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

_CORES = os.cpu_count() or 1
_pools: dict[int, ThreadPoolExecutor] = {}
_pools_lock = threading.Lock()


def _executor(threads: int) -> ThreadPoolExecutor:
    with _pools_lock:
        pool = _pools.get(threads)
        if pool is None:
            pool = _pools[threads] = ThreadPoolExecutor(
                threads, thread_name_prefix=f"lazyarray-kernel-{threads}"
            )
        return pool


def block_mapper(options: Options) -> Callable[[Callable[[Any], Any], Sequence[Any]], list[Any]]:
    """Runs ``function`` of each item on ``options.threads`` kernel threads."""
    threads = options.threads or _CORES

    def map_blocks(function: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
        if len(items) == 1 or threads == 1:
            return [function(item) for item in items]
        return list(_executor(threads).map(function, items))

    return map_blocks


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


def run_fused(node: Node, inputs: list[Any], options: Options) -> Any:
    program = node.attr("program")
    reduction = node.attr("reduction")
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

    value = run_blocked(
        node.kwargs, values, block_bytes=options.block_bytes, map_blocks=block_mapper(options)
    )
    return np.asarray(value, dtype=dtype_out).reshape(result_shape)[()]
