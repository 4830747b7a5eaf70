"""Random expression graphs (hypothesis) against numpy eager.

A drawn expression is a tree evaluated twice by one interpreter: once with numpy on
ndarrays / numpy.ma arrays, once with lazyarray on proxies, in every mode on both backends
(tests.conftest.RUNS). Inputs include NaN, inf and -0.0, float32 and float64 (so promotion
is exercised), masked and not, large enough to run in several blocks and chunks.

Results are exact except where a floating reduction (computed blockwise) feeds them: there
numpy's tree is evaluated again with each such reduction moved to the ends of its bound
(tests.kit.reduction_bound), and the result may differ from numpy's by as much as those
evaluations do: a tolerance scaled to the inputs' magnitude and carried through the ops'
conditioning, never a fixed one.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import lazyarray as la
from lazyarray.errors import UnsupportedOperation
from lazyarray.graph import toposort
from lazyarray.ops import OPS, Kind
from tests import kit
from tests.conftest import RUNS, forced

SHAPE = (19, 23)  # 437 elements: several blocks of 1 KiB in float32 and float64


def _accepts_floats(name: str, arity: int) -> bool:
    ufunc = OPS[name].impl
    try:
        ufunc.resolve_dtypes((np.dtype(np.float64),) * arity + (None,))
    except TypeError:
        return False
    return True


def _float_ufuncs(arity: int) -> list[str]:
    return sorted(
        name
        for name, row in OPS.items()
        if row.kind is Kind.ELEMENTWISE
        and row.arity == arity
        and isinstance(row.impl, np.ufunc)
        and _accepts_floats(name, arity)
    )


UNARY = _float_ufuncs(1)
BINARY = _float_ufuncs(2)
REDUCTIONS = ["sum", "mean", "max", "min", "std", "var", "prod", "median"]


def expressions(leaves: int) -> st.SearchStrategy[Any]:
    leaf = st.tuples(st.just("leaf"), st.integers(0, leaves - 1))

    def extend(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        return st.one_of(
            st.tuples(st.just("unary"), st.sampled_from(UNARY), children),
            st.tuples(st.just("binary"), st.sampled_from(BINARY), children, children),
            st.tuples(
                st.just("scalar"),
                st.sampled_from(["add", "multiply", "subtract", "divide", "power"]),
                children,
                st.floats(-3, 3, allow_nan=False) | st.integers(-3, 3),
            ),
            st.tuples(
                st.just("reduce"), st.sampled_from(REDUCTIONS), children, st.sampled_from([0, 1])
            ),
            st.tuples(st.just("where"), children, children, children),
            st.tuples(st.just("flip"), children, st.sampled_from([0, 1])),
            st.tuples(st.just("sort"), children, st.sampled_from([0, 1])),
            st.tuples(st.just("reverse"), children),
            st.tuples(st.just("split_join"), children),
        )

    return st.recursive(leaf, extend, max_leaves=12)


def evaluate(tree: Any, m: Any, leaves: list[Any], shifts: Any = None) -> Any:
    """Interprets a tree with module ``m`` (numpy or lazyarray). With ``shifts`` (numpy
    only), the i-th floating reduction's value moves by ``shifts(i)`` times its bound."""
    count = itertools.count()

    def walk(node: Any) -> Any:
        if node[0] == "leaf":
            return leaves[node[1]]
        args = [walk(t) if isinstance(t, tuple) else t for t in node[1:]]
        value = _apply(node[0], m, args)
        if node[0] == "reduce" and shifts is not None:
            shift = shifts(next(count))
            bound = kit.reduction_bound(args[0], args[1], axis=args[2], keepdims=True)
            if bound is not None and shift:
                with np.errstate(all="ignore"):
                    value = (value + shift * bound).astype(value.dtype)
        return value

    return walk(tree)


def _apply(kind: str, m: Any, args: list[Any]) -> Any:
    if kind == "unary":
        return getattr(m, args[0])(args[1])
    if kind == "binary":
        return getattr(m, args[0])(args[1], args[2])
    if kind == "scalar":
        return getattr(m, args[0])(args[1], args[2])
    if kind == "reduce":
        x, name, axis = args[1], args[0], args[2]
        if name == "median":
            median = np.ma.median if isinstance(x, np.ma.MaskedArray) else m.median
            return median(x, axis=axis, keepdims=True)
        return getattr(x, name)(axis=axis, keepdims=True)
    if kind == "where":
        masked = any(isinstance(a, np.ma.MaskedArray) for a in args)
        where = np.ma.where if m is np and masked else m.where
        return where(args[0] > args[1], args[1], args[2])
    if kind == "flip":
        return m.flip(args[0], axis=args[1])
    if kind == "sort":  # np.sort: NEP 18 for lazyarray; masked values last, as numpy.ma
        return np.sort(args[0], axis=args[1], kind="stable")
    if kind == "reverse":
        return args[0][::-1, ::-2]
    if kind == "split_join":
        x = args[0]
        join = np.ma.concatenate if isinstance(x, np.ma.MaskedArray) else m.concatenate
        return join([x[:, :1], x[:, 1:]], axis=1)
    raise AssertionError(kind)


def _leaf(dtype: Any) -> st.SearchStrategy[Any]:
    return hnp.arrays(dtype, SHAPE, elements=st.floats(allow_subnormal=False, width=32))


@st.composite
def inputs(draw: st.DrawFn) -> tuple[Any, list[Any]]:
    count = draw(st.integers(1, 3))
    leaves = []
    for _ in range(count):
        if draw(st.integers(0, 4)) == 0:  # a lazily generated source
            leaves.append(RandomLeaf(draw(st.integers(0, 2**16))))
            continue
        data = draw(_leaf(draw(st.sampled_from([np.float32, np.float64]))))
        if draw(st.booleans()):
            mask = draw(hnp.arrays(np.bool_, SHAPE))
            leaves.append(np.ma.MaskedArray(data, mask=mask))
        else:
            leaves.append(data)
    return draw(expressions(count)), leaves


class RandomLeaf:
    """A seeded random source: lazy for lazyarray, its computed values for numpy."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def lazy(self) -> Any:
        return la.random.default_rng(self.seed).normal(size=SHAPE)

    def __repr__(self) -> str:
        return f"RandomLeaf({self.seed})"

    def copy(self) -> Any:
        return self.lazy().compute()


def _lazy(leaf: Any) -> Any:
    if isinstance(leaf, RandomLeaf):
        return leaf.lazy()
    return la.MaskedArray(leaf) if isinstance(leaf, np.ma.MaskedArray) else la.Array(leaf)


def _has_masked_median(lazy: Any) -> bool:
    return any(node.op == "median" and node.inputs[0].type.masked for node in toposort([lazy.node]))


@pytest.mark.values_only  # the plans: test_a_pushed_slice_shares_its_literal below
@given(inputs())
def test_random_graphs_match_numpy(drawn: tuple[Any, list[Any]]) -> None:
    check_values(drawn, RUNS)


def test_an_arccos_kernel_is_exact() -> None:  # drawn once by the test above: 1 ulp off
    tree = ("unary", "absolute", ("reverse", ("unary", "arccos", ("leaf", 0))))
    check_values((tree, [RandomLeaf(0)]), [("numpy", "kernels")])


def test_a_pushed_slice_shares_its_literal() -> None:
    data = [np.linspace(-1, 1, 437).reshape(SHAPE), np.zeros(SHAPE)]
    check_values((("split_join", ("where", ("leaf", 0), ("leaf", 0), ("leaf", 1))), data), RUNS)


def check_values(drawn: tuple[Any, list[Any]], runs: list[tuple[str, str]]) -> None:
    tree, leaves = drawn
    try:
        expected = evaluate(tree, np, [leaf.copy() for leaf in leaves])
    except (TypeError, ValueError) as exc:  # numpy refuses the combination
        refused = TypeError if isinstance(exc, TypeError) else ValueError
        try:
            result = evaluate(tree, la, [_lazy(leaf) for leaf in leaves])
        except refused:
            return
        raise AssertionError(f"numpy refused with {exc!r}, lazyarray did not: {result}") from None
    with la.config.set(backend="refuse", implicit_compute="error"):
        lazy = evaluate(tree, la, [_lazy(leaf) for leaf in leaves])
        assert lazy.shape == np.shape(expected)
        assert lazy.dtype == np.asarray(expected).dtype
    with la.config.set(block_bytes=1024, dask_chunk_bytes=1024):  # the bounds of most blocks
        compare = _comparison(tree, leaves, expected)
    for backend, mode in runs:
        with forced(mode):
            try:
                result = lazy.compute(backend=backend, cache=False)
            except UnsupportedOperation:  # only the gaps a backend declares
                assert backend == "dask" and _has_masked_median(lazy)
                continue
            compare(result)


# the floating reductions moved together, then in alternation
SHIFTS = [lambda i: 1, lambda i: -1, lambda i: (-1) ** i, lambda i: -((-1) ** i)]


def _comparison(tree: Any, leaves: list[Any], expected: Any) -> Any:
    """What a result must equal: numpy's, exactly where no floating reduction moves it;
    elsewhere within how far moving the reductions within their bounds moves numpy's
    result; anything where that changes whether it is finite or masked."""
    if expected is np.ma.masked:
        return lambda result: kit.assert_exact(result, expected)
    wanted = np.ma.getdata(expected)
    mask = np.ma.getmaskarray(expected)
    bound = np.zeros(np.shape(wanted))
    free = np.zeros(np.shape(wanted), bool)
    with np.errstate(all="ignore"):
        for shift in SHIFTS:
            moved = evaluate(tree, np, [leaf.copy() for leaf in leaves], shift)
            values = np.ma.getdata(moved)
            free |= np.ma.getmaskarray(moved) != mask
            free |= np.isfinite(values) != np.isfinite(wanted)
            error = np.abs(values.astype(np.complex128) - wanted).real
            bound = np.fmax(bound, np.where(np.isfinite(wanted), error, 0))
    free = free & ~mask if isinstance(expected, np.ma.MaskedArray) else free

    def compare(result: Any) -> None:
        if isinstance(expected, np.ma.MaskedArray):
            assert isinstance(result, np.ma.MaskedArray), type(result)
            got_mask = np.ma.getmaskarray(result)
            np.testing.assert_array_equal(got_mask | free, mask | free, err_msg="mask")
            unmasked = ~(got_mask | mask)
        else:
            unmasked = np.ones(np.shape(wanted), bool)
        data = np.ma.getdata(result)
        assert np.shape(data) == np.shape(wanted) and data.dtype == wanted.dtype
        take = unmasked & ~free
        kit.assert_within(np.asarray(data)[take], np.asarray(wanted)[take], bound[take])

    return compare


@given(inputs())
def test_building_twice_gives_the_same_node(drawn: tuple[Any, list[Any]]) -> None:
    tree, leaves = drawn
    lazy_leaves = [_lazy(leaf) for leaf in leaves]
    try:
        first = evaluate(tree, la, lazy_leaves)
    except (TypeError, ValueError):
        return
    assert evaluate(tree, la, lazy_leaves).node is first.node
