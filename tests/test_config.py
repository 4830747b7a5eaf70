"""Options: checked when set, context-local, restored exactly, and snapshotted by
compute for the threads that run it (issue 8, item 6 and the options' bad input)."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pytest

import lazyarray as la
from lazyarray.config import from_environment, parse_bytes, snapshot
from lazyarray.errors import ConfigError, ImplicitComputeError, ResourceExhausted


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1GB", 10**9), ("512 MiB", 512 * 2**20), ("1.5kB", 1500), ("100", 100), ("2 gib", 2**31)],
)
def test_sizes_are_read_as_dask_reads_them(text: str, expected: int) -> None:
    assert parse_bytes(text) == expected
    with la.config.set(memory_limit=text) as options:
        assert options.memory_limit == expected


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("memory_limit", "lots"),
        ("memory_limit", -1),
        ("memory_limit", 1.5),
        ("cache_bytes", True),
        ("threads", 0),
        ("threads", "2"),
        ("block_bytes", 100),
        ("memory_fraction", 1.5),
        ("implicit_compute", "never"),
        ("fast_math", "yes"),
        ("disabled", 3),
        ("max_outstanding_jobs", 0),
        ("no_such_option", 1),
    ],
)
def test_a_bad_option_is_refused_where_it_is_set(option: str, value: Any) -> None:
    before = snapshot()
    with pytest.raises(ConfigError, match=option):
        la.config.set(**{option: value})
    assert snapshot() is before


@pytest.mark.parametrize(
    ("variable", "text"),
    [("LAZYARRAY_MEMORY_LIMIT", "abc"), ("LAZYARRAY_THREADS", "two"), ("LAZYARRAY_FAST_MATH", "")],
)
def test_a_bad_environment_variable_is_named(variable: str, text: str) -> None:
    if variable == "LAZYARRAY_FAST_MATH":  # any text is a flag: empty means off
        assert from_environment({variable: text}).fast_math is False
        return
    with pytest.raises(ConfigError, match=variable):
        from_environment({variable: text})


def test_environment_sizes_accept_units() -> None:
    assert from_environment({"LAZYARRAY_MEMORY_LIMIT": "2GB"}).memory_limit == 2 * 10**9


def test_overlapping_blocks_restore_exactly() -> None:
    before = snapshot()
    first = la.config.set(threads=3)
    first.__enter__()
    second = la.config.set(block_bytes=4096)
    second.__enter__()
    first.__exit__(None, None, None)  # the outer block ends first
    assert snapshot().threads == before.threads and snapshot().block_bytes == 4096
    second.__exit__(None, None, None)
    assert snapshot() == before


def test_options_cannot_be_assigned() -> None:
    with pytest.raises(ConfigError, match="set_defaults"):
        la.config.options.threads = 2


def test_set_defaults_reaches_every_thread() -> None:
    seen: list[int | None] = []
    previous = snapshot().threads
    la.config.set_defaults(threads=3)
    try:
        thread = threading.Thread(target=lambda: seen.append(la.config.options.threads))
        thread.start()
        thread.join()
    finally:
        la.config.set_defaults(threads=previous)
    assert seen == [3]


def test_one_threads_override_does_not_reach_another() -> None:
    x = la.Array(np.arange(10.0))
    inside = threading.Event()
    done = threading.Event()
    errors: list[BaseException] = []

    def strict() -> None:
        with la.config.set(implicit_compute="error"):
            inside.set()
            try:
                float(x.sum())
            except ImplicitComputeError:
                pass
            else:
                errors.append(AssertionError("the override was not in force"))
            done.wait(10)

    thread = threading.Thread(target=strict)
    thread.start()
    inside.wait(10)
    try:
        assert float(x.sum()) == 45.0  # this thread's options are its own
    finally:
        done.set()
        thread.join()
    assert not errors


def test_many_threads_each_see_their_own_options() -> None:
    results: dict[int, int | None] = {}
    barrier = threading.Barrier(8)

    def run(i: int) -> None:
        with la.config.set(threads=i + 1):
            barrier.wait(10)
            results[i] = la.config.options.threads

    threads = [threading.Thread(target=run, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {i: i + 1 for i in range(8)}


def test_a_job_runs_with_the_options_of_the_line_that_asked_for_it() -> None:
    big = la.Array(np.arange(1e6)) * 2
    with la.config.set(memory_limit="1KB"):
        job = big.compute(block=False)
    with pytest.raises(ResourceExhausted):
        job.result(timeout=30)
    assert job.status()["status"] == "Errored"
