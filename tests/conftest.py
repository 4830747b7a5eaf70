"""Shared fixtures: the backends under test and a backend that refuses to run, which
proves that building an expression computes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

import lazyarray as la
from lazyarray.backend import Backend, Capability, register_backend
from lazyarray.planner.passes import STAGES

settings.register_profile(
    "default",
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("thorough", max_examples=1000, deadline=None)
settings.load_profile("default")

BACKENDS = ["numpy", "dask"]

# Each backend also runs in modes that exercise the planner's machinery on the tests'
# small arrays: no folding (so kernels run) with tiny blocks (so they run blockwise on
# several threads), and no optimization at all (the unoptimized oracle).
MODES: dict[str, dict[str, Any]] = {
    "optimized": {},
    "kernels": {"disabled": frozenset({"fold"}), "block_bytes": 1024, "small_bytes": 0},
    "unoptimized": {"disabled": frozenset({s.name for s in STAGES})},
}


class RefusingBackend(Backend):
    """Fails any attempt to run: set as the default while building expressions."""

    name = "refuse"
    capabilities = frozenset(Capability)

    def execute(self, plan: Any, arguments: Any, context: Any) -> list[Any]:
        raise AssertionError("an expression was computed while it was only being built")


register_backend(RefusingBackend())


@pytest.fixture(params=[(b, m) for b in BACKENDS for m in MODES], ids=lambda p: f"{p[0]}-{p[1]}")
def backend(request: pytest.FixtureRequest) -> Iterator[str]:
    name, mode = request.param
    with la.config.set(**MODES[mode]):
        yield name


@pytest.fixture
def no_compute() -> Iterator[None]:
    """Inside, any compute (explicit or implicit) fails the test."""
    with la.config.set(backend="refuse", implicit_compute="error"):
        yield


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    la.execution.result_cache.clear()


def assert_same(actual: Any, expected: Any, rtol: float | None = None, atol: float = 0) -> None:
    """Values, dtype, shape and mask all equal numpy's (NaN equal to NaN)."""
    if isinstance(expected, np.ma.MaskedArray) or expected is np.ma.masked:
        if expected is np.ma.masked:
            assert actual is np.ma.masked
            return
        assert isinstance(actual, np.ma.MaskedArray), type(actual)
        np.testing.assert_array_equal(np.ma.getmaskarray(actual), np.ma.getmaskarray(expected))
        assert_same(actual.filled(0), expected.filled(0), rtol, atol)
        return
    expected = np.asarray(expected)
    actual_array = np.asarray(actual)
    assert actual_array.dtype == expected.dtype, (actual_array.dtype, expected.dtype)
    assert actual_array.shape == expected.shape, (actual_array.shape, expected.shape)
    if expected.dtype.kind in "fc":
        # numpy's own SIMD and scalar loops differ in the last bit of transcendental
        # functions, so which elements are computed together (slices pushed down, blocks)
        # can change float32 results by a few units in the last place
        if rtol is None:
            wide = expected.dtype.itemsize >= 8 and expected.dtype != np.complex64
            rtol = 1e-12 if wide else 1e-5
        np.testing.assert_allclose(actual_array, expected, rtol=rtol, atol=atol, equal_nan=True)
    else:
        np.testing.assert_array_equal(actual_array, expected)
