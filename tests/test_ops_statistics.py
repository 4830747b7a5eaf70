"""numpy's statistics beyond the standard (``lazyarray/ops/statistics.py``) against numpy:
the NaN-skipping reductions and scans, ``ptp``, quantiles and percentiles (every method),
histograms and ``average``, on every dtype numpy takes, with all-NaN and empty slices,
small and large arrays, on both backends in every mode, masked inputs, NEP 18 and bad
input. The numpy backend runs numpy's own functions: its results are exact. On dask,
floating sums are compared within ``tests.kit``'s bound; order statistics are exact."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import lazyarray as la
from lazyarray.errors import UnsupportedOperation
from lazyarray.graph import toposort
from lazyarray.ops import OPS, Kind, apply, rows_of_kind
from lazyarray.ops.statistics import METHODS
from tests import kit
from tests.cases import masked_sample, sample

DTYPES = ["bool", "int8", "int64", "uint8", "float16", "float32", "float64", "complex128"]
REDUCTIONS = [
    "nansum",
    "nanprod",
    "nanmean",
    "nanvar",
    "nanstd",
    "nanmin",
    "nanmax",
    "nanargmin",
    "nanargmax",
    "nanmedian",
    "ptp",
]
AXES = [None, 0, 1, -1, (0, 1)]
QUANTILES = ["quantile", "percentile", "nanquantile", "nanpercentile"]


def data_of(dtype: str, shape: tuple[int, ...] = (37, 41), seed: int = 0) -> Any:
    """``tests.cases.sample`` (0, -0.0, NaN, inf, negatives), with more NaN in floats."""
    data = sample(dtype, shape, seed)
    if data.dtype.kind == "c":  # kit compares non-finite values exactly: both parts
        data[np.isinf(data)] = 7
    if data.dtype.kind in "fc":
        data.flat[:: max(data.size // 40, 1)] = np.nan
    return data


def with_all_nan(data: Any) -> Any:
    """``data`` with an all-NaN column and row: all-NaN slices along both axes."""
    data = data.copy()
    data[:, 2] = np.nan
    data[4, :] = np.nan
    return data


def quietly(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return function(*args, **kwargs)


def valid(data: Any) -> Any:
    """The data as ``tests.kit`` bounds a NaN-skipping reduction of it: NaN left out."""
    return np.ma.MaskedArray(data, mask=np.isnan(data)) if data.dtype.kind in "fc" else data


def assert_statistic(
    result: Any, expected: Any, backend: str, name: str, data: Any, **options: Any
) -> None:
    """Exact on numpy (numpy's own function ran); on dask exact for order statistics,
    within ``tests.kit``'s blockwise bound for floating sums."""
    if backend == "numpy" or name not in kit.SUM_LIKE | kit.MOMENTS | kit.PRODUCTS:
        kit.assert_exact(result, expected)
    else:
        kit.assert_reduction(result, expected, name, valid(data), **options)


def compute_quietly(*lazy: Any, backend: str) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return la.compute(*lazy, backend=backend, cache=False)


# --- reductions ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", REDUCTIONS)
def test_reductions_match_numpy(name: str, backend: str) -> None:
    """Every dtype, axis and keepdims; where numpy refuses (``ptp`` of booleans, a tuple
    of axes for ``nanargmin``), lazyarray refuses with the same builtin when written."""
    for dtype in DTYPES:
        data = data_of(dtype)
        lazy, expected, options = [], [], []
        for axis in AXES:
            for keepdims in (False, True):
                kwargs = {"axis": axis, "keepdims": keepdims}
                try:
                    wanted = quietly(getattr(np, name), data, **kwargs)
                except (TypeError, ValueError) as exc:
                    with pytest.raises(type(exc)):
                        getattr(la, name)(la.Array(data), **kwargs)
                    continue
                with la.config.set(backend="refuse", implicit_compute="error"):
                    built = getattr(la, name)(la.Array(data), **kwargs)
                assert built.shape == np.shape(wanted) and built.dtype == wanted.dtype
                lazy.append(built)
                expected.append(wanted)
                options.append(kwargs)
        for result, wanted, kwargs in zip(
            compute_quietly(*lazy, backend=backend), expected, options, strict=True
        ):
            assert_statistic(result, wanted, backend, name, data, **kwargs)


@pytest.mark.parametrize("name", ["nansum", "nanprod", "nanmean", "nanvar", "nanstd"])
def test_sums_over_all_nan_slices(name: str, backend: str) -> None:
    data = with_all_nan(data_of("float64"))
    lazy = [getattr(la, name)(la.Array(data), axis=axis) for axis in (None, 0, 1)]
    for result, axis in zip(compute_quietly(*lazy, backend=backend), (None, 0, 1), strict=True):
        expected = quietly(getattr(np, name), data, axis=axis)
        assert_statistic(result, expected, backend, name, data, axis=axis)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("nanmin", "All-NaN slice encountered"),
        ("nanmax", "All-NaN slice encountered"),
        ("nanmedian", "All-NaN slice encountered"),
        ("nanmean", "Mean of empty slice"),
        ("nanvar", "Degrees of freedom <= 0 for slice"),
        ("nanstd", "Degrees of freedom <= 0 for slice"),
    ],
)
def test_all_nan_slices_warn(name: str, message: str, backend: str) -> None:
    """numpy's RuntimeWarning, in numpy's words, on both backends."""
    data = with_all_nan(data_of("float64"))
    expected = quietly(getattr(np, name), data, axis=1)
    lazy = getattr(la, name)(la.Array(data), axis=1)
    with pytest.warns(RuntimeWarning, match=message):
        result = lazy.compute(backend=backend, cache=False)
    assert_statistic(result, expected, backend, name, data, axis=1)


@pytest.mark.parametrize("name", ["nanargmin", "nanargmax"])
def test_arg_extremes_of_all_nan_slices_fail_as_numpy(name: str, backend: str) -> None:
    data = with_all_nan(data_of("float64"))
    with pytest.raises(ValueError, match="All-NaN slice encountered"):
        getattr(np, name)(data, axis=0)
    lazy = getattr(la, name)(la.Array(data), axis=0)
    with pytest.raises(la.ComputeError, match="All-NaN slice encountered"):
        lazy.compute(backend=backend, cache=False)


def test_arg_extremes_break_ties_as_numpy(backend: str) -> None:
    """NaN counts as +inf for ``nanargmin``: an all-NaN chunk before a chunk of +inf
    gives the NaN's index, as numpy's does."""
    data = np.full((4, 300), np.inf)
    data[1, :150] = np.nan
    data[3, :] = -np.inf
    data[3, 10] = np.nan
    expected = [np.nanargmin(data[:3], axis=1), np.nanargmax(data, axis=1), np.nanargmin(data)]
    x = la.Array(data)
    lazy = [la.nanargmin(x[:3], axis=1), la.nanargmax(x, axis=1), la.nanargmin(x)]
    for result, wanted in zip(compute_quietly(*lazy, backend=backend), expected, strict=True):
        kit.assert_exact(result, wanted)


@pytest.mark.parametrize("dtype", ["float64", "int64", "float32"])
def test_initial(dtype: str, backend: str) -> None:
    data = with_all_nan(data_of("float64")).astype(dtype) if dtype != "int64" else data_of(dtype)
    cases = [
        ("nanmin", {"axis": 0, "initial": -1}),
        ("nanmax", {"axis": 1, "initial": 2}),
        ("nanmin", {"axis": None, "initial": 0.5, "keepdims": True}),
        ("nansum", {"axis": 0, "initial": 3}),
        ("nanprod", {"axis": 1, "initial": 2}),
    ]
    expected = [quietly(getattr(np, name), data, **kwargs) for name, kwargs in cases]
    lazy = [getattr(la, name)(la.Array(data), **kwargs) for name, kwargs in cases]
    results = compute_quietly(*lazy, backend=backend)
    for result, wanted, (name, kwargs) in zip(results, expected, cases, strict=True):
        options = {k: v for k, v in kwargs.items() if k != "initial"}
        assert_statistic(result, wanted, backend, name, data, **options)


@pytest.mark.parametrize("name", ["nanvar", "nanstd"])
def test_ddof_and_correction(name: str, backend: str) -> None:
    data = with_all_nan(data_of("float64"))
    x = la.Array(data)
    for ddof in (0, 1, 2.5):
        expected = quietly(getattr(np, name), data, axis=0, ddof=ddof)
        lazy = getattr(la, name)(x, axis=0, ddof=ddof)
        result = compute_quietly(lazy, backend=backend)[0]
        assert_statistic(result, expected, backend, name, data, axis=0, ddof=ddof)
    # the standard's spelling sets the same attribute: one node
    assert getattr(la, name)(x, correction=1).node is getattr(la, name)(x, None, None, None, 1).node


def test_dtype_arguments(backend: str) -> None:
    ints, floats = data_of("int8"), data_of("float32")
    cases = [
        (lambda m, x, y: m.nansum(x, axis=0, dtype=np.int16), "nansum", "ints"),
        (lambda m, x, y: m.nanprod(x, axis=1, dtype="float64"), "nanprod", "ints"),
        (lambda m, x, y: m.nanmean(y, axis=0, dtype=np.float64), "nanmean", "floats"),
        (lambda m, x, y: m.nanvar(y, axis=1, dtype=np.float64), "nanvar", "floats"),
        (lambda m, x, y: m.nancumsum(x, axis=1, dtype=np.int16), "nancumsum", "ints"),
    ]
    x, y = la.Array(ints), la.Array(floats)
    results = compute_quietly(*[build(la, x, y) for build, _, _ in cases], backend=backend)
    for result, (build, name, which) in zip(results, cases, strict=True):
        expected = quietly(build, np, ints, floats)
        data = ints if which == "ints" else floats
        if name == "nancumsum":
            kit.assert_exact(result, expected)
        else:
            axis = 0 if name in ("nansum", "nanmean") else 1
            kwargs = {"axis": axis, "dtype": expected.dtype}
            assert_statistic(result, expected, backend, name, data, **kwargs)


# --- scans --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["nancumsum", "nancumprod"])
def test_scans_match_numpy(name: str, backend: str) -> None:
    for dtype in ["bool", "int8", "int64", "float16", "float32", "float64", "complex128"]:
        data = data_of(dtype)
        if name == "nancumprod" and data.dtype.kind in "fc":
            data = data / 64 + 1  # products that neither overflow nor vanish
        lazy = [getattr(la, name)(la.Array(data), axis=axis) for axis in (None, 0, 1)]
        for result, axis in zip(compute_quietly(*lazy, backend=backend), (None, 0, 1), strict=True):
            expected = getattr(np, name)(data, axis=axis)
            assert result.dtype == expected.dtype
            if backend == "numpy":
                kit.assert_exact(result, expected)
                continue
            neutral = 0 if name == "nancumsum" else 1
            filled = np.where(np.isnan(data), neutral, data) if data.dtype.kind in "fc" else data
            kit.assert_within(result, expected, kit.scan_bound(name[3:], filled, axis))


# --- quantiles ----------------------------------------------------------------------------


def _quantile_cases(name: str) -> list[tuple[Any, dict[str, Any]]]:
    scale = 100 if "percentile" in name else 1
    q1 = np.array([0.0, 0.1, 0.25, 0.5, 0.77, 1.0]) * scale
    q2 = np.array([[0.3, 0.9], [0.05, 0.5]]) * scale
    return [
        (0.4 * scale, {}),
        (q1, {"axis": 0}),
        (q2, {"axis": 1, "keepdims": True}),
        (q1[2], {"axis": (0, 1), "keepdims": True}),
        (q1, {"axis": -1}),
    ]


@pytest.mark.parametrize("name", QUANTILES)
def test_quantiles_every_method(name: str, backend: str) -> None:
    """All of numpy's methods; q a scalar, 1-d or 2-d; literal or lazy: exact."""
    for dtype in ["int64", "uint8", "float16", "float32", "float64"]:
        data = with_all_nan(data_of(dtype)) if dtype[0] == "f" else data_of(dtype)
        lazy, expected = [], []
        methods = METHODS if dtype in ("int64", "float64") else ("linear", "lower", "hazen")
        for method in methods:
            for i, (q, kwargs) in enumerate(_quantile_cases(name)):
                kwargs = {**kwargs, "method": method}
                lazy_q = la.Array(np.asarray(q)) if i % 2 else q  # lazy q every other case
                with la.config.set(backend="refuse", implicit_compute="error"):
                    built = getattr(la, name)(la.Array(data), lazy_q, **kwargs)
                wanted = np.asarray(quietly(getattr(np, name), data, q, **kwargs), built.dtype)
                wanted = wanted[()] if wanted.ndim == 0 else wanted  # a scalar NaN: see below
                assert built.shape == np.shape(wanted) and built.dtype == wanted.dtype, (
                    method,
                    kwargs,
                )
                lazy.append(built)
                expected.append(wanted)
        for result, wanted in zip(compute_quietly(*lazy, backend=backend), expected, strict=True):
            kit.assert_exact(result, wanted)


def test_quantile_dtypes_follow_numpy_promotion(backend: str) -> None:
    """Python floats are weak, numpy's scalars are not. Where numpy returns a scalar NaN
    (a slice holding NaN) it returns it in ``a``'s dtype, unlike any other result of the
    same call: lazyarray keeps the one dtype it declared (docs/array-api.md)."""
    finite = np.nan_to_num(data_of("float32"), posinf=9, neginf=-9)
    with_nan = data_of("float32")
    for q in (0.5, np.float64(0.5), np.float32(0.5), [0.5], np.array([0.5], np.float32)):
        lazy = la.quantile(la.Array(finite), q), la.quantile(la.Array(with_nan), q)
        results = compute_quietly(*lazy, backend=backend)
        kit.assert_exact(results[0], np.quantile(finite, q))
        wanted = np.quantile(with_nan, q)
        kit.assert_exact(results[1], np.asarray(wanted, dtype=lazy[0].dtype)[()])
    assert la.quantile(la.Array(data_of("int64")), 0.5, method="lower").dtype == np.int64


def test_quantile_of_booleans_as_numpy() -> None:
    data = data_of("bool")
    for method in METHODS:
        try:
            expected = np.quantile(data, 0.5, method=method)
        except TypeError:
            with pytest.raises(TypeError):
                la.quantile(la.Array(data), 0.5, method=method)
            continue
        kit.assert_exact(la.quantile(la.Array(data), 0.5, method=method).compute(), expected)


@given(
    data=hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=9),
        elements=st.floats(-1e6, 1e6) | st.just(np.nan),
    ),
    q=st.lists(st.floats(0, 1), min_size=1, max_size=4),
    method=st.sampled_from(METHODS),
    nan=st.booleans(),
    backend=st.sampled_from(["numpy", "dask"]),
)
def test_quantiles_property(
    data: Any, q: list[float], method: str, nan: bool, backend: str
) -> None:
    name = "nanquantile" if nan else "quantile"
    axis = data.ndim - 1
    expected = quietly(getattr(np, name), data, q, axis=axis, method=method)
    with la.config.set(dask_chunk_bytes=1024):
        result = compute_quietly(
            getattr(la, name)(la.Array(data), q, axis=axis, method=method), backend=backend
        )[0]
    kit.assert_exact(result, expected)


# --- histograms ---------------------------------------------------------------------------

HISTOGRAMS: dict[str, tuple[Callable[..., Any], str]] = {
    "bins": (lambda m, x, w: m.histogram(x, bins=7), "float64"),
    "default bins": (lambda m, x, w: m.histogram(x), "float32"),
    "range": (lambda m, x, w: m.histogram(x, bins=9, range=(-2, 3)), "float64"),
    "range of float32": (lambda m, x, w: m.histogram(x, 4, (-1, np.float32(2.5))), "float32"),
    "numpy scalar range": (lambda m, x, w: m.histogram(x, 3, (np.float64(-1), 1)), "float32"),
    "range with NaN data": (lambda m, x, w: m.histogram(x, 5, (-1, 1)), "nan"),
    "one bin": (lambda m, x, w: m.histogram(x, bins=1), "float64"),
    "equal values": (lambda m, x, w: m.histogram(x * 0 + 3, bins=4), "float64"),
    "integers": (lambda m, x, w: m.histogram(x, bins=6), "int64"),
    "integers range": (lambda m, x, w: m.histogram(x, bins=6, range=(0, 4)), "int8"),
    "booleans": (lambda m, x, w: m.histogram(x, bins=2), "bool"),
    "density": (lambda m, x, w: m.histogram(x, bins=5, density=True), "float64"),
    "density range": (lambda m, x, w: m.histogram(x, 5, (-2, 2), density=True), "float32"),
    "edges": (lambda m, x, w: m.histogram(x, bins=[-3, -1, 0, 0.5, 4]), "float64"),
    "integer edges": (lambda m, x, w: m.histogram(x, bins=np.array([-3, 0, 2, 5])), "int64"),
    "edges density": (lambda m, x, w: m.histogram(x, [-4, 0, 1, 4], density=True), "float64"),
    "lazy edges": (lambda m, x, w: m.histogram(x, bins=m.linspace(-3, 3, 8)), "float64"),
    "weights": (lambda m, x, w: m.histogram(x, bins=6, weights=w), "float64"),
    "integer weights": (lambda m, x, w: m.histogram(x, 6, weights=(w * 10).astype(int)), "int8"),
    "weights range": (lambda m, x, w: m.histogram(x, 6, (-1, 1), weights=w * 2), "float32"),
    "weights edges": (lambda m, x, w: m.histogram(x, [-2, 0, 3], weights=w), "float64"),
    "weights density": (lambda m, x, w: m.histogram(x, 3, weights=w, density=True), "float64"),
    "bin edges": (lambda m, x, w: (m.histogram_bin_edges(x, 6),), "float64"),
    "bin edges range": (lambda m, x, w: (m.histogram_bin_edges(x, 3, range=(0, 1)),), "int64"),
}


def _histogram_data(kind: str, shape: tuple[int, ...] = (37, 41)) -> tuple[Any, Any]:
    data = sample("float64" if kind == "nan" else kind, shape)
    if data.dtype.kind == "f":
        data = data if kind == "nan" else np.nan_to_num(data, posinf=9, neginf=-9)
    weights = np.abs(np.random.default_rng(5).normal(size=shape))
    return data, weights


def _weighted_bound(build: Callable[..., Any], data: Any, weights: Any, counts: Any) -> Any:
    """Weighted counts add up ``weights`` per bin: within the bound of those sums (for
    densities, carried through ``n / widths / n.sum()``)."""
    k = kit.sum_factor(data.size, 8) * float(np.finfo(np.float64).eps)
    magnitudes = quietly(build, np, data, np.abs(weights))
    bound = k * magnitudes[0]
    if not np.issubdtype(np.asarray(counts).dtype, np.floating) or not np.any(counts):
        return bound
    total = quietly(build, np, data, weights)[0]
    return bound * 4 + np.abs(total) * 4 * k  # densities: relative error of n and n.sum()


@pytest.mark.parametrize("name", HISTOGRAMS)
def test_histogram_matches_numpy(name: str, backend: str) -> None:
    build, kind = HISTOGRAMS[name]
    data, weights = _histogram_data(kind)
    expected = quietly(build, np, data, weights)
    with la.config.set(backend="refuse", implicit_compute="error"):
        lazy = build(la, la.Array(data), la.Array(weights))
    assert len(lazy) == len(expected)
    results = compute_quietly(*lazy, backend=backend)
    for result, wanted in zip(results, expected, strict=True):
        if "weights" in name and backend != "numpy" and result is results[0]:
            kit.assert_within(result, wanted, _weighted_bound(build, data, weights, wanted))
        else:
            kit.assert_exact(result, wanted)


def test_histogram_edges_need_no_data_when_range_is_given() -> None:
    _, edges = la.histogram(la.Array(data_of("float32")), bins=4, range=(0, 2))
    assert edges.node.op == "constant"
    _, edges = la.histogram(la.Array(data_of("float32")), bins=4)
    assert edges.node.op == "histogram_bin_edges"


def test_histogram_of_unknown_and_empty_sizes(backend: str) -> None:
    data = data_of("float64")
    finite = data[np.isfinite(data)]
    x = la.Array(data)
    counts, edges = la.histogram(x[la.isfinite(x)], bins=5)
    assert counts.shape == (5,) and edges.shape == (6,)
    result = compute_quietly(counts, edges, backend=backend)
    for got, wanted in zip(result, np.histogram(finite, bins=5), strict=True):
        kit.assert_exact(got, wanted)
    empty = np.empty((0, 3), np.float32)
    result = compute_quietly(*la.histogram(la.Array(empty), bins=3), backend=backend)
    for got, wanted in zip(result, np.histogram(empty, bins=3), strict=True):
        kit.assert_exact(got, wanted)


def test_histogram_of_nan_without_range_fails_as_numpy(backend: str) -> None:
    data = data_of("float64")
    with pytest.raises(ValueError, match=r"autodetected range of \[nan, nan\] is not finite"):
        np.histogram(data)
    counts, edges = la.histogram(la.Array(data))
    for lazy in (counts, edges):
        with pytest.raises(la.ComputeError, match=r"autodetected range of \[nan, nan\]"):
            lazy.compute(backend=backend, cache=False)


# --- average ------------------------------------------------------------------------------

AVERAGES: dict[str, Callable[..., Any]] = {
    "mean": lambda m, x, w: m.average(x),
    "mean axis": lambda m, x, w: m.average(x, axis=0, keepdims=True),
    "returned": lambda m, x, w: m.average(x, 1, None, True),
    "returned all": lambda m, x, w: m.average(x, returned=True),
    "weights": lambda m, x, w: m.average(x, weights=w),
    "weights axis": lambda m, x, w: m.average(x, axis=1, weights=w, returned=True),
    "weights 1-d": lambda m, x, w: m.average(x, axis=1, weights=w[0]),
    "weights 1-d returned": lambda m, x, w: m.average(x, 0, w[:, 0], True, keepdims=True),
    "weights axes reordered": lambda m, x, w: m.average(x, axis=(1, 0), weights=w.T),
    "integer weights": lambda m, x, w: m.average(x, axis=0, weights=(w * 10).astype(int) + 1),
}


def _average_bounds(build: Callable[..., Any], data: Any, weights: Any, expected: Any) -> Any:
    """``sum(a * w) / sum(w)`` added up blockwise: the numerator's and the denominator's
    bounds carried through the division (``k`` times the average of ``|a|`` weighted by
    ``|w|``, plus ``k |average|``); the sum of the weights within its own bound."""
    first = expected[0] if isinstance(expected, tuple) else expected
    dtype = np.asarray(first).dtype
    k = 2 * kit.sum_factor(data.size, dtype.itemsize) * float(np.finfo(dtype).eps)
    magnitudes = quietly(build, np, np.abs(data), np.abs(weights))
    if not isinstance(expected, tuple):
        return (k * (magnitudes + np.abs(expected)),)
    return k * (magnitudes[0] + np.abs(expected[0])), k * magnitudes[1]


@pytest.mark.parametrize("name", AVERAGES)
@pytest.mark.parametrize("dtype", ["int64", "float32", "float64", "complex128"])
def test_average_matches_numpy(name: str, dtype: str, backend: str) -> None:
    data = np.nan_to_num(sample(dtype), nan=0.5, posinf=9, neginf=-9)
    weights = np.random.default_rng(3).random(data.shape)
    build = AVERAGES[name]
    expected = build(np, data, weights)
    with la.config.set(backend="refuse", implicit_compute="error"):
        lazy = build(la, la.Array(data), la.Array(weights))
    pair = isinstance(expected, tuple)
    results = compute_quietly(*(lazy if pair else (lazy,)), backend=backend)
    bounds = _average_bounds(build, data, weights, expected)
    for result, wanted, bound in zip(
        results, expected if pair else (expected,), bounds, strict=True
    ):
        if backend == "numpy" or np.asarray(wanted).dtype.kind not in "fc":
            kit.assert_exact(result, wanted)
        else:
            kit.assert_within(result, wanted, bound)


def test_average_weights_summing_to_zero_fail_as_numpy(backend: str) -> None:
    data = sample("float64")
    weights = np.zeros(data.shape)
    weights[0] = 1
    weights[0, 3] = 0
    with pytest.raises(ZeroDivisionError, match="Weights sum to zero"):
        np.average(data, axis=0, weights=weights)
    lazy = la.average(la.Array(data), axis=0, weights=la.Array(weights))
    with pytest.raises(la.ComputeError, match="Weights sum to zero, can't be normalized"):
        lazy.compute(backend=backend, cache=False)


# --- masked inputs: numpy.ma's where numpy.ma has the function, else refused --------------


MASKED: dict[str, Callable[..., Any]] = {
    "ptp": lambda m, x, w: m.ptp(x, axis=0),
    "ptp all": lambda m, x, w: m.ptp(x),
    "ptp keepdims": lambda m, x, w: m.ptp(x, axis=1, keepdims=True),
    "ptp method": lambda m, x, w: x.ptp(axis=1),
    "average": lambda m, x, w: m.average(x, axis=0),
    "average all": lambda m, x, w: m.average(x),
    "average weights": lambda m, x, w: m.average(x, axis=1, weights=w, returned=True),
    "average weights 1-d": lambda m, x, w: m.average(x, axis=0, weights=w[:, 0]),
}


@pytest.mark.parametrize("name", MASKED)
def test_masked_as_numpy_ma(name: str, backend: str) -> None:
    data = masked_sample("float64")
    data[:, 3] = np.ma.masked
    weights = np.random.default_rng(4).random(data.shape)
    expected = MASKED[name](np.ma, data, weights)
    with la.config.set(backend="refuse", implicit_compute="error"):
        lazy = MASKED[name](la, la.MaskedArray(data), la.Array(weights))
    pair = isinstance(expected, tuple)
    results = compute_quietly(*(lazy if pair else (lazy,)), backend=backend)
    for result, wanted in zip(results, expected if pair else (expected,), strict=True):
        kit.assert_exact(result, wanted)


MASKED_REFUSED: dict[str, Callable[[Any], Any]] = {
    **{name: (lambda x, name=name: getattr(la, name)(x)) for name in REDUCTIONS[:-1]},
    "nancumsum": lambda x: la.nancumsum(x),
    "nancumprod": lambda x: la.nancumprod(x, axis=0),
    **{name: (lambda x, name=name: getattr(la, name)(x, 0.5)) for name in QUANTILES},
    "histogram_bin_edges": lambda x: la.histogram_bin_edges(x, 3),
    "histogram": lambda x: la.histogram(x),
    "histogram weights": lambda x: la.histogram(la.Array(np.ones(x.shape)), weights=x),
}


@pytest.mark.parametrize("name", MASKED_REFUSED)
def test_masked_refused_where_numpy_ma_has_no_function(name: str) -> None:
    x = la.MaskedArray(masked_sample("float64"))
    with pytest.raises(UnsupportedOperation, match="not defined for masked arrays"):
        MASKED_REFUSED[name](x)


# --- empty slices -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "build",
    [
        lambda m, x: m.nansum(x, axis=0),
        lambda m, x: m.nanprod(x),
        lambda m, x: m.nanmean(x, axis=0),
        lambda m, x: m.nanvar(x, axis=0, ddof=1),
        lambda m, x: m.nanstd(x),
        lambda m, x: m.nanmedian(x, axis=0),
        lambda m, x: m.nanmin(x, axis=1),
        lambda m, x: m.nanmin(x, axis=0, initial=2.0),
        lambda m, x: m.nanargmax(x, axis=1),
        lambda m, x: m.ptp(x, axis=1),
        lambda m, x: m.nancumsum(x),
        lambda m, x: m.nanquantile(x, [0.1, 0.9], axis=0),
        lambda m, x: m.quantile(x, 0.5, axis=1),
        lambda m, x: m.average(x, axis=0),
    ],
)
def test_empty_slices(build: Callable[..., Any], backend: str) -> None:
    data = np.empty((0, 5))
    expected = quietly(build, np, data)
    result = compute_quietly(build(la, la.Array(data)), backend=backend)[0]
    kit.assert_exact(result, expected)


# --- large arrays: the blocked and chunked paths -------------------------------------------

BIG = data_of("float64", (500, 400), seed=1)
FINITE = np.nan_to_num(BIG, nan=0.5, posinf=9, neginf=-9)
BIG_WEIGHTS = np.random.default_rng(2).random(BIG.shape)
# build, and for floating sums the reduction and options tests.kit bounds them by
LARGE: dict[str, tuple[Callable[..., Any], dict[str, Any] | None]] = {
    "nansum": (lambda m, x: m.nansum(x, axis=0), {"name": "nansum", "axis": 0}),
    "nansum all": (lambda m, x: m.nansum(x), {"name": "nansum"}),
    "nanmean": (lambda m, x: m.nanmean(x, axis=1), {"name": "nanmean", "axis": 1}),
    "nanstd": (lambda m, x: m.nanstd(x, axis=0, ddof=1), {"name": "nanstd", "axis": 0, "ddof": 1}),
    "nanvar all": (lambda m, x: m.nanvar(x), {"name": "nanvar"}),
    "nanmax": (lambda m, x: m.nanmax(x, axis=1), None),
    "nanargmin": (lambda m, x: m.nanargmin(x, axis=0), None),
    "nanargmax all": (lambda m, x: m.nanargmax(x), None),
    "nanmedian": (lambda m, x: m.nanmedian(x, axis=0), None),
    "nanmedian all": (lambda m, x: m.nanmedian(x), None),
    "ptp": (lambda m, x: m.ptp(x, axis=1), None),
    "quantile": (lambda m, x: m.quantile(x, [0.01, 0.5], axis=1), None),
    "nanpercentile all": (lambda m, x: m.nanpercentile(x, 37.5, method="hazen"), None),
    "histogram": (lambda m, x: m.histogram(x[:, 1:], bins=50), None),
    "histogram weights": (lambda m, x: m.histogram(x[:, 1:], 9, (-1, 1), weights=x[:, 1:]), None),
    "histogram range": (lambda m, x: m.histogram(x, 20, (-3, 3))[0], None),
}


@pytest.mark.parametrize("name", LARGE)
@pytest.mark.parametrize("backend_name", ["numpy", "dask"])
def test_large_arrays(name: str, backend_name: str) -> None:
    """Above ``small_bytes``: the data stages run, dask cuts several chunks."""
    build, bounded = LARGE[name]
    data = FINITE if name.startswith(("ptp", "histogram")) else BIG
    assert data.nbytes > la.config.snapshot().small_bytes
    expected = quietly(build, np, data)
    lazy = build(la, la.Array(data))
    results = compute_quietly(*(lazy if isinstance(lazy, tuple) else (lazy,)), backend=backend_name)
    if name == "histogram weights" and backend_name == "dask":
        counts, edges = expected
        finite = data[:, 1:]
        weighted = lambda m, x, w: m.histogram(x, 9, (-1, 1), weights=w)
        bound = _weighted_bound(weighted, finite, finite, counts)
        kit.assert_within(results[0], counts, bound)
        kit.assert_exact(results[1], edges)
        return
    if isinstance(expected, tuple):
        for result, wanted in zip(results, expected, strict=True):
            kit.assert_exact(result, wanted)
        return
    result = results[0]
    if backend_name == "numpy" or bounded is None:
        kit.assert_exact(result, expected)
    else:
        options = dict(bounded)
        kit.assert_reduction(result, expected, options.pop("name"), valid(BIG), **options)


@pytest.mark.parametrize("backend_name", ["numpy", "dask"])
def test_large_scan_and_average(backend_name: str) -> None:
    data = FINITE
    scan = lambda m, x: m.nancumsum(x, axis=1)
    weighted = lambda m, x, w: m.average(x, axis=0, weights=w)
    expected = (scan(np, BIG), weighted(np, data, BIG_WEIGHTS))
    results = compute_quietly(
        scan(la, la.Array(BIG)),
        weighted(la, la.Array(data), la.Array(BIG_WEIGHTS)),
        backend=backend_name,
    )
    if backend_name == "numpy":
        for result, wanted in zip(results, expected, strict=True):
            kit.assert_exact(result, wanted)
        return
    filled = np.where(np.isnan(BIG), 0, BIG)
    kit.assert_within(results[0], expected[0], kit.scan_bound("cumsum", filled, 1))
    (bound,) = _average_bounds(weighted, data, BIG_WEIGHTS, expected[1])
    kit.assert_within(results[1], expected[1], bound)


# --- surfaces: NEP 18, methods, rows ------------------------------------------------------

NUMPY_CALLS: dict[str, Callable[[Any], Any]] = {
    **{name: (lambda x, name=name: getattr(np, name)(x, axis=0)) for name in REDUCTIONS},
    "nanvar ddof": lambda x: np.nanvar(x, 1, None, None, 1),
    "nancumsum": lambda x: np.nancumsum(x, axis=1),
    "nancumprod": lambda x: np.nancumprod(x),
    **{name: (lambda x, name=name: getattr(np, name)(x, 0.5, axis=1)) for name in QUANTILES},
    "histogram_bin_edges": lambda x: np.histogram_bin_edges(x, 4, (0, 1)),
    "histogram": lambda x: np.histogram(x, bins=3, range=(-1, 1))[0],
    "histogram edges": lambda x: np.histogram(x[:3], bins=3)[1],
    "average": lambda x: np.average(x, axis=1, weights=np.arange(1.0, 42.0)),
    "average returned": lambda x: np.average(x, returned=True)[1],
    "keyword array": lambda x: np.nanmean(a=x, axis=1),
}


@pytest.mark.parametrize("name", NUMPY_CALLS)
def test_numpy_functions_dispatch_here(name: str) -> None:
    """``np.<name>(proxy)`` builds a lazy node (nothing computes) equal to numpy's."""
    data = np.nan_to_num(data_of("float64"), nan=0.25, posinf=4, neginf=-4)
    data[3, :] = np.nan
    expected = quietly(NUMPY_CALLS[name], data)
    with la.config.set(backend="refuse", implicit_compute="error"):
        lazy = NUMPY_CALLS[name](la.Array(data))
    assert hasattr(lazy, "__lazyarray_node__"), type(lazy)
    kit.assert_exact(compute_quietly(lazy, backend="numpy")[0], expected)


CASES: dict[str, Callable[[Any], Any]] = {
    **{name: (lambda x, name=name: getattr(la, name)(x, axis=1)) for name in REDUCTIONS},
    "nancumsum": lambda x: la.nancumsum(x, axis=0, dtype=np.float32),
    "nancumprod": lambda x: la.nancumprod(x),
    **{
        name: (lambda x, name=name: getattr(la, name)(x, [0.5], axis=0, method="weibull"))
        for name in QUANTILES
    },
    "histogram_bin_edges": lambda x: la.histogram_bin_edges(x, 4),
    "histogram": lambda x: la.histogram(x, bins=3, range=(-1, 1), weights=x)[0],
    "histogram edges": lambda x: la.histogram(x, bins=x[0, :4])[0],
    "average": lambda x: la.average(x, axis=(1, 0), weights=x, keepdims=True),
    "sum_of_weights": lambda x: la.average(x, axis=1, returned=True)[1],
}


@pytest.mark.parametrize("name", CASES)
def test_rows_rebuild_from_their_attributes(name: str, no_compute: None) -> None:
    node = CASES[name](la.Array(data_of("float64"))).node
    assert apply(node.op, node.inputs, **node.kwargs) is node


def test_every_statistic_row_is_exercised(no_compute: None) -> None:
    x = la.Array(data_of("float64"))
    used = {n.op for case in CASES.values() for n in toposort([case(x).node])}
    assert {row.name for row in rows_of_kind(Kind.STATISTICS)} - used == set()


def test_surfaces() -> None:
    """Module functions for numpy's names; a method only where ndarray has one (``ptp``
    is a MaskedArray method, and was an ndarray one)."""
    x = la.Array(data_of("float64"))
    for name in [*REDUCTIONS, "nancumsum", "nancumprod", *QUANTILES, "histogram_bin_edges"]:
        assert OPS[name].kind is Kind.STATISTICS and callable(getattr(la, name))
    assert callable(la.histogram) and callable(la.average)
    kit.assert_exact(x.ptp(0, None, True).compute(), np.ptp(x.compute(), 0, keepdims=True))
    assert not hasattr(x, "nanmean")


# --- bad input ----------------------------------------------------------------------------

X = data_of("float64")
BAD: list[tuple[Callable[[Any], Any], type[Exception], str]] = [
    (lambda x: la.nanmean(x, axis=2), np.exceptions.AxisError, "axis 2 is out of bounds"),
    (lambda x: la.nanargmin(x, axis=(0, 1)), TypeError, "'tuple' object cannot be interpreted"),
    (lambda x: la.nansum(x, out=np.empty(41)), UnsupportedOperation, "out= is not supported"),
    (lambda x: la.nansum(x, where=X > 0), UnsupportedOperation, "where= is not supported"),
    (lambda x: la.nanvar(x, mean=X.mean()), UnsupportedOperation, "mean= is not supported"),
    (lambda x: la.nansum(x, keepdims="yes"), TypeError, "cannot be interpreted as an integer"),
    (lambda x: la.nanvar(x, ddof="1"), TypeError, "ddof must be a real number"),
    (lambda x: la.nanmean(x, bad=1), TypeError, "unexpected keyword argument 'bad'"),
    (lambda x: la.quantile(x, 0.5, method="foo"), ValueError, "'foo' is not a valid method"),
    (lambda x: la.quantile(x, 1.5), ValueError, r"Quantiles must be in the range \[0, 1\]"),
    (lambda x: la.percentile(x, [5, 105]), ValueError, r"Percentiles must be in the range"),
    (lambda x: la.quantile(x, 0.5, weights=X), UnsupportedOperation, "weights= is not"),
    (lambda x: la.quantile(x.astype(complex), 0.5), TypeError, "array of real numbers"),
    (lambda x: la.ptp(x > 0), TypeError, "numpy boolean subtract"),
    (lambda x: la.histogram(x, bins=0), ValueError, "`bins` must be positive"),
    (lambda x: la.histogram(x, bins=2.5), TypeError, "`bins` must be an integer"),
    (lambda x: la.histogram(x, bins="auto"), UnsupportedOperation, "bins='auto'"),
    (lambda x: la.histogram(x, bins=[3, 1]), ValueError, "must increase monotonically"),
    (lambda x: la.histogram(x, bins=np.ones((2, 2))), ValueError, "`bins` must be 1d"),
    (lambda x: la.histogram(x, range=(2, 1)), ValueError, "max must be larger than min"),
    (lambda x: la.histogram(x, range=(np.nan, 1)), ValueError, r"supplied range of \[nan, 1\]"),
    (lambda x: la.histogram(x, weights=x[0]), ValueError, "weights should have the same shape"),
    (lambda x: la.histogram_bin_edges(x, [1, 2]), UnsupportedOperation, "explicit edges"),
    (lambda x: la.average(x, weights=x[0]), TypeError, "Axis must be specified"),
    (lambda x: la.average(x, axis=0, weights=x[0]), ValueError, "Shape of weights must be"),
    (lambda x: la.average(x, axis=(0, 0)), ValueError, "repeated axis"),
    (lambda x: la.nanmin(x[:0], axis=0), ValueError, "zero-size array to reduction operation"),
    (lambda x: la.ptp(x[:0]), ValueError, "zero-size array to reduction operation"),
    (lambda x: la.nanargmax(x[:, :0]), ValueError, "attempt to get argmax of an empty"),
    (lambda x: la.quantile(x[:0], 0.5), IndexError, "out of bounds"),
    (lambda x: la.average(x[:0], axis=1), ZeroDivisionError, "division by zero"),
    (lambda x: la.average(x[:0], axis=0, weights=x[:0]), ZeroDivisionError, "Weights sum to"),
]


@pytest.mark.parametrize(("build", "error", "message"), BAD)
def test_bad_input_fails_when_written(
    build: Callable[[Any], Any], error: type[Exception], message: str, no_compute: None
) -> None:
    with pytest.raises(error, match=message) as raised:
        build(la.Array(X))
    assert "test_ops_statistics.py" in str(raised.value), str(raised.value)
