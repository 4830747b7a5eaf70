"""Fused kernels, bit-exact with numpy by default: blockwise
(``lazyarray.runtime.kernel.run_blocked``), in blocks of about ``options.block_bytes`` on
``options.threads`` threads, each block through the kernel's block program (ufuncs
writing with ``out=`` into per-thread pooled buffers); sources (random, full ...) are
generated per block and a trailing reduction reduces each block, so nothing of the
kernel's size is ever materialized but its output.

Under ``options.fast_math`` a kernel numexpr can express (float64 arithmetic and math,
comparisons, ``where``) runs through numexpr instead, whole: faster for some
transcendental-heavy kernels, but not bit-identical to numpy (numexpr rewrites division
by a constant and uses other math libraries). A kernel too long or too wide for numexpr,
or one numexpr refuses, runs on the numpy engine.
"""

from __future__ import annotations

import contextvars
import itertools
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import CancelledError, ThreadPoolExecutor
from typing import Any

import numpy as np

from lazyarray.assets import ThreadPool, provided
from lazyarray.config import Options
from lazyarray.graph import Node
from lazyarray.ops.kernel import Kernel
from lazyarray.runtime.kernel import run_blocked

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
# the default kernel pools, one per thread count: runner assets that live as long as the
# process; a ``thread_pool`` asset in force (``lazyarray.assets``) is used instead
_pools: dict[int, ThreadPool] = {}
_pools_lock = threading.Lock()


def _executor(threads: int) -> ThreadPoolExecutor:
    with _pools_lock:
        pool = _pools.get(threads)
        if pool is None:
            pool = ThreadPool(
                "kernel_pool",
                scope="runner",
                params={"threads": threads, "name": f"lazyarray-kernel-{threads}"},
            )
            pool.init()
            _pools[threads] = pool
        executor: ThreadPoolExecutor = pool.obj
        return executor


def block_mapper(options: Options) -> Callable[[Callable[[Any], Any], Sequence[Any]], list[Any]]:
    """Runs ``function`` of each item on the kernel threads: the ``thread_pool`` asset's
    where one is in force, else ``options.threads`` threads."""
    configured: ThreadPoolExecutor | None = provided("kernel_pool")
    threads = configured._max_workers if configured is not None else options.threads or _CORES

    def map_blocks(function: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
        if len(items) == 1 or threads == 1:
            return [function(item) for item in items]
        pool = configured if configured is not None else _executor(threads)
        return map_in_context(pool, function, items, threads)

    return map_blocks


def map_in_context(
    pool: ThreadPoolExecutor, function: Callable[[Any], Any], items: Sequence[Any], workers: int
) -> list[Any]:
    """``[function(item) for item in items]`` on ``workers`` threads of ``pool``, each
    running in a copy of the caller's context, so code in a block sees what the caller
    sees: its open assets (``lazyarray.assets.get``), its config layers, its numpy
    error handling. One copy per worker, not per item; the workers take the items in
    turn, and after a failure start no more; the failure of the lowest item is raised."""
    count = len(items)
    results: list[Any] = [None] * count
    failures: dict[int, BaseException] = {}
    claim = itertools.count()  # next() of a count is atomic: each item is taken once

    def work() -> None:
        while not failures:
            index = next(claim)
            if index >= count:
                return
            try:
                results[index] = function(items[index])
            except BaseException as exc:
                failures[index] = exc
                return

    context = contextvars.copy_context()
    futures = [pool.submit(context.copy().run, work) for _ in range(min(workers, count))]
    try:
        for future in futures:
            future.result()
    except BaseException:  # interrupted while waiting: the workers start no more items
        failures.setdefault(-1, CancelledError())
        raise
    if failures:  # the others go: each keeps its block's frames, whose cells keep them
        first = failures.pop(min(failures))
        failures.clear()
        raise first
    return results


# numexpr parses with Python's parser (at most 200 nested parentheses) and takes a
# bounded number of operands; kernels beyond these run on the numpy engine
NUMEXPR_MAX_DEPTH = 48
NUMEXPR_MAX_INPUTS = 24
NUMEXPR_MAX_CHARS = 20_000


def numexpr_source(kernel: Kernel, input_dtypes: Sequence[str]) -> str | None:
    """The kernel as one numexpr expression over inputs ``in0, in1 ...``, or None if
    numexpr cannot take it (an op or dtype it lacks, too deep, too many inputs)."""
    try:
        import numexpr  # noqa: F401
    except ImportError:
        return None
    if len(input_dtypes) > NUMEXPR_MAX_INPUTS:
        return None
    dtypes = list(input_dtypes) + [dtype.str for dtype in kernel.dtypes]
    names = [f"in{i}" for i in range(len(input_dtypes))]
    depths = [0] * len(input_dtypes)
    for op, refs, attrs, _ in kernel.program:
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
        depth = 1 + max(depths[r] for r in refs)
        source = template.format(*[names[r] for r in refs])
        if depth > NUMEXPR_MAX_DEPTH or len(source) > NUMEXPR_MAX_CHARS:
            return None
        names.append(source)
        depths.append(depth)
    return names[-1]


def _run_numexpr(kernel: Kernel, values: list[Any]) -> Any:
    """The kernel through numexpr, whole, or None where numexpr refuses it. Weak
    numbers are passed as float64 operands, never spelled inline, so numexpr folds
    nothing (it would raise ZeroDivisionError for ``x / 0.0``)."""
    if kernel.sources() or kernel.reduction is not None:
        return None
    input_dtypes = [_WEAK if type(v) in (int, float) else np.asarray(v).dtype.str for v in values]
    source = numexpr_source(kernel, input_dtypes)
    if source is None:
        return None
    import numexpr  # it blocks and threads by itself

    out = np.empty(kernel.result_shape, kernel.result.dtype)
    local = {
        f"in{i}": np.float64(v) if type(v) in (int, float) else v for i, v in enumerate(values)
    }
    try:
        numexpr.evaluate(source, local_dict=local, out=out, casting="unsafe")
    except (SyntaxError, ValueError, TypeError, KeyError, RecursionError, ArithmeticError):
        return None
    return out


def _as_typed(child: Node, value: Any) -> Any:
    """A weakly typed input as the Python number it stands for (a folded or passed
    value may arrive as a numpy scalar), so numpy promotes it as the graph did."""
    weak = child.type.weak
    return weak(value) if weak is not None and type(value) is not weak else value


def run_fused(
    node: Node,
    inputs: list[Any],
    options: Options,
    check: Callable[[], None] | None = None,
) -> Any:
    """The fused ``node`` over ``inputs``; ``check`` runs before each block (the job's
    cancellation check)."""
    kernel: Kernel = node.attr("kernel")
    inputs = [_as_typed(child, value) for child, value in zip(node.inputs, inputs, strict=True)]
    if options.fast_math:
        if check is not None:
            check()
        value = _run_numexpr(kernel, list(inputs))
        if value is not None:
            return value
    value = run_blocked(
        kernel,
        inputs,
        block_bytes=options.block_bytes,
        map_blocks=block_mapper(options),
        check=check,
    )
    return np.asarray(value, dtype=kernel.result.dtype).reshape(kernel.result_shape)[()]
