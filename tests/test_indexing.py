"""numpy's indexing, basic and advanced, against numpy.

One table of index expressions, written once as functions of the indexed shape, is
applied to a numpy array and to a lazy one, with the index arrays given three ways:
literals (lists, tuples, ndarrays), proxies of literals, and parameters of unknown sizes
(values known only when running). Then: every dtype, big arrays, masked arrays, random
valid indices (hypothesis), numpy's errors at the user's line or when running, laziness,
and ``gather`` nodes rebuilt from their attributes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import lazyarray as la
from lazyarray.errors import ComputeError, LazyArrayError
from lazyarray.graph import toposort
from lazyarray.ops import OPS, Kind, apply
from tests.cases import DTYPES, masked_sample, sample
from tests.conftest import assert_same

SMALL = (4, 5, 6)
BIG = (60, 70, 50)  # 210,000 elements: the blocked and chunked paths
Shape = tuple[int, ...]
Index = Callable[[Shape], Any]


def mask(size: int, *true: int) -> np.ndarray[Any, Any]:
    """A boolean array of ``size`` that is true at the positions ``true``."""
    values = np.zeros(size, bool)
    values[list(true)] = True
    return values


def mask2d(shape: Shape, *true: tuple[int, int]) -> np.ndarray[Any, Any]:
    values = np.zeros(shape, bool)
    for position in true:
        values[position] = True
    return values


S = slice(None)

# index values fit every axis of SMALL (4, 5, 6) and of BIG
INDICES: dict[str, Index] = {
    # one array
    "one array": lambda n: ([3, 0, 1],),
    "one array inner": lambda n: (S, [2, 0, 2]),
    "one nd array": lambda n: (np.array([[[0, 1], [3, 2]]]),),
    "one nd array inner": lambda n: (S, np.array([[0, 4], [1, 1]])),
    "one nd array last, slices before": lambda n: (slice(1, 3), S, np.arange(6).reshape(2, 3)),
    "one array, int apart": lambda n: (0, S, [1, 3]),
    "one array, int adjacent": lambda n: (S, 0, [1, 3]),
    # two arrays
    "two arrays": lambda n: ([1, 0], [2, 4]),
    "two arrays, slice after": lambda n: ([1, 0], [2, 4], S),
    "slice, two arrays": lambda n: (S, [1, 0], [2, 4]),
    "two arrays apart by a slice": lambda n: ([1, 0], S, [2, 4]),
    "two arrays apart by a reversed step": lambda n: ([1, 3], slice(None, None, -2), [5, 0]),
    "two arrays apart by None": lambda n: ([1, 0], None, [2, 4]),
    "None, two arrays": lambda n: (None, [1, 0], [2, 4]),
    "two arrays apart by ...": lambda n: ([1, 0], ..., [2, 5]),
    "..., two arrays": lambda n: (..., [1, 0], [2, 5]),
    "two arrays, ...": lambda n: ([1, 0], [2, 4], ...),
    "two arrays apart by an empty ...": lambda n: (S, [1], ..., [2]),
    "int between two arrays": lambda n: ([1, 0], 2, [3, 5]),
    "int, two arrays": lambda n: (1, [0, 2], [1, 5]),
    "two arrays, int": lambda n: ([0, 2], [3, 1], 5),
    "two arrays, slice, int": lambda n: ([0, 2], slice(1, 3), 1),
    "array, slice, negative int": lambda n: ([0, 2], S, -1),
    "two arrays, None": lambda n: ([0, 2], [3, 1], None),
    "reversed slice, two arrays": lambda n: (slice(None, None, -1), [0, 2], [5, 1]),
    "slice, two arrays, ...": lambda n: (slice(1, 3), [0, 4], [1, 2], ...),
    "None, array, ..., None, array": lambda n: (None, [1, 2], ..., None, [0, 3]),
    # three arrays
    "three arrays": lambda n: ([0, 1, 3], [4, 0, 2], [5, 5, 0]),
    "three arrays broadcast": lambda n: ([[0], [3]], [1, 2, 4], [[5, 0, 1]]),
    "three arrays apart by None": lambda n: ([0, 1], None, [4, 0], None, [5, 0]),
    "three negative arrays": lambda n: ([-1, -4], [-5, 0], [-6, 5]),
    "three arrays of one": lambda n: ([-1], [-1], [-1]),
    "0-d arrays are integers": lambda n: (np.array(1), [0, 2], np.array(3)),
    # broadcasting
    "2-d and 1-d": lambda n: ([[0, 1], [2, 3]], [4, 0]),
    "column and row apart": lambda n: (np.array([[0], [3]]), S, np.array([[1, 5]])),
    "size 1 broadcast": lambda n: ([2], [0, 1, 4]),
    "repeated indices": lambda n: ([1, 1, 1], [2, 2, 0]),
    "tuples as arrays": lambda n: ((0, 1), (2, 3)),
    "nested lists": lambda n: ([[0, 1]], [[2], [3]]),
    "uint8 arrays": lambda n: (np.array([1, 0], np.uint8), np.array([3, 4], np.uint8)),
    "int8 negative arrays apart": lambda n: (
        np.array([-1, 0], np.int8),
        S,
        np.array([-2, 3], np.int8),
    ),
    # empty
    "empty arrays": lambda n: ([], []),
    "empty arrays apart": lambda n: ([], S, []),
    "empty 2-d and 1-d": lambda n: (np.zeros((0, 3), np.intp), [0, 1, 2]),
    "empty and int": lambda n: ([], 0),
    "empty nested": lambda n: ([[]],),
    # booleans: their nonzero arrays
    "bool, array": lambda n: (mask(n[0], 0, 2), [1, 4]),
    "array, bool": lambda n: ([0, 3], mask(n[1], 1, 4)),
    "bool apart from array": lambda n: (mask(n[0], 1, 3), S, [0, 5]),
    "2-d bool, array": lambda n: (mask2d(n[:2], (0, 1), (2, 2), (3, 0)), [0, 2, 5]),
    "array, 2-d bool": lambda n: ([1, 0], mask2d(n[1:], (1, 1), (4, 5))),
    "bool, bool": lambda n: (mask(n[0], 0, 2), mask(n[1], 1, 4)),
    "bool of one true, array": lambda n: (mask(n[0], 2), [0, 1, 4]),
    "bool of none, empty array": lambda n: (mask(n[0]), []),
    "bool alone": lambda n: (mask(n[0], 1, 2),),
    "2-d bool, int": lambda n: (mask2d(n[:2], (0, 1), (3, 4)), 0),
    "int, slice, bool": lambda n: (0, S, mask(n[2], 1, 5)),
    "slice, bool, int": lambda n: (S, mask(n[1], 1, 2), 0),
    "bool as a list": lambda n: (mask(n[0], 0, 2).tolist(), [1, 2]),
    # 0-d booleans: a new axis indexed by [0] or []
    "true, array": lambda n: (True, [0, 3]),
    "false, empty array": lambda n: (False, []),
    "array, true, array": lambda n: ([0, 3], True, [1, 2]),
    "array, slice, true": lambda n: ([0, 3], S, True),
    "numpy true, slice, arrays": lambda n: (np.True_, S, [0, 1], [2, 3]),
    # np.ix_
    "ix_ of two": lambda n: np.ix_([0, 3], [1, 4]),
    "ix_ of three": lambda n: np.ix_([0, 3], [1, 4, 2], [5, 0]),
    "ix_ of a bool": lambda n: np.ix_(mask(n[0], 1, 2), [0, 4]),
    "ix_, slice": lambda n: (*np.ix_([0, 3], [1, 4]), slice(1, 4)),
    "ix_ of an empty one": lambda n: np.ix_([], [1, 2]),
}

# a few of every kind, for the slower sweeps (dtypes, masked)
SOME = [
    "one array inner",
    "two arrays apart by a slice",
    "int between two arrays",
    "three arrays broadcast",
    "bool, array",
    "2-d bool, int",
    "true, array",
    "ix_ of three",
    "empty arrays",
]


def _arrays(index: Any) -> tuple[Any, ...]:
    return index if isinstance(index, tuple) else (index,)


def _is_array(item: Any) -> bool:
    return isinstance(item, (list, tuple, np.ndarray, bool, np.bool_))


def _values(item: Any) -> np.ndarray[Any, Any]:
    values = np.asarray(item)
    return values.astype(np.intp) if values.size == 0 else values


def as_proxies(index: Any) -> tuple[Any, ...]:
    """The index with its arrays (and 0-d booleans) as proxies of literals."""
    return tuple(la.asarray(_values(i)) if _is_array(i) else i for i in _arrays(index))


def as_parameters(index: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """The index with its arrays as parameters of unknown sizes, and their values."""
    items: list[Any] = []
    values: dict[str, Any] = {}
    for position, item in enumerate(_arrays(index)):
        if not _is_array(item):
            items.append(item)
            continue
        name, value = f"i{position}", _values(item)
        kind = la.Scalar if value.ndim == 0 else la.Array
        shape = (None,) * value.ndim
        items.append(la.parameter(name, kind, dtype=value.dtype, shape=shape))
        values[name] = value
    return tuple(items), values


FORMS = ["literal", "proxy", "parameter"]


def _lazy(x: Any, index: Any, form: str) -> tuple[Any, dict[str, Any]]:
    if form == "literal":
        return x[index], {}
    if form == "proxy":
        return x[as_proxies(index)], {}
    items, values = as_parameters(index)
    return x[items], values


def _check_type(lazy: Any, expected: Any) -> None:
    """The type known before running: dtype, rank, and every size not left unknown."""
    assert lazy.dtype == expected.dtype
    assert lazy.ndim == expected.ndim
    assert all(d is None or d == e for d, e in zip(lazy.shape, expected.shape, strict=True))


def _check_rebuilt(lazy: Any) -> None:
    """Every indexing node is the one its own attributes build."""
    for node in toposort([lazy.node]):
        if OPS[node.op].kind is Kind.INDEXING:
            assert apply(node.op, node.inputs, **node.kwargs) is node


def test_the_table_is_large() -> None:
    assert len(INDICES) >= 60


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("name", INDICES)
def test_index_matches_numpy(name: str, form: str, backend: str) -> None:
    data = sample("float64", SMALL)
    index = INDICES[name](SMALL)
    expected = data[index]
    with la.config.set(backend="refuse", implicit_compute="error"):  # building is lazy
        lazy, values = _lazy(la.Array(data), index, form)
        _check_type(lazy, expected)
        _check_rebuilt(lazy)
    assert_same(lazy.compute(backend=backend, **values), expected)


@pytest.mark.parametrize("name", INDICES)
def test_big_arrays(name: str, backend: str) -> None:
    data = sample("float64", BIG, seed=1)
    index = INDICES[name](BIG)
    expected = data[index]
    lazy = (la.Array(data) * 2)[index]  # an expression: fused, blocked, chunked first
    _check_type(lazy, expected)
    assert_same(lazy.compute(backend=backend, cache=False), expected * 2)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", SOME)
def test_every_dtype(name: str, dtype: str, backend: str) -> None:
    data = sample(dtype, SMALL)
    index = INDICES[name](SMALL)
    for form in FORMS:
        lazy, values = _lazy(la.Array(data), index, form)
        assert_same(lazy.compute(backend=backend, **values), data[index])


@pytest.mark.parametrize("name", SOME)
def test_masked_arrays_as_numpy_ma(name: str, backend: str) -> None:
    data = masked_sample("float64", SMALL)
    index = INDICES[name](SMALL)
    expected = data[index]
    for form in ("literal", "parameter"):
        lazy, values = _lazy(la.MaskedArray(data), index, form)
        assert lazy.masked
        assert_same(lazy.compute(backend=backend, **values), expected)


# --- lazy index arrays ------------------------------------------------------------------


def test_lazy_index_arrays(backend: str) -> None:
    data = sample("float64", SMALL)
    x = la.Array(data)
    rows = la.argsort(x[:, 0, 0])  # values known only when running
    flags = x[:, 0, 0] > 0
    expected = data[np.argsort(data[:, 0, 0]), :, [[1], [5]]]
    assert_same(x[rows, :, [[1], [5]]].compute(backend=backend), expected)
    chosen = data[:, 0, 0] > 0
    assert_same(x[flags, 1, :2].compute(backend=backend), data[chosen, 1, :2])
    assert_same(x[:, flags[:1].any(), 1].compute(backend=backend), data[:, chosen[:1].any(), 1])
    both = x[flags, [2]]
    assert both.shape == (None, 6)
    assert_same(both.compute(backend=backend), data[chosen, [2]])


def test_a_proxy_of_booleans_among_integers(backend: str) -> None:
    data = sample("float64", SMALL)
    for index in [
        (1, mask(5, 0, 3, 4)),
        (mask(4, 0, 3), 0),
        (0, S, mask(6, 1)),
        (mask(4, 1, 2), 1, [0, 5]),
        (S, mask(5, 1, 2, 3), np.array([[0], [5]])),
    ]:
        proxies = tuple(la.asarray(i) if isinstance(i, np.ndarray) else i for i in index)
        assert_same(la.Array(data)[proxies].compute(backend=backend), data[index])


# --- ix_ --------------------------------------------------------------------------------


def test_ix_of_proxies_and_literals(backend: str) -> None:
    data = sample("float64", SMALL)
    x = la.Array(data)
    rows = la.asarray(np.array([3, 0]))
    flags = la.Array(mask(6, 1, 4)) > 0  # lazy: its nonzero positions
    expected = data[np.ix_([3, 0], [1, 2, 4], mask(6, 1, 4))]
    for mesh in (np.ix_(rows, [1, 2, 4], flags), la.ix_([3, 0], la.asarray([1, 2, 4]), flags)):
        assert len(mesh) == 3
        assert_same(x[mesh].compute(backend=backend), expected)
    assert [m.shape for m in la.ix_([3, 0], [], mask(6, 1, 4))] == [(2, 1, 1), (1, 0, 1), (1, 1, 2)]


def test_ix_refuses_what_numpy_refuses() -> None:
    with pytest.raises(ValueError, match="Cross index must be 1 dimensional") as info:
        la.ix_([[0, 1]], [0])
    assert "test_indexing.py" in str(info.value)


# --- random valid indices ---------------------------------------------------------------


@st.composite
def advanced_indices(draw: st.DrawFn) -> tuple[np.ndarray[Any, Any], tuple[Any, ...]]:
    """An array and a valid index of it: slices, integers, ``None``, ``...`` and integer
    arrays broadcastable to one shape (one of them possibly a 1-d boolean)."""
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=5))
    ndim = len(shape)
    explicit = draw(st.integers(1, ndim))
    ellipsis = draw(st.sampled_from([None, *range(explicit + 1)]))
    if ellipsis is None:
        axes = list(range(explicit))
    else:
        axes = list(range(ellipsis)) + list(range(ndim - explicit + ellipsis, ndim))
    kinds = [draw(st.sampled_from(["slice", "int", "array", "array"])) for _ in axes]
    if "array" not in kinds:
        kinds[draw(st.integers(0, len(kinds) - 1))] = "array"
    common = draw(hnp.array_shapes(min_dims=0, max_dims=2, min_side=0, max_side=3))
    boolean = draw(st.booleans()) and len(common) == 1
    items: list[Any] = []
    for axis, kind in zip(axes, kinds, strict=True):
        size = shape[axis]
        if kind == "slice":
            items.append(draw(st.slices(size)))
        elif kind == "int":
            items.append(draw(st.integers(-size, size - 1)))
        elif boolean and common[0] <= size:
            boolean = False
            true = draw(
                st.lists(
                    st.integers(0, size - 1), min_size=common[0], max_size=common[0], unique=True
                )
            )
            items.append(mask(size, *true))
        else:
            dropped = draw(st.integers(0, len(common)))
            own = tuple(d if draw(st.booleans()) else 1 for d in common[dropped:])
            values = st.integers(-size, size - 1)
            items.append(draw(hnp.arrays(np.intp, own, elements=values)))
    if ellipsis is not None:
        items.insert(ellipsis, Ellipsis)
    for _ in range(draw(st.integers(0, 2))):
        items.insert(draw(st.integers(0, len(items))), None)
    data = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)
    return data, tuple(items)


@settings(max_examples=150)
@given(advanced_indices())
def test_random_indices_match_numpy(case: tuple[np.ndarray[Any, Any], tuple[Any, ...]]) -> None:
    data, index = case
    expected = data[index]
    lazy = la.Array(data)[index]
    _check_type(lazy, expected)
    assert_same(lazy.compute(), expected)


@settings(max_examples=30)
@given(advanced_indices())
def test_random_indices_on_dask(case: tuple[np.ndarray[Any, Any], tuple[Any, ...]]) -> None:
    data, index = case
    lazy, values = _lazy(la.Array(data), index, "parameter")
    assert_same(lazy.compute(backend="dask", **values), data[index])


# --- bad input --------------------------------------------------------------------------

BAD: dict[str, Index] = {
    "out of bounds": lambda n: ([0, 1], [5, 0]),
    "out of bounds, int before": lambda n: (0, S, [7]),
    "out of bounds, negative": lambda n: ([[0]], 1, [-7]),
    "out of bounds, third array": lambda n: ([0], [0], [6]),
    "out of bounds after a new axis": lambda n: (None, [0], [9]),
    "int out of bounds first": lambda n: ([9, 1], 5),
    "shape mismatch": lambda n: ([0, 1], [0, 1, 2]),
    "shape mismatch of three": lambda n: ([0, 1], [[0, 1, 2]], [[1], [2]]),
    "shape mismatch before bounds": lambda n: ([9, 1], [0, 1, 2]),
    "shape mismatch of a bool": lambda n: (mask(4, 0, 1, 2), [0, 1]),
    "shape mismatch of a false": lambda n: (False, [0, 1]),
    "float list": lambda n: ([0.5],),
    "float array": lambda n: ([0], np.array([1.5])),
    "float scalar among arrays": lambda n: ([0], 1.0),
    "string among arrays": lambda n: ([0], "a"),
    "ragged list": lambda n: ([[0], [1, 2]],),
    "bool of the wrong length": lambda n: (mask(3, 0), [0]),
    "bool of the wrong length, inner": lambda n: ([0], mask(4, 0)),
    "too many indices": lambda n: ([0], [0], [0], [0]),
    "too many indices, 2-d bool": lambda n: (np.ones((4, 5, 6, 1), bool), [0]),
    "two ellipses": lambda n: ([0], ..., [0], ...),
}


@pytest.mark.parametrize("name", BAD)
def test_bad_indices_fail_at_the_users_line(name: str) -> None:
    data = sample("float64", SMALL)
    index = BAD[name](SMALL)
    with pytest.raises((IndexError, ValueError)) as numpy_error:
        data[index]
    with (
        la.config.set(backend="refuse", implicit_compute="error"),
        pytest.raises(LazyArrayError) as info,
    ):
        la.Array(data)[index]
    assert isinstance(info.value, type(numpy_error.value))
    assert str(info.value).startswith(str(numpy_error.value))
    assert "test_indexing.py" in str(info.value)


@pytest.mark.parametrize(
    "index",
    [(np.array([0, 1]), S, np.array([0, 9])), (np.array([-5]), np.array([[0]]), 0)],
    ids=repr,
)
def test_out_of_bounds_found_when_running(index: Any, backend: str) -> None:
    data = sample("float64", SMALL)
    with pytest.raises(IndexError) as numpy_error:
        data[index]
    computed = tuple(la.sort(la.asarray(i)) if isinstance(i, np.ndarray) else i for i in index)
    parameters, values = as_parameters(index)
    for lazy, arguments in ((la.Array(data)[computed], {}), (la.Array(data)[parameters], values)):
        with la.config.set(disabled=frozenset({"fold"})), pytest.raises(ComputeError) as info:
            lazy.compute(backend=backend, **arguments)
        assert type(info.value.original) is IndexError
        assert str(info.value.original) == str(numpy_error.value)


def test_shape_mismatch_found_when_running(backend: str) -> None:
    data = sample("float64", SMALL)
    flags = la.parameter("flags", dtype=bool, shape=(None,))
    lazy = la.Array(data)[la.flatnonzero(flags), S, [0, 1, 2]]
    with pytest.raises(ComputeError) as info:
        lazy.compute(backend=backend, flags=mask(4, 0, 1))
    assert type(info.value.original) is IndexError
    assert str(info.value.original) == (
        "shape mismatch: indexing arrays could not be broadcast together with shapes (2,) (3,) "
    )
