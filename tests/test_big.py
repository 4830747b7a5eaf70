"""Big cases in the default mode: arrays above ``small_bytes``, so every one runs through
the data stages, fusion and the kernel runners, on both backends, compared with numpy by
``tests.kit``'s rules. Larger sizes are marked ``soak`` (``make soak``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import lazyarray as la
from lazyarray.ops import OPS, Kind
from tests import kit
from tests.cases import masked_sample, sample

BACKENDS = ["numpy", "dask"]
SHAPE = (500, 400)  # 200,000 elements: 1.6 MB of float64, above small_bytes (256 KiB)
X = sample("float64", SHAPE, seed=1)
Y = sample("float64", SHAPE, seed=2)
N = sample("int64", SHAPE, seed=3)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    assert X.nbytes > la.config.snapshot().small_bytes
    return str(request.param)


def _both(build: Callable[..., Any], *data: Any, wrap: Any = la.Array) -> tuple[Any, Any]:
    """``build`` written once: numpy's (numpy.ma's) value, and the lazy expression."""
    module = np.ma if wrap is la.MaskedArray else np
    with np.errstate(all="ignore"):
        expected = build(module, *[d.copy() for d in data])
    return expected, build(la, *[wrap(d) for d in data])


# --- long chains, wide sums, nested where --------------------------------------------

# exact in any order of evaluation: each step rounds once, as numpy's does
STEPS: list[Callable[[Any, Any], Any]] = [
    lambda m, v: v + 1.5,
    lambda m, v: v * 0.75,
    lambda m, v: v - 0.25,
    lambda m, v: v * 1.25,
]


def chain(length: int) -> Callable[[Any, Any], Any]:
    return lambda m, x: kit.chain(x, [lambda v, i=i: STEPS[i % 4](m, v) for i in range(length)])


def wide_sum(terms: int) -> Callable[[Any, Any], Any]:
    def build(m: Any, x: Any) -> Any:
        total = x
        for i in range(1, terms):
            total = total + x * (i % 7)
        return total

    return build


def nested_where(depth: int) -> Callable[[Any, Any], Any]:
    def build(m: Any, x: Any) -> Any:
        value = x
        for i in range(depth):
            value = m.where(x > i / depth - 0.5, value + 1, value)
        return value

    return build


LONG = {
    "chain 200": chain(200),
    "chain 1000": chain(1000),
    "sum of 1000 terms": wide_sum(1000),
    "300 nested where": nested_where(300),
}


@pytest.mark.parametrize("name", LONG)
def test_long_expressions(name: str, backend: str) -> None:
    expected, lazy = _both(LONG[name], X)
    kit.assert_exact(lazy.compute(backend=backend, cache=False), expected)


# --- every elementwise op ------------------------------------------------------------

UFUNCS = sorted(
    name
    for name, row in OPS.items()
    if row.kind is Kind.ELEMENTWISE and isinstance(row.impl, np.ufunc)
)


def _elementwise_inputs(name: str, dtype: str) -> list[Any] | None:
    row = OPS[name]
    data = [X, Y] if dtype == "float64" else [N, sample("int64", SHAPE, seed=4) % 5]
    args = [d.astype(dtype) for d in data[: row.arity or 1]]
    try:
        row.impl.resolve_dtypes(tuple(a.dtype for a in args) + (None,) * row.impl.nout)
    except (TypeError, ValueError):
        return None
    return args


@pytest.mark.parametrize("dtype", ["float64", "int64"])
@pytest.mark.parametrize("name", UFUNCS)
def test_every_elementwise_op_is_exact(name: str, dtype: str, backend: str) -> None:
    args = _elementwise_inputs(name, dtype)
    if args is None:
        pytest.skip(f"numpy has no {name} loop for {dtype}")
    with np.errstate(all="ignore"):
        expected = OPS[name].impl(*args)
    lazy = getattr(la, name)(*[la.Array(a) for a in args])
    kit.assert_exact(lazy.compute(backend=backend, cache=False), expected)


# --- reductions and scans ------------------------------------------------------------

REDUCTIONS = ["sum", "mean", "std", "var", "prod", "min", "max", "argmin", "argmax", "median"]


@pytest.mark.parametrize("dtype", ["float64", "float32", "int64", "bool"])
@pytest.mark.parametrize("name", REDUCTIONS)
def test_reductions(name: str, dtype: str, backend: str) -> None:
    data = (X / 10 + 1).astype(dtype) if name == "prod" else X.astype(dtype)
    lazy, expected, kwargs = [], [], []
    for axis in (None, 0, 1):
        for keepdims in (False, True):
            if name in ("argmin", "argmax") and keepdims and axis is None:
                continue
            options = {"axis": axis, "keepdims": keepdims}
            with np.errstate(all="ignore"):
                expected.append(getattr(np, name)(data, **options))
            lazy.append(getattr(la.Array(data), name)(**options))
            kwargs.append(options)
    results = la.compute(*lazy, backend=backend, cache=False)
    for result, wanted, options in zip(results, expected, kwargs, strict=True):
        kit.assert_reduction(result, wanted, name, data, **options)


@pytest.mark.parametrize("name", ["cumsum", "cumprod"])
@pytest.mark.parametrize("axis", [None, 0, 1])
def test_scans(name: str, axis: Any, backend: str) -> None:
    data = X / 100 + 1
    expected = getattr(np, name)(data, axis=axis)
    result = getattr(la.Array(data), name)(axis=axis).compute(backend=backend, cache=False)
    kit.assert_within(result, expected, kit.scan_bound(name, data, axis))


# --- shape ops, indexing, joins ------------------------------------------------------

STRUCTURE: dict[str, Callable[[Any, Any, Any], Any]] = {
    "reshape": lambda m, x, y: (x * 2 + 1).reshape(1000, 200),
    "ravel": lambda m, x, y: m.ravel(x - y),
    "transpose": lambda m, x, y: (x + y).T * 3,
    "flip": lambda m, x, y: m.flip(x * y, axis=1),
    "moveaxis": lambda m, x, y: m.moveaxis((x + 1)[None], 0, -1),
    "broadcast_to": lambda m, x, y: m.broadcast_to(x[0] + y[1], (300, 400)),
    "slices with steps": lambda m, x, y: (x * 2 - y)[7:480:3, ::-5],
    "negative steps": lambda m, x, y: (x + y)[::-2, 399:10:-7] * 2,
    "integer": lambda m, x, y: (x * y)[17] + (x - y)[-3, :],
    "integer array": lambda m, x, y: (x + y)[:, np.arange(0, 400, 7)],
    "integer array rows": lambda m, x, y: (x * 3)[np.array([499, 0, 250, 3, 3])],
    "boolean mask": lambda m, x, y: (x - y)[x > 0.5],
    "boolean rows": lambda m, x, y: (x + 1)[np.arange(500) % 3 == 0],
    "take": lambda m, x, y: m.take(x * 2, np.arange(0, 400, 13), axis=1),
    "concatenate": lambda m, x, y: m.concatenate([x * 2, y + 1, x[:10]], axis=0),
    "concatenate axis 1": lambda m, x, y: m.concatenate([x, y * 2], axis=1) + 1,
    "stack": lambda m, x, y: m.stack([x, y, x * y], axis=1),
    "sliced join": lambda m, x, y: m.concatenate([x, y], axis=0)[450:560:2] ** 2,
}


@pytest.mark.parametrize("name", STRUCTURE)
def test_shape_ops_and_indexing(name: str, backend: str) -> None:
    expected, lazy = _both(STRUCTURE[name], X, Y)
    kit.assert_exact(lazy.compute(backend=backend, cache=False), expected)


# --- linear algebra ------------------------------------------------------------------

PRODUCTS: dict[str, tuple[Callable[..., Any], int]] = {  # (build, terms per sum)
    "matmul": (lambda m, x, y: x[:, :300] @ y[:300, :200], 300),
    "matmul of expressions": (lambda m, x, y: (x[:200] + 1) @ (y.T[:, :100] * 2), 400),
    "einsum": (lambda m, x, y: m.einsum("ij,ij->j", x, y), 500),
    "tensordot": (lambda m, x, y: m.tensordot(x[:50], y[:50], axes=([0], [0])), 50),
}


@pytest.mark.parametrize("name", PRODUCTS)
def test_linear_algebra(name: str, backend: str) -> None:
    build, terms = PRODUCTS[name]
    finite_x, finite_y = np.nan_to_num(X, posinf=7, neginf=-7), np.nan_to_num(Y, posinf=7)
    expected, lazy = _both(build, finite_x, finite_y)
    bound = kit.products_bound(lambda a, b: build(np, a, b), finite_x, finite_y, terms=terms)
    kit.assert_within(lazy.compute(backend=backend, cache=False), expected, bound)


# --- masked arrays -------------------------------------------------------------------

MASKED = masked_sample("float64", SHAPE, seed=5)

MASKED_CASES: dict[str, Callable[[Any, Any], Any]] = {
    "chain": lambda m, x: ((x * 2 + 1) / 3 - x) * x,
    "where": lambda m, x: m.where(x > 0, x, -x),
    "domain": lambda m, x: m.log(x) + m.sqrt(x),
    "slice": lambda m, x: (x * 2)[3:400:2, ::-3],
    "filled": lambda m, x: (x + 1).filled(0.0),
}


UNMASKED_INVALID = (
    "not in issue 8's list: numpy.ma masks the non-finite results of domained ops "
    "(nan / 3, log(inf), sqrt(inf)); lazyarray leaves them unmasked"
)


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(
            name,
            marks=pytest.mark.xfail(reason=UNMASKED_INVALID, raises=AssertionError)
            if name in ("chain", "domain")
            else (),
        )
        for name in MASKED_CASES
    ],
)
def test_masked(name: str, backend: str) -> None:
    expected, lazy = _both(MASKED_CASES[name], MASKED, wrap=la.MaskedArray)
    kit.assert_exact(lazy.compute(backend=backend, cache=False), expected)


@pytest.mark.parametrize("name", ["sum", "mean", "std", "var", "min", "max", "count"])
def test_masked_reductions(name: str, backend: str) -> None:
    x = la.MaskedArray(MASKED)
    lazy = [getattr(x, name)(axis=axis) for axis in (None, 0, 1)]
    results = la.compute(*lazy, backend=backend, cache=False)
    for result, axis in zip(results, (None, 0, 1), strict=True):
        expected = getattr(MASKED, name)(axis=axis)
        kit.assert_reduction(result, expected, name, MASKED, axis=axis)


# --- soak: make soak -----------------------------------------------------------------


@pytest.mark.soak
def test_soak_chain_of_5000(backend: str) -> None:
    expected, lazy = _both(chain(5000), X)
    kit.assert_exact(lazy.compute(backend=backend, cache=False), expected)


@pytest.mark.soak
def test_soak_ten_million_elements(backend: str) -> None:
    data = np.random.default_rng(7).normal(size=(10_000, 1_000))
    expected, lazy = _both(lambda m, x: m.sqrt((x * 2 + 1) ** 2 + 1) - x, data)
    kit.assert_exact(lazy.compute(backend=backend, cache=False), expected)
    total = la.Array(data).sum(axis=0).compute(backend=backend, cache=False)
    kit.assert_reduction(total, data.sum(axis=0), "sum", data, axis=0)


# --- fused elementwise chains: the same values as numpy, whatever runs the kernel ----

FUSED: dict[str, Callable[[Any, Any], Any]] = {
    "(x + 1) / 7": lambda m, x: (x + 1) / 7,
    "sinh(x / 10)": lambda m, x: m.sinh(x / 10),
    "arcsin(x / 100)": lambda m, x: m.arcsin(x / 100),
    "exp(x) * cos(x) - sqrt(abs(x))": lambda m, x: m.exp(x) * m.cos(x) - m.sqrt(m.abs(x)),
}


@pytest.mark.parametrize("name", FUSED)
def test_fused_chains_are_exact(name: str, backend: str) -> None:
    expected, lazy = _both(FUSED[name], X)
    kit.assert_exact(lazy.compute(backend=backend, cache=False), expected)
