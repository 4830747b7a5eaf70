"""Sorting, set and search ops against numpy, bit for bit.

A case is a pair: the lazy expression and numpy's reference, each a function of one
module-free input. ``np.<name>`` cases are one function for both (NEP 18 sends the proxy
to lazyarray); ``la.<name>`` cases follow the array API standard, whose defaults differ
from numpy's (``stable=True``, NaNs distinct in ``unique_*``), so their reference says
how numpy spells the same request.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import lazyarray as la
from lazyarray import ops
from lazyarray.errors import LazyArrayError, UnsupportedOperation
from lazyarray.graph import toposort
from lazyarray.ops import OPS, Kind
from tests.conftest import assert_same

DTYPES = ["bool", "int8", "uint64", "int64", "float16", "float32", "float64", "complex128"]
SHAPE = (37, 41)  # several blocks and chunks in the kernels and chunks modes


def data(dtype: str, shape: tuple[int, ...] = SHAPE, seed: int = 0) -> np.ndarray[Any, Any]:
    """Many repeats, and each kind's awkward values: the integer extremes; 0.0, -0.0, NaN,
    inf and -inf, in either part of a complex number."""
    rng = np.random.default_rng(seed)
    size = int(np.prod(shape))
    kind = np.dtype(dtype).kind
    if kind == "b":
        return rng.integers(0, 2, size).astype(bool).reshape(shape)
    if kind in "iu":
        info = np.iinfo(dtype)
        values = rng.integers(0 if kind == "u" else -5, 6, size).astype(dtype)
        values[rng.integers(0, size, 4)] = [info.min, info.max, info.max, info.min]
        return values.reshape(shape)

    def part() -> Any:
        values = rng.integers(-6, 7, size) / 2
        special = rng.integers(0, size, 12)
        values[special] = [0.0, -0.0, np.nan, np.inf, -np.inf, -0.0] * 2
        return values

    values = part() + 1j * part() if kind == "c" else part()
    return np.asarray(values).astype(dtype).reshape(shape)


def _descending(x: Any, axis: int = -1, indices: bool = False) -> Any:
    """The standard's stable descending sort, written independently of the op: sort
    keys ranked as numpy orders them (NaNs last; complex by real, then imaginary part,
    a NaN part after every number), then sorted by falling rank, ties in place."""

    def lane(values: Any) -> Any:
        parts = (values.real, values.imag) if values.dtype.kind == "c" else (values,)
        keys: list[Any] = []
        for part in parts:
            nan = np.isnan(part) if part.dtype.kind in "fc" else np.zeros(part.shape, bool)
            keys += [nan, np.where(nan, 0, part)]
        order = np.lexsort(keys[::-1])
        ranked = [k[order] for k in keys]
        new = np.ones(len(values), bool)
        new[1:] = np.any([k[1:] != k[:-1] for k in ranked], axis=0) if len(values) else []
        rank = np.empty(len(values), np.intp)
        rank[order] = np.cumsum(new) - 1
        found = np.lexsort((np.arange(len(values)), -rank))
        return found if indices else values[found]

    return np.apply_along_axis(lane, axis, x)


def _flat(m: Any, x: Any) -> Any:
    return m.reshape(x, (-1,))


Case = tuple[Callable[[Any], Any], Callable[[Any], Any]]


def same(function: Callable[[Any], Any]) -> Case:
    """A numpy call, run on the proxy (NEP 18) and on the data alike."""
    return function, function


CASES: dict[str, Case] = {
    # sorting: the standard's (stable by default) and numpy's (quicksort)
    "sort": (lambda x: la.sort(x), lambda x: np.sort(x, kind="stable")),
    "sort axis 0": (lambda x: la.sort(x, 0), lambda x: np.sort(x, axis=0, kind="stable")),
    "sort unstable": (lambda x: la.sort(x, stable=False), lambda x: np.sort(x)),
    "sort descending": (lambda x: la.sort(x, descending=True), lambda x: _descending(x)),
    "sort descending axis 0": (
        lambda x: la.sort(x, axis=0, descending=True),
        lambda x: _descending(x, 0),
    ),
    "argsort": (lambda x: la.argsort(x), lambda x: np.argsort(x, kind="stable")),
    "argsort axis 0": (
        lambda x: la.argsort(x, axis=-2),
        lambda x: np.argsort(x, axis=0, kind="stable"),
    ),
    "argsort unstable": (lambda x: la.argsort(x, stable=False), lambda x: np.argsort(x)),
    "argsort descending": (
        lambda x: la.argsort(x, descending=True),
        lambda x: _descending(x, indices=True),
    ),
    "argsort descending axis 0": (
        lambda x: la.argsort(x, axis=0, descending=True),
        lambda x: _descending(x, 0, indices=True),
    ),
    "np.sort": same(lambda x: np.sort(x)),
    "np.sort axis None": same(lambda x: np.sort(x, axis=None)),
    "np.sort heapsort": same(lambda x: np.sort(x, 0, "heapsort")),
    "np.sort stable": same(lambda x: np.sort(x, stable=True)),
    "np.argsort": same(lambda x: np.argsort(x)),
    "np.argsort mergesort axis None": same(lambda x: np.argsort(x, axis=None, kind="mergesort")),
    "argsort method": same(lambda x: x.argsort()),
    "argsort method stable axis 0": same(lambda x: x.argsort(axis=0, stable=True)),
    "sort unknown size": same(lambda x: np.sort(x[x != 0])),
    # sets: the standard's unique_* are numpy's with NaNs distinct (equal_nan=False)
    "unique_values": (la.unique_values, lambda x: np.unique(x, equal_nan=False)),
    "unique_counts": (la.unique_counts, np.unique_counts),
    "unique_inverse": (la.unique_inverse, np.unique_inverse),
    "unique_all": (la.unique_all, np.unique_all),
    "np.unique_values": (np.unique_values, lambda x: np.unique(x, equal_nan=False)),
    "np.unique_all": same(np.unique_all),
    "np.unique": same(np.unique),
    "np.unique all": same(lambda x: np.unique(x, True, True, True)),
    "np.unique counts": same(lambda x: np.unique(x, return_counts=True)),
    "np.unique inverse": same(lambda x: np.unique(x, return_inverse=True)),
    "np.unique index distinct nans": same(
        lambda x: np.unique(x, return_index=True, return_counts=True, equal_nan=False)
    ),
    "np.unique axis 0": same(lambda x: np.unique(x[:, :3], return_inverse=True, axis=0)),
    "np.unique axis 1": same(lambda x: np.unique(x[:4], return_counts=True, axis=1)),
    "unique of a selection": same(lambda x: np.unique(x[x != 0], return_index=True)),
    "isin": same(lambda x: np.isin(x, x[3:5])),
    "isin standard": (
        lambda x: la.isin(x, x[3:5], invert=True),
        lambda x: np.isin(x, x[3:5], invert=True),
    ),
    "isin sort": same(lambda x: np.isin(x, x[3:5, 7], kind="sort")),
    "isin scalar": same(lambda x: np.isin(x[2, 2], x[1])),
    "isin unknown size": same(lambda x: np.isin(x, x[0][x[0] != 0])),
    # searching
    "searchsorted": same(lambda x: np.searchsorted(np.sort(x[0]), x)),
    "searchsorted right": same(lambda x: np.searchsorted(np.sort(x[0]), x[:5], "right")),
    "searchsorted scalar": same(lambda x: np.searchsorted(np.sort(x[1]), x[2, 2])),
    "searchsorted sorter": same(lambda x: np.searchsorted(x[0], x[:3], sorter=np.argsort(x[0]))),
    "searchsorted standard": (
        lambda x: la.searchsorted(la.sort(x[0]), x[:2], side="right"),
        lambda x: np.searchsorted(np.sort(x[0]), x[:2], side="right"),
    ),
    "nonzero": same(np.nonzero),
    "where condition": same(np.where),
    "nonzero standard": (la.nonzero, np.nonzero),
    "argwhere": same(np.argwhere),
    "argwhere 0-d": same(lambda x: np.argwhere(x[1, 1])),
    "flatnonzero": same(np.flatnonzero),
    "count_nonzero": same(np.count_nonzero),
    "count_nonzero axis": same(lambda x: np.count_nonzero(x, 1)),
    "count_nonzero axes keepdims": same(lambda x: np.count_nonzero(x, axis=(0, 1), keepdims=True)),
    "count_nonzero standard": (
        lambda x: la.count_nonzero(x, axis=0, keepdims=True),
        lambda x: np.count_nonzero(x, axis=0, keepdims=True),
    ),
    "nonzero gathered": same(lambda x: np.take(np.ravel(x), np.flatnonzero(x))),
}


def _parts(result: Any) -> tuple[Any, ...]:
    return tuple(result) if isinstance(result, tuple) else (result,)


def _check_types(lazy: tuple[Any, ...], expected: tuple[Any, ...]) -> None:
    """What was known before running: dtypes, ranks and the known sizes."""
    assert len(lazy) == len(expected)
    for proxy, value in zip(lazy, expected, strict=True):
        assert proxy.dtype == np.asarray(value).dtype
        assert proxy.ndim == np.ndim(value)
        known = [(d, s) for d, s in zip(proxy.shape, np.shape(value), strict=True) if d is not None]
        assert all(d == s for d, s in known), (proxy.shape, np.shape(value))


def run(case: Case, values: Any, backend: str) -> None:
    lazy_case, reference = case
    with np.errstate(all="ignore"):
        expected = _parts(reference(values.copy()))
    with la.config.set(backend="refuse", implicit_compute="error"):
        built = lazy_case(la.Array(values))
        lazy = _parts(built)
        _check_types(lazy, expected)
    if type(expected[0]).__name__.endswith("Result"):  # numpy's named tuples
        assert type(built).__name__ == type(reference(values)).__name__
        assert built._fields == reference(values)._fields
    for actual, wanted in zip(la.compute(*lazy, backend=backend), expected, strict=True):
        assert_same(actual, wanted)


@pytest.mark.parametrize("name", CASES)
def test_case_matches_numpy(name: str, backend: str) -> None:
    for dtype in DTYPES:
        values = data(dtype, seed=DTYPES.index(dtype))
        try:
            run(CASES[name], values, backend)
        except AssertionError as exc:
            raise AssertionError(f"{name} on {dtype}: {exc}") from exc


# --- big arrays: the blocked and chunked paths ---------------------------------------

BIG = (500, 400)  # 200,000 elements: above small_bytes, many dask chunks

BIG_CASES = [
    "sort",
    "sort axis 0",
    "sort descending",
    "np.sort",
    "argsort",
    "argsort axis 0",
    "np.argsort",
    "argsort descending",
    "unique_all",
    "np.unique all",
    "np.unique",
    "np.unique counts",
    "unique_values",
    "isin",
    "searchsorted",
    "searchsorted sorter",
    "nonzero",
    "count_nonzero axis",
    "flatnonzero",
]


@pytest.mark.parametrize("dtype", ["int64", "float64", "complex128"])
@pytest.mark.parametrize("name", BIG_CASES)
@pytest.mark.parametrize("backend_name", ["numpy", "dask"])
def test_big_arrays_match_numpy(name: str, dtype: str, backend_name: str) -> None:
    values = data(dtype, BIG, seed=3)
    assert values.nbytes > la.config.snapshot().small_bytes
    with la.config.set(dask_chunk_bytes=2**17):  # a dozen chunks or more
        run(CASES[name], values, backend_name)


def test_big_one_dimensional_sort_and_unique_on_many_chunks() -> None:
    values = data("float32", (300_000,), seed=4)
    for name in ("sort", "np.argsort", "unique_inverse", "np.unique inverse"):
        with la.config.set(dask_chunk_bytes=64 * 1024):
            run(CASES[name], values, "dask")


EMPTY_CASES: dict[str, Case] = {
    "sort": (lambda x: la.sort(x, axis=0), lambda x: np.sort(x, axis=0, kind="stable")),
    "argsort": same(lambda x: np.argsort(x, axis=None)),
    "unique_all": (la.unique_all, np.unique_all),
    "unique": same(lambda x: np.unique(x, return_counts=True, return_inverse=True)),
    "unique axis": same(lambda x: np.unique(x, axis=1)),
    "nonzero": same(np.nonzero),
    "count_nonzero": same(lambda x: np.count_nonzero(x, axis=0)),
    "isin": same(lambda x: np.isin(x, x)),
    "searchsorted": same(lambda x: np.searchsorted(np.ravel(x), x)),
    "searchsorted into nothing": same(lambda x: np.searchsorted(np.ravel(x), np.arange(3.0))),
    "searchsorted nothing": same(lambda x: np.searchsorted(np.arange(3.0), x)),
}


@pytest.mark.parametrize("name", EMPTY_CASES)
def test_empty_arrays(name: str, backend: str) -> None:
    run(EMPTY_CASES[name], np.zeros((0, 5)), backend)


# --- the standard's semantics, on examples --------------------------------------------

_STANDARD = np.array([1.0, 2.0, 1.0, -0.0, 0.0, np.nan, 2.0, np.nan])


def test_descending_sorts_keep_ties_in_order() -> None:
    x = la.asarray(_STANDARD)
    assert_same(
        la.argsort(x, descending=True).compute(), np.array([5, 7, 1, 6, 0, 2, 3, 4], np.intp)
    )
    assert_same(
        la.sort(x, descending=True).compute(),
        np.array([np.nan, np.nan, 2.0, 2.0, 1.0, 1.0, -0.0, 0.0]),
    )


def test_unique_all_counts_each_nan_once_and_signed_zeros_together() -> None:
    values, indices, inverse, counts = la.compute(*la.unique_all(la.asarray(_STANDARD)))
    assert_same(values, np.array([-0.0, 1.0, 2.0, np.nan, np.nan]))
    assert_same(indices, np.array([3, 0, 1, 5, 7], np.intp))
    assert_same(inverse, np.array([1, 2, 1, 0, 0, 3, 2, 4], np.intp))
    assert_same(counts, np.array([2, 2, 2, 1, 1], np.intp))
    # numpy's own np.unique counts NaNs as one value
    assert_same(np.unique(la.asarray(_STANDARD)).compute(), np.array([-0.0, 1.0, 2.0, np.nan]))


def test_inverse_indices_have_the_input_shape() -> None:
    x = la.asarray(np.arange(12).reshape(3, 4) % 5)
    result = la.unique_inverse(x)
    assert result.inverse_indices.shape == (3, 4)
    values, inverse = la.compute(*result)
    assert_same(values[inverse], np.arange(12).reshape(3, 4) % 5)


def test_isin_takes_a_python_scalar() -> None:
    x = la.asarray(np.array([1, 5, 7]))
    assert_same(la.isin(5, x).compute(), np.array(True))
    assert_same(la.isin(x, 7).compute(), np.array([False, False, True]))


def test_standard_and_numpy_defaults_are_different_nodes() -> None:
    x = la.asarray(_STANDARD)
    assert la.sort(x).node is np.sort(x, kind="stable").node
    assert la.sort(x).node is la.sort(x, axis=0, stable=True).node
    assert np.sort(x).node is la.sort(x, stable=False).node
    assert la.argsort(x).node is not np.argsort(x).node
    assert np.argsort(x).node is x.argsort(kind="quicksort").node


def test_where_with_one_argument_is_nonzero() -> None:
    x = la.asarray(np.array([[0, 3], [4, 0]]))
    rows, cols = la.where(x)
    assert rows.node is la.nonzero(x)[0].node
    assert_same(la.compute(rows, cols)[1], np.array([1, 0]))


# --- graph properties ----------------------------------------------------------------

_ROWS = {name for name, row in OPS.items() if row.kind is Kind.SORTING}


def _nodes(case: Case) -> list[Any]:
    built = _parts(case[0](la.Array(data("float64", (6, 8)))))
    return toposort([proxy.node for proxy in built])


def test_every_sorting_row_is_exercised() -> None:
    used = {node.op for case in CASES.values() for node in _nodes(case)}
    assert _ROWS - used == set()


def test_a_node_rebuilt_from_its_attributes_is_itself() -> None:
    seen: set[str] = set()
    for case in CASES.values():
        for node in _nodes(case):
            if node.op in _ROWS:
                assert ops.apply(node.op, node.inputs, **node.kwargs) is node
                seen.add(node.op)
    assert seen == _ROWS


def test_building_computes_nothing(no_compute: None) -> None:
    x = la.Array(data("float64"))
    for case, _ in CASES.values():
        case(x)


# --- bad input: numpy's errors, in numpy's words, at the user's line ------------------

_X = data("float64", (3, 4))
_BAD: list[tuple[str, Any, type, str]] = [
    ("sort axis", lambda m, x: m.sort(x, axis=2), np.exceptions.AxisError, "axis 2 is out of"),
    ("sort 0-d", lambda m, x: m.sort(x[0, 0]), np.exceptions.AxisError, "dimension 0"),
    ("sort kind", lambda m, x: np.sort(x, kind="bubble"), ValueError, "sort kind must be"),
    ("sort order", lambda m, x: np.sort(x, order="f"), ValueError, "Cannot specify order"),
    ("argsort axis", lambda m, x: m.argsort(x, -3), np.exceptions.AxisError, "axis -3"),
    ("searchsorted 2-d", lambda m, x: m.searchsorted(x, x), ValueError, "object too deep"),
    (
        "searchsorted 0-d",
        lambda m, x: m.searchsorted(x[0, 0], x),
        ValueError,
        "object of too small depth",
    ),
    (
        "searchsorted side",
        lambda m, x: m.searchsorted(x[0], x, side="middle"),
        ValueError,
        "search side must be 'left' or 'right'",
    ),
    (
        "searchsorted sorter dtype",
        lambda m, x: m.searchsorted(x[0], x, sorter=x[1]),
        TypeError,
        "sorter must only contain integers",
    ),
    (
        "searchsorted sorter size",
        lambda m, x: m.searchsorted(x[0], x, sorter=np.array([0, 1])),
        ValueError,
        "sorter.size must equal a.size",
    ),
    ("nonzero 0-d", lambda m, x: m.nonzero(x[0, 0]), ValueError, "nonzero on 0d arrays"),
    ("where one of two", lambda m, x: m.where(x, 1.0), ValueError, "either both or neither"),
    (
        "count_nonzero axes",
        lambda m, x: m.count_nonzero(x, axis=(0, 0)),
        ValueError,
        "duplicate value in 'axis'",
    ),
    ("count_nonzero axis", lambda m, x: m.count_nonzero(x, 2), np.exceptions.AxisError, "axis 2"),
    ("isin kind", lambda m, x: np.isin(x, x, kind="hash"), ValueError, "Invalid kind"),
    ("isin table", lambda m, x: np.isin(x, x, kind="table"), ValueError, "'table' method"),
    ("unique axis", lambda m, x: np.unique(x, axis=3), np.exceptions.AxisError, "axis 3"),
    ("unique flag", lambda m, x: np.unique(x, return_counts="yes"), TypeError, "integer"),
]


@pytest.mark.parametrize(("name", "build", "error", "message"), _BAD, ids=[b[0] for b in _BAD])
def test_bad_input_fails_when_written_as_numpy_does(
    name: str, build: Any, error: type, message: str
) -> None:
    if name != "unique flag":  # numpy takes any truthy flag; lazyarray numpy's integers
        with pytest.raises(error, match=message):
            build(np, _X)
    with (
        la.config.set(backend="refuse", implicit_compute="error"),
        pytest.raises(error, match=message) as info,
    ):
        build(la, la.Array(_X))
    assert isinstance(info.value, LazyArrayError)
    assert "test_ops_sorting.py" in str(info.value)


MASKED_CASES: dict[str, Callable[[Any], Any]] = {
    "sort": lambda x: np.sort(x, kind="stable"),
    "sort axis 0": lambda x: np.sort(x, 0),
    "sort axis None": lambda x: np.sort(x, axis=None),
    "argsort": lambda x: np.argsort(x, kind="stable"),
    "argsort method axis None": lambda x: x.argsort(axis=None),
}


@pytest.mark.parametrize("name", MASKED_CASES)
def test_masked_sorts_match_numpy_ma(name: str, backend: str) -> None:
    """numpy.ma's: masked values last."""
    for dtype in ("int8", "float32", "complex128"):
        values = data(dtype)
        masked = np.ma.MaskedArray(values, mask=np.isnan(values) | (values.real > 1))
        expected = MASKED_CASES[name](masked.copy())
        lazy = MASKED_CASES[name](la.MaskedArray(masked))
        assert lazy.masked == isinstance(expected, np.ma.MaskedArray)
        assert_same(lazy.compute(backend=backend), expected)


def test_masked_arrays_are_refused_where_numpy_ma_has_no_such_op() -> None:
    x = la.MaskedArray(np.ma.MaskedArray(_X, mask=_X > 0))
    for build in (la.unique_values, la.argwhere, la.count_nonzero, la.unique_all):
        with pytest.raises(UnsupportedOperation, match="masked"):
            build(x)
    with pytest.raises(UnsupportedOperation, match="descending"):
        la.sort(x, descending=True)


def test_standard_options_are_keyword_only() -> None:
    x = la.Array(_X)
    with pytest.raises(TypeError, match="positional"):
        la.sort(x, -1, True)
    with pytest.raises(TypeError, match="positional"):
        la.isin(x, x, True)


# --- hypothesis: any small array, any order of NaNs and zeros -------------------------

_FLOATS = hnp.arrays(
    st.sampled_from([np.float32, np.float64]),
    hnp.array_shapes(min_dims=1, max_dims=3, max_side=6),
    elements=st.sampled_from([0.0, -0.0, 1.5, -2.0, np.nan, np.inf, -np.inf, 3.0]),
)


@given(_FLOATS, st.booleans(), st.integers(-1, 0))
def test_sorting_any_array(values: Any, descending: bool, axis: int) -> None:
    x = la.asarray(values)
    sort, argsort = la.sort(x, axis=axis, descending=descending), la.argsort(x, axis=axis)
    reference = _descending(values, axis) if descending else np.sort(values, axis, "stable")
    assert_same(sort.compute(), reference)
    assert_same(argsort.compute(), np.argsort(values, axis, kind="stable"))


@given(_FLOATS, st.sampled_from(["numpy", "dask"]))
def test_unique_all_any_array(values: Any, backend: str) -> None:
    result = la.compute(*la.unique_all(la.asarray(values)), backend=backend)
    for actual, expected in zip(result, np.unique_all(values), strict=True):
        assert_same(actual, expected)
    counted = la.compute(*la.unique_counts(la.asarray(values)), backend=backend)
    for actual, expected in zip(counted, np.unique_counts(values), strict=True):
        assert_same(actual, expected)


@given(_FLOATS, _FLOATS, st.sampled_from(["left", "right"]))
def test_searchsorted_and_isin_any_arrays(values: Any, probes: Any, side: str) -> None:
    ordered = np.sort(values.ravel())
    assert_same(
        la.searchsorted(la.asarray(ordered), la.asarray(probes), side=side).compute(),
        np.searchsorted(ordered, probes, side=side),
    )
    assert_same(la.isin(la.asarray(probes), la.asarray(values)).compute(), np.isin(probes, values))
