"""Shape ops, indexing (boolean and unknown sizes included), linear algebra, creation,
generated sources, random arrays and masked arrays against numpy; and big arrays, which
take the blocked and chunked paths in the default options."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import lazyarray as la
from lazyarray.backend import Backend, Capability
from lazyarray.planner.passes import STAGES
from lazyarray.testing.equal import products_bound, reduction_bound, scan_bound
from lazyarray.testing.samples import masked_sample, sample
from lazyarray.testing.suite.cases import MASKED, MASKED_X, NUMPY_MA, STRUCTURAL, TERMS, X
from lazyarray.testing.suite.harness import compare, described, method_call, requires

REFERENCE_BACKEND = "numpy"  # random values are defined by its run of the graph as written


class TestStructural:
    @pytest.mark.parametrize("case", list(STRUCTURAL))
    def test_case(self, case: str, backend_under_test: Backend, mode: str) -> None:
        build = STRUCTURAL[case]
        bound = None
        if case in TERMS:
            bound = products_bound(lambda a: build(np, a), X, terms=TERMS[case])
        compare(lambda: build(la, la.Array(X)), build(np, X.copy()), backend_under_test, bound)

    @pytest.mark.parametrize("case", list(MASKED))
    def test_masked_case(self, case: str, backend_under_test: Backend, mode: str) -> None:
        build = MASKED[case]
        expected = build(NUMPY_MA, MASKED_X.copy())
        compare(lambda: build(la, la.MaskedArray(MASKED_X)), expected, backend_under_test)

    def test_unknown_sizes_resolve_by_computing(self, backend_under_test: Backend) -> None:
        requires(backend_under_test, Capability.UNKNOWN_SHAPES)
        x = la.Array(X)
        selected = (x[x > 0] * 2)[1:]
        assert selected.shape == (None,)
        expected = (X[X > 0] * 2)[1:]
        assert selected.compute_shape(backend=backend_under_test.name) == expected.shape
        compressed = la.MaskedArray(MASKED_X).compressed()
        if Capability.MASKED in backend_under_test.capabilities:
            shape = compressed.compute_shape(backend=backend_under_test.name)
            assert shape == MASKED_X.compressed().shape


def _reference(lazy: Any) -> Any:
    with la.config.set(disabled=frozenset(stage.name for stage in STAGES)):
        return lazy.compute(backend=REFERENCE_BACKEND, cache=False)


RANDOM: dict[str, Callable[[Any], Any]] = {
    "random": lambda g: g.random((300, 200)),
    "normal": lambda g: g.normal(2.0, 3.0, (300, 200)),
    "uniform": lambda g: g.uniform(-1.0, 1.0, 60_000),
    "integers": lambda g: g.integers(0, 9, (300, 200)),
    "in an expression": lambda g: la.sin(g.random((300, 200))) * 2 + 1,
}


class TestRandom:
    @pytest.mark.parametrize("case", list(RANDOM))
    def test_same_values_as_the_reference(
        self, case: str, backend_under_test: Backend, mode: str
    ) -> None:
        draw = RANDOM[case]
        lazy = draw(la.random.default_rng(7))
        values = lazy.compute(backend=backend_under_test.name, cache=False)
        np.testing.assert_array_equal(values, _reference(draw(la.random.default_rng(7))))
        assert values.dtype == lazy.dtype
        assert values.shape == lazy.shape
        other = draw(la.random.default_rng(8)).compute(backend=backend_under_test.name)
        assert not np.array_equal(values, other), "another seed gave the same values"
        # any part is generated alone, with the values it has in the whole
        part = lazy[50:61, ::7] if values.ndim == 2 else lazy[50:61]
        expected = values[50:61, ::7] if values.ndim == 2 else values[50:61]
        np.testing.assert_array_equal(
            part.compute(backend=backend_under_test.name, cache=False), expected
        )


# 200,000 elements: above small_bytes, so the default options run every stage, and
# kernels and chunks split them
BIG_SHAPE = (500, 400)
BIG = sample("float64", BIG_SHAPE, seed=1)
BIG_INTS = sample("int64", BIG_SHAPE, seed=3)

BIG_CASES: dict[str, Callable[[Any, Any], Any]] = {
    "chain": lambda m, x: ((x + 1.5) * 0.75 - 0.25) * 1.25,
    "ufuncs": lambda m, x: m.where(m.isfinite(x), m.sin(x) + m.exp(-m.abs(x)), 0.0),
    "broadcast": lambda m, x: x - x[:, :1] * x[:1, :],
    "slices": lambda m, x: (m.cos(x) * 2)[::3, 100:300].T,
    "indexing": lambda m, x: x[[0, 499, 7], 1:],
    "shape": lambda m, x: m.concatenate([x, x[::-1]], axis=1).reshape(1000, 400)[::7],
}


class TestLarge:
    @pytest.mark.parametrize("case", list(BIG_CASES))
    def test_case(self, case: str, backend_under_test: Backend) -> None:
        build = BIG_CASES[case]
        with np.errstate(all="ignore"):
            compare(lambda: build(la, la.Array(BIG)), build(np, BIG.copy()), backend_under_test)

    @pytest.mark.parametrize("name", ["sum", "mean", "std", "max", "argmin"])
    def test_reductions(self, name: str, backend_under_test: Backend) -> None:
        data = np.where(np.isfinite(BIG), BIG, 1.0)
        for axis in (None, 0, 1):
            with described(axis=axis):
                compare(
                    method_call(lambda d: la.sin(la.Array(d)), data, name, axis=axis),
                    getattr(np, name)(np.sin(data), axis=axis),
                    backend_under_test,
                    reduction_bound(name, np.sin(data), axis=axis),
                )
        compare(lambda: la.Array(BIG_INTS).sum(axis=0), BIG_INTS.sum(axis=0), backend_under_test)

    def test_scan(self, backend_under_test: Backend) -> None:
        compare(
            lambda: la.cumsum(la.Array(BIG_INTS), axis=1),
            np.cumsum(BIG_INTS, axis=1),
            backend_under_test,
        )
        data = np.where(np.isfinite(BIG), BIG, 0.0)
        compare(
            lambda: la.cumsum(la.Array(data), axis=0),
            np.cumsum(data, axis=0),
            backend_under_test,
            scan_bound("cumsum", data, 0),
        )

    def test_matmul(self, backend_under_test: Backend) -> None:
        data = np.where(np.isfinite(BIG), BIG, 1.0)
        right = data[:, :50]
        compare(
            lambda: la.Array(data).T @ la.Array(right),
            data.T @ right,
            backend_under_test,
            products_bound(lambda a, b: a.T @ b, data, right, terms=500),
        )

    def test_masked(self, backend_under_test: Backend) -> None:
        data = masked_sample("float64", BIG_SHAPE, seed=4)
        with np.errstate(all="ignore"):
            compare(
                lambda: la.sqrt(la.MaskedArray(data)) * 2 + 1,
                np.sqrt(data) * 2 + 1,  # numpy on masked arrays, as the rows define it
                backend_under_test,
            )
        finite = np.ma.masked_invalid(data)
        compare(
            lambda: la.MaskedArray(finite).mean(axis=0),
            finite.mean(axis=0),
            backend_under_test,
            reduction_bound("mean", finite, axis=0),
        )

    def test_boolean_index(self, backend_under_test: Backend) -> None:
        compare(lambda: la.Array(BIG)[la.Array(BIG) > 1] * 2, BIG[BIG > 1] * 2, backend_under_test)


__all__ = ["TestLarge", "TestRandom", "TestStructural"]
