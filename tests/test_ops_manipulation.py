"""Manipulation ops (roll, tile, repeat, unstack, broadcast_arrays, meshgrid, tril/triu,
take_along_axis, diff, matrix_transpose, pad, diagonal, trace, the atleast/stack/split
composites) against numpy, bit for bit.

Each case is one function written for both modules: ``case(np, data)`` is the
reference, ``case(la, la.Array(data))`` the lazy version, built under the backend that
refuses to compute, and ``case(np, la.Array(data))`` the NEP 18 route. Small arrays run
on both backends in every mode, big ones (>= 2e5 elements) in the default mode.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lazyarray as la
from lazyarray.graph import toposort
from lazyarray.ops import OPS, apply
from lazyarray.ops import manipulation as manipulation_ops
from lazyarray.ops import padding as padding_ops
from lazyarray.proxy.base import BaseArray
from tests.cases import masked_sample, sample
from tests.conftest import assert_same

ROWS = {row.name for row in (*manipulation_ops.ROWS, *padding_ops.ROWS)}
DTYPES = ["bool", "int8", "float32", "complex128"]
SHAPE = (37, 41)  # several chunks of 1 KiB in the chunks mode, several kernel blocks
SHAPE3 = (4, 9, 11)
# permutations and negative indices, the same for every dtype
INDICES = np.random.default_rng(5).integers(-41, 41, SHAPE)
ROWS_ORDER = np.argsort(np.random.default_rng(6).random(SHAPE), axis=0)[:5]
INDICES3 = np.random.default_rng(7).integers(0, 9, (4, 3, 11))


@dataclasses.dataclass(frozen=True)
class Case:
    """``build(m, x)`` for numpy and lazyarray alike; ``reference(np, x)`` where the
    lazyarray spelling is not numpy's (the standard's ``la.linalg.diagonal``)."""

    build: Callable[[Any, Any], Any]
    reference: Callable[[Any, Any], Any] | None = None
    shape: tuple[int, ...] = SHAPE

    @property
    def expected(self) -> Callable[[Any, Any], Any]:
        return self.reference or self.build

    @property
    def nep18(self) -> bool:
        return self.reference is None


CASES: dict[str, Case] = {
    "roll": Case(lambda m, x: m.roll(x, 3, axis=1)),
    "roll negative": Case(lambda m, x: m.roll(x, -50, 0)),
    "roll flat": Case(lambda m, x: m.roll(x, 100)),
    "roll several": Case(lambda m, x: m.roll(x, (2, -5), axis=(0, -1))),
    "roll repeated axis": Case(lambda m, x: m.roll(x, (2, 3), axis=(1, 1))),
    "tile": Case(lambda m, x: m.tile(x, 2)),
    "tile more axes": Case(lambda m, x: m.tile(x, (2, 1, 3))),
    "tile zero": Case(lambda m, x: m.tile(x, (0, 2))),
    "repeat": Case(lambda m, x: m.repeat(x, 3, axis=1)),
    "repeat flat": Case(lambda m, x: m.repeat(x, 2)),
    "repeat counts": Case(lambda m, x: m.repeat(x, np.arange(37) % 4, axis=0)),
    "repeat one count": Case(lambda m, x: m.repeat(x, [2], axis=-1)),
    "repeat method": Case(lambda m, x: x.repeat(2, axis=0)),
    "tril": Case(lambda m, x: m.tril(x)),
    "tril k": Case(lambda m, x: m.tril(x, -2)),
    "triu k": Case(lambda m, x: m.triu(x, 3)),
    "tril vector": Case(lambda m, x: m.tril(x[0], 1)),
    "tril stack": Case(lambda m, x: m.triu(x, 1), shape=SHAPE3),
    "take_along_axis": Case(lambda m, x: m.take_along_axis(x, INDICES, axis=1)),
    "take_along_axis default": Case(lambda m, x: m.take_along_axis(x, INDICES[:, :7])),
    "take_along_axis rows": Case(lambda m, x: m.take_along_axis(x, ROWS_ORDER, axis=0)),
    "take_along_axis broadcast": Case(lambda m, x: m.take_along_axis(x, INDICES[:1], axis=1)),
    "take_along_axis flat": Case(lambda m, x: m.take_along_axis(x, INDICES[0], axis=None)),
    "take_along_axis 3d": Case(lambda m, x: m.take_along_axis(x, INDICES3, 1), shape=SHAPE3),
    "diff": Case(lambda m, x: m.diff(x)),
    "diff n axis": Case(lambda m, x: m.diff(x, 3, 0)),
    "diff past the end": Case(lambda m, x: m.diff(x[:, :3], n=5)),
    "diff n 0": Case(lambda m, x: m.diff(x, n=0)),
    "diff prepend append": Case(lambda m, x: m.diff(x, axis=0, prepend=x[:1], append=x[-2:])),
    "diff scalar prepend": Case(lambda m, x: m.diff(x, prepend=1)),
    "diff standard": Case(
        lambda m, x: m.diff(x, axis=0, n=2, append=x[:3]),
        lambda m, x: np.diff(x, n=2, axis=0, append=x[:3]),
    ),
    "matrix_transpose": Case(lambda m, x: m.matrix_transpose(x), shape=SHAPE3),
    "linalg.matrix_transpose": Case(lambda m, x: m.linalg.matrix_transpose(x)),
    "diagonal": Case(lambda m, x: m.diagonal(x)),
    "diagonal offset": Case(lambda m, x: m.diagonal(x, -3)),
    "diagonal axes": Case(lambda m, x: m.diagonal(x, 2, 2, 0), shape=SHAPE3),
    "diagonal method": Case(lambda m, x: x.diagonal(1, axis1=-1, axis2=0), shape=SHAPE3),
    "linalg.diagonal": Case(
        lambda m, x: m.linalg.diagonal(x, offset=1),
        lambda m, x: np.diagonal(x, 1, axis1=-2, axis2=-1),
    ),
    "linalg.diagonal stack": Case(
        lambda m, x: la.linalg.diagonal(x, offset=-2) if m is la else np.diagonal(x, -2, 1, 2),
        lambda m, x: np.diagonal(x, -2, 1, 2),
        shape=SHAPE3,
    ),
    "trace": Case(lambda m, x: m.trace(x)),
    "trace offset": Case(lambda m, x: m.trace(x, 5)),
    "trace axes dtype": Case(lambda m, x: m.trace(x, 1, 2, 1, dtype="complex64"), shape=SHAPE3),
    "trace method": Case(lambda m, x: x.trace(-1), shape=SHAPE3),
    "linalg.trace": Case(
        lambda m, x: m.linalg.trace(x, offset=1),
        lambda m, x: np.trace(x, 1, axis1=-2, axis2=-1),
    ),
    "linalg.trace stack": Case(
        lambda m, x: m.linalg.trace(x, dtype=np.float64),
        lambda m, x: np.trace(x, 0, 1, 2, dtype=np.float64),
        shape=SHAPE3,
    ),
    "pad": Case(lambda m, x: m.pad(x, 2)),
    "pad widths": Case(lambda m, x: m.pad(x, ((1, 2), (3, 0)), constant_values=((1, 2), (3, 4)))),
    "pad by axis": Case(lambda m, x: m.pad(x, {-1: (0, 3)}, constant_values=7)),
    "pad edge": Case(lambda m, x: m.pad(x, (2, 5), mode="edge")),
    "pad reflect": Case(lambda m, x: m.pad(x, 4, "reflect")),
    "pad reflect past the axis": Case(lambda m, x: m.pad(x, 45, mode="reflect")),
    "pad symmetric odd": Case(lambda m, x: m.pad(x, 6, "symmetric", reflect_type="odd")),
    "pad wrap": Case(lambda m, x: m.pad(x, ((0, 50), (3, 3)), mode="wrap")),
    "pad linear_ramp": Case(lambda m, x: m.pad(x, 5, "linear_ramp", end_values=(1, 2))),
    "pad maximum": Case(lambda m, x: m.pad(x, 3, mode="maximum")),
    "pad minimum": Case(lambda m, x: m.pad(x, 3, mode="minimum", stat_length=2)),
    "pad mean": Case(lambda m, x: m.pad(x, 4, mode="mean")),
    "pad mean length": Case(lambda m, x: m.pad(x, 4, mode="mean", stat_length=(3, 5))),
    "pad median": Case(lambda m, x: m.pad(x, 3, mode="median", stat_length=4)),
    "pad 3d": Case(lambda m, x: m.pad(x, ((0, 0), (1, 2), (3, 0)), mode="symmetric"), shape=SHAPE3),
    "unstack": Case(lambda m, x: m.unstack(x[:5])),
    "unstack axis": Case(lambda m, x: m.unstack(x[:, :4], axis=-1)),
    "broadcast_arrays": Case(lambda m, x: m.broadcast_arrays(x[:1], x[:, :1], x)),
    "meshgrid": Case(lambda m, x: m.meshgrid(x[0], x[1, :5])),
    "meshgrid ij": Case(lambda m, x: m.meshgrid(x[0, :3], x[1, :4], x[2, :5], indexing="ij")),
    "meshgrid sparse": Case(lambda m, x: m.meshgrid(x[0], x[1, :5], sparse=True)),
    "atleast_1d": Case(lambda m, x: m.atleast_1d(x[0, 0])),
    "atleast_2d": Case(lambda m, x: m.atleast_2d(x[0], x)),
    "atleast_3d": Case(lambda m, x: m.atleast_3d(x[0, 0], x[0], x)),
    "hstack": Case(lambda m, x: m.hstack([x, x[:, :2]])),
    "hstack vectors": Case(lambda m, x: m.hstack((x[0], x[1, :3]))),
    "hstack dtype": Case(lambda m, x: m.hstack([x, x], dtype="complex128")),
    "vstack": Case(lambda m, x: m.vstack([x[0], x[1]])),
    "dstack": Case(lambda m, x: m.dstack([x, x])),
    "column_stack": Case(lambda m, x: m.column_stack([x[0], x[1], x[:2].T])),
    "split": Case(lambda m, x: m.split(x[:36], 4)),
    "split indices": Case(lambda m, x: m.split(x, [3, 10, -2], axis=1)),
    "array_split": Case(lambda m, x: m.array_split(x, 5, axis=1)),
}

MASKED_CASES: dict[str, Callable[[Any, Any], Any]] = {
    "roll": lambda m, x: m.roll(x, 3, axis=1),
    "tile": lambda m, x: m.tile(x, (2, 1)),
    "repeat": lambda m, x: m.repeat(x, 2, axis=0),
    "repeat counts": lambda m, x: m.repeat(x, np.arange(41) % 3, axis=1),
    "tril": lambda m, x: m.tril(x, 1),
    "triu": lambda m, x: m.triu(x),
    "diff": lambda m, x: m.diff(x, axis=0),
    "take_along_axis": lambda m, x: m.take_along_axis(x, INDICES, axis=1),
    "matrix_transpose": lambda m, x: m.matrix_transpose(x),
    "diagonal": lambda m, x: m.diagonal(x, 1),
    "trace": lambda m, x: m.trace(x),
    "unstack": lambda m, x: m.unstack(x[:3]),
    "broadcast_arrays": lambda m, x: m.broadcast_arrays(x, x[:1]),
    "hstack": lambda m, x: m.hstack([x, x]),
}


class _NumpyMa:
    """numpy.ma, plus the functions it lacks applied to data and mask alike."""

    def __getattr__(self, name: str) -> Any:
        if hasattr(np.ma, name):
            return getattr(np.ma, name)
        function = getattr(np, name)

        def run(*args: Any, **kwargs: Any) -> Any:
            data = function(*[_part(a, np.ma.getdata) for a in args], **kwargs)
            mask = function(*[_part(a, np.ma.getmaskarray) for a in args], **kwargs)
            if isinstance(data, tuple):  # unstack's views
                return tuple(map(np.ma.MaskedArray, data, mask))
            return np.ma.MaskedArray(data, mask=mask)

        return run


def _part(value: Any, part: Callable[[Any], Any]) -> Any:
    """The data or the mask of a masked array; other arguments as they are."""
    return part(value) if isinstance(value, np.ma.MaskedArray) else value


NUMPY_MA = _NumpyMa()


def _results(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (tuple, list)) else [value]


def _check_types(lazy: list[Any], expected: list[Any]) -> None:
    """The types predicted when written are those computed: dtype, rank, known sizes."""
    assert len(lazy) == len(expected)
    for proxy, value in zip(lazy, expected, strict=True):
        assert proxy.dtype == value.dtype, (proxy.dtype, value.dtype)
        assert proxy.ndim == np.ndim(value)
        for size, wanted in zip(proxy.shape, np.shape(value), strict=True):
            assert size in (None, wanted)


def _compare(case: Case, data: np.ndarray[Any, Any], backend: str) -> None:
    expected = _results(case.expected(np, data.copy()))
    with la.config.set(backend="refuse", implicit_compute="error"):
        lazy = _results(case.build(la, la.Array(data)))
        _check_types(lazy, expected)
    for proxy, value in zip(lazy, expected, strict=True):
        assert_same(proxy.compute(backend=backend), value)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", CASES)
def test_case_matches_numpy(name: str, dtype: str, backend: str) -> None:
    case = CASES[name]
    _compare(case, sample(dtype, case.shape), backend)


@pytest.mark.parametrize("name", MASKED_CASES)
def test_masked_case_matches_numpy_ma(name: str, backend: str) -> None:
    build = MASKED_CASES[name]
    data = masked_sample("float64", SHAPE)
    expected = _results(build(NUMPY_MA, data.copy()))
    with la.config.set(backend="refuse", implicit_compute="error"):
        lazy = _results(build(la, la.MaskedArray(data)))
        _check_types(lazy, expected)
    for proxy, value in zip(lazy, expected, strict=True):
        assert proxy.masked == isinstance(value, np.ma.MaskedArray)
        assert_same(proxy.compute(backend=backend), value)


@pytest.mark.parametrize("name", [n for n, c in CASES.items() if c.nep18])
def test_numpy_functions_dispatch_to_the_rows(name: str) -> None:
    """``np.<name>(proxy)`` (NEP 18) builds lazily and equals numpy's."""
    case = CASES[name]
    data = sample("float64", case.shape)
    expected = _results(case.build(np, data.copy()))
    with la.config.set(backend="refuse", implicit_compute="error"):
        lazy = _results(case.build(np, la.Array(data)))
        assert all(isinstance(p, BaseArray) for p in lazy)
    for proxy, value in zip(lazy, expected, strict=True):
        assert_same(proxy.compute(), value)


def ops_exercised() -> set[str]:
    """The rows the cases build (``test_ops_structural`` counts them as covered)."""
    used: set[str] = set()
    for case in CASES.values():
        for proxy in _results(case.build(la, la.Array(sample("float64", case.shape)))):
            used |= {node.op for node in toposort([proxy.node])}
    return used


def test_every_manipulation_row_is_exercised() -> None:
    assert ROWS - ops_exercised() == set()


@pytest.mark.parametrize("name", CASES)
def test_nodes_rebuilt_from_their_attributes_are_themselves(name: str) -> None:
    case = CASES[name]
    proxies = _results(case.build(la, la.Array(sample("int8", case.shape))))
    for node in toposort([p.node for p in proxies]):
        assert apply(node.op, node.inputs, **node.kwargs) is node


def test_equal_requests_are_one_node() -> None:
    x = la.Array(sample("float64", SHAPE))
    assert la.roll(x, 1, axis=-1).node is la.roll(x, 1, axis=1).node
    assert la.tile(x, 2).node is la.tile(x, (1, 2)).node is np.tile(x, [1, 2]).node
    assert la.tril(x, 0).node is la.tril(x).node
    assert la.pad(x, 1).node is la.pad(x, ((1, 1), (1, 1))).node is la.pad(x, (1,)).node
    assert la.pad(x, 1, mode="edge").node is np.pad(x, [[1, 1]] * 2, "edge").node
    assert la.diagonal(x).node is la.linalg.diagonal(x).node is x.diagonal(0, 0, 1).node
    assert la.trace(x).node is la.linalg.trace(x).node is np.trace(x).node
    assert la.take_along_axis(x, INDICES).node is np.take_along_axis(x, INDICES, 1).node


def test_numpys_linalg_diagonal_and_trace_are_the_standards() -> None:
    data = sample("float64", SHAPE3)
    with la.config.set(backend="refuse", implicit_compute="error"):
        diagonal = np.linalg.diagonal(la.Array(data), offset=1)
        trace = np.linalg.trace(la.Array(data), offset=-1, dtype=np.complex64)
    assert_same(diagonal.compute(), np.linalg.diagonal(data, offset=1))
    assert_same(trace.compute(), np.linalg.trace(data, offset=-1, dtype=np.complex64))


def test_the_standard_and_numpy_differ_in_diagonal_and_trace() -> None:
    """``la.diagonal``/``la.trace`` are numpy's (first two axes), ``la.linalg``'s the
    standard's (last two)."""
    data = sample("float64", SHAPE3)
    x = la.Array(data)
    assert la.diagonal(x).shape == np.diagonal(data).shape == (11, 4)
    assert la.linalg.diagonal(x).shape == (4, 9)
    assert la.trace(x).shape == (11,)
    assert la.linalg.trace(x).shape == (4,)
    assert_same(la.linalg.trace(x).compute(), np.trace(data, axis1=1, axis2=2))


def test_results_are_tuples_as_the_standard_says() -> None:
    x = la.Array(sample("float64", SHAPE))
    assert isinstance(la.unstack(x), tuple)
    assert isinstance(la.broadcast_arrays(x, x[0]), tuple)
    assert isinstance(la.meshgrid(x[0], x[1]), tuple)
    assert la.broadcast_arrays() == ()
    assert la.meshgrid() == ()
    assert isinstance(la.split(x, 1), list)  # numpy's


def _shown(function: Callable[..., Any]) -> str:
    """``inspect.signature`` without annotations: what callers may pass."""
    signature = inspect.signature(function)
    plain = [p.replace(annotation=p.empty) for p in signature.parameters.values()]
    return str(signature.replace(parameters=plain, return_annotation=signature.empty))


def test_signatures_take_what_the_standard_and_numpy_pass() -> None:
    assert _shown(la.roll) == "(x, /, shift, axis=None)"
    assert _shown(la.tile) == "(x, /, reps)"
    assert _shown(la.repeat) == "(x, repeats, axis=None)"
    assert _shown(la.tril) == "(x, /, k=0)"
    assert _shown(la.take_along_axis) == "(x, indices, /, axis=-1)"
    assert _shown(la.diff) == "(x, /, n=1, axis=-1, prepend=None, append=None)"
    assert _shown(la.linalg.diagonal) == "(x, /, *, offset=0)"
    assert _shown(la.linalg.trace) == "(x, /, *, offset=0, dtype=None)"
    assert _shown(la.matrix_transpose) == _shown(la.linalg.matrix_transpose) == "(x, /)"
    assert _shown(la.unstack) == "(x, /, *, axis=0)"
    assert _shown(la.meshgrid) == "(*arrays, indexing='xy', copy=True, sparse=False)"


def test_repeat_by_a_lazy_array_has_an_unknown_size(backend: str) -> None:
    data = sample("float64", SHAPE)
    counts = np.arange(37) % 3
    x = la.Array(data)
    lazy = la.repeat(x, la.abs(la.Array(counts)), axis=0)  # known when running
    assert lazy.shape == (None, 41)
    assert la.repeat(x, counts, axis=0).shape == (int(counts.sum()), 41)  # a literal
    assert_same(lazy.compute(backend=backend), np.repeat(data, counts, axis=0))


def test_unknown_sizes_flow_through(backend: str) -> None:
    data = sample("float64", SHAPE)
    x = la.Array(data)
    rows = x[x[:, 0] > 0]
    picked = data[data[:, 0] > 0]
    cases = {
        "tile": (la.tile(rows, (2, 1)), np.tile(picked, (2, 1))),
        "pad": (la.pad(rows, 2, mode="edge"), np.pad(picked, 2, mode="edge")),
        "diff": (la.diff(rows, axis=0), np.diff(picked, axis=0)),
        "roll": (la.roll(rows, 3, axis=0), np.roll(picked, 3, axis=0)),
        "repeat": (la.repeat(rows, 2, axis=0), np.repeat(picked, 2, axis=0)),
        "tril": (la.tril(rows), np.tril(picked)),
    }
    for name, (lazy, expected) in cases.items():
        assert lazy.shape[0] is None, name
        assert_same(lazy.compute(backend=backend), expected)


# --- big arrays: the fused and chunked paths --------------------------------------------

BIG = (500, 400)  # 200,000 elements
BIG_CASES = [
    "roll several",
    "tile",
    "repeat",
    "repeat counts",
    "tril k",
    "take_along_axis",
    "take_along_axis rows",
    "diff n axis",
    "diff prepend append",
    "linalg.matrix_transpose",
    "diagonal offset",
    "trace",
    "pad widths",
    "pad reflect",
    "pad reflect past the axis",
    "pad wrap",
    "pad linear_ramp",
    "pad mean",
    "pad median",
    "unstack",
    "meshgrid",
    "hstack",
    "array_split",
]
BIG_INDICES = np.random.default_rng(8).integers(-400, 400, BIG)
BIG_ROWS = np.argsort(np.random.default_rng(9).random(BIG), axis=0)[:50]


def _big_case(name: str) -> Case:
    """The case on big arrays: its index arrays and counts grown to fit."""
    replaced = {
        "take_along_axis": Case(lambda m, x: m.take_along_axis(x, BIG_INDICES, axis=1)),
        "take_along_axis rows": Case(lambda m, x: m.take_along_axis(x, BIG_ROWS, axis=0)),
        "repeat counts": Case(lambda m, x: m.repeat(x, np.arange(500) % 3, axis=0)),
    }
    return replaced.get(name, CASES[name])


@pytest.fixture(params=["numpy", "dask"])
def big_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.mark.parametrize("dtype", ["float64", "int8"])
@pytest.mark.parametrize("name", BIG_CASES)
def test_big_case_matches_numpy(name: str, dtype: str, big_backend: str) -> None:
    case = _big_case(name)
    shape = BIG if case.shape == SHAPE else (20, 100, 100)
    data = sample(dtype, shape, seed=1)
    assert data.size >= 200_000
    _compare(case, data, big_backend)


@pytest.mark.parametrize(
    ("shape", "axes"),
    [((8, 300, 300), (1, 2)), ((300, 300, 8), (0, 1)), ((300, 8, 300), (2, 0))],
    ids=["pairwise along the diagonal", "in order, across the rows", "in order, reversed"],
)
def test_big_traces_add_in_numpys_order(
    shape: tuple[int, ...], axes: tuple[int, int], big_backend: str
) -> None:
    """numpy adds a diagonal pairwise when it is the inner loop, and element after
    element when another axis has the smaller stride: dask's chunks do the same."""
    data = sample("float64", shape, seed=2)
    expected = np.trace(data, 0, *axes)
    with la.config.set(dask_chunk_bytes=1 << 16):  # several chunks along every axis
        assert_same(la.trace(la.Array(data), 0, *axes).compute(backend=big_backend), expected)


# --- properties -----------------------------------------------------------------------

SMALL_INTS = sample("int64", (6, 7))


@settings(max_examples=40)
@given(
    shift=st.integers(-20, 20) | st.tuples(st.integers(-9, 9), st.integers(-9, 9)),
    axis=st.none() | st.integers(-2, 1) | st.just((0, 1)) | st.just((1, 1)),
)
def test_roll_property(shift: Any, axis: Any) -> None:
    try:
        expected = np.roll(SMALL_INTS, shift, axis)
    except ValueError:
        with pytest.raises(ValueError, match=r"broadcast|scalars"):
            la.roll(la.Array(SMALL_INTS), shift, axis)
        return
    assert_same(la.roll(la.Array(SMALL_INTS), shift, axis).compute(), expected)


@settings(max_examples=40)
@given(
    widths=st.integers(0, 9) | st.tuples(st.integers(0, 9), st.integers(0, 9)),
    mode=st.sampled_from(sorted(set(padding_ops.MODES) - {"empty"})),
)
def test_pad_property(widths: Any, mode: str) -> None:
    expected = np.pad(SMALL_INTS, widths, mode)
    for backend in ("numpy", "dask"):
        assert_same(la.pad(la.Array(SMALL_INTS), widths, mode).compute(backend=backend), expected)


@settings(max_examples=40)
@given(
    reps=st.integers(0, 3) | st.lists(st.integers(0, 3), min_size=1, max_size=4),
    counts=st.integers(0, 3) | st.lists(st.integers(0, 3), min_size=7, max_size=7),
    n=st.integers(0, 8),
)
def test_tile_repeat_diff_property(reps: Any, counts: Any, n: int) -> None:
    x = la.Array(SMALL_INTS)
    assert_same(la.tile(x, reps).compute(), np.tile(SMALL_INTS, reps))
    assert_same(la.repeat(x, counts, axis=1).compute(), np.repeat(SMALL_INTS, counts, axis=1))
    assert_same(la.diff(x, n, axis=1).compute(), np.diff(SMALL_INTS, n, axis=1))


# --- bad input: numpy's errors, at the user's line --------------------------------------

X = sample("float64", SHAPE)
BAD: list[tuple[Callable[[Any], Any], type, str]] = [
    (lambda x: la.roll(x, (1, 2), axis=(0, 1, 1)), ValueError, "shape mismatch"),
    (lambda x: la.roll(x, 1, axis=2), np.exceptions.AxisError, "out of bounds"),
    (lambda x: la.roll(x, 1.5), TypeError, "cannot be interpreted as an integer"),
    (lambda x: la.tile(x, -1), ValueError, "negative dimensions are not allowed"),
    (lambda x: la.tile(x, 1.5), TypeError, "cannot be interpreted as an integer"),
    (lambda x: la.repeat(x, -1), ValueError, "negative dimensions are not allowed"),
    (lambda x: la.repeat(x, [1, -2], axis=1), ValueError, "broadcast"),
    (lambda x: la.repeat(x, [-1] * 41, axis=1), ValueError, "may not contain negative"),
    (lambda x: la.repeat(x, 1.5), TypeError, "Cannot cast array data"),
    (lambda x: la.repeat(x, [[1]], axis=0), ValueError, "sequence"),
    (lambda x: la.repeat(x, 2, axis=2), np.exceptions.AxisError, "out of bounds"),
    (lambda x: la.tril(x[0, 0]), TypeError, "missing 1 required positional argument"),
    (lambda x: la.take_along_axis(x, INDICES[0], axis=1), ValueError, "same number of dim"),
    (lambda x: la.take_along_axis(x, x, axis=1), IndexError, "must be an integer array"),
    (lambda x: la.take_along_axis(x, INDICES + 50, axis=1), IndexError, "out of bounds"),
    (lambda x: la.take_along_axis(x, INDICES[:2], axis=None), ValueError, "single dimension"),
    (lambda x: la.take_along_axis(x, INDICES[:3, :2], axis=1), IndexError, "shape mismatch"),
    (lambda x: la.diff(x, n=-1), ValueError, "order must be non-negative"),
    (lambda x: la.diff(x[0, 0]), ValueError, "at least one dimensional"),
    (lambda x: la.diff(x, axis=2), np.exceptions.AxisError, "out of bounds"),
    (lambda x: la.matrix_transpose(x[0]), ValueError, "at least 2-dimensional"),
    (lambda x: la.diagonal(x, 0, 0, 0), ValueError, "axis1 and axis2 cannot be the same"),
    (lambda x: la.diagonal(x, 0, 0, 3), np.exceptions.AxisError, "axis2: axis 3 is out"),
    (lambda x: la.diagonal(x[0]), ValueError, "at least two dimensions"),
    (lambda x: la.linalg.diagonal(x[0]), ValueError, "at least two dimensions"),
    (lambda x: la.trace(x[0]), ValueError, "at least two dimensions"),
    (lambda x: np.trace(x, out=np.zeros(())), TypeError, "out= is not supported"),
    (lambda x: la.pad(x, 1, mode="foo"), ValueError, "mode 'foo' is not supported"),
    (lambda x: la.pad(x, 1, mode="edge", constant_values=0), ValueError, "unsupported keyword"),
    (lambda x: la.pad(x, -1), ValueError, "negative values"),
    (lambda x: la.pad(x, 1.5), TypeError, "must be of integral type"),
    (lambda x: la.pad(x, ((1, 2), (1, 2), (1, 1))), ValueError, "broadcast"),
    (lambda x: la.pad(x[:0], 1, mode="edge"), ValueError, "can't extend empty axis 0"),
    (lambda x: la.pad(x, 1, mode="maximum", stat_length=0), ValueError, "stat_length of 0"),
    (lambda x: la.pad(x, 1, mode=np.sum), TypeError, "function as mode"),
    (lambda x: la.pad(la.MaskedArray(np.ma.masked_invalid(X)), 1), TypeError, "masked"),
    (lambda x: la.unstack(x[0, 0]), ValueError, "at least 1-d"),
    (lambda x: la.unstack(x[x > 0]), TypeError, "known only when running"),
    (lambda x: la.broadcast_arrays(x, x[:2]), ValueError, "shape mismatch"),
    (lambda x: la.meshgrid(x[0], indexing="yx"), ValueError, "'xy' and 'ij'"),
    (lambda x: la.split(x, 2), ValueError, "equal division"),
    (lambda x: la.array_split(x, 0), ValueError, "larger than 0"),
    (lambda x: la.hstack([x, x], dtype="int8"), TypeError, "Cannot cast array data"),
]


@pytest.mark.parametrize(("build", "error", "message"), BAD)
def test_bad_input_fails_when_written(build: Any, error: type, message: str) -> None:
    with (
        la.config.set(backend="refuse", implicit_compute="error"),
        pytest.raises(error, match=message) as info,
    ):
        build(la.Array(X))
    assert isinstance(info.value, la.errors.LazyArrayError)
    assert "test_ops_manipulation.py" in str(info.value)


def test_every_row_is_documented_as_a_public_function() -> None:
    public = set(la.__all__) | {f"linalg.{n}" for n in la.linalg.__all__}
    for name in ROWS - {"diff"}:  # diff's function is a composite
        assert name in public or OPS[name].method, name
    for name in ("diff", "unstack", "broadcast_arrays", "meshgrid", "hstack", "split"):
        assert name in public
    assert {"diagonal", "trace", "matrix_transpose"} <= set(la.linalg.__all__)
