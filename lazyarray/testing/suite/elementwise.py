"""Every elementwise row against numpy, generated from the op table: every dtype with
numpy's awkward values (0, -0.0, NaN, inf), Python scalars, broadcasting, numpy.ma for
masked arrays; what numpy refuses is refused the same way."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import lazyarray as la
from lazyarray.backend import Backend
from lazyarray.errors import ComputeError
from lazyarray.ops import OPS, Kind
from lazyarray.testing.refusing import refusing
from lazyarray.testing.samples import DTYPES, masked_sample, sample
from lazyarray.testing.suite.cases import ELEMENTWISE
from lazyarray.testing.suite.harness import compare, described, wrap

UFUNC_ROWS = sorted(
    name
    for name, row in OPS.items()
    if row.kind is Kind.ELEMENTWISE and any(isinstance(f, np.ufunc) for f in row.numpy_functions)
)


def check_row(name: str, args: list[Any], backend: Backend) -> None:
    """``name`` over ``args`` (numpy values or Python scalars) against the row's numpy
    implementation (numpy.ma's, on masked arrays); numpy's own refusals are compared
    too."""
    lazy_args = [wrap(a) for a in args]
    row = OPS[name]
    masked = any(isinstance(a, np.ma.MaskedArray) for a in args) and row.masked_impl is not None
    try:
        expected = (row.masked_impl if masked else row.impl)(*args)  # type: ignore[misc]
    except TypeError:  # numpy refuses the dtypes: refused when written
        with refusing(), pytest.raises(TypeError):
            getattr(la, name)(*lazy_args)
        return
    except ValueError as exc:  # numpy refuses the values: refused when run, chained
        check_refused_when_run(lambda: getattr(la, name)(*lazy_args), type(exc), backend)
        return
    compare(lambda: getattr(la, name)(*lazy_args), expected, backend)


def check_refused_when_run(build: Any, error: type[Exception], backend: Backend) -> None:
    with pytest.raises(ComputeError) as raised:
        build().compute(backend=backend.name, cache=False)
    assert type(raised.value.original) is error, raised.value


class TestElementwise:
    @pytest.mark.parametrize("name", UFUNC_ROWS)
    def test_row(self, name: str, backend_under_test: Backend, mode: str) -> None:
        arity = OPS[name].arity or 1
        for dtype in DTYPES:
            with described(dtype=dtype):
                check_row(name, [sample(dtype, seed=i) for i in range(arity)], backend_under_test)
        if arity == 2:
            for args in (
                [sample("float32"), 1.5],
                [3, sample("int8")],
                [sample("float64", (3, 1)), sample("float64", (4,))],
            ):
                with described(args=[getattr(a, "shape", a) for a in args]):
                    check_row(name, args, backend_under_test)

    @pytest.mark.parametrize("name", UFUNC_ROWS)
    def test_masked_row(self, name: str, backend_under_test: Backend, mode: str) -> None:
        arity = OPS[name].arity or 1
        for dtype in ("int64", "float64"):
            with described(dtype=dtype):
                args = [masked_sample(dtype, seed=i) for i in range(arity)]
                check_row(name, args, backend_under_test)

    @pytest.mark.parametrize("case", sorted(ELEMENTWISE))
    def test_case(self, case: str, backend_under_test: Backend, mode: str) -> None:
        build = ELEMENTWISE[case]
        for dtype in ("int64", "float32", "float64"):
            a, b = sample(dtype), sample(dtype, seed=1)
            with described(dtype=dtype):
                lazy = lambda a=a, b=b: build(la, la.Array(a), la.Array(b))
                compare(lazy, build(np, a, b), backend_under_test)


__all__ = ["TestElementwise", "check_row"]
