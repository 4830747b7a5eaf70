"""Long expressions cost memory and time linear in their nodes, and no depth reaches
Python's recursion limit (``benchmarks/bench_scaling.py`` measures the cost per op)."""

from __future__ import annotations

import pickle
import sys
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import lazyarray as la
from lazyarray.planner import make_plan

DATA = np.random.default_rng(0).random(100_000)  # above small_bytes: every stage runs


def chain(ops: int, data: np.ndarray[Any, Any] = DATA) -> Any:
    x = la.Array(data.copy())  # new memory, a new literal: a graph never planned before
    for _ in range(ops // 2):
        x = x * 1.0001 + 0.5
    return x


def plan(x: Any) -> Any:
    options = la.config.snapshot()
    return make_plan([x.node], None, options.disabled, small_bytes=options.small_bytes)


def peak(run: Callable[[], Any]) -> int:
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        run()
        return tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("phase", ["plan", "explain"])
def test_memory_per_op_is_flat(phase: str) -> None:
    """Ten times the ops, about ten times the memory: linear (quadratic would be 100x),
    and a few KiB per op."""
    peaks = {}
    for ops in (500, 5_000):
        x = chain(ops)
        if phase == "explain":
            plan(x)  # explain's own cost: its text
        peaks[ops] = peak(lambda x=x: plan(x) if phase == "plan" else x.explain())
    assert peaks[5_000] < 4 * 1024 * 5_000
    assert peaks[5_000] < 20 * peaks[500] + 2**20


def test_explain_of_a_kernel_reading_an_instruction_twice_is_linear() -> None:
    """``x*x`` squared 16 times: one line per instruction, not 2**16 copies of ``x``."""
    x = la.Array(DATA)
    for _ in range(16):
        x = x * x
    text = x.sum().explain()
    assert "fused" in text
    assert len(text) < 3_000
    assert "t14 = multiply(t13, t13); sum(multiply(t14, t14))" in text


def test_slice_pushes_through_any_depth() -> None:
    """The slice reaches the literal through 1,000 ops: only its 10 elements are read."""
    x = chain(1_000)[:10]
    planned = plan(x)
    assert planned.bytes_read == 10 * DATA.itemsize
    expected = DATA[:10]
    for _ in range(500):
        expected = expected * 1.0001 + 0.5
    with la.config.set(disabled={"fuse"}):  # op by op: kernels of any length are item 1
        np.testing.assert_array_equal(x.compute(cache=False), expected)


def deep_roundtrip(ops: int) -> None:
    small = np.arange(10.0)
    x = chain(ops, small)
    planned = plan(x)
    assert len(planned.steps) == 1  # folded: the chain over 10 elements is a constant
    text = x.explain()
    assert text.startswith("plan: 1 steps")
    big = chain(ops)
    assert plan(big).fused_count == 1
    assert "1 kernels (1 fused)" in big.explain(stage="fuse")
    assert len(big.visualize()) > ops
    restored = pickle.loads(pickle.dumps(big.node))
    assert restored.digest == big.node.digest
    expected = small
    for _ in range(ops // 2):
        expected = expected * 1.0001 + 0.5
    with la.config.set(small_bytes=0, disabled={"fold", "fuse"}):
        np.testing.assert_array_equal(x.compute(cache=False), expected)


def test_deep_graphs_stay_below_the_recursion_limit() -> None:
    """5,000 ops with a recursion limit of 1,000: building, planning, explaining,
    drawing, pickling, digesting and computing never recurse per node."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(1_000)
    try:
        deep_roundtrip(5_000)
    finally:
        sys.setrecursionlimit(limit)


@pytest.mark.soak
def test_hundred_thousand_ops() -> None:
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(1_000)
    try:
        deep_roundtrip(100_000)
    finally:
        sys.setrecursionlimit(limit)
