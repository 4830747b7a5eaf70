"""Masked elementwise chains fuse (the ``unmask`` stage), with numpy.ma's results kept bit
for bit: the data (under the mask too), the mask, the dtype and the fill value, on both
backends, with the data stages forced on small blocks, and with the stage switched off."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import lazyarray as la
from lazyarray.ops import OPS, Kind
from lazyarray.planner import make_plan

N = 40_000  # 320 kB of float64: above small_bytes, so the data stages run
MODES: dict[str, dict[str, Any]] = {
    "default": {},
    "kernels": {"small_bytes": 0, "disabled": frozenset({"fold"}), "block_bytes": 1024},
    "unmask-off": {"disabled": frozenset({"unmask"})},
}
UFUNCS = sorted(
    name
    for name, row in OPS.items()
    if row.kind is Kind.ELEMENTWISE and isinstance(row.impl, np.ufunc) and row.masked_impl
)


def _data(dtype: str, seed: int, n: int = N) -> np.ma.MaskedArray:
    """Masked values with every awkward value: 0, -0.0, NaN, +-inf, negatives, values in
    and out of [-1, 1], and masked ones among them."""
    rng = np.random.default_rng(seed)
    if dtype == "int64":
        values: Any = rng.integers(-4, 7, n)
    else:
        values = rng.normal(0, 2, n)
        values[: n // 10] = rng.choice([0.0, -0.0, np.nan, np.inf, -np.inf, 1.0, -1.0], n // 10)
        values[n // 10 : n // 5] = rng.uniform(-1, 1, n // 10)
        rng.shuffle(values)
    return np.ma.MaskedArray(values.astype(dtype), mask=rng.random(n) < 0.3)


def assert_ma_identical(actual: Any, expected: Any, attributes: bool = True) -> None:
    """Same dtype, shape, mask and data (masked or not; NaN equal to NaN, -0.0 apart
    from 0.0); with ``attributes``, the same fill value, and ``nomask`` where numpy.ma
    has it. (The dask backend's chunks carry numpy.ma's default fill value explicitly,
    so results of another dtype keep the input's, with the stage or without it.)"""
    assert isinstance(actual, np.ma.MaskedArray), type(actual)
    assert actual.dtype == expected.dtype and actual.shape == expected.shape
    np.testing.assert_array_equal(np.ma.getmaskarray(actual), np.ma.getmaskarray(expected))
    data, wanted = np.ma.getdata(actual), np.ma.getdata(expected)
    np.testing.assert_array_equal(data, wanted)
    if wanted.dtype.kind in "fc":
        np.testing.assert_array_equal(np.signbit(data.real), np.signbit(wanted.real))
    if not attributes:
        return
    fill, wanted_fill = np.asarray(actual.fill_value), np.asarray(expected.fill_value)
    assert fill.dtype == wanted_fill.dtype
    np.testing.assert_array_equal(fill, wanted_fill)
    assert (actual.mask is np.ma.nomask) == (expected.mask is np.ma.nomask)


Case = tuple[str, Callable[..., Any], Callable[..., Any], list[Any]]


def _cases(dtype: str, n: int) -> list[Case]:
    """(name, numpy.ma's function, the ufunc, numpy.ma arguments) for every ufunc row
    taking masked arrays: two masked arrays, a masked array and a plain one, and a masked
    array and a scalar. numpy.ma's function is the ufunc, but where numpy.ma has its own
    (``power``, which lazyarray's ufunc follows on masked arrays)."""
    x, y = _data(dtype, 1, n), _data(dtype, 2, n)
    plain = np.ma.getdata(_data(dtype, 3, n))
    cases: list[Case] = []
    for name in UFUNCS:
        ufunc, reference = OPS[name].impl, OPS[name].masked_impl
        if ufunc.nin == 1:
            cases.append((name, reference, ufunc, [x]))
            continue
        cases.append((name, reference, ufunc, [x, y]))
        cases.append((f"{name}-plain", reference, ufunc, [plain, y]))
        cases.append((f"{name}-scalar", reference, ufunc, [x, 0 if dtype == "int64" else 0.0]))
        cases.append((f"{name}-rscalar", reference, ufunc, [2, y]))
    return cases


def _lazy(value: Any) -> Any:
    if isinstance(value, np.ma.MaskedArray):
        return la.MaskedArray(value)
    return la.Array(value) if isinstance(value, np.ndarray) else value


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("backend", ["numpy", "dask"])
@pytest.mark.parametrize("dtype", ["float64", "int64"])
def test_every_masked_ufunc_row_matches_numpy_ma(dtype: str, backend: str, mode: str) -> None:
    names, lazy, expected = [], [], []
    with np.errstate(all="ignore"):
        # blocks of 1 kB: a tenth of the data takes as many blocks as the kernels need
        for name, reference, ufunc, args in _cases(dtype, N // 10 if mode == "kernels" else N):
            try:
                wanted = reference(*args)
            except (TypeError, ValueError):  # numpy refuses: tested in test_ops_elementwise
                continue
            names.append(name)
            expected.append(wanted)
            lazy.append(ufunc(*map(_lazy, args)))
        with la.config.set(**MODES[mode]):
            results = la.compute(*lazy, backend=backend, cache=False)
    for name, result, wanted in zip(names, results, expected, strict=True):
        try:
            assert_ma_identical(result, wanted, attributes=backend == "numpy")
        except AssertionError as exc:
            raise AssertionError(f"{name}: {exc}") from None


def _chain(m: Any, where: Any, x: Any, y: Any, row: Any) -> Any:
    """A masked chain through domains, broadcasting and ``where``, in ufuncs: numpy.ma's
    operators are other functions (its ``/`` also masks quotients that are not finite),
    and lazyarray's operators are the ufuncs."""
    scaled = m.divide(m.subtract(x, row), m.sqrt(m.add(m.absolute(y), 0.5)))
    damped = where(m.greater(m.absolute(scaled), 1.5), m.multiply(m.sign(scaled), 1.5), scaled)
    return m.add(m.multiply(m.log(m.add(damped, 1.0)), 3), m.arcsin(m.divide(damped, 2)))


def _chain_inputs() -> tuple[np.ma.MaskedArray, np.ma.MaskedArray, np.ma.MaskedArray]:
    x = _data("float64", 4, 100_000).reshape(1000, 100)
    y = _data("float64", 5, 100_000).reshape(1000, 100)
    row = np.ma.MaskedArray(np.linspace(-1, 1, 100), mask=np.arange(100) % 7 == 0)
    return x, y, row


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("backend", ["numpy", "dask"])
def test_a_masked_chain_fuses_and_matches_numpy_ma(backend: str, mode: str) -> None:
    x, y, row = _chain_inputs()
    with np.errstate(all="ignore"):
        expected = _chain(np, np.ma.where, x, y, row)
        lazy = _chain(la, la.where, la.MaskedArray(x), la.MaskedArray(y), la.MaskedArray(row))
        with la.config.set(**MODES[mode]):
            result = lazy.compute(backend=backend, cache=False)
    assert_ma_identical(result, expected, attributes=backend == "numpy")


def test_a_masked_chain_is_data_and_mask_kernels() -> None:
    x, y, row = _chain_inputs()
    lazy = _chain(la, la.where, la.MaskedArray(x), la.MaskedArray(y), la.MaskedArray(row))
    before = make_plan([lazy.node], disabled=frozenset({"unmask"}))
    after = make_plan([lazy.node])
    assert before.fused_count == 0
    assert after.fused_count >= 2
    masked_steps = [n.op for n in after.steps if n.type.masked and n.op != "constant"]
    assert masked_steps == ["masked_result"]  # the one masked array built is the result


def test_the_fill_value_comes_from_the_input_numpy_ma_takes_it_from() -> None:
    x, y = _data("float64", 6), _data("float64", 7)
    y.fill_value = -7.0  # a literal's own fill value, read when run
    cases = [
        lambda m, a, b: m.add(a, 1),  # a masked_array's fill value, known when planning
        lambda m, a, b: a > 0,  # cast to bool, as numpy.ma's comparison operators do
        lambda m, a, b: m.subtract(m.multiply(b, 2), a),  # the first masked input's
        lambda m, a, b: m.add(m.sqrt(a), b),
        lambda m, a, b: (m.ma if m is np else m).where(m.greater(a, 0), a, b),  # numpy's default
        # after a comparison, its bool fill, through every op that takes it from there
        lambda m, a, b: m.multiply(a > 0, 1.5),
        lambda m, a, b: m.add(m.sin(b > 0), a),
        lambda m, a, b: m.add(a, b > 0),  # the first masked input's: a's own
        lambda m, a, b: m.multiply(m.logical_and(a > 0, b < 1), 2.0),
    ]
    built = la.MaskedArray(np.ma.getdata(x), mask=np.ma.getmaskarray(x), fill_value=3.5)
    lazy = [case(la, built, la.MaskedArray(y)) for case in cases]
    with np.errstate(all="ignore"):
        expected = [case(np, np.ma.MaskedArray(x, fill_value=3.5), y) for case in cases]
        for backend in ("numpy", "dask"):
            for result, wanted in zip(
                la.compute(*lazy, backend=backend, cache=False), expected, strict=True
            ):
                assert_ma_identical(result, wanted, attributes=backend == "numpy")


def test_rank_zero_masked_inputs_keep_numpy_ma_dtypes() -> None:
    """``np.ma.masked`` (a whole reduction masked) is a float64: a float32 chain reading
    it stays with numpy.ma, a float64 one is rewritten; both match numpy.ma."""
    for dtype, rewritten in (("float32", False), ("float64", True)):
        data = _data("float64", 8).astype(dtype)
        data[:] = np.ma.masked
        x = la.MaskedArray(data)
        lazy = la.subtract(x, x.max())
        steps = {n.op for n in make_plan([lazy.node]).steps}
        assert ("masked_result" in steps) is rewritten
        with np.errstate(all="ignore"):
            expected = np.subtract(data, data.max())
        assert_ma_identical(lazy.compute(cache=False), expected)


def test_where_with_a_python_scalar_fuses_in_numpy_ma_where_dtype() -> None:
    """np.ma.where reads Python scalars as arrays: float32 data and 1.5 give float64;
    the rewrite reads the scalar as that strong constant, and fuses."""
    x = _data("float64", 9).astype("float32")
    lazy = la.where(la.MaskedArray(x) > 0, la.MaskedArray(x), 1.5)
    assert not any(n.op == "where" and n.type.masked for n in make_plan([lazy.node]).steps)
    expected = np.ma.where(x > 0, x, 1.5)
    assert_ma_identical(lazy.compute(), expected)
