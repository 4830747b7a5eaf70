"""The stages: order, each alone, IR invariants after each, golden explain outputs, the
memory check, and plans reused between computes."""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
import pytest

import lazyarray as la
from lazyarray.graph import Node, toposort
from lazyarray.ops import OPS
from lazyarray.planner import make_plan
from lazyarray.planner.passes import STAGES, optimize
from tests.cases import sample
from tests.planner.helpers import assert_identical, run_as_is

A, B = sample("float64", (40, 30), seed=1), sample("float64", (40, 30), seed=2)


def expressions() -> list[Any]:
    a, b = la.Array(A), la.Array(B)
    k = la.parameter("k", la.Scalar)
    return [
        ((a * 1 + b) * k)[3:7].sum(axis=1),
        la.where(True, -(-a), b).T.T[::2],
        (la.exp(a) * b + la.exp(a) * b) ** 2,
        la.concatenate([a, b * 2], axis=0)[35:45, 5],
        (a.astype("int32").astype("int64") * 0 + 3).sum(),
    ]


def check_invariants(outputs: tuple[Node, ...]) -> None:
    """Every node is well typed by its own row; parameters are gone once bound."""
    for node in toposort(outputs):
        assert node.type == OPS[node.op].infer(node.inputs, node.kwargs), node
        assert node.op != "parameter"


def same(actual: Any, expected: Any, stage: str) -> None:
    """Bit-identical, except that fused kernels may run transcendental functions through
    numexpr, whose libm can differ from numpy's in the last bit."""
    if stage == "fuse":
        np.testing.assert_allclose(actual, expected, rtol=1e-14, atol=0)
    else:
        assert_identical(actual, expected)


def test_stages_run_in_the_documented_order() -> None:
    assert [s.name for s in STAGES] == [
        "bind",
        "fold",
        "simplify",
        "pushdown",
        "decompose",
        "unmask",
        "fuse",
    ]


@pytest.mark.parametrize("index", range(5))
def test_invariants_and_values_after_every_stage(index: int) -> None:
    expression = expressions()[index]
    arguments = {"k": np.float64(1.5)} if expression.params else {}
    expected = run_as_is(optimize((expression.node,), arguments, only=frozenset({"bind"})))[0]
    for stage in STAGES:
        outputs = optimize((expression.node,), arguments, until=stage.name)
        check_invariants(outputs)
        same(run_as_is(outputs)[0], expected, stage.name)


@pytest.mark.parametrize("stage", [s.name for s in STAGES])
@pytest.mark.parametrize("index", range(5))
def test_each_stage_alone(stage: str, index: int) -> None:
    expression = expressions()[index]
    arguments = {"k": np.float64(1.5)} if expression.params else {}
    expected = run_as_is(optimize((expression.node,), arguments, only=frozenset({"bind"})))[0]
    outputs = optimize((expression.node,), arguments, only=frozenset({"bind", stage}))
    same(run_as_is(outputs)[0], expected, stage)


def test_what_rewrites_make_equal_is_one_node() -> None:
    a = la.Array(A)
    twice = (a * 1) + a  # simplify turns a*1 into a: then add(a, a), built interned
    outputs = optimize((twice.node,), {}, only=frozenset({"simplify"}))
    assert outputs[0].inputs[0] is outputs[0].inputs[1]


def test_dead_nodes_never_reach_a_plan() -> None:
    a = la.Array(A)
    unused = la.sin(a) * 2  # noqa: F841 - built, never computed
    plan = make_plan([(a + 1).sum().node])
    assert {node.op for node in plan.steps} <= {"constant", "fused", "add", "sum"}


def test_plans_are_reused() -> None:
    node = (la.Array(A) * 2).sum().node
    assert make_plan([node]) is make_plan([node])


def test_memory_limit_refuses_before_running() -> None:
    x = la.random.default_rng(0).random((20_000, 20_000))  # 3.2 GB
    with la.config.set(memory_limit=2**30), pytest.raises(la.ResourceExhausted, match="slice"):
        (x + 1).compute()  # the result itself cannot fit: no backend is suggested
    with la.config.set(memory_limit=2**30):  # a reduction of it runs blockwise: allowed
        assert 0.49 < float((x[:2000] + 1).mean()) - 1 < 0.51


GOLDEN_EXPLAIN = """\
plan: 4 steps, 1 kernels (1 fused)
  bytes read 1.2 KiB, written 8 B, peak 1.6 KiB (estimated)
  %0 = constant -> float64 (50,)  literal 400 B
  %1 = constant -> float64 (50,)  literal 400 B
  %2 = constant -> float64 (50,)  literal 400 B
  %3 = fused(%0, %1, %2) -> float64 ()  sum(add(multiply(%0, %1), %2))
  outputs: %3"""


def test_golden_explain() -> None:
    a, b, c = (la.Array(np.arange(10_000.0) + i) for i in range(3))
    with la.config.set(threads=1):
        assert (a * b + c)[100:150].sum().explain() == GOLDEN_EXPLAIN


GOLDEN_STAGE = """\
after simplify:
plan: 3 steps, 2 kernels (0 fused)
  %0 = constant -> float64 (10000,)  literal 78.1 KiB
  %1 = negative(%0) -> float64 (10000,)
  %2 = sum(%1) -> float64 ()
  outputs: %2"""


def test_golden_explain_after_a_stage() -> None:
    a = la.Array(np.arange(10_000.0))
    text = (-(-(-a)) * 1).sum().explain(stage="simplify")
    lines = [line for line in text.splitlines() if "bytes read" not in line]
    assert "\n".join(lines) == GOLDEN_STAGE


def test_visualize_falls_back_to_dot() -> None:
    dot = (la.Array(np.ones((300, 300))) * 2 + 1).visualize()
    text = dot if isinstance(dot, str) else dot.source
    assert text.startswith("digraph lazyarray")
    assert "fused" in text


@pytest.mark.parametrize("backend", ["numpy", "dask"])
def test_a_fold_that_would_warn_is_left_to_the_run(backend: str) -> None:
    """Folding ``1 / 0`` at plan time would swallow numpy's warning (or a raise the
    caller asked for): the run does it, under the caller's errstate."""
    ratio = la.Array(np.arange(1.0, 9.0)) / 0.0
    for run in (
        lambda: ratio.compute(backend=backend, cache=False),
        lambda: ratio.inspect(backend=backend, cache=False),
        lambda: ratio.compute(backend=backend, cache=False, block=False).result(),
    ):
        with pytest.warns(RuntimeWarning, match="divide by zero"):
            np.testing.assert_array_equal(run(), np.full(8, np.inf))
    with np.errstate(divide="raise"):  # the caller's errstate, wherever the job runs
        for run in (
            lambda: ratio.compute(backend=backend, cache=False),
            lambda: ratio.inspect(backend=backend, cache=False),
            lambda: ratio.compute(backend=backend, cache=False, block=False).result(),
        ):
            with pytest.raises(la.ComputeError, match="divide by zero"):
                run()
    folded = la.Array(np.arange(1.0, 9.0)) / 2.0  # nothing to warn: folded as before
    assert make_plan([folded.node]).steps[-1].op == "constant"


@pytest.mark.parametrize("backend", ["numpy", "dask"])
def test_an_error_a_rewrite_finds_is_the_runs(backend: str) -> None:
    """A constant index folded out of range: the fold leaves the take as written,
    and the run raises the ComputeError an unplanned compute raises, at the user's line."""
    values = la.asarray(np.arange(9.0).reshape(3, 3))
    index = (values.sum() * 0 + 100).astype("int64")
    picked = la.take(values.ravel(), index)
    line = sys._getframe().f_lineno - 1
    job = picked.compute(backend=backend, cache=False, block=False)  # refuses nothing yet
    for run in (
        lambda: picked.compute(backend=backend, cache=False),
        lambda: picked.inspect(backend=backend, cache=False),
        job.result,
    ):
        with pytest.raises(la.ComputeError, match="take failed: IndexError") as raised:
            run()
        assert f"test_passes.py:{line}" in str(raised.value)
