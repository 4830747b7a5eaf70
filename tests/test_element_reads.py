"""Element reads (``float(x[i])``, ``bool(x[i, j])``) give numpy's values on every path:
an element of a small settled array is read from that array's value, computed once; an
array reading data that can change, a masked array, or a large one is read as before,
through the element's own graph."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import lazyarray as la
from lazyarray.errors import LazyIndexError
from lazyarray.execution import elements
from tests.conftest import assert_same


@pytest.fixture
def computes(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The nodes that element reads computed whole."""
    seen: list[Any] = []
    real = elements.compute

    def counting(targets: Any, **kwargs: Any) -> Any:
        seen.extend(targets)
        return real(targets, **kwargs)

    monkeypatch.setattr(elements, "compute", counting)
    return seen


def _expression(m: Any, a: Any) -> Any:
    return m.sin(a * 2.0).sum(axis=0) + m.cos(a[0])


def test_an_element_loop_equals_numpy_and_computes_the_array_once(
    backend: str, computes: list[Any]
) -> None:
    data = np.random.default_rng(1).random((6, 5))
    expected = _expression(np, data)
    lazy = _expression(la, la.asarray(data, copy=True))
    with la.config.set(backend=backend):
        values = [float(lazy[i]) for i in range(5)]
        truths = [bool(lazy[i] > 2.0) for i in range(5)]
        indices = [int(la.astype(lazy[i] * 10, la.int64)) for i in range(5)]
    assert values == [float(v) for v in expected]  # bit for bit
    assert truths == [bool(v > 2.0) for v in expected]
    assert indices == [int(v) for v in (expected * 10).astype(np.int64)]
    assert computes.count(lazy.node) == 1


def test_elements_of_a_2d_array_and_of_an_iteration(backend: str) -> None:
    data = np.arange(12, dtype=np.int32).reshape(3, 4)
    lazy = la.asarray(data, copy=True) * 3 - 1
    with la.config.set(backend=backend):
        read = [[int(lazy[i, j]) for j in range(4)] for i in range(3)]
        negative = [int(lazy[-1, -j]) for j in range(1, 5)]
        rows = [[int(v) for v in row] for row in lazy]
    assert read == (data * 3 - 1).tolist() == rows
    assert negative == [int(v) for v in (data * 3 - 1)[-1, ::-1]]


def test_data_that_can_change_is_read_as_it_is_now(computes: list[Any]) -> None:
    data = np.arange(4.0)
    lazy = la.asarray(data) + 1  # by reference: a compute reads the data as it is then
    assert float(lazy[2]) == 3.0
    data[2] = 10.0
    assert float(lazy[2]) == 11.0
    assert computes == []  # never kept


def test_masked_and_large_arrays_are_read_through_their_own_graph(
    computes: list[Any],
) -> None:
    masked = la.masked_array(la.asarray([1.0, 2.0, 3.0]), mask=la.asarray([False, True, False]))
    assert float(masked[0]) == 1.0
    large = la.arange(3_000_000, dtype=la.float64) * 2  # 24 MB: more than WHOLE_BYTES
    assert float(large[2_999_999]) == 5_999_998.0
    assert computes == []


def test_an_element_out_of_bounds_is_refused_in_numpys_words_when_written() -> None:
    lazy = la.asarray([[1, 2], [3, 4]])
    for index in [(2,), (0, 2), (-3, 0), (1, -3)]:
        with pytest.raises(IndexError) as expected:
            np.asarray([[1, 2], [3, 4]])[index]
        with pytest.raises(LazyIndexError, match=str(expected.value)):
            lazy[index]
    assert lazy[1].shape == (2,) and lazy[1, -1].shape == ()
    assert_same(lazy[-1].compute(), np.array([3, 4]))


_CHECKS = [
    lambda m, x, y, i: x[i] == y[i],
    lambda m, x, y, i: m.isnan(x[i]) | (x[i] < y[i]),
    lambda m, x, y, i: x[i] / y[i],
    lambda m, x, y, i: x[i] * 2 + 1.5,
    lambda m, x, y, i: m.astype(x[i] * 0, m.int8) + m.astype(y[i], m.int8) * 127,
    lambda m, x, y, i: m.floor_divide(x[i], 0.0),
]


@pytest.mark.parametrize("check", _CHECKS)
def test_elementwise_ops_over_elements_give_what_compute_gives(
    check: Any, computes: list[Any]
) -> None:
    x = np.array([np.nan, 1.0, -0.0, 3.0, np.inf], dtype=np.float32)
    y = np.array([np.nan, 2.0, 0.0, 3.0, -np.inf], dtype=np.float32)
    lazy_x, lazy_y = la.asarray(x, copy=True), la.asarray(y, copy=True)
    for i in range(5):
        element = check(la, lazy_x, lazy_y, i)
        with np.errstate(all="ignore"):
            expected = check(np, x, y, i)
            read = element.__float__() if element.dtype != la.bool else element.__bool__()
            computed = element.compute()
        assert type(computed) is type(expected) and computed.dtype == expected.dtype
        assert_same(np.asarray(computed), np.asarray(expected))
        assert_same(np.asarray(read, expected.dtype), np.asarray(expected))
    assert {id(node) for node in computes} <= {id(lazy_x.node), id(lazy_y.node)}
