"""NEP 13 / NEP 18: numpy's functions on proxies return proxies, lazily."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import lazyarray as la
from lazyarray.errors import UnsupportedOperation
from tests.cases import sample
from tests.conftest import assert_same

A = sample("float64", (3, 4))


@pytest.mark.parametrize(
    "call",
    [
        lambda x: np.sin(x),
        lambda x: np.add(x, 1),
        lambda x: np.maximum(x, 0.5),
        lambda x: np.mean(x, axis=0),
        lambda x: np.std(x, axis=1, ddof=1),
        lambda x: np.sum(x, axis=(0, 1), keepdims=True),
        lambda x: np.argmax(x, axis=1),
        lambda x: np.median(x, axis=0),
        lambda x: np.cumsum(x, axis=1),
        lambda x: np.concatenate([x, x]),
        lambda x: np.stack([x, x], axis=1),
        lambda x: np.where(x > 0, x, 0.0),
        lambda x: np.clip(x, -1, 1),
        lambda x: np.reshape(x, (4, 3)),
        lambda x: np.transpose(x),
        lambda x: np.transpose(x, (1, 0)),
        lambda x: np.round(x, 1),
        lambda x: np.matmul(x, x.T),
        lambda x: np.dot(x, x.T),
        lambda x: np.einsum("ij->j", x),
        lambda x: np.take(x, [0, 2], axis=0),
        lambda x: np.add.reduce(x),
        lambda x: np.multiply.accumulate(x, axis=1),
        lambda x: np.zeros_like(x),
        lambda x: np.full_like(x, 2.0),
        lambda x: np.expand_dims(x, 0),
        lambda x: np.flip(x, 0),
    ],
)
def test_numpy_functions_return_proxies(call: Any, no_compute: None) -> None:
    lazy = call(la.Array(A))
    assert isinstance(lazy, la.Array | la.Scalar)
    expected = call(A)
    assert lazy.shape == np.shape(expected) and lazy.dtype == np.asarray(expected).dtype
    with la.config.set(backend="numpy"):
        assert_same(lazy.compute(), expected)


def test_shape_functions_answer_without_computing(no_compute: None) -> None:
    x = la.Array(A)
    assert np.shape(x) == (3, 4) and np.ndim(x) == 2 and np.size(x) == 12


def test_out_is_refused() -> None:
    with pytest.raises(UnsupportedOperation, match="out="):
        np.sin(la.Array(A), out=np.empty_like(A))


def test_unimplemented_functions_say_so() -> None:
    with pytest.raises(UnsupportedOperation, match=r"numpy.polyfit is not supported.*docs"):
        np.polyfit(la.Array(A[0]), la.Array(A[0]), 1)


def test_numpy_arrays_on_the_left_give_proxies() -> None:
    result = A + la.Array(A)
    assert isinstance(result, la.Array)
    assert_same(result.compute(), A + A)


# --- where= on reductions ----------------------------------------------------------------

_RNG = np.random.default_rng(8)
_WHERE = _RNG.random((300, 200)) > 0.3
_EXACT_DTYPES = ["bool", "int8", "uint16"]
_FLOAT_DTYPES = ["float16", "float32", "float64", "complex64"]


def _data(dtype: str) -> np.ndarray[Any, Any]:
    values = _RNG.standard_normal((300, 200)) * (1 if dtype == "float16" else 20)
    if dtype.startswith("complex"):
        return (values + 1j * values[::-1]).astype(dtype)
    return values.astype(dtype)


def _where_calls(dtype: str) -> list[tuple[str, dict[str, Any]]]:
    names = ["sum", "prod", "any", "all", "mean", "var", "std"]
    calls = [(name, {}) for name in names] + [("std", {"ddof": 1})]
    if not dtype.startswith("complex"):
        initial = True if dtype == "bool" else 3
        calls += [("min", {"initial": initial}), ("max", {"initial": initial})]
    return calls


def _reduced_bound(x: np.ndarray[Any, Any], axis: Any, dtype: np.dtype[Any]) -> Any:
    """Blockwise summation error: terms * eps * sum|x| (the terms bound the blocks)."""
    magnitude = np.abs(x.astype(np.complex128 if x.dtype.kind == "c" else np.float64))
    terms = x.size if axis is None else x.shape[axis]
    info = np.finfo(dtype)
    return terms * info.eps * np.sum(magnitude, axis=axis, where=_WHERE) + info.tiny


@pytest.mark.parametrize("dtype", _EXACT_DTYPES + _FLOAT_DTYPES)
@pytest.mark.parametrize("axis", [None, 0, 1])
def test_where_reductions_match_numpy(dtype: str, axis: Any, backend: str) -> None:
    data = _data(dtype)
    x = la.Array(data)
    calls = _where_calls(dtype)
    expected_all, lazy = [], []
    for name, extra in calls:
        kwargs = {"axis": axis, "where": _WHERE, **extra}
        with np.errstate(all="ignore"):
            expected_all.append(getattr(np, name)(data, **kwargs))
        lazy += [getattr(np, name)(x, **kwargs), getattr(x, name)(**kwargs)]
    with np.errstate(all="ignore"):
        results = la.compute(*lazy, backend=backend)
    for i, ((name, _), expected) in enumerate(zip(calls, expected_all, strict=True)):
        for result in results[2 * i : 2 * i + 2]:
            exact_integers = dtype in _EXACT_DTYPES and name in ("sum", "prod")
            if exact_integers or name in ("any", "all", "min", "max"):
                assert_same(result, expected)
                continue
            result = np.asarray(result)
            assert (result.dtype, result.shape) == (expected.dtype, np.shape(expected)), name
            if name in ("var", "std", "prod"):  # products and squares: relative to n*eps
                terms = data.size if axis is None else data.shape[axis]
                rtol = np.finfo(result.dtype).eps * terms
                np.testing.assert_allclose(result, expected, rtol=rtol, err_msg=name)
            else:
                bound = _reduced_bound(data, axis, result.dtype)
                if name == "mean":
                    bound = bound / np.maximum(np.sum(_WHERE, axis=axis), 1)
                error = np.abs(result.astype(np.complex128) - expected)
                assert np.all(error <= bound), (name, error.max())


def test_where_keeps_dims_and_broadcasts_as_numpy(backend: str) -> None:
    data = _data("int64")
    row = _WHERE[:1]
    for kwargs in ({"axis": 0, "keepdims": True}, {"axis": (0, 1), "keepdims": True}, {}):
        for where in (row, False, np.True_):
            expected = np.sum(data, where=where, **kwargs)
            assert_same(np.sum(la.Array(data), where=where, **kwargs).compute(), expected)
    assert_same(np.add.reduce(la.Array(data), where=row).compute(), np.add.reduce(data, where=row))


def test_where_errors_are_numpy_errors() -> None:
    x = la.Array(A)
    full = np.ones(A.shape, bool)
    for module in (np, la):
        with pytest.raises(ValueError, match="'minimum' does not have an identity"):
            module.min(x if module is la else A, where=full)
    with pytest.raises(ValueError, match="'maximum' does not have an identity"):
        x.max(where=full)
    with pytest.raises(TypeError, match="Cannot cast array data from dtype"):
        np.sum(A, where=np.ones(A.shape))
    with pytest.raises(TypeError, match="Cannot cast array data from dtype"):
        np.sum(x, where=np.ones(A.shape))
    with pytest.raises(ValueError, match="broadcast"):
        x.sum(where=np.ones((2, *A.shape), bool))
    with pytest.raises(TypeError, match="unexpected keyword argument 'where'"):
        x.median(where=full)
    masked = np.ma.MaskedArray(A, mask=A > 3)
    for module, array in ((np, masked), (la, la.MaskedArray(masked))):
        with pytest.raises(TypeError, match=r"MaskedArray.sum\(\) got an unexpected keyword"):
            module.sum(array, where=full)


UFUNC_METHODS = [
    lambda m, a, b: np.add.outer(a, b),
    lambda m, a, b: np.multiply.outer(a[0], 2.0),
    lambda m, a, b: np.subtract.outer(a[:, 0], a[0]),
    lambda m, a, b: np.add(a, 1, dtype=np.float32),
    lambda m, a, b: np.multiply(a, b, casting="same_kind", order="K"),
    lambda m, a, b: np.vecdot(a, a, axis=0),
    lambda m, a, b: np.add.reduce(a, axis=1),
    lambda m, a, b: np.multiply.accumulate(a, axis=0),
]


@pytest.mark.parametrize("call", UFUNC_METHODS)
def test_ufunc_methods_and_keywords_match_numpy(call: Any, backend: str) -> None:
    b = np.arange(4.0)
    expected = call(np, A, b)
    lazy = call(la, la.Array(A), la.Array(b))
    assert isinstance(lazy, la.Array)
    assert_same(lazy.compute(backend=backend), expected)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda x: np.maximum.accumulate(x), "numpy.maximum.accumulate is not supported"),
        (lambda x: np.add.at(x, [0], 1), "numpy.add.at is not supported"),
        (lambda x: np.add(x, 1, where=x > 1), "where=.* is not supported"),
    ],
)
def test_unsupported_ufunc_uses_say_so(call: Any, message: str) -> None:
    with pytest.raises(UnsupportedOperation, match=message):
        call(la.Array(A))
