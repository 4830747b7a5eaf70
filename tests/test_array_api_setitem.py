"""``x[key] = value``: a proxy is a mutable handle on an immutable node. Assigning
points the handle at a new node; the old node, and every other handle on it, stay as
they were. Each case is written once, for numpy (on a copy) and for a lazy array, and
runs on both backends: on small arrays in every mode, on large ones (>= 2e5 elements)
in the default mode."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import lazyarray as la
from lazyarray.errors import (
    CastError,
    ComputeError,
    LazyIndexError,
    ShapeError,
    UnsupportedOperation,
    ValueOverflowError,
)
from tests.cases import masked_sample, sample
from tests.conftest import assert_same

SMALL = (40, 25)  # 8 kB: several chunks and blocks in the modes of 1 KiB
LARGE = (500, 400)  # 200,000 elements
Case = Callable[[Any], None]


def _rows(x: Any) -> np.ndarray[Any, Any]:
    return np.arange(x.shape[0]) % 3 == 1


def _columns(x: Any) -> np.ndarray[Any, Any]:
    return np.arange(x.shape[1]) % 2 == 0


def _chained(x: Any) -> None:
    x[0] = 1.0
    x[0, 1] = 2.0
    x[x > 1] = 0.0


def _set(key: Callable[[Any], Any], value: Callable[[Any], Any]) -> Case:
    def case(x: Any) -> None:
        x[key(x)] = value(x)

    return case


CASES: dict[str, Case] = {
    "int": _set(lambda x: 1, lambda x: 7.5),
    "slices": _set(lambda x: (slice(1, None), slice(None, None, -2)), lambda x: 7.5),
    "lazy value": _set(lambda x: 0, lambda x: x[2] * 2),
    "numpy column": _set(lambda x: (slice(None), 1), lambda x: np.arange(x.shape[0]) * 0.5),
    "broadcast row": _set(lambda x: slice(2, 4), lambda x: np.arange(x.shape[1]) * 1.0),
    "leading ones": _set(lambda x: 0, lambda x: np.ones((1, 1, x.shape[1]))),
    "newaxis": _set(lambda x: (None, slice(1, 3)), lambda x: 0.5),
    "ellipsis": _set(lambda x: (Ellipsis, -1), lambda x: -1.0),
    "python int": _set(lambda x: (0, 0), lambda x: 3),
    "float32 value": _set(lambda x: 3, lambda x: np.float32(1.25)),
    "chained": _chained,
    "mask scalar": _set(lambda x: x > 0, lambda x: 0.0),
    "mask rows, one row": _set(_rows, lambda x: np.arange(x.shape[1]) * 1.0),
    "mask columns": _set(lambda x: (slice(None), _columns(x)), lambda x: 2.0),
    "mask column values": _set(
        lambda x: (Ellipsis, _columns(x)), lambda x: np.arange(x.shape[0])[:, None] * 1.0
    ),
    "mask per element": _set(lambda x: x > 1, lambda x: x[x > 1] * 10),
    "mask rows per row": _set(_rows, lambda x: x[_rows(x)][::-1] + 1),
    "lazy mask": _set(lambda x: x[:, 0] < 0, lambda x: -5.0),
    "value of unknown size": _set(  # a column of rows known only when run
        lambda x: (slice(None), _columns(x)), lambda x: x[np.ones(x.shape[0], bool)][:, :1]
    ),
}


def _lazy(data: Any) -> Any:
    return la.MaskedArray(data) if isinstance(data, np.ma.MaskedArray) else la.asarray(data)


def _check(case: Case, data: Any, backend: str) -> None:
    expected = data.copy()
    with np.errstate(all="ignore"):
        case(expected)
    x = _lazy(data)
    before, other = x.node, copy.copy(x)
    with la.config.set(backend="refuse", implicit_compute="error"):
        case(x)  # assignment computes nothing
    assert (x.shape, x.dtype, x.masked) == (other.shape, other.dtype, other.masked)
    assert x.node is not before and other.node is before
    assert_same(x.compute(backend=backend), expected)
    assert_same(other.compute(backend=backend), data)  # the old node is unchanged


@pytest.mark.parametrize("name", CASES)
def test_assignment_matches_numpy(name: str, backend: str) -> None:
    _check(CASES[name], sample("float64", SMALL, seed=3), backend)


@pytest.fixture(params=["numpy", "dask"])
def engine(request: pytest.FixtureRequest) -> str:
    """Large arrays run in the default mode, as in ``test_big``: above ``small_bytes``
    every stage and the blocked paths run already."""
    return str(request.param)


@pytest.mark.parametrize("name", CASES)
def test_large_assignment_matches_numpy(name: str, engine: str) -> None:
    data = sample("float64", LARGE, seed=3)
    assert data.nbytes > la.config.snapshot().small_bytes
    _check(CASES[name], data, engine)


MASKED_CASES: dict[str, Case] = {
    "masked int": _set(lambda x: (0, slice(None, 2)), lambda x: 5.0),
    "masked constant": _set(lambda x: (slice(1, 3), 0), lambda x: np.ma.masked),
    "masked value": _set(lambda x: 2, lambda x: x[3] * 2),
    "masked mask scalar": _set(lambda x: x > 0, lambda x: 1.0),  # the data alone, as numpy.ma
    "masked mask rows": _set(_rows, lambda x: np.arange(x.shape[1]) * 1.0),
    "masked mask per element": _set(lambda x: x > 1, lambda x: x[x > 1] * 10),
    "masked chained": _chained,
}


@pytest.mark.parametrize("name", MASKED_CASES)
def test_masked_assignment_matches_numpy_ma(name: str, backend: str) -> None:
    _check(MASKED_CASES[name], masked_sample("float64", SMALL, seed=4), backend)


@pytest.mark.parametrize("name", MASKED_CASES)
def test_large_masked_assignment_matches_numpy_ma(name: str, engine: str) -> None:
    _check(MASKED_CASES[name], masked_sample("float64", LARGE, seed=4), engine)


@pytest.mark.parametrize(
    ("dtype", "key", "value"),
    [
        ("int64", (slice(None), 0), 5),
        ("int64", "even", True),
        ("uint8", 0, 200),
        ("int8", "even", np.int64(-3)),
        ("bool", 1, True),
        ("float32", "even", 2.5),
        ("complex64", 0, 1 + 2j),
        ("complex128", "even", 3),
    ],
)
def test_assignment_keeps_the_dtype(dtype: str, key: Any, value: Any, backend: str) -> None:
    data = sample(dtype, (4, 3), seed=5)

    def case(x: Any) -> None:
        x[(x == x) if key == "even" else key] = value  # every element, as a mask

    _check(case, data, backend)


def test_assignment_to_a_zero_d_array(backend: str) -> None:
    x = la.asarray(2.0)
    x[()] = 5.0
    y = la.asarray(np.float32(1.0))
    y[...] = 3
    assert_same(x.compute(backend=backend), np.asarray(5.0))
    assert_same(y.compute(backend=backend), np.asarray(3.0, np.float32))


def test_assignment_to_a_parameter(backend: str) -> None:
    p = la.parameter("p", la.Array, dtype="float64")
    y = p * 1
    y[0] = -1.0
    assert_same(y.compute(p=np.arange(3.0), backend=backend), np.array([-1.0, 1.0, 2.0]))


def test_a_handle_pickles_as_its_current_node() -> None:
    import pickle

    x = la.asarray(np.arange(4.0))
    x[1:3] = 0.0
    assert_same(pickle.loads(pickle.dumps(x)).compute(), np.array([0.0, 0.0, 0.0, 3.0]))


@pytest.mark.parametrize(
    ("dtype", "key", "value", "error", "message"),
    [
        ("int64", 0, 1.5, CastError, "Cannot cast scalar from dtype('float64') to dtype('int64')"),
        ("float64", 0, np.ones(3, complex), CastError, "Cannot cast array data from"),
        ("bool", 0, 1, CastError, "to dtype('bool') according to the rule 'same_kind'"),
        ("uint8", 0, 300, ValueOverflowError, "Python integer 300 out of bounds for uint8"),
        ("float64", slice(0, 2), np.ones(2), ShapeError, "from shape (2,) into shape (2, 3)"),
        ("float64", 0, np.ones((2, 3)), ShapeError, "from shape (2, 3) into shape (3,)"),
        ("float64", 4, 0.0, LazyIndexError, "out of bounds"),
        ("float64", (0, 0, 0), 0.0, LazyIndexError, "too many indices"),
        ("float64", 1.5, 0.0, LazyIndexError, "only integers, slices"),
        ("float64", [0, 1], 0.0, UnsupportedOperation, "integer array"),
        ("float64", np.array([0, 2]), 0.0, UnsupportedOperation, "integer array"),
        ("float64", (np.ones(4, bool), 0), 0.0, UnsupportedOperation, "mixed with integers"),
        (
            "float64",
            (np.ones(4, bool), np.ones(3, bool)),
            0.0,
            UnsupportedOperation,
            "more than one array",
        ),
        ("float64", np.ones(3, bool), 0.0, LazyIndexError, "boolean index did not match"),
        ("float64", 0, np.ma.masked, UnsupportedOperation, "without a mask"),
        ("float64", (0, 0), np.ones(1), ShapeError, "setting an array element with a sequence"),
        (
            "float64",
            np.ones((4, 3), bool),
            np.ones((1, 1)),
            TypeError,
            "requires a 0 or 1-dimensional input, input has 2 dimensions",
        ),
    ],
)
def test_bad_assignment_fails_when_written(
    dtype: str, key: Any, value: Any, error: type, message: str
) -> None:
    x = la.asarray(sample(dtype, (4, 3)))
    before = x.node
    with (
        la.config.set(backend="refuse", implicit_compute="error"),
        pytest.raises(error, match=_escaped(message)),
    ):
        x[key] = value
    assert x.node is before  # a refused assignment changes nothing


def test_a_refused_assignment_names_the_users_line() -> None:
    x = la.asarray(np.zeros(3, np.int64))
    with pytest.raises(CastError, match=r"test_array_api_setitem\.py:\d+"):
        x[0] = 0.5


def _escaped(message: str) -> str:
    return "".join("\\" + c if c in "()[]." else c for c in message)


def test_numpy_refuses_the_same_assignments() -> None:
    """The refusals above that numpy shares, in the same builtin classes."""
    data = sample("float64", (4, 3))
    for key, value, error in [
        (0, 1j, TypeError),
        (slice(0, 2), np.ones(2), ValueError),
        (4, 0.0, IndexError),
        (np.ones(3, bool), 0.0, IndexError),
    ]:
        with pytest.raises(error):
            data.copy()[key] = value
    with pytest.raises(OverflowError):
        np.zeros(2, np.uint8)[0] = 300


def test_newaxes_with_unknown_sizes_are_refused() -> None:
    x = la.asarray(np.arange(6.0))
    selected = x[x > 2]
    with pytest.raises(UnsupportedOperation, match="sizes are unknown"):
        selected[None] = 1.0
    with pytest.raises(UnsupportedOperation, match="sizes are unknown"):
        x[None, :3] = selected[:3]


def test_a_value_count_that_does_not_match_the_mask_fails_when_run(backend: str) -> None:
    x = la.asarray(np.arange(6.0))
    x[x > 2] = la.arange(2.0)  # three elements are selected: known only when run
    # when run, or when planning folds the mask into a constant whose count is known
    with pytest.raises(
        (ComputeError, ShapeError),
        match=r"cannot assign 2 input values|from shape \(2,\) into shape \(3,\)",
    ):
        x.compute(backend=backend)


@pytest.mark.parametrize(
    "flag", [True, False, np.True_, np.array(False), "lazy true", "lazy false"]
)
@pytest.mark.parametrize("value", [2.5, "array", "leading one"])
def test_a_0d_boolean_key_sets_all_or_nothing(flag: Any, value: Any, backend: str) -> None:
    data = np.arange(12.0).reshape(3, 4)
    values = {"array": np.arange(4.0) * 10, "leading one": np.ones((1, 3, 4))}
    value = values.get(value, value)
    lazy = isinstance(flag, str)
    key = flag == "lazy true" if lazy else flag
    expected = data.copy()
    expected[np.bool_(key)] = value
    x = la.Array(data)
    y = x[...]
    y[la.asarray(np.array(key)) if lazy else key] = value
    assert_same(y.compute(backend=backend), expected)
    assert_same(x.compute(backend=backend), data)  # the old node is unchanged
