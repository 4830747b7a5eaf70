"""Ops on parameters whose sizes are unknown (``shape=(None, ...)``), from the tables:
every structural and masked case of the suite, every ufunc, reduction and scan row, on
1-d to 3-d parameters. Each builds (or refuses, typed, where it needs a size), its
known sizes are numpy's, and computing with an argument gives numpy's answer, small and
large, on both backends."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import lazyarray as la
from lazyarray.errors import LazyIndexError, UnsupportedOperation
from lazyarray.ops import OPS, Kind
from lazyarray.testing.suite.cases import MASKED, MASKED_X, NUMPY_MA, STRUCTURAL, TERMS, X
from tests import kit
from tests.cases import sample
from tests.conftest import assert_same
from tests.test_ops_reductions import numpy_reduction

# X is (4, 6, 10): all of its sizes unknown, or one
SHAPES = [(None, None, None), (None, 6, 10), (4, None, 10), (4, 6, None)]
COMPUTED_SHAPES = [(None, None, None), (4, None, 10)]
# what needs the sizes of its matrices or vectors (LAPACK's outputs, cross's 3-vectors),
# or has as many dimensions as a size is 1 (``squeeze`` without an axis of ``x[:1]``)
NEEDS_SIZES = {"eig", "qr", "slogdet", "svd", "cross"}
MASKED_NEEDS_SIZES = {"squeeze"}

UFUNCS = sorted(
    name
    for name, row in OPS.items()
    if row.kind is Kind.ELEMENTWISE and any(isinstance(f, np.ufunc) for f in row.numpy_functions)
)
REDUCTIONS = sorted(name for name, row in OPS.items() if row.kind in (Kind.REDUCTION, Kind.SCAN))
DTYPES = ["float64", "int64", "bool", "complex128"]


@pytest.fixture(params=["numpy", "dask"])
def backend_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _built(build: Any, shape: tuple[int | None, ...], refusing: bool, masked: bool) -> Any:
    """``build`` on a parameter ``x`` of ``shape``, None where it refuses as it may."""
    kind = la.MaskedArray if masked else la.Array
    with la.config.set(backend="refuse", implicit_compute="error"):
        x = la.parameter("x", kind, dtype="float64", shape=shape)
        if not refusing:
            return build(la, x)
        try:
            return build(la, x)
        except UnsupportedOperation as exc:
            assert "known only when" in str(exc)
            return None


def _check_type(lazy: Any, expected: Any) -> None:
    assert lazy.ndim == np.ndim(expected)
    known = [(d, s) for d, s in zip(lazy.shape, np.shape(expected), strict=True) if d is not None]
    assert all(d == s for d, s in known), (lazy.shape, np.shape(expected))


def _compute(lazy: Any, argument: Any, backend: str) -> Any:
    arguments = {"x": argument} if lazy.params else {}  # creation cases ignore x
    with np.errstate(all="ignore"):
        return lazy.compute(backend=backend, **arguments)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("case", list(STRUCTURAL))
def test_a_structural_case_builds_on_unknown_sizes(case: str, shape: Any) -> None:
    build = STRUCTURAL[case]
    with np.errstate(all="ignore"):
        expected = build(np, X.copy())
    lazy = _built(build, shape, case in NEEDS_SIZES, masked=False)
    if lazy is not None:
        _check_type(lazy, expected)


@pytest.mark.parametrize("shape", COMPUTED_SHAPES, ids=str)
@pytest.mark.parametrize("case", sorted(set(STRUCTURAL) - NEEDS_SIZES))
def test_a_structural_case_on_unknown_sizes_computes_numpys_answer(
    case: str, shape: Any, backend_name: str
) -> None:
    build = STRUCTURAL[case]
    with np.errstate(all="ignore"):
        expected = build(np, X.copy())
    lazy = _built(build, shape, False, masked=False)
    bound = None
    if case in TERMS:
        bound = kit.products_bound(lambda a: build(np, a), X, terms=TERMS[case])
    assert_same(_compute(lazy, X, backend_name), expected, bound=bound)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("case", list(MASKED))
def test_a_masked_case_on_unknown_sizes_computes_numpys_answer(
    case: str, shape: Any, backend_name: str
) -> None:
    build = MASKED[case]
    expected = build(NUMPY_MA, MASKED_X.copy())
    lazy = _built(build, shape, case in MASKED_NEEDS_SIZES, masked=True)
    if lazy is None:
        return
    _check_type(lazy, expected)
    assert_same(_compute(lazy, MASKED_X, backend_name), expected)


def _ufunc(name: str, ndim: int) -> tuple[Any, dict[str, Any], Any]:
    """The ufunc on parameters of ``ndim`` unknown sizes, of the first dtype it takes;
    its arguments and numpy's answer."""
    arity = OPS[name].arity or 1
    for dtype in DTYPES:
        names = [f"a{i}" for i in range(arity)]
        params = [la.parameter(n, la.Array, dtype=dtype, shape=(None,) * ndim) for n in names]
        try:
            lazy = getattr(la, name)(*params)
        except TypeError:  # numpy's refusal of the dtype: the next one
            continue
        data = [sample(dtype, (3, 4, 5)[:ndim], seed=i) for i in range(arity)]
        with np.errstate(all="ignore"):
            expected = OPS[name].impl(*data)
        return lazy, dict(zip(names, data, strict=True)), expected
    raise AssertionError(f"{name} takes none of {DTYPES}")


@pytest.mark.parametrize("ndim", [1, 2, 3])
@pytest.mark.parametrize("name", UFUNCS)
def test_a_ufunc_on_unknown_sizes_computes_numpys_answer(
    name: str, ndim: int, backend_name: str
) -> None:
    lazy, arguments, expected = _ufunc(name, ndim)
    assert lazy.shape == (None,) * ndim
    with np.errstate(all="ignore"):
        assert_same(lazy.compute(backend=backend_name, **arguments), expected)


@pytest.mark.parametrize("ndim", [1, 2, 3])
@pytest.mark.parametrize("name", REDUCTIONS)
def test_a_reduction_on_unknown_sizes_computes_numpys_answer(
    name: str, ndim: int, backend_name: str
) -> None:
    masked = name == "count"
    data: Any = sample("float64", (3, 4, 5)[:ndim])
    data = np.ma.masked_invalid(data) if masked else np.where(np.isfinite(data), data, 0.5)
    kind = la.MaskedArray if masked else la.Array
    x = la.parameter("x", kind, dtype="float64", shape=(None,) * ndim)
    scan = OPS[name].kind is Kind.SCAN
    for axis in [None, 0, -1]:
        expected = numpy_reduction(name, data, masked, axis=axis)
        lazy = getattr(la, name)(x, axis=axis)
        _check_type(lazy, expected)
        bound = kit.scan_bound(name, data, axis) if scan else kit.reduction_bound(name, data, axis)
        assert_same(lazy.compute(backend=backend_name, x=data), expected, bound=bound)


# --- the views of the report, and large arguments -------------------------------------

BIG = sample("float64", (500, 400), seed=1)  # 200,000 elements: blocks and chunks

VIEWS: dict[str, Any] = {
    "T": lambda m, g: g.T,
    "newaxis": lambda m, g: g[:, :, None],
    "T @ g": lambda m, g: g.T @ g[:, :50],
    "reshape -1": lambda m, g: g.reshape(-1),
    "slices": lambda m, g: (m.cos(g) * 2)[::3, 100:300].T,
    "flip": lambda m, g: m.flip(g, axis=0) + g,
    "swapaxes": lambda m, g: m.swapaxes(g, 0, 1)[1:],
    "broadcast": lambda m, g: g - g[:, :1] * g[:1, :],
    "expand_dims": lambda m, g: m.expand_dims(g, 1)[:, 0],
    "diagonal": lambda m, g: m.diagonal(g, 3),
    "rot90": lambda m, g: m.rot90(g),
    "squeeze": lambda m, g: m.squeeze(g[:1], axis=0),
}


@pytest.mark.parametrize("case", list(VIEWS))
def test_views_of_unknown_sizes_compute_numpys_answer_large(case: str, backend: str) -> None:
    data = np.where(np.isfinite(BIG), BIG, 1.0)
    build = VIEWS[case]
    g = la.parameter("g", la.Array, dtype="float64", shape=(None, None))
    with np.errstate(all="ignore"):
        expected = build(np, data.copy())
    lazy = build(la, g)
    _check_type(lazy, expected)
    bound = None
    if case == "T @ g":
        bound = kit.products_bound(lambda a: a.T @ a[:, :50], data, terms=data.shape[0])
    with np.errstate(all="ignore"):
        assert_same(lazy.compute(backend=backend, g=data), expected, bound=bound)


# --- what the stand-ins decide -------------------------------------------------------


def test_many_unknown_sizes_stand_in_as_large_as_fits() -> None:
    """Six unknown complex128 sizes stand in as about 900 each (900**6 * 16 bytes fit in
    an intp), still more than most indices; forty cannot stand in as 3 each."""
    h = la.parameter("h", la.Array, dtype="complex128", shape=(None,) * 6)
    assert h.T.shape == (None,) * 6
    assert h[100, :, None].shape == (None, 1, None, None, None, None)
    with pytest.raises(UnsupportedOperation, match="known only when"):
        _ = la.parameter("k", la.Array, dtype="float64", shape=(None,) * 40).T
    empty = la.parameter("e", la.Array, dtype="float64", shape=(0, None, None, None))
    assert empty[:, 1:, None].T.shape == (None, None, 1, None, 0)


def test_a_size_is_known_only_if_no_unknown_size_changes_it() -> None:
    g = la.parameter("g", la.Array, dtype="float64", shape=(None, None))
    assert g[5, 3:7].shape == (None,)  # numpy refuses x[5] on small stand-ins
    assert la.squeeze(g[:1], axis=0).shape == (None,)  # and squeeze on all but 1
    assert la.squeeze(g[:, 2:3], axis=1).shape == (None,)
    assert la.broadcast_to(g[0], (5, 7)).shape == (5, 7)
    q = la.parameter("q", la.Array, dtype="float64", shape=(None, 3))
    assert la.squeeze(q[:1], axis=0).shape == (3,)


def test_what_numpy_takes_for_some_size_is_checked_when_computed(backend_name: str) -> None:
    v = la.parameter("v", la.Array, dtype="float64", shape=(None,))
    wide = la.broadcast_to(v, (5, 7))
    for size in (1, 7):
        data = np.arange(size, dtype=np.float64)
        assert_same(wide.compute(backend=backend_name, v=data), np.broadcast_to(data, (5, 7)))
    with pytest.raises(ValueError, match="broadcast"):
        wide.compute(backend=backend_name, v=np.ones(3))


def test_what_numpy_refuses_at_every_size_is_refused_when_written() -> None:
    g = la.parameter("g", la.Array, dtype="float64", shape=(None, None))
    with pytest.raises(LazyIndexError, match="too many indices"):
        _ = g[0, 0, 0]
    with pytest.raises(UnsupportedOperation, match="number of dimensions"):
        la.squeeze(g)  # 2, 1 or 0 dimensions, as the sizes are 1 or not
