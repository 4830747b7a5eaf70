"""The IR: hash-consing, creation sites, literals without copies, deterministic digests."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import lazyarray as la
from lazyarray.graph import Literal, interned_count, toposort


def test_same_expression_gives_the_same_node() -> None:
    data = np.arange(10.0)
    x = la.Array(data)
    first = (x * 2 + 1).sum()
    second = (la.Array(data) * 2 + 1).sum()
    assert first.node is second.node
    assert len(toposort([first.node, second.node])) == len(toposort([first.node]))


def test_scalars_of_different_types_are_different_nodes() -> None:
    x = la.Array(np.arange(3, dtype=np.float32))
    assert (x + 1).node is not (x + 1.0).node
    assert (x + 0.0).node is not (x + -0.0).node
    assert (x + 1).node is not (x + True).node


def test_attributes_equal_but_not_the_same_number_are_different_nodes() -> None:
    positive = la.full(3, 0.0)
    negative = la.full(3, -0.0)  # 0.0 == -0.0, but not the same fill
    assert negative.node is not positive.node
    assert np.signbit(negative.compute(cache=False)).all()
    assert la.full(3, 0.0).node is positive.node
    normal = la.random.default_rng(1).normal(-0.0, 1.0, size=3)
    assert normal.node is la.random.default_rng(1).normal(-0.0, 1.0, size=3).node


def test_nodes_are_immutable() -> None:
    node = la.Array([1, 2]).node
    with pytest.raises(AttributeError, match="immutable"):
        node.op = "other"


def test_creation_site_is_the_users_line() -> None:
    x = la.Array(np.ones(3))
    y = np.sin(x) * 2  # the line recorded
    assert y.node.site is not None
    assert y.node.site[0] == __file__
    assert y.node.site[1] == test_creation_site_is_the_users_line.__code__.co_firstlineno + 2


def test_each_line_keeps_its_site_when_built_again() -> None:
    x = la.Array(np.ones(3))
    first = test_each_line_keeps_its_site_when_built_again.__code__.co_firstlineno
    for i in range(3):  # from the second time round, the sites are remembered
        a = x + i
        b = (x - i) * 2  # two nodes, two instructions, one line
        assert a.node.site == (__file__, first + 4)
        assert b.node.site == b.node.inputs[0].site == (__file__, first + 5)


def test_literals_are_neither_copied_nor_read() -> None:
    data = np.ones((100, 100))
    x = la.Array(data)
    y = (x + 1).sum(axis=0)
    literal = x.node.attr("value")
    assert isinstance(literal, Literal) and literal.value is data
    assert x.literal_value is data
    assert literal._digest is None  # no pass over the data yet
    assert y.shape == (100,)


def test_literal_digest_is_computed_once_on_demand() -> None:
    data = np.arange(1000.0)
    x = la.Array(data)
    digest = x.node.digest
    assert x.node.attr("value")._digest is not None
    assert la.Array(data.copy()).node.digest == digest  # same content, same digest


def test_digest_is_the_same_in_another_process() -> None:
    program = (
        "import numpy as np, lazyarray as la;"
        "x = la.Array(np.arange(6.0).reshape(2, 3));"
        "print(((x * 2).sum(axis=0) + la.parameter('p', la.Array)).node.digest)"
    )
    here = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True
    )
    again = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True
    )
    x = la.Array(np.arange(6.0).reshape(2, 3))
    local = ((x * 2).sum(axis=0) + la.parameter("p", la.Array)).node.digest
    assert here.stdout.strip() == again.stdout.strip() == local


def test_deep_graphs_build_and_run_without_recursion_limits() -> None:
    y = la.Array(np.zeros(3))
    for _ in range(20_000):
        y = y + 1.0
    assert y.node.digest
    np.testing.assert_array_equal(y.compute(), np.full(3, 20_000.0))


def test_unused_nodes_are_released() -> None:
    import gc

    before = interned_count()
    for i in range(100):
        la.Array(np.ones(2)) * float(i)
    gc.collect()
    assert interned_count() <= before + 5


def test_unsupported_literals_are_refused() -> None:
    with pytest.raises(TypeError, match="dtype"):
        la.Array(np.array(["a", "b"]))
    with pytest.raises(TypeError, match="lazy arrays"):
        la.Array([la.Array([1]), 2])


def test_digests_tell_apart_every_float_bit_pattern() -> None:
    """The sign of a NaN (``-0.0 / 0.0`` is a negative NaN on x86) and of zero are part
    of a constant's digest: the result cache keys on it."""
    values = [np.float32("nan"), -np.float32("nan"), np.float32(0.0), np.float32(-0.0)]
    digests = {la.asarray(v).node.digest for v in values}
    scalars = {
        (la.asarray([1.0]) + v).node.digest for v in [float("nan"), -float("nan"), 0.0, -0.0]
    }
    assert len(digests) == 4 and len(scalars) == 4
