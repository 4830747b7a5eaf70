"""``lib.stride_tricks.sliding_window_view`` against numpy's: small arrays of several
dtypes in every mode of both backends, a large one (the blocked and chunked paths, dask's
overlapping chunks), masked input, unknown sizes, numpy's errors, and a graph document
round trip."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import lazyarray as la
from lazyarray.errors import AxisError, OpArgumentError, OpValueError
from tests.cases import masked_sample, sample
from tests.conftest import assert_same

windows = la.lib.stride_tricks.sliding_window_view
numpys = np.lib.stride_tricks.sliding_window_view

X = sample("float64", (4, 6, 5))
# (window_shape, axis) of numpy's conventions: an int or a tuple, None for every axis,
# negative axes, an axis windowed twice, a window as long as its axis, empty windows
CASES: list[tuple[Any, Any]] = [
    (3, 0),
    ((2,), -1),
    ((2, 3, 2), None),
    ((3, 2), (2, 0)),
    ((2, 2), (1, 1)),
    (6, 1),
    (1, 2),
    (0, 1),
    ((0, 4), (-3, 1)),
]


def _dtype(name: str, data: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    if name == "complex128":
        return data + 1j * data[::-1]
    return sample(name, data.shape)


@pytest.mark.parametrize("dtype", ["float64", "int32", "bool", "complex128"])
def test_windows_equal_numpys(dtype: str, backend: str) -> None:
    data = _dtype(dtype, X)
    for window, axis in CASES:
        expected = numpys(data, window, axis)
        with la.config.set(backend="refuse", implicit_compute="error"):
            lazy = windows(la.Array(data), window, axis)
            assert lazy.shape == expected.shape and lazy.dtype == expected.dtype
        assert_same(lazy.compute(backend=backend), expected)


def test_numpys_function_builds_the_same_node() -> None:
    x = la.Array(X)
    through_numpy = numpys(x, (3, 2), axis=(-1, 0))
    assert isinstance(through_numpy, la.Array)
    assert through_numpy.node is windows(x, [3, 2], (2, 0)).node
    assert windows(x, 2, -1).node is windows(x, (2,), axis=[2]).node
    # numpy's keywords change nothing: a lazy result is its caller's own array
    assert numpys(x, 2, axis=0, subok=True, writeable=True).node is windows(x, 2, 0).node


def test_the_result_is_the_callers_own(backend: str) -> None:
    data = X.copy()
    result = windows(la.Array(data), 2, axis=1).compute(backend=backend)
    assert not np.shares_memory(result, data)
    assert_same(result, numpys(X, 2, axis=1))


def test_a_composition_is_numpys_reduction_bit_for_bit(backend: str) -> None:
    assert_same(
        windows(la.Array(X), 3, axis=0).mean(axis=-1).compute(backend=backend),
        numpys(X, 3, axis=0).mean(axis=-1),
    )
    assert_same(
        (windows(la.Array(X) * 2, (2, 3), axis=(1, 2)).sum(axis=(-2, -1)) + 1).compute(
            backend=backend
        ),
        (numpys(X * 2, (2, 3), axis=(1, 2))).sum(axis=(-2, -1)) + 1,
    )
    assert_same(  # windows sliced, then an elementwise op
        (windows(la.Array(X) * 2, 3, axis=0)[::-1, 1:, :, 1] - 1).compute(backend=backend),
        numpys(X * 2, 3, axis=0)[::-1, 1:, :, 1] - 1,
    )


def test_masked_data_and_mask_are_windowed_alike(backend: str) -> None:
    data = masked_sample("float64", (4, 6))
    data.fill_value = -7.5
    for window, axis in [(3, 1), ((2, 2), None), ((2, 3), (0, 0)), (0, 0)]:
        lazy = windows(la.MaskedArray(data), window, axis)
        assert lazy.masked
        result = lazy.compute(backend=backend)
        expected = np.ma.MaskedArray(
            numpys(data.data, window, axis),
            mask=numpys(np.ma.getmaskarray(data), window, axis),
            fill_value=-7.5,
        )
        assert_same(result, expected)
        assert result.fill_value == -7.5


BIG = sample("float64", (500, 400), seed=1)  # 200,000 elements: blocks and chunks


@pytest.mark.parametrize("backend_name", ["numpy", "dask"])
def test_large(backend_name: str) -> None:
    assert BIG.nbytes > la.config.snapshot().small_bytes
    x = la.Array(BIG)
    with la.config.set(dask_chunk_bytes=2**16):  # a few dozen chunks, each overlapping
        assert_same(windows(x, (3, 5)).compute(backend=backend_name), numpys(BIG, (3, 5)))
        assert_same(
            (windows(x * 2, 3, axis=0).mean(axis=-1) - x[1:-1]).compute(backend=backend_name),
            numpys(BIG * 2, 3, axis=0).mean(axis=-1) - BIG[1:-1],
        )
        masked = np.ma.MaskedArray(BIG, mask=BIG > 1, fill_value=3.0)
        expected = np.ma.MaskedArray(
            numpys(BIG, (4, 2), (1, 1)), mask=numpys(BIG > 1, (4, 2), (1, 1)), fill_value=3.0
        )
        result = windows(la.MaskedArray(masked), (4, 2), (1, 1)).compute(backend=backend_name)
        assert_same(result, expected)
        assert result.fill_value == 3.0


def test_unknown_sizes_stay_unknown(backend: str) -> None:
    g = la.parameter("g", la.Array, dtype="float64", shape=(None, 6))
    lazy = windows(g, (2, 4), axis=(0, 1))
    assert lazy.shape == (None, 3, 2, 4)
    data = X[:, :, 0]
    assert_same(lazy.compute(backend=backend, g=data), numpys(data, (2, 4), (0, 1)))
    with pytest.raises(ValueError, match="window shape cannot be larger than input array"):
        windows(g, 7, axis=1)


ERRORS: list[tuple[Any, Any, type[Exception], type[Exception]]] = [
    (6, 2, OpValueError, ValueError),  # larger than the axis
    (-1, 0, OpValueError, ValueError),  # negative
    ((2, 2), 0, OpValueError, ValueError),  # more windows than axes
    (2, (0, 1), OpValueError, ValueError),  # fewer
    ((2, 2), None, OpValueError, ValueError),  # not one per axis
    (2, 3, AxisError, np.exceptions.AxisError),
    (2, -4, AxisError, np.exceptions.AxisError),
    (2.5, 0, OpArgumentError, TypeError),
    (True, 0, OpArgumentError, TypeError),  # a bool is no window
    ((3, 3), (1, 1), OpValueError, ValueError),  # an axis windowed twice, too long in all
]


@pytest.mark.parametrize(("window", "axis", "error", "builtin"), ERRORS)
def test_numpys_errors_in_its_words(
    window: Any, axis: Any, error: type[Exception], builtin: type[Exception]
) -> None:
    data = X[:3, :4]
    with pytest.raises(builtin) as raised:
        numpys(data, window, axis)
    with pytest.raises(error) as lazy:
        windows(la.Array(data), window, axis)
    assert isinstance(lazy.value, builtin)
    assert str(lazy.value).startswith(str(raised.value))
    with pytest.raises(error):  # numpy's function on a proxy: the same
        numpys(la.Array(data), window, axis)


def test_a_graph_document_reads_back_as_the_same_node() -> None:
    for lazy in (
        windows(la.Array(X), (2, 3), axis=(2, -1)),
        windows(la.Array(X[0]), (2, 2)),
        windows(la.MaskedArray(masked_sample("int32", (3, 4))), 2, axis=0),
    ):
        text = la.to_json(lazy)
        back = la.from_json(text)
        assert back.node is lazy.node
        assert la.to_json(back) == text
