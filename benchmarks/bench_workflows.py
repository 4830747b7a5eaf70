"""Workflows over a folder registry: the latency of publishing, using and calling a small
workflow, and a large literal published and used without a second copy in memory.

Groups:
- workflow-<step>: ``publish`` of a new version (the document, its blob, one SQLite
  transaction), ``publish-again`` (the same graph: a no-op), ``use`` (the latest release:
  the records, the verified document, the graph built) and ``call`` (arguments
  substituted for parameters), of a 20-node expression with two parameters.
- workflow-literal: a 1 GB float64 literal (16 MiB under ``make test``) published to a
  registry and used back; ``extra_info`` holds the seconds and the peak of Python's
  allocations of each, which must stay far below the literal's size (the literal is
  streamed into its blob, then read memory-mapped).
"""

from __future__ import annotations

import gc
import itertools
import time
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import lazyarray as la


def expression() -> Any:
    x = la.parameter("x", la.Array, dtype="float64")
    t = la.parameter("threshold", la.Scalar, dtype="float64")
    y = la.where(x > t, x * 2.0 - t, 0.0)
    for step in range(5):
        y = la.sqrt(la.abs(y + step)) * 0.5
    return y.sum()


def test_publish(benchmark: Any, tmp_path: Path) -> None:
    benchmark.group = "workflow-publish"
    body = expression()
    numbers = (f"1.0.{n}" for n in itertools.count())
    body.publish("bench:w", "0.0.1", parameters=["x", "threshold"], registry=tmp_path)
    benchmark(
        lambda: body.publish(
            "bench:w", next(numbers), parameters=["x", "threshold"], registry=tmp_path
        )
    )


def test_publish_again(benchmark: Any, tmp_path: Path) -> None:
    benchmark.group = "workflow-publish-again"
    body = expression()
    body.publish("bench:w", "1.0.0", parameters=["x", "threshold"], registry=tmp_path)
    benchmark(
        lambda: body.publish("bench:w", "1.0.0", parameters=["x", "threshold"], registry=tmp_path)
    )


def test_use(benchmark: Any, tmp_path: Path) -> None:
    benchmark.group = "workflow-use"
    expression().publish("bench:w", "1.0.0", parameters=["x", "threshold"], registry=tmp_path)
    function = benchmark(lambda: la.use("bench:w", registry=tmp_path))
    assert function.names == ("x", "threshold")


def test_call(benchmark: Any, tmp_path: Path) -> None:
    benchmark.group = "workflow-call"
    expression().publish("bench:w", "1.0.0", parameters=["x", "threshold"], registry=tmp_path)
    function = la.use("bench:w", registry=tmp_path)
    data = np.linspace(-1.0, 1.0, 1000)
    result = benchmark(lambda: function(data, 0.25))
    assert not result.node.has_parameters


def test_large_literal(benchmark: Any, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """1 GB published and used without a second copy (16 MiB under ``make test``)."""
    smoke = request.config.getoption("benchmark_disable")
    size = (16 << 20) if smoke else (1 << 30)
    benchmark.group = "workflow-literal"
    found: dict[str, float] = {}

    def measured(name: str, run: Any) -> Any:
        tracemalloc.start()
        try:
            start = time.perf_counter()
            value = run()
            found[f"{name}_s"] = time.perf_counter() - start
            found[f"{name}_peak_bytes"] = tracemalloc.get_traced_memory()[1]
            return value
        finally:
            tracemalloc.stop()

    def publish() -> None:
        weights = np.ones(size // 8)
        weights.flags.writeable = False
        x = la.parameter("x", la.Scalar, dtype="float64")
        body = (la.asarray(weights) * x).sum()
        measured("publish", lambda: body.publish("bench:big", "1.0.0", registry=tmp_path))

    def run() -> Any:
        publish()
        gc.collect()  # the published graph is gone: using reads the registry
        return measured("use", lambda: la.use("bench:big", registry=tmp_path))

    used = benchmark.pedantic(run, rounds=1, iterations=1)
    benchmark.extra_info.update(found, literal_bytes=size)
    assert found["publish_peak_bytes"] < size // 4
    assert found["use_peak_bytes"] < size // 4
    literal = used.node.inputs[0].inputs[0].attr("value").value
    assert not literal.flags.owndata  # mapped from the registry's blob, not copied
    assert used(x=2.0).compute() == 2.0 * (size // 8)
