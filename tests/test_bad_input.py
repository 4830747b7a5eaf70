"""Bad input to proxies: refused when written (or bound), in numpy's words and classes."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import lazyarray as la
from lazyarray.errors import ArgumentError, LazyArrayError, ValueOverflowError
from tests import kit

KERNELS = {"small_bytes": 0, "disabled": {"fold"}, "block_bytes": 1024}


def _raised(call: Any) -> BaseException:
    with pytest.raises(Exception) as info:  # noqa: PT011 - the class is what is compared
        call()
    return info.value


# --- a parameter's value must fit its dtype -------------------------------------------


def test_python_int_out_of_range_is_refused_as_a_literal_is(backend: str) -> None:
    p = la.parameter("p", la.Scalar, dtype="int8")
    literal = _raised(lambda: la.Array(np.int8([1])) + 1000)
    bound = _raised(lambda: (p + 0).compute(p=1000, backend=backend))
    assert type(bound) is type(literal) is ValueOverflowError
    assert "Python integer 1000 out of bounds for int8" in str(bound)
    assert isinstance(bound, OverflowError)  # as numpy: np.int8([1]) + 1000
    with pytest.raises(ValueOverflowError, match="integer -1 out of bounds for uint8"):
        (la.parameter("u", la.Scalar, dtype="uint8") + 0).compute(u=-1, backend=backend)


def test_python_scalars_are_weak_as_in_numpy(backend: str) -> None:
    u = la.parameter("u", la.Scalar, dtype="uint8")
    f = la.parameter("f", la.Scalar, dtype="float32")
    assert (u + 0).compute(u=200, backend=backend) == np.uint8(200) + 0
    assert (f * 2).compute(f=3, backend=backend).dtype == np.float32
    with pytest.raises(ArgumentError, match="Python float"):
        (u + 0).compute(u=1.5, backend=backend)


def test_lists_of_python_numbers_are_weak_as_they_are(backend: str) -> None:
    """A nested list of Python numbers fills a parameter as each number would: a list
    of ints a uint8 array (``np.asarray(values, "uint8")``), out-of-range ints refused;
    floats never fill an integer parameter."""
    a = la.parameter("a", la.Array, dtype="uint8")
    grid = la.parameter("grid", la.Array, dtype="uint8", shape=(None, 2))
    got = (grid * 1).compute(grid=[[1, 2], [3, 255]], backend=backend)
    kit.assert_exact(got, np.array([[1, 2], [3, 255]], np.uint8))
    with pytest.raises(ValueOverflowError, match="-1 out of bounds for uint8"):
        (a * 1).compute(a=[1, -1], backend=backend)
    with pytest.raises(ArgumentError, match="float64"):
        (a * 1).compute(a=[1.5], backend=backend)
    f = la.parameter("f", la.Array, dtype="float32")
    kit.assert_exact((f * 1).compute(f=(1, 2.5), backend=backend), np.float32([1, 2.5]))


def test_values_numpy_cannot_make_an_array_of_are_refused_in_words() -> None:
    """A ragged list or an int no float holds is an ``ArgumentError`` naming the
    argument; ints past int64 fill a float parameter, as numpy reads them."""
    f = la.parameter("f", la.Scalar, dtype="float64")
    a = la.parameter("a", la.Array, dtype="float64")
    with pytest.raises(ArgumentError, match=r"argument 'f'.*too large"):
        (f * 1).compute(f=10**400)
    with pytest.raises(ArgumentError, match="argument 'a' is not an array numpy can make"):
        (a * 1).compute(a=[[1.0], 2.0])
    kit.assert_exact((a * 1).compute(a=[2**70, 1]), np.array([2.0**70, 1.0]))


def test_integer_arrays_that_do_not_fit_are_refused(backend: str) -> None:
    a = la.parameter("a", la.Array, dtype="int8")
    values = np.arange(200_000) % 100
    with la.config.set(**KERNELS):
        np.testing.assert_array_equal((a + 1).compute(a=values, backend=backend), values + 1)
        with pytest.raises(ValueOverflowError, match="1000 out of bounds for int8"):
            (a + 1).compute(a=np.where(values == 7, 1000, values), backend=backend)
        with pytest.raises(ValueOverflowError, match="1000 out of bounds for int8"):
            (la.parameter("s", la.Scalar, dtype="int8") + 1).compute(s=np.int64(1000))


def test_floats_too_large_become_inf_as_numpy_casts_them(backend: str) -> None:
    f = la.parameter("f", la.Array, dtype="float32")
    values = np.array([1.0, 1e300])
    with pytest.warns(RuntimeWarning, match="overflow"):
        expected = values.astype(np.float32, casting="same_kind")
    with pytest.warns(RuntimeWarning, match="overflow"):
        result = (f + 0).compute(f=values, backend=backend)
    np.testing.assert_array_equal(result, expected)


# --- two parameters, one name ---------------------------------------------------------


def test_parameters_of_one_name_and_two_declarations_are_refused_where_they_meet() -> None:
    small = la.parameter("q", la.Scalar, dtype="int8")
    wide = la.parameter("q", la.Scalar, dtype="float64")
    with pytest.raises(ArgumentError, match=r"'q'.*int8.*float64") as info:
        small + wide
    assert __file__ in str(info.value)  # names the user's line
    vector = la.parameter("v", la.Array, shape=(3,))
    deep = vector
    for _ in range(2000):
        deep = deep * 1.0
    for meet in (
        lambda: deep + la.parameter("v", la.Array, shape=(4,)),
        lambda: la.where(vector > 0, la.parameter("v", la.MaskedArray, shape=(3,)), 0),
        lambda: la.stack([deep, la.parameter("v", la.Array, dtype="int8", shape=(3,))]),
    ):
        with pytest.raises(ArgumentError, match="'v'"):
            meet()


def test_outputs_computed_together_meet_too() -> None:
    first = la.parameter("q", la.Scalar, dtype="int8") + 1
    second = la.parameter("q", la.Scalar, dtype="float64") * 2
    with pytest.raises(ArgumentError, match=r"'q'.*int8.*float64"):
        la.compute(first, second, q=1)


def test_one_declaration_stays_one_parameter(backend: str) -> None:
    total = la.parameter("q", la.Scalar, dtype="int8") + la.parameter("q", la.Scalar, dtype="int8")
    assert len(total.params) == 1
    assert total.compute(q=3, backend=backend) == 6


# --- parameter()'s own arguments ------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("z", int), "la.Array, la.MaskedArray or la.Scalar"),
        (("z", np.float64), "la.Array, la.MaskedArray or la.Scalar"),
        (("z", "Array"), "la.Array, la.MaskedArray or la.Scalar"),
        ((3, la.Array), "must be a str"),
        (("not a name", la.Array), "identifier"),
    ],
)
def test_parameter_type_and_name_are_checked(arguments: tuple[Any, ...], message: str) -> None:
    with pytest.raises(ArgumentError, match=message) as info:
        la.parameter(*arguments, dtype="int8")
    assert isinstance(info.value, TypeError)


@pytest.mark.parametrize(
    ("kind", "shape", "message"),
    [
        (la.Array, (2.5,), "'float' object cannot be interpreted as an integer"),
        (la.Array, ("3",), "'str' object cannot be interpreted as an integer"),
        (la.Array, (True,), "'bool' object"),
        (la.Array, (-1,), "negative dimensions"),
        (la.Array, "3", "tuple of sizes"),
        (la.Scalar, (3,), "Scalar parameter has shape"),
    ],
)
def test_parameter_shape_is_checked(kind: Any, shape: Any, message: str) -> None:
    with pytest.raises(ArgumentError, match=message):
        la.parameter("z", kind, shape=shape)


def test_parameter_masked_flag_is_a_bool() -> None:
    with pytest.raises(ArgumentError, match="masked="):
        la.parameter("z", la.Array, masked="yes")
    assert la.parameter("m", la.Array, shape=(None, 3), masked=True).masked


# --- axes and flags --------------------------------------------------------------------

A = np.arange(12.0).reshape(3, 4)

NUMPY_REFUSES_BOOL_AXES = [
    lambda m, x: m.sum(x, axis=True),
    lambda m, x: m.mean(x, axis=(0, True)),
    lambda m, x: m.cumsum(x, axis=True),
    lambda m, x: m.argmax(x, axis=True),
    lambda m, x: m.squeeze(m.expand_dims(x, 0), axis=True),
    lambda m, x: m.take(x, [0], axis=True),
    lambda m, x: m.concatenate([x, x], axis=True),
    lambda m, x: m.transpose(x, (True, 0)),
]


@pytest.mark.parametrize("call", NUMPY_REFUSES_BOOL_AXES)
def test_bool_axes_are_refused_as_numpy_refuses_them(call: Any) -> None:
    with pytest.raises(TypeError) as expected:
        call(np, A)
    with pytest.raises(TypeError, match="an integer is required") as info:
        call(la, la.Array(A))
    assert isinstance(info.value, LazyArrayError)
    del expected


@pytest.mark.parametrize(
    "call",
    [
        lambda x: x.sum(axis=True),
        lambda x: np.sum(x, axis=True),
        lambda x: la.moveaxis(x, True, 0),
        lambda x: la.swapaxes(x, True, 0),
        lambda x: la.flip(x, axis=True),
        lambda x: la.expand_dims(x, axis=True),
        lambda x: la.stack([x, x], axis=True),
    ],
)
def test_bool_axes_are_refused_everywhere(call: Any) -> None:
    with pytest.raises(TypeError, match="an integer is required for the axis"):
        call(la.Array(A))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda m, x: m.sum(x, keepdims="yes"), "'str' object cannot be interpreted"),
        (lambda m, x: m.sum(x, keepdims=None), "'NoneType' object cannot be interpreted"),
        (lambda m, x: m.sum(x, axis=(1.5,)), "'float' object cannot be interpreted"),
        (lambda m, x: m.sum(x, axis=[0]), "'list' object cannot be interpreted"),
        (lambda m, x: m.reshape(x, 2.5), "expected a sequence of integers"),
        (lambda m, x: m.reshape(x, (2, 6.0)), "'float' object cannot be interpreted"),
        (lambda m, x: x.reshape(2, "6"), "'str' object cannot be interpreted"),
        (lambda m, x: m.round(x, 1.5), "'float' object cannot be interpreted"),
        (lambda m, x: m.eye(2.5), "'float' object cannot be interpreted"),
    ],
)
def test_integer_arguments_are_refused_in_numpy_words(call: Any, message: str) -> None:
    with pytest.raises(TypeError, match=message):
        call(np, A)
    with pytest.raises(TypeError, match=message) as info:
        call(la, la.Array(A))
    assert isinstance(info.value, LazyArrayError)


def test_dtypes_lazyarray_cannot_hold_are_refused() -> None:
    x = la.Array(A)
    for call in (
        lambda: x.astype("object"),
        lambda: x.astype("U3"),
        lambda: x.sum(dtype=object),
        lambda: x.cumsum(dtype=object),
    ):
        with pytest.raises(TypeError, match="numeric, boolean and datetime"):
            call()


def test_full_refuses_a_fill_value_the_dtype_cannot_hold() -> None:
    with pytest.raises(OverflowError, match="Python integer 1000 out of bounds for int8"):
        np.full(3, 1000, dtype="int8")
    with pytest.raises(ValueOverflowError, match="Python integer 1000 out of bounds for int8"):
        la.full(3, 1000, dtype="int8")
    with pytest.raises(ValueOverflowError, match="Python integer -1 out of bounds for uint8"):
        la.full(3, -1, dtype="uint8")
