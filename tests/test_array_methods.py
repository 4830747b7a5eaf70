"""numpy's array methods and arguments beyond the op families: ``take(mode=)``,
``reshape(order=)``, ``view(dtype)``, ``item``, ``tolist``, ``getdata()``, the standard's
``clip(x, min, max)`` and ``astype(copy=)``, and the typed refusal of numpy functions
lazyarray does not implement."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import lazyarray as la
from lazyarray.errors import LazyIndexError, OpValueError, UnsupportedOperation
from tests.cases import sample
from tests.conftest import assert_same

SMALL = sample("float64", (6, 8, 10))  # several blocks and chunks of 1 KiB
BIG = sample("float64", (40, 50, 120))  # 240,000 elements: blocked and chunked paths

CASES: dict[str, Any] = {
    "take wrap": lambda m, x: m.take(x, [1, -7, 9, 4], axis=1, mode="wrap"),
    "take clip": lambda m, x: m.take(x, [[1, 90], [-3, 0]], axis=2, mode="clip"),
    "take flat": lambda m, x: m.take(x, [5, 0, 17]),
    "take method": lambda m, x: x.take([2, 0], axis=0),
    "reshape F": lambda m, x: m.reshape(x, (x.shape[2], -1), order="F"),
    "reshape F method": lambda m, x: x.reshape(x.shape[0] * x.shape[1], x.shape[2], order="F"),
    "reshape F then C": lambda m, x: m.reshape(x, (-1,), order="F").reshape(x.shape),
    "view int64": lambda m, x: x.view(np.int64),
    "view uint8": lambda m, x: x.view(np.uint8),
    "view complex": lambda m, x: x[..., :4].astype(np.float32).view(np.complex64),
    "clip both": lambda m, x: m.clip(x, -1.0, 1.0),
    "clip max": lambda m, x: m.clip(x, max=0.5),
    "astype": lambda m, x: x.astype(np.float32, copy=False),
}


def _check(name: str, data: np.ndarray[Any, Any], backend: str) -> None:
    expected = CASES[name](np, np.ascontiguousarray(data))
    lazy = CASES[name](la, la.Array(data))
    assert lazy.shape == expected.shape
    assert lazy.dtype == expected.dtype
    assert_same(lazy.compute(backend=backend), expected)


@pytest.mark.parametrize("name", CASES)
def test_method_matches_numpy(name: str, backend: str) -> None:
    _check(name, SMALL, backend)  # every mode: blocks and chunks of 1 KiB


@pytest.mark.parametrize("backend_name", ["numpy", "dask"])
@pytest.mark.parametrize("name", CASES)
def test_method_matches_numpy_on_big_arrays(name: str, backend_name: str) -> None:
    _check(name, BIG, backend_name)  # the default blocks and chunks


def test_clip_without_bounds_is_the_array() -> None:
    x = la.Array(SMALL)
    assert la.clip(x).node is x.node


def test_view_of_a_transpose_reads_its_c_order_bytes(backend: str) -> None:
    lazy = la.Array(SMALL).T.view(np.int32).compute(backend=backend)
    assert_same(lazy, np.ascontiguousarray(SMALL.T).view(np.int32))


def test_values_as_python_objects() -> None:
    x = la.Array(SMALL)
    assert x.item(7) == SMALL.item(7)
    finite = la.Array(np.arange(6.0).reshape(2, 3))
    assert finite.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    m = la.MaskedArray([1.0, 2.0, 3.0], mask=[False, True, False])
    assert m.tolist() == [1.0, None, 3.0]
    assert_same(m.getdata().compute(), np.array([1.0, 2.0, 3.0]))


BAD = [
    (lambda x: la.take(x, [0], axis=0, mode="bogus"), OpValueError, "is not one of"),
    (lambda x: la.take(x, [99], axis=0), LazyIndexError, "out of bounds"),
    (lambda x: x[..., :4].view(np.complex128).view(np.int8).view(np.float64), None, ""),
    (lambda x: x[..., :3].view(np.complex128), OpValueError, "divisor of the total size"),
    (lambda x: x[0, 0, 0].view(np.int32), OpValueError, "0d array"),
    (lambda x: la.astype(x, np.float32, device="gpu"), OpValueError, "unsupported device"),
    (lambda x: np.clip(x, 0.0, min=1.0), OpValueError, "more than one argument"),
    (lambda x: np.polyfit(x, x, 1), UnsupportedOperation, "numpy.polyfit is not supported"),
]


@pytest.mark.parametrize(("call", "error", "message"), BAD)
def test_bad_arguments_are_refused_when_written(call: Any, error: Any, message: str) -> None:
    x = la.Array(SMALL)
    with la.config.set(backend="refuse"):
        if error is None:
            call(x)  # legal: builds without computing
            return
        with pytest.raises(error, match=message):
            call(x)
