"""lazyarray.testing itself: the refusing backend, the conformance suite's reach (every
op row, each mode handing the backend what it says), its documented ways to run, and
the suite failing toy third-party backends that break the protocol."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import lazyarray as la
from lazyarray.backend import Backend, register_backend
from lazyarray.errors import ComputeError, ImplicitComputeError
from lazyarray.graph import Literal, toposort
from lazyarray.jobs import RunContext
from lazyarray.ops import OPS, Kind
from lazyarray.planner import Plan
from lazyarray.testing import RefusingBackend, refusing
from lazyarray.testing.suite import cases
from lazyarray.testing.suite.elementwise import UFUNC_ROWS
from lazyarray.testing.suite.harness import MODES, site_of
from lazyarray.testing.suite.jobs import failing
from lazyarray.testing.suite.structural import RANDOM
from lazyarray_numpy import NumpyBackend
from lazyarray_numpy.backend import run_node

pytest_plugins = ["pytester"]


# --- the refusing backend --------------------------------------------------------------


def test_building_computes_nothing_and_computing_fails() -> None:
    with refusing():
        x = la.Array(np.arange(6.0)).reshape(2, 3)
        y = (la.sin(x) * 2).sum(axis=0)
        assert y.shape == (3,) and y.dtype == np.float64
        with pytest.raises(ValueError, match="broadcast"):
            x + la.Array(np.ones(4))
        with pytest.raises(AssertionError, match="computed while it was only being built"):
            y.compute()
        with pytest.raises(AssertionError, match="computed while it was only being built"):
            y.compute(block=False)
        with pytest.raises(ImplicitComputeError):
            bool(y[0] > 0)
    assert la.get_backend("refuse").name == RefusingBackend.name
    expected = (np.sin(np.arange(6.0).reshape(2, 3)) * 2).sum(axis=0)
    np.testing.assert_array_equal(y.compute(), expected)


def test_the_suites_expressions_name_their_own_lines() -> None:
    # lazyarray.testing writes expressions as a user does: not attributed to pytest's lines
    assert re.search(r"lazyarray[/\\]testing[/\\]suite[/\\]jobs\.py:\d+$", site_of(failing))


# --- the suite's reach ---------------------------------------------------------------


def _ops(lazy: Any) -> set[str]:
    return {node.op for node in toposort([lazy.node])}


def test_every_op_row_is_in_the_suite() -> None:
    generated = {Kind.REDUCTION, Kind.SCAN}  # every row, from the table
    used = {name for name, row in OPS.items() if row.kind in generated}
    used |= set(UFUNC_ROWS)
    a, b = cases.X, cases.X[::-1]
    for build in cases.ELEMENTWISE.values():
        used |= _ops(build(la, la.Array(a), la.Array(b)))
    for case in cases.STRUCTURAL.values():
        used |= _ops(case(la, la.Array(cases.X)))
    for case in cases.MASKED.values():
        used |= _ops(case(la, la.MaskedArray(cases.MASKED_X)))
    for draw in RANDOM.values():
        used |= _ops(draw(la.random.default_rng(0)))
    # the planned mode's kernels and masked ops split into data and mask (below);
    # TestResults' parameters; the dask backend's own source (from_dask), which no other
    # backend receives; sources read from storage, which need fsspec (tests/test_sources.py
    # runs them on both backends)
    elsewhere = {"fused", "masked_result", "parameter", "dask_array", "read"}
    assert set(OPS) - used - elsewhere == set()


class Recording(Backend):
    """numpy's execution, recording the ops each plan hands it."""

    name = "recording"
    capabilities = NumpyBackend.capabilities

    def __init__(self) -> None:
        self.ops: set[str] = set()

    def execute(self, plan: Plan, arguments: Mapping[str, Any], context: RunContext) -> list[Any]:
        self.ops |= {node.op for node in plan.steps}
        return NumpyBackend().execute(plan, arguments, context)


@pytest.mark.parametrize(
    ("mode", "received"),
    [
        ("as_written", {"sin", "multiply", "parameter"}),
        ("planned", {"fused", "masked_result"}),
    ],
)
def test_each_mode_hands_the_backend_what_it_says(mode: str, received: set[str]) -> None:
    recording = Recording()
    x = la.parameter("x", la.Array, dtype="float64")
    masked = la.MaskedArray(cases.MASKED_X)
    with la.config.set(**MODES[mode]):
        la.compute(
            la.sin(x) * 2, la.sin(masked) * 2, x=np.arange(3.0), backend=recording, cache=False
        )
    assert received <= recording.ops, recording.ops


# --- the suite can fail: toy third-party backends that break the protocol ------------


class Faithful(Backend):
    """A third-party backend in a few lines: numpy's plan execution, declaring nothing,
    so the suite expects masked arrays and unknown sizes refused before running."""

    name = "toy-faithful"

    def execute(self, plan: Plan, arguments: Mapping[str, Any], context: RunContext) -> list[Any]:
        return NumpyBackend().execute(plan, arguments, context)


class OneUlpOff(Faithful):
    name = "toy-one-ulp-off"
    capabilities = NumpyBackend.capabilities

    def execute(self, plan: Plan, arguments: Mapping[str, Any], context: RunContext) -> list[Any]:
        values = super().execute(plan, arguments, context)
        return [np.nextafter(v, np.inf) if np.asarray(v).dtype.kind == "f" else v for v in values]


class DropsMasks(Faithful):
    name = "toy-drops-masks"
    capabilities = NumpyBackend.capabilities

    def execute(self, plan: Plan, arguments: Mapping[str, Any], context: RunContext) -> list[Any]:
        return [np.ma.getdata(v) for v in super().execute(plan, arguments, context)]


class UnwrapsErrors(Faithful):
    name = "toy-unwraps-errors"
    capabilities = NumpyBackend.capabilities

    def execute(self, plan: Plan, arguments: Mapping[str, Any], context: RunContext) -> list[Any]:
        try:
            return super().execute(plan, arguments, context)
        except ComputeError as error:
            raise error.original from None  # type: ignore[misc]


class ReusesResults(Faithful):
    """Keeps its results and hands the same arrays out again."""

    name = "toy-reuses-results"
    capabilities = NumpyBackend.capabilities

    def __init__(self) -> None:
        self.kept: dict[str, list[Any]] = {}

    def execute(self, plan: Plan, arguments: Mapping[str, Any], context: RunContext) -> list[Any]:
        if plan.digest not in self.kept:
            self.kept[plan.digest] = super().execute(plan, arguments, context)
        return self.kept[plan.digest]


class ChecksNoMemory(Faithful):
    """Runs each step with numpy's op implementations, never checking what fits."""

    name = "toy-checks-no-memory"
    capabilities = NumpyBackend.capabilities

    def execute(self, plan: Plan, arguments: Mapping[str, Any], context: RunContext) -> list[Any]:
        values: dict[Any, Any] = {}
        for node in plan.steps:
            if node.op == "parameter":
                values[node] = arguments[node.attr("name")]
            elif node.op == "constant":
                value = node.attr("value")
                values[node] = value.value if isinstance(value, Literal) else value
            else:
                inputs = [values[child] for child in node.inputs]
                values[node] = run_node(node, inputs, context.options)
        return [values[node] for node in plan.outputs]


for _toy in (Faithful, OneUlpOff, DropsMasks, UnwrapsErrors, ReusesResults, ChecksNoMemory):
    register_backend(_toy())

# a backend's own test module, as docs/writing-a-backend.md shows it
_DOCS = Path(__file__).parent.parent / "docs" / "writing-a-backend.md"
_DOCUMENTED = re.search(r"```python\n(# test_conformance\.py.*?)```", _DOCS.read_text(), re.S)
_NOT_INSTALLED = """

@pytest.fixture
def known_failures():
    reason = "registered by the test that defines it, not installed"
    return {"test_it_is_found_through_its_entry_point": (AssertionError, reason)}
"""


def _run_suite(pytester: pytest.Pytester, backend: str, selection: str) -> pytest.RunResult:
    assert _DOCUMENTED is not None, f"no conformance module in {_DOCS}"
    module = _DOCUMENTED.group(1).replace('"mybackend"', repr(backend))
    pytester.makepyfile(test_conformance=module + ("" if backend == "numpy" else _NOT_INSTALLED))
    return pytester.runpytest("-p", "no:cacheprovider", "-q", "-k", selection)


def test_the_documented_module_runs_the_suite(pytester: pytest.Pytester) -> None:
    result = _run_suite(pytester, "numpy", "TestStructural and slice or TestCapabilities")
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed", 0) >= 5 and "failed" not in outcomes, outcomes


def test_the_plugin_runs_the_suite_without_a_module(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest(
        "-p",
        "lazyarray.testing.plugin",
        "--lazyarray-backend",
        "numpy",
        "--pyargs",
        "lazyarray.testing.conformance",
        "-p",
        "no:cacheprovider",
        "-q",
        "-k",
        "TestStructural and slice or TestCapabilities",
    )
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed", 0) >= 5 and "failed" not in outcomes, outcomes


def test_a_faithful_backend_declaring_nothing_passes(pytester: pytest.Pytester) -> None:
    selection = "TestStructural or TestCapabilities or TestResults or TestOutputsFit"
    result = _run_suite(pytester, Faithful.name, selection)
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed", 0) > 100 and "failed" not in outcomes, outcomes
    assert outcomes.get("xfailed") == 1, outcomes  # registered, not installed


@pytest.mark.parametrize(
    ("toy", "selection", "caught"),
    [
        (OneUlpOff, "TestElementwise and test_row and (sin or add)", "TestElementwise::test_row[*"),
        (DropsMasks, "test_masked_case", "TestStructural::test_masked_case[*-reshape]"),
        (UnwrapsErrors, "TestErrors", "TestErrors::test_a_failure_names_the_op_and_the_line[*"),
        (ReusesResults, "callers_own", "TestResults::test_a_result_is_the_callers_own[*"),
        (ChecksNoMemory, "TestOutputsFit", "TestOutputsFit::test_a_result_too_big_is_*"),
    ],
    ids=["one-ulp-off", "drops-masks", "unwraps-errors", "reuses-results", "checks-no-memory"],
)
def test_a_backend_breaking_the_protocol_fails_the_suite(
    pytester: pytest.Pytester, toy: type[Backend], selection: str, caught: str
) -> None:
    result = _run_suite(pytester, toy.name, selection)
    assert result.parseoutcomes().get("failed", 0) >= 1, result.parseoutcomes()
    result.stdout.fnmatch_lines([f"FAILED *{caught}*"])
