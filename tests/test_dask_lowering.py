"""How plans become dask graphs: one task per chunk for a fused kernel, run in
cache-sized blocks; literals read in place; several outputs sharing one graph."""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

import lazyarray as la
from tests import kit
from tests.conftest import assert_same

da = pytest.importorskip("dask.array")


def _tasks(*collections: Any) -> int:
    return len({key for c in collections for key in c.__dask_graph__()})


def _peak(run: Callable[[], Any]) -> int:
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.fixture
def chunks_of_16_mib() -> Iterator[None]:
    with la.config.set(dask_chunk_bytes=2**24, block_bytes=2**20):
        yield


def test_a_fused_kernel_is_one_task_per_chunk() -> None:
    sources = [da.random.default_rng(i).random(4_000, chunks=1_000) for i in range(3)]
    a, b, c = (la.from_dask(s) for s in sources)
    lowered = la.to_dask(2 * a + 3 * b * c - a * b / (c + 1))
    assert _tasks(lowered) == 4 * 3 + 4  # the inputs' chunks, then one task per chunk
    x, y, z = (s.compute() for s in sources)
    assert_same(lowered.compute(), 2 * x + 3 * y * z - x * y / (z + 1))


@pytest.mark.usefixtures("chunks_of_16_mib")
def test_a_kernel_runs_in_blocks_within_each_chunk() -> None:
    rng = la.random.default_rng(0)
    n = 2**23  # 64 MiB per operand, in 16 MiB chunks
    total = (rng.random(n) * rng.random(n)).sum()
    expected = total.compute(backend="numpy", cache=False)
    result: list[Any] = []
    peak = _peak(lambda: result.append(total.compute(backend="dask", cache=False)))
    assert_same(result[0], expected)
    # blocks of 2 MiB per operand and thread; whole chunks would hold 3 x 16 MiB each
    assert peak < 2**25


@pytest.mark.usefixtures("chunks_of_16_mib")
def test_a_reduction_along_whole_chunk_axes_stays_in_its_chunks() -> None:
    data = np.random.default_rng(1).random((4_000, 600))
    x = la.Array(data)
    expression = ((x - 0.5) ** 2).sum(axis=1)
    lowered = la.to_dask(expression)
    rows = la.to_dask(x).chunks[0]
    assert len(rows) > 1
    assert lowered.chunks == (rows,)
    assert _tasks(lowered) == 1 + 3 * len(rows)  # the literal; its chunks, kernels, squeezes
    assert_same(lowered.compute(), ((data - 0.5) ** 2).sum(axis=1))


def test_literals_are_read_in_place() -> None:
    data = np.random.default_rng(2).random(2**22)  # 32 MiB
    peak = _peak(lambda: la.to_dask(la.Array(data) * 2))
    assert peak < data.nbytes / 4


def test_several_outputs_share_one_graph() -> None:
    rng = np.random.default_rng(3)
    data = np.ma.MaskedArray(rng.random((300, 40)), mask=rng.random((300, 40)) < 0.2)
    x = la.MaskedArray(data)
    with la.config.set(dask_chunk_bytes=2**14):
        mean, std = la.to_dask(x.mean(axis=0), x.std(axis=0))
        alone = _tasks(la.to_dask(x.mean(axis=0))) + _tasks(la.to_dask(x.std(axis=0)))
    assert _tasks(mean, std) < alone * 0.7  # the data, counts and sums once
    assert_same(mean.compute(), data.mean(axis=0), bound=kit.reduction_bound("mean", data, 0))
    assert_same(std.compute(), data.std(axis=0), bound=kit.reduction_bound("std", data, 0))


def test_to_dask_needs_an_array() -> None:
    with pytest.raises(TypeError, match="at least one array"):
        la.to_dask()


def _chain(x: Any, ops: int) -> Any:
    for i in range(ops):
        x = x * 1.0001 if i % 2 else x + 0.5
    return x


def _expected_chain(x: np.ndarray, ops: int) -> np.ndarray:
    for i in range(ops):
        x = x * 1.0001 if i % 2 else x + 0.5
    return x


@pytest.mark.parametrize("ops", [200, 2000])
def test_a_long_fused_chain_holds_only_live_blocks(ops: int) -> None:
    # one kernel of `ops` instructions per chunk: each block's intermediates are freed
    # after their last reader (holding them all took ops x block_bytes: 4 GB at 2,000 ops)
    data = np.linspace(0, 1, 10**5)
    block_bytes = 2**16
    chain = _chain(la.Array(data), ops)
    result: list[Any] = []
    with la.config.set(block_bytes=block_bytes):
        peak = _peak(lambda: result.append(chain.compute(backend="dask", cache=False)))
    assert_same(result[0], _expected_chain(data, ops))
    assert peak < 2 * data.nbytes + 32 * block_bytes  # the output, then a few blocks


def test_a_long_unfused_chain_is_linear() -> None:
    # dask's blockwise fusion rewrites a chain once per layer (quadratic): long graphs
    # run as built
    data = np.linspace(0, 1, 1000)
    times = []
    _chain(la.Array(data), 2).compute(backend="dask", cache=False)  # imports dask
    for ops in (200, 800):
        chain = _chain(la.Array(data), ops)
        with la.config.set(disabled={"fuse", "fold"}, small_bytes=0):
            start = time.perf_counter()
            value = chain.compute(backend="dask", cache=False)
            times.append(time.perf_counter() - start)
        assert_same(value, _expected_chain(data, ops))
    assert times[1] < 10 * times[0] + 1  # 4x the ops: about 4x the time, not 16x
