"""Masked arrays follow numpy.ma: construction, masks through operations, taking apart."""

from __future__ import annotations

import numpy as np
import pytest

import lazyarray as la
from tests import kit
from tests.cases import masked_sample, sample
from tests.conftest import assert_same

DATA = masked_sample("float64")


def test_constructors(backend: str) -> None:
    built = la.MaskedArray([1.0, 2.0, 3.0], mask=[False, True, False], fill_value=-1.0)
    result = built.compute(backend=backend)
    assert_same(result, np.ma.MaskedArray([1.0, 2.0, 3.0], mask=[False, True, False]))
    assert result.fill_value == -1.0
    assert_same(la.MaskedArray.from_numpy(DATA).compute(backend=backend), DATA)
    assert_same(
        la.MaskedArray(np.arange(3)).compute(backend=backend), np.ma.MaskedArray(np.arange(3))
    )
    lazy_mask = la.Array(sample("float64")) > 0
    expected = np.ma.MaskedArray(sample("float64"), mask=sample("float64") > 0)
    assert_same(
        la.MaskedArray(la.Array(sample("float64")), mask=lazy_mask).compute(backend=backend),
        expected,
    )


def test_mask_of_wrong_shape_fails_when_written() -> None:
    with pytest.raises(np.ma.MaskError, match="Mask and data not compatible"):
        la.MaskedArray(np.ones((2, 3)), mask=np.zeros(4, bool))


def test_mixing_array_and_masked_array_gives_masked(backend: str) -> None:
    plain = sample("float64")
    mixed = la.Array(plain) + la.MaskedArray(DATA)
    assert isinstance(mixed, la.MaskedArray) and mixed.masked
    assert_same(mixed.compute(backend=backend), plain + DATA)


@pytest.mark.parametrize(
    ("method", "reference"),
    [
        (lambda x: x.filled(0.0), lambda d: d.filled(0.0)),
        (lambda x: x.filled(), lambda d: d.filled()),
        (lambda x: la.filled(x, -5.0), lambda d: np.ma.filled(d, -5.0)),
        (lambda x: x.compressed(), lambda d: d.compressed()),
        (lambda x: la.compressed(x), lambda d: d.compressed()),
        (lambda x: x.data, lambda d: d.data),
        (lambda x: la.getdata(x), lambda d: np.ma.getdata(d)),
        (lambda x: x.mask, lambda d: np.ma.getmaskarray(d)),
        (lambda x: la.getmaskarray(x), lambda d: np.ma.getmaskarray(d)),
        (lambda x: x.count(), lambda d: np.int64(d.count())),
        (lambda x: x.count(axis=1), lambda d: d.count(axis=1)),
        (lambda x: x.fill_value, lambda d: np.float64(d.fill_value)),
    ],
)
def test_taking_masked_arrays_apart(method: object, reference: object, backend: str) -> None:
    lazy = method(la.MaskedArray(DATA))  # type: ignore[operator]
    expected = reference(DATA)  # type: ignore[operator]
    assert not lazy.masked
    assert_same(lazy.compute(backend=backend), expected)


def test_compressed_has_unknown_length() -> None:
    assert la.MaskedArray(DATA).compressed().shape == (None,)


def test_domain_errors_are_masked(backend: str) -> None:
    x = la.MaskedArray(np.array([1.0, 0.0, -1.0]))
    assert_same((1 / x).compute(backend=backend), 1 / np.ma.MaskedArray([1.0, 0.0, -1.0]))
    assert_same(la.log(x).compute(backend=backend), np.log(np.ma.MaskedArray([1.0, 0.0, -1.0])))


@pytest.mark.parametrize("size", [6, 300_000])  # a step, and a chain run in blocks
def test_a_power_that_is_not_finite_is_masked_as_numpy_ma_does(backend: str, size: int) -> None:
    """numpy.ma's ``**`` masks a power that is not finite (a root of a negative, an
    overflow, zero to a negative power), reads Python scalars as default-typed arrays
    (a float32 array to the power 2.0 is float64), and fills with the base's fill."""
    rng = np.random.default_rng(5)
    base = np.ma.MaskedArray(
        np.resize([-2.0, 2.0, 0.0, 3.0, -1.5, 1e300], size), mask=rng.random(size) < 0.2
    )
    base.fill_value = 7.0
    exponent = np.ma.MaskedArray(np.resize([0.5, 2.0, -1.0, 1.0, 2.0, 2.0], size))
    x, y = la.MaskedArray(base), la.MaskedArray(exponent)
    with np.errstate(all="ignore"):
        for got, expected in [
            (x**y, base**exponent),
            (la.power(x, 0.5), base**0.5),
            (np.power(x, -1), base**-1),
            (2.0**x, 2.0**base),
            (x.astype("float32") ** 2.0, base.astype("float32") ** 2.0),
        ]:
            value = got.compute(backend=backend)
            assert_same(value, expected)
            assert value.fill_value == expected.fill_value
        summed = base**exponent
        kit.assert_reduction((x**y).sum().compute(backend=backend), summed.sum(), "sum", summed)
        chained = base**0.5 * 2 + 1
        kit.assert_reduction(
            (x**0.5 * 2 + 1).mean().compute(backend=backend), chained.mean(), "mean", chained
        )


def test_masked_where_and_invalid(backend: str) -> None:
    data = np.array([1.0, np.nan, 3.0, np.inf])
    assert_same(la.masked_invalid(data).compute(backend=backend), np.ma.masked_invalid(data))
    assert_same(
        la.masked_where(data > 2, data).compute(backend=backend), np.ma.masked_where(data > 2, data)
    )
    already = la.MaskedArray(data, mask=[True, False, False, False])
    expected = np.ma.masked_where(
        data > 2, np.ma.MaskedArray(data, mask=[True, False, False, False])
    )
    assert_same(la.masked_where(data > 2, already).compute(backend=backend), expected)


def test_masked_matmul_is_refused_with_a_hint() -> None:
    with pytest.raises(TypeError, match="filled"):
        la.MaskedArray(np.ones((2, 2))) @ la.MaskedArray(np.ones((2, 2)))


def test_masked_mean_std_over_axis(backend: str) -> None:
    x = la.MaskedArray(DATA)
    bound = kit.reduction_bound("mean", DATA, axis=0)
    assert_same(x.mean(axis=0).compute(backend=backend), DATA.mean(axis=0), bound=bound)
    bound = kit.reduction_bound("std", DATA, axis=1, ddof=1)
    std = x.std(axis=1, ddof=1).compute(backend=backend)
    assert_same(std, DATA.std(axis=1, ddof=1), bound=bound)


def _statistics_sample(dtype: str) -> np.ma.MaskedArray:
    data = masked_sample(dtype, (300, 7), seed=1)
    data[:, 2] = np.ma.masked  # a column with nothing to count
    data[5] = np.ma.masked  # a row with nothing to count
    if data.dtype.kind in "fc":
        data[7, 3] = np.inf  # a mean that is not finite masks along an axis
    return data


STATISTICS = [  # (name, axis, keepdims, ddof)
    ("mean", None, False, 0),
    ("mean", 1, True, 0),
    ("var", 0, False, 0),
    ("var", None, True, 1),
    ("std", 1, False, 1),
    ("std", (0, 1), False, 0),
    ("std", 0, True, 2),
]


@pytest.mark.parametrize("dtype", ["bool", "int8", "int64", "float32", "float64", "complex128"])
def test_masked_statistics_in_blocks_and_chunks_match_numpy_ma(dtype: str, backend: str) -> None:
    """Blocks of a few rows (numpy backend) and chunks of a few hundred bytes (dask): the
    partial counts and sums combine to numpy.ma's values, masks and dtypes. float32 sums
    round at float32 in another order: their float64 means agree to float32's precision,
    relative to the data."""
    data = _statistics_sample(dtype)
    x = la.MaskedArray(data)
    lazy, expected, bounds = [], [], []
    with np.errstate(all="ignore"):
        for name, axis, keepdims, ddof in STATISTICS:
            extra = {} if name == "mean" else {"ddof": ddof}
            lazy.append(getattr(x, name)(axis=axis, keepdims=keepdims, **extra))
            expected.append(getattr(data, name)(axis=axis, keepdims=keepdims, **extra))
            bounds.append(kit.reduction_bound(name, data, axis, keepdims, **extra))
    with la.config.set(block_bytes=1024, dask_chunk_bytes=2048):
        results = la.compute(*lazy, backend=backend, cache=False)
    for result, wanted, bound in zip(results, expected, bounds, strict=True):
        assert_same(result, wanted, bound=bound)


def test_a_mean_and_a_std_of_one_array_share_their_sums(monkeypatch: pytest.MonkeyPatch) -> None:
    from lazyarray.runtime import masked_stats

    calls: list[int] = []
    total = masked_stats.valid_total
    monkeypatch.setattr(
        masked_stats, "valid_total", lambda *a, **k: calls.append(1) or total(*a, **k)
    )
    x = la.MaskedArray(_statistics_sample("float64"))
    _, std = la.compute(x.mean(axis=0), x.std(axis=0), backend="numpy", cache=False)
    assert len(calls) == 1
    data = _statistics_sample("float64")
    assert_same(std, data.std(axis=0), bound=kit.reduction_bound("std", data, axis=0))


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize("masked", [True, False], ids=["mask", "nomask"])
def test_block_partials_in_reused_buffers_equal_the_plain_arithmetic(
    dtype: str, masked: bool
) -> None:
    """The numpy backend's blocks write their temporaries into buffers kept per thread
    (``Scratch``): each partial equals the plain expression (numpy.ma's: a sum of the
    values filled with 0) bit for bit, also when a
    buffer already holds another block's values, and a block without a mask counts
    every value."""
    from lazyarray.runtime import masked_stats
    from lazyarray_numpy.masked import Scratch

    rng = np.random.default_rng(3)
    scratch = Scratch()
    for seed in range(3):  # the same buffers, three blocks
        data = rng.standard_normal((64, 9)).astype(dtype) * (seed + 1)
        block = np.ma.MaskedArray(data, mask=rng.random(data.shape) < 0.2 if masked else None)
        valid = ~np.ma.getmaskarray(block)
        mean = np.ma.MaskedArray(data.mean(axis=0, keepdims=True), mask=[[seed == 1] + [False] * 8])
        usable = valid & ~np.ma.getmaskarray(mean)
        anomaly = data - mean.data
        for axes in [(0,), (0, 1)]:
            # numpy.ma's sums: of the values filled with 0 (pairwise where numpy's are)
            plain = np.sum(np.where(usable, anomaly * anomaly, 0), axis=axes, keepdims=True)
            np.testing.assert_array_equal(
                masked_stats.squared_anomalies(block, mean, axes, scratch=scratch), plain
            )
            np.testing.assert_array_equal(
                masked_stats.valid_count(block, axes, scratch=scratch),
                valid.sum(axis=axes, keepdims=True),
            )
            accumulator = np.float32 if dtype == "float16" else None
            np.testing.assert_array_equal(
                masked_stats.valid_total(block, axes, scratch=scratch),
                np.sum(np.where(valid, data, 0), axis=axes, keepdims=True, dtype=accumulator),
            )


def test_statistics_of_a_masked_array_without_a_mask_in_blocks(backend: str) -> None:
    """A masked array without a mask (``nomask``) reduces as numpy.ma reduces it with its
    mask materialized (``with_mask_array``: the result's dtype is known before it runs)."""
    data = np.ma.MaskedArray(sample("float64").reshape(-1, 1).repeat(40, axis=1))
    assert np.ma.getmask(data) is np.ma.nomask
    materialized = np.ma.MaskedArray(data, mask=np.ma.getmaskarray(data))
    x = la.MaskedArray(data)
    with la.config.set(block_bytes=1024, dask_chunk_bytes=2048):
        mean, std = la.compute(x.mean(axis=0), x.std(axis=0), backend=backend, cache=False)
    for result, name in [(mean, "mean"), (std, "std")]:
        wanted = getattr(materialized, name)(axis=0)
        assert_same(result, wanted, bound=kit.reduction_bound(name, materialized, axis=0))


def test_a_masked_sum_adds_as_numpy_ma_does(backend: str) -> None:
    """A masked sum is numpy.ma's: of the values filled with 0, which numpy adds pairwise
    (a sum with ``where=`` adds one value at a time: a thousand times numpy.ma's error
    over 1e5 values). Its values are exact on the numpy backend, its mean within the
    bound of a blockwise sum."""
    rng = np.random.default_rng(5)
    values = np.resize([1 + 2 * 2**0.5, 2e150 + 1, 1.0, 2 * 3**0.5 + 1, 5.0, 2e150 + 1], 300_000)
    data = np.ma.MaskedArray(values.reshape(600, 500), mask=rng.random(300_000) < 0.2)
    x = la.MaskedArray(data)
    for axis in (None, 1):
        summed = x.sum(axis=axis).compute(backend=backend, cache=False)
        if backend == "numpy":
            assert_same(summed, data.sum(axis=axis))
        else:
            kit.assert_reduction(summed, data.sum(axis=axis), "sum", data, axis=axis)
        mean = x.mean(axis=axis).compute(backend=backend, cache=False)
        kit.assert_reduction(mean, data.mean(axis=axis), "mean", data, axis=axis)


@pytest.mark.parametrize("size", [10, 100, 200_000])  # folded, a step, fused in blocks
def test_a_comparison_fills_with_a_bool_as_numpy_ma_operators_do(backend: str, size: int) -> None:
    """``m > 0.5`` fills with ``bool(m.fill_value)``, as numpy.ma's comparison operators
    do (its ufuncs keep a float fill in a bool array, which ``filled`` makes an object
    array of); a predicate (``isnan``) fills the same way."""
    data = np.linspace(-2, 2, size)
    for fill in (2.5, 0.0):
        base = np.ma.MaskedArray(data, mask=np.arange(size) % 3 == 1, fill_value=fill)
        x = la.MaskedArray(base)
        for got, expected in [
            (x > 0.5, base > 0.5),
            (x == 0.0, base == 0.0),
            (la.isnan(x), np.ma.MaskedArray(np.isnan(data), mask=base.mask, fill_value=bool(fill))),
        ]:
            value = got.compute(backend=backend, cache=False)
            assert_same(value, expected)
            assert value.fill_value == expected.fill_value and value.fill_value.dtype == bool
            filled = got.filled().compute(backend=backend, cache=False)
            assert_same(filled, expected.filled())
