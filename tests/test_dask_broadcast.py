"""A fused kernel whose generated sources (random, zeros, full) span axes that its only
array inputs broadcast along (a (1, n) row, an (n, 1) column): its chunks come of the
sources, across several chunks, equal to the numpy backend's bit for bit."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

import lazyarray as la
from tests.conftest import assert_same

pytest.importorskip("dask.array")

SHAPE = (600, 500)  # 2.4 MB of float64: 10 chunks of 256 KiB


@pytest.fixture(autouse=True)
def small_chunks() -> Iterator[None]:
    with la.config.set(dask_chunk_bytes=2**18, block_bytes=2**16):
        yield


def _row() -> Any:
    return la.asarray(np.arange(float(SHAPE[1])).reshape(1, SHAPE[1]))


def _column() -> Any:
    return la.asarray(np.arange(float(SHAPE[0])).reshape(SHAPE[0], 1))


CASES: dict[str, Callable[[], Any]] = {
    "normal + row": lambda: la.random.default_rng(0).normal(size=SHAPE) + _row(),
    "zeros + row, mean": lambda: (la.zeros(SHAPE) + _row()).mean(),
    "ones * row, sum(0)": lambda: (la.ones(SHAPE) * _row()).sum(axis=0),
    "full * column, sum(1)": lambda: (la.full(SHAPE, 3.0) * _column()).sum(axis=1),
    "zeros + column": lambda: la.zeros(SHAPE) + _column(),
    "random row + zeros": lambda: la.random.default_rng(1).random(SHAPE)[:1, :] + la.zeros(SHAPE),
}


@pytest.mark.parametrize("case", CASES)
def test_generated_sources_with_a_broadcast_input(case: str) -> None:
    expression = CASES[case]()
    lowered = la.to_dask(expression)
    if expression.ndim:
        assert max(len(c) for c in lowered.chunks) > 1  # several chunks
    expected = expression.compute(backend="numpy", cache=False)
    assert_same(expression.compute(backend="dask", cache=False), expected)


def test_small_arrays_on_every_path(backend: str) -> None:
    """The same on small arrays, in every mode (1 KiB dask chunks: several)."""
    shape = (40, 30)
    row = np.arange(30.0).reshape(1, 30)
    column = np.arange(40.0).reshape(40, 1)
    assert_same(
        (la.zeros(shape) + la.asarray(row)).compute(backend=backend, cache=False),
        np.zeros(shape) + row,
    )
    assert_same(
        (la.full(shape, 3.0) * la.asarray(column))
        .sum(axis=1)
        .compute(backend=backend, cache=False),
        (np.full(shape, 3.0) * column).sum(axis=1),
    )
    noisy = la.random.default_rng(2).normal(size=shape) - la.asarray(row)
    expected = noisy.compute(backend="numpy", cache=False)  # random sources: every backend's
    assert_same(noisy.compute(backend=backend, cache=False), expected)


def test_a_row_and_a_column_broadcast_into_a_kernel_are_cut_into_chunks() -> None:
    """A (1, n) row and an (n, 1) column meet in one n x n block (dask.array's own
    broadcasting): the kernel cuts its result anew by ``dask_chunk_bytes``."""
    from lazyarray.dask import to_dask

    n = 1000
    row = np.arange(n, dtype=float).reshape(1, n)
    column = np.linspace(0.0, 1.0, n).reshape(n, 1)
    lazy = la.asarray(row) + la.asarray(column) + la.random.default_rng(0).normal(size=(n, n))
    with la.config.set(dask_chunk_bytes="1MiB"):
        cut = to_dask(lazy)
        assert max(cut.chunksize) < n and cut.npartitions > 4
        result = lazy.compute(backend="dask", cache=False)
    assert_same(result, lazy.compute(backend="numpy", cache=False))
