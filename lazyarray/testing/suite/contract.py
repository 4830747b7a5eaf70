"""The rest of the backend protocol: declared capabilities (refusing, before running,
what it lacks), results that must fit in memory refused before running, the options
snapshot a job runs with, and results that are the caller's own."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import lazyarray as la
from lazyarray.backend import Backend, Capability
from lazyarray.errors import ResourceExhausted, UnsupportedOperation
from lazyarray.testing.equal import assert_equal, reduction_bound
from lazyarray.testing.samples import masked_sample, sample
from lazyarray.testing.suite.harness import requires, site_of

# a graph needing each capability a backend may lack (no op needs custom functions yet)
NEEDING: dict[Capability, Callable[[], Any]] = {
    Capability.MASKED: lambda: la.MaskedArray(masked_sample("float64")) * 2,
    Capability.UNKNOWN_SHAPES: lambda: la.Array(sample("float64"))[la.Array(sample("float64")) > 0],
}


def _random(shape: tuple[int, ...]) -> Any:
    return la.random.default_rng(0).random(shape)


def _submit_and_wait(lazy: Any, backend: str) -> Any:
    return lazy.compute(backend=backend, cache=False, block=False).result(timeout=60)


class TestCapabilities:
    def test_it_is_found_through_its_entry_point(self, backend_name: str) -> None:
        assert backend_name in la.available_backends(), (
            f"no entry point {backend_name!r} in the group lazyarray.backends"
        )

    def test_it_declares_its_capabilities(self, backend_under_test: Backend) -> None:
        assert isinstance(backend_under_test.capabilities, frozenset)
        assert all(isinstance(c, Capability) for c in backend_under_test.capabilities)

    @pytest.mark.parametrize("capability", list(NEEDING), ids=lambda c: c.name)
    def test_it_refuses_what_it_lacks_before_running(
        self, capability: Capability, backend_under_test: Backend
    ) -> None:
        if capability in backend_under_test.capabilities:
            pytest.skip(f"backend {backend_under_test.name!r} declares {capability.value}")
        build = NEEDING[capability]
        site = site_of(build)
        with pytest.raises(UnsupportedOperation) as raised:  # at submission: nothing runs
            build().compute(backend=backend_under_test.name, cache=False, block=False)
        message = str(raised.value)
        assert repr(backend_under_test.name) in message, message
        assert capability.value in message, message
        assert site in message, f"the refusal does not name the user's line {site}: {message}"


class TestOutputsFit:
    def test_a_result_too_big_is_refused_before_running(self, backend_under_test: Backend) -> None:
        name = backend_under_test.name
        with la.config.set(memory_limit="1MB"):
            with pytest.raises(ResourceExhausted) as raised:
                (_random((1000, 1000)) * 2).compute(backend=name, cache=False)
            assert "memory_limit" in str(raised.value), raised.value
            with pytest.raises(ResourceExhausted):  # at submission, or from the job
                _submit_and_wait(_random((1000, 1000)) * 2, name)
            # what can work: a part of it
            part = (_random((1000, 1000)) * 2)[:10].compute(backend=name, cache=False)
        assert part.shape == (10, 1000)

    def test_a_huge_result_is_refused_at_once(self, backend_under_test: Backend) -> None:
        start = time.monotonic()
        with pytest.raises(ResourceExhausted):
            (_random((10**5, 10**5)) + 1).compute(backend=backend_under_test.name, cache=False)
        assert time.monotonic() - start < 2, "refused only after running for a while"


class TestOptions:
    def test_a_job_keeps_the_options_it_was_asked_with(self, backend_under_test: Backend) -> None:
        with la.config.set(memory_limit="1MB"):
            try:
                job = (_random((1000, 1000)) * 2).compute(
                    backend=backend_under_test.name, cache=False, block=False
                )
            except ResourceExhausted:
                return  # refused at submission, under the options in force
        with pytest.raises(ResourceExhausted):  # the limit holds outside the with block
            job.result(timeout=60)


# results that are an input itself, a view of it, an elementwise result
RESULTS: dict[str, Callable[[Any], Any]] = {
    "literal": lambda x: x,
    "slice": lambda x: x[2:],
    "transpose": lambda x: x.reshape(2, -1).T,
    "elementwise": lambda x: x + 1,
}


class TestResults:
    @pytest.mark.parametrize("size", [12, 100_000])
    @pytest.mark.parametrize("case", list(RESULTS))
    def test_a_result_is_the_callers_own(
        self, case: str, size: int, backend_under_test: Backend
    ) -> None:
        """In the default options: the small size skips the data stages, the big one
        (above ``small_bytes``) runs them all."""
        data = np.arange(float(size))
        lazy = RESULTS[case](la.Array(data))
        first = lazy.compute(backend=backend_under_test.name, cache=False)
        assert not np.shares_memory(first, data), "the result shares memory with its input"
        expected = first.copy()
        first[...] = -7.0
        np.testing.assert_array_equal(data, np.arange(float(size)))
        again = lazy.compute(backend=backend_under_test.name, cache=False)
        np.testing.assert_array_equal(again, expected)

    def test_masked_results_own_data_and_mask(self, backend_under_test: Backend) -> None:
        requires(backend_under_test, Capability.MASKED)
        data = masked_sample("float64")
        result = la.MaskedArray(data)[5:].compute(backend=backend_under_test.name, cache=False)
        assert not np.shares_memory(np.ma.getdata(result), np.ma.getdata(data))
        assert not np.shares_memory(np.ma.getmaskarray(result), np.ma.getmaskarray(data))

    def test_parameters(self, backend_under_test: Backend, mode: str) -> None:
        x = la.parameter("x", la.Array, dtype="float64", shape=(None, 41))
        k = la.parameter("k", la.Scalar, dtype="int64")
        lazy = (x * k).sum(axis=1)
        data = sample("float64")
        result = lazy.compute(x=data, k=3, backend=backend_under_test.name, cache=False)
        assert_equal(result, (data * 3).sum(axis=1), reduction_bound("sum", data * 3, axis=1))
        value = x.compute(x=data, backend=backend_under_test.name, cache=False)
        assert not np.shares_memory(value, data), "a parameter's value came back as the result"

    def test_several_results_at_once(self, backend_under_test: Backend, mode: str) -> None:
        data = sample("float64")
        x = la.sin(la.Array(data))
        first, second, third = la.compute(
            x * 2, x.max(axis=0), x[::2], backend=backend_under_test.name, cache=False
        )
        assert_equal(first, np.sin(data) * 2)
        assert_equal(second, np.sin(data).max(axis=0))
        assert_equal(third, np.sin(data)[::2])

    def test_results_are_numpy_values(self, backend_under_test: Backend) -> None:
        name = backend_under_test.name
        data = sample("int64")
        assert type(la.Array(data).compute(backend=name, cache=False)) is np.ndarray
        total = la.Array(data).sum().compute(backend=name, cache=False)
        assert type(total) is np.int64, type(total)
        if Capability.MASKED in backend_under_test.capabilities:
            masked = la.MaskedArray(data, mask=data > 2).compute(backend=name, cache=False)
            assert type(masked) is np.ma.MaskedArray, type(masked)
            nothing = la.MaskedArray(data, mask=True).sum().compute(backend=name, cache=False)
            assert nothing is np.ma.masked, nothing


__all__ = ["TestCapabilities", "TestOptions", "TestOutputsFit", "TestResults"]
