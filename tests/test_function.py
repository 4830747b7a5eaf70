"""``Function``: calling substitutes arguments for parameters (a graph rewrite, no
compute); the result is a lazy array like any other, equal to numpy on every backend and
mode; bad calls fail at the call, naming the argument."""

from __future__ import annotations

import inspect
import re
from typing import Any

import numpy as np
import pytest

import lazyarray as la
from lazyarray.errors import ArgumentError, ShapeError, ValueOverflowError
from lazyarray.execution import COMPUTE_KEYWORDS
from lazyarray.graph import count_nodes, toposort
from tests import kit

X = la.parameter("x", la.Array, dtype="float64")
T = la.parameter("threshold", la.Scalar, dtype="float64")


def clip_above(m: Any, x: Any, threshold: Any) -> Any:
    """The expression, written once for numpy and for lazyarray."""
    return m.where(x > threshold, x * 2.0 - threshold, 0.0)


CLIP = la.Function(clip_above(la, X, T), parameters=["x", "threshold"])
COUNT = la.Function((X > T).sum(), parameters=["x", "threshold"])


def test_keyword_and_positional_calls_build_the_same_graph() -> None:
    data = np.linspace(-1.0, 1.0, 9)
    by_keyword = CLIP(x=data, threshold=0.25)
    assert CLIP(data, 0.25).node is by_keyword.node
    assert CLIP(data, threshold=0.25).node is by_keyword.node
    assert not by_keyword.node.has_parameters
    kit.assert_exact(by_keyword.compute(), clip_above(np, data, 0.25))


def test_signature_and_repr_show_the_declared_types() -> None:
    assert str(inspect.signature(CLIP)) == (
        "(x: 'Array[float64, (?,)]', threshold: 'Scalar[float64]') -> 'Array[float64, (?,)]'"
    )
    assert repr(COUNT) == (
        "<lazyarray.Function (x: Array[float64, (?,)], threshold: Scalar[float64]) "
        "-> Scalar[int64]>"
    )
    keyword_only = la.Function(COUNT.body)
    assert keyword_only.names == ("threshold", "x")
    assert not keyword_only.positional
    assert str(inspect.signature(keyword_only)).startswith("(*, threshold")


def test_a_call_computes_nothing(no_compute: None) -> None:
    result = CLIP(x=np.arange(5.0), threshold=la.Array(np.arange(5.0)).sum())
    assert result.shape == (5,)
    assert result.dtype == la.float64


@pytest.mark.parametrize("size", [7, 200_000])
def test_calls_equal_numpy_on_every_backend(backend: str, size: int) -> None:
    data = np.random.default_rng(size).normal(size=size)
    data.flags.writeable = False
    kit.assert_exact(CLIP(data, 0.5).compute(backend=backend), clip_above(np, data, 0.5))
    kit.assert_exact(COUNT(data, 0.5).compute(backend=backend), (data > 0.5).sum())


def test_a_call_is_usable_inside_other_expressions(backend: str) -> None:
    data = np.arange(-3.0, 4.0)
    y = la.parameter("y", la.Array, dtype="float64")
    combined = (CLIP(x=y, threshold=1.0) + la.sqrt(la.abs(y))).sum()
    assert [p.node.attr("name") for p in combined.params] == ["y"]
    expected = (clip_above(np, data, 1.0) + np.sqrt(np.abs(data))).sum()
    actual = combined.compute(backend=backend, y=data)
    kit.assert_within(actual, expected, kit.reduction_bound("sum", data))


def test_lazy_arguments_are_cast_as_declared() -> None:
    small = la.arange(6, dtype="float32")
    result = CLIP(small, la.asarray(np.int16(2)))
    assert result.dtype == la.float64
    kit.assert_exact(
        result.compute(), clip_above(np, np.arange(6, dtype="float32").astype("float64"), 2.0)
    )


def test_known_sizes_flow_from_the_arguments() -> None:
    result = CLIP(np.zeros(4), 0.0)
    assert result.shape == (4,)
    fixed = la.Function(X + la.Array(np.ones(3)), parameters=["x"])
    with pytest.raises(ShapeError, match="cannot be broadcast"):
        fixed(np.ones(4))


def test_masked_parameters_take_masked_and_plain_arguments(backend: str) -> None:
    m = la.parameter("m", la.MaskedArray, dtype="float64", shape=(None,))
    mean = la.Function(m * 2.0, parameters=["m"])
    masked = np.ma.MaskedArray([1.0, 2.0, 3.0], mask=[False, True, False])
    kit.assert_exact(mean(masked).compute(backend=backend), masked * 2.0)
    plain = np.array([1.0, 2.0])
    kit.assert_exact(mean(plain).compute(backend=backend), np.ma.MaskedArray(plain) * 2.0)
    lazy = mean(la.Array(plain))
    assert lazy.masked
    kit.assert_exact(lazy.compute(backend=backend), np.ma.MaskedArray(plain) * 2.0)


def test_identical_calls_are_one_graph_and_one_cached_result() -> None:
    data = np.array([0.1, 0.7, 0.9])
    assert COUNT(data, 0.5).node is COUNT(data, 0.5).node  # one array: one literal node
    first = COUNT([0.1, 0.7, 0.9], 0.5)
    second = COUNT([0.1, 0.7, 0.9], 0.5)  # equal values: equal digests, one cache entry
    assert first.node.digest == second.node.digest
    assert COUNT([0.1, 0.7, 0.9], 0.6).node.digest != first.node.digest
    cache = la.execution.result_cache
    assert first.compute() == 2
    hits = cache.hits
    assert second.compute() == 2
    assert cache.hits == hits + 1


def test_nodes_without_parameters_are_kept_not_rebuilt() -> None:
    table = la.Array(np.arange(10.0)) * 3.0
    function = la.Function((X + table.sum()) * 2.0, parameters=["x"])
    result = function(np.ones(2))
    assert table.sum().node in toposort([result.node])


def test_a_deep_chain_is_called_without_recursion() -> None:
    body = X
    for _ in range(20_000):
        body = body + 1.0
    result = la.Function(body, parameters=["x"])(np.zeros(1))
    assert count_nodes([result.node]) == 20_002  # the additions, the 1.0, the argument
    assert not result.node.has_parameters


def test_compute_takes_arguments_and_compute_keywords() -> None:
    assert COUNT.compute([0.1, 0.7, 0.9], threshold=0.5, backend="numpy") == 2
    assert COUNT.compute(x=[0.7], threshold=0.5, format="json") == (
        b'{"dtype": "<i8", "shape": [], "data": 1}'
    )


def test_a_function_without_parameters_takes_no_arguments() -> None:
    constant = la.Function(la.arange(3) * 2)
    assert constant.names == ()
    assert constant().node is (la.arange(3) * 2).node
    with pytest.raises(ArgumentError, match="unexpected argument"):
        constant(x=1)


# --- bad calls fail at the call, naming the argument ---------------------------------------


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ((), {"x": [1.0]}, "missing argument(s): threshold"),
        (([1.0],), {}, "missing argument(s): threshold"),
        ((), {"x": [1.0], "threshold": 1, "y": 2}, "unexpected argument(s): y"),
        (([1.0], 1, 2), {}, "too many positional arguments"),
        (([1.0],), {"x": [2.0]}, "argument(s) x given twice"),
        ((), {"x": ["a"], "threshold": 1}, "argument 'x' has dtype <U1"),
        ((), {"x": [1.0], "threshold": 1 + 2j}, "argument 'threshold' is a Python complex"),
        ((), {"x": np.ones((2, 2)), "threshold": 1}, "argument 'x' has shape (2, 2)"),
        ((), {"x": la.ones((2, 2)), "threshold": 1}, "argument 'x' has shape (2, 2)"),
        ((), {"x": [1.0], "threshold": la.asarray(1j)}, "argument 'threshold' has dtype"),
        ((), {"x": la.MaskedArray([1.0]), "threshold": 1}, "argument 'x' is a masked array"),
        ((), {"x": np.ma.MaskedArray([1.0]), "threshold": 1}, "argument 'x' is a masked"),
        ((), {"x": CLIP, "threshold": 1}, "a Function is not an argument"),
    ],
)
def test_bad_calls_name_the_argument(args: Any, kwargs: Any, message: str) -> None:
    with pytest.raises(ArgumentError, match=re.escape(message)):
        CLIP(*args, **kwargs)


def test_keyword_only_functions_refuse_positions() -> None:
    with pytest.raises(ArgumentError, match=r"given by keyword \(threshold, x\)"):
        la.Function(COUNT.body)([1.0], 0.5)


def test_integers_out_of_range_are_refused_not_wrapped() -> None:
    n = la.parameter("n", la.Array, dtype="int8")
    with pytest.raises(ValueOverflowError, match="argument 'n'"):
        la.Function(n + 1, parameters=["n"])([1, 300])


def test_two_arguments_with_different_parameters_of_one_name_are_refused() -> None:
    a = la.parameter("p", la.Array, dtype="float64")
    b = la.parameter("p", la.Array, dtype="int64")
    add = la.Function(X + T, parameters=["x", "threshold"])
    with pytest.raises(ArgumentError, match="two different parameters are named 'p'"):
        add(a, b.sum())


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        (["x"], "not listed: threshold"),
        (["x", "threshold", "z"], "not parameters of the expression: z"),
        (["x", "x", "threshold"], "listed twice: x"),
        ("x", "a list of the parameters' names"),
        ([1, 2], "lists names (str), not 1"),
    ],
)
def test_parameters_order_names_each_parameter_once(parameters: Any, message: str) -> None:
    with pytest.raises(ArgumentError, match=re.escape(message)):
        la.Function(COUNT.body, parameters=parameters)


def test_a_function_is_made_of_a_lazy_array() -> None:
    with pytest.raises(ArgumentError, match="made of a lazy array, not list"):
        la.Function([1, 2])


@pytest.mark.parametrize("keyword", sorted(COMPUTE_KEYWORDS))
def test_no_parameter_takes_a_compute_keyword(keyword: str) -> None:
    with pytest.raises(ArgumentError, match=f"parameter name '{keyword}' must be"):
        la.parameter(keyword, la.Array)
