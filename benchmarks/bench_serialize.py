"""Graph documents: writing and reading must be linear in nodes, so the time per node
(``extra_info["us_per_node"]``) stays flat from 1e3 to 1e5 nodes; a large literal is
streamed into a blob store and read back memory-mapped, never held twice.

Groups:
- serialize-<phase>: a chain ``x * 1.0001 + 0.5`` (two nodes a step), at 1e3, 1e4, 1e5
  nodes. ``to_json`` writes a graph built afresh (its digests not yet computed);
  ``from_json`` reads a document whose graph is gone (every node built and typed);
  ``from_json-live`` reads it while the graph is alive (every node found interned).
- serialize-pickle-dumps, serialize-dask-cloudpickle-dumps: the peers, writing the same
  chain (lazyarray's own pickle; dask.array's graph through cloudpickle).
- serialize-literal: ``to_dict`` into a ``FolderBlobs`` and ``from_dict`` back of a 1 GB
  float64 literal (16 MiB under ``make test``); ``extra_info`` holds the peak of
  Python's allocations during each, which must stay far below the literal's size.

Under ``make test`` (timing disabled) only the 1e3 size runs, once.
"""

from __future__ import annotations

import gc
import pickle
import time
import tracemalloc
from pathlib import Path
from typing import Any

import cloudpickle
import numpy as np
import pytest

import lazyarray as la
from lazyarray import serialize
from lazyarray.graph import count_nodes
from lazyarray.stores.blobs import FolderBlobs

SIZES = [1_000, 10_000, 100_000]
DATA = np.random.default_rng(0).random(1000)


def chain(nodes: int) -> Any:
    x = la.asarray(DATA.copy())  # new memory: nothing shared with earlier rounds
    for _ in range(nodes // 2):
        x = x * 1.0001 + 0.5
    return x


def _text(nodes: int) -> str:
    text = la.to_json(chain(nodes))
    gc.collect()  # the graph is gone: reading builds every node
    return text


def dask_chain(nodes: int) -> Any:
    import dask.array as da

    x = da.from_array(DATA.copy(), chunks=-1)
    for _ in range(nodes // 2):
        x = x * 1.0001 + 0.5
    return x


# the peers: pickling (lazyarray's own, flat), and cloudpickle of the same dask.array
# graph (what dask ships to a cluster); neither is a stable, code-free format
PHASES: dict[str, tuple[Any, Any]] = {
    "to_json": (chain, la.to_json),
    "from_json": (_text, la.from_json),
    "pickle-dumps": (chain, pickle.dumps),
    "dask-cloudpickle-dumps": (dask_chain, cloudpickle.dumps),
}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if metafunc.function is not test_serialize:
        return
    smoke = metafunc.config.getoption("benchmark_disable")
    metafunc.parametrize("phase", [*PHASES, "from_json-live"])
    metafunc.parametrize("nodes", SIZES[:1] if smoke else SIZES)


def test_serialize(benchmark: Any, phase: str, nodes: int) -> None:
    benchmark.group = f"serialize-{phase}"
    if phase == "from_json-live":
        alive = chain(nodes)
        text = la.to_json(alive)
        setup, run = (lambda n: text), la.from_json
    else:
        setup, run = PHASES[phase]
    count = count_nodes([chain(nodes).node])
    rounds = 1 if nodes >= 100_000 else 3
    result = benchmark.pedantic(
        run, setup=lambda: ((setup(nodes),), {}), rounds=rounds, iterations=1
    )
    benchmark.extra_info["nodes"] = count
    if benchmark.stats is not None:
        benchmark.extra_info["us_per_node"] = benchmark.stats.stats.median / count * 1e6
    assert result is not None


def test_large_literal(benchmark: Any, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """1 GB written and read without a second copy (16 MiB under ``make test``)."""
    smoke = request.config.getoption("benchmark_disable")
    size = (16 << 20) if smoke else (1 << 30)
    benchmark.group = "serialize-literal"
    data = np.ones(size // 8)
    x = la.asarray(data) * 2.0
    blobs = FolderBlobs(tmp_path)
    peaks: dict[str, float] = {}

    def run() -> Any:
        tracemalloc.start()
        try:
            start = time.perf_counter()
            doc = serialize.to_dict(x, blobs=blobs)
            peaks["write_s"] = time.perf_counter() - start
            peaks["write_peak_bytes"] = tracemalloc.get_traced_memory()[1]
            data[0] = 3.0  # the live literal no longer matches: the store is read
            tracemalloc.reset_peak()
            start = time.perf_counter()
            back = serialize.from_dict(doc, blobs=blobs)
            peaks["read_s"] = time.perf_counter() - start
            peaks["read_peak_bytes"] = tracemalloc.get_traced_memory()[1]
            data[0] = 1.0
            return back
        finally:
            tracemalloc.stop()

    back = benchmark.pedantic(run, rounds=1, iterations=1)
    benchmark.extra_info.update(peaks, literal_bytes=size)
    assert peaks["write_peak_bytes"] < size // 4 and peaks["read_peak_bytes"] < size // 4
    assert back.node.inputs[0].attr("value").value[0] == 1.0
