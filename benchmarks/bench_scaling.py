"""Cost per op of long expressions: building, planning, explaining and computing must be
linear in nodes, so each group's time per op (``make bench`` prints it) stays flat from
1e3 to 1e5 ops, and so does the peak memory per op recorded in ``extra_info``.

Groups:
- scaling-<shape>-<phase>: a chain ``x * 1.0001 + 0.5``, alternating op families, a sum
  of n/2 terms and nested ``where`` over 1e5 float64, at 1e3, 1e4, 1e5 ops. ``compute``
  runs op by op (fusion off): kernels of any length are measured in ``bench_planner.py``.

Building at shallower depths (10 to 3,000 ops, operators and methods) and small
expressions' latency, against numpy, numexpr and dask.array, are in ``bench_laziness.py``.

Under ``make test`` (timing disabled) only the 1e3 size runs, once.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import lazyarray as la
from lazyarray.graph import count_nodes
from lazyarray.planner import make_plan

SIZES = [1_000, 10_000, 100_000]
ELEMENTS = 100_000
DATA = np.random.default_rng(0).random(ELEMENTS)
_FAMILIES: list[Callable[[Any], Any]] = [
    lambda x: x * 1.0001,
    lambda x: x + 0.5,
    la.sin,
    lambda x: x - 0.25,
    abs,
    lambda x: x / 1.5,
]


def chain(x: Any, ops: int) -> Any:
    for _ in range(ops // 2):
        x = x * 1.0001 + 0.5
    return x


def alternating(x: Any, ops: int) -> Any:
    for i in range(ops):
        x = _FAMILIES[i % len(_FAMILIES)](x)
    return x


def wide(x: Any, ops: int) -> Any:
    total = x * 0.0
    for i in range(1, ops // 2):
        total = total + x * float(i)
    return total


def nested_where(x: Any, ops: int) -> Any:
    for _ in range(ops // 4):
        x = la.where(x > 0.5, x * 0.999, x + 0.001)
    return x


SHAPES = {"chain": chain, "alternating": alternating, "wide": wide, "where": nested_where}


def fresh(shape: str, ops: int, elements: int = ELEMENTS) -> Any:
    """A new graph (new memory is a new literal, so nothing is shared with earlier
    rounds, nor planned before)."""
    return SHAPES[shape](la.Array(DATA[:elements].copy()), ops)


def _plan(x: Any) -> Any:
    options = la.config.snapshot()
    return make_plan([x.node], None, options.disabled, small_bytes=options.small_bytes)


def _compute(x: Any) -> Any:
    with la.config.set(disabled={"fuse"}):
        return x.compute(cache=False)


# phase -> (setup: ops -> the argument, run: the measured call)
PHASES: dict[str, tuple[Callable[[str, int], Any], Callable[[Any], Any]]] = {
    "build": (lambda shape, ops: (shape, ops), lambda args: fresh(*args)),
    "plan": (fresh, _plan),
    "explain": (lambda shape, ops: _planned(fresh(shape, ops)), lambda x: x.explain()),
    "digest": (lambda shape, ops: _planned(fresh(shape, ops)), lambda x: _plan(x).digest),
    "compute": (fresh, _compute),
    # under make test: a tenth of the data, enough to run every step once
    "compute-smoke": (lambda shape, ops: fresh(shape, ops, ELEMENTS // 10), _compute),
}


def _planned(x: Any) -> Any:
    _plan(x)
    return x


def peak_per_op(run: Callable[[Any], Any], argument: Any, ops: int) -> int:
    """Peak bytes Python allocates during ``run(argument)``, per op (one untimed run)."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        run(argument)
        return (tracemalloc.get_traced_memory()[1] - before) // ops
    finally:
        tracemalloc.stop()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Under make test (timing disabled) only 1e3 ops, on less data for compute."""
    if metafunc.function is not test_scaling:
        return
    smoke = metafunc.config.getoption("benchmark_disable")
    phases = [phase for phase in PHASES if phase != ("compute" if smoke else "compute-smoke")]
    metafunc.parametrize("shape", list(SHAPES))
    metafunc.parametrize("phase", phases)
    metafunc.parametrize("ops", SIZES[:1] if smoke else SIZES)


def test_scaling(
    benchmark: Any, request: pytest.FixtureRequest, shape: str, phase: str, ops: int
) -> None:
    setup, run = PHASES[phase]
    benchmark.group = f"scaling-{shape}-{phase}"
    probe = setup(shape, ops)
    nodes = count_nodes([fresh(shape, ops).node]) if phase == "build" else count_nodes([probe.node])
    benchmark.extra_info["ops"] = nodes
    if not request.config.getoption("benchmark_disable"):
        benchmark.extra_info["peak_bytes_per_op"] = peak_per_op(run, setup(shape, ops), nodes)
    rounds = 1 if ops >= 100_000 else 3
    result = benchmark.pedantic(
        run, setup=lambda: ((setup(shape, ops),), {}), rounds=rounds, iterations=1
    )
    if phase.startswith("compute"):
        assert result.shape == probe.shape
