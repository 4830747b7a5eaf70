"""Slice pushdown: every rule alone against numpy, and the plan's numbers: an index on a
large expression reads only what it selects."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import lazyarray as la
from lazyarray.planner import make_plan
from lazyarray.planner.pushdown import PUSHDOWN
from tests.cases import sample
from tests.planner.helpers import assert_identical, only, run_as_is

A = sample("float64", (6, 5), seed=1)
B = sample("float64", (6, 5), seed=2)
ROW = sample("float64", (5,), seed=3)

# rule, expression of (module, a, b, row), whether the rule fires
CASES: list[tuple[str, Any, bool]] = [
    ("slice_of_slice", lambda m, a, b, r: (a + b)[1:][::2, 3], True),
    ("slice_of_slice", lambda m, a, b, r: (a + b)[::-1][1:4, ::-2], True),
    ("slice_constant", lambda m, a, b, r: a[2:4], True),
    ("slice_source", lambda m, a, b, r: m.full((6, 5), 2.5)[1:3, 4], True),
    ("slice_source", lambda m, a, b, r: m.arange(0.5, 30, 0.7)[3:25:4], True),
    ("slice_source", lambda m, a, b, r: m.arange(40, dtype="int16")[::-3][2:9][None, ::2], True),
    ("slice_source", lambda m, a, b, r: m.linspace(0, 1, 31)[::-2][1:], True),
    ("slice_source", lambda m, a, b, r: m.linspace(-1, 2, 17, endpoint=False)[5], True),
    ("slice_source", lambda m, a, b, r: m.eye(6, 5, k=1)[None, 2:, 3], True),
    ("slice_source", lambda m, a, b, r: m.eye(7, dtype="int8")[1:6][::-1, 2:][1], True),
    ("slice_through_elementwise", lambda m, a, b, r: (a * b - r)[2:5, -1], True),
    ("slice_through_elementwise", lambda m, a, b, r: m.sin(a)[None, 1, ::2], True),
    ("slice_through_elementwise", lambda m, a, b, r: m.where(a > 0, b, r)[3], True),
    ("slice_through_elementwise", lambda m, a, b, r: (a[:, :1] + r)[2:4, 1:3], True),
    (
        "slice_through_broadcast_to",
        lambda m, a, b, r: m.broadcast_to(r, (4, 6, 5))[1, 2:, ::2],
        True,
    ),
    ("slice_through_transpose", lambda m, a, b, r: (a + b).T[1:3, 4], True),
    (
        "slice_through_transpose",
        lambda m, a, b, r: m.transpose((a + b)[None], (2, 0, 1))[3, :, 1:],
        True,
    ),
    ("slice_through_reduction", lambda m, a, b, r: (a * b).sum(axis=0)[1:3], True),
    (
        "slice_through_reduction",
        lambda m, a, b, r: (a * b).max(axis=1, keepdims=True)[2:4, :],
        True,
    ),
    ("slice_through_reduction", lambda m, a, b, r: m.stack([a, b]).mean(axis=(0, 2))[4], True),
    (
        "slice_through_reduction",
        lambda m, a, b, r: (a * b).sum(axis=1, keepdims=True)[:, 1:],
        False,
    ),
    ("slice_through_concatenate", lambda m, a, b, r: m.concatenate([a, b], axis=0)[4:9], True),
    ("slice_through_concatenate", lambda m, a, b, r: m.concatenate([a, b], axis=1)[:, 7], True),
    (
        "slice_through_concatenate",
        lambda m, a, b, r: m.concatenate([a, b, a], axis=0)[1:17:5],
        True,
    ),
    ("slice_through_concatenate", lambda m, a, b, r: m.concatenate([a, b], axis=0)[::-1], False),
]


def _lazy(build: Any) -> Any:
    # unknown to the folder: these stay expressions until the rule under test runs
    return build(la, la.Array(A), la.Array(B), la.Array(ROW))


@pytest.mark.parametrize(("rule", "build", "fires"), CASES)
def test_pushdown_rule_alone(rule: str, build: Any, fires: bool) -> None:
    expected = build(np, A.copy(), B.copy(), ROW.copy())
    node = _lazy(build).node
    optimized = only(node, rule)
    assert (optimized is not node) == fires
    assert_identical(run_as_is((optimized,))[0], expected)


@pytest.mark.parametrize(("rule", "build", "fires"), CASES)
def test_whole_stage(rule: str, build: Any, fires: bool) -> None:
    expected = build(np, A.copy(), B.copy(), ROW.copy())
    assert_identical(run_as_is((only(_lazy(build).node, "pushdown"),))[0], expected)


def test_every_pushdown_rule_has_cases() -> None:
    assert {case[0] for case in CASES if case[2]} == {rule.name for rule in PUSHDOWN}


def test_a_slice_reads_only_what_it_selects() -> None:
    n = 1_000_000
    a, b, c = (la.Array(np.random.default_rng(i).random(n)) for i in range(3))
    expression = (a * b + c)[1000:1100].sum()
    with la.config.set(disabled={"pushdown"}):
        unpushed = make_plan([expression.node], None, frozenset({"pushdown"}))
    pushed = make_plan([expression.node])
    assert unpushed.bytes_read == 3 * n * 8
    assert pushed.bytes_read == 3 * 100 * 8
    data = [np.random.default_rng(i).random(n) for i in range(3)]
    expected = (data[0] * data[1] + data[2])[1000:1100].sum()
    np.testing.assert_allclose(expression.compute(cache=False), expected, rtol=1e-13)


def test_random_sources_generate_only_the_slice() -> None:
    rng = la.random.default_rng(5)
    big = rng.normal(size=(100_000, 100_000))  # 80 GB if materialized
    part = (big * 2 + 1)[12_345:12_348, 99_990:]
    plan = make_plan([part.node])
    assert plan.bytes_read == 3 * 10 * 8
    small = la.random.default_rng(5).normal(size=(100_000, 100_000))
    rows = small[12_345:12_348]  # 2.4 MB: rows are contiguous
    np.testing.assert_array_equal(part.compute(), rows.compute()[:, 99_990:] * 2 + 1)


def test_random_region_matches_the_whole_array() -> None:
    whole = la.random.default_rng(9).random((300, 200)).compute()
    x = la.random.default_rng(9).random((300, 200))
    for index in [
        (slice(5, 250, 7), 3),
        (slice(None, None, -3), slice(10, 20)),
        (299, slice(-5, None)),
    ]:
        np.testing.assert_array_equal(x[index].compute(), whole[index])
        np.testing.assert_array_equal(x[index][::2].compute(), whole[index][::2])


@st.composite
def basic_indexes(draw: st.DrawFn, shape: tuple[int, ...]) -> tuple[Any, ...]:
    items: list[Any] = []
    for size in shape:
        if draw(st.booleans()):
            items.append(draw(st.integers(-size, size - 1)))
        else:
            start = draw(st.none() | st.integers(-size - 2, size + 2))
            stop = draw(st.none() | st.integers(-size - 2, size + 2))
            step = draw(st.none() | st.integers(-3, 3).filter(bool))
            items.append(slice(start, stop, step))
    if draw(st.booleans()):
        items.insert(draw(st.integers(0, len(items))), None)
    return tuple(items)


EXPRESSIONS = [
    lambda m, a, b, r: a * b - r,
    lambda m, a, b, r: m.transpose(a + b).T,
    lambda m, a, b, r: m.concatenate([a, b], axis=0)[:6] ** 2,
    lambda m, a, b, r: m.exp(a).sum(axis=0, keepdims=True) + b,
    lambda m, a, b, r: m.where(a > b, m.broadcast_to(r, (6, 5)), 0.5),
]


@given(st.sampled_from(range(len(EXPRESSIONS))), basic_indexes((6, 5)))
def test_random_indexes_push_down_exactly(which: int, index: tuple[Any, ...]) -> None:
    build = EXPRESSIONS[which]
    expected = build(np, A.copy(), B.copy(), ROW.copy())[index]
    lazy = _lazy(build)[index]
    assert_identical(run_as_is((only(lazy.node, "pushdown"),))[0], expected)
    assert_identical(lazy.compute(cache=False), expected)


@pytest.mark.parametrize(
    "build",
    [
        lambda ma, a, b: ma.masked_array(a, a > b)[1:3, ::2],
        lambda ma, a, b: ma.masked_array(a, b > 0).filled(0.0)[2],
        lambda ma, a, b: ma.getmaskarray(ma.masked_array(a, a > b))[4, 1:],
    ],
)
def test_slices_move_through_numpy_ma_constructors(build: Any) -> None:
    expected = build(np.ma, A.copy(), B.copy())
    lazy = build(la, la.Array(A), la.Array(B))
    optimized = only(lazy.node, "slice_through_elementwise", "slice_constant")
    assert optimized is not lazy.node
    result = run_as_is((optimized,))[0]
    np.testing.assert_array_equal(np.ma.getmaskarray(result), np.ma.getmaskarray(expected))
    np.testing.assert_array_equal(np.ma.getdata(result), np.ma.getdata(expected))
