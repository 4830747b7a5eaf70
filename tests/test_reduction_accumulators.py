"""Every reduction and scan, per dtype, in every planner mode and on both backends, against
numpy: result dtypes exact; values exact for integer and boolean results and for order
statistics; floating values within the error of blockwise summation, about
``n_blocks * eps(accumulator) * sum|x|`` (numpy adds float16 means up in float32)."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pytest

import lazyarray as la
from lazyarray.ops import OPS as ROWS
from lazyarray.ops import Trait
from lazyarray.planner.passes import STAGES

DTYPES = [
    "bool",
    "int8",
    "uint8",
    "int16",
    "int32",
    "int64",
    "uint64",
    "float16",
    "float32",
    "float64",
    "complex64",
    "complex128",
]
SHAPE = (40, 25)
SMALLEST_BLOCK = 1024  # bytes: the smallest block or chunk of the modes below
MODES = {  # small arrays by default are folded: by numpy itself, so not a mode here
    "forced": {"small_bytes": 0, "disabled": {"fold"}, "block_bytes": SMALLEST_BLOCK},
    "unoptimized": {"disabled": {stage.name for stage in STAGES}},
}
RUNS = [("numpy", mode) for mode in MODES] + [("dask", mode) for mode in MODES]
ORDER = {"min", "max", "argmin", "argmax", "median"}
OPS = ["sum", "prod", "mean", "var", "std", "min", "max", "argmin", "argmax", "any", "all"]
OPS += ["cumsum", "cumprod", "median", "count"]


def _data(dtype: str) -> np.ndarray:
    """Values whose sums and products stay finite in every dtype (overflow is not
    blockwise-exact): small integers (wrapping products are exact), floats near 1."""
    rng = np.random.default_rng(8)
    if dtype == "bool":
        return rng.random(SHAPE) > 0.3
    kind = np.dtype(dtype).kind
    if kind in "iu":
        low = 0 if kind == "u" else -3
        return rng.integers(low, 4, SHAPE).astype(dtype)
    noise = rng.standard_normal(SHAPE) / 100
    if kind == "c":
        return (1 + noise + 1j * rng.standard_normal(SHAPE) / 100).astype(dtype)
    return (1 + noise).astype(dtype)


def _reference(op: str, a: Any, masked: bool, **kwargs: Any) -> Any:
    if op == "count":
        return np.ma.count(a, **kwargs)
    if masked:
        return np.ma.median(a, **kwargs) if op == "median" else getattr(a, op)(**kwargs)
    return getattr(np, op)(a, **kwargs)


def _cases(dtype: str) -> list[tuple[str, bool, dict[str, Any], Any]]:
    """(op, masked, kwargs, input) for each reduction along every axis and one, plain,
    masked, and behind an elementwise op (fused with it: kwargs ``fused``)."""
    data = _data(dtype)
    mask = np.zeros(SHAPE, bool)
    mask.flat[::7] = True
    cases = []
    for op in OPS:
        if op not in ("cumsum", "cumprod"):
            cases.append((op, False, {}, data))
        cases.append((op, False, {"axis": 0}, data))
        cases.append((op, True, {"axis": 0}, np.ma.MaskedArray(data, mask=mask)))
        if Trait.BLOCKWISE in ROWS[op].traits:
            cases.append((op, False, {"fused": True}, data * data))
    return cases


def _lazy(masked: bool, kwargs: dict[str, Any], data: Any, original: Any) -> Any:
    if masked:
        return la.asarray(data)
    if kwargs.pop("fused", False):
        source = la.Array(original)
        return source * source
    return la.Array(data)


def _accumulator(op: str, dtype: np.dtype[Any]) -> np.dtype[Any]:
    """What numpy adds up in: the input's own float type (float64 for integers), but
    float32 for a float16 mean."""
    if dtype.kind not in "fc":
        return np.dtype(np.float64)
    return np.dtype(np.float32) if dtype == np.float16 and op == "mean" else dtype


def _bound(op: str, source: Any) -> float:
    """The error blockwise arithmetic may add, from the inputs."""
    values = np.ma.filled(np.ma.asarray(source).astype(np.complex128), 0)
    eps = float(np.finfo(_accumulator(op, source.dtype)).eps)
    blocks = math.ceil(source.nbytes / SMALLEST_BLOCK) + 1
    count = values.size
    if op in ("sum", "cumsum"):
        return 2 * blocks * eps * float(np.abs(values).sum())
    if op == "mean":
        return 2 * blocks * eps * float(np.abs(values).sum()) / count
    if op in ("prod", "cumprod"):
        return 2 * count * eps * float(np.prod(np.abs(values[values != 0])))
    # var and std, compared as variances: each deviation is off by up to eps * |x|, and
    # the mean by the bound of a mean
    deviations = np.abs(values - values.mean())
    spread = float((deviations**2).sum() + 2 * (deviations * np.abs(values)).sum()) / count
    mean = float(np.abs(values).sum()) / count
    return 2 * blocks * eps * spread + (2 * blocks * eps * mean) ** 2


def _check(op: str, source: Any, got: Any, expected: Any) -> None:
    expected_array, got_array = np.ma.asarray(expected), np.ma.asarray(got)
    assert got_array.dtype == expected_array.dtype, (op, got_array.dtype, expected_array.dtype)
    masked = np.ma.getmaskarray(expected_array)
    assert np.array_equal(np.ma.getmaskarray(got_array), masked)
    want = np.ma.getdata(expected_array).astype(np.complex128)[~masked]
    have = np.ma.getdata(got_array).astype(np.complex128)[~masked]
    if expected_array.dtype.kind in "biu" or op in ORDER:
        assert np.array_equal(have, want, equal_nan=True), (op, have, want)
        return
    if op == "std":
        want, have = np.abs(want) ** 2, np.abs(have) ** 2
    differ = have != want  # infinities equal where numpy overflows
    error = float(np.max(np.abs(have - want)[differ], initial=0))
    assert error <= _bound(op, source), (op, error)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("backend", "mode"), RUNS)
def test_reductions_accumulate_as_numpy(dtype: str, backend: str, mode: str) -> None:
    cases = _cases(dtype)
    original = _data(dtype)
    if backend == "dask":
        cases = [c for c in cases if not (c[0] == "median" and c[1])]  # refused on dask
    targets = []
    for op, masked, kwargs, data in cases:
        targets.append(getattr(la, op)(_lazy(masked, kwargs, data, original), **kwargs))
    options = {**MODES[mode], **({"dask_chunk_bytes": 2048} if backend == "dask" else {})}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numpy's own overflow warnings, alike on both sides
        with la.config.set(**options):
            results = la.compute(*targets, backend=backend, cache=False)
        for (op, masked, kwargs, data), got in zip(cases, results, strict=True):
            if op == "median" and masked and dtype == "bool":
                continue  # numpy.ma's bool median is int or float by the count's parity
            _check(op, data, got, _reference(op, data, masked, **kwargs))


@pytest.mark.parametrize("backend", ["numpy", "dask"])
@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("op", ["mean", "var", "std"])
def test_float16_statistics_add_up_as_numpy(backend: str, mode: str, op: str) -> None:
    # numpy's float16 mean adds up in float32 (499.5, not inf); var and std add up in
    # float16, overflowing to inf exactly where numpy does
    for n in (1000, 100, 10):
        data = np.arange(n, dtype="float16")
        options = {**MODES[mode], **({"dask_chunk_bytes": 2048} if backend == "dask" else {})}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with la.config.set(**options):
                got = getattr(la, op)(la.Array(data)).compute(backend=backend, cache=False)
            masked = np.ma.MaskedArray(data, mask=np.arange(n) % 3 == 0)
            with la.config.set(**options):
                got_masked = getattr(la, op)(la.asarray(masked)).compute(
                    backend=backend, cache=False
                )
            expected = getattr(np, op)(data)
            expected_masked = getattr(masked, op)()
        assert got.dtype == expected.dtype
        _check(op, data, got, expected)
        assert np.asarray(got_masked).dtype == np.asarray(expected_masked).dtype
        _check(op, masked, got_masked, expected_masked)


def test_arange_float16_mean_is_numpys() -> None:
    for backend in ("numpy", "dask"):
        with la.config.set(small_bytes=0):  # every planner stage on, nothing folded
            mean = la.arange(1000, dtype="float16").mean().compute(backend=backend, cache=False)
        assert mean.dtype == np.float16 and mean == np.float16(499.5)
