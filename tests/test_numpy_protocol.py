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
    with pytest.raises(TypeError, match="no implementation found"):
        np.unique(la.Array(A))


def test_numpy_arrays_on_the_left_give_proxies() -> None:
    result = A + la.Array(A)
    assert isinstance(result, la.Array)
    assert_same(result.compute(), A + A)
