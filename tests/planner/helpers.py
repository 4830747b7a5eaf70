"""Running graphs exactly as the planner left them, and comparing bit for bit."""

from __future__ import annotations

from typing import Any

import numpy as np

from lazyarray.backend import get_backend
from lazyarray.graph import Node
from lazyarray.jobs import RunContext
from lazyarray.planner import make_plan
from lazyarray.planner.passes import optimize


def run_as_is(outputs: tuple[Node, ...]) -> list[Any]:
    """Values of ``outputs`` with no further optimization."""
    return get_backend("numpy").execute(make_plan(outputs, optimize=False), {}, RunContext())


def only(node: Node, *names: str) -> Node:
    """``node`` after the named stages or rules alone."""
    return optimize((node,), {}, only=frozenset(names))[0]


def assert_identical(actual: Any, expected: Any) -> None:
    """Equal values, dtypes and shapes, NaN equal to NaN and -0.0 distinct from 0.0."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.dtype == expected.dtype, (actual.dtype, expected.dtype)
    assert actual.shape == expected.shape
    np.testing.assert_array_equal(actual, expected)
    if expected.dtype.kind == "f":
        np.testing.assert_array_equal(np.signbit(actual), np.signbit(expected))
