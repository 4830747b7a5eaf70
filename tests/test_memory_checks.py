"""Every backend refuses, before running, results that cannot fit in memory (they are
returned whole, in this process, whatever the backend), suggesting what can work; the
numpy backend suggests a chunked backend only when just its peak would not fit."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import numpy as np
import pytest

import lazyarray as la
from lazyarray.backend import memory_error

BACKENDS = ["numpy", "dask"]


def _random(shape: tuple[int, ...]) -> Any:
    return la.random.default_rng(0).random(shape)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_result_too_big_is_refused_before_running(backend: str) -> None:
    with la.config.set(memory_limit="1MB"):
        with pytest.raises(la.ResourceExhausted) as raised:
            (_random((1000, 1000)) * 2).compute(backend=backend, cache=False)
        message = str(raised.value)
        assert "7.63 MiB" in message and "976.56 KiB" in message and "memory_limit" in message
        assert "slice" in message and "reduction" in message
        assert "dask" not in message  # it would fail the same way
        # what it suggests works, on every backend
        part = (_random((1000, 1000)) * 2)[:10].compute(backend=backend, cache=False)
    assert part.shape == (10, 1000)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_huge_result_is_refused_at_once(backend: str) -> None:
    start = time.monotonic()
    with pytest.raises(la.ResourceExhausted, match=r"would take 74\.51 GiB") as raised:
        (_random((10**5, 10**5)) + 1).compute(backend=backend, cache=False)
    assert time.monotonic() - start < 2  # not after running for a while
    assert "dask" not in str(raised.value)


def test_several_results_count_together() -> None:
    x = _random((300, 300))  # 0.69 MiB each, 1.37 MiB both
    with la.config.set(memory_limit="1MB"):
        with pytest.raises(la.ResourceExhausted, match="the results of this computation"):
            la.compute(x * 2, x * 3, backend="dask", cache=False)
        assert la.compute(x * 2, backend="dask", cache=False)[0].shape == (300, 300)


def test_the_numpy_backend_suggests_dask_only_for_its_peak() -> None:
    # the result is one number; only the kernel's blocks exceed the limit
    total = (_random((1000, 1000)) * 2).sum()
    with la.config.set(memory_limit="1MB", threads=1):
        with pytest.raises(la.ResourceExhausted, match="at its peak") as raised:
            total.compute(backend="numpy", cache=False)
        assert "backend='dask'" in str(raised.value)
        assert "though its results fit" in str(raised.value)
        on_dask = total.compute(backend="dask", cache=False)
    assert on_dask == pytest.approx(float((_random((1000, 1000)) * 2).sum().compute()))


def test_a_fraction_of_the_available_memory_is_named() -> None:
    with la.config.set(memory_fraction=1e-9), pytest.raises(la.ResourceExhausted) as raised:
        (_random((3000, 3000)) + 1).compute(backend="dask", cache=False)
    assert "1e-09 of the memory available" in str(raised.value)


def test_a_bare_memory_error_message_has_no_empty_field() -> None:
    message = str(memory_error("add", "here.py:1", MemoryError()))
    assert "()" not in message and ": ." not in message and ": ;" not in message
    assert "ran out of memory (the allocation failed)" in message
    numpy_words = "Unable to allocate 74.5 GiB for an array with shape (100000, 100000)"
    assert numpy_words in str(memory_error("add", "here.py:1", MemoryError(numpy_words)))


@pytest.mark.parametrize("backend", BACKENDS)
def test_running_out_of_memory_is_resource_exhausted(
    backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lazyarray.ops import OPS

    row = OPS["sin"]

    def exhausted(*args: Any, **kwargs: Any) -> Any:
        raise MemoryError()

    monkeypatch.setitem(OPS, "sin", dataclasses.replace(row, impl=exhausted))
    with (
        la.config.set(disabled={"fuse", "fold"}, small_bytes=0),
        pytest.raises(la.ResourceExhausted, match="ran out of memory") as raised,
    ):
        la.sin(la.Array(np.arange(10.0))).compute(backend=backend, cache=False)
    assert "sin (built at" in str(raised.value)
    assert ": ." not in str(raised.value)
