"""The linear algebra rows against numpy: numpy.linalg, the array API's linalg extension,
``outer``, ``kron``, ``vecdot``, ``cross``.

Each case is written once for both modules: ``case(np, *arrays)`` is the reference,
``case(la, *proxies)`` the lazy version and ``case(np, *proxies)`` numpy's dispatch to
lazyarray (NEP 18). Where the standard and numpy differ (``pinv``'s default tolerance,
``eig``'s complex results), the case names the standard's reference. Equal means
(``tests/kit.py``):

- bit for bit wherever numpy's own function runs: on the numpy backend, and on dask for
  each chunk of a stack of matrices (the matrices whole in one chunk);
- within a bound derived from the inputs where dask runs its own algorithm: norms are
  tree reductions (the bound of their sums, ``kit.sum_factor``), and one matrix in
  several chunks is factored by tall-and-skinny QR: its results, brought to numpy's
  signs (phases), are within ``condition number * eps * size`` (singular values: within
  ``eps * size * largest``, their vectors divided by the gap to the nearest one).
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lazyarray as la
from lazyarray.errors import ComputeError, LinAlgError, UnsupportedOperation
from lazyarray.graph import toposort
from lazyarray.ops import apply, decompositions, matrix, products
from lazyarray_dask.lower import chunks_for
from tests import kit
from tests.conftest import assert_same

FLOATS = ("float32", "float64", "complex64", "complex128")
STACK = (2, 3, 4, 4)
SQUARE = (5, 5)
RECTANGLES = (2, 7, 4)
TALL = (40, 6)  # several chunks of 1 KiB: dask factors it by tall-and-skinny QR
WIDE = (6, 40)

FAMILY = {row.name for module in (matrix, decompositions, products) for row in module.ROWS}
FAMILY |= {"matmul", "tensordot"}  # linalg.matmul, linalg.tensordot: the shared rows


# --- inputs ----------------------------------------------------------------------------


def random(dtype: str, shape: tuple[int, ...], seed: int = 0) -> np.ndarray[Any, Any]:
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind in "iub":
        values = rng.integers(-4, 5, size=shape)
        if len(shape) >= 2 and shape[-1] == shape[-2]:
            values = values + 12 * np.eye(shape[-1], dtype=int)  # far from singular
        return values.astype(dtype)
    values = rng.normal(size=shape)
    if np.dtype(dtype).kind == "c":
        values = values + 1j * rng.normal(size=shape)
    return values.astype(dtype)


def adjoint(x: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    return np.conj(np.swapaxes(x, -1, -2))


Inputs = Callable[[str], list[np.ndarray[Any, Any]]]


def general(*shapes: tuple[int, ...]) -> Inputs:
    return lambda dtype: [random(dtype, shape, seed) for seed, shape in enumerate(shapes)]


def hermitian(shape: tuple[int, ...]) -> Inputs:
    def make(dtype: str) -> list[np.ndarray[Any, Any]]:
        x = random(dtype, shape)
        return [((x + adjoint(x)) / 2).astype(dtype)]

    return make


def positive(shape: tuple[int, ...]) -> Inputs:
    def make(dtype: str) -> list[np.ndarray[Any, Any]]:
        x = random(dtype, shape)
        return [(x @ adjoint(x) + shape[-1] * np.eye(shape[-1])).astype(dtype)]

    return make


def low_rank(shape: tuple[int, ...], rank: int) -> Inputs:
    def make(dtype: str) -> list[np.ndarray[Any, Any]]:
        left = random(dtype, shape[:-1] + (rank,), 1)
        right = random(dtype, shape[:-2] + (rank, shape[-1]), 2)
        return [(left @ right).astype(dtype)]

    return make


def complex_results(function: Callable[..., Any]) -> Callable[..., Any]:
    """The standard's eig/eigvals: numpy's values, complex whatever they are."""

    def reference(*data: Any) -> Any:
        result = function(*data)
        parts = result if isinstance(result, tuple) else (result,)
        converted = [p.astype(np.result_type(p.dtype, np.complex64)) for p in parts]
        return type(result)(*converted) if isinstance(result, tuple) else converted[0]

    return reference


# --- cases -----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Case:
    build: Callable[..., Any]  # (module, *arrays) -> an array, or a tuple of them
    inputs: Inputs
    dtypes: tuple[str, ...] = FLOATS
    standard: Callable[..., Any] | None = None  # la's reference where numpy's differs
    dispatched: Callable[..., Any] | None = None  # np.<f>(proxy)'s, where not numpy's
    nep18: bool = True
    # "norm": dask reduces; "qr", "svd", "svdvals": dask factors; "products": dask sums
    # products (in chunks laid out unlike numpy's arrays: BLAS picks other kernels)
    compare: str = "exact"
    order: float = 2  # a norm's order (its bound)
    magnitude: Callable[..., Any] | None = None  # products: the sums of |products|


def _pinv_standard(x: Any) -> Any:
    """The standard's default tolerance, max(M, N) * eps of the float type computed in
    (numpy's ``rtol=None`` takes the input's, refusing integers)."""
    return np.linalg.pinv(x if x.dtype.kind in "fc" else x.astype(np.float64), rtol=None)


CASES: dict[str, Case] = {
    "inv": Case(lambda m, x: m.linalg.inv(x), general(STACK)),
    "inv single": Case(lambda m, x: m.linalg.inv(x), general(SQUARE)),
    "inv int": Case(lambda m, x: m.linalg.inv(x), general(SQUARE), ("int64",)),
    "det": Case(lambda m, x: m.linalg.det(x), general(STACK)),
    "det int": Case(lambda m, x: m.linalg.det(x), general(STACK), ("int64",)),
    "slogdet": Case(lambda m, x: m.linalg.slogdet(x), general(STACK)),
    "cholesky": Case(lambda m, x: m.linalg.cholesky(x), positive(STACK)),
    "cholesky upper": Case(lambda m, x: m.linalg.cholesky(x, upper=True), positive(STACK)),
    "eigh": Case(lambda m, x: m.linalg.eigh(x), hermitian(STACK)),
    "eigh upper": Case(lambda m, x: m.linalg.eigh(x, "U"), hermitian(STACK)),
    "eigvalsh": Case(lambda m, x: m.linalg.eigvalsh(x), hermitian(STACK)),
    "eigvalsh upper": Case(lambda m, x: m.linalg.eigvalsh(x, UPLO="U"), hermitian(STACK)),
    "eig": Case(
        lambda m, x: m.linalg.eig(x),
        general(STACK),
        FLOATS + ("int64",),
        complex_results(np.linalg.eig),
        complex_results(np.linalg.eig),
    ),
    "eigvals": Case(
        lambda m, x: m.linalg.eigvals(x),
        general(SQUARE),
        FLOATS,
        complex_results(np.linalg.eigvals),
        complex_results(np.linalg.eigvals),
    ),
    "qr": Case(lambda m, x: m.linalg.qr(x), general(TALL), compare="qr"),
    "qr stack": Case(lambda m, x: m.linalg.qr(x), general(RECTANGLES)),
    "qr complete": Case(lambda m, x: m.linalg.qr(x, mode="complete"), general(RECTANGLES)),
    "qr wide": Case(lambda m, x: m.linalg.qr(x), general(WIDE)),
    "qr r": Case(lambda m, x: m.linalg.qr(x, mode="r"), general(TALL)),
    "qr raw": Case(lambda m, x: m.linalg.qr(x, mode="raw"), general(RECTANGLES)),
    "qr int": Case(lambda m, x: m.linalg.qr(x), general((3, 4)), ("int64",)),
    "svd": Case(lambda m, x: m.linalg.svd(x), general(RECTANGLES)),
    "svd tall": Case(
        lambda m, x: m.linalg.svd(x, full_matrices=False), general(TALL), compare="svd"
    ),
    "svd wide": Case(lambda m, x: m.linalg.svd(x, False), general(WIDE), compare="svd"),
    "svd hermitian": Case(lambda m, x: m.linalg.svd(x, hermitian=True), hermitian(STACK)),
    "svd no uv": Case(lambda m, x: m.linalg.svd(x, compute_uv=False), general(RECTANGLES)),
    "svdvals": Case(lambda m, x: m.linalg.svdvals(x), general(TALL), compare="svdvals"),
    "svdvals stack": Case(lambda m, x: m.linalg.svdvals(x), general(RECTANGLES)),
    "pinv": Case(lambda m, x: m.linalg.pinv(x), general(RECTANGLES), standard=_pinv_standard),
    "pinv rtol": Case(lambda m, x: m.linalg.pinv(x, rtol=0.3), general(RECTANGLES)),
    "pinv rcond hermitian": Case(lambda m, x: m.linalg.pinv(x, 0.2, True), hermitian(STACK)),
    "pinv int": Case(
        lambda m, x: m.linalg.pinv(x), general(SQUARE), ("int64",), standard=_pinv_standard
    ),
    "matrix_rank": Case(lambda m, x: m.linalg.matrix_rank(x), low_rank(STACK, 2)),
    "matrix_rank rtol": Case(lambda m, x: m.linalg.matrix_rank(x, rtol=0.4), general(STACK)),
    "matrix_rank tol hermitian": Case(
        lambda m, x: m.linalg.matrix_rank(x, 1.0, True), hermitian(STACK)
    ),
    "matrix_rank vector": Case(lambda m, x: m.linalg.matrix_rank(x[0, 0, 0]), general(STACK)),
    "matrix_power": Case(lambda m, x: m.linalg.matrix_power(x, 3), general(STACK)),
    "matrix_power 0": Case(lambda m, x: m.linalg.matrix_power(x, 0), general(STACK)),
    "matrix_power -2": Case(lambda m, x: m.linalg.matrix_power(x, -2), general(STACK)),
    "matrix_power int": Case(lambda m, x: m.linalg.matrix_power(x, 3), general(STACK), ("int64",)),
    "matrix_norm": Case(lambda m, x: m.linalg.matrix_norm(x), general(TALL), compare="norm"),
    "matrix_norm keepdims": Case(
        lambda m, x: m.linalg.matrix_norm(x, keepdims=True), general(RECTANGLES), compare="norm"
    ),
    **{
        f"matrix_norm {order}": Case(
            lambda m, x, order=order: m.linalg.matrix_norm(x, ord=order),
            general(RECTANGLES),
            compare="norm",
        )
        for order in ("nuc", 1, -1, 2, -2, np.inf, -np.inf)
    },
    "matrix_norm int": Case(
        lambda m, x: m.linalg.matrix_norm(x, ord=1), general(STACK), ("int64",), compare="norm"
    ),
    "vector_norm": Case(lambda m, x: m.linalg.vector_norm(x), general(TALL), compare="norm"),
    "vector_norm axis": Case(
        lambda m, x: m.linalg.vector_norm(x, axis=-1), general(TALL), compare="norm"
    ),
    "vector_norm axes in order": Case(
        lambda m, x: m.linalg.vector_norm(x, axis=(2, 0), keepdims=True),
        general(RECTANGLES),
        compare="norm",
    ),
    **{
        f"vector_norm {order}": Case(
            lambda m, x, order=order: m.linalg.vector_norm(x, axis=0, ord=order),
            general(TALL),
            compare="norm",
            order=order,
        )
        for order in (1, np.inf, -np.inf, 0, 3, -1, 0.5)
    },
    "vector_norm int": Case(
        lambda m, x: m.linalg.vector_norm(x), general(TALL), ("int64", "bool"), compare="norm"
    ),
    "norm": Case(lambda m, x: m.linalg.norm(x), general(TALL), compare="norm"),
    "norm fro": Case(lambda m, x: m.linalg.norm(x, "fro"), general(TALL), compare="norm"),
    "norm 2": Case(lambda m, x: m.linalg.norm(x, 2), general(TALL), compare="norm"),
    "norm nuc axes": Case(
        lambda m, x: m.linalg.norm(x, "nuc", axis=(2, 0)), general(RECTANGLES), compare="norm"
    ),
    "norm axis": Case(
        lambda m, x: m.linalg.norm(x, 3, axis=1), general(TALL), compare="norm", order=3
    ),
    "norm rows and columns": Case(
        lambda m, x: m.linalg.norm(x, 1, axis=(1, 0), keepdims=True), general(TALL), compare="norm"
    ),
    "norm vector inf": Case(
        lambda m, x: m.linalg.norm(x[0], np.inf), general(TALL), compare="norm"
    ),
    "solve": Case(lambda m, a, b: m.linalg.solve(a, b), general(STACK, STACK[:-1] + (2,))),
    "solve vector": Case(lambda m, a, b: m.linalg.solve(a, b), general(STACK, (4,))),
    "solve broadcast": Case(lambda m, a, b: m.linalg.solve(a, b), general((2, 1, 4, 4), (3, 4, 2))),
    "solve int": Case(lambda m, a, b: m.linalg.solve(a, b), general(SQUARE, (5,)), ("int64",)),
    "outer": Case(lambda m, a, b: m.outer(a, b), general((5,), (3,)), FLOATS + ("int64", "bool")),
    "outer flattens": Case(lambda m, a, b: m.outer(a, b), general((2, 3), (4,))),
    "linalg.outer": Case(lambda m, a, b: m.linalg.outer(a, b), general((5,), (3,))),
    "kron": Case(lambda m, a, b: m.kron(a, b), general((2, 3), (3, 2, 2)), FLOATS + ("int64",)),
    "kron vectors": Case(lambda m, a, b: m.kron(a, b), general((4,), (3,))),
    "kron scalar": Case(lambda m, a, b: m.kron(a, b[0]), general((2, 3), (3,))),
    "vecdot": Case(
        lambda m, a, b: m.vecdot(a, b),
        general((3, 5), (5,)),
        FLOATS + ("int64",),
        compare="products",
        magnitude=lambda a, b: np.vecdot(a, b),
    ),
    # np.vecdot is a ufunc: numpy_protocol dispatches ufuncs called without keywords only
    "vecdot axis": Case(
        lambda m, a, b: m.vecdot(a, b, axis=0),
        general((5, 3), (5, 1)),
        nep18=False,
        compare="products",
        magnitude=lambda a, b: np.vecdot(a, b, axis=0),
    ),
    "linalg.vecdot": Case(
        lambda m, a, b: m.linalg.vecdot(a, b, axis=-2),
        general((2, 5, 3), (5, 3)),
        compare="products",
        magnitude=lambda a, b: np.vecdot(a, b, axis=-2),
    ),
    "cross": Case(lambda m, a, b: m.cross(a, b), general((4, 3), (3,)), FLOATS + ("int64",)),
    "cross axes": Case(
        lambda m, a, b: m.cross(a, b, axisa=0, axisb=1, axisc=0), general((3, 4), (4, 3))
    ),
    "cross axis": Case(lambda m, a, b: m.cross(a, b, axis=0), general((3, 5), (3, 5))),
    "linalg.cross": Case(lambda m, a, b: m.linalg.cross(a, b, axis=-2), general((2, 3, 4), (3, 4))),
    "cross 2-vectors": Case(lambda m, a, b: m.cross(a, b), general((4, 2), (4, 2))),
    "cross 2- and 3-vectors": Case(lambda m, a, b: m.cross(a, b), general((4, 2), (3,))),
    "matmul": Case(
        lambda m, a, b: m.linalg.matmul(a, b),
        general(STACK, (4, 2)),
        compare="products",
        magnitude=np.matmul,
    ),
    "tensordot": Case(
        lambda m, a, b: m.linalg.tensordot(a, b, axes=1),
        general((3, 4), (4, 2)),
        compare="products",
        magnitude=lambda a, b: np.tensordot(a, b, axes=1),
    ),
}


# --- equality ----------------------------------------------------------------------------


def as_tuple(value: Any) -> tuple[Any, ...]:
    return tuple(value) if isinstance(value, tuple) else (value,)


def native(backend: str, x: np.ndarray[Any, Any]) -> bool:
    """Whether dask factors ``x`` itself: one matrix, in several chunks."""
    if backend != "dask" or x.ndim != 2:
        return False
    chunks = chunks_for(x.shape, x.dtype, la.config.snapshot().dask_chunk_bytes)
    return any(len(sizes) > 1 for sizes in chunks)


def phases(values: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """``values / |values|`` (1 where 0): the sign of real numbers."""
    size = np.abs(values)
    return np.where(size == 0, 1, values / np.where(size == 0, 1, size))


def _qr_normal(q: Any, r: Any) -> tuple[Any, Any]:
    """Q and R with R's diagonal real and positive: the one QR of a full-rank matrix."""
    d = phases(np.diagonal(r))
    return (q * d).astype(q.dtype), (np.conj(d)[:, None] * r).astype(r.dtype)


def _svd_normal(u: Any, vh: Any) -> tuple[Any, Any]:
    """Each pair of singular vectors with the largest entry of ``u``'s real and positive."""
    largest = np.abs(u).argmax(axis=0)
    c = np.conj(phases(u[largest, np.arange(u.shape[1])]))
    return (u * c).astype(u.dtype), (np.conj(c)[:, None] * vh).astype(vh.dtype)


def assert_factors(kind: str, actual: tuple[Any, ...], expected: tuple[Any, ...], x: Any) -> None:
    """dask's tall-and-skinny QR against numpy's LAPACK: equal up to phases, within
    condition number * eps * size (QR), eps * size * largest singular value (singular
    values), and that over the gap to the nearest one (singular vectors)."""
    eps = float(np.finfo(expected[0].dtype).eps)
    size = max(x.shape)
    wide = np.asarray(x, dtype=np.complex128)
    singular = np.linalg.svd(wide, compute_uv=False)
    scale = 8 * eps * size
    if kind == "qr":
        condition = singular[0] / singular[-1]
        q, r = _qr_normal(*actual)
        q0, r0 = _qr_normal(*expected)
        kit.assert_within(q, q0, scale * condition)
        kit.assert_within(r, r0, scale * condition * singular[0])
        return
    values_bound = scale * singular[0]
    if kind == "svdvals":
        kit.assert_within(actual[0], expected[0], values_bound)
        return
    u, s, vh = actual
    u0, s0, vh0 = expected
    kit.assert_within(s, s0, values_bound)
    gaps = np.array(
        [
            min([abs(v - w) for j, w in enumerate(singular) if j != i] + [v])
            for i, v in enumerate(singular)
        ]
    )[: len(s0)]
    u, vh = _svd_normal(u, vh)
    u0, vh0 = _svd_normal(u0, vh0)
    kit.assert_within(u, u0, values_bound / gaps)
    kit.assert_within(vh, vh0, (values_bound / gaps)[:, None])


def assert_norm(actual: Any, expected: Any, x: Any, order: float) -> None:
    """A norm reduced in dask's tree: its sum errs by ``sum_factor * eps`` relative to
    the sum of positive terms, which the root ``1/p`` divides by ``|p|``."""
    dtype = np.asarray(expected).dtype
    eps = float(np.finfo(dtype).eps)
    factor = kit.sum_factor(x.size, dtype.itemsize) / (min(abs(order), 1) or 1) + 4
    kit.assert_within(actual, expected, factor * eps * np.abs(expected))


def assert_equal(
    case: Case, backend: str, actual: tuple[Any, ...], expected: tuple[Any, ...], data: list[Any]
) -> None:
    assert len(actual) == len(expected)
    if case.compare in ("qr", "svd", "svdvals") and native(backend, data[0]):
        assert_factors(case.compare, actual, expected, data[0])
    elif case.compare == "norm" and backend == "dask":
        for value, reference in zip(actual, expected, strict=True):
            assert_norm(value, reference, data[0], case.order)
    elif case.compare == "products" and backend == "dask":
        assert case.magnitude is not None
        terms = max(d.shape[-1] for d in data if d.ndim)
        for value, reference in zip(actual, expected, strict=True):
            bound = kit.products_bound(case.magnitude, *data, terms=terms)
            kit.assert_within(value, reference, bound)
    else:
        for value, reference in zip(actual, expected, strict=True):
            kit.assert_exact(value, reference)


def _numpy(case: Case, data: list[Any], standard: bool) -> Any:
    reference = case.standard if standard else case.dispatched
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # numpy's cross of 2-vectors
        return (reference or (lambda *d: case.build(np, *d)))(*data)


@pytest.mark.parametrize("name", CASES)
def test_case_matches_numpy(name: str, backend: str) -> None:
    case = CASES[name]
    for dtype in case.dtypes:
        data = case.inputs(dtype)
        expected = _numpy(case, data, standard=True)
        dispatched_expected = _numpy(case, data, standard=False)
        with la.config.set(backend="refuse", implicit_compute="error"):  # builds only
            proxies = [la.Array(d) for d in data]
            lazy = case.build(la, *proxies)
            dispatched = case.build(np, *proxies) if case.nep18 else ()
        named = [(lazy, expected)] + ([(dispatched, dispatched_expected)] if case.nep18 else [])
        for value, reference in named:  # numpy's named tuples (EighResult ...), as numpy's
            assert isinstance(value, tuple) == isinstance(reference, tuple)
            assert getattr(value, "_fields", None) == getattr(reference, "_fields", None)
            if hasattr(reference, "_fields"):
                assert type(value).__name__ == type(reference).__name__
        results = [as_tuple(lazy), as_tuple(dispatched)]
        for proxy, reference in zip(results[0], as_tuple(expected), strict=True):
            assert proxy.dtype == np.asarray(reference).dtype, (name, dtype)
            assert proxy.shape == np.shape(reference), (name, dtype)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            values = la.compute(*results[0], *results[1], backend=backend)
        count = len(results[0])
        assert_equal(case, backend, values[:count], as_tuple(expected), data)
        assert_equal(
            case, backend, values[count:], as_tuple(dispatched_expected) if case.nep18 else (), data
        )


def exercised() -> set[str]:
    """The ops the cases build (``test_ops_structural`` requires a case of each row)."""
    used: set[str] = set()
    for case in CASES.values():
        data = case.inputs(case.dtypes[0])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            built = as_tuple(case.build(la, *[la.Array(d) for d in data]))
        used |= {node.op for node in toposort([b.node for b in built])}
    return used


def test_every_row_is_exercised() -> None:
    assert FAMILY - exercised() == set()


def test_a_node_rebuilt_from_its_attributes_is_itself() -> None:
    for case in CASES.values():
        data = case.inputs(case.dtypes[0])
        built = as_tuple(case.build(la, *[la.Array(d) for d in data]))
        for node in toposort([b.node for b in built]):
            if node.op in FAMILY:
                assert apply(node.op, node.inputs, **node.kwargs) is node, node


def test_a_decomposition_runs_once_for_all_its_results(monkeypatch: pytest.MonkeyPatch) -> None:
    x = la.Array(random("float64", RECTANGLES))
    u, s, vh = la.linalg.svd(x)
    assert la.linalg.svd(x).S.node is s.node  # the same request is the same node
    nodes = toposort([u.node, s.node, vh.node])
    assert [n.op for n in nodes].count("svd") == 1
    calls: list[Any] = []
    numpy_svd = np.linalg.svd
    monkeypatch.setattr(np.linalg, "svd", lambda *a, **k: calls.append(a) or numpy_svd(*a, **k))
    la.compute(u, s, vh, backend="numpy", cache=False)
    assert len(calls) == 1


# --- the standard's defaults and numpy's --------------------------------------------------


def test_standard_and_numpy_defaults_differ_where_they_do() -> None:
    x = random("float64", (3, 5, 4))
    proxy = la.Array(x)
    kit.assert_exact(la.linalg.pinv(proxy).compute(), np.linalg.pinv(x, rtol=None))
    kit.assert_exact(np.linalg.pinv(proxy).compute(), np.linalg.pinv(x))
    assert la.linalg.pinv(proxy).node is not np.linalg.pinv(proxy).node
    symmetric = la.Array(np.diag([1.0, 2.0]))  # numpy's eig: real here, by its values
    assert la.linalg.eig(symmetric).eigenvalues.dtype == np.complex128
    assert np.linalg.eigvals(symmetric).dtype == np.complex128
    assert np.linalg.eigvals(np.diag([1.0, 2.0])).dtype == np.float64


def test_results_are_named_like_numpys() -> None:
    x = la.Array(random("float64", STACK))
    assert la.linalg.eigh(x).eigenvectors.shape == STACK
    assert la.linalg.slogdet(x).logabsdet.shape == STACK[:2]
    assert la.linalg.qr(x).R.shape == STACK
    assert la.linalg.svd(x).Vh.shape == STACK
    assert la.linalg.eig(x).eigenvalues.shape == STACK[:3]
    assert isinstance(np.linalg.qr(x, mode="raw"), tuple)


# --- bad input: refused when written, in numpy's words, at the user's line ---------------

_M = random("float64", (2, 3))
_S = random("float64", (3, 3))

BAD: list[tuple[Callable[[], Any], type, str]] = [
    (
        lambda: la.linalg.inv(la.Array(_M)),
        LinAlgError,
        "Last 2 dimensions of the array must be square",
    ),
    (lambda: la.linalg.det(la.Array(_M[0])), np.linalg.LinAlgError, "1-dimensional array given"),
    (lambda: la.linalg.eigh(la.Array(_M)), np.linalg.LinAlgError, "must be square"),
    (lambda: la.linalg.qr(la.Array(_M[0])), np.linalg.LinAlgError, "at least two-dimensional"),
    (lambda: la.linalg.inv(la.Array(_S.astype(np.float16))), TypeError, "float16 is unsupported"),
    (lambda: la.linalg.qr(la.Array(_M), mode="full"), ValueError, "Unrecognized mode"),
    (lambda: la.linalg.eigh(la.Array(_S), UPLO="X"), ValueError, "UPLO argument must be"),
    (lambda: la.linalg.matrix_power(la.Array(_S), 1.5), TypeError, "exponent must be an integer"),
    (lambda: la.linalg.matrix_norm(la.Array(_S), ord=3), ValueError, "Invalid norm order"),
    (lambda: la.linalg.matrix_norm(la.Array(_S[0])), np.exceptions.AxisError, "out of bounds"),
    (lambda: la.linalg.vector_norm(la.Array(_S), ord="fro"), ValueError, "for vectors"),
    (lambda: la.linalg.vector_norm(la.Array(_S), axis=(0, 0)), ValueError, "repeated axis"),
    (lambda: np.linalg.norm(la.Array(_S[None]), 2), ValueError, "Improper number of dimensions"),
    (lambda: la.linalg.solve(la.Array(_S), la.Array(_M[0, :2])), ValueError, "core dimension 0"),
    (lambda: la.linalg.solve(la.Array(_S), la.Array(_M.T[:2])), ValueError, "core dimension 0"),
    (
        lambda: la.linalg.solve(la.Array(np.ones((4, 2, 2))), la.Array(np.ones((3, 2, 1)))),
        ValueError,
        "broadcast",
    ),
    (lambda: la.linalg.matrix_rank(la.Array(_S), 0.1, rtol=0.1), ValueError, "can't be both set"),
    (lambda: la.vecdot(la.Array(_M), la.Array(_S[0, :2])), ValueError, "core dimension 0"),
    (lambda: la.vecdot(la.Array(_M), la.Array(_S[0]), axis=2), np.exceptions.AxisError, "axis 2"),
    (lambda: la.vecdot(la.Array(_M), 2.0), ValueError, "does not have enough dimensions"),
    (lambda: la.cross(la.Array(_M), la.Array(_S[:, :2])), ValueError, "broadcast"),
    (
        lambda: la.cross(la.Array(np.ones(4)), la.Array(np.ones(3))),
        ValueError,
        "dimension must be 2 or 3",
    ),
    (lambda: la.cross(la.Array(_M), la.Array(_S[0]), axisc=2), np.exceptions.AxisError, "axisc"),
    (
        lambda: la.cross(la.Array(_M.astype(bool)), la.Array(_M.astype(bool))),
        TypeError,
        "boolean subtract",
    ),
    (lambda: la.linalg.inv(la.MaskedArray(np.ma.masked_array(_S))), UnsupportedOperation, "masked"),
    (lambda: la.linalg.svd(la.MaskedArray(np.ma.masked_array(_S))), UnsupportedOperation, "masked"),
    (
        lambda: la.kron(la.MaskedArray(np.ma.masked_array(_S)), la.Array(_S)),
        UnsupportedOperation,
        "masked",
    ),
]


@pytest.mark.parametrize(("build", "error", "message"), BAD)
def test_bad_input_fails_when_written(build: Any, error: type, message: str) -> None:
    with (
        la.config.set(backend="refuse", implicit_compute="error"),
        pytest.raises(error, match=message) as info,
    ):
        build()
    assert __file__ in str(info.value)  # names the user's line


SINGULAR: dict[str, tuple[Callable[[Any], Any], str]] = {
    "inv": (lambda x: la.linalg.inv(x), "Singular matrix"),
    "solve": (lambda x: la.linalg.solve(x, x), "Singular matrix"),
    "cholesky": (lambda x: la.linalg.cholesky(x - 5), "not positive definite"),
    "eig": (lambda x: la.linalg.eig(x * np.inf).eigenvalues, "infs or NaNs"),
    "matrix_power": (lambda x: la.linalg.matrix_power(x, -1), "Singular matrix"),
}


@pytest.mark.parametrize("name", SINGULAR)
def test_a_matrix_numpy_cannot_factor_fails_at_compute(name: str, backend: str) -> None:
    build, message = SINGULAR[name]
    x = la.Array(np.ones((3, 4, 4)))  # singular, and not positive definite once shifted
    with np.errstate(all="ignore"):
        lazy = build(x)
        with pytest.raises(ComputeError, match=message) as info:
            lazy.compute(backend=backend)
    assert isinstance(info.value.__cause__, np.linalg.LinAlgError)
    assert __file__ in str(info.value)


def test_masked_outer_is_numpy_mas(backend: str) -> None:
    a = np.ma.masked_array(random("float64", (4,)), mask=[0, 1, 0, 0])
    b = np.ma.masked_array(random("float64", (3,)), mask=[0, 0, 1])
    kit.assert_exact(
        la.outer(la.MaskedArray(a), la.MaskedArray(b)).compute(backend=backend), np.ma.outer(a, b)
    )


# --- large arrays: the blocked paths ------------------------------------------------------

BIG_STACK = random("float64", (50, 64, 64), 3)  # 204,800 elements
BIG_TALL = random("float64", (20_000, 10), 4)

BIG: dict[str, tuple[Callable[..., Any], np.ndarray[Any, Any], str]] = {
    "inv": (lambda m, x: m.linalg.inv(x), BIG_STACK, "exact"),
    "det": (lambda m, x: m.linalg.det(x), BIG_STACK, "exact"),
    "slogdet": (lambda m, x: m.linalg.slogdet(x), BIG_STACK, "exact"),
    "eigh": (lambda m, x: m.linalg.eigh(x + np.swapaxes(x, -1, -2)), BIG_STACK, "exact"),
    "solve": (lambda m, x: m.linalg.solve(x, x[:, :, :3]), BIG_STACK, "exact"),
    "svdvals stack": (lambda m, x: m.linalg.svdvals(x), BIG_STACK, "exact"),
    "matrix_norm 2": (lambda m, x: m.linalg.matrix_norm(x, ord=2), BIG_STACK, "exact"),
    "qr": (lambda m, x: m.linalg.qr(x), BIG_TALL, "qr"),
    "svd": (lambda m, x: m.linalg.svd(x, full_matrices=False), BIG_TALL, "svd"),
    "svdvals": (lambda m, x: m.linalg.svdvals(x), BIG_TALL, "svdvals"),
    "vector_norm": (lambda m, x: m.linalg.vector_norm(x, axis=0), BIG_TALL, "norm"),
    "norm": (lambda m, x: m.linalg.norm(x), BIG_TALL, "norm"),
    "outer": (lambda m, x: m.outer(x[:400, 0], x[:500, 1]), BIG_TALL, "exact"),
    "vecdot": (lambda m, x: m.vecdot(x, x[0]), BIG_TALL, "exact"),
    "cross": (lambda m, x: m.cross(x[:, :3], x[:, 3:6]), BIG_TALL, "exact"),
}


@pytest.mark.parametrize(
    ("backend_name", "chunk_bytes"),
    [("numpy", 2**26), ("dask", 2**26), ("dask", 2**18)],
    ids=["numpy", "dask one chunk", "dask chunks"],
)
@pytest.mark.parametrize("name", BIG)
def test_large_arrays(name: str, backend_name: str, chunk_bytes: int) -> None:
    build, data, compare = BIG[name]
    expected = as_tuple(build(np, data))
    with la.config.set(dask_chunk_bytes=chunk_bytes):
        lazy = as_tuple(build(la, la.Array(data)))
        values = la.compute(*lazy, backend=backend_name, cache=False)
        case = Case(build, lambda dtype: [data], compare=compare)
        assert_equal(case, backend_name, values, expected, [data])


# --- hypothesis: stacks of any shape ---------------------------------------------------------

STACKED = {
    "inv": lambda m, x: m.linalg.inv(x),
    "det": lambda m, x: m.linalg.det(x),
    "slogdet": lambda m, x: m.linalg.slogdet(x),
    "eigvalsh": lambda m, x: m.linalg.eigvalsh(x),
    "qr": lambda m, x: m.linalg.qr(x),
    "svd": lambda m, x: m.linalg.svd(x),
    "pinv": lambda m, x: m.linalg.pinv(x, rtol=1e-3),
    "solve": lambda m, x: m.linalg.solve(x, x[..., :1]),
}


@settings(max_examples=40)
@given(
    name=st.sampled_from(sorted(STACKED)),
    dtype=st.sampled_from(FLOATS),
    stack=st.lists(st.integers(0, 3), min_size=1, max_size=2),
    size=st.integers(1, 5),
    seed=st.integers(0, 2**16),
    backend=st.sampled_from(["numpy", "dask"]),
)
def test_stacks_of_any_shape(
    name: str, dtype: str, stack: list[int], size: int, seed: int, backend: str
) -> None:
    data = random(dtype, (*stack, size, size), seed)
    build = STACKED[name]
    expected = as_tuple(build(np, data))
    lazy = as_tuple(build(la, la.Array(data)))
    for value, reference in zip(
        la.compute(*lazy, backend=backend, cache=False), expected, strict=True
    ):
        kit.assert_exact(value, reference)


def test_stacks_of_a_size_known_only_when_computed(backend: str) -> None:
    data = random("float64", (6, 4, 4))
    keep = np.array([True, False, True, True, False, True])
    x = la.Array(data)[la.Array(keep)]
    assert x.shape == (None, 4, 4)
    inverse, (values, vectors) = la.linalg.inv(x), la.linalg.eigh(x)
    assert inverse.shape == (None, 4, 4) and vectors.shape == (None, 4, 4)
    results = la.compute(inverse, values, vectors, la.linalg.det(x), backend=backend)
    expected = (np.linalg.inv(data[keep]), *np.linalg.eigh(data[keep]), np.linalg.det(data[keep]))
    for value, reference in zip(results, expected, strict=True):
        kit.assert_exact(value, reference)


@pytest.mark.parametrize("spelling", ["standard", "numpy"])
def test_a_lazy_tolerance_runs_numpys_steps(spelling: str, backend: str) -> None:
    rng = np.random.default_rng(7)
    a = rng.normal(size=(3, 4, 5)).astype(np.float32)
    a[1, :, 2] = a[1, :, 0]  # a rank-deficient matrix among them
    r = np.array([1e-1, 1e-3, 0.5], np.float32)
    x, lazy_r = la.Array(a), la.Array(r)
    xp = la.linalg if spelling == "standard" else np.linalg
    assert_same(
        xp.matrix_rank(x, rtol=lazy_r).compute(backend=backend), np.linalg.matrix_rank(a, rtol=r)
    )
    assert_same(xp.pinv(x, rtol=lazy_r).compute(backend=backend), np.linalg.pinv(a, rtol=r))
    tol = la.Array(np.float32(0.5))
    assert_same(
        xp.matrix_rank(x, tol).compute(backend=backend), np.linalg.matrix_rank(a, np.float32(0.5))
    )
