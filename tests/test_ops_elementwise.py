"""Every elementwise row against numpy, for every dtype: the dtype and shape predicted
without computing, the values, and the errors (raised when written, not when run)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import lazyarray as la
from lazyarray.ops import OPS, Kind
from tests.cases import DTYPES, masked_sample, sample
from tests.conftest import assert_same

UFUNC_ROWS = sorted(
    name
    for name, row in OPS.items()
    if row.kind is Kind.ELEMENTWISE and any(isinstance(f, np.ufunc) for f in row.numpy_functions)
)


def _reference(name: str, *args: Any) -> Any:
    """numpy's answer: the row's ufunc, or on masked arrays numpy.ma's function for it
    (the ufunc, but ``power``: numpy.ma's ``**``)."""
    row = OPS[name]
    if any(np.ma.isMaskedArray(a) for a in args) and row.masked_impl is not None:
        return row.masked_impl(*args)
    return row.impl(*args)


def _check(name: str, args: list[Any], backend: str, wrap: Any = la.Array) -> None:
    lazy_args = [wrap(a) if isinstance(a, np.ndarray) else a for a in args]
    try:
        expected = _reference(name, *args)
    except TypeError:  # numpy refuses the dtypes: refused when written
        with pytest.raises(TypeError):
            getattr(la, name)(*lazy_args)
        return
    except ValueError as exc:  # numpy refuses the values: refused when run, chained
        with pytest.raises(la.ComputeError) as info:
            getattr(la, name)(*lazy_args).compute(backend=backend)
        assert type(info.value.original) is type(exc)
        return
    with la.config.set(backend="refuse", implicit_compute="error"):
        lazy = getattr(la, name)(*lazy_args)
        assert lazy.dtype == np.asarray(expected).dtype, (
            name,
            [getattr(a, "dtype", a) for a in args],
        )
        assert lazy.shape == np.shape(expected)
    assert_same(lazy.compute(backend=backend), expected)


@pytest.mark.parametrize("name", UFUNC_ROWS)
def test_ufunc_rows_match_numpy(name: str, backend: str) -> None:
    arity = OPS[name].arity
    for dtype in DTYPES:
        _check(name, [sample(dtype, seed=i) for i in range(arity or 1)], backend)


@pytest.mark.parametrize("name", [n for n in UFUNC_ROWS if OPS[n].arity == 2])
@pytest.mark.parametrize("scalar", [2, 1.5, True, -0.0])
def test_python_scalars_promote_weakly(name: str, scalar: Any, backend: str) -> None:
    for dtype in ["int8", "uint8", "float32", "float64"]:
        array = sample(dtype)
        _check(name, [array, scalar], backend)
        _check(name, [scalar, array], backend)


@pytest.mark.parametrize("name", UFUNC_ROWS)
def test_masked_rows_follow_numpy_ma(name: str, backend: str) -> None:
    arity = OPS[name].arity or 1
    for dtype in ["int64", "float64"]:
        args = [masked_sample(dtype, seed=i) for i in range(arity)]
        _check(name, args, backend, wrap=la.MaskedArray)


@pytest.mark.parametrize("name", [n for n in UFUNC_ROWS if OPS[n].arity == 2])
def test_broadcasting(name: str, backend: str) -> None:
    _check(name, [sample("float64", (3, 1)), sample("float64", (4,))], backend)


def test_broadcast_mismatch_fails_when_written() -> None:
    with pytest.raises(ValueError, match=r"could not be broadcast|cannot be broadcast") as info:
        la.Array(np.ones(3)) + la.Array(np.ones(4))
    assert "test_ops_elementwise.py" in str(info.value)  # the user's line


def test_python_int_out_of_range_fails_when_written() -> None:
    with pytest.raises(OverflowError, match="out of bounds for uint8"):
        la.Array(np.zeros(3, np.uint8)) + 300


def test_unsupported_dtype_pair_fails_when_written() -> None:
    dates = la.Array(np.array(["2020-01-01"], dtype="M8[D]"))
    with pytest.raises(TypeError, match="add"):
        dates + dates


@pytest.mark.parametrize(
    "case",
    [
        lambda m, a, b: m.where(a > 0, a, b),
        lambda m, a, b: m.where(a > 0, a, 1.5),
        lambda m, a, b: m.clip(a, -1, 1),
        lambda m, a, b: m.clip(a, None, 0.5),
        lambda m, a, b: m.round(a, 2),
        lambda m, a, b: m.real(a + 1j * b),
        lambda m, a, b: m.imag(a + 1j * b),
        lambda m, a, b: a.astype("float32"),
        lambda m, a, b: a.astype(np.int16),
    ],
)
@pytest.mark.parametrize("dtype", ["int64", "float32", "float64"])
def test_non_ufunc_elementwise(case: Any, dtype: str, backend: str) -> None:
    a, b = sample(dtype), sample(dtype, seed=1)
    expected = case(np, a, b)
    lazy = case(la, la.Array(a), la.Array(b))
    assert lazy.dtype == expected.dtype and lazy.shape == expected.shape
    assert_same(lazy.compute(backend=backend), expected)


# numpy's clip drops a Python int bound beyond an integer array's range on its own side
# (min <= iinfo.min, max >= iinfo.max); any other bound out of range is refused
CLIP_BOUNDS = [
    (-5, 25),
    (-5, 300),
    (10, 300),
    (30, 10),  # min > max: max wins
    (-5, None),
    (None, 300),
    (-200, 200),
    (-200, 5),
    (-(2**70), 5),
    (5, 2**70),
    (-5, np.int64(300)),
    (-5.5, 25),
    (300, 400),
    (-10, -5),
    (25, -5),
    (None, -5),
    (300, None),
    (200, -200),
]


@pytest.mark.parametrize("bounds", CLIP_BOUNDS, ids=repr)
@pytest.mark.parametrize("dtype", ["uint8", "int8"])
def test_clip_by_python_ints_beyond_the_dtype_is_numpys(
    bounds: tuple[Any, Any], dtype: str, backend: str
) -> None:
    _check_clip(np.arange(600).astype(dtype), bounds, backend)  # every value of the dtype


@pytest.mark.parametrize("backend_name", ["numpy", "dask"])
def test_big_clip_by_python_ints_beyond_the_dtype_is_numpys(backend_name: str) -> None:
    for dtype in ["uint8", "int8"]:
        data = np.arange(400_000).astype(dtype)  # above small_bytes: planned, fused
        for bounds in CLIP_BOUNDS:
            _check_clip(data, bounds, backend_name)


def _check_clip(data: np.ndarray[Any, Any], bounds: tuple[Any, Any], backend: str) -> None:
    try:
        expected = np.clip(data, *bounds)
    except OverflowError as exc:  # refused when written, in numpy's words
        for build in (np.clip, la.clip):
            with pytest.raises(OverflowError, match=str(exc)) as info:
                build(la.Array(data), *bounds)
            assert "test_ops_elementwise.py" in str(info.value)
        return
    for build in (np.clip, la.clip):
        lazy = build(la.Array(data), *bounds)
        assert lazy.dtype == expected.dtype
        assert_same(lazy.compute(backend=backend), expected)


def test_masked_clip_by_python_ints_beyond_the_dtype_is_numpy_mas() -> None:
    data = np.ma.MaskedArray(np.arange(256, dtype=np.uint8), mask=np.arange(256) % 3 == 0)
    for backend in ("numpy", "dask"):
        lazy = np.clip(la.MaskedArray(data), -5, 25)
        assert lazy.dtype == np.uint8
        assert_same(lazy.compute(backend=backend), np.ma.clip(data, -5, 25))
    with pytest.raises(OverflowError, match="-5 out of bounds for uint8"):
        la.clip(la.MaskedArray(data), None, -5)


def test_astype_accepts_reference_names() -> None:
    x = la.Array([True, False, True])
    assert x.astype("int").dtype == np.int64
    assert x.astype("float").dtype == np.float64
    assert x.astype("bool").compute().tolist() == [True, False, True]


def test_astype_with_safe_casting_refuses_when_written() -> None:
    with pytest.raises(TypeError, match="Cannot cast"):
        la.Array(np.ones(3)).astype("int32", casting="safe")


@pytest.mark.parametrize(
    "operator_name",
    [
        "add",
        "sub",
        "mul",
        "truediv",
        "floordiv",
        "mod",
        "pow",
        "and",
        "or",
        "xor",
        "lshift",
        "rshift",
    ],
)
def test_operators_reflected_and_in_place(operator_name: str, backend: str) -> None:
    import operator

    forward = getattr(
        operator, f"{operator_name}_" if operator_name in ("and", "or") else operator_name
    )
    in_place = getattr(operator, f"i{operator_name}")
    a = sample("int64") % 3 + 1
    lazy = la.Array(a)
    assert_same(forward(lazy, 2).compute(backend=backend), forward(a, 2))
    assert_same(forward(2, lazy).compute(backend=backend), forward(2, a))
    try:
        expected = in_place(a.copy(), 2)
    except TypeError:  # e.g. int /= 2: numpy refuses when run, lazyarray when written
        with pytest.raises(TypeError, match="same_kind"):
            in_place(lazy, 2)
        return
    result = in_place(lazy, 2)
    assert result.dtype == expected.dtype
    assert_same(result.compute(backend=backend), expected)


@pytest.mark.parametrize("dtype", [*DTYPES, "float16", "complex64"])
@pytest.mark.parametrize("exponent", [2, -1, 0.5, 2.0, 3, 1.5, np.int64(2), True], ids=repr)
def test_powers_are_the_operators_of_ndarray(dtype: str, exponent: Any, backend: str) -> None:
    """``x ** 2``, ``x ** -1`` and ``x ** 0.5`` are square, reciprocal and sqrt where
    ndarray's operator takes them (an exact Python int or float exponent; -1 and 0.5 on
    floating data): bit for bit numpy's, including complex data (whose power differs in
    the last bits) and a boolean squared (int8). Other exponents are power. Large enough
    for numpy's vector loops; in place too."""
    import warnings

    data = sample(dtype, (64, 33), seed=3)
    if dtype != "bool" and data.dtype.kind in "iu":
        data = data % 5 + 1  # positive, small: no overflow and no negative powers
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            expected = data**exponent
        except (ValueError, OverflowError):  # integers to negative powers: refused too
            with pytest.raises((ValueError, OverflowError, la.errors.ComputeError)):
                (la.Array(data) ** exponent).compute(backend=backend)
            return
        assert_same((la.Array(data) ** exponent).compute(backend=backend), expected)
        lazy = la.Array(data)
        try:
            in_place = data.copy()
            in_place **= exponent
        except (TypeError, np._core._exceptions._UFuncOutputCastingError):
            return
        lazy **= exponent
        assert_same(lazy.compute(backend=backend), in_place)


def test_in_place_refuses_what_numpy_refuses() -> None:
    x = la.Array(np.arange(3))
    with pytest.raises(TypeError, match="same_kind"):
        x += 1.5
    with pytest.raises(ValueError, match="non-broadcastable output"):
        x += la.Array(np.ones((2, 3), dtype=np.int64))


@pytest.mark.parametrize("name", ["__neg__", "__pos__", "__abs__", "__invert__"])
def test_unary_operators(name: str, backend: str) -> None:
    a = sample("int64")
    assert_same(getattr(la.Array(a), name)().compute(backend=backend), getattr(a, name)())


def test_comparisons_are_lazy_and_elementwise(no_compute: None) -> None:
    x = la.Array(np.arange(3))
    for result in (x == 1, x != 1, x < 1, x <= 1, x > 1, x >= 1, 1 < x):
        assert result.dtype == np.bool_ and result.shape == (3,)
