"""What a compute returns is the caller's own, and is computed from the data as it is
when the compute runs (issue 8, items 3 and 4)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import lazyarray as la
from lazyarray.execution import result_cache
from tests.conftest import BACKENDS

BIG = 100_000  # float64 elements: 800 kB, above small_bytes, through the data stages
SIZES = [12, BIG]


def _fresh(size: int) -> np.ndarray[Any, Any]:
    return np.arange(float(size))


# results that are an input itself, a view of it, a folded constant, a parameter's value
RESULTS: dict[str, Callable[[Any], Any]] = {
    "literal": lambda x: x,
    "slice": lambda x: x[2:],
    "transpose": lambda x: x.reshape(2, -1).T,
    "elementwise": lambda x: x + 1,
}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("name", sorted(RESULTS))
def test_a_result_never_aliases_the_input_or_the_cache(backend: str, size: int, name: str) -> None:
    data = _fresh(size)
    original = data.copy()
    expression = RESULTS[name](la.Array(data))
    first = expression.compute(backend=backend)
    expected = np.array(first, copy=True)
    first[...] = -7.0  # the caller owns its result
    np.testing.assert_array_equal(data, original)
    np.testing.assert_array_equal(expression.compute(backend=backend), expected)


@pytest.mark.parametrize("size", SIZES)
def test_a_result_from_the_cache_or_a_cached_plan_is_a_copy(size: int) -> None:
    frozen = la.asarray(_fresh(size), copy=True)  # read-only: plans and results are reused
    expression = frozen * 2 + 1
    first = expression.compute()
    first[...] = -7.0
    second = expression.compute()
    assert result_cache.hits == 1
    np.testing.assert_array_equal(second, np.arange(float(size)) * 2 + 1)
    second[...] = -8.0
    np.testing.assert_array_equal(expression.compute(), np.arange(float(size)) * 2 + 1)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_parameters_value_is_not_returned_as_the_result(backend: str) -> None:
    value = _fresh(BIG)
    p = la.parameter("p", la.Array, dtype="float64")
    result = p.compute(p=value, backend=backend)
    assert not np.shares_memory(result, value)


def test_masked_results_own_data_and_mask() -> None:
    data = np.ma.MaskedArray(_fresh(BIG), mask=np.arange(BIG) % 3 == 0)
    result = la.MaskedArray(data)[5:].compute()
    assert not np.shares_memory(np.ma.getdata(result), np.ma.getdata(data))
    assert not np.shares_memory(np.ma.getmaskarray(result), np.ma.getmask(data))


# --- by reference: a compute reads the data as it is when it runs ---------------------


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("size", [1, 12, BIG])
@pytest.mark.parametrize("cache", [True, False])
@pytest.mark.parametrize(
    "build", [lambda x: x + 1, lambda x: (x * 2).sum(), lambda x: x[1:].max() if x.size > 1 else x]
)
def test_a_compute_reads_the_wrapped_array_as_it_is_now(
    backend: str, size: int, cache: bool, build: Callable[[Any], Any]
) -> None:
    data = _fresh(size)
    expression = build(la.Array(data))
    before = expression.compute(backend=backend, cache=cache)
    np.testing.assert_array_equal(before, build(data.copy()))
    data += 1000.0  # in place, under the wrapped array
    np.testing.assert_array_equal(
        expression.compute(backend=backend, cache=cache), build(data.copy())
    )


def test_a_view_of_a_writeable_array_is_read_at_compute_time() -> None:
    data = _fresh(BIG)
    view = data[10:]
    view.flags.writeable = False  # read-only, but its base is not
    expression = la.Array(view).sum()
    assert expression.compute() == view.sum()
    data[20] = 1e9
    assert expression.compute() == view.sum()


def test_only_unchangeable_data_is_served_from_the_cache() -> None:
    writeable = la.Array(_fresh(BIG)).sum()
    writeable.compute()
    writeable.compute()
    assert result_cache.hits == 0 and len(result_cache) == 0
    frozen = la.asarray(_fresh(BIG), copy=True).sum()
    frozen.compute()
    frozen.compute()
    assert result_cache.hits == 1
    from_list = la.Array([1.0, 2.0, 3.0]).sum()  # built by lazyarray: nobody else writes it
    from_list.compute()
    from_list.compute()
    assert result_cache.hits == 2


def test_a_snapshot_does_not_follow_the_array() -> None:
    data = _fresh(BIG)
    snapshot = la.asarray(data, copy=True)
    data[:] = 0.0
    assert snapshot.sum().compute() == np.arange(float(BIG)).sum()
    masked = np.ma.MaskedArray(_fresh(5), mask=[0, 1, 0, 0, 0])
    frozen = la.asarray(masked, copy=True)
    masked[0] = 100.0
    masked.mask[1] = False
    assert frozen.sum().compute() == 0.0 + 2.0 + 3.0 + 4.0


def test_results_are_cached_by_backend_and_fast_math() -> None:
    frozen = la.asarray(_fresh(BIG), copy=True).sum()
    frozen.compute(backend="numpy")
    frozen.compute(backend="dask")
    with la.config.set(fast_math=True):
        frozen.compute(backend="numpy")
    assert result_cache.hits == 0 and len(result_cache) == 3


def test_folding_never_freezes_the_callers_array() -> None:
    data = np.arange(5.0)
    la.Array(data).real.compute()  # numpy's real of a real array is the array itself
    data[0] = 1.0  # still the caller's to write
    assert la.Array(data).real.sum().compute() == 1.0 + 1 + 2 + 3 + 4
