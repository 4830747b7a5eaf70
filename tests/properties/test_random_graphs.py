"""Random expression graphs (hypothesis) against numpy eager.

A drawn expression is a tree evaluated twice by one interpreter: once with numpy on
ndarrays / numpy.ma arrays, once with lazyarray on proxies. Inputs include NaN, inf and
-0.0, float32 and float64 (so promotion is exercised), masked and not.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import lazyarray as la
from lazyarray.errors import UnsupportedOperation
from lazyarray.graph import toposort
from lazyarray.ops import OPS, Kind
from tests.conftest import BACKENDS, MODES, assert_same

SHAPE = (3, 4)


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
            st.tuples(st.just("reverse"), children),
            st.tuples(st.just("split_join"), children),
        )

    return st.recursive(leaf, extend, max_leaves=12)


def evaluate(tree: Any, m: Any, leaves: list[Any]) -> Any:
    """Interprets a tree with module ``m`` (numpy or lazyarray)."""
    kind = tree[0]
    if kind == "leaf":
        return leaves[tree[1]]
    args = [evaluate(t, m, leaves) if isinstance(t, tuple) else t for t in tree[1:]]
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


@given(inputs())
def test_random_graphs_match_numpy(drawn: tuple[Any, list[Any]]) -> None:
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
    # float32 steps inside a float64 result may differ in their last bit (numpy's SIMD
    # and scalar loops disagree), so such graphs are compared at float32 precision
    narrow = any(getattr(leaf, "dtype", None) == np.float32 for leaf in leaves)
    for backend in BACKENDS:
        for mode in MODES.values():  # optimized, kernels, unoptimized: all equal numpy
            with la.config.set(**mode):
                try:
                    result = lazy.compute(backend=backend, cache=False)
                except UnsupportedOperation:  # only the gaps a backend declares
                    assert backend == "dask" and _has_masked_median(lazy)
                    continue
                assert_same(result, expected, 1e-5 if narrow else None)


@given(inputs())
def test_building_twice_gives_the_same_node(drawn: tuple[Any, list[Any]]) -> None:
    tree, leaves = drawn
    lazy_leaves = [_lazy(leaf) for leaf in leaves]
    try:
        first = evaluate(tree, la, lazy_leaves)
    except (TypeError, ValueError):
        return
    assert evaluate(tree, la, lazy_leaves).node is first.node
